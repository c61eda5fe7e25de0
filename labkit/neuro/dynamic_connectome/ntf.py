"""Non-negative tensor factorization (non-negative CP / PARAFAC) by batched HALS, in PyTorch.

A three-way non-negative tensor ``X`` (I × J × K) is approximated by R rank-one components
(Dyballa et al. 2024, Sec. 3.2; Kolda & Bader 2009, eq. 3.1)::

    X ≈ [[A, B, C]] = Σ_r  a_r ∘ b_r ∘ c_r,        A ≥ 0 (I×R), B ≥ 0 (J×R), C ≥ 0 (K×R),

minimising ½‖X − [[A, B, C]]‖²_F. Each factor is updated in turn by hierarchical alternating least
squares (HALS; Cichocki & Phan 2009, eq. 17; Gillis & Glineur 2012, "accelerated HALS"): with the
MTTKRP ``M = X_(1) (C ⊙ B)`` and the Gram ``G = (BᵀB) ∗ (CᵀC)`` fixed, column r of A is the exact
non-negative minimiser with the other columns held::

    a_r ← max(0, a_r + (M[:, r] − A G[:, r]) / G[r, r]),

swept ``inner_iter`` times over r = 1..R because M, the expensive part, is reused for free.

Speed comes from two things that do not change the algorithm:

* the MTTKRPs of A and B share one product ``Y = X_(3) C`` (I·J × R), and the MTTKRP of C is
  ``(AᵀX_(1))`` contracted with B, so one outer iteration costs two dense matrix products
  (≈ 4·I·J·K·R flops) instead of three;
* several random restarts run as one batch (the restarts' factors are stacked along the columns of
  a single matrix product), which is how the rank scan of the notebook fits all restarts at once;
* a large tensor is first compressed to a small Tucker core (:func:`~.tucker.tucker_compress`), HALS runs on
  the core until it converges, and only the last few iterations pass over the tensor itself
  (``compress``, see :func:`ntf_hals`).

The relative reconstruction error ``‖X − X̂‖ / ‖X‖`` is computed exactly at no extra cost from
``‖X‖² − 2⟨C, M_C⟩ + Σ (AᵀA ∗ BᵀB ∗ CᵀC)`` after each outer iteration, kept as a history, and the
fit stops when its relative decrease falls below ``tol`` (per restart; converged restarts are frozen).
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_args
from labkit.core.threads import threads as thread_limit
from labkit.neuro.dynamic_connectome.tucker import tucker_compress

_WINDOW = 5  # iterations over which the convergence test measures improvement
_CORE_TOL = 1e-4  # the iterations on a Tucker core stop at this tolerance (or the fit's own, if looser)
_AUTO_COMPRESS_SIZE = 2 ** 19  # compress="auto" compresses tensors of at least this many entries
_COUNT = (int, 1, None)

__all__ = ["NTFResult", "ntf_hals", "max_cp_rank", "random_init"]


@dataclass
class NTFResult:
    """What :func:`ntf_hals` returns; every array has a leading restart dimension S."""

    factors: list[torch.Tensor]   # three tensors (S, I_n, R), columns scaled to unit norm
    weights: torch.Tensor         # (S, R) component weights λ_r (products of the column norms)
    errors: torch.Tensor          # (S, n_iter) relative error after each outer iteration (NaN after stopping)
    n_iter: torch.Tensor          # (S,) iterations each restart ran
    converged: torch.Tensor       # (S,) bool: stopped by the tolerance rather than max_iter
    compressed_iter: torch.Tensor  # (S,) iterations on the Tucker-compressed tensor before those (0: none)
    compressed_errors: torch.Tensor  # (S, compressed_iter.max()) X's error estimated on the core (NaN after stopping)
    seconds: torch.Tensor         # (n_iter.max(),) seconds from the call to the end of each iteration on X


def max_cp_rank(shape) -> int:
    """An upper bound on the CP rank of any tensor of this shape: min(I·J, I·K, J·K)."""
    i, j, k = shape
    return int(min(i * j, i * k, j * k))


def _check_tensor(X, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """X as a tensor of ``dtype`` on ``device``, after checking it in one pass (min and max)."""
    if not isinstance(X, (np.ndarray, torch.Tensor)):
        raise ValueError(f"X must be a NumPy array or torch tensor, got {type(X).__name__}.")
    if X.ndim != 3:
        raise ValueError(f"X must be a three-way tensor (I, J, K), got {X.ndim} dimensions.")
    if min(X.shape) < 1:
        raise ValueError(f"X must have no empty dimension, got shape {tuple(X.shape)}.")
    Xt = torch.as_tensor(X).to(device=device, dtype=dtype)
    lo, hi = torch.aminmax(Xt)                  # NaN propagates into both; inf shows in one
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("X must be finite: it contains NaN or infinite entries.")
    if lo < 0:
        raise ValueError(f"X must be non-negative, got a minimum of {lo:.3g}.")
    if hi == 0.0:
        raise ValueError("X must not be all zeros: there is nothing to factorize.")
    return Xt


def _check_rank(rank, shape) -> int:
    bound = max_cp_rank(shape)
    if rank > bound:
        raise ValueError(f"rank must be at most min(I·J, I·K, J·K) = {bound} for a tensor of shape "
                         f"{tuple(shape)}, got {rank}: the data cannot support more components.")
    return int(rank)


def _hals_sweeps(F, M, G, inner_iter, use_numpy=None):
    """Return F (S, n, R) after `inner_iter` HALS sweeps over its columns (Cichocki & Phan 2009, eq. 17).
    The column updates run in NumPy on the CPU (``use_numpy=None``: when F is there) and in torch
    elsewhere; both give the same numbers to rounding (tests/test_dynamic_connectome.py)."""
    R = F.shape[-1]
    tiny = torch.finfo(F.dtype).tiny * 1e6
    # Scale column r of G and of M by 1/G[r, r] once and subtract the identity, so that each column
    # update, a_r <- max(0, a_r + M[:, r]/G[r, r] - A G[:, r]/G[r, r]), is two operations:
    # a_r <- max(0, M[:, r]/G[r, r] - A (G[:, r]/G[r, r] - e_r)).
    inv = 1.0 / torch.diagonal(G, dim1=-2, dim2=-1).clamp_min(tiny)       # (S, R)
    Gs = G * inv[:, None, :]
    torch.diagonal(Gs, dim1=-2, dim2=-1).sub_(1.0)
    Gv = Gs.transpose(1, 2).unsqueeze(2).unbind(1)                       # R views (S, 1, R): column r
    Mv = (M * inv[:, None, :]).permute(0, 2, 1).unsqueeze(2).unbind(1)   # R views (S, 1, n)
    Ft = F.permute(0, 2, 1).clone(memory_format=torch.contiguous_format)  # (S, R, n), a copy: F may be shared
    if use_numpy is None:
        use_numpy = Ft.device.type == "cpu" and Ft.dtype in (torch.float32, torch.float64)
    if use_numpy:
        _numpy_sweeps(Ft.numpy(), [m.numpy() for m in Mv], [g.numpy() for g in Gv], inner_iter)
        return Ft.permute(0, 2, 1)
    Fv = Ft.unsqueeze(2).unbind(1)                                       # R views (S, 1, n) into Ft
    for _ in range(inner_iter):
        for r in range(R):
            torch.clamp(torch.baddbmm(Mv[r], Gv[r], Ft, alpha=-1.0), min=0.0, out=Fv[r])
    return Ft.permute(0, 2, 1)


def _numpy_sweeps(Ft, Mv, Gv, inner_iter):
    """The column updates of :func:`_hals_sweeps` on NumPy views of the same CPU memory, in place: a
    NumPy call on these few hundred numbers costs about a third of a torch call, and a sweep is
    ``3·R·inner_iter`` of them (measured: the iterations on a Tucker core run 1.3x faster)."""
    tmp = np.empty_like(Mv[0])
    for _ in range(inner_iter):
        for r in range(len(Mv)):
            np.matmul(Gv[r], Ft, out=tmp)
            np.subtract(Mv[r], tmp, out=tmp)
            np.maximum(tmp, 0.0, out=Ft[:, r:r + 1])


def random_init(shape, rank, n_restarts, *, seed=0, dtype=torch.float32, device="cpu", norm_x=None):
    """Uniform[0, 1) factors for each restart, scaled so the model's norm matches ‖X‖ when given."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    fs = [torch.rand(n_restarts, n, rank, generator=gen, dtype=torch.float64) for n in shape]
    if norm_x is not None:
        grams = [f.transpose(1, 2) @ f for f in fs]
        model_norm = torch.sqrt((grams[0] * grams[1] * grams[2]).sum(dim=(1, 2)))  # (S,)
        scale = (norm_x / model_norm) ** (1.0 / 3.0)
        fs = [f * scale[:, None, None] for f in fs]
    return [f.to(dtype=dtype, device=device) for f in fs]


