"""The rules of the SDR dendrites notebook's parameters (checked by its check cell, and by
``labkit run`` / ``labkit sweep`` before a kernel starts)."""
from labkit.spiking.sdr_dendrites.theory import CONTROLS

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "n_trials": (int, 1000, 10**9),
    "n_trials_union": (int, 1000, 10**8),
    "grid_trials": (int, 1000, 10**9),
    "grid_trials_union": (int, 1000, 10**8),
    "noise": (float, 0.0, 0.9),
    "control": list(CONTROLS),
}
