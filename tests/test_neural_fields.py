"""Tests for labkit.fields.neural_fields: pictures, metrics, encodings, the five fields, FreSh, training."""
import math

import numpy as np
import pytest
import torch

from labkit.fields.neural_fields import (
    FIELD_LABELS,
    FIELDS,
    PICTURES,
    DenseGridEncoding,
    GaussianRBFField,
    HashEncoding,
    build_field,
    fit,
    fit_field,
    fresh_select,
    load_picture,
    max_resolution,
    min_params,
    neurbf_kernels,
    pixel_grid,
    psnr,
    render,
    spectrum,
    spectrum_distance,
    ssim,
)
from labkit.fields.neural_fields.experiment import (
    FitCache,
    compare_fields,
    fresh_choice,
    fresh_study,
    psnr_sentence,
    rbf_layout,
    shuffled_picture,
)
from labkit.fields.neural_fields.gather import gather_rows

pytestmark = pytest.mark.usefixtures("one_thread")   # tiny problems: one torch thread (conftest)


@pytest.fixture(scope="module")
def camera16():
    return load_picture("camera", 16)


# ------------------------------------------------------------------------------------------ pictures
def test_load_picture_shapes_range_and_grid():
    pic = load_picture("camera", 32)
    assert pic.image.shape == (32, 32, 1) and pic.image.dtype == np.float32
    assert 0.0 <= pic.image.min() and pic.image.max() <= 1.0
    assert pic.coords.shape == (32 * 32, 2) and pic.values.shape == (32 * 32, 1)
    # row-major: pixel (row i, column j) has coordinates (x_j, y_i), and values[i*R + j] == image[i, j]
    i, j = 5, 20
    c = (np.arange(32) + 0.5) / 32 * 2 - 1
    assert torch.allclose(pic.coords[i * 32 + j], torch.tensor([c[j], c[i]], dtype=torch.float32))
    assert float(pic.values[i * 32 + j, 0]) == pytest.approx(float(pic.image[i, j, 0]))
    assert torch.allclose(pic.coords, pixel_grid(32))


def test_colour_and_grey_pictures():
    rgb = load_picture("astronaut", 24)
    assert rgb.channels == 3
    grey = load_picture("astronaut", 24, color=False)
    assert grey.channels == 1
    assert load_picture("coffee", 24).image.shape == (24, 24, 3)     # a non-square picture: its central square
    assert max_resolution("coffee") == 400


def test_same_picture_same_numbers():
    assert np.array_equal(load_picture("camera", 40).image, load_picture("camera", 40).image)


def test_bad_picture_name_lists_the_pictures():
    with pytest.raises(ValueError, match="Parameter 'name' of load_picture must be one of") as err:
        load_picture("kamera", 32)
    for name in ("camera", "astronaut", "coffee"):
        assert name in str(err.value)
    assert set(PICTURES) >= {"camera", "astronaut", "coffee"}


@pytest.mark.parametrize("res", [7, 0, -3, 513])
def test_bad_resolution(res):
    with pytest.raises(ValueError, match=r"Parameter 'resolution' of load_picture must be an integer in \[8, 512\]"):
        load_picture("camera", res)


def test_bad_resolution_type_and_colour_request():
    with pytest.raises(ValueError, match="Parameter 'resolution' of load_picture must be an integer"):
        load_picture("camera", 32.0)
    with pytest.raises(ValueError, match=r"'resolution' of load_picture must be an integer in \[8, 300\]"):
        load_picture("chelsea", 301)            # 300 rows: its largest square is 300²
    with pytest.raises(ValueError, match="grey picture"):
        load_picture("camera", 32, color=True)


def test_psnr_and_ssim_known_values():
    ref = np.full((16, 16, 1), 0.5)
    assert psnr(ref, ref + 0.1) == pytest.approx(20.0, abs=1e-9)        # MSE 0.01 -> 20 dB
    assert psnr(ref, ref + 0.01) == pytest.approx(40.0, abs=1e-9)
    rng = np.random.default_rng(0)
    img = rng.random((32, 32, 1))
    assert ssim(img, img) == pytest.approx(1.0)
    assert ssim(img, rng.random((32, 32, 1))) < 0.2
    rgb = rng.random((32, 32, 3))
    assert ssim(rgb, rgb) == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------- encodings
