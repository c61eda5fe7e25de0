"""The exact theory of SDR matching on a dendritic segment (Ahmad & Hawkins 2016), in log space.

False matches (Eq. 1-3), the union property (exactly, through the distribution of the union size,
and as the paper does, with the expected size), false negatives under noise, and the threshold θ
that balances false positives against false negatives. See the package docstring for the formulas.

Every probability takes ``control``: ``"none"`` (the exact sums) or ``"normal"``, the notebook's negative
control, which replaces each hypergeometric tail by its central-limit (normal) approximation with the
same mean and variance (and a continuity correction). That is the naive theory: right near the mean,
wrong by orders of magnitude in the far tail where false matches live, so every check of the theory
against the paper's numbers and against the simulation must fail under it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, log_ndtr, logsumexp

from labkit.core.params import check_value
from labkit.spiking.sdr_dendrites.checks import int_array, int_scalar, noise_args, pattern_args

_LGAMMA_TABLE = np.zeros(0)

CONTROLS = ("none", "normal")
"""The theory's modes: the exact sums, or the negative control's normal approximation."""


def check_control(control: str, owner: str | None = None) -> str:
    """``control`` if it is one of :data:`CONTROLS`, else a ParameterError naming it."""
    return check_value("control", control, list(CONTROLS), owner)


def _lgamma1(x: np.ndarray) -> np.ndarray:
    """ln Γ(x + 1) = ln x! for integer arrays x >= 0 (a cached table up to 10^7, gammaln beyond)."""
    global _LGAMMA_TABLE
    top = int(x.max(initial=0))
    if top >= 10**7:
        return gammaln(x + 1.0)
    if top >= _LGAMMA_TABLE.size:
        _LGAMMA_TABLE = gammaln(np.arange(max(2 * top, 1024) + 1, dtype=float) + 1.0)
    return _LGAMMA_TABLE[x]


def log_comb(N, k) -> np.ndarray:
    """log C(N, k) for integer arrays (broadcast), -inf where k < 0 or k > N."""
    N, k = np.broadcast_arrays(np.asarray(N, dtype=np.int64), np.asarray(k, dtype=np.int64))
    ok = (k >= 0) & (k <= N)
    Nc = np.maximum(N, 0)
    kc = np.clip(k, 0, Nc)
    out = _lgamma1(Nc) - _lgamma1(kc) - _lgamma1(Nc - kc)
    return np.where(ok, out, -np.inf)


def _log_normal_tail(N, K, draws, theta) -> np.ndarray:
    """The negative control's log P(X >= theta): X ~ Hypergeometric(N, K, draws) replaced by the normal
    law of the same mean and variance, with a continuity correction (theta <= 0 gives 0, and a theta
    beyond the support, above min(K, draws), gives -inf, as the exact tail)."""
    N, K, draws, theta = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (N, K, draws, theta)))
    p = K / np.maximum(N, 1.0)
    mean = draws * p
    var = draws * p * (1.0 - p) * (N - draws) / np.maximum(N - 1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (theta - 0.5 - mean) / np.sqrt(var)
    z = np.where(var > 0, z, np.where(theta - 0.5 > mean, np.inf, -np.inf))   # a degenerate count
    return np.where(theta <= 0, 0.0, np.where(theta > np.minimum(K, draws), -np.inf, log_ndtr(-z)))


def _log_hyper_tail(N, K, draws, theta, control: str = "none") -> np.ndarray:
    """log P(X >= theta) for X ~ Hypergeometric(population N, K marked, `draws` drawn); broadcasts.
    ``control="normal"``: the normal approximation instead (the negative control)."""
    if control == "normal":
        return _log_normal_tail(N, K, draws, theta)
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
        terms = (log_comb(K[todo], b) + log_comb(N[todo] - K[todo], draws[todo] - b)
                 - log_comb(N[todo], draws[todo])[None, :])
        terms = np.where(valid, terms, -np.inf)
        with np.errstate(divide="ignore"):
            out[todo] = np.minimum(logsumexp(terms, axis=0), 0.0)
    return out.reshape(shape)


def log_false_match(n, a, s, theta, control: str = "none") -> np.ndarray:
    """Natural log of the false-match probability P_FM(n, a, s, θ) (Eq. 1–3); broadcasts over arrays.

    ``theta = 0`` gives 0 (always a match); ``theta > min(s, a)`` gives ``-inf`` (never).
    ``control="normal"``: the negative control's normal approximation.
    """
    n, a, s = pattern_args("false_match", n, a, s, array=True)
    theta = int_array("theta", theta, 0, "false_match")
    return _log_hyper_tail(n, s, a, theta, check_control(control, "false_match"))


def false_match(n, a, s, theta, control: str = "none") -> np.ndarray:
    """The false-match probability P_FM(n, a, s, θ) (Eq. 1–3), a float or array of floats."""
    return np.exp(log_false_match(n, a, s, theta, control))


def overlap_pmf(n: int, a: int, s: int) -> np.ndarray:
    """P(overlap = b), b = 0..s, between a random pattern and a segment of s synapses."""
    n, a, s = pattern_args("overlap_pmf", n, a, s)
    b = np.arange(s + 1)
    return np.exp(log_comb(s, b) + log_comb(n - s, a - b) - log_comb(n, a))


def _log_union_size_pmf(n: int, s: int, M: int) -> np.ndarray:
    """log P(U_M = u), u = 0..min(n, M s): the size of the union of M independent random s-subsets."""
    umax = min(n, M * s)
    logp = np.full(umax + 1, -np.inf)
    logp[s] = 0.0
    k = np.arange(s + 1)                               # overlap of the new subset with the union
    for _ in range(M - 1):
        src = np.flatnonzero(np.isfinite(logp))
        # P(k | u) = C(u, k) C(n-u, s-k) / C(n, s); the union grows to u + s - k.
        trans = (log_comb(src[:, None], k[None, :]) + log_comb(n - src[:, None], s - k[None, :])
                 - log_comb(n, s))
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
    n, _, s = pattern_args("union_size_pmf", n, 0, s)
    M = int_scalar("M", M, 1, "union_size_pmf")
    return np.exp(_log_union_size_pmf(n, s, M))


def expected_union_size(n: int, s: int, M: int) -> float:
    """E[U_M] = n (1 - (1 - s/n)^M): the paper's expected number of synapses after M unions."""
    n, _, s = pattern_args("expected_union_size", n, 0, s)
    M = int_scalar("M", M, 1, "expected_union_size")
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
    terms = (log_comb(u[:, None], b[None, :]) + log_comb(n - u[:, None], a - b[None, :])
             - log_comb(n, a) + logpu[:, None])
    with np.errstate(divide="ignore"):
        return logsumexp(terms, axis=0)


