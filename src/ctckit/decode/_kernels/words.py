"""The word search: the CTC prefix beam search over a word scorer (private).

One frame loop (:func:`advance`) for both modes of :mod:`.word_scorer`: the token
search's frame reading and blank runs (:mod:`.frames`, :mod:`.stays`), its candidate
tokens (:mod:`.candidates`) and selection primitives (:mod:`.numeric`), the same
search state (:mod:`.state`), with the stays, selection, commit and backtrace written
over variants: an extension ``(beam, token)`` may become several prefixes, a node being
keyed on ``(parent, token, event)``. Selection ids carry the variant:
``(beam + 1) << 42 | token << 21 | variant``.

Merging is exact as in the token search: a stay takes in the extension of its parent's
beam by its last token (same tokens, same event: the same prefix); the extension is
stamped, and the selection skips it (lexicon-free: the stamp says it all; with a
lexicon, the stamped token's variants are looked up among the node's children). With
the scorer's ``max_merge`` the two merges (:func:`_merge`) take the maximum instead of
the log-sum-exp: ``pb``, ``pnb`` and ``tot`` are then best-alignment (Viterbi) scores,
flashlight's default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ctckit._atomic import fetch_add
from ctckit.decode._kernels.backtrace import _room, append_empty, append_n_best
from ctckit.decode._kernels.candidates import candidate_tokens, entry_threshold
from ctckit.decode._kernels.frames import (
    classify_pruned,
    first_invalid,
    load_pruned_row,
    load_row,
    thresholds,
)
from ctckit.decode._kernels.layout import (
    C_BEAMS,
    C_CUR,
    C_FRAMES,
    C_MARK,
    C_NEXT,
    C_NODES,
    C_RECS,
    C_SETTLED,
    C_STAY,
    H_NODES,
    MAX_MARK,
)
from ctckit.decode._kernels.numeric import (
    NEG_INF,
    SLACK,
    SORTED_MAX_WIDTH,
    insert_sorted,
    keep_best,
    lse,
)
from ctckit.decode._kernels.select import keep_stays
from ctckit.decode._kernels.state import new_flat, state_views
from ctckit.decode._kernels.stays import add_shift, no_stay_possible, start_blank_run
from ctckit.decode._kernels.word_scorer import (
    w_context,
    w_event,
    w_extra,
    w_final,
    w_init,
    w_root,
    w_variant_event,
    w_variants,
    w_word_ends,
    w_words,
)

_VBITS = 21
_VMASK = (1 << _VBITS) - 1
_EXT = 1 << (2 * _VBITS)  # selection ids from here on are extensions


@njit(cache=True, nogil=True, inline="always")
def _reset(state, scorer):  # type: ignore[no-untyped-def]
    """Start a search: the beam is the empty prefix (the root) with probability 1."""
    trie, beams, counts = state.trie, state.beams, state.counts
    trie.parent[0] = -1
    trie.token[0] = -1
    trie.length[0] = 0
    trie.first_child[0] = -1
    trie.next_sibling[0] = -1
    w_root(scorer, trie)
    beams.node[0, 0] = 0
    beams.pb[0, 0] = 0.0
    beams.pnb[0, 0] = NEG_INF
    beams.tot[0, 0] = 0.0
    beams.vb[0, 0] = 0.0
    beams.vnb[0, 0] = NEG_INF
    beams.rb[0, 0] = -1
    beams.rnb[0, 0] = -1
    beams.eb[0, 0] = -1
    counts[C_BEAMS] = 1
    counts[C_NODES] = 1
    counts[C_RECS] = 0
    counts[C_CUR] = 0
    counts[C_STAY] = 1
    counts[C_NEXT] = 2
    counts[C_SETTLED] = 0
    counts[C_FRAMES] = 0
    state.shift[0] = 0.0


@njit(cache=True, nogil=True, inline="always")
def _merge(scorer, a, b):  # type: ignore[no-untyped-def]
    """Two sets of alignments of one prefix merged: log-sum-exp, or the better one."""
    if scorer.max_merge:
        return a if a >= b else b
    return lse(a, b)


@njit(cache=True, nogil=True, inline="always")
def _keep_context(scorer, trie, nd, j, ctx_i, ctx_f):  # type: ignore[no-untyped-def]
    """Keep beam ``j``'s :func:`.word_scorer.w_context` (of node ``nd``) for the frame's
    selection and commit, which read it from these small arrays instead of the node's
    model rows. Returns its bound."""
    bound, ctx = w_context(scorer, trie, nd)
    ctx_i[0, j] = ctx[0]
    ctx_i[1, j] = ctx[1]
    ctx_i[2, j] = ctx[2]
    ctx_i[3, j] = ctx[3]
    ctx_i[4, j] = ctx[4]
    ctx_i[5, j] = ctx[5]
    ctx_f[0, j] = ctx[6]
    ctx_f[1, j] = ctx[7]
    ctx_f[2, j] = bound
    return bound


@njit(cache=True, nogil=True, inline="always")
def _context_of(ctx_i, ctx_f, i):  # type: ignore[no-untyped-def]
    """Beam ``i``'s kept ``(bound, context)`` (see :func:`_keep_context`)."""
    ctx = (ctx_i[0, i], ctx_i[1, i], ctx_i[2, i], ctx_i[3, i], ctx_i[4, i], ctx_i[5, i],
           ctx_f[0, i], ctx_f[1, i])  # fmt: skip
    return ctx_f[2, i], ctx


