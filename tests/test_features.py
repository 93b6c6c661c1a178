"""ctckit.features against python_speech_features (and scipy's DCT) as oracles.

Tolerances: with python_speech_features' own filterbank matrix passed in, the
whole MFCC pipeline agrees to 1e-9 in float64 and 1e-3 absolute in float32
(values up to ~50). The default filterbank cannot agree exactly:
python_speech_features rounds every filter edge down to an FFT bin, ctckit
samples the exact triangles at the bin frequencies (as torchaudio and librosa
do). The two filterbanks converge as the FFT grows, which is what
``test_filterbank_converges_to_python_speech_features`` checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

psf = pytest.importorskip("python_speech_features")
scipy_fft = pytest.importorskip("scipy.fft")
from python_speech_features.base import get_filterbanks  # noqa: E402

from ctckit.errors import InputTypeError, InputValueError, ShapeError  # noqa: E402
from ctckit.features import (  # noqa: E402
    cepstral_normalize,
    dct_matrix,
    mel_filterbank,
    mfcc,
    num_frames,
)

SR = 16000
PSF_FILTERBANK = torch.from_numpy(get_filterbanks(40, 512, SR))


def speechlike(n: int, seed: int = 0, sr: int = SR) -> np.ndarray:
    """Harmonics with a moving pitch plus noise: energy in every mel band."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 30))
    return x + 0.05 * rng.normal(size=n)


def psf_mfcc(x: np.ndarray, sr: int = SR, nfilt: int = 40, nfft: int = 512, **kw) -> np.ndarray:
    return psf.mfcc(
        x,
        sr,
        winlen=0.025,
        winstep=0.01,
        numcep=kw.pop("numcep", 13),
        nfilt=nfilt,
        nfft=nfft,
        lowfreq=kw.pop("lowfreq", 0),
        highfreq=kw.pop("highfreq", None),
        preemph=kw.pop("preemph", 0.97),
        ceplifter=kw.pop("ceplifter", 0),
        appendEnergy=False,
        winfunc=np.hanning,
    )


@pytest.mark.parametrize(
    ("sr", "kw"),
    [
        (SR, {}),
        (SR, {"ceplifter": 22, "numcep": 20}),
        (SR, {"preemph": 0.0, "lowfreq": 100, "highfreq": 7000}),
        (8000, {"nfilt": 26}),
    ],
)
def test_mfcc_matches_python_speech_features_with_its_filterbank(sr: int, kw: dict) -> None:
    n = 400 * sr // SR + (160 * sr // SR) * 120
    x = speechlike(n, sr=sr)
    kw = dict(kw)
    nfilt = kw.pop("nfilt", 40)
    fb = torch.from_numpy(get_filterbanks(nfilt, 512, sr, kw.get("lowfreq", 0), kw.get("highfreq")))
    ref = psf_mfcc(x, sr, nfilt=nfilt, **dict(kw))
    n_mfcc = kw.get("numcep", 13)
    ours = mfcc(
        torch.from_numpy(x),
        sr,
        n_mfcc=n_mfcc,
        n_mels=nfilt,
        preemphasis=kw.get("preemph", 0.97),
        lifter=kw.get("ceplifter", 0),
        n_fft=512,
        filterbank=fb,
    )
    assert ours.dtype == torch.float64
    assert ours.shape == ref.shape == (121, n_mfcc)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-9)
    ours32 = mfcc(
        torch.from_numpy(x).float(),
        sr,
        n_mfcc=n_mfcc,
        n_mels=nfilt,
        preemphasis=kw.get("preemph", 0.97),
        lifter=kw.get("ceplifter", 0),
        n_fft=512,
        filterbank=fb,
    )
    assert ours32.dtype == torch.float32
    np.testing.assert_allclose(ours32.numpy(), ref, rtol=0, atol=1e-3)


@settings(max_examples=25)  # each example runs the numpy oracle; keep CI short
@given(st.integers(400, 4000))
def test_frames_agree_with_python_speech_features_for_any_length(n: int) -> None:
    # python_speech_features zero-pads a last partial frame; ctckit drops it.
    x = speechlike(n, seed=n)
    ours = mfcc(torch.from_numpy(x), SR, filterbank=PSF_FILTERBANK)
    ref = psf_mfcc(x)
    assert ours.shape[0] == num_frames(n, SR) == 1 + (n - 400) // 160
    assert ref.shape[0] - ours.shape[0] in (0, 1)
    np.testing.assert_allclose(ours.numpy(), ref[: ours.shape[0]], rtol=0, atol=1e-9)


def test_filterbank_converges_to_python_speech_features() -> None:
    ours = mel_filterbank(40, 32768, SR, dtype=torch.float64).numpy()
    ref = get_filterbanks(40, 32768, SR)
    assert ours.shape == ref.shape == (40, 16385)
    assert np.abs(ours - ref).max() < 0.02  # edges differ by under one of 16385 bins
    small = mel_filterbank(40, 512, SR, dtype=torch.float64).numpy()
    assert np.abs(small - get_filterbanks(40, 512, SR)).mean() < 0.005


