"""State-switching GLMs with Gaussian and one-hot priors (HMM-GLM; Li et al. 2023).

``SwitchingGLM`` is the estimator, ``simulate_switching_glm`` the simulator with its ground truth on a
backbone of :mod:`labkit.data.networks` (random or *C. elegans*), ``PoissonHMM`` the plain Poisson HMM that
shares the E-step, ``reference_forward_backward`` the textbook recursion that E-step reproduces, and
``load_recording`` / ``analyze_recording`` the same models on a user's NWB file (no truth), and
``figures`` the plotly builders of the notebook ``notebooks/neuro/switching_glm.ipynb``.
"""
from labkit.neuro.switching_glm.checks import check_counts
from labkit.neuro.switching_glm.experiment import (
    CONTROLS,
    control_spikes,
    coupling_captured,
    fit_models,
    held_out_curve,
    independent_log_likelihood,
    score_models,
    true_model,
)
from labkit.neuro.switching_glm.history import convolve_history, history_basis
from labkit.neuro.switching_glm.hmm import PoissonHMM, forward_backward, log_likelihood, viterbi
from labkit.neuro.switching_glm.metrics import backbone_roc, match_states, signed_accuracy, state_accuracy
from labkit.neuro.switching_glm.model import SwitchingGLM
from labkit.neuro.switching_glm.parameters import PARAMETERS
from labkit.neuro.switching_glm.recording import (
    Recording,
    RecordingFit,
    analyze_recording,
    cross_validate_states,
    load_recording,
    save_fit,
    trial_folds,
)
from labkit.neuro.switching_glm.reference import reference_forward_backward
from labkit.neuro.switching_glm.simulate import SwitchingData, simulate_switching_glm

__all__ = ["SwitchingGLM", "PoissonHMM", "forward_backward", "log_likelihood", "viterbi", "reference_forward_backward",
           "check_counts", "history_basis", "convolve_history", "simulate_switching_glm", "SwitchingData",
           "match_states", "state_accuracy", "backbone_roc", "fit_models", "score_models", "held_out_curve",
           "true_model", "PARAMETERS", "CONTROLS", "control_spikes", "coupling_captured", "signed_accuracy",
           "independent_log_likelihood", "Recording", "RecordingFit", "load_recording", "analyze_recording",
           "trial_folds", "cross_validate_states", "save_fit"]
