"""Deep linear networks: Saxe et al.'s closed form, and Kleinman et al.'s two pathways with a deficit.

Data: Saxe's hierarchy of 8 items and 15 features (a binary tree of depth 3; a feature per node,
on for the items below it), inputs one-hot (X = I₈), loss ½‖Y − W X‖²_F summed over items, so
Σ_x = I and Σ_yx = Y with singular values s = (√15, √7, √3, √3, 1, 1, 1, 1).

A pathway of depth D is a product W_D ⋯ W_1 (hidden width ``width``); :class:`MultipathwayNet` sums
the outputs of one or two pathways a and b. From a balanced initialisation aligned with the SVD
Y = U S Vᵀ (layer l maps mode α from one orthonormal frame to the next with gain p_α), gradient
descent keeps that form: each mode has strength K = p^D per pathway and

    p_a ← p_a + lr · p_a^{D−1} (s − K_a − K_b),   likewise for b (not during a deficit),

which is the Euler map of the mode ODE (:func:`mode_ode`). For one pathway of two layers the
continuous solution is Saxe's a(t) = s e^{2st} / (e^{2st} − 1 + s/a₀) with t = lr · step
(:func:`saxe_closed_form`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labkit.core.params import ParameterError, check_args, check_value
from labkit.core.train import train


def hierarchy(levels: int = 3) -> np.ndarray:
    """Saxe's hierarchical items: Y (features, items) for a binary tree with ``levels`` splits
    (levels = 3: 15 features, 8 items)."""
    levels = check_value("levels", levels, (int, 1, 8), "hierarchy")
    n = 2**levels
    rows = []
    for level in range(levels + 1):
        size = n // 2**level
        for j in range(2**level):
            r = np.zeros(n)
            r[j * size : (j + 1) * size] = 1.0
            rows.append(r)
    return np.array(rows)


def modes(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U (features, m), s (m,), V (items, m) of Y's nonzero singular modes, strongest first."""
    U, s, Vt = np.linalg.svd(Y, full_matrices=False)
    keep = s > 1e-9 * s[0]
    return U[:, keep], s[keep], Vt[keep].T


def deficit_schedule(steps: int, onset: int | None, length: int) -> np.ndarray:
    """A boolean per step: True while pathway b is deprived (its gradient zeroed). ``onset=None``: no deficit."""
    steps = check_value("steps", steps, (int, 1, None), "deficit_schedule")
    mask = np.zeros(steps, dtype=bool)
    if onset is None:
        return mask
    check_value("onset", onset, (int, 0, steps - 1), "deficit_schedule")
    check_value("length", length, (int, 1, steps - onset), "deficit_schedule")
    mask[onset : onset + length] = True
    return mask


def mode_init(n_modes: int, k0: float = 0.01, jitter: float = 0.1, seed: int = 0) -> np.ndarray:
    """Initial mode strengths K₀ = k0 · (1 ± jitter), uniform, one per mode (shared by the pathways)."""
    check_args(
        "mode_init", {"k0": k0, "jitter": jitter}, {"k0": (float, 0.0, None, "right"), "jitter": (float, 0.0, 0.99)}
    )
    rng = np.random.default_rng(seed)
    return k0 * (1 + jitter * rng.uniform(-1, 1, n_modes))


