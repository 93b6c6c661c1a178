"""Independent references for the decoder tests, and input generators.

* :func:`brute_force` scores every labelling of a tiny input with
  ``torch.nn.functional.ctc_loss`` (the exact answer).
* :func:`reference_beam_search` is a plain-Python CTC prefix beam search
  over tuple prefixes and dicts, written for clarity, with the same pruning
  and fusion semantics as the Numba kernel.
* :func:`naive_greedy` is the per-frame best-path loop.
* :func:`prune_tokens` applies the documented ``token_min_logp`` semantics to the input
  (an entry below the threshold is ``-inf``, the frame's most probable one kept), so that
  ``brute_force`` of its output is the exact answer of the pruned search.

The tests reach them through session-scoped fixtures (no package imports
between test folders).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

NEG_INF = -math.inf


@dataclass(frozen=True)
class RefHyp:
    tokens: tuple[int, ...]
    score: float
    acoustic_score: float
    lm_score: float
    frames: tuple[int, ...]


@dataclass(frozen=True)
class Tables:
    """A hand-built LM automaton (same fields as ctckit.lm.LMTables)."""

    logp: np.ndarray
    next_state: np.ndarray
    end_logp: np.ndarray
    start: int


def lse(a: float, b: float) -> float:
    """log(exp(a) + exp(b)), dropping a term below exp(-50) of the other (as the kernel)."""
    if a < b:
        a, b = b, a
    d = b - a
    if not d >= -50.0:
        return a
    return a + math.log1p(math.exp(d))


def ctc_log_prob(lp: np.ndarray, labellings: list[tuple[int, ...]], blank: int) -> np.ndarray:
    """``-ctc_loss`` (float64) of each labelling under ``lp`` ``(T, V)``."""
    if not labellings:
        return np.zeros(0)
    n = len(labellings)
    x = torch.from_numpy(np.asarray(lp, dtype=np.float64)).unsqueeze(1).expand(-1, n, -1)
    width = max(1, max(len(lab) for lab in labellings))
    pad = 1 if blank != 1 else 0  # never read (beyond each target length)
    targets = torch.tensor([[*lab] + [pad] * (width - len(lab)) for lab in labellings])
    target_lengths = torch.tensor([len(lab) for lab in labellings], dtype=torch.long)
    input_lengths = torch.full((n,), lp.shape[0], dtype=torch.long)
    loss = torch.nn.functional.ctc_loss(
        x.contiguous(), targets, input_lengths, target_lengths, blank=blank, reduction="none"
    )
    return -loss.numpy()


def all_labellings(time: int, vocab: int, blank: int) -> list[tuple[int, ...]]:
    symbols = [v for v in range(vocab) if v != blank]
    out: list[tuple[int, ...]] = []
    for k in range(time + 1):
        out.extend(itertools.product(symbols, repeat=k))
    return out


def num_labellings(time: int, vocab: int) -> int:
    """Labellings of length <= T over the V - 1 non-blank tokens."""
    return sum((vocab - 1) ** k for k in range(time + 1))


def prune_tokens(lp: np.ndarray, token_min_logp: float) -> np.ndarray:
    """``lp`` (float64) with every entry below ``token_min_logp`` set to ``-inf``, except
    each frame's most probable entry (the first on ties). Compared in float64, so that a
    float32 entry is kept exactly when its value is ``>= token_min_logp``."""
    x = np.asarray(lp, dtype=np.float64)
    keep = x >= token_min_logp
    keep[np.arange(x.shape[0]), np.argmax(x, axis=1)] = True
    return np.where(keep, x, NEG_INF)


def brute_force(lp: np.ndarray, blank: int) -> dict[tuple[int, ...], float]:
    """Exact log-probability of every labelling of length <= T."""
    if lp.shape[0] == 0:  # ctc_loss refuses an empty input; one empty path
        return {(): 0.0}
    labs = all_labellings(lp.shape[0], lp.shape[1], blank)
    return dict(zip(labs, ctc_log_prob(lp, labs, blank).tolist()))


def lm_path_score(tables: Tables, tokens: tuple[int, ...]) -> float:
    """Sum of table log-probs along ``tokens``, end of sentence included."""
    state, total = tables.start, 0.0
    for tok in tokens:
        total += float(tables.logp[state, tok])
        state = int(tables.next_state[state, tok])
    return total + float(tables.end_logp[state])


def reference_beam_search(
    lp: np.ndarray,
    beam_width: int,
    blank: int = 0,
    top_n: int = 1,
    token_min_logp: float | None = None,
    beam_prune_logp: float | None = None,
    lm: Tables | None = None,
    lm_weight: float = 0.0,
    insertion_bonus: float = 0.0,
) -> list[RefHyp]:
    """CTC prefix beam search over tuple prefixes (pure Python).

    Each beam also keeps its best single alignment ending in blank / in a label
    (``vb``/``vnb``, with the emission frames ``fb``/``fnb``), which gives the frames.
    """
    lp = np.asarray(lp, dtype=np.float64)
    time, vocab = lp.shape
    if time == 0:
        return [RefHyp((), 0.0, 0.0, 0.0, ())]
    w, b = lm_weight, insertion_bonus

    def extra(lm_score: float, size: int) -> float:
        return (w * lm_score if w != 0 else 0.0) + (b * size if b != 0 else 0.0)

    def best_path(vb: float, vnb: float, fb: tuple, fnb: tuple) -> tuple[float, tuple]:
        return (vb, fb) if vb >= vnb else (vnb, fnb)

    start = lm.start if lm is not None else 0
    # prefix -> {pb, pnb, st, lms, vb, vnb, fb, fnb}
    beams: dict[tuple[int, ...], dict[str, Any]] = {
        (): {"pb": 0.0, "pnb": NEG_INF, "st": start, "lms": 0.0,
             "vb": 0.0, "vnb": NEG_INF, "fb": (), "fnb": ()}
    }  # fmt: skip
    nonblank = [c for c in range(vocab) if c != blank]
    for t in range(time):
        row = lp[t].tolist()
        if token_min_logp is not None:  # all uses of a pruned token go; the argmax stays
            amax = int(np.argmax(lp[t]))
            row = [x if x >= token_min_logp or c == amax else NEG_INF for c, x in enumerate(row)]
        cands: dict[tuple[int, ...], dict[str, Any]] = {}
        for prefix, s in beams.items():
            tot = lse(s["pb"], s["pnb"])
            s["tot"] = tot
            vb, fb = best_path(s["vb"], s["vnb"], s["fb"], s["fnb"])
            last = row[prefix[-1]] if prefix else NEG_INF
            cands[prefix] = {
                "pb": tot + row[blank], "pnb": s["pnb"] + last, "st": s["st"], "lms": s["lms"],
                "vb": vb + row[blank], "fb": fb, "vnb": s["vnb"] + last, "fnb": s["fnb"],
            }  # fmt: skip
        for prefix, s in beams.items():
            for c in nonblank:
                ext = (*prefix, c)
                if prefix and prefix[-1] == c:
                    e, ev, ef = s["pb"] + row[c], s["vb"] + row[c], s["fb"]
                else:
                    e = s["tot"] + row[c]
                    ev, ef = best_path(s["vb"], s["vnb"], s["fb"], s["fnb"])
                    ev += row[c]
                if ext in beams:  # an existing beam: merge (never pruned)
                    cand = cands[ext]
                    cand["pnb"] = lse(cand["pnb"], e)
                    if ev > cand["vnb"]:
                        cand["vnb"], cand["fnb"] = ev, (*ef, t)
                    continue
                if row[c] == NEG_INF or s["tot"] == NEG_INF:
                    continue
                if lm is not None:
                    new_st = int(lm.next_state[s["st"], c])
                    new_lms = s["lms"] + float(lm.logp[s["st"], c])
                else:
                    new_st, new_lms = 0, 0.0
                cands[ext] = {
                    "pb": NEG_INF, "pnb": e, "st": new_st, "lms": new_lms,
                    "vb": NEG_INF, "fb": (), "vnb": ev, "fnb": (*ef, t),
                }  # fmt: skip
        ranked = []
        for prefix, s in cands.items():
            r = lse(s["pb"], s["pnb"]) + extra(s["lms"], len(prefix))
            if r > NEG_INF:
                ranked.append((r, prefix))
        ranked.sort(key=lambda x: -x[0])
        ranked = ranked[:beam_width]
        if ranked and beam_prune_logp is not None:
            cut = ranked[0][0] + beam_prune_logp
            ranked = [x for x in ranked if x[0] >= cut]
        beams = {prefix: cands[prefix] for _, prefix in ranked}
        if not beams:
            break
    final = []
    for prefix, s in beams.items():
        ac = lse(s["pb"], s["pnb"])
        lm_total = s["lms"] + (float(lm.end_logp[s["st"]]) if lm is not None else 0.0)
        score = ac + ((w * lm_total if w != 0 else 0.0) + (b * len(prefix) if b != 0 else 0.0))
        if score > NEG_INF:
            _, frames = best_path(s["vb"], s["vnb"], s["fb"], s["fnb"])
            final.append(RefHyp(prefix, score, ac, lm_total, frames))
    final.sort(key=lambda h: -h.score)
    if not final:
        return [RefHyp((), NEG_INF, NEG_INF, 0.0, ())]
    return final[:top_n]


def naive_greedy(lp: np.ndarray, blank: int) -> list[int]:
    """Per-frame loop: argmax, collapse repeats, drop blanks."""
    out: list[int] = []
    prev = None
    for t in range(lp.shape[0]):
        best = int(np.argmax(lp[t]))
        if best != blank and best != prev:
            out.append(best)
        prev = best
    return out


def random_log_probs(
    seed: int, time: int, vocab: int, *, peaky: bool = False, neg_inf: float = 0.0
) -> np.ndarray:
    """Random ``(T, V)`` float64 log-probabilities; ``neg_inf`` of the entries (never a
    whole row) are ``-inf``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0 if peaky else 1.0, size=(time, vocab))
    if neg_inf > 0:
        mask = rng.random((time, vocab)) < neg_inf
        mask[np.arange(time), rng.integers(0, vocab, time)] = False
        logits[mask] = NEG_INF
    logits = logits - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def random_tables(seed: int, vocab: int, blank: int, states: int) -> Tables:
    """A random normalised LM automaton over the non-blank tokens."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=1.5, size=(states, vocab + 1))
    logits[:, blank] = NEG_INF
    logits = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    nxt = rng.integers(0, states, size=(states, vocab)).astype(np.int32)
    nxt[:, blank] = np.arange(states, dtype=np.int32)
    return Tables(
        logp=np.ascontiguousarray(logits[:, :vocab]),
        next_state=nxt,
        end_logp=np.ascontiguousarray(logits[:, vocab]),
        start=int(rng.integers(0, states)),
    )


@pytest.fixture(scope="session")
def refs() -> dict[str, Callable[..., Any]]:
    """The reference functions, by name."""
    return {
        "brute_force": brute_force,
        "ctc_log_prob": ctc_log_prob,
        "reference_beam_search": reference_beam_search,
        "naive_greedy": naive_greedy,
        "random_log_probs": random_log_probs,
        "random_tables": random_tables,
        "lm_path_score": lm_path_score,
        "all_labellings": all_labellings,
        "num_labellings": num_labellings,
        "prune_tokens": prune_tokens,
        "Tables": Tables,
    }
