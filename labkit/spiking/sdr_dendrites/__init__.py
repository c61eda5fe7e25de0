r"""Sparse distributed representations (SDRs) and active dendrites: exact theory and Monte-Carlo.

Follows S. Ahmad & J. Hawkins (2016), *How do neurons operate on sparse distributed representations?
A mathematical theory of sparsity, neurons and active dendrites* (arXiv:1601.00720).

A population of ``n`` cells has ``a`` of them active (a pattern, an SDR). A dendritic segment holds
``s`` synapses onto cells of a pattern it has learned and fires an NMDA spike when at least ``theta``
(θ) of them are active.

**False match** (the paper's Eq. 1–3). A random pattern shares ``b`` active cells with the ``s``
synapses with the hypergeometric probability :math:`\binom{s}{b}\binom{n-s}{a-b}/\binom{n}{a}`, so

.. math:: P_\mathrm{FM}(n, a, s, \theta) = \sum_{b=\theta}^{s} \frac{\binom{s}{b}\binom{n-s}{a-b}}{\binom{n}{a}} .

**Union property.** One segment holds ``s`` synapses for each of ``M`` patterns, mixed together.
A random ``s``-subset of ``n`` cells added to a union of ``u`` synapses adds ``s - k`` new ones,
``k`` hypergeometric (:math:`\binom{u}{k}\binom{n-u}{s-k}/\binom{n}{s}`); iterating this gives the
exact distribution of the union size :math:`U_M`, and

.. math:: P_\mathrm{union}(\theta) = \sum_u P(U_M = u)\, P_\mathrm{FM}(n, a, u, \theta) .

The paper (and Numenta's notebooks) instead plug in the expected union size rounded to an integer,
:math:`\bar u = n\,(1 - (1 - s/n)^M)`; both are provided (``method="exact"`` / ``"expected"``).

**Noise.** Replace ``v`` of the ``a`` active cells of a learned pattern by ``v`` cells outside it.
The segment (``s`` synapses on the pattern's cells) misses the pattern when more than ``s - θ`` of its
synapses sit on removed cells (Numenta's ``noiseFN``):

.. math:: P_\mathrm{FN}(a, s, \theta, v) = \sum_{b=s-\theta+1}^{s} \frac{\binom{s}{b}\binom{a-s}{v-b}}{\binom{a}{v}} .

All sums are evaluated in log space (``scipy.special.gammaln`` and ``logsumexp``), so probabilities
down to 1e-300 and below keep full relative precision; the ``log_*`` functions return natural logs
(``-inf`` for an impossible event).

The **Monte-Carlo simulator** draws explicit random SDRs (a dense 0/1 bank on the device) and segments
(lists of synapse indices) and counts overlaps; see :func:`simulate_false_match` and
:func:`simulate_noise`. It returns the histogram of overlaps, from which the match probability for
every θ and its exact (Clopper–Pearson) confidence interval follow.

The negative control (``control="normal"`` in every probability, and the notebook's ``control``
parameter) replaces each exact hypergeometric tail by its normal approximation: the naive theory that
the paper's printed numbers and the simulation must both contradict.

The room: :mod:`.theory` (the exact formulas and the best threshold), :mod:`.simulate` (the
Monte-Carlo), :mod:`.grids` (the paper's grids and printed numbers, and simulation against theory),
:mod:`.figures` and :mod:`.parameters` (the notebook's parameter rules).
"""
from __future__ import annotations

from labkit.spiking.sdr_dendrites.grids import (
    AGREEMENT_FALSE_MATCH,
    AGREEMENT_NOISE,
    AGREEMENT_UNION,
    PAPER_FALSE_MATCH,
    PAPER_FALSE_NEGATIVE,
    PAPER_SWEEP_MEDIAN,
    PAPER_TABLE_1,
    PAPER_UNION,
    agreement_grid,
    best_threshold_grid,
    false_match_sweeps,
    paper_grid,
    paper_threshold_sweep,
)
from labkit.spiking.sdr_dendrites.parameters import PARAMETERS
from labkit.spiking.sdr_dendrites.simulate import OverlapSample, clopper_pearson, simulate_false_match, simulate_noise
from labkit.spiking.sdr_dendrites.theory import (
    CONTROLS,
    ThresholdChoice,
    expected_union_size,
    false_match,
    false_negative,
    log_false_match,
    log_false_negative,
    log_union_false_match,
    noise_count,
    noise_overlap_pmf,
    optimal_threshold,
    overlap_pmf,
    union_false_match,
    union_overlap_pmf,
    union_size_pmf,
)

__all__ = [
    "log_false_match", "false_match", "overlap_pmf",
    "union_size_pmf", "expected_union_size", "union_overlap_pmf", "log_union_false_match", "union_false_match",
    "log_false_negative", "false_negative", "noise_overlap_pmf", "noise_count",
    "ThresholdChoice", "optimal_threshold", "CONTROLS",
    "OverlapSample", "clopper_pearson", "simulate_false_match", "simulate_noise",
    "paper_grid", "paper_threshold_sweep", "best_threshold_grid", "agreement_grid", "false_match_sweeps",
    "AGREEMENT_FALSE_MATCH", "AGREEMENT_UNION", "AGREEMENT_NOISE",
    "PAPER_FALSE_MATCH", "PAPER_TABLE_1", "PAPER_UNION", "PAPER_FALSE_NEGATIVE", "PAPER_SWEEP_MEDIAN",
    "PARAMETERS",
]
