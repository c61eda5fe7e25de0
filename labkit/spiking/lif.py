"""The leaky integrate-and-fire neuron: a batched simulator and its closed-form f–I curve.

Membrane equation (Lapicque 1907; Gerstner et al., *Neuronal Dynamics*, ch. 1)::

    tau_m dV/dt = -(V - V_rest) + R I,   spike and reset to V_reset when V >= V_th,
    then silent for t_ref.

For a constant current above rheobase (R I > V_th - V_rest) the interval between spikes is exact::

    T(I) = t_ref + tau_m * ln( (R I + V_rest - V_reset) / (R I + V_rest - V_th) ),   rate = 1 / T.

The simulator integrates the linear part exactly (exponential Euler), for a whole batch of
neurons at once on any device, so the only error against theory is the time grid.

With white current noise (``tau_m dV = (-(V - V_rest) + R I) dt + tau_m s dW``, ``s`` in mV/sqrt(ms)) the
rate has a closed form too, the Siegert (mean first-passage time) formula of the diffusion approximation
(Brunel 2000, eq. 21), :func:`lif_rate_noisy`::

    1 / rate = t_ref + tau_m sqrt(pi) * int_{(V_reset - mu)/sigma}^{(V_th - mu)/sigma} exp(u^2) (1 + erf u) du,

with ``mu = V_rest + R I`` and ``sigma = s sqrt(tau_m)``: the noisy neuron fires below rheobase at a rate
theory predicts. A simulation that tests the threshold only on a time grid ``dt`` misses crossings between
steps; that acts as a threshold raised by ``-zeta(1/2)/sqrt(2 pi) * s sqrt(dt)`` (about 0.58 ``s sqrt(dt)``,
the Broadie–Glasserman–Kou correction for a discretely monitored barrier), which ``dt`` applies.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import quad
from scipy.special import erfcx, zeta

from labkit.core.device import resolve_device
from labkit.core.params import check_args, check_value


@dataclass(frozen=True)
class LIFParams:
    tau_m: float = 20.0      # membrane time constant (ms)
    r_m: float = 10.0        # membrane resistance (MOhm): 1 nA -> 10 mV
    v_rest: float = -70.0    # resting potential (mV)
    v_th: float = -50.0      # threshold (mV)
    v_reset: float = -65.0   # reset potential (mV)
    t_ref: float = 2.0       # absolute refractory period (ms)

    def __post_init__(self):
        positive = (float, 0, None, "neither")
        below_th = (float, None, self.v_th, "left")   # reset and rest lie below the threshold
        check_args("LIFParams", vars(self), {"tau_m": positive, "r_m": positive, "t_ref": (float, 0, None),
                                             "v_th": float, "v_reset": below_th, "v_rest": below_th})

    @property
    def rheobase(self) -> float:
        """The smallest constant current (nA) that makes the neuron fire."""
        return (self.v_th - self.v_rest) / self.r_m


def lif_rate(current, params: LIFParams = LIFParams()) -> np.ndarray:
    """Closed-form firing rate (Hz) for constant currents (nA); zero at and below rheobase."""
    i = np.asarray(current, dtype=float)
    drive = params.r_m * i + params.v_rest
    above = drive > params.v_th
    with np.errstate(divide="ignore", invalid="ignore"):
        period = params.t_ref + params.tau_m * np.log((drive - params.v_reset) / (drive - params.v_th))
        rate = np.where(above, 1000.0 / period, 0.0)
    return rate


def lif_rate_noisy(current, noise_std: float, params: LIFParams = LIFParams(), *, dt: float = 0.0) -> np.ndarray:
    """Siegert rate (Hz) of the LIF neuron driven by constant currents (nA) plus white noise ``noise_std``
    (mV / sqrt(ms), as in :func:`simulate_lif`), in the diffusion approximation; ``dt`` > 0 adds the
    threshold shift of a simulation that checks the threshold once per step (module docstring)."""
    check_value("noise_std", noise_std, (float, 0, None, "neither"), "lif_rate_noisy")
    check_value("dt", dt, (float, 0, None), "lif_rate_noisy")
    i = np.asarray(current, dtype=float)
    mu = params.v_rest + params.r_m * i
    sigma = noise_std * np.sqrt(params.tau_m)
    v_th = params.v_th - zeta(0.5) / np.sqrt(2 * np.pi) * noise_std * np.sqrt(dt)
    # exp(u^2) (1 + erf u) = erfcx(-u): no overflow far below threshold
    integral = np.array([quad(lambda u: erfcx(-u), (params.v_reset - m) / sigma, (v_th - m) / sigma)[0]
                         for m in mu.ravel()]).reshape(mu.shape)
    return 1000.0 / (params.t_ref + params.tau_m * np.sqrt(np.pi) * integral)


@dataclass
class LIFRun:
    """What :func:`simulate_lif` returns: rates measured from spike intervals, and one trace."""

    current: np.ndarray      # (B,) nA
    rate: np.ndarray         # (B,) Hz: mean inter-spike interval without noise; spike count / duration with noise
    n_spikes: np.ndarray     # (B,)
    time: np.ndarray         # (T_keep,) ms, for the kept traces
    voltage: np.ndarray      # (T_keep, n_traces) mV


def simulate_lif(current, *, params: LIFParams = LIFParams(), duration: float = 1000.0, dt: float = 0.1,
                 noise_std: float = 0.0, seed: int = 0, device: str | torch.device = "cpu",
                 keep_traces: int = 4, keep_ms: float = 200.0, leak: bool = True) -> LIFRun:
    """Simulate one LIF neuron per entry of ``current`` (nA) for ``duration`` ms, all in one batch.

    ``noise_std`` (mV / sqrt(ms)) adds white current noise (Euler–Maruyama), which smooths the f–I
    curve near rheobase. Traces of the first ``keep_traces`` neurons are kept for ``keep_ms`` ms.
    ``leak=False`` removes the leak (``tau_m dV/dt = R I``: the perfect integrate-and-fire neuron, which
    has no rheobase and a linear f–I curve); the tour uses it as its negative control.
    """
    check_value("dt", dt, (float, 0, params.tau_m, "neither"), "simulate_lif")      # shorter than tau_m
    check_value("duration", duration, (float, dt, None, "neither"), "simulate_lif")   # longer than dt
    device = resolve_device(device)
    i = torch.as_tensor(np.asarray(current, dtype=np.float64), dtype=torch.float64, device=device).reshape(-1)
    gen = torch.Generator(device=device).manual_seed(seed)
    n_steps = int(round(duration / dt))
    n_keep = min(int(round(keep_ms / dt)), n_steps)
    decay = float(np.exp(-dt / params.tau_m))
    v_inf = params.v_rest + params.r_m * i
    step_drive = params.r_m * i * (dt / params.tau_m)   # the perfect integrator's rise per step
    v = torch.full_like(i, params.v_rest)
    refractory = torch.zeros_like(i)
    n_spk = torch.zeros_like(i)
    first = torch.full_like(i, float("nan"))
    last = torch.full_like(i, float("nan"))
    traces = torch.empty(n_keep, min(keep_traces, i.numel()), dtype=i.dtype, device=device)
    noise_scale = noise_std * float(np.sqrt(dt))
    for step in range(n_steps):
        v_new = v_inf + (v - v_inf) * decay if leak else v + step_drive
        if noise_std > 0:
            v_new = v_new + noise_scale * torch.randn(i.shape, generator=gen, dtype=i.dtype, device=device)
        active = refractory <= 0
        v = torch.where(active, v_new, v)
        refractory = refractory - dt
        spiked = v >= params.v_th
        if step < n_keep:
            traces[step] = torch.where(spiked, torch.full_like(v, 0.0), v)[: traces.shape[1]]  # draw spikes to 0 mV
        if bool(spiked.any()):
            t = (step + 1) * dt
            first = torch.where(spiked & torch.isnan(first), torch.full_like(first, t), first)
            last = torch.where(spiked, torch.full_like(last, t), last)
            n_spk = n_spk + spiked
            v = torch.where(spiked, torch.full_like(v, params.v_reset), v)
            refractory = torch.where(spiked, torch.full_like(v, params.t_ref), refractory)
    intervals = (last - first) / torch.clamp(n_spk - 1, min=1)
    if noise_std > 0:  # irregular spiking: the count over the whole run is the unbiased estimate
        rate = n_spk * (1000.0 / duration)
    else:  # regular spiking: the mean interval avoids the count's +-1 spike quantization
        rate = torch.where(n_spk >= 2, 1000.0 / intervals, torch.zeros_like(intervals))
    return LIFRun(current=i.cpu().numpy(), rate=rate.cpu().numpy(), n_spikes=n_spk.cpu().numpy().astype(int),
                  time=np.arange(1, n_keep + 1) * dt, voltage=traces.cpu().numpy())
