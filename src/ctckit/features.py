"""MFCC features and cepstral normalisation in torch.

:func:`mfcc` follows the classic recipe (as in HTK and
``python_speech_features``): pre-emphasis, framing with a Hann window, power
spectrum, triangular filters on the HTK mel scale, log, and an orthonormal
DCT-II. It runs on any device, batched, and differentiably.

Frame count: a waveform of ``N`` samples gives
``1 + (N - win) // hop`` frames, where ``win = round(sample_rate * win_ms /
1000)`` and ``hop = round(sample_rate * hop_ms / 1000)`` (no padding: the
last frame ends inside the signal, a trailing remainder shorter than one hop
is not analysed). See :func:`num_frames`.
"""

from __future__ import annotations

import math

import torch

from ctckit.errors import InputTypeError, InputValueError, ShapeError

__all__ = ["cepstral_normalize", "dct_matrix", "mel_filterbank", "mfcc", "num_frames"]

_CPU_CHUNK_FRAMES = 1024


def _hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def _window_samples(sample_rate: int, ms: float, name: str) -> int:
    # round half up, as HTK and python_speech_features do
    n = math.floor(sample_rate * ms / 1000.0 + 0.5)
    if n < 1:
        raise InputValueError(f"{name}={ms} ms is shorter than one sample at {sample_rate} Hz")
    return n


def num_frames(
    num_samples: int, sample_rate: int, win_ms: float = 25.0, hop_ms: float = 10.0
) -> int:
    """Number of frames :func:`mfcc` makes from ``num_samples`` samples.

    ``1 + (num_samples - win) // hop`` with ``win`` and ``hop`` in samples
    (rounded half up), or 0 when the signal is shorter than one window.

    Example:
        >>> num_frames(16000, 16000)  # one second: (16000 - 400) // 160 + 1
        98
    """
    win = _window_samples(sample_rate, win_ms, "win_ms")
    hop = _window_samples(sample_rate, hop_ms, "hop_ms")
    return 0 if num_samples < win else 1 + (num_samples - win) // hop


