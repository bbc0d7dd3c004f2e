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
from burnish.dsp.dynamics import _LN10_OVER_20, _POWER_FLOOR, Compressor, CompressorParams
from burnish.dsp.filters import (
    design_linkwitz_riley_allpass_sos,
    design_linkwitz_riley_sos,
    sos_response,
)
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
    return CrossoverSections(
        lowpass_sos=design_linkwitz_riley_sos("lowpass", crossover_hz, 4, sample_rate=sample_rate),
        highpass_sos=design_linkwitz_riley_sos(
            "highpass", crossover_hz, 4, sample_rate=sample_rate
        ),
        allpass_sos=design_linkwitz_riley_allpass_sos(crossover_hz, 4, sample_rate=sample_rate),
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


@njit(cache=True, nogil=True)
def _fl(v: float) -> float:  # pragma: no cover - compiled
    return v if abs(v) > _STATE_FLUSH else 0.0


@njit(cache=True, nogil=True, fastmath={"contract"})
def _crossover_stereo(
    lp: npt.NDArray[np.float64],
    ap: npt.NDArray[np.float64],
    comp: npt.NDArray[np.float64],
    r: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    st: npt.NDArray[np.float64],
    position: int,
) -> None:  # pragma: no cover - compiled
    """One LR4 crossover of the tree on a stereo ``r`` (2, n), in one pass.

    ``lp`` and ``ap`` are ``[b0, b1, b2, a1, a2]`` of the 2nd-order Butterworth low-pass (run
    twice: LR4) and of the all-pass; ``high = AP(r) - LP4(r)`` (the Linkwitz-Riley identity
    ``LP4 + HP4 = AP``: three sections instead of four); ``low = LP4(r)`` then the all-passes
    ``comp`` (0-2 rows) of the later crossovers. ``st`` (channels, 10) holds every state; both
    channels run in one loop (twice the instruction-level parallelism of a latency-bound
    recursion). Negligible states are flushed every 64th sample of the stream. The state updates
    are written ``b1 * v + s1 - a1 * y`` (the input product and the state first: one FMA and one
    negated FMA, a third fewer operations than scipy's order; differs in the last bits).
    The all-passes' ``b2`` is 1 exactly (``design_linkwitz_riley_allpass_sos``): their last update
    is ``v - a2 * y`` (one operation less; last-bit changes).
    """
    n = r.shape[1]
    m = comp.shape[0]
    b0, b1, b2, a1, a2 = lp[0], lp[1], lp[2], lp[3], lp[4]
    c0, c1, d1, d2 = ap[0], ap[1], ap[3], ap[4]  # ap[2] (b2) is 1
    e0 = e1 = f1 = f2 = 0.0
    g0 = g1 = h1 = h2 = 0.0
    if m >= 1:
        e0, e1, f1, f2 = comp[0, 0], comp[0, 1], comp[0, 3], comp[0, 4]
    if m >= 2:
        g0, g1, h1, h2 = comp[1, 0], comp[1, 1], comp[1, 3], comp[1, 4]
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 = (
        st[0, 0],
        st[0, 1],
        st[0, 2],
        st[0, 3],
        st[0, 4],
        st[0, 5],
        st[0, 6],
        st[0, 7],
        st[0, 8],
        st[0, 9],
    )
    t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 = (
        st[1, 0],
        st[1, 1],
        st[1, 2],
        st[1, 3],
        st[1, 4],
        st[1, 5],
        st[1, 6],
        st[1, 7],
        st[1, 8],
        st[1, 9],
    )
    # the flush (every 64th sample of the stream) sits between runs of samples, not in the
    # loop body: LLVM would if-convert it into selects executed on every sample
    i0 = 0
    while i0 < n:
        # the next sample after which the states are flushed
        flush_at = i0 + ((-(position + i0)) & 63)
        stop = min(n, flush_at + 1)
        for i in range(i0, stop):
            v = r[0, i]
            u = r[1, i]
            y = b0 * v + s0
            z = b0 * u + t0
            s0 = b1 * v + s1 - a1 * y
            t0 = b1 * u + t1 - a1 * z
            s1 = b2 * v - a2 * y
            t1 = b2 * u - a2 * z
            lo = b0 * y + s2
            lq = b0 * z + t2
            s2 = b1 * y + s3 - a1 * lo
            t2 = b1 * z + t3 - a1 * lq
            s3 = b2 * y - a2 * lo
            t3 = b2 * z - a2 * lq
            a = c0 * v + s4
            aq = c0 * u + t4
            s4 = c1 * v + s5 - d1 * a
            t4 = c1 * u + t5 - d1 * aq
            s5 = v - d2 * a
            t5 = u - d2 * aq
            high[0, i] = a - lo
            high[1, i] = aq - lq
            if m >= 1:
                w = e0 * lo + s6
                wq = e0 * lq + t6
                s6 = e1 * lo + s7 - f1 * w
                t6 = e1 * lq + t7 - f1 * wq
                s7 = lo - f2 * w
                t7 = lq - f2 * wq
                lo = w
                lq = wq
                if m >= 2:
                    w = g0 * lo + s8
                    wq = g0 * lq + t8
                    s8 = g1 * lo + s9 - h1 * w
                    t8 = g1 * lq + t9 - h1 * wq
                    s9 = lo - h2 * w
                    t9 = lq - h2 * wq
                    lo = w
                    lq = wq
            low[0, i] = lo
            low[1, i] = lq
        if flush_at < n:
            s0 = _fl(s0)
            s1 = _fl(s1)
            s2 = _fl(s2)
            s3 = _fl(s3)
            s4 = _fl(s4)
            s5 = _fl(s5)
            s6 = _fl(s6)
            s7 = _fl(s7)
            s8 = _fl(s8)
            s9 = _fl(s9)
            t0 = _fl(t0)
            t1 = _fl(t1)
            t2 = _fl(t2)
            t3 = _fl(t3)
            t4 = _fl(t4)
            t5 = _fl(t5)
            t6 = _fl(t6)
            t7 = _fl(t7)
            t8 = _fl(t8)
            t9 = _fl(t9)
        i0 = stop
    st[0, 0], st[0, 1], st[0, 2], st[0, 3], st[0, 4] = s0, s1, s2, s3, s4
    st[0, 5], st[0, 6], st[0, 7], st[0, 8], st[0, 9] = s5, s6, s7, s8, s9
    st[1, 0], st[1, 1], st[1, 2], st[1, 3], st[1, 4] = t0, t1, t2, t3, t4
    st[1, 5], st[1, 6], st[1, 7], st[1, 8], st[1, 9] = t5, t6, t7, t8, t9


@njit(cache=True, nogil=True, fastmath={"contract"})
def _crossover_mono(
    lp: npt.NDArray[np.float64],
    ap: npt.NDArray[np.float64],
    comp: npt.NDArray[np.float64],
    r: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    st: npt.NDArray[np.float64],
    position: int,
) -> None:  # pragma: no cover - compiled
    """One crossover of the tree, channel by channel (see :func:`_crossover_stereo`)."""
    num_ch, n = r.shape
    m = comp.shape[0]
    b0, b1, b2, a1, a2 = lp[0], lp[1], lp[2], lp[3], lp[4]
    c0, c1, d1, d2 = ap[0], ap[1], ap[3], ap[4]  # ap[2] (b2) is 1
    e0 = e1 = f1 = f2 = 0.0
    g0 = g1 = h1 = h2 = 0.0
    if m >= 1:
        e0, e1, f1, f2 = comp[0, 0], comp[0, 1], comp[0, 3], comp[0, 4]
    if m >= 2:
        g0, g1, h1, h2 = comp[1, 0], comp[1, 1], comp[1, 3], comp[1, 4]
    for c in range(num_ch):
        s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 = (
            st[c, 0],
            st[c, 1],
            st[c, 2],
            st[c, 3],
            st[c, 4],
            st[c, 5],
            st[c, 6],
            st[c, 7],
            st[c, 8],
            st[c, 9],
        )
        for i in range(n):
            v = r[c, i]
            y = b0 * v + s0
            s0 = b1 * v + s1 - a1 * y
            s1 = b2 * v - a2 * y
            lo = b0 * y + s2
            s2 = b1 * y + s3 - a1 * lo
            s3 = b2 * y - a2 * lo
            a = c0 * v + s4
            s4 = c1 * v + s5 - d1 * a
            s5 = v - d2 * a
            high[c, i] = a - lo
            if m >= 1:
                w = e0 * lo + s6
                s6 = e1 * lo + s7 - f1 * w
                s7 = lo - f2 * w
                lo = w
                if m >= 2:
                    w = g0 * lo + s8
                    s8 = g1 * lo + s9 - h1 * w
                    s9 = lo - h2 * w
                    lo = w
            low[c, i] = lo
            if ((position + i) & 63) == 0:
                s0 = _fl(s0)
                s1 = _fl(s1)
                s2 = _fl(s2)
                s3 = _fl(s3)
                s4 = _fl(s4)
                s5 = _fl(s5)
                s6 = _fl(s6)
                s7 = _fl(s7)
                s8 = _fl(s8)
                s9 = _fl(s9)
        st[c, 0], st[c, 1], st[c, 2], st[c, 3], st[c, 4] = s0, s1, s2, s3, s4
        st[c, 5], st[c, 6], st[c, 7], st[c, 8], st[c, 9] = s5, s6, s7, s8, s9


@njit(cache=True, nogil=True)
def _bands_power(
    bands: npt.NDArray[np.float64], power: npt.NDArray[np.float64]
) -> None:  # pragma: no cover - compiled
    """Linked peak detector of every band: ``max(max_c x[k, c]**2, floor)`` into (bands, n).

    The floor is taken with the first channel (a maximum: the same value, one pass less)."""
    nb, num_ch, n = bands.shape
    for k in range(nb):
        dst = power[k]
        src = bands[k, 0]
        for i in range(n):
            v = src[i]
            dst[i] = max(v * v, _POWER_FLOOR)
        for c in range(1, num_ch):
            src = bands[k, c]
            for i in range(n):
                v = src[i]
                p = v * v
                if p > dst[i]:
                    dst[i] = p


@njit(cache=True, nogil=True, inline="always")
def _smooth_step(
    level: float,
    thr: float,
    slope: float,
    half: float,
    att: float,
    rel: float,
    auto: bool,
    slow_att: float,
    slow_rel: float,
    inv_knee: float,
    y1: float,
    y2: float,
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """One sample of a band's gain computer and smoothing: (gain reduction, y1, y2)."""
    over = level - thr
    if over <= -half:
        target = 0.0
    elif over >= half:
        target = -slope * over
    else:
        t = over + half
        target = -slope * t * t * inv_knee
    coef = att if target > y1 else rel
    y1 = target + coef * (y1 - target)
    y1 = y1 if y1 > _STATE_FLUSH else 0.0
    out = y1
    if auto:
        coef2 = slow_att if target > y2 else slow_rel
        y2 = target + coef2 * (y2 - target)
        y2 = y2 if y2 > _STATE_FLUSH else 0.0
        out = max(y1, y2)
    return out, y1, y2


@njit(cache=True, nogil=True)
def _bands_smoothing(
    level_log: npt.NDArray[np.float64],
    settings: npt.NDArray[np.float64],
    env_state: npt.NDArray[np.float64],
    makeup_db: npt.NDArray[np.float64],
    gr_out: npt.NDArray[np.float64],
    exponent_out: npt.NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """The gain computer and smooth-branching smoothing of every band, one call for all.

    ``level_log`` is ``log10`` of the detector power (the level is ``10 * level_log`` dB, the
    multiplication numpy did before); besides the gain reduction ``gr_out`` it writes
    ``exponent_out = (makeup_db[k] - gr) * ln(10) / 20`` (the gain is its ``exp``): the same
    operations as the numpy passes they replace, so the same bits.

    The arithmetic per band is :func:`burnish.dsp.dynamics._smoothing_kernel`'s (the same gain
    reduction to the bit). ``settings`` (bands, 9): threshold, slope, knee / 2, attack, release
    (``release_ms/4`` with auto release), auto release (0/1), slow attack, slow release,
    1 / (2 knee) (0 for a hard knee). Up to four bands run in one loop: four latency-bound
    recursions side by side (with fewer bands the last one is repeated: the same values).
    """
    nb, n = level_log.shape
    ln10_20 = _LN10_OVER_20
    for k0 in range(0, nb, 4):
        k_a = k0
        k_b = min(k0 + 1, nb - 1)
        k_c = min(k0 + 2, nb - 1)
        k_d = min(k0 + 3, nb - 1)
        sa, sb, sc, sd = settings[k_a], settings[k_b], settings[k_c], settings[k_d]
        ta, pa, ha, aa, ra, xa, saa, sra, ia = (
            sa[0],
            sa[1],
            sa[2],
            sa[3],
            sa[4],
            sa[5] != 0.0,
            sa[6],
            sa[7],
            sa[8],
        )
        tb, pb, hb, ab, rb, xb, sab, srb, ib = (
            sb[0],
            sb[1],
            sb[2],
            sb[3],
            sb[4],
            sb[5] != 0.0,
            sb[6],
            sb[7],
            sb[8],
        )
        tc, pc, hc, ac, rc, xc, sac, src_, ic = (
            sc[0],
            sc[1],
            sc[2],
            sc[3],
            sc[4],
            sc[5] != 0.0,
            sc[6],
            sc[7],
            sc[8],
        )
        td, pd, hd, ad, rd, xd, sad, srd, id_ = (
            sd[0],
            sd[1],
            sd[2],
            sd[3],
            sd[4],
            sd[5] != 0.0,
            sd[6],
            sd[7],
            sd[8],
        )
        ya1, ya2 = env_state[k_a, 0], env_state[k_a, 1]
        yb1, yb2 = env_state[k_b, 0], env_state[k_b, 1]
        yc1, yc2 = env_state[k_c, 0], env_state[k_c, 1]
        yd1, yd2 = env_state[k_d, 0], env_state[k_d, 1]
        la, lb, lc, ld = level_log[k_a], level_log[k_b], level_log[k_c], level_log[k_d]
        da, db, dc, dd = gr_out[k_a], gr_out[k_b], gr_out[k_c], gr_out[k_d]
        ea, eb = exponent_out[k_a], exponent_out[k_b]
        ec, ed = exponent_out[k_c], exponent_out[k_d]
        ma, mb, mc, md = makeup_db[k_a], makeup_db[k_b], makeup_db[k_c], makeup_db[k_d]
        for i in range(n):
            oa, ya1, ya2 = _smooth_step(la[i] * 10.0, ta, pa, ha, aa, ra, xa, saa, sra, ia, ya1, ya2)
            ob, yb1, yb2 = _smooth_step(lb[i] * 10.0, tb, pb, hb, ab, rb, xb, sab, srb, ib, yb1, yb2)
            oc, yc1, yc2 = _smooth_step(lc[i] * 10.0, tc, pc, hc, ac, rc, xc, sac, src_, ic, yc1, yc2)
            od, yd1, yd2 = _smooth_step(ld[i] * 10.0, td, pd, hd, ad, rd, xd, sad, srd, id_, yd1, yd2)
            da[i] = oa
            db[i] = ob
            dc[i] = oc
            dd[i] = od
            ea[i] = (ma - oa) * ln10_20
            eb[i] = (mb - ob) * ln10_20
            ec[i] = (mc - oc) * ln10_20
            ed[i] = (md - od) * ln10_20
        env_state[k_d, 0], env_state[k_d, 1] = yd1, yd2
        env_state[k_c, 0], env_state[k_c, 1] = yc1, yc2
        env_state[k_b, 0], env_state[k_b, 1] = yb1, yb2
        env_state[k_a, 0], env_state[k_a, 1] = ya1, ya2


@njit(cache=True, nogil=True)
def _bands_mix(
    bands: npt.NDArray[np.float64],
    gains: npt.NDArray[np.float64],
    audible: npt.NDArray[np.bool_],
    out: npt.NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """``out = sum_k band_k * gain_k`` over the audible bands, lowest band first (the order of
    the per-band sum, so the same bits)."""
    nb, num_ch, n = bands.shape
    for c in range(num_ch):
        dst = out[c]
        first = True
        for k in range(nb):
            if audible[k]:
                src = bands[k, c]
                g = gains[k]
                if first:  # 0.0 + product, as the sum from zero gave
                    for i in range(n):
                        dst[i] = 0.0 + src[i] * g[i]
                    first = False
                else:
                    for i in range(n):
                        dst[i] += src[i] * g[i]
        if first:
            for i in range(n):
                dst[i] = 0.0


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
        # split k: low part -> LP_k then the all-passes of every later crossover; high part ->
        # HP_k = AP_k - LP_k. Coefficients as [b0, b1, b2, a1, a2].
        cols = [0, 1, 2, 4, 5]
        self._lp = np.ascontiguousarray([d.lowpass_sos[0, cols] for d in designs])
        self._ap = np.ascontiguousarray([d.allpass_sos[0, cols] for d in designs])
        self._kernel = _crossover_stereo if c == 2 else _crossover_mono
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
        # the fused path: every band a linked peak compressor without look-ahead, side-chain
        # filter or dry mix (the defaults), so the bands' detectors, gain computers and the sum
        # run as three kernels over all bands instead of about ten numpy passes per band
        self._fused = self._latency == 0 and all(
            bp.detector == "peak"
            and bp.sidechain_highpass_hz == 0.0
            and bp.mix == 1.0
            and (bp.stereo_mode == "linked" or c == 1)
            for bp in params.bands
        )
        self._settings = np.zeros((nb, 9))
        for k, (bp, comp) in enumerate(zip(params.bands, self._compressors, strict=True)):
            co = comp._coef
            self._settings[k] = (
                bp.threshold_db,
                1.0 / bp.ratio - 1.0,
                0.5 * bp.knee_db,
                co.attack,
                co.fast_release if bp.auto_release else co.release,
                1.0 if bp.auto_release else 0.0,
                co.slow_attack,
                co.slow_release,
                0.5 / bp.knee_db if bp.knee_db > 0.0 else 0.0,
            )
        self._makeup_db = np.array([[bp.makeup_gain_db] for bp in params.bands])
        self._makeup_flat = np.ascontiguousarray(self._makeup_db[:, 0])
        self._audible_flags = np.array(self._audible, dtype=np.bool_)
        self._compressed = np.array([not b for b in self._bypass], dtype=np.bool_)
        self.reset()

    @property
    def latency_samples(self) -> int:
        """The largest band look-ahead, in samples (every band is aligned to it)."""
        return self._latency

    def reset(self) -> None:
        """Clear filter, compressor and delay state."""
        self._xo_state = np.zeros((len(self.params.crossover_hz), self.num_channels, 10))
        self._position = 0
        for comp in self._compressors:
            comp.reset()
        self._delays = [np.zeros((self.num_channels, d)) for d in self._extra]
        self._gr_delays = [np.zeros(d) for d in self._extra]
        self._env_state = np.zeros((self.params.num_bands, 2))
        self._last_gr = np.zeros((self.params.num_bands, 0))

    def gain_reduction_db(self) -> npt.NDArray[np.float64]:
        """Gain reduction (positive dB) per band and output sample of the last block."""
        return self._last_gr.copy()

    def split(self, block: AudioArray) -> list[npt.NDArray[np.float64]]:
        """The bands of ``block`` (float64), lowest first; advances the crossover state."""
        return list(self._split(np.ascontiguousarray(block, dtype=np.float64)))

    def _split(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        num_x = self._lp.shape[0]
        bands = np.empty((num_x + 1, *x.shape))
        rest = x
        for k in range(num_x):
            self._kernel(
                self._lp[k],
                self._ap[k],
                self._ap[k + 1 :],
                rest,
                bands[k],
                bands[k + 1],
                self._xo_state[k],
                self._position,
            )
            rest = bands[k + 1]
        self._position = (self._position + x.shape[1]) & 63
        return bands

    def process(self, block: AudioArray) -> AudioArray:
        """Split, compress each band, sum; same shape and dtype out."""
        return self._process_unchecked(
            check_audio(block, num_channels=self.num_channels, name="block")
        )

    def _process_unchecked(self, x: AudioArray) -> AudioArray:
        """:meth:`process` for a block that already meets the contract (from a chain)."""
        n = x.shape[1]
        bands = self._split(np.ascontiguousarray(x, dtype=np.float64))
        if self._fused:
            return self._process_fused(bands, x.dtype)
        out = np.zeros((self.num_channels, n))
        gr = np.zeros((self.params.num_bands, n))
        for k, band in enumerate(bands):
            y: npt.NDArray[np.float64] = band
            if not self._bypass[k]:
                y, band_gr = self._compressors[k].process_float64(band)
                gr[k] = band_gr[0] if band_gr.shape[0] == 1 else band_gr.max(axis=0)
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

    def _process_fused(self, bands: npt.NDArray[np.float64], dtype: np.dtype) -> AudioArray:
        """All bands at once (see ``_fused``); the same arithmetic as the per-band path."""
        nb, num_ch, n = bands.shape
        level_log = np.empty((nb, n))
        _bands_power(bands, level_log)
        np.log10(level_log, out=level_log)  # numpy's SIMD log10, one call for every band
        gr = np.empty((nb, n))
        gains = level_log  # the kernel reads each level before it writes that exponent
        _bands_smoothing(level_log, self._settings, self._env_state, self._makeup_flat, gr, gains)
        gr[~self._compressed] = 0.0
        np.exp(gains, out=gains)
        gains[~self._compressed] = 1.0  # bypassed bands pass unchanged (x * 1.0 is exact)
        out = np.empty((num_ch, n))
        _bands_mix(bands, gains, self._audible_flags, out)
        self._last_gr = gr
        return np.asarray(out, dtype=dtype)


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
