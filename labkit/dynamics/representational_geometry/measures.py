"""Measures of representational geometry, in torch and batched over leading axes (layers, seeds).

* :func:`rdm` — representational dissimilarity matrices (squared Euclidean per unit, correlation distance,
  crossnobis over folds), with rsatoolbox's conventions, by one GEMM per batch;
* :func:`gt_transform` — Lin & Kriegeskorte's geo-topological transform, per RDM;
* :func:`compare_rdms` — Pearson correlation of the RDMs' upper triangles (rsatoolbox's ``"corr"``);
* :func:`cka` (linear or RBF, optionally debiased) and :func:`cka_matrix` (every pair of many representations);
* :func:`match_units` (one-to-one, Hungarian on correlations), :func:`predict_units` (one-to-many, sparse
  regression), :func:`variance_explained_by`, :func:`parallelism_score`, :func:`ccgp`;
* :func:`h1_bars` — persistent homology by ripser: the 1-cycles that persist.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value

METHODS = ("euclidean", "correlation", "crossnobis")


def _tensor(name: str, X, min_dim: int = 2, owner: str | None = None) -> torch.Tensor:
    X = torch.as_tensor(X)
    if not X.is_floating_point():
        X = X.double()
    if X.ndim < min_dim:
        raise ParameterError(f"Parameter {name!r}{' of ' + owner if owner else ''} must have at least {min_dim} "
                             f"axes, got shape {tuple(X.shape)}.")
    if not bool(torch.isfinite(X).all()):
        raise ParameterError(f"Parameter {name!r}{' of ' + owner if owner else ''} holds NaN or infinite values.")
    return X


def rdm(X, method: str = "euclidean") -> torch.Tensor:
    """The RDM of conditions × units activity ``X`` (..., n, p): a (..., n, n) matrix.

    ``"euclidean"``: squared Euclidean distance divided by the number of units p (rsatoolbox's
    ``calc_rdm``); ``"correlation"``: 1 − Pearson correlation of the patterns; ``"crossnobis"``: ``X`` is
    (..., folds, n, p) and the distance is the leave-one-fold-out cross-validated squared distance
    (m₋f,i − m₋f,j)·(m_f,i − m_f,j)/p averaged over folds (identity noise precision), unbiased by noise.
    """
    method = check_value("method", method, list(METHODS), "rdm")
    X = _tensor("X", X, 3 if method == "crossnobis" else 2, "rdm")
    n = X.shape[-2]
    if n < 3:
        raise ParameterError(f"Parameter 'X' of rdm must hold at least 3 conditions (rows), got {n}.")
    p = X.shape[-1]
    if method == "euclidean":
        sq = (X * X).sum(-1)
        D = (X @ X.transpose(-1, -2)).mul_(-2).add_(sq[..., :, None]).add_(sq[..., None, :])
        D = D.div_(p).clamp_min_(0)
        D.diagonal(dim1=-2, dim2=-1).zero_()
        return D
    if method == "correlation":
        Z = X - X.mean(-1, keepdim=True)
        Z = Z / Z.norm(dim=-1, keepdim=True)
        D = torch.sub(1, Z @ Z.transpose(-1, -2))
        D.diagonal(dim1=-2, dim2=-1).zero_()
        return D
    F = X.shape[-3]
    if F < 2:
        raise ParameterError(f"Parameter 'X' of rdm needs at least 2 folds for crossnobis (axis -3), got {F}.")
    rest = (X.sum(-3, keepdim=True) - X) / (F - 1)          # the mean of the other folds, for each fold
    K = (rest @ X.transpose(-1, -2)).mean(-3)                # (..., n, n): Σ_f m₋f mᶠᵀ / F
    d = torch.diagonal(K, dim1=-2, dim2=-1)
    return (d[..., :, None] + d[..., None, :] - K - K.transpose(-1, -2)) / p


def upper(D) -> torch.Tensor:
    """The upper triangle (above the diagonal) of square matrices (..., n, n), row by row: (..., n(n−1)/2)."""
    D = torch.as_tensor(D)
    i, j = torch.triu_indices(D.shape[-1], D.shape[-1], 1, device=D.device)
    return D[..., i, j]


def gt_transform(D, low: float, up: float) -> torch.Tensor:
    """The geo-topological transform GT(l, u) of each RDM (..., n, n): dissimilarities below their RDM's
    ``low`` quantile become 0, above its ``up`` quantile 1, linear between (Lin & Kriegeskorte 2024).
    Quantiles are taken over each RDM's upper triangle, like rsatoolbox's ``geotopological_transform``
    on one RDM (that one pools the quantiles of all RDMs it is given, and writes into them)."""
    low = check_value("low", low, (float, 0.0, 1.0), "gt_transform")
    up = check_value("up", up, (float, 0.0, 1.0), "gt_transform")
    if low >= up:
        raise ParameterError(f"Parameters 'low' and 'up' of gt_transform need low < up, got {low} and {up}.")
    D = _tensor("D", D, 2, "gt_transform")
    v = upper(D)
    q = torch.quantile(v, torch.tensor([low, up], dtype=v.dtype, device=v.device), dim=-1)   # (2, ...)
    lo, hi = q[0][..., None, None], q[1][..., None, None]
    G = ((D - lo) / (hi - lo)).clamp(0, 1)
    return G * (1 - torch.eye(D.shape[-1], dtype=D.dtype, device=D.device))


def compare_rdms(A, B) -> torch.Tensor:
    """Pearson correlation of the upper triangles of RDMs ``A`` (..., n, n) and ``B`` (broadcast)."""
    a, b = upper(torch.as_tensor(A)), upper(torch.as_tensor(B))
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))


# ------------------------------------------------------------------------------------------------ CKA
def _center(K: torch.Tensor) -> torch.Tensor:
    return K - K.mean(-1, keepdim=True) - K.mean(-2, keepdim=True) + K.mean((-2, -1), keepdim=True)


def _gram(X: torch.Tensor, kernel: str, sigma: float) -> torch.Tensor:
    G = X @ X.transpose(-1, -2)
    if kernel == "linear":
        return G
    sq = torch.diagonal(G, dim1=-2, dim2=-1)
    D = (sq[..., :, None] + sq[..., None, :] - 2 * G).clamp_min(0)
    med = torch.sqrt(upper(D).median(-1).values)[..., None, None]     # Kornblith et al.: a fraction of the median
    return torch.exp(-D / (2 * (sigma * med) ** 2))


def _hsic(K: torch.Tensor, L: torch.Tensor, debiased: bool) -> torch.Tensor:
    if not debiased:
        return (_center(K) * _center(L)).sum((-2, -1))
    n = K.shape[-1]
    eye = torch.eye(n, dtype=K.dtype, device=K.device)
    K, L = K * (1 - eye), L * (1 - eye)           # Song et al. (2012)'s unbiased HSIC estimator
    kl = (K * L).sum((-2, -1))
    ks, ls = K.sum((-2, -1)), L.sum((-2, -1))
    cross = (K.sum(-1) * L.sum(-1)).sum(-1)
    return (kl + ks * ls / ((n - 1) * (n - 2)) - 2 * cross / (n - 2)) / (n * (n - 3))


def cka(X, Y, kernel: str = "linear", debiased: bool = False, sigma: float = 0.8) -> torch.Tensor:
    """Centered kernel alignment of two representations of the same n examples, X (..., n, p) and Y (..., n, q)
    (leading axes broadcast): HSIC(K, L)/√(HSIC(K, K) HSIC(L, L)) with K, L linear or RBF Gram matrices (RBF
    width ``sigma`` × the median distance). ``debiased=True`` uses the unbiased HSIC (Song et al. 2012),
    which removes CKA's upward bias when p ≫ n. 1: the same geometry up to rotation and scale."""
    kernel = check_value("kernel", kernel, ["linear", "rbf"], "cka")
    X, Y = _tensor("X", X, 2, "cka"), _tensor("Y", Y, 2, "cka")
    if X.shape[-2] != Y.shape[-2]:
        raise ParameterError(f"Parameters 'X' and 'Y' of cka must have the same number of rows (examples), "
                             f"got {X.shape[-2]} and {Y.shape[-2]}.")
    if debiased and X.shape[-2] < 4:
        raise ParameterError(f"Parameter 'X' of cka needs at least 4 rows for debiased CKA, got {X.shape[-2]}.")
    X, Y = X.to(torch.promote_types(X.dtype, Y.dtype)), Y.to(torch.promote_types(X.dtype, Y.dtype))
    K, L = _gram(X, kernel, sigma), _gram(Y, kernel, sigma)
    return _hsic(K, L, debiased) / torch.sqrt(_hsic(K, K, debiased) * _hsic(L, L, debiased))


