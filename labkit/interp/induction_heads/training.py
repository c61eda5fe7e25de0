"""Training a small transformer on an induction task, optionally under clamps, with checkpoints.

Training goes through :func:`labkit.core.train.train`; the checkpoints (per-head scores, accuracy and
attention patterns on held-out sequences) are taken by a callback after each ``eval_every`` steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_value
from labkit.core.threads import one_thread
from labkit.core.train import train
from labkit.interp.induction_heads.clamps import forward_clamped
from labkit.interp.induction_heads.diagnostics import attention_scores, in_context_accuracy
from labkit.interp.induction_heads.tasks import (
    TokenBatch,
    exemplar_label,
    in_context_loss,
    repeated_segments,
    shifted_repeats,
)
from labkit.interp.transformer import Transformer, TransformerConfig

CONTROLS = {
    "none": "the method as it is",
    "untrained": "a learning rate of zero: the model stays at its random initialisation (same batches, same checks)",
    "fixed_offset": "trained on repeats of one fixed segment length, n_ctx // 2, at offset 0, where copying from a "
                    "fixed relative position solves the task without any induction circuit",
}
"""The notebook's negative controls (its ``control`` parameter), applied to the main training run."""


@dataclass
class InductionRun:
    """What :func:`train_induction` returns: the model, the loss at each step, and checkpoints."""

    model: Transformer
    losses: np.ndarray                  # [steps] in-context loss of each training batch
    ckpt_steps: np.ndarray              # [n_ckpt] steps at which checkpoints were taken (after the step)
    prev_token: np.ndarray              # [n_ckpt, n_layers, n_heads]
    induction: np.ndarray               # [n_ckpt, n_layers, n_heads]
    accuracy: np.ndarray                # [n_ckpt] in-context accuracy on the evaluation batch (no clamps)
    patterns: np.ndarray                # [n_ckpt, n_display, n_layers, n_heads, pos, pos] (float16)
    display_tokens: np.ndarray | None = None     # [n_display, pos] the held-out sequences ``patterns`` are computed on
    states: list = field(default_factory=list)   # state_dicts at the checkpoints (if kept)


