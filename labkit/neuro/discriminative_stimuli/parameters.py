"""The rules of the discriminative-stimuli notebook's parameters (``notebooks/neuro/discriminative_stimuli.ipynb``).

Its check cell passes them to :func:`labkit.check_params`; ``labkit run`` and ``labkit sweep`` check a value
against them before any kernel starts.
"""
from labkit.neuro.discriminative_stimuli.experiment import CONTROLS
from labkit.neuro.discriminative_stimuli.simulate import TYPES

PARAMETERS = {
    "seed": "seed", "device": "device",
    "n_types": (int, 2, len(TYPES)),
    "cells_per_type": (int, 2, 10_000),
    "side": (int, 8, 256),
    "frames": (int, 10, 200),
    "n_movies": (int, 50, 1_000_000),
    "twin_steps": (int, 0, 1_000_000),
    "k_start": (int, 2, 1000),
    "k_list": str,
    "held_out_per_type": (int, 1, 100_000),
    "temperature": (float, 0.0, None, "right"),
    "control": list(CONTROLS),
}
