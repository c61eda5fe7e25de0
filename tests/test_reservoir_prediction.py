"""Tests of labkit.spiking.reservoir_prediction: the task, the reservoir's traces, the readout rules, bad input."""
import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.spiking.neurons import Izhikevich
from labkit.spiking.reservoir_prediction import (
    ReservoirConfig,
    RuleParams,
    TaskSpec,
    consolidate,
    gate,
    regular_spiking_spikes,
    rls_step,
    run_study,
    schedule,
    three_factor_update,
)
from labkit.spiking.reservoir_prediction.reservoir import build_reservoir, eligibility, trial_inputs


def test_blocks_are_balanced_and_reverse_at_the_change():
    spec = TaskSpec(n_trials=80, change_trial=40)
    stim = schedule(spec, 3, seed=1)
    for r in range(3):
        for start in (0, 20, 40, 60):
            counts = np.bincount(stim[r, start:start + 20], minlength=4)
            assert counts.tolist() == ([10, 5, 3, 2] if start < 40 else [2, 3, 5, 10])
    assert not np.array_equal(stim[0], stim[1])                 # replicates differ in order
    assert np.array_equal(stim, schedule(spec, 3, seed=1))      # same seed, same order


def test_trial_inputs_place_cue_and_stimulus():
    spec, cfg = TaskSpec(n_trials=4, change_trial=2), ReservoirConfig(n=100)
    x = trial_inputs(spec, cfg, np.array([2, -1]), np.array([400.0, 400.0])).numpy()
    assert x[:, :, 0].sum(0).tolist() == [50, 50]                # the cue, 50 ms in both
    assert np.flatnonzero(x[:, 0, 0])[[0, -1]].tolist() == [100, 149]
    assert np.flatnonzero(x[:, 0, 3])[[0, -1]].tolist() == [500, 549]   # stimulus 2 (channel 3) at 100 + 400
    assert x[:, 1, 1:5].sum() == 0                               # the probe has no stimulus
    assert x[:, :, -1].all()                                     # the tonic channel


def test_eligibility_is_the_filtered_spike_train_at_bin_starts():
    spec, cfg = TaskSpec(n_trials=2, change_trial=1), ReservoirConfig(n=80, bin_ms=10.0, tau_e=50.0)
    net = build_reservoir(cfg, 4, seed=3)
    rec = net.run(800, 2, inputs=trial_inputs(spec, cfg, np.array([0, 1]), np.array([400.0, 400.0])),
                  poisson_rate=cfg.noise_hz, poisson_weight=cfg.noise_weight, seed=5, engine="torch")
    e = eligibility(rec, cfg, 80).double()
    dense = rec.dense(torch.float64)                              # (B, T, N); a spike of step i counts at i + 1
    times = torch.arange(1, 801, dtype=torch.float64)
    for b in (0, 37, 79):
        t = b * 10.0
        w = torch.where(times <= t, torch.exp(-(t - times) / 50.0), torch.zeros(()))
        assert torch.allclose(e[:, b], torch.einsum("t,btn->bn", w, dense), atol=1e-4)


def _loop_f32(current, steps=1000):
    """A direct Euler loop in float32, in the engine's order of operations."""
    f = np.float32
    a, b, c, d, i_ = f(0.02), f(0.2), f(-65.0), f(8.0), f(current)
    v = f(-65.0)
    u = b * v
    out = []
    for s in range(steps):
        for _ in range(2):
            v = v + (((v * f(0.04) + f(5.0)) * v + f(140.0)) - u + i_) * f(0.5)
        u = u + (v * b - u) * a
        if v >= 30:
            out.append(s + 1.0)
            v, u = c, u + d
    return np.array(out)


@pytest.mark.parametrize("current", [5.0, 10.0, 15.0])
def test_izhikevich_f_i_points_match_a_direct_euler_loop(current):
    engine, loop = regular_spiking_spikes(current, 1000.0), _loop_f32(current)
    assert abs(len(engine) - len(loop)) <= 0.1 * len(loop) + 1   # the f-I point (rates within 10%)
    assert np.array_equal(engine[:3], loop[:3])                  # the first spikes to the step


