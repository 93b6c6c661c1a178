"""Tests of the streams: for any chunking, a stream gives what one-shot decoding of the
concatenated frames gives (the one-shot decoders are the oracle, themselves tested
against brute force, ctc_loss and a Python reference in test_decode_beam.py); partial
results against decoding the frames so far and against the LM's own scores."""

from __future__ import annotations

import itertools
import math
import os
import threading
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.decode import (
    BeamSearchDecoder,
    DecoderStream,
    GreedyStream,
    Hypothesis,
    greedy_decode,
    greedy_stream,
)
from ctckit.errors import CTCKitError, InputTypeError, InputValueError, ShapeError
from ctckit.lm import NGramLM


def _lm(vocab: int) -> NGramLM:
    rng = np.random.default_rng(vocab)
    corpus = [rng.integers(1, vocab, size=rng.integers(1, 8)).tolist() for _ in range(30)]
    return NGramLM.fit(corpus, order=3, vocab_size=vocab)


_LMS = {v: _lm(v) for v in (3, 4, 5)}


def cut(frames: int, cuts: list[int]) -> list[tuple[int, int]]:
    """``[start, end)`` chunks of ``range(frames)`` at the cut points (repeats and the ends
    give empty chunks)."""
    points = [0, *sorted(min(c, frames) for c in cuts), frames]
    return list(itertools.pairwise(points))


def assert_same(got: list[list[Hypothesis]], want: list[list[Hypothesis]]) -> None:
    """Equal tokens, frames and spans; scores within 1e-9."""
    assert len(got) == len(want)
    for g_list, w_list in zip(got, want):
        assert [h.tokens for h in g_list] == [h.tokens for h in w_list]
        for g, w in zip(g_list, w_list):
            assert g.frames == w.frames
            assert g.spans == w.spans
            for name in ("score", "acoustic_score", "lm_score"):
                a, b = getattr(g, name), getattr(w, name)
                assert a == b or a == pytest.approx(b, abs=1e-9), name


chunkings = st.lists(st.integers(0, 40), max_size=8)


@given(
    seed=st.integers(0, 2**32 - 1),
    time=st.integers(0, 40),
    vocab=st.integers(3, 5),
    width=st.sampled_from([1, 2, 4, 9, 16]),
    top_n=st.integers(1, 4),
    token_min_logp=st.sampled_from([None, -1.0, -3.0]),
    beam_prune_logp=st.sampled_from([None, -2.0, -6.0]),
    fusion=st.sampled_from([None, (0.0, 0.8), (0.7, 0.0), (1.2, -0.5)]),
    peaky=st.booleans(),
    cuts=chunkings,
    peek=st.booleans(),
)
def test_finish_equals_decode_for_any_chunking(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    width: int,
    top_n: int,
    token_min_logp: float | None,
    beam_prune_logp: float | None,
    fusion: tuple[float, float] | None,
    peaky: bool,
    cuts: list[int],
    peek: bool,
) -> None:
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky, neg_inf=0.1)
    options: dict[str, Any] = {}
    if fusion is not None:
        options = {"lm": _LMS[vocab], "lm_weight": fusion[0], "insertion_bonus": fusion[1]}
    decoder = BeamSearchDecoder(
        beam_width=width,
        top_n=min(top_n, width),
        token_min_logp=token_min_logp,
        beam_prune_logp=beam_prune_logp,
        num_threads=1,
        **options,
    )
    stream = decoder.stream()
    for start, end in cut(time, cuts):
        stream.feed(lp[start:end])
        if peek:  # reading partial results changes nothing
            stream.partial(top_n=width)
    assert stream.frames == [time]
    assert_same(stream.finish(), decoder.decode(lp))


