"""Reading a neuron through the unembedding, clamping it, and tracing where a fact is recalled.

*Readout* (Decoding specialised feature neurons with the final projection layer): neuron i of layer l writes
``a * W_out[l][i]`` into the residual stream; read straight through the final LayerNorm's scale and the
unembedding it promotes the tokens ``(W_out[l][i] * ln_final.w) @ W_U``. Its *margin* is the gap between its
first and second token. *Clamping* a neuron at a large value tests the reading causally: does the promoted
token become the prediction?

*Causal tracing* (Meng et al. 2022, ROME): corrupt the subject's embeddings with Gaussian noise (3× the
embeddings' standard deviation), then restore one (layer, position)'s clean MLP output; the share of the clean
answer probability recovered says where the fact is read out.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.core.threads import one_thread
from labkit.interp.knowledge_neurons.facts import FactCorpus
from labkit.interp.knowledge_neurons.model import last_logits
from labkit.interp.transformer import Transformer


def readout(model: Transformer, layer: int | None = None) -> torch.Tensor:
    """Token logits each neuron promotes per unit activation: [n_layers, d_mlp, d_vocab] (or one layer's)."""
    W_out = torch.stack([b.mlp.W_out for b in model.blocks])                    # [L, D, d_model]
    scale = model.ln_final.w if model.ln_final is not None else 1.0
    R = (W_out * scale) @ model.W_U
    if layer is None:
        return R.detach()
    layer = check_value("layer", layer, (int, 0, model.cfg.n_layers - 1), "readout")
    return R[layer].detach()


def readout_margin(R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Top token and margin (first minus second logit) of each row of a readout."""
    top2 = R.topk(2, dim=-1)
    return top2.indices[..., 0], top2.values[..., 0] - top2.values[..., 1]


def max_activation(model: Transformer, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    """Each neuron's largest activation at the last position over ``tokens`` [d_mlp]."""
    _, cache = model.run_with_cache(tokens, names=[f"blocks.{layer}.mlp.hook_post"])
    return cache[f"blocks.{layer}.mlp.hook_post"][:, -1].max(0).values


def clamp(model: Transformer, tokens: torch.Tensor, layer: int, neurons, values) -> torch.Tensor:
    """Predictions at the last position with one neuron clamped per copy of the prompts: neuron
    ``neurons[j]`` of ``layer`` set to ``values[j]`` at the last position in copy j. Returns [n_neurons, n]."""
    layer = check_value("layer", layer, (int, 0, model.cfg.n_layers - 1), "clamp")
    neurons = torch.as_tensor(np.asarray(neurons), dtype=torch.long)
    if len(neurons) and (neurons.min() < 0 or neurons.max() >= model.cfg.d_mlp):
        raise ValueError(f"neurons must lie in [0, {model.cfg.d_mlp - 1}], got {neurons.tolist()}.")
    values = torch.as_tensor(values, dtype=torch.float32).expand(len(neurons))
    tokens = model.check_tokens(tokens)
    c, n = len(neurons), len(tokens)
    rows = torch.arange(c).repeat_interleave(n)

    def hook(x, name):
        x = x.clone()
        x[torch.arange(c * n), -1, neurons[rows]] = values[rows].to(x)
        return x

    logits = last_logits(model, tokens.repeat(c, 1), fwd_hooks=[(f"blocks.{layer}.mlp.hook_post", hook)],
                         batch=c * n)
    return logits.argmax(-1).view(c, n).cpu()


@one_thread
def clamp_success(model: Transformer, corpus: FactCorpus, n_neurons: int = 20, factor: float = 3.0,
                  layer: int | None = None, n_prompts: int | None = None, seed: int = 0) -> dict:
    """The ``n_neurons`` neurons of ``layer`` (default: the last) with the largest readout margin, each clamped
    at ``factor`` × its largest activation on the corpus: the share of prompts (all, or ``n_prompts`` drawn from
    ``seed``) whose prediction becomes the neuron's top readout token (per neuron, and the mean)."""
    layer = model.cfg.n_layers - 1 if layer is None else layer
    factor = check_value("factor", factor, (float, 0, None, "neither"), "clamp_success")
    tokens = corpus.tokens
    if n_prompts is not None:
        n_prompts = check_value("n_prompts", n_prompts, (int, 1, None), "clamp_success")
        tokens = tokens[np.random.default_rng(seed).permutation(len(tokens))[:n_prompts]]
    top, margin = readout_margin(readout(model, layer))
    chosen = torch.argsort(margin, descending=True)[:n_neurons]
    values = factor * max_activation(model, corpus.tokens, layer)[chosen]
    pred = clamp(model, tokens, layer, chosen, values)
    per = (pred == top[chosen, None].cpu()).float().mean(1).numpy()
    return {"neurons": chosen.numpy(), "tokens": top[chosen].numpy(), "margin": margin[chosen].numpy(),
            "success": per, "mean": float(per.mean())}


def subject_positions(corpus: FactCorpus, rows) -> torch.Tensor:
    """Boolean [len(rows), P]: where each statement's subject tokens stand."""
    tok = corpus.tokens[torch.as_tensor(rows)]
    base = torch.as_tensor(corpus._lang_base)[torch.as_tensor(corpus.language[rows])][:, None]
    return (tok >= base) & (tok < base + 14) & (tok > 0)


@one_thread
def causal_trace(model: Transformer, corpus: FactCorpus, rows, noise: float = 3.0, seed: int = 0) -> dict:
    """Mean answer probability with the subject corrupted and one (layer, position)'s clean MLP output restored,
    for every (layer, position) at once: ``restored`` [n_layers, P], with ``clean`` and ``corrupt`` (scalars)
    and ``effect`` = (restored - corrupt) / (clean - corrupt)."""
    rows = np.asarray(rows)
    tokens, answers = corpus.tokens[rows], corpus.answers[rows]
    n, P = tokens.shape
    L = model.cfg.n_layers
    gen = torch.Generator().manual_seed(seed)
    std = float(model.W_E.std())
    subj = subject_positions(corpus, rows)
    eps = noise * std * torch.randn(n, P, model.cfg.d_model, generator=gen) * subj[..., None]
    names = [f"blocks.{l}.hook_mlp_out" for l in range(L)]
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens, names=names)
    p_clean = logits[:, -1].softmax(-1)[torch.arange(n), answers]
    k = L * P                                           # one copy per (layer, position), plus the corrupt run
    rep = tokens.repeat(k + 1, 1)
    noise_rep = eps.repeat(k + 1, 1, 1)
    restore = torch.zeros(k + 1, L, P, dtype=torch.bool)
    restore[torch.arange(k), torch.arange(k) // P, torch.arange(k) % P] = True

    def embed(x, name):
        return x + noise_rep.to(x)

    def put(x, name):
        l = int(name.split(".")[1])
        where = restore[:, l].repeat_interleave(n, 0)[..., None].to(x.device)
        return torch.where(where, cache[name].repeat(k + 1, 1, 1), x)

    hooks = [("hook_embed", embed)] + [(nm, put) for nm in names]
    with torch.no_grad():
        out = model.run_with_hooks(rep, fwd_hooks=hooks)[:, -1].softmax(-1)
    p = out[torch.arange(len(rep)), answers.repeat(k + 1)].view(k + 1, n)
    restored, corrupt, clean = p[:k].mean(1).view(L, P), float(p[k].mean()), float(p_clean.mean())
    effect = (restored - corrupt) / max(clean - corrupt, 1e-9)
    return {"restored": restored.numpy(), "clean": clean, "corrupt": corrupt, "effect": effect.numpy()}
