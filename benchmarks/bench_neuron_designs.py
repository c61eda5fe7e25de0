"""Benchmark: labkit's KAN against pykan's on the KAN paper's f4, same shape, same data, same optimizer.

Workload: ``f4(x) = exp(½(sin(π(x₁² + x₂²)) + sin(π(x₃² + x₄²))))`` on 2,000 training points uniform in
[-1, 1]⁴ (1,000 more for the test), a KAN of width ``[4, 4, 2, 1]`` with ``grid=5, k=3`` in both libraries:
labkit's ``KANLinear`` layers (``build("kan", 4, 1, 4)``) and pykan's ``KAN(width=[4,4,2,1], grid=5, k=3)``
(pykan 0.2.8, the ``bench`` extra; its symbolic branch and activation caching switched off by ``speed()``,
as its docs advise for training speed). Both are trained by the same loop: full-batch Adam, lr 0.01, cosine
to 1/100, ``--steps`` steps (pykan's own ``fit`` uses LBFGS; Adam keeps the comparison one of implementations).

Measured in one run, on one CPU thread (``--threads``), so the ratios are not an artefact of a loaded machine:

1. time per forward, per forward + backward, and per Adam step (median of ``--repeats``);
2. test RMSE after ``--steps`` steps (the issue asks for agreement within 20%), and wall time of training.

    PYTHONPATH=<pykan dir> .venv-bench/bin/python benchmarks/bench_neuron_designs.py [--steps N] [--quick]

Result on the shared 2-core machine under heavy load (load average 13-18; one run, seed 0, 2,000 steps), after the
basis' closed-form derivative and pykan's rule for hidden values past the grid (2026-12-08): pykan / labkit time per
forward 4.8x, forward + backward 5.3x, Adam step 3.6x, whole training 2.9x (before: 2.0x, 1.5x, 1.3x, 2.7x); test
RMSE labkit 0.0174 against pykan 0.0059 on this seed. Across seeds the two overlap (an A/B with this loop, seeds 0
and 1: labkit 0.0119, 0.0139; pykan 0.0059, 0.0181), so one seed's RMSE ratio says little. Neither of the issue's
targets (>= 10x, RMSE within 20% on this seed) is met: the step is bound by the number of small tensor ops
(about 60 per step), which eager PyTorch cannot fuse.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import torch

os.environ.setdefault("LABKIT_PROGRESS", "0")

from labkit.core.threads import set_threads  # noqa: E402
from labkit.fields.neuron_designs import build, regression_task  # noqa: E402


def pykan_model(seed: int):
    from kan import KAN

    model = KAN(width=[4, 4, 2, 1], grid=5, k=3, seed=seed, auto_save=False, ckpt_path="/tmp/pykan-bench-ckpt")
    if hasattr(model, "speed"):
        model.speed()
    return model


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train(model, task, steps: int, lr: float = 0.01) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(s + 1, steps) / steps)))
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = (model(task.x_train) - task.y_train).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="200 steps, 5 repeats")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.repeats = 200, 5
    set_threads(args.threads)
    task = regression_task("f4", n_train=2000, n_test=1000, seed=args.seed)
    torch.manual_seed(args.seed)
    models = {"labkit KANLinear": build("kan", 4, 1, 4), "pykan KAN": pykan_model(args.seed)}
    rows = {}
    for name, model in models.items():
        x, y = task.x_train, task.y_train
        opt = torch.optim.Adam(model.parameters(), lr=1e-9)

        def forward():
            with torch.no_grad():
                model(x)

        def backward():
            (model(x) - y).square().mean().backward()

        def step():
            opt.zero_grad()
            (model(x) - y).square().mean().backward()
            opt.step()

        t = {k: timed(f, args.repeats) for k, f in (("forward", forward), ("fwd+bwd", backward), ("Adam step", step))}
        fresh = build("kan", 4, 1, 4) if name.startswith("labkit") else pykan_model(args.seed)
        wall = train(fresh, task, args.steps)
        with torch.no_grad():
            rmse = float((fresh(task.x_test) - task.y_test).square().mean().sqrt())
        n = sum(p.numel() for p in fresh.parameters() if p.requires_grad)
        rows[name] = {**t, "train_s": wall, "rmse": rmse, "params": n}
        print(f"{name:>18}: {n} trainable params; forward {t['forward'] * 1e3:.2f} ms, "
              f"fwd+bwd {t['fwd+bwd'] * 1e3:.2f} ms, Adam step {t['Adam step'] * 1e3:.2f} ms; "
              f"{args.steps} steps in {wall:.1f} s; test RMSE {rmse:.4f}")
    a, b = rows["labkit KANLinear"], rows["pykan KAN"]
    for k in ("forward", "fwd+bwd", "Adam step", "train_s"):
        print(f"pykan / labkit, {k}: {b[k] / a[k]:.1f}x")
    r = a["rmse"] / b["rmse"]
    print(f"test RMSE, labkit / pykan: {r:.3f} (within 20%: {abs(r - 1) <= 0.2})")


if __name__ == "__main__":
    main()
