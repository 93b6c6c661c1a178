"""Why flashlight-text's top-1 beats a prefix beam search on flat (untrained) outputs.

The ``flat`` source of ``bench_decoders.py`` (the example's preset freshly initialised,
seed 0, on the first dev utterances). Each decoder's top-1 labelling is re-scored exactly
(``-ctc_loss``), for flashlight-text's lexicon-free decoder (no LM, ``log_add``) and for
ctckit's prefix beam search at widening beams, unpruned. Prints each labelling's exact
log-probability and mean length. Run in the peers' environment::

    python benchmarks/probe_flat_top1.py --checkpoint runs/hw3p2/best.pt --data ROOT
    python benchmarks/probe_flat_top1.py ... --utterances 9 3 --beams 100 3000 10000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import bench_decoders as bench
import numpy as np
import torch

from ctckit.decode import BeamSearchDecoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--utterances", type=int, nargs="+", default=list(range(12)),
                        help="dev indices (default: the first 12)")  # fmt: skip
    parser.add_argument("--beams", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--flashlight-beams", type=int, nargs="+", default=[10, 100])
    args = parser.parse_args()
    torch.set_num_threads(1)
    lp, lens = bench.model_posteriors(args.checkpoint, args.data, max(args.utterances) + 1,
                                      trained=False)  # fmt: skip
    lp, lens = lp[args.utterances], lens[args.utterances]
    src = bench.Source("flat", lp, lens)
    print(bench.describe(src))
    print("T", lens.tolist())
    found: dict[str, list[tuple[int, ...]]] = {}
    peers = bench.Peers(src)
    for beam in args.flashlight_beams:
        top1 = peers.flashlight(beam, pruned=False)
        found[f"flashlight beam {beam}"] = [top1(b) for b in range(len(lens))]
    for beam in args.beams:
        dec = BeamSearchDecoder(beam_width=beam, token_min_logp=None, beam_prune_logp=None,
                                num_threads=1)  # fmt: skip
        found[f"ctckit beam {beam}"] = [
            tuple(dec.decode(lp[b : b + 1, : lens[b]])[0][0].tokens) for b in range(len(lens))
        ]
    for name, labels in found.items():
        scores = bench.exact_log_probs(src, labels)
        mean_len = np.mean([len(lab) for lab in labels])
        print(f"{name:>22}: mean length {mean_len:5.1f}, log P", np.round(scores, 3).tolist())


if __name__ == "__main__":
    main()
