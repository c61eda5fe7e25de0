"""Neuron descriptions: the scene grammar's truth, exemplars, PMI against brute force, IoU by hand, bad inputs."""
import numpy as np
import pytest

from labkit.core.params import ParameterError
from labkit.data.scenes import Grammar, draw_scenes
from labkit.interp.neuron_descriptions import (
    Captioner,
    auroc,
    describe,
    dissect,
    exemplars,
    exemplars_numpy,
    iou,
    pmi_scores,
    slot_f1,
)
from labkit.interp.neuron_descriptions.planted import (
    annotation_prior,
    annotator_distribution,
    planted_activations,
    planted_units,
)


@pytest.fixture(scope="module")
def grammar():
    return Grammar()


@pytest.fixture(scope="module")
def scenes():
    return draw_scenes(300, seed=0, marker_at=np.where(np.arange(300) % 3 == 0, np.arange(300) % 5, -1))


def test_scenes_are_deterministic_and_labelled(scenes):
    again = draw_scenes(300, seed=0, marker_at=np.where(np.arange(300) % 3 == 0, np.arange(300) % 5, -1))
    assert np.array_equal(scenes.images, again.images)
    assert scenes.images.shape == (300, 3, 32, 32) and scenes.masks.shape == (300, 4, 32, 32)
    assert (scenes.masks.sum((-1, -2)) > 0).tolist() == scenes.present.tolist()
    # objects never overlap, and each object has one value per attribute
    assert scenes.masks.sum(1).max() <= 1
    f = scenes.features[:, :3][scenes.present[:, :3]]
    assert (f[:, 0:2].sum(1) == 1).all() and (f[:, 4:10].sum(1) == 1).all() and (f[:, 10:15].sum(1) == 1).all()


def test_grammar_truth_by_hand(grammar):
    s = draw_scenes(400, seed=3)
    # find a scene with a small red circle; whole-picture truth and single-object regions
    f = s.features
    hit = np.argwhere(f[:, :3, 0] & f[:, :3, 4] & f[:, :3, 10])
    i, o = hit[0]
    whole = np.ones((32, 32), bool)
    assert grammar.holds("small red circle", s, i, whole)
    assert grammar.holds("red", s, i, s.masks[i, o]) and grammar.holds("circle", s, i, s.masks[i, o])
    assert not grammar.holds("large red circle", s, i, s.masks[i, o])
    assert not grammar.holds("small red circle", s, i, np.zeros((32, 32), bool))
    # a region at 16x16 resolution works too
    assert grammar.holds("red circle", s, i, s.masks[i, o].reshape(16, 2, 16, 2).any((1, 3)))


def test_relations_and_disjunctions_by_hand(grammar):
    s = draw_scenes(400, seed=4)
    whole = np.ones((len(s), 32, 32), bool)
    truth = grammar.truth(s, whole)
    d = grammar.index("circle left of a square")
    sh = s.features[:, :3, 10:15].argmax(-1)
    pres = s.present[:, :3]
    expect = np.zeros(len(s), bool)
    for n in range(len(s)):
        for a in range(3):
            for b in range(3):
                if pres[n, a] and pres[n, b] and sh[n, a] == 0 and sh[n, b] == 1 and s.cx[n, a] < s.cx[n, b] - 8:
                    expect[n] = True
    assert np.array_equal(truth[:, d], expect) and expect.any()
    dis = grammar.index("square or circle")
    assert grammar.texts[dis] == "circle or square"
    assert np.array_equal(truth[:, dis], ((sh <= 1) & pres).any(1))
    # a relation needs both objects inside the region
    n = np.flatnonzero(expect)[0]
    a = [o for o in range(3) if pres[n, o] and sh[n, o] == 0][0]
    assert not grammar.holds(d, s, n, s.masks[n, a])


def test_grammar_parses_and_names_the_unknown_word(grammar):
    assert grammar.texts[grammar.index("  Small  RED circle ")] == "small red circle"
    with pytest.raises(ParameterError, match="'purple'"):
        grammar.index("purple circle")
    with pytest.raises(ParameterError, match="no rule"):
        grammar.index("circle red")
    with pytest.raises(ParameterError, match="out of range"):
        grammar.index(len(grammar))