@njit(cache=True, nogil=True, inline="always")
def _stays(  # type: ignore[no-untyped-def]
    beams, cur, stay, n, trie, recs, n_rec, scorer, row, lb, t, stamp, mark, vocab, ctx_i, ctx_f
):
    """The stays of the ``n`` beams of slot ``cur`` into slot ``stay``, ranked (as the
    token search's): ``(best, worst, gmax, n_rec)`` with ``gmax`` an upper bound of any
    extension's rank without the token's log-prob; each beam's context is kept
    (:func:`_keep_context`)."""
    best = NEG_INF
    worst = np.inf
    gmax = NEG_INF
    for i in range(n):
        trie.beam[beams.node[cur, i]] = i
    for j in range(n):
        nd = beams.node[cur, j]
        tot = beams.tot[cur, j]
        pb = tot + lb
        if beams.vb[cur, j] >= beams.vnb[cur, j]:
            beams.vb[stay, j] = beams.vb[cur, j] + lb
            beams.rb[stay, j] = beams.rb[cur, j]
            beams.eb[stay, j] = beams.eb[cur, j]
        else:
            beams.vb[stay, j] = beams.vnb[cur, j] + lb
            beams.rb[stay, j] = beams.rnb[cur, j]
            beams.eb[stay, j] = t
        pnb = NEG_INF
        vnb = NEG_INF
        rnb = beams.rnb[cur, j]
        if trie.length[nd] > 0:
            c = trie.token[nd]
            v = row[c]
            if v != NEG_INF:
                pnb = beams.pnb[cur, j] + v
                vnb = beams.vnb[cur, j] + v
                p = trie.parent[nd]
                k = trie.beam[p]
                if k >= 0 and k < n and beams.node[cur, k] == p:  # the parent is in the beam
                    if c == trie.token[p]:  # a repeated label grows only from the blank end
                        e = beams.pb[cur, k] + v
                        ev = beams.vb[cur, k] + v
                        er = beams.rb[cur, k]
                        ee = beams.eb[cur, k]
                    else:
                        e = beams.tot[cur, k] + v
                        if beams.vb[cur, k] >= beams.vnb[cur, k]:
                            ev = beams.vb[cur, k] + v
                            er = beams.rb[cur, k]
                            ee = beams.eb[cur, k]
                        else:
                            ev = beams.vnb[cur, k] + v
                            er = beams.rnb[cur, k]
                            ee = t
                    pnb = _merge(scorer, pnb, e)
                    if ev > vnb:
                        vnb = ev
                        recs.frame[n_rec] = t
                        recs.prev[n_rec] = er
                        recs.prev_end[n_rec] = ee
                        recs.logp[n_rec] = v
                        rnb = n_rec
                        n_rec += 1
                    stamp[k * vocab + c] = mark
        beams.pb[stay, j] = pb
        beams.pnb[stay, j] = pnb
        beams.vnb[stay, j] = vnb
        beams.rnb[stay, j] = rnb
        tot = _merge(scorer, pb, pnb)
        beams.tot[stay, j] = tot
        r = tot + trie.extra[nd]
        beams.rank[j] = r
        if r > best:
            best = r
        if r < worst:
            worst = r
        bnd = beams.tot[cur, j] + _keep_context(scorer, trie, nd, j, ctx_i, ctx_f)
        if bnd > gmax:
            gmax = bnd
    return best, worst, gmax, n_rec


