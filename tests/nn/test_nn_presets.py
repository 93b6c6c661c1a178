"""Every preset builds, runs forward + backward on CPU, and round-trips its state_dict."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from ctckit.errors import InputValueError
from ctckit.nn import BiLSTMEncoder, ConformerEncoder
from ctckit.nn.presets import PRESETS, PresetConfig, build_preset

SEED_ROWS = [
    "base01", "base02", "base03", "base04", "resnet34_01", "resnet34_02", "resnet34_03",
    "resnet34_04", "resnet34_05", "resnet50_01", "resnet34_04f", "resnet34_05f",
    "resnet50_01f", "resnet50_02f", "resnet50_03f",
]  # fmt: skip


NEW_ROWS = ["compact", "conformer_s4", "conformer_s2", "bilstm_s4"]


def test_every_seed_row_is_a_preset() -> None:
    assert list(PRESETS) == [*SEED_ROWS, *NEW_ROWS]
    assert all(PRESETS[n].seed_best_dev_distance is not None for n in SEED_ROWS)
    assert all(PRESETS[n].seed_best_dev_distance is None for n in NEW_ROWS)


def test_conformer_presets_layout() -> None:
    s4 = build_preset("conformer_s4")
    assert isinstance(s4.encoder, ConformerEncoder)
    assert s4.output_lengths(torch.tensor([100, 7])).tolist() == [25, 2]
    assert build_preset("conformer_s2").output_lengths(torch.tensor([100, 7])).tolist() == [50, 4]
    # the BiLSTM twin: same front end and head, parameters within 1 %
    twin = build_preset("bilstm_s4")
    assert isinstance(twin.encoder, BiLSTMEncoder)
    assert PRESETS["bilstm_s4"].embedder == PRESETS["conformer_s4"].embedder
    assert PRESETS["bilstm_s4"].head == PRESETS["conformer_s4"].head
    n_conformer = sum(p.numel() for p in s4.parameters())
    n_lstm = sum(p.numel() for p in twin.parameters())
    assert abs(n_lstm - n_conformer) < 0.01 * n_conformer


def test_conformer_preset_trains_a_step() -> None:
    from ctckit.data import Utterance, collate_ctc
    from ctckit.training import train_step

    torch.manual_seed(0)
    model = build_preset("conformer_s4")
    gen = torch.Generator().manual_seed(0)
    batch = collate_ctc(
        [
            Utterance(torch.randn(n, 13, generator=gen), torch.randint(1, 41, (n // 8,)), str(n))
            for n in (120, 96, 64)
        ]
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = train_step(model.train(), batch, opt, clip_norm=5.0)
    for _ in range(5):
        last = train_step(model, batch, opt, clip_norm=5.0)
    assert first.stepped
    assert last.stepped
    assert last.loss < first.loss  # it learns the batch


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_forward_backward_state_dict(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_preset(name, num_classes=7, in_features=5)
    x = torch.randn(3, 9, 5)
    lengths = torch.tensor([9, 5, 3])
    logp, n = model(x, lengths)
    assert n.tolist() == model.output_lengths(lengths).tolist()
    assert logp.shape == (3, int(n.max()), 7)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(3, logp.shape[1]), atol=1e-5)
    targets = torch.tensor([[1, 2], [3, 0], [4, 0]])
    loss = model.ctc_loss(logp, targets, n, torch.tensor([2, 1, 1]))
    loss.backward()
    missing = [k for k, p in model.named_parameters() if p.grad is None]
    assert missing == []
    dead = [k for k, p in model.named_parameters() if p.grad is not None and not p.grad.any()]
    assert dead == []
    # state_dict round trip through a file, loaded with weights_only
    path = tmp_path / "m.pt"
    torch.save(model.state_dict(), path)
    fresh = build_preset(name, num_classes=7, in_features=5)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    fresh.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh(x, lengths)[0], model(x, lengths)[0])


def test_fixed_rows_are_the_same_models() -> None:
    for name, cfg in PRESETS.items():
        if cfg.same_as is None:
            continue
        assert name.endswith("f")
        base = PRESETS[cfg.same_as]
        assert (cfg.embedder, cfg.encoder, cfg.head) == (base.embedder, base.encoder, base.head)
    assert {c.same_as for c in PRESETS.values()} - {None} == {
        "resnet34_04",
        "resnet34_05",
        "resnet50_01",
    }


def test_best_preset_layout_matches_seed() -> None:
    model = build_preset("resnet34_04f")
    assert model.embedder is not None
    block = model.embedder.blocks[0]
    conv = block.conv1
    assert (conv.in_channels, conv.out_channels, conv.stride) == (13, 256, (2,))
    assert block.dropout.p == 0.3
    lstm = model.encoder.lstm
    assert (lstm.hidden_size, lstm.num_layers, lstm.bidirectional, lstm.dropout) == (
        256,
        4,
        True,
        0.3,
    )
    assert model.head.hidden[0].in_features == 512
    assert model.head.hidden[0].out_features == 2048
    assert model.head.output.out_features == 41


def test_wrong_block_rows_have_no_shortcut() -> None:
    for name in ("resnet34_01", "resnet34_02"):
        cfg = PRESETS[name]
        assert cfg.embedder is not None
        assert getattr(cfg.embedder, "residual", True) is False
    assert getattr(PRESETS["resnet34_03"].embedder, "residual", False) is True


def test_presets_are_frozen_and_unknown_names_listed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["compact"].name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        PRESETS["x"] = PRESETS["compact"]  # type: ignore[index]
    with pytest.raises(InputValueError, match="resnet34_04f"):
        build_preset("resnet18")
    assert isinstance(PRESETS["compact"], PresetConfig)
    compact = sum(p.numel() for p in build_preset("compact").parameters())
    assert compact < 1_000_000
