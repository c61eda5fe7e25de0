"""The induction-heads notebook's parameter rules: its check cell and ``labkit run`` both read them."""
from labkit.interp.induction_heads.training import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS),
    "d_vocab": (int, 8, 100_000), "n_ctx": (int, 8, 4096), "min_len": (int, 2, 2048),
    "d_model": (int, 8, 4096), "n_heads": (int, 1, 64), "positional": ["rope", "learned"],
    "init_std": (float, 1e-4, 1.0), "lr": (float, 1e-6, 1.0), "batch_size": (int, 1, 100_000),
    "steps": (int, 20, 10_000_000), "eval_every": (int, 1, 1_000_000),
    "clamp_steps": (int, 20, 10_000_000), "exemplar_steps": (int, 20, 10_000_000),
}
