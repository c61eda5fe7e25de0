"""Neuron designs: quadratic neurons, KANs and RBF prototype classifiers against the MLP, at equal parameters.

* :mod:`~labkit.fields.neuron_designs.bases` — B-spline (Cox–de Boor), ReLU-KAN, Fourier, Gaussian and
  Chebyshev bases, vectorised over samples and inputs;
* :mod:`~labkit.fields.neuron_designs.layers` — :class:`QuadraticLinear` (ReLinear start), :class:`KANLinear`
  (grid refinement), :class:`AFKANLinear`, :class:`SKANLinear`, :class:`CBCHead`, :class:`BottleneckMLP`;
* :mod:`~labkit.fields.neuron_designs.designs` — networks of each design sized to a budget (:func:`match_params`);
* :mod:`~labkit.fields.neuron_designs.targets` — f₂, f₄, the disk, digits and MNIST-1D;
* :mod:`~labkit.fields.neuron_designs.training` — the one :func:`fit` (via :func:`labkit.core.train.train`)
  and the negative control;
* :mod:`~labkit.fields.neuron_designs.prototypes` — k-means prototypes, :func:`certified_radius`,
  :func:`pgd_l2` and the bisected attack;
* :mod:`~labkit.fields.neuron_designs.experiment` — the comparisons the notebook runs;
* :mod:`~labkit.fields.neuron_designs.figures` — plotly figures; ``parameters`` — the notebook's ``PARAMETERS``.
"""
from labkit.fields.neuron_designs.bases import bspline_basis, knots, uniform_bspline_basis
from labkit.fields.neuron_designs.designs import DESIGNS, LABELS, build, count, match_params, min_params, n_params
from labkit.fields.neuron_designs.layers import (
    AFKANLinear,
    BottleneckMLP,
    CBCHead,
    KANLinear,
    QuadraticLinear,
    SKANLinear,
)
from labkit.fields.neuron_designs.parameters import PARAMETERS
from labkit.fields.neuron_designs.prototypes import attack_radius, certified_radius, kmeans_init, pgd_l2
from labkit.fields.neuron_designs.targets import TARGETS, disk, f2, f4, image_task, regression_task
from labkit.fields.neuron_designs.training import CONTROLS, accuracy, fit, rmse

__all__ = [
    "bspline_basis", "knots", "uniform_bspline_basis",
    "DESIGNS", "LABELS", "build", "count", "match_params", "min_params", "n_params",
    "AFKANLinear", "BottleneckMLP", "CBCHead", "KANLinear", "QuadraticLinear", "SKANLinear",
    "PARAMETERS", "attack_radius", "certified_radius", "kmeans_init", "pgd_l2",
    "TARGETS", "disk", "f2", "f4", "image_task", "regression_task",
    "CONTROLS", "accuracy", "fit", "rmse",
]
