"""CTC decoder speed and quality: ctckit vs fast-ctc-decode, flashlight-text and pyctcdecode.

Every decoder is timed alike: warmed up on the batch first, then called on the same
utterances in rounds, the decoders interleaved round by round (each makes its calls in
turn within a round, so a moment of load on the host hits all of them alike), and the best
of ``--rounds`` (>= 7) calls kept for each call.
Two call shapes: *one utterance per call* (each utterance its own call; a decoder's time
is the sum over utterances of each call's best) and *batched* (ctckit only, the peers
have no batch call: the whole batch in one call). Every decoder here searches on the
calling thread, so single-thread times are the calling thread's CPU time, which a loaded
host inflates far less than wall time; ctckit's two-thread speed-up is wall time (batched,
one thread against two), printed with the process CPU time of two threads over one.

Three posterior sources, the same arrays for every decoder:

* ``model``: the trained example model's dev outputs (the main source): ``--checkpoint``
  and ``--data`` (an HW3P2-layout root), or ``--posteriors`` (an ``.npz`` with
  ``log_probs (N, T, V)`` and ``lengths (N,)``, as ``examples/hw3p2/predict.py --dump`` or
  ``--save-posteriors`` here write);
* ``flat``: untrained-like outputs: the same preset freshly initialised (seed 0) on the
  same dev features when a checkpoint is given, else the log-softmax of N(0, 0.5) logits
  of the model source's shape;
* ``synthetic``: seeded "peaky" posteriors (T=600, V=41; the generator the kernel was
  first tuned on).

For each beam width (10, 50, 100) and each pruning setting (none; or ctckit
``token_min_logp=-5, beam_prune_logp=-10`` and each peer's nearest knob) it prints
milliseconds per utterance, ctckit's time as a share of each peer's (one utterance per
call on both sides, over the same utterances), and the top-1 quality: how often ctckit's
top-1 labelling equals the peer's, and how often its exact log-probability
(``-ctc_loss`` on the full log-probabilities) is at least the peer's, with the mean
difference.
A peer whose calls would take longer than ``--peer-budget`` seconds per setting is timed
on the first utterances that fit (the count is printed), and the ratio is taken over
those same utterances; one whose first call takes more than ``--max-call`` CPU seconds
is not timed in that setting ("-").

Also: greedy decoding vs a bare ``argmax``, shallow fusion cost and the Numba JIT compile
time (``--extras``).

Run (in the peers' environment, NumPy < 2)::

    python benchmarks/bench_decoders.py --checkpoint runs/hw3p2/best.pt --data ROOT
    python benchmarks/bench_decoders.py --posteriors dev_posteriors.npz   # a saved dump
    python benchmarks/bench_decoders.py --quick                           # smoke run
"""

from __future__ import annotations

import argparse
import math
import os
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ctckit.decode import BeamSearchDecoder, greedy_decode
from ctckit.lm import LMTables

Labels = list[tuple[int, ...]]
PRUNED = {"token_min_logp": -5.0, "beam_prune_logp": -10.0}


class Source(NamedTuple):
    """``(N, T, V)`` float32 log-probabilities (C-contiguous) and ``(N,)`` lengths."""

    name: str
    lp: np.ndarray
    lens: np.ndarray


# --- posterior sources ------------------------------------------------------------------


