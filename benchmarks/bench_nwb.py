"""Benchmark: reading and binning a units table with labkit.data.nwb against the loop a user would write.

The workload: an NWB file of 500 units, each a 5 Hz Poisson process over one hour (about 9 million spike
times), written once with pynwb; read and binned at 10 ms (360,000 bins) over [0, 3600) s. The peer is the
straightforward loop: open the file with pynwb, and for every unit take its spike times
(``nwbfile.units["spike_times"][i]``) and ``np.histogram`` them on the bin edges. labkit reads the concatenated
spike times once and bins every unit at once (``labkit.data.nwb.read_spikes``). Reported: each one's median time
over ``--repeats`` runs taken round-robin in this process, their ratio, that the counts are equal, and each one's
peak memory (``tracemalloc``, which sees NumPy's and h5py's arrays) against the size of its binned output.
Never asserted in tests.

    python benchmarks/bench_nwb.py               # the workload above
    python benchmarks/bench_nwb.py --quick       # 50 units x 10 minutes, seconds
    python benchmarks/bench_nwb.py --file X.nwb  # keep (or reuse) the written file
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from labkit.data import nwb


def write_file(path: Path, n_units: int, duration: float, rate: float, seed: int = 0) -> int:
    """A units table of ``n_units`` Poisson spike trains at ``rate`` Hz over ``duration`` s; the spike count."""
    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(seed)
    f = NWBFile(session_description="bench_nwb: Poisson units", identifier="bench-nwb",
                session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    total = 0
    for u in range(n_units):
        times = np.sort(rng.uniform(0.0, duration, rng.poisson(rate * duration)))
        total += times.size
        f.add_unit(spike_times=times, id=u)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(f)
    return total


def labkit_bins(path: Path, bin_size: float, duration: float) -> np.ndarray:
    return nwb.read_spikes(path, bin_size, start=0.0, stop=duration).counts


def loop_bins(path: Path, bin_size: float, duration: float) -> np.ndarray:
    """What a user writes: pynwb, one unit at a time, np.histogram on the edges."""
    from pynwb import NWBHDF5IO

    edges = np.arange(int(round(duration / bin_size)) + 1) * bin_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "r") as io:
            f = io.read()
            return np.stack([np.histogram(f.units["spike_times"][i], bins=edges)[0] for i in range(len(f.units))],
                            axis=1)


def peak_memory(fn) -> tuple[int, np.ndarray]:
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--file", default=None, help="where to write the file (reused if it exists)")
    args = ap.parse_args()
    n_units, duration, rate, bin_size = (50, 600.0, 5.0, 0.01) if args.quick else (500, 3600.0, 5.0, 0.01)
    tmp = tempfile.TemporaryDirectory()
    path = Path(args.file) if args.file else Path(tmp.name) / "bench.nwb"
    if not path.exists():
        t0 = time.perf_counter()
        n_spikes = write_file(path, n_units, duration, rate)
        print(f"wrote {path}: {n_units} units, {n_spikes:,} spikes, {path.stat().st_size / 1e6:.0f} MB "
              f"in {time.perf_counter() - t0:.1f} s")
    print(f"binning {n_units} units x {duration:g} s at {bin_size * 1000:g} ms "
          f"({int(round(duration / bin_size)):,} bins), {args.repeats} repeats, round-robin")
    runs = {"labkit": labkit_bins, "loop": loop_bins}
    times: dict[str, list[float]] = {k: [] for k in runs}
    outs = {}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            outs[name] = fn(path, bin_size, duration)
            times[name].append(time.perf_counter() - t0)
            if name == "loop":
                del outs[name]
    loop_out = loop_bins(path, bin_size, duration)
    equal = np.array_equal(outs["labkit"], loop_out)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"  labkit read_spikes : {med['labkit']:.2f} s")
    print(f"  pynwb + np.histogram loop : {med['loop']:.2f} s")
    print(f"  ratio (loop / labkit): {med['loop'] / med['labkit']:.1f}x; counts equal: {equal}")
    del loop_out, outs
    for name, fn in runs.items():
        peak, out = peak_memory(lambda fn=fn: fn(path, bin_size, duration))
        print(f"  {name:>6}: peak {peak / 1e6:,.0f} MB for a binned output of {out.nbytes / 1e6:,.0f} MB "
              f"({out.dtype}), {peak / out.nbytes:.2f}x")
        del out
    tmp.cleanup()


if __name__ == "__main__":
    main()
