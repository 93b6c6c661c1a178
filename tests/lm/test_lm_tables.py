"""Tests for ctckit.lm.tables: the protocol's ``to_tables`` and its breadth-first default."""

from __future__ import annotations

import math
from collections.abc import Hashable

import numpy as np
import pytest

from ctckit.errors import InputTypeError, ShapeError
from ctckit.lm import LanguageModel, LanguageModelBase, LMTables, NGramLM, compile_lm


class Parity(LanguageModelBase):
    """p(token | parity of the tokens so far): two states, a formula per state."""

    def start_state(self) -> int:
        return 0

    def score(self, state: Hashable, token: int) -> tuple[float, int]:
        assert isinstance(state, int)
        return math.log((token + state + 1) / 10.0), (state + token) % 2

    def end_score(self, state: Hashable) -> float:
        return math.log(0.1 + 0.05 * int(state))  # type: ignore[call-overload]


class ParityPlain:
    """The same model with only the three protocol methods (a user's object of today)."""

    def __init__(self) -> None:
        self._lm = Parity()

    def start_state(self) -> Hashable:
        return self._lm.start_state()

    def score(self, state: Hashable, token: int) -> tuple[float, Hashable]:
        return self._lm.score(state, token)

    def end_score(self, state: Hashable) -> float:
        return self._lm.end_score(state)


def test_base_class_to_tables_equals_compile_lm_of_a_plain_object() -> None:
    a = Parity().to_tables(4, 0)
    b = compile_lm(ParityPlain(), 4, 0)
    assert isinstance(ParityPlain(), LanguageModel)
    assert a.num_states == b.num_states == 2
    np.testing.assert_array_equal(a.logp, b.logp)
    np.testing.assert_array_equal(a.next_state, b.next_state)
    # the values are the formula's: state 1 (odd), token 2 -> log(4/10), back to odd
    assert a.logp[1, 2] == pytest.approx(math.log(0.4))
    assert a.next_state[1, 2] == 1
    assert a.end_logp.tolist() == pytest.approx([math.log(0.1), math.log(0.15)])


def test_compile_lm_calls_to_tables_when_present() -> None:
    calls: list[tuple[int, int]] = []

    class Own(Parity):
        def to_tables(self, vocab_size: int, blank: int = 0) -> LMTables:
            calls.append((vocab_size, blank))
            return super().to_tables(vocab_size, blank)

    compile_lm(Own(), 5, 2)
    assert calls == [(5, 2)]
    lm = NGramLM.fit([[1, 2]], order=2, vocab_size=3)
    assert compile_lm(lm, 3) is lm.tables


def test_compile_lm_checks_what_to_tables_returns() -> None:
    class Wrong(Parity):
        def to_tables(self, vocab_size: int, blank: int = 0) -> LMTables:
            return Parity().to_tables(vocab_size + 1, blank)

    class NotTables(Parity):
        def to_tables(self, vocab_size: int, blank: int = 0) -> LMTables:
            return "tables"  # type: ignore[return-value]

    with pytest.raises(ShapeError, match="returned tables for V=5"):
        compile_lm(Wrong(), 4)
    with pytest.raises(InputTypeError, match="must return LMTables, got str"):
        compile_lm(NotTables(), 4)


def test_a_plain_lm_and_a_base_class_lm_fuse_alike() -> None:
    """BeamSearchDecoder(lm=...) takes both: the plain object through compile_lm."""
    from ctckit.decode import BeamSearchDecoder

    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(4), size=12))
    hyps = [
        BeamSearchDecoder(beam_width=6, top_n=3, lm=lm, lm_weight=0.7, num_threads=1).decode(
            log_probs
        )[0]
        for lm in (Parity(), ParityPlain())
    ]
    assert [(h.tokens, h.score) for h in hyps[0]] == [(h.tokens, h.score) for h in hyps[1]]
    assert hyps[0][0].lm_score < 0
