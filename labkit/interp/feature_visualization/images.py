"""How a synthesized picture is parameterized, transformed and regularized.

* :class:`PixelImage` — the pixels themselves (the official mfv code: plain pixels, clipped to
  [0, 1] after each step, optionally denoised by Bregman total variation);
* :class:`FourierImage` — Lucid's parameterization: a spectrum scaled by ``1 / f^decay`` whose inverse
  FFT gives decorrelated channels, mixed into RGB by the square root of the data's colour covariance
  (:func:`colour_matrix`) and squashed by a sigmoid;
* :func:`transform` — random jitter, scale (crops) and rotation, one ``grid_sample`` for the batch;
* :func:`total_variation`, :func:`l2`, :func:`blur_penalty` — penalties, one value per picture;
  :func:`bregman_tv` — scikit-image's Bregman TV denoising, the step mfv takes after each update.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.params import ParameterError, check_value


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation per picture: mean over channels and pixels of |∂x| + |∂y|. (B,)."""
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).sum(1)
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).sum(1)
    return (dx + dy) / x[0].numel()


def l2(x: torch.Tensor) -> torch.Tensor:
    """Mean squared distance from mid-grey per picture. (B,)."""
    return ((x - 0.5) ** 2).flatten(1).mean(1)


def blur_penalty(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between a picture and its 3x3 box blur: high frequencies cost. (B,)."""
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return ((x - blurred) ** 2).flatten(1).mean(1)


def bregman_tv(x: np.ndarray, weight: float) -> np.ndarray:
    """scikit-image's split-Bregman TV denoising of each picture (B, 3, H, W); larger weight, less smoothing."""
    from skimage.restoration import denoise_tv_bregman

    return np.stack([denoise_tv_bregman(im.transpose(1, 2, 0), weight=weight, channel_axis=-1).transpose(2, 0, 1)
                     for im in x]).astype(np.float32)


def colour_matrix(images: np.ndarray) -> np.ndarray:
    """Square root of the colour covariance of ``images`` (N, 3, H, W), scaled so its largest column norm
    is 1 (as Lucid does): maps decorrelated channels to correlated RGB."""
    pixels = np.asarray(images, np.float64).transpose(1, 0, 2, 3).reshape(3, -1)
    cov = np.cov(pixels)
    w, v = np.linalg.eigh(cov)
    root = v @ np.diag(np.sqrt(np.maximum(w, 0))) @ v.T
    return (root / np.linalg.norm(root, axis=0).max()).astype(np.float32)


def fourier_scale(size: int, decay: float) -> np.ndarray:
    """1 / max(f, 1/size)^decay on the rfft2 grid (H, W//2+1), f in cycles per pixel."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    return (1.0 / np.maximum(f, 1.0 / size) ** decay).astype(np.float32)


class PixelImage(torch.nn.Module):
    """Pixels as parameters; ``start`` (B, 3, H, W) in [0, 1] or uniform noise around grey."""

    def __init__(self, n: int, size: int, start=None, generator=None):
        super().__init__()
        if start is None:
            start = 0.5 + 0.1 * (torch.rand(n, 3, size, size, generator=generator) - 0.5)
        self.pixels = torch.nn.Parameter(torch.as_tensor(start, dtype=torch.float32).clone())

    def forward(self) -> torch.Tensor:
        return self.pixels

    @torch.no_grad()
    def project(self, bregman: float = 0.0) -> None:
        """Clip to [0, 1]; with ``bregman`` > 0 denoise by Bregman TV first (mfv's step)."""
        if bregman > 0:
            self.pixels.copy_(torch.from_numpy(bregman_tv(self.pixels.detach().cpu().numpy(), bregman)))
        self.pixels.clamp_(0, 1)


class FourierImage(torch.nn.Module):
    """A spectrum scaled by ``1/f^decay``; ``colour`` (3, 3) mixes decorrelated channels into RGB
    (None: identity); a sigmoid keeps pixels in (0, 1)."""

    def __init__(self, n: int, size: int, decay: float = 1.0, colour=None, generator=None, sd: float = 0.01):
        super().__init__()
        self.size = size
        self.register_buffer("scale", torch.from_numpy(fourier_scale(size, decay)) * size / 4)
        self.register_buffer("colour", torch.eye(3) if colour is None else torch.as_tensor(colour, dtype=torch.float32))
        shape = (n, 3, size, size // 2 + 1, 2)
        self.spectrum = torch.nn.Parameter(sd * torch.randn(shape, generator=generator))

    def decorrelated(self) -> torch.Tensor:
        """The channels before colour mixing: irfft2(scale · spectrum). (B, 3, H, W)."""
        spec = torch.view_as_complex(self.spectrum) * self.scale
        return torch.fft.irfft2(spec, s=(self.size, self.size), norm="ortho")

    def forward(self) -> torch.Tensor:
        z = torch.einsum("ij,bjhw->bihw", self.colour, self.decorrelated())
        return torch.sigmoid(z)

    def project(self, bregman: float = 0.0) -> None:
        """Nothing to clip: the sigmoid keeps the picture in range."""


def transform(x: torch.Tensor, *, jitter: float = 0.0, scale=(1.0, 1.0), rotate: float = 0.0,
              generator=None) -> torch.Tensor:
    """Random jitter (pixels), zoom (a factor drawn from ``scale``; below 1 a random crop resized up) and
    rotation (degrees, ±) per picture, by one affine ``grid_sample`` with reflected borders."""
    B, _, H, _ = x.shape
    if jitter == 0 and tuple(scale) == (1.0, 1.0) and rotate == 0:
        return x
    u = torch.rand(B, 4, generator=generator)
    s = scale[0] + (scale[1] - scale[0]) * u[:, 0]
    a = math.radians(rotate) * (2 * u[:, 1] - 1)
    t = (2 * u[:, 2:] - 1) * (2 * jitter / H)
    theta = torch.stack([torch.stack([s * torch.cos(a), -s * torch.sin(a), t[:, 0]], 1),
                         torch.stack([s * torch.sin(a), s * torch.cos(a), t[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)


def check_crop(crop, size: int, owner: str) -> float:
    """The zoom that takes a ``crop``-pixel window to the full picture; the crop must fit the picture."""
    if crop is None:
        return 1.0
    crop = check_value("crop", crop, (int, 1, None), owner)
    if crop > size:
        raise ParameterError(f"Parameter 'crop' of {owner} ({crop}) is larger than the image ({size} pixels).")
    return crop / size
