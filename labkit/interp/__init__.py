"""Interpretability of artificial neurons.

The estimators are importable from here (``from labkit.interp import TopKSAE``); each is loaded on
first use, so importing one method does not import the others.
"""
from importlib import import_module

_SPARSE = "labkit.interp.sparse_dictionaries"
_EXPORTS = {
    "ReLUSAE": _SPARSE, "TopKSAE": _SPARSE, "JumpReLUSAE": _SPARSE, "Transcoder": _SPARSE,
    "MatchingPursuitSAE": _SPARSE, "VQCodebook": _SPARSE, "SemiNMF": _SPARSE,
    "Transformer": "labkit.interp.transformer", "TransformerConfig": "labkit.interp.transformer",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'labkit.interp' has no attribute {name!r}")
