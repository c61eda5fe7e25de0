"""The drivers the notebook calls: train a noise-driven RNN to emit an HMM's sequences, and compare them.

Training (official ``scripts/rnn.py``): each step, a batch of RNN sequences (fresh noise, hard
Gumbel-softmax symbols) and a batch of fresh HMM sequences, each flattened to (batch, length × 3), are
compared by the debiased Sinkhorn divergence (p = 2, blur 0.2); Adam (lr 1e-3, betas 0.9/0.9), gradient
norm clipped at 0.9. Every ``val_every`` steps the divergence on a fixed validation draw is measured and
the best parameters are kept (a pilot's transition error jumped between 0.03 and 0.2 from one step to
the next: the last step is not the one to keep).

``control = "untrained"`` (the notebook's negative control) takes no training step: the RNN keeps its
initial weights; data, analyses and figures stay as they are.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.cache import checkpoint
from labkit.core.device import resolve_device
from labkit.core.params import check_args
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.dynamics.common import Snapshots
from labkit.dynamics.rnn_hmm.hmm import HMMSpec
from labkit.dynamics.rnn_hmm.model import NoiseRNN
from labkit.dynamics.rnn_hmm.sinkhorn import sinkhorn_divergence
from labkit.dynamics.rnn_hmm.stats import EmissionStats, emission_stats

CONTROLS = ("none", "untrained")
CODE_VERSION = "rnn_hmm-1"


@dataclass
class Trained:
    model: NoiseRNN
    loss: np.ndarray  # (steps,) training divergence
    val_steps: np.ndarray
    val_loss: np.ndarray
    best_step: int  # -1: the initial weights
    snap_steps: list  # steps of the weight snapshots (-1: before training)
    snapshots: dict  # step -> {"W_in", "W_hh", "W_out"} (CPU tensors)


def snapshot_steps(steps: int, n: int = 4) -> list[int]:
    """-1 (before training), then ``n - 1`` roughly log-spaced steps ending at the last."""
    later = np.unique(np.round(np.geomspace(10, steps, max(n - 1, 1))).astype(int)) - 1
    return [-1] + later.tolist()


def _build(hmm: HMMSpec, n_hidden, n_noise, length, batch, steps, lr, blur, val_every, seed, device, control):
    dev = resolve_device(device)
    model = NoiseRNN(n_noise, n_hidden, hmm.n_symbols, seed=seed).to(dev)
    gen = torch.Generator().manual_seed(seed + 1)  # noise and Gumbel draws
    data = torch.Generator().manual_seed(seed + 2)  # HMM training batches
    val_target = hmm.sample(batch, length, seed + 3, device=dev).symbols.reshape(batch, -1)
    val_noise = model.noise(batch, length, torch.Generator().manual_seed(seed + 4))

    def val_loss() -> float:
        with torch.no_grad():
            out = model(val_noise, generator=torch.Generator().manual_seed(seed + 5)).symbols
            return float(sinkhorn_divergence(out.reshape(batch, -1), val_target, blur))

    snaps = snapshot_steps(steps)
    snap = Snapshots(model, lambda m: {}, snaps, weights=["W_in", "W_hh", "W_out"]).take_initial()
    best = {"loss": val_loss(), "step": -1, "state": copy.deepcopy(model.state_dict())}
    v_steps, v_loss = [-1], [best["loss"]]

    def validate(step, loss):
        if (step + 1) % val_every == 0 or step == steps - 1:
            v = val_loss()
            v_steps.append(step)
            v_loss.append(v)
            if v < best["loss"]:
                best.update(loss=v, step=step, state=copy.deepcopy(model.state_dict()))

    def loss_fn(step):
        target = hmm.sample(batch, length, data, device=dev).symbols.reshape(batch, -1)
        out = model(model.noise(batch, length, gen), generator=gen).symbols
        return sinkhorn_divergence(out.reshape(batch, -1), target, blur)

    history = np.zeros(0)
    if control == "none":
        opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.9))
        history = train(model, loss_fn, steps, optimizer=opt, clip=0.9, callbacks=[snap, validate],
                        check_every=25, desc=f"RNN on the {hmm.name}", name="RNN-HMM training")
    return {
        "state": {k: v.cpu() for k, v in best["state"].items()},
        "loss": torch.as_tensor(history),
        "val_steps": torch.as_tensor(v_steps),
        "val_loss": torch.as_tensor(v_loss),
        "best_step": best["step"],
        "snap_steps": torch.as_tensor(sorted(snap.weights)),
        "snapshots": {str(k): v for k, v in snap.weights.items()},
    }


def train_rnn(hmm: HMMSpec, n_hidden: int = 50, n_noise: int = 20, length: int = 30, batch: int = 256,
              steps: int = 1500, *, lr: float = 1e-3, blur: float = 0.2, val_every: int = 25, seed: int = 0,
              device="auto", control: str = "none", cache: bool = True) -> Trained:
    """Train a :class:`NoiseRNN` to emit ``hmm``'s sequences; return the best-validation model (cached)."""
    v = check_args(
        "train_rnn",
        dict(n_hidden=n_hidden, n_noise=n_noise, length=length, batch=batch, steps=steps, lr=lr, blur=blur,
             val_every=val_every, seed=seed, control=control),
        dict(n_hidden=(int, 1, None), n_noise=(int, 1, None), length=(int, 2, None), batch=(int, 2, None),
             steps=(int, 1, None), lr=(float, 0.0, None, "neither"), blur=(float, 0.0, None, "neither"),
             val_every=(int, 1, None), seed="seed", control=list(CONTROLS)),
    )
    dev = resolve_device(device)
    key = dict(v, A=hmm.A.tolist(), E=hmm.E.tolist(), device=dev.type)

    def build():
        with threads(device=dev):
            return _build(hmm, device=dev, **v)

    res = checkpoint("rnn_hmm", key, build, code=CODE_VERSION) if cache else build()
    model = NoiseRNN(n_noise, n_hidden, hmm.n_symbols).to(dev)
    model.load_state_dict(res["state"])
    model.eval()
    return Trained(model, np.asarray(res["loss"]), np.asarray(res["val_steps"]), np.asarray(res["val_loss"]),
                   int(res["best_step"]), [int(s) for s in res["snap_steps"]],
                   {int(k): w for k, w in res["snapshots"].items()})


def with_weights(weights: dict, device="cpu") -> NoiseRNN:
    """A :class:`NoiseRNN` holding the given ``W_in``, ``W_hh``, ``W_out`` (a snapshot)."""
    H, n = weights["W_in"].shape
    m = NoiseRNN(n, H, weights["W_out"].shape[0]).to(device)
    m.load_state_dict({k: torch.as_tensor(w) for k, w in weights.items()})
    return m.eval()


def sample_rnn(model: NoiseRNN, n: int, length: int, seed: int = 0, noise_scale: float = 1.0, gain=None):
    """``n`` sequences from the RNN (symbols and hidden states), drawn from one seed."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return model(model.noise(n, length, gen, noise_scale), generator=gen, gain=gain)


def compare_stats(model: NoiseRNN, hmm: HMMSpec, n_seq: int = 2000, length: int = 30,
                  seed: int = 0) -> tuple[EmissionStats, EmissionStats]:
    """Emission statistics of ``n_seq`` HMM and RNN sequences (each from its own fresh seed)."""
    h = emission_stats(hmm.sample(n_seq, length, seed + 101).symbols)
    r = emission_stats(sample_rnn(model, n_seq, length, seed + 102).symbols.cpu())
    return h, r
