"""The notebook's experiment: simulate, train the delay layer, prune and shorten it, read its kernels, and run
the pruned layer on the spiking engine.

The negative control (``control``, :data:`CONTROLS`): ``"no_delays"`` collapses every delay to one, so the
layer sees a single step of events (a kernel of one delay, unmasked, trained the same way); the accuracy
window, data and budgets are unchanged. A single step of events cannot tell a bright dot moving one way from
a dark dot moving the other, nor hold a drift to read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value
from labkit.spiking.delay_learning.layer import run_layer
from labkit.spiking.delay_learning.metrics import accuracy, accuracy_by_since
from labkit.spiking.delay_learning.model import DelayLayer, class_scores, evidence, fit_layer
from labkit.spiking.delay_learning.pruning import (
    drift_angles,
    fast_beats_slow,
    fit_sigmoid,
    kernel_drift,
    prune,
    shorten,
)
from labkit.spiking.delay_learning.simulate import EventStream, simulate_events

CONTROLS = ("none", "no_delays")


@dataclass
class Study:
    """Everything the notebook shows and checks (see :func:`run_study`)."""

    train: EventStream
    test: EventStream
    layer: DelayLayer
    losses: np.ndarray
    n_delays: int
    stride: int
    scores: torch.Tensor
    dense_accuracy: float
    by_since: np.ndarray
    keeps: np.ndarray
    pruned: np.ndarray
    shortened: np.ndarray
    results: dict = field(default_factory=dict)

    @property
    def kernel(self) -> torch.Tensor:
        return self.layer.kernel.detach().cpu()

    def budget_accuracy(self, kernel: torch.Tensor) -> float:
        """Test accuracy of the layer with ``kernel`` in place of the trained one (same biases)."""
        sc = class_scores(self.test.events, kernel, self.layer.bias.detach().cpu(), self.stride)
        return accuracy(sc, self.test.labels, self.test.since, self.n_delays)


def run_study(*, seed: int = 0, n_train: int = 192, n_test: int = 64, crop: int = 32, n_steps: int = 64,
              n_directions: int = 8, speeds=(0.25, 0.5), segment: float = 24.0, threshold: float = 1.0,
              pictures=("dots",), n_delays: int = 12, kernel_size: int = 9, train_steps: int = 150,
              lr: float = 0.01, batch: int = 16, stride: int = 4, init: float = 1e-3, keeps=None, control: str = "none",
              device="cpu", progress=None) -> Study:
    """Simulate ``n_train + n_test`` movies, train the layer on the first, and measure on the rest: dense
    accuracy, accuracy against time since a motion began, pruning and shortening at each budget in ``keeps``
    (default: 13 budgets from 1 to 1/1000), the paper's two budgets (1/30 by magnitude, the shortest delay
    alone), and the kernels' drift against the true motions."""
    control = check_value("control", control, list(CONTROLS), "run_study")
    stream = simulate_events(n_train + n_test, crop=crop, n_steps=n_steps, n_directions=n_directions, speeds=speeds,
                             segment=segment, threshold=threshold, pictures=pictures, seed=seed)
    if kernel_size > crop:
        raise ParameterError(f"Parameter 'kernel_size' ({kernel_size}) must not exceed 'crop' ({crop}).")
    train, test = stream.subset(range(n_train)), stream.subset(range(n_train, n_train + n_test))
    d_used = 1 if control == "no_delays" else n_delays
    layer, losses = fit_layer(train.events.to(device), train.labels.to(device), stream.n_classes, n_delays=d_used,
                              size=kernel_size, max_speed=max(stream.speeds), steps=train_steps, lr=lr, batch=batch,
                              stride=stride, masked=control == "none", seed=seed, init=init, progress=progress)
    layer = layer.cpu()
    study = Study(train, test, layer, losses, n_delays, stride, None, float("nan"), None, None, None, None)
    study.scores = class_scores(test.events, study.kernel, layer.bias.detach(), stride)
    study.dense_accuracy = accuracy(study.scores, test.labels, test.since, n_delays)
    study.by_since = accuracy_by_since(study.scores, test.labels, test.since, n_delays, 2 * n_delays)
    study.keeps = np.geomspace(1.0, 1e-3, 13) if keeps is None else np.asarray(keeps, float)
    study.pruned = np.array([study.budget_accuracy(prune(study.kernel, float(k))) for k in study.keeps])
    study.shortened = np.array([study.budget_accuracy(shorten(study.kernel, float(k))) for k in study.keeps])
    study.results = summarize(study)
    return study


def summarize(study: Study) -> dict:
    """The numbers the notebook records: the checked ones and their context."""
    k, test = study.kernel, study.test
    chance = 1.0 / test.n_classes
    dense = study.dense_accuracy
    pruned30 = study.budget_accuracy(prune(k, 1 / 30))
    shortest = study.budget_accuracy(shorten(k, max_delay=1))
    drift = kernel_drift(k)
    angles = drift_angles(drift, test.classes)
    angles_pos = drift_angles(kernel_drift(k, "positive"), test.classes)
    (p50, _, _), _ = fit_sigmoid(study.keeps, study.pruned, chance)
    (s50, _, _), _ = fit_sigmoid(study.keeps, study.shortened, chance)
    n_nonzero = int((k != 0).sum())
    return {
        "dense_accuracy": dense, "chance": chance,
        "pruned_30_accuracy": pruned30, "pruned_30_over_dense": pruned30 / dense if dense > 0 else float("nan"),
        "shortest_delay_accuracy": shortest, "shortest_over_dense": shortest / dense if dense > 0 else float("nan"),
        "shortest_delay_fraction": int((shorten(k, max_delay=1) != 0).sum()) / max(n_nonzero, 1),
        "median_drift_angle": float(np.median(angles)),
        "median_drift_angle_positive": float(np.median(angles_pos)),
        "fast_drifts_faster_fraction": fast_beats_slow(drift, test.n_directions, len(test.speeds)),
        "prune_half_keep": p50, "shorten_half_keep": s50, "n_synapses": n_nonzero,
        "drift": drift, "angles": angles,
    }


def engine_run(study: Study, keep: float = 1 / 30, n_movies: int = 2, rate_hz: float = 1.0, tau_m: float = 2.0,
               engine: str = "torch"):
    """Run the layer pruned to ``keep`` on the spiking engine over the first ``n_movies`` test movies, the
    output threshold set so that the outputs fire about ``rate_hz`` (the quantile of their evidence). Returns
    the spike record, the threshold, the fraction of output spikes whose class is the true motion, and the
    synaptic events it took against the multiply-adds of the dense ``conv3d`` on the same movies."""
    k = prune(study.kernel, keep)
    ev = study.test.events[:n_movies]
    b = evidence(ev, k)                                  # (M, K, T, G, G), stride 1
    q = 1.0 - rate_hz / 1000.0
    thr = float(torch.quantile(b[:, :, study.n_delays:].reshape(-1)[::7], q))
    thr = max(thr, 1e-3)
    rec = run_layer(ev, k, thr, tau_m=tau_m, engine=engine)
    g = rec.extra["grid"]
    cls = rec.n // (g * g)
    prev = (rec.t - 1).clamp(min=0)
    right = float((cls == study.test.labels[:n_movies][rec.b, prev]).float().mean()) if rec.n_spikes else float("nan")
    n_events = float(ev.sum())
    syn_events = n_events * rec.extra["n_synapses"] / (2 * ev.shape[-1] ** 2)        # mean synapses per input
    dense_macs = float(b.numel()) * 2 * study.n_delays * k.shape[-1] ** 2
    return rec, thr, right, syn_events / dense_macs
