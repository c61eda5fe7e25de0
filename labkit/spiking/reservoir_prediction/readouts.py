"""Readouts of the reservoir's traces: the three-factor rule with offline consolidation, and FORCE (RLS).

Both learners read the same recorded eligibility traces ``e(t)`` (one per neuron, plus a constant 1) and
learn two things (Yamada & Chao 2025; the rule's constants are labkit's, no official code was found):

* **"When"**: one readout ``y(t) = w . e(t)`` whose target ``T(t)`` is a bump (Gaussian, ``target_ms`` wide)
  at the stimulus onset, so it must rise *before* the stimulus arrives. Three-factor, online at every bin::

      dw_j = eta G(t) M(t) e_j(t) / |e(t)|^2,     M(t) = T(t) - y(t)   (the broadcast error, third factor)

  with the attention gate ``G(t) = g0 + (1 - g0) exp(-(t - t_hat)^2 / (2 gate_ms^2))`` open around the
  expected onset ``t_hat`` (the onset seen on the previous trial; fully open on the first trial), ``g0 = 0.1``.
  Dividing by ``|e|^2`` (one global number, broadcast like ``M``) makes ``eta`` the fraction of the error
  corrected per step (normalized LMS), independent of N and the firing rates.
* **"What"**: one readout per stimulus, consolidated offline after each trial from the stimulus-locked
  eligibility ``e_on = e(t_onset)`` (spikes before the stimulus only), weighted by which stimulus came::

      W_k += eta_what (1[k = s] - W_k . e_on) e_on / |e_on|^2

  an exponential average of "did k come at this moment", so ``W_k . e_on`` tends to ``p_k``.

FORCE (Sussillo & Abbott 2009): the same targets by recursive least squares (``lambda = 1``, ``P_0 = I/alpha``),
per bin for "when" and per trial on ``e_on`` for "what"; optionally ``P`` is reset to ``I/alpha`` at the change.
With ``lambda = 1`` P shrinks like 1/t, so late samples count less and less: RLS averages over all trials.

Readouts feed nothing back (labkit's choice): the reservoir's traces are recorded once and every learner
trains on them. What a learner predicts is read on the mean of the cue-only probe trials after each trial
(:func:`probe_outputs`), where no stimulus tells it what came or when.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_args, check_value
from labkit.spiking.reservoir_prediction.task import TaskSpec

GATE_FLOOR = 0.1   # G outside the attention window: learning slows there but does not stop


@dataclass(frozen=True)
class RuleParams:
    """Constants of the three-factor rule (labkit's): ``eta`` (when, per bin), ``eta_what`` (per trial),
    ``gate_ms`` (the attention window's width, > 0), ``target_ms`` (the when-target bump's width)."""

    eta: float = 0.2
    eta_what: float = 0.3
    gate_ms: float = 100.0
    target_ms: float = 20.0

    def __post_init__(self):
        check_args("RuleParams", vars(self), {"eta": (float, 0, 1), "eta_what": (float, 0, 1),
                                              "gate_ms": (float, 0, None, "neither"),
                                              "target_ms": (float, 0, None, "neither")})


def with_bias(x: torch.Tensor) -> torch.Tensor:
    """Append the constant input 1 to the last axis."""
    return torch.cat([x, torch.ones(*x.shape[:-1], 1, dtype=x.dtype, device=x.device)], -1)


def when_target(t_ms: np.ndarray, onset_ms, width_ms: float) -> torch.Tensor:
    """The when-readout's target, a unit bump at each onset: (len(onset), len(t_ms))."""
    d = np.asarray(t_ms)[None, :] - np.atleast_1d(onset_ms)[:, None]
    return torch.from_numpy(np.exp(-0.5 * (d / width_ms) ** 2)).float()


def gate(t_ms: np.ndarray, expected_ms, width_ms: float) -> torch.Tensor:
    """The attention gate G(t) around the expected onset (None: fully open), (len(t_ms),)."""
    check_value("gate_ms", width_ms, (float, 0, None, "neither"), "gate")
    if expected_ms is None:
        return torch.ones(len(t_ms))
    g = np.exp(-0.5 * ((np.asarray(t_ms) - expected_ms) / width_ms) ** 2)
    return torch.from_numpy(GATE_FLOOR + (1 - GATE_FLOOR) * g).float()


def three_factor_update(w: torch.Tensor, e: torch.Tensor, target, g, eta: float) -> torch.Tensor:
    """One step of the when-rule for each replicate: ``w += eta g (target - w.e) e / |e|^2``; w, e: (R, D)."""
    m = target - (w * e).sum(-1)
    return w + (eta * g * m / (e * e).sum(-1).clamp_min(1e-12))[:, None] * e


def consolidate(W: torch.Tensor, e_on: torch.Tensor, stim: torch.Tensor, eta_what: float) -> torch.Tensor:
    """The offline what-step for each replicate: ``W_k += eta_what (1[k = s] - W_k.e_on) e_on / |e_on|^2``;
    W: (R, K, D), e_on: (R, D), stim: (R,) the stimulus that came."""
    onehot = torch.nn.functional.one_hot(stim, W.shape[1]).to(W.dtype)
    m = onehot - torch.einsum("rkd,rd->rk", W, e_on)
    return W + eta_what * (m / (e_on * e_on).sum(-1, keepdim=True).clamp_min(1e-12))[:, :, None] * e_on[:, None, :]


@dataclass
class Learned:
    """A learner's weights after every trial: ``when`` (n_trials, R, D), ``what`` (n_trials, R, K, D)."""

    when: torch.Tensor
    what: torch.Tensor


def _inputs(X: torch.Tensor, spec: TaskSpec, t_ms: np.ndarray):
    R, T = X.shape[:2]
    delays = spec.delays()
    onset = spec.onset_ms(delays)
    on_bin = np.searchsorted(t_ms, onset)
    return R, T, onset, on_bin, when_target(t_ms, onset, 1.0)


def train_three_factor(X: torch.Tensor, stim: np.ndarray, spec: TaskSpec, t_ms: np.ndarray,
                       rule: RuleParams | None = None) -> Learned:
    """The three-factor learner over every trial of every replicate (``X``: (R, n_trials, n_bins, N) traces,
    ``stim`` (R, n_trials)). Trials run in order (the rule is sequential), replicates side by side."""
    rule = rule or RuleParams()
    R, T, onset, on_bin, _ = _inputs(X, spec, t_ms)
    dev = X.device
    target = when_target(t_ms, onset, rule.target_ms).tolist()
    K, D = spec.n_stimuli, X.shape[-1] + 1
    w, W = torch.zeros(R, D, device=dev), torch.zeros(R, K, D, device=dev)
    out_w, out_W = torch.empty(T, R, D, device=dev), torch.empty(T, R, K, D, device=dev)
    s = torch.as_tensor(stim, device=dev)
    for i in range(T):
        x = with_bias(X[:, i])                                      # (R, n_bins, D)
        g = gate(t_ms, onset[i - 1] if i else None, rule.gate_ms).tolist()
        for b in range(x.shape[1]):                                 # online: each bin sees the last one's w
            w = three_factor_update(w, x[:, b], target[i][b], g[b], rule.eta)
        W = consolidate(W, x[:, on_bin[i]], s[:, i], rule.eta_what)
        out_w[i], out_W[i] = w, W
    return Learned(out_w, out_W)


def rls_step(P: torch.Tensor, w: torch.Tensor, x: torch.Tensor, target: torch.Tensor):
    """One recursive-least-squares step (lambda = 1) for each replicate: P (R, D, D), updated in place, w
    (R, M, D) (M readouts sharing P), x (R, D), target (R, M). Returns (P, the new w)."""
    Px = torch.bmm(P, x.unsqueeze(2))                               # (R, D, 1); P stays symmetric
    k = Px / (1.0 + torch.bmm(x.unsqueeze(1), Px))
    err = target - torch.bmm(w, x.unsqueeze(2)).squeeze(2)          # (R, M)
    P.baddbmm_(k, Px.transpose(1, 2), alpha=-1.0)                   # in place: P -= k (P x)^T
    return P, w + err.unsqueeze(2) * k.transpose(1, 2)


def train_force(X: torch.Tensor, stim: np.ndarray, spec: TaskSpec, t_ms: np.ndarray, *, alpha: float = 1.0,
                target_ms: float = 20.0, frozen: bool = False) -> dict:
    """FORCE/RLS readouts on the same traces and targets: ``{"no_reset": Learned, "reset": Learned}``; the two
    share every step before the change, after which "reset" starts again from ``P = I/alpha``.
    ``frozen``: no step at all (the negative control)."""
    check_value("alpha", alpha, (float, 0, None, "neither"), "train_force")
    R, T, onset, on_bin, _ = _inputs(X, spec, t_ms)
    dev = X.device
    target = when_target(t_ms, onset, target_ms).to(dev)
    K, D = spec.n_stimuli, X.shape[-1] + 1
    onehot = torch.nn.functional.one_hot(torch.as_tensor(stim, device=dev), K).float()     # (R, T, K)
    eye = torch.eye(D, device=dev).repeat(R, 1, 1) / alpha
    runs = {"no_reset": [eye.clone(), torch.zeros(R, 1, D, device=dev), eye.clone(), torch.zeros(R, K, D, device=dev)]}
    out = {key: Learned(torch.empty(T, R, D, device=dev), torch.empty(T, R, K, D, device=dev))
           for key in ("no_reset", "reset")}
    for i in range(T):
        if i == spec.change_trial:
            P, w, Q, W = runs["no_reset"]
            runs["reset"] = [eye.clone(), w.clone(), eye.clone(), W.clone()]
        x = with_bias(X[:, i])
        for key, state in runs.items():
            P, w, Q, W = state
            if not frozen:
                for b in range(x.shape[1]):
                    P, w = rls_step(P, w, x[:, b], target[i, b].expand(R, 1))
                Q, W = rls_step(Q, W, x[:, on_bin[i]], onehot[:, i])
            runs[key] = [P, w, Q, W]
        for key in ("no_reset", "reset"):
            _, w, _, W = runs.get(key, runs["no_reset"])
            out[key].when[i], out[key].what[i] = w[:, 0], W
    return out


def probe_outputs(learned: Learned, probe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What each learner predicts after each trial, read on the probe traces (R, n_bins, N):
    when (n_trials, R, n_bins) and what (n_trials, R, K, n_bins)."""
    x = with_bias(probe)
    return (torch.einsum("trd,rbd->trb", learned.when, x), torch.einsum("trkd,rbd->trkb", learned.what, x))


def centered(trials: torch.Tensor, probe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The traces less each neuron's baseline, its mean trace over the probe trials (one number per neuron and
    replicate, fixed before learning): without it the rates' large common mean dominates every normalized
    step and the time-varying part, which carries the timing, is learned slowly."""
    mu = probe.mean(1, keepdim=True)                         # (R, 1, N)
    return trials - mu.unsqueeze(1), probe - mu
