"""Most discriminative stimuli: the EM-like alternation of stimulus optimisation and cluster reassignment.

* :func:`contrastive_objective` — for stimulus c, ``(1/T) r̄_c − logsumexp_c′ (1/T) r̄_c′ + log K`` (Burg et al. 2024),
  with ``r̄_c`` the mean normalised response of cluster c's members;
* :func:`optimize_stimuli` — the M-step: all K stimuli in one batch (one forward and one backward per step),
  SGD at lr 100, at most 50 steps, an EMA loss stopper, each stimulus projected back to a fixed L2 norm;
* :func:`e_step` — each neuron to the cluster whose stimulus drives it most; empty clusters dropped;
* :func:`mds_cluster` — alternate until no neuron moves (at most 10 iterations), keeping every step.

``response_fn(stimuli (K, T, H, W)) -> (K, N)`` is any differentiable model of the neurons' (normalised)
responses: the twin's :meth:`~labkit.neuro.discriminative_stimuli.twin.DigitalTwin.normalized`, or the true LN
cells themselves in the tests.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.params import check_value

TEMPERATURE, LR, MAX_STEPS, MAX_ITER = 1.6, 100.0, 50, 10     # the official code's constants


def check_responses(responses, name: str = "responses") -> torch.Tensor:
    r = torch.as_tensor(responses)
    if r.ndim != 2:
        raise ValueError(f"{name} must be a (stimuli, neurons) matrix, got shape {tuple(r.shape)}.")
    if not torch.isfinite(r).all():
        raise ValueError(f"{name} hold NaN or infinite values.")
    return r


def check_assignment(assignment, n_neurons: int) -> torch.Tensor:
    a = torch.as_tensor(np.asarray(assignment), dtype=torch.long)
    if a.ndim != 1 or len(a) != n_neurons:
        raise ValueError(f"assignment must give one cluster per neuron ({n_neurons}), got shape {tuple(a.shape)}.")
    if len(a) and int(a.min()) < 0:
        raise ValueError("assignment: cluster labels must be non-negative integers.")
    return a


def check_k(k: int, n_neurons: int, name: str = "k") -> int:
    check_value(name, k, (int, 2, None))
    if k > n_neurons:
        raise ValueError(f"{name} = {k} asks for more clusters than there are neurons ({n_neurons}).")
    return k


def cluster_means(responses: torch.Tensor, assignment: torch.Tensor, k: int) -> torch.Tensor:
    """(S, N) responses → (S, K) mean response of each cluster's members (one matrix product)."""
    onehot = torch.nn.functional.one_hot(assignment, k).to(responses.dtype)       # (N, K)
    return responses @ (onehot / onehot.sum(0).clamp_min(1))


def contrastive_objective(cluster_responses, temperature: float = TEMPERATURE) -> torch.Tensor:
    """Objective of each stimulus c for its own cluster c, from the (K stimuli × K clusters) mean responses:
    ``r̄_cc/T − logsumexp_c′ r̄_cc′/T + log K``. Its maximum is log K (cluster c alone responds), 0 when all
    clusters respond alike."""
    check_value("temperature", temperature, (float, 0.0, None, "right"))
    r = check_responses(cluster_responses, "cluster_responses")
    if r.shape[0] != r.shape[1]:
        raise ValueError(f"cluster_responses must be square (stimulus c for cluster c), got {tuple(r.shape)}.")
    z = r / temperature
    return z.diagonal() - torch.logsumexp(z, dim=1) + math.log(r.shape[0])


def project(stimuli: torch.Tensor, norm: float) -> torch.Tensor:
    """Each stimulus scaled to L2 norm ``norm``."""
    flat = stimuli.reshape(len(stimuli), -1)
    return (flat * (norm / flat.norm(dim=1, keepdim=True).clamp_min(1e-12))).reshape(stimuli.shape)


@dataclass
class MStep:
    stimuli: torch.Tensor          # (K, T, H, W)
    objective: np.ndarray          # (steps, K): each cluster's objective at each step
    steps: int


