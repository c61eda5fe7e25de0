"""Tests for labkit.neuro.neuroformer and the transformer paths it added (input embeddings, cross-attention)."""
import numpy as np
import pytest
import torch

from labkit.interp.transformer import Transformer, TransformerConfig
from labkit.neuro.neuroformer import (
    attention_connectivity,
    detokenize,
    direction_accuracy,
    edge_auc,
    generate,
    make_batch,
    prepare,
    pretrain,
    simulate_circuit,
    tokenize,
    xcorr_asymmetry,
)
from labkit.neuro.neuroformer.decoding import check_budget, count_features
from labkit.neuro.neuroformer.experiment import connectivity_study, few_shot_study, generation_study

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def small():
    study = prepare(12, seed=3)
    model, losses = pretrain(study.tokens, study.data.stimulus, study.train, d_model=16, n_heads=2, steps=20,
                             batch_size=8, seed=3, cache=False)
    return study, model, losses


def _events(rng, n_trials=3, T=200, n=5, k=60, res=1):
    trial = rng.integers(0, n_trials, k)
    time = rng.integers(0, T // res, k) * res
    neuron = rng.integers(0, n, k)
    keep = np.unique(np.stack([trial, time, neuron], 1), axis=0)       # one spike per (trial, time, neuron)
    return keep[:, 0], keep[:, 1], keep[:, 2]


# ------------------------------------------------------------------------------------------ tokens
@pytest.mark.parametrize("dt_res", [1, 10])
def test_token_round_trip_is_exact_on_the_dt_res_grid(dt_res):
    trial, time, neuron = _events(np.random.default_rng(0), res=dt_res)
    tk = tokenize(trial, time, neuron, n_trials=3, n_neurons=5, trial_length=200, window=50, prev=150, dt_res=dt_res)
    t2, ti2, n2 = detokenize(tk)
    order = np.lexsort((neuron, time, trial))
    assert np.array_equal(t2, trial[order]) and np.array_equal(ti2, time[order]) and np.array_equal(n2, neuron[order])
    assert tk.length.sum() == trial.size


def test_tokens_of_a_hand_made_raster():
    times, neurons = np.array([3, 12, 12, 47, 55, 58, 99]), np.array([4, 0, 2, 1, 3, 0, 2])
    tk = tokenize(np.zeros(7, int), times, neurons, n_trials=1, n_neurons=5, trial_length=100, window=50, prev=50,
                  dt_res=10)
    assert tk.ids[1, :tk.length[1]].tolist() == [3, 0, 2] and tk.dt[1, :tk.length[1]].tolist() == [0, 0, 4]
    # the past of window 1 is window 0, offsets from 0 ms
    assert tk.past_ids[1, :tk.past_length[1]].tolist() == [4, 0, 2, 1]
    assert tk.past_dt[1, :tk.past_length[1]].tolist() == [0, 1, 1, 4]
    assert tk.past_length[0] == 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(time=[0, 1000]), "time: spike times must lie in \\[0, 1000\\)"),
    (dict(neuron=[0, 5]), "neuron: neuron ids must lie in \\[0, 5\\)"),
    (dict(window=45), "'window' of tokenize must be a multiple of dt_res=10"),
    (dict(n_trials=0), "n_trials"),
])
def test_tokenize_bad_input_names_the_argument(kwargs, match):
    args = dict(trial=[0, 0], time=[0, 10], neuron=[0, 1], n_trials=1, n_neurons=5, trial_length=1000, window=50)
    args.update(kwargs)
    t, ti, n = args.pop("trial"), args.pop("time"), args.pop("neuron")
    with pytest.raises(ValueError, match=match):
        tokenize(t, ti, n, **args)


def test_a_window_longer_than_the_context_names_the_limit(small):
    study, model, _ = small
    b = make_batch(study.tokens, np.arange(4), study.data.stimulus)
    b.ids = torch.zeros(4, model.n_ctx + 3, dtype=torch.long)
    b.dt = torch.zeros_like(b.ids)
    b.length = torch.full((4,), model.n_ctx + 3)
    with pytest.raises(ValueError, match=f"n_ctx = {model.n_ctx}"):
        model.ar_loss(b)


