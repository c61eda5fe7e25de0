"""Unit tests of labkit.interp.feature_visualization: penalties and the Fourier image against NumPy, the
region bound, redundancy and code classifiers on hand-made codes, facets on planted clusters, bad inputs,
and repeatability. Seconds, not minutes."""
from math import comb

import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.interp import feature_visualization as fv


def small_cnn():
    torch.manual_seed(0)
    return fv.SceneCNN(4, width=8, size=16)


def test_total_variation_matches_numpy():
    x = np.random.default_rng(0).random((2, 3, 5, 6)).astype(np.float32)
    ref = (np.abs(np.diff(x, axis=2)).sum((1, 2, 3)) + np.abs(np.diff(x, axis=3)).sum((1, 2, 3))) / x[0].size
    assert np.allclose(fv.total_variation(torch.from_numpy(x)).numpy(), ref, rtol=1e-5)
    assert fv.total_variation(torch.ones(1, 3, 4, 4)).item() == 0.0


def test_l2_and_blur_penalties():
    assert fv.l2(torch.full((1, 3, 4, 4), 0.5)).item() == 0.0
    assert fv.blur_penalty(torch.full((1, 3, 4, 4), 0.3)).item() < 1e-12
    checker = torch.tensor(np.indices((8, 8)).sum(0) % 2, dtype=torch.float32).expand(1, 3, 8, 8)
    assert fv.blur_penalty(checker).item() > 0.1


def test_fourier_image_matches_numpy():
    gen = torch.Generator().manual_seed(1)
    img = fv.FourierImage(2, 8, decay=1.5, colour=None, generator=gen)
    spec = img.spectrum.detach().numpy()
    scale = fv.fourier_scale(8, 1.5) * 8 / 4
    ref = np.fft.irfft2((spec[..., 0] + 1j * spec[..., 1]) * scale, s=(8, 8), norm="ortho")
    assert np.allclose(img.decorrelated().detach().numpy(), ref, atol=1e-6)
    assert np.allclose(img().detach().numpy(), 1 / (1 + np.exp(-ref)), atol=1e-6)
    f = np.sqrt(np.fft.rfftfreq(8)[None] ** 2 + np.fft.fftfreq(8)[:, None] ** 2)
    assert np.isclose(fv.fourier_scale(8, 1.0)[0, 1], 1 / f[0, 1])


def test_colour_matrix_squares_to_scaled_covariance():
    rng = np.random.default_rng(2)
    mix = np.array([[1.0, 0.5, 0.2], [0.0, 1.0, 0.4], [0.0, 0.0, 1.0]])
    images = np.einsum("ij,njhw->nihw", mix, rng.standard_normal((50, 3, 4, 4)))
    root = fv.colour_matrix(images)
    cov = np.cov(images.transpose(1, 0, 2, 3).reshape(3, -1))
    c = np.linalg.norm(np.linalg.cholesky(cov), axis=0)  # any scale: compare up to a constant
    ratio = (root @ root) / cov
    assert np.allclose(ratio, ratio[0, 0], rtol=1e-4) and c.all()


def test_region_bound():
    assert fv.region_bound(3, 2) == 7                    # three lines in general position cut the plane in 7
    assert fv.region_bound(5, 10) == 2 ** 5              # n <= d: every sign pattern
    assert fv.region_bound(256, 64) == sum(comb(256, i) for i in range(65))
    with pytest.raises(ParameterError, match="'n'"):
        fv.region_bound(-1, 2)


def test_redundancy_ratio_on_hand_made_codes():
    codes = np.array([[1, 0, 1], [1, 0, 1], [1, 1, 1], [1, 1, 0]])
    assert fv.redundancy_ratio(codes) == 0.25
    assert fv.redundancy_ratio(np.eye(5, dtype=int)) == 0.0
    assert fv.redundancy_ratio(np.ones((4, 3), int)) == 0.75           # constant bits dropped: one code
    with pytest.raises(ParameterError, match="'codes'"):
        fv.redundancy_ratio(np.array([[0, 2], [1, 0]]))


def test_code_classifiers_on_planted_codes():
    rng = np.random.default_rng(3)
    proto = rng.integers(0, 2, (3, 40))
    y = np.repeat(np.arange(3), 30)
    codes = proto[y] ^ (rng.random((90, 40)) < 0.05)
    assert fv.knn_accuracy(codes[::2], y[::2], codes[1::2], y[1::2], k=9) == 1.0
    assert fv.kmeans_accuracy(codes, y, k=3) == 1.0
    assert fv.logistic_accuracy(codes[::2], y[::2], codes[1::2], y[1::2]) == 1.0


