"""Hidden Markov chain inference with parallel prefix scans over time, batched over trials.

The E-step of every model here is the forward–backward recursion of an HMM (Rabiner 1989),

    alpha_t(j) = [sum_i alpha_{t-1}(i) A_ij] e_t(j),        beta_t(i) = sum_j A_ij e_{t+1}(j) beta_{t+1}(j),

with ``e_t(j) = p(x_t | z_t = j)``. Written with the matrices ``M_t = A diag(e_t)`` it is a product,
``alpha_t = alpha_0 M_1 ... M_t`` and ``beta_t = M_{t+1} ... M_T 1``, and products of matrices are
associative, so all prefixes come out of a parallel scan in O(log T) batched steps instead of T
sequential ones (temporal parallelisation of HMM inference: Hassan, Särkkä & García-Fernández 2021,
IEEE Trans. Signal Process. 69). Each partial product is rescaled by its largest entry, in float64, so nothing underflows;
the scales cancel in the posteriors, and the log-likelihood comes back exactly from the filtered
predictions, ``log p(x) = sum_t log sum_j (alpha_hat_{t-1} A)_j e_t(j)``.

Viterbi decoding uses the same scan in the (max, +) semiring for ``delta_t``, then follows the back
pointers with a second scan that composes them (pointer jumping) — exact, with no loop over time.

:class:`PoissonHMM` is the plain Poisson HMM fitted by EM on top of these pieces: the part of the
switching GLM that peer libraries share, and the workload of ``benchmarks/bench_switching_glm.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = ["prefix_scan", "forward_backward", "viterbi", "log_likelihood", "update_transitions",
           "PoissonHMM", "Posterior"]

Tensor = torch.Tensor


# --------------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------------

def prefix_scan(m: Tensor, combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Inclusive prefix ``out[:, t] = m[:, 0] * m[:, 1] * ... * m[:, t]`` along dim 1 for an associative ``*``.

    Odd–even recursion (Blelloch 1990): combine neighbouring pairs, scan the half-length sequence,
    then fill in the even positions — O(T) work in 2 log2(T) batched steps.
    """
    T = m.shape[1]
    if T == 1:
        return m
    n = T // 2
    pairs = combine(m[:, 0:2 * n:2], m[:, 1:2 * n:2])
    pp = prefix_scan(pairs, combine)
    out = torch.empty_like(m)
    out[:, 0] = m[:, 0]
    out[:, 1::2] = pp
    if T > 2:
        out[:, 2::2] = combine(pp[:, :(T - 1) // 2], m[:, 2::2])
    return out


def _sum_product(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product rescaled to a largest entry of 1 (the scale never matters downstream)."""
    c = a @ b
    return c / c.amax(dim=(-2, -1), keepdim=True)


def _max_plus(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product in the (max, +) semiring, shifted to a largest entry of 0."""
    c = (a.unsqueeze(-1) + b.unsqueeze(-3)).amax(dim=-2)
    return c - c.amax(dim=(-2, -1), keepdim=True)


def _compose(first: Tensor, then: Tensor) -> Tensor:
    """Maps stored as index tables, applied in sequence: ``out[j] = then[first[j]]``."""
    return torch.gather(then, -1, first)


# --------------------------------------------------------------------------------------------
# Forward–backward
# --------------------------------------------------------------------------------------------

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


def scan_dtype(device: torch.device) -> torch.dtype:
    """float64 for the scans, except on Apple's MPS, which has none (float32 is safe there too, since
    transition probabilities are floored: see :func:`update_transitions`)."""
    return torch.float32 if device.type == "mps" else torch.float64


def _filtered(log_e: Tensor, log_pi: Tensor, log_a: Tensor, *, backward: bool):
    """Scaled forward (and backward) messages in float64; see the module docstring."""
    B, T, K = log_e.shape
    dt = scan_dtype(log_e.device)
    shift = log_e.amax(dim=-1, keepdim=True)
    e = torch.exp((log_e - shift).to(dt))                               # (B, T, K), max 1 per bin
    a = torch.exp(log_a.to(dt))
    first = torch.exp(log_pi.to(dt)) * e[:, 0]                          # (B, K)
    # forward factors M_t[i, j] = A_ij e_t(j) (M_0 has identical rows alpha_0) and, stacked below them,
    # the backward factors R_s = M_{T-1-s}^T, so one scan yields both directions
    buf = torch.empty((2 * B if backward else B, T, K, K), dtype=dt, device=e.device)
    torch.mul(a, e.unsqueeze(-2), out=buf[:B])
    buf[:B, 0] = first.unsqueeze(-2)
    if backward:
        torch.mul(a.T, e.flip(1).unsqueeze(-1), out=buf[B:])           # (A diag e)^T = diag(e) A^T
    scanned = prefix_scan(buf, _sum_product)
    fwd, bwd = scanned[:B], (scanned[B:] if backward else None)
    alpha = fwd[:, :, 0, :]
    alpha = alpha / alpha.sum(-1, keepdim=True)                         # p(z_t | x_{0:t})
    # log p(x) from the one-step predictions of the filter (exact, no scale bookkeeping)
    pred = alpha[:, :-1] @ a                                            # p(z_t | x_{0:t-1}), t >= 1
    norm = torch.cat([first.sum(-1, keepdim=True), (pred * e[:, 1:]).sum(-1)], dim=1)
    ll = (torch.log(norm) + shift.squeeze(-1).to(dt)).sum(1)
    return alpha, bwd, e, a, ll


def forward_backward(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Posterior:
    """Posterior state probabilities, summed pair posteriors and log-likelihood of each trial.

    ``log_emissions``: (trials, time, states) ``log p(x_t | z_t)``; ``log_pi``: (states,) or
    (trials, states); ``log_transitions``: (states, states), rows the "from" state. Batched over trials;
    runs on the device of its inputs. Returns float64 tensors.
    """
    log_e = _check_log_emissions(log_emissions)
    B, T, K = log_e.shape
    alpha, bwd, e, a, ll = _filtered(log_e, log_pi, log_transitions, backward=T > 1)
    if T == 1:
        gamma = alpha
        return Posterior(gamma, torch.zeros(K, K, dtype=gamma.dtype, device=gamma.device), ll)
    # beta_t = (M_{t+1}...M_{T-1}) 1 is the column sum of the reversed prefix of length T-1-t
    beta = torch.ones_like(alpha)
    beta[:, :-1] = bwd[:, :T - 1].sum(-2).flip(1)
    beta = beta / beta.amax(-1, keepdim=True)
    gamma = alpha * beta
    gamma = gamma / gamma.sum(-1, keepdim=True)
    # xi_t(i, j) ∝ alpha_{t-1}(i) A_ij e_t(j) beta_t(j); normalise each t, then sum over t in one matmul
    u = e[:, 1:] * beta[:, 1:]                                          # (B, T-1, K)
    c = ((alpha[:, :-1] @ a) * u).sum(-1, keepdim=True)
    xi_sum = a * (alpha[:, :-1].reshape(-1, K).T @ (u / c).reshape(-1, K))
    return Posterior(gamma, xi_sum, ll)


def log_likelihood(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Tensor:
    """``log p(x_b)`` for each trial (forward pass only), float64."""
    log_e = _check_log_emissions(log_emissions)
    return _filtered(log_e, log_pi, log_transitions, backward=False)[-1]


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


def update_transitions(xi_sum: Tensor, min_prob: float = math.exp(-8)) -> Tensor:
    """Closed-form M-step for the transition matrix, ``A_ij ∝ sum_t xi_t(i, j)``, with each entry floored at
    ``min_prob`` before renormalising (the official HMM-GLM code clamps log A at -8 the same way), so a
    state never becomes unreachable and the scan's rescaling stays safe. Returns log A."""
    rows = xi_sum / xi_sum.sum(-1, keepdim=True).clamp_min(1e-300)
    rows = rows.clamp_min(min_prob)
    return torch.log(rows / rows.sum(-1, keepdim=True))


# --------------------------------------------------------------------------------------------
# Shared input checks
# --------------------------------------------------------------------------------------------

def check_counts(spikes, name: str = "spikes", *, min_time: int = 1) -> Tensor:
    """Spike counts as a float tensor of shape (trials, time, neurons), or a one-sentence ValueError."""
    if isinstance(spikes, (list, tuple)):
        try:
            spikes = np.asarray(spikes, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an array of shape (trials, time, neurons) with equal-length trials.") from None
    if isinstance(spikes, np.ndarray):
        if not (np.issubdtype(spikes.dtype, np.number) or spikes.dtype == bool):
            raise ValueError(f"{name} must hold numbers (spike counts), got dtype {spikes.dtype}.")
        spikes = torch.from_numpy(np.ascontiguousarray(spikes, dtype=np.float64))
    if not isinstance(spikes, Tensor):
        raise ValueError(f"{name} must be a NumPy array or torch tensor of spike counts, got {type(spikes).__name__}.")
    if spikes.dim() == 2:
        spikes = spikes.unsqueeze(0)
    if spikes.dim() != 3:
        raise ValueError(f"{name} must have shape (trials, time, neurons) or (time, neurons), got {tuple(spikes.shape)}.")
    if spikes.dtype == torch.bool or not spikes.is_floating_point():
        spikes = spikes.to(torch.float64)
    B, T, N = spikes.shape
    if B == 0 or N == 0:
        raise ValueError(f"{name} must hold at least one trial and one neuron, got shape {tuple(spikes.shape)}.")
    if T == 0:
        raise ValueError(f"{name} has an empty trial (0 time bins); every trial needs at least {min_time} bins.")
    if T < min_time:
        raise ValueError(f"{name} has {T} time bins per trial, fewer than the {min_time} needed here.")
    if torch.isnan(spikes).any():
        raise ValueError(f"{name} contains NaN; spike counts must be finite non-negative integers.")
    if torch.isinf(spikes).any():
        raise ValueError(f"{name} contains infinite values; spike counts must be finite non-negative integers.")
    if (spikes < 0).any():
        raise ValueError(f"{name} contains negative values; spike counts must be non-negative integers.")
    if (spikes != torch.round(spikes)).any():
        raise ValueError(f"{name} contains non-integer values; spike counts must be non-negative integers.")
    return spikes


# --------------------------------------------------------------------------------------------
# The plain Poisson HMM
# --------------------------------------------------------------------------------------------

class PoissonHMM:
    """A hidden Markov model with independent Poisson counts per neuron, fitted by EM.

    E-step: :func:`forward_backward`. M-step in closed form: ``lambda_kn = sum_t gamma_tk x_tn /
    sum_t gamma_tk``, ``pi = mean_b gamma_b0``, transitions from :func:`update_transitions`.
    Parameters are kept in float64; everything runs on ``device``.
    """

    def __init__(self, n_states: int, *, n_iter: int = 20, tol: float = 0.0, min_transition: float = 1e-10,
                 device: str | torch.device = "cpu", seed: int = 0):
        if isinstance(n_states, bool) or not isinstance(n_states, (int, np.integer)) or n_states < 1:
            raise ValueError(f"n_states must be a positive integer, got {n_states!r}.")
        if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}.")
        if not (0.0 <= float(min_transition) < 1.0 / n_states):
            raise ValueError(f"min_transition must be in [0, 1/n_states), got {min_transition!r}.")
        self.n_states, self.n_iter, self.tol = int(n_states), int(n_iter), float(tol)
        self.min_transition, self.device, self.seed = float(min_transition), torch.device(device), seed

    def _log_emissions(self, x: Tensor) -> Tensor:
        """``log p(x_t | z_t = k)`` up to ``-sum_n log x_tn!``, a per-bin constant that cancels in every
        posterior; :meth:`_constant` adds it back to log-likelihoods."""
        lam = self.rates_
        return x @ torch.log(lam).T - lam.sum(-1)

    @staticmethod
    def _constant(x: Tensor) -> Tensor:
        return torch.lgamma(x + 1).sum((1, 2))

    def init_params(self, spikes, rates=None, transitions=None, start=None) -> "PoissonHMM":
        """Set the starting point: given arrays, or rates at the data mean times Gamma(5, 1/5) noise."""
        x = check_counts(spikes).to(self.device, torch.float64)
        K, N = self.n_states, x.shape[-1]
        if rates is None:
            g = torch.Generator().manual_seed(self.seed)
            noise = torch._standard_gamma(torch.full((K, N), 5.0, dtype=torch.float64), generator=g) / 5.0
            rates = x.mean((0, 1)).cpu() * noise + 1e-3
        if transitions is None:
            transitions = torch.full((K, K), 0.05 / max(K - 1, 1), dtype=torch.float64) + (0.95 - 0.05 / max(K - 1, 1)) * torch.eye(K, dtype=torch.float64) if K > 1 else torch.ones(1, 1, dtype=torch.float64)
        if start is None:
            start = torch.full((K,), 1.0 / K, dtype=torch.float64)
        as_t = lambda v: torch.as_tensor(np.asarray(v), dtype=torch.float64).to(self.device)
        self.rates_, self.log_transitions_, self.log_start_ = as_t(rates), torch.log(as_t(transitions)), torch.log(as_t(start))
        if self.rates_.shape != (K, N) or (self.rates_ <= 0).any():
            raise ValueError(f"rates must be a positive array of shape ({K}, {N}), got shape {tuple(self.rates_.shape)}.")
        return self

    def fit(self, spikes, *, init: bool = True) -> "PoissonHMM":
        """EM for ``n_iter`` iterations (or until the log-likelihood gains less than ``tol``)."""
        x = check_counts(spikes).to(self.device, torch.float64)
        if x.shape[1] < self.n_states and x.shape[0] == 1:
            raise ValueError(f"n_states ({self.n_states}) must not exceed the number of time bins ({x.shape[1]}).")
        if init or not hasattr(self, "rates_"):
            self.init_params(x)
        self.history_ = []
        const = float(self._constant(x).sum())
        for _ in range(self.n_iter):
            post = forward_backward(self._log_emissions(x), self.log_start_, self.log_transitions_)
            ll = float(post.log_likelihood.sum()) - const
            if not math.isfinite(ll):
                raise FloatingPointError("PoissonHMM.fit diverged: the log-likelihood is not finite.")
            self.history_.append(ll)
            g = post.gamma.reshape(-1, self.n_states)
            occupancy = g.sum(0)
            self.rates_ = ((g.T @ x.reshape(-1, x.shape[-1])) / occupancy.clamp_min(1e-12)[:, None]).clamp_min(1e-10)
            self.log_start_ = torch.log(post.gamma[:, 0].mean(0).clamp_min(1e-12))
            self.log_transitions_ = update_transitions(post.xi_sum, self.min_transition)
            if len(self.history_) > 1 and self.history_[-1] - self.history_[-2] < self.tol:
                break
        return self

    def score(self, spikes) -> float:
        """Total log-likelihood ``sum_b log p(x_b)``."""
        x = check_counts(spikes).to(self.device, torch.float64)
        ll = log_likelihood(self._log_emissions(x), self.log_start_, self.log_transitions_) - self._constant(x)
        return float(ll.sum())

    def predict(self, spikes) -> np.ndarray:
        """Viterbi state sequence, (trials, time)."""
        x = check_counts(spikes).to(self.device, torch.float64)
        return viterbi(self._log_emissions(x), self.log_start_, self.log_transitions_).cpu().numpy()
