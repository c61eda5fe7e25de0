"""Tests for labkit.interp.knowledge_neurons: the planted corpus, batched deactivation against one-by-one hooks,
the edits against their closed forms, steering and bad input. A tiny model, trained for a few seconds."""
import numpy as np
import pytest
import torch

from labkit.interp.knowledge_neurons import (
    causal_trace,
    clamp,
    deactivate,
    deactivate_one,
    deactivation_study,
    edited,
    fact_edit,
    group_neurons,
    key_covariance,
    make_facts,
    masks_from,
    mlp_keys,
    neuron_stats,
    pmet_update,
    readout,
    rome_update,
    specificity_scores,
    steering,
    train_fact_model,
)
from labkit.interp.knowledge_neurons.edit import check_edit
from labkit.interp.knowledge_neurons.facts import POOL


@pytest.fixture(scope="module")
def corpus():
    return make_facts(n_subjects=20, seed=3)


@pytest.fixture(scope="module")
def fm(corpus):
    return train_fact_model(corpus, d_model=32, d_mlp=32, max_steps=30, batch_size=128, check_every=10,
                            seed=1, cache=False)


def test_corpus_counts_and_truth():
    c = make_facts()
    assert len(c) == 3600 and c.tokens.shape == (3600, 6)
    assert np.bincount(c.language).tolist() == [1200] * 3 and np.bincount(c.relation).tolist() == [900] * 4
    # vocabularies are disjoint across languages, and each statement uses only its language's tokens (or padding)
    for g in range(3):
        rows = c.tokens[torch.as_tensor(c.language == g)]
        inside = np.isin(rows.numpy(), np.r_[0, c.language_tokens(g)])
        assert inside.all()
    # the answer is the planted object of (subject, relation), the same index in every language
    assert (c.object == c.facts[c.subject, c.relation]).all()
    assert (c.answers.numpy() == c.object_token(c.language, c.relation, c.object)).all()
    # two-token subjects, distinct per subject; word orders S-R, R-S, S-particle-R
    i0, i1, i2 = (c.index(5, 2, g, 0) for g in range(3))
    words = [[c.vocab[t] for t in c.tokens[i].tolist() if t] for i in (i0, i1, i2)]
    assert [w[3] for w in words[0]] == ["s", "s", "r", "r"]
    assert [w[3] for w in words[1]] == ["r", "r", "s", "s"]
    assert [w[3:4] for w in words[2]] == ["s", "s", "p", "r", "r"]
    para = c.tokens[c.index(5, 2, 0, 1)].tolist()
    assert c.vocab[[t for t in para if t][0]] == "L0:filler"
    pairs = {tuple(c.tokens[c.index(s, 0, 0, 0)][2:4].tolist()) for s in range(c.n_subjects)}
    assert len(pairs) == c.n_subjects and POOL ** 2 >= c.n_subjects


def test_same_seed_same_corpus_and_model(corpus):
    again = make_facts(n_subjects=20, seed=3)
    assert torch.equal(again.tokens, corpus.tokens) and (again.facts == corpus.facts).all()
    a = train_fact_model(corpus, d_model=16, d_mlp=16, n_heads=2, max_steps=5, seed=2, cache=False)
    b = train_fact_model(corpus, d_model=16, d_mlp=16, n_heads=2, max_steps=5, seed=2, cache=False)
    assert torch.equal(a.model.W_E, b.model.W_E)


