"""The experiments of the notebook: plain, STDP and NALSM liquids compared on one data set, accuracy
against liquid size, and a small liquid for the explorer.

The data sets come from :mod:`labkit.data.datasets`; here they are scaled as NALSM scales MNIST
(:func:`~labkit.spiking.encoders.nalsm_normalize`), the liquid's input statistics.

The negative control (``control`` of :func:`compare_liquids`, :data:`CONTROLS`) replaces the method with a
null: ``"no_astrocyte"`` self-organises the NALSM liquid with its astrocyte switched off (plain STDP, A = eta),
``"shuffled_labels"`` trains every liquid's readout on permuted training labels (the raw-input baseline keeps
the true ones), ``"no_astrocyte_shuffled_labels"`` does both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit.core.params import ParameterError, check_args, check_value
from labkit.core.progress import progress
from labkit.data.datasets import load_digits, load_mnist1d, split_indices
from labkit.spiking.encoders import nalsm_normalize, split_signed
from labkit.spiking.liquid_state_machine.model import KINDS, Liquid, LiquidConfig
from labkit.spiking.plasticity import AstrocyteParams, STDPParams

CONTROLS = ("none", "no_astrocyte", "shuffled_labels", "no_astrocyte_shuffled_labels")
END_FRACTION = 1 / 3   # the branching factor "at the end" is the mean of the probes in the last third of plasticity


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


def readout_correct(train_x, train_y, test_x, test_y) -> np.ndarray:
    """Per test sample, whether a linear readout gets it right: scikit-learn's RidgeClassifierCV
    (regularisation chosen by leave-one-out on the training set, closed form, so the same features give the
    same readout) on standardised features."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-2, 4, 13)))
    clf.fit(np.asarray(train_x, dtype=np.float64), train_y)
    return clf.predict(np.asarray(test_x, dtype=np.float64)) == np.asarray(test_y)


def readout_accuracy(train_x, train_y, test_x, test_y) -> float:
    """Test accuracy of the linear readout of :func:`readout_correct`."""
    return float(readout_correct(train_x, train_y, test_x, test_y).mean())


def paired_difference(correct_a, correct_b, z: float = 1.959964) -> tuple[float, float, float]:
    """Accuracy of A minus accuracy of B on the same test samples, with its normal-approximation confidence
    interval (95% by default) from the per-sample differences: ``(difference, low, high)``. Deterministic,
    and it counts only the samples the two readouts disagree on, as McNemar's test does."""
    d = np.asarray(correct_a, dtype=float) - np.asarray(correct_b, dtype=float)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"correct_a and correct_b must be equal-length 1-D arrays of at least 2 samples, got shape "
                         f"{d.shape}.")
    half = z * d.std(ddof=1) / np.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def end_of_run(history: dict, fraction: float = END_FRACTION) -> float:
    """The mean branching factor of the probes in the last ``fraction`` of the plasticity phase (at least the
    last probe): where the liquid settled, not where its last probe happened to fall."""
    samples, bf = np.asarray(history["samples"], dtype=float), np.asarray(history["bf"], dtype=float)
    if not bf.size:
        return float("nan")
    late = samples >= samples.max() * (1 - fraction)
    return float(bf[late].mean())


