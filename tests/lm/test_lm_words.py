"""Tests for ctckit.lm.words: the word n-gram store, against KenLM and independent references.

Oracles: ``kenlm.Model`` (scores, per-word n-gram lengths and unknown flags, on
every peer ARPA file and on files ctckit writes), :func:`lm_reference.reference_prob`
(the smoothing formulas, for :meth:`WordNGramLM.fit`) and :class:`NGramLM`'s dense
automaton (an independent backoff evaluation, for files KenLM refuses).
"""

from __future__ import annotations

import gzip
import math
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lm_reference import read_unigram_words, reference_prob

from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.lm import NGramLM, WordNGramLM

MARKERS = ["<s>", "</s>", "<unk>"]
UNKNOWN = ["zzunknown", "ÿnot-there", "x"]


@cache
def _peer_models(path: Path) -> tuple[WordNGramLM, list[str]]:
    return WordNGramLM.from_arpa(path), read_unigram_words(path)


def _assert_like_kenlm(
    lm: WordNGramLM, model: object, words: list[str], bos: bool, eos: bool
) -> None:
    text = " ".join(words)
    theirs = model.score(text, bos=bos, eos=eos)  # type: ignore[attr-defined]
    assert lm.score(text, bos=bos, eos=eos) == pytest.approx(theirs, abs=1e-4), text
    ours = lm.full_scores(words, bos=bos, eos=eos)
    kl = list(model.full_scores(text, bos=bos, eos=eos))  # type: ignore[attr-defined]
    assert len(ours) == len(kl)
    for (p, n, oov), (kp, kn, koov) in zip(ours, kl):
        assert p == pytest.approx(kp, abs=1e-4), text
        assert (n, oov) == (kn, koov), text


# ---------------------------------------------------------------------------
# KenLM's scores on the peers' ARPA files
# ---------------------------------------------------------------------------


@settings(max_examples=60)
@given(data=st.data())
def test_scores_equal_kenlm_on_every_peer_arpa(
    peer_arpa: Path, kenlm: ModuleType, data: st.DataObject
) -> None:
    """Random sentences of the file's words, unknown words and markers, with and without
    <s> and </s>: total, per-word log10, n-gram length and unknown flag all as KenLM."""
    lm, vocab = _peer_models(peer_arpa)
    model = _kenlm_model(kenlm, peer_arpa)
    words = data.draw(st.lists(st.sampled_from(vocab + MARKERS + UNKNOWN), max_size=12))
    _assert_like_kenlm(lm, model, words, data.draw(st.booleans()), data.draw(st.booleans()))


@cache
def _kenlm_model(kenlm: ModuleType, path: Path) -> object:
    return kenlm.Model(str(path))


def test_kenlm_test_arpa_cases_by_hand() -> None:
    """kenlm's own test.arpa: <unk> n-grams, a missing suffix ("look a"), <s> inside."""
    path = Path(__file__).resolve().parents[2].parent / "shared/peer_assets/kenlm/test.arpa"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    lm = WordNGramLM.from_arpa(path)
    assert lm.ngram_counts == (37, 47, 11, 6, 4)
    # <unk> however <unk>: -0.4149733 - 1.995635, then the 2-gram -4, the 3-gram -6, and
    # </s> after it pays bo(<unk>) -20, bo(<unk> however <unk>) -12 and p(</s>) -1.029493
    scores = [p for p, _, _ in lm.full_scores("zz however yy")]
    assert scores == pytest.approx([-2.4106083, -4.0, -6.0, -33.029493], abs=1e-6)
    # "to look a": the file lists the 3-gram but not its suffix "look a"
    p = lm.full_scores("to look a", bos=False, eos=False)[2]
    assert p[:2] == (pytest.approx(-7.0), 3)
    # <s> inside a sentence is the word <s>, with its listed -99, after the backoffs of
    # "looking" and "<s> looking"
    p = lm.full_scores("looking <s> on")[1][0]
    assert p == pytest.approx(-0.4771212 - 0.4771214 - 99.0, abs=1e-5)


# ---------------------------------------------------------------------------
# files ctckit writes, read by KenLM
# ---------------------------------------------------------------------------