def test_gather_rows_matches_indexing():
    torch.manual_seed(0)
    table = torch.randn(10, 3, requires_grad=True)
    idx = torch.randint(0, 10, (7, 4))
    g = torch.randn(7, 4, 3)
    (gather_rows(table, idx) * g).sum().backward()
    mine = table.grad.clone()
    table.grad = None
    (table[idx] * g).sum().backward()
    assert torch.allclose(mine, table.grad, atol=1e-6)
    assert torch.equal(gather_rows(table, idx), table[idx])


def test_dense_grid_interpolates_a_linear_function_exactly():
    enc = DenseGridEncoding(n_levels=2, n_features=1, base_resolution=4, finest_resolution=9, init=0.0)
    with torch.no_grad():   # vertex value = 2 u + 3 v with (u, v) the vertex position in [0, 1]
        for level in range(2):
            r = int(enc.resolutions[level])
            v, u = torch.meshgrid(torch.arange(r + 1) / r, torch.arange(r + 1) / r, indexing="ij")
            start = int(enc.offsets[level])
            enc.table[start:start + (r + 1) ** 2, 0] = (2 * u + 3 * v).reshape(-1)
    x = torch.rand(200, 2) * 2 - 1
    want = 2 * (x[:, 0] + 1) / 2 + 3 * (x[:, 1] + 1) / 2
    out = enc(x)
    assert out.shape == (200, 2)
    assert torch.allclose(out[:, 0], want, atol=1e-5) and torch.allclose(out[:, 1], want, atol=1e-5)
    assert enc.table.shape[0] == DenseGridEncoding.count(2, 1, 4, 9) == 25 + 100


def test_hash_encoding_dense_levels_read_their_vertices_and_weights_sum_to_one():
    enc = HashEncoding(n_levels=3, n_features=2, table_size=2**10, base_resolution=4, finest_resolution=64)
    idx, w = enc.plan(torch.rand(500, 2) * 2 - 1)
    assert torch.allclose(w.sum(-1), torch.ones(500, 3))
    assert bool(enc.dense[0]) and not bool(enc.dense[2])          # (64+1)² > 1024 rows: hashed
    assert int(idx[:, 0].max()) < 25 and int(idx[:, 2].min()) >= 2 * 2**10
    # at a vertex of the coarse level, the feature is that vertex's row
    with torch.no_grad():
        enc.table.copy_(torch.arange(enc.table.numel(), dtype=torch.float32).reshape(enc.table.shape))
    x = torch.tensor([[-1.0 + 2 * 1 / 4, -1.0 + 2 * 3 / 4]])      # vertex (i=1, j=3) of the 4-cell grid
    assert enc(x)[0, :2].tolist() == enc.table[1 + 3 * 5].tolist()


# ---------------------------------------------------------------------------------------------- fields
@pytest.mark.parametrize("kind", FIELDS)
def test_build_field_meets_budget_and_maps_coordinates(kind):
    for budget in (20_000, 60_000):
        model = build_field(kind, budget, 3, resolution=256)
        assert 0.85 * budget <= model.n_params <= budget, (kind, budget, model.n_params)
    out = model(torch.rand(10, 2) * 2 - 1)
    assert out.shape == (10, 3) and torch.isfinite(out).all()


def test_gaussian_rbf_grid_is_never_finer_than_the_picture():
    model = build_field("gaussian_rbf", 200_000, 1, resolution=32)
    assert int(model.grid.resolutions.max()) == 32 and model.n_params < 200_000


@pytest.mark.parametrize("kind", FIELDS)
def test_budget_too_small_names_the_field_and_the_minimum(kind):
    need = min_params(kind, 1, 64)
    build_field(kind, need, 1, resolution=64)                     # the minimum itself is fine
    with pytest.raises(ValueError, match=rf"n_params={need - 1} is too small for the '{kind}' field: it needs "
                                         rf"at least {need}"):
        build_field(kind, need - 1, 1, resolution=64)


def test_build_field_bad_kind_budget_and_option():
    with pytest.raises(ValueError, match="Parameter 'kind' of build_field must be one of 'gaussian_rbf'"):
        build_field("mlp", 10_000)
    with pytest.raises(ValueError, match="Parameter 'n_params' of build_field must be an integer >= 1"):
        build_field("siren", 0)
    with pytest.raises(ValueError, match="option 'sigma' is not one the 'siren' field takes"):
        build_field("siren", 10_000, sigma=3.0)


