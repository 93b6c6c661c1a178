"""CTC prefix beam search: exact prefix merging, Numba kernel, threads, LM fusion."""

from __future__ import annotations

import math
import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_float, check_int
from ctckit._threads import run_together
from ctckit.decode._input import check_lengths, gather_threads, kernel_log_prob_array
from ctckit.decode.stream import DecoderStream
from ctckit.decode.types import Hypothesis, _new_hypothesis
from ctckit.errors import InputTypeError, InputValueError, ShapeError

if TYPE_CHECKING:
    from ctckit.lm import LanguageModel, LMTables

__all__ = ["BeamSearchDecoder"]


def _physical_memory() -> int | None:
    """Bytes of physical memory, or ``None`` where the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


_MEMORY = _physical_memory()


def _format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


class _Kernel:
    """The kernel bundles of one decoder for one vocabulary size, and the compiled entry
    points of ``decode_many`` by input dtype (calling an entry point skips Numba's
    dispatch, which types each argument on every call: about 1.5 us per NamedTuple)."""

    def __init__(self, opts: Any, scorer: Any, model_rows: tuple[int, int]) -> None:
        self.opts = opts
        self.scorer = scorer
        self.model_rows = model_rows
        self._entries: dict[tuple[Any, ...], Any] = {}
        # the longest search the memory check lets through, by thread count
        self.max_frames: dict[int, int] = {}
        # a finished stream's search states (started again) and frame scratch by batch
        # size, for the decoder's next stream of that size to take
        self.spare_streams: dict[int, Any] = {}

    def entry(self, dispatcher: Any, args: tuple[Any, ...], key: tuple[Any, ...]) -> Any:
        fn = self._entries.get(key)
        if fn is None:
            from numba import typeof

            sig = tuple(typeof(a) for a in args)  # type: ignore[no-untyped-call]
            dispatcher.compile(sig)
            fn = self._entries[key] = dispatcher.overloads[sig].entry_point
        return fn


_SEARCH: list[Any] = []  # the search kernels' module, imported on first use (it loads Numba)


def _search() -> Any:
    if not _SEARCH:  # (an import statement in each call costs 1-2 us)
        from ctckit.decode._kernels import search

        _SEARCH.append(search)
    return _SEARCH[0]


# ``lengths=None``: every utterance has all ``T`` frames (see ``decode_many``)
_ALL_FRAMES = np.zeros(0, np.int64)


def _array_key(arr: npt.NDArray[Any]) -> tuple[Any, ...]:
    """What Numba's type of ``arr`` depends on beside its rank (always C-contiguous here)."""
    return (arr.dtype.char, arr.ndim, arr.flags.aligned, arr.flags.writeable)


def _hypotheses(ints: list[int], floats: list[float]) -> list[list[Hypothesis]]:
    """Result objects from a kernel's packed output (see ``_kernels.backtrace``), each
    search's in turn; a search that found no hypothesis (every labelling has probability
    0) gives one empty hypothesis of score ``-inf``."""
    out = []
    i = f = 0
    size = len(ints)
    while i < size:
        k = ints[i]
        i += 1
        if k == 0:
            out.append([Hypothesis((), -math.inf, -math.inf, 0.0, ())])
            continue
        hyps = []
        for _ in range(k):
            n = ints[i]
            tok, start, end = i + 1, i + 1 + n, i + 1 + 2 * n
            i = end + n
            conf = f + 3
            hyps.append(
                _new_hypothesis(
                    tuple(ints[tok:start]),
                    floats[f],
                    floats[f + 1],
                    floats[f + 2],
                    tuple(ints[start:end]),
                    tuple(ints[end:i]),
                    tuple(floats[conf : conf + n]),
                )
            )
            f = conf + n
        out.append(hyps)
    return out


