"""Rank-one fact edits in an MLP's output weights (ROME; PMET), checked against their closed forms.

An MLP is a key-value memory: at a position its keys are the activations ``k = hook_post`` [d_mlp] and it
writes ``W k`` with ``W = W_outᵀ`` [d_model, d_mlp]. An edit chooses target *residuals* ``R`` (what each key
should add on top of what it writes now) and solves for the smallest change, measured by the key covariance
``C = E[k kᵀ]`` (uncentred, over every position of the corpus):

* ROME (Meng et al. 2022), one key, an exact constraint: ``ΔW = r (C⁻¹k)ᵀ / (kᵀ C⁻¹ k)``, so ``(W + ΔW) k = W k + r``;
* PMET / MEMIT, least squares with a penalty: ``ΔW = R Kᵀ (K Kᵀ + λ C)⁻¹`` minimises
  ``‖ΔW K − R‖² + λ tr(ΔW C ΔWᵀ)``.

The residual comes from optimisation (:func:`edit_target`): a vector added to the MLP output at the last
position is trained so the model predicts the new object (PMET also optimises the attention output there,
then writes only the MLP part; official settings: 30 steps, lr 0.2, weight decay 0.5, each vector's norm
clamped at 0.75 × the norm of the output it is added to).
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.params import check_value
from labkit.core.threads import one_thread
from labkit.core.train import train
from labkit.interp.knowledge_neurons.facts import FactCorpus
from labkit.interp.transformer import Transformer


def mlp_keys(model: Transformer, tokens: torch.Tensor, layer: int, position: int = -1) -> torch.Tensor:
    """The MLP keys (``hook_post``) of ``layer`` at ``position`` [n, d_mlp]."""
    layer = check_value("layer", layer, (int, 0, model.cfg.n_layers - 1), "mlp_keys")
    name = f"blocks.{layer}.mlp.hook_post"
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names=[name])
    return cache[name][:, position]


@one_thread
def key_covariance(model: Transformer, corpus: FactCorpus, layer: int) -> torch.Tensor:
    """Uncentred second moment of ``layer``'s MLP keys over every non-pad position of the corpus [d_mlp, d_mlp]."""
    layer = check_value("layer", layer, (int, 0, model.cfg.n_layers - 1), "key_covariance")
    name = f"blocks.{layer}.mlp.hook_post"
    with torch.no_grad():
        _, cache = model.run_with_cache(corpus.tokens, names=[name])
    K = cache[name][corpus.tokens > 0].double()
    return K.T @ K / len(K)


