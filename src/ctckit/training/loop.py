"""One training step, one training epoch and one evaluation pass for CTC models.

The model is any ``torch.nn.Module`` whose ``forward(features, lengths)``
returns ``(log_probs, out_lengths)`` with batch-first ``(B, T', V)``
log-probabilities (as :class:`ctckit.nn.CTCModel` does); batches are
:class:`ctckit.data.CTCBatch`.

Loss: per utterance, the CTC negative log-likelihood divided by its target
length (what ``torch.nn.functional.ctc_loss(reduction="mean")`` averages),
averaged over the batch's *feasible* utterances. An utterance whose targets
cannot be aligned to its output frames (more labels, plus the blanks needed
between repeats, than frames; see :func:`ctckit.nn.infeasible_ctc_targets`)
has infinite loss: it is zeroed (``zero_infinity``), left out of the mean,
and counted, so a model that downsamples too much shows up in the log
instead of silently training on less data.

On CUDA the forward pass runs under ``torch.autocast`` (float16) with a
``torch.amp.GradScaler``; the CTC loss itself is computed in float32.
Gradients are clipped by global norm; a step whose gradients are not finite
is skipped (and counted).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ctckit._checks import check_float, check_int
from ctckit.data.collate import CTCBatch, collate_ctc
from ctckit.data.sampler import BucketBatchSampler, Lengths
from ctckit.errors import InputTypeError
from ctckit.metrics import ErrorRateMeter
from ctckit.training.distributed import all_reduce_sum
from ctckit.vocab import Vocabulary

__all__ = [
    "EpochResult",
    "EvalResult",
    "StepResult",
    "evaluate",
    "evaluation_loader",
    "train_one_epoch",
    "train_step",
]


@dataclass(frozen=True)
class StepResult:
    """What one optimisation step did.

    Attributes:
        loss_sum: Sum over feasible utterances of loss / target length.
        utterances: Feasible utterances in the batch.
        infeasible: Utterances whose targets cannot be aligned (zeroed).
        grad_norm: Global gradient norm before clipping (``inf``/``nan`` when
            the gradients were not finite).
        stepped: Whether the optimiser applied the update.

    Example:
        >>> StepResult(3.0, 2, 0, 1.5, True).loss
        1.5
    """

    loss_sum: float
    utterances: int
    infeasible: int
    grad_norm: float
    stepped: bool

    @property
    def loss(self) -> float:
        """Mean loss per feasible utterance (``nan`` when there was none)."""
        return self.loss_sum / self.utterances if self.utterances else math.nan


@dataclass(frozen=True)
class EpochResult:
    """Running or final totals of a training epoch.

    Attributes:
        loss_sum: Sum of per-utterance losses (each divided by its target
            length) over feasible utterances.
        utterances: Feasible utterances trained on.
        infeasible: Utterances skipped because their targets could not be
            aligned.
        skipped_steps: Steps whose gradients were not finite (no update).
        batches: Batches processed on this process (the sampler position).
        seconds: Wall time of this process's part of the epoch.

    Example:
        >>> r = EpochResult(loss_sum=6.0, utterances=4, batches=2)
        >>> r.loss, EpochResult.from_dict(r.as_dict()) == r
        (1.5, True)
    """

    loss_sum: float = 0.0
    utterances: int = 0
    infeasible: int = 0
    skipped_steps: int = 0
    batches: int = 0
    seconds: float = 0.0

    @property
    def loss(self) -> float:
        """Mean training loss per feasible utterance (``nan`` before any)."""
        return self.loss_sum / self.utterances if self.utterances else math.nan

    def add(self, step: StepResult) -> EpochResult:
        """These totals with one more step counted."""
        return replace(
            self,
            loss_sum=self.loss_sum + step.loss_sum,
            utterances=self.utterances + step.utterances,
            infeasible=self.infeasible + step.infeasible,
            skipped_steps=self.skipped_steps + (0 if step.stepped else 1),
            batches=self.batches + 1,
        )

    def as_dict(self) -> dict[str, float | int]:
        """Plain values, e.g. for a checkpoint's ``extra``."""
        return {
            "loss_sum": self.loss_sum,
            "utterances": self.utterances,
            "infeasible": self.infeasible,
            "skipped_steps": self.skipped_steps,
            "batches": self.batches,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EpochResult:
        """Rebuild from :meth:`as_dict`'s output."""
        return cls(
            loss_sum=float(values.get("loss_sum", 0.0)),
            utterances=int(values.get("utterances", 0)),
            infeasible=int(values.get("infeasible", 0)),
            skipped_steps=int(values.get("skipped_steps", 0)),
            batches=int(values.get("batches", 0)),
            seconds=float(values.get("seconds", 0.0)),
        )

    def reduced(self) -> EpochResult:
        """Loss sums and counts summed across processes (identity when alone).

        Every process must call it (it is a collective operation).
        """
        loss_sum, utt, inf, skipped = all_reduce_sum(
            [self.loss_sum, self.utterances, self.infeasible, self.skipped_steps],
            device=_reduce_device(),
        )
        return replace(
            self,
            loss_sum=loss_sum,
            utterances=int(utt),
            infeasible=int(inf),
            skipped_steps=int(skipped),
        )


@dataclass(frozen=True)
class EvalResult:
    """Scores of one evaluation pass (summed across processes when distributed).

    Attributes:
        mean_distance: Mean edit distance per utterance (the HW3P2 score).
        error_rate: Total edits over total reference labels (PER).
        loss: Mean CTC loss per feasible utterance (``nan`` if not computed).
        utterances: Utterances scored.
        infeasible: Utterances whose targets cannot be aligned.
        seconds: Wall time on this process.

    Example:
        >>> EvalResult(mean_distance=7.5, error_rate=0.2, loss=0.9, utterances=10).mean_distance
        7.5
    """

    mean_distance: float
    error_rate: float
    loss: float
    utterances: int
    infeasible: int = 0
    seconds: float = 0.0


def _reduce_device() -> torch.device:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _device_of(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, torch.nn.Module) else model


def _forward(
    model: torch.nn.Module, batch: Any, *, augment: torch.nn.Module | None, amp: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the model on a batch; float32 ``(B, T', V)`` log-probs and ``(B,)`` lengths."""
    device = _device_of(model)
    features = batch.features.to(device, non_blocking=True)
    lengths = batch.feature_lengths.to(device, non_blocking=True)
    if augment is not None and model.training:
        features, lengths = augment(features, lengths)
    with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
        log_probs, out_lengths = model(features, lengths)
    return log_probs.float(), out_lengths


def _loss_terms(
    log_probs: torch.Tensor, out_lengths: torch.Tensor, batch: Any, blank: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sum of per-utterance loss / target length over feasible ones, #feasible, #infeasible)."""
    from ctckit.nn import ctc_loss, infeasible_ctc_targets

    targets = batch.targets.to(log_probs.device, non_blocking=True)
    target_lengths = batch.target_lengths.to(log_probs.device, non_blocking=True)
    per_utt = ctc_loss(
        log_probs,
        targets,
        out_lengths,
        target_lengths,
        blank=blank,
        reduction="none",
        zero_infinity=True,
    )
    bad = infeasible_ctc_targets(out_lengths, targets, target_lengths).to(per_utt.device)
    good = (~bad).to(per_utt.dtype)
    per_utt = per_utt / target_lengths.clamp(min=1).to(per_utt.dtype) * good
    return per_utt.sum(), good.sum(), bad.sum()


def train_step(
    model: torch.nn.Module,
    batch: Any,
    optimizer: torch.optim.Optimizer,
    *,
    scaler: torch.amp.GradScaler | None = None,
    clip_norm: float | None = None,
    augment: torch.nn.Module | None = None,
    blank: int = 0,
) -> StepResult:
    """One optimisation step on one batch.

    Args:
        model: A CTC model in training mode; ``forward(features, lengths) ->
            (log_probs (B, T', V), out_lengths (B,))``. May be wrapped in
            ``DistributedDataParallel``.
        batch: A :class:`ctckit.data.CTCBatch` (moved to the model's device).
        optimizer: The optimiser over the model's parameters.
        scaler: An enabled ``GradScaler`` turns on float16 autocast (CUDA).
        clip_norm: Clip the global gradient norm to this value (``None``: no
            clipping).
        augment: A module ``augment(features, lengths) -> (features,
            lengths)`` applied in training mode (e.g.
            :class:`ctckit.data.TimeFrequencyMask`).
        blank: Blank index.

    Returns:
        A :class:`StepResult`.

    Raises:
        InputValueError: If ``clip_norm`` is not positive.

    Example:
        >>> from ctckit.data import collate_ctc, Utterance
        >>> from ctckit.nn.presets import build_preset
        >>> _ = torch.manual_seed(0)
        >>> model = build_preset("compact", num_classes=5, in_features=3)
        >>> batch = collate_ctc([Utterance(torch.randn(40, 3), torch.tensor([1, 2]), "a")])
        >>> opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        >>> r = train_step(model.train(), batch, opt, clip_norm=5.0)
        >>> r.utterances, r.stepped, r.loss > 0
        (1, True, True)
    """
    if clip_norm is not None:
        clip_norm = check_float(clip_norm, "clip_norm", 0.0, low_open=True)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise InputTypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    amp = scaler is not None and scaler.is_enabled()
    optimizer.zero_grad(set_to_none=True)
    log_probs, out_lengths = _forward(model, batch, augment=augment, amp=amp)
    loss_sum, n_good, n_bad = _loss_terms(log_probs, out_lengths, batch, blank)
    loss = loss_sum / n_good.clamp(min=1.0)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    max_norm = clip_norm if clip_norm is not None else math.inf
    if scaler is not None and amp:
        scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        scale_before = scaler.get_scale()
        scaler.step(optimizer)  # skipped internally when gradients are not finite
        scaler.update()
        stepped = bool(torch.isfinite(norm)) and scaler.get_scale() >= scale_before
    else:
        loss.backward()  # type: ignore[no-untyped-call]
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        stepped = bool(torch.isfinite(norm))
        if stepped:
            optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(
        loss_sum=float(loss_sum.detach()),
        utterances=int(n_good.item()),
        infeasible=int(n_bad.item()),
        grad_norm=float(norm),
        stepped=stepped,
    )


def _progress(iterable: Iterable[Any], total: int | None, desc: str, enabled: bool) -> Any:
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, dynamic_ncols=True, leave=False)


def train_one_epoch(
    model: torch.nn.Module,
    batches: Iterable[Any],
    optimizer: torch.optim.Optimizer,
    *,
    scaler: torch.amp.GradScaler | None = None,
    clip_norm: float | None = None,
    augment: torch.nn.Module | None = None,
    blank: int = 0,
    start: EpochResult | None = None,
    on_step: Callable[[EpochResult], None] | None = None,
    progress: bool | str = False,
    reduce: bool = True,
) -> EpochResult:
    """Train over ``batches`` once (the rest of an epoch when resuming).

    Args:
        model: The CTC model (set to training mode here).
        batches: Any iterable of :class:`ctckit.data.CTCBatch` (a
            ``DataLoader`` with a :class:`~ctckit.data.BucketBatchSampler`).
        optimizer: The optimiser.
        scaler: See :func:`train_step`.
        clip_norm: See :func:`train_step`.
        augment: See :func:`train_step`.
        blank: Blank index.
        start: Totals of the part of this epoch done before a resume; the
            result continues them.
        on_step: Called after every step with the running totals (its
            ``batches`` is the number of this process's batches consumed):
            the place to write mid-epoch checkpoints.
        progress: Show a tqdm bar (a string is its description).
        reduce: Sum the totals across processes at the end (collective).

    Returns:
        The epoch's :class:`EpochResult` (summed across processes when
        ``reduce``).

    Example:
        >>> from ctckit.data import collate_ctc, Utterance
        >>> from ctckit.nn.presets import build_preset
        >>> _ = torch.manual_seed(0)
        >>> model = build_preset("compact", num_classes=5, in_features=3)
        >>> data = [collate_ctc([Utterance(torch.randn(30, 3), torch.tensor([1, 2, 3]), "a")])] * 2
        >>> r = train_one_epoch(model, data, torch.optim.Adam(model.parameters()))
        >>> r.batches, r.utterances
        (2, 2)
    """
    model.train()
    totals = start if start is not None else EpochResult()
    began = time.perf_counter() - totals.seconds
    total = len(batches) if isinstance(batches, Sized) else None
    desc = progress if isinstance(progress, str) else "train"
    bar = _progress(batches, total, desc, bool(progress))
    for batch in bar:
        step = train_step(
            model,
            batch,
            optimizer,
            scaler=scaler,
            clip_norm=clip_norm,
            augment=augment,
            blank=blank,
        )
        totals = replace(totals.add(step), seconds=time.perf_counter() - began)
        if progress:
            bar.set_postfix(loss=f"{totals.loss:.3f}", refresh=False)
        if on_step is not None:
            on_step(totals)
    if progress:
        bar.close()
    return totals.reduced() if reduce else totals


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    batches: Iterable[Any],
    *,
    vocab: Vocabulary | None = None,
    decoder: Any | None = None,
    blank: int = 0,
    compute_loss: bool = True,
    amp: bool = False,
    progress: bool | str = False,
    reduce: bool = True,
) -> EvalResult:
    """Decode every batch and score it against its targets.

    Args:
        model: The CTC model (a DDP wrapper is unwrapped, so ranks may see
            different numbers of batches); run in eval mode, its previous
            mode restored afterwards.
        batches: Iterable of labelled :class:`ctckit.data.CTCBatch`.
        vocab: Score on :meth:`~ctckit.Vocabulary.to_string` strings (the
            HW3P2 score); label ids are compared when ``None``.
        decoder: An object with ``decode(log_probs, lengths) ->
            list[list[Hypothesis]]`` (e.g.
            :class:`ctckit.decode.BeamSearchDecoder`); greedy decoding when
            ``None``.
        blank: Blank index (greedy decoding and loss).
        compute_loss: Also compute the CTC loss.
        amp: Run the forward pass under float16 autocast (CUDA).
        progress: Show a tqdm bar (a string is its description).
        reduce: Sum the counts across processes (collective).

    Returns:
        An :class:`EvalResult`.

    Example:
        >>> from ctckit.data import collate_ctc, Utterance
        >>> from ctckit.nn.presets import build_preset
        >>> _ = torch.manual_seed(0)
        >>> model = build_preset("compact", num_classes=5, in_features=3)
        >>> data = [collate_ctc([Utterance(torch.randn(30, 3), torch.tensor([1, 2]), "a")])]
        >>> r = evaluate(model, data)
        >>> r.utterances, r.mean_distance >= 0
        (1, True)
    """
    from ctckit.decode import greedy_decode

    net = _unwrap(model)
    was_training = net.training
    net.eval()
    meter = ErrorRateMeter()
    loss_sum = 0.0
    n_good = 0.0
    n_bad = 0.0
    began = time.perf_counter()
    try:
        bar = _progress(
            batches, None, progress if isinstance(progress, str) else "eval", bool(progress)
        )
        for batch in bar:
            log_probs, out_lengths = _forward(net, batch, augment=None, amp=amp)
            if compute_loss:
                b_sum, b_good, b_bad = _loss_terms(log_probs, out_lengths, batch, blank)
                loss_sum += float(b_sum)
                n_good += float(b_good)
                n_bad += float(b_bad)
            if decoder is None:
                hyps = greedy_decode(log_probs, out_lengths, blank=blank)
            else:
                hyps = [list(h[0].tokens) for h in decoder.decode(log_probs, out_lengths)]
            refs = [
                batch.targets[b, : int(batch.target_lengths[b])].tolist() for b in range(len(hyps))
            ]
            if vocab is not None:
                meter.update([vocab.to_string(h) for h in hyps], [vocab.to_string(r) for r in refs])
            else:
                meter.update(hyps, refs)
    finally:
        net.train(was_training)
    counts = list(meter.counts)
    if reduce:
        summed = all_reduce_sum([*counts, loss_sum, n_good, n_bad], device=_reduce_device())
        counts = [int(c) for c in summed[:5]]
        loss_sum, n_good, n_bad = summed[5:]
        meter = ErrorRateMeter.from_counts(counts)
    return EvalResult(
        mean_distance=meter.mean_distance,
        error_rate=meter.error_rate,
        loss=loss_sum / n_good if compute_loss and n_good else math.nan,
        utterances=meter.utterances,
        infeasible=int(n_bad),
        seconds=time.perf_counter() - began,
    )


def evaluation_loader(
    dataset: Dataset[Any],
    *,
    max_frames: int,
    lengths: Lengths | None = None,
    num_workers: int = 0,
) -> DataLoader[CTCBatch]:
    """Batches of this process's share of ``dataset``, for :func:`evaluate`.

    Process ``r`` of ``R`` takes utterances ``r, r + R, ...``: across
    processes every utterance is scored exactly once (``evaluate`` sums the
    counts) and none twice, unlike a training sampler's padding. Batches come
    in increasing length order, each at most ``max_frames`` padded frames
    (raised to the longest utterance if needed).

    Args:
        dataset: A map-style dataset of :class:`~ctckit.data.Utterance`.
        max_frames: Padded-frame budget per batch.
        lengths: ``(N,)`` frame counts; default ``dataset.lengths`` (as
            :class:`~ctckit.data.PhonemeDataset` has).
        num_workers: ``DataLoader`` worker processes.

    Returns:
        A ``DataLoader`` of :class:`~ctckit.data.CTCBatch`.

    Example:
        >>> from ctckit.data import Utterance
        >>> data = [Utterance(torch.zeros(n, 3), torch.tensor([1]), f"u{n}") for n in (5, 2, 4)]
        >>> [b.ids for b in evaluation_loader(data, max_frames=8, lengths=[5, 2, 4])]
        [('u2', 'u4'), ('u5',)]
    """
    import torch.distributed as dist

    check_int(max_frames, "max_frames", 1)
    if lengths is None:
        lengths = getattr(dataset, "lengths", None)
        if lengths is None:
            raise InputTypeError("give lengths: the dataset has no .lengths attribute")
    all_lengths = torch.as_tensor(lengths, dtype=torch.int64)
    grouped = dist.is_available() and dist.is_initialized()
    world, rank = (dist.get_world_size(), dist.get_rank()) if grouped else (1, 0)
    mine = list(range(rank, len(all_lengths), world))
    share = all_lengths[mine]
    budget = max([max_frames, *share.tolist()])
    batches = BucketBatchSampler(share, max_frames=budget, shuffle=False, num_replicas=1, rank=0)
    return DataLoader(
        Subset(dataset, mine),
        batch_sampler=batches,
        collate_fn=collate_ctc,
        num_workers=check_int(num_workers, "num_workers", 0),
    )
