"""Dither and requantisation to 16 or 24 bits.

The last stage of a master: add TPDF (triangular) dither of +-1 LSB and round to the target bit
depth's grid ``k / 2**(bit_depth - 1)``, optionally with the quantisation error shaped away from
the ear's most sensitive region by error feedback.

Analytic facts the tests check
------------------------------
* TPDF dither of +-1 LSB (the sum of two independent uniform +-0.5 LSB variables) has variance
  ``LSB**2 / 6``; rounding adds an independent ``LSB**2 / 12`` (TPDF makes the rounding error
  independent of the signal in its first two moments), so the total error power is
  ``LSB**2 / 4``: RMS ``LSB / 2`` = ``2**-16`` = -96.33 dBFS for 16 bits (full scale 1.0),
  -144.49 dBFS for 24 bits. In digital silence the output takes the values -1, 0, +1 LSB with
  probabilities 1/8, 3/4, 1/8 and that power exactly.
* Noise shaping by error feedback: ``v = x - sum_k h_k e[n-k]``, ``y = Q(v + d)``,
  ``e = y - v``; the output error is ``E(z) * (1 - H(z))`` with ``E`` white (TPDF + rounding).

Shaping filters (``shape="noise_shaped"``)
------------------------------------------
* sample rates up to 50 kHz: the 9-coefficient F-weighted filter of R. A. Wannamaker,
  "Psychoacoustically optimal noise shaping", J. Audio Eng. Soc. 40(7/8), 1992, as tabulated in
  SoX's ``dither.h`` (``fwe44``): h = 2.412, -3.370, 3.937, -4.174, 3.353, -2.205, 1.281,
  -0.569, 0.0847. At 44.1 kHz ``|1 - H|`` is -12 dB at DC, -25 dB at 3 kHz, -20 dB at 5 kHz,
  +12 dB at 16 kHz and +27 dB at Nyquist (total noise power +18.4 dB, pushed where the ear is
  least sensitive).
* higher rates (88.2 kHz and up): a second-order high-pass shaper ``(1 - z^-1)**2``
  (h = 2, -1), which moves the noise above ~ sample_rate / 6 (16 kHz at 96 kHz), well clear
  of the audible band. The F-weighted filter, designed at 44.1 kHz, would misplace its dip.

The shaper's remembered error is limited to +-4 LSB so a clipped sample (the quantiser
saturating at full scale) can't drive the feedback loop unstable.

Randomness: one ``numpy.random.default_rng([seed, channel])`` per channel, two uniforms drawn
per sample in order, so the bits never depend on the block size; ``reset()`` re-seeds.
``shape="none"`` rounds to the grid without dither (truncation distortion included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import Processor, check_choice, offline, register_processor
from burnish.errors import ParameterError

SHAPES = ("tpdf", "noise_shaped", "none")
BIT_DEPTHS = (16, 24)

#: Wannamaker (1992) 9-tap F-weighted shaper, 44.1 kHz (SoX dither.h ``fwe44``).
F_WEIGHTED_44K = (2.412, -3.370, 3.937, -4.174, 3.353, -2.205, 1.281, -0.569, 0.0847)
#: Second-order high-pass shaper (1 - z^-1)^2 for sample rates above 50 kHz.
HIGHPASS_2ND = (2.0, -1.0)
#: Largest error (in LSB) the shaper remembers.
ERROR_LIMIT_LSB = 4.0


@dataclass(frozen=True, slots=True)
class DitherParams:
    """Dither settings.

    Attributes
    ----------
    bit_depth:
        Target word length, 16 or 24 bits; the output lies on the grid ``k / 2**(bit_depth-1)``.
    shape:
        ``"tpdf"`` (flat triangular dither), ``"noise_shaped"`` (TPDF + error-feedback shaping)
        or ``"none"`` (plain rounding, no dither).
    seed:
        Seed of the per-channel random generators (same seed -> same bits).
    """

    bit_depth: int = 16
    shape: str = "tpdf"
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.bit_depth, bool) or self.bit_depth not in BIT_DEPTHS:
            raise ParameterError(f"bit_depth={self.bit_depth!r} must be one of 16, 24")
        check_choice("shape", self.shape, SHAPES)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ParameterError(f"seed={self.seed!r} must be a whole number in [0, inf)")


def design_shaping_filter(params: DitherParams, *, sample_rate: int) -> npt.NDArray[np.float64]:
    """Error-feedback coefficients ``h`` (noise transfer ``1 - sum h_k z^-k``); empty = no shaping."""
    if params.shape != "noise_shaped":
        return np.zeros(0)
    if sample_rate <= 50000:
        return np.array(F_WEIGHTED_44K)
    return np.array(HIGHPASS_2ND)


def lsb(bit_depth: int) -> float:
    """Size of one least significant bit at full scale 1.0: ``2**-(bit_depth - 1)``."""
    return float(2.0 ** -(bit_depth - 1))


@njit(cache=True)
def _quantize_kernel(
    x: npt.NDArray[np.float64],
    uniforms: npt.NDArray[np.float64],
    coefs: npt.NDArray[np.float64],
    errors: npt.NDArray[np.float64],
    scale: float,
    dither_on: bool,
) -> npt.NDArray[np.float64]:
    """Requantise ``x`` (channels, n) in LSB units ``scale``; ``errors`` (channels, order) ring."""
    num_channels, n = x.shape
    order = coefs.shape[0]
    y = np.empty_like(x)
    top = scale - 1.0  # largest code (full scale minus one LSB)
    bottom = -scale
    limit = ERROR_LIMIT_LSB
    # the remembered errors as a ring: errors[c, k] is e[n-1-k]; a doubled local copy lets
    # the feedback read order contiguous values without shifting the history every sample
    ring = np.zeros(2 * order)
    for c in range(num_channels):
        for k in range(order):
            ring[order - 1 - k] = errors[c, k]
            ring[2 * order - 1 - k] = errors[c, k]
        head = 0  # ring[head + order - 1] is the newest error, ring[head] the oldest
        for i in range(n):
            v = x[c, i] * scale
            for k in range(order):
                v -= coefs[k] * ring[head + order - 1 - k]
            d = 0.0
            if dither_on:
                d = uniforms[c, 2 * i] - uniforms[c, 2 * i + 1]
            q = np.floor(v + d + 0.5)
            if q > top:
                q = top
            elif q < bottom:
                q = bottom
            if order > 0:
                e = q - v
                if e > limit:
                    e = limit
                elif e < -limit:
                    e = -limit
                ring[head] = e
                ring[head + order] = e
                head += 1
                if head == order:
                    head = 0
            y[c, i] = q / scale
        for k in range(order):
            errors[c, k] = ring[head + order - 1 - k]
    return y


@register_processor
class Dither(Processor):
    """TPDF dither (optionally noise-shaped) and requantisation to ``bit_depth`` bits."""

    kind: ClassVar[str] = "dither"
    params_type: ClassVar[type] = DitherParams
    params: DitherParams

    def __init__(self, params: DitherParams | None = None, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params if params is not None else DitherParams(), sample_rate=sample_rate, num_channels=num_channels)
        self._coefs = design_shaping_filter(self.params, sample_rate=self.sample_rate)
        self._scale = float(2 ** (self.params.bit_depth - 1))
        self._dither_on = self.params.shape != "none"
        self.reset()

    def reset(self) -> None:
        self._rngs = [np.random.default_rng([self.params.seed, c]) for c in range(self.num_channels)]
        self._errors = np.zeros((self.num_channels, self._coefs.shape[0]))

    def process(self, block: AudioArray) -> AudioArray:
        x = check_audio(block, num_channels=self.num_channels, name="block")
        n = x.shape[1]
        if n == 0:
            return x.copy()
        if self._dither_on:
            uniforms = np.stack([rng.random(2 * n) for rng in self._rngs])
        else:
            uniforms = np.zeros((self.num_channels, 0))
        y = _quantize_kernel(
            np.ascontiguousarray(x, dtype=np.float64), uniforms, self._coefs, self._errors,
            self._scale, self._dither_on,
        )
        return y.astype(x.dtype, copy=False)


apply_dither = offline(Dither)


def warmup() -> None:
    """Compile the kernel (numba caches it on disk)."""
    Dither(DitherParams(shape="noise_shaped"), sample_rate=44100, num_channels=2).process(np.zeros((2, 8)))
