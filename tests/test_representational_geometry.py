"""Tests for labkit.dynamics.representational_geometry: the cube task, RDMs against rsatoolbox, CKA's
invariances, unit matching against brute force, the GT transform, topology, and bad input."""
import itertools
import math

import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.dynamics.representational_geometry import (
    MLP,
    aligned_weights,
    c_max,
    ccgp,
    cka,
    cka_matrix,
    compare_rdms,
    cube_study,
    cube_task,
    feature_task,
    gt_transform,
    h1_bars,
    layer_identification,
    match_units,
    parallelism_score,
    parity_dichotomies,
    parse_bounds,
    planted_shapes,
    random_rotation,
    rdm,
    upper,
    variance_explained_by,
)

pytestmark = pytest.mark.usefixtures("one_thread")   # tiny problems: one torch thread (conftest)

rsatoolbox = pytest.importorskip("rsatoolbox")


# ------------------------------------------------------------------------------------------------ task
def test_parity_dichotomies_are_an_orthogonal_basis_starting_with_the_coordinates():
    H = parity_dichotomies(3)
    assert H.shape == (8, 7)
    S = 2 * H - 1
    assert torch.allclose(S.T @ S, 8 * torch.eye(7, dtype=S.dtype))           # orthogonal ±1 columns
    bits = (torch.arange(8)[:, None] >> torch.arange(3)) & 1
    assert torch.equal(H[:, :3], bits.double())                               # the first d are the coordinates


@pytest.mark.parametrize("d,k", [(3, 1), (3, 3), (4, 2)])
def test_aligned_weights_reach_the_asked_cosine(d, k):
    m = 2 ** d - 1
    target = torch.zeros(m, dtype=torch.float64)
    target[:k] = 1
    for frac in (0.0, 0.3, 0.5, 1.0):
        c = frac * c_max(d, k)
        pi = aligned_weights(d, k, c)
        assert pi.sum().item() == pytest.approx(1.0) and (pi >= 0).all()
        assert float(pi @ target / (pi.norm() * target.norm())) == pytest.approx(c, abs=1e-9)
    assert torch.allclose(aligned_weights(d, k, c_max(d, k)), torch.full((m,), 1 / m, dtype=torch.float64))


def test_cube_task_input_kernel_is_the_weighted_dichotomies():
    t = cube_task(3, 1, 0.5 * c_max(3, 1), n_per_condition=4, seed=1)
    S = 2 * parity_dichotomies(3) - 1
    expected = 100 * (S * t.pi) @ S.T                         # (2H−1) diag(π) (2H−1)ᵀ × dim
    assert torch.allclose(t.input_kernel.double(), expected, rtol=1e-4, atol=1e-3)
    assert t.x.shape == (32, 100) and t.y.shape == (32, 1)
    assert torch.equal(t.y[:, 0], t.targets[t.condition, 0])


def test_cube_study_is_deterministic_and_untrained_control_does_not_learn():
    a = cube_study(3, (1,), (0.5,), 1, width=16, n_per_condition=4, steps=10, seed=2)
    b = cube_study(3, (1,), (0.5,), 1, width=16, n_per_condition=4, steps=10, seed=2)
    assert np.array_equal(a.target_cka, b.target_cka) and np.array_equal(a.train_accuracy, b.train_accuracy)
    u = cube_study(3, (1,), (0.5,), 1, width=16, n_per_condition=4, steps=10, seed=2, control="untrained")
    assert not np.array_equal(a.target_cka, u.target_cka)


# ------------------------------------------------------------------------------------------------ RDMs
def _dataset(X):
    return rsatoolbox.data.Dataset(np.asarray(X, dtype=float))


