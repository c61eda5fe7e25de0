"""The paper's grids and printed numbers, and the grids of simulation against theory.

Constants: the settings and values the paper (and Numenta's notebooks) print, which the notebook's
checks and the tests both compare with; the paper's 420-setting grid behind its threshold figure;
and the settings of the agreement grid (simulation against the exact formulas).
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import ParameterError
from labkit.core.progress import progress
from labkit.spiking.sdr_dendrites.checks import int_array, int_scalar
from labkit.spiking.sdr_dendrites.simulate import simulate_false_match, simulate_noise
from labkit.spiking.sdr_dendrites.theory import (
    _log_normal_tail,
    check_control,
    false_match,
    false_negative,
    log_comb,
    log_false_match,
    union_false_match,
)

# The paper's printed numbers (Numenta's sdr_math_neuron_paper notebook, sympy, 15 digits), which the
# notebook's checks and the tests compare with. Each holds the arguments of its formula and the values.
PAPER_FALSE_MATCH = dict(n=10000, a=300, s=24, theta=12, p=8.37584522709849e-13)     # the worked example
PAPER_TABLE_1 = dict(n=100000, a=2000, s=[6, 8, 10, 12, 16, 20, 24, 40, 80, 120, 240],  # Table 1
                     theta=[6, 8, 10, 6, 8, 10, 12, 10, 10, 10, 20],
                     p=[6.35308872941916e-11, 2.52507239284961e-14, 1.00163216178113e-17, 5.29386836275369e-8,
                        2.81724528327272e-10, 1.54192767258720e-12, 8.58694100276592e-15, 4.91541864813209e-9,
                        4.62568448037595e-6, 0.000158799793094937, 1.07990763941591e-7])
# union segments by the paper's expected-size method (sdr_paper_unions.py, n = 1000)
PAPER_UNION = dict(n=1000, a=200, s=25, theta=15, M=[1, 2, 3, 4],
                   p=[1.00140315240769e-5, 0.0473894530292855, 0.501650232353378, 0.899154755459308])
PAPER_FALSE_NEGATIVE = dict(a=128, s=30, theta=[8, 12, 16], v=64,
                            p=[0.000735429456875121, 0.0716985160403564, 0.582501773030327])
# the median false-match probability over the paper's grid for θ = 3..24 (Numenta's plot_optimal_threshold.py)
PAPER_SWEEP_MEDIAN = [0.018156949, 0.002227752, 0.000210173, 1.58e-05, 9.60e-07, 4.83e-08, 2.04e-09, 7.40e-11,
                      2.49e-12, 7.63e-14, 2.05e-15, 4.88e-17, 1.03e-18, 1.95e-20, 3.28e-22, 4.90e-24, 5.32e-26,
                      4.11e-28, 2.68e-30, 2.91e-32, 2.90e-34, 2.60e-36]


def paper_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, a, s) of the 420 settings behind the paper's threshold figure (see paper_threshold_sweep)."""
    ns = np.arange(10000, 200000, 20000)
    sparsity = 0.005 * np.arange(1, 7)
    ss = np.arange(20, 51, 5)
    N, SP, S = np.meshgrid(ns, sparsity, ss, indexing="ij")
    return N.ravel(), np.floor(SP * N + 0.5).astype(np.int64).ravel(), S.ravel()


def paper_threshold_sweep(thetas=range(3, 25), control: str = "none") -> dict[str, np.ndarray]:
    """False-match probability over the paper's grid of settings, summarised per θ.

    The grid behind the paper's optimal-threshold figure (Numenta's ``compute_optimal_threshold.py``
    as of commit 4540e8a, whose medians ``plot_optimal_threshold.py`` lists): n in 10000..190000
    (step 20000), sparsity 0.5%..3% (step 0.5%, a = round(sparsity n)), s in 20..50 (step 5), 420
    settings. Returns the median, mean, min and max P_FM per θ; the paper reads off that the median
    falls below 1e-9 from θ ≈ 10. ``control="normal"``: the negative control's normal approximation.
    """
    thetas = int_array("thetas", list(thetas), 1)
    n, a, s = paper_grid()
    lp = log_false_match(n[None, :], a[None, :], s[None, :], thetas[:, None], control)
    p = np.exp(lp)
    return {"theta": thetas, "median": np.median(p, axis=1), "mean": p.mean(axis=1),
            "min": p.min(axis=1), "max": p.max(axis=1),
            "log10_median": np.median(lp, axis=1) / np.log(10)}


