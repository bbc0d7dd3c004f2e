"""Stereo measurements on signals with known correlation."""

from __future__ import annotations

import numpy as np
import pytest

from burnish.analysis.stereo import StereoAccumulator, measure_stereo
from tests.signals import pink_noise, sine


def test_mono_content_in_stereo() -> None:
    x = pink_noise(sample_rate=44100, duration_s=4.0, num_channels=1, seed=1)
    r = measure_stereo(np.vstack([x, x]), sample_rate=44100)
    assert r.correlation == pytest.approx(1.0, abs=1e-9)
    assert r.width_pct == pytest.approx(0.0, abs=1e-6)
    assert r.mono_fold_down_loss_db == pytest.approx(0.0, abs=0.01)


def test_independent_channels() -> None:
    x = pink_noise(sample_rate=44100, duration_s=10.0, seed=2)
    r = measure_stereo(x, sample_rate=44100)
    assert r.correlation == pytest.approx(0.0, abs=0.05)
    assert r.width_pct == pytest.approx(50.0, abs=3.0)
    assert r.mono_fold_down_loss_db == pytest.approx(-3.0, abs=0.3)


def test_inverted_bass_is_found_in_the_low_band() -> None:
    sr = 44100
    bass = sine(60.0, sample_rate=sr, duration_s=5.0, num_channels=1, amplitude=0.4)[0]
    hats = sine(6000.0, sample_rate=sr, duration_s=5.0, num_channels=1, amplitude=0.1)[0]
    x = np.vstack([bass + hats, -bass + hats])
    r = measure_stereo(x, sample_rate=sr)
    assert r.correlation_by_band is not None
    assert r.correlation_by_band["low"] == pytest.approx(-1.0, abs=0.02)
    assert r.correlation_by_band["high"] == pytest.approx(1.0, abs=0.02)
    assert r.mono_fold_down_loss_db is not None and r.mono_fold_down_loss_db < -6.0


def test_mono_file_has_no_stereo_fields() -> None:
    r = measure_stereo(np.zeros((1, 44100)), sample_rate=44100)
    assert r.correlation is None and r.width_pct is None and r.correlation_by_band is None
    assert r.to_dict()["correlation"] is None


def test_streaming_equals_offline_and_series_length() -> None:
    x = pink_noise(sample_rate=48000, duration_s=3.3, seed=3)
    whole = measure_stereo(x, sample_rate=48000)
    acc = StereoAccumulator(sample_rate=48000, num_channels=2)
    for i in range(0, x.shape[1], 5000):
        acc.update(x[:, i : i + 5000])
    r = acc.result()
    assert r.correlation == pytest.approx(whole.correlation, abs=1e-12)
    assert r.correlation_series is not None and whole.correlation_series is not None
    assert r.correlation_series.size == 7  # 6 full 0.5 s windows and the partial last one
    np.testing.assert_allclose(r.correlation_series, whole.correlation_series, atol=1e-12)
