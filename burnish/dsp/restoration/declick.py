"""Declick: AR-residual click detection and least-squares AR interpolation (docs/restoration.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from burnish.dsp.base import check_range, register_processor
from burnish.dsp.restoration.common import (
    Array,
    _ar_solve_var,
    _HopProcessor,
    _levinson,
    _masked_autocorr,
)

# --------------------------------------------------------------------------------------------
# declick


@dataclass(frozen=True, slots=True)
class DeclickParams:
    """Click removal.

    ``sensitivity`` in [0.1, 10] divides the detection threshold (2.0 finds clicks half as
    prominent); ``max_click_ms`` in [0.05, 5] is the longest run repaired (longer disturbances
    are taken for musical transients); ``ar_order`` in [8, 64] is the linear-prediction order of
    the interpolation.
    """

    sensitivity: float = 1.0
    max_click_ms: float = 2.0
    ar_order: int = 32

    def __post_init__(self) -> None:
        check_range("sensitivity", self.sensitivity, 0.1, 10.0)
        check_range("max_click_ms", self.max_click_ms, 0.05, 5.0)
        check_range("ar_order", self.ar_order, 8, 64)


#: Candidates: a sample is a candidate click sample when both residuals exceed this many robust
#: sigmas on both channels of a stereo pair (the other channel may peak one sample off)...
DECLICK_THRESHOLD_BOTH = 2.5
#: ...or this many on one channel of a stereo pair alone...
DECLICK_THRESHOLD = 6.0
#: ...or this many in mono. Candidates are only proposals: each run is confirmed (or not) by the
#: local model in :func:`_repair_run`.
DECLICK_THRESHOLD_MONO = 3.5
#: AR order of the detector's predictor.
DECLICK_DETECT_ORDER = 20
#: Sub-block of the robust level (samples).
DECLICK_SUB_SAMPLES = 256
#: Samples of context on each side for the interpolation's AR estimate.
DECLICK_CONTEXT_SAMPLES = 384
#: A candidate run's edge sample is kept as it is (the run shrinks) when its click estimate
#: ``y - x_hat`` lies within this many posterior standard deviations on every channel.
DECLICK_EDGE_SIGMAS = 2.5
#: The confirmation's prediction-error variance is at most this many times the empirical one.
DECLICK_S2_CAP = 2.0
#: Screen before shrinking: a candidate run whose whole-run statistic is below this fraction of
#: the confirmation threshold is rejected at once.
DECLICK_SCREEN = 0.5
#: Confirmation: the click estimate's chi-square against its posterior covariance, per sample
#: of the run, must exceed this squared (stereo)...
DECLICK_CONFIRM_SIGMAS = 6.0
#: ...or this squared (mono, where no second channel helps).
DECLICK_CONFIRM_SIGMAS_MONO = 5.0
#: Stereo: the click is taken as common to both channels when the misfit of that hypothesis
#: (a chi-square with run-length degrees of freedom if it holds) is below this many times
#: (run length + 1).
DECLICK_COMMON_CHI2 = 3.0
#: Samples of residual before and after a run compared for a level jump (an onset).
DECLICK_JUMP_SAMPLES = 128
#: A level jump of the residual across the run up to this many dB costs nothing; beyond it the
#: confirmation threshold rises with the jump's amplitude ratio.
DECLICK_JUMP_FREE_DB = 2.0
#: Floor of either level, relative to the model's prediction-error sigma.
DECLICK_JUMP_FLOOR = 0.25
#: Stereo events significant on both channels but not one common click (music with its own
#: stereo image, e.g. a polarity-inverted channel): confirmation threshold times this.
DECLICK_BOTH_FACTOR = 2.0
#: Runs longer than ``DECLICK_LONG_RUN`` samples must stand out further: the confirmation
#: threshold rises by this fraction per sample beyond it. Clicks are 1-5 samples; a limiter's
#: fast gain change on a transient passed as 10- and 7-sample common clicks (statistic 8.7
#: against 8.6) and changed a clean brick-walled master by -49 dB. With the rise that file is
#: untouched, and every click case of the 64-material sweep repairs exactly as before.
DECLICK_LONG_RUN = 6
DECLICK_LONG_RUN_RISE = 0.05


#: Stereo common clicks are finally estimated with a two-channel (vector) AR model of this order,
#: fitted by least squares (the covariance method) on the run's context, whose prediction errors
#: are weighted by their inverse covariance: music's channels share much of what a single-channel
#: model cannot predict.
DECLICK_VAR_ORDER = 24
#: Samples of context on each side for those models' fit.
DECLICK_VAR_CONTEXT = 384
#: Mono: the click is finally estimated with a least-squares AR model of this order.
DECLICK_MONO_ORDER = 32
#: The stereo model decides the click's extent within the run the single-channel models found,
#: grown by this many samples each side (within the candidate run).
DECLICK_VAR_PAD = 1
#: Its edge rule: the run shrinks while the edge sample's click estimate lies within this many
#: posterior sigmas of the stereo (mono) model.
DECLICK_VAR_EDGE_SIGMAS = 2.5
#: Ridge on the vector AR's normal equations, relative to their mean diagonal.
DECLICK_VAR_RIDGE = 1e-6


@njit(cache=True, nogil=True)
def _var_error(y: Array, phi: Array, n: int, out: Array) -> None:  # pragma: no cover
    """The (vector) AR model's prediction error at sample ``n`` into ``out`` (one per channel):
    ``out[c] = sum_k sum_j phi[k, c, j] y[j, n - k]``, ``phi[0]`` the identity."""
    c_n = y.shape[0]
    for c in range(c_n):
        acc = 0.0
        for k in range(phi.shape[0]):
            for j in range(c_n):
                acc += phi[k, c, j] * y[j, n - k]
        out[c] = acc


@njit(cache=True, nogil=True)
def _var_fit(y: Array, lo: int, gs: int, ge: int, hi: int, p: int) -> tuple[Array, Array, bool]:  # pragma: no cover
    """AR(``p``) of all channels of ``y`` together (a vector AR in stereo), by least squares on
    ``y[:, lo:gs]`` and ``y[:, ge:hi]`` (the run excluded): ``x[n] = sum_k B_k x[n - k] + e[n]``.
    Returns the polynomial ``phi`` (``phi[0] = I``, ``phi[k] = -B_k``; shape (p + 1, C, C)), the
    inverse covariance of ``e`` and whether the fit succeeded."""
    c_n = y.shape[0]
    q = c_n * p
    mat = np.zeros((q, q))
    rhs = np.zeros((q, c_n))
    rows = 0
    # the normal equations of the lagged data, sum_n y_c[n-1-k] y_j[n-1-l] over each side's
    # rows n in [s0, s1): the first lag row and column by dot products, the rest along the
    # diagonals, (k+1, l+1) = (k, l) + y_c[s0-2-k] y_j[s0-2-l] - y_c[s1-2-k] y_j[s1-2-l]
    seg = np.zeros((p, p))
    for side in range(2):
        s0 = lo + p if side == 0 else ge + p
        s1 = gs if side == 0 else hi
        if s1 <= s0:
            continue
        rows += s1 - s0
        for c in range(c_n):
            for j in range(c_n):
                for m in range(p):
                    a0 = 0.0
                    a1 = 0.0
                    for n in range(s0, s1):
                        a0 += y[c, n - 1] * y[j, n - 1 - m]
                        a1 += y[c, n - 1 - m] * y[j, n - 1]
                    seg[0, m] = a0
                    seg[m, 0] = a1
                for k in range(p - 1):
                    for m in range(p - 1):
                        seg[k + 1, m + 1] = (seg[k, m] + y[c, s0 - 2 - k] * y[j, s0 - 2 - m]
                                             - y[c, s1 - 2 - k] * y[j, s1 - 2 - m])
                for k in range(p):
                    for m in range(p):
                        mat[c * p + k, j * p + m] += seg[k, m]
                for k in range(p):
                    acc = 0.0
                    for n in range(s0, s1):
                        acc += y[c, n - 1 - k] * y[j, n]
                    rhs[c * p + k, j] += acc
    phi = np.zeros((p + 1, c_n, c_n))
    winv = np.zeros((c_n, c_n))
    if rows < 2 * q:
        return phi, winv, False
    tr = 0.0
    for i in range(q):
        for j in range(i):
            mat[i, j] = 0.5 * (mat[i, j] + mat[j, i])
            mat[j, i] = mat[i, j]
        tr += mat[i, i]
    if tr <= 0.0:
        return phi, winv, False
    for i in range(q):
        mat[i, i] += DECLICK_VAR_RIDGE * tr / q
    coef = np.linalg.solve(mat, rhs)  # (q, C): column c predicts channel c
    for c in range(c_n):
        phi[0, c, c] = 1.0
    for k in range(p):
        for c in range(c_n):
            for j in range(c_n):
                phi[k + 1, c, j] = -coef[j * p + k, c]
    # innovation covariance from the fit's residuals
    cov = np.zeros((c_n, c_n))
    e = np.zeros(c_n)
    for side in range(2):
        s0 = lo + p if side == 0 else ge + p
        s1 = gs if side == 0 else hi
        for n in range(s0, s1):
            _var_error(y, phi, n, e)
            for c in range(c_n):
                for j in range(c_n):
                    cov[c, j] += e[c] * e[j]
    tr = 0.0
    for c in range(c_n):
        tr += cov[c, c]
    if tr <= 0.0:
        return phi, winv, False
    for c in range(c_n):
        for j in range(c_n):
            cov[c, j] /= rows
        cov[c, c] += 1e-6 * tr / rows  # keeps nearly identical channels invertible
    winv = np.asarray(np.linalg.inv(cov), dtype=np.float64)
    return phi, winv, True


@njit(cache=True, nogil=True)
def _var_common(
    y: Array, phi: Array, winv: Array, a_lo: int, a_hi: int
) -> tuple[Array, Array]:  # pragma: no cover - compiled
    """The click common to all channels of ``y[:, a_lo:a_hi]`` under the (vector) AR model:
    minimises ``sum_n e[n]^T W e[n]`` over the prediction errors ``e`` of ``y - c`` (``c`` on
    every channel). Returns ``c`` and its posterior variances (the diagonal of ``H^-1``)."""
    p = phi.shape[0] - 1
    c_n = phi.shape[1]
    nu = a_hi - a_lo
    # v[k] = phi[k] @ (1, ..., 1): how the common click at lag k enters the error; wv = W v
    v = np.zeros((p + 1, c_n))
    for k in range(p + 1):
        for c in range(c_n):
            for j in range(c_n):
                v[k, c] += phi[k, c, j]
    wv = np.zeros((p + 1, c_n))
    for k in range(p + 1):
        for c in range(c_n):
            for j in range(c_n):
                wv[k, c] += winv[c, j] * v[k, j]
    mat = np.zeros((nu, nu))
    for i in range(nu):
        for j in range(i, nu):
            # sum over n of v[n - a_lo - i]^T W v[n - a_lo - j]
            s = 0.0
            for k in range(j - i, p + 1):
                for c in range(c_n):
                    s += wv[k, c] * v[k - (j - i), c]
            mat[i, j] = s
            mat[j, i] = s
    tr = 0.0
    for i in range(nu):
        tr += mat[i, i]
    for i in range(nu):
        mat[i, i] += 1e-9 * tr / nu
    b = np.zeros(nu)
    r = np.zeros(c_n)
    for n in range(a_lo, a_hi + p):
        _var_error(y, phi, n, r)
        for i in range(nu):
            k = n - a_lo - i
            if 0 <= k <= p:
                for c in range(c_n):
                    b[i] += wv[k, c] * r[c]
    inv = np.asarray(np.linalg.inv(mat), dtype=np.float64)
    click = np.asarray(inv @ b, dtype=np.float64)
    var = np.zeros(nu)
    for i in range(nu):
        var[i] = inv[i, i]
    return click, var


@njit(cache=True, nogil=True)
def _var_estimate(y: Array, n: int, gs: int, ge: int, a_lo: int, a_hi: int, p: int) -> bool:  # pragma: no cover
    """The final estimate: fit the order-``p`` (vector) AR model on the context of the run
    ``[gs, ge)`` and repair the click within ``[a_lo, a_hi)`` +- ``DECLICK_VAR_PAD``; False
    (nothing changed) when the context is too short or the fit fails."""
    lo = max(0, gs - DECLICK_VAR_CONTEXT)
    hi = min(n, ge + DECLICK_VAR_CONTEXT)
    if gs - lo < 2 * p or hi - ge < 2 * p:
        return False
    phi, winv, ok = _var_fit(y, lo, gs, ge, hi, p)
    if not ok:
        return False
    _var_repair(y, phi, winv, max(gs, a_lo - DECLICK_VAR_PAD), min(ge, a_hi + DECLICK_VAR_PAD))
    return True


@njit(cache=True, nogil=True)
def _var_repair(y: Array, phi: Array, winv: Array, gs: int, ge: int) -> None:  # pragma: no cover
    """Subtract the click common to all channels of ``y[:, gs:ge]``, estimated with the (vector)
    AR model, over the extent the model finds damaged: the run shrinks from its edges while the
    edge sample's estimate lies within ``DECLICK_VAR_EDGE_SIGMAS`` posterior sigmas, then grows
    back by a sample that stands out once the run is shorter."""
    a_lo = gs
    a_hi = ge
    while a_hi > a_lo:
        c, var = _var_common(y, phi, winv, a_lo, a_hi)
        nu = a_hi - a_lo
        z_first = abs(c[0]) / np.sqrt(var[0])
        z_last = abs(c[nu - 1]) / np.sqrt(var[nu - 1])
        if z_first < DECLICK_VAR_EDGE_SIGMAS and z_first <= z_last:
            a_lo += 1
        elif z_last < DECLICK_VAR_EDGE_SIGMAS:
            a_hi -= 1
        else:
            break
    if a_hi == a_lo:
        return
    while a_lo > gs:
        c, var = _var_common(y, phi, winv, a_lo - 1, a_hi)
        if abs(c[0]) / np.sqrt(var[0]) < DECLICK_VAR_EDGE_SIGMAS:
            break
        a_lo -= 1
    while a_hi < ge:
        c, var = _var_common(y, phi, winv, a_lo, a_hi + 1)
        nu = a_hi + 1 - a_lo
        if abs(c[nu - 1]) / np.sqrt(var[nu - 1]) < DECLICK_VAR_EDGE_SIGMAS:
            break
        a_hi += 1
    c, var = _var_common(y, phi, winv, a_lo, a_hi)
    for ch in range(y.shape[0]):
        for k in range(a_hi - a_lo):
            y[ch, a_lo + k] -= c[k]


@njit(cache=True, nogil=True)
def _residual_level(y: Array, a: Array, i0: int, i1: int) -> float:  # pragma: no cover
    """Median absolute forward prediction error of ``y[i0:i1]`` (needs ``len(a) - 1`` before)."""
    p = a.shape[0] - 1
    e = np.zeros(i1 - i0)
    for i in range(i0, i1):
        s = 0.0
        for k in range(p + 1):
            s += a[k] * y[i - k]
        e[i - i0] = abs(s)
    return float(np.median(e))


@njit(cache=True, nogil=True)
def _edge_z(zs: Array, k: int) -> float:  # pragma: no cover - compiled
    """Evidence that sample ``k`` of a run is damaged: the largest standardised click estimate
    over the channels. (Their root mean square, which favours clicks common to both channels,
    helped on dull01 (+16.2 -> +19.1 dB) but lost album_03 and defect_g; edge thresholds 1.5 and
    2.0 changed little.)"""
    m = 0.0
    for c in range(zs.shape[0]):
        m = max(m, zs[c, k])
    return m


@njit(cache=True, nogil=True)
def _solve_run(
    y: Array, models: Array, s2: Array, se: Array, a_lo: int, a_hi: int, p: int,
    sols: Array, zs: Array, mats: Array,
) -> None:  # pragma: no cover - compiled
    """Interpolate ``y[:, a_lo:a_hi]`` per channel: solutions, standardised click estimates
    ``|y - x_hat| / posterior sigma`` (with the prediction-error variance ``se``) and the
    posterior precision matrices (with ``s2``), into the arrays."""
    c_n = y.shape[0]
    nu = a_hi - a_lo
    for c in range(c_n):
        seg = y[c, a_lo - p : a_hi + p].copy()
        sol, mat, inv = _ar_solve_var(seg, p, nu, models[c])
        for k in range(nu):
            sols[c, k] = sol[k]
            zs[c, k] = abs(y[c, a_lo + k] - sol[k]) / np.sqrt(se[c] * inv[k, k])
            for kk in range(nu):
                mats[c, k, kk] = mat[k, kk] / s2[c]


@njit(cache=True, nogil=True)
def _repair_run(
    y: Array, gs: int, ge: int, order: int, context: int, confirm: float
) -> int:  # pragma: no cover - compiled
    """Interpolate the candidate run ``y[:, gs:ge]`` where the local AR model says it is a click.

    Per channel an AR model is fitted on ``context`` samples each side of the run (the run
    excluded); the run's least-squares interpolation ``x_hat`` has the posterior covariance
    ``s2 (A_u^T A_u)^-1`` (``s2`` the prediction-error variance), and ``d = y - x_hat`` is the
    click estimate. Edge samples whose ``d`` lies within ``DECLICK_EDGE_SIGMAS`` posterior
    sigmas on every channel are left as they are (the run shrinks to the click's extent). Stereo:
    if one click common to both channels fits (misfit below ``DECLICK_COMMON_CHI2``), it is
    estimated from both channels together (precision-weighted); otherwise each channel is
    judged on its own. Either way only if the chi-square of the click estimate per sample of
    the run exceeds ``confirm`` squared (raised where the residual level jumps across the run:
    an onset). A confirmed common (or mono) click is then estimated again, and its extent
    decided, with a least-squares stereo (mono) AR model of the context (:func:`_var_fit`),
    and subtracted. Returns 1 if anything was repaired.
    """
    c_n, n = y.shape
    lo = max(0, gs - context)
    hi = min(n, ge + context)
    p = min(order, (hi - lo - (ge - gs)) // 4)
    if p < 2 or gs - lo < p or hi - ge < p:
        return 0
    missing = np.zeros(n, dtype=np.bool_)
    missing[gs:ge] = True
    # per channel: the model, its prediction-error variance from the (lag-windowed)
    # autocorrelation, s2, and the mean square of its actual prediction error around the run,
    # se. The lag window smooths the spectrum, so on tonal music s2 is far above se (a pure low
    # note: 1000x); the run's extent is decided with the honest se (else the small tail of a
    # click hides in the posterior), the confirmation with s2 capped at 2 se (the thresholds
    # were set with s2; uncapped, clicks of 0.01-0.1 on a synthetic bass went unrepaired)
    models = np.zeros((c_n, p + 1))
    s2 = np.zeros(c_n)
    se = np.zeros(c_n)
    for c in range(c_n):
        r = _masked_autocorr(y[c], lo, hi, missing, p)
        a = _levinson(r, p)
        e = 0.0
        for k in range(p + 1):
            e += a[k] * r[k]
        models[c] = a
        s2[c] = max(e, 1e-30)
    for c in range(c_n):
        a = models[c]
        acc = 0.0
        cnt = 0
        for i in range(lo + p, hi):
            if gs <= i < ge + p:
                continue
            v = 0.0
            for k in range(p + 1):
                v += a[k] * y[c, i - k]
            acc += v * v
            cnt += 1
        se[c] = max(acc / max(cnt, 1), 1e-30)
        # cap the lag window's inflation of s2 (a pure low note: 1000x se), so a small click
        # on very predictable music is still seen
        s2[c] = min(s2[c], DECLICK_S2_CAP * se[c])
    m = ge - gs
    sols = np.zeros((c_n, m))
    zs = np.zeros((c_n, m))
    mats = np.zeros((c_n, m, m))
    # screen: the whole candidate run's confirmation statistic (common click or best channel),
    # before the work of shrinking it. Shrinking drops samples that add little to the
    # chi-square, so it raises the statistic per sample by at most sqrt(m / nu); candidates far
    # below the threshold (most candidates in dense music) stop here
    _solve_run(y, models, s2, s2, gs, ge, p, sols, zs, mats)
    best = 0.0
    for c in range(c_n):
        dc = np.zeros(m)
        for k in range(m):
            dc[k] = y[c, gs + k] - sols[c, k]
        mc = np.ascontiguousarray(mats[c])
        best = max(best, float(dc @ (mc @ dc)))
    if c_n == 2:
        d2 = np.zeros((2, m))
        for c in range(2):
            for k in range(m):
                d2[c, k] = y[c, gs + k] - sols[c, k]
        m0 = np.ascontiguousarray(mats[0])
        m1 = np.ascontiguousarray(mats[1])
        common = np.linalg.solve(m0 + m1, m0 @ d2[0] + m1 @ d2[1])
        best = max(best, float(common @ ((m0 + m1) @ common)))
    if best < (DECLICK_SCREEN * confirm) ** 2 * m:
        return 0
    # shrink the run to the samples the model does not explain, then let it grow back by a
    # sample whose estimate stands out once the run is shorter (a shorter gap is interpolated
    # more tightly: the small tail of a click hides in a long gap's posterior)
    a_lo = gs
    a_hi = ge
    while a_hi > a_lo:
        _solve_run(y, models, s2, se, a_lo, a_hi, p, sols, zs, mats)
        nu = a_hi - a_lo
        z_first = _edge_z(zs, 0)
        z_last = _edge_z(zs, nu - 1)
        if z_first < DECLICK_EDGE_SIGMAS and z_first <= z_last:
            a_lo += 1
        elif z_last < DECLICK_EDGE_SIGMAS:
            a_hi -= 1
        else:
            break
    if a_hi == a_lo:
        return 0
    while a_lo > gs:
        _solve_run(y, models, s2, se, a_lo - 1, a_hi, p, sols, zs, mats)
        if _edge_z(zs, 0) < DECLICK_EDGE_SIGMAS:
            break
        a_lo -= 1
    while a_hi < ge:
        _solve_run(y, models, s2, se, a_lo, a_hi + 1, p, sols, zs, mats)
        if _edge_z(zs, a_hi - a_lo) < DECLICK_EDGE_SIGMAS:
            break
        a_hi += 1
    _solve_run(y, models, s2, se, a_lo, a_hi, p, sols, zs, mats)
    nu = a_hi - a_lo
    if nu == 0:
        return 0
    # a level jump of the residual across the run (mean over channels): an onset or a note's
    # end, where the music itself is unpredictable for a few samples
    b0 = max(lo + p, a_lo - 16 - DECLICK_JUMP_SAMPLES)
    b1 = a_lo - 16
    f0 = a_hi + p
    f1 = min(hi, f0 + DECLICK_JUMP_SAMPLES)
    jump_db = 0.0
    if b1 - b0 >= 16 and f1 - f0 >= 16:
        for c in range(c_n):
            # floored at a quarter of the model's error sigma: on very predictable music (a pure
            # low note) the residual is numerical noise whose level means nothing
            floor = DECLICK_JUMP_FLOOR * np.sqrt(s2[c])
            before = max(_residual_level(y[c], models[c], b0, b1), floor)
            after = max(_residual_level(y[c], models[c], f0, f1), floor)
            jump_db += 20.0 * np.log10(after / before) / c_n
    thr = confirm * 10.0 ** (max(0.0, abs(jump_db) - DECLICK_JUMP_FREE_DB) / 20.0)
    thr *= 1.0 + DECLICK_LONG_RUN_RISE * max(0, nu - DECLICK_LONG_RUN)
    d = np.zeros((c_n, nu))
    for c in range(c_n):
        for k in range(nu):
            d[c, k] = y[c, a_lo + k] - sols[c, k]
    if c_n == 2:
        # one click common to both channels? Its estimate from both channels' interpolations
        # weighted by their posterior precisions, and the misfit of that hypothesis
        m0 = np.ascontiguousarray(mats[0, :nu, :nu])
        m1 = np.ascontiguousarray(mats[1, :nu, :nu])
        ms = m0 + m1
        common = np.linalg.solve(ms, m0 @ d[0] + m1 @ d[1])
        d0 = d[0] - common
        d1 = d[1] - common
        misfit = d0 @ (m0 @ d0) + d1 @ (m1 @ d1)
        if misfit < DECLICK_COMMON_CHI2 * (nu + 1):
            if common @ (ms @ common) < thr * thr * nu:
                return 0
            if _var_estimate(y, n, gs, ge, a_lo, a_hi, DECLICK_VAR_ORDER):
                return 1
            for c in range(2):
                for k in range(nu):
                    y[c, a_lo + k] -= common[k]
            return 1
    # separate clicks per channel; if every channel is significant but the click is not common,
    # it is more likely music with its own stereo image, so it must stand out further
    chi = np.zeros(c_n)
    significant = 0
    for c in range(c_n):
        mc = np.ascontiguousarray(mats[c, :nu, :nu])
        chi[c] = d[c] @ (mc @ d[c]) / nu
        if chi[c] >= thr * thr:
            significant += 1
    if c_n > 1 and significant == c_n:
        thr *= DECLICK_BOTH_FACTOR
    if c_n == 1 and chi[0] >= thr * thr and _var_estimate(y, n, gs, ge, a_lo, a_hi, DECLICK_MONO_ORDER):
        return 1
    done = 0
    for c in range(c_n):
        if chi[c] < thr * thr:
            continue
        for k in range(nu):
            y[c, a_lo + k] = sols[c, k]
        done = 1
    return done


@njit(cache=True, nogil=True)
def _declick_hop(
    y: Array,
    hist: int,
    hop: int,
    order: int,
    threshold: float,
    threshold_both: float,
    threshold_mono: float,
    confirm: float,
    confirm_mono: float,
    max_len: int,
    sub: int,
    context: int,
    first_valid: int,
) -> int:  # pragma: no cover - compiled
    """Detect clicks starting in ``y[:, hist:hist+hop]`` and repair them in place.

    ``first_valid`` is the first index holding real input (earlier samples are the silent
    history before the stream). Returns the number of repaired runs.
    """
    c_n, n = y.shape
    pd = DECLICK_DETECT_ORDER
    flags = np.zeros(n, dtype=np.bool_)
    score = np.zeros((c_n, n))
    lo = max(first_valid, 0)
    if n - lo < 4 * pd:
        return 0
    nomiss = np.zeros(n, dtype=np.bool_)
    for c in range(c_n):
        x = y[c]
        r = _masked_autocorr(x, lo, n, nomiss, pd)
        if r[0] <= 0.0:
            continue
        a = _levinson(r, pd)
        ef = np.zeros(n)
        eb = np.zeros(n)
        for i in range(lo + pd, n):
            s = 0.0
            for j in range(pd + 1):
                s += a[j] * x[i - j]
            ef[i] = s
        for i in range(lo, n - pd):
            s = 0.0
            for j in range(pd + 1):
                s += a[j] * x[i + j]
            eb[i] = s
        nb = (n + sub - 1) // sub
        med = np.zeros(nb)
        for k in range(nb):
            p0 = max(k * sub, lo + pd)
            p1 = min((k + 1) * sub, n - pd)
            if p1 - p0 < 16:
                med[k] = -1.0
                continue
            med[k] = np.median(np.abs(ef[p0:p1]))
        for i in range(max(hist, lo + pd), n - pd):
            k = i // sub
            lev = med[k]
            if k > 0:
                lev = max(lev, med[k - 1])
            if k + 1 < nb:
                lev = max(lev, med[k + 1])
            if lev <= 0.0:
                continue
            lev = lev / 0.6745
            score[c, i] = min(abs(ef[i]), abs(eb[i])) / lev
    for i in range(hist, n):
        if c_n == 2:
            # a click on both channels (the other channel may peak one sample off), or far out
            # on one channel alone
            b = score[1, i]
            if i > 0:
                b = max(b, score[1, i - 1])
            if i + 1 < n:
                b = max(b, score[1, i + 1])
            hit_both = score[0, i] > threshold_both and b > threshold_both
            flags[i] = hit_both or max(score[0, i], score[1, i]) > threshold
        else:
            flags[i] = score[0, i] > threshold_mono
    # candidate runs, repaired strongest first: a weak candidate beside a strong click (the
    # click's residual spreads over the predictor's length) would otherwise be judged with the
    # unrepaired click in its context, and "repaired" into a false one
    starts = np.zeros(hop, dtype=np.int64)
    ends = np.zeros(hop, dtype=np.int64)
    strength = np.zeros(hop)
    runs = 0
    i = hist
    while i < hist + hop:
        if not flags[i]:
            i += 1
            continue
        j = i
        k = i + 1
        while k < n and k < i + max_len + 3:  # merge flags up to 2 samples apart
            if flags[k]:
                j = k
            elif k - j > 2:
                break
            k += 1
        gs = i - 1 if i > hist else i
        ge = j + 2
        if ge - gs <= max_len + 2:
            starts[runs] = gs
            ends[runs] = ge
            for q in range(i, j + 1):
                for c in range(c_n):
                    strength[runs] = max(strength[runs], score[c, q])
            runs += 1
        i = j + 1
    repaired = 0
    for r in np.argsort(-strength[:runs], kind="mergesort"):
        repaired += _repair_run(
            y, starts[r], ends[r], order, context, confirm_mono if c_n == 1 else confirm
        )
    return repaired


@register_processor
class Declicker(_HopProcessor):
    """Detect and interpolate clicks (see :class:`DeclickParams`). Latency: 5120 samples."""

    kind: ClassVar[str] = "declick"
    params_type: ClassVar[type] = DeclickParams
    params: DeclickParams

    HISTORY = 512
    HOP = 4096
    LOOKAHEAD = 1024

    def __init__(self, params: DeclickParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self._max_len = max(1, int(round(params.max_click_ms * 1e-3 * self.sample_rate)))
        self.clicks_repaired = 0
        self._setup_framing(history=self.HISTORY, hop=self.HOP, lookahead=self.LOOKAHEAD)

    def _reset_state(self) -> None:
        self.clicks_repaired = 0

    def _process_hop(self, x_in: Array, x_out: Array) -> Array:
        first_valid = self._history - self._hop_index * self._hop
        y = np.ascontiguousarray(x_out)
        self.clicks_repaired += _declick_hop(
            y, self._history, self._hop, self.params.ar_order,
            DECLICK_THRESHOLD / self.params.sensitivity,
            DECLICK_THRESHOLD_BOTH / self.params.sensitivity,
            DECLICK_THRESHOLD_MONO / self.params.sensitivity,
            DECLICK_CONFIRM_SIGMAS / self.params.sensitivity,
            DECLICK_CONFIRM_SIGMAS_MONO / self.params.sensitivity, self._max_len, DECLICK_SUB_SAMPLES,
            DECLICK_CONTEXT_SAMPLES, first_valid,
        )
        x_out[:] = y
        return x_out[:, self._history : self._history + self._hop].copy()
