"""Benchmark: the cost of biologically plausible credit assignment and of Hebbian orthogonal projection (issue 34).

No light peer exists (Avalanche pulls torchvision, wandb and tensorboard), so each rule is measured against plain
backprop in the same run, on the same MLP and data:

1. Digits, MLP 64-32-32-32-10, SGD batches of 64: seconds per epoch of FA and CCL over BP's (targets: FA <= 1.3x,
   CCL <= 2.2x).
2. The rotated-digits stream (192-256-256-10, 5 tasks): HLOP (projection + Hebbian lateral neurons) over
   fine-tuning, whole runs (target <= 1.3x), and the exact projection for comparison. Both protected runs include
   the exact SVDs (HLOP uses them to size its new neurons and to score them), so this over-states HLOP's own cost.

Printed as ratios measured in one run (the machine may be busy). Run:
    python benchmarks/bench_plasticity_rules.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from labkit.data.datasets import digits  # noqa: E402
from labkit.dynamics.plasticity_rules import RotatedDigits, run_stream, train_rule  # noqa: E402


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer epochs (a smoke test of the benchmark)")
    args = ap.parse_args()
    epochs, stream_epochs, repeats = (5, 3, 1) if args.quick else (20, 30, 3)
    data = digits(0)
    sizes = [64, 32, 32, 32, 10]
    train_rule(data, sizes, "bp", epochs=1)  # warm-up: the first call pays for imports and allocator set-up
    per_epoch = {r: timed(lambda r=r: train_rule(data, sizes, r, epochs=epochs), repeats) / epochs
                 for r in ("bp", "fa", "ccl")}
    print(f"digits, MLP {'-'.join(map(str, sizes))}: CPU seconds per epoch (incl. per-epoch probes)")
    for r, t in per_epoch.items():
        print(f"  {r:>3}: {t * 1e3:7.1f} ms   ratio to BP {t / per_epoch['bp']:.2f}")
    stream = RotatedDigits(data, 5, 192, seed=0)
    runs = {m: timed(lambda m=m: run_stream(stream, (256, 256), m, epochs=stream_epochs), 1)
            for m in ("finetune", "hlop", "exact")}
    print(f"rotated-digits stream, 5 tasks x {stream_epochs} epochs: CPU seconds per run")
    for m, t in runs.items():
        print(f"  {m:>8}: {t:7.1f} s   ratio to fine-tuning {t / runs['finetune']:.2f}")


if __name__ == "__main__":
    main()
