"""Comparing *C. elegans* connectome annotations, and asking how well anatomy predicts function.

The annotations come from :mod:`labkit.data.worm` on one canonical order of the 302 neurons, so
comparing them is array arithmetic:

* **edge agreement** (Simeon et al. 2024 homogenize the annotations to make exactly this possible):
  the Jaccard index of binarized edges, J = |A ∩ B| / |A ∪ B|, counted among the neurons both
  annotations cover, beside its chance level for two independent random graphs of the same
  densities p_a, p_b, E[J] ≈ p_a p_b / (p_a + p_b - p_a p_b); and Spearman's rank correlation of
  the weights of the edges both annotations contain (``scipy.stats.spearmanr``);
* **network measures** (the graph-theoretic measures of brain networks, e.g. Sporns; Towlson et al.
  2013 on the worm's rich club): reciprocity r = |{(i,j) : A_ij A_ji = 1}| / |E|, clustering, and
  the rich-club coefficient φ(k) = 2 E_{>k} / (N_{>k}(N_{>k} - 1)) normalised by its mean over
  degree-preserving rewirings (ρ(k) = φ(k) / ⟨φ_null(k)⟩ > 1 means a rich club);
* **structure against function**: the ROC AUC with which an anatomical score of a pair (s, r), the
  direct weight W_sr or the two-step weight (W W)_sr = Σ_m W_sm W_mr, separates the pairs that the
  signal-propagation atlas of Randi et al. (2023) found connected (q < 0.05) from the measured pairs
  it did not (``sklearn.metrics.roc_auc_score``, ties counting one half); pairs never measured, and
  neurons the annotation does not cover, are left out.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from labkit.core.params import check_value
from labkit.data import worm
from labkit.data.worm import Connectome, SignalPropagation, binary_jaccard

__all__ = ["chance_jaccard", "weight_rank_correlation", "edge_agreement", "degrees", "rich_club",
           "network_measures", "anatomy_scores", "anatomy_function_auc", "roc_points", "neighbourhood",
           "summary_numbers"]


def _check_connectome(arg: str, c) -> Connectome:
    if not isinstance(c, Connectome):
        raise ValueError(f"{arg} must be a Connectome from labkit.data.worm.load_connectome, got {type(c).__name__}.")
    return c


def _shared_mask(a: Connectome, b: Connectome) -> np.ndarray:
    keep = a.present & b.present
    return np.outer(keep, keep) & ~np.eye(len(keep), dtype=bool)


def chance_jaccard(a: Connectome, b: Connectome) -> float:
    """Expected Jaccard of two independent random graphs with a's and b's edge densities (shared neurons)."""
    _check_connectome("a", a), _check_connectome("b", b)
    mask = _shared_mask(a, b)
    edges = [c.weights > 0 for c in (a, b)]
    if not (a.directed and b.directed):  # compare undirected pairs, as binary_jaccard does
        mask = np.triu(mask)
        edges = [e | e.T for e in edges]
    n = mask.sum()
    if n == 0:
        return float("nan")
    pa, pb = ((e & mask).sum() / n for e in edges)
    denom = pa + pb - pa * pb
    return float(pa * pb / denom) if denom > 0 else float("nan")


def weight_rank_correlation(a: Connectome, b: Connectome) -> tuple[float, int]:
    """Spearman's ρ of the weights of edges present in both annotations, and how many such edges. NaN when
    either side is constant (an annotation that only records presence, such as Wang 2024), where it is
    undefined."""
    _check_connectome("a", a), _check_connectome("b", b)
    both = _shared_mask(a, b) & (a.weights > 0) & (b.weights > 0)
    n = int(both.sum())
    if n < 3:
        return float("nan"), n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(stats.spearmanr(a.weights[both], b.weights[both]).statistic), n


def edge_agreement(connectomes: Mapping[str, Connectome]) -> dict[str, pd.DataFrame]:
    """Pairwise Jaccard, its chance level and the rank correlation of shared weights, as square tables."""
    names = list(connectomes)
    if len(names) < 2:
        raise ValueError(f"connectomes must hold at least two annotations, got {len(names)}.")
    out = {k: pd.DataFrame(np.nan, index=names, columns=names) for k in ("jaccard", "chance", "spearman", "n_shared")}
    for i, x in enumerate(names):
        for y in names[i:]:
            a, b = connectomes[x], connectomes[y]
            vals = {"jaccard": binary_jaccard(a, b), "chance": chance_jaccard(a, b)}
            vals["spearman"], vals["n_shared"] = weight_rank_correlation(a, b)
            for k, v in vals.items():
                out[k].loc[x, y] = out[k].loc[y, x] = v
    return out


def degrees(c: Connectome) -> pd.DataFrame:
    """In-, out- and total degree and strength of the neurons the annotation covers."""
    _check_connectome("c", c)
    w = np.where(np.eye(len(c.neurons), dtype=bool), 0.0, c.weights)
    a = w > 0
    df = pd.DataFrame({"in_degree": a.sum(0), "out_degree": a.sum(1), "in_strength": w.sum(0),
                       "out_strength": w.sum(1)}, index=c.neurons)
    df["degree"] = (a | a.T).sum(1)
    return df[c.present]


def _undirected_binary(c: Connectome) -> np.ndarray:
    keep = np.flatnonzero(c.present)
    a = c.weights[np.ix_(keep, keep)] > 0
    a = a | a.T
    np.fill_diagonal(a, False)
    return a


def _phi(a: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Rich-club coefficient φ(k) for every k at once (vectorized over k)."""
    deg = a.sum(1)
    club = deg[None, :] > ks[:, None]                      # (k, n)
    n_k = club.sum(1)
    e_k = np.einsum("ki,ij,kj->k", club.astype(float), a.astype(float), club.astype(float)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_k > 1, 2 * e_k / (n_k * (n_k - 1)), np.nan)


