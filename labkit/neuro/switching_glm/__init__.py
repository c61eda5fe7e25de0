"""State-switching GLMs with Gaussian and one-hot priors (HMM-GLM; Li et al. 2023).

``SwitchingGLM`` is the estimator, ``simulate_switching_glm`` the simulator with its ground truth on a
random or *C. elegans* backbone, ``PoissonHMM`` the plain Poisson HMM that shares the E-step, and
``figures`` the plotly builders of the notebook ``notebooks/neuro/switching_glm.ipynb``.
"""
from labkit.neuro.switching_glm.hmm import PoissonHMM, forward_backward, viterbi
from labkit.neuro.switching_glm.metrics import backbone_roc, match_states, state_accuracy
from labkit.neuro.switching_glm.model import SwitchingGLM
from labkit.neuro.switching_glm.simulate import (Backbone, SwitchingData, connectome_backbone, random_backbone,
                                                 simulate_switching_glm, worm_backbone)
from labkit.neuro.switching_glm.experiment import fit_models, held_out_curve, score_models, true_model

__all__ = ["SwitchingGLM", "PoissonHMM", "forward_backward", "viterbi", "simulate_switching_glm", "SwitchingData",
           "Backbone", "random_backbone", "connectome_backbone", "worm_backbone", "match_states", "state_accuracy",
           "backbone_roc", "fit_models", "score_models", "held_out_curve", "true_model"]
