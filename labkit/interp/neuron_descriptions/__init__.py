"""Neuron descriptions (MILAN): naming units by pointwise mutual information, on scenes whose grammar is the truth.

A unit's exemplars E (its top-k images, masked where it exceeds its 0.99 quantile) are described by
d* = argmax_d log p(d | E) − λ log p(d): a captioner's likelihood against the annotators' prior.

* :mod:`~labkit.interp.neuron_descriptions.exemplars` — :func:`exemplars` (streamed, exact quantile),
  :func:`dissect` (network dissection's IoU), :func:`iou`;
* :mod:`~labkit.interp.neuron_descriptions.planted` — FIND-style :func:`planted_units` with known
  descriptions, their activations, the simulated annotators and the prior;
* :mod:`~labkit.interp.neuron_descriptions.captioner` — :class:`SceneEncoder`, :func:`region_features`,
  :class:`Captioner` (log p(d | E) for the whole grammar in one matrix product), :func:`describe`;
* :mod:`~labkit.interp.neuron_descriptions.metrics` — exact match, slot F1, precision, :func:`detection_score`;
* :mod:`~labkit.interp.neuron_descriptions.models` — the shape CNN, :func:`edit_experiment`;
* :mod:`~labkit.interp.neuron_descriptions.experiment` — the drivers the notebook calls;
* :mod:`~labkit.interp.neuron_descriptions.figures` — plotly figures.

The scenes and their grammar live in :mod:`labkit.data.scenes`.
"""
from labkit.interp.neuron_descriptions.captioner import (
                                                         Captioner,
                                                         SceneEncoder,
                                                         describe,
                                                         pmi_scores,
                                                         region_features,
                                                         train_encoder,
)
from labkit.interp.neuron_descriptions.exemplars import Exemplars, dissect, exemplars, exemplars_numpy, iou
from labkit.interp.neuron_descriptions.metrics import (
                                                         auroc,
                                                         description_precision,
                                                         detection_score,
                                                         exact_match,
                                                         slot_f1,
)
from labkit.interp.neuron_descriptions.models import ShapeCNN, edit_experiment, spurious_scenes, train_cnn
from labkit.interp.neuron_descriptions.parameters import PARAMETERS
from labkit.interp.neuron_descriptions.planted import (
                                                         KINDS,
                                                         PlantedUnits,
                                                         annotate,
                                                         annotation_prior,
                                                         annotator_distribution,
                                                         planted_activations,
                                                         planted_units,
)

__all__ = [
    "Captioner", "SceneEncoder", "describe", "pmi_scores", "region_features", "train_encoder",
    "Exemplars", "dissect", "exemplars", "exemplars_numpy", "iou",
    "auroc", "description_precision", "detection_score", "exact_match", "slot_f1",
    "ShapeCNN", "edit_experiment", "spurious_scenes", "train_cnn",
    "PARAMETERS",
    "KINDS", "PlantedUnits", "annotate", "annotation_prior", "annotator_distribution", "planted_activations",
    "planted_units",
]
