"""Test signals. Every random signal takes an explicit seed.

All return ``(channels, samples)`` float64 arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _shape(mono: Array, num_channels: int) -> Array:
    return np.repeat(mono[np.newaxis, :], num_channels, axis=0)


def sine(
    frequency_hz: float,
    *,
    sample_rate: int,
    duration_s: float,
    amplitude: float = 0.5,
    num_channels: int = 2,
    phase_rad: float = 0.0,
    fade_ms: float = 0.0,
) -> Array:
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    x = amplitude * np.sin(2 * np.pi * frequency_hz * t + phase_rad)
    if fade_ms > 0:
        x = x * fade_window(n, int(fade_ms * 1e-3 * sample_rate))
    return _shape(x, num_channels)


def fade_window(n: int, fade_samples: int) -> Array:
    w = np.ones(n)
    f = min(fade_samples, n // 2)
    if f > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(f) / f)
        w[:f] = ramp
        w[n - f :] = ramp[::-1]
    return w


def log_sweep(
    *,
    sample_rate: int,
    duration_s: float,
    start_hz: float = 20.0,
    end_hz: float = 20000.0,
    amplitude: float = 0.5,
    num_channels: int = 2,
) -> Array:
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    k = np.log(end_hz / start_hz)
    phase = 2 * np.pi * start_hz * duration_s / k * (np.exp(t / duration_s * k) - 1)
    return _shape(amplitude * np.sin(phase), num_channels)


def white_noise(
    *,
    sample_rate: int,
    duration_s: float,
    level_dbfs: float = -20.0,
    num_channels: int = 2,
    seed: int = 0,
) -> Array:
    """Independent Gaussian noise per channel with RMS ``level_dbfs``."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    return rng.standard_normal((num_channels, n)) * 10 ** (level_dbfs / 20)


def pink_noise(
    *,
    sample_rate: int,
    duration_s: float,
    level_dbfs: float = -20.0,
    num_channels: int = 2,
    seed: int = 0,
) -> Array:
    """Pink (1/f power) noise, made in the frequency domain, RMS ``level_dbfs``."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    spec = rng.standard_normal((num_channels, n // 2 + 1)) + 1j * rng.standard_normal(
        (num_channels, n // 2 + 1)
    )
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    f[0] = f[1] if n > 1 else 1.0
    spec /= np.sqrt(f)
    x = np.fft.irfft(spec, n=n, axis=1)
    x /= np.sqrt(np.mean(x**2, axis=1, keepdims=True))
    return x * 10 ** (level_dbfs / 20)


def impulse(*, num_samples: int, position: int = 0, amplitude: float = 1.0, num_channels: int = 2) -> Array:
    x = np.zeros((num_channels, num_samples))
    x[:, position] = amplitude
    return x


def silence(*, num_samples: int, num_channels: int = 2) -> Array:
    return np.zeros((num_channels, num_samples))


def rms_db(x: npt.ArrayLike) -> float:
    a = np.asarray(x, dtype=np.float64)
    return float(10 * np.log10(np.mean(a**2) + 1e-300))