class BeamSearchDecoder:
    """CTC prefix beam search with exact merging of identical prefixes.

    Each frame, every prefix in the beam either stays (the frame is a blank,
    or repeats the prefix's last label) or is extended by a non-blank token;
    candidates that spell the same labelling are merged with an exact
    log-sum-exp, keeping the probability of ending in a blank apart from
    that of ending in a label, so a repeated label only extends a prefix
    through its blank-ending paths. The ``beam_width`` best candidates
    survive. With a beam wide enough to hold every prefix and no pruning,
    the search is exact: the best hypothesis is the most probable labelling
    and each ``acoustic_score`` equals ``-ctc_loss`` of its tokens.

    The search runs in a Numba kernel (compiled on first use and cached on
    disk) that releases the GIL; a batch is spread over ``num_threads``
    threads (every ``num_threads``-th utterance each, the calling thread
    and a process-wide pool), each decoding its share in one kernel call.

    Shallow fusion: with a language model, a candidate's ranking score is
    ``acoustic + lm_weight * lm + insertion_bonus * len(tokens)``, where
    ``lm`` is the LM log-probability of the prefix, updated at each
    extension; the end-of-sentence log-probability is added to the final
    beams before the N best are chosen.

    Args:
        beam_width: Prefixes kept per frame (``W >= 1``).
        blank: Index of the CTC blank.
        top_n: Hypotheses returned per utterance, in ``[1, beam_width]``.
        token_min_logp: If set, tokens whose log-probability in a frame is
            below this are ignored in that frame, the blank included: they
            neither extend, repeat nor merge (pyctcdecode's
            ``token_min_logp``, fast-ctc-decode's ``beam_cut_threshold``).
            The frame's most probable token is always kept. Mass below
            ``exp(token_min_logp)`` per frame is lost, so scores are lower
            bounds; in exchange a run of frames where only the blank is kept
            costs O(1) per frame. ``None``: no token pruning (exact sums).
        beam_prune_logp: If set (``<= 0``), candidates whose score is below
            the frame's best score plus this are dropped. ``None``: none.
        lm: A language model: :class:`~ctckit.lm.LMTables`, or any
            :class:`~ctckit.lm.LanguageModel` (such as
            :class:`~ctckit.lm.NGramLM`), compiled to tables on first
            use for the vocabulary size of the input.
        lm_weight: Weight of the LM log-probability (alpha, ``>= 0``). Needs
            ``lm``.
        insertion_bonus: Added per emitted token (beta); may be negative.
        num_threads: Threads over the utterances of a batch; ``None`` means
            ``os.cpu_count()``.

    Raises:
        InputTypeError: If an option has the wrong type.
        InputValueError: If an option is out of range, or ``lm_weight`` is
            non-zero without ``lm``.

    Example:
        >>> import numpy as np
        >>> probs = np.array([[0.6, 0.4], [0.6, 0.4]])  # (T=2, V=2): blank, "a"
        >>> decoder = BeamSearchDecoder(beam_width=2, top_n=2)
        >>> [(h.tokens, round(h.acoustic_score, 4)) for h in decoder.decode(np.log(probs))[0]]
        [((1,), -0.4463), ((), -1.0217)]

        Greedy decoding would say ``()`` here (blank wins each frame), but
        ``"a"`` has probability ``0.4*0.4 + 0.4*0.6 + 0.6*0.4 = 0.64``.

        With ``token_min_logp=-0.7`` (about ``log 0.5``), ``"a"`` (``log
        0.4``) is ignored in both frames and only the all-blank path is left:

        >>> pruned = BeamSearchDecoder(beam_width=2, top_n=2, token_min_logp=-0.7)
        >>> [(h.tokens, round(h.acoustic_score, 4)) for h in pruned.decode(np.log(probs))[0]]
        [((), -1.0217)]
    """

    def __init__(
        self,
        beam_width: int = 10,
        blank: int = 0,
        top_n: int = 1,
        token_min_logp: float | None = None,
        beam_prune_logp: float | None = None,
        lm: LMTables | LanguageModel | None = None,
        lm_weight: float = 0.0,
        insertion_bonus: float = 0.0,
        num_threads: int | None = None,
    ) -> None:
        self.beam_width = check_int(beam_width, "beam_width", 1)
        self.blank = check_int(blank, "blank", 0)
        self.top_n = check_int(top_n, "top_n", 1, self.beam_width)
        self.token_min_logp = (
            None if token_min_logp is None else check_float(token_min_logp, "token_min_logp")
        )
        self.beam_prune_logp = (
            None
            if beam_prune_logp is None
            else check_float(beam_prune_logp, "beam_prune_logp", high=0.0)
        )
        self.lm_weight = check_float(lm_weight, "lm_weight")
        if self.lm_weight < 0:
            raise InputValueError(f"lm_weight must be >= 0, got {lm_weight}")
        if self.lm_weight != 0 and lm is None:
            raise InputValueError(f"lm_weight={lm_weight} needs a language model (lm=None)")
        self.insertion_bonus = check_float(insertion_bonus, "insertion_bonus")
        if lm is not None:
            from ctckit.lm import LanguageModel, LMTables

            if not isinstance(lm, (LMTables, LanguageModel)):
                raise InputTypeError(
                    "lm must be LMTables or implement LanguageModel (start_state, score, "
                    f"end_score), got {type(lm).__name__}"
                )
        self.lm = lm
        cpus = os.cpu_count() or 1
        self.num_threads = cpus if num_threads is None else check_int(num_threads, "num_threads", 1)
        self._check_memory(1, 2, 1)
        self._kernels: dict[int, _Kernel] = {}
        self._kernels_lock = threading.Lock()

    def __repr__(self) -> str:
        lm = None if self.lm is None else type(self.lm).__name__
        return (
            f"BeamSearchDecoder(beam_width={self.beam_width}, blank={self.blank}, "
            f"top_n={self.top_n}, token_min_logp={self.token_min_logp}, "
            f"beam_prune_logp={self.beam_prune_logp}, lm={lm}, "
            f"lm_weight={self.lm_weight}, insertion_bonus={self.insertion_bonus}, "
            f"num_threads={self.num_threads})"
        )

    def search_memory(self, time: int, vocab: int) -> int:
        """Bytes one search over ``time`` frames of ``vocab`` classes allocates (an
        estimate that errs high; each decoding thread allocates its own).

        Example:
            >>> BeamSearchDecoder(beam_width=10).search_memory(600, 41) < 2**20
            True
        """
        from ctckit.decode._kernels.layout import state_bytes

        width = self.beam_width
        nodes = time * width + 1
        # the N best: flat kernel output (20 bytes a token) and the Python objects made of it
        out = self.top_n * (time * 160 + 256)
        return state_bytes(width, vocab, nodes) + out + width * 64

    def _check_memory(self, time: int, vocab: int, threads: int) -> None:
        """Refuse a search that cannot fit in physical memory, before allocating it."""
        if _MEMORY is None:
            return
        need = self.search_memory(time, vocab) * threads
        if need > _MEMORY:
            raise InputValueError(
                f"beam_width={self.beam_width} needs about {_format_bytes(need)} for a search "
                f"of T={time} frames, V={vocab} classes ({threads} thread(s)), more than the "
                f"{_format_bytes(_MEMORY)} of physical memory; use a smaller beam_width"
            )

    def _frames_within_memory(self, vocab: int, threads: int) -> int:
        """The most frames a search of ``vocab`` classes may have on each of ``threads``
        threads for :meth:`_check_memory` to pass (``search_memory`` is linear in them)."""
        if _MEMORY is None:
            return 2**62
        base = self.search_memory(0, vocab)
        per_frame = self.search_memory(1, vocab) - base
        return (_MEMORY // threads - base) // per_frame

    def _kernel(self, vocab: int) -> _Kernel:
        """The kernel bundles for ``vocab`` classes (the LM compiled once per size)."""
        kernel = self._kernels.get(vocab)
        if kernel is not None:
            return kernel
        with self._kernels_lock:
            kernel = self._kernels.get(vocab)
            if kernel is None:
                kernel = self._kernels[vocab] = self._make_kernel(vocab)
        return kernel

    def _make_kernel(self, vocab: int) -> _Kernel:
        from ctckit.decode._kernels import fusion
        from ctckit.decode._kernels.state import SearchOptions

        if self.lm is None:
            logp = np.zeros((1, vocab), np.float64)
            next_state = np.zeros((1, vocab), np.int32)
            end_logp = np.zeros(1, np.float64)
            start = 0
        else:
            from ctckit.lm import LMTables, compile_lm

            lm = self.lm
            compiled = lm if isinstance(lm, LMTables) else compile_lm(lm, vocab, self.blank)
            if compiled.vocab_size != vocab:
                raise ShapeError(
                    f"the language model covers V={compiled.vocab_size} tokens but log_probs "
                    f"has V={vocab}"
                )
            logp = np.ascontiguousarray(compiled.logp, dtype=np.float64)
            next_state = np.ascontiguousarray(compiled.next_state, dtype=np.int32)
            end_logp = np.ascontiguousarray(compiled.end_logp, dtype=np.float64)
            start = int(compiled.start)
        weight = self.lm_weight
        scorer = fusion.TokenFusion(
            logp, next_state, end_logp, start, weight, self.insertion_bonus,
            weight * float(logp.max()) if weight != 0 else 0.0,
        )  # fmt: skip
        opts = SearchOptions(
            self.blank,
            self.beam_width,
            self.top_n,
            -math.inf if self.token_min_logp is None else self.token_min_logp,
            -math.inf if self.beam_prune_logp is None else self.beam_prune_logp,
        )
        return _Kernel(opts, scorer, fusion.MODEL_ROWS)

    def stream(self, batch_size: int | None = None) -> DecoderStream:
        """A stream that decodes frames as they arrive: see :class:`~ctckit.decode.DecoderStream`.

        Args:
            batch_size: ``None`` for one stream fed ``(T_chunk, V)`` chunks; ``B``
                for a batch of ``B`` streams fed ``(B, T_chunk, V)`` chunks.

        Example:
            >>> import numpy as np
            >>> lp = np.log(np.eye(3)[[1, 0, 2, 2]] * 0.9 + 0.05)
            >>> s = BeamSearchDecoder(beam_width=4).stream()
            >>> s.feed(lp[:1]); s.feed(lp[1:])
            >>> s.finish()[0][0].tokens
            (1, 2)
        """
        return DecoderStream(self, batch_size)

    def decode(self, log_probs: Any, lengths: Any = None) -> list[list[Hypothesis]]:
        """Decode a batch (or one utterance) of log-probabilities.

        Args:
            log_probs: ``(B, T, V)`` or ``(T, V)`` float32/float64
                log-probabilities, a torch tensor (any device; copied to the
                CPU) or a numpy array. ``-inf`` entries are allowed; NaN,
                ``+inf`` and values above ``1e-3`` within ``lengths`` are not.
            lengths: Valid frames per utterance, integers in ``[0, T]``,
                shape ``(B,)``; for ``(T, V)`` input an int or shape ``(1,)``.
                ``None``: all ``T`` frames. Frames beyond are ignored.

        Returns:
            ``B`` lists (one for ``(T, V)`` input) of at most ``top_n``
            hypotheses each, best first, no two with the same tokens. An
            utterance of length 0 gives one empty hypothesis of score 0; one
            in which every labelling has probability 0 gives one empty
            hypothesis of score ``-inf``.

        Raises:
            InputTypeError: Wrong type or dtype of ``log_probs`` (a sparse or
                meta tensor included) or ``lengths``.
            ShapeError: Wrong rank of ``log_probs``, shape of ``lengths``, or
                an LM for another vocabulary size.
            InputValueError: ``blank >= V``, a length outside ``[0, T]``, an
                entry in a valid frame that is not a log-probability (NaN,
                ``+inf``, above ``1e-3``), or a search too large for memory.

        Example:
            >>> import torch
            >>> lp = torch.full((2, 5, 4), -10.0)
            >>> lp[:, :, 0] = 0.0
            >>> lp[0, 1] = torch.tensor([-10.0, 0.0, -10.0, -10.0])
            >>> [h[0].tokens for h in BeamSearchDecoder(num_threads=1).decode(lp)]
            [(1,), ()]
        """
        arr, batched = kernel_log_prob_array(log_probs, self.blank)
        batch, time, vocab = arr.shape
        if lengths is None:
            lens = _ALL_FRAMES
            longest = time if batch else 0
        else:  # a private C-contiguous copy: the compiled entry point's type
            lens = np.array(check_lengths(lengths, batch, time, batched), np.int64)
            longest = int(lens.max()) if batch else 0
        kernel = self._kernel(vocab)
        threads = max(min(self.num_threads, batch), 1)
        most = kernel.max_frames.get(threads)
        if most is None:
            most = kernel.max_frames[threads] = self._frames_within_memory(vocab, threads)
        if longest > most:
            self._check_memory(longest, vocab, threads)  # raises

        opts, scorer, rows = kernel.opts, kernel.scorer, kernel.model_rows
        # the threads take the utterances in this order, each the next when done with one
        order = np.arange(batch) if lens is _ALL_FRAMES else np.argsort(-lens, kind="stable")
        taken = np.zeros(1, np.int64)
        args = (arr, lens, order, taken, opts, scorer, rows)
        fn = kernel.entry(_search().decode_many, args, _array_key(arr))
        parts = run_together(lambda: fn(*args), threads)  # the process-wide pool
        return gather_threads(
            parts, order, arr, batched, lambda part: _hypotheses(part[1].tolist(), part[2].tolist())
        )
