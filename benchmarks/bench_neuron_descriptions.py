"""Benchmark: neuron descriptions' two hot paths against their plain implementations.

Neither MILAN (github evandez/neuron-descriptions) nor netdissect is on PyPI, so the peers are the plain
implementations of what they do, run in the same process:

1. **Exemplars**: the top-15 images and the 0.99-quantile masks of 512 units over ``--maps`` maps of 16x16
   (the issue's size is 20,000 maps, 10.5 GB of float32: pass ``--maps 20000`` on a machine with the memory),
   :func:`labkit.interp.neuron_descriptions.exemplars` (chunked ``torch.topk``, exact quantile) against plain
   NumPy per unit (``np.quantile`` and ``np.argpartition``, as ``dissect.run`` does unit by unit); the exemplars
   must be identical. Throughput is also given as a share of the machine's memory bandwidth, measured in the
   same run (best of several 1 GB copies).
2. **Decoding**: the PMI argmax over all 645 descriptions for every unit (one matrix product with the slot
   matrix, a log-softmax and an argmax) against a per-unit beam search over the grammar's slots (beam 5, as
   MILAN's decoder), at λ = 0 (the beam's own objective) where both must agree, and at λ = 0.3 with the beam's
   finished hypotheses reranked by PMI (MILAN's decoder), where the share of agreement is reported.

    .venv/bin/python benchmarks/bench_neuron_descriptions.py [--maps 4000] [--units 512] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

os.environ.setdefault("LABKIT_PROGRESS", "0")

from labkit.data.scenes import Grammar  # noqa: E402
from labkit.interp.neuron_descriptions import describe, exemplars, exemplars_numpy  # noqa: E402


def bandwidth(gb: float = 1.0, repeats: int = 3) -> float:
    """Bytes per second of a large copy (read + write counted)."""
    a = np.ones(int(gb * 2**30) // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def beam_search(scores: np.ndarray, grammar: Grammar, log_prior: np.ndarray, lam: float, beam: int = 5) -> int:
    """One unit: beam search over slot sequences (pattern, then slot values), then PMI reranking."""
    S = grammar.slot_matrix
    seqs = [tuple(np.flatnonzero(row)) for row in S]             # pattern columns sort first (see Grammar)
    logits = S @ scores
    logz = np.logaddexp.reduce(logits)
    children: dict = {}
    for seq in seqs:
        for i in range(len(seq)):
            children.setdefault(seq[:i], set()).add(seq[i])
    ends = {seq: d for d, seq in enumerate(seqs)}
    hyps, done = [((), 0.0)], []
    while hyps:
        cand = []
        for prefix, sc in hyps:
            for c in children.get(prefix, ()):
                cand.append((prefix + (c,), sc + scores[c]))
        cand.sort(key=lambda h: -h[1])
        hyps = []
        for h in cand[:beam]:
            (done if h[0] in ends and h[0] not in children else hyps).append(h)
    finished = [ends[h[0]] for h in done]
    return max(finished, key=lambda d: logits[d] - logz - lam * log_prior[d])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maps", type=int, default=4000)
    ap.add_argument("--units", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--beam-units", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    acts = rng.standard_normal((args.maps, args.units, 16, 16), dtype=np.float32)
    bw = bandwidth()
    t = time.perf_counter()
    ours = exemplars(acts, 15, 0.99, chunk=256)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = exemplars_numpy(acts, 15, 0.99)
    t_ref = time.perf_counter() - t
    same = np.array_equal(ours.images, ref.images) and np.array_equal(ours.masks, ref.masks)
    print(f"exemplars, {args.units} units x {args.maps} maps of 16x16 ({acts.nbytes / 2**30:.2f} GiB):")
    print(f"  labkit {t_ours:7.2f} s  ({acts.nbytes / t_ours / 1e9:.2f} GB/s = {acts.nbytes / t_ours / bw:.1%} of "
          f"copy bandwidth {bw / 1e9:.1f} GB/s)")
    print(f"  NumPy per unit {t_ref:7.2f} s   ratio {t_ref / t_ours:5.1f}x   identical exemplars: {same}")

    g = Grammar()
    n = args.beam_units
    scores = rng.normal(0, 2, (n, g.slot_matrix.shape[1]))
    log_prior = np.log(rng.dirichlet(np.ones(len(g)) * 0.3) + 1e-6)
    for lam in (0.0, 0.3):
        t = time.perf_counter()
        L = torch.log_softmax(torch.from_numpy(scores) @ torch.from_numpy(g.slot_matrix.astype(np.float64)).T, 1)
        exact = describe(L.numpy(), log_prior, lam)
        t_all = time.perf_counter() - t
        t = time.perf_counter()
        beams = np.array([beam_search(scores[u], g, log_prior, lam) for u in range(n)])
        t_beam = time.perf_counter() - t
        print(f"decoding {n} units over {len(g)} descriptions, λ = {lam}: all-descriptions {t_all * 1e3:.1f} ms, "
              f"beam 5 {t_beam * 1e3:.0f} ms, ratio {t_beam / t_all:.0f}x, same argmax {np.mean(beams == exact):.0%}")


if __name__ == "__main__":
    main()
