"""ctc_loss, infeasible-target detection and CTCModel wiring."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from ctckit.errors import InputTypeError, InputValueError, ShapeError
from ctckit.nn import (
    BiLSTMEncoder,
    ConvEmbedder,
    CTCHead,
    CTCModel,
    ResNet1dEmbedder,
    ctc_loss,
    infeasible_ctc_targets,
)


def _collapse(path: tuple[int, ...], blank: int = 0) -> tuple[int, ...]:
    out: list[int] = []
    prev = None
    for s in path:
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return tuple(out)


# Every labelling that some path of T frames over {0 (blank), 1, 2} collapses to.
_REACHABLE = {t: {_collapse(p) for p in itertools.product(range(3), repeat=t)} for t in range(0, 7)}


@given(
    targets=st.lists(st.lists(st.integers(1, 2), max_size=6), min_size=1, max_size=4),
    data=st.data(),
)
def test_infeasible_matches_brute_force_enumeration(
    targets: list[list[int]], data: st.DataObject
) -> None:
    n = len(targets)
    input_lengths = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    width = max(1, max(len(t) for t in targets))
    padded = torch.tensor([t + [0] * (width - len(t)) for t in targets])
    tl = torch.tensor([len(t) for t in targets])
    il = torch.tensor(input_lengths)
    expected = [tuple(t) not in _REACHABLE[n] for t, n in zip(targets, input_lengths)]
    assert infeasible_ctc_targets(il, padded, tl).tolist() == expected
    flat = torch.tensor([s for t in targets for s in t], dtype=torch.long)
    assert infeasible_ctc_targets(il, flat, tl).tolist() == expected


@given(
    lengths=st.lists(st.integers(1, 8), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    concatenated=st.booleans(),
)
def test_ctc_loss_equals_torch_on_transposed_input(
    lengths: list[int], seed: int, reduction: str, concatenated: bool
) -> None:
    gen = torch.Generator().manual_seed(seed)
    batch, time, vocab = len(lengths), max(lengths), 5
    logp = torch.randn(batch, time, vocab, generator=gen).log_softmax(-1)
    tl = torch.tensor(
        [int(torch.randint(0, (n + 1) // 2 + 1, (1,), generator=gen)) for n in lengths]
    )
    targets = torch.randint(1, vocab, (batch, max(1, int(tl.max()))), generator=gen)
    if concatenated:
        targets = torch.cat([targets[i, :k] for i, k in enumerate(tl.tolist())])
    il = torch.tensor(lengths)
    # keep only feasible batches here; infeasible ones are tested below
    if bool(infeasible_ctc_targets(il, targets, tl).any()):
        return
    got = ctc_loss(logp, targets, il, tl, reduction=reduction)  # type: ignore[arg-type]
    ref = F.ctc_loss(logp.transpose(0, 1), targets, il, tl, blank=0, reduction=reduction)
    assert torch.allclose(got, ref)


def test_ctc_loss_infeasible_raises_or_zeroes() -> None:
    logp = torch.randn(3, 4, 5).log_softmax(-1)
    targets = torch.tensor([[1, 1, 2], [1, 2, 3], [1, 2, 0]])
    il = torch.tensor([3, 2, 4])
    tl = torch.tensor([3, 3, 2])
    with pytest.raises(InputValueError, match=r"utterances \[0, 1\]"):
        ctc_loss(logp, targets, il, tl)
    got = ctc_loss(logp, targets, il, tl, reduction="none", zero_infinity=True)
    ref = F.ctc_loss(logp.transpose(0, 1), targets, il, tl, reduction="none", zero_infinity=True)
    torch.testing.assert_close(got, ref)
    assert got[:2].tolist() == [0.0, 0.0]
    # the unchecked torch loss is infinite exactly where the check fires
    raw = F.ctc_loss(logp.transpose(0, 1), targets, il, tl, reduction="none")
    assert torch.isinf(raw).tolist() == infeasible_ctc_targets(il, targets, tl).tolist()


def _path_sum_loss(logp: torch.Tensor, target: tuple[int, ...], blank: int) -> float:
    """-log of the summed probability of every frame path that collapses to ``target``
    (enumerated: ``V^T`` paths)."""
    time, vocab = logp.shape
    total = -math.inf
    for path in itertools.product(range(vocab), repeat=time):
        if _collapse(path, blank) == target:
            total = float(np.logaddexp(total, sum(float(logp[t, c]) for t, c in enumerate(path))))
    return -total


@given(
    seed=st.integers(0, 2**16),
    blank=st.integers(1, 3),
    reduction=st.sampled_from(["mean", "sum", "none"]),
)
def test_ctc_loss_custom_blank_equals_path_sums_and_torch(
    seed: int, blank: int, reduction: str
) -> None:
    """blank != 0 (label 0 is then an ordinary label, the padding of a target too): each
    utterance's loss is the enumerated path sum of its valid frames, and the reduction and
    the gradient are F.ctc_loss's at the same blank."""
    gen = torch.Generator().manual_seed(seed)
    logp = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64).log_softmax(-1)
    labels = [v for v in range(4) if v != blank]
    targets = torch.tensor([[labels[0], labels[1]], [labels[2], labels[0]], [labels[1], labels[1]]])
    il, tl = torch.tensor([5, 4, 3]), torch.tensor([2, 1, 2])
    padded = targets.clone()
    padded[1, 1] = 0  # padding beyond the target length: never read, even when 0 is a label
    want = [
        _path_sum_loss(logp[b, : il[b]], tuple(targets[b, : tl[b]].tolist()), blank)
        for b in range(3)
    ]
    per = ctc_loss(logp, padded, il, tl, blank=blank, reduction="none")
    assert per.tolist() == pytest.approx(want, rel=1e-9)
    x = logp.clone().requires_grad_()
    got = ctc_loss(x, padded, il, tl, blank=blank, reduction=reduction)  # type: ignore[arg-type]
    y = logp.clone().requires_grad_()
    ref = F.ctc_loss(y.transpose(0, 1), targets, il, tl, blank=blank, reduction=reduction)
    torch.testing.assert_close(got, ref)
    got.sum().backward()
    ref.sum().backward()
    assert x.grad is not None
    assert y.grad is not None
    torch.testing.assert_close(x.grad, y.grad)
    assert bool(torch.isfinite(x.grad).all())


