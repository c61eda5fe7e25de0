"""The rules of the delay-learning notebook's parameters (``notebooks/spiking/delay_learning.ipynb``), checked by
its check cell and by ``labkit run`` / ``labkit sweep`` before a kernel starts."""
from labkit.spiking.delay_learning.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS),
    "pictures": str, "n_directions": (int, 1, 64), "speeds": str,
    "crop": (int, 8, 512), "n_steps": (int, 8, 10_000), "segment": (float, 1.0, 10_000.0),
    "threshold": (float, 0.0, 100.0, "neither"),
    "n_train": (int, 1, 100_000), "n_test": (int, 1, 100_000),
    "n_delays": (int, 2, 256), "kernel_size": (int, 1, 129),
    "train_steps": (int, 1, 1_000_000), "lr": (float, 0.0, 10.0, "neither"), "batch_size": (int, 1, 100_000),
    "init": (float, 0.0, 10.0, "neither"), "stride": (int, 1, 64),
    "engine_movies": (int, 1, 1000), "engine_rate_hz": (float, 0.0, 1000.0, "neither"),
}