def test_exemplars_match_numpy_and_stream(grammar, scenes):
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(300, 6, 8, 8)).astype(np.float32)
    a = exemplars(acts, k=7, q=0.95, chunk=64)
    b = exemplars_numpy(acts, k=7, q=0.95)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    np.testing.assert_allclose(a.thresholds, b.thresholds, rtol=1e-5)
    c = exemplars(acts, k=7, q=0.95, chunk=300)
    assert np.array_equal(a.images, c.images)


def test_exemplars_bad_input():
    acts = np.zeros((10, 2, 4, 4), np.float32)
    with pytest.raises(ParameterError, match="'k'"):
        exemplars(acts, k=0)
    with pytest.raises(ParameterError, match="'k'"):
        exemplars(acts, k=11)
    with pytest.raises(ParameterError, match="'q'"):
        exemplars(acts, k=2, q=1.0)
    with pytest.raises(ParameterError, match="acts holds maps of 10 images but the images are 12"):
        exemplars(acts, n_images=12)


def test_planted_units_fire_on_their_description(grammar, scenes):
    units = planted_units(scenes, grammar, 8, seed=1, n_corrupted=0, min_scenes=5)
    acts = planted_activations(units, scenes, grammar, noise=0.0)
    holds = grammar.participation(scenes).any(1)[:, units.descriptions]
    assert np.array_equal(acts.max((2, 3)) > 0, holds)


def test_pmi_is_brute_force_argmax(grammar):
    rng = np.random.default_rng(0)
    L = np.log(rng.dirichlet(np.ones(len(grammar)), 5))
    prior = np.log(rng.dirichlet(np.ones(len(grammar))))
    for lam in (0.0, 0.3, 1.0):
        brute = [max(range(len(grammar)), key=lambda d: L[u, d] - lam * prior[d]) for u in range(5)]
        assert describe(L, prior, lam).tolist() == brute
    top = describe(L, prior, 0.3, top=5)
    assert top[:, 0].tolist() == describe(L, prior, 0.3).tolist()
    with pytest.raises(ParameterError, match="'lam'"):
        pmi_scores(L, prior, -0.1)


def test_captioner_scores_every_description_with_one_product(grammar, scenes):
    units = planted_units(scenes, grammar, 8, seed=1, n_corrupted=0, min_scenes=5)
    feats = np.random.default_rng(0).normal(size=(8, 106)).astype(np.float32)
    ann = annotator_distribution(grammar, units.descriptions, 0.3)
    cap = Captioner(grammar, steps=5).fit(feats, ann)
    L = cap.log_likelihood(feats)
    assert L.shape == (8, len(grammar))
    np.testing.assert_allclose(np.exp(L).sum(1), 1.0, rtol=1e-6)
    prior = annotation_prior(grammar, ann)
    assert np.isclose(np.exp(prior).sum(), 1.0)


def test_iou_and_dissection_by_hand():
    m = np.zeros((4, 4), bool)
    m[:2, :2] = True
    c = np.zeros((4, 4), bool)
    c[1:3, 1:3] = True
    assert iou(m, c) == pytest.approx(1 / 7)
    acts = np.where(m, 1.0, 0.0)[None, None].astype(np.float32)
    out = dissect(acts, np.array([0.5]), c[None, None])
    assert out[0, 0] == pytest.approx(1 / 7)


def test_slot_f1_and_auroc(grammar):
    src = grammar.index("small red circle")
    assert slot_f1(grammar, [grammar.index("red")], [src])[0] == pytest.approx(0.5)
    assert slot_f1(grammar, [src], [src])[0] == 1.0
    labels = np.array([[0], [0], [1], [1]], bool)
    assert auroc(labels, np.array([[0.1], [0.4], [0.35], [0.8]]))[0] == pytest.approx(0.75)


def test_unit_out_of_range_is_named(grammar):
    from types import SimpleNamespace

    from labkit.interp.neuron_descriptions.experiment import top_descriptions

    kit = SimpleNamespace(log_prior=np.zeros(len(grammar)), grammar=grammar)
    L = np.zeros((3, len(grammar)))
    assert len(top_descriptions(kit, L, 2, 0.3)) == 5
    with pytest.raises(ParameterError, match="'unit'"):
        top_descriptions(kit, L, 3, 0.3)