def rich_club(c: Connectome, *, n_null: int = 10, swaps_per_edge: int = 5, seed: int = 0) -> pd.DataFrame:
    """φ(k), the mean φ of ``n_null`` degree-preserving rewirings (Maslov-Sneppen double edge swaps,
    networkx) and their ratio ρ(k), on the undirected binary graph of the covered neurons."""
    _check_connectome("c", c)
    check_value("n_null", n_null, (int, 1, None), "rich_club")
    a = _undirected_binary(c)
    ks = np.arange(int(a.sum(1).max()))
    phi = _phi(a, ks)
    g = nx.from_numpy_array(a.astype(int))
    n_edges = g.number_of_edges()
    rng = np.random.default_rng(seed)
    null = np.zeros((n_null, len(ks)))
    for r in range(n_null):
        h = g.copy()
        nx.double_edge_swap(h, nswap=swaps_per_edge * n_edges, max_tries=100 * swaps_per_edge * n_edges,
                            seed=int(rng.integers(2**31)))
        null[r] = _phi(nx.to_numpy_array(h, nodelist=range(len(a))) > 0, ks)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # clubs empty in every rewiring: NaN, as intended
        phi_null = np.nanmean(null, 0)
        rho = np.where(phi_null > 0, phi / np.where(phi_null > 0, phi_null, 1.0), np.nan)
    n_k = (a.sum(1)[None, :] > ks[:, None]).sum(1)
    return pd.DataFrame({"k": ks, "n_club": n_k, "phi": phi, "phi_null": phi_null, "rho": rho})


