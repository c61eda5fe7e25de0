"""The dynamic connectome on a user's recordings: one NWB file per animal, no ground truth.

:func:`load_recordings` reads each file's fluorescence or ΔF/F series (:func:`labkit.data.nwb.read_traces`)
into the (animals, neurons, samples) array the method takes, and turns the first file's trials table into
the epochs the figures draw the time courses against (a trial's ``epoch``, ``condition``, ``stimulus`` or
``trial_type`` column names its epoch; samples outside every trial are ``between trials``). The result has the
attributes of a simulation the figures and :func:`~.experiment.factor_arrays` read (``time``, ``dt``, ``neurons``,
``epoch_of_sample``, ``epoch_names``), and none of its truth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.core.params import ParameterError
from labkit.data import nwb
from labkit.neuro.dynamic_connectome.simulate import AnimalsNeurons

__all__ = ["TraceRecording", "load_recordings", "EPOCH_COLUMNS", "save_fit"]

EPOCH_COLUMNS = ("epoch", "condition", "stimulus", "trial_type")


@dataclass
class TraceRecording(AnimalsNeurons):
    """Several animals' traces from NWB files: ``traces`` (animals, neurons, samples), ``time`` (s), ``dt``,
    ``neurons`` (the ROIs' names, else their ids), the epochs of the first file's trials (``epoch_of_sample``
    into ``epoch_names``), and the ``paths`` read."""

    traces: np.ndarray
    time: np.ndarray
    dt: float
    neurons: list[str]
    epoch_of_sample: np.ndarray
    epoch_names: list[str]
    paths: list[str]



def _epochs(trials, time: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each sample's epoch from a trials table (first labelling column of EPOCH_COLUMNS, else "trial")."""
    if trials is None or len(trials) == 0:
        return np.zeros(time.size, dtype=np.int64), ["recording"]
    column = next((c for c in EPOCH_COLUMNS if c in trials.columns), None)
    labels = trials[column].astype(str).to_numpy() if column else np.array(["trial"] * len(trials))
    names = list(dict.fromkeys(labels.tolist()))
    gap = "between trials"
    order = np.argsort(trials["start_time"].to_numpy(float), kind="stable")
    starts, stops = trials["start_time"].to_numpy(float)[order], trials["stop_time"].to_numpy(float)[order]
    code = np.array([names.index(lab) for lab in labels], dtype=np.int64)[order]
    trial = np.searchsorted(starts, time, side="right") - 1          # the latest trial started by each sample
    inside = (trial >= 0) & (time < stops[np.maximum(trial, 0)])
    of = np.where(inside, code[np.maximum(trial, 0)], -1)
    if (of < 0).any():
        names.append(gap)
        of[of < 0] = len(names) - 1
    return of, names


def load_recordings(paths, series: str | None = None) -> TraceRecording:
    """Read one animal per NWB file (``paths``: a list or a comma-separated string) into a TraceRecording.
    Every file must hold the same ROIs at the same rate; the recordings are cut to the shortest."""
    if isinstance(paths, str):
        paths = [p.strip() for p in paths.split(",") if p.strip()]
    if len(paths) < 2:
        raise ParameterError(f"Parameter 'nwb_path' must list at least two files (one per animal; the tensor's "
                             f"animal mode needs two), got {len(paths)}.")
    read = [nwb.read_traces(p, series or None) for p in paths]
    ids = read[0].roi_ids
    for p, r in zip(paths[1:], read[1:]):
        if r.roi_ids.shape != ids.shape or not np.array_equal(r.roi_ids, ids):
            raise ParameterError(f"Parameter 'nwb_path': {p!r} holds other ROIs than {paths[0]!r} (every animal's "
                                 "file must list the same neurons in the same order).")
        if not np.isclose(r.rate, read[0].rate, rtol=1e-6):
            raise ParameterError(f"Parameter 'nwb_path': {p!r} is sampled at {r.rate:g} Hz, {paths[0]!r} at "
                                 f"{read[0].rate:g} Hz; every animal's file must share the rate.")
    T = min(r.traces.shape[0] for r in read)
    traces = np.stack([r.traces[:T].T for r in read])
    if not np.isfinite(traces).all():
        raise ParameterError("Parameter 'nwb_path': the traces hold NaN or infinite values.")
    time = read[0].timestamps[:T]
    epoch_of_sample, epoch_names = _epochs(read[0].trials, time)
    names = read[0].roi_names if read[0].roi_names is not None else ids
    return TraceRecording(traces, time, 1.0 / read[0].rate, [str(i) for i in names], epoch_of_sample, epoch_names,
                          [str(p) for p in paths])


def save_fit(path, model, data) -> None:
    """Write a fitted :class:`~.model.DynamicConnectome` to an ``.npz`` at ``path``: each motif's communities
    (rank, neurons), the time factors (windows, rank) with the windows' centres (s), the animal factors, the
    motifs' pair loadings and the neurons' names, for analysis outside the notebook."""
    if not str(path).endswith(".npz"):
        raise ParameterError(f"Parameter 'fit_out' must be a path ending in .npz, got {str(path)!r}.")
    aff = model.affinity_
    np.savez(path, communities=np.asarray(model.communities_), time_factors=model.time_factors_,
             animal_factors=model.animal_factors_, motifs=np.asarray(model.motifs_), weights=model.weights_,
             window_time=(aff.window_start + aff.window / 2.0) * data.dt, window=aff.window, step=aff.step,
             neurons=np.array(data.neurons))
