"""Datasets over the HW3P2 folder layout.

The layout (``ROOT/<partition>/mfcc/*.npy`` with matching
``ROOT/<partition>/transcript/*.npy``, and ``ROOT/test/test_order.csv``) is
described in the project's design notes and is also what
:func:`ctckit.data.synth.make_corpus` writes.

Every problem with the files raises :class:`ctckit.errors.DataError` whose
message starts with the offending path. Headers are checked when a dataset is
built (cheaply, through memory-mapped ``numpy.load``); contents (NaN, unknown
phonemes, empty transcripts) are checked when an item is first read.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import torch
from numpy.lib import format as npformat
from torch.utils.data import Dataset

from ctckit._checks import check_int
from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.features import cepstral_normalize
from ctckit.vocab import SENTENCE_MARKERS, Vocabulary, hw3p2_vocabulary

__all__ = ["PhonemeDataset", "UnlabeledDataset", "Utterance"]

#: A feature transform: ``(T, F)`` float32 tensor in, ``(T', F')`` tensor out.
FeatureTransform: TypeAlias = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True, eq=False)
class Utterance:
    """One dataset item.

    Attributes:
        features: ``(T, F)`` float32 tensor of acoustic features.
        targets: ``(U,)`` int64 tensor of label ids (no blank, no sentence
            markers), or ``None`` for unlabeled data.
        id: The utterance's file name without ``.npy``.

    Example:
        >>> u = Utterance(torch.zeros(5, 13), torch.tensor([3, 4]), "a")
        >>> tuple(u.features.shape), u.targets.tolist(), u.id
        ((5, 13), [3, 4], 'a')
    """

    features: torch.Tensor
    targets: torch.Tensor | None
    id: str


def _load_npy(path: Path, *, mmap: bool) -> np.ndarray[Any, Any]:
    """``numpy.load`` without pickles; any failure becomes a DataError naming the file."""
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"not a readable .npy array (truncated or corrupt?): {err}", path) from err
    if not isinstance(arr, np.ndarray):  # np.load of an .npz archive
        raise DataError(f"expected a .npy array, got {type(arr).__name__}", path=path)
    return arr


def _read_npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype from a ``.npy`` header, checking the file holds all the data.

    Reads only the header (faster than a memory map); formats other than
    1.0 and 2.0 go through ``numpy.load(mmap_mode="r")``.
    """
    try:
        with open(path, "rb") as f:
            version = npformat.read_magic(f)  # type: ignore[no-untyped-call,unused-ignore]
            if version == (1, 0):
                shape, _, dtype = npformat.read_array_header_1_0(f)  # type: ignore[no-untyped-call,unused-ignore]
            elif version == (2, 0):
                shape, _, dtype = npformat.read_array_header_2_0(f)  # type: ignore[no-untyped-call,unused-ignore]
            else:
                arr = _load_npy(path, mmap=True)
                return tuple(arr.shape), arr.dtype
            offset = f.tell()
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except (ValueError, OSError, EOFError, SyntaxError) as err:
        raise DataError(f"not a readable .npy array (truncated or corrupt?): {err}", path) from err
    if dtype.hasobject:
        raise DataError(f"expected a real numeric array, got dtype {dtype} (pickled)", path)
    needed = offset + math.prod(shape) * dtype.itemsize
    size = os.path.getsize(path)
    if size < needed:
        raise DataError(
            f"not a readable .npy array (truncated?): shape {shape} of {dtype} needs "
            f"{needed} bytes, the file has {size}",
            path=path,
        )
    return tuple(int(d) for d in shape), dtype


def _is_utf8(value: object) -> bool:
    if not isinstance(value, bytes):
        return True
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


def _partition_folder(root: str | os.PathLike[str], partition: object) -> Path:
    if not isinstance(partition, str):
        raise InputTypeError(
            f"partition must be a folder name (str) such as 'train', got "
            f"{type(partition).__name__} {partition!r}"
        )
    return Path(root) / partition


def _list_npy(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise DataError("folder not found", path=folder)
    return sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(".npy"))


