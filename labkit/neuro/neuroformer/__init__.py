"""Neuroformer: a generative transformer on spike tokens, its attention read as connectivity, and few-shot
decoding of behavior (Antoniades et al., ICLR 2024), on a simulated circuit with known wiring.

* :mod:`~labkit.neuro.neuroformer.simulate` — the truth: a LIF network on the worm's command-interneuron
  backbone, a shared stimulus and a behavior read from 4 motor neurons (:func:`simulate_circuit`);
* :mod:`~labkit.neuro.neuroformer.tokens` — spikes as (neuron id, time offset) tokens and back
  (:func:`tokenize`, :func:`detokenize`);
* :mod:`~labkit.neuro.neuroformer.model` — the model on :mod:`labkit.interp.transformer` (cross-attention
  to the past and the stimulus), autoregressive or masked (:class:`Neuroformer`);
* :mod:`~labkit.neuro.neuroformer.training` — pretraining (cached) and autoregressive :func:`generate`;
* :mod:`~labkit.neuro.neuroformer.connectivity` — :func:`attention_connectivity` and the baselines;
* :mod:`~labkit.neuro.neuroformer.decoding` — few-shot decoders and the statistics of generated spikes;
* :mod:`~labkit.neuro.neuroformer.experiment` — the drivers the notebook calls;
* :mod:`~labkit.neuro.neuroformer.figures` — plotly figures; :mod:`~.parameters` — ``PARAMETERS``.
"""
from labkit.neuro.neuroformer.connectivity import (
    attention_connectivity,
    direction_accuracy,
    edge_auc,
    glm_couplings,
    xcorr_asymmetry,
)
from labkit.neuro.neuroformer.experiment import CONTROLS, Study, prepare
from labkit.neuro.neuroformer.model import Neuroformer, make_batch
from labkit.neuro.neuroformer.parameters import PARAMETERS
from labkit.neuro.neuroformer.simulate import CircuitData, simulate_circuit, to_dense
from labkit.neuro.neuroformer.tokens import Tokens, detokenize, tokenize
from labkit.neuro.neuroformer.training import generate, pretrain

__all__ = ["attention_connectivity", "direction_accuracy", "edge_auc", "glm_couplings", "xcorr_asymmetry",
           "CONTROLS", "Study", "prepare", "Neuroformer", "make_batch", "PARAMETERS", "CircuitData",
           "simulate_circuit", "to_dense", "Tokens", "detokenize", "tokenize", "generate", "pretrain"]