def test_ctc_loss_errors() -> None:
    logp = torch.randn(2, 5, 4).log_softmax(-1)
    targets = torch.tensor([[1, 2], [3, 0]])
    il, tl = torch.tensor([5, 4]), torch.tensor([2, 1])
    with pytest.raises(ShapeError, match=r"\(B, T, V\)"):
        ctc_loss(logp[0], targets, il, tl)
    with pytest.raises(ShapeError, match=r"input_lengths of shape \(2,\)"):
        ctc_loss(logp, targets, il[:1], tl)
    with pytest.raises(InputTypeError, match="integer"):
        ctc_loss(logp, targets, il.float(), tl)
    with pytest.raises(InputValueError, match=r"\[0, 5\]"):
        ctc_loss(logp, targets, torch.tensor([6, 4]), tl)
    with pytest.raises(InputValueError, match="blank label 0"):
        ctc_loss(logp, torch.tensor([[1, 0], [3, 0]]), il, torch.tensor([2, 1]))
    with pytest.raises(InputValueError, match=r"\[0, 4\)"):
        ctc_loss(logp, torch.tensor([[1, 9], [3, 0]]), il, tl)
    with pytest.raises(InputValueError, match="exceed"):
        ctc_loss(logp, targets, il, torch.tensor([3, 1]))
    with pytest.raises(ShapeError, match="sum"):
        ctc_loss(logp, torch.tensor([1, 2]), il, tl)
    with pytest.raises(InputValueError, match="blank must"):
        ctc_loss(logp, targets, il, tl, blank=4)
    with pytest.raises(InputValueError, match="reduction"):
        ctc_loss(logp, targets, il, tl, reduction="avg")  # type: ignore[arg-type]


def _tiny_model() -> CTCModel:
    torch.manual_seed(0)
    model = CTCModel(
        ResNet1dEmbedder(3, (6,), (1,), (2,)),
        BiLSTMEncoder(6, hidden_size=4, num_layers=2, dropout=0.0),
        CTCHead(8, 5, hidden=(7,), dropout=0.0),
    )
    with torch.no_grad():  # non-trivial running statistics
        model(torch.randn(3, 12, 3), torch.tensor([12, 7, 4]))
    return model.eval()


_MODEL = _tiny_model()


@given(
    length=st.integers(1, 10),
    others=st.lists(st.integers(1, 16), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_model_eval_padding_invariance(length: int, others: list[int], seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    lengths = [length, *others]
    x = torch.randn(len(lengths), max(lengths) + 1, 3, generator=gen) * 3
    with torch.no_grad():
        alone, n_alone = _MODEL(x[:1, :length], torch.tensor([length]))
        batched, n_batched = _MODEL(x, torch.tensor(lengths))
    n = int(n_alone[0])
    assert int(n_batched[0]) == n == (length - 1) // 2 + 1
    assert torch.allclose(batched[0, :n], alone[0, :n], atol=1e-5)


def test_packed_fast_path_equals_generic_path() -> None:
    x = torch.randn(3, 9, 3)
    lengths = torch.tensor([9, 4, 6])
    with torch.no_grad():
        fast, n_fast = _MODEL(x, lengths)
        assert _MODEL.embedder is not None
        h, n = _MODEL.embedder(x, lengths)
        h, n = _MODEL.encoder(h, n)
        slow, n_slow = _MODEL.head(h, n)
    assert n_fast.tolist() == n_slow.tolist() == [5, 2, 3]
    torch.testing.assert_close(fast, slow)
    assert _MODEL.output_lengths(lengths).tolist() == [5, 2, 3]


def test_model_generic_modules_and_no_embedder() -> None:
    model = CTCModel(None, ConvEmbedder(3, (4,)), CTCHead(4, 3, hidden=()))
    logp, n = model(torch.randn(2, 5, 3), torch.tensor([5, 2]))
    assert logp.shape == (2, 5, 3)
    assert n.tolist() == [5, 2]
    assert model.num_classes == 3
    loss = model.ctc_loss(logp, torch.tensor([[1], [2]]), n, torch.tensor([1, 1]))
    loss.backward()
    with pytest.raises(ShapeError, match=r"features of shape \(B, T, F\)"):
        model(torch.randn(5, 3), torch.tensor([5]))