@one_thread
def train_induction(cfg: TransformerConfig, *, steps: int, batch_size: int, lr: float = 1e-3,
                    task: str = "repeat", min_len: int = 4, max_len: int | None = None,
                    n_pairs: int = 2, n_labels: int = 4, eval_every: int = 50, eval_batch: int = 256,
                    prev_token=(), match=(), ablate=(), copy_head=None, seed: int = 0, device="cpu",
                    keep_states: bool = False, n_display: int | None = None, control: str = "none",
                    desc: str = "training") -> InductionRun:
    """Train ``Transformer(cfg)`` on fresh batches of ``task`` ("repeat": :func:`repeated_segments`;
    "exemplar": :func:`exemplar_label`) with the in-context loss, optionally under clamps
    (:func:`forward_clamped`), and take checkpoints every ``eval_every`` steps.

    Every batch is drawn from its own seed, derived from ``seed`` and the step, so the same seed gives
    the same run; evaluation uses held-out sequences (a disjoint seed range). On the repeat task the
    checkpoints score *shifted* repeats (:func:`shifted_repeats`: a random gap between the copies), so
    that a head copying from a fixed distance does not pass for an induction head.

    ``control`` (see :data:`CONTROLS`) replaces the method with a null: ``"untrained"`` trains with a
    learning rate of zero; ``"fixed_offset"`` trains on repeats of one segment length, ``n_ctx // 2``,
    which a positional copier solves. Each checkpoint keeps the
    attention patterns of the first ``n_display`` held-out sequences (default: 8, or ``eval_batch``
    if smaller), for the explorer, in float16 (they are only drawn: half the memory of a long run).
    """
    owner = "train_induction"
    steps = check_value("steps", steps, (int, 1, None), owner)
    batch_size = check_value("batch_size", batch_size, (int, 1, None), owner)
    eval_every = check_value("eval_every", eval_every, (int, 1, None), owner)
    eval_batch = check_value("eval_batch", eval_batch, (int, 1, None), owner)
    n_display = min(8, eval_batch) if n_display is None else \
        check_value("n_display", n_display, (int, 1, eval_batch), owner)
    task = check_value("task", task, ["repeat", "exemplar"], owner)
    control = check_value("control", control, list(CONTROLS), owner)
    eval_len = min(min_len, (cfg.n_ctx - 1) // 2)      # the held-out repeats, whatever the control trains on
    if control == "fixed_offset":
        if task != "repeat":
            raise ValueError(f"control 'fixed_offset' applies to the repeat task, got task {task!r}.")
        min_len = max_len = cfg.n_ctx // 2
    if control == "untrained":
        lr = 0.0
    if task == "exemplar" and 2 * n_pairs + 2 > cfg.n_ctx:
        raise ValueError(f"n_pairs={n_pairs} needs n_ctx >= {2 * n_pairs + 2}, the model has {cfg.n_ctx}.")
    device = resolve_device(device)
    torch.manual_seed(seed)
    model = Transformer(cfg).to(device)

    def draw(n, s):
        if task == "repeat":
            return repeated_segments(n, cfg.n_ctx, cfg.d_vocab, min_len=min_len, max_len=max_len, seed=s, device=device)
        return exemplar_label(n, n_pairs, cfg.d_vocab - n_labels, n_labels, seed=s, device=device)

    base = 1_000_003 * (seed + 1)
    held_out = (shifted_repeats(eval_batch, cfg.n_ctx, cfg.d_vocab, min_len=eval_len,
                                seed=base - 1, device=device)
                if task == "repeat" else draw(eval_batch, base - 1))
    clamps = dict(prev_token=prev_token, match=match, ablate=ablate, copy_head=copy_head)
    ckpt_steps, prev, ind, acc, pats, states = [], [], [], [], [], []

    def checkpoint(step):
        model.eval()
        sc = attention_scores(model, held_out)
        ckpt_steps.append(step)
        prev.append(sc["prev_token"])
        ind.append(sc["induction"])
        acc.append(in_context_accuracy(model, held_out))
        with torch.no_grad():
            names = [f"blocks.{l}.attn.hook_pattern" for l in range(cfg.n_layers)]
            _, cache = model.run_with_cache(held_out.tokens[:n_display], names=names)
            pats.append(torch.stack([cache[n] for n in names], dim=1).half().cpu().numpy())   # (n_display, L, H, P, P)
        if keep_states:
            states.append({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        model.train()

    def loss_fn(step):
        batch = draw(batch_size, base + step)
        return in_context_loss(forward_clamped(model, batch, **clamps), batch)

    def take_checkpoints(step, loss):
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            checkpoint(step + 1)

    checkpoint(0)
    losses = train(model, loss_fn, steps, lr=lr, desc=desc, callbacks=[take_checkpoints], name="induction training")
    return InductionRun(model, losses, np.array(ckpt_steps), np.array(prev), np.array(ind), np.array(acc),
                        np.array(pats), held_out.tokens[:n_display].cpu().numpy(), states)


def eval_batch_for(run_or_cfg, n: int = 256, *, seed: int = 12345, min_len: int = 4, max_len: int | None = None,
                   shifted: bool = False, device="cpu") -> TokenBatch:
    """A held-out batch of repeated segments for a model (a seed no training batch uses); ``shifted``:
    repeats with a random gap between the copies (:func:`shifted_repeats`; ``max_len`` is then ignored)."""
    cfg = run_or_cfg.model.cfg if isinstance(run_or_cfg, InductionRun) else run_or_cfg
    if shifted:
        return shifted_repeats(n, cfg.n_ctx, cfg.d_vocab, min_len=min_len, seed=seed + 7_919_001, device=device)
    return repeated_segments(n, cfg.n_ctx, cfg.d_vocab, min_len=min_len, max_len=max_len, seed=seed + 7_919_000,
                             device=device)
