"""Tests of the spiking building blocks (labkit.spiking.lif_network, synapses, connectivity, encoders, plasticity,
criticality) and of the liquid state machine: exact single-neuron dynamics, the fast and the general
simulation paths against each other, STDP and the astrocyte against hand-computed updates, the
branching factor against a direct loop over spikes, reproducibility, and bad input."""
import math

import numpy as np
import pytest
import torch

from labkit.spiking import liquid_state_machine as lsm
from labkit.spiking.connectivity import distance_connectivity, grid_positions, input_connectivity, random_connectivity
from labkit.spiking.criticality import branching_factor, branching_factor_reference
from labkit.spiking.encoders import dead_time, latency_encode, nalsm_normalize, poisson_encode
from labkit.spiking.lif_network import LIFNetwork, LIFPopulation, PoissonDrive
from labkit.spiking.plasticity import AstrocyteParams, AstroSTDP, STDPParams
from labkit.spiking.synapses import Synapses


def small_net(n=60, m=8, p=0.15, seed=0, **pop):
    rng = np.random.default_rng(seed)
    pre, post = random_connectivity(n, p, seed=seed)
    ipre, ipost = input_connectivity(m, n, 0.3, seed=seed + 1)
    w = np.r_[rng.choice([-2.0, 1.0, 1.5], len(pre)), rng.choice([3.0, 5.0], len(ipre))].astype(np.float32)
    syn = Synapses.from_edges(np.r_[pre, ipre + n], np.r_[post, ipost], w, n + m, n)
    return LIFNetwork(LIFPopulation(n, tau_m=20.0, v_th=10.0, **pop), syn), syn


# ------------------------------------------------------------------ neurons

def test_single_neuron_matches_closed_form():
    """A constant drive c per step from rest: v_k = c (1 - d^k) / (1 - d); the first spike comes at
    the first k with v_k >= v_th, then the neuron resets and (clamp) stays at 0 for t_ref."""
    pop = LIFPopulation(1, tau_m=10.0, v_th=5.0, t_ref=3.0, tau_syn=0.0, refractory="clamp")
    syn = Synapses.from_edges([], [], [], 1, 1)
    c = 1.0
    rec = LIFNetwork(pop, syn).run(60, 1, current=torch.full((60, 1, 1), c))
    d = math.exp(-1 / 10.0)
    k = next(k for k in range(1, 100) if c * (1 - d**k) / (1 - d) >= 5.0)
    # period: k steps to threshold, then 3 refractory steps held at 0 and k more to climb again
    expected = [k - 1 + i * (k + 3) for i in range(60) if k - 1 + i * (k + 3) < 60]
    assert rec.t.tolist() == expected


def test_block_refractoriness_integrates_but_does_not_fire():
    """NALSM's form: during t_ref the potential keeps integrating, so a strong drive fires the neuron
    again right after the refractory period (every t_ref + 1 steps)."""
    pop = LIFPopulation(1, tau_m=10.0, v_th=5.0, t_ref=2.0, tau_syn=0.0, refractory="block")
    syn = Synapses.from_edges([], [], [], 1, 1)
    rec = LIFNetwork(pop, syn).run(20, 1, current=torch.full((20, 1, 1), 10.0))
    assert rec.t.tolist() == list(range(0, 20, 3))


@pytest.mark.parametrize("tau_syn", [0.0, 1.0])
@pytest.mark.parametrize("mode", ["clamp", "block"])
def test_fast_and_general_paths_agree(tau_syn, mode):
    """The padded-table fast path and the synapse-list path (used under plasticity) give the same
    spikes; weights are multiples of 1/2 so every sum is exact in float32."""
    net, _ = small_net(tau_syn=tau_syn, refractory=mode)
    x = torch.rand(120, 3, 8, generator=torch.Generator().manual_seed(1)) < 0.08
    a = net.run(120, 3, inputs=x, poisson_rate=40, poisson_weight=2.0, seed=2)
    b = net.run(120, 3, inputs=x, poisson_rate=40, poisson_weight=2.0, seed=2, on_step=lambda *args: None)
    assert a.n_spikes > 50
    assert torch.equal(a.dense(), b.dense())


def test_batch_elements_are_independent():
    net, _ = small_net()
    x = torch.rand(80, 4, 8, generator=torch.Generator().manual_seed(3)) < 0.1
    together = net.run(80, 4, inputs=x).dense()
    for b in range(4):
        alone = net.run(80, 1, inputs=x[:, b:b + 1]).dense()
        assert torch.equal(together[b:b + 1], alone)


