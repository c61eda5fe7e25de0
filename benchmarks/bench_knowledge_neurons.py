"""Benchmark: the knowledge-neurons deactivation sweep and neuron statistics, batched against one mask at a time.

The notebook's default model (2 layers, d_model 64, d_mlp 128, GELU) on the 3,600 planted statements, untrained
weights (timing does not depend on them). The sweep: 7 groups × 3 budgets × 6 masks (the group's own neurons and
5 random sets), 126 ablations of every statement.

* labkit batched: :func:`deactivate`, one forward per chunk of masks (each mask a row of a mask matrix);
* labkit one by one: :func:`deactivate_one` per mask (plain ``run_with_hooks``);
* TransformerLens (a bench-only dependency): the same weights in a ``HookedTransformer``, ``run_with_hooks``
  per mask; statistics by ``run_with_cache`` and a reduction, against :func:`neuron_stats` (reduced in hooks).

Accuracies must be identical between all three. Single-threaded (the notebook runs these on one thread); CPU
time, not wall time. Batching pays only while a forward holds few rows: at 3,600 statements one mask per forward is
already a large batch, and packing many masks into one forward runs out of cache.

    .venv/bin/python benchmarks/bench_knowledge_neurons.py [--quick]

Without TransformerLens installed (``pip install -e .[bench]`` in a separate environment) only labkit's numbers
are printed.
"""
from __future__ import annotations

import argparse
import inspect
import time

import numpy as np
import torch

from labkit.core.threads import threads
from labkit.interp.knowledge_neurons import deactivate, deactivate_one, make_facts, masks_from, neuron_stats
from labkit.interp.transformer import Transformer, TransformerConfig


def labkit_model(corpus, seed=0):
    torch.manual_seed(seed)
    cfg = TransformerConfig(d_vocab=corpus.d_vocab, n_ctx=corpus.tokens.shape[1], d_model=64, n_layers=2, n_heads=4,
                            d_head=16, d_mlp=128)
    return Transformer(cfg).eval()


def lens_model(model):
    """The same weights in TransformerLens's ``HookedTransformer`` (None when it is not installed)."""
    try:
        from transformer_lens import HookedTransformer, HookedTransformerConfig
    except ImportError:
        return None
    c = model.cfg
    cfg = HookedTransformerConfig(n_layers=c.n_layers, d_model=c.d_model, n_ctx=c.n_ctx, d_head=c.d_head,
                                  n_heads=c.n_heads, d_mlp=c.d_mlp, d_vocab=c.d_vocab, act_fn="gelu",
                                  normalization_type="LN", device="cpu")
    lens = HookedTransformer(cfg)
    rename = {"W_E": "embed.W_E", "W_pos": "pos_embed.W_pos", "W_U": "unembed.W_U", "b_U": "unembed.b_U"}
    state = {rename.get(k, k): v for k, v in model.state_dict().items()}
    lens.load_state_dict(state, strict=False)
    return lens.eval()


def timed(fn, repeats=1):
    """Best CPU time (process time: on a shared machine wall time measures the neighbours) and the result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def main(quick: bool = False) -> None:
    corpus = make_facts(n_subjects=40 if quick else 150)
    model = labkit_model(corpus)
    N = model.cfg.n_layers * model.cfg.d_mlp
    rng = np.random.default_rng(0)
    sets = [rng.choice(N, int(round(b * N)), replace=False) for b in (0.05, 0.1, 0.25) for _ in range(7 * 6)]
    masks = masks_from(sets, N)
    tokens, answers = corpus.tokens, corpus.answers
    print(f"{len(sets)} ablations of {len(corpus)} statements; one thread")
    with threads(1):
        t_one, one = timed(lambda: torch.stack([deactivate_one(model, tokens, answers, s) for s in sets]))
        print(f"deactivation, one mask at a time: {t_one:.2f} s CPU")
        default_rows = inspect.signature(deactivate).parameters["max_rows"].default
        for rows in (2048, 8192, 32768):
            t_rows, batched_rows = timed(lambda: deactivate(model, tokens, answers, masks, max_rows=rows))
            note = ", the default" if rows == default_rows else ""
            print(f"deactivation, labkit batched ({rows} rows a forward{note}): "
                  f"{t_rows:.2f} s CPU ({t_one / t_rows:.2f}x); identical: {torch.equal(batched_rows, one)}")
            if rows == default_rows:
                t_batch, batched = t_rows, batched_rows
        t_stats, _ = timed(lambda: neuron_stats(model, corpus, "mean"), repeats=3)
        print(f"statistics (7 groups, mean activation, reduced in hooks): labkit {t_stats:.3f} s")
        lens = lens_model(model)
        if lens is None:
            print("TransformerLens is not installed: its numbers are skipped.")
            return

        def lens_sweep():
            out = []
            for s in sets:
                m = masks_from([s], N)[0].view(model.cfg.n_layers, -1)
                hooks = [(f"blocks.{l}.mlp.hook_post", lambda x, hook, l=l: x * m[l])
                         for l in range(model.cfg.n_layers)]
                with torch.no_grad():
                    logits = lens.run_with_hooks(tokens, fwd_hooks=hooks)[:, -1]
                out.append(logits.argmax(-1) == answers)
            return torch.stack(out)

        t_lens, lens_correct = timed(lens_sweep)
        print(f"deactivation: TransformerLens run_with_hooks per mask {t_lens:.2f} s ({t_lens / t_batch:.1f}x "
              f"labkit batched at its default); identical accuracies: {torch.equal(lens_correct, batched)}")
        G = torch.tensor(np.stack(list(corpus.groups().values())), dtype=torch.float32)
        G = G / G.sum(1, keepdim=True)

        def lens_stats():
            with torch.no_grad():
                _, cache = lens.run_with_cache(tokens)
            return torch.cat([G @ cache[f"blocks.{l}.mlp.hook_post"][:, -1] for l in range(model.cfg.n_layers)], 1)

        t_lstats, ls = timed(lens_stats, repeats=3)
        print(f"statistics: TransformerLens run_with_cache + reduction {t_lstats:.3f} s ({t_lstats / t_stats:.1f}x "
              f"labkit); max difference {float((ls - torch.as_tensor(neuron_stats(model, corpus))).abs().max()):.1e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 subjects instead of 150")
    main(parser.parse_args().quick)
