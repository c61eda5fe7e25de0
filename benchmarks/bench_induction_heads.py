"""Benchmark: training steps per second of labkit's transformer against TransformerLens.

The same model — two attention-only layers with LayerNorm, rotary positions, biases, the
notebook's default size and the ``full`` profile's — in labkit (:class:`labkit.interp.transformer.
Transformer`) and in TransformerLens (``HookedTransformer``, a benchmark-only dependency, with no
hooks attached), trained on the same pre-drawn batches of repeated random segments with the same
in-context loss and AdamW. A step is forward, loss, backward and optimizer step; the median over
steps after a warm-up is reported, single-threaded (as ``train_induction`` runs on the CPU: these
matrices are too small for threads to pay) and with all threads.

    .venv/bin/python benchmarks/bench_induction_heads.py [--quick]

TransformerLens pulls transformers, accelerate, datasets and wandb; install it in a separate
environment (``pip install torch==2.13.0 && pip install -e . transformer_lens``). Without it only
labkit's numbers are printed.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from labkit.interp.induction_heads import in_context_loss, repeated_segments
from labkit.interp.transformer import Transformer, TransformerConfig

SIZES = {
    "notebook default": dict(d_vocab=32, n_ctx=24, d_model=32, n_heads=4, batch=32),
    "full profile": dict(d_vocab=256, n_ctx=64, d_model=128, n_heads=4, batch=128),
}


def labkit_model(size, seed=0):
    torch.manual_seed(seed)
    cfg = TransformerConfig(d_vocab=size["d_vocab"], n_ctx=size["n_ctx"], d_model=size["d_model"], n_layers=2,
                            n_heads=size["n_heads"], d_head=size["d_model"] // size["n_heads"], d_mlp=0,
                            positional="rope")
    return Transformer(cfg)


def lens_model(size, seed=0):
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = HookedTransformerConfig(n_layers=2, d_model=size["d_model"], n_ctx=size["n_ctx"],
                                  d_head=size["d_model"] // size["n_heads"], n_heads=size["n_heads"],
                                  d_vocab=size["d_vocab"], attn_only=True, normalization_type="LN",
                                  positional_embedding_type="rotary", rotary_dim=size["d_model"] // size["n_heads"],
                                  act_fn="gelu", seed=seed, device="cpu")
    return HookedTransformer(cfg)


def steps_per_second(model, batches, warmup: int) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    model.train()
    times = []
    for i, batch in enumerate(batches):
        t = time.perf_counter()
        loss = in_context_loss(model(batch.tokens), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return 1.0 / float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps")
    args = ap.parse_args()
    n_steps, warmup = (30, 5) if args.quick else (150, 20)
    try:
        import transformer_lens  # noqa: F401
        have_lens = True
    except ImportError:
        have_lens = False
        print("TransformerLens is not installed: only labkit is timed.")
    all_threads = torch.get_num_threads()
    rows = []
    for label, size in SIZES.items():
        batches = [repeated_segments(size["batch"], size["n_ctx"], size["d_vocab"], min_len=4, seed=s)
                   for s in range(n_steps)]
        for threads in sorted({1, all_threads}):
            torch.set_num_threads(threads)
            lab = steps_per_second(labkit_model(size), batches, warmup)
            lens = steps_per_second(lens_model(size), batches, warmup) if have_lens else float("nan")
            n_params = sum(p.numel() for p in labkit_model(size).parameters())
            n_lens = sum(p.numel() for p in lens_model(size).parameters()) if have_lens else 0
            rows.append((label, threads, f"{n_params}/{n_lens}", lab, lens))
            print(f"done {label}, {threads} thread(s)", flush=True)
    torch.set_num_threads(all_threads)
    print("\nTraining steps per second (forward + loss + backward + AdamW), median after warm-up;")
    print("ratio = labkit / TransformerLens (above 1: labkit is faster)")
    print(f"{'model':<18} {'threads':>7} {'params (labkit/TL)':>19} {'labkit':>9} {'TransformerLens':>16} {'ratio':>7}")
    for label, threads, n_params, lab, lens in rows:
        print(f"{label:<18} {threads:>7} {n_params:>19} {lab:9.1f} {lens:16.1f} {lab / lens:7.2f}")


if __name__ == "__main__":
    main()
