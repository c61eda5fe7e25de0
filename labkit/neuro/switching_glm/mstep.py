"""What one M-step of the switching GLM computes, written for speed and checked against autograd.

The expected complete-data log-likelihood ``sum gamma_btk log p(x_bt | eta_btk)`` of the Poisson (three
links) and Bernoulli emissions with its gradient written by hand (:class:`_ExpectedLogLik`; the M-step needs
only the gradient, :class:`_ExpectedLogLikGrad`), the Gumbel-softmax density of the one-hot prior, and
Adam on a list of tensors (torch.optim's update, without the seconds its first import costs).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["gumbel_softmax_log_density"]


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

    def zero_grad(self, set_to_none: bool = True):
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