def ntf_hals(X, rank: int, *, n_restarts: int = 1, max_iter: int = 500, tol: float = 1e-6,
             inner_iter: int = 3, extrapolate: bool = True, seed: int = 0, init=None, device="cpu",
             dtype=torch.float32, progress=None, threads: int | None = 1, compress="auto") -> NTFResult:
    """Fit ``n_restarts`` non-negative CP models of ``rank`` to ``X`` (I, J, K) as one batch.

    ``tol``: a restart stops when its best relative error improved by less than ``tol`` (relative)
    per iteration over the last ``_WINDOW`` iterations. ``inner_iter``: HALS sweeps per factor
    update. ``extrapolate``: after each block update, move the block along its last step,
    ``Â ← max(0, A_new + β (A_new − A_old))``, and use the extrapolated blocks for the other updates;
    β grows while the error falls and shrinks (with a restart from the plain iterate) when it rises
    (HER: Ang, Cohen, Hien & Gillis 2021, "Accelerating block coordinate descent for nonnegative
    tensor factorization", Alg. 2, with η = 1.5, γ = 1.05, γ̄ = 1.01, β₀ = 0.5). It changes the path,
    not the model: ``extrapolate=False`` is plain HALS. The returned model of each restart is the
    best one evaluated, so its error history (the best error so far) never increases.
    ``init``: optional three arrays (I,R), (J,R), (K,R) or (S,I,R), ...; otherwise uniform random,
    scaled to the data's norm. ``progress``: optional callable wrapping the iteration loop (it wraps
    both loops when the tensor is compressed: one bar for the core, one for X). ``converged`` says
    whether the iterations on X stopped by the tolerance.
    ``threads``: CPU threads for the fit (:func:`labkit.core.threads.threads`; ``None`` keeps torch's setting).
    HALS issues many tiny per-column operations, and on a shared CPU each multi-threaded one waits for all
    its threads to be scheduled: one thread is several times faster for the tensor sizes of the notebook
    (measured: 0.7 s against 13 s for a rank scan).

    ``compress``: fit a Tucker-compressed copy of X first (Cohen, Farias & Comon 2015, "Fast
    decomposition of large nonnegative tensors"). :func:`tucker_compress` reduces X to a core of
    ranks ``L_n`` (``True``/``"auto"``: ``min(I_n, R + 10)``; or one or three integers ≥ R); HALS runs
    on it, with each MTTKRP computed through the core, ``X_(1)(C ⊙ B) ≈ U₁ G_(1) (U₃ᵀC ⊙ U₂ᵀB)``,
    and the factors kept non-negative in the original space. Its error is measured against ‖X‖², as
    an estimate of X's own, ``‖X̃ − X̂‖² + ‖X‖² − ‖G‖²`` with ``X̃ = G ×₁ U₁ ×₂ U₂ ×₃ U₃`` (exact when
    the model lies in the bases' span; on non-negative data it usually errs high), and it stops when that
    estimate gains less than ``max(tol, 1e-4)`` per iteration (at most
    ``max_iter``): refining past the accuracy of the compression would be wasted. The fit then
    continues on X itself from that point, with the usual test and at most ``max_iter`` iterations, so
    the result is a HALS solution of X, not of the core; only its starting point changed. The
    iterations on the core cost almost nothing, so most of the path is paid cheaply and only the last
    few iterations pass over X. ``"auto"`` (the default) compresses when X has at least 2¹⁹ entries
    and the core is at most an eighth of X (below that size an iteration on X costs little more than
    one on the core); ``None`` never does. ``errors``, ``n_iter`` and ``seconds`` count the
    iterations on X; ``compressed_iter`` and ``compressed_errors`` those on the core.
    """
    with thread_limit(threads, device=device) if threads is not None else contextlib.nullcontext():
        return _ntf_hals(X, rank, n_restarts=n_restarts, max_iter=max_iter, tol=tol, inner_iter=inner_iter,
                         extrapolate=extrapolate, seed=seed, init=init, device=device, dtype=dtype, progress=progress,
                         compress=compress)


