"""Reservoir prediction: "what", "when" and "how likely" read from an Izhikevich reservoir (Yamada & Chao 2025).

A heterogeneous Izhikevich reservoir (the engine's :class:`~labkit.spiking.neurons.Izhikevich` neurons in
its :class:`~labkit.spiking.lif_network.LIFNetwork`) gets a cue and, after a delay, one of four stimuli with
set probabilities. Linear readouts of its eligibility traces learn *when* the stimulus comes (online, through
an error-modulated, attention-gated three-factor rule) and *what* comes with which probability (consolidated
offline between trials); FORCE (recursive least squares) with and without a reset learns the same targets
from the same traces. Mid-run the delay changes and the probabilities reverse. This package holds

* :mod:`~labkit.spiking.reservoir_prediction.task` — the task, balanced blocks and the change (:class:`TaskSpec`);
* :mod:`~labkit.spiking.reservoir_prediction.reservoir` — the reservoir and its recorded traces (:func:`record`);
* :mod:`~labkit.spiking.reservoir_prediction.readouts` — the three-factor rule, consolidation and FORCE;
* :mod:`~labkit.spiking.reservoir_prediction.metrics` — scores against the task's truth;
* :mod:`~labkit.spiking.reservoir_prediction.experiment` — the studies the notebook runs (:func:`run_study`);
* :mod:`~labkit.spiking.reservoir_prediction.figures` — plotly figures (nothing there learns anything);
* :mod:`~labkit.spiking.reservoir_prediction.parameters` — the notebook's parameter rules, ``PARAMETERS``.

No official code was found: the rule's constants (learning rates, trace time constant, gate width), the
reservoir's drive and gain, and reading predictions on cue-only probe trials are labkit's choices, each
documented in its module.
"""
from labkit.spiking.reservoir_prediction.experiment import (
    CONTROLS,
    LEARNERS,
    Scored,
    Study,
    explore,
    regular_spiking_spikes,
    rule_sweep,
    run_study,
)
from labkit.spiking.reservoir_prediction.metrics import DELAY_TOL, PROB_TOL, random_angle_deg, trials_to_criterion
from labkit.spiking.reservoir_prediction.parameters import PARAMETERS
from labkit.spiking.reservoir_prediction.readouts import (
    RuleParams,
    consolidate,
    gate,
    rls_step,
    three_factor_update,
    train_force,
    train_three_factor,
)
from labkit.spiking.reservoir_prediction.reservoir import Recording, ReservoirConfig, build_reservoir, record
from labkit.spiking.reservoir_prediction.task import TaskSpec, balanced_block, parse_probs, schedule

__all__ = [
    "CONTROLS", "LEARNERS", "Scored", "Study", "explore", "regular_spiking_spikes", "rule_sweep", "run_study",
    "DELAY_TOL", "PROB_TOL", "random_angle_deg", "trials_to_criterion", "PARAMETERS",
    "RuleParams", "consolidate", "gate", "rls_step", "three_factor_update", "train_force", "train_three_factor",
    "ReservoirConfig", "Recording", "build_reservoir", "record",
    "TaskSpec", "balanced_block", "parse_probs", "schedule",
]
