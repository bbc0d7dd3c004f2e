"""Stereo imager: identity, mono, mono bass, band widths, the correlation guarantee."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from burnish.dsp.stereo import ImagerParams, StereoImager, apply_imager
from burnish.errors import ParameterError
from tests import signals


def stereo_noise(rate: int, *, correlation_mix: float = 0.6, duration_s: float = 0.5, seed: int = 1) -> np.ndarray:
    """Positively correlated stereo noise: common part + independent parts."""
    n = signals.white_noise(sample_rate=rate, duration_s=duration_s, level_dbfs=-20, num_channels=3, seed=seed)
    return np.stack([correlation_mix * n[0] + (1 - correlation_mix) * n[1],
                     correlation_mix * n[0] + (1 - correlation_mix) * n[2]])


def corr(x: np.ndarray) -> float:
    return float(np.sum(x[0] * x[1]) / np.sqrt(np.sum(x[0] ** 2) * np.sum(x[1] ** 2)))


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_width_1_is_identity_and_width_0_is_mono(rate: int) -> None:
    x = stereo_noise(rate)
    assert np.max(np.abs(apply_imager(x, ImagerParams(width=1.0), sample_rate=rate) - x)) <= 1e-12
    y = apply_imager(x, ImagerParams(width=0.0), sample_rate=rate)
    assert np.array_equal(y[0], y[1])
    assert np.allclose(y[0], 0.5 * (x[0] + x[1]), atol=1e-15)


def test_mono_input_passes_unchanged() -> None:
    x = signals.white_noise(sample_rate=44100, duration_s=0.1, num_channels=1)
    y = apply_imager(x, ImagerParams(width=2.0, mono_below_hz=150.0), sample_rate=44100)
    assert np.array_equal(x, y)


def test_mid_is_untouched() -> None:
    x = stereo_noise(48000)
    y = apply_imager(x, ImagerParams(width=1.7, mono_below_hz=100.0, band_crossover_hz=(800.0, 5000.0),
                                     band_width=(0.5, 1.2, 1.5)), sample_rate=48000)
    assert np.max(np.abs((y[0] + y[1]) - (x[0] + x[1]))) <= 1e-12


@pytest.mark.parametrize("rate", [44100, 96000])
def test_mono_bass_makes_lows_mono(rate: int) -> None:
    # decorrelated stereo noise (correlation ~0): below the split L and R must become identical
    x = stereo_noise(rate, correlation_mix=0.0, duration_s=1.0)
    y = apply_imager(x, ImagerParams(mono_below_hz=200.0), sample_rate=rate)
    low = sps.butter(4, 50.0, "lowpass", fs=rate, output="sos")
    yl = sps.sosfilt(low, y, axis=1)[:, rate // 4 :]
    assert corr(yl) >= 0.999, f"low-band correlation {corr(yl):.4f} < 0.999"
    # above the split the side is kept: the side's level above 2 kHz within +-0.1 dB
    high = sps.butter(4, 2000.0, "highpass", fs=rate, output="sos")
    side_in = sps.sosfilt(high, x[0] - x[1])[rate // 4 :]
    side_out = sps.sosfilt(high, y[0] - y[1])[rate // 4 :]
    assert abs(signals.rms_db(side_out) - signals.rms_db(side_in)) <= 0.1


def test_band_widths_scale_each_band() -> None:
    rate = 44100
    x = stereo_noise(rate, correlation_mix=0.0, duration_s=1.0)
    y = apply_imager(x, ImagerParams(band_crossover_hz=(1000.0,), band_width=(0.5, 1.0)), sample_rate=rate)
    def side_db(a: np.ndarray, lo: float, hi: float) -> float:
        f, p = sps.welch(a[0] - a[1], fs=rate, nperseg=4096)
        return float(10 * np.log10(np.mean(p[(f > lo) & (f < hi)])))
    # far below the crossover the side is halved (-6.02 dB) within +-0.5 dB; far above unchanged
    assert abs(side_db(y, 50, 250) - side_db(x, 50, 250) + 6.02) <= 0.5
    assert abs(side_db(y, 5000, 15000) - side_db(x, 5000, 15000)) <= 0.2


@pytest.mark.parametrize("mix", [0.9, 0.55, 0.5])
def test_width_2_never_makes_correlation_negative(mix: float) -> None:
    rate = 44100
    x = stereo_noise(rate, correlation_mix=mix, duration_s=1.0)
    assert corr(x) >= 0.0
    for params in (ImagerParams(width=2.0), ImagerParams(width=2.0, band_crossover_hz=(500.0, 4000.0), band_width=(2.0, 2.0, 2.0))):
        y = apply_imager(x, params, sample_rate=rate)
        assert corr(y) >= 0.0
        blocks = y[:, rate // 10 :].reshape(2, -1, rate // 10)
        for b in range(blocks.shape[1]):
            assert corr(blocks[:, b]) >= 0.0, "a 100 ms window went negative"
    # where there is room, width 2 widens: a highly correlated input gets wider
    if mix == 0.9:
        assert corr(apply_imager(x, ImagerParams(width=2.0), sample_rate=rate)) < corr(x) - 0.01


def test_bad_parameters_name_themselves() -> None:
    with pytest.raises(ParameterError, match="width=2.5"):
        ImagerParams(width=2.5)
    with pytest.raises(ParameterError, match="mono_below_hz"):
        ImagerParams(mono_below_hz=-1.0)
    with pytest.raises(ParameterError, match="band_width"):
        ImagerParams(band_crossover_hz=(500.0,), band_width=(1.0,))
    with pytest.raises(ParameterError, match=r"band_crossover_hz\[1\]"):
        ImagerParams(band_crossover_hz=(500.0, 400.0), band_width=(1.0, 1.0, 1.0))
    with pytest.raises(ParameterError, match="below"):
        StereoImager(ImagerParams(band_crossover_hz=(23000.0,), band_width=(1.0, 1.0)), sample_rate=44100, num_channels=2)
