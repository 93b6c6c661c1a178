# ruff: noqa: NPY002  (these tests exercise the legacy global NumPy generator on purpose)
"""Checkpoints: round trip, exact RNG restore, refusal of bad files."""

from __future__ import annotations

import io
import os
import random
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.errors import CTCKitError, DataError, InputTypeError, StorageError
from ctckit.training.checkpoint import (
    CHECKPOINT_FORMAT,
    capture_rng_state,
    load_checkpoint,
    load_trained_model,
    read_checkpoint,
    restore_rng_state,
    save_checkpoint,
    write_checkpoint,
)


def _trained_setup(seed: int = 0) -> tuple[torch.nn.Module, torch.optim.Optimizer, object]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", patience=0, factor=0.5)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 4)).pow(2).mean().backward()
        opt.step()
    sched.step(3.0)
    sched.step(4.0)  # worse: halves the learning rate
    return model, opt, sched


def test_round_trip_restores_every_state(tmp_path: Path) -> None:
    model, opt, sched = _trained_setup()
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    sampler_state = {"epoch": 3, "seed": 7, "batches_consumed": 5}
    path = save_checkpoint(
        tmp_path / "ck.pt",
        model=model,
        optimizer=opt,
        scheduler=sched,
        scaler=scaler,
        sampler_state=sampler_state,
        epoch=3,
        batches_consumed=5,
        best_score=4.25,
        config={"preset": "compact", "lr": 0.002, "layers": [1, 2]},
        extra={"loss_sum": 1.5},
    )
    model2, opt2, sched2 = _trained_setup(seed=1)
    scaler2 = torch.amp.GradScaler("cpu", init_scale=2.0)
    info = load_checkpoint(
        path,
        model=model2,
        optimizer=opt2,
        scheduler=sched2,
        scaler=scaler2,
        expect_config={"preset": "compact"},
    )
    for a, b in zip(model.state_dict().values(), model2.state_dict().values()):
        assert torch.equal(a, b)
    assert opt2.param_groups[0]["lr"] == pytest.approx(5e-3)
    st1, st2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(st1[k]["exp_avg"], st2[k]["exp_avg"]) for k in st1)
    assert sched2.state_dict()["best"] == sched.state_dict()["best"]
    assert scaler2.get_scale() == scaler.get_scale()
    assert (info.epoch, info.batches_consumed, info.best_score) == (3, 5, 4.25)
    assert info.sampler_state == sampler_state
    assert info.config == {"preset": "compact", "lr": 0.002, "layers": [1, 2]}
    assert info.extra == {"loss_sum": 1.5}


