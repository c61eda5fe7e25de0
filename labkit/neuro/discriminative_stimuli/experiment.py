"""The drivers the notebook calls: simulate, fit (and cache) the twin, cluster by MDS, score against the truth.

``control="shared_readout"`` is the negative control: the twin has one readout for every neuron, so it
cannot tell cells apart; the alternation, the baseline and the model-free test run unchanged.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from labkit.core.cache import checkpoint
from labkit.core.params import check_value
from labkit.neuro.discriminative_stimuli.mds import MDSResult, check_k, mds_cluster
from labkit.neuro.discriminative_stimuli.metrics import ari, matched_accuracy
from labkit.neuro.discriminative_stimuli.simulate import Cells, Retina, held_out_cells, white_noise
from labkit.neuro.discriminative_stimuli.twin import DigitalTwin, held_out_correlation

CONTROLS = ("none", "shared_readout")


def fit_twin(retina: Retina, *, steps: int, seed: int, control: str = "none", device="cpu",
             cache: bool = True) -> DigitalTwin:
    """Train the twin on the retina's noise movies (cached by :func:`labkit.core.cache.checkpoint`)."""
    check_value("control", control, list(CONTROLS))
    twin = DigitalTwin(steps=steps, seed=seed, shared_readout=control == "shared_readout")
    m, c = retina.movies.to(device), retina.counts.to(device)
    if not cache:
        return twin.fit(m, c)
    key = {"seed": seed, "steps": steps, "control": control, "shape": list(retina.movies.shape),
           "neurons": int(retina.counts.shape[1]), "counts_sum": float(retina.counts.sum())}
    state = checkpoint("discriminative_stimuli_twin", key, lambda: DigitalTwin(
        steps=steps, seed=seed, shared_readout=control == "shared_readout").fit(m, c).state())
    return twin.fit(m, c, state=state)


def twin_fit_per_cell(twin: DigitalTwin, retina: Retina, n_movies: int = 500, seed: int = 0) -> np.ndarray:
    """Correlation of the twin's prediction with each cell's true mean rate on fresh white-noise movies."""
    _, t, h, w = retina.movies.shape
    movies = white_noise(n_movies, t, h, torch.Generator().manual_seed(seed + 10_000))
    with torch.no_grad():
        rates = retina.cells.model(movies)
    return held_out_correlation(twin, movies, rates)


def stimulus_norm(twin: DigitalTwin) -> float:
    """The L2 norm every stimulus keeps: that of a unit-variance white-noise movie (RMS contrast 1)."""
    return float(math.sqrt(math.prod(twin.input_shape_)))


def cluster(twin: DigitalTwin, k: int, *, temperature: float = 1.6, seed: int = 0, init=None) -> MDSResult:
    """MDS clustering of the twin's neurons from ``k`` clusters (random balanced start)."""
    twin._check_fitted("model_")
    check_k(k, twin.model_.n_neurons)
    return mds_cluster(twin.normalized, twin.model_.n_neurons, twin.input_shape_, k, stimulus_norm(twin),
                       temperature=temperature, seed=seed, init=init)


def kmeans_baseline(twin: DigitalTwin, movies: torch.Tensor, k: int, seed: int = 0) -> np.ndarray:
    """k-means (true K) on each neuron's normalised (centred) twin responses to the noise movies."""
    with torch.no_grad():
        z = torch.cat([twin.normalized(m) for m in movies.split(256)]).T.numpy()       # (N, movies)
    with warnings.catch_warnings():        # the control's identical neurons leave fewer distinct points than k
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(k, n_init=10, random_state=seed).fit_predict(z)


def typing_responses(cells: Cells, stimuli: torch.Tensor, seed: int, repeats: int = 1) -> np.ndarray:
    """Poisson counts (stimuli × cells) of ground-truth cells to the stimuli, averaged over ``repeats``."""
    check_value("repeats", repeats, (int, 1, None))
    gen = torch.Generator().manual_seed(seed + 20_000)
    with torch.no_grad():
        rate = cells.model(stimuli.float())
    return torch.poisson(rate[None].expand(repeats, *rate.shape).contiguous(), generator=gen).mean(0).numpy()


def model_free_typing(retina: Retina, stimuli: torch.Tensor, per_type: int, seed: int) -> tuple[Cells, np.ndarray]:
    """Show the final stimuli to new ground-truth cells (no model); each cell goes to its argmax response."""
    cells = held_out_cells(retina, per_type, seed)
    counts = typing_responses(cells, stimuli, seed)
    return cells, counts.argmax(0)


@dataclass
class Study:
    """One run of the notebook's pipeline."""
    retina: Retina
    twin: DigitalTwin
    fit_r: np.ndarray                  # twin's held-out correlation per cell
    runs: dict[int, MDSResult]         # MDS from each starting K
    k_start: int
    kmeans: np.ndarray
    held_out: Cells
    typed: np.ndarray                  # model-free assignment of the held-out cells

    @property
    def main(self) -> MDSResult:
        return self.runs[self.k_start]

    def scores(self) -> dict[str, float]:
        t = self.retina.types
        return {
            "ari_from_k_start": round(ari(t, self.main.assignment), 3),
            "n_clusters_from_k_start": self.main.n_clusters,
            "n_types": int(len(np.unique(t))),
            "model_free_accuracy": round(matched_accuracy(self.held_out.types, self.typed), 3),
            "kmeans_ari": round(ari(t, self.kmeans), 3),
            "twin_median_r": round(float(np.median(self.fit_r)), 3),
            "mds_iterations": len(self.main.stimuli),
        }


def run_study(retina: Retina, *, twin_steps: int, k_start: int, ks, held_out_per_type: int, temperature: float,
              seed: int, control: str = "none", device="cpu") -> Study:
    """Fit the twin, cluster from every K in ``ks`` and from ``k_start``, run the baseline and the model-free test."""
    twin = fit_twin(retina, steps=twin_steps, seed=seed, control=control, device=device)
    if device != "cpu":
        twin.model_.cpu()
        twin.mean_, twin.std_ = twin.mean_.cpu(), twin.std_.cpu()
    fit_r = twin_fit_per_cell(twin, retina, seed=seed)
    runs = {k: cluster(twin, k, temperature=temperature, seed=seed) for k in sorted({*ks, k_start})}
    km = kmeans_baseline(twin, retina.movies, int(len(np.unique(retina.types))), seed)
    cells, typed = model_free_typing(retina, runs[k_start].final_stimuli, held_out_per_type, seed)
    return Study(retina, twin, fit_r, runs, k_start, km, cells, typed)
