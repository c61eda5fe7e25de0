r"""Sparse distributed representations (SDRs) and active dendrites: exact theory and Monte-Carlo.

Follows S. Ahmad & J. Hawkins (2016), *How do neurons operate on sparse distributed representations?
A mathematical theory of sparsity, neurons and active dendrites* (arXiv:1601.00720).

A population of ``n`` cells has ``a`` of them active (a pattern, an SDR). A dendritic segment holds
``s`` synapses onto cells of a pattern it has learned and fires an NMDA spike when at least ``theta``
(θ) of them are active.

**False match** (the paper's Eq. 1–3). A random pattern shares ``b`` active cells with the ``s``
synapses with the hypergeometric probability :math:`\binom{s}{b}\binom{n-s}{a-b}/\binom{n}{a}`, so

.. math:: P_\mathrm{FM}(n, a, s, \theta) = \sum_{b=\theta}^{s} \frac{\binom{s}{b}\binom{n-s}{a-b}}{\binom{n}{a}} .

**Union property.** One segment holds ``s`` synapses for each of ``M`` patterns, mixed together.
A random ``s``-subset of ``n`` cells added to a union of ``u`` synapses adds ``s - k`` new ones,
``k`` hypergeometric (:math:`\binom{u}{k}\binom{n-u}{s-k}/\binom{n}{s}`); iterating this gives the
exact distribution of the union size :math:`U_M`, and

.. math:: P_\mathrm{union}(\theta) = \sum_u P(U_M = u)\, P_\mathrm{FM}(n, a, u, \theta) .

The paper (and Numenta's notebooks) instead plug in the expected union size rounded to an integer,
:math:`\bar u = n\,(1 - (1 - s/n)^M)`; both are provided (``method="exact"`` / ``"expected"``).

**Noise.** Replace ``v`` of the ``a`` active cells of a learned pattern by ``v`` cells outside it.
The segment (``s`` synapses on the pattern's cells) misses the pattern when more than ``s - θ`` of its
synapses sit on removed cells (Numenta's ``noiseFN``):

.. math:: P_\mathrm{FN}(a, s, \theta, v) = \sum_{b=s-\theta+1}^{s} \frac{\binom{s}{b}\binom{a-s}{v-b}}{\binom{a}{v}} .

All sums are evaluated in log space (``scipy.special.gammaln`` and ``logsumexp``), so probabilities
down to 1e-300 and below keep full relative precision; the ``log_*`` functions return natural logs
(``-inf`` for an impossible event).

The **Monte-Carlo simulator** draws explicit random SDRs (a dense 0/1 bank on the device) and segments
(lists of synapse indices) and counts overlaps; see :func:`simulate_false_match` and
:func:`simulate_noise`. It returns the histogram of overlaps, from which the match probability for
every θ and its exact (Clopper–Pearson) confidence interval follow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import gammaln, logsumexp

from labkit.core.progress import progress

__all__ = [
    "log_false_match", "false_match", "overlap_pmf",
    "union_size_pmf", "expected_union_size", "union_overlap_pmf", "log_union_false_match", "union_false_match",
    "log_false_negative", "false_negative", "noise_overlap_pmf", "noise_count",
    "ThresholdChoice", "optimal_threshold", "paper_threshold_sweep",
    "OverlapSample", "simulate_false_match", "simulate_noise",
]


# ----------------------------------------------------------------------------------------------
# Input checking
# ----------------------------------------------------------------------------------------------

def _int_array(name: str, value: Any, low: int | None = 0) -> np.ndarray:
    """``value`` as an int64 array, or a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, str):
        raise ValueError(f"{name} must be an integer (or an array of integers), got {value!r}.")
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be an integer (or an array of integers), got {value!r}.")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must be an integer (or an array of integers), got {value!r}.")
    arr = arr.astype(np.int64)
    if low is not None and np.any(arr < low):
        bad = arr[arr < low].flat[0]
        raise ValueError(f"{name} must be at least {low}, got {bad}.")
    return arr


def _int_scalar(name: str, value: Any, low: int | None = 0) -> int:
    arr = _int_array(name, value, low)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single integer, got an array of shape {arr.shape}.")
    return int(arr)


def _not_above(name: str, arr: np.ndarray, other_name: str, other: np.ndarray) -> None:
    over = np.broadcast_to(arr > other, np.broadcast_shapes(arr.shape, other.shape))
    if np.any(over):
        x, y = np.broadcast_arrays(arr, other)
        i = np.flatnonzero(over)[0]
        raise ValueError(f"{name} must be at most {other_name} ({y.flat[i]}), got {x.flat[i]}.")


# ----------------------------------------------------------------------------------------------
# Exact formulas (log space)
# ----------------------------------------------------------------------------------------------

_LGAMMA_TABLE = np.zeros(0)


def _lgamma1(x: np.ndarray) -> np.ndarray:
    """ln Γ(x + 1) = ln x! for integer arrays x >= 0 (a cached table up to 10^7, gammaln beyond)."""
    global _LGAMMA_TABLE
    top = int(x.max(initial=0))
    if top >= 10**7:
        return gammaln(x + 1.0)
    if top >= _LGAMMA_TABLE.size:
        _LGAMMA_TABLE = gammaln(np.arange(max(2 * top, 1024) + 1, dtype=float) + 1.0)
    return _LGAMMA_TABLE[x]


