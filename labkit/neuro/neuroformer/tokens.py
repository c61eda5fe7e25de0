"""Spikes as tokens, the Neuroformer way (Antoniades et al. 2024, ``model_neuroformer.py``).

Each trial is cut into windows of ``window`` ms. Each spike in a window is one token: its neuron id and
its time offset from the window's start in bins of ``dt_res`` ms. The window's tokens (in time order,
ties by neuron id) are the sequence the model generates; the spikes of the previous ``prev`` ms are its
*past* (offsets in ``dt_res`` bins from ``start - prev``), which it reads by cross-attention. The paper's
V1-AL configuration: a 50 ms window, 150 ms of past, 10 ms offset bins.

:func:`detokenize` is the exact inverse of :func:`tokenize` on spikes whose times are multiples of
``dt_res`` (the token keeps the offset bin, so finer times come back at the start of their bin).
Everything is built with array operations over events, no loop over spikes or windows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.core.params import ParameterError, check_args

__all__ = ["Tokens", "tokenize", "detokenize", "check_events"]


@dataclass
class Tokens:
    """Padded token arrays, one row per window (``S = n_trials * n_windows``, trial-major).

    ``ids``/``dt`` (S, L): the window's neuron ids and offset bins (``ids = -1`` past ``length``);
    ``past_ids``/``past_dt`` (S, Lp): the past's; ``length``/``past_length`` (S,); ``trial``/``index`` (S,):
    the window's trial and place in it.
    """

    ids: np.ndarray
    dt: np.ndarray
    length: np.ndarray
    past_ids: np.ndarray
    past_dt: np.ndarray
    past_length: np.ndarray
    trial: np.ndarray
    index: np.ndarray
    n_neurons: int
    n_trials: int
    trial_length: int
    window: int
    prev: int
    dt_res: int

    @property
    def n_windows(self) -> int:
        return self.trial_length // self.window

    @property
    def n_dt(self) -> int:
        return self.window // self.dt_res

    @property
    def n_past_dt(self) -> int:
        return self.prev // self.dt_res

    def rows(self, trials) -> np.ndarray:
        """The row numbers of the windows of ``trials``."""
        t = np.asarray(trials)[:, None] * self.n_windows + np.arange(self.n_windows)[None]
        return t.ravel()


def check_events(trial, time, neuron, n_trials: int, n_neurons: int, trial_length: int):
    """Events as int64 arrays, or a ValueError naming the argument at fault."""
    check_args("tokenize", dict(n_trials=n_trials, n_neurons=n_neurons, trial_length=trial_length),
               {"n_trials": (int, 1, None), "n_neurons": (int, 1, None), "trial_length": (int, 1, None)})
    arrays = []
    for name, a in (("trial", trial), ("time", time), ("neuron", neuron)):
        a = np.asarray(a)
        if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
            raise ValueError(f"{name} must be a 1-D array of integers, got shape {a.shape} and dtype {a.dtype}.")
        arrays.append(a.astype(np.int64))
    trial, time, neuron = arrays
    if not (trial.size == time.size == neuron.size):
        raise ValueError(f"trial, time and neuron must have one length, got {trial.size}, {time.size}, {neuron.size}.")
    for name, a, hi in (("trial", trial, n_trials), ("time", time, trial_length), ("neuron", neuron, n_neurons)):
        if a.size and (a.min() < 0 or a.max() >= hi):
            bad = a.min() if a.min() < 0 else a.max()
            what = {"time": "spike times", "neuron": "neuron ids", "trial": "trial numbers"}[name]
            raise ValueError(f"{name}: {what} must lie in [0, {hi}), got {bad}.")
    return trial, time, neuron


def _pad(row, rank, values, n_rows):
    width = int(rank.max()) + 1 if rank.size else 1
    out = np.full((n_rows, width), -1, np.int64)
    out[row, rank] = values
    return out


def _rank(row):
    """Place of each event within its row (events already grouped by row, in order)."""
    if row.size == 0:
        return row
    first = np.searchsorted(row, row, side="left")
    return np.arange(row.size) - first


def tokenize(trial, time, neuron, *, n_trials: int, n_neurons: int, trial_length: int, window: int = 50,
             prev: int = 150, dt_res: int = 10) -> Tokens:
    """Windows of tokens (see the module docstring) from spike events (``trial``, ``time`` in ms, ``neuron``)."""
    check_args("tokenize", dict(window=window, prev=prev, dt_res=dt_res),
               {"window": (int, 1, None), "prev": (int, 0, None), "dt_res": (int, 1, None)})
    if n_trials is not None and isinstance(n_trials, int) and n_trials < 1:
        raise ValueError("n_trials: there are no trials to tokenize (n_trials must be at least 1).")
    trial, time, neuron = check_events(trial, time, neuron, n_trials, n_neurons, trial_length)
    if window % dt_res:
        raise ParameterError(f"Parameter 'window' of tokenize must be a multiple of dt_res={dt_res}, got {window}.")
    if prev % dt_res:
        raise ParameterError(f"Parameter 'prev' of tokenize must be a multiple of dt_res={dt_res}, got {prev}.")
    if trial_length % window:
        raise ParameterError(f"Parameter 'trial_length' of tokenize must be a multiple of window={window}, "
                             f"got {trial_length}.")
    n_win = trial_length // window
    n_rows = n_trials * n_win
    order = np.lexsort((neuron, time, trial))                           # true time order, ties by id
    trial, time, neuron = trial[order], time[order], neuron[order]
    # the current window of every spike
    row = trial * n_win + time // window
    rank = _rank(row)
    ids = _pad(row, rank, neuron, n_rows)
    dt = np.where(ids >= 0, _pad(row, rank, (time % window) // dt_res, n_rows), -1)
    length = np.bincount(row, minlength=n_rows)
    # the past: a spike at t is in the past of every later window w with start - prev <= t < start
    reach = -(-prev // window)
    w_of = time // window
    k = np.arange(1, reach + 1)
    w = w_of[:, None] + k[None]                                        # (events, reach)
    start = w * window
    ok = (w < n_win) & (time[:, None] >= start - prev)
    ev, kk = np.nonzero(ok)
    prow = trial[ev] * n_win + w[ev, kk]
    pbin = (time[ev] - (start[ev, kk] - prev)) // dt_res
    porder = np.lexsort((neuron[ev], pbin, prow))
    prow, pbin, pneu = prow[porder], pbin[porder], neuron[ev][porder]
    prank = _rank(prow)
    past_ids = _pad(prow, prank, pneu, n_rows)
    past_dt = np.where(past_ids >= 0, _pad(prow, prank, pbin, n_rows), -1)
    past_length = np.bincount(prow, minlength=n_rows)
    rows = np.arange(n_rows)
    return Tokens(ids, dt, length, past_ids, past_dt, past_length, rows // n_win, rows % n_win, int(n_neurons),
                  int(n_trials), int(trial_length), int(window), int(prev), int(dt_res))


def detokenize(tokens: Tokens):
    """The spike events (``trial``, ``time``, ``neuron``, sorted by trial, time, neuron) of the windows' tokens."""
    if not isinstance(tokens, Tokens):
        raise ValueError(f"tokens must be a Tokens (from tokenize), got {type(tokens).__name__}.")
    r, c = np.nonzero(tokens.ids >= 0)
    trial = tokens.trial[r]
    time = tokens.index[r] * tokens.window + tokens.dt[r, c] * tokens.dt_res
    neuron = tokens.ids[r, c]
    order = np.lexsort((neuron, time, trial))
    return trial[order], time[order], neuron[order]
