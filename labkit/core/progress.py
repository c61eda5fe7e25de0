"""Progress bars that render as a bar in notebooks and as text in terminals and logs."""
from __future__ import annotations

import os
from typing import Iterable

from tqdm.auto import tqdm


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None, **kwargs):
    """``tqdm.auto`` with labkit's defaults; ``LABKIT_PROGRESS=0`` silences it (tests, sweeps)."""
    disable = os.environ.get("LABKIT_PROGRESS", "1") == "0"
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False, **kwargs)


def trange(n: int, *, desc: str | None = None, **kwargs):
    return progress(range(n), total=n, desc=desc, **kwargs)
