"""Reading NWB files (and the entry point of writing them): a user's recording in, labkit's simulations out.

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

__all__ = ["Spikes", "Traces", "Behavior", "check_file", "read_spikes", "read_traces", "read_behavior", "describe",
           "write_simulation", "read_truth", "bin_spike_times"]

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


@dataclass
class Traces:
    """Fluorescence or ΔF/F traces read from a file: ``traces`` (time, rois), ``roi_ids``, ``rate`` (Hz),
    ``timestamps`` (s), the series' ``name`` (``Fluorescence/RoiResponseSeries``), the trials table, and the
    ROIs' names where their table has a ``neuron`` or ``name`` column."""

    traces: np.ndarray
    roi_ids: np.ndarray
    rate: float
    timestamps: np.ndarray
    name: str
    trials: Any = None
    roi_names: np.ndarray | None = None


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


def _series(nwb) -> dict[str, Any]:
    """Every RoiResponseSeries in the ``ophys`` module, by ``container/series`` name."""
    found = {}
    module = nwb.processing.get("ophys")
    if module is None:
        return found
    for container in module.data_interfaces.values():
        if type(container).__name__ in ("Fluorescence", "DfOverF"):
            for name, s in container.roi_response_series.items():
                found[f"{container.name}/{name}"] = s
    return found


def read_traces(path, series: str | None = None) -> Traces:
    """Fluorescence or ΔF/F traces (time, rois) from the file's ``ophys`` processing module, with ROI ids and
    rate. ``series`` names one (``"Fluorescence/RoiResponseSeries"`` or just the series' name) when the file
    holds several."""
    io, nwb = _open(path)
    try:
        found = _series(nwb)
        if not found:
            raise ParameterError(f"Parameter 'path': {str(path)!r} has no fluorescence or ΔF/F series (a "
                                 "RoiResponseSeries in processing['ophys']); read_spikes reads units.")
        if series is None:
            if len(found) > 1:
                raise ParameterError(f"Parameter 'series' must name one of the file's series: {', '.join(found)}.")
            key = next(iter(found))
        else:
            matches = [k for k in found if series in (k, k.split("/")[-1])]
            if len(matches) != 1:
                raise ParameterError(f"Parameter 'series' must name one of the file's series: {', '.join(found)}; "
                                     f"got {series!r}.")
            key = matches[0]
        s = found[key]
        data = np.asarray(s.data[:], dtype=float)
        if data.ndim == 1:
            data = data[:, None]
        if s.timestamps is not None:
            stamps = np.asarray(s.timestamps[:], dtype=float)
            rate = float(1.0 / np.median(np.diff(stamps))) if stamps.size > 1 else float("nan")
        else:
            rate = float(s.rate)
            stamps = (s.starting_time or 0.0) + np.arange(data.shape[0]) / rate
        names = None
        try:
            rows = np.asarray(s.rois.data[:])
            roi_ids = np.asarray(s.rois.table.id.data[:])[rows]
            col = next((c for c in ("neuron", "name") if c in s.rois.table.colnames), None)
            names = np.asarray(s.rois.table[col].data[:]).astype(str)[rows] if col else None
        except Exception:  # noqa: BLE001 - a series without a usable ROI table: number the columns
            roi_ids = np.arange(data.shape[1])
        frame = _trials_frame(nwb)
    finally:
        io.close()
    return Traces(data, roi_ids, rate, stamps, key, frame, names)


@dataclass
class Behavior:
    """One behavioural time series (running speed, position, pupil, ...): ``data`` (time, ...), ``timestamps`` (s),
    its ``name`` (``module/container/series``) and ``unit``."""

    data: np.ndarray
    timestamps: np.ndarray
    name: str
    unit: str


def _behavior_series(nwb) -> dict[str, Any]:
    """Every TimeSeries in processing['behavior'] (inside Position, BehavioralTimeSeries, ... or on its own)."""
    found = {}
    module = nwb.processing.get("behavior")
    if module is None:
        return found
    for cname, container in module.data_interfaces.items():
        inner = None
        for attr in ("spatial_series", "time_series", "eye_tracking", "pupil_diameter"):
            if isinstance(getattr(container, attr, None), dict) or hasattr(getattr(container, attr, None), "items"):
                inner = getattr(container, attr)
                break
        if inner:
            for sname, series in inner.items():
                found[f"behavior/{cname}/{sname}"] = series
        elif hasattr(container, "data") and hasattr(container, "rate"):
            found[f"behavior/{cname}"] = container
    return found