def mel_filterbank(
    n_mels: int,
    n_fft: int,
    sample_rate: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Triangular filters equally spaced on the HTK mel scale.

    ``mel = 2595 * log10(1 + hz / 700)``. Filter ``m`` rises linearly from
    the ``m``-th to the ``m+1``-th of ``n_mels + 2`` equally spaced mel points
    and falls to the ``m+2``-th, with peak 1 (no area normalisation), sampled
    at the FFT bin frequencies ``k * sample_rate / n_fft`` (the same as
    ``torchaudio.functional.melscale_fbanks(..., norm=None, mel_scale="htk")``).

    Args:
        n_mels: Number of filters.
        n_fft: FFT size.
        sample_rate: Sampling rate in Hz.
        f_min: Lower edge of the first filter, Hz.
        f_max: Upper edge of the last filter, Hz; defaults to ``sample_rate / 2``.
        dtype: Result dtype.
        device: Result device.

    Returns:
        ``(n_mels, n_fft // 2 + 1)`` filter weights.

    Example:
        >>> fb = mel_filterbank(40, 512, 16000)
        >>> tuple(fb.shape), round(float(fb.max()), 2)
        ((40, 257), 0.99)
    """
    if n_mels < 1 or n_fft < 2 or sample_rate < 1:
        raise InputValueError(
            f"need n_mels >= 1, n_fft >= 2, sample_rate >= 1; got {n_mels}, {n_fft}, {sample_rate}"
        )
    nyquist = sample_rate / 2.0
    f_max = nyquist if f_max is None else f_max
    if not 0.0 <= f_min < f_max <= nyquist:
        raise InputValueError(
            f"need 0 <= f_min < f_max <= sample_rate / 2 = {nyquist}, got {f_min}, {f_max}"
        )
    f64 = torch.float64
    mels = torch.linspace(
        float(_hz_to_mel(torch.tensor(f_min, dtype=f64))),
        float(_hz_to_mel(torch.tensor(f_max, dtype=f64))),
        n_mels + 2,
        dtype=f64,
    )
    edges = _mel_to_hz(mels)  # (n_mels + 2,)
    freqs = torch.arange(n_fft // 2 + 1, dtype=f64) * (sample_rate / n_fft)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    fb = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return fb.to(dtype=dtype, device=device)


def dct_matrix(
    n_in: int,
    n_out: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Orthonormal DCT-II as a matrix.

    ``x @ D`` equals ``scipy.fft.dct(x, type=2, norm="ortho")[..., :n_out]``.

    Args:
        n_in: Input length (number of mel bands).
        n_out: Number of coefficients kept, ``<= n_in``.
        dtype: Result dtype.
        device: Result device.

    Returns:
        ``(n_in, n_out)`` matrix.

    Example:
        >>> d = dct_matrix(4, 4, dtype=torch.float64)
        >>> torch.allclose(d @ d.T, torch.eye(4, dtype=torch.float64))
        True
    """
    if not 1 <= n_out <= n_in:
        raise InputValueError(f"need 1 <= n_out <= n_in, got n_out={n_out}, n_in={n_in}")
    n = torch.arange(n_in, dtype=torch.float64)
    k = torch.arange(n_out, dtype=torch.float64)
    d = torch.cos(math.pi / n_in * (n[:, None] + 0.5) * k[None, :]) * math.sqrt(2.0 / n_in)
    d[:, 0] /= math.sqrt(2.0)
    return d.to(dtype=dtype, device=device)


def mfcc(
    waveform: torch.Tensor,
    sample_rate: int,
    n_mfcc: int = 13,
    n_mels: int = 40,
    win_ms: float = 25.0,
    hop_ms: float = 10.0,
    preemphasis: float = 0.97,
    *,
    n_fft: int | None = None,
    f_min: float = 0.0,
    f_max: float | None = None,
    lifter: float = 0.0,
    log_floor: float = 1e-10,
    filterbank: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mel-frequency cepstral coefficients.

    Steps: pre-emphasis ``y[t] = x[t] - preemphasis * x[t-1]`` (``y[0] =
    x[0]``) over the whole signal; frames of ``win`` samples every ``hop``
    samples (see :func:`num_frames`); a symmetric Hann window
    (``numpy.hanning``); power spectrum ``|rfft(frame, n_fft)|**2 / n_fft``;
    ``n_mels`` triangular HTK-mel filters (:func:`mel_filterbank`); natural
    log of the filter energies clamped below at ``log_floor``; orthonormal
    DCT-II keeping ``n_mfcc`` coefficients; an optional sinusoidal lifter
    ``1 + lifter / 2 * sin(pi * n / lifter)``.

    Args:
        waveform: ``(N,)`` or ``(B, N)`` samples (float; integer input is
            converted to float32 without rescaling).
        sample_rate: Sampling rate in Hz.
        n_mfcc: Coefficients kept, ``<= n_mels``.
        n_mels: Mel filters.
        win_ms: Window length in milliseconds.
        hop_ms: Hop in milliseconds.
        preemphasis: Pre-emphasis coefficient; 0 disables it.
        n_fft: FFT size; defaults to the next power of two ``>= win``.
        f_min: Lowest filter edge, Hz.
        f_max: Highest filter edge, Hz; defaults to ``sample_rate / 2``.
        lifter: Cepstral lifter parameter; 0 disables it.
        log_floor: Energies below it are raised to it before the log.
        filterbank: Optional ``(n_mels, n_fft // 2 + 1)`` matrix replacing
            :func:`mel_filterbank` (e.g. another toolkit's filters).

    Returns:
        ``(frames, n_mfcc)`` or ``(B, frames, n_mfcc)`` in the waveform's
        floating dtype (float32 for integer input), on its device.

    Raises:
        ShapeError: If ``waveform`` is not 1-D or 2-D, is shorter than one
            window, or ``filterbank`` has the wrong shape.
        InputValueError: On inconsistent sizes (``n_mfcc > n_mels``,
            ``n_fft < win``, ...).

    Example:
        >>> wav = torch.sin(torch.arange(16000) * 0.3)
        >>> tuple(mfcc(wav, 16000).shape), tuple(mfcc(wav.expand(2, -1), 16000).shape)
        ((98, 13), (2, 98, 13))
    """
    if not isinstance(waveform, torch.Tensor):
        raise InputTypeError(f"waveform must be a torch.Tensor, got {type(waveform).__name__}")
    if waveform.dim() not in (1, 2):
        raise ShapeError(f"expected waveform of shape (N,) or (B, N), got {tuple(waveform.shape)}")
    if waveform.is_complex() or waveform.dtype == torch.bool:
        raise InputTypeError(f"waveform must be real-valued, got dtype {waveform.dtype}")
    x = waveform if waveform.is_floating_point() else waveform.to(torch.float32)
    win = _window_samples(sample_rate, win_ms, "win_ms")
    hop = _window_samples(sample_rate, hop_ms, "hop_ms")
    if n_fft is None:
        n_fft = 1 << (win - 1).bit_length()
    if n_fft < win:
        raise InputValueError(f"n_fft={n_fft} is smaller than the window ({win} samples)")
    if filterbank is None:
        fb = mel_filterbank(
            n_mels, n_fft, sample_rate, f_min, f_max, dtype=x.dtype, device=x.device
        )
    else:
        if filterbank.dim() != 2 or filterbank.shape[1] != n_fft // 2 + 1:
            raise ShapeError(
                f"expected filterbank of shape (n_mels, {n_fft // 2 + 1}), "
                f"got {tuple(filterbank.shape)}"
            )
        fb = filterbank.to(dtype=x.dtype, device=x.device)
        n_mels = fb.shape[0]
    if not 1 <= n_mfcc <= n_mels:
        raise InputValueError(f"need 1 <= n_mfcc <= n_mels={n_mels}, got n_mfcc={n_mfcc}")
    n = x.shape[-1]
    if n < win:
        raise ShapeError(
            f"waveform of {n} samples is shorter than one {win_ms} ms window ({win} samples)"
        )
    if preemphasis != 0.0:
        x = torch.cat([x[..., :1], x[..., 1:] - preemphasis * x[..., :-1]], dim=-1)
    frames = x.unfold(-1, win, hop)  # (..., frames, win), a view
    window = torch.hann_window(win, periodic=False, dtype=x.dtype, device=x.device)
    fb_t = fb.T / n_fft
    flat = frames.reshape(-1, win)
    # Chunks of frames keep the FFT's working set in cache: 2-4x faster on CPU for batches.
    chunk = max(1, flat.shape[0]) if x.device.type != "cpu" else _CPU_CHUNK_FRAMES
    parts = []
    for piece in torch.split(flat, chunk) if flat.shape[0] else ():
        spectrum = torch.fft.rfft(piece * window, n=n_fft)
        parts.append((spectrum.real.square() + spectrum.imag.square()) @ fb_t)
    energies = torch.cat(parts) if parts else flat.new_zeros(0, fb.shape[0])
    energies = energies.reshape(*frames.shape[:-1], fb.shape[0])
    log_mel = torch.log(torch.clamp(energies, min=log_floor))
    cep = log_mel @ dct_matrix(n_mels, n_mfcc, dtype=x.dtype, device=x.device)
    if lifter > 0:
        k = torch.arange(n_mfcc, dtype=x.dtype, device=x.device)
        cep = cep * (1.0 + lifter / 2.0 * torch.sin(math.pi * k / lifter))
    return cep


def cepstral_normalize(
    features: torch.Tensor,
    lengths: torch.Tensor | None = None,
    *,
    normalize_variance: bool = True,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Per-utterance mean (and variance) normalisation over valid frames.

    Each utterance's features get zero mean and, with
    ``normalize_variance``, unit (population) standard deviation per
    dimension, using only its first ``lengths[b]`` frames. Padded frames are
    set to 0.

    Args:
        features: ``(T, F)`` or ``(B, T, F)`` floating tensor.
        lengths: ``(B,)`` int64 valid frame counts, for batched input only;
            ``None`` means every frame is valid.
        normalize_variance: Also divide by the standard deviation.
        eps: Lower bound on the standard deviation (constant dimensions
            become 0 instead of NaN).

    Returns:
        Normalised features, same shape and dtype.

    Raises:
        ShapeError: On a wrong rank or a ``lengths`` of the wrong shape.
        InputValueError: If a length is below 1 or beyond ``T``.

    Example:
        >>> x = torch.tensor([[[1.0], [3.0], [9.0]], [[2.0], [4.0], [0.0]]])
        >>> cepstral_normalize(x, torch.tensor([3, 2]))[1].flatten().tolist()
        [-1.0, 1.0, 0.0]
    """
    if not isinstance(features, torch.Tensor) or not features.is_floating_point():
        got = getattr(features, "dtype", type(features).__name__)
        raise InputTypeError(f"features must be a floating torch.Tensor, got {got}")
    if features.dim() == 2:
        if lengths is not None:
            raise ShapeError("lengths apply to batched (B, T, F) features only")
        return cepstral_normalize(features[None], normalize_variance=normalize_variance, eps=eps)[0]
    if features.dim() != 3:
        raise ShapeError(
            f"expected features of shape (T, F) or (B, T, F), got {tuple(features.shape)}"
        )
    b, t, _ = features.shape
    if lengths is None:
        lengths = torch.full((b,), t, dtype=torch.int64, device=features.device)
    if lengths.shape != (b,):
        raise ShapeError(f"expected lengths of shape ({b},), got {tuple(lengths.shape)}")
    lengths = lengths.to(device=features.device, dtype=torch.int64)
    if t == 0 or bool((lengths < 1).any()) or bool((lengths > t).any()):
        raise InputValueError(f"lengths must lie in [1, {t}], got {lengths.tolist()}")
    mask = (torch.arange(t, device=features.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    count = lengths.to(features.dtype)[:, None, None]
    masked = features.masked_fill(~mask, 0.0)
    mean = masked.sum(dim=1, keepdim=True) / count
    centred = (features - mean).masked_fill(~mask, 0.0)
    if normalize_variance:
        std = (centred.square().sum(dim=1, keepdim=True) / count).sqrt()
        centred = centred / std.clamp(min=eps)
    return centred