def test_same_seed_same_spikes_and_threads_restored():
    net, _ = small_net()
    before = torch.get_num_threads()
    a = net.run(100, 2, poisson_rate=300, poisson_weight=4.0, seed=7)
    b = net.run(100, 2, poisson_rate=300, poisson_weight=4.0, seed=7)
    c = net.run(100, 2, poisson_rate=300, poisson_weight=4.0, seed=8)
    assert torch.get_num_threads() == before
    assert torch.equal(a.dense(), b.dense()) and not torch.equal(a.dense(), c.dense())


def test_poisson_drive_has_the_requested_rate():
    drive = PoissonDrive(2, 500, 50.0 / 1000, 1.0, seed=0, device="cpu")  # 50 Hz at dt = 1 ms
    counts = torch.cat([drive.current(64) for _ in range(31)])           # 1,984 steps in 64-step chunks
    expect = 50.0 / 1000 * 1984 * 2 * 500
    assert abs(float(counts.sum()) - expect) < 4 * math.sqrt(expect)
    # independent Poisson counts per cell: variance equals the mean, neighbours uncorrelated
    c = counts.reshape(-1).double()
    assert abs(float(c.var() / c.mean()) - 1.0) < 0.02
    assert abs(float(np.corrcoef(c[:-1].numpy(), c[1:].numpy())[0, 1])) < 0.01


# ------------------------------------------------------------------ connectivity and encoders

def test_distance_connectivity_follows_the_gaussian_law():
    geo = distance_connectivity((8, 8, 8), lam=2.0, c={"EE": 0.5, "EI": 0.5, "IE": 0.5, "II": 0.5}, seed=0)
    d2 = ((geo.positions[geo.pre] - geo.positions[geo.post]) ** 2).sum(1)
    assert (geo.pre != geo.post).all()
    # neighbours at distance 1 are wired with probability 0.5 exp(-1/4) = 0.389
    pos = geo.positions
    all_d2 = ((pos[:, None] - pos[None]) ** 2).sum(-1)
    pairs1 = int((all_d2 == 1).sum())
    frac = (d2 == 1).sum() / pairs1
    assert abs(frac - 0.5 * math.exp(-0.25)) < 0.03
    assert geo.excitatory.sum() == round(0.8 * 512)


def test_input_connectivity_density_and_random_connectivity():
    pre, post = input_connectivity(20, 100, 0.15, seed=0)
    assert len(pre) == 300 and len(set(zip(pre, post, strict=True))) == 300
    pre, post = random_connectivity(400, 0.1, seed=0)
    assert abs(len(pre) / (400 * 399) - 0.1) < 0.005 and (pre != post).all()


def test_poisson_encode_rate_and_dead_time():
    x = np.full((50, 4), 0.5, np.float32)
    s = poisson_encode(x, 2000, max_rate=1000.0, seed=0)
    assert abs(s.float().mean() - 0.5) < 0.01
    r = poisson_encode(x, 2000, max_rate=1000.0, refractory=2, seed=0)
    gaps = np.diff(np.nonzero(r[:, 0, 0].numpy())[0])
    assert gaps.min() >= 3            # silent for 2 steps after each spike
    assert r.float().mean() < s.float().mean()
    kept = dead_time(torch.ones(7, 1, dtype=torch.bool), 2)[:, 0].tolist()
    assert kept == [True, False, False, True, False, False, True]


def test_latency_encode_and_nalsm_normalize():
    x = np.array([[1.0, 0.5, 0.0]], np.float32)
    s = latency_encode(x, 11)
    assert s[:, 0, 0].nonzero().item() == 0 and s[:, 0, 1].nonzero().item() == 5 and not s[:, 0, 2].any()
    z = nalsm_normalize(np.array([[1.0, 3.0], [2.0, 2.0]]))
    assert z.max() == pytest.approx(1.0) and z.sum(1)[0] == pytest.approx(z.sum(1)[1])


# ------------------------------------------------------------------ plasticity

def two_neuron_rule(pre_inh=False, astro=None, eta=0.2):
    """Source 0 -> target 1 (and nothing else): weight 1.0 (or -1.0 for an inhibitory source)."""
    syn = Synapses.from_edges([0], [1], [(-1.0 if pre_inh else 1.0)], 2, 2)
    w = syn.weight.clone()
    rule = AstroSTDP(syn, w, 2, np.array([not pre_inh, True]), stdp=STDPParams(eta=eta, a_trace=0.1, tau_trace=10.0),
                     astro=astro)
    return rule, w


