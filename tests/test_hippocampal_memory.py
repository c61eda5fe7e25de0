"""Tests of spiking/hippocampal_memory: the CA3 memory's timings and STDP, recall by content against the
true address sets, forgetting, the Hopfield network, the control, bad input and repeatability (seconds)."""
import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.spiking.hippocampal_memory import (
    CA3Memory,
    HopfieldNetwork,
    expected_addresses,
    flip,
    fragments,
    overlap,
    random_contents,
    true_addresses,
)
from labkit.spiking.hippocampal_memory import experiment as ex
from labkit.spiking.lif_network import LIFNetwork
from labkit.spiking.neurons import LIF
from labkit.spiking.synapses import Synapses


@pytest.fixture(scope="module")
def stored():
    rng = np.random.default_rng(3)
    x = random_contents(8, 30, 0.2, rng, min_active=3)
    return x, ex.store_and_recall(x)


def test_delayed_synapses_match_a_direct_event_loop():
    """A small delta-synapse LIF network with per-synapse delays against a plain loop over steps and spikes."""
    rng = np.random.default_rng(0)
    n, steps, dt = 12, 120, 0.1
    pre, post = np.nonzero(rng.random((n, n)) < 0.3)
    w = rng.uniform(-2, 5, len(pre)).astype(np.float32)
    d = rng.integers(1, 6, len(pre)) * dt
    syn = Synapses.from_edges(pre, post, w, n, n)
    order = np.argsort(pre * n + post, kind="stable")
    net = LIFNetwork(LIF(n, tau_m=3.0, v_th=3.0, t_ref=0.5, tau_syn=0.0, dt=dt), syn, delay=d[order])
    cur = torch.as_tensor(rng.uniform(0, 1.2, (steps, 1, n)), dtype=torch.float32)
    rec = net.run(steps, 1, current=cur, weight=syn.weight.clone(), on_step=lambda *a: None, engine="torch")
    got = sorted(zip(rec.t.tolist(), rec.n.tolist(), strict=True))
    # the reference: delta synapses, a spike of j at step t adds w to i's input at step t + delay
    v, refr, inbox, spikes = np.zeros(n, np.float32), np.zeros(n, int), np.zeros((steps + 10, n), np.float32), []
    decay, dsteps = np.float32(np.exp(-dt / 3.0)), np.round(d / dt).astype(int)
    for t in range(steps):
        v = (v * decay + (cur[t, 0].numpy() + inbox[t])).astype(np.float32)
        busy = refr > 0
        v[busy] = 0.0
        fire = (v >= 3.0) & ~busy
        refr[busy] -= 1
        v[fire] = 0.0
        refr[fire] = 5
        for j in np.nonzero(fire)[0]:
            spikes.append((t, int(j)))
            for e in np.nonzero(pre == j)[0]:
                inbox[t + dsteps[e], post[e]] += w[e]
    assert got == sorted(spikes) and len(spikes) > 20


def test_recall_by_cue_is_exact_at_the_papers_latencies(stored):
    x, cr = stored
    assert (cr.hamming == 0).all()
    assert (cr.addresses == np.eye(len(x), dtype=bool)).all()
    assert np.allclose(cr.address_latency, 5.0) and np.allclose(cr.content_latency, 6.0)


def test_recall_by_content_returns_the_true_address_set(stored):
    x, cr = stored
    r = ex.content_recall(cr.memory, x, 30, 2, 0.2, np.random.default_rng(1))
    assert r.exact.all()
    assert (r.returned == true_addresses(x, r.fragments)).all()


def test_relearning_forgets_the_old_content():
    rng = np.random.default_rng(5)
    x = random_contents(6, 30, 0.25, rng)
    cr = ex.store_and_recall(x)
    rl = ex.relearn(cr.memory, x, 3, 0.25, rng)
    assert (rl.hamming == 0).all() and (rl.stale == 0).all() and rl.stale_by_content.dtype == bool
    assert rl.weights_after[rl.cues][rl.old & ~rl.new].max() < 3.0      # old bits below threshold


def test_control_stores_nothing():
    x = random_contents(5, 20, 0.3, np.random.default_rng(2))
    cr = ex.store_and_recall(x, control="no_learning")
    assert not cr.recalled.any() and np.isnan(cr.content_latency).all()
    assert (cr.memory.weights("C>K") == 0).all()


def test_spacing_below_the_minimum_is_refused_then_fails():
    x = random_contents(4, 20, 0.3, np.random.default_rng(4))
    with pytest.raises(ParameterError, match="minimum spacing"):
        ex.store_and_recall(x, spacing=3.0)
    assert ex.spacing_errors(x, [3.0])[0] > 0


