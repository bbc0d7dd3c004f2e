"""Parametric EQ (minimum- and linear-phase), dynamic EQ and de-esser.

* :class:`ParametricEq` (kind ``"eq"``) — bands of bells (matched to the analogue prototype, no
  cramping near Nyquist), RBJ shelves, tilts and Butterworth
  high/low-passes (:mod:`burnish.dsp.filters`), each on stereo, left, right, mid or side.
  ``phase="minimum"`` runs the biquads (:mod:`burnish.dsp.biquad`) with explicit state (no latency);
  ``phase="linear"`` runs a symmetric FIR whose magnitude is the minimum-phase design's, by
  fixed-frame FFT overlap-save, so that any block size gives the same bits.
* :class:`DynamicEq` (kind ``"dynamic_eq"``) — a bell or high shelf whose gain follows the level
  of its own band (split-band: ``y = x + (g(t) - 1) * band``, no coefficient switching).
* :class:`DeEsser` (kind ``"deesser"``) — a dynamic EQ with sibilance defaults.

See docs/eq.md for the definitions and methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numba
import numpy as np
import numpy.typing as npt

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import (
    Processor,
    check_choice,
    check_range,
    offline,
    register_processor,
)
from burnish.dsp.biquad import STATE_FLUSH, SosCascade
from burnish.dsp.filters import (
    MAX_GAIN_DB,
    MAX_Q,
    MIN_Q,
    PASS_SLOPES_DB_PER_OCTAVE,
    Sos,
    design_butterworth_sos,
    design_high_shelf_sos,
    design_low_shelf_sos,
    design_peaking_sos,
    design_tilt_sos,
    order_for_slope,
    sos_response,
)
from burnish.errors import ParameterError
from burnish.units import SILENCE_DB, time_constant_coefficient

BandType = Literal["bell", "low_shelf", "high_shelf", "highpass", "lowpass", "tilt"]
BandChannels = Literal["stereo", "left", "right", "mid", "side"]
BAND_TYPES: tuple[str, ...] = ("bell", "low_shelf", "high_shelf", "highpass", "lowpass", "tilt")
BAND_CHANNELS: tuple[str, ...] = ("stereo", "left", "right", "mid", "side")
#: Highest frequency a parameter may name before the sample rate is known (Hz).
MAX_FREQUENCY_HZ = 96000.0
#: Most bands in one EQ.
MAX_BANDS = 64
#: Linear-phase FIR lengths accepted (odd, so that the delay is a whole number of samples).
MIN_FIR_LENGTH, MAX_FIR_LENGTH = 63, 131071
#: The dense grid the linear-phase target is sampled on, in multiples of the FIR length.
_GRID_OVERSAMPLING = 8
#: Fraction of the FIR (at each end) tapered by the Tukey window.
_FIR_TAPER = 0.05


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name}={value!r} must be true or false")


# --------------------------------------------------------------------------------------------
# parametric EQ parameters


@numba.njit(cache=True, nogil=True, inline="always")
def _flush2(v: float) -> float:
    return v if abs(v) > STATE_FLUSH else 0.0


@numba.njit(cache=True, nogil=True)
def _stereo_cascade_kernel(
    sos: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    state: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    position: int,
) -> None:  # pragma: no cover - compiled
    """``biquad.cascade_kernel`` for exactly two channels, both in one loop.

    Same arithmetic per sample (no FMA contraction: bit-identical output), but the two
    channels' recursions (and two sections of each) run interleaved in one loop: four
    independent dependency chains instead of two. The state flush (after every stream sample
    ``k`` with ``k % 64 == 0``) happens between runs of samples, not as a test in the loop body.
    ``out`` may be ``x``.
    """
    n = x.shape[1]
    num_sections = sos.shape[0]
    if num_sections == 0:
        for c in range(2):
            for i in range(n):
                out[c, i] = x[c, i]
        return
    src = x
    s = 0
    while s < num_sections:
        b0, b1, b2 = sos[s, 0], sos[s, 1], sos[s, 2]
        a1, a2 = sos[s, 4], sos[s, 5]
        p1, p2 = state[s, 0, 0], state[s, 0, 1]
        q1, q2 = state[s, 1, 0], state[s, 1, 1]
        x0 = src[0]
        x1 = src[1]
        o0 = out[0]
        o1 = out[1]
        pair = s + 1 < num_sections
        if pair:
            c0, c1, c2 = sos[s + 1, 0], sos[s + 1, 1], sos[s + 1, 2]
            d1, d2 = sos[s + 1, 4], sos[s + 1, 5]
            r1, r2 = state[s + 1, 0, 0], state[s + 1, 0, 1]
            u1, u2 = state[s + 1, 1, 0], state[s + 1, 1, 1]
        else:
            c0 = c1 = c2 = d1 = d2 = r1 = r2 = u1 = u2 = 0.0
        # first flush point: the first i with (position + i) % 64 == 0
        i = 0
        stop = (64 - position) & 63
        while i < n:
            end = min(n, stop + 1)
            if pair:
                for k in range(i, end):
                    v = x0[k]
                    w = x1[k]
                    y = b0 * v + p1
                    z = b0 * w + q1
                    p1 = b1 * v - a1 * y + p2
                    q1 = b1 * w - a1 * z + q2
                    p2 = b2 * v - a2 * y
                    q2 = b2 * w - a2 * z
                    yy = c0 * y + r1
                    zz = c0 * z + u1
                    r1 = c1 * y - d1 * yy + r2
                    u1 = c1 * z - d1 * zz + u2
                    r2 = c2 * y - d2 * yy
                    u2 = c2 * z - d2 * zz
                    o0[k] = yy
                    o1[k] = zz
            else:
                for k in range(i, end):
                    v = x0[k]
                    w = x1[k]
                    y = b0 * v + p1
                    z = b0 * w + q1
                    p1 = b1 * v - a1 * y + p2
                    q1 = b1 * w - a1 * z + q2
                    p2 = b2 * v - a2 * y
                    q2 = b2 * w - a2 * z
                    o0[k] = y
                    o1[k] = z
            if end == stop + 1:
                p1 = _flush2(p1)
                p2 = _flush2(p2)
                q1 = _flush2(q1)
                q2 = _flush2(q2)
                r1 = _flush2(r1)
                r2 = _flush2(r2)
                u1 = _flush2(u1)
                u2 = _flush2(u2)
            i = end
            stop += 64
        state[s, 0, 0], state[s, 0, 1] = p1, p2
        state[s, 1, 0], state[s, 1, 1] = q1, q2
        if pair:
            state[s + 1, 0, 0], state[s + 1, 0, 1] = r1, r2
            state[s + 1, 1, 0], state[s + 1, 1, 1] = u1, u2
            s += 2
        else:
            s += 1
        src = out


def run_cascade(
    cascade: SosCascade, x: npt.NDArray[np.float64], out: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64]:
    """``cascade(x, out)`` with the two-channel interleaved kernel when ``x`` is stereo.

    ``x`` is C-contiguous float64 (channels, n); ``out`` may be ``x``. Bit-identical to
    :class:`SosCascade`'s own kernel.
    """
    if x.shape[0] != 2 or cascade.state.shape[1] != 2:
        return cascade(x, out=out)
    y = np.empty_like(x) if out is None else out
    _stereo_cascade_kernel(cascade.sos, x, cascade.state, y, cascade.position)
    cascade.position = (cascade.position + x.shape[1]) & 63
    return y


@dataclass(frozen=True, slots=True)
class EqBandParams:
    """One EQ band.

    ``type``: ``bell`` (``gain_db`` at ``frequency_hz``, bandwidth ``frequency_hz / q`` in Hz
    between half-gain points, as the analogue prototype's), ``low_shelf`` / ``high_shelf`` (half gain at ``frequency_hz``; ``q=0.707``
    is the cookbook's slope S=1), ``tilt`` (total tilt ``gain_db`` from the low to the high end,
    0 dB at the pivot ``frequency_hz``), ``highpass`` / ``lowpass`` (Butterworth, -3.01 dB at
    ``frequency_hz``, ``slope_db_per_octave`` in 6, 12, 18, 24, 36, 48; gain and q unused).
    ``channels``: ``stereo`` (both), ``left``, ``right``, ``mid`` ((L+R)/2) or ``side``
    ((L-R)/2). On mono input ``stereo`` and ``mid`` bands apply; ``left``, ``right`` and
    ``side`` bands are ignored.
    """

    type: BandType = "bell"
    frequency_hz: float = 1000.0
    gain_db: float = 0.0
    q: float = 0.707
    slope_db_per_octave: int = 12
    channels: BandChannels = "stereo"
    enabled: bool = True

    def __post_init__(self) -> None:
        check_choice("type", self.type, BAND_TYPES)
        check_range("frequency_hz", self.frequency_hz, 0.0, MAX_FREQUENCY_HZ, low_inclusive=False)
        check_range("gain_db", self.gain_db, -MAX_GAIN_DB, MAX_GAIN_DB)
        check_range("q", self.q, MIN_Q, MAX_Q)
        check_choice("slope_db_per_octave", self.slope_db_per_octave, PASS_SLOPES_DB_PER_OCTAVE)  # type: ignore[arg-type]
        check_choice("channels", self.channels, BAND_CHANNELS)
        _check_bool("enabled", self.enabled)


@dataclass(frozen=True, slots=True)
class EqParams:
    """A parametric EQ: ``bands`` applied in order.

    ``phase``: ``minimum`` (biquads, no latency) or ``linear`` (symmetric FIR of
    ``linear_phase_length`` taps, odd, in [63, 131071], with the minimum-phase design's
    magnitude). Left/right bands run before mid/side bands.
    """

    bands: tuple[EqBandParams, ...] = field(default=(), metadata={"item_type": EqBandParams})
    phase: Literal["minimum", "linear"] = "minimum"
    linear_phase_length: int = 8191

    def __post_init__(self) -> None:
        if isinstance(self.bands, list):
            object.__setattr__(self, "bands", tuple(self.bands))
        if not isinstance(self.bands, tuple):
            raise ParameterError(f"bands={self.bands!r} must be a tuple of EqBandParams")
        if len(self.bands) > MAX_BANDS:
            raise ParameterError(f"bands has {len(self.bands)} bands; at most {MAX_BANDS}")
        for i, band in enumerate(self.bands):
            if not isinstance(band, EqBandParams):
                raise ParameterError(f"bands[{i}]={band!r} must be an EqBandParams")
        check_choice("phase", self.phase, ("minimum", "linear"))
        n = self.linear_phase_length
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n % 2 == 0:
            raise ParameterError(
                f"linear_phase_length={n!r} must be an odd whole number in"
                f" [{MIN_FIR_LENGTH}, {MAX_FIR_LENGTH}]"
            )
        check_range("linear_phase_length", n, MIN_FIR_LENGTH, MAX_FIR_LENGTH)


def design_band_sos(band: EqBandParams, *, sample_rate: int) -> Sos:
    """The sections of one band; an empty ``(0, 6)`` array for a band that does nothing."""
    if not band.enabled:
        return np.zeros((0, 6))
    check_range(
        "frequency_hz",
        band.frequency_hz,
        0.0,
        sample_rate / 2.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    if band.type in ("highpass", "lowpass"):
        return design_butterworth_sos(
            band.type,  # type: ignore[arg-type]
            band.frequency_hz,
            order_for_slope(band.slope_db_per_octave),
            sample_rate=sample_rate,
        )
    if band.gain_db == 0.0:
        return np.zeros((0, 6))
    if band.type == "bell":
        return design_peaking_sos(band.frequency_hz, band.gain_db, band.q, sample_rate=sample_rate)
    if band.type == "low_shelf":
        return design_low_shelf_sos(
            band.frequency_hz, band.gain_db, band.q, sample_rate=sample_rate
        )
    if band.type == "high_shelf":
        return design_high_shelf_sos(
            band.frequency_hz, band.gain_db, band.q, sample_rate=sample_rate
        )
    return design_tilt_sos(band.frequency_hz, band.gain_db, band.q, sample_rate=sample_rate)


def _cascade(parts: list[Sos]) -> Sos:
    return np.ascontiguousarray(np.vstack(parts)) if parts else np.zeros((0, 6))


# --------------------------------------------------------------------------------------------
# linear-phase FIR design and a fixed-frame overlap-save convolver


def design_linear_phase_fir(
    magnitude: npt.NDArray[np.float64], length: int
) -> npt.NDArray[np.float64]:
    """Symmetric FIR of odd ``length`` approximating a zero-phase ``magnitude``.

    ``magnitude`` is the real target sampled on an rfft grid of ``2 * (len(magnitude) - 1)``
    points from 0 to Nyquist. Frequency sampling: the inverse FFT of the real target is the
    (circular, even) zero-phase impulse response; its centre ``length`` taps are kept, tapered
    by a Tukey window over the outer ``_FIR_TAPER`` of each end, and delayed by
    ``(length - 1) / 2`` so that the filter is causal.
    """
    grid = 2 * (magnitude.shape[0] - 1)
    if grid < length:
        raise ParameterError(f"design grid {grid} is shorter than the FIR length {length}")
    impulse = np.fft.irfft(magnitude, n=grid)
    half = (length - 1) // 2
    taps = np.concatenate([impulse[grid - half :], impulse[: half + 1]])
    window = tukey_window(length, 2.0 * _FIR_TAPER)
    return np.ascontiguousarray(taps * window)


def tukey_window(length: int, alpha: float) -> npt.NDArray[np.float64]:
    """Symmetric Tukey (tapered cosine) window, as ``scipy.signal.windows.tukey(length, alpha)``.

    A cosine taper over ``alpha / 2`` of the window at each end, flat in between.
    """
    if length == 1 or alpha <= 0.0:
        return np.ones(length)
    n = np.arange(length, dtype=np.float64)
    width = int(math.floor(alpha * (length - 1) / 2.0))
    w = np.ones(length)
    head = n[: width + 1]
    w[: width + 1] = 0.5 * (1.0 + np.cos(np.pi * (-1.0 + 2.0 * head / alpha / (length - 1))))
    tail = n[length - width - 1 :]
    w[length - width - 1 :] = 0.5 * (
        1.0 + np.cos(np.pi * (-2.0 / alpha + 1.0 + 2.0 * tail / alpha / (length - 1)))
    )
    return w


def fir_response(
    taps: npt.NDArray[np.float64], freqs_hz: npt.NDArray[np.float64], *, sample_rate: int
) -> npt.NDArray[np.complex128]:
    """Complex response ``sum_k taps[k] exp(-2 pi i f k / sample_rate)`` (Horner, as freqz)."""
    z1 = np.exp(-2j * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sample_rate)
    return np.asarray(np.polynomial.polynomial.polyval(z1, taps), dtype=np.complex128)


class _FrameConvolver:
    """Overlap-save convolution of a ``(channels, samples)`` stream with a matrix of FIRs.

    Input is gathered into fixed frames of ``hop`` samples; a frame is convolved once it is
    complete and its output is emitted during the next frame. Every output sample is therefore
    computed from the same frames whatever the block sizes, and the output lags the plain FIR by
    exactly ``hop`` samples. ``matrix[o][i]`` is the FIR from input ``i`` to output ``o``: an
    array of taps, ``"delay"`` (a pure delay of ``(length - 1) / 2``, exact) or ``None`` (no
    path).
    """

    def __init__(
        self, matrix: list[list[npt.NDArray[np.float64] | str | None]], length: int
    ) -> None:
        self.length = length
        self.nfft = 1 << int(math.ceil(math.log2(2 * length)))
        self.hop = self.nfft - (length - 1)
        self.num_channels = len(matrix)
        self._delay = (length - 1) // 2
        self._matrix: list[list[npt.NDArray[np.complex128] | str | None]] = [
            [
                np.fft.rfft(entry, n=self.nfft) if isinstance(entry, np.ndarray) else entry
                for entry in row
            ]
            for row in matrix
        ]
        self.reset()

    def reset(self) -> None:
        c = self.num_channels
        self._history = np.zeros((c, self.length - 1))
        self._pending = np.zeros((c, self.hop))
        self._ready = np.zeros((c, self.hop))
        self._pos = 0

    def _frame(self) -> None:
        segment = np.concatenate([self._history, self._pending], axis=1)
        spectra = np.fft.rfft(segment, axis=1)
        out = np.zeros((self.num_channels, self.hop))
        start = self.length - 1
        for o, row in enumerate(self._matrix):
            acc: npt.NDArray[np.complex128] | None = None
            for i, entry in enumerate(row):
                if entry is None:
                    continue
                if isinstance(entry, str):  # exact pure delay
                    out[o] += segment[i, start - self._delay : start - self._delay + self.hop]
                    continue
                term = spectra[i] * entry
                acc = term if acc is None else acc + term
            if acc is not None:
                out[o] += np.fft.irfft(acc, n=self.nfft)[start:]
        self._ready = out
        self._history = segment[:, self.hop :].copy()

    def process(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        n = x.shape[1]
        y = np.empty_like(x)
        i = 0
        while i < n:
            take = min(self.hop - self._pos, n - i)
            y[:, i : i + take] = self._ready[:, self._pos : self._pos + take]
            self._pending[:, self._pos : self._pos + take] = x[:, i : i + take]
            self._pos += take
            i += take
            if self._pos == self.hop:
                self._frame()
                self._pos = 0
        return y


# --------------------------------------------------------------------------------------------
# the parametric EQ


@register_processor
class ParametricEq(Processor):
    """Parametric EQ, minimum- or linear-phase (see :class:`EqParams`).

    Minimum phase: per-channel biquad cascades (stereo + left bands on L, stereo + right
    bands on R), then mid/side cascades on ``M = (L+R)/2``, ``S = (L-R)/2`` and back
    (``L = M+S``, ``R = M-S``). Linear phase: the same magnitudes as zero-phase FIRs (a 2x2
    matrix of them when mid/side bands are present), latency ``(length - 1) / 2`` plus the
    convolver's frame ``hop``.
    """

    kind: ClassVar[str] = "eq"
    params_type: ClassVar[type] = EqParams
    params: EqParams

    def __init__(self, params: EqParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        sr = self.sample_rate
        groups: dict[str, list[Sos]] = {name: [] for name in BAND_CHANNELS}
        for i, band in enumerate(params.bands):
            try:
                sos = design_band_sos(band, sample_rate=sr)
            except ParameterError as exc:
                raise ParameterError(f"bands[{i}].{exc}") from None
            if sos.shape[0]:
                groups[band.channels].append(sos)
        if self.num_channels == 1:
            self._channel_sos = [_cascade(groups["stereo"] + groups["mid"])]
            self._mid_sos = self._side_sos = np.zeros((0, 6))
        else:
            self._channel_sos = [
                _cascade(groups["stereo"] + groups["left"]),
                _cascade(groups["stereo"] + groups["right"]),
            ]
            self._mid_sos = _cascade(groups["mid"])
            self._side_sos = _cascade(groups["side"])
        self._shared_lr = self.num_channels == 2 and not groups["left"] and not groups["right"]
        self._has_ms = bool(self._mid_sos.shape[0] or self._side_sos.shape[0])
        self._convolver: _FrameConvolver | None = None
        self._fir_matrix: list[list[npt.NDArray[np.float64] | str | None]] = []
        if params.phase == "linear":
            self._fir_matrix = self._design_fir_matrix()
            self._convolver = _FrameConvolver(self._fir_matrix, params.linear_phase_length)
        self.reset()

    # -- design ------------------------------------------------------------------------------

    def _design_fir_matrix(self) -> list[list[npt.NDArray[np.float64] | str | None]]:
        length = self.params.linear_phase_length
        grid = 1 << int(math.ceil(math.log2(_GRID_OVERSAMPLING * length)))
        freqs = np.fft.rfftfreq(grid, 1.0 / self.sample_rate)

        def mag(sos: Sos) -> npt.NDArray[np.float64] | None:
            if sos.shape[0] == 0:
                return None
            return np.abs(sos_response(sos, freqs, sample_rate=self.sample_rate))

        def fir(m: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64] | str:
            return "delay" if m is None else design_linear_phase_fir(m, length)

        mags = [mag(s) for s in self._channel_sos]
        if not self._has_ms:
            if self.num_channels == 1:
                return [[fir(mags[0])]]
            return [[fir(mags[0]), None], [None, fir(mags[1])]]
        ones = np.ones_like(freqs)
        h_l, h_r = (ones if m is None else m for m in mags)
        h_m = mag(self._mid_sos)
        h_s = mag(self._side_sos)
        h_m = ones if h_m is None else h_m
        h_s = ones if h_s is None else h_s
        plus, minus = 0.5 * (h_m + h_s), 0.5 * (h_m - h_s)
        return [
            [fir(plus * h_l), fir(minus * h_r)],
            [fir(minus * h_l), fir(plus * h_r)],
        ]

    # -- processing --------------------------------------------------------------------------

    @property
    def latency_samples(self) -> int:
        """0 for minimum phase; ``(length - 1) / 2 + hop`` for linear phase."""
        if self._convolver is None:
            return 0
        return (self.params.linear_phase_length - 1) // 2 + self._convolver.hop

    def reset(self) -> None:
        """Zero the filter states (and the convolver's buffers)."""
        self._cascades = [SosCascade(s, 1) for s in self._channel_sos]
        self._cascade_shared = SosCascade(self._channel_sos[0], self.num_channels)
        self._cascade_mid = SosCascade(self._mid_sos, 1)
        self._cascade_side = SosCascade(self._side_sos, 1)
        if self._convolver is not None:
            self._convolver.reset()

    def process(self, block: AudioArray) -> AudioArray:
        """Equalise ``block`` (channels, samples); returns the same shape and dtype."""
        return self._process_unchecked(check_audio(block, num_channels=self.num_channels))

    def _process_unchecked(self, x: AudioArray) -> AudioArray:
        """:meth:`process` for a block that already meets the contract (from a chain)."""
        if x.shape[1] == 0:
            return x.copy()
        x64 = np.array(x, dtype=np.float64, order="C")
        if self._convolver is not None:
            y = self._convolver.process(x64)
        else:
            y = self._process_minimum(x64)
        return y.astype(x.dtype, copy=False)

    def _process_minimum(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # x is a private C-contiguous copy: filter in place
        if self._shared_lr:
            if self._channel_sos[0].shape[0]:
                run_cascade(self._cascade_shared, x, out=x)
        else:
            for c, cascade in enumerate(self._cascades):
                if cascade.num_sections:
                    row = x[c : c + 1]
                    cascade(row, out=row)
        if self._has_ms:
            ms = np.empty_like(x)
            np.add(x[0], x[1], out=ms[0])
            np.subtract(x[0], x[1], out=ms[1])
            ms *= 0.5
            if self._mid_sos.shape[0]:
                self._cascade_mid(ms[0:1], out=ms[0:1])
            if self._side_sos.shape[0]:
                self._cascade_side(ms[1:2], out=ms[1:2])
            np.add(ms[0], ms[1], out=x[0])
            np.subtract(ms[0], ms[1], out=x[1])
        return x

    # -- responses ---------------------------------------------------------------------------

    def transfer_matrix(self, freqs_hz: npt.ArrayLike) -> npt.NDArray[np.complex128]:
        """Complex responses ``T[out, in, f]`` (channels x channels x freqs).

        Linear phase: the FIRs' responses with their delay removed (real up to the FIR's
        precision); minimum phase: the biquads' responses.
        """
        f = np.atleast_1d(np.asarray(freqs_hz, dtype=np.float64))
        c = self.num_channels
        t = np.zeros((c, c, f.size), dtype=np.complex128)
        if self._convolver is not None:
            length = self.params.linear_phase_length
            delay = np.exp(2j * np.pi * f / self.sample_rate * ((length - 1) // 2))
            for o, row in enumerate(self._fir_matrix):
                for i, entry in enumerate(row):
                    if entry is None:
                        continue
                    if isinstance(entry, str):
                        t[o, i] = 1.0
                    else:
                        t[o, i] = fir_response(entry, f, sample_rate=self.sample_rate) * delay
            return t
        for ch, sos in enumerate(self._channel_sos):
            t[ch, ch] = sos_response(sos, f, sample_rate=self.sample_rate)
        if self._has_ms:
            h_m = sos_response(self._mid_sos, f, sample_rate=self.sample_rate)
            h_s = sos_response(self._side_sos, f, sample_rate=self.sample_rate)
            plus, minus = 0.5 * (h_m + h_s), 0.5 * (h_m - h_s)
            stage2 = np.array([[plus, minus], [minus, plus]])
            t = np.einsum("abf,bcf->acf", stage2, t)
        return t

    def frequency_response_db(
        self,
        freqs_hz: npt.ArrayLike,
        *,
        channel: Literal["mid", "side", "left", "right"] = "mid",
    ) -> npt.NDArray[np.float64]:
        """Magnitude response in dB at ``freqs_hz`` for one signal component.

        ``mid``: a centre signal (L = R) in, the mid of the output; ``side``: L = -R in, side
        out; ``left`` / ``right``: that channel alone in and out. Mono: the one channel.
        """
        check_choice("channel", channel, ("mid", "side", "left", "right"))
        t = self.transfer_matrix(freqs_hz)
        if self.num_channels == 1:
            h = t[0, 0]
        elif channel == "mid":
            h = 0.5 * (t[0, 0] + t[0, 1] + t[1, 0] + t[1, 1])
        elif channel == "side":
            h = 0.5 * (t[0, 0] - t[0, 1] - t[1, 0] + t[1, 1])
        elif channel == "left":
            h = t[0, 0]
        else:
            h = t[1, 1]
        mag = np.abs(h)
        with np.errstate(divide="ignore"):
            return np.maximum(
                np.where(mag > 0, 20.0 * np.log10(np.maximum(mag, 1e-300)), SILENCE_DB), SILENCE_DB
            )

    def fir_taps(self) -> list[list[npt.NDArray[np.float64] | str | None]]:
        """The linear-phase FIR matrix (``"delay"`` = pure delay, ``None`` = no path)."""
        return self._fir_matrix


# --------------------------------------------------------------------------------------------
# dynamic EQ


#: Mean-square detector time constants, in periods of ``frequency_hz``. The bell's quadrature
#: envelope has no ripple for tones at the centre; the shelf's squared band ripples at twice the
#: tone frequency, which a longer average keeps from biasing the attack/release smoother.
_BELL_DETECTOR_PERIODS = 2.0
#: Gain changes below this (dB) are flushed to 0: the gain would be exactly 1 in float64
#: (10 ** (1e-17 / 20) rounds to 1.0) and the smoother never decays into subnormals.
_GR_FLUSH_DB = 1e-17
_LN10_OVER_20 = math.log(10.0) / 20.0
_LN10_OVER_40 = math.log(10.0) / 40.0
_SHELF_DETECTOR_PERIODS = 8.0


@dataclass(frozen=True, slots=True)
class DynamicEqParams:
    """A band whose gain follows its own level.

    ``type``: ``bell`` (band = RBJ band-pass at ``frequency_hz`` with bandwidth
    ``frequency_hz / q`` between its -3 dB points) or ``high_shelf`` (band = everything above
    ``frequency_hz``, a second-order split with ``q``; ``q = 0.707`` is monotonic).
    The band's level is its mean square (time constant two periods of ``frequency_hz``) in dB,
    so a sine of amplitude ``a`` reads ``20 log10(a) - 3.01``. Above ``threshold_db`` the
    band's gain changes by ``(level - threshold_db) * (1 - 1 / ratio)`` dB, at most
    ``max_gain_reduction_db``, smoothed in dB with ``attack_ms`` (change growing) and
    ``release_ms`` (change shrinking) one-pole time constants. ``mode``: ``cut`` (compress the
    band) or ``boost`` (expand it upward by the same law). ``channels``: ``stereo`` (L and R,
    linked: one gain from the louder), ``left``, ``right``, ``mid`` or ``side``; on mono input
    ``stereo`` and ``mid`` apply and the others are bypassed.
    """

    type: Literal["bell", "high_shelf"] = "bell"
    frequency_hz: float = 7000.0
    q: float = 2.0
    threshold_db: float = -30.0
    ratio: float = 3.0
    max_gain_reduction_db: float = 6.0
    attack_ms: float = 2.0
    release_ms: float = 60.0
    mode: Literal["cut", "boost"] = "cut"
    channels: BandChannels = "stereo"

    def __post_init__(self) -> None:
        check_choice("type", self.type, ("bell", "high_shelf"))
        check_range("frequency_hz", self.frequency_hz, 0.0, MAX_FREQUENCY_HZ, low_inclusive=False)
        check_range("q", self.q, 0.1, 30.0)
        check_range("threshold_db", self.threshold_db, -100.0, 0.0)
        check_range("ratio", self.ratio, 1.0, 100.0)
        check_range("max_gain_reduction_db", self.max_gain_reduction_db, 0.0, 40.0)
        check_range("attack_ms", self.attack_ms, 0.0, 1000.0)
        check_range("release_ms", self.release_ms, 0.0, 5000.0)
        check_choice("mode", self.mode, ("cut", "boost"))
        check_choice("channels", self.channels, BAND_CHANNELS)


@numba.njit(cache=True, nogil=True)
def _dynamic_eq_kernel(
    x: npt.NDArray[np.float64],
    band_b: npt.NDArray[np.float64],
    hp_b: npt.NDArray[np.float64],
    a: npt.NDArray[np.float64],
    shelf: bool,
    z_band: npt.NDArray[np.float64],
    z_hp: npt.NDArray[np.float64],
    hist: npt.NDArray[np.float64],
    quadrature_scale: float,
    power: npt.NDArray[np.float64],
    gr_state: npt.NDArray[np.float64],
    detector_coef: float,
    attack_coef: float,
    release_coef: float,
    threshold_db: float,
    threshold_power: float,
    slope: float,
    max_gr_db: float,
    sign: float,
    y: npt.NDArray[np.float64],
    gr_out: npt.NDArray[np.float64],
) -> None:
    """Split-band dynamic EQ over paths ``x[p, n]`` with linked detection (state in place).

    Bell: ``y = x + (g - 1) * bp``. High shelf: ``y = x + (sqrt(g) - 1) * bp + (g - 1) * hp``
    (``x = lp + bp + hp``, so this is ``lp + sqrt(g) bp + g hp``). Both branches share the
    denominator ``a``; each is a transposed direct form II biquad.
    """
    num_paths, n = x.shape
    band = np.empty(num_paths)
    high = np.empty(num_paths)
    gr = gr_state[0]
    for t in range(n):
        peak_power = 0.0
        for p in range(num_paths):
            xi = x[p, t]
            v = band_b[0] * xi + z_band[p, 0]
            z_band[p, 0] = band_b[1] * xi - a[1] * v + z_band[p, 1]
            z_band[p, 1] = band_b[2] * xi - a[2] * v
            band[p] = v
            if shelf:
                w = hp_b[0] * xi + z_hp[p, 0]
                z_hp[p, 0] = hp_b[1] * xi - a[1] * w + z_hp[p, 1]
                z_hp[p, 1] = hp_b[2] * xi - a[2] * w
                high[p] = w
                det_power = w * w
            else:
                # quadrature envelope: exact and ripple-free for a sine at the centre frequency
                quad = quadrature_scale * (v - hist[p, 1])
                det_power = 0.5 * (hist[p, 0] * hist[p, 0] + quad * quad)
                hist[p, 1] = hist[p, 0]
                hist[p, 0] = v
            power[p] = detector_coef * power[p] + (1.0 - detector_coef) * det_power
            if power[p] > peak_power:
                peak_power = power[p]
        target = 0.0
        # 10 log10(P) - threshold_db > 0 needs P > threshold_power: the log only runs there
        # (threshold_power sits a hair below the exact power, so the decision is unchanged)
        if peak_power > threshold_power and peak_power > 1e-30:
            over = 10.0 * math.log10(peak_power) - threshold_db
            if over > 0.0:
                target = min(over * slope, max_gr_db)
        coef = attack_coef if target > gr else release_coef
        gr = coef * gr + (1.0 - coef) * target
        gr = gr if gr > _GR_FLUSH_DB else 0.0
        gr_out[t] = gr
        if gr == 0.0:
            for p in range(num_paths):
                y[p, t] = x[p, t]
            continue
        if shelf:
            g = math.exp(sign * gr * _LN10_OVER_20)
            g_half = math.exp(sign * gr * _LN10_OVER_40)
            for p in range(num_paths):
                y[p, t] = x[p, t] + (g_half - 1.0) * band[p] + (g - 1.0) * high[p]
        else:
            g = math.exp(sign * gr * _LN10_OVER_20)
            for p in range(num_paths):
                y[p, t] = x[p, t] + (g - 1.0) * band[p]
    gr_state[0] = gr


@register_processor
class DynamicEq(Processor):
    """Dynamic EQ band (see :class:`DynamicEqParams`); no latency (no look-ahead).

    The gain is applied to a split band, never by switching filter coefficients, so a changing
    gain adds no zipper noise, and the per-sample recursion makes any block size give the same
    bits. :meth:`gain_reduction_db` reports the last call's gain change per sample.
    """

    kind: ClassVar[str] = "dynamic_eq"
    params_type: ClassVar[type] = DynamicEqParams
    params: DynamicEqParams

    def __init__(self, params: DynamicEqParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        sr = self.sample_rate
        check_range(
            "frequency_hz",
            params.frequency_hz,
            0.0,
            0.45 * sr,
            low_inclusive=False,
        )
        w0 = 2.0 * math.pi * params.frequency_hz / sr
        alpha = math.sin(w0) / (2.0 * params.q)
        cos_w0 = math.cos(w0)
        a0 = 1.0 + alpha
        self._a = np.array([1.0, -2.0 * cos_w0 / a0, (1.0 - alpha) / a0])
        self._band_b = np.array([alpha / a0, 0.0, -alpha / a0])
        self._hp_b = np.array([1.0 + cos_w0, -2.0 * (1.0 + cos_w0), 1.0 + cos_w0]) / (2.0 * a0)
        self._shelf = params.type == "high_shelf"
        self._quadrature_scale = 1.0 / (2.0 * math.sin(w0))
        periods = _SHELF_DETECTOR_PERIODS if self._shelf else _BELL_DETECTOR_PERIODS
        self._detector_coef = time_constant_coefficient(1000.0 * periods / params.frequency_hz, sr)
        self._attack_coef = time_constant_coefficient(params.attack_ms, sr)
        self._release_coef = time_constant_coefficient(params.release_ms, sr)
        self._slope = 1.0 - 1.0 / params.ratio
        self._threshold_power = 10.0 ** (params.threshold_db / 10.0) * (1.0 - 1e-9)
        self._sign = -1.0 if params.mode == "cut" else 1.0
        if self.num_channels == 1:
            self._route = "mono" if params.channels in ("stereo", "mid") else "bypass"
        else:
            self._route = params.channels
        self._num_paths = 2 if self._route == "stereo" else 1
        self._gr = np.zeros(0)
        self.reset()

    def reset(self) -> None:
        """Zero the filters, the detector and the gain smoother."""
        self._z_band = np.zeros((self._num_paths, 2))
        self._z_hp = np.zeros((self._num_paths, 2))
        self._hist = np.zeros((self._num_paths, 2))
        self._power = np.zeros(self._num_paths)
        self._gr_state = np.zeros(1)
        self._gr = np.zeros(0)

    def gain_reduction_db(self) -> npt.NDArray[np.float64]:
        """Per-sample gain change (positive dB: cut in ``cut`` mode, boost in ``boost``) of the
        last :meth:`process` call, the same for every channel (the detection is linked)."""
        return self._gr.copy()

    def _run(self, paths: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        y = np.empty_like(paths)
        gr = np.empty(paths.shape[1])
        _dynamic_eq_kernel(
            paths,
            self._band_b,
            self._hp_b,
            self._a,
            self._shelf,
            self._z_band,
            self._z_hp,
            self._hist,
            self._quadrature_scale,
            self._power,
            self._gr_state,
            self._detector_coef,
            self._attack_coef,
            self._release_coef,
            self.params.threshold_db,
            self._threshold_power,
            self._slope,
            self.params.max_gain_reduction_db,
            self._sign,
            y,
            gr,
        )
        self._gr = gr
        return y

    def process(self, block: AudioArray) -> AudioArray:
        """Process ``block`` (channels, samples); returns the same shape and dtype."""
        x = check_audio(block, num_channels=self.num_channels)
        n = x.shape[1]
        if n == 0:
            self._gr = np.zeros(0)
            return x.copy()
        x64 = np.array(x, dtype=np.float64)
        route = self._route
        if route == "bypass":
            self._gr = np.zeros(n)
            return x.copy()
        if route in ("mono", "stereo"):
            y = self._run(x64)
        elif route in ("left", "right"):
            c = 0 if route == "left" else 1
            y = x64.copy()
            y[c] = self._run(x64[c : c + 1])[0]
        else:
            mid = (x64[0] + x64[1]) * 0.5
            side = (x64[0] - x64[1]) * 0.5
            if route == "mid":
                mid = self._run(mid[np.newaxis])[0]
            else:
                side = self._run(side[np.newaxis])[0]
            y = np.stack([mid + side, mid - side])
        return y.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------------------------
# de-esser


@dataclass(frozen=True, slots=True)
class DeEsserParams:
    """Sibilance control: a cut-only dynamic EQ with de-essing defaults.

    ``frequency_hz`` in [2000, 16000] (sibilance sits at 5-9 kHz); ``type`` ``high_shelf``
    (split-band: everything above ``frequency_hz`` is turned down) or ``bell`` (``q`` wide
    band around it). Other fields as in :class:`DynamicEqParams`.
    """

    frequency_hz: float = 6500.0
    type: Literal["bell", "high_shelf"] = "high_shelf"
    q: float = 0.707
    threshold_db: float = -30.0
    ratio: float = 4.0
    max_gain_reduction_db: float = 8.0
    attack_ms: float = 1.0
    release_ms: float = 50.0
    channels: BandChannels = "stereo"

    def __post_init__(self) -> None:
        check_range("frequency_hz", self.frequency_hz, 2000.0, 16000.0)
        self.dynamic_eq_params()  # validates the rest

    def dynamic_eq_params(self) -> DynamicEqParams:
        """The :class:`DynamicEqParams` this de-esser runs."""
        return DynamicEqParams(
            type=self.type,
            frequency_hz=self.frequency_hz,
            q=self.q,
            threshold_db=self.threshold_db,
            ratio=self.ratio,
            max_gain_reduction_db=self.max_gain_reduction_db,
            attack_ms=self.attack_ms,
            release_ms=self.release_ms,
            mode="cut",
            channels=self.channels,
        )


@register_processor
class DeEsser(Processor):
    """A :class:`DynamicEq` in cut mode with sibilance defaults (see :class:`DeEsserParams`)."""

    kind: ClassVar[str] = "deesser"
    params_type: ClassVar[type] = DeEsserParams
    params: DeEsserParams

    def __init__(self, params: DeEsserParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self._inner = DynamicEq(
            params.dynamic_eq_params(), sample_rate=sample_rate, num_channels=num_channels
        )

    def process(self, block: AudioArray) -> AudioArray:
        """De-ess ``block`` (channels, samples)."""
        return self._inner.process(block)

    def reset(self) -> None:
        """Forget the detector and filter state."""
        self._inner.reset()

    def gain_reduction_db(self) -> npt.NDArray[np.float64]:
        """Per-sample gain reduction (positive dB) of the last :meth:`process` call."""
        return self._inner.gain_reduction_db()


apply_eq = offline(ParametricEq)
apply_dynamic_eq = offline(DynamicEq)
apply_deesser = offline(DeEsser)


def warmup() -> None:
    """Compile the numba kernel on a tiny input (cached beside the source)."""
    DynamicEq(DynamicEqParams(), sample_rate=48000, num_channels=2).process(np.zeros((2, 16)))
    DynamicEq(DynamicEqParams(type="high_shelf"), sample_rate=48000, num_channels=1).process(
        np.zeros((1, 16), dtype=np.float32)
    )
