"""Numba kernels of the CTC prefix beam search (private).

``decode_many`` decodes a list of utterances in one call from Python (one per
thread of the pool) and holds no GIL; ``prefix_beam_search`` decodes one. Its
buffers are a few allocations per utterance, viewed row by row.

Data structures:

* Prefixes are nodes of a trie held in flat arrays (``parent``, ``token``,
  ``length``, LM state, LM score, first child, next sibling). Only
  candidates that survive a frame's selection get a node; a node is never
  freed during the call, and a prefix that leaves the beam and comes back
  gets its old node again, so every prefix has exactly one node.
* The beam is ``n <= W`` node ids with their blank-ending (``pb``) and
  non-blank-ending (``pnb``) log-probabilities.
* Per frame, the candidates are the ``n`` beams themselves (a blank, or a
  repeat of the last label) and each beam extended by each non-blank token.
  An extension ``(i, c)`` is the same prefix as beam ``j`` only if ``j``'s
  parent node is beam ``i``'s node and ``j``'s token is ``c``; those are found
  through ``beam_of_node`` (no hashing) and merged with an exact log-sum-exp.
* Beside the summed probabilities, each beam keeps its most probable single
  alignment (ending in a blank / in a label, max instead of log-sum-exp) as
  a chain of emission records (frame, previous record); the frames of the
  result are read from that chain.
* Token pruning (``token_min_logp``) masks the frame's row first: a pruned
  token has log-prob ``-inf`` in that frame, in every use. A frame whose only
  kept token is the blank leaves every beam ending in a blank; from there on,
  each such frame adds the same log-prob to every beam, so a run of them is
  summed (a tight scan, about 12 ns a frame) and added once at its end.
* Per frame, the stays are ranked first (skipped when the frame prunes the
  blank and every beam's last label, as a confident label spike does: then
  no prefix can stay); their threshold (the worst stay when the beam is
  full, or the beam-pruning threshold) and an upper bound of the beams'
  totals select the tokens that could extend any beam into the selection.
  When there is none, the next beam is the stays that pass beam pruning,
  kept in place, with no selection and no new node.
* Otherwise the ``W`` best candidates are selected: for ``W <= 96`` by
  insertion into a sorted array of ``W`` (the beam is kept best first and
  tokens are visited best first, so candidates arrive nearly in order and
  most insertions shift little; measured faster than a bounded heap, by
  11% at ``W = 10`` and 20% at ``W = 50``), for wider beams by collecting
  the candidates that beat the threshold in a buffer of ``4W`` that
  quickselect cuts back to the ``W`` best whenever it fills up. The scan
  over a beam's extensions stops as soon as an upper bound of the remaining
  ones cannot beat the threshold (the array's last entry when full, the
  buffer's last cut, or the beam-pruning threshold).

The small helpers are inlined by Numba (``inline="always"``): a call that passes
arrays costs reference count updates (2% of the time at ``W = 10``, measured).

Scores: ``rank = acoustic + extra(node)`` with ``extra = lm_weight * lm +
insertion_bonus * length``; both terms are exactly ``0.0`` when their
weight is zero, so the no-LM search does the same float operations.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_NEG_INF = -np.inf
_SLACK = 1e-7  # early-exit bounds are loosened by this much against rounding
_EXT = 1 << 32  # selection ids from here on are extensions ((beam + 1) << 32 | token)
_SORTED_MAX_WIDTH = 96  # wider beams select with a buffer and quickselect (measured)


@njit(cache=True, nogil=True, inline="always")
def _lse(a: float, b: float) -> float:
    """log(exp(a) + exp(b)); the smaller term is dropped when below exp(-50) of the larger
    (it could not change a float64 sum by more than 2e-22 relative)."""
    if a < b:
        a, b = b, a
    d = b - a
    if not d >= -50.0:  # also both -inf (d is NaN)
        return a
    return a + math.log1p(math.exp(d))


@njit(cache=True, nogil=True, inline="always")
def _insert_sorted(bs, bid, nb, cap, score, ident):  # type: ignore[no-untyped-def]
    """Insert into ``bs[:nb]`` (descending, with ``bid``), bounded to ``cap`` entries: when
    full the last is dropped (the caller checked ``score`` beats it). Equal scores keep
    their arrival order. Returns the new count."""
    if nb == cap:
        nb -= 1
    g = nb
    while g > 0 and bs[g - 1] < score:
        bs[g] = bs[g - 1]
        bid[g] = bid[g - 1]
        g -= 1
    bs[g] = score
    bid[g] = ident
    return nb + 1


@njit(cache=True, nogil=True)
def _keep_best(bs, bid, nb, keep, tmp):  # type: ignore[no-untyped-def]
    """Keep the ``keep`` highest of ``bs[:nb]`` (with ``bid``), in their order; of equal
    scores at the cut, the earlier. Returns the new count and the lowest kept score."""
    for i in range(nb):
        tmp[i] = bs[i]
    # quickselect (Hoare partition, descending) for the keep-th highest score
    k = keep - 1
    lo = 0
    hi = nb - 1
    while lo < hi:
        a = tmp[lo]
        b = tmp[(lo + hi) >> 1]
        c = tmp[hi]
        if a < b:
            a, b = b, a
        if b < c:
            b = c
            if a < b:
                b = a
        pivot = b  # median of three
        i = lo
        j = hi
        while i <= j:
            while tmp[i] > pivot:
                i += 1
            while tmp[j] < pivot:
                j -= 1
            if i <= j:
                tmp[i], tmp[j] = tmp[j], tmp[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    kth = tmp[k]
    ties = keep
    for i in range(nb):
        if bs[i] > kth:
            ties -= 1
    m = 0
    for i in range(nb):
        x = bs[i]
        if x > kth or (x == kth and ties > 0):
            if x == kth:
                ties -= 1
            bs[m] = x
            bid[m] = bid[i]
            m += 1
    return m, kth


@njit(cache=True, nogil=True)
def find_non_finite(lp, length):  # type: ignore[no-untyped-def]
    """Flat index ``t * V + v`` of the first NaN or +inf in ``lp[:length]``, or -1."""
    vocab = lp.shape[1]
    for t in range(length):
        bad = 0  # branch-free per frame (vectorised); the entry is looked up only if found
        for v in range(vocab):
            bad += not lp[t, v] < np.inf
        if bad:
            for v in range(vocab):
                if not lp[t, v] < np.inf:
                    return t * vocab + v
    return -1


@njit(cache=True, nogil=True, inline="always")
def _kept(lp, t, blank, tmin, inf):  # type: ignore[no-untyped-def]
    """Token pruning in frame ``t``: whether the blank is its only kept token; the token
    kept although below ``tmin`` (the frame's most probable one, the first on ties as
    ``np.argmax``, when no token reaches ``tmin``; else -1); and the first NaN or +inf
    entry's column (-1 if none; ``inf`` is +inf in lp's dtype)."""
    kept = 0  # branch-free counts first: the common frame is a confident blank
    bad = 0
    for c in range(lp.shape[1]):
        kept += lp[t, c] >= tmin
        bad += not lp[t, c] < inf
    if bad:
        for c in range(lp.shape[1]):
            if not lp[t, c] < inf:
                return False, -1, c
    if kept > 0:
        return kept == 1 and lp[t, blank] >= tmin, -1, -1
    top = 0
    for c in range(1, lp.shape[1]):
        if lp[t, c] > lp[t, top]:
            top = c
    return top == blank and lp[t, top] != _NEG_INF, top, -1


@njit(cache=True, nogil=True)
def prefix_beam_search(  # type: ignore[no-untyped-def]
    lp,
    length,
    blank,
    beam_width,
    top_n,
    token_min_logp,
    beam_prune_logp,
    lm_logp,
    lm_next,
    lm_end,
    lm_start,
    lm_weight,
    lm_bound,
    bonus,
    trie_i,
    trie_f,
    recs,
):
    """CTC prefix beam search over ``lp[:length]`` (``(T, V)`` log-probabilities).

    Args:
        token_min_logp: In each frame, tokens below it are ignored (as blank,
            repeat, merge and extension alike), except the frame's most
            probable token; ``-inf`` for none.
        beam_prune_logp: Candidates below ``best + beam_prune_logp`` are
            dropped; ``-inf`` for none.
        lm_logp, lm_next, lm_end, lm_start: The LM automaton (``(S, V)``,
            ``(S, V)``, ``(S,)``, start id); a one-state zero table for none.
        lm_bound: Upper bound of ``lm_weight * lm_logp[s, c]`` over all
            entries (``+inf`` disables the early exit).
        trie_i, trie_f, recs: Buffers of at least ``(7, N)`` int32, ``(2, N)``
            float64 and ``(2, 2N)`` int32, ``N = length * beam_width + 1``
            (the trie and the alignment records; contents are overwritten).

    Returns:
        ``(n, lengths, tokens, frames, scores, bad)``: ``n`` hypotheses (best
        first); ``tokens`` and ``frames`` are ``(top_n, max(length, 1))``
        int32 rows of which the first ``lengths[k]`` are used; ``scores`` is
        ``(top_n, 3)`` float64 (total, acoustic, unweighted LM); ``bad`` is the
        flat index ``t * V + v`` of the first NaN or +inf in ``lp[:length]``
        (then ``n = 0``), or -1. The check rides on the search's own reads of
        each frame.
    """
    vocab = lp.shape[1]
    width = beam_width
    use_w = lm_weight != 0.0
    use_b = bonus != 0.0

    # Buffers are rows of a few arrays (an allocation costs far more than a view); the
    # big ones, the trie and the records, are the caller's, reused across utterances.
    # The prefix trie: parent, token, length, LM state, beam index (stale entries are
    # detected, no reset needed), first child, next sibling; LM score, extra rank term.
    parent, token, nlen, lm_state, beam_of_node, first_child, next_sibling = (
        trie_i[0], trie_i[1], trie_i[2], trie_i[3], trie_i[4], trie_i[5], trie_i[6]
    )  # fmt: skip
    lm_score, extra = trie_f[0], trie_f[1]
    # best single alignments: a chain of emission records (frame, previous record)
    rec_frame, rec_prev = recs[0], recs[1]
    n_rec = 0

    # Per beam, for the current beam, the next one (new_) and the stay candidates (s_):
    # node; summed log-probs ending in blank / label (pb, pnb) and their log-sum-exp (tot);
    # best-alignment log-probs ending in blank / label (vb, vnb) and their records (rb, rnb)
    beam_f = np.empty((15, width), np.float64)
    cur_pb, cur_pnb, cur_tot, cur_vb, cur_vnb = (
        beam_f[0], beam_f[1], beam_f[2], beam_f[3], beam_f[4]
    )  # fmt: skip
    new_pb, new_pnb, new_tot, new_vb, new_vnb = (
        beam_f[5], beam_f[6], beam_f[7], beam_f[8], beam_f[9]
    )  # fmt: skip
    s_pb, s_pnb, s_tot, s_vb, s_vnb = (
        beam_f[10], beam_f[11], beam_f[12], beam_f[13], beam_f[14]
    )  # fmt: skip
    beam_i = np.empty((8, width), np.int32)
    cur_node, cur_rb, cur_rnb, new_node, new_rb, new_rnb, s_rb, s_rnb = (
        beam_i[0], beam_i[1], beam_i[2], beam_i[3], beam_i[4], beam_i[5], beam_i[6], beam_i[7]
    )  # fmt: skip
    s_rank = np.empty(width, np.float64)
    stamp = np.zeros(width * vocab, np.int32)
    # selection of the W best candidates: a sorted array bs[:W] (best first), or for wide
    # beams a buffer of 4W cut back to the W best by quickselect whenever it fills up
    use_sorted = width <= _SORTED_MAX_WIDTH
    sel_f = np.empty((2, 4 * width), np.float64)
    bs, tmp = sel_f[0], sel_f[1]
    bid = np.empty(4 * width, np.int64)
    tok_lists = np.empty((2, vocab), np.int32)
    toks, kept_toks = tok_lists[0], tok_lists[1]

    # the root: the empty prefix
    parent[0] = -1
    token[0] = -1
    nlen[0] = 0
    lm_state[0] = lm_start
    lm_score[0] = 0.0
    extra[0] = 0.0
    first_child[0] = -1
    next_sibling[0] = -1
    n_nodes = 1
    n = 1
    cur_node[0] = 0
    cur_pb[0] = 0.0
    cur_pnb[0] = _NEG_INF
    cur_tot[0] = 0.0
    cur_vb[0] = 0.0
    cur_vnb[0] = _NEG_INF
    cur_rb[0] = -1
    cur_rnb[0] = -1

    prune_tokens = token_min_logp != _NEG_INF
    # the threshold in lp's dtype, rounded up: for x of that dtype, x >= tmin exactly when
    # x >= token_min_logp, and float32 compares twice as many per instruction
    tmin_cast = np.empty(1, lp.dtype)
    tmin_cast[0] = token_min_logp
    tmin = tmin_cast[0]
    inf = tmin_cast.dtype.type(np.inf)
    if tmin < token_min_logp:
        tmin = np.nextafter(tmin, inf)
    # the frame's log-probs, copied: a view lp[t] per frame would cost a reference count
    # update (an atomic operation) each time
    row = np.empty(vocab, lp.dtype)
    # Blank runs. A frame whose only kept token is the blank ends every beam in a blank
    # (``pnb = -inf``); while that holds, each further such frame adds its blank log-prob
    # to every beam alike, which changes no ranking: the run is summed in ``shift`` (in a
    # tight inner loop: an iteration of the main loop costs about 15 ns even when it does
    # nothing, measured; Numba keeps reference counts of the buffers swapped in it) and
    # added once.
    settled = False
    shift = 0.0
    bad = -1  # the column of a NaN or +inf in frame t, which stops the search

    t = -1
    while True:
        t += 1
        if t >= length:
            break
        if prune_tokens:
            only_blank, top, bad = _kept(lp, t, blank, tmin, inf)
            if bad >= 0:
                break
            if settled:
                while only_blank:
                    shift += lp[t, blank]
                    t += 1
                    if t == length:
                        break
                    only_blank, top, bad = _kept(lp, t, blank, tmin, inf)
                if t == length or bad >= 0:
                    break
                for i in range(n):
                    cur_pb[i] += shift
                    cur_tot[i] += shift
                    cur_vb[i] += shift
                shift = 0.0
                settled = False
            elif only_blank:
                # a run's first frame: every beam now ends in a blank (pb = tot + lb,
                # pnb = -inf). Every rank moves by lb alike, so nothing new falls below the
                # beam-pruning cut (the previous frame's survivors all passed it) and the
                # run can start: lb goes into the shift
                for i in range(n):
                    cur_pb[i] = cur_tot[i]
                    cur_pnb[i] = _NEG_INF
                    if cur_vnb[i] > cur_vb[i]:
                        cur_vb[i] = cur_vnb[i]
                        cur_rb[i] = cur_rnb[i]
                    cur_vnb[i] = _NEG_INF
                shift = lp[t, blank]
                settled = True
                continue
            # tokens below token_min_logp are ignored in this frame, all their uses; the
            # others that are not the blank nor -inf are the frame's candidate tokens
            # (listed branch-free: which tokens are kept is unpredictable)
            nk = 0
            for c in range(vocab):
                x = lp[t, c]
                keep = x >= tmin
                row[c] = x if keep else _NEG_INF
                kept_toks[nk] = c
                nk += keep & (x != _NEG_INF) & (c != blank)
            if top >= 0:
                row[top] = lp[t, top]
                kept_toks[nk] = top
                nk += top != blank and row[top] != _NEG_INF
        else:
            nk = 0
            nbad = 0
            for c in range(vocab):
                x = lp[t, c]
                row[c] = x
                nbad += not x < inf
                kept_toks[nk] = c
                nk += (x != _NEG_INF) & (c != blank)
            if nbad:
                for c in range(vocab):
                    if not row[c] < inf:
                        bad = c
                        break
                break
        lb = row[blank]
        mark = t + 1

        # A confident label spike prunes the blank and, nearly always, every beam's last
        # label (40% of the non-blank frames in the benchmark): then every stay ranks -inf
        # and ranking them is skipped (9% faster at W = 10, measured)
        no_stays = lb == _NEG_INF
        if no_stays:
            for j in range(n):
                nd = cur_node[j]
                if nlen[nd] > 0 and row[token[nd]] != _NEG_INF:
                    no_stays = False
                    break
        best = _NEG_INF
        worst = np.inf
        gmax = _NEG_INF
        if no_stays:
            for j in range(n):
                s_rank[j] = _NEG_INF
            worst = _NEG_INF  # as the loop would find: every stay ranks -inf
            gmax = np.inf  # lim = -inf, as the loop's finite gmax gives when thr = -inf
        else:
            # stay candidates: the prefix unchanged (blank, or a repeat of its last label),
            # plus the extension of its parent's beam by its last token when the parent is in
            # the beam (the same prefix: merged); then ranked: the best, and the threshold an
            # extension must beat (the beam's worst stay when the beam is full); and an upper
            # bound of any extension's rank, without the token's log-prob
            for i in range(n):
                beam_of_node[cur_node[i]] = i
            for j in range(n):
                nd = cur_node[j]
                tot = cur_tot[j]
                pb = tot + lb
                if cur_vb[j] >= cur_vnb[j]:
                    s_vb[j] = cur_vb[j] + lb
                    s_rb[j] = cur_rb[j]
                else:
                    s_vb[j] = cur_vnb[j] + lb
                    s_rb[j] = cur_rnb[j]
                pnb = _NEG_INF
                vnb = _NEG_INF
                rnb = cur_rnb[j]
                if nlen[nd] > 0:
                    c = token[nd]
                    v = row[c]
                    if v != _NEG_INF:
                        pnb = cur_pnb[j] + v
                        vnb = cur_vnb[j] + v
                        p = parent[nd]
                        k = beam_of_node[p]  # stale entries are caught by the node check
                        if k >= 0 and k < n and cur_node[k] == p:
                            if c == token[p]:
                                e = cur_pb[k] + v
                                ev = cur_vb[k] + v
                                er = cur_rb[k]
                            else:
                                e = cur_tot[k] + v
                                if cur_vb[k] >= cur_vnb[k]:
                                    ev = cur_vb[k] + v
                                    er = cur_rb[k]
                                else:
                                    ev = cur_vnb[k] + v
                                    er = cur_rnb[k]
                            pnb = _lse(pnb, e)
                            if ev > vnb:
                                vnb = ev
                                rec_frame[n_rec] = t
                                rec_prev[n_rec] = er
                                rnb = n_rec
                                n_rec += 1
                            stamp[k * vocab + c] = mark
                s_pb[j] = pb
                s_pnb[j] = pnb
                s_vnb[j] = vnb
                s_rnb[j] = rnb
                tot = _lse(pb, pnb)
                s_tot[j] = tot
                r = tot + extra[nd]
                s_rank[j] = r
                if r > best:
                    best = r
                if r < worst:
                    worst = r
                bnd = cur_tot[j] + lm_bound
                if use_w:
                    bnd += lm_weight * lm_score[nd]
                if use_b:
                    bnd += bonus * (nlen[nd] + 1)
                if bnd > gmax:
                    gmax = bnd
        thr = best + beam_prune_logp
        if n == width and worst > thr:
            thr = worst
        # candidate tokens, best first: kept in this frame and able to beat the threshold from
        # at least one beam
        lim = thr - gmax - _SLACK
        # none if the best non-blank token cannot (the common case: a confident blank)
        vbest = _NEG_INF
        for k in range(nk):
            vbest = max(vbest, row[kept_toks[k]])
        nt = 0
        for k in range(nk if vbest > lim else 0):
            c = kept_toks[k]
            v = row[c]
            if v > lim:
                q = nt  # insertion sort, descending by log-prob
                while q > 0 and row[toks[q - 1]] < v:
                    toks[q] = toks[q - 1]
                    q -= 1
                toks[q] = c
                nt += 1

        if nt == 0:
            # fast path: no extension can enter, so the next beam is the stays (in the same
            # order) that pass beam pruning; no selection, no new node
            cut = best + beam_prune_logp
            m = 0
            for j in range(n):
                r = s_rank[j]
                if r == _NEG_INF or r < cut:
                    continue
                if m < j:
                    cur_node[m] = cur_node[j]
                    s_pb[m] = s_pb[j]
                    s_pnb[m] = s_pnb[j]
                    s_tot[m] = s_tot[j]
                    s_vb[m] = s_vb[j]
                    s_vnb[m] = s_vnb[j]
                    s_rb[m] = s_rb[j]
                    s_rnb[m] = s_rnb[j]
                m += 1
            n = m
            cur_pb, s_pb = s_pb, cur_pb
            cur_pnb, s_pnb = s_pnb, cur_pnb
            cur_tot, s_tot = s_tot, cur_tot
            cur_vb, s_vb = s_vb, cur_vb
            cur_vnb, s_vnb = s_vnb, cur_vnb
            cur_rb, s_rb = s_rb, cur_rb
            cur_rnb, s_rnb = s_rnb, cur_rnb
            if n == 0:
                break
            continue

        # the candidates: the stays, then the extensions that beat the threshold, into the
        # sorted array, or into the buffer (cut back to the W best whenever it fills up,
        # which raises the threshold)
        nb = 0
        # (best and thr are the stays' best and threshold from above)
        for j in range(n):
            r = s_rank[j]
            if r != _NEG_INF:
                if use_sorted:
                    nb = _insert_sorted(bs, bid, nb, width, r, j)
                else:
                    bs[nb] = r
                    bid[nb] = j
                    nb += 1
        if use_sorted and nb == width and bs[nb - 1] > thr:
            thr = bs[nb - 1]
        for i in range(n):
            nd = cur_node[i]
            base = cur_tot[i]
            if base == _NEG_INF:
                continue
            ext_lm = 0.0
            if use_w:
                ext_lm = lm_weight * lm_score[nd]
            ext_b = 0.0
            if use_b:
                ext_b = bonus * (nlen[nd] + 1)
            bnd = base + lm_bound + ext_lm + ext_b
            last = token[nd]
            st = lm_state[nd]
            off = i * vocab
            for q in range(nt):
                c = toks[q]
                v = row[c]
                if bnd + v + _SLACK <= thr:
                    break
                if stamp[off + c] == mark:
                    continue
                ac = (cur_pb[i] if c == last else base) + v
                x = 0.0
                if use_w:
                    x = lm_weight * (lm_score[nd] + lm_logp[st, c])
                r = ac + (x + ext_b)
                if r > thr:
                    if use_sorted:
                        nb = _insert_sorted(bs, bid, nb, width, r, ((i + 1) << 32) | c)
                        if r > best:
                            best = r
                        thr = best + beam_prune_logp
                        if nb == width and bs[nb - 1] > thr:
                            thr = bs[nb - 1]
                        continue
                    bs[nb] = r
                    bid[nb] = ((i + 1) << 32) | c
                    nb += 1
                    if r > best:
                        best = r
                        if best + beam_prune_logp > thr:
                            thr = best + beam_prune_logp
                    if nb == 4 * width:
                        nb, kth = _keep_best(bs, bid, nb, width, tmp)
                        if kth > thr:
                            thr = kth
        if nb > width:  # (never when sorted)
            nb, kth = _keep_best(bs, bid, nb, width, tmp)

        # the survivors become the next beam; extensions get trie nodes
        cut = best + beam_prune_logp
        m = 0
        for h in range(nb):
            if bs[h] < cut:
                continue
            ident = bid[h]
            if ident < _EXT:
                new_node[m] = cur_node[ident]
                new_pb[m] = s_pb[ident]
                new_pnb[m] = s_pnb[ident]
                new_tot[m] = s_tot[ident]
                new_vb[m] = s_vb[ident]
                new_vnb[m] = s_vnb[ident]
                new_rb[m] = s_rb[ident]
                new_rnb[m] = s_rnb[ident]
            else:
                i = (ident >> 32) - 1
                c = ident & 0xFFFFFFFF
                p = cur_node[i]
                # one node per prefix: reuse the child (p, c) if the prefix was in the beam
                # before (so a merge is found by comparing parent nodes)
                nd = first_child[p]
                while nd >= 0 and token[nd] != c:
                    nd = next_sibling[nd]
                if nd < 0:
                    nd = n_nodes
                    n_nodes += 1
                    parent[nd] = p
                    token[nd] = c
                    first_child[nd] = -1
                    next_sibling[nd] = first_child[p]
                    first_child[p] = nd
                    nlen[nd] = nlen[p] + 1
                    st = lm_state[p]
                    lm_state[nd] = lm_next[st, c]
                    lm_score[nd] = lm_score[p] + lm_logp[st, c]
                    x = 0.0
                    if use_w:
                        x = lm_weight * lm_score[nd]
                    extra[nd] = x + (bonus * nlen[nd] if use_b else 0.0)
                new_node[m] = nd
                new_pb[m] = _NEG_INF
                v = row[c]
                ac = (cur_pb[i] if c == token[p] else cur_tot[i]) + v  # as when it was tried
                new_pnb[m] = ac
                new_tot[m] = ac
                if c == token[p] or cur_vb[i] >= cur_vnb[i]:
                    new_vnb[m] = cur_vb[i] + v
                    rec_prev[n_rec] = cur_rb[i]
                else:
                    new_vnb[m] = cur_vnb[i] + v
                    rec_prev[n_rec] = cur_rnb[i]
                rec_frame[n_rec] = t
                new_rnb[m] = n_rec
                n_rec += 1
                new_vb[m] = _NEG_INF
                new_rb[m] = -1
            m += 1
        n = m
        cur_node, new_node = new_node, cur_node
        cur_pb, new_pb = new_pb, cur_pb
        cur_pnb, new_pnb = new_pnb, cur_pnb
        cur_tot, new_tot = new_tot, cur_tot
        cur_vb, new_vb = new_vb, cur_vb
        cur_vnb, new_vnb = new_vnb, cur_vnb
        cur_rb, new_rb = new_rb, cur_rb
        cur_rnb, new_rnb = new_rnb, cur_rnb
        if n == 0:
            break

    if bad >= 0:
        return (
            0,
            np.zeros(0, np.int64),
            np.zeros((0, 1), np.int32),
            np.zeros((0, 1), np.int32),
            np.zeros((0, 3), np.float64),
            t * vocab + bad,
        )
    if t < length - 1:  # every beam died at frame t; the frames after it are still checked
        rest = find_non_finite(lp[t + 1 :], length - t - 1)
        if rest >= 0:
            return (
                0,
                np.zeros(0, np.int64),
                np.zeros((0, 1), np.int32),
                np.zeros((0, 1), np.int32),
                np.zeros((0, 3), np.float64),
                (t + 1) * vocab + rest,
            )
    if settled:
        for i in range(n):
            cur_pb[i] += shift
            cur_tot[i] += shift
            cur_vb[i] += shift

    # end of sentence, then the N best
    final = np.empty(max(n, 1), np.float64)
    acoustic = np.empty(max(n, 1), np.float64)
    lm_total = np.empty(max(n, 1), np.float64)
    for i in range(n):
        nd = cur_node[i]
        ac = cur_tot[i]
        lmt = lm_score[nd] + lm_end[lm_state[nd]]
        x = 0.0
        if use_w:
            x = lm_weight * lmt
        acoustic[i] = ac
        lm_total[i] = lmt
        final[i] = ac + (x + (bonus * nlen[nd] if use_b else 0.0))
    order = np.argsort(-final[:n], kind="mergesort")
    rows = max(length, 1)
    out_len = np.zeros(top_n, np.int64)
    out_tok = np.zeros((top_n, rows), np.int32)
    out_frm = np.zeros((top_n, rows), np.int32)
    out_sc = np.zeros((top_n, 3), np.float64)
    k = 0
    for q in range(n):
        if k == top_n:
            break
        i = order[q]
        if final[i] == _NEG_INF:
            break
        nd = cur_node[i]
        size = nlen[nd]
        out_len[k] = size
        pos = size - 1
        while nd > 0:
            out_tok[k, pos] = token[nd]
            nd = parent[nd]
            pos -= 1
        rec = cur_rb[i] if cur_vb[i] >= cur_vnb[i] else cur_rnb[i]
        pos = size - 1
        while rec >= 0:
            out_frm[k, pos] = rec_frame[rec]
            rec = rec_prev[rec]
            pos -= 1
        out_sc[k, 0] = final[i]
        out_sc[k, 1] = acoustic[i]
        out_sc[k, 2] = lm_total[i]
        k += 1
    return k, out_len, out_tok, out_frm, out_sc, -1


@njit(cache=True, nogil=True)
def decode_many(  # type: ignore[no-untyped-def]
    arr,
    lens,
    utts,
    blank,
    beam_width,
    top_n,
    token_min_logp,
    beam_prune_logp,
    lm_logp,
    lm_next,
    lm_end,
    lm_start,
    lm_weight,
    lm_bound,
    bonus,
):
    """Decode utterances ``arr[utts[k], :lens[utts[k]]]`` one after another (one call from
    Python per thread instead of one per utterance).

    Returns:
        ``(counts, sizes, scores, tokens, frames, bad)``: hypotheses per utterance
        ``(m,)`` (0 when every labelling has probability 0); their lengths ``(m, top_n)``
        and scores ``(m, top_n, 3)``; all their tokens and frames, flat, in order; and
        ``bad``: the flat index ``t * V + v`` of the first NaN or +inf in a valid frame
        of the first such utterance, whose position is ``counts``' first -1, or -1 if
        none (the call stops there).
    """
    m = utts.shape[0]
    counts = np.zeros(m, np.int64)
    sizes = np.zeros((m, top_n), np.int64)
    scores = np.zeros((m, top_n, 3), np.float64)
    cap = 16
    for k in range(m):
        cap += lens[utts[k]]
    tokens = np.empty(cap, np.int32)
    frames = np.empty(cap, np.int32)
    used = 0
    # the search's big buffers, once for all utterances (allocating them per utterance
    # costs page faults, which serialise threads: measured, two threads then gained 1.5x
    # instead of 1.9x); only the part a search writes is ever touched
    longest = 0
    for k in range(m):
        longest = max(longest, lens[utts[k]])
    nodes = longest * beam_width + 1
    trie_i = np.empty((7, nodes), np.int32)
    trie_f = np.empty((2, nodes), np.float64)
    recs = np.empty((2, 2 * nodes), np.int32)
    for k in range(m):
        lp = arr[utts[k]]
        length = lens[utts[k]]
        if length == 0:  # the empty labelling, score 0, whatever the LM
            counts[k] = 1
            continue
        n, out_len, out_tok, out_frm, out_sc, bad = prefix_beam_search(
            lp, length, blank, beam_width, top_n, token_min_logp, beam_prune_logp,
            lm_logp, lm_next, lm_end, lm_start, lm_weight, lm_bound, bonus, trie_i, trie_f, recs,
        )  # fmt: skip
        if bad >= 0:
            counts[k] = -1
            return counts, sizes, scores, tokens[:used], frames[:used], bad
        counts[k] = n
        need = used
        for i in range(n):
            need += out_len[i]
        if need > tokens.shape[0]:
            grown = max(need, 2 * tokens.shape[0])
            tokens2 = np.empty(grown, np.int32)
            frames2 = np.empty(grown, np.int32)
            tokens2[:used] = tokens[:used]
            frames2[:used] = frames[:used]
            tokens = tokens2
            frames = frames2
        for i in range(n):
            size = out_len[i]
            sizes[k, i] = size
            tokens[used : used + size] = out_tok[i, :size]
            frames[used : used + size] = out_frm[i, :size]
            used += size
            for j in range(3):
                scores[k, i, j] = out_sc[i, j]
    return counts, sizes, scores, tokens[:used], frames[:used], -1
