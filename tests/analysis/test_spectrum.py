"""Long-term spectrum: band-power view, tilt, sine placement, streaming equals offline."""

from __future__ import annotations

import numpy as np
import pytest

from burnish.analysis.curves import available_curves, compare_to_curve, load_curve
from burnish.analysis.spectrum import SpectrumAccumulator, long_term_spectrum, third_octave_bands
from burnish.errors import TargetError
from tests.signals import pink_noise, sine, white_noise


@pytest.fixture(scope="module")
def pink_result():
    x = pink_noise(sample_rate=44100, duration_s=30.0, level_dbfs=-20.0, seed=3)
    return long_term_spectrum(x, sample_rate=44100)


def test_pink_noise_is_flat_on_the_band_power_view(pink_result) -> None:
    # 1/3-octave band power: pink noise puts equal power in every band (0 dB/band).
    r = pink_result
    sel = (r.band_centers_hz >= 50) & (r.band_centers_hz <= 16000)
    spread = r.mid_db[sel] - np.mean(r.mid_db[sel])
    assert np.max(np.abs(spread)) <= 0.5, spread
    assert abs(r.tilt_db_per_octave) <= 0.5  # band view: 0 dB/octave (per-Hz view: -3)


def test_white_noise_rises_3_db_per_octave() -> None:
    x = white_noise(sample_rate=48000, duration_s=10.0, seed=4)
    r = long_term_spectrum(x, sample_rate=48000)
    assert r.tilt_db_per_octave == pytest.approx(3.01, abs=0.5)


def test_band_power_sums_to_signal_power() -> None:
    # White noise at -20 dBFS per channel; the mid of independent channels is 3 dB lower; the
    # bands cover 17.8 Hz-22.39 kHz of the 24 kHz: 10 log10(22387 / 24000) = -0.30 dB.
    x = white_noise(sample_rate=48000, duration_s=10.0, level_dbfs=-20.0, seed=6)
    r = long_term_spectrum(x, sample_rate=48000)
    total = 10 * np.log10(np.sum(10 ** (r.mid_db / 10)))
    assert total == pytest.approx(-20.0 - 3.01 - 0.30, abs=0.1)


@pytest.mark.parametrize("frequency_hz", [63.0, 1000.0, 12500.0])
def test_sine_lands_in_its_band_with_its_power(frequency_hz: float) -> None:
    x = sine(frequency_hz, sample_rate=48000, duration_s=4.0, amplitude=0.5)
    r = long_term_spectrum(x, sample_rate=48000)
    k = int(np.argmax(r.mid_db))
    assert r.band_centers_hz[k] == frequency_hz
    assert r.mid_db[k] == pytest.approx(10 * np.log10(0.125), abs=0.1)  # sine power A^2/2
    assert r.side_db is not None and np.max(r.side_db) < -150.0  # L == R: no side


def test_bands_above_nyquist_are_omitted() -> None:
    assert third_octave_bands(44100)[0][-1] == 16000.0
    assert third_octave_bands(48000)[0][-1] == 20000.0


@pytest.mark.parametrize("block", [1000, 4096, 65536])
def test_streaming_equals_offline(block: int) -> None:
    x = pink_noise(sample_rate=44100, duration_s=3.0, seed=5)
    whole = long_term_spectrum(x, sample_rate=44100)
    acc = SpectrumAccumulator(sample_rate=44100, num_channels=2)
    for i in range(0, x.shape[1], block):
        acc.update(x[:, i : i + block])
    r = acc.result()
    np.testing.assert_allclose(r.mid_db, whole.mid_db, atol=1e-6)
    assert r.side_db is not None and whole.side_db is not None
    np.testing.assert_allclose(r.side_db, whole.side_db, atol=1e-6)


def test_mono_and_short_input() -> None:
    x = sine(1000.0, sample_rate=44100, duration_s=0.1, num_channels=1)  # shorter than a frame
    r = long_term_spectrum(x, sample_rate=44100)
    assert r.side_db is None
    assert r.band_centers_hz[int(np.argmax(r.mid_db))] == 1000.0


def test_curves_load_and_compare(pink_result, tmp_path) -> None:
    names = available_curves()
    assert {"neutral", "bright", "warm", "orchestral", "hiphop_edm"} <= set(names)
    for name in names:
        c = load_curve(name)
        assert c.source and c.description
        assert c.level_db[list(c.band_centers_hz).index(1000.0)] == 0.0
    cmp = compare_to_curve(pink_result, load_curve("neutral"))
    # pink noise is brighter than music: the top end reads above the target, the bass below
    assert cmp.regions_db["high"] is not None and cmp.regions_db["high"] > 3.0
    assert cmp.regions_db["low"] is not None and cmp.regions_db["low"] < 0.0
    flat = tmp_path / "flat.json"
    flat.write_text('{"name": "flat", "band_centers_hz": [20, 1000, 20000], "level_db": [0, 0, 0]}')
    cmp_flat = compare_to_curve(pink_result, load_curve(str(flat)))
    assert all(abs(v) < 0.5 for v in cmp_flat.regions_db.values() if v is not None)
    with pytest.raises(TargetError, match="unknown target curve"):
        load_curve("nope")