def test_rng_states_survive_the_file(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.random(), np.random.rand(), np.random.randn(), torch.rand(1)  # advance, cache a gauss
    path = save_checkpoint(tmp_path / "r.pt", model=torch.nn.Linear(1, 1), epoch=0, config={})
    expected = (
        random.random(),
        random.gauss(0, 1),
        np.random.rand(3),
        np.random.randn(),
        torch.rand(4),
    )
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    load_checkpoint(path, restore_rng=True)
    got = (random.random(), random.gauss(0, 1), np.random.rand(3), np.random.randn(), torch.rand(4))
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    np.testing.assert_array_equal(got[2], expected[2])
    assert got[3] == expected[3]
    assert torch.equal(got[4], expected[4])


def test_per_rank_rng_states_pick_this_rank(tmp_path: Path) -> None:
    torch.manual_seed(10)
    s0 = capture_rng_state()
    torch.manual_seed(11)
    s1 = capture_rng_state()
    want = torch.rand(2)
    path = save_checkpoint(
        tmp_path / "r.pt", model=torch.nn.Linear(1, 1), epoch=0, config={}, rng_states=[s0, s1]
    )
    torch.manual_seed(0)
    load_checkpoint(path, restore_rng=True, rank=1)
    assert torch.equal(torch.rand(2), want)
    restore_rng_state(s0)


def test_other_preset_is_refused_with_both_names(tmp_path: Path) -> None:
    path = save_checkpoint(
        tmp_path / "c.pt", model=torch.nn.Linear(2, 2), epoch=1, config={"preset": "compact"}
    )
    with pytest.raises(DataError, match=r"preset='compact' but this run has preset='base01'") as ei:
        load_checkpoint(path, model=torch.nn.Linear(2, 2), expect_config={"preset": "base01"})
    assert ei.value.path == os.fspath(path)


def test_weights_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", model=torch.nn.Linear(2, 2), epoch=1, config={})
    with pytest.raises(DataError, match="do not fit the model"):
        load_checkpoint(path, model=torch.nn.Linear(3, 2))


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty"])
def test_corrupt_files_raise_data_error(tmp_path: Path, kind: str) -> None:
    good = save_checkpoint(tmp_path / "g.pt", model=torch.nn.Linear(8, 8), epoch=1, config={})
    bad = tmp_path / "bad.pt"
    data = good.read_bytes()
    bad.write_bytes(
        {"garbage": os.urandom(300), "truncated": data[: len(data) // 2], "empty": b""}[kind]
    )
    with pytest.raises(DataError, match=r"corrupt|not a ctckit") as ei:
        load_checkpoint(bad, model=torch.nn.Linear(8, 8))
    assert str(bad) in str(ei.value)


def test_missing_file_and_foreign_payload(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"model": {}}, tmp_path / "plain.pt")
    with pytest.raises(DataError, match=CHECKPOINT_FORMAT):
        load_checkpoint(tmp_path / "plain.pt")


class _Evil:
    """Unpickling this runs a shell command (the classic pickle attack)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save(
        {"format": CHECKPOINT_FORMAT, "model": {}, "epoch": 0, "config": {}, "x": _Evil(marker)},
        path,
    )
    with pytest.raises(DataError, match="refused to load checkpoint") as ei:
        load_checkpoint(path, model=torch.nn.Linear(1, 1))
    assert "system" in str(ei.value)
    assert not marker.exists()
    # The payload is real: an unsafe load would have run it.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_failed_save_keeps_the_old_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", model=torch.nn.Linear(2, 2), epoch=1, config={})
    before = path.read_bytes()
    with pytest.raises(InputTypeError, match=r"extra\['f'\] is a builtins\.function"):
        save_checkpoint(
            path, model=torch.nn.Linear(2, 2), epoch=2, config={}, extra={"f": lambda: 0}
        )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_a_config_its_loader_would_refuse_is_refused_at_save_time(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 2)
    with pytest.raises(InputTypeError, match=r"config\['data'\] is a pathlib\.\w*Path"):
        save_checkpoint(tmp_path / "c.pt", model=model, epoch=1, config={"data": Path("/d")})
    betas = r"config\['opt'\]\['betas'\]\[1\] is a numpy\.float64"
    with pytest.raises(InputTypeError, match=betas):
        save_checkpoint(
            tmp_path / "c.pt",
            model=model,
            epoch=1,
            config={"opt": {"betas": [0.9, np.float64(0.98)]}},
        )
    with pytest.raises(InputTypeError, match=r"config\['w'\] is a torch\.Tensor"):
        save_checkpoint(tmp_path / "c.pt", model=model, epoch=1, config={"w": torch.ones(1)})
    assert not (tmp_path / "c.pt").exists()
    assert list(tmp_path.iterdir()) == []


class _Opaque:
    pass


_LOADABLE = [1, 2.5, "s", None, True, b"b", 1 + 2j, torch.ones(2), torch.Size([3]), torch.float16]
_REFUSED = [Path("p"), np.float64(1.0), np.int64(2), _Opaque(), slice(2), frozenset({1})]
_leaves = st.sampled_from(_LOADABLE + _REFUSED)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.sampled_from(["a", "b", 3]), inner, max_size=3)
        | st.builds(OrderedDict, st.dictionaries(st.just("k"), inner, max_size=1))
    ),
    max_leaves=6,
)


def _loads_weights_only(value: object) -> bool:
    """The oracle: what torch itself saves and reads back with weights_only=True."""
    buf = io.BytesIO()
    try:
        torch.save({"v": value}, buf)
        buf.seek(0)
        torch.load(buf, weights_only=True)
    except Exception:
        return False
    return True


@given(_values)
def test_save_accepts_exactly_what_weights_only_loading_reads_back(value: object) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        try:
            write_checkpoint(Path(d) / "c.pt", {"model": {}, "epoch": 0, "extra": {"v": value}}, {})
        except InputTypeError:
            accepted = False
        else:
            accepted = True
            assert read_checkpoint(Path(d) / "c.pt")["extra"].keys() == {"v"}
    assert accepted == _loads_weights_only(value)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"model": {}, "config": {}}, r"incomplete checkpoint: no 'epoch'"),
        ({"model": {}, "epoch": 1}, r"no 'config'"),
        ({"epoch": 1, "config": {}}, r"no 'model'"),
        ({"model": {}, "epoch": "3", "config": {}}, r"'epoch' is a str"),
        ({"model": {}, "epoch": 1, "config": [1]}, r"'config' is a list"),
        ({"model": {}, "epoch": 1, "config": {}, "rng": 5}, r"'rng' is a int"),
        ({"model": {}, "epoch": -1, "config": {}}, r"negative epoch"),
    ],
)
def test_a_tagged_checkpoint_with_missing_or_wrong_keys_is_a_data_error(
    tmp_path: Path, payload: dict[str, object], message: str
) -> None:
    path = tmp_path / "c.pt"
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, path)
    with pytest.raises(DataError, match=message) as info:
        load_checkpoint(path, model=torch.nn.Linear(1, 1))
    assert str(path) in str(info.value)


def test_a_full_disk_is_a_storage_error_and_the_previous_file_survives(small_disk: Path) -> None:
    small = torch.nn.Linear(4, 4)
    path = save_checkpoint(small_disk / "last.pt", model=small, epoch=1, config={"a": 1})
    before = path.read_bytes()
    big = torch.nn.Linear(600, 600)  # 1.4 MB of weights: more than the 1 MiB device holds
    with pytest.raises(StorageError, match="no space left on device while writing") as info:
        save_checkpoint(path, model=big, epoch=2, config={"a": 1})
    assert str(path) in str(info.value)
    assert isinstance(info.value, CTCKitError)
    assert isinstance(info.value, OSError)
    assert info.value.errno == 28
    assert path.read_bytes() == before
    assert load_checkpoint(path, model=small).epoch == 1
    assert [p.name for p in small_disk.iterdir()] == ["last.pt"]  # no temporary file left


def test_model_must_be_a_module(tmp_path: Path) -> None:
    with pytest.raises(InputTypeError, match=r"torch\.nn\.Module"):
        save_checkpoint(tmp_path / "c.pt", model="nope", epoch=0, config={})  # type: ignore[arg-type]


def test_ddp_style_wrapper_is_unwrapped(tmp_path: Path) -> None:
    class Wrapper(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module

    inner = torch.nn.Linear(2, 2)
    path = save_checkpoint(tmp_path / "c.pt", model=Wrapper(inner), epoch=1, config={})
    plain = torch.nn.Linear(2, 2)
    load_checkpoint(path, model=plain)
    assert torch.equal(plain.weight, inner.weight)


def test_cpu_checkpoint_resumes_with_an_enabled_scaler(tmp_path: Path) -> None:
    # a disabled scaler (CPU run) saves an empty state; resuming on CUDA must not fail
    disabled = torch.amp.GradScaler("cpu", enabled=False)
    path = save_checkpoint(
        tmp_path / "c.pt", model=torch.nn.Linear(2, 2), epoch=1, config={}, scaler=disabled
    )
    enabled = torch.amp.GradScaler("cpu", enabled=True, init_scale=8.0)
    load_checkpoint(path, scaler=enabled)
    assert enabled.get_scale() == 8.0


def test_trained_model_is_rebuilt_from_its_preset_with_its_weights(tmp_path: Path) -> None:
    from ctckit.nn.presets import build_preset

    torch.manual_seed(0)
    saved = build_preset("compact", num_classes=7, in_features=13).eval()
    config = {"preset": "compact", "num_classes": 7, "in_features": 13}
    path = save_checkpoint(tmp_path / "best.pt", model=saved, epoch=3, config=config)
    model, ckpt = load_trained_model(path)
    assert not model.training
    assert ckpt.epoch == 3
    x, lengths = torch.randn(2, 40, 13), torch.tensor([40, 25])
    with torch.no_grad():
        want, want_lengths = saved(x, lengths)
        got, got_lengths = model(x, lengths)
    assert torch.equal(got, want)
    assert torch.equal(got_lengths, want_lengths)


def test_trained_model_takes_its_classes_from_labels_or_the_caller(tmp_path: Path) -> None:
    from ctckit.nn.presets import build_preset

    weights = build_preset("base01", num_classes=4).eval()
    labels = {"preset": "base01", "labels": ["-", "a", "b", "c"]}
    by_labels = save_checkpoint(tmp_path / "a.pt", model=weights, epoch=1, config=labels)
    assert load_trained_model(by_labels)[0].num_classes == 4
    bare = save_checkpoint(tmp_path / "b.pt", model=weights, epoch=1, config={"preset": "base01"})
    with pytest.raises(DataError, match="no 'num_classes' or 'labels'"):
        load_trained_model(bare)
    assert load_trained_model(bare, num_classes=4)[0].num_classes == 4
    with pytest.raises(DataError, match="do not fit"):
        load_trained_model(bare, num_classes=5)


def test_trained_model_needs_a_known_preset(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 3)
    path = save_checkpoint(tmp_path / "a.pt", model=model, epoch=1, config={"preset": "mine"})
    with pytest.raises(DataError, match="preset 'mine', expected one of ctckit's presets"):
        load_trained_model(path)
