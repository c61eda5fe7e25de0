"""Argument checks of the SDR formulas that the rule language of :mod:`labkit.core.params` cannot
express: integer arguments that may be arrays (the formulas broadcast), and one argument bounded by
another (``a <= n``). Single integers go through :func:`labkit.core.params.check_value`."""
from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core.params import ParameterError, check_value


def int_array(name: str, value: Any, low: int | None = 0, owner: str | None = None) -> np.ndarray:
    """``value`` (an integer or an array of whole numbers) as an int64 array, or a ParameterError naming
    ``name`` (and ``owner``)."""
    of = f" of {owner}" if owner else ""
    bad = ParameterError(f"Parameter {name!r}{of} must be an integer or an array of integers, got {value!r}.")
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, str):
        raise bad
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise bad
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise bad
    arr = arr.astype(np.int64)
    if low is not None and np.any(arr < low):
        raise ParameterError(f"Parameter {name!r}{of} must be an integer >= {low}, got {arr[arr < low].flat[0]}.")
    return arr


def int_scalar(name: str, value: Any, low: int = 0, owner: str | None = None) -> int:
    """A single integer >= ``low``, or a ParameterError naming ``name`` (and ``owner``)."""
    return check_value(name, value, (int, low, None), owner)


def not_above(name: str, value, other_name: str, other) -> None:
    """A ParameterError naming ``name`` where any of ``value`` exceeds ``other`` (arrays broadcast)."""
    arr, other = np.asarray(value), np.asarray(other)
    over = np.broadcast_to(arr > other, np.broadcast_shapes(arr.shape, other.shape))
    if np.any(over):
        x, y = np.broadcast_arrays(arr, other)
        i = np.flatnonzero(over)[0]
        raise ParameterError(f"Parameter {name!r} must be at most {other_name} ({y.flat[i]}), got {x.flat[i]}.")


def _ints(owner: str, array: bool, **values_and_lows) -> list:
    check = int_array if array else int_scalar
    return [check(name, value, low, owner=owner) for name, (value, low) in values_and_lows.items()]


def pattern_args(owner: str, n, a, s, *, array: bool = False) -> tuple:
    """``n`` cells (>= 1), ``a`` active and ``s`` synapses (each 0..n): single integers, or integer
    arrays (that broadcast) with ``array``."""
    n, a, s = _ints(owner, array, n=(n, 1), a=(a, 0), s=(s, 0))
    not_above("a", a, "n", n)
    not_above("s", s, "n", n)
    return n, a, s


def noise_args(owner: str, a, s, v, *, array: bool = False) -> tuple:
    """``a`` active cells (>= 1), ``s`` synapses on them and ``v`` of them replaced (each 0..a): single
    integers, or integer arrays (that broadcast) with ``array``."""
    a, s, v = _ints(owner, array, a=(a, 1), s=(s, 0), v=(v, 0))
    not_above("s", s, "a", a)
    not_above("v", v, "a", a)
    return a, s, v
