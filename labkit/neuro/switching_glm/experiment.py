"""The notebook's experiments as functions: fit the three models, score them against the truth, and the
held-out log-likelihood as training data shrinks."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from labkit.neuro.switching_glm.metrics import backbone_roc, state_accuracy
from labkit.neuro.switching_glm.model import PRIORS, SwitchingGLM
from labkit.neuro.switching_glm.simulate import SwitchingData

__all__ = ["true_model", "fit_models", "score_models", "held_out_curve"]


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


def _decay_of(basis: np.ndarray) -> float:
    """The decay of an exponential basis (``history_basis``), read back from two of its entries."""
    return float(np.log(basis[0] / basis[1])) if len(basis) > 1 else 1.0


def fit_models(train, n_states: int, priors: Sequence[str] = PRIORS, **kwargs) -> dict[str, SwitchingGLM]:
    """One fitted :class:`SwitchingGLM` per prior, with the same hyperparameters (``kwargs``)."""
    return {p: SwitchingGLM(n_states, p, **kwargs).fit(train) for p in priors}


def score_models(models: dict[str, SwitchingGLM], data: SwitchingData, n_train: int) -> dict[str, dict]:
    """Relabel each model's states to the truth on the training trials (Hungarian matching), then score it
    on the held-out ones: Viterbi state accuracy, held-out log-likelihood per bin, and the AUC of its
    state-independent connection score against the backbone."""
    train, test = data.split(n_train)
    out = {}
    for name, m in models.items():
        m.align_states(train, data.states[:n_train])
        out[name] = {"accuracy": state_accuracy(data.states[n_train:], m.predict(test)),
                     "log_likelihood": m.log_likelihood(test),
                     "auc": backbone_roc(m.connection_score_, data.backbone.adjacency.T)[2]}   # [post, pre]
    return out


def held_out_curve(data: SwitchingData, n_train: Sequence[int], n_test: int, priors: Sequence[str] = PRIORS,
                   *, progress: bool = False, **kwargs) -> dict[str, list[float]]:
    """Held-out log-likelihood per bin (nats) of each prior's model fitted on the first ``n`` trials, for
    each ``n`` in ``n_train``, all scored on the last ``n_test`` trials; ``"truth"`` is the true model's."""
    n_total = data.spikes.shape[0]
    if n_test < 1 or max(n_train) + n_test > n_total:
        raise ValueError(f"n_train (largest {max(n_train)}) plus n_test ({n_test}) must fit in the {n_total} trials.")
    test = data.spikes[n_total - n_test:]
    from labkit.core.progress import progress as bar

    curves: dict[str, list[float]] = {p: [] for p in priors}
    jobs = [(n, p) for n in n_train for p in priors]
    for n, p in (bar(jobs, desc="held-out curve") if progress else jobs):
        curves[p].append(SwitchingGLM(data.n_states, p, **kwargs).fit(data.spikes[:n]).log_likelihood(test))
    curves["truth"] = [true_model(data).log_likelihood(test)] * len(n_train)
    return curves
