"""Representational geometry: what shapes a learned representation, and how to compare two.

* :mod:`~labkit.dynamics.representational_geometry.tasks` — Alleman, Lindsey & Fusi's cube task with a
  tunable input geometry (:func:`cube_task`), the MLPs, planted shapes of known topology, Lampinen et al.'s
  easy and hard features;
* :mod:`~labkit.dynamics.representational_geometry.measures` — :func:`rdm` (Euclidean, correlation,
  crossnobis), :func:`gt_transform`, :func:`cka`, :func:`match_units`, :func:`variance_explained_by`,
  the parallelism score and CCGP, persistent homology by ripser;
* :mod:`~labkit.dynamics.representational_geometry.experiment` — the studies the notebook runs;
* :mod:`~labkit.dynamics.representational_geometry.figures` — plotly figures (nothing there trains).

``Ensemble`` and ``kernel_alignment`` come from :mod:`labkit.dynamics.common`.
"""

from labkit.dynamics.representational_geometry.experiment import (
    CONTROLS,
    CubeStudy,
    DigitsNets,
    FeatureStudy,
    condition_means,
    cross_seed_cka,
    cube_study,
    digits_nets,
    feature_study,
    layer_identification,
    matched_correlation,
    parse_bounds,
)
from labkit.dynamics.representational_geometry.measures import (
    METHODS,
    ccgp,
    cka,
    cka_matrix,
    compare_rdms,
    diameter,
    gt_transform,
    h1_bars,
    match_units,
    parallelism_score,
    persistence,
    predict_units,
    random_rotation,
    rdm,
    upper,
    variance_explained_by,
)
from labkit.dynamics.representational_geometry.parameters import PARAMETERS
from labkit.dynamics.representational_geometry.tasks import (
    MLP,
    NONLINEARITIES,
    CubeTask,
    aligned_weights,
    c_max,
    cube_task,
    feature_task,
    make_mlps,
    parity_dichotomies,
    planted_shapes,
)

__all__ = [
    "CONTROLS", "CubeStudy", "DigitsNets", "FeatureStudy", "condition_means", "cross_seed_cka", "cube_study",
    "digits_nets", "feature_study", "layer_identification", "matched_correlation", "parse_bounds",
    "METHODS", "ccgp", "cka", "cka_matrix", "compare_rdms", "diameter", "gt_transform", "h1_bars", "match_units",
    "parallelism_score", "persistence", "predict_units", "random_rotation", "rdm", "upper", "variance_explained_by",
    "PARAMETERS",
    "MLP", "NONLINEARITIES", "CubeTask", "aligned_weights", "c_max", "cube_task", "feature_task", "make_mlps",
    "parity_dichotomies", "planted_shapes",
]
