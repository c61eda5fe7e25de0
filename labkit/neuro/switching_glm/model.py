"""State-switching GLMs (HMM-GLMs) with no prior, a Gaussian prior or a one-hot prior on the couplings.

Li, Kim, Rodgers, Choi & Wu (2023), "One-hot Generalized Linear Model for Switching Brain State
Discovery" (ICLR 2024; official code github.com/JerrySoybean/onehot-hmmglm). The emission model of
state ``k`` is a GLM (their eq. 1)

    x_{t,n} | z_t = k ~ Poisson(f_{t,n}),   f_{t,n} = sigma(b_n + sum_m W_{k, n<-m} h_{t,m}),

with ``h`` the spike history through a single exponential basis (:func:`~.history.convolve_history`),
and a Markov chain of states ``z_t``. The three priors on ``W``:

* ``"none"``: independent weights per state (the HMM-GLM of Escola et al. 2011), maximum likelihood.
* ``"gaussian"``: ``W_k ~ N(W_bar, sigma^2)`` elementwise, with the shared mean ``W_bar`` learned — set
  in closed form to ``mean_k W_k`` before each gradient step, as the official code does — and
  ``sigma = prior_scale`` (1/3 in the paper's code).
* ``"one-hot"``: ``W_k = (A_k^exc - A_k^inh) ⊙ softplus(S_k)`` with ``A_k[n, m]`` one-hot over
  {inhibitory, absent, excitatory} (eq. 6). ``A_k`` is relaxed to a Gumbel-softmax sample of its logits
  during the M-step (temperature ``tau``; Jang et al. 2017, Maddison et al. 2017) and its prior is the
  Gumbel-softmax density ``GS(softmax(a_k) | softmax(a_bar), tau)`` with the shared, learned
  ``a_bar`` (eq. 7) — the state-constant interaction that should reveal the anatomical backbone.
  Logits that reach a log-probability below -20 are halved, as in the official code. The E-step uses
  the expected adjacency ``softmax(a_k)``; predictions and scores use the hard ``argmax``.

Fitting is EM (their Alg. 1): the E-step is the forward–backward recursion (exact, scaled, in float64;
:mod:`.hmm`), the M-step takes ``m_steps`` Adam steps on the expected complete-data log-likelihood plus
``prior_weight`` times the log prior (the prior counted once for the whole data set, as in a MAP
estimate; both divided by the number of bins), and the transition matrix and start distribution have
their closed-form updates (each transition probability floored at e^-8 before renormalising, as the
official code clamps log A at -8). Everything is batched over trials, vectorised over states and
neurons, and runs on ``device``.

Where this differs from the official code, and why:

* All trials in one batch per M-step, where the official loop takes an E-step and 50 Adam steps per
  trial (lr 0.01, 10 epochs). The same objective, with far fewer sequential steps.
* One-hot: the first ``warmup`` EM iterations run the M-step with the expected adjacency
  ``softmax(a_k)`` instead of a Gumbel-softmax sample. From the official start (uniform logits) the
  sampled relaxation at tau = 0.2 commits each connection to a class within a few iterations, before
  the states have separated, and then cannot undo it (its gradient vanishes once the logits
  saturate); in our runs that left 30-40% of the true connections with the wrong sign. A few
  deterministic iterations let the states form first.
* One-hot: the learned prior starts at ``P(absent) = prior_absent`` (0.8, a sparse network; the
  official start is uniform). With a uniform start nothing favours "absent" over "present with a
  vanishing strength", which fit the data equally well, so the prior learned for unconnected pairs
  was arbitrary.
* The bias starts at the link's inverse of each neuron's mean count (the official code puts the mean
  count itself in the bias), the plain and Gaussian couplings at small random values (``init_scale``)
  to break the symmetry between states, and the start distribution is learned (the official code keeps
  it uniform).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.device import resolve_device
from labkit.core.estimator import Estimator
from labkit.core.params import ParameterError
from labkit.core.progress import trange
from labkit.core.threads import threads
from labkit.core.train import Diverged, train
from labkit.neuro.switching_glm import hmm
from labkit.neuro.switching_glm.checks import check_counts, work_size
from labkit.neuro.switching_glm.history import convolve_history, history_basis
from labkit.neuro.switching_glm.metrics import match_states
from labkit.neuro.switching_glm.mstep import (
    _Adam,
    _emission_terms,
    _ExpectedLogLik,
    _ExpectedLogLikGrad,
    gumbel_softmax_log_density,
)

__all__ = ["SwitchingGLM", "PRIORS"]

PRIORS = ("none", "gaussian", "one-hot")
LINKS = ("sigmoid", "softplus", "exp")
EMISSIONS = ("poisson", "bernoulli")
_POSITIVE = (float, 0, None, "neither")


def _threads_by_size(method):
    """Run an inference method of a fitted model on one CPU thread when its E-step is small (see
    :func:`labkit.core.threads.threads`)."""
    @functools.wraps(method)
    def wrapper(self, spikes, *args, **kwargs):
        self._check_fitted("params_")
        with threads(device=self.device_, size=work_size(spikes, self.n_states), blas=True):
            return method(self, spikes, *args, **kwargs)
    return wrapper


class SwitchingGLM(Estimator):
    """A hidden Markov model whose states are coupled Poisson (or Bernoulli) GLMs; see the module docstring.

    ``fit(spikes)`` takes counts of shape (trials, time, neurons) (or (time, neurons)); after fitting:
    ``weights_`` (states, post, pre), ``bias_`` (neurons,), ``transitions_`` (states, states),
    ``start_`` (states,), ``history_`` (training log-likelihood per bin at each EM iteration) and the
    learned prior: ``prior_mean_`` (Gaussian), ``adjacency_prior_`` (one-hot: (post, pre, 3)
    probabilities of inhibitory / absent / excitatory) and ``connection_score_``, a (post, pre) score of
    how likely each connection is anatomical (one-hot: ``1 - P(absent)``; Gaussian: ``|W_bar|``;
    none: ``mean_k |W_k|``). ``device="auto"`` picks CUDA, then MPS, then the CPU (``device_`` after fitting).
    ``__init__`` only stores the hyperparameters; ``fit`` checks them (``_rules``) before anything is learned.
    """

    _rules = {"n_states": (int, 1, None), "prior": list(PRIORS), "link": list(LINKS), "emission": list(EMISSIONS),
              "window": (int, 1, None), "decay": (float, 0, None), "n_iter": (int, 1, None),
              "m_steps": (int, 1, None), "lr": _POSITIVE, "prior_scale": _POSITIVE, "tau": _POSITIVE,
              "prior_weight": (float, 0, None), "min_transition": (float, 0, None),
              "init_scale": (float, 0, None), "prior_absent": (float, 0, 1, "neither"),
              "warmup": (int, 0, None), "device": "device", "seed": "seed", "progress": bool}

    def __init__(self, n_states: int = 3, prior: str = "none", *, link: str = "sigmoid", emission: str = "poisson",
                 window: int = 5, decay: float = 1.0, n_iter: int = 30, m_steps: int = 20, lr: float = 0.05,
                 prior_scale: float = 1.0 / 3.0, tau: float = 0.2, prior_weight: float = 1.0,
                 min_transition: float = math.exp(-8), init_scale: float = 0.1, prior_absent: float = 0.8,
                 warmup: int = 10, device: str | torch.device = "auto", seed: int = 0, progress: bool = False):
        self.n_states = n_states
        self.prior = prior
        self.link = link
        self.emission = emission
        self.window = window
        self.decay = decay
        self.n_iter = n_iter
        self.m_steps = m_steps
        self.lr = lr
        self.prior_scale = prior_scale
        self.tau = tau
        self.prior_weight = prior_weight
        self.min_transition = min_transition
        self.init_scale = init_scale
        self.prior_absent = prior_absent
        self.warmup = warmup
        self.device = device
        self.seed = seed
        self.progress = progress

    def _setup(self) -> None:
        """Check the hyperparameters (their rules, then how they combine), resolve the device and build the
        history basis: the start of ``fit``."""
        v = self._validate()
        if v["emission"] == "bernoulli" and v["link"] != "sigmoid":
            raise ParameterError(f"Parameter 'link' of SwitchingGLM must be 'sigmoid' for Bernoulli emissions "
                                 f"(a probability), got {self.link!r}.")
        if v["n_states"] > 1 and v["min_transition"] >= 1.0 / v["n_states"]:
            raise ParameterError(f"Parameter 'min_transition' of SwitchingGLM must be below 1/n_states = "
                                 f"{1 / v['n_states']:.3g}, got {self.min_transition!r}.")
        self.device_ = resolve_device(self.device)
        self.basis_ = history_basis(self.window, self.decay)

    # ---------------------------------------------------------------- data
    def _prepare(self, spikes, name="spikes", fitting=False):
        x = check_counts(spikes, name)
        if self.emission == "bernoulli" and (x > 1).any():
            raise ValueError(f"{name} must be binary (0 or 1 per bin) for Bernoulli emissions; counts above 1 found.")
        if not fitting and hasattr(self, "n_neurons_") and x.shape[-1] != self.n_neurons_:
            raise ValueError(f"{name} must have {self.n_neurons_} neurons (the fitted model's), got {x.shape[-1]}.")
        x = x.to(self.device_, torch.float32)
        h = convolve_history(x, torch.as_tensor(self.basis_, dtype=torch.float32, device=self.device_))
        return x, h

    # ---------------------------------------------------------------- parameters
    def _init_params(self, x: torch.Tensor) -> None:
        K, N = self.n_states, x.shape[-1]
        g = torch.Generator().manual_seed(self.seed)
        mean_rate = x.mean((0, 1)).clamp(1e-3, None)
        if self.link == "sigmoid":
            b = torch.logit(mean_rate.clamp(max=0.999))
        elif self.link == "softplus":
            b = torch.log(torch.expm1(mean_rate))
        else:
            b = torch.log(mean_rate)
        dev = self.device_
        self.params_ = {"bias": b.clone().to(dev)}
        if self.prior == "one-hot":
            self.params_["logits"] = torch.zeros(K, N, N, 3, device=dev)           # uniform, as in the official code
            self.params_["strength"] = (self.init_scale * torch.randn(K, N, N, generator=g)).to(dev)
            p0 = self.prior_absent
            prior = torch.log(torch.tensor([(1 - p0) / 2, p0, (1 - p0) / 2]))
            self.params_["prior_logits"] = prior.expand(N, N, 3).clone().to(dev)
        else:
            self.params_["weight"] = (self.init_scale * torch.randn(K, N, N, generator=g)).to(dev)
        for p in self.params_.values():
            p.requires_grad_(True)
        stay = 0.98 if K > 1 else 1.0                                    # the official code's initial chain
        trans = torch.full((K, K), (1 - stay) / max(K - 1, 1), dtype=torch.float64)
        trans.fill_diagonal_(stay)
        self.log_transitions_ = torch.log(trans).to(dev)
        self.log_start_ = torch.full((K,), -math.log(K), dtype=torch.float64, device=dev)
        self.n_neurons_ = N

    def _weight(self, mode: str = "hard", generator: torch.Generator | None = None) -> torch.Tensor:
        """Couplings (states, post, pre). One-hot: ``mode`` = "sample" (Gumbel-softmax relaxation),
        "mean" (softmax) or "hard" (argmax)."""
        p = self.params_
        if self.prior != "one-hot":
            return p["weight"]
        logits = p["logits"]
        if mode == "sample":
            gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=generator, device=logits.device)
                                           .clamp(1e-20, 1 - 1e-7)))
            adj = torch.softmax((logits + gumbel) / self.tau, dim=-1)
        elif mode == "mean":
            adj = torch.softmax(logits, dim=-1)
        else:
            adj = F.one_hot(logits.argmax(-1), 3).to(logits.dtype)
        return (adj[..., 2] - adj[..., 0]) * F.softplus(p["strength"])

    def _eta(self, h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Linear predictor ``b_n + sum_m W_{k,n<-m} h_{t,m}`` of every state, (trials, time, states, neurons)."""
        B, T, N = h.shape
        K = weight.shape[0]
        return (h.reshape(-1, N) @ weight.reshape(K * N, N).T).reshape(B, T, K, N) + self.params_["bias"]

    def _log_emissions(self, x: torch.Tensor, h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``log p(x_t | z_t = k)`` without the per-bin ``-log x!`` constant, (trials, time, states)."""
        ll, _ = _emission_terms(self._eta(h, weight), x.unsqueeze(2), self.link, self.emission, grad=False)
        return ll.sum(-1)

    def _expected_log_lik(self, x: torch.Tensor, h: torch.Tensor, weight: torch.Tensor, gamma: torch.Tensor,
                          value: bool = True):
        """``sum_{b,t,k} gamma_btk log p(x_bt | z = k)`` with a hand-written gradient (one pass, no graph)."""
        fn = _ExpectedLogLik if value else _ExpectedLogLikGrad
        return fn.apply(self._eta(h, weight), x.unsqueeze(2), gamma, self.link, self.emission)

    def _constant(self, x: torch.Tensor) -> torch.Tensor:
        if self.emission == "bernoulli":
            return torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
        return torch.lgamma(x.double() + 1).sum((1, 2))

    def _log_prior(self) -> torch.Tensor:
        p = self.params_
        if self.prior == "gaussian":
            w = p["weight"]
            mean = w.mean(0).detach()                                   # closed-form update of W_bar
            return -0.5 * ((w - mean) ** 2).sum() / self.prior_scale ** 2
        if self.prior == "one-hot":
            log_y = torch.log_softmax(p["logits"], -1)
            log_prior = torch.log_softmax(p["prior_logits"], -1)
            return gumbel_softmax_log_density(log_y, log_prior, self.tau).sum()
        return torch.zeros((), device=self.device_)

    @torch.no_grad()
    def _correct_extremes(self) -> None:
        """Halve logits whose smallest log-probability is below -20 (the official ``correct_extreme_onehot``)."""
        for name in ("logits", "prior_logits"):
            v = self.params_[name]
            bad = (torch.log_softmax(v, -1) < -20).any(-1, keepdim=True)
            v.mul_(torch.where(bad, 0.5, 1.0))

    # ---------------------------------------------------------------- fitting
    def fit(self, spikes) -> SwitchingGLM:
        """EM from the initialisation of the official code (sticky chain, small random couplings)."""
        self._setup()
        with threads(device=self.device_, size=work_size(spikes, self.n_states), blas=True):
            return self._fit(spikes)

    def _fit(self, spikes) -> SwitchingGLM:
        x, h = self._prepare(spikes, fitting=True)
        B, T, N = x.shape
        if self.n_states > B * T:
            raise ValueError(f"n_states ({self.n_states}) must not exceed the number of time bins ({B * T}).")
        self._init_params(x)
        n_bins = B * T
        const = float(self._constant(x).sum())
        opt = _Adam(self.params_.values(), lr=self.lr)
        gen = torch.Generator(device=self.device_).manual_seed(self.seed + 1)
        self.history_ = []
        self._em(x, h, trange(self.n_iter, desc=f"EM ({self.prior})", enabled=self.progress), opt, gen, const, n_bins)
        for p in self.params_.values():
            p.requires_grad_(False)
        self.n_iter_ = len(self.history_)
        return self

    def _em(self, x, h, steps, opt, gen, const, n_bins):
        for it in steps:
            with torch.no_grad():                                       # E-step with the expected couplings
                log_e = self._log_emissions(x, h, self._weight("mean"))
                post = hmm.forward_backward(log_e, self.log_start_, self.log_transitions_)
            ll = (float(post.log_likelihood.sum()) - const) / n_bins
            if not math.isfinite(ll):
                self._diverged(it, f"the log-likelihood is {ll}")
            self.history_.append(ll)
            if self.n_states > 1:                                       # closed-form transitions and start
                self.log_transitions_ = hmm.update_transitions(post.xi_sum, self.min_transition)
                start = post.gamma[:, 0].mean(0).clamp_min(self.min_transition)
                self.log_start_ = torch.log(start / start.sum())
            self._m_step(it, x, h, post.gamma.to(torch.float32), opt, gen, n_bins)
            if not all(bool(torch.isfinite(p).all()) for p in self.params_.values()):
                self._diverged(it, "the M-step produced non-finite parameters")

    def _m_step(self, it, x, h, gamma, opt, gen, n_bins):
        """``m_steps`` Adam steps on the expected complete-data log-likelihood plus the log prior, through
        the lab's training loop. One-hot: the first ``warmup`` M-steps use the expected adjacency
        softmax(a), the rest a Gumbel-softmax sample of it (the paper's relaxation)."""
        mode = ("sample" if it >= self.warmup else "mean") if self.prior == "one-hot" else "hard"

        def loss(_step):
            expected = self._expected_log_lik(x, h, self._weight(mode, gen), gamma, value=False)
            return -(expected + self.prior_weight * self._log_prior()) / n_bins

        correct = [lambda step, value: self._correct_extremes()] if self.prior == "one-hot" else []
        try:
            train(list(self.params_.values()), loss, self.m_steps, optimizer=opt, callbacks=correct,
                  check_every=self.m_steps, name="SwitchingGLM's M-step", progress=False)
        except Diverged:
            self._diverged(it, "the M-step loss became non-finite")

    def _diverged(self, it: int, what: str):
        """Stop a fit that has gone numerically wrong, leaving the estimator unfitted (no garbage model)."""
        for name in ("params_", "history_", "log_transitions_", "log_start_", "n_neurons_"):
            self.__dict__.pop(name, None)
        raise FloatingPointError(f"SwitchingGLM.fit diverged at EM iteration {it}: {what}; try a smaller lr "
                                 f"(now {self.lr:g}) or more data.")

    # ---------------------------------------------------------------- inference
    @torch.no_grad()
    def _eval_log_emissions(self, spikes, name="spikes"):
        self._check_fitted("params_")
        x, h = self._prepare(spikes, name)
        return x, self._log_emissions(x, h, self._weight("hard"))

    @_threads_by_size
    def predict_proba(self, spikes) -> np.ndarray:
        """Posterior state probabilities ``p(z_t = k | x)``, (trials, time, states)."""
        _, log_e = self._eval_log_emissions(spikes)
        return hmm.forward_backward(log_e, self.log_start_, self.log_transitions_).gamma.cpu().numpy()

    @_threads_by_size
    def predict(self, spikes) -> np.ndarray:
        """The Viterbi (most probable) state sequence, (trials, time)."""
        _, log_e = self._eval_log_emissions(spikes)
        return hmm.viterbi(log_e, self.log_start_, self.log_transitions_).cpu().numpy()

    def predict_states(self, spikes, method: str = "viterbi") -> np.ndarray:
        """States by ``method`` = "viterbi" (jointly most probable path) or "posterior" (per-bin argmax)."""
        if method == "viterbi":
            return self.predict(spikes)
        if method == "posterior":
            return self.predict_proba(spikes).argmax(-1)
        raise ValueError(f"method must be 'viterbi' or 'posterior', got {method!r}.")

    @_threads_by_size
    def log_likelihood(self, spikes, per: str = "bin") -> float | np.ndarray:
        """Marginal log-likelihood ``log p(x)`` (states summed out), in nats: ``per`` = "bin" (total divided by
        the number of time bins), "trial" (an array) or "total"."""
        if per not in ("bin", "trial", "total"):
            raise ValueError(f"per must be 'bin', 'trial' or 'total', got {per!r}.")
        x, log_e = self._eval_log_emissions(spikes)
        ll = hmm.log_likelihood(log_e, self.log_start_, self.log_transitions_) - self._constant(x)
        if per == "trial":
            return ll.cpu().numpy()
        total = float(ll.sum())
        return total / (x.shape[0] * x.shape[1]) if per == "bin" else total

    def score(self, spikes) -> float:
        """Held-out log-likelihood per time bin (nats)."""
        return self.log_likelihood(spikes, per="bin")

    # ---------------------------------------------------------------- states and learned parameters
    def permute_states(self, order) -> SwitchingGLM:
        """Relabel the states: new state ``k`` is old state ``order[k]``."""
        self._check_fitted("params_")
        order = np.asarray(order)
        if sorted(order.tolist()) != list(range(self.n_states)):
            raise ValueError(f"order must be a permutation of 0..{self.n_states - 1}, got {order.tolist()}.")
        idx = torch.as_tensor(order, device=self.device_)
        for name in ("weight", "logits", "strength"):
            if name in self.params_:
                self.params_[name] = self.params_[name][idx].clone()
        self.log_transitions_ = self.log_transitions_[idx][:, idx].clone()
        self.log_start_ = self.log_start_[idx].clone()
        return self

    @_threads_by_size
    def align_states(self, spikes, true_states) -> np.ndarray:
        """Relabel the states to best match ``true_states`` (Hungarian matching of the Viterbi path) and
        return the order applied. Extra model states keep their relative order after the matched ones."""
        pred = self.predict(spikes)
        true = np.asarray(true_states)
        if true.shape != pred.shape:
            raise ValueError(f"true_states must have shape {pred.shape} (trials, time), got {true.shape}.")
        perm = match_states(true, pred, self.n_states)                  # perm[k_true] = k_model
        rest = [k for k in range(self.n_states) if k not in set(perm.tolist())]
        order = np.concatenate([perm, np.asarray(rest, dtype=np.int64)])[: self.n_states]
        self.permute_states(order)
        return order

    @property
    def weights_(self) -> np.ndarray:
        self._check_fitted("params_")
        return self._weight("hard").detach().cpu().numpy()

    @property
    def bias_(self) -> np.ndarray:
        self._check_fitted("params_")
        return self.params_["bias"].detach().cpu().numpy()

    @property
    def transitions_(self) -> np.ndarray:
        self._check_fitted("params_")
        return self.log_transitions_.exp().cpu().numpy()

    @property
    def start_(self) -> np.ndarray:
        self._check_fitted("params_")
        return self.log_start_.exp().cpu().numpy()

    @property
    def prior_mean_(self) -> np.ndarray | None:
        """The Gaussian prior's shared mean ``W_bar`` (post, pre); None for the other priors."""
        self._check_fitted("params_")
        return self.params_["weight"].mean(0).detach().cpu().numpy() if self.prior == "gaussian" else None

    @property
    def adjacency_prior_(self) -> np.ndarray | None:
        """The one-hot prior's probabilities (post, pre, [inhibitory, absent, excitatory]); None otherwise."""
        self._check_fitted("params_")
        if self.prior != "one-hot":
            return None
        return torch.softmax(self.params_["prior_logits"], -1).detach().cpu().numpy()

    @property
    def connection_score_(self) -> np.ndarray:
        """How strongly the model believes in each connection, state-independently (post, pre)."""
        self._check_fitted("params_")
        if self.prior == "one-hot":
            return 1.0 - self.adjacency_prior_[..., 1]
        if self.prior == "gaussian":
            return np.abs(self.prior_mean_)
        return np.abs(self.weights_).mean(0)