@pytest.mark.parametrize("method", ["euclidean", "correlation"])
def test_rdm_matches_rsatoolbox(method):
    X = torch.randn(3, 12, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    D = rdm(X, method)                                          # batched over the leading axis
    for b in range(3):
        ref = rsatoolbox.rdm.calc_rdm(_dataset(X[b]), method=method).get_vectors()[0]
        np.testing.assert_allclose(upper(D[b]).numpy(), ref, rtol=1e-10, atol=1e-12)
    assert torch.allclose(D, D.transpose(-1, -2)) and (torch.diagonal(D, dim1=-2, dim2=-1) == 0).all()


@pytest.mark.parametrize("folds", [2, 3])
def test_crossnobis_matches_rsatoolbox(folds):
    g = torch.Generator().manual_seed(1)
    X = torch.randn(folds, 10, 15, dtype=torch.float64, generator=g)
    ds = rsatoolbox.data.Dataset(X.reshape(-1, 15).numpy(), obs_descriptors={
        "cond": np.tile(np.arange(10), folds), "fold": np.repeat(np.arange(folds), 10)})
    ref = rsatoolbox.rdm.calc_rdm(ds, method="crossnobis", descriptor="cond", cv_descriptor="fold").get_vectors()[0]
    np.testing.assert_allclose(upper(rdm(X, "crossnobis")).numpy(), ref, rtol=1e-10, atol=1e-12)


def test_crossnobis_is_unbiased_by_noise():
    g = torch.Generator().manual_seed(3)
    means = torch.randn(6, 50, dtype=torch.float64, generator=g)
    X = means + 2.0 * torch.randn(400, 6, 50, dtype=torch.float64, generator=g)   # 400 folds of strong noise
    true = rdm(means)
    assert torch.allclose(rdm(X, "crossnobis"), true, atol=0.1)
    assert (rdm(X.mean(0) + 2.0 * torch.randn(6, 50, dtype=torch.float64, generator=g)) - true).mean() > 1.0


def test_gt_transform_matches_rsatoolbox_and_compare_matches_corr():
    g = torch.Generator().manual_seed(4)
    D = rdm(torch.randn(2, 15, 8, dtype=torch.float64, generator=g))
    for b in range(2):
        v = upper(D[b]).numpy()
        s = 1 / np.quantile(v, 0.1)        # rsatoolbox 0.3.2 is right only when its u-quantile is >= 1 (scale-free)
        ref = rsatoolbox.rdm.geotopological_transform(rsatoolbox.rdm.RDMs(s * v[None]), 0.1, 0.7).get_vectors()[0]
        np.testing.assert_allclose(upper(gt_transform(D[b], 0.1, 0.7)).numpy(), ref, atol=1e-12)
    r = compare_rdms(D[0], D[1])
    ref = rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(upper(D[0]).numpy()[None]),
                                 rsatoolbox.rdm.RDMs(upper(D[1]).numpy()[None]), method="corr")
    assert float(r) == pytest.approx(float(ref[0, 0]), abs=1e-10)
    G = gt_transform(D, 0.0, 0.5)
    assert G.min() >= 0 and G.max() <= 1 and torch.allclose(G, gt_transform(3 * D, 0.0, 0.5))


# ------------------------------------------------------------------------------------------------ CKA
def test_cka_invariances_and_numpy_formula():
    g = torch.Generator().manual_seed(5)
    X = torch.randn(40, 10, dtype=torch.float64, generator=g)
    Y = X @ torch.randn(10, 12, dtype=torch.float64, generator=g) + 0.5 * torch.randn(40, 12, dtype=torch.float64,
                                                                                       generator=g)
    Q = random_rotation(12, 0)
    base = float(cka(X, Y))
    assert float(cka(X, Y @ Q)) == pytest.approx(base, abs=1e-12)               # rotation of the units
    assert float(cka(X, 7.0 * Y)) == pytest.approx(base, abs=1e-12)             # isotropic scale
    assert float(cka(X, Y + 3.0)) == pytest.approx(base, abs=1e-12)             # shift
    assert float(cka(X, X)) == pytest.approx(1.0, abs=1e-12)
    assert float(cka(X, Y * torch.linspace(0.1, 3, 12, dtype=torch.float64))) != pytest.approx(base, abs=1e-3)
    Xc, Yc = (X - X.mean(0)).numpy(), (Y - Y.mean(0)).numpy()                   # Kornblith et al.'s formula
    ref = np.linalg.norm(Yc.T @ Xc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))
    assert base == pytest.approx(ref, abs=1e-12)
    assert float(cka(X, Y, kernel="rbf")) == pytest.approx(float(cka(X, Y @ Q, kernel="rbf")), abs=1e-10)
    C = cka_matrix([X, X @ random_rotation(10, 1), X[:, :5]])
    assert C.shape == (3, 3) and float(C[0, 1]) == pytest.approx(1.0, abs=1e-12)
    assert float(C[0, 2]) == pytest.approx(float(cka(X, X[:, :5])), abs=1e-12)


def test_debiased_cka_removes_the_bias_of_independent_wide_features():
    g = torch.Generator().manual_seed(6)
    X = torch.randn(30, 500, dtype=torch.float64, generator=g)
    Y = torch.randn(30, 500, dtype=torch.float64, generator=g)
    assert float(cka(X, Y)) > 0.5                   # biased upwards when features ≫ examples
    assert abs(float(cka(X, Y, debiased=True))) < 0.1


