"""Induction heads: the tasks that grow them, the training that watches them form, the diagnostics
that find them.

An induction head does *match-and-copy* (Elhage et al. 2021; Olsson et al. 2022): on a sequence
``... A B ... A`` it attends from the second ``A`` to the ``B`` after the first one and predicts
``B``. In a two-layer attention-only transformer (:mod:`labkit.interp.transformer`, the track's
shared model) it is a two-head circuit: a *previous-token* head in layer 1 writes "the token before
me was A" into position ``B``; a layer-2 head whose query is the current token ``A`` matches that key
(K-composition) and copies ``B`` to the output through its OV circuit. Singh et al. (2024), "What
needs to go right for an induction head?", dissect its abrupt formation by clamping activations to
their ideal values during training. The room:

* :mod:`~.tasks` — repeated segments and the exemplar-label task, with their truth, and the loss;
* :mod:`~.clamps` — ablation and clamping hooks (previous-token, match and copy clamps);
* :mod:`~.diagnostics` — accuracy, per-head scores, ablation, patching, the phase change;
* :mod:`~.training` — :func:`train_induction`, with checkpoints;
* :mod:`~.figures` — plotly figures (nothing there trains anything);
* :mod:`~.parameters` — the notebook's parameter rules (``PARAMETERS``).
"""
from labkit.interp.induction_heads.clamps import (
    ablation_hooks,
    clamp_hooks,
    copy_logits,
    forward_clamped,
    ideal_prev_token_pattern,
)
from labkit.interp.induction_heads.diagnostics import (
    attention_scores,
    control_heads,
    copying_scores,
    detect_phase_change,
    head_ablation,
    in_context_accuracy,
    induction_at_phase_change,
    match_and_copy_accuracy,
    patch_heads,
)
from labkit.interp.induction_heads.parameters import PARAMETERS
from labkit.interp.induction_heads.tasks import (
    TokenBatch,
    corrupt_first_copy,
    exemplar_label,
    in_context_loss,
    repeated_segments,
    shifted_repeats,
)
from labkit.interp.induction_heads.training import CONTROLS, InductionRun, eval_batch_for, train_induction

__all__ = [
    "TokenBatch", "repeated_segments", "shifted_repeats", "exemplar_label", "corrupt_first_copy", "in_context_loss",
    "ablation_hooks", "ideal_prev_token_pattern", "clamp_hooks", "copy_logits", "forward_clamped",
    "in_context_accuracy", "attention_scores", "copying_scores", "head_ablation", "control_heads", "patch_heads",
    "detect_phase_change", "induction_at_phase_change", "match_and_copy_accuracy",
    "CONTROLS", "InductionRun", "train_induction", "eval_batch_for",
    "PARAMETERS",
]