def peaky_posteriors(n: int, time: int = 600, vocab: int = 41, seed: int = 0) -> np.ndarray:
    """``(n, time, vocab)`` float32 log-probabilities of a seeded peaky process.

    Each frame is a blank (78%: blank logit +9), a label spike (14%: one
    label +8 +- 1) or confusable (8%: one label +4, another +3.5, blank +3);
    on top of N(0, 1) logits, then log-softmax.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n, time, vocab), np.float32)
    t = np.arange(time)
    for b in range(n):
        logits = rng.normal(0.0, 1.0, size=(time, vocab))
        kind = rng.random(time)
        labels = rng.integers(1, vocab, size=time)
        other = rng.integers(1, vocab, size=time)
        blank, spike, conf = kind < 0.78, (kind >= 0.78) & (kind < 0.92), kind >= 0.92
        logits[t[blank], 0] += 9.0
        logits[t[spike], labels[spike]] += 8.0 + rng.normal(0, 1, spike.sum())
        logits[t[conf], labels[conf]] += 4.0
        logits[t[conf], other[conf]] += 3.5 + rng.normal(0, 0.5, conf.sum())
        logits[t[conf], 0] += 3.0 + rng.normal(0, 1, conf.sum())
        logits -= logits.max(axis=1, keepdims=True)
        logits -= np.log(np.exp(logits).sum(axis=1, keepdims=True))
        out[b] = logits
    return out


def _padded(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lens = np.asarray([len(r) for r in rows], dtype=np.int64)
    out = np.zeros((len(rows), int(lens.max()), rows[0].shape[1]), np.float32)
    for k, r in enumerate(rows):
        out[k, : len(r)] = r
    return out, lens


def model_posteriors(
    checkpoint: Path, data: Path, n: int, trained: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` dev utterances' log-probabilities from the checkpoint's model, or
    (``trained=False``) from the same preset freshly initialised with seed 0."""
    from ctckit import hw3p2_vocabulary
    from ctckit.data import PhonemeDataset
    from ctckit.nn.presets import build_preset
    from ctckit.training import load_checkpoint, read_checkpoint

    config = read_checkpoint(checkpoint)["config"]
    torch.manual_seed(0)
    model = build_preset(
        str(config["preset"]),
        num_classes=int(config["num_classes"]),
        in_features=int(config["in_features"]),
    )
    if trained:
        load_checkpoint(checkpoint, model=model)
    model.eval()
    dev = PhonemeDataset(data, "dev", hw3p2_vocabulary(), normalize=bool(config.get("normalize")))
    rows = []
    with torch.no_grad():
        for k in range(min(n, len(dev))):
            feats = dev[k].features
            lp, lens = model(feats[None], torch.tensor([feats.shape[0]]))
            rows.append(lp[0, : int(lens[0])].float().numpy())
    return _padded(rows)


def flat_posteriors(like: np.ndarray, lens: np.ndarray, sigma: float = 0.5) -> np.ndarray:
    """Log-softmax of N(0, sigma) logits in ``like``'s shape (seeded)."""
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, sigma, size=like.shape)
    logits -= logits.max(axis=2, keepdims=True)
    logits -= np.log(np.exp(logits).sum(axis=2, keepdims=True))
    out = logits.astype(np.float32)
    for b, n in enumerate(lens):
        out[b, n:] = 0.0
    return out


def sources(args: argparse.Namespace) -> list[Source]:
    out = []
    n = args.utterances
    if args.posteriors is not None:
        with np.load(args.posteriors) as z:
            lp = np.ascontiguousarray(z["log_probs"][:n], np.float32)
            lens = np.asarray(z["lengths"][:n], np.int64)
        flat = flat_posteriors(lp, lens)
    elif args.checkpoint is not None:
        lp, lens = model_posteriors(args.checkpoint, args.data, n)
        flat, _ = model_posteriors(args.checkpoint, args.data, n, trained=False)
    else:
        lp = flat = None
    if lp is not None:
        if args.save_posteriors is not None:
            np.savez(args.save_posteriors, log_probs=lp, lengths=lens)
        out.append(Source("model", lp, lens))
        out.append(Source("flat", flat, lens))
    if not args.no_synthetic:
        syn = peaky_posteriors(args.synthetic_utterances, args.frames, args.vocab)
        out.append(Source("synthetic", syn, np.full(len(syn), args.frames, np.int64)))
    return out


def describe(src: Source) -> str:
    lp, lens = src.lp, src.lens
    valid = np.concatenate([lp[b, :n] for b, n in enumerate(lens)])
    top = valid.max(axis=1)
    blank_top = np.mean(valid.argmax(axis=1) == 0)
    kept = np.mean((valid >= PRUNED["token_min_logp"]).sum(axis=1))
    return (f"{src.name}: {len(lens)} utterances, T {lens.min()}-{lens.max()} (mean "
            f"{lens.mean():.0f}), V={lp.shape[2]}; blank on top in {blank_top:.0%} of frames, "
            f"mean top log-prob {top.mean():.2f}, tokens >= -5 per frame {kept:.1f}")  # fmt: skip


