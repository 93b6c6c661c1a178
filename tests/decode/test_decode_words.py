"""WordBeamSearchDecoder without a lexicon: characters and BPE, unigrams, hotwords.

Oracles: the brute force of ``word_reference`` (every labelling scored with
``F.ctc_loss`` and the word terms), its plain-Python beam search (same semantics,
no shared code), and ``BeamSearchDecoder`` for the no-word-terms case.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from word_reference import (
    RefWordHyp,
    WordSpec,
    best_alignment_log_prob,
    brute_force_best,
    reference_word_search,
)

from ctckit import Vocabulary
from ctckit.decode import BeamSearchDecoder, WordBeamSearchDecoder, WordHypothesis, WordSpan
from ctckit.errors import InputTypeError, InputValueError, ShapeError

CHARS = ["", "a", "b", " "]  # blank, two letters, the delimiter
BPE = ["▁a", "b", "▁b", "a", ""]  # blank last
PEER = Path(__file__).resolve().parents[3] / "shared" / "peer_assets"


def log_probs(seed: int, time: int, vocab: int, scale: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(time, vocab)) * scale
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def as_ref(h: WordHypothesis) -> tuple:
    return (h.tokens, h.words, tuple((s.word, s.start, s.end) for s in h.word_spans))


def ref_key(h: RefWordHyp) -> tuple:
    return (h.tokens, h.words, h.word_spans)


def assert_same(got: list[WordHypothesis], ref: list[RefWordHyp], tol: float = 1e-9) -> None:
    assert [as_ref(h) for h in got] == [ref_key(r) for r in ref]
    for h, r in zip(got, ref):
        assert h.score == pytest.approx(r.score, abs=tol)
        assert h.acoustic_score == pytest.approx(r.acoustic_score, abs=tol)
        assert h.lm_score == pytest.approx(r.lm_score, abs=tol)
        assert h.text == r.text


# --------------------------------------------------------------------------- construction


def test_modes_are_found_from_the_labels() -> None:
    assert WordBeamSearchDecoder(CHARS).mode == "characters"
    assert WordBeamSearchDecoder(BPE).mode == "bpe"
    assert WordBeamSearchDecoder(["", "the", "##re", "##s"]).mode == "wordpiece"
    assert WordBeamSearchDecoder(["", "HH", "AH", "|"], word_delimiter="|").mode == "characters"
    assert WordBeamSearchDecoder(["", "a"], lexicon={"a": [["a"]]}).mode == "lexicon"


def test_blank_is_the_empty_label_or_the_vocabularys() -> None:
    assert WordBeamSearchDecoder(["a", " ", ""]).blank == 2
    assert WordBeamSearchDecoder(Vocabulary(["-", "a", " "], blank=0)).blank == 0
    assert WordBeamSearchDecoder(["-", "a", " "], blank=0).blank == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"labels": ["", "a", "b"]}, InputValueError, "no word delimiter ' '"),
        ({"labels": ["", "a", "|"], "word_delimiter": " "}, InputValueError, "word_delimiter="),
        ({"labels": ["", "▁a", "##b"]}, InputValueError, "mix BPE conventions"),
        ({"labels": ["", "▁a", "b", " "]}, InputValueError, "mix conventions"),
        ({"labels": ["", "▁a", "b▁c"]}, InputValueError, "after its start"),
        ({"labels": ["a", "b", " "]}, InputValueError, "blank=None"),
        ({"labels": ["", "", "a", " "]}, InputValueError, "blank=None"),
        ({"labels": ["", "a", "a", " "]}, InputValueError, "both 'a'"),
        ({"labels": ["", "a b", " "]}, InputValueError, "whitespace"),
        ({"labels": "ab "}, InputTypeError, "sequence of strings"),
        ({"labels": CHARS, "hotwords": ["ac"]}, InputValueError, "character 'c' at 1"),
        ({"labels": CHARS, "hotwords": "ab"}, InputTypeError, "not one string"),
        ({"labels": CHARS, "unigrams": ["a b"]}, InputValueError, "without spaces"),
        ({"labels": CHARS, "sil_token": " "}, InputValueError, "needs a lexicon"),
        ({"labels": CHARS, "unk_word": "<unk>"}, InputValueError, "needs a lexicon"),
        ({"labels": CHARS, "alpha": -1.0}, InputValueError, "alpha"),
        ({"labels": CHARS, "unk_score_offset": 1.0}, InputValueError, "unk_score_offset"),
        ({"labels": CHARS, "beam_prune_logp": 1.0}, InputValueError, "beam_prune_logp"),
        ({"labels": CHARS, "top_n": 3, "beam_width": 2}, InputValueError, "top_n"),
        ({"labels": CHARS, "lm": 3}, InputTypeError, "lm"),
        ({"labels": CHARS, "lm_score_boundary": 1}, InputTypeError, "lm_score_boundary"),
        ({"labels": CHARS, "blank": 4}, InputValueError, "blank"),
        ({"labels": ["", "a"], "lexicon": {"a": [["c"]]}}, InputValueError, "token 'c'"),
        ({"labels": ["", "a"], "lexicon": {"a": [[]]}}, InputValueError, "empty pronunciation"),
        ({"labels": ["", "a"], "lexicon": {"a": []}}, InputValueError, "no pronunciation"),
        ({"labels": ["", "a"], "lexicon": {}}, InputValueError, "lexicon is empty"),
        ({"labels": ["", "a"], "lexicon": [("a", "a")]}, InputTypeError, "mapping"),
        (
            {"labels": ["", "a"], "lexicon": {"a": ["a"]}, "sil_token": "|"},
            InputValueError,
            "sil_token '|' is not a label",
        ),
        (
            {"labels": ["", "a"], "lexicon": {"a": ["a"]}, "unigrams": ["a"]},
            InputValueError,
            "exclude each other",
        ),
        (
            {"labels": ["", "a"], "lexicon": {"a": ["a"]}, "hotwords": ["b"]},
            InputValueError,
            "not a lexicon word",
        ),
        ({"labels": ["", "a"], "lexicon": {"a": [[0]]}}, InputValueError, "token id 0"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, error: type, match: str) -> None:
    labels = kwargs.pop("labels")
    with pytest.raises(error, match=match):
        WordBeamSearchDecoder(labels, **kwargs)


def test_a_hotword_in_bpe_pieces_is_spellable() -> None:
    WordBeamSearchDecoder(BPE, hotwords=["abba", "b"])
    with pytest.raises(InputValueError, match="cannot be spelled"):
        WordBeamSearchDecoder(BPE, hotwords=["abc"])


# --------------------------------------------------------------------------- the reference


@given(seed=st.integers(0, 10_000), beta=st.floats(-1.0, 1.0), hot=st.booleans())
def test_the_reference_with_an_exhaustive_beam_finds_the_brute_force_best(
    seed: int, beta: float, hot: bool
) -> None:
    """The oracle itself: its exhaustive search against every labelling scored whole."""
    spec = WordSpec(
        labels=CHARS, blank=0, delimiter=3, unigrams=["a", "ab"] if seed % 2 else None,
        beta=beta, unk_score_offset=-2.0, hotwords=("ba",) if hot else (), hotword_weight=1.5,
    )  # fmt: skip
    lp = log_probs(seed, 4, 4)
    best, ties = brute_force_best(lp, spec, tol=1e-9)
    h = reference_word_search(lp, spec, beam_width=10**6)[0]
    assert h.score == pytest.approx(best, abs=1e-9)
    assert (h.tokens, h.words) in {(t, w) for _, t, w in ties}


# --------------------------------------------------------------------------- the kernel


@pytest.fixture(scope="module")
def words_kernel() -> None:
    """Skip the kernel tests until the search kernels are importable."""
    pytest.importorskip("ctckit.decode._kernels.search")


def decoder(labels: list[str], **kw: object) -> WordBeamSearchDecoder:
    kw.setdefault("num_threads", 1)
    return WordBeamSearchDecoder(labels, **kw)  # type: ignore[arg-type]


def spec_for(labels: list[str], **kw: object) -> WordSpec:
    blank = labels.index("")
    delimiter = labels.index(" ") if " " in labels else None
    return WordSpec(labels=labels, blank=blank, delimiter=delimiter, **kw)  # type: ignore[arg-type]


WORD_OPTIONS = st.fixed_dictionaries(
    {
        "beta": st.sampled_from([0.0, 0.7, -0.4]),
        "unigrams": st.sampled_from([None, ("a", "ab"), ("b", "ba", "aa")]),
        "unk_score_offset": st.sampled_from([-10.0, -1.5, 0.0]),
        "hotwords": st.sampled_from([(), ("ab",), ("b", "aab")]),
        "hotword_weight": st.sampled_from([10.0, 1.25, -0.5]),
    }
)


@pytest.mark.usefixtures("words_kernel")
@given(seed=st.integers(0, 10_000), bpe=st.booleans(), opts=WORD_OPTIONS)
def test_max_merging_finds_the_best_single_alignment(seed: int, bpe: bool, opts: dict) -> None:
    """``merge="max"``: the exhaustive search's best is the best over every labelling of its
    best alignment (every path enumerated) plus its word terms."""
    labels = BPE if bpe else CHARS
    lp = log_probs(seed, 4, len(labels))
    h = decoder(
        labels, alpha=0.0, beam_width=2000, token_min_logp=None, beam_prune_logp=None,
        merge="max", **opts,
    ).decode(lp)[0][0]  # fmt: skip
    best, ties = brute_force_best(lp, spec_for(labels, alpha=0.0, **opts), tol=1e-9, merge="max")
    assert h.score == pytest.approx(best, abs=1e-9)
    assert (h.tokens, h.words) in {(t, w) for _, t, w in ties}
    blank = labels.index("")
    (viterbi,) = best_alignment_log_prob(lp, [h.tokens], blank).tolist()
    assert h.acoustic_score == pytest.approx(viterbi, abs=1e-9)


def test_merge_is_sum_or_max() -> None:
    with pytest.raises(InputValueError, match="merge must be 'sum' or 'max'"):
        WordBeamSearchDecoder(CHARS, merge="mean")


@pytest.mark.usefixtures("words_kernel")
@given(
    seed=st.integers(0, 10_000),
    time=st.integers(1, 12),
    width=st.integers(1, 12),
    top_n=st.integers(1, 3),
    prune=st.sampled_from([None, -3.0]),
    tmin=st.sampled_from([None, -2.5]),
    bpe=st.booleans(),
    opts=WORD_OPTIONS,
)
def test_the_kernel_equals_the_reference(
    seed: int, time: int, width: int, top_n: int, prune: float | None, tmin: float | None,
    bpe: bool, opts: dict,
) -> None:  # fmt: skip
    labels = BPE if bpe else CHARS
    top_n = min(top_n, width)
    lp = log_probs(seed, time, len(labels))
    got = decoder(
        labels, alpha=0.0, beam_width=width, top_n=top_n, token_min_logp=tmin,
        beam_prune_logp=prune, **opts,
    ).decode(lp)[0]  # fmt: skip
    ref = reference_word_search(lp, spec_for(labels, alpha=0.0, **opts), width, top_n, tmin, prune)
    assert_same(got, ref)


@pytest.mark.usefixtures("words_kernel")
@given(seed=st.integers(0, 10_000), bpe=st.booleans(), opts=WORD_OPTIONS)
def test_an_exhaustive_search_finds_the_best_labelling(seed: int, bpe: bool, opts: dict) -> None:
    labels = BPE if bpe else CHARS
    lp = log_probs(seed, 4, len(labels))
    h = decoder(
        labels, alpha=0.0, beam_width=2000, token_min_logp=None, beam_prune_logp=None, **opts
    ).decode(lp)[0][0]
    best, ties = brute_force_best(lp, spec_for(labels, alpha=0.0, **opts), tol=1e-9)
    assert h.score == pytest.approx(best, abs=1e-9)
    assert (h.tokens, h.words) in {(t, w) for _, t, w in ties}


@pytest.mark.usefixtures("words_kernel")
@given(
    seed=st.integers(0, 10_000),
    time=st.integers(0, 14),
    width=st.sampled_from([1, 3, 10, 50, 97]),
    top_n=st.integers(1, 4),
    prune=st.sampled_from([None, -4.0]),
    tmin=st.sampled_from([None, -3.0]),
    vocab=st.integers(3, 6),
)
def test_without_word_terms_the_tokens_are_the_beam_searchs(
    seed: int, time: int, width: int, top_n: int, prune: float | None, tmin: float | None,
    vocab: int,
) -> None:  # fmt: skip
    """alpha = beta = 0, no LM, no unigrams, no hotwords: the same search, float for float;
    the N best are BeamSearchDecoder's with later spellings of the same words dropped."""
    labels = ["", " ", *"abcd"[: vocab - 2]]
    top_n = min(top_n, width)
    lp = log_probs(seed, time, vocab)
    words = decoder(
        labels, alpha=0.0, beta=0.0, beam_width=width, top_n=top_n, token_min_logp=tmin,
        beam_prune_logp=prune,
    ).decode(lp)[0]  # fmt: skip
    tokens = BeamSearchDecoder(
        beam_width=width, top_n=width, token_min_logp=tmin, beam_prune_logp=prune,
        num_threads=1,
    ).decode(lp)[0]  # fmt: skip
    expected = []
    seen = set()
    for h in tokens:
        text = tuple("".join(labels[c] for c in h.tokens).split())
        if text not in seen and len(expected) < top_n:
            seen.add(text)
            expected.append(h)
    assert [h.tokens for h in words] == [h.tokens for h in expected]
    assert [h.score for h in words] == [h.score for h in expected]
    assert [h.acoustic_score for h in words] == [h.acoustic_score for h in expected]


