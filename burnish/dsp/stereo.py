"""Stereo imager: width, mono bass and per-band width in mid/side.

``M = (L + R) / 2``, ``S = (L - R) / 2``; the processor only ever touches ``S``, so the mid (and
with it the mono fold-down ``L + R``) is left bit for bit untouched, and the result is
``L' = M + S'``, ``R' = M - S'``.

* ``mono_below_hz`` high-passes the side with a 4th-order Linkwitz-Riley filter (two cascaded
  Butterworth 2nd-order sections): below the split L' = R' = M, so the bass is mono and
  phase coherent with the rest.
* ``band_crossover_hz`` / ``band_width`` split the side into bands with an LR4 crossover tree;
  each lower band runs through the 2nd-order all-passes of the higher crossovers so the bands
  sum to an all-passed copy of the side (flat magnitude).
* ``width`` scales every band (effective width = ``width * band_width[b]``).

Mono compatibility guarantee (widths above 1)
---------------------------------------------
``L * R = M**2 - S**2``, so the L/R correlation is negative exactly when the side carries more
energy than the mid. Where a band's effective width exceeds 1 the imager follows the band's mid
and side energies (one-pole mean squares, 50 ms) and limits that band's width to
``max(1, sqrt(0.8 E_mid / E_side))``: widening never pushes a band's side energy above 0.8 times
its mid energy (the margin covers the followers' lag), so an input with correlation >= 0 keeps
correlation >= 0, tested over the whole signal and in 100 ms windows. Narrowing (width <= 1) is never limited. A mono (1-channel) input passes unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import Processor, check_range, offline, register_processor
from burnish.dsp.biquad import SosCascade
from burnish.dsp.eq import run_cascade
from burnish.dsp.filters import design_linkwitz_riley_allpass_sos, design_linkwitz_riley_sos
from burnish.errors import ParameterError

#: Time constant of the energy followers that limit widening (ms).
FOLLOWER_MS = 50.0
#: Largest side/mid energy ratio widening may create: 0.8 leaves a margin for the followers'
#: lag (steady-state correlation >= (1 - 0.8) / (1 + 0.8) = 0.11).
MAX_SIDE_TO_MID = 0.8
MAX_WIDTH = 2.0


@dataclass(frozen=True, slots=True)
class ImagerParams:
    """Stereo imager settings.

    Attributes
    ----------
    width:
        Side gain, 0-2: 0 = mono, 1 = unchanged, 2 = twice the side (limited, see module doc).
    mono_below_hz:
        0 = off; otherwise the side is removed below this frequency (LR4), 0-1000 Hz.
    band_crossover_hz:
        Increasing crossover frequencies (each above ``mono_below_hz``) splitting the side into
        ``len(band_crossover_hz) + 1`` bands.
    band_width:
        One width (0-2) per band; empty when there are no crossovers.
    """

    width: float = 1.0
    mono_below_hz: float = 0.0
    band_crossover_hz: tuple[float, ...] = field(default=())
    band_width: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        check_range("width", self.width, 0.0, MAX_WIDTH)
        check_range("mono_below_hz", self.mono_below_hz, 0.0, 1000.0)
        crossovers = tuple(self.band_crossover_hz)
        widths = tuple(self.band_width)
        for i, f in enumerate(crossovers):
            check_range(f"band_crossover_hz[{i}]", f, 20.0, 24000.0)
            if i and f <= crossovers[i - 1]:
                raise ParameterError(
                    f"band_crossover_hz[{i}]={f} must be above band_crossover_hz[{i - 1}]={crossovers[i - 1]}"
                )
        if crossovers and self.mono_below_hz > 0 and crossovers[0] <= self.mono_below_hz:
            raise ParameterError(
                f"band_crossover_hz[0]={crossovers[0]} must be above mono_below_hz={self.mono_below_hz}"
            )
        expected = len(crossovers) + 1 if crossovers else 0
        if len(widths) != expected:
            raise ParameterError(
                f"band_width has {len(widths)} values; it needs {expected}"
                " (one per band: len(band_crossover_hz) + 1, or none without crossovers)"
            )
        for i, w in enumerate(widths):
            check_range(f"band_width[{i}]", w, 0.0, MAX_WIDTH)
        object.__setattr__(self, "band_crossover_hz", tuple(float(f) for f in crossovers))
        object.__setattr__(self, "band_width", tuple(float(w) for w in widths))


# --------------------------------------------------------------------------------------------
# design


def design_lr4_sos(crossover_hz: float, *, sample_rate: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Linkwitz-Riley 4th-order (low-pass, high-pass) SOS pair (see burnish.dsp.filters)."""
    nyquist = sample_rate / 2
    if not 0 < crossover_hz < nyquist:
        raise ParameterError(f"crossover_hz={crossover_hz} must be in (0, {nyquist:g})")
    return (
        design_linkwitz_riley_sos("lowpass", crossover_hz, 4, sample_rate=sample_rate),
        design_linkwitz_riley_sos("highpass", crossover_hz, 4, sample_rate=sample_rate),
    )


