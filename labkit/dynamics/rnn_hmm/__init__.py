"""An RNN that emulates a hidden Markov model, reverse-engineered (Torre, Viscione, Pompe, Grewe & Mante 2025).

A bias-free ReLU RNN driven only by noise learns to emit an HMM's symbol sequences (trained by a
Sinkhorn divergence between batches of sequences); then its mechanism is read off: without noise it
falls to the origin, with noise it dwells in slow regions joined by fast transitions, and a few
"kick neurons" start the transitions.

* :mod:`~labkit.dynamics.rnn_hmm.hmm` — :class:`HMMSpec`: the chain, cycle and fully connected HMMs, with their truth;
* :mod:`~labkit.dynamics.rnn_hmm.model` — :class:`NoiseRNN`;
* :mod:`~labkit.dynamics.rnn_hmm.sinkhorn` — :func:`sinkhorn_divergence` (log-domain, ε-scaling, debiased);
* :mod:`~labkit.dynamics.rnn_hmm.stats` — :func:`emission_stats`, :func:`residency_time`;
* :mod:`~labkit.dynamics.rnn_hmm.analysis` — :func:`fixed_points`, :func:`collapse`, :func:`kick_screen`,
  :func:`silencing_test`;
* :mod:`~labkit.dynamics.rnn_hmm.experiment` — :func:`train_rnn` and the comparisons the notebook runs;
* :mod:`~labkit.dynamics.rnn_hmm.metrics` — the recorded numbers;
* :mod:`~labkit.dynamics.rnn_hmm.figures` — plotly figures (nothing there trains anything).
"""

from labkit.dynamics.rnn_hmm.analysis import (
    FixedPoints,
    KickScreen,
    SilencingTest,
    cluster_runs,
    collapse,
    fixed_points,
    kick_screen,
    silencing_test,
    switch_rates,
)
from labkit.dynamics.rnn_hmm.experiment import CONTROLS, Trained, compare_stats, sample_rnn, train_rnn, with_weights
from labkit.dynamics.rnn_hmm.hmm import KINDS, HMMSample, HMMSpec
from labkit.dynamics.rnn_hmm.model import NoiseRNN, Rollout, gumbel_hard
from labkit.dynamics.rnn_hmm.parameters import PARAMETERS
from labkit.dynamics.rnn_hmm.sinkhorn import sinkhorn_divergence
from labkit.dynamics.rnn_hmm.stats import (
    RESIDENCY_CLASSES,
    EmissionStats,
    emission_stats,
    max_frequency_error,
    max_transition_error,
    residency_class,
    residency_time,
)

__all__ = [
    "FixedPoints", "KickScreen", "SilencingTest", "cluster_runs", "collapse", "fixed_points", "kick_screen",
    "silencing_test", "switch_rates", "CONTROLS", "Trained", "compare_stats", "sample_rnn", "train_rnn",
    "with_weights", "KINDS", "HMMSample", "HMMSpec", "NoiseRNN", "Rollout", "gumbel_hard", "PARAMETERS",
    "sinkhorn_divergence", "RESIDENCY_CLASSES", "EmissionStats", "emission_stats", "max_frequency_error",
    "max_transition_error", "residency_class", "residency_time",
]