@pytest.mark.usefixtures("words_kernel")
@given(seed=st.integers(0, 10_000), time=st.integers(1, 30), bpe=st.booleans())
def test_word_spans_lie_in_order_inside_the_utterance(seed: int, time: int, bpe: bool) -> None:
    labels = BPE if bpe else CHARS
    lp = log_probs(seed, time, len(labels), scale=3.0)
    length = int(np.random.default_rng(seed).integers(0, time + 1))
    hyps = decoder(labels, alpha=0.0, beta=0.3, top_n=3, beam_width=8).decode(lp, length)[0]
    for h in hyps:
        assert len(h.word_spans) == len(h.words)
        assert h.text == " ".join(h.words)
        end = 0
        for span in h.word_spans:
            assert end <= span.start < span.end <= length
            end = span.end


def words_from_token_spans(labels: list[str], tokens: tuple[int, ...], spans: tuple) -> tuple:
    """``(word, start, end)`` per word, read from the token spans: a word starts at its
    first token after a delimiter or a ``▁`` piece and ends with its last token."""
    out = []
    text, start, end = "", -1, -1
    for tok, span in zip(tokens, spans):
        lab = labels[tok]
        if lab == " " or lab.startswith("▁"):
            if text:
                out.append((text, start, end))
            text, start = "", -1
            if lab == " ":
                continue
            lab = lab[1:]
        if start < 0:
            start = span.start
        text += lab
        end = span.end
    if text:
        out.append((text, start, end))
    return tuple(out)


