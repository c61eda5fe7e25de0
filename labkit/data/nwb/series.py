"""Reading the rest of an NWB file: fluorescence / ΔF/F traces, behaviour, what a file holds, and labkit's truth.

:func:`read_traces` reads a ``RoiResponseSeries`` of the ``ophys`` processing module, :func:`read_behavior` the
series of the ``behavior`` module, :func:`describe` summarises what labkit can use (``labkit nwb FILE``), and
:func:`read_truth` reads back the ``truth`` module that :func:`~labkit.data.nwb.write_simulation` writes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.core.params import ParameterError
from labkit.data.nwb.read import _open, _trials_frame, _unit_columns

__all__ = ["Traces", "Behavior", "read_traces", "read_behavior", "describe", "read_truth"]


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
