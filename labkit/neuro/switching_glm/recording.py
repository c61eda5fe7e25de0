"""The switching GLM on a user's recording (an NWB file), where there is no ground truth.

What can be known without the truth is what the notebook shows and checks on a file: which number of states
predicts held-out trials best (the model selection, cross-validated over the training trials), whether the
fitted models predict held-out spikes better than independent homogeneous-Poisson neurons (the floor any
coupled model must clear), when each trial is in which state, and each state's couplings.
:func:`load_recording` reads the spikes cut on the file's trials table (:func:`labkit.data.nwb.read_spikes`);
:func:`analyze_recording` chooses the number of states, fits and scores.
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

__all__ = ["Recording", "load_recording", "trial_folds", "cross_validate_states", "analyze_recording", "RecordingFit",
           "save_fit"]


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


def trial_folds(n_trials: int, n_folds: int) -> np.ndarray:
    """The cross-validation fold of every trial: trial ``i`` is in fold ``i % n_folds``, so each trial is held out
    exactly once and every fold spans the whole session (slow drifts over a session fall in every fold alike).
    ``n_folds`` must be between 2 and ``n_trials``."""
    n_trials, n_folds = int(n_trials), int(n_folds)
    if not 2 <= n_folds <= n_trials:
        raise ParameterError(f"Parameter 'cv_folds' must be between 2 and the number of trials it splits "
                             f"({n_trials}), got {n_folds}.")
    return np.arange(n_trials) % n_folds


def cross_validate_states(trials, k_choices: Sequence[int], n_folds: int = 3, *, progress: bool = False,
                          **fit_kwargs) -> dict[int, np.ndarray]:
    """Score every number of states in ``k_choices`` by ``n_folds``-fold cross-validation over ``trials``
    (trials, time, units): for each fold, the one-hot HMM-GLM fitted on the other folds' trials and its
    log-likelihood per bin taken on the fold's. Returns, per K, the ``n_folds`` held-out scores (nats per bin)."""
    from labkit.core.progress import progress as bar

    trials = np.asarray(trials)
    fold = trial_folds(trials.shape[0], n_folds)
    ks = sorted(set(int(k) for k in k_choices))
    runs = [(k, f) for k in ks for f in range(n_folds)]
    scores = {k: np.zeros(n_folds) for k in ks}
    for k, f in (bar(runs, desc="states x folds") if progress else runs):
        model = SwitchingGLM(k, "one-hot", **fit_kwargs).fit(trials[fold != f])
        scores[k][f] = model.log_likelihood(trials[fold == f])
    return scores


@dataclass
class RecordingFit:
    """What :func:`analyze_recording` found: the cross-validated log-likelihood per bin of the one-hot model for
    each number of states (``selection``: the mean over the folds; ``folds``: each fold's), the chosen one
    (``n_states``), the three priors' models at that number fitted on all training trials, their log-likelihoods
    on the held-out trials, the homogeneous-Poisson floor, and every trial's Viterbi states under the chosen
    one-hot model."""

    selection: dict[int, float]
    n_states: int
    models: dict[str, SwitchingGLM]
    held_out: dict[str, float]
    poisson: float
    states: np.ndarray
    folds: dict[int, np.ndarray] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def selection_sd(self) -> dict[int, float]:
        """The fold-to-fold standard deviation of each K's cross-validated log-likelihood (nats per bin)."""
        return {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in self.folds.items()}

    @property
    def gain_over_poisson(self) -> float:
        """The best model's held-out log-likelihood per bin minus the homogeneous-Poisson floor's (nats)."""
        return max(self.held_out.values()) - self.poisson


def analyze_recording(rec: Recording, n_test: int, k_choices: Sequence[int], priors: Sequence[str] = PRIORS, *,
                      cv_folds: int = 3, control: str = "none", progress: bool = False, **fit_kwargs) -> RecordingFit:
    """Choose the number of states by ``cv_folds``-fold cross-validation over the first (training) trials
    (:func:`cross_validate_states`: the K in ``k_choices`` with the best mean log-likelihood per bin over the
    folds), then fit the three priors' models at that K on all training trials and score them, and independent
    Poisson neurons, on the last ``n_test`` (held-out) trials, which the choice of K never saw.
    ``control="shuffle"`` fits on time-shuffled training trials (:func:`~.experiment.control_spikes`)."""
    n_train = rec.n_trials - n_test
    if isinstance(cv_folds, bool) or not isinstance(cv_folds, (int, np.integer)) or not 2 <= cv_folds <= n_train:
        raise ParameterError(f"Parameter 'cv_folds' must be an integer between 2 and the number of training trials "
                             f"({n_train} = {rec.n_trials} trials - n_test {n_test}), got {cv_folds!r}.")
    train = control_spikes(rec.spikes[:n_train], control, fit_kwargs.get("seed", 0))
    test = rec.spikes[n_train:]
    folds = cross_validate_states(train, k_choices, cv_folds, progress=progress, **fit_kwargs)
    selection = {k: float(v.mean()) for k, v in folds.items()}
    best = max(selection, key=selection.get)
    models = fit_models(train, best, priors, **fit_kwargs)
    held_out = {p: m.log_likelihood(test) for p, m in models.items()}
    poisson = independent_log_likelihood(train, test)
    chosen = models["one-hot"] if "one-hot" in models else SwitchingGLM(best, "one-hot", **fit_kwargs).fit(train)
    return RecordingFit(selection, best, models, held_out, poisson, chosen.predict(rec.spikes), folds)


def save_fit(path, rec: Recording, fit: RecordingFit) -> None:
    """Write the fit to an ``.npz`` at ``path``: every trial's states, each prior's couplings W[state, post, pre],
    the cross-validated log-likelihood of each K (``selection``: mean over the folds; ``selection_folds``: K x
    folds), the chosen K, and the unit names, for analysis outside the notebook."""
    if not str(path).endswith(".npz"):
        raise ParameterError(f"Parameter 'fit_out' must be a path ending in .npz, got {str(path)!r}.")
    ks = sorted(fit.selection)
    np.savez(path, states=fit.states, n_states=fit.n_states, k_choices=np.array(ks),
             selection=np.array([fit.selection[k] for k in ks]),
             selection_folds=np.array([fit.folds[k] for k in ks]) if fit.folds else np.zeros((len(ks), 0)),
             units=np.array(rec.units), poisson=fit.poisson,
             **{f"weights_{p}": m.weights_ for p, m in fit.models.items()},
             **{f"held_out_{p}": v for p, v in fit.held_out.items()})
