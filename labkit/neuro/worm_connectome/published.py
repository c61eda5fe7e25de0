"""Neuron and synapse counts as the papers publish them, to hold the homogenized annotations to.

These numbers are typed in from the publications, not read through :mod:`labkit.data.worm`, so comparing
them with what the loader puts on the canonical order tests the homogenization from outside: a neuron
mapped to the wrong row, a pharynx silently dropped or added, or synapses lost on the way all show up as
a mismatch. Neuron counts must match exactly; synapse counts within ``SYNAPSE_RTOL`` (one synapse in two
hundred: the size of the corrections between releases of one table, e.g. cect's Varshney table holds 6,394
chemical synapses where the 2011 release lists 6,393).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labkit.data.worm import Connectome

__all__ = ["PHARYNGEAL_NEURONS", "NO_SYNAPSE_NEURONS", "PUBLISHED", "PublishedCount", "published_table",
           "SYNAPSE_RTOL"]

SYNAPSE_RTOL = 0.005

# The 20 neurons of the pharyngeal nervous system (Albertson & Thomson 1976, Phil. Trans. R. Soc. Lond. B 275,
# 299-325: "20 neurons"; the same 20 in Cook, Crouse, Yakovlev & Emmons 2020).
PHARYNGEAL_NEURONS = ("I1L", "I1R", "I2L", "I2R", "I3", "I4", "I5", "I6", "M1", "M2L", "M2R", "M3L", "M3R", "M4",
                      "M5", "MCL", "MCR", "MI", "NSML", "NSMR")
# The canal-associated neurons make no identified synapse; Varshney et al. (2011) leave them out of the
# 282 somatic neurons, hence 280.
NO_SYNAPSE_NEURONS = ("CANL", "CANR")

_WORMATLAS = ("Varshney, Chen, Paniagua, Hall & Chklovskii (2011), PLoS Comput Biol 7, e1001066; release notes "
              "of the table (WormAtlas, Neuronal Connectivity II)")


@dataclass(frozen=True)
class PublishedCount:
    """One published number: which annotation, what is counted, the value, and where it is printed."""

    annotation: str
    kind: str           # the load_connectome kind it is counted on
    measure: str        # see _measure
    value: int
    citation: str


PUBLISHED: tuple[PublishedCount, ...] = (
    PublishedCount("varshney_2011", "chemical", "neurons covered", 280, _WORMATLAS + ": 280 non-pharyngeal neurons"),
    PublishedCount("varshney_2011", "chemical", "pharyngeal neurons covered", 0,
                   _WORMATLAS + ": the somatic network, without the pharynx"),
    PublishedCount("varshney_2011", "chemical", "no-synapse neurons covered", 0, _WORMATLAS + ": CANL/R excluded"),
    PublishedCount("varshney_2011", "chemical", "synapses among non-pharyngeal neurons", 6393,
                   _WORMATLAS + ": 6,393 chemical synapses"),
    PublishedCount("varshney_2011", "electrical", "synapses among non-pharyngeal neurons", 890,
                   _WORMATLAS + ": 890 electrical junctions"),
    PublishedCount("white_1986", "chemical", "pharyngeal neurons covered", 20,
                   "White et al. (1986) with the pharynx of Albertson & Thomson (1976): all 20 pharyngeal neurons"),
    PublishedCount("white_1986", "chemical", "no-synapse neurons covered", 0,
                   "White et al. (1986): CANL/R make no synapses (as in Varshney et al. 2011)"),
    PublishedCount("cook_2019_herm", "chemical", "neurons covered", 302,
                   "Cook et al. (2019), Nature 571, 63-71: every one of the hermaphrodite's 302 neurons"),
    PublishedCount("cook_2020_pharynx", "chemical", "pharyngeal neurons covered", 20,
                   "Cook, Crouse, Yakovlev & Emmons (2020), eLife 9, e56302: the 20 pharyngeal neurons"),
)


def _measure(c: Connectome, measure: str) -> int:
    names = np.asarray(c.neurons)
    present = c.present
    if measure == "neurons covered":
        return int(present.sum())
    if measure == "pharyngeal neurons covered":
        return int(present[np.isin(names, PHARYNGEAL_NEURONS)].sum())
    if measure == "no-synapse neurons covered":
        return int(present[np.isin(names, NO_SYNAPSE_NEURONS)].sum())
    if measure == "synapses among non-pharyngeal neurons":
        keep = ~np.isin(names, PHARYNGEAL_NEURONS)
        w = c.weights[np.ix_(keep, keep)]
        return int(round(float(w.sum() if c.directed else np.triu(w).sum())))
    raise ValueError(f"measure must be one of the PUBLISHED measures, got {measure!r}.")


def published_table(loader=None) -> pd.DataFrame:
    """Every :data:`PUBLISHED` count beside the count on the loaded annotation, and whether they match.

    ``loader(name, kind) -> Connectome`` loads an annotation (default :func:`labkit.data.worm.load_connectome`;
    the notebook passes its own so that its negative control is compared too). Synapse counts match within
    :data:`SYNAPSE_RTOL`, neuron counts exactly.
    """
    if loader is None:
        from labkit.data.worm import load_connectome as loader
    rows = []
    for p in PUBLISHED:
        got = _measure(loader(p.annotation, p.kind), p.measure)
        tol = SYNAPSE_RTOL * p.value if p.measure.startswith("synapses") else 0.0
        rows.append({"annotation": p.annotation, "kind": p.kind, "measure": p.measure, "published": p.value,
                     "loaded": got, "match": abs(got - p.value) <= tol, "citation": p.citation})
    return pd.DataFrame(rows)
