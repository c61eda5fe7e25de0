"""Drivers the notebook calls: the deactivation study, steering between languages and key-space abstention."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.core.threads import one_thread
from labkit.interp.knowledge_neurons.facts import FactCorpus
from labkit.interp.knowledge_neurons.neurons import deactivate, group_neurons, masks_from, neuron_stats
from labkit.interp.transformer import Transformer


@dataclass
class DeactivationStudy:
    """Accuracy per group with each group's neurons zeroed, at each budget, beside random neurons.

    ``own[b]`` [n_groups, n_groups]: row g = g's neurons zeroed, column h = accuracy on group h;
    ``random[b]`` [n_random, n_groups]; ``base`` [n_groups] with nothing zeroed."""

    names: list
    budgets: list
    base: np.ndarray
    own: dict
    random: dict
    neurons: dict          # budget -> group -> flat neuron indices
    stats: np.ndarray

    def drops(self, budget: float, kind: str) -> dict:
        """Mean accuracy drops for groups of ``kind`` ("rel" or "lang") at ``budget``: own group, other groups of
        the kind, and the own group under random neurons; with the ratios (denominators floored at 1e-3)."""
        kinds = np.array([n.rstrip("0123456789") for n in self.names])
        idx = np.flatnonzero(kinds == kind)
        own_m = self.base[None, idx] - self.own[budget][np.ix_(idx, idx)]      # [g, h] drops
        own = float(np.diag(own_m).mean())
        other = float(own_m[~np.eye(len(idx), dtype=bool)].mean()) if len(idx) > 1 else float("nan")
        rand = float((self.base[None, idx] - self.random[budget][:, idx]).mean())
        return {"own": own, "other": other, "random": rand, "own_over_other": own / max(other, 1e-3),
                "own_over_random": own / max(rand, 1e-3)}

    def cumulative(self, kind: str, sizes: np.ndarray) -> bool:
        """Whether the own-group drop of ``kind`` never falls as the budget grows and rises, from the smallest
        budget to the largest, by more than two binomial standard errors of that difference (``sizes``: the
        statements per group, in ``names`` order), so that noise in an untrained model's accuracy cannot pass."""
        kinds = np.array([n.rstrip("0123456789") for n in self.names])
        idx = np.flatnonzero(kinds == kind)
        curve = [self.drops(b, kind)["own"] for b in self.budgets]
        acc = [np.diag(self.own[b][np.ix_(idx, idx)]) for b in (self.budgets[0], self.budgets[-1])]
        var = sum(float((a * (1 - a) / sizes[idx]).sum()) for a in acc) / len(idx) ** 2
        return bool(np.all(np.diff(curve) >= 0) and curve[-1] - curve[0] > 2 * np.sqrt(var))


@one_thread
def deactivation_study(model: Transformer, corpus: FactCorpus, budgets=(0.05, 0.1, 0.25), stat: str = "mean",
                       n_random: int = 5, seed: int = 0, max_rows: int = 8192) -> DeactivationStudy:
    """Select each group's neurons at every budget (:func:`group_neurons`), draw ``n_random`` random neuron sets
    of the same size, and evaluate every ablation in batched forwards (:func:`deactivate`)."""
    budgets = [check_value("budget", float(b), (float, 0, 1, "right"), "deactivation_study") for b in budgets]
    n_random = check_value("n_random", n_random, (int, 1, 10_000), "deactivation_study")
    groups = corpus.groups()
    names = list(groups)
    G = torch.tensor(np.stack(list(groups.values())), dtype=torch.float32)
    G = G / G.sum(1, keepdim=True)
    N = model.cfg.n_layers * model.cfg.d_mlp
    stats = neuron_stats(model, corpus, stat)
    rng = np.random.default_rng(seed)
    sets, neurons = [[]], {}
    for b in budgets:
        neurons[b] = group_neurons(model, corpus, b, stat, stats=stats)
        k = len(neurons[b][names[0]])
        sets += list(neurons[b].values()) + [rng.choice(N, k, replace=False) for _ in range(n_random)]
    correct = deactivate(model, corpus.tokens, corpus.answers, masks_from(sets, N), max_rows=max_rows)
    acc = (correct.float() @ G.T).numpy()                                       # [masks, groups]
    own, rand, i = {}, {}, 1
    for b in budgets:
        own[b] = acc[i:i + len(names)]
        rand[b] = acc[i + len(names):i + len(names) + n_random]
        i += len(names) + n_random
    return DeactivationStudy(names, budgets, acc[0], own, rand, neurons, stats)


