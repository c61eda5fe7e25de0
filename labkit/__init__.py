"""labkit: a lab in notebooks for studying neurons, biological and artificial.

The names a notebook needs most are importable from the top level::

    import labkit
    device = labkit.resolve_device("auto")
    labkit.seed_everything(0)
    labkit.record("state_accuracy", 0.97)
"""
from labkit.core.device import resolve_device
from labkit.core.exercise import ExerciseFailed, check_answer
from labkit.core.metrics import record, recorded
from labkit.core.params import ParameterError, check_params, check_value, parse_list
from labkit.core.seed import seed_everything
from labkit.core.version import __version__

__all__ = [
    "__version__",
    "resolve_device",
    "seed_everything",
    "check_params",
    "check_value",
    "ParameterError",
    "parse_list",
    "record",
    "recorded",
    "check_answer",
    "ExerciseFailed",
]
