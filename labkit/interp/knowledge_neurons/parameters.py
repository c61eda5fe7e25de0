"""The knowledge-neurons notebook's parameter rules: its check cell and ``labkit run`` both read them."""
from labkit.interp.knowledge_neurons.model import CONTROLS
from labkit.interp.knowledge_neurons.neurons import STATS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS),
    "n_subjects": (int, 8, 196), "n_relations": (int, 2, 6), "n_objects": (int, 2, 1000), "n_languages": (int, 2, 64),
    "d_model": (int, 8, 4096), "n_layers": (int, 1, 64), "n_heads": (int, 1, 64), "d_mlp": (int, 8, 65536),
    "lr": (float, 0, 1, "neither"), "batch_size": (int, 1, 1_000_000), "max_steps": (int, 1, 10_000_000),
    "target_accuracy": (float, 0, 1, "right"),
    "stat": list(STATS), "budgets": str, "n_random": (int, 1, 1000),
    "n_clamp": (int, 1, 10_000), "n_clamp_prompts": (int, 1, 1_000_000), "clamp_factor": (float, 0, None, "neither"),
    "n_edits": (int, 1, 100_000), "edit_methods": str, "n_neighbours": (int, 1, 1_000_000),
    "lam": (float, 0, None, "neither"),
    "n_trace": (int, 1, 1_000_000),
}
