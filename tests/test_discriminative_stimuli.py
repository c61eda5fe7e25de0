"""Tests for labkit.neuro.discriminative_stimuli: the simulated types, the objective, the M- and E-steps, the
alternation on the official ON/OFF toy, the twin, the scores, bad input and repeatability."""
import math

import numpy as np
import pytest
import torch

from labkit.core.estimator import NotFittedError
from labkit.neuro.discriminative_stimuli import (
    DigitalTwin,
    ari,
    cluster_means,
    contrastive_objective,
    draw_cells,
    e_step,
    matched_accuracy,
    mds_cluster,
    optimize_stimuli,
    simulate_retina,
    type_names,
)
from labkit.neuro.discriminative_stimuli.experiment import cluster, fit_twin, model_free_typing
from labkit.neuro.discriminative_stimuli.mds import check_assignment, check_k
from labkit.neuro.discriminative_stimuli.simulate import temporal_filter, white_noise

pytestmark = pytest.mark.usefixtures("one_thread")


def normalised_truth(cells, side, frames=20, seed=0):
    """The true LN cells as the 'model', z-scored by their response to white noise."""
    noise = white_noise(300, frames, side, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        r = cells.model(noise)
    mu, sd = r.mean(0), r.std(0)
    return lambda x: (cells.model(x) - mu) / sd


@pytest.fixture(scope="module")
def tiny_retina():
    return simulate_retina(3, 6, side=12, n_movies=200, seed=3)


@pytest.fixture(scope="module")
def tiny_twin(tiny_retina):
    return DigitalTwin(steps=15, batch_size=16, seed=3).fit(tiny_retina.movies, tiny_retina.counts)


# ------------------------------------------------------------------------------------------- the truth
def test_types_filters_and_polarity():
    assert type_names(6) == ("ON sustained small", "ON transient small", "ON transient large",
                             "OFF sustained small", "OFF transient small", "OFF transient large")
    f = temporal_filter(np.array(["mono", "bi"]), np.array([2.5, 1.2]))
    assert np.allclose(np.linalg.norm(f, axis=1), 1)
    assert f[0].min() >= 0 and f[1].min() < 0                  # sustained is monophasic, transient biphasic
    cells = draw_cells(("ON sustained small", "OFF sustained small"), 1, 12, np.random.default_rng(0), centred=0.0)
    flash = torch.zeros(1, 20, 12, 12)
    flash[:, -6:, 5:7, 5:7] = 3.0                               # a bright spot on the RF centres, just now
    on, off = cells.model(flash)[0]
    assert on > off                                             # ON cells like light, OFF cells do not


def test_simulate_shapes_and_repeatability():
    a = simulate_retina(2, 5, side=10, n_movies=30, seed=4)
    b = simulate_retina(2, 5, side=10, n_movies=30, seed=4)
    assert a.movies.shape == (30, 20, 10, 10) and a.counts.shape == (30, 10)
    assert np.array_equal(a.types, np.repeat([0, 1], 5))
    assert torch.equal(a.counts, b.counts) and torch.equal(a.movies, b.movies)
    assert (a.counts >= 0).all() and float(a.counts.mean()) > 1


# ------------------------------------------------------------------------------------------- objective
def test_contrastive_objective_values():
    # stimulus c drives only cluster c very strongly: the objective tends to log K
    r = torch.eye(4) * 100.0
    assert torch.allclose(contrastive_objective(r, 1.6), torch.full((4,), math.log(4)), atol=1e-6)
    # all clusters respond alike: 0
    assert torch.allclose(contrastive_objective(torch.ones(3, 3) * 2.0), torch.zeros(3), atol=1e-6)
    # the formula, by hand
    r = torch.tensor([[1.0, 0.5], [0.2, 0.9]])
    t = 1.6
    want = torch.tensor([1 / t - math.log(math.exp(1 / t) + math.exp(0.5 / t)),
                         0.9 / t - math.log(math.exp(0.2 / t) + math.exp(0.9 / t))]) + math.log(2)
    assert torch.allclose(contrastive_objective(r, t), want, atol=1e-6)


def test_cluster_means_and_e_step():
    resp = torch.tensor([[1.0, 3.0, 0.0], [2.0, 1.0, 5.0]])
    assert torch.allclose(cluster_means(resp, torch.tensor([0, 0, 1]), 2), torch.tensor([[2.0, 0.0], [1.5, 5.0]]))
    assert list(e_step(resp)) == [1, 0, 1]


def test_m_step_raises_every_objective():
    cells = draw_cells(("ON sustained small", "OFF transient large"), 3, 12, np.random.default_rng(1), centred=0.0)
    fn = normalised_truth(cells, 12)
    m = optimize_stimuli(fn, cells.types, 2, (20, 12, 12), norm=math.sqrt(20 * 144), seed=0)
    assert m.stimuli.shape == (2, 20, 12, 12)
    assert np.allclose(m.stimuli.reshape(2, -1).norm(dim=1).numpy(), math.sqrt(20 * 144), rtol=1e-5)
    assert (m.objective[-1] > m.objective[0]).all() and (m.objective[-1] > 0.3 * math.log(2)).all()
    assert m.steps <= 50


# ------------------------------------------------------------------------------- the official ON/OFF toy
@pytest.mark.parametrize("seed", [0, 1])
def test_official_toy_collapses_to_two(seed):
    """The official example: 42 ON/OFF neurons on an 18×18 canvas; 5 starting clusters collapse to the true 2."""
    cells = draw_cells(("ON sustained small", "OFF sustained small"), 21, 18, np.random.default_rng(seed),
                       jitter=0.0, centred=0.0)
    res = mds_cluster(normalised_truth(cells, 18, seed=seed), 42, (20, 18, 18), 5, norm=math.sqrt(20 * 18 * 18),
                      seed=seed)
    assert res.n_clusters == 2 and ari(cells.types, res.assignment) == 1.0
    assert res.converged and len(res.stimuli) <= 10


def test_repeatable():
    cells = draw_cells(("ON sustained small", "OFF transient large"), 4, 12, np.random.default_rng(2), centred=0.5)
    fn = normalised_truth(cells, 12)
    a = mds_cluster(fn, 8, (20, 12, 12), 3, norm=10.0, seed=5, max_iter=2)
    b = mds_cluster(fn, 8, (20, 12, 12), 3, norm=10.0, seed=5, max_iter=2)
    assert np.array_equal(a.assignment, b.assignment) and torch.equal(a.stimuli[-1], b.stimuli[-1])


# ------------------------------------------------------------------------------------------- the twin
def test_twin_fits_and_control_cannot_tell_cells_apart(tiny_retina, tiny_twin):
    assert tiny_twin.predict(tiny_retina.movies[:5]).shape == (5, 18)
    assert np.isfinite(tiny_twin.loss_).all() and tiny_twin.loss_[-5:].mean() < tiny_twin.loss_[:5].mean()
    shared = DigitalTwin(steps=3, batch_size=8, shared_readout=True).fit(tiny_retina.movies, tiny_retina.counts)
    z = shared.normalized(tiny_retina.movies[:4])
    assert torch.allclose(z, z[:, :1].expand_as(z))
    res = cluster(shared, 3, seed=0)
    assert res.n_clusters == 1                                  # every neuron alike: one cluster


def test_twin_cache_restores_same_numbers(tiny_retina, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    a = fit_twin(tiny_retina, steps=4, seed=1)
    b = fit_twin(tiny_retina, steps=4, seed=1)
    assert np.array_equal(a.predict(tiny_retina.movies[:3]), b.predict(tiny_retina.movies[:3]))


def test_model_free_typing_is_argmax_of_true_counts(tiny_retina):
    stimuli = torch.randn(4, 20, 12, 12, generator=torch.Generator().manual_seed(0))
    held, typed = model_free_typing(tiny_retina, stimuli, 5, seed=0)
    again, typed2 = model_free_typing(tiny_retina, stimuli, 5, seed=0)
    assert len(typed) == 15 and set(typed) <= {0, 1, 2, 3} and np.array_equal(typed, typed2)
    assert np.array_equal(held.types, np.repeat([0, 1, 2], 5))
    assert np.abs(held.positions - 5.5).max() <= 1.0           # centred on the stimulus up to ±1 pixel


def test_scores():
    t = np.array([0, 0, 1, 1, 2, 2])
    assert ari(t, [5, 5, 3, 3, 1, 1]) == 1.0 and matched_accuracy(t, [5, 5, 3, 3, 1, 1]) == 1.0
    assert matched_accuracy(t, [0, 0, 0, 0, 0, 0]) == pytest.approx(1 / 3)
    assert matched_accuracy(t, [0, 1, 1, 1, 2, 2]) == pytest.approx(5 / 6)


# ------------------------------------------------------------------------------------------- bad input
def test_bad_input(tiny_retina, tiny_twin):
    with pytest.raises(ValueError, match="stimuli"):
        tiny_twin.normalized(torch.zeros(2, 20, 10, 10))
    with pytest.raises(ValueError, match="k"):
        check_k(1, 10)
    with pytest.raises(ValueError, match="more clusters than there are neurons"):
        cluster(tiny_twin, 19)
    with pytest.raises(NotFittedError, match="not fitted"):
        DigitalTwin().normalized(torch.zeros(1, 20, 12, 12))
    with pytest.raises(ValueError, match="temperature"):
        contrastive_objective(torch.eye(2), 0.0)
    with pytest.raises(ValueError, match="temperature"):
        cluster(tiny_twin, 3, temperature=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        e_step(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        DigitalTwin(steps=1).fit(tiny_retina.movies[:4], torch.full((4, 3), float("nan")))
    with pytest.raises(ValueError, match="assignment"):
        check_assignment([0, 1], 3)
    with pytest.raises(ValueError, match="assignment"):
        mds_cluster(lambda x: x.reshape(len(x), -1)[:, :3], 3, (20, 12, 12), 2, 1.0, init=[0, 1])
    with pytest.raises(ValueError, match="lr"):
        DigitalTwin(lr=0.0).fit(tiny_retina.movies[:4], tiny_retina.counts[:4])