def _compression_ranks(compress, shape, rank):
    """The Tucker ranks to compress to, or None for no compression (see :func:`ntf_hals`)."""
    message = (f"compress must be None, 'auto', True, or one or three integers of at least the rank ({rank}), "
               f"got {compress!r}.")
    if compress is None or compress is False or compress is np.False_:
        return None
    default = [min(n, rank + 10) for n in shape]
    if isinstance(compress, str):
        if compress != "auto":
            raise ValueError(message)
        small = math.prod(default) * 8 <= math.prod(shape)
        return default if math.prod(shape) >= _AUTO_COMPRESS_SIZE and small else None
    if compress is True or compress is np.True_:
        return default
    if isinstance(compress, (int, np.integer)):
        values = [compress] * 3
    elif isinstance(compress, (tuple, list, np.ndarray)) and np.ndim(compress) == 1:
        values = list(compress)
    else:
        raise ValueError(message)
    if len(values) != 3 or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < rank
                               for v in values):
        raise ValueError(message)
    return [min(int(v), n) for v, n in zip(values, shape)]


def squared_norm(T) -> float:
    """‖T‖²_F in float64, from float64 sums of the rows' norms (each row reduced in T's own dtype: as
    accurate as a float64 pass for float32 data, at the speed of a float32 one)."""
    rows = torch.linalg.vector_norm(T.reshape(T.shape[0], -1), dim=1).double()
    return float((rows * rows).sum())


