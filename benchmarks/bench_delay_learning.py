"""Benchmark: the spiking engine with per-synapse delays, and the pruned delay layer event by event against conv3d.

Workloads (issue 30):

1. The LIF workload of ``bench_liquid_state_machine.py`` (N neurons, 10% random wiring, 80/20 excitatory and
   inhibitory, delta synapses, tau_m 20 ms, threshold 20 mV, Poisson drive as a precomputed current, 1,000 steps)
   with integer delays drawn from 1-20 steps, on labkit's engine (``engine="auto"``) at batch 1 and 16, against
   the same network with one step of delay (the engine's own slowdown from delays), and against Brian2's cython
   runtime with per-synapse ``delay`` at batch 1 (skipped, and said so, when Brian2 is not importable: it lives
   in the bench extra, ``.venv-bench``).
2. A delay kernel (16, 2, 12, 9, 9) pruned to 1/30 of its synapses, over 4 event movies of 32x32 px and 64
   steps: :func:`labkit.spiking.delay_learning.event_evidence` (event by event through the unrolled synapses)
   against the dense ``conv3d``, time and synaptic operations.

Printed as ratios measured in one run (the machine may be busy). Run:
    .venv-bench/bin/python benchmarks/bench_delay_learning.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from labkit.core.threads import threads  # noqa: E402
from labkit.spiking.delay_learning import event_evidence, evidence, prune, simulate_events  # noqa: E402
from labkit.spiking.lif_network import LIFNetwork  # noqa: E402
from labkit.spiking.neurons import LIF  # noqa: E402
from labkit.spiking.synapses import Synapses  # noqa: E402


def network(n: int, seed: int, delays: bool):
    rng = np.random.default_rng(seed)
    pre, post = np.nonzero(rng.random((n, n)) < 0.1)
    w = np.where(pre < int(0.8 * n), 0.5, -2.5).astype(np.float32)
    d = rng.integers(1, 21, size=pre.size).astype(float) if delays else None
    syn = Synapses.from_edges(pre, post, w, n, n)
    order = np.argsort(pre * n + post, kind="stable")           # from_edges's order (edges are unique)
    neurons = LIF(n, tau_m=20.0, v_th=20.0, v_reset=0.0, t_ref=0.0, tau_syn=0.0)
    net = LIFNetwork(neurons, syn, delay=None if d is None else d[order], max_delay=20.0 if delays else None)
    return net, (pre, post, w, d)


def timed(fn, repeats=3):
    out, best = None, float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def brian2_run(edges, n, steps, current):
    try:
        import brian2 as b2
    except ImportError:
        return None
    pre, post, w, d = edges
    b2.start_scope()
    b2.prefs.codegen.target = "cython"
    drive = b2.TimedArray(current[:, 0, :] * b2.mV, dt=1 * b2.ms)
    g = b2.NeuronGroup(n, "dv/dt = -v / (20*ms) : volt", threshold="v >= 20*mV", reset="v = 0*mV", method="exact",
                       dt=1 * b2.ms)
    g.run_regularly("v += drive(t, i)", dt=1 * b2.ms)
    s = b2.Synapses(g, g, "w : volt", on_pre="v += w", dt=1 * b2.ms)
    s.connect(i=pre, j=post)
    s.w, s.delay = w * b2.mV, d * b2.ms
    mon = b2.SpikeMonitor(g)
    net = b2.Network(g, s, mon)
    ns = {"drive": drive}
    net.run(10 * b2.ms, namespace=ns)                              # build and compile, untimed
    t0 = time.perf_counter()
    net.run(steps * b2.ms, namespace=ns)
    return time.perf_counter() - t0, int(mon.num_spikes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n, steps = (1000, 200) if a.quick else (4000, 1000)
    print(f"1. LIF workload, N = {n}, {steps} steps, delays 1-20 steps")
    for batch in (1, 16):
        cur = torch.poisson(torch.full((steps, batch, n), 1.0), generator=torch.Generator().manual_seed(0)) * 0.9
        with_d, edges = network(n, 0, True)
        without, _ = network(n, 0, False)
        t_d, rec_d = timed(lambda net=with_d, c=cur, b=batch: net.run(steps, b, current=c))
        t_1, rec_1 = timed(lambda net=without, c=cur, b=batch: net.run(steps, b, current=c))
        print(f"  batch {batch:2d}: delays {t_d:.3f} s ({rec_d.rate_hz():.1f} Hz), one step {t_1:.3f} s "
              f"({rec_1.rate_hz():.1f} Hz): slowdown from delays x{t_d / t_1:.2f}")
        if batch == 1:
            b = brian2_run(edges, n, steps, cur.numpy())
            if b is None:
                print("  Brian2: not installed here, skipped (it is in the bench extra, .venv-bench)")
            else:
                print(f"  Brian2 cython: {b[0]:.3f} s, {b[1]} spikes against labkit's {rec_d.n_spikes} "
                      f"({(rec_d.n_spikes - b[1]) / max(b[1], 1):+.1%}); labkit is x{b[0] / t_d:.2f} as fast")
    print("2. pruned delay layer (1/30) against conv3d, 4 movies of 32x32 px, 64 steps")
    s = simulate_events(4, seed=0)
    k = prune(torch.randn(16, 2, 12, 9, 9, generator=torch.Generator().manual_seed(0)), 1 / 30)
    with threads(1):
        t_conv, b_conv = timed(lambda: evidence(s.events, k))
        t_evt, b_evt = timed(lambda: event_evidence(s.events, k))
    syn_ops = float(s.events.sum()) * int((k != 0).sum()) * b_conv.shape[-1] ** 2 / (2 * 32 * 32)
    macs = b_conv.numel() * 2 * 12 * 81
    print(f"  conv3d {t_conv:.3f} s, event-driven {t_evt:.3f} s (x{t_conv / t_evt:.2f}); synaptic events / dense "
          f"multiply-adds = {syn_ops / macs:.3g}; max difference {float((b_conv - b_evt).abs().max()):.1e}")


if __name__ == "__main__":
    main()