def _random_corpus(rng: np.random.Generator, n_words: int, n_sentences: int) -> list[str]:
    """Zipf-like word choice with some local order, so that longer n-grams repeat."""
    vocab = [f"w{i}" for i in range(n_words)]
    weights = 1.0 / np.arange(1, n_words + 1)
    weights /= weights.sum()
    out = []
    for _ in range(n_sentences):
        length = int(rng.integers(1, 12))
        ids = rng.choice(n_words, size=length, p=weights)
        for j in range(1, length):  # often the word after the previous one
            if rng.random() < 0.4:
                ids[j] = (ids[j - 1] + 1) % n_words
        out.append(" ".join(vocab[i] for i in ids))
    return out


@pytest.mark.parametrize(
    ("order", "smoothing"), [(2, "kneser-ney"), (3, "witten-bell"), (4, "kneser-ney")]
)
def test_fit_to_arpa_is_read_by_kenlm_with_equal_scores(
    tmp_path: Path, kenlm: ModuleType, order: int, smoothing: str
) -> None:
    rng = np.random.default_rng(order)
    corpus = _random_corpus(rng, 40, 300)
    lm = WordNGramLM.fit(corpus, order=order, smoothing=smoothing)  # type: ignore[arg-type]
    lm.to_arpa(tmp_path / "fit.arpa")
    model = kenlm.Model(str(tmp_path / "fit.arpa"))
    assert model.order == order
    back = WordNGramLM.from_arpa(tmp_path / "fit.arpa")
    assert back.ngram_counts == lm.ngram_counts
    vocab = [f"w{i}" for i in range(45)]  # five of them unseen
    for _ in range(100):
        words = [str(w) for w in rng.choice(vocab, size=int(rng.integers(0, 10)))]
        if rng.random() < 0.5:
            words = corpus[int(rng.integers(len(corpus)))].split()
        _assert_like_kenlm(lm, model, words, True, True)
        assert back.score(words) == pytest.approx(lm.score(words), abs=1e-5)


def test_ngrams_whose_suffixes_are_missing_score_like_kenlm(
    tmp_path: Path, kenlm: ModuleType
) -> None:
    """n-grams whose suffix the file omits (as in pruned SRILM files, or kenlm's test.arpa
    "to look a"): both readers complete the suffix by the backoff rule (KenLM's blanks)."""
    rng = np.random.default_rng(7)
    corpus = _random_corpus(rng, 25, 400)
    WordNGramLM.fit(corpus, order=4).to_arpa(tmp_path / "full.arpa")
    sections = _sections((tmp_path / "full.arpa").read_text())
    listed = {k: {tuple(g) for _, g, _ in v} for k, v in sections.items()}
    words = [w for (w,) in listed[1] if w not in MARKERS]
    added = 0
    for k in (3, 4):
        contexts = sorted(g for g in listed[k - 1] if g[-1] != "</s>")
        for i in rng.permutation(len(contexts))[:40]:
            gram = (*contexts[i], str(rng.choice(words)))
            if gram[1:] in listed[k - 1] or gram in listed[k]:
                continue  # its suffix is there: not the case tested
            prob = -float(rng.uniform(0.05, 2.0))
            sections[k].append((f"{prob}\t{' '.join(gram)}", list(gram), None))
            listed[k].add(gram)
            added += 1
    assert added > 30
    path = tmp_path / "suffixless.arpa"
    path.write_text(_join(sections))
    model = kenlm.Model(str(path))
    lm = WordNGramLM.from_arpa(path)
    for _ in range(200):
        sentence = corpus[int(rng.integers(len(corpus)))].split()
        if rng.random() < 0.5:  # walk through an added n-gram
            k = int(rng.choice([3, 4]))
            sentence = [*sentence[:2], *sections[k][-int(rng.integers(1, 20))][1]]
        _assert_like_kenlm(lm, model, sentence, True, True)


