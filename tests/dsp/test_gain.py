"""Gain, DC/subsonic high-pass, polarity and balance: analytic truths and processor invariants."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from burnish.dsp.base import Processor, params_from_dict, process_offline, processor_from_dict
from burnish.dsp.filters import sos_response_db
from burnish.dsp.gain import (
    ChannelBalance,
    ChannelBalanceParams,
    Gain,
    GainParams,
    HighPass,
    HighPassParams,
    Polarity,
    PolarityParams,
    apply_gain,
)
from burnish.errors import ChainError, ParameterError
from tests import signals

RATES = (44100, 48000, 96000)
CHANNELS = (1, 2)
BLOCK_SIZES = (1, 64, 511, 4096)
#: Block size 1 runs over this many samples only (the per-call overhead dominates).
SINGLE_SAMPLE_SPAN = 3000


def mixed_signal(sample_rate: int, num_channels: int, duration_s: float = 0.2) -> np.ndarray:
    """Noise plus a few tones, different per channel."""
    noise = signals.white_noise(
        sample_rate=sample_rate,
        duration_s=duration_s,
        level_dbfs=-20.0,
        num_channels=num_channels,
        seed=7,
    )
    tones = signals.sine(
        100.0,
        sample_rate=sample_rate,
        duration_s=duration_s,
        amplitude=0.3,
        num_channels=num_channels,
    )
    tones += signals.sine(
        6800.0,
        sample_rate=sample_rate,
        duration_s=duration_s,
        amplitude=0.3,
        num_channels=num_channels,
    )
    return noise + tones


def stream(processor: Processor, x: np.ndarray, block_size: int) -> np.ndarray:
    """Reset, then feed ``x`` in blocks of ``block_size``."""
    processor.reset()
    parts = [processor.process(x[:, i : i + block_size]) for i in range(0, x.shape[1], block_size)]
    return np.concatenate(parts, axis=1)


def assert_processor_invariants(
    make: Callable[[int, int], Processor],
    sample_rate: int,
    num_channels: int,
    x: np.ndarray | None = None,
) -> None:
    """Streaming == offline bitwise for every block size, reset reruns, silence, empty, dtype."""
    proc = make(sample_rate, num_channels)
    if x is None:
        x = mixed_signal(sample_rate, num_channels)
    proc.reset()
    whole = proc.process(x)
    assert whole.shape == x.shape and whole.dtype == x.dtype
    for block_size in BLOCK_SIZES:
        part = x[:, :SINGLE_SAMPLE_SPAN] if block_size == 1 else x
        got = stream(proc, part, block_size)
        assert np.array_equal(got, whole[:, : part.shape[1]]), f"block size {block_size} differs"
    # reset gives a bit-identical rerun (after a run that left state behind)
    proc.reset()
    again = proc.process(x)
    assert np.array_equal(again, whole)
    # silence in, silence out
    fresh = make(sample_rate, num_channels)
    quiet = fresh.process(np.zeros_like(x))
    assert not np.any(quiet)
    # empty in, empty out
    empty = fresh.process(np.zeros((num_channels, 0), dtype=np.float32))
    assert empty.shape == (num_channels, 0) and empty.dtype == np.float32
    # float32 in, float32 out
    out32 = fresh.process(x[:, :256].astype(np.float32))
    assert out32.dtype == np.float32
    # latency compensation: process_offline lines the output up with the input
    aligned = process_offline(proc, x)
    assert aligned.shape == x.shape
    proc.reset()
    padded = proc.process(
        np.concatenate([x, np.zeros((num_channels, proc.latency_samples))], axis=1)
    )
    assert np.array_equal(aligned, padded[:, proc.latency_samples :])


def rms_db(x: np.ndarray) -> float:
    return signals.rms_db(x)


# --------------------------------------------------------------------------------------------
# invariants


MAKERS: dict[str, Callable[[int, int], Processor]] = {
    "gain": lambda sr, ch: Gain(GainParams(gain_db=-4.5), sample_rate=sr, num_channels=ch),
    "highpass": lambda sr, ch: HighPass(
        HighPassParams(cutoff_hz=25.0, slope_db_per_octave=24), sample_rate=sr, num_channels=ch
    ),
    "polarity": lambda sr, ch: Polarity(
        PolarityParams(invert_left=True, invert_right=False), sample_rate=sr, num_channels=ch
    ),
    "balance": lambda sr, ch: ChannelBalance(
        ChannelBalanceParams(balance_db=2.0), sample_rate=sr, num_channels=ch
    ),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("num_channels", CHANNELS)
@pytest.mark.parametrize("sample_rate", RATES)
def test_invariants(name: str, sample_rate: int, num_channels: int) -> None:
    assert_processor_invariants(MAKERS[name], sample_rate, num_channels)


# --------------------------------------------------------------------------------------------
# analytic truths


def test_gain_is_exact_in_db() -> None:
    x = signals.white_noise(sample_rate=48000, duration_s=0.2, seed=1)
    y = apply_gain(x, GainParams(gain_db=-6.0), sample_rate=48000)
    assert rms_db(y) - rms_db(x) == pytest.approx(-6.0, abs=1e-9)  # +-1e-9 dB


def test_float32_gain_keeps_dtype_and_precision() -> None:
    x = signals.white_noise(sample_rate=44100, duration_s=0.1, seed=2).astype(np.float32)
    y = Gain(GainParams(gain_db=3.0), sample_rate=44100, num_channels=2).process(x)
    assert y.dtype == np.float32
    assert np.allclose(y, x.astype(np.float64) * 10 ** (3 / 20), rtol=1e-6)


@pytest.mark.parametrize("slope", [6, 12, 18, 24, 36, 48])
@pytest.mark.parametrize("sample_rate", RATES)
def test_highpass_cutoff_and_slope(slope: int, sample_rate: int) -> None:
    hp = HighPass(
        HighPassParams(cutoff_hz=30.0, slope_db_per_octave=slope),
        sample_rate=sample_rate,
        num_channels=2,
    )
    at_cutoff = sos_response_db(hp.sos, [30.0], sample_rate=sample_rate)[0]
    assert at_cutoff == pytest.approx(-3.0103, abs=0.02)  # -3.01 dB +-0.02 dB
    # far below the cutoff, one octave down costs the nominal slope (+-0.1 dB)
    f1 = 3.75 if slope <= 24 else 6.0  # well below the cutoff, above the -200 dB floor
    low = sos_response_db(hp.sos, [f1, f1 / 2], sample_rate=sample_rate)
    assert low[0] - low[1] == pytest.approx(6.0206 * slope / 6, abs=0.1)


def test_highpass_removes_dc_in_streaming() -> None:
    sr = 48000
    x = np.full((2, sr), 0.25) + signals.sine(
        1000.0, sample_rate=sr, duration_s=1.0, amplitude=0.25
    )
    y = stream(HighPass(HighPassParams(cutoff_hz=20.0), sample_rate=sr, num_channels=2), x, 1000)
    tail = y[:, sr // 2 :]
    assert abs(float(np.mean(tail))) < 1e-4
    # the 1 kHz tone passes within +-0.01 dB
    assert rms_db(tail) == pytest.approx(rms_db(x[:, sr // 2 :] - 0.25), abs=0.01)


def test_polarity_inverts_only_the_chosen_channel() -> None:
    x = mixed_signal(44100, 2)
    y = Polarity(PolarityParams(invert_right=True), sample_rate=44100, num_channels=2).process(x)
    assert np.array_equal(y[0], x[0]) and np.array_equal(y[1], -x[1])


def test_balance_splits_symmetrically() -> None:
    x = mixed_signal(48000, 2)
    y = ChannelBalance(
        ChannelBalanceParams(balance_db=3.0), sample_rate=48000, num_channels=2
    ).process(x)
    assert rms_db(y[0]) - rms_db(x[0]) == pytest.approx(-1.5, abs=1e-9)  # +-1e-9 dB
    assert rms_db(y[1]) - rms_db(x[1]) == pytest.approx(1.5, abs=1e-9)


# --------------------------------------------------------------------------------------------
# validation and serialisation


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: GainParams(gain_db=60.0), "gain_db=60.0 must be in [-48, 48]"),
        (lambda: HighPassParams(cutoff_hz=0.0), "cutoff_hz=0.0 must be in (0, 500]"),
        (lambda: HighPassParams(slope_db_per_octave=30), "slope_db_per_octave=30 must be one of"),
        (lambda: ChannelBalanceParams(balance_db=-30.0), "balance_db=-30.0 must be in [-24, 24]"),
        (lambda: PolarityParams(invert_left=1), "invert_left=1 must be true or false"),  # type: ignore[arg-type]
    ],
)
def test_parameter_errors_name_value_and_range(build: Callable[[], object], fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        build()
    assert fragment in str(info.value)


def test_round_trip_through_dict() -> None:
    hp = HighPass(
        HighPassParams(cutoff_hz=18.0, slope_db_per_octave=36), sample_rate=48000, num_channels=2
    )
    again = processor_from_dict(hp.to_dict(), sample_rate=48000, num_channels=2)
    assert isinstance(again, HighPass) and again.params == hp.params
    with pytest.raises(ChainError):
        params_from_dict(GainParams, {"gain": 1.0}, where="p")
