"""The rules of the worm-connectome notebook's parameters (``labkit.check_params`` and ``labkit run`` use them)."""
from labkit.data import worm
from labkit.neuro.worm_connectome.null import CONTROLS

_CHEMICAL = [i.name for i in worm.list_connectomes() if "chemical" in i.kinds]

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS), "annotations": str,
    "n_null": (int, 1, 1000), "swaps_per_edge": (int, 1, 100),
    "n_rewire": (int, 2, 1000), "n_boot": (int, 10, 100_000),
    "q_threshold": (float, 1e-6, 0.5),
    "explore_a": _CHEMICAL,
    "explore_b": _CHEMICAL,
    "explore_neuron": worm.canonical_neurons(),
}
