"""Real *C. elegans* connectomes compared, and anatomy against measured signal propagation.

``measures`` compares the annotations of :mod:`labkit.data.worm` (edge agreement, network measures, the rich
club) and scores how well anatomy predicts the functional atlas (ROC AUC); ``published`` holds the papers' neuron and
synapse counts to compare the loader with; ``null`` the negative control (label-shuffled annotations), the
degree-preserving null and the one pre-registered structure-function test; ``figures`` holds the plotly
builders of the notebook ``notebooks/neuro/worm_connectome.ipynb``; ``PARAMETERS`` its parameter rules.
"""
from labkit.neuro.worm_connectome.measures import (
                                                   anatomy_function_auc,
                                                   anatomy_scores,
                                                   chance_jaccard,
                                                   degrees,
                                                   edge_agreement,
                                                   neighbourhood,
                                                   network_measures,
                                                   rich_club,
                                                   roc_points,
                                                   summary_numbers,
                                                   weight_rank_correlation,
)
from labkit.neuro.worm_connectome.null import (
                                               CONTROLS,
                                               PREREGISTERED,
                                               load_annotation,
                                               preregistered_test,
                                               rewire_directed,
                                               shuffle_labels,
                                               weighted_auc,
)
from labkit.neuro.worm_connectome.parameters import PARAMETERS
from labkit.neuro.worm_connectome.published import PUBLISHED, published_table

__all__ = ["chance_jaccard", "weight_rank_correlation", "edge_agreement", "degrees", "rich_club", "network_measures",
           "anatomy_scores", "anatomy_function_auc", "roc_points", "neighbourhood", "summary_numbers", "PARAMETERS",
           "CONTROLS", "PREREGISTERED", "load_annotation", "shuffle_labels", "rewire_directed", "weighted_auc",
           "preregistered_test", "PUBLISHED", "published_table"]
