"""ctckit.compat.torchaudio: torchaudio's ctc_decoder test cases, ported, and flashlight.

torchaudio's ``test/torchaudio_unittest/models/decoder/ctc_decoder_test.py`` runs on
its assets ``decoder/lexicon.txt``, ``tokens.txt`` and ``kenlm.arpa`` (here from
``../shared/peer_assets/torchaudio``); its cases are reproduced with the same
inputs and expectations. Two differences of input: torchaudio's tests feed 8
emission columns for its 7 tokens (flashlight reads what it is given; ctckit
refuses a width that is not the number of tokens, so the emissions here have 7),
and its custom Python LMs (``CustomZeroLM``, ``CustomKenLM``, the biased NNLM) have
ctckit counterparts (a ``WordNGramLM`` object, an ARPA file that favours one word).
The tests marked ``peers`` compare with flashlight-text's decoders built as
torchaudio builds them.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ctckit.compat.torchaudio import CTCHypothesis, ctc_decoder
from ctckit.errors import DataError, InputValueError, ShapeError
from ctckit.lm import WordNGramLM

ASSETS = Path(__file__).resolve().parents[3] / "shared" / "peer_assets" / "torchaudio"
LEXICON = ASSETS / "lexicon.txt"
TOKENS = ASSETS / "tokens.txt"
KENLM = ASSETS / "kenlm.arpa"
TOKEN_LIST = ["-", "|", "f", "o", "b", "a", "r"]
NUM_TOKENS = len(TOKEN_LIST)

pytestmark = pytest.mark.skipif(
    not (LEXICON.is_file() and TOKENS.is_file() and KENLM.is_file()),
    reason="../shared/peer_assets/torchaudio is absent",
)


def get_decoder(tokens: object = None, lm: object = None, use_lexicon: bool = True, **kw: object):  # type: ignore[no-untyped-def]
    return ctc_decoder(
        lexicon=str(LEXICON) if use_lexicon else None,
        tokens=str(TOKENS) if tokens is None else tokens,  # type: ignore[arg-type]
        lm=lm,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def get_emissions(seed: int = 0) -> torch.Tensor:
    return torch.rand(4, 15, NUM_TOKENS, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("tokens", "lm", "use_lexicon"),
    list(itertools.product([str(TOKENS), TOKEN_LIST], [None, str(KENLM)], [True, False])),
)
def test_construct_basic_decoder(tokens: object, lm: object, use_lexicon: bool) -> None:
    decoder = get_decoder(tokens=tokens, lm=lm, use_lexicon=use_lexicon)
    assert decoder.idxs_to_tokens([0, 1, 6]) == ["-", "|", "r"]


@pytest.mark.parametrize("use_lexicon", [True, False])
def test_shape(use_lexicon: bool) -> None:
    emissions = get_emissions()
    results = get_decoder(use_lexicon=use_lexicon)(emissions)
    assert len(results) == emissions.shape[0]


@pytest.mark.parametrize("use_lexicon", [True, False])
def test_timesteps_shape(use_lexicon: bool) -> None:
    """Each token corresponds with a timestep."""
    emissions = get_emissions()
    results = get_decoder(use_lexicon=use_lexicon)(emissions)
    for b in range(emissions.shape[0]):
        result = results[b][0]
        assert result.tokens.shape == result.timesteps.shape
        assert result.tokens.dtype == torch.int64
        assert result.timesteps.dtype == torch.int32


def test_no_lm_decoder() -> None:
    """No LM, and a KenLM ARPA with weight 0, give the same results."""
    emissions = get_emissions()
    zero = get_decoder(lm=None)(emissions)
    weight_zero = get_decoder(lm=str(KENLM), lm_weight=0)(emissions)
    assert _plain(zero) == _plain(weight_zero)


def test_lm_object_decoder() -> None:
    """A loaded WordNGramLM gives the same results as its ARPA path (torchaudio's
    custom-KenLM-wrapper case)."""
    emissions = get_emissions()
    from_path = get_decoder(lm=str(KENLM))(emissions)
    from_object = get_decoder(lm=WordNGramLM.from_arpa(KENLM))(emissions)
    assert _plain(from_path) == _plain(from_object)


def test_biased_lm_decoder(tmp_path: Path) -> None:
    """An LM that gives every word but 'foo' a tiny probability, at lm_weight 10, makes
    every output word 'foo' (torchaudio's biased-NNLM case, lexicon decoding)."""
    arpa = tmp_path / "biased.arpa"
    arpa.write_text(
        "\\data\\\nngram 1=6\nngram 2=1\n\n\\1-grams:\n-99\t<s>\t0\n0\t</s>\n0\tfoo\t0\n"
        "-20\tbar\n-20\tfoobar\n-20\t<unk>\n\n\\2-grams:\n0\t<s> foo\n\n\\end\\\n"
    )
    results = get_decoder(lm=str(arpa), lm_weight=10)(get_emissions())
    words = [r[0].words for r in results]
    assert words == [["foo"] * len(w) for w in words]
    assert any(words)


def _peaky(path: list[int], vocab: int = NUM_TOKENS) -> torch.Tensor:
    x = torch.full((1, len(path), vocab), math.log(0.01))
    for t, c in enumerate(path):
        x[0, t, c] = math.log(0.94)
    return x


def test_get_tokens_and_timesteps() -> None:
    """torchaudio's layout: repeats merged, blanks dropped, between the decoder's leading
    and trailing silence; timesteps index that wrapped sequence (torchaudio's
    ``_get_tokens``/``_get_timesteps`` cases: [2, 2, 0, 3, 3, 3, 0, 3] gives tokens
    [2, 3, 3] at [0, 3, 7])."""
    decoder = get_decoder(use_lexicon=False)
    hyp = decoder(_peaky([2, 2, 0, 3, 3, 3, 0, 3]))[0][0]
    # the wrapped path is | f f - o o o - o |: runs start at 0, 1, 4, 8, 9
    assert hyp.tokens.tolist() == [1, 2, 3, 3, 1]
    assert hyp.timesteps.tolist() == [0, 1, 4, 8, 9]
    assert decoder.idxs_to_tokens(hyp.tokens[1:-1]) == ["f", "o", "o"]
    assert hyp.words == ["foo"]


@pytest.mark.parametrize("tokens", [str(TOKENS), TOKEN_LIST])
def test_index_to_tokens(tokens: object) -> None:
    decoder = get_decoder(tokens)
    assert decoder.idxs_to_tokens(torch.LongTensor((1, 2, 1, 3, 5))) == ["|", "f", "|", "o", "a"]


# ----------------------------------------------------------------------------- ctckit's own


def _plain(results: list[list[CTCHypothesis]]) -> list[list[tuple]]:
    return [
        [(h.tokens.tolist(), h.words, round(h.score, 4), h.timesteps.tolist()) for h in hyps]
        for hyps in results
    ]


def test_lexicon_words_only_and_spelled() -> None:
    """Every output word is a lexicon word, and the tokens between silences spell the
    words (one spelling per word here, no LM); nbest hypotheses come best first."""
    lexicon = {"foo": "foo", "bar": "bar", "foobar": "foobar"}
    decoder = get_decoder(nbest=5)
    for seed in range(3):
        for hyps in decoder(get_emissions(seed)):
            assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
            for h in hyps:
                assert set(h.words) <= set(lexicon)
                chars = "".join(decoder.idxs_to_tokens(h.tokens))
                assert chars.replace("|", " ").split() == [lexicon[w] for w in h.words]


def test_log_add_scores() -> None:
    """log_add=True searches and scores by the sum over alignments, False by the best
    alignment (max merging): the best summed score is never below the best max-merged
    one, and a max-merged hypothesis's acoustic score is its tokens' best alignment's
    (ctckit.align.forced_align, the Viterbi path)."""
    from ctckit.align import forced_align

    emissions = torch.log_softmax(3 * get_emissions(), dim=-1)
    max_merged = get_decoder(lm=str(KENLM), log_add=False)
    best = max_merged(emissions)
    summed = get_decoder(lm=str(KENLM), log_add=True)(emissions)
    for a, b in zip(best, summed):
        assert b[0].score >= a[0].score - 1e-6
    found = max_merged._search.decode(emissions.numpy())
    targets = [list(h[0].tokens) for h in found]
    lens = np.full(len(found), emissions.shape[1])
    _, frame_scores = forced_align(emissions.numpy(), targets, lens, blank=0, num_threads=1)
    viterbi = frame_scores.astype(np.float64).sum(axis=1)
    assert [h[0].acoustic_score for h in found] == pytest.approx(viterbi.tolist(), abs=1e-4)


def test_score_shift_invariance() -> None:
    """Emissions are any real scores: adding a constant per frame changes no decision
    and adds the constants' sum to every score."""
    emissions = get_emissions()
    shift = torch.linspace(-3, 5, emissions.shape[1])[None, :, None]
    a = get_decoder(nbest=3)(emissions)
    b = get_decoder(nbest=3)(emissions + shift)
    total = float(shift.sum())
    for x, y in zip(a, b):
        assert [h.words for h in x] == [h.words for h in y]
        assert [h.score + total for h in x] == pytest.approx([h.score for h in y], abs=1e-4)


def test_lengths() -> None:
    emissions = get_emissions()
    full = get_decoder(use_lexicon=False)(emissions[1:2, :9])
    cut = get_decoder(use_lexicon=False)(emissions, torch.tensor([15, 9, 15, 15]))
    assert _plain(full)[0] == _plain(cut)[1]
    assert int(cut[1][0].timesteps[-1]) <= 10  # the trailing silence at T + 1


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ShapeError, match="num_tokens=7"):
        get_decoder()(torch.rand(1, 5, 8))
    with pytest.raises(ShapeError, match="3-D"):
        get_decoder()(torch.rand(5, 7))
    bad = get_emissions()
    bad[2, 3, 1] = float("nan")
    with pytest.raises(InputValueError, match=r"\[2, 3, 1\]"):
        get_decoder()(bad)
    with pytest.raises(InputValueError, match="blank_token"):
        get_decoder(blank_token="<b>")
    with pytest.raises(InputValueError, match="lm_dict"):
        get_decoder(lm_dict="words.txt")
    lex = tmp_path / "lex.txt"
    lex.write_text("foo f o o |\nbaz b a z |\n")
    with pytest.raises(DataError, match=r"line 2: .*'z'"):
        ctc_decoder(str(lex), TOKEN_LIST)


