"""Encoding models: from a network's feature map to voxels, by ridge, factorized and attention-routed readouts.

An encoding model predicts each voxel's response from a feature map ``F`` (positions × channels). Following
Adeli, Sun & Kriegeskorte (2025, the transformer brain encoder) and the readout comparisons of the other seed
papers, this package holds

* :mod:`~labkit.neuro.encoding_models.scenes` — scenes of scattered scikit-learn digits and the small CNN
  backbone (10x10x32 map, one evidence map per class), cached with ``checkpoint``;
* :mod:`~labkit.neuro.encoding_models.voxels` — retinotopic and category voxels with known receptive fields
  and noise ceilings (the truth), and the ``"shuffle"`` negative control;
* :mod:`~labkit.neuro.encoding_models.ridge` — ridge with one penalty per voxel chosen by leave-one-out from one
  SVD, all voxels batched (:class:`PerTargetRidge`, equal to scikit-learn's ``RidgeCV(alpha_per_target=True)``);
* :mod:`~labkit.neuro.encoding_models.readouts` — the factorized readout and the attention readout;
* :mod:`~labkit.neuro.encoding_models.metrics` — noise ceilings from repeats, normalized scores, IoU, routing mass;
* :mod:`~labkit.neuro.encoding_models.experiment` — the drivers the notebook calls;
* :mod:`~labkit.neuro.encoding_models.figures` — plotly figures (nothing there fits anything);
* :mod:`~labkit.neuro.encoding_models.parameters` — the notebook's parameter rules, ``PARAMETERS``.
"""
from labkit.neuro.encoding_models.experiment import CONTROLS, LABELS, READOUTS, Dataset, Fit, build_dataset, compare
from labkit.neuro.encoding_models.metrics import half_max_masks, iou, noise_ceiling, normalized_score, routing_mass
from labkit.neuro.encoding_models.parameters import PARAMETERS
from labkit.neuro.encoding_models.readouts import AttentionReadout, FactorizedReadout, fit_readout, predict
from labkit.neuro.encoding_models.ridge import DEFAULT_ALPHAS, PerTargetRidge, loo_ridge
from labkit.neuro.encoding_models.scenes import Backbone, Scenes, make_scenes, trained_backbone
from labkit.neuro.encoding_models.voxels import VoxelData, VoxelTruth, simulate_voxels, true_disc

__all__ = [
    "CONTROLS", "LABELS", "READOUTS", "Dataset", "Fit", "build_dataset", "compare",
    "half_max_masks", "iou", "noise_ceiling", "normalized_score", "routing_mass",
    "PARAMETERS", "AttentionReadout", "FactorizedReadout", "fit_readout", "predict",
    "DEFAULT_ALPHAS", "PerTargetRidge", "loo_ridge",
    "Backbone", "Scenes", "make_scenes", "trained_backbone",
    "VoxelData", "VoxelTruth", "simulate_voxels", "true_disc",
]
