"""Writing labkit simulations to NWB with their ground truth (:func:`write_simulation`).

Spikes go in the units table, traces in an ophys ΔF/F series, the trials (or epochs) in the trials table,
and everything the simulator knows and a recording would not (states, couplings, communities, gains) in a
processing module ``truth`` whose description says so. The subject and session metadata say the data are
simulated, by which labkit function and seed; the session start is fixed so the same seed writes the same
numbers. Files pass ``nwbinspector`` with no CRITICAL or BEST_PRACTICE_VIOLATION issue (tests/test_nwb.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from labkit.core.params import ParameterError
from labkit.data.nwb.read import SESSION_START, _positive

__all__ = ["write_simulation", "write_switching", "write_connectome"]


def _file(identifier: str, description: str, species: str, seed: int):
    from pynwb import NWBFile
    from pynwb.file import Subject

    from labkit.core.version import __version__

    subject = Subject(subject_id=f"simulated-seed{seed}", species=species, sex="XX", age="P0D",
                      description=f"No animal: simulated by labkit {__version__} with seed {seed}.")
    return NWBFile(session_description=description, identifier=identifier, session_start_time=SESSION_START,
                   experimenter=["labkit, simulation"], lab="labkit", institution="labkit (simulated data)",
                   experiment_description=description, session_id=f"seed{seed}", subject=subject,
                   keywords=["simulation", "ground truth", "labkit"])


def _table(name: str, description: str, columns: dict[str, tuple[np.ndarray, str]]):
    from hdmf.common import DynamicTable, VectorData

    n = len(next(iter(columns.values()))[0])
    return DynamicTable(name=name, description=description, id=list(range(n)),
                        columns=[VectorData(name=c, description=d, data=np.asarray(v))
                                 for c, (v, d) in columns.items()])


def _save(nwb, path: Path) -> Path:
    from pynwb import NWBHDF5IO

    if path.suffix != ".nwb":
        raise ParameterError(f"Parameter 'path' must end in .nwb, got {str(path)!r}.")
    if not path.parent.is_dir():
        raise ParameterError(f"Parameter 'path': the folder {str(path.parent)!r} does not exist.")
    tmp = path.with_name("." + path.stem + ".part.nwb")
    with NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)
    tmp.replace(path)                                     # never a half-written file under the real name
    return path


def write_switching(path: Path, data, bin_size: float) -> Path:
    """The switching GLM's spikes (units, trials back to back) and truth (states, couplings) at ``path``."""
    from pynwb import TimeSeries
    from pynwb.misc import Units

    B, T, N = data.spikes.shape
    K = data.weights.shape[0]
    nwb = _file(f"labkit-switching_glm-seed{data.seed}",
                f"Spikes of {N} neurons simulated by labkit.neuro.switching_glm.simulate_switching_glm (an HMM-GLM "
                f"with {K} hidden states) in {B} trials of {T} bins of {bin_size} s; the truth is in processing/truth.",
                "Caenorhabditis elegans", data.seed)
    neurons = list(getattr(data.backbone, "neurons", None) or [f"n{i}" for i in range(N)])
    # a count of c is c spikes spread evenly inside its bin, at (j + 1) / (c + 1) of it (j < c): distinct times
    # that bin back to the same counts; trial b starts at b * T * bin_size
    trial, t, unit = np.nonzero(data.spikes)
    order = np.lexsort((t, trial, unit))                  # unit-major, then time: each unit's times sorted
    trial, t, unit = trial[order], t[order], unit[order]
    reps = data.spikes[trial, t, unit].astype(np.int64)
    first = np.cumsum(reps) - reps
    j = np.arange(int(reps.sum())) - np.repeat(first, reps)
    times = (np.repeat(trial * T + t, reps) + (j + 1) / np.repeat(reps + 1, reps)) * bin_size
    ends = np.cumsum(np.bincount(unit, weights=reps, minlength=N)).astype(np.int64)
    nwb.units = Units(name="units", description="simulated neurons; spike times spread inside their bins",
                      resolution=bin_size / (int(reps.max(initial=1)) + 1))
    nwb.add_unit_column("neuron", "the simulated neuron's name (a worm class on the worm backbone)")
    for n in range(N):
        nwb.add_unit(spike_times=times[(ends[n - 1] if n else 0):ends[n]], neuron=neurons[n], id=n)
    for b in range(B):
        nwb.add_trial(start_time=b * T * bin_size, stop_time=(b + 1) * T * bin_size)
    truth = nwb.create_processing_module(
        "truth", "Ground truth of the labkit simulation, which a recording would not hold: the hidden state of every "
                 "bin and each state's couplings, W[state, post, pre] as in Li et al. (2023).")
    truth.add(TimeSeries(name="states", data=data.states.reshape(-1).astype(np.int64), unit="n.a.",
                         rate=1.0 / bin_size, starting_time=0.0, description="the hidden state of every bin "
                         "(0..K-1), trials back to back as in the trials table"))
    truth.add(_table("couplings", "each state's couplings (rows: states)",
                     {"weights": (data.weights, "coupling W[state, post, pre] (per bin, through the history basis)"),
                      "active": (data.active, "whether the connection is on in the state")}))
    truth.add(_table("neurons", "each neuron's baseline (rows: units, in the units table's order)",
                     {"bias": (data.bias, "the baseline b_n of the sigmoid rate")}))
    truth.add(_table("transitions", "the Markov chain's transition matrix (rows: from-state)",
                     {"probabilities": (data.transitions, "P(next state | this state)")}))
    truth.add(_table("history", "the spike-history basis (rows: lags 1..L)",
                     {"basis": (data.basis, "phi_l, the weight of lag l")}))
    return _save(nwb, path)


