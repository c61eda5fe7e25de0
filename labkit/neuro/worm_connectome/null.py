"""The notebook's negative control, the degree-preserving null, and the one pre-registered structure-function test.

* **Control** (``control="shuffle"``): every annotation's neuron labels are permuted at random (one
  permutation per annotation, the same for its chemical, electrical and combined kinds). The graphs keep
  their sizes, degrees and weights, but the homogenization — which row is which neuron — is replaced by a
  null. Published counts, agreement between annotations, the identity of the hubs and the anatomy-function
  test must all fail under it.
* **Degree-preserving null**: Maslov-Sneppen double edge swaps of the directed graph, (a→b, c→d) →
  (a→d, c→b), each edge keeping its weight with its presynaptic neuron, so every neuron keeps its in- and
  out-degree and its output strength.
* **The pre-registered test** (fixed before any null was computed, and the only one held to a threshold):
  on ``cook_2019_herm`` (chemical synapses and gap junctions together, the densest whole-animal
  annotation), does the **direct weight** W_sr predict that stimulating s drives r (Randi et al. 2023,
  q < 0.05) better than the same weight on degree-preserving rewirings? The gain is the ROC AUC minus the
  nulls' mean AUC; its 95% confidence interval comes from a cluster bootstrap over stimulated neurons
  (pairs of one stimulated neuron share its recording and its degree, so they are not independent).
"""
from __future__ import annotations

import zlib

import numpy as np

from labkit.core.params import check_value
from labkit.data import worm
from labkit.data.worm import Connectome, SignalPropagation

__all__ = ["CONTROLS", "PREREGISTERED", "load_annotation", "shuffle_labels", "rewire_directed",
           "weighted_auc", "preregistered_test"]

CONTROLS = ("none", "shuffle")
PREREGISTERED = {"annotation": "cook_2019_herm", "kind": "all", "measure": "direct weight W_sr", "steps": 1}


def shuffle_labels(c: Connectome, seed: int = 0) -> Connectome:
    """The annotation with its neurons' labels permuted (rows and columns together): the control's null."""
    rng = np.random.default_rng([int(seed), zlib.crc32(c.name.encode())])
    perm = rng.permutation(len(c.neurons))
    sign = None if c.sign is None else c.sign[np.ix_(perm, perm)]
    return Connectome(name=c.name, kind=c.kind, neurons=list(c.neurons), weights=c.weights[np.ix_(perm, perm)],
                      present=c.present[perm], directed=c.directed, sign=sign,
                      metadata={**c.metadata, "control": "shuffle"}, extra=c.extra)


def load_annotation(name: str, kind: str = "chemical", *, control: str = "none", seed: int = 0) -> Connectome:
    """:func:`labkit.data.worm.load_connectome`, or under ``control="shuffle"`` its label-shuffled null."""
    check_value("control", control, list(CONTROLS), "load_annotation")
    c = worm.load_connectome(name, kind)
    return shuffle_labels(c, seed) if control == "shuffle" else c


def rewire_directed(weights: np.ndarray, *, swaps_per_edge: int = 3, seed: int = 0) -> np.ndarray:
    """A degree-preserving rewiring of a directed weighted graph (Maslov & Sneppen 2002).

    Each accepted swap turns (a→b, c→d) into (a→d, c→b) when that makes no self-loop and no existing edge;
    an edge's weight moves with its presynaptic end, so in-degree, out-degree and out-strength are kept.
    The swaps form a Markov chain, hence the loop over them (on plain Python ints, for speed)."""
    check_value("swaps_per_edge", swaps_per_edge, (int, 1, None), "rewire_directed")
    w = np.where(np.eye(len(weights), dtype=bool), 0.0, np.asarray(weights, dtype=float))
    src, dst = np.nonzero(w)
    wt = w[src, dst]
    n_edges = len(src)
    if n_edges < 2:
        return w.copy()
    rng = np.random.default_rng(seed)
    n_try = 2 * swaps_per_edge * n_edges
    pairs = rng.integers(0, n_edges, size=(n_try, 2)).tolist()
    s, d = src.tolist(), dst.tolist()
    n = len(w)
    edges = {a * n + b for a, b in zip(s, d)}
    done = 0
    for i, j in pairs:
        if done >= swaps_per_edge * n_edges:
            break
        a, b, c, e = s[i], d[i], s[j], d[j]
        if i == j or a == e or c == b or (a * n + e) in edges or (c * n + b) in edges:
            continue
        edges.difference_update((a * n + b, c * n + e))
        edges.update((a * n + e, c * n + b))
        d[i], d[j] = e, b
        done += 1
    out = np.zeros_like(w)
    out[np.asarray(s), np.asarray(d)] = wt
    return out


