"""True-peak meter and the streaming polyphase upsampler."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from burnish.analysis.true_peak import (
    TruePeakMeter,
    Upsampler,
    design_true_peak_filter,
    true_peak_dbtp_per_channel,
    true_peak_oversample,
)
from burnish.errors import ParameterError
from tests.reference_meter import ffmpeg_loudness
from tests.signals import fade_window, sine, white_noise


@pytest.mark.parametrize("factor", [2, 4])
@pytest.mark.parametrize("taps", [12, 20])
def test_filter_passes_samples_and_has_unity_dc_gain(factor: int, taps: int) -> None:
    phases = design_true_peak_filter(factor, taps_per_phase=taps)
    assert phases.shape == (factor, taps)
    np.testing.assert_allclose(phases.sum(axis=1), 1.0, atol=1e-12)
    # branch 0 is a pure delay of taps // 2 samples: the original samples pass unchanged
    expected = np.zeros(taps)
    expected[taps // 2] = 1.0
    np.testing.assert_allclose(phases[0], expected, atol=1e-12)


def test_oversampling_factor_per_rate() -> None:
    assert [true_peak_oversample(sr) for sr in (44100, 48000, 88200, 96000, 176400, 192000)] == [4, 4, 2, 2, 1, 1]


@pytest.mark.parametrize("block_size", [1, 64, 511, 4096])
def test_upsampler_streaming_equals_offline(block_size: int) -> None:
    x = white_noise(sample_rate=48000, duration_s=0.1, seed=11)
    whole = Upsampler(4, 2).process(x)
    up = Upsampler(4, 2)
    parts = [up.process(x[:, s : s + block_size]) for s in range(0, x.shape[1], block_size)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, atol=1e-12)


def test_upsampler_reproduces_a_sine_after_its_latency() -> None:
    sample_rate, freq = 48000, 5000.0
    up = Upsampler(4, 1)
    n = 2000
    x = np.sin(2 * np.pi * freq * np.arange(n) / sample_rate)[np.newaxis, :]
    y = up.process(x)
    m = np.arange(y.shape[1])
    ideal = np.sin(2 * np.pi * freq * (m / 4 - up.latency_samples) / sample_rate)
    core = slice(400, y.shape[1] - 400)
    # 5 kHz at 48 kHz lies in the flat pass band: error below -60 dB
    assert np.max(np.abs(y[0, core] - ideal[core])) < 1e-3


def test_upsampler_keeps_dtype_reset_and_identity() -> None:
    x = white_noise(sample_rate=44100, duration_s=0.05, seed=2).astype(np.float32)
    up = Upsampler(2, 2)
    first = up.process(x)
    assert first.dtype == np.float32 and first.shape == (2, 2 * x.shape[1])
    up.reset()
    np.testing.assert_array_equal(up.process(x), first)
    one = Upsampler(1, 2)
    np.testing.assert_array_equal(one.process(x), x)
    assert one.latency_samples == 0
    assert up.process(np.zeros((2, 0), dtype=np.float32)).shape == (2, 0)


@pytest.mark.parametrize("block_size", [1, 64, 511, 4096])
def test_meter_streaming_equals_offline_and_tail_is_flushed(block_size: int) -> None:
    x = white_noise(sample_rate=44100, duration_s=0.2 if block_size == 1 else 1.0, seed=4)
    x[:, -1] = 0.9  # a peak on the very last sample needs the filter tail
    whole = TruePeakMeter(sample_rate=44100, num_channels=2)
    whole.update(x)
    meter = TruePeakMeter(sample_rate=44100, num_channels=2)
    for s in range(0, x.shape[1], block_size):
        meter.update(x[:, s : s + block_size])
    np.testing.assert_allclose(meter.peak_per_channel(), whole.peak_per_channel(), atol=1e-6)
    assert np.all(meter.peak_per_channel() >= 0.9 - 1e-6)
    meter.peak_dbtp()  # reading twice changes nothing
    np.testing.assert_allclose(meter.peak_per_channel(), whole.peak_per_channel(), atol=1e-6)


def test_silence_reads_floor_and_bad_input_raises() -> None:
    meter = TruePeakMeter(sample_rate=48000, num_channels=1)
    meter.update(np.zeros((1, 1000)))
    assert meter.peak_dbtp() == -200.0
    with pytest.raises(ParameterError, match="taps_per_phase"):
        design_true_peak_filter(4, taps_per_phase=13)
    with pytest.raises(ParameterError, match="oversample"):
        design_true_peak_filter(0)
    with pytest.raises(ParameterError, match="shaped"):
        meter.update(np.zeros((2, 10)))


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
def test_intersample_peak_agrees_with_ffmpeg(tmp_path: Path, sample_rate: int) -> None:
    # fs/4 at 45 degrees: the samples sit 3 dB below the waveform's peak (Tech 3341 case 16)
    x = sine(sample_rate / 4, sample_rate=sample_rate, duration_s=1.0, amplitude=0.5,
             phase_rad=math.radians(45.0), fade_ms=10.0)
    noise = white_noise(sample_rate=sample_rate, duration_s=1.0, level_dbfs=-45.0, seed=9)
    audio = x + noise * fade_window(x.shape[1], sample_rate // 100)
    path = tmp_path / "tp.wav"
    sf.write(path, audio.T, sample_rate, subtype="FLOAT")
    ref = ffmpeg_loudness(path, true_peak=True)
    ours = max(true_peak_dbtp_per_channel(audio, sample_rate=sample_rate))
    assert ref.true_peak_dbtp is not None
    # ffmpeg prints one decimal: +-0.05 rounding on top of the +-0.2 dB agreement
    assert ours == pytest.approx(ref.true_peak_dbtp, abs=0.25)
    assert max(np.max(np.abs(audio), axis=1)) < 10 ** (-7.0 / 20)  # the samples alone miss it
