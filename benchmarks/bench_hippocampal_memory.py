"""Benchmark: the CA3 cue-content memory (spiking/hippocampal_memory) on labkit's engine against the same network
written directly in Brian2, on the same 150 operations.

The official network definition (sPyMem 0.0.9 through PyNN 0.13's Brian2 backend) is not used: neither PyNN nor
sPyMem is in the bench extra, and labkit's network is not the paper's population for population (see
``labkit/spiking/hippocampal_memory/network.py``). The peer is the same network in Brian2 (numpy target, no C++
compilation): the same populations, per-neuron time constants, delays, delta synapses, refractory clamp, pair STDP
with the same traces, learning windows and clipping. Reported: agreement per operation (addresses and contents
out equal), operations per second at batch 1 (both) and batch 64 (labkit: 64 independent memories with
per-sample weights in one run), and Brian2's code generation apart (a 0.1 ms run of the built network).

The Brian2 twin needs NumPy < 2.4 (Brian2 2.9.0 uses ``ndarray.ptp``), which ``.venv-bench`` pins. There, on
2026-12-08 (2-core CPU, beside a CI run): 40 cues x 100 bits, 100% agreement (150 of 150 operations); labkit 250
ops/s at batch 1 and 1,828 at batch 64 against Brian2's 138 (1.8x and 13.3x; code generation 0.84 s apart).

Run (Brian2 from the bench extra; skipped, and said so, when it is not importable):
    .venv-bench/bin/python benchmarks/bench_hippocampal_memory.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from labkit.spiking.hippocampal_memory import contents as cn  # noqa: E402
from labkit.spiking.hippocampal_memory import network as nw  # noqa: E402
from labkit.spiking.lif_network import SpikeRecord  # noqa: E402


def workload(n_cues: int, n_bits: int, seed: int, n_ops: int = 150):
    """150 operations: learn every cue, recall each by cue, recall from fragments, re-learn some, recall them."""
    rng = np.random.default_rng(seed)
    x = cn.random_contents(n_cues, n_bits, 0.1, rng, min_active=3)
    n_re = min(n_cues, 10)
    frag, _ = cn.fragments(x, n_ops - 2 * n_cues - 2 * n_re, 3, rng)
    new = cn.random_contents(n_re, n_bits, 0.1, rng)
    ops = ([("learn", i, x[i]) for i in range(n_cues)] + [("recall_cue", i, None) for i in range(n_cues)]
           + [("recall_content", None, f) for f in frag] + [("learn", i, new[i]) for i in range(n_re)]
           + [("recall_cue", i, None) for i in range(n_re)])
    return ops


def labkit_run(ops, n_cues, n_bits, batch=1):
    mem = nw.CA3Memory(n_cues, n_bits, batch=batch)
    if batch > 1:   # the same schedule, each sample its own contents (shuffled bits)
        rng = np.random.default_rng(1)
        perms = [rng.permutation(n_bits) for _ in range(batch)]
        ops = [(k, c, None if p is None else np.stack([p[q] for q in perms])) for k, c, p in ops]
    sched = mem.schedule(ops)
    t0 = time.perf_counter()
    run = mem.run(sched)
    return time.perf_counter() - t0, run


def brian2_run(mem: nw.CA3Memory, sched):
    """The same network and operations in Brian2 (numpy target); returns (seconds, codegen seconds, MemoryRun)."""
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    dt = nw.DT * b2.ms
    b2.defaultclock.dt = dt
    n_steps = int(round((sched[-1].onset + 10.0) / nw.DT))
    cur = mem._current(sched, n_steps, 1)[:, 0].numpy().astype(float)
    ext = b2.TimedArray(cur, dt=dt)
    o = mem.offset
    starts = np.zeros(n_steps)
    gate = np.zeros(n_steps)
    width = int(round(nw.PLASTIC_WINDOW / nw.DT))
    for op in sched:
        if op.kind == "learn":
            s = int(round(op.onset / nw.DT))
            starts[s] = 1
            gate[s:s + width] = 1
    start_t, gate_t = b2.TimedArray(starts, dt=dt), b2.TimedArray(gate, dt=dt)
    tau = np.full(mem.n, 0.5)
    tau[np.r_[o["K"], o["Kf"]]] = 3.0
    g = b2.NeuronGroup(mem.n, """dv/dt = -v / tau : 1 (unless refractory)
                                 dx/dt = -x / (3 * ms) : 1
                                 tau : second (constant)""",
                       threshold="v >= 3", reset="v = 0\nx += 1.0", refractory=(nw.T_REF + 0.05) * b2.ms,
                       method="exact")
    g.tau = tau * b2.ms
    g.run_regularly("v += ext(t, i) * int(not_refractory)", when="after_groups")
    g.run_regularly("x = x * (1 - start_t(t))", when="before_synapses")

    def static(a, b, w, key, full=False):
        s = b2.Synapses(g, g, "w : 1", on_pre="v_post += w * int(not_refractory_post)")
        if full:
            ii, jj = np.meshgrid(a, b, indexing="ij")
            keep = ii != jj
            s.connect(i=ii[keep], j=jj[keep])
        else:
            s.connect(i=a, j=b)
        s.w = w
        s.delay = nw.DELAYS[key] * b2.ms
        s.pre.when = "after_groups"
        return s

    objs = [static(o[a], o[b], nw.W_ROUTE, k) for a, b, k in (("Ic", "C", "Ic>C"), ("Ik", "Kf", "Ik>Kf"),
                                                               ("Ik", "K", "Ik>K"), ("If", "Kf", "If>Kf"),
                                                               ("C", "A", "C>A"), ("K", "O", "K>O"))]
    objs.append(static(o["C"], o["C"], -4.0 * nw.W_MAX * mem.n_bits, "C>C", full=True))
    plastic = []
    for a, b, key in (("C", "K", "C>K"), ("Kf", "C", "Kf>C")):
        s = b2.Synapses(g, g, "w : 1", on_pre={"pre": "v_post += w * int(not_refractory_post)",
                                               "dep": "w = clip(w - 6.0 * x_post * gate_t(t), 0, 6.0)"},
                        on_post="w = clip(w + 6.0 * x_pre * gate_t(t), 0, 6.0)")
        ii, jj = np.meshgrid(o[a], o[b], indexing="ij")
        s.connect(i=ii.ravel(), j=jj.ravel())
        s.w = 0.0
        s.pre.delay = nw.DELAYS[key] * b2.ms
        s.pre.when = "after_groups"
        plastic.append(s)
    mon = b2.SpikeMonitor(g)
    net = b2.Network(g, *objs, *plastic, mon)
    t0 = time.perf_counter()
    names = {"ext": ext, "start_t": start_t, "gate_t": gate_t, "ms": b2.ms}
    net.run(dt, namespace=names)                    # code generation (and one step)
    codegen = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.run((n_steps - 1) * dt, namespace=names)
    seconds = time.perf_counter() - t0
    ti = np.round(np.asarray(mon.t / dt)).astype(np.int64)
    rec = SpikeRecord(t=torch.as_tensor(ti), b=torch.zeros(len(ti), dtype=torch.long),
                      n=torch.as_tensor(np.asarray(mon.i, dtype=np.int64)), n_steps=n_steps, batch=1,
                      n_neurons=mem.n, dt=nw.DT)
    return seconds, codegen, mem._read(sched, rec, n_steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20 cues of 40 bits instead of 40 of 100")
    args = ap.parse_args()
    n_cues, n_bits = (20, 40) if args.quick else (40, 100)
    ops = workload(n_cues, n_bits, seed=0)
    print(f"{len(ops)} operations, {n_cues} cues, {n_bits} bits")
    t1, run1 = labkit_run(ops, n_cues, n_bits, batch=1)
    t64, _ = labkit_run(ops, n_cues, n_bits, batch=64)
    print(f"labkit: batch 1 {len(ops) / t1:8.1f} ops/s; batch 64 {64 * len(ops) / t64:8.1f} ops/s "
          f"({t1:.2f} s, {t64:.2f} s)")
    try:
        import brian2  # noqa: F401
    except Exception as err:    # absent, or built against another NumPy
        print(f"Brian2 is not importable ({type(err).__name__}: {err}): the peer and the agreement are skipped.")
        return
    mem = nw.CA3Memory(n_cues, n_bits)
    sched = mem.schedule(ops)
    tb, cg, runb = brian2_run(mem, sched)
    same = (runb.addresses == run1.addresses).all(axis=(1, 2)) & (runb.contents == run1.contents).all(axis=(1, 2))
    print(f"Brian2 (numpy target): {len(ops) / tb:8.1f} ops/s ({tb:.2f} s; code generation {cg:.2f} s apart)")
    print(f"agreement per operation: {same.mean():.1%} ({int(same.sum())} of {len(ops)})")
    if not same.all():
        kinds = [op.kind for op in sched]
        print("  differing operations:", [(i, kinds[i]) for i in np.nonzero(~same)[0][:10]])
    print(f"speed ratio labkit / Brian2: batch 1 {tb / t1:.1f}x, batch 64 {64 * tb / t64:.1f}x")


if __name__ == "__main__":
    main()
