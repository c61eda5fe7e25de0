"""Heterogeneous synaptic delays for fast motion detection (Grimaldi & Perrinet 2023, Biological Cybernetics,
"Learning heterogeneous delays in a layer of spiking neurons for fast motion detection").

A layer of neurons whose every synapse has a weight and a delay detects a spatiotemporal motif when the
delayed spikes of its inputs arrive together. Written as a time-invariant logistic regression, the layer is a
3-D convolution of the event stream with a kernel over (class, polarity, delay, y, x), one synapse per voxel,
trained with binary cross-entropy against the current motion. Event streams come from pictures moved along
piecewise-constant trajectories through a DVS-like pixel model, with the true motion per step.

The room: :mod:`.simulate` (event streams and their truth), :mod:`.model` (the layer, its masks, training),
:mod:`.pruning` (pruning, shortening, kernel drift, sigmoid fits), :mod:`.layer` (the kernel unrolled into
synapses with delays: event-driven evidence and a run on the spiking engine, :mod:`labkit.spiking.lif_network`),
:mod:`.metrics`, :mod:`.experiment` (the notebook's driver and its negative control), :mod:`.figures` and
:mod:`.parameters`.
"""
from labkit.spiking.delay_learning.experiment import CONTROLS, Study, engine_run, run_study
from labkit.spiking.delay_learning.layer import build_network, event_evidence, events_from_list, run_layer, to_synapses
from labkit.spiking.delay_learning.metrics import accuracy, accuracy_by_since, settled_mask
from labkit.spiking.delay_learning.model import DelayLayer, class_scores, delay_masks, evidence, fit_layer
from labkit.spiking.delay_learning.parameters import PARAMETERS
from labkit.spiking.delay_learning.pruning import (
    drift_angles,
    fast_beats_slow,
    fit_sigmoid,
    kernel_drift,
    n_kept,
    prune,
    shorten,
)
from labkit.spiking.delay_learning.simulate import PICTURES, EventStream, motion_classes, simulate_events

__all__ = ["CONTROLS", "Study", "run_study", "engine_run", "to_synapses", "event_evidence", "events_from_list",
           "run_layer", "build_network", "accuracy", "accuracy_by_since", "settled_mask", "DelayLayer",
           "class_scores", "delay_masks", "evidence", "fit_layer", "PARAMETERS", "prune", "shorten", "n_kept",
           "kernel_drift", "drift_angles", "fast_beats_slow", "fit_sigmoid", "PICTURES", "EventStream",
           "motion_classes", "simulate_events"]
