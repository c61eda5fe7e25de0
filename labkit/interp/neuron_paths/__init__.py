"""Influential neuron paths in a small vision transformer: found by joint influence, checked by intervention.

The room:

* :mod:`~.vit` — :class:`ViT`, the lab's transformer with ``causal=False`` and an image embedding, trained on
  8×8 digits (cached);
* :mod:`~.paths` — the joint attribution score, the layer-progressive search (``find_path``), its baselines
  (most active, influence patterns, per-layer IG, random), interventions, class paths, pruning;
* :mod:`~.experiment` — the notebook's study over methods, K and classes, and its negative control;
* :mod:`~.figures` — plotly figures (nothing there computes a path);
* :mod:`~.parameters` — the notebook's parameter rules (``PARAMETERS``).
"""
from labkit.interp.neuron_paths.experiment import CONTROLS, METHODS, PathStudy, correct_images, path_study
from labkit.interp.neuron_paths.parameters import PARAMETERS
from labkit.interp.neuron_paths.paths import (
    OPS,
    activation_path,
    class_paths,
    cls_activations,
    find_path,
    influence_pattern_path,
    influence_scores,
    intervene,
    jaccard_matrix,
    joint_attribution,
    layer_ig_path,
    layer_ig_scores,
    path_mask,
    prune_to,
    random_like,
    random_path,
    target_prob,
    union_mask,
    within_between,
)
from labkit.interp.neuron_paths.vit import ViT, accuracy, digits, train_vit, vit_config

__all__ = [
    "ViT", "vit_config", "digits", "train_vit", "accuracy",
    "OPS", "cls_activations", "target_prob", "path_mask", "joint_attribution", "find_path", "layer_ig_scores",
    "layer_ig_path", "activation_path", "influence_scores", "influence_pattern_path", "random_path", "intervene",
    "class_paths", "jaccard_matrix", "within_between", "prune_to", "union_mask", "random_like",
    "CONTROLS", "METHODS", "PathStudy", "correct_images", "path_study", "PARAMETERS",
]
