"""Units with known descriptions (FIND-style) and the simulated annotators who describe exemplars.

A planted unit with description d fires on the objects that make d true in a scene (their coverage of
each cell of its map, 0..1) plus Gaussian noise (σ = 0.1). FIND's corruption: some units are silent on a
sub-domain (here: the right half of the picture), so their exemplars come from the rest only.

Annotators (MILAN's were people) write the unit's exact description with probability ``specificity``
and otherwise one generic word that is true of it: colour words most often (weight 3), then categories
(2), then size and texture (1); for a relation or a disjunction, one of its terms. This is the
regularity that makes likelihood decoding generic and that the PMI prior corrects.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.core.params import check_value
from labkit.data.scenes import WORDS, Grammar, Scenes, pool

KINDS = ("attribute", "conjunction", "relation", "disjunction")
_WORD_WEIGHT = {**{w: 1.0 for w in WORDS}, **{w: 3.0 for w in WORDS[4:10]}, **{w: 2.0 for w in WORDS[10:15]}}


@dataclass
class PlantedUnits:
    """``descriptions`` (U,) grammar indices, ``kinds`` (U,) names from KINDS (plus "marker"),
    ``corrupted`` (U,) bool."""
    descriptions: np.ndarray
    kinds: np.ndarray
    corrupted: np.ndarray

    def __len__(self) -> int:
        return len(self.descriptions)


def _pool_by_kind(grammar: Grammar, kind: str) -> np.ndarray:
    k = grammar.kinds
    if kind == "attribute":
        return np.flatnonzero((k == "attribute") | (k == "category"))
    return np.flatnonzero(k == kind)


def planted_units(scenes: Scenes, grammar: Grammar, n: int = 120, *, seed: int = 0, n_corrupted: int = 12,
                  min_scenes: int = 25, marker_units: int = 0) -> PlantedUnits:
    """``n`` units, a quarter of each kind (attribute/category, conjunction, relation, disjunction), each
    with a description true on at least ``min_scenes`` of ``scenes``; ``n_corrupted`` of them (spread over
    the kinds) silent on the right half; ``marker_units`` extra units describing the marker."""
    n = check_value("n", n, (int, 4, None), "planted_units")
    n_corrupted = check_value("n_corrupted", n_corrupted, (int, 0, n), "planted_units")
    rng = np.random.default_rng(seed)
    counts = grammar.participation(scenes).any(1).sum(0)
    descs, kinds = [], []
    per = [n // 4 + (1 if i < n % 4 else 0) for i in range(4)]
    for kind, m in zip(KINDS, per):
        cand = _pool_by_kind(grammar, kind)
        cand = cand[counts[cand] >= min_scenes]
        if not len(cand):
            raise ValueError(f"planted_units: no {kind} description is true on {min_scenes} of the {len(scenes)} "
                             f"scenes; draw more scenes or lower min_scenes.")
        descs.append(rng.choice(cand, m, replace=len(cand) < m))
        kinds += [kind] * m
    if marker_units:
        descs.append(np.full(marker_units, grammar.index("marker")))
        kinds += ["marker"] * marker_units
    descs = np.concatenate(descs)
    corrupted = np.zeros(len(descs), bool)
    corrupted[rng.choice(n, n_corrupted, replace=False)] = True
    return PlantedUnits(descs, np.array(kinds), corrupted)


def planted_activations(units: PlantedUnits, scenes: Scenes, grammar: Grammar, *, resolution: int = 16,
                        noise: float = 0.1, seed: int = 0) -> np.ndarray:
    """(n_scenes, U, resolution, resolution) float32 activation maps of the planted units."""
    part = grammar.participation(scenes)[:, :, units.descriptions].astype(np.float32)     # (n, S, U)
    cover = pool(scenes.masks.astype(np.float32), resolution)                             # (n, S, h, w)
    acts = np.minimum(np.einsum("nsu,nshw->nuhw", part, cover), 1.0)
    if units.corrupted.any():
        acts[:, units.corrupted, :, resolution // 2:] = 0.0
    rng = np.random.default_rng(seed)
    acts += noise * rng.standard_normal(acts.shape, dtype=np.float32)
    return acts


def generic_choices(grammar: Grammar, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The generic single-word descriptions an annotator may give for description ``d``, and their weights."""
    words = [grammar.atom_names[a] for a in np.flatnonzero(grammar.atoms[d]) if grammar.atom_names[a] in WORDS]
    idx = np.array([grammar.index(w) for w in words])
    w = np.array([_WORD_WEIGHT[x] for x in words])
    return idx, w / w.sum()