def network_measures(c: Connectome, *, top: int = 10, n_null: int = 10, swaps_per_edge: int = 5,
                     club_size: int = 20, seed: int = 0) -> dict:
    """Reciprocity, clustering, rich-club ratio at the degree leaving ~``club_size`` neurons, and hubs.

    The full rich-club table (:func:`rich_club`) is returned under ``"rich_club_curve"``.
    """
    _check_connectome("c", c)
    keep = np.flatnonzero(c.present)
    g_dir = nx.from_numpy_array((c.weights[np.ix_(keep, keep)] > 0).astype(int), create_using=nx.DiGraph)
    g_dir.remove_edges_from(nx.selfloop_edges(g_dir))
    und = nx.from_numpy_array(_undirected_binary(c).astype(int))
    deg = degrees(c)
    rc = rich_club(c, n_null=n_null, swaps_per_edge=swaps_per_edge, seed=seed)
    # The smallest k whose club has at most club_size members: the top of the degree distribution.
    row = rc[rc.n_club <= club_size].iloc[0] if (rc.n_club <= club_size).any() else rc.iloc[-1]
    hubs = deg.sort_values(["degree", "in_strength"], ascending=False).index[:top].tolist()
    return {"n_neurons": len(keep), "n_edges": c.n_edges,
            "density": c.n_edges / (len(keep) * (len(keep) - 1) / (1 if c.directed else 2)),
            "reciprocity": nx.reciprocity(g_dir) if c.directed else 1.0,
            "clustering": nx.average_clustering(und), "transitivity": nx.transitivity(und),
            "rich_club_k": int(row.k), "rich_club_size": int(row.n_club), "rich_club_rho": float(row.rho),
            "hubs": hubs, "rich_club_curve": rc}


def anatomy_scores(c: Connectome, steps: int = 1) -> np.ndarray:
    """Direct weight W (``steps=1``) or two-step weight W·W (``steps=2``) of every (pre, post) pair."""
    _check_connectome("c", c)
    check_value("steps", steps, [1, 2], "anatomy_scores")                    # direct or two-step paths
    w = np.where(np.eye(len(c.neurons), dtype=bool), 0.0, c.weights)
    return w if steps == 1 else w @ w


def _pairs(c: Connectome, sp: SignalPropagation, q_threshold: float):
    if not isinstance(sp, SignalPropagation):
        raise ValueError(f"sp must be a SignalPropagation from load_signal_propagation, got {type(sp).__name__}.")
    if sp.neurons != c.neurons:
        raise ValueError("c and sp must be on the same neuron order (use full connectomes, not subnetworks).")
    check_value("q_threshold", q_threshold, (float, 0, 1, "neither"))
    mask = sp.measured & np.outer(c.present, c.present)
    label = sp.q[mask] < q_threshold
    return mask, label


def anatomy_function_auc(c: Connectome, sp: SignalPropagation, *, steps: int = 1, q_threshold: float = 0.05) -> dict:
    """ROC AUC of the anatomical score for 'stimulating s drives r (q < q_threshold)', measured pairs only."""
    _check_connectome("c", c)
    mask, label = _pairs(c, sp, q_threshold)
    n_pos = int(label.sum())
    if n_pos == 0 or n_pos == label.size:
        return {"auc": float("nan"), "n_pairs": int(label.size), "n_connected": n_pos}
    score = anatomy_scores(c, steps)[mask]
    return {"auc": float(roc_auc_score(label, score)), "n_pairs": int(label.size), "n_connected": n_pos}


def roc_points(c: Connectome, sp: SignalPropagation, *, steps: int = 1, q_threshold: float = 0.05):
    """False- and true-positive rates of the ROC curve at every distinct score, from (0, 0) (for a figure)."""
    mask, label = _pairs(c, sp, q_threshold)
    fpr, tpr, _ = roc_curve(label, anatomy_scores(c, steps)[mask], drop_intermediate=False)
    return fpr, tpr


