"""Pictures as coordinate datasets, and the two image-quality scores (PSNR, SSIM).

A neural field fits a picture by regression from pixel-centre coordinates to pixel values. Every
picture here is one of scikit-image's bundled pictures (``skimage.data``, no network), cropped to
its central square and resized with anti-aliasing to ``resolution × resolution``. Coordinates are
pixel centres in ``[-1, 1]²`` (``x`` across, ``y`` down), values are in ``[0, 1]``: the ground truth
is the picture itself, and the score of a fit is its PSNR and SSIM against it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# Bundled in scikit-image's wheel (loaded offline); name -> whether the picture has colour.
PICTURES: dict[str, bool] = {
    "camera": False, "astronaut": True, "coffee": True, "chelsea": True, "rocket": True,
    "brick": False, "grass": False, "gravel": False, "moon": False, "coins": False,
    "clock": False, "immunohistochemistry": True,
}


@dataclass
class Picture:
    """A picture and its coordinate dataset.

    ``image`` is ``(H, W, C)`` in ``[0, 1]``; ``coords`` is ``(H*W, 2)`` pixel centres in
    ``[-1, 1]`` (columns: x, y), row-major like ``image``; ``values`` is ``(H*W, C)``.
    """

    name: str
    image: np.ndarray
    coords: torch.Tensor
    values: torch.Tensor

    @property
    def resolution(self) -> int:
        return int(self.image.shape[0])

    @property
    def channels(self) -> int:
        return int(self.image.shape[2])

    def to(self, device) -> "Picture":
        return Picture(self.name, self.image, self.coords.to(device), self.values.to(device))


def pixel_grid(resolution: int) -> torch.Tensor:
    """Pixel-centre coordinates of a ``resolution²`` picture in ``[-1, 1]²``, shape ``(R*R, 2)`` as (x, y)."""
    centres = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 - 1
    yy, xx = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def max_resolution(name: str) -> int:
    """The side of the largest square this picture gives (its shorter side)."""
    _check_name(name)
    import skimage.data

    return int(min(getattr(skimage.data, name)().shape[:2]))


def _check_name(name: str) -> None:
    if name not in PICTURES:
        raise ValueError(f"picture must be one of {', '.join(sorted(PICTURES))}; got {name!r}.")


def load_picture(name: str = "camera", resolution: int = 256, color: bool | None = None) -> Picture:
    """Load a bundled picture as a ``resolution²`` coordinate dataset.

    ``color=None`` keeps the picture's own channels; ``False`` turns a colour picture grey
    (``skimage.color.rgb2gray``); ``True`` asks for colour (an error for a grey picture).
    """
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    _check_name(name)
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)):
        raise ValueError(f"resolution must be an integer, got {resolution!r}.")
    raw = getattr(skimage.data, name)()
    side = min(raw.shape[:2])
    if not 8 <= resolution <= side:
        raise ValueError(f"resolution must be between 8 and {side} (the side of {name!r}'s largest square), got {resolution}.")
    if color is True and not PICTURES[name]:
        raise ValueError(f"color=True asks for colour, but {name!r} is a grey picture; use color=None or False.")
    img = raw.astype(np.float64) / (255.0 if raw.dtype == np.uint8 else max(float(raw.max()), 1.0))
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 3 and color is False:
        img = rgb2gray(img)
    top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
    img = img[top:top + side, left:left + side]
    img = resize(img, (resolution, resolution), anti_aliasing=resolution < side, order=3)
    img = np.clip(img, 0.0, 1.0).astype(np.float32)
    if img.ndim == 2:
        img = img[..., None]
    values = torch.from_numpy(img.reshape(-1, img.shape[2]).copy())
    return Picture(name, img, pixel_grid(resolution), values)


def psnr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(1 / MSE)`` for values in ``[0, 1]`` (scikit-image's)."""
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(np.asarray(reference, np.float64), np.clip(np.asarray(estimate, np.float64), 0, 1),
                                         data_range=1.0))


def ssim(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) with scikit-image's defaults, channels averaged."""
    from skimage.metrics import structural_similarity

    ref = np.asarray(reference, np.float64)
    est = np.clip(np.asarray(estimate, np.float64), 0, 1)
    return float(structural_similarity(ref, est, data_range=1.0, channel_axis=2 if ref.ndim == 3 else None))
