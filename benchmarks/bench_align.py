#!/usr/bin/env python
"""Speed of ctckit's forced aligner against torch's CTC forward pass, torchaudio and ctc-segmentation.

    python benchmarks/bench_align.py                                 # synthetic posteriors only
    python benchmarks/bench_align.py --posteriors dev.npz \\
        --torchaudio-python /work/venvs/torchaudio/bin/python \\
        --ctcseg-python /work/venvs/ctcseg/bin/python --long

``dev.npz`` comes from ``benchmarks/bench_align_posteriors.py`` (a trained
model's dev outputs). Batches of 32 utterances, every aligner on the same
arrays, timed alike: one warm-up call, then ``--rounds`` rounds in which every
aligner runs ``--repeats`` times in turn; each aligner's best call counts.

* ``ctckit 1 thread`` / ``2 threads``: :func:`ctckit.align.forced_align`
  (Numba), CPU time and wall time;
* ``ctc_loss forward``: ``torch.nn.functional.ctc_loss`` (one torch thread),
  the same trellis summed instead of maximised;
* ``ctckit torch backend``: the torch implementation on the CPU (one thread);
* ``torchaudio``: ``torchaudio.functional.forced_align`` looped over the
  batch (batch 1 only), in its own environment (it needs torch 2.9.1): one
  persistent subprocess per peer and source loads the same arrays (saved to
  disk) once, warms up, and then times one call (its own CPU time) each time it
  is asked over a pipe; ``--peer-repeats`` calls per round;
* ``ctc-segmentation``: ``ctc_segmentation.ctc_segmentation`` looped over the
  batch, likewise in its own environment.

Each peer call is paired: ctckit (1 thread), the peer, ctckit again, within a
few tens of milliseconds. ``paired median`` is the median over all peer calls of
(peer call) / (mean of the two ctckit calls around it). This machine has
stretches of seconds in which load/store-heavy code runs about 1.5x slower
(``bench_align_phases.py``); best-vs-best ratios can take the two bests from
different stretches, the paired ratios are taken within one. Each timed call of
a pair follows an untimed call of the same aligner (ctckit's and the peer's
alike): a call right after the other process has run on the core finds its
caches and branch predictors cold, a fixed cost (ctckit's model-row call 2.76 ms
median right after torchaudio's, 2.38 ms right after its own) that weighed on the
shorter call only.

Posterior sources: ``peaky`` (each token a 1-3 frame spike among blanks, with
noise), ``flat`` (untrained-like: near-uniform), and ``model`` (dev
utterances of the trained model, consecutive ones joined into rows of at most
1,000 frames, their transcripts joined). ``--long`` adds an hour of frames:
360,000 frames and 40,000 tokens, peaky and model (model frames repeated
twice, as a 10 ms model, cycled over the dev set), aligned with
``align_long`` in a fresh process each (peak memory from its RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ctckit.align import forced_align

BATCH, TIME, TOKENS, VOCAB = 32, 1000, 150, 41

PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    peer, path = sys.argv[1], sys.argv[2]
    z = np.load(path)
    lp, tg, lens, tlens = z["lp"], z["tg"], z["lens"], z["tlens"]
    if peer == "torchaudio":
        import torch, torchaudio.functional as F
        torch.set_num_threads(1)
        x = torch.from_numpy(lp)
        t = torch.from_numpy(tg.astype(np.int32))
        def run():
            out = []
            for b in range(x.shape[0]):
                n, k = int(lens[b]), int(tlens[b])
                a, s = F.forced_align(x[b : b + 1, :n], t[b : b + 1, :k], blank=0)
                out.append(float(s.double().sum()))
            return out
    else:
        import ctc_segmentation as cs
        config = cs.CtcSegmentationParameters()
        config.blank = 0
        config.char_list = [str(v) for v in range(lp.shape[2])]
        def run():
            out = []
            for b in range(lp.shape[0]):
                n, k = int(lens[b]), int(tlens[b])
                gt, _ = cs.prepare_token_list(config, [tg[b, :k]])
                timings, probs, _ = cs.ctc_segmentation(config, lp[b, :n], gt)
                out.append(float(np.sum(probs)))
            return out
    import warnings
    warnings.simplefilter("ignore")
    scores = run()  # warm-up
    print("@@" + json.dumps({"scores": scores}), flush=True)
    for line in sys.stdin:  # one request, one timed call
        c0 = time.process_time()
        run()
        print("@@" + json.dumps({"cpu": time.process_time() - c0}), flush=True)
    """
)


