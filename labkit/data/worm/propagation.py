"""The signal-propagation atlas of Randi et al. (2023) on the canonical order: who drives whom when stimulated."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from labkit.data.worm.files import _cached_npz, _package_file
from labkit.data.worm.neurons import _canonical, _index


@dataclass
class SignalPropagation:
    """The functional atlas on the canonical order: ``amplitude[s, r]`` is the mean ΔF/F of neuron *r*
    after optogenetic stimulation of neuron *s*; ``q`` its false-discovery-corrected significance
    (Randi et al. 2023 call a pair functionally connected when q < 0.05); ``n_trials`` how many
    stimulations were seen. Pairs never measured (and the diagonal) are NaN in ``amplitude`` and ``q``.
    """

    neurons: list[str]
    amplitude: np.ndarray
    q: np.ndarray
    n_trials: np.ndarray
    strain: str
    metadata: dict

    @property
    def measured(self) -> np.ndarray:
        """Boolean mask of the measured (stimulated, responding) pairs."""
        return ~np.isnan(self.amplitude)

    def connected(self, q_threshold: float = 0.05) -> np.ndarray:
        """1.0 where q < ``q_threshold``, 0.0 where measured but not significant, NaN where unmeasured."""
        out = np.where(self.q < q_threshold, 1.0, 0.0)
        out[~self.measured] = np.nan
        return out


_STRAINS = ("wt", "unc31")


@functools.cache
def _funatlas(strain: str) -> dict[str, np.ndarray]:
    path = _package_file("wormneuroatlas", "data", "funatlas.h5")

    def parse():
        import h5py

        try:
            with h5py.File(path, "r") as f:
                ids = [x.decode() for x in f["neuron_ids"][:]]
                dff, q, occ = (np.asarray(f[strain][k][:], dtype=float) for k in ("dFF", "q", "occ1"))
                compiled = f.attrs.get("time_compiled", b"")
        except (OSError, KeyError) as err:
            raise ValueError(f"The signal-propagation file {path} is malformed or unreadable: {err}.") from None
        n = len(ids)
        if dff.shape != (n, n) or q.shape != (n, n) or occ.shape != (n, n):
            raise ValueError(f"The signal-propagation file {path} is malformed: matrices are not {n}x{n}.")
        index = _index()
        atlas = np.array([k for k, x in enumerate(ids) if x in index])
        canon = np.array([index[ids[k]] for k in atlas])
        amp = np.full((302, 302), np.nan)
        qq = np.full((302, 302), np.nan)
        nt = np.zeros((302, 302))
        # The atlas stores [responder, stimulated]; we store [stimulated, responder] like weights[pre, post].
        amp[np.ix_(canon, canon)] = dff[np.ix_(atlas, atlas)].T
        qq[np.ix_(canon, canon)] = q[np.ix_(atlas, atlas)].T
        nt[np.ix_(canon, canon)] = occ[np.ix_(atlas, atlas)].T
        unmeasured = np.isnan(amp) | np.isnan(qq)
        np.fill_diagonal(unmeasured, True)
        amp[unmeasured] = np.nan
        qq[unmeasured] = np.nan
        return {"amplitude": amp, "q": qq, "n_trials": nt,
                "unmapped": np.array([x for x in ids if x not in index], dtype=str),
                "compiled": np.array(compiled.decode() if isinstance(compiled, bytes) else str(compiled))}

    return _cached_npz(f"funatlas-{strain}", [path], parse)


def load_signal_propagation(strain: str = "wt") -> SignalPropagation:
    """Randi et al. (2023) signal-propagation atlas (``strain="wt"`` or ``"unc31"``, the mutant lacking
    dense-core-vesicle release) on the canonical order; unmeasured pairs are NaN."""
    if strain not in _STRAINS:
        raise ValueError(f"strain must be one of {', '.join(map(repr, _STRAINS))}, got {strain!r}.")
    p = _funatlas(strain)
    meta = {"source": "wormneuroatlas/data/funatlas.h5", "citation": "Randi, Sharma, Dvali & Leifer (2023), Nature",
            "strain": strain, "compiled": str(p["compiled"]),
            "not_on_canonical_order": [str(x) for x in p["unmapped"]],
            "note": ("AWCON/AWCOFF are identified by function, not side, so they cannot be put on AWCL/AWCR; "
                     "CANL/CANR are not in the atlas. Their pairs are NaN.")}
    return SignalPropagation(neurons=list(_canonical()), amplitude=p["amplitude"].copy(), q=p["q"].copy(),
                             n_trials=p["n_trials"].copy(), strain=strain, metadata=meta)
