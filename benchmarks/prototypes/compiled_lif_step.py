"""What an ahead-of-time compiled LIF step would give (issue 8): a measurement, not part of labkit.

labkit's LIF step is a handful of torch calls per 1 ms step, and at batch 1 it runs at about Brian2's
speed; the issue's target is 2× Brian2 cpp_standalone "with no compile step". This script compiles
``lif_step.c`` (about 40 lines: the update, the threshold and the event-driven scatter in one loop over
steps) with the system's C compiler, runs it on the benchmark's workload (N=4,000, batch 1, 1,000 steps,
the same precomputed drive), checks that it gives labkit's spikes, and prints its time beside labkit's
and Brian2's (when installed) in the same run.

    .venv-bench/bin/python benchmarks/prototypes/compiled_lif_step.py [--n 4000] [--steps 1000]
"""
from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import bench_liquid_state_machine as bench  # noqa: E402


def build(flags: list[str]) -> ctypes.CDLL:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("no C compiler found (cc or gcc); this measurement needs one.")
    out = os.path.join(tempfile.mkdtemp(prefix="lif_step_"), "liblif.so")
    src = os.path.join(os.path.dirname(__file__), "lif_step.c")
    subprocess.run([cc, *flags, "-shared", "-fPIC", "-o", out, src], check=True)
    lib = ctypes.CDLL(out)
    lib.lif_run.restype = ctypes.c_int64
    return lib


def padded_table(pre, post, w, n):
    """Targets and weights per source, padded to the largest out-degree with the sink index n."""
    order = np.argsort(pre, kind="stable")
    pre, post, w = pre[order], post[order], w[order]
    deg = np.bincount(pre, minlength=n)
    col = np.arange(len(pre)) - np.r_[0, np.cumsum(deg)[:-1]][pre]
    tgt = np.full((n, int(deg.max())), n, np.int32)
    wt = np.zeros(tgt.shape, np.float32)
    tgt[pre, col], wt[pre, col] = post, w
    return tgt, wt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    n, steps = args.n, args.steps
    pre, post, w, ext = bench.workload(n, steps, 1)
    tgt, wt = padded_table(pre, post, w, n)
    e = np.ascontiguousarray(ext[:, 0].numpy(), dtype=np.float32)
    ptr = lambda a, t: a.ctypes.data_as(ctypes.POINTER(t))  # noqa: E731

    def compiled(lib):
        def run():
            v, rec, buf = np.zeros(n, np.float32), np.zeros(n + 1, np.float32), np.zeros(n, np.int32)
            t0 = time.perf_counter()
            spikes = lib.lif_run(n, steps, tgt.shape[1], ctypes.c_float(bench.DECAY), ctypes.c_float(bench.V_TH),
                                 ptr(e, ctypes.c_float), ptr(tgt, ctypes.c_int32), ptr(wt, ctypes.c_float),
                                 ptr(v, ctypes.c_float), ptr(rec, ctypes.c_float), ptr(buf, ctypes.c_int32))
            return time.perf_counter() - t0, int(spikes)
        return run

    runners = {"C, -O3 -march=native": compiled(build(["-O3", "-march=native"])),
               "C, -O3 (portable)": compiled(build(["-O3"])),
               "labkit (torch)": bench.peer_labkit(n, pre, post, w, ext)}
    try:
        runners["Brian2 cpp_standalone"] = bench.peer_brian2(n, pre, post, w, ext)
    except ImportError:
        print("Brian2 not installed: skipped")
    times = {k: [] for k in runners}
    spikes = {}
    for _ in range(args.repeats):                      # interleaved, so that load elsewhere hits all alike
        for name, run in runners.items():
            sec, spikes[name] = run()
            times[name].append(sec)
    base = min(times["labkit (torch)"])
    brian = min(times["Brian2 cpp_standalone"]) if "Brian2 cpp_standalone" in times else None
    print(f"N={n}, batch 1, {steps} steps of {bench.DT:g} ms, best of {args.repeats}")
    for name in runners:
        sec = min(times[name])
        vs = f"{brian / sec:5.2f}x Brian2" if brian else ""
        print(f"{name:<24} {1e3 * sec:8.1f} ms  {1e6 * sec / steps:6.1f} us/step  {spikes[name]:>7} spikes  "
              f"{base / sec:5.2f}x labkit  {vs}")
    same = spikes["C, -O3 -march=native"] == spikes["labkit (torch)"]
    print("the compiled step gives labkit's spike count" if same else "spike counts differ from labkit's")


if __name__ == "__main__":
    main()
