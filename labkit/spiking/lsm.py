"""Alias of :mod:`labkit.spiking.liquid_state_machine` (modules are named after their notebooks;
``from labkit.spiking.lsm import Liquid`` works as well)."""
from labkit.spiking.liquid_state_machine import *  # noqa: F401,F403
from labkit.spiking.liquid_state_machine import __all__  # noqa: F401
