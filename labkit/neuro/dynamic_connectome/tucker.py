"""Compressing a large tensor to a small Tucker core first, so that most HALS iterations cost almost nothing
(Cohen, Farias & Comon 2015, "Fast decomposition of large nonnegative tensors"; see :func:`~.ntf.ntf_hals`)."""
from __future__ import annotations

import torch

__all__ = ["tucker_compress"]


def tucker_compress(X, ranks, *, n_power: int = 1, seed: int = 0):
    """Compress X (I, J, K) to a small Tucker core: orthonormal bases ``U_n`` (I_n × L_n) and the core
    ``G = X ×₁ U₁ᵀ ×₂ U₂ᵀ ×₃ U₃ᵀ`` (L₁ × L₂ × L₃), so that ``X ≈ G ×₁ U₁ ×₂ U₂ ×₃ U₃``.

    A sequentially truncated HOSVD (Vannieuwenhoven, Vandebril & Meerbergen 2012) whose basis in each
    mode is found by a randomized range finder with ``n_power`` power iterations (Halko, Martinsson &
    Tropp 2011, Alg. 4.4): a Gaussian sketch of the unfolding, orthonormalised by QR. Each mode costs a
    few passes over the (already shrunk) tensor instead of an SVD of its unfolding. A mode whose rank
    ``L_n`` is at least ``I_n`` is left uncompressed (``U_n = None``). Returns ``(G, [U₁, U₂, U₃])``.
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    G, bases = X, [None, None, None]
    for n, L in enumerate(ranks):
        size = G.shape[n]
        if L >= size:
            continue
        rest = [G.shape[m] for m in range(3) if m != n]
        Gn = G.movedim(n, 0).reshape(size, -1)                       # mode-n unfolding (a view for n = 0)
        sketch = torch.randn(Gn.shape[1], L, generator=gen, dtype=G.dtype).to(G.device)
        Q = torch.linalg.qr(Gn @ sketch).Q
        for _ in range(n_power):
            Q = torch.linalg.qr(Gn @ torch.linalg.qr(Gn.T @ Q).Q).Q
        bases[n] = Q
        G = (Q.T @ Gn).reshape(L, *rest).movedim(0, n)
    return G.contiguous(), bases
