"""Reverse-engineering a trained noise-driven RNN: its fixed points, the noise-free collapse, the
readout's clusters and switches, and the "kick neurons" that start the switches.

* :func:`fixed_points` — batched minimisation of q(h) = ½‖ReLU(W_hh h) − h‖² from many starts (damped
  Gauss–Newton: one batched least-squares solve per iteration, with a backtracking line search), and the
  eigenvalues of the map's Jacobian D W_hh (D: the units active at the point) there.
* :func:`collapse` — runs without noise from given states: a bias-free net with no input can only fall
  to the origin or grow.
* :func:`cluster_runs` — long noisy runs (many conditions sharing one noise draw, each with its own gain
  vector over units), reduced on the fly to the readout's argmax symbol per step.
* :func:`switch_rates` — per symbol k, the rate of leaving k: #(c_t = k, c_{t+1} ≠ k) / #(c_t = k).
* :func:`kick_screen` — silences every unit alone (one batched run) and ranks units by how much each
  direction's switch rate drops; :func:`silencing_test` then silences each direction's top group and random
  groups of non-kick units on fresh noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value


@dataclass
class FixedPoints:
    points: torch.Tensor  # (N, H) where each start ended
    q: torch.Tensor  # (N,) ½‖ReLU(W h) − h‖² there
    eigenvalues: torch.Tensor  # (N, H) complex eigenvalues of D W at each point (D = diag(W h > 0))
    iterations: int


def _q(W: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return 0.5 * (torch.relu(h @ W.T) - h).pow(2).sum(-1)


def fixed_points(W_hh, starts, max_iter: int = 200, tol: float = 1e-12) -> FixedPoints:
    """Minimise q(h) = ½‖ReLU(W_hh h) − h‖² from every row of ``starts`` (N, H) at once, in float64.

    Each iteration solves the Gauss–Newton system (D W − I) Δ = −r for all starts in one batched
    least-squares call and takes the largest step 2^{-k} (k = 0..12) that lowers q; a start stops when
    q ≤ ``tol`` or no step lowers it (a slow point: a local minimum of q above zero).
    """
    W = torch.as_tensor(W_hh).detach().double()
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
        raise ParameterError(f"Parameter 'W_hh' of fixed_points must be a square matrix, got {tuple(W.shape)}.")
    h = torch.as_tensor(starts).detach().double().to(W.device).clone()
    if h.ndim != 2 or h.shape[1] != W.shape[0] or h.shape[0] < 1:
        raise ParameterError(f"Parameter 'starts' of fixed_points must be (N, {W.shape[0]}), got {tuple(h.shape)}.")
    max_iter = check_value("max_iter", max_iter, (int, 1, None), "fixed_points")
    H = W.shape[0]
    eye = torch.eye(H, dtype=W.dtype, device=W.device)
    alphas = 2.0 ** -torch.arange(13, dtype=W.dtype, device=W.device)
    active = torch.ones(h.shape[0], dtype=torch.bool, device=W.device)
    q = _q(W, h)
    it = 0
    while it < max_iter:
        active &= q > tol
        if not bool(active.any()):
            break
        it += 1
        ha = h[active]
        pre = ha @ W.T
        r = torch.relu(pre) - ha
        J = (pre > 0).to(W.dtype)[:, :, None] * W[None] - eye  # (n, H, H)
        step = -torch.linalg.lstsq(J, r[..., None]).solution[..., 0]
        trial = ha[None] + alphas[:, None, None] * step[None]  # (A, n, H)
        qt = _q(W, trial)
        better = qt < q[active][None]
        ok = better.any(0)
        best = better.to(torch.int8).argmax(0)  # the largest step that lowers q
        new = trial[best, torch.arange(ha.shape[0])]
        idx = active.nonzero()[:, 0]
        h[idx[ok]] = new[ok]
        q[idx[ok]] = qt[best, torch.arange(ha.shape[0])][ok]
        active[idx[~ok]] = False
    D = (h @ W.T > 0).to(W.dtype)
    eig = torch.linalg.eigvals(D[:, :, None] * W[None])
    return FixedPoints(h.cpu(), q.cpu(), eig.cpu(), it)


def collapse(model, states, steps: int = 300) -> torch.Tensor:
    """The norms (N,) of the states reached after ``steps`` noise-free steps from ``states`` (N, H)."""
    h = torch.as_tensor(states).to(model.W_hh.device, model.W_hh.dtype)
    with torch.no_grad():
        xi = torch.zeros(h.shape[0], steps, model.n_noise, device=h.device, dtype=h.dtype)
        return model.hidden(xi, h)[:, -1].norm(dim=-1).cpu()


def cluster_runs(model, gains: torch.Tensor, n_seq: int, length: int, generator: torch.Generator,
                 burn_in: int = 20, noise_scale: float = 1.0) -> torch.Tensor:
    """The readout's argmax symbol (C, n_seq, length) for C conditions that share one noise draw;
    condition c multiplies unit activities by ``gains[c]`` (H,) at every step. Starts from h = 0 and drops
    the first ``burn_in`` steps. Keeps no hidden states (memory: one step of C × n_seq states)."""
    gains = torch.as_tensor(gains, dtype=model.W_hh.dtype, device=model.W_hh.device)
    C = gains.shape[0]
    T = burn_in + length
    xi = torch.randn(n_seq, T, model.n_noise, generator=generator) * noise_scale
    with torch.no_grad():
        drive = (xi.to(gains.device) @ model.W_in.T).repeat(C, 1, 1)  # (C * n_seq, T, H)
        g = gains.repeat_interleave(n_seq, 0)
        h = drive.new_zeros(C * n_seq, model.n_hidden)
        out = torch.empty(C * n_seq, length, dtype=torch.long, device=gains.device)
        W, Wo = model.W_hh.T, model.W_out.T
        for t in range(T):  # the recurrence forces a loop over time
            h = torch.relu(drive[:, t] + h @ W) * g
            if t >= burn_in:
                out[:, t - burn_in] = (h @ Wo).argmax(-1)
    return out.reshape(C, n_seq, length).cpu()


def switch_rates(clusters: torch.Tensor, symbols) -> np.ndarray:
    """Per condition and per symbol k in ``symbols``: #(c_t = k, c_{t+1} ≠ k) / #(c_t = k) (NaN if never k)."""
    c = torch.as_tensor(clusters)
    prev, nxt = c[..., :-1], c[..., 1:]
    out = []
    for k in symbols:
        at = prev == k
        leave = (at & (nxt != k)).flatten(1).sum(1).double()
        n = at.flatten(1).sum(1).double()
        out.append(torch.where(n > 0, leave / n.clamp_min(1), torch.full_like(n, float("nan"))))
    return torch.stack(out, 1).numpy()