@pytest.mark.usefixtures("words_kernel")
@given(
    seed=st.integers(0, 10_000),
    time=st.integers(0, 25),
    width=st.sampled_from([1, 4, 16]),
    top_n=st.integers(1, 3),
    labels=st.sampled_from([CHARS, BPE, ["▁", "a", "▁b", "b", ""], ["", " ", "a", "b", "c"]]),
    unigrams=st.sampled_from([None, ("a", "ab", "b", "ba", "bb")]),
)
def test_word_spans_are_the_token_spans_read_at_the_word_boundaries(
    seed: int, time: int, width: int, top_n: int, labels: list[str], unigrams: tuple | None
) -> None:
    """The kernel's word spans and texts against the token search's spans read in Python:
    no word terms (an offset of 0 for words outside ``unigrams``), so the N best are the
    token search's; words in the vocabulary and outside it (spelled from the tokens)."""
    top_n = min(top_n, width)
    blank = labels.index("")
    lp = log_probs(seed, time, len(labels), scale=3.0)
    words = decoder(
        labels, alpha=0.0, beta=0.0, unigrams=unigrams, unk_score_offset=0.0, beam_width=width,
        top_n=top_n, blank=blank,
    ).decode(lp)[0]  # fmt: skip
    tokens = BeamSearchDecoder(
        beam_width=width, blank=blank, top_n=width, token_min_logp=-5.0, beam_prune_logp=-10.0,
        num_threads=1,
    ).decode(lp)[0]  # fmt: skip
    spans = {h.tokens: h.spans for h in tokens}
    for h in words:
        expected = words_from_token_spans(labels, h.tokens, spans[h.tokens])
        assert tuple((s.word, s.start, s.end) for s in h.word_spans) == expected
        assert h.words == tuple(w for w, _, _ in expected)


