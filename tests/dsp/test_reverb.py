"""Mastering reverb: RT60, wet high-pass, mono compatibility, identity at mix 0."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from burnish.dsp.reverb import Reverb, ReverbParams, apply_reverb
from burnish.errors import ParameterError
from tests import signals


def wet_ir(rate: int, decay_s: float, **kw: float) -> np.ndarray:
    n = int(rate * decay_s * 1.5)
    x = signals.impulse(num_samples=n)
    y = apply_reverb(x, ReverbParams(mix=0.5, decay_s=decay_s, **kw), sample_rate=rate)
    return (y - x) / 0.5


def rt60_s(ir: np.ndarray, rate: int) -> float:
    """Schroeder backward integration, T20 (-5 to -25 dB) extrapolated to 60 dB."""
    e = np.sum(ir**2, axis=0)
    edc = np.cumsum(e[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    return float((np.argmax(edc_db < -25) - np.argmax(edc_db < -5)) / rate * 3)


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
@pytest.mark.parametrize("decay_s", [0.4, 0.8, 1.5])
def test_rt60_matches_decay(rate: int, decay_s: float) -> None:
    ir = wet_ir(rate, decay_s)
    broadband = rt60_s(ir, rate)
    assert abs(broadband / decay_s - 1) <= 0.15, f"broadband RT60 {broadband:.3f} s vs {decay_s} s +-15 %"
    octave = sps.butter(3, (707, 1414), "bandpass", fs=rate, output="sos")
    at_1k = rt60_s(sps.sosfilt(octave, ir, axis=1), rate)
    assert abs(at_1k / decay_s - 1) <= 0.05, f"1 kHz octave RT60 {at_1k:.3f} s vs {decay_s} s +-5 %"


def test_wet_highpass_removes_lows() -> None:
    rate = 44100
    ir = wet_ir(rate, 0.8, highpass_hz=200.0)
    f, p = sps.welch(ir, fs=rate, nperseg=8192, axis=1)
    p = p.sum(axis=0)
    low = 10 * np.log10(np.mean(p[(f > 20) & (f < 60)]))
    mid = 10 * np.log10(np.mean(p[(f > 500) & (f < 2000)]))
    assert low < mid - 15.0, f"wet below 60 Hz only {mid - low:.1f} dB under the mids (want > 15 dB)"


def test_wet_is_decorrelated_but_mono_compatible() -> None:
    ir = wet_ir(48000, 0.8)
    stereo_energy = np.mean(ir**2)
    mono_energy = np.mean((0.5 * (ir[0] + ir[1])) ** 2)
    fold_db = 10 * np.log10(mono_energy / stereo_energy)
    assert -4.0 <= fold_db <= 0.0, f"mono fold-down of the wet {fold_db:.2f} dB (want -3 +-1 dB)"
    assert abs(np.corrcoef(ir)[0, 1]) < 0.2
    narrow = wet_ir(48000, 0.8, width=0.0)
    assert np.allclose(narrow[0], narrow[1])


def test_mix_zero_is_identity_and_runs_are_deterministic() -> None:
    x = signals.white_noise(sample_rate=44100, duration_s=0.2)
    assert np.array_equal(apply_reverb(x, ReverbParams(mix=0.0), sample_rate=44100), x)
    a = apply_reverb(x, ReverbParams(), sample_rate=44100)
    assert np.array_equal(a, apply_reverb(x, ReverbParams(), sample_rate=44100))
    room_db = signals.rms_db(a - x) - signals.rms_db(x)
    assert -40.0 < room_db < -20.0, f"default room {room_db:.1f} dB under the dry (subtle: -40..-20 dB)"


def test_wet_level_is_normalised() -> None:
    rate = 44100
    x = signals.white_noise(sample_rate=rate, duration_s=1.0)
    y = apply_reverb(x, ReverbParams(mix=0.5, highpass_hz=20.0), sample_rate=rate)
    wet_db = signals.rms_db((y - x)[:, rate // 2 :] / 0.5) - signals.rms_db(x)
    assert -10.0 <= wet_db <= 3.0, f"wet/in {wet_db:.1f} dB"


def test_bad_parameters_and_rate_limits() -> None:
    with pytest.raises(ParameterError, match="mix=0.9"):
        ReverbParams(mix=0.9)
    with pytest.raises(ParameterError, match="decay_s"):
        ReverbParams(decay_s=0.0)
    with pytest.raises(ParameterError, match="damping_hz"):
        Reverb(ReverbParams(damping_hz=19000.0), sample_rate=32000, num_channels=2)
