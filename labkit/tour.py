"""The tour's parameter rules, its negative control and its noise check (``notebooks/00_tour.ipynb``).

The tour is not a method of its own: it walks through :mod:`labkit.spiking.lif`, which the spiking
track shares. Its rules live here, at the module its catalog id ``tour`` names by convention
(``labkit.<id>``), so the notebook's check cell and ``labkit run``/``labkit sweep`` read one spec.

The negative control (``control="no_leak"``) simulates the perfect integrate-and-fire neuron instead of the
leaky one: no leak, so no rheobase and a linear f–I curve. Every truth check of the tour (the closed-form
f–I curve, silence below rheobase, the Siegert rate of the noisy neuron below rheobase) must fail under it.
"""
from __future__ import annotations

import numpy as np

from labkit.core.params import check_value
from labkit.spiking.lif import LIFParams, LIFRun, lif_rate_noisy, simulate_lif

CONTROLS = ("none", "no_leak")

PARAMETERS = {
    "seed": "seed",
    "device": "device",
    "control": list(CONTROLS),
    "n_currents": (int, 2, 100_000),
    "max_current": (float, 0.1, 100.0),
    "duration": (float, 50.0, 1e6),
    "dt": (float, 1e-4, 1.0),
    "tau_m": (float, 1.0, 200.0),
    "t_ref": (float, 0.0, 50.0),
    "noise_std": (float, 0.0, 50.0, "right"),   # > 0: the noisy population's rate is checked against theory
}


def simulate(current, *, control: str = "none", **kwargs) -> LIFRun:
    """:func:`~labkit.spiking.lif.simulate_lif`, or under ``control="no_leak"`` the same neuron without its
    leak (the negative control); ``kwargs`` go to ``simulate_lif``."""
    check_value("control", control, list(CONTROLS), "labkit.tour.simulate")
    return simulate_lif(current, leak=control == "none", **kwargs)


def noise_below_rheobase(current, run: LIFRun, params: LIFParams, *, noise_std: float, duration: float,
                         dt: float) -> dict:
    """The noisy neuron's firing below rheobase against the Siegert rate (:func:`lif_rate_noisy`).

    Pools the spikes of every current below rheobase: ``observed`` spikes against ``expected`` = the sum of
    Siegert rates times ``duration``, and ``z`` = (observed - expected) / sqrt(expected), the deviation in
    Poisson standard errors. A renewal process this irregular (CV <= 1) has a count variance at most
    Poisson's, so |z| <= 3 holds with probability >= 99.7% when theory is right. The neurons start at rest, so
    the first ~tau_m of each run fires less than the stationary rate (a bias of order tau_m / duration).
    """
    check_value("noise_std", noise_std, (float, 0, None, "neither"), "noise_below_rheobase")
    current = np.asarray(current, dtype=float)
    below = current < params.rheobase
    if not below.any():
        raise ValueError("current must include at least one value below rheobase to compare the noisy rate.")
    theory = lif_rate_noisy(current[below], noise_std, params, dt=dt)
    observed = float(run.n_spikes[below].sum())
    expected = float(theory.sum() * duration / 1000.0)
    return {"observed": observed, "expected": expected, "z": (observed - expected) / np.sqrt(expected),
            "rate_hz": observed / (below.sum() * duration / 1000.0),
            "theory_hz": expected / (below.sum() * duration / 1000.0), "n_currents": int(below.sum())}
