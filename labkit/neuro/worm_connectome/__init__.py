"""Real *C. elegans* connectomes compared, and anatomy against measured signal propagation.

``measures`` compares the annotations of :mod:`labkit.data.worm` (edge agreement, network measures, the rich
club) and scores how well anatomy predicts the functional atlas (ROC AUC); ``figures`` holds the plotly
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
from labkit.neuro.worm_connectome.parameters import PARAMETERS

__all__ = ["chance_jaccard", "weight_rank_correlation", "edge_agreement", "degrees", "rich_club", "network_measures",
           "anatomy_scores", "anatomy_function_auc", "roc_points", "neighbourhood", "summary_numbers", "PARAMETERS"]
