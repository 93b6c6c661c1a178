"""Lexicon decoding: where ctckit and flashlight-text's ``LexiconDecoder`` give different
words, and whose result scores higher under each decoder's objective.

Both decode the same posteriors as ``bench_words_peers.py --lexicon`` does (ctckit with
its ``token_min_logp``; flashlight the pruned copy with the blank column whole). Each
result that differs is re-scored exactly on that pruned copy: its tokens' CTC
log-probability summed over alignments (ctckit's objective) or of their best alignment
(flashlight's ``log_add=False``), plus ``alpha * ln 10 * log10 P_LM(words </s>)``, and the
utterances are counted by which objective prefers whose words, with each decoder's
word errors there. Run in the peers environment:

    .venv-peers/bin/python benchmarks/bench_words_lexicon_diff.py --posteriors run/test_posteriors.npz \\
        --arpa run/words.arpa --lexicon corpus_v1/lexicon.txt --sil-token SIL
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_words_peers as peers

LN10 = math.log(10.0)


def ctc_log_prob(lp: np.ndarray, tokens: list[int], blank: int, best: bool) -> float:
    """log P(tokens | lp) summed over the CTC alignments (``best``: of the best one)."""
    ext = [blank]
    for t in tokens:
        ext += [t, blank]
    skip = np.array([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(len(ext))])
    comb = np.maximum if best else np.logaddexp
    a = np.full(len(ext), -np.inf)
    a[: min(2, len(ext))] = lp[0, ext[:2]]
    for t in range(1, lp.shape[0]):
        b = a.copy()
        b[1:] = comb(b[1:], a[:-1])
        b[2:] = np.where(skip[2:], comb(b[2:], a[:-2]), b[2:])
        a = b + lp[t, ext]
    return float(comb(a[-1], a[-2]) if len(ext) > 1 else a[-1])


def flashlight_results(p: peers.Posteriors, x: np.ndarray, args: argparse.Namespace,
                       lexicon: dict[str, list[list[str]]]) -> list[tuple[list[int], list[str]]]:  # fmt: skip
    """flashlight's best tokens and words per utterance (``log_add=False``)."""
    dec, word_dict = peers.flashlight_lexicon_decoder(p, args, lexicon, False, args.sil_token)
    out = []
    for b, n in enumerate(p.lengths.tolist()):
        r = dec.decode(x[b].ctypes.data, int(n), len(p.labels))[0]
        path = [t for t in r.tokens if t >= 0]
        toks = [t for i, t in enumerate(path) if t != p.blank and (i == 0 or t != path[i - 1])]
        out.append((toks, [word_dict.get_entry(w) for w in r.words if w >= 0]))
    return out


def errors(ref: str, hyp: str) -> int:
    import jiwer

    o = jiwer.process_words(ref, hyp if hyp else "")
    return int(o.substitutions + o.deletions + o.insertions)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posteriors", type=Path, required=True)
    ap.add_argument("--arpa", type=Path, required=True)
    ap.add_argument("--lexicon", type=Path, required=True)
    ap.add_argument("--sil-token", default="SIL")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--beam-width", type=int, default=100)
    ap.add_argument("--token-min-logp", type=float, default=-5.0)
    ap.add_argument("--beam-prune-logp", type=float, default=-10.0)
    ap.add_argument("--word-score", type=float, default=0.0)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    from ctckit.decode.words import WordBeamSearchDecoder
    from ctckit.lm import WordNGramLM

    p = peers.load_posteriors(args.posteriors, args.limit)
    lexicon = peers.read_lexicon(args.lexicon)
    lm = WordNGramLM.from_arpa(args.arpa)
    x = peers.pruned_copy(p, args.token_min_logp, keep_blank=True)
    ours = WordBeamSearchDecoder(
        p.labels, lexicon=lexicon, lm=lm, alpha=args.alpha, beta=0.0, sil_token=args.sil_token,
        beam_width=args.beam_width, token_min_logp=args.token_min_logp,
        beam_prune_logp=args.beam_prune_logp, num_threads=1, blank=p.blank,
    ).decode(p.log_probs, p.lengths)  # fmt: skip
    theirs = flashlight_results(p, x, args, lexicon)

    def score(b: int, tokens: list[int], words: tuple[str, ...] | list[str], best: bool) -> float:
        if not words:
            return -math.inf
        lp = x[b, : int(p.lengths[b])].astype(np.float64)
        return ctc_log_prob(lp, tokens, p.blank, best) + args.alpha * LN10 * lm.score(
            " ".join(words), bos=True, eos=True
        )

    table: dict[str, list[int]] = {}
    for b, (hyps, (fl_tokens, fl_words)) in enumerate(zip(ours, theirs)):
        h = hyps[0]
        if h.words == tuple(fl_words):
            continue
        if not h.words:
            kind = "ctckit has no hypothesis"
        else:
            ck_sum, fl_sum = (
                score(b, list(h.tokens), h.words, False),
                score(b, fl_tokens, fl_words, False),
            )
            ck_max, fl_max = (
                score(b, list(h.tokens), h.words, True),
                score(b, fl_tokens, fl_words, True),
            )
            if ck_sum >= fl_sum and ck_max >= fl_max:
                kind = "ctckit's words score higher under both objectives"
            elif ck_sum >= fl_sum:
                kind = "ctckit's words score higher summed, flashlight's under max merging"
            elif ck_max >= fl_max:
                kind = "flashlight's words score higher summed, ctckit's under max merging"
            else:
                kind = "flashlight's words score higher under both"
        ref = p.texts[b]
        row = table.setdefault(kind, [0, 0, 0, 0])
        row[0] += 1
        row[1] += len(ref.split())
        row[2] += errors(ref, h.text)
        row[3] += errors(ref, " ".join(fl_words))
    print(f"{len(p.texts)} utterances, {sum(len(t.split()) for t in p.texts)} reference words")
    print("| utterances where | count | reference words | ctckit's errors | flashlight's errors |")
    print("|:--|--:|--:|--:|--:|")
    for kind, (count, words, ck, fl) in sorted(table.items()):
        print(f"| {kind} | {count} | {words} | {ck} | {fl} |")
    total = [sum(r[i] for r in table.values()) for i in range(4)]
    print(f"| all that differ | {total[0]} | {total[1]} | {total[2]} | {total[3]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
