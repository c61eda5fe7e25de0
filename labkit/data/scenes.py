"""Synthetic scenes whose grammar is the truth: small RGB pictures of 1-3 objects, and a grammar of
descriptions whose truth is decidable on any region of any scene.

:func:`draw_scenes` draws ``n`` pictures (NumPy, vectorised over scenes, thousands per second): objects
of 5 shapes, 6 colours, 2 sizes and 2 textures (plain or striped), one per cell of a 2x2 layout (so
"left of" and "above" are never ambiguous), and an optional white corner marker along the top edge.
Each scene carries its objects' masks and labels.

:class:`Grammar` enumerates descriptions: single attributes ("red", "small", "striped"), categories
("circle"), the marker ("marker"), conjunctions ("small red circle", "striped square"), relations
("circle left of a red thing") and disjunctions ("circle or square"). ``Grammar.truth(scenes, regions)``
decides every description on every region at once; ``Grammar.holds(d, scenes, i, region)`` one of them.
An object is *in* a region when the region covers at least ``cover`` (0.3) of its pixels; an object
description holds when an object in the region satisfies all its slots, a relation when two objects
in the region stand in it, a disjunction when an object in the region satisfies either term.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from labkit.core.params import ParameterError, check_value

SHAPES = ("circle", "square", "triangle", "cross", "diamond")
COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan")
SIZES = ("small", "large")
TEXTURES = ("plain", "striped")
RELATIONS = ("left of", "above")
RGB = np.array([[0.9, 0.12, 0.1], [0.1, 0.75, 0.15], [0.15, 0.3, 0.95], [0.95, 0.88, 0.1],
                [0.88, 0.1, 0.88], [0.1, 0.88, 0.9]], dtype=np.float32)
N_MARKER_POSITIONS = 5
# object feature columns: size(2) texture(2) colour(6) shape(5) marker(1)
SLOTS = (("size", SIZES), ("texture", TEXTURES), ("colour", COLOURS), ("shape", SHAPES))
WORDS = SIZES + TEXTURES + COLOURS + SHAPES + ("marker",)
_OFFSET = {"size": 0, "texture": 2, "colour": 4, "shape": 10}
N_FEATURES = 16


@dataclass
class Scenes:
    """``images`` (n, 3, H, W) float32 in [0, 1]; per object slot (the last slot is the marker):
    ``masks`` (n, S, H, W) bool, ``features`` (n, S, 16) bool one-hots (size, texture, colour, shape,
    marker), ``cx``/``cy`` (n, S) centres in pixels, ``present`` (n, S); ``marker_at`` (n,) the marker's
    position (0-4 along the top edge) or -1; ``largest`` (n,) the shape index of the largest object."""
    images: np.ndarray
    masks: np.ndarray
    features: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    present: np.ndarray
    marker_at: np.ndarray
    largest: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx) -> Scenes:
        return Scenes(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def _shape_masks(dx, dy, r):
    """All five shapes at offsets (dx, dy) from their centres with radius r; stacked on axis 0."""
    ax, ay = np.abs(dx), np.abs(dy)
    circle = dx * dx + dy * dy <= r * r
    square = (ax <= 0.8 * r) & (ay <= 0.8 * r)
    triangle = (dy >= -r) & (dy <= 0.8 * r) & (ax <= 0.55 * (dy + r))
    arm = 0.32 * r
    cross = ((ax <= arm) & (ay <= r)) | ((ay <= arm) & (ax <= r))
    diamond = ax + ay <= 1.15 * r
    return np.stack([circle, square, triangle, cross, diamond])


def draw_scenes(n: int, seed: int = 0, *, size: int = 32, max_objects: int = 3, one_large: bool = False,
                marker_at=None, stripe_p: float = 0.5) -> Scenes:
    """Draw ``n`` scenes of 1..``max_objects`` objects at ``size`` x ``size`` pixels.

    ``one_large``: exactly one object is large (so "the largest shape" is defined); ``marker_at``: None
    (no marker), or an int array (n,) of marker positions 0..4 (-1: none). Same seed, same scenes.
    """
    n = check_value("n", n, (int, 1, None), "draw_scenes")
    seed = check_value("seed", seed, "seed", "draw_scenes")
    size = check_value("size", size, (int, 16, 256), "draw_scenes")
    if size % 4:
        raise ParameterError(f"Parameter 'size' of draw_scenes must be a multiple of 4, got {size}.")
    max_objects = check_value("max_objects", max_objects, (int, 1, 4), "draw_scenes")
    rng = np.random.default_rng(seed)
    S = max_objects
    n_obj = rng.integers(1, S + 1, n)
    cells = np.argsort(rng.random((n, 4)), axis=1)[:, :S]
    present = np.arange(S)[None, :] < n_obj[:, None]
    shape = rng.integers(0, 5, (n, S))
    colour = rng.integers(0, 6, (n, S))
    texture = (rng.random((n, S)) < stripe_p).astype(int)
    if one_large:
        big = rng.integers(0, n_obj)
        large = np.arange(S)[None, :] == big[:, None]
    else:
        large = rng.random((n, S)) < 0.5
    cell = size / 2
    unit = size / 32
    jitter = rng.integers(-1, 2, (n, S, 2)) * unit
    cx = (cells % 2) * cell + cell / 2 + jitter[..., 0]
    cy = (cells // 2) * cell + cell / 2 + jitter[..., 1] + unit
    radius = np.where(large, 0.375 * cell, 0.19 * cell)
    grid = np.arange(size, dtype=np.float32) + 0.5
    flat_shape, flat_r = shape.ravel(), radius.ravel().astype(np.float32)
    fx, fy = cx.ravel().astype(np.float32), cy.ravel().astype(np.float32)
    masks = np.zeros((n * S, size, size), bool)
    for k in range(5):                       # each shape drawn only for the objects that have it
        sel = np.flatnonzero(flat_shape == k)
        dx = grid[None, None, :] - fx[sel, None, None]
        dy = grid[None, :, None] - fy[sel, None, None]
        masks[sel] = _shape_masks(dx, dy, flat_r[sel, None, None])[k]
    masks = masks.reshape(n, S, size, size) & present[..., None, None]
    # paint by label lookup: objects never overlap (one per cell)
    label = np.zeros((n, size, size), np.int64)
    for s in range(S):
        label += (s + 1) * masks[:, s]
    stripes = ((np.arange(size) // max(1, int(unit * 2))) % 2 == 0)[None, :, None]
    label += (S + 1) * stripes                                  # a second, shaded table for stripe rows
    table = np.concatenate([np.full((n, 1, 3), 0.22, np.float32), RGB[colour]], 1)          # (n, S+1, 3)
    shaded = table * np.where(np.concatenate([np.zeros((n, 1)), texture == 1], 1), 0.3, 1.0)[..., None]
    table = np.concatenate([table, shaded.astype(np.float32)], 1).reshape(-1, 3)             # (n * 2(S+1), 3)
    flat = (label + (2 * (S + 1)) * np.arange(n)[:, None, None]).ravel()
    grain = 0.03 * rng.standard_normal((n, size, size), dtype=np.float32)                  # luminance noise
    images = np.stack([np.take(table[:, c], flat).reshape(n, size, size) + grain for c in range(3)], 1)
    # the marker: a white square along the top edge
    marker_at = np.full(n, -1) if marker_at is None else np.asarray(marker_at, dtype=int)
    if marker_at.shape != (n,) or marker_at.min() < -1 or marker_at.max() >= N_MARKER_POSITIONS:
        raise ParameterError(f"Parameter 'marker_at' of draw_scenes must be {n} integers in -1..4.")
    side = max(2, int(round(3 * unit)))
    mx = np.round(np.linspace(1 * unit, size - side - unit, N_MARKER_POSITIONS)).astype(int)
    xs = np.arange(size)
    mmask = ((xs[None, :] >= mx[marker_at][:, None]) & (xs[None, :] < mx[marker_at][:, None] + side)
             & (marker_at[:, None] >= 0))
    mmask = mmask[:, None, :] & (xs[None, :, None] < side)                          # (n, H, W)
    images = np.where(mmask[:, None], np.float32(1.0), images)
    masks = masks & ~mmask[:, None]
    masks = np.concatenate([masks, mmask[:, None]], axis=1)
    feats = np.zeros((n, S + 1, N_FEATURES), bool)
    rows = np.arange(n)[:, None]
    slots = np.arange(S)[None, :]
    feats[rows, slots, large.astype(int)] = True
    feats[rows, slots, 2 + texture] = True
    feats[rows, slots, 4 + colour] = True
    feats[rows, slots, 10 + shape] = True
    feats[:, :S] &= present[..., None]
    feats[:, S, 15] = marker_at >= 0
    mc = np.where(marker_at >= 0, mx[np.maximum(marker_at, 0)] + side / 2, -1.0)
    cx = np.concatenate([cx, mc[:, None]], 1)
    cy = np.concatenate([cy, np.full((n, 1), side / 2)], 1)
    area = np.where(present, radius, -1.0)
    largest = shape[np.arange(n), area.argmax(1)]
    np.clip(images, 0, 1, out=images)
    return Scenes(images, masks, feats, cx, cy,
                  np.concatenate([present, (marker_at >= 0)[:, None]], 1), marker_at, largest)


def _norm(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text).strip().lower())
    return re.sub(r"\b(a|an|the) ", "", text)


class Grammar:
    """Every description the scenes can make true, with its slots.

    ``texts[d]``; ``kinds[d]`` in attribute / category / marker / conjunction / relation / disjunction;
    ``requires`` (n_object_descriptions, 16): the features an object description asks for; ``slot_matrix``
    (n_desc, n_slot_features): the indicators the captioner scores (one pattern per slot layout, the slot
    values); ``atoms`` (n_desc, n_atoms): the words of a description, for slot-level F1.
    """

    def __init__(self):
        texts, kinds, req, pattern, slotvals = [], [], [], [], []
        for sz in (None, 0, 1):
            for tx in (None, 0, 1):
                for co in (None, *range(6)):
                    for sh in (None, *range(5)):
                        vals = {"size": sz, "texture": tx, "colour": co, "shape": sh}
                        filled = [k for k, v in vals.items() if v is not None]
                        if not filled:
                            continue
                        words = [dict(SLOTS)[k][v] for k, v in vals.items() if v is not None]
                        texts.append(" ".join(words))
                        kinds.append("conjunction" if len(filled) > 1 else
                                     ("category" if filled == ["shape"] else "attribute"))
                        r = np.zeros(N_FEATURES, bool)
                        for k, v in vals.items():
                            if v is not None:
                                r[_OFFSET[k] + v] = True
                        req.append(r)
                        pattern.append("obj:" + "+".join(filled))
                        slotvals.append([f"{k}={dict(SLOTS)[k][v]}" for k, v in vals.items() if v is not None])
        texts.append("marker")
        kinds.append("marker")
        r = np.zeros(N_FEATURES, bool)
        r[15] = True
        req.append(r)
        pattern.append("marker")
        slotvals.append([])
        self.n_object = len(texts)
        self.requires = np.array(req)
        self.terms = COLOURS + SHAPES                       # relation and disjunction terms (11)
        self._term_cols = np.array([4 + i for i in range(6)] + [10 + i for i in range(5)])
        term_text = [f"{c} thing" for c in COLOURS] + list(SHAPES)
        self.relations = []
        for r_i, rel in enumerate(RELATIONS):
            for a in range(11):
                for b in range(11):
                    texts.append(f"{term_text[a]} {rel} a {term_text[b]}")
                    kinds.append("relation")
                    pattern.append("relation")
                    slotvals.append([f"A={self.terms[a]}", f"rel={rel}", f"B={self.terms[b]}"])
                    self.relations.append((a, r_i, b))
        self.relations = np.array(self.relations)
        self.disjunctions = np.array([(a, b) for a, b in combinations(range(6), 2)]
                                     + [(6 + a, 6 + b) for a, b in combinations(range(5), 2)])
        for a, b in self.disjunctions:
            texts.append(f"{self.terms[a]} or {self.terms[b]}")
            kinds.append("disjunction")
            pattern.append("disjunction")
            slotvals.append([f"or={self.terms[a]}|{self.terms[b]}"])
        self.texts = tuple(texts)
        self.kinds = np.array(kinds)
        self.n = len(texts)
        feats = sorted(set(pattern)) + sorted({v for vs in slotvals for v in vs})
        col = {f: i for i, f in enumerate(feats)}
        self.slot_features = tuple(feats)
        self.slot_matrix = np.zeros((self.n, len(feats)), np.float32)
        for d in range(self.n):
            self.slot_matrix[d, col[pattern[d]]] = 1
            for v in slotvals[d]:
                self.slot_matrix[d, col[v]] = 1
        self.atom_names = WORDS + RELATIONS + ("or",)
        self.atoms = np.zeros((self.n, len(self.atom_names)), bool)
        for d, t in enumerate(self.texts):
            if self.kinds[d] == "relation":
                a, r_i, b = self.relations[d - self.n_object]
                self.atoms[d, [WORDS.index(self.terms[a]), WORDS.index(self.terms[b]), 16 + r_i]] = True
            elif self.kinds[d] == "disjunction":
                a, b = self.disjunctions[d - self.n_object - len(self.relations)]
                self.atoms[d, [WORDS.index(self.terms[a]), WORDS.index(self.terms[b]), 18]] = True
            else:
                self.atoms[d, [WORDS.index(w) for w in t.split()]] = True
        self._index = {_norm(t): d for d, t in enumerate(self.texts)}
        for d in range(self.n - len(self.disjunctions), self.n):        # "square or circle" too
            a, b = t.split(" or ") if (t := self.texts[d]) else ("", "")
            self._index[_norm(f"{b} or {a}")] = d
        self.vocabulary = {w for t in self._index for w in t.split()}

    def __len__(self) -> int:
        return self.n

    def index(self, description) -> int:
        """The index of a description given as text (or an index, checked)."""
        if isinstance(description, (int, np.integer)) and not isinstance(description, bool):
            if not 0 <= description < self.n:
                raise ParameterError(f"Description index {description} is out of range 0..{self.n - 1}.")
            return int(description)
        key = _norm(description)
        if key in self._index:
            return self._index[key]
        for w in key.split():
            if w not in self.vocabulary:
                raise ParameterError(f"The grammar cannot parse the description {description!r}: unknown word {w!r}; "
                                     f"valid words: {', '.join(WORDS)}, {', '.join(RELATIONS)}, thing, or.")
        raise ParameterError(f"The grammar cannot parse the description {description!r}: its words are known but "
                             f"no rule of the grammar orders them so.")

    # -- truth ---------------------------------------------------------------------------------------
    def object_truth(self, features: np.ndarray) -> np.ndarray:
        """(..., n_object) bool: which object descriptions each object (row of ``features``) satisfies."""
        f = features.astype(np.float32)
        return (f @ self.requires.T.astype(np.float32)) >= self.requires.sum(1) - 0.5

    def _terms(self, features):
        return features[..., self._term_cols]

    def _rel(self, scenes: Scenes):
        cell = scenes.images.shape[-1] / 4
        left = scenes.cx[:, :, None] < scenes.cx[:, None, :] - cell
        above = scenes.cy[:, :, None] < scenes.cy[:, None, :] - cell
        both = scenes.present[:, :, None] & scenes.present[:, None, :]
        marker = np.zeros_like(both)
        marker[:, -1, :] = marker[:, :, -1] = True
        return np.stack([left, above], 1) & (both & ~marker)[:, None]   # (n, 2, S, S)

    def truth(self, scenes: Scenes, regions: np.ndarray, scene_index=None, cover: float = 0.3) -> np.ndarray:
        """(m, n_desc) bool: which descriptions hold on each region. ``regions`` (m, H', W') bool masks
        (any resolution dividing the scenes'; upsampled by repetition) on scenes ``scene_index`` (m,)
        (default: region i on scene i)."""
        regions = np.asarray(regions, bool)
        idx = np.arange(len(regions)) if scene_index is None else np.asarray(scene_index)
        H = scenes.masks.shape[-1]
        if regions.ndim != 3 or H % regions.shape[-1] or regions.shape[-1] != regions.shape[-2]:
            raise ParameterError(f"regions must be (m, h, h) masks with h dividing {H}, got shape {regions.shape}.")
        f = H // regions.shape[-1]
        if f > 1:
            regions = regions.repeat(f, 1).repeat(f, 2)
        masks = scenes.masks[idx]
        area = masks.sum((-1, -2))
        inside = (masks & regions[:, None]).sum((-1, -2)) >= cover * np.maximum(area, 1)
        inside &= scenes.present[idx]
        return self.truth_of_objects(scenes.features[idx], inside, self._rel(scenes)[idx])

    def truth_of_objects(self, features, inside, rel) -> np.ndarray:
        """Truth from objects: ``features`` (m, S, 16), ``inside`` (m, S) bool, ``rel`` (m, 2, S, S)."""
        feats = features & inside[..., None]
        obj = self.object_truth(feats).any(1)                                        # (m, n_object)
        t = self._terms(feats).astype(np.float32)                                    # (m, S, 11)
        r = rel.astype(np.float32)
        pair = np.einsum("mia,mrij,mjb->mrab", t, r, t) > 0                           # (m, 2, 11, 11)
        rels = pair.reshape(len(feats), -1)
        tb = t > 0
        dis = (tb[..., self.disjunctions[:, 0]] | tb[..., self.disjunctions[:, 1]]).any(1)
        return np.concatenate([obj, rels, dis], 1)

    def holds(self, description, scenes: Scenes, i: int, region) -> bool:
        """Whether ``description`` (text or index) holds on ``region`` (h, h) of scene ``i``."""
        d = self.index(description)
        return bool(self.truth(scenes, np.asarray(region, bool)[None], [i])[0, d])

    def participation(self, scenes: Scenes) -> np.ndarray:
        """(n, S, n_desc) bool: the objects that make each description true in each whole scene (the
        objects a unit with that description would fire on)."""
        feats = scenes.features & scenes.present[..., None]
        obj = self.object_truth(feats)                                               # (n, S, n_object)
        t = self._terms(feats).astype(np.float32)
        r = self._rel(scenes).astype(np.float32)
        a_idx, r_idx, b_idx = self.relations.T
        has_b_after = np.einsum("nrij,njb->nrib", r, t) > 0                          # i stands in r to some b
        has_a_before = np.einsum("nrij,nia->nrja", r, t) > 0                         # j has some a in r to it
        tb = t > 0
        # advanced indices around a slice go first: (R, n, S) -> (n, S, R)
        part_a = tb[:, :, a_idx] & has_b_after[:, r_idx, :, b_idx].transpose(1, 2, 0)
        part_b = tb[:, :, b_idx] & has_a_before[:, r_idx, :, a_idx].transpose(1, 2, 0)
        dis = tb[..., self.disjunctions[:, 0]] | tb[..., self.disjunctions[:, 1]]
        return np.concatenate([obj, part_a | part_b, dis], 2)

    def concept_masks(self, scenes: Scenes, descriptions, resolution: int | None = None) -> np.ndarray:
        """(n, len(descriptions), h, h) float: the share of each cell covered by objects taking part in
        each description (``resolution`` h divides the scene size; default: full resolution)."""
        part = self.participation(scenes)[:, :, list(descriptions)].astype(np.float32)
        m = np.einsum("nsd,nshw->ndhw", part, scenes.masks.astype(np.float32))
        return pool(np.minimum(m, 1.0), resolution)


def pool(maps: np.ndarray, resolution: int | None) -> np.ndarray:
    """Average-pool the last two axes to ``resolution`` (None: unchanged)."""
    H = maps.shape[-1]
    if resolution is None or resolution == H:
        return maps
    f = H // resolution
    return maps.reshape(*maps.shape[:-2], resolution, f, resolution, f).mean((-1, -3))
