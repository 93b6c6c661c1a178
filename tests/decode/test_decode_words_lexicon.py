"""WordBeamSearchDecoder through a pronunciation lexicon.

Oracles: the brute force of ``word_reference`` (every labelling and every reading of it
into lexicon words, unknown words and silences, scored with ``F.ctc_loss`` and KenLM's
whole-sentence score) and its plain-Python beam search.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from word_reference import (
    RefLM,
    WordSpec,
    best_alignment_log_prob,
    brute_force_best,
    ctc_log_prob,
    reference_word_search,
)

from ctckit.decode import WordBeamSearchDecoder, WordHypothesis

pytestmark = pytest.mark.usefixtures("words_kernel")

PHONES = ["", "f", "o", "b", "|"]  # blank, three phones, a silence
# homophones ("fo"/"foe"), a word that prefixes others ("fo" < "fob"), a doubled phone
LEXICON = {
    "fo": ["f o"],
    "foe": ["f o"],
    "fob": ["f o b"],
    "of": ["o f"],
    "bob": ["b o b"],
    "boo": ["b o o", "b o"],
    "ob": ["o b"],
}
PEER = Path(__file__).resolve().parents[3] / "shared" / "peer_assets"


@pytest.fixture(scope="module")
def words_kernel() -> None:
    pytest.importorskip("ctckit.decode._kernels.search")


def log_probs(seed: int, time: int, vocab: int, scale: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(time, vocab)) * scale
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def token_lexicon(lexicon: dict[str, list[str]], labels: list[str]) -> dict[str, list[tuple]]:
    return {w: [tuple(labels.index(p) for p in pron.split()) for pron in prons]
            for w, prons in lexicon.items()}  # fmt: skip


def spec(lexicon: dict[str, list[str]], lm: RefLM | None = None, **kw: object) -> WordSpec:
    return WordSpec(labels=PHONES, blank=0, lm=lm, lexicon=token_lexicon(lexicon, PHONES),
                    **kw)  # type: ignore[arg-type]  # fmt: skip


def decoder(lexicon: dict[str, list[str]], **kw: object) -> WordBeamSearchDecoder:
    kw.setdefault("num_threads", 1)
    return WordBeamSearchDecoder(PHONES, lexicon=lexicon, **kw)  # type: ignore[arg-type]


def as_tuple(h: WordHypothesis) -> tuple:
    return (h.tokens, h.words, tuple((s.word, s.start, s.end) for s in h.word_spans))


LEX_OPTIONS = st.fixed_dictionaries(
    {
        "beta": st.sampled_from([0.0, 0.8, -0.5]),
        "word_score": st.sampled_from([0.0, 0.3]),
        "unk_word": st.sampled_from([None, "<unk>"]),
        "unk_score_offset": st.sampled_from([-10.0, -0.5]),
        "sil": st.booleans(),
        "sil_score": st.sampled_from([0.0, -0.7, 0.4]),
        "hotwords": st.sampled_from([(), ("of",), ("bob", "fo")]),
        "hotword_weight": st.sampled_from([10.0, 0.75]),
    }
)


def split(opts: dict) -> tuple[dict, dict]:
    """The options as the decoder and as the reference take them."""
    dec = dict(opts)
    use_sil = dec.pop("sil")
    ref = dict(dec)
    dec["sil_token"] = "|" if use_sil else None
    ref["sil"] = 4 if use_sil else None
    return dec, ref


@given(
    seed=st.integers(0, 10_000),
    time=st.integers(1, 12),
    width=st.integers(1, 12),
    top_n=st.integers(1, 3),
    prune=st.sampled_from([None, -3.0]),
    tmin=st.sampled_from([None, -2.5, -1.0]),
    prune_blank=st.sampled_from([None, True, False]),
    opts=LEX_OPTIONS,
)
def test_the_kernel_equals_the_reference(
    seed: int, time: int, width: int, top_n: int, prune: float | None, tmin: float | None,
    prune_blank: bool | None, opts: dict,
) -> None:  # fmt: skip
    """``prune_blank=None`` with a lexicon: the blank is not pruned."""
    dec_opts, ref_opts = split(opts)
    top_n = min(top_n, width)
    lp = log_probs(seed, time, len(PHONES))
    got = decoder(
        LEXICON, alpha=0.0, beam_width=width, top_n=top_n, token_min_logp=tmin,
        beam_prune_logp=prune, prune_blank=prune_blank, **dec_opts,
    ).decode(lp)[0]  # fmt: skip
    ref = reference_word_search(lp, spec(LEXICON, alpha=0.0, **ref_opts), width, top_n, tmin, prune,
                                prune_blank=bool(prune_blank))  # fmt: skip
    assert [as_tuple(h) for h in got] == [(r.tokens, r.words, r.word_spans) for r in ref]
    for h, r in zip(got, ref):
        assert h.score == pytest.approx(r.score, abs=1e-9)
        assert h.acoustic_score == pytest.approx(r.acoustic_score, abs=1e-9)
        assert h.lm_score == pytest.approx(r.lm_score, abs=1e-9)


WIDE = ["", *(f"x{i}" for i in range(66)), "f", "o", "b", "|"]  # the phones' ids above 64


@given(seed=st.integers(0, 10_000), time=st.integers(1, 10), width=st.integers(1, 12),
       opts=LEX_OPTIONS)  # fmt: skip
def test_labels_from_64_on_find_trie_children_by_search(
    seed: int, time: int, width: int, opts: dict
) -> None:
    """Labels below 64 find a trie node's child from a bit mask, more by a binary search:
    both against the reference."""
    dec_opts, ref_opts = split(opts)
    ref_opts["sil"] = WIDE.index("|") if ref_opts["sil"] is not None else None
    lp = log_probs(seed, time, len(WIDE))
    # a beam bound that no sum of the options' values hits: with the default -10 and
    # unk_score_offset=-10 an <unk> reading sits exactly on the bound, kept or dropped by
    # the rounding of two different summation orders
    prune = -9.7
    dec = WordBeamSearchDecoder(WIDE, lexicon=LEXICON, alpha=0.0, beam_width=width,
                                top_n=min(2, width), num_threads=1, beam_prune_logp=prune,
                                **dec_opts)  # type: ignore[arg-type]  # fmt: skip
    assert dec._kernel(len(WIDE)).scorer.child_mask.shape == (0,)
    got = dec.decode(lp)[0]
    wide = WordSpec(labels=WIDE, blank=0, lm=None, lexicon=token_lexicon(LEXICON, WIDE),
                    alpha=0.0, **ref_opts)  # type: ignore[arg-type]  # fmt: skip
    ref = reference_word_search(lp, wide, width, min(2, width), -5.0, prune, prune_blank=False)
    assert [as_tuple(h) for h in got] == [(r.tokens, r.words, r.word_spans) for r in ref]


def non_blank_pruned(lp: np.ndarray, tmin: float, blank: int = 0) -> np.ndarray:
    """``lp`` with each frame's non-blank entries below ``tmin`` set to ``-inf``, but the
    frame's best entry (the first on ties) when none reaches ``tmin``."""
    out = np.where(lp >= tmin, lp, -np.inf)
    out[:, blank] = lp[:, blank]
    none = ~(lp >= tmin).any(axis=1)
    best = np.argmax(lp, axis=1)
    out[none, best[none]] = lp[none, best[none]]
    return out


