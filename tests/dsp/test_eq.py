"""Parametric EQ (minimum/linear phase), dynamic EQ and de-esser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pytest

from burnish.dsp.base import Processor, process_offline, processor_from_dict
from burnish.dsp.eq import (
    DeEsser,
    DeEsserParams,
    DynamicEq,
    DynamicEqParams,
    EqBandParams,
    EqParams,
    ParametricEq,
    apply_eq,
)
from burnish.errors import ChainError, ParameterError
from tests import signals
from tests.dsp.test_gain import CHANNELS, RATES, assert_processor_invariants

MIXED_BANDS = (
    EqBandParams(type="bell", frequency_hz=1000.0, gain_db=6.0, q=1.0),
    EqBandParams(type="low_shelf", frequency_hz=100.0, gain_db=3.0, channels="left"),
    EqBandParams(type="highpass", frequency_hz=30.0, slope_db_per_octave=24, channels="mid"),
    EqBandParams(type="high_shelf", frequency_hz=8000.0, gain_db=-4.0, channels="side"),
    EqBandParams(type="tilt", frequency_hz=800.0, gain_db=2.0, q=0.5),
    EqBandParams(type="lowpass", frequency_hz=18000.0, slope_db_per_octave=12),
    EqBandParams(type="bell", frequency_hz=3000.0, gain_db=9.0, enabled=False),
)

MAKERS: dict[str, Callable[[int, int], Processor]] = {
    "eq_minimum": lambda sr, ch: ParametricEq(
        EqParams(bands=MIXED_BANDS), sample_rate=sr, num_channels=ch
    ),
    "eq_linear": lambda sr, ch: ParametricEq(
        EqParams(bands=MIXED_BANDS, phase="linear", linear_phase_length=255),
        sample_rate=sr,
        num_channels=ch,
    ),
    "dynamic_eq": lambda sr, ch: DynamicEq(
        DynamicEqParams(frequency_hz=6800.0, threshold_db=-40.0), sample_rate=sr, num_channels=ch
    ),
    "dynamic_eq_side_shelf": lambda sr, ch: DynamicEq(
        DynamicEqParams(
            type="high_shelf", q=0.707, threshold_db=-50.0, channels="side", mode="boost"
        ),
        sample_rate=sr,
        num_channels=ch,
    ),
    "deesser": lambda sr, ch: DeEsser(
        DeEsserParams(threshold_db=-45.0), sample_rate=sr, num_channels=ch
    ),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("num_channels", CHANNELS)
@pytest.mark.parametrize("sample_rate", RATES)
def test_invariants(name: str, sample_rate: int, num_channels: int) -> None:
    assert_processor_invariants(MAKERS[name], sample_rate, num_channels)


# --------------------------------------------------------------------------------------------
# parametric EQ: analytic truths


@pytest.mark.parametrize("sample_rate", RATES)
def test_bell_gain_on_a_tone(sample_rate: int) -> None:
    params = EqParams(bands=(EqBandParams(type="bell", frequency_hz=1000.0, gain_db=-7.5, q=2.0),))
    x = signals.sine(1000.0, sample_rate=sample_rate, duration_s=0.5, amplitude=0.5)
    y = apply_eq(x, params, sample_rate=sample_rate)
    steady = slice(sample_rate // 4, None)
    assert signals.rms_db(y[:, steady]) - signals.rms_db(x[:, steady]) == pytest.approx(
        -7.5, abs=0.05
    )  # +-0.05 dB


def test_frequency_response_matches_measured_impulse_response() -> None:
    sr = 48000
    eq = ParametricEq(
        EqParams(bands=MIXED_BANDS[:1] + MIXED_BANDS[4:]), sample_rate=sr, num_channels=2
    )
    n = 1 << 15
    h = process_offline(eq, signals.impulse(num_samples=n, num_channels=2))
    f = np.fft.rfftfreq(n, 1 / sr)
    band = (f >= 10.0) & (f <= 20000.0)
    measured = 20 * np.log10(np.abs(np.fft.rfft(h[0]))[band])
    assert np.max(np.abs(measured - eq.frequency_response_db(f[band]))) < 0.01  # +-0.01 dB


@pytest.mark.parametrize("sample_rate", RATES)
def test_linear_phase_magnitude_equals_minimum_phase(sample_rate: int) -> None:
    bands = (
        EqBandParams(type="bell", frequency_hz=1000.0, gain_db=6.0, q=1.0),
        EqBandParams(type="bell", frequency_hz=120.0, gain_db=-5.0, q=2.0),
        EqBandParams(type="low_shelf", frequency_hz=100.0, gain_db=3.0),
        EqBandParams(type="high_shelf", frequency_hz=8000.0, gain_db=-4.0),
        EqBandParams(type="highpass", frequency_hz=30.0, slope_db_per_octave=12),
        EqBandParams(type="tilt", frequency_hz=1000.0, gain_db=3.0, q=0.5),
    )
    minimum = ParametricEq(EqParams(bands=bands), sample_rate=sample_rate, num_channels=2)
    linear = ParametricEq(
        EqParams(bands=bands, phase="linear"), sample_rate=sample_rate, num_channels=2
    )
    length = linear.params.linear_phase_length
    n = 2 * (length + 1)
    centre = n // 4
    h = process_offline(linear, signals.impulse(num_samples=n, position=centre, num_channels=2))
    # symmetric about the impulse: linear phase, latency compensated
    half = (length - 1) // 2
    ir = h[0, centre - half : centre + half + 1]
    assert np.max(np.abs(ir - ir[::-1])) < 1e-12
    assert (
        np.max(np.abs(h[0, : centre - half])) < 1e-12
        and np.max(np.abs(h[0, centre + half + 1 :])) < 1e-12
    )
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    band = (f >= 20.0) & (f <= 20000.0)
    measured = 20 * np.log10(np.abs(np.fft.rfft(h[0]))[band])
    expected = minimum.frequency_response_db(f[band])
    assert np.max(np.abs(measured - expected)) < 0.1  # +-0.1 dB from 20 Hz to 20 kHz


def test_linear_phase_latency_is_reported_and_compensated() -> None:
    sr = 44100
    eq = ParametricEq(
        EqParams(bands=(EqBandParams(gain_db=3.0),), phase="linear", linear_phase_length=1023),
        sample_rate=sr,
        num_channels=1,
    )
    assert eq.latency_samples == 511 + eq._convolver.hop  # type: ignore[union-attr]
    x = signals.impulse(num_samples=8000, position=3000, num_channels=1)
    eq.reset()
    raw = eq.process(np.concatenate([x, np.zeros((1, eq.latency_samples))], axis=1))
    assert int(np.argmax(np.abs(raw))) == 3000 + eq.latency_samples
    assert int(np.argmax(np.abs(process_offline(eq, x)))) == 3000


def test_linear_phase_without_bands_is_an_exact_delay() -> None:
    eq = ParametricEq(
        EqParams(phase="linear", linear_phase_length=127), sample_rate=48000, num_channels=2
    )
    x = signals.white_noise(sample_rate=48000, duration_s=0.05, seed=3)
    assert np.array_equal(process_offline(eq, x), x)


@pytest.mark.parametrize("phase", ["minimum", "linear"])
def test_side_band_leaves_a_mono_compatible_signal_untouched(
    phase: Literal["minimum", "linear"],
) -> None:
    sr = 48000
    bands = (
        EqBandParams(type="high_shelf", frequency_hz=5000.0, gain_db=6.0, channels="side"),
        EqBandParams(type="bell", frequency_hz=200.0, gain_db=-8.0, q=3.0, channels="side"),
    )
    eq = ParametricEq(
        EqParams(bands=bands, phase=phase, linear_phase_length=511), sample_rate=sr, num_channels=2
    )  # type: ignore[arg-type]
    x = signals.pink_noise(sample_rate=sr, duration_s=0.2, num_channels=1, seed=4).repeat(2, axis=0)
    y = process_offline(eq, x)
    if phase == "minimum":
        assert np.array_equal(y, x)
    else:
        assert np.max(np.abs(y - x)) < 1e-12


@pytest.mark.parametrize("phase", ["minimum", "linear"])
def test_mid_band_leaves_side_untouched(phase: Literal["minimum", "linear"]) -> None:
    sr = 44100
    bands = (EqBandParams(type="bell", frequency_hz=2000.0, gain_db=8.0, q=1.0, channels="mid"),)
    eq = ParametricEq(
        EqParams(bands=bands, phase=phase, linear_phase_length=511), sample_rate=sr, num_channels=2
    )  # type: ignore[arg-type]
    x = signals.white_noise(sample_rate=sr, duration_s=0.2, seed=5)
    y = process_offline(eq, x)
    assert np.max(np.abs((y[0] - y[1]) - (x[0] - x[1]))) < 1e-12
    assert signals.rms_db(y[0] + y[1]) > signals.rms_db(x[0] + x[1]) + 1.0  # the mid changed


def test_left_band_leaves_right_untouched() -> None:
    eq = ParametricEq(
        EqParams(bands=(EqBandParams(gain_db=6.0, channels="left"),)),
        sample_rate=48000,
        num_channels=2,
    )
    x = signals.white_noise(sample_rate=48000, duration_s=0.1, seed=6)
    y = eq.process(x)
    assert np.array_equal(y[1], x[1]) and not np.array_equal(y[0], x[0])


def test_mono_applies_stereo_and_mid_bands_and_ignores_side() -> None:
    sr = 48000
    x = signals.white_noise(sample_rate=sr, duration_s=0.1, num_channels=1, seed=8)
    side_only = ParametricEq(
        EqParams(bands=(EqBandParams(gain_db=6.0, channels="side"),)),
        sample_rate=sr,
        num_channels=1,
    )
    assert np.array_equal(side_only.process(x), x)
    mid = ParametricEq(
        EqParams(bands=(EqBandParams(gain_db=6.0, channels="mid"),)), sample_rate=sr, num_channels=1
    )
    both = ParametricEq(
        EqParams(bands=(EqBandParams(gain_db=6.0),)), sample_rate=sr, num_channels=1
    )
    assert np.array_equal(mid.process(x), both.process(x))


def test_eq_round_trips_through_dict() -> None:
    eq = ParametricEq(
        EqParams(bands=MIXED_BANDS, phase="linear", linear_phase_length=1023),
        sample_rate=48000,
        num_channels=2,
    )
    data = eq.to_dict()
    assert data["type"] == "eq" and data["params"]["bands"][1]["channels"] == "left"
    again = processor_from_dict(data, sample_rate=48000, num_channels=2)
    assert isinstance(again, ParametricEq) and again.params == eq.params
    with pytest.raises(ChainError, match=r"bands\[0\]"):
        processor_from_dict(
            {"type": "eq", "params": {"bands": [{"type": "notch"}]}},
            sample_rate=48000,
            num_channels=2,
        )


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: EqBandParams(type="notch"), "type='notch' must be one of"),  # type: ignore[arg-type]
        (lambda: EqBandParams(q=0.0), "q=0.0 must be in [0.025, 100]"),
        (lambda: EqBandParams(gain_db=-50.0), "gain_db=-50.0 must be in [-48, 48]"),
        (lambda: EqBandParams(slope_db_per_octave=30), "slope_db_per_octave=30 must be one of"),
        (lambda: EqBandParams(channels="center"), "channels='center' must be one of"),  # type: ignore[arg-type]
        (lambda: EqParams(phase="mixed"), "phase='mixed' must be one of"),  # type: ignore[arg-type]
        (
            lambda: EqParams(linear_phase_length=1024),
            "linear_phase_length=1024 must be an odd whole number",
        ),
        (
            lambda: ParametricEq(
                EqParams(bands=(EqBandParams(frequency_hz=30000.0),)),
                sample_rate=48000,
                num_channels=2,
            ),
            "bands[0].frequency_hz=30000.0 must be in (0, 24000)",
        ),
        (lambda: DynamicEqParams(ratio=0.5), "ratio=0.5 must be in [1, 100]"),
        (lambda: DynamicEqParams(attack_ms=-1.0), "attack_ms=-1.0 must be in [0, 1000]"),
        (lambda: DeEsserParams(frequency_hz=500.0), "frequency_hz=500.0 must be in [2000, 16000]"),
        (
            lambda: DynamicEq(
                DynamicEqParams(frequency_hz=20000.0), sample_rate=44100, num_channels=2
            ),
            "frequency_hz=20000.0 must be in (0, 19845]",
        ),
    ],
)
def test_parameter_errors_name_value_and_range(build: Callable[[], object], fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        build()
    assert fragment in str(info.value)


# --------------------------------------------------------------------------------------------
# dynamic EQ


def tone_gain_db(x: np.ndarray, y: np.ndarray, steady: slice) -> float:
    return signals.rms_db(y[:, steady]) - signals.rms_db(x[:, steady])


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize(
    ("amplitude", "ratio", "threshold_db", "expected_db"),
    [
        # level of a sine = 20 log10(a) - 3.01 dB; reduction = (level - T)(1 - 1/ratio), capped at 6
        (0.1, 3.0, -30.0, -(20 * np.log10(0.1) - 3.0103 + 30.0) * (2 / 3)),
        (0.5, 2.0, -40.0, -6.0),
    ],
)
def test_dynamic_bell_reduces_a_loud_tone_by_the_designed_amount(
    sample_rate: int, amplitude: float, ratio: float, threshold_db: float, expected_db: float
) -> None:
    params = DynamicEqParams(frequency_hz=7000.0, q=2.0, threshold_db=threshold_db, ratio=ratio)
    x = signals.sine(7000.0, sample_rate=sample_rate, duration_s=0.3, amplitude=amplitude)
    dyn = DynamicEq(params, sample_rate=sample_rate, num_channels=2)
    y = dyn.process(x)
    steady = slice(sample_rate // 5, None)
    assert tone_gain_db(x, y, steady) == pytest.approx(expected_db, abs=0.5)  # +-0.5 dB
    assert float(np.mean(dyn.gain_reduction_db()[steady])) == pytest.approx(-expected_db, abs=0.5)


def test_dynamic_high_shelf_reduces_a_loud_high_tone() -> None:
    sr = 48000
    params = DynamicEqParams(
        type="high_shelf", frequency_hz=7000.0, q=0.707, threshold_db=-30.0, ratio=3.0
    )
    x = signals.sine(16000.0, sample_rate=sr, duration_s=0.3, amplitude=0.1)
    y = DynamicEq(params, sample_rate=sr, num_channels=2).process(x)
    expected = -(20 * np.log10(0.1) - 3.0103 + 30.0) * (2 / 3)
    assert tone_gain_db(x, y, slice(sr // 5, None)) == pytest.approx(expected, abs=0.5)  # +-0.5 dB


@pytest.mark.parametrize("type_", ["bell", "high_shelf"])
def test_dynamic_eq_leaves_a_quiet_tone_untouched(type_: str) -> None:
    sr = 44100
    params = DynamicEqParams(type=type_, frequency_hz=7000.0, threshold_db=-30.0)  # type: ignore[arg-type]
    x = signals.sine(7000.0, sample_rate=sr, duration_s=0.3, amplitude=0.01)  # -43 dB in the band
    dyn = DynamicEq(params, sample_rate=sr, num_channels=2)
    y = dyn.process(x)
    assert tone_gain_db(x, y, slice(sr // 5, None)) == pytest.approx(0.0, abs=0.05)  # +-0.05 dB
    assert np.max(dyn.gain_reduction_db()) == 0.0


def test_dynamic_eq_boost_mode_raises_the_band() -> None:
    sr = 48000
    params = DynamicEqParams(frequency_hz=7000.0, threshold_db=-40.0, ratio=2.0, mode="boost")
    x = signals.sine(7000.0, sample_rate=sr, duration_s=0.3, amplitude=0.5)
    y = DynamicEq(params, sample_rate=sr, num_channels=2).process(x)
    assert tone_gain_db(x, y, slice(sr // 5, None)) == pytest.approx(6.0, abs=0.5)  # +6 dB cap


def test_dynamic_eq_attack_and_release_time_constants() -> None:
    sr, attack_ms, release_ms = 48000, 10.0, 80.0
    params = DynamicEqParams(
        frequency_hz=7000.0, threshold_db=-30.0, ratio=3.0, max_gain_reduction_db=6.0,
        attack_ms=attack_ms, release_ms=release_ms,
    )  # fmt: skip
    n = int(0.3 * sr)
    env = np.concatenate([np.full(n, 0.001), np.full(n, 0.5), np.full(n, 0.001)])
    x = signals.sine(7000.0, sample_rate=sr, duration_s=0.9, amplitude=1.0, num_channels=1) * env
    dyn = DynamicEq(params, sample_rate=sr, num_channels=1)
    dyn.process(x)
    gr = dyn.gain_reduction_db()
    assert np.max(gr[:n]) == 0.0
    assert gr[2 * n - 1] == pytest.approx(6.0, abs=1e-6)
    # one-pole time constant: 63.2 % of the step after attack_ms, 36.8 % left after release_ms
    attack_s = (int(np.argmax(gr[n:] >= 6.0 * (1 - np.exp(-1)))) + 1) / sr
    release_s = (int(np.argmax(gr[2 * n :] <= 6.0 * np.exp(-1))) + 1) / sr
    assert attack_s * 1000 == pytest.approx(attack_ms, rel=0.10)  # +-10 %
    assert release_s * 1000 == pytest.approx(release_ms, rel=0.10)  # +-10 %


def test_dynamic_eq_on_mid_leaves_side_untouched() -> None:
    sr = 48000
    params = DynamicEqParams(frequency_hz=7000.0, threshold_db=-50.0, channels="mid")
    x = signals.white_noise(sample_rate=sr, duration_s=0.2, level_dbfs=-10.0, seed=9)
    y = DynamicEq(params, sample_rate=sr, num_channels=2).process(x)
    assert np.max(np.abs((y[0] - y[1]) - (x[0] - x[1]))) < 1e-12
    assert not np.allclose(y, x)


def test_stereo_detection_is_linked() -> None:
    sr = 48000
    loud_left = signals.sine(7000.0, sample_rate=sr, duration_s=0.3, amplitude=0.5)
    loud_left[1] *= 0.01
    dyn = DynamicEq(DynamicEqParams(threshold_db=-30.0), sample_rate=sr, num_channels=2)
    y = dyn.process(loud_left)
    steady = slice(sr // 5, None)
    reduction = [
        signals.rms_db(y[c, steady]) - signals.rms_db(loud_left[c, steady]) for c in (0, 1)
    ]
    assert reduction[0] == pytest.approx(reduction[1], abs=0.01)  # one gain for both, +-0.01 dB
    assert reduction[0] < -5.0


def test_deesser_cuts_sibilance_and_passes_low_content() -> None:
    sr = 44100
    low = signals.sine(300.0, sample_rate=sr, duration_s=0.3, amplitude=0.5)
    hiss = signals.sine(9000.0, sample_rate=sr, duration_s=0.3, amplitude=0.3)
    deesser = DeEsser(DeEsserParams(threshold_db=-30.0), sample_rate=sr, num_channels=2)
    y = deesser.process(low + hiss)
    steady = slice(sr // 5, None)
    spectrum_in = np.abs(np.fft.rfft((low + hiss)[0, steady]))
    spectrum_out = np.abs(np.fft.rfft(y[0, steady]))
    f = np.fft.rfftfreq(spectrum_in.size * 2 - 2, 1 / sr)
    k_low, k_hiss = int(np.argmin(np.abs(f - 300.0))), int(np.argmin(np.abs(f - 9000.0)))
    assert 20 * np.log10(spectrum_out[k_low] / spectrum_in[k_low]) == pytest.approx(0.0, abs=0.1)
    assert 20 * np.log10(spectrum_out[k_hiss] / spectrum_in[k_hiss]) < -4.0
    assert (
        np.all(deesser.gain_reduction_db() >= 0.0)
        and deesser.gain_reduction_db().size == y.shape[1]
    )


def test_stereo_cascade_kernel_is_bit_identical_to_the_generic_one() -> None:
    from burnish.dsp.biquad import SosCascade
    from burnish.dsp.eq import run_cascade

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3000)) * 1e-3
    x[:, 1000:2500] = 0.0  # decaying tails reach the denormal flush
    for num_sections in (1, 2, 3, 6):
        sos = np.tile([0.2, 0.3, 0.2, 1.0, -1.2, 0.45], (num_sections, 1))
        ref_cascade = SosCascade(sos, 2)
        new_cascade = SosCascade(sos, 2)
        pos = 0
        for size in (1, 63, 64, 65, 511, 2296):
            block = np.ascontiguousarray(x[:, pos : pos + size])
            ref = ref_cascade(block)
            got = run_cascade(new_cascade, block.copy())
            assert np.array_equal(ref, got)
            pos += size
        assert np.array_equal(ref_cascade.state, new_cascade.state)
        assert ref_cascade.position == new_cascade.position
