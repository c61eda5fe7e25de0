"""State-switching GLMs (HMM-GLMs) with no prior, a Gaussian prior or a one-hot prior on the couplings.

Li, Kim, Rodgers, Choi & Wu (2023), "One-hot Generalized Linear Model for Switching Brain State
Discovery" (ICLR 2024; official code github.com/JerrySoybean/onehot-hmmglm). The emission model of
state ``k`` is a GLM (their eq. 1)

    x_{t,n} | z_t = k ~ Poisson(f_{t,n}),   f_{t,n} = sigma(b_n + sum_m W_{k, n<-m} h_{t,m}),

with ``h`` the spike history through a single exponential basis (:func:`~.simulate.convolve_history`),
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

import math

import numpy as np
import torch
import torch.nn.functional as F

from labkit.neuro.switching_glm import hmm
from labkit.neuro.switching_glm.metrics import match_states
from labkit.neuro.switching_glm.simulate import convolve_history, history_basis

__all__ = ["SwitchingGLM", "gumbel_softmax_log_density"]

PRIORS = ("none", "gaussian", "one-hot")
LINKS = ("sigmoid", "softplus", "exp")
EMISSIONS = ("poisson", "bernoulli")


def gumbel_softmax_log_density(log_y: torch.Tensor, log_p: torch.Tensor, tau: float) -> torch.Tensor:
    """Log density of the Gumbel-softmax (concrete) distribution at ``y`` (given as ``log y``) with class
    probabilities ``p`` (``log p``, normalised or not) and temperature ``tau`` (Jang et al. 2017, eq. 2;
    Maddison et al. 2017):
    ``log Gamma(k) + (k-1) log tau - k logsumexp_i(log p_i - tau log y_i) + sum_i (log p_i - (tau+1) log y_i)``.
    """
    k = log_p.shape[-1]
    return (math.lgamma(k) + (k - 1) * math.log(tau)
            - k * torch.logsumexp(log_p - tau * log_y, dim=-1)
            + (log_p - (tau + 1) * log_y).sum(-1))


def _threads_by_size(method):
    """Run an inference method under :func:`hmm.few_threads`, sized by its spike array."""
    import functools

    @functools.wraps(method)
    def wrapper(self, spikes, *args, **kwargs):
        size = int(np.prod(np.shape(spikes))) * self.n_states if not isinstance(spikes, str) else 0
        with hmm.few_threads(size, self.device):
            return method(self, spikes, *args, **kwargs)
    return wrapper


def _positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _positive_float(name, value, *, allow_zero=False):
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}.")
    return float(value)


def _emission_terms(eta: torch.Tensor, x: torch.Tensor, link: str, emission: str, grad: bool):
    """Elementwise ``log p(x | eta)`` (without ``-log x!``) and, if ``grad``, its derivative in ``eta``.

    Poisson with rate sigmoid(eta): ``x log s - s``, derivative ``(1 - s)(x - s)``; softplus: ``x log l - l``,
    ``sigmoid(eta)(x / l - 1)``; exp: ``x eta - e^eta``, ``x - e^eta``; Bernoulli: ``x eta - softplus(eta)``,
    ``x - sigmoid(eta)``.
    """
    d = None
    if emission == "bernoulli":
        s = torch.sigmoid(eta)
        ll = x * eta - F.softplus(eta)
        if grad:
            d = x - s
    elif link == "sigmoid":
        s = torch.sigmoid(eta)
        ll = x * torch.log(s.clamp_min(1e-37)) - s         # the clamp only bites at rates below 1e-37
        if grad:
            d = (1 - s) * (x - s)
    elif link == "softplus":
        rate = F.softplus(eta)
        log_rate = torch.where(eta > -20.0, torch.log(rate.clamp_min(1e-30)), eta)
        ll = x * log_rate - rate
        if grad:
            d = torch.sigmoid(eta) * (x / rate.clamp_min(1e-30) - 1)
    else:
        rate = torch.exp(eta)
        ll = x * eta - rate
        if grad:
            d = x - rate
    return ll, d


def _emission_grad(eta: torch.Tensor, x: torch.Tensor, gamma: torch.Tensor, link: str, emission: str) -> torch.Tensor:
    """``gamma[..., None] * d log p(x | eta) / d eta`` (the sigmoid-Poisson case, the paper's, in five passes
    over the data, four of them in place)."""
    if emission == "poisson" and link == "sigmoid":
        s = torch.sigmoid(eta)
        t = torch.sub(x, s)                                             # x - s
        s.neg_().add_(1.0).mul_(t)                                      # (1 - s)(x - s)
        return s.mul_(gamma.unsqueeze(-1))
    _, d = _emission_terms(eta, x, link, emission, grad=True)
    return d.mul_(gamma.unsqueeze(-1))


class _ExpectedLogLik(torch.autograd.Function):
    """``sum gamma[..., None] * log p(x | eta)`` over everything; the gradient in ``eta`` is computed in the
    forward pass (it is always needed) so the backward pass is one multiplication."""

    @staticmethod
    def forward(ctx, eta, x, gamma, link, emission):
        ll, d = _emission_terms(eta, x, link, emission, grad=True)
        g = gamma.unsqueeze(-1)
        ctx.save_for_backward(d.mul_(g))
        return (ll.sum(-1) * gamma).sum()

    @staticmethod
    def backward(ctx, grad_out):
        (d,) = ctx.saved_tensors
        return d * grad_out, None, None, None, None


class _ExpectedLogLikGrad(torch.autograd.Function):
    """The gradient of :class:`_ExpectedLogLik` without its value: the forward pass returns 0 and keeps
    only the derivative. An M-step needs gradients only (the log-likelihood comes from the E-step), and
    the value costs as much again as the derivative."""

    @staticmethod
    def forward(ctx, eta, x, gamma, link, emission):
        ctx.save_for_backward(_emission_grad(eta, x, gamma, link, emission))
        return eta.new_zeros(())

    @staticmethod
    def backward(ctx, grad_out):
        (d,) = ctx.saved_tensors
        return d.mul_(grad_out), None, None, None, None


class _Adam:
    """Adam (Kingma & Ba 2015) with torch.optim.Adam's update, on a list of tensors. Written out because
    ``torch.optim`` imports torch's compiler stack on first use, seconds before the first fit can start."""

    def __init__(self, params, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, (self.b1, self.b2), self.eps, self.t = list(params), lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.lerp_(g, 1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.addcdiv_(m, (v.sqrt() / math.sqrt(c2)).add_(self.eps), value=-self.lr / c1)


class SwitchingGLM:
    """A hidden Markov model whose states are coupled Poisson (or Bernoulli) GLMs; see the module docstring.

    ``fit(spikes)`` takes counts of shape (trials, time, neurons) (or (time, neurons)); after fitting:
    ``weights_`` (states, post, pre), ``bias_`` (neurons,), ``transitions_`` (states, states),
    ``start_`` (states,), ``history_`` (training log-likelihood per bin at each EM iteration) and the
    learned prior: ``prior_mean_`` (Gaussian), ``adjacency_prior_`` (one-hot: (post, pre, 3)
    probabilities of inhibitory / absent / excitatory) and ``connection_score_``, a (post, pre) score of
    how likely each connection is anatomical (one-hot: ``1 - P(absent)``; Gaussian: ``|W_bar|``;
    none: ``mean_k |W_k|``).
    """

    def __init__(self, n_states: int = 3, prior: str = "none", *, link: str = "sigmoid", emission: str = "poisson",
                 window: int = 5, decay: float = 1.0, n_iter: int = 30, m_steps: int = 20, lr: float = 0.05,
                 prior_scale: float = 1.0 / 3.0, tau: float = 0.2, prior_weight: float = 1.0,
                 min_transition: float = math.exp(-8), init_scale: float = 0.1, prior_absent: float = 0.8,
                 warmup: int = 10, device: str | torch.device = "auto", seed: int = 0, progress: bool = False):
        self.n_states = _positive_int("n_states", n_states)
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(map(repr, PRIORS))}, got {prior!r}.")
        if link not in LINKS:
            raise ValueError(f"link must be one of {', '.join(map(repr, LINKS))}, got {link!r}.")
        if emission not in EMISSIONS:
            raise ValueError(f"emission must be one of {', '.join(map(repr, EMISSIONS))}, got {emission!r}.")
        if emission == "bernoulli" and link != "sigmoid":
            raise ValueError(f"link must be 'sigmoid' for Bernoulli emissions (a probability), got {link!r}.")
        self.prior, self.link, self.emission = prior, link, emission
        self.window = _positive_int("window", window)
        self.decay = _positive_float("decay", decay, allow_zero=True)
        self.n_iter = _positive_int("n_iter", n_iter)
        self.m_steps = _positive_int("m_steps", m_steps)
        self.lr = _positive_float("lr", lr)
        self.prior_scale = _positive_float("prior_scale", prior_scale)
        self.tau = _positive_float("tau", tau)
        self.prior_weight = _positive_float("prior_weight", prior_weight, allow_zero=True)
        self.min_transition = _positive_float("min_transition", min_transition, allow_zero=True)
        if self.n_states > 1 and self.min_transition >= 1.0 / self.n_states:
            raise ValueError(f"min_transition must be below 1/n_states = {1 / self.n_states:.3g}, got {min_transition!r}.")
        self.init_scale = _positive_float("init_scale", init_scale, allow_zero=True)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
        self.seed, self.progress = int(seed), bool(progress)
        if isinstance(prior_absent, bool) or not isinstance(prior_absent, (int, float, np.floating)) or not (
                0.0 < prior_absent < 1.0):
            raise ValueError(f"prior_absent must be a probability strictly between 0 and 1, got {prior_absent!r}.")
        self.prior_absent = float(prior_absent)
        self.warmup = _positive_int("warmup", warmup, low=0)
        from labkit.core.device import resolve_device

        self.device = resolve_device(device)
        self.basis = history_basis(self.window, self.decay)

    # ---------------------------------------------------------------- data
    def _prepare(self, spikes, name="spikes", fitting=False):
        x = hmm.check_counts(spikes, name)
        if self.emission == "bernoulli" and (x > 1).any():
            raise ValueError(f"{name} must be binary (0 or 1 per bin) for Bernoulli emissions; counts above 1 found.")
        if not fitting and hasattr(self, "n_neurons_") and x.shape[-1] != self.n_neurons_:
            raise ValueError(f"{name} must have {self.n_neurons_} neurons (the fitted model's), got {x.shape[-1]}.")
        x = x.to(self.device, torch.float32)
        h = convolve_history(x, torch.as_tensor(self.basis, dtype=torch.float32, device=self.device))
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
        dev = self.device
        self.params_ = {"bias": b.clone().to(dev)}
        if self.prior == "one-hot":
            self.params_["logits"] = torch.zeros(K, N, N, 3, device=dev)           # uniform, as in the official code
            self.params_["strength"] = (self.init_scale * torch.randn(K, N, N, generator=g)).to(dev)
            p0 = self.prior_absent
            self.params_["prior_logits"] = torch.log(torch.tensor([(1 - p0) / 2, p0, (1 - p0) / 2])).expand(N, N, 3).clone().to(dev)
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
        return torch.zeros((), device=self.device)

    @torch.no_grad()
    def _correct_extremes(self) -> None:
        """Halve logits whose smallest log-probability is below -20 (the official ``correct_extreme_onehot``)."""
        for name in ("logits", "prior_logits"):
            v = self.params_[name]
            bad = (torch.log_softmax(v, -1) < -20).any(-1, keepdim=True)
            v.mul_(torch.where(bad, 0.5, 1.0))

    # ---------------------------------------------------------------- fitting
    def fit(self, spikes) -> "SwitchingGLM":
        """EM from the initialisation of the official code (sticky chain, small random couplings)."""
        size = int(np.prod(np.shape(spikes))) * self.n_states if not isinstance(spikes, str) else 0
        with hmm.few_threads(size, self.device):
            return self._fit(spikes)

    def _fit(self, spikes) -> "SwitchingGLM":
        x, h = self._prepare(spikes, fitting=True)
        B, T, N = x.shape
        if self.n_states > B * T:
            raise ValueError(f"n_states ({self.n_states}) must not exceed the number of time bins ({B * T}).")
        self._init_params(x)
        n_bins = B * T
        const = float(self._constant(x).sum())
        opt = _Adam(self.params_.values(), lr=self.lr)
        gen = torch.Generator(device=self.device).manual_seed(self.seed + 1)
        self.history_ = []
        from labkit.core.progress import trange

        steps = trange(self.n_iter, desc=f"EM ({self.prior})") if self.progress else range(self.n_iter)
        self._em(x, h, steps, opt, gen, const, n_bins)
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
            gamma = post.gamma.to(torch.float32)
            # one-hot: the first `warmup` M-steps use the expected adjacency softmax(a), the rest a
            # Gumbel-softmax sample of it (the paper's relaxation)
            mode = ("sample" if it >= self.warmup else "mean") if self.prior == "one-hot" else "hard"
            for _ in range(self.m_steps):
                expected = self._expected_log_lik(x, h, self._weight(mode, gen), gamma, value=False)
                loss = -(expected + self.prior_weight * self._log_prior()) / n_bins
                opt.zero_grad()
                loss.backward()
                opt.step()
                if self.prior == "one-hot":
                    self._correct_extremes()
            if not all(bool(torch.isfinite(p).all()) for p in self.params_.values()):
                self._diverged(it, "the M-step produced non-finite parameters")

    def _diverged(self, it: int, what: str):
        """Stop a fit that has gone numerically wrong, leaving the estimator unfitted (no garbage model)."""
        for name in ("params_", "history_", "log_transitions_", "log_start_", "n_neurons_"):
            self.__dict__.pop(name, None)
        raise FloatingPointError(f"SwitchingGLM.fit diverged at EM iteration {it}: {what}; try a smaller lr "
                                 f"(now {self.lr:g}) or more data.")

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise ValueError("This SwitchingGLM is not fitted yet; call fit(spikes) first.")

    # ---------------------------------------------------------------- inference
    @torch.no_grad()
    def _eval_log_emissions(self, spikes, name="spikes"):
        self._check_fitted()
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
    def permute_states(self, order) -> "SwitchingGLM":
        """Relabel the states: new state ``k`` is old state ``order[k]``."""
        self._check_fitted()
        order = np.asarray(order)
        if sorted(order.tolist()) != list(range(self.n_states)):
            raise ValueError(f"order must be a permutation of 0..{self.n_states - 1}, got {order.tolist()}.")
        idx = torch.as_tensor(order, device=self.device)
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
        self._check_fitted()
        return self._weight("hard").detach().cpu().numpy()

    @property
    def bias_(self) -> np.ndarray:
        self._check_fitted()
        return self.params_["bias"].detach().cpu().numpy()

    @property
    def transitions_(self) -> np.ndarray:
        self._check_fitted()
        return self.log_transitions_.exp().cpu().numpy()

    @property
    def start_(self) -> np.ndarray:
        self._check_fitted()
        return self.log_start_.exp().cpu().numpy()

    @property
    def prior_mean_(self) -> np.ndarray | None:
        """The Gaussian prior's shared mean ``W_bar`` (post, pre); None for the other priors."""
        self._check_fitted()
        return self.params_["weight"].mean(0).detach().cpu().numpy() if self.prior == "gaussian" else None

    @property
    def adjacency_prior_(self) -> np.ndarray | None:
        """The one-hot prior's probabilities (post, pre, [inhibitory, absent, excitatory]); None otherwise."""
        self._check_fitted()
        if self.prior != "one-hot":
            return None
        return torch.softmax(self.params_["prior_logits"], -1).detach().cpu().numpy()

    @property
    def connection_score_(self) -> np.ndarray:
        """How strongly the model believes in each connection, state-independently (post, pre)."""
        self._check_fitted()
        if self.prior == "one-hot":
            return 1.0 - self.adjacency_prior_[..., 1]
        if self.prior == "gaussian":
            return np.abs(self.prior_mean_)
        return np.abs(self.weights_).mean(0)
