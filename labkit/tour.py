"""The tour's parameter rules (``notebooks/00_tour.ipynb``).

The tour is not a method of its own: it walks through :mod:`labkit.spiking.lif`, which the spiking
track shares. Its rules live here, at the module its catalog id ``tour`` names by convention
(``labkit.<id>``), so the notebook's check cell and ``labkit run``/``labkit sweep`` read one spec.
"""

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "n_currents": (int, 2, 100_000),
    "max_current": (float, 0.1, 100.0),
    "duration": (float, 50.0, 1e6),
    "dt": (float, 1e-4, 1.0),
    "tau_m": (float, 1.0, 200.0),
    "t_ref": (float, 0.0, 50.0),
    "noise_std": (float, 0.0, 50.0),
}