def design_allpass_sos(crossover_hz: float, *, sample_rate: int) -> npt.NDArray[np.float64]:
    """The 2nd-order all-pass an LR4 low + high pair sums to (one SOS row)."""
    return design_linkwitz_riley_allpass_sos(crossover_hz, 4, sample_rate=sample_rate)


@dataclass(frozen=True, slots=True)
class ImagerDesign:
    """Per-band filters (one SOS cascade per band) and widths."""

    band_sos: tuple[npt.NDArray[np.float64], ...]
    band_width: tuple[float, ...]


def design_imager(params: ImagerParams, *, sample_rate: int) -> ImagerDesign | None:
    """The side band split and widths; ``None`` when the imager is an exact identity (width 1)."""
    crossovers = list(params.band_crossover_hz)
    widths = [params.width * w for w in params.band_width] if crossovers else [params.width]
    if params.mono_below_hz > 0:
        crossovers = [params.mono_below_hz, *crossovers]
        widths = [0.0, *widths]
    for i, f in enumerate(crossovers):
        if f >= sample_rate / 2:
            raise ParameterError(f"crossover {f} Hz (band {i}) must be below {sample_rate / 2:g} Hz")
    if not crossovers and widths[0] == 1.0:
        return None
    lr = [design_lr4_sos(f, sample_rate=sample_rate) for f in crossovers]
    ap = [design_allpass_sos(f, sample_rate=sample_rate) for f in crossovers]
    bands: list[npt.NDArray[np.float64]] = []
    prefix: list[npt.NDArray[np.float64]] = []  # high-passes applied to reach this branch
    for k in range(len(crossovers)):
        later_ap = ap[k + 1 :]
        bands.append(np.vstack([*prefix, lr[k][0], *later_ap]))
        prefix = [*prefix, lr[k][1]]
    bands.append(np.vstack(prefix) if prefix else np.array([[1.0, 0, 0, 1.0, 0, 0]]))
    return ImagerDesign(band_sos=tuple(bands), band_width=tuple(widths))


# --------------------------------------------------------------------------------------------
# kernel