class _HALSData:
    """What the HALS loop reads of the tensor: its mode-3 and mode-1 unfoldings and its squared norm,
    for X itself or for a Tucker core with the bases that map factors into and out of it."""

    def __init__(self, T, bases=(None, None, None), norm2=None):
        L1, L2, L3 = T.shape
        self.shape = (L1, L2, L3)
        self.X_k_ij = T.permute(2, 0, 1).reshape(L3, L1 * L2).contiguous()   # mode-3 unfolding
        self.X_i_jk = T.reshape(L1, L2 * L3)                                 # mode-1 unfolding
        self.norm2 = squared_norm(T) if norm2 is None else norm2
        self.bases = list(bases)

    def down(self, n, F):
        """Factor F (S, I_n, R) in the core's coordinates, Uₙᵀ F (S, L_n, R)."""
        return F if self.bases[n] is None else self.bases[n].T @ F

    def up(self, n, M):
        """An MTTKRP of the core (S, L_n, R) back in the tensor's coordinates, Uₙ M (S, I_n, R)."""
        return M if self.bases[n] is None else self.bases[n] @ M


def _ntf_hals(X, rank, *, n_restarts, max_iter, tol, inner_iter, extrapolate, seed, init, device, dtype, progress,
              compress):
    start = time.perf_counter()
    device = resolve_device(device)
    check_args("ntf_hals", {"rank": rank, "n_restarts": n_restarts, "max_iter": max_iter, "inner_iter": inner_iter,
                            "tol": tol},
               {"rank": _COUNT, "n_restarts": _COUNT, "max_iter": _COUNT, "inner_iter": _COUNT,
                "tol": (float, 0, None)})
    X = _check_tensor(X, dtype, device).contiguous()
    rank = _check_rank(rank, X.shape)
    ranks = _compression_ranks(compress, X.shape, rank)
    if ranks is not None and all(L >= n for L, n in zip(ranks, X.shape)):
        ranks = None                               # nothing to compress in any mode
    I, J, K = X.shape
    S, R = int(n_restarts), rank
    full = _HALSData(X)
    norm_x = math.sqrt(full.norm2)

    if init is not None and len(init) == 3 and getattr(init[0], "ndim", 2) == 3:
        S = int(init[0].shape[0])                  # a batch of starting points sets the restarts
    if init is None:
        factors = random_init((I, J, K), R, S, seed=seed, dtype=dtype, device=device, norm_x=norm_x)
    else:
        if len(init) != 3:
            raise ValueError(f"init must be a list of three factor matrices, got {len(init)}.")
        factors = []
        for n, f in zip((I, J, K), init):
            f = torch.as_tensor(np.asarray(f) if not isinstance(f, torch.Tensor) else f).to(device=device, dtype=dtype)
            if f.ndim == 2:
                f = f.unsqueeze(0).expand(S, -1, -1)
            if tuple(f.shape) != (S, n, R) or bool((f < 0).any()):
                raise ValueError(f"init factors must be non-negative with shapes (S, I_n, {R}) or (I_n, {R}), "
                                 f"got {tuple(f.shape)} for a mode of size {n}.")
            factors.append(f.clone().contiguous())

    compressed_iter = torch.zeros(S, dtype=torch.long)
    compressed_errors = torch.zeros(S, 0, dtype=torch.float64)
    if ranks is not None:
        # Errors on the core are measured against ‖X‖², so that they estimate X's own error:
        # ‖X − X̂‖² ≈ ‖X̃ − X̂‖² + (‖X‖² − ‖G‖²), X̃ the core mapped back through the bases; exact when
        # the model lies in the bases' span.
        core, bases = tucker_compress(X, ranks, seed=seed)
        factors, compressed_errors, compressed_iter, _, _ = _hals_loop(
            _HALSData(core, bases, norm2=full.norm2), factors, norm_x, max_iter=max_iter, tol=max(tol, _CORE_TOL),
            inner_iter=inner_iter, extrapolate=extrapolate, progress=progress)
    (A, B, C), errors, n_iter, converged, stamps = _hals_loop(
        full, factors, norm_x, max_iter=max_iter, tol=tol, inner_iter=inner_iter, extrapolate=extrapolate,
        progress=progress)
    # Final form: unit-norm columns in every mode, weights λ_r, components sorted by weight.
    norms = [F.norm(dim=1) for F in (A, B, C)]                    # (S, R) each
    weights = norms[0] * norms[1] * norms[2]
    facs = [F / torch.where(n > 0, n, torch.ones_like(n))[:, None, :] for F, n in zip((A, B, C), norms)]
    order = torch.argsort(weights, dim=1, descending=True)
    weights = torch.gather(weights, 1, order)
    facs = [torch.gather(F, 2, order[:, None, :].expand_as(F)) for F in facs]
    if not all(bool(torch.isfinite(F).all()) for F in facs):  # a guard, never expected
        raise RuntimeError("NTF produced a non-finite factor; please report this input.")
    return NTFResult(factors=facs, weights=weights, errors=errors, n_iter=n_iter, converged=converged,
                     compressed_iter=compressed_iter, compressed_errors=compressed_errors,
                     seconds=torch.tensor(stamps, dtype=torch.float64) - start)


