"""Induction heads: the tasks that grow them, the training loop, and the diagnostics that find them.

An induction head does *match-and-copy* (Elhage et al. 2021; Olsson et al. 2022): on a sequence
``... A B ... A`` it attends from the second ``A`` to the ``B`` after the first one and predicts
``B``. In a two-layer attention-only transformer it is a two-head circuit: a *previous-token* head in
layer 1 writes "the token before me was A" into position ``B``; a layer-2 head whose query is the
current token ``A`` matches that key (K-composition) and copies ``B`` to the output through its OV
circuit. Singh et al. (2024), "What needs to go right for an induction head?", dissect its abrupt
formation by *clamping* ("artificial optogenetics") activations to their ideal values during
training; :func:`clamp_hooks` implements their three clamps for the tasks here:

* previous-token clamp: a layer-1 head's attention pattern is set to attend to position ``q-1``;
* match clamp: a layer-2 head's pattern at the repeated positions is set to the ideal induction
  pattern (attend to ``q - L + 1``), so only its copying (OV) must be learned;
* copy clamp: the output logits are the layer-2 head's pre-softmax scores, scattered onto the tokens
  they point at, logits of tokens not in context set to -1e9 (their ``opto_perfect_copy_from_head_pattern``),
  so only the matching (QK, with the previous-token head upstream) must be learned.

As in the paper's clamping runs, the other layer-2 heads can be silenced (values ablated to zero,
their ``opto_ablate_heads``), so one head carries the circuit.

Tasks. :func:`repeated_segments` draws uniform random tokens with one random segment of random
length ``L`` repeated immediately, at a random offset: nothing predicts the repeated half but the
first copy, and because ``L`` and the offset vary, a head cannot solve it by a fixed positional
offset; it needs the content-based circuit. :func:`exemplar_label` is the paper's exemplar-label
few-shot task with token exemplars: ``x1 y1 x2 y2 ... xq`` with labels freshly assigned in every
sequence, so the query's label can only be read from context.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.progress import trange
from labkit.interp.transformer import Transformer, TransformerConfig


def single_threaded(fn):
    """Run ``fn`` with one CPU intra-op thread (restored afterwards). The matrices of these small
    models are too small for threads to pay, and on a busy machine spinning OpenMP threads cost an
    order of magnitude in wall time (measured: 29 ms against 400 ms per training step). GPU work is
    unaffected."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        before = torch.get_num_threads()
        if before == 1:
            return fn(*args, **kwargs)
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)
    return wrapper


# ----------------------------------------------------------------------------------------- tasks


@dataclass
class TokenBatch:
    """Sequences with their ground truth.

    ``target_mask[b, q]`` marks the positions whose next token is determined by context (the loss
    and the in-context accuracy use only these); ``source[b, q]`` is, at those positions, the key
    position an ideal induction head attends to (the token to copy), -1 elsewhere.
    """

    tokens: torch.Tensor        # [batch, pos] long
    target_mask: torch.Tensor   # [batch, pos] bool: position q predicts tokens[q + 1] from context
    source: torch.Tensor        # [batch, pos] long: the position holding tokens[q + 1] earlier, or -1
    seg_len: torch.Tensor | None = None   # [batch] repeated-segment length L (repeated_segments only)
    offset: torch.Tensor | None = None    # [batch] where the first copy starts

    def to(self, device) -> "TokenBatch":
        move = lambda t: None if t is None else t.to(device)
        return TokenBatch(move(self.tokens), move(self.target_mask), move(self.source), move(self.seg_len), move(self.offset))

    def __len__(self) -> int:
        return self.tokens.shape[0]


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def repeated_segments(batch: int, n_ctx: int, d_vocab: int, *, min_len: int = 4, max_len: int | None = None,
                      seed: int = 0, device="cpu") -> TokenBatch:
    """Uniform random tokens with one segment of length ``L ~ U{min_len..max_len}`` repeated at once.

    Layout per sequence: ``noise[:a] | S (L tokens) | S again | noise``, with the offset ``a`` uniform
    over the positions that fit. Position ``q`` in the second copy (except its last) predicts
    ``tokens[q + 1] = tokens[q - L + 1]``: that is the ideal induction source.
    """
    batch = _check_int("batch", batch, 1)
    n_ctx = _check_int("n_ctx", n_ctx, 4)
    d_vocab = _check_int("d_vocab", d_vocab, 2)
    max_len = n_ctx // 2 if max_len is None else max_len
    min_len = _check_int("min_len", min_len, 2)
    max_len = _check_int("max_len", max_len, min_len)
    if 2 * max_len > n_ctx:
        raise ValueError(f"max_len must be at most n_ctx // 2 = {n_ctx // 2} so two copies fit, got {max_len}.")
    g = torch.Generator().manual_seed(int(seed))
    tokens = torch.randint(0, d_vocab, (batch, n_ctx), generator=g)
    L = torch.randint(min_len, max_len + 1, (batch,), generator=g)
    a = (torch.rand(batch, generator=g) * (n_ctx - 2 * L + 1)).long()
    pos = torch.arange(n_ctx)[None]
    second = (pos >= (a + L)[:, None]) & (pos < (a + 2 * L)[:, None])
    tokens = tokens.gather(1, torch.where(second, pos - L[:, None], pos))
    target_mask = (pos >= (a + L)[:, None]) & (pos < (a + 2 * L - 1)[:, None])
    source = torch.where(target_mask, pos - L[:, None] + 1, torch.full_like(pos, -1))
    return TokenBatch(tokens, target_mask, source, L, a).to(device)


