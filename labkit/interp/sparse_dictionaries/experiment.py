"""The comparisons the notebook runs: one dictionary of every kind (:func:`make_methods`), all fitted
and judged against the truth side by side (:func:`compare`), and sparsity sweeps (:func:`sweep`)."""
from __future__ import annotations

from labkit.core.params import check_value
from labkit.interp.sparse_dictionaries.base import CONTROLS, SparseDictionary
from labkit.interp.sparse_dictionaries.codebook import VQCodebook
from labkit.interp.sparse_dictionaries.metrics import evaluate
from labkit.interp.sparse_dictionaries.sae import JumpReLUSAE, MatchingPursuitSAE, ReLUSAE, TopKSAE, Transcoder
from labkit.interp.sparse_dictionaries.seminmf import SemiNMF

METHODS = {"relu": ReLUSAE, "topk": TopKSAE, "jumprelu": JumpReLUSAE, "transcoder": Transcoder,
           "vq": VQCodebook, "seminmf": SemiNMF, "mp": MatchingPursuitSAE}


def make_methods(n_latents: int, *, k: int = 8, steps: int = 150, batch_size: int = 1024, l1: float = 0.05,
                 l0: float = 0.005, transcoder_l1: float = 0.05, seminmf_iter: int = 60, seed: int = 0,
                 device=None, only=None) -> dict[str, SparseDictionary]:
    """One dictionary of every kind (keys of :data:`METHODS`) with shared size, budget and seed.

    ``k`` is the TopK SAE's, the matching pursuit's number of steps and the codebook's codes per
    input; ``l1`` the ReLU SAE's penalty, ``l0`` the JumpReLU SAE's, ``transcoder_l1`` the
    transcoder's. ``only`` keeps a subset of the keys.
    """
    common = dict(steps=steps, batch_size=batch_size, seed=seed, device=device)
    make = {
        "topk": lambda: TopKSAE(n_latents, k=k, **common),
        "relu": lambda: ReLUSAE(n_latents, l1=l1, **common),
        "jumprelu": lambda: JumpReLUSAE(n_latents, l0=l0, **common),
        "transcoder": lambda: Transcoder(n_latents, l1=transcoder_l1, **common),
        "vq": lambda: VQCodebook(n_latents, k=k, **common),
        "seminmf": lambda: SemiNMF(n_latents, n_iter=seminmf_iter, l1=0.01, seed=seed, device=device),
        "mp": lambda: MatchingPursuitSAE(n_latents, k=k, **common),
    }
    keys = list(make) if only is None else list(only)
    bad = [key for key in keys if key not in make]
    if bad:
        raise ValueError(f"only must name methods among {', '.join(make)}, got {bad}.")
    return {key: make[key]() for key in keys}


def fit_dictionary(model: SparseDictionary, X, Y=None, *, control: str = "none") -> SparseDictionary:
    """``model.fit(X)`` (a transcoder: ``fit(X, Y)``), then the notebook's negative control if asked for
    (``control="random"``: the fitted atoms replaced by random unit directions, see :data:`CONTROLS`)."""
    control = check_value("control", control, list(CONTROLS), "fit_dictionary")
    model.fit(X, Y) if model.needs_target else model.fit(X)
    return model.randomize_atoms() if control == "random" else model


def compare(models: dict[str, SparseDictionary], X, directions, planes=None, *, Y=None, out_directions=None,
            eval_samples: int | None = 10_000, control: str = "none") -> list[dict]:
    """Fit every model on ``X`` and evaluate it against the truth; one row (a dict) per model.

    A transcoder is fitted on ``(X, Y)`` and judged against ``out_directions`` (the features of
    ``Y``); the others against ``directions``/``planes``. Reconstruction, L0 and dead latents are
    measured on the first ``eval_samples`` rows (``None``: all). ``control``: see :func:`fit_dictionary`.
    """
    control = check_value("control", control, list(CONTROLS), "compare")
    rows = []
    for key, model in models.items():
        n = X.shape[0] if eval_samples is None else min(eval_samples, X.shape[0])
        if model.needs_target:
            if Y is None or out_directions is None:
                raise ValueError(f"{key} is a transcoder: compare needs Y and out_directions.")
            fit_dictionary(model, X, Y, control=control)
            out = evaluate(model, X[:n], out_directions, Y=Y[:n])
        else:
            fit_dictionary(model, X, control=control)
            out = evaluate(model, X[:n], directions, planes)
        rows.append({"key": key, "method": model.name, **out})
    return rows


def sweep(make, values, X, directions, planes=None, *, eval_samples: int | None = 10_000,
          control: str = "none") -> list[dict]:
    """Fit ``make(value)`` for each of ``values`` on ``X``; one evaluation row per value (``control``: see
    :func:`fit_dictionary`)."""
    control = check_value("control", control, list(CONTROLS), "sweep")
    rows = []
    for v in values:
        model = fit_dictionary(make(v), X, control=control)
        n = X.shape[0] if eval_samples is None else min(eval_samples, X.shape[0])
        rows.append({"value": v, "method": model.name, **evaluate(model, X[:n], directions, planes)})
    return rows
