"""Benchmark: per-layer integrated gradients of a ViT's CLS neurons, labkit against captum.

The notebook's default ViT (4 layers, d_model 64, d_mlp 256, 2x2 patches of 8x8 digits), untrained weights
(timing does not depend on them; ``--trained`` loads the notebook's cached, trained model instead), ``--images``
test digits (200). For each layer, the IG of p_y with respect to that layer's CLS activations, scaled from zero
alone (left Riemann sum, 20 steps):

* labkit: :func:`labkit.interp.neuron_paths.layer_ig_scores` (images × steps in one batch per layer);
* captum 0.9.0 ``IntegratedGradients`` (``method="riemann_left"``, 20 steps, zero baseline,
  ``internal_batch_size`` = images × steps) on a function that writes one layer's CLS activations and runs
  the model; one call per layer.

Attributions must agree to 1e-5 relative (of the largest). Also the JAS search time per image. Single-threaded,
CPU time (process time; on a shared machine wall time measures the neighbours).

    .venv/bin/python benchmarks/bench_neuron_paths.py [--images 200] [--trained]

captum is a bench-only dependency (``pip install captum==0.9.0`` beside the lab's torch); without it only
labkit's numbers are printed.
"""
from __future__ import annotations

import argparse
import time

import torch

from labkit.core.threads import threads
from labkit.interp import neuron_paths as npth


def timed(fn):
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def captum_layer_ig(model, x, y, m):
    """Per-layer IG by captum [n, L, D] (None when captum is not installed)."""
    try:
        from captum.attr import IntegratedGradients
    except ImportError:
        return None
    acts = npth.cls_activations(model, x)
    out = []
    for layer in range(model.cfg.n_layers):
        def f(v, images, layer=layer):
            def hook(act, name):
                return torch.cat([v[:, None], act[:, 1:]], dim=1)
            return torch.softmax(model.logits(images, [(f"blocks.{layer}.mlp.hook_post", hook)]), dim=-1)
        ig = IntegratedGradients(f)
        out.append(ig.attribute(acts[:, layer], baselines=torch.zeros_like(acts[:, layer]), target=y,
                                additional_forward_args=(x,), n_steps=m, method="riemann_left",
                                internal_batch_size=len(x) * m))
    return torch.stack(out, dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--trained", action="store_true", help="the notebook's trained model (trains it if not cached)")
    args = ap.parse_args()
    data = npth.digits(0)
    cfg = npth.vit_config()
    if args.trained:
        model, _ = npth.train_vit(data, cfg, steps=1000, lr=3e-3, batch_size=64, seed=0)
    else:
        torch.manual_seed(0)
        model = npth.ViT(cfg).eval()
        for p in model.parameters():
            p.requires_grad_(False)
    x, y = data.x_test[:args.images], data.y_test[:args.images]
    with threads(1):
        t_lab, ours = timed(lambda: npth.layer_ig_scores(model, x, y, args.steps))
        t_cap, theirs = timed(lambda: captum_layer_ig(model, x, y, args.steps))
        t_jas, _ = timed(lambda: npth.find_path(model, x[:50], y[:50], k=1, m=args.steps))
    print(f"per-layer IG, {model.cfg.n_layers} layers x {args.images} images x {args.steps} steps:")
    print(f"  labkit layer_ig_scores  {t_lab:7.2f} s CPU")
    if theirs is None:
        print("  captum: not installed (pip install captum==0.9.0), skipped")
    else:
        err = float((ours - theirs).abs().max() / theirs.abs().max())
        print(f"  captum IntegratedGradients {t_cap:7.2f} s CPU  ->  labkit {t_cap / t_lab:.2f}x faster; "
              f"max difference {err:.1e} of the largest attribution")
    print(f"JAS search (find_path, K=1): {t_jas / 50 * 1000:.1f} ms CPU per image")


if __name__ == "__main__":
    main()