def exemplar_label(batch: int, n_pairs: int, n_classes: int, n_labels: int, *, seed: int = 0, device="cpu") -> TokenBatch:
    """The exemplar-label in-context task of Singh et al. (2024), with token exemplars.

    ``x1 y1 x2 y2 ... xn yn xq``: ``n_pairs`` distinct exemplar classes (token ids ``0..n_classes-1``),
    each paired with a label (ids ``n_classes..n_classes+n_labels-1``) drawn afresh for every sequence
    (their ``fs_relabel``), and a query ``xq`` equal to one of the exemplars. The only position with a
    target is the query, whose answer is the label after the matching exemplar; the vocabulary size is
    ``n_classes + n_labels``.
    """
    batch = _check_int("batch", batch, 1)
    n_pairs = _check_int("n_pairs", n_pairs, 1)
    n_classes = _check_int("n_classes", n_classes, n_pairs)
    n_labels = _check_int("n_labels", n_labels, 2)
    g = torch.Generator().manual_seed(int(seed))
    classes = torch.rand(batch, n_classes, generator=g).argsort(1)[:, :n_pairs]
    labels = n_classes + torch.randint(0, n_labels, (batch, n_pairs), generator=g)
    which = torch.randint(0, n_pairs, (batch,), generator=g)
    P = 2 * n_pairs + 1
    tokens = torch.empty(batch, P + 1, dtype=torch.long)
    tokens[:, 0:2 * n_pairs:2] = classes
    tokens[:, 1:2 * n_pairs:2] = labels
    rows = torch.arange(batch)
    tokens[:, 2 * n_pairs] = classes[rows, which]
    tokens[:, P] = labels[rows, which]          # the answer, as the "next token" after the query
    target_mask = torch.zeros(batch, P + 1, dtype=torch.bool)
    target_mask[:, 2 * n_pairs] = True
    source = torch.full((batch, P + 1), -1, dtype=torch.long)
    source[rows, 2 * n_pairs] = 2 * which + 1
    return TokenBatch(tokens, target_mask, source).to(device)


# ----------------------------------------------------------------------------------------- hooks


def _heads_by_layer(heads: Iterable[tuple[int, int]], cfg: TransformerConfig) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for item in heads:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError(f"heads must be (layer, head) pairs, got {item!r}.")
        layer, head = int(item[0]), int(item[1])
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            raise ValueError(f"head ({layer}, {head}) does not exist: the model has {cfg.n_layers} layers of {cfg.n_heads} heads.")
        out.setdefault(layer, []).append(head)
    return out


