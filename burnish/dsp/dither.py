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

Randomness: a counter-based generator, splitmix64 (Steele, Lea & Flood 2014), one stream per
channel keyed by ``(seed, channel)``: the dither of stream sample ``i`` is the difference of the
two 32-bit halves of ``splitmix64(key + (i + 1) * gamma)`` (two independent uniforms, 2**-32 LSB
resolution). It depends only on the sample's index in the stream, so the bits never depend on
the block size and the hash runs inside the kernel (vectorised when nothing is fed back) instead
of drawing uniforms from a numpy Generator per block (about 10 ns per sample). ``reset()``
restarts the streams.
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
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, (int, np.integer))
            or self.seed < 0
        ):
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


_U64 = np.uint64
#: splitmix64 constants (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
#: OOPSLA 2014; the finaliser of Vigna's ``splitmix64.c``).
_GAMMA = _U64(0x9E3779B97F4A7C15)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_TWO_POW_M32 = 2.0**-32


@njit(cache=True, nogil=True, inline="always")
def _mix64(z: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    z = (z ^ (z >> _U64(30))) * _MIX1
    z = (z ^ (z >> _U64(27))) * _MIX2
    return z ^ (z >> _U64(31))


@njit(cache=True, nogil=True, inline="always")
def _tpdf(key: np.uint64, index: np.uint64) -> float:  # pragma: no cover - compiled
    """TPDF dither of +-1 LSB for stream sample ``index``: the difference of the two 32-bit
    halves of ``splitmix64(key + (index + 1) * gamma)``, each a uniform on [0, 1)."""
    z = _mix64(key + (index + _U64(1)) * _GAMMA)
    hi = z >> _U64(32)
    lo = z & _U64(0xFFFFFFFF)
    return (np.float64(hi) - np.float64(lo)) * _TWO_POW_M32


def channel_keys(seed: int, num_channels: int) -> npt.NDArray[np.uint64]:
    """The splitmix64 key of each channel's dither stream, mixed from ``(seed, channel)``."""
    mask = (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    keys = [
        mix((mix(int(seed) & mask) + 0x9E3779B97F4A7C15 * (c + 1)) & mask)
        for c in range(num_channels)
    ]
    return np.array(keys, dtype=np.uint64)


@njit(cache=True, nogil=True, fastmath=False)
def _round_kernel(
    x: npt.NDArray[np.float64],
    keys: npt.NDArray[np.uint64],
    position: np.uint64,
    scale: float,
    dither_on: bool,
    y: npt.NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """No shaping: ``y = clip(floor(x * scale + d + 1/2)) / scale``; no recursion, so the loop
    vectorises (the 64-bit hash included, with AVX-512)."""
    num_channels, n = x.shape
    top = scale - 1.0
    bottom = -scale
    inv = 1.0 / scale  # a power of two: exact
    for c in range(num_channels):
        key = keys[c]
        xr = x[c]
        yr = y[c]
        if dither_on:
            for i in range(n):
                d = _tpdf(key, position + _U64(i))
                q = np.floor(xr[i] * scale + (d + 0.5))
                q = min(max(q, bottom), top)
                yr[i] = q * inv
        else:
            for i in range(n):
                q = np.floor(xr[i] * scale + 0.5)
                q = min(max(q, bottom), top)
                yr[i] = q * inv


#: Samples whose dither the shaped kernel draws at a time (a vectorised pass before the loop).
_DITHER_CHUNK = 512
#: Largest error-feedback order the kernel holds in registers (the F-weighted filter's 9).
MAX_ORDER = 9


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _shaped_step(
    xi: float,
    dd: float,
    h: npt.NDArray[np.float64],
    e1: float,
    e2: float,
    e3: float,
    e4: float,
    e5: float,
    e6: float,
    e7: float,
    e8: float,
    e9: float,
    top: float,
    bottom: float,
) -> tuple[float, float]:  # pragma: no cover - compiled
    """One sample of the loop: ``(q, e)`` for input ``xi`` (LSB units), ``dd = d + 1/2``."""
    # oldest first: the newest errors enter last, just before the critical path
    acc = xi - h[8] * e9
    acc -= h[7] * e8
    acc -= h[6] * e7
    acc -= h[5] * e6
    acc -= h[4] * e5
    acc -= h[3] * e4
    acc -= h[2] * e3
    acc -= h[1] * e2
    v = acc - h[0] * e1
    w = acc + dd  # off the critical path; then one FMA with the newest error
    q = np.floor(w - h[0] * e1)
    if q > top or q < bottom:
        q = min(max(q, bottom), top)
        e = min(max(q - v, -ERROR_LIMIT_LSB), ERROR_LIMIT_LSB)
    else:
        e = q - v
    return q, e


@njit(cache=True, nogil=True, fastmath={"contract"})
def _shaped_kernel(
    x: npt.NDArray[np.float64],
    keys: npt.NDArray[np.uint64],
    position: np.uint64,
    h: npt.NDArray[np.float64],
    errors: npt.NDArray[np.float64],
    scale: float,
    dither_on: bool,
    y: npt.NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """Error feedback with ``h`` zero-padded to :data:`MAX_ORDER` taps; ``errors`` (channels,
    MAX_ORDER): ``errors[c, k] = e[n-1-k]``.

    The recursion is latency-bound; its critical path is ``e[n-1] -> w -> floor -> e[n]`` (an
    FMA, a floor and a subtraction): the history lives in registers (a shift register, no
    memory round trip), the older taps are summed first (off that path), ``v`` (for
    ``e = q - v``) is computed beside ``w = v + d + 1/2``, and the quantiser's clip (which alone
    can make ``|e| > 1.5``) is a rarely taken branch. Channels run in pairs in one loop (two
    independent recursions).
    """
    num_channels, n = x.shape
    top = scale - 1.0
    bottom = -scale
    inv = 1.0 / scale
    da_buf = np.empty(_DITHER_CHUNK)
    db_buf = np.empty(_DITHER_CHUNK)
    c = 0
    while c < num_channels:
        c2 = c + 1 if c + 1 < num_channels else c
        ka = keys[c]
        kb = keys[c2]
        a1, a2, a3, a4, a5, a6, a7, a8, a9 = (
            errors[c, 0],
            errors[c, 1],
            errors[c, 2],
            errors[c, 3],
            errors[c, 4],
            errors[c, 5],
            errors[c, 6],
            errors[c, 7],
            errors[c, 8],
        )
        b1, b2, b3, b4, b5, b6, b7, b8, b9 = (
            errors[c2, 0],
            errors[c2, 1],
            errors[c2, 2],
            errors[c2, 3],
            errors[c2, 4],
            errors[c2, 5],
            errors[c2, 6],
            errors[c2, 7],
            errors[c2, 8],
        )
        xa = x[c]
        xb = x[c2]
        ya = y[c]
        yb = y[c2]
        for start in range(0, n, _DITHER_CHUNK):
            m = min(_DITHER_CHUNK, n - start)
            # the dither of a chunk first, in a vectorised loop (the hash is most of the work)
            for j in range(m):
                if dither_on:
                    index = position + _U64(start + j)
                    da_buf[j] = _tpdf(ka, index) + 0.5
                    db_buf[j] = _tpdf(kb, index) + 0.5
                else:
                    da_buf[j] = 0.5
                    db_buf[j] = 0.5
            for j in range(m):
                i = start + j
                qa, ea = _shaped_step(
                    xa[i] * scale, da_buf[j], h, a1, a2, a3, a4, a5, a6, a7, a8, a9, top, bottom
                )
                qb, eb = _shaped_step(
                    xb[i] * scale, db_buf[j], h, b1, b2, b3, b4, b5, b6, b7, b8, b9, top, bottom
                )
                a9, a8, a7, a6, a5, a4, a3, a2, a1 = a8, a7, a6, a5, a4, a3, a2, a1, ea
                b9, b8, b7, b6, b5, b4, b3, b2, b1 = b8, b7, b6, b5, b4, b3, b2, b1, eb
                ya[i] = qa * inv
                yb[i] = qb * inv
        errors[c, 0], errors[c, 1], errors[c, 2], errors[c, 3] = a1, a2, a3, a4
        errors[c, 4], errors[c, 5], errors[c, 6], errors[c, 7], errors[c, 8] = a5, a6, a7, a8, a9
        if c2 != c:
            errors[c2, 0], errors[c2, 1], errors[c2, 2], errors[c2, 3] = b1, b2, b3, b4
            errors[c2, 4], errors[c2, 5], errors[c2, 6] = b5, b6, b7
            errors[c2, 7], errors[c2, 8] = b8, b9
        c += 2


@register_processor
class Dither(Processor):
    """TPDF dither (optionally noise-shaped) and requantisation to ``bit_depth`` bits."""

    kind: ClassVar[str] = "dither"
    params_type: ClassVar[type] = DitherParams
    params: DitherParams

    def __init__(
        self, params: DitherParams | None = None, *, sample_rate: int, num_channels: int
    ) -> None:
        super().__init__(
            params if params is not None else DitherParams(),
            sample_rate=sample_rate,
            num_channels=num_channels,
        )
        self._coefs = design_shaping_filter(self.params, sample_rate=self.sample_rate)
        if self._coefs.shape[0] > MAX_ORDER:
            raise ParameterError(
                f"shaping order {self._coefs.shape[0]} must be in [0, {MAX_ORDER}]"
            )
        self._padded = np.zeros(MAX_ORDER)
        self._padded[: self._coefs.shape[0]] = self._coefs
        self._scale = float(2 ** (self.params.bit_depth - 1))
        self._dither_on = self.params.shape != "none"
        self.reset()

    def reset(self) -> None:
        self._keys = channel_keys(self.params.seed, self.num_channels)
        self._position = 0  # samples of the stream already dithered (indexes the random stream)
        self._errors = np.zeros((self.num_channels, MAX_ORDER))

    def process(self, block: AudioArray) -> AudioArray:
        return self._process_unchecked(
            check_audio(block, num_channels=self.num_channels, name="block")
        )

    def _process_unchecked(self, x: AudioArray) -> AudioArray:
        """:meth:`process` for a block that already meets the contract (from a chain)."""
        n = x.shape[1]
        if n == 0:
            return x.copy()
        xc = np.ascontiguousarray(x, dtype=np.float64)
        y = np.empty_like(xc)
        pos = np.uint64(self._position)
        if self._coefs.shape[0]:
            _shaped_kernel(
                xc, self._keys, pos, self._padded, self._errors, self._scale, self._dither_on, y
            )
        else:
            _round_kernel(xc, self._keys, pos, self._scale, self._dither_on, y)
        self._position = (self._position + n) & 0xFFFFFFFFFFFFFFFF
        return y.astype(x.dtype, copy=False)


apply_dither = offline(Dither)


def warmup() -> None:
    """Compile the kernels (numba caches them on disk)."""
    for shape in ("noise_shaped", "tpdf"):
        Dither(DitherParams(shape=shape), sample_rate=44100, num_channels=2).process(
            np.zeros((2, 8))
        )
