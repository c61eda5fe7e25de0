"""The switching GLM on a user's recording (an NWB file), where there is no ground truth.

What can be known without the truth is what the notebook shows and checks on a file: which number of states
predicts held-out trials best (the model selection), whether the fitted models predict held-out spikes
better than independent homogeneous-Poisson neurons (the floor any coupled model must clear), when each
trial is in which state, and each state's couplings. :func:`load_recording` reads the spikes cut on the
file's trials table (:func:`labkit.data.nwb.read_spikes`); :func:`analyze_recording` fits and scores.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.core.params import ParameterError
from labkit.data import nwb
from labkit.neuro.switching_glm.experiment import control_spikes, fit_models, independent_log_likelihood
from labkit.neuro.switching_glm.model import PRIORS, SwitchingGLM

__all__ = ["Recording", "load_recording", "analyze_recording", "RecordingFit", "save_fit"]


@dataclass
class Recording:
    """A file's spikes cut on its trials: ``spikes`` (trials, time, units) counts, ``units`` (names: the
    units' ids), ``trials`` (the trials table), ``bin_size`` (s), ``path``."""

    spikes: np.ndarray
    units: list[str]
    trials: Any
    bin_size: float
    path: str

    @property
    def n_trials(self) -> int:
        return self.spikes.shape[0]


def load_recording(path, bin_size: float, n_test: int) -> Recording:
    """Read ``path``'s units binned at ``bin_size`` s and cut on its trials table (equal-length trials: the
    shortest one's bins from every trial's start); ``n_test`` trials must leave at least two for training."""
    rec = nwb.read_spikes(path, bin_size, trials=True)
    if rec.counts.shape[0] - n_test < 2:
        raise ParameterError(f"Parameter 'n_test' ({n_test}) must leave at least two of the file's "
                             f"{rec.counts.shape[0]} trials for training.")
    return Recording(np.asarray(rec.counts), [str(u) for u in rec.unit_ids], rec.trials, rec.bin_size, str(path))


@dataclass
class RecordingFit:
    """What :func:`analyze_recording` found: the held-out log-likelihood per bin of the one-hot model for each
    number of states (``selection``), the chosen one (``n_states``), the three priors' models at that number,
    their held-out log-likelihoods, the homogeneous-Poisson floor, and every trial's Viterbi states under the
    chosen one-hot model."""

    selection: dict[int, float]
    n_states: int
    models: dict[str, SwitchingGLM]
    held_out: dict[str, float]
    poisson: float
    states: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def gain_over_poisson(self) -> float:
        """The best model's held-out log-likelihood per bin minus the homogeneous-Poisson floor's (nats)."""
        return max(self.held_out.values()) - self.poisson


def analyze_recording(rec: Recording, n_test: int, k_choices: Sequence[int], priors: Sequence[str] = PRIORS, *,
                      control: str = "none", progress: bool = False, **fit_kwargs) -> RecordingFit:
    """Fit the one-hot HMM-GLM for every K in ``k_choices`` on the first trials, choose the K with the best
    log-likelihood on the last ``n_test`` (held-out) trials, fit the other priors at that K, and score all of
    them and independent Poisson neurons on the held-out trials. ``control="shuffle"`` fits on time-shuffled
    training trials (:func:`~.experiment.control_spikes`)."""
    from labkit.core.progress import progress as bar

    n_train = rec.n_trials - n_test
    train = control_spikes(rec.spikes[:n_train], control, fit_kwargs.get("seed", 0))
    test = rec.spikes[n_train:]
    ks = sorted(set(int(k) for k in k_choices))
    fitted = {k: SwitchingGLM(k, "one-hot", **fit_kwargs).fit(train) for k in (bar(ks, desc="states") if progress
                                                                                else ks)}
    selection = {k: m.log_likelihood(test) for k, m in fitted.items()}
    best = max(selection, key=selection.get)
    models = {"one-hot": fitted[best], **fit_models(train, best, [p for p in priors if p != "one-hot"], **fit_kwargs)}
    models = {p: models[p] for p in priors}
    held_out = {p: (selection[best] if p == "one-hot" else m.log_likelihood(test)) for p, m in models.items()}
    poisson = independent_log_likelihood(train, test)
    return RecordingFit(selection, best, models, held_out, poisson, fitted[best].predict(rec.spikes))


def save_fit(path, rec: Recording, fit: RecordingFit) -> None:
    """Write the fit to an ``.npz`` at ``path``: every trial's states, each prior's couplings W[state, post, pre],
    the held-out log-likelihood of each K, the chosen K, and the unit names, for analysis outside the notebook."""
    if not str(path).endswith(".npz"):
        raise ParameterError(f"Parameter 'fit_out' must be a path ending in .npz, got {str(path)!r}.")
    ks = sorted(fit.selection)
    np.savez(path, states=fit.states, n_states=fit.n_states, k_choices=np.array(ks),
             selection=np.array([fit.selection[k] for k in ks]), units=np.array(rec.units), poisson=fit.poisson,
             **{f"weights_{p}": m.weights_ for p, m in fit.models.items()},
             **{f"held_out_{p}": v for p, v in fit.held_out.items()})