def step(rule, spikes):
    src = torch.tensor(spikes, dtype=torch.long)
    rule(0, src, torch.zeros_like(src), None, None)


def test_stdp_potentiates_pre_before_post_and_depresses_post_before_pre():
    d = math.exp(-0.1)
    rule, w = two_neuron_rule()
    step(rule, [0])                      # pre spikes: trace_pre = 0.1 d
    step(rule, [1])                      # post spikes: dw = +eta * trace_pre
    assert float(w[0]) == pytest.approx(1.0 + 0.2 * 0.1 * d)
    rule, w = two_neuron_rule()
    step(rule, [1])
    step(rule, [0])                      # pre after post: dw = -A * trace_post, A = eta without astrocyte
    assert float(w[0]) == pytest.approx(1.0 - 0.2 * 0.1 * d)
    rule, w = two_neuron_rule(pre_inh=True)
    step(rule, [0])
    step(rule, [1])                      # inhibitory source: pre-then-post makes inhibition stronger
    assert float(w[0]) == pytest.approx(-1.0 - 0.2 * 0.1 * d)


def test_weights_stay_in_their_ranges():
    rule, w = two_neuron_rule(eta=50.0)
    for _ in range(5):
        step(rule, [0])
        step(rule, [1])
    assert float(w[0]) == pytest.approx(3.0)      # excitatory: clipped at w_max
    rule, w = two_neuron_rule(eta=50.0)
    for _ in range(5):
        step(rule, [1])
        step(rule, [0])
    assert float(w[0]) == 0.0                     # cannot change sign


def test_astrocyte_follows_its_equation():
    """A <- A + (w_A (liquid spikes - input spikes) + eta - A) / tau_A, step by step."""
    gain, tau, eta = 0.01, 100.0, 0.15
    syn = Synapses.from_edges([0, 2], [1, 0], [1.0, 1.0], 3, 2)   # neurons 0, 1 and one input channel (2)
    rule = AstroSTDP(syn, syn.weight.clone(), 2, np.array([True, True]), stdp=STDPParams(eta=eta),
                     astro=AstrocyteParams(gain=gain, tau=tau))
    a = eta
    for liquid, n_in in (([0, 1], 0), ([1], 3), ([], 5), ([0], 1)):
        src = torch.tensor(liquid, dtype=torch.long)
        ins = torch.full((n_in,), 2, dtype=torch.long)
        rule(0, src, torch.zeros_like(src), ins, torch.zeros_like(ins))
        a = a + (gain * (len(liquid) - n_in) + eta - a) / tau
        assert float(rule.a) == pytest.approx(a, rel=1e-6)


def test_batched_plasticity_matches_one_sample_at_a_time():
    net, syn = small_net(refractory="block")
    exc = np.ones(60, bool)
    exc[48:] = False
    x = torch.rand(60, 3, 8, generator=torch.Generator().manual_seed(5)) < 0.2
    w3 = syn.weight.unsqueeze(0).repeat(3, 1)
    rule = AstroSTDP(syn, w3, 60, exc, batch=3, stdp=STDPParams(lr_decay=0.99), astro=AstrocyteParams(gain=0.05))
    net.run(60, 3, inputs=x, weight=w3, on_step=rule)
    for b in range(3):
        w1 = syn.weight.clone()
        r1 = AstroSTDP(syn, w1, 60, exc, batch=1, stdp=STDPParams(lr_decay=0.99), astro=AstrocyteParams(gain=0.05))
        net.run(60, 1, inputs=x[:, b:b + 1], weight=w1, on_step=r1)
        assert torch.allclose(w3[b], w1, atol=1e-6)
    assert not torch.equal(w3[0], syn.weight)


# ------------------------------------------------------------------ branching factor

def test_branching_factor_matches_the_direct_loop():
    rng = np.random.default_rng(0)
    n = 40
    pre, post = random_connectivity(n, 0.2, seed=1)
    s = rng.random((3, 90, n)) < 0.05
    fast = branching_factor(torch.as_tensor(s), pre, post, window=4, margin=10)
    slow = branching_factor_reference(s, pre, post, window=4, margin=10)
    assert fast == pytest.approx(slow, rel=1e-6)


def test_branching_factor_of_a_chain():
    """A chain 0 -> 1 -> ... -> n-1 that a wave runs along once: every spike but the last has exactly
    one descendant and at most one ancestor (sigma = 1); the last one has none (sigma = 0)."""
    n, t_len = 30, 80
    s = np.zeros((1, t_len, n), bool)
    for k in range(n):
        s[0, 5 + k, k] = True
    pre, post = np.arange(n - 1), np.arange(1, n)
    assert branching_factor(torch.as_tensor(s), pre, post, window=2, margin=2) == pytest.approx((n - 1) / n)


