"""Unit conversions. Levels are dB relative to a float full scale of 1.0 unless a name says so."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: The level that stands for "no signal": lower than any real measurement, finite so it serialises.
SILENCE_DB = -200.0


def db_to_gain(level_db: float) -> float:
    """Amplitude gain for a level in dB: ``10 ** (level_db / 20)``."""
    return float(10.0 ** (level_db / 20.0))


def gain_to_db(gain: float, *, floor_db: float = SILENCE_DB) -> float:
    """Level in dB of an amplitude gain; ``floor_db`` for zero or negative gains."""
    if gain <= 0.0:
        return floor_db
    return max(floor_db, float(20.0 * np.log10(gain)))


def power_to_db(power: float, *, floor_db: float = SILENCE_DB) -> float:
    """Level in dB of a power (mean square): ``10 log10(power)``."""
    if power <= 0.0:
        return floor_db
    return max(floor_db, float(10.0 * np.log10(power)))


def db_to_gain_array(level_db: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Vectorised :func:`db_to_gain`."""
    return np.power(10.0, np.asarray(level_db, dtype=np.float64) / 20.0)


def gain_to_db_array(
    gain: npt.ArrayLike, *, floor_db: float = SILENCE_DB
) -> npt.NDArray[np.float64]:
    """Vectorised :func:`gain_to_db`."""
    g = np.asarray(gain, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = 20.0 * np.log10(np.where(g > 0.0, g, 1.0))
    return np.where(g > 0.0, np.maximum(out, floor_db), floor_db)


def power_to_db_array(
    power: npt.ArrayLike, *, floor_db: float = SILENCE_DB
) -> npt.NDArray[np.float64]:
    """Vectorised :func:`power_to_db`."""
    p = np.asarray(power, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(np.where(p > 0.0, p, 1.0))
    return np.where(p > 0.0, np.maximum(out, floor_db), floor_db)


def ms_to_samples(duration_ms: float, sample_rate: int) -> int:
    """Whole number of samples in ``duration_ms`` at ``sample_rate`` (rounded)."""
    return int(round(duration_ms * 1e-3 * sample_rate))


def time_constant_coefficient(time_ms: float, sample_rate: int) -> float:
    """One-pole smoothing coefficient for a time constant (63 % of a step after ``time_ms``)."""
    if time_ms <= 0.0:
        return 0.0
    return float(np.exp(-1.0 / (time_ms * 1e-3 * sample_rate)))