class _FeatureFolder(Dataset[Utterance]):
    """Shared machinery: header scan, feature loading, cache, normalisation."""

    def __init__(
        self,
        mfcc_dir: Path,
        names: Sequence[str],
        *,
        cache: bool,
        normalize: bool,
        transform: FeatureTransform | None,
        feature_dim: int | None,
    ) -> None:
        if transform is not None and not callable(transform):
            raise InputTypeError(f"transform must be callable, got {type(transform).__name__}")
        if feature_dim is not None:
            feature_dim = check_int(feature_dim, "feature_dim", 1)
        self._mfcc_dir = mfcc_dir
        self._names = list(names)
        self._ids = [n[: -len(".npy")] for n in self._names]
        self._cache_enabled = cache
        self._normalize = normalize
        self._transform = transform
        self._feature_dim = feature_dim
        self._cache: dict[int, Utterance] = {}
        self._lengths = torch.tensor(
            [self._check_header(mfcc_dir / n) for n in self._names], dtype=torch.int64
        ).reshape(-1)

    def _check_header(self, path: Path) -> int:
        shape, dtype = _read_npy_header(path)
        if dtype.kind not in "fiu":
            raise DataError(f"expected a real numeric array, got dtype {dtype}", path=path)
        if len(shape) != 2:
            raise DataError(f"expected a 2-D (frames, features) array, got {shape}", path)
        if self._feature_dim is not None and shape[1] != self._feature_dim:
            raise DataError(
                f"expected {self._feature_dim} features per frame, got shape {shape}", path
            )
        if shape[0] == 0:
            raise DataError(f"empty utterance: 0 frames (shape {shape})", path=path)
        return int(shape[0])

    @property
    def lengths(self) -> torch.Tensor:
        """``(N,)`` int64 frame counts, read from the ``.npy`` headers."""
        return self._lengths

    @property
    def ids(self) -> list[str]:
        """Utterance ids (file names without ``.npy``) in item order."""
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._names)

    def _load_features(self, index: int) -> torch.Tensor:
        path = self._mfcc_dir / self._names[index]
        arr = _load_npy(path, mmap=False)
        if arr.shape[0] != int(self._lengths[index]) or arr.ndim != 2:
            raise DataError(f"file changed since the dataset was built: shape {arr.shape}", path)
        feats = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        finite = torch.isfinite(feats)
        if not bool(finite.all()):
            frame, dim = (int(v) for v in (~finite).nonzero()[0])
            raise DataError(
                f"non-finite feature {float(feats[frame, dim])} at frame {frame}, dim {dim}", path
            )
        if self._normalize:
            feats = cepstral_normalize(feats)
        return feats

    def _load_targets(self, index: int) -> torch.Tensor | None:
        return None

    def __getitem__(self, index: int) -> Utterance:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} utterances")
        index %= n
        item = self._cache.get(index)
        if item is None:
            item = Utterance(
                self._load_features(index), self._load_targets(index), self._ids[index]
            )
            if self._cache_enabled:
                self._cache[index] = item
        if self._transform is not None:
            item = Utterance(self._transform(item.features), item.targets, item.id)
        return item


