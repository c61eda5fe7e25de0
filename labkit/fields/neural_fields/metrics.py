"""The two image-quality scores of a fit against its picture: PSNR and SSIM (scikit-image's)."""
from __future__ import annotations

import numpy as np


def psnr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(1 / MSE)`` for values in ``[0, 1]`` (scikit-image's)."""
    from skimage.metrics import peak_signal_noise_ratio

    estimate = np.clip(np.asarray(estimate, np.float64), 0, 1)
    return float(peak_signal_noise_ratio(np.asarray(reference, np.float64), estimate, data_range=1.0))


def ssim(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) with scikit-image's defaults, channels averaged."""
    from skimage.metrics import structural_similarity

    ref = np.asarray(reference, np.float64)
    est = np.clip(np.asarray(estimate, np.float64), 0, 1)
    return float(structural_similarity(ref, est, data_range=1.0, channel_axis=2 if ref.ndim == 3 else None))