# ------------------------------------------------------------------ the liquid state machine

def test_liquid_pipeline_on_a_small_problem():
    x, y = lsm.digits_dataset()
    keep = np.random.default_rng(0).permutation(len(x))[:240]
    c = lsm.compare_liquids(x[keep], y[keep], shape=(5, 5, 5), n_steps=70, n_plasticity=30, probe_size=4,
                            probe_every=15, batch_size=120, seed=0)
    assert set(c.accuracy) == {"raw", "plain", "stdp", "nalsm"}
    assert all(0.1 < a <= 1.0 for a in c.accuracy.values())
    assert c.rate_hz["nalsm"] < c.rate_hz["plain"]            # the astrocyte calms the liquid down
    assert c.histories["nalsm"]["samples"] == [0, 15, 30]
    again = lsm.compare_liquids(x[keep], y[keep], shape=(5, 5, 5), n_steps=70, n_plasticity=30, probe_size=4,
                                probe_every=15, batch_size=120, seed=0, kinds=("plain", "nalsm"))
    assert again.bf["nalsm"] == c.bf["nalsm"] and again.accuracy["nalsm"] == c.accuracy["nalsm"]


def test_negative_control_switches_the_astrocyte_off_and_shuffles_the_readout_labels():
    """control="no_astrocyte": NALSM's liquid learns exactly as the STDP-only one (same samples, same seeds);
    "shuffled_labels": every liquid's readout falls to about chance while the raw baseline keeps its labels."""
    x, y = lsm.digits_dataset()
    keep = np.random.default_rng(0).permutation(len(x))[:240]
    kw = dict(shape=(4, 4, 4), n_steps=60, n_plasticity=20, probe_size=2, probe_every=10, batch_size=120, seed=0)
    off = lsm.compare_liquids(x[keep], y[keep], kinds=("stdp", "nalsm"), control="no_astrocyte", **kw)
    assert torch.equal(off.liquids["nalsm"].weight, off.liquids["stdp"].weight)
    assert off.histories["nalsm"]["bf"] == off.histories["stdp"]["bf"]
    on = lsm.compare_liquids(x[keep], y[keep], kinds=("nalsm",), **kw)
    assert not torch.equal(on.liquids["nalsm"].weight, off.liquids["nalsm"].weight)
    shuf = lsm.compare_liquids(x[keep], y[keep], kinds=("plain",), control="shuffled_labels", **kw)
    plain = lsm.compare_liquids(x[keep], y[keep], kinds=("plain",), **kw)
    assert shuf.accuracy["raw"] == plain.accuracy["raw"] > 0.8
    assert shuf.accuracy["plain"] < 0.3 < plain.accuracy["plain"]
    with pytest.raises(ValueError, match="Parameter 'control' of compare_liquids"):
        lsm.compare_liquids(x[keep], y[keep], control="no_liquid", **kw)


def test_paired_difference_and_end_of_run():
    """The paired interval against a hand computation; the end of a run is the mean of its last third."""
    a = np.array([1, 1, 1, 0, 1, 1, 0, 1], bool)
    b = np.array([1, 0, 1, 0, 0, 1, 1, 1], bool)
    d = a.astype(float) - b
    diff, lo, hi = lsm.paired_difference(a, b)
    half = 1.959964 * d.std(ddof=1) / np.sqrt(8)
    assert diff == pytest.approx(0.125) and lo == pytest.approx(0.125 - half) and hi == pytest.approx(0.125 + half)
    hist = {"samples": [0, 250, 500, 750, 1000, 1250, 1500], "bf": [1.3, 1.2, 1.1, 1.05, 1.0, 0.98, 1.02]}
    assert lsm.end_of_run(hist) == pytest.approx((1.0 + 0.98 + 1.02) / 3)
    assert np.isnan(lsm.end_of_run({"samples": [], "bf": []}))
    with pytest.raises(ValueError, match="correct_a and correct_b"):
        lsm.paired_difference([1], [0])


def test_plastic_presentation_leaves_the_liquid_unchanged():
    liq = lsm.Liquid(64, lsm.LiquidConfig(shape=(4, 4, 4)), seed=0)
    x, _ = lsm.digits_dataset()
    enc = liq.encode(x[:6], 40, seed=0)
    w0 = liq.weight.clone()
    frozen, _ = liq.present(enc, "plain")
    plastic, _ = liq.present(enc, "nalsm", batch_size=4)
    assert torch.equal(liq.weight, w0) and frozen.shape == plastic.shape == (6, 64)
    assert not np.array_equal(frozen, plastic)