@given(
    seed=st.integers(0, 10_000),
    time=st.integers(1, 40),
    width=st.sampled_from([1, 3, 10, 50]),
    tmin=st.sampled_from([-0.3, -1.0, -2.0, -4.0]),
    scale=st.sampled_from([2.0, 6.0]),
    merge=st.sampled_from(["sum", "max"]),
    opts=LEX_OPTIONS,
)
def test_keeping_the_blank_is_the_search_of_the_non_blank_pruned_input(
    seed: int, time: int, width: int, tmin: float, scale: float, merge: str, opts: dict
) -> None:
    """The lexicon default: token pruning that keeps the blank whole decodes as the
    unpruned search of the input whose other entries below ``tmin`` are ``-inf`` (blank
    runs included: a frame where only the blank is kept takes the blank-run path)."""
    dec_opts, _ = split(opts)
    lp = log_probs(seed, time, len(PHONES), scale=scale)
    common = {"alpha": 0.0, "beam_width": width, "top_n": min(3, width), "merge": merge,
              "beam_prune_logp": -6.0, **dec_opts}  # fmt: skip
    got = decoder(LEXICON, token_min_logp=tmin, **common).decode(lp)[0]
    ref = decoder(LEXICON, token_min_logp=None, **common).decode(non_blank_pruned(lp, tmin))[0]
    assert [as_tuple(h) for h in got] == [as_tuple(h) for h in ref]
    for h, r in zip(got, ref):
        assert h.score == pytest.approx(r.score, abs=1e-9)
        assert h.acoustic_score == pytest.approx(r.acoustic_score, abs=1e-9)