# ----------------------------------------------------------------------------- the peer


Path_ = tuple[list[int], list[int]]  # torchaudio's tokens and timesteps


def _flashlight_decode(
    emissions: np.ndarray, use_lexicon: bool, lm: str | None, log_add: bool
) -> list[tuple[list[str], float, Path_]]:
    """flashlight-text's decoder built as torchaudio's ``ctc_decoder`` builds it."""
    dec_mod = pytest.importorskip("flashlight.lib.text.decoder")
    dict_mod = pytest.importorskip("flashlight.lib.text.dictionary")
    tokens = dict_mod.Dictionary(str(TOKENS))
    blank, sil = tokens.get_index("-"), tokens.get_index("|")
    lexicon = dict_mod.load_words(str(LEXICON)) if use_lexicon else None
    if lexicon:
        word_dict = dict_mod.create_word_dict(lexicon)
    else:
        d = {tokens.get_entry(i): [[tokens.get_entry(i)]] for i in range(tokens.index_size())}
        d["<unk>"] = [["<unk>"]]
        word_dict = dict_mod.create_word_dict(d)
    lm_obj = dec_mod.KenLM(lm, word_dict) if lm else dec_mod.ZeroLM()
    if lexicon:
        trie = dec_mod.Trie(tokens.index_size(), sil)
        start = lm_obj.start(False)
        for word, spellings in lexicon.items():
            wid = word_dict.get_index(word)
            _, score = lm_obj.score(start, wid)
            for sp in spellings:
                trie.insert([tokens.get_index(t) for t in sp], wid, score)
        trie.smear(dec_mod.SmearingMode.MAX)
        opts = dec_mod.LexiconDecoderOptions(
            beam_size=50, beam_size_token=tokens.index_size(), beam_threshold=50, lm_weight=2,
            word_score=0, unk_score=-math.inf, sil_score=0, log_add=log_add,
            criterion_type=dec_mod.CriterionType.CTC,
        )  # fmt: skip
        dec = dec_mod.LexiconDecoder(opts, trie, lm_obj, sil, blank,
                                     word_dict.get_index("<unk>"), [], False)  # fmt: skip
    else:
        opts = dec_mod.LexiconFreeDecoderOptions(
            beam_size=50, beam_size_token=tokens.index_size(), beam_threshold=50, lm_weight=2,
            sil_score=0, log_add=log_add, criterion_type=dec_mod.CriterionType.CTC,
        )  # fmt: skip
        dec = dec_mod.LexiconFreeDecoder(opts, lm_obj, sil, blank, [])
    out = []
    x = np.ascontiguousarray(emissions, dtype=np.float32)
    for b in range(x.shape[0]):
        r = dec.decode(x[b].ctypes.data, x.shape[1], x.shape[2])[0]
        words = [word_dict.get_entry(w) for w in r.words if w >= 0]
        toks = [t for i, t in enumerate(r.tokens) if i == 0 or t != r.tokens[i - 1]]
        text = "".join(tokens.get_entry(t) for t in toks if t != blank)
        raw = list(r.tokens)
        steps = [i for i, t in enumerate(raw) if t != blank and (i == 0 or t != raw[i - 1])]
        out.append((words if lexicon else text.replace("|", " ").split(), float(r.score),
                    ([t for t in toks if t != blank], steps)))  # fmt: skip
    return out


