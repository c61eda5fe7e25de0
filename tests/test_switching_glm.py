"""Tests for labkit.neuro.switching_glm: the chunked HMM recursions (against the textbook recursion of
switching_glm/reference.py), the Poisson HMM, the simulator, the switching GLM estimator and its bad-input
handling."""
import itertools
import math

import numpy as np
import pytest
import torch
from scipy.special import expit

from labkit.core.estimator import NotFittedError
from labkit.core.params import ParameterError
from labkit.data.networks import random_backbone, worm_backbone
from labkit.neuro.switching_glm import (
    PoissonHMM,
    SwitchingGLM,
    _chunked,
    backbone_roc,
    control_spikes,
    convolve_history,
    coupling_captured,
    forward_backward,
    history_basis,
    hmm,
    independent_log_likelihood,
    match_states,
    signed_accuracy,
    simulate_switching_glm,
    state_accuracy,
    viterbi,
)
from labkit.neuro.switching_glm.mstep import _emission_terms, _ExpectedLogLik, gumbel_softmax_log_density
from labkit.neuro.switching_glm.reference import reference_forward_backward as naive_forward_backward


# ------------------------------------------------------------------------------ the recursions against the reference
def random_hmm(B, T, K, seed, scale=4.0, min_prob=None):
    rng = np.random.default_rng(seed)
    le = scale * rng.standard_normal((B, T, K))
    lp = np.log(rng.dirichlet(np.ones(K)))
    a = rng.dirichlet(np.ones(K), size=K)
    if min_prob is not None:                            # a near-deterministic chain: rescaling every few bins
        a = np.full((K, K), min_prob) + (1 - K * min_prob) * np.eye(K)
    return le, lp, np.log(a)


@pytest.mark.parametrize("B, T, K", [(1, 1, 3), (1, 2, 2), (2, 5, 3), (3, 50, 4), (2, 333, 5), (1, 4000, 3),
                                     (2, 64, 1), (4, 97, 8), (2, 1500, 6)])
def test_forward_backward_matches_the_textbook_recursion(B, T, K):
    le, lp, la = random_hmm(B, T, K, seed=T + K)
    g, xi, ll = naive_forward_backward(le, lp, la)
    post = forward_backward(torch.tensor(le), torch.tensor(lp), torch.tensor(la))
    assert np.allclose(post.gamma.numpy(), g, atol=1e-9)
    assert np.allclose(post.xi_sum.numpy(), xi, rtol=1e-9, atol=1e-9)
    assert np.allclose(post.log_likelihood.numpy(), ll, rtol=1e-12, atol=1e-8)
    assert np.allclose(post.gamma.sum(-1).numpy(), 1.0)
    assert np.isclose(post.xi_sum.sum().item(), B * (T - 1))
    only = hmm.log_likelihood(torch.tensor(le), torch.tensor(lp), torch.tensor(la))
    assert np.allclose(only.numpy(), ll, rtol=1e-12, atol=1e-8)


