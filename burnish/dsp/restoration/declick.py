"""Declick: AR-residual click detection and least-squares AR interpolation (docs/restoration.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from burnish.dsp.base import check_range, register_processor
from burnish.dsp.restoration.common import (
    Array,
    _HopProcessor,
    _interpolate_gap,
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


#: Detection: a sample is a click sample when both residuals exceed this many robust sigmas
#: (mono, or one channel of a stereo pair alone)...
DECLICK_THRESHOLD = 10.0
#: ...or this many on both channels of a stereo pair.
DECLICK_THRESHOLD_BOTH = 5.0
#: AR order of the detector's predictor.
DECLICK_DETECT_ORDER = 20
#: Sub-block of the robust level (samples).
DECLICK_SUB_SAMPLES = 256
#: Samples of context on each side for the interpolation's AR estimate.
DECLICK_CONTEXT_SAMPLES = 384


@njit(cache=True, nogil=True)
def _declick_hop(
    y: Array,
    hist: int,
    hop: int,
    order: int,
    threshold: float,
    threshold_both: float,
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
            flags[i] = score[0, i] > threshold
    repaired = 0
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
            missing = np.zeros(n, dtype=np.bool_)
            missing[gs:ge] = True
            for c in range(c_n):
                _interpolate_gap(y[c], gs, ge, missing, order, context)
            repaired += 1
        i = j + 1
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
            DECLICK_THRESHOLD_BOTH / self.params.sensitivity, self._max_len, DECLICK_SUB_SAMPLES,
            DECLICK_CONTEXT_SAMPLES, first_valid,
        )
        x_out[:] = y
        return x_out[:, self._history : self._history + self._hop].copy()