def test_filterbank_shape_peaks_and_partition() -> None:
    fb = mel_filterbank(40, 1024, SR, f_min=50.0, f_max=7600.0, dtype=torch.float64)
    freqs = torch.arange(513, dtype=torch.float64) * SR / 1024
    mel = 2595 * torch.log10(1 + freqs / 700)
    edges = torch.linspace(
        float(2595 * np.log10(1 + 50 / 700)), float(2595 * np.log10(1 + 7600 / 700)), 42
    )
    assert bool((fb >= 0).all())
    assert bool((fb <= 1).all())
    # zero outside each filter's support, rising/falling in between
    for m in range(40):
        outside = (mel <= edges[m]) | (mel >= edges[m + 2])
        assert not fb[m][outside].any()
    # between the first and the last centre the triangles sum to one
    inside = (mel >= edges[1]) & (mel <= edges[40])
    torch.testing.assert_close(fb.sum(0)[inside], torch.ones(int(inside.sum()), dtype=fb.dtype))


def test_dct_matrix_matches_scipy() -> None:
    x = np.random.default_rng(1).normal(size=(5, 40))
    ref = scipy_fft.dct(x, type=2, norm="ortho", axis=-1)[:, :13]
    ours = torch.from_numpy(x) @ dct_matrix(40, 13, dtype=torch.float64)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-12)


def test_batched_equals_per_utterance_and_int_input() -> None:
    x = torch.from_numpy(np.stack([speechlike(8000, seed=s) for s in range(3)])).float()
    batched = mfcc(x, SR)
    assert batched.shape == (3, num_frames(8000, SR), 13)
    for b in range(3):
        torch.testing.assert_close(batched[b], mfcc(x[b], SR), rtol=1e-5, atol=1e-4)
    assert mfcc(x[:0], SR).shape == (0, num_frames(8000, SR), 13)
    pcm = (x[0] * 8000).to(torch.int16)
    out = mfcc(pcm, SR)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, mfcc(pcm.float(), SR))


def test_mfcc_is_differentiable() -> None:
    x = torch.from_numpy(speechlike(1600)).requires_grad_()
    mfcc(x, SR).sum().backward()
    assert x.grad is not None
    assert bool(torch.isfinite(x.grad).all())


def test_silence_is_floored_not_infinite() -> None:
    out = mfcc(torch.zeros(1000), SR)
    assert bool(torch.isfinite(out).all())
    assert float(out[0, 0]) == pytest.approx(np.log(1e-10) * np.sqrt(40), rel=1e-5)


def test_num_frames_formula() -> None:
    assert num_frames(399, SR) == 0
    assert num_frames(400, SR) == 1
    assert num_frames(559, SR) == 1
    assert num_frames(560, SR) == 2
    assert num_frames(22050, 22050) == 1 + (22050 - 551) // 221


def test_mfcc_bad_input() -> None:
    with pytest.raises(ShapeError, match=r"shorter than one 25.0 ms window \(400 samples\)"):
        mfcc(torch.zeros(399), SR)
    with pytest.raises(ShapeError, match=r"\(N,\) or \(B, N\)"):
        mfcc(torch.zeros(1, 1, 800), SR)
    with pytest.raises(InputTypeError):
        mfcc(np.zeros(800), SR)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="real-valued"):
        mfcc(torch.zeros(800, dtype=torch.complex64), SR)
    with pytest.raises(InputValueError, match="n_mfcc"):
        mfcc(torch.zeros(800), SR, n_mfcc=41, n_mels=40)
    with pytest.raises(InputValueError, match="n_fft=256 is smaller"):
        mfcc(torch.zeros(800), SR, n_fft=256)
    with pytest.raises(ShapeError, match="filterbank"):
        mfcc(torch.zeros(800), SR, filterbank=torch.ones(40, 100))
    with pytest.raises(InputValueError, match="f_max"):
        mel_filterbank(40, 512, SR, f_max=9000.0)


# -- cepstral_normalize --------------------------------------------------------


@given(st.lists(st.integers(1, 12), min_size=1, max_size=4), st.booleans(), st.integers(0, 99))
def test_cepstral_normalize_uses_only_valid_frames(
    lengths: list[int], variance: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    t = max(lengths) + 2
    x = rng.normal(3.0, 2.0, size=(len(lengths), t, 5))
    out = cepstral_normalize(
        torch.from_numpy(x), torch.tensor(lengths), normalize_variance=variance
    ).numpy()
    for b, n in enumerate(lengths):
        valid = x[b, :n]
        expected = valid - valid.mean(0)
        if variance:
            expected = expected / np.maximum(valid.std(0), 1e-5)
        np.testing.assert_allclose(out[b, :n], expected, rtol=1e-9, atol=1e-9)
        assert not out[b, n:].any()


def test_cepstral_normalize_unbatched_and_constant_dims() -> None:
    x = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
    torch.testing.assert_close(cepstral_normalize(x), torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))


def test_cepstral_normalize_bad_input() -> None:
    with pytest.raises(InputValueError, match=r"lengths must lie in \[1, 3\]"):
        cepstral_normalize(torch.zeros(2, 3, 4), torch.tensor([3, 4]))
    with pytest.raises(ShapeError, match=r"lengths of shape \(2,\)"):
        cepstral_normalize(torch.zeros(2, 3, 4), torch.tensor([3]))
    with pytest.raises(ShapeError, match="batched"):
        cepstral_normalize(torch.zeros(3, 4), torch.tensor([3]))
    with pytest.raises(InputTypeError, match="floating"):
        cepstral_normalize(torch.zeros(3, 4, dtype=torch.long))
