"""What the dynamics track shares: ensembles of small nets, snapshots during training, and the
measures of how far learning moved a network (kernel alignment, CKA, weight change, effective rank,
the tangent kernel).

* :class:`Ensemble` — E copies of one small ``nn.Module`` with their weights stacked along a first
  axis and run together by ``torch.func.vmap`` + ``functional_call``. A seeds x conditions grid trains
  in **one** :func:`labkit.core.train.train` call: the loss is the sum of the members' losses, so each
  member gets exactly its own gradient (members share no parameter), and with SGD each member follows
  exactly the trajectory it would follow alone.
* :class:`Snapshots` — a ``train`` callback that records, at chosen steps, named activations of the
  model on a fixed probe batch and named weights (copied to the CPU).
* :func:`kernel_alignment` (``centered=True`` is CKA on Gram matrices), :func:`linear_cka` (from
  features), :func:`weight_change`, :func:`effective_rank`, :func:`truncate_rank`,
  :func:`tangent_kernel` (``jacrev`` + ``vmap``: one Jacobian per example, no Python loop over outputs).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call, jacrev, stack_module_state, vmap

from labkit.core.params import ParameterError, check_value

__all__ = [
    "Ensemble",
    "Snapshots",
    "kernel_alignment",
    "linear_cka",
    "weight_change",
    "effective_rank",
    "truncate_rank",
    "tangent_kernel",
    "gram",
]


class Ensemble(nn.Module):
    """E copies of a small net, run as one: ``Ensemble([make(seed) for seed in seeds])``.

    The members' parameters are stacked into ``self.params`` (a ``ParameterDict``; each entry has a
    leading axis of size E), so an optimizer over ``ensemble.parameters()`` trains all of them.
    ``ensemble(x)`` calls every member on the same ``x``; ``ensemble(x, shared=False)`` gives member
    e the slice ``x[e]``. Outputs carry the member axis first.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        members = list(members)
        if len(members) < 1:
            raise ParameterError("Parameter 'members' of Ensemble must hold at least one module, got 0.")
        kinds = {type(m) for m in members}
        if len(kinds) != 1:
            raise ParameterError(
                "Parameter 'members' of Ensemble must hold modules of one class, "
                f"got {sorted(k.__name__ for k in kinds)}."
            )
        params, buffers = stack_module_state(members)
        self.size = len(members)
        self._names = list(params)
        self.params = nn.ParameterDict(
            {k.replace(".", "__"): nn.Parameter(v.detach().clone()) for k, v in params.items()}
        )
        for k, v in buffers.items():
            self.register_buffer("buf__" + k.replace(".", "__"), v.detach().clone())
        self._buffer_names = list(buffers)
        base = copy.deepcopy(members[0]).to("meta")
        object.__setattr__(self, "_base", base)  # not a submodule: its (meta) weights are never used

    def __len__(self) -> int:
        return self.size

    def stacked(self) -> dict[str, torch.Tensor]:
        """The stacked parameters under the members' own names (each with the member axis first)."""
        return {k: self.params[k.replace(".", "__")] for k in self._names}

    def _buffers_dict(self) -> dict[str, torch.Tensor]:
        return {k: getattr(self, "buf__" + k.replace(".", "__")) for k in self._buffer_names}

    def call(self, method: str | None, *args, shared: bool = True, **kwargs):
        """Call ``member.<method>(*args, **kwargs)`` (``forward`` when ``method`` is None) for every member."""
        base = self._base

        def one(p, b, *xs):
            if method is None:
                return functional_call(base, (p, b), xs, kwargs)
            return _method_call(base, method, p, b, xs, kwargs)

        in_dims = (0, 0) + tuple(None if shared else 0 for _ in args)
        return vmap(one, in_dims=in_dims, randomness="different")(self.stacked(), self._buffers_dict(), *args)

    def forward(self, *args, shared: bool = True, **kwargs):
        return self.call(None, *args, shared=shared, **kwargs)

    def member(self, e: int) -> nn.Module:
        """A standalone copy of member ``e`` (a fresh module holding that member's weights)."""
        if not 0 <= e < self.size:
            raise ParameterError(f"Parameter 'e' of Ensemble.member must be in [0, {self.size - 1}], got {e!r}.")
        m = copy.deepcopy(self._base).to_empty(device=next(iter(self.params.values())).device)
        state = {k: v[e].detach().clone() for k, v in self.stacked().items()}
        state.update({k: v[e].detach().clone() for k, v in self._buffers_dict().items()})
        m.load_state_dict(state)
        return m


