"""The studies the notebook runs. Every net is trained through :func:`labkit.core.train.train`, a whole grid of
members at once by :class:`~labkit.dynamics.common.Ensemble`. ``control="untrained"`` (the negative control)
skips every training step: the nets keep their random initial weights, everything else is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.params import ParameterError, check_value
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.data.datasets import load_digits, split_indices
from labkit.dynamics.common import Ensemble, kernel_alignment
from labkit.dynamics.representational_geometry import measures as M
from labkit.dynamics.representational_geometry.tasks import NONLINEARITIES, c_max, cube_task, feature_task, make_mlps

CONTROLS = ("none", "untrained")


def _fit(ens: Ensemble, loss_fn, steps: int, lr: float, control: str, optimizer: str, name: str) -> None:
    if control == "untrained" or steps == 0:
        return
    opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(ens.parameters(), lr=lr)
    with threads(device=next(ens.parameters()).device):      # tiny nets: one CPU thread is fastest
        train(ens, loss_fn, steps, optimizer=opt, desc=name, name=name, check_every=50)


def parse_bounds(name: str, text: str) -> list[tuple[float, float]]:
    """GT bounds written ``"l:u,l:u"`` as a list of (l, u) with 0 <= l < u <= 1; anything else is one sentence
    naming the parameter."""
    out = []
    for item in [t.strip() for t in str(text).split(",") if t.strip()]:
        try:
            lo, hi = (float(v) for v in item.split(":"))
        except ValueError:
            raise ParameterError(f"Parameter {name!r} must be pairs 'l:u' separated by commas, got {item!r}.") from None
        if not 0 <= lo < hi <= 1:
            raise ParameterError(f"Parameter {name!r} needs 0 <= l < u <= 1 in each pair 'l:u', got {item!r}.")
        out.append((lo, hi))
    return out


# ------------------------------------------------------------------------------------------- cube task
@dataclass
class CubeStudy:
    """Arrays indexed [nonlinearity, k, c, replicate]: ``target_cka``, ``input_cka`` (CKA of the conditions'
    mean hidden activity with the target and input kernels), ``train_accuracy``; ``hidden[(nl, k)]`` the
    conditions' mean hidden activity (c, replicate, 2^d, width); ``c`` (k, c) the cosines used."""

    nonlinearities: tuple
    ks: tuple
    fractions: np.ndarray
    c: np.ndarray
    target_cka: np.ndarray
    input_cka: np.ndarray
    train_accuracy: np.ndarray
    hidden: dict = field(default_factory=dict)
    input_means: dict = field(default_factory=dict)
    targets: dict = field(default_factory=dict)

    def at(self, name: str, fraction: float, nl: str, k: int) -> np.ndarray:
        """The replicates of ``name`` at the c nearest ``fraction`` × c_max for one nonlinearity and k."""
        j = int(np.argmin(np.abs(self.fractions - fraction)))
        return getattr(self, name)[self.nonlinearities.index(nl), self.ks.index(k), j]


def cube_study(d: int = 3, ks=(1,), fractions=(0.0, 0.5, 1.0), replicates: int = 5, width: int = 128,
               n_per_condition: int = 50, steps: int = 1000, lr: float = 0.1, seed: int = 0,
               control: str = "none", device="cpu") -> CubeStudy:
    """Train Tanh and ReLU nets (one hidden layer of ``width``, fixed readout, BCE, full-batch SGD at ``lr``
    for ``steps`` epochs) on the cube task at c = fraction × c_max for each k; ``replicates`` tasks and nets
    per point (replicate r uses task seed seed·1000 + r, shared across nonlinearities and c)."""
    control = check_value("control", control, list(CONTROLS), "cube_study")
    fr = np.asarray(fractions, dtype=float)
    shape = (len(NONLINEARITIES), len(ks), len(fr), replicates)
    tc, ic, acc = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    out = CubeStudy(NONLINEARITIES, tuple(ks), fr, np.array([[f * c_max(d, k) for f in fr] for k in ks]),
                    tc, ic, acc)
    for ik, k in enumerate(ks):
        tasks = [cube_task(d, k, float(f * c_max(d, k)), n_per_condition, seed=seed * 1000 + r)
                 for f in fr for r in range(replicates)]
        X = torch.stack([t.x for t in tasks]).to(device)
        Y = torch.stack([t.y for t in tasks]).to(device)
        means = torch.stack([t.means for t in tasks])
        cond = tasks[0].condition
        onehot = F.one_hot(cond).double()
        avg = (onehot / onehot.sum(0)).T                              # (2^d, n): averages samples per condition
        K_in = means @ means.transpose(-1, -2)
        T = 2 * tasks[0].targets - 1
        K_t = T @ T.T
        for inl, nl in enumerate(NONLINEARITIES):
            seeds = [seed * 1000 + 100 * ik + j for j in range(len(tasks))]
            ens = Ensemble(make_mlps(seeds, n_in=X.shape[-1], width=width, n_out=k, nonlinearity=nl,
                                     fixed_readout=True)).to(device)
            def loss(step, ens=ens, X=X, Y=Y):
                return F.binary_cross_entropy_with_logits(ens(X, shared=False), Y) * ens.size

            _fit(ens, loss, steps, lr, control, "sgd", f"cube {nl} k={k}")
            with torch.no_grad():
                logits = ens(X, shared=False)
                hid = ens.call("layers", X, shared=False)[:, -1].double().cpu()      # (members, n, width)
            Hm = avg @ hid                                                           # (members, 2^d, width)
            Kh = Hm @ Hm.transpose(-1, -2)
            sl = (inl, ik)
            tc[sl] = kernel_alignment(Kh, K_t.expand_as(Kh), centered=True).reshape(len(fr), replicates).numpy()
            ic[sl] = kernel_alignment(Kh, K_in, centered=True).reshape(len(fr), replicates).numpy()
            a = ((logits > 0).float() == Y).float().mean((1, 2)).cpu().numpy()
            acc[sl] = a.reshape(len(fr), replicates)
            out.hidden[(nl, k)] = Hm.reshape(len(fr), replicates, *Hm.shape[1:]).float()
        out.input_means[k] = means.reshape(len(fr), replicates, *means.shape[1:])
        out.targets[k] = tasks[0].targets
    return out


