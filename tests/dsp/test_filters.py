"""Filter design: the analytic truths of each design, in dB with the tolerance in the assertion."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize

from burnish.dsp.filters import (
    design_bandpass_sos,
    design_butterworth_sos,
    design_high_shelf_sos,
    design_linkwitz_riley_allpass_sos,
    design_linkwitz_riley_sos,
    design_low_shelf_sos,
    design_peaking_sos,
    design_tilt_sos,
    linkwitz_riley_sum_sign,
    sos_response,
    sos_response_db,
)
from burnish.errors import ParameterError

RATES = (44100, 48000, 96000)


def level_db(sos: np.ndarray, frequency_hz: float, sample_rate: int) -> float:
    return float(sos_response_db(sos, [frequency_hz], sample_rate=sample_rate)[0])


def crossing_hz(
    sos: np.ndarray, level: float, low_hz: float, high_hz: float, sample_rate: int
) -> float:
    """The frequency in (low_hz, high_hz) where the response equals ``level`` dB."""
    return float(
        scipy.optimize.brentq(
            lambda f: level_db(sos, f, sample_rate) - level, low_hz, high_hz, xtol=1e-9
        )
    )


def warped(frequency_hz: float, center_hz: float, sample_rate: int) -> float:
    """The bilinear transform's pre-warped frequency axis, normalised to the centre."""
    return math.tan(math.pi * frequency_hz / sample_rate) / math.tan(
        math.pi * center_hz / sample_rate
    )


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize(
    ("center_hz", "gain_db", "q"),
    [(1000.0, 6.0, 1.0), (60.0, -9.0, 4.0), (8000.0, 3.0, 0.5), (30.0, 12.0, 10.0)],
)
def test_peaking_gain_and_bandwidth(
    sample_rate: int, center_hz: float, gain_db: float, q: float
) -> None:
    sos = design_peaking_sos(center_hz, gain_db, q, sample_rate=sample_rate)
    assert level_db(sos, center_hz, sample_rate) == pytest.approx(gain_db, abs=0.05)  # +-0.05 dB
    # bandwidth: the half-gain (gain_db / 2) frequencies, on the pre-warped axis, are 1/q apart
    # and geometric about the centre (RBJ cookbook, exact for every gain)
    nyquist = sample_rate / 2
    f_lo = crossing_hz(sos, gain_db / 2, center_hz / 1000, center_hz, sample_rate)
    f_hi = crossing_hz(sos, gain_db / 2, center_hz, nyquist * 0.999999, sample_rate)
    w_lo, w_hi = warped(f_lo, center_hz, sample_rate), warped(f_hi, center_hz, sample_rate)
    assert w_hi - w_lo == pytest.approx(1 / q, rel=1e-6)
    assert w_hi * w_lo == pytest.approx(1.0, rel=1e-6)


def test_bandpass_peak_and_minus_3_db_bandwidth() -> None:
    sr, fc, q = 48000, 7000.0, 2.0
    sos = design_bandpass_sos(fc, q, sample_rate=sr)
    assert level_db(sos, fc, sr) == pytest.approx(0.0, abs=1e-9)  # 0 dB +-1e-9 dB at the centre
    f_lo = crossing_hz(sos, -3.0103, 100.0, fc, sr)
    f_hi = crossing_hz(sos, -3.0103, fc, sr / 2 * 0.9999, sr)
    assert warped(f_hi, fc, sr) - warped(f_lo, fc, sr) == pytest.approx(1 / q, rel=1e-4)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("gain_db", [6.0, -4.5, 12.0])
def test_shelves_full_gain_far_and_half_gain_at_corner(sample_rate: int, gain_db: float) -> None:
    low = design_low_shelf_sos(120.0, gain_db, sample_rate=sample_rate)
    assert level_db(low, 2.0, sample_rate) == pytest.approx(gain_db, abs=0.1)  # +-0.1 dB far below
    assert level_db(low, 15000.0, sample_rate) == pytest.approx(0.0, abs=0.1)  # 0 dB far above
    assert level_db(low, 120.0, sample_rate) == pytest.approx(
        gain_db / 2, abs=0.05
    )  # half gain +-0.05 dB
    high = design_high_shelf_sos(4000.0, gain_db, sample_rate=sample_rate)
    assert level_db(high, sample_rate / 2 * 0.999, sample_rate) == pytest.approx(gain_db, abs=0.1)
    assert level_db(high, 20.0, sample_rate) == pytest.approx(0.0, abs=0.1)
    assert level_db(high, 4000.0, sample_rate) == pytest.approx(gain_db / 2, abs=0.05)


def test_shelf_q_0707_is_monotonic() -> None:
    sos = design_high_shelf_sos(3000.0, 9.0, sample_rate=48000)
    f = np.geomspace(10, 23900, 2000)
    assert np.all(np.diff(sos_response_db(sos, f, sample_rate=48000)) >= -1e-9)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("gain_db", [3.0, -6.0])