@njit(cache=True, nogil=True, inline="always")
def _find_child(trie, scorer, p, c, event):  # type: ignore[no-untyped-def]
    """The node of prefix ``p`` extended by ``c`` with ``event``, or -1."""
    nd = trie.first_child[p]
    while nd >= 0 and not (trie.token[nd] == c and w_event(scorer, trie, nd) == event):
        nd = trie.next_sibling[nd]
    return nd


@njit(cache=True, nogil=True, inline="always")
def _in_beam(trie, beams, cur, n, nd):  # type: ignore[no-untyped-def]
    if nd < 0:
        return False
    k = trie.beam[nd]
    return k >= 0 and k < n and beams.node[cur, k] == nd


@njit(cache=True, nogil=True, inline="always")
def _select(  # type: ignore[no-untyped-def]
    beams, cur, n, trie, scorer, row, toks, nt, stamp, mark, vocab, width, best, thr,
    beam_prune_logp, bs, bid, tmp, ctx_i, ctx_f,
):  # fmt: skip
    """The ``W`` best of the stays (ranked in ``beams.rank``) and the variants of the
    extensions of the ``n`` beams of slot ``cur`` by the ``nt`` tokens ``toks``, into
    ``bs``/``bid`` (as the token search's selection). Returns their count and the best
    rank."""
    use_sorted = width <= SORTED_MAX_WIDTH
    lexicon = scorer.lexicon
    nb = 0
    for j in range(n):
        r = beams.rank[j]
        if r != NEG_INF:
            if use_sorted:
                nb = insert_sorted(bs, bid, nb, width, r, j)
            else:
                bs[nb] = r
                bid[nb] = j
                nb += 1
    if use_sorted and nb == width and bs[nb - 1] > thr:
        thr = bs[nb - 1]
    for i in range(n):
        nd = beams.node[cur, i]
        base = beams.tot[cur, i]
        if base == NEG_INF:
            continue
        bound, context = _context_of(ctx_i, ctx_f, i)
        bnd = base + bound
        ends_max = context[7] + scorer.end_max + SLACK  # what a word end adds at most
        last = trie.token[nd]
        pb = beams.pb[cur, i]
        off = i * vocab
        for q in range(nt):
            c = toks[q]
            v = row[c]
            if bnd + v + SLACK <= thr:
                break
            stamped = stamp[off + c] == mark
            if stamped and not lexicon:  # the one variant is a stay (merged there)
                continue
            ac = (pb if c == last else base) + v
            count, variants = w_variants(scorer, context, c)
            first_end = count - w_word_ends(scorer, variants)
            for var in range(count):
                if var >= first_end and ac + ends_max <= thr:
                    break  # no word end of this extension can enter: no LM lookup
                extra, event = w_extra(scorer, trie, context, c, var, variants)
                if stamped and _in_beam(trie, beams, cur, n, _find_child(trie, scorer, nd, c,
                                                                         event)):  # fmt: skip
                    continue
                r = ac + extra
                if r > thr:
                    ident = ((i + 1) << (2 * _VBITS)) | (c << _VBITS) | var
                    if use_sorted:
                        nb = insert_sorted(bs, bid, nb, width, r, ident)
                        if r > best:
                            best = r
                        thr = best + beam_prune_logp
                        if nb == width and bs[nb - 1] > thr:
                            thr = bs[nb - 1]
                        continue
                    bs[nb] = r
                    bid[nb] = ident
                    nb += 1
                    if r > best:
                        best = r
                        if best + beam_prune_logp > thr:
                            thr = best + beam_prune_logp
                    if nb == 4 * width:
                        nb, kth = keep_best(bs, bid, nb, width, tmp)
                        if kth > thr:
                            thr = kth
    if nb > width:  # (never when sorted)
        nb, _ = keep_best(bs, bid, nb, width, tmp)
    return nb, best


