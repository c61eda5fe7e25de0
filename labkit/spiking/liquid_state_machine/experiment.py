"""The experiments of the notebook: plain, STDP and NALSM liquids compared on one data set, accuracy
against liquid size, and a small liquid for the explorer.

The data sets come from :mod:`labkit.data.datasets`; here they are scaled as NALSM scales MNIST
(:func:`~labkit.spiking.encoders.nalsm_normalize`), the liquid's input statistics.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit.core.params import ParameterError, check_args
from labkit.core.progress import progress
from labkit.data.datasets import load_digits, load_mnist1d, split_indices
from labkit.spiking.encoders import nalsm_normalize, split_signed
from labkit.spiking.liquid_state_machine.model import KINDS, Liquid, LiquidConfig
from labkit.spiking.plasticity import AstrocyteParams, STDPParams


def digits_dataset():
    """scikit-learn's 8x8 handwritten digits (1,797 samples), scaled as NALSM scales MNIST
    (:func:`~labkit.spiking.encoders.nalsm_normalize`), and labels."""
    x, y = load_digits()
    return nalsm_normalize(x), y


def mnist1d_dataset(n_samples: int = 2000, seed: int = 0):
    """MNIST-1D (:func:`labkit.data.datasets.load_mnist1d`): 40-point signals split into two
    non-negative channels (positive and negative parts, 80 inputs) and scaled as NALSM scales MNIST."""
    x, y = load_mnist1d(n_samples, seed)
    return nalsm_normalize(split_signed(x)), y


def readout_accuracy(train_x, train_y, test_x, test_y) -> float:
    """Test accuracy of a linear readout: scikit-learn's RidgeClassifierCV (regularisation chosen by
    leave-one-out on the training set, closed form, so the same features give the same readout)
    on standardised features."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-2, 4, 13)))
    clf.fit(np.asarray(train_x, dtype=np.float64), train_y)
    return float(clf.score(np.asarray(test_x, dtype=np.float64), test_y))


@dataclass
class Comparison:
    """What :func:`compare_liquids` returns for one data set."""

    liquids: dict            # kind -> Liquid (W_INI for stdp / nalsm)
    histories: dict          # kind -> organize() history (plain: its constant branching factor)
    bf: dict                 # kind -> branching factor of the presentation runs of the probe samples
    accuracy: dict           # kind -> readout test accuracy; "raw" -> the same readout on the raw inputs
    rate_hz: dict            # kind -> mean liquid rate over all presentations
    input_per_ms: float      # input spikes per ms (all channels) during the presentations
    liquid_per_ms: dict      # kind -> liquid spikes per ms during the presentations
    raster: dict = field(default_factory=dict)  # kind -> (T, N) spikes of probe sample 0
    raster_input: np.ndarray | None = None
    raster_label: int | None = None
    settings: dict = field(default_factory=dict)


