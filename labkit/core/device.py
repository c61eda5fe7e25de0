"""Pick the compute device: CUDA, then Apple's MPS, then the CPU."""
from __future__ import annotations

import torch

_KNOWN = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return a usable ``torch.device``.

    ``"auto"`` picks CUDA when present, then MPS, then the CPU. A named device that this machine
    does not have (``"cuda"`` on a laptop) is an error, never a silent fallback, so a report that
    says it ran on the GPU did.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got {device!r}.")
    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif _mps_available():
            name = "mps"
        else:
            name = "cpu"
    kind = name.split(":")[0]
    if kind not in _KNOWN:
        raise ValueError(f"device must be one of {', '.join(_KNOWN)} (optionally 'cuda:N'), got {device!r}.")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but this machine has no CUDA GPU; use 'auto' or 'cpu'.")
        if ":" in name:
            index = int(name.split(":")[1])
            if index >= torch.cuda.device_count():
                raise ValueError(f"device {device!r} was asked for, "
                                 f"but this machine has {torch.cuda.device_count()} CUDA GPU(s).")
    if kind == "mps" and not _mps_available():
        raise ValueError(f"device {device!r} was asked for, but MPS is not available here; use 'auto' or 'cpu'.")
    from labkit.core.metrics import note

    note("device", name)
    return torch.device(name)