# --- scoring ----------------------------------------------------------------------------


def exact_log_probs(src: Source, labels: Labels) -> np.ndarray:
    """Exact log P(labelling | utterance b) for each b < len(labels) (``-ctc_loss``)."""
    n = len(labels)
    x = torch.from_numpy(src.lp[:n].astype(np.float64)).transpose(0, 1)
    flat = [tok for lab in labels for tok in lab] or [1]
    loss = torch.nn.functional.ctc_loss(
        x,
        torch.tensor(flat),
        torch.from_numpy(src.lens[:n]),
        torch.tensor([len(lab) for lab in labels]),
        reduction="none",
        zero_infinity=False,
    )
    return -loss.numpy()


# --- timing -----------------------------------------------------------------------------


def interleaved(calls: list[list[Callable[[], Any]]], rounds: int) -> list[np.ndarray]:
    """``calls[d][u]``: decoder ``d``'s call ``u``. Each call is made once to warm up, then
    ``rounds`` times: in each round every decoder makes all its calls in turn (a pass per
    decoder, so a fast call does not find its caches emptied by another decoder's call
    just before). Returns each decoder's best time
    of each call, ``(calls, 3)``: the calling thread's CPU time, the wall time and the
    process's CPU time (all threads), in seconds."""
    best = [np.full((len(c), 3), np.inf) for c in calls]
    for per_decoder in calls:
        for fn in per_decoder:
            fn()
    for _ in range(rounds):
        for d, per_decoder in enumerate(calls):
            for u, fn in enumerate(per_decoder):
                cpu, wall, proc = time.thread_time(), time.perf_counter(), time.process_time()
                fn()
                proc = time.process_time() - proc
                wall = time.perf_counter() - wall
                cpu = time.thread_time() - cpu
                np.minimum(best[d][u], (cpu, wall, proc), out=best[d][u])
    return best


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    return float(interleaved([[fn]], repeats)[0][0, 0])


def jit_times() -> tuple[float, float]:
    """First-decode time in a fresh process with a cold, then a warm Numba cache."""
    code = (
        "import time; t = time.perf_counter(); import numpy as np; "
        "from ctckit.decode import BeamSearchDecoder; "
        "BeamSearchDecoder(beam_width=2, num_threads=1).decode(np.zeros((3, 4), np.float32)); "
        "print(time.perf_counter() - t)"
    )
    out = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for _ in range(2):
            res = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            out.append(float(res.stdout.strip().splitlines()[-1]))
    return out[0], out[1]


# --- the decoders -----------------------------------------------------------------------


