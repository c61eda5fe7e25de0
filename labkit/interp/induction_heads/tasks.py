"""The tasks that grow induction heads, with their ground truth, and the loss on them.

:func:`repeated_segments` draws uniform random tokens with one random segment of random length ``L``
repeated immediately (or after a gap), at a random offset: nothing predicts the repeated half but the
first copy, and because ``L`` and the offset vary, a head cannot solve it by a fixed positional offset;
it needs the content-based circuit. :func:`shifted_repeats` puts a random gap between the copies, so
that scoring on it tells match-and-copy from copying at a learned distance. :func:`exemplar_label` is
Singh et al.'s (2024) exemplar-label few-shot task with token exemplars: ``x1 y1 x2 y2 ... xq`` with
labels freshly assigned in every sequence, so the query's label can only be read from context.
:func:`corrupt_first_copy` is the corrupted run of activation patching.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from labkit.core.params import check_value

_AT_LEAST_1 = (int, 1, None)


@dataclass
class TokenBatch:
    """Sequences with their ground truth.

    ``target_mask[b, q]`` marks the positions whose next token is determined by context (the loss
    and the in-context accuracy use only these); ``source[b, q]`` is, at those positions, the key
    position an ideal induction head attends to (the token to copy), -1 elsewhere.
    """

    tokens: torch.Tensor        # [batch, pos] long
    target_mask: torch.Tensor   # [batch, pos] bool: position q predicts tokens[q + 1] from context
    source: torch.Tensor        # [batch, pos] long: the position holding tokens[q + 1] earlier, or -1
    seg_len: torch.Tensor | None = None   # [batch] repeated-segment length L (repeated_segments only)
    offset: torch.Tensor | None = None    # [batch] where the first copy starts
    gap: torch.Tensor | None = None       # [batch] noise tokens between the two copies (0: the copy follows at once)

    def to(self, device) -> TokenBatch:
        move = lambda t: None if t is None else t.to(device)
        return TokenBatch(move(self.tokens), move(self.target_mask), move(self.source), move(self.seg_len),
                          move(self.offset), move(self.gap))

    def __len__(self) -> int:
        return self.tokens.shape[0]


def repeated_segments(batch: int, n_ctx: int, d_vocab: int, *, min_len: int = 4, max_len: int | None = None,
                      min_gap: int = 0, max_gap: int = 0, seed: int = 0, device="cpu") -> TokenBatch:
    """Uniform random tokens with one segment of length ``L ~ U{min_len..max_len}`` repeated after a gap.

    Layout per sequence: ``noise[:a] | S (L tokens) | g noise tokens | S again | noise``, with the gap
    ``g ~ U{min_gap..min(max_gap, n_ctx - 2L)}`` (the default 0: the copy follows at once) and the offset
    ``a`` uniform over the positions that fit. Position ``q`` in the second copy (except its last)
    predicts ``tokens[q + 1] = tokens[q - (L + g) + 1]``: that is the ideal induction source.
    """
    owner = "repeated_segments"
    batch = check_value("batch", batch, (int, 1, None), owner)
    n_ctx = check_value("n_ctx", n_ctx, (int, 4, None), owner)
    d_vocab = check_value("d_vocab", d_vocab, (int, 2, None), owner)
    min_gap = check_value("min_gap", min_gap, (int, 0, None), owner)
    max_gap = check_value("max_gap", max_gap, (int, min_gap, None), owner)
    max_len = (n_ctx - min_gap) // 2 if max_len is None else max_len
    min_len = check_value("min_len", min_len, (int, 2, None), owner)
    max_len = check_value("max_len", max_len, (int, min_len, None), owner)
    if 2 * max_len + min_gap > n_ctx:
        raise ValueError(f"max_len must be at most (n_ctx - min_gap) // 2 = {(n_ctx - min_gap) // 2} so two copies "
                         f"and the gap fit, got {max_len}.")
    g = torch.Generator().manual_seed(int(seed))
    tokens = torch.randint(0, d_vocab, (batch, n_ctx), generator=g)
    L = torch.randint(min_len, max_len + 1, (batch,), generator=g)
    if max_gap > 0:   # drawn only when asked for, so that gap-free batches are the same as before gaps existed
        top = torch.clamp(n_ctx - 2 * L, max=max_gap)
        gap = min_gap + (torch.rand(batch, generator=g) * (top - min_gap + 1)).long()
    else:
        gap = torch.zeros(batch, dtype=torch.long)
    lag = L + gap                                   # how far back the first copy lies
    a = (torch.rand(batch, generator=g) * (n_ctx - L - lag + 1)).long()
    pos = torch.arange(n_ctx)[None]
    second = (pos >= (a + lag)[:, None]) & (pos < (a + lag + L)[:, None])
    tokens = tokens.gather(1, torch.where(second, pos - lag[:, None], pos))
    target_mask = (pos >= (a + lag)[:, None]) & (pos < (a + lag + L - 1)[:, None])
    source = torch.where(target_mask, pos - lag[:, None] + 1, torch.full_like(pos, -1))
    return TokenBatch(tokens, target_mask, source, L, a, gap).to(device)


def shifted_repeats(batch: int, n_ctx: int, d_vocab: int, *, min_len: int = 4, seed: int = 0,
                    device="cpu") -> TokenBatch:
    """Repeats *shifted* away from the training layout: a segment of length ``L ~ U{min_len..(n_ctx-1)//2}``
    repeated after a gap of ``g >= 1`` random tokens (``g ~ U{1..n_ctx - 2L}``), so the distance between
    the copies, ``L + g``, varies independently of the segment. A head that copies from a fixed relative
    position, or one that learned "the repeat follows at once", scores near chance here; only
    match-and-copy (find the earlier occurrence of the current token, copy what followed it) scores high.
    """
    return repeated_segments(batch, n_ctx, d_vocab, min_len=min_len, max_len=(n_ctx - 1) // 2, min_gap=1,
                             max_gap=n_ctx, seed=seed, device=device)


def exemplar_label(batch: int, n_pairs: int, n_classes: int, n_labels: int, *, seed: int = 0,
                   device="cpu") -> TokenBatch:
    """The exemplar-label in-context task of Singh et al. (2024), with token exemplars.

    ``x1 y1 x2 y2 ... xn yn xq``: ``n_pairs`` distinct exemplar classes (token ids ``0..n_classes-1``),
    each paired with a label (ids ``n_classes..n_classes+n_labels-1``) drawn afresh for every sequence
    (their ``fs_relabel``), and a query ``xq`` equal to one of the exemplars. The only position with a
    target is the query, whose answer is the label after the matching exemplar; the vocabulary size is
    ``n_classes + n_labels``.
    """
    batch = check_value("batch", batch, (int, 1, None), "exemplar_label")
    n_pairs = check_value("n_pairs", n_pairs, (int, 1, None), "exemplar_label")
    n_classes = check_value("n_classes", n_classes, (int, n_pairs, None), "exemplar_label")
    n_labels = check_value("n_labels", n_labels, (int, 2, None), "exemplar_label")
    g = torch.Generator().manual_seed(int(seed))
    classes = torch.rand(batch, n_classes, generator=g).argsort(1)[:, :n_pairs]
    labels = n_classes + torch.randint(0, n_labels, (batch, n_pairs), generator=g)
    which = torch.randint(0, n_pairs, (batch,), generator=g)
    P = 2 * n_pairs + 1
    tokens = torch.empty(batch, P + 1, dtype=torch.long)
    tokens[:, 0:2 * n_pairs:2] = classes
    tokens[:, 1:2 * n_pairs:2] = labels
    rows = torch.arange(batch)
    tokens[:, 2 * n_pairs] = classes[rows, which]
    tokens[:, P] = labels[rows, which]          # the answer, as the "next token" after the query
    target_mask = torch.zeros(batch, P + 1, dtype=torch.bool)
    target_mask[:, 2 * n_pairs] = True
    source = torch.full((batch, P + 1), -1, dtype=torch.long)
    source[rows, 2 * n_pairs] = 2 * which + 1
    return TokenBatch(tokens, target_mask, source).to(device)


def corrupt_first_copy(batch: TokenBatch, d_vocab: int, seed: int = 1) -> TokenBatch:
    """The same sequences with the first copy of the segment replaced by fresh random tokens, so the
    second copy no longer repeats anything (targets, positions and the second copy are unchanged)."""
    if batch.seg_len is None:
        raise ValueError("batch must come from repeated_segments (it needs seg_len and offset).")
    g = torch.Generator().manual_seed(int(seed))
    fresh = torch.randint(0, d_vocab, batch.tokens.shape, generator=g).to(batch.tokens.device)
    pos = torch.arange(batch.tokens.shape[1], device=batch.tokens.device)[None]
    first = (pos >= batch.offset[:, None]) & (pos < (batch.offset + batch.seg_len)[:, None])
    return TokenBatch(torch.where(first, fresh, batch.tokens), batch.target_mask, batch.source, batch.seg_len,
                      batch.offset, batch.gap)


def in_context_loss(logits: torch.Tensor, batch: TokenBatch) -> torch.Tensor:
    """Mean cross-entropy of the next token at the positions predictable from context."""
    tgt = batch.tokens[:, 1:]
    lg = logits[:, :-1]
    m = batch.target_mask[:, :-1]
    return F.cross_entropy(lg[m], tgt[m])
