"""Benchmark: labkit.dynamics.rnn_hmm against its peers.

1. ``sinkhorn_divergence`` (loss and gradient) against GeomLoss
   ``SamplesLoss("sinkhorn", p=2, blur=0.2, backend="tensorized")`` on the same two clouds, at 512 x 150
   and 4,096 x 300 points (N x D, float32). The losses must agree to 1e-4 (relative). Target: >= 1.5x.
2. ``fixed_points`` (256 starts at once, damped Gauss-Newton) against a loop of SciPy L-BFGS-B minimising
   the same q(h) = ½‖ReLU(W h) − h‖² from each start, both to q <= 1e-12 (L-BFGS-B with ftol = 0, gtol = 1e-9 and
   up to 5,000 iterations; a start it leaves above 1e-12 is counted). W: a random 50 x 50 matrix with
   spectral radius 0.9. Target: >= 10x.

Both sides run on one CPU thread; times are medians of repeats (wall clock and this process's CPU time,
steadier on a shared machine), after a warm-up call. GeomLoss is in the ``bench`` and ``dev`` extras.

    .venv/bin/python benchmarks/bench_rnn_hmm.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from labkit.core.threads import threads
from labkit.dynamics.rnn_hmm import fixed_points, sinkhorn_divergence


def timed(fn, repeats):
    fn()
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def bench_sinkhorn(n, d, repeats):
    from geomloss import SamplesLoss

    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(n, d, generator=g)
    y0 = torch.randn(n, d, generator=g) + 0.2
    peer = SamplesLoss("sinkhorn", p=2, blur=0.2, backend="tensorized")

    def run(fn):
        def go():
            x, y = x0.clone().requires_grad_(), y0.clone().requires_grad_()
            loss = fn(x, y)
            gx, _ = torch.autograd.grad(loss, [x, y])
            return float(loss), gx

        return go

    w_ours, c_ours, (l_ours, g_ours) = timed(run(lambda x, y: sinkhorn_divergence(x, y, 0.2)), repeats)
    w_peer, c_peer, (l_peer, g_peer) = timed(run(peer), repeats)
    rel = abs(l_ours - l_peer) / abs(l_peer)
    gdiff = float((g_ours - g_peer).abs().max() / g_peer.abs().max())
    print(f"sinkhorn {n} x {d}: labkit {w_ours * 1e3:.0f} ms (cpu {c_ours * 1e3:.0f}), geomloss {w_peer * 1e3:.0f} ms "
          f"(cpu {c_peer * 1e3:.0f}): {w_peer / w_ours:.2f}x wall, {c_peer / c_ours:.2f}x cpu; "
          f"loss rel. diff {rel:.1e} ({'ok' if rel <= 1e-4 else 'FAIL'}), gradient rel. diff {gdiff:.1e}")


def scipy_fixed_points(W, starts):
    from scipy.optimize import minimize

    out, qs = [], []
    for h0 in starts:
        def f(h):
            pre = W @ h
            r = np.maximum(pre, 0) - h
            J = (pre > 0)[:, None] * W - np.eye(len(h))
            return 0.5 * r @ r, J.T @ r

        res = minimize(f, h0, jac=True, method="L-BFGS-B", options=dict(maxiter=5000, ftol=0, gtol=1e-9))
        out.append(res.x)
        qs.append(res.fun)
    return np.array(out), np.array(qs)


def bench_fixed_points(repeats, n_starts=256, n=50):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(n, n))
    W *= 0.9 / np.abs(np.linalg.eigvals(W)).max()
    starts = rng.uniform(0, 2, size=(n_starts, n))
    w_ours, c_ours, fp = timed(lambda: fixed_points(torch.as_tensor(W), torch.as_tensor(starts)), repeats)
    w_peer, c_peer, (_, q) = timed(lambda: scipy_fixed_points(W, starts), max(1, repeats // 2))
    print(f"fixed points, {n_starts} starts, {n} units: labkit {w_ours * 1e3:.0f} ms (cpu {c_ours * 1e3:.0f}), "
          f"SciPy L-BFGS-B loop {w_peer * 1e3:.0f} ms (cpu {c_peer * 1e3:.0f}): {w_peer / w_ours:.1f}x wall, "
          f"{c_peer / c_ours:.1f}x cpu; starts at q <= 1e-12: labkit {int((fp.q <= 1e-12).sum())}, "
          f"SciPy {int((q <= 1e-12).sum())}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="the small Sinkhorn size only, fewer repeats")
    args = ap.parse_args()
    reps = 2 if args.quick else 5
    with threads(1):
        bench_sinkhorn(512, 150, reps)
        if not args.quick:
            bench_sinkhorn(4096, 300, 3)
        bench_fixed_points(reps)


if __name__ == "__main__":
    main()
