"""BiLSTMEncoder and CTCHead against per-utterance references."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.errors import InputValueError, ShapeError
from ctckit.nn import BiLSTMEncoder, CTCHead

torch.manual_seed(0)
_STACKED = BiLSTMEncoder(3, hidden_size=5, num_layers=2, dropout=0.2).eval()
_PYRAMID = BiLSTMEncoder(3, hidden_size=4, num_layers=3, pyramidal=(2, 1, 3)).eval()


@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_stacked_encoder_equals_lstm_on_each_utterance_alone(lengths: list[int], seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    time = max(lengths) + 1
    x = torch.randn(len(lengths), time, 3, generator=gen)
    y, out = _STACKED(x, torch.tensor(lengths))
    assert y.shape == (len(lengths), time, 10)
    assert out.tolist() == lengths
    lstm = _STACKED.lstm
    assert lstm is not None
    with torch.no_grad():
        for i, n in enumerate(lengths):
            ref, _ = lstm(x[i : i + 1, :n])
            assert torch.allclose(y[i, :n], ref[0], atol=1e-5)
            assert bool((y[i, n:] == 0).all())


@given(
    lengths=st.lists(st.integers(1, 13), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_pyramidal_lengths_and_padding_invariance(lengths: list[int], seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), 3, generator=gen)
    with torch.no_grad():
        y, out = _PYRAMID(x, torch.tensor(lengths))
        assert out.tolist() == [math.ceil(math.ceil(n / 2) / 3) for n in lengths]
        assert y.shape[1] == math.ceil(math.ceil(max(lengths) / 2) / 3)
        for i, n in enumerate(lengths):
            alone, n_alone = _PYRAMID(x[i : i + 1, :n], torch.tensor([n]))
            k = int(n_alone[0])
            assert k == int(out[i])
            assert torch.allclose(y[i, :k], alone[0, :k], atol=1e-5)


def test_pyramidal_first_layer_concatenates_frames() -> None:
    torch.manual_seed(1)
    enc = BiLSTMEncoder(2, hidden_size=3, num_layers=1, bidirectional=False, pyramidal=(2,))
    assert enc.layers is not None
    x = torch.randn(1, 5, 2)
    y, n = enc(x, torch.tensor([5]))
    grouped = torch.cat([x, torch.zeros(1, 1, 2)], dim=1).reshape(1, 3, 4)
    ref, _ = enc.layers[0](grouped)
    assert n.tolist() == [3]
    torch.testing.assert_close(y, ref)


def test_locked_dropout_mask_is_shared_over_time() -> None:
    enc = BiLSTMEncoder(2, hidden_size=3, num_layers=2, locked_dropout=0.5)
    assert enc.layers is not None
    ones = torch.ones(4, 7, 6)
    enc.train()
    dropped = enc._locked(ones)
    assert bool((dropped == dropped[:, :1]).all())  # same mask at every time step
    assert set(dropped.unique().tolist()) <= {0.0, 2.0}
    enc.eval()
    assert enc._locked(ones) is ones
    y, n = enc.train()(torch.randn(2, 6, 2), torch.tensor([6, 4]))
    assert y.shape == (2, 6, 6)
    assert n.tolist() == [6, 4]


def test_encoder_errors() -> None:
    with pytest.raises(InputValueError, match="one factor per layer"):
        BiLSTMEncoder(3, 4, 2, pyramidal=(2,))
    with pytest.raises(InputValueError, match=r"dropout must lie in \[0, 1\)"):
        BiLSTMEncoder(3, 4, 2, dropout=1.0)
    with pytest.raises(ShapeError, match=r"\(B, T, 3\)"):
        _STACKED(torch.randn(2, 4, 5), torch.tensor([4, 4]))


def test_head_runs_on_valid_frames_only() -> None:
    torch.manual_seed(0)
    head = CTCHead(4, 6, hidden=(8,), batchnorm=True, dropout=0.0)
    x = torch.randn(3, 5, 4)
    lengths = torch.tensor([5, 2, 3])
    valid = torch.arange(5)[None, :] < lengths[:, None]
    x[~valid] = 1e6  # garbage in padding must not reach BatchNorm statistics
    ref_head = CTCHead(4, 6, hidden=(8,), batchnorm=True, dropout=0.0)
    ref_head.load_state_dict(head.state_dict())
    logp, n = head(x, lengths)
    ref = ref_head.forward_frames(x[valid])
    torch.testing.assert_close(logp[valid], ref)
    assert n.tolist() == [5, 2, 3]
    torch.testing.assert_close(logp[~valid], torch.full_like(logp[~valid], -math.log(6)))
    torch.testing.assert_close(head.hidden[1].running_mean, ref_head.hidden[1].running_mean)


def test_head_layout_matches_seed() -> None:
    head = CTCHead(512, 41, hidden=(2048,), batchnorm=True, dropout=0.4, activation="relu")
    kinds = [type(m).__name__ for m in head.hidden]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout"]
    assert CTCHead(8, 3, hidden=()).hidden.__len__() == 0
