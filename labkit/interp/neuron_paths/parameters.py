"""The neuron-paths notebook's parameter rules: its check cell and ``labkit run`` both read them."""
from labkit.interp.neuron_paths.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS),
    "patch": (int, 1, 8), "d_model": (int, 4, 4096), "n_layers": (int, 1, 64), "n_heads": (int, 1, 64),
    "d_mlp": (int, 4, 65536), "steps": (int, 1, 10_000_000), "lr": (float, 0, 1, "neither"),
    "batch_size": (int, 1, 1_000_000), "n_images": (int, 10, 1_000_000), "m": (int, 1, 100_000),
    "k": (int, 1, 65536), "prune_ks": str,
}