def _select(mask, new, old):
    """Per restart (mask (S,)), the tensors of ``new`` where the mask holds and those of ``old``
    elsewhere; no copy when the mask is all true or all false (the usual case)."""
    if bool(mask.all()):
        return list(new)
    if not bool(mask.any()):
        return list(old)
    return [torch.where(mask[:, None, None], n, o) for n, o in zip(new, old)]


def _hals_loop(data, factors, norm_x, *, max_iter, tol, inner_iter, extrapolate, progress):
    """Run (extrapolated) HALS on ``data`` from ``factors`` until each restart converges or ``max_iter``.

    Returns the best factors of each restart, the error history (S, n) relative to ``norm_x``, the
    iterations and convergence flag of each restart, and the clock (``time.perf_counter``) at the
    end of every iteration.
    """
    A, B, C = factors
    S, _, R = A.shape
    device, dtype = A.device, A.dtype
    L1, L2, L3 = data.shape
    down, up = data.down, data.up
    gram = lambda F: torch.bmm(F.transpose(1, 2), F)  # noqa: E731
    cols = lambda F: F.permute(0, 2, 1).reshape(S * R, F.shape[1])  # (S, n, R) -> (S·R, n)  # noqa: E731
    back = lambda M, n: M.reshape(S, R, n).permute(0, 2, 1)  # (S·R, n) -> (S, n, R)  # noqa: E731

    errors = torch.full((S, max_iter), float("nan"), dtype=torch.float64)
    stamps = []
    active = torch.ones(S, dtype=torch.bool, device=device)
    n_iter = torch.zeros(S, dtype=torch.long)
    converged = torch.zeros(S, dtype=torch.bool)
    best_err = torch.full((S,), float("inf"), dtype=torch.float64, device=device)
    last_err = best_err.clone()
    best = [A, B, C]
    Ah, Bh, Ch = A, B, C                       # the (extrapolated) points the updates pair with
    beta = torch.full((S,), 0.5 if extrapolate else 0.0, dtype=dtype, device=device)
    beta_bar = torch.ones(S, dtype=dtype, device=device)
    beta_prev = beta.clone()
    eta, gamma, gamma_bar = 1.5, 1.05, 1.01

    steps = range(max_iter) if progress is None else progress(range(max_iter))
    for it in steps:
        b3 = beta[:, None, None]
        # Shared MTTKRP for modes 0 and 1: Y[s, r] = Σ_k Ĉ[s, k, r] X[:, :, k] -> (S·R, I, J), one product.
        Y = (cols(down(2, Ch)) @ data.X_k_ij).reshape(S * R, L1, L2)
        gC = gram(Ch)
        M_A = up(0, back(torch.bmm(Y, cols(down(1, Bh)).unsqueeze(-1)).squeeze(-1), L1))
        A_new = _hals_sweeps(Ah, M_A, gram(Bh) * gC, inner_iter)
        Ah_new = (A_new + b3 * (A_new - A)).clamp_min(0.0) if extrapolate else A_new
        Ad = down(0, Ah_new)
        M_B = up(1, back(torch.bmm(Y.transpose(1, 2), cols(Ad).unsqueeze(-1)).squeeze(-1), L2))
        gA = gram(Ah_new)
        B_new = _hals_sweeps(Bh, M_B, gA * gC, inner_iter)
        Bh_new = (B_new + b3 * (B_new - B)).clamp_min(0.0) if extrapolate else B_new
        # MTTKRP for mode 2: Z[s, r] = Σ_i Â[s, i, r] X[i, :, :] -> (S·R, J, K), contracted with B̂ over j.
        Z = (cols(Ad) @ data.X_i_jk).reshape(S * R, L2, L3)
        M_C = up(2, back(torch.bmm(Z.transpose(1, 2), cols(down(1, Bh_new)).unsqueeze(-1)).squeeze(-1), L3))
        gB = gram(Bh_new)
        C_new = _hals_sweeps(Ch, M_C, gA * gB, inner_iter)
        # Exact error of the model (Â, B̂, C_new) from quantities at hand:
        # ‖X − X̂‖² = ‖X‖² − 2⟨C, M_C⟩ + Σ (ÂᵀÂ ∗ B̂ᵀB̂ ∗ CᵀC).
        inner = (C_new * M_C).sum(dim=(1, 2)).double()
        model2 = (gA * gB * gram(C_new)).sum(dim=(1, 2)).double()
        err = torch.sqrt((data.norm2 - 2 * inner + model2).clamp_min(0.0)) / norm_x
        err = torch.nan_to_num(err, nan=float("inf"))
        improved = active & (err < best_err)
        best = _select(improved, (Ah_new, Bh_new, C_new), best)
        best_err = torch.where(improved, err, best_err)
        if extrapolate:
            Ch_new = (C_new + b3 * (C_new - C)).clamp_min(0.0)
            ok = err <= last_err                 # accept the extrapolation, or restart from the plain point
            grow = torch.minimum(beta_bar, gamma * beta)
            new_beta = torch.where(ok.to(beta.device), grow, beta / eta)
            beta_bar = torch.where(ok.to(beta.device), (gamma_bar * beta_bar).clamp_max(1.0), beta_prev)
            beta_prev, beta = beta, torch.where(active, new_beta, beta)
            Ah_n, Bh_n, Ch_n = _select(ok, (Ah_new, Bh_new, Ch_new), (A_new, B_new, C_new))
        else:
            Ah_n, Bh_n, Ch_n = A_new, B_new, C_new
        last_err = torch.where(active, err, last_err)
        # converged restarts stay frozen
        A, B, C, Ah, Bh, Ch = _select(active, (A_new, B_new, C_new, Ah_n, Bh_n, Ch_n), (A, B, C, Ah, Bh, Ch))
        act = active.cpu()
        if bool(act.all()):
            errors[:, it] = best_err.cpu()
            n_iter[:] = it + 1
        else:
            errors[act, it] = best_err.cpu()[act]
            n_iter[act] = it + 1
        stamps.append(time.perf_counter())
        if it >= _WINDOW:
            before = errors[:, it - _WINDOW]
            done = act & ((before - errors[:, it]) <= _WINDOW * tol * before)
            converged |= done
            active = active & ~done.to(device)
        if not bool(active.any()):
            break
    return best, errors[:, : int(n_iter.max())], n_iter, converged, stamps
