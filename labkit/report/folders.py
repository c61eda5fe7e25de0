"""Where the ``labkit`` command may write, and how it replaces what it wrote before.

Every command that writes a folder (``labkit run``, ``sweep``, ``gallery``, ``workshop build``)
goes through here, so one set of rules guards the user's files:

- an output folder must be creatable and writable, else one sentence (:class:`UsageError`);
- a folder is replaced only when it is missing, empty, or a previous output of the same kind
  (recognized by a file it holds), unless ``force``; and never the current directory, the home
  directory, the repository root, ``/``, the notebooks folder or any folder above one of these,
  even with ``force``;
- the new content is written into a hidden folder beside the target and renamed into place, so an
  interrupted command never leaves something that looks complete.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from labkit.report.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[2]


def protected_folders() -> list[Path]:
    """Folders no command may delete or replace: deleting one (or a folder above it) loses work."""
    from labkit.report.catalog import notebooks_dir

    return [Path.cwd().resolve(), Path.home().resolve(), REPO_ROOT, Path("/"), notebooks_dir().resolve()]


def is_protected(path: Path) -> bool:
    """Whether ``path`` is a protected folder or lies above one."""
    path = Path(path).resolve()
    return any(path == p or path in p.parents for p in protected_folders())


def check_writable(path: str | Path, arg: str = "--out") -> Path:
    """``path`` as an absolute path, if a folder can be made or written there; else UsageError."""
    path = Path(path).absolute()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{arg} {str(path)!r} is a file, not a folder.")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{arg} {str(path)!r} cannot be created: {str(existing)!r} is a file.")
    try:  # a real attempt: permissions, read-only mounts and full disks all answer here
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".labkit-probe-"))
    except OSError as exc:
        raise UsageError(f"{arg} {str(path)!r} is not writable ({exc.strerror or type(exc).__name__} "
                         f"in {str(existing)!r}).") from None
    return path


def check_replaceable(path: str | Path, marker: str, *, force: bool | None = None, arg: str = "--out") -> Path:
    """``path`` if a command may replace it with its own output, else UsageError.

    ``marker`` is the name of a file the command's own output holds: a folder holding it is a
    previous output and may be replaced. Anything else that is not empty needs ``force`` (``None``:
    the command has no ``--force``).
    """
    path = check_writable(path, arg)
    if not path.exists():
        return path
    if is_protected(path):
        raise UsageError(f"{arg} {str(path)!r} is the current, home, repository or notebooks folder or lies "
                         "above one; choose a new folder.")
    if force or (path / marker).exists() or not any(path.iterdir()):
        return path
    hint = "" if force is None else ", or pass --force to replace it"
    raise UsageError(f"{arg} {str(path)!r} holds files that labkit did not write; choose a new or empty folder{hint}.")


def aside(final: Path) -> Path:
    """A fresh hidden folder beside ``final`` to write into before :func:`swap_into_place`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def remove_stale(final: Path) -> None:
    """Delete the hidden folders that commands killed midway left beside ``final`` (their process is gone)."""
    for stale in final.parent.glob(f".tmp-{final.name}-*"):
        try:
            os.kill(int(stale.name.rsplit("-", 1)[1]), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(stale, ignore_errors=True)
        except PermissionError:
            pass


def swap_into_place(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; the previous ``final`` (already checked replaceable) is removed after."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