def test_mnist1d_generates_offline_and_restores_global_rngs():
    pytest.importorskip("mnist1d")
    state = np.random.get_state()[1].copy()
    x, y = lsm.mnist1d_dataset(200, seed=0)
    assert x.shape == (200, 80) and set(np.unique(y)) == set(range(10))
    assert 0 <= x.min() and x.max() == pytest.approx(1.0)
    assert np.array_equal(np.random.get_state()[1], state)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_probabilities(p):
    with pytest.raises(ValueError, match=r"Parameter 'p' of random_connectivity must be a number in \[0, 1\]"):
        random_connectivity(10, p)
    with pytest.raises(ValueError, match=r"c\['EE'\]"):
        distance_connectivity((3, 3, 3), c={"EE": p, "EI": 0.1, "IE": 0.1, "II": 0.1})
    with pytest.raises(ValueError, match="Parameter 'density'"):
        input_connectivity(4, 4, p)


def test_bad_features_for_encoders():
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        poisson_encode(np.array([[0.5, 1.2]]), 10)
    with pytest.raises(ValueError, match="2-D array"):
        poisson_encode(np.ones(3), 10)


def test_time_step_longer_than_tau_m():
    with pytest.raises(ValueError, match=r"Parameter 'dt' of LIFPopulation must be a number in \(0, 5.0\]"):
        LIFPopulation(10, tau_m=5.0, dt=10.0)
    with pytest.raises(ValueError, match="Parameter 'dt' of LIFPopulation"):
        lsm.Liquid(4, lsm.LiquidConfig(shape=(3, 3, 3), tau_m=0.5))


def test_wrong_input_shapes():
    net, _ = small_net()
    with pytest.raises(ValueError, match=r"inputs must have shape \(n_steps, batch, n_inputs\) = \(10, 2, 8\)"):
        net.run(10, 2, inputs=torch.zeros(10, 2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="current must have shape"):
        net.run(10, 2, current=torch.zeros(10, 2))
    with pytest.raises(ValueError, match=r"Parameter 'chunk' of LIFNetwork.run must be an integer >= 1"):
        net.run(10, 2, poisson_rate=50.0, chunk=0)
    liq = lsm.Liquid(64, lsm.LiquidConfig(shape=(3, 3, 3)), seed=0)
    with pytest.raises(ValueError, match=r"inputs must be spike trains of shape \(steps, samples, 64\)"):
        liq.run(torch.zeros(20, 3, 10, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"x must have shape \(samples, 64\)"):
        liq.encode(np.zeros((3, 10)), 20)


def test_empty_liquid():
    with pytest.raises(ValueError, match="empty liquid"):
        grid_positions((0, 10, 10))
    with pytest.raises(ValueError, match="empty liquid"):
        lsm.Liquid(4, lsm.LiquidConfig(shape=(10, 0, 10)))
    with pytest.raises(ValueError, match="Parameter 'n' of LIFPopulation must be an integer >= 1"):
        LIFPopulation(0)
    with pytest.raises(ValueError, match="at least one step and sample"):
        lsm.Liquid(4, lsm.LiquidConfig(shape=(3, 3, 3))).run(torch.zeros(0, 2, 4, dtype=torch.bool))


def test_bad_settings_of_compare_liquids():
    x, y = lsm.digits_dataset()
    with pytest.raises(ValueError, match="Parameter 'kinds' of compare_liquids must be"):
        lsm.compare_liquids(x[:50], y[:50], kinds=("plain", "chaos"))
    with pytest.raises(ValueError, match="Parameter 'n_steps' of compare_liquids must exceed 58 ms"):
        lsm.compare_liquids(x[:50], y[:50], n_steps=40)
    with pytest.raises(ValueError, match="one label per sample"):
        lsm.compare_liquids(x[:50], y[:40])


def test_liquid_resolves_its_device_through_the_lab():
    liquid = lsm.Liquid(4, lsm.LiquidConfig(shape=(3, 3, 3)), device="auto")
    assert liquid.device.type in ("cpu", "cuda", "mps") and liquid.net.device == liquid.device
    with pytest.raises(ValueError, match="device"):
        lsm.Liquid(4, lsm.LiquidConfig(shape=(3, 3, 3)), device="tpu")
