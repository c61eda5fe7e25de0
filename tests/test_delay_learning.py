"""Tests for labkit.spiking.delay_learning: events and their truth, the layer, event-driven evidence against
conv3d, delayed propagation on the spiking engine against a direct event loop, pruning, bad input."""
import math

import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.spiking.delay_learning import (
    DelayLayer,
    delay_masks,
    drift_angles,
    event_evidence,
    events_from_list,
    evidence,
    fast_beats_slow,
    fit_layer,
    kernel_drift,
    motion_classes,
    n_kept,
    prune,
    run_layer,
    shorten,
    simulate_events,
    to_synapses,
)
from labkit.spiking.delay_learning.layer import build_network


def random_case(seed=0, m=2, t=16, s=9, k=3, d=4, size=5, p_event=0.15, p_zero=0.5):
    g = torch.Generator().manual_seed(seed)
    ev = (torch.rand(m, 2, t, s, s, generator=g) < p_event).float()
    kern = torch.randn(k, 2, d, size, size, generator=g)
    kern[torch.rand(kern.shape, generator=g) < p_zero] = 0
    return ev, kern


def test_simulated_motion_matches_truth():
    s = simulate_events(3, crop=16, n_steps=20, speeds=(0.5,), n_directions=4, seed=3)
    assert s.events.shape == (3, 2, 20, 16, 16) and s.labels.shape == (3, 20)
    assert float(s.events[:, :, 0].sum()) == 0.0                       # no events before any motion
    assert set(np.unique(s.events.numpy())) <= {0.0, 1.0}
    assert torch.allclose(s.velocity, torch.as_tensor(s.classes[s.labels.numpy()], dtype=torch.float32))
    # since counts up inside a motion and restarts when the class may change
    d = s.since[:, 1:] - s.since[:, :-1]
    assert bool(((d == 1) | (s.since[:, 1:] == 0)).all())
    assert bool((s.labels[:, 1:] == s.labels[:, :-1])[d == 1].all())


def test_simulation_repeatable():
    a = simulate_events(2, crop=16, n_steps=12, seed=5)
    b = simulate_events(2, crop=16, n_steps=12, seed=5)
    c = simulate_events(2, crop=16, n_steps=12, seed=6)
    assert torch.equal(a.events, b.events) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.events, c.events)


def test_motion_classes_directions_and_speeds():
    c = motion_classes(4, (0.25, 0.5))
    assert np.allclose(c[0], [0.25, 0]) and np.allclose(c[1], [0.5, 0]) and np.allclose(c[2], [0, 0.25], atol=1e-12)


def test_event_driven_evidence_equals_conv3d():
    ev, kern = random_case()
    conv = evidence(ev, kern)
    evd = event_evidence(ev, kern, chunk=500)                          # several chunks
    assert conv.shape == evd.shape
    assert float((conv - evd).abs().max()) < 1e-4


def direct_event_loop(ev, kern, threshold, tau_m):
    """Reference: output LIF integrators fed event by event, synapse by synapse, with explicit delays."""
    edges, (n_in, n_out, g) = to_synapses(kern, ev.shape[-1])
    m, _, n_t = ev.shape[:3]
    arrive = np.zeros((m, n_t + kern.shape[2] + 1, n_out))
    by_src = {}
    for pre, post, w, d in zip(*(edges[k].tolist() for k in ("pre", "post", "weight", "delay")), strict=True):
        by_src.setdefault(pre, []).append((post, w, d))
    for b, p, t, y, x in ev.nonzero().tolist():                        # every event, every synapse
        for post, w, d in by_src.get(p * ev.shape[-1] ** 2 + y * ev.shape[-1] + x, []):
            arrive[b, t + d, post] += w
    decay = np.float32(math.exp(-1.0 / tau_m))
    spikes = set()
    for b in range(m):
        v = np.zeros(n_out, np.float32)
        for t in range(n_t):
            v = v * decay + arrive[b, t].astype(np.float32)
            fired = v >= threshold
            spikes |= {(t, b, int(i)) for i in np.nonzero(fired)[0]}
            v[fired] = 0.0
    return spikes


@pytest.mark.parametrize("engine", ["torch"])
def test_engine_delayed_propagation_matches_direct_loop(engine):
    ev, kern = random_case(seed=1, t=14, s=7, size=3, d=5)
    rec = run_layer(ev, kern, threshold=1.5, tau_m=3.0, engine=engine)
    got = set(zip(rec.t.tolist(), rec.b.tolist(), rec.n.tolist(), strict=True))
    want = direct_event_loop(ev, kern, 1.5, 3.0)
    assert len(want) > 10
    assert got == want