@dataclass
class KickScreen:
    symbols: list  # the cluster symbols (the HMM's frequent ones)
    intact: np.ndarray  # (K,) switch rates out of each cluster
    silenced: np.ndarray  # (H, K) with each unit silenced alone
    drop: np.ndarray  # (H, K) intact − silenced
    ranking: np.ndarray  # (K, H) units by decreasing drop, per direction
    groups: list  # per direction, its kick group (the top ``group_size`` units)


def kick_screen(model, symbols, group_size: int = 3, n_seq: int = 64, length: int = 300,
                generator: torch.Generator | int = 0, noise_scale: float = 1.0, burn_in: int = 20) -> KickScreen:
    """Silence each unit alone (H + 1 conditions in one run, shared noise); rank units per direction by the
    drop of the switch rate out of that cluster; each direction's kick group is its top ``group_size``."""
    H = model.n_hidden
    group_size = check_value("group_size", group_size, (int, 1, H), "kick_screen")
    gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
    gains = torch.ones(H + 1, H)
    gains[torch.arange(1, H + 1), torch.arange(H)] = 0.0
    runs = cluster_runs(model, gains, n_seq, length, gen, burn_in=burn_in, noise_scale=noise_scale)
    rates = switch_rates(runs, symbols)
    intact, silenced = rates[0], rates[1:]
    drop = np.nan_to_num(intact[None] - silenced, nan=0.0)
    ranking = np.argsort(-drop, axis=0, kind="stable").T
    return KickScreen(list(symbols), intact, silenced, drop, ranking, [r[:group_size].tolist() for r in ranking])


@dataclass
class SilencingTest:
    intact: np.ndarray  # (K,)
    kick_ratio: np.ndarray  # (K,) rate out of cluster k with k's kick group silenced / intact
    random_ratio: np.ndarray  # (R, K) the same for random groups of non-kick units
    random_groups: list


def silencing_test(model, screen: KickScreen, n_random: int = 20, n_seq: int = 64, length: int = 300,
                   generator: torch.Generator | int = 1, noise_scale: float = 1.0, burn_in: int = 20) -> SilencingTest:
    """On fresh noise: each direction's kick group silenced, and ``n_random`` random groups of the same size
    drawn from the units in no kick group; switch rates over the intact rate. A cluster never visited under
    a kick group counts as ratio 1 (no evidence of an effect); under a random group as 0."""
    H, size = model.n_hidden, len(screen.groups[0])
    gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
    kick = sorted({u for g in screen.groups for u in g})
    others = np.setdiff1d(np.arange(H), kick)
    if len(others) < size:
        raise ParameterError(f"Parameter 'group_size' leaves {len(others)} non-kick units, fewer than a group.")
    pick = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    rand = [others[torch.randperm(len(others), generator=pick)[:size].numpy()].tolist() for _ in range(n_random)]
    K = len(screen.symbols)
    gains = torch.ones(1 + K + n_random, H)
    for i, grp in enumerate(screen.groups + rand):
        gains[1 + i, grp] = 0.0
    runs = cluster_runs(model, gains, n_seq, length, gen, burn_in=burn_in, noise_scale=noise_scale)
    rates = switch_rates(runs, screen.symbols)
    intact = rates[0]
    kick_ratio = np.array([rates[1 + k, k] / intact[k] for k in range(K)])
    kick_ratio = np.nan_to_num(kick_ratio, nan=1.0)
    random_ratio = np.nan_to_num(rates[1 + K:] / intact[None], nan=0.0)
    return SilencingTest(intact, kick_ratio, random_ratio, rand)
