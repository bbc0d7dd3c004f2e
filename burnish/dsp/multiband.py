"""Multiband compressor: Linkwitz–Riley 4th-order crossover tree, one compressor per band.

Crossover design (see docs/dynamics.md): an LR4 low-pass is two cascaded 2nd-order Butterworth
low-passes (Q = 1/sqrt 2), the LR4 high-pass likewise; their sum is the 2nd-order all-pass with
the Butterworth denominator, ``LP4 + HP4 = AP2`` (Linkwitz 1976; Lipshitz & Vanderkooy 1986).
The bands are split as a tree from the lowest crossover up: band ``k`` is
``LP_k · HP_{k-1} ··· HP_1``; every band below a crossover ``j`` also goes through ``AP_j`` so
that all bands share the same phase and the sum of the bands is the all-pass
``AP_1 · AP_2 ··· AP_{N-1}``: a flat magnitude response.

The bilinear transform keeps that identity exactly because all sections of one crossover share
the pre-warped analogue frequency.

Note: burnish.dsp.filters will hold a shared Linkwitz–Riley design; the small design here is
kept local so this module does not depend on it (to be de-duplicated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import Processor, check_range, offline, register_processor
from burnish.dsp.dynamics import Compressor, CompressorParams
from burnish.dsp.filters import design_butterworth_sos, sos_response
from burnish.errors import ParameterError

MIN_CROSSOVER_HZ = 20.0
#: Filter states smaller than this are flushed to zero, sample by sample.
_STATE_FLUSH = 1e-30
MAX_CROSSOVER_HZ = 20000.0

#: Gentle default bands: low, low-mid, high-mid, high.
DEFAULT_BANDS: tuple[CompressorParams, ...] = (
    CompressorParams(threshold_db=-20.0, ratio=2.0, knee_db=6.0, attack_ms=30.0, release_ms=200.0),
    CompressorParams(threshold_db=-20.0, ratio=1.8, knee_db=6.0, attack_ms=20.0, release_ms=150.0),
    CompressorParams(threshold_db=-22.0, ratio=1.8, knee_db=6.0, attack_ms=10.0, release_ms=120.0),
    CompressorParams(threshold_db=-24.0, ratio=1.6, knee_db=6.0, attack_ms=5.0, release_ms=80.0),
)


@dataclass(frozen=True, slots=True)
class MultibandParams:
    """Parameters of :class:`MultibandCompressor`.

    Attributes
    ----------
    crossover_hz:
        1 to 3 strictly ascending crossover frequencies, each in (20, 20000) Hz (and below
        Nyquist, checked by the processor).
    bands:
        One :class:`CompressorParams` per band, lowest first: ``len(crossover_hz) + 1``.
    solo:
        Empty (no solo) or one flag per band; when any band is soloed only soloed bands sound.
    bypass:
        Empty (none) or one flag per band; a bypassed band passes uncompressed (still split,
        phase-compensated and delayed to the common latency).
    """

    crossover_hz: tuple[float, ...] = (120.0, 1000.0, 6000.0)
    bands: tuple[CompressorParams, ...] = field(
        default=DEFAULT_BANDS, metadata={"item_type": CompressorParams}
    )
    solo: tuple[bool, ...] = ()
    bypass: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        xs = tuple(self.crossover_hz)
        if not 1 <= len(xs) <= 3:
            raise ParameterError(f"crossover_hz={xs} must hold 1 to 3 frequencies (2 to 4 bands)")
        for i, f in enumerate(xs):
            check_range(
                f"crossover_hz[{i}]",
                f,
                MIN_CROSSOVER_HZ,
                MAX_CROSSOVER_HZ,
                low_inclusive=False,
                high_inclusive=False,
            )
        for i in range(1, len(xs)):
            if not xs[i] > xs[i - 1]:
                raise ParameterError(
                    f"crossover_hz={xs} must be strictly ascending"
                    f" (crossover_hz[{i}]={xs[i]} <= crossover_hz[{i - 1}]={xs[i - 1]})"
                )
        num_bands = len(xs) + 1
        if len(self.bands) != num_bands:
            raise ParameterError(
                f"bands has {len(self.bands)} entries; it must have len(crossover_hz) + 1"
                f" = {num_bands}"
            )
        for i, b in enumerate(self.bands):
            if not isinstance(b, CompressorParams):
                raise ParameterError(f"bands[{i}]={b!r} must be CompressorParams")
        for name in ("solo", "bypass"):
            flags = getattr(self, name)
            if len(flags) not in (0, num_bands):
                raise ParameterError(
                    f"{name}={tuple(flags)} must be empty or have one flag per band ({num_bands})"
                )
            for i, flag in enumerate(flags):
                if not isinstance(flag, (bool, np.bool_)):
                    raise ParameterError(f"{name}[{i}]={flag!r} must be true or false")

    @property
    def num_bands(self) -> int:
        """Number of bands (``len(crossover_hz) + 1``)."""
        return len(self.crossover_hz) + 1


# --------------------------------------------------------------------------------------------
# pure design functions


@dataclass(frozen=True, slots=True)
class CrossoverSections:
    """The second-order sections of one LR4 crossover (scipy ``sos`` layout)."""

    lowpass_sos: npt.NDArray[np.float64]  #: (2, 6): LR4 low-pass
    highpass_sos: npt.NDArray[np.float64]  #: (2, 6): LR4 high-pass
    allpass_sos: npt.NDArray[np.float64]  #: (1, 6): LP4 + HP4, the phase of the crossover


def design_lr4_crossover(crossover_hz: float, *, sample_rate: int) -> CrossoverSections:
    """Linkwitz–Riley 4th-order low/high-pass pair and its all-pass, bilinear with pre-warping."""
    if not 0.0 < crossover_hz < sample_rate / 2:
        raise ParameterError(
            f"crossover_hz={crossover_hz} must be in (0, {sample_rate / 2}) at"
            f" sample_rate={sample_rate}"
        )
    lp2 = design_butterworth_sos("lowpass", crossover_hz, 2, sample_rate=sample_rate)
    hp2 = design_butterworth_sos("highpass", crossover_hz, 2, sample_rate=sample_rate)
    a = lp2[0, 3:]
    # a real 2nd-order all-pass with denominator [1, a1, a2] has numerator [a2, a1, 1]
    ap = np.array([[a[2], a[1], a[0], a[0], a[1], a[2]]], dtype=np.float64)
    return CrossoverSections(
        lowpass_sos=np.vstack([lp2, lp2]).astype(np.float64),
        highpass_sos=np.vstack([hp2, hp2]).astype(np.float64),
        allpass_sos=ap,
    )


def crossover_band_responses(
    crossover_hz: tuple[float, ...], frequencies_hz: npt.ArrayLike, *, sample_rate: int
) -> npt.NDArray[np.complex128]:
    """Complex response of each band of the tree at ``frequencies_hz``: (bands, frequencies)."""
    f = np.asarray(frequencies_hz, dtype=np.float64)
    designs = [design_lr4_crossover(fc, sample_rate=sample_rate) for fc in crossover_hz]

    def resp(sos: npt.NDArray[np.float64]) -> npt.NDArray[np.complex128]:
        return sos_response(sos, f, sample_rate=sample_rate)

    out = []
    rest = np.ones_like(f, dtype=np.complex128)
    for k, d in enumerate(designs):
        band = rest * resp(d.lowpass_sos)
        for later in designs[k + 1 :]:
            band = band * resp(later.allpass_sos)
        out.append(band)
        rest = rest * resp(d.highpass_sos)
    out.append(rest)
    return np.array(out)


# --------------------------------------------------------------------------------------------
# the numba kernel


@njit(cache=True)
def _sos_filter(
    sos: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    state: npt.NDArray[np.float64],
    start_index: int,
) -> npt.NDArray[np.float64]:  # pragma: no cover - compiled
    """Cascade of biquads (transposed direct form II), state (channels, sections, 2) in place.

    Every 64th sample *of the stream* (``start_index`` counts the samples already filtered) the
    negligible states are flushed to zero, so long silences cannot leave the filters in
    denormals (slow) or in a limit cycle; tied to the absolute sample index, the flush does not
    depend on the block size.
    """
    num_ch, n = x.shape
    out = x.copy()
    for s in range(sos.shape[0]):
        b0, b1, b2 = sos[s, 0], sos[s, 1], sos[s, 2]
        a1, a2 = sos[s, 4], sos[s, 5]
        if num_ch == 2:
            # stereo: both channels in one loop, two independent recursions (twice the ILP);
            # the same operations per channel as the generic loop below
            p1, p2 = state[0, s, 0], state[0, s, 1]
            q1, q2 = state[1, s, 0], state[1, s, 1]
            for i in range(n):
                v = out[0, i]
                w = out[1, i]
                y = b0 * v + p1
                z = b0 * w + q1
                p1 = b1 * v - a1 * y + p2
                q1 = b1 * w - a1 * z + q2
                p2 = b2 * v - a2 * y
                q2 = b2 * w - a2 * z
                if ((start_index + i) & 63) == 0:
                    p1 = p1 if abs(p1) > _STATE_FLUSH else 0.0
                    p2 = p2 if abs(p2) > _STATE_FLUSH else 0.0
                    q1 = q1 if abs(q1) > _STATE_FLUSH else 0.0
                    q2 = q2 if abs(q2) > _STATE_FLUSH else 0.0
                out[0, i] = y
                out[1, i] = z
            state[0, s, 0], state[0, s, 1] = p1, p2
            state[1, s, 0], state[1, s, 1] = q1, q2
            continue
        for c in range(num_ch):
            s1 = state[c, s, 0]
            s2 = state[c, s, 1]
            for i in range(n):
                v = out[c, i]
                y = b0 * v + s1
                s1 = b1 * v - a1 * y + s2
                s2 = b2 * v - a2 * y
                if ((start_index + i) & 63) == 0:
                    s1 = s1 if abs(s1) > _STATE_FLUSH else 0.0
                    s2 = s2 if abs(s2) > _STATE_FLUSH else 0.0
                out[c, i] = y
            state[c, s, 0] = s1
            state[c, s, 1] = s2
    return out


class _Stage:
    """One filter path (a cascade of sections) with its own explicit state."""

    def __init__(self, sos: npt.NDArray[np.float64], num_channels: int) -> None:
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self.state = np.zeros((num_channels, self.sos.shape[0], 2))
        self.samples_done = 0

    def reset(self) -> None:
        self.state[:] = 0.0
        self.samples_done = 0

    def __call__(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = _sos_filter(self.sos, x, self.state, self.samples_done & 63)
        self.samples_done += x.shape[1]
        return out


def warmup() -> None:
    """Compile (or load from cache) the kernels on a tiny input."""
    mb = MultibandCompressor(MultibandParams(), sample_rate=48000, num_channels=2)
    mb.process(np.zeros((2, 8)))


# --------------------------------------------------------------------------------------------
# the block processor


@register_processor
class MultibandCompressor(Processor):
    """2–4 band compressor on an LR4 crossover tree; the bands sum flat when nothing compresses.

    ``latency_samples`` is the largest band look-ahead; every band is delayed to it.
    :meth:`gain_reduction_db` gives (bands, samples) of the last :meth:`process` call.
    """

    kind: ClassVar[str] = "multiband_compressor"
    params_type: ClassVar[type] = MultibandParams
    params: MultibandParams

    def __init__(self, params: MultibandParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        nyquist = self.sample_rate / 2
        for i, fc in enumerate(params.crossover_hz):
            if fc >= nyquist:
                raise ParameterError(
                    f"crossover_hz[{i}]={fc} must be below {nyquist}"
                    f" (Nyquist at sample_rate={self.sample_rate})"
                )
        nb = params.num_bands
        designs = [
            design_lr4_crossover(fc, sample_rate=self.sample_rate) for fc in params.crossover_hz
        ]
        c = self.num_channels
        # split k: low part -> LP_k then the all-passes of every later crossover; high part -> HP_k
        self._lows: list[_Stage] = []
        self._highs: list[_Stage] = []
        for k, d in enumerate(designs):
            chain = [d.lowpass_sos] + [later.allpass_sos for later in designs[k + 1 :]]
            self._lows.append(_Stage(np.vstack(chain), c))
            self._highs.append(_Stage(d.highpass_sos, c))
        self._compressors = [
            Compressor(bp, sample_rate=self.sample_rate, num_channels=c) for bp in params.bands
        ]
        self._bypass = tuple(params.bypass) if params.bypass else (False,) * nb
        solo = tuple(params.solo) if params.solo else (False,) * nb
        any_solo = any(solo)
        self._audible = tuple((not any_solo) or s for s in solo)
        band_latency = [
            0 if self._bypass[k] else comp.latency_samples
            for k, comp in enumerate(self._compressors)
        ]
        self._latency = max(comp.latency_samples for comp in self._compressors)
        # extra delay per band so that every band lines up with the common latency
        self._extra = [self._latency - lat for lat in band_latency]
        self.reset()

    @property
    def latency_samples(self) -> int:
        """The largest band look-ahead, in samples (every band is aligned to it)."""
        return self._latency

    def reset(self) -> None:
        """Clear filter, compressor and delay state."""
        for stage in (*self._lows, *self._highs):
            stage.reset()
        for comp in self._compressors:
            comp.reset()
        self._delays = [np.zeros((self.num_channels, d)) for d in self._extra]
        self._gr_delays = [np.zeros(d) for d in self._extra]
        self._last_gr = np.zeros((self.params.num_bands, 0))

    def gain_reduction_db(self) -> npt.NDArray[np.float64]:
        """Gain reduction (positive dB) per band and output sample of the last block."""
        return self._last_gr.copy()

    def split(self, block: AudioArray) -> list[npt.NDArray[np.float64]]:
        """The bands of ``block`` (float64), lowest first; advances the crossover state."""
        x = np.asarray(block, dtype=np.float64)
        bands = []
        rest = np.ascontiguousarray(x)
        for low, high in zip(self._lows, self._highs):
            bands.append(low(rest))
            rest = high(rest)
        bands.append(rest)
        return bands

    def process(self, block: AudioArray) -> AudioArray:
        """Split, compress each band, sum; same shape and dtype out."""
        x = check_audio(block, num_channels=self.num_channels, name="block")
        n = x.shape[1]
        bands = self.split(x)
        out = np.zeros((self.num_channels, n))
        gr = np.zeros((self.params.num_bands, n))
        for k, band in enumerate(bands):
            y: npt.NDArray[np.float64] = band
            if not self._bypass[k]:
                y = np.asarray(self._compressors[k].process(band), dtype=np.float64)
                gr[k] = self._compressors[k].gain_reduction_db()
            if self._extra[k]:
                joined = np.concatenate([self._delays[k], y], axis=1)
                y = joined[:, :n]
                self._delays[k] = joined[:, n:].copy()
                joined_gr = np.concatenate([self._gr_delays[k], gr[k]])
                gr[k] = joined_gr[:n]
                self._gr_delays[k] = joined_gr[n:].copy()
            if self._audible[k]:
                out += y
        self._last_gr = gr
        return np.asarray(out, dtype=x.dtype)


apply_multiband_compressor = offline(MultibandCompressor)

__all__ = [
    "DEFAULT_BANDS",
    "CrossoverSections",
    "MultibandCompressor",
    "MultibandParams",
    "apply_multiband_compressor",
    "crossover_band_responses",
    "design_lr4_crossover",
    "warmup",
]
