"""Progress bars that render as a bar in notebooks and as text in terminals and logs.

Quiet by default in library code, shown in notebooks (scikit-learn's habit: a library call prints
nothing unless asked). The rule, in order: ``enabled=True/False`` where a call passes it; else the
``LABKIT_PROGRESS`` environment variable (``1`` shows bars everywhere, ``0`` hides them, as the tests
and sweeps do); else bars show inside a Jupyter kernel and nowhere else.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from tqdm.auto import tqdm


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def bars_enabled(enabled: bool | None = None) -> bool:
    """Whether a progress bar shows (see the module docstring for the rule)."""
    if enabled is not None:
        return bool(enabled)
    env = os.environ.get("LABKIT_PROGRESS")
    if env is not None:
        return env.strip() not in ("0", "", "false", "no")
    return _in_kernel()


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None,
             enabled: bool | None = None, **kwargs):
    """``tqdm.auto`` with labkit's defaults (shown or not as :func:`bars_enabled` decides)."""
    return tqdm(iterable, total=total, desc=desc, disable=not bars_enabled(enabled), leave=False, **kwargs)


def trange(n: int, *, desc: str | None = None, enabled: bool | None = None, **kwargs):
    return progress(range(n), total=n, desc=desc, enabled=enabled, **kwargs)
