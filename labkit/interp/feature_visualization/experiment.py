"""The drivers the notebook calls.

:func:`scene_models` trains (cached) the scene CNN and the independent facet judge; :func:`facet_study` finds
each class's facets and synthesizes one picture per facet; :func:`regularizer_study` synthesizes each class
from noise under five regimes; :func:`hash_study` trains one-layer ReLU MLPs of several widths on digits and
reads their codes as hashes.

``control="shuffle"`` is the negative control: the classifiers' training labels are permuted (the scene CNN
and the MLPs learn no class), while the judge, which knows the planted facets, is left as it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from labkit.core.cache import checkpoint
from labkit.core.params import check_value
from labkit.core.threads import threads
from labkit.data.datasets import load_digits, split_indices
from labkit.interp.feature_visualization.data import N_CLASSES, PER_CLASS, draw_facet_scenes, facet_class
from labkit.interp.feature_visualization.facets import facet_starts, facets, match_clusters
from labkit.interp.feature_visualization.hashing import (
    activation_codes,
    kmeans_accuracy,
    knn_accuracy,
    logistic_accuracy,
    redundancy_ratio,
)
from labkit.interp.feature_visualization.images import colour_matrix
from labkit.interp.feature_visualization.models import FacetJudge, ReLUMLP, SceneCNN, fit_classifier, predict
from labkit.interp.feature_visualization.synthesis import visualize

CONTROLS = ("none", "shuffle")
REGIMES = ("pixel", "+jitter", "+TV", "Fourier+decorrelation", "all")


def _labels(y: np.ndarray, control: str, seed: int) -> np.ndarray:
    check_value("control", control, list(CONTROLS), "feature_visualization")
    return np.random.default_rng(seed + 7919).permutation(y) if control == "shuffle" else y


@dataclass
class SceneModels:
    cnn: SceneCNN
    judge: FacetJudge
    train: object          # FacetScenes
    test: object
    train_labels: np.ndarray   # what the CNN was trained on (shuffled under the control)
    cnn_accuracy: float        # on the test scenes' true classes
    judge_accuracy: float      # facet accuracy of the judge on the test scenes
    colour: np.ndarray         # the training scenes' colour matrix


def scene_models(*, seed: int = 0, size: int = 32, n_train: int = 2000, n_test: int = 600, cnn_steps: int = 600,
                 judge_steps: int = 600, control: str = "none") -> SceneModels:
    """Draw the scenes and train the CNN on classes and the judge on facets (both cached)."""
    train_s = draw_facet_scenes(n_train, seed + 1, size=size)
    test_s = draw_facet_scenes(n_test, seed + 2, size=size)
    y = _labels(train_s.labels, control, seed)
    key = dict(seed=seed, size=size, n_train=n_train, cnn_steps=cnn_steps, control=control)

    def build_cnn():
        m = SceneCNN(N_CLASSES, size=size)
        with threads(1):
            fit_classifier(m, train_s.images, y, steps=cnn_steps, seed=seed, noise=0.05, desc="scene CNN")
        return m.state_dict()

    def build_judge():
        m = FacetJudge(N_CLASSES * PER_CLASS)
        with threads(1):
            fit_classifier(m, train_s.images, train_s.facets, steps=judge_steps, seed=seed + 1, noise=0.3,
                           desc="facet judge")
        return m.state_dict()

    cnn, judge = SceneCNN(N_CLASSES, size=size), FacetJudge(N_CLASSES * PER_CLASS)
    cnn.load_state_dict(checkpoint("feature_visualization-cnn", key, build_cnn))
    judge_key = dict(key, judge_steps=judge_steps, control=None, arch=2)
    judge.load_state_dict(checkpoint("feature_visualization-judge", judge_key, build_judge))
    cnn.eval()
    judge.eval()
    acc = float(np.mean(predict(cnn, test_s.images) == test_s.labels))
    jacc = float(np.mean(predict(judge, test_s.images) == test_s.facets))
    return SceneModels(cnn, judge, train_s, test_s, y, acc, jacc, colour_matrix(train_s.images))


@torch.no_grad()
def class_logits(cnn: SceneCNN, images: np.ndarray) -> np.ndarray:
    return cnn(torch.as_tensor(images)).numpy()


def percentile_of(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Share of ``reference`` strictly below each value."""
    ref = np.sort(reference)
    return np.searchsorted(ref, values, side="left") / len(ref)


