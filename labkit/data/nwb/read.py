"""Reading spikes from NWB files: a user's units table binned into counts, for every unit at once.

In: :func:`read_spikes` bins a file's units table (spike times) into counts, over the whole recording or cut
on its trials table, for every unit at once: the concatenated spike times of all units find their bins by one
division (and one ``np.searchsorted`` over the trials' starts) and are counted run by run, with no Python loop
over units. :func:`read_traces`
reads fluorescence or ΔF/F traces (a ``RoiResponseSeries`` in the ``ophys`` processing module). Both read only
the datasets they need (h5py, through ``pynwb``), not the whole file.

Out: :func:`write_simulation` writes a simulator's output (the switching GLM's spikes, the dynamic
connectome's traces) with its ground truth in a ``truth`` processing module, so a user sees what their
file must hold and the tests can run a notebook on a file and score it against the truth it carries.

Bad input (a missing file, a file with no units table, a bin size that is not positive or longer than the
recording, unit ids the file lacks, ...) raises one :class:`~labkit.core.params.ParameterError` sentence
naming the argument.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labkit.core.params import ParameterError

__all__ = ["Spikes", "check_file", "read_spikes", "bin_spike_times", "count_dtype", "SESSION_START"]

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
SESSION_START = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)   # fixed, so a seed writes the same file


@dataclass
class Spikes:
    """Binned spike counts read from a file.

    ``counts``: (time, units), or (trials, time, units) when cut on the trials table, in the smallest signed
    integer type that holds the largest count (:func:`count_dtype`); ``unit_ids``: the units
    table's ids; ``electrodes`` / ``locations``: each unit's (first) electrode and its brain area, where the
    file has them; ``bin_edges``: seconds, from the recording's start, or from each trial's start when cut
    on trials; ``trial_starts``: each trial's start (s), or None; ``trials``: the file's trials table."""

    counts: np.ndarray
    unit_ids: np.ndarray
    bin_edges: np.ndarray
    bin_size: float
    electrodes: np.ndarray | None = None
    locations: np.ndarray | None = None
    trials: Any = None
    trial_starts: np.ndarray | None = None

    @property
    def n_units(self) -> int:
        return self.counts.shape[-1]


def check_file(path, name: str = "path") -> Path:
    """``path`` as a Path if it is an existing HDF5 (NWB) file, else one ParameterError sentence naming ``name``."""
    if not isinstance(path, (str, Path)) or str(path) == "":
        raise ParameterError(f"Parameter {name!r} must be the path of an NWB file, got {path!r}.")
    p = Path(path).expanduser()
    if not p.is_file():
        raise ParameterError(f"Parameter {name!r}: no file at {str(p)!r}.")
    with open(p, "rb") as f:
        head = f.read(8)
    if head != _HDF5_MAGIC:
        raise ParameterError(f"Parameter {name!r}: {str(p)!r} is not an NWB (HDF5) file.")
    return p


def _open(path, name: str = "path"):
    """An open ``NWBHDF5IO`` (read-only) and its NWBFile, or one sentence naming ``name``."""
    import warnings

    from pynwb import NWBHDF5IO

    p = check_file(path, name)
    io = NWBHDF5IO(str(p), "r", load_namespaces=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nwb = io.read()
    except Exception as exc:  # noqa: BLE001 - h5py/hdmf raise many kinds for a file that is not NWB
        io.close()
        raise ParameterError(f"Parameter {name!r}: {str(p)!r} is an HDF5 file but not a readable NWB file "
                             f"({type(exc).__name__}).") from None
    return io, nwb


def _positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v <= 0:
        raise ParameterError(f"Parameter {name!r} must be a positive number of seconds, got {value!r}.")
    return v


def count_dtype(largest: int) -> np.dtype:
    """The smallest signed integer type that holds ``largest`` (int8 for most recordings): the binned output is
    the one large array of a read, and its memory is most of the read's time (cast before arithmetic that could
    overflow, e.g. ``counts.astype(float)``)."""
    for dtype in (np.int8, np.int16, np.int32):
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def bin_spike_times(times, unit_of_spike, n_units: int, starts, n_bins: int, bin_size: float) -> np.ndarray:
    """Counts (windows, bins, units) of spikes in ``n_bins`` bins of ``bin_size`` from each of ``starts``.

    ``times``: the concatenated spike times of all units, ``unit_of_spike`` the unit (0..n_units-1) of each.
    Bins are half-open [a, b) with the edges ``start + bin_size * j``, exactly those of ``np.histogram`` on
    that edge array. Each spike finds its window with one ``np.searchsorted`` over the window starts and its bin
    by division (checked against the edges themselves where rounding could put it across one); every spike then
    sets its bin, and the few bins with several spikes are added up (``np.add.at`` on the repeats of the flat
    index, sorted when each unit's times are). The work is in place: memory is the output (:func:`count_dtype`)
    plus about one array of the spikes' length, and no Python loop runs over units. Windows must not overlap."""
    return _bin_in_place(np.asarray(times, dtype=float), np.array(unit_of_spike, dtype=np.int64), n_units,
                         starts, n_bins, bin_size)


def _bin_in_place(t: np.ndarray, unit: np.ndarray, n_units: int, starts, n_bins: int, bin_size: float) -> np.ndarray:
    """:func:`bin_spike_times` on a unit array it may overwrite (int64): every large temporary costs its page
    faults, which dominate the time of a read of millions of spikes, so the work is done in place."""
    starts = np.asarray(starts, dtype=float)
    n_win = starts.size
    if n_win > 1 and np.any(starts[:-1] + bin_size * n_bins > starts[1:] + 1e-9 * bin_size):
        raise ParameterError("The trials overlap or are out of order; cut on trials needs disjoint trials "
                             "(sort the trials table by start_time).")
    win = np.searchsorted(starts, t, side="right") - 1 if n_win > 1 else None
    x = t - (starts[np.maximum(win, 0)] if n_win > 1 else starts[0])
    x /= bin_size
    j = x.astype(np.int64)                                # truncation; spikes before a window come out < 0 below
    x -= j                                                # the position inside the bin (negative before the window)
    near = np.flatnonzero((x < 1e-9) | (x > 1 - 1e-9))    # rounding may have crossed an edge: check those exactly
    del x
    if near.size:
        origin = starts[np.maximum(win[near], 0)] if n_win > 1 else starts[0]
        tn, jn = t[near], j[near]
        jn -= tn < origin + bin_size * jn
        jn += tn >= origin + bin_size * (jn + 1)
        j[near] = jn
    keep = (j >= 0) & (j < n_bins)
    if win is not None:
        keep &= win >= 0
        j += win * n_bins
    del win
    unit *= n_win * n_bins
    flat = j
    flat += unit
    del unit
    if not keep.all():
        flat = flat[keep]
    del keep
    if flat.size > 1 and np.any(flat[1:] < flat[:-1]):    # each unit's times sorted: already in order
        flat.sort()
    repeat = flat[1:][flat[1:] == flat[:-1]]              # the second, third, ... spike of a bin (few)
    largest = 1
    if repeat.size:
        largest += int(np.diff(np.flatnonzero(np.r_[True, repeat[1:] != repeat[:-1], True])).max())
    out = np.zeros((n_units, n_win, n_bins), dtype=count_dtype(largest))
    flat_out = out.reshape(-1)
    flat_out[flat] = 1
    if repeat.size:
        np.add.at(flat_out, repeat, 1)
    return out.transpose(1, 2, 0)


def _unit_columns(units, nwb) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Each unit's first electrode index and its brain area (units' own ``location`` column first)."""
    electrodes = locations = None
    cols = set(units.colnames)
    if "electrodes" in cols:
        region = units["electrodes"]
        target = region.target if hasattr(region, "target") else region
        flat = np.asarray(target.data[:], dtype=np.int64)
        ends = np.asarray(region.data[:], dtype=np.int64)
        first = np.r_[0, ends[:-1]]
        electrodes = np.where(ends > first, flat[np.minimum(first, max(flat.size - 1, 0))], -1) if flat.size \
            else np.full(len(ends), -1)
        table = target.table
        if "location" in table.colnames:
            loc = np.asarray(table["location"].data[:]).astype(str)
            locations = np.where(electrodes >= 0, loc[np.maximum(electrodes, 0)], "")
    for col in ("location", "brain_area"):
        if col in cols:
            locations = np.asarray(units[col].data[:]).astype(str)
    return electrodes, locations


def _trials_frame(nwb):
    if nwb.trials is None:
        return None
    return nwb.trials.to_dataframe()


def read_spikes(path, bin_size: float, units=None, start: float | None = None, stop: float | None = None,
                trials: bool = False) -> Spikes:
    """Bin the spike times of a file's units table into counts, for all (or the listed) units at once.

    ``bin_size`` in seconds. ``units``: unit ids (the units table's ``id``), default every unit. ``start`` /
    ``stop`` (s) bound the window (default: 0 to the last spike or trial). ``trials=True`` cuts the counts on
    the file's trials table: every trial from its ``start_time`` for as many bins as the shortest trial holds
    (within ``start``/``stop``), so the counts are (trials, time, units)."""
    bin_size = _positive("bin_size", bin_size)
    io, nwb = _open(path)
    try:
        table = nwb.units
        if table is None or len(table.id) == 0:
            raise ParameterError(f"Parameter 'path': {str(path)!r} has no units table (spike times); "
                                 "read_traces reads fluorescence.")
        ids = np.asarray(table.id.data[:])
        ends = np.asarray(table.spike_times_index.data[:], dtype=np.int64)
        times = np.asarray(table.spike_times.data[:], dtype=float)
        counts_per_unit = np.diff(np.r_[0, ends])
        unit_of_spike = np.repeat(np.arange(ids.size), counts_per_unit)
        chosen = np.arange(ids.size)
        if units is not None:
            wanted = np.atleast_1d(np.asarray(units))
            known = set(ids.tolist())
            missing = [u for u in wanted.tolist() if u not in known]
            if missing or wanted.size == 0:
                raise ParameterError(f"Parameter 'units' must list unit ids of the file ({ids.size} units, ids "
                                     f"{ids[:5].tolist()}{'...' if ids.size > 5 else ''}), got {missing or []!r}.")
            index = {u: i for i, u in enumerate(ids.tolist())}
            chosen = np.array([index[u] for u in wanted.tolist()], dtype=np.int64)
            remap = np.full(ids.size, -1, dtype=np.int64)
            remap[chosen] = np.arange(chosen.size)
            new_unit = remap[unit_of_spike]
            sel = new_unit >= 0
            times, unit_of_spike = times[sel], new_unit[sel]
            if np.any(np.diff(chosen) < 0):                   # a reordered selection: restore the flat order
                order = np.argsort(unit_of_spike, kind="stable")
                times, unit_of_spike = times[order], unit_of_spike[order]
        frame = _trials_frame(nwb)
        electrodes, locations = _unit_columns(table, nwb)
    finally:
        io.close()
    if electrodes is not None:
        electrodes = electrodes[chosen]
    if locations is not None:
        locations = locations[chosen]
    last = float(times.max()) if times.size else 0.0
    if frame is not None and "stop_time" in frame:
        last = max(last, float(frame["stop_time"].max()))
    lo = 0.0 if start is None else float(start)
    hi = last if stop is None else float(stop)
    if not hi > lo:
        raise ParameterError(f"Parameters 'start' and 'stop' must bound a window of positive length, got "
                             f"{lo} to {hi} s.")
    if trials:
        if frame is None or not {"start_time", "stop_time"} <= set(frame.columns):
            raise ParameterError("Parameter 'trials': the file has no trials table with start_time and stop_time "
                                 "to cut on.")
        inside = (frame["start_time"] >= lo) & (frame["stop_time"] <= hi)
        frame = frame[inside].sort_values("start_time", kind="stable")
        if len(frame) == 0:
            raise ParameterError(f"Parameter 'trials': no trial lies between start={lo} and stop={hi} s.")
        starts = frame["start_time"].to_numpy(float)
        span = float((frame["stop_time"] - frame["start_time"]).min())
    else:
        starts, span = np.array([lo]), hi - lo
    n_bins = int(np.floor(span / bin_size + 1e-9))
    if n_bins < 1:
        where = "the shortest trial" if trials else "the recording"
        raise ParameterError(f"Parameter 'bin_size' ({bin_size} s) is longer than {where} ({span:.6g} s).")
    counts = _bin_in_place(times, unit_of_spike, chosen.size, starts, n_bins, bin_size)
    if not counts.any():
        raise ParameterError(f"Parameter 'units': the chosen units have no spikes between {lo} and {hi} s.")
    edges = bin_size * np.arange(n_bins + 1) + (0.0 if trials else lo)
    return Spikes(counts if trials else counts[0], ids[chosen], edges, bin_size, electrodes, locations,
                  frame, starts if trials else None)
