"""The rules of the feature-visualization notebook's parameters (``notebooks/interp/feature_visualization.ipynb``).

Its check cell passes them to :func:`labkit.check_params`; ``labkit run`` and ``labkit sweep`` check a value
against them before any kernel starts.
"""
from labkit.interp.feature_visualization.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device",
    "control": list(CONTROLS),
    "size": (int, 16, 256),
    "n_train": (int, 200, None),
    "n_test": (int, 100, None),
    "cnn_steps": (int, 1, None),
    "judge_steps": (int, 1, None),
    "k": (int, 2, 20),
    "n_codes": (int, 20, None),
    "n_nearest": (int, 1, None),
    "facet_steps": (int, 1, None),
    "n_noise": (int, 1, 100),
    "steps": (int, 1, None),
    "tv": (float, 0.0, None),
    "jitter": (float, 0.0, None),
    "decay": (float, 0.0, 3.0),
    "widths": str,
    "mlp_steps": (int, 1, None),
}
