"""Rich and lazy learning: how the initial connectivity sets how far learning moves a network, and
critical learning periods in deep linear networks.

* :mod:`~labkit.dynamics.rich_lazy.tasks` — 8-step decision tasks (perceptual, context-dependent, delayed);
* :mod:`~labkit.dynamics.rich_lazy.rnn` — Liu et al.'s ReLU RNN with a rank-r initial W_rec;
* :mod:`~labkit.dynamics.rich_lazy.linear` — Saxe's hierarchy and closed form, Kleinman et al.'s
  :class:`MultipathwayNet`, the deficit schedule and the mode ODE;
* :mod:`~labkit.dynamics.rich_lazy.experiment` — the sweeps the notebook runs (:func:`rank_sweep`,
  :func:`saxe_run`, :func:`deficit_study`, :func:`onset_sweep`);
* :mod:`~labkit.dynamics.rich_lazy.metrics` — the recorded numbers;
* :mod:`~labkit.dynamics.rich_lazy.figures` — plotly figures (nothing there trains anything).

The shared measures (``Ensemble``, ``kernel_alignment``, ``effective_rank``, ``tangent_kernel`` ...) live
in :mod:`labkit.dynamics.common`.
"""

from labkit.dynamics.rich_lazy.experiment import (
    CONTROLS,
    DeficitStudy,
    RankSweep,
    SaxeRun,
    deficit_study,
    onset_sweep,
    rank_sweep,
    saxe_euler,
    saxe_run,
    snapshot_steps,
)
from labkit.dynamics.rich_lazy.linear import (
    MultipathwayNet,
    PathwayRuns,
    deficit_schedule,
    hierarchy,
    mode_init,
    mode_ode,
    modes,
    saxe_closed_form,
    train_pathways,
)
from labkit.dynamics.rich_lazy.parameters import PARAMETERS
from labkit.dynamics.rich_lazy.rnn import ReluRNN, aligned_recurrent_init, recurrent_init, task_loss
from labkit.dynamics.rich_lazy.tasks import COHERENCES, TASKS, Trials, make_trials

__all__ = [
    "CONTROLS",
    "DeficitStudy",
    "RankSweep",
    "SaxeRun",
    "deficit_study",
    "onset_sweep",
    "rank_sweep",
    "saxe_euler",
    "saxe_run",
    "snapshot_steps",
    "MultipathwayNet",
    "PathwayRuns",
    "deficit_schedule",
    "hierarchy",
    "mode_init",
    "mode_ode",
    "modes",
    "saxe_closed_form",
    "train_pathways",
    "PARAMETERS",
    "ReluRNN",
    "aligned_recurrent_init",
    "recurrent_init",
    "task_loss",
    "COHERENCES",
    "TASKS",
    "Trials",
    "make_trials",
]
