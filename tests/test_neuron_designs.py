"""Tests for labkit.fields.neuron_designs: bases against SciPy, the ReLinear start, budgets, the KAN layer, the
certified radius against exact boundary distances on 2-D toys, the attack, the control and bad input."""
import math

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from labkit.core.params import ParameterError
from labkit.fields.neuron_designs import (
    DESIGNS,
    CBCHead,
    KANLinear,
    QuadraticLinear,
    bspline_basis,
    build,
    certified_radius,
    count,
    f2,
    f4,
    fit,
    kmeans_init,
    knots,
    match_params,
    min_params,
    n_params,
    pgd_l2,
    regression_task,
    uniform_bspline_basis,
)
from labkit.fields.neuron_designs.bases import relu_kan_basis
from labkit.fields.neuron_designs.experiment import fit_design
from labkit.fields.neuron_designs.targets import Task, best_halfplane_accuracy, disk
from labkit.fields.neuron_designs.training import parameter_groups

pytestmark = pytest.mark.usefixtures("one_thread")


# --- bases against SciPy (independent) -------------------------------------------------------------------

@pytest.mark.parametrize("grid,k", [(1, 1), (3, 2), (5, 3), (7, 3), (4, 4)])
def test_bspline_bases_match_scipy(grid, k):
    x = torch.tensor(np.random.default_rng(grid * 10 + k).uniform(-1, 1, 200), dtype=torch.float64)
    t = knots(grid, k, dtype=torch.float64)
    expected = BSpline.design_matrix(x.numpy(), t.numpy(), k).toarray()
    got = bspline_basis(x[:, None], t, k)[:, 0]
    fast = uniform_bspline_basis(x[:, None], grid, k)[:, 0]
    assert got.shape == (200, grid + k)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(fast.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(got.sum(-1).numpy(), 1.0, atol=1e-12)   # a partition of unity on the grid


def test_relu_kan_bump_peaks_at_one_and_vanishes_outside():
    low, high = torch.tensor([0.0]), torch.tensor([1.0])
    v = relu_kan_basis(torch.tensor([[-0.5, 0.5, 1.5]]), low, high)[0, :, 0]
    assert v.tolist() == pytest.approx([0.0, 1.0, 0.0])


def test_targets_known_values():
    assert float(f2(torch.zeros(1, 2))) == pytest.approx(1.0)
    assert float(f2(torch.tensor([[0.5, 1.0]]))) == pytest.approx(math.exp(2.0))
    assert float(f4(torch.zeros(1, 4))) == pytest.approx(1.0)
    x = torch.tensor([[math.sqrt(0.5), 0.0, 0.0, 0.0]])       # sin(π/2) = 1 in the first pair
    assert float(f4(x)) == pytest.approx(math.exp(0.5))


def test_best_halfplane_on_the_disk_by_brute_force():
    x, y = disk(200_000, seed=0)
    best = max(float(((x[:, 0] > c).long() != y).float().mean()) for c in np.linspace(-0.9, 0.9, 181))
    assert best_halfplane_accuracy() == pytest.approx(best, abs=0.005)
    assert best_halfplane_accuracy() == pytest.approx(0.608, abs=0.002)


# --- quadratic neurons ------------------------------------------------------------------------------------

def test_relinear_start_equals_the_linear_layer():
    torch.manual_seed(0)
    lin = torch.nn.Linear(6, 3)
    torch.manual_seed(0)
    quad = QuadraticLinear(6, 3, start="relinear")
    x = torch.randn(20, 6)
    torch.testing.assert_close(quad(x), lin(x), rtol=0, atol=0)
    torch.manual_seed(4)
    mlp = build("mlp", 10, 3, 8)
    torch.manual_seed(4)
    relinear = build("quadratic", 10, 3, 8)
    x = torch.randn(7, 10)
    torch.testing.assert_close(relinear(x), mlp(x), rtol=0, atol=0)


def test_plain_start_is_quadratic_and_can_draw_a_circle():
    q = QuadraticLinear(2, 1, start="plain")
    with torch.no_grad():
        q.r.weight.zero_(), q.r.bias.zero_(), q.g.weight.zero_(), q.g.bias.zero_()
        q.b.weight.fill_(-1.0), q.b.bias.fill_(0.5)
    x = torch.tensor([[0.0, 0.0], [0.9, 0.0], [0.5, 0.5]])
    assert (q(x)[:, 0] > 0).tolist() == [True, False, False]


def test_relinear_parameter_groups():
    torch.manual_seed(0)
    net = build("quadratic", 4, 2, 5)
    groups = parameter_groups(net, 0.1, 1e-4)
    assert groups[1]["lr"] == pytest.approx(1e-5)
    assert sum(p.numel() for g in groups for p in g["params"]) == count(net)
    assert sum(p.numel() for p in groups[1]["params"]) == 2 * count(net) // 3


# --- budgets -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("design", DESIGNS)
def test_parameter_counts_in_closed_form(design):
    for d_in, d_out, w in ((4, 1, 3), (64, 10, 2), (40, 10, 5)):
        if design == "cbc" and d_out == 1:
            continue
        assert count(build(design, d_in, d_out, w)) == n_params(design, d_in, d_out, w)


def test_match_params_nearest_and_the_kan_paper_shape():
    assert match_params("kan", 260, 4, 1) == 4            # [4, 4, 2, 1]: 26 edges of 10 parameters
    assert n_params("kan", 4, 1, 4) == 260
    w = match_params("mlp", 260, 4, 1)
    assert abs(n_params("mlp", 4, 1, w) - 260) <= abs(n_params("mlp", 4, 1, w + 1) - 260)
    assert abs(n_params("mlp", 4, 1, w) - 260) <= abs(n_params("mlp", 4, 1, w - 1) - 260)
    with pytest.raises(ValueError, match=r"too small for design 'skan'.*has \d+"):
        match_params("skan", 10, 64, 10)
    assert min_params("cbc", 64, 10) == 64 * 10 + 300


# --- the KAN layer -------------------------------------------------------------------------------------------

def test_kan_refine_to_a_nested_grid_keeps_the_function():
    torch.manual_seed(0)
    layer = KANLinear(3, 2, grid=5, k=3).double()
    with torch.no_grad():
        layer.coef.normal_()
    x = torch.rand(300, 3, dtype=torch.float64) * 2 - 1
    before = layer(x)
    layer.refine(10)
    assert layer.coef.shape == (2, 3, 13)
    torch.testing.assert_close(layer(x), before, atol=1e-8, rtol=1e-8)


def test_kan_edges_sum_to_the_output():
    torch.manual_seed(1)
    layer = KANLinear(3, 2)
    x = torch.rand(10, 3) * 2 - 1
    torch.testing.assert_close(layer.edges(x).sum(-1), layer(x), atol=1e-5, rtol=1e-5)


def test_kan_outside_the_grid():
    layer = KANLinear(2, 1)
    with pytest.raises(ValueError, match="outside the grid"):
        layer(torch.tensor([[0.0, 1.5]]))
    clamped = KANLinear(2, 1, outside="clamp")
    assert torch.isfinite(clamped(torch.tensor([[0.0, 1.5]]))).all()


@pytest.mark.parametrize("k", [1, 2, 3])
def test_kan_extend_fades_the_splines_out_past_the_extended_grid(k):
    """outside="extend": the SciPy B-splines on the extended knots, zero beyond them (only silu is left)."""
    t = knots(5, k, dtype=torch.float64)
    x = torch.linspace(-3.0, 3.0, 241, dtype=torch.float64)
    tt = t.numpy()
    expected = np.stack([np.nan_to_num(BSpline.basis_element(tt[i:i + k + 2], extrapolate=False)(x.numpy()))
                         for i in range(5 + k)], axis=1)  # each B-spline on its own support, zero elsewhere
    got = uniform_bspline_basis(x.unsqueeze(1), 5, k)[:, 0]
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    layer = KANLinear(1, 1, 5, k, outside="extend").double()
    far = torch.tensor([[-9.0], [9.0]], dtype=torch.float64)
    torch.testing.assert_close(layer(far), torch.nn.functional.silu(far) @ layer.base_weight.T)


@pytest.mark.parametrize("k", [1, 3, 4])
def test_uniform_bspline_closed_form_derivative_matches_autograd_through_the_recursion(k):
    """The basis' hand-written backward (dB_k/dx = (B_{k-1,i} - B_{k-1,i+1}) / h) against autograd through
    the general Cox-de Boor recursion, and against finite differences (gradcheck)."""
    torch.manual_seed(0)
    x = (torch.rand(40, 3, dtype=torch.float64) * 3.0 - 1.5).requires_grad_()
    w = torch.randn(40, 3, 5 + k, dtype=torch.float64)
    fast, = torch.autograd.grad((uniform_bspline_basis(x, 5, k) * w).sum(), x)
    general, = torch.autograd.grad((bspline_basis(x, knots(5, k, dtype=torch.float64), k) * w).sum(), x)
    torch.testing.assert_close(fast, general, atol=1e-12, rtol=1e-12)
    assert torch.autograd.gradcheck(lambda v: uniform_bspline_basis(v, 5, k), (x,))


# --- the certificate ------------------------------------------------------------------------------------------

def _head_2d(protos, classes):
    head = CBCHead(2, int(max(classes)) + 1, per_class=1, sigma=1.0)
    K = len(protos)
    head.prototypes = torch.nn.Parameter(torch.tensor(protos, dtype=torch.float64))
    logits = torch.full((K, head.n_classes, 3), 0.0, dtype=torch.float64)
    logits[torch.arange(K), torch.tensor(classes), 0] = 5.0
    head.reasoning = torch.nn.Parameter(logits)
    return head


def _ray_boundary_distance(head, x, n_dirs=720, far=20.0):
    """The distance to the other class found along n_dirs rays by bisection: at least the exact distance."""
    a = torch.linspace(0, 2 * math.pi, n_dirs + 1, dtype=torch.float64)[:-1]
    dirs = torch.stack([a.cos(), a.sin()], 1)
    cls = head.predict_wta(x[None])[0]
    lo, hi = torch.zeros(n_dirs, dtype=torch.float64), torch.full((n_dirs,), far, dtype=torch.float64)
    flips_far = head.predict_wta(x + far * dirs) != cls
    for _ in range(60):
        mid = (lo + hi) / 2
        flip = head.predict_wta(x + mid[:, None] * dirs) != cls
        hi, lo = torch.where(flip, mid, hi), torch.where(flip, lo, mid)
    return float(hi[flips_far].min())


def test_certified_radius_below_the_exact_boundary_distance_on_2d_toys():
    rng = np.random.default_rng(0)
    for _trial in range(5):
        protos = rng.uniform(-2, 2, size=(9, 2))
        head = _head_2d(protos, [i % 3 for i in range(9)])
        xs = torch.tensor(rng.uniform(-2, 2, size=(20, 2)))
        radii = certified_radius(head, xs)
        for x, r in zip(xs, radii):
            assert float(r) >= 0
            assert float(r) <= _ray_boundary_distance(head, x) + 1e-9


def test_certified_radius_is_tight_between_two_prototypes():
    head = _head_2d([[0.0, 0.0], [2.0, 0.0]], [0, 1])
    x = torch.tensor([[0.5, 0.0], [0.5, 1.0]], dtype=torch.float64)
    r = certified_radius(head, x)
    assert float(r[0]) == pytest.approx(0.5)                      # on the segment: exactly the bisector distance
    exact = (math.hypot(1.5, 1.0) ** 2 - math.hypot(0.5, 1.0) ** 2) / (2 * 2.0)
    assert float(r[1]) < exact == pytest.approx(0.5)              # off it: the bisector is farther than the margin
    assert float(r[1]) == pytest.approx((math.hypot(1.5, 1.0) - math.hypot(0.5, 1.0)) / 2)


def test_pgd_flips_above_the_bisector_and_never_below_the_radius():
    head = _head_2d([[0.0, 0.0], [2.0, 0.0]], [0, 1])
    x = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    assert not bool(pgd_l2(head, x, torch.tensor([0.45], dtype=torch.float64), steps=50, restarts=2)[0])
    assert bool(pgd_l2(head, x, torch.tensor([0.55], dtype=torch.float64), steps=50, restarts=2)[0])


# --- fitting, the control, determinism ------------------------------------------------------------------------

def test_kan_beats_the_mlp_on_f4_and_the_control_trains_nothing():
    task = regression_task("f4", n_train=500, n_test=300, seed=1)
    kan = fit_design("kan", task, 260, 300, seed=1)
    mlp = fit_design("mlp", task, 260, 300, seed=1)
    assert kan.n_params == 260 and abs(mlp.n_params - 260) <= 26
    assert kan.score < mlp.score
    again = fit_design("kan", task, 260, 300, seed=1)
    assert again.score == kan.score                                    # same seed, same numbers
    torch.manual_seed(0)
    net = build("kan", 4, 1, 4)
    before = [p.detach().clone() for p in net.parameters()]
    assert fit(net, task, 10, control="untrained").size == 0
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_kmeans_prototypes_classify_their_own_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]])
    y = torch.arange(3).repeat_interleave(50)
    x = centres[y] + 0.3 * torch.randn(150, 2, generator=g)
    head = kmeans_init(CBCHead(2, 3, per_class=2), x, y)
    assert float((head.predict_wta(x) == y).float().mean()) == 1.0


