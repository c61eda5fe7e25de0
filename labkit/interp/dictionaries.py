"""Sparse dictionaries that undo superposition, behind one interface, with recovery metrics.

Every dictionary reads like a scikit-learn estimator: hyperparameters in ``__init__``,
``fit(X) -> self`` (a transcoder: ``fit(X, Y)``), ``encode(X) -> Z`` (codes, ``(n, n_latents)``),
``decode(Z) -> X_hat``, and the learned dictionary ``D_`` (``(n_latents, d)``, one unit-norm atom
per row). Codes are the coefficients of those unit atoms in the data's own units, so
``decode(Z) = Z @ D_ + bias_``. All are PyTorch, batched, on the device of the data.

The methods, each as its paper writes it (x_c = x - b_pre; W_dec rows are unit atoms):

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
* :class:`VQCodebook` — Tamkin et al. 2023 ("Codebook Features"): the ``k`` codes with the largest
  ``x . c / ||c||`` are chosen and their mean replaces the activation; codes are trained on the
  reconstruction error, dead codes are replaced by data samples. :class:`CodebookBottleneck` is the
  same layer as a module to insert at a transformer's hook point (straight-through gradients).
* :class:`SemiNMF` — Ding, Li & Jordan 2010 multiplicative updates, as used on MLP activations by
  Shafran et al. 2025: ``X ~ G F`` with codes ``G >= 0`` and free atoms ``F``.
* :class:`MatchingPursuitSAE` — Costa et al. 2025 ("From Flat to Hierarchical"): the encoder unrolls
  ``k`` steps of matching pursuit over the decoder's atoms, ``j = argmax_i <d_i, r>``,
  ``z_j += <d_j, r>``, ``r -= <d_j, r> d_j``, and the dictionary is trained through the unrolled steps.

Metrics (:func:`evaluate`): mean max cosine similarity to the true features (MMCS), the fraction of
true features recovered (an atom with cosine >= 0.9), explained variance, L0 and dead latents.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labkit.core.progress import trange

__all__ = ["SparseDictionary", "ReLUSAE", "TopKSAE", "JumpReLUSAE", "Transcoder", "VQCodebook",
           "CodebookBottleneck", "SemiNMF", "MatchingPursuitSAE", "check_activations", "feature_cosines",
           "max_cosines", "recovery", "explained_variance", "evaluate", "top_activations", "METHODS",
           "make_methods", "compare", "sweep"]


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------
def check_activations(X: Any, name: str = "X", device: torch.device | str | None = None) -> torch.Tensor:
    """Return ``X`` as a finite float32 ``(n_samples, dim)`` tensor, or raise one clear ValueError."""
    if isinstance(X, np.ndarray) or isinstance(X, (list, tuple)):
        try:
            X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a numeric array of shape (n_samples, dim).") from None
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor or NumPy array of shape (n_samples, dim), got {type(X).__name__}.")
    if X.dim() != 2:
        raise ValueError(f"{name} must have rank 2 (n_samples, dim), got shape {tuple(X.shape)}.")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"{name} must hold at least 2 samples of at least 1 dimension, got shape {tuple(X.shape)}.")
    if X.dtype.is_complex or X.dtype == torch.bool:
        raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}.")
    X = X.to(device=device if device is not None else X.device, dtype=torch.float32)
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return X


def _int(name: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}.")
    return int(value)


def _pos(name: str, value, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------------------
class SparseDictionary:
    """The common interface; subclasses implement ``_fit``, ``_encode`` and set ``D_`` / ``bias_``."""

    name = "dictionary"
    needs_target = False

    def __init__(self, n_latents: int, *, device: str | torch.device | None = None, seed: int = 0):
        self.n_latents = _int("n_latents", n_latents, 1)
        self.seed = _int("seed", seed, 0)
        self.device = device

    # -- public API ---------------------------------------------------------------------------
    def fit(self, X, Y=None) -> "SparseDictionary":
        """Learn the dictionary from activations ``X`` (and, for a transcoder, targets ``Y``)."""
        dev = torch.device(self.device) if self.device is not None else None
        X = check_activations(X, "X", dev)
        if self.needs_target:
            if Y is None:
                raise ValueError(f"{type(self).__name__}.fit needs targets Y (the MLP outputs), got None.")
            Y = check_activations(Y, "Y", X.device)
            if Y.shape[0] != X.shape[0]:
                raise ValueError(f"Y must have as many rows as X ({X.shape[0]}), got {Y.shape[0]}.")
        elif Y is not None:
            raise ValueError(f"{type(self).__name__}.fit takes no targets Y; a transcoder does.")
        self._check_fit(X)
        self.device_ = X.device
        self.n_features_in_ = X.shape[1]
        wall, cpu = time.perf_counter(), time.process_time()
        self._fit(X, Y)
        if X.device.type == "cuda":
            torch.cuda.synchronize(X.device)
        self.fit_time_ = time.perf_counter() - wall
        self.fit_cpu_time_ = time.process_time() - cpu
        return self

    @torch.no_grad()
    def encode(self, X, batch_size: int = 8192) -> torch.Tensor:
        """Codes ``Z`` (n_samples, n_latents): coefficients of the unit atoms ``D_``."""
        X = self._check_input(X)
        return torch.cat([self._encode(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])

    @torch.no_grad()
    def decode(self, Z) -> torch.Tensor:
        """Reconstruction ``Z @ D_ + bias_``."""
        self._check_fitted()
        if not isinstance(Z, torch.Tensor) or Z.dim() != 2 or Z.shape[1] != self.n_latents:
            raise ValueError(f"Z must be a tensor of shape (n_samples, {self.n_latents}), got "
                             f"{tuple(Z.shape) if isinstance(Z, torch.Tensor) else type(Z).__name__}.")
        return Z.to(self.device_, torch.float32) @ self.D_ + self.bias_

    def reconstruct(self, X) -> torch.Tensor:
        return self.decode(self.encode(X))

    # -- helpers ------------------------------------------------------------------------------
    def _check_fit(self, X: torch.Tensor) -> None:
        pass

    def _check_fitted(self) -> None:
        if not hasattr(self, "D_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) first.")

    def _check_input(self, X) -> torch.Tensor:
        self._check_fitted()
        X = check_activations(X, "X", self.device_)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns (as in fit), got {X.shape[1]}.")
        return X

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_latents={self.n_latents})"


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
    revive_options: tuple = (None, "resample")
    resample_scale = 0.2     # revived encoder row norm, relative to the mean alive norm

    def __init__(self, n_latents: int, *, steps: int = 300, batch_size: int = 512, lr: float = 1e-2,
                 revive: str | None = "default", resample_every: int = 25, dead_after: int | None = None,
                 device=None, seed: int = 0):
        super().__init__(n_latents, device=device, seed=seed)
        self.steps = _int("steps", steps, 1)
        self.batch_size = _int("batch_size", batch_size, 1)
        self.lr = _pos("lr", lr)
        revive = self.revive_default if revive == "default" else revive
        if revive not in self.revive_options:
            raise ValueError(f"revive must be one of {', '.join(map(repr, self.revive_options))} for "
                             f"{type(self).__name__}, got {revive!r}.")
        self.revive = revive
        self.resample_every = _int("resample_every", resample_every, 1)
        self.dead_after = None if dead_after is None else _int("dead_after", dead_after, 1)

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
        self.module_ = m = self._init_module(Xn, Tn, gen)
        W = m.W_dec
        W.register_hook(lambda g: g - (g * W.detach()).sum(1, keepdim=True) * W.detach())
        opt = torch.optim.Adam(m.parameters(), lr=self.lr)
        L = self.n_latents
        since = torch.zeros(L, device=X.device)
        dead_after = self.dead_after or max(10 * self.batch_size, n // 2)
        decay_from = int(0.8 * self.steps)
        history = torch.empty(self.steps, device=X.device)
        self.n_resampled_ = 0
        bs = min(self.batch_size, n)
        for step in trange(self.steps, desc=self.name):
            idx = torch.randint(0, n, (bs,), generator=gen, device=X.device)
            target = Tn[idx]
            xh, fired, penalty = self._train_forward(Xn[idx], target, since >= dead_after)
            loss = (xh - target).pow(2).sum(1).mean() + penalty
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history[step] = loss.detach()
            with torch.no_grad():
                W.data /= W.data.norm(dim=1, keepdim=True).clamp_min(1e-8)
                since = torch.where(fired, torch.zeros_like(since), since + bs)
                if step >= decay_from:
                    for g in opt.param_groups:
                        g["lr"] = self.lr * (self.steps - step - 1) / max(1, self.steps - decay_from)
                if self.revive == "resample" and (step + 1) % self.resample_every == 0 and step < decay_from:
                    dead = torch.nonzero(since >= dead_after).flatten()
                    if dead.numel():
                        self._resample(dead, Xn, Tn, opt, gen)
                        since[dead] = 0
                if (step + 1) % 50 == 0 and not bool(torch.isfinite(history[step])):
                    break
        history = history.cpu().numpy()
        bad = np.flatnonzero(~np.isfinite(history[: step + 1]))
        if bad.size:
            raise FloatingPointError(f"{type(self).__name__} diverged at step {bad[0]} (loss {history[bad[0]]}); lower lr.")
        self.history_ = history
        self.n_dead_train_ = int((since >= dead_after).sum())
        self._finalize()

    @torch.no_grad()
    def _resample(self, dead, Xn, Tn, opt, gen):
        m = self.module_
        pool = torch.randint(0, Xn.shape[0], (max(4 * self.batch_size, 2 * dead.numel()),), generator=gen, device=Xn.device)
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

    def __init__(self, n_latents: int, *, l1: float = 0.1, **kw):
        super().__init__(n_latents, **kw)
        self.l1 = _pos("l1", l1, allow_zero=True)

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
    revive_options = (None, "resample", "auxk")
    resample_scale = 1.0

    def __init__(self, n_latents: int, *, k: int = 8, k_aux: int | None = None, aux_coef: float = 1 / 32, **kw):
        super().__init__(n_latents, **kw)
        self.k = _int("k", k, 1)
        if self.k > self.n_latents:
            raise ValueError(f"k must be at most n_latents={self.n_latents}, got k={self.k}.")
        self.k_aux = None if k_aux is None else _int("k_aux", k_aux, 1, self.n_latents)
        self.aux_coef = _pos("aux_coef", aux_coef, allow_zero=True)

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
        n_dead = int(dead.sum()) if self.revive == "auxk" else 0
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

    def __init__(self, n_latents: int, *, l0: float = 0.01, bandwidth: float = 0.05, theta_init: float = 0.1, **kw):
        super().__init__(n_latents, **kw)
        self.l0 = _pos("l0", l0, allow_zero=True)
        self.bandwidth = _pos("bandwidth", bandwidth)
        self.theta_init = _pos("theta_init", theta_init)

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
    needs_target = True

    def __init__(self, n_latents: int, *, l1: float = 0.1, **kw):
        super().__init__(n_latents, **kw)
        self.l1 = _pos("l1", l1, allow_zero=True)

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

    def __init__(self, n_latents: int, *, k: int = 8, **kw):
        super().__init__(n_latents, **kw)
        self.k = _int("k", k, 1)
        if self.k > self.n_latents:
            raise ValueError(f"k must be at most n_latents={self.n_latents}, got k={self.k}.")

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


# --------------------------------------------------------------------------------------------------
# Vector-quantised codebook (Tamkin et al. 2023)
# --------------------------------------------------------------------------------------------------
class CodebookBottleneck(nn.Module):
    """The codebook layer of Tamkin et al. (2023), to insert at a hook point.

    ``forward(x)`` (any shape ``(..., dim)``) optionally layer-normalises ``x`` (as their layer
    does), scores every code by ``x . c / ||c||``, keeps the ``k`` best and returns their mean. The
    value is the codes' mean; the gradient passes straight through to ``x`` and reaches the codes
    from downstream, and :attr:`loss` adds their reconstruction error (their "aeloss"). The last
    chosen codes are kept in :attr:`codes`; :meth:`steer` forces chosen codes at chosen positions.
    """

    def __init__(self, dim: int, n_codes: int, k: int = 1, *, layer_norm: bool = True, seed: int = 0):
        super().__init__()
        dim = _int("dim", dim, 1)
        n_codes = _int("n_codes", n_codes, 1)
        self.k = _int("k", k, 1, n_codes)
        gen = torch.Generator().manual_seed(seed)
        self.codebook = nn.Parameter(torch.randn(n_codes, dim, generator=gen))
        self.ln = nn.LayerNorm(dim) if layer_norm else None
        self.codes: torch.Tensor | None = None
        self.loss = torch.zeros(())
        self._steer: tuple[torch.Tensor, torch.Tensor] | None = None
        self.counts = torch.zeros(n_codes, dtype=torch.long)

    @property
    def n_codes(self) -> int:
        return self.codebook.shape[0]

    def select(self, x: torch.Tensor) -> torch.Tensor:
        """Indices (..., k) of the ``k`` codes with the largest ``x . c / ||c||``."""
        scores = x @ self.codebook.T / self.codebook.norm(dim=1).clamp_min(1e-8)
        return scores.topk(self.k, dim=-1).indices

    def steer(self, mask: torch.Tensor | None, code: int | torch.Tensor | None = None) -> None:
        """Force ``code`` wherever boolean ``mask`` (the shape of ``x`` without its last axis) is
        True, in every later forward pass; ``steer(None)`` stops steering. ``code`` is one index,
        one per position (``mask``'s shape) or ``k`` per position (``mask.shape + (k,)``)."""
        if mask is None:
            self._steer = None
            return
        code = torch.as_tensor(code, dtype=torch.long)
        mask = torch.as_tensor(mask, dtype=torch.bool)
        if code.numel() != 1 and code.shape != mask.shape and code.shape != (*mask.shape, self.k):
            raise ValueError(f"code must be one index, one per masked position (shape {tuple(mask.shape)}) "
                             f"or k={self.k} per position, got shape {tuple(code.shape)}.")
        if int(code.min()) < 0 or int(code.max()) >= self.n_codes:
            raise ValueError(f"code must lie in [0, {self.n_codes - 1}], got {code.unique().tolist()[:10]}.")
        if code.numel() == 1:
            code = code.reshape(()).expand(mask.shape)
        if code.shape == mask.shape:
            code = code[..., None].expand(*mask.shape, self.k)
        self._steer = (mask, code)

    def forward(self, x: torch.Tensor, name: str | None = None) -> torch.Tensor:
        h = self.ln(x) if self.ln is not None else x
        ids = self.select(h.detach())
        if self._steer is not None:
            mask, code = self._steer
            if mask.shape != ids.shape[:-1]:
                raise ValueError(f"the steering mask has shape {tuple(mask.shape)}, the input {tuple(ids.shape[:-1])}.")
            ids = torch.where(mask.to(ids.device)[..., None], code.to(ids.device), ids)
        q = self.codebook[ids].mean(-2)
        self.codes = ids.detach()
        self.loss = (q - h.detach()).pow(2).sum(-1).mean()
        if self.training:
            self.counts += torch.bincount(ids.flatten().cpu(), minlength=self.n_codes)
        return q + (h - h.detach())   # value q, gradient straight through to the input

    @torch.no_grad()
    def replace_dead(self, samples: torch.Tensor, gen: torch.Generator | None = None) -> int:
        """Re-initialise codes never chosen since the last call at random ``samples`` (rows)."""
        dead = torch.nonzero(self.counts == 0).flatten()
        if dead.numel():
            h = self.ln(samples) if self.ln is not None else samples
            pick = torch.randint(0, h.shape[0], (dead.numel(),), generator=gen, device=h.device)
            self.codebook.data[dead.to(self.codebook.device)] = h[pick]
        self.counts.zero_()
        return int(dead.numel())


class VQCodebook(SparseDictionary):
    """A vector-quantised codebook bottleneck as a dictionary (Tamkin et al. 2023).

    ``k`` codes are chosen per input (largest ``x . c / ||c||``) and the reconstruction is their
    mean, so codes carry no magnitude: the comparison shows what that costs on continuous features.
    Trained by Adam on the reconstruction error; dead codes are replaced by data samples every
    ``replace_every`` steps. Codes ``Z`` are ``||c_j|| / k`` on the chosen atoms.
    """

    name = "VQ codebook"

    def __init__(self, n_latents: int, *, k: int = 8, steps: int = 300, batch_size: int = 512, lr: float = 1e-2,
                 replace_every: int = 50, device=None, seed: int = 0):
        super().__init__(n_latents, device=device, seed=seed)
        self.k = _int("k", k, 1)
        if self.k > self.n_latents:
            raise ValueError(f"k must be at most n_latents={self.n_latents}, got k={self.k}.")
        self.steps = _int("steps", steps, 1)
        self.batch_size = _int("batch_size", batch_size, 1)
        self.lr = _pos("lr", lr)
        self.replace_every = _int("replace_every", replace_every, 1)

    def _fit(self, X, Y):
        gen = torch.Generator(device=X.device).manual_seed(self.seed)
        self.mean_ = X.mean(0)
        Xc = X - self.mean_
        layer = CodebookBottleneck(X.shape[1], self.n_latents, self.k, layer_norm=False, seed=self.seed).to(X.device)
        layer.codebook.data = Xc[torch.randint(0, X.shape[0], (self.n_latents,), generator=gen, device=X.device)].clone()
        layer.train()
        opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
        history = np.empty(self.steps)
        bs = min(self.batch_size, X.shape[0])
        self.n_replaced_ = 0
        for step in trange(self.steps, desc=self.name):
            xb = Xc[torch.randint(0, X.shape[0], (bs,), generator=gen, device=X.device)]
            layer(xb)
            opt.zero_grad(set_to_none=True)
            layer.loss.backward()
            opt.step()
            history[step] = layer.loss.item()
            if (step + 1) % self.replace_every == 0 and step < int(0.8 * self.steps):
                self.n_replaced_ += layer.replace_dead(xb, gen)
        layer.eval()
        self.layer_ = layer
        self.history_ = history
        C = layer.codebook.detach()
        self.code_norms_ = C.norm(dim=1).clamp_min(1e-12)
        self.D_ = C / self.code_norms_[:, None]
        self.bias_ = self.mean_.clone()

    def _encode(self, X):
        ids = self.layer_.select(X - self.mean_)
        Z = X.new_zeros(X.shape[0], self.n_latents)
        return Z.scatter_add_(1, ids, (self.code_norms_[ids] / self.k))


# --------------------------------------------------------------------------------------------------
# Semi-NMF (Ding, Li & Jordan 2010; Shafran, Geiger & Geva 2025)
# --------------------------------------------------------------------------------------------------
def _pos_part(A):
    return (A.abs() + A) * 0.5


def _neg_part(A):
    return (A.abs() - A) * 0.5


class SemiNMF(SparseDictionary):
    """Semi-nonnegative matrix factorisation ``X ~ G F``: codes ``G >= 0``, atoms ``F`` free.

    Multiplicative updates of Ding, Li & Jordan (2010, eqs. 8 and 10)::

        F <- (G^T G)^-1 G^T X
        G <- G * sqrt( ([X F^T]^+ + G [F F^T]^-) / ([X F^T]^- + G [F F^T]^+ + l1) )

    with ``A^+ = (|A| + A)/2``, ``A^- = (|A| - A)/2``, started from (spherical) K-means as Ding et
    al. do. ``F`` is free, so without sparsity the factorisation is not unique. ``l1 > 0`` adds an L1 penalty on ``G`` (the
    standard sparse semi-NMF extension); ``keep_fraction < 1`` keeps only that fraction of each
    atom's largest entries, the winner-take-all sparsity Shafran et al. (2025) put on the atoms (a
    feature as a few co-active neurons). Atoms are rescaled to unit norm after each update. The
    ``G`` update costs ``n L^2``, so at most ``max_samples`` random rows are used for fitting.
    """

    name = "Semi-NMF"

    def __init__(self, n_latents: int, *, n_iter: int = 100, l1: float = 0.0, keep_fraction: float = 1.0,
                 max_samples: int = 8192, encode_iter: int = 50, kmeans_iter: int = 10, device=None, seed: int = 0):
        super().__init__(n_latents, device=device, seed=seed)
        self.n_iter = _int("n_iter", n_iter, 1)
        self.kmeans_iter = _int("kmeans_iter", kmeans_iter, 0)
        self.l1 = _pos("l1", l1, allow_zero=True)
        self.keep_fraction = _pos("keep_fraction", keep_fraction)
        if self.keep_fraction > 1:
            raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction!r}.")
        self.max_samples = _int("max_samples", max_samples, 2)
        self.encode_iter = _int("encode_iter", encode_iter, 1)

    def _update_G(self, X, G, A):
        P, Q = X @ A.T, A @ A.T
        num = _pos_part(P) + G @ _neg_part(Q)
        den = _neg_part(P) + G @ _pos_part(Q) + self.l1
        return G * torch.sqrt(num / den.clamp_min(1e-12))

    def _fit(self, X, Y):
        gen = torch.Generator(device=X.device).manual_seed(self.seed)
        if X.shape[0] > self.max_samples:
            X = X[torch.randperm(X.shape[0], generator=gen, device=X.device)[: self.max_samples]]
        n, d = X.shape
        L = self.n_latents
        # Ding et al. initialise with K-means; here spherical K-means++ (directions, not points),
        # then G = cluster indicator + 0.2 as in their paper.
        U = X / X.norm(dim=1, keepdim=True).clamp_min(1e-8)
        A = U.new_empty(L, d)   # k-means++ seeding (Arthur & Vassilvitskii 2007) on 1 - cosine
        A[0] = U[torch.randint(0, n, (1,), generator=gen, device=X.device)]
        gap = (1 - U @ A[0]).clamp_min(0)
        for j in range(1, L):
            w = gap.pow(2)
            pick = torch.multinomial(w, 1, generator=gen) if float(w.sum()) > 0 else \
                torch.randint(0, n, (1,), generator=gen, device=X.device)
            A[j] = U[pick[0]]
            gap = torch.minimum(gap, (1 - U @ A[j]).clamp_min(0))
        for _ in range(self.kmeans_iter):
            label = (U @ A.T).argmax(1)
            sums = torch.zeros_like(A).index_add_(0, label, U)
            empty = sums.norm(dim=1) < 1e-8
            sums[empty] = U[torch.randint(0, n, (int(empty.sum()),), generator=gen, device=X.device)]
            A = sums / sums.norm(dim=1, keepdim=True).clamp_min(1e-8)
        G = torch.nn.functional.one_hot((U @ A.T).argmax(1), L).float() * X.norm(dim=1, keepdim=True) + 0.2
        history = np.empty(self.n_iter)
        eye = torch.eye(L, device=X.device)
        for it in trange(self.n_iter, desc=self.name):
            GtG = G.T @ G
            ridge = 1e-5 * GtG.diagonal().mean() + 1e-8   # keeps an unused atom from making GtG singular
            A = torch.linalg.solve(GtG + ridge * eye, G.T @ X)
            if self.keep_fraction < 1:
                keep = max(1, math.ceil(self.keep_fraction * d))
                thresh = A.abs().topk(keep, dim=1).values[:, -1:]
                A = A * (A.abs() >= thresh)
            norms = A.norm(dim=1, keepdim=True).clamp_min(1e-8)
            A, G = A / norms, G * norms.T
            G = self._update_G(X, G, A)
            history[it] = float((X - G @ A).pow(2).sum(1).mean())
        self.history_ = history
        self.D_ = A
        self.bias_ = torch.zeros(d, device=X.device)

    def _encode(self, X):
        G = torch.relu(X @ torch.linalg.pinv(self.D_)) + 1e-2
        for _ in range(self.encode_iter):
            G = self._update_G(X, G, self.D_)
        return G