def ablation_hooks(heads: Iterable[tuple[int, int]], cfg: TransformerConfig) -> list:
    """Hooks that zero the outputs ``z`` of the given (layer, head) pairs (zero-ablation of values,
    as ``opto_ablate_heads`` in Singh et al.'s code: with the pattern summing to 1, zero values give
    zero ``z``)."""
    hooks = []
    for layer, hs in _heads_by_layer(heads, cfg).items():
        idx = sorted(set(hs))

        def fn(z, name, idx=idx):
            z = z.clone()
            z[:, :, idx] = 0.0
            return z
        hooks.append((f"blocks.{layer}.attn.hook_z", fn))
    return hooks


def ideal_prev_token_pattern(n_pos: int, device="cpu") -> torch.Tensor:
    """[q, k]: all attention on ``k = q - 1`` (position 0 attends to itself)."""
    P = torch.zeros(n_pos, n_pos, device=device)
    P[0, 0] = 1.0
    idx = torch.arange(1, n_pos, device=device)
    P[idx, idx - 1] = 1.0
    return P


def clamp_hooks(batch: TokenBatch, cfg: TransformerConfig, *, prev_token: Sequence[tuple[int, int]] = (),
                match: Sequence[tuple[int, int]] = (), ablate: Sequence[tuple[int, int]] = ()) -> list:
    """Hooks that clamp attention patterns to their ideal values (Singh et al. 2024, sec. 4).

    ``prev_token`` heads attend to the previous position everywhere; ``match`` heads attend to the
    ideal induction source at every position with a target (elsewhere their pattern is their own);
    ``ablate`` heads have their values zeroed. Gradients flow through everything not clamped.
    """
    hooks = ablation_hooks(ablate, cfg)
    P = batch.tokens.shape[1]
    pt = _heads_by_layer(prev_token, cfg)
    mt = _heads_by_layer(match, cfg)
    overlap = {(l, h) for l, hs in pt.items() for h in hs} & {(l, h) for l, hs in mt.items() for h in hs}
    if overlap:
        raise ValueError(f"a head cannot be clamped both to previous-token and to match: {sorted(overlap)}.")
    if pt:
        pt_ideal = ideal_prev_token_pattern(P, batch.tokens.device)
        for layer, hs in pt.items():
            def fn(pattern, name, hs=sorted(set(hs)), ideal=pt_ideal):
                pattern = pattern.clone()
                pattern[:, hs] = ideal
                return pattern
            hooks.append((f"blocks.{layer}.attn.hook_pattern", fn))
    if mt:
        rows = batch.target_mask  # [b, q]
        match_ideal = F.one_hot(batch.source.clamp(min=0), P).float()  # [b, q, k]
        for layer, hs in mt.items():
            def fn(pattern, name, hs=sorted(set(hs)), rows=rows, ideal=match_ideal):
                pattern = pattern.clone()
                pattern[:, hs] = torch.where(rows[:, None, :, None], ideal[:, None], pattern[:, hs])
                return pattern
            hooks.append((f"blocks.{layer}.attn.hook_pattern", fn))
    return hooks


def copy_logits(scores: torch.Tensor, tokens: torch.Tensor, d_vocab: int) -> torch.Tensor:
    """Perfect copying from one head's attention: the logit of each token in context is the head's
    pre-softmax score on (the best of) the positions holding it, every other token gets -1e9.

    ``scores`` [batch, q, k] (causally masked with -inf), ``tokens`` [batch, k]; returns [batch, q, vocab].
    """
    B, Q, K = scores.shape
    out = torch.full((B, Q, d_vocab), -1e9, dtype=scores.dtype, device=scores.device)
    return out.scatter_reduce(2, tokens[:, None, :K].expand(B, Q, K), scores, reduce="amax", include_self=True)


# ------------------------------------------------------------------------------------- the loss


def in_context_loss(logits: torch.Tensor, batch: TokenBatch) -> torch.Tensor:
    """Mean cross-entropy of the next token at the positions predictable from context."""
    tgt = batch.tokens[:, 1:]
    lg = logits[:, :-1]
    m = batch.target_mask[:, :-1]
    return F.cross_entropy(lg[m], tgt[m])


