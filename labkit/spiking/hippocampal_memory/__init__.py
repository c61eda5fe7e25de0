"""Hippocampal memory: a spiking CA3 content-addressable memory that learns, forgets and recalls by address
or by fragment (Casanueva-Morato et al. 2024), beside a Hopfield network (Amit, Gutfreund & Sompolinsky 1985).

* :mod:`~labkit.spiking.hippocampal_memory.network` — :class:`CA3Memory`: one cue neuron per address, one
  content neuron per bit, STDP on the spiking engine, operations at the paper's timings;
* :mod:`~labkit.spiking.hippocampal_memory.contents` — orthogonal, random sparse and digit contents,
  fragments, and the expected number of addresses a fragment returns;
* :mod:`~labkit.spiking.hippocampal_memory.hopfield` — :class:`HopfieldNetwork` (±1 units, Hebbian weights,
  asynchronous updates), overlap and retrieval against load;
* :mod:`~labkit.spiking.hippocampal_memory.experiment` — the experiments the notebook runs;
* :mod:`~labkit.spiking.hippocampal_memory.figures` — plotly figures (nothing there simulates);
* :mod:`~labkit.spiking.hippocampal_memory.parameters` — the notebook's parameter rules, ``PARAMETERS``.
"""
from labkit.spiking.hippocampal_memory.contents import (
    KINDS,
    contents_of,
    digit_contents,
    expected_addresses,
    fragments,
    orthogonal_contents,
    random_contents,
    size_standard_error,
    true_addresses,
)
from labkit.spiking.hippocampal_memory.hopfield import HopfieldNetwork, flip, overlap, retrieval
from labkit.spiking.hippocampal_memory.network import (
    CONTROLS,
    DELAYS,
    LATENCY,
    MIN_SPACING,
    CA3Memory,
    MemoryRun,
    Op,
)
from labkit.spiking.hippocampal_memory.parameters import PARAMETERS

__all__ = [
    "KINDS", "contents_of", "digit_contents", "expected_addresses", "fragments", "orthogonal_contents",
    "random_contents", "size_standard_error", "true_addresses",
    "HopfieldNetwork", "flip", "overlap", "retrieval",
    "CONTROLS", "DELAYS", "LATENCY", "MIN_SPACING", "CA3Memory", "MemoryRun", "Op",
    "PARAMETERS",
]
