"""Benchmark: labkit's batched HALS NTF against tensorly's ``non_negative_parafac_hals``.

Workload: planted non-negative rank-R tensors (uniform [0, 1) factors),
5% Gaussian noise (relative Frobenius norm), clipped at zero, at three sizes. Both solvers start from
the *same* random factors and run until their own convergence test stops them (tensorly: absolute
error change < 1e-7; labkit: relative error change < 1e-6). The "noise floor" target is 0.1% above the
lowest final error of all solvers; we report the time each needs to reach it, the final errors and
the ratios. For tensorly that is a re-run capped at the iteration count that first reaches it; for
labkit it is read off the run's own clock (``NTFResult.seconds``, from the call to the end of that
iteration on X), because a cap would also cut short the iterations on the compressed tensor that come
first. Both are medians of repeats and include everything from the call on (checks, compression).
"labkit" is ``ntf_hals`` as a user calls it (``compress="auto"``: Tucker compression first); the
rows below it switch the compression and then the extrapolation off.

Both run single-threaded (torch.set_num_threads(1), BLAS capped with threadpoolctl) so the ratio is
not an artefact of how the shared 2-core machine is loaded, and both in float32 (the tensor and the
starting factors are cast before either sees them), so the ratio is not one of precisions either.
tensorly is a benchmark-only dependency.

    .venv/bin/python benchmarks/bench_dynamic_connectome.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from labkit.neuro.dynamic_connectome.ntf import ntf_hals, random_init


def planted(shape, rank, noise, seed):
    rng = np.random.default_rng(seed)
    fs = [rng.random((n, rank)) for n in shape]
    X0 = np.einsum("ir,jr,kr->ijk", *fs)
    E = rng.standard_normal(X0.shape)
    X = np.clip(X0 + noise * np.linalg.norm(X0) / np.linalg.norm(E) * E, 0.0, None)
    return X, float(np.linalg.norm(X - X0) / np.linalg.norm(X))


def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def run_tensorly(X, rank, init, n_iter, tol, backend="numpy"):
    import tensorly as tl
    from tensorly.cp_tensor import CPTensor
    from tensorly.decomposition import non_negative_parafac_hals

    tl.set_backend(backend)
    T = tl.tensor(X.astype(np.float32))
    cp0 = CPTensor((tl.ones(rank, **tl.context(T)), [tl.tensor(f.astype(np.float32)) for f in init]))
    _, errs = non_negative_parafac_hals(T, rank, init=cp0, n_iter_max=n_iter, tol=tol, return_errors=True)
    tl.set_backend("numpy")
    return np.array([float(e) for e in errs])


def run_labkit(X, rank, init, n_iter, tol, extrapolate=True, compress="auto"):
    """labkit's error history on X and the seconds from the call to the end of each of those iterations."""
    res = ntf_hals(X, rank, init=init, max_iter=n_iter, tol=tol, extrapolate=extrapolate, dtype=torch.float32,
                   compress=compress)
    n = int(res.n_iter[0])
    return res.errors[0, :n].numpy(), res.seconds[:n].numpy(), int(res.compressed_iter[0])