# ------------------------------------------------------------------------------------------- digits MLPs
@dataclass
class DigitsNets:
    """``acts`` (seeds, layers, n, width): every hidden layer's activity on ``x`` (the held-out digits,
    ``labels``), ``test_accuracy`` (seeds,)."""

    acts: torch.Tensor
    x: torch.Tensor
    labels: np.ndarray
    test_accuracy: np.ndarray


def digits_nets(n_seeds: int = 5, depth: int = 4, width: int = 128, steps: int = 600, lr: float = 3e-3,
                batch_size: int = 128, seed: int = 0, control: str = "none", device="cpu") -> DigitsNets:
    """Train ``n_seeds`` ReLU MLPs (depth × width) on scikit-learn's digits (Adam on minibatches of
    ``batch_size``, the same batches for every net; cross-entropy), from seeds seed·1000 + s, on one seeded
    70/30 split; return their hidden activity on the held-out digits."""
    control = check_value("control", control, list(CONTROLS), "digits_nets")
    x, y = load_digits()
    x = (x / 16.0 - (x / 16.0).mean(0)).astype(np.float32)
    tr, te = split_indices(len(y), 0.3, seed)
    xt, yt = torch.tensor(x[tr], device=device), torch.tensor(y[tr], device=device)
    ens = Ensemble(make_mlps([seed * 1000 + s for s in range(n_seeds)], n_in=64, width=width, n_out=10,
                             depth=depth)).to(device)
    g = torch.Generator().manual_seed(int(seed))
    batches = torch.randint(0, len(tr), (steps, min(batch_size, len(tr))), generator=g).to(device)

    def loss(step):
        b = batches[step]
        return F.cross_entropy(ens(xt[b]).flatten(0, 1), yt[b].repeat(n_seeds)) * n_seeds

    _fit(ens, loss, steps, lr, control, "adam", "digits MLPs")
    xe = torch.tensor(x[te], device=device)
    with torch.no_grad():
        acts = ens.call("layers", xe).double().cpu()
        acc = (ens(xe).argmax(-1).cpu() == torch.tensor(y[te])).double().mean(1).numpy()
    return DigitsNets(acts, xe.cpu(), y[te], acc)


def condition_means(acts: torch.Tensor, labels: np.ndarray, per_class: int, folds: int = 2) -> torch.Tensor:
    """RDM conditions from held-out digits: the first ``folds`` × ``per_class`` examples of each class, as
    (..., folds, 10·per_class, width) — fold f holds examples f·per_class … of every class, one per condition."""
    idx = np.stack([np.flatnonzero(labels == c)[: folds * per_class] for c in range(10)])     # (10, F·P)
    idx = idx.reshape(10, folds, per_class).transpose(1, 0, 2).reshape(folds, -1)             # (F, 10·P)
    return acts[..., torch.as_tensor(idx), :]