def write_connectome(path: Path, data, animal: int) -> Path:
    """One animal's traces of the dynamic connectome as a ΔF/F series, its epochs as trials, and the truth."""
    from pynwb import TimeSeries
    from pynwb.ophys import DfOverF, OpticalChannel, PlaneSegmentation, RoiResponseSeries

    if not isinstance(animal, (int, np.integer)) or not 0 <= animal < data.n_animals:
        raise ParameterError(f"Parameter 'animal' must be an integer in [0, {data.n_animals - 1}], got {animal!r}.")
    N, T = data.n_neurons, data.traces.shape[2]
    seed = int(getattr(data, "seed", 0) or 0)
    nwb = _file(f"labkit-dynamic_connectome-animal{animal}",
                f"Calcium traces of {N} neurons of animal {animal}, simulated by "
                "labkit.neuro.dynamic_connectome.simulate_dynamic_connectome; epochs in the trials table, the truth "
                "(communities of each epoch type, the animal's gains) in processing/truth.", "Caenorhabditis elegans",
                seed)
    device = nwb.create_device(name="simulation", description="no microscope: simulated fluorescence")
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="green", description="GCaMP-like", emission_lambda=510.0),
        imaging_rate=1.0 / data.dt, description="simulated whole-brain plane", device=device,
        excitation_lambda=488.0, indicator="GCaMP (simulated)", location="head ganglia (simulated)")
    seg = PlaneSegmentation(name="neurons", description="one ROI per simulated neuron", imaging_plane=plane)
    seg.add_column("neuron", "the neuron's name")
    for i in range(N):
        seg.add_roi(pixel_mask=[(i, 0, 1.0)], neuron=str(data.neurons[i]))
    ophys = nwb.create_processing_module("ophys", "simulated calcium imaging")
    ophys.add(seg)
    rois = seg.create_roi_table_region(region=list(range(N)), description="every neuron")
    ophys.add(DfOverF(roi_response_series=RoiResponseSeries(
        name="RoiResponseSeries", data=data.traces[animal].T, rois=rois, unit="n.a.", rate=1.0 / data.dt,
        starting_time=float(data.time[0]), description="simulated fluorescence (time x ROIs)")))
    bounds = np.r_[0, np.flatnonzero(np.diff(data.epoch_of_sample)) + 1, T]
    nwb.add_trial_column("epoch", "the epoch type of the block")
    for a, b in zip(bounds[:-1], bounds[1:]):
        nwb.add_trial(start_time=float(data.time[a]), stop_time=float(data.time[b - 1] + data.dt),
                      epoch=str(data.epoch_names[data.epoch_of_sample[a]]))
    truth = nwb.create_processing_module(
        "truth", "Ground truth of the labkit simulation, which a recording would not hold: the community of every "
                 "neuron in each epoch type and this animal's drive gains.")
    truth.add(TimeSeries(name="epochs", data=data.epoch_of_sample.astype(np.int64), unit="n.a.", rate=1.0 / data.dt,
                         starting_time=float(data.time[0]), description="the epoch type of every sample"))
    truth.add(_table("communities", "each epoch type's partition (rows: epoch types)",
                     {"labels": (data.communities, "community of each neuron (ROI order)"),
                      "epoch": (np.asarray(data.epoch_names, dtype=str), "the epoch type"),
                      "gain": (data.gain[animal], "this animal's drive strength in the epoch type")}))
    return _save(nwb, path)


def write_simulation(path, data, *, bin_size: float = 0.01, animal: int = 0) -> Path:
    """Write a labkit simulation with its ground truth to an NWB file at ``path`` and return the path.

    The switching GLM's :class:`~labkit.neuro.switching_glm.SwitchingData`: spikes as a units table (each
    count a spike time at its bin's centre; bins of ``bin_size`` s; trials back to back in a trials table),
    and the truth (states, couplings, biases, transitions) in processing['truth']. The dynamic connectome's
    :class:`~labkit.neuro.dynamic_connectome.DynamicConnectomeData`: one animal's traces (``animal``) as a
    ΔF/F RoiResponseSeries, the epochs as a trials table, and the truth (epochs, communities, gains)."""
    kind = type(data).__name__
    if kind == "SwitchingData":
        return write_switching(Path(path), data, _positive("bin_size", bin_size))
    if kind == "DynamicConnectomeData":
        return write_connectome(Path(path), data, animal)
    raise ParameterError(f"Parameter 'data' must be a SwitchingData or DynamicConnectomeData, got {kind}.")