# ------------------------------------------------------------------------------------------------ units
def test_match_units_equals_brute_force_and_recovers_a_permutation():
    g = torch.Generator().manual_seed(7)
    A = torch.randn(50, 5, dtype=torch.float64, generator=g)
    B = A[:, [3, 0, 4, 1, 2]] + 0.3 * torch.randn(50, 5, dtype=torch.float64, generator=g)
    pairs, corr = match_units(A, B)
    Ac, Bc = A - A.mean(0), B - B.mean(0)
    C = ((Ac / Ac.norm(dim=0)).T @ (Bc / Bc.norm(dim=0))).numpy()
    best = max(itertools.permutations(range(5)), key=lambda p: sum(C[i, p[i]] for i in range(5)))
    assert list(pairs[:, 1]) == list(best) and corr.sum() == pytest.approx(sum(C[i, best[i]] for i in range(5)))
    assert list(pairs[:, 1]) == [1, 3, 4, 0, 2]


def test_variance_explained_parallelism_and_ccgp_on_known_geometry():
    y = torch.tensor([0, 0, 1, 1] * 25)
    H = torch.stack([3.0 * y, torch.zeros(100)], 1).double()
    H[:, 1] = torch.randn(100, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    v = variance_explained_by(H, torch.stack([y, 1 - y], 1))
    Hc = H - H.mean(0)
    between = sum(float((y == c).sum()) * float((Hc[y == c].mean(0) ** 2).sum()) for c in (0, 1))
    assert float(v[0]) == pytest.approx(between / float((Hc ** 2).sum()), rel=1e-9)
    assert float(v[0]) > 0.6                                # the label carries column 0 (variance 2.25 of 3.25)
    assert float(v[0]) == pytest.approx(float(v[1]))
    bits = ((torch.arange(4)[:, None] >> torch.arange(2)) & 1).double()          # a square: factorised
    M = bits @ torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    assert parallelism_score(M, bits[:, 0]) == pytest.approx(1.0)
    xor = (bits.sum(1) % 2)
    assert parallelism_score(M, xor) < 0.5
    H = parity_dichotomies(3)                          # CCGP: a factorised cube generalises, the simplex does not
    cond = torch.arange(8).repeat_interleave(20)
    g = torch.Generator().manual_seed(9)
    cube = (2 * H[:, :3] - 1)[cond] + 0.1 * torch.randn(160, 3, dtype=torch.float64, generator=g)
    simplex = (2 * H - 1)[cond] + 0.1 * torch.randn(160, 7, dtype=torch.float64, generator=g)
    assert ccgp(cube, cond.numpy(), H[:, 0].numpy()) == 1.0
    assert ccgp(simplex, cond.numpy(), H[:, 0].numpy()) < 0.5


# ------------------------------------------------------------------------------------------------ topology, features
def test_planted_ring_has_one_cycle_and_line_none():
    shapes = planted_shapes(80, 6, seed=0)
    assert h1_bars(shapes["ring"], 0.1)[0] == 1
    assert h1_bars(shapes["line"], 0.1)[1] <= 0.02
    assert h1_bars(shapes["arc"], 0.1)[1] < h1_bars(shapes["ring"], 0.1)[1]


def test_feature_task_and_layer_identification_of_distinct_layers():
    x, y = feature_task(64, seed=0)
    assert torch.equal(y[:, 0], (x[:, 0] > 0).float())
    assert torch.equal(y[:, 1], ((x[:, 1:5] > 0).sum(1) % 2).float())
    g = torch.Generator().manual_seed(10)
    base = torch.randn(4, 12, 20, dtype=torch.float64, generator=g)             # 4 clearly different "layers"
    acts = base[None] + 0.1 * torch.randn(3, 4, 12, 20, dtype=torch.float64, generator=g)
    acc = layer_identification(acts, 0.2, [(0.1, 0.7)], n_draws=2)
    assert acc[None] == 1.0 and acc[(0.1, 0.7)] == 1.0
    assert MLP(4, 8, 2, depth=3).layers(torch.randn(5, 4)).shape == (3, 5, 8)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call,name", [
    (lambda: cube_task(3, 1, 0.9), "'c'"),
    (lambda: cube_task(3, 8, 0.1), "'k'"),
    (lambda: MLP(4, 8, 2, nonlinearity="sigmoid"), "'nonlinearity'"),
    (lambda: rdm(torch.tensor([[0.0, float("nan")], [1.0, 2.0], [3.0, 4.0]])), "'X'"),
    (lambda: rdm(torch.randn(2, 5)), "'X'"),
    (lambda: rdm(torch.randn(1, 5, 4), "crossnobis"), "'X'"),
    (lambda: gt_transform(torch.rand(4, 4), 0.6, 0.5), "'low' and 'up'"),
    (lambda: gt_transform(torch.rand(4, 4), -0.1, 0.5), "'low'"),
    (lambda: cka(torch.randn(5, 3), torch.randn(6, 3)), "'X' and 'Y'"),
    (lambda: parse_bounds("gt_bounds", "0.5:0.2"), "'gt_bounds'"),
    (lambda: rdm(torch.randn(5, 3), "manhattan"), "'method'"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ParameterError, match=name):
        call()
    assert math.isfinite(1.0)