@dataclass
class FacetStudy:
    classes: list           # per class: dict(idx, facets (true), found (Facets), matched, ari)
    ari: float
    starts: np.ndarray       # (C*k, 3, H, W)
    targets: np.ndarray      # (C*k,) the facet each synthesis started from
    synthesis: object        # Synthesis
    judged: np.ndarray       # (C*k,) the judge's facet for each synthesis
    match: float
    percentile: np.ndarray   # (C*k,) each synthesis' activation as a percentile of its unit on real test data


def facet_study(sm: SceneModels, *, k: int = 3, n_codes: int = 300, n_nearest: int = 15, steps: int = 100,
                lr: float = 0.005, jitter: float = 1.0, tv: float = 1.0, seed: int = 0) -> FacetStudy:
    """For each class: the penultimate codes of up to ``n_codes`` of its training images, t-SNE + k-means
    into ``k`` facets, matched to the class's planted facets; then one synthesis per facet (pixels started from
    the facet mean, Adam, jitter, a TV penalty), judged by the judge."""
    rng = np.random.default_rng(seed + 31)
    classes, starts, targets = [], [], []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(sm.train_labels == c)
        idx = np.sort(rng.choice(idx, min(n_codes, len(idx)), replace=False))
        with torch.no_grad():
            codes = sm.cnn.features(torch.as_tensor(sm.train.images[idx])).numpy()
        truth = sm.train.facets[idx]
        f = facets(codes, k, n_nearest=n_nearest, seed=seed)
        matched = match_clusters(f.labels, truth, list(range(c * PER_CLASS, (c + 1) * PER_CLASS)))
        classes.append(dict(idx=idx, facets=truth, found=f, matched=matched, ari=adjusted_rand_score(truth, f.labels)))
        starts.append(facet_starts(sm.train.images[idx], f))
        targets.append(matched)
    starts, targets = np.concatenate(starts), np.concatenate(targets)
    objectives = [("logit", c) for c in range(N_CLASSES) for _ in range(k)]
    with threads(1):
        syn = visualize(sm.cnn, objectives, size=starts.shape[-1], steps=steps, lr=lr, start=starts,
                        jitter=jitter, tv=tv, seed=seed)
    judged = predict(sm.judge, syn.images)
    real = class_logits(sm.cnn, sm.test.images)
    pct = np.array([percentile_of(a, real[:, o[1]]) for a, o in zip(syn.activation, objectives)])
    return FacetStudy(classes, float(np.mean([d["ari"] for d in classes])), starts, targets, syn, judged,
                      float(np.mean(judged == targets)), pct)


REGIME_ARGS = {
    "pixel": dict(),
    "+jitter": dict(jitter=2.0, scale=(0.9, 1.1), rotate=10.0),
    "+TV": dict(jitter=2.0, scale=(0.9, 1.1), rotate=10.0, tv=1.0),
    "Fourier+decorrelation": dict(parameterization="fourier"),
    "all": dict(parameterization="fourier", jitter=2.0, scale=(0.9, 1.1), rotate=10.0, tv=1.0),
}


def regime_args(regime: str, *, tv: float, jitter: float, decay: float, colour) -> dict:
    """The keyword arguments of :func:`visualize` for one of :data:`REGIMES` (``tv``/``jitter`` replace the
    defaults where the regime uses them)."""
    args = dict(REGIME_ARGS[regime])
    if "tv" in args:
        args["tv"] = tv
    if "jitter" in args:
        args["jitter"] = jitter
    if args.get("parameterization") == "fourier":
        args.update(decay=decay, colour=colour)
    return args


