"""Stage 3: select the ``W`` best candidates of a frame (private).

Each function takes the rows of the slots it touches first (see :mod:`.stays`).

The candidates are the stays, then each beam extended by each candidate token. For
``W <= SORTED_MAX_WIDTH`` they are inserted into a sorted array of ``W``: the beam is
kept best first and tokens are visited best first, so candidates arrive nearly in order
and most insertions shift little. Wider beams collect the candidates that beat the
threshold in a buffer of ``4 W`` that quickselect cuts back to the ``W`` best whenever it
fills up. Each beam's scan stops once an upper bound of its remaining extensions cannot
beat the threshold (the array's last entry when full, the buffer's last cut, or the
beam-pruning cut), which rises as better candidates come in.

Selection ids: a stay is its beam index ``j``; an extension ``extension_id(i, c)``.
"""

from __future__ import annotations

from numba import njit

from ctckit.decode._kernels.fusion import child_context, child_extra
from ctckit.decode._kernels.numeric import (
    NEG_INF,
    SLACK,
    SORTED_MAX_WIDTH,
    extension_id,
    insert_sorted,
    keep_best,
)


@njit(cache=True, nogil=True, inline="always")
def keep_stays(beams, cur, stay, n, best, beam_prune_logp):  # type: ignore[no-untyped-def]
    """When no extension can enter: the next beam is the stays that pass beam pruning, in
    the same order, compacted in slot ``stay`` (no selection, no new node). Returns their
    count."""
    node, pb, pnb, tot, vb, vnb = beams.node, beams.pb, beams.pnb, beams.tot, beams.vb, beams.vnb
    rb, rnb, eb, rank = beams.rb, beams.rnb, beams.eb, beams.rank
    eb_stay = eb[stay]
    node_cur = node[cur]
    node_stay = node[stay]
    pb_stay = pb[stay]
    pnb_stay = pnb[stay]
    rb_stay = rb[stay]
    rnb_stay = rnb[stay]
    tot_stay = tot[stay]
    vb_stay = vb[stay]
    vnb_stay = vnb[stay]
    cut = best + beam_prune_logp
    m = 0
    for j in range(n):
        r = rank[j]
        if r == NEG_INF or r < cut:
            continue
        node_stay[m] = node_cur[j]
        if m < j:
            pb_stay[m] = pb_stay[j]
            pnb_stay[m] = pnb_stay[j]
            tot_stay[m] = tot_stay[j]
            vb_stay[m] = vb_stay[j]
            vnb_stay[m] = vnb_stay[j]
            rb_stay[m] = rb_stay[j]
            rnb_stay[m] = rnb_stay[j]
            eb_stay[m] = eb_stay[j]
        m += 1
    return m


@njit(cache=True, nogil=True, inline="always")
def select(  # type: ignore[no-untyped-def]
    beams, cur, n, trie, scorer, row, toks, nt, stamp, mark, vocab, width, best, thr,
    beam_prune_logp, bs, bid, tmp,
):  # fmt: skip
    """Select the ``W`` best of the stays (ranked in ``beams.rank``) and the extensions of
    the ``n`` beams of slot ``cur`` by the ``nt`` tokens ``toks``, into ``bs``/``bid``.
    Returns their count and the best rank."""
    use_sorted = width <= SORTED_MAX_WIDTH
    rank, node, tot, pbs = beams.rank, beams.node, beams.tot, beams.pb
    node_cur = node[cur]
    pbs_cur = pbs[cur]
    tot_cur = tot[cur]
    token = trie.token
    logp, weight = scorer.logp, scorer.weight
    nb = 0
    for j in range(n):
        r = rank[j]
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
        nd = node_cur[i]
        base = tot_cur[i]
        if base == NEG_INF:
            continue
        bnd, lm, ext_b, state = child_context(scorer, trie, nd, base)
        last = token[nd]
        pb = pbs_cur[i]
        off = i * vocab
        for q in range(nt):
            c = toks[q]
            v = row[c]
            if bnd + v + SLACK <= thr:
                break
            if stamp[off + c] == mark:  # already a stay (merged there)
                continue
            ac = (pb if c == last else base) + v
            r = ac + child_extra(logp, weight, lm, ext_b, state, c)
            if r > thr:
                if use_sorted:
                    nb = insert_sorted(bs, bid, nb, width, r, extension_id(i, c))
                    if r > best:
                        best = r
                    thr = best + beam_prune_logp
                    if nb == width and bs[nb - 1] > thr:
                        thr = bs[nb - 1]
                    continue
                bs[nb] = r
                bid[nb] = extension_id(i, c)
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
