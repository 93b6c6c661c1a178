"""Word n-gram LM: load time and resident memory per n-gram, ctckit beside KenLM.

Generates a word corpus (a seeded Zipfian vocabulary of 50,000 words in which
a word follows its fixed successor half the time, so longer n-grams repeat),
fits an order-4 ``WordNGramLM`` on it, writes the ARPA file (about 5 million
n-grams), then measures, each in a fresh process so that memory is the
model's alone, interleaved and best of ``--repeats``:

* ``kenlm.Model(arpa)``: KenLM's ARPA load (probing hash tables);
* ``WordNGramLM.from_arpa(arpa)``: ctckit's ARPA parse and table build;
* ``WordNGramLM.load(binary)``: ctckit's memory-mapped binary form, untouched
  and with every page read.

Resident memory is the growth of the process's resident set over the load
(``/proc/self/statm``), after a warm-up that loads the library (and Numba's
cached kernels) on a tiny model; peak is the growth of the resident high-water
mark (``VmHWM``); the tables' own size (the arrays' bytes) is printed too.

Run (KenLM is in the test environment):

    python benchmarks/bench_words.py            # writes /tmp/ctckit-bench-words/*.arpa
    python benchmarks/bench_words.py --sentences 20000 --repeats 1   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

KINDS = ("kenlm arpa", "ctckit arpa", "ctckit binary", "ctckit binary, all pages read")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    """The process's resident high-water mark (VmHWM: per address space, unlike
    ``ru_maxrss``, which a child inherits from its parent)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def corpus(n_sentences: int, seed: int = 0, vocab: int = 50_000) -> list[str]:
    """Sentences of 5-19 words: Zipf(1.1) choices, half of them the previous word's successor."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocab + 1) ** 1.1
    weights /= weights.sum()
    lengths = rng.integers(5, 20, size=n_sentences)
    tokens = rng.choice(vocab, size=int(lengths.sum()), p=weights)
    successor = rng.permutation(vocab)
    follow = np.flatnonzero(rng.random(tokens.shape[0]) < 0.5)
    follow = follow[follow > 0]
    for _ in range(3):  # chains of successors
        tokens[follow] = successor[tokens[follow - 1]]
    names = np.array([f"w{i}" for i in range(vocab)])
    ends = np.cumsum(lengths)
    return [" ".join(names[tokens[a:b]]) for a, b in zip(ends - lengths, ends)]


def measure(kind: str, path: str, tiny: str) -> dict[str, float]:
    """One load in this (fresh) process: seconds and memory growth."""
    if kind.startswith("kenlm"):
        import kenlm

        kenlm.Model(tiny)  # warm-up: the library's own start-up
        rss, peak, cpu = _rss(), _peak(), _cpu()
        start = time.perf_counter()
        model = kenlm.Model(path)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        assert model.order > 0
        tables = 0
    else:
        from ctckit.lm import WordNGramLM

        # warm-up: Numba's cached kernels, for arrays of the same kind (read-only for both)
        warm = WordNGramLM.from_arpa(tiny) if kind == "ctckit arpa" else WordNGramLM.load(tiny)
        warm.score("a b")
        rss, peak, cpu = _rss(), _peak(), _cpu()
        start = time.perf_counter()
        lm = WordNGramLM.from_arpa(path) if kind == "ctckit arpa" else WordNGramLM.load(path)
        if kind.endswith("all pages read"):  # page faults included in the time
            sum(float(a.sum()) for a in lm.kernel_tables[4:])
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        lm.score("w1 w2 w3")
        tables = sum(a.nbytes for a in lm.kernel_tables[4:])
    return {"seconds": seconds, "cpu": cpu, "rss": _rss() - rss, "peak": _peak() - peak,
            "tables": tables}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sentences", type=int, default=280_000, help="corpus size (5M n-grams)")
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out-dir", type=Path, default=Path("/tmp/ctckit-bench-words"))
    p.add_argument("--measure", nargs=3, metavar=("KIND", "PATH", "TINY"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return

    from ctckit.lm import WordNGramLM

    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"words-{args.sentences}-o{args.order}"
    arpa, binary, tiny = (
        stem.with_suffix(".arpa"),
        stem.with_suffix(".bin"),
        stem.with_name("tiny.arpa"),
    )
    warm = WordNGramLM.fit(["a b c", "b c a"], order=2)
    warm.to_arpa(tiny)
    warm.save(tiny.with_suffix(".bin"))
    if not (arpa.exists() and binary.exists()):
        start = time.perf_counter()
        sentences = corpus(args.sentences)
        t_corpus = time.perf_counter() - start
        start = time.perf_counter()
        lm = WordNGramLM.fit(sentences, order=args.order)
        t_fit = time.perf_counter() - start
        start = time.perf_counter()
        lm.to_arpa(arpa)
        t_arpa = time.perf_counter() - start
        start = time.perf_counter()
        lm.save(binary)
        t_save = time.perf_counter() - start
        words = sum(len(s.split()) for s in sentences)
        print(f"corpus: {args.sentences} sentences, {words} words ({t_corpus:.1f} s)")
        print(f"fit order {args.order}: {t_fit:.1f} s; to_arpa {t_arpa:.1f} s; save {t_save:.1f} s")
        del lm, sentences
    lm = WordNGramLM.load(binary)
    n_grams = sum(lm.ngram_counts)
    print(f"{arpa}: {arpa.stat().st_size / 1e6:.0f} MB, {lm!r}, {n_grams} n-grams")
    print(f"{binary}: {binary.stat().st_size / 1e6:.0f} MB")
    del lm

    results: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
    for _ in range(args.repeats):
        for kind in KINDS:
            target, warm_up = (
                (arpa, tiny) if kind.endswith("arpa") else (binary, tiny.with_suffix(".bin"))
            )
            out = subprocess.run(
                [sys.executable, __file__, "--measure", kind, str(target), str(warm_up)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            results[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = {k: min(r["seconds"] for r in v) for k, v in results.items()}
    cpu = {k: min(r["cpu"] for r in v) for k, v in results.items()}
    print(
        f"\nload {os.getloadavg()[0]:.1f} (1-min load average at the end), best of {args.repeats}"
    )
    print(
        "\n| load | wall s | CPU s | wall vs kenlm | CPU vs kenlm | resident MB "
        "| resident bytes / n-gram | peak MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in KINDS:
        last = results[kind][-1]
        print(
            f"| {kind} | {best[kind]:.3g} | {cpu[kind]:.3g} "
            f"| {best[kind] / best['kenlm arpa']:.3g}x | {cpu[kind] / cpu['kenlm arpa']:.3g}x "
            f"| {last['rss'] / 1e6:.0f} | {last['rss'] / n_grams:.1f} | {last['peak'] / 1e6:.0f} |"
        )
    print("\nraw:", json.dumps(results))
    tables = results["ctckit arpa"][-1]["tables"]
    print(f"\nctckit's tables: {tables / 1e6:.0f} MB, {tables / n_grams:.1f} bytes / n-gram")
    print(
        f"\nbinary load vs ctckit's ARPA parse: {best['ctckit arpa'] / best['ctckit binary']:.0f}x "
        f"faster (untouched), {best['ctckit arpa'] / best['ctckit binary, all pages read']:.0f}x "
        "with every page read"
    )


if __name__ == "__main__":
    main()
