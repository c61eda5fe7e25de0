"""Most discriminative stimuli (Burg et al., ICLR 2024): cluster neurons into functional types by the stimuli that
tell the clusters apart, through a digital twin.

* :mod:`~labkit.neuro.discriminative_stimuli.simulate` — the ground truth: retinal types as linear–nonlinear
  cells (difference-of-Gaussians RF, mono- or biphasic filter, softplus, Poisson counts) and their white-noise
  recording (:func:`simulate_retina`), plus new cells for the model-free test (:func:`held_out_cells`);
* :mod:`~labkit.neuro.discriminative_stimuli.twin` — the digital twin, a 2-layer spatiotemporal convolutional
  core with a per-neuron point readout (:class:`DigitalTwin`);
* :mod:`~labkit.neuro.discriminative_stimuli.mds` — the contrastive objective, the batched M-step, the E-step and
  the alternation (:func:`mds_cluster`);
* :mod:`~labkit.neuro.discriminative_stimuli.metrics` — ARI and Hungarian-matched accuracy against the truth;
* :mod:`~labkit.neuro.discriminative_stimuli.experiment` — the drivers the notebook calls, the k-means baseline
  and the negative control (``control="shared_readout"``);
* :mod:`~labkit.neuro.discriminative_stimuli.figures` — plotly figures (nothing there fits anything);
* :mod:`~labkit.neuro.discriminative_stimuli.parameters` — the notebook's parameter rules, ``PARAMETERS``.
"""
from labkit.neuro.discriminative_stimuli.experiment import CONTROLS, Study, cluster, fit_twin, run_study
from labkit.neuro.discriminative_stimuli.mds import (
    LR,
    MAX_ITER,
    MAX_STEPS,
    TEMPERATURE,
    MDSResult,
    cluster_means,
    contrastive_objective,
    e_step,
    mds_cluster,
    optimize_stimuli,
)
from labkit.neuro.discriminative_stimuli.metrics import ari, matched_accuracy
from labkit.neuro.discriminative_stimuli.parameters import PARAMETERS
from labkit.neuro.discriminative_stimuli.simulate import (
    TYPES,
    Cells,
    LNPopulation,
    Retina,
    draw_cells,
    held_out_cells,
    simulate_retina,
    type_names,
)
from labkit.neuro.discriminative_stimuli.twin import DigitalTwin, TwinNet

__all__ = [
    "CONTROLS", "Study", "cluster", "fit_twin", "run_study",
    "LR", "MAX_ITER", "MAX_STEPS", "TEMPERATURE", "MDSResult", "cluster_means", "contrastive_objective", "e_step",
    "mds_cluster", "optimize_stimuli",
    "ari", "matched_accuracy", "PARAMETERS",
    "TYPES", "Cells", "LNPopulation", "Retina", "draw_cells", "held_out_cells", "simulate_retina", "type_names",
    "DigitalTwin", "TwinNet",
]
