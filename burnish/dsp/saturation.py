"""Oversampled saturation: soft clip, tape and tube curves with drive compensation and mix.

Signal flow: ``x * drive`` -> upsample (half-band cascade, quality ``"high"``) -> curve ->
downsample -> DC blocker (asymmetric curves only) -> drive compensation -> mix with the dry
signal delayed by the same latency -> output gain.

Curves (``f'(0) = 1`` for every curve, so small signals pass at unity gain before compensation):

* ``soft_clip``: linear up to 0.5, then a tanh knee into a hard ceiling at 1.0 (the "hardest"
  curve; its third derivative jumps at the knee, so harmonics fall as 1/k^4);
* ``tape``: ``tanh(x)`` (symmetric, odd harmonics only, smooth);
* ``tube``: ``tanh(x + b)`` re-centred and normalised, ``b = 0.2 + bias`` (asymmetric, so
  even harmonics; the DC it makes is removed by a 5 Hz DC blocker).

``bias`` (0..1) adds the same asymmetry to every curve: ``f_b(x) = (f(x + b) - f(b)) / f'(b)``.

Drive compensation: the wet signal is scaled so that a sine at -12 dBFS peak keeps its RMS level
at every drive (:func:`design_drive_compensation`); louder passages come out compressed, quieter
ones about unchanged, so turning the drive changes the colour more than the level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np
import numpy.typing as npt

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import Processor, check_choice, check_range, offline, register_processor
from burnish.dsp.oversample import Oversampler, _fir_pairs, design_stages
from burnish.units import db_to_gain

Float64Array = npt.NDArray[np.float64]

CURVES = ("soft_clip", "tape", "tube")
_CURVE_CODES = {"soft_clip": 0, "tape": 1, "tube": 2}
#: Built-in asymmetry of the tube curve (added to ``bias``).
TUBE_BIAS = 0.2
#: Reference level for the drive compensation: a sine at this peak level keeps its RMS.
COMPENSATION_REFERENCE_DBFS = -12.0
#: DC blocker corner (Hz) after asymmetric curves.
DC_BLOCKER_HZ = 5.0
_SOFT_KNEE = 0.5
#: Stop band of the later decimation stages (8x -> 4x -> 2x). They only remove the curve's
#: harmonics far above the kept band, which fold onto it with this attenuation on top of their
#: own level (for tanh(4 sin) the harmonics that fold at 4x are near -56 dBFS: -126 dBFS after
#: this stage); the upsampling images (which the curve would intermodulate) keep the full
#: 120 dB. Half the taps of the 120 dB stages.
DOWN_LATER_ATTENUATION_DB = 70.0
#: Stop band of the later upsampling stages (2x -> 4x, 4x -> 8x; 8 and 4 tap pairs instead of
#: 10 and 8). Their images sit far above the audio band (from 2 * rate - 22 kHz up); the curve
#: would need many signal components to move them back into it, each product with the image's
#: own -80 dB on top. Measured worst alias on the test (full-scale 10 kHz) unchanged to 1 dB:
#: tape 12 dB -120.7 dBFS (-119.9 at 120 dB), tube 12 dB -121.1, soft_clip 6 dB -95.8.
UP_LATER_ATTENUATION_DB = 80.0
#: Base-rate samples per internal chunk: 8x = 32 KB of float32 per stage buffer, so the tap
#: passes run from L1/L2 (8192 made them L2-bandwidth bound: ~10% slower).
_CHUNK_SAMPLES = 1024


@dataclass(frozen=True, slots=True)
class SaturationParams:
    """Parameters of :class:`Saturator`.

    curve: ``"soft_clip"``, ``"tape"`` or ``"tube"``.
    drive_db: gain into the curve (dB), in [0, 24].
    mix: wet share, in [0, 1] (0 = the delayed dry signal exactly).
    output_gain_db: gain after the mix (dB), in [-24, 24].
    oversample: 2, 4 or 8. 8 (the default) is raised to 16, 32 or 64 where the curve and
        drive need it (:func:`effective_oversample`) to keep the aliasing of a full-scale
        10 kHz sine at 44.1/48 kHz below -90 dBFS; 2 and 4 are taken as given.
    bias: extra asymmetry (even harmonics), in [0, 1].
    """

    curve: str = "tape"
    drive_db: float = 0.0
    mix: float = 1.0
    output_gain_db: float = 0.0
    oversample: int = 8
    bias: float = 0.0

    def __post_init__(self) -> None:
        check_choice("curve", self.curve, CURVES)
        check_range("drive_db", self.drive_db, 0.0, 24.0)
        check_range("mix", self.mix, 0.0, 1.0)
        check_range("output_gain_db", self.output_gain_db, -24.0, 24.0)
        check_choice("oversample", str(self.oversample), ("2", "4", "8"))
        check_range("bias", self.bias, 0.0, 1.0)


@numba.njit(cache=True, nogil=True)
def _raw_curve(x: float, code: int) -> float:
    if code == 0:
        ax = abs(x)
        if ax <= _SOFT_KNEE:
            return x
        y = _SOFT_KNEE + (1.0 - _SOFT_KNEE) * math.tanh((ax - _SOFT_KNEE) / (1.0 - _SOFT_KNEE))
        return y if x > 0.0 else -y
    return math.tanh(x)


@numba.njit(cache=True, nogil=True)
def _raw_slope(x: float, code: int) -> float:
    if code == 0:
        ax = abs(x)
        if ax <= _SOFT_KNEE:
            return 1.0
        t = math.tanh((ax - _SOFT_KNEE) / (1.0 - _SOFT_KNEE))
        return 1.0 - t * t
    t = math.tanh(x)
    return 1.0 - t * t


# float32 rational approximation of tanh on [-7.905, 7.905] (the one Eigen uses; error below
# 3e-7, exactly odd). It vectorises where math.tanh is a scalar libm call per sample; numba's
# ``error_model="numpy"`` drops the division-by-zero check that would stop the vectorisation.
_f32 = np.float32


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy", inline="always")
def _tanh32(x: np.float32) -> np.float32:
    clamp = _f32(7.90531110763549805)
    x = clamp if x > clamp else x
    x = -clamp if x < -clamp else x
    x2 = x * x
    p = x2 * _f32(-2.76076847742355e-16) + _f32(2.00018790482477e-13)
    p = x2 * p + _f32(-8.60467152213735e-11)
    p = x2 * p + _f32(5.12229709037114e-08)
    p = x2 * p + _f32(1.48572235717979e-05)
    p = x2 * p + _f32(6.37261928875436e-04)
    p = x2 * p + _f32(4.89352455891786e-03)
    q = x2 * _f32(1.19825839466702e-06) + _f32(1.18534705686654e-04)
    q = x2 * q + _f32(2.26843463243900e-03)
    q = x2 * q + _f32(4.89352518554385e-03)
    return (x * p) / q


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy", inline="always")
def _soft_clip32(x: np.float32) -> np.float32:
    # linear to the knee (0.5), then 0.5 + 0.5 * tanh((|x| - 0.5) / 0.5)
    ax = abs(x)
    knee = _f32(_SOFT_KNEE)
    y = knee + knee * _tanh32(_f32(2.0) * ax - _f32(1.0))
    y = ax if ax <= knee else y
    return y if x >= _f32(0.0) else -y


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _wet_kernel(
    x: Float64Array,
    drive: float,
    up_bufs: tuple[npt.NDArray[np.float32], ...],
    up_folded: tuple[npt.NDArray[np.float32], ...],
    up_halfs: npt.NDArray[np.int64],
    down_bufs: tuple[npt.NDArray[np.float32], ...],
    down_folded: tuple[npt.NDArray[np.float32], ...],
    down_halfs: npt.NDArray[np.int64],
    code: int,
    offset: float,
    inv_slope: float,
    chunk: int,
    wet: Float64Array,
) -> None:
    """The whole oversampled wet path of a block, chunk by chunk, channel by channel.

    Stage ``s`` of the upsampler reads ``up_bufs[s]`` (channels, ``M_s`` history + chunk input)
    and writes its output straight into the input region of the next buffer (``up_bufs[s+1]``,
    or for the last stage ``down_bufs[-1]``, where the curve runs in place); the decimators walk
    back down the same way; the last one writes ``wet`` (float64). After a chunk each buffer's
    tail (the history of the next chunk) moves to its head: no concatenation, no allocation
    per chunk. Same taps and summation order as ``_up2_kernel``/``_down2_kernel`` whatever the
    block size (streaming is bit-exact).
    """
    num_channels, n_total = x.shape
    num_stages = up_halfs.shape[0]
    factor = 1 << num_stages
    acc = np.empty(chunk * factor, dtype=np.float32)
    odd = np.empty(chunk * factor + 2 * down_halfs.max(), dtype=np.float32)
    b = _f32(offset)
    sl = _f32(inv_slope)
    f0 = _soft_clip32(b) if code == 0 else _tanh32(b)
    g = drive
    for start in range(0, n_total, chunk):
        stop = min(n_total, start + chunk)
        n = stop - start
        for c in range(num_channels):
            # drive, to float32, into the first up buffer
            h0 = up_halfs[0]
            row0 = up_bufs[0][c]
            xr = x[c]
            for i in range(n):
                row0[h0 + i] = _f32(xr[start + i] * g)
            m = n  # input length of the current stage
            for s in range(num_stages):
                hist = up_halfs[s]
                row = up_bufs[s][c]
                folded = up_folded[s]
                num_pairs = folded.shape[0]
                last = 2 * num_pairs - 1
                center = hist // 2
                if s + 1 < num_stages:
                    dst = up_bufs[s + 1][c]
                    dst_off = up_halfs[s + 1]
                else:
                    dst = down_bufs[num_stages - 1][c]
                    dst_off = 2 * down_halfs[num_stages - 1]
                _fir_pairs(row, hist, hist - last, folded, m, acc)
                even = row[hist - center : hist - center + m]
                out = dst[dst_off : dst_off + 2 * m]
                for i in range(m):
                    out[2 * i] = even[i]
                    out[2 * i + 1] = acc[i]
                # history for the next chunk
                for j in range(hist):
                    row[j] = row[m + j]
                m *= 2
            # the curve, in place, at the high rate
            hh = 2 * down_halfs[num_stages - 1]
            top = down_bufs[num_stages - 1][c][hh : hh + m]
            if code == 0:
                for i in range(m):
                    top[i] = (_soft_clip32(top[i] + b) - f0) * sl
            else:
                for i in range(m):
                    top[i] = (_tanh32(top[i] + b) - f0) * sl
            for s in range(num_stages - 1, -1, -1):
                half = down_halfs[s]
                hist = 2 * half
                row = down_bufs[s][c]
                folded = down_folded[s]
                num_pairs = folded.shape[0]
                k = m // 2
                num_odd = (hist + m) // 2
                for j in range(num_odd):
                    odd[j] = row[2 * j + 1]
                _fir_pairs(odd, half - 1, 0, folded, k, acc)
                if s > 0:
                    dhist = 2 * down_halfs[s - 1]
                    out = down_bufs[s - 1][c][dhist : dhist + k]
                    for i in range(k):
                        out[i] = acc[i] + _f32(0.5) * row[hist + 2 * i - half]
                else:
                    wr = wet[c]
                    for i in range(k):
                        wr[start + i] = acc[i] + _f32(0.5) * row[hist + 2 * i - half]
                for j in range(hist):
                    row[j] = row[m + j]
                m = k


#: ``(largest drive_db, factor)`` per curve: with ``oversample=8`` the saturator runs at the
#: first factor whose drive limit is not exceeded. Measured worst alias of a full-scale 10 kHz
#: sine at 44.1/48 kHz (drive in 1.5-3 dB steps, bias 0-1): soft_clip 8x -97.4 dBFS up to 3 dB
#: (5.5 dB, bias 1: -89.7), 16x -98.0 up to 15 dB (18 dB: -85.3), 32x -105.1 up to 21 dB
#: (24 dB: -92.4), 64x -104.9 at 24 dB; tape/tube 8x -120.8 up to 12 dB (15 dB: -96.2,
#: 18 dB: -79), 16x -106.2 up to 21 dB (24 dB: -85.5), 32x -105.4 at 24 dB. A harder curve
#: driven harder is nearer a square wave: its harmonics decay more slowly and fold back from
#: higher up.
OVERSAMPLE_BY_DRIVE: dict[str, tuple[tuple[float, int], ...]] = {
    "soft_clip": ((3.0, 8), (15.0, 16), (21.0, 32), (24.0, 64)),
    "tape": ((12.0, 8), (21.0, 16), (24.0, 32)),
    "tube": ((12.0, 8), (21.0, 16), (24.0, 32)),
}


def effective_oversample(params: SaturationParams) -> int:
    """The oversampling factor the saturator runs at.

    ``oversample`` 2 or 4 is taken as given (a cheaper wet path that aliases). With the default
    8 the factor is raised to what ``curve`` and ``drive_db`` need to keep the aliases of a
    full-scale 10 kHz sine at 44.1/48 kHz below -90 dBFS (:data:`OVERSAMPLE_BY_DRIVE`): 8 up
    to 3 dB of drive (soft_clip) or 12 dB (tape, tube), up to 64 (soft_clip at 24 dB).
    """
    if params.oversample < 8:
        return int(params.oversample)
    for max_drive_db, factor in OVERSAMPLE_BY_DRIVE[params.curve]:
        if params.drive_db <= max_drive_db:
            return factor
    return OVERSAMPLE_BY_DRIVE[params.curve][-1][1]


def curve_offset(params: SaturationParams) -> float:
    """The bias ``b`` of the curve (``TUBE_BIAS + bias`` for tube, ``bias`` otherwise)."""
    return params.bias + (TUBE_BIAS if params.curve == "tube" else 0.0)


@numba.njit(cache=True, nogil=True, fastmath=False)
def _shape_kernel(x: Float64Array, code: int, offset: float, out: Float64Array) -> None:
    f0 = _raw_curve(offset, code)
    inv_slope = 1.0 / _raw_slope(offset, code)
    for c in range(x.shape[0]):
        for i in range(x.shape[1]):
            out[c, i] = (_raw_curve(x[c, i] + offset, code) - f0) * inv_slope


def shape(x: npt.ArrayLike, params: SaturationParams) -> Float64Array:
    """The static curve of ``params`` applied sample by sample (no drive, no oversampling)."""
    arr = np.atleast_2d(np.asarray(x, dtype=np.float64))
    out = np.empty_like(arr)
    _shape_kernel(np.ascontiguousarray(arr), _CURVE_CODES[params.curve], curve_offset(params), out)
    return out.reshape(np.shape(x))


def design_drive_compensation(params: SaturationParams) -> float:
    """Gain after the curve that keeps the RMS of a -12 dBFS-peak sine (AC part) unchanged."""
    phase = 2.0 * np.pi * (np.arange(4096) + 0.5) / 4096
    ref = db_to_gain(COMPENSATION_REFERENCE_DBFS) * np.sin(phase)
    wet = shape(db_to_gain(params.drive_db) * ref, params)
    wet = wet - wet.mean()
    return float(np.sqrt(np.mean(ref**2)) / np.sqrt(np.mean(wet**2)))


@numba.njit(cache=True, nogil=True)
def _dc_block_kernel(x: Float64Array, coef: float, state: Float64Array) -> None:
    """In place ``y[n] = x[n] - x[n-1] + coef * y[n-1]``; state = [[x1, y1] per channel]."""
    for c in range(x.shape[0]):
        x1 = state[c, 0]
        y1 = state[c, 1]
        for i in range(x.shape[1]):
            xi = x[c, i]
            y1 = xi - x1 + coef * y1
            x1 = xi
            x[c, i] = y1
        state[c, 0] = x1
        state[c, 1] = y1


@numba.njit(cache=True, nogil=True)
def _finish_kernel(
    x: Float64Array,
    wet: Float64Array,
    dry_hist: Float64Array,
    compensation: float,
    mix: float,
    output_gain: float,
    out: Float64Array,
) -> None:
    """``out = (mix * wet * compensation + (1 - mix) * dry) * output_gain`` in one pass.

    ``dry`` is ``x`` delayed by ``d = dry_hist.shape[1]`` samples: ``dry_hist`` holds the last
    ``d`` input samples and is updated in place.
    """
    num_channels, n = x.shape
    d = dry_hist.shape[1]
    wet_gain = mix * compensation
    dry_gain = 1.0 - mix
    for c in range(num_channels):
        hist = dry_hist[c]
        xr = x[c]
        wr = wet[c]
        orow = out[c]
        head = min(d, n)
        for i in range(head):
            orow[i] = (wet_gain * wr[i] + dry_gain * hist[i]) * output_gain
        for i in range(head, n):
            orow[i] = (wet_gain * wr[i] + dry_gain * xr[i - d]) * output_gain
        if n >= d:
            for j in range(d):
                hist[j] = xr[n - d + j]
        else:
            for j in range(d - n):
                hist[j] = hist[j + n]
            for j in range(n):
                hist[d - n + j] = xr[j]


@register_processor
class Saturator(Processor):
    """Oversampled waveshaper (see module docs); latency = the oversampler's round trip."""

    kind: ClassVar[str] = "saturation"
    params_type: ClassVar[type] = SaturationParams
    params: SaturationParams

    def __init__(self, params: SaturationParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self._factor = effective_oversample(params)
        self._oversampler = Oversampler(
            self._factor,
            self.num_channels,
            quality="high",
            compute_dtype=np.float32,
            down_later_attenuation_db=DOWN_LATER_ATTENUATION_DB,
        )
        up_stages = design_stages(
            self._factor, quality="high", later_attenuation_db=UP_LATER_ATTENUATION_DB
        )
        self._drive = db_to_gain(params.drive_db)
        self._compensation = design_drive_compensation(params)
        self._output_gain = db_to_gain(params.output_gain_db)
        self._code = _CURVE_CODES[params.curve]
        self._offset = curve_offset(params)
        self._inv_slope = 1.0 / float(_raw_slope(self._offset, self._code))
        self._dc_block = self._offset != 0.0
        self._dc_coef = float(np.exp(-2.0 * np.pi * DC_BLOCKER_HZ / self.sample_rate))
        osr = self._oversampler
        self._latency = sum(
            st.half_length // 2**s for s, st in enumerate(up_stages, start=1)
        ) + sum(st.half_length // 2**s for s, st in enumerate(osr.down_stages, start=1))
        f32 = np.float32
        self._up_halfs = np.array([st.half_length for st in up_stages], dtype=np.int64)
        self._down_halfs = np.array([st.half_length for st in osr.down_stages], dtype=np.int64)
        self._up_folded = tuple((2.0 * st.folded).astype(f32) for st in up_stages)
        self._down_folded = tuple(st.folded.astype(f32) for st in osr.down_stages)
        self._up_bufs: tuple[npt.NDArray[np.float32], ...] = ()
        self._down_bufs: tuple[npt.NDArray[np.float32], ...] = ()
        self.reset()

    @property
    def latency_samples(self) -> int:
        return self._latency

    @property
    def oversample_factor(self) -> int:
        """The oversampling factor the wet path runs at (:func:`effective_oversample`)."""
        return self._factor

    @property
    def drive_compensation(self) -> float:
        """The linear gain applied after the curve (see :func:`design_drive_compensation`)."""
        return self._compensation

    def reset(self) -> None:
        self._oversampler.reset()
        # per stage: history head + one chunk of input (see _wet_kernel)
        ch = self.num_channels
        self._up_bufs = tuple(
            np.zeros((ch, int(h) + _CHUNK_SAMPLES * 2**s), np.float32)
            for s, h in enumerate(self._up_halfs)
        )
        self._down_bufs = tuple(
            np.zeros((ch, 2 * int(h) + _CHUNK_SAMPLES * 2 ** (s + 1)), np.float32)
            for s, h in enumerate(self._down_halfs)
        )
        self._dc_state = np.zeros((self.num_channels, 2))
        self._dry = np.zeros((self.num_channels, self._latency))

    def process(self, block: AudioArray) -> AudioArray:
        return self._process_unchecked(check_audio(block, num_channels=self.num_channels))

    def _process_unchecked(self, x: AudioArray) -> AudioArray:
        """:meth:`process` for a block that already meets the contract (from a chain)."""
        n = x.shape[1]
        x64 = np.asarray(x, dtype=np.float64)
        wet = np.empty((self.num_channels, n))
        # the wet path runs in float32 (oversampling, curve): its rounding noise sits ~140 dB
        # down; DC blocker, compensation, mix and output gain stay float64
        if n:
            _wet_kernel(
                np.ascontiguousarray(x64),
                self._drive,
                self._up_bufs,
                self._up_folded,
                self._up_halfs,
                self._down_bufs,
                self._down_folded,
                self._down_halfs,
                self._code,
                self._offset,
                self._inv_slope,
                _CHUNK_SAMPLES,
                wet,
            )
        if self._dc_block:
            _dc_block_kernel(wet, self._dc_coef, self._dc_state)
        # compensation, the mix with the delayed dry signal and the output gain in one pass
        out = np.empty_like(wet)
        _finish_kernel(
            np.ascontiguousarray(x64),
            wet,
            self._dry,
            self._compensation,
            float(self.params.mix),
            self._output_gain,
            out,
        )
        return out.astype(x.dtype, copy=False)


#: ``apply_saturation(audio, params, *, sample_rate)``: whole buffer, latency removed.
apply_saturation = offline(Saturator)


def warmup() -> None:
    """Compile the kernels (numba caches them on disk)."""
    for curve in CURVES:
        sat = Saturator(SaturationParams(curve=curve), sample_rate=44100, num_channels=1)
        sat.process(np.zeros((1, 64)))
    # the kernel is specialised per number of half-band stages (16x to 64x: heavy drive)
    for drive_db in (6.0, 18.0, 24.0):
        sat = Saturator(
            SaturationParams(curve="soft_clip", drive_db=drive_db), sample_rate=44100, num_channels=1
        )
        sat.process(np.zeros((1, 64)))