METHODS = {"relu": ReLUSAE, "topk": TopKSAE, "jumprelu": JumpReLUSAE, "transcoder": Transcoder,
           "vq": VQCodebook, "seminmf": SemiNMF, "mp": MatchingPursuitSAE}


# --------------------------------------------------------------------------------------------------
# Metrics against the truth
# --------------------------------------------------------------------------------------------------
def _as_tensor(A, device=None) -> torch.Tensor:
    if isinstance(A, torch.Tensor):
        return A.to(device or A.device, torch.float32)
    return torch.as_tensor(np.asarray(A), dtype=torch.float32, device=device)


def feature_cosines(D, directions, planes=None) -> torch.Tensor:
    """Cosine similarity (n_true, n_latents) of every true feature to every atom (rows of ``D``).

    A 1-D feature's similarity is the signed cosine; a 2-D feature's (``planes``: (p, 2, dim)
    orthonormal bases) is the norm of the atom's projection onto its plane.
    """
    D = _as_tensor(D)
    D = D / D.norm(dim=1, keepdim=True).clamp_min(1e-12)
    T = _as_tensor(directions, D.device)
    if T.dim() != 2 or T.shape[1] != D.shape[1]:
        raise ValueError(f"directions must have shape (n_features, {D.shape[1]}), got {tuple(T.shape)}.")
    T = T / T.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = T @ D.T
    if planes is not None and len(planes):
        P = _as_tensor(planes, D.device)
        sims = torch.cat([sims, torch.einsum("pkd,ld->plk", P, D).norm(dim=-1)])
    return sims


