"""Benchmark: the five neural fields against each other on one picture, and against the machine.

Workload: scikit-image's ``camera`` at 256x256 (65,536 coordinates), every field at the same budget of
50,000 parameters, Adam with the notebook's defaults (16,384 random pixels per step, cosine schedule),
the same seed. Measured in one run:

1. **Time to 25 dB and to 30 dB** of full-picture PSNR for each field (set-up such as NeuRBF's k-means
   included; scoring excluded), and the ratio of each to the fastest field.
2. **Training throughput**: coordinates per second over the training steps, the floating-point operations
   per coordinate of one training step (forward and backward, counted by
   ``torch.utils.flop_counter.FlopCounterMode``, which counts matrix products only; gathers, sines and
   exponentials are free to it), the achieved rate, and its fraction of the machine's peak, estimated in the
   same run as the best of several 4096x4096 float32 matrix products (at the start and at the end).

Everything runs on one CPU thread by default (``--threads``), fields and peak alike, so the ratios are
not an artefact of how loaded a shared machine is.

The Fourier features use sigma = 4, FreSh's choice for this picture (see the notebook). The official
codes of NeuRBF (CUDA kernels, CuPy), Gaussian RBFNet/GNF (CUDA grid encoder) and FreSh (PyTorch
Lightning, GPU by default) do not run on this CPU, so the peers here are the five fields themselves,
all written in plain PyTorch and trained by the same loop.

    .venv/bin/python benchmarks/bench_neural_fields.py [--quick] [--steps N] [--threads N]
"""
from __future__ import annotations

import argparse
import math
import os
import time

import torch

os.environ.setdefault("LABKIT_PROGRESS", "0")

from labkit.core.threads import set_threads  # noqa: E402
from labkit.fields.neural_fields import (  # noqa: E402
    FIELD_LABELS,
    FIELDS,
    build_field,
    fit,
    load_picture,
)


def matmul_peak(n: int = 4096, repeats: int = 5) -> float:
    """Best float32 matrix-product rate of this machine, in FLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def flops_per_coordinate(kind: str, picture, n_params: int, batch: int, seed: int, options: dict) -> float:
    """Matrix-product FLOPs of one training step (forward + backward) per coordinate in the batch."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_field(kind, n_params, picture.channels, resolution=picture.resolution, seed=seed, **options)
    model.prepare(picture)
    rows = torch.randperm(picture.coords.shape[0], generator=torch.Generator().manual_seed(seed))[:batch]
    with FlopCounterMode(display=False) as counter:
        loss = torch.mean((model.fit_forward(rows) - picture.values[rows]) ** 2)
        loss.backward()
    return counter.get_total_flops() / batch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="128x128 picture, 20,000 parameters, 150 steps")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1, so a shared machine's load does not skew the ratios; "
                         "0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        set_threads(args.threads)
    res, n_params, steps, batch = (128, 20_000, 150, 4096) if args.quick else (256, 50_000, args.steps, 16_384)
    pic = load_picture("camera", res)
    options = {"fourier": {"sigma": 4.0}}
    peak = matmul_peak()                         # measured again at the end; the higher one counts
    print(f"camera {res}x{res}, {n_params:,} parameters per field, {steps} steps of {batch:,} pixels, "
          f"seed {args.seed}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)")
    print(f"machine peak (best 4096x4096 float32 matmul, on these threads): {peak / 1e9:.1f} GFLOP/s\n")

    rows = {}
    for kind in FIELDS:
        model = build_field(kind, n_params, pic.channels, resolution=res, seed=args.seed, **options.get(kind, {}))
        torch.manual_seed(args.seed)
        r = fit(model, pic, steps, batch_size=batch, eval_every=10, seed=args.seed)
        train_s = float(r.seconds[-1])
        fpc = flops_per_coordinate(kind, pic, n_params, batch, args.seed, options.get(kind, {}))
        rows[kind] = dict(n=model.n_params, psnr=r.psnr, t25=r.seconds_to(25.0), t30=r.seconds_to(30.0),
                          setup=r.setup_seconds, cps=steps * batch / train_s, fpc=fpc)
        print(f"  {kind}: {r.psnr:.2f} dB after {train_s:.1f} s", flush=True)
    peak = max(peak, matmul_peak())

    print(f"machine peak, best of the start and the end of the run: {peak / 1e9:.1f} GFLOP/s")

    def ratio(v, best):
        return "never" if not math.isfinite(v) else f"{v / best:5.2f}x"

    best25 = min(v["t25"] for v in rows.values())
    best30 = min(v["t30"] for v in rows.values())
    print(f"\n{'field':>22} {'params':>7} {'final dB':>8} {'to 25 dB':>9} {'ratio':>7} {'to 30 dB':>9} {'ratio':>7} "
          f"{'coords/s':>10} {'MFLOP/coord':>11} {'GFLOP/s':>8} {'of peak':>7}")
    for kind, v in rows.items():
        t25 = f"{v['t25']:8.1f}s" if math.isfinite(v["t25"]) else "        —"
        t30 = f"{v['t30']:8.1f}s" if math.isfinite(v["t30"]) else "        —"
        achieved = v["cps"] * v["fpc"]
        print(f"{FIELD_LABELS[kind]:>22} {v['n']:>7,} {v['psnr']:8.2f} {t25} {ratio(v['t25'], best25):>7} {t30} "
              f"{ratio(v['t30'], best30):>7} {v['cps']:10.3g} {v['fpc'] / 1e6:11.3f} {achieved / 1e9:8.2f} "
              f"{achieved / peak:7.1%}")
    print("\nratios: time to the PSNR over the fastest field's time to it (1.00x = fastest); '—'/never: not "
          "reached within the steps. GFLOP/s counts matrix products only, so it understates the grid fields' work.")


if __name__ == "__main__":
    main()
