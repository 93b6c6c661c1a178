"""WordBeamSearchDecoder with a word n-gram LM (``ctckit.lm.WordNGramLM``).

Oracles: KenLM itself (``kenlm.Model``, in the test environment) through the plain-Python
search and the brute force of ``word_reference``, which score words with KenLM's states
and whole sentences with KenLM's ``score``; never the kernel's own LM code.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from word_reference import (
    RefLM,
    WordSpec,
    brute_force_best,
    reference_word_search,
    write_random_arpa,
)

from ctckit.decode import WordBeamSearchDecoder, WordHypothesis
from ctckit.errors import InputValueError

pytest.importorskip("kenlm")
lm_package = pytest.importorskip("ctckit.lm")
if not hasattr(lm_package, "WordNGramLM"):
    pytest.skip("ctckit.lm.WordNGramLM is not there yet", allow_module_level=True)
WordNGramLM = lm_package.WordNGramLM

pytestmark = pytest.mark.usefixtures("words_kernel")

CHARS = ["", "a", "b", " "]
BPE = ["▁a", "b", "▁b", "a", ""]
PHONES = ["", "f", "o", "b", "|"]
# "zz" is not in the LM: scored as <unk>
LEXICON = {"fo": ["f o"], "foe": ["f o"], "fob": ["f o b"], "of": ["o f"], "bob": ["b o b"],
           "ob": ["o b"], "zz": ["b b"]}  # fmt: skip
PEER = Path(__file__).resolve().parents[3] / "shared" / "peer_assets"
TOL = 2e-5  # KenLM keeps float32 log10s; sums differ in the last bits


@pytest.fixture(scope="module")
def words_kernel() -> None:
    pytest.importorskip("ctckit.decode._kernels.search")


@pytest.fixture(scope="module")
def arpas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Random well-formed ARPA files (orders 2 and 3: KenLM reads no unigram model)."""
    root = tmp_path_factory.mktemp("arpa")
    out = {}
    for name, words, order in [
        ("chars3", ["a", "b", "ab", "ba", "aa"], 3),
        ("chars2", ["a", "b", "ab", "bb"], 2),
        ("lex3", ["fo", "foe", "fob", "of", "bob", "ob"], 3),
    ]:
        path = str(root / f"{name}.arpa")
        write_random_arpa(path, words, order, seed=len(out) + 7)
        out[name] = path
    return out


def log_probs(seed: int, time: int, vocab: int, scale: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(time, vocab)) * scale
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def as_tuple(h: WordHypothesis) -> tuple:
    return (h.tokens, h.words, tuple((s.word, s.start, s.end) for s in h.word_spans))


def same(got: list[WordHypothesis], ref: list) -> None:
    assert [as_tuple(h) for h in got] == [(r.tokens, r.words, r.word_spans) for r in ref]
    for h, r in zip(got, ref):
        assert h.score == pytest.approx(r.score, abs=TOL)
        assert h.acoustic_score == pytest.approx(r.acoustic_score, abs=1e-9)
        assert h.lm_score == pytest.approx(r.lm_score, abs=TOL)


FREE = st.fixed_dictionaries(
    {
        "alpha": st.sampled_from([0.5, 1.3]),
        "beta": st.sampled_from([0.0, 1.5]),
        "unk_score_offset": st.sampled_from([-10.0, -1.0]),
        "hotwords": st.sampled_from([(), ("ab",)]),
        "hotword_weight": st.sampled_from([10.0, 0.5]),
        "lm_score_boundary": st.booleans(),
    }
)


@settings(max_examples=40)
@given(
    seed=st.integers(0, 10_000),
    time=st.integers(1, 12),
    width=st.integers(1, 10),
    prune=st.sampled_from([None, -4.0]),
    tmin=st.sampled_from([None, -3.0]),
    arpa=st.sampled_from(["chars3", "chars2"]),
    unigrams=st.sampled_from([None, ("a", "ab")]),
    bpe=st.booleans(),
    opts=FREE,
)
def test_the_kernel_equals_the_reference_with_kenlm(
    arpas: dict[str, str], seed: int, time: int, width: int, prune: float | None,
    tmin: float | None, arpa: str, unigrams: tuple | None, bpe: bool, opts: dict,
) -> None:  # fmt: skip
    labels = BPE if bpe else CHARS
    lp = log_probs(seed, time, len(labels))
    got = WordBeamSearchDecoder(
        labels, lm=arpas[arpa], unigrams=unigrams, beam_width=width, top_n=min(2, width),
        token_min_logp=tmin, beam_prune_logp=prune, num_threads=1, **opts,
    ).decode(lp)[0]  # fmt: skip
    boundary = opts.pop("lm_score_boundary")
    spec = WordSpec(
        labels=labels, blank=labels.index(""), delimiter=None if bpe else 3,
        lm=RefLM(arpas[arpa], boundary), unigrams=unigrams, **opts,
    )  # fmt: skip
    same(got, reference_word_search(lp, spec, width, min(2, width), tmin, prune))


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), arpa=st.sampled_from(["chars3", "chars2"]), opts=FREE)
def test_an_exhaustive_search_finds_the_best_labelling_under_kenlm(
    arpas: dict[str, str], seed: int, arpa: str, opts: dict
) -> None:
    lp = log_probs(seed, 4, 4)
    h = WordBeamSearchDecoder(
        CHARS, lm=arpas[arpa], beam_width=2000, token_min_logp=None, beam_prune_logp=None,
        num_threads=1, **opts,
    ).decode(lp)[0][0]  # fmt: skip
    boundary = opts.pop("lm_score_boundary")
    spec = WordSpec(labels=CHARS, blank=0, delimiter=3, lm=RefLM(arpas[arpa], boundary), **opts)
    best, ties = brute_force_best(lp, spec, tol=TOL)
    assert h.score == pytest.approx(best, abs=TOL)
    assert (h.tokens, h.words) in {(t, w) for _, t, w in ties}


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), time=st.integers(1, 25), width=st.sampled_from([3, 30]))
def test_lm_scores_are_kenlms(arpas: dict[str, str], seed: int, time: int, width: int) -> None:
    """Each hypothesis's lm_score is KenLM's whole-sentence score (ln), with the offset
    of each unknown word; its score adds alpha, beta and the acoustics."""
    import kenlm

    model = kenlm.Model(arpas["chars3"])
    lp = log_probs(seed, time, 4)
    dec = WordBeamSearchDecoder(CHARS, lm=arpas["chars3"], unigrams=["a", "ab", "b"],
                                alpha=0.7, beta=0.4, unk_score_offset=-3.0, beam_width=width,
                                top_n=3, num_threads=1)  # fmt: skip
    for h in dec.decode(lp)[0]:
        unknown = sum(w not in {"a", "ab", "b"} for w in h.words)
        expected = (model.score(h.text, bos=True, eos=True) - 3.0 * unknown) * math.log(10)
        assert h.lm_score == pytest.approx(expected, abs=TOL)
        assert h.score == pytest.approx(h.acoustic_score + 0.7 * h.lm_score + 0.4 * len(h.words))


