"""The rules of the Neuroformer notebook's parameters (``notebooks/neuro/neuroformer.ipynb``)."""
from labkit.neuro.neuroformer.experiment import CONTROLS
from labkit.neuro.neuroformer.simulate import BACKBONES

PARAMETERS = {
    "seed": "seed", "device": "device",
    "backbone": list(BACKBONES),
    "n_trials": (int, 10, 100_000),
    "window": (int, 10, 1000),
    "prev": (int, 0, 1000),
    "dt_res": (int, 1, 100),
    "d_model": (int, 4, 4096),
    "n_layers": (int, 1, 48),
    "n_heads": (int, 1, 64),
    "steps": (int, 1, 1_000_000),
    "masked_steps": (int, 1, 1_000_000),
    "batch_size": (int, 1, 100_000),
    "lr": (float, 0, 1, "right"),
    "shots": str,
    "scratch_steps": (int, 1, 1_000_000),
    "glm": bool,
    "joint_weight": (float, 0, None),
    "control": list(CONTROLS),
}