@njit(cache=True, nogil=True, inline="always")
def _child_node(trie, scorer, p, c, event, n_nodes):  # type: ignore[no-untyped-def]
    """The node of ``p`` extended by ``c`` with ``event``, made if new (one node per
    prefix). Returns it and the node count."""
    nd = _find_child(trie, scorer, p, c, event)
    if nd >= 0:
        return nd, n_nodes
    nd = n_nodes
    trie.parent[nd] = p
    trie.token[nd] = c
    trie.first_child[nd] = -1
    trie.next_sibling[nd] = trie.first_child[p]
    trie.first_child[p] = nd
    trie.length[nd] = trie.length[p] + 1
    w_init(scorer, trie, p, c, event, nd)
    return nd, n_nodes + 1


@njit(cache=True, nogil=True, inline="always")
def _commit(  # type: ignore[no-untyped-def]
    beams, cur, stay, nxt, trie, recs, scorer, row, bs, bid, nb, cut, t, n_nodes, n_rec, ctx_i,
    ctx_f,
):  # fmt: skip
    """The survivors ``bs[:nb]``/``bid[:nb]`` that pass ``cut`` become slot ``nxt`` (as
    the token search's commit). Returns the beam, node and record counts."""
    m = 0
    for h in range(nb):
        if bs[h] < cut:
            continue
        ident = bid[h]
        if ident < _EXT:  # a stay
            beams.node[nxt, m] = beams.node[cur, ident]
            beams.pb[nxt, m] = beams.pb[stay, ident]
            beams.pnb[nxt, m] = beams.pnb[stay, ident]
            beams.tot[nxt, m] = beams.tot[stay, ident]
            beams.vb[nxt, m] = beams.vb[stay, ident]
            beams.vnb[nxt, m] = beams.vnb[stay, ident]
            beams.rb[nxt, m] = beams.rb[stay, ident]
            beams.rnb[nxt, m] = beams.rnb[stay, ident]
            beams.eb[nxt, m] = beams.eb[stay, ident]
        else:
            i = (ident >> (2 * _VBITS)) - 1
            c = (ident >> _VBITS) & _VMASK
            var = ident & _VMASK
            p = beams.node[cur, i]
            event = 0
            if scorer.lexicon:
                _, context = _context_of(ctx_i, ctx_f, i)
                _, variants = w_variants(scorer, context, c)
                event = w_variant_event(scorer, variants, var)
            nd, n_nodes = _child_node(trie, scorer, p, c, event, n_nodes)
            v = row[c]
            repeat = c == trie.token[p]
            ac = (beams.pb[cur, i] if repeat else beams.tot[cur, i]) + v  # as when it was tried
            beams.node[nxt, m] = nd
            beams.pb[nxt, m] = NEG_INF
            beams.pnb[nxt, m] = ac
            beams.tot[nxt, m] = ac
            if repeat or beams.vb[cur, i] >= beams.vnb[cur, i]:
                beams.vnb[nxt, m] = beams.vb[cur, i] + v
                recs.prev[n_rec] = beams.rb[cur, i]
                recs.prev_end[n_rec] = beams.eb[cur, i]
            else:
                beams.vnb[nxt, m] = beams.vnb[cur, i] + v
                recs.prev[n_rec] = beams.rnb[cur, i]
                recs.prev_end[n_rec] = t
            recs.frame[n_rec] = t
            recs.logp[n_rec] = v
            beams.rnb[nxt, m] = n_rec
            n_rec += 1
            beams.vb[nxt, m] = NEG_INF
            beams.rb[nxt, m] = -1
            beams.eb[nxt, m] = -1
        m += 1
    return m, n_nodes, n_rec


