"""The diagnostics that find an induction circuit in a trained model: in-context accuracy, per-head
previous-token, induction and copying scores, ablation, activation patching, and the phase change
in the loss.

Each runs on one CPU thread (:func:`labkit.core.threads.one_thread`): the matrices of these small
models are too small for threads to pay.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.threads import one_thread
from labkit.interp.induction_heads.clamps import ablation_hooks
from labkit.interp.induction_heads.tasks import TokenBatch
from labkit.interp.transformer import Transformer


@one_thread
@torch.no_grad()
def in_context_accuracy(model: Transformer, batch: TokenBatch, fwd_hooks=()) -> float:
    """Fraction of context-predictable positions where the argmax logit is the right next token."""
    logits = model.run_with_hooks(batch.tokens, fwd_hooks=fwd_hooks)
    m = batch.target_mask[:, :-1]
    return float((logits[:, :-1].argmax(-1)[m] == batch.tokens[:, 1:][m]).float().mean())


@torch.no_grad()
def match_and_copy_accuracy(batch: TokenBatch) -> float:
    """The in-context accuracy of the ideal one-token induction rule, read off the tokens alone: at each
    context-predictable position, predict the token that followed the most recent earlier occurrence of
    the current token (no earlier occurrence: wrong). It is below 1 because tokens recur by chance, and
    it does not depend on where the repeat sits, so it is the reference for shifted repeats: a model that
    does match-and-copy reaches it wherever the copy is; one that copies from a fixed distance does not."""
    t = batch.tokens
    P = t.shape[1]
    k = torch.arange(P, device=t.device)
    earlier = (t[:, :, None] == t[:, None, :]) & (k[None, None, :] < k[None, :, None]) & (k[None, None, :] < P - 1)
    last = torch.where(earlier, k[None, None, :], torch.full_like(k, -1)[None, None, :]).max(-1).values
    pred = torch.where(last >= 0, t.gather(1, (last + 1).clamp(max=P - 1)), torch.full_like(last, -1))
    m = batch.target_mask[:, :-1]
    return float((pred[:, :-1][m] == t[:, 1:][m]).float().mean())


@one_thread
@torch.no_grad()
def attention_scores(model: Transformer, batch: TokenBatch, fwd_hooks=()) -> dict[str, np.ndarray]:
    """Per-head previous-token and induction (prefix-matching) scores, each [n_layers, n_heads].

    previous-token score: mean attention from ``q`` to ``q - 1`` over all ``q >= 1``;
    induction score: mean attention from each repeated position ``q`` to its ideal source
    ``q - L + 1``, the token after the earlier occurrence of the current one (Olsson et al. 2022).
    Both are 1 for a perfect head and about ``1 / (q + 1)`` for a uniform one. ``fwd_hooks`` (clamps,
    ablations) apply during the measurement.
    """
    cfg = model.cfg
    names = [f"blocks.{l}.attn.hook_pattern" for l in range(cfg.n_layers)]
    _, cache = model.run_with_cache(batch.tokens, names=names, fwd_hooks=fwd_hooks)
    pats = torch.stack([cache[n] for n in names], 1)  # [b, layer, head, q, k]
    prev = pats.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, -1))
    m = batch.target_mask
    src = batch.source.clamp(min=0)
    at_src = pats.gather(-1, src[:, None, None, :, None].expand(*pats.shape[:-1], 1))[..., 0]  # [b, l, h, q]
    w = m[:, None, None, :].float()
    ind = (at_src * w).sum(dim=(0, -1)) / w.sum(dim=(0, -1))
    return {"prev_token": prev.cpu().numpy(), "induction": ind.cpu().numpy()}


@one_thread
@torch.no_grad()
def copying_scores(model: Transformer) -> np.ndarray:
    """Olsson et al. (2022) copying score of every head, [n_layers, n_heads], in [-1, 1].

    The head's OV circuit read from token to logit, ``M = LN(W_E) W_V^h W_O^h -> center -> * g_final
    -> W_U`` ([vocab, vocab]), scored by ``sum(lambda) / sum(|lambda|)`` over its eigenvalues: near 1
    when the head raises the logit of the token it attends to. LayerNorm's per-position scale is a
    positive factor and is left out (as is the positional embedding).
    """
    cfg = model.cfg
    out = np.zeros((cfg.n_layers, cfg.n_heads))
    for l, block in enumerate(model.blocks):
        E = model.W_E
        if block.ln1 is not None:
            E = F.layer_norm(E, E.shape[-1:], block.ln1.w, block.ln1.b)
        ov = torch.einsum("vd,hde,hef->hvf", E, block.attn.W_V, block.attn.W_O)
        if model.ln_final is not None:
            ov = (ov - ov.mean(-1, keepdim=True)) * model.ln_final.w
        M = (ov @ model.W_U).double().cpu()
        ev = torch.linalg.eigvals(M)
        out[l] = (ev.real.sum(-1) / ev.abs().sum(-1).clamp(min=1e-12)).numpy()
    return out


@one_thread
@torch.no_grad()
def head_ablation(model: Transformer, batch: TokenBatch) -> np.ndarray:
    """In-context accuracy with each head zero-ablated in turn, [n_layers, n_heads]."""
    cfg = model.cfg
    out = np.zeros((cfg.n_layers, cfg.n_heads))
    for l in range(cfg.n_layers):
        for h in range(cfg.n_heads):
            out[l, h] = in_context_accuracy(model, batch, ablation_hooks([(l, h)], cfg))
    return out


def control_heads(scores: dict[str, np.ndarray], identified: Sequence[tuple[int, int]],
                  prev_threshold: float = 0.5) -> list[tuple[int, int]]:
    """The heads to ablate as a control for ablating ``identified``: every head that is neither an
    identified induction head nor a previous-token head of layer 1 (the circuit's other half: its
    strongest head, and every other scoring at least ``prev_threshold``, the bar the induction heads
    clear; layer-1 previous-token heads can be redundant too). If ablating these barely moves the
    accuracy while ablating ``identified`` destroys it, the effect is specific to the circuit, not a
    matter of removing heads. When every head belongs to the circuit the list is empty."""
    prev = scores["prev_token"]
    keep = set(map(tuple, identified)) | {(0, int(np.argmax(prev[0])))}
    keep |= {(0, h) for h in range(prev.shape[1]) if prev[0, h] >= prev_threshold}
    return [(l, h) for l in range(prev.shape[0]) for h in range(prev.shape[1]) if (l, h) not in keep]


@one_thread
@torch.no_grad()
def patch_heads(model: Transformer, clean: TokenBatch, corrupt: TokenBatch) -> np.ndarray:
    """Activation patching (Meng et al. 2022; Wang et al. 2023): run the corrupted sequences with one
    head's ``z`` taken from the clean run; return the fraction of the clean-minus-corrupt log-prob of
    the correct next token it restores, [n_layers, n_heads] (1 = the head alone carries the effect)."""
    cfg = model.cfg
    names = [f"blocks.{l}.attn.hook_z" for l in range(cfg.n_layers)]
    clean_logits, cache = model.run_with_cache(clean.tokens, names=names)
    m = clean.target_mask[:, :-1]
    tgt = clean.tokens[:, 1:]

    def metric(logits):
        lp = logits[:, :-1].log_softmax(-1).gather(-1, tgt[..., None])[..., 0]
        return float(lp[m].mean())

    base_clean, base_corrupt = metric(clean_logits), metric(model(corrupt.tokens))
    gap = base_clean - base_corrupt
    if not abs(gap) > 1e-6:                   # nothing to restore (e.g. an untrained model): undefined, not inf
        warnings.warn(f"patch_heads: the clean and corrupted runs score the same ({base_clean:.4g} nats), so "
                      "the fraction restored is undefined; returning NaN.", RuntimeWarning, stacklevel=2)
        return np.full((cfg.n_layers, cfg.n_heads), np.nan)
    out = np.zeros((cfg.n_layers, cfg.n_heads))
    for l in range(cfg.n_layers):
        for h in range(cfg.n_heads):
            def fn(z, name, l=l, h=h):
                z = z.clone()
                z[:, :, h] = cache[f"blocks.{l}.attn.hook_z"][:, :, h]
                return z
            out[l, h] = (metric(model.run_with_hooks(corrupt.tokens, [(names[l], fn)])) - base_corrupt) / gap
    return out


def induction_at_phase_change(phase: dict, ckpt_steps: np.ndarray, induction: np.ndarray, eval_every: int,
                              threshold: float = 0.5) -> dict:
    """Whether the induction circuit forms *at* the phase change (Olsson et al. 2022): the phase change of
    :func:`detect_phase_change` is detected, and the best layer-2 induction score (``induction``:
    [n_ckpt, n_layers, n_heads], scored on shifted repeats) first reaches ``threshold`` within
    ``phase["window"] + eval_every`` steps of it, the resolution of the two measurements (the loss's
    smoothing window and the spacing of the checkpoints). A positional copier also shows a phase
    change, but its induction score on shifted repeats never rises; an untrained model shows neither.
    Returns ``formed_step`` (None if never), ``distance`` and ``formed_at_phase_change``."""
    best = np.asarray(induction)[:, -1].max(-1)
    hit = np.nonzero(best >= threshold)[0]
    formed = int(np.asarray(ckpt_steps)[hit[0]]) if len(hit) else None
    distance = None if formed is None else abs(formed - (phase["step"] + 1))
    ok = bool(phase["detected"] and distance is not None and distance <= phase["window"] + eval_every)
    return {"formed_step": formed, "distance": distance, "formed_at_phase_change": ok}


def detect_phase_change(losses: np.ndarray, window: int | None = None, min_drop: float = 0.25) -> dict:
    """The step where the (smoothed) loss falls fastest, and whether that is a phase change.

    The loss is smoothed by a centred moving average of ``window`` steps (default: 5% of training);
    ``step`` is where its slope is most negative. A gradual, convex decline (exponential, power law)
    falls fastest at the very start; a phase change is a plateau then a drop, so the fastest fall lies
    inside training and is faster than the fall at the start. ``rate_ratio`` is the fastest rate over
    the rate in the first window; ``drop`` is the fall of the smoothed loss from one window before
    ``step`` to one window after, as a fraction of the loss at the start. ``detected`` is ``step`` past
    the first window, ``rate_ratio >= 2`` (an inflection, not a decelerating decline) and
    ``drop >= min_drop`` (a large fall, not a wiggle on a plateau).
    """
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1 or len(losses) < 20 or not np.all(np.isfinite(losses)):
        raise ValueError(f"losses must be a finite 1-D array of at least 20 steps, got shape {losses.shape}.")
    n = len(losses)
    window = max(3, n // 20) if window is None else int(window)
    if not 2 <= window <= n // 4:
        raise ValueError(f"window must be between 2 and a quarter of the steps ({n // 4}), got {window}.")
    pad = window // 2
    padded = np.pad(losses, (pad, window - 1 - pad), mode="edge")
    smooth = np.convolve(padded, np.ones(window) / window, mode="valid")
    interior = slice(pad, n - pad)  # the edges of a moving average are biased by the padding
    rate = -np.gradient(smooth)
    step = int(np.argmax(rate[interior]) + pad)
    initial = max(float((smooth[pad] - smooth[pad + window]) / window), 1e-12)
    ratio = float(rate[step] / initial)
    drop = float((smooth[max(0, step - window)] - smooth[min(n - 1, step + window)]) / max(smooth[pad], 1e-12))
    detected = bool(step > pad + window and ratio >= 2.0 and drop >= min_drop)
    return {"step": step, "rate": float(rate[step]), "rate_ratio": ratio, "drop": drop, "detected": detected,
            "smooth": smooth, "window": window}
