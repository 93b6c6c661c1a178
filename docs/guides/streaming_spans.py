"""Guide: token spans and confidences, and decoding a stream chunk by chunk.

    python docs/guides/streaming_spans.py                  # the guide (simulated model)
    python docs/guides/streaming_spans.py --quick          # smaller (the docs tests run this)
    python docs/guides/streaming_spans.py --checkpoint runs/hw3p2/best.pt --plot spans.png

The transcripts and the true phoneme times come from the embedded corpus
(``ctckit.data.synth``, needs the ``synth`` extra). Without ``--checkpoint`` the
acoustic model is simulated, so that the guide runs in seconds: blanks win most
frames, each phoneme spikes for a frame or two inside its true time, and on a
fifth of them a random other phoneme spikes as high (a confusion, which the
confidence should show). With a trained checkpoint (``examples/hw3p2/train.py``)
its log-probabilities are used instead. ``--plot`` draws utterance 0's spans and
confidences over its posteriorgram (the ``plot`` extra).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from ctckit import hw3p2_vocabulary
from ctckit.data.synth import make_corpus, read_alignments
from ctckit.decode import BeamSearchDecoder, TokenSpan, greedy_decode

HOP_MS = 10  # one MFCC frame every 10 ms
STRIDE = 2  # model frames are 2 MFCC frames (the stride-2 presets)


def simulate(truth: np.ndarray, tokens: list[int], n_mfcc: int, vocab_size: int,
             rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """(T, V) log-probs at the model's stride: blanks win most frames; each phoneme
    spikes for 1-2 frames in its true time, and on a fifth of them another phoneme
    spikes about as high."""
    n_frames = (n_mfcc - 1) // STRIDE + 1
    logits = rng.normal(size=(n_frames, vocab_size))
    logits[:, 0] += 6.0  # blank
    for (start, end), token in zip(truth, tokens):
        a, b = start // STRIDE, max(start // STRIDE + 1, end // STRIDE)
        spike = int(rng.integers(a, b))
        frames = slice(spike, spike + int(rng.integers(1, 3)))
        height = rng.uniform(8.0, 12.0)
        logits[frames, token] += height
        if rng.random() < 0.2:
            logits[frames, int(rng.integers(1, vocab_size))] += height + rng.normal(0.0, 1.0)
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
            out.append(lp[0, : int(n[0])].double().numpy())
    return out


def correct(spans: tuple[TokenSpan, ...], reference: list[int]) -> list[bool]:
    """Whether each decoded token is matched in the edit alignment to the reference."""
    ok = [False] * len(spans)
    for tag, i1, i2, _, _ in Levenshtein.opcodes([s.token for s in spans], reference):
        if tag == "equal":
            ok[i1:i2] = [True] * (i2 - i1)
    return ok


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

    # 1. Dev utterances of the embedded corpus, their transcripts and true phoneme times.
    root = Path(tempfile.mkdtemp(prefix="ctckit-spans-"))
    make_corpus(root, 0, 24 if args.quick else 100, 0, seed=0, workers=1, progress=False)
    truth = read_alignments(root, "dev")  # id -> int32 (U, 2), MFCC frames
    ids = sorted(truth)
    targets = [vocab.encode(np.load(root / "dev/transcript" / f"{i}.npy").tolist()) for i in ids]
    n_mfcc = [np.load(root / "dev/mfcc" / f"{i}.npy", mmap_mode="r").shape[0] for i in ids]
    if args.checkpoint is None:
        lps = [simulate(truth[i], t, n, len(vocab), rng) for i, t, n in zip(ids, targets, n_mfcc)]
    else:
        lps = model_log_probs(args.checkpoint, root)
    print(f"{len(ids)} dev utterances; first: {len(targets[0])} phonemes, "
          f"{lps[0].shape[0]} frames of {STRIDE * HOP_MS} ms")  # fmt: skip

    # 2. Beam search: every hypothesis has one TokenSpan per token, [start, end) frames on
    #    its best alignment and a confidence: the token's largest posterior in the span.
    decoder = BeamSearchDecoder(beam_width=10)
    best = [hyps[0] for hyps in (decoder.decode(lp)[0] for lp in lps)]
    h = best[0]
    print(f"utterance 0: {len(h.tokens)} tokens; spans[k].start == frames[k]: "
          f"{all(s.start == f for s, f in zip(h.spans, h.frames))}")  # fmt: skip
    print("phone  frames    ms          confidence")
    for s in h.spans[:8]:
        ms = f"{s.start * STRIDE * HOP_MS}-{s.end * STRIDE * HOP_MS}"
        print(f"{vocab.labels[s.token]:5}  {s.start:3d}-{s.end:<3d}  {ms:10}  {s.confidence:.3f}")

    # 3. What a confidence is worth: the share of tokens that are right, by confidence.
    conf = np.array([s.confidence for b in best for s in b.spans])
    ok = np.array([c for b, t in zip(best, targets) for c in correct(b.spans, t)])
    print(f"{ok.size} tokens, {ok.mean():.1%} correct (matched in the edit alignment)")
    for low, high in ((0.0, 0.6), (0.6, 0.9), (0.9, 1.01)):
        inside = (conf >= low) & (conf < high)
        share = f"{ok[inside].mean():.1%} correct" if inside.any() else "-"
        print(f"confidence [{low:.1f}, {min(high, 1.0):.1f}{')' if high < 1 else ']'}: "
              f"{inside.sum():4d} tokens, {share}")  # fmt: skip

    # 4. Greedy decoding gives spans too (the runs of each frame's argmax), same measure.
    greedy = greedy_decode(lps[0], spans=True)[0]
    print(f"greedy spans of utterance 0: {len(greedy)} tokens, first "
          f"{[(vocab.labels[s.token], s.start, s.end) for s in greedy[:3]]}")  # fmt: skip

    # 5. Streaming: feed frames as they arrive; partial() reads the best hypothesis so far
    #    without ending the search, finish() ends it. Nothing is searched twice, and the
    #    result is decode()'s for the concatenated frames, whatever the chunks.
    lp = lps[0]
    stream = decoder.stream()
    for start in range(0, lp.shape[0], 16):
        stream.feed(lp[start : start + 16])
        if start // 16 in (1, 3):
            now = stream.partial()[0][0]
            print(f"after {min(start + 16, lp.shape[0]):3d} frames: {len(now.tokens)} tokens, "
                  f"last {vocab.labels[now.tokens[-1]] if now.tokens else '-'}")  # fmt: skip
    final = stream.finish()[0]
    print(f"finish() == decode(): {final == decoder.decode(lp)[0]}; spans equal: "
          f"{final[0].spans == h.spans}")  # fmt: skip

    if args.plot is not None:
        plot(args.plot, lp, h.spans, truth[ids[0]], vocab)
        print(f"wrote {args.plot}")


def plot(path: Path, lp: np.ndarray, spans: tuple[TokenSpan, ...], truth: np.ndarray,
         vocab) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Utterance 0: posteriorgram, spans coloured by confidence, true phoneme times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = STRIDE * HOP_MS
    end = lp.shape[0] * ms
    used = sorted({s.token for s in spans} | {0})
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("confidence", ["tab:red", "tab:orange", "tab:green"])
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 5.2), sharex=True,
                                 gridspec_kw={"height_ratios": [4, 1.3]})  # fmt: skip
    ax.imshow(np.exp(lp[:, used]).T, aspect="auto", origin="lower", cmap="Greys",
              extent=(0, end, -0.5, len(used) - 0.5), vmin=0, vmax=1)  # fmt: skip
    ax.set_yticks(range(len(used)), [vocab.labels[u] or "blank" for u in used], fontsize=7)
    for s in spans:
        row = used.index(s.token)
        ax.add_patch(plt.Rectangle((s.start * ms, row - 0.45), (s.end - s.start) * ms, 0.9,
                                   fill=False, ec=cmap(s.confidence), lw=2))  # fmt: skip
        ax.text((s.start + s.end) / 2 * ms, row + 0.55, f"{s.confidence:.2f}", ha="center",
                fontsize=6, color=cmap(s.confidence))  # fmt: skip
    ax.set_title("posteriorgram; boxes: beam-search token spans, coloured and labelled "
                 "by confidence (red low, orange, green high)")  # fmt: skip
    for k, (a, b) in enumerate(truth):
        bx.axvspan(a * HOP_MS, b * HOP_MS, color="tab:blue", alpha=0.1 + 0.2 * (k % 2))
    for s in spans:
        bx.axvline(s.start * ms, color=cmap(s.confidence), lw=1.2)
    bx.set_yticks([])
    bx.set_ylabel("true", rotation=0, ha="right", va="center")
    bx.set_xlabel("time (ms); lines: decoded token starts")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
