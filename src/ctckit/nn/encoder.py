"""A multi-layer (bi)LSTM encoder over packed sequences.

Sequences are packed with ``pack_padded_sequence(enforce_sorted=False)``, so
the LSTM never reads padded frames: an utterance's outputs are the same
whatever it is batched with (in eval mode; dropout aside in training), and
outputs at padded frames are zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ctckit._checks import check_int, check_probability
from ctckit.errors import InputValueError
from ctckit.nn._masking import (
    apply_mask,
    check_features,
    time_mask,
)

__all__ = ["BiLSTMEncoder"]


class BiLSTMEncoder(nn.Module):
    """Stacked (bidirectional) LSTM with dropout, locked dropout and pyramidal reduction.

    Without locked dropout or pyramidal reduction this is one
    :class:`torch.nn.LSTM` (``self.lstm``) with ``num_layers`` layers, so it
    runs the fused (cuDNN) kernel. Otherwise each layer is its own
    one-layer LSTM (``self.layers``) and between layers the encoder applies
    ordinary dropout (``dropout``), then locked dropout (one mask per
    utterance and feature, shared over time), then the layer's time reduction.

    Pyramidal reduction by a factor ``r`` concatenates ``r`` consecutive
    frames into one (the Listen-Attend-Spell pBLSTM), zero-padding a last
    partial group: ``out_length = ceil(length / r)``.

    Args:
        input_size: Features per input frame.
        hidden_size: LSTM hidden units per direction.
        num_layers: Number of LSTM layers.
        bidirectional: Run each layer in both directions.
        dropout: Dropout between layers (not after the last).
        locked_dropout: Locked (variational) dropout between layers.
        pyramidal: Empty, or one time-reduction factor per layer, applied to
            that layer's input (e.g. ``(1, 2, 2, 1)``).

    Attributes:
        output_size: Features per output frame
            (``hidden_size * (2 if bidirectional else 1)``).

    Example:
        >>> enc = BiLSTMEncoder(13, hidden_size=8, num_layers=2, dropout=0.0).eval()
        >>> y, n = enc(torch.randn(3, 7, 13), torch.tensor([7, 2, 5]))
        >>> tuple(y.shape), n.tolist(), enc.output_size
        ((3, 7, 16), [7, 2, 5], 16)
        >>> enc = BiLSTMEncoder(13, hidden_size=8, num_layers=2, pyramidal=(2, 1))
        >>> enc(torch.randn(2, 7, 13), torch.tensor([7, 4]))[1].tolist()
        [4, 2]
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 256,
        num_layers: int = 4,
        bidirectional: bool = True,
        dropout: float = 0.3,
        locked_dropout: float = 0.0,
        pyramidal: Sequence[int] = (),
    ) -> None:
        super().__init__()
        check_int(input_size, "input_size", 1)
        check_int(hidden_size, "hidden_size", 1)
        check_int(num_layers, "num_layers", 1)
        check_probability(dropout, "dropout")
        check_probability(locked_dropout, "locked_dropout")
        pyramidal = tuple(pyramidal)
        if pyramidal and len(pyramidal) != num_layers:
            raise InputValueError(
                f"pyramidal must be empty or give one factor per layer ({num_layers}), "
                f"got {pyramidal}"
            )
        for r in pyramidal:
            check_int(r, "pyramidal factor", 1)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout_p = dropout
        self.locked_dropout_p = locked_dropout
        self.pyramidal = pyramidal if any(r > 1 for r in pyramidal) else ()
        self.output_size = hidden_size * (2 if bidirectional else 1)
        self.lstm: nn.LSTM | None = None
        self.layers: nn.ModuleList | None = None
        if not self.pyramidal and locked_dropout == 0.0:
            self.lstm = nn.LSTM(
                input_size,
                hidden_size,
                num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
                bidirectional=bidirectional,
            )
        else:
            factors = self.pyramidal or (1,) * num_layers
            sizes = [input_size] + [self.output_size] * (num_layers - 1)
            self.layers = nn.ModuleList(
                nn.LSTM(size * r, hidden_size, 1, batch_first=True, bidirectional=bidirectional)
                for size, r in zip(sizes, factors)
            )
        self.dropout = nn.Dropout(dropout)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frame counts after the pyramidal reductions (identity without them).

        Args:
            lengths: ``(B,)`` int64 input frame counts.

        Returns:
            ``(B,)`` int64 output frame counts.

        Example:
            >>> BiLSTMEncoder(4, 8, 2, pyramidal=(2, 2)).output_lengths(torch.tensor([9])).tolist()
            [3]
        """
        for r in self.pyramidal:
            lengths = torch.div(lengths + (r - 1), r, rounding_mode="floor")
        return lengths

    def _locked(self, h: Tensor) -> Tensor:
        p = self.locked_dropout_p
        if not self.training or p == 0.0:
            return h
        keep = torch.empty(h.shape[0], 1, h.shape[2], device=h.device, dtype=h.dtype)
        return h * keep.bernoulli_(1.0 - p).div_(1.0 - p)

    def forward_packed(self, x: Tensor, lengths: Tensor) -> tuple[PackedSequence, Tensor, int]:
        """Run the LSTM stack and return its packed output.

        Useful to apply a frame-wise head to valid frames only (as
        :class:`ctckit.nn.model.CTCModel` does).

        Args:
            x: ``(B, T, input_size)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(packed, out_lengths, out_time)``: the packed
            ``(sum(out_lengths), output_size)`` outputs, the ``(B,)`` int64
            output lengths, and the padded output time ``T'`` (``T`` reduced
            by the pyramidal factors).

        Example:
            >>> enc = BiLSTMEncoder(5, 4, 1)
            >>> packed, n, t = enc.forward_packed(torch.randn(2, 6, 5), torch.tensor([6, 3]))
            >>> tuple(packed.data.shape), n.tolist(), t
            ((9, 8), [6, 3], 6)
        """
        lengths = check_features(x, lengths, "x", self.input_size)
        time = x.shape[1]
        if self.lstm is not None:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            return out, lengths, time
        layers = cast(nn.ModuleList, self.layers)  # set whenever self.lstm is None
        factors = self.pyramidal or (1,) * self.num_layers
        mask = time_mask(lengths, time, x.dtype, x.device)
        h = apply_mask(x.transpose(1, 2), mask).transpose(1, 2)
        for i, (lstm, r) in enumerate(zip(layers, factors)):
            if i > 0:
                h = self._locked(self.dropout(h))
            if r > 1:
                batch, t, feat = h.shape
                groups = -(-t // r)
                if groups * r != t:
                    h = torch.nn.functional.pad(h, (0, 0, 0, groups * r - t))
                h = h.reshape(batch, groups, feat * r)
                lengths = torch.div(lengths + (r - 1), r, rounding_mode="floor")
                time = groups
            packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = lstm(packed)
            if i == self.num_layers - 1:
                return out, lengths, time
            h, _ = pad_packed_sequence(out, batch_first=True, total_length=time)
        raise AssertionError("unreachable")  # pragma: no cover

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Encode a batch.

        Args:
            x: ``(B, T, input_size)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(y, out_lengths)``: ``y`` of shape ``(B, T', output_size)`` (zero
            at padded frames), ``T' = T`` without pyramidal reduction;
            ``out_lengths`` ``(B,)`` int64.
        """
        packed, out_lengths, time = self.forward_packed(x, lengths)
        y, _ = pad_packed_sequence(packed, batch_first=True, total_length=time)
        return y, out_lengths
