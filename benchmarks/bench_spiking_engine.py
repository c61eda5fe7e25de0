"""Benchmark: labkit's spiking engine (compiled CPU path and torch path) against Brian2 cpp_standalone and a
plain event-driven PyTorch loop, in one run, printed as ratios; plus spike-for-spike agreement with Brian2.

Workloads:

* ``lif``: the LIF workload of ``bench_liquid_state_machine.py`` (80/20 E/I, 10% connectivity, delta
  synapses, one step of delay, tau_m = 20 ms, threshold 20 mV, no refractory period, one precomputed
  Poisson current as the external drive), 1,000 steps of 1 ms.
* ``lif-delays``: the same with per-synapse delays drawn uniformly from 1-5 ms.
* ``izhikevich``: Izhikevich (2003)'s 80/20 heterogeneous network at 10% connectivity (excitatory
  weights 0.5 U / 0.1, inhibitory -U / 0.1, so that a neuron's mean input matches the paper's
  all-to-all network), its thalamic input 5 N(0, 1) / 2 N(0, 1) precomputed, 1 s at 1 ms with the
  paper's two 0.5 ms half-steps of v.

Clocks: Brian2's standalone binary times its run with ``std::clock()`` (process CPU time) when it
runs without OpenMP, so at batch 1 every simulator is timed by its process CPU time
(``time.process_time``; all run on one thread), which a busy machine does not inflate; at batch 16
(labkit's compiled path runs samples on several threads) all are timed by the wall clock.

Every simulator gets the same synapses and the same precomputed input. Brian2 runs the same update as
labkit in its own float64 code (``run_regularly`` at the start of each step; synaptic events go to a
buffer ``x`` that the next update reads, with Brian2's delay one step shorter than labkit's, because
Brian2 delivers within the step of the spike); its code generation and compilation are timed apart
("build"), its run time is the binary's own ``_last_run_time``. "matched" is the fraction of Brian2's
spikes that labkit fires in the same neuron within one step (and the other way round); they differ
only by float32 against float64 rounding, which chaotic networks amplify over time.

First result as a user meets it: labkit's first ``run`` in a fresh process with an empty Numba cache
(JIT compilation included) and again with the cache warm, against Brian2's code generation,
compilation and run.

    .venv-bench/bin/python benchmarks/bench_spiking_engine.py              # all, N = 4,000 for LIF
    .venv-bench/bin/python benchmarks/bench_spiking_engine.py --quick      # N = 1,000, 1 repeat
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import bench_liquid_state_machine as lsm_bench  # noqa: E402

from labkit.spiking.lif_network import LIFNetwork  # noqa: E402
from labkit.spiking.neurons import LIF, Izhikevich  # noqa: E402
from labkit.spiking.synapses import Synapses  # noqa: E402

DT = 1.0
TAU_M, V_TH = lsm_bench.TAU_M, lsm_bench.V_TH


# --- workloads: (model factory, edges, weights, delays in ms or None, external current (T, B, N)) -----------

def lif_workload(n, steps, batch, delays=False, seed=0):
    pre, post, w, ext = lsm_bench.workload(n, steps, batch, seed=seed)
    delay = np.random.default_rng(seed + 7).integers(1, 6, len(pre)).astype(float) if delays else None
    model = lambda: LIF(n, tau_m=TAU_M, v_th=V_TH, v_reset=0.0, t_ref=0.0, tau_syn=0.0, dt=DT)  # noqa: E731
    return dict(model=model, pre=pre, post=post, w=w, delay=delay, ext=ext.float(), kind="lif")


def izhikevich_workload(n, steps, batch, seed=0):
    rng = np.random.default_rng(seed)
    n_exc = int(0.8 * n)
    pre, post = np.nonzero(rng.random((n, n)) < 0.1)
    w = np.where(pre < n_exc, 0.5 * rng.random(len(pre)) / 0.1, -rng.random(len(pre)) / 0.1).astype(np.float32)
    scale = np.r_[np.full(n_exc, 5.0), np.full(n - n_exc, 2.0)]
    ext = torch.as_tensor((rng.standard_normal((steps, batch, n)) * scale).astype(np.float32))
    mix = Izhikevich.mix(n_exc, n - n_exc, seed=seed + 1, dt=DT)
    return dict(model=lambda: mix, pre=pre, post=post, w=w, delay=None, ext=ext, kind="izhikevich")


def network(wl):
    syn = Synapses.from_edges(wl["pre"], wl["post"], wl["w"], len(wl["ext"][0, 0]), len(wl["ext"][0, 0]))
    delay = None
    if wl["delay"] is not None:                          # from_edges sorts the synapses by (pre, post)
        delay = wl["delay"][np.lexsort((wl["post"], wl["pre"]))]
    return LIFNetwork(wl["model"](), syn, delay=delay, max_delay=None if delay is None else 5.0)


# --- the peers: each returns a runner () -> (seconds, spikes as (t, b, i) arrays) -------------------------

def clock_for(batch: int):
    """The clock of a row (see the module docstring): process CPU time at batch 1, else the wall clock."""
    return time.process_time if batch == 1 else time.perf_counter


def peer_labkit(wl, engine):
    net = network(wl)
    ext = wl["ext"]
    net.run(2, ext.shape[1], current=ext[:2], engine=engine)             # compile / warm up outside the timing
    clock = clock_for(ext.shape[1])

    def run():
        t0 = clock()
        rec = net.run(ext.shape[0], ext.shape[1], current=ext, engine=engine)
        return clock() - t0, (rec.t.numpy(), rec.b.numpy(), rec.n.numpy())
    return run


def peer_plain_torch(wl):
    """The obvious event-driven loop of bench_liquid_state_machine.py (LIF only); returns a spike count."""
    clock = clock_for(wl["ext"].shape[1])
    lsm_bench.time.perf_counter = clock                  # that loop times itself with time.perf_counter
    return lsm_bench.peer_plain_torch(len(wl["ext"][0, 0]), wl["pre"], wl["post"], wl["w"], wl["ext"])


def peer_brian2(wl):
    """cpp_standalone, one thread, the same update as labkit's (see the module docstring)."""
    import brian2 as b2

    ext = wl["ext"]
    if ext.shape[1] != 1:
        return None
    n = ext.shape[2]
    directory = lsm_bench.brian2_standalone("engine_brian2_")
    i_ext = b2.TimedArray(ext[:, 0].numpy().astype(np.float64), dt=DT * b2.ms)
    if wl["kind"] == "lif":
        g = b2.NeuronGroup(n, "v : 1\nx : 1", threshold=f"v >= {V_TH}", reset="v = 0", namespace={"i_ext": i_ext})
        g.run_regularly(f"v = v * {math.exp(-DT / TAU_M)!r} + (i_ext(t, i) + x)\nx = 0", when="start")
    else:
        mix = wl["model"]()
        g = b2.NeuronGroup(n, "v : 1\nu : 1\nx : 1\na : 1\nb : 1\nc : 1\nd : 1", threshold="v >= 30",
                           reset="v = c\nu = u + d", namespace={"i_ext": i_ext})
        for k in "abcd":
            setattr(g, k, mix.params[k])
        g.v = mix.params["v0"]
        g.u = mix.params["b"] * mix.params["v0"]
        h = DT / 2
        dv = f"v = v + ((((v * 0.04 + 5) * v + 140) - u) + (i_ext(t, i) + x)) * {h!r}"
        g.run_regularly(f"{dv}\n{dv}\nu = u + (v * b - u) * (a * {DT!r})\nx = 0", when="start")
    s = b2.Synapses(g, g, "w : 1", on_pre="x_post += w")
    s.connect(i=wl["pre"].astype(np.int32), j=wl["post"].astype(np.int32))
    s.w = wl["w"].astype(np.float64)
    if wl["delay"] is not None:                          # else Brian2's default: no delay, homogeneous
        s.delay = (wl["delay"] - 1.0) * DT * b2.ms
    mon = b2.SpikeMonitor(g)
    b2.run(ext.shape[0] * DT * b2.ms, namespace={})
    t0 = cpu_seconds()
    b2.device.build(directory=directory, compile=True, run=True, debug=False)
    build = cpu_seconds() - t0

    def run():
        b2.device.run(directory=directory, with_output=False, run_args=[])
        t = np.round(np.asarray(mon.t / b2.ms) / DT).astype(np.int64)
        return b2.device._last_run_time, (t, np.zeros_like(t), np.asarray(mon.i, dtype=np.int64))
    run.build_seconds = build
    return run


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (Brian2's build runs its compiler in child
    processes), so that a busy machine does not inflate the build time."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def matched(a, b) -> float:
    """Fraction of the spikes ``a`` (t, b, i) with a spike of ``b`` in the same sample and neuron within one step."""
    have = set(zip(b[0].tolist(), b[1].tolist(), b[2].tolist()))
    hits = sum(any((t + s, bb, i) in have for s in (-1, 0, 1)) for t, bb, i in zip(*(x.tolist() for x in a)))
    return hits / max(len(a[0]), 1)


