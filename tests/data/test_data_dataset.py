"""PhonemeDataset and UnlabeledDataset on small HW3P2-layout corpora written to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ctckit import Vocabulary, hw3p2_vocabulary
from ctckit.data import PhonemeDataset, UnlabeledDataset, Utterance
from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.features import cepstral_normalize

VOCAB = hw3p2_vocabulary()
PHONES = VOCAB.labels[1:]


def write_partition(
    root: Path, partition: str, utterances: dict[str, tuple[np.ndarray, list[str] | None]]
) -> None:
    """Write ``{name: (features, symbols)}`` as real .npy files in the HW3P2 layout."""
    for name, (feats, symbols) in utterances.items():
        mfcc = root / partition / "mfcc"
        mfcc.mkdir(parents=True, exist_ok=True)
        np.save(mfcc / f"{name}.npy", feats)
        if symbols is not None:
            tr = root / partition / "transcript"
            tr.mkdir(parents=True, exist_ok=True)
            np.save(tr / f"{name}.npy", np.array(symbols))


def random_corpus(root: Path, partition: str, n: int, seed: int = 0) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    utts = {}
    for i in rng.permutation(n):
        frames = int(rng.integers(5, 40))
        feats = rng.normal(size=(frames, 13)).astype(np.float32)
        symbols = list(rng.choice(PHONES, size=int(rng.integers(1, 8))))
        utts[f"{i:04d}"] = (feats, ["<sos>", *symbols, "<eos>"])
    write_partition(root, partition, utts)
    return utts


def test_reads_pairs_in_sorted_order_strips_markers_and_maps_symbols(tmp_path: Path) -> None:
    utts = random_corpus(tmp_path, "train", 12)
    ds = PhonemeDataset(tmp_path, "train")
    names = sorted(utts)
    assert len(ds) == 12
    assert ds.ids == names
    assert ds.lengths.dtype == torch.int64
    assert ds.lengths.tolist() == [utts[n][0].shape[0] for n in names]
    for i, name in enumerate(names):
        item = ds[i]
        assert isinstance(item, Utterance)
        assert item.id == name
        assert item.features.dtype == torch.float32
        np.testing.assert_array_equal(item.features.numpy(), utts[name][0])
        assert item.targets is not None
        assert item.targets.dtype == torch.int64
        assert item.targets.tolist() == [VOCAB.index(s) for s in utts[name][1][1:-1]]
    assert ds[-1].id == names[-1]
    with pytest.raises(IndexError):
        ds[12]


def test_markers_are_optional_and_only_stripped_at_the_ends(tmp_path: Path) -> None:
    feats = np.zeros((4, 13), np.float32)
    write_partition(
        tmp_path, "dev", {"a": (feats, ["SIL", "AA", "SIL"]), "b": (feats, ["<sos>", "B"])}
    )
    ds = PhonemeDataset(tmp_path, "dev")
    assert ds[0].targets.tolist() == [1, 2, 1]
    assert ds[1].targets.tolist() == [VOCAB.index("B")]


def test_lengths_come_from_headers_without_reading_contents(tmp_path: Path) -> None:
    # A NaN inside a file is only found when the item is read, but lengths work at once.
    feats = np.zeros((6, 13), np.float32)
    bad = feats.copy()
    bad[3, 2] = np.nan
    write_partition(tmp_path, "dev", {"a": (feats, ["AA"]), "b": (bad, ["AA"])})
    ds = PhonemeDataset(tmp_path, "dev")
    assert ds.lengths.tolist() == [6, 6]
    with pytest.raises(DataError, match=r"b\.npy.*frame 3, dim 2"):
        ds[1]


def test_cache_keeps_items_and_transform_runs_every_time(tmp_path: Path) -> None:
    random_corpus(tmp_path, "dev", 3)
    calls = []

    def transform(x: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return x * 2

    ds = PhonemeDataset(tmp_path, "dev", transform=transform)
    first = ds[0]
    # Delete the files: the cached item must still be served.
    for p in (tmp_path / "dev").rglob(f"{first.id}.npy"):
        p.unlink()
    second = ds[0]
    torch.testing.assert_close(first.features, second.features)
    assert len(calls) == 2
    torch.testing.assert_close(second.features, ds._cache[0].features * 2)


def test_without_cache_files_are_reread(tmp_path: Path) -> None:
    random_corpus(tmp_path, "dev", 2)
    ds = PhonemeDataset(tmp_path, "dev", cache=False)
    ds[0]
    (tmp_path / "dev" / "mfcc" / f"{ds.ids[0]}.npy").unlink()
    with pytest.raises(DataError, match="file not found"):
        ds[0]


def test_normalize_applies_cepstral_normalization(tmp_path: Path) -> None:
    utts = random_corpus(tmp_path, "dev", 2)
    ds = PhonemeDataset(tmp_path, "dev", normalize=True)
    x = ds[0].features
    torch.testing.assert_close(x, cepstral_normalize(torch.from_numpy(utts[ds.ids[0]][0])))
    torch.testing.assert_close(x.mean(0), torch.zeros(13), atol=1e-5, rtol=0)


def test_custom_vocabulary_and_feature_dim(tmp_path: Path) -> None:
    write_partition(tmp_path, "p", {"u": (np.ones((3, 2), np.float64), ["x", "y", "x"])})
    ds = PhonemeDataset(tmp_path, "p", vocab=Vocabulary(["-", "x", "y"]), feature_dim=2)
    item = ds[0]
    assert item.targets.tolist() == [1, 2, 1]
    assert item.features.dtype == torch.float32  # float64 on disk is converted
    assert PhonemeDataset(tmp_path, "p", vocab=Vocabulary(["-", "x", "y"]), feature_dim=None)


# -- bad data: every error names the file -------------------------------------


def test_missing_partition_or_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"train[/\\]mfcc: folder not found"):
        PhonemeDataset(tmp_path, "train")
    (tmp_path / "train" / "mfcc").mkdir(parents=True)
    with pytest.raises(DataError, match=r"train[/\\]transcript: folder not found"):
        PhonemeDataset(tmp_path, "train")
    (tmp_path / "train" / "transcript").mkdir()
    with pytest.raises(DataError, match=r"no \.npy files"):
        PhonemeDataset(tmp_path, "train")


def test_mismatched_names_and_counts(tmp_path: Path) -> None:
    feats = np.zeros((3, 13), np.float32)
    write_partition(tmp_path, "t", {"a": (feats, ["AA"]), "b": (feats, ["AA"])})
    np.save(tmp_path / "t" / "mfcc" / "c.npy", feats)
    with pytest.raises(DataError, match=r"3 files .* 2.*1 only in mfcc/ \(first: c\.npy\)"):
        PhonemeDataset(tmp_path, "t")
    (tmp_path / "t" / "mfcc" / "c.npy").rename(tmp_path / "t" / "mfcc" / "d.npy")
    np.save(tmp_path / "t" / "transcript" / "c.npy", np.array(["AA"]))
    with pytest.raises(DataError, match=r"only in mfcc/ \(first: d\.npy\).*only in transcript/"):
        PhonemeDataset(tmp_path, "t")


def test_wrong_feature_dimension_and_rank(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.zeros((3, 12), np.float32), ["AA"])})
    with pytest.raises(DataError, match=r"a\.npy: expected 13 features per frame, got shape"):
        PhonemeDataset(tmp_path, "t")
    write_partition(tmp_path, "u", {"a": (np.zeros(3, np.float32), ["AA"])})
    with pytest.raises(DataError, match=r"a\.npy: expected a 2-D"):
        PhonemeDataset(tmp_path, "u")


def test_truncated_npy(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.zeros((50, 13), np.float32), ["AA"])})
    path = tmp_path / "t" / "mfcc" / "a.npy"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"a\.npy: not a readable \.npy"):
        PhonemeDataset(tmp_path, "t")


def test_not_an_npy_file(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.zeros((5, 13), np.float32), ["AA"])})
    (tmp_path / "t" / "mfcc" / "a.npy").write_text("hello, not numpy")
    with pytest.raises(DataError, match=r"a\.npy: not a readable \.npy"):
        PhonemeDataset(tmp_path, "t")


def test_non_numeric_features(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.array([["x"] * 13] * 3), ["AA"])})
    with pytest.raises(DataError, match=r"a\.npy: expected a real numeric array, got dtype <U1"):
        PhonemeDataset(tmp_path, "t")
    # object arrays would need pickle, which is never allowed
    mfcc = tmp_path / "t" / "mfcc" / "a.npy"
    np.save(mfcc, np.array([[object()] * 13] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"a\.npy: expected a real numeric array, got dtype object"):
        PhonemeDataset(tmp_path, "t")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features(tmp_path: Path, bad: float) -> None:
    feats = np.zeros((5, 13), np.float32)
    feats[4, 0] = bad
    write_partition(tmp_path, "t", {"a": (feats, ["AA"])})
    ds = PhonemeDataset(tmp_path, "t")
    with pytest.raises(DataError, match=r"a\.npy: non-finite feature .* at frame 4, dim 0"):
        ds[0]


def test_unknown_phoneme_names_symbol_position_and_file(tmp_path: Path) -> None:
    feats = np.zeros((5, 13), np.float32)
    write_partition(tmp_path, "t", {"a": (feats, ["<sos>", "AA", "QQ", "<eos>"])})
    with pytest.raises(DataError, match=r"a\.npy: unknown symbol 'QQ' at position 2"):
        PhonemeDataset(tmp_path, "t")[0]


@pytest.mark.parametrize("symbol", ["", "<eos>"])
def test_blank_or_inner_marker_is_rejected(tmp_path: Path, symbol: str) -> None:
    feats = np.zeros((5, 13), np.float32)
    write_partition(tmp_path, "t", {"a": (feats, ["<sos>", symbol, "AA", "<eos>"])})
    with pytest.raises(DataError, match=r"a\.npy: unknown symbol .* at position 1"):
        PhonemeDataset(tmp_path, "t")[0]


def test_empty_utterances(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.zeros((5, 13), np.float32), ["<sos>", "<eos>"])})
    with pytest.raises(DataError, match=r"transcript[/\\]a\.npy: empty utterance"):
        PhonemeDataset(tmp_path, "t")[0]
    write_partition(tmp_path, "u", {"a": (np.zeros((0, 13), np.float32), ["AA"])})
    with pytest.raises(DataError, match=r"mfcc[/\\]a\.npy: empty utterance: 0 frames"):
        PhonemeDataset(tmp_path, "u")


def test_transcript_of_numbers_is_rejected(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.zeros((5, 13), np.float32), None)})
    (tmp_path / "t" / "transcript").mkdir()
    np.save(tmp_path / "t" / "transcript" / "a.npy", np.arange(3))
    with pytest.raises(DataError, match=r"a\.npy: expected an array of strings"):
        PhonemeDataset(tmp_path, "t")[0]


def test_bytes_transcripts_are_decoded(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.zeros((5, 13), np.float32), None)})
    (tmp_path / "t" / "transcript").mkdir()
    np.save(tmp_path / "t" / "transcript" / "a.npy", np.array([b"<sos>", b"AA", b"<eos>"]))
    assert PhonemeDataset(tmp_path, "t")[0].targets.tolist() == [2]


def test_bytes_that_are_not_utf8_are_a_data_error(tmp_path: Path) -> None:
    write_partition(tmp_path, "t", {"a": (np.zeros((5, 13), np.float32), None)})
    (tmp_path / "t" / "transcript").mkdir()
    np.save(tmp_path / "t" / "transcript" / "a.npy", np.array([b"<sos>", b"AA", b"\xe9\xff"]))
    with pytest.raises(DataError, match=r"a\.npy: symbol 2 is not UTF-8 text"):
        PhonemeDataset(tmp_path, "t")[0]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"feature_dim": "13"}, InputTypeError, "feature_dim must be an int, got str '13'"),
        ({"feature_dim": 13.0}, InputTypeError, "feature_dim must be an int"),
        ({"feature_dim": 0}, InputValueError, "feature_dim must be >= 1, got 0"),
        ({"partition": 3}, InputTypeError, "partition must be a folder name"),
    ],
)
def test_bad_arguments_are_ctckit_errors(
    tmp_path: Path, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    random_corpus(tmp_path, "dev", 2)
    args = {"partition": "dev", **kwargs}
    with pytest.raises(error, match=message):
        PhonemeDataset(tmp_path, **args)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        UnlabeledDataset(tmp_path, order=None, **args)  # type: ignore[arg-type]


# -- UnlabeledDataset ---------------------------------------------------------


def write_test(root: Path, frames: dict[str, int], order: list[str]) -> None:
    mfcc = root / "test" / "mfcc"
    mfcc.mkdir(parents=True)
    for name, t in frames.items():
        np.save(mfcc / name, np.full((t, 13), t, np.float32))
    (root / "test" / "test_order.csv").write_text("file\n" + "".join(f"{n}\n" for n in order))


def test_unlabeled_follows_test_order_csv(tmp_path: Path) -> None:
    write_test(tmp_path, {"a.npy": 3, "b.npy": 5, "c.npy": 4}, ["c.npy", "a.npy", "b.npy"])
    ds = UnlabeledDataset(tmp_path)
    assert ds.ids == ["c", "a", "b"]
    assert ds.lengths.tolist() == [4, 3, 5]
    items = [ds[i] for i in range(len(ds))]
    assert [it.targets for it in items] == [None, None, None]
    assert [float(it.features[0, 0]) for it in items] == [4.0, 3.0, 5.0]
    # sorted order without a CSV
    assert UnlabeledDataset(tmp_path, order=None).ids == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("name\na.npy\n", "expected a header row 'file'"),
        ("", "expected a header row 'file', got nothing"),
        ("file\nz.npy\n", r"line 2: z\.npy is not in"),
        ("file\na.npy\na.npy\n", r"line 3: a\.npy already listed on line 2"),
        ("file\na.npy,b.npy\n", "line 2: expected one file name"),
        ("file\n", "the order file lists no utterances"),
    ],
)
def test_unlabeled_bad_order_file(tmp_path: Path, csv: str, message: str) -> None:
    write_test(tmp_path, {"a.npy": 3, "b.npy": 5}, [])
    (tmp_path / "test" / "test_order.csv").write_text(csv)
    with pytest.raises(DataError, match=r"test_order\.csv: " + message):
        UnlabeledDataset(tmp_path)


def test_unlabeled_missing_order_file_and_names_without_extension(tmp_path: Path) -> None:
    write_test(tmp_path, {"a.npy": 3, "b.npy": 5}, ["b", "a"])
    assert UnlabeledDataset(tmp_path).ids == ["b", "a"]
    (tmp_path / "test" / "test_order.csv").unlink()
    with pytest.raises(DataError, match="order file not found"):
        UnlabeledDataset(tmp_path)


def test_unlabeled_checks_features(tmp_path: Path) -> None:
    write_test(tmp_path, {"a.npy": 3}, ["a.npy"])
    np.save(tmp_path / "test" / "mfcc" / "a.npy", np.zeros((3, 40), np.float32))
    with pytest.raises(DataError, match=r"a\.npy: expected 13 features"):
        UnlabeledDataset(tmp_path)


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_npy_format_version_and_fortran_order(tmp_path: Path, version: tuple) -> None:
    feats = np.asfortranarray(np.arange(6 * 13, dtype=np.float32).reshape(6, 13))
    write_partition(tmp_path, "t", {"a": (feats, ["AA"])})
    with open(tmp_path / "t" / "mfcc" / "a.npy", "wb") as f:
        np.lib.format.write_array(f, feats, version=version)
    ds = PhonemeDataset(tmp_path, "t")
    assert ds.lengths.tolist() == [6]
    np.testing.assert_array_equal(ds[0].features.numpy(), feats)
