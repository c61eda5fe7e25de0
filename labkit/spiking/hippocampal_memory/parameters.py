"""The rules of the hippocampal-memory notebook's parameters (``notebooks/spiking/hippocampal_memory.ipynb``).

Its check cell passes them to :func:`labkit.check_params`; ``labkit run`` and ``labkit sweep`` check a value
against them before any kernel starts.
"""
from labkit.spiking.hippocampal_memory.network import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device",
    "n_memories": (int, 2, 5000),
    "n_bits": (int, 8, 100_000),
    "density": (float, 0.0, 1.0, "neither"),
    "n_fragments": (int, 2, 100_000),
    "fragment_bits": (int, 1, 64),
    "n_relearn": (int, 1, 5000),
    "spacings": str,
    "curve_fragments": (int, 2, 100_000),
    "hopfield_n": (int, 16, 100_000),
    "hopfield_sizes": str,
    "hopfield_loads": str,
    "flip_fraction": (float, 0.0, 0.5),
    "control": list(CONTROLS),
}
