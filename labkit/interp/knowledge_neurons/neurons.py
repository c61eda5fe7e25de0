"""Group-specific MLP neurons and their deactivation.

A *neuron* is one unit of ``blocks.{l}.mlp.hook_post``; neurons are numbered flat, ``l * d_mlp + i``. A
neuron is specific to a group g (a relation, or a language) when its statistic on g's prompts stands above
every other group's of the same kind (relations against relations, languages against languages): its score is
``stat[g] - max_{h != g} stat[h]``, and a budget of ``b`` selects g's ``round(b * n_neurons)`` highest scores.
The statistic is the mean activation at the last position (``stat="mean"``, the relation-neuron paper) or the
activation probability, P(pre-activation > 0) (``stat="prob"``, the language-neuron code); both are reduced
inside the hooks, so no activation cache is kept.

:func:`deactivate` runs many ablations in one batched forward: each mask is a row of a [masks, neurons] matrix,
the prompts are repeated once per mask, and the hook multiplies each copy's activations by its mask.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.core.threads import one_thread
from labkit.interp.knowledge_neurons.facts import FactCorpus
from labkit.interp.transformer import Transformer

STATS = ("mean", "prob")


def _kinds(names) -> np.ndarray:
    return np.array([n.rstrip("0123456789") for n in names])


@one_thread
def neuron_stats(model: Transformer, corpus: FactCorpus, stat: str = "mean", batch: int = 4096) -> np.ndarray:
    """Per group (``corpus.groups()``, in order) and neuron, the statistic at the last position:
    [n_groups, n_layers * d_mlp]. Reduced in the hooks: a group-membership matrix times the activations."""
    stat = check_value("stat", stat, list(STATS), "neuron_stats")
    groups = corpus.groups()
    G = torch.tensor(np.stack(list(groups.values())), dtype=torch.float32)          # [g, n]
    G = G / G.sum(1, keepdim=True)
    L, D = model.cfg.n_layers, model.cfg.d_mlp
    total = torch.zeros(len(groups), L, D)
    where = "hook_post" if stat == "mean" else "hook_pre"
    for start in range(0, len(corpus), batch):
        g = G[:, start:start + batch]

        def reduce(x, name, g=g):
            a = x[:, -1]
            a = a if stat == "mean" else (a > 0).float()
            total[:, int(name.split(".")[1])] += g @ a.float().cpu()

        hooks = [(f"blocks.{l}.mlp.{where}", reduce) for l in range(L)]
        with torch.no_grad():
            model.run_with_hooks(corpus.tokens[start:start + batch].to(model.W_E.device), fwd_hooks=hooks)
    return total.reshape(len(groups), L * D).numpy()


def specificity_scores(stats: np.ndarray, names) -> np.ndarray:
    """``stat[g] - max over the other groups of g's kind``, per group and neuron [n_groups, n_neurons]."""
    kinds = _kinds(names)
    out = np.empty_like(stats)
    for kind in np.unique(kinds):
        rows = np.flatnonzero(kinds == kind)
        s = stats[rows]
        if len(rows) == 1:
            out[rows] = s
            continue
        top2 = np.sort(s, axis=0)[-2:]                       # second-largest and largest per neuron
        other_max = np.where(s == top2[1], top2[0], top2[1])
        out[rows] = s - other_max
    return out


@one_thread
def group_neurons(model: Transformer, corpus: FactCorpus, budget: float = 0.25, stat: str = "mean",
                  stats: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Group name -> its ``round(budget * n_neurons)`` most specific neurons (flat indices, best first).
    ``stats`` (from :func:`neuron_stats`) saves recomputing them across budgets."""
    budget = check_value("budget", budget, (float, 0, 1, "right"), "group_neurons")
    names = list(corpus.groups())
    stats = neuron_stats(model, corpus, stat) if stats is None else stats
    scores = specificity_scores(stats, names)
    k = max(1, int(round(budget * scores.shape[1])))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return dict(zip(names, order))


def masks_from(sets, n_neurons: int) -> torch.Tensor:
    """A [len(sets), n_neurons] float mask, zero at each set's neurons."""
    masks = torch.ones(len(sets), n_neurons)
    for i, s in enumerate(sets):
        s = np.asarray(s, dtype=np.int64)
        if len(s) and (s.min() < 0 or s.max() >= n_neurons):
            raise ValueError(f"neuron index {int(s.min() if s.min() < 0 else s.max())} is out of range "
                             f"[0, {n_neurons - 1}].")
        masks[i, s] = 0.0
    return masks


@one_thread
def deactivate(model: Transformer, tokens: torch.Tensor, answers: torch.Tensor, masks: torch.Tensor,
               max_rows: int = 8192) -> torch.Tensor:
    """Correctness of every prompt under every mask: [n_masks, n_prompts] bool.

    ``masks`` [n_masks, n_layers * d_mlp] multiplies ``hook_post`` at every position (0: the neuron is
    zeroed). The prompts are repeated once per mask and run together, ``max_rows // n_prompts`` masks per
    forward pass (all of them when they fit), instead of one forward per mask.
    """
    L, D = model.cfg.n_layers, model.cfg.d_mlp
    masks = torch.as_tensor(masks, dtype=torch.float32)
    if masks.dim() != 2 or masks.shape[1] != L * D:
        raise ValueError(f"masks must have shape [n_masks, {L * D}] (n_layers * d_mlp), got {tuple(masks.shape)}.")
    dev = model.W_E.device
    tokens, answers = model.check_tokens(tokens), answers.to(dev)
    n = len(tokens)
    per = max(1, max_rows // n)
    out = []
    for start in range(0, len(masks), per):
        m = masks[start:start + per].to(dev).view(-1, L, D)
        c = len(m)

        def hook(x, name, m=m, c=c):
            l = int(name.split(".")[1])
            return (x.view(c, n, *x.shape[1:]) * m[:, l, None, None, :]).view_as(x)

        hooks = [(f"blocks.{l}.mlp.hook_post", hook) for l in range(L)]
        with torch.no_grad():
            logits = model.run_with_hooks(tokens.repeat(c, 1), fwd_hooks=hooks)[:, -1]
        out.append((logits.argmax(-1) == answers.repeat(c)).view(c, n).cpu())
    return torch.cat(out)


def deactivate_one(model: Transformer, tokens: torch.Tensor, answers: torch.Tensor, neurons) -> torch.Tensor:
    """One ablation by plain hooks (the reference :func:`deactivate` is tested against): [n_prompts] bool."""
    L, D = model.cfg.n_layers, model.cfg.d_mlp
    mask = masks_from([neurons], L * D)[0].view(L, D).to(model.W_E.device)
    hooks = [(f"blocks.{l}.mlp.hook_post", lambda x, name, l=l: x * mask[l]) for l in range(L)]
    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=hooks)[:, -1]
    return (logits.argmax(-1) == answers.to(logits.device)).cpu()
