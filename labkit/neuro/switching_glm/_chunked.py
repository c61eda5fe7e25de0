"""The chunked forward–backward engine: exact, batched over trials, and fast without a compiler.

:mod:`.reference` holds the textbook recursion this engine must reproduce (the tests compare them).
Run bin by bin it is T dependent steps, each far too small to pay for a Python-level call; as a product of
matrices ``M_t = A diag(e_t)`` it is associative and can run as a parallel scan (Hassan, Särkkä &
García-Fernández 2021), but on a CPU a scan spends its time in batched K x K products.
:func:`forward_backward_chunks` does both: time is cut into C chunks of L bins, the recursion runs bin by
bin *inside* every chunk at once (L vectorised steps), and the message each chunk starts from comes from the
chunks' transfer matrices (one pass over the bins, :func:`_chunk_products`) by a scan over the C chunks that
multiplies matrices only on its way up and vectors on its way down (:func:`_vector_prefix`). The backward
messages, written as ``u_t = beta_t * e_t``, obey the same recursion on the reversed sequence with ``A^T``;
the two directions run as one stacked array, and their transfer matrices come from the same pass. Arrays
are state-major, (K, ...), so that every step is a few operations on long contiguous rows.

The recursion is exact: the messages are rescaled (in float64) only where a bound says they could leave
the floating-point range, the scales cancel in the posteriors, and ``log p(x)`` is the sum of the log
scales plus each bin's ``max_k log e_t(k)``. On the CPU the recursion runs in NumPy (a NumPy call costs a
fraction of a torch call, and the recursion is a few hundred small calls); on a GPU it runs on the same
torch tensors as the model.

:func:`prefix_scan` is the generic parallel scan that :func:`~.hmm.viterbi` runs in the (max, +)
semiring (:func:`_max_plus`), and then on its back pointers (:func:`_compose`, pointer jumping).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

Tensor = torch.Tensor


def prefix_scan(m: Tensor, combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Inclusive prefix ``out[:, t] = m[:, 0] * m[:, 1] * ... * m[:, t]`` along dim 1 for an associative ``*``.

    Odd–even recursion (Blelloch 1990): combine neighbouring pairs, scan the half-length sequence,
    then fill in the even positions — O(T) work in 2 log2(T) batched steps.
    """
    T = m.shape[1]
    if T == 1:
        return m
    n = T // 2
    pairs = combine(m[:, 0:2 * n:2], m[:, 1:2 * n:2])
    pp = prefix_scan(pairs, combine)
    out = torch.empty_like(m)
    out[:, 0] = m[:, 0]
    out[:, 1::2] = pp
    if T > 2:
        out[:, 2::2] = combine(pp[:, :(T - 1) // 2], m[:, 2::2])
    return out


def _sum_product(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product rescaled to a largest entry of 1 (the scale never matters downstream)."""
    c = a @ b
    return c / c.amax(dim=(-2, -1), keepdim=True)


def _max_plus(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product in the (max, +) semiring, shifted to a largest entry of 0."""
    c = (a.unsqueeze(-1) + b.unsqueeze(-3)).amax(dim=-2)
    return c - c.amax(dim=(-2, -1), keepdim=True)


def _compose(first: Tensor, then: Tensor) -> Tensor:
    """Maps stored as index tables, applied in sequence: ``out[j] = then[first[j]]``."""
    return torch.gather(then, -1, first)


def scan_dtype(device: torch.device) -> torch.dtype:
    """float64 for the recursions, except on Apple's MPS, which has none. float32 is safe there with the
    models' floors on transition probabilities (:func:`update_transitions`; PoissonHMM's 1e-10); with
    transitions below ~1e-23 and emissions that single out one state per bin it can lose a state."""
    return torch.float32 if device.type == "mps" else torch.float64


# The chunked recursion runs on NumPy arrays on the CPU (a NumPy call costs ~0.3 us, a torch call ~3 us,
# and the recursion is a few hundred small calls) and on torch tensors on a GPU; these helpers are the
# only places where the two differ. Arrays are state-major, (K, ...): a step over the K states is then a
# handful of operations on long contiguous rows, where a trailing axis of K entries would give NumPy an
# inner loop of 4-8 entries.

def _empty(shape, like):
    return np.empty(shape, like.dtype) if isinstance(like, np.ndarray) else torch.empty(shape, dtype=like.dtype,
                                                                                       device=like.device)


def _ones(n, like):
    return np.ones(n, like.dtype) if isinstance(like, np.ndarray) else torch.ones(n, dtype=like.dtype,
                                                                                 device=like.device)


def _matmul_into(a, b, out):
    """``out[...] = a @ b``, written in place (``out`` may be a strided view)."""
    if isinstance(out, np.ndarray):
        return np.matmul(a, b, out=out)
    return out.copy_(a @ b)


def _mul_into(a, b, out):
    return np.multiply(a, b, out=out) if isinstance(out, np.ndarray) else torch.mul(a, b, out=out)


def _permute(a, axes):
    return a.transpose(axes) if isinstance(a, np.ndarray) else a.permute(axes)


def _flip(a, dim: int):
    """``a`` reversed along ``dim``: a view in NumPy, a copy in torch (which has no negative strides)."""
    if isinstance(a, np.ndarray):
        return a[(slice(None),) * dim + (slice(None, None, -1),)]
    return torch.flip(a, dims=(dim,))


def _sum_first(a):
    """Sum over the leading (state) axis: pairwise additions of whole rows for up to 4 states, one
    matrix-vector product beyond (``a.sum(0)`` over so short an axis is several times slower in NumPy)."""
    K = a.shape[0]
    if K > 4 or K == 1:
        return (_ones(K, a) @ a.reshape(K, -1)).reshape(a.shape[1:])
    s = a[0] + a[1]
    for k in range(2, K):
        s += a[k]
    return s


def _sum_last2(m):
    """Sum of each K x K matrix of a stack (..., K, K), as a matrix-vector product."""
    K = m.shape[-1]
    return m.reshape(m.shape[:-2] + (K * K,)) @ _ones(K * K, m)


def _max_first(a):
    """Largest entry over the leading (state) axis, by pairwise maxima of whole rows."""
    if not isinstance(a, np.ndarray):
        return a.amax(0)
    m = np.array(a[0])
    for k in range(1, a.shape[0]):
        np.maximum(m, a[k], out=m)
    return m


def _eye(K, like):
    return np.eye(K, dtype=like.dtype) if isinstance(like, np.ndarray) else torch.eye(K, dtype=like.dtype,
                                                                                     device=like.device)


def _exp(a):
    return np.exp(a) if isinstance(a, np.ndarray) else torch.exp(a)


def _log(a):
    return np.log(a) if isinstance(a, np.ndarray) else torch.log(a)


def chunk_length(n_time: int) -> int:
    """The chunk length of the recursion: about sqrt(T)/4, between 4 and 64 bins."""
    return int(min(64, max(4, round(math.sqrt(n_time) / 4))))


def to_chunks(a, length: int, fill: float = 0.0, *, states_first: bool = False):
    """(trials, time, ...) -> (length, trials, chunks, ...): bin ``c * length + l`` of each trial at ``[l, :, c]``,
    the last chunk padded with ``fill``. With ``states_first`` a (trials, time, states) array becomes
    (states, length, trials, chunks), the layout of :func:`forward_backward_chunks`. NumPy or torch in, same
    out (a copy)."""
    B, T = a.shape[:2]
    C = -(-T // length)
    rest = tuple(a.shape[2:])
    if C * length > T:
        if isinstance(a, np.ndarray):
            a = np.concatenate([a, np.full((B, C * length - T) + rest, fill, a.dtype)], axis=1)
        else:
            a = torch.cat([a, torch.full((B, C * length - T) + rest, fill, dtype=a.dtype, device=a.device)], dim=1)
    a = a.reshape((B, C, length) + rest)
    perm = (3, 2, 0, 1) if states_first else (2, 0, 1) + tuple(range(3, 3 + len(rest)))
    return np.ascontiguousarray(a.transpose(perm)) if isinstance(a, np.ndarray) else a.permute(perm).contiguous()


def from_chunks(a, n_time: int, *, states_first: bool = False):
    """The inverse of :func:`to_chunks`: (length, trials, chunks, ...) -> (trials, time, ...), or with
    ``states_first`` (states, length, trials, chunks) -> (trials, time, states)."""
    if states_first:
        K, L, B, C = a.shape
        perm, rest = (2, 3, 1, 0), (K,)
    else:
        L, B, C = a.shape[:3]
        rest = tuple(a.shape[3:])
        perm = (1, 2, 0) + tuple(range(3, 3 + len(rest)))
    return _permute(a, perm).reshape((B, C * L) + rest)[:, :n_time]


def _chunk_products(e, a, every: int):
    """``F_c = diag(e_{cL}) A diag(e_{cL+1}) ... A diag(e_{cL+L-1})`` for every chunk, from the factors
    ``e`` (K, L, n) of n = trials x chunks chunks. Returned transposed, ``P[j, i, c] = F_c[i, j]``, each
    rescaled to entries summing to 1: in that layout one step, ``F <- F A diag(e_l)``, is a single (K x K)
    by (K x K n) matrix product and a row-wise multiplication."""
    K, L, n = e.shape
    if L == 1:
        P = _eye(K, e)[:, :, None] * e[None, :, 0]
    else:
        P = (a.T[:, :, None] * e[None, :, 0]) * e[:, 1, None, :]
        if every == 1:
            P /= _sum_first(P.reshape(K * K, n))
    for l in range(2, L):
        P = (a.T @ P.reshape(K, K * n)).reshape(K, K, n)
        P *= e[:, l, None, :]
        if l % every == 0:
            P /= _sum_first(P.reshape(K * K, n))
    P /= _sum_first(P.reshape(K * K, n))
    return P


def _chunk_entries(P, a, pi, B: int, C: int, backward: bool):
    """The normalised message each chunk starts from, (D, K, B, C): forward ``alpha`` at the last bin of the
    chunk before, backward ``u`` at the first bin of the chunk after (entries of the first chunk forward and
    of the last backward are left unset: those chunks start from ``pi`` and from 1).

    Forward ``alpha_end(0) = pi F_0`` and ``alpha_end(c) = alpha_end(c-1) A F_c``; backward
    ``u_first(C-1) = (F_{C-1} 1)^T`` and ``u_first(c) = u_first(c+1) (F_c A)^T``. Grouped so, every transfer
    matrix mixes its rows through A, and its rows differ by at most a factor min(A); grouped the other way,
    a row would scale with one bin's emission, and the scan's products could lose rows a message needs
    (below min(A) ~ 1e-60 even the factor is too much: see :func:`forward_backward_chunks`)."""
    K = P.shape[0]
    D = 2 if backward else 1
    P4 = P.reshape(K, K, B, C)                                          # P4[j, i, b, c] = F_c[i, j]
    out = _empty((D, K, B, C), P)
    v0 = _empty((D, B, K), P)
    v0[0] = (pi[:, None, :] @ _permute(P4[..., 0], (2, 1, 0)))[:, 0]      # pi F_0
    if backward:
        v0[1] = _sum_first(P4[..., C - 1]).T                             # F_{C-1} 1
    v0 /= (v0 @ _ones(K, v0))[..., None]
    out[0, :, :, 1] = v0[0].T
    if backward:
        out[1, :, :, C - 2] = v0[1].T
    if C > 2:
        M = _empty((D, B, C - 2, K, K), P)
        AF = (a @ P).reshape(K, K, B, C)                                 # AF[j, i] = (A F)[i, j]
        M[0] = _permute(AF[..., 1:C - 1], (2, 3, 1, 0))
        if backward:
            FA = (a.T @ P.reshape(K, -1)).reshape(K, K, B, C)           # FA[i, j] = (F A)^T[i, j]
            M[1] = _permute(_flip(FA[..., 1:C - 1], 3), (2, 3, 0, 1))
        M /= _sum_last2(M)[..., None, None]
        s = _vector_prefix(v0.reshape(D * B, K), M.reshape(D * B, C - 2, K, K)).reshape(D, B, C - 2, K)
        out[0, :, :, 2:] = _permute(s[0], (2, 0, 1))
        if backward:
            out[1, :, :, :C - 2] = _permute(_flip(s[1], 1), (2, 0, 1))
    return out


def _vector_prefix(v0, M, base: int = 6):
    """Normalised ``s_c ∝ v0 M_0 M_1 ... M_c`` for every c: v0 (r, K), M (r, m, K, K) -> (r, m, K).

    Odd–even recursion (Blelloch 1990) in which only the up-sweep multiplies matrices (neighbouring pairs,
    rescaled); the down-sweep multiplies vectors by matrices, and below ``base`` matrices the products run
    in sequence. Every vector is normalised to sum 1, so no scale can leave the floating-point range."""
    r, m, K, _ = M.shape
    ones = _ones(K, M)
    out = _empty((r, m, 1, K), M)
    if m <= base:
        prev = v0[:, None, :]
        for c in range(m):
            prev = _matmul_into(prev, M[:, c], out[:, c])
            prev /= (prev @ ones)[..., None]
        return out[:, :, 0]
    _matmul_into(v0[:, None, None, :], M[:, :1], out[:, :1])
    h = m // 2
    pairs = M[:, 0:2 * h:2] @ M[:, 1:2 * h:2]
    pairs /= _sum_last2(pairs)[..., None, None]
    odd = _vector_prefix(v0, pairs, base)                               # s at 1, 3, 5, ...
    out[:, 1::2, 0] = odd
    if m > 2:
        _matmul_into(odd[:, :(m - 1) // 2, None, :], M[:, 2::2], out[:, 2::2])
    s = out[:, :, 0]
    s /= (s @ ones)[..., None]
    return s


def _rescale_every(a_min: float, K: int, L: int, dtype) -> int:
    """How many bins the in-chunk recursion may run between rescalings. Per bin a message shrinks by at most
    a factor min(A) and grows by at most K, and the posteriors multiply a forward by a backward message:
    rescale often enough that such a product stays inside the floating-point range of ``dtype`` (with a
    margin of e^20; float64 allows e^690, float32 e^69)."""
    room = math.log(float(np.finfo(np.float32 if "float32" in str(dtype) else np.float64).max)) - 20.0
    shrink = -math.log(a_min) if a_min > 0 else math.inf
    return max(1, min(L, int((room / max(1.0, shrink) - 1.0) / 2.0), int(0.43 * room / max(1.0, math.log(K)))))


def forward_backward_chunks(log_e, log_pi, log_a, n_time: int, *, backward: bool = True):
    """Forward–backward on log-emissions laid out state-major in chunks (``to_chunks(..., states_first=True)``,
    padded with 0).

    ``log_e``: (K, L, B, C) float64 NumPy array (CPU) or tensor; ``log_pi``: (K,) or (B, K); ``log_a``: (K, K).
    Returns ``(gamma, xi_sum, log_lik)`` with gamma (K, L, B, C) in the same layout (0 on padding bins), or
    only ``log_lik`` (B,) when ``backward`` is False.

    The forward messages obey ``alpha_t ∝ (alpha_{t-1} A) * e_t`` and the backward ones, written as
    ``u_t = beta_t * e_t``, ``u_t = (u_{t+1} A^T) * e_t``: the same recursion on the reversed sequence. Both
    run together: within each chunk bin by bin, vectorised over all chunks, from the message each chunk
    starts from (:func:`_chunk_entries`: the chunks' transfer matrices from :func:`_chunk_products`, then a
    prefix scan over chunks, :func:`_vector_prefix`). The work is O(T K^3) in O(L + log C) vectorised steps;
    messages are rescaled only where they could leave the floating-point range, and the result is exact:
    ``gamma_t ∝ (alpha_{t-1} A) * u_t``, ``xi_t(i, j) ∝ alpha_{t-1}(i) A_ij u_t(j)``, and ``log p(x)`` is the
    sum over chunks of the log of each chunk's final forward sum (every chunk starts from a normalised
    message), plus the log scales, plus ``sum_t max_k log e_t(k)``. With transitions below ~1e-60 (or exact
    zeros) a chunk's transfer matrix would span more than the floating-point range, so the recursion then
    runs bin by bin, one chunk per trial, in T steps instead of L + log C.

    Like every scaled (not log-space) recursion it works with each bin's emissions relative to the bin's
    most likely state, ``exp(log e_t - max_k log e_t)``: a state more than ~745 nats below it counts as
    impossible. That is exact to rounding unless tiny transitions make such a state the only one the chain
    can be in (for instance transitions below ~1e-160 with states 800 nats apart); padding bins multiply by
    A, so rows of A must sum to 1 (the public functions check).
    """
    K, L, B, C = log_e.shape
    n = B * C
    le = log_e.reshape(K, L, n)
    D = 2 if backward else 1
    a = _exp(log_a)
    every = _rescale_every(float(a.min()), K, L, le.dtype)
    if every == 1 and C > 1:
        # transitions below ~1e-60 (or exactly 0): a chunk's transfer matrix then spans more than the
        # floating-point range, and a component a message needs can underflow in it; run bin by bin instead,
        # as one chunk per trial (T vectorised steps, exact)
        one = _permute(log_e, (0, 3, 1, 2)).reshape(K, C * L, B, 1)
        out = forward_backward_chunks(one, log_pi, log_a, n_time, backward=backward)
        if not backward:
            return out
        gamma = _permute(out[0].reshape(K, C, L, B), (0, 2, 3, 1))
        return (np.ascontiguousarray(gamma) if isinstance(gamma, np.ndarray) else gamma.contiguous()), out[1], out[2]
    shift = _max_first(le)                                                  # (L, n); 0 on padding
    h = _empty((D, K, L, n), le)                                            # each direction's factors
    e = h[0]
    if isinstance(e, np.ndarray):
        np.exp(np.subtract(le, shift, out=e), out=e)                        # largest factor per bin: 1
    else:
        torch.exp(le - shift, out=e)
    pi = _exp(log_pi)
    pi = pi.reshape(1, K) if pi.ndim == 1 else pi                           # (1, K) or (B, K)
    starts = _ones((D, K, B, C), le) if C == 1 else _chunk_entries(_chunk_products(e, a, every), a, pi, B, C,
                                                                   backward)
    if C > 1:
        starts[0, :, :, 0] = 1.0                                            # read once, then replaced by pi
        if backward:
            starts[1, :, :, C - 1] = 1.0
    if backward:
        h[1] = _flip(e, 1)
        G = _empty((2, K, K), le)
        G[0], G[1] = a.T, a
    else:
        G = a.T[None]
    # pred (D, K, L, n): alpha_{t-1} A forward; u_{t+1} A^T backward, in reversed bin order
    pred = _empty((D, K, L, n), le)
    v = _empty((D, K, L, n), le)                                            # alpha forward, u backward
    log_scale = 0.0
    cur = starts.reshape(D, K, n)
    for l in range(L):
        _matmul_into(G, cur, pred[:, :, l])
        if l == 0:
            first = pred[:, :, 0].reshape(D, K, B, C)
            first[0, :, :, 0] = pi.T                                        # the first chunk starts from pi
            if backward:
                first[1, :, :, C - 1] = 1.0                                 # the last from beta = 1
        cur = _mul_into(pred[:, :, l], h[:, :, l], v[:, :, l])
        if (l + 1) % every == 0 and l < L - 1:
            sc = _sum_first(_permute(cur, (1, 0, 2)))                       # (D, n)
            cur /= sc[:, None]
            log_scale = log_scale + _log(sc[0])
    # each chunk starts from a normalised message, so its contribution is the log of its final sum
    ll = (_log(_sum_first(v[0, :, L - 1])) + log_scale).reshape(B, C).sum(-1) + shift.reshape(L, B, C).sum((0, 2))
    if not backward:
        return ll
    alpha = v[0]
    u = _flip(v[1], 1)                                                      # (K, L, n) in time order
    gamma = pred[0] * u
    r = 1.0 / _sum_first(gamma)
    gamma *= r
    w = _mul_into(u, r, h[1])                                               # u_t / p(x_t | x_<t), up to scale
    pad = n_time - (C - 1) * L                                               # real bins in the last chunk
    if pad < L:
        gamma.reshape(K, L, B, C)[:, pad:, :, C - 1] = 0.0
        w.reshape(K, L, B, C)[:, pad:, :, C - 1] = 0.0
    xi = alpha[:, :-1].reshape(K, -1) @ w[:, 1:].reshape(K, -1).T
    if C > 1:                                                               # pairs across chunk boundaries
        xi = xi + starts[0, :, :, 1:].reshape(K, -1) @ w[:, 0].reshape(K, B, C)[:, :, 1:].reshape(K, -1).T
    return gamma.reshape(K, L, B, C), a * xi, ll


def _as_work(t: Tensor):
    """A float64 (float32 on MPS) array for the recursion: NumPy on the CPU, the tensor itself elsewhere."""
    t = t.detach().to(scan_dtype(t.device))
    return t.numpy() if t.device.type == "cpu" else t


def _as_tensor(a, like: Tensor) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(like.device) if isinstance(a, np.ndarray) else a
