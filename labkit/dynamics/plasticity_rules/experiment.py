"""The runs the notebook and the benchmark make: three credit-assignment rules on one classification task, and
fine-tuning, HLOP and exact projection on a stream of tasks.

``control="null"`` is the negative control: FA and CCL train their readout only (no credit reaches a hidden layer;
BP and the readout-only baseline are unchanged), and HLOP's and the exact projection's subspaces are replaced by
random ones of the same sizes (fine-tuning unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.data.datasets import Split
from labkit.dynamics.common import Snapshots
from labkit.dynamics.plasticity_rules.continual import (
    HebbianSubspace,
    OrthogonalProjection,
    RotatedDigits,
    StreamNet,
    acc_bwt,
    cross_entropy,
    exact_subspace,
    subspace_cos2,
)
from labkit.dynamics.plasticity_rules.rules import MLP, update_alignment

CONTROLS = ("none", "null")
RULE_NAMES = ("bp", "fa", "ccl", "readout")
STREAM_METHODS = ("finetune", "hlop", "exact")


def _check_labels(name: str, y: torch.Tensor, n_classes: int, owner: str) -> None:
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ParameterError(f"Parameter '{name}' of {owner} holds labels outside 0..{n_classes - 1} "
                             f"(found {int(y.min())}..{int(y.max())}).")


def _batches(n: int, batch: int, epochs: int, seed: int) -> tuple[torch.Tensor, int]:
    """Per-epoch shuffles: row e holds epoch e's sample order; ``per_epoch`` full batches each."""
    gen = torch.Generator().manual_seed(int(seed))
    per_epoch = max(n // batch, 1)
    return torch.stack([torch.randperm(n, generator=gen) for _ in range(epochs)]), per_epoch


def _sgd_fit(model, params, loss, x, y, *, lr, epochs, batch, seed, clip=None, optimizer=None, callbacks=(),
             name="training"):
    order, per_epoch = _batches(len(x), batch, epochs, seed)

    def loss_fn(step):
        e, b = divmod(step, per_epoch)
        idx = order[e, b * batch:(b + 1) * batch]
        return loss(x[idx], y[idx])

    opt = optimizer or torch.optim.SGD(params, lr=lr)
    return train(params, loss_fn, epochs * per_epoch, optimizer=opt, clip=clip, callbacks=callbacks,
                 desc=name, name=name), per_epoch


@dataclass
class RuleRun:
    """One rule's training: test accuracy and per-layer update alignment (cosine with BP) at every epoch end."""

    name: str
    model: MLP
    test_acc: np.ndarray          # (epochs + 1,): before training, then each epoch
    alignment: np.ndarray         # (epochs + 1, layers)
    loss: np.ndarray = field(repr=False, default=None)

    @property
    def final_acc(self) -> float:
        return float(self.test_acc[-1])


def train_rule(split: Split, sizes, rule: str, *, lr: float = 0.5, epochs: int = 100, batch: int = 64,
               clip: float = 1.0, seed: int = 0, readout_only: bool = False, name: str | None = None) -> RuleRun:
    """Train ``MLP(sizes, rule)`` by SGD on ``split`` (clipped at ``clip``, as CCL's official code), recording test
    accuracy and the update alignment on a fixed probe batch (256 training samples) at each epoch end."""
    check_value("epochs", epochs, (int, 1, None), "train_rule")
    check_value("batch", batch, (int, 1, None), "train_rule")
    check_value("lr", lr, (float, 0.0, None, "right"), "train_rule")
    _check_labels("split", split.y_train, sizes[-1], "train_rule")
    _check_labels("split", split.y_test, sizes[-1], "train_rule")
    if sizes[0] != split.n_features:
        raise ParameterError(f"Parameter 'sizes' of train_rule starts at {sizes[0]} but the data have "
                             f"{split.n_features} features.")
    model = MLP(sizes, rule, readout_only=readout_only, seed=seed)
    xp, yp = split.x_train[:256], split.y_train[:256]

    def probe(m):
        return {"acc": torch.tensor(m.accuracy(split.x_test, split.y_test)), "cos": update_alignment(m, xp, yp)}

    per_epoch = max(len(split.x_train) // batch, 1)
    snap = Snapshots(model, probe, [-1] + [(e + 1) * per_epoch - 1 for e in range(epochs)]).take_initial()
    params = [p for p in model.parameters() if p.requires_grad]
    with threads(1):
        loss, _ = _sgd_fit(model, params, model.loss, split.x_train, split.y_train, lr=lr, epochs=epochs,
                           batch=batch, seed=seed + 1, clip=clip, callbacks=[snap], name=name or rule)
    acts = [snap.activations[s] for s in snap.steps]
    return RuleRun(name or rule, model, np.array([float(a["acc"]) for a in acts]),
                   np.stack([a["cos"].numpy() for a in acts]), loss)


def credit_study(split: Split, sizes, *, lr=0.5, epochs=100, batch=64, seed=0, control="none") -> dict[str, RuleRun]:
    """BP, FA, CCL and the readout-only baseline on one split, from the same initial forward weights."""
    check_value("control", control, list(CONTROLS), "credit_study")
    null = control == "null"
    runs = {
        "bp": train_rule(split, sizes, "bp", lr=lr, epochs=epochs, batch=batch, seed=seed),
        "fa": train_rule(split, sizes, "fa", lr=lr, epochs=epochs, batch=batch, seed=seed, readout_only=null),
        "ccl": train_rule(split, sizes, "ccl", lr=lr, epochs=epochs, batch=batch, seed=seed, readout_only=null),
        "readout": train_rule(split, sizes, "bp", lr=lr, epochs=epochs, batch=batch, seed=seed, readout_only=True,
                              name="readout"),
    }
    return runs


@dataclass
class StreamRun:
    """One method on the task stream: ``acc[i, j]`` is task j's test accuracy after task i."""

    method: str
    acc: np.ndarray
    cos2: list = field(default_factory=list)    # HLOP: (task, layer, cos²) of Oja's new neurons vs the exact subspace
    dims: list = field(default_factory=list)    # protected dimensions per layer after each task

    @property
    def scores(self) -> tuple[float, float]:
        return acc_bwt(self.acc)


def _random_rows(k: int, d: int, old: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``k`` random orthonormal rows orthogonal to ``old``'s rows (the null control's stand-in subspace)."""
    v = torch.randn(d, k, generator=gen)
    if old.shape[0]:
        q = torch.linalg.qr(old.T)[0]
        v = v - q @ (q.T @ v)
    return torch.cat([old, torch.linalg.qr(v)[0].T])


def run_stream(stream: RotatedDigits, hidden=(256, 256), method: str = "hlop", *, lr: float = 0.05,
               epochs: int = 30, batch: int = 64, energy: float = 0.97, hebb_iters: int = 2000,
               hebb_lr: float = 0.08, seed: int = 0, control: str = "none") -> StreamRun:
    """Train one network on the tasks in turn by ``method``: "finetune" (plain SGD), "hlop" (gradients projected
    off the lateral neurons' subspaces; each task adds as many neurons per layer as the exact criterion at
    ``energy`` would) or "exact" (off the exact GPM subspaces). Biases learn on the first task only, as HLOP's."""
    check_value("method", method, list(STREAM_METHODS), "run_stream")
    check_value("control", control, list(CONTROLS), "run_stream")
    check_value("energy", energy, (float, 0.0, 1.0, "neither"), "run_stream")
    if stream.n_tasks < 1:
        raise ParameterError("Parameter 'stream' of run_stream holds no task.")
    n_classes = stream.split.n_classes
    _check_labels("stream", stream.split.y_train, n_classes, "run_stream")
    net = StreamNet([stream.dim, *hidden, n_classes], seed=seed)
    weights = [layer.weight for layer in net.layers]
    biases = [layer.bias for layer in net.layers]
    dims = [w.shape[1] for w in weights]
    hebb = HebbianSubspace(dims, lr=hebb_lr, iters=hebb_iters, seed=seed + 2)
    exact = [torch.zeros(d, 0) for d in dims]   # the exact subspaces (columns); HLOP's size follows them
    rows = [torch.zeros(0, d) for d in dims]    # the protected rows the projection uses
    gen = torch.Generator().manual_seed(seed + 3)
    tests = [stream.task(t)[2:] for t in range(stream.n_tasks)]
    acc = np.zeros((stream.n_tasks, stream.n_tasks))
    run = StreamRun(method, acc)
    for t in range(stream.n_tasks):
        x, y, _, _ = stream.task(t)
        if method == "finetune" or t == 0:
            opt = torch.optim.SGD(net.parameters(), lr=lr)
        else:
            opt = OrthogonalProjection(torch.optim.SGD(net.parameters(), lr=lr), dict(zip(weights, rows)), biases)
        with threads(1):
            _sgd_fit(net, list(net.parameters()), lambda a, b: cross_entropy(net, a, b), x, y, lr=lr, epochs=epochs,
                     batch=batch, seed=seed + 100 * t, optimizer=opt, name=f"{method} task {t + 1}")
        acc[t] = [net.accuracy(xt, yt) for xt, yt in tests]
        if method == "finetune" or t == stream.n_tasks - 1:
            continue
        with torch.no_grad():
            ins = net.layer_inputs(x)
        old = [e.shape[1] for e in exact]
        exact = [exact_subspace(a, energy, e) for a, e in zip(ins, exact)]
        new = [e.shape[1] - k for e, k in zip(exact, old)]
        if control == "null":
            rows = [_random_rows(k, r.shape[1], r, gen) for k, r in zip(new, rows)]
        elif method == "exact":
            rows = [e.T.contiguous() for e in exact]
        else:
            hebb.add(new)
            hebb.fit(ins)
            rows = hebb.bases()
        if method == "hlop":
            # the exact answer for the new neurons: the leading directions of what the old rows leave over
            for l, (a, r) in enumerate(zip(ins, rows)):
                k0 = r.shape[0] - new[l]
                if new[l]:
                    q = torch.linalg.qr(r[:k0].T.double())[0] if k0 else torch.zeros(a.shape[1], 0).double()
                    resid = a.double() - (a.double() @ q) @ q.T
                    top = torch.linalg.svd(resid, full_matrices=False).Vh[:new[l]]
                    run.cos2.append((t, l, subspace_cos2(r[k0:], top)))
        run.dims.append([r.shape[0] for r in rows])
    return run


def stream_study(stream: RotatedDigits, hidden=(256, 256), *, replicates: int = 3, seed: int = 0, **kw):
    """Each method on the stream, ``replicates`` times (initial weights and batch orders vary, the tasks do not)."""
    check_value("replicates", replicates, (int, 1, None), "stream_study")
    return {m: [run_stream(stream, hidden, m, seed=seed + 1000 * r, **kw) for r in range(replicates)]
            for m in STREAM_METHODS}


def stream_summary(runs: dict) -> dict:
    """Mean accuracy matrix, ACC and BWT per method, and HLOP's mean cos² against the exact subspaces."""
    out = {}
    for m, rs in runs.items():
        scores = np.array([r.scores for r in rs])
        out[m] = {"acc": np.mean([r.acc for r in rs], 0), "ACC": float(scores[:, 0].mean()),
                  "BWT": float(scores[:, 1].mean())}
    out["cos2"] = float(np.mean([c for r in runs["hlop"] for (_, _, c) in r.cos2]))
    return out
