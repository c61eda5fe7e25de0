"""The drivers the notebook calls: build the data with its truth, fit the three readouts, score them."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.threads import threads
from labkit.neuro.encoding_models import metrics
from labkit.neuro.encoding_models.readouts import AttentionReadout, FactorizedReadout, fit_readout, predict
from labkit.neuro.encoding_models.ridge import PerTargetRidge
from labkit.neuro.encoding_models.scenes import Scenes, backbone_maps, evidence_in_box, make_scenes, trained_backbone
from labkit.neuro.encoding_models.voxels import VoxelData, simulate_voxels, true_disc

CONTROLS = ("none", "shuffle")
READOUTS = ("ridge", "factorized", "attention")
LABELS = {"ridge": "ridge (flattened map)", "factorized": "factorized (mask × mix)", "attention": "attention routing"}


@dataclass
class Dataset:
    """Scenes (train, validation, test in that order), the backbone's map ``features`` (n, 100, 32), scaled to
    unit standard deviation over the training scenes, its ``evidence`` maps (n, 10, 100), the voxels and their truth."""
    scenes: Scenes
    features: np.ndarray
    evidence: np.ndarray
    voxels: VoxelData
    n_train: int
    n_val: int
    backbone_loss: np.ndarray
    backbone_hit: float

    @property
    def test(self) -> slice:
        return slice(self.n_train + self.n_val, None)

    @property
    def kind(self) -> np.ndarray:
        return self.voxels.truth.kind


def build_dataset(seed: int, *, n_train: int, n_val: int, n_test: int, n_retinotopic: int, n_category: int,
                  backbone_steps: int, beta: float = 1.0, control: str = "none") -> Dataset:
    """Train (or load) the backbone, draw the scenes, read their maps and simulate the voxels."""
    net, loss = trained_backbone(seed, backbone_steps)
    scenes = make_scenes(n_train + n_val + n_test, seed)
    features, evidence = backbone_maps(net, scenes.images)
    features = features / features[:n_train].std()
    voxels = simulate_voxels(features, evidence, n_retinotopic, n_category, n_train, n_val, seed + 1,
                             beta=beta, control=control)
    return Dataset(scenes, features, evidence, voxels, n_train, n_val, loss, evidence_in_box(evidence, scenes))


@dataclass
class Fit:
    """One readout's test predictions (n_test, V), normalized scores (V,), the model and its training record."""
    name: str
    prediction: np.ndarray
    score: np.ndarray
    model: object
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seconds: float = 0.0


def fit_one(name: str, data: Dataset, *, steps: int, batch: int, lr: float, smooth: float, seed: int, device,
            n_train: int | None = None, voxels: np.ndarray | None = None) -> Fit:
    """Fit readout ``name`` on the first ``n_train`` training scenes (all by default) for the ``voxels``
    (indices; all by default) and score it on the test scenes."""
    n = data.n_train if n_train is None else n_train
    v = np.arange(data.voxels.train.shape[1]) if voxels is None else np.asarray(voxels)
    f_train, y_train, f_test = data.features[:n], data.voxels.train[:n, v], data.features[data.test]
    start, history = time.perf_counter(), np.zeros(0)
    if name == "ridge":
        with threads(device=device, size=f_train.size * len(v)):
            model = PerTargetRidge(device=device).fit(f_train.reshape(n, -1), y_train)
        pred = model.predict(f_test.reshape(len(f_test), -1))
    else:
        _, positions, channels = f_train.shape
        model = (FactorizedReadout(len(v), positions, channels, smooth=smooth, seed=seed) if name == "factorized"
                 else AttentionReadout(len(v), positions, channels, seed=seed))
        history = fit_readout(model, f_train, y_train, steps=steps, batch=batch, lr=lr, seed=seed, device=device,
                              name=name)
        pred = predict(model, f_test, device)
    score = metrics.normalized_score(pred, data.voxels.test[:, :, v])
    return Fit(name, pred, score, model, history, time.perf_counter() - start)