def test_activation_codes_and_their_errors():
    m = fv.ReLUMLP(4, 6)
    x = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    codes = fv.activation_codes(m, x)
    pre = m.hidden(torch.from_numpy(x)).detach().numpy()
    assert codes.shape == (10, 6) and np.array_equal(codes, (pre > 0).astype(np.uint8))
    with pytest.raises(ParameterError, match="'model'.*ReLU"):
        fv.activation_codes(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh()), x)


def test_facets_find_planted_clusters_and_reject_bad_k():
    rng = np.random.default_rng(4)
    centres = 6 * rng.standard_normal((3, 10))
    truth = np.repeat(np.arange(3), 20)
    codes = centres[truth] + 0.3 * rng.standard_normal((60, 10))
    f = fv.facets(codes, 3, n_nearest=5, seed=0)
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(truth, f.labels) == 1.0 and f.nearest.shape == (3, 5)
    assert sorted(fv.match_clusters(f.labels, truth, [6, 7, 8]) - 6) == [0, 1, 2]
    with pytest.raises(ParameterError, match="'k'"):
        fv.facets(codes, 1)
    with pytest.raises(ParameterError, match="'k'.*number of images"):
        fv.facets(codes[:4], 5)


def test_visualize_raises_activation_and_repeats():
    m = small_cnn()
    obj = [("logit", 0), ("channel", "conv2", 3), ("unit", "fc1", 5)]
    a = fv.visualize(m, obj, size=16, steps=15, lr=0.05, seed=3)
    b = fv.visualize(m, obj, size=16, steps=15, lr=0.05, seed=3)
    assert np.array_equal(a.images, b.images) and a.trace.shape == (15, 3)
    assert (a.activation > a.trace[0]).all()
    assert a.images.min() >= 0 and a.images.max() <= 1
    c = fv.visualize(m, [("logit", 1)] * 2, size=16, steps=10, parameterization="fourier", decay=1.2,
                     jitter=1.0, scale=(0.9, 1.1), rotate=5.0, tv=0.5, l2=0.1, blur=0.1, diversity=0.1,
                     diversity_layer="conv3", seed=0)
    assert c.images.shape == (2, 3, 16, 16) and np.isfinite(c.activation).all()
    start = np.full((1, 3, 16, 16), 0.4, np.float32)
    d = fv.visualize(m, ("logit", 2), size=16, steps=5, lr=1 / 255, start=start, bregman=500.0,
                     optimizer="normalized", crop=12)
    assert d.images.shape == (1, 3, 16, 16)


@pytest.mark.parametrize("kwargs, match", [
    (dict(objectives=[("unit", "conv9", 0)]), "layer 'conv9'; valid layers: conv1"),
    (dict(objectives=[("logit", 4)]), "unit 4"),
    (dict(objectives=[("channel", "fc1", 0)]), "has no channels"),
    (dict(crop=20), "'crop'.*larger than the image"),
    (dict(tv=-1.0), "'tv'"),
    (dict(steps=0), "'steps'"),
    (dict(start=np.zeros((2, 3, 16, 16))), "'start'"),
])
def test_visualize_bad_input(kwargs, match):
    args = dict(objectives=[("logit", 0)], size=16, steps=2)
    args.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        fv.visualize(small_cnn(), **args)


def test_facet_scenes_repeat_and_reject_bad_size():
    a, b = fv.draw_facet_scenes(24, 5, size=16), fv.draw_facet_scenes(24, 5, size=16)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, a.facets // 3)
    with pytest.raises(ParameterError, match="'size'"):
        fv.draw_facet_scenes(4, 0, size=18)


def test_notebook_parameters_reject_an_unknown_control():
    from labkit.core.params import check_params
    with pytest.raises(ParameterError, match="control"):
        check_params({"control": "random"}, {"control": fv.PARAMETERS["control"]})


def test_hash_study_repeats_and_its_control_learns_no_class():
    a = fv.hash_study((2, 8), steps=20, records=2, seed=4)
    b = fv.hash_study((2, 8), steps=20, records=2, seed=4)
    assert np.array_equal(a.redundancy, b.redundancy) and np.array_equal(a.knn, b.knn)
    assert a.redundancy_epochs.shape == (2, 2) and a.redundancy[0] > a.redundancy[1]
    c = fv.hash_study((8,), steps=60, records=1, seed=4, control="shuffle")
    assert c.mlp[0] < 0.3
    with pytest.raises(ParameterError, match="'control'"):
        fv.hash_study((8,), steps=1, control="random")
