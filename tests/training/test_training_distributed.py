"""Tests for ctckit.training.distributed's CPU thread default."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ctckit.training.distributed import cpu_threads_per_process


def test_threads_share_the_usable_cores_among_the_processes() -> None:
    cores = len(os.sched_getaffinity(0))
    assert cpu_threads_per_process(1) == min(4, cores)
    assert cpu_threads_per_process(2) == max(1, min(4, cores // 2))
    assert cpu_threads_per_process(10**6) == 1


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two usable cores")
def test_threads_follow_the_process_affinity_not_the_machine() -> None:
    # a process pinned to one core (taskset, a container's cpuset) gets one thread
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "from ctckit.training.distributed import cpu_threads_per_process; "
        "print(cpu_threads_per_process(1))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