class PhonemeDataset(_FeatureFolder):
    """Labelled utterances from ``ROOT/<partition>/{mfcc,transcript}/*.npy``.

    Items are read in sorted file-name order. Each transcript is a 1-D array
    of symbols; a leading ``<sos>`` and a trailing ``<eos>`` are stripped and
    the rest is mapped to ids with ``vocab``.

    Args:
        root: The corpus root folder.
        partition: Sub-folder name, e.g. ``"train"`` or ``"dev"``.
        vocab: Symbol inventory; defaults to :func:`ctckit.hw3p2_vocabulary`.
        cache: Keep loaded items in memory. Each ``DataLoader`` worker
            process keeps its own cache (use ``persistent_workers=True`` so it
            survives epochs); for corpora larger than memory / workers, pass
            ``cache=False``.
        normalize: Apply :func:`ctckit.features.cepstral_normalize` to each
            utterance.
        transform: Called on each ``(T, F)`` feature tensor at every access
            (after the cache, so random augmentation stays random).
        feature_dim: Required number of features per frame, or ``None`` to
            accept any width (:func:`ctckit.data.collate_ctc` still rejects a
            batch that mixes widths).

    Raises:
        DataError: Naming the file or folder: a missing folder, mfcc and
            transcript file names that differ, a wrong feature dimension, a
            truncated or non-numeric ``.npy``, non-finite features, an
            unknown symbol (with its position), a symbol that is not UTF-8,
            or an empty utterance.
        InputTypeError: If ``partition`` is not a string, ``feature_dim``
            not an int (``"13"``) or ``transform`` not callable.
        InputValueError: If ``feature_dim`` is below 1.

    Attributes:
        lengths: ``(N,)`` int64 frame counts, read from the ``.npy`` headers
            when the dataset is built (contents are not loaded).
        ids: Utterance ids (file names without ``.npy``) in item order.

    Example:
        >>> import tempfile, numpy as np
        >>> root = Path(tempfile.mkdtemp())
        >>> for sub in ("mfcc", "transcript"):
        ...     (root / "dev" / sub).mkdir(parents=True)
        >>> np.save(root / "dev/mfcc/a.npy", np.zeros((7, 13), np.float32))
        >>> np.save(root / "dev/transcript/a.npy", np.array(["<sos>", "HH", "AH", "<eos>"]))
        >>> ds = PhonemeDataset(root, "dev")
        >>> u = ds[0]
        >>> tuple(u.features.shape), u.targets.tolist(), u.id, ds.lengths.tolist()
        ((7, 13), [17, 4], 'a', [7])
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        partition: str,
        vocab: Vocabulary | None = None,
        cache: bool = True,
        normalize: bool = False,
        transform: FeatureTransform | None = None,
        feature_dim: int | None = 13,
    ) -> None:
        base = _partition_folder(root, partition)
        mfcc_dir, transcript_dir = base / "mfcc", base / "transcript"
        mfcc_names = _list_npy(mfcc_dir)
        transcript_names = _list_npy(transcript_dir)
        if not mfcc_names:
            raise DataError("no .npy files", path=mfcc_dir)
        if mfcc_names != transcript_names:
            only_mfcc = sorted(set(mfcc_names) - set(transcript_names))
            only_tr = sorted(set(transcript_names) - set(mfcc_names))
            detail = "; ".join(
                f"{len(names)} only in {where}/ (first: {names[0]})"
                for names, where in ((only_mfcc, "mfcc"), (only_tr, "transcript"))
                if names
            )
            raise DataError(
                f"mfcc/ has {len(mfcc_names)} files and transcript/ has "
                f"{len(transcript_names)}; their names must match: {detail}",
                path=base,
            )
        self._transcript_dir = transcript_dir
        self._vocab = hw3p2_vocabulary() if vocab is None else vocab
        super().__init__(
            mfcc_dir,
            mfcc_names,
            cache=cache,
            normalize=normalize,
            transform=transform,
            feature_dim=feature_dim,
        )

    @property
    def vocab(self) -> Vocabulary:
        """The vocabulary that maps transcript symbols to ids."""
        return self._vocab

    def _load_targets(self, index: int) -> torch.Tensor:
        path = self._transcript_dir / self._names[index]
        arr = _load_npy(path, mmap=False)
        if arr.dtype.kind not in "US":
            raise DataError(f"expected an array of strings, got dtype {arr.dtype}", path=path)
        if arr.ndim != 1:
            raise DataError(f"expected a 1-D array of symbols, got shape {arr.shape}", path)
        try:
            symbols = [s.decode() if isinstance(s, bytes) else str(s) for s in arr.tolist()]
        except UnicodeDecodeError as err:
            position = next(i for i, s in enumerate(arr.tolist()) if not _is_utf8(s))
            raise DataError(
                f"symbol {position} is not UTF-8 text ({err.reason} at byte {err.start} of "
                f"{arr.tolist()[position]!r}); transcripts hold UTF-8 symbols",
                path=path,
            ) from err
        start = 1 if symbols and symbols[0] == SENTENCE_MARKERS[0] else 0
        stop = (
            len(symbols) - 1
            if len(symbols) > start and symbols[-1] == SENTENCE_MARKERS[1]
            else len(symbols)
        )
        ids = []
        vocab = self._vocab
        for position in range(start, stop):
            symbol = symbols[position]
            try:
                i = vocab.index(symbol)
            except InputValueError:
                i = None
            if i is None or i == vocab.blank:
                raise DataError(
                    f"unknown symbol {symbol!r} at position {position} "
                    f"(vocabulary of {len(vocab)} labels)",
                    path=path,
                )
            ids.append(i)
        if not ids:
            raise DataError(f"empty utterance: no symbols besides markers in {symbols}", path)
        return torch.tensor(ids, dtype=torch.int64)


class UnlabeledDataset(_FeatureFolder):
    """Utterances without labels, e.g. ``ROOT/test/mfcc`` in ``test_order.csv`` order.

    ``order`` names a CSV file in the partition folder with a header ``file``
    and one ``.npy`` file name a row; the items follow its rows (submission
    ids are the row numbers from 0). Files in ``mfcc/`` that the CSV does not
    list are not read. With ``order=None`` every file in ``mfcc/`` is read in
    sorted name order.

    Args:
        root: The corpus root folder.
        partition: Sub-folder name.
        order: CSV file name inside the partition folder, or ``None``.
        cache: Keep loaded items in memory.
        normalize: Apply :func:`ctckit.features.cepstral_normalize`.
        transform: Called on each ``(T, F)`` feature tensor at every access.
        feature_dim: Required features per frame, or ``None`` for any.

    Raises:
        DataError: Naming the file: missing folder or CSV, a CSV without the
            ``file`` header, a listed file that is missing or listed twice,
            and the feature problems of :class:`PhonemeDataset`.
        InputTypeError: As for :class:`PhonemeDataset`.
        InputValueError: As for :class:`PhonemeDataset`.

    Attributes:
        lengths: ``(N,)`` int64 frame counts, read from the ``.npy`` headers
            when the dataset is built (contents are not loaded).
        ids: Utterance ids (file names without ``.npy``) in item order.

    Example:
        >>> import tempfile, numpy as np
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "test" / "mfcc").mkdir(parents=True)
        >>> for name, frames in (("x.npy", 4), ("y.npy", 9)):
        ...     np.save(root / "test/mfcc" / name, np.zeros((frames, 13), np.float32))
        >>> _ = (root / "test/test_order.csv").write_text("file\\ny.npy\\nx.npy\\n")
        >>> ds = UnlabeledDataset(root)
        >>> ds.ids, ds.lengths.tolist(), ds[0].targets
        (['y', 'x'], [9, 4], None)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        partition: str = "test",
        order: str | None = "test_order.csv",
        cache: bool = True,
        normalize: bool = False,
        transform: FeatureTransform | None = None,
        feature_dim: int | None = 13,
    ) -> None:
        base = _partition_folder(root, partition)
        mfcc_dir = base / "mfcc"
        available = _list_npy(mfcc_dir)
        names = available if order is None else _read_order(base / order, set(available))
        super().__init__(
            mfcc_dir,
            names,
            cache=cache,
            normalize=normalize,
            transform=transform,
            feature_dim=feature_dim,
        )


def _read_order(path: Path, available: set[str]) -> list[str]:
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row]
    except FileNotFoundError:
        raise DataError("order file not found", path=path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"unreadable CSV: {err}", path=path) from err
    if not rows or [c.strip() for c in rows[0]] != ["file"]:
        raise DataError(f"expected a header row 'file', got {rows[0] if rows else 'nothing'}", path)
    names: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 1:
            raise DataError(f"line {line}: expected one file name, got {row}", path=path)
        name = row[0].strip()
        if not name.endswith(".npy"):
            name += ".npy"
        if name not in available:
            raise DataError(f"line {line}: {name} is not in {path.parent / 'mfcc'}", path)
        if name in seen:
            raise DataError(f"line {line}: {name} already listed on line {seen[name]}", path)
        seen[name] = line
        names.append(name)
    if not names:
        raise DataError("the order file lists no utterances", path=path)
    return names
