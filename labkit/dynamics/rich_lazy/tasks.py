"""Small trial-based tasks in the style of neurogym's, 8 steps long, with dt = τ.

Each task returns a :class:`Trials`: inputs ``x`` (batch, steps, inputs), integer targets ``y``
(batch, steps) with 0 = fixate and 1, 2 = the two choices, and the trial's truth (the coherences and
the correct choice). The network must fixate while the fixation input is on and answer at the last
step, the decision step, when it goes off.

* ``decision`` — perceptual decision making: two noisy evidence channels for 7 steps, one of them
  stronger by the coherence (0 to 51.2 %); choose the stronger.
* ``context`` — context-dependent decision: two modalities, each a pair of evidence channels with its
  own coherence, and a context cue saying which modality counts.
* ``delay`` — the decision with a memory period: evidence for the first 4 steps, then 3 steps of
  fixation without evidence before the decision step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from labkit.core.params import ParameterError, check_value

COHERENCES = (0.0, 6.4, 12.8, 25.6, 51.2)  # percent, as neurogym's perceptual decision task
TASKS = ("decision", "context", "delay")
N_STEPS = 8  # 7 stimulus steps and a decision step
N_OUTPUTS = 3  # fixate, choice 1, choice 2


@dataclass
class Trials:
    x: torch.Tensor  # (batch, steps, inputs)
    y: torch.Tensor  # (batch, steps): 0 fixate, 1 or 2 the choice (at the decision step)
    choice: torch.Tensor  # (batch,) the correct choice, 1 or 2
    coherence: torch.Tensor  # (batch,) the coherence that decides, in percent


def n_inputs(task: str) -> int:
    return {"decision": 3, "context": 7, "delay": 3}[task]


def _evidence(coh: torch.Tensor, side: torch.Tensor, steps: int, noise: float, g: torch.Generator) -> torch.Tensor:
    """Two channels (batch, steps, 2): (1 ± c)/2 plus Gaussian noise, the stronger one on ``side`` (0 or 1)."""
    c = coh / 100.0
    strong, weak = (1 + c) / 2, (1 - c) / 2
    mean = torch.stack([torch.where(side == 0, strong, weak), torch.where(side == 0, weak, strong)], dim=-1)
    return mean[:, None, :] + noise * torch.randn(coh.shape[0], steps, 2, generator=g)


def make_trials(
    task: str, batch: int, seed: int | torch.Generator, noise: float = 0.5, device: str | torch.device = "cpu"
) -> Trials:
    """``batch`` trials of ``task`` drawn with ``seed`` (or a ``torch.Generator``), on ``device``."""
    check_value("task", task, list(TASKS), "make_trials")
    check_value("batch", batch, (int, 1, None), "make_trials")
    check_value("noise", noise, (float, 0.0, None), "make_trials")
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(check_value("seed", seed, "seed"))
    cohs = torch.tensor(COHERENCES)
    coh = cohs[torch.randint(len(COHERENCES), (batch,), generator=g)]
    side = torch.randint(2, (batch,), generator=g)
    stim_steps = N_STEPS - 1
    fix = torch.ones(batch, N_STEPS, 1)
    fix[:, -1] = 0.0
    if task in ("decision", "delay"):
        ev = torch.zeros(batch, N_STEPS, 2)
        shown = stim_steps if task == "decision" else 4
        ev[:, :shown] = _evidence(coh, side, shown, noise, g)
        x = torch.cat([fix, ev], dim=-1)
        answer, decisive = side, coh
    else:
        coh2 = cohs[torch.randint(len(COHERENCES), (batch,), generator=g)]
        side2 = torch.randint(2, (batch,), generator=g)
        ctx = torch.randint(2, (batch,), generator=g)
        cue = torch.zeros(batch, N_STEPS, 2)
        cue[torch.arange(batch), :stim_steps, ctx] = 1.0
        ev1 = torch.zeros(batch, N_STEPS, 2)
        ev2 = torch.zeros(batch, N_STEPS, 2)
        ev1[:, :stim_steps] = _evidence(coh, side, stim_steps, noise, g)
        ev2[:, :stim_steps] = _evidence(coh2, side2, stim_steps, noise, g)
        x = torch.cat([fix, cue, ev1, ev2], dim=-1)
        answer = torch.where(ctx == 0, side, side2)
        decisive = torch.where(ctx == 0, coh, coh2)
    y = torch.zeros(batch, N_STEPS, dtype=torch.long)
    y[:, -1] = answer + 1
    if decisive.eq(0).any():  # zero coherence: the correct answer is a coin flip, as in neurogym
        flip = torch.randint(2, (batch,), generator=g) + 1
        y[:, -1] = torch.where(decisive == 0, flip, y[:, -1])
    dev = torch.device(device)
    return Trials(x.to(dev), y.to(dev), y[:, -1].to(dev), decisive.to(dev))


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ParameterError(f"Parameter 'task' must be one of {', '.join(map(repr, TASKS))}, got {task!r}.")
    return task
