"""The numbers the notebook records: theory against simulation, the critical-period summaries, and the
rich/lazy gaps between ranks."""

from __future__ import annotations

import numpy as np


def saxe_max_error(sim: np.ndarray, closed: np.ndarray, s: np.ndarray) -> float:
    """max over steps and modes of |a_sim − a_closed| / s."""
    return float(np.max(np.abs(sim - closed) / s))


def ode_max_error(sim: dict, ode: dict, s: np.ndarray) -> float:
    """max over depths, onsets, steps, pathways and modes of |K_sim − K_ode| / s."""
    return float(max(np.max(np.abs(sim[d] - ode[d]) / s) for d in sim))


def final_kb_fraction(K: np.ndarray, s: np.ndarray) -> np.ndarray:
    """K_b / s at the end of training, per mode (K: (steps + 1, 2, modes))."""
    return K[-1, 1] / s


def weakest(s: np.ndarray) -> np.ndarray:
    """The modes of the smallest singular value (four degenerate modes in Saxe's hierarchy)."""
    return np.flatnonzero(np.isclose(s, s.min()))


def deficit_summary(study) -> dict:
    """The critical-period numbers from a :class:`~labkit.dynamics.rich_lazy.experiment.DeficitStudy`
    (its onsets must include 0, 400 and 750; its depths the deepest and, for the window check, 1)."""
    s, deep = study.s, max(study.depths)
    idx = {o: i for i, o in enumerate(study.onsets)}
    kb = {d: np.stack([final_kb_fraction(study.sim[d][i], s) for i in range(len(study.onsets))]) for d in study.depths}
    early, late = kb[deep][idx[0]], kb[deep][idx[750]]
    w = weakest(s)
    out = {
        "early_deficit_kb_max": float(early.max()),
        "late_deficit_kb_dev": float(np.abs(late - 0.5).max()),
        "critical_period_contrast": float(late.min() - early.max()),
        "weakest_kb_mid_deep": float(kb[deep][idx[400]][w].max()),
    }
    if 1 in kb:
        out["weakest_kb_mid_depth1"] = float(kb[1][idx[400]][w].min())
    out["depth_widens_window"] = bool(
        deep >= 4 and 1 in kb and out["weakest_kb_mid_deep"] <= 0.3 and out["weakest_kb_mid_depth1"] >= 0.45
    )
    return out


def rises(means: np.ndarray, margin: float = 1e-3) -> bool:
    """True when the means rise from the first rank to the middle one to the last, each by more than
    ``margin`` (so that equal values, as under the untrained control, do not count as a rise)."""
    m = np.asarray(means)
    mid = len(m) // 2
    return bool(len(m) >= 3 and m[mid] - m[0] > margin and m[-1] - m[mid] > margin)


def alignment_summary(sweep, scale_index: int = -1) -> dict:
    """Gaps (full rank minus rank one, means over replicates) and the rise over ranks, at one scale;
    ``sweep`` is a RankSweep or a list of them (one per task: the means are averaged over tasks)."""
    sweeps = sweep if isinstance(sweep, (list, tuple)) else [sweep]
    ntk = np.mean([w.ntk_alignment[scale_index].mean(-1) for w in sweeps], axis=0)
    rep = np.mean([w.rep_alignment[scale_index].mean(-1) for w in sweeps], axis=0)
    dw = np.mean([w.weight_change[scale_index].mean(-1) for w in sweeps], axis=0)
    return {
        "ntk_alignment_gap": float(ntk[-1] - ntk[0]),
        "rep_alignment_gap": float(rep[-1] - rep[0]),
        "alignment_rank_monotone": rises(rep),
        "ntk_alignment_rank_monotone": rises(ntk),
        "ntk_alignment_rank1": float(ntk[0]),
        "ntk_alignment_full": float(ntk[-1]),
        "rep_alignment_rank1": float(rep[0]),
        "rep_alignment_full": float(rep[-1]),
        "weight_change_rank1": float(dw[0]),
        "weight_change_full": float(dw[-1]),
    }


def pca_project(H0: np.ndarray, H1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project states before (H0) and after (H1) training, each (trials, N), on their own first two
    principal components (centred)."""
    out = []
    for H in (H0, H1):
        Hc = H - H.mean(0)
        _, _, Vt = np.linalg.svd(Hc, full_matrices=False)
        out.append(Hc @ Vt[:2].T)
    return out[0], out[1]
