"""The memories the CA3 network and the Hopfield network store: orthogonal, random sparse and digit contents,
and fragments to recall from, with the expected number of addresses a fragment returns.

* orthogonal: memory ``i`` owns bits ``i*m .. i*m + m - 1`` (disjoint, ``n_bits = P m``);
* random sparse: every bit on with probability ``a`` (rows redrawn until they have ``min_active`` bits);
* digits: scikit-learn's 8x8 digits, a pixel on when its ink is at least 8 of 16 (64 overlapping bits).

A fragment of ``k`` bits drawn from one stored content returns (ideally) every address whose content shares
one of its bits; with random contents of density ``a`` the others share one with probability
``1 - (1 - a)^k``, so the expected set size is ``1 + (P - 1)(1 - (1 - a)^k)`` (:func:`expected_addresses`).
"""
from __future__ import annotations

import numpy as np

from labkit.core.params import ParameterError, check_args, check_value

KINDS = ("orthogonal", "random", "digits")


def orthogonal_contents(n_memories: int, bits_each: int = 2) -> np.ndarray:
    """(P, P * bits_each) bool: memory ``i`` owns its own ``bits_each`` bits."""
    check_args("orthogonal_contents", dict(n_memories=n_memories, bits_each=bits_each),
               {"n_memories": (int, 1, None), "bits_each": (int, 1, None)})
    return np.kron(np.eye(n_memories, dtype=bool), np.ones((1, bits_each), dtype=bool))


def random_contents(n_memories: int, n_bits: int, density: float, rng, min_active: int = 1) -> np.ndarray:
    """(P, n_bits) bool, each bit on with probability ``density``; a row with fewer than ``min_active``
    bits is drawn again."""
    check_args("random_contents", dict(n_memories=n_memories, n_bits=n_bits, density=density, min_active=min_active),
               {"n_memories": (int, 1, None), "n_bits": (int, 1, None), "density": (float, 0, 1, "right"),
                "min_active": (int, 1, n_bits)})
    x = rng.random((n_memories, n_bits)) < density
    for _ in range(1000):
        bad = x.sum(1) < min_active
        if not bad.any():
            return x
        x[bad] = rng.random((int(bad.sum()), n_bits)) < density
    raise ParameterError(f"Parameter 'density' of random_contents ({density}) is too low to draw rows with "
                         f"{min_active} active bits of {n_bits}.")


def digit_contents(n_memories: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n_memories`` distinct binarized scikit-learn digits, (P, 64) bool, and their labels (cycling 0-9)."""
    from labkit.data.datasets import load_digits

    check_value("n_memories", n_memories, (int, 1, 1000), "digit_contents")
    x, y = load_digits()
    xb = x >= 8
    _, first = np.unique(xb, axis=0, return_index=True)       # distinct pictures only
    keep = np.zeros(len(xb), bool)
    keep[first] = True
    picks = []
    for i in range(n_memories):
        pool = np.nonzero(keep & (y == i % 10))[0]
        j = int(rng.choice(pool))
        keep[j] = False
        picks.append(j)
    return xb[picks], y[picks]


def contents_of(kind: str, n_memories: int, rng, *, n_bits: int = 100, density: float = 0.1,
                min_active: int = 1) -> np.ndarray:
    """Contents of one of :data:`KINDS` (orthogonal: 2 bits each; random: ``n_bits`` at ``density``)."""
    kind = check_value("kind", kind, list(KINDS), "contents_of")
    if kind == "orthogonal":
        return orthogonal_contents(n_memories, 2)
    if kind == "random":
        return random_contents(n_memories, n_bits, density, rng, min_active)
    return digit_contents(n_memories, rng)[0]


def fragments(contents: np.ndarray, n: int, k: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` fragments of ``k`` active bits, each drawn from a random stored content with at least ``k``
    bits: the fragments (n, n_bits) bool and the index of the content each came from."""
    check_args("fragments", dict(n=n, k=k), {"n": (int, 1, None), "k": (int, 1, contents.shape[1])})
    ok = np.nonzero(contents.sum(1) >= k)[0]
    if not len(ok):
        raise ParameterError(f"Parameter 'k' of fragments: no content has {k} active bits.")
    src = rng.choice(ok, n)
    out = np.zeros((n, contents.shape[1]), bool)
    for i, s in enumerate(src):                                     # n draws of k bits without replacement
        out[i, rng.choice(np.nonzero(contents[s])[0], k, replace=False)] = True
    return out, src


def true_addresses(contents: np.ndarray, fragment: np.ndarray) -> np.ndarray:
    """(n, P) bool: the addresses whose content shares an active bit with each fragment."""
    return (np.atleast_2d(fragment).astype(int) @ contents.T.astype(int)) > 0


def expected_addresses(n_memories: int, density: float, k) -> np.ndarray:
    """``1 + (P - 1)(1 - (1 - a)^k)``: the expected number of addresses a k-bit fragment of one stored
    random content returns (itself, and each other content sharing one of the k bits)."""
    check_args("expected_addresses", dict(n_memories=n_memories, density=density),
               {"n_memories": (int, 1, None), "density": (float, 0, 1)})
    k = np.asarray(k, dtype=float)
    return 1.0 + (n_memories - 1) * (1.0 - (1.0 - density) ** k)


def size_standard_error(fragments: np.ndarray, source: np.ndarray, n_memories: int, density: float) -> float:
    """The standard error of the mean returned-set size of ``fragments`` around
    :func:`expected_addresses`, when the other contents are random (density ``a``).

    The fragments share the stored contents, so their set sizes are not independent: two fragments with
    ``o`` common bits both miss a content ``j`` with probability ``(1-a)^(2k-o)``. Given the fragments (their
    bits and the content each came from), every other content is independent of them and of the others, so
    the mean size ``m = 1 + (1/n) sum_f sum_{j != s_f} h_fj`` has the exact variance::

        Var(m) = (1/n^2) sum_{f,g} [(1-a)^(2k - o_fg) - (1-a)^(2k)] * #{j : j != s_f, j != s_g}.

    The naive standard error (the spread of the n sizes over sqrt(n)) leaves out the randomness of the
    contents, which all fragments share, and is several times too small at P = 50."""
    f = np.atleast_2d(fragments).astype(np.int64)
    k = f.sum(1)
    if not (k == k[0]).all():
        raise ParameterError("Parameter 'fragments' of size_standard_error must hold fragments of one size.")
    k, n, q = int(k[0]), len(f), 1.0 - check_value("density", density, (float, 0, 1), "size_standard_error")
    o = f @ f.T
    cov = q ** (2 * k - o) - q ** (2 * k)
    src = np.asarray(source)
    others = n_memories - np.where(src[:, None] == src[None, :], 1, 2)
    return float(np.sqrt((cov * others).sum()) / n)
