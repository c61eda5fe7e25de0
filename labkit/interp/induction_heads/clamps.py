"""Hooks that silence heads or clamp their attention to its ideal ("artificial optogenetics").

Singh et al. (2024), "What needs to go right for an induction head?", dissect the abrupt formation
of an induction head by *clamping* activations to their ideal values during training;
:func:`clamp_hooks` implements their three clamps for the tasks here:

* previous-token clamp: a layer-1 head's attention pattern is set to attend to position ``q-1``;
* match clamp: a layer-2 head's pattern at the repeated positions is set to the ideal induction
  pattern (attend to ``q - L + 1``), so only its copying (OV) must be learned;
* copy clamp: the output logits are the layer-2 head's pre-softmax scores, scattered onto the tokens
  they point at, logits of tokens not in context set to -1e9 (their ``opto_perfect_copy_from_head_pattern``),
  so only the matching (QK, with the previous-token head upstream) must be learned.

As in the paper's clamping runs, the other layer-2 heads can be silenced (values ablated to zero,
their ``opto_ablate_heads``, :func:`ablation_hooks`), so one head carries the circuit.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F

from labkit.interp.induction_heads.tasks import TokenBatch
from labkit.interp.transformer import Transformer, TransformerConfig


def _heads_by_layer(heads: Iterable[tuple[int, int]], cfg: TransformerConfig) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for item in heads:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError(f"heads must be (layer, head) pairs, got {item!r}.")
        layer, head = int(item[0]), int(item[1])
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            raise ValueError(f"head ({layer}, {head}) does not exist: the model has {cfg.n_layers} layers of "
                             f"{cfg.n_heads} heads.")
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
            heads = sorted(set(hs))

            def fn(pattern, name, hs=heads, ideal=pt_ideal):
                pattern = pattern.clone()
                pattern[:, hs] = ideal
                return pattern
            hooks.append((f"blocks.{layer}.attn.hook_pattern", fn))
    if mt:
        rows = batch.target_mask  # [b, q]
        match_ideal = F.one_hot(batch.source.clamp(min=0), P).float()  # [b, q, k]
        for layer, hs in mt.items():
            heads = sorted(set(hs))

            def fn(pattern, name, hs=heads, rows=rows, ideal=match_ideal):
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
