"""Unit tests of labkit.interp.neuron_paths (seconds): the non-causal attention by hand, the ViT's
embedding, JAS against a slow loop, the search, interventions, class paths, bad input, repeatability."""
import math

import pytest
import torch

from labkit.core.params import ParameterError
from labkit.data.datasets import Split
from labkit.interp import neuron_paths as npth
from labkit.interp.neuron_paths.vit import shift
from labkit.interp.transformer import Transformer, TransformerConfig


def _tiny(seed=0, d_mlp=8, n_layers=2):
    torch.manual_seed(seed)
    model = npth.ViT(npth.vit_config(d_model=16, n_layers=n_layers, n_heads=2, d_mlp=d_mlp)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    # larger weights than the init, so gradients are not vanishingly small (x20 saturated p_y: gradients ~1e-9)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("W_"):
                p.mul_(3)
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    return model, x, torch.tensor([1, 2, 3, 1, 0])


@pytest.mark.parametrize("causal", [True, False])
def test_attention_by_hand(causal):
    cfg = TransformerConfig(d_vocab=7, n_ctx=5, d_model=8, n_layers=1, n_heads=2, d_head=4, causal=causal)
    torch.manual_seed(1)
    model = Transformer(cfg)
    tokens = torch.randint(0, 7, (3, 5))
    fused = model(tokens)
    logits, cache = model.run_with_cache(tokens)
    torch.testing.assert_close(fused, logits, rtol=1e-5, atol=1e-6)  # fused and masked paths agree
    q, k, v = (cache[f"blocks.0.attn.hook_{s}"] for s in "qkv")
    scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(4)
    if causal:
        scores = scores.masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
    z = torch.einsum("bhqk,bkhe->bqhe", scores.softmax(-1), v)
    torch.testing.assert_close(cache["blocks.0.attn.hook_z"], z, rtol=1e-5, atol=1e-6)
    upper = cache["blocks.0.attn.hook_pattern"].triu(1)
    assert bool((upper == 0).all()) == causal


def test_default_is_causal():
    assert TransformerConfig(d_vocab=3, n_ctx=2, d_model=4, n_layers=1, n_heads=1, d_head=4).causal is True


def test_vit_embedding_and_hooks():
    model, x, _ = _tiny()
    names = model.hook_names()
    assert "hook_patch_embed" in names and "hook_embed" not in names and not hasattr(model, "W_E")
    img = torch.arange(64.0).reshape(1, 1, 8, 8)
    p = model.patches(img)
    assert p.shape == (1, 16, 4)
    assert p[0, 0].tolist() == [0, 1, 8, 9] and p[0, 1].tolist() == [2, 3, 10, 11]
    assert p[0, 4].tolist() == [16, 17, 24, 25]
    logits, cache = model.run_with_cache(x, names=["hook_patch_embed", "blocks.1.mlp.hook_post"])
    assert logits.shape == (5, 17, 10) and cache["hook_patch_embed"].shape == (5, 16, 16)
    assert model.logits(x).shape == (5, 10)
    # non-causal: the class token sees the patches (changing a pixel changes the CLS logits)
    x2 = x.clone()
    x2[:, :, 7, 7] += 1
    assert not torch.allclose(model.logits(x), model.logits(x2))


def test_shift_moves_by_at_most_one_pixel():
    img = torch.zeros(50, 1, 8, 8)
    img[:, 0, 4, 4] = 1
    out = shift(img, torch.Generator().manual_seed(0), 1)
    pos = out.reshape(50, -1).argmax(1)
    rows, cols = pos // 8, pos % 8
    assert out.sum() == 50 and set(rows.tolist()) == {3, 4, 5} and set(cols.tolist()) == {3, 4, 5}


def test_joint_attribution_against_slow_loop():
    model, x, y = _tiny()
    path = npth.find_path(model, x, y, k=2, m=4)
    fast = npth.joint_attribution(model, x, y, path, m=4)
    a0 = npth.cls_activations(model, x)
    mask = npth.path_mask(model, path, len(x))
    slow = torch.zeros(len(x))
    for i in range(len(x)):
        for step in range(4):
            v = {layer: (step / 4 * a0[i:i + 1, layer]).clone().requires_grad_(True) for layer in range(2)}

            def make(layer, i=i, v=v):
                def hook(act, name):
                    a = act.clone()
                    a[0, 0] = torch.where(mask[i, layer], v[layer][0], act[0, 0])
                    return a
                return (f"blocks.{layer}.mlp.hook_post", hook)
            with torch.enable_grad():
                p = torch.softmax(model.logits(x[i:i + 1], [make(0), make(1)]), -1)[0, y[i]]
                grads = torch.autograd.grad(p, [v[0], v[1]])
            slow[i] += sum((grads[layer][0] * a0[i, layer] * mask[i, layer]).sum() for layer in range(2)) / 4
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-8)
    assert fast.abs().max() > 1e-4


def test_search_first_layer_is_layer_ig_and_completeness():
    model, x, y = _tiny()
    path = npth.find_path(model, x, y, k=3, m=8)
    assert path.shape == (5, 2, 3)
    ig = npth.layer_ig_scores(model, x, y, m=8)
    assert torch.equal(path[:, 0], ig[:, 0].topk(3, dim=1).indices)
    # completeness: the whole last layer's IG with many steps is p_y minus p_y with that layer zeroed at CLS
    ig = npth.layer_ig_scores(model, x, y, m=400)
    last = torch.zeros(2, 8, dtype=torch.bool)
    last[1] = True
    before, after = npth.intervene(model, x, y, last)
    torch.testing.assert_close(ig[:, 1].sum(1), before - after, rtol=2e-2, atol=1e-5)