def test_engine_spikes_follow_conv3d_evidence_one_step_later():
    # with a membrane that forgets at once (tau_m = 1 ms leaves e^-1, so use a threshold only B can cross)
    ev, kern = random_case(seed=2, t=12, s=7, size=3, d=3, p_event=0.05)
    b = evidence(ev, kern.abs())
    thr = float(b.max()) * 0.999
    rec = run_layer(ev, kern.abs(), threshold=thr, tau_m=1.0, engine="torch")
    assert rec.n_spikes >= 1
    g = 7 - 3 + 1
    for t, m, n in zip(rec.t.tolist(), rec.b.tolist(), rec.n.tolist(), strict=True):
        assert float(b[m, n // (g * g), t - 1, (n % (g * g)) // g, n % g]) > 0


def test_to_synapses_counts_and_delays():
    kern = torch.zeros(2, 2, 3, 3, 3)
    kern[1, 0, 2, 0, 1] = 0.7
    edges, (n_in, n_out, g) = to_synapses(kern, 5)
    assert (n_in, n_out, g) == (50, 2 * 9, 3)
    assert edges["pre"].numel() == 9 and bool((edges["delay"] == 3).all())
    assert bool((edges["post"] >= 9).all()) and torch.allclose(edges["weight"], torch.full((9,), 0.7))


def test_prune_and_shorten_budgets():
    _, kern = random_case(seed=4, k=2, d=6, size=5, p_zero=0.0)
    n = kern.numel()
    p = prune(kern, 1 / 30)
    assert int((p != 0).sum()) == math.ceil(n / 30) == n_kept(kern, 1 / 30)
    assert float(p.abs().max()) == float(kern.abs().max())
    assert float(p[p != 0].abs().min()) >= float(kern.abs().flatten().sort().values[-math.ceil(n / 30)])
    s = shorten(kern, 1 / 6)
    assert int((s != 0).sum()) == math.ceil(n / 6) and bool((s[:, :, 1:] == 0).all())
    assert torch.equal(shorten(kern, max_delay=2)[:, :, :2], kern[:, :, :2])


def test_kernel_drift_reads_a_planted_path():
    kern = torch.zeros(4, 2, 6, 9, 9)
    classes = motion_classes(4, (1.0,))
    for k, (vx, vy) in enumerate(classes):
        for d in range(6):
            kern[k, 0, d, int(round(4 - vy * d * 0.6)), int(round(4 - vx * d * 0.6))] = 1.0
    drift = kernel_drift(kern)
    assert np.all(drift_angles(drift, classes) < 5)
    assert fast_beats_slow(np.r_[drift[:1] * 0.5, drift[:1]], 1, 2) == 1.0
    assert np.allclose(kernel_drift(kern[:, :, :1]), 0) and np.allclose(drift_angles(np.zeros((4, 2)), classes), 90)


def test_masks_grow_with_delay():
    m = delay_masks(5, 9, 1.0)
    counts = m.sum((1, 2))
    assert counts[0] == 5 and bool((counts[1:] >= counts[:-1]).all())


def test_training_learns_planted_motion_quickly():
    s = simulate_events(8, crop=12, n_steps=24, n_directions=4, speeds=(0.5,), segment=32.0, seed=1)
    layer, losses = fit_layer(s.events, s.labels, s.n_classes, n_delays=6, size=5, max_speed=0.5, steps=15,
                              lr=0.02, batch=4, stride=4, init=0.01, seed=0)
    assert isinstance(layer, DelayLayer) and losses[-5:].mean() < losses[:5].mean()


@pytest.mark.parametrize("call, word", [
    (lambda: evidence(torch.zeros(1, 2, 4, 5, 5), torch.zeros(2, 2, 3, 3)), "kernel"),
    (lambda: prune(torch.zeros(1, 2, 3, 3, 3), 0.0), "keep"),
    (lambda: prune(torch.zeros(1, 2, 3, 3, 3), 1.5), "keep"),
    (lambda: events_from_list([-1], [0], [0], [0], n_steps=4, size=3), "'t'"),
    (lambda: events_from_list([0], [2], [0], [0], n_steps=4, size=3), "'p'"),
    (lambda: events_from_list([0], [0], [3], [0], n_steps=4, size=3), "'y'"),
    (lambda: event_evidence(torch.full((1, 2, 4, 5, 5), 2.0), torch.ones(1, 2, 2, 3, 3)), "events"),
    (lambda: simulate_events(1, crop=64, n_steps=400, speeds=(1.0,), pictures=("camera",)), "crop"),
    (lambda: simulate_events(1, crop=400, n_steps=4, pictures=("chelsea",)), "crop"),
    (lambda: simulate_events(1, pictures=("moon",)), "picture"),
    (lambda: shorten(torch.zeros(1, 2, 3, 3, 3), max_delay=0), "max_delay"),
    (lambda: build_network(torch.ones(1, 2, 3, 3, 3), 5, threshold=0.0), "threshold"),
])
def test_bad_input_names_the_argument(call, word):
    with pytest.raises(ParameterError, match=word):
        call()


def test_bad_delays_name_the_argument():
    from labkit.spiking.delay_learning.layer import check_delays
    with pytest.raises(ParameterError, match="delay"):
        check_delays(torch.tensor([0, 1]), 3)
    with pytest.raises(ParameterError, match="D_max"):
        check_delays(torch.tensor([1, 4]), 3)


def test_sigmoid_fit_recovers_half_saturation_and_refuses_to_extrapolate():
    from labkit.spiking.delay_learning import fit_sigmoid
    keeps = np.geomspace(1, 1e-3, 13)
    acc = 0.1 + 0.8 / (1 + (0.02 / keeps) ** 2)
    (k50, top, _), f = fit_sigmoid(keeps, acc, 0.1)
    assert abs(k50 / 0.02 - 1) < 1e-3 and abs(top - 0.9) < 1e-3 and np.allclose(f(keeps), acc, atol=1e-6)
    (k50, _, _), _ = fit_sigmoid(keeps, 0.1 + 0.8 / (1 + (5.0 / keeps) ** 2), 0.1)
    assert math.isnan(k50)
