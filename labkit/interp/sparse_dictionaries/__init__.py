"""Sparse dictionaries that undo superposition, behind one interface, with recovery metrics.

Every dictionary reads like a scikit-learn estimator (:class:`~.base.SparseDictionary`): ``fit(X)``
(a transcoder: ``fit(X, Y)``), ``encode``, ``decode`` and the learned unit atoms ``D_``. The room:

* :mod:`~.base` — the interface and the check of the activations;
* :mod:`~.sae` — the sparse autoencoders: ReLU (L1), TopK, JumpReLU, the transcoder, matching pursuit;
* :mod:`~.codebook` — the vector-quantised codebook (Tamkin et al. 2023), as a layer and as a dictionary;
* :mod:`~.seminmf` — semi-nonnegative matrix factorisation (Ding et al. 2010; Shafran et al. 2025);
* :mod:`~.superposition` — planted sparse features with their truth, and the toy model of superposition;
* :mod:`~.codebook_fsm` — the codebook finite-state-machine experiment (Tamkin et al. 2023, sec. 4.1);
* :mod:`~.metrics` — recovery against the truth (MMCS, fraction recovered, explained variance, L0, dead);
* :mod:`~.experiment` — every method side by side (:func:`compare`) and sparsity sweeps;
* :mod:`~.figures` — plotly figures (nothing there fits anything);
* :mod:`~.parameters` — the notebook's parameter rules (``PARAMETERS``).
"""
from labkit.interp.sparse_dictionaries.base import CONTROLS, SparseDictionary, check_activations
from labkit.interp.sparse_dictionaries.codebook import CodebookBottleneck, VQCodebook
from labkit.interp.sparse_dictionaries.codebook_fsm import (
    FSM,
    CodebookFSMRun,
    FSMBatch,
    code_purity,
    code_state_table,
    fsm_batch,
    next_state_probs,
    next_token_probs,
    random_fsm,
    state_codes,
    state_end_codes,
    steering_experiment,
    train_codebook_fsm,
    transition_accuracy,
)
from labkit.interp.sparse_dictionaries.experiment import METHODS, compare, fit_dictionary, make_methods, sweep
from labkit.interp.sparse_dictionaries.metrics import (
    evaluate,
    explained_variance,
    feature_cosines,
    latent_summary,
    max_cosines,
    recovery,
    top_activations,
)
from labkit.interp.sparse_dictionaries.parameters import PARAMETERS
from labkit.interp.sparse_dictionaries.sae import JumpReLUSAE, MatchingPursuitSAE, ReLUSAE, TopKSAE, Transcoder
from labkit.interp.sparse_dictionaries.seminmf import SemiNMF
from labkit.interp.sparse_dictionaries.superposition import (
    SparseFeatureData,
    ToyModel,
    make_sparse_features,
    random_directions,
    toy_model_data,
    train_toy_model,
    train_toy_models,
    transcoder_target,
)

__all__ = [
    "CONTROLS", "SparseDictionary", "check_activations",
    "ReLUSAE", "TopKSAE", "JumpReLUSAE", "Transcoder", "MatchingPursuitSAE",
    "CodebookBottleneck", "VQCodebook", "SemiNMF",
    "feature_cosines", "max_cosines", "recovery", "explained_variance", "evaluate", "top_activations",
    "latent_summary",
    "METHODS", "make_methods", "fit_dictionary", "compare", "sweep",
    "SparseFeatureData", "ToyModel", "make_sparse_features", "random_directions", "toy_model_data",
    "train_toy_model", "train_toy_models", "transcoder_target",
    "FSM", "FSMBatch", "CodebookFSMRun", "random_fsm", "fsm_batch", "train_codebook_fsm", "state_end_codes",
    "code_state_table", "code_purity", "next_state_probs", "transition_accuracy", "state_codes",
    "next_token_probs", "steering_experiment",
    "PARAMETERS",
]
