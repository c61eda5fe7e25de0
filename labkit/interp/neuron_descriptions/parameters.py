"""The notebook's parameter rules (checked by the notebook's check cell, and by ``labkit run`` before a
kernel starts)."""
from labkit.interp.neuron_descriptions.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "control": list(CONTROLS),
    "k": (int, 1, 100),
    "q": (float, 0.0, 1.0, "neither"),
    "lam": (float, 0.0, None),
    "lams": str,
    "n_units": (int, 4, None),
    "n_scenes": (int, 100, None),
    "n_pretrain": (int, 100, None),
    "encoder_steps": (int, 1, None),
    "encoder_width": (int, 2, 64),
    "n_train_units": (int, 20, None),
    "specificity": (float, 0.0, 1.0),
    "head_steps": (int, 1, None),
    "cnn_train": (int, 100, None),
    "cnn_steps": (int, 1, None),
    "n_describe": (int, 100, None),
    "n_detect": (int, 100, None),
    "n_val": (int, 50, None),
    "n_test": (int, 50, None),
    "spurious_rate": (float, 0.0, 1.0),
    "max_units": (int, 1, 100),
}
