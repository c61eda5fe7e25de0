"""Benchmark: labkit's Monte-Carlo false-match simulator against plain NumPy and the memory bound.

Workload: random SDRs (``a`` of ``n`` cells active) compared with random dendritic segments (``s``
distinct synapses), the draw behind :func:`labkit.spiking.sdr_dendrites.simulate_false_match` at
M = 1. Every implementation draws P patterns and S segments and counts all P x S overlaps, so all measure
*segment–pattern comparisons per second* for the same statistics:

* labkit: the pattern bank as a cells x patterns float32 table, segments as sorted index lists drawn
  by rejection, overlaps by one ``embedding_bag`` sum per chunk, a histogram on the device;
* plain NumPy: the same table, overlaps by fancy indexing and a sum, ``np.bincount``, with segments
  drawn two ways: by the same rejection draw as labkit (``NumPy rej``: the fair comparison of the
  overlap counting) and as ``argpartition`` of uniform keys (``NumPy argp``: the textbook way to draw a
  k-subset, O(n) per segment instead of O(s)).

The memory bound: an all-pairs overlap reads, for each segment, ``s`` rows of ``P`` float32 entries
of the table, i.e. ``4 s`` bytes per comparison; the machine's read bandwidth (a large float32 sum,
measured in the same run) over ``4 s`` bytes is the most comparisons per second that representation
can stream from memory. It is a reference, not a bound, where the table (printed in MB) fits in the
caches: then the rows are read from cache and a simulator can beat it.
labkit's and the NumPy rejection run's estimates are printed beside the exact false-match probability.

    .venv/bin/python benchmarks/bench_sdr_dendrites.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from labkit.spiking.sdr_dendrites import false_match, simulate_false_match
from labkit.spiking.sdr_dendrites.simulate import _split_trials, _subset_cost


def read_bandwidth(n_bytes: int = 1 << 29, repeats: int = 5) -> float:
    """Bytes per second read by a float32 sum over a tensor far larger than the caches."""
    x = torch.ones(n_bytes // 4, dtype=torch.float32)
    x.sum()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t)
    return n_bytes / best


def rejection_subsets(rng, rows: int, n: int, k: int) -> np.ndarray:
    """``rows`` uniform k-subsets of range(n), sorted: k independent draws, rows with a repeat redrawn."""
    out = np.sort(rng.integers(0, n, (rows, k)), axis=1)
    redo = np.flatnonzero((out[:, 1:] == out[:, :-1]).any(axis=1))
    while redo.size:
        new = np.sort(rng.integers(0, n, (redo.size, k)), axis=1)
        ok = ~(new[:, 1:] == new[:, :-1]).any(axis=1)
        out[redo[ok]] = new[ok]
        redo = redo[~ok]
    return out


def numpy_false_match(n: int, a: int, s: int, n_trials: int, seed: int = 0, P: int = 4096,
                      draw: str = "argpartition") -> np.ndarray:
    """Histogram of overlaps, plain NumPy: the same all-pairs design; segments by ``draw``
    ("argpartition" of uniform keys, or "rejection" as labkit draws them)."""
    rng = np.random.default_rng(seed)
    P = min(P, n_trials)
    S = -(-n_trials // P)
    act = rng.random((P, n)).argpartition(a, axis=1)[:, :a]
    table = np.zeros((n, P), dtype=np.float32)
    table[act, np.arange(P)[:, None]] = 1.0
    counts = np.zeros(s + 1, dtype=np.int64)
    chunk = max(1, (1 << 22) // P)
    done = 0
    for start in range(0, S, chunk):
        m = min(chunk, S - start)
        if draw == "rejection":
            segs = rejection_subsets(rng, m, n, s)
        else:
            segs = rng.random((m, n)).argpartition(s, axis=1)[:, :s]
        ov = table[segs].sum(axis=1).astype(np.int64).ravel()[: n_trials - done]
        counts += np.bincount(ov, minlength=s + 1)
        done += ov.size
    return counts


def timed(fn, repeats: int):
    fn()                                          # warm up (allocations, thread pools)
    ts, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer comparisons, one repeat")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for labkit (NumPy's indexing uses one)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else 3
    n_lab = 2_000_000 if args.quick else 20_000_000
    n_np = 200_000 if args.quick else 2_000_000
    settings = [(1000, 200, 25, 15), (2000, 40, 20, 4), (10000, 300, 24, 4)]
    bw = read_bandwidth()
    print(f"read bandwidth: {bw / 1e9:.1f} GB/s (float32 sum over 512 MiB); torch threads: {torch.get_num_threads()}")
    rows = []
    for n, a, s, theta in settings:
        t_lab, smp = timed(lambda: simulate_false_match(n, a, s, n_lab, seed=0), repeats)
        t_rej, counts = timed(lambda: numpy_false_match(n, a, s, n_np, seed=0, draw="rejection"), repeats)
        t_np, _ = timed(lambda: numpy_false_match(n, a, s, n_np, seed=0), repeats)
        exact = float(false_match(n, a, s, theta))
        est_lab = float(smp.at_least(theta))
        est_np = float(counts[theta:].sum() / n_np)
        bound = bw / (4 * s)
        table_mb = n * _split_trials(n_lab, float(n), _subset_cost(s, n), 4096)[0] * 4 / 1e6   # labkit's table
        rows.append((f"n={n} a={a} s={s}", n_lab / t_lab, n_np / t_rej, n_np / t_np, bound, table_mb, theta,
                     exact, est_lab, est_np))
        print(f"done n={n} a={a} s={s}", flush=True)

    print("\nSegment–pattern comparisons per second (median of repeats); ratios are labkit over the other")
    print(f"{'setting':<22} {'labkit':>10} {'NumPy rej':>10} {'NumPy argp':>10} {'stream ref':>10} {'table':>8}"
          f" {'vs rej':>7} {'vs argp':>7} {'of ref':>7}   {'θ':>2} {'exact P_FM':>10} {'labkit est':>10} {'NumPy est':>10}")
    for label, lab, rej, argp, bound, mb, theta, exact, el, en in rows:
        print(f"{label:<22} {lab:10.3e} {rej:10.3e} {argp:10.3e} {bound:10.3e} {mb:6.0f}MB"
              f" {lab / rej:7.1f} {lab / argp:7.1f} {lab / bound:7.2f}   {theta:>2} {exact:10.3e} {el:10.3e} {en:10.3e}")


if __name__ == "__main__":
    main()
