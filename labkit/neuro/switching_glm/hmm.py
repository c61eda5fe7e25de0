"""Hidden Markov chain inference for the room's models: forward–backward, Viterbi, and the Poisson HMM.

The E-step of every model here is the forward–backward recursion of an HMM (Rabiner 1989),

    alpha_t(j) ∝ [sum_i alpha_{t-1}(i) A_ij] e_t(j),        beta_t(i) ∝ sum_j A_ij e_{t+1}(j) beta_{t+1}(j),

with ``e_t(j) = p(x_t | z_t = j)``. :mod:`.reference` writes it out as the textbook log-space recursion,
one bin at a time: read that first. :func:`forward_backward` computes exactly the same posteriors and
log-likelihoods (to rounding; the tests hold it to the reference) with the chunked, rescaled engine of
:mod:`._chunked`, batched over trials, on NumPy on the CPU and on torch tensors on a GPU.

:func:`viterbi` uses a parallel scan in the (max, +) semiring for ``delta_t``, then follows the back
pointers with a second scan that composes them (pointer jumping) — exact, with no loop over time.

:class:`PoissonHMM` is the plain Poisson HMM fitted by EM on top of these pieces: the part of the
switching GLM that peer libraries share, and the workload of ``benchmarks/bench_switching_glm.py``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.estimator import Estimator
from labkit.core.params import ParameterError, nullable
from labkit.core.threads import threads
from labkit.neuro.switching_glm._chunked import (
    _as_tensor,
    _as_work,
    _compose,
    _empty,
    _max_plus,
    _ones,
    chunk_length,
    forward_backward_chunks,
    from_chunks,
    prefix_scan,
    scan_dtype,
    to_chunks,
)
from labkit.neuro.switching_glm.checks import check_counts, work_size

__all__ = ["forward_backward", "viterbi", "log_likelihood", "update_transitions", "PoissonHMM", "Posterior"]

Tensor = torch.Tensor


@dataclass
class Posterior:
    """What the E-step returns for a batch of trials.

    ``gamma[b, t, k] = p(z_t = k | x)``, ``xi_sum[i, j] = sum_{b, t} p(z_{t-1} = i, z_t = j | x)``,
    ``log_likelihood[b] = log p(x_b)``.
    """

    gamma: Tensor
    xi_sum: Tensor
    log_likelihood: Tensor


def _check_log_emissions(log_e: Tensor) -> Tensor:
    if log_e.dim() == 2:
        log_e = log_e.unsqueeze(0)
    if log_e.dim() != 3:
        raise ValueError(f"log_emissions must have shape (trials, time, states), got {tuple(log_e.shape)}.")
    return log_e


def _check_transitions(log_transitions, n_states: int):
    """log A as a tensor, or a one-sentence ValueError: shape (K, K), rows of A summing to 1 (the padding
    bins at the end of each trial multiply by A, which leaves a message's sum unchanged only then)."""
    la = torch.as_tensor(log_transitions)
    if la.shape != (n_states, n_states):
        raise ValueError(f"log_transitions must have shape ({n_states}, {n_states}), got {tuple(la.shape)}.")
    rows = torch.exp(la).sum(-1)
    if not bool(((rows - 1.0).abs() <= 1e-5).all()):
        raise ValueError("log_transitions must be the log of a row-stochastic matrix (every row of "
                         f"exp(log_transitions) summing to 1), got row sums {rows.tolist()}.")
    return la


def forward_backward(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Posterior:
    """Posterior state probabilities, summed pair posteriors and log-likelihood of each trial.

    ``log_emissions``: (trials, time, states) ``log p(x_t | z_t)``; ``log_pi``: (states,) or
    (trials, states); ``log_transitions``: (states, states), rows the "from" state. Batched over trials;
    runs on the device of its inputs (NumPy underneath on the CPU). Returns float64 tensors.
    """
    log_e = _check_log_emissions(log_emissions)
    B, T, K = log_e.shape
    le = to_chunks(_as_work(log_e), chunk_length(T), states_first=True)
    pi, la = _as_work(torch.as_tensor(log_pi)), _as_work(_check_transitions(log_transitions, K))
    gamma, xi, ll = forward_backward_chunks(le, pi, la, T)
    return Posterior(_as_tensor(from_chunks(gamma, T, states_first=True), log_e), _as_tensor(xi, log_e),
                     _as_tensor(ll, log_e))


def log_likelihood(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Tensor:
    """``log p(x_b)`` for each trial (forward pass only), float64."""
    log_e = _check_log_emissions(log_emissions)
    B, T, K = log_e.shape
    le = to_chunks(_as_work(log_e), chunk_length(T), states_first=True)
    ll = forward_backward_chunks(le, _as_work(torch.as_tensor(log_pi)),
                                 _as_work(_check_transitions(log_transitions, K)), T, backward=False)
    return _as_tensor(ll, log_e)


def viterbi(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Tensor:
    """The most probable state sequence of each trial, (trials, time) int64 (Viterbi 1967)."""
    log_e = _check_log_emissions(log_emissions)
    log_e = log_e.to(scan_dtype(log_e.device))
    B, T, K = log_e.shape
    log_a = log_transitions.to(log_e.dtype)
    m = log_a + log_e.unsqueeze(-2)                                     # log M_t[i, j]
    m[:, 0] = (log_pi.to(log_e.dtype) + log_e[:, 0]).unsqueeze(-2).expand(B, K, K)
    delta = prefix_scan(m, _max_plus)[:, :, 0, :]                       # delta_t up to a shift per t
    last = delta[:, -1].argmax(-1)                                      # (B,)
    if T == 1:
        return last.unsqueeze(1)
    # back pointers psi_t(j) = argmax_i delta_{t-1}(i) + log A_ij, t = 1..T-1
    psi = (delta[:, :-1].unsqueeze(-1) + log_a).argmax(dim=-2)          # (B, T-1, K)
    # z_t = psi_{t+1}(psi_{t+2}(... psi_{T-1}(z_{T-1}))): suffix compositions, by a scan on the reversal
    comp = prefix_scan(psi.flip(1), _compose).flip(1)                   # comp[:, t] = psi_{t+1} o ... o psi_{T-1}
    path = torch.gather(comp, -1, last.view(B, 1, 1).expand(B, T - 1, 1)).squeeze(-1)
    return torch.cat([path, last.unsqueeze(1)], dim=1)


def update_transitions(xi_sum, min_prob: float = math.exp(-8)):
    """Closed-form M-step for the transition matrix, ``A_ij ∝ sum_t xi_t(i, j)``, with each entry floored at
    ``min_prob`` before renormalising (the official HMM-GLM code clamps log A at -8 the same way), so a
    state never becomes unreachable and the recursion's rescaling stays safe. Returns log A (a tensor for a
    tensor, an array for an array)."""
    if isinstance(xi_sum, np.ndarray):
        rows = xi_sum / np.maximum(xi_sum.sum(-1, keepdims=True), 1e-300)
        rows = np.maximum(rows, min_prob)
        return np.log(rows / rows.sum(-1, keepdims=True))
    rows = xi_sum / xi_sum.sum(-1, keepdim=True).clamp_min(1e-300)
    rows = rows.clamp_min(min_prob)
    return torch.log(rows / rows.sum(-1, keepdim=True))


class PoissonHMM(Estimator):
    """A hidden Markov model with independent Poisson counts per neuron, fitted by EM.

    E-step: :func:`forward_backward`. M-step in closed form: ``lambda_kn = sum_t gamma_tk x_tn /
    sum_t gamma_tk``, ``pi = mean_b gamma_b0``, transitions from :func:`update_transitions`.
    Parameters are kept in float64; everything runs on ``device`` (``"auto"``: CUDA, then MPS, then the CPU).

    After ``fit``: ``rates_`` (states, neurons), ``log_transitions_``, ``log_start_``, ``history_`` (the
    log-likelihood at each EM iteration) and ``em_seconds_``.
    """

    _rules = {"n_states": (int, 1, None), "n_iter": (int, 1, None), "tol": nullable(float),
              "min_transition": (float, 0, 1, "left"), "device": "device", "seed": "seed"}

    def __init__(self, n_states: int = 3, *, n_iter: int = 20, tol: float | None = None,
                 min_transition: float = 1e-10, device: str | torch.device = "cpu", seed: int = 0):
        self.n_states = n_states
        self.n_iter = n_iter
        self.tol = tol
        self.min_transition = min_transition
        self.device = device
        self.seed = seed

    def _setup(self) -> dict:
        """Check the hyperparameters and resolve the device (before anything is learned)."""
        v = self._validate()
        if v["min_transition"] >= 1.0 / v["n_states"]:
            raise ParameterError(f"Parameter 'min_transition' of PoissonHMM must be below 1/n_states = "
                                 f"{1.0 / v['n_states']:.3g}, got {self.min_transition!r}.")
        self.device_ = resolve_device(self.device)
        return v

    def _log_emissions(self, x: Tensor) -> Tensor:
        """``log p(x_t | z_t = k)`` up to ``-sum_n log x_tn!``, a per-bin constant that cancels in every
        posterior; :meth:`_constant` adds it back to log-likelihoods."""
        lam = self.rates_
        return x @ torch.log(lam).T - lam.sum(-1)

    @staticmethod
    def _constant(x: Tensor) -> Tensor:
        return torch.lgamma(x + 1).sum((1, 2))

    def init_params(self, spikes, rates=None, transitions=None, start=None) -> PoissonHMM:
        """Set the starting point: given arrays, or rates at the data mean times Gamma(5, 1/5) noise."""
        v = self._setup()
        x = check_counts(spikes).to(self.device_, torch.float64)
        K, N = v["n_states"], x.shape[-1]
        if rates is None:
            g = torch.Generator().manual_seed(v["seed"])
            noise = torch._standard_gamma(torch.full((K, N), 5.0, dtype=torch.float64), generator=g) / 5.0
            rates = x.mean((0, 1)).cpu() * noise + 1e-3
        if transitions is None:
            off = 0.05 / max(K - 1, 1)                                     # a sticky chain: 0.95 on the diagonal
            eye = torch.eye(K, dtype=torch.float64)
            transitions = (torch.full((K, K), off, dtype=torch.float64) + (0.95 - off) * eye
                           if K > 1 else torch.ones(1, 1, dtype=torch.float64))
        if start is None:
            start = torch.full((K,), 1.0 / K, dtype=torch.float64)
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64).to(self.device_)  # noqa: E731
        rates, a, p = as_t(rates), as_t(transitions), as_t(start)
        if rates.shape != (K, N) or not bool((rates > 0).all()):
            raise ValueError(f"rates must be a positive array of shape ({K}, {N}), got shape {tuple(rates.shape)}.")
        if a.shape != (K, K) or not bool((a >= 0).all()) or ((a.sum(-1) - 1.0).abs() > 1e-6).any():
            raise ValueError(f"transitions must be a ({K}, {K}) non-negative matrix whose rows sum to 1, got "
                             f"shape {tuple(a.shape)} with row sums {a.sum(-1).tolist() if a.dim() == 2 else '-'}.")
        if p.shape != (K,) or not bool((p >= 0).all()) or abs(float(p.sum()) - 1.0) > 1e-6:
            raise ValueError(f"start must be {K} non-negative probabilities summing to 1, got shape {tuple(p.shape)}.")
        self.rates_, self.log_transitions_, self.log_start_ = rates, torch.log(a), torch.log(p)
        return self

    def fit(self, spikes, *, init: bool = True) -> PoissonHMM:
        """EM for ``n_iter`` iterations (or, with ``tol`` set, until the log-likelihood gains less than ``tol``).

        The counts are laid out once in the chunks of the E-step (:func:`to_chunks`), so an iteration is two
        matrix products for the emissions and the rates, and one forward–backward, with no copies."""
        v = self._setup()
        with threads(device=self.device_, size=work_size(spikes, v["n_states"]), blas=True):
            return self._fit(spikes, init, v)

    def _fit(self, spikes, init, v):
        x = check_counts(spikes).to(self.device_, scan_dtype(self.device_))
        B, T, N = x.shape
        if v["n_states"] > B * T:
            raise ValueError(f"n_states ({v['n_states']}) must not exceed the number of time bins ({B * T}).")
        if init or not hasattr(self, "rates_"):
            self.init_params(x)
        K = v["n_states"]
        L = chunk_length(T)
        xc = to_chunks(_as_work(x), L)                                     # (L, B, C, N), padding 0
        C = xc.shape[2]
        pad = T - (C - 1) * L
        # the two (K x N) by (N x T) products run in float32 (counts are exact there; their relative error,
        # ~1e-7, is far below the statistical one) and everything else in float64; the counts are kept in
        # both orientations, so that each product reads its operand contiguously
        flat = xc.reshape(-1, N)
        is_np = isinstance(flat, np.ndarray)
        f32 = (lambda a: a.astype(np.float32)) if is_np else (lambda a: a.float())
        flat32 = f32(flat)                                                 # (L B C, N)
        flat32_t = np.ascontiguousarray(flat32.T) if is_np else flat32.T.contiguous()
        rates, log_pi, log_a = (_as_work(self.rates_), _as_work(self.log_start_), _as_work(self.log_transitions_))
        log, maximum = (np.log, np.maximum) if is_np else (torch.log, torch.clamp_min)
        log_e = _empty((K, flat.shape[0]), flat)                          # state-major, (K, L, B, C)
        chunked = log_e.reshape(K, L, B, C)
        const = float(self._constant(x).sum())
        self.history_ = []
        started = time.perf_counter()
        for it in range(v["n_iter"]):
            projected = f32(log(rates)) @ flat32_t                         # sum_n x_tn log lambda_kn
            if is_np:
                np.subtract(projected, rates.sum(-1)[:, None], out=log_e)
            else:
                log_e.copy_(projected.to(log_e.dtype) - rates.sum(-1)[:, None])
            if pad < L:
                chunked[:, pad:, :, C - 1] = 0.0                           # padding bins carry no evidence
            gamma, xi, ll = forward_backward_chunks(chunked, log_pi, log_a, T)
            total = float(ll.sum()) - const
            if not math.isfinite(total):
                raise FloatingPointError(f"PoissonHMM.fit diverged at EM iteration {it}: the log-likelihood is "
                                         f"{total}.")
            self.history_.append(total)
            g = gamma.reshape(K, -1)
            occupancy = g @ _ones(g.shape[1], g)
            weighted = f32(g) @ flat32
            rates = maximum((weighted.astype(np.float64) if is_np else weighted.to(g.dtype))
                            / maximum(occupancy, 1e-12)[:, None], 1e-10)
            start = gamma[:, 0, :, 0].mean(-1)
            log_pi = log(maximum(start, 1e-300))
            log_a = update_transitions(xi, v["min_transition"])
            if v["tol"] is not None and len(self.history_) > 1 and self.history_[-1] - self.history_[-2] < v["tol"]:
                break
        self.em_seconds_ = time.perf_counter() - started                   # the EM iterations alone (benchmarks)
        self.rates_, self.log_start_, self.log_transitions_ = (_as_tensor(rates, x), _as_tensor(log_pi, x),
                                                               _as_tensor(log_a, x))
        return self

    def score(self, spikes) -> float:
        """Total log-likelihood ``sum_b log p(x_b)``."""
        self._check_fitted("rates_")
        x = check_counts(spikes).to(self.device_, torch.float64)
        ll = log_likelihood(self._log_emissions(x), self.log_start_, self.log_transitions_) - self._constant(x)
        return float(ll.sum())

    def predict(self, spikes) -> np.ndarray:
        """Viterbi state sequence, (trials, time)."""
        self._check_fitted("rates_")
        x = check_counts(spikes).to(self.device_, torch.float64)
        return viterbi(self._log_emissions(x), self.log_start_, self.log_transitions_).cpu().numpy()
