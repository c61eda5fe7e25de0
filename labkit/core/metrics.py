"""Recording the numbers that prove a notebook worked.

``record(name, value)`` prints ``name = value`` (so the executed notebook shows it, and nbval can
compare it on re-execution), keeps it in memory (``recorded()``), and, when the report runner has
set ``LABKIT_METRICS`` to a file path, rewrites that JSON file atomically so the runner can read the
numbers back whatever happens to the kernel afterwards. It works the same in papermill, JupyterLab
and plain Python.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

_RECORDED: dict[str, Any] = {}
_META: dict[str, Any] = {}

ENV_VAR = "LABKIT_METRICS"


def _plain(name: str, value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:  # a NumPy or torch scalar
            value = value.item()
        except (ValueError, RuntimeError):
            raise TypeError(f"record: {name!r} must be a single number, "
                            f"got an array of shape {tuple(value.shape)}.") from None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"record: {name!r} must be a number, a bool or a string, got {type(value).__name__}.")


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _write(path: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {"metrics": _RECORDED, "meta": _META}
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".metrics-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=2, allow_nan=True)
    os.replace(tmp, target)


def record(name: str, value: Any, *, quiet: bool = False) -> Any:
    """Record a named number (or bool/string) as one of this run's results and return it."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"record: name must be an identifier-like string, got {name!r}.")
    value = _plain(name, value)
    _RECORDED[name] = value
    if not quiet:
        print(f"{name} = {_format(value)}")
    path = os.environ.get(ENV_VAR)
    if path:
        _write(path)
    return value


def note(key: str, value: Any) -> None:
    """Record run metadata (the device used, for example) that is not a result."""
    _META[key] = value
    path = os.environ.get(ENV_VAR)
    if path:
        _write(path)


def recorded() -> dict[str, Any]:
    """A copy of everything recorded so far in this process."""
    return dict(_RECORDED)


def clear() -> None:
    """Forget what was recorded (for tests and for re-running a notebook in one kernel)."""
    _RECORDED.clear()
    _META.clear()