def read_behavior(path) -> dict[str, Behavior]:
    """Every behavioural time series of the file's ``behavior`` processing module, by name, read into memory
    (they are small next to spikes and traces); an empty dict when the file has none."""
    io, nwb = _open(path)
    try:
        out = {}
        for key, s in _behavior_series(nwb).items():
            data = np.asarray(s.data[:])
            if s.timestamps is not None:
                stamps = np.asarray(s.timestamps[:], dtype=float)
            else:
                stamps = (s.starting_time or 0.0) + np.arange(data.shape[0]) / float(s.rate)
            out[key] = Behavior(data, stamps, key, str(s.unit))
    finally:
        io.close()
    return out


def describe(path) -> list[tuple[str, str]]:
    """What a file holds that labkit can use, as (what, summary) rows: units, series, trials, duration."""
    io, nwb = _open(path)
    try:
        rows = [("session", f"{nwb.identifier}: {nwb.session_description}")]
        last = 0.0
        if nwb.units is not None and len(nwb.units.id):
            n = len(nwb.units.id)
            times = nwb.units.spike_times.data
            n_sp = int(times.shape[0])
            last = max(last, float(np.max(times[:])) if n_sp else 0.0)
            electrodes, locations = _unit_columns(nwb.units, nwb)
            areas = sorted(set(locations.tolist()) - {""}) if locations is not None else []
            rows.append(("units", f"{n} units, {n_sp} spikes" + (f"; areas {', '.join(areas[:6])}" if areas else "")))
        else:
            rows.append(("units", "none"))
        for key, s in _series(nwb).items():
            shape = tuple(s.data.shape)
            rate = float(s.rate) if s.rate else float("nan")
            rows.append(("series", f"{key}: {shape[0]} samples x {shape[1] if len(shape) > 1 else 1} ROIs"
                         + (f" at {rate:g} Hz" if np.isfinite(rate) else "")))
            if s.rate:
                last = max(last, (s.starting_time or 0.0) + shape[0] / s.rate)
        for key, s in _behavior_series(nwb).items():
            rows.append(("behaviour", f"{key}: {tuple(s.data.shape)} in {s.unit}"))
        if nwb.trials is not None and len(nwb.trials.id):
            cols = [c for c in nwb.trials.colnames if c not in ("start_time", "stop_time")]
            last = max(last, float(np.max(nwb.trials.stop_time.data[:])))
            rows.append(("trials", f"{len(nwb.trials.id)} trials" + (f"; columns {', '.join(cols)}" if cols else "")))
        else:
            rows.append(("trials", "none"))
        if "truth" in nwb.processing:
            rows.append(("truth", ", ".join(nwb.processing["truth"].data_interfaces)))
        rows.append(("duration", f"{last:.6g} s"))
    finally:
        io.close()
    return rows


def read_truth(path) -> dict[str, np.ndarray]:
    """The arrays of a file's ``truth`` processing module (written by :func:`write_simulation`), by name:
    TimeSeries data under their name, DynamicTable columns as ``table.column``."""
    io, nwb = _open(path)
    try:
        if "truth" not in nwb.processing:
            raise ParameterError(f"Parameter 'path': {str(path)!r} has no truth processing module.")
        out = {}
        for name, obj in nwb.processing["truth"].data_interfaces.items():
            if hasattr(obj, "colnames"):
                for col in obj.colnames:
                    out[f"{name}.{col}"] = np.asarray(obj[col].data[:])
            else:
                out[name] = np.asarray(obj.data[:])
    finally:
        io.close()
    return out


def write_simulation(path, data, *, bin_size: float = 0.01, animal: int = 0) -> Path:
    """Write a labkit simulation with its ground truth to an NWB file at ``path`` and return the path.

    The switching GLM's :class:`~labkit.neuro.switching_glm.SwitchingData`: spikes as a units table (each
    count a spike time at its bin's centre; bins of ``bin_size`` s; trials back to back in a trials table),
    and the truth (states, couplings, biases, transitions) in processing['truth']. The dynamic connectome's
    :class:`~labkit.neuro.dynamic_connectome.DynamicConnectomeData`: one animal's traces (``animal``) as a
    ΔF/F RoiResponseSeries, the epochs as a trials table, and the truth (epochs, communities, gains)."""
    from labkit.data.nwb import write as _nwb_write

    kind = type(data).__name__
    if kind == "SwitchingData":
        return _nwb_write.write_switching(Path(path), data, _positive("bin_size", bin_size))
    if kind == "DynamicConnectomeData":
        return _nwb_write.write_connectome(Path(path), data, animal)
    raise ParameterError(f"Parameter 'data' must be a SwitchingData or DynamicConnectomeData, got {kind}.")