def layer_identification(acts: torch.Tensor, noise: float, transforms=(), n_draws: int = 5,
                         seed: int = 0) -> dict:
    """Lin & Kriegeskorte's test: the data are layer l of net s (acts (S, L, n, p)) plus Gaussian noise of sd
    ``noise`` × that layer's activity sd; each layer's model RDM is the mean RDM of the *other* nets, and the
    layer whose model RDM correlates best with the data RDM wins. Returns the fraction identified for plain
    RSA (key ``None``) and for each GT (l, u) in ``transforms`` (both data and model RDMs transformed; chance
    1/L)."""
    S, L = acts.shape[:2]
    g = torch.Generator().manual_seed(int(seed))
    sd = acts.std(dim=(-2, -1), keepdim=True)
    data = acts[None] + noise * sd[None] * torch.randn((n_draws, *acts.shape), generator=g, dtype=acts.dtype)
    D_data, D_net = M.rdm(data), M.rdm(acts)                             # (draws, S, L, n, n), (S, L, n, n)
    others = (1 - torch.eye(S, dtype=acts.dtype)) / (S - 1)              # row s: the mean over the other nets
    out = {}
    for tr in [None, *transforms]:
        Dd, Dn = (D_data, D_net) if tr is None else (M.gt_transform(D_data, *tr), M.gt_transform(D_net, *tr))
        Dm = torch.einsum("st,tlij->slij", others, Dn)                   # (S, L, n, n): model RDMs without net s
        r = M.compare_rdms(Dd[:, :, :, None], Dm[None, :, None])         # (draws, S, L_data, L_model)
        out[tr] = float((r.argmax(-1) == torch.arange(L)).double().mean())
    return out


def cross_seed_cka(acts: torch.Tensor, layer: int = 0) -> np.ndarray:
    """Linear CKA between every pair of distinct seeds at one layer (acts (S, L, n, p)): the S(S−1)/2 values."""
    C = M.cka_matrix(acts[:, layer])
    i, j = torch.triu_indices(len(C), len(C), 1)
    return C[i, j].numpy()


def matched_correlation(acts: torch.Tensor, layer: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For every pair of seeds at ``layer``: the mean correlation of one-to-one matched units, as they are and
    after a random rotation of the second net's units (which CKA cannot see). Returns ``(plain, rotated)``."""
    S, p = acts.shape[0], acts.shape[-1]
    plain, rotated = [], []
    for i, j in zip(*np.triu_indices(S, 1)):                     # pairs of nets (10 at 5 seeds), not units
        Q = M.random_rotation(p, seed * 1000 + 31 * int(i) + int(j), acts.dtype)
        plain.append(M.match_units(acts[i, layer], acts[j, layer])[1].mean())
        rotated.append(M.match_units(acts[i, layer], acts[j, layer] @ Q)[1].mean())
    return np.array(plain), np.array(rotated)


# ------------------------------------------------------------------------------------------- feature bias
@dataclass
class FeatureStudy:
    """Per seed: ``accuracy`` (seeds, 2) on held-out inputs (easy, hard), ``variance`` (seeds, 2) the fraction
    of the last hidden layer's variance each feature explains; ``hidden``/``y`` of the first net for plots."""

    accuracy: np.ndarray
    variance: np.ndarray
    hidden: torch.Tensor
    y: torch.Tensor


def feature_study(n_seeds: int = 5, n_train: int = 2048, n_test: int = 1024, width: int = 128, depth: int = 2,
                  steps: int = 300, lr: float = 3e-3, seed: int = 0, control: str = "none",
                  device="cpu") -> FeatureStudy:
    """Train ``n_seeds`` ReLU MLPs to output both features (16 ±1 bits; easy: bit 0, hard: 4-bit parity) with
    BCE and full-batch Adam; score held-out accuracy of each output and the variance each feature explains."""
    control = check_value("control", control, list(CONTROLS), "feature_study")
    x, y = feature_task(n_train + n_test, seed=seed)
    xt, yt = x[:n_train].to(device), y[:n_train].to(device)
    ens = Ensemble(make_mlps([seed * 1000 + 500 + s for s in range(n_seeds)], n_in=x.shape[1], width=width, n_out=2,
                             depth=depth)).to(device)
    _fit(ens, lambda step: F.binary_cross_entropy_with_logits(ens(xt), yt.expand(n_seeds, -1, -1)) * n_seeds,
         steps, lr, control, "adam", "easy and hard features")
    xe, ye = x[n_train:].to(device), y[n_train:]
    with torch.no_grad():
        acc = ((ens(xe) > 0).float().cpu() == ye).double().mean(1).numpy()
        hid = ens.call("layers", xe)[:, -1].double().cpu()
    return FeatureStudy(acc, M.variance_explained_by(hid, ye).numpy(), hid[0], ye)
