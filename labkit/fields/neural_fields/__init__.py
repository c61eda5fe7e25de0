"""Neural fields: pictures fitted by Gaussian RBF fields, NeuRBF, SIREN, Fourier features and hash grids.

A neural field maps a coordinate ``x ∈ [-1, 1]²`` to a pixel value. This package holds

* :mod:`~labkit.fields.neural_fields.data` — scikit-image's bundled pictures as coordinate datasets
  (:func:`load_picture`);
* :mod:`~labkit.fields.neural_fields.metrics` — PSNR and SSIM (scikit-image's);
* :mod:`~labkit.fields.neural_fields.encoding` and :mod:`~labkit.fields.neural_fields.gather` — the
  hash and dense feature grids, and the fast gather their lookups use;
* :mod:`~labkit.fields.neural_fields.models` — the five fields, each sized to a parameter budget by
  :func:`build_field`: a Gaussian RBFNet (feature grids decoded by one layer of Gaussian neurons),
  NeuRBF (adaptive RBFs composed with sinusoids), SIREN, a Fourier-feature MLP and a hash grid;
* :mod:`~labkit.fields.neural_fields.training` — the one training loop they share (:func:`fit`,
  :func:`fit_field`), which records PSNR against steps and against seconds;
* :mod:`~labkit.fields.neural_fields.fresh` — FreSh: choosing an embedding's frequency before
  training by matching the untrained field's spectrum to the picture's (:func:`fresh_select`);
* :mod:`~labkit.fields.neural_fields.experiment` — the comparisons the notebook and the benchmark run;
* :mod:`~labkit.fields.neural_fields.figures` — plotly figures (nothing there trains anything);
* :mod:`~labkit.fields.neural_fields.parameters` — the notebook's parameter rules, ``PARAMETERS``.
"""
from labkit.fields.neural_fields.data import PICTURES, Picture, load_picture, max_resolution, pixel_grid
from labkit.fields.neural_fields.encoding import DenseGridEncoding, HashEncoding
from labkit.fields.neural_fields.fresh import FreshResult, fresh_select, spectrum, spectrum_distance
from labkit.fields.neural_fields.metrics import psnr, ssim
from labkit.fields.neural_fields.models import (
    FIELD_LABELS,
    FIELDS,
    AdaptiveRBFField,
    FourierFeatureField,
    GaussianRBFField,
    HashGridField,
    NeuralField,
    SirenField,
    build_field,
    min_params,
    neurbf_kernels,
)
from labkit.fields.neural_fields.parameters import PARAMETERS
from labkit.fields.neural_fields.training import FitResult, fit, fit_field, render

__all__ = [
    "PICTURES", "Picture", "load_picture", "max_resolution", "pixel_grid", "psnr", "ssim",
    "DenseGridEncoding", "HashEncoding",
    "FreshResult", "fresh_select", "spectrum", "spectrum_distance",
    "FIELD_LABELS", "FIELDS", "AdaptiveRBFField", "FourierFeatureField", "GaussianRBFField", "HashGridField",
    "NeuralField", "SirenField", "build_field", "min_params", "neurbf_kernels",
    "PARAMETERS",
    "FitResult", "fit", "fit_field", "render",
]
