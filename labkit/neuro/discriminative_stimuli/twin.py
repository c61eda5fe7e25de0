"""The digital twin: a 2-layer spatiotemporal convolutional core with a per-neuron point readout.

Both layers are space–time separable: layer 1 a k×k spatial convolution then one temporal filter per channel,
layer 2 a 3×3 spatial filter per channel then a short temporal convolution that mixes the channels; ELU after
each (separable layers are several times cheaper than full 3-D ones on a CPU). Each neuron reads the core's
features at one learned position (bilinear, ``grid_sample``) with its own feature weights, passes the weighted
sum through a softplus in every time bin and averages over the bins: a predicted mean count per movie.
Positions start at the peak of each neuron's spike-triggered average, so the readout does not have to find its
cell from afar.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.estimator import Estimator
from labkit.core.params import check_value
from labkit.core.threads import threads
from labkit.core.train import train


class TwinNet(torch.nn.Module):
    """The network; ``forward(movies (B, T, H, W)) -> (B, N)`` predicted mean counts."""

    def __init__(self, n_neurons: int, side: int, channels: int = 8, spatial: int = 9, temporal: int = 8,
                 temporal2: int = 3, shared_readout: bool = False):
        super().__init__()
        self.side, self.n_neurons, self.shared = side, n_neurons, shared_readout
        self.frames_lost = temporal + temporal2 - 2
        self.conv_s = torch.nn.Conv2d(1, channels, spatial, padding=spatial // 2)
        self.conv_t = torch.nn.Conv2d(channels, channels, (temporal, 1), groups=channels)
        self.conv2_s = torch.nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.conv2_t = torch.nn.Conv2d(channels, channels, (temporal2, 1))
        m = 1 if shared_readout else n_neurons
        self.position = torch.nn.Parameter(torch.zeros(m, 2))
        self.weight = torch.nn.Parameter(torch.randn(m, channels) * 0.1)
        self.bias = torch.nn.Parameter(torch.zeros(m))
        self.log_scale = torch.nn.Parameter(torch.zeros(m))

    def features(self, movies: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W) -> (B, C, T', H, W): 2-D convolutions over frames folded into the batch, 1-D ones in time."""
        b, t, h, w = movies.shape
        c = self.conv_s.out_channels
        x = self.conv_s(movies.reshape(b * t, 1, h, w))                                   # space
        x = self.conv_t(x.reshape(b, t, c, h * w).transpose(1, 2))                         # time, per channel
        x = F.elu(x)
        t1 = x.shape[2]
        x = self.conv2_s(x.transpose(1, 2).reshape(b * t1, c, h, w))                       # space, per channel
        x = F.elu(self.conv2_t(x.reshape(b, t1, c, h * w).transpose(1, 2)))               # time, mixing channels
        return x.reshape(b, c, -1, h, w)

    def forward(self, movies: torch.Tensor, centred: bool = False) -> torch.Tensor:
        """Predicted mean counts; ``centred``: every neuron read at the canvas centre, i.e. its response to the
        stimulus moved onto its own RF (the core is translation-equivariant)."""
        f = self.features(movies)
        b, c, t, h, w = f.shape
        pos = torch.zeros_like(self.position) if centred else self.position.clamp(-1, 1)
        grid = pos[None, :, None, :].expand(b, -1, 1, 2)
        at = F.grid_sample(f.reshape(b, c * t, h, w), grid, align_corners=False)   # (B, C*T', M, 1)
        at = at.reshape(b, c, t, -1)
        lin = torch.einsum("bctm,mc->btm", at, self.weight) + self.bias
        out = self.log_scale.exp() * F.softplus(lin).mean(1)            # (B, M)
        return out.expand(b, self.n_neurons) if self.shared else out


