"""Benchmark: labkit's sparse dictionaries against scikit-learn and SAELens on the same activations.

Workload: 256 planted unit features in 64 dimensions, each active with
probability 0.02 at magnitude U(0, 1), 50,000 samples; a feature is recovered when some atom has
cosine >= 0.9 with it. Target: >= 95% recovered in <= 2 s on the 2-core CPU.

* labkit: ``TopKSAE`` (512 and 256 latents, k = 8, 150 Adam steps of 1024 samples, AuxK revival),
  and, with ``--all``, every other dictionary of ``labkit.interp.sparse_dictionaries``.
* scikit-learn ``MiniBatchDictionaryLearning`` (alpha = 0.1, its defaults otherwise: batch 256,
  early stopping) with 256 atoms (and 512 with ``--all``). Its codes are signed, so an atom may
  stand for a feature with either sign: it is scored on the atoms and their negatives.
* SAELens (if it imports): its ``TopKTrainingSAE`` trained by its ``SAETrainer`` on the same
  activations, batch and number of samples as labkit's, for training throughput (samples per
  second) and recovery. SAELens is a benchmark-only dependency: run this file with a venv that
  has it (``pip install sae-lens``; check that torch stays the lab's version).

Every method runs with the same number of CPU threads (``--threads``, default 1, also for BLAS via
threadpoolctl) in one process, so the ratios compare like with like; absolute times on a shared
machine are noisy.

    .venv/bin/python benchmarks/bench_sparse_dictionaries.py [--quick] [--all] [--threads N]
"""
from __future__ import annotations

import argparse
import time

import torch
from threadpoolctl import threadpool_limits

from labkit.core.threads import set_threads
from labkit.interp import sparse_dictionaries as dl
from labkit.interp.sparse_dictionaries import make_sparse_features


def run_labkit(model, X, truth):
    model.fit(X)
    rec = dl.recovery(model.D_, truth)
    n = model.steps * model.batch_size if hasattr(model, "steps") else X.shape[0]
    return {"time": model.fit_time_, "recovered": rec["recovered"], "mmcs": rec["mmcs"], "samples": n}


def run_sklearn(X, truth, n_components, seed, quick):
    from sklearn.decomposition import MiniBatchDictionaryLearning

    kw = dict(max_iter=5) if quick else {}
    model = MiniBatchDictionaryLearning(n_components=n_components, alpha=0.1, random_state=seed, **kw)
    t = time.perf_counter()
    model.fit(X.numpy())
    elapsed = time.perf_counter() - t
    D = torch.as_tensor(model.components_, dtype=torch.float32)
    rec = dl.recovery(torch.cat([D, -D]), truth)            # signed codes: an atom or its negative
    return {"time": elapsed, "recovered": rec["recovered"], "mmcs": rec["mmcs"],
            "samples": int(model.n_steps_ * model.batch_size)}


def run_saelens(X, truth, n_latents, k, steps, batch_size, lr, seed):
    from sae_lens.config import LoggingConfig, SAETrainerConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.training.sae_trainer import SAETrainer

    torch.manual_seed(seed)
    sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=X.shape[1], d_sae=n_latents, k=k, device="cpu"))
    gen = torch.Generator().manual_seed(seed)

    def batches():
        while True:
            yield X[torch.randint(0, X.shape[0], (batch_size,), generator=gen)]

    cfg = SAETrainerConfig(total_training_samples=steps * batch_size, train_batch_size_samples=batch_size, lr=lr,
                           lr_end=lr, device="cpu", n_checkpoints=0, save_final_checkpoint=False,
                           logger=LoggingConfig(log_to_wandb=False, eval_every_n_wandb_logs=2**31 - 1),
                           n_batches_for_norm_estimate=1)
    trainer = SAETrainer(cfg=cfg, sae=sae, data_provider=batches())
    t = time.perf_counter()
    trainer.fit()
    elapsed = time.perf_counter() - t
    rec = dl.recovery(sae.W_dec.detach(), truth)
    return {"time": elapsed, "recovered": rec["recovered"], "mmcs": rec["mmcs"], "samples": steps * batch_size}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer samples and iterations (a smoke run of the script)")
    ap.add_argument("--all", action="store_true", help="every labkit dictionary, and scikit-learn with 512 atoms")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", default="0", help="comma-separated data/model seeds")
    args = ap.parse_args()
    set_threads(args.threads)
    n = 10_000 if args.quick else 50_000
    steps, bs, k = (40, 1024, 8) if args.quick else (150, 1024, 8)
    rows = []
    with threadpool_limits(args.threads):
        for seed in [int(s) for s in args.seeds.split(",")]:
            data = make_sparse_features(n, 256, 64, 0.02, seed=seed)
            X, truth = data.X, data.directions
            dl.TopKSAE(64, k=4, steps=5).fit(X[:2000])       # warm-up (allocator, kernels)
            common = dict(steps=steps, batch_size=bs, seed=seed)
            jobs = [("labkit TopK SAE, 512 latents", run_labkit, (dl.TopKSAE(512, k=k, **common), X, truth)),
                    ("labkit TopK SAE, 256 latents", run_labkit, (dl.TopKSAE(256, k=k, **common), X, truth))]
            if args.all:
                others = dl.make_methods(512, k=k, seed=seed, steps=steps, batch_size=bs)
                jobs += [(f"labkit {m.name}, 512", run_labkit, (m, X, truth)) for key, m in others.items()
                         if key not in ("topk", "transcoder")]
            jobs.append(("scikit-learn MiniBatchDictionaryLearning, 256", run_sklearn,
                         (X, truth, 256, seed, args.quick)))
            if args.all:
                jobs.append(("scikit-learn MiniBatchDictionaryLearning, 512", run_sklearn,
                             (X, truth, 512, seed, args.quick)))
            try:
                import sae_lens  # noqa: F401
                version = sae_lens.__version__
                jobs.append((f"SAELens {version} TopK SAE, 512 latents", run_saelens,
                             (X, truth, 512, k, steps, bs, 1e-2, seed)))
            except ImportError:
                print("SAELens is not installed here: its row is left out.")
            for name, job, job_args in jobs:
                out = job(*job_args)
                rows.append((seed, name, out))
                print(f"seed {seed}: {name}: {out['recovered']:.3f} recovered in {out['time']:.2f} s", flush=True)

    print(f"\n256 features in 64 dims, {n} samples, {args.threads} thread(s); recovered = an atom with cos >= 0.9.")
    print("time ratio = method's fit time / labkit TopK (512)'s; throughput = training samples per second")
    print(f"{'seed':>4} {'method':<50} {'recovered':>9} {'MMCS':>6} {'time (s)':>9} {'samples/s':>10} "
          f"{'time ratio':>10}")
    for seed in dict.fromkeys(r[0] for r in rows):
        ref = next(r[2] for r in rows if r[0] == seed and r[1].startswith("labkit TopK SAE, 512"))
        for s, name, out in (r for r in rows if r[0] == seed):
            print(f"{s:>4} {name:<50} {out['recovered']:>9.3f} {out['mmcs']:>6.3f} {out['time']:>9.2f} "
                  f"{out['samples'] / out['time']:>10.0f} {out['time'] / ref['time']:>10.2f}")
    print("target: >= 0.95 recovered in <= 2 s on the 2-core CPU")


if __name__ == "__main__":
    main()
