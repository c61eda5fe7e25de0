"""Connectivity of spiking networks: neurons on a 3-D grid, wired with a probability that falls
with distance, plus random input projections.

Distance-dependent wiring (Maass, Natschläger & Markram 2002, "Real-time computing without stable
states"; the NALSM liquid of Ivanov & Michmizos 2021)::

    P(j -> i) = C_{type(j) type(i)} * exp(-(D(i, j) / lambda)^2),     no self-connections,

with ``D`` the Euclidean distance on the integer grid and ``C`` set by the excitatory (E) or
inhibitory (I) identity of the pre- and postsynaptic neuron. NALSM's values:
C_EE = 0.2, C_EI = 0.1, C_IE = 0.3, C_II = 0.05 (``C_XY`` for X -> Y), lambda = 3.

Every function takes a ``seed`` and returns edge lists ``(pre, post)`` as NumPy arrays, so the same
seed gives the same network on any device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.core.params import check_args, check_value

NALSM_C = {"EE": 0.2, "EI": 0.1, "IE": 0.3, "II": 0.05}


PROBABILITY = (float, 0, 1)


def grid_positions(shape) -> np.ndarray:
    """Integer coordinates (N, 3) of the points of an ``nx x ny x nz`` grid, in C order."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be three positive grid sizes (nx, ny, nz), got {shape}: an empty liquid cannot "
                         "be built.")
    g = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), axis=-1)
    return g.reshape(-1, 3).astype(float)


@dataclass
class Liquid3D:
    """A liquid's geometry: positions (N, 3), excitatory flags (N,), and its recurrent edges."""

    positions: np.ndarray
    excitatory: np.ndarray
    pre: np.ndarray
    post: np.ndarray

    @property
    def n(self) -> int:
        return len(self.excitatory)


def distance_connectivity(shape=(10, 10, 10), *, frac_exc: float = 0.8, c: dict | None = None,
                          lam: float = 3.0, seed: int = 0) -> Liquid3D:
    """Place ``prod(shape)`` neurons on a grid (E/I identities shuffled over the sites, a fraction
    ``frac_exc`` excitatory) and draw recurrent synapses with ``C * exp(-(D / lam)^2)``.

    Neurons are numbered excitatory first; ``positions[i]`` is neuron ``i``'s grid site.
    """
    c = dict(NALSM_C if c is None else c)
    if set(c) != {"EE", "EI", "IE", "II"}:
        raise ValueError(f"c must give the four probabilities 'EE', 'EI', 'IE', 'II', got keys {sorted(c)}.")
    for key, val in c.items():
        check_value(f"c[{key!r}]", val, PROBABILITY, "distance_connectivity")
    check_args("distance_connectivity", dict(frac_exc=frac_exc, lam=lam),
               {"frac_exc": PROBABILITY, "lam": (float, 0, None, "neither")})
    grid = grid_positions(shape)
    n = len(grid)
    rng = np.random.default_rng(seed)
    positions = grid[rng.permutation(n)]
    n_exc = int(round(frac_exc * n))
    exc = np.arange(n) < n_exc
    pres, posts = [], []
    ctab = np.array([[c["II"], c["IE"]], [c["EI"], c["EE"]]])  # ctab[pre_is_exc, post_is_exc]
    block = max(1, 2_000_000 // n)
    for start in range(0, n, block):  # rows = presynaptic neurons, in blocks to bound memory
        stop = min(n, start + block)
        d2 = ((positions[start:stop, None, :] - positions[None, :, :]) ** 2).sum(-1)
        p = ctab[exc[start:stop, None].astype(int), exc[None, :].astype(int)] * np.exp(-d2 / lam**2)
        p[np.arange(stop - start), np.arange(start, stop)] = 0.0
        j, i = np.nonzero(rng.random(p.shape) < p)
        pres.append(j + start)
        posts.append(i)
    return Liquid3D(positions=positions, excitatory=exc, pre=np.concatenate(pres), post=np.concatenate(posts))


def random_connectivity(n: int, p: float, *, seed: int = 0):
    """Erdős–Rényi wiring: each ordered pair (j -> i), j != i, independently with probability p."""
    check_args("random_connectivity", dict(n=n, p=p), {"n": (int, 1, None), "p": PROBABILITY})
    rng = np.random.default_rng(seed)
    pres, posts = [], []
    block = max(1, 4_000_000 // n)
    for start in range(0, n, block):
        stop = min(n, start + block)
        m = rng.random((stop - start, n)) < p
        m[np.arange(stop - start), np.arange(start, stop)] = False
        j, i = np.nonzero(m)
        pres.append(j + start)
        posts.append(i)
    return np.concatenate(pres), np.concatenate(posts)


def input_connectivity(n_in: int, n_post: int, density: float, *, seed: int = 0):
    """Exactly ``round(density * n_in * n_post)`` distinct input -> neuron pairs chosen at random
    (NALSM: 15% of all pairs); returns ``(pre, post)`` with ``pre`` in ``[0, n_in)``."""
    check_args("input_connectivity", dict(n_in=n_in, n_post=n_post, density=density),
               {"n_in": (int, 1, None), "n_post": (int, 1, None), "density": PROBABILITY})
    rng = np.random.default_rng(seed)
    k = int(round(density * n_in * n_post))
    flat = rng.choice(n_in * n_post, size=k, replace=False)
    return flat // n_post, flat % n_post
