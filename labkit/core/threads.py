"""CPU threads: one helper for the whole lab, decided once.

Most of labkit's hot loops issue many small tensor operations (a step of a spiking network, one
HALS column update, one EM recursion, a training step of a tiny model). On a CPU, PyTorch and the
BLAS split each of them over their threads; below a few million numbers per operation the wake-up
and synchronisation cost more than the split saves, and on a busy 2-core machine a second thread
can make a loop ten times slower (measured across the lab: a 64² field fit 24 s against 2 s, an
induction training step 400 ms against 29 ms, a TopK SAE fit 87 s against 9 s).

So the rule is: **small work runs on one thread, large work keeps the caller's setting**, and
nothing changes on a GPU. :func:`threads` is that rule, usable as a context manager or a decorator::

    with threads(device=dev, size=x.numel()):    # one thread if x is small and dev is the CPU
        ...

    @threads(1)                                   # always one CPU thread inside
    def step(...): ...

Settings are restored on exit (torch's intra-op count and, through threadpoolctl, the BLAS pools).
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import torch

SMALL = 1 << 23  # below this many numbers per operation, one thread is faster (see the module docstring)

_BLAS: list = []


def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, built once (it scans the process's libraries)."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _BLAS.append(None)
    return _BLAS[0]


class threads(contextlib.ContextDecorator):
    """Run a block (or a function) with ``n`` CPU threads, or one thread when the work is small.

    ``n``: the thread count to use; ``None`` decides by ``size``: one thread when ``size`` (numbers
    per operation) is below ``limit``, else the caller's setting. With neither ``n`` nor ``size`` the
    block runs on one thread. ``device``: nothing changes unless it is the CPU. ``blas``: also limit
    NumPy's BLAS (for NumPy hot loops). The previous settings are restored on exit.
    """

    def __init__(self, n: int | None = None, *, device=None, size: int | None = None, limit: int = SMALL,
                 blas: bool = False):
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ValueError(f"threads: n must be a positive integer or None, got {n!r}.")
        self.n, self.device, self.size, self.limit, self.blas = n, device, size, limit, blas
        self._saved: list[tuple[int, contextlib.ExitStack]] = []

    def _target(self) -> int | None:
        if self.device is not None and torch.device(self.device).type != "cpu":
            return None
        if self.n is not None:
            return self.n
        if self.size is not None and self.size >= self.limit:
            return None
        return 1

    def __enter__(self):
        target = self._target()
        before = torch.get_num_threads()
        stack = contextlib.ExitStack()
        if target is not None:
            if target != before:
                torch.set_num_threads(target)
            if self.blas:
                ctl = _blas_controller()
                if ctl is not None:
                    stack.enter_context(ctl.limit(limits=target, user_api="blas"))
        self._saved.append((before, stack))
        return self

    def __exit__(self, *exc):
        before, stack = self._saved.pop()
        stack.close()
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
        return False


def one_thread(fn: Callable) -> Callable:
    """Decorator: run ``fn`` on one CPU thread (restored afterwards)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threads(1):
            return fn(*args, **kwargs)
    return wrapper


def set_threads(n: int) -> None:
    """Set torch's CPU threads for the rest of the process (a sweep worker's share of the machine)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}.")
    torch.set_num_threads(n)
