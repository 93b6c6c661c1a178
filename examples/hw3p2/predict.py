#!/usr/bin/env python
"""Decode the test split with a trained checkpoint and write a Kaggle submission.

    python examples/hw3p2/predict.py      # runs/hw3p2/best.pt on the embedded corpus
    python examples/hw3p2/predict.py --data ROOT --checkpoint runs/hw3p2/best.pt --beam-width 50
    python examples/hw3p2/predict.py --lm phones.arpa --lm-weight 0.5 --insertion-bonus 1.0
    python examples/hw3p2/predict.py --words                   # also words, via ROOT/lexicon.txt
    python examples/hw3p2/predict.py --words --word-lm fit     # and a word 3-gram of train/text

Utterances are decoded in ``ROOT/test/test_order.csv`` order; submission.csv
has the header ``id,predictions`` with ids from 0 in that order and one
character string per utterance (the HW3P2 character map). When reference
transcripts exist (``ROOT/test_transcripts/*.npy``, which the embedded corpus
writes), the submission is scored and the mean distance printed.

``--words`` also decodes each utterance to words through the pronunciation lexicon
(``--lexicon``, default ``ROOT/lexicon.txt``; ``SIL`` may stand between words),
without and with a word LM (``--word-lm``: an ARPA file, or ``fit`` for a 3-gram of
``ROOT/train/text``), writes ``words.csv`` (``id,words``) beside the submission, and,
with references, prints the PER of the lexicon-constrained phonemes beside the
phoneme beam search's and the WER against ``ROOT/test_text``. ``--dump`` writes the
test log-probabilities (``test_posteriors.npz``) for ``benchmarks/bench_words_peers.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ctckit import hw3p2_vocabulary
from ctckit._checks import check_device, check_float, check_int
from ctckit._cli import run_cli
from ctckit.data import BucketBatchSampler, UnlabeledDataset, collate_ctc
from ctckit.decode import BeamSearchDecoder, NGramLM
from ctckit.errors import DataError
from ctckit.files import atomic_open
from ctckit.metrics import ErrorRateMeter
from ctckit.training import cpu_threads_per_process, default_corpus_root, load_trained_model


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = p.add_argument
    add("--data", type=Path, help="HW3P2-layout root (default: the embedded corpus)")
    add("--checkpoint", type=Path, default=Path("runs/hw3p2/best.pt"))
    add("--output", type=Path, help="default: submission.csv beside the checkpoint")
    add("--beam-width", type=int, default=20)
    add("--lm", type=Path, help="phoneme n-gram LM in ARPA format")
    add("--lm-weight", type=float, default=0.5)
    add("--insertion-bonus", type=float, default=0.0)
    add("--batch-frames", type=int, default=20000)
    add("--device", help="cpu, cuda or cuda:N (default: cuda if available)")
    add("--threads", type=int, help="torch threads (CPU default: the usable cores, 1 to 4)")
    add("--transcripts", type=Path, help="reference transcripts (default: ROOT/test_transcripts)")
    add("--words", action="store_true", help="also decode to words through a lexicon")
    add("--lexicon", type=Path, help="pronunciation lexicon (default: ROOT/lexicon.txt)")
    add("--word-lm", help="word LM for --words: an ARPA file, or 'fit' (train texts)")
    add("--word-lm-weight", type=float, default=0.5, help="alpha (natural-log LM scores)")
    add("--word-score", type=float, default=0.0, help="added per word")
    add("--word-token-min-logp", type=float, default=None,
        help="lexicon decoding skips tokens below this in a frame (default: none; a pruned "
        "search dies where the model misses a phoneme the lexicon needs)")  # fmt: skip
    add("--dump", action="store_true", help="write test_posteriors.npz beside the output")
    return p


def main(args: argparse.Namespace) -> int:
    # Check every option, and read the checkpoint and the LM, before the data and the model.
    check_int(args.beam_width, "--beam-width", 1)
    check_int(args.batch_frames, "--batch-frames", 1)
    check_float(args.lm_weight, "--lm-weight")
    check_float(args.insertion_bonus, "--insertion-bonus")
    if args.threads is not None:
        check_int(args.threads, "--threads", 1)
    device = check_device(
        args.device or ("cuda" if torch.cuda.is_available() else "cpu"), "--device"
    )
    root = args.data if args.data is not None else default_corpus_root()
    if not (root / "test").is_dir():
        raise DataError("no test/ folder: --data must be an HW3P2-layout root", path=root)
    model, saved = load_trained_model(args.checkpoint)
    config = saved.config
    vocab = hw3p2_vocabulary()
    lm = NGramLM.from_arpa(args.lm, vocab) if args.lm is not None else None
    decoder = BeamSearchDecoder(
        beam_width=args.beam_width,
        lm=lm,
        lm_weight=args.lm_weight if lm is not None else 0.0,
        insertion_bonus=args.insertion_bonus,
    )
    if args.threads or device.type == "cpu":
        torch.set_num_threads(args.threads or cpu_threads_per_process())

    model.to(device)
    test = UnlabeledDataset(root, "test", normalize=bool(config.get("normalize", False)))
    sampler = BucketBatchSampler(
        test.lengths,
        max_frames=max(args.batch_frames, int(test.lengths.max())),
        shuffle=False,
        num_replicas=1,
        rank=0,
    )
    predictions: dict[str, str] = {}
    kept: dict[str, np.ndarray] = {}  # log-probabilities, for --words and --dump
    t0 = time.perf_counter()
    with torch.no_grad():
        for batch in DataLoader(test, batch_sampler=sampler, collate_fn=collate_ctc):
            log_probs, lengths = model(batch.features.to(device), batch.feature_lengths.to(device))
            for uid, hyps in zip(batch.ids, decoder.decode(log_probs.float(), lengths)):
                predictions[uid] = vocab.to_string(hyps[0].tokens)
            if args.words or args.dump:
                for k, uid in enumerate(batch.ids):
                    kept[uid] = log_probs[k, : int(lengths[k])].float().cpu().numpy()
    rows = [(i, predictions[uid]) for i, uid in enumerate(test.ids)]
    out = args.output or args.checkpoint.parent / "submission.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "predictions"])
    writer.writerows(rows)
    with atomic_open(out, "w") as fh:
        fh.write(buf.getvalue())
    print(
        f"wrote {out}: {len(rows)} predictions ({time.perf_counter() - t0:.1f} s, "
        f"beam {args.beam_width}"
        f"{', LM ' + str(args.lm) if lm is not None else ''})"
    )

    refs_dir = args.transcripts or (Path(root) / "test_transcripts")
    if refs_dir.is_dir():
        meter = ErrorRateMeter()
        for uid in test.ids:
            path = refs_dir / f"{uid}.npy"
            if not path.is_file():
                raise DataError("missing reference transcript", path=path)
            symbols = np.load(path, allow_pickle=False).tolist()
            meter.update([predictions[uid]], [vocab.to_string(vocab.encode(symbols))])
        print(
            f"test mean distance {meter.mean_distance:.3f}  PER {meter.error_rate:.3f} "
            f"({meter.utterances} utterances, references from {refs_dir})"
        )
    if args.words or args.dump:
        lp, lens = _padded([kept[uid] for uid in test.ids])
        refs = _texts(root, test.ids)
        if args.dump:
            np.savez(out.parent / "test_posteriors.npz", log_probs=lp, lengths=lens,
                     labels=np.asarray(vocab.labels), texts=np.asarray(refs or []))  # fmt: skip
        if args.words:
            _words(args, root, vocab, test.ids, lp, lens, refs, refs_dir, out, predictions)
    return 0


def _padded(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lens = np.asarray([len(r) for r in rows], dtype=np.int64)
    out = np.zeros((len(rows), int(lens.max()), rows[0].shape[1]), np.float32)
    for k, r in enumerate(rows):
        out[k, : len(r)] = r
    return out, lens


def _texts(root: Path, ids: list[str]) -> list[str] | None:
    folder = Path(root) / "test_text"
    if not folder.is_dir():
        return None
    return [(folder / f"{uid}.txt").read_text(encoding="utf-8").strip() for uid in ids]


def _words(args, root, vocab, ids, lp, lens, refs, refs_dir, out, phones):  # type: ignore[no-untyped-def]
    """Lexicon decoding without and with the word LM; words.csv; PER and WER."""
    from rapidfuzz.distance import Levenshtein

    from ctckit.decode import WordBeamSearchDecoder
    from ctckit.lm import Lexicon, WordNGramLM

    lexicon = Lexicon.from_file(args.lexicon or Path(root) / "lexicon.txt", vocab)
    lm = None
    if args.word_lm == "fit":
        texts = [
            f.read_text(encoding="utf-8")
            for f in sorted((Path(root) / "train" / "text").glob("*.txt"))
        ]
        lm = WordNGramLM.fit(texts, order=3)
        lm.to_arpa(out.parent / "words.arpa")
    elif args.word_lm:
        lm = WordNGramLM.from_arpa(args.word_lm)
    runs = [("lexicon, no LM", None)] + ([("lexicon + word LM", lm)] if lm is not None else [])
    for name, word_lm in runs:
        dec = WordBeamSearchDecoder(
            vocab, lexicon=lexicon, lm=word_lm, alpha=args.word_lm_weight if word_lm else 0.0,
            beta=0.0, word_score=args.word_score, sil_token="SIL", beam_width=args.beam_width,
            token_min_logp=args.word_token_min_logp,
        )  # fmt: skip
        hyps = [h[0] for h in dec.decode(lp, lens)]
        with atomic_open(out.parent / "words.csv", "w") as fh:  # the last run (with the LM) stays
            fh.write("id,words\n" + "".join(f"{i},{h.text}\n" for i, h in enumerate(hyps)))
        line = f"{name}: wrote {out.parent / 'words.csv'}"
        if refs_dir.is_dir():
            meter, base = ErrorRateMeter(), ErrorRateMeter()
            for uid, h in zip(ids, hyps):
                ref = vocab.to_string(vocab.encode(np.load(refs_dir / f"{uid}.npy").tolist()))
                meter.update([vocab.to_string(h.tokens)], [ref])
                base.update([phones[uid]], [ref])
            line += (
                f"; PER of its phonemes {meter.error_rate:.3f} (phoneme beam {base.error_rate:.3f})"
            )
        if refs is not None:
            edits = sum(Levenshtein.distance(r.split(), list(h.words)) for r, h in zip(refs, hyps))
            line += f"; test WER {edits / max(1, sum(len(r.split()) for r in refs)):.4f}"
        print(line)


if __name__ == "__main__":
    sys.exit(run_cli(parser(), main))
