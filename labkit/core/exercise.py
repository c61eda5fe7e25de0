"""Checking a learner's answer in a workshop notebook.

A code cell tagged ``solution`` computes a result; the student build replaces its body with a stub.
The cell after it (tagged ``check``) calls :func:`check_answer`, which compares the learner's value
with a reference computed independently (usually by the labkit function the exercise re-derives)
and prints a clear pass, or raises :class:`ExerciseFailed` with a hint. A checker never passes on a
value it was not given: ``None``, ``...``, a wrong shape or a NaN all fail.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class ExerciseFailed(AssertionError):
    """The learner's answer does not match the reference."""


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def check_answer(name: str, answer: Any, expected: Any, *, rtol: float = 1e-5, atol: float = 1e-8,
                 hint: str = "") -> bool:
    """Pass (print and return True) when ``answer`` matches ``expected`` within tolerances, else raise."""
    def fail(why: str):
        message = f"✗ {name}: {why}" + (f" Hint: {hint}" if hint else "")
        print(message)
        raise ExerciseFailed(message)

    if answer is None or answer is Ellipsis:
        fail("no answer yet (the value is None or ...).")
    if isinstance(expected, (str, bool)) or isinstance(answer, (str, bool)):
        if answer != expected:
            fail(f"expected {expected!r}, got {answer!r}.")
    else:
        a, e = _as_array(answer), _as_array(expected)
        if a.shape != e.shape:
            fail(f"expected shape {e.shape}, got {a.shape}.")
        if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
            fail(f"expected numbers, got values of type {a.dtype}.")
        a, e = a.astype(float), e.astype(float)
        if np.isnan(a).any() and not np.array_equal(np.isnan(a), np.isnan(e)):
            fail("the answer contains NaN.")
        if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
            worst = float(np.nanmax(np.abs(a - e)))
            fail(f"not within tolerance (largest difference {worst:.3g}; rtol={rtol:g}, atol={atol:g}).")
    print(f"✓ {name}: correct.")
    return True


def wrong_answer_like(value: Any) -> Any:
    """A plausible but wrong answer of the same kind, for proving a checker can fail."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value + "?"
    if hasattr(value, "detach"):
        return value * 1.5 + 1.0
    arr = np.asarray(value, dtype=float)
    wrong = arr * 1.5 + 1.0
    return float(wrong) if arr.ndim == 0 else wrong
