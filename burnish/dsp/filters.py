"""Pure filter design: parameters + sample rate -> second-order sections (SOS).

Every function returns a float64 array shaped ``(n_sections, 6)`` laid out as scipy's
``[b0, b1, b2, a0, a1, a2]`` with ``a0 == 1``, ready for ``scipy.signal.sosfilt`` (transposed
direct form II, float64, which keeps low-frequency / high-Q biquads precise at 96 kHz and up).
Nothing here holds state; the processors in :mod:`burnish.dsp.gain` and :mod:`burnish.dsp.eq`
apply the sections with explicit ``zi``.

Definitions (see docs/eq.md):

* **Peaking (bell)** — matched to the analogue prototype (RBJ's s-domain peakingEQ,
  ``alpha = 1 / (2 q)``), not bilinear-warped: ``gain_db`` exactly at ``center_hz``, 0 dB at DC,
  and the half-gain frequencies (response ``gain_db / 2``) ``center_hz / q`` apart **in Hz** and
  geometric about the centre, as in the prototype. Of three biquads — Orfanidis' (exact
  bandwidth and the prototype's Nyquist gain; when the prototype's upper half-gain frequency is
  below Nyquist), Vicanek's matched-z (poles, peak, DC) and the cookbook's bilinear one — the one
  nearest the prototype from 20 Hz to 20 kHz / 0.9 x Nyquist is used, Orfanidis' unless another
  is nearer by 0.25 dB. The bandwidth is then exact wherever the upper half-gain frequency lies
  below both 20 kHz and 0.75 x Nyquist (a wide bell at a high rate whose upper edge lies above
  20 kHz keeps the audible band's shape first); the cookbook bell narrows ("cramps") towards
  Nyquist instead.
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


#: Above this fraction of the Nyquist frequency for the analogue upper half-gain edge a bell is
#: matched by its poles and peak (Vicanek) instead of by its exact bandwidth (Orfanidis).
ORFANIDIS_EDGE_LIMIT = 0.99


def analog_peaking_db(
    frequency_hz: npt.ArrayLike, center_hz: float, gain_db: float, q: float
) -> npt.NDArray[np.float64]:
    """The analogue prototype bell (RBJ's s-domain peakingEQ) in dB: what the biquad matches."""
    x = np.asarray(frequency_hz, dtype=np.float64) / center_hz
    amp = 10.0 ** (gain_db / 40.0)
    d = (1.0 - x * x) ** 2
    num = d + (amp * x / q) ** 2
    den = d + (x / (amp * q)) ** 2
    return np.asarray(10.0 * np.log10(num / den), dtype=np.float64)


def peaking_edges_hz(center_hz: float, q: float) -> tuple[float, float]:
    """The analogue bell's half-gain frequencies: ``f_hi - f_lo = center_hz / q``, geometric."""
    k = 1.0 / (2.0 * q)
    root = math.sqrt(1.0 + k * k)
    return center_hz * (root - k), center_hz * (root + k)


def design_peaking_sos(center_hz: float, gain_db: float, q: float, *, sample_rate: int) -> Sos:
    """Peaking (bell) biquad matched to its analogue prototype, without cramping near Nyquist.

    ``gain_db`` exactly at ``center_hz`` (the response's extremum), 0 dB at DC. Bandwidth: the
    half-gain (``gain_db / 2``) frequencies are ``center_hz / q`` apart **in Hz**, as in the
    analogue prototype (:func:`peaking_edges_hz`), at every centre frequency whose analogue upper
    edge lies below Nyquist: Orfanidis' design (JAES 45(6), 1997), with the gain at Nyquist set
    to the prototype's there. A bell whose analogue upper edge lies beyond Nyquist has no upper
    edge to match; it is matched by its poles (matched-z), its peak gain and flat top at the
    centre and 0 dB at DC (Vicanek, "Matched second order digital filters", 2016), which keeps the
    shape below 16 kHz within about 1 dB of the prototype. The bilinear (cookbook) bell,
    :func:`design_peaking_cookbook_sos`, is 20-80 % narrower above 5 kHz at 44.1 kHz and
    forced to 0 dB at Nyquist. Returns one section, shape ``(1, 6)``.
    """
    sr = _check_common("center_hz", center_hz, gain_db, q, sample_rate)
    if gain_db == 0.0:
        return np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    candidates = [_vicanek_peaking(center_hz, gain_db, q, sr)]
    _, f_hi = peaking_edges_hz(center_hz, q)
    if f_hi <= ORFANIDIS_EDGE_LIMIT * sr / 2.0:
        candidates.insert(0, _orfanidis_peaking(center_hz, gain_db, q, sr))
    candidates.append(design_peaking_cookbook_sos(center_hz, gain_db, q, sample_rate=sr))
    grid = _match_grid(sr)
    target = analog_peaking_db(grid, center_hz, gain_db, q)
    best, best_err = candidates[-1], math.inf
    for sos in candidates:
        if not np.all(np.isfinite(sos)):
            continue
        err = float(np.max(np.abs(sos_response_db(sos, grid, sample_rate=sr) - target)))
        # near-ties go to the earlier design: exact bandwidth first
        if err < best_err - MATCH_TIE_DB:
            best, best_err = sos, err
    return best


#: Two designs whose worst deviation from the prototype differ by less than this are equal.
MATCH_TIE_DB = 0.25


def _match_grid(sample_rate: int) -> npt.NDArray[np.float64]:
    """Where a bell is compared with its prototype: 20 Hz to 20 kHz or 0.9 x Nyquist."""
    return np.geomspace(20.0, min(20000.0, 0.45 * sample_rate), 256)


def _orfanidis_peaking(center_hz: float, gain_db: float, q: float, sample_rate: int) -> Sos:
    g = 10.0 ** (gain_db / 20.0)  # peak (linear); reference gain g0 = 1
    gb = math.sqrt(g)  # the half-gain level (geometric mean of 1 and g)
    w0 = 2.0 * math.pi * center_hz / sample_rate
    dw = 2.0 * math.pi * (center_hz / q) / sample_rate
    # the analogue prototype's gain at Nyquist, g1 (between 1 and g)
    a = (w0 * w0 - math.pi**2) ** 2
    b = (math.pi * dw) ** 2 * (gb * gb - 1.0) / (g * g - gb * gb)
    g1 = math.sqrt((a + g * g * b) / (a + b))
    f = abs(g * g - gb * gb)
    g00 = abs(g * g - 1.0)
    f00 = abs(gb * gb - 1.0)
    g01 = abs(g * g - g1)
    g11 = abs(g * g - g1 * g1)
    f01 = abs(gb * gb - g1)
    f11 = abs(gb * gb - g1 * g1)
    w2 = math.sqrt(g11 / g00) * math.tan(w0 / 2.0) ** 2
    dwt = (1.0 + math.sqrt(f00 / f11) * w2) * math.tan(dw / 2.0)
    c = f11 * dwt * dwt - 2.0 * w2 * (f01 - math.sqrt(f00 * f11))
    d = 2.0 * w2 * (g01 - math.sqrt(g00 * g11))
    aa = math.sqrt((c + d) / f)
    bb = math.sqrt((g * g * c + gb * gb * d) / f)
    den = 1.0 + w2 + aa
    return np.array(
        [[(g1 + w2 + bb) / den, -2.0 * (g1 - w2) / den, (g1 - bb + w2) / den,
          1.0, -2.0 * (1.0 - w2) / den, (1.0 + w2 - aa) / den]],
        dtype=np.float64,
    )


def _vicanek_peaking(center_hz: float, gain_db: float, q: float, sample_rate: int) -> Sos:
    g = 10.0 ** (gain_db / 20.0)
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * center_hz / sample_rate
    zeta = 1.0 / (2.0 * q * amp)  # the prototype's poles: s^2 + s w0 / (q amp) + w0^2
    if zeta <= 1.0:
        decay = math.exp(-zeta * w0)
        a1 = -2.0 * decay * math.cos(math.sqrt(1.0 - zeta * zeta) * w0)
        a2 = decay * decay
    else:  # two real poles, exp(w0 (-zeta +- sqrt(zeta^2 - 1)))
        root = math.sqrt(zeta * zeta - 1.0)
        z_slow = math.exp(-w0 / (zeta + root))
        z_fast = math.exp(-w0 * (zeta + root))
        a1, a2 = -(z_slow + z_fast), z_slow * z_fast
    # |H|^2 = (B0 p0 + B1 p1 + B2 p2) / (A0 p0 + A1 p1 + A2 p2), p1 = sin^2(w/2), p0 = 1 - p1,
    # p2 = 4 p0 p1: 0 dB at DC, g^2 and a zero slope at w0
    a0_, a1_, a2_ = (1.0 + a1 + a2) ** 2, (1.0 - a1 + a2) ** 2, -4.0 * a2
    p1 = math.sin(w0 / 2.0) ** 2
    p0 = 1.0 - p1
    p2 = 4.0 * p0 * p1
    r1 = (a0_ * p0 + a1_ * p1 + a2_ * p2) * g * g
    r2 = (-a0_ + a1_ + 4.0 * (p0 - p1) * a2_) * g * g
    b0_ = a0_
    b2_ = (r1 - r2 * p1 - b0_) / (4.0 * p1 * p1)
    b1_ = r2 + b0_ + 4.0 * (p1 - p0) * b2_
    s0, s1 = math.sqrt(b0_), math.sqrt(max(b1_, 0.0))
    w = 0.5 * (s0 + s1)
    b0 = 0.5 * (w + math.sqrt(max(w * w + b2_, 0.0)))
    b1 = 0.5 * (s0 - s1)
    b2 = -b2_ / (4.0 * b0)
    return np.array([[b0, b1, b2, 1.0, a1, a2]], dtype=np.float64)


def design_peaking_cookbook_sos(
    center_hz: float, gain_db: float, q: float, *, sample_rate: int
) -> Sos:
    """RBJ cookbook peaking biquad (bilinear, pre-warped at the centre), for comparison.

    ``gain_db`` at ``center_hz``; the half-gain frequencies are ``1 / q`` apart on the warped
    axis ``tan(pi f / fs) / tan(pi center_hz / fs)`` (module docstring), so the bell narrows
    ("cramps") towards Nyquist, where it is forced to 0 dB. Returns one section.
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
