"""The small LM that learns the planted facts: the lab's :class:`~labkit.interp.transformer.Transformer`
trained on the fact corpus until its fact accuracy reaches a target (0.99), then *stopped* — a model
trained on to zero loss spreads each fact over so many neurons that deactivating a quarter of them costs
nothing, which is not the regime the knowledge-neuron papers describe in LLMs.

Training goes through :func:`labkit.core.train.train`; the weights are kept by
:func:`labkit.core.cache.checkpoint`, keyed by every parameter that shapes them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.cache import checkpoint
from labkit.core.device import resolve_device
from labkit.core.params import check_args
from labkit.core.threads import one_thread
from labkit.core.train import train
from labkit.interp.knowledge_neurons.facts import FactCorpus
from labkit.interp.transformer import Transformer, TransformerConfig

CONTROLS = {
    "none": "the method as it is",
    "untrained": "the model is never trained: it stays at its random initialisation (same corpus, same analyses)",
}
"""The notebook's negative controls (its ``control`` parameter)."""

_RULES = {"d_model": (int, 4, 4096), "n_layers": (int, 1, 64), "n_heads": (int, 1, 64), "d_mlp": (int, 1, 65536),
          "lr": (float, 0, 1, "neither"), "batch_size": (int, 1, 10_000_000), "max_steps": (int, 1, 10_000_000),
          "target": (float, 0, 1, "right"), "check_every": (int, 1, 1_000_000), "seed": "seed",
          "control": list(CONTROLS)}


@dataclass
class FactModel:
    """A trained model with its training record: ``losses`` per step, ``steps`` taken, ``accuracy`` reached."""

    model: Transformer
    losses: np.ndarray
    steps: int
    accuracy: float


def last_logits(model: Transformer, tokens: torch.Tensor, fwd_hooks=(), batch: int = 8192) -> torch.Tensor:
    """Logits at the last position [n, d_vocab], in batches of ``batch`` prompts (no gradients)."""
    with torch.no_grad():
        return torch.cat([model.run_with_hooks(tokens[i:i + batch], fwd_hooks=fwd_hooks)[:, -1]
                          for i in range(0, len(tokens), batch)])


def fact_accuracy(model: Transformer, corpus: FactCorpus, rows=None) -> float:
    """Share of statements (all, or ``rows``) whose argmax at the last position is the planted object."""
    idx = slice(None) if rows is None else torch.as_tensor(rows)
    tokens, answers = corpus.tokens[idx], corpus.answers[idx]
    pred = last_logits(model, tokens.to(model.W_E.device)).argmax(-1).cpu()
    return float((pred == answers).float().mean())


@one_thread
def train_fact_model(corpus: FactCorpus, *, d_model: int = 64, n_layers: int = 2, n_heads: int = 4,
                     d_mlp: int = 128, lr: float = 3e-3, batch_size: int = 512, max_steps: int = 4000,
                     target: float = 0.99, check_every: int = 25, seed: int = 0, control: str = "none",
                     device="cpu", cache: bool = True) -> FactModel:
    """Train ``Transformer`` (GELU MLPs, learned positions) on ``corpus`` with cross-entropy on the object at
    the last position, in minibatches drawn from ``seed``, and stop as soon as the fact accuracy on the whole
    corpus reaches ``target`` (checked every ``check_every`` steps) or after ``max_steps``.

    ``control="untrained"`` returns the model at its initialisation (the negative control). With ``cache``
    the weights come from :func:`labkit.core.cache.checkpoint` when the same parameters were trained before.
    """
    values = dict(d_model=d_model, n_layers=n_layers, n_heads=n_heads, d_mlp=d_mlp, lr=lr, batch_size=batch_size,
                  max_steps=max_steps, target=target, check_every=check_every, seed=seed, control=control)
    check_args("train_fact_model", values, _RULES)
    if d_model % n_heads:
        raise ValueError(f"train_fact_model: d_model={d_model} must be a multiple of n_heads={n_heads}.")
    cfg = TransformerConfig(d_vocab=corpus.d_vocab, n_ctx=corpus.tokens.shape[1], d_model=d_model,
                            n_layers=n_layers, n_heads=n_heads, d_head=d_model // n_heads, d_mlp=d_mlp)

    dev = resolve_device(device)

    def build():
        torch.manual_seed(seed)
        model = Transformer(cfg)
        if control == "untrained":
            return {"state": model.state_dict(), "losses": torch.zeros(0), "steps": torch.tensor(0)}
        model = model.to(dev)
        tokens, answers = corpus.tokens.to(dev), corpus.answers.to(dev)
        gen = torch.Generator().manual_seed(seed + 7919)
        done = {"steps": max_steps}

        def loss_fn(step):
            idx = torch.randint(0, len(tokens), (min(batch_size, len(tokens)),), generator=gen)
            return F.cross_entropy(model(tokens[idx])[:, -1], answers[idx])

        def stop(step, loss):
            if (step + 1) % check_every == 0:
                model.eval()
                acc = fact_accuracy(model, corpus)
                model.train()
                if acc >= target:
                    done["steps"] = step + 1
                    return True
            return False

        losses = train(model, loss_fn, max_steps, lr=lr, callbacks=[stop], desc="training on the facts",
                       name="fact model training")
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return {"state": state, "losses": torch.as_tensor(losses[:done["steps"]]),
                "steps": torch.tensor(done["steps"])}

    key = {**values, "d_vocab": corpus.d_vocab, "n_statements": len(corpus),
           "corpus": int(corpus.tokens.sum()) * 1_000_003 + int(corpus.answers.sum())}
    out = checkpoint("knowledge_neurons", key, build, code="v1") if cache else build()
    model = Transformer(cfg)
    model.load_state_dict(out["state"])
    model = model.to(dev).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return FactModel(model, np.asarray(out["losses"]), int(out["steps"]), fact_accuracy(model, corpus))
