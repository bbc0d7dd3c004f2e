"""Pure filter design: parameters + sample rate -> second-order sections (SOS).

Every function returns a float64 array shaped ``(n_sections, 6)`` laid out as scipy's
``[b0, b1, b2, a0, a1, a2]`` with ``a0 == 1``, ready for ``scipy.signal.sosfilt`` (transposed
direct form II, float64, which keeps low-frequency / high-Q biquads precise at 96 kHz and up).
Nothing here holds state; the processors in :mod:`burnish.dsp.gain` and :mod:`burnish.dsp.eq`
apply the sections with explicit ``zi``.

Definitions (see docs/eq.md):

* **Peaking (bell)** — RBJ "Audio EQ Cookbook" peakingEQ with ``alpha = sin(w0) / (2 q)``.
  ``gain_db`` is met exactly at ``center_hz``. Bandwidth: the analog prototype's half-gain
  frequencies (where the response is ``gain_db / 2``) satisfy ``f_hi - f_lo = center_hz / q``;
  after the bilinear transform (pre-warped at the centre) this holds on the warped axis
  ``W(f) = tan(pi f / sample_rate) / tan(pi center_hz / sample_rate)``:
  ``W(f_hi) - W(f_lo) = 1 / q`` and ``W(f_hi) * W(f_lo) = 1``, for every gain.
* **Shelves** — RBJ lowShelf / highShelf with ``alpha = sin(w0) / (2 q)``; ``q = 1/sqrt(2)``
  is the cookbook's slope ``S = 1`` (steepest without overshoot). ``corner_hz`` is the
  *half-gain* frequency: the response there is exactly ``gain_db / 2``; far below (low shelf) or
  above (high shelf) it is ``gain_db``.
* **Butterworth** — the analog prototype's poles ``-exp(i pi (2k - n + 1) / (2n))`` scaled to the
  pre-warped cutoff ``2 fs tan(pi cutoff_hz / fs)``, bilinear transform, sections ordered as
  ``scipy.signal.butter(..., output="sos")`` orders them (furthest from the unit circle first,
  the overall gain in the first section) and equal to it within 1e-9 (tested):
  ``-10 log10(2) = -3.01 dB`` at ``cutoff_hz`` for every order; asymptotic slope
  ``6.02 * order`` dB per octave.
* **Tilt** — a low shelf of ``-gain_db / 2`` and a high shelf of ``+gain_db / 2`` at the same
  ``pivot_hz`` and ``q``: ``gain_db`` is the total tilt from the low end to the high end
  (``-gain_db/2`` at DC, ``+gain_db/2`` at Nyquist) and the response is exactly 0 dB at the pivot.
* **Linkwitz-Riley** — order ``2n`` is a Butterworth of order ``n`` squared: ``-6.02 dB`` at the
  cutoff for both outputs. ``lowpass + sign * highpass`` is an all-pass (the magnitudes sum flat)
  with ``sign = +1`` for orders 4 and 8 and ``-1`` for orders 2 and 6
  (:func:`linkwitz_riley_sum_sign`); :func:`design_linkwitz_riley_allpass_sos` is that all-pass,
  for phase-aligning the other bands of a multiband split.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from burnish.audio import check_sample_rate
from burnish.dsp.base import check_choice, check_range
from burnish.errors import ParameterError
from burnish.units import SILENCE_DB

Sos = npt.NDArray[np.float64]

#: The shelf q that equals the RBJ cookbook's shelf slope S = 1.
SHELF_Q_BUTTERWORTH = 1.0 / math.sqrt(2.0)
#: Orders accepted by :func:`design_butterworth_sos`.
MAX_BUTTERWORTH_ORDER = 16
#: Orders accepted by :func:`design_linkwitz_riley_sos`.
LINKWITZ_RILEY_ORDERS = (2, 4, 6, 8)
#: Gains accepted by the cookbook designs (dB).
MAX_GAIN_DB = 48.0
#: q accepted by the cookbook designs.
MIN_Q, MAX_Q = 0.025, 100.0


def _check_frequency(name: str, frequency_hz: float, sample_rate: int) -> None:
    check_range(
        name, frequency_hz, 0.0, sample_rate / 2.0, low_inclusive=False, high_inclusive=False
    )


def _check_common(
    name: str, frequency_hz: float, gain_db: float, q: float, sample_rate: int
) -> int:
    sr = check_sample_rate(sample_rate)
    _check_frequency(name, frequency_hz, sr)
    check_range("gain_db", gain_db, -MAX_GAIN_DB, MAX_GAIN_DB)
    check_range("q", q, MIN_Q, MAX_Q)
    return sr


def _section(b: tuple[float, float, float], a: tuple[float, float, float]) -> Sos:
    a0 = a[0]
    return np.array(
        [[b[0] / a0, b[1] / a0, b[2] / a0, 1.0, a[1] / a0, a[2] / a0]], dtype=np.float64
    )


def design_peaking_sos(center_hz: float, gain_db: float, q: float, *, sample_rate: int) -> Sos:
    """RBJ peaking (bell) biquad: ``gain_db`` at ``center_hz``; bandwidth ``center_hz / q``.

    The bandwidth is measured between the half-gain (``gain_db / 2``) frequencies on the
    pre-warped axis (module docstring). Returns one section, shape ``(1, 6)``.
    """
    sr = _check_common("center_hz", center_hz, gain_db, q, sample_rate)
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * center_hz / sr
    cos_w0 = math.cos(w0)
    alpha = math.sin(w0) / (2.0 * q)
    return _section(
        (1.0 + alpha * amp, -2.0 * cos_w0, 1.0 - alpha * amp),
        (1.0 + alpha / amp, -2.0 * cos_w0, 1.0 - alpha / amp),
    )


def design_bandpass_sos(center_hz: float, q: float, *, sample_rate: int) -> Sos:
    """RBJ band-pass with 0 dB peak gain at ``center_hz`` and -3.01 dB bandwidth ``center_hz / q``.

    Its poles are those of a 0 dB peaking filter of the same ``q``; ``1 + (g - 1) * bandpass`` is
    a bell of linear gain ``g`` at the centre (the dynamic EQ's split).
    """
    sr = _check_common("center_hz", center_hz, 0.0, q, sample_rate)
    w0 = 2.0 * math.pi * center_hz / sr
    alpha = math.sin(w0) / (2.0 * q)
    return _section((alpha, 0.0, -alpha), (1.0 + alpha, -2.0 * math.cos(w0), 1.0 - alpha))


def design_low_shelf_sos(
    corner_hz: float, gain_db: float, q: float = SHELF_Q_BUTTERWORTH, *, sample_rate: int
) -> Sos:
    """RBJ low shelf: ``gain_db`` far below ``corner_hz``, exactly ``gain_db / 2`` at it."""
    sr = _check_common("corner_hz", corner_hz, gain_db, q, sample_rate)
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * corner_hz / sr
    c = math.cos(w0)
    k = 2.0 * math.sqrt(amp) * math.sin(w0) / (2.0 * q)
    return _section(
        (
            amp * ((amp + 1.0) - (amp - 1.0) * c + k),
            2.0 * amp * ((amp - 1.0) - (amp + 1.0) * c),
            amp * ((amp + 1.0) - (amp - 1.0) * c - k),
        ),
        (
            (amp + 1.0) + (amp - 1.0) * c + k,
            -2.0 * ((amp - 1.0) + (amp + 1.0) * c),
            (amp + 1.0) + (amp - 1.0) * c - k,
        ),
    )


def design_high_shelf_sos(
    corner_hz: float, gain_db: float, q: float = SHELF_Q_BUTTERWORTH, *, sample_rate: int
) -> Sos:
    """RBJ high shelf: ``gain_db`` far above ``corner_hz``, exactly ``gain_db / 2`` at it."""
    sr = _check_common("corner_hz", corner_hz, gain_db, q, sample_rate)
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * corner_hz / sr
    c = math.cos(w0)
    k = 2.0 * math.sqrt(amp) * math.sin(w0) / (2.0 * q)
    return _section(
        (
            amp * ((amp + 1.0) + (amp - 1.0) * c + k),
            -2.0 * amp * ((amp - 1.0) + (amp + 1.0) * c),
            amp * ((amp + 1.0) + (amp - 1.0) * c - k),
        ),
        (
            (amp + 1.0) - (amp - 1.0) * c + k,
            2.0 * ((amp - 1.0) - (amp + 1.0) * c),
            (amp + 1.0) - (amp - 1.0) * c - k,
        ),
    )


def design_tilt_sos(pivot_hz: float, gain_db: float, q: float = 0.5, *, sample_rate: int) -> Sos:
    """Tilt EQ: low shelf ``-gain_db/2`` and high shelf ``+gain_db/2`` at ``pivot_hz``.

    ``gain_db`` is the total tilt from the low end to the high end (positive: brighter); the
    response is exactly 0 dB at ``pivot_hz``. A low ``q`` (0.3-0.7) spreads the tilt over more
    octaves. Returns two sections.
    """
    check_range("gain_db", gain_db, -MAX_GAIN_DB, MAX_GAIN_DB)
    return np.vstack(
        [
            design_low_shelf_sos(pivot_hz, -gain_db / 2.0, q, sample_rate=sample_rate),
            design_high_shelf_sos(pivot_hz, gain_db / 2.0, q, sample_rate=sample_rate),
        ]
    )


def design_butterworth_sos(
    kind: Literal["highpass", "lowpass"], cutoff_hz: float, order: int, *, sample_rate: int
) -> Sos:
    """Butterworth high- or low-pass of ``order`` (1..16): -3.01 dB at ``cutoff_hz``.

    The asymptotic slope is ``6.02 * order`` dB per octave.
    """
    check_choice("kind", kind, ("highpass", "lowpass"))
    sr = check_sample_rate(sample_rate)
    _check_frequency("cutoff_hz", cutoff_hz, sr)
    if isinstance(order, bool) or int(order) != order or not 1 <= order <= MAX_BUTTERWORTH_ORDER:
        raise ParameterError(
            f"order={order!r} must be a whole number in [1, {MAX_BUTTERWORTH_ORDER}]"
        )
    return _butterworth_sos(kind, float(cutoff_hz), int(order), sr)


def _butterworth_sos(kind: str, cutoff_hz: float, order: int, sample_rate: int) -> Sos:
    """Closed-form digital Butterworth (bilinear transform, pre-warped at the cutoff).

    Poles and zeros are paired into sections the way ``scipy.signal.zpk2sos`` pairs them
    (``pairing="nearest"``): starting from the pole nearest the unit circle (the last section),
    each pole takes the nearest remaining zero; an odd order adds a pole and a zero at the
    origin. The overall gain (unit gain at DC or Nyquist) goes in the first section.
    """
    fs2 = 2.0 * sample_rate
    warped = fs2 * math.tan(math.pi * cutoff_hz / sample_rate)
    m = np.arange(-order + 1, order, 2)
    proto = -np.exp(1j * np.pi * m / (2.0 * order))
    analog = proto * warped if kind == "lowpass" else warped / proto
    digital = (fs2 + analog) / (fs2 - analog)
    poles: list[complex] = [complex(p) for p in digital[m > 0]]  # one of each conjugate pair
    zero = -1.0 if kind == "lowpass" else 1.0
    zeros: list[float] = [zero] * order
    if order % 2 == 1:
        poles += [complex(digital[m == 0][0].real, 0.0), 0j]
        zeros.append(0.0)

    def worst(candidates: list[complex]) -> int:
        return int(np.argmin([abs(1.0 - abs(p)) for p in candidates]))

    def nearest_zero(p: complex) -> float:
        return zeros.pop(int(np.argmin([abs(z - p) for z in zeros])))

    rows: list[list[float]] = []
    while poles:
        p1 = poles.pop(worst(poles))
        if p1.imag == 0.0:
            reals = [p for p in poles if p.imag == 0.0]
            p2 = reals[worst(reals)]
            poles.remove(p2)
            a = [1.0, -(p1.real + p2.real), p1.real * p2.real]
        else:
            a = [1.0, -2.0 * p1.real, abs(p1) ** 2]
        z1 = nearest_zero(p1)
        z2 = nearest_zero(p1)
        rows.append([1.0, -(z1 + z2), z1 * z2, *a])
    sos = np.array(rows[::-1], dtype=np.float64)
    # unit gain at DC (low-pass) or at Nyquist (high-pass), put in the first section
    z = 1.0 if kind == "lowpass" else -1.0
    num = sos[:, 0] + sos[:, 1] * z + sos[:, 2] * z * z
    den = sos[:, 3] + sos[:, 4] * z + sos[:, 5] * z * z
    sos[0, :3] *= float(np.prod(den / num))
    return np.ascontiguousarray(sos)


def _check_lr_order(order: int) -> int:
    if isinstance(order, bool) or order not in LINKWITZ_RILEY_ORDERS:
        raise ParameterError(
            f"order={order!r} must be one of {', '.join(map(str, LINKWITZ_RILEY_ORDERS))}"
        )
    return int(order)


def design_linkwitz_riley_sos(
    kind: Literal["highpass", "lowpass"], cutoff_hz: float, order: int = 4, *, sample_rate: int
) -> Sos:
    """Linkwitz-Riley crossover branch of ``order`` (2, 4, 6, 8): -6.02 dB at ``cutoff_hz``.

    A Butterworth of ``order / 2`` applied twice. ``lowpass + linkwitz_riley_sum_sign(order) *
    highpass`` equals :func:`design_linkwitz_riley_allpass_sos` (flat magnitude).
    """
    half = _check_lr_order(order) // 2
    bw = design_butterworth_sos(kind, cutoff_hz, half, sample_rate=sample_rate)
    return np.ascontiguousarray(np.vstack([bw, bw]))


def linkwitz_riley_sum_sign(order: int) -> int:
    """``+1`` if low + high sums to an all-pass (orders 4, 8), ``-1`` if low - high does (2, 6)."""
    return 1 if _check_lr_order(order) % 4 == 0 else -1


def design_linkwitz_riley_allpass_sos(cutoff_hz: float, order: int = 4, *, sample_rate: int) -> Sos:
    """The all-pass that a Linkwitz-Riley pair sums to (``low + sign * high``).

    Put it on the bands that do not pass through a crossover so that all bands of a multiband
    split stay phase-aligned. Its poles are the Butterworth ``order / 2`` poles; each section's
    numerator is its denominator reversed.
    """
    half = _check_lr_order(order) // 2
    bw = design_butterworth_sos("lowpass", cutoff_hz, half, sample_rate=sample_rate)
    out = np.empty_like(bw)
    for i, (_b0, _b1, _b2, _a0, a1, a2) in enumerate(bw):
        if a2 == 0.0:  # first-order section
            out[i] = (a1, 1.0, 0.0, 1.0, a1, 0.0)
        else:
            out[i] = (a2, a1, 1.0, 1.0, a1, a2)
    # the Linkwitz-Riley sum is +-allpass; fix the sign so that the identity holds exactly
    ref = np.array([sample_rate / 4.0])
    lp = sos_response(
        design_linkwitz_riley_sos("lowpass", cutoff_hz, order, sample_rate=sample_rate),
        ref,
        sample_rate=sample_rate,
    )
    hp = sos_response(
        design_linkwitz_riley_sos("highpass", cutoff_hz, order, sample_rate=sample_rate),
        ref,
        sample_rate=sample_rate,
    )
    ap = sos_response(out, ref, sample_rate=sample_rate)
    total = lp + linkwitz_riley_sum_sign(order) * hp
    if np.real(total[0] * np.conj(ap[0])) < 0.0:
        out[0, :3] *= -1.0
    return out


def sos_response(
    sos: npt.ArrayLike, freqs_hz: npt.ArrayLike, *, sample_rate: int
) -> npt.NDArray[np.complex128]:
    """Complex frequency response of ``sos`` at ``freqs_hz`` (an empty SOS is the identity)."""
    f = np.atleast_1d(np.asarray(freqs_hz, dtype=np.float64))
    s = np.asarray(sos, dtype=np.float64).reshape(-1, 6)
    if s.shape[0] == 0:
        return np.ones(f.shape, dtype=np.complex128)
    z1 = np.exp(-2j * np.pi * f / float(sample_rate))  # z^-1 on the unit circle
    z2 = z1 * z1
    h = np.ones(f.shape, dtype=np.complex128)
    for b0, b1, b2, a0, a1, a2 in s:
        h *= (b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2)
    return h


def sos_response_db(
    sos: npt.ArrayLike, freqs_hz: npt.ArrayLike, *, sample_rate: int
) -> npt.NDArray[np.float64]:
    """Magnitude response in dB of ``sos`` at ``freqs_hz`` (floored at ``SILENCE_DB``)."""
    mag = np.abs(sos_response(sos, freqs_hz, sample_rate=sample_rate))
    with np.errstate(divide="ignore"):
        db = 20.0 * np.log10(mag)
    return np.maximum(np.where(mag > 0.0, db, SILENCE_DB), SILENCE_DB)


def order_for_slope(slope_db_per_octave: int) -> int:
    """Butterworth order for a nominal slope: 6 -> 1, 12 -> 2, ..., 48 -> 8 (dB per octave)."""
    check_choice("slope_db_per_octave", slope_db_per_octave, PASS_SLOPES_DB_PER_OCTAVE)  # type: ignore[arg-type]
    return int(slope_db_per_octave) // 6


#: Slopes (dB per octave) offered for high- and low-pass filters.
PASS_SLOPES_DB_PER_OCTAVE = (6, 12, 18, 24, 36, 48)