def test_behavior_and_budget_bad_input(small):
    study, model, _ = small
    with pytest.raises(ValueError, match="behavior must have one row per trial"):
        few_shot_study(model, study, (2,), behavior=np.zeros((5, 1000)))
    with pytest.raises(ValueError, match="shots: a few-shot budget of 50 trials"):
        few_shot_study(model, study, (50,))
    with pytest.raises(ValueError, match="budget of 3 trials is more than the 2"):
        check_budget(3, 2)


# ------------------------------------------------------------------------------------------ transformer paths
def test_hook_names_unchanged_without_the_new_options():
    cfg = TransformerConfig(d_vocab=7, n_ctx=5, d_model=8, n_layers=1, n_heads=2, d_head=4, d_mlp=16)
    names = Transformer(cfg).hook_names()
    assert names == ["hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.0.ln1.hook_normalized",
                     "blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v",
                     "blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
                     "blocks.0.attn.hook_result", "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid",
                     "blocks.0.ln2.hook_normalized", "blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post",
                     "blocks.0.hook_mlp_out", "blocks.0.hook_resid_post", "ln_final.hook_normalized"]


def test_embeds_path_equals_token_path():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(d_vocab=11, n_ctx=6, d_model=8, n_layers=2, n_heads=2, d_head=4, d_mlp=16))
    tokens = torch.randint(0, 11, (3, 6))
    assert torch.allclose(model(tokens), model(None, embeds=model.W_E[tokens]), atol=1e-6)
    with pytest.raises(ValueError, match="no cross-attention"):
        model(tokens, context=torch.zeros(3, 2, 8))


def test_cross_attention_hook_and_masks():
    torch.manual_seed(0)
    cfg = TransformerConfig(d_vocab=11, n_ctx=6, d_model=8, n_layers=2, n_heads=2, d_head=4, cross_attention=True,
                            causal=False)
    model = Transformer(cfg)
    ctx, cmask = torch.randn(3, 4, 8), torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.bool)
    kmask = torch.tensor([[1, 1, 1, 0, 0, 0]] * 3, dtype=torch.bool)
    _, cache = model.run_with_cache(torch.randint(0, 11, (3, 6)), names=lambda n: n.endswith("hook_pattern"),
                                    context=ctx, context_mask=cmask, key_mask=kmask)
    x = cache["blocks.1.xattn.hook_pattern"]
    assert x.shape == (3, 2, 6, 4) and torch.allclose(x.sum(-1), torch.ones(3, 2, 6))
    assert float(x[0, :, :, 2:].abs().max()) == 0.0 and float(x[2, :, :, 1:].abs().max()) == 0.0
    a = cache["blocks.0.attn.hook_pattern"]
    assert float(a[..., 3:].abs().max()) == 0.0 and float(a[0, 0, 0, 2]) > 0      # bidirectional, pads hidden


# ------------------------------------------------------------------------------------------ science pieces
def test_scores_on_known_matrices():
    adj = np.zeros((3, 3), bool)
    adj[0, 1] = adj[1, 2] = True                                     # 0 -> 1 -> 2
    perfect = adj.T.astype(float)                                    # score[i, j] = 1 where j -> i
    assert edge_auc(perfect, adj) == 1.0 and direction_accuracy(perfect, adj) == 1.0
    assert edge_auc(perfect.T, adj) == 0.25 and direction_accuracy(perfect.T, adj) == 0.0


def test_xcorr_asymmetry_finds_a_planted_lead():
    rng = np.random.default_rng(1)
    x = (rng.random((20, 500, 3)) < 0.05).astype(float)
    x[:, 3:, 2] = np.maximum(x[:, 3:, 2], x[:, :-3, 0])              # 0 drives 2 three ms later
    C = xcorr_asymmetry(x)
    assert C[2, 0] > 0 and C[2, 0] == -C[0, 2] and np.argmax(C) == np.ravel_multi_index((2, 0), C.shape)


