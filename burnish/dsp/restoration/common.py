"""Fixed-hop framing shared by the restoration processors, and the linear-prediction kernels."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import Processor

Array = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# fixed-hop framing shared by the four processors


def frame_46ms_samples(sample_rate: int) -> int:
    """The spectral restorers' frame: the power of two nearest 46 ms (2048 at 44.1/48 kHz)."""
    return int(2 ** round(math.log2(0.046 * sample_rate)))


class _HopProcessor(Processor):
    """Buffers input into fixed hops; subclasses implement :meth:`_process_hop`.

    The work buffer holds ``history`` samples before the current hop, the hop, and ``lookahead``
    samples after it. ``_in`` keeps the input; ``_out`` starts as a copy of it and may be
    modified anywhere from the hop on (repairs that reach into the look-ahead persist into the
    next hop). The hop's output is what ``_process_hop`` returns.
    """

    def _setup_framing(
        self, *, history: int, hop: int, lookahead: int, output_delay: int = 0
    ) -> None:
        self._history = int(history)
        self._hop = int(hop)
        self._lookahead = int(lookahead)
        self._output_delay = int(output_delay)
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Hop plus look-ahead (plus any delay of the hop's output, e.g. an STFT's), in samples."""
        return self._hop + self._lookahead + self._output_delay

    def reset(self) -> None:
        """Forget everything: buffers back to silence, hop counter to zero."""
        c = self.num_channels
        self._in = np.zeros((c, self._history))
        self._out = np.zeros((c, self._history))
        self._ready = np.zeros((c, self._hop + self._lookahead))
        self._hop_index = 0
        self._reset_state()

    def _reset_state(self) -> None:
        """Subclass state reset."""

    def _process_hop(self, x_in: Array, x_out: Array) -> Array:
        """Process one hop. ``x_in``/``x_out`` span history + hop + look-ahead; return the hop."""
        raise NotImplementedError

    def process(self, block: AudioArray) -> AudioArray:
        """Process one block ``(channels, samples)``; output delayed by ``latency_samples``."""
        x = check_audio(block, num_channels=self.num_channels)
        n = x.shape[1]
        if n == 0:
            return x.copy()
        xf = x.astype(np.float64)
        self._in = np.concatenate([self._in, xf], axis=1)
        self._out = np.concatenate([self._out, xf], axis=1)
        span = self._history + self._hop + self._lookahead
        outputs = [self._ready]
        start = 0
        while self._in.shape[1] - start >= span:
            x_in = self._in[:, start : start + span]
            x_out = self._out[:, start : start + span]
            outputs.append(self._process_hop(x_in, x_out))
            self._hop_index += 1
            start += self._hop
        if start:
            self._in = self._in[:, start:].copy()
            self._out = self._out[:, start:].copy()
        ready = np.concatenate(outputs, axis=1) if len(outputs) > 1 else self._ready
        out, self._ready = ready[:, :n], ready[:, n:]
        return out.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------------------------
# linear prediction kernels


@njit(cache=True, nogil=True)
def _levinson(r: Array, order: int) -> Array:  # pragma: no cover - compiled
    """AR coefficients ``a`` (``a[0] = 1``) from autocorrelation ``r[0..order]`` (Levinson)."""
    a = np.zeros(order + 1)
    a[0] = 1.0
    err = r[0]
    if err <= 0.0:
        return a
    tmp = np.zeros(order + 1)
    for i in range(1, order + 1):
        acc = r[i]
        for j in range(1, i):
            acc += a[j] * r[i - j]
        k = -acc / err
        if not (abs(k) < 1.0):
            break
        for j in range(i):
            tmp[j] = a[j]
        for j in range(1, i):
            a[j] = tmp[j] + k * tmp[i - j]
        a[i] = k
        err *= 1.0 - k * k
        if err <= 1e-14 * r[0]:
            break
    return a


@njit(cache=True, nogil=True)
def _masked_autocorr(x: Array, lo: int, hi: int, missing: npt.NDArray[np.bool_], order: int) -> Array:  # pragma: no cover
    """Autocorrelation at lags 0..order over ``x[lo:hi]``, the missing samples taken as zero.

    Every lag is divided by the same count (the present samples): the biased estimate, whose
    Toeplitz matrix is positive semi-definite whatever the data. (Dividing each lag by its own
    pair count let ``r[1]`` exceed ``r[0]`` on smooth, loud bass: Levinson then stopped at order
    0 and the "interpolation" wrote zeros into the gap.) Tapered by a Gaussian lag window (a
    positive definite sequence, so the product stays so) plus a -40 dB white floor.
    """
    r = np.zeros(order + 1)
    present = 0
    for n in range(lo, hi):
        if not missing[n]:
            present += 1
    if present == 0:
        return r
    for k in range(order + 1):
        s = 0.0
        for n in range(lo, hi - k):
            if not missing[n] and not missing[n + k]:
                s += x[n] * x[n + k]
        r[k] = s / present
    for k in range(1, order + 1):
        r[k] *= math.exp(-0.5 * (k / (2.0 * order)) ** 2)
    r[0] *= 1.0001
    return r


@njit(cache=True, nogil=True)
def _ar_normal_equations(
    x: Array, unknown: npt.NDArray[np.int64], nu: int, a: Array
) -> tuple[Array, Array]:  # pragma: no cover - compiled
    """The least-squares AR interpolation's normal equations ``mat u = b`` for the unknowns
    ``x[unknown]`` (sorted; their current values are ignored), with a 1e-9 ridge on the
    diagonal: ``mat = A_u^T A_u``, the AR polynomial's autocorrelation at the unknowns' lags."""
    p = a.shape[0] - 1
    lo = unknown[0]
    hi = unknown[nu - 1] + p  # last prediction-error index
    xk = x.copy()
    for i in range(nu):
        xk[unknown[i]] = 0.0
    # prediction error of the known part
    m = hi - lo + 1
    ek = np.zeros(m)
    for n in range(lo, hi + 1):
        s = 0.0
        for j in range(p + 1):
            idx = n - j
            if 0 <= idx < xk.shape[0]:
                s += a[j] * xk[idx]
        ek[n - lo] = s
    ra = np.zeros(p + 1)
    for d in range(p + 1):
        s = 0.0
        for j in range(p + 1 - d):
            s += a[j] * a[j + d]
        ra[d] = s
    mat = np.zeros((nu, nu))
    b = np.zeros(nu)
    for i in range(nu):
        ui = unknown[i]
        for jj in range(nu):
            d = abs(ui - unknown[jj])
            if d <= p:
                mat[i, jj] = ra[d]
        s = 0.0
        for j in range(p + 1):
            s += a[j] * ek[ui + j - lo]
        b[i] = -s
    for i in range(nu):
        mat[i, i] += 1e-9 * ra[0]
    return mat, b


@njit(cache=True, nogil=True)
def _ar_solve(x: Array, unknown: npt.NDArray[np.int64], nu: int, a: Array) -> Array:  # pragma: no cover
    """Least-squares AR interpolation: the values at ``unknown[:nu]`` that minimise the
    prediction error ``sum_n (sum_m a[m] x[n - m])**2`` given every other sample of ``x``.

    ``x`` must hold ``order`` samples of context on each side of the unknowns; the unknowns'
    current values in ``x`` are ignored. Returns the solution (length ``nu``).
    """
    mat, b = _ar_normal_equations(x, unknown, nu, a)
    return np.asarray(np.linalg.solve(mat, b), dtype=np.float64)


@njit(cache=True, nogil=True)
def _interpolate_gap(
    y: Array, gs: int, ge: int, missing: npt.NDArray[np.bool_], order: int, context: int
) -> None:  # pragma: no cover - compiled
    """Replace ``y[gs:ge]`` by least-squares AR interpolation from the context around it."""
    n = y.shape[0]
    lo = max(0, gs - context)
    hi = min(n, ge + context)
    p = min(order, (hi - lo - (ge - gs)) // 4)
    if p < 2 or gs - lo < p or hi - ge < p:
        return
    r = _masked_autocorr(y, lo, hi, missing, p)
    a = _levinson(r, p)
    seg = y[gs - p : ge + p].copy()
    nu = ge - gs
    unknown = np.arange(p, p + nu).astype(np.int64)
    sol = _ar_solve(seg, unknown, nu, a)
    for i in range(nu):
        y[gs + i] = sol[i]


@njit(cache=True, nogil=True)
def _ar_solve_var(x: Array, lo: int, nu: int, a: Array) -> tuple[Array, Array, Array]:  # pragma: no cover
    """As :func:`_ar_solve` for the contiguous unknowns ``x[lo:lo + nu]``; returns the solution,
    ``A_u^T A_u`` and its inverse. The inverse times the prediction-error variance is the
    estimate's posterior covariance (Godsill & Rayner, *Digital Audio Restoration*, 1998,
    sec. 5.2.3)."""
    unknown = np.arange(lo, lo + nu).astype(np.int64)
    mat, b = _ar_normal_equations(x, unknown, nu, a)
    inv = np.asarray(np.linalg.inv(mat), dtype=np.float64)
    sol = np.asarray(inv @ b, dtype=np.float64)
    return sol, mat, inv