@given(
    seed=st.integers(0, 2**32 - 1),
    time=st.integers(1, 30),
    vocab=st.integers(3, 5),
    width=st.sampled_from([2, 4, 10]),
    token_min_logp=st.sampled_from([None, -2.0]),
    cuts=chunkings,
)
def test_partial_equals_decode_of_the_frames_so_far(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    width: int,
    token_min_logp: float | None,
    cuts: list[int],
) -> None:
    lp = refs["random_log_probs"](seed, time, vocab, peaky=True)
    decoder = BeamSearchDecoder(
        beam_width=width, top_n=width, token_min_logp=token_min_logp, num_threads=1
    )
    stream = decoder.stream()
    assert stream.partial() == [[Hypothesis((), 0.0, 0.0, 0.0, ())]]
    for start, end in cut(time, cuts):
        stream.feed(lp[start:end])
        for top_n in (1, width):
            assert_same(
                stream.partial(top_n=top_n),
                [decoder.decode(lp[:end])[0][:top_n]],
            )


@given(
    seed=st.integers(0, 2**32 - 1),
    time=st.integers(1, 25),
    weight=st.sampled_from([0.5, 1.5]),
    bonus=st.sampled_from([0.0, -0.7, 1.0]),
    cuts=chunkings,
)
def test_partial_with_an_lm_ranks_by_the_prefix_score_without_the_end(
    refs: dict[str, Any], seed: int, time: int, weight: float, bonus: float, cuts: list[int]
) -> None:
    """partial() reports the LM's own log-probability of the prefix (no end of sentence),
    ranks by acoustic + weight * lm + bonus * length, and does not disturb finish()."""
    lm = _LMS[4]
    lp = refs["random_log_probs"](seed, time, 4, peaky=True)
    decoder = BeamSearchDecoder(beam_width=6, top_n=3, lm=lm, lm_weight=weight,
                                insertion_bonus=bonus, num_threads=1)  # fmt: skip
    stream = decoder.stream()
    for start, end in cut(time, cuts):
        stream.feed(lp[start:end])
        hyps = stream.partial(top_n=6)[0]
        ranks = []
        for h in hyps:
            state, total = lm.start_state(), 0.0
            for tok in h.tokens:
                logp, state = lm.score(state, tok)
                total += logp
            assert h.lm_score == pytest.approx(total, abs=1e-9)
            assert h.score == pytest.approx(
                h.acoustic_score + weight * total + bonus * len(h.tokens), abs=1e-9
            )
            ranks.append(h.score)
        assert ranks == sorted(ranks, reverse=True)
        assert len({h.tokens for h in hyps}) == len(hyps)
    assert_same(stream.finish(), decoder.decode(lp))


@given(
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 4),
    time=st.integers(0, 30),
    token_min_logp=st.sampled_from([None, -2.0]),
    with_lm=st.booleans(),
    data=st.data(),
)
def test_a_batch_of_streams_equals_each_stream_alone(
    refs: dict[str, Any],
    seed: int,
    batch: int,
    time: int,
    token_min_logp: float | None,
    with_lm: bool,
    data: st.DataObject,
) -> None:
    """Streams of one batch, each taking its own share of every chunk (``lengths``), end
    as decoding each stream's frames alone."""
    lm = {"lm": _LMS[5], "lm_weight": 0.6} if with_lm else {}
    decoder = BeamSearchDecoder(beam_width=5, top_n=2, token_min_logp=token_min_logp,
                                num_threads=1, **lm)  # fmt: skip
    stream = decoder.stream(batch_size=batch)
    chunks = data.draw(st.integers(0, 5))
    fed: list[list[np.ndarray]] = [[] for _ in range(batch)]
    for k in range(chunks):
        width = data.draw(st.integers(0, 6))
        lp = np.zeros((batch, 0, 5))
        if width:
            rows = [refs["random_log_probs"](seed + 97 * k + b, width, 5) for b in range(batch)]
            lp = np.stack(rows)
        lens = data.draw(st.lists(st.integers(0, width), min_size=batch, max_size=batch))
        stream.feed(lp, lengths=lens if k % 2 else np.asarray(lens))
        for b in range(batch):
            fed[b].append(lp[b, : lens[b]])
    whole = [np.concatenate(f) if f else np.zeros((0, 5)) for f in fed]
    assert stream.frames == [len(w) for w in whole]
    got = stream.finish()
    assert len(got) == batch
    for b in range(batch):
        assert_same([got[b]], decoder.decode(whole[b]))


