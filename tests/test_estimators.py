"""Every estimator of the package against the house rules (scikit-learn's ``check_estimator`` in spirit).

- ``__init__`` only stores: no learned attribute (a name ending in ``_``) exists before ``fit``;
- ``fit`` returns ``self`` and sets the learned attributes;
- an unfitted estimator raises :class:`labkit.core.estimator.NotFittedError`;
- each bad hyperparameter, derived from the class's own ``_rules``, is named in one ParameterError
  raised by ``fit`` before anything is learned;
- ``device="auto"`` works and an unknown device is refused naming ``device``;
- the same seed gives the same numbers.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labkit.core.estimator import Estimator, NotFittedError
from labkit.core.params import ParameterError, nullable

pytestmark = pytest.mark.usefixtures("one_thread")


def _spikes(seed=0, trials=2, time=60, neurons=5):
    rng = np.random.default_rng(seed)
    return rng.poisson(0.4, size=(trials, time, neurons)).astype(float)


def _activations(seed=0, n=256, d=8):
    rng = np.random.default_rng(seed)
    return torch.tensor(np.abs(rng.normal(size=(n, d))) * (rng.random((n, d)) < 0.3), dtype=torch.float32)


def _traces(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, 6, 200)).astype(np.float32)


def _tensor(seed=0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.random((6, 5, 4)), dtype=torch.float64)


def _cases():
    """(id, make(**overrides), data, use(fitted) -> array) for every estimator of the package."""
    from labkit.interp import JumpReLUSAE, MatchingPursuitSAE, ReLUSAE, SemiNMF, TopKSAE, Transcoder, VQCodebook
    from labkit.neuro import NTF, DynamicConnectome, PerTargetRidge, PoissonHMM, SwitchingGLM

    sae = dict(n_latents=12, steps=20, batch_size=64)
    enc = lambda m, X: m.encode(X)
    return [
        ("SwitchingGLM", lambda **kw: SwitchingGLM(**{"n_states": 2, "n_iter": 2, **kw}), _spikes(),
         lambda m, X: m.predict_states(X)),
        ("PoissonHMM", lambda **kw: PoissonHMM(**{"n_states": 2, "n_iter": 3, **kw}), _spikes(),
         lambda m, X: m.predict(X)),
        ("NTF", lambda **kw: NTF(**{"rank": 2, "max_iter": 10, **kw}), _tensor(), lambda m, X: m.reconstruct()),
        ("DynamicConnectome", lambda **kw: DynamicConnectome(**{"rank": 2, "window": 50, **kw}), _traces(),
         lambda m, X: m.communities_),  # a pipeline with no method after fit: its learned attributes
        ("PerTargetRidge", lambda **kw: PerTargetRidge(**kw), (_traces()[0].T, _traces(1)[1].T),
         lambda m, X: m.predict(X)),
        ("ReLUSAE", lambda **kw: ReLUSAE(**{**sae, **kw}), _activations(), enc),
        ("TopKSAE", lambda **kw: TopKSAE(**{"k": 2, **sae, **kw}), _activations(), enc),
        ("JumpReLUSAE", lambda **kw: JumpReLUSAE(**{**sae, **kw}), _activations(), enc),
        ("Transcoder", lambda **kw: Transcoder(**{**sae, **kw}), (_activations(), _activations(1)), enc),
        ("MatchingPursuitSAE", lambda **kw: MatchingPursuitSAE(**{"k": 2, **sae, **kw}), _activations(), enc),
        ("VQCodebook", lambda **kw: VQCodebook(**{"k": 2, **sae, **kw}), _activations(), enc),
        ("SemiNMF", lambda **kw: SemiNMF(**{"n_latents": 12, "n_iter": 5, **kw}), _activations(), enc),
    ]


CASES = {c[0]: c for c in _cases()}
IDS = list(CASES)


def _fit(model, data):
    """``model.fit(*data)`` for a tuple (inputs and targets, as a transcoder's), else ``model.fit(data)``."""
    return model.fit(*data) if isinstance(data, tuple) else model.fit(data)


def _input(data):
    return data[0] if isinstance(data, tuple) else data


def _learned(model) -> dict:
    return {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}


def _bad_values(rule):
    """Values that break ``rule`` (the first of each kind it can express)."""
    if isinstance(rule, nullable):
        return [v for v in _bad_values(rule.rule) if v is not None]
    if rule == "seed":
        return [-1, 1.5]
    if rule == "device":
        return ["tpu"]
    if isinstance(rule, type):
        return {int: ["three", math.nan], float: ["three", math.nan], bool: ["yes"], str: [3]}.get(rule, [object()])
    if isinstance(rule, tuple) and rule and isinstance(rule[0], type):
        kind, low, high, *rest = rule
        closed = rest[0] if rest else "both"
        bad = ["three"]
        if low is not None:
            bad.append(low if closed in ("right", "neither") else (low - 1 if kind is int else low - 0.5))
        if high is not None:
            bad.append(high if closed in ("left", "neither") else (high + 1 if kind is int else high + 0.5))
        if kind is float:
            bad.append(math.nan)
        return bad
    if isinstance(rule, (list, tuple, set, frozenset)):
        return ["not-a-choice"]
    return []


@pytest.mark.parametrize("name", IDS)
def test_init_stores_fit_returns_self_and_learns(name):
    _, make, X, use = CASES[name]
    model = make()
    assert isinstance(model, Estimator), f"{name} does not derive from labkit.core.estimator.Estimator"
    assert _learned(model) == {}, f"{name}.__init__ set learned attributes {sorted(_learned(model))}"
    with pytest.raises(AttributeError) as unfitted:  # NotFittedError is an AttributeError too
        use(model, _input(X))
    if name != "DynamicConnectome":
        assert isinstance(unfitted.value, NotFittedError) and name in str(unfitted.value)
    assert _fit(model, X) is model
    assert _learned(model), f"{name}.fit set no attribute ending in '_'"
    use(model, _input(X))


@pytest.mark.parametrize("name", IDS)
def test_each_bad_hyperparameter_is_named(name):
    _, make, X, _ = CASES[name]
    rules = type(make())._rules
    assert rules, f"{name} declares no _rules"
    tried = 0
    for param, rule in rules.items():
        for value in _bad_values(rule):
            model = make(**{param: value})  # __init__ only stores: no error yet
            with pytest.raises(ParameterError, match=f"'{param}'"):
                _fit(model, X)
            assert _learned(model) == {}, f"{name}.fit({param}={value!r}) left learned attributes behind"
            tried += 1
    assert tried >= len(rules) // 2


@pytest.mark.parametrize("name", IDS)
def test_device_auto_works_and_unknown_device_is_named(name):
    _, make, X, _ = CASES[name]
    if "device" not in type(make())._rules:
        pytest.skip(f"{name} takes no device")
    _fit(make(device="auto"), X)
    with pytest.raises(ValueError, match="device"):
        _fit(make(device="tpu"), X)


@pytest.mark.parametrize("name", IDS)
def test_same_seed_same_numbers(name):
    _, make, X, use = CASES[name]
    a = np.asarray(torch.as_tensor(use(_fit(make(), X), _input(X))).cpu())
    b = np.asarray(torch.as_tensor(use(_fit(make(), X), _input(X))).cpu())
    np.testing.assert_array_equal(a, b)
