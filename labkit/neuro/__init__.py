"""From recordings to circuits.

The estimators are importable from here (``from labkit.neuro import SwitchingGLM``); each is loaded
on first use, so importing one method does not import the others.
"""
from importlib import import_module

_EXPORTS = {
    "SwitchingGLM": "labkit.neuro.switching_glm",
    "PoissonHMM": "labkit.neuro.switching_glm",
    "DynamicConnectome": "labkit.neuro.dynamic_connectome",
    "NTF": "labkit.neuro.dynamic_connectome",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'labkit.neuro' has no attribute {name!r}")