def _log_comb(N, k) -> np.ndarray:
    """log C(N, k) for integer arrays (broadcast), -inf where k < 0 or k > N."""
    N, k = np.broadcast_arrays(np.asarray(N, dtype=np.int64), np.asarray(k, dtype=np.int64))
    ok = (k >= 0) & (k <= N)
    Nc = np.maximum(N, 0)
    kc = np.clip(k, 0, Nc)
    out = _lgamma1(Nc) - _lgamma1(kc) - _lgamma1(Nc - kc)
    return np.where(ok, out, -np.inf)


def _log_hyper_tail(N, K, draws, theta) -> np.ndarray:
    """log P(X >= theta) for X ~ Hypergeometric(population N, K marked, `draws` drawn); broadcasts."""
    N, K, draws, theta = np.broadcast_arrays(*(np.asarray(x, dtype=np.int64) for x in (N, K, draws, theta)))
    shape = N.shape
    N, K, draws, theta = (x.ravel() for x in (N, K, draws, theta))
    lo = np.maximum(0, draws - (N - K))            # support of X: [lo, hi]
    hi = np.minimum(K, draws)
    out = np.zeros(N.shape)
    out[theta > hi] = -np.inf
    todo = np.flatnonzero((theta > lo) & (theta <= hi))
    if todo.size:
        width = int((hi[todo] - np.maximum(theta[todo], lo[todo])).max()) + 1
        b = np.maximum(theta[todo], lo[todo])[None, :] + np.arange(width)[:, None]   # (width, m)
        valid = b <= hi[todo][None, :]
        terms = (_log_comb(K[todo], b) + _log_comb(N[todo] - K[todo], draws[todo] - b)
                 - _log_comb(N[todo], draws[todo])[None, :])
        terms = np.where(valid, terms, -np.inf)
        with np.errstate(divide="ignore"):
            out[todo] = np.minimum(logsumexp(terms, axis=0), 0.0)
    return out.reshape(shape)


def log_false_match(n, a, s, theta) -> np.ndarray:
    """Natural log of the false-match probability P_FM(n, a, s, θ) (Eq. 1–3); broadcasts over arrays.

    ``theta = 0`` gives 0 (always a match); ``theta > min(s, a)`` gives ``-inf`` (never).
    """
    n = _int_array("n", n, 1)
    a = _int_array("a", a, 0)
    s = _int_array("s", s, 0)
    theta = _int_array("theta", theta, 0)
    _not_above("a", a, "n", n)
    _not_above("s", s, "n", n)
    return _log_hyper_tail(n, s, a, theta)


def false_match(n, a, s, theta) -> np.ndarray:
    """The false-match probability P_FM(n, a, s, θ) (Eq. 1–3), a float or array of floats."""
    return np.exp(log_false_match(n, a, s, theta))


def overlap_pmf(n: int, a: int, s: int) -> np.ndarray:
    """P(overlap = b), b = 0..s, between a random pattern and a segment of s synapses."""
    n, a, s = _int_scalar("n", n, 1), _int_scalar("a", a), _int_scalar("s", s)
    _not_above("a", np.asarray(a), "n", np.asarray(n))
    _not_above("s", np.asarray(s), "n", np.asarray(n))
    b = np.arange(s + 1)
    return np.exp(_log_comb(s, b) + _log_comb(n - s, a - b) - _log_comb(n, a))


def _log_union_size_pmf(n: int, s: int, M: int) -> np.ndarray:
    """log P(U_M = u), u = 0..min(n, M s): the size of the union of M independent random s-subsets."""
    umax = min(n, M * s)
    logp = np.full(umax + 1, -np.inf)
    logp[s] = 0.0
    u = np.arange(umax + 1)
    k = np.arange(s + 1)                               # overlap of the new subset with the union
    for _ in range(M - 1):
        src = np.flatnonzero(np.isfinite(logp))
        # P(k | u) = C(u, k) C(n-u, s-k) / C(n, s); the union grows to u + s - k.
        trans = (_log_comb(src[:, None], k[None, :]) + _log_comb(n - src[:, None], s - k[None, :])
                 - _log_comb(n, s))
        dest = src[:, None] + s - k[None, :]
        contrib = logp[src][:, None] + trans
        ok = np.isfinite(contrib)
        mat = np.full((src.size, umax + 1), -np.inf)          # row: old size, column: new size
        mat[np.nonzero(ok)[0], dest[ok]] = contrib[ok]
        with np.errstate(divide="ignore"):
            logp = logsumexp(mat, axis=0)
    return logp - logsumexp(logp[np.isfinite(logp)]) if M > 1 else logp


def union_size_pmf(n: int, s: int, M: int) -> np.ndarray:
    """P(U_M = u) for u = 0..min(n, M s): the number of distinct synapses after a union of M patterns."""
    n, s, M = _int_scalar("n", n, 1), _int_scalar("s", s), _int_scalar("M", M, 1)
    _not_above("s", np.asarray(s), "n", np.asarray(n))
    return np.exp(_log_union_size_pmf(n, s, M))


def expected_union_size(n: int, s: int, M: int) -> float:
    """E[U_M] = n (1 - (1 - s/n)^M): the paper's expected number of synapses after M unions."""
    n, s, M = _int_scalar("n", n, 1), _int_scalar("s", s), _int_scalar("M", M, 1)
    _not_above("s", np.asarray(s), "n", np.asarray(n))
    return float(n * (1.0 - (1.0 - s / n) ** M))