@one_thread
def steering(model: Transformer, corpus: FactCorpus, source: int, target: int, layer: int, scale: float = 1.0) -> dict:
    """A language steering vector: the mean residual (``blocks.{layer}.hook_resid_post``, last position) of
    ``target``'s prompts minus ``source``'s, added at every position of ``source``'s plain prompts. Returns the
    share of predictions in ``target``'s vocabulary and the share that are the right fact in ``target``."""
    L = model.cfg.n_layers
    layer = check_value("layer", layer, (int, 0, L - 1), "steering")
    for name, g in (("source", source), ("target", target)):
        check_value(name, g, (int, 0, corpus.n_languages - 1), "steering")
    name = f"blocks.{layer}.hook_resid_post"
    with torch.no_grad():
        _, cache = model.run_with_cache(corpus.tokens, names=[name])
    h = cache[name][:, -1]
    v = h[torch.as_tensor(corpus.language == target)].mean(0) - h[torch.as_tensor(corpus.language == source)].mean(0)
    rows = np.flatnonzero((corpus.language == source) & (corpus.template == 0))
    with torch.no_grad():
        pred = model.run_with_hooks(corpus.tokens[rows], fwd_hooks=[(name, lambda x, n: x + scale * v)])[:, -1]
    pred = pred.argmax(-1).numpy()
    vocab = corpus.language_tokens(target)
    right = corpus.object_token(target, corpus.relation[rows], corpus.object[rows])
    return {"in_target": float(np.isin(pred, vocab).mean()), "fact_right": float((pred == right).mean())}


@one_thread
def key_space_box(model: Transformer, corpus: FactCorpus, language: int, layer: int, coverage: float = 0.9) -> dict:
    """Key Space Detection: a box in ``layer``'s MLP key space (last position) holding ``coverage`` of
    ``language``'s prompts (per-neuron quantiles, tightened until the joint coverage is reached). The model
    abstains on keys inside it. Returns, per language, the share abstained on and the relative accuracy drop."""
    coverage = check_value("coverage", coverage, (float, 0, 1, "neither"), "key_space_box")
    check_value("language", language, (int, 0, corpus.n_languages - 1), "key_space_box")
    name = f"blocks.{check_value('layer', layer, (int, 0, model.cfg.n_layers - 1), 'key_space_box')}.mlp.hook_post"
    with torch.no_grad():
        logits, cache = model.run_with_cache(corpus.tokens, names=[name])
    K = cache[name][:, -1]
    own = torch.as_tensor(corpus.language == language)
    lo_q, inside = 0.0, None
    for q in np.linspace(0.0, 0.5, 51):                  # widen the quantile band until coverage is met
        lo_q = 0.5 - q - 1e-9
        lo, hi = K[own].quantile(max(lo_q, 0.0), 0), K[own].quantile(min(1 - lo_q, 1.0), 0)
        inside = ((K >= lo) & (K <= hi)).all(1)
        if inside[own].float().mean() >= coverage:
            break
    correct = (logits[:, -1].argmax(-1) == corpus.answers).numpy()
    kept = correct & ~inside.numpy()
    out = {}
    for g in range(corpus.n_languages):
        m = corpus.language == g
        out[g] = {"abstain": float(inside.numpy()[m].mean()),
                  "relative_drop": float(1 - kept[m].mean() / max(correct[m].mean(), 1e-9))}
    return out
