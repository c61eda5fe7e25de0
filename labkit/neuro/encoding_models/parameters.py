"""The rules of the encoding-models notebook's parameters (``notebooks/neuro/encoding_models.ipynb``).

Its check cell passes them to :func:`labkit.check_params`; ``labkit run`` and ``labkit sweep`` check a value
against them before any kernel starts.
"""
from labkit.neuro.encoding_models.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS),
    "n_train": (int, 50, 1_000_000), "n_val": (int, 0, 1_000_000), "n_test": (int, 20, 1_000_000),
    "n_retinotopic": (int, 1, 1_000_000), "n_category": (int, 1, 1_000_000),
    "backbone_steps": (int, 1, 1_000_000), "beta": (float, 0.0, 100.0, "neither"),
    "steps": (int, 1, 1_000_000), "batch": (int, 1, 100_000),
    "lr_factorized": (float, 0.0, 1.0, "neither"), "lr_attention": (float, 0.0, 1.0, "neither"),
    "smooth": (float, 0.0, 1000.0),
    "curve_sizes": str, "curve_voxels": (int, 1, 1_000_000), "curve_steps": (int, 1, 1_000_000),
}
