"""Tests for labkit.interp.superposition, labkit.interp.dictionaries and labkit.interp.codebook_fsm."""
import numpy as np
import pytest
import torch

from labkit.interp import dictionaries as dl
from labkit.interp.superposition import (make_sparse_features, random_directions, train_toy_model,
                                         toy_model_data, transcoder_target)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny matrices: one thread avoids OpenMP spin-waits on a shared 2-core machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small():
    # 64 features in 32 dimensions, each active 3% of the time.
    return make_sparse_features(12_000, 64, 32, 0.03, seed=1)


# ---------------------------------------------------------------------------------------- data
def test_planted_features_are_what_they_claim():
    d = make_sparse_features(5000, 40, 16, 0.05, n_children=10, child_prob=0.5, n_planes=3, seed=3)
    assert d.X.shape == (5000, 16) and d.directions.shape == (50, 16)
    assert torch.allclose(d.directions.norm(dim=1), torch.ones(50), atol=1e-5)
    # a child never fires without its parent
    child_on = d.codes[:, 40:] > 0
    assert bool(child_on.any()) and not bool((child_on & (d.codes[:, :10] == 0)).any())
    # planes are orthonormal and X is exactly codes @ directions + plane parts
    gram = torch.einsum("pkd,pld->pkl", d.planes, d.planes)
    assert torch.allclose(gram, torch.eye(2).expand(3, 2, 2), atol=1e-5)
    rebuilt = d.codes @ d.directions + torch.einsum("npk,pkd->nd", d.plane_codes, d.planes)
    assert torch.allclose(rebuilt, d.X, atol=1e-5)
    # the empirical activation rate matches the planted probability
    rate = (d.codes[:, :40] > 0).float().mean()
    assert abs(float(rate) - 0.05) < 0.005
    again = make_sparse_features(5000, 40, 16, 0.05, n_children=10, child_prob=0.5, n_planes=3, seed=3)
    assert torch.equal(again.X, d.X)


