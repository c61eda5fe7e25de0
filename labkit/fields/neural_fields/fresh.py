"""FreSh: choose an embedding's frequency before training by matching spectra (Kania et al. 2024).

The spectrum of a square picture ``y`` (``R × R``, ``C`` channels) is FreSh's diagonal sum of its
DFT magnitude: with ``Y = |DFT₂(y)|`` summed over channels,

    s[k] = Σ_{i + j = k} Y[i, j],   k = 1 … crop,

over the non-negative frequencies ``i, j ≥ 0`` (the official code's masked diagonal sums; for
``crop ≤ R/2`` its mask keeps exactly this quadrant), the constant term ``k = 0`` dropped (a bias
fits it). FreSh renders the *untrained* model for each candidate value of the hyperparameter (a few
random initialisations), and picks the value whose output spectrum is nearest the target's in the
1-D Wasserstein distance between the two spectra read as distributions over ``k``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import wasserstein_distance

from labkit.core.params import check_value
from labkit.core.threads import threads
from labkit.fields.neural_fields.data import ONE_THREAD_PIXELS, Picture


def spectrum(image, crop: int | None = None) -> np.ndarray:
    """FreSh's spectrum ``s[1..crop]`` of an ``(R, R)`` or ``(R, R, C)`` picture; ``crop`` defaults to ``R // 2``."""
    y = torch.as_tensor(np.asarray(image, dtype=np.float64))
    if y.ndim == 2:
        y = y[..., None]
    if y.ndim != 3 or y.shape[0] != y.shape[1]:
        raise ValueError(f"image must be a square (R, R) or (R, R, C) array, got shape {tuple(y.shape)}.")
    R = y.shape[0]
    crop = R // 2 if crop is None else check_value("crop", crop, (int, 1, R // 2), "spectrum")  # half the side
    mag = torch.fft.fft2(y, dim=(0, 1)).abs().sum(-1)[: crop + 1, : crop + 1]   # non-negative frequencies
    i, j = torch.meshgrid(torch.arange(crop + 1), torch.arange(crop + 1), indexing="ij")
    k = (i + j).reshape(-1)
    keep = k <= crop
    s = torch.bincount(k[keep], weights=mag.reshape(-1)[keep], minlength=crop + 1)
    return s[1:].numpy()


def spectrum_distance(u: np.ndarray, v: np.ndarray) -> float:
    """1-D Wasserstein distance between two spectra read as weights on frequencies ``1 … len``."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    if u.shape != v.shape:
        raise ValueError(f"the two spectra must have the same length, got {u.shape} and {v.shape}.")
    k = np.arange(1, len(u) + 1)
    return float(wasserstein_distance(k, k, u_weights=u, v_weights=v))


@dataclass
class FreshResult:
    """FreSh's verdict: each candidate's mean distance (and its standard error) and the chosen value."""

    candidates: np.ndarray
    distances: np.ndarray
    stderr: np.ndarray
    chosen: float
    target_spectrum: np.ndarray
    model_spectra: np.ndarray     # (n_candidates, crop): mean spectrum of the untrained outputs


@torch.no_grad()
def fresh_select(make_field: Callable[[float, int], torch.nn.Module], candidates: Sequence[float], picture: Picture,
                 *, crop: int | None = 64, n_evals: int = 10, seed: int = 0) -> FreshResult:
    """Pick the candidate whose untrained output spectrum is nearest the picture's (FreSh).

    ``make_field(value, seed)`` builds an untrained field for one candidate value; each value is
    scored by the mean distance over ``n_evals`` initialisations (seeds ``seed … seed + n_evals - 1``,
    the same for every candidate). The defaults are the official ones for Fourier features
    (``relu_best_sigma.yaml``): the spectrum cropped to its first 64 frequencies (``cropped_64``) and
    10 initialisations; ``crop`` is lowered to half the picture's side for pictures under 128².
    ``crop=None`` keeps the whole spectrum up to half the side.
    """
    cands = np.asarray(list(candidates), dtype=float)
    if cands.size < 2:
        raise ValueError(f"candidates must hold at least two values, got {list(candidates)!r}.")
    check_value("n_evals", n_evals, (int, 1, None), "fresh_select")
    R = picture.resolution
    if crop is not None and not isinstance(crop, bool) and isinstance(crop, (int, np.integer)):
        crop = min(int(crop), R // 2)
    target = spectrum(picture.image, crop)
    dist = np.empty((cands.size, n_evals))
    spectra = np.zeros((cands.size, target.size))
    with threads(device=picture.coords.device, size=R * R, limit=ONE_THREAD_PIXELS):
        for a, value in enumerate(cands):
            for e in range(n_evals):
                field = make_field(float(value), seed + e).to(picture.coords.device).eval()
                out = field(picture.coords).reshape(R, R, -1).cpu().numpy()
                s = spectrum(out, crop)
                spectra[a] += s / n_evals
                dist[a, e] = spectrum_distance(target, s)
    mean = dist.mean(1)
    stderr = dist.std(1) / np.sqrt(n_evals)
    return FreshResult(cands, mean, stderr, float(cands[int(np.argmin(mean))]), target, spectra)
