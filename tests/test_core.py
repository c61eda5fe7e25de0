"""Unit tests of labkit.core: devices, seeds, parameter checks, recorded metrics, the cache, exercises."""
import json
import math

import numpy as np
import pytest
import torch

import labkit
from labkit.core import cache, metrics
from labkit.core.params import ParameterError, check_params, check_value

# --- devices -------------------------------------------------------------------------------------

def test_auto_device_is_usable():
    dev = labkit.resolve_device("auto")
    assert torch.zeros(2, device=dev).sum().item() == 0.0


def test_cpu_device():
    assert labkit.resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_absent_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        labkit.resolve_device("cuda")


@pytest.mark.parametrize("bad", ["gpu", "tpu", 3, "cuda:x"])
def test_unknown_device_is_rejected(bad):
    with pytest.raises(ValueError, match="device"):
        labkit.resolve_device(bad)


# --- seeds ---------------------------------------------------------------------------------------

def test_same_seed_same_numbers():
    rng1 = labkit.seed_everything(7)
    a = (torch.rand(3), np.random.rand(3), rng1.random(3))
    rng2 = labkit.seed_everything(7)
    b = (torch.rand(3), np.random.rand(3), rng2.random(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    labkit.seed_everything(8)
    assert not torch.equal(a[0], torch.rand(3))


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        labkit.seed_everything(bad)


# --- parameters ----------------------------------------------------------------------------------

SPEC = {"seed": "seed", "device": "device", "n": (int, 1, 10), "lr": (float, 0.0, 1.0),
        "mode": ["a", "b"], "flag": bool}


def good():
    return {"seed": 0, "device": "auto", "n": 3, "lr": 1, "mode": "a", "flag": False}


def test_good_parameters_pass_and_ints_become_floats():
    ns = good()
    out = check_params(ns, SPEC)
    assert out["lr"] == 1.0 and isinstance(ns["lr"], float)


@pytest.mark.parametrize("name,value,fragment", [
    ("n", 11, "'n' must be an integer in [1, 10], got 11"),
    ("n", 2.5, "'n' must be an integer"),
    ("n", True, "'n' must be an integer"),
    ("lr", -0.1, "'lr' must be a number in [0.0, 1.0]"),
    ("mode", "c", "'mode' must be one of 'a', 'b'"),
    ("flag", 1, "'flag' must be true or false"),
    ("seed", -3, "'seed' must be a non-negative integer"),
    ("device", "gpu", "'device' must be one of"),
])
def test_bad_parameter_names_itself(name, value, fragment):
    ns = good()
    ns[name] = value
    with pytest.raises(ParameterError) as err:
        check_params(ns, SPEC)
    assert fragment in str(err.value)


def test_missing_parameter():
    ns = good()
    del ns["mode"]
    with pytest.raises(ParameterError, match="'mode' is missing"):
        check_params(ns, SPEC)


def test_unknown_rule_is_a_programming_error():
    with pytest.raises(TypeError):
        check_value("x", 1, object())


# --- recorded metrics ----------------------------------------------------------------------------

def test_record_prints_keeps_and_writes(tmp_path, monkeypatch, capsys):
    metrics.clear()
    target = tmp_path / "m.json"
    monkeypatch.setenv("LABKIT_METRICS", str(target))
    labkit.record("accuracy", np.float32(0.5))
    labkit.record("n_states", torch.tensor(4))
    labkit.record("converged", True)
    assert capsys.readouterr().out.splitlines() == ["accuracy = 0.5", "n_states = 4", "converged = True"]
    assert labkit.recorded() == {"accuracy": 0.5, "n_states": 4, "converged": True}
    saved = json.loads(target.read_text())
    assert saved["metrics"]["n_states"] == 4
    metrics.clear()


@pytest.mark.parametrize("name,value", [("bad name", 1.0), ("x", np.zeros(3)), ("x", [1, 2])])
def test_record_rejects_bad_input(name, value):
    with pytest.raises((ValueError, TypeError)):
        labkit.record(name, value)


def test_record_nan_is_printed_as_nan(capsys):
    labkit.record("value", math.nan)
    assert capsys.readouterr().out.strip() == "value = nan"
    metrics.clear()


# --- checkpoint cache ----------------------------------------------------------------------------

def test_checkpoint_builds_once_then_loads(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"w": torch.arange(4.0), "loss": [1.0, 0.5]}

    a = cache.checkpoint("model", {"n": 4}, build, code="v1", root=tmp_path)
    b = cache.checkpoint("model", {"n": 4}, build, code="v1", root=tmp_path)
    assert len(calls) == 1 and torch.equal(a["w"], b["w"]) and b["loss"] == [1.0, 0.5]
    cache.checkpoint("model", {"n": 5}, build, code="v1", root=tmp_path)
    cache.checkpoint("model", {"n": 4}, build, code="v2", root=tmp_path)
    assert len(calls) == 3


@pytest.mark.parametrize("name", ["", "../outside", "a/b", ".hidden"])
def test_checkpoint_name_cannot_reach_outside_the_cache(tmp_path, name):
    with pytest.raises(ValueError, match="name"):
        cache.checkpoint(name, {}, lambda: {"w": torch.ones(1)}, code="v", root=tmp_path / "cache")
    assert not (tmp_path / "outside.pt").exists()


def test_corrupt_checkpoint_is_rebuilt_not_trusted(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"w": torch.ones(1000)}

    cache.checkpoint("m", {}, build, code="v", root=tmp_path)
    (path,) = tmp_path.glob("m-*.pt")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip bits inside the tensor payload
    path.write_bytes(bytes(data))
    out = cache.checkpoint("m", {}, build, code="v", root=tmp_path)
    assert len(calls) == 2 and torch.equal(out["w"], torch.ones(1000))
    path.write_bytes(b"truncated")
    cache.checkpoint("m", {}, build, code="v", root=tmp_path)
    assert len(calls) == 3


class Opaque:
    """A plain Python object: torch.save pickles it, torch.load(weights_only=True) refuses it."""

    built = 0

    def __init__(self):
        Opaque.built += 1


def test_checkpoint_loads_with_weights_only(tmp_path):
    """An entry that only unpickling arbitrary objects could read is rebuilt, never unpickled."""
    Opaque.built = 0
    cache.checkpoint("obj", {}, lambda: {"obj": Opaque()}, code="v", root=tmp_path)
    cache.checkpoint("obj", {}, lambda: {"obj": Opaque()}, code="v", root=tmp_path)
    assert Opaque.built == 2


# --- exercises -----------------------------------------------------------------------------------

def test_check_answer_passes_a_right_answer(capsys):
    assert labkit.check_answer("rate", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    assert "✓ rate" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [None, ..., [1.0, 3.0], [1.0], [1.0, float("nan")], ["a", "b"]])
def test_check_answer_fails_a_wrong_answer(answer):
    with pytest.raises(labkit.ExerciseFailed):
        labkit.check_answer("rate", answer, [1.0, 2.0], hint="think about the rate")


# --- the tour's science --------------------------------------------------------------------------

def test_lif_matches_closed_form_and_converges_with_dt():
    from labkit.spiking.lif import LIFParams, lif_rate, simulate_lif

    p = LIFParams()
    current = np.array([2.5, 3.0, 4.0, 5.0])
    theory = lif_rate(current, p)
    err = {dt: np.max(np.abs(simulate_lif(current, params=p, duration=500.0, dt=dt).rate - theory) / theory)
           for dt in (0.2, 0.05)}
    assert err[0.05] < 0.01 and err[0.05] < err[0.2]
    assert lif_rate([p.rheobase * 0.99], p)[0] == 0.0


def test_noisy_lif_matches_siegert_rate_below_rheobase():
    """The Siegert rate (diffusion approximation, with the discrete-time threshold shift) against 200 noisy
    neurons at 0.9 rheobase: about 3,800 spikes, so a 5% band is over 3 Poisson standard errors."""
    from labkit.spiking.lif import LIFParams, lif_rate_noisy, simulate_lif

    p = LIFParams()
    i = np.full(200, 0.9 * p.rheobase)
    sim = simulate_lif(i, params=p, duration=1000.0, dt=0.1, noise_std=1.5, seed=3).rate.mean()
    theory = lif_rate_noisy([0.9 * p.rheobase], 1.5, p, dt=0.1)[0]
    assert abs(sim / theory - 1) < 0.05
    assert lif_rate_noisy([0.9 * p.rheobase], 1.5, p)[0] > theory   # a grid misses crossings: a lower rate


def test_tour_control_is_the_perfect_integrator():
    """control="no_leak": the neuron integrates without leak, T = t_ref + tau_m (V_th - V_reset) / (R I) from reset,
    so it fires below rheobase; bad control names are refused."""
    from labkit import tour
    from labkit.spiking.lif import LIFParams

    p = LIFParams()
    i = np.array([0.5, 1.5, 3.0])
    run = tour.simulate(i, params=p, duration=1000.0, dt=0.01, control="no_leak")
    expected = 1000.0 / (p.t_ref + p.tau_m * (p.v_th - p.v_reset) / (p.r_m * i))
    assert np.all(np.abs(run.rate / expected - 1) < 0.01)
    assert np.array_equal(tour.simulate(i, params=p, duration=200.0).rate,
                          tour.simulate(i, params=p, duration=200.0, control="none").rate)
    with pytest.raises(ValueError, match="control"):
        tour.simulate(i, control="leaky")


def test_lif_rejects_bad_dt():
    from labkit.spiking.lif import simulate_lif

    with pytest.raises(ValueError, match="dt"):
        simulate_lif([1.0], dt=50.0)


def test_explorer_draws_without_capturing_output(monkeypatch):
    """The explorer fills its Output widget from the kernel side (no ``with out:`` capture, which makes
    headless executors send on the shell channel mid-cell and can hang them), and redraws on a change."""
    import plotly.graph_objects as go

    from labkit.viz import explorer

    monkeypatch.delenv("LABKIT_REPORT", raising=False)
    calls = []

    def view(n=2, mode="a"):
        calls.append((n, mode))
        return go.Figure(go.Scatter(x=list(range(n)), y=list(range(n)), name=mode))

    box = explorer(view, n=(1, 10, 1, 3), mode=["a", "b"])
    out = box.children[1]
    assert calls == [(3, "a")]
    assert len(out.outputs) == 1 and "application/vnd.plotly.v1+json" in out.outputs[0]["data"]
    box.children[0].children[0].value = 5
    assert calls[-1] == (5, "a") and len(out.outputs) == 1
    assert len(out.outputs[0]["data"]["application/vnd.plotly.v1+json"]["data"][0]["x"]) == 5


def test_report_leaves_out_stale_progress_bars_and_keeps_other_widgets():
    """A tqdm widget has no state in a static page, only its first text ("0%| | 0/400"): left out.
    Other widget outputs (the explorer's note) and plain text stay."""
    import nbformat

    from labkit.report.html import export_html, is_progress_bar

    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0}}
    bar = nbformat.v4.new_output("display_data",
                                 data={**view, "text/plain": "TopK SAE:   0%|          | 0/400 [00:00<?, ?it/s]"})
    note = nbformat.v4.new_output("display_data",
                                  data={**view, "text/plain": "Interactive explorer: open this notebook"})
    text = nbformat.v4.new_output("stream", name="stdout", text="42% of 10/20 done\n")
    cell = nbformat.v4.new_code_cell("x = 1", outputs=[bar, note, text])
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert is_progress_bar(bar) and not is_progress_bar(note) and not is_progress_bar(text)
    page = export_html(nb, {"id": "tour", "title": "t", "status": "ok", "profile": "smoke", "checks": [],
                            "metrics": {}, "parameters": {}})
    assert "0/400" not in page
    assert "Interactive explorer: open this notebook" in page and "42% of 10/20 done" in page
    assert len(nb.cells[0].outputs) == 3                # the caller's notebook is left as it was


def test_parse_list_reads_comma_separated_parameters_and_names_bad_items():
    import labkit

    assert labkit.parse_list("sides", " 4, 6,", int) == [4, 6]
    assert labkit.parse_list("sigmas", "1,2.5", float) == [1.0, 2.5]
    assert labkit.parse_list("sides", "", int) == []
    assert labkit.parse_list("liquids", "plain, nalsm", choices=("plain", "stdp", "nalsm")) == ["plain", "nalsm"]
    with pytest.raises(labkit.ParameterError, match=r"Parameter 'sides' must be comma-separated integers, got '4,x'"):
        labkit.parse_list("sides", "4,x", int)
    with pytest.raises(labkit.ParameterError,
                       match=r"Parameter 'liquids' has 'foo', which is not one of: plain, nalsm"):
        labkit.parse_list("liquids", "plain,foo", choices=("plain", "nalsm"))
    with pytest.raises(labkit.ParameterError, match=r"must be a string"):
        labkit.parse_list("sides", 4, int)
    with pytest.raises(labkit.ParameterError,
                       match=r"Parameter 'sweep_k' must list at least 1 comma-separated integers"):
        labkit.parse_list("sweep_k", " , ", int, min_items=1)
