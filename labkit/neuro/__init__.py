"""From recordings to circuits.

The estimators are importable from here (``from labkit.neuro import SwitchingGLM``); each is loaded
on first use, so importing one method does not import the others.
"""
from labkit.core.lazy import lazy_exports

_EXPORTS = {
    "SwitchingGLM": "labkit.neuro.switching_glm",
    "PoissonHMM": "labkit.neuro.switching_glm",
    "DynamicConnectome": "labkit.neuro.dynamic_connectome",
    "NTF": "labkit.neuro.dynamic_connectome",
    "PerTargetRidge": "labkit.neuro.encoding_models",
    "Neuroformer": "labkit.neuro.neuroformer",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
