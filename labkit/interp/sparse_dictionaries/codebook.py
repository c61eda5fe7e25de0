"""Vector-quantised codebooks (Tamkin et al. 2023, "Codebook Features").

:class:`CodebookBottleneck` is the layer, to insert at a transformer's hook point: the ``k`` codes
with the largest ``x . c / ||c||`` are chosen and their mean replaces the activation (straight-through
gradients; dead codes are replaced by data samples). :class:`VQCodebook` is the same layer fitted
alone on activations, behind the dictionary interface, so the comparison shows what codes without
magnitudes cost on continuous features.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from labkit.core.params import check_value
from labkit.core.train import train
from labkit.interp.sparse_dictionaries.base import SparseDictionary


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
        dim = check_value("dim", dim, (int, 1, None), "CodebookBottleneck")
        n_codes = check_value("n_codes", n_codes, (int, 1, None), "CodebookBottleneck")
        self.k = check_value("k", k, (int, 1, n_codes), "CodebookBottleneck")
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
    _rules: ClassVar[dict[str, Any]] = {
        **SparseDictionary._rules, "k": (int, 1, None), "steps": (int, 1, None), "batch_size": (int, 1, None),
        "lr": (float, 0, None, "neither"), "replace_every": (int, 1, None),
    }

    def __init__(self, n_latents: int, *, k: int = 8, steps: int = 300, batch_size: int = 512, lr: float = 1e-2,
                 replace_every: int = 50, device=None, seed: int = 0):
        super().__init__(n_latents, device=device, seed=seed)
        self.k = k
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.replace_every = replace_every

    def _check_hyperparameters(self):
        self._check_at_most_latents("k")

    def _fit(self, X, Y):
        gen = torch.Generator(device=X.device).manual_seed(self.seed)
        self.mean_ = X.mean(0)
        Xc = X - self.mean_
        layer = CodebookBottleneck(X.shape[1], self.n_latents, self.k, layer_norm=False, seed=self.seed).to(X.device)
        start = torch.randint(0, X.shape[0], (self.n_latents,), generator=gen, device=X.device)
        layer.codebook.data = Xc[start].clone()
        opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
        bs = min(self.batch_size, X.shape[0])
        self.n_replaced_ = 0
        xb = None

        def loss_fn(step):
            nonlocal xb
            xb = Xc[torch.randint(0, X.shape[0], (bs,), generator=gen, device=X.device)]
            layer(xb)
            return layer.loss

        def replace_dead(step, loss):
            if (step + 1) % self.replace_every == 0 and step < int(0.8 * self.steps):
                self.n_replaced_ += layer.replace_dead(xb, gen)

        self.history_ = train(layer, loss_fn, self.steps, optimizer=opt, desc=self.name, callbacks=[replace_dead],
                              name=type(self).__name__)
        self.layer_ = layer
        C = layer.codebook.detach()
        self.code_norms_ = C.norm(dim=1).clamp_min(1e-12)
        self.D_ = C / self.code_norms_[:, None]
        self.bias_ = self.mean_.clone()

    def _encode(self, X):
        ids = self.layer_.select(X - self.mean_)
        Z = X.new_zeros(X.shape[0], self.n_latents)
        return Z.scatter_add_(1, ids, (self.code_norms_[ids] / self.k))
