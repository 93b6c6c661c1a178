"""WordBeamSearchDecoder per call: the kernel alone, ``decode`` on a batch, ``decode`` on
one utterance a call (ms per utterance, one thread).

In one process, ``--rounds`` interleaved rounds: the kernel called directly on the batch,
``decode`` on the batch, and ``decode`` on each utterance alone; the best round counts
(for single calls, each utterance's best call). The difference between the columns is
the Python side of a call. Posteriors as ``bench_words_peers.py`` reads them (an ``.npz``
with ``log_probs``, ``lengths``, ``labels``, ``texts``; or ``--libri``). To compare two
trees, run it with ``PYTHONPATH=OTHER_TREE/src`` and without, one after the other:

    python benchmarks/bench_words_calls.py --libri --arpa words.arpa
    python benchmarks/bench_words_calls.py --posteriors runs/words/test_posteriors.npz --arpa runs/words/words.arpa
    python benchmarks/bench_words_calls.py --posteriors run/test_posteriors.npz --arpa run/words.arpa \\
        --lexicon corpus_v1/lexicon.txt --sil-token SIL
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_words_peers as peers


def kernel_call(dec: Any, lp: np.ndarray, lens: np.ndarray) -> Any:
    """The word kernel on the whole batch, as ``decode`` calls it."""
    from ctckit.decode._kernels import words as kernels

    kern = dec._kernel(lp.shape[2])
    if not hasattr(kern, "take_buffers"):  # a tree before the kept buffers: the old call
        utts = np.arange(lp.shape[0], dtype=np.int64)
        return lambda: kernels.decode_words(lp, lens, utts, kern.opts, kern.scorer, kern.rows, 1)
    bufs = [kern.take_buffers()]
    if "taken" in inspect.signature(kernels.decode_words.py_func).parameters:  # shared counter
        order = np.arange(lp.shape[0], dtype=np.int64)

        def call() -> Any:
            taken = np.zeros(1, np.int64)
            out = kernels.decode_words(lp, lens, order, taken, kern.opts, kern.scorer,
                                       kern.rows, 1, bufs[0])  # fmt: skip
            bufs[0] = tuple(out[6:])
            return out

        return call

    def call() -> Any:
        out = kernels.decode_words(lp, lens, 0, 1, kern.opts, kern.scorer, kern.rows, 1, bufs[0])
        bufs[0] = tuple(out[5:])
        return out

    return call


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posteriors", type=Path)
    ap.add_argument("--libri", action="store_true", help="pyctcdecode's LibriSpeech logits")
    ap.add_argument("--libri-copies", type=int, default=20)
    ap.add_argument("--arpa", type=Path, required=True)
    ap.add_argument("--lexicon", type=Path, help="lexicon mode: word tok1 tok2 ... per line")
    ap.add_argument("--sil-token", default=None)
    ap.add_argument("--beam-width", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=25)
    args = ap.parse_args(argv)
    from ctckit.decode.words import WordBeamSearchDecoder
    from ctckit.lm import WordNGramLM

    if args.libri:
        p = peers.libri_posteriors(args.libri_copies)
    elif args.posteriors:
        p = peers.load_posteriors(args.posteriors, None)
    else:
        ap.error("give --posteriors or --libri")
    kw: dict[str, Any] = {"lm": WordNGramLM.from_arpa(args.arpa), "beta": 1.5}
    if args.lexicon:
        kw.update(lexicon=peers.read_lexicon(args.lexicon), sil_token=args.sil_token, beta=0.0)
    dec = WordBeamSearchDecoder(
        p.labels, alpha=0.5, beam_width=args.beam_width, token_min_logp=-5.0,
        beam_prune_logp=-10.0, num_threads=1, blank=p.blank, **kw,
    )  # fmt: skip
    lp, lens = p.log_probs, p.lengths
    batch = lp.shape[0]
    utts = [lp[b, : lens[b]] for b in range(batch)]
    kernel = kernel_call(dec, lp, lens)
    fns = {"kernel": kernel, "batch": lambda: dec.decode(lp, lens)}
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, math.inf)
    single = [math.inf] * batch
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    for _ in range(args.rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
        for b, u in enumerate(utts):
            t0 = time.perf_counter()
            dec.decode(u)
            single[b] = min(single[b], time.perf_counter() - t0)
    k, d, s = best["kernel"] / batch, best["batch"] / batch, sum(single) / batch
    print(f"{batch} utterances, {int(lens.sum())} frames; ms per utterance:")
    print(f"  kernel {1e3 * k:.4f}  decode (batch) {1e3 * d:.4f}  decode (one a call) "
          f"{1e3 * s:.4f}  not the kernel: batch {1e3 * (d - k):.4f}, one a call "
          f"{1e3 * (s - k):.4f}")  # fmt: skip
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
