"""The notebook's parameter rules (``labkit.check_params(globals(), PARAMETERS)``)."""

from labkit.dynamics.representational_geometry.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "control": list(CONTROLS),
    "d": (int, 2, 6),
    "ks": str,
    "c_fractions": str,
    "replicates": (int, 1, 100),
    "cube_width": (int, 2, 4096),
    "n_per_condition": (int, 2, 10_000),
    "cube_steps": (int, 1, 1_000_000),
    "cube_lr": (float, 0.0, 10.0, "right"),
    "n_seeds": (int, 2, 100),
    "depth": (int, 1, 20),
    "width": (int, 2, 4096),
    "digits_steps": (int, 1, 1_000_000),
    "digits_lr": (float, 0.0, 1.0, "right"),
    "per_class": (int, 1, 50),
    "noise_levels": str,
    "gt_bounds": str,
    "n_draws": (int, 1, 1000),
    "n_points": (int, 10, 2000),
    "feature_width": (int, 2, 4096),
    "feature_depth": (int, 1, 10),
    "feature_steps": (int, 1, 1_000_000),
    "feature_lr": (float, 0.0, 1.0, "right"),
}
