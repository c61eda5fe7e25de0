"""The spiking engine: neuron models against direct per-neuron loops, the compiled path against the torch
path, delays against a direct event loop, bad input, and reproducibility."""
import math

import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.spiking import compiled, engine
from labkit.spiking.connectivity import input_connectivity, random_connectivity
from labkit.spiking.lif_network import LIFNetwork, LIFPopulation
from labkit.spiking.neurons import LIF, AdaptiveLIF, Izhikevich
from labkit.spiking.synapses import Synapses

needs_numba = pytest.mark.skipif(compiled.NUMBA is None, reason="Numba is not installed")


def torch_spikes(model, ext, pad=3):
    """Spikes (step, sample, neuron) of ``model`` driven by ``ext`` (T, B, n) through its torch step."""
    steps, batch, n = ext.shape
    stride = n + pad
    state = model.init_state(batch, stride, torch.float32, "cpu")
    drive = torch.zeros(batch, stride)
    mask = torch.zeros(batch * stride, dtype=torch.bool)
    out = []
    for t in range(steps):
        drive[:, :n] = torch.as_tensor(ext[t])
        spk = model.step(state, drive.view(-1), mask).numpy()
        out += [(t, int(s) // stride, int(s) % stride) for s in spk]
    return sorted(out)


def compiled_spikes(model, ext, seg=None, post=None, weight=None, chunk=7):
    steps, batch, n = ext.shape
    seg = np.zeros((n, 2), np.int64) if seg is None else seg
    post = np.zeros(0, np.int32) if post is None else post
    weight = np.zeros((1, 0), np.float32) if weight is None else weight
    t, b, i = engine.run_compiled(model, seg, post, weight, steps, batch, lambda t0, t1: ext[t0:t1], chunk)
    return sorted(zip(t.tolist(), b.tolist(), i.tolist()))


def matched_within_one_step(a, b):
    """Fraction of the spikes of ``a`` (step, neuron) with a spike of the same neuron in ``b`` at most one step away."""
    have = set(b)
    return np.mean([any((t + s, i) in have for s in (-1, 0, 1)) for t, i in a]) if a else 1.0


# --- neuron models against direct per-neuron loops -------------------------------------------------

def lif_loop(current, tau_m, v_th, t_ref=0.0, dt=1.0, tau_syn=0.0, tau_w=None, b=0.0):
    """One (adaptive) LIF neuron, step by step, in plain floats."""
    v = i_syn = w = 0.0
    refr, spikes = 0, []
    for t, x in enumerate(current):
        if tau_syn > 0:
            i_syn = i_syn * math.exp(-dt / tau_syn) + x
            x = i_syn
        v = v * math.exp(-dt / tau_m) + x - w
        if tau_w is not None:
            w *= math.exp(-dt / tau_w)
        if refr > 0:
            v, refr = 0.0, refr - 1
        elif v >= v_th:
            v, refr = 0.0, round(t_ref / dt)
            w += b
            spikes.append(t)
    return spikes


def izhikevich_loop(current, a, b, c, d, dt=1.0, f=float):
    """One Izhikevich neuron in floats of type ``f`` (float, or np.float32 as the engine)."""
    a_dt, b, c, d, h = f(a * dt), f(b), f(c), f(d), f(dt / 2)
    v = f(-65.0)
    u = b * v
    spikes = []
    for t, x in enumerate(current):
        for _ in range(2):
            v = v + (((f(0.04) * v + f(5)) * v + f(140)) - u + f(x)) * h     # 0.04 v^2 + 5 v + 140 - u + I
        u = u + a_dt * (b * v - u)
        if v >= 30:
            v, u = c, u + d
            spikes.append(t)
    return spikes


def model_spike_times(model, current):
    """Spike times of each neuron of ``model`` under a constant current per neuron, 1,000 steps."""
    ext = np.broadcast_to(np.asarray(current, np.float32), (1000, 1, model.n)).copy()
    found = torch_spikes(model, ext)
    return [[t for t, _, i in found if i == k] for k in range(model.n)]


def test_lif_f_i_curve_matches_its_loop_and_the_closed_form():
    currents = np.array([0.5, 1.0, 1.5, 3.0, 6.0])      # mV per step; rheobase = 20 (1 - e^-1/20) = 0.975
    model = LIF(5, tau_m=20.0, v_th=20.0, t_ref=0.0, tau_syn=0.0)
    got = model_spike_times(model, currents)
    d = math.exp(-1 / 20)
    for k, x in enumerate(currents):
        want = lif_loop([x] * 1000, 20.0, 20.0)
        assert got[k] == want
        if x * 1 / (1 - d) > 20:                  # period from v_k = x (1 - d^k) / (1 - d) >= 20
            period = math.ceil(math.log(1 - 20 * (1 - d) / x) / math.log(d))
            assert abs(len(want) - 1000 / period) <= 1
        else:
            assert want == []


def test_lif_per_neuron_parameters_synaptic_current_and_refractoriness_match_the_loop():
    tau_m, t_ref, tau_syn = np.array([10.0, 20.0, 40.0]), np.array([0.0, 2.0, 5.0]), np.array([0.0, 1.0, 3.0])
    model = LIF(3, tau_m=tau_m, v_th=15.0, t_ref=t_ref, tau_syn=tau_syn)
    got = model_spike_times(model, [2.5, 2.5, 1.5])
    for k in range(3):
        want = lif_loop([[2.5, 2.5, 1.5][k]] * 1000, tau_m[k], 15.0, t_ref[k], tau_syn=tau_syn[k])
        assert len(want) > 10 and matched_within_one_step([(t, 0) for t in got[k]], [(t, 0) for t in want]) == 1.0
        assert abs(len(got[k]) - len(want)) <= 1


def test_adaptive_lif_adapts_as_its_loop():
    model = AdaptiveLIF(2, tau_m=20.0, t_ref=2.0, tau_syn=0.0, tau_w=[100.0, 50.0], b=[0.3, 1.0])
    got = model_spike_times(model, [3.0, 3.0])
    for k, (tw, b) in enumerate([(100.0, 0.3), (50.0, 1.0)]):
        want = lif_loop([3.0] * 1000, 20.0, 20.0, 2.0, tau_w=tw, b=b)
        assert matched_within_one_step([(t, 0) for t in got[k]], [(t, 0) for t in want]) == 1.0
        isi = np.diff(want)
        assert isi[-1] > isi[0]                          # adaptation lengthens the intervals
    assert len(got[1]) < len(got[0])


@pytest.mark.parametrize("params", [(0.02, 0.2, -65, 8), (0.02, 0.2, -50, 2), (0.1, 0.2, -65, 2), (0.02, 0.25, -65, 2)])
def test_izhikevich_firing_classes_match_their_loop(params):
    """Regular spiking, chattering, fast spiking, low-threshold spiking (Izhikevich 2003, Fig. 2)."""
    a, b, c, d = params
    model = Izhikevich(3, a=a, b=b, c=c, d=d)
    currents = [4.0, 10.0, 15.0]
    got = model_spike_times(model, currents)
    for k, x in enumerate(currents):
        want = izhikevich_loop([x] * 1000, a, b, c, d)             # in float64: the same rate
        assert len(want) > 3 and abs(len(got[k]) - len(want)) <= max(2, len(want) // 20)
        assert got[k] == izhikevich_loop([x] * 1000, a, b, c, d, f=np.float32)  # in float32: the same spikes
    assert len(got[0]) < len(got[2])                                     # f-I grows


def test_izhikevich_mix_is_the_papers_80_20_network():
    m = Izhikevich.mix(80, 20, seed=3)
    a, b, c, d = (m.params[k] for k in "abcd")
    assert m.n == 100 and np.all(a[:80] == 0.02) and np.all(b[:80] == 0.2)
    assert np.all(c[80:] == -65) and np.all(d[80:] == 2)
    assert np.all((c[:80] >= -65) & (c[:80] <= -50)) and np.all((a[80:] >= 0.02) & (a[80:] <= 0.1))
    assert np.array_equal(Izhikevich.mix(80, 20, seed=3).params["c"], c)


# --- the compiled path against the torch path --------------------------------------------------------

MODELS = {
    "lif": lambda n, rng: LIF(n, tau_m=20.0, t_ref=2.0, tau_syn=0.0),
    "lif per neuron, block": lambda n, rng: LIF(n, tau_m=rng.uniform(10, 30, n), t_ref=rng.choice([0.0, 1.0, 3.0], n),
                                                refractory="block"),
    "adaptive lif": lambda n, rng: AdaptiveLIF(n, tau_w=50.0, b=0.5, tau_syn=2.0),
    "izhikevich mix": lambda n, rng: Izhikevich.mix(n - n // 5, n // 5),
}


@needs_numba
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("batch", [1, 3])
def test_compiled_gives_the_torch_spikes(name, batch):
    rng = np.random.default_rng(0)
    model = MODELS[name](50, rng)
    ext = (rng.random((300, batch, 50)) * (12 if "izh" in name else 3)).astype(np.float32)
    want = torch_spikes(model, ext)
    assert len(want) > 100
    assert compiled_spikes(model, ext) == want


# --- delays against a direct event loop -------------------------------------------------------------

def network(n=40, p=0.2, seed=0, dmax=5):
    rng = np.random.default_rng(seed)
    pre, post = np.nonzero(rng.random((n, n)) < p)
    w = np.where(pre < int(0.8 * n), 1.5, -4.0)
    delay = rng.integers(1, dmax + 1, pre.size).astype(float)
    return pre, post, w, delay


def event_loop(n, pre, post, w, delay, ext, tau_m=20.0, v_th=20.0):
    """The delayed LIF network the plain way: a list of arrivals per future step."""
    d = math.exp(-1 / tau_m)
    v = np.zeros(n)
    arrivals = {}
    spikes = []
    for t in range(ext.shape[0]):
        x = ext[t].astype(np.float64)
        for j, val in arrivals.pop(t, []):
            x[j] += val
        v = v * d + x
        fired = np.nonzero(v >= v_th)[0]
        v[fired] = 0.0
        for i in fired:
            spikes.append((t, int(i)))
            for e in np.nonzero(pre == i)[0]:
                arrivals.setdefault(t + int(delay[e]), []).append((post[e], w[e]))
    return spikes


@needs_numba
def test_delays_match_a_direct_event_loop():
    n = 40
    pre, post, w, delay = network(n)
    steps = engine.delay_steps(delay, pre.size, 1.0, 5.0)
    order, seg = engine.delay_order(pre, post, steps, n)
    ext = (np.random.default_rng(1).random((400, 1, n)) * 2.2).astype(np.float32)
    model = LIF(n, tau_m=20.0, t_ref=0.0, tau_syn=0.0)
    got = compiled_spikes(model, ext, seg, post[order].astype(np.int32), w[order].astype(np.float32)[None])
    want = event_loop(n, pre, post, w, delay, ext[:, 0])
    got2 = [(t, i) for t, _, i in got]
    assert len(want) > 200
    assert matched_within_one_step(want, got2) >= 0.99 and abs(len(got2) - len(want)) <= len(want) // 100
    # with all delays one step, the grouped rows are the plain ones
    order1, seg1 = engine.delay_order(pre, post, np.ones(pre.size, np.int32), n)
    assert np.array_equal(order1, np.lexsort((post, pre))) and seg1.shape == (n, 2)


# --- reproducibility ----------------------------------------------------------------------------------

@needs_numba
def test_same_input_same_spikes_and_chunking_does_not_matter():
    rng = np.random.default_rng(5)
    model = Izhikevich.mix(40, 10, seed=2)
    ext = (rng.random((200, 2, 50)) * 12).astype(np.float32)
    a = compiled_spikes(model, ext, chunk=7)
    assert a == compiled_spikes(model, ext, chunk=7) == compiled_spikes(model, ext, chunk=64)


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, name", [
    (lambda: LIF(3, tau_m=[20.0, 20.0]), "tau_m"),
    (lambda: LIF(3, tau_m=-5.0), "tau_m"),
    (lambda: LIF(3, tau_syn=-1.0), "tau_syn"),
    (lambda: LIF(3, t_ref=[1.0, -1.0, 0.0]), "t_ref"),
    (lambda: LIF(3, refractory="sometimes"), "refractory"),
    (lambda: AdaptiveLIF(3, tau_w=0.0), "tau_w"),
    (lambda: Izhikevich(2, a=np.ones(3)), "'a'"),
    (lambda: Izhikevich(2, c=40.0), "'c'"),
    (lambda: LIF(0), "'n'"),
    (lambda: engine.delay_steps(0.5, 4, 1.0), "delay"),
    (lambda: engine.delay_steps(7.0, 4, 1.0, max_delay=5.0), "delay"),
    (lambda: engine.delay_steps(1.5, 4, 1.0), "delay"),
    (lambda: engine.delay_steps([1.0, 2.0], 4, 1.0), "delay"),
    (lambda: engine.choose_engine("fast", "cpu", 1, False), "'engine'"),
    (lambda: engine.choose_engine("compiled", "cpu", 1, True), "'engine'"),
])
def test_bad_input_is_one_sentence_naming_the_argument(make, name):
    with pytest.raises(ParameterError) as err:
        make()
    msg = str(err.value)
    assert name.strip("'") in msg and msg.count(". ") <= 1 and msg.endswith((".", ";", ")"))


def test_unknown_engine_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="'auto', 'compiled', 'torch'"):
        engine.choose_engine("fast", "cpu", 1, False)


def test_compiled_engine_refuses_cuda_and_auto_takes_torch_there():
    with pytest.raises(ParameterError, match="'engine'.*CPU only"):
        engine.choose_engine("compiled", "cuda", 1, False)
    assert engine.choose_engine("auto", "cuda", 1, False) == "torch"


def test_auto_engine_choice():
    expect = "compiled" if compiled.NUMBA is not None else "torch"
    assert engine.choose_engine("auto", "cpu", 1, False) == expect
    assert engine.choose_engine("auto", "cpu", 64, False) == "torch"
    assert engine.choose_engine("auto", "cpu", 1, True) == "torch"
    assert engine.choose_engine("torch", "cpu", 1, False) == "torch"


# --- the network's run paths -------------------------------------------------------------------------

def lif_net(model, n=60, m=8, p=0.15, seed=0, delay=None, weights=(-2.3, 1.1, 1.7), in_weights=(3.1, 5.3)):
    """A recurrent network of ``model`` with ``m`` input channels; weights that are not multiples of 1/2,
    so that the order of the additions matters."""
    rng = np.random.default_rng(seed)
    pre, post = random_connectivity(n, p, seed=seed)
    ipre, ipost = input_connectivity(m, n, 0.3, seed=seed + 1)
    w = np.r_[rng.choice(weights, len(pre)), rng.choice(in_weights, len(ipre))].astype(np.float32)
    syn = Synapses.from_edges(np.r_[pre, ipre + n], np.r_[post, ipost], w, n + m, n)
    if delay == "random":                           # 1-5 ms on the recurrent synapses, one step from the inputs
        delay = np.ones(syn.nnz)
        delay[: int(syn.indptr[n])] = rng.integers(1, 6, int(syn.indptr[n]))
    return LIFNetwork(model, syn, delay=delay, max_delay=None if delay is None else 5.0), syn


def events(rec):
    return sorted(zip(rec.t.tolist(), rec.b.tolist(), rec.n.tolist()))


NETS = {
    "lsm lif": lambda: LIFPopulation(60, tau_m=20.0, v_th=10.0, refractory="block"),
    "lif clamp, delta": lambda: LIF(60, tau_m=20.0, v_th=10.0, tau_syn=0.0, t_ref=2.0),
    "adaptive lif": lambda: AdaptiveLIF(60, tau_m=20.0, v_th=10.0, tau_w=80.0, b=0.7),
    "izhikevich mix": lambda: Izhikevich.mix(48, 12, seed=1),
}


@needs_numba
@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("delay", [None, "random"])
@pytest.mark.parametrize("batch", [1, 3])
def test_network_compiled_and_torch_paths_give_the_same_spikes(name, delay, batch):
    net, _ = lif_net(NETS[name](), delay=delay)
    x = torch.rand(150, batch, 8, generator=torch.Generator().manual_seed(1)) < 0.08
    cur = torch.rand(150, batch, 60, generator=torch.Generator().manual_seed(2)) * (8.0 if "izh" in name else 0.8)
    kw = dict(inputs=x, current=cur, poisson_rate=40, poisson_weight=2.0, seed=2, chunk=32)
    a = net.run(150, batch, engine="torch", **kw)
    assert a.n_spikes > 100
    assert events(a) == events(net.run(150, batch, engine="compiled", **kw))
    w = net.syn.weight.clone() if batch == 1 else net.syn.weight.repeat(batch, 1)
    assert events(a) == events(net.run(150, batch, engine="compiled", weight=w, **kw))   # per-sample weights


@pytest.mark.parametrize("delay", [None, "random"])
def test_network_general_path_with_delays_agrees(delay):
    """The synapse-list path (under plasticity) adds the drives in another order: with weights that are
    multiples of 1/2 every sum is exact, and it gives the fast path's spikes."""
    net, syn = lif_net(LIFPopulation(60, tau_m=20.0, v_th=10.0), delay=delay, weights=(-2.0, 1.0, 1.5),
                       in_weights=(3.0, 5.0))
    x = torch.rand(150, 3, 8, generator=torch.Generator().manual_seed(1)) < 0.08
    kw = dict(inputs=x, poisson_rate=40, poisson_weight=2.0, seed=2)
    a = net.run(150, 3, engine="torch", **kw)
    assert a.n_spikes > 100
    assert events(a) == events(net.run(150, 3, weight=syn.weight.repeat(3, 1), on_step=lambda *args: None, **kw))


@needs_numba
def test_network_delays_match_a_direct_event_loop_on_both_paths():
    n = 40
    pre, post, w, delay = network(n)
    syn = Synapses.from_edges(pre, post, w.astype(np.float32), n, n)
    # from_edges sorts the synapses by (pre, post); the loop reads them in any order
    order = np.lexsort((post, pre))
    net = LIFNetwork(LIF(n, tau_m=20.0, t_ref=0.0, tau_syn=0.0), syn, delay=delay[order], max_delay=5.0)
    ext = (np.random.default_rng(1).random((400, 1, n)) * 2.2).astype(np.float32)
    want = event_loop(n, pre, post, w, delay, ext[:, 0])
    for eng in ("torch", "compiled"):
        got = [(t, i) for t, _, i in events(net.run(400, 1, current=torch.as_tensor(ext), engine=eng))]
        assert matched_within_one_step(want, got) >= 0.99 and abs(len(got) - len(want)) <= len(want) // 100


def test_plasticity_hooks_see_the_spikes_at_their_step_with_delays():
    net, syn = lif_net(LIFPopulation(60, tau_m=20.0, v_th=10.0), delay="random")
    x = torch.rand(100, 1, 8, generator=torch.Generator().manual_seed(1)) < 0.1
    seen = []
    rec = net.run(100, 1, inputs=x, weight=syn.weight.clone(),
                  on_step=lambda t, rs, rb, i, ib: seen.append((t, rs.tolist())))
    by_step = {t: sorted(rec.n[rec.t == t].tolist()) for t in range(100)}
    assert [t for t, _ in seen] == list(range(100)) and all(sorted(s) == by_step[t] for t, s in seen)


def test_network_bad_engine_and_delays():
    net, syn = lif_net(LIFPopulation(60, tau_m=20.0, v_th=10.0))
    with pytest.raises(ParameterError, match="'engine'.*'auto', 'compiled', 'torch'"):
        net.run(10, engine="numba")
    with pytest.raises(ParameterError, match="'engine'.*on_step"):
        net.run(10, engine="compiled", on_step=lambda *a: None)
    with pytest.raises(ParameterError, match="'delay'.*multiples of dt"):
        LIFNetwork(LIFPopulation(60), syn, delay=1.5)
    with pytest.raises(ParameterError, match="'delay'.*max_delay"):
        LIFNetwork(LIFPopulation(60), syn, delay=8.0, max_delay=5.0)
    with pytest.raises(ParameterError, match="'delay'.*at least one step"):
        LIFNetwork(LIFPopulation(60), syn, delay=0.0)


def test_without_numba_the_engine_warns_once_and_runs_on_torch(monkeypatch):
    monkeypatch.setattr(compiled, "NUMBA", None)
    monkeypatch.setattr(engine, "_warned", [])
    with pytest.warns(RuntimeWarning, match="Numba"):
        assert engine.choose_engine("auto", "cpu", 1, False) == "torch"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert engine.choose_engine("auto", "cpu", 1, False) == "torch"


def test_compiled_engine_needs_float32_weights_and_auto_takes_torch_for_others():
    with pytest.raises(ParameterError, match="float32"):
        engine.choose_engine("compiled", "cpu", 1, False, float32=False)
    assert engine.choose_engine("auto", "cpu", 1, False, float32=False) == "torch"


def test_input_channel_synapses_keep_one_step():
    net, syn = lif_net(LIFPopulation(60, tau_m=20.0, v_th=10.0))
    delay = np.full(syn.nnz, 2.0)
    with pytest.raises(ParameterError, match="'delay'.*input channels"):
        LIFNetwork(LIFPopulation(60), syn, delay=delay)
    delay[int(syn.indptr[60]):] = 1.0
    assert LIFNetwork(LIFPopulation(60), syn, delay=delay).max_delay_steps == 2
