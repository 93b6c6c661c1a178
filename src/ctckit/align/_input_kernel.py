"""One Numba pass over a batch's targets and lengths: the checks that need a loop (private).

Only the passing case is fast: when any check fails, the caller reruns the checks of
``ctckit.align._input`` in Python, which say what is wrong (in their order).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def targets_fit(  # type: ignore[no-untyped-def]
    targets, target_lengths, lengths, n_frames, vocab, blank, wildcard, has_wild, cols
):
    """Whether every length lies in its range (``[0, n_frames]``, ``[0, L]``), every target
    id is a non-blank class or the wildcard, and every target fits in its frames (one per
    token, one blank between equal neighbours); ``cols`` gets the emission columns (the
    wildcard as ``vocab``, zeros beyond the lengths), valid only when it returns True."""
    batch, width = targets.shape
    for b in range(batch):
        n = lengths[b]
        length = target_lengths[b]
        if n < 0 or n > n_frames or length < 0 or length > width:
            return False
        need = length
        prev = -1
        for k in range(length):
            v = targets[b, k]
            if has_wild and v == wildcard:
                col = vocab
            elif v < 0 or v >= vocab or v == blank:
                return False
            else:
                col = v
            cols[b, k] = col
            need += col == prev
            prev = col
        for k in range(length, width):
            cols[b, k] = 0
        if need > n:
            return False
    return True
