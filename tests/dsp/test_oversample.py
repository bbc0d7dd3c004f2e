"""Oversampler: pass band, stop band, latency, streaming."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from burnish.dsp.oversample import Oversampler, design_halfband, design_stages
from burnish.errors import ParameterError
from tests import signals


def _up_response_db(factor: int, quality: str) -> tuple[np.ndarray, np.ndarray]:
    osm = Oversampler(factor, 1, quality=quality)  # type: ignore[arg-type]
    x = np.zeros((1, 1024))
    x[0, 200] = 1.0
    h = osm.upsample(x)[0] / factor
    freqs, resp = scipy.signal.freqz(h, worN=1 << 15, fs=factor)  # frequency in units of fs
    return freqs, 20 * np.log10(np.abs(resp) + 1e-300)


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize(("quality", "pass_edge", "stop_db"), [("standard", 0.43, 90.0), ("high", 0.4535, 120.0)])
def test_pass_and_stop_band(factor: int, quality: str, pass_edge: float, stop_db: float) -> None:
    freqs, db = _up_response_db(factor, quality)
    passband = db[freqs <= pass_edge]
    assert np.max(np.abs(passband)) <= 0.01, "pass-band ripple within ±0.01 dB"
    stop = db[freqs >= 1.0 - pass_edge]
    assert np.max(stop) <= -stop_db, f"stop band at least {stop_db} dB down"
    # half-band: -6.02 dB at the base-rate Nyquist frequency, within ±0.01 dB
    assert abs(np.interp(0.5, freqs, db) + 6.02) <= 0.01


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("quality", ["standard", "high"])
def test_round_trip_is_a_whole_sample_delay(factor: int, quality: str) -> None:
    osm = Oversampler(factor, 2, quality=quality)  # type: ignore[arg-type]
    x = signals.white_noise(sample_rate=44100, duration_s=0.3, num_channels=2, seed=1)
    sos = scipy.signal.butter(10, 15000, fs=44100, output="sos")
    x = scipy.signal.sosfilt(sos, x, axis=1)
    y = osm.downsample(osm.upsample(x))
    lat = osm.latency_samples
    assert lat == 2 * osm.upsample_latency_samples
    err = y[:, lat + 1000 :] - x[:, 1000 : x.shape[1] - lat]
    err_db = 10 * np.log10(np.mean(err**2) / np.mean(x**2))
    assert err_db < (-80.0 if quality == "standard" else -100.0), f"round trip error {err_db:.1f} dB"


def test_upsample_latency_aligns_samples() -> None:
    # the phase-0 outputs of a half-band cascade are the input delayed exactly
    osm = Oversampler(4, 1)
    x = signals.white_noise(sample_rate=48000, duration_s=0.01, num_channels=1, seed=2)
    u = osm.upsample(x)
    lat = osm.upsample_latency_samples
    np.testing.assert_array_equal(u[0, 4 * lat :: 4], x[0, : x.shape[1] - lat])


def test_true_peak_of_fs4_sine_at_45_degrees() -> None:
    # EBU Tech 3341 case 16 shape: samples at -9.03 dBFS, true peak -6.02 dBFS
    x = signals.sine(12000, sample_rate=48000, duration_s=0.1, amplitude=0.5, num_channels=1, phase_rad=np.pi / 4)
    u = Oversampler(4, 1).upsample(x)[:, 400:]
    assert abs(20 * np.log10(np.max(np.abs(u))) - 20 * np.log10(0.5)) <= 0.05


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("block", [1, 64, 511, 4096])
def test_streaming_equals_offline(factor: int, block: int) -> None:
    x = signals.white_noise(sample_rate=44100, duration_s=0.1, num_channels=2, seed=3)
    osm = Oversampler(factor, 2, quality="high")
    whole_up = osm.upsample(x)
    whole_down = osm.downsample(whole_up)
    osm.reset()
    parts_up = [osm.upsample(x[:, i : i + block]) for i in range(0, x.shape[1], block)]
    up = np.concatenate(parts_up, axis=1)
    np.testing.assert_array_equal(up, whole_up)
    hb = block * factor
    down = np.concatenate([osm.downsample(up[:, i : i + hb]) for i in range(0, up.shape[1], hb)], axis=1)
    np.testing.assert_array_equal(down, whole_down)


def test_reset_dtype_empty_and_errors() -> None:
    osm = Oversampler(4, 2)
    x = signals.white_noise(sample_rate=44100, duration_s=0.02, seed=4).astype(np.float32)
    a = osm.upsample(x)
    osm.reset()
    b = osm.upsample(x)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    assert osm.upsample(np.zeros((2, 0))).shape == (2, 0)
    assert osm.downsample(np.zeros((2, 0))).shape == (2, 0)
    with pytest.raises(ParameterError, match="multiple of factor=4"):
        osm.downsample(np.zeros((2, 6)))
    with pytest.raises(ParameterError, match="factor"):
        Oversampler(3, 1)
    with pytest.raises(ParameterError, match="quality"):
        Oversampler(2, 1, quality="best")  # type: ignore[arg-type]


def test_halfband_identity() -> None:
    taps = design_halfband(40, kaiser_beta=10.0)
    assert taps[40] == 0.5
    assert np.all(taps[0::2][np.arange(41) != 20] == 0.0)
    assert abs(taps.sum() - 1.0) < 1e-15
    for s, st in enumerate(design_stages(8), start=1):
        assert st.half_length % 2**s == 0


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("block", [1, 64, 511, 4096])
def test_float32_compute_streams_bit_exactly_and_tracks_float64(factor: int, block: int) -> None:
    x = signals.white_noise(sample_rate=44100, duration_s=0.1, num_channels=2, seed=3).astype(np.float32)
    osm = Oversampler(factor, 2, quality="high", compute_dtype=np.float32)
    whole_up = osm.upsample(x)
    whole_down = osm.downsample(whole_up)
    assert whole_up.dtype == np.float32 and whole_down.dtype == np.float32
    osm.reset()
    up = np.concatenate([osm.upsample(x[:, i : i + block]) for i in range(0, x.shape[1], block)], axis=1)
    np.testing.assert_array_equal(up, whole_up)
    hb = block * factor
    down = np.concatenate([osm.downsample(up[:, i : i + hb]) for i in range(0, up.shape[1], hb)], axis=1)
    np.testing.assert_array_equal(down, whole_down)
    # float32 rounding stays ~130 dB below the signal (within 1e-6 of full scale)
    ref = Oversampler(factor, 2, quality="high").upsample(x.astype(np.float64))
    assert np.max(np.abs(whole_up - ref)) <= 1e-6 * np.max(np.abs(x))


def test_compute_dtype_must_be_float() -> None:
    with pytest.raises(ParameterError, match="compute_dtype"):
        Oversampler(2, 1, compute_dtype=np.int16)


def test_kaiser_formulas_match_scipy() -> None:
    """The Kaiser window formulas written out in oversample.py agree with scipy.signal."""
    import scipy.signal

    from burnish.dsp.oversample import kaiser_beta, kaiser_num_taps

    for atten_db in (30.0, 60.0, 108.0, 130.0):
        assert abs(kaiser_beta(atten_db) - scipy.signal.kaiser_beta(atten_db)) < 1e-12
        for width in (0.05, 0.14, 0.3):
            assert kaiser_num_taps(atten_db, width) == scipy.signal.kaiserord(atten_db, width)[0]
