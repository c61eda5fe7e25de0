"""What every labkit estimator shares, in scikit-learn's spirit.

- ``__init__`` only stores its arguments, under their own names;
- ``fit`` checks them once against the class's ``_rules`` (the rule language of
  :mod:`labkit.core.params`), learns, sets attributes ending in ``_`` and returns ``self``;
- using an estimator before ``fit`` raises :class:`NotFittedError`, one sentence naming it.

``tests/test_estimators.py`` holds every estimator of the package to these rules.
"""
from __future__ import annotations

from typing import Any, ClassVar

from labkit.core.params import check_args


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (a ``ValueError``, and an ``AttributeError`` so that
    ``hasattr(model, "components_")`` stays False, as scikit-learn's)."""


class Estimator:
    """Base class: ``_rules`` maps each hyperparameter to its rule; ``_validate()`` checks them."""

    _rules: ClassVar[dict[str, Any]] = {}

    def _validate(self) -> dict[str, Any]:
        """Check every hyperparameter named in ``_rules``; return the checked values (ints for floats
        become floats). Called at the start of ``fit``."""
        return check_args(type(self).__name__, {k: getattr(self, k) for k in self._rules}, self._rules)

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._rules}

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute) or getattr(self, attribute) is None:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(...) before using it.")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k, None)!r}" for k in self._rules)
        return f"{type(self).__name__}({args})"


def check_fitted(model: Any, attribute: str) -> None:
    """Raise :class:`NotFittedError` unless ``model`` has the learned ``attribute`` (one ending in ``_``)."""
    if getattr(model, attribute, None) is None:
        raise NotFittedError(f"This {type(model).__name__} is not fitted yet; call fit(...) before using it.")