def test_forward_backward_is_safe_with_extreme_transitions_and_emissions():
    # transitions of 1e-40 force a rescale every ~6 bins; emissions spanning 1e4 nats underflow to 0
    le, lp, la = random_hmm(2, 700, 3, seed=1, scale=2000.0, min_prob=1e-40)
    g, xi, ll = naive_forward_backward(le, lp, la)
    post = forward_backward(torch.tensor(le), torch.tensor(lp), torch.tensor(la))
    assert np.all(np.isfinite(post.gamma.numpy())) and np.allclose(post.gamma.numpy(), g, atol=1e-9)
    assert np.allclose(post.log_likelihood.numpy(), ll, rtol=1e-12)
    assert np.allclose(post.xi_sum.numpy(), xi, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("base", [1, 6])
def test_vector_prefix_matches_sequential_products(base):
    rng = np.random.default_rng(base)
    for m in list(range(1, 20)) + [37, 64, 101]:
        M = rng.random((3, m, 4, 4)) ** 3
        v0 = rng.dirichlet(np.ones(4), size=3)
        got = _chunked._vector_prefix(v0, M.copy(), base)
        s = v0
        for c in range(m):
            s = np.einsum("ri,rij->rj", s, M[:, c])
            s = s / s.sum(-1, keepdims=True)
            assert np.allclose(got[:, c], s, rtol=1e-12, atol=1e-15), (m, c)


@pytest.mark.parametrize("K, eps, spread, seed", [(2, 3.4e-151, 2000.0, 0), (3, 1e-140, 300.0, 2),
                                                  (3, 1e-120, 300.0, 12), (4, 0.0, 300.0, 5)])
def test_forward_backward_with_transitions_far_below_float_range(K, eps, spread, seed):
    """min(A) below ~1e-100 forces a rescale after every bin, in the chunk products and in the recursion;
    emissions that single out one state per bin make the entering messages as lopsided as they get."""
    T = 51
    rng = np.random.default_rng(seed)
    z = rng.integers(0, K, T)
    le = np.full((1, T, K), -spread)
    le[0, np.arange(T), z] = 0.0
    le += rng.standard_normal((1, T, K))
    with np.errstate(divide="ignore"):                  # eps = 0: a cycle with exact zeros (log 0 = -inf)
        la = np.log(np.full((K, K), eps) + (1 - K * eps) * np.eye(K)) if eps > 0 else \
            np.log(0.5 * np.eye(K) + 0.5 * np.roll(np.eye(K), 1, axis=1))
    lp = np.log(np.full(K, 1.0 / K))
    g, xi, ll = naive_forward_backward(le, lp, la)
    post = forward_backward(torch.tensor(le), torch.tensor(lp), torch.tensor(la))
    assert np.allclose(post.log_likelihood.numpy(), ll, rtol=1e-12)
    assert np.allclose(post.gamma.numpy(), g, atol=1e-9)
    assert np.allclose(post.xi_sum.numpy(), xi, rtol=1e-7, atol=1e-7)


def test_forward_backward_on_random_extreme_models():
    """A sweep over models from benign to extreme: min(A) from 1e-5 to 1e-160, emissions spread over 4 to
    2000 nats, per-trial start probabilities, T across chunk-length boundaries."""
    rng = np.random.default_rng(2026)
    checked = 0
    for _ in range(80):
        K, B = int(rng.choice([2, 3, 4, 5, 8])), int(rng.integers(1, 4))
        T = int(rng.choice([5, 17, 26, 51, 97]))
        eps = 10.0 ** -rng.uniform(5, 160)
        if rng.random() < 0.5:
            a = np.full((K, K), eps) + (1 - K * eps) * np.eye(K)
        else:
            a = rng.dirichlet(np.ones(K), size=K)
            a[a < 1e-3] = eps
            a /= a.sum(1, keepdims=True)
        spread = float(rng.choice([4.0, 50.0, 300.0, 2000.0]))
        if rng.random() < 0.5:
            le = spread * rng.standard_normal((B, T, K))
        else:                                            # one likely state per bin
            le = np.full((B, T, K), -spread)
            le[:, np.arange(T), rng.integers(0, K, T)] = 0.0
            le += rng.standard_normal((B, T, K))
        lp = np.log(rng.dirichlet(np.ones(K), size=B) if rng.random() < 0.5 else rng.dirichlet(np.ones(K)))
        g, xi, ll = naive_forward_backward(le, lp, np.log(a))
        if not np.isfinite(ll).all():
            continue
        post = forward_backward(torch.tensor(le), torch.tensor(lp), torch.tensor(np.log(a)))
        scale = max(1.0, np.abs(ll).max())
        assert np.abs(post.log_likelihood.numpy() - ll).max() < 1e-6 * scale, (K, B, T, eps, spread)
        assert np.abs(post.gamma.numpy() - g).max() < 1e-6, (K, B, T, eps, spread)
        assert np.abs(post.xi_sum.numpy() - xi).max() < 1e-6 * max(1.0, np.abs(xi).max()), (K, B, T, eps, spread)
        checked += 1
    assert checked > 60


def test_forward_backward_in_float32():
    """float32 (the MPS path) rescales within its own, smaller range."""
    le, lp, la = random_hmm(2, 4001, 4, seed=3, min_prob=1e-10)
    L = _chunked.chunk_length(4001)
    ref = _chunked.forward_backward_chunks(_chunked.to_chunks(le, L, states_first=True), lp, la, 4001)
    got = _chunked.forward_backward_chunks(
        _chunked.to_chunks(torch.tensor(le, dtype=torch.float32), L, states_first=True),
        torch.tensor(lp, dtype=torch.float32), torch.tensor(la, dtype=torch.float32), 4001)
    assert torch.isfinite(got[0]).all()
    assert np.allclose(got[0].numpy(), ref[0], atol=1e-3)
    assert np.allclose(got[2].numpy(), ref[2], rtol=1e-5)


def test_forward_backward_needs_a_stochastic_transition_matrix():
    le, lp, la = random_hmm(1, 21, 3, seed=0)
    with pytest.raises(ValueError, match="row-stochastic"):
        forward_backward(torch.tensor(le), torch.tensor(lp), torch.tensor(la + np.log([[1.3], [0.6], [1.05]])))


def test_poisson_hmm_refuses_a_starting_point_that_is_not_a_chain():
    x, _, _ = sticky_poisson(K=2, N=4, T=100)
    with pytest.raises(ValueError, match="rows sum to 1"):
        PoissonHMM(2).init_params(x, transitions=[[0.9, 0.2], [0.1, 0.9]])
    with pytest.raises(ValueError, match="summing to 1"):
        PoissonHMM(2).init_params(x, start=[0.5, 0.6])
    m = PoissonHMM(2).init_params(x)
    before = m.log_transitions_.clone()
    with pytest.raises(ValueError):
        m.init_params(x, transitions=[[0.9, 0.2], [0.1, 0.9]])
    assert torch.equal(m.log_transitions_, before)                  # nothing half-written


def test_log_transitions_of_the_wrong_shape_are_refused():
    le, lp, la = random_hmm(1, 20, 3, seed=0)
    with pytest.raises(ValueError, match=r"log_transitions must have shape \(3, 3\)"):
        hmm.log_likelihood(torch.tensor(le), torch.tensor(lp), torch.tensor(la[:2]))


def test_chunk_layout_round_trip():
    x = np.arange(2 * 23 * 3, dtype=float).reshape(2, 23, 3)
    for L in (1, 4, 7, 23, 30):
        c = _chunked.to_chunks(x, L)
        assert c.shape == (L, 2, -(-23 // L), 3)
        assert np.array_equal(_chunked.from_chunks(c, 23), x)
        assert np.array_equal(_chunked.from_chunks(_chunked.to_chunks(torch.tensor(x), L), 23).numpy(), x)
        s = _chunked.to_chunks(x, L, states_first=True)                      # (states, length, trials, chunks)
        assert s.shape == (3, L, 2, -(-23 // L)) and np.array_equal(s, np.moveaxis(c, -1, 0))
        assert np.array_equal(_chunked.from_chunks(s, 23, states_first=True), x)
        t = _chunked.to_chunks(torch.tensor(x), L, states_first=True)
        assert np.array_equal(_chunked.from_chunks(t, 23, states_first=True).numpy(), x)


def test_viterbi_is_the_most_probable_path():
    for seed in range(4):
        le, lp, la = random_hmm(2, 6, 3, seed=seed, scale=1.5)
        path = viterbi(torch.tensor(le), torch.tensor(lp), torch.tensor(la)).numpy()
        for b in range(2):
            def score(z, le=le, lp=lp, la=la, b=b):
                return lp[z[0]] + le[b, 0, z[0]] + sum(la[z[t - 1], z[t]] + le[b, t, z[t]] for t in range(1, 6))
            best = max(itertools.product(range(3), repeat=6), key=score)
            assert tuple(path[b]) == best


def test_update_transitions_floors_and_normalises():
    xi = torch.tensor([[10.0, 0.0], [0.0, 5.0]], dtype=torch.float64)
    a = hmm.update_transitions(xi, 1e-3).exp()
    assert torch.allclose(a.sum(-1), torch.ones(2, dtype=torch.float64)) and a.min() > 9e-4
    assert np.allclose(np.exp(hmm.update_transitions(xi.numpy(), 1e-3)), a.numpy())


# ------------------------------------------------------------------------------ Poisson HMM
def sticky_poisson(K=3, N=10, T=3000, seed=0):
    rng = np.random.default_rng(seed)
    rates = 0.3 + 2.0 * rng.random((K, N))
    z = np.repeat(rng.integers(K, size=T // 50), 50)
    return rng.poisson(rates[z]), z, rates


def test_poisson_hmm_em_is_monotone_and_recovers_states():
    x, z, rates = sticky_poisson()
    m = PoissonHMM(3, n_iter=30, seed=1).fit(x)
    h = np.array(m.history_)
    assert np.all(np.diff(h) > -1e-6 * abs(h[-1]))         # EM never decreases the likelihood
    assert state_accuracy(z, m.predict(x)[0]) > 0.97
    perm = match_states(z, m.predict(x)[0])
    assert np.allclose(m.rates_.numpy()[perm], rates, rtol=0.25)
    assert np.isclose(m.score(x), h[-1], rtol=1e-4)


def test_poisson_hmm_one_em_step_matches_the_reference():
    x, _, _ = sticky_poisson(K=2, N=4, T=300, seed=2)
    m = PoissonHMM(2, n_iter=1, seed=0).init_params(x)
    r0, la0, lp0 = m.rates_.numpy().copy(), m.log_transitions_.numpy().copy(), m.log_start_.numpy().copy()
    m.fit(x, init=False)
    le = x @ np.log(r0).T - r0.sum(1) - np.sum([math.lgamma(v + 1) for v in x.ravel()]) / len(x)
    g, xi, ll = naive_forward_backward(le[None], lp0, la0)
    # the emission and rate products run in float32 (relative error ~1e-7)
    assert np.isclose(m.history_[0], ll[0], rtol=1e-7)
    assert np.allclose(m.rates_.numpy(), (g[0].T @ x) / g[0].sum(0)[:, None], rtol=1e-5)
    assert np.allclose(m.log_transitions_.exp().numpy(), xi / xi.sum(1, keepdims=True), rtol=1e-5)


# ------------------------------------------------------------------------------ simulator
def test_history_convolution_matches_a_loop():
    rng = np.random.default_rng(0)
    x = rng.poisson(1.0, (2, 30, 4)).astype(float)
    phi = history_basis(5, 1.0)
    h = convolve_history(x, phi)
    ref = np.zeros_like(x)
    for t in range(30):
        for lag in range(1, 6):
            if t - lag >= 0:
                ref[:, t] += phi[lag - 1] * x[:, t - lag]
    assert np.allclose(h, ref) and np.isclose(phi.sum(), 1.0)
    assert np.allclose(convolve_history(torch.tensor(x), phi).numpy(), ref)


def test_simulator_truth_is_consistent():
    bb = random_backbone(12, density=0.3, seed=1)
    d = simulate_switching_glm(bb, n_states=3, n_trials=4, n_time_bins=200, seed=3)
    assert d.spikes.shape == (4, 200, 12) and d.states.shape == (4, 200) and d.weights.shape == (3, 12, 12)
    assert not np.any(d.weights[:, ~bb.adjacency.T])                # couplings live on the backbone ([post, pre])
    assert np.all(np.sign(d.weights)[d.active] == np.broadcast_to(bb.sign.T, d.active.shape)[d.active])
    # the recorded rates are the GLM of the recorded spikes in the recorded states
    h = convolve_history(d.spikes.astype(float), d.basis)
    eta = d.bias + np.einsum("btm,btnm->btn", h, d.weights[d.states])
    assert np.allclose(d.rates, expit(eta))
    again = simulate_switching_glm(bb, n_states=3, n_trials=4, n_time_bins=200, seed=3)
    assert np.array_equal(again.spikes, d.spikes) and np.array_equal(again.states, d.states)
    stays = np.mean(d.states[:, 1:] == d.states[:, :-1])
    assert stays > 0.95


def test_worm_backbone_is_a_real_subnetwork():
    bb = worm_backbone()
    assert bb.n_neurons == 20 and "AVAL" in bb.neurons
    assert not np.any(np.diag(bb.adjacency)) and 0.1 < bb.density < 0.5
    assert set(np.unique(bb.sign[bb.adjacency])) <= {-1, 1} and not np.any(bb.sign[~bb.adjacency])


def test_backbones_are_pre_post_like_the_connectome():
    """labkit.data.networks keeps the connectome's orientation, weights[pre, post]; the simulator reads it
    transposed into the paper's W[state, post, pre]."""
    from labkit.data import worm
    from labkit.data.networks import connectome_backbone

    sub = worm.subnetwork(worm.load_connectome("cook_2019_herm"), "command")
    bb = connectome_backbone(sub, min_synapses=3.0, p_excitatory=1.0)
    strong = (sub.weights >= 3.0) & ~np.eye(len(sub.neurons), dtype=bool)
    assert np.array_equal(bb.adjacency, strong) and np.array_equal(bb.weights[strong], sub.weights[strong])
    assert np.all(bb.sign[bb.sign_known] == sub.sign[bb.sign_known]) and np.all(bb.sign[strong & ~bb.sign_known] == 1)
    heavy = random_backbone(30, 0.2, 1.0, weights="lognormal", seed=2)
    assert (heavy.sign[heavy.adjacency] == 1).all() and heavy.weights[heavy.adjacency].std() > 0.5
    assert np.array_equal(heavy.adjacency, random_backbone(30, 0.2, seed=2).adjacency)   # same draws, same graph
    for kwargs, name in (({"n_neurons": 1}, "n_neurons"), ({"density": 0.0}, "density"),
                         ({"p_excitatory": 1.5}, "p_excitatory"), ({"weights": "gamma"}, "weights")):
        with pytest.raises(ParameterError, match=f"'{name}' of random_backbone"):
            random_backbone(**kwargs)


def test_state_matching_and_roc():
    z = np.array([0, 0, 1, 1, 2, 2, 2])
    assert state_accuracy(z, (z + 1) % 3) == 1.0
    assert list(match_states(z, (z + 1) % 3)) == [1, 2, 0]
    adj = np.array([[0, 1, 0], [1, 0, 0], [0, 1, 0]], bool)
    assert backbone_roc(adj.astype(float), adj)[2] == 1.0


def test_signed_accuracy_bounds():
    rng = np.random.default_rng(0)
    true = rng.choice([-1.0, 0.0, 1.0], size=(2, 6, 6)) * rng.uniform(0.5, 1.5, size=(2, 6, 6))
    assert signed_accuracy(true, 3 * true) == 1.0
    assert np.isclose(signed_accuracy(true, np.zeros_like(true)), 1 / 3)          # a constant guess
    dense = true + 1e-3 * np.sign(rng.standard_normal(true.shape))                # right signs, never zero
    dense[true == 0] = 1e-3
    assert signed_accuracy(true, dense) <= 2 / 3 + 1e-12
    with pytest.raises(ValueError, match="same shape"):
        signed_accuracy(true, true[:1])


def test_shuffle_control_keeps_counts_and_breaks_timing():
    rng = np.random.default_rng(1)
    x = rng.poisson(1.0, size=(3, 50, 4))
    assert np.array_equal(control_spikes(x, "none"), x)
    s = control_spikes(x, "shuffle", seed=2)
    assert np.array_equal(np.sort(s, axis=1), np.sort(x, axis=1)) and not np.array_equal(s, x)
    assert np.array_equal(s, control_spikes(x, "shuffle", seed=2))
    with pytest.raises(ValueError, match="control"):
        control_spikes(x, "zero")


def test_coupling_captured_is_zero_for_independent_neurons_and_one_for_the_truth():
    rng = np.random.default_rng(3)
    train, test = rng.poisson(0.5, size=(2, 400, 3)), rng.poisson(0.5, size=(1, 400, 3))
    ind = independent_log_likelihood(train, test)
    from scipy import stats

    rate = train.reshape(-1, 3).mean(0)
    assert np.isclose(ind, stats.poisson.logpmf(test[0], rate).sum() / 400)
    out = coupling_captured({"none": [ind], "gaussian": [ind + 0.5], "one-hot": [ind + 1.0], "truth": [ind + 2.0]}, ind)
    assert out["none"] == 0 and out["best_prior"] == 0.5 and out["gain"] == 0.5


# ------------------------------------------------------------------------------ estimator pieces
@pytest.mark.parametrize("link, emission", [("sigmoid", "poisson"), ("softplus", "poisson"), ("exp", "poisson"),
                                            ("sigmoid", "bernoulli")])
def test_expected_log_lik_gradient_matches_autograd(link, emission):
    g = torch.Generator().manual_seed(0)
    eta = torch.randn(3, 7, 2, 4, dtype=torch.float64, generator=g, requires_grad=True)
    x = torch.randint(0, 2 if emission == "bernoulli" else 4, (3, 7, 1, 4), generator=g).double()
    gamma = torch.rand(3, 7, 2, dtype=torch.float64, generator=g)
    ours = _ExpectedLogLik.apply(eta, x, gamma, link, emission)
    (d_ours,) = torch.autograd.grad(ours, eta)
    ll, _ = _emission_terms(eta, x, link, emission, grad=False)
    ref = (ll.sum(-1) * gamma).sum()
    (d_ref,) = torch.autograd.grad(ref, eta)
    assert torch.allclose(ours, ref) and torch.allclose(d_ours, d_ref, atol=1e-10)


def test_gumbel_softmax_density_matches_torch():
    from torch.distributions import RelaxedOneHotCategorical

    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(5, 3, generator=g, dtype=torch.float64), -1)
    for tau in (0.2, 0.5, 1.0):
        dist = RelaxedOneHotCategorical(torch.tensor(tau, dtype=torch.float64), probs=probs)
        y = dist.sample()
        ours = gumbel_softmax_log_density(torch.log(y), torch.log(probs), tau)
        assert torch.allclose(ours, dist.log_prob(y), atol=1e-8)


# ------------------------------------------------------------------------------ the estimator
@pytest.fixture(scope="module")
def small_data():
    bb = random_backbone(8, density=0.3, seed=0)
    return simulate_switching_glm(bb, n_states=2, n_trials=6, n_time_bins=300, strength=(2.0, 3.0),
                                  stickiness=0.99, seed=0)


@pytest.mark.parametrize("prior", ["none", "gaussian", "one-hot"])
def test_switching_glm_finds_the_states(small_data, prior):
    d = small_data
    m = SwitchingGLM(2, prior, n_iter=15, warmup=5, seed=0, device="cpu").fit(d.spikes[:4])
    assert len(m.history_) == 15 and m.history_[-1] > m.history_[0]
    assert state_accuracy(d.states[4:], m.predict(d.spikes[4:])) > 0.9
    post = m.predict_proba(d.spikes[4:])
    assert post.shape == (2, 300, 2) and np.allclose(post.sum(-1), 1.0)
    assert np.isfinite(m.log_likelihood(d.spikes[4:]))
    assert m.weights_.shape == (2, 8, 8) and np.allclose(m.transitions_.sum(-1), 1.0)
    if prior == "one-hot":
        assert m.adjacency_prior_.shape == (8, 8, 3) and np.allclose(m.adjacency_prior_.sum(-1), 1.0)
        assert set(np.unique(np.sign(m.weights_))) <= {-1.0, 0.0, 1.0}
    assert m.connection_score_.shape == (8, 8)


def test_switching_glm_same_seed_same_numbers_and_relabelling(small_data):
    d = small_data
    a = SwitchingGLM(2, "one-hot", n_iter=4, warmup=2, seed=3, device="cpu").fit(d.spikes[:2])
    b = SwitchingGLM(2, "one-hot", n_iter=4, warmup=2, seed=3, device="cpu").fit(d.spikes[:2])
    assert a.history_ == b.history_ and np.array_equal(a.weights_, b.weights_)
    before = a.log_likelihood(d.spikes[4:])
    a.permute_states([1, 0])
    assert np.isclose(a.log_likelihood(d.spikes[4:]), before, rtol=1e-9)
    assert np.array_equal(a.weights_, b.weights_[[1, 0]])


@pytest.mark.parametrize("spikes, match", [
    (-np.ones((1, 10, 3)), "negative"),
    (np.full((1, 10, 3), 0.5), "non-integer"),
    (np.zeros((1, 0, 3)), "empty trial"),
    (np.array([[[np.nan, 0, 1]] * 10]), "NaN"),
    (np.zeros((1, 2, 3)), "must not exceed the number of time bins"),
    (np.zeros((2, 3)), "must not exceed the number of time bins"),
    (np.zeros(5), "shape"),
    ("spikes", "NumPy array or torch tensor"),
])
def test_bad_spikes(spikes, match):
    with pytest.raises(ValueError, match=match):
        SwitchingGLM(3, device="cpu").fit(spikes)


@pytest.mark.parametrize("kwargs, match", [
    ({"prior": "laplace"}, "'prior' of SwitchingGLM must be one of"),
    ({"n_states": 0}, "'n_states' of SwitchingGLM must be an integer >= 1"),
    ({"link": "relu"}, "'link' of SwitchingGLM must be one of"),
    ({"lr": -1.0}, "'lr' of SwitchingGLM must be a number > 0"),
    ({"prior_absent": 1.0}, "'prior_absent' of SwitchingGLM must be a number in"),
    ({"emission": "bernoulli", "link": "exp"}, "'link' of SwitchingGLM must be 'sigmoid'"),
    ({"min_transition": 0.6}, "'min_transition' of SwitchingGLM must be below 1/n_states"),
    ({"device": "tpu"}, "'device' of SwitchingGLM must be one of"),
])
def test_bad_hyperparameters(kwargs, match):
    model = SwitchingGLM(**{"n_states": 2, **kwargs})              # __init__ only stores
    with pytest.raises(ParameterError, match=match):
        model.fit(np.zeros((1, 10, 2)))


def test_estimators_follow_the_house_conventions(small_data):
    x = small_data.spikes[:1]
    for model in (SwitchingGLM(2, n_iter=1, m_steps=1, device="auto"), PoissonHMM(2, n_iter=2, device="auto")):
        assert not hasattr(model, "history_")
        with pytest.raises(NotFittedError, match="not fitted"):
            model.predict(x)
        assert model.fit(x) is model and len(model.history_) >= 1
    with pytest.raises(ParameterError, match="'n_states' of PoissonHMM"):
        PoissonHMM(0).fit(x)
    with pytest.raises(ParameterError, match="'min_transition' of PoissonHMM must be below"):
        PoissonHMM(2, min_transition=0.5).fit(x)
    with pytest.raises(ParameterError, match="'device' of PoissonHMM"):
        PoissonHMM(2, device="tpu").fit(x)


def test_unfitted_and_mismatched_inputs(small_data):
    with pytest.raises(ValueError, match="not fitted"):
        SwitchingGLM(2).predict(small_data.spikes)
    m = SwitchingGLM(2, n_iter=1, m_steps=1, device="cpu").fit(small_data.spikes[:1])
    with pytest.raises(ValueError, match="8 neurons"):
        m.predict(np.zeros((1, 10, 5)))
    with pytest.raises(ValueError, match="method must be"):
        m.predict_states(small_data.spikes, method="mode")
    with pytest.raises(ValueError, match="binary"):
        SwitchingGLM(2, emission="bernoulli").fit(np.full((1, 10, 2), 2))
    with pytest.raises(ValueError, match="rates must be"):
        PoissonHMM(2).init_params(np.ones((1, 10, 2)), rates=-np.ones((2, 2)))


def test_divergence_stops_with_a_message_and_no_model(small_data):
    m = SwitchingGLM(2, "none", link="exp", lr=1e4, n_iter=5, device="cpu")
    with pytest.raises(FloatingPointError, match="diverged at EM iteration"):
        m.fit(small_data.spikes[:2] * 50)
    with pytest.raises(ValueError, match="not fitted"):
        _ = m.weights_


@pytest.mark.parametrize("link, emission", [("sigmoid", "poisson"), ("softplus", "poisson"), ("sigmoid", "bernoulli")])
def test_gradient_only_m_step_matches_the_full_objective(link, emission):
    from labkit.neuro.switching_glm.mstep import _ExpectedLogLikGrad

    g = torch.Generator().manual_seed(2)
    w = torch.randn(2, 3, 3, dtype=torch.float64, generator=g, requires_grad=True)
    h = torch.rand(4, 9, 3, dtype=torch.float64, generator=g)
    x = torch.randint(0, 2, (4, 9, 1, 3), generator=g).double()
    gamma = torch.rand(4, 9, 2, dtype=torch.float64, generator=g)
    eta = lambda: torch.einsum("btm,knm->btkn", h, w)
    (full,) = torch.autograd.grad(_ExpectedLogLik.apply(eta(), x, gamma, link, emission), w)
    (fast,) = torch.autograd.grad(_ExpectedLogLikGrad.apply(eta(), x, gamma, link, emission), w)
    assert torch.allclose(full, fast, atol=1e-12)


def test_adam_matches_torch():
    from labkit.neuro.switching_glm.mstep import _Adam

    g = torch.Generator().manual_seed(4)
    a = torch.randn(5, generator=g, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    ours, ref = _Adam([a], lr=0.05), torch.optim.Adam([b], lr=0.05)
    for _ in range(20):
        for p, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            ((p - 1.0) ** 4).sum().backward()
            opt.step()
    assert torch.allclose(a, b, atol=1e-6)


def test_torch_path_of_the_recursion_matches_numpy():
    """The recursion runs on torch tensors on a GPU: the same code on CPU tensors gives the NumPy results."""
    for B, T, K, min_prob in [(2, 333, 4, None), (1, 7, 3, None), (3, 1, 2, None), (2, 150, 3, 1e-90)]:
        le, lp, la = random_hmm(B, T, K, seed=B * T, min_prob=min_prob)    # 1e-90: the bin-by-bin fallback
        L = _chunked.chunk_length(T)
        ref = _chunked.forward_backward_chunks(_chunked.to_chunks(le, L, states_first=True), lp, la, T)
        got = _chunked.forward_backward_chunks(_chunked.to_chunks(torch.tensor(le), L, states_first=True),
                                               torch.tensor(lp), torch.tensor(la), T)
        for a, b in zip(ref, got):
            assert np.allclose(a, b.numpy(), rtol=1e-10, atol=1e-12)
        ll = _chunked.forward_backward_chunks(_chunked.to_chunks(torch.tensor(le), L, states_first=True),
                                              torch.tensor(lp), torch.tensor(la), T, backward=False)
        assert np.allclose(ll.numpy(), ref[2])