def max_cosines(D, directions, planes=None) -> torch.Tensor:
    """For each true feature, the best cosine over atoms."""
    return feature_cosines(D, directions, planes).max(dim=1).values


def recovery(D, directions, planes=None, threshold: float = 0.9) -> dict:
    """Mean max cosine similarity (MMCS) and the fraction of true features with an atom at
    cosine >= ``threshold`` (recovered)."""
    best = max_cosines(D, directions, planes)
    return {"mmcs": float(best.mean()), "recovered": float((best >= threshold).float().mean())}


def explained_variance(X: torch.Tensor, X_hat: torch.Tensor) -> float:
    """1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2."""
    return float(1 - (X - X_hat).pow(2).sum() / (X - X.mean(0)).pow(2).sum())


@torch.no_grad()
def evaluate(model: SparseDictionary, X, directions, planes=None, *, Y=None, threshold: float = 0.9,
             tol: float = 1e-3, batch_size: int = 8192) -> dict:
    """Everything the comparison table shows, for a fitted dictionary on activations ``X``.

    ``directions``/``planes`` are the true features (for a transcoder: the output features, and
    ``Y`` the targets). A code counts as active when above ``tol`` (data units); ``l0`` is the mean
    number of active codes per input and ``dead`` the number of latents never active on ``X``.
    """
    X = model._check_input(X)
    T = X if Y is None else check_activations(Y, "Y", X.device)
    fired = torch.zeros(model.n_latents, dtype=torch.bool, device=X.device)
    sse, l0 = 0.0, 0.0
    for i in range(0, X.shape[0], batch_size):
        z = model.encode(X[i:i + batch_size])
        active = z.abs() > tol
        fired |= active.any(0)
        l0 += float(active.sum())
        sse += float((model.decode(z) - T[i:i + batch_size]).pow(2).sum())
    ev = 1 - sse / float((T - T.mean(0)).pow(2).sum())
    out = recovery(model.D_, directions, planes, threshold)
    out.update({"explained_variance": ev, "l0": l0 / X.shape[0], "dead": int((~fired).sum()),
                "fit_time": float(getattr(model, "fit_time_", float("nan")))})
    return out


