"""Anatomical backbones for the network simulators: which neurons connect, how strongly, with which sign.

A :class:`Backbone` is one orientation for the whole lab, the connectome's: ``weights[pre, post]`` is the
strength of the connection **from** neuron *pre* **to** neuron *post* (as :mod:`labkit.data.worm` stores
``Connectome.weights``), ``sign[pre, post]`` its sign (+1 excitatory, -1 inhibitory, 0 where there is no
connection). A model written in the other orientation (the switching GLM's ``W[post, pre]``) transposes
where it reads the backbone.

Two builders: :func:`random_backbone` (a random directed graph, binary or with log-normal weights) and
:func:`connectome_backbone` / :func:`worm_backbone` (a real *C. elegans* subnetwork, its synapse signs
from Fenyves et al. 2020 where known and drawn at random where not). Random numbers are drawn neuron by
neuron over each neuron's **inputs** (a draw of shape (N, N) is read ``[post, pre]`` and transposed), so
a given seed always gives the same graph.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labkit.core.params import check_args

__all__ = ["Backbone", "random_backbone", "connectome_backbone", "worm_backbone", "DEFAULT_WORM_NEURONS"]

# Locomotion command interneurons (Chalfie et al. 1985) and the head interneurons around them.
DEFAULT_WORM_NEURONS = ("AVA", "AVB", "AVD", "AVE", "PVC", "AIB", "RIM", "AIZ", "RIB", "AIY")

_PROBABILITY = (float, 0, 1)


@dataclass
class Backbone:
    """A directed anatomical backbone: ``weights[pre, post] >= 0`` (0: no connection, no self-loops) and
    ``sign[pre, post]`` in {-1, 0, +1} (non-zero exactly where there is a connection); ``sign_known``
    marks the signs that come from data rather than from a random draw."""

    weights: np.ndarray
    sign: np.ndarray
    neurons: list[str]
    source: str = "random"
    sign_known: np.ndarray | None = field(default=None, repr=False)

    @property
    def adjacency(self) -> np.ndarray:
        """``adjacency[pre, post]``: True where a connection exists."""
        return self.weights > 0

    @property
    def n_neurons(self) -> int:
        return self.weights.shape[0]

    @property
    def density(self) -> float:
        n = self.n_neurons
        return float(self.adjacency.sum() / max(n * (n - 1), 1))

    def __repr__(self) -> str:
        return (f"Backbone({self.source!r}, {self.n_neurons} neurons, {int(self.adjacency.sum())} connections, "
                f"density {self.density:.2f}, {int((self.sign > 0).sum())} excitatory)")


def _signs(rng, connected: np.ndarray, known: np.ndarray, p_excitatory: float) -> np.ndarray:
    """``known`` where non-zero, else +1 with probability ``p_excitatory`` (drawn over each neuron's
    inputs), on the connections only; all arrays ``[pre, post]``."""
    n = connected.shape[0]
    drawn = np.where(rng.random((n, n)) < p_excitatory, 1, -1).T
    return np.where(connected, np.where(known != 0, known, drawn), 0).astype(np.int8)


def random_backbone(n_neurons: int = 20, density: float = 0.2, p_excitatory: float = 0.5, *,
                    weights: str = "binary", seed: int = 0) -> Backbone:
    """A random directed backbone: each ordered pair (no self-loops) connected with probability ``density``,
    excitatory with probability ``p_excitatory``, else inhibitory. ``weights``: ``"binary"`` (1 on every
    connection) or ``"lognormal"`` (LogNormal(0, 1) strengths, a heavy tail like synapse counts)."""
    check_args("random_backbone", {"n_neurons": n_neurons, "density": density, "p_excitatory": p_excitatory,
                                   "weights": weights, "seed": seed},
               {"n_neurons": (int, 2, None), "density": (float, 0, 1, "right"), "p_excitatory": _PROBABILITY,
                "weights": ["binary", "lognormal"], "seed": "seed"})
    n = int(n_neurons)
    rng = np.random.default_rng(seed)
    inputs = rng.random((n, n)) < density                               # [post, pre]
    w = inputs * rng.lognormal(0.0, 1.0, (n, n)) if weights == "lognormal" else inputs.astype(float)
    np.fill_diagonal(w, 0.0)
    w = np.ascontiguousarray(w.T)                                       # [pre, post]
    sign = _signs(rng, w > 0, np.zeros((n, n), np.int8), p_excitatory)
    return Backbone(w, sign, [f"n{i}" for i in range(n)], "random", sign_known=np.zeros((n, n), bool))


def connectome_backbone(connectome, *, min_synapses: float = 1.0, p_excitatory: float = 0.5, seed: int = 0) -> Backbone:
    """The backbone of a connectome (a :class:`labkit.data.worm.Connectome`, usually a ``subnetwork``).

    A connection pre -> post exists where ``weights[pre, post] >= min_synapses`` (self-loops dropped) and
    keeps its weight; its sign is the connectome's predicted sign (Fenyves et al. 2020) where known, and is
    drawn at random (excitatory with probability ``p_excitatory``, seeded) where the prediction is missing
    or ambiguous.
    """
    for attr in ("weights", "neurons"):
        if not hasattr(connectome, attr):
            raise ValueError(f"connectome must be a labkit.data.worm.Connectome (with .weights and .neurons), "
                             f"got {type(connectome).__name__}.")
    w = np.asarray(connectome.weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError(f"connectome.weights must be a square matrix of at least 2 neurons, got shape {w.shape}.")
    check_args("connectome_backbone", {"min_synapses": min_synapses, "p_excitatory": p_excitatory, "seed": seed},
               {"min_synapses": (float, 0, None, "neither"), "p_excitatory": _PROBABILITY, "seed": "seed"})
    connected = w >= min_synapses
    np.fill_diagonal(connected, False)
    if not connected.any():
        raise ValueError(f"min_synapses={min_synapses!r} leaves no connection in this connectome; lower it.")
    n = w.shape[0]
    known = np.zeros((n, n), dtype=np.int8)
    if getattr(connectome, "sign", None) is not None:
        known = np.asarray(connectome.sign, dtype=np.int8)
    sign = _signs(np.random.default_rng(seed), connected, known, p_excitatory)
    what = f"{getattr(connectome, 'kind', '')}, >= {min_synapses:g} synapses"
    name = f"{getattr(connectome, 'name', 'connectome')} ({what})"
    return Backbone(np.where(connected, w, 0.0), sign, list(connectome.neurons), name,
                    sign_known=connected & (known != 0))


def worm_backbone(neurons_or_class: str | Sequence[str] = DEFAULT_WORM_NEURONS, *, name: str = "cook_2019_herm",
                  min_synapses: float = 3.0, p_excitatory: float = 0.5, seed: int = 0) -> Backbone:
    """A *C. elegans* chemical-synapse subnetwork as a backbone (see :func:`connectome_backbone`).

    The default: the locomotion command interneurons and their head partners (20 neurons) in the
    adult hermaphrodite of Cook et al. (2019), connections of at least 3 synapses.
    """
    from labkit.data.worm import load_connectome, subnetwork

    chosen = neurons_or_class if isinstance(neurons_or_class, str) else list(neurons_or_class)
    sub = subnetwork(load_connectome(name, kind="chemical"), chosen)
    return connectome_backbone(sub, min_synapses=min_synapses, p_excitatory=p_excitatory, seed=seed)
