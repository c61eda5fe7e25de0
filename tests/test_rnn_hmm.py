"""Tests for labkit.dynamics.rnn_hmm: the HMMs against their closed forms, the Sinkhorn divergence against
closed forms and GeomLoss, the statistics against explicit counts, fixed points against a brute-force
enumeration, the residency time against an explicit loop, and the bad-input messages."""

import itertools

import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.dynamics.rnn_hmm import (
    PARAMETERS,
    HMMSpec,
    NoiseRNN,
    collapse,
    emission_stats,
    fixed_points,
    kick_screen,
    residency_class,
    residency_time,
    silencing_test,
    sinkhorn_divergence,
    switch_rates,
    train_rnn,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny problems: one torch thread (conftest)


# ---- the HMMs ---------------------------------------------------------------------------------------


def test_official_hmms():
    A, E = HMMSpec.chain(2).A, HMMSpec.chain(2).E
    np.testing.assert_allclose(A, [[0.95, 0.05], [0.05, 0.95]])
    np.testing.assert_allclose(E, [[0.99, 0.01, 0.0], [0.0, 0.01, 0.99]])
    c5 = HMMSpec.chain(5)
    q = 0.05 ** 0.25
    assert c5.A[2, 1] == pytest.approx(q) and c5.A[2, 2] == pytest.approx(1 - 2 * q)
    assert c5.A[0, 0] == pytest.approx(1 - q)
    np.testing.assert_allclose(HMMSpec.cycle().A[0], [0.95, 0.025, 0, 0.025])
    np.testing.assert_allclose(np.diag(HMMSpec.fully().E), 0.98)
    for h in (c5, HMMSpec.cycle(), HMMSpec.fully()):
        np.testing.assert_allclose(h.stationary(), h.start)  # doubly stochastic: uniform is stationary
        np.testing.assert_allclose(h.symbol_transitions().sum(1), 1.0)


def test_sampling_matches_truth_and_is_reproducible():
    hmm = HMMSpec.chain(3)
    s = hmm.sample(4000, 40, seed=1)
    assert s.symbols.shape == (4000, 40, 3) and s.states.shape == (4000, 40)
    assert torch.equal(s.symbols, hmm.sample(4000, 40, seed=1).symbols)
    st = emission_stats(s.symbols)
    np.testing.assert_allclose(st.frequencies, hmm.symbol_frequencies(), atol=0.01)
    # the state chain's own transitions
    S = s.states
    counts = np.zeros((3, 3))
    np.add.at(counts, (S[:, :-1].numpy().ravel(), S[:, 1:].numpy().ravel()), 1)
    np.testing.assert_allclose(counts / counts.sum(1, keepdims=True), hmm.A, atol=0.01)
    # the frequent symbols' transition rows against the closed form
    T = hmm.symbol_transitions()
    np.testing.assert_allclose(st.transitions[[0, 2]], T[[0, 2]], atol=0.01)


# ---- the Sinkhorn divergence --------------------------------------------------------------------------


def test_sinkhorn_closed_forms():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, generator=g, dtype=torch.float64)
    y = torch.randn(1, 4, generator=g, dtype=torch.float64)
    # two Dirac masses: the only coupling, cost ‖x − y‖² / 2, and OT(x, x) = 0
    assert float(sinkhorn_divergence(x, y, 0.2)) == pytest.approx(float((x - y).pow(2).sum() / 2), rel=1e-10)
    cloud = torch.randn(60, 3, generator=g, dtype=torch.float64)
    assert abs(float(sinkhorn_divergence(cloud, cloud, 0.2))) < 1e-10
    # a translated cloud: with the quadratic cost the plan is unchanged and S = ‖v‖² / 2
    v = torch.tensor([0.7, -0.4, 1.1], dtype=torch.float64)
    assert float(sinkhorn_divergence(cloud, cloud + v, 0.1)) == pytest.approx(float(v.pow(2).sum() / 2), rel=1e-3)
    # the gradient of S(x, y) for Diracs is x − y
    xg = x.clone().requires_grad_()
    (gx,) = torch.autograd.grad(sinkhorn_divergence(xg, y, 0.2), xg)
    np.testing.assert_allclose(gx.numpy(), (x - y).numpy(), rtol=1e-10)


def test_sinkhorn_against_geomloss():
    geomloss = pytest.importorskip("geomloss")
    loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=0.2, backend="tensorized")
    g = torch.Generator().manual_seed(3)
    for n, m, d in ((64, 64, 5), (50, 70, 12), (128, 128, 90)):
        x = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
        y = (torch.randn(m, d, generator=g, dtype=torch.float64) + 0.3).requires_grad_()
        a, b = loss(x, y), sinkhorn_divergence(x, y, 0.2)
        assert float(b) == pytest.approx(float(a), abs=1e-8)
        for ga, gb in zip(torch.autograd.grad(a, [x, y]), torch.autograd.grad(b, [x, y])):
            np.testing.assert_allclose(gb.numpy(), ga.numpy(), atol=1e-10)


