"""Event streams of natural pictures moved along saccade-like trajectories, with their true motion.

A movie is a ``crop`` x ``crop`` window on a picture whose content moves by a velocity that is constant over
segments and jumps between them (Grimaldi & Perrinet 2023: piecewise-constant motions, Poisson segment
lengths): each segment draws one motion class, a direction (``n_directions`` evenly spaced angles) and a
speed (px per step), its length 1 + Poisson(``segment`` - 1) steps. The content's position is the running
sum of the velocities; a frame samples the picture at that sub-pixel position by a Fourier shift of a
padded window (exact for a band-limited picture, the paper's shift).

Events follow a DVS pixel: each pixel keeps a reference level; when the frame departs from it by
``threshold`` (in units of the whitened picture's standard deviation) the pixel emits an ON (polarity 0)
or OFF (polarity 1) event and moves its reference by one threshold towards the frame. The DVS is a
recursion over time (a pixel's reference depends on its past events), so it loops over steps, every
pixel and movie of a step in one tensor operation.

Ground truth: the class, velocity and time since the motion started, per movie and step (the motion of
step ``t`` is the one between frames ``t - 1`` and ``t``, which its events report).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_args

PICTURES = ("camera", "astronaut", "coffee", "chelsea")
DOTS = "dots"
PAD = 8  # pixels of picture around a frame's window for the Fourier shift (its wrap-around stays outside)


def whitened_picture(name: str, min_size: int = 0) -> np.ndarray:
    """One of scikit-image's bundled pictures in gray, whitened (amplitude spectrum flattened by a radial
    ramp, rolled off at high frequencies; Olshausen & Field 1996) and scaled to unit standard deviation; or, for
    ``"dots"``, :func:`dots_picture`, at least ``min_size`` px wide."""
    if name == DOTS:                                      # drawn large enough for the trajectory
        return dots_picture(max(320, int(min_size)))
    import skimage.color
    import skimage.data

    if name not in PICTURES:
        raise ParameterError(f"Parameter 'picture' must be one of {list(PICTURES) + [DOTS]}, got {name!r}.")
    img = getattr(skimage.data, name)()
    img = skimage.color.rgb2gray(img) if img.ndim == 3 else img / 255.0
    img = np.asarray(img, dtype=np.float64)
    fy = np.fft.fftfreq(img.shape[0])[:, None]
    fx = np.fft.fftfreq(img.shape[1])[None, :]
    f = np.hypot(fy, fx)
    filt = f * np.exp(-(f / 0.2) ** 4)
    out = np.real(np.fft.ifft2(np.fft.fft2(img - img.mean()) * filt))
    return (out / out.std()).astype(np.float32)


def dots_picture(size: int = 320, density: float = 0.01, seed: int = 12345) -> np.ndarray:
    """A planted-motif picture: sparse bright and dark Gaussian dots (sigma 1 px) on a gray background, unit
    standard deviation; every dot is a motif whose events trace its trajectory."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size))
    n = int(density * size * size)
    img[rng.integers(0, size, n), rng.integers(0, size, n)] = rng.choice([-1.0, 1.0], n)
    f2 = np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2
    out = np.real(np.fft.ifft2(np.fft.fft2(img) * np.exp(-2 * np.pi ** 2 * f2)))
    return (out / out.std()).astype(np.float32)


def motion_classes(n_directions: int, speeds) -> np.ndarray:
    """The (n_directions * len(speeds), 2) velocities (vx, vy) in px per step, class ``k = direction *
    len(speeds) + speed index``; direction ``i`` points at angle ``2 pi i / n_directions`` (x right, y down)."""
    speeds = np.asarray(speeds, dtype=np.float64)
    ang = 2 * np.pi * np.arange(n_directions) / n_directions
    unit = np.stack([np.cos(ang), np.sin(ang)], 1)
    return (unit[:, None, :] * speeds[None, :, None]).reshape(-1, 2)


@dataclass
class EventStream:
    """Movies as events and their truth.

    ``events``: (M, 2, T, crop, crop) float32 0/1 (ON, OFF). ``labels``: (M, T) motion class per step;
    ``velocity``: (M, T, 2) px per step; ``since``: (M, T) steps since the current motion started;
    ``picture``: (M,) index into :data:`PICTURES`; ``classes``: (K, 2) velocities; ``speeds``, ``n_directions``.
    """

    events: torch.Tensor
    labels: torch.Tensor
    velocity: torch.Tensor
    since: torch.Tensor
    picture: np.ndarray
    classes: np.ndarray
    speeds: tuple
    n_directions: int

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def subset(self, idx) -> EventStream:
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return EventStream(self.events[idx], self.labels[idx], self.velocity[idx], self.since[idx],
                           self.picture[idx.numpy()], self.classes, self.speeds, self.n_directions)


def trajectories(n_movies: int, n_steps: int, classes: np.ndarray, segment: float, rng: np.random.Generator):
    """Piecewise-constant motions: labels (M, T), steps since each motion started (M, T)."""
    lengths = 1 + rng.poisson(segment - 1, size=(n_movies, n_steps))
    starts = np.cumsum(lengths, 1) - lengths
    seg_cls = rng.integers(0, len(classes), size=(n_movies, n_steps))
    t = np.arange(n_steps)
    which = np.stack([np.searchsorted(starts[m], t, side="right") - 1 for m in range(n_movies)])
    labels = np.take_along_axis(seg_cls, which, 1)
    since = t[None, :] - np.take_along_axis(starts, which, 1)
    return labels, since