def test_the_blank_is_kept_by_default_with_a_lexicon_only() -> None:
    """The phone "o" held two frames, then a frame whose blank is below ``token_min_logp`` (-5) but
    "f" (no word's start) above it, then "o": only a kept blank lets "o" be read twice."""
    lp = np.full((4, len(PHONES)), -9.0)
    lp[0, 2] = lp[1, 2] = lp[3, 2] = 0.0  # o o _ o
    lp[2, 1], lp[2, 0] = -1.0, -6.0  # f, and the blank below the threshold
    lex = {"o": ["o"], "oo": ["o o"]}
    kept = decoder(lex, alpha=0.0, beta=0.0, beam_width=10).decode(lp)[0][0]
    pruned = decoder(lex, alpha=0.0, beta=0.0, beam_width=10, prune_blank=True).decode(lp)[0][0]
    assert kept.tokens == (2, 2)
    (summed,) = ctc_log_prob(non_blank_pruned(lp, -5.0), [(2, 2)], 0).tolist()
    assert kept.acoustic_score == pytest.approx(summed, abs=1e-9)
    assert pruned.score == -np.inf  # "o" pruned in frame 2, and "f" starts no word
    assert WordBeamSearchDecoder(PHONES, lexicon=lex).prune_blank is False
    assert WordBeamSearchDecoder(PHONES, word_delimiter="|").prune_blank is True


@given(seed=st.integers(0, 10_000), opts=LEX_OPTIONS)
def test_an_exhaustive_search_finds_the_best_reading(seed: int, opts: dict) -> None:
    dec_opts, ref_opts = split(opts)
    lp = log_probs(seed, 4, len(PHONES))
    h = decoder(
        LEXICON, alpha=0.0, beam_width=5000, token_min_logp=None, beam_prune_logp=None,
        **dec_opts,
    ).decode(lp)[0][0]  # fmt: skip
    best, ties = brute_force_best(lp, spec(LEXICON, alpha=0.0, **ref_opts), tol=1e-9)
    assert h.score == pytest.approx(best, abs=1e-9)
    assert (h.tokens, h.words) in {(t, w) for _, t, w in ties}


@given(seed=st.integers(0, 10_000), opts=LEX_OPTIONS)
def test_max_merging_finds_the_best_single_alignment(seed: int, opts: dict) -> None:
    """``merge="max"`` (flashlight's ``log_add=False``): the best reading of the best
    alignment of any labelling (every path enumerated)."""
    dec_opts, ref_opts = split(opts)
    lp = log_probs(seed, 4, len(PHONES))
    h = decoder(
        LEXICON, alpha=0.0, beam_width=5000, token_min_logp=None, beam_prune_logp=None,
        merge="max", **dec_opts,
    ).decode(lp)[0][0]  # fmt: skip
    best, ties = brute_force_best(lp, spec(LEXICON, alpha=0.0, **ref_opts), tol=1e-9,
                                  merge="max")  # fmt: skip
    assert h.score == pytest.approx(best, abs=1e-9)
    assert (h.tokens, h.words) in {(t, w) for _, t, w in ties}
    (viterbi,) = best_alignment_log_prob(lp, [h.tokens], 0).tolist()
    assert h.acoustic_score == pytest.approx(viterbi, abs=1e-9)


@given(
    seed=st.integers(0, 10_000),
    time=st.integers(1, 40),
    width=st.sampled_from([1, 4, 16, 100]),
    sil=st.booleans(),
    unk=st.booleans(),
)
def test_every_word_is_a_lexicon_word_and_spans_are_ordered(
    seed: int, time: int, width: int, sil: bool, unk: bool
) -> None:
    lp = log_probs(seed, time, len(PHONES), scale=3.0)
    hyps = decoder(
        LEXICON, beam_width=width, top_n=min(3, width), sil_token="|" if sil else None,
        unk_word="<unk>" if unk else None,
    ).decode(lp)[0]  # fmt: skip
    allowed = set(LEXICON) | ({"<unk>"} if unk else set())
    for h in hyps:
        assert set(h.words) <= allowed
        end = 0
        for span in h.word_spans:
            assert end <= span.start < span.end <= time
            end = span.end


ONE_EACH = {"fob": ["f o b"], "of": ["o f"], "bo": ["b o"], "o": ["o"]}


@given(seed=st.integers(0, 10_000), time=st.integers(1, 30), sil=st.booleans())
def test_with_one_pronunciation_each_the_tokens_spell_the_words(
    seed: int, time: int, sil: bool
) -> None:
    lp = log_probs(seed, time, len(PHONES), scale=3.0)
    h = decoder(ONE_EACH, alpha=0.0, sil_token="|" if sil else None, beam_width=20)
    out = h.decode(lp)[0][0]
    if out.score == -np.inf:  # no kept prefix ended at a word boundary
        return
    spelled = [PHONES.index(p) for w in out.words for p in ONE_EACH[w][0].split()]
    assert [t for t in out.tokens if not (sil and t == 4)] == spelled