# ---- statistics ---------------------------------------------------------------------------------------


def test_emission_stats_against_counts():
    g = torch.Generator().manual_seed(2)
    y = torch.randint(0, 3, (7, 11), generator=g)
    x = torch.nn.functional.one_hot(y, 3)
    st = emission_stats(x, n_symbols=3)
    counts = np.zeros((3, 3))
    switches = 0
    for b in range(7):
        for t in range(10):
            counts[y[b, t], y[b, t + 1]] += 1
            switches += int(y[b, t] != y[b, t + 1])
    np.testing.assert_array_equal(st.counts, counts)
    np.testing.assert_allclose(st.transitions, counts / counts.sum(1, keepdims=True))
    np.testing.assert_allclose(st.frequencies, np.bincount(y.ravel(), minlength=3) / y.numel())
    assert st.switches == pytest.approx(switches / 7)


def test_residency_against_an_explicit_loop():
    m = NoiseRNN(4, 6, seed=1)
    with torch.no_grad():
        m.W_hh.mul_(4.0)
    states = m.hidden(m.noise(3, 10, torch.Generator().manual_seed(0)))[:, -1]
    R, cap = 5, 12
    got = residency_time(m, states, R, cap, generator=7)
    xi = torch.randn(3, R, cap, 4, generator=torch.Generator().manual_seed(7))
    want = []
    with torch.no_grad():
        for i in range(3):
            start = int((states[i] @ m.W_out.T).argmax())
            times = []
            for r in range(R):
                h, steps = states[i], cap
                for t in range(cap):
                    h = torch.relu(m.W_in @ xi[i, r, t] + m.W_hh @ h)
                    if int((m.W_out @ h).argmax()) != start:
                        steps = t + 1
                        break
                times.append(steps)
            want.append(np.mean(times))
    np.testing.assert_allclose(got.numpy(), want)
    np.testing.assert_array_equal(residency_class([1.0, 2.0, 8.0, 8.5]), [0, 1, 1, 2])


def test_switch_rates():
    c = torch.tensor([[[0, 0, 2, 2, 2, 0]]])
    np.testing.assert_allclose(switch_rates(c, [0, 2]), [[1 / 2, 1 / 3]])


# ---- fixed points -------------------------------------------------------------------------------------


