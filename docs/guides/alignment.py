"""Guide: phone timestamps and long-audio alignment with ctckit.align.

    python docs/guides/alignment.py                      # the guide (simulated model)
    python docs/guides/alignment.py --quick              # smaller (the docs tests run this)
    python docs/guides/alignment.py --checkpoint runs/hw3p2/best.pt --plot spans.png

The transcripts and the true phoneme times come from the embedded corpus
(``ctckit.data.synth``, needs the ``synth`` extra), which writes when espeak-ng
started each phoneme. Without ``--checkpoint`` the acoustic model is
simulated, so that the guide runs in seconds, shaped like a CTC model's
outputs: blanks win most frames, each phoneme's label rises over its frames
and spikes for a frame or two in its second half (CTC spikes come late).
With a trained checkpoint (made by ``examples/hw3p2/train.py``) its
log-probabilities are used instead.
``--plot`` draws one utterance's spans over its posteriorgram (the ``plot``
extra).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from ctckit import hw3p2_vocabulary
from ctckit.align import align, align_long, forced_align, segment
from ctckit.data.synth import make_corpus, read_alignments

HOP_MS = 10  # one MFCC frame every 10 ms
STRIDE = 2  # model frames are 2 MFCC frames (the stride-2 presets)


def simulate(truth: np.ndarray, tokens: list[int], n_mfcc: int, vocab_size: int,
             rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """(T, V) log-probs at the model's stride, shaped like a CTC model's: the blank wins
    most frames; a phoneme's label rises above its neighbours over the phoneme's frames
    and spikes above the blank for a frame or two in its second half."""
    n_frames = (n_mfcc - 1) // STRIDE + 1
    logits = rng.normal(size=(n_frames, vocab_size))
    logits[:, 0] += 6.0  # blank
    for (start, end), token in zip(truth, tokens):
        a, b = start // STRIDE, max(start // STRIDE + 1, end // STRIDE)
        logits[a:b, token] += 4.0
        spike = int(rng.integers((a + b) // 2, b))
        logits[spike : spike + int(rng.integers(1, 3)), token] += 6.0
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def model_log_probs(checkpoint: Path, root: Path) -> list[np.ndarray]:
    """A trained model's log-probabilities of every dev utterance (CPU)."""
    import torch

    from ctckit.data import PhonemeDataset
    from ctckit.training import load_trained_model

    model, saved = load_trained_model(checkpoint)
    data = PhonemeDataset(root, "dev", normalize=bool(saved.config.get("normalize", False)))
    out = []
    with torch.no_grad():
        for i in range(len(data)):
            x = data[i].features[None]
            lp, n = model(x, torch.tensor([x.shape[1]]))
            out.append(lp[0, : int(n[0])].numpy())
    return out


