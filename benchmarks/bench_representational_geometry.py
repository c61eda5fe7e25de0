"""Benchmark: labkit.dynamics.representational_geometry against rsatoolbox and plain NumPy.

1. ``rdm`` (one float64 GEMM per RDM, torch) against rsatoolbox's ``calc_rdm`` on the same data:
   Euclidean, correlation and crossnobis (2 folds, identity noise), at 1,000 conditions x 10,000 units
   (``--quick``: 300 x 3,000). The RDMs must agree to 1e-6 (max abs difference / max abs entry).
   Targets (issue 35): >= 2x on Euclidean, >= 10x on correlation and crossnobis.
2. A (20 layers x 5 seeds)² linear-CKA matrix: ``cka_matrix`` (centred Gram matrices, one GEMM) against
   plain NumPy with Kornblith et al.'s feature formula ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F), pair by pair, on 500
   examples x 128 units (``--quick``: 200 x 64). Target: >= 5x.

rsatoolbox is a runtime dependency (it is installed with labkit); the benchmark skips it, and says so, where
it is missing. Both sides run on the caller's threads; times are wall-clock (medians of repeats after a warm-up
call; one repeat at the full size, whose rsatoolbox side takes about a minute).

    .venv/bin/python benchmarks/bench_representational_geometry.py [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from labkit.dynamics.representational_geometry import cka_matrix, rdm, upper


def timed(fn, repeats):
    fn()
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max() / np.abs(b).max())


def bench_rdm(n, p, repeats):
    try:
        import rsatoolbox
    except ImportError:
        print("rsatoolbox is not installed: the RDM comparison is skipped")
        return
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, n, p))                                   # two folds of n conditions
    mean = X.mean(0)
    ds_mean = rsatoolbox.data.Dataset(mean)
    ds_cv = rsatoolbox.data.Dataset(X.reshape(2 * n, p), obs_descriptors={
        "cond": np.tile(np.arange(n), 2), "fold": np.repeat([0, 1], n)})
    cases = {
        "euclidean": (lambda: rsatoolbox.rdm.calc_rdm(ds_mean, method="euclidean").get_vectors()[0],
                      lambda: upper(rdm(torch.from_numpy(mean), "euclidean")).numpy()),
        "correlation": (lambda: rsatoolbox.rdm.calc_rdm(ds_mean, method="correlation").get_vectors()[0],
                        lambda: upper(rdm(torch.from_numpy(mean), "correlation")).numpy()),
        "crossnobis": (lambda: rsatoolbox.rdm.calc_rdm(ds_cv, method="crossnobis", descriptor="cond",
                                                       cv_descriptor="fold").get_vectors()[0],
                       lambda: upper(rdm(torch.from_numpy(X), "crossnobis")).numpy()),
    }
    for name, (peer, ours) in cases.items():
        t_peer, ref = timed(peer, repeats)
        t_ours, got = timed(ours, repeats)
        err = rel_err(got, ref)
        print(f"rdm {name:>11} {n} x {p}: rsatoolbox {t_peer:7.3f} s, labkit {t_ours:7.3f} s, "
              f"ratio {t_peer / t_ours:6.1f}x, relative difference {err:.1e} {'ok' if err <= 1e-6 else 'MISMATCH'}")


def numpy_cka_matrix(reps):
    """Kornblith et al.'s linear CKA from features, pair by pair (the plain NumPy way)."""
    cs = [r - r.mean(0) for r in reps]
    self_norm = [np.linalg.norm(c.T @ c) for c in cs]
    R = len(cs)
    C = np.eye(R)
    for i in range(R):
        for j in range(i + 1, R):
            C[i, j] = C[j, i] = np.linalg.norm(cs[j].T @ cs[i]) ** 2 / (self_norm[i] * self_norm[j])
    return C


def bench_cka(n, p, repeats):
    rng = np.random.default_rng(1)
    reps = rng.standard_normal((100, n, p)) @ rng.standard_normal((p, p)) / np.sqrt(p)   # 20 layers x 5 seeds
    t_np, ref = timed(lambda: numpy_cka_matrix(list(reps)), repeats)
    t_ours, got = timed(lambda: cka_matrix(torch.from_numpy(reps)).numpy(), repeats)
    err = rel_err(got, ref)
    print(f"CKA matrix 100 x 100 of {n} x {p}: NumPy {t_np:7.3f} s, labkit {t_ours:7.3f} s, "
          f"ratio {t_np / t_ours:6.1f}x, relative difference {err:.1e} {'ok' if err <= 1e-6 else 'MISMATCH'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat")
    args = parser.parse_args()
    if args.quick:
        bench_rdm(300, 3000, 1)
        bench_cka(200, 64, 1)
    else:
        bench_rdm(1000, 10000, 1)
        bench_cka(500, 128, 1)


if __name__ == "__main__":
    main()
