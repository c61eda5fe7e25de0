"""The sparse autoencoders: one training machinery (:class:`_GradientSAE`) and its five variants.

Each as its paper writes it (x_c = x - b_pre; W_dec rows are unit atoms):

* :class:`ReLUSAE` — Bricken et al. 2023 ("Towards Monosemanticity"), Cunningham et al. 2023:
  ``z = ReLU(W_enc x_c + b_enc)``, ``x_hat = W_dec^T z + b_pre``,
  ``L = ||x - x_hat||^2 + lambda ||z||_1``.
* :class:`TopKSAE` — Gao et al. 2024 ("Scaling and evaluating sparse autoencoders"):
  ``z = ReLU(TopK_k(W_enc x_c + b_enc))``, ``L = ||x - x_hat||^2``; dead latents are revived by
  resampling them towards badly reconstructed inputs (Bricken et al. 2023).
* :class:`JumpReLUSAE` — Rajamanoharan et al. 2024 ("Jumping Ahead"): ``z = pre * H(pre - theta)``,
  ``L = ||x - x_hat||^2 + lambda ||z||_0``, trained with straight-through pseudo-derivatives for
  ``theta`` (their eqs. 11–12, rectangle kernel of bandwidth ``epsilon``).
* :class:`Transcoder` — Dunefsky et al. 2024: an MLP's input to its output through a sparse
  layer, ``z = ReLU(W_enc x + b_enc)``, ``y_hat = W_dec^T z + b_dec``,
  ``L = ||y - y_hat||^2 + lambda ||z||_1``.
* :class:`MatchingPursuitSAE` — Costa et al. 2025 ("From Flat to Hierarchical"): the encoder unrolls
  ``k`` steps of matching pursuit over the decoder's atoms, ``j = argmax_i <d_i, r>``,
  ``z_j += <d_j, r>``, ``r -= <d_j, r> d_j``, and the dictionary is trained through the unrolled steps.

All train through :func:`labkit.core.train.train` (Adam, with the renormalisation, the learning-rate
decay and the resampling of dead latents as a callback after each step).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from labkit.core.params import nullable
from labkit.core.train import train
from labkit.interp.sparse_dictionaries.base import SparseDictionary

_NON_NEGATIVE = (float, 0, None)
_POSITIVE = (float, 0, None, "neither")


class _GradientSAE(SparseDictionary):
    """Shared machinery of the SAEs trained by Adam on minibatches.

    Inputs are centred by their mean and divided by one scalar, the data's RMS norm, so penalties
    mean the same thing at any scale (SAELens and Gao et al. normalise likewise); a learned
    ``b_pre`` is subtracted before encoding and added after decoding. The decoder starts from
    random data samples (unit norm), the encoder as its transpose (Gao et al. 2024, sec. 2.3).
    After each step decoder rows are renormalised and their gradient is projected off the row
    direction (Bricken et al. 2023). The learning rate decays linearly to 0 over the last 20% of
    steps.

    Dead latents (none of their codes above 0 in ``dead_after`` training samples) are revived by
    ``revive``:

    * ``"resample"`` (Bricken et al. 2023): every ``resample_every`` steps their decoder and
      encoder rows are pointed at the residual of inputs drawn in proportion to their squared
      error, their bias and Adam state reset;
    * ``"auxk"`` (Gao et al. 2024, sec. 2.4; TopK only): an auxiliary loss
      ``aux_coef * ||e - e_hat||^2`` in which the ``k_aux`` most active dead latents reconstruct
      the residual ``e = x - x_hat``, so they receive gradient again;
    * ``None``: nothing.
    """

    revive_default: str | None = "resample"
    resample_scale = 0.2     # revived encoder row norm, relative to the mean alive norm
    _rules: ClassVar[dict[str, Any]] = {
        **SparseDictionary._rules, "steps": (int, 1, None), "batch_size": (int, 1, None), "lr": _POSITIVE,
        "revive": ["default", None, "resample"], "resample_every": (int, 1, None),
        "dead_after": nullable((int, 1, None)),
    }

    def __init__(self, n_latents: int, *, steps: int = 300, batch_size: int = 512, lr: float = 1e-2,
                 revive: str | None = "default", resample_every: int = 25, dead_after: int | None = None,
                 device=None, seed: int = 0):
        super().__init__(n_latents, device=device, seed=seed)
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.revive = revive
        self.resample_every = resample_every
        self.dead_after = dead_after

    # subclasses: return (reconstruction in normalised units, dense codes >= 0, penalty)
    def _forward(self, xn: torch.Tensor):
        raise NotImplementedError

    def _train_forward(self, xn: torch.Tensor, target: torch.Tensor, dead: torch.Tensor):
        """One training forward pass: (reconstruction, which latents fired (L,), penalty)."""
        xh, z, penalty = self._forward(xn)
        return xh, (z > 0).any(0), penalty

    def _init_module(self, Xn: torch.Tensor, Tn: torch.Tensor, gen: torch.Generator) -> nn.Module:
        L, d = self.n_latents, Xn.shape[1]
        m = nn.Module()
        rows = Xn[torch.randint(0, Xn.shape[0], (L,), generator=gen, device=Xn.device)]
        rows = rows + 1e-3 * torch.randn(rows.shape, generator=gen, device=Xn.device)
        W_dec = rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-8)
        m.W_dec = nn.Parameter(W_dec.clone())
        m.W_enc = nn.Parameter(W_dec.clone())
        m.b_enc = nn.Parameter(torch.zeros(L, device=Xn.device))
        m.b_pre = nn.Parameter(torch.zeros(d, device=Xn.device))  # data already centred
        return m

    def _inputs_targets(self, X, Y):
        self.mean_ = X.mean(0)
        self.scale_ = float((X - self.mean_).pow(2).sum(1).mean().sqrt().clamp_min(1e-12))
        Xn = (X - self.mean_) / self.scale_
        return Xn, Xn

    def _fit(self, X, Y):
        gen = torch.Generator(device=X.device).manual_seed(self.seed)
        Xn, Tn = self._inputs_targets(X, Y)
        n = Xn.shape[0]
        self.revive_ = self.revive_default if self.revive == "default" else self.revive
        self.module_ = m = self._init_module(Xn, Tn, gen)
        W = m.W_dec
        W.register_hook(lambda g: g - (g * W.detach()).sum(1, keepdim=True) * W.detach())
        opt = torch.optim.Adam(m.parameters(), lr=self.lr)
        since = torch.zeros(self.n_latents, device=X.device)   # training samples since each latent fired
        fired = None
        dead_after = self.dead_after or max(10 * self.batch_size, n // 2)
        decay_from = int(0.8 * self.steps)
        self.n_resampled_ = 0
        bs = min(self.batch_size, n)

        def loss_fn(step):
            nonlocal fired
            idx = torch.randint(0, n, (bs,), generator=gen, device=X.device)
            target = Tn[idx]
            xh, fired, penalty = self._train_forward(Xn[idx], target, since >= dead_after)
            return (xh - target).pow(2).sum(1).mean() + penalty

        @torch.no_grad()
        def after_step(step, loss):
            """Renormalise the atoms, count the dead, decay the learning rate, resample the dead."""
            nonlocal since
            W.data /= W.data.norm(dim=1, keepdim=True).clamp_min(1e-8)
            since = torch.where(fired, torch.zeros_like(since), since + bs)
            if step >= decay_from:
                for g in opt.param_groups:
                    g["lr"] = self.lr * (self.steps - step - 1) / max(1, self.steps - decay_from)
            if self.revive_ == "resample" and (step + 1) % self.resample_every == 0 and step < decay_from:
                dead = torch.nonzero(since >= dead_after).flatten()
                if dead.numel():
                    self._resample(dead, Xn, Tn, opt, gen)
                    since[dead] = 0

        self.history_ = train(m, loss_fn, self.steps, optimizer=opt, desc=self.name, callbacks=[after_step],
                              check_every=50, name=type(self).__name__)
        self.n_dead_train_ = int((since >= dead_after).sum())
        self._finalize()

    @torch.no_grad()
    def _resample(self, dead, Xn, Tn, opt, gen):
        m = self.module_
        n_pool = max(4 * self.batch_size, 2 * dead.numel())
        pool = torch.randint(0, Xn.shape[0], (n_pool,), generator=gen, device=Xn.device)
        xh, _, _ = self._forward(Xn[pool])
        resid = Tn[pool] - xh
        err = resid.pow(2).sum(1)
        if not torch.isfinite(err).all() or err.sum() <= 0:
            return
        pick = torch.multinomial(err, dead.numel(), replacement=err.numel() < dead.numel(), generator=gen)
        r = resid[pick] / resid[pick].norm(dim=1, keepdim=True).clamp_min(1e-8)
        alive = torch.ones(self.n_latents, dtype=torch.bool, device=Xn.device)
        alive[dead] = False
        m.W_dec.data[dead] = r
        if hasattr(m, "W_enc"):
            enc_norm = m.W_enc[alive].norm(dim=1).mean() if alive.any() else torch.tensor(1.0, device=Xn.device)
            src = Xn[pool][pick] if self.needs_target else r
            m.W_enc.data[dead] = src / src.norm(dim=1, keepdim=True).clamp_min(1e-8) * enc_norm * self.resample_scale
            m.b_enc.data[dead] = 0.0
        for p in m.parameters():
            state = opt.state.get(p, {})
            if p.shape[:1] == (self.n_latents,) and state:
                state["exp_avg"][dead] = 0.0
                state["exp_avg_sq"][dead] = 0.0
        self.n_resampled_ += int(dead.numel())

    def _finalize(self):
        m = self.module_
        self.D_ = m.W_dec.detach().clone()
        # x = scale * (W_dec^T z + b_pre) + mean  ->  codes in data units are scale * z
        self.bias_ = (self.scale_ * m.b_pre.detach() + self.mean_).clone()

    def _encode(self, X):
        xn = (X - self.mean_) / self.scale_
        _, z, _ = self._forward(xn)
        return z * self.scale_

    def _codes_pre(self, xn):
        # (xn - b_pre) W_enc^T + b_enc, written so that b_pre's gradient costs a matrix-vector
        # product rather than a second (batch x latents x dim) product
        m = self.module_
        return xn @ m.W_enc.T + (m.b_enc - m.W_enc @ m.b_pre)


class ReLUSAE(_GradientSAE):
    """ReLU sparse autoencoder with an L1 penalty (Bricken et al. 2023; Cunningham et al. 2023).

    ``l1`` is lambda in ``||x - x_hat||^2 + lambda ||z||_1``, both in units of the data's RMS norm.
    """

    name = "ReLU SAE (L1)"
    _rules: ClassVar[dict[str, Any]] = {**_GradientSAE._rules, "l1": _NON_NEGATIVE}

    def __init__(self, n_latents: int, *, l1: float = 0.1, **kw):
        super().__init__(n_latents, **kw)
        self.l1 = l1

    def _forward(self, xn):
        m = self.module_
        z = torch.relu(self._codes_pre(xn))
        return z @ m.W_dec + m.b_pre, z, self.l1 * z.sum(1).mean()


class _SparseCodesSAE(_GradientSAE):
    """An SAE whose encoder picks at most a few latents per input: codes are kept as (indices,
    values) and decoded by a gather (``embedding_bag``), never as a dense (batch x latents) product."""

    def _sparse(self, xn: torch.Tensor):
        """(indices (B, k), values (B, k) >= 0, penalty) of the codes of ``xn``."""
        raise NotImplementedError

    def _decode_sparse(self, idx, vals):
        m = self.module_
        return F.embedding_bag(idx, m.W_dec, per_sample_weights=vals, mode="sum") + m.b_pre

    def _forward(self, xn):
        idx, vals, penalty = self._sparse(xn)
        z = xn.new_zeros(xn.shape[0], self.n_latents).scatter_add_(1, idx, vals)
        return self._decode_sparse(idx, vals), z, penalty

    def _train_forward(self, xn, target, dead):
        idx, vals, penalty = self._sparse(xn)
        fired = torch.zeros(self.n_latents, dtype=torch.bool, device=xn.device)
        fired[idx[vals.detach() > 0]] = True
        return self._decode_sparse(idx, vals), fired, penalty


class TopKSAE(_SparseCodesSAE):
    """TopK sparse autoencoder (Gao et al. 2024): exactly ``k`` latents may fire per input.

    ``z = ReLU(TopK_k(W_enc (x - b_pre) + b_enc))``, ``L = ||x - x_hat||^2``. The top ``k`` are found
    on the dense pre-activations without a graph; only their ``k`` pre-activations are recomputed
    with gradient, and decoding is a gather, so a step costs one dense product instead of six.
    Dead latents are revived by resampling by default (``revive="resample"``, Bricken et al.), or
    by Gao et al.'s own AuxK loss (``revive="auxk"``, their sec. 2.4, ``aux_coef`` = 1/32,
    ``k_aux`` a power of two near dim/2 as they advise). On the planted-feature problems here AuxK
    revived nothing within a few hundred steps (a latent whose pre-activations are all negative
    gets no gradient through the ReLU), while resampling won features back, hence the default.
    """

    name = "TopK SAE"
    revive_default = "resample"
    _rules: ClassVar[dict[str, Any]] = {
        **_GradientSAE._rules, "revive": ["default", None, "resample", "auxk"], "k": (int, 1, None),
        "k_aux": nullable((int, 1, None)), "aux_coef": _NON_NEGATIVE,
    }
    resample_scale = 1.0

    def __init__(self, n_latents: int, *, k: int = 8, k_aux: int | None = None, aux_coef: float = 1 / 32, **kw):
        super().__init__(n_latents, **kw)
        self.k = k
        self.k_aux = k_aux
        self.aux_coef = aux_coef

    def _check_hyperparameters(self):
        self._check_at_most_latents("k")
        self._check_at_most_latents("k_aux")

    def _pre_nograd(self, xn):
        m = self.module_
        with torch.no_grad():
            return xn @ m.W_enc.T + (m.b_enc - m.W_enc @ m.b_pre)

    def _gather_pre(self, xn, idx):
        """Pre-activations of the latents ``idx`` (B, j), with gradient, at O(B j dim) cost."""
        m = self.module_
        return (F.embedding(idx, m.W_enc) * (xn - m.b_pre)[:, None, :]).sum(-1) + m.b_enc[idx]

    def _sparse(self, xn):
        idx = self._pre_nograd(xn).topk(self.k, dim=1).indices
        return idx, torch.relu(self._gather_pre(xn, idx)), xn.new_zeros(())

    def _train_forward(self, xn, target, dead):
        pre = self._pre_nograd(xn)
        idx = pre.topk(self.k, dim=1).indices
        vals = torch.relu(self._gather_pre(xn, idx))
        xh = self._decode_sparse(idx, vals)
        fired = torch.zeros(self.n_latents, dtype=torch.bool, device=xn.device)
        fired[idx[vals.detach() > 0]] = True
        penalty = xn.new_zeros(())
        n_dead = int(dead.sum()) if self.revive_ == "auxk" else 0
        if n_dead:
            k_aux = self.k_aux or 2 ** max(0, round(math.log2(max(1, xn.shape[1] // 2))))
            k_aux = min(k_aux, n_dead)
            aux_idx = pre.masked_fill(~dead, float("-inf")).topk(k_aux, dim=1).indices
            aux_vals = torch.relu(self._gather_pre(xn, aux_idx))
            e_hat = F.embedding_bag(aux_idx, self.module_.W_dec, per_sample_weights=aux_vals, mode="sum")
            penalty = self.aux_coef * ((target - xh).detach() - e_hat).pow(2).sum(1).mean()
        return xh, fired, penalty


class _JumpReLUFn(torch.autograd.Function):
    """z * H(z - theta), with the pseudo-derivative -(theta/eps) K((z - theta)/eps) for theta."""

    @staticmethod
    def forward(ctx, z, theta, eps):
        ctx.save_for_backward(z, theta)
        ctx.eps = eps
        return z * (z > theta)

    @staticmethod
    def backward(ctx, g):
        z, theta = ctx.saved_tensors
        kernel = ((z - theta).abs() < ctx.eps / 2).to(g.dtype)  # rectangle kernel K((z-theta)/eps)
        g_theta = (-(theta / ctx.eps) * kernel * g).sum(0)
        return g * (z > theta), g_theta, None


class _StepFn(torch.autograd.Function):
    """H(z - theta), with the pseudo-derivative -(1/eps) K((z - theta)/eps) for theta (none for z)."""

    @staticmethod
    def forward(ctx, z, theta, eps):
        ctx.save_for_backward(z, theta)
        ctx.eps = eps
        return (z > theta).to(z.dtype)

    @staticmethod
    def backward(ctx, g):
        z, theta = ctx.saved_tensors
        kernel = ((z - theta).abs() < ctx.eps / 2).to(g.dtype)
        return torch.zeros_like(z), (-(1.0 / ctx.eps) * kernel * g).sum(0), None


class JumpReLUSAE(_GradientSAE):
    """JumpReLU SAE with a direct L0 penalty (Rajamanoharan et al. 2024).

    ``l0`` is lambda in ``||x - x_hat||^2 + lambda ||z||_0``; ``bandwidth`` is epsilon of the
    straight-through estimator; thresholds start at ``theta_init`` (all in RMS-norm units) and are
    trained as log-thresholds so they stay positive.
    """

    name = "JumpReLU SAE"
    _rules: ClassVar[dict[str, Any]] = {**_GradientSAE._rules, "l0": _NON_NEGATIVE, "bandwidth": _POSITIVE,
                                        "theta_init": _POSITIVE}

    def __init__(self, n_latents: int, *, l0: float = 0.01, bandwidth: float = 0.05, theta_init: float = 0.1, **kw):
        super().__init__(n_latents, **kw)
        self.l0 = l0
        self.bandwidth = bandwidth
        self.theta_init = theta_init

    def _init_module(self, Xn, Tn, gen):
        m = super()._init_module(Xn, Tn, gen)
        m.log_theta = nn.Parameter(torch.full((self.n_latents,), math.log(self.theta_init), device=Xn.device))
        return m

    def _forward(self, xn):
        m = self.module_
        pre = torch.relu(self._codes_pre(xn))
        theta = m.log_theta.exp()
        z = _JumpReLUFn.apply(pre, theta, self.bandwidth)
        l0 = _StepFn.apply(pre, theta, self.bandwidth).sum(1).mean()
        return z @ m.W_dec + m.b_pre, z, self.l0 * l0

    def _finalize(self):
        super()._finalize()
        self.threshold_ = self.module_.log_theta.detach().exp() * self.scale_


class Transcoder(_GradientSAE):
    """A transcoder (Dunefsky et al. 2024): sparse latents read an MLP's input and write its output.

    ``fit(X, Y)`` with ``X`` the MLP inputs and ``Y`` its outputs; ``D_`` are output directions and
    ``decode`` predicts ``Y``. ``encode`` reads ``X``:
    ``z = ReLU(W_enc x + b_enc)``, ``y_hat = W_dec^T z + b_dec``, ``L = ||y - y_hat||^2 + lambda ||z||_1``.
    """

    name = "Transcoder"
    _rules: ClassVar[dict[str, Any]] = {**_GradientSAE._rules, "l1": _NON_NEGATIVE}
    needs_target = True

    def __init__(self, n_latents: int, *, l1: float = 0.1, **kw):
        super().__init__(n_latents, **kw)
        self.l1 = l1

    def _inputs_targets(self, X, Y):
        self.mean_ = X.mean(0)
        self.scale_ = float((X - self.mean_).pow(2).sum(1).mean().sqrt().clamp_min(1e-12))
        self.out_mean_ = Y.mean(0)
        self.out_scale_ = float((Y - self.out_mean_).pow(2).sum(1).mean().sqrt().clamp_min(1e-12))
        return (X - self.mean_) / self.scale_, (Y - self.out_mean_) / self.out_scale_

    def _init_module(self, Xn, Tn, gen):
        # Gao et al.'s data initialisation, carried over to a map: latent j starts reading the
        # input of a random sample and writing that same sample's output.
        L = self.n_latents
        pick = torch.randint(0, Xn.shape[0], (L,), generator=gen, device=Xn.device)
        unit = lambda A: A / A.norm(dim=1, keepdim=True).clamp_min(1e-8)
        m = nn.Module()
        m.W_enc = nn.Parameter(unit(Xn[pick] + 1e-3 * torch.randn(L, Xn.shape[1], generator=gen, device=Xn.device)))
        m.W_dec = nn.Parameter(unit(Tn[pick] + 1e-3 * torch.randn(L, Tn.shape[1], generator=gen, device=Xn.device)))
        m.b_enc = nn.Parameter(torch.zeros(L, device=Xn.device))
        m.b_pre = nn.Parameter(torch.zeros(Tn.shape[1], device=Xn.device))   # the output bias b_dec
        return m


    def _codes_pre(self, xn):
        m = self.module_
        return xn @ m.W_enc.T + m.b_enc

    def _forward(self, xn):
        m = self.module_
        z = torch.relu(self._codes_pre(xn))
        return z @ m.W_dec + m.b_pre, z, self.l1 * z.sum(1).mean()

    def _finalize(self):
        m = self.module_
        self.D_ = m.W_dec.detach().clone()
        self.bias_ = (self.out_scale_ * m.b_pre.detach() + self.out_mean_).clone()

    def _encode(self, X):
        _, z, _ = self._forward((X - self.mean_) / self.scale_)
        return z * self.out_scale_


class MatchingPursuitSAE(_SparseCodesSAE):
    """MP-SAE (Costa et al. 2025): a ``k``-step matching-pursuit encoder over the learned atoms.

    Each step picks the atom most aligned with the residual, ``j = argmax_i <d_i, r>``, adds its
    coefficient ``c_j = <d_j, r>`` and removes its contribution, ``r <- r - c_j d_j``; the atoms are
    trained by backpropagating through the unrolled steps. The correlations are updated through
    the Gram matrix, ``<D, r - c_j d_j> = <D, r> - c_j (D D^T)_j`` (the classic MP recursion, the
    same numbers at a (batch x latents) cost per step). A step whose best correlation is not
    positive adds nothing (the pursuit has stopped; codes stay non-negative as in the other SAEs).
    """

    name = "Matching pursuit SAE"
    _rules: ClassVar[dict[str, Any]] = {**_GradientSAE._rules, "k": (int, 1, None)}

    def __init__(self, n_latents: int, *, k: int = 8, **kw):
        super().__init__(n_latents, **kw)
        self.k = k

    def _check_hyperparameters(self):
        self._check_at_most_latents("k")

    def _init_module(self, Xn, Tn, gen):
        m = super()._init_module(Xn, Tn, gen)
        del m.W_enc, m.b_enc  # the encoder is the dictionary itself
        return m

    def _sparse(self, xn):
        m = self.module_
        D = m.W_dec
        c = (xn - m.b_pre) @ D.T                 # correlations of the residual with every atom
        gram = D @ D.T
        idx, vals = [], []
        for _ in range(self.k):
            j = c.detach().argmax(1)
            coef = torch.relu(c.gather(1, j[:, None]))[:, 0]
            c = c - coef[:, None] * gram[j]
            idx.append(j)
            vals.append(coef)
        return torch.stack(idx, 1), torch.stack(vals, 1), xn.new_zeros(())
