"""Checking a notebook's parameters, so a bad value stops the run with one clear sentence.

papermill injects any name and any value into a notebook. The cell after the ``parameters`` cell
calls :func:`check_params` with a small spec::

    labkit.check_params(globals(), {
        "seed": "seed",                 # a non-negative integer
        "device": "device",             # "auto", "cpu", "cuda", "cuda:N" or "mps"
        "n_states": (int, 1, 20),       # type, low, high (inclusive; None for open)
        "learning_rate": (float, 0.0, 1.0),
        "prior": ["none", "gaussian", "one-hot"],   # one of these values
        "verbose": bool,
    })

A wrong type, a value out of range, a missing name or (under papermill) an injected name the spec
does not know raises :class:`ParameterError`, whose message names the parameter and what was expected.
"""
from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np


class ParameterError(ValueError):
    """A notebook parameter has the wrong name, type or value."""


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
_BRACKETS = {"both": "[]", "left": "[)", "right": "(]", "neither": "()"}


class nullable:
    """A rule that also accepts ``None``: ``nullable((int, 1, None))`` is None or an integer >= 1."""

    def __init__(self, rule: Any):
        self.rule = rule

    def __repr__(self) -> str:
        return f"nullable({self.rule!r})"


def _is_range(rule: Any) -> bool:
    return isinstance(rule, tuple) and len(rule) in (3, 4) and isinstance(rule[0], type)


def _describe(rule: Any) -> str:
    if isinstance(rule, nullable):
        return f"None or {_describe(rule.rule)}"
    if isinstance(rule, str) and rule == "seed":
        return "a non-negative integer"
    if isinstance(rule, str) and rule == "device":
        return "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"
    if isinstance(rule, (list, tuple, set, frozenset)) and not _is_range(rule):
        return "one of " + ", ".join(repr(v) for v in rule)
    if isinstance(rule, type):
        return _TYPE_NAMES.get(rule, rule.__name__)
    kind, low, high, *rest = rule
    closed = rest[0] if rest else "both"
    what = _TYPE_NAMES.get(kind, kind.__name__)
    left_open = closed in ("right", "neither")
    right_open = closed in ("left", "neither")
    if low is not None and high is not None:
        b = _BRACKETS[closed]
        return f"{what} in {b[0]}{low}, {high}{b[1]}"
    if low is not None:
        return f"{what} {'>' if left_open else '>='} {low}"
    if high is not None:
        return f"{what} {'<' if right_open else '<='} {high}"
    return f"a finite {what[2:] if what.startswith('a ') else what}" if kind in (int, float) else what


def _type_ok(kind: type, value: Any) -> bool:
    if kind is bool:
        return isinstance(value, (bool, np.bool_))
    if kind is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    return isinstance(value, kind)


def _in_range(value: Any, low: Any, high: Any, closed: str) -> bool:
    if isinstance(value, numbers.Real) and not math.isfinite(value):
        return False  # NaN compares false with everything, and no range of the lab includes infinity
    if low is not None and (value < low or (value == low and closed in ("right", "neither"))):
        return False
    if high is not None and (value > high or (value == high and closed in ("left", "neither"))):
        return False
    return True


