"""Neural building blocks for CTC models: embedders, encoder, head, model, loss.

Every sequence module takes batch-first ``(B, T, F)`` features and ``(B,)``
int64 lengths and returns ``(y, out_lengths)``, with ``out_lengths`` exact
through every stride. Named configurations (the seed's experiment rows) are
in :mod:`ctckit.nn.presets`.

What padding can and cannot change:

* **Eval mode**: an utterance's outputs (every valid frame) are the same
  whether it is run alone or batched with longer utterances. Convolutions see
  zeros at padded frames (as their own zero padding), BatchNorm uses running
  statistics, the LSTM runs on packed sequences, and the head is frame-wise.
* **Train mode**: BatchNorm normalises with the batch statistics of the
  *valid* frames of the whole batch (padded frames never enter them), so an
  utterance's outputs depend on the other utterances' valid frames, as with
  any BatchNorm model, but never on the amount of padding.
* Frames at or beyond ``out_lengths`` are zero in embedder and encoder
  outputs, and uniform (``log(1 / V)``) in a model's log-probabilities.

Example:
    >>> import torch
    >>> from ctckit.nn import ctc_loss
    >>> from ctckit.nn.presets import build_preset
    >>> model = build_preset("compact")
    >>> logp, n = model(torch.randn(2, 20, 13), torch.tensor([20, 13]))
    >>> tuple(logp.shape), n.tolist()
    ((2, 10, 41), [10, 7])
    >>> ctc_loss(logp, torch.tensor([[3, 4, 5], [6, 0, 0]]), n, torch.tensor([3, 1])).dim()
    0
"""

from ctckit.nn.conformer import ConformerBlock, ConformerEncoder
from ctckit.nn.conv import ConvEmbedder
from ctckit.nn.encoder import BiLSTMEncoder
from ctckit.nn.head import CTCHead
from ctckit.nn.model import CTCModel, ctc_loss, infeasible_ctc_targets
from ctckit.nn.resnet1d import BasicBlock1d, Bottleneck1d, ResNet1dEmbedder

__all__ = [
    "BasicBlock1d",
    "BiLSTMEncoder",
    "Bottleneck1d",
    "CTCHead",
    "CTCModel",
    "ConformerBlock",
    "ConformerEncoder",
    "ConvEmbedder",
    "ResNet1dEmbedder",
    "ctc_loss",
    "infeasible_ctc_targets",
]