def test_gaussian_rbf_neurons_compute_the_gaussian_of_feature_distance():
    model = GaussianRBFField(16, 1, n_rbfs=5, seed=1)
    with torch.no_grad():
        model.centres.normal_()
        model.log_precision.normal_(0, 0.3)
    z = torch.randn(7, model.grid.out_dim)
    beta = model.log_precision.exp()
    want = torch.exp(-0.5 * (beta[None] * (z[:, None, :] - model.centres[None]) ** 2).sum(-1))
    assert torch.allclose(model.rbf(z), want, atol=1e-5)


def test_neurbf_kernels_follow_the_edges():
    img = np.zeros((32, 32, 1), np.float32)
    img[:, 16:] = 1.0                                             # one vertical edge at x = 0
    centres, precisions = neurbf_kernels(img, 20, seed=0)
    assert centres.shape == (20, 2) and precisions.shape == (20, 2, 2)
    assert np.all(np.abs(centres[:, 0]) < 0.2)                   # on the edge (Sobel weight is zero elsewhere)
    assert np.all(np.linalg.eigvalsh(precisions) > 0)


def test_fields_same_seed_same_numbers(camera16):
    for kind in FIELDS:
        a = fit_field(kind, camera16, 8000, 5, seed=3)[1]
        b = fit_field(kind, camera16, 8000, 5, seed=3)[1]
        assert np.array_equal(a.psnr_curve, b.psnr_curve), kind


# ------------------------------------------------------------------------------------------- training
def test_full_batch_curve_is_the_loss_and_ends_with_the_trained_field(camera16):
    model, res = fit_field("hash_grid", camera16, 12_000, 60, seed=0)   # every level dense
    assert res.steps.tolist() == list(range(61))
    assert np.all(np.diff(res.seconds) >= 0)
    assert res.psnr_curve[-1] == pytest.approx(res.psnr, abs=1e-3)
    assert res.psnr > 30.0                                        # 12,000 numbers for 256 pixels
    assert np.allclose(np.clip(render(model, camera16), 0, 1), res.reconstruction)
    assert res.seconds_to(-100.0) == pytest.approx(res.setup_seconds)
    assert res.seconds_to(1000.0) == math.inf and res.steps_to(1000.0) == math.inf


def test_minibatch_fit_scores_every_eval_every_steps(camera16):
    _, res = fit_field("gaussian_rbf", camera16, 8000, 30, batch_size=64, eval_every=10, seed=0)
    assert res.steps.tolist() == [0, 10, 20, 30]
    assert res.psnr_curve[-1] > res.psnr_curve[0] + 5


def test_fit_rejects_bad_arguments(camera16):
    model = build_field("siren", 5000, 1, resolution=16)
    for kwargs, msg in [({"steps": -1}, "Parameter 'steps' of fit must be an integer >= 0"),
                        ({"steps": 5, "lr": -1.0}, "Parameter 'lr' of fit must be a number > 0"),
                        ({"steps": 5, "lr": float("nan")}, "Parameter 'lr' of fit must be a number > 0"),
                        ({"steps": 5, "batch_size": 0}, "Parameter 'batch_size' of fit must be an integer >= 1"),
                        ({"steps": 5, "device": "tpu"}, "device must be one of")]:
        with pytest.raises(ValueError, match=msg):
            fit(model, camera16, **kwargs)


def test_zero_steps_scores_the_untrained_field(camera16):
    """The negative control's fit: no update, the field scored as it starts (after its set-up)."""
    model, res = fit_field("gaussian_rbf", camera16, 8000, 0, seed=0)
    assert res.steps.tolist() == [0] and res.seconds.tolist() == [0.0]
    assert res.psnr_curve[-1] == pytest.approx(res.psnr, abs=1e-3)
    fresh = build_field("gaussian_rbf", 8000, 1, resolution=16, seed=0)
    assert np.allclose(np.clip(render(fresh, camera16), 0, 1), res.reconstruction)    # nothing was learned
    assert res.psnr < fit_field("gaussian_rbf", camera16, 8000, 30, seed=0)[1].psnr - 5


