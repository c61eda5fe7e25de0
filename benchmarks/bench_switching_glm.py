"""Benchmark: the Poisson HMM EM iteration of labkit.neuro.switching_glm against hmmlearn and dynamax.

No peer library fits a Poisson GLM-HMM with couplings between neurons, so the comparison is on the part
they share: EM for a plain Poisson HMM, N = 50 independent neurons, T = 10,000
bins in one sequence, K = 4 and 8 states, 20 EM iterations from the same initialisation (labkit's
``PoissonHMM.init_params``: rates at the data mean times Gamma(5, 1/5) noise, a sticky 0.95 chain, a
uniform start), each library with (near) maximum-likelihood M-steps (hmmlearn's defaults; dynamax with
Dirichlet(1.001) and Gamma(1.001, 0.001) priors, whose modes are the ML estimates to 1e-3 of a count;
exactly flat ones give log 0 for a start state no trial begins in). Reported per library:

* per iteration: labkit's EM loop (``PoissonHMM.em_seconds_``, input checks and set-up excluded) and
  hmmlearn's whole fit, divided by 20; for dynamax the warm time: its own EM step (``e_step`` and
  ``m_step`` in ``lax.scan``, as ``fit_em`` builds it) compiled once, then timed on a later call;
* whole fit: one 20-iteration call as a user makes it (dynamax's ``fit_em`` compiles on every call);
* the final log-likelihood and the Viterbi state accuracy after Hungarian matching (not timed).

Then the coupled GLM-HMM's own EM iteration (``SwitchingGLM``, no prior and one-hot prior) at the same
sizes: one E-step plus ``m_steps`` gradient steps. Timings are medians of ``--repeats`` runs, taken
round-robin over the libraries in this one process, printed as ratios; never asserted in tests.

    python benchmarks/bench_switching_glm.py              # the workload above
    python benchmarks/bench_switching_glm.py --quick      # a smaller one, seconds

Peers: ``pip install hmmlearn==0.3.3 dynamax==1.0.3`` (JAX on the CPU) into a separate environment.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import time

import numpy as np
import torch

from labkit.neuro.switching_glm import PoissonHMM, SwitchingGLM, state_accuracy


def simulate_poisson_hmm(n_neurons: int, n_time: int, n_states: int, seed: int = 0):
    """Counts from a sticky Poisson HMM: self-transition 0.99, rates log-normal around 0.5 spikes per bin."""
    rng = np.random.default_rng(seed)
    rates = 0.5 * np.exp(0.8 * rng.standard_normal((n_states, n_neurons)))
    trans = np.full((n_states, n_states), 0.01 / (n_states - 1))
    np.fill_diagonal(trans, 0.99)
    z = np.empty(n_time, dtype=np.int64)
    z[0] = rng.integers(n_states)
    u = rng.random(n_time)
    cum = np.cumsum(trans, axis=1)
    for t in range(1, n_time):
        z[t] = min(int((u[t] > cum[z[t - 1]]).sum()), n_states - 1)
    return rng.poisson(rates[z]).astype(np.int64), z


def timed(fn, repeats: int):
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


# ----------------------------------------------------------------------------------- the libraries
def fit_labkit(x, init, n_iter):
    m = PoissonHMM(init["rates"].shape[0], n_iter=n_iter, tol=None)
    m.init_params(x, rates=init["rates"], transitions=init["transitions"], start=init["start"])
    m.fit(x, init=False)
    fit_labkit.em_seconds = m.em_seconds_
    return lambda: (m.history_[-1], m.predict(x)[0])


def fit_hmmlearn(x, init, n_iter):
    import logging

    from hmmlearn.hmm import PoissonHMM as HLPoisson

    # tol=-inf runs every iteration; its monitor then logs each last-digit wobble of the log-likelihood
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)

    K = init["rates"].shape[0]
    m = HLPoisson(n_components=K, n_iter=n_iter, tol=-np.inf, init_params="", params="stl")
    m.startprob_, m.transmat_, m.lambdas_ = init["start"], init["transitions"], init["rates"]
    m.fit(x)
    return lambda: (m.monitor_.history[-1], m.predict(x))


def _dynamax_model(init, x):
    import jax.numpy as jnp
    from dynamax.hidden_markov_model import PoissonHMM as DXPoisson

    K, N = init["rates"].shape
    m = DXPoisson(K, N, initial_probs_concentration=1.001, transition_matrix_concentration=1.001,
                  emission_prior_concentration=1.001, emission_prior_rate=1e-3)
    params, props = m.initialize(initial_probs=jnp.asarray(init["start"], jnp.float32),
                                 transition_matrix=jnp.asarray(init["transitions"], jnp.float32),
                                 emission_rates=jnp.asarray(init["rates"], jnp.float32))
    return m, params, props, jnp.asarray(x, jnp.float32)


def fit_dynamax(x, init, n_iter):
    m, params, props, xs = _dynamax_model(init, x)
    params, lps = m.fit_em(params, props, xs, num_iters=n_iter, verbose=False)
    lps.block_until_ready()
    return lambda: (float(m.marginal_log_prob(params, xs)), np.asarray(m.most_likely_states(params, xs)))


def dynamax_warm(x, init, n_iter):
    """dynamax's EM loop exactly as ``fit_em`` builds it, compiled once: returns a function that runs it."""
    from functools import partial

    from jax import jit, lax, vmap

    m, params, props, xs = _dynamax_model(init, x)
    batch = xs[None]

    def em_step(carry, _):
        params, m_step_state = carry
        batch_stats, lls = vmap(partial(m.e_step, params))(batch, None)
        lp = m.log_prior(params) + lls.sum()
        params, m_step_state = m.m_step(params, props, batch_stats, m_step_state)
        return (params, m_step_state), lp

    run = jit(lambda carry: lax.scan(em_step, carry, xs=None, length=n_iter))
    carry = (params, m.initialize_m_step_state(params, props))
    run(carry)[1].block_until_ready()                                        # compile
    return lambda: run(carry)[1].block_until_ready()