def test_stats_and_selection(fm, corpus):
    stats = neuron_stats(fm.model, corpus, "mean")
    assert stats.shape == (7, 2 * 32)
    # the hook reduction equals the mean of the cached activations over each group's prompts
    _, cache = fm.model.run_with_cache(corpus.tokens, names=["blocks.1.mlp.hook_post"])
    a = cache["blocks.1.mlp.hook_post"][:, -1].numpy()
    np.testing.assert_allclose(stats[4, 32:], a[corpus.language == 0].mean(0), rtol=1e-5, atol=1e-6)
    scores = specificity_scores(stats, list(corpus.groups()))
    rel = stats[:4]
    np.testing.assert_allclose(scores[0], rel[0] - rel[1:].max(0), atol=1e-6)
    sets = group_neurons(fm.model, corpus, 0.25, stats=stats)
    assert all(len(v) == 16 for v in sets.values())
    assert scores[0, sets["rel0"][0]] == scores[0].max()
    prob = neuron_stats(fm.model, corpus, "prob")
    assert ((prob >= -1e-6) & (prob <= 1 + 1e-5)).all()


def test_batched_deactivation_matches_one_by_one(fm, corpus):
    rng = np.random.default_rng(0)
    sets = [rng.choice(64, k, replace=False) for k in (0, 5, 16, 40)]
    batched = deactivate(fm.model, corpus.tokens, corpus.answers, masks_from(sets, 64), max_rows=2 * len(corpus))
    for s, row in zip(sets, batched):
        assert torch.equal(row, deactivate_one(fm.model, corpus.tokens, corpus.answers, s))
    assert batched[0].float().mean() == pytest.approx(fm.accuracy)


def test_deactivation_study_shapes(fm, corpus):
    st = deactivation_study(fm.model, corpus, budgets=(0.1, 0.25), n_random=2)
    assert st.own[0.25].shape == (7, 7) and st.random[0.1].shape == (2, 7)
    d = st.drops(0.25, "rel")
    assert set(d) == {"own", "other", "random", "own_over_other", "own_over_random"}
    idx = [0, 1, 2, 3]
    assert d["own"] == pytest.approx(float(np.mean(st.base[idx] - np.diag(st.own[0.25][np.ix_(idx, idx)]))))
    sizes = np.array([m.sum() for m in corpus.groups().values()])
    flat = deactivation_study(fm.model, corpus, budgets=(0.1, 0.25), n_random=1)
    flat.base = np.full(7, 0.9)
    flat.own = {b: np.tile(flat.base, (7, 1)) for b in flat.budgets}     # nothing ever drops: not cumulative
    assert not flat.cumulative("rel", sizes)
    flat.own = {0.1: np.tile(flat.base, (7, 1)) - 0.01 * np.eye(7), 0.25: np.tile(flat.base, (7, 1)) - 0.5 * np.eye(7)}
    assert flat.cumulative("rel", sizes)


def test_rome_closed_form():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(500, 12, generator=g, dtype=torch.float64)
    C = X.T @ X / 500
    k, r = torch.randn(12, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)
    dW = rome_update(k, r, C)
    np.testing.assert_allclose(dW @ k, r, atol=1e-10)                 # (W + ΔW) k = W k + r
    assert torch.linalg.matrix_rank(dW) == 1
    # among all ΔW with ΔW k = r, ROME's has the smallest tr(ΔW C ΔWᵀ): compare with a perturbed solution
    Z = torch.randn(5, 12, generator=g, dtype=torch.float64)
    Z = Z - torch.outer(Z @ k, k) / (k @ k)                          # Z k = 0, so dW + Z still satisfies it
    assert torch.trace(dW @ C @ dW.T) < torch.trace((dW + Z) @ C @ (dW + Z).T)


def test_pmet_closed_form():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(300, 10, generator=g, dtype=torch.float64)
    C = X.T @ X / 300
    K, R = torch.randn(10, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g, dtype=torch.float64)
    lam = 0.7
    dW = pmet_update(K, R, C, lam)
    grad = (dW @ K - R) @ K.T + lam * dW @ C                         # gradient of ½‖ΔW K − R‖² + ½λ tr(ΔW C ΔWᵀ)
    assert grad.abs().max() < 1e-10
    assert torch.allclose(pmet_update(K, R, C, 1e-9) @ K, R, atol=1e-6)            # λ → 0: the keys are written exactly


