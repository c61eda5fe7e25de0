"""A small, readable decoder-only transformer with named hook points, in the spirit of nanoGPT.

Every intermediate activation passes through a *hook point* named the way TransformerLens users
know them, so one model serves reading (``run_with_cache``), ablating, patching and clamping
(``run_with_hooks``), during evaluation and during training alike::

    cfg = TransformerConfig(d_vocab=64, n_ctx=32, d_model=64, n_layers=2, n_heads=4, d_head=16)
    model = Transformer(cfg)
    logits, cache = model.run_with_cache(tokens, names=["blocks.0.attn.hook_pattern"])
    zero_head = lambda z, name: z.index_fill(2, torch.tensor([1]), 0.0)   # ablate head 1
    logits = model.run_with_hooks(tokens, fwd_hooks=[("blocks.1.attn.hook_z", zero_head)])

The computation (Vaswani et al. 2017; pre-LayerNorm as in GPT-2; notation of Elhage et al. 2021,
"A Mathematical Framework for Transformer Circuits")::

    x_0        = W_E[t] + W_pos[p]                                  hook_embed, hook_pos_embed
    q, k, v    = LN(x) W_Q^h + b_Q^h, ...   per head h              attn.hook_q / hook_k / hook_v
    scores     = q k^T / sqrt(d_head), causal mask (-inf)           attn.hook_attn_scores  [b, h, q, k]
    A          = softmax(scores)                                    attn.hook_pattern      [b, h, q, k]
    z          = A v                                                attn.hook_z            [b, p, h, d_head]
    attn_out   = sum_h z^h W_O^h + b_O                              hook_attn_out
    x_mid      = x + attn_out                                       hook_resid_mid
    mlp_out    = act(LN(x_mid) W_in + b_in) W_out + b_out           mlp.hook_pre, mlp.hook_post, hook_mlp_out
    x_post     = x_mid + mlp_out                                    hook_resid_post
    logits     = LN(x_final) W_U + b_U                              ln_final.hook_normalized

With ``positional="rope"`` there is no ``W_pos``; queries and keys are rotated (Su et al. 2021,
RoFormer, eq. 34, in the "rotate-half" layout of GPT-NeoX) after ``hook_q``/``hook_k``, and the
rotated ones pass ``attn.hook_rot_q``/``attn.hook_rot_k``. Weights are stored per head in the
TransformerLens layout (``W_Q``: [n_heads, d_model, d_head], ``W_O``: [n_heads, d_head, d_model]),
so circuit analyses such as the OV circuit ``W_E W_V W_O W_U`` read straight off the parameters.

Two optional paths (off by default; models without them compute exactly as before):

* **Input embeddings.** ``forward(None, embeds=x)`` (and ``run_with_cache`` / ``run_with_hooks``) takes
  summed embeddings ``x`` [batch, pos, d_model] in place of token ids: they pass ``hook_embed`` and
  the positional embedding is added as usual (the Neuroformer's neuron-id + time-offset tokens).
* **Cross-attention** (``cross_attention=True``): after self-attention each block attends to a
  ``context`` [batch, keys, d_model] (keys masked by ``context_mask`` [batch, keys], True = real)::

      x_mid2 = x_mid + sum_h softmax(LN(x_mid) W_Q (ctx W_K)^T / sqrt(d_head)) ctx W_V W_O
                                       xattn.hook_q/k/v, hook_attn_scores, hook_pattern, hook_z; hook_xattn_out

  ``causal=False`` makes self-attention bidirectional (masked modelling), with ``key_mask``
  [batch, pos] hiding padded positions.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from labkit.core.params import ParameterError, check_args

HookFn = Callable[[torch.Tensor, str], torch.Tensor | None]
NamesFilter = None | str | Sequence[str] | Callable[[str], bool]


@dataclass(frozen=True)
class TransformerConfig:
    """The shape of a :class:`Transformer`.

    ``d_mlp=0`` makes an attention-only model (no MLP sublayers, no ``mlp.*`` hooks).
    ``normalization`` is ``"ln"`` (pre-LayerNorm before each sublayer and before the unembedding)
    or ``"none"``. ``bias`` adds biases to every linear map, as TransformerLens does. ``causal=False``
    lets every position attend to every other (an encoder, as in a vision transformer).
    """

    d_vocab: int
    n_ctx: int
    d_model: int
    n_layers: int
    n_heads: int
    d_head: int
    d_mlp: int = 0
    positional: str = "learned"
    normalization: str = "ln"
    act_fn: str = "gelu"
    bias: bool = True
    rope_base: float = 10000.0
    init_std: float = 0.02
    cross_attention: bool = False
    causal: bool = True

    def __post_init__(self):
        check_args("TransformerConfig", {name: getattr(self, name) for name in _CONFIG_RULES}, _CONFIG_RULES)
        if self.positional == "rope" and self.d_head % 2:
            raise ParameterError(f"Parameter 'd_head' of TransformerConfig must be even for rotary positions, "
                                 f"got {self.d_head}.")

    @property
    def attn_only(self) -> bool:
        return self.d_mlp == 0


_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu}
_CONFIG_RULES = {
    **{name: (int, 1, None) for name in ("d_vocab", "n_ctx", "d_model", "n_layers", "n_heads", "d_head")},
    "d_mlp": (int, 0, None), "positional": ["learned", "rope"], "normalization": ["ln", "none"],
    "act_fn": list(_ACTIVATIONS), "bias": bool, "rope_base": (float, 0, None, "neither"),
    "init_std": (float, 0, None, "neither"), "cross_attention": bool, "causal": bool,
}


class _Hooks:
    """The hooks and cache of one forward pass; ``point(name, x)`` is where activations pass."""

    def __init__(self, hooks: dict[str, list[HookFn]] | None = None, cache: dict | None = None,
                 cache_names: set[str] | None = None, detach: bool = True):
        self.hooks = hooks or {}
        self.cache = cache
        self.cache_names = cache_names
        self.detach = detach

    def active(self, name: str) -> bool:
        """Whether anything reads or replaces ``name`` in this pass (else fast paths may skip it)."""
        return name in self.hooks or (self.cache is not None and name in self.cache_names)

    def point(self, name: str, x: torch.Tensor) -> torch.Tensor:
        for fn in self.hooks.get(name, ()):
            out = fn(x, name)
            if out is not None:
                if not isinstance(out, torch.Tensor) or out.shape != x.shape:
                    raise ValueError(f"hook on {name!r} must return None or a tensor of shape {tuple(x.shape)}, "
                                     f"got {getattr(out, 'shape', type(out).__name__)}.")
                x = out
        if self.cache is not None and name in self.cache_names:
            self.cache[name] = x.detach() if self.detach else x
        return x


class LayerNorm(nn.Module):
    """LayerNorm over ``d_model``; its output (normalized, scaled by ``w``, shifted by ``b``) passes
    ``<name>.hook_normalized``, as in TransformerLens."""

    def __init__(self, d_model: int, name: str, eps: float = 1e-5):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d_model))
        self.b = nn.Parameter(torch.zeros(d_model))
        self.name = name
        self.eps = eps

    def forward(self, x: torch.Tensor, h: _Hooks) -> torch.Tensor:
        # As in TransformerLens, hook_normalized sees the output: normalized, then scaled and shifted.
        return h.point(f"{self.name}.hook_normalized", F.layer_norm(x, x.shape[-1:], self.w, self.b, self.eps))


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    """Causal multi-head self-attention with per-head weights and hook points on q, k, v, scores,
    pattern and z (and, when someone asks for it, the per-head output ``hook_result``)."""

    def __init__(self, cfg: TransformerConfig, layer: int):
        super().__init__()
        self.cfg = cfg
        self.prefix = f"blocks.{layer}.attn"
        H, D, E = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q = nn.Parameter(torch.empty(H, D, E))
        self.W_K = nn.Parameter(torch.empty(H, D, E))
        self.W_V = nn.Parameter(torch.empty(H, D, E))
        self.W_O = nn.Parameter(torch.empty(H, E, D))
        if cfg.bias:
            self.b_Q = nn.Parameter(torch.zeros(H, E))
            self.b_K = nn.Parameter(torch.zeros(H, E))
            self.b_V = nn.Parameter(torch.zeros(H, E))
            self.b_O = nn.Parameter(torch.zeros(D))
        else:
            self.register_parameter("b_Q", None)
            self.register_parameter("b_K", None)
            self.register_parameter("b_V", None)
            self.register_parameter("b_O", None)

    def _project(self, x, W, b):
        out = torch.einsum("bpd,hde->bphe", x, W)
        return out if b is None else out + b

    def forward(self, x: torch.Tensor, h: _Hooks, rope: tuple[torch.Tensor, torch.Tensor] | None,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        n = self.prefix
        q = h.point(f"{n}.hook_q", self._project(x, self.W_Q, self.b_Q))
        k = h.point(f"{n}.hook_k", self._project(x, self.W_K, self.b_K))
        v = h.point(f"{n}.hook_v", self._project(x, self.W_V, self.b_V))
        if rope is not None:
            cos, sin = rope  # [pos, 1, d_head]
            q = h.point(f"{n}.hook_rot_q", q * cos + _rotate_half(q) * sin)
            k = h.point(f"{n}.hook_rot_k", k * cos + _rotate_half(k) * sin)
        P = x.shape[1]
        hidden = None  # [b or 1, 1, q, k]: True where a query may not look
        if self.cfg.causal:
            hidden = torch.ones(P, P, dtype=torch.bool, device=x.device).triu(1)[None, None]
        if key_mask is not None:
            pad = ~key_mask[:, None, None, :]
            hidden = pad if hidden is None else hidden | pad
        if h.active(f"{n}.hook_attn_scores") or h.active(f"{n}.hook_pattern") or not self.cfg.causal \
                or key_mask is not None:
            scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.cfg.d_head)
            if hidden is not None:
                scores = scores.masked_fill(hidden, float("-inf"))
            scores = h.point(f"{n}.hook_attn_scores", scores)
            pattern = h.point(f"{n}.hook_pattern", torch.softmax(scores, dim=-1))
            z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
        else:  # nothing looks at the pattern: the fused kernel computes the same thing
            z = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                               is_causal=self.cfg.causal).transpose(1, 2)
        z = h.point(f"{n}.hook_z", z)
        if h.active(f"{n}.hook_result"):
            result = h.point(f"{n}.hook_result", torch.einsum("bphe,hed->bphd", z, self.W_O))
            out = result.sum(dim=2)
        else:
            out = torch.einsum("bphe,hed->bpd", z, self.W_O)
        return out if self.b_O is None else out + self.b_O


class CrossAttention(Attention):
    """Multi-head attention from the residual stream onto a ``context`` (no causal mask, no rotation);
    hook points ``blocks.L.xattn.hook_q/k/v/attn_scores/pattern/z``."""

    def __init__(self, cfg: TransformerConfig, layer: int):
        super().__init__(cfg, layer)
        self.prefix = f"blocks.{layer}.xattn"

    def forward(self, x: torch.Tensor, h: _Hooks, context: torch.Tensor,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        n = self.prefix
        q = h.point(f"{n}.hook_q", self._project(x, self.W_Q, self.b_Q))
        k = h.point(f"{n}.hook_k", self._project(context, self.W_K, self.b_K))
        v = h.point(f"{n}.hook_v", self._project(context, self.W_V, self.b_V))
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.cfg.d_head)
        if context_mask is not None:
            scores = scores.masked_fill(~context_mask[:, None, None, :], float("-inf"))
        scores = h.point(f"{n}.hook_attn_scores", scores)
        pattern = h.point(f"{n}.hook_pattern", torch.softmax(scores, dim=-1))
        z = h.point(f"{n}.hook_z", torch.einsum("bhqk,bkhe->bqhe", pattern, v))
        out = torch.einsum("bphe,hed->bpd", z, self.W_O)
        return out if self.b_O is None else out + self.b_O


class MLP(nn.Module):
    """Two-layer MLP, with ``mlp.hook_pre`` (before the nonlinearity) and ``mlp.hook_post``."""

    def __init__(self, cfg: TransformerConfig, layer: int):
        super().__init__()
        self.prefix = f"blocks.{layer}.mlp"
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
        self.W_out = nn.Parameter(torch.empty(cfg.d_mlp, cfg.d_model))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp)) if cfg.bias else None
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model)) if cfg.bias else None
        self.act = _ACTIVATIONS[cfg.act_fn]

    def forward(self, x: torch.Tensor, h: _Hooks) -> torch.Tensor:
        pre = x @ self.W_in
        if self.b_in is not None:
            pre = pre + self.b_in
        post = h.point(f"{self.prefix}.hook_post", self.act(h.point(f"{self.prefix}.hook_pre", pre)))
        out = post @ self.W_out
        return out if self.b_out is None else out + self.b_out


class Block(nn.Module):
    """One residual block: attention then (unless attention-only) an MLP, each pre-normalized."""

    def __init__(self, cfg: TransformerConfig, layer: int):
        super().__init__()
        self.prefix = f"blocks.{layer}"
        norm = cfg.normalization == "ln"
        self.ln1 = LayerNorm(cfg.d_model, f"{self.prefix}.ln1") if norm else None
        self.attn = Attention(cfg, layer)
        if cfg.cross_attention:
            self.lnx = LayerNorm(cfg.d_model, f"{self.prefix}.lnx") if norm else None
            self.xattn = CrossAttention(cfg, layer)
        self.ln2 = LayerNorm(cfg.d_model, f"{self.prefix}.ln2") if norm and not cfg.attn_only else None
        self.mlp = MLP(cfg, layer) if not cfg.attn_only else None

    def forward(self, x: torch.Tensor, h: _Hooks, rope, context=None, context_mask=None,
                key_mask=None) -> torch.Tensor:
        n = self.prefix
        x = h.point(f"{n}.hook_resid_pre", x)
        a = self.attn(self.ln1(x, h) if self.ln1 is not None else x, h, rope, key_mask)
        x = h.point(f"{n}.hook_resid_mid", x + h.point(f"{n}.hook_attn_out", a))
        if context is not None:
            c = self.xattn(self.lnx(x, h) if self.lnx is not None else x, h, context, context_mask)
            x = x + h.point(f"{n}.hook_xattn_out", c)
        if self.mlp is not None:
            m = self.mlp(self.ln2(x, h) if self.ln2 is not None else x, h)
            x = x + h.point(f"{n}.hook_mlp_out", m)
        return h.point(f"{n}.hook_resid_post", x)


class Transformer(nn.Module):
    """A decoder-only transformer with TransformerLens-named hook points; see the module docstring."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        if not isinstance(cfg, TransformerConfig):
            raise ValueError(f"Transformer: cfg must be a TransformerConfig, got {type(cfg).__name__}.")
        self.cfg = cfg
        self.W_E = nn.Parameter(torch.empty(cfg.d_vocab, cfg.d_model))
        self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model)) if cfg.positional == "learned" else None
        self.blocks = nn.ModuleList(Block(cfg, layer) for layer in range(cfg.n_layers))
        self.ln_final = LayerNorm(cfg.d_model, "ln_final") if cfg.normalization == "ln" else None
        self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.d_vocab))
        self.b_U = nn.Parameter(torch.zeros(cfg.d_vocab)) if cfg.bias else None
        if cfg.positional == "rope":
            inv_freq = 1.0 / cfg.rope_base ** (torch.arange(0, cfg.d_head, 2, dtype=torch.float32) / cfg.d_head)
            angles = torch.outer(torch.arange(cfg.n_ctx, dtype=torch.float32), inv_freq)
            angles = torch.cat((angles, angles), dim=-1)[:, None, :]  # [pos, 1, d_head]
            self.register_buffer("rope_cos", angles.cos(), persistent=False)
            self.register_buffer("rope_sin", angles.sin(), persistent=False)
        self._names = self._all_names()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2 / nanoGPT initialization: N(0, init_std), output projections scaled by 1/sqrt(2 n_layers)."""
        std = self.cfg.init_std
        for name, p in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf.startswith("W_"):
                scale = 1.0 / math.sqrt(2 * self.cfg.n_layers) if leaf in ("W_O", "W_out") else 1.0
                nn.init.normal_(p, 0.0, std * scale)

    # ----------------------------------------------------------------------------- names and checks
    def _all_names(self) -> list[str]:
        cfg = self.cfg
        names = ["hook_embed"] + (["hook_pos_embed"] if cfg.positional == "learned" else [])
        for layer in range(cfg.n_layers):
            b = f"blocks.{layer}"
            names.append(f"{b}.hook_resid_pre")
            if cfg.normalization == "ln":
                names.append(f"{b}.ln1.hook_normalized")
            names += [f"{b}.attn.hook_{s}" for s in ("q", "k", "v")]
            if cfg.positional == "rope":
                names += [f"{b}.attn.hook_rot_q", f"{b}.attn.hook_rot_k"]
            names += [f"{b}.attn.hook_{s}" for s in ("attn_scores", "pattern", "z", "result")]
            names += [f"{b}.hook_attn_out", f"{b}.hook_resid_mid"]
            if cfg.cross_attention:
                if cfg.normalization == "ln":
                    names.append(f"{b}.lnx.hook_normalized")
                names += [f"{b}.xattn.hook_{s}" for s in ("q", "k", "v", "attn_scores", "pattern", "z")]
                names.append(f"{b}.hook_xattn_out")
            if not cfg.attn_only:
                if cfg.normalization == "ln":
                    names.append(f"{b}.ln2.hook_normalized")
                names += [f"{b}.mlp.hook_pre", f"{b}.mlp.hook_post", f"{b}.hook_mlp_out"]
            names.append(f"{b}.hook_resid_post")
        if cfg.normalization == "ln":
            names.append("ln_final.hook_normalized")
        return names

    def hook_names(self) -> list[str]:
        """Every valid hook name, in the order activations pass them."""
        return list(self._names)

    def _check_name(self, name) -> str:
        if not isinstance(name, str) or name not in self._names:
            raise ValueError(f"unknown hook name {name!r}; valid names are: {', '.join(self._names)}.")
        return name

    def _select(self, names: NamesFilter) -> set[str]:
        if names is None:
            return set(self._names)
        if isinstance(names, str):
            return {self._check_name(names)}
        if callable(names):
            return {n for n in self._names if names(n)}
        return {self._check_name(n) for n in names}

    def check_tokens(self, tokens) -> torch.Tensor:
        """Return ``tokens`` as a [batch, pos] integer tensor on the model's device, or raise ValueError."""
        if not isinstance(tokens, torch.Tensor):
            raise ValueError(f"tokens must be a torch integer tensor of shape [batch, pos], "
                             f"got {type(tokens).__name__}.")
        if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
            raise ValueError(f"tokens must hold integer token ids, got dtype {tokens.dtype}.")
        if tokens.dim() == 1:
            tokens = tokens[None]
        if tokens.dim() != 2 or tokens.shape[1] == 0:
            raise ValueError(f"tokens must have shape [batch, pos] with pos >= 1, got {tuple(tokens.shape)}.")
        if tokens.shape[1] > self.cfg.n_ctx:
            raise ValueError(f"tokens has sequence length {tokens.shape[1]}, longer than the model's context "
                             f"n_ctx={self.cfg.n_ctx}.")
        lo, hi = int(tokens.min()), int(tokens.max())
        if lo < 0 or hi >= self.cfg.d_vocab:
            bad = lo if lo < 0 else hi
            raise ValueError(f"tokens holds id {bad}, outside the vocabulary [0, {self.cfg.d_vocab - 1}].")
        return tokens.to(self.W_E.device, torch.long)

    # ----------------------------------------------------------------------------- forward passes
    def check_embeds(self, embeds) -> torch.Tensor:
        """Return ``embeds`` as a [batch, pos, d_model] float tensor, or raise ValueError."""
        if not isinstance(embeds, torch.Tensor) or not embeds.dtype.is_floating_point or embeds.dim() != 3 \
                or embeds.shape[-1] != self.cfg.d_model or embeds.shape[1] == 0:
            raise ValueError(f"embeds must be a float tensor of shape [batch, pos, d_model={self.cfg.d_model}], got "
                             f"{getattr(embeds, 'shape', type(embeds).__name__)}.")
        if embeds.shape[1] > self.cfg.n_ctx:
            raise ValueError(f"embeds has sequence length {embeds.shape[1]}, longer than the model's context "
                             f"n_ctx={self.cfg.n_ctx}.")
        return embeds

    def embed(self, tokens, h: _Hooks, embeds=None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        """The residual stream entering block 0 [batch, pos, d_model], and the rotary tables (or None):
        token ids through ``W_E``, or summed input ``embeds``, both at ``hook_embed``, plus positions.
        Subclasses that read other inputs (images, in a vision transformer) override this alone."""
        if embeds is None:
            tokens = self.check_tokens(tokens)
            x = h.point("hook_embed", self.W_E[tokens])
        else:
            x = h.point("hook_embed", self.check_embeds(embeds))
        P = x.shape[1]
        rope = None
        if self.W_pos is not None:
            x = x + h.point("hook_pos_embed", self.W_pos[:P][None].expand_as(x))
        else:
            rope = (self.rope_cos[:P], self.rope_sin[:P])
        return x, rope

    def _forward(self, tokens, h: _Hooks, embeds=None, context=None, context_mask=None, key_mask=None):
        if context is not None and not self.cfg.cross_attention:
            raise ValueError("context was given, but the model has no cross-attention (cross_attention=False).")
        x, rope = self.embed(tokens, h) if embeds is None else self.embed(tokens, h, embeds)
        for block in self.blocks:
            x = block(x, h, rope, context, context_mask, key_mask) if context is not None or key_mask is not None \
                else block(x, h, rope)
        if self.ln_final is not None:
            x = self.ln_final(x, h)
        logits = x @ self.W_U
        return logits if self.b_U is None else logits + self.b_U

    def forward(self, tokens: torch.Tensor | None, **inputs) -> torch.Tensor:
        """Logits [batch, pos, d_vocab] for integer ``tokens`` [batch, pos] (or ``embeds=``; optional
        ``context=``, ``context_mask=``, ``key_mask=``: see the module docstring)."""
        return self._forward(tokens, _Hooks(), **inputs)

    def run_with_cache(self, tokens: torch.Tensor, names: NamesFilter = None, *, detach: bool = True,
                       fwd_hooks: Iterable[tuple[str, HookFn]] = (),
                       **inputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and a dict of activations: all hook points, or those in ``names`` (a name, a list,
        or a predicate on names). ``fwd_hooks`` run first, so the cache shows what they wrote."""
        cache: dict[str, torch.Tensor] = {}
        h = _Hooks(self._hook_dict(fwd_hooks), cache, self._select(names), detach)
        logits = self._forward(tokens, h, **inputs)
        return logits, {n: cache[n] for n in self._names if n in cache}

    def run_with_hooks(self, tokens: torch.Tensor, fwd_hooks: Iterable[tuple[str, HookFn]] = (),
                       **inputs) -> torch.Tensor:
        """Logits with each ``fn(activation, name)`` applied at its hook point; a returned tensor
        replaces the activation (ablation, patching, clamping), ``None`` leaves it. Gradients flow
        through replacements, so this also clamps activations during training."""
        return self._forward(tokens, _Hooks(self._hook_dict(fwd_hooks)), **inputs)

    def _hook_dict(self, fwd_hooks) -> dict[str, list[HookFn]]:
        out: dict[str, list[HookFn]] = {}
        for item in fwd_hooks:
            if not (isinstance(item, (tuple, list)) and len(item) == 2 and callable(item[1])):
                raise ValueError(f"fwd_hooks must be a list of (name, fn) pairs, got {item!r}.")
            name, fn = item
            if callable(name) and not isinstance(name, str):
                for n in self._names:
                    if name(n):
                        out.setdefault(n, []).append(fn)
            else:
                out.setdefault(self._check_name(name), []).append(fn)
        return out