# ---------------------------------------------------------------------------------------------- FreSh
def test_spectrum_is_the_diagonal_sum_of_the_dft_magnitude():
    rng = np.random.default_rng(1)
    img = rng.random((12, 12, 2))
    mag = np.abs(np.fft.fft2(img, axes=(0, 1))).sum(-1)
    want = [sum(mag[i, k - i] for i in range(k + 1)) for k in range(1, 7)]
    assert np.allclose(spectrum(img), want)
    assert np.allclose(spectrum(img, 3), want[:3])
    with pytest.raises(ValueError, match=r"Parameter 'crop' of spectrum must be an integer in \[1, 6\]"):
        spectrum(img, 7)
    with pytest.raises(ValueError, match="square"):
        spectrum(rng.random((12, 10)))


def test_spectrum_of_a_cosine_peaks_at_its_frequency():
    R = 64
    x = np.arange(R)
    img = np.cos(2 * np.pi * 9 * x / R)[None, :].repeat(R, 0)      # 9 cycles across
    s = spectrum(img)
    assert int(np.argmax(s)) + 1 == 9


def test_spectrum_distance():
    a = np.zeros(10)
    a[2] = 1
    b = np.zeros(10)
    b[5] = 1
    assert spectrum_distance(a, a) == 0.0
    assert spectrum_distance(a, b) == pytest.approx(3.0)
    assert spectrum_distance(a, 7 * b) == pytest.approx(3.0)        # read as distributions: scale-free


def test_fresh_select_finds_the_frequency_of_a_known_signal():
    pic = load_picture("camera", 32)
    R = 32
    xs = torch.arange(R, dtype=torch.float32)
    pic.image = np.cos(2 * np.pi * 6 * xs.numpy() / R)[None, :, None].repeat(R, 0).astype(np.float32)

    class Wave(torch.nn.Module):                                    # a "field" whose spectrum sits at `value`
        def __init__(self, value, seed):
            super().__init__()
            self.f, self.phase = value, float(torch.rand(1, generator=torch.Generator().manual_seed(seed))) * 6.28

        def forward(self, coords):
            return torch.cos(math.pi * self.f * (coords[:, :1] + 1) + self.phase)

    res = fresh_select(Wave, [2, 4, 6, 8, 10], pic, n_evals=3)
    assert res.chosen == 6.0
    assert res.distances[2] < 1e-4 and np.all(np.delete(res.distances, 2) > 0.5)
    with pytest.raises(ValueError, match="candidates must hold at least two values"):
        fresh_select(Wave, [3], pic)
    with pytest.raises(ValueError, match="Parameter 'n_evals' of fresh_select must be an integer >= 1"):
        fresh_select(Wave, [3, 4], pic, n_evals=0)


def test_fourier_features_sigma_shifts_the_untrained_spectrum_up():
    pic = load_picture("camera", 64)

    def make(sigma, seed):
        return build_field("fourier", 10_000, 1, resolution=64, seed=seed, sigma=sigma)

    res = fresh_select(make, [1.0, 4.0, 16.0], pic, crop=32, n_evals=3)
    k = np.arange(1, 33)
    mean_freq = [(s * k).sum() / s.sum() for s in res.model_spectra]
    assert mean_freq[0] < mean_freq[1] < mean_freq[2]


# ----------------------------------------------------------------------------------------- experiments
def test_compare_fields_and_rbf_layout(camera16):
    runs = compare_fields(camera16, ["gaussian_rbf", "neurbf"], 8000, 5, seed=0)
    assert set(runs) == {"gaussian_rbf", "neurbf"}
    lay = rbf_layout(runs["neurbf"][0], camera16)
    assert lay["centres"].shape[1] == 2 and lay["covariances"].shape[1:] == (2, 2)
    lay = rbf_layout(runs["gaussian_rbf"][0], camera16)
    assert lay["responses"].shape == (64, 16, 16) and lay["winner"].shape == (16, 16)
    with pytest.raises(ValueError, match="NeuRBF or Gaussian RBF"):
        rbf_layout(build_field("siren", 5000), camera16)


def test_compare_fields_checks_every_budget_before_training(camera16):
    with pytest.raises(ValueError, match="too small for the 'neurbf' field"):
        compare_fields(camera16, ["siren", "neurbf"], 1000, 5)
    with pytest.raises(ValueError, match="Parameter 'fields' of compare_fields must be one of"):
        compare_fields(camera16, ["siren", "nerf"], 10_000, 5)
    with pytest.raises(ValueError, match="must not repeat"):
        compare_fields(camera16, ["siren", "siren"], 10_000, 5)