def test_fixed_points_of_a_contraction_and_a_line_attractor():
    starts = torch.rand(32, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5
    fp = fixed_points(0.5 * torch.eye(3, dtype=torch.float64), starts)
    assert float(fp.q.max()) <= 1e-12 and float(fp.points.abs().max()) < 1e-6
    u = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    P = torch.outer(u, u) / u.dot(u)
    W = P - 0.3 * (torch.eye(3, dtype=torch.float64) - P)  # W u = u; the rest contracts with −0.3
    fp = fixed_points(W, starts)
    assert float(fp.q.max()) <= 1e-12
    # every fixed point lies on the ray c·u, c ≥ 0; where it is active the Jacobian has the eigenvalue 1
    c = fp.points @ u / u.dot(u)
    np.testing.assert_allclose(fp.points.numpy(), (c[:, None] * u).numpy(), atol=1e-6)
    on = c > 1e-6
    assert bool(on.any())
    np.testing.assert_allclose(np.sort(np.abs(fp.eigenvalues[on].numpy()), 1)[:, -1], 1.0, atol=1e-8)


def _brute_force_fixed_points(W):
    """All fixed-point sets of ReLU(W h) = h on 3 units: for each activity pattern, the null space of
    (D W − I) restricted to the points consistent with that pattern (basis vectors returned)."""
    found = []
    n = W.shape[0]
    for pattern in itertools.product([0, 1], repeat=n):
        D = np.diag(pattern)
        A = D @ W - np.eye(n)
        _, s, Vt = np.linalg.svd(A)
        for v in Vt[s < 1e-9]:
            for sgn in (1, -1):
                h = sgn * v
                if np.allclose(np.maximum(W @ h, 0), h, atol=1e-9) and np.linalg.norm(h) > 0:
                    found.append(h / np.linalg.norm(h))
    return found


def test_fixed_points_against_brute_force():
    rng = np.random.default_rng(4)
    u = np.array([0.6, 0.3, 1.0])
    for trial in range(3):
        B = rng.normal(size=(3, 3)) * 0.3
        B = B - np.outer(B @ u, u) / u.dot(u)  # B u = 0
        W = np.outer(u, u) / u.dot(u) + B
        rays = _brute_force_fixed_points(W)
        starts = torch.as_tensor(rng.uniform(0, 3, size=(64, 3)))
        fp = fixed_points(torch.as_tensor(W), starts)
        ok = fp.q <= 1e-12
        assert bool(ok.all())
        for h in fp.points[ok].numpy():
            nrm = np.linalg.norm(h)
            if nrm < 1e-8:
                continue  # the origin, always a fixed point of a bias-free net
            assert any(np.allclose(h / nrm, r, atol=1e-6) for r in rays), (trial, h, rays)


def test_collapse_and_kick_screen_shapes():
    m = NoiseRNN(5, 8, seed=0)
    h = m.hidden(m.noise(4, 20, torch.Generator().manual_seed(0)))[:, -1].detach()
    assert float(collapse(m, h, 300).max()) < 1e-6 * float(h.norm(dim=-1).mean())  # a contraction (ρ < 1)
    ks = kick_screen(m, [0, 2], group_size=2, n_seq=8, length=50, generator=0)
    assert ks.silenced.shape == (8, 2) and len(ks.groups) == 2 and all(len(g) == 2 for g in ks.groups)
    st = silencing_test(m, ks, n_random=3, n_seq=8, length=50, generator=1)
    assert st.kick_ratio.shape == (2,) and st.random_ratio.shape == (3, 2)


# ---- training -----------------------------------------------------------------------------------------


def test_training_is_reproducible_and_keeps_the_best(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    hmm = HMMSpec.chain(2)
    a = train_rnn(hmm, n_hidden=8, n_noise=4, length=6, batch=16, steps=20, val_every=5, seed=3)
    b = train_rnn(hmm, n_hidden=8, n_noise=4, length=6, batch=16, steps=20, val_every=5, seed=3, cache=False)
    np.testing.assert_array_equal(a.loss, b.loss)
    assert torch.equal(a.model.W_hh, b.model.W_hh)
    assert a.val_loss[list(a.val_steps).index(a.best_step)] == a.val_loss.min()
    assert list(tmp_path.glob("rnn_hmm-*.pt"))
    u = train_rnn(hmm, n_hidden=8, n_noise=4, length=6, batch=16, steps=20, seed=3, control="untrained", cache=False)
    assert u.best_step == -1 and len(u.loss) == 0


# ---- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: HMMSpec([[1.2, -0.2], [0.5, 0.5]], np.eye(2)), "'A' .*no negative"),
        (lambda: HMMSpec([[0.9, 0.2], [0.5, 0.5]], np.eye(2)), "'A' .*rows summing to 1"),
        (lambda: HMMSpec([[0.9, 0.1], [0.5, 0.5]], np.eye(3)), "'E' .*one row per state"),
        (lambda: HMMSpec([[0.9, 0.1], [0.5, 0.5]], [[0.5, 0.6], [0.5, 0.5]]), "'E' .*rows summing to 1"),
        (lambda: emission_stats(torch.ones(2, 3, 3)), "'seqs' .*one-hot"),
        (lambda: emission_stats(torch.eye(4)[None].expand(2, 4, 4), n_symbols=3), "'seqs' .*3 symbols"),
        (lambda: sinkhorn_divergence(torch.zeros(3, 2), torch.zeros(3, 2), blur=0.0), "'blur'"),
        (lambda: NoiseRNN(n_noise=0), "'n_noise'"),
        (lambda: NoiseRNN(n_hidden=0), "'n_hidden'"),
        (lambda: kick_screen(NoiseRNN(2, 4), [0, 2], group_size=5), "'group_size'"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_bad_input_writes_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    for kwargs in (dict(n_hidden=0), dict(n_noise=0), dict(blur=-1.0), dict(control="shuffle")):
        with pytest.raises(ParameterError):
            train_rnn(HMMSpec.chain(2), steps=2, **kwargs)
    assert not list(tmp_path.iterdir())


def test_parameters_cover_the_notebook():
    assert {"seed", "device", "control", "n_hidden", "n_noise", "steps", "cycle"} <= set(PARAMETERS)


def test_stay_probability_between_the_memoryless_emitter_and_the_hmm():
    from labkit.dynamics.rnn_hmm.metrics import min_stay_probability

    hmm = HMMSpec.chain(2)
    np.testing.assert_allclose(np.diag(hmm.symbol_transitions())[[0, 2]], 0.9405)
    st = emission_stats(hmm.sample(3000, 30, seed=5).symbols)
    assert min_stay_probability(st, [0, 2]) == pytest.approx(0.9405, abs=0.01)
    # a memoryless emitter with the HMM's frequencies stays with probability = the frequency (0.495)
    y = torch.multinomial(torch.as_tensor(hmm.symbol_frequencies()), 3000 * 30, replacement=True,
                          generator=torch.Generator().manual_seed(0)).reshape(3000, 30)
    iid = emission_stats(torch.nn.functional.one_hot(y, 3))
    assert min_stay_probability(iid, [0, 2]) == pytest.approx(0.495, abs=0.01)