def _method_call(base: nn.Module, method: str, params, buffers, args, kwargs):
    """``base.<method>(*args)`` with ``params``/``buffers`` swapped in (functional_call of a named method)."""
    from torch.nn.utils.stateless import _reparametrize_module

    with _reparametrize_module(base, {**params, **buffers}):
        return getattr(base, method)(*args, **kwargs)


class Snapshots:
    """A ``train`` callback: at each step in ``steps`` (0-based, after that step's update; ``-1`` means
    before training, taken by :meth:`take_initial`), record ``probe(model)`` (a dict of named arrays:
    activations on a fixed probe batch, outputs) and the named weights, detached and on the CPU.

    ``snap = Snapshots(model, probe, steps=[-1, 999], weights=["W_rec"])``;
    ``train(model, loss, 1000, callbacks=[snap])``; then ``snap.activations[999]["hidden"]``,
    ``snap.weights[-1]["W_rec"]``.
    """

    def __init__(
        self,
        model: nn.Module,
        probe: Callable[[nn.Module], Mapping[str, torch.Tensor]],
        steps: Iterable[int],
        weights: Sequence[str] = (),
    ):
        self.model, self.probe = model, probe
        self.steps = sorted({int(s) for s in steps})
        if any(s < -1 for s in self.steps):
            raise ParameterError(f"Parameter 'steps' of Snapshots must be >= -1, got {self.steps}.")
        named = dict(model.named_parameters())
        missing = [w for w in weights if w not in named]
        if missing:
            raise ParameterError(
                f"Parameter 'weights' of Snapshots names no parameter of the model: {missing}; it has {sorted(named)}."
            )
        self.weight_names = list(weights)
        self.activations: dict[int, dict[str, torch.Tensor]] = {}
        self.weights: dict[int, dict[str, torch.Tensor]] = {}
        self._want = set(self.steps)

    def _take(self, step: int) -> None:
        with torch.no_grad():
            self.activations[step] = {k: v.detach().cpu().clone() for k, v in self.probe(self.model).items()}
            named = dict(self.model.named_parameters())
            self.weights[step] = {w: named[w].detach().cpu().clone() for w in self.weight_names}

    def take_initial(self) -> Snapshots:
        if -1 in self._want:
            self._take(-1)
        return self

    def __call__(self, step: int, loss=None) -> None:
        if step in self._want:
            self._take(step)


def _square(name: str, K: torch.Tensor) -> torch.Tensor:
    K = torch.as_tensor(K)
    if K.ndim < 2 or K.shape[-1] != K.shape[-2] or K.shape[-1] < 1:
        raise ParameterError(
            f"Parameter {name!r} must be a non-empty square Gram matrix (..., n, n), got shape {tuple(K.shape)}."
        )
    return K


def _center(K: torch.Tensor) -> torch.Tensor:
    return K - K.mean(-1, keepdim=True) - K.mean(-2, keepdim=True) + K.mean((-2, -1), keepdim=True)


def kernel_alignment(K0, K1, centered: bool = False) -> torch.Tensor:
    """⟨K0, K1⟩_F / (‖K0‖_F ‖K1‖_F) of two Gram matrices (batched over leading axes); with
    ``centered=True`` both are double-centred first (H K H: this is CKA). 1 means the same kernel up to scale."""
    K0, K1 = _square("K0", K0), _square("K1", K1)
    if K0.shape != K1.shape:
        raise ParameterError(
            f"Parameters 'K0' and 'K1' must have the same shape, got {tuple(K0.shape)} and {tuple(K1.shape)}."
        )
    if centered:
        K0, K1 = _center(K0), _center(K1)
    num = (K0 * K1).sum((-2, -1))
    return num / (K0.flatten(-2).norm(dim=-1) * K1.flatten(-2).norm(dim=-1))


def gram(H) -> torch.Tensor:
    """The uncentered Gram matrix H Hᵀ of features H (..., n, d)."""
    H = torch.as_tensor(H)
    if H.ndim < 2 or H.shape[-2] < 1:
        raise ParameterError(f"Parameter 'H' must be features (..., n >= 1, d), got shape {tuple(H.shape)}.")
    return H @ H.transpose(-1, -2)