def first_call(workload: str, n: int, cache_dir: str) -> float:
    """CPU seconds of labkit's first compiled ``run`` in a fresh process whose Numba cache is ``cache_dir``
    (as Brian2's build: see :func:`cpu_seconds`)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import sys, time; sys.path[:0] = [{here!r}, {os.path.dirname(here)!r}]; "
            "import bench_spiking_engine as b; "
            f"wl = b.WORKLOADS[{workload!r}]({n}, 1000, 1); net = b.network(wl); t0 = time.process_time(); "
            "net.run(1000, 1, current=wl['ext'], engine='compiled'); print(time.process_time() - t0)")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


WORKLOADS = {"lif": lif_workload, "lif-delays": lambda n, s, b: lif_workload(n, s, b, delays=True),
             "izhikevich": izhikevich_workload}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-lif", type=int, default=4000)
    ap.add_argument("--n-izhikevich", type=int, default=1000)
    ap.add_argument("--n-agree", type=int, default=1000, help="N of the agreement runs")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", default="lif:1,lif-delays:1,izhikevich:1,lif:16",
                    help="the timed rows, workload:batch (workloads: " + ", ".join(WORKLOADS) + ")")
    ap.add_argument("--skip", default="", help="parts to leave out: agreement, first-call")
    ap.add_argument("--quick", action="store_true", help="N = 1,000 for LIF, 1 repeat, no first-call timing")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_lif, args.repeats = 1000, 1
    torch.set_num_threads(1)
    try:
        import brian2  # noqa: F401
        have_brian = True
    except ImportError:
        have_brian = False
        print("Brian2 is not installed: its columns are skipped")
    print(f"torch {torch.__version__}, 1 thread; {args.steps} steps of {DT:g} ms; median of {args.repeats} "
          "interleaved repeats; batch 1 timed in process CPU time, batch 16 in wall time")
    print(f"{'workload':<12} {'N':>5} {'B':>3}  {'simulator':<24} {'time (ms)':>10} {'neuron-steps/s':>15} "
          f"{'rate (Hz)':>9} {'vs Brian2':>9} {'vs plain':>9}  note")
    plan = [(name, args.n_izhikevich if name == "izhikevich" else args.n_lif, int(batch))
            for name, batch in (row.split(":") for row in args.rows.split(","))]
    for name, n, batch in plan:
        wl = WORKLOADS[name](n, args.steps, batch)
        runners = {"labkit compiled": peer_labkit(wl, "compiled"), "labkit torch": peer_labkit(wl, "torch")}
        if name == "lif":
            runners["plain torch loop"] = peer_plain_torch(wl)
        if have_brian and batch == 1:
            runners["Brian2 cpp_standalone"] = peer_brian2(wl)
        times = {k: [] for k in runners}
        spikes = {}
        for _ in range(args.repeats):
            for key, run in runners.items():
                sec, spikes[key] = run()
                times[key].append(sec)
        med = {k: statistics.median(v) for k, v in times.items()}
        for key in runners:
            count = spikes[key] if isinstance(spikes[key], int) else len(spikes[key][0])
            rate = count / (n * batch * args.steps * DT / 1000.0)
            vs_b = med["Brian2 cpp_standalone"] / med[key] if "Brian2 cpp_standalone" in med else float("nan")
            vs_p = med["plain torch loop"] / med[key] if "plain torch loop" in med else float("nan")
            build = getattr(runners[key], "build_seconds", None)
            note = f"build {build:.1f} CPU s apart" if build is not None else ""
            speed = n * batch * args.steps / med[key] / 1e6
            print(f"{name:<12} {n:>5} {batch:>3}  {key:<24} {1e3 * med[key]:>10.1f} {speed:>14.1f}M "
                  f"{rate:>9.2f} {vs_b:>9.2f} {vs_p:>9.2f}  {note}", flush=True)
    if have_brian and "agreement" not in args.skip:
        print("\nspike-for-spike agreement with Brian2 (batch 1; fraction matched in the same neuron within one step)")
        for name, n in (("lif", args.n_agree), ("izhikevich", args.n_izhikevich), ("lif-delays", args.n_agree)):
            wl = WORKLOADS[name](n, args.steps, 1)
            _, ours = peer_labkit(wl, "compiled")()
            _, theirs = peer_brian2(wl)()
            first = next((t for t in range(args.steps)
                          if sorted(ours[2][ours[0] == t]) != sorted(theirs[2][theirs[0] == t])), None)
            print(f"{name:<12} N={n:>5}: labkit {len(ours[0])} spikes, Brian2 {len(theirs[0])}; matched "
                  f"{matched(theirs, ours):.4f} of Brian2's, {matched(ours, theirs):.4f} of labkit's; "
                  f"identical up to step {first if first is not None else args.steps}", flush=True)
    if not args.quick and "first-call" not in args.skip:
        print("\nfirst result as a user meets it (LIF, batch 1, a fresh process)")
        cache = tempfile.mkdtemp(prefix="engine_numba_cache_")
        cold, warm = first_call("lif", args.n_lif, cache), first_call("lif", args.n_lif, cache)
        line = f"labkit first run: {cold:.2f} CPU s with JIT compilation, {warm:.2f} CPU s with a warm cache"
        if have_brian:
            b = peer_brian2(lif_workload(args.n_lif, args.steps, 1))
            line += f"; Brian2 code generation + compilation + run: {b.build_seconds:.2f} CPU s"
        print(line)


if __name__ == "__main__":
    main()
