"""The rules of the plasticity-rules notebook's parameters (``notebooks/dynamics/plasticity_rules.ipynb``);
its check cell passes them to :func:`labkit.check_params`."""
from labkit.dynamics.plasticity_rules.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "control": list(CONTROLS),
    "hidden": (int, 1, 4096),
    "depth": (int, 1, 10),
    "lr": (float, 0.0, 10.0, "right"),
    "epochs": (int, 1, 10_000),
    "batch": (int, 1, 100_000),
    "mnist1d": bool,
    "mnist1d_samples": (int, 100, 100_000),
    "n_tasks": (int, 2, 50),
    "stream_dim": (int, 64, 4096),
    "stream_hidden": (int, 1, 4096),
    "stream_lr": (float, 0.0, 10.0, "right"),
    "stream_epochs": (int, 1, 10_000),
    "energy": (float, 0.0, 1.0, "neither"),
    "hebb_iters": (int, 1, 1_000_000),
    "hebb_lr": (float, 0.0, 1.0, "right"),
    "replicates": (int, 1, 100),
}
