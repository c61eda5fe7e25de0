"""A checkpoint cache for trained models, so a report re-run does not retrain what it already has.

Entries are keyed by a name, the parameters that determine the result, the labkit version and a
``code`` string (pass a version tag, or leave it to the hash of the builder's source). Files are
written aside and renamed into place (only files named ``<name>-<key>.pt`` and ``.sha256`` in the cache
folder are ever replaced; a name cannot reach outside it), carry a SHA-256 sidecar, and are loaded with
``torch.load(weights_only=True)``; a file whose checksum or load fails is rebuilt, never trusted.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def cache_dir() -> Path:
    """``$LABKIT_CACHE`` if set, else ``~/.cache/labkit``."""
    return Path(os.environ.get("LABKIT_CACHE", Path.home() / ".cache" / "labkit"))


def _code_version(build: Callable) -> str:
    try:
        return hashlib.sha256(inspect.getsource(build).encode()).hexdigest()[:16]
    except (OSError, TypeError):
        return getattr(build, "__qualname__", "unknown")


def cache_key(name: str, params: dict, code: str) -> str:
    from labkit.core.version import __version__

    blob = json.dumps({"name": name, "params": params, "labkit": __version__, "code": code},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def checkpoint(name: str, params: dict, build: Callable[[], Any], *, code: str | None = None,
               root: str | Path | None = None) -> Any:
    """Return ``build()``'s result, from the cache when a valid entry exists.

    ``build`` must return what ``torch.save`` can write and ``torch.load(weights_only=True)`` can
    read: tensors, and dicts, lists and numbers of them (a model's ``state_dict()``, a loss history).
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError(f"checkpoint: name must be a non-empty file name (letters, digits, _ . -), got {name!r}.")
    folder = Path(root) if root is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key = cache_key(name, params, code if code is not None else _code_version(build))
    path = folder / f"{name}-{key}.pt"
    sidecar = path.with_suffix(".sha256")
    if path.exists() and sidecar.exists():
        try:
            if sidecar.read_text().strip() == _sha256(path):
                return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a corrupt entry is rebuilt below
            pass
    result = build()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    os.close(fd)
    try:
        torch.save(result, tmp)
        digest = _sha256(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _atomic_write_bytes(sidecar, digest.encode())
    return result