# --- bad input: one sentence naming the argument -----------------------------------------------------------

@pytest.mark.parametrize("make,name", [
    (lambda: KANLinear(2, 1, grid=0), "grid"),
    (lambda: KANLinear(2, 1, k=0), "'k'"),
    (lambda: knots(0, 3), "grid"),
    (lambda: KANLinear(2, 1, outside="wrap"), "outside"),
    (lambda: CBCHead(4, 3, per_class=0), "per_class"),
    (lambda: CBCHead(4, 3, sigma=0.0), "sigma"),
    (lambda: CBCHead(4, 3, sigma=-1.0), "sigma"),
    (lambda: build("transformer", 4, 1, 3), "design"),
    (lambda: match_params("kan", 100, 64, 10), "budget"),
    (lambda: QuadraticLinear(2, 1, start="zeros"), "start"),
])
def test_bad_input_names_the_argument(make, name):
    with pytest.raises((ValueError, ParameterError), match=name):
        make()


def test_labels_out_of_range_are_refused():
    x = torch.rand(20, 4)
    y = torch.arange(20) % 4
    task = Task("toy", x, y, x, y, n_classes=3)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        fit(build("mlp", 4, 3, 4), task, 2)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        kmeans_init(CBCHead(4, 3, per_class=1), x, y)
