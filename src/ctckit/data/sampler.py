"""A batch sampler that groups utterances of similar length.

Padding is wasted compute: a random batch of speech utterances is about a
third padding, a batch of utterances of nearly equal length almost none.
:class:`BucketBatchSampler` sorts utterances by (slightly jittered) length,
cuts the sorted list into batches under a frame budget or a batch size, and
shuffles the order of the batches every epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from ctckit._checks import check_float, check_int, check_length_array
from ctckit.errors import InputValueError

__all__ = ["BucketBatchSampler"]

_STATE_VERSION = 1

#: Utterance lengths: a sequence of ints, an integer array or an int64 tensor.
Lengths: TypeAlias = Sequence[int] | np.ndarray[Any, Any] | torch.Tensor


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices with similar lengths, for ``DataLoader(batch_sampler=...)``.

    Each epoch: sort the indices by ``length * (1 + length_noise * u)`` with
    ``u`` uniform in ``[-1, 1]`` (seeded by ``(seed, epoch)``; no jitter
    without ``shuffle``), cut the sorted list greedily into batches that
    respect ``max_frames`` (padded frames ``B * max(length) <= max_frames``)
    and/or ``batch_size`` (``B <= batch_size``), then shuffle the order of
    the batches. Without ``shuffle`` batches come in increasing length order
    and are the same every epoch.

    Distributed training: all ranks compute the same batch list; rank ``r``
    takes batches ``r, r + R, r + 2R, ...`` so every rank gets the same
    number of batches: ``ceil(n / R)``, the list being padded by repeating
    batches from its start (a few utterances are then seen twice in that
    epoch), or ``floor(n / R)`` with ``drop_last`` (the last few batches of
    the shuffled list are skipped that epoch). ``rank`` and ``num_replicas``
    default to those of the initialised ``torch.distributed`` process group,
    else to a single process. Call :meth:`set_epoch` before each epoch, as
    with ``DistributedSampler``.

    Resuming: the sampler counts the batches its iterator hands out, and
    :meth:`state_dict` records the epoch and that count; after
    :meth:`load_state_dict`, the next iteration yields the remaining batches
    of that epoch (exactly those an uninterrupted run would have yielded)
    and later epochs are complete.

    Args:
        lengths: ``(N,)`` non-negative utterance lengths in frames (e.g.
            :attr:`ctckit.data.PhonemeDataset.lengths`).
        max_frames: Budget of padded frames per batch.
        batch_size: Maximum utterances per batch. At least one of the two
            must be given; with both, both hold.
        shuffle: Jitter the sort and shuffle batch order each epoch.
        seed: Seed of the per-epoch randomness; must agree across ranks.
        drop_last: Drop batches so every rank has ``floor(n / R)`` instead of
            padding to ``ceil(n / R)``.
        num_replicas: Number of distributed ranks ``R``.
        rank: This process's rank in ``[0, R)``.
        length_noise: Relative jitter of the sort keys; larger values vary
            batch composition more between epochs at the cost of padding
            (about ``length_noise / 2`` extra padding fraction at most).

    Raises:
        InputTypeError: If a limit, the seed, ``num_replicas`` or ``rank``
            is not an int, or ``length_noise`` not a number.
        InputValueError: If neither limit is given, a limit is not
            positive, an utterance is longer than ``max_frames`` (it could
            never be batched), or ``rank`` is out of range.

    Example:
        >>> s = BucketBatchSampler([5, 9, 4, 8, 6, 10], batch_size=2, shuffle=False)
        >>> list(s), s.padding_fraction()
        ([[2, 0], [4, 3], [1, 5]], 0.0869...)
    """

    def __init__(
        self,
        lengths: Lengths,
        *,
        max_frames: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int | None = None,
        rank: int | None = None,
        length_noise: float = 0.02,
    ) -> None:
        self._lengths = check_length_array(lengths)
        if max_frames is None and batch_size is None:
            raise InputValueError("give max_frames, batch_size or both")
        self.max_frames = None if max_frames is None else check_int(max_frames, "max_frames", 1)
        self.batch_size = None if batch_size is None else check_int(batch_size, "batch_size", 1)
        if self.max_frames is not None and self._lengths.size:
            longest = int(self._lengths.max())
            if longest > self.max_frames:
                raise InputValueError(
                    f"utterance {int(self._lengths.argmax())} has {longest} frames, more than "
                    f"max_frames={self.max_frames}: raise max_frames or drop long utterances"
                )
        self.seed = check_int(seed, "seed", 0)
        self.length_noise = check_float(length_noise, "length_noise", 0.0, 1.0, high_open=True)
        in_group = dist.is_available() and dist.is_initialized()
        if num_replicas is None:
            num_replicas = dist.get_world_size() if in_group else 1
        self.num_replicas = check_int(num_replicas, "num_replicas", 1)
        if rank is None:
            rank = dist.get_rank() if in_group else 0
        self.rank = check_int(rank, "rank", 0, self.num_replicas - 1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self._skip = 0  # batches a loaded state says to skip at the next iter()
        self._consumed = 0  # batches of this epoch handed out (the latest iterator's)
        self._iterator = 0  # which iterator counts: the latest one
        self._memo: tuple[int, list[list[int]]] | None = None

    # -- batch construction -------------------------------------------------

    def _global_batches(self, epoch: int) -> list[list[int]]:
        """All ranks' batches for ``epoch``, in iteration order."""
        if self._memo is not None and self._memo[0] == epoch:
            return self._memo[1]
        lengths = self._lengths
        if self.shuffle:
            rng = np.random.default_rng([self.seed, epoch])
            keys = lengths * (1.0 + self.length_noise * rng.uniform(-1.0, 1.0, lengths.size))
            order = np.argsort(keys, kind="stable")
        else:
            order = np.argsort(lengths, kind="stable")
        max_frames = self.max_frames if self.max_frames is not None else math.inf
        batch_size = self.batch_size if self.batch_size is not None else math.inf
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0
        for index, length in zip(order.tolist(), lengths[order].tolist()):
            grown = max(longest, length)
            if current and (len(current) >= batch_size or (len(current) + 1) * grown > max_frames):
                batches.append(current)
                current, grown = [], length
            current.append(index)
            longest = grown
        if current:
            batches.append(current)
        if self.shuffle:
            perm = rng.permutation(len(batches))
            batches = [batches[i] for i in perm.tolist()]
        self._memo = (epoch, batches)
        return batches

    def _rank_batches(self, epoch: int) -> list[list[int]]:
        batches = self._global_batches(epoch)
        n, replicas = len(batches), self.num_replicas
        if self.drop_last:
            total = (n // replicas) * replicas
            batches = batches[:total]
        else:
            total = math.ceil(n / replicas) * replicas
            batches = batches + [batches[i % n] for i in range(total - n)]
        return batches[self.rank : total : replicas]

    # -- Sampler protocol ---------------------------------------------------

    def __iter__(self) -> Iterator[list[int]]:
        # A loaded position holds until a batch is drawn (or the remainder is empty): a
        # DataLoader with workers calls iter() twice before its first batch.
        batches = [list(b) for b in self._rank_batches(self.epoch)[self._skip :]]
        self._iterator += 1
        self._consumed = self._skip
        return self._count(batches, self._iterator)

    def _count(self, batches: list[list[int]], iterator: int) -> Iterator[list[int]]:
        for batch in batches:
            if iterator == self._iterator:
                self._skip = 0
                self._consumed += 1
            yield batch
        if iterator == self._iterator:
            self._skip = 0

    def __len__(self) -> int:
        """Batches the next iteration yields on this rank."""
        return len(self._rank_batches(self.epoch)) - self._skip

    @property
    def batches_consumed(self) -> int:
        """Batches of the current epoch handed out so far (by the latest iterator).

        A ``DataLoader`` with ``num_workers > 0`` draws batches ahead of the
        training loop (``prefetch_factor * num_workers`` of them), so this
        count runs ahead of the batches trained;
        :class:`ctckit.training.TrainState` records the loop's own count.

        Example:
            >>> s = BucketBatchSampler([3, 1, 2, 5], batch_size=1, shuffle=False)
            >>> it = iter(s); _ = next(it); _ = next(it)
            >>> s.batches_consumed
            2
        """
        return self._consumed

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches the next iteration yields.

        Setting a different epoch than a loaded state's cancels the resume.

        Example:
            >>> s = BucketBatchSampler([3, 1, 2, 5], batch_size=2, seed=1)
            >>> s.set_epoch(4)
            >>> sorted(i for b in s for i in b)
            [0, 1, 2, 3]
        """
        epoch = check_int(epoch, "epoch", 0)
        if epoch != self.epoch:
            self._skip = self._consumed = 0
        self.epoch = epoch

    # -- resumption ---------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {
            "num_samples": int(self._lengths.size),
            "max_frames": self.max_frames,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "seed": self.seed,
            "drop_last": self.drop_last,
            "num_replicas": self.num_replicas,
            "length_noise": self.length_noise,
        }

    def state_dict(self) -> dict[str, Any]:
        """The position to resume from: the epoch and the batches of it handed out.

        The sampler counts the batches its iterator yields (as lhotse's
        samplers do), so no argument is needed.

        Returns:
            A dict of plain Python values (safe for ``torch.save`` and
            ``torch.load(weights_only=True)``); the settings ride along so a
            sampler built differently refuses it.

        Example:
            >>> s = BucketBatchSampler([3, 1, 2, 5, 4, 4], batch_size=2)
            >>> it = iter(s); _ = next(it)
            >>> s.state_dict()["batches_consumed"]
            1
        """
        return {
            "version": _STATE_VERSION,
            "epoch": self.epoch,
            "batches_consumed": self._consumed,
            **self._config(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`'s result.

        Raises:
            InputValueError: If the state was saved by a sampler with other
                settings (lengths count, limits, seed, replicas, ...).

        Example:
            >>> a = BucketBatchSampler([3, 1, 2, 5, 4, 4], batch_size=2, seed=3)
            >>> full = list(a)
            >>> it = iter(a); _ = next(it); _ = next(it)  # two batches trained
            >>> b = BucketBatchSampler([3, 1, 2, 5, 4, 4], batch_size=2, seed=3)
            >>> b.load_state_dict(a.state_dict())
            >>> list(b) == full[2:]
            True
        """
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise InputValueError("not a BucketBatchSampler state (missing or unknown version)")
        mismatched = {
            key: (state.get(key), value)
            for key, value in self._config().items()
            if state.get(key) != value
        }
        if mismatched:
            detail = ", ".join(f"{k}: saved {s!r}, now {v!r}" for k, (s, v) in mismatched.items())
            raise InputValueError(f"the state was saved with other settings: {detail}")
        epoch = check_int(state.get("epoch"), "the state's epoch", 0)
        available = len(self._rank_batches(epoch))
        consumed = check_int(state.get("batches_consumed"), "the state's batches_consumed", 0)
        if consumed > available:
            raise InputValueError(
                f"batches_consumed={consumed} outside [0, {available}] for epoch {epoch}"
            )
        self.epoch = epoch
        self._skip = self._consumed = consumed

    # -- padding ------------------------------------------------------------

    def padding_fraction(self) -> float:
        """Padded frames / all frames over the current epoch's batches (all ranks).

        Example:
            >>> BucketBatchSampler([4, 4, 2, 2], batch_size=2).padding_fraction()
            0.0
        """
        return self.padding_fraction_of(self._global_batches(self.epoch), self._lengths)

    @staticmethod
    def padding_fraction_of(batches: Sequence[Sequence[int]], lengths: Lengths) -> float:
        """Padded frames / all frames for any list of batches.

        A batch of lengths ``l`` costs ``len(l) * max(l)`` frames, of which
        ``len(l) * max(l) - sum(l)`` are padding.

        Args:
            batches: Lists of indices into ``lengths``.
            lengths: ``(N,)`` utterance lengths.

        Returns:
            A fraction in ``[0, 1)``; 0.0 when there are no frames.

        Example:
            >>> BucketBatchSampler.padding_fraction_of([[0, 1], [2]], [2, 4, 3])
            0.1818...
        """
        arr = check_length_array(lengths)
        total = padded = 0
        for batch in batches:
            sizes = arr[np.asarray(batch, dtype=np.int64)]
            if sizes.size:
                cost = int(sizes.size) * int(sizes.max())
                total += cost
                padded += cost - int(sizes.sum())
        return padded / total if total else 0.0
