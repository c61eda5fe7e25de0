"""Few-shot decoding of behavior, and the statistics that compare generated spikes with held-out ones.

Few-shot (the paper's "few-shot fine-tuning"): a ridge head on *frozen* pretrained features of each window,
fit on the windows of ``k`` labelled trials; the same architecture trained from scratch on those trials
(all weights, mean-squared error on the window's behavior); and ridge on the window's binned spike counts
(the window and its ``prev`` ms of past, in ``window``-ms bins). R^2 on held-out trials.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.threads import threads
from labkit.core.train import train
from labkit.neuro.neuroformer.model import make_batch
from labkit.neuro.neuroformer.tokens import Tokens
from labkit.neuro.neuroformer.training import build_model

__all__ = ["window_behavior", "window_features", "ridge_fit_predict", "r2", "count_features", "scratch_predict",
           "rates_hz", "psth", "check_budget"]


def window_behavior(behavior: np.ndarray, window: int) -> np.ndarray:
    """The behavior averaged over each window, flattened trial-major (trials * windows,)."""
    b = np.asarray(behavior)
    return b[:, : (b.shape[1] // window) * window].reshape(b.shape[0], -1, window).mean(2).ravel()


@torch.no_grad()
def window_features(model, tokens: Tokens, stimulus, rows, batch_size: int = 512) -> np.ndarray:
    """The frozen features (rows, d_model) of windows."""
    rows = np.asarray(rows)
    with threads(1):
        return np.concatenate([model.features(make_batch(tokens, rows[s:s + batch_size], stimulus)).numpy()
                               for s in range(0, rows.size, batch_size)])


def count_features(counts: np.ndarray, window: int, prev: int) -> np.ndarray:
    """Per window: spike counts of the window and of the ``prev // window`` windows before it, (S, N * k)."""
    x = np.asarray(counts)
    T, n_w = x.shape[1], x.shape[1] // window
    binned = x[:, : n_w * window].reshape(x.shape[0], n_w, window, -1).sum(2)          # (trials, windows, N)
    k = prev // window
    padded = np.concatenate([np.zeros((x.shape[0], k, x.shape[2])), binned], 1)
    parts = [padded[:, k - j: k - j + n_w] for j in range(k + 1)]
    del T
    return np.concatenate(parts, 2).reshape(x.shape[0] * n_w, -1)


def ridge_fit_predict(x_train, y_train, x_test, alpha: float = 1.0) -> np.ndarray:
    """Ridge regression (features standardised on the training set, intercept unpenalised)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    w = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ (y_train - y_train.mean()))
    return b @ w + y_train.mean()


def r2(y, pred) -> float:
    y, pred = np.asarray(y), np.asarray(pred)
    return float(1.0 - ((y - pred) ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-12))


def scratch_predict(tokens: Tokens, stimulus, y_rows: np.ndarray, train_rows, test_rows, *, d_model: int,
                    n_layers: int, n_heads: int, steps: int, lr: float, seed: int) -> np.ndarray:
    """Train the same architecture from scratch (features -> linear head, all weights, MSE) on
    ``train_rows``; return its predictions on ``test_rows``."""
    torch.manual_seed(seed)
    model = build_model(tokens, d_model=d_model, n_layers=n_layers, n_heads=n_heads)
    head = torch.nn.Linear(d_model, 1)
    y = torch.as_tensor(y_rows, dtype=torch.float32)
    train_rows = np.asarray(train_rows)
    batch = make_batch(tokens, train_rows, stimulus)
    target = y[torch.as_tensor(train_rows)]

    def loss(_):
        return ((head(model.features(batch))[:, 0] - target) ** 2).mean()

    with threads(1):
        train(list(model.parameters()) + list(head.parameters()), loss, steps, lr=lr, weight_decay=0.01,
              desc="scratch", name="scratch")
        model.eval()
        with torch.no_grad():
            return head(torch.as_tensor(window_features(model, tokens, stimulus, test_rows)))[:, 0].numpy()


def check_budget(k: int, n_labelled: int) -> None:
    if k > n_labelled:
        raise ValueError(f"shots: a few-shot budget of {k} trials is more than the {n_labelled} labelled trials.")


def rates_hz(counts: np.ndarray) -> np.ndarray:
    """Mean rate of each neuron (Hz) over trials and time; counts (trials, ms, neurons)."""
    return np.asarray(counts).mean((0, 1)) * 1000.0


def psth(counts: np.ndarray, bin_ms: int = 25) -> np.ndarray:
    """Trial-averaged rate (Hz) in ``bin_ms`` bins, (bins, neurons)."""
    x = np.asarray(counts)
    nb = x.shape[1] // bin_ms
    return x[:, : nb * bin_ms].reshape(x.shape[0], nb, bin_ms, -1).mean((0, 2)) * 1000.0
