"""The sparse-dictionaries notebook's parameter rules: its check cell and ``labkit run`` both read them."""

from labkit.interp.sparse_dictionaries.base import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS), "threads": (int, 1, 256),
    "n_samples": (int, 100, 10_000_000), "n_features": (int, 2, 100_000), "dim": (int, 2, 100_000),
    "feature_prob": (float, 1e-5, 1.0), "n_latents": (int, 1, 1_000_000), "k": (int, 1, 1024),
    "steps": (int, 1, 1_000_000), "batch_size": (int, 1, 1_000_000), "l1": (float, 0.0, 100.0),
    "l0": (float, 0.0, 100.0), "transcoder_l1": (float, 0.0, 100.0), "seminmf_iter": (int, 1, 100_000),
    "eval_samples": (int, 10, 10_000_000),
    "sweep_k": str, "sweep_l1": str, "sweep_l0": str, "n_children": (int, 0, 100_000), "n_planes": (int, 0, 10_000),
    "toy_features": str, "toy_prob": (float, 1e-4, 1.0), "toy_steps": (int, 1, 1_000_000),
    "fsm_states": (int, 4, 10_000), "fsm_edges": (int, 1, 1000), "fsm_base": (int, 2, 100),
    "fsm_d_model": (int, 4, 4096), "fsm_d_mlp": (int, 0, 16384), "fsm_codes": (int, 2, 100_000),
    "fsm_k": (int, 1, 64), "fsm_seq_states": (int, 3, 512), "fsm_steps": (int, 1, 1_000_000),
    "fsm_batch": (int, 1, 100_000), "fsm_lr": (float, 1e-6, 1.0), "n_trials": (int, 10, 100_000),
}