def test_homophones_are_kept_apart() -> None:
    lp = np.full((3, len(PHONES)), -20.0)
    lp[0, 1] = lp[1, 2] = lp[2, 0] = 0.0  # "f o"
    hyps = decoder(LEXICON, alpha=0.0, beta=0.0, top_n=3).decode(lp)[0]
    assert [h.words for h in hyps[:2]] == [("fo",), ("foe",)]
    assert hyps[0].score == hyps[1].score
    assert hyps[0].tokens == hyps[1].tokens == (1, 2)


def test_a_silence_may_stand_between_words_and_pays_its_score() -> None:
    frames = ["o", "f", "|", "|", "", "b", "o", "b"]
    lp = np.full((len(frames), len(PHONES)), -20.0)
    for t, p in enumerate(frames):
        lp[t, PHONES.index(p)] = 0.0
    h = decoder(LEXICON, alpha=0.0, beta=0.0, sil_token="|", sil_score=-0.25).decode(lp)[0][0]
    assert h.words == ("of", "bob")
    assert h.tokens == (2, 1, 4, 3, 2, 3)
    assert h.score == pytest.approx(h.acoustic_score - 0.25)
    assert [(s.start, s.end) for s in h.word_spans] == [(0, 2), (5, 8)]
    # without a silence token "|" spells nothing: the two frames are read as (kept) blanks
    h = decoder(LEXICON, alpha=0.0, beta=0.0).decode(lp)[0][0]
    assert (h.words, h.tokens, h.score) == (("of", "bob"), (2, 1, 3, 2, 3), -40.0)
    # or, the blank pruned there too, not at all
    h = decoder(LEXICON, alpha=0.0, beta=0.0, prune_blank=True).decode(lp)[0][0]
    assert h.score == -np.inf


def test_an_unknown_word_ends_a_partial_pronunciation() -> None:
    lp = np.full((2, len(PHONES)), -20.0)
    lp[0, 3] = lp[1, 0] = 0.0  # "b": no word is "b" alone, but "bob" and "boo" start so
    assert decoder(LEXICON, alpha=0.0).decode(lp)[0][0].score == -np.inf
    h = decoder(LEXICON, alpha=0.5, beta=0.0, unk_word="<unk>", unk_score_offset=-1.0)
    out = h.decode(lp)[0][0]
    assert out.words == ("<unk>",)
    assert out.score == pytest.approx(out.acoustic_score + 0.5 * out.lm_score)
    assert out.lm_score == pytest.approx(-1.0 * np.log(10))


def test_a_lexicon_object_reads_by_token_text() -> None:
    """A ctckit.lm.Lexicon over another token order gives the same decoder as the mapping."""
    from ctckit.lm import Lexicon

    lex = Lexicon.from_dict(LEXICON, tokens=["|", "b", "o", "f", ""])
    lp = log_probs(3, 9, len(PHONES), scale=3.0)
    a = decoder(LEXICON, top_n=3, beam_width=8, sil_token="|").decode(lp)
    b = decoder(lex, top_n=3, beam_width=8, sil_token="|").decode(lp)  # type: ignore[arg-type]
    assert a == b


def test_torchaudio_assets_decode() -> None:
    """torchaudio's decoder test assets: lexicon entries end with the silence token."""
    root = PEER / "torchaudio"
    if not (root / "lexicon.txt").exists():
        pytest.skip(f"{root} is absent")
    tokens = (root / "tokens.txt").read_text().split()
    lexicon = {}
    for line in (root / "lexicon.txt").read_text().splitlines():
        word, *pron = line.split()
        lexicon.setdefault(word, []).append(pron)
    frames = ["f", "o", "-", "o", "|", "b", "a", "r", "|", "|"]
    lp = np.full((len(frames), len(tokens)), -15.0)
    for t, p in enumerate(frames):
        lp[t, tokens.index(p)] = 0.0
    dec = WordBeamSearchDecoder(
        tokens, lexicon=lexicon, blank=tokens.index("-"), sil_token="|", alpha=0.0, beta=0.0
    )
    h = dec.decode(lp)[0][0]
    assert h.words == ("foo", "bar")
    assert [(s.start, s.end) for s in h.word_spans] == [(0, 5), (5, 10)]  # "|" included
