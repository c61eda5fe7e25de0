"""Monte-Carlo of SDR matching: explicit random patterns and segments on the device, counted overlaps.

The simulator draws a dense 0/1 bank of random patterns and segments (lists of synapse indices) and
histograms their overlaps (:class:`OverlapSample`), from which the match probability for every θ and
its exact (Clopper–Pearson) confidence interval follow: :func:`simulate_false_match` (plain and union
segments) and :func:`simulate_noise` (a learned segment against its noisy pattern).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.device import resolve_device
from labkit.core.params import check_value
from labkit.core.progress import progress
from labkit.spiking.sdr_dendrites.checks import int_array, int_scalar, noise_args, not_above, pattern_args


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
        theta = np.clip(int_array("theta", theta), 0, len(self.counts))
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
        check_value("level", level, (float, 0, 1, "neither"))
        check_value("event", event, ["at_least", "below"])
        k = self.n_at_least(theta)
        if event == "below":
            k = self.n_trials - k
        return clopper_pearson(k, self.n_trials, level)


def clopper_pearson(k, n_trials: int, level: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial confidence interval for k successes out of n_trials."""
    from scipy import stats  # imported here: scipy.stats is slow to import

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


def _check_sim(owner, n, a, s, n_trials, M=1):
    n, a, s = pattern_args(owner, n, a, s)
    return n, a, s, int_scalar("n_trials", n_trials, 1, owner), int_scalar("M", M, 1, owner)


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
    n, a, s, n_trials, M = _check_sim("simulate_false_match", n, a, s, n_trials, M)
    dev = resolve_device(device)
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
    n, a, s, n_trials, _ = _check_sim("simulate_noise", n, a, s, n_trials)
    a, s, v = noise_args("simulate_noise", a, s, v)
    not_above("v", v, "n - a", n - a)
    dev = resolve_device(device)
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
