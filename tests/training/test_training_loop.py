"""train_step / train_one_epoch / evaluate against independent computations."""

from __future__ import annotations

import copy
import math

import Levenshtein
import pytest
import torch
import torch.nn.functional as F

from ctckit import hw3p2_vocabulary
from ctckit.data import Utterance, collate_ctc
from ctckit.decode import BeamSearchDecoder, greedy_decode
from ctckit.errors import InputTypeError, InputValueError
from ctckit.training.distributed import init_distributed
from ctckit.training.loop import EpochResult, evaluate, train_one_epoch, train_step

V = 6


class Tiny(torch.nn.Module):
    """A real (if small) CTC model: a frame-wise linear layer, lengths unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3, V)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.proj(x).log_softmax(-1), lengths


def _batch(seed: int = 0) -> object:
    g = torch.Generator().manual_seed(seed)
    specs = [(12, [1, 2, 3]), (3, [1, 2, 3, 4, 5]), (9, [2, 2]), (2, [4, 4])]  # 2nd, 4th infeasible
    return collate_ctc(
        [
            Utterance(torch.randn(t, 3, generator=g), torch.tensor(y), f"u{i}")
            for i, (t, y) in enumerate(specs)
        ]
    )


def _reference_loss(model: torch.nn.Module, batch: object, keep: list[int]) -> torch.Tensor:
    lp, lens = model(batch.features, batch.feature_lengths)  # type: ignore[attr-defined]
    per = F.ctc_loss(
        lp.transpose(0, 1),
        batch.targets,  # type: ignore[attr-defined]
        lens,
        batch.target_lengths,  # type: ignore[attr-defined]
        reduction="none",
        zero_infinity=True,  # the dropped rows would otherwise put NaN in the gradient
    )
    tl = batch.target_lengths.float()  # type: ignore[attr-defined]
    return (per[keep] / tl[keep]).sum()


def test_infeasible_targets_are_counted_and_left_out_of_the_mean() -> None:
    torch.manual_seed(0)
    model, batch = Tiny(), _batch()
    ref = _reference_loss(model, batch, keep=[0, 2])
    result = train_step(model, batch, torch.optim.SGD(model.parameters(), lr=0.0))
    assert (result.utterances, result.infeasible) == (2, 2)
    assert result.loss_sum == pytest.approx(float(ref.detach()), rel=1e-5)
    assert result.loss == pytest.approx(float(ref.detach()) / 2, rel=1e-5)
    assert math.isfinite(result.grad_norm)


def test_gradient_matches_the_reference_and_is_clipped() -> None:
    torch.manual_seed(1)
    model, batch = Tiny(), _batch(1)
    ref_model = copy.deepcopy(model)
    (_reference_loss(ref_model, batch, keep=[0, 2]) / 2).backward()
    grads = [p.grad for p in ref_model.parameters()]
    norm = float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )
    before = [p.detach().clone() for p in model.parameters()]
    clip = norm / 4
    result = train_step(model, batch, torch.optim.SGD(model.parameters(), lr=1.0), clip_norm=clip)
    assert result.grad_norm == pytest.approx(norm, rel=1e-5)
    assert result.stepped
    for p, b, g in zip(model.parameters(), before, grads):
        torch.testing.assert_close(b - p.detach(), g * (clip / norm), rtol=1e-4, atol=1e-6)


def test_non_finite_gradients_skip_the_update() -> None:
    model, batch = Tiny(), _batch()
    model.proj.weight.register_hook(lambda g: g * math.inf)
    before = model.proj.weight.detach().clone()
    result = train_step(model, batch, torch.optim.SGD(model.parameters(), lr=0.1), clip_norm=1.0)
    assert not result.stepped
    assert not math.isfinite(result.grad_norm)
    assert torch.equal(model.proj.weight.detach(), before)
    epoch = EpochResult().add(result)
    assert (epoch.skipped_steps, epoch.batches) == (1, 1)


def test_bad_arguments() -> None:
    model, batch = Tiny(), _batch()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(InputValueError, match="clip_norm"):
        train_step(model, batch, opt, clip_norm=0.0)
    with pytest.raises(InputTypeError, match="optimizer"):
        train_step(model, batch, "adam")  # type: ignore[arg-type]


def test_epoch_in_two_halves_equals_one_epoch() -> None:
    torch.manual_seed(2)
    batches = [_batch(s) for s in range(4)]
    m1 = Tiny()
    m2 = copy.deepcopy(m1)
    o1 = torch.optim.Adam(m1.parameters(), lr=0.01)
    o2 = torch.optim.Adam(m2.parameters(), lr=0.01)
    seen: list[int] = []
    whole = train_one_epoch(m1, batches, o1, on_step=lambda t: seen.append(t.batches))
    half = train_one_epoch(m2, batches[:2], o2, reduce=False)
    rest = train_one_epoch(m2, batches[2:], o2, start=half)
    assert seen == [1, 2, 3, 4]
    assert (rest.batches, rest.utterances, rest.infeasible) == (4, 8, 8)
    assert rest.loss_sum == pytest.approx(whole.loss_sum, rel=1e-6)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def _independent_scores(hyps: list[str], refs: list[str]) -> tuple[float, float]:
    """Mean edit distance per utterance and total edits / total reference length, by the
    Levenshtein package (a test-only oracle)."""
    distances = [Levenshtein.distance(h, r) for h, r in zip(hyps, refs)]
    return sum(distances) / len(refs), sum(distances) / sum(len(r) for r in refs)


def test_evaluate_scores_like_an_independent_decoding_pass() -> None:
    torch.manual_seed(3)
    vocab = hw3p2_vocabulary()

    class Wide(Tiny):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(3, len(vocab))

    model = Wide()
    batches = [_batch(s) for s in range(3)]
    # a beam search with an insertion bonus, so that its texts are not greedy decoding's
    decoder = BeamSearchDecoder(beam_width=4, insertion_bonus=2.0)
    greedy, beam, refs = [], [], []
    with torch.no_grad():
        for b in batches:
            lp, lens = model(b.features, b.feature_lengths)  # type: ignore[attr-defined]
            for i in range(len(b)):  # type: ignore[arg-type]
                valid = lp[i, : int(lens[i])]
                greedy.append(vocab.to_string(greedy_decode(valid)[0]))
                beam.append(vocab.to_string(decoder.decode(valid)[0][0].tokens))
                target = b.targets[i, : b.target_lengths[i]].tolist()  # type: ignore[attr-defined]
                refs.append(vocab.to_string(target))
    assert greedy != beam
    for hyps, result in (
        (greedy, evaluate(model, batches, vocab=vocab)),
        (beam, evaluate(model, batches, vocab=vocab, decoder=decoder)),
    ):
        mean_distance, error_rate = _independent_scores(hyps, refs)
        assert result.utterances == 12
        assert result.infeasible == 6
        assert result.mean_distance == pytest.approx(mean_distance)
        assert result.error_rate == pytest.approx(error_rate)
        assert model.training  # mode restored


def test_single_process_distributed_info(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    info = init_distributed("cpu")
    assert (info.rank, info.world_size, info.is_main, info.distributed) == (0, 1, True, False)
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(InputValueError, match="WORLD_SIZE"):
        init_distributed("cpu")
