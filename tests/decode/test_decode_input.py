"""Input checks every decoder shares (``ctckit.decode._input``): what is refused, and
the error's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from ctckit.decode import BeamSearchDecoder, greedy_decode
from ctckit.errors import CTCKitError, InputTypeError, InputValueError

DECODERS: dict[str, Callable[..., Any]] = {
    "beam": BeamSearchDecoder(beam_width=4, num_threads=1).decode,
    "greedy": greedy_decode,
}


@pytest.fixture(params=sorted(DECODERS))
def decode(request: pytest.FixtureRequest) -> Callable[..., Any]:
    return DECODERS[request.param]


def _posteriors(batch: int = 2, time: int = 6, vocab: int = 5) -> torch.Tensor:
    return torch.randn(batch, time, vocab, generator=torch.Generator().manual_seed(0))


def test_probabilities_in_place_of_log_probabilities_are_refused(
    decode: Callable[..., Any],
) -> None:
    probs = _posteriors().softmax(-1)
    with pytest.raises(InputValueError, match=r"log-probabilities.*log_probs\[0, 0\].*probab"):
        decode(probs)
    with pytest.raises(InputValueError, match=r"log_probs\[0\]"):  # unbatched: no utterance
        decode(probs[1])


def test_half_precision_rounding_above_zero_is_accepted(decode: Callable[..., Any]) -> None:
    # a log-softmax computed in float16 and cast back can exceed 0 by a rounding error
    lp = _posteriors().log_softmax(-1)
    lp[:, :, 0] = torch.where(lp[:, :, 0] > -0.01, torch.full_like(lp[:, :, 0], 5e-4), lp[:, :, 0])
    lp[0, 0, 0] = 5e-4
    out = decode(lp)
    assert len(out) == 2
    lp[0, 3, 2] = 2e-3  # beyond the tolerance: refused, at the entry's frame
    with pytest.raises(InputValueError, match=r"got 0\.002\d* in log_probs\[0, 3\]"):
        decode(lp)


def test_probabilities_beyond_lengths_are_ignored(decode: Callable[..., Any]) -> None:
    lp = _posteriors().log_softmax(-1)
    lp[1, 4:] = 0.7  # padding
    out = decode(lp, torch.tensor([6, 4]))
    assert len(out) == 2


@pytest.mark.parametrize("kind", ["meta", "sparse"])
def test_tensors_without_dense_values_are_refused(decode: Callable[..., Any], kind: str) -> None:
    lp = _posteriors().log_softmax(-1)
    bad = lp.to("meta") if kind == "meta" else lp.to_sparse()
    with pytest.raises(InputTypeError, match=kind) as info:
        decode(bad)
    assert isinstance(info.value, CTCKitError)


def test_a_beam_too_large_for_memory_is_refused_before_allocating() -> None:
    with pytest.raises(InputValueError, match=r"beam_width=1099511627776 needs about .*iB"):
        BeamSearchDecoder(beam_width=2**40)
    # fits for a short input, not for a long one: checked at decode time, per thread
    dec = BeamSearchDecoder(beam_width=2**20, num_threads=1)
    small = dec.search_memory(1, 3)
    large = dec.search_memory(10**6, 3)
    assert 0 < small < large
    lp = np.log(np.full((1, 3), 1 / 3))
    assert dec.decode(lp)[0][0].tokens in {(), (1,), (2,)}
    long = np.broadcast_to(lp, (10**6, 3))
    if large > _physical_memory():
        with pytest.raises(InputValueError, match=r"T=1000000 frames, V=3 classes"):
            dec.decode(long)


def test_memory_estimate_bounds_what_the_search_allocates() -> None:
    import tracemalloc

    dec = BeamSearchDecoder(beam_width=64, num_threads=1)
    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(20), size=300))
    dec.decode(lp)  # compile first: Numba's compiler allocates too
    tracemalloc.start()
    dec.decode(lp)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = dec.search_memory(300, 20)
    assert peak <= estimate, (peak, estimate)
    assert estimate < 50 * max(peak, 1), (peak, estimate)  # "errs high", not absurdly


def _physical_memory() -> int:
    import os

    return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