def union_overlap_pmf(n: int, a: int, s: int, M: int, method: str = "exact") -> np.ndarray:
    """P(overlap = b), b = 0..min(a, M s), between a random pattern and a segment holding M patterns."""
    n, a, s, M = _union_args(n, a, s, M, method)
    return np.exp(_log_union_overlap_pmf(n, a, s, M, method))


def _union_args(n, a, s, M, method):
    n, a, s = pattern_args("union_false_match", n, a, s)
    M = int_scalar("M", M, 1, "union_false_match")
    check_value("method", method, ["exact", "expected"], "union_false_match")
    return n, a, s, M


def log_union_false_match(n: int, a: int, s: int, theta, M: int, method: str = "exact",
                          control: str = "none") -> np.ndarray:
    """log P(a random pattern matches a segment holding s synapses for each of M patterns).

    ``method="exact"`` averages over the exact distribution of the union size;
    ``method="expected"`` uses the paper's rounded expected union size (Numenta's ``sdr_paper_unions``).
    ``theta`` may be an array; ``M = 1`` is the plain false match. ``control="normal"``: the overlap
    for each union size by the negative control's normal approximation.
    """
    n, a, s, M = _union_args(n, a, s, M, method)
    theta = int_array("theta", theta, 0, "union_false_match")
    if check_control(control, "union_false_match") == "none":
        return _log_tail_from_pmf(_log_union_overlap_pmf(n, a, s, M, method), theta)
    if method == "expected":
        u, logpu = np.array([int(math.floor(expected_union_size(n, s, M) + 0.5))]), np.zeros(1)
    else:
        logp = _log_union_size_pmf(n, s, M)
        u = np.flatnonzero(np.isfinite(logp))
        logpu = logp[u]
    theta = np.asarray(theta)
    terms = logpu.reshape((-1,) + (1,) * theta.ndim) + _log_normal_tail(n, u.reshape((-1,) + (1,) * theta.ndim),
                                                                        a, theta[None])
    return np.minimum(logsumexp(terms, axis=0), 0.0)