def test_tilt_zero_at_pivot_and_total_tilt(sample_rate: int, gain_db: float) -> None:
    sos = design_tilt_sos(1000.0, gain_db, sample_rate=sample_rate)
    assert level_db(sos, 1000.0, sample_rate) == pytest.approx(
        0.0, abs=1e-9
    )  # 0 dB +-1e-9 at pivot
    assert level_db(sos, 1.0, sample_rate) == pytest.approx(-gain_db / 2, abs=0.05)
    assert level_db(sos, sample_rate / 2 * 0.9999, sample_rate) == pytest.approx(
        gain_db / 2, abs=0.05
    )


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("order", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("kind", ["highpass", "lowpass"])
def test_butterworth_minus_3_db_and_slope(sample_rate: int, order: int, kind: str) -> None:
    cutoff = 40.0 if kind == "highpass" else 500.0
    sos = design_butterworth_sos(kind, cutoff, order, sample_rate=sample_rate)  # type: ignore[arg-type]
    assert level_db(sos, cutoff, sample_rate) == pytest.approx(-3.0103, abs=0.02)  # -3.01 +-0.02 dB
    # asymptotic slope: 6.02 dB per octave per order, one octave measured well into the stopband
    ratio = 16 if order <= 4 else 4  # deep in the stopband, above the -200 dB floor
    if kind == "highpass":
        f1 = cutoff / ratio
        octave = level_db(sos, f1, sample_rate) - level_db(sos, f1 / 2, sample_rate)
    else:
        # the bilinear transform warps high frequencies: take the octave on the warped axis
        f1 = cutoff * ratio
        w1 = warped(f1, cutoff, sample_rate)
        f2 = sample_rate / math.pi * math.atan(2 * w1 * math.tan(math.pi * cutoff / sample_rate))
        octave = level_db(sos, f1, sample_rate) - level_db(sos, f2, sample_rate)
    assert octave == pytest.approx(6.0206 * order, abs=0.15)  # +-0.15 dB per octave


@pytest.mark.parametrize("order", [2, 4, 6, 8])
def test_linkwitz_riley_crossover(order: int) -> None:
    sr, fc = 48000, 1200.0
    low = design_linkwitz_riley_sos("lowpass", fc, order, sample_rate=sr)
    high = design_linkwitz_riley_sos("highpass", fc, order, sample_rate=sr)
    assert level_db(low, fc, sr) == pytest.approx(
        -6.0206, abs=0.02
    )  # -6.02 dB +-0.02 at the cutoff
    assert level_db(high, fc, sr) == pytest.approx(-6.0206, abs=0.02)
    f = np.geomspace(10, 23000, 400)
    total = sos_response(low, f, sample_rate=sr) + linkwitz_riley_sum_sign(order) * sos_response(
        high, f, sample_rate=sr
    )
    assert np.max(np.abs(20 * np.log10(np.abs(total)))) < 1e-6  # flat sum within 1e-6 dB
    allpass = sos_response(
        design_linkwitz_riley_allpass_sos(fc, order, sample_rate=sr), f, sample_rate=sr
    )
    assert np.max(np.abs(total - allpass)) < 1e-9


def test_response_of_empty_sos_is_unity() -> None:
    assert np.all(sos_response_db(np.zeros((0, 6)), [10.0, 1000.0], sample_rate=48000) == 0.0)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (
            lambda: design_peaking_sos(30000.0, 3.0, 1.0, sample_rate=48000),
            "center_hz=30000.0 must be in (0, 24000)",
        ),
        (
            lambda: design_peaking_sos(1000.0, 3.0, 0.0, sample_rate=48000),
            "q=0.0 must be in [0.025, 100]",
        ),
        (
            lambda: design_low_shelf_sos(100.0, 60.0, sample_rate=48000),
            "gain_db=60.0 must be in [-48, 48]",
        ),
        (
            lambda: design_butterworth_sos("highpass", 20.0, 0, sample_rate=48000),
            "order=0 must be a whole number in [1, 16]",
        ),
        (
            lambda: design_butterworth_sos("bandpass", 20.0, 2, sample_rate=48000),  # type: ignore[arg-type]
            "kind='bandpass' must be one of",
        ),
        (
            lambda: design_linkwitz_riley_sos("lowpass", 200.0, 3, sample_rate=48000),
            "order=3 must be one of 2, 4, 6, 8",
        ),
        (lambda: design_tilt_sos(1000.0, 3.0, sample_rate=1000), "sample_rate=1000 must be in"),
    ],
)
def test_design_errors_name_value_and_range(call: object, fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        call()  # type: ignore[operator]
    assert fragment in str(info.value)