def mode_ode(
    s: np.ndarray,
    k0: np.ndarray,
    depth: int,
    steps: int,
    lr: float,
    deficit: np.ndarray | None = None,
    pathways: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """K_a, K_b (..., steps + 1, modes) of the mode ODE integrated by Euler steps of ``lr`` (the gradient
    descent map). ``deficit``: a boolean per step (pathway b frozen), or (runs, steps) for several
    schedules at once (leading axes of the result). One pathway: K_b is all zero."""
    check_args(
        "mode_ode",
        {"depth": depth, "steps": steps, "lr": lr, "pathways": pathways},
        {"depth": (int, 1, None), "steps": (int, 1, None), "lr": (float, 0.0, None), "pathways": [1, 2]},
    )
    s = np.asarray(s, dtype=float)
    on = np.ones(steps) if deficit is None else 1.0 - np.asarray(deficit, dtype=float)
    if on.shape[-1] != steps:
        raise ParameterError(
            f"Parameter 'deficit' of mode_ode must have {steps} steps on its last axis, got {on.shape}."
        )
    lead = on.shape[:-1]
    pa = np.broadcast_to(np.asarray(k0, dtype=float) ** (1.0 / depth), lead + s.shape).copy()
    pb = pa.copy() if pathways == 2 else np.zeros_like(pa)
    Ka, Kb = np.empty(lead + (steps + 1, len(s))), np.empty(lead + (steps + 1, len(s)))
    Ka[..., 0, :], Kb[..., 0, :] = pa**depth, pb**depth
    for t in range(steps):  # Euler steps: the map itself is sequential
        r = s - pa**depth - pb**depth
        pa, pb = pa + lr * pa ** (depth - 1) * r, pb + lr * on[..., t, None] * pb ** (depth - 1) * r
        Ka[..., t + 1, :], Kb[..., t + 1, :] = pa**depth, pb**depth
    return Ka, Kb


def saxe_closed_form(s: np.ndarray, a0: float | np.ndarray, t: np.ndarray) -> np.ndarray:
    """Saxe et al.'s two-layer mode strength a(t) = s e^{2st}/(e^{2st} − 1 + s/a₀), (times, modes)."""
    s = np.asarray(s, dtype=float)[None]
    t = np.asarray(t, dtype=float)[:, None]
    e = np.exp(np.minimum(2 * s * t, 700.0))
    return s * e / (e - 1 + s / a0)


class MultipathwayNet(nn.Module):
    """One or two deep linear pathways of ``depth`` layers (hidden ``width``) whose outputs add; ``runs``
    independent copies are stacked on a first axis (several deficit schedules train in one call)."""

    def __init__(self, n_in: int, n_out: int, depth: int, width: int = 100, pathways: int = 2, runs: int = 1):
        super().__init__()
        check_args(
            "MultipathwayNet",
            {"n_in": n_in, "n_out": n_out, "depth": depth, "width": width, "pathways": pathways, "runs": runs},
            {
                "n_in": (int, 1, None),
                "n_out": (int, 1, None),
                "depth": (int, 1, None),
                "width": (int, 1, None),
                "pathways": [1, 2],
                "runs": (int, 1, None),
            },
        )
        self.depth, self.width, self.n_pathways, self.runs = depth, width, pathways, runs
        dims = [n_in] + [width] * (depth - 1) + [n_out]
        self.paths = nn.ModuleList(
            nn.ParameterList(
                [nn.Parameter(torch.zeros(runs, dims[i + 1], dims[i], dtype=torch.float64)) for i in range(depth)]
            )
            for _ in range(pathways)
        )

    def pathway_map(self, k: int) -> torch.Tensor:
        """The end-to-end matrices W_D ⋯ W_1 of pathway ``k`` (0 = a, 1 = b), (runs, n_out, n_in)."""
        W = self.paths[k][0]
        for layer in self.paths[k][1:]:
            W = layer @ W
        return W

    def forward(self, x: torch.Tensor, frozen: torch.Tensor | None = None) -> torch.Tensor:
        """x (n, n_in) -> (runs, n, n_out). ``frozen`` (runs, pathways) of 0/1: a pathway marked 1 in a run
        passes no gradient there (a deficit); its output still counts."""
        out = 0
        for k in range(self.n_pathways):
            y = x @ self.pathway_map(k).transpose(-1, -2)
            if frozen is not None:
                f = frozen[:, k, None, None]
                y = f * y.detach() + (1 - f) * y
            out = out + y
        return out

    def aligned_init(self, U: np.ndarray, V: np.ndarray, k0: np.ndarray, seed: int = 0) -> MultipathwayNet:
        """Balanced, SVD-aligned start: each pathway's map is U diag(k0) Vᵀ, every layer with gain k0^{1/D}
        and its own random orthonormal hidden frame (the same frames in every run)."""
        m = len(k0)
        if self.depth > 1 and self.width < m:
            raise ParameterError(f"Parameter 'width' of MultipathwayNet must be >= the {m} modes, got {self.width}.")
        g = torch.Generator().manual_seed(seed)
        p = torch.as_tensor(np.asarray(k0, dtype=float) ** (1.0 / self.depth))
        U, V = torch.as_tensor(U, dtype=torch.float64), torch.as_tensor(V, dtype=torch.float64)
        with torch.no_grad():
            for path in self.paths:
                frames = (
                    [V]
                    + [
                        torch.linalg.qr(torch.randn(self.width, m, generator=g, dtype=torch.float64))[0]
                        for _ in range(self.depth - 1)
                    ]
                    + [U]
                )
                for i, layer in enumerate(path):
                    layer.copy_(((frames[i + 1] * p) @ frames[i].T).expand_as(layer))
        return self

    def mode_strengths(self, U: np.ndarray, V: np.ndarray) -> torch.Tensor:
        """(runs, pathways, modes): K_k,α = u_αᵀ (W_D ⋯ W_1 of pathway k) v_α."""
        U, V = torch.as_tensor(U, dtype=torch.float64), torch.as_tensor(V, dtype=torch.float64)
        with torch.no_grad():
            return torch.stack([((U.T @ self.pathway_map(k)) * V.T).sum(-1) for k in range(self.n_pathways)], dim=1)


@dataclass
class PathwayRuns:
    """Mode strengths over training: ``K`` (runs, steps + 1, pathways, modes), the singular values ``s``,
    each run's deficit onset (None: no deficit) and schedule (runs, steps), the initial strengths ``k0``."""

    K: np.ndarray
    s: np.ndarray
    depth: int
    onsets: list
    deficit: np.ndarray
    k0: np.ndarray
    loss: np.ndarray


def train_pathways(
    depth: int,
    steps: int,
    lr: float,
    *,
    onsets=(None,),
    length: int = 150,
    pathways: int = 2,
    k0: float = 0.01,
    jitter: float = 0.1,
    width: int = 100,
    seed: int = 0,
    levels: int = 3,
    train_lr: float | None = None,
) -> PathwayRuns:
    """Train a :class:`MultipathwayNet` on the hierarchy by full-batch gradient descent from the aligned
    start, one run per deficit onset (pathway b deprived during ``[onset, onset + length)``); record every
    step's mode strengths. ``train_lr`` (default ``lr``) is the rate actually used: 0 is the untrained control."""
    check_args(
        "train_pathways",
        {"depth": depth, "steps": steps, "lr": lr, "length": length},
        {"depth": (int, 1, None), "steps": (int, 1, None), "lr": (float, 0.0, None, "right"), "length": (int, 1, None)},
    )
    onsets = list(onsets)
    if not onsets:
        raise ParameterError("Parameter 'onsets' of train_pathways must hold at least one onset (None: no deficit).")
    deficit = np.stack([deficit_schedule(steps, on, length) for on in onsets])
    Y = hierarchy(levels)
    U, s, V = modes(Y)
    X = torch.eye(Y.shape[1], dtype=torch.float64)
    Yt = torch.as_tensor(Y.T)  # (items, features): one row per input
    init = mode_init(len(s), k0, jitter, seed)
    net = MultipathwayNet(Y.shape[1], Y.shape[0], depth, width, pathways, runs=len(onsets)).aligned_init(
        U, V, init, seed
    )
    frozen = torch.zeros(steps, len(onsets), pathways, dtype=torch.float64)
    if pathways == 2:
        frozen[:, :, 1] = torch.as_tensor(deficit.T, dtype=torch.float64)
    K = torch.empty(steps + 1, len(onsets), pathways, len(s), dtype=torch.float64)
    K[0] = net.mode_strengths(U, V)
    Ut, Vt = torch.as_tensor(U), torch.as_tensor(V)

    def loss_fn(step):
        return 0.5 * ((net(X, frozen[step]) - Yt) ** 2).sum()

    def record(step, loss):
        K[step + 1] = net.mode_strengths(Ut, Vt)

    rate = lr if train_lr is None else train_lr
    history = train(
        net,
        loss_fn,
        steps,
        optimizer=torch.optim.SGD(net.parameters(), lr=rate),
        callbacks=[record],
        check_every=100,
        name=f"depth-{depth} pathways",
        progress=False,
    )
    return PathwayRuns(K.transpose(0, 1).numpy(), s, depth, onsets, deficit, init, history)
