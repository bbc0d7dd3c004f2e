"""Invariants every registered processor keeps, over 44.1/48/96 kHz x mono/stereo.

* streaming equals one offline call, bit for bit, for blocks of 64, 511 and 4096 samples, and
  for 1-sample blocks on the first 1024 samples;
* ``reset()`` makes a second run bit-identical;
* silence in gives silence out (|y| <= 1e-10, i.e. below -200 dBFS); dither is excepted (it adds
  noise by design): its output must lie on the bit-depth grid below -70 dBFS (16-bit noise-shaped TPDF is -78 dBFS);
* an empty block gives an empty block; float32 in gives float32 out;
* after latency compensation (``process_offline``) the output is aligned: the cross-correlation
  of output and input (white noise) peaks at lag 0 (within ``ALIGN_TOLERANCE_MS`` for kinds
  with crossover all-passes);
* a bad parameter raises ``ParameterError`` naming the parameter.

Each kind runs with a non-trivial parameter set where the defaults are a no-op (``PARAMS``);
kinds whose modules don't exist yet are skipped with a reason. The resampler changes the rate
and has its own tests (tests/dsp/test_resample.py).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from burnish.dsp.base import (
    Processor,
    params_from_dict,
    process_offline,
    registered_processors,
)
from burnish.errors import ChainError, ParameterError
from tests import signals

#: Non-trivial parameters per kind (defaults that are a no-op would test nothing).
PARAMS: dict[str, dict[str, Any]] = {
    "gain": {"gain_db": -3.5},
    "highpass": {"cutoff_hz": 40.0},
    "polarity": {"invert_left": True},
    "balance": {"balance_db": 1.5},
    "eq": {"bands": [{"type": "bell", "frequency_hz": 1000.0, "gain_db": 4.0, "q": 1.0},
                     {"type": "high_shelf", "frequency_hz": 6000.0, "gain_db": -3.0,
                      "channels": "side"}]},
    "match_eq": {"frequencies_hz": [100.0, 1000.0, 10000.0], "mid_gains_db": [3.0, 0.0, -2.0],
                 "side_gains_db": [-3.0, 0.0, 2.0], "length_ms": 20.0},
    "dehum": {"mains_hz": 50},
    "dynamic_eq": {},
    "deesser": {},
    "compressor": {"threshold_db": -30.0, "ratio": 3.0},
    "multiband_compressor": {},
    "limiter": {},
    "saturation": {"drive_db": 6.0},
    "imager": {"width": 1.6, "mono_below_hz": 120.0},
    "reverb": {"mix": 0.2, "decay_s": 0.5},
    "dither": {"bit_depth": 16, "shape": "noise_shaped"},
}
#: Alignment tolerance (ms) where an all-pass phase shift is inherent: an LR crossover's
#: band sum is an all-pass whose group delay (about 0.45 ms at low frequencies for a 1 kHz
#: split) moves the broadband correlation peak by a sample or two; it is not latency.
ALIGN_TOLERANCE_MS: dict[str, float] = {"multiband_compressor": 0.05}
#: Kinds that change the sample rate: tested apart.
RATE_CHANGING = {"resample"}
#: Kinds that add noise to silence by design.
NOISY = {"dither"}

REGISTRY = registered_processors()
KINDS = sorted((set(PARAMS) | set(REGISTRY)) - RATE_CHANGING)
RATES = (44100, 48000, 96000)
CHANNELS = (1, 2)
DURATION_S = 0.1


def build(kind: str, sample_rate: int, num_channels: int) -> Processor:
    if kind not in REGISTRY:
        pytest.skip(f"processor kind {kind!r} is not registered yet (its module doesn't exist)")
    cls = REGISTRY[kind]
    try:
        params = params_from_dict(cls.params_type, PARAMS.get(kind, {}), where=kind)
    except ChainError:  # the kind's parameter names changed: still test its defaults
        params = cls.params_type()
    return cls(params, sample_rate=sample_rate, num_channels=num_channels)


def test_signal(sample_rate: int, num_channels: int) -> np.ndarray:
    """Noise at -20 dBFS plus a -12 dBFS 1 kHz tone: drives dynamics, filters and the imager."""
    noise = signals.white_noise(sample_rate=sample_rate, duration_s=DURATION_S, level_dbfs=-20.0,
                                num_channels=num_channels, seed=7)
    tone = signals.sine(1000.0, sample_rate=sample_rate, duration_s=DURATION_S, amplitude=0.25,
                        num_channels=num_channels)
    if num_channels == 2:
        noise[1] = 0.7 * noise[0] + 0.3 * noise[1]  # positively correlated stereo
    return noise + tone


test_signal.__test__ = False  # type: ignore[attr-defined]

grid = pytest.mark.parametrize("sample_rate", RATES)
chans = pytest.mark.parametrize("num_channels", CHANNELS)
kinds = pytest.mark.parametrize("kind", KINDS)


def stream(p: Processor, x: np.ndarray, block: int) -> np.ndarray:
    p.reset()
    outs = [p.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)]
    return np.concatenate(outs, axis=1)


@kinds
@grid
@chans
def test_streaming_equals_offline_and_reset(kind: str, sample_rate: int, num_channels: int) -> None:
    p = build(kind, sample_rate, num_channels)
    x = test_signal(sample_rate, num_channels)
    p.reset()
    whole = p.process(x)
    assert whole.shape == x.shape
    for block in (64, 511, 4096):
        got = stream(p, x, block)
        assert np.array_equal(got, whole), f"{kind}: block size {block} changed the output"
    short = x[:, :1024]
    assert np.array_equal(stream(p, short, 1), whole[:, :1024]), f"{kind}: 1-sample blocks differ"
    p.reset()
    again = p.process(x)
    assert np.array_equal(again, whole), f"{kind}: reset() did not give a bit-identical rerun"


@kinds
@grid
@chans
def test_silence_empty_and_dtype(kind: str, sample_rate: int, num_channels: int) -> None:
    p = build(kind, sample_rate, num_channels)
    zeros = np.zeros((num_channels, int(DURATION_S * sample_rate)))
    y = p.process(zeros)
    if kind in NOISY:
        bits = p.params.bit_depth
        scaled = y * 2 ** (bits - 1)
        assert np.array_equal(scaled, np.round(scaled)), "dither output is off the grid"
        assert signals.rms_db(y) < -70.0, "dither noise in silence above -70 dBFS"
    else:
        assert np.max(np.abs(y)) <= 1e-10, f"{kind}: silence in gave {np.max(np.abs(y))} out"
    for dtype in (np.float32, np.float64):
        p.reset()
        empty = p.process(np.zeros((num_channels, 0), dtype=dtype))
        assert empty.shape == (num_channels, 0) and empty.dtype == dtype
        p.reset()
        x = test_signal(sample_rate, num_channels)[:, :2048].astype(dtype)
        out = p.process(x)
        assert out.dtype == dtype, f"{kind}: {np.dtype(dtype).name} in gave {out.dtype} out"
        assert out.shape == x.shape


@kinds
@grid
@chans
def test_latency_compensated_alignment(kind: str, sample_rate: int, num_channels: int) -> None:
    p = build(kind, sample_rate, num_channels)
    x = signals.white_noise(sample_rate=sample_rate, duration_s=DURATION_S, level_dbfs=-20.0,
                            num_channels=num_channels, seed=11)
    y = process_offline(p, x)
    assert y.shape == x.shape
    tolerance = round(ALIGN_TOLERANCE_MS.get(kind, 0.0) * 1e-3 * sample_rate)
    lags = range(-40, 41)
    for c in range(num_channels):
        a = x[c, 100:-100]
        corr = [abs(float(np.dot(a, y[c, 100 + lag : y.shape[1] - 100 + lag]))) for lag in lags]
        best = list(lags)[int(np.argmax(corr))]
        assert abs(best) <= tolerance, (
            f"{kind}: output peaks {best} samples off (tolerance {tolerance}) after compensating"
            f" latency_samples={p.latency_samples}"
        )


@kinds
def test_bad_parameter_names_itself(kind: str) -> None:
    if kind not in REGISTRY:
        pytest.skip(f"processor kind {kind!r} is not registered yet (its module doesn't exist)")
    params_type = REGISTRY[kind].params_type
    rejected = 0
    numeric = 0
    for field in dataclasses.fields(params_type):
        default = getattr(params_type(), field.name)
        as_tuple = isinstance(default, tuple) and bool(default)
        first = default[0] if as_tuple else default
        if isinstance(first, bool) or not isinstance(first, (int, float)):
            continue
        numeric += 1
        for bad in (-1e12, 1e12, math.nan):
            value: Any = int(bad) if isinstance(first, int) and not math.isnan(bad) else bad
            if as_tuple:
                value = (value, *default[1:])
            try:
                params_type(**{field.name: value})
            except ParameterError as exc:
                rejected += 1
                assert field.name in str(exc), f"{kind}: error {exc!s} doesn't name {field.name}"
                assert "\n" not in str(exc)
                break
    if numeric == 0:
        pytest.skip(f"{kind} has no numeric parameter (flags and choices only)")
    assert rejected > 0, f"{kind}: no numeric parameter rejects +-1e12 or NaN"