def sta_positions(movies: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Each neuron's spike-triggered-average peak (spatial power summed over frames), in ``grid_sample``'s
    [-1, 1] coordinates (x, y)."""
    n, t, h, w = movies.shape
    c = counts - counts.mean(0)
    sta = (movies.reshape(n, -1).T @ c / n).T.reshape(-1, t, h, w)     # (N, T, H, W)
    power = sta.pow(2).sum(1)
    power = F.avg_pool2d(power[:, None], 3, 1, 1)[:, 0]                # smooth before taking the peak
    idx = power.reshape(len(power), -1).argmax(1)
    y, x = idx // w, idx % w
    return torch.stack([(x + 0.5) / w * 2 - 1, (y + 0.5) / h * 2 - 1], 1).float()


class DigitalTwin(Estimator):
    """Fit :class:`TwinNet` to movies and counts by Poisson likelihood (Adam through :func:`labkit.core.train`).

    ``fit(movies (n, T, H, W), counts (n, N))`` sets ``model_`` (the network, eval mode), ``loss_`` (the
    training history), ``mean_``/``std_`` (each neuron's predicted centred response over the training movies:
    the normalisation the clustering uses) and ``input_shape_`` (T, H, W). ``shared_readout=True`` is the negative
    control: one readout for every neuron, a twin that cannot tell cells apart. ``steps=0`` leaves it untrained.
    """

    _rules = {"channels": (int, 1, 256), "steps": (int, 0, None), "lr": (float, 0.0, None, "right"),
              "batch_size": (int, 1, None), "shared_readout": bool, "seed": "seed"}

    def __init__(self, channels: int = 8, steps: int = 600, lr: float = 0.01, batch_size: int = 64,
                 shared_readout: bool = False, seed: int = 0):
        self.channels, self.steps, self.lr, self.batch_size = channels, steps, lr, batch_size
        self.shared_readout, self.seed = shared_readout, seed

    def build(self, n_neurons: int, side: int) -> TwinNet:
        torch.manual_seed(self.seed)
        return TwinNet(n_neurons, side, self.channels, shared_readout=self.shared_readout)

    def fit(self, movies: torch.Tensor, counts: torch.Tensor, state: dict | None = None):
        """Train (or, given ``state``, a ``model_.state_dict()`` from the cache, restore) the twin."""
        self._validate()
        movies, counts = torch.as_tensor(movies, dtype=torch.float32), torch.as_tensor(counts, dtype=torch.float32)
        if movies.ndim != 4 or counts.ndim != 2 or len(movies) != len(counts):
            raise ValueError(f"movies must be (n, T, H, W) and counts (n, N) with the same n; got "
                             f"{tuple(movies.shape)} and {tuple(counts.shape)}.")
        if not torch.isfinite(counts).all() or not torch.isfinite(movies).all():
            raise ValueError("counts: the responses hold NaN or infinite values.")
        net = self.build(counts.shape[1], movies.shape[-1])
        if state is not None:
            net.load_state_dict(state["model"])
            self.loss_ = np.asarray(state["loss"])
        else:
            with torch.no_grad():
                pos = sta_positions(movies, counts)
                net.position.copy_(pos[:1] if self.shared_readout else pos)
                net.log_scale.fill_(float(torch.log(counts.mean().clamp_min(1e-3))))
            gen = torch.Generator().manual_seed(self.seed)
            order = torch.randperm(len(movies), generator=gen)

            def loss_fn(step):
                i = order[(step * self.batch_size + torch.arange(self.batch_size)) % len(movies)]
                pred = net(movies[i]).clamp_min(1e-6)
                return (pred - counts[i] * pred.log()).mean()

            with threads(1):   # one thread: on a shared CPU a second one mostly spins
                self.loss_ = (train(net, loss_fn, self.steps, lr=self.lr, desc="twin", name="the twin")
                              if self.steps else np.zeros(0))
        net.eval()
        self.model_ = net
        self.input_shape_ = tuple(movies.shape[1:])
        with torch.no_grad():
            pred = torch.cat([net(m, centred=True) for m in movies.split(256)])
        self.mean_, self.std_ = pred.mean(0), pred.std(0).clamp_min(1e-6)
        return self

    def state(self) -> dict:
        """What the cache stores: the network's weights and the loss history."""
        self._check_fitted("model_")
        return {"model": self.model_.state_dict(), "loss": torch.as_tensor(self.loss_)}

    def check_stimuli(self, stimuli: torch.Tensor) -> None:
        self._check_fitted("model_")
        if tuple(stimuli.shape[1:]) != self.input_shape_:
            raise ValueError(f"stimuli: each must have the twin's input shape {self.input_shape_}, "
                             f"got {tuple(stimuli.shape[1:])}.")

    def normalized(self, stimuli: torch.Tensor) -> torch.Tensor:
        """Each neuron's predicted response to the stimulus centred on its RF, z-scored by its (centred) response
        over the training movies (differentiable). Centring makes the clusters about function, not place."""
        self.check_stimuli(stimuli)
        return (self.model_(stimuli, centred=True) - self.mean_) / self.std_

    def predict(self, movies) -> np.ndarray:
        """Predicted mean counts (n, N) as NumPy."""
        movies = torch.as_tensor(movies, dtype=torch.float32)
        self.check_stimuli(movies)
        with torch.no_grad():
            return torch.cat([self.model_(m) for m in movies.split(256)]).numpy()


def held_out_correlation(twin: DigitalTwin, movies: torch.Tensor, rates: torch.Tensor) -> np.ndarray:
    """Per-neuron correlation between the twin's prediction and the true mean rate on held-out movies
    (the noise-free truth, so 1 is reachable)."""
    pred = torch.as_tensor(twin.predict(movies))
    check_value("rates", float(rates.sum()), float)
    p, r = pred - pred.mean(0), rates - rates.mean(0)
    return ((p * r).sum(0) / (p.norm(dim=0) * r.norm(dim=0)).clamp_min(1e-12)).numpy()