@pytest.mark.usefixtures("words_kernel")
def test_word_spans_run_from_the_first_frame_of_a_word_to_its_last_letter() -> None:
    """pyctcdecode's frame annotation case: blanks, a doubled letter, trailing delimiters."""
    labels = [" ", "b", "g", "n", "s", "u", "y", ""]
    frames = [" ", "", "b", "u", "n", "", "n", "n", "y", "", " ", " "]
    lp = np.full((len(frames), len(labels)), -30.0)
    for t, c in enumerate(frames):
        lp[t, labels.index(c)] = 0.0
    h = decoder(labels, alpha=0.0, beta=0.0).decode(lp)[0][0]
    assert h.text == "bunny"
    assert h.word_spans == (WordSpan("bunny", 2, 9),)


@pytest.mark.usefixtures("words_kernel")
def test_bpe_words_start_at_their_marked_piece() -> None:
    labels = ["▁bugs", "▁bun", "ny", ""]
    frames = ["", "▁bugs", "▁bun", "ny", "ny", ""]
    lp = np.full((len(frames), len(labels)), -30.0)
    for t, c in enumerate(frames):
        lp[t, labels.index(c)] = 0.0
    h = decoder(labels, alpha=0.0, beta=0.0).decode(lp)[0][0]
    assert h.text == "bugs bunny"
    assert h.word_spans == (WordSpan("bugs", 1, 2), WordSpan("bunny", 2, 5))
    assert h.tokens == (0, 1, 2)