def _log_tail_from_pmf(logpmf: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log P(X >= theta) from log P(X = b), b = 0..len-1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.logaddexp.accumulate(logpmf[::-1])[::-1]
    tail = np.minimum(np.concatenate([tail, [-np.inf]]), 0.0)
    out = tail[np.clip(theta, 0, len(logpmf))]
    return np.where(theta <= 0, 0.0, out)


def _log_union_overlap_pmf(n: int, a: int, s: int, M: int, method: str) -> np.ndarray:
    """log P(overlap = b), b = 0..min(a, M s), of a random pattern with a union segment."""
    if method == "expected":
        u = np.array([int(math.floor(expected_union_size(n, s, M) + 0.5))])
        logpu = np.zeros(1)
    else:
        logp = _log_union_size_pmf(n, s, M)
        u = np.flatnonzero(np.isfinite(logp))
        logpu = logp[u]
    b = np.arange(min(a, int(u.max())) + 1)
    terms = (_log_comb(u[:, None], b[None, :]) + _log_comb(n - u[:, None], a - b[None, :])
             - _log_comb(n, a) + logpu[:, None])
    with np.errstate(divide="ignore"):
        return logsumexp(terms, axis=0)


def union_overlap_pmf(n: int, a: int, s: int, M: int, method: str = "exact") -> np.ndarray:
    """P(overlap = b), b = 0..min(a, M s), between a random pattern and a segment holding M patterns."""
    n, a, s, M = _union_args(n, a, s, M, method)
    return np.exp(_log_union_overlap_pmf(n, a, s, M, method))


def _union_args(n, a, s, M, method):
    n, a, s, M = _int_scalar("n", n, 1), _int_scalar("a", a), _int_scalar("s", s), _int_scalar("M", M, 1)
    _not_above("a", np.asarray(a), "n", np.asarray(n))
    _not_above("s", np.asarray(s), "n", np.asarray(n))
    if method not in ("exact", "expected"):
        raise ValueError(f"method must be 'exact' or 'expected', got {method!r}.")
    return n, a, s, M


def log_union_false_match(n: int, a: int, s: int, theta, M: int, method: str = "exact") -> np.ndarray:
    """log P(a random pattern matches a segment holding s synapses for each of M patterns).

    ``method="exact"`` averages over the exact distribution of the union size;
    ``method="expected"`` uses the paper's rounded expected union size (Numenta's ``sdr_paper_unions``).
    ``theta`` may be an array; ``M = 1`` is the plain false match.
    """
    n, a, s, M = _union_args(n, a, s, M, method)
    theta = _int_array("theta", theta)
    return _log_tail_from_pmf(_log_union_overlap_pmf(n, a, s, M, method), theta)


def union_false_match(n: int, a: int, s: int, theta, M: int, method: str = "exact") -> np.ndarray:
    """P(false match) for a segment holding s synapses for each of M patterns (see the log version)."""
    return np.exp(log_union_false_match(n, a, s, theta, M, method))


def log_false_negative(a, s, theta, v) -> np.ndarray:
    """log P(a learned pattern is missed after v of its a active cells are replaced); broadcasts.

    ``theta = 0`` gives ``-inf`` (never missed); ``theta > s`` gives 0 (always missed).
    """
    a = _int_array("a", a, 1)
    s = _int_array("s", s, 0)
    theta = _int_array("theta", theta, 0)
    v = _int_array("v", v, 0)
    _not_above("s", s, "a", a)
    _not_above("v", v, "a", a)
    # b ~ Hypergeometric(a cells, s of them synapsed, v removed); missed when b >= s - theta + 1.
    return _log_hyper_tail(a, s, v, np.maximum(s - theta + 1, 0))


def false_negative(a, s, theta, v) -> np.ndarray:
    """P(miss) after v of the a active cells are replaced by cells outside the pattern."""
    return np.exp(log_false_negative(a, s, theta, v))


def noise_overlap_pmf(a: int, s: int, v: int) -> np.ndarray:
    """P(overlap = c), c = 0..s, of a learned segment with its pattern after v of a cells are replaced."""
    a, s, v = _int_scalar("a", a, 1), _int_scalar("s", s), _int_scalar("v", v)
    _not_above("s", np.asarray(s), "a", np.asarray(a))
    _not_above("v", np.asarray(v), "a", np.asarray(a))
    b = np.arange(s + 1)                               # synapses on removed cells; overlap = s - b
    logp = _log_comb(s, b) + _log_comb(a - s, v - b) - _log_comb(a, v)
    return np.exp(logp)[::-1].copy()


def noise_count(a: int, noise: float) -> int:
    """Number of replaced cells for a noise fraction: round(noise * a), halves rounded up."""
    a = _int_scalar("a", a, 1)
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating, np.integer)) or not 0 <= noise <= 1:
        raise ValueError(f"noise must be a fraction in [0, 1], got {noise!r}.")
    return int(math.floor(noise * a + 0.5))


# ----------------------------------------------------------------------------------------------
# The NMDA threshold
# ----------------------------------------------------------------------------------------------

@dataclass
class ThresholdChoice:
    """False positives, false negatives and their sum against θ, and the best θ."""

    thetas: np.ndarray
    false_positive: np.ndarray
    false_negative: np.ndarray
    total: np.ndarray
    theta_opt: int          # argmin of fp_weight * FP + FN (smallest such θ)
    theta_balanced: int     # θ where FP and FN are closest on a log scale
    params: dict = field(default_factory=dict)