@pytest.mark.peers
@pytest.mark.parametrize("lm", [None, str(KENLM)])
@pytest.mark.parametrize("log_add", [False, True])
def test_same_words_and_scores_as_flashlight(lm: str | None, log_add: bool) -> None:
    """Peaky emissions (log-softmax of scaled noise). Where ctckit and flashlight's
    lexicon decoder return the same path (tokens and timesteps), the same score for max
    merging (flashlight's default); flashlight's log_add also merges the paths of other
    spellings of the same words (with and without silences), ctckit's sums the
    alignments of one token sequence, so their scores differ there. The words agree on most
    utterances; not on all, since ctckit ranks by summed probability and flashlight
    (log_add=False) by the best alignment, which these flat emissions tell apart."""
    gen = torch.Generator().manual_seed(1)
    emissions = torch.log_softmax(6 * torch.rand(8, 20, NUM_TOKENS, generator=gen), dim=-1)
    ours = get_decoder(lm=lm, log_add=log_add)(emissions)
    theirs = _flashlight_decode(emissions.numpy(), True, lm, log_add)
    agree = same_path = 0
    for hyps, (words, score, (tokens, steps)) in zip(ours, theirs):
        agree += hyps[0].words == words
        if hyps[0].tokens.tolist() == tokens and hyps[0].timesteps.tolist() == steps:
            same_path += 1
            if not log_add:  # (flashlight's log-add also merges other spellings' paths)
                assert hyps[0].score == pytest.approx(score, abs=1e-3)
    assert agree >= len(ours) // 2, agree
    assert same_path >= 3, same_path


@pytest.mark.peers
def test_same_tokens_as_flashlight_lexicon_free_without_lm() -> None:
    gen = torch.Generator().manual_seed(2)
    emissions = torch.log_softmax(6 * torch.rand(8, 20, NUM_TOKENS, generator=gen), dim=-1)
    # log_add on both sides: flashlight then merges like ctckit (the sum over alignments)
    ours = get_decoder(use_lexicon=False, log_add=True)(emissions)
    theirs = _flashlight_decode(emissions.numpy(), False, None, True)
    agree = sum(h[0].words == w for h, (w, _, _) in zip(ours, theirs))
    assert agree >= 6, agree