def annotate(grammar: Grammar, descriptions: np.ndarray, *, per_unit: int = 3, specificity: float = 0.35,
             seed: int = 0) -> np.ndarray:
    """(U, per_unit) annotations: the exact description with probability ``specificity``, else a generic word."""
    specificity = check_value("specificity", specificity, (float, 0.0, 1.0), "annotate")
    rng = np.random.default_rng(seed)
    out = np.empty((len(descriptions), per_unit), int)
    for u, d in enumerate(descriptions):          # a few thousand short draws: the loop is over units, not data
        idx, w = generic_choices(grammar, d)
        exact = rng.random(per_unit) < specificity
        out[u] = np.where(exact, d, rng.choice(idx, per_unit, p=w))
    return out


def annotator_distribution(grammar: Grammar, descriptions: np.ndarray, specificity: float = 0.35) -> np.ndarray:
    """(U, n_desc): what the annotators write for each unit, in expectation (infinitely many annotators)."""
    specificity = check_value("specificity", specificity, (float, 0.0, 1.0), "annotator_distribution")
    out = np.zeros((len(descriptions), grammar.n))
    for u, d in enumerate(descriptions):
        idx, w = generic_choices(grammar, d)
        np.add.at(out[u], idx, (1 - specificity) * w)
        out[u, d] += specificity
    return out


def annotation_prior(grammar: Grammar, annotations: np.ndarray, smoothing: float = 0.5) -> np.ndarray:
    """log p(d): the annotation frequency of every description, add-``smoothing``. ``annotations``: (U, a)
    indices, or (U, n_desc) expected counts (from :func:`annotator_distribution`)."""
    a = np.asarray(annotations)
    counts = (a.sum(0) if a.ndim == 2 and a.shape[1] == grammar.n and a.dtype.kind == "f"
              else np.bincount(a.ravel(), minlength=grammar.n)) + smoothing
    return np.log(counts / counts.sum())


def planted_exemplars(units: PlantedUnits, scenes: Scenes, grammar: Grammar, *, k: int = 15, q: float = 0.99,
                      resolution: int = 16, noise: float = 0.1, seed: int = 0, block: int = 64):
    """Exemplars of the planted units, computed ``block`` units at a time (the maps of all units at once
    would not fit in memory at the training scale)."""
    from labkit.interp.neuron_descriptions.exemplars import Exemplars, exemplars

    parts = []
    for s in range(0, len(units), block):
        sub = PlantedUnits(units.descriptions[s:s + block], units.kinds[s:s + block], units.corrupted[s:s + block])
        acts = planted_activations(sub, scenes, grammar, resolution=resolution, noise=noise, seed=seed + s)
        parts.append(exemplars(acts, k, q))
    return Exemplars(*(np.concatenate([getattr(p, f) for p in parts]) for f in Exemplars.__dataclass_fields__))


def annotated_exemplar_sets(descriptions: np.ndarray, scenes: Scenes, grammar: Grammar, *, k: int = 15,
                            resolution: int = 16, stray: float = 0.01, seed: int = 0):
    """Exemplar sets as a unit with each description would give them, drawn directly (cheap, for the
    captioner's training units): ``k`` scenes where the description holds (fewer: repeated), masked on the
    cells its objects cover at least half of, plus a share ``stray`` of stray cells (as noise above the
    0.99 quantile gives). Returns (images (U, k), masks (U, k, h, w))."""
    rng = np.random.default_rng(seed)
    part = grammar.participation(scenes)[:, :, descriptions]                              # (n, S, U)
    holds = part.any(1)
    cover = pool(scenes.masks.astype(np.float32), resolution)                             # (n, S, h, w)
    images = np.empty((len(descriptions), k), int)
    for u in range(len(descriptions)):       # one short draw per unit
        pos = np.flatnonzero(holds[:, u])
        images[u] = rng.choice(pos, k, replace=len(pos) < k) if len(pos) else rng.integers(0, len(scenes), k)
    sel = part[images, :, np.arange(len(descriptions))[:, None]].astype(np.float32)       # (U, k, S)
    masks = np.einsum("uks,ukshw->ukhw", sel, cover[images]) >= 0.5
    masks |= rng.random(masks.shape) < stray
    return images, masks