@pytest.mark.parametrize("kwargs, word", [
    (dict(n_samples=0), "n_samples"), (dict(feature_prob=1.5), "feature_prob"),
    (dict(n_children=100), "n_children"), (dict(directions=np.ones((3, 3))), "directions"),
])
def test_planted_features_bad_input(kwargs, word):
    args = dict(n_samples=100, n_features=20, dim=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        make_sparse_features(**args)


def test_toy_model_stores_more_features_than_neurons():
    # Elhage et al. (2022): 5 sparse features in 2 neurons are stored as a pentagon; dense ones are not.
    sparse = train_toy_model(5, 2, 0.05, steps=1500, seed=0)
    dense = train_toy_model(5, 2, 1.0, steps=1500, seed=0)
    assert len(sparse.represented()) == 5
    assert len(dense.represented()) <= 3
    W = sparse.W.numpy()
    angles = np.sort(np.arctan2(W[1], W[0]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    assert np.allclose(gaps, 2 * np.pi / 5, atol=0.25)   # evenly spaced: a pentagon
    data = toy_model_data(sparse, 500, seed=0)
    assert data.X.shape == (500, 2) and data.directions.shape == (5, 2)


# ---------------------------------------------------------------------------------------- metrics
def test_recovery_metric_against_known_answers():
    F = torch.as_tensor(random_directions(30, 10, seed=0), dtype=torch.float32)
    assert dl.recovery(F, F) == pytest.approx({"mmcs": 1.0, "recovered": 1.0})
    assert dl.recovery(-F, F)["recovered"] == 0.0                       # sign matters for 1-D features
    half = dl.recovery(F[:15], F)
    assert half["recovered"] == pytest.approx(0.5)
    rand = dl.recovery(torch.as_tensor(random_directions(30, 10, seed=9), dtype=torch.float32), F)
    assert rand["recovered"] < 0.1
    # a 2-D feature is recovered by any atom inside its plane
    plane = torch.eye(10)[:2][None]
    inside = torch.tensor([[0.6, 0.8] + [0.0] * 8])
    assert dl.feature_cosines(inside, F[:1], plane)[1, 0] == pytest.approx(1.0)
    X = torch.randn(50, 4)
    assert dl.explained_variance(X, X) == pytest.approx(1.0)
    assert dl.explained_variance(X, X.mean(0).expand_as(X)) == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------------------------------- dictionaries
def test_topk_sae_recovers_planted_features(small):
    m = dl.TopKSAE(128, k=4, steps=250, batch_size=256, lr=1e-2, seed=0).fit(small.X)
    out = dl.evaluate(m, small.X, small.directions)
    assert out["recovered"] >= 0.9
    assert out["l0"] <= 4 + 1e-9
    assert out["explained_variance"] > 0.8
    # same seed, same dictionary
    again = dl.TopKSAE(128, k=4, steps=250, batch_size=256, lr=1e-2, seed=0).fit(small.X)
    assert torch.equal(again.D_, m.D_)
    # the interface: decode(encode(X)) is Z @ D_ + bias_, and D_ has unit rows
    Z = m.encode(small.X[:10])
    assert torch.allclose(m.decode(Z), Z @ m.D_ + m.bias_)
    assert torch.allclose(m.D_.norm(dim=1), torch.ones(128), atol=1e-5)


def test_resampling_revives_dead_latents(small):
    # With barely more latents (80) than features (64), latents that die or duplicate cost
    # features; resampling them towards badly reconstructed inputs wins features back.
    kw = dict(k=4, steps=250, batch_size=256, lr=1e-2, seed=0)
    on = dl.TopKSAE(80, resample=True, **kw).fit(small.X)
    off = dl.TopKSAE(80, resample=False, **kw).fit(small.X)
    assert on.n_resampled_ > 0 and off.n_resampled_ == 0
    gain = dl.recovery(on.D_, small.directions)["recovered"] - dl.recovery(off.D_, small.directions)["recovered"]
    assert gain >= 0.05


def test_matching_pursuit_encoder_is_exact_on_an_orthonormal_dictionary():
    X = torch.rand(200, 6) * (torch.rand(200, 6) < 0.4)
    m = dl.MatchingPursuitSAE(6, k=6, steps=1).fit(X)
    with torch.no_grad():
        m.module_.W_dec.copy_(torch.eye(6))
        m.module_.b_pre.zero_()
    m.mean_, m.scale_ = torch.zeros(6), 1.0
    m._finalize()
    assert torch.allclose(m.encode(X), X, atol=1e-6)


def test_jumprelu_pseudo_derivatives():
    # Rajamanoharan et al. 2024, eqs. 11-12: d/dtheta H(z - theta) = -(1/eps) K((z - theta)/eps).
    z = torch.tensor([[0.50, 0.52, 0.9]])
    theta = torch.tensor([0.51, 0.51, 0.51], requires_grad=True)
    dl._StepFn.apply(z, theta, 0.04).sum().backward()
    assert torch.allclose(theta.grad, torch.tensor([-25.0, -25.0, 0.0]))
    theta.grad = None
    dl._JumpReLUFn.apply(z, theta, 0.04).sum().backward()
    assert torch.allclose(theta.grad, torch.tensor([-0.51 / 0.04, -0.51 / 0.04, 0.0]))


def test_seminmf_recovers_clustered_directions():
    # Ding et al. 2010: semi-NMF relaxes K-means; with one atom per sample (clusters of directions
    # at random magnitudes) the atoms are the cluster directions.
    gen = torch.Generator().manual_seed(0)
    F = torch.randn(5, 12, generator=gen)
    one = torch.nn.functional.one_hot(torch.randint(0, 5, (400,), generator=gen), 5)
    X = (torch.rand(400, 5, generator=gen) * one) @ F
    m = dl.SemiNMF(5, n_iter=100, l1=0.01, seed=0).fit(X)
    assert dl.recovery(m.D_, F, threshold=0.98)["recovered"] == 1.0
    assert dl.explained_variance(X, m.reconstruct(X)) > 0.99
    assert bool((m.encode(X) >= 0).all())


def test_transcoder_learns_the_output_features(small):
    Y, G = transcoder_target(small, 24, seed=0)
    m = dl.Transcoder(128, l1=0.3, steps=400, batch_size=256, seed=0).fit(small.X, Y)
    out = dl.evaluate(m, small.X, G, Y=Y)
    assert out["recovered"] >= 0.7
    assert m.D_.shape == (128, 24)
    with pytest.raises(ValueError, match="needs targets Y"):
        dl.Transcoder(8).fit(small.X)


def test_codebook_bottleneck_straight_through_and_steering():
    layer = dl.CodebookBottleneck(8, 16, k=2, layer_norm=False, seed=0)
    x = torch.randn(3, 5, 8, requires_grad=True)
    out = layer(x)
    assert out.shape == x.shape and layer.codes.shape == (3, 5, 2)
    assert torch.allclose(out, layer.codebook[layer.codes].mean(-2))
    out.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))         # straight through
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[:, -1] = True
    layer.steer(mask, 7)
    layer(x)
    assert bool((layer.codes[:, -1] == 7).all())
    layer.steer(None)
    with pytest.raises(ValueError, match="code must lie"):
        layer.steer(mask, 99)


@pytest.mark.parametrize("make, word", [
    (lambda: dl.TopKSAE(0), "n_latents"),
    (lambda: dl.TopKSAE(8, k=9), "k must be at most"),
    (lambda: dl.MatchingPursuitSAE(4, k=5), "k must be at most"),
    (lambda: dl.VQCodebook(4, k=5), "k must be at most"),
    (lambda: dl.ReLUSAE(8, l1=-1.0), "l1"),
    (lambda: dl.SemiNMF(8, keep_fraction=2.0), "keep_fraction"),
])
def test_bad_hyperparameters(make, word):
    with pytest.raises(ValueError, match=word):
        make()


def test_bad_activations():
    m = dl.TopKSAE(4, k=2, steps=1)
    with pytest.raises(ValueError, match="NaN"):
        m.fit(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="rank 2"):
        m.fit(torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match="not fitted"):
        m.encode(torch.zeros(3, 2))
    m.fit(torch.randn(20, 3))
    with pytest.raises(ValueError, match="3 columns"):
        m.encode(torch.zeros(5, 4))