def forward_clamped(model: Transformer, batch: TokenBatch, *, prev_token=(), match=(), ablate=(),
                    copy_head: tuple[int, int] | None = None) -> torch.Tensor:
    """Logits under the given clamps (see :func:`clamp_hooks`); with ``copy_head`` the output is the
    perfect copy of that head's attention scores (:func:`copy_logits`)."""
    hooks = clamp_hooks(batch, model.cfg, prev_token=prev_token, match=match, ablate=ablate)
    if copy_head is None:
        return model.run_with_hooks(batch.tokens, fwd_hooks=hooks)
    layer, head = _heads_by_layer([copy_head], model.cfg).popitem()
    name = f"blocks.{layer}.attn.hook_attn_scores"
    _, cache = model.run_with_cache(batch.tokens, names=[name], detach=False, fwd_hooks=hooks)
    return copy_logits(cache[name][:, head[0]], batch.tokens, model.cfg.d_vocab)


# ----------------------------------------------------------------------------------- diagnostics


@single_threaded
@torch.no_grad()
def in_context_accuracy(model: Transformer, batch: TokenBatch, fwd_hooks=()) -> float:
    """Fraction of context-predictable positions where the argmax logit is the right next token."""
    logits = model.run_with_hooks(batch.tokens, fwd_hooks=fwd_hooks)
    m = batch.target_mask[:, :-1]
    return float((logits[:, :-1].argmax(-1)[m] == batch.tokens[:, 1:][m]).float().mean())


@single_threaded
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


@single_threaded
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


@single_threaded
@torch.no_grad()
def head_ablation(model: Transformer, batch: TokenBatch) -> np.ndarray:
    """In-context accuracy with each head zero-ablated in turn, [n_layers, n_heads]."""
    cfg = model.cfg
    out = np.zeros((cfg.n_layers, cfg.n_heads))
    for l in range(cfg.n_layers):
        for h in range(cfg.n_heads):
            out[l, h] = in_context_accuracy(model, batch, ablation_hooks([(l, h)], cfg))
    return out


