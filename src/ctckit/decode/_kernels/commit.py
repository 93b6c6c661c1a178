"""Stage 4: the selected candidates become the next beam (private).

Survivors below the frame's beam-pruning cut are dropped. A surviving extension gets a
trie node: the existing child when the prefix was in the beam before (one node per
prefix, so merges are found by comparing node ids), else a new one, whose model state
the scorer fills in. Its best alignment gets an emission record.
"""

from __future__ import annotations

from numba import njit

from ctckit.decode._kernels.fusion import init_child
from ctckit.decode._kernels.numeric import EXT, NEG_INF, TOKEN_MASK


@njit(cache=True, nogil=True, inline="always")
def child_node(trie, scorer, p, c, n_nodes):  # type: ignore[no-untyped-def]
    """The node of prefix ``p`` extended by ``c``, made if new. Returns it and the node
    count."""
    token, next_sibling = trie.token, trie.next_sibling
    nd = trie.first_child[p]
    while nd >= 0 and token[nd] != c:
        nd = next_sibling[nd]
    if nd >= 0:
        return nd, n_nodes
    nd = n_nodes
    trie.parent[nd] = p
    trie.token[nd] = c
    trie.first_child[nd] = -1
    trie.next_sibling[nd] = trie.first_child[p]
    trie.first_child[p] = nd
    trie.length[nd] = trie.length[p] + 1
    init_child(scorer, trie, p, c, nd)
    return nd, n_nodes + 1


@njit(cache=True, nogil=True, inline="always")
def commit_survivors(  # type: ignore[no-untyped-def]
    beams, cur, stay, nxt, trie, recs, scorer, row, bs, bid, nb, cut, t, n_nodes, n_rec
):
    """Write the survivors ``bs[:nb]``/``bid[:nb]`` that pass ``cut`` into slot ``nxt``.
    Returns the new beam count, node count and record count."""
    node, pb, pnb, tot, vb, vnb = beams.node, beams.pb, beams.pnb, beams.tot, beams.vb, beams.vnb
    rb, rnb, eb, token = beams.rb, beams.rnb, beams.eb, trie.token
    eb_cur = eb[cur]
    eb_nxt = eb[nxt]
    eb_stay = eb[stay]
    node_cur = node[cur]
    node_nxt = node[nxt]
    pb_cur = pb[cur]
    pb_nxt = pb[nxt]
    pb_stay = pb[stay]
    pnb_nxt = pnb[nxt]
    pnb_stay = pnb[stay]
    rb_cur = rb[cur]
    rb_nxt = rb[nxt]
    rb_stay = rb[stay]
    rnb_cur = rnb[cur]
    rnb_nxt = rnb[nxt]
    rnb_stay = rnb[stay]
    tot_cur = tot[cur]
    tot_nxt = tot[nxt]
    tot_stay = tot[stay]
    vb_cur = vb[cur]
    vb_nxt = vb[nxt]
    vb_stay = vb[stay]
    vnb_cur = vnb[cur]
    vnb_nxt = vnb[nxt]
    vnb_stay = vnb[stay]
    rec_frame, rec_prev, rec_end, rec_logp = recs.frame, recs.prev, recs.prev_end, recs.logp
    m = 0
    for h in range(nb):
        if bs[h] < cut:
            continue
        ident = bid[h]
        if ident < EXT:  # a stay
            node_nxt[m] = node_cur[ident]
            pb_nxt[m] = pb_stay[ident]
            pnb_nxt[m] = pnb_stay[ident]
            tot_nxt[m] = tot_stay[ident]
            vb_nxt[m] = vb_stay[ident]
            vnb_nxt[m] = vnb_stay[ident]
            rb_nxt[m] = rb_stay[ident]
            rnb_nxt[m] = rnb_stay[ident]
            eb_nxt[m] = eb_stay[ident]
        else:
            i = (ident >> 32) - 1
            c = ident & TOKEN_MASK
            p = node_cur[i]
            nd, n_nodes = child_node(trie, scorer, p, c, n_nodes)
            v = row[c]
            repeat = c == token[p]
            ac = (pb_cur[i] if repeat else tot_cur[i]) + v  # as when it was tried
            node_nxt[m] = nd
            pb_nxt[m] = NEG_INF
            pnb_nxt[m] = ac
            tot_nxt[m] = ac
            if repeat or vb_cur[i] >= vnb_cur[i]:
                vnb_nxt[m] = vb_cur[i] + v
                rec_prev[n_rec] = rb_cur[i]
                rec_end[n_rec] = eb_cur[i]
            else:  # straight from the previous label, whose run ends here
                vnb_nxt[m] = vnb_cur[i] + v
                rec_prev[n_rec] = rnb_cur[i]
                rec_end[n_rec] = t
            rec_frame[n_rec] = t
            rec_logp[n_rec] = v
            rnb_nxt[m] = n_rec
            n_rec += 1
            vb_nxt[m] = NEG_INF
            rb_nxt[m] = -1
            eb_nxt[m] = -1
        m += 1
    return m, n_nodes, n_rec