def within(pred_ms: np.ndarray, true_ms: np.ndarray, ms: int) -> float:
    return float(np.mean(np.abs(pred_ms - true_ms) <= ms))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    p.add_argument("--checkpoint", type=Path, default=None, help="a trained model (train.py)")
    p.add_argument("--plot", type=Path, default=None, help="draw utterance 0's spans here")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    vocab = hw3p2_vocabulary()

    # 1. Dev utterances of the embedded corpus, with each label's true [start, end) frames.
    root = Path(tempfile.mkdtemp(prefix="ctckit-align-"))
    make_corpus(root, 0, 24 if args.quick else 100, 0, seed=0, workers=1, progress=False)
    truth = read_alignments(root, "dev")  # id -> int32 (U, 2), MFCC frames
    ids = sorted(truth)
    targets = [vocab.encode(np.load(root / "dev/transcript" / f"{i}.npy").tolist()) for i in ids]
    n_mfcc = [np.load(root / "dev/mfcc" / f"{i}.npy", mmap_mode="r").shape[0] for i in ids]
    if args.checkpoint is None:
        lps = [simulate(truth[i], t, n, len(vocab), rng) for i, t, n in zip(ids, targets, n_mfcc)]
    else:
        lps = model_log_probs(args.checkpoint, root)
    n_labels = sum(len(t) for t in targets)
    first = f"{len(targets[0])} labels, {lps[0].shape[0]} frames of {STRIDE * HOP_MS} ms"
    print(f"{len(ids)} dev utterances, {n_labels} labels; first: {first}")

    # 2. One padded batch: (B, T, V) log-probs, (B,) lengths, the transcripts as targets.
    T = max(len(lp) for lp in lps)
    log_probs = np.full((len(lps), T, len(vocab)), -np.log(len(vocab)), np.float32)
    for b, lp in enumerate(lps):
        log_probs[b, : len(lp)] = lp
    lengths = np.array([len(lp) for lp in lps])

    # 3. forced_align: the best path that spells each transcript, frame by frame.
    labels, scores = forced_align(log_probs, targets, lengths)
    print(f"alignments {labels.shape}, utterance 0 path log-probability {scores[0].sum():.2f}")

    # 4. Token spans: one per transcript label, in order. Plain (spans are the spikes)
    #    and with the blank penalised (spans tile the frames: boundaries where the
    #    posterior moves from one label to the next).
    plain = align(log_probs, targets, lengths)
    tiled = align(log_probs, targets, lengths, blank_penalty=20.0)
    true_ms = np.concatenate([truth[i][:, 0] for i in ids]) * HOP_MS
    for name, spans in (("plain spans", plain), ("blank_penalty=20", tiled)):
        pred_ms = np.array([s.start for utt in spans for s in utt]) * STRIDE * HOP_MS
        print(f"{name:17} starts within 20 ms {within(pred_ms, true_ms, 20):.1%}, within 40 ms "
              f"{within(pred_ms, true_ms, 40):.1%}, median error "
              f"{np.median(np.abs(pred_ms - true_ms)):.0f} ms")  # fmt: skip
    uniform = np.concatenate([np.arange(len(t)) * n // len(t) for t, n in zip(targets, n_mfcc)])
    print(f"{'uniform':17} starts within 40 ms {within(uniform * HOP_MS, true_ms, 40):.1%}")

    # 5. Phone timestamps of utterance 0, with each span's confidence (its posterior share).
    print("phone  start(ms) true(ms)  confidence")
    for span, (start, _) in list(zip(tiled[0], truth[ids[0]]))[:8]:
        print(f"{vocab.labels[span.token]:5} {span.start * STRIDE * HOP_MS:9d} {start * HOP_MS:8d}"
              f"  {span.confidence:.3f}")  # fmt: skip

    # 6. A wildcard: align only part of a transcript; '*' absorbs the untranscribed rest.
    star = -1
    middle = targets[0][3:-3]
    spans = align(log_probs[0, : lengths[0]], [star, *middle, star], wildcard=star,
                  wildcard_penalty=-0.5)[0]  # fmt: skip
    start_err = abs(spans[1].start * STRIDE - truth[ids[0]][3, 0]) * HOP_MS
    then = f"{vocab.labels[spans[1].token]} at frame {spans[1].start}"
    print(
        f"wildcard: '*' spans frames {spans[0].start}-{spans[0].end}, then {then} "
        f"({start_err} ms from the truth)"
    )

    # 7. Long audio: every utterance's frames back to back (one long recording), aligned
    #    with a band of states that follows the best path; `exact` says it provably is.
    stream = np.concatenate(lps)
    offsets = np.cumsum([0] + [len(lp) for lp in lps])
    tokens = np.concatenate(targets)
    result = align_long(stream, tokens, band=1024)
    same = np.array_equal(result.alignment, forced_align(stream, tokens)[0])
    print(
        f"long: {stream.shape[0]} frames, {len(tokens)} tokens, proven exact: "
        f"{result.exact}, same path as forced_align: {same}"
    )

    # 8. Segmentation: where each utterance lies in the recording, and how well it matches.
    segments, _ = segment(stream, targets, band=1024)
    # each utterance starts and ends with silence (SIL): a cut anywhere in it is right
    error_ms = (
        np.array([abs(s.start - o) for s, o in zip(segments, offsets[:-1])]) * STRIDE * HOP_MS
    )
    print(f"segments: {len(segments)}, start error median {np.median(error_ms):.0f} ms, "
          f"max {error_ms.max():.0f} ms; lowest confidence "
          f"{min(s.confidence for s in segments):.2f}")  # fmt: skip

    if args.plot is not None:
        plot(args.plot, lps[0], tiled[0], plain[0], truth[ids[0]], vocab)
        print(f"wrote {args.plot}")


def plot(path: Path, lp: np.ndarray, tiled, plain, truth: np.ndarray, vocab) -> None:
    """Utterance 0: its posteriorgram, the spans over it, the true phone times under it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = STRIDE * HOP_MS
    end = lp.shape[0] * ms
    used = sorted({s.token for s in tiled} | {0})
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 5.2), sharex=True,
                                 gridspec_kw={"height_ratios": [4, 1.3]})  # fmt: skip
    ax.imshow(np.exp(lp[:, used]).T, aspect="auto", origin="lower", cmap="Greys",
              extent=(0, end, -0.5, len(used) - 0.5), vmin=0, vmax=1)  # fmt: skip
    ax.set_yticks(range(len(used)), [vocab.labels[u] or "blank" for u in used], fontsize=7)
    for s in tiled:
        row = used.index(s.token)
        ax.add_patch(plt.Rectangle((s.start * ms, row - 0.45), (s.end - s.start) * ms, 0.9,
                                   fill=False, ec="tab:blue", lw=1.2))  # fmt: skip
    for s in plain:
        ax.plot([s.start * ms, s.end * ms], [used.index(s.token)] * 2, color="tab:orange", lw=3)
    ax.set_title("posteriorgram; blue: spans with blank_penalty=20, orange: plain spans (spikes)")
    for k, ((a, b), tok) in enumerate(zip(truth, [s.token for s in tiled])):
        bx.axvspan(a * HOP_MS, b * HOP_MS, color="tab:green", alpha=0.15 + 0.25 * (k % 2))
        bx.text((a + b) / 2 * HOP_MS, 0.5, vocab.labels[tok], ha="center", va="center", fontsize=7)
    for s in tiled:
        bx.axvline(s.start * ms, color="tab:blue", lw=0.8)
    bx.set_yticks([])
    bx.set_ylabel("true", rotation=0, ha="right", va="center")
    bx.set_xlabel("time (ms); blue lines: predicted phone starts")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
