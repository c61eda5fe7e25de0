"""Tests of labkit.spiking.sdr_dendrites: exact formulas against brute-force enumeration and exact integer
arithmetic, the paper's printed numbers, edge cases, bad input, and the Monte-Carlo simulator against
the formulas."""
from fractions import Fraction
from itertools import combinations, product
from math import comb, log

import numpy as np
import pytest
from scipy import stats

from labkit.spiking import sdr_dendrites as sdr
from labkit.spiking.sdr_dendrites import grids

# ------------------------------------------------------------------ brute-force enumeration

def brute_false_match(n, a, s, theta):
    """Fraction of (pattern, segment) pairs with overlap >= theta, by enumerating all of them."""
    hits = total = 0
    for seg in combinations(range(n), s):
        seg = set(seg)
        for pat in combinations(range(n), a):
            total += 1
            hits += len(seg.intersection(pat)) >= theta
    return Fraction(hits, total)


def brute_union(n, a, s, M, theta):
    hits = total = 0
    subsets = list(combinations(range(n), s))
    pats = list(combinations(range(n), a))
    for segs in product(subsets, repeat=M):
        union = set().union(*segs)
        for pat in pats:
            total += 1
            hits += len(union.intersection(pat)) >= theta
    return Fraction(hits, total)


def brute_noise(a, s, v, theta):
    """Miss rate: segment = s of the pattern's a cells, v of the a cells removed (new cells never on the segment)."""
    miss = total = 0
    for seg in combinations(range(a), s):
        for off in combinations(range(a), v):
            total += 1
            miss += len(set(seg) - set(off)) < theta
    return Fraction(miss, total)


def exact_tail(n, a, s, theta):
    return Fraction(sum(comb(s, b) * comb(n - s, a - b) for b in range(theta, s + 1)), comb(n, a))


@pytest.mark.parametrize("n,a,s", [(8, 3, 3), (9, 4, 3), (7, 5, 4), (6, 2, 4)])   # last: s > a
def test_false_match_equals_enumeration(n, a, s):
    for theta in range(0, s + 2):
        want = float(brute_false_match(n, a, s, theta))
        assert sdr.false_match(n, a, s, theta) == pytest.approx(want, rel=1e-12, abs=0)


def test_union_equals_enumeration():
    for theta in range(0, 6):
        got = sdr.union_false_match(7, 3, 2, theta, 2)
        assert got == pytest.approx(float(brute_union(7, 3, 2, 2, theta)), rel=1e-12, abs=0)
    # three patterns
    for theta in (1, 2, 3):
        want = float(brute_union(6, 2, 2, 3, theta))
        assert sdr.union_false_match(6, 2, 2, theta, 3) == pytest.approx(want, rel=1e-12)


def test_union_size_distribution_enumerated():
    n, s, M = 6, 2, 3
    sizes = [len(set().union(*segs)) for segs in product(combinations(range(n), s), repeat=M)]
    want = np.bincount(sizes, minlength=min(n, M * s) + 1) / len(sizes)
    np.testing.assert_allclose(sdr.union_size_pmf(n, s, M), want, rtol=1e-12, atol=1e-15)
    p = sdr.union_size_pmf(1000, 25, 3)
    assert (np.arange(p.size) * p).sum() == pytest.approx(sdr.expected_union_size(1000, 25, 3), rel=1e-10)


@pytest.mark.parametrize("a,s,v", [(6, 3, 2), (7, 4, 3), (5, 5, 1), (6, 2, 0)])
def test_false_negative_equals_enumeration(a, s, v):
    for theta in range(0, s + 2):
        assert sdr.false_negative(a, s, theta, v) == pytest.approx(float(brute_noise(a, s, v, theta)), rel=1e-12, abs=0)


def test_tiny_probabilities_against_exact_integers():
    # log P for probabilities near and far below 1e-300, against exact big-integer sums
    for n, a, s, theta in [(100000, 2000, 200, 200), (10000, 300, 150, 100), (100000, 2000, 120, 100),
                           (20000, 400, 60, 40)]:
        want = exact_tail(n, a, s, theta)
        lw = log(want.numerator) - log(want.denominator)
        assert sdr.log_false_match(n, a, s, theta) == pytest.approx(lw, rel=1e-10)
    tiny = float(sdr.false_match(100000, 2000, 170, 170))          # about 1e-289, still a float
    assert 1e-300 < tiny < 1e-280
    want = exact_tail(100000, 2000, 170, 170)
    assert tiny == pytest.approx(want.numerator / want.denominator, rel=1e-8)