@torch.no_grad()
def top_activations(model: SparseDictionary, X, latent: int, n: int = 10):
    """Indices and code values of the ``n`` inputs on which ``latent`` is most active."""
    latent = _int("latent", latent, 0, model.n_latents - 1)
    z = model.encode(X)[:, latent]
    vals, idx = z.topk(min(n, z.shape[0]))
    return idx, vals


# --------------------------------------------------------------------------------------------------
# Side by side
# --------------------------------------------------------------------------------------------------
def make_methods(n_latents: int, *, k: int = 8, steps: int = 150, batch_size: int = 1024, l1: float = 0.05,
                 l0: float = 0.005, transcoder_l1: float = 0.05, seminmf_iter: int = 60, seed: int = 0,
                 device=None, only=None) -> dict[str, SparseDictionary]:
    """One dictionary of every kind (keys of :data:`METHODS`) with shared size, budget and seed.

    ``k`` is the TopK SAE's, the matching pursuit's number of steps and the codebook's codes per
    input; ``l1`` the ReLU SAE's penalty, ``l0`` the JumpReLU SAE's, ``transcoder_l1`` the
    transcoder's. ``only`` keeps a subset of the keys.
    """
    common = dict(steps=steps, batch_size=batch_size, seed=seed, device=device)
    make = {
        "topk": lambda: TopKSAE(n_latents, k=k, **common),
        "relu": lambda: ReLUSAE(n_latents, l1=l1, **common),
        "jumprelu": lambda: JumpReLUSAE(n_latents, l0=l0, **common),
        "transcoder": lambda: Transcoder(n_latents, l1=transcoder_l1, **common),
        "vq": lambda: VQCodebook(n_latents, k=k, **common),
        "seminmf": lambda: SemiNMF(n_latents, n_iter=seminmf_iter, l1=0.01, seed=seed, device=device),
        "mp": lambda: MatchingPursuitSAE(n_latents, k=k, **common),
    }
    keys = list(make) if only is None else list(only)
    bad = [key for key in keys if key not in make]
    if bad:
        raise ValueError(f"only must name methods among {', '.join(make)}, got {bad}.")
    return {key: make[key]() for key in keys}


