"""Compressor: analytic truths (static curve, knee, time constants) and the processor invariants."""

from __future__ import annotations

import json

import numpy as np
import pytest

from burnish.dsp.base import process_offline, processor_from_dict
from burnish.dsp.dynamics import (
    Compressor,
    CompressorParams,
    apply_compressor,
    static_curve_db,
)
from burnish.errors import ParameterError
from tests import signals

RATES = (44100, 48000, 96000)
CHANNELS = (1, 2)


def _rms_db(x: np.ndarray) -> float:
    return signals.rms_db(x)


def _square(level_db: float, *, sample_rate: int, duration_s: float, num_channels: int = 1):
    """A +-A square wave: |x| is constant, so a peak detector sees a steady level."""
    n = int(duration_s * sample_rate)
    period = 100
    s = np.where((np.arange(n) // (period // 2)) % 2 == 0, 1.0, -1.0)
    return np.repeat(s[np.newaxis, :], num_channels, axis=0) * 10 ** (level_db / 20)


def _step_time_ms(curve: np.ndarray, start: int, sample_rate: int, *, rising: bool) -> float:
    """Time from ``start`` for ``curve`` to cover 1 - 1/e of its step (63.2 %)."""
    before = curve[start - 1]
    after = curve[-1]
    target = before + (1 - np.exp(-1)) * (after - before)
    seg = curve[start:]
    idx = np.argmax(seg >= target) if rising else np.argmax(seg <= target)
    return 1000.0 * idx / sample_rate


# --------------------------------------------------------------------------------------------
# static curve


@pytest.mark.parametrize("level_db", [-30.0, -12.0, -6.0, -3.0])
@pytest.mark.parametrize("ratio", [2.0, 4.0])
def test_static_curve_rms_sines(level_db: float, ratio: float) -> None:
    sr = 48000
    t_db = -20.0
    x = signals.sine(1000.0, sample_rate=sr, duration_s=1.5, amplitude=1.0, num_channels=1)
    x = x / np.sqrt(np.mean(x**2)) * 10 ** (level_db / 20)  # RMS = level_db
    p = CompressorParams(
        threshold_db=t_db, ratio=ratio, knee_db=0.0, detector="rms", rms_window_ms=50.0
    )
    y = apply_compressor(x, p, sample_rate=sr)
    expected = level_db if level_db < t_db else t_db + (level_db - t_db) / ratio
    settled = _rms_db(y[:, -sr // 4 :])
    assert settled == pytest.approx(expected, abs=0.1), "static curve within +-0.1 dB"


@pytest.mark.parametrize("level_db", [-10.0, -2.0])
def test_static_curve_peak_detector(level_db: float) -> None:
    sr = 44100
    t_db, ratio = -20.0, 3.0
    x = _square(level_db, sample_rate=sr, duration_s=1.0)
    y = apply_compressor(
        x, CompressorParams(threshold_db=t_db, ratio=ratio, knee_db=0.0), sample_rate=sr
    )
    expected = t_db + (level_db - t_db) / ratio
    assert _rms_db(y[:, -sr // 10 :]) == pytest.approx(expected, abs=0.1), "+-0.1 dB"


@pytest.mark.parametrize("offset_db", [-4.0, -2.0, 0.0, 1.5, 3.5])
def test_knee_is_quadratic(offset_db: float) -> None:
    sr = 48000
    t_db, ratio, w_db = -20.0, 4.0, 8.0
    level_db = t_db + offset_db
    x = _square(level_db, sample_rate=sr, duration_s=1.0)
    y = apply_compressor(
        x, CompressorParams(threshold_db=t_db, ratio=ratio, knee_db=w_db), sample_rate=sr
    )
    # GMR 2012 eq. 4, written out independently
    if 2 * (level_db - t_db) < -w_db:
        expected = level_db
    elif 2 * abs(level_db - t_db) <= w_db:
        expected = level_db + (1 / ratio - 1) * (level_db - t_db + w_db / 2) ** 2 / (2 * w_db)
    else:
        expected = t_db + (level_db - t_db) / ratio
    assert _rms_db(y[:, -sr // 10 :]) == pytest.approx(expected, abs=0.1), "knee +-0.1 dB"
    assert float(
        static_curve_db(level_db, threshold_db=t_db, ratio=ratio, knee_db=w_db)
    ) == pytest.approx(expected, abs=1e-9)


def test_static_curve_is_continuous_at_knee_edges() -> None:
    t_db, ratio, w_db = -18.0, 3.0, 6.0
    for edge in (t_db - w_db / 2, t_db + w_db / 2):
        lo, hi = static_curve_db(
            [edge - 1e-9, edge + 1e-9], threshold_db=t_db, ratio=ratio, knee_db=w_db
        )
        assert hi - lo == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------------------------
# time constants


def step_response(
    attack_ms: float, release_ms: float, sample_rate: int, n1: int, n2: int, n3: int
) -> tuple[float, float, float]:
    """A mono compressor (-20 dB, 4:1, hard knee) fed DC steps -40 / 0 / -40 dBFS of ``n1`` /
    ``n2`` / ``n3`` samples (``|x|`` exact): (attack time, release time in ms, gain reduction at
    the end of the 0 dBFS step in dB)."""
    levels = np.concatenate([np.full(n1, -40.0), np.full(n2, 0.0), np.full(n3, -40.0)])
    x = (10 ** (levels / 20))[np.newaxis, :]
    comp = Compressor(
        CompressorParams(
            threshold_db=-20.0, ratio=4.0, knee_db=0.0, attack_ms=attack_ms, release_ms=release_ms
        ),
        sample_rate=sample_rate,
        num_channels=1,
    )
    comp.process(x[:, : n1 + n2])
    gr_up = comp.gain_reduction_db()
    comp.process(x[:, n1 + n2 :])
    gr_down = comp.gain_reduction_db()
    t_att = _step_time_ms(gr_up, n1, sample_rate, rising=True)
    t_rel = _step_time_ms(np.concatenate([[gr_up[-1]], gr_down]), 1, sample_rate, rising=False)
    return t_att, t_rel, float(gr_up[-1])


@pytest.mark.parametrize("attack_ms,release_ms", [(5.0, 50.0), (20.0, 200.0)])
def test_attack_and_release_time_constants(attack_ms: float, release_ms: float) -> None:
    sr = 48000
    t_att, t_rel, gr = step_response(attack_ms, release_ms, sr, sr // 4, sr, sr)
    assert gr == pytest.approx(15.0, abs=0.01)  # (0 - (-20)) * (1 - 1/4)
    assert t_att == pytest.approx(attack_ms, rel=0.10), "attack within 10 %"
    assert t_rel == pytest.approx(release_ms, rel=0.10), "release within 10 %"


def test_auto_release_is_fast_after_transients_slow_after_sustain() -> None:
    sr = 48000
    p = CompressorParams(
        threshold_db=-20.0,
        ratio=4.0,
        knee_db=0.0,
        attack_ms=1.0,
        release_ms=200.0,
        auto_release=True,
    )

    def release_ms_after(burst_ms: float) -> float:
        nb = int(burst_ms * 1e-3 * sr)
        levels = np.concatenate([np.full(nb, 0.0), np.full(sr, -40.0)])
        comp = Compressor(p, sample_rate=sr, num_channels=1)
        comp.process((10 ** (levels / 20))[np.newaxis, :])
        gr = comp.gain_reduction_db()
        peak = gr[nb - 1]
        return 1000.0 * float(np.argmax(gr[nb:] <= peak * np.exp(-1))) / sr

    short = release_ms_after(10.0)
    long = release_ms_after(2000.0)
    assert long == pytest.approx(200.0, rel=0.10), "sustained reduction releases in release_ms"
    assert short < 0.5 * long, f"transient release {short} ms vs sustained {long} ms"


def test_lookahead_reduces_gain_before_the_step() -> None:
    sr = 48000
    n = sr // 2
    step = n // 2
    x = np.full((1, n), 10 ** (-40 / 20))
    x[:, step:] = 1.0
    base = dict(threshold_db=-20.0, ratio=8.0, knee_db=0.0, attack_ms=2.0)
    la = Compressor(CompressorParams(**base, lookahead_ms=5.0), sample_rate=sr, num_channels=1)
    assert la.latency_samples == 240
    y = process_offline(la, x)
    comp0 = Compressor(CompressorParams(**base), sample_rate=sr, num_channels=1)
    y0 = process_offline(comp0, x)
    # at the step the look-ahead output is already reduced by > 6 dB, without it by < 1 dB
    assert 20 * np.log10(abs(y[0, step])) < -6.0
    assert 20 * np.log10(abs(y0[0, step])) > -1.0
    # before the step the audio is untouched (gain reduction only starts 5 ms early)
    np.testing.assert_allclose(y[:, : step - 240], x[:, : step - 240], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# makeup, mix, linking, mid/side, sidechain


def test_makeup_gain() -> None:
    sr = 44100
    x = signals.sine(440.0, sample_rate=sr, duration_s=0.3, amplitude=0.01, num_channels=2)
    y = apply_compressor(x, CompressorParams(makeup_gain_db=6.0), sample_rate=sr)
    assert _rms_db(y) - _rms_db(x) == pytest.approx(6.0, abs=0.01), "makeup +-0.01 dB"


def test_mix_zero_is_the_delayed_dry_signal_exactly() -> None:
    sr = 48000
    x = signals.white_noise(sample_rate=sr, duration_s=0.2, level_dbfs=-6.0, seed=1)
    comp = Compressor(
        CompressorParams(
            threshold_db=-40.0, ratio=10.0, lookahead_ms=3.0, mix=0.0, stereo_mode="mid_side"
        ),
        sample_rate=sr,
        num_channels=2,
    )
    d = comp.latency_samples
    y = comp.process(x)
    np.testing.assert_array_equal(y[:, d:], x[:, :-d])
    np.testing.assert_array_equal(y[:, :d], 0.0)
    assert comp.gain_reduction_db().max() > 10.0  # it did compute a reduction


def test_mix_is_parallel_compression() -> None:
    sr = 48000
    x = signals.white_noise(sample_rate=sr, duration_s=0.2, level_dbfs=-6.0, seed=2)
    p = CompressorParams(threshold_db=-30.0, ratio=4.0, lookahead_ms=1.0)
    wet = apply_compressor(x, p, sample_rate=sr)
    half = apply_compressor(x, CompressorParams(**{**_as_dict(p), "mix": 0.25}), sample_rate=sr)
    np.testing.assert_allclose(half, 0.25 * wet + 0.75 * x, atol=1e-12)


def _as_dict(p: CompressorParams) -> dict:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def test_linked_stereo_keeps_the_image() -> None:
    sr = 48000
    left = signals.sine(300.0, sample_rate=sr, duration_s=0.5, amplitude=0.9, num_channels=1)
    right = signals.sine(700.0, sample_rate=sr, duration_s=0.5, amplitude=0.01, num_channels=1)
    x = np.vstack([left, right])
    comp = Compressor(
        CompressorParams(threshold_db=-30.0, ratio=4.0), sample_rate=sr, num_channels=2
    )
    y = comp.process(x)
    nz = (np.abs(x[0]) > 1e-3) & (np.abs(x[1]) > 1e-3)
    np.testing.assert_allclose(y[0, nz] / x[0, nz], y[1, nz] / x[1, nz], rtol=1e-12)
    assert _rms_db(y[1, sr // 4 :]) < _rms_db(x[1, sr // 4 :]) - 3.0  # the quiet side follows
    unl = Compressor(
        CompressorParams(threshold_db=-30.0, ratio=4.0, stereo_mode="unlinked"),
        sample_rate=sr,
        num_channels=2,
    )
    yu = unl.process(x)
    assert _rms_db(yu[1]) == pytest.approx(_rms_db(x[1]), abs=0.01), "quiet channel untouched"


def test_mid_side_compresses_mid_and_side_independently() -> None:
    sr = 48000
    mid = signals.sine(200.0, sample_rate=sr, duration_s=0.5, amplitude=0.8, num_channels=1)[0]
    side = signals.sine(3000.0, sample_rate=sr, duration_s=0.5, amplitude=0.01, num_channels=1)[0]
    x = np.vstack([mid + side, mid - side])
    y = apply_compressor(
        x,
        CompressorParams(threshold_db=-30.0, ratio=4.0, stereo_mode="mid_side"),
        sample_rate=sr,
    )
    y_mid, y_side = 0.5 * (y[0] + y[1]), 0.5 * (y[0] - y[1])
    tail = slice(sr // 4, None)
    assert _rms_db(y_side[tail]) == pytest.approx(_rms_db(side[tail]), abs=0.01), "side kept"
    assert _rms_db(y_mid[tail]) < _rms_db(mid[tail]) - 10.0, "mid compressed"


def test_sidechain_highpass_ignores_bass() -> None:
    sr = 44100
    x = signals.sine(30.0, sample_rate=sr, duration_s=1.0, amplitude=0.5, num_channels=1)
    p = CompressorParams(threshold_db=-30.0, ratio=4.0)
    plain = Compressor(p, sample_rate=sr, num_channels=1)
    plain.process(x)
    hp = Compressor(
        CompressorParams(threshold_db=-30.0, ratio=4.0, sidechain_highpass_hz=300.0),
        sample_rate=sr,
        num_channels=1,
    )
    hp.process(x)
    # 2nd-order high-pass at 300 Hz: 30 Hz is 40 dB down, the level stays under the threshold
    assert plain.gain_reduction_db()[sr // 2 :].mean() > 15.0
    assert hp.gain_reduction_db()[sr // 2 :].max() < 1.0


def test_float32_in_float32_out_and_gain_reduction_shape() -> None:
    sr = 48000
    x = signals.white_noise(sample_rate=sr, duration_s=0.05, level_dbfs=-6, seed=3)
    comp = Compressor(CompressorParams(stereo_mode="unlinked"), sample_rate=sr, num_channels=2)
    y = comp.process(x.astype(np.float32))
    assert y.dtype == np.float32 and y.shape == x.shape
    gr = comp.gain_reduction_db()
    assert gr.shape == (x.shape[1],) and gr.min() >= 0.0


# --------------------------------------------------------------------------------------------
# parameters


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"ratio": 0.5}, "ratio=0.5 must be in [1, inf]"),
        ({"threshold_db": 30.0}, "threshold_db=30.0 must be in [-100, 20]"),
        ({"attack_ms": -1.0}, "attack_ms=-1.0 must be in [0, 2000]"),
        ({"mix": 1.5}, "mix=1.5 must be in [0, 1]"),
        ({"detector": "vu"}, "detector='vu' must be one of 'peak', 'rms'"),
        ({"stereo_mode": "wide"}, "stereo_mode='wide' must be one of"),
        ({"sidechain_highpass_hz": 5.0}, "sidechain_highpass_hz=5.0 must be 0 (off) or in"),
        ({"lookahead_ms": 500.0}, "lookahead_ms=500.0 must be in [0, 100]"),
        ({"auto_release": "yes"}, "auto_release='yes' must be true or false"),
    ],
)
def test_parameter_errors(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        CompressorParams(**kwargs)
    assert fragment in str(info.value)


def test_sidechain_above_nyquist_is_rejected() -> None:
    with pytest.raises(ParameterError, match=r"sidechain_highpass_hz=15000.0 must be below 11025"):
        Compressor(
            CompressorParams(sidechain_highpass_hz=15000.0), sample_rate=22050, num_channels=1
        )


def test_json_round_trip() -> None:
    comp = Compressor(
        CompressorParams(ratio=3.0, auto_release=True, stereo_mode="mid_side"),
        sample_rate=48000,
        num_channels=2,
    )
    data = json.loads(json.dumps(comp.to_dict()))
    again = processor_from_dict(data, sample_rate=48000, num_channels=2)
    assert isinstance(again, Compressor) and again.params == comp.params


# --------------------------------------------------------------------------------------------
# invariants


def _busy_params(num_channels: int) -> CompressorParams:
    return CompressorParams(
        threshold_db=-30.0,
        ratio=4.0,
        attack_ms=1.0,
        release_ms=20.0,
        lookahead_ms=1.5,
        sidechain_highpass_hz=80.0,
        detector="rms",
        rms_window_ms=2.0,
        auto_release=True,
        stereo_mode="mid_side" if num_channels == 2 else "linked",
        makeup_gain_db=3.0,
        mix=0.8,
    )


def _test_signal(sample_rate: int, num_channels: int, n: int) -> np.ndarray:
    x = signals.white_noise(
        sample_rate=sample_rate,
        duration_s=n / sample_rate,
        level_dbfs=-12,
        num_channels=num_channels,
        seed=7,
    )
    env = np.where((np.arange(x.shape[1]) // 700) % 3 == 0, 1.0, 0.05)
    return x * env


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("num_channels", CHANNELS)
@pytest.mark.parametrize("peak", [False, True])
def test_streaming_equals_offline(sample_rate: int, num_channels: int, peak: bool) -> None:
    p = _busy_params(num_channels)
    if peak:
        p = CompressorParams(threshold_db=-25.0, ratio=3.0, lookahead_ms=0.5, stereo_mode="linked")
    x = _test_signal(sample_rate, num_channels, 6000)
    comp = Compressor(p, sample_rate=sample_rate, num_channels=num_channels)
    whole = comp.process(x)
    gr_whole = comp.gain_reduction_db()
    assert gr_whole.max() > 1.0
    for block in (1, 64, 511, 4096):
        comp.reset()
        m = 600 if block == 1 else x.shape[1]
        parts, grs = [], []
        for i in range(0, m, block):
            parts.append(comp.process(x[:, i : min(i + block, m)]))
            grs.append(comp.gain_reduction_db())
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole[:, :m])
        np.testing.assert_array_equal(np.concatenate(grs), gr_whole[:m])


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("num_channels", CHANNELS)
def test_reset_silence_empty_alignment(sample_rate: int, num_channels: int) -> None:
    p = _busy_params(num_channels)
    comp = Compressor(p, sample_rate=sample_rate, num_channels=num_channels)
    x = _test_signal(sample_rate, num_channels, 3000)
    first = comp.process(x)
    comp.reset()
    np.testing.assert_array_equal(comp.process(x), first)
    # silence in, silence out
    comp.reset()
    np.testing.assert_array_equal(comp.process(np.zeros((num_channels, 2000))), 0.0)
    # empty in, empty out (same dtype)
    for dtype in (np.float32, np.float64):
        empty = comp.process(np.zeros((num_channels, 0), dtype=dtype))
        assert empty.shape == (num_channels, 0) and empty.dtype == dtype
    # latency compensated: a signal under the knee comes out aligned and unchanged
    quiet = signals.sine(
        1000.0, sample_rate=sample_rate, duration_s=0.05, amplitude=1e-3, num_channels=num_channels
    )
    dry = CompressorParams(lookahead_ms=4.0, mix=0.5)
    comp2 = Compressor(dry, sample_rate=sample_rate, num_channels=num_channels)
    assert comp2.latency_samples == round(4e-3 * sample_rate)
    np.testing.assert_allclose(process_offline(comp2, quiet), quiet, rtol=1e-12, atol=0)
