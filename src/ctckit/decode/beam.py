"""CTC prefix beam search: exact prefix merging, Numba kernel, threads, LM fusion."""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_float, check_int, is_tensor
from ctckit.decode._input import check_lengths, check_log_probs, non_finite_error
from ctckit.decode.types import Hypothesis, _new_hypothesis
from ctckit.errors import InputTypeError, InputValueError, ShapeError

if TYPE_CHECKING:
    from ctckit.lm import LanguageModel, LMTables

__all__ = ["BeamSearchDecoder"]

_Tables = tuple[npt.NDArray[np.float64], npt.NDArray[np.int32], npt.NDArray[np.float64], int, float]


_pools: dict[int, tuple[int, ThreadPoolExecutor]] = {}
_pools_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``workers`` threads, made once: starting a pool costs about
    1 ms, more than decoding a batch of 100 utterances at beam 10. A forked child (whose
    copy has no threads) gets its own."""
    with _pools_lock:
        entry = _pools.get(workers)
        if entry is None or entry[0] != os.getpid():
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ctckit-decode")
            entry = _pools[workers] = (os.getpid(), pool)
        return entry[1]


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
        self._tables: dict[int, _Tables] = {}

    def __repr__(self) -> str:
        lm = None if self.lm is None else type(self.lm).__name__
        return (
            f"BeamSearchDecoder(beam_width={self.beam_width}, blank={self.blank}, "
            f"top_n={self.top_n}, token_min_logp={self.token_min_logp}, "
            f"beam_prune_logp={self.beam_prune_logp}, lm={lm}, "
            f"lm_weight={self.lm_weight}, insertion_bonus={self.insertion_bonus}, "
            f"num_threads={self.num_threads})"
        )

    def _lm_tables(self, vocab: int) -> _Tables:
        tables = self._tables.get(vocab)
        if tables is not None:
            return tables
        if self.lm is None:
            tables = (
                np.zeros((1, vocab), np.float64),
                np.zeros((1, vocab), np.int32),
                np.zeros(1, np.float64),
                0,
                0.0,
            )
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
            bound = self.lm_weight * float(logp.max()) if self.lm_weight != 0 else 0.0
            tables = (
                logp,
                np.ascontiguousarray(compiled.next_state, dtype=np.int32),
                np.ascontiguousarray(compiled.end_logp, dtype=np.float64),
                int(compiled.start),
                bound,
            )
        self._tables[vocab] = tables
        return tables

    def decode(self, log_probs: Any, lengths: Any = None) -> list[list[Hypothesis]]:
        """Decode a batch (or one utterance) of log-probabilities.

        Args:
            log_probs: ``(B, T, V)`` or ``(T, V)`` float32/float64
                log-probabilities, a torch tensor (any device; copied to the
                CPU) or a numpy array. ``-inf`` entries are allowed; NaN and
                ``+inf`` within ``lengths`` are not.
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
            InputTypeError: Wrong type or dtype of ``log_probs`` or ``lengths``.
            ShapeError: Wrong rank of ``log_probs``, shape of ``lengths``, or
                an LM for another vocabulary size.
            InputValueError: ``blank >= V``, a length outside ``[0, T]``, or
                NaN / ``+inf`` in a valid frame.

        Example:
            >>> import torch
            >>> lp = torch.full((2, 5, 4), -10.0)
            >>> lp[:, :, 0] = 0.0
            >>> lp[0, 1] = torch.tensor([-10.0, 0.0, -10.0, -10.0])
            >>> [h[0].tokens for h in BeamSearchDecoder(num_threads=1).decode(lp)]
            [(1,), ()]
        """
        x, batched, blank = check_log_probs(log_probs, self.blank)
        arr = x.detach().cpu().numpy() if is_tensor(x) else x
        arr = np.ascontiguousarray(arr)
        batch, time, vocab = arr.shape
        lens = check_lengths(lengths, batch, time, batched)
        tables = self._lm_tables(vocab)

        from ctckit.decode import _kernels

        width, top_n = self.beam_width, self.top_n
        tmin = -math.inf if self.token_min_logp is None else self.token_min_logp
        prune = -math.inf if self.beam_prune_logp is None else self.beam_prune_logp
        lm_logp, lm_next, lm_end, lm_start, lm_bound = tables
        weight, bonus = self.lm_weight, self.insertion_bonus

        def run(utts: npt.NDArray[np.int64]) -> list[list[Hypothesis]]:
            counts, sizes, scores, toks, frames, bad = _kernels.decode_many(
                arr, lens, utts, blank, width, top_n, tmin, prune,
                lm_logp, lm_next, lm_end, lm_start, weight, lm_bound, bonus,
            )  # fmt: skip
            if bad >= 0:
                b = int(utts[int(np.argmin(counts))])
                raise non_finite_error(b, bad // vocab, float(arr[b].flat[bad]), batched)
            flat_toks, flat_frames = tuple(toks.tolist()), tuple(frames.tolist())
            pos = 0
            out = []
            for n, lengths, rows in zip(counts.tolist(), sizes.tolist(), scores.tolist()):
                if n == 0:
                    out.append([Hypothesis((), -math.inf, -math.inf, 0.0, ())])
                    continue
                hyps = []
                for size, (total, acoustic, lm) in zip(lengths[:n], rows[:n]):
                    end = pos + size
                    hyps.append(
                        _new_hypothesis(
                            flat_toks[pos:end], total, acoustic, lm, flat_frames[pos:end]
                        )
                    )
                    pos = end
                out.append(hyps)
            return out

        threads = min(self.num_threads, batch)
        if threads <= 1:
            return run(np.arange(batch))
        # every threads-th utterance per thread (lengths are often sorted, so this balances);
        # the calling thread takes the first share, the shared pool the others
        futures = [
            _pool(threads - 1).submit(run, np.arange(s, batch, threads)) for s in range(1, threads)
        ]
        parts = [run(np.arange(0, batch, threads))] + [f.result() for f in futures]
        out: list[list[Hypothesis]] = [[] for _ in range(batch)]
        for start, part in enumerate(parts):
            out[start::threads] = part
        return out
