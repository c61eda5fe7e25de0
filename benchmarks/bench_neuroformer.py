"""Benchmark: training tokens per second of labkit's Neuroformer against the same architecture in x-transformers.

The same model — spike tokens (neuron-id + time-offset embeddings, learned positions), two blocks of causal
self-attention, cross-attention to the past tokens and the stimulus, and an MLP (d_model 64, 4 heads, pre-LayerNorm),
then the id and offset heads — with the body either labkit's :class:`labkit.interp.transformer.Transformer`
(cross-attention on) or ``x_transformers.Decoder(cross_attend=True)`` (a benchmark-only dependency, the ``bench``
extra). Both train on the same pre-drawn batches of 32 windows of the simulated circuit with AdamW, single-threaded,
one step of each in turn.
Printed: tokens per second of each (median step after a warm-up) and their ratio, and the mean loss over the last 20
of 200 steps of each (the architectures match, so the losses should agree within a few percent).

    .venv/bin/python benchmarks/bench_neuroformer.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from labkit.core.threads import threads
from labkit.neuro.neuroformer import make_batch, prepare
from labkit.neuro.neuroformer.training import build_model


def peer_model(tokens, seed):
    """The Neuroformer's embeddings and heads around an x-transformers Decoder body."""
    from x_transformers import Decoder

    torch.manual_seed(seed)
    model = build_model(tokens, d_model=64, n_layers=2, n_heads=4)
    body = Decoder(dim=64, depth=2, heads=4, attn_dim_head=16, cross_attend=True, ff_mult=4)

    def run(embeds, ctx, mask, key_mask=None, names=("ln_final.hook_normalized",), detach=False):
        x = embeds + model.tf.W_pos[: embeds.shape[1]][None]
        h = body(x, context=ctx, context_mask=mask)             # pre-norm with a final norm, as labkit's ln_final
        return h @ model.tf.W_U + model.tf.b_U, {"ln_final.hook_normalized": h}

    model.run = run
    model.peer_body = body
    return model


def timed_training(models: dict, batches, lr=3e-3):
    """Train every model on the same batches, one step of each in turn (so a change in the machine's load
    falls on all of them alike); return {name: (step seconds, losses)}."""
    opts = {k: torch.optim.AdamW(m.parameters(), lr=lr) for k, m in models.items()}
    out = {k: ([], []) for k in models}
    for b in batches:
        for k, m in models.items():
            t0 = time.perf_counter()
            loss = m.ar_loss(b)
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
            out[k][0].append(time.perf_counter() - t0)
            out[k][1].append(loss.item())
    return {k: (np.array(t), np.array(v)) for k, (t, v) in out.items()}


def main(quick: bool = False):
    steps = 60 if quick else 200
    study = prepare(60, seed=0)
    tk = study.tokens
    rng = np.random.default_rng(0)
    rows = [rng.choice(tk.rows(study.train), 32) for _ in range(steps)]
    batches = [make_batch(tk, r, study.data.stimulus) for r in rows]
    n_tokens = np.array([int(b.length.sum()) + len(r) for b, r in zip(batches, rows)])   # + an end token each
    torch.manual_seed(0)
    ours = build_model(tk, d_model=64, n_layers=2, n_heads=4)
    models = {"labkit": ours}
    try:
        models["x-transformers"] = peer_model(tk, 0)
    except ImportError:
        print("x-transformers is not installed (pip install x-transformers): labkit's numbers only.")
    with threads(1):
        results = timed_training(models, batches)
    warm = 10
    for name, (t, loss) in results.items():
        rate = np.median(n_tokens[warm:] / t[warm:])
        print(f"{name:>15}: {rate:8.0f} tokens/s (median step {np.median(t[warm:]) * 1e3:.1f} ms), "
              f"loss over the last 20 steps {loss[-20:].mean():.4f}")
    if len(results) == 2:
        (t0, l0), (t1, l1) = results["labkit"], results["x-transformers"]
        print(f"ratio labkit / x-transformers: {np.median(t1[warm:]) / np.median(t0[warm:]):.2f}x tokens/s; "
              f"loss difference {abs(l0[-20:].mean() - l1[-20:].mean()) / l1[-20:].mean() * 100:.1f}%")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 steps instead of 200")
    main(parser.parse_args().quick)