# Without Numba's reference counting, as the token search's (see the package doc).
_NO_REFCOUNTS: dict[str, Any] = {"_nrt": False}


@njit(cache=True, nogil=True, **_NO_REFCOUNTS)
def advance(state, opts, scorer, lp, frames, row, ctx_i, ctx_f):  # type: ignore[no-untyped-def]
    """Search frames ``lp[:frames]`` from ``state`` (the token search's frame loop, with the
    word stays, selection and commit); ``row`` is a scratch array of ``V`` entries of
    ``lp``'s dtype; ``ctx_i``/``ctx_f`` scratch of ``(6, W)`` int64 and ``(3, W)`` float64
    (the beams' contexts, :func:`_keep_context`). Returns the flat index ``t * V + v`` of
    the first entry that is not a log-probability (the search stops there), or -1."""
    trie, recs, beams, work, counts = state.trie, state.recs, state.beams, state.work, state.counts
    vocab = lp.shape[1]
    width = opts.beam_width
    blank = opts.blank
    prune = opts.beam_prune_logp
    n = counts[C_BEAMS]
    n_nodes = counts[C_NODES]
    n_rec = counts[C_RECS]
    cur, stay, nxt = counts[C_CUR], counts[C_STAY], counts[C_NEXT]
    settled = counts[C_SETTLED] != 0
    mark = counts[C_MARK]
    t0 = counts[C_FRAMES]
    shift = state.shift[0]
    tmin, high = thresholds(row, opts.token_min_logp)
    prune_tokens = opts.token_min_logp != NEG_INF
    keep_blank = scorer.keep_blank
    bad = -1
    t = -1
    while n > 0:
        t += 1
        if t >= frames:
            break
        if prune_tokens:
            only_blank, top, bad = classify_pruned(lp, t, blank, tmin, high)
            if bad >= 0:
                break
            if settled:
                while only_blank:
                    shift += lp[t, blank]
                    t += 1
                    if t == frames:
                        break
                    only_blank, top, bad = classify_pruned(lp, t, blank, tmin, high)
                if t == frames or bad >= 0:
                    break
                add_shift(beams, cur, n, shift)
                shift = 0.0
                settled = False
            elif only_blank:
                start_blank_run(beams, cur, n, t0 + t)
                shift = lp[t, blank]
                settled = True
                continue
            nk = load_pruned_row(lp, t, blank, tmin, top, row, work.kept)
            if keep_blank:  # (classify_pruned's "only the blank kept" holds as it is)
                row[blank] = lp[t, blank]
        else:
            nk, bad = load_row(lp, t, blank, high, row, work.kept)
            if bad >= 0:
                break
        lb = row[blank]
        if mark == MAX_MARK:
            work.stamp[:] = 0
            mark = 0
        mark += 1
        if no_stay_possible(beams, cur, n, trie, row, lb):
            for j in range(n):
                beams.rank[j] = NEG_INF
                _keep_context(scorer, trie, beams.node[cur, j], j, ctx_i, ctx_f)
            best = NEG_INF
            worst = NEG_INF
            gmax = np.inf
        else:
            best, worst, gmax, n_rec = _stays(
                beams, cur, stay, n, trie, recs, n_rec, scorer, row, lb, t0 + t, work.stamp,
                mark, vocab, ctx_i, ctx_f,
            )  # fmt: skip
        thr = entry_threshold(best, worst, n, width, prune)
        nt = candidate_tokens(row, work.kept, nk, thr, gmax, work.toks)
        if nt == 0:
            n = keep_stays(beams, cur, stay, n, best, prune)
            cur, stay = stay, cur
        else:
            nb, best = _select(
                beams, cur, n, trie, scorer, row, work.toks, nt, work.stamp, mark, vocab,
                width, best, thr, prune, work.bs, work.bid, work.tmp, ctx_i, ctx_f,
            )  # fmt: skip
            n, n_nodes, n_rec = _commit(
                beams, cur, stay, nxt, trie, recs, scorer, row, work.bs, work.bid, nb,
                best + prune, t0 + t, n_nodes, n_rec, ctx_i, ctx_f,
            )  # fmt: skip
            cur, nxt = nxt, cur
    if bad >= 0:
        bad += t * vocab
    elif n == 0:  # every beam died at frame t; the frames after it are still checked
        bad = first_invalid(lp, max(t + 1, 0), frames, high)
    counts[C_BEAMS] = n
    counts[C_NODES] = n_nodes
    counts[C_RECS] = n_rec
    counts[C_CUR] = cur
    counts[C_STAY] = stay
    counts[C_NEXT] = nxt
    counts[C_SETTLED] = 1 if settled else 0
    counts[C_MARK] = mark
    counts[C_FRAMES] = t0 + frames
    state.shift[0] = shift
    return bad