@dataclass
class Comparison:
    """What :func:`compare_liquids` returns for one data set."""

    liquids: dict            # kind -> Liquid (W_INI for stdp / nalsm)
    histories: dict          # kind -> organize() history (plain: its constant branching factor)
    bf: dict                 # kind -> branching factor of the presentation runs of the probe samples
    accuracy: dict           # kind -> readout test accuracy; "raw" -> the same readout on the raw inputs
    correct: dict            # kind (and "raw") -> (n_test,) whether the readout got each test sample right
    bf_end: dict             # kind -> mean branching factor over the last third of plasticity (end_of_run)
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
                    device="cpu", control: str = "none") -> Comparison:
    """Build one liquid, derive the plain / STDP-only / NALSM versions, and score their readouts.

    x: (S, M) features in [0, 1] (scaled with :func:`nalsm_normalize` for NALSM's input statistics),
    rate-coded at up to ``max_rate`` Hz and presented for ``n_steps`` ms each. The plasticity phase
    shows ``n_plasticity`` random training samples for 20 ms each (the official code: 50,000);
    ``astro_gain`` is the astrocyte's w_A, ``eta`` the potentiation rate. The branching factor is
    measured on the presentation runs of ``probe_size`` test samples, also every ``probe_every``
    plasticity samples. ``plastic_presentation``: keep plasticity on during the presentations as the
    official code does (:meth:`Liquid.present`; several times slower on a CPU); by default the
    presentations use the self-organised weights frozen. ``control``: a negative control of
    :data:`CONTROLS` (module docstring).
    """
    check_value("control", control, list(CONTROLS), "compare_liquids")
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
    out = Comparison(liquids={}, histories={}, bf={}, accuracy={}, correct={}, bf_end={}, rate_hz={},
                     input_per_ms=float(enc.float().sum()) / (len(x) * n_steps),
                     liquid_per_ms={}, raster_input=probe[:, 0].cpu().numpy(), raster_label=int(y[probe_idx[0]]),
                     settings=dict(n_steps=n_steps, n_plasticity=n_plasticity, astro_gain=astro_gain, eta=eta,
                                   n=base.n))
    out.correct["raw"] = readout_correct(x[tr], y[tr], x[te], y[te])
    out.accuracy["raw"] = float(out.correct["raw"].mean())
    no_astrocyte = control in ("no_astrocyte", "no_astrocyte_shuffled_labels")
    y_readout = y[tr]
    if control in ("shuffled_labels", "no_astrocyte_shuffled_labels"):   # the null readout: labels permuted
        y_readout = np.random.default_rng(seed + 7).permutation(y_readout)
    for kind in kinds:
        liq = base.copy()

        plastic_kind = "stdp" if no_astrocyte and kind == "nalsm" else kind   # what the liquid's plasticity is
        pkind = plastic_kind if plastic_presentation else "plain"

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
            hist = liq.organize(plast, plastic_kind, stdp=stdp, astro=astro, probe=probe_bf,
                                probe_every=probe_every, seed=seed + 5)
        counts, _ = liq.present(enc, pkind, stdp=stdp, astro=astro, batch_size=batch_size, seed=seed + 6,
                                progress_desc=f"{kind} presentations")
        rec = probe_run(liq)
        out.bf[kind] = liq.branching_factor(rec)
        out.raster[kind] = rec.dense()[0].cpu().numpy()
        out.rate_hz[kind] = float(counts.sum()) / (counts.size * n_steps) * 1000.0
        out.liquid_per_ms[kind] = float(counts.sum(1).mean()) / n_steps
        out.correct[kind] = readout_correct(counts[tr], y_readout, counts[te], y[te])
        out.accuracy[kind] = float(out.correct[kind].mean())
        out.bf_end[kind] = end_of_run(hist) if hist["bf"] else out.bf[kind]
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


def explore_astrocyte(x, *, astro_gain: float = 0.015, max_rate: float = 1000.0, shape=(10, 10, 10),
                      n_plasticity: int = 1000, n_steps: int = 100, n_probe: int = 8, seed: int = 0,
                      device="cpu") -> dict:
    """A NALSM for the explorer: self-organise with ``astro_gain`` on inputs coded at up to ``max_rate`` Hz,
    then return the raster of one probe sample, the branching factor and the rate.

    The liquid is the notebook's size (1,000 neurons): the astrocyte matches the liquid's total spike count to
    the input's, so a smaller liquid must fire faster per neuron and stays supercritical at the same gain
    (125 neurons after 60 samples: sigma ~ 1.5). 1,000 samples take the 1,000-neuron liquid most of the way
    (seed 0, gain 0.15: 1.33 -> ~1.05; it then creeps down by a few hundredths over thousands of samples)."""
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