@pytest.mark.usefixtures("words_kernel")
def test_wordpiece_continuations_join_the_word_before() -> None:
    labels = ["", "the", "##re", "##s", "cat"]
    frames = ["the", "", "##re", "cat", "##s"]
    lp = np.full((len(frames), len(labels)), -30.0)
    for t, c in enumerate(frames):
        lp[t, labels.index(c)] = 0.0
    h = decoder(labels, alpha=0.0, beta=0.0).decode(lp)[0][0]
    assert h.words == ("there", "cats")


@pytest.mark.usefixtures("words_kernel")
def test_a_hotword_is_boosted_and_its_partial_bonus_taken_back() -> None:
    lp = np.log([[0.1, 0.25, 0.6, 0.05], [0.1, 0.6, 0.25, 0.05]])  # "ba" by the frames
    plain = decoder(CHARS, alpha=0.0, beta=0.0, beam_width=30).decode(lp)[0][0]
    hot = decoder(CHARS, alpha=0.0, beta=0.0, beam_width=30, hotwords=["ab"],
                  hotword_weight=5.0).decode(lp)[0][0]  # fmt: skip
    assert plain.text == "ba"
    assert hot.text == "ab"
    assert hot.score == pytest.approx(hot.acoustic_score + 5.0)
    # "aa" passes through the hotword prefix "a" and leaves it: no bonus is kept
    lp2 = np.full((3, 4), -20.0)
    lp2[0, 1] = lp2[1, 0] = lp2[2, 1] = 0.0
    h = decoder(CHARS, alpha=0.0, beta=0.0, hotwords=["ab"], hotword_weight=5.0).decode(lp2)
    assert h[0][0].text == "aa"
    assert h[0][0].score == pytest.approx(h[0][0].acoustic_score)


@pytest.mark.usefixtures("words_kernel")
def test_unigrams_without_an_lm_penalise_unknown_words() -> None:
    lp = np.full((3, 4), -20.0)
    lp[0, 1] = lp[1, 2] = lp[2, 1] = 0.0  # "aba"
    h = decoder(CHARS, alpha=0.5, beta=0.0, unigrams=["ab"], unk_score_offset=-2.0)
    out = h.decode(lp)[0][0]
    assert out.text == "aba"
    assert out.lm_score == pytest.approx(-2.0 * math.log(10))
    assert out.score == pytest.approx(out.acoustic_score + 0.5 * out.lm_score)


