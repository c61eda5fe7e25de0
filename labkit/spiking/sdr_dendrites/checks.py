"""Argument checks of the SDR formulas that the rule language of :mod:`labkit.core.params` cannot
express: integer arguments that may be arrays (the formulas broadcast), and one argument bounded by
another (``a <= n``). Single integers go through :func:`labkit.core.params.check_value`."""
from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core.params import ParameterError, check_value


def int_array(name: str, value: Any, low: int | None = 0) -> np.ndarray:
    """``value`` (an integer or an array of whole numbers) as an int64 array, or a ParameterError naming ``name``."""
    bad = ParameterError(f"Parameter {name!r} must be an integer or an array of integers, got {value!r}.")
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
        raise ParameterError(f"Parameter {name!r} must be an integer >= {low}, got {arr[arr < low].flat[0]}.")
    return arr


def int_scalar(name: str, value: Any, low: int = 0) -> int:
    """A single integer >= ``low``, or a ParameterError naming ``name``."""
    return check_value(name, value, (int, low, None))


def not_above(name: str, arr: np.ndarray, other_name: str, other: np.ndarray) -> None:
    """A ParameterError naming ``name`` where any of ``arr`` exceeds ``other`` (broadcast)."""
    over = np.broadcast_to(arr > other, np.broadcast_shapes(arr.shape, other.shape))
    if np.any(over):
        x, y = np.broadcast_arrays(arr, other)
        i = np.flatnonzero(over)[0]
        raise ParameterError(f"Parameter {name!r} must be at most {other_name} ({y.flat[i]}), got {x.flat[i]}.")
