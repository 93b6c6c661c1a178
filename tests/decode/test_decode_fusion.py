"""Tests of shallow LM fusion in BeamSearchDecoder."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctckit.decode import BeamSearchDecoder
from ctckit.errors import InputValueError, ShapeError
from ctckit.lm import LMTables, NGramLM

seeds = st.integers(0, 2**32 - 1)


def as_tables(t: Any) -> LMTables:
    return LMTables(logp=t.logp, next_state=t.next_state, end_logp=t.end_logp, start=t.start)


def check_fused_n_best(
    refs: dict[str, Any],
    hyps: list[Any],
    lp: np.ndarray,
    sentence_logp: Callable[[tuple[int, ...]], float],
    weight: float,
    bonus: float,
    top_n: int,
) -> None:
    """``hyps`` (from an exhaustive beam) are brute force's ``top_n`` best labellings by
    ``-ctc_loss + weight * sentence_logp + bonus * length``, with those three scores
    (``sentence_logp``: an independent scorer, end of sentence included)."""
    acoustic = refs["brute_force"](lp, 0)
    lm = {lab: sentence_logp(lab) for lab in acoustic}
    fused = {lab: ac + weight * lm[lab] + bonus * len(lab) for lab, ac in acoustic.items()}
    ranked = sorted((v for v in fused.values() if v > -math.inf), reverse=True)
    assert len(hyps) == min(top_n, len(ranked))
    # KenLM keeps its log-probabilities in float32: LM terms agree to ~1e-7 relative.
    assert [h.score for h in hyps] == pytest.approx(ranked[: len(hyps)], rel=1e-6, abs=1e-6)
    for h in hyps:
        assert h.score == pytest.approx(fused[h.tokens], rel=1e-6, abs=1e-6)
        assert h.acoustic_score == pytest.approx(acoustic[h.tokens], abs=1e-6)
        assert h.lm_score == pytest.approx(lm[h.tokens], rel=1e-6, abs=1e-6)
    if len(ranked) < 2 or ranked[0] - ranked[1] > 1e-5:  # the best labelling, unless a near tie
        assert hyps[0].tokens == max(fused, key=fused.__getitem__)


def read_arpa(path: Path) -> tuple[int, dict[tuple[str, ...], tuple[float, float]]]:
    """A plain ARPA reader: its order and ``n-gram -> (log10 p, log10 backoff)``."""
    grams: dict[tuple[str, ...], tuple[float, float]] = {}
    order = 0
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.endswith("-grams:"):
            order = int(line[1 : line.index("-")])
        elif order and line and not line.startswith("\\"):
            parts = line.split()
            backoff = float(parts[order + 1]) if len(parts) > order + 1 else 0.0
            grams[tuple(parts[1 : order + 1])] = (float(parts[0]), backoff)
    return order, grams


def arpa_sentence_logp(arpa: tuple[int, dict[tuple[str, ...], tuple[float, float]]]) -> Any:
    """Natural-log sentence probability (``<s> .. </s>``) by the standard backoff rule
    ``p(w|h) = p*(hw)`` if listed, else ``backoff(h) p(w|h')``; an unlisted token is
    ``<unk>``."""
    order, grams = arpa

    def logp10(ctx: tuple[str, ...], word: str) -> float:
        if (*ctx, word) in grams:
            return grams[(*ctx, word)][0]
        if not ctx:
            return grams[("<unk>",)][0]
        return grams.get(ctx, (0.0, 0.0))[1] + logp10(ctx[1:], word)

    def score(tokens: tuple[int, ...]) -> float:
        words = [str(t) if (str(t),) in grams else "<unk>" for t in tokens] + ["</s>"]
        history, total = ["<s>"], 0.0
        for word in words:
            total += logp10(tuple(history[-(order - 1) :]), word)
            history.append(word)
        return total * math.log(10)

    return score


def kenlm_sentence_logp(path: Path) -> Any:
    """Natural-log sentence probability by KenLM (``<s> .. </s>``)."""
    kenlm = pytest.importorskip("kenlm")
    model = kenlm.Model(str(path))
    return lambda tokens: model.score(" ".join(map(str, tokens)), bos=True, eos=True) * math.log(10)


@given(
    seed=seeds,
    time=st.integers(1, 12),
    vocab=st.integers(2, 6),
    states=st.integers(1, 4),
    beam=st.integers(1, 6),
    token_min_logp=st.sampled_from([None, -2.0]),
)
def test_zero_weight_is_exactly_no_lm(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    states: int,
    beam: int,
    token_min_logp: float | None,
) -> None:
    lp = refs["random_log_probs"](seed, time, vocab, peaky=True)
    tables = as_tables(refs["random_tables"](seed, vocab, 0, states))
    opts = {"beam_width": beam, "top_n": beam, "token_min_logp": token_min_logp}
    plain = BeamSearchDecoder(**opts).decode(lp)[0]
    fused = BeamSearchDecoder(**opts, lm=tables, lm_weight=0.0).decode(lp)[0]
    assert [(h.tokens, h.score, h.acoustic_score, h.frames) for h in fused] == [
        (h.tokens, h.score, h.acoustic_score, h.frames) for h in plain
    ]
    for h in fused:  # the LM score is still reported
        assert h.lm_score == pytest.approx(refs["lm_path_score"](tables, h.tokens), abs=1e-9)


@given(
    seed=seeds,
    time=st.integers(1, 12),
    vocab=st.integers(2, 6),
    blank_pos=st.integers(0, 5),
    states=st.integers(1, 5),
    beam=st.integers(1, 8) | st.integers(97, 100),  # sorted array, or the wide-beam buffer
    top_frac=st.floats(0.0, 1.0),
    weight=st.sampled_from([0.0, 0.3, 1.0, 2.5]),
    bonus=st.sampled_from([0.0, -1.0, 0.7]),
    beam_prune_logp=st.sampled_from([None, -3.0]),
)
def test_matches_python_reference_and_lm_scores_add_up(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    blank_pos: int,
    states: int,
    beam: int,
    top_frac: float,
    weight: float,
    bonus: float,
    beam_prune_logp: float | None,
) -> None:
    blank = blank_pos % vocab
    top_n = 1 + int(top_frac * (beam - 1))
    lp = refs["random_log_probs"](seed, time, vocab, peaky=seed % 2 == 0)
    raw = refs["random_tables"](seed, vocab, blank, states)
    opts = {
        "beam_width": beam,
        "blank": blank,
        "top_n": top_n,
        "beam_prune_logp": beam_prune_logp,
        "lm_weight": weight,
        "insertion_bonus": bonus,
    }
    got = BeamSearchDecoder(**opts, lm=as_tables(raw), num_threads=1).decode(lp)[0]
    want = refs["reference_beam_search"](lp, **opts, lm=raw)
    assert [h.tokens for h in got] == [h.tokens for h in want]
    assert [h.frames for h in got] == [h.frames for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-9)
    assert [h.acoustic_score for h in got] == pytest.approx(
        [h.acoustic_score for h in want], abs=1e-9
    )
    scores = [h.score for h in got]
    assert scores == sorted(scores, reverse=True)
    for h in got:
        assert h.lm_score == pytest.approx(refs["lm_path_score"](raw, h.tokens), abs=1e-9)
        assert h.score == pytest.approx(
            h.acoustic_score + weight * h.lm_score + bonus * len(h.tokens), abs=1e-9
        )


@given(
    seed=seeds,
    shape=st.sampled_from([(2, 7), (3, 6), (4, 4)]).flatmap(
        lambda vm: st.tuples(st.integers(1, vm[1]), st.just(vm[0]))
    ),
    states=st.integers(1, 3),
    weight=st.sampled_from([0.5, 1.0, 3.0]),
    bonus=st.sampled_from([0.0, 1.5, -1.5]),
    top_n=st.integers(1, 8),
)
def test_unpruned_fusion_gives_the_brute_force_fused_n_best(
    refs: dict[str, Any],
    seed: int,
    shape: tuple[int, int],
    states: int,
    weight: float,
    bonus: float,
    top_n: int,
) -> None:
    """LMTables, exhaustive beam: the fused N-best by brute force, the LM side a walk of
    the tables in Python."""
    time, vocab = shape
    lp = refs["random_log_probs"](seed, time, vocab)
    raw = refs["random_tables"](seed, vocab, 0, states)
    beam = refs["num_labellings"](time, vocab)
    top_n = min(top_n, beam)
    hyps = BeamSearchDecoder(
        beam_width=beam, top_n=top_n, lm=as_tables(raw), lm_weight=weight, insertion_bonus=bonus
    ).decode(lp)[0]
    check_fused_n_best(refs, hyps, lp, partial(refs["lm_path_score"], raw), weight, bonus, top_n)


def test_lm_flips_the_acoustic_decision() -> None:
    # one frame: the acoustics prefer token 1 (0.55) over token 2 (0.44) ...
    lp = np.log(np.array([[0.01, 0.55, 0.44]]))
    # ... a bigram-like LM strongly prefers token 2 after <s>
    tables = LMTables(
        logp=np.log(np.array([[1.0, 0.1, 0.8], [1.0, 0.5, 0.4]])) + np.array([-np.inf, 0, 0]),
        next_state=np.array([[0, 1, 1], [1, 1, 1]], dtype=np.int32),
        end_logp=np.log(np.array([0.1, 0.1])),
        start=0,
    )
    assert BeamSearchDecoder(beam_width=3).decode(lp)[0][0].tokens == (1,)
    assert BeamSearchDecoder(beam_width=3, lm=tables, lm_weight=0.1).decode(lp)[0][0].tokens == (1,)
    fused = BeamSearchDecoder(beam_width=3, lm=tables, lm_weight=1.0).decode(lp)[0][0]
    assert fused.tokens == (2,)
    assert fused.acoustic_score == pytest.approx(math.log(0.44))
    assert fused.lm_score == pytest.approx(math.log(0.8) + math.log(0.1))
    assert fused.score == pytest.approx(math.log(0.44) + math.log(0.8 * 0.1))


def test_insertion_bonus_lengthens_without_lm() -> None:
    lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4]]))  # "a" wins acoustically
    assert BeamSearchDecoder(beam_width=4).decode(lp)[0][0].tokens == (1,)
    long = BeamSearchDecoder(beam_width=4, insertion_bonus=3.0).decode(lp)[0][0]
    assert long.tokens == (1, 1)
    assert long.lm_score == 0.0
    assert long.score == pytest.approx(long.acoustic_score + 6.0)


class LastTokenLM:
    """A LanguageModel whose state is the last token (a bigram)."""

    def start_state(self) -> int:
        return 0

    def score(self, state: Any, token: int) -> tuple[float, Any]:
        return (math.log(0.6) if token == state else math.log(0.4 / 3), token)

    def end_score(self, state: Any) -> float:
        return math.log(0.5)


@given(
    seed=seeds,
    time=st.integers(1, 5),
    weight=st.sampled_from([0.3, 1.0, 2.5]),
    bonus=st.sampled_from([0.0, 0.8, -0.8]),
    top_n=st.integers(1, 8),
)
def test_language_model_protocol_gives_the_brute_force_fused_n_best(
    refs: dict[str, Any], seed: int, time: int, weight: float, bonus: float, top_n: int
) -> None:
    """A LanguageModel object (compiled to tables inside the decoder), exhaustive beam:
    the N-best by brute force, the LM side scored by calling the object itself."""
    lp = refs["random_log_probs"](seed, time, 4, peaky=seed % 2 == 0)
    lm = LastTokenLM()

    def sentence_logp(tokens: tuple[int, ...]) -> float:
        state, total = lm.start_state(), 0.0
        for tok in tokens:
            logp, state = lm.score(state, tok)
            total += logp
        return total + lm.end_score(state)

    beam = refs["num_labellings"](time, 4)
    top_n = min(top_n, beam)
    decoder = BeamSearchDecoder(
        beam_width=beam, top_n=top_n, lm=lm, lm_weight=weight, insertion_bonus=bonus
    )
    check_fused_n_best(refs, decoder.decode(lp)[0], lp, sentence_logp, weight, bonus, top_n)


def test_lm_errors(refs: dict[str, Any]) -> None:
    tables = as_tables(refs["random_tables"](0, 4, 0, 2))
    with pytest.raises(ShapeError, match=r"V=4.*V=5"):
        BeamSearchDecoder(lm=tables, lm_weight=1.0).decode(np.zeros((3, 5)))
    with pytest.raises(InputValueError, match="lm_weight"):
        BeamSearchDecoder(lm=tables, lm_weight=-1.0)
    with pytest.raises(InputValueError, match="lm_weight"):
        BeamSearchDecoder(lm=tables, lm_weight=math.inf)


# A hand-written trigram model over tokens 1..3 (4 is unlisted: <unk>), with backoffs
HAND_ARPA = """\\data\\
ngram 1=6
ngram 2=6
ngram 3=3

\\1-grams:
-0.6\t1\t-0.2
-0.5\t2\t-0.3
-0.9\t3\t-0.1
-0.7\t</s>
-99\t<s>\t-0.4
-1.5\t<unk>\t-0.25

\\2-grams:
-0.2\t<s> 1\t-0.05
-0.4\t1 2\t-0.15
-0.3\t2 1
-0.25\t2 </s>
-0.8\t<unk> 3
-0.6\t1 1\t-0.3

\\3-grams:
-0.1\t<s> 1 2
-0.2\t1 2 </s>
-0.35\t1 1 1

\\end\\
"""


@pytest.fixture(scope="module")
def arpa_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any, Any]]:
    """ARPA files (the hand-written one, and one written by a fitted NGramLM), each as
    ``(NGramLM read from it, KenLM's scorer, the plain backoff reader's scorer)``."""
    root = tmp_path_factory.mktemp("arpa")
    hand = root / "hand.arpa"
    hand.write_text(HAND_ARPA)
    rng = np.random.default_rng(3)
    corpus = [rng.integers(1, 5, size=rng.integers(2, 9)).tolist() for _ in range(40)]
    fitted = root / "fitted.arpa"
    NGramLM.fit(corpus, order=3, vocab_size=5).to_arpa(fitted)
    return {
        name: (
            NGramLM.from_arpa(path, vocab_size=5),
            kenlm_sentence_logp(path),
            arpa_sentence_logp(read_arpa(path)),
        )
        for name, path in (("hand", hand), ("fitted", fitted))
    }


@given(
    seed=seeds,
    time=st.integers(1, 4),
    model=st.sampled_from(["hand", "fitted"]),
    weight=st.sampled_from([0.4, 1.0, 2.0]),
    bonus=st.sampled_from([0.0, 0.6, -0.6]),
    top_n=st.integers(1, 8),
)
def test_ngram_fusion_gives_the_brute_force_n_best_under_kenlm_scores(
    refs: dict[str, Any],
    arpa_models: dict[str, tuple[Any, Any, Any]],
    seed: int,
    time: int,
    model: str,
    weight: float,
    bonus: float,
    top_n: int,
) -> None:
    """An NGramLM read from an ARPA file, exhaustive beam over V = 5: the fused N-best by
    brute force, the LM side scored by KenLM and by a plain backoff reader of the same
    file (which also checks KenLM against the backoff rule); unknown token 4 and the
    backoffs of the hand-written model included."""
    lm, kenlm_logp, plain_logp = arpa_models[model]
    lp = refs["random_log_probs"](seed, time, 5, peaky=seed % 2 == 0)
    beam = refs["num_labellings"](time, 5)
    top_n = min(top_n, beam)
    decoder = BeamSearchDecoder(
        beam_width=beam, top_n=top_n, lm=lm, lm_weight=weight, insertion_bonus=bonus
    )
    hyps = decoder.decode(lp)[0]
    check_fused_n_best(refs, hyps, lp, kenlm_logp, weight, bonus, top_n)
    for h in hyps:
        assert kenlm_logp(h.tokens) == pytest.approx(plain_logp(h.tokens), abs=1e-5)
