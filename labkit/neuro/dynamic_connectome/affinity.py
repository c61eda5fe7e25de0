"""Pairwise non-linear affinities between calcium traces in sliding windows (stage 1 of Dyballa et al. 2024).

The paper builds, for every animal, a *differential* affinity between neurons: it compares the
traces' time derivatives rather than the traces, because a calcium trace decays slowly after each
event, so two neurons that were activated at different times can still look correlated for a long
while, whereas the derivative marks when each one rises or falls. The affinities, one per neuron pair
per time window per animal, are stacked into a non-negative tensor (pairs × windows × animals) that
NTF factorizes.

**The kernel used here (our choice, documented).** The official notebook
(github dyballa/dynamic-connectomes, ``celegans-dynamic-communities.ipynb``) could not be read from
this workplace (only its README and the LFR community-detection benchmark notebook were available),
so the exact kernel of the paper is not reproduced; we implement a co-activation kernel on the
derivatives that keeps the properties the paper asks of it — derivative-based, non-linear,
non-negative, zero for neurons moving in opposite directions — and is cheap to batch:

1. smooth each trace with a Gaussian of SD ``smooth`` (samples) and differentiate (a Gaussian
   derivative filter), ``d_i(t)``;
2. standardise by the neuron's SD over the *whole* recording, ``z_i(t) = d_i(t) / SD_t(d_i)`` (not per
   window: a window where a neuron is quiet should give small affinities, not amplified noise);
3. the instantaneous affinity is the rectified product ``a_ij(t) = [z_i(t) z_j(t)]_+`` — large when
   both rise together or both fall together, zero when one rises while the other falls;
4. the window affinity is its mean over the window, ``A_ij(w) = (1/L) Σ_{t∈w} [z_i z_j]_+``.

Since ``[xy]_+ = (xy + |x||y|)/2``, step 4 is two matrix products per window, batched over animals
and windows on any device. Two alternatives are available for comparison: ``kernel="rising"``
(``[z_i]_+ [z_j]_+``, co-rising only) and ``kernel="correlation"`` (the windowed Pearson correlation
of the derivatives, clipped at zero: the linear measure the paper argues against).

Bad input: NaN or infinite samples raise ``ValueError`` naming the animal and neuron; a recording
shorter than one window raises; a constant (flat) neuron raises by default, or, with
``on_constant="zero"``, gets zero affinity with everyone (documented, tested; never NaN).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_args, nullable

__all__ = ["Affinity", "windowed_affinity", "derivative_z", "pairs_to_matrix", "static_correlation", "KERNELS"]

KERNELS = ("coactivation", "rising", "correlation")


@dataclass
class Affinity:
    """The affinity tensor and how to read it."""

    tensor: np.ndarray        # (P, W, A) non-negative: pairs × windows × animals
    pairs: np.ndarray         # (P, 2) neuron indices (i < j) of each row
    n_neurons: int
    window_start: np.ndarray  # (W,) first sample of each window
    window: int
    step: int
    kernel: str
    constant: list            # [(animal, neuron)] flat neurons given zero affinity

    def matrices(self) -> np.ndarray:
        """The affinities as symmetric matrices, (A, W, N, N), zero diagonal."""
        P, W, A = self.tensor.shape
        out = np.zeros((A, W, self.n_neurons, self.n_neurons), dtype=self.tensor.dtype)
        i, j = self.pairs.T
        out[:, :, i, j] = self.tensor.transpose(2, 1, 0)
        out[:, :, j, i] = self.tensor.transpose(2, 1, 0)
        return out


def _as_traces(traces) -> np.ndarray:
    if not isinstance(traces, (np.ndarray, torch.Tensor, list)):
        raise ValueError(f"traces must be an array (animals, neurons, time) or (neurons, time), "
                         f"got {type(traces).__name__}.")
    x = np.asarray(traces.detach().cpu() if isinstance(traces, torch.Tensor) else traces, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"traces must be an array (animals, neurons, time) or (neurons, time), "
                         f"got {x.ndim} dimensions.")
    if x.shape[1] < 2:
        raise ValueError(f"traces must hold at least 2 neurons, got {x.shape[1]}.")
    bad = ~np.isfinite(x)
    if bad.any():
        a, n, t = np.argwhere(bad)[0]
        raise ValueError(f"traces must be finite: animal {a}, neuron {n} has NaN or inf at sample {t} "
                         f"({int(bad.sum())} bad samples in all); interpolate or drop them first.")
    return x


def _gauss_deriv_kernel(sigma: float) -> np.ndarray:
    half = max(1, int(np.ceil(4 * sigma)))
    t = np.arange(-half, half + 1, dtype=float)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    return -t / sigma ** 2 * g      # derivative of the normalised Gaussian


def derivative_z(traces, *, smooth: float = 1.0, on_constant: str = "raise", device="cpu", dtype=torch.float32):
    """Standardised smoothed derivatives ``z`` (A, N, T) as a tensor, and the list of flat neurons."""
    x = _as_traces(traces)
    check_args("derivative_z", {"smooth": smooth, "on_constant": on_constant},
               {"smooth": (float, 0, None, "neither"), "on_constant": ["raise", "zero"]})
    A, N, T = x.shape
    k = _gauss_deriv_kernel(float(smooth))
    half = len(k) // 2
    if T <= half:
        raise ValueError(f"traces must have more than {half} time points for smooth={smooth}, got {T}.")
    dev = resolve_device(device)
    xt = torch.as_tensor(x.reshape(A * N, 1, T), dtype=torch.float64, device=dev)
    kt = torch.as_tensor(k[::-1].copy(), dtype=torch.float64, device=dev).view(1, 1, -1)
    d = torch.nn.functional.conv1d(torch.nn.functional.pad(xt, (half, half), mode="replicate"), kt)
    d = d.view(A, N, T)
    sd = d.std(dim=-1, keepdim=True, correction=0)
    scale = d.abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-300)
    flat = (sd <= 1e-9 * scale).squeeze(-1)                       # (A, N)
    flat_list = [(int(a), int(n)) for a, n in torch.nonzero(flat).cpu().numpy()]
    if flat_list and on_constant == "raise":
        a, n = flat_list[0]
        raise ValueError(f"traces: animal {a}, neuron {n} is constant (no activity to compare; "
                         f"{len(flat_list)} such neurons in all); drop it or pass on_constant='zero'.")
    z = torch.where(flat[..., None], torch.zeros_like(d), d / torch.where(flat[..., None], torch.ones_like(sd), sd))
    return z.to(dtype), flat_list


def windowed_affinity(traces, *, window: int, step: int | None = None, smooth: float = 1.0,
                      kernel: str = "coactivation", on_constant: str = "raise", device="cpu",
                      dtype=torch.float32) -> Affinity:
    """Affinity tensor (pairs × windows × animals) of traces (A, N, T) in windows of ``window`` samples.

    ``step``: samples between window starts (default ``window // 2``). See the module docstring for
    the kernels.
    """
    check_args("windowed_affinity", {"kernel": kernel, "window": window, "step": step},
               {"kernel": list(KERNELS), "window": (int, 2, None), "step": nullable((int, 1, None))})
    x = _as_traces(traces)
    A, N, T = x.shape
    step = window // 2 if step is None else step
    if T < window:
        raise ValueError(f"traces must have at least one window of {window} time points, got {T}.")
    z, flat = derivative_z(x, smooth=smooth, on_constant=on_constant, device=device, dtype=dtype)
    zw = z.unfold(-1, int(window), int(step))                      # (A, N, W, L)
    zw = zw.permute(0, 2, 1, 3)                                   # (A, W, N, L)
    L = zw.shape[-1]
    if kernel == "coactivation":
        za = zw.abs()
        M = (zw @ zw.transpose(-1, -2) + za @ za.transpose(-1, -2)) / (2 * L)
    elif kernel == "rising":
        zp = zw.clamp_min(0.0)
        M = zp @ zp.transpose(-1, -2) / L
    else:
        zc = zw - zw.mean(dim=-1, keepdim=True)
        sd = zc.norm(dim=-1, keepdim=True)
        zc = zc / torch.where(sd > 0, sd, torch.ones_like(sd))
        M = (zc @ zc.transpose(-1, -2)).clamp_min(0.0)
    iu = torch.triu_indices(N, N, offset=1, device=M.device)
    tensor = M[:, :, iu[0], iu[1]].permute(2, 1, 0).contiguous()   # (P, W, A)
    W = tensor.shape[1]
    return Affinity(tensor=tensor.cpu().numpy(), pairs=iu.T.cpu().numpy(), n_neurons=N,
                    window_start=np.arange(W) * int(step), window=int(window), step=int(step), kernel=kernel,
                    constant=flat)


def pairs_to_matrix(values, n_neurons: int, pairs=None) -> np.ndarray:
    """A symmetric (N, N) matrix, zero diagonal, from one value per pair (i < j, row-major order)."""
    v = np.asarray(values, dtype=float)
    if pairs is None:
        pairs = np.stack(np.triu_indices(n_neurons, 1), axis=1)
    if v.shape != (len(pairs),):
        raise ValueError(f"values must hold one number per pair ({len(pairs)}), got shape {v.shape}.")
    m = np.zeros((n_neurons, n_neurons))
    m[pairs[:, 0], pairs[:, 1]] = v
    m[pairs[:, 1], pairs[:, 0]] = v
    return m


def static_correlation(traces) -> np.ndarray:
    """The static functional connectome: Pearson correlation of the traces over all time (animals
    concatenated after z-scoring each), negative values set to zero, zero diagonal. It sees no epochs."""
    x = _as_traces(traces)
    sd = x.std(axis=-1, keepdims=True)
    z = (x - x.mean(axis=-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    zc = np.concatenate(list(z), axis=-1)                          # (N, A·T)
    c = zc @ zc.T / zc.shape[-1]
    c = np.clip(c, 0.0, None)
    np.fill_diagonal(c, 0.0)
    return c