def linear_cka(X, Y) -> torch.Tensor:
    """Linear CKA of two feature matrices over the same n examples (X: (..., n, d1), Y: (..., n, d2))."""
    X, Y = torch.as_tensor(X), torch.as_tensor(Y)
    if X.shape[:-1] != Y.shape[:-1] or X.ndim < 2:
        raise ParameterError(
            "Parameters 'X' and 'Y' must hold features of the same examples, "
            f"got {tuple(X.shape)} and {tuple(Y.shape)}."
        )
    return kernel_alignment(gram(X), gram(Y), centered=True)


def weight_change(W0, W1, relative: bool = True) -> torch.Tensor:
    """‖W1 − W0‖_F, divided by ‖W0‖_F when ``relative`` (over the last two axes; leading axes batch)."""
    W0, W1 = torch.as_tensor(W0), torch.as_tensor(W1)
    if W0.shape != W1.shape:
        raise ParameterError(
            f"Parameters 'W0' and 'W1' must have the same shape, got {tuple(W0.shape)} and {tuple(W1.shape)}."
        )
    d = (W1 - W0).flatten(-2).norm(dim=-1)
    return d / W0.flatten(-2).norm(dim=-1) if relative else d


def effective_rank(W) -> torch.Tensor:
    """exp of the entropy of the normalised singular values σ_i / Σσ (Roy & Vetterli): between 1 (rank
    one) and min(shape) (all singular values equal). Batched over leading axes."""
    W = torch.as_tensor(W)
    if W.ndim < 2 or min(W.shape[-2:]) < 1:
        raise ParameterError(f"Parameter 'W' must be a non-empty matrix, got shape {tuple(W.shape)}.")
    s = torch.linalg.svdvals(W.double())
    p = s / s.sum(-1, keepdim=True)
    h = -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(-1)
    return torch.exp(h).to(W.dtype if W.is_floating_point() else torch.float64)


def truncate_rank(W, r: int) -> torch.Tensor:
    """W's best rank-``r`` approximation (its top r singular triplets), rescaled to W's Frobenius norm,
    as the official rich/lazy code builds its low-rank initial weights. Batched over leading axes."""
    W = torch.as_tensor(W)
    if W.ndim < 2:
        raise ParameterError(f"Parameter 'W' of truncate_rank must be a matrix, got shape {tuple(W.shape)}.")
    r = check_value("r", r, (int, 1, min(W.shape[-2:])), "truncate_rank")
    U, s, Vh = torch.linalg.svd(W, full_matrices=False)
    low = (U[..., :r] * s[..., None, :r]) @ Vh[..., :r, :]
    scale = W.flatten(-2).norm(dim=-1) / low.flatten(-2).norm(dim=-1)
    return low * scale[..., None, None]


def tangent_kernel(
    model: nn.Module,
    params: Sequence[str] | Mapping[str, torch.Tensor],
    x: torch.Tensor,
    output: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The empirical tangent kernel of ``model``'s outputs w.r.t. the named parameters on inputs ``x``.

    ``params``: parameter names (their current values) or a dict name -> value. ``output`` maps the
    model's output on one example to the vector whose Jacobian counts (default: the output itself).
    Returns Θ of shape (n·k, n·k) for n examples with k outputs each, ordered example-major:
    Θ[(i,a),(j,b)] = Σ_θ ∂f_a(x_i)/∂θ ∂f_b(x_j)/∂θ. One ``jacrev`` per example, vectorised by ``vmap``.
    """
    x = torch.as_tensor(x)
    if x.shape[0] < 1:
        raise ParameterError("Parameter 'x' of tangent_kernel must hold at least one example, got an empty batch.")
    named = dict(model.named_parameters())
    if isinstance(params, Mapping):
        train = {k: torch.as_tensor(v) for k, v in params.items()}
    else:
        train = {k: named[k] for k in params}
    missing = [k for k in train if k not in named]
    if missing:
        raise ParameterError(f"Parameter 'params' of tangent_kernel names no parameter of the model: {missing}.")
    fixed = {k: v.detach() for k, v in named.items() if k not in train}
    fixed.update({k: v for k, v in model.named_buffers()})
    out = output or (lambda y: y)

    def f(p, xi):
        y = functional_call(model, {**fixed, **p}, (xi.unsqueeze(0),))
        return out(y).reshape(-1)

    train = {k: v.detach() for k, v in train.items()}
    jac = vmap(jacrev(f), in_dims=(None, 0))(train, x)  # name -> (n, k, *shape)
    J = torch.cat([j.reshape(j.shape[0] * j.shape[1], -1) for j in jac.values()], dim=1)
    return J @ J.T
