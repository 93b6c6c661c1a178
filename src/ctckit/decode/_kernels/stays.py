"""Stage 1: the stays of a frame, ranked; and blank runs (private).

A prefix *stays* when the frame is a blank or repeats its last label. A stay also takes
in the extension of its parent's beam by its last token when the parent is in the beam
(the same prefix, merged with an exact log-sum-exp; the extension is then stamped so
that the selection skips it).

Each function takes the rows of the slots it touches first, so that its loops index
1-D arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ctckit.decode._kernels.fusion import child_context
from ctckit.decode._kernels.numeric import NEG_INF, lse


@njit(cache=True, nogil=True, inline="always")
def start_blank_run(beams, cur, n, t):  # type: ignore[no-untyped-def]
    """Frame ``t`` keeps only the blank: every beam now ends in a blank (``pb = tot``,
    ``pnb = -inf``); the blank's log-prob itself goes into the run's shift. Every rank
    moves alike, so nothing new falls below the beam-pruning cut."""
    pb, pnb, tot, vb, vnb = beams.pb, beams.pnb, beams.tot, beams.vb, beams.vnb
    rb, rnb, eb = beams.rb, beams.rnb, beams.eb
    eb_cur = eb[cur]
    pb_cur = pb[cur]
    pnb_cur = pnb[cur]
    rb_cur = rb[cur]
    rnb_cur = rnb[cur]
    tot_cur = tot[cur]
    vb_cur = vb[cur]
    vnb_cur = vnb[cur]
    for i in range(n):
        pb_cur[i] = tot_cur[i]
        pnb_cur[i] = NEG_INF
        if vnb_cur[i] > vb_cur[i]:
            vb_cur[i] = vnb_cur[i]
            rb_cur[i] = rnb_cur[i]
            eb_cur[i] = t
        vnb_cur[i] = NEG_INF


@njit(cache=True, nogil=True, inline="always")
def add_shift(beams, cur, n, shift):  # type: ignore[no-untyped-def]
    """Add a blank run's summed log-prob to every beam (all end in a blank)."""
    pb, tot, vb = beams.pb, beams.tot, beams.vb
    pb_cur = pb[cur]
    tot_cur = tot[cur]
    vb_cur = vb[cur]
    for i in range(n):
        pb_cur[i] += shift
        tot_cur[i] += shift
        vb_cur[i] += shift


@njit(cache=True, nogil=True, inline="always")
def no_stay_possible(beams, cur, n, trie, row, lb):  # type: ignore[no-untyped-def]
    """Whether the frame prunes the blank and every beam's last label, as a confident label
    spike does: then every stay ranks ``-inf`` and ranking them is skipped."""
    if lb != NEG_INF:
        return False
    node, length, token = beams.node, trie.length, trie.token
    node_cur = node[cur]
    for j in range(n):
        nd = node_cur[j]
        if length[nd] > 0 and row[token[nd]] != NEG_INF:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def rank_stays(  # type: ignore[no-untyped-def]
    beams, cur, stay, n, trie, recs, n_rec, scorer, row, lb, t, stamp, mark, vocab
):
    """Write the stays of the ``n`` beams of slot ``cur`` into slot ``stay`` and rank them.

    Returns ``(best, worst, gmax, n_rec)``: the best and worst stay rank, an upper bound of
    any extension's rank without the token's log-prob, and the records in use.
    """
    node, pb, pnb, tot, vb, vnb = beams.node, beams.pb, beams.pnb, beams.tot, beams.vb, beams.vnb
    rb, rnb, eb, rank = beams.rb, beams.rnb, beams.eb, beams.rank
    eb_cur = eb[cur]
    eb_stay = eb[stay]
    node_cur = node[cur]
    pb_cur = pb[cur]
    pb_stay = pb[stay]
    pnb_cur = pnb[cur]
    pnb_stay = pnb[stay]
    rb_cur = rb[cur]
    rb_stay = rb[stay]
    rnb_cur = rnb[cur]
    rnb_stay = rnb[stay]
    tot_cur = tot[cur]
    tot_stay = tot[stay]
    vb_cur = vb[cur]
    vb_stay = vb[stay]
    vnb_cur = vnb[cur]
    vnb_stay = vnb[stay]
    parent, token, length, beam_of, extra = (
        trie.parent,
        trie.token,
        trie.length,
        trie.beam,
        trie.extra,
    )
    rec_frame, rec_prev, rec_end, rec_logp = recs.frame, recs.prev, recs.prev_end, recs.logp
    best = NEG_INF
    worst = np.inf
    gmax = NEG_INF
    for i in range(n):
        beam_of[node_cur[i]] = i
    for j in range(n):
        nd = node_cur[j]
        # a blank: from either end, the best path through the better one
        if vb_cur[j] >= vnb_cur[j]:
            vb_stay[j] = vb_cur[j] + lb
            rb_stay[j] = rb_cur[j]
            eb_stay[j] = eb_cur[j]
        else:
            vb_stay[j] = vnb_cur[j] + lb
            rb_stay[j] = rnb_cur[j]
            eb_stay[j] = t  # the last label's run ends here
        p_b = tot_cur[j] + lb
        p_nb = NEG_INF
        v_nb = NEG_INF
        r_nb = rnb_cur[j]
        if length[nd] > 0:
            c = token[nd]
            v = row[c]
            if v != NEG_INF:
                # the last label again (its run goes on)
                p_nb = pnb_cur[j] + v
                v_nb = vnb_cur[j] + v
                p = parent[nd]
                k = beam_of[p]
                if k >= 0 and k < n and node_cur[k] == p:  # the parent is in the beam
                    if c == token[p]:  # a repeated label grows only from the blank end
                        e = pb_cur[k] + v
                        ev = vb_cur[k] + v
                        er = rb_cur[k]
                        ee = eb_cur[k]
                    else:
                        e = tot_cur[k] + v
                        if vb_cur[k] >= vnb_cur[k]:
                            ev = vb_cur[k] + v
                            er = rb_cur[k]
                            ee = eb_cur[k]
                        else:
                            ev = vnb_cur[k] + v
                            er = rnb_cur[k]
                            ee = t
                    p_nb = lse(p_nb, e)
                    if ev > v_nb:
                        v_nb = ev
                        rec_frame[n_rec] = t
                        rec_prev[n_rec] = er
                        rec_end[n_rec] = ee
                        rec_logp[n_rec] = v
                        r_nb = n_rec
                        n_rec += 1
                    stamp[k * vocab + c] = mark
                if r_nb == rnb_cur[j] and v_nb != NEG_INF and v > rec_logp[r_nb]:
                    # the run's best frame so far; a copy, as other chains share the record
                    rec_frame[n_rec] = rec_frame[r_nb]
                    rec_prev[n_rec] = rec_prev[r_nb]
                    rec_end[n_rec] = rec_end[r_nb]
                    rec_logp[n_rec] = v
                    r_nb = n_rec
                    n_rec += 1
        pb_stay[j] = p_b
        pnb_stay[j] = p_nb
        vnb_stay[j] = v_nb
        rnb_stay[j] = r_nb
        total = lse(p_b, p_nb)
        tot_stay[j] = total
        r = total + extra[nd]
        rank[j] = r
        if r > best:
            best = r
        if r < worst:
            worst = r
        bnd = child_context(scorer, trie, nd, tot_cur[j])[0]
        if bnd > gmax:
            gmax = bnd
    return best, worst, gmax, n_rec
