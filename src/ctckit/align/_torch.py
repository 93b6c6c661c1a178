"""The forced aligner in torch, vectorised over utterances and states (private).

Runs on the device of its input, one step per frame over a ``(B, S)`` score
row, in float64; same trellis, same tie order and same results as the Numba
kernel (``ctckit.align._kernels``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ctckit.align._kernels import NO_PATH, OK, Options

_CHUNK = 256  # frames whose state emissions are gathered at once (bounds memory)


def viterbi_torch(
    lp: Tensor, lengths: Tensor, cols: Tensor, target_lengths: Tensor, opts: Options
) -> tuple[Tensor, Tensor, Tensor]:
    """Best paths of a batch.

    Args:
        lp: ``(B, T, V)`` float log-probabilities on any device.
        lengths, target_lengths: ``(B,)`` int64 on ``lp``'s device.
        cols: ``(B, L)`` int64 emission columns (``V`` for the wildcard).
        opts: The kernel's options.

    Returns:
        ``(alignments (B, T) int64, scores (B, T) of lp's dtype, status (B,) int64)``.
    """
    batch, time, vocab = lp.shape
    device = lp.device
    x = lp.to(torch.float64)
    if bool((cols == vocab).any()):
        wild = x.amax(dim=2, keepdim=True) + opts.wildcard_penalty
        x = torch.cat([x, wild], dim=2)
    n_states = 2 * cols.shape[1] + 1
    ext = torch.full((batch, n_states), opts.blank, dtype=torch.long, device=device)
    ext[:, 1::2] = cols
    skip = torch.zeros((batch, n_states), dtype=torch.bool, device=device)
    skip[:, 3::2] = cols[:, 1:] != cols[:, :-1]
    neg = torch.full((batch, 2), -torch.inf, dtype=torch.float64, device=device)
    back = torch.zeros((max(time, 1), batch, n_states), dtype=torch.int8, device=device)
    index = ext[:, None, :]

    def emissions(t0: int) -> Tensor:
        t1 = min(time, t0 + _CHUNK)
        return x[:, t0:t1].gather(2, index.expand(batch, t1 - t0, n_states))

    alpha = torch.full((batch, n_states), -torch.inf, dtype=torch.float64, device=device)
    if time > 0:
        chunk = emissions(0)
        alpha[:, :2] = chunk[:, 0, :2]
        for t in range(1, time):
            if t % _CHUNK == 0:
                chunk = emissions(t)
            up = torch.cat([neg[:, :1], alpha], dim=1)[:, :n_states]
            jump = torch.cat([neg, alpha], dim=1)[:, :n_states].masked_fill(~skip, -torch.inf)
            best, move = torch.stack([alpha, up, jump]).max(dim=0)  # ties: the first
            back[t] = move.to(torch.int8)
            new = best + chunk[:, t % _CHUNK]
            alpha = torch.where((lengths > t)[:, None], new, alpha)
    last = 2 * target_lengths
    end_blank = alpha.gather(1, last[:, None]).squeeze(1)
    end_token = alpha.gather(1, (last - 1).clamp(min=0)[:, None]).squeeze(1)
    take_token = (target_lengths > 0) & (end_token > end_blank)
    state = torch.where(take_token, last - 1, last)
    final = torch.maximum(end_blank, torch.where(target_lengths > 0, end_token, end_blank))
    status = torch.where(
        (lengths > 0) & (final == -torch.inf),
        torch.full_like(lengths, NO_PATH),
        torch.full_like(lengths, OK),
    )
    labels = torch.full((batch, time), opts.blank, dtype=torch.long, device=device)
    scores = torch.zeros((batch, time), dtype=torch.float64, device=device)
    rows = torch.arange(batch, device=device)
    for t in range(time - 1, -1, -1):
        active = lengths > t
        col = ext[rows, state]
        labels[:, t] = torch.where(active, col, labels[:, t])
        scores[:, t] = torch.where(active, x[rows, t, col], scores[:, t])
        if t > 0:
            step = back[t, rows, state].long()
            state = torch.where(active, state - step, state)
    labels = torch.where(labels == vocab, torch.full_like(labels, opts.wildcard), labels)
    return labels, scores.to(lp.dtype), status