def test_three_factor_update_moves_the_output_a_fraction_eta_g_of_the_error():
    g = torch.Generator().manual_seed(0)
    w, e = torch.randn(3, 20, generator=g, dtype=torch.float64), torch.randn(3, 20, generator=g, dtype=torch.float64)
    y0 = (w * e).sum(-1)
    w1 = three_factor_update(w, e, 1.0, 0.5, 0.2)
    assert torch.allclose((w1 * e).sum(-1), y0 + 0.1 * (1.0 - y0))
    assert torch.equal(three_factor_update(w, e, 1.0, 0.0, 0.2), w)   # a closed gate: no change


def test_consolidation_tends_to_the_probabilities():
    spec = TaskSpec(n_trials=400, change_trial=200)
    stim = torch.as_tensor(schedule(spec, 4, seed=2))
    e = torch.randn(4, 30, dtype=torch.float64)
    W, amps = torch.zeros(4, 4, 30, dtype=torch.float64), []
    for i in range(200):
        W = consolidate(W, e, stim[:, i], 0.1)
        amps.append(torch.einsum("rkd,rd->rk", W, e).mean(0))
    assert torch.allclose(torch.stack(amps[-60:]).mean(0), torch.tensor(spec.probs, dtype=torch.float64), atol=0.03)


def test_rls_is_ridge_regression_on_all_samples():
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(2, 50, 6, generator=g, dtype=torch.float64), torch.randn(2, 50, generator=g, dtype=torch.float64)
    P, w = torch.eye(6, dtype=torch.float64).repeat(2, 1, 1) / 0.5, torch.zeros(2, 1, 6, dtype=torch.float64)
    for t in range(50):
        P, w = rls_step(P, w, X[:, t], y[:, t, None])
    ridge = torch.linalg.solve(0.5 * torch.eye(6) + X.transpose(1, 2) @ X, (X.transpose(1, 2) @ y[..., None]))
    assert torch.allclose(w[:, 0], ridge[..., 0], atol=1e-8)


def test_gate_opens_around_the_expected_onset():
    t = np.arange(0, 800, 10.0)
    g = gate(t, 500.0, 100.0).numpy()
    assert g[50] == pytest.approx(1.0) and g[0] == pytest.approx(0.1, abs=1e-3)
    assert np.all(gate(t, None, 50.0).numpy() == 1)


def test_a_small_study_is_repeatable_and_the_control_learns_nothing():
    spec = TaskSpec(n_trials=20, change_trial=10, delay_before=300.0, delay_after=400.0, trial_ms=600.0)
    cfg = ReservoirConfig(n=80, bin_ms=20.0)
    a = run_study(spec, cfg, n_replicates=2, n_probe=2, seed=4)
    b = run_study(spec, cfg, n_replicates=2, n_probe=2, seed=4)
    for key in a.learners:
        assert np.array_equal(a.learners[key].when, b.learners[key].when)
        assert np.array_equal(a.learners[key].what, b.learners[key].what)
    c = run_study(spec, cfg, n_replicates=2, n_probe=2, seed=4, control="untrained")
    for s in c.learners.values():
        assert not s.when.any() and not s.what.any() and s.trials_to_criterion == 11


@pytest.mark.parametrize("make, name", [
    (lambda: TaskSpec(probs=(0.5, 0.6, -0.1, 0.0)), "'probs'"),
    (lambda: TaskSpec(probs=(0.5, 0.25, 0.15, 0.05)), "'probs'"),
    (lambda: TaskSpec(delay_before=0.0), "'delay_before'"),
    (lambda: TaskSpec(delay_after=700.0), "'delay_after'"),
    (lambda: TaskSpec(n_trials=100, change_trial=100), "'change_trial'"),
    (lambda: TaskSpec(change_trial=0), "'change_trial'"),
    (lambda: Izhikevich(5, a=np.full(4, 0.02)), "'a'"),
    (lambda: Izhikevich(5, d=np.full(6, 8.0)), "'d'"),
    (lambda: ReservoirConfig(dt=0.3), "'dt'"),
    (lambda: RuleParams(gate_ms=0.0), "'gate_ms'"),
    (lambda: run_study(TaskSpec(), ReservoirConfig(n=100), control="shuffle"), "'control'"),
])
def test_bad_input_is_one_sentence_naming_the_argument(make, name):
    with pytest.raises(ParameterError) as err:
        make()
    msg = str(err.value)
    assert name in msg and msg.count(". ") == 0 and msg.endswith(".")