def neighbourhood(a: Connectome, b: Connectome, sp: SignalPropagation, neuron: str, *, top: int = 12,
                  q_threshold: float = 0.05) -> pd.DataFrame:
    """A neuron's strongest partners in two annotations and in the functional atlas.

    Rows are partners (the union of the ``top`` strongest of each source); columns: its output and
    input weights in ``a`` and ``b``, the response of the partner when ``neuron`` is stimulated
    (amplitude; NaN if unmeasured) and whether that response is significant.
    """
    _check_connectome("a", a), _check_connectome("b", b)
    for arg, other in (("b", b.neurons), ("sp", list(sp.neurons))):
        if list(other) != list(a.neurons):
            raise ValueError(f"{arg} must be on the same neuron order as a (whole annotations from "
                             f"load_connectome, or the same subnetwork of each), got {len(other)} neurons "
                             f"against {len(a.neurons)}.")
    if neuron not in a.neurons:
        from labkit.data.worm import neuron_class  # raises the clear error with close matches

        neuron_class(neuron)
        raise ValueError(f"neuron {neuron!r} is a neuron but not one of this subnetwork's {len(a.neurons)}.")
    i = a.neurons.index(neuron)
    cols = {f"{a.name} out": a.weights[i], f"{a.name} in": a.weights[:, i],
            f"{b.name} out": b.weights[i], f"{b.name} in": b.weights[:, i]}
    amp, q = sp.amplitude[i].copy(), sp.q[i]
    df = pd.DataFrame(cols, index=a.neurons)
    df["response"] = amp
    df["significant"] = q < q_threshold
    df = df.drop(index=neuron)
    chosen: list[str] = []
    for col in cols:
        chosen += df[col][df[col] > 0].nlargest(top).index.tolist()
    chosen += df[df.significant].response.abs().nlargest(top).index.tolist()
    chosen = [n for n in a.neurons if n in set(chosen)]
    return df.loc[chosen]


def summary_numbers(everything: Mapping[str, Connectome], auc: pd.DataFrame, published: pd.DataFrame,
                    test: Mapping) -> dict:
    """The numbers the notebook records and the catalog holds to thresholds.

    ``everything``: name -> Connectome, one per annotation of ``list_connectomes()`` (as the notebook loaded
    them, so its control is what is scored); ``auc``: the exploratory AUC table (rows: annotations; columns
    ``"direct"`` and ``"two-step"``, recorded but held to nothing: the best of many is chosen after the fact);
    ``published``: :func:`~labkit.neuro.worm_connectome.published.published_table`; ``test``:
    :func:`~labkit.neuro.worm_connectome.null.preregistered_test`, the one structure-function comparison held
    to a threshold. ``extra_kept_apart`` says no node kept apart as non-neuronal is a hermaphrodite neuron by
    cect's own cell tables (and that muscles were found).
    """
    a, b = everything["white_1986"], everything["cook_2019_herm"]
    jac = binary_jaccard(a, b)
    hubs = degrees(b).sort_values(["degree", "in_strength"], ascending=False).index[:10]
    out = {
        "n_published_counts": len(published),
        "published_counts_mismatched": int((~published["match"]).sum()),
        "extra_kept_apart": (all(worm.cell_category(x) != "hermaphrodite neuron"
                                 for c in everything.values() for x in c.extra.names)
                             and "muscle" in b.extra.category),
        "jaccard_white_cook": round(jac, 4),
        "jaccard_white_cook_over_chance": round(jac / chance_jaccard(a, b), 2),
        "jaccard_witvliet_7_8": round(binary_jaccard(everything["witvliet_2021_7"], everything["witvliet_2021_8"]), 4),
        "jaccard_white_n2u": round(binary_jaccard(a, everything["white_1986_n2u"]), 4),
        "n_command_in_cook_top10_hubs": int(sum(worm.neuron_class(h) in worm.COMMAND_INTERNEURONS for h in hubs)),
        "prereg_auc": round(test["auc"], 4),
        "prereg_null_auc": round(float(np.mean(test["null_auc"])), 4),
        "prereg_gain": round(test["gain"], 4),
        "prereg_gain_ci_low": round(test["ci_low"], 4),
        "prereg_gain_ci_high": round(test["ci_high"], 4),
    }
    for n in auc.index:
        out[f"auc_direct_{n}"] = round(float(auc.loc[n, "direct"]), 4)
        out[f"auc_two_step_{n}"] = round(float(auc.loc[n, "two-step"]), 4)
    return out
