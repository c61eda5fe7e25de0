"""The experiments the notebook runs: store and recall by cue, recall by content against theory, forgetting by
re-learning, errors against operation spacing, and the Hopfield contrast. Each returns plain arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.spiking.hippocampal_memory import contents as cn
from labkit.spiking.hippocampal_memory.hopfield import HopfieldNetwork, flip, overlap, retrieval
from labkit.spiking.hippocampal_memory.network import LATENCY, MIN_SPACING, CA3Memory, MemoryRun


@dataclass
class CueRecall:
    """Learn every content under its own cue, then recall each by its cue (one operation after another)."""

    memory: CA3Memory
    contents: np.ndarray          # (P, M) stored
    recalled: np.ndarray          # (P, M) content out
    addresses: np.ndarray         # (P, P) address out
    hamming: np.ndarray           # (P,)
    address_latency: np.ndarray   # (P,) ms
    content_latency: np.ndarray   # (P,) ms
    run: MemoryRun


def store_and_recall(contents: np.ndarray, *, control: str = "none", spacing: float | None = None,
                     strict: bool = True, device="cpu") -> CueRecall:
    """A fresh memory of P addresses learns ``contents`` (P, M) in order, then recalls all of them by cue."""
    p, m = contents.shape
    mem = CA3Memory(p, m, control=control, device=device)
    ops = mem.schedule([("learn", i, contents[i]) for i in range(p)] + [("recall_cue", i, None) for i in range(p)],
                       spacing=spacing)
    run = mem.run(ops, strict=strict)
    rec, addr = run.contents[p:, 0], run.addresses[p:, 0]
    return CueRecall(mem, contents, rec, addr, (rec != contents).sum(1), run.address_latency[p:, 0],
                     run.content_latency[p:, 0], run)


def latency_error(cr: CueRecall, which: str) -> float:
    """Largest |latency - the paper's| over the recalls (ms; NaN where an output never fired, so that no
    threshold holds)."""
    lat = cr.address_latency if which == "address" else cr.content_latency
    return float(np.max(np.abs(lat - LATENCY[which]))) if np.isfinite(lat).all() else float("nan")


@dataclass
class ContentRecall:
    fragments: np.ndarray     # (n, M)
    source: np.ndarray        # (n,) the content each fragment came from
    returned: np.ndarray      # (n, P) addresses out
    truth: np.ndarray         # (n, P) every address sharing an active bit
    contents_out: np.ndarray  # (n, M)
    contents_truth: np.ndarray  # (n, M) union of the true addresses' contents
    exact: np.ndarray         # (n,) returned == truth
    sizes: np.ndarray         # (n,)
    theory: float
    z: float                  # |mean size - theory| / standard error (contents and fragments random)
    se: float                 # that standard error (:func:`contents.size_standard_error`)
    z_naive: float            # the same over the naive standard error (fragments' spread / sqrt(n))


def content_recall(mem: CA3Memory, contents: np.ndarray, n: int, k: int, density: float, rng) -> ContentRecall:
    """``n`` fragments of ``k`` bits from the stored ``contents``, recalled in parallel; sizes against theory."""
    frag, src = cn.fragments(contents, n, k, rng)
    run = mem.recall_parallel("recall_content", frag)
    ret, out = run.addresses[0], run.contents[0]
    truth = cn.true_addresses(contents, frag)
    ctruth = (truth.astype(int) @ contents.astype(int)) > 0
    sizes = ret.sum(1).astype(float)
    theory = float(cn.expected_addresses(contents.shape[0], density, k))
    diff = abs(sizes.mean() - theory)
    se = cn.size_standard_error(frag, src, contents.shape[0], density)
    naive = sizes.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0
    z = diff / se if se > 0 else (0.0 if diff == 0 else np.inf)
    z_naive = diff / naive if naive > 0 else (0.0 if diff == 0 else np.inf)
    return ContentRecall(frag, src, ret, truth, out, ctruth, (ret == truth).all(1) & (out == ctruth).all(1),
                         sizes, theory, float(z), float(se), float(z_naive))


def size_curve(mem: CA3Memory, contents: np.ndarray, ks, n_each: int, density: float, rng):
    """Mean returned-set size and its standard error per fragment size, and the theory."""
    means, ses = [], []
    for k in ks:
        r = content_recall(mem, contents, n_each, int(k), density, rng)
        means.append(r.sizes.mean())
        ses.append(r.se)
    return np.array(means), np.array(ses), cn.expected_addresses(contents.shape[0], density, np.asarray(ks))


@dataclass
class Relearn:
    cues: np.ndarray
    old: np.ndarray
    new: np.ndarray
    recalled: np.ndarray
    hamming: np.ndarray
    stale: np.ndarray          # old bits (not in the new content) still recalled by cue
    stale_by_content: np.ndarray  # per cue: returned by a one-bit fragment of an old-only bit (False if none)
    weights_before: np.ndarray  # C -> K (P, M) before re-learning
    weights_after: np.ndarray


def relearn(mem: CA3Memory, contents: np.ndarray, n_relearn: int, density: float, rng) -> Relearn:
    """Re-learn the first ``n_relearn`` cues with new random contents, then recall them by cue."""
    p, m = contents.shape
    cues = np.arange(min(n_relearn, p))
    new = cn.random_contents(len(cues), m, density, rng)
    before = mem.weights("C>K")[0]
    ops = mem.schedule([("learn", c, new[i]) for i, c in enumerate(cues)] + [("recall_cue", c, None) for c in cues])
    run = mem.run(ops)
    rec = run.contents[len(cues):, 0]
    old = contents[cues]
    only_old = old & ~new
    has = only_old.any(1)
    by_content = np.zeros(len(cues), bool)
    if has.any():                      # one old-only bit of each re-learned cue, recalled from
        probe = np.zeros((int(has.sum()), m), bool)
        probe[np.arange(len(probe)), only_old[has].argmax(1)] = True
        by_content[has] = mem.recall_parallel("recall_content", probe).addresses[0][np.arange(len(probe)), cues[has]]
    return Relearn(cues, old, new, rec, (rec != new).sum(1), (rec & only_old).sum(1), by_content, before,
                   mem.weights("C>K")[0])


def spacing_errors(contents: np.ndarray, spacings, *, control: str = "none", device="cpu") -> np.ndarray:
    """Fraction of memories recalled with any wrong bit when every operation follows the previous one
    ``spacing`` ms later (learn all, recall all by cue; below the minima the strict check is off)."""
    out = []
    for s in spacings:
        cr = store_and_recall(contents, control=control, spacing=float(s), strict=False, device=device)
        out.append(float((cr.hamming > 0).mean()))
    return np.array(out)


def demo_sequence(contents: np.ndarray, new_content: np.ndarray, fragment: np.ndarray, *, control: str = "none",
                  device="cpu"):
    """The raster's story on a small memory: learn every content, recall cue 0, recall from ``fragment``,
    re-learn cue 0 with ``new_content`` (forgetting the old), recall cue 0 again. Returns the memory, the run,
    and the C -> K weights after learning and after forgetting."""
    p, m = contents.shape
    mem = CA3Memory(p, m, control=control, device=device)
    learned = mem.run(mem.schedule([("learn", i, contents[i]) for i in range(p)]))
    w_learned = mem.weights("C>K")[0]
    run = mem.run(mem.schedule([("recall_cue", 0, None), ("recall_content", None, fragment), ("learn", 0, new_content),
                                ("recall_cue", 0, None)]))
    return mem, learned, run, w_learned, mem.weights("C>K")[0]


def _hopfield_control(control: str) -> str:
    """The notebook's null ("no_learning") as the Hopfield network's ("untrained": W = 0)."""
    return "untrained" if control == "no_learning" else control


def hopfield_curve(sizes, loads, rng, *, fraction: float = 0.1, max_probes: int = 100, control: str = "none"):
    """(len(sizes), len(loads)) mean final overlaps (:func:`hopfield.retrieval`)."""
    control = _hopfield_control(control)
    return np.array([[retrieval(int(n), float(a), rng, fraction=fraction, max_probes=max_probes, control=control)
                      for a in loads] for n in sizes])


def hopfield_digits(digits: np.ndarray, rng, *, fraction: float = 0.1, control: str = "none"):
    """A Hopfield network of 64 units stores the same binarized digits (±1); recall from each with
    ``fraction`` flipped: the final states (P, 64) bool and their overlaps with the stored digits."""
    x = np.where(digits, 1.0, -1.0)
    net = HopfieldNetwork(control=_hopfield_control(control)).fit(x)
    s = net.recall(flip(x, fraction, rng))
    return s > 0, overlap(s, x)


__all__ = ["CueRecall", "ContentRecall", "Relearn", "store_and_recall", "latency_error", "content_recall",
           "size_curve", "relearn", "spacing_errors", "demo_sequence", "hopfield_curve", "hopfield_digits",
           "MIN_SPACING"]
