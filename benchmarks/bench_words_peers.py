"""Decoding to words: ctckit vs pyctcdecode (with kenlm) and flashlight-text (with KenLM).

Every decoder reads the same posteriors, the same ARPA file and the same word
list, and is timed alike: one warm-up call each, then ``--repeats`` rounds in
which every decoder decodes the same batch once, in turn (interleaved), and the
best round counts; beside it, the median over rounds of the ratio within a round (the
machine has phases of seconds in which load/store-heavy code runs up to 1.7x slower,
and a round's calls share one). Quality beside speed: WER against the reference texts.

Posteriors come from an ``.npz`` file with ``log_probs`` (B, T, V) float32,
``lengths`` (B,), ``labels`` (V,) and ``texts`` (B,) (the references), as
``examples/words/evaluate.py --dump`` writes for the character model's test
split, or from pyctcdecode's LibriSpeech logits (``--libri``, one utterance,
repeated to make a batch).

Lexicon-free (character model, ``--arpa``; ``--char-arpa`` for flashlight's
lexicon-free decoder, which scores every token with a *token* LM):

* ``ctckit``: :class:`ctckit.decode.WordBeamSearchDecoder`, 1 and 2 threads;
* ``ctckit front door``: ``ctckit.compat.pyctcdecode.build_ctcdecoder(...).decode_batch``;
* ``pyctcdecode``: ``pyctcdecode.build_ctcdecoder(...).decode_batch(None, ...)``;
* ``flashlight lexicon-free``: ``LexiconFreeDecoder`` with KenLM on ``--char-arpa``;
* ``flashlight lexicon (spelled unigrams)``: ``LexiconDecoder`` whose lexicon spells
  each unigram in characters followed by the delimiter, with KenLM on ``--arpa``.

Lexicon mode (``--lexicon``, e.g. the phoneme model's posteriors with the corpus's
``lexicon.txt``): ctckit's lexicon mode (exact merging, 1 and 2 threads, and
``merge="max"``) vs flashlight's ``LexiconDecoder``, with ``log_add`` False and True.
Here flashlight's pruned posteriors keep the blank column whole: flashlight ends a word
on the first frame of its last token and can then only take blank or silence, so a last
phoneme held two frames (common in a phoneme model's output) needs the blank that plain
pruning sets to -inf. ctckit's lexicon mode keeps the blank whole too (its default
``prune_blank=False`` there), so both search the same posteriors; the row
``ctckit lexicon, prune_blank=True`` prunes the blank like any token (pyctcdecode's rule).

The LM weights correspond: ctckit's (and pyctcdecode's) ``alpha`` weighs
natural-log LM scores and ``beta`` is a bonus per word; flashlight's
``lm_weight = alpha * ln 10`` weighs log10 scores and ``word_score = beta``.
Token pruning: ctckit and pyctcdecode skip tokens below ``--token-min-logp`` in a
frame (its best token kept); flashlight, which has only a top-k knob, is given the
same posteriors with those entries set to -inf, which prunes the same tokens.

Run in the peers environment (pyctcdecode pins NumPy < 2):

    .venv-peers/bin/python benchmarks/bench_words_peers.py --posteriors runs/words/test_posteriors.npz \\
        --arpa runs/words/words.arpa --char-arpa runs/words/chars.arpa
    .venv-peers/bin/python benchmarks/bench_words_peers.py --libri
    .venv-peers/bin/python benchmarks/bench_words_peers.py --posteriors runs/hw3p2/test_posteriors.npz \\
        --arpa runs/hw3p2/words.arpa --lexicon ROOT/lexicon.txt --sil-token SIL
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

LN10 = math.log(10.0)
PEER_ASSETS = Path(__file__).resolve().parents[2] / "shared" / "peer_assets"
LIBRI_LABELS = [" ", *"abcdefghijklmnopqrstuvwxyz", "'", ""]


# ----------------------------------------------------------------------------- inputs


class Posteriors:
    def __init__(self, log_probs: np.ndarray, lengths: np.ndarray, labels: list[str],
                 texts: list[str]) -> None:  # fmt: skip
        self.log_probs = np.ascontiguousarray(log_probs, dtype=np.float32)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.labels = labels
        self.texts = texts
        self.blank = labels.index("") if "" in labels else 0

    def utterances(self) -> list[np.ndarray]:
        return [self.log_probs[b, :n] for b, n in enumerate(self.lengths.tolist())]


def load_posteriors(path: Path, limit: int | None) -> Posteriors:
    with np.load(path, allow_pickle=False) as z:
        lp, lens = z["log_probs"], z["lengths"]
        labels = [str(x) for x in z["labels"]]
        texts = [str(x) for x in z["texts"]]
    if limit is not None:
        lp, lens, texts = lp[:limit], lens[:limit], texts[:limit]
    return Posteriors(lp, lens, labels, texts)


def libri_posteriors(copies: int) -> Posteriors:
    with open(PEER_ASSETS / "pyctcdecode" / "libri_logits.json") as f:
        logits = np.asarray(json.load(f), dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    lp = (logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))).astype(np.float32)
    text = ("i have a good deal of will you remember and what i have set my mind upon no doubt "
            "i shall some day achieve")  # fmt: skip
    batch = np.repeat(lp[None], copies, axis=0)
    return Posteriors(batch, np.full(copies, lp.shape[0]), LIBRI_LABELS, [text] * copies)


def pruned_copy(p: Posteriors, token_min_logp: float, keep_blank: bool = False) -> np.ndarray:
    """The posteriors with entries below ``token_min_logp`` set to -inf (each frame's
    best entry kept): what ctckit's and pyctcdecode's ``token_min_logp`` consider.
    ``keep_blank`` leaves the blank column whole: ctckit's word search always extends
    by blank, whatever ``token_min_logp``."""
    x = p.log_probs.copy()
    best = x.max(axis=2, keepdims=True)
    x[(x < token_min_logp) & (x < best)] = -np.inf
    if keep_blank:
        x[:, :, p.blank] = p.log_probs[:, :, p.blank]
    return x


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    import jiwer

    return float(jiwer.wer(list(refs), [h if h else "" for h in hyps]))


# ----------------------------------------------------------------------------- timing


def interleaved_best(fns: dict[str, Callable[[], list[str]]], repeats: int, budget: float
                     ) -> tuple[dict[str, float], dict[str, list[str]], dict[str, list[float]]]:  # fmt: skip
    """Warm up each, then ``repeats`` rounds of one call each in turn; best round per name,
    the outputs, and each name's time in every round it ran (for paired ratios). A decoder
    whose first call took more than ``budget`` seconds runs once more only."""
    outputs = {name: fn() for name, fn in fns.items()}  # warm-up (and the outputs)
    rounds: dict[str, list[float]] = {name: [] for name in fns}
    slow: set[str] = set()
    for r in range(repeats):
        for name, fn in fns.items():
            if name in slow and r > 0:
                continue
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            rounds[name].append(dt)
            if dt > budget:
                slow.add(name)
    return {name: min(ts) for name, ts in rounds.items()}, outputs, rounds


def paired_ratio(rounds: dict[str, list[float]], ref: str, name: str) -> float:
    """Median over rounds of ``ref``'s time over ``name``'s in the same round. The machine
    runs load/store-heavy code up to 1.7x slower for seconds at a time, so a round's two
    calls, a fraction of a second apart, share a phase where two best rounds need not."""
    pairs = min(len(rounds[ref]), len(rounds[name]))
    return float(np.median([rounds[ref][r] / rounds[name][r] for r in range(pairs)]))


# ----------------------------------------------------------------------------- decoders


def ctckit_free(p: Posteriors, args: argparse.Namespace, threads: int,
                unigrams: list[str] | None) -> Callable[[], list[str]]:  # fmt: skip
    from ctckit.decode.words import WordBeamSearchDecoder
    from ctckit.lm import WordNGramLM

    lm = WordNGramLM.from_arpa(args.arpa) if args.arpa else None
    dec = WordBeamSearchDecoder(
        p.labels, lm=lm, word_delimiter=args.delimiter, unigrams=unigrams,
        alpha=args.alpha if lm else 0.0, beta=args.beta if lm else 0.0,
        beam_width=args.beam_width, token_min_logp=args.token_min_logp,
        beam_prune_logp=args.beam_prune_logp, num_threads=threads, blank=p.blank,
        hotwords=args.hotwords,
    )  # fmt: skip
    return lambda: [h[0].text for h in dec.decode(p.log_probs, p.lengths)]


def front_door(module: str, p: Posteriors, args: argparse.Namespace,
               unigrams: list[str] | None) -> Callable[[], list[str]]:  # fmt: skip
    build = __import__(module, fromlist=["build_ctcdecoder"]).build_ctcdecoder
    labels = [" " if lab == args.delimiter else lab for lab in p.labels]
    dec = build(labels, str(args.arpa) if args.arpa else None, unigrams=unigrams,
                alpha=args.alpha, beta=args.beta)  # fmt: skip
    utts = p.utterances()
    kw = {"beam_width": args.beam_width, "beam_prune_logp": args.beam_prune_logp,
          "token_min_logp": args.token_min_logp, "hotwords": args.hotwords or None}  # fmt: skip
    return lambda: dec.decode_batch(None, utts, **kw)


def _flashlight_run(dec: Any, x: np.ndarray, lengths: np.ndarray, words: Callable[[Any], str]
                    ) -> list[str]:  # fmt: skip
    out = []
    vocab = x.shape[2]
    for b, n in enumerate(lengths.tolist()):
        res = dec.decode(x[b].ctypes.data, int(n), vocab)
        out.append(words(res[0]) if len(res) else "")
    return out


def flashlight_free(p: Posteriors, x: np.ndarray, args: argparse.Namespace
                    ) -> Callable[[], list[str]]:  # fmt: skip
    from flashlight.lib.text.decoder import (
        CriterionType,
        KenLM,
        LexiconFreeDecoder,
        LexiconFreeDecoderOptions,  # fmt: skip
        ZeroLM,
    )
    from flashlight.lib.text.dictionary import create_word_dict

    # ARPA words hold no whitespace: a space delimiter is named '|' (as chars.arpa writes it)
    names = [("|" if lab == args.delimiter else lab) or "<blank>" for lab in p.labels]
    sil = p.labels.index(args.delimiter)
    d = {n: [[n]] for n in names}
    d["<unk>"] = [["<unk>"]]
    word_dict = create_word_dict(d)
    lm = KenLM(str(args.char_arpa), word_dict) if args.char_arpa else ZeroLM()
    opts = LexiconFreeDecoderOptions(
        beam_size=args.beam_width, beam_size_token=len(p.labels),
        beam_threshold=-args.beam_prune_logp, lm_weight=args.char_lm_weight * LN10,
        sil_score=0.0, log_add=False, criterion_type=CriterionType.CTC,
    )  # fmt: skip
    dec = LexiconFreeDecoder(opts, lm, sil, p.blank, [])
    delim = args.delimiter

    def words(r: Any) -> str:
        toks = [t for i, t in enumerate(r.tokens) if t >= 0 and (i == 0 or t != r.tokens[i - 1])]
        text = "".join(p.labels[t] for t in toks if t != p.blank)
        return " ".join(text.replace(delim, " ").split())

    return lambda: _flashlight_run(dec, x, p.lengths, words)


def flashlight_lexicon_decoder(p: Posteriors, args: argparse.Namespace,
                               lexicon: dict[str, list[list[str]]], log_add: bool, sil_name: str
                               ) -> tuple[Any, Any]:  # fmt: skip
    """flashlight-text's ``LexiconDecoder`` on ``lexicon`` (with KenLM on ``args.arpa``, if
    any) and its word dictionary."""
    from flashlight.lib.text.decoder import (
        CriterionType,
        KenLM,
        LexiconDecoder,
        LexiconDecoderOptions,
        SmearingMode,  # fmt: skip
        Trie,
        ZeroLM,
    )
    from flashlight.lib.text.dictionary import create_word_dict

    index = {lab: i for i, lab in enumerate(p.labels) if lab}
    sil = index[sil_name]
    lex = dict(lexicon)
    lex.setdefault("<unk>", [])
    word_dict = create_word_dict(lex)
    lm = KenLM(str(args.arpa), word_dict) if args.arpa else ZeroLM()
    trie = Trie(len(p.labels), sil)
    start = lm.start(False)
    for word, spellings in lexicon.items():
        wid = word_dict.get_index(word)
        _, score = lm.score(start, wid)
        for sp in spellings:
            trie.insert([index[t] for t in sp], wid, score)
    trie.smear(SmearingMode.MAX)
    opts = LexiconDecoderOptions(
        beam_size=args.beam_width, beam_size_token=len(p.labels),
        beam_threshold=-args.beam_prune_logp, lm_weight=args.alpha * LN10 if args.arpa else 0.0,
        word_score=args.word_score, unk_score=-math.inf, sil_score=0.0, log_add=log_add,
        criterion_type=CriterionType.CTC,
    )  # fmt: skip
    dec = LexiconDecoder(opts, trie, lm, sil, p.blank, word_dict.get_index("<unk>"), [], False)
    return dec, word_dict


def flashlight_lexicon(p: Posteriors, x: np.ndarray, args: argparse.Namespace,
                       lexicon: dict[str, list[list[str]]], log_add: bool, sil_name: str
                       ) -> Callable[[], list[str]]:  # fmt: skip
    dec, word_dict = flashlight_lexicon_decoder(p, args, lexicon, log_add, sil_name)

    def words(r: Any) -> str:
        return " ".join(word_dict.get_entry(w) for w in r.words if w >= 0)

    return lambda: _flashlight_run(dec, x, p.lengths, words)


def ctckit_lexicon(p: Posteriors, args: argparse.Namespace, lexicon: dict[str, list[list[str]]],
                   threads: int, merge: str = "sum", prune_blank: bool | None = None
                   ) -> Callable[[], list[str]]:  # fmt: skip
    from ctckit.decode.words import WordBeamSearchDecoder

    dec = WordBeamSearchDecoder(
        p.labels, lexicon=lexicon, lm=str(args.arpa) if args.arpa else None,
        alpha=args.alpha if args.arpa else 0.0, beta=0.0, word_score=args.word_score,
        sil_token=args.sil_token, beam_width=args.beam_width, token_min_logp=args.token_min_logp,
        beam_prune_logp=args.beam_prune_logp, num_threads=threads, blank=p.blank, merge=merge,
        prune_blank=prune_blank,
    )  # fmt: skip
    return lambda: [h[0].text for h in dec.decode(p.log_probs, p.lengths)]


def read_lexicon(path: Path) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts:
            out.setdefault(parts[0], []).append(parts[1:])
    return out


def lm_words(arpa: Path) -> list[str]:
    from ctckit.lm import WordNGramLM

    return [w for w in WordNGramLM.from_arpa(arpa).words if w not in ("<s>", "</s>", "<unk>")]


# ----------------------------------------------------------------------------- main


def report(title: str, p: Posteriors, times: dict[str, float], outs: dict[str, list[str]],
           rounds: dict[str, list[float]], ref: str) -> None:  # fmt: skip
    n = len(p.texts)
    print(f"\n{title}  ({n} utterances, {int(p.lengths.sum())} frames, V={len(p.labels)})")
    print(
        "| decoder | ms / utterance | WER | ctckit time / this (best rounds) "
        "| same, median of rounds |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, t in times.items():
        ratio = times[ref] / t
        paired = paired_ratio(rounds, ref, name)
        print(
            f"| {name} | {1000 * t / n:.3f} | {wer(p.texts, outs[name]):.4f} | {ratio:.4f}x "
            f"| {paired:.4f}x |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posteriors", type=Path)
    ap.add_argument("--libri", action="store_true", help="pyctcdecode's LibriSpeech logits")
    ap.add_argument("--libri-copies", type=int, default=20)
    ap.add_argument("--arpa", type=Path, help="word ARPA (default with --libri: none)")
    ap.add_argument("--char-arpa", type=Path, help="token ARPA for flashlight lexicon-free")
    ap.add_argument("--unigrams", type=Path, help="one word a line (default: the ARPA's)")
    ap.add_argument("--lexicon", type=Path, help="lexicon mode: word tok1 tok2 ... per line")
    ap.add_argument("--sil-token", default=None, help="lexicon mode: the silence label")
    ap.add_argument("--delimiter", default=" ", help="the word delimiter label (lexicon-free)")
    ap.add_argument("--hotwords", nargs="*", default=[])
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--beta", type=float, default=1.5)
    ap.add_argument("--word-score", type=float, default=0.0, help="lexicon mode: per word")
    ap.add_argument("--char-lm-weight", type=float, default=0.5)
    ap.add_argument("--beam-width", type=int, default=100)
    ap.add_argument("--token-min-logp", type=float, default=-5.0)
    ap.add_argument("--beam-prune-logp", type=float, default=-10.0)
    ap.add_argument("--limit", type=int, default=None, help="first N utterances only")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--peer-budget",
        type=float,
        default=60.0,
        help="a decoder slower than this (s per batch) is timed twice only",
    )
    ap.add_argument("--skip-pyctcdecode", action="store_true")
    args = ap.parse_args(argv)
    if args.libri:
        p = libri_posteriors(args.libri_copies)
    elif args.posteriors:
        p = load_posteriors(args.posteriors, args.limit)
    else:
        ap.error("give --posteriors or --libri")
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    print(f"beam {args.beam_width}, token_min_logp {args.token_min_logp}, beam_prune_logp "
          f"{args.beam_prune_logp}, alpha {args.alpha}, beta {args.beta}")  # fmt: skip
    x = pruned_copy(p, args.token_min_logp)
    if args.lexicon:
        lexicon = read_lexicon(args.lexicon)
        # flashlight emits a word when its last token starts and then waits at the trie's
        # root, where only blank or silence continue: a last token that lasts two frames
        # needs blank there, which the plain pruned copy sets to -inf (every such path died)
        x = pruned_copy(p, args.token_min_logp, keep_blank=True)
        fns = {"ctckit lexicon, 1 thread": ctckit_lexicon(p, args, lexicon, 1),
               "ctckit lexicon, 2 threads": ctckit_lexicon(p, args, lexicon, 2),
               "ctckit lexicon, merge=max": ctckit_lexicon(p, args, lexicon, 1, "max"),
               "ctckit lexicon, prune_blank=True": ctckit_lexicon(p, args, lexicon, 1,
                                                                  prune_blank=True)}  # fmt: skip
        for log_add in (False, True):
            fns[f"flashlight LexiconDecoder, log_add={log_add}"] = flashlight_lexicon(
                p, x, args, lexicon, log_add, args.sil_token
            )
        times, outs, rounds = interleaved_best(fns, args.repeats, args.peer_budget)
        report("lexicon decoding", p, times, outs, rounds, "ctckit lexicon, 1 thread")
    else:
        unigrams = None
        if args.unigrams:
            unigrams = args.unigrams.read_text(encoding="utf-8").split()
        fns = {"ctckit, 1 thread": ctckit_free(p, args, 1, unigrams),
               "ctckit, 2 threads": ctckit_free(p, args, 2, unigrams),
               "ctckit front door (pyctcdecode API)": front_door("ctckit.compat.pyctcdecode", p, args, unigrams)}  # fmt: skip
        if not args.skip_pyctcdecode:
            fns["pyctcdecode + kenlm"] = front_door("pyctcdecode", p, args, unigrams)
        fns["flashlight lexicon-free (token LM)"] = flashlight_free(p, x, args)
        if args.arpa:
            words = unigrams if unigrams is not None else lm_words(args.arpa)
            spelled = {w: [[*w, args.delimiter]] for w in words
                       if all(c in p.labels for c in w)}  # fmt: skip
            fns["flashlight lexicon (spelled unigrams)"] = flashlight_lexicon(
                p, x, args, spelled, False, args.delimiter
            )
        times, outs, rounds = interleaved_best(fns, args.repeats, args.peer_budget)
        report("lexicon-free decoding to words", p, times, outs, rounds, "ctckit, 1 thread")
    one, two = list(times)[:2]
    print(
        f"\ntwo threads / one: {times[one] / times[two]:.2f}x best rounds, "
        f"{paired_ratio(rounds, one, two):.2f}x median of rounds"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
