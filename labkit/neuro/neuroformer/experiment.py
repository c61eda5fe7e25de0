"""Drivers the notebook calls: data and split, connectivity, generation and few-shot studies.

``control="untrained"`` (the negative control) replaces the pretrained model by the same architecture
with zero training steps: its attention, samples and features carry no knowledge of the circuit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.neuro.neuroformer.connectivity import (
    attention_connectivity,
    direction_accuracy,
    edge_auc,
    glm_couplings,
    xcorr_asymmetry,
)
from labkit.neuro.neuroformer.decoding import (
    check_budget,
    count_features,
    psth,
    r2,
    rates_hz,
    ridge_fit_predict,
    scratch_predict,
    window_behavior,
    window_features,
)
from labkit.neuro.neuroformer.simulate import CircuitData, simulate_circuit, to_dense
from labkit.neuro.neuroformer.tokens import Tokens, tokenize
from labkit.neuro.neuroformer.training import generate

__all__ = ["CONTROLS", "Study", "prepare", "connectivity_study", "generation_study", "few_shot_study",
           "excitatory_edges"]

CONTROLS = ("none", "untrained")


@dataclass
class Study:
    data: CircuitData
    tokens: Tokens
    counts: np.ndarray           # (trials, ms, neurons)
    train: np.ndarray            # trials for pretraining (and the labelled pool)
    test: np.ndarray             # held-out trials


def prepare(n_trials: int, *, backbone: str = "worm", window: int = 50, prev: int = 150, dt_res: int = 10,
            test_frac: float = 0.2, seed: int = 0) -> Study:
    """Simulate, tokenize and split trials (the last ``test_frac`` held out)."""
    data = simulate_circuit(n_trials, backbone=backbone, seed=seed)
    tokens = tokenize(data.trial, data.time, data.neuron, n_trials=n_trials, n_neurons=data.n_neurons,
                      trial_length=data.trial_length, window=window, prev=prev, dt_res=dt_res)
    n_test = max(1, int(round(test_frac * n_trials)))
    counts = to_dense(data.trial, data.time, data.neuron, n_trials, data.trial_length, data.n_neurons)
    return Study(data, tokens, counts, np.arange(n_trials - n_test), np.arange(n_trials - n_test, n_trials))


def excitatory_edges(data: CircuitData) -> np.ndarray:
    """``[pre, post]`` adjacency of the excitatory synapses only."""
    return data.adjacency & (data.weights > 0)


def _scores(S, adj_all, adj_exc):
    return {"auc": edge_auc(S, adj_all), "auc_excitatory": edge_auc(S, adj_exc),
            "direction": direction_accuracy(S, adj_all), "direction_excitatory": direction_accuracy(S, adj_exc)}


def connectivity_study(model, study: Study, *, glm: bool = True, seed: int = 0) -> dict:
    """Attention connectivity, cross-correlation asymmetry and GLM couplings, each scored against the truth
    over all edges and over the excitatory edges (non-edges are every unconnected ordered pair)."""
    d = study.data
    train_counts = study.counts[study.train]
    rows = study.tokens.rows(study.train)
    mats = {"attention": attention_connectivity(model, study.tokens, rows, d.stimulus),
            "attention lift": attention_connectivity(model, study.tokens, rows, d.stimulus, relative=True),
            "cross-correlation": xcorr_asymmetry(train_counts)}
    if glm:
        mats["GLM"] = glm_couplings(train_counts, seed=seed)
    exc = excitatory_edges(d)
    inhibitory = (d.adjacency & (d.weights < 0)).T                       # [post, pre], left out below
    scores = {}
    for name, S in mats.items():
        s = _scores(S, d.adjacency, exc)
        # excitatory: the excitatory synapses against the unconnected pairs (inhibitory pairs ranked last and
        # counted as neither: they are neither positives nor negatives of this score)
        s["auc_excitatory"] = edge_auc(S, exc, exclude=inhibitory)
        scores[name] = s
    return {"matrices": mats, "scores": scores}


def generation_study(model, study: Study, *, n_trials: int | None = None, seed: int = 0, bin_ms: int = 25) -> dict:
    """Generate trials and compare rates and PSTHs with the held-out trials."""
    tk, d = study.tokens, study.data
    n = n_trials or max(study.test.size, 64)
    g = generate(model, n, d.trial_length, d.stimulus, window=tk.window, prev=tk.prev, dt_res=tk.dt_res, seed=seed)
    gen = to_dense(*g, n, d.trial_length, d.n_neurons)
    held = study.counts[study.test]
    r_gen, r_true = rates_hz(gen), rates_hz(held)
    active = r_true >= 1.0
    rel = np.abs(r_gen - r_true)[active] / r_true[active]
    p_gen, p_true = psth(gen, bin_ms), psth(held, bin_ms)
    driven = np.flatnonzero(d.stimulated & active)
    corr = np.array([np.corrcoef(p_gen[:, i], p_true[:, i])[0, 1] if p_gen[:, i].std() > 0 else 0.0
                     for i in driven])
    cg = np.corrcoef(gen.reshape(-1, gen.shape[2])[:, active].T) if gen.sum() else None
    del cg
    return {"generated": gen, "rates_generated": r_gen, "rates_true": r_true, "rate_rel_error": float(np.median(rel)),
            "psth_generated": p_gen, "psth_true": p_true, "psth_corr": corr, "psth_corr_median": float(np.median(corr)),
            "driven": driven, "bin_ms": bin_ms}


def few_shot_study(model, study: Study, shots=(2, 5, 10, 25, 50), *, behavior: np.ndarray | None = None,
                   n_labelled: int | None = None, scratch_steps: int = 150, lr: float = 3e-3, alpha: float = 10.0,
                   seed: int = 0, pretrained_only: bool = False) -> dict:
    """R^2 on held-out trials of the three decoders (module :mod:`.decoding`) for each labelled budget.
    ``behavior`` (trials, ms): the study's own when None. ``pretrained_only``: the frozen-feature head only
    (the same labelled trials are drawn, so curves of two models compare trial for trial)."""
    tk, d = study.tokens, study.data
    behavior = d.behavior if behavior is None else np.asarray(behavior)
    if behavior.ndim != 2 or behavior.shape[0] != tk.n_trials:
        raise ValueError(f"behavior must have one row per trial of the spikes ({tk.n_trials}), got shape "
                         f"{behavior.shape}.")
    pool = study.train if n_labelled is None else study.train[:n_labelled]
    for k in shots:
        check_budget(int(k), pool.size)
    y = window_behavior(behavior, tk.window)
    cfg = model.tf.cfg
    f_all = window_features(model, tk, d.stimulus, np.arange(tk.ids.shape[0]))
    c_all = count_features(study.counts, tk.window, tk.prev)
    test_rows = tk.rows(study.test)
    rng = np.random.default_rng(seed)
    out = {"shots": list(shots), "pretrained": [], "scratch": [], "ridge": []}
    for k in shots:
        rows = tk.rows(np.sort(rng.choice(pool, int(k), replace=False)))
        out["pretrained"].append(r2(y[test_rows], ridge_fit_predict(f_all[rows], y[rows], f_all[test_rows], alpha)))
        if pretrained_only:
            continue
        out["ridge"].append(r2(y[test_rows], ridge_fit_predict(c_all[rows], y[rows], c_all[test_rows], alpha)))
        pred = scratch_predict(tk, d.stimulus, y, rows, test_rows, d_model=cfg.d_model, n_layers=cfg.n_layers,
                               n_heads=cfg.n_heads, steps=scratch_steps, lr=lr, seed=seed)
        out["scratch"].append(r2(y[test_rows], pred))
    return out
