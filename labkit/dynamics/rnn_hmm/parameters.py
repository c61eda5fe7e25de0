"""The notebook's parameter rules (``labkit.check_params(globals(), PARAMETERS)``)."""

from labkit.dynamics.rnn_hmm.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "control": list(CONTROLS),
    "n_states": (int, 2, 10),
    "n_hidden": (int, 4, 4096),
    "n_noise": (int, 1, 4096),
    "length": (int, 2, 10_000),
    "batch": (int, 2, 100_000),
    "steps": (int, 1, 1_000_000),
    "val_every": (int, 1, 100_000),
    "lr": (float, 0.0, 1.0, "right"),
    "blur": (float, 0.0, None, "neither"),
    "n_eval": (int, 100, 1_000_000),
    "group_size": (int, 1, 64),
    "n_random": (int, 1, 1000),
    "cycle": bool,
}