def test_missing_contexts_are_completed_like_the_backoff_rule(tmp_path: Path) -> None:
    """KenLM refuses a file whose n-gram's context is missing; ctckit completes it, and its
    scores equal NGramLM's dense backoff automaton (an independent evaluation) on it."""
    rng = np.random.default_rng(8)
    corpus = _random_corpus(rng, 12, 300)
    WordNGramLM.fit(corpus, order=3).to_arpa(tmp_path / "full.arpa")
    sections = _sections((tmp_path / "full.arpa").read_text())
    contexts = {tuple(g[:-1]) for _, g, _ in sections[3]}
    sections[2] = [e for e in sections[2] if tuple(e[1]) not in contexts or rng.random() < 0.6]
    assert len(sections[2]) < len(_sections((tmp_path / "full.arpa").read_text())[2])
    path = tmp_path / "no_contexts.arpa"
    path.write_text(_join(sections))
    lm = WordNGramLM.from_arpa(path)
    words = [w for _, (w,), _ in sections[1] if w not in MARKERS]
    mapping = {w: i for i, w in enumerate(words, start=1)}
    dense = NGramLM.from_arpa(path, mapping, vocab_size=len(words) + 1)
    for _ in range(200):
        sentence = [str(w) for w in rng.choice(words, size=int(rng.integers(0, 9)))]
        expected = dense.log_prob([mapping[w] for w in sentence]) / math.log(10)
        assert lm.score(sentence) == pytest.approx(expected, abs=1e-4)


def _sections(text: str) -> dict[int, list[tuple[str, list[str], None]]]:
    out: dict[int, list[tuple[str, list[str], None]]] = {}
    k = 0
    for line in text.splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            k = int(line[1:].split("-")[0])
            out[k] = []
        elif k and line.strip() and not line.startswith("\\"):
            fields = line.split("\t")
            out[k].append((line, fields[1].split(), None))
    return out


def _join(sections: dict[int, list[tuple[str, list[str], None]]]) -> str:
    head = ["\\data\\"] + [f"ngram {k}={len(v)}" for k, v in sections.items()]
    body = []
    for k, entries in sections.items():
        body += ["", f"\\{k}-grams:"] + [line for line, _, _ in entries]
    return "\n".join(head + body + ["", "\\end\\", ""])


# ---------------------------------------------------------------------------
# fit: the smoothing formulas
# ---------------------------------------------------------------------------


@settings(max_examples=25)
@given(
    corpus=st.lists(
        st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=8), min_size=1, max_size=8
    ),
    order=st.integers(2, 4),
    smoothing=st.sampled_from(["kneser-ney", "witten-bell"]),
    history=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=5),
)
def test_fit_equals_the_formulas_and_sums_to_one(
    corpus: list[list[str]], order: int, smoothing: str, history: list[str]
) -> None:
    lm = WordNGramLM.fit(corpus, order=order, smoothing=smoothing)  # type: ignore[arg-type]
    ids = {w: i for i, w in enumerate(lm.words)}
    n = len(ids) - 2  # <unk> and the corpus's words; the reference's blank is a dummy id
    ref = reference_prob([[ids[w] for w in s] for s in corpus], order, n + 1, n, smoothing)
    hist = [w if w in ids else "<unk>" for w in history]
    base = lm.score(hist, eos=False)
    total = 10 ** (lm.score(hist, eos=True) - base)
    assert total == pytest.approx(ref([ids[w] for w in hist], "</s>"), rel=1e-5)
    for w in lm.words:
        if w in ("<s>", "</s>"):
            continue
        p = 10 ** (lm.score([*hist, w], eos=False) - base)
        assert p == pytest.approx(ref([ids[w] for w in hist], ids[w]), rel=1e-5)
        total += p
    assert total == pytest.approx(1.0, abs=1e-5)


def test_fit_gives_unknown_words_the_unseen_mass() -> None:
    lm = WordNGramLM.fit(["a b c", "a b"], order=2)
    assert lm.words[0] == "<unk>"
    assert -3.0 < lm.score("zebra", bos=False, eos=False) < -0.5  # not KenLM's -100
    assert lm.score("zebra") == lm.score("<unk>") == lm.score("giraffe")


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(InputValueError, match="sentence 1, position 1: <s> is a sentence marker"):
        WordNGramLM.fit(["a b", ["c", "<s>"]], order=2)
    with pytest.raises(InputValueError, match="without whitespace"):
        WordNGramLM.fit([["a b"]], order=2)
    with pytest.raises(InputTypeError, match="sentence 0 must be a string"):
        WordNGramLM.fit([3], order=2)  # type: ignore[list-item]
    with pytest.raises(InputValueError, match="at least one sentence"):
        WordNGramLM.fit([], order=2)
    with pytest.raises(InputValueError, match=r"order must be in \[2, 6\]"):
        WordNGramLM.fit(["a"], order=7)
    with pytest.raises(InputValueError, match="smoothing must be"):
        WordNGramLM.fit(["a"], smoothing="good-turing")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# binary form
