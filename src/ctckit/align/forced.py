"""Batched CTC forced alignment: the most probable path that spells the targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_float, check_int, is_tensor
from ctckit._threads import default_threads, run_together
from ctckit.align import _input
from ctckit.errors import InputValueError

__all__ = ["forced_align"]

_BACKENDS = ("auto", "numba", "torch")

# below this many trellis cells per thread a call runs on fewer threads: handing a share
# to the pool costs about 36-69 us, the work 0.3-1.1 ns per cell; the quiet sweep
# (benchmarks/bench_align.py --thread-sweep, docs/benchmarks/align.md) shows two threads
# losing below about 1.2M cells, and that cells alone do not tell when they gain
_MIN_CELLS_PER_THREAD = 500_000


def _threads_for(cells: int, threads: int) -> int:
    """The threads a call of ``cells`` trellis cells uses when ``threads`` are allowed: at
    least ``_MIN_CELLS_PER_THREAD`` cells per thread, and at least one thread."""
    return max(1, min(threads, cells // _MIN_CELLS_PER_THREAD))


@dataclass(frozen=True)
class _Prepared:
    """The checked inputs, as the kernels take them."""

    x: Any  # (B, T, V) tensor or array, as given
    batched: bool
    lengths: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    target_lengths: npt.NDArray[np.int64]
    blank: int
    wildcard: int | None
    wildcard_penalty: float

    def options(self) -> Any:
        from ctckit.align._kernels import Options

        vocab = int(self.x.shape[2])
        return Options(
            self.blank, vocab if self.wildcard is None else self.wildcard, self.wildcard_penalty
        )


def _prepare(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: object,
    wildcard: object,
    wildcard_penalty: object,
) -> _Prepared:
    x, batched = _input.check_log_probs(log_probs)
    batch, time, vocab = (int(n) for n in x.shape)
    blank_id = check_int(blank, "blank", 0, vocab - 1)
    wild = _input.check_wildcard(wildcard, vocab)
    penalty = check_float(wildcard_penalty, "wildcard_penalty", high=0.0)
    checked = _input.checked_batch(input_lengths, targets, target_lengths, batch, time, batched,
                                   vocab, blank_id, wild)  # fmt: skip
    if checked is None:  # the checks one by one, which say what is wrong
        lengths = _input.check_lengths(input_lengths, "input_lengths", batch, time, batched)
        cols, lens = _input.check_targets(
            targets, target_lengths, batch, batched, vocab, blank_id, wild
        )
        _input.check_fit(cols, lens, lengths, batched)
    else:
        lengths, cols, lens = checked
    return _Prepared(x, batched, lengths, cols, lens, blank_id, wild, penalty)


def _raise_status(
    p: _Prepared, status: npt.NDArray[np.int64], bad: npt.NDArray[np.int64], values: Any
) -> None:
    from ctckit.align._kernels import NO_PATH, NON_FINITE

    if not status.any():  # all OK
        return
    if (status == NON_FINITE).any():
        b = int(np.flatnonzero(status == NON_FINITE)[0])
        t, v = int(bad[b, 0]), int(bad[b, 1])
        raise _input.non_finite_error(b, t, v, float(values[b, t, v]), p.batched)
    if (status == NO_PATH).any():
        raise _input.no_path_error(int(np.flatnonzero(status == NO_PATH)[0]), p.batched)


def _align_numba(
    p: _Prepared, num_threads: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]]]:
    from ctckit.align import _kernels
    from ctckit.align._viterbi import AUTO, run_arrays

    arr = p.x.detach().cpu().numpy() if is_tensor(p.x) else p.x
    arr = np.ascontiguousarray(arr)
    out_align, out_scores, status, bad, searched, order, taken, cells = run_arrays(
        arr, p.lengths, p.target_lengths
    )
    opts = p.options()

    def work() -> int:
        return _kernels.viterbi_many(  # type: ignore[no-any-return]
            arr, p.lengths, p.cols, p.target_lengths, order, opts, out_align, out_scores,
            status, bad, searched, AUTO, taken,
        )  # fmt: skip

    failed = run_together(work, min(len(order), _threads_for(int(cells), num_threads)))
    if any(failed):
        _raise_status(p, status, bad, arr)
    return out_align, out_scores


def _align_torch(p: _Prepared) -> tuple[Any, Any]:
    import torch

    from ctckit.align._torch import viterbi_torch

    x = p.x if is_tensor(p.x) else torch.from_numpy(np.ascontiguousarray(p.x))
    device = x.device
    lengths = torch.from_numpy(p.lengths).to(device)
    valid = torch.arange(x.shape[1], device=device)[None, :] < lengths[:, None]
    bad = ~(x < torch.inf) & valid[:, :, None]
    if bool(bad.any()):
        b, t, v = (int(i) for i in bad.nonzero()[0])
        raise _input.non_finite_error(b, t, v, float(x[b, t, v]), p.batched)
    with torch.no_grad():
        labels, scores, status = viterbi_torch(
            x.detach(),
            lengths,
            torch.from_numpy(p.cols).to(device),
            torch.from_numpy(p.target_lengths).to(device),
            p.options(),
        )
    _raise_status(p, status.cpu().numpy(), np.zeros((len(p.lengths), 2), np.int64), None)
    return labels, scores


def _check_run_options(backend: object, num_threads: object) -> int:
    """Check ``backend``; the thread count."""
    if backend not in _BACKENDS:
        raise InputValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    return default_threads() if num_threads is None else check_int(num_threads, "num_threads", 1)


def _best_paths(p: _Prepared, backend: str, threads: int) -> tuple[Any, Any]:
    """Labels and scores ``(B, T)``: tensors on the input's device from the torch path,
    arrays from the Numba path."""
    on_cpu = not is_tensor(p.x) or p.x.device.type == "cpu"
    if backend == "torch" or (backend == "auto" and not on_cpu):
        return _align_torch(p)
    return _align_numba(p, threads)


def forced_align(
    log_probs: Any,
    targets: Any,
    input_lengths: Any = None,
    target_lengths: Any = None,
    blank: int = 0,
    *,
    wildcard: int | None = None,
    wildcard_penalty: float = 0.0,
    num_threads: int | None = None,
    backend: str = "auto",
) -> tuple[Any, Any]:
    """The most probable CTC path that spells each target (Viterbi), for a whole batch.

    The semantics of ``torchaudio.functional.forced_align``, batched: each
    frame gets a label (a target token or the blank) such that the frames,
    with repeats merged and blanks removed, spell the target exactly, and the
    sum of the frames' log-probabilities is the highest possible. The search
    is exact (no pruning). Of equally good paths, the one chosen stays in a
    state rather than moving on, and moves one state rather than skipping a
    blank; it ends in the final blank unless the last token scores strictly
    more (torchaudio's order).

    CPU input (a numpy array or a CPU tensor) runs in a Numba kernel
    (compiled on first use and cached on disk) over ``num_threads`` threads
    without the GIL; a tensor on another device runs in torch on that device,
    vectorised over utterances and states (``backend="torch"`` forces that
    path on the CPU too). Both accumulate in float64 and give the same paths.

    Wildcard: an id outside ``[0, V)`` passed as ``wildcard`` may appear in
    the targets; it aligns like a token that matches any frame, with the
    frame's best log-probability (over all classes, blank included) plus
    ``wildcard_penalty`` (``<= 0``), so a transcript can be aligned with
    untranscribed stretches (torchaudio's ``<star>``; torchaudio's tutorial
    gives it log-probability 0 instead). It takes at least one frame, and its
    frames are labelled ``wildcard`` in the alignment.

    Args:
        log_probs: ``(B, T, V)`` or ``(T, V)`` float32/float64
            log-probabilities, a torch tensor (any device) or numpy array.
            ``-inf`` is allowed; NaN and ``+inf`` within ``input_lengths``
            are not. Frames beyond are never read.
        targets: ``(B, L)`` integer token ids (``(L,)`` for ``(T, V)``
            input), padded beyond ``target_lengths`` with anything; or a
            sequence of ``B`` integer sequences. Ids lie in ``[0, V)``, are not
            the blank, or are the wildcard.
        input_lengths: ``(B,)`` valid frames per utterance, in ``[0, T]``;
            ``None``: ``T`` each.
        target_lengths: ``(B,)`` tokens per target, in ``[0, L]``; ``None``:
            ``L`` each (or the sequences' lengths).
        blank: The blank's index.
        wildcard: The wildcard's id, or ``None`` for no wildcard.
        wildcard_penalty: Added to the wildcard's frame score; ``<= 0``.
        num_threads: Threads over the utterances on the CPU path, at most one
            per 500,000 trellis cells (frames times ``2L + 1`` states, summed
            over the batch; a smaller batch runs on the calling thread);
            ``None``: ``os.cpu_count()``.
        backend: ``"auto"`` (Numba for CPU input, torch otherwise),
            ``"numba"`` or ``"torch"``.

    Returns:
        ``(alignments, scores)``: ``(B, T)`` (``(T,)`` for ``(T, V)`` input)
        int64 frame labels and the log-probability of each frame's label
        (``log_probs``'s dtype), so that ``scores.sum(-1)`` is the best
        path's log-probability. Frames beyond ``input_lengths`` hold the
        blank with score 0. Tensors on the input's device for tensor input,
        numpy arrays for numpy input.

    Raises:
        InputTypeError: Wrong type or dtype of an argument.
        ShapeError: Wrong rank or shape of ``log_probs``, ``targets`` or a
            length.
        InputValueError: A length beyond its tensor, the blank or an id
            outside ``[0, V)`` in the targets, a target that needs more
            frames than its utterance has (naming the utterance and how many
            frames are missing), NaN or ``+inf`` in a valid frame, a target
            whose every path has probability 0, or a bad option.

    Example:
        >>> import numpy as np
        >>> lp = np.log(np.array([[0.7, 0.2, 0.1],   # blank, "a", "b"
        ...                       [0.2, 0.7, 0.1],
        ...                       [0.3, 0.3, 0.4],
        ...                       [0.1, 0.1, 0.8]]))
        >>> labels, scores = forced_align(lp, np.array([1, 2]))
        >>> labels.tolist(), round(float(np.exp(scores.sum())), 4)
        ([0, 1, 2, 2], 0.1568)
        >>> forced_align(lp, [1, 1, 1, 2])
        Traceback (most recent call last):
        ...
        ctckit.errors.InputValueError: the utterance: its 4 target token(s) with 2 repeat(s) ...
        need 6 frames, but it has 4: 2 frame(s) short
    """
    threads = _check_run_options(backend, num_threads)
    p = _prepare(log_probs, targets, input_lengths, target_lengths, blank, wildcard,
                 wildcard_penalty)  # fmt: skip
    labels, scores = _best_paths(p, backend, threads)
    if is_tensor(p.x) and not is_tensor(labels):
        import torch

        labels = torch.from_numpy(labels).to(p.x.device)
        scores = torch.from_numpy(scores).to(p.x.device)
    elif not is_tensor(p.x) and is_tensor(labels):
        labels, scores = labels.numpy(), scores.numpy()
    if not p.batched:
        labels, scores = labels[0], scores[0]
    return labels, scores