def optimal_threshold(n: int, a: int, s: int, v: int, M: int = 1, fp_weight: float = 1.0) -> ThresholdChoice:
    """The NMDA threshold θ in 1..s that minimises ``fp_weight * P_FP + P_FN``.

    P_FP is the (union) false-match probability, P_FN the miss probability when v of the a active cells
    are replaced. Raising θ trades false positives for false negatives; the minimum of their sum is
    the threshold that balances them.
    """
    n, a, s = _int_scalar("n", n, 1), _int_scalar("a", a, 1), _int_scalar("s", s, 1)
    v, M = _int_scalar("v", v), _int_scalar("M", M, 1)
    _not_above("a", np.asarray(a), "n", np.asarray(n))
    _not_above("s", np.asarray(s), "a", np.asarray(a))
    _not_above("v", np.asarray(v), "a", np.asarray(a))
    if isinstance(fp_weight, bool) or not isinstance(fp_weight, (int, float)) or not fp_weight > 0:
        raise ValueError(f"fp_weight must be a positive number, got {fp_weight!r}.")
    thetas = np.arange(1, s + 1)
    log_fp = log_union_false_match(n, a, s, thetas, M)
    log_fn = log_false_negative(a, s, thetas, v)
    log_total = np.logaddexp(np.log(fp_weight) + log_fp, log_fn)
    gap = np.abs(np.where(np.isfinite(log_fp) & np.isfinite(log_fn), log_fp - log_fn, np.inf))
    return ThresholdChoice(thetas, np.exp(log_fp), np.exp(log_fn), np.exp(log_total),
                           int(thetas[np.argmin(log_total)]), int(thetas[np.argmin(gap)]),
                           dict(n=n, a=a, s=s, v=v, M=M, fp_weight=fp_weight))


def paper_threshold_sweep(thetas=range(3, 25)) -> dict[str, np.ndarray]:
    """False-match probability over the paper's grid of settings, summarised per θ.

    The grid behind the paper's optimal-threshold figure (Numenta's ``compute_optimal_threshold.py``
    as of commit 4540e8a, whose medians ``plot_optimal_threshold.py`` lists): n in 10000..190000
    (step 20000), sparsity 0.5%..3% (step 0.5%, a = round(sparsity n)), s in 20..50 (step 5), 420
    settings. Returns the median, mean, min and max P_FM per θ; the paper reads off that the median
    falls below 1e-9 from θ ≈ 10.
    """
    thetas = _int_array("thetas", list(thetas), 1)
    ns = np.arange(10000, 200000, 20000)
    sparsity = 0.005 * np.arange(1, 7)
    ss = np.arange(20, 51, 5)
    N, SP, S = np.meshgrid(ns, sparsity, ss, indexing="ij")
    A = np.floor(SP * N + 0.5).astype(np.int64)
    lp = log_false_match(N.ravel()[None, :], A.ravel()[None, :], S.ravel()[None, :], thetas[:, None])
    p = np.exp(lp)
    return {"theta": thetas, "median": np.median(p, axis=1), "mean": p.mean(axis=1),
            "min": p.min(axis=1), "max": p.max(axis=1),
            "log10_median": np.median(lp, axis=1) / np.log(10)}


# ----------------------------------------------------------------------------------------------
# Monte-Carlo simulation
# ----------------------------------------------------------------------------------------------

@dataclass
class OverlapSample:
    """Histogram of simulated segment–pattern overlaps, with match probabilities and their intervals.

    ``counts[b]`` is how many of the ``n_trials`` comparisons had overlap b. For a false match the
    event is ``overlap >= θ`` (:meth:`at_least`); for a false negative it is ``overlap < θ``
    (:meth:`below`).
    """

    counts: np.ndarray
    n_trials: int
    kind: str
    params: dict = field(default_factory=dict)

    def n_at_least(self, theta) -> np.ndarray:
        theta = np.clip(_int_array("theta", theta), 0, len(self.counts))
        tail = np.concatenate([np.cumsum(self.counts[::-1])[::-1], [0]])
        return tail[theta]

    def at_least(self, theta) -> np.ndarray:
        """Estimated P(overlap >= θ)."""
        return self.n_at_least(theta) / self.n_trials

    def below(self, theta) -> np.ndarray:
        """Estimated P(overlap < θ)."""
        return 1.0 - self.at_least(theta)

    def interval(self, theta, level: float = 0.99, event: str = "at_least") -> tuple[np.ndarray, np.ndarray]:
        """Exact (Clopper–Pearson) two-sided ``level`` interval for P(overlap >= θ) or P(overlap < θ)."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}.")
        if event not in ("at_least", "below"):
            raise ValueError(f"event must be 'at_least' or 'below', got {event!r}.")
        k = self.n_at_least(theta)
        if event == "below":
            k = self.n_trials - k
        return clopper_pearson(k, self.n_trials, level)


def clopper_pearson(k, n_trials: int, level: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial confidence interval for k successes out of n_trials."""
    from scipy import stats          # imported here: scipy.stats is slow to import

    k = np.asarray(k, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n_trials - k + 1), 0.0)
        hi = np.where(k < n_trials, stats.beta.ppf(1 - alpha / 2, k + 1, n_trials - k), 1.0)
    return lo, hi