def test_intervene_against_a_hook():
    model, x, y = _tiny()
    path = [(0, 3), (1, 5)]
    before, after = npth.intervene(model, x, y, path, "enhance")

    def double(layer, neuron):
        def hook(act, name):
            a = act.clone()
            a[:, 0, neuron] *= 2
            return a
        return (f"blocks.{layer}.mlp.hook_post", hook)
    p = torch.softmax(model.logits(x, [double(0, 3), double(1, 5)]), -1)[torch.arange(5), y]
    torch.testing.assert_close(after, p)
    torch.testing.assert_close(before, torch.softmax(model.logits(x), -1)[torch.arange(5), y])


def test_baselines_shapes_and_activation():
    model, x, y = _tiny()
    acts = npth.cls_activations(model, x)
    assert torch.equal(npth.activation_path(model, x, 1)[:, :, 0], acts.argmax(2))
    assert npth.influence_pattern_path(model, x, y, k=2, m=4).shape == (5, 2, 2)
    r = npth.random_path(model, 5, 3, seed=1)
    assert r.shape == (5, 2, 3) and torch.equal(r, npth.random_path(model, 5, 3, seed=1))
    assert all(len(set(row.tolist())) == 3 for row in r.reshape(-1, 3))


def test_class_paths_jaccard_prune():
    paths = torch.tensor([[[1], [2]], [[1], [3]], [[4], [5]]])
    y = torch.tensor([0, 0, 1])
    top, counts = npth.class_paths(paths, y, n_classes=2, d_mlp=8)
    assert counts[0, 0, 1] == 2 and counts[0, 1, 2] == 1 and counts[1, 0, 4] == 1
    assert top[0, 0, 0] == 1 and top[0, 1, 0] == 2  # a tie broken by the lower index
    J = npth.jaccard_matrix(paths, 8)
    assert J[0, 1] == pytest.approx(1 / 3) and J[0, 2] == 0 and J[0, 0] == 1
    within, between = npth.within_between(paths, y, 8)
    assert within == pytest.approx(1 / 3) and between == 0
    keep = npth.union_mask(top, 8)
    assert keep.sum() == 4
    rand = npth.random_like(keep, seed=0)
    assert torch.equal(rand.sum(1), keep.sum(1))
    model, x, yy = _tiny()
    hooks = npth.prune_to(model, torch.zeros(2, 8, dtype=torch.bool))
    _, cache = model.run_with_cache(x, names=["blocks.1.mlp.hook_post"], fwd_hooks=hooks)
    assert cache["blocks.1.mlp.hook_post"][:, 0].abs().max() == 0


def test_repeatable():
    model, x, y = _tiny()
    assert torch.equal(npth.find_path(model, x, y, k=2, m=3), npth.find_path(model, x, y, k=2, m=3))
    data = Split(torch.rand(40, 1, 8, 8), torch.arange(40) % 10, torch.rand(10, 1, 8, 8), torch.arange(10))
    cfg = npth.vit_config(d_model=8, n_layers=1, n_heads=2, d_mlp=8)
    a, la = npth.train_vit(data, cfg, steps=3, seed=4, cache=False)
    b, lb = npth.train_vit(data, cfg, steps=3, seed=4, cache=False)
    assert (la == lb).all() and all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_control_replaces_jas_with_random():
    model, x, y = _tiny()
    jas = npth.experiment.method_paths(model, x, y, "JAS", 1, 4, seed=0)
    ctl = npth.experiment.method_paths(model, x, y, "JAS", 1, 4, seed=0, control="random_paths")
    assert torch.equal(ctl, npth.random_path(model, 5, 1, seed=1)) and not torch.equal(jas, ctl)


@pytest.mark.parametrize("call, word", [
    (lambda m, x, y: npth.find_path(m, torch.rand(2, 1, 7, 8), y[:2]), "shape"),
    (lambda m, x, y: npth.find_path(m, x, y, m=0), "'m'"),
    (lambda m, x, y: npth.find_path(m, x, y, k=0), "'k'"),
    (lambda m, x, y: npth.find_path(m, x, y, k=9), "'k'"),
    (lambda m, x, y: npth.joint_attribution(m, x, torch.tensor([10] * 5), [(0, 1)]), "class 10"),
    (lambda m, x, y: npth.intervene(m, x, y, [(2, 1)]), "layer 2"),
    (lambda m, x, y: npth.intervene(m, x, y, [(0, 8)]), "neuron 8"),
    (lambda m, x, y: npth.intervene(m, x, y, torch.zeros(5, 3, 1, dtype=torch.long)), "2 layers"),
    (lambda m, x, y: npth.intervene(m, x, y, [(0, 1)], "scale"), "op"),
    (lambda m, x, y: npth.ViT(npth.vit_config(image_size=8, patch=2), image_size=8, patch=3), "patch"),
    (lambda m, x, y: npth.vit_config(image_size=8, patch=3), "patch"),
])
def test_bad_input(call, word):
    model, x, y = _tiny()
    with pytest.raises(ValueError, match=word):
        call(model, x, y)
    assert issubclass(ParameterError, ValueError)
