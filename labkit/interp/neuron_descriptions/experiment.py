"""The drivers the notebook calls: build the captioner, describe planted units, describe and edit a CNN.

``control="shuffle"`` is the negative control: each unit is described from another unit's exemplars
(a random permutation), so descriptions keep their distribution but lose their unit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.cache import checkpoint
from labkit.core.params import check_value
from labkit.data.scenes import N_MARKER_POSITIONS, WORDS, Grammar, Scenes, draw_scenes
from labkit.interp.neuron_descriptions.captioner import (
    Captioner,
    SceneEncoder,
    describe,
    region_features,
    train_encoder,
)
from labkit.interp.neuron_descriptions.exemplars import Exemplars, dissect, exemplars
from labkit.interp.neuron_descriptions.metrics import description_precision, detection_score, slot_f1
from labkit.interp.neuron_descriptions.models import ShapeCNN, edit_experiment, layer_maps, spurious_scenes, train_cnn
from labkit.interp.neuron_descriptions.planted import (
    KINDS,
    annotation_prior,
    annotator_distribution,
    planted_activations,
    planted_exemplars,
    planted_units,
)

CONTROLS = ("none", "shuffle")
SINGLES = WORDS                      # network dissection's concepts: one word each


def marked_scenes(n: int, seed: int, share: float = 0.3, **kw) -> Scenes:
    """General scenes, a share of them with the marker at a random position."""
    rng = np.random.default_rng(seed + 104729)
    at = np.where(rng.random(n) < share, rng.integers(0, N_MARKER_POSITIONS, n), -1)
    return draw_scenes(n, seed, marker_at=at, **kw)


@dataclass
class CaptionerKit:
    grammar: Grammar
    encoder: SceneEncoder
    captioner: Captioner
    log_prior: np.ndarray
    encoder_loss: np.ndarray


def build_captioner(grammar: Grammar, *, n_pretrain: int = 2000, encoder_steps: int = 300, encoder_width: int = 12,
                    n_train_units: int = 1500, n_scenes: int = 1200, specificity: float = 0.3, head_steps: int = 400,
                    k: int = 15, q: float = 0.99, seed: int = 0) -> CaptionerKit:
    """Pretrain the encoder (cached), describe ``n_train_units`` planted units by simulated annotators, fit
    the captioner on them; the prior is their annotation frequency. Uses seeds ``seed + 1..3``."""
    pre = marked_scenes(n_pretrain, seed + 1, share=0.5)

    def build_encoder():
        enc, hist = train_encoder(pre, steps=encoder_steps, width=encoder_width, seed=seed)
        return {"state": enc.state_dict(), "loss": torch.as_tensor(hist)}

    saved = checkpoint("neuron_descriptions-encoder", dict(n=n_pretrain, steps=encoder_steps, width=encoder_width,
                                                           seed=seed), build_encoder)
    enc = SceneEncoder(encoder_width)
    enc.load_state_dict(saved["state"])
    enc.eval()
    pool = marked_scenes(n_scenes, seed + 2)
    units = planted_units(pool, grammar, n_train_units, seed=seed + 2, n_corrupted=0, min_scenes=k + 5,
                          marker_units=max(1, n_train_units // 60))
    ex = planted_exemplars(units, pool, grammar, k=k, q=q, seed=seed + 2)
    feats = region_features(enc.posteriors(pool.images), ex.images, ex.masks)
    ann = annotator_distribution(grammar, units.descriptions, specificity)
    cap = Captioner(grammar, steps=head_steps, seed=seed + 3).fit(feats, ann)
    return CaptionerKit(grammar, enc, cap, annotation_prior(grammar, ann), saved["loss"].numpy())


def _control(feats: np.ndarray, control: str, seed: int) -> np.ndarray:
    check_value("control", control, list(CONTROLS))
    if control == "shuffle":
        return feats[np.random.default_rng(seed + 31).permutation(len(feats))]
    return feats


@dataclass
class PlantedStudy:
    units: object
    scenes: Scenes
    exemplars: Exemplars
    log_likelihood: np.ndarray
    chosen: dict                   # λ -> (U,) description indices
    dissection: np.ndarray         # (U,) dissection's one-word labels (grammar indices)
    iou: np.ndarray                # (U, 16)
    acts: np.ndarray               # (n_scenes, U, 16, 16)
    features: np.ndarray           # (U, 106) the captioner's input (shuffled under the control)


def planted_study(kit: CaptionerKit, *, n_units: int = 120, n_scenes: int = 1200, k: int = 15, q: float = 0.99,
                  lams=(0.0, 0.1, 0.2, 0.3, 0.5, 1.0), control: str = "none", seed: int = 0) -> PlantedStudy:
    """Plant ``n_units`` units (seeds ``seed + 10``), describe them at every λ, and dissect them."""
    g = kit.grammar
    scenes = marked_scenes(n_scenes, seed + 10)
    units = planted_units(scenes, g, n_units, seed=seed + 10, min_scenes=k + 5)
    acts = planted_activations(units, scenes, g, seed=seed + 10)
    ex = exemplars(acts, k, q)
    feats = _control(region_features(kit.encoder.posteriors(scenes.images), ex.images, ex.masks), control, seed)
    L = kit.captioner.log_likelihood(feats)
    chosen = {lam: describe(L, kit.log_prior, lam) for lam in lams}
    singles = [g.index(w) for w in SINGLES]
    concepts = g.concept_masks(scenes, singles, acts.shape[-1]) >= 0.5
    iou = dissect(acts, ex.thresholds, concepts)
    return PlantedStudy(units, scenes, ex, L, chosen, np.array(singles)[iou.argmax(1)], iou, acts, feats)


def planted_table(study: PlantedStudy, grammar: Grammar, lam: float = 0.3) -> dict:
    """Exact match and slot F1 of PMI (λ), likelihood (λ = 0) and dissection, overall and by kind."""
    truth = study.units.descriptions
    rows = {}
    for name, chosen in (("PMI", study.chosen[lam]), ("likelihood", study.chosen[0.0]),
                         ("dissection", study.dissection)):
        em = chosen == truth
        f1 = slot_f1(grammar, chosen, truth)
        rows[name] = {"exact": float(em.mean()), "slot_f1": float(f1.mean()),
                      **{f"exact_{kd}": float(em[study.units.kinds == kd].mean()) for kd in KINDS},
                      **{f"f1_{kd}": float(f1[study.units.kinds == kd].mean()) for kd in KINDS}}
    return rows


@dataclass
class CNNStudy:
    model: ShapeCNN
    train_loss: np.ndarray
    scenes: Scenes                     # the pool the units are described on
    layer: np.ndarray                  # (U,) layer of each unit (0..3)
    alive: np.ndarray                  # (U,) the unit fires on some scene
    exemplars: list                    # per layer
    log_likelihood: np.ndarray
    chosen: np.ndarray
    precision: np.ndarray
    detection: np.ndarray
    dissection: np.ndarray
    dissection_detection: np.ndarray
    accuracy: dict = field(default_factory=dict)
    edit: object = None


def cnn_study(kit: CaptionerKit, *, n_train: int = 3000, steps: int = 400, batch: int = 64,
              n_describe: int = 1000, n_detect: int = 1000, n_val: int = 500, n_test: int = 1000,
              spurious_rate: float = 0.5, k: int = 15, q: float = 0.99, lam: float = 0.3, max_units: int = 20,
              control: str = "none", seed: int = 0) -> CNNStudy:
    """Train the shape CNN with a spurious marker (cached), describe its units, score the descriptions,
    and delete the units described as the marker. Seeds ``seed + 20..25``."""
    g = kit.grammar
    train_set = spurious_scenes(n_train, seed + 20, rate=spurious_rate)

    def build():
        model, hist = train_cnn(train_set, steps=steps, batch=batch, seed=seed + 20)
        return {"state": model.state_dict(), "loss": torch.as_tensor(hist)}

    saved = checkpoint("neuron_descriptions-cnn", dict(n=n_train, steps=steps, batch=batch, rate=spurious_rate,
                                                       seed=seed), build)
    model = ShapeCNN()
    model.load_state_dict(saved["state"])
    model.eval()
    pool = marked_scenes(n_describe, seed + 21)
    maps = layer_maps(model, pool.images)
    post = kit.encoder.posteriors(pool.images)
    exs = [exemplars(m, k, q) for m in maps]
    feats = np.concatenate([region_features(post, e.images, e.masks) for e in exs])
    layer = np.concatenate([np.full(m.shape[1], i) for i, m in enumerate(maps)])
    alive = np.concatenate([e.scores[:, 0] > 0 for e in exs])
    L = kit.captioner.log_likelihood(_control(feats, control, seed))
    chosen = describe(L, kit.log_prior, lam)
    precision = np.concatenate([description_precision(g, pool, e.images, e.masks, chosen[layer == i])
                                for i, e in enumerate(exs)])
    singles = np.array([g.index(w) for w in SINGLES])
    labels = []
    for m, e in zip(maps, exs):
        concepts = g.concept_masks(pool, singles, m.shape[-1]) >= 0.5
        labels.append(singles[dissect(m, e.thresholds, concepts).argmax(1)])
    labels = np.concatenate(labels)
    det = marked_scenes(n_detect, seed + 22)
    peaks = np.concatenate([m.max((2, 3)) for m in layer_maps(model, det.images)], 1)
    val = spurious_scenes(n_val, seed + 23, rate=0.0)
    test = spurious_scenes(n_test, seed + 24, rate=0.0)
    clean = draw_scenes(n_test, seed + 25, one_large=True)
    from labkit.interp.neuron_descriptions.models import accuracy
    acc = {"clean": accuracy(model, clean), "decorrelated": accuracy(model, test)}
    marker_word = g.atom_names.index("marker")
    candidates = np.flatnonzero(alive & g.atoms[chosen, marker_word])
    edit = edit_experiment(model, candidates, val, test, max_units=max_units, seed=seed + 25)
    return CNNStudy(model, saved["loss"].numpy(), pool, layer, alive, exs, L, chosen, precision,
                    detection_score(g, det, peaks, chosen), labels, detection_score(g, det, peaks, labels),
                    acc, edit)


def layer_shares(study: CNNStudy, grammar: Grammar) -> dict:
    """Per layer, the share of (live) units whose description is an attribute, a category, a
    conjunction, a relation, a disjunction or the marker."""
    kinds = grammar.kinds[study.chosen]
    names = ("attribute", "category", "conjunction", "relation", "disjunction", "marker")
    out = {}
    for i in range(int(study.layer.max()) + 1):
        sel = (study.layer == i) & study.alive
        out[f"layer {i + 1}"] = {n: float((kinds[sel] == n).mean()) if sel.any() else 0.0 for n in names}
    return out


def top_descriptions(kit: CaptionerKit, log_likelihood: np.ndarray, unit: int, lam: float,
                     n: int = 5) -> list[tuple[str, float]]:
    """Unit ``unit``'s ``n`` best descriptions under PMI, with their scores; ``log_likelihood`` (U, n_desc)."""
    from labkit.interp.neuron_descriptions.captioner import pmi_scores

    log_likelihood = np.asarray(log_likelihood)
    unit = check_value("unit", unit, (int, 0, len(log_likelihood) - 1), "top_descriptions")
    s = pmi_scores(log_likelihood[unit][None], kit.log_prior, lam)[0]
    return [(kit.grammar.texts[d], float(s[d])) for d in np.argsort(-s, kind="stable")[:n]]
