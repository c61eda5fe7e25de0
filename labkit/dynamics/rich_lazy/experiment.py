"""The drivers the notebook calls: the rank x scale x replicate sweep of RNNs (one :class:`Ensemble`,
one training call), Saxe's closed form against a two-layer network, and the critical-period deficits.

``control = "untrained"`` (the notebook's negative control) trains with a learning rate of zero: data,
initialisations, measurements and figures stay as they are, and nothing is learned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import ParameterError, check_args, check_value
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.dynamics.common import (
    Ensemble,
    Snapshots,
    effective_rank,
    gram,
    kernel_alignment,
    tangent_kernel,
    weight_change,
)
from labkit.dynamics.rich_lazy import linear
from labkit.dynamics.rich_lazy.rnn import ReluRNN, accuracy, aligned_recurrent_init, task_loss, with_weights
from labkit.dynamics.rich_lazy.tasks import N_OUTPUTS, TASKS, make_trials, n_inputs

CONTROLS = ("none", "untrained")


def _rate(lr: float, control: str) -> float:
    check_value("control", control, list(CONTROLS))
    return 0.0 if control == "untrained" else lr


def snapshot_steps(steps: int, n: int) -> np.ndarray:
    """-1 (before training), then ``n - 1`` roughly log-spaced steps ending at the last one."""
    later = np.unique(np.round(np.geomspace(1, steps, max(n - 1, 1))).astype(int)) - 1
    return np.r_[-1, later]


@dataclass
class RankSweep:
    """Alignments and weight changes of RNNs over (scales, ranks, replicates); curves over snapshots."""

    task: str
    n_hidden: int
    ranks: list[int]
    scales: list[float]
    replicates: int
    snap_steps: np.ndarray
    rep_curve: np.ndarray  # (scales, ranks, reps, snapshots): Gram alignment with the initial Gram
    ntk_curve: np.ndarray  # (scales, ranks, reps, snapshots): tangent-kernel alignment with the initial one
    weight_change: np.ndarray  # (scales, ranks, reps): ‖ΔW_rec‖_F / ‖W_rec,0‖_F
    effective_rank: np.ndarray  # (scales, ranks, reps) of W_rec,0
    accuracy: np.ndarray  # (scales, ranks, reps) on the probe batch, after training
    loss: np.ndarray  # (steps,) the members' mean training loss
    hidden0: np.ndarray  # (scales, ranks, probe, N): decision-step states of replicate 0, before
    hidden1: np.ndarray  # ... and after training
    probe_choice: np.ndarray  # (probe,) the correct choice of each probe trial
    aligned: dict = field(default_factory=dict)  # the task-aligned rank-one start: rep, ntk, dw (reps,)

    @property
    def rep_alignment(self) -> np.ndarray:
        return self.rep_curve[..., -1]

    @property
    def ntk_alignment(self) -> np.ndarray:
        return self.ntk_curve[..., -1]


def _decision(y: torch.Tensor) -> torch.Tensor:
    return y[:, -1]


def rank_sweep(
    task: str = "decision",
    n_hidden: int = 100,
    ranks=(1, 3, 10, 30, 100),
    scales=(1.25,),
    replicates: int = 5,
    steps: int = 2000,
    *,
    lr: float = 0.003,
    momentum: float = 0.9,
    batch: int = 32,
    probe_size: int = 64,
    n_snapshots: int = 6,
    aligned: bool = True,
    seed: int = 0,
    device="auto",
    control: str = "none",
) -> RankSweep:
    """Train every (scale, rank, replicate) RNN in one Ensemble by SGD with momentum (official values);
    replicate k of every rank and scale starts from the same random draws (a paired design)."""
    v = check_args(
        "rank_sweep",
        dict(
            task=task,
            n_hidden=n_hidden,
            replicates=replicates,
            steps=steps,
            lr=lr,
            momentum=momentum,
            batch=batch,
            probe_size=probe_size,
            n_snapshots=n_snapshots,
            seed=seed,
            control=control,
        ),
        dict(
            task=list(TASKS),
            n_hidden=(int, 2, None),
            replicates=(int, 1, None),
            steps=(int, 1, None),
            lr=(float, 0.0, None, "right"),
            momentum=(float, 0.0, 1.0, "left"),
            batch=(int, 1, None),
            probe_size=(int, 1, None),
            n_snapshots=(int, 2, None),
            seed="seed",
            control=list(CONTROLS),
        ),
    )
    ranks, scales = [int(r) for r in ranks], [float(s) for s in scales]
    if not ranks or not scales:
        raise ParameterError("Parameters 'ranks' and 'scales' of rank_sweep must each hold at least one value.")
    for r in ranks:
        check_value("rank", r, (int, 1, n_hidden), "rank_sweep")
    for s in scales:
        check_value("scale", s, (float, 0.0, None, "right"), "rank_sweep")
    dev = resolve_device(device)
    nin, R, S = n_inputs(task), len(ranks), len(scales)
    with threads(device=dev):
        members = [
            ReluRNN(nin, n_hidden, N_OUTPUTS, rank=r, scale=sc, seed=seed * 1000 + k)
            for sc in scales
            for r in ranks
            for k in range(replicates)
        ]
        if aligned:
            for k in range(replicates):
                m = ReluRNN(nin, n_hidden, N_OUTPUTS, rank=n_hidden, scale=scales[-1], seed=seed * 1000 + k)
                with torch.no_grad():
                    m.W_rec.copy_(aligned_recurrent_init(m.W_in, m.W_out, float(m.W_rec.norm())))
                members.append(m)
        E = len(members)
        eff = effective_rank(torch.stack([m.W_rec.detach() for m in members]))
        ens = Ensemble(members).to(dev)
        probe = make_trials(task, v["probe_size"], seed + 1_000_003, device=dev)
        data = torch.Generator().manual_seed(seed + 17)
        snaps = snapshot_steps(v["steps"], v["n_snapshots"])
        snap = Snapshots(
            ens,
            lambda e: {"hidden": e.call("hidden", probe.x)[:, :, -1]},
            snaps,
            weights=["params.W_in", "params.W_rec", "params.W_out"],
        ).take_initial()
        opt = torch.optim.SGD(ens.parameters(), lr=_rate(v["lr"], control), momentum=v["momentum"])

        def loss_fn(step):
            b = make_trials(task, v["batch"], data, device=dev)
            return task_loss(ens(b.x), b.y)

        history = (
            train(
                ens,
                loss_fn,
                v["steps"],
                optimizer=opt,
                callbacks=[snap],
                check_every=100,
                desc="rank sweep",
                name="rank sweep",
            )
            / E
        )
        with torch.no_grad():
            acc = accuracy(ens(probe.x), probe.y).cpu().numpy()
        H = torch.stack([snap.activations[t]["hidden"] for t in snaps], dim=1).double()  # (E, snaps, P, N)
        G = gram(H)
        rep = kernel_alignment(G[:, :1].expand_as(G), G).numpy()
        ntk = np.empty((E, len(snaps)))
        for e in range(E):
            kernels = []
            for t in snaps:
                w = snap.weights[t]
                m = with_weights(w["params.W_in"][e], w["params.W_rec"][e], w["params.W_out"][e]).to(dev)
                kernels.append(tangent_kernel(m, ["W_rec"], probe.x, output=_decision).double().cpu())
            K = torch.stack(kernels)
            ntk[e] = kernel_alignment(K[:1].expand_as(K), K).numpy()
        W0, W1 = snap.weights[-1]["params.W_rec"], snap.weights[snaps[-1]]["params.W_rec"]
        dw = weight_change(W0.double(), W1.double()).numpy()
    n = S * R * replicates
    shape = (S, R, replicates)
    first = np.arange(S * R) * replicates
    return RankSweep(
        task,
        n_hidden,
        ranks,
        scales,
        replicates,
        snaps,
        rep[:n].reshape(*shape, -1),
        ntk[:n].reshape(*shape, -1),
        dw[:n].reshape(shape),
        eff[:n].numpy().reshape(shape),
        acc[:n].reshape(shape),
        history,
        H[first, 0].numpy().reshape(S, R, *H.shape[2:]),
        H[first, -1].numpy().reshape(S, R, *H.shape[2:]),
        probe.choice.cpu().numpy(),
        {"rep": rep[n:, -1], "ntk": ntk[n:, -1], "dw": dw[n:]} if aligned else {},
    )


@dataclass
class SaxeRun:
    t: np.ndarray  # (steps + 1,) time lr · step
    s: np.ndarray  # (modes,)
    sim: np.ndarray  # (steps + 1, modes) the network's mode strengths
    closed: np.ndarray  # (steps + 1, modes) Saxe's closed form


def saxe_run(
    steps: int = 4000, lr: float = 0.0025, a0: float = 1e-3, width: int = 100, seed: int = 0, control: str = "none"
) -> SaxeRun:
    """One two-layer pathway from an aligned start a₀ trained by gradient descent, against the closed form."""
    check_value("a0", a0, (float, 0.0, None, "right"), "saxe_run")
    with threads(1):
        run = linear.train_pathways(
            2, steps, lr, pathways=1, k0=a0, jitter=0.0, width=width, seed=seed, train_lr=_rate(lr, control)
        )
    t = np.arange(steps + 1) * lr
    return SaxeRun(t, run.s, run.K[0, :, 0], linear.saxe_closed_form(run.s, a0, t))


def saxe_euler(steps: int = 1000, lr: float = 0.01, a0: float = 1e-3) -> SaxeRun:
    """The same comparison with the gradient-descent map computed by the mode ODE (exact for the aligned
    network, and free): how the closed form's error depends on the step size."""
    s = linear.modes(linear.hierarchy())[1]
    Ka, _ = linear.mode_ode(s, np.full(len(s), a0), 2, steps, lr, pathways=1)
    t = np.arange(steps + 1) * lr
    return SaxeRun(t, s, Ka, linear.saxe_closed_form(s, a0, t))


