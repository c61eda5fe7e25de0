"""Scenes with planted facets: 4 classes, each the union of 3 visually distinct kinds of object.

Class 0 is "red large circles ∪ blue striped squares ∪ small green triangles", and so on
(:data:`FACETS`). One object per picture, at a jittered position near the centre, on a grey ground
with luminance grain. The facet label (0..11) is kept for the checks only: the classifier is
trained on the class (``facet // 3``). Drawn with :mod:`labkit.data.scenes`' shape masks and colours.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.core.params import ParameterError, check_value
from labkit.data.scenes import COLOURS, RGB, SHAPES, _shape_masks

# (shape, colour, striped, large); facets 3c, 3c+1, 3c+2 make class c
FACETS = (
    ("circle", "red", False, True), ("square", "blue", True, True), ("triangle", "green", False, False),
    ("cross", "yellow", False, True), ("diamond", "magenta", True, True), ("circle", "cyan", False, False),
    ("square", "green", False, True), ("triangle", "red", True, True), ("diamond", "blue", False, False),
    ("triangle", "yellow", True, True), ("cross", "cyan", False, True), ("square", "magenta", False, False),
)
N_CLASSES, PER_CLASS = 4, 3
N_FACETS = N_CLASSES * PER_CLASS
FACET_NAMES = tuple(f"{'large' if big else 'small'} {'striped ' if st else ''}{c} {s}" for s, c, st, big in FACETS)


@dataclass
class FacetScenes:
    """``images`` (n, 3, size, size) float32 in [0, 1]; ``facets`` (n,) 0..11; ``labels`` (n,) the class."""
    images: np.ndarray
    facets: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def facet_class(facet) -> np.ndarray:
    """The class a facet belongs to."""
    return np.asarray(facet) // PER_CLASS


def draw_facet_scenes(n: int, seed: int = 0, *, size: int = 32) -> FacetScenes:
    """``n`` pictures, facets drawn uniformly (so classes are balanced in expectation). Same seed, same
    pictures; vectorised over pictures."""
    n = check_value("n", n, (int, 1, None), "draw_facet_scenes")
    seed = check_value("seed", seed, "seed", "draw_facet_scenes")
    size = check_value("size", size, (int, 16, 256), "draw_facet_scenes")
    if size % 4:
        raise ParameterError(f"Parameter 'size' of draw_facet_scenes must be a multiple of 4, got {size}.")
    rng = np.random.default_rng(seed)
    facet = rng.integers(0, N_FACETS, n)
    table = np.array([(SHAPES.index(s), COLOURS.index(c), st, big) for s, c, st, big in FACETS])
    shape, colour, striped, large = (table[facet, j] for j in range(4))
    unit = size / 32
    cx = size / 2 + rng.uniform(-4, 4, n) * unit
    cy = size / 2 + rng.uniform(-4, 4, n) * unit
    radius = np.where(large == 1, 10.0, 5.5) * unit * rng.uniform(0.9, 1.1, n)
    grid = np.arange(size, dtype=np.float32) + 0.5
    dx = grid[None, None, :] - cx[:, None, None]
    dy = grid[None, :, None] - cy[:, None, None]
    masks = _shape_masks(dx, dy, radius[:, None, None])[shape, np.arange(n)]           # (n, H, W)
    stripes = ((np.arange(size) // max(1, int(2 * unit))) % 2 == 0)[None, :, None]
    shade = np.where((striped[:, None, None] == 1) & stripes, 0.3, 1.0)
    ground = np.float32(0.22)
    grain = 0.03 * rng.standard_normal((n, size, size)).astype(np.float32)
    fg = RGB[colour][:, :, None, None] * shade[:, None]
    images = np.where(masks[:, None], fg, ground) + grain[:, None]
    return FacetScenes(np.clip(images, 0, 1).astype(np.float32), facet, facet_class(facet))
