"""Encoding models: ridge against scikit-learn, the readouts on their own truth, the metrics, bad input."""
import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.neuro.encoding_models import (
    DEFAULT_ALPHAS,
    AttentionReadout,
    FactorizedReadout,
    PerTargetRidge,
    make_scenes,
    noise_ceiling,
    normalized_score,
    simulate_voxels,
)
from labkit.neuro.encoding_models.metrics import half_max_masks, iou, routing_mass


def _regression(n, p, t, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p)) + rng.standard_normal(p)
    w = rng.standard_normal((p, t)) * rng.uniform(0, 3, t)
    return x, x @ w + rng.standard_normal((n, t)) * rng.uniform(0.1, 30, t)


@pytest.mark.parametrize("n,p", [(120, 30), (40, 90), (60, 60)])
def test_ridge_matches_sklearn_ridgecv_per_target(n, p):
    from sklearn.linear_model import RidgeCV

    x, y = _regression(n, p, 25)
    ours = PerTargetRidge().fit(x, y)
    ref = RidgeCV(alphas=DEFAULT_ALPHAS, alpha_per_target=True).fit(x, y)
    assert np.array_equal(ours.alpha_, ref.alpha_)
    assert len(np.unique(ours.alpha_)) >= 3                      # the choice is exercised, not one penalty for all
    np.testing.assert_allclose(ours.coef_, ref.coef_.T, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(ours.predict(x), ref.predict(x), atol=1e-6, rtol=1e-6)


def test_ridge_loo_error_is_brute_force_leave_one_out():
    from sklearn.linear_model import Ridge

    x, y = _regression(25, 8, 2, seed=1)
    fit = PerTargetRidge(alphas=[0.5, 50.0]).fit(x, y)
    for a, alpha in enumerate([0.5, 50.0]):
        errs = [(Ridge(alpha=alpha).fit(np.delete(x, i, 0), np.delete(y, i, 0)).predict(x[i:i + 1]) - y[i]) ** 2
                for i in range(len(x))]
        np.testing.assert_allclose(fit.loo_mse_[a], np.mean(errs, 0)[0], rtol=1e-8)


@pytest.mark.parametrize("n,p", [(300, 500), (500, 300)])
def test_ridge_is_exact_on_an_ill_conditioned_design(n, p):
    """Directions of tiny variance (a spectrum over 10 decades) keep their coefficients: against an SVD solution."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, p)) * np.logspace(0, -10, p)
    y = rng.standard_normal((n, 2))
    fit = PerTargetRidge(alphas=[1e-6]).fit(x, y)
    u, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    coef = vt.T @ ((s / (s ** 2 + 1e-6))[:, None] * (u.T @ (y - y.mean(0))))
    np.testing.assert_allclose(fit.coef_, coef, rtol=1e-6, atol=1e-6 * np.abs(coef).max())


def test_ridge_drop_constant_reports_the_voxel():
    x, y = _regression(50, 10, 4)
    y[:, 2] = 3.0
    with pytest.raises(ParameterError, match=r"target\(s\) \[2\] of Y have zero variance"):
        PerTargetRidge().fit(x, y)
    fit = PerTargetRidge(drop_constant=True).fit(x, y)
    assert fit.dropped_.tolist() == [2] and fit.coef_.shape == (10, 3)


@pytest.mark.parametrize("make,match", [
    (lambda x, y: (x[:-1], y), "same number of samples"),
    (lambda x, y: (x[:, :, None], y), "X must be a"),
    (lambda x, y: (np.where(np.eye(*x.shape) > 0, np.nan, x), y), "X holds NaN"),
    (lambda x, y: (x, np.where(np.eye(*y.shape) > 0, np.inf, y)), "Y holds NaN or infinite"),
])
def test_ridge_bad_input(make, match):
    x, y = _regression(30, 5, 3)
    with pytest.raises(ParameterError, match=match):
        PerTargetRidge().fit(*make(x, y))


@pytest.mark.parametrize("alphas", [[1.0, 0.0], [-1.0], [np.nan], []])
def test_ridge_refuses_non_positive_penalty(alphas):
    x, y = _regression(30, 5, 3)
    with pytest.raises(ParameterError, match="'alphas' of PerTargetRidge"):
        PerTargetRidge(alphas=alphas).fit(x, y)


def test_noise_ceiling_needs_two_repeats_and_estimates_the_truth():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((4000, 6))
    rho = np.linspace(0.5, 0.9, 6)
    reps = signal + np.sqrt((1 - rho) / rho) * rng.standard_normal((2, 4000, 6))
    np.testing.assert_allclose(noise_ceiling(reps), rho, atol=0.03)
    np.testing.assert_allclose(normalized_score(signal, reps), 1.0, atol=0.06)    # the truth scores the ceiling
    with pytest.raises(ParameterError, match="at least 2 repeats"):
        noise_ceiling(reps[:1])
    with pytest.raises(ParameterError, match="NaN or infinite"):
        noise_ceiling(np.where(reps > 3, np.nan, reps))


def test_iou_and_routing_mass():
    a = np.array([[1, 1, 0, 0]], bool)
    assert iou(a, np.array([[0, 1, 1, 0]], bool))[0] == pytest.approx(1 / 3)
    assert half_max_masks(np.array([[0.1, 1.0, 0.6, 0.4]])).tolist() == [[False, True, True, False]]
    routes = np.array([[[0.7, 0.3]], [[0.2, 0.8]]])
    boxes = np.array([[[True, False]], [[False, False]]])
    assert routing_mass(routes, boxes)[0] == pytest.approx(0.7)             # the empty box's scene is skipped


def test_scenes_and_voxels_repeat_and_hold_their_truth():
    s1, s2 = make_scenes(30, 4), make_scenes(30, 4)
    assert np.array_equal(s1.images, s2.images) and s1.images.shape == (30, 40, 40)
    assert ((s1.classes >= 0).sum(1) >= 1).all()
    rng = np.random.default_rng(0)
    feats, evid = rng.random((60, 100, 32)), rng.standard_normal((60, 10, 100))
    d1 = simulate_voxels(feats, evid, 5, 5, 30, 10, seed=1)
    d2 = simulate_voxels(feats, evid, 5, 5, 30, 10, seed=1)
    assert np.array_equal(d1.test, d2.test) and d1.test.shape == (2, 20, 10)
    assert ((d1.truth.ceiling >= 0.5) & (d1.truth.ceiling <= 0.9)).all()
    assert (np.count_nonzero(d1.truth.weights, 1) == 4).all()
    shuffled = simulate_voxels(feats, evid, 5, 5, 30, 10, seed=1, control="shuffle")
    assert np.array_equal(np.sort(shuffled.train, 0), np.sort(d1.train, 0))
    assert not np.array_equal(shuffled.train, d1.train)


def test_factorized_and_attention_readouts_hold_their_own_truth_exactly():
    rng = np.random.default_rng(0)
    feats = torch.as_tensor(rng.random((7, 100, 32)), dtype=torch.float32)
    fac = FactorizedReadout(3, 100, 32)
    m = fac.mask()
    assert (m >= 0).all() and torch.allclose(m.sum(1), torch.ones(3))
    expected = torch.einsum("npc,vp,vc->nv", feats, m, fac.weights) + fac.bias
    torch.testing.assert_close(fac(feats), expected)
    att = AttentionReadout(5, 100, 32, d=16, heads=4)
    out, attn = att(feats, return_attention=True)
    assert out.shape == (7, 5) and attn.shape == (7, 4, 5, 100)
    torch.testing.assert_close(att.routes(feats).sum(-1), torch.ones(7, 5))
    with pytest.raises(ValueError, match="d must be a multiple of heads"):
        AttentionReadout(5, 100, 32, d=10, heads=4)
