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
import numbers
from typing import Any, Mapping


class ParameterError(ValueError):
    """A notebook parameter has the wrong name, type or value."""


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _describe(rule: Any) -> str:
    if rule == "seed":
        return "a non-negative integer"
    if rule == "device":
        return "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"
    if isinstance(rule, (list, tuple, set, frozenset)) and not (
        isinstance(rule, tuple) and rule and isinstance(rule[0], type)
    ):
        return "one of " + ", ".join(repr(v) for v in rule)
    if isinstance(rule, type):
        return _TYPE_NAMES.get(rule, rule.__name__)
    kind, low, high = rule
    what = _TYPE_NAMES.get(kind, kind.__name__)
    if low is not None and high is not None:
        return f"{what} in [{low}, {high}]"
    if low is not None:
        return f"{what} >= {low}"
    if high is not None:
        return f"{what} <= {high}"
    return what


def _type_ok(kind: type, value: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_value(name: str, value: Any, rule: Any) -> Any:
    """Check one value against its rule and return it (ints given for floats become floats)."""
    bad = ParameterError(f"Parameter {name!r} must be {_describe(rule)}, got {value!r}.")
    if rule == "seed":
        if not _type_ok(int, value) or value < 0:
            raise bad
        return int(value)
    if rule == "device":
        if not isinstance(value, str):
            raise bad
        base = value.split(":")[0]
        if base not in ("auto", "cpu", "cuda", "mps") or (":" in value and (base != "cuda" or not value.split(":")[1].isdigit())):
            raise bad
        return value
    if isinstance(rule, type):
        if not _type_ok(rule, value):
            raise bad
        return float(value) if rule is float else value
    if isinstance(rule, tuple) and rule and isinstance(rule[0], type):
        kind, low, high = rule
        if not _type_ok(kind, value):
            raise bad
        if (low is not None and value < low) or (high is not None and value > high):
            raise bad
        return float(value) if kind is float else value
    if isinstance(rule, (list, tuple, set, frozenset)):
        if value not in rule:
            raise bad
        return value
    raise TypeError(f"check_params: the rule for {name!r} is not understood: {rule!r}.")


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
        raise ParameterError(f"Parameter {name!r} must be a string of comma-separated {_LIST_NAMES.get(kind, 'values')}, "
                             f"got {text!r}.")
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