def test_a_stream_longer_than_its_first_trie_grows(refs: dict[str, Any]) -> None:
    """150 one-frame chunks at beam 16 outgrow the first trie (64 frames) twice."""
    lp = refs["random_log_probs"](5, 150, 5)
    decoder = BeamSearchDecoder(beam_width=16, top_n=3, num_threads=1)
    stream = decoder.stream()
    for t in range(150):
        stream.feed(lp[t : t + 1])
    assert_same(stream.finish(), decoder.decode(lp))
    # the next streams reuse the finished stream's (grown) buffers, started again
    for frames in (30, 0, 150):
        stream = decoder.stream()
        stream.feed(lp[:frames])
        assert_same(stream.finish(), decoder.decode(lp[:frames]))


def test_a_batch_of_streams_outgrows_its_first_trie(refs: dict[str, Any]) -> None:
    """Streams of a batch grow together (their buffers are rows of one allocation) while
    each takes its own frames; then the grown buffers go to the next batch."""
    lps = np.stack([refs["random_log_probs"](s, 150, 5) for s in (7, 8, 9)])
    decoder = BeamSearchDecoder(beam_width=16, top_n=2, num_threads=1)
    for _ in range(2):
        stream = decoder.stream(batch_size=3)
        fed = [0, 0, 0]
        for k in itertools.count():
            if min(fed) == 150:
                break
            lens = [min((k + b) % 4, 150 - f) for b, f in enumerate(fed)]
            chunk = np.zeros((3, 3, 5))
            for b in range(3):
                chunk[b, : lens[b]] = lps[b, fed[b] : fed[b] + lens[b]]
            stream.feed(chunk, lengths=lens)
            fed = [f + n for f, n in zip(fed, lens)]
        assert stream.frames == fed
        got = stream.finish()
        for b in range(3):
            assert_same([got[b]], decoder.decode(lps[b]))


def test_a_stream_too_long_for_memory_is_refused_before_searching() -> None:
    """The frame limit of the memory check holds on both feed paths, and leaves the stream
    as it was."""
    decoder = BeamSearchDecoder(beam_width=2**18, num_threads=1)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    too_long = next(t for t in itertools.count(64, 64) if decoder.search_memory(t, 3) > memory)
    lp = np.full((too_long, 3), -np.inf)
    lp[:, 0] = 0.0  # blank only: one beam, whatever the width
    stream = decoder.stream()
    stream.feed(lp[:10])
    for chunk, lengths in ((lp[10:], None), (lp[10:], too_long - 10), (lp[10:].T.copy().T, None)):
        with pytest.raises(InputValueError, match="needs about"):
            stream.feed(chunk, lengths=lengths)
        assert stream.frames == [10]
    stream.feed(lp[10:20])
    assert_same(stream.finish(), decoder.decode(lp[:20]))


def test_torch_and_float32_chunks() -> None:
    x = torch.log_softmax(torch.randn(23, 6, generator=torch.Generator().manual_seed(0)) * 3, -1)
    decoder = BeamSearchDecoder(beam_width=4, top_n=2, num_threads=1)
    for lp in (x, x.numpy().astype(np.float32)):
        stream = decoder.stream()
        for start in range(0, 23, 5):
            stream.feed(lp[start : start + 5])
        assert_same(stream.finish(), decoder.decode(lp))


def test_streams_of_one_decoder_on_two_threads(refs: dict[str, Any]) -> None:
    decoder = BeamSearchDecoder(beam_width=8, lm=_LMS[5], lm_weight=0.5, num_threads=1)
    lps = [refs["random_log_probs"](s, 60, 5) for s in range(2)]
    results: list[Any] = [None, None]

    def run(k: int) -> None:
        stream = decoder.stream()
        for start in range(0, 60, 3):
            stream.feed(lps[k][start : start + 3])
        results[k] = stream.finish()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        assert_same(results[k], decoder.decode(lps[k]))