def labkit_time_to(hit, repeats, *args, **kwargs):
    """Median over repeats of the seconds from the call to the end of iteration ``hit`` (1-based) on X.

    Read off the run's own clock rather than from a re-run capped at ``hit`` iterations: a cap would
    also cut short the iterations on the compressed tensor that come first."""
    return float(np.median([run_labkit(*args, **kwargs)[1][hit - 1] for _ in range(repeats)]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="the smallest two sizes, one repeat")
    ap.add_argument("--draws", type=int, default=3, help="other draws of the 200x200x40 tensor to time (0: none)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sizes = [((100, 100, 20), 4), ((200, 200, 40), 6), ((300, 300, 40), 8)]
    if args.quick:
        sizes = sizes[:2]
    repeats = 1 if args.quick else 3
    peers = [("tensorly (numpy)", "numpy"), ("tensorly (pytorch backend)", "pytorch")]
    rows = []
    with threadpool_limits(1):
        for shape, rank in sizes:
            X, floor = planted(shape, rank, 0.05, seed=0)
            init = [f[0].double().numpy() for f in random_init(shape, rank, 1, seed=1, dtype=torch.float64)]
            variants = {"labkit": {}, "labkit, not compressed": {"compress": None},
                        "labkit, plain HALS": {"compress": None, "extrapolate": False}}
            full, compressed = {}, {}
            for name, kw in variants.items():
                full[name], _, compressed[name] = run_labkit(X, rank, init, 1000, 1e-6, **kw)
            for name, backend in peers:
                full[name] = run_tensorly(X, rank, init, 1000, 1e-7, backend)
            target = 1.001 * min(e[-1] for e in full.values())
            hit = {k: int(np.argmax(e <= target)) + 1 if (e <= target).any() else None for k, e in full.items()}
            t = {}
            for name, kw in variants.items():
                if hit[name]:
                    t[name] = labkit_time_to(hit[name], repeats, X, rank, init, 1000, 1e-6, **kw)
            for name, backend in peers:
                if hit[name]:
                    t[name] = median_time(lambda: run_tensorly(X, rank, init, hit[name], 0.0, backend), repeats)
            for name in full:
                iters = (hit[name] if name not in compressed or not compressed[name]
                         else f"{compressed[name]}+{hit[name]}")
                rows.append((f"{shape[0]}x{shape[1]}x{shape[2]} r{rank}", name, floor, target, iters,
                             t.get(name), full[name][-1], len(full[name])))
            print(f"done {shape} rank {rank}", flush=True)

    print("\nTime to the noise floor (target = 1.001 x the lowest final error), single thread each;")
    print("time ratio = solver's time / labkit's time (above 1: labkit is faster); err ratio likewise for final errors")
    print("iters: iterations to reach the target; a+b: a on the Tucker-compressed tensor, then b on X")
    print(f"{'tensor':<18} {'solver':<28} {'iters':>5} {'time (s)':>9} {'final err':>10} {'iters run':>9} "
          f"{'time ratio':>10} {'err ratio':>9}")
    for shape in dict.fromkeys(r[0] for r in rows):
        mine = next(r for r in rows if r[0] == shape and r[1] == "labkit")
        for r in (x for x in rows if x[0] == shape):
            speed = (r[5] / mine[5]) if (r[5] and mine[5]) else float("nan")
            print(f"{r[0]:<18} {r[1]:<28} {str(r[4]):>5} {r[5] if r[5] is not None else float('nan'):9.3f} "
                  f"{r[6]:10.6f} {r[7]:9d} {speed:10.2f} {r[6] / mine[6]:9.4f}")
        print(f"{'':<18} (planted noise floor {mine[2]:.5f}; target {mine[3]:.5f})")
    if args.draws:
        other_draws(args.draws, repeats)


def other_draws(n_draws, repeats, shape=(200, 200, 40), rank=6):
    """The target workload drawn again (planted tensor and start from other seeds): labkit as a user
    calls it against tensorly (numpy), so the ratio above is not one draw's luck."""
    print(f"\nOther draws of the {shape[0]}x{shape[1]}x{shape[2]} rank-{rank} tensor (seed s, start seed s + 10)")
    print(f"{'seed':>4} {'labkit iters':>12} {'labkit (s)':>10} "
          f"{'tensorly iters':>14} {'tensorly (s)':>12} {'time ratio':>10}")
    with threadpool_limits(1):
        for seed in range(1, n_draws + 1):
            X, _ = planted(shape, rank, 0.05, seed=seed)
            init = [f[0].double().numpy() for f in random_init(shape, rank, 1, seed=seed + 10, dtype=torch.float64)]
            mine, _, comp = run_labkit(X, rank, init, 1000, 1e-6)
            peer = run_tensorly(X, rank, init, 1000, 1e-7)
            target = 1.001 * min(mine[-1], peer[-1])
            hit_m = int(np.argmax(mine <= target)) + 1 if (mine <= target).any() else None
            hit_p = int(np.argmax(peer <= target)) + 1 if (peer <= target).any() else None
            t_m = labkit_time_to(hit_m, repeats, X, rank, init, 1000, 1e-6) if hit_m else float("nan")
            t_p = median_time(lambda: run_tensorly(X, rank, init, hit_p, 0.0), repeats) if hit_p else float("nan")
            print(f"{seed:>4} {f'{comp}+{hit_m}' if hit_m else 'never':>12} {t_m:10.3f} "
                  f"{str(hit_p):>14} {t_p:12.3f} {t_p / t_m:10.2f}")


if __name__ == "__main__":
    main()
