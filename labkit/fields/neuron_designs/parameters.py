"""The rules of the neuron-designs notebook's parameters (``notebooks/fields/neuron_designs.ipynb``).

Its check cell passes them to :func:`labkit.check_params`; ``labkit run`` and ``labkit sweep`` check a value
against them before any kernel starts. Lists are comma-separated strings (:func:`labkit.parse_list`).
"""
from labkit.fields.neuron_designs.training import CONTROLS

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "control": list(CONTROLS),
    "disk_steps": (int, 1, 1_000_000),
    "targets": str,
    "reg_designs": str,
    "reg_budgets": str,
    "check_budget": (int, 1, 10_000_000),
    "reg_steps": (int, 1, 1_000_000),
    "reg_batch": (int, 0, 1_000_000),
    "reg_lr": (float, 0.0, 1.0, "right"),
    "image_designs": str,
    "image_budget": (int, 1, 10_000_000),
    "image_steps": (int, 1, 1_000_000),
    "image_lr": (float, 0.0, 1.0, "right"),
    "batch_size": (int, 1, 1_000_000),
    "mnist1d_samples": (int, 100, 1_000_000),
    "mnist1d_designs": str,
    "scaling_budgets": str,
    "relinear_width": (int, 1, 4096),
    "quadratic_lr_ratio": (float, 0.0, 1.0),
    "attack_steps": (int, 1, 10_000),
    "attack_restarts": (int, 1, 100),
    "attack_rounds": (int, 1, 30),
}
