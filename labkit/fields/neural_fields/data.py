"""Pictures as coordinate datasets.

A neural field fits a picture by regression from pixel-centre coordinates to pixel values. Every
picture here is one of scikit-image's bundled pictures (``skimage.data``, no network), cropped to
its central square and resized with anti-aliasing to ``resolution × resolution``. Coordinates are
pixel centres in ``[-1, 1]²`` (``x`` across, ``y`` down), values are in ``[0, 1]``: the ground truth
is the picture itself, and the score of a fit is its PSNR and SSIM against it (:mod:`.metrics`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_value

# Below this many pixels per operation a CPU fit runs on one thread: the split costs more than it saves
# (on a loaded 2-core machine a 64² fit took 24 s on two threads and 2 s on one; see labkit.core.threads).
ONE_THREAD_PIXELS = 16_384

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

    def to(self, device) -> Picture:
        return Picture(self.name, self.image, self.coords.to(device), self.values.to(device))


def pixel_grid(resolution: int) -> torch.Tensor:
    """Pixel-centre coordinates of a ``resolution²`` picture in ``[-1, 1]²``, shape ``(R*R, 2)`` as (x, y)."""
    centres = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 - 1
    yy, xx = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def max_resolution(name: str) -> int:
    """The side of the largest square this picture gives (its shorter side)."""
    _check_name(name, "max_resolution")
    import skimage.data

    return int(min(getattr(skimage.data, name)().shape[:2]))


def _check_name(name: str, owner: str) -> None:
    check_value("name", name, sorted(PICTURES), owner)


def load_picture(name: str = "camera", resolution: int = 256, color: bool | None = None) -> Picture:
    """Load a bundled picture as a ``resolution²`` coordinate dataset.

    ``color=None`` keeps the picture's own channels; ``False`` turns a colour picture grey
    (``skimage.color.rgb2gray``); ``True`` asks for colour (an error for a grey picture).
    """
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    _check_name(name, "load_picture")
    check_value("resolution", resolution, int, "load_picture")
    raw = getattr(skimage.data, name)()
    side = min(raw.shape[:2])  # the side of the picture's largest square
    check_value("resolution", resolution, (int, 8, side), "load_picture")
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