def test_fact_edit_writes_the_residual(fm, corpus):
    layer = 0
    C = key_covariance(fm.model, corpus, layer)
    s, r = 3, 1
    new = int((corpus.facts[s, r] + 1) % corpus.n_objects)
    dW, k, res = fact_edit(fm.model, corpus, C, s, r, 0, new, layer, method="rome", steps=5)
    row = corpus.index(s, r, 0, 0)
    name = f"blocks.{layer}.hook_mlp_out"
    _, before = fm.model.run_with_cache(corpus.tokens[row:row + 1], names=[name])
    W0 = fm.model.blocks[layer].mlp.W_out.clone()
    with edited(fm.model, layer, dW):
        _, after = fm.model.run_with_cache(corpus.tokens[row:row + 1], names=[name])
        np.testing.assert_allclose(mlp_keys(fm.model, corpus.tokens[row:row + 1], layer)[0], k, atol=1e-6)
    assert torch.equal(fm.model.blocks[layer].mlp.W_out, W0)             # reverted
    np.testing.assert_allclose((after[name] - before[name])[0, -1], res, atol=1e-4)
    assert res.norm() <= 0.75 * before[name][0, -1].norm() + 1e-5       # the norm clamp


def test_readout_clamp_trace_steering(fm, corpus):
    R = readout(fm.model)
    assert R.shape == (2, 32, corpus.d_vocab)
    W = fm.model.blocks[1].mlp.W_out[5] * fm.model.ln_final.w
    np.testing.assert_allclose(R[1, 5], W @ fm.model.W_U, rtol=1e-5, atol=1e-6)
    pred = clamp(fm.model, corpus.tokens[:10], 1, [2, 7], [100.0, 0.0])
    assert pred.shape == (2, 10)
    top = R[1, 2].argmax()
    assert (pred[0] == top).all()                                    # a huge activation wins
    tr = causal_trace(fm.model, corpus, np.arange(12))
    assert tr["restored"].shape == (2, 6)
    s = steering(fm.model, corpus, 0, 1, 1)
    assert 0 <= s["in_target"] <= 1


def test_bad_input(fm, corpus):
    with pytest.raises(ValueError, match="budget"):
        group_neurons(fm.model, corpus, 0.0)
    with pytest.raises(ValueError, match="budget"):
        group_neurons(fm.model, corpus, 1.5)
    with pytest.raises(ValueError, match="stat"):
        neuron_stats(fm.model, corpus, "median")
    with pytest.raises(ValueError, match="out of range"):
        masks_from([[64]], 64)
    with pytest.raises(ValueError, match="layer"):
        readout(fm.model, 2)
    with pytest.raises(ValueError, match="neurons"):
        clamp(fm.model, corpus.tokens[:2], 0, [32], [1.0])
    with pytest.raises(ValueError, match="new_object"):
        check_edit(corpus, 0, 0, int(corpus.facts[0, 0]))            # the current object
    with pytest.raises(ValueError, match="new_object"):
        check_edit(corpus, 0, 0, corpus.n_objects)                   # not one of the relation's objects
    with pytest.raises(ValueError, match="relation"):
        check_edit(corpus, 0, 9, 1)
    with pytest.raises(ValueError, match="lam"):
        pmet_update(torch.ones(4, 1), torch.ones(3, 1), torch.eye(4), 0.0)
    with pytest.raises(ValueError, match="n_subjects"):
        make_facts(n_subjects=500)
    with pytest.raises(ValueError, match="control"):
        train_fact_model(corpus, control="shuffled")
    with pytest.raises(ValueError, match="tokens"):
        fm.model(torch.tensor([[corpus.d_vocab]]))
    W0 = fm.model.blocks[0].mlp.W_out.clone()
    with pytest.raises(ValueError, match="new_object"):
        fact_edit(fm.model, corpus, torch.eye(32), 0, 0, 0, int(corpus.facts[0, 0]), 0)
    assert torch.equal(fm.model.blocks[0].mlp.W_out, W0)             # nothing written
