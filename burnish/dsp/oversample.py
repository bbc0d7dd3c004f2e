"""Streaming polyphase oversampling by 2 to 64 (a cascade of linear-phase half-band stages).

Design
------
Each factor of two is one half-band stage: a Kaiser-windowed sinc whose cutoff sits at the
Nyquist frequency of the lower rate (centre tap 1/2, every other tap exactly zero). The first
stage (next to the base rate) carries the steep transition; later stages only remove images far
away, so they are short. The first stage's transition is symmetric around the base-rate Nyquist
frequency (half-band):

* ``quality="high"``: passes up to 0.4535 fs (20 kHz at 44.1 kHz), stops from 0.5465 fs with
  >= 120 dB attenuation (anti-aliasing for non-linear processing);
* ``quality="standard"``: passes up to 0.43 fs, stops from 0.57 fs with >= 90 dB (peak
  detection).

Latency
-------
Stage ``s`` (running at ``2**s * sample_rate``) has ``2*M_s + 1`` taps with ``M_s`` a multiple
of ``2**s``, so its group delay of ``M_s`` high-rate samples is a whole number of base-rate
samples in each direction. :attr:`Oversampler.upsample_latency_samples` is the delay of
:meth:`Oversampler.upsample` (high-rate output sample ``m`` stands for base-rate time
``m / factor - upsample_latency_samples``); :attr:`Oversampler.latency_samples` is the round trip
(``upsample`` then ``downsample``) in base-rate samples.

Streaming: every output sample is the same dot product in the same order whatever the block
size, so streaming equals one call on the whole signal, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt

from burnish.dsp.base import check_choice
from burnish.errors import ParameterError

Float64Array = npt.NDArray[np.float64]
FloatArray = npt.NDArray[np.floating]
Quality = Literal["standard", "high"]

#: Pass-band edge of the first stage (fraction of the base rate) and stop-band attenuation (dB).
QUALITY_SPECS: dict[str, tuple[float, float]] = {
    "standard": (0.43, 90.0),
    "high": (0.4535, 120.0),
}
#: Factors of two the cascade is built for (the saturator goes past 8 for heavy drive).
FACTORS = (2, 4, 8, 16, 32, 64)


@dataclass(frozen=True, slots=True)
class HalfbandStage:
    """One factor-of-two stage: the full filter and its sparse polyphase form.

    ``taps`` has ``2 * half_length + 1`` coefficients (DC gain 1, symmetric). ``folded[t]`` is
    ``taps[2t + 1]`` for the first half of the odd taps (the others mirror them). Up-sampling:
    even outputs are the input delayed by ``center_offset`` (``half_length // 2`` samples), odd
    outputs ``sum(2 * taps[2t+1] * x[n - t])``. Down-sampling: ``y[n] = sum(taps[j] * u[2n - j])``.
    """

    taps: Float64Array
    half_length: int
    center_offset: int
    folded: Float64Array


def design_halfband(half_length: int, *, kaiser_beta: float) -> Float64Array:
    """Kaiser-windowed half-band low-pass with ``2 * half_length + 1`` taps (DC gain exactly 1).

    Taps at even non-zero offsets from the centre are exactly zero, the centre tap is 1/2 and the
    odd taps are normalised to sum to 1/2, so the half-band identity holds to rounding.
    """
    if half_length < 1:
        raise ParameterError(f"half_length={half_length} must be in [1, inf)")
    n = np.arange(-half_length, half_length + 1)
    window = np.kaiser(2 * half_length + 1, kaiser_beta)
    taps = np.zeros(2 * half_length + 1)
    odd = (n % 2) != 0
    taps[odd] = np.sin(np.pi * n[odd] / 2.0) / (np.pi * n[odd]) * window[odd]
    taps[odd] *= 0.5 / taps[odd].sum()
    taps[half_length] = 0.5
    return taps


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser window beta for a stopband attenuation (Kaiser 1974; as scipy.signal.kaiser_beta).

    Written out here so that oversampling never imports scipy.signal (about 0.5-1 s per
    process on these machines).
    """
    a = float(attenuation_db)
    if a > 50.0:
        return 0.1102 * (a - 8.7)
    if a > 21.0:
        return 0.5842 * (a - 21.0) ** 0.4 + 0.07886 * (a - 21.0)
    return 0.0


def kaiser_num_taps(attenuation_db: float, width: float) -> int:
    """Kaiser's length estimate for ``width`` (transition / Nyquist), as scipy.signal.kaiserord."""
    numtaps = (float(attenuation_db) - 7.95) / 2.285 / (np.pi * width) + 1
    return int(np.ceil(numtaps))


def design_stages(
    factor: int, *, quality: Quality = "standard", later_attenuation_db: float | None = None
) -> tuple[HalfbandStage, ...]:
    """The half-band cascade for ``factor`` (2, 4, ..., 64) at ``quality`` (pure design function).

    ``later_attenuation_db`` (default: the quality's) is the stop-band attenuation of the stages
    after the first: a decimator whose high-rate content above the kept band is already small
    (the harmonics of a saturator) can use shorter later stages.
    """
    check_choice("factor", str(factor), [str(f) for f in FACTORS])
    check_choice("quality", quality, QUALITY_SPECS)
    pass_edge, atten_db = QUALITY_SPECS[quality]
    if later_attenuation_db is not None and not 40.0 <= later_attenuation_db <= atten_db:
        raise ParameterError(
            f"later_attenuation_db={later_attenuation_db} must be in [40, {atten_db}]"
        )
    stages = []
    # content the stages have to keep, as a fraction of the base rate (pass band + transition)
    keep = 1.0 - pass_edge
    for s in range(1, int(np.log2(factor)) + 1):
        stage_db = atten_db if s == 1 or later_attenuation_db is None else later_attenuation_db
        design_db = stage_db + 8.0  # kaiserord under-estimates the length a little
        beta = kaiser_beta(design_db)
        stage_rate = 2.0**s  # in units of the base rate
        if s == 1:
            width = 1.0 - 2.0 * pass_edge  # transition / stage Nyquist (= base rate)
        else:
            # images of the kept band start at stage_rate / 2 - keep
            width = (stage_rate / 2.0 - 2.0 * keep) / (stage_rate / 2.0)
        numtaps = kaiser_num_taps(design_db, width)
        half = int(np.ceil((numtaps - 1) / 2.0))
        step = 2**s
        half = max(step, int(np.ceil(half / step)) * step)
        taps = design_halfband(half, kaiser_beta=beta)
        folded = np.ascontiguousarray(taps[1:half:2])  # odd taps left of the centre
        stages.append(
            HalfbandStage(taps=taps, half_length=half, center_offset=half // 2, folded=folded)
        )
    return tuple(stages)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _up2_kernel(
    buf: FloatArray, history: int, center: int, folded: FloatArray, out: FloatArray
) -> None:
    """Odd outputs ``sum_t c[t] * (x[n-t] + x[n-(M-1-t)])`` (symmetric taps folded).

    ``buf`` (channels, history + n), ``folded`` and ``out`` share one float dtype (float32 or
    float64). The tap loop is outside and the sample loop inside, over contiguous views, so the
    inner loop vectorises; every output still sums its taps in the same order whatever the block
    size (streaming is bit-exact).
    """
    num_channels = buf.shape[0]
    n = buf.shape[1] - history
    num_pairs = folded.shape[0]
    last = 2 * num_pairs - 1
    acc = np.empty(n, dtype=buf.dtype)
    for c in range(num_channels):
        row = buf[c]
        dst = out[c]
        for i in range(n):
            acc[i] = 0.0
        for t in range(num_pairs):
            coef = folded[t]
            ra = row[history - t : history - t + n]
            rb = row[history - last + t : history - last + t + n]
            for i in range(n):
                acc[i] += coef * (ra[i] + rb[i])
        even = row[history - center : history - center + n]
        for i in range(n):
            dst[2 * i] = even[i]
            dst[2 * i + 1] = acc[i]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _down2_kernel(
    buf: FloatArray, history: int, half: int, folded: FloatArray, out: FloatArray
) -> None:
    """``y[n] = u[2n-M] / 2 + sum_t c[t] * (u[2n-1-2t] + u[2n-2M+1+2t])``.

    ``history`` is ``2 * half``. The odd-indexed samples (the only ones the folded taps touch)
    are first copied to a contiguous scratch row so the tap loop vectorises.
    """
    num_channels = buf.shape[0]
    n = out.shape[1]
    num_pairs = folded.shape[0]
    num_odd = buf.shape[1] // 2
    acc = np.empty(n, dtype=buf.dtype)
    odd = np.empty(num_odd, dtype=buf.dtype)
    for c in range(num_channels):
        row = buf[c]
        dst = out[c]
        for j in range(num_odd):
            odd[j] = row[2 * j + 1]
            # u[history - 1 - 2t + 2i] = odd[half - 1 - t + i]; u[1 + 2t + 2i] = odd[t + i]
        for i in range(n):
            acc[i] = 0.0
        for t in range(num_pairs):
            coef = folded[t]
            ra = odd[half - 1 - t : half - 1 - t + n]
            rb = odd[t : t + n]
            for i in range(n):
                acc[i] += coef * (ra[i] + rb[i])
        for i in range(n):
            dst[i] = acc[i] + 0.5 * row[history + 2 * i - half]


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy", inline="always")
def _fir_pairs(
    src: npt.NDArray[np.float32],
    a0: int,
    b0: int,
    folded: npt.NDArray[np.float32],
    m: int,
    acc: npt.NDArray[np.float32],
) -> None:
    """``acc[i] = sum_t folded[t] * (src[a0 - t + i] + src[b0 + t + i])`` for ``i < m``.

    Four tap pairs per pass over ``acc`` (one accumulator load and store per four pairs instead
    of per pair); the order of the sums is fixed per output, whatever ``m`` (streaming stays
    bit-exact).
    """
    num_pairs = folded.shape[0]
    for i in range(m):
        acc[i] = 0.0
    t = 0
    while t + 4 <= num_pairs:
        c0 = folded[t]
        c1 = folded[t + 1]
        c2 = folded[t + 2]
        c3 = folded[t + 3]
        ra0 = src[a0 - t : a0 - t + m]
        ra1 = src[a0 - t - 1 : a0 - t - 1 + m]
        ra2 = src[a0 - t - 2 : a0 - t - 2 + m]
        ra3 = src[a0 - t - 3 : a0 - t - 3 + m]
        rb0 = src[b0 + t : b0 + t + m]
        rb1 = src[b0 + t + 1 : b0 + t + 1 + m]
        rb2 = src[b0 + t + 2 : b0 + t + 2 + m]
        rb3 = src[b0 + t + 3 : b0 + t + 3 + m]
        for i in range(m):
            acc[i] += (c0 * (ra0[i] + rb0[i]) + c1 * (ra1[i] + rb1[i])) + (
                c2 * (ra2[i] + rb2[i]) + c3 * (ra3[i] + rb3[i])
            )
        t += 4
    while t < num_pairs:
        coef = folded[t]
        ra = src[a0 - t : a0 - t + m]
        rb = src[b0 + t : b0 + t + m]
        for i in range(m):
            acc[i] += coef * (ra[i] + rb[i])
        t += 1


class Oversampler:
    """Streaming up/down-sampler by ``factor`` (2, 4, ..., 64) for ``num_channels`` channels.

    ``upsample`` and ``downsample`` keep separate state; ``downsample`` takes blocks whose length
    is a multiple of ``factor``. Blocks are ``(channels, samples)``; computation is in
    ``compute_dtype`` (float64 by default; float32 halves the cost where ~-140 dB rounding noise
    is acceptable, e.g. peak detection) and the output has the input's dtype.
    """

    def __init__(
        self,
        factor: int,
        num_channels: int,
        *,
        quality: Quality = "standard",
        compute_dtype: npt.DTypeLike = np.float64,
        down_later_attenuation_db: float | None = None,
    ) -> None:
        if num_channels < 1:
            raise ParameterError(f"num_channels={num_channels} must be in [1, inf)")
        self.factor = int(factor)
        self.num_channels = int(num_channels)
        self.quality = quality
        self.compute_dtype = np.dtype(compute_dtype)
        if self.compute_dtype not in (np.float32, np.float64):
            raise ParameterError(f"compute_dtype={self.compute_dtype} must be float32 or float64")
        self.stages = design_stages(self.factor, quality=quality)
        #: the decimation cascade (shorter later stages with ``down_later_attenuation_db``)
        self.down_stages = (
            design_stages(
                self.factor, quality=quality, later_attenuation_db=down_later_attenuation_db
            )
            if down_later_attenuation_db is not None
            else self.stages
        )
        self._folded_up = [(2.0 * st.folded).astype(self.compute_dtype) for st in self.stages]
        self._folded_down = [st.folded.astype(self.compute_dtype) for st in self.down_stages]
        self._up_hist: list[Float64Array] = []
        self._down_hist: list[Float64Array] = []
        self.reset()

    @property
    def upsample_latency_samples(self) -> int:
        """Delay of :meth:`upsample` in base-rate samples."""
        return sum(st.half_length // 2**s for s, st in enumerate(self.stages, start=1))

    @property
    def latency_samples(self) -> int:
        """Delay of the round trip ``downsample(upsample(x))`` in base-rate samples."""
        down = sum(st.half_length // 2**s for s, st in enumerate(self.down_stages, start=1))
        return self.upsample_latency_samples + down

    def reset(self) -> None:
        """Forget all state (as if preceded by silence)."""
        dt = self.compute_dtype
        self._up_hist = [np.zeros((self.num_channels, st.half_length), dt) for st in self.stages]
        self._down_hist = [
            np.zeros((self.num_channels, 2 * st.half_length), dt) for st in self.down_stages
        ]

    def _check(self, block: npt.ArrayLike) -> npt.NDArray[np.floating]:
        x = np.asarray(block)
        if x.ndim != 2 or x.shape[0] != self.num_channels:
            raise ParameterError(
                f"block must be shaped ({self.num_channels}, samples); got shape {x.shape}"
            )
        return x

    def upsample(self, block: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """``(channels, n)`` at the base rate -> ``(channels, n * factor)`` at the high rate."""
        x = self._check(block)
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        y = np.ascontiguousarray(x, dtype=self.compute_dtype)
        for s, st in enumerate(self.stages):
            buf = np.concatenate([self._up_hist[s], y], axis=1)
            out = np.empty((y.shape[0], 2 * y.shape[1]), dtype=self.compute_dtype)
            _up2_kernel(buf, st.half_length, st.center_offset, self._folded_up[s], out)
            self._up_hist[s] = buf[:, buf.shape[1] - st.half_length :].copy()
            y = out
        return y.astype(dtype, copy=False)

    def downsample(self, block: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """``(channels, n * factor)`` at the high rate -> ``(channels, n)`` at the base rate."""
        x = self._check(block)
        if x.shape[1] % self.factor:
            raise ParameterError(
                f"downsample block length={x.shape[1]} must be a multiple of factor={self.factor}"
            )
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        y = np.ascontiguousarray(x, dtype=self.compute_dtype)
        for s in range(len(self.down_stages) - 1, -1, -1):
            st = self.down_stages[s]
            hist = 2 * st.half_length
            buf = np.concatenate([self._down_hist[s], y], axis=1)
            out = np.empty((y.shape[0], y.shape[1] // 2), dtype=self.compute_dtype)
            _down2_kernel(buf, hist, st.half_length, self._folded_down[s], out)
            self._down_hist[s] = buf[:, buf.shape[1] - hist :].copy()
            y = out
        return y.astype(dtype, copy=False)


def warmup() -> None:
    """Compile the kernels (numba caches them on disk)."""
    for dtype in (np.float64, np.float32):
        os_ = Oversampler(2, 1, compute_dtype=dtype)
        os_.downsample(os_.upsample(np.zeros((1, 8), dtype=dtype)))
