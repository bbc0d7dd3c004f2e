"""Multiband compressor: flat crossover sum, LR4 truths, solo/bypass, band isolation, invariants."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from burnish.dsp.base import process_offline, processor_from_dict
from burnish.dsp.dynamics import CompressorParams
from burnish.dsp.multiband import (
    MultibandCompressor,
    MultibandParams,
    crossover_band_responses,
    design_lr4_crossover,
)
from burnish.errors import ParameterError
from tests import signals

RATES = (44100, 48000, 96000)
CHANNELS = (1, 2)
TRANSPARENT = CompressorParams(ratio=1.0)


def _transfer_db(x: np.ndarray, y: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    f = np.fft.rfftfreq(x.shape[-1], 1 / sample_rate)
    h = np.fft.rfft(y, axis=-1) / np.fft.rfft(x, axis=-1)
    return f, 20 * np.log10(np.abs(h))


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("crossover_hz", [(120.0, 1000.0, 6000.0), (250.0, 4000.0), (80.0,)])
def test_bands_sum_flat(sample_rate: int, crossover_hz: tuple[float, ...]) -> None:
    n = 1 << 16
    x = signals.impulse(num_samples=n, position=10, amplitude=1e-3, num_channels=2)
    bands = (CompressorParams(),) * (len(crossover_hz) + 1)  # default settings, under threshold
    mb = MultibandCompressor(
        MultibandParams(crossover_hz=crossover_hz, bands=bands),
        sample_rate=sample_rate,
        num_channels=2,
    )
    y = process_offline(mb, x)
    assert mb.gain_reduction_db().max() == 0.0
    f, mag_db = _transfer_db(x[0], y[0], sample_rate)
    sel = (f >= 20.0) & (f <= 20000.0)
    assert np.max(np.abs(mag_db[sel])) < 0.1, "flat within +-0.1 dB from 20 Hz to 20 kHz"


@pytest.mark.parametrize("sample_rate", RATES)
def test_lr4_is_minus_6_db_at_crossover_and_sums_to_allpass(sample_rate: int) -> None:
    xs = (120.0, 1000.0, 6000.0)
    resp = crossover_band_responses(xs, list(xs), sample_rate=sample_rate)
    for k, fc in enumerate(xs):
        # at crossover k the two adjacent bands are each -6.02 dB (LR4: |H|^2 = 1/4)
        assert 20 * np.log10(abs(resp[k, k])) == pytest.approx(-6.02, abs=0.05), f"{fc} Hz"
        assert 20 * np.log10(abs(resp[k + 1, k])) == pytest.approx(-6.02, abs=0.05), f"{fc} Hz"
    f = np.geomspace(20, 20000, 200)
    total = crossover_band_responses(xs, f, sample_rate=sample_rate).sum(axis=0)
    assert np.max(np.abs(20 * np.log10(np.abs(total)))) < 1e-6
    d = design_lr4_crossover(1000.0, sample_rate=sample_rate)
    assert d.lowpass_sos.shape == (2, 6) and d.allpass_sos.shape == (1, 6)


def test_solo_outputs_only_the_soloed_band() -> None:
    sr = 48000
    x = signals.sine(3000.0, sample_rate=sr, duration_s=0.3, amplitude=0.01, num_channels=2)
    bands = (TRANSPARENT,) * 4
    tail = slice(sr // 10, None)

    def solo(k: int) -> np.ndarray:
        flags = tuple(i == k for i in range(4))
        p = MultibandParams(bands=bands, solo=flags)
        return process_offline(MultibandCompressor(p, sample_rate=sr, num_channels=2), x)

    # 3 kHz lies in band 2 (1-6 kHz). LR4 magnitudes with the bilinear frequency warping
    # w = tan(pi f / fs): |LP4| = 1 / (1 + (w/wc)^4), |HP4| = (w/wc)^4 / (1 + (w/wc)^4)
    w = np.tan(np.pi * 3000.0 / sr)
    ratio = [(w / np.tan(np.pi * fc / sr)) ** 4 for fc in (120.0, 1000.0, 6000.0)]
    expected_db = 20 * np.log10(
        ratio[0] / (1 + ratio[0]) * ratio[1] / (1 + ratio[1]) / (1 + ratio[2])
    )
    gain_db = signals.rms_db(solo(2)[:, tail]) - signals.rms_db(x[:, tail])
    assert gain_db == pytest.approx(expected_db, abs=0.02), "soloed band within +-0.02 dB"
    assert signals.rms_db(solo(0)[:, tail]) < signals.rms_db(x[:, tail]) - 60.0
    # the soloed bands add back up to the whole (no compression: linear)
    full = process_offline(
        MultibandCompressor(MultibandParams(bands=bands), sample_rate=sr, num_channels=2), x
    )
    np.testing.assert_allclose(sum(solo(k) for k in range(4)), full, atol=1e-15)


def test_bypass_passes_bands_unprocessed() -> None:
    sr = 44100
    x = signals.white_noise(sample_rate=sr, duration_s=0.2, level_dbfs=-6.0, seed=4)
    heavy = CompressorParams(threshold_db=-60.0, ratio=20.0, lookahead_ms=2.0)
    bypassed = MultibandCompressor(
        MultibandParams(bands=(heavy,) * 4, bypass=(True,) * 4), sample_rate=sr, num_channels=2
    )
    transparent = MultibandCompressor(
        MultibandParams(bands=(TRANSPARENT,) * 4), sample_rate=sr, num_channels=2
    )
    assert bypassed.latency_samples == round(2e-3 * sr)
    np.testing.assert_array_equal(process_offline(bypassed, x), process_offline(transparent, x))
    assert bypassed.gain_reduction_db().max() == 0.0
    # bypassing one band: that band is untouched, the others compress
    one = MultibandCompressor(
        MultibandParams(bands=(heavy,) * 4, bypass=(False, True, False, False)),
        sample_rate=sr,
        num_channels=2,
    )
    one.process(x)
    gr = one.gain_reduction_db()
    assert gr.shape == (4, x.shape[1])
    assert gr[1].max() == 0.0 and gr[0].max() > 10.0 and gr[3].max() > 10.0


def test_compression_acts_only_in_its_band() -> None:
    sr = 48000
    n = sr
    t = np.arange(n) / sr
    low = 0.5 * np.sin(2 * np.pi * 60.0 * t)
    high = 0.01 * np.sin(2 * np.pi * 5000.0 * t)
    x = np.vstack([low + high, low + high])
    squash = CompressorParams(threshold_db=-30.0, ratio=10.0, knee_db=0.0)
    p = MultibandParams(crossover_hz=(200.0, 2000.0), bands=(squash, TRANSPARENT, TRANSPARENT))
    mb = MultibandCompressor(p, sample_rate=sr, num_channels=2)
    y = process_offline(mb, x)
    tail = slice(n // 2, None)
    seg_x, seg_y = x[0, tail], y[0, tail]
    f, _ = _transfer_db(seg_x, seg_y, sr)
    sx, sy = np.abs(np.fft.rfft(seg_x)), np.abs(np.fft.rfft(seg_y))
    k60, k5k = np.argmin(np.abs(f - 60.0)), np.argmin(np.abs(f - 5000.0))
    assert 20 * np.log10(sy[k5k] / sx[k5k]) == pytest.approx(0.0, abs=0.1), "5 kHz untouched"
    assert 20 * np.log10(sy[k60] / sx[k60]) < -10.0, "60 Hz compressed"
    gr = mb.gain_reduction_db()
    assert gr[1:].max() == 0.0


def test_band_lookahead_is_aligned() -> None:
    sr = 48000
    x = signals.white_noise(sample_rate=sr, duration_s=0.1, level_dbfs=-30.0, seed=5)
    with_la = (TRANSPARENT, dataclasses.replace(TRANSPARENT, lookahead_ms=5.0), TRANSPARENT)
    a = MultibandCompressor(
        MultibandParams(crossover_hz=(300.0, 3000.0), bands=with_la), sample_rate=sr, num_channels=2
    )
    b = MultibandCompressor(
        MultibandParams(crossover_hz=(300.0, 3000.0), bands=(TRANSPARENT,) * 3),
        sample_rate=sr,
        num_channels=2,
    )
    assert a.latency_samples == 240 and b.latency_samples == 0
    np.testing.assert_array_equal(process_offline(a, x), process_offline(b, x))


# --------------------------------------------------------------------------------------------
# parameters


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"crossover_hz": (1000.0, 500.0), "bands": (TRANSPARENT,) * 3}, "strictly ascending"),
        (
            {"crossover_hz": (20.0,), "bands": (TRANSPARENT,) * 2},
            "crossover_hz[0]=20.0 must be in (20, 20000)",
        ),
        (
            {"crossover_hz": (100.0, 20000.0), "bands": (TRANSPARENT,) * 3},
            "crossover_hz[1]=20000.0 must be in (20, 20000)",
        ),
        (
            {"crossover_hz": (100.0, 200.0)},
            "bands has 4 entries; it must have len(crossover_hz) + 1 = 3",
        ),
        ({"crossover_hz": ()}, "must hold 1 to 3 frequencies"),
        ({"solo": (True,)}, "solo=(True,) must be empty or have one flag per band (4)"),
        ({"bypass": (1, 0, 0, 0)}, "bypass[0]=1 must be true or false"),
    ],
)
def test_parameter_errors(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        MultibandParams(**kwargs)
    assert fragment in str(info.value)


def test_crossover_above_nyquist_is_rejected() -> None:
    with pytest.raises(ParameterError, match=r"crossover_hz\[2\]=6000.0 must be below 4000.0"):
        MultibandCompressor(MultibandParams(), sample_rate=8000, num_channels=1)


def test_json_round_trip_rebuilds_nested_bands() -> None:
    p = MultibandParams(
        crossover_hz=(200.0, 2000.0),
        bands=(CompressorParams(ratio=3.0), TRANSPARENT, CompressorParams(auto_release=True)),
        solo=(False, True, False),
    )
    mb = MultibandCompressor(p, sample_rate=44100, num_channels=2)
    data = json.loads(json.dumps(mb.to_dict()))
    again = processor_from_dict(data, sample_rate=44100, num_channels=2)
    assert isinstance(again, MultibandCompressor) and again.params == p
    assert MultibandParams().num_bands == 4


# --------------------------------------------------------------------------------------------
# invariants


def _busy(num_channels: int) -> MultibandParams:
    return MultibandParams(
        bands=(
            CompressorParams(threshold_db=-40.0, ratio=4.0, attack_ms=2.0, release_ms=30.0),
            CompressorParams(threshold_db=-40.0, ratio=3.0, lookahead_ms=1.0, detector="rms"),
            CompressorParams(
                threshold_db=-45.0,
                ratio=2.0,
                auto_release=True,
                stereo_mode="mid_side" if num_channels == 2 else "linked",
            ),
            CompressorParams(threshold_db=-50.0, ratio=2.0, mix=0.5, lookahead_ms=0.5),
        ),
        bypass=(False, False, False, True) if num_channels == 1 else (),
    )


def _signal(sample_rate: int, num_channels: int, n: int) -> np.ndarray:
    x = signals.pink_noise(
        sample_rate=sample_rate,
        duration_s=n / sample_rate,
        level_dbfs=-15.0,
        num_channels=num_channels,
        seed=11,
    )
    return x * np.where((np.arange(n) // 900) % 2 == 0, 1.0, 0.1)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("num_channels", CHANNELS)
def test_streaming_equals_offline(sample_rate: int, num_channels: int) -> None:
    mb = MultibandCompressor(
        _busy(num_channels), sample_rate=sample_rate, num_channels=num_channels
    )
    x = _signal(sample_rate, num_channels, 6000)
    whole = mb.process(x)
    gr_whole = mb.gain_reduction_db()
    assert gr_whole.max() > 1.0
    for block in (1, 64, 511, 4096):
        mb.reset()
        m = 500 if block == 1 else x.shape[1]
        parts, grs = [], []
        for i in range(0, m, block):
            parts.append(mb.process(x[:, i : min(i + block, m)]))
            grs.append(mb.gain_reduction_db())
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole[:, :m])
        np.testing.assert_array_equal(np.concatenate(grs, axis=1), gr_whole[:, :m])


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("num_channels", CHANNELS)
def test_reset_silence_empty_alignment(sample_rate: int, num_channels: int) -> None:
    mb = MultibandCompressor(
        _busy(num_channels), sample_rate=sample_rate, num_channels=num_channels
    )
    x = _signal(sample_rate, num_channels, 3000)
    first = mb.process(x)
    mb.reset()
    np.testing.assert_array_equal(mb.process(x), first)
    mb.reset()
    np.testing.assert_array_equal(mb.process(np.zeros((num_channels, 2000))), 0.0)
    for dtype in (np.float32, np.float64):
        empty = mb.process(np.zeros((num_channels, 0), dtype=dtype))
        assert empty.shape == (num_channels, 0) and empty.dtype == dtype
    assert mb.process(x.astype(np.float32)).dtype == np.float32
    # aligned after latency compensation: an impulse comes out starting at its own position
    la = MultibandParams(
        bands=tuple(dataclasses.replace(TRANSPARENT, lookahead_ms=2.0) for _ in range(4))
    )
    mb2 = MultibandCompressor(la, sample_rate=sample_rate, num_channels=num_channels)
    imp = signals.impulse(num_samples=4000, position=100, amplitude=1e-3, num_channels=num_channels)
    y = process_offline(mb2, imp)
    assert np.all(y[:, :100] == 0.0) and np.all(y[:, 100] != 0.0)


def test_stereo_filter_path_matches_mono() -> None:
    sr = 44100
    x = _signal(sr, 2, 3000)
    p = MultibandParams(bands=(TRANSPARENT,) * 4)
    stereo = MultibandCompressor(p, sample_rate=sr, num_channels=2).process(x)
    for c in range(2):
        mono = MultibandCompressor(p, sample_rate=sr, num_channels=1).process(x[c : c + 1])
        np.testing.assert_array_equal(stereo[c : c + 1], mono)
