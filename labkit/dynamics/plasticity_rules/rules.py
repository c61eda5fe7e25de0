"""Credit assignment by backprop (BP), feedback alignment (FA) and counter-current learning (CCL).

One bias-free ELU network, three rules, one training loop (:func:`labkit.core.train.train`):

* **BP**: the cross-entropy of the output, back-propagated through every layer.
* **FA** (Lillicrap et al. 2016): the backward pass of each layer sends the error through a fixed random
  matrix ``B_l`` in place of ``W_lᵀ`` (:class:`FALinear`, an autograd Function), so no weight is transported.
* **CCL** (Kao & Hariharan 2024, official ``models/layers.py``, ``utils/loss.py``): a feedback network runs from
  the targets towards the input, ``c_L = I`` (the ten one-hots), ``c_{l-1} = ELU(V_l c_l)`` (no activation at the
  bottom). Every layer's input is detached in both networks, and each pair ``(a_l, c_l)`` is pulled together by the
  local loss ``MSE(a_l c_lᵀ, onehot(y)) · 0.5 · 256 / d_l``; the output adds a cross-entropy. One backward pass of
  the summed local losses gives every layer its own local gradient: no error crosses a layer.

``readout_only=True`` trains the last layer alone (the baseline every rule must beat: a random
hidden representation read out linearly).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from labkit.core.params import ParameterError, check_value

RULES = ("bp", "fa", "ccl")


class _FAFunction(torch.autograd.Function):
    """``y = x Wᵀ``; backward: ``dx = dy B`` (fixed feedback), ``dW = dyᵀ x`` (the usual local update)."""

    @staticmethod
    def forward(ctx, x, weight, feedback):
        ctx.save_for_backward(x, feedback)
        return x @ weight.T

    @staticmethod
    def backward(ctx, grad_out):
        x, feedback = ctx.saved_tensors
        return grad_out @ feedback, grad_out.T @ x, None


def fa_linear(x: torch.Tensor, weight: torch.Tensor, feedback: torch.Tensor) -> torch.Tensor:
    """A bias-free linear layer whose backward pass uses ``feedback`` (same shape as ``weight``) for ``weight``."""
    return _FAFunction.apply(x, weight, feedback)


def _init(out_dim: int, in_dim: int, gen: torch.Generator) -> torch.Tensor:
    bound = 1.0 / in_dim ** 0.5  # PyTorch's nn.Linear default
    return (torch.rand(out_dim, in_dim, generator=gen) * 2 - 1) * bound


class MLP(nn.Module):
    """A bias-free ELU network ``sizes[0] → ... → sizes[-1]`` trained by ``rule`` ("bp", "fa" or "ccl").

    ``weights[l]`` is W_{l+1} (out × in). FA keeps fixed random ``feedback`` matrices; CCL keeps trainable
    ``backward_weights`` V_l (in × out: they map layer l's code down to layer l-1's).
    """

    def __init__(self, sizes, rule: str = "bp", readout_only: bool = False, seed: int = 0):
        super().__init__()
        sizes = [int(s) for s in check_value("sizes", list(sizes), list, "MLP")]
        if len(sizes) < 2:
            raise ParameterError(f"Parameter 'sizes' of MLP needs at least an input and an output size, got {sizes}.")
        for s in sizes:
            check_value("sizes", s, (int, 1, None), "MLP")
        self.rule = check_value("rule", rule, list(RULES), "MLP")
        self.readout_only = bool(readout_only)
        self.sizes = sizes
        gen = torch.Generator().manual_seed(int(seed))
        pairs = list(zip(sizes[1:], sizes[:-1]))
        self.weights = nn.ParameterList([nn.Parameter(_init(o, i, gen)) for o, i in pairs])
        feedback = [_init(o, i, gen) for o, i in pairs]  # drawn for every rule so the forward weights match
        for k, b in enumerate(feedback):
            self.register_buffer(f"feedback_{k}", b)
        self.backward_weights = nn.ParameterList(
            [nn.Parameter(_init(i, o, gen)) for o, i in pairs] if rule == "ccl" else [])
        if self.readout_only:
            for w in list(self.weights)[:-1]:
                w.requires_grad_(False)
            for v in self.backward_weights:
                v.requires_grad_(False)

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def feedback(self, k: int) -> torch.Tensor:
        return getattr(self, f"feedback_{k}")

    def activations(self, x: torch.Tensor, detach: bool = False) -> list[torch.Tensor]:
        """``[a_0 = x, a_1, ..., a_L]`` (a_L the logits); ``detach`` cuts the graph at every layer's input (CCL)."""
        acts = [x]
        for k, w in enumerate(self.weights):
            inp = acts[-1].detach() if detach else acts[-1]
            z = fa_linear(inp, w, self.feedback(k)) if self.rule == "fa" else inp @ w.T
            acts.append(z if k == self.n_layers - 1 else F.elu(z))
        return acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activations(x)[-1]

    def codes(self) -> list[torch.Tensor]:
        """CCL's feedback codes ``[c_0, ..., c_L]`` (each 10 × d_l; c_L = I), inputs detached layer by layer."""
        n_out = self.sizes[-1]
        c = [torch.eye(n_out, device=self.weights[0].device)]
        for k in reversed(range(self.n_layers)):
            z = c[0].detach() @ self.backward_weights[k].T
            c.insert(0, z if k == 0 else F.elu(z))
        return c

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The rule's training loss on a batch: cross-entropy (BP, FA) or CCL's summed local losses."""
        if self.rule != "ccl":
            return F.cross_entropy(self(x), y)
        acts, codes = self.activations(x, detach=True), self.codes()
        target = F.one_hot(y, self.sizes[-1]).to(x.dtype)
        total = F.cross_entropy(acts[-1], y)
        for a, c in zip(acts, codes):
            if not (a.requires_grad or c.requires_grad):
                continue
            total = total + F.mse_loss(a @ c.T, target) * 0.5 * 256 / a.shape[1]
        return total

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float((self(x).argmax(1) == y).float().mean())


def weight_grads(model: MLP, x: torch.Tensor, y: torch.Tensor, rule: str | None = None) -> list[torch.Tensor]:
    """The update direction ``-dLoss/dW_l`` of each forward weight under ``rule`` (default: the model's own),
    at the model's current weights, on one batch; "bp" gives back-propagation's gradient of the cross-entropy."""
    rule = rule or model.rule
    ws = list(model.weights)
    frozen = [w for w in ws if not w.requires_grad]
    for w in frozen:  # a readout-only model still has a would-be update in every layer
        w.requires_grad_(True)
    try:
        return _weight_grads(model, ws, x, y, rule)
    finally:
        for w in frozen:
            w.requires_grad_(False)


def _weight_grads(model, ws, x, y, rule):
    with torch.enable_grad():
        if rule == "bp":
            acts = [x]
            for k, w in enumerate(ws):
                z = acts[-1] @ w.T
                acts.append(z if k == len(ws) - 1 else F.elu(z))
            loss = F.cross_entropy(acts[-1], y)
        else:
            loss = model.loss(x, y)
        grads = torch.autograd.grad(loss, ws, allow_unused=True, materialize_grads=True)
    return [-g.detach() for g in grads]


def update_alignment(model: MLP, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-layer cosine between the model's rule's weight update and BP's on the same batch (1 for BP itself)."""
    own, bp = weight_grads(model, x, y), weight_grads(model, x, y, "bp")
    return torch.stack([F.cosine_similarity(a.flatten(), b.flatten(), dim=0, eps=1e-12) for a, b in zip(own, bp)])
