"""Resampler: equals soxr on the whole signal, bit for bit, for any block size."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from burnish.dsp.resample import ResampleParams, Resampler, resample, resampled_length
from burnish.errors import ParameterError
from tests import signals

PAIRS = [(44100, 48000), (48000, 44100), (96000, 44100), (44100, 96000), (48000, 48000)]


def stream(r: Resampler, x: np.ndarray, block: int) -> np.ndarray:
    r.reset()
    parts = [r.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)]
    return np.concatenate([*parts, r.flush(x.dtype)], axis=1)


@pytest.mark.parametrize(("rate", "target"), PAIRS)
@pytest.mark.parametrize("num_channels", [1, 2])
def test_streaming_equals_soxr_for_any_block_size(rate: int, target: int, num_channels: int) -> None:
    x = signals.white_noise(sample_rate=rate, duration_s=0.05, num_channels=num_channels, seed=2)
    ref = x.copy() if rate == target else soxr.resample(x.T, rate, target, "VHQ").T
    assert ref.shape[1] == resampled_length(x.shape[1], sample_rate=rate, target_sample_rate=target)
    r = Resampler(ResampleParams(target), sample_rate=rate, num_channels=num_channels)
    for block in (1, 64, 511, 4096):
        assert np.array_equal(stream(r, x, block), ref), f"block size {block}"
    assert np.array_equal(resample(x, sample_rate=rate, target_sample_rate=target), ref)


def test_tone_survives_at_the_right_frequency() -> None:
    x = signals.sine(1000.0, sample_rate=44100, duration_s=0.5, amplitude=0.5, num_channels=1)
    y = resample(x, sample_rate=44100, target_sample_rate=48000)
    ref = signals.sine(1000.0, sample_rate=48000, duration_s=0.5, amplitude=0.5, num_channels=1)
    mid = slice(2000, -2000)  # away from the edges: aligned (no delay), error below -100 dB
    assert signals.rms_db(y[:, mid] - ref[:, mid]) < -100.0


def test_dtype_silence_empty_and_flush_contract() -> None:
    r = Resampler(ResampleParams(48000), sample_rate=44100, num_channels=2)
    y = stream(r, np.zeros((2, 4410), dtype=np.float32), 512)
    assert y.dtype == np.float32 and y.shape == (2, 4800) and not y.any()
    r.reset()
    assert r.process(np.zeros((2, 0))).shape == (2, 0)
    r.flush()
    with pytest.raises(ParameterError, match="reset"):
        r.process(np.zeros((2, 10)))


def test_bad_parameters() -> None:
    with pytest.raises(ParameterError, match="target_sample_rate=1000"):
        ResampleParams(target_sample_rate=1000)
    with pytest.raises(ParameterError, match="quality='best'"):
        ResampleParams(quality="best")
