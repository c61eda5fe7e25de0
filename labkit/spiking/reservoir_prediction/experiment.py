"""The studies the notebook runs, as plain functions (tested; no figures here).

* :func:`run_study` records the reservoir once over every trial of every replicate, trains the three-factor
  readouts and FORCE with and without a reset on the same traces, and scores them against the task's truth.
* :func:`rule_sweep` trains the three-factor rule again over a grid of learning rates and gate widths.
* :func:`explore` runs a small task with a chosen delay and probabilities, for the explorer.
* :func:`regular_spiking_spikes` runs one regular-spiking neuron on the engine (the first exercise's truth).

The negative control, ``control="untrained"``: every learning rate is zero and FORCE takes no step, so every
readout stays at its zero start; reservoir, task, probes and scores are unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.core.threads import threads
from labkit.spiking.lif_network import LIFNetwork
from labkit.spiking.neurons import Izhikevich
from labkit.spiking.reservoir_prediction import metrics as me
from labkit.spiking.reservoir_prediction import readouts as ro
from labkit.spiking.reservoir_prediction.reservoir import Recording, ReservoirConfig, record
from labkit.spiking.reservoir_prediction.task import TaskSpec, schedule
from labkit.spiking.synapses import Synapses

CONTROLS = ("none", "untrained")
"""The method as it is, or the notebook's negative control (see the module's docstring)."""
LEARNERS = {"three_factor": "three-factor", "force_no_reset": "FORCE, no reset",
            "force_reset": "FORCE, reset at the change"}
DEFAULT_RULE = ro.RuleParams()


@dataclass
class Scored:
    """One learner: its weights, probe outputs (replicate means) and scores."""

    learned: ro.Learned
    when: np.ndarray            # (n_trials, n_bins)
    what: np.ndarray            # (n_trials, K, n_bins)
    before: dict
    after: dict
    trials_to_criterion: int
    errors: dict                # per-trial delay and probability errors
    angle_deg: np.ndarray       # (n_trials,) when vs what weights


@dataclass
class Study:
    spec: TaskSpec
    cfg: ReservoirConfig
    stim: np.ndarray
    recording: Recording
    learners: dict = field(default_factory=dict)
    random_angle_deg: float = 90.0


def score(learned: ro.Learned, probe: torch.Tensor, spec: TaskSpec, t_ms: np.ndarray, last: int = 10) -> Scored:
    """Score a learner on the probe traces: the last ``last`` trials of each block, trials to criterion."""
    when, what = me.mean_curves(*ro.probe_outputs(learned, probe))
    c, n = spec.change_trial, spec.n_trials
    before = me.block_scores(when, what, t_ms, spec, range(max(0, c - last), c))
    after = me.block_scores(when, what, t_ms, spec, range(max(c, n - last), n))
    return Scored(learned, when, what, before, after, me.trials_to_criterion(when, what, t_ms, spec),
                  me.error_per_trial(when, what, t_ms, spec), me.subspace_angle_deg(learned.when, learned.what))


def run_study(spec: TaskSpec, cfg: ReservoirConfig, rule: ro.RuleParams = DEFAULT_RULE, *, n_replicates: int = 8,
              n_probe: int = 8, alpha: float = 1.0, seed: int = 0, device="cpu", control: str = "none",
              force: bool = True) -> Study:
    """Record, train every learner, score (see the module docstring)."""
    control = check_value("control", control, list(CONTROLS), "run_study")
    stim = schedule(spec, n_replicates, seed=seed)
    rec = record(spec, cfg, stim, n_probe=n_probe, seed=seed, device=device)
    X, probe = ro.centered(rec.trials, rec.probe)
    if control == "untrained":
        rule = ro.RuleParams(eta=0.0, eta_what=0.0, gate_ms=rule.gate_ms, target_ms=rule.target_ms)
    study = Study(spec, cfg, stim, rec, random_angle_deg=me.random_angle_deg(cfg.n, seed=seed))
    with threads(1, device=X.device):
        study.learners["three_factor"] = score(ro.train_three_factor(X, stim, spec, rec.t_ms, rule), probe, spec,
                                               rec.t_ms)
        if force:
            runs = ro.train_force(X, stim, spec, rec.t_ms, alpha=alpha, target_ms=rule.target_ms,
                                  frozen=control == "untrained")
            for key, learned in runs.items():
                study.learners[f"force_{key}"] = score(learned, probe, spec, rec.t_ms)
    return study


def rule_sweep(study: Study, etas, gates, rule: ro.RuleParams = DEFAULT_RULE) -> dict:
    """The three-factor rule again on the study's traces for every learning rate ``etas`` x gate width ``gates``:
    ``{"trials_to_criterion": (len(etas), len(gates)), "after_delay_error", "after_prob_error"}``."""
    rec, spec = study.recording, study.spec
    X, probe = ro.centered(rec.trials, rec.probe)
    out = {k: np.zeros((len(etas), len(gates))) for k in ("trials_to_criterion", "after_delay_error",
                                                          "after_prob_error")}
    with threads(1):
        for i, eta in enumerate(etas):
            for j, g in enumerate(gates):
                r = ro.RuleParams(eta=float(eta), eta_what=rule.eta_what, gate_ms=float(g), target_ms=rule.target_ms)
                s = score(ro.train_three_factor(X, study.stim, spec, rec.t_ms, r), probe, spec, rec.t_ms)
                out["trials_to_criterion"][i, j] = s.trials_to_criterion
                out["after_delay_error"][i, j] = s.after["delay_rel_error"]
                out["after_prob_error"][i, j] = s.after["prob_error"]
    return out


def explore(delay: float, probs, cfg: ReservoirConfig, rule: ro.RuleParams = DEFAULT_RULE, *, n_trials: int = 40,
            n_replicates: int = 2, seed: int = 0) -> tuple[TaskSpec, Scored]:
    """``n_trials`` trials with stimulus delay ``delay`` and probabilities ``probs``, learned by the three-factor
    rule; for the explorer. Returns the task and the scored learner. (A task needs a change: it comes after the
    last trial, which is run but not shown.)"""
    spec = TaskSpec(n_trials=n_trials + 1, change_trial=n_trials, delay_before=delay, delay_after=delay, probs=probs)
    stim = schedule(spec, n_replicates, seed=seed)
    rec = record(spec, cfg, stim, n_probe=4, seed=seed)
    X, probe = ro.centered(rec.trials, rec.probe)
    with threads(1, device=X.device):
        return spec, score(ro.train_three_factor(X, stim, spec, rec.t_ms, rule), probe, spec, rec.t_ms)


def regular_spiking_spikes(current: float = 10.0, duration_ms: float = 1000.0, dt: float = 1.0) -> np.ndarray:
    """Spike times (ms) of one regular-spiking Izhikevich neuron (a, b, c, d = 0.02, 0.2, -65, 8) held at a
    constant ``current`` (mV/ms) from rest, on the engine (two half-steps of ``v`` per step)."""
    check_value("current", current, float, "regular_spiking_spikes")
    steps = int(round(check_value("duration_ms", duration_ms, (float, 0, None, "neither"), "regular_spiking_spikes")
                      / dt))
    empty = np.zeros(0, dtype=np.int64)
    neuron = Izhikevich(1, a=0.02, b=0.2, c=-65.0, d=8.0, dt=dt)
    net = LIFNetwork(neuron, Synapses.from_edges(empty, empty, empty, 1, 1))
    rec = net.run(steps, 1, current=torch.full((steps, 1, 1), float(current)))
    return (rec.t.numpy() + 1) * dt
