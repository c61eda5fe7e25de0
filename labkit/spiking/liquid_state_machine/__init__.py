"""Liquid state machines: a spiking reservoir, three ways of setting its weights, and a linear readout.

A liquid (Maass, Natschläger & Markram 2002) is a recurrent network of LIF neurons, 80% excitatory
and 20% inhibitory, on a 3-D grid, wired with a probability that falls with distance
(:mod:`labkit.spiking.connectivity`). Input spike trains drive it; a linear readout is trained on
the liquid's state, each neuron's spike count over the presentation. Three liquids share one
wiring and one starting point, every weight at its largest magnitude ``w_max`` (NALSM's start):

* ``plain``: weights left where they start; no learning.
* ``stdp``: pair-based STDP with equal potentiation and depression rates (LSM+STDP).
* ``nalsm``: STDP whose depression rate is set by an astrocyte from liquid minus input activity
  (Ivanov & Michmizos 2021, "Increasing Liquid State Machine Performance with Edge-of-Chaos
  Dynamics Organized by Astrocyte-modulated Plasticity", NeurIPS).

Plasticity follows the official code (``NALSM_RUN_MAIN_SIM_MNIST.py``) in two phases:

1. :meth:`Liquid.organize` (``run_W_DENSE_initialization_loop``): random training samples are shown
   one at a time for 20 ms to a single liquid whose weights carry over from sample to sample;
   potentials, refractoriness, astrocyte and learning rates restart with each sample, the STDP
   traces do not. The weights at the end are the liquid's ``W_INI``.
2. :meth:`Liquid.present` (``generate_..._spike_data``): every sample, train or test, is presented
   for ``n_steps`` ms to its own copy of the liquid that starts from ``W_INI`` with plasticity on and
   all learning rates (and the astrocyte's gain and bias) decaying by 0.99 per ms, so each copy
   settles early in the presentation. The spike counts feed the readout; the recorded spikes give
   the branching factor (:mod:`labkit.spiking.criticality`).

The room: :mod:`.model` (the liquid), :mod:`.experiment` (the comparisons the notebook runs),
:mod:`.figures` and :mod:`.parameters` (the notebook's parameter rules); the data sets come from
:mod:`labkit.data.datasets`.
"""
from labkit.data.datasets import split_indices
from labkit.spiking.liquid_state_machine.experiment import (
    CONTROLS,
    Comparison,
    compare_liquids,
    digits_dataset,
    end_of_run,
    explore_astrocyte,
    mnist1d_dataset,
    paired_difference,
    readout_accuracy,
    readout_correct,
    size_sweep,
)
from labkit.spiking.liquid_state_machine.model import KINDS, Liquid, LiquidConfig
from labkit.spiking.liquid_state_machine.parameters import PARAMETERS

__all__ = ["KINDS", "CONTROLS", "LiquidConfig", "Liquid", "Comparison", "compare_liquids", "size_sweep",
           "explore_astrocyte", "digits_dataset", "mnist1d_dataset", "readout_accuracy", "readout_correct",
           "paired_difference", "end_of_run", "split_indices", "PARAMETERS"]
