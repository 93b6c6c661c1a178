"""Streaming CTC decoding: frames fed as they arrive, hypotheses read at any time.

* :class:`DecoderStream` (from :meth:`BeamSearchDecoder.stream
  <ctckit.decode.BeamSearchDecoder.stream>`): the prefix beam search, one search state
  per stream kept between chunks, so no frame is searched twice;
* :class:`GreedyStream` (from :func:`greedy_stream`): best-path decoding of a stream.

Both give, for any chunking of the frames, exactly what one-shot decoding of the
concatenated frames gives.

Threads: a decoder may be shared by any number of threads and streams (what it caches
is made under a lock, or is a number every thread computes alike). A stream may not be
used from two threads at once (it holds no lock; the outcome of concurrent feeds is
undefined); different streams may be fed from different threads at the same time, and a
beam-search feed releases the GIL while it searches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int, is_tensor
from ctckit.decode._input import check_lengths, invalid_value_error, kernel_log_prob_array
from ctckit.decode._kernels.layout import C_FRAMES, N_HEADER
from ctckit.decode.greedy import greedy_decode
from ctckit.decode.types import Hypothesis
from ctckit.errors import InputValueError, ShapeError

if TYPE_CHECKING:
    from ctckit.decode.beam import BeamSearchDecoder

__all__ = ["DecoderStream", "GreedyStream", "greedy_stream"]

# frames a fresh stream's trie has room for (at W nodes a frame); it doubles when full
_FIRST_CAPACITY = 64
# a finished stream of at most this many frames leaves its buffers to the next stream
_SPARE_FRAMES = 4096
# numpy's flags.num bits: C-contiguous, aligned, writeable
_C_ALIGNED_WRITEABLE = 0x1 | 0x100 | 0x400
# the lengths of a chunk without lengths (every stream takes all its frames)
_ALL_FRAMES = np.zeros(0, np.int64)
# the column of a state's int64 buffer that counts its frames
_FRAMES = N_HEADER + C_FRAMES


class _Late:
    """Modules imported on first use: the kernels (they load Numba) and the beam search's
    helpers (:mod:`ctckit.decode.beam` imports this module)."""

    streams: Any = None
    beam: Any = None


def _late() -> type[_Late]:
    if _Late.beam is None:
        from ctckit.decode import beam
        from ctckit.decode._kernels import streams

        _Late.streams = streams
        _Late.beam = beam
    return _Late


def _check_batch_size(batch_size: int | None) -> int | None:
    return None if batch_size is None else check_int(batch_size, "batch_size", 1)


def _finished_error(kind: str) -> InputValueError:
    return InputValueError(
        f"this {kind} is finished (finish() was called); start a new stream for more frames"
    )


def _check_rank(shape: tuple[int, ...], batch_size: int | None) -> None:
    """A single stream takes ``(T, V)`` chunks, a batch of ``B`` streams ``(B, T, V)``."""
    if batch_size is None:
        if len(shape) != 2:
            raise ShapeError(f"a single stream is fed (T_chunk, V) chunks, got shape {shape}")
    elif len(shape) != 3 or shape[0] != batch_size:
        raise ShapeError(
            f"a batch of {batch_size} streams is fed ({batch_size}, T_chunk, V) chunks, "
            f"got shape {shape}"
        )


class DecoderStream:
    """The prefix beam search of :class:`~ctckit.decode.BeamSearchDecoder`, fed chunk by chunk.

    Made by :meth:`BeamSearchDecoder.stream() <ctckit.decode.BeamSearchDecoder.stream>`.
    Each stream keeps its search state (the trie of prefixes, the beam, the best
    alignments) between chunks and goes on from it, so every frame is searched once and
    the result does not depend on how the frames were cut: for any chunking,
    :meth:`finish` returns exactly what :meth:`~ctckit.decode.BeamSearchDecoder.decode`
    returns for the concatenated frames (tokens, frames, spans and scores, with the
    decoder's pruning and language model). The trie grows (doubling) as frames arrive.

    The first chunk fixes the vocabulary size ``V`` (and compiles the decoder's language
    model for it). A batch of ``B`` streams is fed ``(B, T_chunk, V)`` chunks; with
    ``lengths``, stream ``b`` takes only the first ``lengths[b]`` frames of the chunk, so
    streams can run ahead of or behind each other and end at different times (a stream
    given 0 frames simply waits). A batch is searched on the calling thread.

    Errors leave the stream as it was: a bad chunk (wrong type, rank or ``V``, bad
    ``lengths``, NaN or ``+inf`` or a value above ``1e-3`` in a valid frame) raises a
    :class:`~ctckit.errors.CTCKitError` before any stream of the batch searched a frame,
    and the stream can be fed again. After :meth:`finish` it refuses everything with
    :class:`~ctckit.errors.InputValueError`; start a new stream instead.

    Threads: the decoder may be shared by streams on any number of threads; one stream
    may not be fed or read from two threads at once. A feed releases the GIL while it
    searches. A finished stream leaves its (reset) buffers to the decoder's next stream
    of its batch size; one stream takes them (a dictionary pop, atomic under the GIL).

    Args:
        decoder: The decoder whose options (beam width, pruning, LM, ``top_n``) the
            stream uses.
        batch_size: ``None`` for one stream fed ``(T_chunk, V)`` chunks; ``B >= 1`` for
            a batch of ``B`` streams fed ``(B, T_chunk, V)`` chunks.

    Raises:
        InputTypeError: If ``batch_size`` is not an int.
        InputValueError: If ``batch_size < 1``.

    Example:
        >>> import numpy as np
        >>> from ctckit.decode import BeamSearchDecoder
        >>> lp = np.log(np.eye(3)[[1, 1, 0, 2, 2, 0, 1]] * 0.9 + 0.05)  # (T=7, V=3)
        >>> decoder = BeamSearchDecoder(beam_width=4)
        >>> stream = decoder.stream()
        >>> stream.feed(lp[:3])
        >>> stream.partial()[0][0].tokens
        (1,)
        >>> stream.feed(lp[3:])
        >>> stream.finish() == decoder.decode(lp)
        True
    """

    def __init__(self, decoder: BeamSearchDecoder, batch_size: int | None = None) -> None:
        self._decoder = decoder
        self._batch = _check_batch_size(batch_size)
        self._count = 1 if self._batch is None else self._batch
        self._vocab = -1  # fixed by the first chunk
        self._finished = False
        # the states' flat buffers (int32, float64, int64; a row per stream), from the
        # first chunk on; they count the frames fed (and a finished stream keeps a copy)
        self._i32: Any = None
        self._f64: Any = None
        self._i64: Any = None
        self._fed: list[int] = [0] * self._count
        self._kernel: Any = None
        self._opts: Any = None  # the kernel's bundles
        self._scorer: Any = None
        self._row: Any = None
        # the fast path: the compiled feed of numpy chunks like the last, their rank, dtype
        # and flags (rank -1 after finish: no chunk takes it)
        self._fast: tuple[Any, int, Any, int] = (None, -1, None, -1)

    def __repr__(self) -> str:
        state = "finished" if self._finished else f"frames={self.frames}"
        return f"DecoderStream(batch_size={self._batch}, {state}, decoder={self._decoder!r})"

    @property
    def batch_size(self) -> int | None:
        """``None`` for a single stream, else the number of streams ``B``."""
        return self._batch

    @property
    def frames(self) -> list[int]:
        """Frames fed so far, per stream (one entry for a single stream)."""
        if self._i64 is None:
            return list(self._fed)
        frames: list[int] = self._i64[:, _FRAMES].tolist()
        return frames

    def _start(self, vocab: int, dtype: np.dtype[Any]) -> None:
        """Take states for ``vocab`` classes (the first chunk's)."""
        decoder = self._decoder
        kernel = decoder._kernel(vocab)  # may raise (an LM for another V): nothing kept
        spare = kernel.spare_streams.pop(self._count, None)  # atomic: one stream gets it
        if spare is not None:  # a finished stream's states, started again when it finished
            self._i32, self._f64, self._i64, row = spare
        else:
            decoder._check_memory(_FIRST_CAPACITY, vocab, self._count)
            limit = decoder._frames_within_memory(vocab, self._count)
            nodes = _FIRST_CAPACITY * decoder.beam_width + 1
            args = (self._count, kernel.opts, kernel.scorer, vocab, nodes, kernel.model_rows,
                    limit)  # fmt: skip
            make = kernel.entry(_late().streams.new_streams, args, ("new_streams",))
            self._i32, self._f64, self._i64 = make(*args)
            row = None
        self._kernel = kernel
        self._opts, self._scorer = kernel.opts, kernel.scorer
        self._vocab = vocab
        self._row = (
            row if row is not None and row.dtype == dtype else np.empty(max(vocab, 2), dtype)
        )

    def feed(self, log_probs_chunk: Any, lengths: Any = None) -> None:
        """Search the next frames of the stream(s).

        Args:
            log_probs_chunk: ``(T_chunk, V)`` log-probabilities for a single stream,
                ``(B, T_chunk, V)`` for a batch of ``B``; float32 or float64, a torch
                tensor (any device; copied to the CPU) or a numpy array. ``T_chunk`` may
                be 0. ``V`` must be the first chunk's. Values as for
                :meth:`~ctckit.decode.BeamSearchDecoder.decode`.
            lengths: Frames of the chunk each stream takes, integers in
                ``[0, T_chunk]``, shape ``(B,)`` (for a single stream an int or shape
                ``(1,)``); ``None``: all ``T_chunk``. Frames beyond are ignored.

        Raises:
            InputTypeError: Wrong type or dtype of ``log_probs_chunk`` or ``lengths``.
            ShapeError: Wrong rank, batch size or ``V`` of the chunk, wrong shape of
                ``lengths``, or an LM for another vocabulary size.
            InputValueError: A length outside ``[0, T_chunk]``, an entry in a valid
                frame that is not a log-probability, ``blank >= V``, a search too large
                for memory, or a finished stream.
        """
        x = log_probs_chunk
        fn, ndim, dtype, flags = self._fast
        # the fast path: a numpy chunk of the kind the compiled feed was made for; the
        # kernel checks the rest (the chunk's shape and values, the room, the frame limit)
        # and changes nothing if any fails, and the checked path then says what
        if (
            lengths is None
            and type(x) is np.ndarray
            and x.ndim == ndim
            and x.dtype is dtype
            and x.flags.num & _C_ALIGNED_WRITEABLE == flags
            and fn(self._i32, self._f64, self._i64, self._opts, self._scorer, x, self._row) == -1
        ):
            return
        self._feed_checked(x, lengths)

    def _feed_checked(self, log_probs_chunk: Any, lengths: Any) -> None:
        """``feed`` with every check (and the fast path set up for chunks like this)."""
        if self._finished:
            raise _finished_error("stream")
        x = log_probs_chunk
        single = self._batch is None
        arr, _ = kernel_log_prob_array(x, self._decoder.blank)
        _check_rank(tuple(x.shape), self._batch)
        batch, time, vocab = arr.shape
        if vocab != self._vocab and self._vocab >= 0:
            raise ShapeError(
                f"the stream's chunks have V={self._vocab} classes (fixed by the first "
                f"chunk), got V={vocab}"
            )
        if lengths is not None:  # a private C-contiguous copy: the compiled feed's type
            lens = np.array(check_lengths(lengths, batch, time, not single))
        if self._vocab < 0:
            self._start(vocab, arr.dtype)
        late = _late()
        kernel = self._kernel
        opts, scorer = self._opts, self._scorer
        row = self._row if self._row.dtype == arr.dtype else np.empty_like(self._row, arr.dtype)
        fed = (self._i32, self._f64, self._i64)
        rest: tuple[Any, ...]
        if type(x) is np.ndarray and x.dtype is self._row.dtype and x.flags.c_contiguous:
            # chunks like this one take the fast path from now on (this one too)
            flags = x.flags.num & _C_ALIGNED_WRITEABLE
            name = "feed_stream" if single else "feed_all_streams"
            rest = (opts, scorer, x, row)
            fast = kernel.entry(
                getattr(late.streams, name), (*fed, *rest), (name, x.dtype.char, flags)
            )
            self._fast = (fast, x.ndim, x.dtype, flags)
            if lengths is None and fast(*fed, *rest) == -1:
                return
        rest = (opts, scorer, arr, _ALL_FRAMES if lengths is None else lens, row)
        key = ("feed_streams", *late.beam._array_key(arr))
        fn = kernel.entry(late.streams.feed_streams, (*fed, *rest), key)
        b, value = fn(*fed, *rest)
        if b == late.streams.NEEDS_ROOM:
            self._grow(value)
            b, value = fn(self._i32, self._f64, self._i64, *rest)
        if b == late.streams.TOO_LONG:
            self._decoder._check_memory(value, vocab, self._count)  # raises
            raise AssertionError(f"{value} frames passed the memory check")  # pragma: no cover
        if b >= 0:
            raise invalid_value_error(
                b if self._batch is not None else None,
                value // vocab,
                float(arr[b].flat[value]),
            )

    def _grow(self, nodes: int) -> None:
        """Copy the states into buffers with room for ``nodes`` trie nodes each."""
        from ctckit.decode._kernels.state import grown_flat

        args = (self._i32, self._f64, self._i64, nodes)
        grown = self._kernel.entry(grown_flat, args, ("grown_flat",))(*args)
        self._i32, self._f64, self._i64 = grown

    def _read(self, top_n: int, final: bool, reset: bool = False) -> list[list[Hypothesis]]:
        """The hypotheses (``reset``: then the states start again, for the next stream)."""
        if self._i64 is None:  # no frame yet: the empty hypothesis, as decode
            return [[Hypothesis((), 0.0, 0.0, 0.0, ())] for _ in range(self._count)]
        late = _late()
        kernel = self._kernel
        args = (self._i32, self._f64, self._i64, kernel.scorer, top_n, final, reset)
        ints, floats = kernel.entry(late.streams.read_streams, args, ("read_streams",))(*args)
        hypotheses: list[list[Hypothesis]] = late.beam._hypotheses(ints.tolist(), floats.tolist())
        return hypotheses

    def partial(self, top_n: int = 1) -> list[list[Hypothesis]]:
        """The current best hypotheses, without ending the search.

        They are ranked as the search goes on: by acoustic score plus the LM score of
        the prefix so far and the insertion bonus, without the end-of-sentence term
        (which :meth:`finish` adds); ``lm_score`` is the prefix's, without it. Without
        an LM they are exactly the hypotheses ``decode`` gives for the frames so far.

        Args:
            top_n: Hypotheses per stream, in ``[1, beam_width]``.

        Returns:
            One list per stream (one list for a single stream) of at most ``top_n``
            hypotheses, best first, as :meth:`finish`.

        Raises:
            InputTypeError: If ``top_n`` is not an int.
            InputValueError: If ``top_n`` is out of range, or the stream is finished.
        """
        if self._finished:
            raise _finished_error("stream")
        top_n = check_int(top_n, "top_n", 1, self._decoder.beam_width)
        return self._read(top_n, False)

    def finish(self) -> list[list[Hypothesis]]:
        """End the search and return the decoder's ``top_n`` hypotheses per stream.

        Returns:
            What :meth:`~ctckit.decode.BeamSearchDecoder.decode` returns for the
            concatenated frames of each stream: one list per stream (one list for a
            single stream) of at most ``top_n`` hypotheses, best first. A stream fed no
            frame gives one empty hypothesis of score 0.

        Raises:
            InputValueError: If the stream is already finished.
        """
        if self._finished:
            raise _finished_error("stream")
        spare = False
        if self._i64 is not None:
            self._fed = self.frames
            # the states go to the decoder's next stream of this size (allocating costs as
            # much as searching a short utterance); a longer stream's larger buffers go
            spare = max(self._fed) <= _SPARE_FRAMES
        out = self._read(self._decoder.top_n, True, spare)
        self._finished = True
        self._fast = (None, -1, None, -1)
        if spare:
            states = (self._i32, self._f64, self._i64, self._row)
            self._kernel.spare_streams[self._count] = states
        self._i32 = self._f64 = self._i64 = None
        return out


class GreedyStream:
    """Best-path decoding (:func:`~ctckit.decode.greedy_decode`), fed chunk by chunk.

    Made by :func:`greedy_stream`. It keeps the tokens so far and the winning label of
    each stream's last frame, so that a label repeated across a chunk boundary is
    collapsed as within a chunk: for any chunking, :meth:`finish` equals
    ``greedy_decode`` of the concatenated frames. Chunks, ``lengths``, errors (which
    leave the stream as it was) and threads as for :class:`DecoderStream`.

    Args:
        blank: Index of the CTC blank.
        batch_size: ``None`` for one stream fed ``(T_chunk, V)`` chunks; ``B >= 1`` for
            ``B`` streams fed ``(B, T_chunk, V)`` chunks.

    Raises:
        InputTypeError: If ``blank`` or ``batch_size`` is not an int.
        InputValueError: If ``blank < 0`` or ``batch_size < 1``.

    Example:
        >>> import numpy as np
        >>> lp = np.log(np.eye(3)[[1, 1, 0, 1, 2, 2]] * 0.9 + 0.05)  # a a - a b b
        >>> stream = greedy_stream()
        >>> stream.feed(lp[:1]); stream.feed(lp[1:5])  # the repeated "a" spans the cut
        >>> stream.partial()
        [[1, 1, 2]]
        >>> stream.feed(lp[5:]); stream.finish()
        [[1, 1, 2]]
    """

    def __init__(self, blank: int = 0, batch_size: int | None = None) -> None:
        self.blank = check_int(blank, "blank", 0)
        self._batch = _check_batch_size(batch_size)
        count = 1 if self._batch is None else self._batch
        self._tokens: list[list[int]] = [[] for _ in range(count)]
        self._last = [-1] * count  # each stream's last frame's label (-1: none yet)
        self._vocab = -1
        self._finished = False

    def __repr__(self) -> str:
        return f"GreedyStream(blank={self.blank}, batch_size={self._batch})"

    @property
    def batch_size(self) -> int | None:
        """``None`` for a single stream, else the number of streams ``B``."""
        return self._batch

    def feed(self, log_probs_chunk: Any, lengths: Any = None) -> None:
        """Decode the next frames of the stream(s).

        Args:
            log_probs_chunk: As for :meth:`DecoderStream.feed`.
            lengths: As for :meth:`DecoderStream.feed`.

        Raises:
            InputTypeError: Wrong type or dtype of ``log_probs_chunk`` or ``lengths``.
            ShapeError: Wrong rank, batch size or ``V`` of the chunk, or wrong shape of
                ``lengths``.
            InputValueError: ``blank >= V``, a length outside ``[0, T_chunk]``, NaN or
                ``+inf`` in a valid frame, or a finished stream.
        """
        if self._finished:
            raise _finished_error("stream")
        shape = tuple(log_probs_chunk.shape) if hasattr(log_probs_chunk, "shape") else ()
        chunk_tokens = greedy_decode(log_probs_chunk, lengths, self.blank)  # checks it all
        _check_rank(shape, self._batch)
        if shape[-1] != self._vocab and self._vocab >= 0:
            raise ShapeError(
                f"the stream's chunks have V={self._vocab} classes (fixed by the first "
                f"chunk), got V={shape[-1]}"
            )
        x = log_probs_chunk if self._batch is not None else log_probs_chunk[None]
        time = shape[-2]
        lens = check_lengths(lengths, len(self._last), time, self._batch is not None)
        if time:
            first = _argmax(x[:, 0])
            last = _argmax(_last_rows(x, lens))
        for b, length in enumerate(lens.tolist()):
            if length == 0:
                continue
            tokens = chunk_tokens[b]
            # the chunk's first frame repeats the last frame's label: one token, not two
            if tokens and first[b] == self._last[b] and first[b] != self.blank:
                tokens = tokens[1:]
            self._tokens[b].extend(tokens)
            self._last[b] = last[b]
        self._vocab = shape[-1]

    def partial(self) -> list[list[int]]:
        """The labels decoded so far: one list per stream (one for a single stream).

        Raises:
            InputValueError: If the stream is finished.
        """
        if self._finished:
            raise _finished_error("stream")
        return [list(t) for t in self._tokens]

    def finish(self) -> list[list[int]]:
        """End the stream: ``greedy_decode`` of the concatenated frames, one list per
        stream (one for a single stream).

        Raises:
            InputValueError: If the stream is already finished.
        """
        out = self.partial()
        self._finished = True
        return out


def _argmax(rows: Any) -> list[int]:
    """The winning label of each ``(B, V)`` row, as :func:`~ctckit.decode.greedy_decode`
    picks it (torch on an accelerator, numpy on the CPU: the first on ties)."""
    if is_tensor(rows):
        if rows.device.type != "cpu":
            return [int(i) for i in rows.detach().max(dim=-1)[1].cpu().tolist()]
        rows = rows.detach().numpy()
    return [int(i) for i in np.asarray(rows).argmax(axis=-1).tolist()]


def _last_rows(x: Any, lens: npt.NDArray[np.int64]) -> Any:
    """``x[b, lens[b] - 1]`` of each stream (row 0 where ``lens[b] == 0``), ``(B, V)``."""
    index = np.maximum(lens - 1, 0)
    if is_tensor(x):
        import torch

        b = torch.arange(len(lens), device=x.device)
        return x[b, torch.from_numpy(index).to(x.device)]
    return x[np.arange(len(lens)), index]


def greedy_stream(blank: int = 0, batch_size: int | None = None) -> GreedyStream:
    """A stream decoded best-path, chunk by chunk: see :class:`GreedyStream`.

    Example:
        >>> import numpy as np
        >>> stream = greedy_stream(batch_size=2)
        >>> stream.feed(np.log(np.full((2, 3, 4), 0.25)))
        >>> stream.finish()
        [[], []]
    """
    return GreedyStream(blank, batch_size)