class Peers:
    """The peer decoders: for utterance ``b``, a call returning its top-1 label ids."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.probs = np.exp(src.lp)
        vocab = src.lp.shape[2]
        letters = list((string.ascii_letters + string.digits + "!#$%&*+/<=>?@^~")[: vocab - 1])
        self.alphabet = ["-", *letters]
        self.index = {ch: i + 1 for i, ch in enumerate(letters)}

    def fast_ctc_decode(self, beam: int, pruned: bool) -> Callable[[int], tuple[int, ...]]:
        import fast_ctc_decode

        cut = math.exp(PRUNED["token_min_logp"]) if pruned else 0.0
        rows = [self.probs[b, :n] for b, n in enumerate(self.src.lens)]

        def one(b: int) -> tuple[int, ...]:
            seq, _ = fast_ctc_decode.beam_search(
                rows[b], self.alphabet, beam_size=beam, beam_cut_threshold=cut
            )
            return tuple(self.index[ch] for ch in seq)

        return one

    def flashlight(self, beam: int, pruned: bool) -> Callable[[int], tuple[int, ...]]:
        from flashlight.lib.text.decoder import (
            CriterionType,
            LexiconFreeDecoder,
            LexiconFreeDecoderOptions,
            ZeroLM,
        )

        vocab = self.src.lp.shape[2]
        options = LexiconFreeDecoderOptions(
            beam_size=beam,
            beam_size_token=vocab,
            beam_threshold=-PRUNED["beam_prune_logp"] if pruned else 1e30,
            lm_weight=0.0,
            sil_score=0.0,
            log_add=True,
            criterion_type=CriterionType.CTC,
        )
        decoder = LexiconFreeDecoder(options, ZeroLM(), 1, 0, [])
        rows = [self.src.lp[b, :n] for b, n in enumerate(self.src.lens)]

        def one(b: int) -> tuple[int, ...]:
            em = rows[b]
            # the token path has T + 2 entries: a silence token pads each end
            path = decoder.decode(em.ctypes.data, em.shape[0], vocab)[0].tokens[1:-1]
            out: list[int] = []
            prev = -1
            for tok in path:
                if tok != prev and tok > 0:
                    out.append(int(tok))
                prev = tok
            return tuple(out)

        return one

    def pyctcdecode(self, beam: int, pruned: bool) -> Callable[[int], tuple[int, ...]]:
        import logging

        logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
        from pyctcdecode import build_ctcdecoder

        decoder = build_ctcdecoder(["", *self.alphabet[1:]])
        prune, tmin = (
            (PRUNED["beam_prune_logp"], PRUNED["token_min_logp"]) if pruned else (-1e9, -1e9)
        )
        rows = [self.src.lp[b, :n] for b, n in enumerate(self.src.lens)]

        def one(b: int) -> tuple[int, ...]:
            text = decoder.decode_beams(
                rows[b], beam_width=beam, beam_prune_logp=prune, token_min_logp=tmin
            )[0][0]
            return tuple(self.index[ch] for ch in text if ch != " ")

        return one


PEERS = ("fast_ctc_decode", "flashlight", "pyctcdecode")


class Setting(NamedTuple):
    source: str
    beam: int
    pruned: bool
    ms: dict[str, float]  # ms / utt, each decoder over the utterances it was timed on
    ratio: dict[str, float]  # ctckit / peer, one utterance per call, same utterances
    count: dict[str, int]  # utterances each peer was timed on
    threads: float  # batched, wall time: 1 thread / 2 threads
    threads_cpu: float  # batched, process CPU time: 2 threads / 1 thread
    quality: dict[str, tuple[float, float, float]]  # agree, ctckit >= peer, mean diff


def run_setting(
    src: Source, peers: Peers, beam: int, pruned: bool, args: argparse.Namespace
) -> Setting:
    opts: dict[str, Any] = {"beam_width": beam, **(PRUNED if pruned else {})}
    dec = {k: BeamSearchDecoder(**opts, num_threads=k) for k in (1, 2)}
    n = len(src.lens)
    rows = [src.lp[b, : src.lens[b]] for b in range(n)]

    def ck(b: int) -> tuple[int, ...]:
        return dec[1].decode(rows[b])[0][0].tokens

    peer_fns = {name: getattr(peers, name)(beam, pruned) for name in PEERS}
    # how many utterances each peer decodes within its budget (from a first, cold pass)
    count: dict[str, int] = {}
    labels: dict[str, Labels] = {"ctckit": [ck(b) for b in range(n)]}
    for name, fn in peer_fns.items():
        got: Labels = []
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        while len(got) < n:
            got.append(fn(len(got)))
            spent = time.perf_counter() - begin
            if time.thread_time() - begin_cpu > args.max_call and len(got) == 1:
                got = []  # too slow to time here
                break
            if spent * (args.rounds + 1) > args.peer_budget:
                break
        labels[name] = got
        count[name] = len(got)
    timed = [p for p in PEERS if count[p]]

    names = ["ctckit", *timed]
    fns = {"ctckit": ck, **peer_fns}
    calls = [
        [lambda f=fns[name], b=b: f(b) for b in range(n if name == "ctckit" else count[name])]
        for name in names
    ]
    calls.append([lambda: dec[1].decode(src.lp, src.lens)])
    calls.append([lambda: dec[2].decode(src.lp, src.lens)])
    best = interleaved(calls, args.rounds)
    per_call = {name: t[:, 0] for name, t in zip(names, best)}  # CPU time
    ms = {name: float(t.mean() * 1e3) for name, t in per_call.items()}
    ms["ctckit batched x1"] = float(best[-2][0, 0] * 1e3 / n)
    wall_x1, wall_x2 = best[-2][0, 1], best[-1][0, 1]
    cpu_x2_x1 = best[-1][0, 2] / best[-2][0, 2]
    ratio = {p: float(per_call["ctckit"][: count[p]].sum() / per_call[p].sum()) for p in timed}

    exact = {name: exact_log_probs(src, labs) for name, labs in labels.items() if labs}
    quality = {}
    for p in timed:
        m = count[p]
        agree = np.mean([a == b for a, b in zip(labels["ctckit"][:m], labels[p])])
        mine, theirs = exact["ctckit"][:m], exact[p]
        both_dead = np.isneginf(mine) & np.isneginf(theirs)
        diff = np.where(both_dead, 0.0, mine - theirs)
        quality[p] = (float(agree), float(np.mean(diff >= -1e-6)), float(np.mean(diff)))
    return Setting(src.name, beam, pruned, ms, ratio, count, wall_x1 / wall_x2, cpu_x2_x1,
                   quality)  # fmt: skip


# --- report -----------------------------------------------------------------------------


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def report(results: list[Setting], n_utts: dict[str, int]) -> None:
    print()
    print("| source | beam | pruning | ctckit | ctckit batched | fast-ctc-decode "
          "| flashlight-text | pyctcdecode |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for s in results:
        peers = " | ".join(
            "-" if p not in s.ms
            else f"{s.ms[p]:.2f}" + ("" if s.count[p] == n_utts[s.source] else f" ({s.count[p]})")
            for p in PEERS
        )  # fmt: skip
        print(f"| {s.source} | {s.beam} | {'yes' if s.pruned else 'no'} | {s.ms['ctckit']:.3f} "
              f"| {s.ms['ctckit batched x1']:.3f} "
              f"| {peers} |")  # fmt: skip
    print()
    print("| source | beam | pruning | vs fast-ctc-decode | batched vs fast-ctc-decode "
          "| vs flashlight-text | vs pyctcdecode "
          "| 2 threads / 1 | CPU x2 / x1 |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for s in results:
        r = {p: f"{s.ratio[p]:.4f}x" if p in s.ratio else "-" for p in PEERS}
        batched = s.ms["ctckit batched x1"] / s.ms.get("fast_ctc_decode", math.nan)
        print(f"| {s.source} | {s.beam} | {'yes' if s.pruned else 'no'} "
              f"| {r['fast_ctc_decode']} | {batched:.4f}x | {r['flashlight']} "
              f"| {r['pyctcdecode']} | {s.threads:.2f}x | {s.threads_cpu:.2f} |")  # fmt: skip
    print()
    print("Top-1: same labelling as the peer / ctckit's exact log-prob >= the peer's / "
          "mean difference (nats)")  # fmt: skip
    print()
    print("| source | beam | pruning | fast-ctc-decode | flashlight-text | pyctcdecode |")
    print("|---|---:|---|---|---|---|")
    for s in results:
        cells = " | ".join(
            "{:.0%} / {:.0%} / {:+.3f}".format(*s.quality[p]) if p in s.quality else "-"
            for p in PEERS
        )
        print(f"| {s.source} | {s.beam} | {'yes' if s.pruned else 'no'} | {cells} |")


def extras(src: Source, args: argparse.Namespace) -> None:
    lp = src.lp
    n = len(lp)
    cold, warm = jit_times()
    print(f"\nJIT: first decode in a fresh process {cold:.2f} s with a cold cache, "
          f"{warm:.2f} s with the cache=True files (import included)")  # fmt: skip
    x = torch.from_numpy(lp)
    reps = max(args.rounds * 5, 5)
    t_arg = best_of(lambda: x.argmax(dim=-1), reps)
    t_greedy = best_of(lambda: greedy_decode(x), reps)
    t_arg_np = best_of(lambda: lp.argmax(axis=-1), reps)
    t_greedy_np = best_of(lambda: greedy_decode(lp), reps)
    print(f"greedy (torch, {src.name}): {t_greedy * 1e3 / n:.4f} ms/utt, bare argmax "
          f"{t_arg * 1e3 / n:.4f} ms/utt, ratio {t_greedy / t_arg:.2f}x")  # fmt: skip
    print(f"greedy (numpy, {src.name}): {t_greedy_np * 1e3 / n:.4f} ms/utt, bare argmax "
          f"{t_arg_np * 1e3 / n:.4f} ms/utt, ratio {t_greedy_np / t_arg_np:.2f}x")  # fmt: skip

    # fusion cost: a trigram-shaped LM automaton, (V-1)^2 states
    vocab = lp.shape[2]
    rng = np.random.default_rng(1)
    states = (vocab - 1) ** 2
    logp = rng.normal(size=(states, vocab))
    logp[:, 0] = -np.inf
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True) + 1.0)
    nxt = (np.arange(states)[:, None] % (vocab - 1)) * (vocab - 1) + np.arange(vocab) - 1
    nxt[:, 0] = np.arange(states)
    tables = LMTables(logp, nxt.astype(np.int32), np.full(states, -1.0), 0)
    print(f"\n| beam 10, one thread, {src.name} | ms / utt |")
    print("|---|---:|")
    decs = [
        ("no LM", BeamSearchDecoder(beam_width=10, num_threads=1)),
        ("LM, weight 0", BeamSearchDecoder(beam_width=10, num_threads=1, lm=tables)),
        ("LM, weight 0.5, bonus 1", BeamSearchDecoder(
            beam_width=10, num_threads=1, lm=tables, lm_weight=0.5, insertion_bonus=1.0)),
    ]  # fmt: skip
    best = interleaved([[lambda d=d: d.decode(lp, src.lens)] for _, d in decs], args.rounds)
    for (label, _), t in zip(decs, best):
        print(f"| {label} | {t[0, 0] * 1e3 / n:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--checkpoint", type=Path, help="trained example model (examples/hw3p2/train.py)")
    add("--data", type=Path, help="its HW3P2-layout corpus root (the dev split is decoded)")
    add("--posteriors", type=Path, help=".npz with log_probs (N, T, V) and lengths (N,)")
    add("--save-posteriors", type=Path, help="write the model source's posteriors here")
    add("--utterances", type=int, default=60, help="model/flat utterances")
    add("--synthetic-utterances", type=int, default=30)
    add("--no-synthetic", action="store_true")
    add("--frames", type=int, default=600, help="synthetic frames")
    add("--vocab", type=int, default=41, help="synthetic vocabulary")
    add("--beams", type=int, nargs="+", default=[10, 50, 100])
    add("--pruning", choices=("both", "yes", "no"), default="both")
    add("--sources", nargs="+", help="only these sources (model, flat, synthetic)")
    add("--rounds", type=int, default=7, help="best of this many calls (>= 7 for a report)")
    add("--peer-budget", type=float, default=20.0, help="seconds per peer and setting")
    add("--max-call", type=float, default=1.0,
        help="a peer whose first call takes more CPU seconds is not timed in that setting")  # fmt: skip
    add("--extras", action="store_true", help="also JIT time, greedy and fusion cost")
    add("--quick", action="store_true", help="a fast smoke run")
    args = parser.parse_args()
    if args.checkpoint is not None and args.data is None:
        parser.error("--checkpoint needs --data")
    if args.quick:
        args.utterances, args.synthetic_utterances, args.beams = 8, 8, [10]
        args.rounds, args.peer_budget = 1, 2.0

    print(f"cores: {os.cpu_count()}, load average at start: {load()}")
    srcs = sources(args)
    if args.sources:
        srcs = [s for s in srcs if s.name in args.sources]
    for src in srcs:
        print(describe(src))
    prunings = {"both": (False, True), "yes": (True,), "no": (False,)}[args.pruning]
    results = []
    for src in srcs:
        peers = Peers(src)
        for pruned in prunings:
            for beam in args.beams:
                s = run_setting(src, peers, beam, pruned, args)
                results.append(s)
                print(f"  {src.name} beam {beam:3d} {'pruned' if pruned else 'full  '}: "
                      f"ctckit {s.ms['ctckit']:.3f} ms/utt, "
                      + ", ".join(f"{p} {x:.3f}x" for p, x in s.ratio.items())
                      + f", x2 {s.threads:.2f}x (load {load()})", flush=True)  # fmt: skip
    report(results, {s.name: len(s.lens) for s in srcs})
    if args.extras and srcs:
        extras(srcs[0], args)
    print(f"\nload average at end: {load()}")


if __name__ == "__main__":
    main()