def test_paper_numbers():
    # Numenta's sdr_math_neuron_paper notebook (sympy, 15 digits), as the notebook's checks read them
    fm, t1, fn = sdr.PAPER_FALSE_MATCH, sdr.PAPER_TABLE_1, sdr.PAPER_FALSE_NEGATIVE
    assert sdr.false_match(fm["n"], fm["a"], fm["s"], fm["theta"]) == pytest.approx(fm["p"], rel=1e-9)
    assert fm["p"] == 8.37584522709849e-13
    np.testing.assert_allclose(sdr.false_match(t1["n"], t1["a"], t1["s"], t1["theta"]), t1["p"], rtol=1e-9)
    np.testing.assert_allclose(sdr.false_negative(fn["a"], fn["s"], fn["theta"], fn["v"]), fn["p"], rtol=1e-9)
    # union, the paper's expected-size method (sdr_paper_unions.py, n = 1000)
    un = sdr.PAPER_UNION
    got = [float(sdr.union_false_match(un["n"], un["a"], un["s"], un["theta"], M, method="expected")) for M in un["M"]]
    np.testing.assert_allclose(got, un["p"], rtol=1e-9)
    assert sdr.union_false_match(1000, 200, 25, 15, 1) == pytest.approx(un["p"][0], rel=1e-9)
    assert 0.45 < sdr.union_false_match(1000, 200, 25, 15, 3) < 0.55


def test_paper_threshold_sweep():
    sw = sdr.paper_threshold_sweep()
    assert list(sw["theta"]) == list(range(3, 25)) and len(sdr.PAPER_SWEEP_MEDIAN) == 22
    np.testing.assert_allclose(sw["median"][:8], sdr.PAPER_SWEEP_MEDIAN[:8], rtol=5e-3)
    assert sw["theta"][np.argmax(sw["median"] <= 1e-9)] == 10
    n, a, s = sdr.paper_grid()
    assert n.size == a.size == s.size == 420


def test_normal_control_is_the_central_limit_tail_and_contradicts_the_paper():
    """The negative control: every probability by the normal approximation of the overlap (same mean and
    variance, continuity correction). It must miss the paper's numbers by orders of magnitude in the tail
    and move the threshold conclusions, while the exact functions are unchanged by default."""
    n, a, s, th = 10000, 300, 24, 12
    mean, var = s * a / n, s * (a / n) * (1 - a / n) * (n - s) / (n - 1)
    want = stats.norm.sf((th - 0.5 - mean) / np.sqrt(var))
    assert sdr.false_match(n, a, s, th, control="normal") == pytest.approx(want, rel=1e-9)
    assert sdr.false_match(n, a, s, th) == pytest.approx(sdr.PAPER_FALSE_MATCH["p"], rel=1e-9)
    assert sdr.false_match(n, a, s, th, control="normal") < 1e-6 * sdr.PAPER_FALSE_MATCH["p"]
    assert sdr.false_match(n, a, s, 0, control="normal") == 1.0 and sdr.false_match(n, a, s, 25, "normal") == 0.0
    assert sdr.false_negative(40, 20, 0, 10, "normal") == 0.0 and sdr.false_negative(40, 20, 21, 0, "normal") == 1.0
    fn = sdr.PAPER_FALSE_NEGATIVE
    assert not np.allclose(sdr.false_negative(fn["a"], fn["s"], fn["theta"], fn["v"], "normal"), fn["p"], rtol=0.1)
    un = sdr.PAPER_UNION
    got = [float(sdr.union_false_match(un["n"], un["a"], un["s"], un["theta"], M, "expected", "normal"))
           for M in un["M"]]
    assert not np.allclose(got, un["p"], rtol=0.1)
    sw = sdr.paper_threshold_sweep(control="normal")
    assert sw["theta"][np.argmax(sw["median"] <= 1e-9)] < 10
    assert np.median(sdr.best_threshold_grid(0.3, control="normal")) < 8 <= np.median(sdr.best_threshold_grid(0.3))
    assert sdr.optimal_threshold(10000, 200, 32, 50, control="normal").params["control"] == "normal"


