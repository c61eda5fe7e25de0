"""Knowledge neurons: relation and language neurons, their readout, and rank-one fact edits, in a small LM
trained on planted multilingual facts.

The room:

* :mod:`~.facts` — the planted corpus (subjects, relations, objects, three synthetic languages, two templates);
* :mod:`~.model` — the lab's :class:`~labkit.interp.transformer.Transformer` trained to 0.99 fact accuracy, cached;
* :mod:`~.neurons` — per-group neuron statistics (reduced in hooks), selection, batched deactivation;
* :mod:`~.readout` — neurons read through the unembedding, clamping, causal tracing;
* :mod:`~.edit` — ROME and PMET rank-one edits of ``W_out`` and their closed forms;
* :mod:`~.experiment` — the deactivation study, a language steering vector, Key Space Detection;
* :mod:`~.figures` — plotly figures (nothing there trains anything);
* :mod:`~.parameters` — the notebook's parameter rules (``PARAMETERS``).
"""
from labkit.interp.knowledge_neurons.edit import (
    edit_study,
    edit_target,
    edited,
    fact_edit,
    key_covariance,
    mlp_keys,
    pmet_update,
    rome_update,
)
from labkit.interp.knowledge_neurons.experiment import DeactivationStudy, deactivation_study, key_space_box, steering
from labkit.interp.knowledge_neurons.facts import FactCorpus, make_facts
from labkit.interp.knowledge_neurons.model import CONTROLS, FactModel, fact_accuracy, last_logits, train_fact_model
from labkit.interp.knowledge_neurons.neurons import (
    STATS,
    deactivate,
    deactivate_one,
    group_neurons,
    masks_from,
    neuron_stats,
    specificity_scores,
)
from labkit.interp.knowledge_neurons.parameters import PARAMETERS
from labkit.interp.knowledge_neurons.readout import (
    causal_trace,
    clamp,
    clamp_success,
    max_activation,
    readout,
    readout_margin,
)

__all__ = [
    "FactCorpus", "make_facts", "CONTROLS", "FactModel", "train_fact_model", "fact_accuracy", "last_logits",
    "STATS", "neuron_stats", "specificity_scores", "group_neurons", "masks_from", "deactivate", "deactivate_one",
    "readout", "readout_margin", "max_activation", "clamp", "clamp_success", "causal_trace",
    "mlp_keys", "key_covariance", "rome_update", "pmet_update", "edit_target", "edited", "fact_edit", "edit_study",
    "DeactivationStudy", "deactivation_study", "steering", "key_space_box", "PARAMETERS",
]
