"""Feature visualization: activation maximization with image priors, one synthesis per facet of a class
unit (multifaceted feature visualization), and ReLU activation codes read as hashes.

* :mod:`~labkit.interp.feature_visualization.data` — scenes whose 4 classes are each a union of 3 planted
  facets (:func:`draw_facet_scenes`);
* :mod:`~labkit.interp.feature_visualization.images` — pixel and Fourier parameterizations, colour
  decorrelation, random transforms, the penalties (TV, L2, blur) and the Bregman-TV step;
* :mod:`~labkit.interp.feature_visualization.synthesis` — :func:`visualize`: objectives (logit, unit,
  channel, diversity) optimized as one batch;
* :mod:`~labkit.interp.feature_visualization.facets` — :func:`facets` (t-SNE + k-means of codes) and mfv's
  starting points;
* :mod:`~labkit.interp.feature_visualization.hashing` — :func:`activation_codes`, :func:`redundancy_ratio`,
  classification from codes, :func:`region_bound`;
* :mod:`~labkit.interp.feature_visualization.models` — the scene CNN, the facet judge, the ReLU MLPs;
* :mod:`~labkit.interp.feature_visualization.experiment` — the studies the notebook runs;
* :mod:`~labkit.interp.feature_visualization.figures` — plotly figures (nothing there trains anything);
* :mod:`~labkit.interp.feature_visualization.parameters` — the notebook's parameter rules, ``PARAMETERS``.
"""
from labkit.interp.feature_visualization.data import FACET_NAMES, FACETS, FacetScenes, draw_facet_scenes, facet_class
from labkit.interp.feature_visualization.experiment import (
    CONTROLS,
    REGIMES,
    facet_study,
    hash_study,
    regime_args,
    regimes_study,
    scene_models,
)
from labkit.interp.feature_visualization.facets import Facets, facet_starts, facets, match_clusters
from labkit.interp.feature_visualization.hashing import (
    activation_codes,
    kmeans_accuracy,
    knn_accuracy,
    logistic_accuracy,
    redundancy_ratio,
    region_bound,
)
from labkit.interp.feature_visualization.images import (
    FourierImage,
    PixelImage,
    blur_penalty,
    bregman_tv,
    colour_matrix,
    fourier_scale,
    l2,
    total_variation,
    transform,
)
from labkit.interp.feature_visualization.models import FacetJudge, ReLUMLP, SceneCNN, fit_classifier, predict
from labkit.interp.feature_visualization.parameters import PARAMETERS
from labkit.interp.feature_visualization.synthesis import Synthesis, named_layers, objective_values, visualize

__all__ = [
    "FACET_NAMES", "FACETS", "FacetScenes", "draw_facet_scenes", "facet_class",
    "CONTROLS", "REGIMES", "facet_study", "hash_study", "regime_args", "regimes_study", "scene_models",
    "Facets", "facet_starts", "facets", "match_clusters",
    "activation_codes", "kmeans_accuracy", "knn_accuracy", "logistic_accuracy", "redundancy_ratio", "region_bound",
    "FourierImage", "PixelImage", "blur_penalty", "bregman_tv", "colour_matrix", "fourier_scale", "l2",
    "total_variation", "transform",
    "FacetJudge", "ReLUMLP", "SceneCNN", "fit_classifier", "predict",
    "PARAMETERS", "Synthesis", "named_layers", "objective_values", "visualize",
]