class Peer:
    """A peer aligner in its own interpreter, kept for a whole batch: it loads the
    arrays once and times one call per :meth:`call`."""

    def __init__(self, python: str, name: str, path: str) -> None:
        self.proc = subprocess.Popen([python, "-c", PEER_SCRIPT, name, path], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
        self.scores = np.array(self._reply()["scores"])

    def _reply(self) -> dict:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])
        raise RuntimeError(f"peer exited with status {self.proc.wait()}")

    def call(self) -> float:
        """CPU seconds of one call, timed in the peer's process."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return float(self._reply()["cpu"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return (x - np.log(np.exp(x).sum(axis=-1, keepdims=True))).astype(np.float32)


def peaky_row(tokens: np.ndarray, time_: int, rng: np.random.Generator) -> np.ndarray:
    """Spikes of 1-3 frames for the tokens, evenly spread over ``time_`` frames."""
    rows = np.zeros(time_, np.int64)
    edges = np.linspace(0, time_, len(tokens) + 1).astype(int)
    for tok, a, b in zip(tokens, edges[:-1], edges[1:]):
        start = a + int(rng.integers(1, max(2, b - a - 2)))
        rows[start : min(b, start + int(rng.integers(1, 4)))] = tok
    logits = np.eye(VOCAB)[rows] * 6.0 + rng.normal(size=(time_, VOCAB)) * 0.5
    return log_softmax(logits)


def synthetic(kind: str, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    tg = rng.integers(1, VOCAB, size=(BATCH, TOKENS))
    if kind == "peaky":
        lp = np.stack([peaky_row(t, TIME, rng) for t in tg])
    else:
        lp = log_softmax(rng.normal(size=(BATCH, TIME, VOCAB)) * 0.3)
    return {"lp": lp, "tg": tg, "lens": np.full(BATCH, TIME), "tlens": np.full(BATCH, TOKENS)}


def model_batch(post, max_frames: int = TIME) -> dict:
    """Consecutive dev utterances joined into rows of at most ``max_frames`` frames."""
    rows, targets = [], []
    i = 0
    while len(rows) < BATCH:
        lps, tgs, n = [], [], 0
        while n + post.log_probs[i % len(post.ids)].shape[0] <= max_frames:
            lps.append(post.log_probs[i % len(post.ids)])
            tgs.append(post.targets[i % len(post.ids)])
            n += lps[-1].shape[0]
            i += 1
        rows.append(np.concatenate(lps))
        targets.append(np.concatenate(tgs))
    width = max(r.shape[0] for r in rows)
    lp = np.full((BATCH, width, rows[0].shape[1]), np.log(1.0 / rows[0].shape[1]), np.float32)
    tg = np.zeros((BATCH, max(len(t) for t in targets)), np.int64)
    for b, (r, t) in enumerate(zip(rows, targets)):
        lp[b, : r.shape[0]] = r
        tg[b, : len(t)] = t
    return {"lp": lp, "tg": tg, "lens": np.array([r.shape[0] for r in rows]),
            "tlens": np.array([len(t) for t in targets])}  # fmt: skip


def timed(fn, repeats: int) -> tuple[float, float]:
    """Best CPU and wall time of ``repeats`` calls."""
    cpu = wall = float("inf")
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall


def bench_batch(name: str, data: dict, args: argparse.Namespace) -> list[str]:
    lp, tg = data["lp"], data["tg"]
    lens, tlens = data["lens"], data["tlens"]
    x = torch.from_numpy(lp)
    ctc_args = (
        x.transpose(0, 1),
        torch.from_numpy(tg),
        torch.from_numpy(lens),
        torch.from_numpy(tlens),
    )
    runs = {
        "ctckit 1 thread": lambda: forced_align(lp, tg, lens, tlens, num_threads=1),
        "ctckit 2 threads": lambda: forced_align(lp, tg, lens, tlens, num_threads=2),
        "ctc_loss forward": lambda: torch.nn.functional.ctc_loss(*ctc_args, reduction="none"),
        "ctckit torch backend": lambda: forced_align(x, tg, lens, tlens, backend="torch"),
    }
    _, ref_scores = forced_align(lp, tg, lens, tlens)
    ref = ref_scores.astype(np.float64).sum(1)
    for fn in runs.values():
        fn()
    best: dict[str, tuple[float, float]] = {k: (float("inf"), float("inf")) for k in runs}
    peers = {k: v for k, v in (("torchaudio", args.torchaudio_python),
                               ("ctc-segmentation", args.ctcseg_python)) if v}  # fmt: skip
    peer_cpu = {k: float("inf") for k in peers}
    paired: dict[str, list[float]] = {k: [] for k in peers}
    one_thread = runs["ctckit 1 thread"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "batch.npz")
        np.savez(path, lp=lp, tg=tg, lens=lens, tlens=tlens)
        servers = {k: Peer(python, "torchaudio" if k == "torchaudio" else "ctcseg", path)
                   for k, python in peers.items()}  # fmt: skip
        try:
            for _ in range(args.rounds):
                for key, fn in runs.items():
                    cpu, wall = timed(fn, args.repeats)
                    best[key] = (min(best[key][0], cpu), min(best[key][1], wall))
                for key, server in servers.items():
                    for _ in range(args.peer_repeats):
                        one_thread()  # each timed call after one of its own (see above)
                        before = timed(one_thread, 1)[0]
                        server.call()
                        cpu = server.call()
                        one_thread()
                        after = timed(one_thread, 1)[0]
                        peer_cpu[key] = min(peer_cpu[key], cpu)
                        paired[key].append(cpu / ((before + after) / 2))
        finally:
            for server in servers.values():
                server.close()
    peer_scores = {k: server.scores for k, server in servers.items()}
    one_cpu, one_wall = best["ctckit 1 thread"]
    ctc_cpu = best["ctc_loss forward"][0]
    cells = float(np.sum(lens * (2 * tlens + 1)))
    lines = [f"\n### {name}: {BATCH} utterances, T <= {lp.shape[1]} (mean {lens.mean():.0f}), "
             f"tokens mean {tlens.mean():.0f}, V={lp.shape[2]}\n",
             "| aligner | CPU ms | wall ms | ns per cell (CPU) | vs ctckit 1 thread (CPU) "
             "| paired median |",
             "|:--|--:|--:|--:|--:|--:|"]  # fmt: skip
    for key, (cpu, wall) in best.items():
        lines.append(f"| {key} | {cpu * 1e3:.1f} | {wall * 1e3:.1f} | {cpu / cells * 1e9:.2f} | "
                     f"{cpu / one_cpu:.2f}x | - |")  # fmt: skip
    for key, cpu in peer_cpu.items():
        lines.append(f"| {key} (batch looped) | {cpu * 1e3:.1f} | - | {cpu / cells * 1e9:.2f} | "
                     f"{cpu / one_cpu:.1f}x | {np.median(paired[key]):.1f}x |")  # fmt: skip
    lines.append("")
    lines.append(f"ctckit 1 thread / ctc_loss forward (CPU): **{one_cpu / ctc_cpu:.3f}x**; "
                 f"two threads: **{one_wall / best['ctckit 2 threads'][1]:.2f}x** one (wall)")  # fmt: skip
    for key, cpu in peer_cpu.items():
        lines.append(f"; {key} / ctckit: **{cpu / one_cpu:.1f}x** (paired median "
                     f"{np.median(paired[key]):.1f}x of {len(paired[key])})")  # fmt: skip
    if "torchaudio" in peer_scores:
        diff = np.abs(peer_scores["torchaudio"] - ref).max()
        lines.append(f"\n\ntorchaudio's best-path scores vs ctckit's: max |difference| {diff:.2e}")
    return lines


def bench_thread_sweep(sources: dict[str, dict], args: argparse.Namespace) -> list[str]:
    """Two threads against one (wall time, interleaved, best call) on the first ``n`` rows of
    each source, with the cells threshold off (every call may use both threads), and what
    the threshold picks; then the pool's hand-off cost (a job that does nothing)."""
    from ctckit._threads import run_together
    from ctckit.align import forced

    threshold = forced._MIN_CELLS_PER_THREAD
    lines = ["\n### Two threads against one by batch size (wall time, threshold off)\n",
             "| posteriors | rows | cells | 1 thread ms | 2 threads ms | speed-up | threshold picks |",
             "|:--|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    forced._MIN_CELLS_PER_THREAD = 1
    try:
        for name, data in sources.items():
            for n in [int(x) for x in args.sweep_rows.split(",")]:
                batch = tuple(data[k][:n] for k in ("lp", "tg", "lens", "tlens"))
                cells = int(np.sum(batch[2] * (2 * batch[3] + 1)))
                best = {1: float("inf"), 2: float("inf")}
                for r in range(args.rounds * 2):
                    for th in (1, 2) if r % 2 == 0 else (2, 1):
                        for _ in range(max(args.repeats, 64 // n)):
                            w0 = time.perf_counter()
                            forced_align(*batch, num_threads=th)
                            best[th] = min(best[th], time.perf_counter() - w0)
                picks = max(1, min(2, cells // threshold))
                lines.append(f"| {name.split()[0]} | {n} | {cells:,} | {best[1] * 1e3:.3f} | "
                             f"{best[2] * 1e3:.3f} | {best[1] / best[2]:.2f}x | {picks} |")  # fmt: skip
    finally:
        forced._MIN_CELLS_PER_THREAD = threshold
    for threads in (1, 2):
        run_together(lambda: None, threads)
        costs = []
        for _ in range(2000):
            w0 = time.perf_counter()
            run_together(lambda: None, threads)
            costs.append(time.perf_counter() - w0)
        lines.append(f"\nrun_together of an empty job on {threads} thread(s): best "
                     f"{min(costs) * 1e6:.1f} us, median {np.median(costs) * 1e6:.1f} us")  # fmt: skip
    return lines


LONG_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from ctckit.align import align_long

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) / 1024  # MB
    z = np.load(sys.argv[1]); band = int(sys.argv[2])
    lp, tg = z["lp"], z["tg"]
    small = np.ascontiguousarray(lp[:2000]); align_long(small, tg[: len(tg) * 2000 // len(lp) // 2], band=64)
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) after compiling
        fh.write("5")
    before = status("VmRSS:")
    c0, w0 = time.process_time(), time.perf_counter()
    r = align_long(lp, tg, band=band)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    peak = status("VmHWM:")
    print(json.dumps({"cpu": cpu, "wall": wall, "mem_mb": peak - before, "peak_mb": peak,
                      "exact": bool(r.exact), "score": r.score, "bound": r.bound}))
    """
)


def long_inputs(post) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    frames, tokens = 360_000, 40_000
    rng = np.random.default_rng(1)
    tg = rng.integers(1, VOCAB, size=tokens)
    out = {"peaky": (np.concatenate([peaky_row(tg[i : i + 1000], 9000, rng)
                                     for i in range(0, tokens, 1000)]), tg)}  # fmt: skip
    if post is not None:
        lps, tgs, n, i = [], [], 0, 0
        while n < frames:
            lp = np.repeat(post.log_probs[i % len(post.ids)], 2, axis=0)  # as a 10 ms model
            lps.append(lp)
            tgs.append(post.targets[i % len(post.ids)])
            n += len(lp)
            i += 1
        out["model"] = (np.concatenate(lps), np.concatenate(tgs))
    return out


def bench_long(post, bands: list[int]) -> list[str]:
    lines = ["\n### An hour of frames: align_long, one core, fresh process each\n",
             "| posteriors | frames | tokens | band | CPU s | wall s | memory added MB | process peak MB | proven exact |",
             "|:--|--:|--:|--:|--:|--:|--:|--:|:--|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name, (lp, tg) in long_inputs(post).items():
            path = os.path.join(tmp, f"{name}.npz")
            np.savez(path, lp=lp.astype(np.float32), tg=tg)
            for band in bands:
                env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
                out = subprocess.run([sys.executable, "-c", LONG_SCRIPT, path, str(band)],
                                     capture_output=True, text=True, check=True, env=env)  # fmt: skip
                r = json.loads(out.stdout.strip().splitlines()[-1])
                lines.append(f"| {name} | {len(lp):,} | {len(tg):,} | {band} | {r['cpu']:.1f} | "
                             f"{r['wall']:.1f} | {r['mem_mb']:.0f} | {r['peak_mb']:.0f} | {r['exact']} "
                             f"(score {r['score']:.0f}, bound {r['bound']:.0f}) |")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--posteriors", type=Path, default=None, help=".npz from bench_align_posteriors.py"
    )
    p.add_argument("--torchaudio-python", default=None, help="python of a venv with torchaudio")
    p.add_argument("--ctcseg-python", default=None, help="python of a venv with ctc-segmentation")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--peer-repeats", type=int, default=4, help="paired peer calls per round")
    p.add_argument("--long", action="store_true", help="also an hour of frames (minutes)")
    p.add_argument("--bands", default="4096,16384")
    p.add_argument("--skip-batch", action="store_true", help="only the hour of frames")
    p.add_argument("--sources", default="model,peaky,flat", help="batch posteriors to time")
    p.add_argument("--thread-sweep", action="store_true",
                   help="only two threads against one by batch size (needs a free core)")  # fmt: skip
    p.add_argument("--sweep-rows", default="1,2,4,8,16,32", help="batch sizes of --thread-sweep")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs; "
          f"torch {torch.__version__}")  # fmt: skip
    post = None
    sources = {"peaky": synthetic("peaky"), "flat": synthetic("flat")}
    if args.posteriors is not None:
        from bench_align_posteriors import load as load_posteriors

        post = load_posteriors(args.posteriors)
        sources = {"model (dev outputs)": model_batch(post), **sources}
    wanted = args.sources.split(",")
    sources = {k: v for k, v in sources.items() if k.split()[0] in wanted}
    if args.thread_sweep:
        print("\n".join(bench_thread_sweep(sources, args)), flush=True)
        args.skip_batch = True
    for name, data in {} if args.skip_batch else sources.items():
        print("\n".join(bench_batch(name, data, args)), flush=True)
    if args.long:
        print("\n".join(bench_long(post, [int(b) for b in args.bands.split(",")])), flush=True)
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"max RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
