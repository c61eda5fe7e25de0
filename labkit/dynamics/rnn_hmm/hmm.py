"""The hidden Markov models the RNN learns to emulate, sampled in torch with their truth.

Three kinds, as in the official code (``scripts/hmm.py``, ``scripts/config.py``), each emitting one of
3 symbols per step:

* ``"chain"``: an M-state linear chain; each state moves to each neighbour with q = 0.05^{1/(M−1)}
  (an end state stays with 1 − q); state i emits [0.99(1−α), 0.01, 0.99α] with α = i/(M−1).
* ``"cycle"``: 4 states on a ring (stay 0.95, 0.025 to each neighbour), the linear emissions of M = 4.
* ``"fully"``: 3 fully connected states (stay 0.95), emitting their own symbol with 0.98.

The start distribution is uniform, which is stationary for all three (their transition matrices are
doubly stochastic), so every time step has the same symbol law.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value

KINDS = ("chain", "cycle", "fully")


def _check_stochastic(name: str, M: np.ndarray, owner: str) -> np.ndarray:
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] < 1 or M.shape[1] < 1 or not np.all(np.isfinite(M)):
        raise ParameterError(f"Parameter {name!r} of {owner} must be a finite matrix, got shape {M.shape}.")
    if (M < 0).any():
        raise ParameterError(f"Parameter {name!r} of {owner} must have no negative entries, got min {M.min():.3g}.")
    sums = M.sum(1)
    if not np.allclose(sums, 1.0, atol=1e-8):
        raise ParameterError(
            f"Parameter {name!r} of {owner} must have rows summing to 1, got row sums {np.round(sums, 6).tolist()}."
        )
    return M


def chain_matrices(n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """Transition and emission matrices of the official M-state linear chain (``target_prob`` 0.05)."""
    M = check_value("n_states", n_states, (int, 2, None), "chain_matrices")
    q = 0.05 ** (1 / (M - 1))
    A = np.zeros((M, M))
    i = np.arange(M)
    A[i[:-1], i[:-1] + 1] = q
    A[i[1:], i[1:] - 1] = q
    A[i, i] = 1 - A.sum(1)
    alpha = i / (M - 1)
    E = np.stack([0.99 * (1 - alpha), np.full(M, 0.01), 0.99 * alpha], axis=1)
    return A, E


def cycle_matrices() -> tuple[np.ndarray, np.ndarray]:
    """The 4-state cycle: stay 0.95, 0.025 to each neighbour on the ring; the chain's linear emissions."""
    A = 0.95 * np.eye(4) + 0.025 * (np.roll(np.eye(4), 1, axis=1) + np.roll(np.eye(4), -1, axis=1))
    return A, chain_matrices(4)[1]


def fully_matrices() -> tuple[np.ndarray, np.ndarray]:
    """3 fully connected states (stay 0.95, 0.025 to each other); state i emits symbol i with 0.98."""
    A = np.full((3, 3), 0.025) + 0.925 * np.eye(3)
    E = np.full((3, 3), 0.01) + 0.97 * np.eye(3)
    return A, E


@dataclass
class HMMSample:
    """Sampled sequences and their truth: ``symbols`` one-hot (B, T, K) float, ``states`` (B, T) long."""

    symbols: torch.Tensor
    states: torch.Tensor


class HMMSpec:
    """A categorical HMM with its transition matrix ``A`` (S, S), emissions ``E`` (S, K) and a uniform start.

    ``HMMSpec.chain(2)``, ``HMMSpec.cycle()``, ``HMMSpec.fully()`` build the official kinds;
    ``HMMSpec(A, E)`` any other (checked: non-negative, rows summing to 1, E with one row per state).
    """

    def __init__(self, A, E, name: str = "custom"):
        self.A = _check_stochastic("A", A, "HMMSpec")
        if self.A.shape[0] != self.A.shape[1]:
            raise ParameterError(f"Parameter 'A' of HMMSpec must be square (states x states), got {self.A.shape}.")
        E = np.asarray(E, dtype=np.float64)
        if E.ndim != 2 or E.shape[0] != self.A.shape[0]:
            raise ParameterError(
                f"Parameter 'E' of HMMSpec must have one row per state ({self.A.shape[0]}, symbols), "
                f"got shape {E.shape}."
            )
        self.E = _check_stochastic("E", E, "HMMSpec")
        self.name = name

    @classmethod
    def chain(cls, n_states: int = 2) -> HMMSpec:
        return cls(*chain_matrices(n_states), name=f"{n_states}-state chain")

    @classmethod
    def cycle(cls) -> HMMSpec:
        return cls(*cycle_matrices(), name="4-state cycle")

    @classmethod
    def fully(cls) -> HMMSpec:
        return cls(*fully_matrices(), name="3-state fully connected")

    @classmethod
    def make(cls, kind: str, n_states: int = 2) -> HMMSpec:
        check_value("kind", kind, list(KINDS), "HMMSpec.make")
        return cls.chain(n_states) if kind == "chain" else cls.cycle() if kind == "cycle" else cls.fully()

    @property
    def n_states(self) -> int:
        return self.A.shape[0]

    @property
    def n_symbols(self) -> int:
        return self.E.shape[1]

    @property
    def start(self) -> np.ndarray:
        return np.full(self.n_states, 1 / self.n_states)

    def stationary(self) -> np.ndarray:
        """The stationary state distribution π (π A = π)."""
        w, v = np.linalg.eig(self.A.T)
        p = np.real(v[:, np.argmin(np.abs(w - 1))])
        return p / p.sum()

    def symbol_frequencies(self) -> np.ndarray:
        """The stationary symbol law π E."""
        return self.stationary() @ self.E

    def symbol_transitions(self) -> np.ndarray:
        """P(y_{t+1} = j | y_t = i) in the stationary regime: Σ P(s | y=i) A[s, s'] E[s', j] (closed form)."""
        joint = self.stationary()[:, None] * self.E  # P(s, y)
        post = joint / joint.sum(0, keepdims=True)  # P(s | y), columns
        return post.T @ self.A @ self.E

    def sample(self, n: int, length: int, seed: int | torch.Generator = 0, device="cpu") -> HMMSample:
        """``n`` sequences of ``length`` steps (vectorised over sequences; one loop over time)."""
        n = check_value("n", n, (int, 1, None), "HMMSpec.sample")
        length = check_value("length", length, (int, 1, None), "HMMSpec.sample")
        gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
        A = torch.as_tensor(self.A)
        E = torch.as_tensor(self.E)
        s = torch.multinomial(torch.as_tensor(self.start).expand(n, -1), 1, generator=gen)[:, 0]
        u = torch.rand(n, length, generator=gen, dtype=torch.float64)
        v = torch.rand(n, length, generator=gen, dtype=torch.float64)
        cA, cE = A.cumsum(1), E.cumsum(1)
        states = torch.empty(n, length, dtype=torch.long)
        for t in range(length):  # the Markov chain forces a loop over time
            if t > 0:
                s = torch.searchsorted(cA[s], u[:, t : t + 1].contiguous())[:, 0].clamp_max(self.n_states - 1)
            states[:, t] = s
        y = torch.searchsorted(cE[states], v[..., None])[..., 0].clamp_max(self.n_symbols - 1)
        symbols = torch.nn.functional.one_hot(y, self.n_symbols).float()
        return HMMSample(symbols.to(device), states.to(device))
