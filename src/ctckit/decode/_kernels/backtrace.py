"""Stage 5: the N best of the beam, read back from the trie and the records (private).

The packed output
=================

A kernel that decodes several searches returns their N best in two flat buffers, which
cost two arrays' boxing and two ``tolist`` calls in Python whatever the batch size
(:func:`append_n_best` writes them, one search after another):

* ``ints`` (int64), per search: ``k`` (hypotheses), then per hypothesis its length ``n``,
  its ``n`` tokens, their ``n`` start frames and their ``n`` end frames (exclusive);
* ``floats`` (float64), per hypothesis: its total, acoustic and model scores, then ``n``
  values per token (the token search: its confidence; the word search writes none).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ctckit.decode._kernels.fusion import result_scores
from ctckit.decode._kernels.layout import C_BEAMS, C_CUR, C_FRAMES, C_SETTLED
from ctckit.decode._kernels.numeric import NEG_INF


@njit(cache=True, nogil=True)
def n_best(state, scorer, top_n, final):  # type: ignore[no-untyped-def]
    """The ``top_n`` best prefixes of the current beam, without changing the state.

    With ``final``, prefixes are ranked with the scorer's end terms (end of sentence);
    else by their current rank, as the search would go on. A pending blank run's shift is
    included.

    Returns:
        ``(k, sizes, scores, tokens, starts, ends, logps)``: ``k`` hypotheses, best first;
        their lengths ``(k,)`` and scores ``(k, 3)`` (total, acoustic, model); then per
        token, flat in order: the label, the ``[start, end)`` frames of its run on the
        best alignment and its confidence: the largest probability of the label over
        that run (its best frame posterior).
    """
    trie, recs, beams = state.trie, state.recs, state.beams
    n = state.counts[C_BEAMS]
    cur = state.counts[C_CUR]
    t_end = state.counts[C_FRAMES]
    shift = state.shift[0] if state.counts[C_SETTLED] else 0.0
    total = np.empty(max(n, 1), np.float64)
    acoustic = np.empty(max(n, 1), np.float64)
    model = np.empty(max(n, 1), np.float64)
    for i in range(n):
        nd = beams.node[cur, i]
        ac = beams.tot[cur, i] + shift if shift != 0.0 else beams.tot[cur, i]
        final_extra, final_score, score = result_scores(scorer, trie, nd)
        if final:
            extra = final_extra
            score = final_score
        else:
            extra = trie.extra[nd]
        acoustic[i] = ac
        model[i] = score
        total[i] = ac + extra
    order = np.argsort(-total[:n], kind="mergesort")
    k = 0
    size = 0
    for q in range(min(n, top_n)):
        if total[order[q]] == NEG_INF:
            break
        k += 1
        size += trie.length[beams.node[cur, order[q]]]
    sizes = np.empty(k, np.int64)
    scores = np.empty((k, 3), np.float64)
    tokens = np.empty(size, np.int32)
    starts = np.empty(size, np.int32)
    ends = np.empty(size, np.int32)
    confidences = np.empty(size, np.float64)
    pos0 = 0
    for q in range(k):
        i = order[q]
        nd = beams.node[cur, i]
        length = trie.length[nd]
        sizes[q] = length
        scores[q, 0] = total[i]
        scores[q, 1] = acoustic[i]
        scores[q, 2] = model[i]
        pos = pos0 + length - 1
        while nd > 0:
            tokens[pos] = trie.token[nd]
            nd = trie.parent[nd]
            pos -= 1
        if beams.vb[cur, i] >= beams.vnb[cur, i]:  # the best path ends in a blank
            rec = beams.rb[cur, i]
            end = beams.eb[cur, i]
        else:
            rec = beams.rnb[cur, i]
            end = t_end
        pos = pos0 + length - 1
        while rec >= 0:
            starts[pos] = recs.frame[rec]
            ends[pos] = end
            confidences[pos] = math.exp(recs.logp[rec])
            end = recs.prev_end[rec]
            rec = recs.prev[rec]
            pos -= 1
        pos0 += length
    return k, sizes, scores, tokens, starts, ends, confidences


@njit(cache=True, nogil=True, inline="always")
def append_n_best(ints, floats, ni, nf, found):  # type: ignore[no-untyped-def]
    """Append one search's N best to the packed output (see the module doc).

    ``found``: ``(k, sizes, scores, tokens, starts, ends, values)`` as :func:`n_best`
    returns it (``values``: one number per token, any numeric dtype, written to
    ``floats``; or empty: none, the three scores only). ``ni``/``nf``: the entries of
    ``ints``/``floats`` used so far. A buffer too small is replaced by one at least twice
    its size.

    Returns:
        ``(ints, floats, ni, nf)`` after the append.
    """
    k, sizes, scores, tokens, starts, ends, values = found
    size = tokens.shape[0]
    per_token = values.shape[0] != 0
    ints = _room(ints, ni, ni + 1 + k + 3 * size)
    floats = _room(floats, nf, nf + 3 * k + (size if per_token else 0))
    ints[ni] = k
    ni += 1
    pos = 0
    for q in range(k):
        n = sizes[q]
        ints[ni] = n
        ni += 1
        for j in range(n):
            ints[ni + j] = tokens[pos + j]
            ints[ni + n + j] = starts[pos + j]
            ints[ni + 2 * n + j] = ends[pos + j]
        ni += 3 * n
        floats[nf] = scores[q, 0]
        floats[nf + 1] = scores[q, 1]
        floats[nf + 2] = scores[q, 2]
        nf += 3
        if per_token:
            for j in range(n):
                floats[nf + j] = values[pos + j]
            nf += n
        pos += n
    return ints, floats, ni, nf


@njit(cache=True, nogil=True, inline="always")
def append_empty(ints, floats, ni, nf):  # type: ignore[no-untyped-def]
    """Append the N best of a search over no frame: the empty labelling, scores 0."""
    ints = _room(ints, ni, ni + 2)
    floats = _room(floats, nf, nf + 3)
    ints[ni] = 1
    ints[ni + 1] = 0
    floats[nf : nf + 3] = 0.0
    return ints, floats, ni + 2, nf + 3


@njit(cache=True, nogil=True, inline="always")
def _room(a, used, need):  # type: ignore[no-untyped-def]
    """``a``, or a copy of its first ``used`` entries with room for ``need``."""
    if need <= a.shape[0]:
        return a
    out = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    out[:used] = a[:used]
    return out
