"""The cue-delay-stimulus task: a cue, then after a delay one of several stimuli with set probabilities.

Every trial starts from rest and lasts ``trial_ms``. At ``cue_onset`` a cue drives its own neurons for
``cue_ms``; ``delay`` ms after the cue's onset one of ``K`` stimuli drives its own neurons for ``stim_ms``.
Stimulus ``k`` comes with probability ``p_k``, *balanced* in every block of ``block`` trials: each block
holds exactly ``round(p_k * block)`` trials of stimulus ``k`` in a shuffled order (10/5/3/2 of 20 for the
default p = 0.5/0.25/0.15/0.1), so the realized frequencies equal p. At trial ``change_trial`` the task
changes: the delay goes from ``delay_before`` to ``delay_after`` (400 -> 600 ms) and p is reversed.

Probe trials carry the cue alone: what the readouts predict is read there, where no stimulus can tell
them what came (see :mod:`labkit.spiking.reservoir_prediction.readouts`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.core.params import ParameterError, check_args, check_value

DEFAULT_PROBS = (0.5, 0.25, 0.15, 0.1)


def parse_probs(probs, name: str = "probs", owner: str = "TaskSpec") -> tuple:
    """Probabilities as a tuple of floats, from a sequence or a comma-separated string; each >= 0 and their
    sum 1 within 1e-6."""
    if isinstance(probs, str):
        try:
            probs = [float(x) for x in probs.split(",") if x.strip()]
        except ValueError:
            raise ParameterError(f"Parameter {name!r} of {owner} must be comma-separated numbers, got {probs!r}.") \
                from None
    vals = tuple(float(p) for p in np.atleast_1d(np.asarray(probs, dtype=np.float64)))
    if len(vals) < 2:
        raise ParameterError(f"Parameter {name!r} of {owner} must give at least two probabilities, got {vals}.")
    if any(not np.isfinite(p) or p < 0 for p in vals):
        raise ParameterError(f"Parameter {name!r} of {owner} must hold non-negative probabilities, got {vals}.")
    if abs(sum(vals) - 1.0) > 1e-6:
        raise ParameterError(f"Parameter {name!r} of {owner} must sum to 1 (within 1e-6), got sum {sum(vals):.6g}.")
    return vals


@dataclass(frozen=True)
class TaskSpec:
    """The task's timing (ms) and statistics; see the module docstring."""

    n_trials: int = 160
    change_trial: int = 80
    delay_before: float = 400.0
    delay_after: float = 600.0
    probs: tuple = DEFAULT_PROBS
    trial_ms: float = 800.0
    cue_onset: float = 100.0
    cue_ms: float = 50.0
    stim_ms: float = 50.0
    block: int = 20

    def __post_init__(self):
        own = "TaskSpec"
        object.__setattr__(self, "probs", parse_probs(self.probs, "probs", own))
        check_args(own, vars(self), {
            "n_trials": (int, 2, None), "block": (int, 1, None), "trial_ms": (float, 0, None, "neither"),
            "cue_onset": (float, 0, None), "cue_ms": (float, 0, None, "neither"),
            "stim_ms": (float, 0, None, "neither")})
        check_value("change_trial", self.change_trial, (int, 1, self.n_trials - 1), own)
        room = self.trial_ms - self.cue_onset - self.stim_ms     # the stimulus must end inside the trial
        for name in ("delay_before", "delay_after"):
            d = getattr(self, name)
            if not isinstance(d, (int, float)) or not np.isfinite(d) or d <= 0 or d > room:
                raise ParameterError(f"Parameter {name!r} of {own} must be > 0 ms and at most trial_ms - cue_onset - "
                                     f"stim_ms = {room:g} ms (the stimulus must end inside the trial), got {d!r}.")

    @property
    def n_stimuli(self) -> int:
        return len(self.probs)

    def probs_at(self, trial: int) -> np.ndarray:
        """The probabilities in force at ``trial`` (reversed from ``change_trial`` on)."""
        p = np.asarray(self.probs)
        return p if trial < self.change_trial else p[::-1].copy()

    def delay_at(self, trial: int) -> float:
        return float(self.delay_before if trial < self.change_trial else self.delay_after)

    def delays(self) -> np.ndarray:
        """The delay of every trial, (n_trials,) ms."""
        return np.where(np.arange(self.n_trials) < self.change_trial, self.delay_before, self.delay_after)

    def onset_ms(self, delays) -> np.ndarray:
        """Stimulus onset within the trial for each delay (ms from the trial's start)."""
        return self.cue_onset + np.asarray(delays, dtype=np.float64)


def balanced_block(probs, block: int, rng: np.random.Generator) -> np.ndarray:
    """One block of ``block`` stimulus labels holding exactly ``round(p_k * block)`` of each ``k`` (largest
    remainders fill any rounding gap), in a random order."""
    p = np.asarray(probs, dtype=np.float64)
    raw = p * block
    counts = np.floor(raw).astype(int)
    short = block - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return rng.permutation(np.repeat(np.arange(len(p)), counts))


def schedule(spec: TaskSpec, n_replicates: int, seed: int = 0) -> np.ndarray:
    """The stimulus of every trial of every replicate, (n_replicates, n_trials) ints: balanced blocks of
    ``spec.block`` trials, restarted at the change so that each block has one set of probabilities."""
    check_value("n_replicates", n_replicates, (int, 1, None), "schedule")
    rng = np.random.default_rng(check_value("seed", seed, "seed", "schedule"))
    out = np.empty((n_replicates, spec.n_trials), dtype=np.int64)
    for start, stop in ((0, spec.change_trial), (spec.change_trial, spec.n_trials)):
        n_blocks = -(-(stop - start) // spec.block)
        p = spec.probs_at(start)
        for r in range(n_replicates):
            out[r, start:stop] = np.concatenate([balanced_block(p, spec.block, rng) for _ in range(n_blocks)])[
                : stop - start]
    return out