# ---------------------------------------------------------------------------


def test_save_load_round_trip_is_memory_mapped_and_equal(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    corpus = _random_corpus(rng, 30, 200)
    lm = WordNGramLM.fit(corpus, order=3)
    lm.save(tmp_path / "lm.bin")
    back = WordNGramLM.load(tmp_path / "lm.bin")
    assert repr(back) == repr(lm)
    assert back.words == lm.words
    t = back.kernel_tables
    assert not t.keys.flags.writeable
    assert isinstance(t.keys.base, memoryview) or t.keys.base is not None
    for sentence in [*corpus[:50], "w1 zz w2", ""]:
        assert back.score(sentence) == lm.score(sentence)
    assert back.spelling.walk([ord(c) for c in "w1"]) >= 0
    back.to_arpa(tmp_path / "again.arpa")  # a fitted model keeps its n-gram lists
    again = WordNGramLM.from_arpa(tmp_path / "again.arpa")
    assert again.score(corpus[0]) == pytest.approx(lm.score(corpus[0]), abs=1e-6)
    # a model read from ARPA is saved without its n-gram lists
    again.save(tmp_path / "again.bin")
    assert WordNGramLM.load(tmp_path / "again.bin").score(corpus[1]) == again.score(corpus[1])
    with pytest.raises(InputValueError, match="keeps no n-gram lists"):
        again.to_arpa(tmp_path / "x.arpa")


def test_binary_file_errors(tmp_path: Path) -> None:
    lm = WordNGramLM.fit(["a b", "b c"], order=2)
    good = tmp_path / "lm.bin"
    lm.save(good)
    data = good.read_bytes()
    (tmp_path / "short.bin").write_bytes(data[: len(data) - 100])
    with pytest.raises(DataError, match="truncated"):
        WordNGramLM.load(tmp_path / "short.bin")
    (tmp_path / "junk.bin").write_bytes(b"hello world, not a model")
    with pytest.raises(DataError, match="no CTCKITLM header"):
        WordNGramLM.load(tmp_path / "junk.bin")
    (tmp_path / "v9.bin").write_bytes(data[:8] + (9).to_bytes(4, "little") + data[12:])
    with pytest.raises(DataError, match="format version 9"):
        WordNGramLM.load(tmp_path / "v9.bin")
    (tmp_path / "bad_header.bin").write_bytes(data[:16] + b"#" + data[17:])
    with pytest.raises(DataError, match="corrupt header"):
        WordNGramLM.load(tmp_path / "bad_header.bin")
    with pytest.raises(DataError, match="cannot read"):
        WordNGramLM.load(tmp_path / "missing.bin")
    lm.to_arpa(tmp_path / "lm.arpa")
    with pytest.raises(DataError, match=r"ARPA text file: read it with WordNGramLM\.from_arpa"):
        WordNGramLM.load(tmp_path / "lm.arpa")
    with pytest.raises(DataError, match="a ctckit binary LM file"):
        WordNGramLM.from_arpa(good)


def test_kenlm_binary_file_gets_told_how_to_get_the_arpa(tmp_path: Path) -> None:
    """KenLM's build_binary output starts with this magic (kenlm/lm/binary_format.cc)."""
    path = tmp_path / "model.binary"
    path.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\0" + bytes(200))
    for read in (WordNGramLM.from_arpa, WordNGramLM.load, NGramLM.from_arpa):
        with pytest.raises(DataError, match="KenLM binary file") as info:
            read(path)  # type: ignore[operator]
        assert "cannot turn a binary file back into ARPA" in str(info.value)
        assert "lmplz" in str(info.value)


def test_gzip_arpa_reads(tmp_path: Path) -> None:
    lm = WordNGramLM.fit(["a b", "b c a"], order=3)
    lm.to_arpa(tmp_path / "lm.arpa")
    (tmp_path / "lm.arpa.gz").write_bytes(gzip.compress((tmp_path / "lm.arpa").read_bytes()))
    assert WordNGramLM.from_arpa(tmp_path / "lm.arpa.gz").score("a b c") == pytest.approx(
        lm.score("a b c"), abs=1e-6
    )


# ---------------------------------------------------------------------------
# ARPA errors of the word reader
# ---------------------------------------------------------------------------

GOOD = (
    "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-99\t<s>\t-0.2\n-0.4\thi\t-0.1\n"
    "-0.5\tyo\n-0.6\t</s>\n\n\\2-grams:\n-0.2\t<s> hi\n-0.3\thi yo\n\n\\end\\\n"
)


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (GOOD.replace("-0.3\thi yo", "-0.3\thi zz"), 13, "word 'zz' is not in the 1-grams"),
        (GOOD.replace("-0.3\thi yo", "-0.2\t<s> hi"), 13, "duplicate 2-gram '<s> hi'"),
        (GOOD.replace("-0.5\tyo", "-0.5\thi"), 8, "duplicate 1-gram 'hi'"),
        (GOOD.replace("-0.5\tyo", "0.25\tyo"), 8, "log10 probability must be <= 0, got 0.25"),
        (GOOD.replace("-0.6\t</s>", "-0.6\tyy"), 5, "no </s>"),
    ],
)
def test_word_reader_errors_name_the_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    path = tmp_path / "bad.arpa"
    path.write_text(text)
    with pytest.raises(DataError, match=what) as info:
        WordNGramLM.from_arpa(path)
    assert f"line {line}:" in str(info.value)


