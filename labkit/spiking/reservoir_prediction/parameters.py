"""The rules of the reservoir-prediction notebook's parameters (``notebooks/spiking/reservoir_prediction.ipynb``).

Its check cell passes them to :func:`labkit.check_params`; ``labkit run`` and ``labkit sweep`` check a value
against them before anything runs.
"""
from labkit.spiking.reservoir_prediction.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device",
    "n_neurons": (int, 60, 100_000),
    "n_replicates": (int, 1, 1024),
    "n_trials": (int, 20, 100_000),
    "n_probe": (int, 1, 1000),
    "delay_before": (float, 0, 650, "right"),
    "delay_after": (float, 0, 650, "right"),
    "probs": str,
    "dt": (float, 0, 1, "right"),
    "eta": (float, 0, 1),
    "eta_what": (float, 0, 1),
    "gate_ms": (float, 0, None, "neither"),
    "alpha": (float, 0, None, "neither"),
    "sweep_etas": str,
    "sweep_gates": str,
    "control": list(CONTROLS),
}
