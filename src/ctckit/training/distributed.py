"""Distributed data-parallel helpers: start from torchrun's environment, reduce, rank 0 writes.

``torchrun --nproc_per_node=N script.py`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`init_distributed` reads them and joins the process
group (gloo on CPU, NCCL on CUDA). Without them it returns a one-process
:class:`DistInfo` and every helper here becomes a no-op, so the same script
runs alone or under torchrun.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ctckit._checks import check_device
from ctckit.errors import CTCKitError, InputValueError

__all__ = [
    "DistInfo",
    "all_reduce_sum",
    "barrier",
    "cleanup_distributed",
    "cpu_threads_per_process",
    "init_distributed",
    "is_main_process",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a (possibly one-process) run.

    Attributes:
        rank: Global rank, 0 for the process that writes files.
        world_size: Number of processes.
        local_rank: Rank on this machine (picks the CUDA device).
        device: The device this process trains on.
        backend: ``"gloo"``, ``"nccl"`` or ``None`` when not distributed.

    Example:
        >>> info = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
        >>> info.is_main, info.distributed
        (True, False)
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the only process that writes files or prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise InputValueError(
            f"environment variable {name} must be an integer, got {raw!r}"
        ) from err


def init_distributed(device: str | torch.device | None = None) -> DistInfo:
    """Join the process group torchrun describes, or describe a single process.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available). Under
            torchrun on CUDA each process takes ``cuda:LOCAL_RANK``.

    Returns:
        A :class:`DistInfo`.

    Raises:
        InputValueError: If torchrun's variables are malformed, the device is
            not available (``"cuda"`` on a CPU-only build), or CUDA is asked
            for but there are fewer devices than local ranks.

    Example:
        >>> init_distributed("cpu").world_size  # not started by torchrun
        1
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = check_device(device)
    if dev.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise InputValueError(
                f"LOCAL_RANK={local_rank} needs a CUDA device, but only "
                f"{torch.cuda.device_count()} are visible"
            )
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    if world_size <= 1:
        return DistInfo(rank=0, world_size=1, local_rank=0, device=dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistInfo(
        rank=rank, world_size=world_size, local_rank=local_rank, device=dev, backend=backend
    )


def cpu_threads_per_process(world_size: int = 1) -> int:
    """A default for ``torch.set_num_threads`` on the CPU: the usable cores shared by the processes.

    The cores are those this process may run on (its CPU affinity: ``taskset``
    and cpusets count, a CPU-time quota does not), divided evenly among
    ``world_size`` processes, at least 1 and at most 4 per process (more
    threads than 2 were not measured). On the 2-core reference machine one
    process training the ``compact`` preset runs 1.95x as fast with 2 threads
    as with 1 (``benchmarks/bench_model.py throughput``,
    ``docs/benchmarks/model.md``).

    Args:
        world_size: Processes sharing the machine (``torchrun``'s
            ``--nproc_per_node``).

    Returns:
        Threads for each process.

    Example:
        >>> cpu_threads_per_process(1) >= cpu_threads_per_process(2) >= 1
        True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // max(1, world_size)))


def is_main_process() -> bool:
    """Whether this process is rank 0 (always true outside a process group).

    Example:
        >>> is_main_process()
        True
    """
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def all_reduce_sum(values: Sequence[float], device: torch.device | str = "cpu") -> list[float]:
    """Sum each value across every process (identity outside a process group).

    Values travel as float64, so integer counts below ``2**53`` stay exact.

    Args:
        values: This process's numbers, the same count on every rank.
        device: Where the reduction tensor lives (the CUDA device under NCCL).

    Returns:
        The sums, in order.

    Example:
        >>> all_reduce_sum([1.0, 2.0])
        [1.0, 2.0]
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return [float(v) for v in t.cpu().tolist()]


def barrier() -> None:
    """Wait for every process (no-op outside a process group).

    Example:
        >>> barrier() is None
        True
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def cleanup_distributed() -> None:
    """Leave the process group, if one was joined, once every rank has got here.

    The barrier keeps a rank that finishes early (rank 0 still writes plots)
    from tearing down its gloo connections under a peer: that aborted the
    process ("terminate called without an active exception") now and then.

    Example:
        >>> cleanup_distributed() is None
        True
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _raise_on_every_rank(error: BaseException | None, what: str) -> None:
    """Raise rank 0's ``error`` on every rank (collective in a process group).

    For work that rank 0 alone does (synthesising the corpus, opening the run
    folder): without it the other ranks would wait for rank 0 forever.
    """
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        message = [None if error is None else str(error)]
        dist.broadcast_object_list(message, src=0)
        if dist.get_rank() != 0 and message[0] is not None:
            raise CTCKitError(f"rank 0 failed to {what}: {message[0]}")
    if error is not None:
        raise error