# ---------------------------------------------------------------------------
# words, spelling trie, kernel API
# ---------------------------------------------------------------------------


def test_word_ids_and_spelling_trie() -> None:
    lm = WordNGramLM.fit(["the then there", "thaw the"], order=2)
    ids = lm.word_ids(["the", "then", "there", "thaw", "nope", "<s>"])
    assert ids.tolist()[:4] == [lm.words.index(w) for w in ("the", "then", "there", "thaw")]
    assert (ids[4], ids[5]) == (lm.unk_id, lm.bos_id)
    assert ("the" in lm, "nope" in lm, "<unk>" in lm) == (True, False, True)
    trie = lm.spelling
    th = trie.walk([ord("t"), ord("h")])
    assert th > 0
    assert trie.values_of(th) == ()
    assert trie.values_of(trie.walk([ord(c) for c in "the"])) == (lm.word_id("the"),)
    assert trie.walk([ord(c) for c in "thx"]) == -1
    assert trie.walk([ord(c) for c in "<s>"]) == -1  # markers are not spelled
    # every word is found where its spelling ends, and nowhere else
    found = {trie.values_of(i)[0] for i in range(trie.num_nodes) if trie.values_of(i)}
    assert found == {lm.word_id(w) for w in ("the", "then", "there", "thaw")}
    with pytest.raises(InputTypeError, match="words must be strings"):
        lm.word_ids(["a", 3])  # type: ignore[list-item]


def test_unicode_words(tmp_path: Path, kenlm: ModuleType) -> None:
    corpus = ["größe straße", "日本 語 日本", "ça va", "straße ça"]
    lm = WordNGramLM.fit(corpus, order=2)
    lm.to_arpa(tmp_path / "u.arpa")
    model = kenlm.Model(str(tmp_path / "u.arpa"))
    for s in [*corpus, "語 straße nope"]:
        _assert_like_kenlm(lm, model, s.split(), True, True)
    trie = lm.spelling
    assert trie.values_of(trie.walk([ord(c) for c in "straße"])) == (lm.word_id("straße"),)