def weighted_auc(score: np.ndarray, label: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """ROC AUC (ties count one half) of ``score`` for ``label`` with case weights, for many weightings at once.

    ``score``, ``label``: (n,); ``weight``: (B, n), e.g. bootstrap multiplicities. Returns (B,). With unit
    weights it equals ``sklearn.metrics.roc_auc_score``."""
    order = np.argsort(score, kind="stable")
    s, y, wgt = score[order], label[order].astype(bool), weight[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(np.where(y, wgt, 0.0), starts, axis=1)            # (B, groups)
    neg = np.add.reduceat(np.where(~y, wgt, 0.0), starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    num = (pos * (neg_below + 0.5 * neg)).sum(1)
    den = pos.sum(1) * neg.sum(1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def preregistered_test(c: Connectome, sp: SignalPropagation, *, steps: int = 1, q_threshold: float = 0.05,
                       n_null: int = 20, swaps_per_edge: int = 3, n_boot: int = 500, seed: int = 0) -> dict:
    """AUC of the anatomical score against the atlas, the same on ``n_null`` degree-preserving rewirings,
    and the gain (AUC − mean null AUC) with a 95% cluster-bootstrap interval over stimulated neurons.

    Returns ``auc``, ``null_auc`` (n_null,), ``gain``, ``ci_low``, ``ci_high``, ``n_pairs``, ``n_connected``."""
    check_value("steps", steps, [1, 2], "preregistered_test")
    check_value("n_null", n_null, (int, 1, None), "preregistered_test")
    check_value("n_boot", n_boot, (int, 10, None), "preregistered_test")
    if sp.neurons != c.neurons:
        raise ValueError("c and sp must be on the same neuron order (use full connectomes, not subnetworks).")
    mask = sp.measured & np.outer(c.present, c.present) & ~np.eye(len(c.neurons), dtype=bool)
    src, dst = np.nonzero(mask)
    label = sp.q[src, dst] < q_threshold
    rng = np.random.default_rng(seed)

    def score(w):
        w = np.where(np.eye(len(w), dtype=bool), 0.0, w)
        return (w if steps == 1 else w @ w)[src, dst]

    scores = [score(c.weights)] + [score(rewire_directed(c.weights, swaps_per_edge=swaps_per_edge,
                                                         seed=int(rng.integers(2**31)))) for _ in range(n_null)]
    sources, cluster = np.unique(src, return_inverse=True)
    draws = rng.integers(0, len(sources), size=(n_boot, len(sources)))
    mult = np.zeros((n_boot + 1, len(sources)))
    mult[0] = 1.0                                                           # row 0: the data themselves
    np.add.at(mult, (np.repeat(np.arange(1, n_boot + 1), len(sources)), draws.ravel()), 1.0)
    weight = mult[:, cluster]                                               # (1 + n_boot, n_pairs)
    aucs = np.stack([weighted_auc(s, label, weight) for s in scores])       # (1 + n_null, 1 + n_boot)
    gains = aucs[0] - aucs[1:].mean(0)
    lo, hi = np.nanpercentile(gains[1:], [2.5, 97.5])
    return {"auc": float(aucs[0, 0]), "null_auc": aucs[1:, 0], "gain": float(gains[0]), "ci_low": float(lo),
            "ci_high": float(hi), "n_pairs": int(len(label)), "n_connected": int(label.sum())}
