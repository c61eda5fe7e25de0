"""The rules of the neural-fields notebook's parameters (``notebooks/fields/neural_fields.ipynb``).

Its check cell passes them to :func:`labkit.check_params`; ``labkit run`` and ``labkit sweep`` check
a value against them before any kernel starts.
"""
from labkit.fields.neural_fields.data import PICTURES
from labkit.fields.neural_fields.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device",
    "picture": sorted(PICTURES),
    "resolution": (int, 8, 4096),
    "color": ["auto", "grey", "color"],
    "fields": str,
    "n_params": (int, 1, 100_000_000),
    "steps": (int, 1, 1_000_000),
    "batch_size": (int, 0, 100_000_000),
    "fresh_params": (int, 1, 100_000_000),
    "fresh_steps": (int, 1, 1_000_000),
    "fresh_max_sigma": (int, 2, 1000),
    "fresh_evals": (int, 1, 1000),
    "fresh_crop": (int, 1, 4096),
    "default_sigma": (float, 0.01, 1000.0),
    "grid_sigmas": str,
    "control": list(CONTROLS),
}