def compare(models: dict[str, SparseDictionary], X, directions, planes=None, *, Y=None, out_directions=None,
            eval_samples: int | None = 10_000) -> list[dict]:
    """Fit every model on ``X`` and evaluate it against the truth; one row (a dict) per model.

    A transcoder is fitted on ``(X, Y)`` and judged against ``out_directions`` (the features of
    ``Y``); the others against ``directions``/``planes``. Reconstruction, L0 and dead latents are
    measured on the first ``eval_samples`` rows (``None``: all).
    """
    rows = []
    for key, model in models.items():
        n = X.shape[0] if eval_samples is None else min(eval_samples, X.shape[0])
        if model.needs_target:
            if Y is None or out_directions is None:
                raise ValueError(f"{key} is a transcoder: compare needs Y and out_directions.")
            model.fit(X, Y)
            out = evaluate(model, X[:n], out_directions, Y=Y[:n])
        else:
            model.fit(X)
            out = evaluate(model, X[:n], directions, planes)
        rows.append({"key": key, "method": model.name, **out})
    return rows


def sweep(make, values, X, directions, planes=None, *, eval_samples: int | None = 10_000) -> list[dict]:
    """Fit ``make(value)`` for each of ``values`` on ``X``; one evaluation row per value."""
    rows = []
    for v in values:
        model = make(v).fit(X)
        n = X.shape[0] if eval_samples is None else min(eval_samples, X.shape[0])
        rows.append({"value": v, "method": model.name, **evaluate(model, X[:n], directions, planes)})
    return rows