def rome_update(k: torch.Tensor, r: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """ROME's rank-one ΔW [d_model, d_mlp] with ``(W + ΔW) k = W k + r`` exactly."""
    k, r, C = k.double(), r.double(), C.double()
    Cik = torch.linalg.solve(C, k)
    return torch.outer(r, Cik) / (k @ Cik)


def pmet_update(K: torch.Tensor, R: torch.Tensor, C: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """PMET / MEMIT's ΔW = R Kᵀ (K Kᵀ + λ C)⁻¹ for keys ``K`` [d_mlp, m] and residuals ``R`` [d_model, m]."""
    lam = check_value("lam", lam, (float, 0, None, "neither"), "pmet_update")
    K, R, C = K.double(), R.double(), C.double()
    A = K @ K.T + lam * C
    return torch.linalg.solve(A, (R @ K.T).T).T           # A is symmetric: (R Kᵀ A⁻¹)ᵀ = A⁻¹ K Rᵀ


def edit_target(model: Transformer, tokens: torch.Tensor, target: torch.Tensor, layer: int, *, pmet: bool = True,
                steps: int = 30, lr: float = 0.2, weight_decay: float = 0.5, clamp: float = 0.75) -> torch.Tensor:
    """The residual ``r`` [d_model] that, added to ``layer``'s MLP output at the last position of ``tokens``,
    makes the model predict ``target`` (with ``pmet``, an attention-output vector is optimised beside it and
    dropped). Loss: cross-entropy plus ``weight_decay * ‖δ‖² / ‖out‖²`` (PMET's official form); each vector is
    clamped to ``clamp`` × the norm of the output it is added to."""
    names = [f"blocks.{layer}.hook_mlp_out"] + ([f"blocks.{layer}.hook_attn_out"] if pmet else [])
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names=names)
    init = {n: cache[n][:, -1].mean(0) for n in names}
    deltas = {n: torch.zeros(model.cfg.d_model, requires_grad=True) for n in names}
    target = target.expand(len(tokens))

    def add(x, name):
        d = deltas[name]
        limit = clamp * init[name].norm()
        d = d * torch.clamp(limit / d.norm().clamp_min(1e-12), max=1.0)
        x = x.clone()
        x[:, -1] = x[:, -1] + d
        return x

    hooks = [(n, add) for n in names]

    def loss_fn(step):
        logits = model.run_with_hooks(tokens, fwd_hooks=hooks)[:, -1]
        decay = sum(deltas[n].norm() ** 2 / init[n].norm().clamp_min(1e-12) ** 2 for n in names)
        return F.cross_entropy(logits, target) + weight_decay * decay

    with torch.enable_grad():
        train(list(deltas.values()), loss_fn, steps, lr=lr, desc="edit target", name="edit target", progress=False)
    d = deltas[names[0]].detach()
    limit = clamp * init[names[0]].norm()
    return d * torch.clamp(limit / d.norm().clamp_min(1e-12), max=1.0)


@contextmanager
def edited(model: Transformer, layer: int, dW: torch.Tensor):
    """Apply ΔW [d_model, d_mlp] to ``layer``'s ``W_out`` inside the block, and restore the weights after."""
    W = model.blocks[layer].mlp.W_out
    saved = W.detach().clone()
    with torch.no_grad():
        W.add_(dW.T.to(W))
    try:
        yield model
    finally:
        with torch.no_grad():
            W.copy_(saved)


def check_edit(corpus: FactCorpus, subject: int, relation: int, new_object: int) -> None:
    """One sentence naming the argument when an edit is impossible: unknown subject or relation, an object
    outside the relation's objects, or the object the fact already has."""
    check_value("subject", subject, (int, 0, corpus.n_subjects - 1), "edit")
    check_value("relation", relation, (int, 0, corpus.n_relations - 1), "edit")
    check_value("new_object", new_object, (int, 0, corpus.n_objects - 1), "edit")
    if int(corpus.facts[subject, relation]) == new_object:
        raise ValueError(f"Parameter 'new_object' of edit is the object subject {subject} already has under "
                         f"relation {relation} ({new_object}); an edit must change the fact.")


@one_thread
def fact_edit(model: Transformer, corpus: FactCorpus, C: torch.Tensor, subject: int, relation: int,
              language: int, new_object: int, layer: int, method: str = "pmet", lam: float = 1.0,
              **target_kw) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ΔW that moves fact (subject, relation) to ``new_object`` (an index among the relation's objects),
    computed on the plain statement in ``language``: returns (ΔW, key, residual). ``method``: "rome" or "pmet"."""
    check_edit(corpus, subject, relation, new_object)
    method = check_value("method", method, ["rome", "pmet"], "fact_edit")
    lam = check_value("lam", lam, (float, 0, None, "neither"), "fact_edit")
    row = corpus.index(subject, relation, language, 0)
    tokens = corpus.tokens[row:row + 1]
    target = torch.as_tensor(corpus.object_token(language, relation, new_object)).long()
    r = edit_target(model, tokens, target, layer, pmet=method == "pmet", **target_kw)
    k = mlp_keys(model, tokens, layer)[0]
    if method == "rome":
        return rome_update(k, r, C), k, r
    return pmet_update(k[:, None], r[:, None], C, lam), k, r


@one_thread
def edit_study(model: Transformer, corpus: FactCorpus, n_edits: int = 100, layer: int | None = None,
               method: str = "rome", lam: float = 1.0, n_neighbours: int = 300, seed: int = 0) -> dict:
    """``n_edits`` edits, one at a time and reverted: each a random fact in a random language moved to another
    object of its relation. Per edit: efficacy (the plain statement now predicts the new object), paraphrase
    (the filler template does), specificity (the share of ``n_neighbours`` statements of other subjects whose
    prediction is unchanged) and transfer (the share of the other languages' plain statements that now predict
    the new object in their language)."""
    n_edits = check_value("n_edits", n_edits, (int, 1, None), "edit_study")
    layer = model.cfg.n_layers - 1 if layer is None else check_value(
        "layer", layer, (int, 0, model.cfg.n_layers - 1), "edit_study")
    rng = np.random.default_rng(seed)
    C = key_covariance(model, corpus, layer)
    subj = rng.integers(0, corpus.n_subjects, n_edits)
    rel = rng.integers(0, corpus.n_relations, n_edits)
    lang = rng.integers(0, corpus.n_languages, n_edits)
    shift = rng.integers(1, corpus.n_objects, n_edits)
    new = (corpus.facts[subj, rel] + shift) % corpus.n_objects
    rec = {k: np.zeros(n_edits) for k in ("efficacy", "paraphrase", "specificity", "transfer")}
    for e in range(n_edits):
        s, r, g, o = int(subj[e]), int(rel[e]), int(lang[e]), int(new[e])
        dW, _, _ = fact_edit(model, corpus, C, s, r, g, o, layer, method, lam)
        others = np.flatnonzero(corpus.subject != s)
        nb = torch.as_tensor(rng.choice(others, min(n_neighbours, len(others)), replace=False))
        langs = [h for h in range(corpus.n_languages) if h != g]
        rows = [corpus.index(s, r, g, 0), corpus.index(s, r, g, 1)] + [corpus.index(s, r, h, 0) for h in langs]
        probe = torch.cat([corpus.tokens[rows], corpus.tokens[nb]])
        with torch.no_grad():
            before = model(corpus.tokens[nb])[:, -1].argmax(-1)
            with edited(model, layer, dW):
                after = model(probe)[:, -1].argmax(-1)
        want = corpus.object_token([g, g] + langs, r, o)
        hit = after[:len(rows)].numpy() == want
        rec["efficacy"][e], rec["paraphrase"][e] = hit[0], hit[1]
        rec["transfer"][e] = hit[2:].mean() if len(langs) else np.nan
        rec["specificity"][e] = float((after[len(rows):] == before).float().mean())
    return {**rec, "subject": subj, "relation": rel, "language": lang, "new_object": new, "layer": layer}
