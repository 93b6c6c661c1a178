"""Guide: build a CTC model from blocks, follow the lengths, compute the loss.

    python docs/guides/build_model.py            # the guide
    python docs/guides/build_model.py --quick    # the same, smaller (the docs tests run this)

``--quick`` (or ``CTCKIT_GUIDE_QUICK=1``) only shrinks the batch; the steps are the same.
"""

from __future__ import annotations

import argparse
import os

import torch

from ctckit.errors import InputValueError
from ctckit.nn import (
    BiLSTMEncoder,
    ConvEmbedder,
    CTCHead,
    CTCModel,
    ResNet1dEmbedder,
    ctc_loss,
    infeasible_ctc_targets,
)
from ctckit.nn.presets import PRESETS, build_preset


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    args = p.parse_args(argv)
    torch.manual_seed(0)
    batch, frames = (3, 60) if args.quick else (8, 400)

    # 1. Three blocks: an embedder (13 MFCCs -> 64 channels, stride 2 halves the
    #    frame rate), a 2-layer BiLSTM (2 x 64 = 128 features out) and a head
    #    (a hidden layer of 256, then log_softmax over 41 classes, blank at 0).
    embedder = ResNet1dEmbedder(13, channels=(64,), blocks=(1,), strides=(2,), dropout=0.1)
    encoder = BiLSTMEncoder(embedder.output_size, hidden_size=64, num_layers=2, dropout=0.1)
    head = CTCHead(encoder.output_size, num_classes=41, hidden=(256,), dropout=0.1)
    model = CTCModel(embedder, encoder, head).eval()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters, {model.num_classes} classes")

    # 2. Batch-first features (B, T, 13) and int64 frame counts (B,).
    features = torch.randn(batch, frames, 13)
    lengths = torch.linspace(frames, frames // 3, batch).long()
    with torch.no_grad():
        log_probs, out_lengths = model(features, lengths)
    print(f"features {tuple(features.shape)} -> log_probs {tuple(log_probs.shape)}")
    print(f"lengths     {lengths.tolist()}")
    print(f"out_lengths {out_lengths.tolist()}")
    # Conv1d's formula, floor((L + 2 * pad - kernel) / stride) + 1, with kernel 3, pad 1:
    expected = (lengths + 2 * 1 - 3) // 2 + 1
    print("out_lengths == (L - 1) // 2 + 1:", bool(torch.equal(out_lengths, expected)))
    print(
        "model.output_lengths agrees:",
        bool(torch.equal(model.output_lengths(lengths), out_lengths)),
    )
    print(
        "rows sum to 1:",
        bool(torch.allclose(log_probs.exp().sum(-1), torch.ones(batch, log_probs.shape[1]))),
    )

    # 3. Any block with forward(x, lengths) -> (y, out_lengths) fits a slot: two
    #    stride-2 conv layers divide the frame rate by 4.
    conv = ConvEmbedder(13, channels=(64, 128), stride=(2, 2))
    model4 = CTCModel(conv, BiLSTMEncoder(128, 64, 1), CTCHead(128, 41, hidden=())).eval()
    print("stride 4 out_lengths:", model4.output_lengths(lengths).tolist())

    # 4. The CTC loss: targets are padded (B, S) label ids without blank.
    target_lengths = torch.randint(2, 8, (batch,))
    targets = torch.randint(1, 41, (batch, int(target_lengths.max())))
    loss = ctc_loss(log_probs, targets, out_lengths, target_lengths)
    print(f"ctc_loss (mean over utterances, per target label): {loss.item():.3f}")

    # 5. A target needs at least len(target) + repeats frames. With too much
    #    stride it cannot be aligned: ctc_loss names the utterances...
    short = torch.full((batch,), 3)
    print("infeasible:", infeasible_ctc_targets(short, targets, target_lengths).tolist())
    try:
        ctc_loss(log_probs, targets, short, target_lengths)
    except InputValueError as err:
        print("InputValueError:", str(err).split(";")[0])
    # ... or, with zero_infinity=True, gives them zero loss and gradient.
    zeroed = ctc_loss(
        log_probs, targets, short, target_lengths, reduction="none", zero_infinity=True
    )
    print("zero_infinity losses:", [round(x, 3) for x in zeroed.tolist()])

    # 6. Presets: every model of the HW3P2 seed write-up, by name.
    best = build_preset("resnet34_04f")
    print(f"resnet34_04f: {sum(p.numel() for p in best.parameters()):,} parameters;",
          f"{PRESETS['resnet34_04f'].description}")  # fmt: skip
    print("frames 1000 ->", best.output_lengths(torch.tensor([1000])).tolist())
    own = build_preset("compact", num_classes=30, in_features=40)  # other sizes, same blocks
    print("compact for 40 features and 30 classes:", own.num_classes, "classes")


if __name__ == "__main__":
    main()
