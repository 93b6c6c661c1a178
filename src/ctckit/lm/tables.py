"""The language-model protocol and the tables the beam-search kernels read.

* :class:`LanguageModel`, a small protocol any token LM can implement (a start
  state, the log-probability of a token given a state together with the next
  state, and the end-of-sentence log-probability), with an optional fourth
  method ``to_tables(vocab_size, blank)`` that compiles the model itself;
* :class:`LanguageModelBase`, a base class that supplies ``to_tables`` by
  breadth-first tabulation, for models that have nothing better;
* :func:`compile_lm`, which turns any such model into :class:`LMTables`: a
  compact deterministic automaton (dense numpy tables indexed by integer state
  ids) that the Numba beam-search kernel reads without calling back into
  Python. It calls the model's ``to_tables`` when there is one and tabulates
  the three scoring methods breadth-first otherwise, so an object with only
  ``start_state``/``score``/``end_score`` keeps working.

All log-probabilities are natural logarithms. The CTC blank is not part of
any LM vocabulary: its column of :attr:`LMTables.logp` is ``-inf`` and
emitting it leaves the state unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int
from ctckit.errors import InputTypeError, InputValueError, ShapeError

__all__ = ["LMTables", "LanguageModel", "LanguageModelBase", "compile_lm"]


@dataclass(frozen=True, eq=False)
class LMTables:
    """A language model compiled to a deterministic automaton of integer states.

    State ``s`` stands for a context (for an n-gram model, the longest
    history the model knows). Emitting token ``v`` from state ``s`` costs
    ``logp[s, v]`` and moves to ``next_state[s, v]``; ending the sentence in
    ``s`` costs ``end_logp[s]``. The blank column holds ``logp = -inf`` and
    ``next_state[s, blank] = s``. Tables compare and hash by identity.

    Attributes:
        logp: ``(S, V)`` float64, natural-log ``P(token | state)``; the blank
            column is ``-inf``.
        next_state: ``(S, V)`` int32, the state after emitting each token.
        end_logp: ``(S,)`` float64, natural-log ``P(</s> | state)``.
        start: Id of the start state (the context ``<s>``).

    Raises:
        ShapeError: If the arrays' shapes disagree.
        InputTypeError: If a dtype is not the one listed above.
        InputValueError: If ``start`` or an entry of ``next_state`` is not a
            state id, or a log-probability is NaN or ``+inf``.

    Example:
        >>> import numpy as np
        >>> t = LMTables(
        ...     logp=np.array([[-np.inf, np.log(0.5), np.log(0.25)]]),
        ...     next_state=np.zeros((1, 3), dtype=np.int32),
        ...     end_logp=np.log([0.25]),
        ...     start=0,
        ... )
        >>> t.num_states, t.vocab_size
        (1, 3)
    """

    logp: npt.NDArray[np.float64]
    next_state: npt.NDArray[np.int32]
    end_logp: npt.NDArray[np.float64]
    start: int

    def __post_init__(self) -> None:
        for name, arr, dtype in (
            ("logp", self.logp, np.float64),
            ("next_state", self.next_state, np.int32),
            ("end_logp", self.end_logp, np.float64),
        ):
            if not isinstance(arr, np.ndarray):
                raise InputTypeError(f"LMTables.{name} must be a numpy array, got {type(arr)}")
            if arr.dtype != dtype:
                raise InputTypeError(
                    f"LMTables.{name} must have dtype {np.dtype(dtype).name}, got {arr.dtype}"
                )
        if self.logp.ndim != 2 or self.logp.shape[0] < 1 or self.logp.shape[1] < 1:
            raise ShapeError(
                f"LMTables.logp must have shape (S, V) with S, V >= 1, got {self.logp.shape}"
            )
        if self.next_state.shape != self.logp.shape:
            raise ShapeError(
                f"LMTables.next_state must have the shape of logp {self.logp.shape}, "
                f"got {self.next_state.shape}"
            )
        n_states = self.logp.shape[0]
        if self.end_logp.shape != (n_states,):
            raise ShapeError(
                f"LMTables.end_logp must have shape ({n_states},), got {self.end_logp.shape}"
            )
        if isinstance(self.start, (bool, np.bool_)) or not isinstance(
            self.start, (int, np.integer)
        ):
            raise InputTypeError(f"LMTables.start must be an int, got {type(self.start)}")
        if not 0 <= int(self.start) < n_states:
            raise InputValueError(f"LMTables.start must be in [0, {n_states}), got {self.start}")
        object.__setattr__(self, "start", int(self.start))
        if self.next_state.size and (
            int(self.next_state.min()) < 0 or int(self.next_state.max()) >= n_states
        ):
            bad = np.argwhere((self.next_state < 0) | (self.next_state >= n_states))[0]
            raise InputValueError(
                f"LMTables.next_state must hold state ids in [0, {n_states}), got "
                f"{int(self.next_state[tuple(bad)])} at {tuple(int(i) for i in bad)}"
            )
        for name, arr in (("logp", self.logp), ("end_logp", self.end_logp)):
            if np.isnan(arr).any() or np.isposinf(arr).any():
                raise InputValueError(f"LMTables.{name} must hold no NaN or +inf")

    @property
    def num_states(self) -> int:
        """Number of states ``S``."""
        return int(self.logp.shape[0])

    @property
    def vocab_size(self) -> int:
        """Number of token ids ``V``, the blank included."""
        return int(self.logp.shape[1])


@runtime_checkable
class LanguageModel(Protocol):
    """What a token language model must offer to be fused into beam search.

    States are opaque hashable values (a tuple of recent tokens, say). The
    set of states reachable from :meth:`start_state` by emitting non-blank
    tokens must be finite, so that :func:`compile_lm` can tabulate them.
    Log-probabilities are natural logarithms.

    A model may also define ``to_tables(vocab_size, blank) -> LMTables`` to
    compile itself (as :class:`~ctckit.lm.NGramLM` does, from its n-grams,
    much faster than calling :meth:`score` for every state and token);
    :func:`compile_lm` and :class:`~ctckit.decode.BeamSearchDecoder` call it
    when present. It is not part of the runtime ``isinstance`` check, so
    objects with the three methods below stay language models; derive from
    :class:`LanguageModelBase` to get a breadth-first ``to_tables``.

    Example:
        >>> class Uniform:
        ...     def start_state(self): return ()
        ...     def score(self, state, token): return (-1.0986, ())
        ...     def end_score(self, state): return -1.0986
        >>> isinstance(Uniform(), LanguageModel)
        True
    """

    def start_state(self) -> Hashable:
        """The state before any token (the context ``<s>``)."""
        ...

    def score(self, state: Hashable, token: int) -> tuple[float, Hashable]:
        """Natural-log ``P(token | state)`` and the state after ``token``."""
        ...

    def end_score(self, state: Hashable) -> float:
        """Natural-log ``P(</s> | state)``."""
        ...


class LanguageModelBase(ABC):
    """A :class:`LanguageModel` base class whose :meth:`to_tables` tabulates it breadth-first.

    Subclasses implement :meth:`start_state`, :meth:`score` and
    :meth:`end_score`; a subclass that can build its tables more directly
    overrides :meth:`to_tables`.

    Example:
        >>> class Alternate(LanguageModelBase):  # prefers a token other than the last one
        ...     def start_state(self): return 0
        ...     def score(self, state, token): return (-2.0 if token == state else -0.2, token)
        ...     def end_score(self, state): return -1.0
        >>> t = Alternate().to_tables(vocab_size=3)
        >>> t.num_states, t.logp[1].tolist()
        (3, [-inf, -2.0, -0.2])
    """

    @abstractmethod
    def start_state(self) -> Hashable:
        """The state before any token (the context ``<s>``)."""

    @abstractmethod
    def score(self, state: Hashable, token: int) -> tuple[float, Hashable]:
        """Natural-log ``P(token | state)`` and the state after ``token``."""

    @abstractmethod
    def end_score(self, state: Hashable) -> float:
        """Natural-log ``P(</s> | state)``."""

    def to_tables(self, vocab_size: int, blank: int = 0) -> LMTables:
        """Tabulate the states reachable from :meth:`start_state` (see :func:`compile_lm`).

        Args:
            vocab_size: ``V``, the number of token ids, the blank included.
            blank: Id of the CTC blank, which the LM never scores.

        Returns:
            Tables with ``logp`` and ``next_state`` of shape ``(S, V)``.

        Raises:
            InputValueError: As :func:`compile_lm`.
        """
        vocab_size, blank = _check_vocab(vocab_size, blank)
        return _tabulate(self, vocab_size, blank, _MAX_STATES)


_MAX_STATES = 2_000_000


def _check_vocab(vocab_size: object, blank: object) -> tuple[int, int]:
    size = check_int(vocab_size, "vocab_size", 2)
    blank_id = check_int(blank, "blank", 0)
    if blank_id >= size:
        raise InputValueError(f"blank must be in [0, {size}), got {blank_id}")
    return size, blank_id


def compile_lm(
    lm: LanguageModel, vocab_size: int, blank: int = 0, max_states: int = _MAX_STATES
) -> LMTables:
    """Turn a language model into :class:`LMTables` for a vocabulary of ``vocab_size`` ids.

    A model with a ``to_tables`` method (:class:`~ctckit.lm.NGramLM`, any
    :class:`LanguageModelBase`) is asked for its tables; the result is
    checked. Any other :class:`LanguageModel` is tabulated here: states are
    explored breadth-first from ``lm.start_state()`` over every non-blank
    token, so state ids follow discovery order (the start state is 0).

    Args:
        lm: Any :class:`LanguageModel`.
        vocab_size: ``V``, the number of token ids, the blank included.
        blank: Id of the CTC blank, which the LM never scores.
        max_states: Give up beyond this many states (a model whose state set
            is infinite, or too large to tabulate); breadth-first only.

    Returns:
        Tables with ``logp`` and ``next_state`` of shape ``(S, V)``.

    Raises:
        InputTypeError: If ``lm`` does not implement :class:`LanguageModel`,
            or its ``to_tables`` returns something else than :class:`LMTables`.
        InputValueError: If ``vocab_size``, ``blank`` or ``max_states`` is out
            of range, more than ``max_states`` states are reachable, a score
            is NaN or ``+inf``, or the model cannot serve this vocabulary.
        ShapeError: If ``to_tables`` returns tables for another vocabulary size.

    Example:
        >>> class LastToken:  # a bigram-like LM: the state is the last token
        ...     def start_state(self): return None
        ...     def score(self, state, token): return (-0.5 if token == state else -1.5, token)
        ...     def end_score(self, state): return -2.0
        >>> t = compile_lm(LastToken(), vocab_size=3)
        >>> t.num_states, t.next_state.tolist()
        (3, [[0, 1, 2], [1, 1, 2], [2, 1, 2]])
        >>> t.logp[1].tolist()
        [-inf, -0.5, -1.5]
    """
    if not isinstance(lm, LanguageModel):
        raise InputTypeError(
            "lm must implement LanguageModel (start_state, score, end_score), "
            f"got {type(lm).__name__}"
        )
    vocab_size, blank = _check_vocab(vocab_size, blank)
    max_states = check_int(max_states, "max_states", 1)
    to_tables = getattr(lm, "to_tables", None)
    if not callable(to_tables):
        return _tabulate(lm, vocab_size, blank, max_states)
    tables = to_tables(vocab_size, blank)
    if not isinstance(tables, LMTables):
        raise InputTypeError(
            f"{type(lm).__name__}.to_tables must return LMTables, got {type(tables).__name__}"
        )
    if tables.vocab_size != vocab_size:
        raise ShapeError(
            f"{type(lm).__name__}.to_tables({vocab_size}, {blank}) returned tables for "
            f"V={tables.vocab_size} tokens"
        )
    return tables


def _tabulate(lm: LanguageModel, vocab_size: int, blank: int, max_states: int) -> LMTables:
    """Breadth-first tabulation of a model's reachable states (state 0 is the start)."""
    tokens = [v for v in range(vocab_size) if v != blank]
    start = lm.start_state()
    ids: dict[Hashable, int] = {start: 0}
    queue: deque[Hashable] = deque([start])
    logp_rows: list[npt.NDArray[np.float64]] = []
    next_rows: list[npt.NDArray[np.int32]] = []
    end_logp: list[float] = []
    while queue:
        state = queue.popleft()
        sid = len(logp_rows)
        lrow = np.full(vocab_size, -np.inf, dtype=np.float64)
        nrow = np.full(vocab_size, sid, dtype=np.int32)
        for v in tokens:
            lp, nxt = lm.score(state, v)
            lrow[v] = float(lp)
            nid = ids.get(nxt)
            if nid is None:
                nid = len(ids)
                if nid >= max_states:
                    raise InputValueError(
                        f"the language model has more than max_states={max_states} reachable "
                        "states; raise max_states or use a model with a finite state set"
                    )
                ids[nxt] = nid
                queue.append(nxt)
            nrow[v] = nid
        logp_rows.append(lrow)
        next_rows.append(nrow)
        end_logp.append(float(lm.end_score(state)))
    return LMTables(
        logp=np.stack(logp_rows),
        next_state=np.stack(next_rows),
        end_logp=np.asarray(end_logp, dtype=np.float64),
        start=0,
    )