@dataclass
class RegimeStudy:
    regimes: tuple
    images: dict            # regime -> (C*n, 3, H, W)
    activation: dict
    trace: dict
    judged: dict            # regime -> (C*n,) judge's facet
    recognized: dict        # regime -> share judged as a facet of the intended class
    percentile: dict
    classes: np.ndarray     # (C*n,) intended class


def regimes_study(sm: SceneModels, *, n_noise: int = 5, steps: int = 100, lr: float = 0.05, tv: float = 1.0,
                  jitter: float = 2.0, decay: float = 1.0, regimes=REGIMES, seed: int = 0) -> RegimeStudy:
    """Each class unit synthesized from ``n_noise`` random starts under each regime (Adam)."""
    classes = np.repeat(np.arange(N_CLASSES), n_noise)
    objectives = [("logit", int(c)) for c in classes]
    real = class_logits(sm.cnn, sm.test.images)
    out = {key: {} for key in ("images", "activation", "trace", "judged", "recognized", "percentile")}
    size = sm.train.images.shape[-1]
    for r in regimes:
        with threads(1):
            syn = visualize(sm.cnn, objectives, size=size, steps=steps, lr=lr, seed=seed,
                            **regime_args(r, tv=tv, jitter=jitter, decay=decay, colour=sm.colour))
        judged = predict(sm.judge, syn.images)
        out["images"][r], out["activation"][r], out["trace"][r] = syn.images, syn.activation, syn.trace
        out["judged"][r] = judged
        out["recognized"][r] = float(np.mean(facet_class(judged) == classes))
        out["percentile"][r] = np.array([percentile_of(a, real[:, c]) for a, c in zip(syn.activation, classes)])
    return RegimeStudy(tuple(regimes), classes=classes, **out)


@dataclass
class HashStudy:
    widths: list
    redundancy: np.ndarray         # (W,) on the training inputs, after training
    redundancy_epochs: np.ndarray  # (W, E) during training
    epochs: np.ndarray             # (E,) the step of each record
    knn: np.ndarray
    kmeans: np.ndarray
    logistic: np.ndarray
    mlp: np.ndarray                # the MLP's own test accuracy (true labels)
    n_train: int
    n_inputs: int


def hash_study(widths=(2, 4, 8, 16, 32, 64, 128, 256), *, steps: int = 1500, records: int = 10, seed: int = 0,
               control: str = "none") -> HashStudy:
    """One-layer ReLU MLPs on sklearn digits (70/30 split, standardized pixels); codes on the training inputs."""
    x, y = load_digits()
    tr, te = split_indices(len(x), 0.3, seed)
    mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-6
    xs = ((x - mu) / sd).astype(np.float32)
    ytr = _labels(y[tr], control, seed)
    every = max(1, steps // records)
    res = {key: [] for key in ("redundancy", "redundancy_epochs", "knn", "kmeans", "logistic", "mlp")}
    for i, w in enumerate(widths):
        torch.manual_seed(seed * 1000 + i)
        m = ReLUMLP(x.shape[1], int(w))
        trace = []

        def record(step, _loss, m=m, trace=trace):
            if (step + 1) % every == 0:
                trace.append(redundancy_ratio(activation_codes(m, xs[tr])))

        with threads(1):
            fit_classifier(m, xs[tr], ytr, steps=steps, batch=128, lr=3e-3, seed=seed * 1000 + i, callback=record,
                           desc=f"MLP width {w}")
        a, b = activation_codes(m, xs[tr]), activation_codes(m, xs[te])
        res["redundancy"].append(redundancy_ratio(a))
        res["redundancy_epochs"].append(trace)
        res["knn"].append(knn_accuracy(a, ytr, b, y[te], k=9))
        res["kmeans"].append(kmeans_accuracy(b, y[te], seed=seed))
        res["logistic"].append(logistic_accuracy(a, ytr, b, y[te]))
        res["mlp"].append(float(np.mean(predict(m, xs[te]) == y[te])))
    return HashStudy(list(widths), epochs=every * np.arange(1, len(res["redundancy_epochs"][0]) + 1),
                     n_train=len(tr), n_inputs=x.shape[1], **{key: np.array(v) for key, v in res.items()})