def optimize_stimuli(response_fn: Callable, assignment, k: int, shape: tuple[int, ...], norm: float, *,
                     temperature: float = TEMPERATURE, lr: float = LR, max_steps: int = MAX_STEPS,
                     init: torch.Tensor | None = None, seed: int = 0, ema: float = 0.9, tol: float = 1e-3,
                     device="cpu") -> MStep:
    """The M-step: maximise every cluster's contrastive objective at once. One stimulus per cluster, all K in one
    batch; plain SGD, each stimulus projected to L2 norm ``norm`` after every step. Stops after ``max_steps`` or
    when the exponential moving average (decay ``ema``) of the loss improves by less than ``tol`` (relative)."""
    check_value("temperature", temperature, (float, 0.0, None, "right"))
    check_value("norm", norm, (float, 0.0, None, "right"))
    check_value("max_steps", max_steps, (int, 1, None))
    if init is None:
        gen = torch.Generator().manual_seed(seed)
        init = torch.randn(k, *shape, generator=gen)
    x = project(init.detach().to(device, torch.float32).clone(), norm).requires_grad_(True)
    a = torch.as_tensor(assignment, dtype=torch.long, device=device)
    opt = torch.optim.SGD([x], lr=lr)
    history, smooth = [], None
    done = 0
    for _ in range(max_steps):
        done += 1
        obj = contrastive_objective(cluster_means(response_fn(x), a, k), temperature)
        loss = -obj.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.copy_(project(x, norm))
        history.append(obj.detach().cpu().numpy())
        value = float(loss.detach())
        if smooth is not None and abs(smooth - (ema * smooth + (1 - ema) * value)) < tol * max(abs(smooth), 1e-6):
            break
        smooth = value if smooth is None else ema * smooth + (1 - ema) * value
    with torch.no_grad():
        final = contrastive_objective(cluster_means(response_fn(x), a, k), temperature).cpu().numpy()
    history.append(final)
    return MStep(x.detach(), np.stack(history), done)


def relabel(assignment: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..K'−1 in order of first use by cluster index (empty clusters dropped)."""
    _, inverse = np.unique(np.asarray(assignment), return_inverse=True)
    return inverse


def e_step(responses) -> np.ndarray:
    """Each neuron to the stimulus (cluster) that drives it most: ``argmax_c r_n(x_c)`` over the (K, N) responses."""
    r = check_responses(responses)
    return r.argmax(0).cpu().numpy()


@dataclass
class MDSResult:
    """Every iteration of :func:`mds_cluster`: assignments (before each M-step, and the final one), stimuli,
    the objective traces of each M-step and the neurons' responses to each iteration's stimuli."""
    assignments: list[np.ndarray] = field(default_factory=list)
    stimuli: list[torch.Tensor] = field(default_factory=list)
    objectives: list[np.ndarray] = field(default_factory=list)
    responses: list[np.ndarray] = field(default_factory=list)
    converged: bool = False

    @property
    def assignment(self) -> np.ndarray:
        return self.assignments[-1]

    @property
    def n_clusters(self) -> int:
        return int(len(np.unique(self.assignment)))

    @property
    def final_stimuli(self) -> torch.Tensor:
        """The stimuli of the surviving clusters, in the final labels' order."""
        last, keep = self.stimuli[-1], np.unique(self.assignment_raw)
        return last[torch.as_tensor(keep)]

    assignment_raw: np.ndarray | None = None


def initial_assignment(n_neurons: int, k: int, seed: int) -> np.ndarray:
    """A random balanced start: each neuron to one of K clusters, every cluster used."""
    check_k(k, n_neurons)
    rng = np.random.default_rng([seed, 7])
    return rng.permutation(np.arange(n_neurons) % k)


def mds_cluster(response_fn: Callable, n_neurons: int, shape: tuple[int, ...], k: int, norm: float, *,
                init=None, temperature: float = TEMPERATURE, lr: float = LR, max_steps: int = MAX_STEPS,
                max_iter: int = MAX_ITER, seed: int = 0, warm_start: bool = True, device="cpu") -> MDSResult:
    """Alternate M- and E-steps from ``k`` clusters (``init``: a starting assignment, else a random balanced one)
    until no neuron changes cluster, one cluster is left, or ``max_iter`` iterations."""
    check_value("max_iter", max_iter, (int, 1, None))
    check_value("temperature", temperature, (float, 0.0, None, "right"))
    assign = initial_assignment(n_neurons, k, seed) if init is None else \
        relabel(check_assignment(init, n_neurons).numpy())
    check_k(int(assign.max()) + 1, n_neurons, "k")
    out = MDSResult()
    stimuli = None
    for it in range(max_iter):
        k_now = int(assign.max()) + 1
        out.assignments.append(assign)
        m = optimize_stimuli(response_fn, assign, k_now, shape, norm, temperature=temperature, lr=lr,
                             max_steps=max_steps, init=stimuli if warm_start else None, seed=seed + it, device=device)
        with torch.no_grad():
            resp = response_fn(m.stimuli.to(device)).cpu()
        raw = e_step(resp)
        out.stimuli.append(m.stimuli.cpu())
        out.objectives.append(m.objective)
        out.responses.append(resp.numpy())
        new = relabel(raw)
        out.assignment_raw = raw
        stimuli = m.stimuli[torch.as_tensor(np.unique(raw))]          # the survivors warm-start the next M-step
        if np.array_equal(new, assign) or new.max() == 0:
            out.converged = True
            break
        assign = new
    out.assignments.append(new)
    return out
