"""Public names loaded on first use, so importing a package face imports none of its methods.

A track's ``__init__.py`` maps each public name to the module that defines it and hands the map to
:func:`lazy_exports`::

    _EXPORTS = {"SwitchingGLM": "labkit.neuro.switching_glm"}
    __all__ = list(_EXPORTS)
    __getattr__ = lazy_exports(__name__, _EXPORTS)

``from labkit.neuro import SwitchingGLM`` then imports the switching GLM alone (PEP 562).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package`` that imports ``exports[name]`` on first use."""
    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
