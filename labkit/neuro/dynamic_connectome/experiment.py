"""The notebook's experiments as functions: scan the NTF rank, choose it, and score a fit against the truth."""
from __future__ import annotations

import numpy as np

from labkit.core.params import check_value
from labkit.neuro.dynamic_connectome.affinity import static_correlation, windowed_affinity
from labkit.neuro.dynamic_connectome.communities import detect_communities, match_time_factors, partition_scores
from labkit.neuro.dynamic_connectome.metrics import core_consistency
from labkit.neuro.dynamic_connectome.model import NTF, DynamicConnectome
from labkit.neuro.dynamic_connectome.simulate import DynamicConnectomeData, epoch_courses

__all__ = ["CONTROLS", "control_traces", "rank_scan", "choose_rank", "evaluate", "factor_arrays", "rotated_error"]

CONTROLS = ("none", "shuffle")


def control_traces(traces, control: str = "none", seed: int = 0) -> np.ndarray:
    """The traces the method is given: the data (``control="none"``), or the notebook's negative control
    (``"shuffle"``): every trace of every animal rotated in time by its own random offset. Each trace keeps
    its values and its autocorrelation (its calcium transients stay whole), but which neurons move together,
    and when, is destroyed; the truth (communities, epochs) and the static baseline stay on the real data."""
    check_value("control", control, list(CONTROLS), "control_traces")
    traces = np.asarray(traces)
    if control == "none":
        return traces
    if traces.ndim != 3:
        raise ValueError(f"traces must be (animals, neurons, samples), got shape {traces.shape}.")
    A, N, T = traces.shape
    shift = np.random.default_rng(seed).integers(0, T, size=(A, N, 1))
    return np.take_along_axis(traces, (np.arange(T)[None, None, :] + shift) % T, axis=-1)


def rank_scan(tensor, ranks, *, n_restarts: int = 4, max_iter: int = 300, tol: float = 1e-6, seed: int = 0,
              device="cpu", progress=None) -> dict:
    """Fit ``n_restarts`` NTF models at each rank (one batch per rank); return, per rank, the final
    relative errors of every restart (``errors``: (len(ranks), n_restarts)), the mean
    :func:`factor_similarity` of the other restarts to the best one (``similarity``) and the
    :func:`core_consistency` of the best restart (``core_consistency``, percent)."""
    ranks = [int(r) for r in ranks]
    if not ranks or min(ranks) < 1:
        raise ValueError(f"ranks must be positive integers, got {ranks!r}.")
    if n_restarts < 2:
        raise ValueError(f"n_restarts must be >= 2 to measure stability, got {n_restarts!r}.")
    errors, sims, cores = [], [], []
    it = ranks if progress is None else progress(ranks)
    for r in it:
        m = NTF(r, n_restarts=n_restarts, max_iter=max_iter, tol=tol, seed=seed + 1000 * r, device=device).fit(tensor)
        errors.append(m.restart_errors_)
        sims.append(m.stability())
        cores.append(core_consistency(tensor, m.factors_, m.weights_))
    return {"ranks": np.array(ranks), "errors": np.array(errors), "similarity": np.array(sims),
            "core_consistency": np.array(cores)}


def choose_rank(scan: dict, min_core_consistency: float = 90.0, min_gain: float = 0.01) -> int:
    """The rank to fit, read off a :func:`rank_scan`: the largest scanned rank such that it and every
    smaller scanned rank (1) keep a core consistency of at least ``min_core_consistency`` percent
    (Bro & Kiers 2003: near 100 for an appropriate PARAFAC model, below about 50 for a wrong one) and
    (2) lower the best relative error of the rank before by at least ``min_gain`` (relative): under
    non-negativity an extra component of negligible weight can leave the core almost superdiagonal,
    but a component that explains nothing is not one. The restarts' similarity is not used: a model
    one component too large can be perfectly reproducible when the extra component always splits the
    same real one. Returns the smallest scanned rank if no rank qualifies beyond it."""
    ranks = np.asarray(scan["ranks"])
    core = np.asarray(scan["core_consistency"], dtype=float)
    best = np.asarray(scan["errors"], dtype=float).min(axis=1) if "errors" in scan else None
    order = np.argsort(ranks)
    chosen = int(ranks[order[0]])
    for k, i in enumerate(order):
        if not core[i] >= min_core_consistency:
            break
        if k > 0 and best is not None and not best[i] <= (1.0 - min_gain) * best[order[k - 1]]:
            break
        chosen = int(ranks[i])
    return chosen


def evaluate(model: DynamicConnectome, data: DynamicConnectomeData) -> dict:
    """Score a fitted model against a simulation's truth.

    For each epoch type: the time factor that correlates best with the epoch's course (fraction of
    each window in the epoch), that correlation, and the ARI/NMI between the communities of that
    factor's motif and the epoch's true partition. Also the static baseline (one correlation matrix
    over all time, Louvain) scored against every epoch's partition.
    """
    aff = model.affinity_
    courses = epoch_courses(data.epoch_of_sample, len(data.epoch_names), aff.window, aff.step)
    best, corr = match_time_factors(model.time_factors_, courses)
    per_epoch = []
    static_labels = detect_communities(static_correlation(data.traces), resolution=model.resolution, seed=model.seed)
    for e, name in enumerate(data.epoch_names):
        r = int(best[e])
        dyn = partition_scores(data.communities[e], model.communities_[r])
        sta = partition_scores(data.communities[e], static_labels)
        per_epoch.append({"epoch": name, "factor": r, "time_corr": float(corr[e, r]), "ari": dyn["ari"],
                          "nmi": dyn["nmi"], "static_ari": sta["ari"], "static_nmi": sta["nmi"]})
    return {"per_epoch": per_epoch, "courses": courses, "corr": corr, "best": best, "static_labels": static_labels}


def factor_arrays(model: DynamicConnectome, data: DynamicConnectomeData) -> dict:
    """What the factor figures draw, as arrays: the fitted motifs, their communities, the time and animal
    factors and weights, the windows' centres (s), and the data's time axis, epochs and neuron names
    (``figures.factors_figure(**factor_arrays(model, data))``)."""
    aff = model.affinity_
    return {"motifs": model.motifs_, "communities": model.communities_, "time_factors": model.time_factors_,
            "animal_factors": model.animal_factors_, "weights": model.weights_,
            "window_time": (aff.window_start + aff.window / 2.0) * data.dt, "time": data.time,
            "epoch_of_sample": data.epoch_of_sample, "epoch_names": data.epoch_names, "neurons": data.neurons}


def rotated_error(model: DynamicConnectome, traces, seed: int = 0) -> float:
    """The relative error of the same NTF (rank, restarts, iterations) on the affinity tensor of ``traces`` with
    every trace rotated in time by its own random offset (:func:`control_traces`, seeded ``seed + 1``): what the
    factorization reaches on data whose neurons keep their own dynamics but no longer move together. A fit that
    does not explain the data better than that has found no shared structure; it needs no ground truth, so it
    applies to a user's recordings too."""
    rotated = control_traces(traces, "shuffle", seed + 1)
    aff = windowed_affinity(rotated, window=model.window, step=model.step, smooth=model.smooth, kernel=model.kernel,
                            on_constant=model.on_constant, device=model.device_)
    return float(NTF(model.rank, n_restarts=model.n_restarts, max_iter=model.max_iter, tol=model.tol,
                     seed=model.seed, device=model.device_).fit(aff.tensor).error_)