def compare_liquids(x, y, *, shape=(10, 10, 10), n_steps: int = 100, n_plasticity: int = 500,
                    astro_gain: float = 0.015, eta: float = 0.15, max_rate: float = 1000.0,
                    probe_size: int = 20, probe_every: int = 100, test_fraction: float = 1 / 3,
                    kinds=KINDS, plastic_presentation: bool = False, batch_size: int = 300, seed: int = 0,
                    device="cpu") -> Comparison:
    """Build one liquid, derive the plain / STDP-only / NALSM versions, and score their readouts.

    x: (S, M) features in [0, 1] (scaled with :func:`nalsm_normalize` for NALSM's input statistics),
    rate-coded at up to ``max_rate`` Hz and presented for ``n_steps`` ms each. The plasticity phase
    shows ``n_plasticity`` random training samples for 20 ms each (the official code: 50,000);
    ``astro_gain`` is the astrocyte's w_A, ``eta`` the potentiation rate. The branching factor is
    measured on the presentation runs of ``probe_size`` test samples, also every ``probe_every``
    plasticity samples. ``plastic_presentation``: keep plasticity on during the presentations as the
    official code does (:meth:`Liquid.present`; several times slower on a CPU); by default the
    presentations use the self-organised weights frozen.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) != len(y) or x.shape[1] < 1:
        raise ValueError(f"x must be (samples, inputs) with one label per sample in y, got shapes {x.shape} and "
                         f"{y.shape}.")
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ParameterError(f"Parameter 'kinds' of compare_liquids must be a non-empty selection of {KINDS}, "
                             f"got {list(kinds)}.")
    check_args("compare_liquids", dict(n_steps=n_steps, probe_size=probe_size, n_plasticity=n_plasticity),
               {"n_steps": (int, 1, None), "probe_size": (int, 1, None), "n_plasticity": (int, 0, None)})
    if n_steps <= 2 * (25 + 4):
        raise ParameterError(f"Parameter 'n_steps' of compare_liquids must exceed 58 ms so that the branching factor's "
                             f"25 ms margins and 4 ms windows fit, got {n_steps}.")
    tr, te = split_indices(len(x), test_fraction, seed)
    stdp = STDPParams(eta=eta)
    astro = AstrocyteParams(gain=astro_gain)
    base = Liquid(x.shape[1], LiquidConfig(shape=tuple(shape)), seed=seed, device=device)
    enc = base.encode(x, n_steps, max_rate=max_rate, seed=seed + 1)
    probe_idx = te[:probe_size]
    probe = enc[:, probe_idx]
    rng = np.random.default_rng(seed + 3)
    plast = base.encode(x[tr[rng.integers(0, len(tr), max(n_plasticity, 1))]], 20, max_rate=max_rate, seed=seed + 4)
    out = Comparison(liquids={}, histories={}, bf={}, accuracy={}, rate_hz={},
                     input_per_ms=float(enc.float().sum()) / (len(x) * n_steps),
                     liquid_per_ms={}, raster_input=probe[:, 0].cpu().numpy(), raster_label=int(y[probe_idx[0]]),
                     settings=dict(n_steps=n_steps, n_plasticity=n_plasticity, astro_gain=astro_gain, eta=eta,
                                   n=base.n))
    out.accuracy["raw"] = readout_accuracy(x[tr], y[tr], x[te], y[te])
    for kind in kinds:
        liq = base.copy()

        pkind = kind if plastic_presentation else "plain"

        def probe_run(liquid, pkind=pkind):
            """The spikes of the probe samples' presentations (they give the branching factor)."""
            return liquid.present(probe, pkind, stdp=stdp, astro=astro, keep=probe_size, batch_size=probe_size,
                                  seed=seed + 10_000)[1]

        def probe_bf(liquid, probe_run=probe_run):
            return liquid.branching_factor(probe_run(liquid))

        if kind == "plain" or n_plasticity == 0:
            bf0 = probe_bf(liq)
            pts = list(range(0, n_plasticity + 1, probe_every)) if probe_every else [0]
            hist = {"samples": pts, "bf": [bf0] * len(pts), "rate_hz": [], "liquid_per_ms": [], "input_per_ms": [],
                    "astro": []}
        else:
            hist = liq.organize(plast, kind, stdp=stdp, astro=astro, probe=probe_bf, probe_every=probe_every,
                                seed=seed + 5)
        counts, _ = liq.present(enc, pkind, stdp=stdp, astro=astro, batch_size=batch_size, seed=seed + 6,
                                progress_desc=f"{kind} presentations")
        rec = probe_run(liq)
        out.bf[kind] = liq.branching_factor(rec)
        out.raster[kind] = rec.dense()[0].cpu().numpy()
        out.rate_hz[kind] = float(counts.sum()) / (counts.size * n_steps) * 1000.0
        out.liquid_per_ms[kind] = float(counts.sum(1).mean()) / n_steps
        out.accuracy[kind] = readout_accuracy(counts[tr], y[tr], counts[te], y[te])
        out.histories[kind], out.liquids[kind] = hist, liq
    return out


def size_sweep(x, y, shapes, *, kinds=("plain", "nalsm"), n_steps: int = 100, n_plasticity: int = 500,
               astro_gain: float = 0.015, test_fraction: float = 1 / 3, batch_size: int = 300, seed: int = 0,
               device="cpu") -> dict:
    """Readout accuracy against liquid size: ``{"n": [...], kind: [...], "raw": float}``, one
    :func:`compare_liquids` per grid shape (branching-factor probes off)."""
    out = {"n": [], "raw": None, **{k: [] for k in kinds}}
    for shape in progress(list(shapes), desc="liquid sizes"):
        c = compare_liquids(x, y, shape=tuple(shape), n_steps=n_steps, n_plasticity=n_plasticity,
                            astro_gain=astro_gain, probe_every=0, test_fraction=test_fraction, kinds=kinds,
                            batch_size=batch_size, seed=seed, device=device)
        out["n"].append(int(np.prod(shape)))
        out["raw"] = c.accuracy["raw"]
        for k in kinds:
            out[k].append(c.accuracy[k])
    return out


def explore_astrocyte(x, *, astro_gain: float = 0.015, max_rate: float = 1000.0, shape=(5, 5, 5),
                      n_plasticity: int = 60, n_steps: int = 100, n_probe: int = 8, seed: int = 0,
                      device="cpu") -> dict:
    """A small NALSM for the explorer: self-organise with ``astro_gain`` on inputs coded at up to
    ``max_rate`` Hz, then return the raster of one probe sample, the branching factor and the rate."""
    x = np.asarray(x, dtype=np.float32)
    liq = Liquid(x.shape[1], LiquidConfig(shape=tuple(shape)), seed=seed, device=device)
    rng = np.random.default_rng(seed)
    plast = liq.encode(x[rng.integers(0, len(x), n_plasticity)], 20, max_rate=max_rate, seed=seed + 1)
    if n_plasticity:
        liq.organize(plast, "nalsm", astro=AstrocyteParams(gain=astro_gain), seed=seed + 2)
    probe = liq.encode(x[rng.integers(0, len(x), n_probe)], n_steps, max_rate=max_rate, seed=seed + 3)
    _, rec = liq.run(probe, keep=n_probe, seed=seed + 4)
    return {"raster": rec.dense()[0].cpu().numpy(), "bf": liq.branching_factor(rec), "rate_hz": rec.rate_hz(),
            "input_per_ms": float(probe.float().sum()) / (n_probe * n_steps)}