def test_bad_chunks_raise_and_leave_the_stream_usable(refs: dict[str, Any]) -> None:
    lp = refs["random_log_probs"](1, 12, 4, peaky=True)
    decoder = BeamSearchDecoder(beam_width=4, top_n=2, num_threads=1)
    stream = decoder.stream()
    stream.feed(lp[:4])
    before = stream.partial(top_n=4)
    bad = lp[4:8].copy()
    bad[2, 1] = math.nan
    with pytest.raises(InputValueError, match=r"nan in log_probs\[2\]"):
        stream.feed(bad)
    bad[2, 1] = 0.5
    with pytest.raises(InputValueError, match="probabilities passed"):
        stream.feed(bad)
    with pytest.raises(ShapeError, match="V=4"):
        stream.feed(np.log(np.full((2, 5), 0.2)))
    with pytest.raises(ShapeError, match=r"\(T_chunk, V\)"):
        stream.feed(lp[None, 4:8])
    with pytest.raises(InputTypeError):
        stream.feed(lp[4:8].tolist())
    with pytest.raises(InputTypeError):
        stream.feed(lp[4:8].astype(np.int64))
    with pytest.raises(InputValueError, match="lengths"):
        stream.feed(lp[4:8], lengths=5)
    with pytest.raises(InputValueError, match="top_n"):
        stream.partial(top_n=5)
    assert stream.partial(top_n=4) == before
    assert stream.frames == [4]
    stream.feed(lp[4:])
    assert_same(stream.finish(), decoder.decode(lp))
    for call in (lambda: stream.feed(lp), stream.partial, stream.finish):
        with pytest.raises(InputValueError, match="finished"):
            call()


def test_a_bad_chunk_in_a_batch_changes_no_stream(refs: dict[str, Any]) -> None:
    lp = np.stack([refs["random_log_probs"](s, 10, 4) for s in range(3)])
    decoder = BeamSearchDecoder(beam_width=4, num_threads=1)
    stream = decoder.stream(batch_size=3)
    stream.feed(lp[:, :3])
    bad = lp[:, 3:].copy()
    bad[2, 4, 0] = math.inf
    with pytest.raises(InputValueError, match=r"log_probs\[2, 4\]"):
        stream.feed(bad)
    bad[2, 4, 0] = math.nan  # beyond stream 2's length: ignored
    stream.feed(bad, lengths=[7, 7, 4])
    stream.feed(lp[:, 7:], lengths=[0, 0, 3])
    assert stream.frames == [10, 10, 10]
    with pytest.raises(ShapeError, match=r"\(3, T_chunk, V\)"):
        stream.feed(lp[:2])
    with pytest.raises(ShapeError, match="lengths"):
        stream.feed(lp, lengths=[1, 2])
    got = stream.finish()
    for b in range(3):
        assert_same([got[b]], decoder.decode(lp[b]))


@pytest.mark.parametrize("batch_size", [None, 2])
def test_a_bad_entry_in_the_first_or_last_frame_taken_is_refused(
    refs: dict[str, Any], batch_size: int | None
) -> None:
    """Every frame a stream takes is checked, the chunk's first and last (by ``lengths``)
    included; a frame beyond ``lengths`` is not."""
    count = batch_size or 1
    lp = np.stack([refs["random_log_probs"](s, 9, 4) for s in range(count)])
    decoder = BeamSearchDecoder(beam_width=3, num_threads=1)
    stream = decoder.stream(batch_size=batch_size)
    whole = lp if batch_size else lp[0]
    stream.feed(whole[..., :2, :])
    for frame, lengths in ((2, None), (8, None), (6, [5] * count)):
        bad = lp[:, 2:].copy()
        bad[-1, frame - 2, 3] = math.nan
        with pytest.raises(InputValueError, match=rf"{frame - 2}\]"):
            stream.feed(bad if batch_size else bad[0], lengths=lengths)
        assert stream.frames == [2] * count
    bad = lp[:, 2:].copy()
    bad[-1, 5, 3] = math.nan  # frame 7, beyond the lengths: ignored
    stream.feed(bad if batch_size else bad[0], lengths=[5] * count)
    got = stream.finish()
    for b in range(count):
        assert_same([got[b]], decoder.decode(lp[b, :7]))