@dataclass
class DeficitStudy:
    """Per depth: the network's runs (one per onset) and the ODE's K_a, K_b for the same schedules."""

    depths: list[int]
    onsets: list[int]
    length: int
    steps: int
    lr: float
    s: np.ndarray
    sim: dict  # depth -> (onsets, steps + 1, 2, modes)
    ode: dict  # depth -> (onsets, steps + 1, 2, modes)


def deficit_study(
    depths=(1, 2, 3, 4),
    onsets=(0, 400, 750),
    *,
    length: int = 150,
    steps: int = 1000,
    lr: float = 0.01,
    k0: float = 0.01,
    jitter: float = 0.1,
    width: int = 100,
    seed: int = 0,
    control: str = "none",
) -> DeficitStudy:
    """Two pathways of each depth trained with pathway b deprived from each onset for ``length`` steps."""
    depths, onsets = [int(d) for d in depths], [int(o) for o in onsets]
    for d in depths:
        check_value("depth", d, (int, 1, None), "deficit_study")
    sim, ode = {}, {}
    with threads(1):
        for d in depths:
            run = linear.train_pathways(
                d,
                steps,
                lr,
                onsets=onsets,
                length=length,
                k0=k0,
                jitter=jitter,
                width=width,
                seed=seed,
                train_lr=_rate(lr, control),
            )
            sim[d] = run.K
            Ka, Kb = linear.mode_ode(run.s, run.k0, d, steps, lr, run.deficit)
            ode[d] = np.stack([Ka, Kb], axis=-2)
    return DeficitStudy(depths, onsets, length, steps, lr, run.s, sim, ode)


def onset_sweep(
    depths=(1, 2, 3, 4),
    onsets=None,
    *,
    length: int = 150,
    steps: int = 1000,
    lr: float = 0.01,
    k0: float = 0.01,
    jitter: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final K_b / s by the mode ODE (exact for the aligned network) for each depth and onset:
    returns (onsets, s, kb (depths, onsets, modes))."""
    onsets = np.arange(0, steps - length + 1, 50) if onsets is None else np.asarray(onsets)
    s = linear.modes(linear.hierarchy())[1]
    init = linear.mode_init(len(s), k0, jitter, seed)
    sched = np.stack([linear.deficit_schedule(steps, int(o), length) for o in onsets])
    kb = np.stack([linear.mode_ode(s, init, int(d), steps, lr, sched)[1][:, -1] / s for d in depths])
    return onsets, s, kb
