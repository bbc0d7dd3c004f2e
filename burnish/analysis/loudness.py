"""Loudness metering: ITU-R BS.1770-4/-5, EBU R 128, EBU Tech 3341 V4 (EBU Mode), Tech 3342.

The meter streams: :class:`LoudnessMeter` takes ``(channels, samples)`` blocks of any size and
keeps only the filter state, a 3-second ring of K-weighted power (for the exact sliding maxima)
and one energy per 100 ms hop (36 000 floats for an hour). Equations, with their sources:

* K-weighting (BS.1770 Annex 1): a high shelf then a high-pass, both designed for any sample
  rate by the bilinear transform of the analog prototype whose parameters reproduce the
  standard's 48 kHz coefficients (the approach of libebur128). Applied by a numba kernel that
  computes exactly what ``scipy.signal.sosfilt`` computes, with the state in sosfilt's ``zi``
  layout (importing scipy.signal costs 1-2 s per process, more than measuring 4 minutes).
* Mean square per channel ``z_i``, loudness ``L = -0.691 + 10 log10(sum_i G_i z_i)`` with
  ``G = 1.0`` for L, R, C and mono (mono is *not* +3 dB) and ``G = 1.41`` for the surrounds.
* Gating (BS.1770 eq. 4-7): 400 ms blocks at a 100 ms step (75 % overlap), absolute gate
  -70 LUFS, relative gate 10 LU below the absolute-gated power mean.
* Momentary (400 ms) and short-term (3 s) loudness (Tech 3341): a series at a 100 ms hop and
  their maxima evaluated at *every sample* (running sums over the ring), so bursts at any offset
  are caught (Tech 3341 cases 10, 11, 13, 14).
* Loudness range (Tech 3342): short-term loudness of complete 3 s windows at the 100 ms hop,
  absolute gate -70 LUFS, relative gate -20 LU, LRA = 95th - 10th percentile (nearest rank, as
  libebur128).
* True peak: :mod:`burnish.analysis.true_peak` (4x polyphase below 88.2 kHz).

Silence: the dataclass holds ``-inf`` for levels that do not exist (integrated loudness of
silence, the peaks of all-zero audio); :meth:`LoudnessResult.to_dict` writes them as
``SILENCE_DB`` (-200.0), so the JSON is valid.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.analysis.true_peak import TruePeakMeter
from burnish.audio import check_sample_rate
from burnish.errors import AnalysisError, ParameterError
from burnish.units import SILENCE_DB

Array = npt.NDArray[np.float64]

#: The -0.691 dB offset of BS.1770 (makes a 997 Hz sine at 0 dBFS read -3.01 LUFS per channel).
LOUDNESS_OFFSET_DB = -0.691
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_LOW_PERCENTILE = 0.10
LRA_HIGH_PERCENTILE = 0.95
HOP_S = 0.1
MOMENTARY_S = 0.4
SHORT_TERM_S = 3.0
SURROUND_WEIGHT = 1.41
#: Samples per kernel call (long blocks are cut so the buffers stay in cache).
_CHUNK_SAMPLES = 32768

# Analog prototype of the K-weighting filter (fitted to the 48 kHz coefficients of BS.1770).
_SHELF_F0_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_HIGHPASS_F0_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773


def design_k_weighting_sos(*, sample_rate: int) -> Array:
    """K-weighting as two second-order sections ``[[b0, b1, b2, 1, a1, a2], ...]``.

    Stage 1 is the high shelf (head effects), stage 2 the RLB high-pass. At 48 kHz the
    coefficients equal those printed in BS.1770 Annex 1 (to about 1e-8).
    """
    sr = check_sample_rate(sample_rate)
    k = math.tan(math.pi * _SHELF_F0_HZ / sr)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _SHELF_Q + k * k) / a0,
    ]
    k = math.tan(math.pi * _HIGHPASS_F0_HZ / sr)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    # The standard's high-pass numerator is [1, -2, 1] at 48 kHz (the unity-gain design times
    # a0 there: +0.043 dB in the pass band). It is kept at every rate, as libebur128 and
    # ffmpeg's ebur128 keep it, so that burnish reads what they read: that pass-band gain then
    # drifts with the rate (0.25 dB at 8 kHz, -0.03 dB at 96 kHz), and holding it constant
    # instead made burnish read 0.21 LU under ffmpeg at 8 kHz and 0.03 LU over it at 96 kHz.
    g = 1.0
    highpass = [
        g,
        -2.0 * g,
        g,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _HIGHPASS_Q + k * k) / a0,
    ]
    return np.array([shelf, highpass], dtype=np.float64)


def default_channel_weights(num_channels: int) -> tuple[float, ...]:
    """BS.1770 channel weights for common layouts.

    1: mono (1.0); 2: L R; 3: L R C; 5: L R C Ls Rs; 6: L R C LFE Ls Rs (LFE excluded).
    Other counts need explicit ``channel_weights``.
    """
    table: dict[int, tuple[float, ...]] = {
        1: (1.0,),
        2: (1.0, 1.0),
        3: (1.0, 1.0, 1.0),
        5: (1.0, 1.0, 1.0, SURROUND_WEIGHT, SURROUND_WEIGHT),
        6: (1.0, 1.0, 1.0, 0.0, SURROUND_WEIGHT, SURROUND_WEIGHT),
    }
    if num_channels not in table:
        raise ParameterError(
            f"num_channels={num_channels} has no default channel weights (known: 1, 2, 3, 5, 6);"
            " pass channel_weights"
        )
    return table[num_channels]


def energy_to_lufs(energy: float) -> float:
    """Loudness of a weighted mean square: ``-0.691 + 10 log10(energy)``; ``-inf`` for 0."""
    if energy <= 0.0:
        return -math.inf
    return LOUDNESS_OFFSET_DB + 10.0 * math.log10(energy)


def _energy_to_lufs_array(energy: Array) -> Array:
    e = np.asarray(energy, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = LOUDNESS_OFFSET_DB + 10.0 * np.log10(np.where(e > 0.0, e, 1.0))
    return np.where(e > 0.0, out, -np.inf)


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else SILENCE_DB


# ------------------------------------------------------------------------------------------
# the per-sample kernel


@njit(cache=True, nogil=True)
def _k_weighting_kernel(x: np.ndarray, sos: np.ndarray, zi: np.ndarray, y: np.ndarray) -> None:
    """Cascade of biquads (transposed direct form II, as ``scipy.signal.sosfilt``) per channel.

    ``zi`` ``(sections, channels, 2)`` is the state in sosfilt's layout, updated in place. States
    that have decayed below 1e-100 (-2000 dB) are flushed to zero every 4096 samples: a filter
    fed with digital silence otherwise ends in subnormal numbers (100x slower) and can stay there.
    """
    channels, n = x.shape
    sections = sos.shape[0]
    if sections == 2:  # K-weighting: the state in registers
        b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
        b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
        for c in range(channels):
            s00, s01, s10, s11 = zi[0, c, 0], zi[0, c, 1], zi[1, c, 0], zi[1, c, 1]
            for i in range(n):
                v = x[c, i]
                u = b00 * v + s00
                s00 = b01 * v - a01 * u + s01
                s01 = b02 * v - a02 * u
                w = b10 * u + s10
                s10 = b11 * u - a11 * w + s11
                s11 = b12 * u - a12 * w
                y[c, i] = w
                if (i & 4095) == 4095:
                    if abs(s00) < 1e-100:
                        s00 = 0.0
                    if abs(s01) < 1e-100:
                        s01 = 0.0
                    if abs(s10) < 1e-100:
                        s10 = 0.0
                    if abs(s11) < 1e-100:
                        s11 = 0.0
            zi[0, c, 0], zi[0, c, 1], zi[1, c, 0], zi[1, c, 1] = s00, s01, s10, s11
    else:
        _sos_generic(x, sos, zi, y)
    for s in range(sections):
        for c in range(channels):
            for k in range(2):
                if abs(zi[s, c, k]) < 1e-100:
                    zi[s, c, k] = 0.0


@njit(cache=True, nogil=True)
def _sos_generic(x: np.ndarray, sos: np.ndarray, zi: np.ndarray, y: np.ndarray) -> None:
    """Any number of sections (same arithmetic as :func:`_k_weighting_kernel`)."""
    channels, n = x.shape
    sections = sos.shape[0]
    for c in range(channels):
        for i in range(n):
            v = x[c, i]
            for s in range(sections):
                out = sos[s, 0] * v + zi[s, c, 0]
                zi[s, c, 0] = sos[s, 1] * v - sos[s, 4] * out + zi[s, c, 1]
                zi[s, c, 1] = sos[s, 2] * v - sos[s, 5] * out
                v = out
            y[c, i] = v
            if (i & 4095) == 4095:
                for s in range(sections):
                    for k in range(2):
                        if abs(zi[s, c, k]) < 1e-100:
                            zi[s, c, k] = 0.0


@njit(cache=True, nogil=True)
def _power_kernel(
    y: np.ndarray,
    weights: np.ndarray,
    ring: np.ndarray,
    istate: np.ndarray,
    fstate: np.ndarray,
    window_m: int,
    hop: int,
    hops_out: np.ndarray,
) -> int:
    """Channel-weighted power, exact sliding 400 ms / 3 s sums and their maxima, hop energies.

    ``ring`` (length = the short-term window) holds the last samples' weighted power.
    ``istate`` = [ring position, samples in the current hop];
    ``fstate`` = [momentary sum, short-term sum, max momentary sum, max short-term sum, hop sum].
    Completed hop energies (sums of power) are written to ``hops_out``; returns their count.
    The running sums are recomputed exactly from the ring each time it wraps (no drift).
    """
    channels, n = y.shape
    size = ring.shape[0]
    pos = istate[0]
    in_hop = istate[1]
    sum_m = fstate[0]
    sum_s = fstate[1]
    max_m = fstate[2]
    max_s = fstate[3]
    hop_sum = fstate[4]
    count = 0
    for i in range(n):
        p = 0.0
        for c in range(channels):
            v = y[c, i]
            p += weights[c] * v * v
        sum_s += p - ring[pos]
        j = pos - window_m
        if j < 0:
            j += size
        sum_m += p - ring[j]
        ring[pos] = p
        pos += 1
        if pos == size:
            pos = 0
            s = 0.0
            for q in range(size):
                s += ring[q]
            sum_s = s
            s = 0.0
            for q in range(size - window_m, size):
                s += ring[q]
            sum_m = s
        if sum_m > max_m:
            max_m = sum_m
        if sum_s > max_s:
            max_s = sum_s
        hop_sum += p
        in_hop += 1
        if in_hop == hop:
            hops_out[count] = hop_sum
            count += 1
            hop_sum = 0.0
            in_hop = 0
    istate[0] = pos
    istate[1] = in_hop
    fstate[0] = sum_m
    fstate[1] = sum_s
    fstate[2] = max_m
    fstate[3] = max_s
    fstate[4] = hop_sum
    return count


@njit(cache=True, nogil=True, fastmath={"contract"})
def _stereo_loudness_kernel(
    x: np.ndarray,
    sos: np.ndarray,
    zi: np.ndarray,
    weights: np.ndarray,
    ring: np.ndarray,
    istate: np.ndarray,
    fstate: np.ndarray,
    window_m: int,
    hop: int,
    hops_out: np.ndarray,
    peaks: np.ndarray,
) -> int:
    """K-weighting, power, sliding sums, hop energies and sample peaks of 1 or 2 channels at once.

    The same equations as :func:`_k_weighting_kernel` followed by :func:`_power_kernel`, fused:
    no K-weighted temporary, the two channels' filter recursions interleaved in one loop
    (independent dependency chains run in parallel on the CPU), and the recursion written so
    that its loop-carried path is one fused multiply-add per state (``contract``): the results
    differ from the unfused kernels by float rounding only (about 1e-15 relative).
    ``peaks`` (per channel, linear) is raised to the largest ``|x|``.

    The sliding-sum and hop bookkeeping repeats :func:`_power_kernel`'s on purpose: moving it
    into a shared ``inline="always"`` helper gave identical numbers but ran 4x slower (the
    tuple of loop-carried state defeats numba's register allocation in this loop).
    """
    channels, n = x.shape
    b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    two = channels == 2
    c1 = 1 if two else 0
    w0 = weights[0]
    w1 = weights[c1] if two else 0.0
    # channel 0 state; channel 1 state (unused for mono)
    s00, s01, s10, s11 = zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1]
    t00, t01, t10, t11 = zi[0, c1, 0], zi[0, c1, 1], zi[1, c1, 0], zi[1, c1, 1]
    pk0 = peaks[0]
    pk1 = peaks[c1]
    size = ring.shape[0]
    pos = istate[0]
    in_hop = istate[1]
    sum_m = fstate[0]
    sum_s = fstate[1]
    max_m = fstate[2]
    max_s = fstate[3]
    hop_sum = fstate[4]
    count = 0
    for i in range(n):
        v = np.float64(x[0, i])
        a = abs(v)
        if a > pk0:
            pk0 = a
        u = b00 * v + s00
        s00 = b01 * v + s01 - a01 * u
        s01 = b02 * v - a02 * u
        w = b10 * u + s10
        s10 = b11 * u + s11 - a11 * w
        s11 = b12 * u - a12 * w
        p = 0.0
        p += w0 * w * w
        if two:
            v = np.float64(x[1, i])
            a = abs(v)
            if a > pk1:
                pk1 = a
            u = b00 * v + t00
            t00 = b01 * v + t01 - a01 * u
            t01 = b02 * v - a02 * u
            w = b10 * u + t10
            t10 = b11 * u + t11 - a11 * w
            t11 = b12 * u - a12 * w
            p += w1 * w * w
        if (i & 4095) == 4095:
            if abs(s00) < 1e-100:
                s00 = 0.0
            if abs(s01) < 1e-100:
                s01 = 0.0
            if abs(s10) < 1e-100:
                s10 = 0.0
            if abs(s11) < 1e-100:
                s11 = 0.0
            if abs(t00) < 1e-100:
                t00 = 0.0
            if abs(t01) < 1e-100:
                t01 = 0.0
            if abs(t10) < 1e-100:
                t10 = 0.0
            if abs(t11) < 1e-100:
                t11 = 0.0
        sum_s += p - ring[pos]
        j = pos - window_m
        if j < 0:
            j += size
        sum_m += p - ring[j]
        ring[pos] = p
        pos += 1
        if pos == size:
            pos = 0
            acc = 0.0
            for q in range(size):
                acc += ring[q]
            sum_s = acc
            acc = 0.0
            for q in range(size - window_m, size):
                acc += ring[q]
            sum_m = acc
        if sum_m > max_m:
            max_m = sum_m
        if sum_s > max_s:
            max_s = sum_s
        hop_sum += p
        in_hop += 1
        if in_hop == hop:
            hops_out[count] = hop_sum
            count += 1
            hop_sum = 0.0
            in_hop = 0
    zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1] = s00, s01, s10, s11
    if two:
        zi[0, 1, 0], zi[0, 1, 1], zi[1, 1, 0], zi[1, 1, 1] = t00, t01, t10, t11
    for s in range(2):
        for c in range(channels):
            for k in range(2):
                if abs(zi[s, c, k]) < 1e-100:
                    zi[s, c, k] = 0.0
    peaks[0] = pk0
    if two:
        peaks[1] = pk1
    istate[0] = pos
    istate[1] = in_hop
    fstate[0] = sum_m
    fstate[1] = sum_s
    fstate[2] = max_m
    fstate[3] = max_s
    fstate[4] = hop_sum
    return count


def warmup() -> None:
    """Compile (or load from cache) the numba kernels of the loudness and true-peak meters."""
    from burnish.analysis import true_peak

    true_peak.warmup()
    for channels in (2, 3):  # the fused kernel (1-2 channels) and the general one
        meter = LoudnessMeter(sample_rate=8000, num_channels=channels, true_peak=True)
        meter.update(np.zeros((channels, 4000)))
        meter.update(np.zeros((channels, 100), dtype=np.float32))
        meter.result()


# ------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True)
class LoudnessResult:
    """Everything a loudness measurement gives. Levels are ``-inf`` where there is no signal.

    ``momentary_lufs[k]`` and ``short_term_lufs[k]`` are the 400 ms and 3 s loudness of the
    windows *ending* at ``(k + 1) * hop_s`` seconds (windows reaching before the start read the
    missing part as silence, as a real-time meter does). ``max_momentary_lufs`` and
    ``max_short_term_lufs`` are maxima over windows ending at every sample.
    """

    integrated_lufs: float
    lra_lu: float
    lra_low_lufs: float
    lra_high_lufs: float
    max_momentary_lufs: float
    max_short_term_lufs: float
    momentary_lufs: Array = field(repr=False)
    short_term_lufs: Array = field(repr=False)
    hop_s: float
    sample_peak_dbfs: float
    sample_peak_dbfs_per_channel: tuple[float, ...]
    true_peak_dbtp: float
    true_peak_dbtp_per_channel: tuple[float, ...]
    duration_s: float
    sample_rate: int
    num_channels: int

    def to_dict(self, include_series: bool = False) -> dict[str, Any]:
        """JSON-ready dict. ``-inf`` levels become ``SILENCE_DB`` (-200.0); NaN never occurs.

        With ``include_series`` the momentary and short-term series are lists (same floor).
        """
        out: dict[str, Any] = {
            "integrated_lufs": _finite(self.integrated_lufs),
            "lra_lu": float(self.lra_lu),
            "lra_low_lufs": _finite(self.lra_low_lufs),
            "lra_high_lufs": _finite(self.lra_high_lufs),
            "max_momentary_lufs": _finite(self.max_momentary_lufs),
            "max_short_term_lufs": _finite(self.max_short_term_lufs),
            "hop_s": self.hop_s,
            "sample_peak_dbfs": _finite(self.sample_peak_dbfs),
            "sample_peak_dbfs_per_channel": [_finite(v) for v in self.sample_peak_dbfs_per_channel],
            "true_peak_dbtp": _finite(self.true_peak_dbtp),
            "true_peak_dbtp_per_channel": [_finite(v) for v in self.true_peak_dbtp_per_channel],
            "duration_s": float(self.duration_s),
            "sample_rate": int(self.sample_rate),
            "num_channels": int(self.num_channels),
        }
        if include_series:
            out["momentary_lufs"] = np.maximum(self.momentary_lufs, SILENCE_DB).tolist()
            out["short_term_lufs"] = np.maximum(self.short_term_lufs, SILENCE_DB).tolist()
        return out


# ------------------------------------------------------------------------------------------
# the meter


class LoudnessMeter:
    """Streaming BS.1770 / EBU R 128 meter: ``update(block)`` any number of times, ``result()``.

    Blocks are ``(channels, samples)`` float32 or float64, any size (including 0); the result is
    the same for any way of cutting the signal into blocks. ``result()`` can be called at any
    time and does not disturb the measurement. Memory: a 3 s ring of power plus 8 bytes per
    100 ms of audio.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        num_channels: int,
        true_peak: bool = True,
        channel_weights: tuple[float, ...] | None = None,
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(num_channels, bool) or int(num_channels) != num_channels or not 1 <= num_channels <= 64:
            raise ParameterError(f"num_channels={num_channels!r} must be a whole number in [1, 64]")
        self.num_channels = int(num_channels)
        if channel_weights is None:
            weights = default_channel_weights(self.num_channels)
        else:
            weights = tuple(float(w) for w in channel_weights)
            if len(weights) != self.num_channels:
                raise ParameterError(
                    f"channel_weights={channel_weights!r} must have one weight per channel"
                    f" ({self.num_channels})"
                )
            if any(not (math.isfinite(w) and 0.0 <= w <= 10.0) for w in weights):
                raise ParameterError(f"channel_weights={channel_weights!r} must each be in [0, 10]")
        self.channel_weights = weights
        self.true_peak = bool(true_peak)
        self._weights = np.asarray(weights, dtype=np.float64)
        self._sos = design_k_weighting_sos(sample_rate=self.sample_rate)
        #: Samples per 100 ms hop (rounded for rates that are not multiples of 10 Hz).
        self.hop_samples = int(round(self.sample_rate * HOP_S))
        self._window_m = int(round(self.sample_rate * MOMENTARY_S))
        self._window_s = int(round(self.sample_rate * SHORT_TERM_S))
        self._tp = TruePeakMeter(sample_rate=self.sample_rate, num_channels=self.num_channels) if self.true_peak else None
        self.reset()

    def reset(self) -> None:
        """Forget everything measured."""
        self._zi = np.zeros((self._sos.shape[0], self.num_channels, 2), dtype=np.float64)
        self._ring = np.zeros(self._window_s, dtype=np.float64)
        self._istate = np.zeros(2, dtype=np.int64)
        self._fstate = np.zeros(5, dtype=np.float64)
        self._hops: list[Array] = []
        self._num_hops = 0
        self._num_samples = 0
        self._sample_peaks = np.zeros(self.num_channels, dtype=np.float64)
        if self._tp is not None:
            self._tp.reset()

    def _check(self, block: npt.ArrayLike) -> np.ndarray:
        arr = np.asarray(block)
        if arr.ndim != 2 or arr.shape[0] != self.num_channels:
            raise ParameterError(
                f"block must be shaped (channels={self.num_channels}, samples); got shape"
                f" {arr.shape} (use audio[np.newaxis, :] for mono)"
            )
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        if arr.size and not np.isfinite(arr).all():
            raise ParameterError("block contains NaN or infinite samples")
        return arr

    def update(self, block: npt.ArrayLike) -> None:
        """Feed one ``(channels, n)`` block."""
        self._update_checked(self._check(block))

    def _update_checked(self, x: np.ndarray) -> None:
        """:meth:`update` for a block already checked (2-D, float, finite, right channels)."""
        n = x.shape[1]
        if n == 0:
            return
        x = np.ascontiguousarray(x)  # one compiled layout (C) for every caller
        if self.num_channels <= 2 and self._sos.shape[0] == 2:
            hops_out = np.empty(n // self.hop_samples + 2, dtype=np.float64)
            count = _stereo_loudness_kernel(
                x, self._sos, self._zi, self._weights, self._ring, self._istate, self._fstate,
                self._window_m, self.hop_samples, hops_out, self._sample_peaks,
            )
            if count:
                self._hops.append(hops_out[:count].copy())
                self._num_hops += count
        else:
            for start in range(0, n, _CHUNK_SAMPLES):  # cache-sized chunks: faster than one call
                self._filter_chunk(x[:, start : start + _CHUNK_SAMPLES])
            np.maximum(self._sample_peaks, np.max(np.abs(x), axis=1), out=self._sample_peaks)
        if self._tp is not None:
            self._tp._update_checked(x)
        self._num_samples += n

    def _filter_chunk(self, x: np.ndarray) -> None:
        x = np.ascontiguousarray(x)  # one compiled layout (C) for every caller
        y = np.empty(x.shape, dtype=np.float64)
        _k_weighting_kernel(x, self._sos, self._zi, y)
        hops_out = np.empty(x.shape[1] // self.hop_samples + 2, dtype=np.float64)
        count = _power_kernel(
            y, self._weights, self._ring, self._istate, self._fstate,
            self._window_m, self.hop_samples, hops_out,
        )
        if count:
            self._hops.append(hops_out[:count].copy())
            self._num_hops += count

    def hop_energies(self) -> Array:
        """Channel-weighted K-weighted power summed over each complete 100 ms hop so far."""
        if len(self._hops) > 1:
            self._hops = [np.concatenate(self._hops)]
        return self._hops[0].copy() if self._hops else np.zeros(0)

    def result(self) -> LoudnessResult:
        """The measurement of everything fed so far (the meter keeps running)."""
        hops = self.hop_energies()
        hop = float(self.hop_samples)
        csum = np.concatenate([[0.0], np.cumsum(hops)])
        k = np.arange(hops.size)
        # series: windows ending at (k + 1) hops, zero-padded before the start
        m_energy = (csum[k + 1] - csum[np.maximum(k + 1 - 4, 0)]) / (4.0 * hop)
        s_energy = (csum[k + 1] - csum[np.maximum(k + 1 - 30, 0)]) / (30.0 * hop)
        momentary = _energy_to_lufs_array(np.maximum(m_energy, 0.0))
        short_term = _energy_to_lufs_array(np.maximum(s_energy, 0.0))

        # integrated: complete 400 ms gating blocks at a 100 ms step
        integrated = -math.inf
        if hops.size >= 4:
            blocks = (csum[4:] - csum[:-4]) / (4.0 * hop)
            integrated = _gated_mean_lufs(blocks, RELATIVE_GATE_LU)

        lra, lra_low, lra_high = 0.0, -math.inf, -math.inf
        if hops.size >= 30:
            st_complete = np.maximum(s_energy[29:], 0.0)
            lra, lra_low, lra_high = _loudness_range(st_complete)

        max_m = energy_to_lufs(self._fstate[2] / self._window_m)
        max_s = energy_to_lufs(self._fstate[3] / self._window_s)
        sp = tuple(_amp_db(v) for v in self._sample_peaks)
        if self._tp is not None:
            tp = tuple(_amp_db(v) for v in np.maximum(self._tp.peak_per_channel(), self._sample_peaks))
        else:
            tp = sp
        return LoudnessResult(
            integrated_lufs=integrated,
            lra_lu=lra,
            lra_low_lufs=lra_low,
            lra_high_lufs=lra_high,
            max_momentary_lufs=max_m,
            max_short_term_lufs=max_s,
            momentary_lufs=momentary,
            short_term_lufs=short_term,
            hop_s=HOP_S,
            sample_peak_dbfs=max(sp),
            sample_peak_dbfs_per_channel=sp,
            true_peak_dbtp=max(tp),
            true_peak_dbtp_per_channel=tp,
            duration_s=self._num_samples / self.sample_rate,
            sample_rate=self.sample_rate,
            num_channels=self.num_channels,
        )


def _amp_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0.0 else -math.inf


def _gated_mean_lufs(energies: Array, relative_gate_lu: float) -> float:
    """BS.1770 two-stage gating of block energies; ``-inf`` when nothing passes."""
    above_abs = energies[_energy_to_lufs_array(energies) > ABSOLUTE_GATE_LUFS]
    if above_abs.size == 0:
        return -math.inf
    gate = energy_to_lufs(float(np.mean(above_abs))) + relative_gate_lu
    kept = above_abs[_energy_to_lufs_array(above_abs) > gate]
    if kept.size == 0:
        return -math.inf
    return energy_to_lufs(float(np.mean(kept)))


def _loudness_range(st_energies: Array) -> tuple[float, float, float]:
    """Tech 3342 LRA of short-term energies: (LRA, 10th percentile, 95th percentile)."""
    levels = _energy_to_lufs_array(st_energies)
    above_abs = st_energies[levels > ABSOLUTE_GATE_LUFS]
    if above_abs.size == 0:
        return 0.0, -math.inf, -math.inf
    gate = energy_to_lufs(float(np.mean(above_abs))) + LRA_RELATIVE_GATE_LU
    kept = np.sort(levels[levels > max(gate, ABSOLUTE_GATE_LUFS)])
    if kept.size == 0:
        return 0.0, -math.inf, -math.inf
    last = kept.size - 1
    low = float(kept[int(last * LRA_LOW_PERCENTILE + 0.5)])
    high = float(kept[int(last * LRA_HIGH_PERCENTILE + 0.5)])
    return high - low, low, high


# ------------------------------------------------------------------------------------------
# one-call helpers


def measure_loudness(audio: npt.ArrayLike, *, sample_rate: int, true_peak: bool = True) -> LoudnessResult:
    """Measure a whole ``(channels, samples)`` buffer (mono weight 1.0, stereo L+R)."""
    arr = np.asarray(audio)
    if arr.ndim != 2:
        raise ParameterError(
            f"audio must be a 2-D array shaped (channels, samples); got shape {arr.shape}"
            " (use audio[np.newaxis, :] for mono)"
        )
    meter = LoudnessMeter(sample_rate=sample_rate, num_channels=arr.shape[0], true_peak=true_peak)
    meter.update(arr)
    return meter.result()


def measure_file(path: str | os.PathLike[str], *, block_frames: int = 65536, true_peak: bool = True) -> LoudnessResult:
    """Measure a file, streaming it in ``block_frames`` blocks (bounded memory)."""
    from burnish.io.files import AudioReader

    if isinstance(block_frames, bool) or int(block_frames) != block_frames or block_frames < 1:
        raise ParameterError(f"block_frames={block_frames!r} must be a whole number >= 1")
    with AudioReader(path, dtype=np.float32) as reader:
        meter = LoudnessMeter(
            sample_rate=reader.info.sample_rate,
            num_channels=reader.info.num_channels,
            true_peak=true_peak,
        )
        for block in reader.blocks(int(block_frames)):
            meter.update(block)
    result = meter.result()
    if result.duration_s <= 0.0:
        raise AnalysisError(f"{os.fspath(path)}: holds no audio to measure")
    return result