@njit(cache=True, nogil=True)
def _limited_width_kernel(
    mid_band: npt.NDArray[np.float64],
    side_band: npt.NDArray[np.float64],
    width: float,
    coef: float,
    max_ratio: float,
    energy: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Scale ``side_band`` by ``min(width, max(1, sqrt(max_ratio E_mid / E_side)))`` per sample."""
    n = side_band.shape[0]
    out = np.empty(n)
    em = energy[0]
    es = energy[1]
    for i in range(n):
        m = mid_band[i]
        s = side_band[i]
        em = coef * em + (1.0 - coef) * m * m
        es = coef * es + (1.0 - coef) * s * s
        g = width
        if es * width * width > max_ratio * em:
            g = np.sqrt(max_ratio * em / es) if es > 0.0 else width
            if g < 1.0:
                g = 1.0
        out[i] = g * s
    energy[0] = em
    energy[1] = es
    return out


@njit(cache=True, nogil=True)
def _mid_side_kernel(x: npt.NDArray[np.floating], ms: npt.NDArray[np.float64]) -> None:
    """``ms = [(L + R) / 2, (L - R) / 2]`` in float64, in one pass (as the numpy passes did)."""
    x0 = x[0]
    x1 = x[1]
    m = ms[0]
    s = ms[1]
    for i in range(x.shape[1]):
        a = np.float64(x0[i])
        b = np.float64(x1[i])
        m[i] = (a + b) * 0.5
        s[i] = (a - b) * 0.5


@njit(cache=True, nogil=True)
def _left_right_kernel(
    mid: npt.NDArray[np.float64], side: npt.NDArray[np.float64], out: npt.NDArray[np.floating]
) -> None:
    """``out = [mid + side, mid - side]`` in one pass, rounded to ``out``'s dtype."""
    o0 = out[0]
    o1 = out[1]
    for i in range(mid.shape[0]):
        o0[i] = mid[i] + side[i]
        o1[i] = mid[i] - side[i]


@register_processor
class StereoImager(Processor):
    """Mid/side width, mono bass and per-band width; see the module doc for the guarantee."""

    kind: ClassVar[str] = "imager"
    params_type: ClassVar[type] = ImagerParams
    params: ImagerParams

    def __init__(self, params: ImagerParams | None = None, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params if params is not None else ImagerParams(), sample_rate=sample_rate, num_channels=num_channels)
        self._design = design_imager(self.params, sample_rate=self.sample_rate)
        self._coef = float(np.exp(-1.0 / (FOLLOWER_MS * 1e-3 * self.sample_rate)))
        self.reset()

    def reset(self) -> None:
        d = self._design
        if d is None:
            return
        # mid and side of a band share its cascade: one kernel call filters both (2 channels)
        self._cascades = [SosCascade(sos, 2) for sos in d.band_sos]
        self._energy = [np.zeros(2) for _ in d.band_sos]

    def process(self, block: AudioArray) -> AudioArray:
        return self._process_unchecked(
            check_audio(block, num_channels=self.num_channels, name="block")
        )

    def _process_unchecked(self, x: AudioArray) -> AudioArray:
        """:meth:`process` for a block that already meets the contract (from a chain)."""
        d = self._design
        if d is None or self.num_channels == 1 or x.shape[1] == 0:
            return x.copy()
        ms = np.empty(x.shape)
        _mid_side_kernel(x, ms)
        mid = ms[0]
        side = ms[1]
        if len(d.band_sos) == 1:
            w = d.band_width[0]
            if w > 1.0:
                new_side = _limited_width_kernel(
                    mid, side, w, self._coef, MAX_SIDE_TO_MID, self._energy[0]
                )
            else:
                new_side = w * side
        else:
            acc: npt.NDArray[np.float64] | None = None
            band = np.empty_like(ms)
            for b, cascade in enumerate(self._cascades):
                w = d.band_width[b]
                part: npt.NDArray[np.float64] | None = None
                if w > 1.0:
                    run_cascade(cascade, ms, out=band)
                    part = _limited_width_kernel(
                        band[0], band[1], w, self._coef, MAX_SIDE_TO_MID, self._energy[b]
                    )
                elif w > 0.0:
                    # the side alone (in the cascade's first state row)
                    cascade(ms[1:2], out=band[1:2])
                    part = w * band[1]
                if part is not None:
                    if acc is None:
                        acc = part
                    else:
                        acc += part
            new_side = acc if acc is not None else np.zeros_like(side)
        out = np.empty(x.shape, dtype=x.dtype)
        _left_right_kernel(mid, new_side, out)
        return out

apply_imager = offline(StereoImager)


def warmup() -> None:
    """Compile the kernel (numba caches it on disk)."""
    StereoImager(ImagerParams(width=1.5), sample_rate=44100, num_channels=2).process(np.zeros((2, 8)))
