"""The rules of the liquid state machine notebook's parameters (checked by its check cell, and by
``labkit run`` / ``labkit sweep`` before a kernel starts)."""

from labkit.spiking.liquid_state_machine.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS),
    "n_side": (int, 3, 40), "n_steps": (int, 60, 2000), "n_plasticity": (int, 0, 1_000_000),
    "astro_gain": (float, 0.0, 10.0), "eta": (float, 0.0, 10.0), "max_rate": (float, 1.0, 1000.0),
    "probe_size": (int, 1, 1000), "probe_every": (int, 1, 1_000_000), "n_mnist1d": (int, 0, 100_000),
    "n_digits": (int, 100, 1797), "liquids": str,
    "size_sides": str, "plastic_presentation": bool, "batch_size": (int, 1, 100_000),
}
