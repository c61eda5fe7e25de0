"""Biological neurons and spiking networks.

The track's shared modules: :mod:`.lif` (one LIF neuron), :mod:`.lif_network` and :mod:`.synapses`
(the batched, event-driven network engine), :mod:`.neurons` (its neuron models), :mod:`.engine` and
:mod:`.compiled` (run paths, delays, the Numba kernels), :mod:`.connectivity`, :mod:`.encoders`,
:mod:`.plasticity` and :mod:`.criticality`; one package per method notebook
(:mod:`.liquid_state_machine`, :mod:`.sdr_dendrites`).

The public classes are importable from here (``from labkit.spiking import Liquid``); each is loaded
on first use, so importing one method does not import the others.
"""
from labkit.core.lazy import lazy_exports

_EXPORTS = {
    "LIFParams": "labkit.spiking.lif",
    "LIFPopulation": "labkit.spiking.lif_network",
    "LIFNetwork": "labkit.spiking.lif_network",
    "SpikeRecord": "labkit.spiking.lif_network",
    "Synapses": "labkit.spiking.synapses",
    "LIF": "labkit.spiking.neurons",
    "AdaptiveLIF": "labkit.spiking.neurons",
    "Izhikevich": "labkit.spiking.neurons",
    "STDPParams": "labkit.spiking.plasticity",
    "AstrocyteParams": "labkit.spiking.plasticity",
    "AstroSTDP": "labkit.spiking.plasticity",
    "Liquid": "labkit.spiking.liquid_state_machine",
    "DelayLayer": "labkit.spiking.delay_learning",
    "LiquidConfig": "labkit.spiking.liquid_state_machine",
    "OverlapSample": "labkit.spiking.sdr_dendrites",
    "ThresholdChoice": "labkit.spiking.sdr_dendrites",
    "CA3Memory": "labkit.spiking.hippocampal_memory",
    "HopfieldNetwork": "labkit.spiking.hippocampal_memory",
    "ReservoirConfig": "labkit.spiking.reservoir_prediction",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