def union_false_match(n: int, a: int, s: int, theta, M: int, method: str = "exact",
                      control: str = "none") -> np.ndarray:
    """P(false match) for a segment holding s synapses for each of M patterns (see the log version)."""
    return np.exp(log_union_false_match(n, a, s, theta, M, method, control))


def log_false_negative(a, s, theta, v, control: str = "none") -> np.ndarray:
    """log P(a learned pattern is missed after v of its a active cells are replaced); broadcasts.

    ``theta = 0`` gives ``-inf`` (never missed); ``theta > s`` gives 0 (always missed).
    ``control="normal"``: the negative control's normal approximation.
    """
    a, s, v = noise_args("false_negative", a, s, v, array=True)
    theta = int_array("theta", theta, 0, "false_negative")
    control = check_control(control, "false_negative")
    # b ~ Hypergeometric(a cells, s of them synapsed, v removed); missed when b >= s - theta + 1.
    out = _log_hyper_tail(a, s, v, np.maximum(s - theta + 1, 0), control)
    return np.where(theta == 0, -np.inf, out) if control == "normal" else out


def false_negative(a, s, theta, v, control: str = "none") -> np.ndarray:
    """P(miss) after v of the a active cells are replaced by cells outside the pattern."""
    return np.exp(log_false_negative(a, s, theta, v, control))


def noise_overlap_pmf(a: int, s: int, v: int) -> np.ndarray:
    """P(overlap = c), c = 0..s, of a learned segment with its pattern after v of a cells are replaced."""
    a, s, v = noise_args("noise_overlap_pmf", a, s, v)
    b = np.arange(s + 1)                               # synapses on removed cells; overlap = s - b
    logp = log_comb(s, b) + log_comb(a - s, v - b) - log_comb(a, v)
    return np.exp(logp)[::-1].copy()


def noise_count(a: int, noise: float) -> int:
    """Number of replaced cells for a noise fraction: round(noise * a), halves rounded up."""
    a = int_scalar("a", a, 1, "noise_count")
    noise = check_value("noise", noise, (float, 0, 1), "noise_count")
    return int(math.floor(noise * a + 0.5))


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


def optimal_threshold(n: int, a: int, s: int, v: int, M: int = 1, fp_weight: float = 1.0,
                      control: str = "none") -> ThresholdChoice:
    """The NMDA threshold θ in 1..s that minimises ``fp_weight * P_FP + P_FN``.

    P_FP is the (union) false-match probability, P_FN the miss probability when v of the a active cells
    are replaced. Raising θ trades false positives for false negatives; the minimum of their sum is
    the threshold that balances them. ``control="normal"``: both by the normal approximation.
    """
    n, a, s = pattern_args("optimal_threshold", n, a, s)
    a, s, v = noise_args("optimal_threshold", a, s, v)
    s, M = int_scalar("s", s, 1, "optimal_threshold"), int_scalar("M", M, 1, "optimal_threshold")
    check_value("fp_weight", fp_weight, (float, 0, None, "neither"))
    thetas = np.arange(1, s + 1)
    log_fp = log_union_false_match(n, a, s, thetas, M, control=control)
    log_fn = log_false_negative(a, s, thetas, v, control)
    log_total = np.logaddexp(np.log(fp_weight) + log_fp, log_fn)
    gap = np.abs(np.where(np.isfinite(log_fp) & np.isfinite(log_fn), log_fp - log_fn, np.inf))
    return ThresholdChoice(thetas, np.exp(log_fp), np.exp(log_fn), np.exp(log_total),
                           int(thetas[np.argmin(log_total)]), int(thetas[np.argmin(gap)]),
                           dict(n=n, a=a, s=s, v=v, M=M, fp_weight=fp_weight, control=control))
