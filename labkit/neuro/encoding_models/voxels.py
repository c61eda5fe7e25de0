"""Simulated voxels with known receptive fields, read from the backbone's map: the truth of the notebook.

* **Retinotopic** voxel: a Gaussian window ``g_v`` (σ 0.8-2 map positions) times a sparse mix of 4 channels,
  ``r_v = Σ_p g_v(p) Σ_c w_v(c) F(p, c)``; the factorized readout holds it exactly.
* **Category** voxel: the same channel mix read wherever the voxel's class ``k`` is,
  ``r_v = Σ_p softmax_p(β e_k(p)) Σ_c w_v(c) F(p, c)``; position-invariant and routed by content.

Each signal is scaled to unit variance over all scenes; Gaussian noise of variance ``(1 - ρ_v) / ρ_v`` gives
each voxel a single-trial noise ceiling ``ρ_v`` drawn from [0.5, 0.9]. The test scenes are shown twice.
The ``"shuffle"`` control permutes the scenes of the training responses and of each test repeat
independently: a response then says nothing about its stimulus.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.threads import threads
from labkit.neuro.encoding_models.scenes import MAP, N_CLASSES

KINDS = ("retinotopic", "category")


@dataclass
class VoxelTruth:
    """What generated the responses: ``kind`` (V,) 0 retinotopic / 1 category; ``window`` (V, 100) the
    Gaussian window (zero for category voxels); ``centre`` (V, 2) (row, column) and ``sigma`` (V,) in map
    positions; ``weights`` (V, C) the channel mix; ``klass`` (V,) a category voxel's class (-1 otherwise);
    ``ceiling`` (V,) the noise variance's ceiling ρ on the signal's unit variance."""
    kind: np.ndarray
    window: np.ndarray
    centre: np.ndarray
    sigma: np.ndarray
    weights: np.ndarray
    klass: np.ndarray
    beta: float
    ceiling: np.ndarray


@dataclass
class VoxelData:
    """Responses of every voxel: ``train`` (n_train, V) and ``val`` (n_val, V) one trial each, ``test``
    (2, n_test, V) two repeats; ``signal`` (n, V) the noiseless response of every scene (train, val, test
    in that order); and the truth."""
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    signal: np.ndarray
    truth: VoxelTruth

    def true_ceiling(self) -> np.ndarray:
        """The single-trial noise ceiling of each voxel on the test scenes: var(signal) / (var(signal) + σ²)."""
        n_test = self.test.shape[1]
        var_s = self.signal[-n_test:].var(0)
        noise = (1 - self.truth.ceiling) / self.truth.ceiling
        return var_s / (var_s + noise)


def grid_positions() -> np.ndarray:
    """(100, 2) the (row, column) of every map position."""
    r, c = np.meshgrid(np.arange(MAP), np.arange(MAP), indexing="ij")
    return np.stack([r.ravel(), c.ravel()], 1).astype(float)


def true_disc(truth: VoxelTruth) -> np.ndarray:
    """(V, 100) boolean: the positions within 1σ of each voxel's centre (the window's 1σ disc)."""
    d2 = ((grid_positions()[None] - truth.centre[:, None]) ** 2).sum(-1)
    return d2 <= truth.sigma[:, None] ** 2


def _signal(features, evidence, window, weights, klass, beta, chunk: int = 250) -> np.ndarray:
    """The noiseless responses (n, V), in chunks of scenes (the (scenes, positions, voxels) product is large)."""
    w = torch.as_tensor(weights, dtype=torch.float32)
    win = torch.as_tensor(window.T, dtype=torch.float32)                             # (P, V)
    category = torch.as_tensor(klass >= 0)[None, None]
    k = torch.as_tensor(np.maximum(klass, 0))
    out = []
    with threads(size=len(features) * window.size):
        for i in range(0, len(features), chunk):
            mixed = torch.as_tensor(features[i:i + chunk], dtype=torch.float32) @ w.T   # (b, P, V)
            route = torch.softmax(beta * torch.as_tensor(evidence[i:i + chunk], dtype=torch.float32)[:, k], -1)
            mask = torch.where(category, route.transpose(1, 2), win[None])             # (b, P, V)
            out.append((mask * mixed).sum(1).double().numpy())
    return np.concatenate(out)


def simulate_voxels(features: np.ndarray, evidence: np.ndarray, n_retinotopic: int, n_category: int,
                    n_train: int, n_val: int, seed: int, *, beta: float = 1.0, n_channels: int = 4,
                    ceiling: tuple[float, float] = (0.5, 0.9), control: str = "none") -> VoxelData:
    """Responses to every scene of ``features`` (n, 100, C) with evidence maps (n, 10, 100); the scenes
    after the first ``n_train + n_val`` are the test scenes (two repeats)."""
    n, positions, channels = features.shape
    n_test = n - n_train - n_val
    if n_test < 2:
        raise ValueError(f"simulate_voxels: features must hold more than n_train + n_val + 1 scenes, got {n}.")
    rng = np.random.default_rng(seed)
    v = n_retinotopic + n_category
    kind = np.r_[np.zeros(n_retinotopic, int), np.ones(n_category, int)]
    weights = np.zeros((v, channels))
    live = np.flatnonzero(features.reshape(-1, channels).std(0) > 0)           # channels that ever respond
    if len(live) < n_channels:
        raise ValueError(f"simulate_voxels: the map has {len(live)} live channels, fewer than n_channels={n_channels}.")
    chosen = live[np.argsort(rng.random((v, len(live))), 1)[:, :n_channels]]
    np.put_along_axis(weights, chosen, rng.standard_normal((v, n_channels)), 1)
    centre = rng.uniform(0, MAP - 1, size=(v, 2))
    sigma = rng.uniform(0.8, 2.0, size=v)
    d2 = ((grid_positions()[None] - centre[:, None]) ** 2).sum(-1)
    window = np.exp(-d2 / (2 * sigma[:, None] ** 2)) * (kind == 0)[:, None]
    klass = np.where(kind == 1, rng.integers(0, N_CLASSES, size=v), -1)
    rho = rng.uniform(*ceiling, size=v)
    signal = _signal(features, evidence, window, weights, klass, beta)
    signal = (signal - signal.mean(0)) / signal.std(0)
    noise_sd = np.sqrt((1 - rho) / rho)
    trial1 = signal + noise_sd * rng.standard_normal((n, v))
    repeat2 = signal[n_train + n_val:] + noise_sd * rng.standard_normal((n_test, v))
    train, val = trial1[:n_train], trial1[n_train:n_train + n_val]
    test = np.stack([trial1[n_train + n_val:], repeat2])
    if control == "shuffle":
        train = train[rng.permutation(n_train)]
        test = np.stack([t[rng.permutation(n_test)] for t in test])
    truth = VoxelTruth(kind, window, centre, sigma, weights, klass, beta, rho)
    return VoxelData(train.astype(np.float32), val.astype(np.float32), test.astype(np.float32),
                     signal.astype(np.float32), truth)
