"""Learning dynamics and representational geometry.

The shared pieces (:mod:`labkit.dynamics.common`: ``Ensemble``, ``Snapshots``, ``kernel_alignment``,
``linear_cka``, ``effective_rank``, ``tangent_kernel`` ...) and each method's public names are importable
from here (``from labkit.dynamics import Ensemble, MultipathwayNet``); each is loaded on first use, so
importing one method does not import the others.
"""

from labkit.core.lazy import lazy_exports

_COMMON = ("Ensemble", "Snapshots", "kernel_alignment", "linear_cka", "weight_change", "effective_rank",
           "truncate_rank", "tangent_kernel", "gram")
_EXPORTS = {name: "labkit.dynamics.common" for name in _COMMON}
_EXPORTS.update(
    {
        name: "labkit.dynamics.rich_lazy"
        for name in ("ReluRNN", "MultipathwayNet", "mode_ode", "saxe_closed_form", "rank_sweep", "deficit_study")
    }
)

_EXPORTS.update(
    {name: "labkit.dynamics.rnn_hmm" for name in ("NoiseRNN", "HMMSpec", "sinkhorn_divergence", "train_rnn")}
)

_EXPORTS.update({n: "labkit.dynamics.representational_geometry" for n in ("cube_study", "rdm", "cka", "gt_transform")})
_EXPORTS.update({n: "labkit.dynamics.plasticity_rules" for n in ("MLP", "HebbianSubspace", "OrthogonalProjection")})

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
