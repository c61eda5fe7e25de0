"""The codebook finite-state-machine experiment of Tamkin et al. (2023, "Codebook Features", sec. 4.1).

**The task (their TokFSM).** A random finite-state machine has ``N`` states; each state moves to
``n_edges`` successors drawn at random, each with probability ``1 / n_edges``. A trajectory is
written as tokens: every state is spelled by its ``digits`` base-``base`` digits (state 37 with
base 10 is "3", "7"), so a model must *combine* tokens to know which state it is in. A small
transformer (:class:`labkit.interp.transformer.Transformer`) learns to continue trajectories; it
has fewer neurons (``d_model`` and ``d_mlp``) than the machine has states.

**The bottleneck.** A :class:`~labkit.interp.sparse_dictionaries.codebook.CodebookBottleneck` is inserted at one hook
point (by default the whole residual stream after the first block, ``blocks.0.hook_resid_post``):
at every position the activation is replaced by the mean of the ``k`` codes most similar to it.
Model and codebook are trained together on the next-token loss plus the codebook's reconstruction
loss (their "aeloss"); dead codes are re-initialised at activations (their ``replace_dead_codes``).

**What the codes mean.** At the position of the last digit of a state the model has read the whole
state. :func:`code_state_table` counts which code fires there for which true state; a code is
*pure* when (nearly) all its activations fall in one state (:func:`code_purity`).

**Steering.** Forcing the code of state ``s'`` at the last position (:meth:`steer`) should make the
model continue as if it were in ``s'``: its most probable next state (both digits, scored as in the
authors' ``get_next_state_probs``) should be a successor of ``s'`` (:func:`steering_experiment`).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.device import resolve_device
from labkit.core.params import check_value
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.interp.sparse_dictionaries.base import CONTROLS
from labkit.interp.sparse_dictionaries.codebook import CodebookBottleneck
from labkit.interp.transformer import Transformer, TransformerConfig


# ----------------------------------------------------------------------------------------- the machine
@dataclass
class FSM:
    """A random finite-state machine: ``successors[s]`` are the ``n_edges`` states ``s`` may move to."""

    successors: np.ndarray          # (n_states, n_edges) int
    base: int
    digits: int
    seed: int = 0

    @property
    def n_states(self) -> int:
        return self.successors.shape[0]

    @property
    def n_edges(self) -> int:
        return self.successors.shape[1]

    @property
    def transition(self) -> np.ndarray:
        """The (n_states, n_states) transition matrix."""
        T = np.zeros((self.n_states, self.n_states))
        np.put_along_axis(T, self.successors, 1.0 / self.n_edges, axis=1)
        return T

    def spell(self, states) -> torch.Tensor:
        """The digit tokens of ``states`` (any shape), most significant first: shape (..., digits)."""
        s = torch.as_tensor(states, dtype=torch.long)
        powers = self.base ** torch.arange(self.digits - 1, -1, -1, device=s.device)
        return (s[..., None] // powers) % self.base


def random_fsm(n_states: int = 100, n_edges: int = 10, base: int = 10, *, distinct: bool = True,
               seed: int = 0) -> FSM:
    """A machine whose every state has ``n_edges`` distinct successors drawn uniformly (as in the
    authors' ``FSM``), its states spelled with ``ceil(log_base n_states)`` digits.

    ``distinct=True`` redraws a state's successors until the distribution of their *first digits*
    differs from every other state's. After the last digit of a state the model predicts only the
    next first digit, so two states with the same first-digit distribution need not be told apart
    there, and a code may honestly merge them. The authors' machine (100 states, 10 edges, base
    10) has this property for 98-100% of its states by chance; small machines do not, so we ask
    for it. ``distinct=False`` is the plain random machine.
    """
    n_states = check_value("n_states", n_states, (int, 2, None), "random_fsm")
    n_edges = check_value("n_edges", n_edges, (int, 1, n_states), "random_fsm")
    base = check_value("base", base, (int, 2, None), "random_fsm")
    digits = 1
    while base ** digits < n_states:
        digits += 1
    rng = np.random.default_rng(seed)
    first = np.arange(n_states) // base ** (digits - 1)
    succ, seen = [], set()
    for _ in range(n_states):
        for _try in range(2000):
            row = np.sort(rng.choice(n_states, size=n_edges, replace=False))
            key = tuple(np.bincount(first[row], minlength=base))
            if not distinct or key not in seen:
                break
        else:
            raise ValueError(f"cannot give {n_states} states distinct next-digit distributions with n_edges={n_edges} "
                             f"and base={base}; use more edges or distinct=False.")
        seen.add(key)
        succ.append(row)
    return FSM(np.stack(succ), base, digits, seed)


@dataclass
class FSMBatch:
    tokens: torch.Tensor            # (batch, n_steps * digits) digit tokens
    states: torch.Tensor            # (batch, n_steps) the state each group of digits spells


def fsm_batch(fsm: FSM, batch: int, n_steps: int, *, seed: int = 0, device="cpu") -> FSMBatch:
    """``batch`` trajectories of ``n_steps`` states from uniformly drawn start states."""
    batch = check_value("batch", batch, (int, 1, None), "fsm_batch")
    n_steps = check_value("n_steps", n_steps, (int, 1, None), "fsm_batch")
    gen = torch.Generator().manual_seed(seed)
    succ = torch.as_tensor(fsm.successors)
    states = torch.empty(batch, n_steps, dtype=torch.long)
    states[:, 0] = torch.randint(0, fsm.n_states, (batch,), generator=gen)
    choice = torch.randint(0, fsm.n_edges, (batch, n_steps), generator=gen)
    for t in range(1, n_steps):   # a Markov chain: each step needs the last
        states[:, t] = succ[states[:, t - 1], choice[:, t]]
    tokens = fsm.spell(states).reshape(batch, n_steps * fsm.digits)
    return FSMBatch(tokens.to(device), states.to(device))


# ----------------------------------------------------------------------------------------- training
@dataclass
class CodebookFSMRun:
    """What :func:`train_codebook_fsm` returns."""

    model: Transformer
    codebook: CodebookBottleneck
    hook: str
    fsm: FSM
    n_steps: int                     # states per training sequence
    losses: np.ndarray               # next-token loss of each training batch
    n_replaced: int = 0              # dead codes re-initialised during training
    meta: dict = field(default_factory=dict)

    def hooks(self) -> list:
        return [(self.hook, self.codebook)]

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.run_with_hooks(tokens, fwd_hooks=self.hooks())

    @contextlib.contextmanager
    def steer(self, mask: torch.Tensor, code):
        """Within the block, force ``code`` at the positions where ``mask`` (batch, pos) is True."""
        self.codebook.steer(mask, code)
        try:
            yield
        finally:
            self.codebook.steer(None)


def train_codebook_fsm(fsm: FSM, *, d_model: int = 32, n_layers: int = 2, n_heads: int = 4, d_mlp: int = 64,
                       n_codes: int = 256, k: int = 1, hook: str = "blocks.0.hook_resid_post",
                       n_steps: int = 16, steps: int = 2000, batch_size: int = 128, lr: float = 3e-3,
                       replace_every: int = 100, seed: int = 0, device="cpu", control: str = "none",
                       desc: str = "codebook FSM") -> CodebookFSMRun:
    """Train a transformer with a codebook bottleneck at ``hook`` on trajectories of ``fsm``.

    Loss: next-token cross-entropy plus the codebook's reconstruction loss. Every batch is drawn
    from its own seed (derived from ``seed`` and the step), so the same seed gives the same run.
    Codes unused for ``replace_every`` steps are re-initialised at activations of the last batch.
    ``control="random"`` (the notebook's negative control) trains with a learning rate of zero and no
    dead-code replacement: model and codebook stay at their random initialisation, the batches and the
    recorded loss are the same.
    """
    if not isinstance(fsm, FSM):
        raise ValueError(f"fsm must be an FSM (see random_fsm), got {type(fsm).__name__}.")
    owner = "train_codebook_fsm"
    steps = check_value("steps", steps, (int, 1, None), owner)
    batch_size = check_value("batch_size", batch_size, (int, 1, None), owner)
    n_steps = check_value("n_steps", n_steps, (int, 2, None), owner)
    replace_every = check_value("replace_every", replace_every, (int, 1, None), owner)
    n_codes = check_value("n_codes", n_codes, (int, 1, None), owner)
    k = check_value("k", k, (int, 1, n_codes), owner)
    control = check_value("control", control, list(CONTROLS), owner)
    if control == "random":
        lr, replace_every = 0.0, steps + 1
    device = resolve_device(device)
    cfg = TransformerConfig(d_vocab=fsm.base, n_ctx=n_steps * fsm.digits, d_model=d_model, n_layers=n_layers,
                            n_heads=n_heads, d_head=max(1, d_model // n_heads), d_mlp=d_mlp)
    torch.manual_seed(seed)
    model = Transformer(cfg).to(device)
    if hook not in model.hook_names():
        raise ValueError(f"hook must be one of the model's hook points ({', '.join(model.hook_names())}), "
                         f"got {hook!r}.")
    with torch.no_grad():
        width = model.run_with_cache(fsm_batch(fsm, 1, n_steps, device=device).tokens, names=[hook])[1][hook].shape[-1]
    codebook = CodebookBottleneck(width, n_codes, k, seed=seed).to(device)
    params = list(model.parameters()) + list(codebook.parameters())
    losses = torch.empty(steps, device=device)   # the next-token part of the loss
    lm = None
    n_replaced = 0
    base = 1_000_003 * (seed + 1)
    gen = torch.Generator(device=device).manual_seed(seed)
    capture = _Capture(codebook)

    def loss_fn(step):
        nonlocal lm
        batch = fsm_batch(fsm, batch_size, n_steps, seed=base + step, device=device)
        logits = model.run_with_hooks(batch.tokens, fwd_hooks=[(hook, capture)])
        lm = F.cross_entropy(logits[:, :-1].reshape(-1, cfg.d_vocab), batch.tokens[:, 1:].reshape(-1))
        return lm + codebook.loss

    def after_step(step, loss):
        nonlocal n_replaced
        losses[step] = lm.detach()
        if (step + 1) % replace_every == 0 and step < int(0.8 * steps):
            n_replaced += codebook.replace_dead(codebook.last_input.reshape(-1, width), gen)

    with threads(1, device=device):   # these matrices are tiny: one CPU thread (see core.threads)
        model.train()
        codebook.train()
        train(params, loss_fn, steps, lr=lr, desc=desc, callbacks=[after_step], name="codebook FSM training")
        model.eval()
        codebook.eval()
    losses = losses.cpu().numpy()
    return CodebookFSMRun(model, codebook, hook, fsm, n_steps, losses, n_replaced,
                          meta={"d_model": d_model, "d_mlp": d_mlp, "n_layers": n_layers, "n_codes": n_codes, "k": k})


class _Capture:
    """A hook that keeps the raw input of the codebook (for dead-code replacement) and applies it."""

    def __init__(self, codebook: CodebookBottleneck):
        self.codebook = codebook

    def __call__(self, x, name):
        self.codebook.last_input = x.detach()
        return self.codebook(x, name)


# ----------------------------------------------------------------------------------------- analysis
@torch.no_grad()
def state_end_codes(run: CodebookFSMRun, batch: FSMBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (batch, n_steps - 1, k) at the last digit of every state but the final one, and those
    states (batch, n_steps - 1). The final state is left out: nothing is predicted from it in
    training (the sequence ends), so nothing asks its code to mean anything."""
    run.logits(batch.tokens)
    ends = torch.arange(run.fsm.digits - 1, batch.tokens.shape[1], run.fsm.digits, device=batch.tokens.device)[:-1]
    return run.codebook.codes[:, ends], batch.states[:, :-1]


@torch.no_grad()
def code_state_table(run: CodebookFSMRun, n_sequences: int = 512, *, seed: int = 7_777_777) -> np.ndarray:
    """Counts (n_codes, n_states): how often each code fires at the last digit of each true state
    (:func:`state_end_codes`), on held-out trajectories (a seed no training batch uses)."""
    n_sequences = check_value("n_sequences", n_sequences, (int, 1, None), "code_state_table")
    batch = fsm_batch(run.fsm, n_sequences, run.n_steps, seed=seed, device=next(run.model.parameters()).device)
    codes, states = state_end_codes(run, batch)
    k = codes.shape[-1]
    flat = codes.reshape(-1).cpu() * run.fsm.n_states + states[..., None].expand(-1, -1, k).reshape(-1).cpu()
    counts = torch.bincount(flat, minlength=run.codebook.n_codes * run.fsm.n_states)
    return counts.reshape(run.codebook.n_codes, run.fsm.n_states).numpy()


def code_purity(table: np.ndarray) -> dict:
    """Purity of the codes in a code x state count table.

    ``purity``: the fraction of all code activations that fall in their code's majority state (a
    code's purity weighted by how often it fires); ``min_purity`` over codes firing at least 1% as
    often as the busiest; ``state_code``: for each state the code that fires most for it;
    ``coverage``: the fraction of a state's activations that go to that code (mean over states);
    ``n_codes_used``.
    """
    table = np.asarray(table)
    used = table.sum(1) > 0
    per_code = table.max(1)[used] / table.sum(1)[used]
    busy = table.sum(1)[used] >= 0.01 * table.sum(1).max()
    state_code = table.argmax(0)
    coverage = table.max(0) / np.maximum(table.sum(0), 1)
    return {"purity": float(table.max(1).sum() / table.sum()), "min_purity": float(per_code[busy].min()),
            "per_code": per_code, "state_code": state_code, "coverage": float(coverage.mean()),
            "n_codes_used": int(used.sum())}


@torch.no_grad()
def next_state_probs(run: CodebookFSMRun, tokens: torch.Tensor, *, steer_code=None, chunk: int = 4096) -> torch.Tensor:
    """P(next state) (batch, n_states) for prompts ``tokens`` that end at the last digit of a state.

    Every candidate state is scored digit by digit, ``P(d_1) P(d_2 | d_1) ...``, as the authors'
    ``get_next_state_probs`` does. ``steer_code`` (one code, or one per prompt) is forced at the
    prompt's last position in every pass.
    """
    fsm = run.fsm
    B, P = tokens.shape
    if P % fsm.digits or P + fsm.digits - 1 > run.model.cfg.n_ctx:
        raise ValueError(f"tokens must hold whole states and leave room for {fsm.digits - 1} more digits "
                         f"(n_ctx={run.model.cfg.n_ctx}), got {P} tokens.")
    cand = fsm.spell(torch.arange(fsm.n_states, device=tokens.device))            # (N, digits)
    N = fsm.n_states
    seqs = torch.cat([tokens[:, None, :].expand(B, N, P), cand[None, :, :-1].expand(B, N, fsm.digits - 1)], -1)
    seqs = seqs.reshape(B * N, -1)
    codes = None
    if steer_code is not None:
        k = run.codebook.k
        c = torch.as_tensor(steer_code, dtype=torch.long, device=tokens.device)
        if c.dim() == 0:
            c = c.expand(B, k)
        elif c.dim() == 1 and c.shape[0] == B:
            c = c[:, None].expand(B, k)
        if c.shape != (B, k):
            raise ValueError(f"steer_code must be one code, one per prompt ({B}) or ({B}, {k}), "
                             f"got shape {tuple(c.shape)}.")
        codes = c[:, None, :].expand(B, N, k).reshape(B * N, k)
    logp = []
    for i in range(0, B * N, chunk):
        s = seqs[i:i + chunk]
        if codes is None:
            lg = run.logits(s)
        else:
            mask = torch.zeros(s.shape, dtype=torch.bool, device=s.device)
            mask[:, P - 1] = True
            with run.steer(mask, codes[i:i + chunk, None, :].expand(*s.shape, -1)):
                lg = run.logits(s)
        lp = torch.log_softmax(lg[:, P - 1:], -1)                                   # predictions of the digits
        digits = cand.repeat(B, 1)[i:i + chunk]
        logp.append(lp.gather(-1, digits[..., None])[..., 0].sum(-1))
    return torch.cat(logp).reshape(B, N).exp()


@torch.no_grad()
def transition_accuracy(run: CodebookFSMRun, n_prompts: int = 200, *, seed: int = 8_888_888) -> float:
    """The fraction of held-out prompts whose most probable next state is a true successor."""
    fsm = run.fsm
    n_prompts = check_value("n_prompts", n_prompts, (int, 1, None), "transition_accuracy")
    batch = fsm_batch(fsm, n_prompts, run.n_steps - 1, seed=seed, device=next(run.model.parameters()).device)
    pred = next_state_probs(run, batch.tokens).argmax(1).cpu().numpy()
    last = batch.states[:, -1].cpu().numpy()
    return float((fsm.successors[last] == pred[:, None]).any(1).mean())


@torch.no_grad()
def state_codes(run: CodebookFSMRun) -> np.ndarray:
    """The codes (n_states, k) at the last digit when the prompt is just that state: the code of
    each state in the authors' sense (their ``partition_input_space_with_codebook`` on bigrams)."""
    dev = next(run.model.parameters()).device
    run.logits(run.fsm.spell(torch.arange(run.fsm.n_states, device=dev)))
    return run.codebook.codes[:, -1].cpu().numpy()


@torch.no_grad()
def next_token_probs(run: CodebookFSMRun, tokens: torch.Tensor, *, steer_code=None) -> torch.Tensor:
    """P(next digit) (batch, base) at the last position of ``tokens``, with ``steer_code`` (one
    code per prompt, or (batch, k)) forced at that position."""
    B, P = tokens.shape
    if steer_code is None:
        return torch.softmax(run.logits(tokens)[:, -1], -1)
    c = torch.as_tensor(steer_code, dtype=torch.long, device=tokens.device)
    c = c[:, None].expand(B, run.codebook.k) if c.dim() == 1 else c
    mask = torch.zeros(B, P, dtype=torch.bool, device=tokens.device)
    mask[:, -1] = True
    with run.steer(mask, c[:, None, :].expand(B, P, -1)):
        return torch.softmax(run.logits(tokens)[:, -1], -1)


@torch.no_grad()
def steering_experiment(run: CodebookFSMRun, n_trials: int = 200, *, context: int = 0, seed: int = 9_999_999) -> dict:
    """Force the code of another state ``s'`` at the end of held-out prompts ending in state ``s``.

    Each trial: a prompt of ``context`` states and then ``s`` (``context=0``: the bare state, as the
    authors' bigram inputs), a target ``s' != s`` drawn uniformly, and the code of ``s'``
    (:func:`state_codes`) forced at the prompt's last position. What the model predicts there is
    the first digit of the next state. Against the machine's truth: ``A`` = first digits that only
    successors of ``s'`` have, ``B`` = those only successors of ``s`` have. A trial (one where both
    are non-empty) succeeds when the model puts more probability on ``A`` than on ``B``.
    ``success``: over those trials, steered; ``baseline``: the same criterion without steering
    (near 0: the prompt's own state wins); ``mass_target``/``mass_prompt``: mean steered
    probability on ``A`` / ``B``; ``n_trials``: trials counted.
    """
    fsm = run.fsm
    n_trials = check_value("n_trials", n_trials, (int, 1, None), "steering_experiment")
    context = check_value("context", context, (int, 0, run.n_steps - 2), "steering_experiment")
    dev = next(run.model.parameters()).device
    batch = fsm_batch(fsm, n_trials, context + 1, seed=seed, device=dev)
    s = batch.states[:, -1].cpu().numpy()
    rng = np.random.default_rng(seed)
    target = (s + rng.integers(1, fsm.n_states, n_trials)) % fsm.n_states          # uniform over s' != s
    codes = torch.as_tensor(state_codes(run)[target], device=dev)
    steered = next_token_probs(run, batch.tokens, steer_code=codes).cpu().numpy()
    plain = next_token_probs(run, batch.tokens).cpu().numpy()
    first = fsm.spell(torch.as_tensor(fsm.successors))[..., 0].numpy()               # (N, n_edges)
    onehot = np.zeros((fsm.n_states, fsm.base), bool)
    np.put_along_axis(onehot, first, True, axis=1)
    A = onehot[target] & ~onehot[s]
    B = onehot[s] & ~onehot[target]
    ok = A.any(1) & B.any(1)
    if not ok.any():
        raise ValueError("no trial can tell the states apart by their next digit; use more states or fewer edges.")
    mA, mB = (steered * A).sum(1), (steered * B).sum(1)
    pA, pB = (plain * A).sum(1), (plain * B).sum(1)
    return {"success": float((mA > mB)[ok].mean()), "baseline": float((pA > pB)[ok].mean()),
            "mass_target": float(mA[ok].mean()), "mass_prompt": float(mB[ok].mean()),
            "plain_mass_target": float(pA[ok].mean()), "plain_mass_prompt": float(pB[ok].mean()),
            "n_trials": int(ok.sum()), "state": s[ok], "target": target[ok],
            "steered_probs": steered[ok], "plain_probs": plain[ok]}