def make_frames(picture: np.ndarray, offsets: np.ndarray, crop: int) -> torch.Tensor:
    """Frames (M, T, crop, crop) of ``picture`` whose content sits at sub-pixel ``offsets`` (M, T, 2) (x, y)
    from the picture's centre: frame(u) = picture(centre + u - offset), by a Fourier shift of a padded window."""
    pic = torch.as_tensor(picture)
    h, w = pic.shape
    size = crop + 2 * PAD
    q = np.stack([(h - crop) / 2 - offsets[..., 1], (w - crop) / 2 - offsets[..., 0]], -1)  # (M, T, 2) (row, col)
    base = np.floor(q).astype(np.int64)
    frac = torch.as_tensor(q - base, dtype=torch.float32)
    ar = torch.arange(size)
    rows = torch.as_tensor(base[..., 0] - PAD)[..., None] + ar
    cols = torch.as_tensor(base[..., 1] - PAD)[..., None] + ar
    win = pic[rows[..., :, None], cols[..., None, :]]
    k = torch.fft.fftfreq(size)
    ramp = torch.exp(2j * math.pi * frac[..., None] * k)             # (M, T, 2, size): separable phase ramps
    phase = ramp[..., 0, :, None] * ramp[..., 1, None, :]
    shifted = torch.fft.ifft2(torch.fft.fft2(win) * phase).real
    return shifted[..., PAD:PAD + crop, PAD:PAD + crop].contiguous()


def dvs_events(frames: torch.Tensor, threshold: float) -> torch.Tensor:
    """ON/OFF events (M, 2, T, H, W) of a DVS whose pixels start at the first frame's level (no events at t=0)."""
    ref = frames[:, 0].clone()
    m, n_t = frames.shape[:2]
    out = torch.zeros((m, 2, n_t) + frames.shape[2:], dtype=torch.float32)
    for t in range(1, n_t):                              # the reference is a recursion over time
        diff = frames[:, t] - ref
        on, off = diff >= threshold, diff <= -threshold
        out[:, 0, t], out[:, 1, t] = on, off
        ref += threshold * (on.float() - off.float())
    return out


def simulate_events(n_movies: int, *, crop: int = 32, n_steps: int = 64, n_directions: int = 8,
                    speeds=(0.25, 0.5), segment: float = 24.0, threshold: float = 1.0, pictures=(DOTS,),
                    motion: int | None = None, seed: int = 0) -> EventStream:
    """``n_movies`` event movies (see the module docstring); the same seed gives the same events. ``pictures``:
    names from :data:`PICTURES` and/or ``"dots"`` (:func:`dots_picture`); ``motion``: one class for every step
    (the explorer's constant motion) instead of random segments."""
    check_args("simulate_events", dict(n_movies=n_movies, crop=crop, n_steps=n_steps, n_directions=n_directions,
                                       segment=segment, threshold=threshold, seed=seed),
               {"n_movies": (int, 1, None), "crop": (int, 4, None), "n_steps": (int, 2, None),
                "n_directions": (int, 1, None), "segment": (float, 1, None), "threshold": (float, 0, None, "neither"),
                "seed": "seed"})
    speeds = tuple(float(s) for s in speeds)
    if not speeds or min(speeds) <= 0 or not all(math.isfinite(s) for s in speeds):
        raise ParameterError(f"Parameter 'speeds' of simulate_events must be positive px per step, got {speeds}.")
    reach = max(speeds) * n_steps                        # the farthest the content can travel from the centre
    pics = [whitened_picture(p, crop + 2 * PAD + 2 * math.ceil(reach) + 2) for p in pictures]
    for name, pic in zip(pictures, pics, strict=True):
        if min(pic.shape) < crop + 2 * PAD + 2 * math.ceil(reach) + 2:
            raise ParameterError(
                f"Parameter 'crop' ({crop}) with 'speeds' up to {max(speeds)} px/step over 'n_steps' {n_steps} lets "
                f"the trajectory leave picture {name!r} ({pic.shape[0]}x{pic.shape[1]}); use a smaller crop, "
                f"speed or length.")
    rng = np.random.default_rng(seed)
    classes = motion_classes(n_directions, speeds)
    labels, since = trajectories(n_movies, n_steps, classes, segment, rng)
    if motion is not None:
        if not isinstance(motion, int) or not 0 <= motion < len(classes):
            raise ParameterError(f"Parameter 'motion' must be a class from 0 to {len(classes) - 1}, got {motion!r}.")
        labels, since = np.full_like(labels, motion), np.broadcast_to(np.arange(n_steps), labels.shape).copy()
    vel = classes[labels]                                # (M, T, 2)
    vel[:, 0] = 0.0                                      # frame 0 is where the content starts
    offsets = np.cumsum(vel, 1)
    offsets += rng.uniform(-0.5, 0.5, size=(n_movies, 1, 2))   # a random sub-pixel start
    which = rng.integers(0, len(pics), size=n_movies)
    frames = torch.zeros(n_movies, n_steps, crop, crop)
    for i, pic in enumerate(pics):                       # one pass per picture, all its movies at once
        sel = np.nonzero(which == i)[0]
        if sel.size:
            frames[torch.as_tensor(sel)] = make_frames(pic, offsets[sel], crop)
    events = dvs_events(frames, threshold)
    return EventStream(events, torch.as_tensor(labels), torch.as_tensor(classes[labels], dtype=torch.float32),
                       torch.as_tensor(since), which, classes, speeds, n_directions)
