"""Benchmark: one recurrent LIF network simulated by labkit, a plain event-driven PyTorch loop,
snnTorch, Norse and Brian2 (cpp_standalone), measured in the same run and printed as ratios.

The workload: N neurons, 80% excitatory and 20%
inhibitory, each ordered pair connected with probability 0.1 (weights +J and -g J, g = 5), delta
synapses with one step of delay, tau_m = 20 ms, threshold 20 mV, reset to 0 mV, no refractory
period (snnTorch's Leaky has none, so every peer runs the same neuron), 1,000 steps of 1 ms, and an
external Poisson drive (mean one event of 0.9 mV per neuron and step). ``--drive current`` (the
default) gives that drive to every simulator as the same precomputed current array, so that only the
network is timed; ``--drive poisson`` lets every simulator draw it itself inside its timed run, as
the workload asks (Brian2 with ``PoissonInput``, labkit with ``poisson_rate``, the torch
loops with one vectorised ``torch.poisson``). Batch B means B independent copies (B input samples);
Brian2 has no batching and runs batch 1 only.

Reported: neuron-steps per second (N * B * steps / time) and synaptic events per second (spikes *
mean out-degree / time), as medians of ``--repeats`` runs whose peers are interleaved, so that a
busy machine slows them alike; the mean rate (Hz) shows that all peers simulate the same regime.
Network construction is not timed for anyone; Brian2's code generation and compilation are timed
separately ("build"), its simulation time is the binary's own ``_last_run_time``.

The peers live in ``.venv-bench`` (``make bench`` builds it with torch pinned and NumPy below 2.4, which
Brian2 2.9 needs). Run:
    .venv-bench/bin/python benchmarks/bench_liquid_state_machine.py            # N = 1,000 and 4,000
    .venv-bench/bin/python benchmarks/bench_liquid_state_machine.py --quick    # N = 500, 200 steps
    .venv-bench/bin/python benchmarks/bench_liquid_state_machine.py --drive poisson
A missing peer is reported as missing and skipped. labkit runs with ``engine="auto"``: its compiled path (Numba)
at batch 1, its torch path at batch 16; ``bench_spiking_engine.py`` times both paths against Brian2 (issue 20).
``benchmarks/prototypes/compiled_lif_step.py`` priced what an ahead-of-time compiled step would give at batch 1
(issue 8). Brian2's standalone binary times its run in process CPU time (``std::clock``), so on a busy machine
its column reads faster than wall-clock peers.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from labkit.spiking.connectivity import random_connectivity  # noqa: E402
from labkit.spiking.lif_network import LIFNetwork, LIFPopulation  # noqa: E402
from labkit.spiking.synapses import Synapses  # noqa: E402

TAU_M, V_TH, DT = 20.0, 20.0, 1.0
DECAY = math.exp(-DT / TAU_M)


EXT_RATE, EXT_W = 1.0, 0.9          # external Poisson events per neuron and step, and their jump (mV)


@dataclass(frozen=True)
class PoissonDrive:
    """The external drive as a rate, for ``--drive poisson``: every simulator draws it itself, inside its
    timed run (Brian2 with ``PoissonInput``, the torch simulators with one vectorised ``torch.poisson``)."""

    steps: int
    batch: int
    n: int
    rate: float = EXT_RATE
    weight: float = EXT_W

    def current(self, seed: int = 1) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.poisson(torch.full((self.steps, self.batch, self.n), self.rate), generator=gen) * self.weight

    @property
    def shape(self):
        return (self.steps, self.batch, self.n)


def workload(n: int, steps: int, batch: int, seed: int = 0, j: float = 0.1, g: float = 5.0, drive: str = "current"):
    """Edges, weights (J scaled so that the mean recurrent input stays fixed across N) and the external
    drive: with ``drive="current"`` one precomputed current (steps, batch, n), Poisson counts with mean
    ``EXT_RATE`` per step times ``EXT_W``, given to every simulator; with ``drive="poisson"`` a
    :class:`PoissonDrive` that each simulator samples itself."""
    pre, post = random_connectivity(n, 0.1, seed=seed)
    jn = j * 4000 / n
    w = np.where(pre < int(0.8 * n), jn, -g * jn).astype(np.float32)
    ext = PoissonDrive(steps, batch, n)
    return pre, post, w, (ext.current(seed + 1) if drive == "current" else ext)


def _current(ext) -> torch.Tensor:
    """The external current of a run: the given array, or drawn now (inside the timed region) from a rate."""
    return ext.current() if isinstance(ext, PoissonDrive) else ext


# --- the peers: each takes the workload and returns a runner () -> (seconds, spikes) -------------

def peer_labkit(n, pre, post, w, ext):
    syn = Synapses.from_edges(pre, post, w, n, n)
    net = LIFNetwork(LIFPopulation(n, tau_m=TAU_M, v_th=V_TH, v_reset=0.0, t_ref=0.0, tau_syn=0.0, dt=DT), syn)
    syn.ell(n)  # the padded synapse table is part of building the network

    def run():
        t0 = time.perf_counter()
        if isinstance(ext, PoissonDrive):                  # events drawn for the whole run, then one add per step
            rec = net.run(ext.steps, ext.batch, poisson_rate=ext.rate * 1000.0 / DT, poisson_weight=ext.weight)
        else:
            rec = net.run(ext.shape[0], ext.shape[1], current=ext)
        return time.perf_counter() - t0, rec.n_spikes
    return run


def peer_plain_torch(n, pre, post, w, ext):
    """The obvious event-driven loop: CSR synapses, the spiking sources' synapses gathered with
    repeat_interleave, accumulated with index_put_."""
    order = np.argsort(pre, kind="stable")
    post_t = torch.as_tensor(post[order])
    w_t = torch.as_tensor(w[order])
    indptr = torch.as_tensor(np.r_[0, np.cumsum(np.bincount(pre, minlength=n))])

    def run():
        steps, batch, _ = ext.shape
        t0 = time.perf_counter()
        cur = _current(ext)
        v = torch.zeros(batch, n)
        rec = torch.zeros(batch, n)
        total = 0
        for t in range(steps):
            v = v * DECAY + cur[t] + rec
            spk = v >= V_TH
            v[spk] = 0.0
            b, i = spk.nonzero(as_tuple=True)
            total += b.numel()
            rec = torch.zeros(batch, n)
            if b.numel():
                counts = indptr[i + 1] - indptr[i]
                syn = torch.repeat_interleave(indptr[i], counts) + torch.arange(int(counts.sum())) \
                    - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
                rec.index_put_((torch.repeat_interleave(b, counts), post_t[syn]), w_t[syn], accumulate=True)
        return time.perf_counter() - t0, total
    return run


def peer_snntorch(n, pre, post, w, ext):
    import snntorch as snn

    fc = torch.nn.Linear(n, n, bias=False)
    with torch.no_grad():
        fc.weight.zero_()
        fc.weight[torch.as_tensor(post), torch.as_tensor(pre)] = torch.as_tensor(w)
    lif = snn.Leaky(beta=DECAY, threshold=V_TH, reset_mechanism="zero")

    def run():
        steps, batch, _ = ext.shape
        t0 = time.perf_counter()
        cur = _current(ext)
        total = 0
        with torch.no_grad():
            mem = lif.init_leaky()
            spk = torch.zeros(batch, n)
            for t in range(steps):
                spk, mem = lif(cur[t] + fc(spk), mem)
                total += int(spk.sum())
        return time.perf_counter() - t0, total
    return run


def peer_norse(n, pre, post, w, ext):
    from norse.torch import LIFBoxCell, LIFBoxParameters

    wd = torch.zeros(n, n)
    wd[torch.as_tensor(pre), torch.as_tensor(post)] = torch.as_tensor(w)
    # Norse integrates dv = dt * tau_mem_inv * (v_leak - v + i): a jump of x mV is i = x / (dt * tau_mem_inv)
    p = LIFBoxParameters(tau_mem_inv=torch.tensor(1000.0 / TAU_M), v_leak=torch.tensor(0.0),
                         v_th=torch.tensor(V_TH), v_reset=torch.tensor(0.0))
    cell = LIFBoxCell(p, dt=DT / 1000.0)
    scale = 1.0 / (DT / TAU_M)

    def run():
        steps, batch, _ = ext.shape
        t0 = time.perf_counter()
        cur = _current(ext)
        total = 0
        with torch.no_grad():
            state = None
            spk = torch.zeros(batch, n)
            for t in range(steps):
                spk, state = cell((cur[t] + spk @ wd) * scale, state)
                total += int(spk.sum())
        return time.perf_counter() - t0, total
    return run


def brian2_standalone(prefix: str) -> str:
    """A fresh Brian2 cpp_standalone device in a new directory (returned): one thread, ``-O3 -march=native``,
    steps of ``DT``, built by hand (``build_on_run=False``). Also used by bench_spiking_engine.py."""
    import brian2 as b2

    b2.device.reinit()
    b2.device.activate()
    directory = tempfile.mkdtemp(prefix=prefix)
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.prefs.codegen.cpp.extra_compile_args_gcc = ["-O3", "-march=native"]
    b2.defaultclock.dt = DT * b2.ms
    return directory


def peer_brian2(n, pre, post, w, ext):
    """cpp_standalone, single-threaded; built (code generation + compilation) once per network."""
    import brian2 as b2

    if ext.shape[1] != 1:
        return None
    directory = brian2_standalone("lsm_brian2_")
    if isinstance(ext, PoissonDrive):
        # each step, after the decay: a Binomial(1000, rate / 1000) count per neuron (Poisson to 1e-3)
        g = b2.NeuronGroup(n, "v : 1", threshold="v >= 20", reset="v = 0")
        g.run_regularly(f"v = v * {DECAY!r}", when="start", order=0)
        b2.PoissonInput(g, "v", N=1000, rate=ext.rate / (1000 * DT) * b2.kHz, weight=ext.weight,
                        when="start", order=1)
    else:
        i_ext = b2.TimedArray(ext[:, 0].numpy().astype(np.float64), dt=DT * b2.ms)
        g = b2.NeuronGroup(n, "v : 1", threshold="v >= 20", reset="v = 0", namespace={"i_ext": i_ext})
        g.run_regularly(f"v = v * {DECAY!r} + i_ext(t, i)", when="start")
    # Brian2 applies a spike's input before the next decay: w / DECAY gives the same jump as the others
    s = b2.Synapses(g, g, "w : 1", on_pre="v_post += w")
    s.connect(i=pre.astype(np.int32), j=post.astype(np.int32))
    s.w = (w / DECAY).astype(np.float64)
    mon = b2.SpikeMonitor(g, record=False)
    b2.run(ext.shape[0] * DT * b2.ms, namespace={})
    t0 = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=True, debug=False)
    build = time.perf_counter() - t0

    def run():
        b2.device.run(directory=directory, with_output=False, run_args=[])
        return b2.device._last_run_time, int(mon.num_spikes)
    run.build_seconds = build
    return run


PEERS = {"labkit": peer_labkit, "plain torch loop": peer_plain_torch, "snnTorch": peer_snntorch,
         "Norse": peer_norse, "Brian2 cpp_standalone": peer_brian2}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,4000")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the torch peers (Brian2 runs on one)")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--quick", action="store_true", help="N = 500, 200 steps, 1 repeat")
    ap.add_argument("--drive", choices=("current", "poisson"), default="current",
                    help="current: one precomputed external current for all; poisson: each simulator draws the "
                         "Poisson drive itself, inside its timed run (the workload as stated)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.steps, args.repeats = "500", 200, 1
    torch.set_num_threads(args.threads)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    print(f"torch {torch.__version__}, {args.threads} thread(s); {args.steps} steps of {DT:g} ms; drive: {args.drive}; "
          f"median of {args.repeats} interleaved repeats", flush=True)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        for batch in [int(b) for b in args.batches.split(",")]:
            pre, post, w, ext = workload(n, args.steps, batch, drive=args.drive)
            mean_deg = len(pre) / n
            runners, notes = {}, {}
            for name in peers:
                try:
                    r = PEERS[name](n, pre, post, w, ext)
                except ImportError as exc:
                    notes[name] = f"not installed ({exc.name})"
                    continue
                if r is None:
                    continue
                runners[name] = r
                if hasattr(r, "build_seconds"):
                    notes[name] = f"build {r.build_seconds:.1f} s (code generation + compile), not timed"
            times = {k: [] for k in runners}
            spikes = {}
            for _ in range(args.repeats):
                for name, r in runners.items():
                    sec, spk = r()
                    times[name].append(sec)
                    spikes[name] = spk
            base = statistics.median(times["labkit"]) if "labkit" in times else None
            for name in runners:
                sec = statistics.median(times[name])
                rate = spikes[name] / (n * batch * args.steps * DT / 1000.0)
                rows.append((n, batch, name, sec, n * batch * args.steps / sec, spikes[name] * mean_deg / sec,
                             rate, sec / base if base else float("nan"), notes.get(name, "")))
            for name, note in notes.items():
                if name not in runners:
                    rows.append((n, batch, name, *[float("nan")] * 5, note))
            print_rows([r for r in rows if r[0] == n and r[1] == batch])
    return rows


def print_rows(rows):
    head = (f"{'N':>6} {'B':>3}  {'simulator':<22} {'time (s)':>9} {'neuron-steps/s':>15} {'syn. events/s':>14} "
            f"{'rate (Hz)':>9} {'labkit x':>9}  note")
    print(head)
    for n, b, name, sec, ns, ev, rate, ratio, note in rows:
        if math.isnan(sec):
            print(f"{n:>6} {b:>3}  {name:<22} {'-':>9} {'-':>15} {'-':>14} {'-':>9} {'-':>9}  {note}")
        else:
            print(f"{n:>6} {b:>3}  {name:<22} {sec:>9.3f} {ns / 1e6:>14.1f}M {ev / 1e6:>13.1f}M {rate:>9.1f} "
                  f"{ratio:>9.2f}  {note}")
    print(flush=True)


if __name__ == "__main__":
    main()