def test_kernel_functions_walk_a_sentence_like_score() -> None:
    """The kernel-side API a word decoder calls: begin_state, score_word, end_score."""
    from ctckit.lm import _word_kernels as K

    rng = np.random.default_rng(10)
    corpus = _random_corpus(rng, 20, 200)
    lm = WordNGramLM.fit(corpus, order=4)
    t = lm.kernel_tables
    slots = t.order - 1
    for sentence in [*corpus[:40], "w3 nope w3 w3"]:
        words = np.zeros(slots, np.int32)
        backoffs = np.zeros(slots, np.float32)
        length = K.begin_state(t, words, backoffs)
        total = 0.0
        for w in lm.word_ids(sentence.split()):
            out_w, out_b = np.zeros(slots, np.int32), np.zeros(slots, np.float32)
            lp, length = K.score_word(t, words, backoffs, length, w, out_w, out_b)
            total += lp
            words, backoffs = out_w, out_b
        total += K.end_score(t, words, backoffs, length)
        assert total / math.log(10) == pytest.approx(lm.score(sentence), abs=1e-4)
        assert 0 <= length <= slots
    # equal states (same words up to length) give equal futures; the key hashes them
    a, b = np.array([5, 7, 9], np.int32), np.array([5, 7, 1], np.int32)
    assert K.state_key(a, 2) == K.state_key(b, 2) != K.state_key(a, 3)


@settings(max_examples=40)
@given(data=st.data())
def test_states_are_equal_when_kenlms_are_and_merge_exactly(
    peer_arpa: Path, kenlm: ModuleType, data: st.DataObject
) -> None:
    """The state design is KenLM's right-state minimisation: two histories whose KenLM states
    compare equal get equal (length, words[:length]); where ours are equal and KenLM's are
    not, KenLM scores every continuation of up to two words alike from both, so merging on
    ours is exact. (KenLM minimises less in one case: with no ``<unk>`` in the file,
    ``test_nounk.arpa``, it keeps ``</s>`` and ``baz``, whose backoff is an explicit
    ``-0.0``, in its state, though no n-gram extends them; with ``<unk>`` present,
    ``test.arpa``, it leaves ``</s>`` out as we do.)"""
    from ctckit.lm import _word_kernels as K

    lm, vocab = _peer_models(peer_arpa)
    model = _kenlm_model(kenlm, peer_arpa)
    t = lm.kernel_tables
    slots = max(t.order - 1, 1)

    def states(history: list[str]) -> tuple[tuple[int, ...], object]:
        words, backoffs = np.zeros(slots, np.int32), np.zeros(slots, np.float32)
        length = K.begin_state(t, words, backoffs)
        theirs = kenlm.State()
        model.BeginSentenceWrite(theirs)
        for w in history:
            out_w, out_b = np.zeros(slots, np.int32), np.zeros(slots, np.float32)
            _, length = K.score_word(t, words, backoffs, length, lm.word_id(w), out_w, out_b)
            words, backoffs = out_w, out_b
            nxt = kenlm.State()
            model.BaseScore(theirs, w, nxt)
            theirs = nxt
        return (length, *words[:length].tolist()), theirs

    pool = st.sampled_from([*vocab, "<unk>", "zz"])
    a, b = data.draw(st.lists(pool, max_size=6)), data.draw(st.lists(pool, max_size=6))
    if data.draw(st.booleans()):  # a shared recent past makes equal states likely
        b = [*b, *a[-2:]]
    (ours_a, theirs_a), (ours_b, theirs_b) = states(a), states(b)
    if theirs_a == theirs_b:
        assert ours_a == ours_b
    elif ours_a == ours_b:  # we merged what KenLM keeps apart: the futures must agree
        nexts = [*vocab, "</s>"]
        for w in nexts:
            after_a, after_b = kenlm.State(), kenlm.State()
            first_a = model.BaseScore(theirs_a, w, after_a)
            assert model.BaseScore(theirs_b, w, after_b) == pytest.approx(first_a, abs=1e-5)
            for v in nexts:
                score_a = model.BaseScore(after_a, v, kenlm.State())
                assert model.BaseScore(after_b, v, kenlm.State()) == pytest.approx(
                    score_a, abs=1e-5
                )
    assert K.state_key(np.array(ours_a[1:], np.int32), ours_a[0]) == K.state_key(
        np.array(ours_a[1:], np.int32), ours_a[0]
    )
