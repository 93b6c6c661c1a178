"""A plain-Python word beam search and brute-force word oracles, for the word decoder tests.

Written from the semantics in ``WordBeamSearchDecoder``'s docstring, not from its
kernel: prefixes are tuples, beams are dicts, words are strings, the word LM is
``kenlm.Model`` itself (its ``BaseScore`` over ``kenlm.State`` objects), the unigram
and hotword checks are Python sets. It is slow and small on purpose.

* :class:`RefLM`: KenLM's word scores (log10), the oracle of every LM term.
* :class:`WordSpec`: the word model of one decoder configuration: how a token
  extends a prefix's word state, and the ranking and final score terms.
* :func:`reference_word_search`: the CTC prefix beam search over
  ``(token, event)`` prefixes with exact log-sum-exp merging and the same pruning
  rules as ``BeamSearchDecoder``.
* :func:`brute_force_best`: every labelling (and, with a lexicon, every parse of it
  into words) scored with ``-ctc_loss`` and the word terms; the exact best.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

NEG_INF = -math.inf
LN10 = math.log(10.0)
AVG_WORD_LEN = 6  # a partial unknown word longer than this pays more (pyctcdecode's rule)
CONT, SIL, UNK = -1, -2, -3  # lexicon events besides a word index


def lse(a: float, b: float) -> float:
    """log(exp(a) + exp(b)), dropping a term below exp(-50) of the other."""
    if a < b:
        a, b = b, a
    if not b - a >= -50.0:
        return a
    return a + math.log1p(math.exp(b - a))


# --------------------------------------------------------------------------- the LM oracle


class RefLM:
    """Word log10-probabilities from ``kenlm.Model`` (``boundary``: start at ``<s>`` and
    end with ``</s>``, else start from the null context and add no end)."""

    def __init__(self, path: str, boundary: bool = True) -> None:
        import kenlm

        self.kenlm = kenlm
        self.model = kenlm.Model(str(path))
        self.boundary = boundary
        self.vocab = self._read_vocab(path)

    @staticmethod
    def _read_vocab(path: str) -> set[str]:
        words: set[str] = set()
        section = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line == "\\1-grams:":
                    section = True
                elif line.startswith("\\") and section:
                    break
                elif section and line:
                    words.add(line.split()[1])
        return words - {"<s>", "</s>", "<unk>"}

    def start(self) -> Any:
        state = self.kenlm.State()
        if self.boundary:
            self.model.BeginSentenceWrite(state)
        else:
            self.model.NullContextWrite(state)
        return state

    def score(self, state: Any, word: str) -> tuple[float, Any]:
        out = self.kenlm.State()
        return float(self.model.BaseScore(state, word, out)), out

    def end(self, state: Any) -> float:
        if not self.boundary:
            return 0.0
        return float(self.model.BaseScore(state, "</s>", self.kenlm.State()))

    def known(self, word: str) -> bool:
        return word in self.vocab

    def unigram(self, word: str) -> float:
        state = self.kenlm.State()
        self.model.NullContextWrite(state)
        return float(self.model.BaseScore(state, word, self.kenlm.State()))

    def sentence(self, words: Sequence[str]) -> float:
        """log10 of a whole word sequence (KenLM's own ``score``)."""
        return float(self.model.score(" ".join(words), bos=self.boundary, eos=self.boundary))


# --------------------------------------------------------------------------- word states


@dataclass(frozen=True)
class WState:
    """The word part of a prefix: completed words and the word being spelled."""

    words: tuple[str, ...] = ()
    lm_state: Any = None
    lm10: float = 0.0  # log10 LM score of the completed words, unknown-word offsets included
    n_hot: int = 0
    n_sil: int = 0
    partial: Any = ""  # lexicon-free: the partial word's text; lexicon: its tokens (a tuple)


@dataclass
class WordSpec:
    """The word model of one decoder configuration (pure Python, sets and dicts).

    ``lexicon`` maps a word to its pronunciations (tuples of token ids); without it
    the labels give the words: a character model (``delimiter``: the word delimiter's
    id) or a BPE model (labels starting with ``▁`` start a word).
    """

    labels: Sequence[str]
    blank: int
    lm: RefLM | None = None
    delimiter: int | None = None
    unigrams: Iterable[str] | None = None
    alpha: float = 0.5
    beta: float = 1.5
    unk_score_offset: float = -10.0
    hotwords: Sequence[str] = ()
    hotword_weight: float = 10.0
    lexicon: Mapping[str, Sequence[Sequence[int]]] | None = None
    word_score: float = 0.0
    unk_word: str | None = None
    sil: int | None = None
    sil_score: float = 0.0
    bpe: bool = field(init=False)

    def __post_init__(self) -> None:
        self.a = self.alpha * LN10
        self.per_word = self.beta + self.word_score
        self.hot = {w for phrase in self.hotwords for w in phrase.split()}
        self.bpe = self.lexicon is None and any(
            lab.startswith("▁") for i, lab in enumerate(self.labels) if i != self.blank
        )
        if self.lexicon is None:
            self._init_free()
        else:
            self._init_lexicon()

    # ---- lexicon-free

    def _init_free(self) -> None:
        if self.unigrams is not None:
            self.uni: set[str] | None = set(self.unigrams)
        elif self.lm is not None:
            self.uni = set(self.lm.vocab)
        else:
            self.uni = None
        self.uni_prefixes = (
            None if self.uni is None else {w[:k] for w in self.uni for k in range(len(w) + 1)}
        )
        self.hot_min: dict[str, int] = {}
        for w in self.hot:
            for k in range(1, len(w) + 1):
                p = w[:k]
                self.hot_min[p] = min(self.hot_min.get(p, len(w)), len(w))

    def piece(self, c: int) -> str:
        lab = self.labels[c]
        return lab[1:] if self.bpe and lab.startswith("▁") else lab

    def starts_word(self, c: int) -> bool:
        return self.bpe and self.labels[c].startswith("▁")

    def _complete(self, st: WState) -> WState:
        """Score the partial word (lexicon-free) as a completed word."""
        word = st.partial
        if not word:
            return st
        lm10 = 0.0
        lm_state = st.lm_state
        oov = self.uni is not None and word not in self.uni
        if self.lm is not None:
            lm10, lm_state = self.lm.score(st.lm_state, word)
            oov = oov or not self.lm.known(word)
        if oov:
            lm10 += self.unk_score_offset
        return WState(
            words=(*st.words, word),
            lm_state=lm_state,
            lm10=st.lm10 + lm10,
            n_hot=st.n_hot + (word in self.hot),
            partial="",
        )

    def _partial_term(self, p: str) -> float:
        if not p:
            return 0.0
        if p in self.hot_min:
            return self.hotword_weight * len(p) / self.hot_min[p]
        if self.uni_prefixes is not None and p not in self.uni_prefixes:
            return self.unk_score_offset * max(1.0, len(p) / AVG_WORD_LEN)
        return 0.0

    # ---- lexicon

    def _init_lexicon(self) -> None:
        assert self.lexicon is not None
        self.prons: dict[tuple[int, ...], list[str]] = {}
        for word, prons in self.lexicon.items():
            for pron in prons:
                words = self.prons.setdefault(tuple(pron), [])
                if word not in words:
                    words.append(word)
        self.word_order = {w: i for i, w in enumerate(self.lexicon)}

    def _extends(self, p: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Pronunciations that have ``p`` as a proper prefix."""
        return [q for q in self.prons if len(q) > len(p) and q[: len(p)] == p]

    def _lookahead(self, p: tuple[int, ...]) -> float:
        if self.lm is None:
            return 0.0
        best = NEG_INF
        for q in self._extends(p):
            for w in self.prons[q]:
                best = max(best, self.lm.unigram(w if self.lm.known(w) else "<unk>"))
        return self.a * best

    def _hot_partial(self, p: tuple[int, ...]) -> float:
        lens = [len(q) for q in self._extends(p) if any(w in self.hot for w in self.prons[q])]
        return self.hotword_weight * len(p) / min(lens) if lens else 0.0

    def _emit(self, st: WState, word: str, unknown: bool) -> WState:
        lm10 = 0.0
        lm_state = st.lm_state
        if self.lm is not None:
            known = not unknown and self.lm.known(word)
            lm10, lm_state = self.lm.score(st.lm_state, word if known else "<unk>")
        if unknown:
            lm10 += self.unk_score_offset
        return WState(
            words=(*st.words, word),
            lm_state=lm_state,
            lm10=st.lm10 + lm10,
            n_hot=st.n_hot + (not unknown and word in self.hot),
            n_sil=st.n_sil,
            partial=(),
        )

    # ---- the interface the search uses

    def start(self) -> WState:
        lm_state = None if self.lm is None else self.lm.start()
        return WState(lm_state=lm_state, partial=() if self.lexicon is not None else "")

    def extend(self, st: WState, c: int) -> list[tuple[int, WState]]:
        """The ``(event, state)`` pairs after appending token ``c``."""
        if self.lexicon is None:
            if c == self.delimiter:
                return [(0, self._complete(st))]
            if self.starts_word(c):
                done = self._complete(st)
                return [(0, WState(done.words, done.lm_state, done.lm10, done.n_hot, 0,
                                   self.piece(c)))]  # fmt: skip
            return [(0, WState(st.words, st.lm_state, st.lm10, st.n_hot, 0,
                               st.partial + self.piece(c)))]  # fmt: skip
        out: list[tuple[int, WState]] = []
        if c == self.sil and not st.partial:
            out.append((SIL, WState(st.words, st.lm_state, st.lm10, st.n_hot, st.n_sil + 1, ())))
        p = (*st.partial, c)
        if self._extends(p):
            out.append((CONT, WState(st.words, st.lm_state, st.lm10, st.n_hot, st.n_sil, p)))
        words = self.prons.get(p, [])
        for w in words:
            out.append((self.word_order[w], self._emit(st, w, unknown=False)))
        if not words and self.unk_word is not None and (p in self.prons or self._extends(p)):
            out.append((UNK, self._emit(st, self.unk_word, unknown=True)))
        return out

    def rank_extra(self, st: WState) -> float:
        extra = self.a * st.lm10 + self.per_word * len(st.words) + self.hotword_weight * st.n_hot
        if self.lexicon is None:
            return extra + self._partial_term(st.partial)
        extra += self.sil_score * st.n_sil
        if st.partial:
            extra += self._lookahead(st.partial) + self._hot_partial(st.partial)
        return extra

    def final(self, st: WState) -> tuple[float, float, WState] | None:
        """``(score term, lm10 total, state)`` at the end, or ``None`` (inside a word)."""
        if self.lexicon is None:
            st = self._complete(st)
        elif st.partial:
            return None
        lm10 = st.lm10 + (self.lm.end(st.lm_state) if self.lm is not None else 0.0)
        extra = self.a * lm10 + self.per_word * len(st.words) + self.hotword_weight * st.n_hot
        if self.lexicon is not None:
            extra += self.sil_score * st.n_sil
        return extra, lm10, st

    def words_of(self, key: tuple[tuple[int, int], ...]) -> list[tuple[str, int, int]]:
        """``(word, first token, last token + 1)`` of each word of a prefix key."""
        out: list[tuple[str, int, int]] = []
        if self.lexicon is not None:
            first = None
            for k, (_, ev) in enumerate(key):
                if ev == SIL:
                    continue
                if first is None:
                    first = k
                if ev != CONT:
                    word = self.unk_word if ev == UNK else list(self.lexicon)[ev]
                    assert word is not None
                    out.append((word, first, k + 1))
                    first = None
            return out
        text, first = "", None
        for k, (c, _) in enumerate(key):
            if c == self.delimiter or self.starts_word(c):
                if text:
                    assert first is not None
                    out.append((text, first, k))
                text, first = "", None
                if c == self.delimiter:
                    continue
            if first is None:
                first = k
            text += self.piece(c)
        if text:
            assert first is not None
            out.append((text, first, len(key)))
        return out


# --------------------------------------------------------------------------- the search


@dataclass(frozen=True)
class RefWordHyp:
    text: str
    words: tuple[str, ...]
    word_spans: tuple[tuple[str, int, int], ...]
    tokens: tuple[int, ...]
    score: float
    acoustic_score: float
    lm_score: float


@dataclass
class _Beam:
    state: WState
    pb: float = NEG_INF
    pnb: float = NEG_INF
    vb: float = NEG_INF
    vnb: float = NEG_INF
    path_b: tuple[int, ...] = ()  # best single alignment ending in a blank: a label per frame
    path_nb: tuple[int, ...] = ()

    def best(self) -> tuple[float, tuple[int, ...]]:
        return (self.vb, self.path_b) if self.vb >= self.vnb else (self.vnb, self.path_nb)


def token_runs(path: Sequence[int], blank: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each token's run of frames on a frame labelling."""
    runs: list[tuple[int, int]] = []
    prev = blank
    for t, lab in enumerate(path):
        if lab != blank:
            if lab == prev:
                runs[-1] = (runs[-1][0], t + 1)
            else:
                runs.append((t, t + 1))
        prev = lab
    return runs


def reference_word_search(
    lp: np.ndarray,
    spec: WordSpec,
    beam_width: int,
    top_n: int = 1,
    token_min_logp: float | None = None,
    beam_prune_logp: float | None = None,
    prune_blank: bool = True,
) -> list[RefWordHyp]:
    """CTC prefix beam search over ``(token, event)`` prefixes, ranked by
    ``acoustic + spec.rank_extra``; the N best by ``acoustic + final term``, distinct words.
    ``token_min_logp`` sets a frame's entries below it to ``-inf`` (not its best entry, nor
    the blank unless ``prune_blank``)."""
    lp = np.asarray(lp, dtype=np.float64)
    time, vocab = lp.shape
    blank = spec.blank
    beams: dict[tuple[tuple[int, int], ...], _Beam] = {(): _Beam(spec.start(), pb=0.0, vb=0.0)}
    nonblank = [c for c in range(vocab) if c != blank]
    for t in range(time):
        row = lp[t].tolist()
        if token_min_logp is not None:
            amax = int(np.argmax(lp[t]))
            row = [x if x >= token_min_logp or c == amax or (c == blank and not prune_blank)
                   else NEG_INF for c, x in enumerate(row)]  # fmt: skip
        cands: dict[tuple[tuple[int, int], ...], _Beam] = {}
        for key, bm in beams.items():
            v, path = bm.best()
            last = key[-1][0] if key else None
            lv = row[last] if last is not None else NEG_INF
            cands[key] = _Beam(
                bm.state,
                pb=lse(bm.pb, bm.pnb) + row[blank],
                pnb=bm.pnb + lv,
                vb=v + row[blank],
                path_b=(*path, blank),
                vnb=bm.vnb + lv,
                path_nb=(*bm.path_nb, last) if last is not None else (),
            )
        for key, bm in beams.items():
            last = key[-1][0] if key else None
            tot = lse(bm.pb, bm.pnb)
            for c in nonblank:
                if c == last:
                    e, ev, epath = bm.pb + row[c], bm.vb + row[c], bm.path_b
                else:
                    ev, epath = bm.best()
                    e, ev = tot + row[c], ev + row[c]
                for event, st in spec.extend(bm.state, c):
                    nkey = (*key, (c, event))
                    cand = cands.get(nkey)
                    if cand is not None:  # the same prefix as a beam's stay: merged
                        cand.pnb = lse(cand.pnb, e)
                        if ev > cand.vnb:
                            cand.vnb, cand.path_nb = ev, (*epath, c)
                        continue
                    if e == NEG_INF:
                        continue
                    cands[nkey] = _Beam(st, pnb=e, vnb=ev, path_nb=(*epath, c))
        ranked = []
        for key, cand in cands.items():
            r = lse(cand.pb, cand.pnb) + spec.rank_extra(cand.state)
            if r > NEG_INF:
                ranked.append((r, key))
        ranked.sort(key=lambda x: -x[0])
        ranked = ranked[:beam_width]
        if ranked and beam_prune_logp is not None:
            cut = ranked[0][0] + beam_prune_logp
            ranked = [x for x in ranked if x[0] >= cut]
        beams = {key: cands[key] for _, key in ranked}
        if not beams:
            break
    finals = []
    for key, bm in beams.items():
        fin = spec.final(bm.state)
        if fin is None:
            continue
        extra, lm10, _ = fin
        ac = lse(bm.pb, bm.pnb)
        score = ac + extra
        if score == NEG_INF:
            continue
        runs = token_runs(bm.best()[1], blank)
        spans = tuple((w, runs[a][0], runs[b - 1][1]) for w, a, b in spec.words_of(key))
        words = tuple(w for w, _, _ in spans)
        finals.append(
            RefWordHyp(" ".join(words), words, spans, tuple(c for c, _ in key), score, ac,
                       lm10 * LN10)
        )  # fmt: skip
    finals.sort(key=lambda h: -h.score)
    out: list[RefWordHyp] = []
    seen: set[tuple[str, ...]] = set()
    for h in finals:
        if h.words not in seen:
            seen.add(h.words)
            out.append(h)
        if len(out) == top_n:
            break
    if not out:
        return [RefWordHyp("", (), (), (), NEG_INF, NEG_INF, 0.0)]
    return out


# --------------------------------------------------------------------------- brute force


def ctc_log_prob(lp: np.ndarray, labellings: list[tuple[int, ...]], blank: int) -> np.ndarray:
    """``-ctc_loss`` (float64) of each labelling under ``lp`` ``(T, V)``."""
    if not labellings:
        return np.zeros(0)
    n = len(labellings)
    x = torch.from_numpy(np.asarray(lp, dtype=np.float64)).unsqueeze(1).expand(-1, n, -1)
    flat = [tok for lab in labellings for tok in lab]
    targets = torch.tensor(flat if flat else [1 if blank != 1 else 0], dtype=torch.long)
    target_lengths = torch.tensor([len(lab) for lab in labellings], dtype=torch.long)
    input_lengths = torch.full((n,), lp.shape[0], dtype=torch.long)
    loss = torch.nn.functional.ctc_loss(
        x.contiguous(), targets, input_lengths, target_lengths, blank=blank, reduction="none",
        zero_infinity=False,
    )  # fmt: skip
    return -loss.numpy()


def best_alignment_log_prob(
    lp: np.ndarray, labellings: list[tuple[int, ...]], blank: int
) -> np.ndarray:
    """The log-probability of each labelling's best single alignment under ``lp``
    ``(T, V)``, by enumerating every path of ``V ** T`` (tiny inputs only)."""
    best: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        lab = tuple(c for k, c in enumerate(path) if c != blank and (k == 0 or c != path[k - 1]))
        score = float(sum(lp[t, c] for t, c in enumerate(path)))
        if score > best.get(lab, NEG_INF):
            best[lab] = score
    return np.asarray([best.get(lab, NEG_INF) for lab in labellings], dtype=np.float64)


def _parses(spec: WordSpec, tokens: tuple[int, ...]) -> list[list[tuple[str, bool]]]:
    """Every way to read ``tokens`` as lexicon words (and unknown words, with
    ``unk_word``) with silences between them: lists of ``(word, unknown)``, ``"<sil>"``."""
    assert spec.lexicon is not None
    if not tokens:
        return [[]]
    out: list[list[tuple[str, bool]]] = []
    if tokens[0] == spec.sil:
        out += [[("<sil>", False), *rest] for rest in _parses(spec, tokens[1:])]
    for k in range(1, len(tokens) + 1):
        p = tokens[:k]
        words = spec.prons.get(p, [])
        heads = [(w, False) for w in words]
        if not words and spec.unk_word is not None and (p in spec.prons or spec._extends(p)):
            heads.append((spec.unk_word, True))
        for head in heads:
            out += [[head, *rest] for rest in _parses(spec, tokens[k:])]
    return out


def word_terms(spec: WordSpec, tokens: tuple[int, ...]) -> list[tuple[float, tuple[str, ...]]]:
    """The final word terms (``alpha`` LM, ``beta``/``word_score`` per word, hotwords,
    silences) of each reading of ``tokens``, scored whole: the LM through KenLM's
    ``score`` of the sentence (plus the unknown-word offsets), never state by state."""
    if spec.lexicon is None:
        st = spec.start()
        for c in tokens:
            ((_, st),) = spec.extend(st, c)
        words = spec._complete(st).words
        readings = [[(w, False) for w in words]]
    else:
        readings = _parses(spec, tokens)
    out = []
    for reading in readings:
        words = tuple(w for w, _ in reading if w != "<sil>")
        n_sil = sum(w == "<sil>" for w, _ in reading)
        lm10 = 0.0
        if spec.lm is not None:
            lm_words = [
                "<unk>" if unknown or not spec.lm.known(w) else w
                for w, unknown in reading
                if w != "<sil>"
            ]
            lm10 = spec.lm.sentence(lm_words)
        for w, unknown in reading:
            if w == "<sil>":
                continue
            if spec.lexicon is not None:
                lm10 += spec.unk_score_offset * unknown
            elif (spec.uni is not None and w not in spec.uni) or (
                spec.lm is not None and not spec.lm.known(w)
            ):
                lm10 += spec.unk_score_offset
        n_hot = sum(w in spec.hot for w, unknown in reading if not unknown and w != "<sil>")
        term = spec.a * lm10 + spec.per_word * len(words) + spec.hotword_weight * n_hot
        if spec.lexicon is not None:
            term += spec.sil_score * n_sil
        out.append((term, words))
    return out


def all_labellings(time: int, vocab: int, blank: int) -> list[tuple[int, ...]]:
    symbols = [v for v in range(vocab) if v != blank]
    out: list[tuple[int, ...]] = []
    for k in range(time + 1):
        out.extend(itertools.product(symbols, repeat=k))
    return out


def brute_force_best(
    lp: np.ndarray, spec: WordSpec, tol: float = 1e-5, merge: str = "sum"
) -> tuple[float, list[tuple]]:
    """The best total score over every labelling and reading, and every
    ``(score, tokens, words)`` that reaches it within ``tol`` (KenLM scores are float32).
    ``merge="max"``: a labelling's acoustic score is its best alignment's."""
    labs = all_labellings(lp.shape[0], lp.shape[1], spec.blank)
    if merge == "max":
        acoustic = best_alignment_log_prob(lp, labs, spec.blank)
    else:
        acoustic = ctc_log_prob(lp, labs, spec.blank)
    scored = []
    for lab, ac in zip(labs, acoustic.tolist()):
        if ac == NEG_INF:
            continue
        for term, words in word_terms(spec, lab):
            scored.append((ac + term, lab, words))
    best = max(s for s, _, _ in scored)
    return best, [x for x in scored if x[0] >= best - tol]


# --------------------------------------------------------------------------- ARPA files


def write_random_arpa(
    path: str, words: Sequence[str], order: int, seed: int, n_per_order: int = 12
) -> None:
    """A random but well-formed ARPA file over ``words`` (every n-gram's prefix and
    suffix present; ``<unk>``, ``<s>``, ``</s>`` included), with random log10
    probabilities and backoffs, so that KenLM's backoff paths all get used."""
    rng = np.random.default_rng(seed)
    vocab = ["<unk>", "<s>", "</s>", *words]
    grams: list[set[tuple[str, ...]]] = [set() for _ in range(order)]
    grams[0] = {(w,) for w in vocab}
    for n in range(2, order + 1):
        for _ in range(n_per_order):
            g = (
                "<s>" if rng.random() < 0.3 else str(rng.choice([*words, "<unk>"])),
                *[str(rng.choice([*words, "</s>", "<unk>"])) for _ in range(n - 1)],
            )
            if "</s>" in g[:-1]:
                continue
            for k in range(n, 0, -1):  # the n-gram, its prefixes and its suffixes
                for s in range(0, n - k + 1):
                    sub = g[s : s + k]
                    if sub[0] == "</s>" and k > 1:
                        continue
                    grams[k - 1].add(sub)
    lines = ["\\data\\"]
    lines += [f"ngram {n + 1}={len(grams[n])}" for n in range(order)]
    lines.append("")
    for n in range(order):
        lines.append(f"\\{n + 1}-grams:")
        for g in sorted(grams[n]):
            prob = 0.0 if g == ("<s>",) else float(-rng.uniform(0.05, 2.5))
            has_ext = n + 1 < order and any(h[:-1] == g for h in grams[n + 1])
            if g == ("<s>",):
                prob = -99.0
            line = f"{prob:.6f}\t{' '.join(g)}"
            if has_ext and g[-1] != "</s>":
                line += f"\t{float(rng.uniform(-1.0, 0.5)):.6f}"
            lines.append(line)
        lines.append("")
    lines.append("\\end\\")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
