"""Weight averaging against hand-computed averages; BatchNorm buffers, resume, real DDP."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.training import save_checkpoint
from ctckit.training.averaging import (
    ExponentialMovingAverage,
    average_checkpoints,
    average_state_dicts,
)


def test_ema_by_hand() -> None:
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, 2.0)
    ema = ExponentialMovingAverage(model, decay=0.75, warmup=False)
    for value in (6.0, 10.0, -2.0):
        model.weight.data.fill_(value)
        ema.update(model)
    # 2 -> 0.75*2 + 0.25*6 = 3 -> 0.75*3 + 0.25*10 = 4.75 -> 0.75*4.75 + 0.25*(-2) = 3.0625
    assert ema.module.weight.item() == 3.0625
    assert ema.updates == 3


@given(
    values=st.lists(st.floats(-100, 100), min_size=1, max_size=12),
    decay=st.floats(0.0, 0.999),
    warmup=st.booleans(),
)
def test_ema_equals_the_weighted_sum(values: list[float], decay: float, warmup: bool) -> None:
    """avg_n = prod(d) * w_0 + sum_k (1 - d_k) * prod_{j > k} d_j * w_k, in float64."""
    model = nn.Linear(1, 1, bias=False).double()
    nn.init.constant_(model.weight, 1.5)
    ema = ExponentialMovingAverage(model, decay=decay, warmup=warmup)
    decays = [
        min(decay, (1 + n) / (10 + n)) if warmup else decay for n in range(1, len(values) + 1)
    ]
    for v in values:
        model.weight.data.fill_(v)
        ema.update(model)
    weights = [1.5, *values]
    coef = [1.0] * len(weights)
    for n, d in enumerate(decays, start=1):  # after update n: old terms times d, new term 1 - d
        coef = [c * d for c in coef[:n]] + [1.0 - d] + coef[n + 1 :]
    expected = sum(c * w for c, w in zip(coef, weights))
    assert ema.module.weight.item() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def _bn_model() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_batchnorm_buffers_are_averaged_and_the_counter_copied() -> None:
    torch.manual_seed(0)
    model = _bn_model()
    ema = ExponentialMovingAverage(model, decay=0.5, warmup=False)
    bn = model[1]
    start_mean = bn.running_mean.clone()
    model.train()
    model(torch.randn(8, 3) * 3 + 2)  # one BatchNorm update (no optimiser step needed)
    ema.update(model)
    avg_bn = ema.module[1]
    torch.testing.assert_close(avg_bn.running_mean, 0.5 * start_mean + 0.5 * bn.running_mean)
    torch.testing.assert_close(avg_bn.running_var, 0.5 * torch.ones(4) + 0.5 * bn.running_var)
    assert avg_bn.num_batches_tracked.item() == 1
    assert not ema.module.training
    assert not any(p.requires_grad for p in ema.module.parameters())


def _train(model: nn.Module, ema: ExponentialMovingAverage, steps: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        model(torch.randn(8, 3, generator=gen)).square().mean().backward()
        opt.step()
        ema.update(model)


def test_resume_is_exact() -> None:
    torch.manual_seed(0)
    model = _bn_model()
    straight = ExponentialMovingAverage(model, decay=0.9)
    _train(model, straight, 4, seed=1)
    after_four = {k: v.clone() for k, v in model.state_dict().items()}
    _train(model, straight, 4, seed=2)

    torch.manual_seed(0)
    model = _bn_model()
    first = ExponentialMovingAverage(model, decay=0.9)
    _train(model, first, 4, seed=1)
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    buf.seek(0)
    resumed_model = _bn_model()
    resumed_model.load_state_dict(after_four)
    resumed = ExponentialMovingAverage(resumed_model, decay=0.5, warmup=False)  # saved wins
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    assert (resumed.decay, resumed.warmup, resumed.updates) == (0.9, True, 4)
    _train(resumed_model, resumed, 4, seed=2)
    for (name, a), b in zip(
        straight.module.state_dict().items(), resumed.module.state_dict().values()
    ):
        assert torch.equal(a, b), name


def test_copy_to_and_wrapped_models() -> None:
    model = _bn_model()
    ema = ExponentialMovingAverage(nn.DataParallel(model), decay=0.5)  # unwrapped
    assert set(ema.module.state_dict()) == set(model.state_dict())
    other = _bn_model()
    ema.copy_to(nn.DataParallel(other))
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)


def test_ema_errors() -> None:
    with pytest.raises(InputTypeError, match=r"torch\.nn\.Module"):
        ExponentialMovingAverage("model")  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="decay"):
        ExponentialMovingAverage(nn.Linear(1, 1), decay=1.0)
    ema = ExponentialMovingAverage(nn.Linear(1, 1))
    with pytest.raises(InputValueError, match="keys differ"):
        ema.update(nn.Linear(1, 1, bias=False))
    with pytest.raises(InputValueError, match="lacks 'updates'"):
        ema.load_state_dict({"weights": {}, "decay": 0.9, "warmup": True})
    with pytest.raises(InputValueError, match="do not fit"):
        ema.load_state_dict({"weights": {}, "decay": 0.9, "warmup": True, "updates": 1})


def test_average_state_dicts_by_hand() -> None:
    a = {"w": torch.tensor([1.0, 2.0]), "h": torch.tensor([0.5], dtype=torch.float16),
         "n": torch.tensor(3)}  # fmt: skip
    b = {"w": torch.tensor([2.0, 0.0]), "h": torch.tensor([1.5], dtype=torch.float16),
         "n": torch.tensor(7)}  # fmt: skip
    c = {"w": torch.tensor([6.0, 1.0]), "h": torch.tensor([1.0], dtype=torch.float16),
         "n": torch.tensor(9)}  # fmt: skip
    out = average_state_dicts([a, b, c])
    assert out["w"].tolist() == [3.0, 1.0]
    assert out["h"].dtype == torch.float16
    assert out["h"].item() == 1.0
    assert out["n"].item() == 9  # integer entries: the last snapshot's
    assert a["w"].tolist() == [1.0, 2.0]  # inputs untouched
    with pytest.raises(InputValueError, match="at least one"):
        average_state_dicts([])
    with pytest.raises(InputValueError, match="other keys"):
        average_state_dicts([a, {"w": a["w"]}])
    with pytest.raises(InputValueError, match="different shapes"):
        average_state_dicts([a, {**a, "w": torch.zeros(3)}])


def test_average_checkpoints_from_files(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _bn_model()
    snapshots, paths = [], []
    for epoch in range(3):
        for p in model.parameters():
            p.data.add_(torch.randn_like(p))
        model.train()
        model(torch.randn(6, 3))
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        paths.append(
            save_checkpoint(tmp_path / f"e{epoch}.pt", model=model, epoch=epoch, config={})
        )
    target = _bn_model()
    average_checkpoints(paths, target)
    for name, value in target.state_dict().items():
        if value.is_floating_point():
            want = sum(s[name].double() for s in snapshots) / 3
            torch.testing.assert_close(value.double(), want, rtol=1e-6, atol=1e-7)
        else:
            assert torch.equal(value, snapshots[-1][name])
    with pytest.raises(DataError, match="not found"):
        average_checkpoints([tmp_path / "missing.pt"], target)
    with pytest.raises(InputValueError, match="at least one"):
        average_checkpoints([], target)


_DDP_SCRIPT = textwrap.dedent(
    """
    import sys, torch, torch.distributed as dist
    from torch import nn
    from ctckit.training.averaging import ExponentialMovingAverage
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    net = nn.parallel.DistributedDataParallel(model)
    ema = ExponentialMovingAverage(net, decay=0.8, warmup=False)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(rank)
    snapshots = [{k: v.clone() for k, v in model.state_dict().items()}]
    for _ in range(5):
        opt.zero_grad()
        net(torch.randn(8, 3, generator=gen) + rank).square().mean().backward()
        opt.step()
        ema.update(net)
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
    torch.save({"ema": ema.state_dict(), "snapshots": snapshots}, f"{sys.argv[1]}/rank{rank}.pt")
    dist.destroy_process_group()
    """
)


def test_ema_of_a_ddp_model_in_two_processes(tmp_path: Path) -> None:
    script = tmp_path / "ddp_ema.py"
    script.write_text(_DDP_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(script), str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for got in saved:
        weights = got["ema"]["weights"]
        assert not any(k.startswith("module.") for k in weights)  # the wrapper was unwrapped
        # hand-computed EMA of this rank's own snapshots (decay 0.8, no warm-up)
        for name, value in weights.items():
            if not value.is_floating_point():
                assert torch.equal(value, got["snapshots"][-1][name])
                continue
            want = got["snapshots"][0][name].double()
            for snap in got["snapshots"][1:]:
                want = 0.8 * want + 0.2 * snap[name].double()
            torch.testing.assert_close(value.double(), want, rtol=1e-5, atol=1e-6)
    # DDP keeps the parameters in sync, so both ranks hold the same averaged weights
    params = [n for n, _ in nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(),
                                         nn.Linear(4, 2)).named_parameters()]  # fmt: skip
    for name in params:
        assert torch.equal(saved[0]["ema"]["weights"][name], saved[1]["ema"]["weights"][name])
