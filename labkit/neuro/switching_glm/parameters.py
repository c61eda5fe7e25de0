"""The rules of the switching-GLM notebook's parameters (``labkit.check_params`` and ``labkit run`` use them)."""
from labkit.neuro.switching_glm.experiment import CONTROLS

PARAMETERS = {
    "seed": "seed", "device": "device", "control": list(CONTROLS), "backbone": ["worm", "random"], "neurons": str,
    "min_synapses": (float, 1.0, 100.0), "n_random": (int, 4, 200), "density": (float, 0.02, 0.9),
    "n_states": (int, 2, 8), "n_trials": (int, 3, 1000), "n_test": (int, 1, 500),
    "n_time_bins": (int, 50, 100_000), "stickiness": (float, 0.5, 0.9999), "p_active": (float, 0.1, 1.0),
    "n_iter": (int, 2, 1000), "m_steps": (int, 1, 500), "lr": (float, 1e-4, 1.0), "tau": (float, 0.05, 5.0),
    "warmup": (int, 0, 1000), "prior_absent": (float, 0.05, 0.95), "curve_trials": str,
    "nwb_path": str, "bin_size": (float, 0.0, 3600.0, "right"), "k_choices": str, "cv_folds": (int, 2, 100),
    "fit_out": str,
}
