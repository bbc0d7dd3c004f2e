"""The biquad kernel against scipy.signal (an independent implementation), and the closed-form
Butterworth design against ``scipy.signal.butter``."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from burnish.dsp.biquad import SosCascade, sosfilt_state
from burnish.dsp.eq import fir_response, tukey_window
from burnish.dsp.filters import design_butterworth_sos, sos_response


@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
@pytest.mark.parametrize("order", list(range(1, 17)))
@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000, 192000])
def test_butterworth_equals_scipy(kind: str, order: int, sample_rate: int) -> None:
    for cutoff_hz in (5.0, 20.0, 120.0, 1000.0, 6000.0, 15000.0, 0.45 * sample_rate):
        ours = design_butterworth_sos(kind, cutoff_hz, order, sample_rate=sample_rate)  # type: ignore[arg-type]
        ref = scipy.signal.butter(order, cutoff_hz, btype=kind, fs=sample_rate, output="sos")
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


def test_sos_response_equals_freqz_sos() -> None:
    sos = scipy.signal.butter(6, 1000.0, fs=48000, output="sos")
    f = np.geomspace(1.0, 23999.0, 300)
    ref = scipy.signal.freqz_sos(sos, worN=f, fs=48000)[1]
    np.testing.assert_allclose(sos_response(sos, f, sample_rate=48000), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("num_sections", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("num_channels", [1, 2])
def test_kernel_equals_sosfilt(num_sections: int, num_channels: int) -> None:
    rng = np.random.default_rng(1)
    sos = scipy.signal.butter(max(2 * num_sections, 1), 700.0, fs=44100, output="sos")[:num_sections]
    sos = np.asarray(sos).reshape(-1, 6)
    x = rng.standard_normal((num_channels, 5000))
    zi = rng.standard_normal((num_sections, num_channels, 2)) * 0.1
    y, zf = sosfilt_state(sos, x, zi)
    if num_sections:
        ref, ref_zf = scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)
    else:
        ref, ref_zf = x, zi
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(zf, ref_zf, rtol=0, atol=1e-12)
    y1, zf1 = sosfilt_state(sos, x[0], zi[:, 0, :])
    np.testing.assert_array_equal(y1, y[0])
    np.testing.assert_array_equal(zf1, zf[:, 0, :])


@pytest.mark.parametrize("block", [1, 63, 64, 511, 4096])
def test_cascade_streaming_is_bit_exact_and_flushes_silence(block: int) -> None:
    sos = scipy.signal.butter(5, 30.0, btype="highpass", fs=48000, output="sos")
    x = np.zeros((2, 48000 * 3))
    x[:, 100] = 1.0
    whole = SosCascade(sos, 2)(np.ascontiguousarray(x))
    cascade = SosCascade(sos, 2)
    parts = [cascade(np.ascontiguousarray(x[:, i : i + block])) for i in range(0, x.shape[1], block)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    # after the impulse has decayed far below 1e-30 the state is exactly zero (no subnormals)
    assert np.all(cascade.state == 0.0)
    cascade.reset()
    np.testing.assert_array_equal(cascade(np.ascontiguousarray(x)), whole)


def test_tukey_and_fir_response_equal_scipy() -> None:
    for length, alpha in ((63, 0.1), (8191, 0.1), (64, 0.5), (101, 1.0)):
        np.testing.assert_allclose(
            tukey_window(length, alpha), scipy.signal.windows.tukey(length, alpha), atol=1e-14
        )
    taps = np.random.default_rng(2).standard_normal(255)
    f = np.linspace(0.0, 24000.0, 97)
    ref = scipy.signal.freqz(taps, worN=f, fs=48000.0)[1]
    np.testing.assert_allclose(fir_response(taps, f, sample_rate=48000), ref, rtol=1e-12, atol=1e-10)
