"""The interface every sparse dictionary shares, and the check of the activations it is fitted on.

A dictionary reads like a scikit-learn estimator (:class:`labkit.core.estimator.Estimator`):
hyperparameters stored by ``__init__``, checked once by ``fit(X) -> self`` (a transcoder:
``fit(X, Y)``), ``encode(X) -> Z`` (codes, ``(n, n_latents)``), ``decode(Z) -> X_hat``, and the
learned dictionary ``D_`` (``(n_latents, d)``, one unit-norm atom per row). Codes are the
coefficients of those unit atoms in the data's own units, so ``decode(Z) = Z @ D_ + bias_``.
"""
from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.estimator import Estimator
from labkit.core.params import ParameterError, nullable
from labkit.core.threads import threads

CONTROLS = {
    "none": "the methods as they are",
    "random": "every dictionary's atoms replaced, after fitting, by random unit directions (its encoder as fitted), "
              "and the codebook transformer of the finite-state machine left at its random initialisation "
              "(a learning rate of zero, no dead-code replacement)",
}
"""The notebook's negative controls (its ``control`` parameter): the same data, figures and checks, with the
methods replaced by a null."""


def check_activations(X: Any, name: str = "X", device: torch.device | str | None = None) -> torch.Tensor:
    """Return ``X`` as a finite float32 ``(n_samples, dim)`` tensor, or raise one clear ValueError."""
    if isinstance(X, np.ndarray) or isinstance(X, (list, tuple)):
        try:
            X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a numeric array of shape (n_samples, dim).") from None
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor or NumPy array of shape (n_samples, dim), "
                         f"got {type(X).__name__}.")
    if X.dim() != 2:
        raise ValueError(f"{name} must have rank 2 (n_samples, dim), got shape {tuple(X.shape)}.")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"{name} must hold at least 2 samples of at least 1 dimension, got shape {tuple(X.shape)}.")
    if X.dtype.is_complex or X.dtype == torch.bool:
        raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}.")
    X = X.to(device=device if device is not None else X.device, dtype=torch.float32)
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return X


class SparseDictionary(Estimator):
    """The common interface; subclasses implement ``_fit``, ``_encode`` and set ``D_`` / ``bias_``.

    ``device``: where to fit (``"auto"``, ``"cpu"``, ``"cuda"``, ...); ``None`` fits on the device of
    the data. ``seed`` fixes every random draw of ``fit``.
    """

    name = "dictionary"
    needs_target = False
    _rules: ClassVar[dict[str, Any]] = {"n_latents": (int, 1, None), "device": nullable("device"), "seed": "seed"}

    def __init__(self, n_latents: int, *, device: str | torch.device | None = None, seed: int = 0):
        self.n_latents = n_latents
        self.device = device
        self.seed = seed

    # -- public API ---------------------------------------------------------------------------
    def fit(self, X, Y=None) -> SparseDictionary:
        """Learn the dictionary from activations ``X`` (and, for a transcoder, targets ``Y``)."""
        self._validate()
        self._check_hyperparameters()
        dev = None if self.device is None else resolve_device(self.device)
        X = check_activations(X, "X", dev)
        if self.needs_target:
            if Y is None:
                raise ValueError(f"{type(self).__name__}.fit needs targets Y (the MLP outputs), got None.")
            Y = check_activations(Y, "Y", X.device)
            if Y.shape[0] != X.shape[0]:
                raise ValueError(f"Y must have as many rows as X ({X.shape[0]}), got {Y.shape[0]}.")
        elif Y is not None:
            raise ValueError(f"{type(self).__name__}.fit takes no targets Y; a transcoder does.")
        self.device_ = X.device
        self.n_features_in_ = X.shape[1]
        wall, cpu = time.perf_counter(), time.process_time()
        # One CPU thread while each step's tensors are small (a batch times the wider of input and
        # dictionary): on a busy 2-core machine a TopK fit took 87 s on torch's default threads, 9 s on one.
        rows = min(X.shape[0], getattr(self, "batch_size", X.shape[0]))
        with threads(device=X.device, size=rows * max(X.shape[1], self.n_latents)):
            self._fit(X, Y)
        if X.device.type == "cuda":
            torch.cuda.synchronize(X.device)
        self.fit_time_ = time.perf_counter() - wall
        self.fit_cpu_time_ = time.process_time() - cpu
        return self

    @torch.no_grad()
    def encode(self, X, batch_size: int = 8192) -> torch.Tensor:
        """Codes ``Z`` (n_samples, n_latents): coefficients of the unit atoms ``D_``."""
        X = self._check_input(X)
        return torch.cat([self._encode(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])

    @torch.no_grad()
    def decode(self, Z) -> torch.Tensor:
        """Reconstruction ``Z @ D_ + bias_``."""
        self._check_fitted("D_")
        if not isinstance(Z, torch.Tensor) or Z.dim() != 2 or Z.shape[1] != self.n_latents:
            raise ValueError(f"Z must be a tensor of shape (n_samples, {self.n_latents}), got "
                             f"{tuple(Z.shape) if isinstance(Z, torch.Tensor) else type(Z).__name__}.")
        return Z.to(self.device_, torch.float32) @ self.D_ + self.bias_

    def reconstruct(self, X) -> torch.Tensor:
        return self.decode(self.encode(X))

    @torch.no_grad()
    def randomize_atoms(self, seed: int = 0) -> SparseDictionary:
        """The negative control: replace the fitted atoms ``D_`` by random unit directions (uniform on the
        sphere, drawn from ``seed`` and the dictionary's own seed), keeping everything else as fitted.
        Random atoms in ``d`` dimensions meet a planted feature at a cosine of about ``sqrt(2 ln n / d)``
        at best, far below the 0.9 that counts as recovered."""
        self._check_fitted("D_")
        gen = torch.Generator().manual_seed(1_000_003 * (int(self.seed) + 1) + int(seed))
        R = torch.randn(self.D_.shape, generator=gen)
        self.D_ = (R / R.norm(dim=1, keepdim=True).clamp_min(1e-12)).to(self.D_.device, self.D_.dtype)
        return self

    # -- helpers ------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        """Checks across hyperparameters that one rule each cannot express (after ``_validate``)."""

    def _check_at_most_latents(self, name: str) -> None:
        value = getattr(self, name)
        if value is not None and value > self.n_latents:
            raise ParameterError(f"Parameter {name!r} of {type(self).__name__} must be at most "
                                 f"n_latents={self.n_latents}, got {value}.")

    def _check_input(self, X) -> torch.Tensor:
        self._check_fitted("D_")
        X = check_activations(X, "X", self.device_)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns (as in fit), got {X.shape[1]}.")
        return X
