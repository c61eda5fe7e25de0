"""Tests for labkit.dynamics.common and labkit.dynamics.rich_lazy: the Ensemble, the measures, the
tasks, the RNN, the deep linear networks against their theory, and the bad-input messages."""

import numpy as np
import pytest
import torch

from labkit.core.params import ParameterError
from labkit.core.train import train
from labkit.dynamics.common import (
    Ensemble,
    Snapshots,
    effective_rank,
    gram,
    kernel_alignment,
    linear_cka,
    tangent_kernel,
    truncate_rank,
    weight_change,
)
from labkit.dynamics.rich_lazy import (
    PARAMETERS,
    MultipathwayNet,
    ReluRNN,
    deficit_schedule,
    hierarchy,
    make_trials,
    metrics,
    mode_init,
    mode_ode,
    modes,
    rank_sweep,
    saxe_closed_form,
    saxe_run,
    task_loss,
    train_pathways,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny problems: one torch thread (conftest)


# ------------------------------------------------------------------------------------------ common
def _train_alone(model, batches, lr=0.05, momentum=0.9):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for b in batches:
        loss = task_loss(model(b.x), b.y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def test_ensemble_equals_single_model_training():
    members = [ReluRNN(3, 16, 3, rank=r, seed=k) for k, r in enumerate((1, 4, 16))]
    batches = [make_trials("decision", 8, s) for s in range(15)]
    ens = Ensemble(members)
    opt = torch.optim.SGD(ens.parameters(), lr=0.05, momentum=0.9)
    train(
        ens, lambda step: task_loss(ens(batches[step].x), batches[step].y), len(batches), optimizer=opt, progress=False
    )
    for e, m in enumerate(members):  # the members were copied into the ensemble: train the originals alone
        alone = _train_alone(m, batches)
        got = ens.member(e)
        for name in ("W_in", "W_rec", "W_out"):
            assert torch.allclose(getattr(got, name), getattr(alone, name), atol=1e-6, rtol=0), name


def test_ensemble_per_member_inputs_and_methods():
    members = [ReluRNN(3, 8, 3, seed=k) for k in range(2)]
    ens = Ensemble(members)
    x = torch.randn(2, 5, 8, 3)
    out = ens(x, shared=False)
    for e in range(2):
        assert torch.allclose(out[e], members[e](x[e]), atol=1e-6)
    h = ens.call("hidden", x[0])
    assert h.shape == (2, 5, 8, 8) and torch.allclose(h[1], members[1].hidden(x[0]), atol=1e-6)


def test_ensemble_needs_members():
    with pytest.raises(ParameterError, match="'members' of Ensemble"):
        Ensemble([])


def test_cka_is_rotation_invariant_and_alignment_scale_invariant():
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randn(30, 10, generator=g, dtype=torch.float64), torch.randn(30, 7, generator=g, dtype=torch.float64)
    Q = torch.linalg.qr(torch.randn(10, 10, generator=g, dtype=torch.float64))[0]
    R = torch.linalg.qr(torch.randn(7, 7, generator=g, dtype=torch.float64))[0]
    assert abs(float(linear_cka(X, Y) - linear_cka(X @ Q, 3.0 * Y @ R))) < 1e-6
    assert abs(float(linear_cka(X, X)) - 1) < 1e-12
    K = gram(X)
    assert abs(float(kernel_alignment(K, 5 * K)) - 1) < 1e-12
    assert 0 < float(kernel_alignment(K, gram(Y))) < 1


def test_alignment_rejects_bad_grams():
    with pytest.raises(ParameterError, match="'K0'"):
        kernel_alignment(torch.ones(3, 4), torch.ones(3, 4))
    with pytest.raises(ParameterError, match="same shape"):
        kernel_alignment(torch.eye(3), torch.eye(4))
    with pytest.raises(ParameterError, match="'H'"):
        gram(torch.ones(0, 4))


def test_effective_rank_truncate_rank_and_weight_change():
    W = torch.randn(40, 40, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert abs(float(effective_rank(torch.outer(torch.ones(5), torch.arange(1.0, 6.0)))) - 1) < 1e-6
    assert abs(float(effective_rank(torch.eye(6))) - 6) < 1e-9
    for r in (1, 5, 40):
        T = truncate_rank(W, r)
        assert int(torch.linalg.matrix_rank(T)) == r and abs(float(T.norm() - W.norm())) < 1e-9
    assert float(effective_rank(truncate_rank(W, 5))) < 5 < float(effective_rank(W))
    assert abs(float(weight_change(W, 1.5 * W)) - 0.5) < 1e-12
    with pytest.raises(ParameterError, match="'r' of truncate_rank"):
        truncate_rank(W, 0)
    with pytest.raises(ParameterError, match="'r' of truncate_rank"):
        truncate_rank(W, 41)


def test_tangent_kernel_matches_a_loop_of_gradients():
    m = ReluRNN(3, 12, 3, rank=2, seed=3).double()
    x = make_trials("decision", 4, 0).x.double()
    K = tangent_kernel(m, ["W_rec"], x, output=lambda y: y[:, -1])
    rows = []
    for i in range(4):
        y = m(x[i : i + 1])[0, -1]
        for a in range(3):
            rows.append(torch.autograd.grad(y[a], m.W_rec, retain_graph=True)[0].reshape(-1))
    J = torch.stack(rows)
    assert K.shape == (12, 12) and torch.allclose(K, J @ J.T, atol=1e-10)
    with pytest.raises(ParameterError, match="empty batch"):
        tangent_kernel(m, ["W_rec"], x[:0])


def test_snapshots_record_activations_and_weights():
    m = ReluRNN(3, 8, 3, seed=0)
    probe = make_trials("decision", 5, 1)
    snap = Snapshots(m, lambda mod: {"h": mod.hidden(probe.x)[:, -1]}, [-1, 2], weights=["W_rec"]).take_initial()
    batches = [make_trials("decision", 4, s) for s in range(3)]
    train(
        m,
        lambda s: task_loss(m(batches[s].x), batches[s].y),
        3,
        optimizer=torch.optim.SGD(m.parameters(), lr=0.1),
        callbacks=[snap],
        progress=False,
    )
    assert set(snap.activations) == {-1, 2} and snap.activations[2]["h"].shape == (5, 8)
    assert not torch.equal(snap.weights[-1]["W_rec"], snap.weights[2]["W_rec"])
    with pytest.raises(ParameterError, match="'weights' of Snapshots"):
        Snapshots(m, lambda mod: {}, [0], weights=["nope"])


# ------------------------------------------------------------------------------------------ tasks and RNN
@pytest.mark.parametrize("task", ["decision", "context", "delay"])
def test_tasks_shapes_and_determinism(task):
    a, b = make_trials(task, 16, 3), make_trials(task, 16, 3)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert a.x.shape[:2] == (16, 8) and (a.y[:, :-1] == 0).all() and set(a.y[:, -1].tolist()) <= {1, 2}
    assert (a.x[:, -1, 0] == 0).all() and (a.x[:, :-1, 0] == 1).all()  # fixation off at the decision step


def test_rnn_init_rank_and_bad_arguments():
    m = ReluRNN(3, 20, 3, rank=2, scale=1.25, seed=0)
    full = ReluRNN(3, 20, 3, scale=1.25, seed=0)
    assert int(torch.linalg.matrix_rank(m.W_rec.detach(), atol=1e-4)) == 2
    assert abs(float(m.W_rec.detach().norm() - full.W_rec.detach().norm())) < 1e-4
    with pytest.raises(ParameterError, match="'rank'"):
        ReluRNN(3, 20, 3, rank=0)
    with pytest.raises(ParameterError, match="'rank'"):
        ReluRNN(3, 20, 3, rank=21)
    with pytest.raises(ParameterError, match="'scale'"):
        ReluRNN(3, 20, 3, scale=0.0)


def test_rank_sweep_small_and_untrained_control():
    kw = dict(
        n_hidden=12, ranks=[1, 4, 12], scales=[1.25], replicates=2, steps=30, probe_size=8, n_snapshots=3, device="cpu"
    )
    sw = rank_sweep("decision", **kw)
    assert sw.ntk_curve.shape == (1, 3, 2, 3) and np.allclose(sw.ntk_curve[..., 0], 1)
    assert sw.aligned["ntk"].shape == (2,) and (sw.weight_change > 0).all()
    null = rank_sweep("decision", control="untrained", **kw)
    assert np.allclose(null.rep_alignment, 1) and np.allclose(null.ntk_alignment, 1) and (null.weight_change == 0).all()
    s = metrics.alignment_summary(null)
    assert not s["alignment_rank_monotone"] and abs(s["rep_alignment_gap"]) < 1e-9
    with pytest.raises(ParameterError, match="'probe_size'"):
        rank_sweep("decision", **{**kw, "probe_size": 0})
    with pytest.raises(ParameterError, match="'rank'"):
        rank_sweep("decision", **{**kw, "ranks": [1, 13]})
    with pytest.raises(ParameterError, match="'scale'"):
        rank_sweep("decision", **{**kw, "scales": [-1.0]})


# ------------------------------------------------------------------------------------------ deep linear networks
def test_hierarchy_and_its_singular_values():
    Y = hierarchy(3)
    assert Y.shape == (15, 8)
    s = modes(Y)[1]
    assert np.allclose(s, np.sqrt([15, 7, 3, 3, 1, 1, 1, 1]))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_gradient_descent_is_the_mode_ode(depth):
    run = train_pathways(depth, 120, 0.05, onsets=[None, 10], length=40, width=10, seed=2)
    for i in range(2):
        Ka, Kb = mode_ode(run.s, run.k0, depth, 120, 0.05, run.deficit[i])
        assert np.abs(run.K[i, :, 0] - Ka).max() < 1e-10 and np.abs(run.K[i, :, 1] - Kb).max() < 1e-10
    Ka, Kb = mode_ode(run.s, run.k0, depth, 120, 0.05, run.deficit)  # batched schedules
    assert Ka.shape == (2, 121, 8) and np.abs(run.K[1, :, 1] - Kb[1]).max() < 1e-10


def test_saxe_closed_form_is_the_small_step_limit():
    s = modes(hierarchy())[1]
    Ka, _ = mode_ode(s, np.full(8, 1e-3), 2, 20000, 0.0005, pathways=1)
    closed = saxe_closed_form(s, 1e-3, np.arange(20001) * 0.0005)
    assert np.max(np.abs(Ka - closed) / s) < 2e-3
    assert np.allclose(closed[0], 1e-3) and np.allclose(closed[-1], s, rtol=1e-4)


def test_saxe_run_and_its_control():
    run = saxe_run(200, 0.02, width=10)
    assert run.sim.shape == run.closed.shape == (201, 8)
    null = saxe_run(200, 0.02, width=10, control="untrained")
    assert np.allclose(null.sim, 1e-3) and metrics.saxe_max_error(null.sim, null.closed, null.s) > 0.5


def test_deficit_schedule_and_bad_input():
    m = deficit_schedule(100, 10, 20)
    assert m.sum() == 20 and m[10] and not m[9] and not m[30]
    assert not deficit_schedule(100, None, 20).any()
    with pytest.raises(ParameterError, match="'onset'"):
        deficit_schedule(100, 100, 10)
    with pytest.raises(ParameterError, match="'length'"):
        deficit_schedule(100, 95, 10)
    with pytest.raises(ParameterError, match="'depth'"):
        MultipathwayNet(8, 15, 0)
    with pytest.raises(ParameterError, match="'depth'"):
        mode_ode(np.ones(2), np.ones(2), 0, 10, 0.1)
    with pytest.raises(ParameterError, match="'width'"):
        MultipathwayNet(8, 15, 3, width=4).aligned_init(*[modes(hierarchy())[i] for i in (0, 2)], mode_init(8))


def test_parameters_spec_is_complete():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parent.parent / "notebooks/dynamics/rich_lazy.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    names = {line.split("=")[0].strip() for line in "".join(cell["source"]).splitlines() if "=" in line}
    assert names == set(PARAMETERS)
