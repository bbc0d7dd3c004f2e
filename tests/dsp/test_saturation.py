"""Saturator: aliasing bound, harmonics by curve, drive compensation, mix, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal.windows import blackmanharris

from burnish.dsp.base import process_offline
from burnish.dsp.saturation import SaturationParams, Saturator
from burnish.errors import ParameterError
from tests import signals


def _spectrum_db(y: np.ndarray) -> np.ndarray:
    w = blackmanharris(y.shape[-1], sym=False)
    return 20 * np.log10(np.abs(np.fft.rfft(y * w)) * 2 / w.sum() + 1e-30)


@pytest.mark.parametrize(
    ("curve", "drive_db"),
    [("soft_clip", 0.0), ("soft_clip", 6.0), ("tape", 0.0), ("tape", 12.0), ("tube", 0.0), ("tube", 12.0)],
)
def test_aliasing_of_full_scale_10_khz_sine_below_minus_90_dbfs(curve: str, drive_db: float) -> None:
    sample_rate, n = 44100, 1 << 16
    k = 14861  # coherent: 9999.7 Hz, an integer number of cycles in the window
    x = np.sin(2 * np.pi * k * np.arange(n + 8000) / n)[np.newaxis, :]
    sat = Saturator(SaturationParams(curve=curve, drive_db=drive_db), sample_rate=sample_rate, num_channels=1)
    db = _spectrum_db(sat.process(x)[0, -n:])
    mask = np.ones(db.shape, dtype=bool)
    for h in (0, k, 2 * k):  # DC and the harmonics below 22.05 kHz (10 and 20 kHz)
        mask[max(0, h - 5) : h + 6] = False
    assert db[mask].max() < -90.0, f"worst alias {db[mask].max():.1f} dBFS (bound -90 dBFS)"


@pytest.mark.parametrize("curve", ["soft_clip", "tape", "tube"])
def test_harmonics_by_curve(curve: str) -> None:
    sample_rate, n = 48000, 1 << 14
    k = 341  # ~1 kHz, coherent
    x = 0.5 * np.sin(2 * np.pi * k * np.arange(n + 4000) / n)[np.newaxis, :]
    sat = Saturator(SaturationParams(curve=curve, drive_db=12.0), sample_rate=sample_rate, num_channels=1)
    db = _spectrum_db(sat.process(x)[0, -n:])
    h1, h2, h3 = db[k], db[2 * k], db[3 * k]
    assert h3 - h1 > -40.0, "odd harmonics present (3rd within 40 dB of the fundamental)"
    if curve == "tube":
        assert h2 - h1 > -40.0, "tube: 2nd harmonic within 40 dB of the fundamental"
    else:
        assert h2 < -140.0, "symmetric curves: no even harmonics (< -140 dBFS)"


@pytest.mark.parametrize("curve", ["soft_clip", "tape", "tube"])
@pytest.mark.parametrize("drive_db", [0.0, 12.0, 24.0])
def test_drive_compensation_keeps_reference_level(curve: str, drive_db: float) -> None:
    # a sine at -12 dBFS peak keeps its RMS within ±0.1 dB at every drive
    sample_rate = 48000
    x = signals.sine(1000, sample_rate=sample_rate, duration_s=0.5, amplitude=10 ** (-12 / 20), num_channels=1)
    y = process_offline(
        Saturator(SaturationParams(curve=curve, drive_db=drive_db), sample_rate=sample_rate, num_channels=1), x
    )
    sl = slice(sample_rate // 10, -sample_rate // 10)
    assert abs(signals.rms_db(y[:, sl]) - signals.rms_db(x[:, sl])) <= 0.1


def test_mix_zero_is_the_delayed_dry_signal() -> None:
    x = signals.pink_noise(sample_rate=44100, duration_s=0.2, level_dbfs=-10.0, seed=4)
    sat = Saturator(SaturationParams(curve="tube", drive_db=18.0, mix=0.0), sample_rate=44100, num_channels=2)
    y = sat.process(x)
    lat = sat.latency_samples
    assert lat > 0
    np.testing.assert_array_equal(y[:, lat:], x[:, : x.shape[1] - lat])
    assert not np.any(y[:, :lat])


def test_params_validation() -> None:
    with pytest.raises(ParameterError, match=r"drive_db=30 must be in \[0, 24\]"):
        SaturationParams(drive_db=30)
    with pytest.raises(ParameterError, match="curve"):
        SaturationParams(curve="fuzz")
    with pytest.raises(ParameterError, match="oversample"):
        SaturationParams(oversample=3)


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("num_channels", [1, 2])
def test_invariants(sample_rate: int, num_channels: int) -> None:
    x = signals.pink_noise(sample_rate=sample_rate, duration_s=0.05, level_dbfs=-10.0, num_channels=num_channels, seed=2)
    sat = Saturator(SaturationParams(curve="tube", drive_db=9.0, mix=0.7), sample_rate=sample_rate, num_channels=num_channels)
    whole = sat.process(x)
    for block in (1, 64, 511, 4096):
        sat.reset()
        parts = np.concatenate([sat.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)], axis=1)
        np.testing.assert_array_equal(parts, whole, err_msg=f"block {block}")
    sat.reset()
    np.testing.assert_array_equal(sat.process(x), whole)
    sat.reset()
    assert not np.any(sat.process(np.zeros_like(x)))
    assert sat.process(np.zeros((num_channels, 0))).shape == (num_channels, 0)
    assert sat.process(x.astype(np.float32)).dtype == np.float32
    # alignment: at low level the curve is nearly linear, so the aligned output tracks the input
    quiet = signals.sine(200, sample_rate=sample_rate, duration_s=0.05, amplitude=1e-4, num_channels=num_channels)
    plain = Saturator(SaturationParams(), sample_rate=sample_rate, num_channels=num_channels)
    y = process_offline(plain, quiet)
    err = np.max(np.abs(y - quiet * plain.drive_compensation))
    assert err <= 1e-4 * 10 ** (-60 / 20), "aligned (and compensated) within -60 dB"
