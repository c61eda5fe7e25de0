"""Ridge regression with one penalty per target, chosen by leave-one-out from a single SVD.

With the centred design ``X = U S Vᵀ`` (its thin SVD; computed from the smaller Gram matrix) and
``d_j(α) = s_j² / (s_j² + α)``, the fit at penalty ``α`` is
``ŷ = ȳ + U diag(d(α)) Uᵀ y`` and the hat matrix's diagonal is ``h_i(α) = 1/n + Σ_j U_ij² d_j(α)`` (the
intercept is not penalised). The leave-one-out residual is the ordinary residual over ``1 - h_i``, so the
leave-one-out error of every target at every penalty costs one SVD and one product per penalty, all targets
batched. This is what scikit-learn's ``RidgeCV(alpha_per_target=True)`` computes (its generalized
cross-validation path, which is exact leave-one-out), and :mod:`tests.test_encoding_models` holds the two
equal to 1e-6.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.estimator import Estimator
from labkit.core.params import ParameterError, check_value

DEFAULT_ALPHAS = tuple(np.logspace(-1, 6, 12))


def check_finite(name: str, array: np.ndarray, owner: str) -> None:
    """Refuse NaN or infinite values in ``array``, naming the argument."""
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{owner}: {name} holds NaN or infinite values.")


def check_design(x, y, owner: str, *, drop_constant: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check features ``x`` (n, p) and responses ``y`` (n, T) and return them as float64 arrays with the
    indices of the constant targets; a constant target is refused, naming it, unless ``drop_constant``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2:
        raise ParameterError(f"{owner}: X must be a (samples, features) matrix, got shape {x.shape}.")
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ParameterError(f"{owner}: Y must be a (samples, targets) matrix, got shape {y.shape}.")
    if x.shape[0] != y.shape[0]:
        raise ParameterError(f"{owner}: X and Y must have the same number of samples, "
                             f"got {x.shape[0]} and {y.shape[0]}.")
    if x.shape[0] < 3:
        raise ParameterError(f"{owner}: X needs at least 3 samples for leave-one-out, got {x.shape[0]}.")
    check_finite("X", x, owner)
    check_finite("Y", y, owner)
    constant = np.flatnonzero(np.ptp(y, axis=0) == 0)
    if len(constant) and not drop_constant:
        raise ParameterError(f"{owner}: target(s) {constant[:10].tolist()} of Y have zero variance; "
                             f"pass drop_constant=True to drop them.")
    return x, y, constant


def spectrum(xc: torch.Tensor) -> tuple[str, torch.Tensor, torch.Tensor]:
    """The eigendecomposition of the smaller Gram matrix of the centred design ``xc`` (n, p): ``("dual", λ, U)``
    from ``xc xcᵀ`` when n <= p, ``("primal", λ, V)`` from ``xcᵀ xc`` otherwise; λ = s² clamped at 0. Every
    formula below uses λ and these vectors without dividing by a singular value, so directions of tiny variance
    stay accurate (forming ``V = Xᵀ U / s`` would not)."""
    n, p = xc.shape
    lam, vecs = torch.linalg.eigh(xc @ xc.T if n <= p else xc.T @ xc)
    return ("dual" if n <= p else "primal"), lam.clamp(min=0), vecs


def loo_ridge(x: torch.Tensor, y: torch.Tensor, alphas: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-target leave-one-out ridge on tensors (any device, float64 advised): ``x`` (n, p), ``y`` (n, T),
    ``alphas`` (A,) positive. Returns ``coef`` (p, T), ``intercept`` (T,), ``alpha`` (T,), ``alpha_index``
    (T,) and ``loo_mse`` (A, T), the mean squared leave-one-out error at every penalty.

    With ``Q`` the left singular vectors ``U`` (dual) or ``X V = U S`` (primal), the hat matrix is
    ``1/n + Q diag(g) Qᵀ`` with ``g = λ/(λ+α)`` (dual) or ``1/(λ+α)`` (primal)."""
    n = x.shape[0]
    x_mean, y_mean = x.mean(0), y.mean(0)
    xc, yc = x - x_mean, y - y_mean
    form, lam, vecs = spectrum(xc)
    q = vecs if form == "dual" else xc @ vecs                                       # (n, k)
    qty = q.T @ yc                                                                  # (k, T)
    q2 = q * q
    top = lam if form == "dual" else torch.ones_like(lam)
    loo = torch.empty((len(alphas), y.shape[1]), dtype=y.dtype, device=y.device)
    for a, alpha in enumerate(alphas):                                              # 12 penalties, every target at once
        g = top / (lam + alpha)
        resid = yc - q @ (g[:, None] * qty)
        h = 1.0 / n + q2 @ g
        loo[a] = ((resid / (1 - h)[:, None]) ** 2).mean(0)
    best = loo.argmin(0)
    alpha = alphas[best]
    inv = 1.0 / (lam[:, None] + alpha[None, :])                                     # (k, T)
    coef = xc.T @ (vecs @ (inv * qty)) if form == "dual" else vecs @ (inv * qty)
    return {"coef": coef, "intercept": y_mean - x_mean @ coef, "alpha": alpha, "alpha_index": best, "loo_mse": loo}


class PerTargetRidge(Estimator):
    """Ridge with its own penalty for every target (voxel), chosen from ``alphas`` by leave-one-out.

    ``fit(X, Y)`` with ``X`` (n, p) and ``Y`` (n, T) sets ``coef_`` (p, T), ``intercept_`` (T,), ``alpha_`` (T,),
    ``loo_mse_`` (A, T) and ``dropped_`` (the indices of constant targets dropped when ``drop_constant``;
    the other attributes then cover the kept targets only, in order). ``predict(X)`` gives (n, T).
    """

    _rules: ClassVar[dict] = {"alphas": object, "drop_constant": bool, "device": "device"}

    def __init__(self, alphas=DEFAULT_ALPHAS, drop_constant: bool = False, device: str = "cpu"):
        self.alphas = alphas
        self.drop_constant = drop_constant
        self.device = device

    def fit(self, X, Y) -> PerTargetRidge:
        self._validate()
        try:
            alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        except (TypeError, ValueError):
            alphas = np.zeros(0)
        if alphas.ndim != 1 or len(alphas) == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
            raise ParameterError(f"Parameter 'alphas' of PerTargetRidge must be positive finite penalties, "
                                 f"got {self.alphas!r}.")
        x, y, constant = check_design(X, Y, "PerTargetRidge", drop_constant=self.drop_constant)
        keep = np.setdiff1d(np.arange(y.shape[1]), constant)
        dev = resolve_device(self.device)
        out = loo_ridge(torch.as_tensor(x, device=dev), torch.as_tensor(y[:, keep], device=dev),
                        torch.as_tensor(alphas, device=dev))
        self.coef_ = out["coef"].cpu().numpy()
        self.intercept_ = out["intercept"].cpu().numpy()
        self.alpha_ = out["alpha"].cpu().numpy()
        self.loo_mse_ = out["loo_mse"].cpu().numpy()
        self.dropped_ = constant
        return self

    def predict(self, X) -> np.ndarray:
        self._check_fitted("coef_")
        x = np.asarray(X, dtype=np.float64)
        check_value("X", x.shape[-1] if x.ndim == 2 else -1, (int, self.coef_.shape[0], self.coef_.shape[0]),
                    "PerTargetRidge.predict")
        return x @ self.coef_ + self.intercept_
