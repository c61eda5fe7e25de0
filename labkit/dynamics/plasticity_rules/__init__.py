"""Plasticity rules: credit assignment without backprop (feedback alignment, counter-current learning) and
learning a stream of tasks without forgetting (Hebbian orthogonal projection, HLOP).

* :mod:`~labkit.dynamics.plasticity_rules.rules` — :class:`MLP` trained by "bp", "fa" or "ccl" through the lab's
  one training loop; :func:`update_alignment` (per-layer cosine of a rule's update with BP's);
* :mod:`~labkit.dynamics.plasticity_rules.continual` — :class:`RotatedDigits` (the task stream),
  :class:`StreamNet`, :class:`HebbianSubspace` (Oja's subspace rule), :func:`exact_subspace` (SVD, GPM's energy
  criterion), :class:`OrthogonalProjection` (an optimizer wrapper), :func:`acc_bwt`;
* :mod:`~labkit.dynamics.plasticity_rules.experiment` — the runs the notebook makes (:func:`credit_study`,
  :func:`run_stream`, :func:`stream_study`) and the negative control ``control="null"``;
* :mod:`~labkit.dynamics.plasticity_rules.figures` — plotly figures (nothing there trains anything);
* :mod:`~labkit.dynamics.plasticity_rules.parameters` — the notebook's parameter rules, ``PARAMETERS``.
"""
from labkit.dynamics.plasticity_rules.continual import (
    HebbianSubspace,
    OrthogonalProjection,
    RotatedDigits,
    StreamNet,
    acc_bwt,
    exact_subspace,
    subspace_cos2,
)
from labkit.dynamics.plasticity_rules.experiment import (
    CONTROLS,
    RuleRun,
    StreamRun,
    credit_study,
    run_stream,
    stream_study,
    stream_summary,
    train_rule,
)
from labkit.dynamics.plasticity_rules.parameters import PARAMETERS
from labkit.dynamics.plasticity_rules.rules import MLP, RULES, fa_linear, update_alignment, weight_grads

__all__ = [
    "MLP", "RULES", "fa_linear", "update_alignment", "weight_grads",
    "HebbianSubspace", "OrthogonalProjection", "RotatedDigits", "StreamNet", "acc_bwt", "exact_subspace",
    "subspace_cos2",
    "CONTROLS", "RuleRun", "StreamRun", "credit_study", "run_stream", "stream_study", "stream_summary", "train_rule",
    "PARAMETERS",
]
