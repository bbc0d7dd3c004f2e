"""TruePeakLimiter: the ceiling guarantee (read by ffmpeg), transparency, release, invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from burnish.dsp.base import process_offline, processor_from_dict
from burnish.dsp.limiter import LimiterParams, TruePeakLimiter, apply_limiter, design_limiter
from burnish.errors import ParameterError
from burnish.units import db_to_gain
from tests import signals
from tests.corpus import corpus_names_for_params, corpus_path
from tests.reference_meter import ffmpeg_loudness, ffmpeg_loudnorm_measure

RATES = [44100, 48000, 96000]
CHANNELS = [1, 2]


def ideal_true_peak_dbtp(x: np.ndarray, *, skip_samples: int = 0) -> float:
    """A stricter meter than BS.1770: 16x polyphase with a long Kaiser filter (beta 14).

    The signal is zero-padded (as a DAC plays a file); ``skip_samples`` leaves out both ends.
    """
    y = scipy.signal.resample_poly(x, 16, 1, axis=-1, window=("kaiser", 14.0))
    y = y[:, 16 * skip_samples : y.shape[1] - 16 * skip_samples]
    return float(20 * np.log10(np.max(np.abs(y))))


def write_float_wav(path: Path, audio: np.ndarray, sample_rate: int) -> Path:
    sf.write(str(path), audio.T, sample_rate, subtype="FLOAT")
    return path


def limit(x: np.ndarray, sample_rate: int, **kw: object) -> np.ndarray:
    return apply_limiter(x, LimiterParams(**kw), sample_rate=sample_rate)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# the ceiling guarantee


def _pad(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """50 ms of silence before and after (as in a real file)."""
    pad = np.zeros((x.shape[0], sample_rate // 20))
    return np.concatenate([pad, x, pad], axis=1)


def _hard_signals(sample_rate: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for f in (sample_rate / 4, 21000.0, 21900.0, 997.0):
        if f >= sample_rate / 2:
            continue
        for phase in (0.0, np.pi / 4, 1.0):
            # 2 ms fades: a sine switched on at full scale in the first sample of a file makes the
            # meters' own resamplers ring at the file start (ffmpeg reads up to +4 dB there)
            sine = signals.sine(
                f, sample_rate=sample_rate, duration_s=0.5, amplitude=1.0, phase_rad=phase,
                num_channels=2, fade_ms=2.0,
            )  # fmt: skip
            out[f"sine {f:.0f} Hz phase {phase:.2f}"] = _pad(sine, sample_rate)
    # bursts near Nyquist after silence (the gain has to move fast on high frequencies)
    burst = signals.sine(21500.0, sample_rate=sample_rate, duration_s=0.5, amplitude=1.0, num_channels=2)
    burst[:, : sample_rate // 10] = 0.0
    burst[:, sample_rate // 4 : sample_rate // 4 + 2000] *= 0.1
    out["21.5 kHz bursts"] = _pad(burst, sample_rate)
    # broadband noise, band-limited to 19 kHz: for content right up to Nyquist the true peak
    # depends on the reconstruction filter itself (meters differ by 0.4 dB there; see the docs)
    noise = signals.white_noise(sample_rate=sample_rate, duration_s=0.5, level_dbfs=-6.0, seed=7)
    sos = scipy.signal.butter(12, 19000, fs=sample_rate, output="sos")
    out["noise"] = _pad(scipy.signal.sosfilt(sos, noise, axis=1), sample_rate)
    return out


@pytest.mark.parametrize("ceiling_dbtp", [-1.0, -0.3, -0.1])
@pytest.mark.parametrize("oversample", [4, 8])
def test_ceiling_on_high_frequency_sines_read_by_ffmpeg(
    tmp_path: Path, ceiling_dbtp: float, oversample: int
) -> None:
    sample_rate = 44100
    outs = []
    for name, x in _hard_signals(sample_rate).items():
        y = limit(x, sample_rate, ceiling_dbtp=ceiling_dbtp, input_gain_db=12.0, oversample=oversample)
        tp = ideal_true_peak_dbtp(y)
        assert tp <= ceiling_dbtp, f"{name}: ideal true peak {tp:.3f} dBTP > ceiling {ceiling_dbtp}"
        outs.append(y)
        outs.append(np.zeros((2, 2000)))
    # one file with every case for ffmpeg (loudnorm prints 0.01 dB; ebur128 0.1 dB)
    path = write_float_wav(tmp_path / "hard.wav", np.concatenate(outs, axis=1), sample_rate)
    assert ffmpeg_loudnorm_measure(path)["input_tp"] <= ceiling_dbtp, "loudnorm true peak <= ceiling (±0.00 dB)"
    tp_ebur = ffmpeg_loudness(path).true_peak_dbtp
    assert tp_ebur is not None and tp_ebur <= ceiling_dbtp, "ebur128 true peak <= ceiling (±0.0 dB)"


@pytest.mark.parametrize(
    ("case", "frequency_div", "amplitude", "phase_deg"),
    [(15, 4, 0.5, 0.0), (16, 4, 0.5, 45.0), (17, 6, 0.5, 60.0), (18, 8, 0.5, 67.5), (19, 4, 1.41, 45.0)],
)
@pytest.mark.parametrize("ceiling_dbtp", [-1.0, -0.1])
def test_ceiling_on_tech_3341_true_peak_signals(
    tmp_path: Path, case: int, frequency_div: int, amplitude: float, phase_deg: float, ceiling_dbtp: float
) -> None:
    # EBU Tech 3341 cases 15-19: 48 kHz sines at fs/4, fs/6, fs/8 with the given phase;
    # expected true peaks -6.0, -6.0, -6.0, -6.0, +3.0 dBTP. Driven +12 dB into the limiter.
    sample_rate = 48000
    x = signals.sine(
        sample_rate / frequency_div, sample_rate=sample_rate, duration_s=1.0, amplitude=amplitude,
        phase_rad=np.deg2rad(phase_deg), num_channels=2,
    )  # fmt: skip
    assert abs(ideal_true_peak_dbtp(x, skip_samples=1000) - 20 * np.log10(amplitude)) <= 0.01
    y = limit(x, sample_rate, ceiling_dbtp=ceiling_dbtp, input_gain_db=12.0)
    # the signal starts and stops abruptly: the zero-padded reconstruction rings at both ends, and
    # the limiter (which also sees zeros before and after) must cover that too
    assert ideal_true_peak_dbtp(y) <= ceiling_dbtp, f"case {case}: ideal true peak above the ceiling"
    # ffmpeg mirrors the first samples at a file's start instead of zero-padding: give it silence
    pad = np.zeros((2, 2400))
    path = write_float_wav(tmp_path / f"case{case}.wav", np.concatenate([pad, y, pad], axis=1), sample_rate)
    assert ffmpeg_loudnorm_measure(path)["input_tp"] <= ceiling_dbtp
    tp = ffmpeg_loudness(path).true_peak_dbtp
    assert tp is not None and tp <= ceiling_dbtp
    # limited to the ceiling, not far below it (within 0.3 dB)
    assert ideal_true_peak_dbtp(y) >= ceiling_dbtp - 0.3


def test_ceiling_after_16_bit_dither(tmp_path: Path) -> None:
    # at -0.1 dBTP the 16-bit TPDF dither (±1 LSB ~ -84 dB relative) must not push it over
    sample_rate = 44100
    x = signals.pink_noise(sample_rate=sample_rate, duration_s=3.0, level_dbfs=-10.0, seed=11)
    y = limit(x, sample_rate, ceiling_dbtp=-0.1, input_gain_db=12.0)
    rng = np.random.default_rng(5)
    lsb = 1.0 / 32768
    tpdf = (rng.random(y.shape) - rng.random(y.shape)) * lsb
    q = np.round((y + tpdf) / lsb) * lsb
    path = tmp_path / "d16.wav"
    sf.write(str(path), q.T, sample_rate, subtype="PCM_16")
    assert ffmpeg_loudnorm_measure(path)["input_tp"] <= -0.1


@pytest.mark.corpus
@pytest.mark.parametrize("name", corpus_names_for_params())
def test_ceiling_on_corpus_driven_12_db(tmp_path: Path, name: str) -> None:
    path = corpus_path(name)
    audio, sample_rate = sf.read(str(path), dtype="float64", always_2d=True)
    x = audio.T[:, : 20 * sample_rate]
    lim = TruePeakLimiter(
        LimiterParams(ceiling_dbtp=-1.0, input_gain_db=12.0), sample_rate=sample_rate, num_channels=x.shape[0]
    )
    y = process_offline(lim, x)
    out = write_float_wav(tmp_path / "limited.wav", y, sample_rate)
    tp = ffmpeg_loudness(out).true_peak_dbtp
    assert tp is not None and tp <= -1.0, f"{name}: ffmpeg ebur128 true peak {tp} dBTP > -1.0"
    # (no strict 16x check here: clipped and hissy files carry energy right up to Nyquist, where
    # the reading depends on the meter's own reconstruction filter; see docs/limiter.md)


# --------------------------------------------------------------------------------------------
# behaviour


def test_transparent_below_the_ceiling() -> None:
    x = signals.log_sweep(sample_rate=44100, duration_s=0.5, amplitude=0.5)  # -6 dBFS, TP < -5 dBTP
    lim = TruePeakLimiter(LimiterParams(ceiling_dbtp=-1.0), sample_rate=44100, num_channels=2)
    y = process_offline(lim, x)
    np.testing.assert_array_equal(y, x)  # exactly, apart from the (compensated) latency
    assert np.all(lim.gain_reduction_db() == 0.0)


def test_gain_is_smooth() -> None:
    sample_rate = 48000
    x = signals.pink_noise(sample_rate=sample_rate, duration_s=1.0, level_dbfs=-12.0, seed=3)
    x[:, 20000:20010] += 0.9  # a click: the gain must still ramp, not jump
    lim = TruePeakLimiter(LimiterParams(input_gain_db=12.0), sample_rate=sample_rate, num_channels=2)
    lim.process(x)
    gain = 10 ** (-lim.gain_reduction_db()[0] / 20)
    design = design_limiter(lim.params, sample_rate=sample_rate)
    depth = 1.0 - gain.min()
    assert depth > 0.5
    # two cascaded moving averages: |Δg| <= depth / W2 per sample (x 1.25 for the safety stage)
    assert np.max(np.abs(np.diff(gain))) <= 1.25 * depth / design.box2_samples


@pytest.mark.parametrize("release_ms", [20.0, 80.0, 300.0])
def test_release_time_constant_non_adaptive(release_ms: float) -> None:
    sample_rate = 48000
    x = signals.sine(1000, sample_rate=sample_rate, duration_s=2.0, amplitude=0.1)
    x[:, 10000:14800] *= 20.0  # 100 ms at +6 dBFS, then back to -20 dBFS
    lim = TruePeakLimiter(
        LimiterParams(release_ms=release_ms, adaptive_release=False), sample_rate=sample_rate, num_channels=2
    )
    lim.process(x)
    reduction = 1.0 - 10 ** (-lim.gain_reduction_db()[0] / 20)  # remaining linear reduction
    start = int(np.argmax(reduction > 0)) + 4800  # into the release, after the burst
    tail = reduction[start:]
    a = tail[0]
    i1 = int(np.argmax(tail < a * np.exp(-1)))
    i2 = int(np.argmax(tail < a * np.exp(-2)))
    measured_ms = (i2 - i1) / sample_rate * 1e3
    assert abs(measured_ms - release_ms) <= 0.1 * release_ms, f"release {measured_ms:.1f} ms (±10 %)"


def test_adaptive_release_is_faster_after_a_transient() -> None:
    sample_rate = 48000
    x = signals.sine(1000, sample_rate=sample_rate, duration_s=1.0, amplitude=0.1)
    x[:, 10000:10050] *= 20.0  # 1 ms transient
    grs = []
    for adaptive in (False, True):
        lim = TruePeakLimiter(LimiterParams(adaptive_release=adaptive), sample_rate=sample_rate, num_channels=2)
        lim.process(x)
        grs.append(lim.gain_reduction_db()[0])
    # 50 ms after the peak the adaptive limiter has released more
    k = int(np.argmax(grs[0])) + 2400
    assert grs[1][k] < 0.5 * grs[0][k]


def test_stereo_link() -> None:
    x = signals.sine(1000, sample_rate=44100, duration_s=0.2, amplitude=0.1)
    x[0] *= 20.0
    linked = TruePeakLimiter(LimiterParams(), sample_rate=44100, num_channels=2)
    linked.process(x)
    gr = linked.gain_reduction_db()
    np.testing.assert_array_equal(gr[0], gr[1])
    free = TruePeakLimiter(LimiterParams(stereo_link=False), sample_rate=44100, num_channels=2)
    free.process(x)
    gr = free.gain_reduction_db()
    assert gr[0].max() > 5.0 and gr[1].max() == 0.0


def test_params_validation_and_registry() -> None:
    with pytest.raises(ParameterError, match=r"lookahead_ms=30.0 must be in \[1, 20\]"):
        LimiterParams(lookahead_ms=30.0)
    with pytest.raises(ParameterError, match="oversample"):
        LimiterParams(oversample=2)
    with pytest.raises(ParameterError, match="ceiling_dbtp"):
        LimiterParams(ceiling_dbtp=0.5)
    lim = processor_from_dict({"type": "limiter", "params": {"ceiling_dbtp": -0.3}}, sample_rate=48000, num_channels=2)
    assert isinstance(lim, TruePeakLimiter) and lim.params.ceiling_dbtp == -0.3
    assert lim.to_dict()["params"]["oversample"] == 4


# --------------------------------------------------------------------------------------------
# invariants


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("num_channels", CHANNELS)
def test_invariants(sample_rate: int, num_channels: int) -> None:
    x = signals.pink_noise(sample_rate=sample_rate, duration_s=0.12, level_dbfs=-8.0, num_channels=num_channels, seed=9)
    params = LimiterParams(input_gain_db=10.0, lookahead_ms=2.0, release_ms=30.0)
    lim = TruePeakLimiter(params, sample_rate=sample_rate, num_channels=num_channels)
    whole = lim.process(x)
    for block in (1, 64, 511, 4096):
        lim.reset()
        parts = np.concatenate([lim.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)], axis=1)
        np.testing.assert_array_equal(parts, whole, err_msg=f"block {block}")
    lim.reset()
    np.testing.assert_array_equal(lim.process(x), whole)
    lim.reset()
    assert not np.any(lim.process(np.zeros_like(x)))
    assert lim.process(np.zeros((num_channels, 0))).shape == (num_channels, 0)
    assert lim.process(x.astype(np.float32)).dtype == np.float32
    # alignment: a quiet impulse comes out where it went in
    imp = signals.impulse(num_samples=2000, position=500, amplitude=0.1, num_channels=num_channels)
    np.testing.assert_array_equal(process_offline(lim, imp), imp * db_to_gain(10.0))


# --------------------------------------------------------------------------------------------
# the safety stage's screen (8x detection only where the main stage's estimate comes near)


@pytest.mark.parametrize("ceiling_dbtp", [-1.0, -0.1])
@pytest.mark.parametrize("lookahead_ms", [1.0, 5.0])
def test_safety_screen_changes_nothing(monkeypatch: pytest.MonkeyPatch, ceiling_dbtp: float, lookahead_ms: float) -> None:
    # with the screen wide open (every interval within 200 dB of the ceiling) the safety stage
    # runs its 8x detection everywhere; the screened limiter must give the same bits
    sample_rate = 44100
    x = np.concatenate(list(_hard_signals(sample_rate).values()), axis=1)
    pink = signals.pink_noise(sample_rate=sample_rate, duration_s=1.0, level_dbfs=-10.0, seed=12)
    x = np.concatenate([x, pink], axis=1)
    params = LimiterParams(ceiling_dbtp=ceiling_dbtp, input_gain_db=12.0, lookahead_ms=lookahead_ms)
    screened = TruePeakLimiter(params, sample_rate=sample_rate, num_channels=2)
    y = process_offline(screened, x)
    computed = screened._safety.computed_intervals
    monkeypatch.setattr("burnish.dsp.limiter.SCREEN_DB", 200.0)
    full = TruePeakLimiter(params, sample_rate=sample_rate, num_channels=2)
    np.testing.assert_array_equal(process_offline(full, x), y)
    assert computed < full._safety.computed_intervals, "the screen skips some of the 8x work"


# --------------------------------------------------------------------------------------------
# the main stage's detection runs only where the cascade bound can reach the ceiling


@pytest.mark.parametrize("oversample", [4, 8])
@pytest.mark.parametrize("stereo_link", [True, False])
def test_main_stage_skip_changes_nothing(oversample: int, stereo_link: bool) -> None:
    # quiet noise with loud bursts at many offsets (hot/cold transitions on every block edge);
    # with the skip level at 0 every interval is computed: the output must be the same bits
    sample_rate = 44100
    rng = np.random.default_rng(5)
    x = 0.02 * rng.standard_normal((2, sample_rate // 2))
    for k, start in enumerate(range(300, x.shape[1] - 600, 1999)):
        x[k % 2, start : start + 40 + k % 7] += 0.9 * np.sin(0.3 * np.arange(40 + k % 7) + k)
    params = LimiterParams(ceiling_dbtp=-1.0, input_gain_db=3.0, oversample=oversample, stereo_link=stereo_link)
    skipping = TruePeakLimiter(params, sample_rate=sample_rate, num_channels=2)
    whole = skipping.process(x)
    assert 0 < skipping._main.computed_intervals < 0.8 * x.shape[1], "the skip leaves out quiet intervals"
    full = TruePeakLimiter(params, sample_rate=sample_rate, num_channels=2)
    full._main.level = 0.0
    np.testing.assert_array_equal(full.process(x), whole)
    for block in (1, 64, 511, 4096):
        skipping.reset()
        parts = [skipping.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)]
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole, err_msg=f"block {block}")
