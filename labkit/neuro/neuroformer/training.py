"""Pretraining (autoregressive or masked), cached with :func:`labkit.core.cache.checkpoint`, and sampling.

Every gradient loop goes through :func:`labkit.core.train.train`; a batch is ``batch_size`` windows drawn
at random from the training trials. :func:`generate` samples whole trials window by window: each window
reads the *generated* past (the first window's past is empty, as in the simulation), and its tokens are
drawn one at a time — the id from the id head, then an offset no earlier than the previous token's.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.cache import checkpoint
from labkit.core.device import resolve_device
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.neuro.neuroformer.model import Neuroformer, make_batch
from labkit.neuro.neuroformer.tokens import Tokens, tokenize

__all__ = ["build_model", "pretrain", "generate"]


def build_model(tokens: Tokens, *, d_model: int, n_layers: int, n_heads: int, causal: bool = True,
                n_ctx: int | None = None) -> Neuroformer:
    """A fresh model sized for ``tokens`` (context: its longest window plus a margin of a quarter)."""
    n_ctx = n_ctx or int(tokens.length.max() * 1.25) + 2
    nb = (tokens.prev + tokens.window) // tokens.dt_res
    return Neuroformer(tokens.n_neurons, tokens.n_dt, max(tokens.n_past_dt, 1), nb, n_ctx=n_ctx, d_model=d_model,
                       n_layers=n_layers, n_heads=n_heads, causal=causal)


def pretrain(tokens: Tokens, stimulus, train_trials, *, d_model: int = 32, n_layers: int = 1, n_heads: int = 2,
             steps: int = 300, batch_size: int = 32, lr: float = 3e-3, causal: bool = True, seed: int = 0,
             behavior: np.ndarray | None = None, behavior_weight: float = 0.0, name: str = "neuroformer",
             cache: bool = True, device="cpu"):
    """Train a model on the windows of ``train_trials``; return ``(model, losses)``. ``steps=0``: untrained.

    Joint training (the paper's spikes + behavior): with ``behavior`` (trials, ms) and ``behavior_weight > 0``
    the loss adds that weight times the squared error of a linear head on the window's features predicting
    the window's mean behavior (autoregressive models only). ``device``: where the training runs (``"auto"``
    picks CUDA, then MPS, then the CPU); the trained model is returned on the CPU, where the analyses run."""
    dev = resolve_device(device)
    torch.manual_seed(seed)
    model = build_model(tokens, d_model=d_model, n_layers=n_layers, n_heads=n_heads, causal=causal)
    rows = tokens.rows(np.asarray(train_trials))
    y = None
    if behavior_weight > 0:
        if behavior is None or np.shape(behavior)[0] != tokens.n_trials:
            raise ValueError(f"behavior must have one row per trial of the spikes ({tokens.n_trials}) for joint "
                             f"training, got {None if behavior is None else np.shape(behavior)}.")
        b = np.asarray(behavior)
        y = b[:, : tokens.n_windows * tokens.window].reshape(b.shape[0], tokens.n_windows, -1).mean(2).ravel()
    if steps == 0:
        return model, np.zeros(0)

    def build():
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(seed)
        m = build_model(tokens, d_model=d_model, n_layers=n_layers, n_heads=n_heads, causal=causal).to(dev)
        m.behavior_weight = float(behavior_weight)
        with threads(1, device=dev):
            losses = train(m, lambda s: m.loss(make_batch(tokens, rng.choice(rows, batch_size), stimulus, dev,
                                                          behavior=y), gen),
                           steps, lr=lr, clip=1.0, desc=name, name=name)
        return {"state": {k: v.cpu() for k, v in m.state_dict().items()}, "losses": torch.as_tensor(losses)}

    key = dict(ids=_digest(tokens), stim=_digest_arr(stimulus), trials=_digest_arr(np.asarray(train_trials)),
               d_model=d_model, n_layers=n_layers, n_heads=n_heads, steps=steps, batch_size=batch_size, lr=lr,
               causal=causal, seed=seed, n_ctx=model.n_ctx, behavior_weight=float(behavior_weight),
               behavior=None if y is None else _digest_arr(y), **({} if dev.type == "cpu" else {"device": dev.type}))
    out = checkpoint(name, key, build) if cache else build()
    model.load_state_dict(out["state"])
    model.behavior_weight = float(behavior_weight)
    model.eval()
    return model, np.asarray(out["losses"])


def _digest_arr(a) -> str:
    import hashlib
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def _digest(tokens: Tokens) -> str:
    return _digest_arr(np.concatenate([tokens.ids.ravel(), tokens.dt.ravel(), [tokens.window, tokens.prev,
                                                                             tokens.dt_res]]))


@torch.no_grad()
def generate(model: Neuroformer, n_trials: int, trial_length: int, stimulus, *, window: int, prev: int,
             dt_res: int, seed: int = 0, temperature: float = 1.0):
    """Sample ``n_trials`` trials (events ``trial, time, neuron``) window by window (module docstring)."""
    if not model.causal:
        raise ValueError("model: generate needs an autoregressive model (causal=True), got a masked one.")
    g = torch.Generator().manual_seed(seed)
    n, n_dt = model.n, model.n_dt
    events = [np.zeros(0, np.int64)] * 3
    n_win = trial_length // window
    with threads(1):
        for w in range(n_win):
            tk = tokenize(*events, n_trials=n_trials, n_neurons=n, trial_length=(w + 1) * window, window=window,
                          prev=prev, dt_res=dt_res)
            b = make_batch(tk, np.arange(n_trials) * (w + 1) + w, stimulus)      # window w of each trial
            ctx, mask = model.context(b)
            ids = torch.zeros(n_trials, 0, dtype=torch.long)
            dts = torch.zeros(n_trials, 0, dtype=torch.long)
            done = torch.zeros(n_trials, dtype=torch.bool)
            last = torch.zeros(n_trials, dtype=torch.long)
            for _ in range(model.n_ctx - 1):
                logits, cache = model.run(model.inputs(ids, dts), ctx, mask)
                p_id = torch.softmax(logits[:, -1, : n + 1] / temperature, -1)
                nid = torch.multinomial(p_id, 1, generator=g)[:, 0]
                dl = model.dt_head(cache["ln_final.hook_normalized"][:, -1]) / temperature
                dl = dl.masked_fill(torch.arange(n_dt)[None] < last[:, None], float("-inf"))
                ndt = torch.multinomial(torch.softmax(dl, -1), 1, generator=g)[:, 0]
                done = done | (nid == model.EOS)
                ids = torch.cat([ids, torch.where(done, -1, nid)[:, None]], 1)
                dts = torch.cat([dts, torch.where(done, -1, ndt)[:, None]], 1)
                last = torch.where(done, last, ndt)
                if bool(done.all()):
                    break
            r, c = torch.nonzero(ids >= 0, as_tuple=True)
            new = (r.numpy(), (w * window + dts[r, c] * dt_res).numpy(), ids[r, c].numpy())
            events = [np.concatenate([a, b_]) for a, b_ in zip(events, new)]
    order = np.lexsort((events[2], events[1], events[0]))
    return tuple(np.asarray(a[order], np.int64) for a in events)
