"""The notebook's experiments as functions: fit the three models, score them against the truth, and the
held-out log-likelihood as training data shrinks."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.neuro.switching_glm.metrics import backbone_roc, signed_accuracy, state_accuracy
from labkit.neuro.switching_glm.model import PRIORS, SwitchingGLM
from labkit.neuro.switching_glm.simulate import SwitchingData

__all__ = ["CONTROLS", "control_spikes", "true_model", "fit_models", "score_models", "held_out_curve",
           "independent_log_likelihood", "coupling_captured"]

CONTROLS = ("none", "shuffle")


def control_spikes(spikes, control: str = "none", seed: int = 0) -> np.ndarray:
    """The training spikes the models are given: the data (``control="none"``), or the notebook's negative
    control (``"shuffle"``): within each trial, every neuron's bins permuted in time independently. Each
    neuron keeps its spike counts and rate, but who drives whom, and when the state changes, is destroyed.
    Held-out trials and the truth stay real, so every score is still taken against them."""
    check_value("control", control, list(CONTROLS), "control_spikes")
    spikes = np.asarray(spikes)
    if control == "none":
        return spikes
    if spikes.ndim != 3:
        raise ValueError(f"spikes must be (trials, time, neurons), got shape {spikes.shape}.")
    order = np.argsort(np.random.default_rng(seed).random(spikes.shape), axis=1)
    return np.take_along_axis(spikes, order, axis=1)


def true_model(data: SwitchingData, device="cpu") -> SwitchingGLM:
    """A :class:`SwitchingGLM` (no prior) holding the simulation's true parameters: the reference for
    held-out log-likelihoods. The true chain starts in each state with equal probability."""
    K, N, _ = data.weights.shape
    m = SwitchingGLM(K, "none", window=len(data.basis), decay=_decay_of(data.basis), device=device)
    m._setup()
    dev = m.device_
    m.params_ = {"bias": torch.as_tensor(data.bias, dtype=torch.float32, device=dev),
                 "weight": torch.as_tensor(data.weights, dtype=torch.float32, device=dev)}
    m.log_transitions_ = torch.log(torch.as_tensor(data.transitions, dtype=torch.float64, device=dev))
    m.log_start_ = torch.full((K,), -math.log(K), dtype=torch.float64, device=dev)
    m.n_neurons_ = N
    return m


def independent_log_likelihood(train, test) -> float:
    """Held-out log-likelihood per bin (nats) of the best model **without couplings**: every neuron an
    independent Poisson process at its training mean rate. The floor the couplings are measured from:
    whatever a fitted HMM-GLM gains above it, it gains from who drives whom."""
    train, test = np.asarray(train, dtype=float), np.asarray(test, dtype=float)
    from scipy.special import gammaln

    rate = np.clip(train.reshape(-1, train.shape[-1]).mean(0), 1e-6, None)            # (neurons,)
    ll = test * np.log(rate) - rate - gammaln(test + 1.0)
    return float(ll.sum() / (test.shape[0] * test.shape[1]))


def coupling_captured(curve: dict[str, list[float]], independent: float, index: int = 0) -> dict[str, float]:
    """The share of what the true couplings add to held-out prediction that each model captures, at training
    size ``index`` of a :func:`held_out_curve`: (LL_model - LL_indep) / (LL_true - LL_indep), with LL_indep
    from :func:`independent_log_likelihood`. 0: no better than independent neurons; 1: the true model. Also
    ``"best_prior"``, the larger of the two priors', and ``"gain"``, that minus the plain model's."""
    truth = curve["truth"][index]
    out = {p: (curve[p][index] - independent) / (truth - independent) for p in curve if p != "truth"}
    out["best_prior"] = max(v for p, v in out.items() if p != "none")
    out["gain"] = out["best_prior"] - out["none"]
    return out


def _decay_of(basis: np.ndarray) -> float:
    """The decay of an exponential basis (``history_basis``), read back from two of its entries."""
    return float(np.log(basis[0] / basis[1])) if len(basis) > 1 else 1.0


def fit_models(train, n_states: int, priors: Sequence[str] = PRIORS, **kwargs) -> dict[str, SwitchingGLM]:
    """One fitted :class:`SwitchingGLM` per prior, with the same hyperparameters (``kwargs``)."""
    return {p: SwitchingGLM(n_states, p, **kwargs).fit(train) for p in priors}


def score_models(models: dict[str, SwitchingGLM], data: SwitchingData, n_train: int) -> dict[str, dict]:
    """Relabel each model's states to the truth on the training trials (Hungarian matching), then score it
    on the held-out ones: Viterbi state accuracy, held-out log-likelihood per bin, the AUC of its
    state-independent connection score against the backbone, and the balanced accuracy of its signed
    connection types against the true couplings (:func:`~.metrics.signed_accuracy`)."""
    train, test = data.split(n_train)
    out = {}
    for name, m in models.items():
        m.align_states(train, data.states[:n_train])
        out[name] = {"accuracy": state_accuracy(data.states[n_train:], m.predict(test)),
                     "log_likelihood": m.log_likelihood(test),
                     "auc": backbone_roc(m.connection_score_, data.backbone.adjacency.T)[2],   # [post, pre]
                     "signed_accuracy": signed_accuracy(data.weights, m.weights_)}
    return out


def held_out_curve(data: SwitchingData, n_train: Sequence[int], n_test: int, priors: Sequence[str] = PRIORS,
                   *, progress: bool = False, control: str = "none", **kwargs) -> dict[str, list[float]]:
    """Held-out log-likelihood per bin (nats) of each prior's model fitted on the first ``n`` trials, for
    each ``n`` in ``n_train``, all scored on the last ``n_test`` trials; ``"truth"`` is the true model's.
    ``control="shuffle"`` fits on time-shuffled training trials (:func:`control_spikes`, seeded by
    ``kwargs["seed"]``)."""
    n_total = data.spikes.shape[0]
    if n_test < 1 or max(n_train) + n_test > n_total:
        raise ValueError(f"n_train (largest {max(n_train)}) plus n_test ({n_test}) must fit in the {n_total} trials.")
    test = data.spikes[n_total - n_test:]
    train = control_spikes(data.spikes[:n_total - n_test], control, kwargs.get("seed", 0))
    from labkit.core.progress import progress as bar

    curves: dict[str, list[float]] = {p: [] for p in priors}
    jobs = [(n, p) for n in n_train for p in priors]
    for n, p in (bar(jobs, desc="held-out curve") if progress else jobs):
        curves[p].append(SwitchingGLM(data.n_states, p, **kwargs).fit(train[:n]).log_likelihood(test))
    curves["truth"] = [true_model(data).log_likelihood(test)] * len(n_train)
    return curves

