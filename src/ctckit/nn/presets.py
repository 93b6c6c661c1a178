"""Named model configurations: every row of the seed's HW3P2 experiment tables, plus new ones.

Each preset is a :class:`PresetConfig` (frozen dataclasses all the way down)
and :func:`build_preset` turns it into a :class:`~ctckit.nn.model.CTCModel`.
Beside the seed's rows: ``compact`` (a small BiLSTM for quick CPU runs),
``conformer_s4`` and ``conformer_s2`` (a
:class:`~ctckit.nn.conformer.ConformerEncoder` behind a strided front end,
at 1/4 and 1/2 of the input frame rate) and ``bilstm_s4``
(``conformer_s4`` with a BiLSTM of about the same size instead of the
Conformer, for comparisons).

How the seed's table rows are read:

* ``base01``-``base02``: a one-layer *unidirectional* LSTM (the table only
  adds ``bi=True`` from ``base03``); "Linear: -" is a single Linear to the
  classes.
* ``base02``-``base04``: each ``Conv1d`` is a :class:`~ctckit.nn.conv.ConvEmbedder`
  layer (Conv1d - BatchNorm - ReLU, kernel 3, padding 1).
* A hidden ``Linear (out=2048)`` with no ``ReLU`` or ``batchnorm`` listed
  (``base03``, ``base04``, ``resnet34_01``) has no activation and no
  BatchNorm: the table names those only from ``resnet34_02`` on.
* "Wrong block structure" (``resnet34_01``, ``resnet34_02``): the write-up
  does not say what was wrong, only that ``resnet34_03`` has the "correct
  block structure". A 13 -> 256 block cannot add an identity shortcut, so we
  model the wrong block as the block body without any shortcut
  (``residual=False``): two conv - BatchNorm layers with ReLUs, no residual
  path.
* ``resnet34_01``/``_02`` give no stride: stride 1. ``Bottleneck
  (channel=256)`` is a :class:`~ctckit.nn.resnet1d.Bottleneck1d` with 256 output
  channels (inner width 64). ``resnet50_03f``'s "2 Bottleneck
  (channel=512/256, stride=2/1)" is two stages: 13 -> 512 at stride 2, then
  512 -> 256 at stride 1.
* The ``f`` rows (``resnet34_04f``, ``resnet34_05f``, ``resnet50_01f``)
  are the *same models* as ``resnet34_04``, ``resnet34_05`` and
  ``resnet50_01``: the seed's fix was in its data loader, not the model
  (``same_as`` names the row). ``resnet50_02f`` and ``resnet50_03f`` exist
  only in the fixed table.

Example:
    >>> from ctckit.nn.presets import PRESETS, build_preset
    >>> PRESETS["resnet34_04f"].same_as
    'resnet34_04'
    >>> model = build_preset("resnet34_04f")
    >>> model.num_classes, model.encoder.output_size
    (41, 512)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from torch import nn

from ctckit.errors import InputValueError
from ctckit.nn.conformer import ConformerEncoder, ConvNorm
from ctckit.nn.conv import ConvEmbedder
from ctckit.nn.encoder import BiLSTMEncoder
from ctckit.nn.head import CTCHead
from ctckit.nn.model import CTCModel
from ctckit.nn.resnet1d import BlockKind, ResNet1dEmbedder

__all__ = [
    "PRESETS",
    "ConformerSpec",
    "ConvEmbedderSpec",
    "EncoderSpec",
    "HeadSpec",
    "PresetConfig",
    "ResNetEmbedderSpec",
    "build_preset",
]


@dataclass(frozen=True)
class ConvEmbedderSpec:
    """Arguments of a :class:`~ctckit.nn.conv.ConvEmbedder`.

    Example:
        >>> ConvEmbedderSpec(channels=(64,)).build(13).output_size
        64
    """

    channels: tuple[int, ...]
    kernel_size: int = 3
    stride: int = 1
    batchnorm: bool = True
    activation: str | None = "relu"
    dropout: float = 0.0

    def build(self, in_features: int) -> ConvEmbedder:
        """Build the embedder for ``in_features`` input features per frame."""
        return ConvEmbedder(
            in_features,
            self.channels,
            kernel_size=self.kernel_size,
            stride=self.stride,
            batchnorm=self.batchnorm,
            activation=self.activation,
            dropout=self.dropout,
        )


@dataclass(frozen=True)
class ResNetEmbedderSpec:
    """Arguments of a :class:`~ctckit.nn.resnet1d.ResNet1dEmbedder`.

    Example:
        >>> ResNetEmbedderSpec("basic", (256,), (1,), (2,)).build(13).output_size
        256
    """

    block: BlockKind
    channels: tuple[int, ...]
    blocks: tuple[int, ...]
    strides: tuple[int, ...]
    kernel_size: int = 3
    dropout: float = 0.0
    kaiming_init: bool = False
    residual: bool = True

    def build(self, in_features: int) -> ResNet1dEmbedder:
        """Build the embedder for ``in_features`` input features per frame."""
        return ResNet1dEmbedder(
            in_features,
            channels=self.channels,
            blocks=self.blocks,
            strides=self.strides,
            block=self.block,
            kernel_size=self.kernel_size,
            dropout=self.dropout,
            kaiming_init=self.kaiming_init,
            residual=self.residual,
        )


@dataclass(frozen=True)
class EncoderSpec:
    """Arguments of a :class:`~ctckit.nn.encoder.BiLSTMEncoder`.

    Example:
        >>> EncoderSpec(hidden_size=128, num_layers=2).build(64).output_size
        256
    """

    hidden_size: int = 256
    num_layers: int = 4
    bidirectional: bool = True
    dropout: float = 0.3

    def build(self, input_size: int) -> BiLSTMEncoder:
        """Build the encoder for ``input_size`` features per frame."""
        return BiLSTMEncoder(
            input_size,
            self.hidden_size,
            self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
        )


@dataclass(frozen=True)
class ConformerSpec:
    """Arguments of a :class:`~ctckit.nn.conformer.ConformerEncoder`.

    Example:
        >>> ConformerSpec(d_model=64, num_layers=2, num_heads=4).build(128).output_size
        64
    """

    d_model: int = 144
    num_layers: int = 4
    num_heads: int = 4
    ff_mult: int = 4
    conv_kernel: int = 15
    dropout: float = 0.1
    attention_dropout: float = 0.0
    conv_norm: ConvNorm = "batch"

    def build(self, input_size: int) -> ConformerEncoder:
        """Build the encoder for ``input_size`` features per frame."""
        return ConformerEncoder(
            input_size,
            self.d_model,
            self.num_layers,
            self.num_heads,
            self.ff_mult,
            self.conv_kernel,
            self.dropout,
            attention_dropout=self.attention_dropout,
            conv_norm=self.conv_norm,
        )


@dataclass(frozen=True)
class HeadSpec:
    """Arguments of a :class:`~ctckit.nn.head.CTCHead`.

    Example:
        >>> HeadSpec(hidden=()).build(512, 41).num_classes
        41
    """

    hidden: tuple[int, ...] = (2048,)
    batchnorm: bool = True
    dropout: float = 0.4
    activation: str | None = "relu"

    def build(self, in_features: int, num_classes: int) -> CTCHead:
        """Build the head for ``in_features`` inputs and ``num_classes`` outputs."""
        return CTCHead(
            in_features,
            num_classes,
            hidden=self.hidden,
            batchnorm=self.batchnorm,
            dropout=self.dropout,
            activation=self.activation,
        )


@dataclass(frozen=True)
class PresetConfig:
    """One named model configuration.

    Attributes:
        name: The preset's name (its key in :data:`PRESETS`).
        description: What the row is (the seed's "Details" column).
        embedder: The embedder spec, or ``None`` for none.
        encoder: The encoder spec (a BiLSTM or a Conformer).
        head: The classifier head spec.
        seed_best_dev_distance: Best dev mean edit distance the seed write-up
            reports for this row on the real HW3P2 data (``None`` for presets
            not in the seed).
        same_as: For the seed's ``f`` rows, the unfixed row with the identical
            model (the seed's fix was in the data loader).

    Example:
        >>> cfg = PRESETS["compact"]
        >>> cfg.build(num_classes=10, in_features=13).num_classes
        10
    """

    name: str
    description: str
    embedder: ConvEmbedderSpec | ResNetEmbedderSpec | None
    encoder: EncoderSpec | ConformerSpec
    head: HeadSpec
    seed_best_dev_distance: float | None = None
    same_as: str | None = None

    def build(self, num_classes: int = 41, in_features: int = 13) -> CTCModel:
        """Build a freshly initialised :class:`~ctckit.nn.model.CTCModel`.

        Args:
            num_classes: Output classes, blank (index 0) included.
            in_features: Input features per frame.

        Returns:
            The model.
        """
        embedder: nn.Module | None = None
        width = in_features
        if self.embedder is not None:
            emb = self.embedder.build(in_features)
            embedder, width = emb, emb.output_size
        encoder = self.encoder.build(width)
        head = self.head.build(encoder.output_size, num_classes)
        return CTCModel(embedder, encoder, head)


_LSTM_01 = EncoderSpec(hidden_size=256, num_layers=1, bidirectional=False, dropout=0.0)
_LSTM_4_01 = EncoderSpec(dropout=0.1)
_LSTM_4_03 = EncoderSpec(dropout=0.3)
_BEST_HEAD = HeadSpec(hidden=(2048,), batchnorm=True, dropout=0.4, activation="relu")
_CONV_2 = ConvEmbedderSpec(channels=(64, 256))
_CONV_S4 = ConvEmbedderSpec(channels=(144, 144), stride=2, dropout=0.1)
_LINEAR_HEAD = HeadSpec(hidden=(), batchnorm=False, dropout=0.0, activation=None)


def _basic(stride: int, kaiming: bool = False, dropout: float = 0.3) -> ResNetEmbedderSpec:
    return ResNetEmbedderSpec("basic", (256,), (1,), (stride,), 3, dropout, kaiming)


def _bottleneck(kaiming: bool = False) -> ResNetEmbedderSpec:
    return ResNetEmbedderSpec("bottleneck", (256,), (1,), (2,), 3, 0.3, kaiming)


_ROWS: tuple[PresetConfig, ...] = (
    PresetConfig(
        "base01",
        "Base model: one unidirectional LSTM layer, a Linear to the classes.",
        None,
        _LSTM_01,
        HeadSpec(hidden=(), batchnorm=False, dropout=0.0, activation=None),
        33.32,
    ),
    PresetConfig(
        "base02",
        "base01 + a Conv1d(64) embedding layer.",
        ConvEmbedderSpec(channels=(64,)),
        _LSTM_01,
        HeadSpec(hidden=(), batchnorm=False, dropout=0.0, activation=None),
        26.21,
    ),
    PresetConfig(
        "base03",
        "base02 + a second Conv1d(256), 4-layer BiLSTM (dropout 0.1), hidden Linear(2048).",
        _CONV_2,
        _LSTM_4_01,
        HeadSpec(hidden=(2048,), batchnorm=False, dropout=0.0, activation=None),
        7.53,
    ),
    PresetConfig(
        "base04",
        "base03 + dropout 0.1 in the head.",
        _CONV_2,
        _LSTM_4_01,
        HeadSpec(hidden=(2048,), batchnorm=False, dropout=0.1, activation=None),
        7.89,
    ),
    PresetConfig(
        "resnet34_01",
        "ResNet34 basic block as embedding (wrong block structure: no shortcut), head dropout 0.2.",
        ResNetEmbedderSpec("basic", (256,), (1,), (1,), 3, 0.0, False, residual=False),
        _LSTM_4_01,
        HeadSpec(hidden=(2048,), batchnorm=False, dropout=0.2, activation=None),
        7.36,
    ),
    PresetConfig(
        "resnet34_02",
        "resnet34_01 + block dropout 0.3, LSTM dropout 0.3, head BatchNorm/ReLU/dropout 0.4 "
        "(wrong block structure: no shortcut).",
        ResNetEmbedderSpec("basic", (256,), (1,), (1,), 3, 0.3, False, residual=False),
        _LSTM_4_03,
        _BEST_HEAD,
        6.92,
    ),
    PresetConfig(
        "resnet34_03",
        "ResNet34 basic block with the correct structure (projection shortcut), stride 1.",
        _basic(1),
        _LSTM_4_03,
        _BEST_HEAD,
        6.61,
    ),
    PresetConfig(
        "resnet34_04",
        "resnet34_03 + stride 2 (halves the frame rate).",
        _basic(2),
        _LSTM_4_03,
        _BEST_HEAD,
        5.52,
    ),
    PresetConfig(
        "resnet34_05",
        "resnet34_04 + Kaiming weight initialisation.",
        _basic(2, kaiming=True),
        _LSTM_4_03,
        _BEST_HEAD,
        5.77,
    ),
    PresetConfig(
        "resnet50_01",
        "ResNet50 bottleneck block (256 channels, stride 2) as embedding.",
        _bottleneck(),
        _LSTM_4_03,
        _BEST_HEAD,
        5.83,
    ),
    PresetConfig(
        "resnet34_04f",
        "resnet34_04 trained with the fixed data loader (same model): the seed's submitted model.",
        _basic(2),
        _LSTM_4_03,
        _BEST_HEAD,
        5.49,
        same_as="resnet34_04",
    ),
    PresetConfig(
        "resnet34_05f",
        "resnet34_05 trained with the fixed data loader (same model).",
        _basic(2, kaiming=True),
        _LSTM_4_03,
        _BEST_HEAD,
        5.58,
        same_as="resnet34_05",
    ),
    PresetConfig(
        "resnet50_01f",
        "resnet50_01 trained with the fixed data loader (same model).",
        _bottleneck(),
        _LSTM_4_03,
        _BEST_HEAD,
        5.92,
        same_as="resnet50_01",
    ),
    PresetConfig(
        "resnet50_02f",
        "resnet50_01f + Kaiming weight initialisation.",
        _bottleneck(kaiming=True),
        _LSTM_4_03,
        _BEST_HEAD,
        5.64,
    ),
    PresetConfig(
        "resnet50_03f",
        "resnet50_02f + a second bottleneck stage (13 -> 512 stride 2, then 512 -> 256).",
        ResNetEmbedderSpec("bottleneck", (512, 256), (1, 1), (2, 1), 3, 0.3, True),
        _LSTM_4_03,
        _BEST_HEAD,
        59.52,
    ),
    PresetConfig(
        "compact",
        "Small CPU-friendly model (not in the seed): basic block 13 -> 128 stride 2, "
        "2-layer BiLSTM 128, head 256.",
        ResNetEmbedderSpec("basic", (128,), (1,), (2,), 3, 0.1),
        EncoderSpec(hidden_size=128, num_layers=2, dropout=0.2),
        HeadSpec(hidden=(256,), batchnorm=True, dropout=0.2, activation="relu"),
        None,
    ),
    PresetConfig(
        "conformer_s4",
        "Conformer (not in the seed): two Conv1d stride-2 layers (1/4 frame rate), "
        "4 Conformer blocks of width 144, a Linear to the classes.",
        _CONV_S4,
        ConformerSpec(d_model=144, num_layers=4, num_heads=4, ff_mult=4, conv_kernel=15),
        _LINEAR_HEAD,
        None,
    ),
    PresetConfig(
        "conformer_s2",
        "Conformer (not in the seed): a ResNet basic block 13 -> 144, stride 2, "
        "4 Conformer blocks of width 144, a Linear to the classes.",
        ResNetEmbedderSpec("basic", (144,), (1,), (2,), 3, 0.1),
        ConformerSpec(d_model=144, num_layers=4, num_heads=4, ff_mult=4, conv_kernel=15),
        _LINEAR_HEAD,
        None,
    ),
    PresetConfig(
        "bilstm_s4",
        "conformer_s4's front end and head with a 3-layer BiLSTM 176 instead of the "
        "Conformer (about the same parameters; not in the seed).",
        _CONV_S4,
        EncoderSpec(hidden_size=176, num_layers=3, dropout=0.1),
        _LINEAR_HEAD,
        None,
    ),
)

#: Every preset by name: the seed's table order, then ``compact`` and the Conformer presets.
PRESETS: Mapping[str, PresetConfig] = MappingProxyType({row.name: row for row in _ROWS})


def build_preset(name: str, num_classes: int = 41, in_features: int = 13) -> CTCModel:
    """Build a named preset model.

    Args:
        name: A key of :data:`PRESETS` (``"base01"`` ... ``"resnet50_03f"``,
            ``"compact"``, ``"conformer_s4"``, ``"conformer_s2"``, ``"bilstm_s4"``).
        num_classes: Output classes, blank included (41 for HW3P2).
        in_features: Input features per frame (13 MFCCs for HW3P2).

    Returns:
        A freshly initialised :class:`~ctckit.nn.model.CTCModel`.

    Raises:
        InputValueError: If ``name`` is not a preset; the message lists them.

    Example:
        >>> model = build_preset("compact")
        >>> sum(p.numel() for p in model.parameters()) > 0
        True
    """
    try:
        config = PRESETS[name]
    except (KeyError, TypeError):
        raise InputValueError(
            f"unknown preset {name!r}; expected one of: {', '.join(PRESETS)}"
        ) from None
    return config.build(num_classes=num_classes, in_features=in_features)
