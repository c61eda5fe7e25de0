"""Symbol statistics of emitted sequences (the RNN's or the HMM's), and the residency time of a state.

* :func:`emission_stats` — symbol frequencies, the symbol-transition matrix P(y_{t+1} = j | y_t = i)
  and the mean number of symbol switches per sequence, from one-hot sequences (B, T, K).
* :func:`residency_time` — from each given hidden state, the number of steps until the argmax of the
  readout changes, averaged over noisy continuations and capped (official ``mechint.residency_plot``);
  :func:`residency_class` sorts those times into fast (< 2), intermediate (2–8) and slow (> 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value

RESIDENCY_CLASSES = ("fast (< 2)", "intermediate (2-8)", "slow (> 8)")


@dataclass
class EmissionStats:
    frequencies: np.ndarray  # (K,) fraction of steps emitting each symbol
    transitions: np.ndarray  # (K, K) P(y_{t+1} = j | y_t = i); a row never visited is NaN
    counts: np.ndarray  # (K, K) the transition counts
    switches: float  # mean number of t with y_{t+1} != y_t, per sequence


def check_one_hot(name: str, seqs, n_symbols: int | None = None, owner: str = "emission_stats") -> torch.Tensor:
    """``seqs`` as a float tensor (B, T, K) after checking that every step holds exactly one 1."""
    x = torch.as_tensor(seqs).detach()
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ParameterError(f"Parameter {name!r} of {owner} must be one-hot sequences (B, T, K), got shape "
                             f"{tuple(x.shape)}.")
    if n_symbols is not None and x.shape[2] != n_symbols:
        raise ParameterError(f"Parameter {name!r} of {owner} must have {n_symbols} symbols (last axis), "
                             f"got {x.shape[2]}.")
    x = x.to(torch.float64)
    if not bool(((x == 0) | (x == 1)).all()) or not bool((x.sum(-1) == 1).all()):
        raise ParameterError(f"Parameter {name!r} of {owner} must be one-hot: every step a single 1 and zeros.")
    return x


def emission_stats(seqs, n_symbols: int | None = None) -> EmissionStats:
    """Frequencies, the symbol-transition matrix and switches per sequence of one-hot ``seqs`` (B, T, K)."""
    x = check_one_hot("seqs", seqs, n_symbols)
    freq = x.mean((0, 1))
    counts = torch.einsum("bti,btj->ij", x[:, :-1], x[:, 1:])
    rows = counts.sum(1, keepdim=True)
    trans = torch.where(rows > 0, counts / rows.clamp_min(1), torch.full_like(counts, float("nan")))
    switches = (x[:, 1:] != x[:, :-1]).any(-1).sum(1).double().mean()
    return EmissionStats(freq.numpy(), trans.numpy(), counts.numpy(), float(switches))


def max_frequency_error(a: EmissionStats, b: EmissionStats) -> float:
    return float(np.abs(a.frequencies - b.frequencies).max())


def max_transition_error(a: EmissionStats, b: EmissionStats, reference_freq: np.ndarray,
                         min_freq: float = 0.05) -> float:
    """The largest |Δ| of transition entries over the rows whose symbol has reference frequency ≥ ``min_freq``
    (a rare symbol's row is estimated from too few steps to compare). A row the other never visits counts as 1."""
    rows = np.asarray(reference_freq) >= min_freq
    d = np.abs(a.transitions[rows] - b.transitions[rows])
    return float(np.nan_to_num(d, nan=1.0).max())


def residency_time(model, states, n_continuations: int = 20, cap: int = 50, noise_scale: float = 1.0,
                   generator: torch.Generator | int | None = 0, gain: torch.Tensor | None = None) -> torch.Tensor:
    """Mean steps until the readout's argmax symbol changes, from each state in ``states`` (N, H).

    Each state is continued ``n_continuations`` times with fresh noise for ``cap`` steps (all at once: one
    batch of N × n_continuations); a continuation that never changes symbol counts ``cap``. The noise is
    drawn from ``generator`` (a seed or a ``torch.Generator``) as (N, n_continuations, cap, n_noise).
    """
    h = torch.as_tensor(states)
    if h.ndim != 2 or h.shape[1] != model.n_hidden:
        raise ParameterError(f"Parameter 'states' of residency_time must be (N, {model.n_hidden}), "
                             f"got {tuple(h.shape)}.")
    n_continuations = check_value("n_continuations", n_continuations, (int, 1, None), "residency_time")
    cap = check_value("cap", cap, (int, 1, None), "residency_time")
    gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
    N, R = h.shape[0], n_continuations
    xi = torch.randn(N, R, cap, model.n_noise, generator=gen) * noise_scale
    with torch.no_grad():
        h = h.to(model.W_hh.device, model.W_hh.dtype)
        start = (h @ model.W_out.T).argmax(-1)  # (N,)
        hs = model.hidden(xi.reshape(N * R, cap, -1).to(h.device), h.repeat_interleave(R, 0), gain)
        sym = (hs @ model.W_out.T).argmax(-1).reshape(N, R, cap)
        changed = sym != start[:, None, None]
        first = torch.where(changed.any(-1), changed.float().argmax(-1) + 1, torch.full_like(sym[..., 0], cap))
    return first.double().mean(1).cpu()


def residency_class(times) -> np.ndarray:
    """0 for fast (< 2 steps), 1 for intermediate (2–8), 2 for slow (> 8), as the official residency plot."""
    t = np.asarray(times)
    return np.where(t < 2, 0, np.where(t <= 8, 1, 2))
