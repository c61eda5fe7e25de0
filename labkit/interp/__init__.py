"""Interpretability of artificial neurons.

The estimators are importable from here (``from labkit.interp import TopKSAE``); each is loaded on
first use, so importing one method does not import the others.
"""
from labkit.core.lazy import lazy_exports

_SPARSE = "labkit.interp.sparse_dictionaries"
_EXPORTS = {
    "ReLUSAE": _SPARSE, "TopKSAE": _SPARSE, "JumpReLUSAE": _SPARSE, "Transcoder": _SPARSE,
    "MatchingPursuitSAE": _SPARSE, "VQCodebook": _SPARSE, "SemiNMF": _SPARSE,
    "Transformer": "labkit.interp.transformer", "TransformerConfig": "labkit.interp.transformer",
    "FactCorpus": "labkit.interp.knowledge_neurons", "FactModel": "labkit.interp.knowledge_neurons",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