def check_value(name: str, value: Any, rule: Any, owner: str | None = None) -> Any:
    """Check one value against its rule and return it (ints given for floats become floats).

    The rule language: ``"seed"``; ``"device"``; a type (``int``, ``float``, ``bool``, ``str``); a range
    ``(type, low, high)`` (inclusive; ``None`` for an open end; an optional fourth item ``"left"``,
    ``"right"`` or ``"neither"`` says which ends are closed, as scikit-learn's ``Interval``); a list of
    allowed values; ``nullable(rule)`` for None-or-rule. Numbers must be finite: NaN and infinity fail
    every numeric rule. ``owner`` (an estimator's or function's name) is named in the error, which is one
    :class:`ParameterError` sentence: ``Parameter 'k' of TopKSAE must be an integer >= 1, got 0.``
    """
    of = f" of {owner}" if owner else ""
    bad = ParameterError(f"Parameter {name!r}{of} must be {_describe(rule)}, got {value!r}.")
    if isinstance(rule, nullable):
        return None if value is None else check_value(name, value, rule.rule, owner)
    if isinstance(rule, str) and rule == "seed":
        if not _type_ok(int, value) or value < 0:
            raise bad
        return int(value)
    if isinstance(rule, str) and rule == "device":
        if not isinstance(value, str):
            if type(value).__name__ == "device" and type(value).__module__.startswith("torch"):
                return value
            raise bad
        base = value.split(":")[0]
        if base not in ("auto", "cpu", "cuda", "mps") or (
                ":" in value and (base != "cuda" or not value.split(":")[1].isdigit())):
            raise bad
        return value
    if isinstance(rule, type):
        if not _type_ok(rule, value) or (rule in (int, float) and not _in_range(value, None, None, "both")):
            raise bad
        return float(value) if rule is float else (int(value) if rule is int else value)
    if _is_range(rule):
        kind, low, high, *rest = rule
        if not _type_ok(kind, value) or not _in_range(value, low, high, rest[0] if rest else "both"):
            raise bad
        return float(value) if kind is float else (int(value) if kind is int else value)
    if isinstance(rule, (list, tuple, set, frozenset)):
        try:
            ok = value in rule
        except TypeError:
            ok = False
        if not ok:
            raise bad
        return value
    raise TypeError(f"check_params: the rule for {name!r} is not understood: {rule!r}.")


def check_args(owner: str, values: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    """Check each named value against its rule (see :func:`check_value`) and return the checked values.

    An estimator calls it once at the start of ``fit`` with its hyperparameters; a function with its
    arguments. The first bad value raises :class:`ParameterError` naming it and ``owner``.
    """
    return {name: check_value(name, values[name], rule, owner) for name, rule in rules.items()}


def _injected_names() -> set[str]:
    """Names assigned in a papermill ``# Parameters`` cell of the running IPython kernel, if any."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return set()
    shell = get_ipython()
    if shell is None:
        return set()
    names: set[str] = set()
    for source in shell.user_ns.get("In", []):
        if not isinstance(source, str) or not source.lstrip().startswith("# Parameters"):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def check_params(namespace: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the parameters named in ``spec`` as found in ``namespace`` (usually ``globals()``).

    Returns a dict of the checked values, for recording beside the results.
    """
    unknown = sorted(_injected_names() - set(spec))
    if unknown:
        raise ParameterError(
            f"Unknown parameter {unknown[0]!r}; this notebook takes: {', '.join(sorted(spec))}."
        )
    checked = {}
    for name, rule in spec.items():
        if name not in namespace:
            raise ParameterError(f"Parameter {name!r} is missing; it must be {_describe(rule)}.")
        checked[name] = check_value(name, namespace[name], rule)
    if isinstance(namespace, dict):
        namespace.update(checked)
    return checked


_LIST_NAMES = {int: "integers", float: "numbers", str: "names"}


def parse_list(name: str, text: Any, kind: type = str, *, choices=None, min_items: int = 0) -> list:
    """A comma-separated notebook parameter as a list: ``parse_list("sides", "4, 6", int) == [4, 6]``.

    Parameters that hold several values are strings (papermill and ``labkit run -p`` pass one value
    per name); blanks around items and empty items are ignored, so ``""`` is the empty list. An item
    that is not a ``kind``, or not among ``choices``, or fewer than ``min_items`` items, is a
    :class:`ParameterError` naming the parameter.
    """
    if not isinstance(text, str):
        raise ParameterError(f"Parameter {name!r} must be a string of comma-separated "
                             f"{_LIST_NAMES.get(kind, 'values')}, got {text!r}.")
    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        values = [kind(t) for t in items]
    except ValueError:
        raise ParameterError(f"Parameter {name!r} must be comma-separated {_LIST_NAMES.get(kind, 'values')}, "
                             f"got {text!r}.") from None
    if len(values) < min_items:
        raise ParameterError(f"Parameter {name!r} must list at least {min_items} comma-separated "
                             f"{_LIST_NAMES.get(kind, 'values')}, got {text!r}.")
    if choices is not None:
        bad = [v for v in values if v not in choices]
        if bad:
            raise ParameterError(f"Parameter {name!r} has {bad[0]!r}, which is not one of: "
                                 f"{', '.join(map(str, choices))}.")
    return values