def test_simulation_is_seeded_and_in_range():
    a, b = simulate_circuit(4, seed=5), simulate_circuit(4, seed=5)
    assert np.array_equal(a.time, b.time) and np.array_equal(a.neuron, b.neuron) and np.allclose(a.behavior, b.behavior)
    assert 2.0 < a.n_spikes / (4 * a.n_neurons) < 40.0               # a few to tens of Hz per neuron
    assert a.stimulated.sum() == a.n_neurons // 3 and not np.any(a.stimulated[a.motor])


def test_same_seed_same_model_and_attention(small):
    study, model, losses = small
    model2, losses2 = pretrain(study.tokens, study.data.stimulus, study.train, d_model=16, n_heads=2, steps=20,
                               batch_size=8, seed=3, cache=False)
    assert np.array_equal(losses, losses2) and losses[-1] < losses[0]
    rows = study.tokens.rows(study.train[:3])
    A1 = attention_connectivity(model, study.tokens, rows, study.data.stimulus)
    A2 = attention_connectivity(model2, study.tokens, rows, study.data.stimulus, relative=True)
    assert np.allclose(A1, attention_connectivity(model2, study.tokens, rows, study.data.stimulus))
    assert A1.shape == A2.shape == (20, 20) and np.all(np.diag(A1) == 0)


def test_untrained_attention_lift_is_flat(small):
    study, _, _ = small
    untrained, _ = pretrain(study.tokens, study.data.stimulus, study.train, d_model=16, n_heads=2, steps=0, seed=3)
    rows = study.tokens.rows(study.train[:3])
    lift = attention_connectivity(untrained, study.tokens, rows, study.data.stimulus, relative=True)
    off = lift[~np.eye(20, dtype=bool) & (lift > 0)]
    assert np.allclose(off, 1.0, atol=0.05)                          # tiny init: near-uniform attention


def test_generate_gives_valid_sorted_events(small):
    study, model, _ = small
    trial, time, neuron = generate(model, 3, 200, study.data.stimulus, window=50, prev=150, dt_res=10, seed=0)
    assert trial.min(initial=0) >= 0 and trial.max(initial=0) < 3 and time.max(initial=0) < 200
    assert np.all(time % 10 == 0) and np.all(np.diff(trial * 1000 + time) >= 0) and neuron.max(initial=0) < 20
    again = generate(model, 3, 200, study.data.stimulus, window=50, prev=150, dt_res=10, seed=0)
    assert all(np.array_equal(u, v) for u, v in zip((trial, time, neuron), again))


def test_studies_run_and_count_features_shape(small):
    study, model, _ = small
    conn = connectivity_study(model, study, glm=False)
    assert set(conn["scores"]) == {"attention", "attention lift", "cross-correlation"}
    gen = generation_study(model, study, n_trials=2)
    assert gen["generated"].shape == (2, 1000, 20)
    fs = few_shot_study(model, study, (2,), scratch_steps=2)
    assert len(fs["pretrained"]) == len(fs["scratch"]) == len(fs["ridge"]) == 1
    assert count_features(study.counts, 50, 150).shape == (12 * 20, 20 * 4)


def test_joint_training_needs_matching_behavior_and_learns_it(small):
    study, _, _ = small
    tk, d = study.tokens, study.data
    with pytest.raises(ValueError, match="behavior must have one row per trial"):
        pretrain(tk, d.stimulus, study.train, steps=2, behavior=d.behavior[:3], behavior_weight=1.0, cache=False)
    kw = dict(d_model=16, n_heads=2, steps=20, batch_size=8, seed=3, cache=False)
    joint, losses = pretrain(tk, d.stimulus, study.train, behavior=d.behavior, behavior_weight=1.0, **kw)
    plain, plain_losses = pretrain(tk, d.stimulus, study.train, **kw)
    assert joint.behavior_weight == 1.0 and not np.array_equal(losses, plain_losses)
