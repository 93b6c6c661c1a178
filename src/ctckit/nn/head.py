"""The frame-wise classifier on top of the encoder: optional MLP, Linear, log_softmax."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ctckit._checks import check_int, check_probability
from ctckit.nn._masking import (
    check_features,
    make_activation,
)

__all__ = ["CTCHead"]


class CTCHead(nn.Module):
    """Hidden layers (Linear - BatchNorm - activation - Dropout), a Linear, log_softmax.

    The head works on valid frames only: :meth:`forward` gathers the frames
    before each utterance's length, runs the layers on those ``(N, F)``
    frames and scatters the result back. So BatchNorm's training statistics
    are over valid frames only (the masked BatchNorm over features), padded
    frames cost no compute, and in eval mode each frame's output depends on
    that frame alone. Padded output frames hold ``log(1 / num_classes)`` (a
    uniform distribution), so every frame is a valid log-distribution.

    The seed's best head is ``CTCHead(512, 41, hidden=(2048,), batchnorm=True,
    dropout=0.4, activation="relu")``.

    Args:
        in_features: Features per input frame.
        num_classes: Output classes, blank included.
        hidden: Widths of the hidden layers; ``()`` gives a single Linear.
        batchnorm: Add BatchNorm after each hidden Linear.
        dropout: Dropout after each hidden layer's activation.
        activation: Hidden activation name (``"relu"``, ``"gelu"``, ...) or
            ``None`` for none (a purely linear hidden layer).

    Attributes:
        num_classes: Output classes.

    Example:
        >>> head = CTCHead(16, 5, hidden=(32,)).eval()
        >>> logp, n = head(torch.randn(2, 4, 16), torch.tensor([4, 1]))
        >>> tuple(logp.shape), n.tolist()
        ((2, 4, 5), [4, 1])
        >>> bool(torch.allclose(logp.exp().sum(-1), torch.ones(2, 4)))
        True
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden: Sequence[int] = (2048,),
        batchnorm: bool = True,
        dropout: float = 0.0,
        activation: str | None = "relu",
    ) -> None:
        super().__init__()
        check_int(in_features, "in_features", 1)
        check_int(num_classes, "num_classes", 1)
        check_probability(dropout, "dropout")
        self.in_features = in_features
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            check_int(h, "hidden width", 1)
            layers.append(nn.Linear(width, h, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width, num_classes)

    def forward_frames(self, x: Tensor) -> Tensor:
        """Log-probabilities of flat, valid frames.

        Args:
            x: ``(N, in_features)`` frames (all valid; BatchNorm statistics in
                training mode are over these ``N`` frames).

        Returns:
            ``(N, num_classes)`` log-probabilities.

        Example:
            >>> CTCHead(8, 3, hidden=()).forward_frames(torch.randn(5, 8)).shape
            torch.Size([5, 3])
        """
        return torch.log_softmax(self.output(self.hidden(x)), dim=-1)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Classify every valid frame of a batch.

        Args:
            x: ``(B, T, in_features)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(log_probs, lengths)``: ``(B, T, num_classes)`` log-probabilities
            (uniform at padded frames) and the unchanged lengths.
        """
        lengths = check_features(x, lengths, "x", self.in_features)
        batch, time, _ = x.shape
        if batch == 0 or bool((lengths >= time).all()):
            out = self.forward_frames(x.reshape(batch * time, -1))
            return out.reshape(batch, time, self.num_classes), lengths
        valid = torch.arange(time, device=x.device)[None, :] < lengths.to(x.device)[:, None]
        frames = self.forward_frames(x[valid])
        out = frames.new_full((batch, time, self.num_classes), -math.log(self.num_classes))
        out[valid] = frames
        return out, lengths
