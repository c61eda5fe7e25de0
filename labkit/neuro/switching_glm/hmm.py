"""Hidden Markov chain inference, batched over trials, exact, and fast without a compiler.

The E-step of every model here is the forward–backward recursion of an HMM (Rabiner 1989),

    alpha_t(j) ∝ [sum_i alpha_{t-1}(i) A_ij] e_t(j),        beta_t(i) ∝ sum_j A_ij e_{t+1}(j) beta_{t+1}(j),

with ``e_t(j) = p(x_t | z_t = j)``. Run bin by bin it is T dependent steps, each far too small to pay
for a Python-level call; as a product of matrices ``M_t = A diag(e_t)`` it is associative and can run as
a parallel scan (Hassan, Särkkä & García-Fernández 2021), but on a CPU a scan spends its time in batched
K x K products. :func:`forward_backward_chunks` does both: time is cut into C chunks of L bins, the
recursion runs bin by bin *inside* every chunk at once (L vectorised steps), and the message each chunk
starts from comes from the chunks' transfer matrices (one pass over the bins, :func:`_chunk_products`) by a
scan over the C chunks that multiplies matrices only on its way up and vectors on its way down
(:func:`_vector_prefix`). The backward messages, written as ``u_t = beta_t * e_t``, obey the same recursion
on the reversed sequence with ``A^T``; the two directions run as one stacked array, and their transfer
matrices come from the same pass. Arrays are state-major, (K, ...), so that every step is a few
operations on long contiguous rows.

The recursion is exact: the messages are rescaled (in float64) only where a bound says they could leave
the floating-point range, the scales cancel in the posteriors, and ``log p(x)`` is the sum of the log
scales plus each bin's ``max_k log e_t(k)``. This equals the log-space recursion of the official HMM-GLM
code to rounding (tests/test_switching_glm.py compares them). On the CPU the recursion runs in NumPy (a
NumPy call costs a fraction of a torch call, and the recursion is a few hundred small calls); on a GPU it
runs on the same torch tensors as the model.

:func:`viterbi` uses a parallel scan in the (max, +) semiring for ``delta_t``, then follows the back
pointers with a second scan that composes them (pointer jumping) — exact, with no loop over time.

:class:`PoissonHMM` is the plain Poisson HMM fitted by EM on top of these pieces: the part of the
switching GLM that peer libraries share, and the workload of ``benchmarks/bench_switching_glm.py``.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = ["prefix_scan", "forward_backward", "viterbi", "log_likelihood", "update_transitions",
           "PoissonHMM", "Posterior"]

Tensor = torch.Tensor


# --------------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Forward–backward
# --------------------------------------------------------------------------------------------

@dataclass
class Posterior:
    """What the E-step returns for a batch of trials.

    ``gamma[b, t, k] = p(z_t = k | x)``, ``xi_sum[i, j] = sum_{b, t} p(z_{t-1} = i, z_t = j | x)``,
    ``log_likelihood[b] = log p(x_b)``.
    """

    gamma: Tensor
    xi_sum: Tensor
    log_likelihood: Tensor


def _check_log_emissions(log_e: Tensor) -> Tensor:
    if log_e.dim() == 2:
        log_e = log_e.unsqueeze(0)
    if log_e.dim() != 3:
        raise ValueError(f"log_emissions must have shape (trials, time, states), got {tuple(log_e.shape)}.")
    return log_e


def _check_transitions(log_transitions, n_states: int):
    """log A as a tensor, or a one-sentence ValueError: shape (K, K), rows of A summing to 1 (the padding
    bins at the end of each trial multiply by A, which leaves a message's sum unchanged only then)."""
    la = torch.as_tensor(log_transitions)
    if la.shape != (n_states, n_states):
        raise ValueError(f"log_transitions must have shape ({n_states}, {n_states}), got {tuple(la.shape)}.")
    rows = torch.exp(la).sum(-1)
    if not bool(((rows - 1.0).abs() <= 1e-5).all()):
        raise ValueError("log_transitions must be the log of a row-stochastic matrix (every row of "
                         f"exp(log_transitions) summing to 1), got row sums {rows.tolist()}.")
    return la


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


def forward_backward(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Posterior:
    """Posterior state probabilities, summed pair posteriors and log-likelihood of each trial.

    ``log_emissions``: (trials, time, states) ``log p(x_t | z_t)``; ``log_pi``: (states,) or
    (trials, states); ``log_transitions``: (states, states), rows the "from" state. Batched over trials;
    runs on the device of its inputs (NumPy underneath on the CPU). Returns float64 tensors.
    """
    log_e = _check_log_emissions(log_emissions)
    B, T, K = log_e.shape
    le = to_chunks(_as_work(log_e), chunk_length(T), states_first=True)
    pi, la = _as_work(torch.as_tensor(log_pi)), _as_work(_check_transitions(log_transitions, K))
    gamma, xi, ll = forward_backward_chunks(le, pi, la, T)
    return Posterior(_as_tensor(from_chunks(gamma, T, states_first=True), log_e), _as_tensor(xi, log_e),
                     _as_tensor(ll, log_e))


def log_likelihood(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Tensor:
    """``log p(x_b)`` for each trial (forward pass only), float64."""
    log_e = _check_log_emissions(log_emissions)
    B, T, K = log_e.shape
    le = to_chunks(_as_work(log_e), chunk_length(T), states_first=True)
    ll = forward_backward_chunks(le, _as_work(torch.as_tensor(log_pi)),
                                 _as_work(_check_transitions(log_transitions, K)), T, backward=False)
    return _as_tensor(ll, log_e)


def viterbi(log_emissions: Tensor, log_pi: Tensor, log_transitions: Tensor) -> Tensor:
    """The most probable state sequence of each trial, (trials, time) int64 (Viterbi 1967)."""
    log_e = _check_log_emissions(log_emissions)
    log_e = log_e.to(scan_dtype(log_e.device))
    B, T, K = log_e.shape
    log_a = log_transitions.to(log_e.dtype)
    m = log_a + log_e.unsqueeze(-2)                                     # log M_t[i, j]
    m[:, 0] = (log_pi.to(log_e.dtype) + log_e[:, 0]).unsqueeze(-2).expand(B, K, K)
    delta = prefix_scan(m, _max_plus)[:, :, 0, :]                       # delta_t up to a shift per t
    last = delta[:, -1].argmax(-1)                                      # (B,)
    if T == 1:
        return last.unsqueeze(1)
    # back pointers psi_t(j) = argmax_i delta_{t-1}(i) + log A_ij, t = 1..T-1
    psi = (delta[:, :-1].unsqueeze(-1) + log_a).argmax(dim=-2)          # (B, T-1, K)
    # z_t = psi_{t+1}(psi_{t+2}(... psi_{T-1}(z_{T-1}))): suffix compositions, by a scan on the reversal
    comp = prefix_scan(psi.flip(1), _compose).flip(1)                   # comp[:, t] = psi_{t+1} o ... o psi_{T-1}
    path = torch.gather(comp, -1, last.view(B, 1, 1).expand(B, T - 1, 1)).squeeze(-1)
    return torch.cat([path, last.unsqueeze(1)], dim=1)


def update_transitions(xi_sum, min_prob: float = math.exp(-8)):
    """Closed-form M-step for the transition matrix, ``A_ij ∝ sum_t xi_t(i, j)``, with each entry floored at
    ``min_prob`` before renormalising (the official HMM-GLM code clamps log A at -8 the same way), so a
    state never becomes unreachable and the recursion's rescaling stays safe. Returns log A (a tensor for a
    tensor, an array for an array)."""
    if isinstance(xi_sum, np.ndarray):
        rows = xi_sum / np.maximum(xi_sum.sum(-1, keepdims=True), 1e-300)
        rows = np.maximum(rows, min_prob)
        return np.log(rows / rows.sum(-1, keepdims=True))
    rows = xi_sum / xi_sum.sum(-1, keepdim=True).clamp_min(1e-300)
    rows = rows.clamp_min(min_prob)
    return torch.log(rows / rows.sum(-1, keepdim=True))


_BLAS = []


def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, built once (a scan of the process's libraries)."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS.append(ThreadpoolController())
        except ImportError:                                             # pragma: no cover
            _BLAS.append(None)
    return _BLAS[0]


@contextlib.contextmanager
def few_threads(n_elements: int, device: torch.device, limit: int = 1 << 23):
    """One CPU thread (torch and BLAS) while fitting a problem whose per-step arrays hold fewer than ``limit``
    numbers: each of the many small steps of an EM fit then costs less than waking a second thread, and on
    a busy machine a second thread can make it several times slower. Restores the settings afterwards."""
    if torch.device(device).type != "cpu" or n_elements >= limit or torch.get_num_threads() == 1:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ctl = _blas_controller()
        if ctl is None:                                                 # pragma: no cover
            yield
        else:
            with ctl.limit(limits=1, user_api="blas"):
                yield
    finally:
        torch.set_num_threads(old)


# --------------------------------------------------------------------------------------------
# Shared input checks
# --------------------------------------------------------------------------------------------

def check_counts(spikes, name: str = "spikes", *, min_time: int = 1) -> Tensor:
    """Spike counts as a float tensor of shape (trials, time, neurons), or a one-sentence ValueError."""
    if isinstance(spikes, (list, tuple)):
        try:
            spikes = np.asarray(spikes, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an array of shape (trials, time, neurons) with equal-length trials.") from None
    if isinstance(spikes, np.ndarray):
        if not (np.issubdtype(spikes.dtype, np.number) or spikes.dtype == bool):
            raise ValueError(f"{name} must hold numbers (spike counts), got dtype {spikes.dtype}.")
        spikes = torch.from_numpy(np.ascontiguousarray(spikes, dtype=np.float64))
    if not isinstance(spikes, Tensor):
        raise ValueError(f"{name} must be a NumPy array or torch tensor of spike counts, got {type(spikes).__name__}.")
    if spikes.dim() == 2:
        spikes = spikes.unsqueeze(0)
    if spikes.dim() != 3:
        raise ValueError(f"{name} must have shape (trials, time, neurons) or (time, neurons), got {tuple(spikes.shape)}.")
    if spikes.dtype == torch.bool or not spikes.is_floating_point():
        spikes = spikes.to(torch.float64)
    B, T, N = spikes.shape
    if B == 0 or N == 0:
        raise ValueError(f"{name} must hold at least one trial and one neuron, got shape {tuple(spikes.shape)}.")
    if T == 0:
        raise ValueError(f"{name} has an empty trial (0 time bins); every trial needs at least {min_time} bins.")
    if T < min_time:
        raise ValueError(f"{name} has {T} time bins per trial, fewer than the {min_time} needed here.")
    if torch.isnan(spikes).any():
        raise ValueError(f"{name} contains NaN; spike counts must be finite non-negative integers.")
    if torch.isinf(spikes).any():
        raise ValueError(f"{name} contains infinite values; spike counts must be finite non-negative integers.")
    if (spikes < 0).any():
        raise ValueError(f"{name} contains negative values; spike counts must be non-negative integers.")
    if (spikes != torch.round(spikes)).any():
        raise ValueError(f"{name} contains non-integer values; spike counts must be non-negative integers.")
    return spikes


# --------------------------------------------------------------------------------------------
# The plain Poisson HMM
# --------------------------------------------------------------------------------------------

class PoissonHMM:
    """A hidden Markov model with independent Poisson counts per neuron, fitted by EM.

    E-step: :func:`forward_backward`. M-step in closed form: ``lambda_kn = sum_t gamma_tk x_tn /
    sum_t gamma_tk``, ``pi = mean_b gamma_b0``, transitions from :func:`update_transitions`.
    Parameters are kept in float64; everything runs on ``device``.
    """

    def __init__(self, n_states: int, *, n_iter: int = 20, tol: float | None = None, min_transition: float = 1e-10,
                 device: str | torch.device = "cpu", seed: int = 0):
        if isinstance(n_states, bool) or not isinstance(n_states, (int, np.integer)) or n_states < 1:
            raise ValueError(f"n_states must be a positive integer, got {n_states!r}.")
        if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}.")
        if not (0.0 <= float(min_transition) < 1.0 / n_states):
            raise ValueError(f"min_transition must be in [0, 1/n_states), got {min_transition!r}.")
        self.n_states, self.n_iter = int(n_states), int(n_iter)
        self.tol = None if tol is None else float(tol)
        self.min_transition, self.device, self.seed = float(min_transition), torch.device(device), seed

    def _log_emissions(self, x: Tensor) -> Tensor:
        """``log p(x_t | z_t = k)`` up to ``-sum_n log x_tn!``, a per-bin constant that cancels in every
        posterior; :meth:`_constant` adds it back to log-likelihoods."""
        lam = self.rates_
        return x @ torch.log(lam).T - lam.sum(-1)

    @staticmethod
    def _constant(x: Tensor) -> Tensor:
        return torch.lgamma(x + 1).sum((1, 2))

    def init_params(self, spikes, rates=None, transitions=None, start=None) -> "PoissonHMM":
        """Set the starting point: given arrays, or rates at the data mean times Gamma(5, 1/5) noise."""
        x = check_counts(spikes).to(self.device, torch.float64)
        K, N = self.n_states, x.shape[-1]
        if rates is None:
            g = torch.Generator().manual_seed(self.seed)
            noise = torch._standard_gamma(torch.full((K, N), 5.0, dtype=torch.float64), generator=g) / 5.0
            rates = x.mean((0, 1)).cpu() * noise + 1e-3
        if transitions is None:
            transitions = torch.full((K, K), 0.05 / max(K - 1, 1), dtype=torch.float64) + (0.95 - 0.05 / max(K - 1, 1)) * torch.eye(K, dtype=torch.float64) if K > 1 else torch.ones(1, 1, dtype=torch.float64)
        if start is None:
            start = torch.full((K,), 1.0 / K, dtype=torch.float64)
        as_t = lambda v: torch.as_tensor(np.asarray(v), dtype=torch.float64).to(self.device)
        rates, a, p = as_t(rates), as_t(transitions), as_t(start)
        if rates.shape != (K, N) or not bool((rates > 0).all()):
            raise ValueError(f"rates must be a positive array of shape ({K}, {N}), got shape {tuple(rates.shape)}.")
        if a.shape != (K, K) or not bool((a >= 0).all()) or ((a.sum(-1) - 1.0).abs() > 1e-6).any():
            raise ValueError(f"transitions must be a ({K}, {K}) non-negative matrix whose rows sum to 1, got "
                             f"shape {tuple(a.shape)} with row sums {a.sum(-1).tolist() if a.dim() == 2 else '-'}.")
        if p.shape != (K,) or not bool((p >= 0).all()) or abs(float(p.sum()) - 1.0) > 1e-6:
            raise ValueError(f"start must be {K} non-negative probabilities summing to 1, got shape {tuple(p.shape)}.")
        self.rates_, self.log_transitions_, self.log_start_ = rates, torch.log(a), torch.log(p)
        return self

    def fit(self, spikes, *, init: bool = True) -> "PoissonHMM":
        """EM for ``n_iter`` iterations (or, with ``tol`` set, until the log-likelihood gains less than ``tol``).

        The counts are laid out once in the chunks of the E-step (:func:`to_chunks`), so an iteration is two
        matrix products for the emissions and the rates, and one forward–backward, with no copies."""
        size = int(np.prod(np.shape(spikes))) * self.n_states if not isinstance(spikes, str) else 0
        with few_threads(size, self.device):
            return self._fit(spikes, init)

    def _fit(self, spikes, init):
        x = check_counts(spikes).to(self.device, scan_dtype(self.device))
        B, T, N = x.shape
        if self.n_states > B * T:
            raise ValueError(f"n_states ({self.n_states}) must not exceed the number of time bins ({B * T}).")
        if init or not hasattr(self, "rates_"):
            self.init_params(x)
        K = self.n_states
        L = chunk_length(T)
        xc = to_chunks(_as_work(x), L)                                     # (L, B, C, N), padding 0
        C = xc.shape[2]
        pad = T - (C - 1) * L
        # the two (K x N) by (N x T) products run in float32 (counts are exact there; their relative error,
        # ~1e-7, is far below the statistical one) and everything else in float64; the counts are kept in
        # both orientations, so that each product reads its operand contiguously
        flat = xc.reshape(-1, N)
        is_np = isinstance(flat, np.ndarray)
        f32 = (lambda a: a.astype(np.float32)) if is_np else (lambda a: a.float())
        flat32 = f32(flat)                                                 # (L B C, N)
        flat32_t = np.ascontiguousarray(flat32.T) if is_np else flat32.T.contiguous()
        rates, log_pi, log_a = (_as_work(self.rates_), _as_work(self.log_start_), _as_work(self.log_transitions_))
        log, maximum = (np.log, np.maximum) if is_np else (torch.log, torch.clamp_min)
        log_e = _empty((K, flat.shape[0]), flat)                          # state-major, (K, L, B, C)
        chunked = log_e.reshape(K, L, B, C)
        const = float(self._constant(x).sum())
        self.history_ = []
        started = time.perf_counter()
        for it in range(self.n_iter):
            projected = f32(log(rates)) @ flat32_t                         # sum_n x_tn log lambda_kn
            if is_np:
                np.subtract(projected, rates.sum(-1)[:, None], out=log_e)
            else:
                log_e.copy_(projected.to(log_e.dtype) - rates.sum(-1)[:, None])
            if pad < L:
                chunked[:, pad:, :, C - 1] = 0.0                           # padding bins carry no evidence
            gamma, xi, ll = forward_backward_chunks(chunked, log_pi, log_a, T)
            total = float(ll.sum()) - const
            if not math.isfinite(total):
                raise FloatingPointError(f"PoissonHMM.fit diverged at EM iteration {it}: the log-likelihood is {total}.")
            self.history_.append(total)
            g = gamma.reshape(K, -1)
            occupancy = g @ _ones(g.shape[1], g)
            weighted = f32(g) @ flat32
            rates = maximum((weighted.astype(np.float64) if is_np else weighted.to(g.dtype))
                            / maximum(occupancy, 1e-12)[:, None], 1e-10)
            start = gamma[:, 0, :, 0].mean(-1)
            log_pi = log(maximum(start, 1e-300))
            log_a = update_transitions(xi, self.min_transition)
            if self.tol is not None and len(self.history_) > 1 and self.history_[-1] - self.history_[-2] < self.tol:
                break
        self.em_seconds_ = time.perf_counter() - started                   # the EM iterations alone (benchmarks)
        self.rates_, self.log_start_, self.log_transitions_ = (_as_tensor(rates, x), _as_tensor(log_pi, x),
                                                               _as_tensor(log_a, x))
        return self

    def score(self, spikes) -> float:
        """Total log-likelihood ``sum_b log p(x_b)``."""
        x = check_counts(spikes).to(self.device, torch.float64)
        ll = log_likelihood(self._log_emissions(x), self.log_start_, self.log_transitions_) - self._constant(x)
        return float(ll.sum())

    def predict(self, spikes) -> np.ndarray:
        """Viterbi state sequence, (trials, time)."""
        x = check_counts(spikes).to(self.device, torch.float64)
        return viterbi(self._log_emissions(x), self.log_start_, self.log_transitions_).cpu().numpy()
