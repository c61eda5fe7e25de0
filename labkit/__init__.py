"""labkit: a lab in notebooks for studying neurons, biological and artificial.

The names a notebook needs most are importable from the top level::

    import labkit
    device = labkit.resolve_device("auto")
    labkit.seed_everything(0)
    labkit.record("state_accuracy", 0.97)

Each is loaded on first use, so ``import labkit`` (and the ``labkit`` command's ``--help`` and
``list``) does not import torch.
"""
from labkit.core.lazy import lazy_exports
from labkit.core.version import __version__

_EXPORTS = {
    "resolve_device": "labkit.core.device",
    "seed_everything": "labkit.core.seed",
    "check_params": "labkit.core.params",
    "check_value": "labkit.core.params",
    "ParameterError": "labkit.core.params",
    "parse_list": "labkit.core.params",
    "record": "labkit.core.metrics",
    "recorded": "labkit.core.metrics",
    "check_answer": "labkit.core.exercise",
    "ExerciseFailed": "labkit.core.exercise",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__ = lazy_exports(__name__, _EXPORTS)