def peer_versions():
    out = {}
    for name in ("hmmlearn", "dynamax", "jax"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def bench_hmm(N, T, K, n_iter, repeats, libs):
    x, z = simulate_poisson_hmm(N, T, K, seed=K)
    m0 = PoissonHMM(K, seed=0).init_params(x)
    init = {"rates": m0.rates_.numpy(), "transitions": m0.log_transitions_.exp().numpy(),
            "start": m0.log_start_.exp().numpy()}
    for fit in libs.values():
        fit(x, init, 2)                                                   # imports, first-call costs
    warm = dynamax_warm(x, init, n_iter) if "dynamax" in libs else None
    # round-robin over the libraries, so that a burst of load elsewhere on the machine hits them alike
    whole = {name: [] for name in libs}
    per_iter = {name: [] for name in libs}
    results = {}
    for _ in range(repeats):
        for name, fit in libs.items():
            t0 = time.perf_counter()
            results[name] = fit(x, init, n_iter)
            whole[name].append(time.perf_counter() - t0)
            if name == "dynamax":
                t0 = time.perf_counter()
                warm()
                per_iter[name].append((time.perf_counter() - t0) / n_iter)
            elif name == "labkit":
                per_iter[name].append(fit_labkit.em_seconds / n_iter)
            else:
                per_iter[name].append(whole[name][-1] / n_iter)
    rows = {}
    for name in libs:
        ll, states = results[name]()                                      # scored outside the timing
        rows[name] = dict(per_iter=statistics.median(per_iter[name]), whole=statistics.median(whole[name]), ll=ll,
                          acc=state_accuracy(z, states))
    return rows


def bench_glm(N, T, K, repeats, m_steps, n_trials=1):
    """One EM iteration of the coupled GLM-HMM (E-step + m_steps gradient steps) on simulated GLM data."""
    from labkit.data.networks import random_backbone
    from labkit.neuro.switching_glm import simulate_switching_glm

    data = simulate_switching_glm(random_backbone(N, density=0.1, seed=0), n_states=K, n_trials=n_trials,
                                  n_time_bins=T // n_trials, seed=0)
    out = {}
    for prior in ("none", "one-hot"):
        def fit(n_iter):
            return SwitchingGLM(K, prior, n_iter=n_iter, m_steps=m_steps, warmup=0).fit(data.spikes)
        fit(1)
        t1, _ = timed(lambda: fit(2), repeats)
        t2, _ = timed(lambda: fit(4), repeats)
        out[prior] = (t2 - t1) / 2
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N=20, T=2,000, 3 repeats")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--states", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--m-steps", type=int, default=20, help="gradient steps per M-step of the GLM-HMM")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit torch, BLAS and XLA to this many threads (default: each library's own)")
    args = ap.parse_args(argv)
    if args.threads:
        import os

        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                                   f"intra_op_parallelism_threads={args.threads}")
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    N, T, n_iter = (20, 2000, 20) if args.quick else (50, 10_000, 20)
    versions = peer_versions()
    libs = {"labkit": fit_labkit}
    if versions["hmmlearn"]:
        libs["hmmlearn"] = fit_hmmlearn
    if versions["dynamax"]:
        import jax

        jax.config.update("jax_platform_name", "cpu")
        libs["dynamax"] = fit_dynamax
    print(f"Poisson HMM EM: N={N}, T={T:,}, {n_iter} iterations, median of {args.repeats}; torch {torch.__version__}, "
          f"numpy {np.__version__}, threads {args.threads or 'default'}, "
          + ", ".join(f"{k} {v or 'not installed'}" for k, v in versions.items()))
    print(f"{'K':>2} {'library':<9} {'per iter (ms)':>14} {'whole fit (s)':>14} {'log-likelihood':>16} {'accuracy':>9}"
          f" {'iter: peer/labkit':>18} {'fit: peer/labkit':>17}")
    for K in args.states:
        rows = bench_hmm(N, T, K, n_iter, args.repeats, libs)
        base = rows["labkit"]
        for name, r in rows.items():
            ratio = ("" if name == "labkit"
                     else f"{r['per_iter'] / base['per_iter']:18.1f} {r['whole'] / base['whole']:17.1f}")
            print(f"{K:>2} {name:<9} {1e3 * r['per_iter']:14.2f} {r['whole']:14.3f} "
                  f"{r['ll']:16.1f} {r['acc']:9.4f} {ratio}")
    print(f"\nCoupled GLM-HMM (SwitchingGLM), N={N}, T={T:,}: "
          f"one EM iteration = E-step + {args.m_steps} gradient steps")
    for K in args.states:
        glm = bench_glm(N, T, K, args.repeats, args.m_steps)
        print(f"{K:>2} " + "   ".join(f"prior={p}: {1e3 * v:8.1f} ms" for p, v in glm.items()))


if __name__ == "__main__":
    main()
