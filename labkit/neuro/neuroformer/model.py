"""The Neuroformer: a small transformer that generates a window's spike tokens (Antoniades et al. 2024).

Built on :class:`labkit.interp.transformer.Transformer` (its input-embedding path and cross-attention):

* a token's embedding is ``W_E[neuron] + W_dt[offset]`` (the summed embeddings pass ``hook_embed``);
* each block cross-attends (``blocks.L.xattn.hook_pattern``) to a context of: a learned "null" token,
  the past ``prev`` ms of tokens (``W_E[neuron] + W_past[offset]``), and the stimulus over the past and the
  window (one token per ``dt_res`` bin: ``value * w_stim + W_stim_pos[bin]``);
* two heads predict the next token's neuron id (the transformer's unembedding, over the N neurons plus
  end-of-window) and its offset bin (a linear map of the last residual): ``p(id_k, dt_k | tokens_<k,
  past, stimulus)``. The sequence starts with a start token; the target ends with end-of-window.

``causal=False`` gives the masked (BrainMAE / Du-IN style) variant: 30% of the window's tokens replaced by
a mask token and predicted from both sides.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labkit.interp.transformer import Transformer, TransformerConfig
from labkit.neuro.neuroformer.tokens import Tokens

__all__ = ["Neuroformer", "Batch", "make_batch"]


class Batch:
    """Model inputs for rows of :class:`Tokens` as tensors (sequences padded to the rows' longest)."""

    def __init__(self, tokens: Tokens, rows, stimulus: np.ndarray | None, device="cpu", behavior=None):
        rows = np.asarray(rows)
        n = tokens.n_neurons
        L = max(int(tokens.length[rows].max()), 0)
        Lp = max(int(tokens.past_length[rows].max()), 0)
        ids = torch.as_tensor(tokens.ids[rows, :L])
        dt = torch.as_tensor(tokens.dt[rows, :L])
        self.ids = ids.to(device)                      # (B, L), -1 padded
        self.dt = dt.to(device)
        self.length = torch.as_tensor(tokens.length[rows]).to(device)
        self.past_ids = torch.as_tensor(tokens.past_ids[rows, :Lp]).to(device)
        self.past_dt = torch.as_tensor(tokens.past_dt[rows, :Lp]).to(device)
        self.n = n
        self.behavior = None if behavior is None else \
            torch.as_tensor(np.asarray(behavior)[rows], dtype=torch.float32).to(device)
        nb = (tokens.prev + tokens.window) // tokens.dt_res
        if stimulus is None:
            self.stim = torch.zeros(rows.size, nb, device=device)
        else:
            s = np.asarray(stimulus, np.float32)
            padded = np.concatenate([np.zeros(tokens.prev, np.float32), s])
            bins = padded[: (padded.size // tokens.dt_res) * tokens.dt_res].reshape(-1, tokens.dt_res).mean(1)
            first = tokens.index[rows] * (tokens.window // tokens.dt_res)
            self.stim = torch.as_tensor(bins[first[:, None] + np.arange(nb)[None]]).to(device)


def make_batch(tokens: Tokens, rows, stimulus=None, device="cpu", behavior=None) -> Batch:
    """A :class:`Batch` of ``rows``; ``behavior``: one target per row of ``tokens`` (joint training)."""
    return Batch(tokens, rows, stimulus, device, behavior)


class Neuroformer(nn.Module):
    """See the module docstring. ``n_ctx``: the longest window (tokens) the model reads, plus one."""

    def __init__(self, n_neurons: int, n_dt: int, n_past_dt: int, n_stim: int, *, n_ctx: int, d_model: int = 32,
                 n_layers: int = 1, n_heads: int = 2, causal: bool = True):
        super().__init__()
        self.n, self.n_dt, self.n_ctx, self.causal = n_neurons, n_dt, n_ctx, causal
        self.EOS, self.SOS, self.MASK = n_neurons, n_neurons + 1, n_neurons + 2
        cfg = TransformerConfig(d_vocab=n_neurons + 3, n_ctx=n_ctx, d_model=d_model, n_layers=n_layers,
                                n_heads=n_heads, d_head=d_model // n_heads, d_mlp=4 * d_model,
                                cross_attention=True, causal=causal)
        self.tf = Transformer(cfg)
        std = cfg.init_std
        self.W_dt = nn.Parameter(torch.randn(n_dt + 1, d_model) * std)         # last row: start / mask
        self.W_past = nn.Parameter(torch.randn(n_past_dt, d_model) * std)
        self.W_stim_pos = nn.Parameter(torch.randn(n_stim, d_model) * std)
        self.w_stim = nn.Parameter(torch.randn(d_model) * std)
        self.null = nn.Parameter(torch.randn(d_model) * std)
        self.dt_head = nn.Linear(d_model, n_dt)
        self.behavior_head = nn.Linear(d_model, 1)        # used by joint (spikes + behavior) training only
        self.behavior_weight = 0.0

    # ------------------------------------------------------------------ inputs
    def context(self, b: Batch):
        """The cross-attention context (B, 1 + Lp + n_stim, d) and its mask (True = real)."""
        B = b.ids.shape[0]
        pid, pdt = b.past_ids.clamp(min=0), b.past_dt.clamp(min=0)
        past = self.tf.W_E[pid] + self.W_past[pdt]
        stim = b.stim[..., None] * self.w_stim + self.W_stim_pos
        ctx = torch.cat([self.null.expand(B, 1, -1), past, stim], 1)
        mask = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=ctx.device), b.past_ids >= 0,
                          torch.ones(B, stim.shape[1], dtype=torch.bool, device=ctx.device)], 1)
        return ctx, mask

    def inputs(self, ids: torch.Tensor, dt: torch.Tensor):
        """Input embeddings of a sequence: start token, then the tokens (padding embeds as start)."""
        B = ids.shape[0]
        sos = torch.full((B, 1), self.SOS, dtype=torch.long, device=ids.device)
        seq_ids = torch.cat([sos, torch.where(ids >= 0, ids, self.SOS)], 1)
        seq_dt = torch.cat([torch.full_like(sos, self.n_dt), torch.where(dt >= 0, dt, self.n_dt)], 1)
        return self.tf.W_E[seq_ids] + self.W_dt[seq_dt]

    def run(self, embeds, ctx, mask, key_mask=None, names=("ln_final.hook_normalized",), detach=False):
        if embeds.shape[1] > self.n_ctx:
            raise ValueError(f"a window of {embeds.shape[1] - 1} tokens is longer than the model's context "
                             f"(n_ctx = {self.n_ctx}: at most {self.n_ctx - 1} tokens per window).")
        logits, cache = self.tf.run_with_cache(None, names=list(names), detach=detach, embeds=embeds,
                                               context=ctx, context_mask=mask, key_mask=key_mask)
        return logits, cache

    # ------------------------------------------------------------------ losses and features
    def ar_loss(self, b: Batch) -> torch.Tensor:
        """Mean cross-entropy per token of the next id (N neurons + end) and of its offset."""
        ctx, mask = self.context(b)
        logits, cache = self.run(self.inputs(b.ids, b.dt), ctx, mask)
        B, L = b.ids.shape
        pos = torch.arange(L + 1, device=b.ids.device)[None]
        target = torch.cat([b.ids, torch.full((B, 1), -1, dtype=torch.long, device=b.ids.device)], 1)
        target = torch.where(pos == b.length[:, None], self.EOS, target)
        real = pos <= b.length[:, None]
        id_loss = F.cross_entropy(logits[real][:, : self.n + 1], target[real])
        dt_target = torch.cat([b.dt, torch.full((B, 1), -1, dtype=torch.long, device=b.ids.device)], 1)
        has = dt_target >= 0
        dt_logits = self.dt_head(cache["ln_final.hook_normalized"])
        dt_loss = F.cross_entropy(dt_logits[has], dt_target[has]) if has.any() else dt_logits.sum() * 0
        loss = id_loss + dt_loss
        if self.behavior_weight > 0 and b.behavior is not None:      # joint: the window's behavior as well
            pred = self.behavior_head(self._pool(cache["ln_final.hook_normalized"], b.length))[:, 0]
            loss = loss + self.behavior_weight * ((pred - b.behavior) ** 2).mean()
        return loss

    def masked_loss(self, b: Batch, generator: torch.Generator, frac: float = 0.3) -> torch.Tensor:
        """Cross-entropy of the hidden tokens' ids and offsets (``frac`` of the window's tokens hidden)."""
        real = b.ids >= 0
        hide = (torch.rand(b.ids.shape, generator=generator).to(b.ids.device) < frac) & real
        ids = torch.where(hide, self.MASK, b.ids)
        dt = torch.where(hide, self.n_dt, b.dt)
        ctx, mask = self.context(b)
        key_mask = torch.cat([torch.ones_like(real[:, :1]), real], 1)
        logits, cache = self.run(self.inputs(ids, dt), ctx, mask, key_mask=key_mask)
        h = torch.cat([torch.zeros_like(hide[:, :1]), hide], 1)
        if not h.any():
            return logits.sum() * 0
        id_loss = F.cross_entropy(logits[h][:, : self.n], b.ids[hide])
        dt_loss = F.cross_entropy(self.dt_head(cache["ln_final.hook_normalized"])[h], b.dt[hide])
        return id_loss + dt_loss

    def loss(self, b: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.ar_loss(b) if self.causal else self.masked_loss(b, generator)

    def features(self, b: Batch) -> torch.Tensor:
        """A window's feature: the last residual (normalized) summed over its start and real tokens, over
        ``n_ctx`` (a sum, not a mean, so the number of spikes stays readable)."""
        ctx, mask = self.context(b)
        key_mask = None if self.causal else torch.cat([torch.ones_like(b.ids[:, :1], dtype=torch.bool),
                                                       b.ids >= 0], 1)
        _, cache = self.run(self.inputs(b.ids, b.dt), ctx, mask, key_mask=key_mask)
        return self._pool(cache["ln_final.hook_normalized"], b.length)

    def _pool(self, h: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        real = (torch.arange(h.shape[1], device=h.device)[None] <= length[:, None]).float()
        return (h * real[..., None]).sum(1) / self.n_ctx