@pytest.mark.usefixtures("words_kernel")
@given(seed=st.integers(0, 10_000), dtype=st.sampled_from([np.float32, np.float64]))
def test_batches_threads_and_tensors_agree(seed: int, dtype: type) -> None:
    lp = np.stack([log_probs(seed + k, 9, 4) for k in range(5)]).astype(dtype)
    lengths = np.random.default_rng(seed).integers(0, 10, 5)
    one = decoder(CHARS, beta=0.2, hotwords=["ab"], top_n=2, beam_width=6)
    two = decoder(CHARS, beta=0.2, hotwords=["ab"], top_n=2, beam_width=6, num_threads=2)
    a = one.decode(lp, lengths)
    b = two.decode(torch.from_numpy(lp), torch.from_numpy(lengths))
    assert a == b
    for k in range(5):
        assert a[k] == one.decode(lp[k], int(lengths[k]))[0]


@pytest.mark.usefixtures("words_kernel")
@given(
    seed=st.integers(0, 10_000),
    times=st.lists(st.integers(0, 14), min_size=2, max_size=5),
    threads=st.sampled_from([1, 2]),
    bpe=st.booleans(),
)
def test_one_decoder_over_calls_of_growing_and_shrinking_lengths(
    seed: int, times: list[int], threads: int, bpe: bool
) -> None:
    """A decoder keeps its search buffers between calls (and grows them for a longer
    utterance): every call still gives the plain-Python reference's hypotheses."""
    labels = BPE if bpe else CHARS
    kw = {"beta": 0.5, "unigrams": ("a", "ab"), "hotwords": ("ab",), "hotword_weight": 1.25}
    dec = decoder(labels, alpha=0.0, beam_width=5, top_n=2, token_min_logp=-2.5,
                  beam_prune_logp=-3.0, num_threads=threads, **kw)  # fmt: skip
    spec = spec_for(labels, alpha=0.0, **kw)
    for k, time in enumerate(times):
        lp = np.stack(
            [log_probs(seed + k, time, len(labels)), log_probs(seed + 50 + k, time, len(labels))]
        )
        lengths = [time, time // 2]
        for hyps, x, n in zip(dec.decode(lp, lengths), lp, lengths):
            ref = reference_word_search(x[:n], spec, 5, 2, -2.5, -3.0)
            if not ref:  # an empty utterance: the empty labelling
                assert [as_ref(h) for h in hyps] == [((), (), ())]
                continue
            assert_same(hyps, ref)


@pytest.mark.usefixtures("words_kernel")
def test_word_spans_are_made_on_first_access_and_the_hypothesis_is_the_same() -> None:
    lp = log_probs(3, 9, 4, scale=3.0)
    got = decoder(CHARS, alpha=0.0, beta=0.0, beam_width=8, top_n=3).decode(lp)[0]
    assert all("word_spans" not in h.__dict__ for h in got)
    kept = pickle.loads(pickle.dumps(got))  # before the spans are made
    built = [
        WordHypothesis(h.text, h.words, h.word_spans, h.tokens, h.score, h.acoustic_score,
                       h.lm_score)
        for h in got
    ]  # fmt: skip
    assert got == built
    assert kept == built
    assert copy.copy(kept[0]) == built[0]
    assert [hash(h) for h in got] == [hash(h) for h in built]
    assert repr(got[0]) == repr(built[0])
    assert all(type(s) is WordSpan for h in got for s in h.word_spans)
    with pytest.raises(AttributeError, match="no attribute 'spans'"):
        _ = got[0].spans


@given(tokens=st.lists(st.integers(1, 6), max_size=30))
def test_a_character_spelling_by_bytes_is_the_joined_one(tokens: list[int]) -> None:
    """One-character labels spell a hypothesis with one ``bytes.translate``: the same text
    as joining the labels' spellings (the blank spells nothing, the delimiter a space)."""
    from ctckit.decode.words import _byte_spelling

    spelling = ("", "a", "é", " ", "'", "ÿ", "")
    table = _byte_spelling(spelling)
    assert table is not None
    joined = "".join(spelling[c] for c in tokens)
    assert bytes(tokens).translate(*table).decode("latin-1") == joined
    # a longer piece, a character past Latin-1 or more than 256 labels: joined instead
    assert _byte_spelling(("", "ab")) is None
    assert _byte_spelling(("", "\u0101")) is None
    assert _byte_spelling(("a",) * 257) is None
    assert _byte_spelling(None) is None


def test_input_errors() -> None:
    dec = decoder(CHARS)
    with pytest.raises(ShapeError, match="V=5"):
        dec.decode(np.zeros((2, 5)))
    with pytest.raises(InputTypeError):
        dec.decode([[0.0] * 4])
    with pytest.raises(InputValueError, match="lengths"):
        dec.decode(np.zeros((2, 4)), lengths=3)


@pytest.mark.usefixtures("words_kernel")
def test_non_finite_entries_are_refused() -> None:
    lp = log_probs(0, 5, 4)
    lp[3, 2] = np.nan
    with pytest.raises(InputValueError, match=r"log_probs\[3\]"):
        decoder(CHARS).decode(lp)
    assert np.isfinite(decoder(CHARS).decode(lp, 3)[0][0].score)  # beyond the length: ignored


@pytest.mark.usefixtures("words_kernel")
@pytest.mark.parametrize("with_lengths", [False, True])
def test_the_invalid_utterance_reported_does_not_depend_on_the_threads(with_lengths) -> None:
    """Threads take utterances as they finish others; of several invalid ones the error
    names the first in their order (longest first when lengths are given) however many
    threads ran: utterance 4 (9 frames) before utterance 1 (6 frames)."""
    lp = np.stack([log_probs(k, 9, 4) for k in range(6)])
    lp[1, 2, 1] = np.nan
    lp[4, 5, 3] = np.inf
    lengths = [9, 6, 9, 9, 9, 9] if with_lengths else None
    want = r"log_probs\[4, 5\]" if with_lengths else r"log_probs\[1, 2\]"
    for threads in (1, 2, 3):
        with pytest.raises(InputValueError, match=want):
            decoder(CHARS, num_threads=threads).decode(lp, lengths)


@pytest.mark.usefixtures("words_kernel")
def test_empty_utterances() -> None:
    hyps = decoder(CHARS).decode(np.zeros((2, 0, 4)))
    assert hyps == [[WordHypothesis("", (), (), (), 0.0, 0.0, 0.0)]] * 2


@pytest.mark.usefixtures("words_kernel")
def test_librispeech_logits_decode_as_pyctcdecode_reads_them() -> None:
    """pyctcdecode's realistic-alphabet case: no LM, its default beam, the same text."""
    path = PEER / "pyctcdecode" / "libri_logits.json"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    logits = np.asarray(json.loads(path.read_text()), dtype=np.float64)
    lp = torch.log_softmax(torch.from_numpy(logits), dim=-1).clamp_min(math.log(1e-15)).numpy()
    labels = [" ", *"abcdefghijklmnopqrstuvwxyz", "'", ""]
    h = WordBeamSearchDecoder(labels, alpha=0.0, beta=0.0).decode(lp)[0][0]
    assert h.text == (
        "i have a good deal of will you remember and what i have set my mind upon no doubt "
        "i shall some day achieve"
    )
    assert len(h.word_spans) == len(h.words)


@given(
    st.lists(st.lists(st.integers(0, 4), max_size=6), max_size=15),
)
def test_the_flat_trie_holds_every_prefix_once(seqs: list[list[int]]) -> None:
    """The word tries against a set of prefixes: one node per distinct prefix, each
    sequence's walk ends at its end node, children sorted and numbered after parents."""
    from ctckit.decode._word_tables import build_trie, build_word_trie

    trie = build_trie(seqs)
    prefixes = {tuple(q[:k]) for q in seqs for k in range(len(q) + 1)} | {()}
    assert len(trie.depth) == len(prefixes)
    for k, q in enumerate(seqs):
        node = 0
        for x in q:
            lo, hi = trie.child_start[node], trie.child_start[node + 1]
            labels = trie.child_label[lo:hi].tolist()
            assert labels == sorted(labels)
            node = int(trie.child_node[lo + labels.index(x)])
            assert trie.parent[node] < node
        assert node == trie.ends[k]
        assert trie.depth[node] == len(q)
    words = ["".join("abcdé"[x] for x in q) for q in seqs]
    as_words = build_word_trie(words)
    codes = build_trie([[ord(ch) for ch in w] for w in words])
    assert all(np.array_equal(a, b) for a, b in zip(as_words, codes))