def test_the_first_chunk_fixes_the_vocabulary_and_an_lm_must_match_it() -> None:
    decoder = BeamSearchDecoder(beam_width=3, lm=_LMS[4], lm_weight=0.5)
    stream = decoder.stream()
    with pytest.raises(InputValueError, match="vocab_size=4"):  # the LM's, as decode says
        stream.feed(np.log(np.full((3, 5), 0.2)))
    stream.feed(np.log(np.full((0, 4), 0.25)))  # an empty chunk fixes V too
    with pytest.raises(ShapeError, match="fixed by the first chunk"):
        stream.feed(np.log(np.full((3, 3), 1 / 3)))
    with pytest.raises(InputValueError, match="blank"):
        BeamSearchDecoder(blank=3).stream().feed(np.log(np.full((3, 3), 1 / 3)))
    for bad in (0, -1):
        with pytest.raises(InputValueError, match="batch_size"):
            decoder.stream(batch_size=bad)
    with pytest.raises(InputTypeError, match="batch_size"):
        decoder.stream(batch_size=2.0)  # type: ignore[arg-type]
    assert isinstance(decoder.stream(), DecoderStream)
    assert "DecoderStream(batch_size=None" in repr(decoder.stream())
    assert decoder.stream(batch_size=2).finish() == [[Hypothesis((), 0.0, 0.0, 0.0, ())]] * 2


def labelled_log_probs(rng: np.random.Generator, time: int, vocab: int) -> np.ndarray:
    """Frames whose winners follow a random label path with runs and repeats (so chunk
    boundaries often cut a run), plus noise."""
    labels = np.repeat(rng.integers(0, vocab, size=time), rng.integers(1, 4, size=time))[:time]
    x = rng.normal(size=(time, vocab)) + 4.0 * np.eye(vocab)[labels]
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


@given(
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 3),
    time=st.integers(0, 40),
    vocab=st.integers(1, 5),
    blank_pos=st.integers(0, 4),
    use_torch=st.booleans(),
    data=st.data(),
)
def test_greedy_stream_equals_greedy_decode_for_any_chunking(
    seed: int,
    batch: int,
    time: int,
    vocab: int,
    blank_pos: int,
    use_torch: bool,
    data: st.DataObject,
) -> None:
    blank = blank_pos % vocab
    rng = np.random.default_rng(seed)
    lp = np.stack([labelled_log_probs(rng, time, vocab) for _ in range(batch)])
    single = batch == 1 and data.draw(st.booleans())
    stream = greedy_stream(blank=blank, batch_size=None if single else batch)
    whole: list[list[np.ndarray]] = [[] for _ in range(batch)]
    for start, end in cut(time, data.draw(chunkings)):
        chunk = lp[:, start:end]
        lens = data.draw(st.lists(st.integers(0, end - start), min_size=batch, max_size=batch))
        x: Any = torch.from_numpy(chunk) if use_torch else chunk
        if single:
            stream.feed(x[0], lengths=lens[0])
        else:
            stream.feed(x, lengths=lens)
        for b in range(batch):
            whole[b].append(chunk[b, : lens[b]])
        assert stream.partial() == [greedy_decode(np.concatenate(w), blank=blank)[0] for w in whole]
    assert stream.finish() == [greedy_decode(np.concatenate(w), blank=blank)[0] for w in whole]


def test_greedy_stream_errors_leave_it_usable() -> None:
    lp = np.log(np.eye(3)[[1, 1, 0, 1, 2, 2]] * 0.9 + 0.05)
    stream = GreedyStream()
    stream.feed(lp[:2])
    bad = lp[2:].copy()
    bad[1, 2] = math.nan
    with pytest.raises(InputValueError, match=r"log_probs\[1\]"):
        stream.feed(bad)
    with pytest.raises(ShapeError, match="fixed by the first chunk"):
        stream.feed(np.log(np.full((2, 4), 0.25)))
    with pytest.raises(ShapeError, match=r"\(T_chunk, V\)"):
        stream.feed(lp[None])
    with pytest.raises(ShapeError, match=r"\(2, T_chunk, V\)"):
        greedy_stream(batch_size=2).feed(lp)
    with pytest.raises(CTCKitError):
        stream.feed("frames")
    assert stream.partial() == [[1]]
    stream.feed(lp[2:])
    assert stream.finish() == greedy_decode(lp)
    with pytest.raises(InputValueError, match="finished"):
        stream.feed(lp)
    with pytest.raises(InputValueError, match="finished"):
        stream.finish()
    assert repr(stream) == "GreedyStream(blank=0, batch_size=None)"