def test_edge_cases():
    assert sdr.false_match(100, 10, 5, 0) == 1.0
    assert sdr.false_match(100, 10, 5, 6) == 0.0                    # theta > s
    assert sdr.false_match(50, 50, 5, 5) == 1.0                     # a = n: every synapse is active
    assert sdr.false_match(50, 50, 5, 6) == 0.0
    assert sdr.false_match(100, 3, 10, 4) == 0.0                    # s > a: overlap at most a
    assert sdr.false_match(100, 0, 10, 1) == 0.0
    assert sdr.false_negative(40, 20, 0, 10) == 0.0                 # theta = 0 never misses
    assert sdr.false_negative(40, 20, 21, 0) == 1.0                 # theta > s always misses
    assert sdr.false_negative(40, 20, 20, 0) == 0.0                 # no noise, theta = s
    assert sdr.union_false_match(100, 10, 5, 0, 3) == 1.0
    assert sdr.log_false_match(100, 10, 5, 6) == -np.inf
    assert sdr.false_match(np.array([100, 200]), 10, 5, np.array([[1], [2]])).shape == (2, 2)


@pytest.mark.parametrize("call, name", [
    (lambda: sdr.false_match(100, 101, 5, 2), "a"),
    (lambda: sdr.false_match(100, 10, 101, 2), "s"),
    (lambda: sdr.false_match(-5, 10, 5, 2), "n"),
    (lambda: sdr.false_match(100, 10.5, 5, 2), "a"),
    (lambda: sdr.false_match(100, 10, 5, -1), "theta"),
    (lambda: sdr.false_match(100, True, 5, 1), "a"),
    (lambda: sdr.false_negative(10, 12, 5, 2), "s"),
    (lambda: sdr.false_negative(10, 5, 5, 11), "v"),
    (lambda: sdr.union_false_match(100, 10, 5, 2, 0), "M"),
    (lambda: sdr.union_false_match(100, 10, 5, 2, 2, method="mean"), "method"),
    (lambda: sdr.noise_count(10, 1.5), "noise"),
    (lambda: sdr.simulate_false_match(100, 10, 5, 0), "n_trials"),
    (lambda: sdr.simulate_noise(100, 95, 5, 10, 100), "v"),
    (lambda: sdr.false_match(100, 10, 5, 2, control="binomial"), "control"),
    (lambda: sdr.best_threshold_grid(0.2, control="untrained"), "control"),
    (lambda: sdr.agreement_grid(1000, 1000, control=None), "control"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=rf"^Parameter {name!r}( of \w+)? must"):
        call()


# ------------------------------------------------------------------ the simulator

def chi2_pvalue(counts, pmf, n_trials):
    e = pmf * n_trials
    keep = e >= 5
    obs = counts[:len(pmf)]
    rest = (obs[~keep].sum() - e[~keep].sum()) ** 2 / max(e[~keep].sum(), 1e-9)     # the pooled small bins
    stat = np.sum((obs[keep] - e[keep]) ** 2 / e[keep]) + rest
    return stats.chi2.sf(stat, keep.sum())


def test_simulator_histograms_match_enumeration():
    # small sizes where the exact distributions were enumerated above; p > 1e-4 for a correct simulator
    r = sdr.simulate_false_match(9, 4, 3, 40000, seed=1)
    pmf = np.array([float(brute_false_match(9, 4, 3, b) - brute_false_match(9, 4, 3, b + 1)) for b in range(4)])
    assert r.counts.sum() == 40000
    assert chi2_pvalue(r.counts, pmf, 40000) > 1e-4
    r = sdr.simulate_false_match(7, 3, 2, 40000, M=2, seed=2)
    pmf = np.array([float(brute_union(7, 3, 2, 2, b) - brute_union(7, 3, 2, 2, b + 1)) for b in range(4)])
    assert chi2_pvalue(r.counts, pmf, 40000) > 1e-4
    r = sdr.simulate_noise(20, 6, 3, 2, 40000, seed=3)
    pmf = np.array([float(brute_noise(6, 3, 2, c + 1) - brute_noise(6, 3, 2, c)) for c in range(4)])
    assert chi2_pvalue(r.counts, pmf, 40000) > 1e-4


def test_simulator_larger_sizes_match_formulas():
    r = sdr.simulate_false_match(1000, 200, 25, 300000, seed=4)
    assert chi2_pvalue(r.counts, sdr.overlap_pmf(1000, 200, 25), 300000) > 1e-4
    r = sdr.simulate_false_match(1000, 200, 25, 30000, M=3, seed=5)
    assert chi2_pvalue(r.counts, sdr.union_overlap_pmf(1000, 200, 25, 3), 30000) > 1e-4
    r = sdr.simulate_noise(1000, 128, 30, 64, 200000, seed=6)
    assert chi2_pvalue(r.counts, sdr.noise_overlap_pmf(128, 30, 64), 200000) > 1e-4
    lo, hi = r.interval(12, 0.999, event="below")
    assert lo <= sdr.false_negative(128, 30, 12, 64) <= hi


def test_all_pairs_counts_have_binomial_variance():
    # comparisons that share patterns or segments must be uncorrelated: the spread of the estimate over
    # seeds matches p(1-p)/N (dispersion statistic ~ chi2 with R degrees of freedom)
    n, a, s, theta, N, R = 30, 8, 6, 3, 3000, 60
    p = float(sdr.false_match(n, a, s, theta))
    k = np.array([sdr.simulate_false_match(n, a, s, N, seed=100 + i).n_at_least(theta) for i in range(R)])
    stat = np.sum((k - N * p) ** 2) / (N * p * (1 - p))
    assert stats.chi2.sf(stat, R) > 1e-3 and stats.chi2.cdf(stat, R) > 1e-3


def test_same_seed_same_numbers():
    a = sdr.simulate_false_match(500, 50, 16, 20000, seed=7)
    b = sdr.simulate_false_match(500, 50, 16, 20000, seed=7)
    c = sdr.simulate_false_match(500, 50, 16, 20000, seed=8)
    assert np.array_equal(a.counts, b.counts) and not np.array_equal(a.counts, c.counts)
    u1 = sdr.simulate_false_match(500, 50, 16, 5000, M=3, seed=7)
    u2 = sdr.simulate_false_match(500, 50, 16, 5000, M=3, seed=7)
    assert np.array_equal(u1.counts, u2.counts)


def test_optimal_threshold_balances_errors():
    c = sdr.optimal_threshold(2000, 40, 20, sdr.noise_count(40, 0.3))
    assert np.all(np.diff(c.false_positive) <= 0) and np.all(np.diff(c.false_negative) >= 0)
    assert c.total[c.theta_opt - 1] == c.total.min()
    assert abs(c.theta_opt - c.theta_balanced) <= 2
    # more noise pushes the best threshold down
    assert sdr.optimal_threshold(2000, 40, 20, sdr.noise_count(40, 0.5)).theta_opt < c.theta_opt


def test_clopper_pearson_edges():
    lo, hi = sdr.clopper_pearson(np.array([0, 10]), 10, 0.99)
    assert lo[0] == 0.0 and hi[1] == 1.0 and 0 < hi[0] < 1


def test_agreement_grid_rows_are_independent_and_catch_a_biased_simulator(monkeypatch):
    rows = sdr.agreement_grid(20_000, 4_000, seed=0)
    assert len(rows) >= 20 and len({r["label"] for r in rows}) == len(rows)
    assert all(r["inside_family"] for r in rows)
    assert all(r["exact"] >= 30 / r["n_trials"] for r in rows)       # every setting has power to disagree
    real = sdr.simulate_false_match
    # a simulator that draws a quarter more active cells than asked: the grid must notice
    monkeypatch.setattr(grids, "simulate_false_match",
                        lambda n, a, s, n_trials, **kw: real(n, min(n, a + a // 4), s, n_trials, **kw))
    biased = sdr.agreement_grid(20_000, 4_000, seed=0)
    assert np.mean([r["inside"] for r in biased]) < 0.9
    assert not all(r["inside_family"] for r in biased)


def test_simulators_resolve_devices_through_the_lab():
    assert sdr.simulate_false_match(100, 10, 5, 100, device="auto").n_trials == 100
    with pytest.raises(ValueError, match="device"):
        sdr.simulate_noise(100, 10, 5, 2, 100, device="tpu")
