"""Independent references for the aligner tests.

* :func:`valid_paths` enumerates every frame labelling that spells a target
  (CTC collapse: merge repeats, drop blanks), by brute force over the labels
  the target uses.
* :func:`brute_force_best` and :func:`brute_force_shares` score them: the best
  path's log-probability, and each token's posterior occupancy inside a span.

The wildcard is an extra emission column ``V`` holding the frame's best
log-probability plus a penalty. Tests reach these through fixtures (no
imports between test folders).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest


def emissions(lp: np.ndarray, penalty: float) -> np.ndarray:
    """``(T, V + 1)`` float64: ``lp`` with the wildcard column."""
    lp = np.asarray(lp, dtype=np.float64)
    return np.concatenate([lp, lp.max(axis=1, keepdims=True) + penalty], axis=1)


def collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    out: list[int] = []
    prev = None
    for label in path:
        if label != prev and label != blank:
            out.append(label)
        prev = label
    return tuple(out)


def valid_paths(time: int, targets: tuple[int, ...], blank: int) -> list[tuple[int, ...]]:
    """Every labelling of ``time`` frames whose collapse is ``targets``."""
    alphabet = sorted({blank, *targets})
    return [p for p in itertools.product(alphabet, repeat=time) if collapse(p, blank) == targets]


@dataclass(frozen=True)
class Best:
    score: float
    paths: list[tuple[int, ...]]  # every path within 1e-9 of the best


def brute_force_best(e: np.ndarray, targets: tuple[int, ...], blank: int) -> Best:
    """The best path score over all valid paths of the emission matrix ``e`` (T, C)."""
    paths = valid_paths(e.shape[0], targets, blank)
    if not paths:
        return Best(-np.inf, [])
    idx = np.asarray(paths, dtype=np.int64).reshape(len(paths), e.shape[0])
    scores = e[np.arange(e.shape[0])[None, :], idx].sum(axis=1)
    best = float(scores.max())
    return Best(best, [paths[i] for i in np.flatnonzero(scores >= best - 1e-9)])


def token_frames(path: tuple[int, ...], blank: int) -> list[list[int]]:
    """The frames of each token of a valid path (token k = k-th run of non-blanks)."""
    runs: list[list[int]] = []
    prev = None
    for t, label in enumerate(path):
        if label != blank:
            if label != prev:
                runs.append([])
            runs[-1].append(t)
        prev = label
    return runs


def brute_force_shares(
    e: np.ndarray, targets: tuple[int, ...], blank: int, spans: list[tuple[int, int]]
) -> np.ndarray:
    """Posterior share of each token's occupancy inside ``spans[k]``, over all valid paths."""
    paths = valid_paths(e.shape[0], targets, blank)
    idx = np.asarray(paths, dtype=np.int64).reshape(len(paths), e.shape[0])
    logw = e[np.arange(e.shape[0])[None, :], idx].sum(axis=1)
    w = np.exp(logw - logw.max())
    inside = np.zeros(len(targets))
    total = np.zeros(len(targets))
    for weight, path in zip(w, paths):
        for k, frames in enumerate(token_frames(path, blank)):
            a, b = spans[k]
            total[k] += weight * len(frames)
            inside[k] += weight * sum(a <= t < b for t in frames)
    return inside / total


class Oracles:
    emissions = staticmethod(emissions)
    collapse = staticmethod(collapse)
    valid_paths = staticmethod(valid_paths)
    brute_force_best = staticmethod(brute_force_best)
    brute_force_shares = staticmethod(brute_force_shares)
    token_frames = staticmethod(token_frames)


@pytest.fixture(scope="session")
def oracles() -> type[Oracles]:
    return Oracles
