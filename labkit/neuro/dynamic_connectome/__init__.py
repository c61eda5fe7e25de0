"""Dynamic functional connectomes: affinities → non-negative tensor factorization → communities.

Follows L. Dyballa, S. Lang, A. Haslund-Gourley, E. Yemini & S. W. Zucker (2024), *Learning dynamic
representations of the functional connectome in neurobiological networks*, ICLR 2024
(github dyballa/dynamic-connectomes). Three stages:

1. :func:`windowed_affinity` — a non-linear, derivative-based affinity between every pair of neurons
   in sliding windows, per animal: a non-negative tensor (pairs × windows × animals);
2. :class:`NTF` — non-negative CP/PARAFAC of that tensor (batched HALS in PyTorch): each component
   is a *functional motif* (pair loadings), a time course and an animal loading;
3. :func:`detect_communities` — weighted community detection in each motif's graph.

:class:`DynamicConnectome` runs the three; :func:`simulate_dynamic_connectome` makes data with known
communities and epochs; :func:`rank_scan` and :func:`choose_rank` (core consistency), :func:`heldout_scan` and
:func:`choose_rank_heldout` (held-out error) choose the number of components; :func:`load_recordings` reads a
user's NWB files (one per animal) in their place.
"""
from labkit.neuro.dynamic_connectome.affinity import (
                                                      KERNELS,
                                                      Affinity,
                                                      derivative_z,
                                                      pairs_to_matrix,
                                                      static_correlation,
                                                      windowed_affinity,
)
from labkit.neuro.dynamic_connectome.communities import detect_communities, match_time_factors, partition_scores
from labkit.neuro.dynamic_connectome.experiment import (
                                                        CONTROLS,
                                                        choose_rank,
                                                        control_traces,
                                                        evaluate,
                                                        factor_arrays,
                                                        rank_scan,
                                                        rotated_error,
)
from labkit.neuro.dynamic_connectome.heldout import cell_folds, choose_rank_heldout, heldout_scan, masked_ntf
from labkit.neuro.dynamic_connectome.metrics import core_consistency, cp_reconstruct, factor_similarity
from labkit.neuro.dynamic_connectome.model import NTF, DynamicConnectome
from labkit.neuro.dynamic_connectome.ntf import max_cp_rank, ntf_hals
from labkit.neuro.dynamic_connectome.parameters import PARAMETERS
from labkit.neuro.dynamic_connectome.recording import TraceRecording, load_recordings, save_fit
from labkit.neuro.dynamic_connectome.simulate import (
                                                      DynamicConnectomeData,
                                                      epoch_courses,
                                                      epoch_mean_matrices,
                                                      simulate_dynamic_connectome,
)

__all__ = ["DynamicConnectome", "rank_scan", "choose_rank", "evaluate", "factor_arrays", "core_consistency",
           "windowed_affinity", "Affinity", "KERNELS", "derivative_z", "pairs_to_matrix", "static_correlation",
           "detect_communities",
           "partition_scores", "match_time_factors", "NTF", "ntf_hals", "cp_reconstruct", "factor_similarity",
           "max_cp_rank", "DynamicConnectomeData", "simulate_dynamic_connectome", "epoch_courses",
           "epoch_mean_matrices", "PARAMETERS", "CONTROLS", "control_traces", "rotated_error", "TraceRecording",
           "load_recordings", "save_fit", "heldout_scan", "choose_rank_heldout", "masked_ntf", "cell_folds"]