def _log_tails(N, K, draws, bmax: int, control: str = "none") -> np.ndarray:
    """log P(X >= t) for t = 0..bmax+1 (rows) and each column's X ~ Hypergeometric(N, K, draws)
    (``control="normal"``: its normal approximation)."""
    if control == "normal":
        t = np.arange(bmax + 2)[:, None]
        return _log_normal_tail(N[None], K[None], draws[None], t)
    b = np.arange(bmax + 1)[:, None]
    logpmf = log_comb(K[None], b) + log_comb((N - K)[None], draws[None] - b) - log_comb(N, draws)[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        tails = np.logaddexp.accumulate(logpmf[::-1], axis=0)[::-1]
    tails = np.minimum(tails, 0.0)
    tails[0] = 0.0
    return np.vstack([tails, np.full((1, tails.shape[1]), -np.inf)])


def best_threshold_grid(noise, fp_weight: float = 1.0, control: str = "none") -> np.ndarray:
    """The best θ (argmin of fp_weight P_FP + P_FN) for each of the paper's 420 settings.

    ``noise`` is a fraction of the active cells replaced, or a sequence of them; the result has shape
    (420,) or (len(noise), 420). ``control="normal"``: both by the negative control's normal approximation.
    """
    control = check_control(control, "best_threshold_grid")
    levels = np.atleast_1d(np.asarray(noise, dtype=float))
    if levels.ndim != 1 or np.any(~np.isfinite(levels)) or np.any((levels < 0) | (levels > 1)):
        raise ParameterError(f"Parameter 'noise' must be a fraction in [0, 1] (or a list of them), got {noise!r}.")
    n, a, s = paper_grid()
    smax = int(s.max())
    thetas = np.arange(1, smax + 1)[:, None]
    log_fp = np.log(fp_weight) + _log_tails(n, s, a, smax, control)[1:smax + 1]      # P(overlap >= θ), θ = 1..smax
    out = []
    for x in levels:
        v = np.floor(x * a + 0.5).astype(np.int64)
        # miss when b >= s - θ + 1 synapses sit on removed cells, b ~ Hypergeometric(a, s, v)
        tails = _log_tails(a, s, v, smax, control)
        log_fn = tails[np.clip(s[None] - thetas + 1, 0, smax + 1), np.arange(s.size)[None]]
        log_total = np.logaddexp(log_fp, log_fn)
        log_total = np.where(thetas <= s[None], log_total, np.inf)
        out.append(thetas[np.argmin(log_total, axis=0), 0])
    out = np.array(out)
    return out[0] if np.ndim(noise) == 0 else out


# Settings for the agreement grid: (n, a, s, M) for false matches, (n, a, s, v) for false negatives.
AGREEMENT_FALSE_MATCH = [(500, 50, 16, 1), (1000, 200, 25, 1), (2000, 40, 20, 1), (10000, 300, 24, 1),
                         (4000, 400, 32, 1), (1000, 100, 12, 1), (3000, 150, 40, 1), (20000, 400, 20, 1)]
AGREEMENT_UNION = [(1000, 200, 25, 2), (1000, 200, 25, 3), (2000, 100, 20, 4), (5000, 100, 30, 5)]
AGREEMENT_NOISE = [(1000, 128, 30, 64), (2000, 40, 20, 16), (1000, 64, 24, 32), (5000, 200, 40, 50)]


def _pick_thetas(p: np.ndarray, thetas: np.ndarray, p_min: float, per_config: int) -> np.ndarray:
    ok = thetas[(p >= p_min) & (p <= 1 - p_min)]
    if ok.size <= per_config:
        return ok
    return ok[np.unique(np.round(np.linspace(0, ok.size - 1, per_config)).astype(int))]


def agreement_grid(n_trials: int, n_trials_union: int, *, seed: int = 0, level: float = 0.99,
                   p_min: float = 1e-4, min_events: float = 30.0, per_config: int = 2,
                   device: str | torch.device = "cpu", control: str = "none") -> list[dict]:
    """Simulate every setting of the agreement grid and compare with the exact probability.

    A setting is a configuration and one threshold θ. For each of the 16 configurations, up to
    ``per_config`` thresholds are checked whose exact probability ``p`` lies in [p_floor, 1 - p_floor],
    ``p_floor = max(p_min, min_events / trials)`` (a probability the simulation would see fewer than
    ``min_events`` times has no power to disagree). **Each setting has its own simulation** (its own
    seed), so the settings are independent and the number outside their intervals is binomial:
    with a correct simulator each falls outside its ``level`` interval with probability at most
    1 - level. Each row holds the exact value, the estimate, its Clopper–Pearson interval, whether it
    holds the exact value (``inside``), and the same for a family-wise interval (Bonferroni: level
    1 - (1 - level) / number of rows, ``inside_family``), which a correct simulator fails anywhere
    with probability at most 1 - level. ``control="normal"``: the "exact" probabilities (and so the
    thresholds chosen) come from the negative control's normal approximation; the simulation is unchanged.
    """
    control = check_control(control, "agreement_grid")
    n_trials = int_scalar("n_trials", n_trials, 1)
    n_trials_union = int_scalar("n_trials_union", n_trials_union, 1)
    planned = []                                  # (kind, (n, a, s, x), exact p over θ, θ, trials)
    configs = [("false match", c) for c in AGREEMENT_FALSE_MATCH] + [("union", c) for c in AGREEMENT_UNION] \
        + [("false negative", c) for c in AGREEMENT_NOISE]
    for kind, (n, a, s, x) in configs:
        thetas = np.arange(0, s + 2)
        trials = n_trials_union if kind == "union" else n_trials
        p = (false_negative(a, s, thetas, x, control) if kind == "false negative"
             else union_false_match(n, a, s, thetas, x, control=control))
        for th in _pick_thetas(p, thetas, max(p_min, min_events / trials), per_config):
            planned.append((kind, (n, a, s, x), float(p[th]), int(th), trials))
    family = 1.0 - (1.0 - level) / max(len(planned), 1)
    rows = []
    for k, (kind, (n, a, s, x), exact, th, trials) in enumerate(progress(planned, desc="agreement grid")):
        if kind == "false negative":
            sample = simulate_noise(n, a, s, x, trials, seed=seed + k, device=device)
            est, event = float(sample.below(th)), "below"
        else:
            sample = simulate_false_match(n, a, s, trials, M=x, seed=seed + k, device=device)
            est, event = float(sample.at_least(th)), "at_least"
        lo, hi = sample.interval(th, level, event)
        flo, fhi = sample.interval(th, family, event)
        extra = f"v={x}" if kind == "false negative" else f"M={x}"
        rows.append(dict(kind=kind, label=f"n={n}, a={a}, s={s}, {extra}, θ={th}", exact=exact, estimate=est,
                         low=float(lo), high=float(hi), inside=bool(lo <= exact <= hi),
                         inside_family=bool(flo <= exact <= fhi), n_trials=sample.n_trials))
    return rows


def false_match_sweeps(n_trials: int, *, seed: int = 0, device: str | torch.device = "cpu",
                       level: float = 0.99, control: str = "none") -> list[dict]:
    """Exact P_FM and simulated estimates against n, a, s and θ: four panels of data for
    :func:`labkit.spiking.sdr_dendrites.figures.theory_vs_sim_panels` (one simulation per (n, a, s)
    gives every θ). ``control="normal"``: the lines from the negative control's normal approximation."""
    control = check_control(control, "false_match_sweeps")

    def theory(n, a, s, theta):
        return false_match(n, a, s, theta, control)

    k = iter(range(10_000))

    def sim(n, a, s):
        return simulate_false_match(n, a, s, n_trials, seed=seed + next(k), device=device)

    def mc(samples, x, thetas):
        est = np.array([smp.at_least(t) for smp, t in zip(samples, thetas, strict=True)], dtype=float)
        lo, hi = zip(*(smp.interval(t, level) for smp, t in zip(samples, thetas, strict=True)), strict=True)
        return (np.asarray(x), est, np.array(lo, dtype=float), np.array(hi, dtype=float))

    panels = []
    # against n (a = 64, s = 16): the paper's "importance of large n"
    n_line = np.unique(np.round(np.logspace(np.log10(300), np.log10(20000), 40)).astype(int))
    n_mc = np.array([300, 600, 1200, 2500, 5000, 10000, 20000])
    smp = [sim(n, 64, 16) for n in n_mc]
    panels.append(dict(title="against population size n (a=64, s=16)", xaxis="cells n", log_x=True, curves=[
        dict(name=f"θ={t}", x=n_line, y=theory(n_line, 64, 16, t), mc=mc(smp, n_mc, [t] * len(n_mc)))
        for t in (4, 6, 8)]))
    # against a (n = 2000, s = 20)
    a_line = np.arange(5, 401, 5)
    a_mc = np.array([20, 50, 100, 200, 300, 400])
    smp = [sim(2000, a, 20) for a in a_mc]
    panels.append(dict(title="against active cells a (n=2000, s=20)", xaxis="active cells a", curves=[
        dict(name=f"θ={t}", x=a_line, y=theory(2000, a_line, 20, t), mc=mc(smp, a_mc, [t] * len(a_mc)))
        for t in (6, 10)]))
    # against s at theta = s/2 (n = 10000, a = 300): the paper's "small subsample"
    s_line = np.arange(2, 31)
    s_mc = np.arange(2, 17, 2)
    smp = [sim(10000, 300, s) for s in s_mc]
    panels.append(dict(title="against synapses s, θ = s/2 (n=10000, a=300)", xaxis="synapses s", curves=[
        dict(name="θ=⌊s/2⌋", x=s_line, y=theory(10000, 300, s_line, s_line // 2), mc=mc(smp, s_mc, s_mc // 2))]))
    # against theta
    curves = []
    for n, a, s in ((1000, 200, 25), (10000, 300, 24)):
        th = np.arange(1, s + 1)
        smp = sim(n, a, s)
        curves.append(dict(name=f"n={n}, a={a}, s={s}", x=th, y=theory(n, a, s, th),
                           mc=mc([smp] * len(th), th, th)))
    panels.append(dict(title="against the threshold θ", xaxis="NMDA threshold θ", curves=curves))
    return panels