@njit(cache=True, nogil=True)
def n_best(state, scorer, want):  # type: ignore[no-untyped-def]
    """The ``want`` best prefixes at the end of the input (the scorer's end terms), with
    their words read off the backtrace.

    Returns:
        ``(k, sizes, scores, tokens, starts, ends, word_counts, words)``: ``k``
        hypotheses, best first; their lengths ``(k,)`` and scores ``(k, 3)`` (total,
        acoustic, natural-log LM); per token, flat in order: the label and the
        ``[start, end)`` frames of its run on the best alignment; the words per
        hypothesis ``(k,)`` and, flat in order, ``words`` ``(5, n)``: each word's
        ``[start, end)`` frames, key, first and last token (see :func:`.word_scorer.w_words`).
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
        extra, lm = w_final(scorer, trie, nd)
        acoustic[i] = ac
        model[i] = lm
        total[i] = ac + extra
    order = np.argsort(-total[:n], kind="mergesort")
    k = 0
    size = 0
    for q in range(min(n, want)):
        if total[order[q]] == NEG_INF:
            break
        k += 1
        size += trie.length[beams.node[cur, order[q]]]
    sizes = np.empty(k, np.int64)
    scores = np.empty((k, 3), np.float64)
    tokens = np.empty(size, np.int32)
    starts = np.empty(size, np.int32)
    ends = np.empty(size, np.int32)
    nodes = np.empty(size, np.int32)
    word_counts = np.empty(k, np.int64)
    words = np.empty((5, size), np.int32)  # a word has a token at least
    nw = 0
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
            nodes[pos] = nd
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
            end = recs.prev_end[rec]
            rec = recs.prev[rec]
            pos -= 1
        before = nw
        nw = w_words(scorer, trie, tokens, nodes, starts, ends, pos0, length, words, nw)
        word_counts[q] = nw - before
        pos0 += length
    return k, sizes, scores, tokens, starts, ends, word_counts, words[:, :nw]


@njit(cache=True, nogil=True, inline="always")
def _append_words(out, no, word_counts, words):  # type: ignore[no-untyped-def]
    """Append one search's words (:func:`n_best`'s ``word_counts`` and ``words``) to ``out``
    from ``no`` on: per hypothesis its word count ``nw``, then ``nw`` entries of each of
    ``words``' five rows in turn (starts, ends, keys, first and last tokens). A buffer too
    small is replaced by one at least twice its size. Returns ``(out, no)``."""
    k = word_counts.shape[0]
    out = _room(out, no, no + k + 5 * words.shape[1])
    w = 0
    for q in range(k):
        nw = word_counts[q]
        out[no] = nw
        no += 1
        for r in range(5):
            out[no : no + nw] = words[r, w : w + nw]
            no += nw
        w += nw
    return out, no


@njit(cache=True, nogil=True)
def decode_words(arr, lens, order, taken, opts, scorer, rows, want, bufs):  # type: ignore[no-untyped-def]
    """Decode utterances ``order[i]`` of ``arr`` (``(B, T, V)``), frames ``arr[b, :lens[b]]``
    (``lens`` empty: ``T`` each), one after another, ``i = fetch_add(taken, 1)`` each: the
    threads running this call on the same ``taken`` (one call from Python per thread)
    each take the next utterance when done with one, so that they end together. Keeps
    the ``want`` best hypotheses of each.

    ``rows``: the scorer's ``(model_int, model_float)`` row counts. ``bufs``: the flat
    buffers ``(i32, f64, i64)`` of a search state (:func:`.state.new_flat`, one row) to
    search in, or of no row: new ones are made when these hold too few nodes (a caller
    that keeps them between calls pays the first touch of their pages once).

    Returns:
        ``(utts, ints, floats, words, bad, where, i32, f64, i64)``: the utterances this
        thread decoded, in turn, and their N best, packed as the token search's
        (:mod:`.backtrace`, without per-token values; ``k`` is 0 when no hypothesis is
        left), and their words (see :func:`_append_words`; a word's first and last token
        counted within its hypothesis); ``bad``: the flat index ``t * V + v`` of the
        first invalid entry in a valid frame of utterance ``where``, or -1 (and
        ``where`` -1) if none (this thread stops there); the state buffers searched in.
    """
    _, time, vocab = arr.shape
    all_frames = lens.shape[0] == 0
    longest = 0
    cap = 0  # room for all of them (pages this thread does not fill are never touched)
    for i in range(order.shape[0]):
        length = time if all_frames else lens[order[i]]
        longest = max(longest, length)
        cap += 2 + want * (1 + 3 * min(length, 64))
    utts = np.empty(order.shape[0], np.int64)
    ints = np.empty(cap, np.int64)
    floats = np.empty(3 * cap // 4 + 3, np.float64)
    words = np.empty(cap, np.int64)
    nu = 0
    ni = 0
    nf = 0
    nw = 0
    # two trie columns more than a search fills: scratch for the scorers' LM states
    nodes = longest * opts.beam_width + 3
    i32, f64, i64 = bufs
    if i64.shape[0] == 0 or i64[0, H_NODES] < nodes:
        i32, f64, i64 = new_flat(1, opts.beam_width, vocab, nodes, rows[0], rows[1])
    state = state_views(i32[0], f64[0], i64[0])
    row = np.empty(max(vocab, 2), arr.dtype)  # the frame, copied (see advance)
    ctx_i = np.empty((6, opts.beam_width), np.int64)  # the beams' contexts (see advance)
    ctx_f = np.empty((3, opts.beam_width), np.float64)
    no_values = np.empty(0, np.float64)  # (the word search returns no per-token values)
    empty_count = np.zeros(1, np.int64)
    empty_words = np.empty((5, 0), np.int32)
    while True:
        i = fetch_add(taken, 1)
        if i >= order.shape[0]:
            break
        b = order[i]
        utts[nu] = b
        nu += 1
        length = time if all_frames else lens[b]
        if length == 0:  # the empty labelling, score 0
            ints, floats, ni, nf = append_empty(ints, floats, ni, nf)
            words, nw = _append_words(words, nw, empty_count, empty_words)
            continue
        _reset(state, scorer)
        bad = advance(state, opts, scorer, arr[b], length, row, ctx_i, ctx_f)
        if bad >= 0:
            return utts[: nu - 1], ints[:ni], floats[:nf], words[:nw], bad, b, i32, f64, i64
        k, sizes, scores, tokens, starts, ends, word_counts, found = n_best(state, scorer, want)
        ints, floats, ni, nf = append_n_best(
            ints, floats, ni, nf, (k, sizes, scores, tokens, starts, ends, no_values)
        )
        words, nw = _append_words(words, nw, word_counts, found)
    return utts[:nu], ints[:ni], floats[:nf], words[:nw], -1, -1, i32, f64, i64
