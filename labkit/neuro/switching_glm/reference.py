"""The forward–backward recursion as a textbook writes it: in log space, one trial and one bin at a time.

Read this first. An HMM with start probabilities ``pi``, transitions ``A[i, j] = p(z_t = j | z_{t-1} = i)``
and emissions ``e_t(k) = p(x_t | z_t = k)`` has (Rabiner 1989)

    log alpha_0(k) = log pi_k + log e_0(k)
    log alpha_t(j) = log e_t(j) + logsumexp_i [log alpha_{t-1}(i) + log A_ij]        (forward)
    log beta_{T-1}(k) = 0
    log beta_t(i) = logsumexp_j [log A_ij + log e_{t+1}(j) + log beta_{t+1}(j)]        (backward)

    log p(x) = logsumexp_k log alpha_{T-1}(k)
    gamma_t(k) = p(z_t = k | x) = exp(log alpha_t(k) + log beta_t(k) - log p(x))
    xi_t(i, j) = p(z_{t-1} = i, z_t = j | x)
               = exp(log alpha_{t-1}(i) + log A_ij + log e_t(j) + log beta_t(j) - log p(x)).

It is exact and safe (nothing leaves the floating-point range in log space), and slow: T dependent steps of
a few microseconds each, per trial. :func:`~.hmm.forward_backward` computes the same numbers with the
chunked, rescaled engine of :mod:`._chunked`, batched over trials; the tests hold it to this reference.
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

__all__ = ["reference_forward_backward"]


def reference_forward_backward(log_emissions, log_pi, log_transitions):
    """Posteriors, summed pair posteriors and log-likelihoods by the log-space recursion above.

    ``log_emissions``: (trials, time, states); ``log_pi``: (states,) or (trials, states); ``log_transitions``:
    (states, states). Returns ``(gamma, xi_sum, log_likelihood)``: (trials, time, states), (states, states)
    summed over trials and bins, and (trials,), as NumPy arrays.
    """
    le, lp, la = np.asarray(log_emissions, float), np.asarray(log_pi, float), np.asarray(log_transitions, float)
    B, T, K = le.shape
    gammas, xi, lls = [], np.zeros((K, K)), []
    for b in range(B):
        log_alpha, log_beta = np.zeros((T, K)), np.zeros((T, K))
        log_alpha[0] = (lp[b] if lp.ndim == 2 else lp) + le[b, 0]
        for t in range(1, T):
            log_alpha[t] = le[b, t] + logsumexp(log_alpha[t - 1][:, None] + la, axis=0)
        for t in range(T - 2, -1, -1):
            log_beta[t] = logsumexp(la + le[b, t + 1] + log_beta[t + 1], axis=1)
        ll = logsumexp(log_alpha[-1])
        lls.append(ll)
        gammas.append(np.exp(log_alpha + log_beta - ll))
        for t in range(1, T):
            xi += np.exp(log_alpha[t - 1][:, None] + la + le[b, t] + log_beta[t] - ll)
    return np.array(gammas), xi, np.array(lls)
