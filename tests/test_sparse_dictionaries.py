"""Tests for labkit.interp.sparse_dictionaries (superposition, the dictionaries, the codebook FSM)."""
import numpy as np
import pytest
import torch

from labkit.core.estimator import NotFittedError
from labkit.interp import sparse_dictionaries as dl
from labkit.interp.sparse_dictionaries import codebook_fsm as cf
from labkit.interp.sparse_dictionaries import figures, sae
from labkit.interp.sparse_dictionaries.superposition import (
    make_sparse_features,
    random_directions,
    toy_model_data,
    train_toy_model,
    train_toy_models,
    transcoder_target,
)
from labkit.interp.transformer import Transformer

pytestmark = pytest.mark.usefixtures("one_thread")   # tiny problems: one torch thread (conftest)


@pytest.fixture(scope="module")
def small():
    # 64 features in 32 dimensions, each active 3% of the time.
    return make_sparse_features(12_000, 64, 32, 0.03, seed=1)


# ---------------------------------------------------------------------------------------- data
def test_planted_features_are_what_they_claim():
    d = make_sparse_features(5000, 40, 16, 0.05, n_children=10, child_prob=0.5, n_planes=3, seed=3)
    assert d.X.shape == (5000, 16) and d.directions.shape == (50, 16)
    assert torch.allclose(d.directions.norm(dim=1), torch.ones(50), atol=1e-5)
    # a child never fires without its parent
    child_on = d.codes[:, 40:] > 0
    assert bool(child_on.any()) and not bool((child_on & (d.codes[:, :10] == 0)).any())
    # planes are orthonormal and X is exactly codes @ directions + plane parts
    gram = torch.einsum("pkd,pld->pkl", d.planes, d.planes)
    assert torch.allclose(gram, torch.eye(2).expand(3, 2, 2), atol=1e-5)
    rebuilt = d.codes @ d.directions + torch.einsum("npk,pkd->nd", d.plane_codes, d.planes)
    assert torch.allclose(rebuilt, d.X, atol=1e-5)
    # the empirical activation rate matches the planted probability
    rate = (d.codes[:, :40] > 0).float().mean()
    assert abs(float(rate) - 0.05) < 0.005
    again = make_sparse_features(5000, 40, 16, 0.05, n_children=10, child_prob=0.5, n_planes=3, seed=3)
    assert torch.equal(again.X, d.X)


