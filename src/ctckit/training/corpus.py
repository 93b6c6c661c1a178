"""The embedded speech corpus a training run uses when it is given no data.

:func:`ensure_corpus` synthesises it (with :func:`ctckit.data.synth.make_corpus`,
the ``synth`` extra) into a cache folder on first use; later runs find it
there. Under ``torch.distributed`` rank 0 synthesises and the other ranks
wait.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ctckit._checks import check_int
from ctckit.data.synth import GENERATOR_VERSION
from ctckit.errors import CTCKitError, InputValueError
from ctckit.training.distributed import _raise_on_every_rank, is_main_process

__all__ = ["DEFAULT_CORPUS_SIZE", "default_corpus_root", "ensure_corpus"]

#: Utterances of the embedded corpus: train, dev, test.
DEFAULT_CORPUS_SIZE = (1500, 200, 200)


def default_corpus_root() -> Path:
    """``$CTCKIT_CACHE/hw3p2-synth-vN``, by default ``~/.cache/ctckit/hw3p2-synth-vN``.

    ``N`` is the corpus generator's version
    (:data:`~ctckit.data.synth.GENERATOR_VERSION`): a new generator writes a new folder
    instead of meeting a corpus of the old one, which it would refuse.
    ``$XDG_CACHE_HOME`` replaces ``~/.cache`` when set.

    Example:
        >>> default_corpus_root().name
        'hw3p2-synth-v2'
    """
    base = os.environ.get("CTCKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ctckit"
    )
    return Path(base) / f"hw3p2-synth-v{GENERATOR_VERSION}"


def ensure_corpus(
    root: str | os.PathLike[str] | None = None,
    sizes: Sequence[int] = DEFAULT_CORPUS_SIZE,
    *,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Path, int]:
    """Synthesise the embedded corpus into ``root`` unless it is there already.

    Args:
        root: The corpus folder (default :func:`default_corpus_root`).
        sizes: Utterances of train, dev and test.
        seed: The corpus seed.
        progress: Show the synthesis progress bar.

    Returns:
        ``(root, written)``: the folder and the number of utterances this
        call synthesised (0 when the corpus was complete; on ranks other
        than 0, always 0).

    Raises:
        InputValueError: If ``sizes`` is not three positive counts.
        MissingDependencyError: If the ``synth`` extra is not installed.
        DataError: If ``root`` holds a corpus made with other settings.
    """
    if len(sizes) != 3:
        raise InputValueError(f"sizes must be three counts (train, dev, test), got {list(sizes)}")
    counts = [check_int(n, name, 1) for n, name in zip(sizes, ("train", "dev", "test"))]
    folder = default_corpus_root() if root is None else Path(root)
    written, error = 0, None
    if is_main_process():
        try:
            from ctckit.data.synth import make_corpus

            n_train, n_dev, n_test = counts
            made = make_corpus(folder, n_train, n_dev, n_test, seed=seed, progress=progress)
            written = made.written
        except (CTCKitError, OSError, ImportError) as err:
            error = err
    _raise_on_every_rank(error, "synthesise the corpus")
    return folder, written
