"""The rules of the worm-connectome notebook's parameters (``labkit.check_params`` and ``labkit run`` use them)."""
from labkit.data import worm

_CHEMICAL = [i.name for i in worm.list_connectomes() if "chemical" in i.kinds]

PARAMETERS = {
    "seed": "seed", "device": "device", "annotations": str,
    "n_null": (int, 1, 1000), "swaps_per_edge": (int, 1, 100),
    "q_threshold": (float, 1e-6, 0.5),
    "explore_a": _CHEMICAL,
    "explore_b": _CHEMICAL,
    "explore_neuron": worm.canonical_neurons(),
}
