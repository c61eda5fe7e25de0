"""The rules of the dynamic-connectome notebook's parameters (``labkit.check_params`` and ``labkit run`` use them)."""
from labkit.data.worm import list_connectomes
from labkit.neuro.dynamic_connectome.affinity import KERNELS
from labkit.neuro.dynamic_connectome.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS),
    "connectome": [c.name for c in list_connectomes()] + ["random"],
    "subnetwork": str,
    "n_random": (int, 6, 500),
    "n_animals": (int, 2, 200),
    "block_duration": (float, 10.0, 3600.0),
    "noise_std": (float, 0.0, 10.0),
    "overlap": (float, 0.0, 0.5, "left"),
    "window": (int, 4, 10_000),
    "step": (int, 1, 10_000),
    "smooth": (float, 0.1, 50.0),
    "kernel": list(KERNELS),
    "rank": (int, 0, 20),
    "max_rank": (int, 1, 20),
    "n_restarts": (int, 2, 64),
    "resolution": (float, 0.05, 20.0),
    "nwb_path": str, "nwb_series": str, "fit_out": str,
}