def control_heads(scores: dict[str, np.ndarray], identified: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The heads to ablate as a control for ablating ``identified``: every head that is neither an
    identified induction head nor the strongest previous-token head of layer 1 (the circuit's other
    half). If ablating these barely moves the accuracy while ablating ``identified`` destroys it, the
    effect is specific to the circuit, not a matter of removing heads."""
    prev = scores["prev_token"]
    keep = set(map(tuple, identified)) | {(0, int(np.argmax(prev[0])))}
    return [(l, h) for l in range(prev.shape[0]) for h in range(prev.shape[1]) if (l, h) not in keep]


def corrupt_first_copy(batch: TokenBatch, d_vocab: int, seed: int = 1) -> TokenBatch:
    """The same sequences with the first copy of the segment replaced by fresh random tokens, so the
    second copy no longer repeats anything (targets, positions and the second copy are unchanged)."""
    if batch.seg_len is None:
        raise ValueError("batch must come from repeated_segments (it needs seg_len and offset).")
    g = torch.Generator().manual_seed(int(seed))
    fresh = torch.randint(0, d_vocab, batch.tokens.shape, generator=g).to(batch.tokens.device)
    pos = torch.arange(batch.tokens.shape[1], device=batch.tokens.device)[None]
    first = (pos >= batch.offset[:, None]) & (pos < (batch.offset + batch.seg_len)[:, None])
    return TokenBatch(torch.where(first, fresh, batch.tokens), batch.target_mask, batch.source, batch.seg_len, batch.offset)


@single_threaded
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


# ------------------------------------------------------------------------------------ training


@dataclass
class InductionRun:
    """What :func:`train_induction` returns: the model, the loss at each step, and checkpoints."""

    model: Transformer
    losses: np.ndarray                  # [steps] in-context loss of each training batch
    ckpt_steps: np.ndarray              # [n_ckpt] steps at which checkpoints were taken (after the step)
    prev_token: np.ndarray              # [n_ckpt, n_layers, n_heads]
    induction: np.ndarray               # [n_ckpt, n_layers, n_heads]
    accuracy: np.ndarray                # [n_ckpt] in-context accuracy on the evaluation batch (no clamps)
    patterns: np.ndarray                # [n_ckpt, n_display, n_layers, n_heads, pos, pos] on the display sequences (float16)
    display_tokens: np.ndarray | None = None     # [n_display, pos] the held-out sequences ``patterns`` are computed on
    states: list = field(default_factory=list)   # state_dicts at the checkpoints (if kept)


@single_threaded
def train_induction(cfg: TransformerConfig, *, steps: int, batch_size: int, lr: float = 1e-3,
                    task: str = "repeat", min_len: int = 4, max_len: int | None = None,
                    n_pairs: int = 2, n_labels: int = 4, eval_every: int = 50, eval_batch: int = 256,
                    prev_token=(), match=(), ablate=(), copy_head=None, seed: int = 0, device="cpu",
                    keep_states: bool = False, n_display: int | None = None, desc: str = "training") -> InductionRun:
    """Train ``Transformer(cfg)`` on fresh batches of ``task`` ("repeat": :func:`repeated_segments`;
    "exemplar": :func:`exemplar_label`) with the in-context loss, optionally under clamps
    (:func:`forward_clamped`), and take checkpoints every ``eval_every`` steps.

    Every batch is drawn from its own seed, derived from ``seed`` and the step, so the same seed gives
    the same run; evaluation uses held-out sequences (a disjoint seed range). Each checkpoint keeps the
    attention patterns of the first ``n_display`` held-out sequences (default: 8, or ``eval_batch``
    if smaller), for the explorer, in float16 (they are only drawn: half the memory of a long run).
    """
    steps = _check_int("steps", steps, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    eval_every = _check_int("eval_every", eval_every, 1)
    n_display = min(8, eval_batch) if n_display is None else _check_int("n_display", n_display, 1)
    if n_display > eval_batch:
        raise ValueError(f"n_display must be at most eval_batch={eval_batch}, got {n_display}.")
    if task not in ("repeat", "exemplar"):
        raise ValueError(f"task must be 'repeat' or 'exemplar', got {task!r}.")
    if task == "exemplar" and 2 * n_pairs + 2 > cfg.n_ctx:
        raise ValueError(f"n_pairs={n_pairs} needs n_ctx >= {2 * n_pairs + 2}, the model has {cfg.n_ctx}.")
    torch.manual_seed(seed)
    model = Transformer(cfg).to(device)

    def draw(n, s):
        if task == "repeat":
            return repeated_segments(n, cfg.n_ctx, cfg.d_vocab, min_len=min_len, max_len=max_len, seed=s, device=device)
        return exemplar_label(n, n_pairs, cfg.d_vocab - n_labels, n_labels, seed=s, device=device)

    base = 1_000_003 * (seed + 1)
    held_out = draw(eval_batch, base - 1)
    clamps = dict(prev_token=prev_token, match=match, ablate=ablate, copy_head=copy_head)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = np.empty(steps)
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

    checkpoint(0)
    model.train()
    bar = trange(steps, desc=desc)
    for step in bar:
        batch = draw(batch_size, base + step)
        loss = in_context_loss(forward_clamped(model, batch, **clamps), batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged: the loss is {loss.item()} at step {step}; lower lr.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses[step] = loss.item()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            checkpoint(step + 1)
    model.eval()
    return InductionRun(model, losses, np.array(ckpt_steps), np.array(prev), np.array(ind), np.array(acc),
                        np.array(pats), held_out.tokens[:n_display].cpu().numpy(), states)


def eval_batch_for(run_or_cfg, n: int = 256, *, seed: int = 12345, min_len: int = 4, max_len: int | None = None,
                   device="cpu") -> TokenBatch:
    """A held-out batch of repeated segments for a model (a seed no training batch uses)."""
    cfg = run_or_cfg.model.cfg if isinstance(run_or_cfg, InductionRun) else run_or_cfg
    return repeated_segments(n, cfg.n_ctx, cfg.d_vocab, min_len=min_len, max_len=max_len, seed=seed + 7_919_000, device=device)
