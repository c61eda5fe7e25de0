"""Tests for labkit.interp.transformer and labkit.interp.induction_heads (fast: small models, no long training)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labkit.interp import induction_heads as ind
from labkit.interp.induction_heads import figures as figs
from labkit.interp.transformer import Transformer, TransformerConfig


def make(positional="learned", d_mlp=0, normalization="ln", seed=0, **kw):
    torch.manual_seed(seed)
    cfg = TransformerConfig(d_vocab=kw.pop("d_vocab", 20), n_ctx=kw.pop("n_ctx", 16), d_model=kw.pop("d_model", 32),
                            n_layers=kw.pop("n_layers", 2), n_heads=kw.pop("n_heads", 4), d_head=kw.pop("d_head", 8),
                            d_mlp=d_mlp, positional=positional, normalization=normalization, init_std=0.2, **kw)
    return Transformer(cfg).eval()


VARIANTS = [("learned", 0), ("learned", 24), ("rope", 0), ("rope", 24)]


# ------------------------------------------------------------------------------------ transformer

@pytest.mark.parametrize("positional,d_mlp", VARIANTS)
def test_cache_has_every_hook_and_matches_fast_path(positional, d_mlp):
    m = make(positional, d_mlp)
    t = torch.randint(0, 20, (3, 16), generator=torch.Generator().manual_seed(1))
    fast = m(t)  # no pattern hook active: the fused attention kernel
    logits, cache = m.run_with_cache(t)
    assert list(cache) == m.hook_names()
    torch.testing.assert_close(logits, fast, atol=1e-5, rtol=1e-5)
    assert cache["blocks.1.attn.hook_pattern"].shape == (3, 4, 16, 16)
    assert cache["blocks.0.attn.hook_q"].shape == (3, 16, 4, 8)
    torch.testing.assert_close(cache["blocks.1.attn.hook_pattern"].sum(-1), torch.ones(3, 4, 16))
    # the per-head results add up to the attention output (plus the output bias)
    res = cache["blocks.0.attn.hook_result"].sum(2) + m.blocks[0].attn.b_O
    torch.testing.assert_close(res, cache["blocks.0.hook_attn_out"], atol=1e-5, rtol=1e-5)
    assert ("blocks.0.mlp.hook_post" in cache) == (d_mlp > 0)
    assert ("hook_pos_embed" in cache) == (positional == "learned")


@pytest.mark.parametrize("positional,d_mlp", VARIANTS)
def test_causal(positional, d_mlp):
    m = make(positional, d_mlp)
    t = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(2))
    t2 = t.clone()
    t2[:, 9] = (t2[:, 9] + 1) % 20
    a, b = m(t), m(t2)
    assert torch.equal(a[:, :9], b[:, :9])
    assert not torch.allclose(a[:, 9:], b[:, 9:])


def test_rope_scores_depend_on_relative_position_only():
    m = make("rope")
    s = torch.randint(0, 20, (1, 10), generator=torch.Generator().manual_seed(3))
    prefix = torch.randint(0, 20, (1, 5), generator=torch.Generator().manual_seed(4))
    name = "blocks.0.attn.hook_attn_scores"
    _, c1 = m.run_with_cache(s, names=name)
    _, c2 = m.run_with_cache(torch.cat([prefix, s], 1), names=name)
    torch.testing.assert_close(c2[name][:, :, 5:, 5:], c1[name], atol=1e-4, rtol=1e-4)


def test_zero_ablating_every_head_leaves_the_direct_path():
    m = make("learned")
    t = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(5))
    zero = lambda z, name: torch.zeros_like(z)
    logits = m.run_with_hooks(t, [("blocks.0.attn.hook_z", zero), ("blocks.1.attn.hook_z", zero)])
    x = m.W_E[t] + m.W_pos[:16] + m.blocks[0].attn.b_O + m.blocks[1].attn.b_O
    expect = F.layer_norm(x, (32,), m.ln_final.w, m.ln_final.b) @ m.W_U + m.b_U
    torch.testing.assert_close(logits, expect, atol=1e-5, rtol=1e-5)


def test_patching_the_whole_residual_stream_gives_the_clean_run():
    m = make("rope", 24)
    g = torch.Generator().manual_seed(6)
    clean, corrupt = torch.randint(0, 20, (2, 12), generator=g), torch.randint(0, 20, (2, 12), generator=g)
    clean_logits, cache = m.run_with_cache(clean, names="blocks.0.hook_resid_pre")
    patched = m.run_with_hooks(corrupt, [("blocks.0.hook_resid_pre", lambda x, n: cache[n])])
    torch.testing.assert_close(patched, clean_logits)
    assert torch.equal(m.run_with_hooks(clean, [("blocks.1.hook_resid_mid", lambda x, n: None)]), m(clean))


def test_hooks_carry_gradients_and_clamps_cut_them():
    m = make("learned").train()
    t = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(7))
    ideal = ind.ideal_prev_token_pattern(16)

    def clamp(p, name):
        p = p.clone()
        p[:, 0] = ideal
        return p
    m.run_with_hooks(t, [("blocks.0.attn.hook_pattern", clamp)]).logsumexp(-1).sum().backward()
    gq = m.blocks[0].attn.W_Q.grad
    assert gq[0].abs().max() == 0 and gq[1:].abs().max() > 0  # clamped head learns no pattern
    assert m.blocks[0].attn.W_V.grad[0].abs().max() > 0      # but still learns what it moves


def test_bad_input_raises_one_clear_sentence():
    m = make()
    with pytest.raises(ValueError, match="n_ctx=16"):
        m(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        m(torch.tensor([[1, 20]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        m(torch.tensor([[-1, 2]]))
    with pytest.raises(ValueError, match="integer token ids"):
        m(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="unknown hook name 'blocks.0.attn.hook_patern'.*blocks.0.attn.hook_pattern"):
        m.run_with_cache(torch.zeros(1, 4, dtype=torch.long), names=["blocks.0.attn.hook_patern"])
    with pytest.raises(ValueError, match="unknown hook name"):
        m.run_with_hooks(torch.zeros(1, 4, dtype=torch.long), [("blocks.7.hook_resid_pre", lambda x, n: x)])
    with pytest.raises(ValueError, match="must return None or a tensor of shape"):
        m.run_with_hooks(torch.zeros(1, 4, dtype=torch.long), [("hook_embed", lambda x, n: x[:, :2])])
    with pytest.raises(ValueError, match="positional"):
        TransformerConfig(d_vocab=4, n_ctx=4, d_model=8, n_layers=1, n_heads=2, d_head=4, positional="alibi")
    with pytest.raises(ValueError, match="d_model"):
        TransformerConfig(d_vocab=4, n_ctx=4, d_model=0, n_layers=1, n_heads=2, d_head=4)


def test_same_seed_same_model():
    t = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(8))
    assert torch.equal(make(seed=3)(t), make(seed=3)(t))
    assert not torch.equal(make(seed=3)(t), make(seed=4)(t))


# ------------------------------------------------------------------------------------ tasks

def test_repeated_segments_truth():
    b = ind.repeated_segments(64, 24, 10, min_len=3, seed=0)
    P = 24
    for i in range(64):
        L, a = int(b.seg_len[i]), int(b.offset[i])
        assert 3 <= L <= 12 and 0 <= a <= P - 2 * L
        assert torch.equal(b.tokens[i, a:a + L], b.tokens[i, a + L:a + 2 * L])
        q = torch.nonzero(b.target_mask[i])[:, 0]
        assert q.tolist() == list(range(a + L, a + 2 * L - 1))
        assert torch.equal(b.tokens[i, b.source[i, q]], b.tokens[i, q + 1])
        assert torch.all(b.source[i, q] == q - L + 1)
    assert torch.equal(ind.repeated_segments(8, 24, 10, seed=5).tokens, ind.repeated_segments(8, 24, 10, seed=5).tokens)
    with pytest.raises(ValueError, match="max_len"):
        ind.repeated_segments(4, 10, 10, max_len=6)


def test_exemplar_label_truth():
    b = ind.exemplar_label(200, 2, 20, 4, seed=1)
    assert b.tokens.shape == (200, 6)
    assert torch.all(b.target_mask[:, 4]) and b.target_mask.sum() == 200
    rows = torch.arange(200)
    assert torch.equal(b.tokens[rows, b.source[:, 4]], b.tokens[:, 5])        # the label after the match
    assert torch.equal(b.tokens[rows, b.source[:, 4] - 1], b.tokens[:, 4])    # ... whose exemplar is the query
    assert torch.all(b.tokens[:, 0] != b.tokens[:, 2])                         # distinct exemplars
    assert torch.all((b.tokens[:, 1::2] >= 20) & (b.tokens[:, 1::2] < 24))


# ------------------------------------------------------------------------------------ diagnostics

def test_scores_of_clamped_heads_are_exact():
    m = make("learned", n_ctx=24, d_vocab=16)
    b = ind.repeated_segments(32, 24, 16, seed=2)
    hooks = ind.clamp_hooks(b, m.cfg, prev_token=[(0, 1)], match=[(1, 2)])
    s = ind.attention_scores(m, b, hooks)
    assert s["prev_token"][0, 1] == pytest.approx(1.0)
    assert s["induction"][1, 2] == pytest.approx(1.0)
    assert s["induction"][1, 0] < 0.5 and s["prev_token"][0, 0] < 0.5
    # a uniform head (zero queries): attention 1/(q+1) everywhere, computed by hand
    uniform = [("blocks.0.attn.hook_q", lambda q, n: torch.zeros_like(q)),
               ("blocks.0.attn.hook_k", lambda k, n: torch.zeros_like(k))]
    s = ind.attention_scores(m, b, uniform)
    q = torch.arange(24.0)
    assert s["prev_token"][0, 0] == pytest.approx(float((1 / (q[1:] + 1)).mean()), rel=1e-5)
    expect = float((b.target_mask / (q + 1)).sum() / b.target_mask.sum())
    assert s["induction"][0, 3] == pytest.approx(expect, rel=1e-5)


def test_copying_score_of_identity_and_negated_ov():
    m = make(normalization="none", d_vocab=8, d_model=8, d_head=8, n_heads=2, n_layers=1)
    with torch.no_grad():
        m.W_E.copy_(torch.eye(8))
        m.W_U.copy_(torch.eye(8))
        A = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(0)))[0]
        m.blocks[0].attn.W_V.copy_(torch.stack([A, A]))
        m.blocks[0].attn.W_O.copy_(torch.stack([A.T, -A.T]))
    np.testing.assert_allclose(ind.copying_scores(m), [[1.0, -1.0]], atol=1e-6)


def test_copy_logits_by_hand():
    scores = torch.tensor([[[0.0, -float("inf"), -float("inf")], [1.0, 2.0, -float("inf")], [3.0, 0.5, 1.5]]])
    tokens = torch.tensor([[4, 1, 4]])
    out = ind.copy_logits(scores, tokens, 5)
    assert out[0, 0].tolist() == [-1e9, -1e9, -1e9, -1e9, 0.0]
    assert out[0, 1].tolist() == [-1e9, 2.0, -1e9, -1e9, 1.0]
    assert out[0, 2].tolist() == [-1e9, 0.5, -1e9, -1e9, 3.0]  # token 4 twice: the larger score


def test_ablation_and_patching():
    m = make("rope", n_ctx=24, d_vocab=16)
    b = ind.repeated_segments(16, 24, 16, seed=3)
    _, c = m.run_with_cache(b.tokens, names="blocks.1.attn.hook_z", fwd_hooks=ind.ablation_hooks([(1, 2)], m.cfg))
    z = c["blocks.1.attn.hook_z"]
    assert z[:, :, 2].abs().max() == 0 and z[:, :, [0, 1, 3]].abs().min() >= 0 and z[:, :, 0].abs().max() > 0
    with pytest.raises(ValueError, match="does not exist"):
        ind.ablation_hooks([(2, 0)], m.cfg)
    # one layer, one head: the head is the only path that sees the first copy, so patching it restores all
    m1 = make("rope", n_ctx=24, d_vocab=16, n_layers=1, n_heads=1, d_head=32)
    corrupt = ind.corrupt_first_copy(b, 16, seed=9)
    assert torch.equal(corrupt.tokens[b.target_mask], b.tokens[b.target_mask])
    np.testing.assert_allclose(ind.patch_heads(m1, b, corrupt), [[1.0]], atol=1e-4)
    # patching a run into itself restores nothing of nothing: NaN with a warning, never inf
    with pytest.warns(RuntimeWarning, match="undefined"):
        assert np.isnan(ind.patch_heads(m1, b, b)).all()


def test_detect_phase_change():
    t = np.arange(1000)
    rng = np.random.default_rng(0)
    noise = 0.05 * rng.standard_normal(1000)
    sig = ind.detect_phase_change(3 - 2.5 / (1 + np.exp(-(t - 400) / 20)) + noise)
    assert sig["detected"] and abs(sig["step"] - 400) <= 10
    assert not ind.detect_phase_change(0.5 + 2.5 * np.exp(-t / 200) + noise)["detected"]
    assert not ind.detect_phase_change(3 / (1 + t / 50) ** 0.5 + noise)["detected"]
    small = ind.detect_phase_change(3 - 0.3 / (1 + np.exp(-(t - 400) / 20)) + noise)   # an inflection, but a 10% fall
    assert abs(small["step"] - 400) <= 30 and not small["detected"]
    with pytest.raises(ValueError, match="losses"):
        ind.detect_phase_change(np.ones(5))


def test_training_is_deterministic_and_clamps_train():
    cfg = TransformerConfig(d_vocab=16, n_ctx=16, d_model=16, n_layers=2, n_heads=2, d_head=8, positional="rope",
                            init_std=0.1)
    kw = dict(steps=30, batch_size=8, lr=3e-3, eval_every=15, eval_batch=16, seed=1)
    a, b = ind.train_induction(cfg, **kw), ind.train_induction(cfg, **kw)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.ckpt_steps.tolist() == [0, 15, 30] and a.patterns.shape == (3, 8, 2, 2, 16, 16)
    assert a.display_tokens.shape == (8, 16)
    arrays = (a.patterns, a.ckpt_steps, a.prev_token, a.induction)   # the figure gets arrays, never the model
    f0, f3 = (figs.attention_at_checkpoint(*arrays, 2, 1, 0, sequence=k, tokens=a.display_tokens) for k in (0, 3))
    np.testing.assert_array_equal(f3.data[0].z, a.patterns[2, 3, 1, 0].astype(np.float32))
    assert list(f0.data[0].x) != list(f3.data[0].x)                  # another sequence, other tokens
    with pytest.raises(ValueError, match=r"sequence must be in \[0, 7\]"):
        figs.attention_at_checkpoint(*arrays, 2, 1, 0, sequence=8, tokens=a.display_tokens)
    finals = {}
    for name, clamp in {"pt": dict(prev_token=[(0, 0)], ablate=[(1, 1)]), "match": dict(match=[(1, 0)]),
                        "copy": dict(copy_head=(1, 0))}.items():
        r = ind.train_induction(cfg, **kw, **clamp)
        assert np.all(np.isfinite(r.losses))
        finals[name] = r.losses[-5:].mean()
    # the match clamp hands the model the answer's position: only copying is left, learned in a few steps
    assert finals["match"] < a.losses[-5:].mean()
    with pytest.raises(ValueError, match="task"):
        ind.train_induction(cfg, steps=2, batch_size=2, task="copy")


def test_ln_hook_normalized_sees_the_affine_output_as_in_transformerlens():
    cfg = TransformerConfig(d_vocab=16, n_ctx=8, d_model=16, n_layers=1, n_heads=2, d_head=8)
    model = Transformer(cfg)
    with torch.no_grad():
        model.ln_final.w.mul_(3.0)
        model.ln_final.b.add_(0.5)
    tokens = torch.randint(0, 16, (2, 8))
    _, cache = model.run_with_cache(tokens, names=["blocks.0.hook_resid_post", "ln_final.hook_normalized"])
    x = cache["blocks.0.hook_resid_post"]
    x = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(cache["ln_final.hook_normalized"], x * model.ln_final.w + model.ln_final.b)


def test_control_heads_leave_out_the_circuit():
    scores = {"prev_token": np.array([[0.1, 0.9, 0.2, 0.0], [0.0, 0.1, 0.0, 0.0]]),
              "induction": np.array([[0.0] * 4, [0.8, 0.1, 0.7, 0.0]])}
    identified = [(1, 0), (1, 2)]
    assert ind.control_heads(scores, identified) == [(0, 0), (0, 2), (0, 3), (1, 1), (1, 3)]


# ------------------------------------------------------------------ shifted repeats and the control (issue 22)

def test_repeats_with_a_gap_keep_their_truth():
    b = ind.repeated_segments(64, 24, 10, min_len=3, max_len=8, min_gap=1, max_gap=24, seed=4)
    L, g, a = b.seg_len, b.gap, b.offset
    assert (g >= 1).all() and (2 * L + g <= 24).all() and (a + 2 * L + g <= 24).all()
    rows, q = torch.nonzero(b.target_mask, as_tuple=True)
    assert torch.equal(b.tokens[rows, b.source[rows, q]], b.tokens[rows, q + 1])   # the source holds the answer
    assert torch.equal(b.source[rows, q], q - (L + g)[rows] + 1)
    assert len(set(g.tolist())) > 3                                             # the distance varies
    assert (b.target_mask.sum(1) == L - 1).all()


def test_gap_free_repeats_are_unchanged_and_shifted_ones_are_shifted():
    b = ind.repeated_segments(32, 24, 16, seed=2)
    assert (b.gap == 0).all() and torch.equal(b.source[b.target_mask],
                                              (torch.arange(24)[None] - b.seg_len[:, None] + 1)[b.target_mask])
    s = ind.shifted_repeats(256, 24, 16, min_len=4, seed=3)
    assert (s.gap >= 1).all() and s.seg_len.max() <= 11
    with pytest.raises(ValueError, match="max_len"):
        ind.repeated_segments(4, 24, 10, max_len=12, min_gap=1, max_gap=3)


def test_match_and_copy_accuracy_is_the_ideal_rule():
    # 0 1 2 3 | 9 | 0 1 2 3 : every repeated position is solved by the most recent earlier occurrence
    tokens = torch.tensor([[0, 1, 2, 3, 9, 0, 1, 2, 3, 7]])
    mask = torch.zeros(1, 10, dtype=torch.bool)
    mask[0, 5:8] = True
    src = torch.full((1, 10), -1)
    b = ind.TokenBatch(tokens, mask, src)
    assert ind.match_and_copy_accuracy(b) == 1.0
    # a token that recurs inside the gap misleads the rule: 1 appears after the first copy, followed by 5
    tokens2 = torch.tensor([[0, 1, 2, 3, 1, 5, 0, 1, 2, 3]])
    mask2 = torch.zeros(1, 10, dtype=torch.bool)
    mask2[0, 6:9] = True
    acc = ind.match_and_copy_accuracy(ind.TokenBatch(tokens2, mask2, src))
    assert acc == pytest.approx(2 / 3)
    # on random shifted repeats it lies between chance and 1
    s = ind.shifted_repeats(512, 24, 32, seed=0)
    assert 0.5 < ind.match_and_copy_accuracy(s) < 0.9


def test_induction_at_phase_change():
    phase = {"step": 99, "window": 10, "detected": True}
    steps = np.arange(0, 301, 50)
    ind_scores = np.zeros((len(steps), 2, 2))
    ind_scores[3:, 1, 1] = 0.7                                   # first >= 0.5 at step 150
    out = ind.induction_at_phase_change(phase, steps, ind_scores, eval_every=50)
    assert out == {"formed_step": 150, "distance": 50, "formed_at_phase_change": True}
    assert not ind.induction_at_phase_change({**phase, "step": 9}, steps, ind_scores, 50)["formed_at_phase_change"]
    undetected = ind.induction_at_phase_change({**phase, "detected": False}, steps, ind_scores, 50)
    assert not undetected["formed_at_phase_change"]
    none = ind.induction_at_phase_change(phase, steps, ind_scores * 0, 50)
    assert none["formed_step"] is None and not none["formed_at_phase_change"]


def test_controls_of_the_training_run():
    cfg = TransformerConfig(d_vocab=12, n_ctx=12, d_model=16, n_layers=2, n_heads=2, d_head=8)
    run = ind.train_induction(cfg, steps=3, batch_size=4, eval_every=3, eval_batch=8, control="untrained", seed=1)
    torch.manual_seed(1)
    fresh = Transformer(cfg)
    for (name, p), q in zip(run.model.state_dict().items(), fresh.state_dict().values()):
        torch.testing.assert_close(p, q, msg=f"{name} changed under the untrained control")
    trained = ind.train_induction(cfg, steps=3, batch_size=4, eval_every=3, eval_batch=8, seed=1)
    assert not torch.equal(trained.model.W_E, fresh.W_E)
    fixed = ind.train_induction(cfg, steps=2, batch_size=4, eval_every=2, eval_batch=8, control="fixed_offset")
    assert fixed.induction.shape == (2, 2, 2)
    with pytest.raises(ValueError, match="control"):
        ind.train_induction(cfg, steps=2, batch_size=4, control="shuffled")
    with pytest.raises(ValueError, match="repeat task"):
        ind.train_induction(cfg, steps=2, batch_size=4, task="exemplar", control="fixed_offset")
    assert set(ind.PARAMETERS["control"]) == {"none", "untrained", "fixed_offset"}


def test_control_heads_keep_every_previous_token_head():
    scores = {"prev_token": np.array([[0.6, 0.75, 0.45, 0.7], [0.1] * 4]), "induction": np.zeros((2, 4))}
    assert ind.control_heads(scores, [(1, 0), (1, 1), (1, 2), (1, 3)]) == [(0, 2)]
    assert ind.control_heads(scores, [], prev_threshold=0.9) == [(0, 0), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2),
                                                                   (1, 3)]


def test_texts_are_read_off_the_numbers():
    losses = np.r_[np.linspace(3.5, 2.9, 200), np.linspace(2.9, 0.5, 30), np.full(270, 0.5)]
    phase = ind.detect_phase_change(losses)
    formation = {"formed_step": 250, "distance": abs(250 - phase["step"] - 1), "formed_at_phase_change": True}
    text = figs.loss_text(losses, phase, formation)
    assert "not flat" in text and f"step {phase['step'] + 1}" in text and "250" in text
    flat = figs.loss_text(np.full(100, 3.0) + 0.01 * np.sin(np.arange(100)), ind.detect_phase_change(
        np.full(100, 3.0) + 0.01 * np.sin(np.arange(100))), {"formed_step": None, "distance": None,
                                                             "formed_at_phase_change": False})
    assert flat.startswith("**No phase change") and "never reaches 0.5" in flat
    per_head = np.array([[0.33, 0.9, 0.95, 0.94], [0.9, 0.93, 0.92, 0.91]])
    text = figs.ablation_text(0.96, per_head, 0.04, [(1, h) for h in range(4)], 0.95, [(0, 2)])
    assert "**L1H0**" in text and "0.96 to 0.33" in text and "specific to the circuit" in text
    assert "no induction head to ablate" in figs.ablation_text(0.2, per_head * 0.2, 0.2, [], 0.03, [(0, 1)])
    fig = figs.ablation_figure(0.96, per_head, 0.04, [(1, h) for h in range(4)], 0.95, [(0, 2)])
    assert "L1H0" in fig.layout.title.text and "0.33" in fig.layout.title.text