def compare(data: Dataset, names, *, steps: int, batch: int, lr: dict, smooth: float, seed: int, device) -> dict:
    """Every readout in ``names`` fitted on all training scenes: ``{name: Fit}``."""
    return {k: fit_one(k, data, steps=steps, batch=batch, lr=lr[k], smooth=smooth, seed=seed, device=device)
            for k in names}


def routes_on_test(fit: Fit, data: Dataset, device) -> np.ndarray:
    """The attention readout's routes (n_test, V, 100) on the test scenes."""
    x = torch.as_tensor(data.features[data.test], dtype=torch.float32, device=device)
    return fit.model.routes(x).cpu().numpy()


def summary(data: Dataset, fits: dict, device) -> dict:
    """The numbers the checks hold: medians by voxel kind, mask overlap, routing mass and the ceiling's error."""
    kind, truth = data.kind, data.voxels.truth
    med = {f"{k}_{kd}": float(np.median(f.score[kind == i])) for k, f in fits.items()
           for i, kd in enumerate(("retinotopic", "category"))}
    estimated = metrics.noise_ceiling(data.voxels.test)
    out = {**med, "ceiling_median_abs_error": float(np.median(np.abs(estimated - data.voxels.true_ceiling())))}
    disc = true_disc(truth)
    out["truth_window_iou"] = float(np.median(metrics.iou(metrics.half_max_masks(truth.window), disc)[kind == 0]))
    if "factorized" in fits:
        masks = fits["factorized"].model.mask().detach().cpu().numpy()
        out["factorized_mask_iou"] = float(np.median(metrics.iou(metrics.half_max_masks(masks), disc)[kind == 0]))
    if "attention" in fits:
        boxes = data.scenes.box_mask(truth.klass)[data.test]
        mass = metrics.routing_mass(routes_on_test(fits["attention"], data, device), boxes)
        out["attention_box_mass"] = float(np.nanmedian(mass[kind == 1]))
        out["box_fraction"] = float(boxes[boxes.any(-1)].mean())
    return out


def training_curve(data: Dataset, sizes, names, *, n_voxels: int, steps: int, batch: int, lr: dict, smooth: float,
                   seed: int, device) -> dict:
    """Median normalized score by kind against the number of training scenes, on the first ``n_voxels`` voxels
    of each kind: ``{name: {"retinotopic": [...], "category": [...]}}``."""
    kind = data.kind
    v = np.r_[np.flatnonzero(kind == 0)[:n_voxels], np.flatnonzero(kind == 1)[:n_voxels]]
    out = {k: {"retinotopic": [], "category": []} for k in names}
    for n in sizes:
        for k in names:
            f = fit_one(k, data, steps=steps, batch=batch, lr=lr[k], smooth=smooth, seed=seed, device=device,
                        n_train=n, voxels=v)
            for i, kd in enumerate(("retinotopic", "category")):
                out[k][kd].append(float(np.median(f.score[kind[v] == i])))
    return out


def voxel_view(data: Dataset, fits: dict, voxel: int, scene: int, device) -> dict:
    """What the explorer shows for one voxel on one test scene: the true read-out map (its window, or its route
    ``softmax(β e_k)`` on this scene), each readout's map (the factorized mask, the attention route), each
    readout's prediction and the measured response (mean of the repeats)."""
    truth, i = data.voxels.truth, data.n_train + data.n_val + scene
    if truth.kind[voxel] == 0:
        true_map = truth.window[voxel]
    else:
        logits = truth.beta * data.evidence[i, truth.klass[voxel]]
        true_map = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    maps = {}
    if "factorized" in fits:
        maps["factorized"] = fits["factorized"].model.mask()[voxel].detach().cpu().numpy()
    if "attention" in fits:
        x = torch.as_tensor(data.features[i:i + 1], dtype=torch.float32, device=device)
        maps["attention"] = fits["attention"].model.routes(x)[0, voxel].cpu().numpy()
    return {"image": data.scenes.images[i], "truth": true_map, "maps": maps,
            "measured": float(data.voxels.test[:, scene, voxel].mean()),
            "predicted": {k: float(f.prediction[scene, voxel]) for k, f in fits.items()},
            "kind": ("retinotopic", "category")[truth.kind[voxel]], "klass": int(truth.klass[voxel])}
