"""Two CPU helpers: a gather whose backward is fast (the one sparse operation every local field needs),
and running small problems on one thread."""
from __future__ import annotations

from contextlib import contextmanager

import torch


class _GatherRows(torch.autograd.Function):
    """``table[idx]`` whose backward is one ``index_add_`` (several times faster on a CPU than the
    generic scatter behind advanced indexing or ``F.embedding``)."""

    @staticmethod
    def forward(ctx, table, idx):
        flat = idx.reshape(-1)
        ctx.save_for_backward(flat)
        ctx.n_rows = table.shape[0]
        return table.index_select(0, flat).view(*idx.shape, table.shape[1])

    @staticmethod
    def backward(ctx, grad):
        (flat,) = ctx.saved_tensors
        out = torch.zeros(ctx.n_rows, grad.shape[-1], dtype=grad.dtype, device=grad.device)
        return out.index_add_(0, flat, grad.reshape(-1, grad.shape[-1])), None


def gather_rows(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` ``(N, F)`` at ``idx`` (any shape): shape ``(*idx.shape, F)``, differentiable in ``table``."""
    return _GatherRows.apply(table, idx)


@contextmanager
def cpu_threads_for(n_points: int, device, threshold: int = 16_384):
    """Run on one CPU thread while the tensors are small (``n_points`` rows below ``threshold``).

    On a CPU, PyTorch splits every operation across its intra-op threads; for tensors of a few
    thousand rows the synchronisation costs more than the split saves (on a loaded 2-core machine,
    ten times more: a 64² fit took 24 s on two threads and 2 s on one). The thread count is restored
    afterwards; nothing changes on a GPU.
    """
    device = torch.device(device)
    if device.type != "cpu" or n_points >= threshold:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