def _generator(device: torch.device, seed: int) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def _sort_rows(x: torch.Tensor) -> torch.Tensor:
    """Sort each row (last dimension) ascending. On the CPU NumPy's sort of short rows is several times
    faster than torch's, so it is used there (zero-copy); elsewhere torch sorts on the device."""
    if x.device.type == "cpu":
        return torch.from_numpy(np.sort(x.numpy(), axis=-1))
    return x.sort(dim=-1).values


def _has_repeat(sorted_rows: torch.Tensor) -> torch.Tensor:
    """Rows of a row-sorted tensor that hold a repeated value (NumPy on the CPU, where it is faster)."""
    if sorted_rows.device.type == "cpu":
        x = sorted_rows.numpy()
        return torch.from_numpy((x[:, 1:] == x[:, :-1]).any(axis=1))
    return (sorted_rows[:, 1:] == sorted_rows[:, :-1]).any(1)


def _random_subsets(rows: int, k: int, N: int, gen: torch.Generator, device: torch.device,
                    dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """(rows, k) integers (``dtype``): each row a uniformly random k-subset of range(N).

    Sparse draws (probability of no repeat >= 1/2) use rejection: k independent uniform draws, sorted,
    and every row with a repeat drawn again until it has none; an accepted row is uniform over the
    k-subsets. Dense draws take the indices of the k largest of N uniform keys.
    """
    if k == 0:
        return torch.empty(rows, 0, dtype=dtype, device=device)
    log_no_repeat = float(np.sum(np.log1p(-np.arange(k) / N)))
    if log_no_repeat >= math.log(0.5) and N < 2**31:
        def draw(m):
            return _sort_rows(torch.randint(0, N, (m, k), generator=gen, device=device, dtype=torch.int32))

        idx = draw(rows)
        if device.type == "cpu":            # the bookkeeping in NumPy: torch's nonzero/masking are slow here
            out = idx.numpy()
            redo = np.flatnonzero((out[:, 1:] == out[:, :-1]).any(axis=1))
            while redo.size:
                new = draw(redo.size).numpy()
                ok = ~(new[:, 1:] == new[:, :-1]).any(axis=1)
                out[redo[ok]] = new[ok]
                redo = redo[~ok]
            return idx.to(dtype)
        redo = torch.nonzero(_has_repeat(idx)).squeeze(1)
        while redo.numel():
            new = draw(redo.numel())
            ok = ~_has_repeat(new)
            idx.index_copy_(0, redo[ok], new[ok])
            redo = redo[~ok]
        return idx.to(dtype)
    out = torch.empty(rows, k, dtype=dtype, device=device)
    step = max(1, (1 << 22) // N)
    for r in range(0, rows, step):
        m = min(step, rows - r)
        out[r:r + m] = torch.rand(m, N, generator=gen, device=device).topk(k, dim=1).indices
    return out


def _pattern_bank(P: int, n: int, a: int, gen, device) -> tuple[torch.Tensor, torch.Tensor]:
    """P random patterns: active indices (P, a) and the dense 0/1 bank (P, n) as uint8."""
    act = _random_subsets(P, a, n, gen, device)
    bank = torch.zeros(P, n, dtype=torch.uint8, device=device)
    bank.scatter_(1, act, 1)
    return act, bank


def _check_sim(n, a, s, n_trials, M=1):
    n, a, s = _int_scalar("n", n, 1), _int_scalar("a", a), _int_scalar("s", s)
    n_trials, M = _int_scalar("n_trials", n_trials, 1), _int_scalar("M", M, 1)
    _not_above("a", np.asarray(a), "n", np.asarray(n))
    _not_above("s", np.asarray(s), "n", np.asarray(n))
    return n, a, s, n_trials, M


def _subset_cost(k: int, N: int) -> float:
    """Rough relative cost of one random k-subset of range(N) (see :func:`_random_subsets`)."""
    sparse = float(np.sum(np.log1p(-np.arange(k) / N))) >= math.log(0.5)
    return 4.0 * k if sparse else float(N)


def _split_trials(n_trials: int, pattern_cost: float, segment_cost: float, max_patterns: int) -> tuple[int, int]:
    """P patterns x S segments >= n_trials, balancing the cost of drawing patterns and segments."""
    P = int(round(math.sqrt(n_trials * segment_cost / max(pattern_cost, 1.0))))
    P = max(1, min(P, max_patterns, n_trials))
    return P, math.ceil(n_trials / P)


def _all_pairs_counts(table: torch.Tensor, draw_segments, S_total: int, n_trials: int, n_bins: int,
                      show_progress: bool, desc: str) -> torch.Tensor:
    """Histogram of overlaps of S_total drawn segments with every column of ``table`` (cells x P)."""
    P = table.shape[1]
    counts = torch.zeros(n_bins, dtype=torch.int64, device=table.device)
    S_chunk = max(1, min(S_total, (1 << 22) // P))
    done = 0
    chunks = range(0, S_total, S_chunk)
    for start in (progress(chunks, desc=desc) if show_progress else chunks):
        m = min(S_chunk, S_total - start)
        segs = draw_segments(m)                                   # (m, s) synapse indices
        if segs.shape[1] == 0:
            ov = torch.zeros(m * P, device=table.device)
        else:                                                     # overlap[j, i] = sum_k table[segs[j, k], i]
            ov = F.embedding_bag(segs, table, mode="sum").ravel()
        take = min(ov.numel(), n_trials - done)
        # The overlaps are exact small integers in float32; unit bins centred on them count them exactly.
        counts += torch.histc(ov[:take], bins=n_bins, min=-0.5, max=n_bins - 0.5).to(torch.int64)
        done += take
    return counts


def simulate_false_match(n: int, a: int, s: int, n_trials: int, *, M: int = 1, seed: int = 0,
                         device: str | torch.device = "cpu", max_patterns: int = 4096,
                         show_progress: bool = False) -> OverlapSample:
    """Overlaps of random patterns with random segments (M = 1) or union segments (M > 1).

    M = 1 ("all pairs"): a bank of P random patterns, stored as a cells x patterns 0/1 table, is
    compared with every one of S random segments (s distinct synapse indices each) by one
    ``embedding_bag`` sum, S x P comparisons for the price of P + S draws. Comparisons that share a
    pattern or a segment are uncorrelated: by symmetry a random segment matches every fixed pattern
    with the same probability (and a random pattern every fixed segment), so the number of matches
    has exactly the binomial variance.

    M > 1 ("pattern major"): each union segment (the union of M random s-subsets: s cells sampled from
    each of M random patterns, a cell shared by two of them holding one synapse) meets one pattern
    only, because a union's size varies from segment to segment and would correlate the comparisons
    that share it; each pattern meets many fresh unions.
    """
    n, a, s, n_trials, M = _check_sim(n, a, s, n_trials, M)
    dev = torch.device(device)
    gen = _generator(dev, seed)
    if M == 1:
        P, S_total = _split_trials(n_trials, float(n), _subset_cost(s, n), max_patterns)
        act, bank = _pattern_bank(P, n, a, gen, dev)
        table = bank.t().to(torch.float32).contiguous()               # (n, P): which patterns use cell c
        counts = _all_pairs_counts(table, lambda m: _random_subsets(m, s, n, gen, dev), S_total, n_trials,
                                   s + 1, show_progress, "segments")
        return OverlapSample(counts.cpu().numpy(), n_trials, "false_match", dict(n=n, a=a, s=s, M=M, seed=seed))
    umax = min(n, M * s)
    counts = torch.zeros(umax + 1, dtype=torch.int64, device=dev)
    P = int(min(max_patterns, max(1, math.ceil(n_trials * M * s / (64.0 * n)))))
    K_total = math.ceil(n_trials / P)
    K_chunk = max(1, min(K_total, (1 << 21) // (P * M * s)))
    act, bank = _pattern_bank(P, n, a, gen, dev)
    done = 0
    chunks = range(0, K_total, K_chunk)
    for start in (progress(chunks, desc="unions") if show_progress else chunks):
        k = min(K_chunk, K_total - start)
        subs = _sort_rows(_random_subsets(P * k * M, s, n, gen, dev, torch.int32).view(P, k, M * s))
        fresh = torch.ones(subs.shape, dtype=torch.uint8, device=dev)
        fresh[:, :, 1:] = subs[:, :, 1:] != subs[:, :, :-1]                 # count each synapse once
        hits = bank.gather(1, subs.view(P, -1).long()).view(P, k, M * s).bitwise_and_(fresh)
        ov = hits.sum(-1, dtype=torch.int64).ravel()
        take = min(ov.numel(), n_trials - done)
        counts += torch.bincount(ov[:take], minlength=umax + 1)
        done += take
    return OverlapSample(counts.cpu().numpy(), n_trials, "false_match", dict(n=n, a=a, s=s, M=M, seed=seed))


def simulate_noise(n: int, a: int, s: int, v: int, n_trials: int, *, seed: int = 0,
                   device: str | torch.device = "cpu", max_patterns: int = 4096,
                   show_progress: bool = False) -> OverlapSample:
    """Overlaps of learned segments with their own pattern after v of its a active cells are replaced.

    P random patterns each get a noisy copy (v of the a active cells switched off, v inactive cells
    switched on). A segment is s distinct positions in a pattern's list of active cells, i.e. s
    synapses sampled from the learned pattern; S such segments are laid on every pattern and their
    overlap with its noisy copy counted (all pairs, one ``embedding_bag``). Given a pattern and its
    copy a random segment misses with the same probability whichever they are, so comparisons are
    uncorrelated and the miss count binomial. ``OverlapSample.below(θ)`` estimates the false-negative rate.
    """
    n, a, s, n_trials, _ = _check_sim(n, a, s, n_trials)
    v = _int_scalar("v", v)
    _not_above("s", np.asarray(s), "a", np.asarray(a))
    _not_above("v", np.asarray(v), "a", np.asarray(a))
    _not_above("v", np.asarray(v), "n - a", np.asarray(n - a))
    if a == 0:
        raise ValueError("a must be at least 1 to learn a pattern, got 0.")
    dev = torch.device(device)
    gen = _generator(dev, seed)
    P, S_total = _split_trials(n_trials, float(n), _subset_cost(s, a), max_patterns)
    act, bank = _pattern_bank(P, n, a, gen, dev)
    noisy = bank.clone()
    off = torch.gather(act, 1, _random_subsets(P, v, a, gen, dev))             # v active cells switched off
    keys = torch.rand(P, n, generator=gen, device=dev).masked_fill_(bank.bool(), -1.0)
    on = keys.topk(v, dim=1).indices                                          # v inactive cells switched on
    noisy.scatter_(1, off, 0)
    noisy.scatter_(1, on, 1)
    # table[q, i] = 1 if the q-th active cell of pattern i is still active in its noisy copy
    table = noisy.gather(1, act).t().to(torch.float32).contiguous()           # (a, P)
    counts = _all_pairs_counts(table, lambda m: _random_subsets(m, s, a, gen, dev), S_total, n_trials,
                               s + 1, show_progress, "segments")
    return OverlapSample(counts.cpu().numpy(), n_trials, "noise", dict(n=n, a=a, s=s, v=v, seed=seed))


# ----------------------------------------------------------------------------------------------
# Grids: the best threshold over the paper's settings, and simulation against theory
# ----------------------------------------------------------------------------------------------

def _log_tails(N, K, draws, bmax: int) -> np.ndarray:
    """log P(X >= t) for t = 0..bmax+1 (rows) and each column's X ~ Hypergeometric(N, K, draws)."""
    b = np.arange(bmax + 1)[:, None]
    logpmf = _log_comb(K[None], b) + _log_comb((N - K)[None], draws[None] - b) - _log_comb(N, draws)[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        tails = np.logaddexp.accumulate(logpmf[::-1], axis=0)[::-1]
    tails = np.minimum(tails, 0.0)
    tails[0] = 0.0
    return np.vstack([tails, np.full((1, tails.shape[1]), -np.inf)])


def paper_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, a, s) of the 420 settings behind the paper's threshold figure (see paper_threshold_sweep)."""
    ns = np.arange(10000, 200000, 20000)
    sparsity = 0.005 * np.arange(1, 7)
    ss = np.arange(20, 51, 5)
    N, SP, S = np.meshgrid(ns, sparsity, ss, indexing="ij")
    return N.ravel(), np.floor(SP * N + 0.5).astype(np.int64).ravel(), S.ravel()


def best_threshold_grid(noise, fp_weight: float = 1.0) -> np.ndarray:
    """The best θ (argmin of fp_weight P_FP + P_FN) for each of the paper's 420 settings.

    ``noise`` is a fraction of the active cells replaced, or a sequence of them; the result has shape
    (420,) or (len(noise), 420).
    """
    levels = np.atleast_1d(np.asarray(noise, dtype=float))
    if levels.ndim != 1 or np.any(~np.isfinite(levels)) or np.any((levels < 0) | (levels > 1)):
        raise ValueError(f"noise must be a fraction in [0, 1] (or a list of them), got {noise!r}.")
    n, a, s = paper_grid()
    smax = int(s.max())
    thetas = np.arange(1, smax + 1)[:, None]
    log_fp = np.log(fp_weight) + _log_tails(n, s, a, smax)[1:smax + 1]      # P(overlap >= θ), θ = 1..smax
    out = []
    for x in levels:
        v = np.floor(x * a + 0.5).astype(np.int64)
        # miss when b >= s - θ + 1 synapses sit on removed cells, b ~ Hypergeometric(a, s, v)
        tails = _log_tails(a, s, v, smax)
        log_fn = tails[np.clip(s[None] - thetas + 1, 0, smax + 1), np.arange(s.size)[None]]
        log_total = np.logaddexp(log_fp, log_fn)
        log_total = np.where(thetas <= s[None], log_total, np.inf)
        out.append(thetas[np.argmin(log_total, axis=0), 0])
    out = np.array(out)
    return out[0] if np.ndim(noise) == 0 else out


# Settings for the agreement grid: (n, a, s, M) for false matches, (n, a, s, v) for false negatives.
AGREEMENT_FALSE_MATCH = [(500, 50, 16, 1), (1000, 200, 25, 1), (2000, 40, 20, 1), (10000, 300, 24, 1),
                         (4000, 400, 32, 1), (1000, 100, 12, 1), (3000, 150, 40, 1), (20000, 400, 20, 1)]
AGREEMENT_UNION = [(1000, 200, 25, 2), (1000, 200, 25, 3), (2000, 100, 20, 4), (5000, 100, 30, 5)]
AGREEMENT_NOISE = [(1000, 128, 30, 64), (2000, 40, 20, 16), (1000, 64, 24, 32), (5000, 200, 40, 50)]


def _pick_thetas(p: np.ndarray, thetas: np.ndarray, p_min: float, per_config: int) -> np.ndarray:
    ok = thetas[(p >= p_min) & (p <= 1 - p_min)]
    if ok.size <= per_config:
        return ok
    return ok[np.unique(np.round(np.linspace(0, ok.size - 1, per_config)).astype(int))]


def agreement_grid(n_trials: int, n_trials_union: int, *, seed: int = 0, level: float = 0.99,
                   p_min: float = 1e-4, min_events: float = 30.0, per_config: int = 2,
                   device: str | torch.device = "cpu") -> list[dict]:
    """Simulate every setting of the agreement grid and compare with the exact probability.

    A setting is a configuration and one threshold θ. For each of the 16 configurations, up to
    ``per_config`` thresholds are checked whose exact probability ``p`` lies in [p_floor, 1 - p_floor],
    ``p_floor = max(p_min, min_events / trials)`` (a probability the simulation would see fewer than
    ``min_events`` times has no power to disagree). **Each setting has its own simulation** (its own
    seed), so the settings are independent and the number outside their intervals is binomial:
    with a correct simulator each falls outside its ``level`` interval with probability at most
    1 - level. Each row holds the exact value, the estimate, its Clopper–Pearson interval, whether it
    holds the exact value (``inside``), and the same for a family-wise interval (Bonferroni: level
    1 - (1 - level) / number of rows, ``inside_family``), which a correct simulator fails anywhere
    with probability at most 1 - level.
    """
    n_trials = _int_scalar("n_trials", n_trials, 1)
    n_trials_union = _int_scalar("n_trials_union", n_trials_union, 1)
    planned = []                                  # (kind, (n, a, s, x), exact p over θ, θ, trials)
    configs = [("false match", c) for c in AGREEMENT_FALSE_MATCH] + [("union", c) for c in AGREEMENT_UNION] \
        + [("false negative", c) for c in AGREEMENT_NOISE]
    for kind, (n, a, s, x) in configs:
        thetas = np.arange(0, s + 2)
        trials = n_trials_union if kind == "union" else n_trials
        p = false_negative(a, s, thetas, x) if kind == "false negative" else union_false_match(n, a, s, thetas, x)
        for th in _pick_thetas(p, thetas, max(p_min, min_events / trials), per_config):
            planned.append((kind, (n, a, s, x), float(p[th]), int(th), trials))
    family = 1.0 - (1.0 - level) / max(len(planned), 1)
    rows = []
    for k, (kind, (n, a, s, x), exact, th, trials) in enumerate(progress(planned, desc="agreement grid")):
        if kind == "false negative":
            sample = simulate_noise(n, a, s, x, trials, seed=seed + k, device=device)
            est, event = float(sample.below(th)), "below"
        else:
            sample = simulate_false_match(n, a, s, trials, M=x, seed=seed + k, device=device)
            est, event = float(sample.at_least(th)), "at_least"
        lo, hi = sample.interval(th, level, event)
        flo, fhi = sample.interval(th, family, event)
        extra = f"v={x}" if kind == "false negative" else f"M={x}"
        rows.append(dict(kind=kind, label=f"n={n}, a={a}, s={s}, {extra}, θ={th}", exact=exact, estimate=est,
                         low=float(lo), high=float(hi), inside=bool(lo <= exact <= hi),
                         inside_family=bool(flo <= exact <= fhi), n_trials=sample.n_trials))
    return rows


def false_match_sweeps(n_trials: int, *, seed: int = 0, device: str | torch.device = "cpu",
                       level: float = 0.99) -> list[dict]:
    """Exact P_FM and simulated estimates against n, a, s and θ: four panels of data for
    :func:`labkit.spiking.sdr_figures.theory_vs_sim_panels` (one simulation per (n, a, s) gives every θ)."""
    k = iter(range(10_000))

    def sim(n, a, s):
        return simulate_false_match(n, a, s, n_trials, seed=seed + next(k), device=device)

    def mc(samples, x, thetas):
        est = np.array([smp.at_least(t) for smp, t in zip(samples, thetas)], dtype=float)
        lo, hi = zip(*(smp.interval(t, level) for smp, t in zip(samples, thetas)))
        return (np.asarray(x), est, np.array(lo, dtype=float), np.array(hi, dtype=float))

    panels = []
    # against n (a = 64, s = 16): the paper's "importance of large n"
    n_line = np.unique(np.round(np.logspace(np.log10(300), np.log10(20000), 40)).astype(int))
    n_mc = np.array([300, 600, 1200, 2500, 5000, 10000, 20000])
    smp = [sim(n, 64, 16) for n in n_mc]
    panels.append(dict(title="against population size n (a=64, s=16)", xaxis="cells n", log_x=True, curves=[
        dict(name=f"θ={t}", x=n_line, y=false_match(n_line, 64, 16, t), mc=mc(smp, n_mc, [t] * len(n_mc)))
        for t in (4, 6, 8)]))
    # against a (n = 2000, s = 20)
    a_line = np.arange(5, 401, 5)
    a_mc = np.array([20, 50, 100, 200, 300, 400])
    smp = [sim(2000, a, 20) for a in a_mc]
    panels.append(dict(title="against active cells a (n=2000, s=20)", xaxis="active cells a", curves=[
        dict(name=f"θ={t}", x=a_line, y=false_match(2000, a_line, 20, t), mc=mc(smp, a_mc, [t] * len(a_mc)))
        for t in (6, 10)]))
    # against s at theta = s/2 (n = 10000, a = 300): the paper's "small subsample"
    s_line = np.arange(2, 31)
    s_mc = np.arange(2, 17, 2)
    smp = [sim(10000, 300, s) for s in s_mc]
    panels.append(dict(title="against synapses s, θ = s/2 (n=10000, a=300)", xaxis="synapses s", curves=[
        dict(name="θ=⌊s/2⌋", x=s_line, y=false_match(10000, 300, s_line, s_line // 2), mc=mc(smp, s_mc, s_mc // 2))]))
    # against theta
    curves = []
    for n, a, s in ((1000, 200, 25), (10000, 300, 24)):
        th = np.arange(1, s + 1)
        smp = sim(n, a, s)
        curves.append(dict(name=f"n={n}, a={a}, s={s}", x=th, y=false_match(n, a, s, th), mc=mc([smp] * len(th), th, th)))
    panels.append(dict(title="against the threshold θ", xaxis="NMDA threshold θ", curves=curves))
    return panels