def test_expected_addresses_closed_form():
    assert expected_addresses(10, 0.1, 0) == 1.0
    assert expected_addresses(10, 1.0, 3) == 10.0
    rng = np.random.default_rng(0)
    x = rng.random((4000, 50)) < 0.1
    frag, src = fragments(x[:1], 1, 3, rng)
    mc = true_addresses(x[1:], frag).mean() * 4000 + 1
    assert abs(mc - expected_addresses(4001, 0.1, 3)) < 4000 * 0.03


def test_hopfield_weights_update_and_capacity():
    rng = np.random.default_rng(0)
    x = np.where(rng.random((5, 200)) < 0.5, 1.0, -1.0)
    net = HopfieldNetwork().fit(x)
    w = x.T @ x / 200
    np.fill_diagonal(w, 0)
    assert np.allclose(net.weights_, w)
    s = flip(x[:1], 0.1, rng)
    h = s @ w
    assert np.array_equal(net.update(s), np.where(h > 0, 1, np.where(h < 0, -1, s)))
    assert overlap(net.recall(flip(x, 0.1, rng)), x).min() == 1.0
    assert ex.hopfield_curve([200], [0.3], rng)[0, 0] < 0.6
    assert np.allclose(HopfieldNetwork(control="untrained").fit(x).recall(s), s)


def test_bad_input_names_the_argument():
    mem = CA3Memory(4, 10)
    good = np.zeros(10, bool)
    good[1] = True
    for kwargs, name in ((dict(kind="learn", cue=0, pattern=np.ones(9)), "content"),
                         (dict(kind="learn", cue=0, pattern=np.zeros(10)), "content"),
                         (dict(kind="recall_cue", cue=4), "cue"), (dict(kind="recall_cue", cue=-1), "cue"),
                         (dict(kind="recall_content", pattern=np.zeros(10)), "fragment")):
        with pytest.raises(ParameterError, match=f"'{name}'"):
            mem.op(onset=0.0, **kwargs)
    with pytest.raises(ParameterError, match="'ops'"):
        mem.run([mem.op("learn", 0.0, 0, good), mem.op("recall_cue", 2.0, 0)])
    with pytest.raises(ParameterError, match="'patterns'"):
        HopfieldNetwork().fit(np.array([[1, 0, -1]]))
    with pytest.raises(ParameterError, match="'n_cues'"):
        CA3Memory(0, 10)
    with pytest.raises(ParameterError, match="'control'"):
        CA3Memory(3, 10, control="shuffle")


def test_same_seed_same_numbers():
    def once():
        rng = np.random.default_rng(9)
        x = random_contents(5, 20, 0.3, rng)
        cr = ex.store_and_recall(x)
        r = ex.content_recall(cr.memory, x, 10, 2, 0.3, rng)
        return cr.memory.weights("C>K"), r.returned, cr.run.record.t.numpy()
    a, b = once(), once()
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def test_a_batch_runs_independent_memories():
    """Per-sample weights: two memories with different contents in one batch recall what each learned alone."""
    rng = np.random.default_rng(6)
    x = np.stack([random_contents(4, 16, 0.3, rng) for _ in range(2)])          # (B, P, M)
    both = CA3Memory(4, 16, batch=2)
    ops = both.schedule([("learn", i, x[:, i]) for i in range(4)] + [("recall_cue", i, None) for i in range(4)])
    got = both.run(ops).contents[4:]                                            # (P, B, M)
    for b in range(2):
        alone = ex.store_and_recall(x[b])
        assert np.array_equal(got[:, b], alone.recalled) and np.array_equal(got[:, b], x[b])
        assert np.array_equal(both.weights("C>K")[b], alone.memory.weights("C>K")[0])


def test_size_standard_error_matches_a_monte_carlo():
    """The closed-form standard error of the mean set size against redrawing contents and fragments
    (the naive spread-over-sqrt(n) is about 3 times too small)."""
    from labkit.spiking.hippocampal_memory.contents import size_standard_error

    rng = np.random.default_rng(0)
    means, ses = [], []
    for _ in range(300):
        x = random_contents(20, 60, 0.1, rng, min_active=2)
        frag, src = fragments(x, 60, 2, rng)
        means.append(true_addresses(x, frag).sum(1).mean())
        ses.append(size_standard_error(frag, src, 20, 0.1))
    assert 0.8 < np.mean(ses) / np.std(means) < 1.15
    assert abs(np.mean(means) - expected_addresses(20, 0.1, 2)) < 3 * np.std(means) / np.sqrt(300)
