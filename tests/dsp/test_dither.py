"""Dither: the grid, the analytic TPDF noise floor, shaping, seeding, block-size invariance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from burnish.dsp.dither import Dither, DitherParams, apply_dither, lsb
from burnish.errors import ParameterError
from tests import signals


def run(x: np.ndarray, rate: int = 44100, **kw: object) -> np.ndarray:
    return apply_dither(x, DitherParams(**kw), sample_rate=rate)  # type: ignore[arg-type]


@pytest.mark.parametrize("bits", [16, 24])
@pytest.mark.parametrize("shape", ["tpdf", "noise_shaped", "none"])
def test_output_on_the_grid_and_clipped(bits: int, shape: str) -> None:
    x = signals.sine(997.0, sample_rate=44100, duration_s=0.05, amplitude=1.2)  # clips
    y = run(x, bit_depth=bits, shape=shape)
    codes = y * 2 ** (bits - 1)
    assert np.array_equal(codes, np.round(codes))
    assert y.max() <= 1 - lsb(bits) and y.min() >= -1.0
    y32 = run(x.astype(np.float32), bit_depth=bits, shape=shape)
    assert y32.dtype == np.float32
    assert np.array_equal(y32 * 2 ** (bits - 1), np.round(y32 * 2 ** (bits - 1)))


@pytest.mark.parametrize("bits", [16, 24])
def test_tpdf_noise_floor_is_lsb_squared_over_4(bits: int) -> None:
    # TPDF +-1 LSB (variance LSB^2/6) + rounding (LSB^2/12) = LSB^2/4: -96.33 dBFS at 16 bits
    y = run(np.zeros((2, 200_000)), bit_depth=bits)
    expected_db = 10 * np.log10(lsb(bits) ** 2 / 4)
    assert abs(signals.rms_db(y) - expected_db) <= 0.5, f"{signals.rms_db(y):.2f} vs {expected_db:.2f} dB +-0.5"
    if bits == 16:
        assert abs(expected_db - (-96.33)) < 0.01


def band_db(y: np.ndarray, rate: int, low_hz: float, high_hz: float) -> float:
    f, p = sps.welch(y[0], fs=rate, nperseg=4096)
    sel = (f >= low_hz) & (f <= high_hz)
    return float(10 * np.log10(np.mean(p[sel])))


@pytest.mark.parametrize("rate", [44100, 48000])
def test_noise_shaping_moves_noise_out_of_1_to_5_khz(rate: int) -> None:
    zeros = np.zeros((1, 4 * rate))
    flat = run(zeros, rate, shape="tpdf")
    shaped = run(zeros, rate, shape="noise_shaped")
    # designed: |1 - H| is -13..-25 dB over 1-5 kHz and +25 dB near Nyquist (F-weighted, 9 taps)
    assert band_db(shaped, rate, 1000, 5000) < band_db(flat, rate, 1000, 5000) - 10.0
    assert band_db(shaped, rate, 19000, rate / 2) > band_db(flat, rate, 19000, rate / 2) + 15.0


def test_noise_shaping_at_96k_keeps_the_audible_band_quiet() -> None:
    zeros = np.zeros((1, 96000 * 2))
    flat = run(zeros, 96000, shape="tpdf")
    shaped = run(zeros, 96000, shape="noise_shaped")
    assert band_db(shaped, 96000, 20, 10000) < band_db(flat, 96000, 20, 10000) - 6.0


def test_same_seed_same_bits_other_seed_other_bits() -> None:
    x = signals.white_noise(sample_rate=44100, duration_s=0.1, level_dbfs=-40)
    assert np.array_equal(run(x, seed=3), run(x, seed=3))
    assert not np.array_equal(run(x, seed=3), run(x, seed=4))
    assert not np.array_equal(run(x)[0] - x[0], run(x)[1] - x[1])  # channels independent


@pytest.mark.parametrize("shape", ["tpdf", "noise_shaped"])
def test_block_size_never_changes_bits(shape: str) -> None:
    x = signals.white_noise(sample_rate=44100, duration_s=0.1, level_dbfs=-30)
    d = Dither(DitherParams(shape=shape, seed=9), sample_rate=44100, num_channels=2)
    whole = d.process(x)
    for block in (1, 64, 511, 4096):
        d.reset()
        n = 2000 if block == 1 else x.shape[1]
        parts = [d.process(x[:, i : min(i + block, n)]) for i in range(0, n, block)]
        assert np.array_equal(np.concatenate(parts, axis=1), whole[:, :n])


def test_error_is_uncorrelated_with_a_quiet_sine() -> None:
    # a -90 dBFS sine (about 1 LSB at 16 bits): undithered rounding makes harmonic spurs;
    # TPDF dither leaves no spur at 3f above the noise floor (+10 dB margin)
    rate, f0 = 44100, 1000.0
    x = signals.sine(f0, sample_rate=rate, duration_s=2.0, amplitude=10 ** (-90 / 20), num_channels=1)
    spec_h = {}
    for shape in ("none", "tpdf"):
        err = run(x, rate, shape=shape) - x
        f, p = sps.welch(err[0], fs=rate, nperseg=8192)
        floor = np.median(p[(f > 500) & (f < 10000)])
        spec_h[shape] = 10 * np.log10(p[np.argmin(abs(f - 3 * f0))] / floor)
    assert spec_h["tpdf"] < 10.0, f"3rd-harmonic spur {spec_h['tpdf']:.1f} dB above the floor with TPDF"
    assert spec_h["none"] > 20.0  # the test can see a spur when there is one


def test_bad_parameters() -> None:
    with pytest.raises(ParameterError, match="bit_depth=20"):
        DitherParams(bit_depth=20)
    with pytest.raises(ParameterError, match="shape='pink'"):
        DitherParams(shape="pink")
    with pytest.raises(ParameterError, match="seed=-1"):
        DitherParams(seed=-1)
