"""Benchmark: labkit.dynamics.common against the loops it replaces (no PyPI peer exists).

1. ``tangent_kernel`` (one ``jacrev`` per example, vectorised by ``vmap``) against the official code's
   way of building the tangent kernel: one ``torch.autograd.grad`` call per example and output, stacking
   the gradients w.r.t. W_rec into a Jacobian J and taking J Jᵀ. Workload: the ReLU RNN with N = 300
   units, a probe batch of 32 decision trials of 8 steps, the 3 outputs at the decision step. The two
   kernels must agree to 1e-5 (relative, max abs difference over max abs entry). Target: >= 20x.
2. A 5 x 5 grid of ranks x seeds trained as one ``Ensemble`` in one ``train`` call, against the 25 RNNs
   trained one after another (same inits, same batches, same SGD with momentum). Target: >= 5x.

Both sides run on one CPU thread (``labkit.core.threads``), in float32; times are medians of repeats
(wall clock and this process's CPU time, which is steadier on a shared machine), after a warm-up call.

    .venv/bin/python benchmarks/bench_rich_lazy.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from labkit.core.threads import threads
from labkit.core.train import train
from labkit.dynamics.common import Ensemble, tangent_kernel
from labkit.dynamics.rich_lazy.rnn import ReluRNN, task_loss
from labkit.dynamics.rich_lazy.tasks import make_trials


def timed(fn, repeats):
    """Median wall and CPU seconds of ``repeats`` calls after one untimed warm-up call (torch.func's first
    call sets itself up for about a second)."""
    fn()
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def loop_kernel(model, x):
    """The official pattern: a gradient per example and per output."""
    rows = []
    out = model(x)[:, -1]  # (batch, outputs) at the decision step
    for i in range(out.shape[0]):
        for a in range(out.shape[1]):
            g = torch.autograd.grad(out[i, a], model.W_rec, retain_graph=True)[0]
            rows.append(g.reshape(-1))
    J = torch.stack(rows)
    return J @ J.T


def bench_kernel(n_hidden, repeats):
    model = ReluRNN(3, n_hidden, 3, seed=0)
    x = make_trials("decision", 32, 0).x
    w_loop, c_loop, K_loop = timed(lambda: loop_kernel(model, x), repeats)
    w_vec, c_vec, K_vec = timed(lambda: tangent_kernel(model, ["W_rec"], x, output=lambda y: y[:, -1]), repeats)
    err = float((K_loop - K_vec).abs().max() / K_loop.abs().max())
    print(
        f"tangent kernel, N = {n_hidden}, 32 trials x 3 outputs: loop {w_loop:.3f} s (cpu {c_loop:.3f}), "
        f"jacrev+vmap {w_vec:.3f} s (cpu {c_vec:.3f})"
    )
    print(
        f"  ratio (wall) {w_loop / w_vec:.1f}x, ratio (cpu) {c_loop / c_vec:.1f}x; max relative difference {err:.1e} "
        f"({'ok' if err < 1e-5 else 'NOT EQUAL'} at 1e-5); target >= 20x"
    )


def bench_ensemble(n_hidden, steps, repeats):
    ranks, seeds = [1, 3, 10, 30, n_hidden], range(5)
    batches = [make_trials("decision", 32, 100 + s) for s in range(steps)]

    def members():
        return [ReluRNN(3, n_hidden, 3, rank=r, seed=k) for r in ranks for k in seeds]

    def sequential():
        for m in members():
            opt = torch.optim.SGD(m.parameters(), lr=0.003, momentum=0.9)
            train(m, lambda s, m=m: task_loss(m(batches[s].x), batches[s].y), steps, optimizer=opt, progress=False)

    def together():
        ens = Ensemble(members())
        opt = torch.optim.SGD(ens.parameters(), lr=0.003, momentum=0.9)
        train(ens, lambda s: task_loss(ens(batches[s].x), batches[s].y), steps, optimizer=opt, progress=False)

    w_seq, c_seq, _ = timed(sequential, repeats)
    w_ens, c_ens, _ = timed(together, repeats)
    print(
        f"5 ranks x 5 seeds, N = {n_hidden}, {steps} steps: sequential {w_seq:.2f} s (cpu {c_seq:.2f}), "
        f"one Ensemble {w_ens:.2f} s (cpu {c_ens:.2f})"
    )
    print(f"  ratio (wall) {w_seq / w_ens:.1f}x, ratio (cpu) {c_seq / c_ens:.1f}x; target >= 5x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller problems, one repeat")
    a = ap.parse_args()
    with threads(1):
        bench_kernel(100 if a.quick else 300, 1 if a.quick else 3)
        bench_ensemble(64 if a.quick else 100, 50 if a.quick else 200, 1 if a.quick else 2)


if __name__ == "__main__":
    main()
