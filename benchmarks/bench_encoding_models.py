"""Benchmark: per-target ridge with leave-one-out penalties (labkit.neuro.encoding_models.PerTargetRidge)
against scikit-learn's ``RidgeCV(alpha_per_target=True)`` and himalaya's ``RidgeCV``.

The issue's workload: 10,000 voxels, 3,200 features, 4,000 samples, 12 log-spaced penalties, leave-one-out,
a penalty per voxel. Each library fits the same float64 data (features with a decaying spectrum, voxels with
random noise levels, so the chosen penalties spread); the timed call is the whole ``fit``. Reported: seconds
(median of ``--repeats``, round-robin in this one process), labkit's speed-up over each peer, the fraction of
voxels given the same penalty as the peer, and the largest difference of held-out R² between them. Never
asserted in tests.

    python benchmarks/bench_encoding_models.py                 # the issue's workload (minutes on a CPU)
    python benchmarks/bench_encoding_models.py --quick         # 1,000 voxels, 800 features, 1,000 samples
    python benchmarks/bench_encoding_models.py --device cuda   # labkit on a GPU (the peers stay on the CPU)

Peers (the ``bench`` extra): scikit-learn (a labkit dependency) and ``himalaya`` (PyPI, its NumPy backend).
himalaya's ``RidgeCV`` chooses each voxel's penalty by K-fold cross-validation (5 folds by default), not by
leave-one-out, so its penalties need not agree with the other two: its agreement is printed for information.
A peer that is not installed is skipped, and the run says so.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from labkit.core.device import resolve_device
from labkit.neuro.encoding_models import DEFAULT_ALPHAS, PerTargetRidge


def workload(n: int, p: int, t: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + 500, p)) * np.exp(-np.arange(p) / (p / 4))
    w = rng.standard_normal((p, t)) / np.sqrt(p)
    y = x @ w + rng.standard_normal((n + 500, t)) * rng.uniform(0.005, 0.2, t)
    return x[:n], y[:n], x[n:], y[n:]


def r2(pred, y):
    return 1 - ((pred - y) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    n, p, t = (1000, 800, 1000) if args.quick else (4000, 3200, 10000)
    x, y, xt, yt = workload(n, p, t)
    dev = resolve_device(args.device)
    print(f"{t:,} voxels, {p:,} features, {n:,} samples, {len(DEFAULT_ALPHAS)} penalties; labkit on {dev}")
    fits = {}
    fits["labkit"] = timed(lambda: PerTargetRidge(device=str(dev)).fit(x, y), args.repeats)
    from sklearn.linear_model import RidgeCV
    fits["scikit-learn"] = timed(lambda: RidgeCV(alphas=DEFAULT_ALPHAS, alpha_per_target=True).fit(x, y),
                                 args.repeats)
    try:
        from himalaya.ridge import RidgeCV as HimalayaRidgeCV
        fits["himalaya"] = timed(lambda: HimalayaRidgeCV(alphas=np.asarray(DEFAULT_ALPHAS)).fit(x, y), args.repeats)
    except ImportError:
        print("himalaya is not installed: skipped (pip install himalaya)")
    ours_s, ours = fits["labkit"]
    ours_r2 = r2(ours.predict(xt), yt)
    print(f"{'labkit':>13}: {ours_s:8.2f} s")
    for name in [k for k in fits if k != "labkit"]:
        sec, m = fits[name]
        alpha = np.broadcast_to(np.asarray(m.best_alphas_ if name == "himalaya" else m.alpha_, float), (t,))
        same = np.mean(np.isclose(alpha, ours.alpha_, rtol=1e-6))
        gap = np.abs(r2(np.asarray(m.predict(xt)), yt) - ours_r2).max()
        print(f"{name:>13}: {sec:8.2f} s; labkit {sec / ours_s:5.2f}x faster; same penalty for {same:.1%} of voxels; "
              f"max |R² difference| {gap:.1e}")


if __name__ == "__main__":
    main()
