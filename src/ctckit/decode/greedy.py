"""Best-path (greedy) CTC decoding."""

from __future__ import annotations

from typing import Any

import numpy as np

from ctckit._checks import is_tensor
from ctckit.decode._input import MAX_LOG_PROB, check_lengths, check_log_probs, invalid_value_error

__all__ = ["greedy_decode"]


def greedy_decode(log_probs: Any, lengths: Any = None, blank: int = 0) -> list[list[int]]:
    """Best-path decoding: the most likely label per frame, repeats collapsed, blanks dropped.

    The argmax runs over the whole batch at once where the input lives (a
    tensor on an accelerator stays there; CPU tensors and numpy arrays use
    numpy's argmax on a zero-copy view); only the ``(B, T)`` winners travel
    to the CPU to be collapsed.

    Args:
        log_probs: Log-probabilities, ``(B, T, V)`` or ``(T, V)``, a float32 or
            float64 torch tensor (any device) or numpy array. ``-inf`` entries
            are allowed; NaN and ``+inf`` within ``lengths`` are not.
        lengths: Valid frames per utterance, integers in ``[0, T]``, shape
            ``(B,)`` (a tensor, array or sequence); for ``(T, V)`` input an int
            or shape ``(1,)``. ``None`` means every frame is valid. Frames
            beyond an utterance's length are ignored.
        blank: Index of the CTC blank.

    Returns:
        ``B`` label-id lists (one list for ``(T, V)`` input).

    Raises:
        InputTypeError: If ``log_probs`` is not a float32/float64 tensor or
            array, or ``lengths`` does not hold integers.
        ShapeError: If ``log_probs`` is not of rank 2 or 3, or ``lengths`` is
            not ``(B,)``.
        InputValueError: If ``blank >= V``, a length is outside ``[0, T]``, or
            a valid frame holds NaN or ``+inf``.

    Example:
        >>> import numpy as np
        >>> frames = [1, 1, 0, 1, 2, 2]  # a, a, blank, a, b, b
        >>> log_probs = np.log(np.eye(3)[frames] * 0.9 + 0.1 / 3)
        >>> greedy_decode(log_probs)
        [[1, 1, 2]]
        >>> greedy_decode(log_probs[None], lengths=[3])
        [[1]]
    """
    x, batched, blank_id = check_log_probs(log_probs, blank)
    batch, time, _ = x.shape
    lens = check_lengths(lengths, batch, time, batched)
    if is_tensor(x) and x.device.type != "cpu":
        values_t, best_t = x.detach().max(dim=-1)
        values = values_t.cpu().numpy()
        best = best_t.cpu().numpy()
    else:  # numpy's argmax is faster than torch's on the CPU; a CPU tensor is viewed, not copied
        if is_tensor(x):
            x = x.detach().numpy()
        best = x.argmax(axis=-1)
        if x.flags.c_contiguous:  # a flat gather is several times faster than take_along_axis
            flat_index = np.arange(0, x.size, x.shape[-1]) + best.reshape(-1)
            values = x.reshape(-1).take(flat_index).reshape(best.shape)
        else:
            values = np.take_along_axis(x, best[..., None], axis=-1)[..., 0]
    inside = np.arange(time) < lens[:, None]
    # NaN wins argmax/max, so the maxima show every NaN, +inf or probability
    bad = inside & ~(values <= MAX_LOG_PROB)
    if bad.any():
        b, t = (int(i) for i in np.argwhere(bad)[0])
        raise invalid_value_error(b if batched else None, t, float(x[b, t].max()))
    keep = inside & (best != blank_id)
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    flat = best[keep].tolist()
    out: list[list[int]] = []
    pos = 0
    for count in keep.sum(axis=1).tolist():
        out.append(flat[pos : pos + count])
        pos += count
    return out
