"""A run's parameters: the notebook's defaults, a profile's values and the user's, each checked.

The names and defaults come from the notebook's ``parameters`` cell; a command-line value is turned
into the type of its default; then the notebook's own rules (its method package's ``PARAMETERS``,
see :meth:`labkit.report.catalog.Entry.parameter_rules`) check its range, so ``labkit run`` and
``labkit sweep`` refuse a bad value before any kernel starts. A notebook whose package has no
``PARAMETERS`` yet is checked by type only here, and fully by its own check cell.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from labkit.core.params import ParameterError, check_value
from labkit.report.catalog import Entry


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The names and default values of the notebook's ``parameters`` cell."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{path} must have exactly one cell tagged 'parameters', found {len(cells)}.")
    defaults: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            defaults[node.targets[0].id] = ast.literal_eval(node.value)
    return defaults


def coerce_parameter(name: str, value: Any, default: Any) -> Any:
    """Turn a command-line value into the type of the notebook's default, or raise ParameterError."""
    import yaml

    if isinstance(value, str) and not isinstance(default, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    kind = type(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))
        value = kind(value) if ok else value
    elif default is None:
        ok = True
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
                 list: "a list", tuple: "a list"}
        raise ParameterError(f"Parameter {name!r} must be {names.get(kind, kind.__name__)} "
                             f"(its default is {default!r}), got {value!r}.")
    return value


def resolve_parameters(entry: Entry, profile: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The profile's values updated by the user's, each checked against the notebook's parameters
    (its names and the types of its defaults) and its rules (ranges, choices)."""
    defaults = notebook_parameters(entry.path)
    rules = entry.parameter_rules()
    params = entry.profile(profile)
    for name, value in {**params, **overrides}.items():
        if name not in defaults:
            raise ParameterError(f"Unknown parameter {name!r} for {entry.id}; it takes: {', '.join(defaults)}.")
        params[name] = coerce_parameter(name, value, defaults[name])
        if name in rules:
            check_value(name, params[name], rules[name])
    return params
