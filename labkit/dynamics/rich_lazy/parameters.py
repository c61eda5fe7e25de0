"""The notebook's parameter rules (``labkit.check_params(globals(), PARAMETERS)``)."""

from labkit.dynamics.rich_lazy.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "control": list(CONTROLS),
    "tasks": str,
    "n_hidden": (int, 2, 2048),
    "ranks": str,
    "scales": str,
    "replicates": (int, 1, 100),
    "steps": (int, 1, 1_000_000),
    "lr": (float, 0.0, 10.0, "right"),
    "momentum": (float, 0.0, 1.0, "left"),
    "batch_size": (int, 1, 100_000),
    "probe_size": (int, 1, 10_000),
    "n_snapshots": (int, 2, 50),
    "saxe_steps": (int, 1, 1_000_000),
    "saxe_lr": (float, 0.0, 1.0, "right"),
    "saxe_init": (float, 0.0, 1.0, "neither"),
    "depths": str,
    "deficit_steps": (int, 2, 1_000_000),
    "deficit_lr": (float, 0.0, 1.0, "right"),
    "deficit_length": (int, 1, 1_000_000),
    "mode_init": (float, 0.0, 1.0, "neither"),
    "width": (int, 8, 4096),
}