@settings(max_examples=30)
@given(
    seed=st.integers(0, 10_000),
    time=st.integers(1, 10),
    width=st.integers(1, 10),
    unk=st.booleans(),
    sil=st.booleans(),
)
def test_lexicon_decoding_with_kenlm_equals_the_reference(
    arpas: dict[str, str], seed: int, time: int, width: int, unk: bool, sil: bool
) -> None:
    lp = log_probs(seed, time, len(PHONES))
    kw = {"alpha": 0.8, "beta": 0.5, "unk_score_offset": -2.0, "sil_score": -0.3}
    got = WordBeamSearchDecoder(
        PHONES, lexicon=LEXICON, lm=arpas["lex3"], beam_width=width, top_n=min(2, width),
        unk_word="<unk>" if unk else None, sil_token="|" if sil else None, num_threads=1,
        token_min_logp=None, beam_prune_logp=None, **kw,
    ).decode(lp)[0]  # fmt: skip
    lex = {w: [tuple(PHONES.index(p) for p in pron.split()) for pron in prons]
           for w, prons in LEXICON.items()}  # fmt: skip
    spec = WordSpec(labels=PHONES, blank=0, lm=RefLM(arpas["lex3"]), lexicon=lex,
                    unk_word="<unk>" if unk else None, sil=4 if sil else None, **kw)  # fmt: skip
    same(got, reference_word_search(lp, spec, width, min(2, width)))


def test_unigrams_must_be_lm_words(arpas: dict[str, str]) -> None:
    with pytest.raises(InputValueError, match=r"1 of 2 unigrams .* \['zz'\]"):
        WordBeamSearchDecoder(CHARS, lm=arpas["chars3"], unigrams=["ab", "zz"])


def test_an_lm_object_or_its_path() -> None:
    path = PEER / "pyctcdecode" / "bugs_bunny_kenlm.arpa"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    labels = [" ", "b", "g", "n", "s", "u", "y", ""]
    a = WordBeamSearchDecoder(labels, lm=str(path)).decode(bugs_bunny(labels))
    b = WordBeamSearchDecoder(labels, lm=WordNGramLM.from_arpa(path)).decode(bugs_bunny(labels))
    assert a == b


def bugs_bunny(labels: list[str]) -> np.ndarray:
    """pyctcdecode's test posteriors: 'bunny bunny' by the frames, 'bugs bunny' by its LM."""
    index = {c: i for i, c in enumerate(labels)}

    def frames(chars: list[str]) -> np.ndarray:
        out = np.zeros((len(chars), len(labels)))
        for t, c in enumerate(chars):
            out[t, index[c]] = 1.0
        return out

    bugs = frames(["b", "u", "g", "s", "", ""])
    bunny = frames(["b", "u", "n", "", "n", "y"])
    probs = np.vstack([bugs * 0.49 + bunny * 0.51, frames([" "]), bunny])
    return np.log(np.clip(probs, 1e-15, 1.0))


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"alpha": 0.0}, "bunny bunny"),
        ({"alpha": 1.0}, "bugs bunny"),
        ({"alpha": 1.0, "unigrams": ["bunny"], "unk_score_offset": 0.0}, "bugs bunny"),
        ({"alpha": 1.0, "unigrams": ["bunny"], "unk_score_offset": -10.0}, "bunny bunny"),
        ({"hotwords": ["bunny"], "hotword_weight": 20.0}, "bunny bunny"),
        ({"hotwords": ["bugs bunny"], "hotword_weight": 20.0}, "bugs bunny"),
    ],
)
def test_pyctcdecode_cases(kwargs: dict, text: str) -> None:
    """pyctcdecode's own decoder test cases (its sample labels, posteriors and ARPA)."""
    path = PEER / "pyctcdecode" / "bugs_bunny_kenlm.arpa"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    labels = [" ", "b", "g", "n", "s", "u", "y", ""]
    dec = WordBeamSearchDecoder(labels, lm=str(path), **kwargs)
    h = dec.decode(bugs_bunny(labels))[0][0]
    assert h.text == text
    if text == "bugs bunny":
        assert [(s.word, s.start, s.end) for s in h.word_spans] == [("bugs", 0, 4),
                                                                    ("bunny", 7, 13)]  # fmt: skip