def test_untrained_control_scores_untrained_fields_and_blinds_fresh():
    pic = load_picture("camera", 32)
    runs = compare_fields(pic, ["gaussian_rbf", "hash_grid"], 8000, 40, seed=0)
    null = compare_fields(pic, ["gaussian_rbf", "hash_grid"], 8000, 40, seed=0, control="untrained")
    for k in runs:
        assert null[k][1].steps.tolist() == [0] and null[k][1].psnr < runs[k][1].psnr - 5
    # shuffling keeps the values, flattens the spectrum: FreSh then reaches for the highest frequency
    shuf = shuffled_picture(pic, seed=1)
    assert np.array_equal(np.sort(shuf.image.ravel()), np.sort(pic.image.ravel()))
    assert torch.equal(shuf.values, torch.from_numpy(shuf.image.reshape(-1, 1)))
    k = np.arange(1, 17)
    mean_freq = [(s * k).sum() / s.sum() for s in (spectrum(pic.image), spectrum(shuf.image))]
    assert mean_freq[1] > 1.5 * mean_freq[0]
    real = fresh_choice(pic, 3000, candidates=[1, 2, 4, 8], n_evals=2, seed=0)
    blind = fresh_choice(pic, 3000, candidates=[1, 2, 4, 8], n_evals=2, seed=0, control="untrained")
    assert real.chosen < 8 and blind.chosen == 8
    with pytest.raises(ValueError, match="Parameter 'control' of fresh_choice must be one of"):
        fresh_choice(pic, 3000, control="shuffled")
    with pytest.raises(ValueError, match="Parameter 'control' of compare_fields must be one of"):
        compare_fields(pic, ["siren"], 5000, 2, control=True)


def test_psnr_sentence_is_computed_from_the_fits(camera16):
    runs = {k: r for k, (_, r) in compare_fields(camera16, ["hash_grid", "siren"], 12_000, 60, seed=0).items()}
    text = psnr_sentence(runs, FIELD_LABELS, 30.0)
    h, s = runs["hash_grid"].psnr, runs["siren"].psnr
    assert h >= 30 > s                                                    # as in the training test above
    assert text == (f"at or above 30 dB: {FIELD_LABELS['hash_grid']} ({h:.2f} dB); "
                    f"below 30 dB: {FIELD_LABELS['siren']} ({s:.2f} dB).")


def test_fresh_study_trains_each_sigma_once(camera16):
    study = fresh_study(camera16, 3000, 4, candidates=[1, 2, 3], default_sigma=1.0, grid_sigmas=[1, 3],
                        n_evals=2, crop=4)
    assert set(study.results) == {1.0, 3.0, study.chosen_sigma}
    assert study.best_grid_psnr == max(study.psnr(1.0), study.psnr(3.0))
    with pytest.raises(ValueError, match="grid_sigmas must be a non-empty list of positive numbers"):
        fresh_study(camera16, 3000, 4, grid_sigmas=[0, 1])


def test_fresh_choice_is_reused_by_the_study(camera16):
    choice = fresh_choice(camera16, 3000, candidates=[1, 2, 3], n_evals=2, crop=4, seed=5)
    again = fresh_choice(camera16, 3000, candidates=[1, 2, 3], n_evals=2, crop=4, seed=5)
    assert np.array_equal(choice.distances, again.distances)              # same seed, same numbers
    study = fresh_study(camera16, 3000, 3, grid_sigmas=[2], fresh=choice)
    assert study.fresh is choice and set(study.results) == {1.0, 2.0, choice.chosen}


def test_fit_cache_fits_once_and_raises_small_budgets(camera16):
    cache = FitCache(16, 3)
    image, first = cache.get("siren", "camera", 10)                      # raised to the smallest SIREN
    assert image.shape == (16, 16, 1) and first.n_params == min_params("siren", 1, 16)
    assert cache.get("siren", "camera", 10)[1] is first
    cache.add("camera", camera16, 8000, {"hash_grid": first})
    assert cache.get("hash_grid", "camera", 8000)[1] is first
