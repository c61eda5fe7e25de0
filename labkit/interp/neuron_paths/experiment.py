"""The notebook's study: paths of every method on correctly classified test digits, their joint scores,
removal and enhancement, class paths and their Jaccard overlaps, and pruning to the union of class paths.

``control="random_paths"`` is the negative control: the "JAS" method's paths (and so its class paths) are
drawn at random, so every claim made for the joint attribution score has to fail.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.params import check_args
from labkit.core.threads import one_thread
from labkit.interp.neuron_paths import paths as P
from labkit.interp.neuron_paths.vit import ViT, accuracy

CONTROLS = {
    "none": "the method as it is",
    "random_paths": "the JAS search is replaced by random neurons (K per layer), everything else unchanged",
}
"""The notebook's negative controls (its ``control`` parameter)."""

METHODS = ("JAS", "activation", "influence", "layer IG", "random")
"""The path finders compared: joint attribution (the paper), most active, influence patterns (input scaled
from zero), per-layer integrated gradients (not in the paper), random neurons."""


def correct_images(model: ViT, x: torch.Tensor, y: torch.Tensor, n: int) -> np.ndarray:
    """Indices of the first ``n`` images the model classifies correctly (in the order given)."""
    with torch.no_grad():
        ok = (model.logits(x).argmax(-1) == y).numpy()
    return np.flatnonzero(ok)[:n]


def method_paths(model: ViT, x, y, method: str, k: int, m: int, seed: int, control: str = "none",
                 scores: dict | None = None) -> torch.Tensor:
    """Paths [n, L, k] of one method; ``scores`` caches the non-progressive methods' neuron scores."""
    scores = {} if scores is None else scores
    if method == "JAS":
        if control == "random_paths":
            return P.random_path(model, len(x), k, seed=seed + 1)
        return P.find_path(model, x, y, k=k, m=m)
    if method == "random":
        return P.random_path(model, len(x), k, seed=seed + 2)
    if method not in scores:
        scores[method] = {"activation": lambda: P.cls_activations(model, x),
                          "influence": lambda: P.influence_scores(model, x, y, m),
                          "layer IG": lambda: P.layer_ig_scores(model, x, y, m)}[method]()
    return scores[method].topk(k, dim=2).indices


@dataclass
class PathStudy:
    """Everything the notebook plots and records (arrays per method; ``K`` values as keys)."""

    index: np.ndarray
    x: torch.Tensor
    y: torch.Tensor
    acts: torch.Tensor
    paths: dict = field(default_factory=dict)      # (method, K) -> [n, L, K]
    joint: dict = field(default_factory=dict)      # method -> joint attribution score at K=1 [n]
    remove: dict = field(default_factory=dict)     # (method, K) -> p_before - p_after [n]
    enhance: dict = field(default_factory=dict)    # (method, K) -> p_after - p_before [n]
    within: float = 0.0
    between: float = 0.0
    counts: torch.Tensor | None = None             # JAS K=1 class counts [C, L, D]
    base_accuracy: float = 0.0
    prune_ks: tuple = ()
    prune: dict = field(default_factory=dict)      # method -> accuracy per K in prune_ks
    prune_size: dict = field(default_factory=dict)  # method -> neurons kept per K

    def summary(self, k: int = 4, k_prune: int = 8) -> dict:
        """The recorded numbers (the catalog's checks and the ones recorded without a check)."""
        drop = {mt: float(self.remove[mt, k].mean()) for mt in METHODS}
        gain = {mt: float(self.enhance[mt, k].mean()) for mt in METHODS}
        i = list(self.prune_ks).index(k_prune)
        L, D = self.acts.shape[1:]
        return {
            "jas_score_beats_activation": float((self.joint["JAS"] > self.joint["activation"]).float().mean()),
            "jas_remove_drop": drop["JAS"], "activation_remove_drop": drop["activation"],
            "influence_remove_drop": drop["influence"], "layer_ig_remove_drop": drop["layer IG"],
            "random_remove_drop": drop["random"],
            "jas_over_activation_remove": drop["JAS"] / max(drop["activation"], 1e-3),
            "jas_enhance_gain": gain["JAS"], "activation_enhance_gain": gain["activation"],
            "jas_enhance_minus_activation": gain["JAS"] - gain["activation"],
            "within_class_jaccard": self.within, "between_class_jaccard": self.between,
            "within_over_between_class_jaccard": self.within / max(self.between, 1e-3),
            "prune_fraction": self.prune_size["JAS"][i] / (L * D),
            "prune_accuracy_loss": self.base_accuracy - self.prune["JAS"][i],
            "prune_over_random": self.prune["JAS"][i] - self.prune["random"][i],
        }


_RULES = {"n_images": (int, 2, 1_000_000), "m": (int, 1, 100_000), "seed": "seed", "control": list(CONTROLS)}


@one_thread
def path_study(model: ViT, x_test: torch.Tensor, y_test: torch.Tensor, *, n_images: int = 200, m: int = 20,
               ks=(1, 4), prune_ks=(2, 4, 8, 16), seed: int = 0, control: str = "none") -> PathStudy:
    """Run every method on the first ``n_images`` correctly classified test images: paths at each K in
    ``ks`` and ``prune_ks``, joint scores (K=1), Δp_y under removal and enhancement (K in ``ks``), the
    within/between-class Jaccard of K=1 paths, and test accuracy when only the union of the class paths
    (each class's K most frequent neurons per layer) is kept, against as many random neurons."""
    check_args("path_study", {"n_images": n_images, "m": m, "seed": seed, "control": control}, _RULES)
    index = correct_images(model, x_test, y_test, n_images)
    x, y = x_test[index], y_test[index]
    C, D = model.cfg.d_vocab, model.cfg.d_mlp
    st = PathStudy(index, x, y, P.cls_activations(model, x), prune_ks=tuple(prune_ks))
    scores: dict = {}
    for k in sorted(set(ks) | set(prune_ks)):
        for mt in METHODS:
            st.paths[mt, k] = method_paths(model, x, y, mt, k, m, seed, control, scores)
    for mt in METHODS:
        st.joint[mt] = P.joint_attribution(model, x, y, st.paths[mt, 1], m)
        for k in ks:
            mask = P.path_mask(model, st.paths[mt, k], len(x))
            before, removed = P._intervene(model, x, y, mask, P.OPS["remove"])
            _, enhanced = P._intervene(model, x, y, mask, P.OPS["enhance"])
            st.remove[mt, k], st.enhance[mt, k] = before - removed, enhanced - before
    st.within, st.between = P.within_between(st.paths["JAS", 1], y, D)
    st.counts = P.class_paths(st.paths["JAS", 1], y, C, D)[1]
    st.base_accuracy = accuracy(model, x_test, y_test)
    for mt in METHODS:
        accs, sizes = [], []
        for j, k in enumerate(prune_ks):
            keep = P.union_mask(P.class_paths(st.paths[mt, k], y, C, D)[0], D)
            if mt == "random":  # as many random neurons per layer as the JAS union holds
                keep = P.random_like(P.union_mask(P.class_paths(st.paths["JAS", k], y, C, D)[0], D), seed + j)
            accs.append(accuracy(model, x_test, y_test, P.prune_to(model, keep)))
            sizes.append(int(keep.sum()))
        st.prune[mt], st.prune_size[mt] = np.array(accs), np.array(sizes)
    return st