def cka_matrix(reps) -> torch.Tensor:
    """Linear CKA between every pair of representations (R, n, p) (or a list of (n, p_i)): an (R, R) matrix
    from one GEMM of the normalised, centred Gram matrices."""
    grams = torch.stack([_center(_gram(_tensor("reps", r, 2, "cka_matrix"), "linear", 0.0)) for r in reps])
    v = grams.flatten(1)
    v = v / v.norm(dim=1, keepdim=True)
    return v @ v.T


# ------------------------------------------------------------------------------------------------ units
def _corr(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Correlations between the columns of A (n, a) and B (n, b): (a, b); a constant column gives 0."""
    A = A - A.mean(0)
    B = B - B.mean(0)
    na, nb = A.norm(dim=0), B.norm(dim=0)
    C = (A.T @ B) / (na[:, None] * nb[None, :])
    return torch.nan_to_num(C, nan=0.0)


def match_units(A, B) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of the units (columns) of A (n, a) to those of B (n, b) that maximises the summed
    correlation (Li et al.'s bipartite semi-matching; Hungarian algorithm). Returns ``(pairs, corr)``:
    pairs (min(a, b), 2) of unit indices and their correlations."""
    from scipy.optimize import linear_sum_assignment

    A, B = _tensor("A", A, 2, "match_units"), _tensor("B", B, 2, "match_units")
    if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[0]:
        raise ParameterError(f"Parameters 'A' and 'B' of match_units must be (examples, units) with the same "
                             f"examples, got {tuple(A.shape)} and {tuple(B.shape)}.")
    C = _corr(A.double(), B.double()).cpu().numpy()
    rows, cols = linear_sum_assignment(C, maximize=True)
    return np.stack([rows, cols], 1), C[rows, cols]


def predict_units(A, B, alpha: float = 1e-2) -> np.ndarray:
    """One-to-many: how well each unit of A (n, a) is predicted by a sparse (Lasso) combination of B's
    units (n, b): the R² of each of A's units (Li et al.'s sparse prediction), fitted and scored in-sample."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    A, B = _tensor("A", A, 2, "predict_units").cpu().numpy(), _tensor("B", B, 2, "predict_units").cpu().numpy()
    Az = (A - A.mean(0)) / np.where(A.std(0) > 0, A.std(0), 1.0)
    Bz = (B - B.mean(0)) / np.where(B.std(0) > 0, B.std(0), 1.0)
    with warnings.catch_warnings():       # a unit the sparse fit cannot finish in max_iter keeps its last iterate
        warnings.simplefilter("ignore", ConvergenceWarning)
        pred = Lasso(alpha=alpha, max_iter=5000, tol=1e-3).fit(Bz, Az).predict(Bz)
    ss = (Az ** 2).sum(0)
    return np.where(ss > 0, 1 - ((Az - pred) ** 2).sum(0) / np.where(ss > 0, ss, 1.0), 0.0)


def random_rotation(p: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    """A Haar-random p × p orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    g = torch.Generator().manual_seed(int(seed))
    Q, R = torch.linalg.qr(torch.randn(p, p, generator=g, dtype=torch.float64))
    return (Q * torch.sign(torch.diagonal(R))).to(dtype)


def variance_explained_by(H, labels) -> torch.Tensor:
    """The fraction of the total variance of activity H (..., n, p) explained by the class means of each
    label column (labels (n,) or (n, m), any values): between-class over total sum of squares, (..., m)."""
    H = _tensor("H", H, 2, "variance_explained_by")
    lab = torch.as_tensor(labels)
    lab = lab[:, None] if lab.ndim == 1 else lab
    if lab.ndim != 2 or lab.shape[0] != H.shape[-2]:
        raise ParameterError(f"Parameter 'labels' of variance_explained_by must have one row per row of H "
                             f"({H.shape[-2]}), got shape {tuple(lab.shape)}.")
    Hc = H - H.mean(-2, keepdim=True)
    total = (Hc * Hc).sum((-2, -1))
    out = []
    for col in lab.T:                                   # a few label columns, not units or samples
        _, inv = torch.unique(col, return_inverse=True)
        onehot = torch.nn.functional.one_hot(inv).to(H.dtype)          # (n, classes)
        means = (onehot.T @ Hc) / onehot.sum(0)[:, None]               # (..., classes, p)
        out.append(((onehot.sum(0)[:, None] * means * means).sum((-2, -1))) / total)
    return torch.stack(out, -1)


def parallelism_score(M, dichotomy) -> float:
    """Bernardi et al. (2020)'s parallelism score of condition means M (c, p) for a dichotomy (c,) of ±1 / 0-1
    values with equal halves: the largest, over pairings of the two sides' conditions, mean cosine between
    the pairs' coding vectors (every pairing of up to 6 conditions a side is tried)."""
    M = _tensor("M", M, 2, "parallelism_score")
    side = torch.as_tensor(dichotomy) > torch.as_tensor(dichotomy).float().mean()
    a, b = torch.nonzero(side).flatten(), torch.nonzero(~side).flatten()
    if len(a) != len(b) or len(a) > 6:
        raise ParameterError("Parameter 'dichotomy' of parallelism_score must split the conditions into two "
                             f"equal sides of at most 6, got {len(a)} and {len(b)}.")
    perms = torch.tensor(list(itertools.permutations(range(len(b)))))        # (P, h)
    V = M[a][None] - M[b][perms]                                             # (P, h, p) coding vectors
    V = V / V.norm(dim=-1, keepdim=True)
    C = V @ V.transpose(-1, -2)
    h = len(a)
    off = (C.sum((-2, -1)) - h) / (h * (h - 1)) if h > 1 else C.sum((-2, -1))
    return float(off.max())


def ccgp(X, conditions, dichotomy, seed: int = 0) -> float:
    """Cross-condition generalisation performance (Bernardi et al. 2020) of samples X (n, p) whose condition
    index is ``conditions`` (n,), for a dichotomy over conditions (c,) (two equal sides): a linear classifier
    trained on all but one condition of each side is tested on the two held out; mean accuracy over every
    such choice."""
    from sklearn.svm import LinearSVC

    X = _tensor("X", X, 2, "ccgp").cpu().numpy()
    cond = np.asarray(conditions)
    dich = np.asarray(dichotomy) > np.asarray(dichotomy, dtype=float).mean()
    a, b = np.flatnonzero(dich), np.flatnonzero(~dich)
    y = dich[cond]
    accs = []
    for i, j in itertools.product(a, b):
        test = (cond == i) | (cond == j)
        clf = LinearSVC(C=1.0, max_iter=5000, random_state=seed).fit(X[~test], y[~test])
        accs.append(clf.score(X[test], y[test]))
    return float(np.mean(accs))


# ------------------------------------------------------------------------------------------- topology
def diameter(X) -> float:
    """The largest distance between two points of a cloud X (n, p)."""
    X = _tensor("X", X, 2, "diameter")
    return float(torch.cdist(X, X).max())


def persistence(X, maxdim: int = 1) -> list[np.ndarray]:
    """Persistence diagrams of the Vietoris–Rips filtration of a point cloud X (n, p), by ripser: one
    (bars, 2) array of (birth, death) per dimension 0..maxdim."""
    from ripser import ripser

    X = _tensor("X", X, 2, "persistence")
    return ripser(X.cpu().numpy(), maxdim=check_value("maxdim", maxdim, (int, 0, 2), "persistence"))["dgms"]


def h1_bars(X, frac: float = 0.1) -> tuple[int, float]:
    """The number of 1-cycles of X (n, p) that persist at least ``frac`` × its diameter, and the longest
    H1 persistence as a fraction of the diameter (0 when there is none)."""
    frac = check_value("frac", frac, (float, 0.0, 1.0), "h1_bars")
    h1 = persistence(X, 1)[1]
    life = (h1[:, 1] - h1[:, 0]) / diameter(X) if len(h1) else np.zeros(0)
    return int((life >= frac).sum()), float(life.max()) if len(life) else 0.0
