"""Fast tests of labkit.dynamics.plasticity_rules: FA and CCL gradients against hand-derived ones, the exact
projection keeping old outputs, Oja's subspace rule, the scores, bad input and repeatability."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labkit.core.params import ParameterError
from labkit.core.train import train
from labkit.data.datasets import Split, digits, make_split
from labkit.dynamics.plasticity_rules import (
    MLP,
    HebbianSubspace,
    OrthogonalProjection,
    RotatedDigits,
    StreamNet,
    acc_bwt,
    exact_subspace,
    run_stream,
    subspace_cos2,
    train_rule,
    update_alignment,
    weight_grads,
)
from labkit.dynamics.plasticity_rules.experiment import credit_study


def _batch(n=16, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def _elu_prime(z):
    return torch.where(z > 0, torch.ones_like(z), torch.exp(z))


def test_fa_gradient_matches_hand_derivation():
    x, y = _batch()
    m = MLP([5, 4, 3], "fa", seed=1)
    w1, w2 = (w.detach() for w in m.weights)
    b2 = m.feedback(1)
    z1 = x @ w1.T
    a1 = F.elu(z1)
    e = (torch.softmax(a1 @ w2.T, 1) - F.one_hot(y, 3)) / len(x)   # dLoss/dlogits
    d1 = (e @ b2) * _elu_prime(z1)                                   # the error sent back through B, not W
    g1, g2 = weight_grads(m, x, y)
    torch.testing.assert_close(-g2, e.T @ a1, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(-g1, d1.T @ x, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(g1, weight_grads(m, x, y, "bp")[0])    # and it is not BP's


def test_ccl_gradient_matches_hand_derivation():
    x, y = _batch()
    m = MLP([5, 4, 3], "ccl", seed=2)
    w1 = m.weights[0].detach()
    v1, v2 = (v.detach() for v in m.backward_weights)
    c1 = F.elu(torch.eye(3) @ v2.T)                  # c_2 = I, c_1 = ELU(V_2 c_2)
    c0 = c1 @ v1.T                                   # no activation at the bottom
    t = F.one_hot(y, 3).float()
    z1 = x @ w1.T
    a1 = F.elu(z1)
    k1 = 0.5 * 256 / 4 * 2 / t.numel()
    dw1 = ((k1 * (a1 @ c1.T - t) @ c1) * _elu_prime(z1)).T @ x
    k0 = 0.5 * 256 / 5 * 2 / t.numel()
    dv1 = (k0 * (x @ c0.T - t).T @ x).T @ c1         # c_0 = c_1 V_1ᵀ, so dV_1 = (dL/dc_0)ᵀ c_1
    m.zero_grad()
    m.loss(x, y).backward()
    torch.testing.assert_close(m.weights[0].grad, dw1, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(m.backward_weights[0].grad, dv1, atol=1e-5, rtol=1e-4)


def test_bp_aligns_with_itself_and_readout_only_freezes_hidden():
    x, y = _batch()
    m = MLP([5, 4, 4, 3], "bp", seed=0)
    torch.testing.assert_close(update_alignment(m, x, y), torch.ones(3))
    r = MLP([5, 4, 4, 3], "fa", readout_only=True, seed=0)
    assert [w.requires_grad for w in r.weights] == [False, False, True]
    assert update_alignment(r, x, y).shape == (3,)   # a would-be update still exists in every layer


def _low_rank(n, d, r, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, r, generator=g) @ torch.linalg.qr(torch.randn(d, r, generator=g))[0].T


def test_exact_projection_keeps_old_outputs():
    old, new = _low_rank(30, 12, 4, 0), torch.randn(64, 12, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 3, (64,), generator=torch.Generator().manual_seed(2))
    net = StreamNet([12, 16, 16, 3], seed=0)
    with torch.no_grad():
        before = net(old).clone()
        bases = [exact_subspace(a, 1 - 1e-9).T for a in net.layer_inputs(old)]
    assert bases[0].shape[0] == 4
    weights = [layer.weight for layer in net.layers]
    opt = OrthogonalProjection(torch.optim.SGD(net.parameters(), lr=0.1), dict(zip(weights, bases)),
                               [layer.bias for layer in net.layers])
    w0 = weights[0].detach().clone()
    train(net, lambda s: F.cross_entropy(net(new), y), 50, optimizer=opt)
    assert (weights[0] - w0).abs().max() > 1e-3                     # it learnt ...
    torch.testing.assert_close(net(old).detach(), before, atol=1e-5, rtol=0)  # ... without moving old outputs


def test_oja_finds_a_clear_principal_subspace():
    g = torch.Generator().manual_seed(0)
    q = torch.linalg.qr(torch.randn(20, 20, generator=g))[0]
    x = (torch.randn(2000, 20, generator=g) * torch.tensor([5.0, 4, 3] + [0.3] * 17)) @ q.T
    h = HebbianSubspace([20], iters=300, seed=0)
    h.add([3])
    h.fit([x])
    assert subspace_cos2(h.H[0], q[:, :3].T) > 0.99
    assert subspace_cos2(torch.randn(3, 20, generator=g), q[:, :3].T) < 0.6


def test_exact_subspace_energy_and_acc_bwt():
    x = _low_rank(40, 10, 3, 3)
    b = exact_subspace(x, 0.5)
    assert 1 <= b.shape[1] <= 3
    assert exact_subspace(x, 0.999999, b).shape[1] == 3
    torch.testing.assert_close(b.T @ b, torch.eye(b.shape[1]), atol=1e-5, rtol=0)
    acc = np.array([[0.9, 0.1], [0.7, 0.95]])
    assert acc_bwt(acc) == pytest.approx((0.825, -0.2))


@pytest.mark.parametrize("call, word", [
    (lambda: MLP([5, 3], "backprop"), "rule"),
    (lambda: MLP([5, 0, 3]), "sizes"),
    (lambda: exact_subspace(torch.randn(5, 3), 1.0), "energy"),
    (lambda: exact_subspace(torch.randn(5, 3), 0.0), "energy"),
    (lambda: exact_subspace(torch.randn(5, 3), 0.9, torch.eye(3)), "basis"),
    (lambda: HebbianSubspace([3]).add([4]), "counts"),
    (lambda: RotatedDigits(make_split(np.random.rand(40, 4), np.arange(40) % 2), n_tasks=0), "n_tasks"),
    (lambda: acc_bwt(np.zeros((2, 3))), "acc"),
])
def test_bad_input_names_the_argument(call, word):
    with pytest.raises(ParameterError, match=word):
        call()


def test_labels_out_of_range_are_refused_before_training():
    s = make_split(np.random.rand(40, 4), np.arange(40) % 4)
    with pytest.raises(ParameterError, match="split"):
        train_rule(s, [4, 3, 3], "bp", epochs=1)     # 4 classes, 3 outputs
    bad = Split(s.x_train, s.y_train - 1, s.x_test, s.y_test)
    with pytest.raises(ParameterError, match="stream"):
        run_stream(RotatedDigits(bad, 2, 8), (4,), "finetune", epochs=1)


def test_same_seed_same_numbers_and_null_control():
    s = digits(0)
    a = train_rule(s, [64, 8, 10], "ccl", epochs=2, seed=3)
    b = train_rule(s, [64, 8, 10], "ccl", epochs=2, seed=3)
    np.testing.assert_array_equal(a.test_acc, b.test_acc)
    np.testing.assert_array_equal(a.alignment, b.alignment)
    runs = credit_study(s, [64, 8, 10], epochs=1, control="null")
    w0 = MLP([64, 8, 10], "fa", seed=0).weights[0]
    torch.testing.assert_close(runs["fa"].model.weights[0].detach(), w0.detach())   # no credit reached it
    st = RotatedDigits(s, 2, 64, seed=0)
    r1, r2 = (run_stream(st, (16,), "hlop", epochs=1, hebb_iters=50) for _ in range(2))
    np.testing.assert_array_equal(r1.acc, r2.acc)