@pytest.mark.parametrize("kwargs, word", [
    (dict(n_samples=0), "n_samples"), (dict(feature_prob=1.5), "feature_prob"),
    (dict(n_children=100), "n_children"), (dict(directions=np.ones((3, 3))), "directions"),
])
def test_planted_features_bad_input(kwargs, word):
    args = dict(n_samples=100, n_features=20, dim=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        make_sparse_features(**args)


def test_toy_model_stores_more_features_than_neurons():
    # Elhage et al. (2022): 5 sparse features in 2 neurons are stored as a pentagon; dense ones are not.
    sparse = train_toy_model(5, 2, 0.05, steps=1500, seed=0)
    dense = train_toy_model(5, 2, 1.0, steps=1500, seed=0)
    assert len(sparse.represented()) == 5
    assert len(dense.represented()) <= 3
    W = sparse.W.numpy()
    angles = np.sort(np.arctan2(W[1], W[0]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    assert np.allclose(gaps, 2 * np.pi / 5, atol=0.25)   # evenly spaced: a pentagon
    data = toy_model_data(sparse, 500, seed=0)
    assert data.X.shape == (500, 2) and data.directions.shape == (5, 2)


# ---------------------------------------------------------------------------------------- metrics
def test_recovery_metric_against_known_answers():
    F = torch.as_tensor(random_directions(30, 10, seed=0), dtype=torch.float32)
    assert dl.recovery(F, F) == pytest.approx({"mmcs": 1.0, "recovered": 1.0})
    assert dl.recovery(-F, F)["recovered"] == 0.0                       # sign matters for 1-D features
    half = dl.recovery(F[:15], F)
    assert half["recovered"] == pytest.approx(0.5)
    rand = dl.recovery(torch.as_tensor(random_directions(30, 10, seed=9), dtype=torch.float32), F)
    assert rand["recovered"] < 0.1
    # a 2-D feature is recovered by any atom inside its plane
    plane = torch.eye(10)[:2][None]
    inside = torch.tensor([[0.6, 0.8] + [0.0] * 8])
    assert dl.feature_cosines(inside, F[:1], plane)[1, 0] == pytest.approx(1.0)
    X = torch.randn(50, 4)
    assert dl.explained_variance(X, X) == pytest.approx(1.0)
    assert dl.explained_variance(X, X.mean(0).expand_as(X)) == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------------------------------- dictionaries
def test_topk_sae_recovers_planted_features(small):
    m = dl.TopKSAE(128, k=4, steps=250, batch_size=256, lr=1e-2, seed=0).fit(small.X)
    out = dl.evaluate(m, small.X, small.directions)
    assert out["recovered"] >= 0.9
    assert out["l0"] <= 4 + 1e-9
    assert out["explained_variance"] > 0.8
    # same seed, same dictionary
    again = dl.TopKSAE(128, k=4, steps=250, batch_size=256, lr=1e-2, seed=0).fit(small.X)
    assert torch.equal(again.D_, m.D_)
    # the interface: decode(encode(X)) is Z @ D_ + bias_, and D_ has unit rows
    Z = m.encode(small.X[:10])
    assert torch.allclose(m.decode(Z), Z @ m.D_ + m.bias_)
    assert torch.allclose(m.D_.norm(dim=1), torch.ones(128), atol=1e-5)


def test_resampling_wins_back_features_lost_to_dead_latents(small):
    # With barely more latents (80) than features (64), latents that die or duplicate cost
    # features; resampling them towards badly reconstructed inputs (Bricken et al.) wins features back.
    kw = dict(k=4, steps=250, batch_size=256, lr=1e-2, seed=0)
    on = dl.TopKSAE(80, revive="resample", **kw).fit(small.X)
    off = dl.TopKSAE(80, revive=None, **kw).fit(small.X)
    assert on.n_resampled_ > 0 and off.n_resampled_ == 0
    gain = dl.recovery(on.D_, small.directions)["recovered"] - dl.recovery(off.D_, small.directions)["recovered"]
    assert gain >= 0.05


def test_auxk_loss_trains_only_the_dead_latents(small):
    # Gao et al. sec. 2.4: the k_aux most active dead latents reconstruct the residual; the aux
    # loss reaches those latents (and b_pre), never the live ones.
    m = dl.TopKSAE(96, k=4, k_aux=8, steps=30, batch_size=256, revive="auxk", seed=0).fit(small.X)
    xn = ((small.X - m.mean_) / m.scale_)[:300]
    dead = torch.zeros(96, dtype=torch.bool)
    dead[:40] = True
    _, _, aux = m._train_forward(xn, xn, dead)
    assert float(aux.detach()) > 0
    g_dec, g_enc = torch.autograd.grad(aux, [m.module_.W_dec, m.module_.W_enc])
    assert float(g_dec[:40].abs().sum()) > 0 and float(g_dec[40:].abs().sum()) == 0
    assert float(g_enc[40:].abs().sum()) == 0
    _, _, none = m._train_forward(xn, xn, torch.zeros(96, dtype=torch.bool))
    assert float(none) == 0


def _dense_topk_loss(m, xn, k):
    """The TopK SAE written densely, as Gao et al. do: the reference for the sparse path."""
    mod = m.module_
    pre = (xn - mod.b_pre) @ mod.W_enc.T + mod.b_enc
    top = pre.topk(k, dim=1)
    z = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
    return (z @ mod.W_dec + mod.b_pre - xn).pow(2).sum(1).mean()


def test_sparse_topk_path_equals_the_dense_formula(small):
    m = dl.TopKSAE(96, k=5, steps=30, batch_size=256, revive=None, seed=0).fit(small.X)
    xn = ((small.X - m.mean_) / m.scale_)[:300]
    xh, fired, _ = m._train_forward(xn, xn, torch.zeros(96, dtype=torch.bool))
    sparse = (xh - xn).pow(2).sum(1).mean()
    grads = torch.autograd.grad(sparse, list(m.module_.parameters()))
    dense = _dense_topk_loss(m, xn, 5)
    ref = torch.autograd.grad(dense, list(m.module_.parameters()))
    assert torch.allclose(sparse, dense, rtol=1e-5)
    for g, r in zip(grads, ref):
        assert torch.allclose(g, r, rtol=1e-4, atol=1e-6)
    z = m.encode(small.X[:300])
    assert bool(((z > 0).sum(1) <= 5).all()) and torch.equal(fired, (z > 0).any(0) | fired)


def test_matching_pursuit_gram_recursion_equals_explicit_residuals(small):
    m = dl.MatchingPursuitSAE(48, k=6, steps=20, batch_size=256, seed=0).fit(small.X)
    xn = ((small.X - m.mean_) / m.scale_)[:200]
    D, b = m.module_.W_dec.detach(), m.module_.b_pre.detach()
    r, z = xn - b, torch.zeros(200, 48)
    for _ in range(6):          # textbook matching pursuit on the residual itself
        c = r @ D.T
        j = c.argmax(1)
        coef = torch.relu(c[torch.arange(200), j])
        z[torch.arange(200), j] += coef
        r = r - coef[:, None] * D[j]
    with torch.no_grad():
        _, z_fast, _ = m._forward(xn)
    assert torch.allclose(z_fast, z, atol=1e-5)


def test_matching_pursuit_encoder_is_exact_on_an_orthonormal_dictionary():
    X = torch.rand(200, 6) * (torch.rand(200, 6) < 0.4)
    m = dl.MatchingPursuitSAE(6, k=6, steps=1).fit(X)
    with torch.no_grad():
        m.module_.W_dec.copy_(torch.eye(6))
        m.module_.b_pre.zero_()
    m.mean_, m.scale_ = torch.zeros(6), 1.0
    m._finalize()
    assert torch.allclose(m.encode(X), X, atol=1e-6)


def test_jumprelu_pseudo_derivatives():
    # Rajamanoharan et al. 2024, eqs. 11-12: d/dtheta H(z - theta) = -(1/eps) K((z - theta)/eps).
    z = torch.tensor([[0.50, 0.52, 0.9]])
    theta = torch.tensor([0.51, 0.51, 0.51], requires_grad=True)
    sae._StepFn.apply(z, theta, 0.04).sum().backward()
    assert torch.allclose(theta.grad, torch.tensor([-25.0, -25.0, 0.0]))
    theta.grad = None
    sae._JumpReLUFn.apply(z, theta, 0.04).sum().backward()
    assert torch.allclose(theta.grad, torch.tensor([-0.51 / 0.04, -0.51 / 0.04, 0.0]))


def test_seminmf_recovers_clustered_directions():
    # Ding et al. 2010: semi-NMF relaxes K-means; with one atom per sample (clusters of directions
    # at random magnitudes) the atoms are the cluster directions.
    gen = torch.Generator().manual_seed(0)
    F = torch.randn(5, 12, generator=gen)
    one = torch.nn.functional.one_hot(torch.randint(0, 5, (400,), generator=gen), 5)
    X = (torch.rand(400, 5, generator=gen) * one) @ F
    m = dl.SemiNMF(5, n_iter=100, l1=0.01, seed=0).fit(X)
    assert dl.recovery(m.D_, F, threshold=0.98)["recovered"] == 1.0
    assert dl.explained_variance(X, m.reconstruct(X)) > 0.99
    assert bool((m.encode(X) >= 0).all())


def test_transcoder_learns_the_output_features(small):
    Y, G = transcoder_target(small, 24, seed=0)
    m = dl.Transcoder(128, l1=0.3, steps=400, batch_size=256, seed=0).fit(small.X, Y)
    out = dl.evaluate(m, small.X, G, Y=Y)
    assert out["recovered"] >= 0.7
    assert m.D_.shape == (128, 24)
    with pytest.raises(ValueError, match="needs targets Y"):
        dl.Transcoder(8).fit(small.X)


def test_codebook_bottleneck_straight_through_and_steering():
    layer = dl.CodebookBottleneck(8, 16, k=2, layer_norm=False, seed=0)
    x = torch.randn(3, 5, 8, requires_grad=True)
    out = layer(x)
    assert out.shape == x.shape and layer.codes.shape == (3, 5, 2)
    assert torch.allclose(out, layer.codebook[layer.codes].mean(-2))
    out.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))         # straight through
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[:, -1] = True
    layer.steer(mask, 7)
    layer(x)
    assert bool((layer.codes[:, -1] == 7).all())
    layer.steer(None)
    with pytest.raises(ValueError, match="code must lie"):
        layer.steer(mask, 99)


@pytest.mark.parametrize("make, word", [
    (lambda: dl.TopKSAE(0), "n_latents"),
    (lambda: dl.TopKSAE(8, k=9), "'k' of TopKSAE must be at most n_latents"),
    (lambda: dl.MatchingPursuitSAE(4, k=5), "'k' of MatchingPursuitSAE must be at most n_latents"),
    (lambda: dl.VQCodebook(4, k=5), "'k' of VQCodebook must be at most n_latents"),
    (lambda: dl.ReLUSAE(8, l1=-1.0), "l1"),
    (lambda: dl.SemiNMF(8, keep_fraction=2.0), "keep_fraction"),
    (lambda: dl.ReLUSAE(8, revive="auxk"), "revive"),
    (lambda: dl.TopKSAE(8, device="tpu"), "device"),
])
def test_bad_hyperparameters(make, word):
    # __init__ only stores (scikit-learn's convention); fit checks every hyperparameter first
    model = make()
    with pytest.raises(ValueError, match=word):
        model.fit(torch.randn(20, 3))


def test_make_methods_names_the_bad_key():
    with pytest.raises(ValueError, match="only"):
        dl.make_methods(8, only=["sae"])


def test_dictionaries_resolve_auto_device_and_refuse_use_before_fit():
    model = dl.TopKSAE(8, k=2, steps=2, device="auto")
    with pytest.raises(NotFittedError, match="not fitted"):
        model.encode(torch.zeros(3, 3))
    assert not hasattr(model, "D_")
    assert model.fit(torch.randn(20, 3)) is model and model.D_.shape == (8, 3)


def test_bad_activations():
    m = dl.TopKSAE(4, k=2, steps=1)
    with pytest.raises(ValueError, match="NaN"):
        m.fit(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="rank 2"):
        m.fit(torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match="not fitted"):
        m.encode(torch.zeros(3, 2))
    m.fit(torch.randn(20, 3))
    with pytest.raises(ValueError, match="3 columns"):
        m.encode(torch.zeros(5, 4))


def test_every_method_behind_one_interface(small):
    Y, G = transcoder_target(small, 24, seed=0)
    models = dl.make_methods(96, k=4, steps=60, batch_size=256, seminmf_iter=20, seed=0)
    rows = dl.compare(models, small.X, small.directions, Y=Y, out_directions=G, eval_samples=2000)
    assert sorted(r["key"] for r in rows) == sorted(dl.METHODS)
    for r, m in zip(rows, models.values()):
        assert 0.0 <= r["recovered"] <= 1.0 and 0.0 <= r["mmcs"] <= 1.0 and r["dead"] <= 96
        assert m.D_.shape == (96, 24 if m.needs_target else 32)
        assert torch.allclose(m.D_.norm(dim=1), torch.ones(96), atol=1e-4)
        Z = m.encode(small.X[:7])
        assert Z.shape == (7, 96) and bool((Z >= 0).all())
        assert torch.allclose(m.decode(Z), Z @ m.D_ + m.bias_, atol=1e-5)
    by = {r["key"]: r for r in rows}
    assert by["topk"]["l0"] <= 4 + 1e-9 and by["mp"]["l0"] <= 4 + 1e-9 and by["vq"]["l0"] <= 4 + 1e-9
    # a planted truth far from the data is recovered by no method
    far = torch.as_tensor(random_directions(64, 32, seed=123), dtype=torch.float32)
    assert dl.recovery(models["topk"].D_, far)["recovered"] < 0.1


def test_toy_models_train_as_one_batch():
    # models of different sizes in one batch: each keeps only its own features, and a dense toy
    # model stores no more features than neurons while a sparse one stores more
    models = train_toy_models([3, 5, 5], 2, [0.05, 0.05, 1.0], steps=800, batch_size=256, seed=1)
    assert [m.W.shape for m in models] == [(2, 3), (2, 5), (2, 5)]
    assert len(models[0].represented()) == 3 and len(models[1].represented()) == 5
    assert len(models[2].represented()) <= 3
    assert models[1].loss[-100:].mean() < models[1].loss[:20].mean()
    with pytest.raises(ValueError, match="one value per model"):
        train_toy_models([3, 4], 2, [0.1, 0.1, 0.1], steps=1)


# ---------------------------------------------------------------------------------------- the FSM
def test_random_fsm_and_its_trajectories():
    fsm = cf.random_fsm(25, 5, 5, seed=2)
    assert fsm.successors.shape == (25, 5) and fsm.digits == 2
    assert all(len(set(row)) == 5 for row in fsm.successors)
    np.testing.assert_allclose(fsm.transition.sum(1), 1.0)
    first = fsm.successors // 5                      # distinct next-digit distributions, as asked
    hist = {tuple(np.bincount(r, minlength=5)) for r in first}
    assert len(hist) == 25
    assert fsm.spell(torch.tensor([0, 7, 24])).tolist() == [[0, 0], [1, 2], [4, 4]]
    b = cf.fsm_batch(fsm, 50, 9, seed=3)
    assert b.tokens.shape == (50, 18)
    assert torch.equal(b.tokens.reshape(50, 9, 2), fsm.spell(b.states))
    s = b.states.numpy()
    assert all(s[i, t + 1] in fsm.successors[s[i, t]] for i in range(50) for t in range(8))
    assert torch.equal(cf.fsm_batch(fsm, 50, 9, seed=3).tokens, b.tokens)
    with pytest.raises(ValueError, match="n_edges"):
        cf.random_fsm(10, 11, 4)
    with pytest.raises(ValueError, match="distinct next-digit"):
        cf.random_fsm(16, 1, 4)          # 16 states, but only 4 possible one-successor distributions


@pytest.fixture(scope="module")
def fsm_run():
    fsm = cf.random_fsm(16, 4, 4, seed=0)
    return cf.train_codebook_fsm(fsm, d_model=12, d_mlp=12, n_codes=64, n_steps=8, steps=300, batch_size=64,
                                 lr=1e-2, replace_every=50, seed=0)


def test_codebook_fsm_codes_name_states_and_steer(fsm_run):
    # Chance purity for codes that only knew the last digit would be 1/4; codes that name states are
    # far purer, and forcing another state's code moves the prediction to that state's successors.
    assert fsm_run.losses[-50:].mean() < fsm_run.losses[:20].mean() - 0.3
    table = cf.code_state_table(fsm_run, 128)
    assert table.shape == (64, 16) and table.sum() == 128 * 7
    pur = cf.code_purity(table)
    assert pur["purity"] >= 0.7
    st = cf.steering_experiment(fsm_run, 100)
    assert st["success"] >= 0.8 and st["baseline"] <= 0.2 and st["n_trials"] > 20
    assert st["mass_target"] > st["plain_mass_target"]


def test_next_state_probabilities_are_a_distribution(fsm_run):
    b = cf.fsm_batch(fsm_run.fsm, 5, 3, seed=11)
    p = cf.next_state_probs(fsm_run, b.tokens)
    assert p.shape == (5, 16)
    np.testing.assert_allclose(p.sum(1).numpy(), 1.0, atol=1e-4)   # 16 states = every 2-digit string
    q = cf.next_state_probs(fsm_run, b.tokens, steer_code=3)
    assert not torch.allclose(p, q)
    with pytest.raises(ValueError, match="whole states"):
        cf.next_state_probs(fsm_run, b.tokens[:, :5])
    with pytest.raises(ValueError, match="hook must be one of"):
        cf.train_codebook_fsm(fsm_run.fsm, hook="blocks.9.hook_resid_post", steps=1)


def test_codebook_steering_shapes():
    layer = dl.CodebookBottleneck(8, 16, k=2, layer_norm=False, seed=0)
    x = torch.randn(3, 5, 8)
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[:, 2] = True
    layer.steer(mask, torch.full((3, 5, 2), 4))
    layer(x)
    assert bool((layer.codes[:, 2] == 4).all())
    with pytest.raises(ValueError, match="code must be one index"):
        layer.steer(mask, torch.zeros(3, 4, dtype=torch.long))
    layer.steer(mask, 1)
    with pytest.raises(ValueError, match="steering mask"):
        layer(torch.randn(2, 5, 8))


# ------------------------------------------------------------------ the negative control (issue 22)
def test_random_atoms_control_recovers_nothing(small):
    fitted = dl.TopKSAE(128, k=4, steps=150, batch_size=512, seed=0).fit(small.X)
    assert dl.recovery(fitted.D_, small.directions)["recovered"] > 0.8
    null = dl.fit_dictionary(dl.TopKSAE(128, k=4, steps=150, batch_size=512, seed=0), small.X, control="random")
    torch.testing.assert_close(null.D_.norm(dim=1), torch.ones(128))
    rec = dl.recovery(null.D_, small.directions)
    assert rec["recovered"] == 0.0 and rec["mmcs"] < 0.7        # about sqrt(2 ln 128 / 32) = 0.78 at most
    again = dl.fit_dictionary(dl.TopKSAE(128, k=4, steps=150, batch_size=512, seed=0), small.X, control="random")
    torch.testing.assert_close(again.D_, null.D_)              # same seed, same null
    with pytest.raises(ValueError, match="control"):
        dl.fit_dictionary(dl.TopKSAE(8), small.X, control="shuffle")
    with pytest.raises(NotFittedError):
        dl.TopKSAE(8).randomize_atoms()


def test_compare_and_sweep_apply_the_control(small):
    Y, out_dirs = transcoder_target(small, seed=0)
    models = dl.make_methods(96, k=4, steps=20, batch_size=256, seminmf_iter=3, seed=0,
                             only=["relu", "transcoder", "vq"])
    rows = dl.compare(models, small.X, small.directions, Y=Y, out_directions=out_dirs, eval_samples=500,
                      control="random")
    assert all(r["recovered"] == 0.0 for r in rows)
    rows = dl.sweep(lambda v: dl.TopKSAE(96, k=v, steps=20, batch_size=256), [2], small.X, small.directions,
                    eval_samples=500, control="random")
    assert rows[0]["recovered"] == 0.0
    with pytest.raises(ValueError, match="control"):
        dl.compare({}, small.X, small.directions, control="bad")
    assert set(dl.PARAMETERS["control"]) == {"none", "random"}


def test_fsm_control_leaves_the_model_untrained():
    fsm = cf.random_fsm(16, 4, 4, seed=0)
    kw = dict(d_model=12, d_mlp=12, n_codes=32, n_steps=4, steps=5, batch_size=8, replace_every=1, seed=0)
    null = cf.train_codebook_fsm(fsm, control="random", **kw)
    torch.manual_seed(0)
    fresh = Transformer(null.model.cfg)
    for p, q in zip(null.model.state_dict().values(), fresh.state_dict().values()):
        torch.testing.assert_close(p, q)
    assert null.n_replaced == 0 and len(null.losses) == 5
    trained = cf.train_codebook_fsm(fsm, **kw)
    assert not torch.equal(trained.model.W_E, fresh.W_E)


def test_sweep_figure_has_no_stray_labels_or_stretched_axes():
    rows = [{"value": v, "l0": l0, "recovered": r, "explained_variance": e}
            for v, l0, r, e in ((2, 1.9, 0.9, 0.7), (4, 3.8, 1.0, 0.8), (8, 7.5, 0.8, 0.9))]
    fig = figures.sweep_figure({"TopK SAE (k)": rows, "ReLU SAE (L1)": rows}, true_l0=2.5)
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["features recovered", "explained variance"]       # the subplot titles only: no "new text"
    assert all(t.mode == "lines+markers" or t.mode == "lines" for t in fig.data)   # no piled-up point labels
    xs = [x for t in fig.data for x in t.x]
    assert max(xs) < 10 and not fig.layout.shapes                     # nothing stretches the log x axes
    assert any("true L0" in t.name for t in fig.data)
