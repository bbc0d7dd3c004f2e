"""True-peak look-ahead brick-wall limiter.

Design (see docs/limiter.md)
----------------------------
1. The input (times ``input_gain_db``) is upsampled ``oversample`` times (4 or 8) with the
   ``"standard"`` half-band cascade of :mod:`burnish.dsp.oversample` (float32: detection only;
   the gain is applied in float64). Every high-rate sample that is a local maximum of ``|x|`` is
   refined by parabolic interpolation through its neighbours (the residual error of 4x
   detection at Nyquist drops from 0.69 dB to < 0.08 dB); intervals whose samples are all
   below ``c / 1.13`` skip it (a refined peak is at most 9/8 of its sample, so ``r = 1`` either
   way). With ``stereo_link`` the peak is the maximum over channels.
2. ``q[t]`` is the refined true peak over the interval ``[t, t + 1)``; ``p[t] = max(q[t-2..t+1])``
   covers ``[t-2, t+2)``, so each gain sample also covers the waveform between its neighbours.
3. Required gain ``r[t] = min(1, c / p[t])`` with ``c`` the ceiling minus a small internal margin
   (:data:`SAFETY_MARGIN_DB`).
4. ``m[t] = min(r[t .. t+W-1])`` (a sliding minimum over the look-ahead of ``W`` samples, exact,
   monotonic deque), then a release ``e[t]``: instant when ``m`` falls, exponential towards
   ``m`` when it rises (``e <= m`` always).
5. ``g = box(box(e, W1), W2)`` with ``W1 + W2 - 1 = W``: two cascaded moving averages make an
   S-shaped attack that reaches the required gain before the peak arrives. Every ``e[k]`` that
   enters ``g[t]`` has ``k in [t-W+1, t]`` and so ``e[k] <= m[k] <= r[t]``: ``g[t] <= r[t]``.
6. The output is ``g[t] * x[t]`` with ``x`` delayed by the detection and look-ahead delay.
7. Safety stage: the same machinery, with 8x detection, a 1 ms look-ahead and a 20 ms release,
   run on the output of step 6 against ``ceiling - FINAL_MARGIN_DB``. The gain curve of the main
   stage modulates the signal, and on dense broadband material at high reduction its output's
   true peak can rise ~0.1 dB above ``g * |x|``; this stage sees that and removes it. Its 8x
   detection runs only where the main stage's estimate of its output's true peak comes within
   :data:`SCREEN_DB` of this stage's ceiling (elsewhere the reading is below it anyway).

Adaptive release: ``z`` follows the fraction of the recent past spent in gain reduction
(one-pole, time constant ``release_ms``). The release time constant is
``release_ms * (0.25 + 0.75 * z)`` (interpolated between two coefficients): after a short
transient it releases four times faster, under sustained reduction at ``release_ms``. With
``adaptive_release=False`` the remaining reduction (linear gain) decays with time constant
``release_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numba
import numpy as np
import numpy.typing as npt

from burnish.audio import AudioArray, check_audio
from burnish.dsp.base import (
    Processor,
    check_choice,
    check_range,
    offline,
    register_processor,
)
from burnish.dsp.oversample import HalfbandStage, Oversampler, _fir_pairs, _up2_kernel
from burnish.units import db_to_gain, gain_to_db_array, ms_to_samples

Float64Array = npt.NDArray[np.float64]

#: Internal margin below the ceiling (dB) per detection factor: covers the residual error of
#: the interpolated peak detection, gain modulation near Nyquist and meter differences.
SAFETY_MARGIN_DB: dict[int, float] = {4: 0.1, 8: 0.05}
#: Margin of the final safety stage (8x detection of the output): meter differences only.
FINAL_MARGIN_DB = 0.02

#: Base-rate samples processed per internal chunk: bounds the memory of the high-rate signal and
#: keeps the detection buffers in L2 (in-process on 4 minutes: 8192 ~25 % faster than 16384 and
#: ~40 % faster than 65536, quiet or driven +12 dB; 2048-4096 no better).
_CHUNK_SAMPLES = 8192


@dataclass(frozen=True, slots=True)
class LimiterParams:
    """Parameters of :class:`TruePeakLimiter`.

    ceiling_dbtp: the output true peak never exceeds this (dBTP), in [-20, 0].
    input_gain_db: gain before limiting (dB), in [-24, 36].
    lookahead_ms: look-ahead and attack length (ms), in [1, 20].
    release_ms: release time constant (ms), in [1, 2000].
    adaptive_release: release faster after short transients (see module docs).
    oversample: peak-detection oversampling, 4 or 8.
    stereo_link: one gain for both channels (keeps the image) or one per channel.
    """

    ceiling_dbtp: float = -1.0
    input_gain_db: float = 0.0
    lookahead_ms: float = 5.0
    release_ms: float = 80.0
    adaptive_release: bool = True
    oversample: int = 4
    stereo_link: bool = True

    def __post_init__(self) -> None:
        check_range("ceiling_dbtp", self.ceiling_dbtp, -20.0, 0.0)
        check_range("input_gain_db", self.input_gain_db, -24.0, 36.0)
        check_range("lookahead_ms", self.lookahead_ms, 1.0, 20.0)
        check_range("release_ms", self.release_ms, 1.0, 2000.0)
        check_choice("adaptive_release", str(self.adaptive_release), ("True", "False"))
        check_choice("oversample", str(self.oversample), ("4", "8"))
        check_choice("stereo_link", str(self.stereo_link), ("True", "False"))


@dataclass(frozen=True, slots=True)
class LimiterDesign:
    """Sample-domain constants of the limiter (pure function of params and sample rate)."""

    window_samples: int
    box1_samples: int
    box2_samples: int
    ceiling_gain: float
    input_gain: float
    release_coef_slow: float
    release_coef_fast: float
    adapt_coef: float


def design_safety_stage(params: LimiterParams, *, sample_rate: int) -> LimiterDesign:
    """The safety stage: 8x detection, 1 ms look-ahead, 20 ms release, ``FINAL_MARGIN_DB``."""
    window = max(2, ms_to_samples(1.0, sample_rate))
    box1 = (window + 1) // 2
    coef = float(np.exp(-1.0 / (20e-3 * sample_rate)))
    return LimiterDesign(
        window_samples=window,
        box1_samples=box1,
        box2_samples=window + 1 - box1,
        ceiling_gain=db_to_gain(params.ceiling_dbtp - FINAL_MARGIN_DB),
        input_gain=1.0,
        release_coef_slow=coef,
        release_coef_fast=coef,
        adapt_coef=coef,
    )


def design_limiter(params: LimiterParams, *, sample_rate: int) -> LimiterDesign:
    """Window lengths, internal ceiling and release coefficients for ``params``."""
    window = max(2, ms_to_samples(params.lookahead_ms, sample_rate))
    box1 = (window + 1) // 2
    box2 = window + 1 - box1
    release_samples = params.release_ms * 1e-3 * sample_rate
    slow = float(np.exp(-1.0 / release_samples))
    fast = float(np.exp(-4.0 / release_samples)) if params.adaptive_release else slow
    adapt = float(np.exp(-1.0 / release_samples))
    margin = SAFETY_MARGIN_DB[params.oversample]
    return LimiterDesign(
        window_samples=window,
        box1_samples=box1,
        box2_samples=box2,
        ceiling_gain=db_to_gain(params.ceiling_dbtp - margin),
        input_gain=db_to_gain(params.input_gain_db),
        release_coef_slow=slow,
        release_coef_fast=fast,
        adapt_coef=adapt,
    )


#: The safety stage's 8x detection runs only where the main stage's own estimate of its output's
#: true peak (main gain x main detected peak, max over +-``_SCREEN_HALF_WIDTH`` samples) comes
#: within ``SCREEN_DB`` of the safety ceiling. On the test signals and the corpus driven +12 dB
#: the 8x reading exceeds that estimate by at most 0.06 dB (detection error + gain modulation),
#: a 25x margin; elsewhere the exact 8x reading is below the safety ceiling anyway, so skipping
#: it changes nothing (tests/dsp/test_limiter.py checks the output is identical with and
#: without the screen).
SCREEN_DB = 1.5
_SCREEN_HALF_WIDTH = 6
#: A refined (parabolic) peak is at most 9/8 of the high-rate sample it refines (0 <= neighbours
#: <= it); intervals whose samples are all below ``ceiling / _REFINE_BOUND`` can't reach the
#: ceiling and skip the refinement (the bound also covers float rounding).
_REFINE_BOUND = 1.13


@numba.njit(cache=True, nogil=True)
def _keep_tail(hist: npt.NDArray[np.float32], x: npt.NDArray[np.float64]) -> None:  # pragma: no cover
    """Move the last ``hist.shape[1]`` samples of the stream (``hist`` then ``x``) into
    ``hist``: the context the next block's detection needs."""
    keep = hist.shape[1]
    n = x.shape[1]
    for c in range(hist.shape[0]):
        if n >= keep:
            for i in range(keep):
                hist[c, i] = np.float32(x[c, n - keep + i])
        else:
            for i in range(keep - n):
                hist[c, i] = hist[c, i + n]
            for i in range(n):
                hist[c, keep - n + i] = np.float32(x[c, i])


@numba.njit(cache=True, nogil=True, fastmath=True)
def _main_detect_kernel(
    x: Float64Array,
    x_hist: npt.NDArray[np.float32],
    since: npt.NDArray[np.int64],
    folded: tuple[npt.NDArray[np.float32], ...],
    halves: npt.NDArray[np.int64],
    span: int,
    level: float,
    linked: bool,
    a: npt.NDArray[np.float32],
    hot: npt.NDArray[np.uint8],
    prev: Float64Array,
) -> int:
    """High-rate magnitudes of ``x`` only where they can matter (the main stage's detection).

    ``x`` is float64; the cascade runs on its float32 values (as the streaming cascade would).

    Interval ``i`` (high-rate samples ``factor * i ..``) depends on ``x[i - span .. i]`` and is at
    most ``G * max |x|`` over them (``G``: the cascade's largest polyphase branch gain, so
    ``level * G`` is the cold bound of :func:`_gain_kernel`). ``hot[g, i]`` is set when some
    ``|x|`` of gain channel ``g`` in that window exceeds ``level`` (``since[g]``: intervals since
    the last such sample, carried between calls). The cascade (``folded``: each stage's doubled
    odd taps, ``halves``: half lengths) runs on the runs of intervals with a hot interval within
    one (the refinement reads neighbours), each with just enough context before it that every
    value is the one the streaming cascade gives, wherever the run starts; ``a`` elsewhere is not written (the last interval is 0).
    When interval 0 is hot, interval -1 (the previous call's last) is computed too and its last
    two magnitudes go to ``prev`` (the gain kernel's neighbours). ``x_hist`` (channels,
    ``keep + 1``) holds the previous samples and is updated. Returns the intervals computed.
    """
    num_channels = x.shape[0]
    n = x.shape[1]
    num_gain = a.shape[0]
    num_stages = halves.shape[0]
    factor = 1 << num_stages
    hist_len = x_hist.shape[1]
    keep = hist_len - 1
    # any_hot[k]: some gain channel's interval k - 1 is hot (k = 0: the previous call's last)
    any_hot = np.zeros(n + 2, dtype=np.uint8)
    mag = np.empty(n, dtype=np.float32)
    for g in range(num_gain):
        s = since[g]
        if s <= span:
            any_hot[0] = 1
        if linked:
            for i in range(n):
                mag[i] = abs(np.float32(x[0, i]))
            for c in range(1, num_channels):
                for i in range(n):
                    v = abs(np.float32(x[c, i]))
                    mag[i] = v if v > mag[i] else mag[i]
        else:
            for i in range(n):
                mag[i] = abs(np.float32(x[g, i]))
        hg = hot[g]
        for i in range(n):
            s = 0 if mag[i] > level else s + 1
            hg[i] = 1 if s <= span else 0
        since[g] = min(s, span + 1)
        for i in range(n):
            any_hot[i + 1] |= hg[i]
    # comp[k]: interval k - 1 is computed (a hot interval within one of it; -1 only for 0)
    comp = np.zeros(n + 1, dtype=np.uint8)
    comp[0] = any_hot[1]
    for k in range(1, n + 1):
        comp[k] = any_hot[k - 1] | any_hot[k] | any_hot[k + 1]
    # the gain kernel reads a skipped interval only when it is the last (the others next to a
    # hot interval are computed)
    if not comp[n]:
        for g in range(num_gain):
            for h in range(factor * (n - 1), factor * n):
                a[g, h] = 0.0
    size = factor * (keep + n + 1)
    ping = np.empty(size, dtype=np.float32)
    pong = np.empty(size, dtype=np.float32)
    acc = np.empty(size, dtype=np.float32)
    computed = 0
    j = 0
    while j <= n:
        if not comp[j]:
            j += 1
            continue
        j0 = j
        while True:
            while j <= n and comp[j]:
                j += 1
            # a gap shorter than the context costs less computed than restarted
            k = j
            while k <= n and k - j < keep and not comp[k]:
                k += 1
            if k <= n and k - j < keep:
                j = k
            else:
                break
        s0 = j0 - 1  # first interval of the run (-1 .. n - 1)
        run = j - j0
        computed += run
        for c in range(num_channels):
            g = 0 if linked else c
            # context and run: x[s0 - keep .. s0 + run)
            m = keep + run
            for i in range(m):
                src_i = s0 - keep + i
                ping[i] = np.float32(x[c, src_i]) if src_i >= 0 else x_hist[c, hist_len + src_i]
            src = ping
            dst = pong
            for st in range(num_stages):
                h = halves[st]
                folded_st = folded[st]
                last = 2 * folded_st.shape[0] - 1
                k_out = m - h
                _fir_pairs(src, h, h - last, folded_st, k_out, acc)
                center = h // 2
                for i in range(k_out):
                    dst[2 * i] = src[h - center + i]
                    dst[2 * i + 1] = acc[i]
                m = 2 * k_out
                src, dst = dst, src
            first = 0
            if s0 < 0:
                first = factor
                v2 = abs(src[factor - 2])
                v1 = abs(src[factor - 1])
                if c == 0 or not linked:
                    prev[g, 0] = v2
                    prev[g, 1] = v1
                else:
                    prev[g, 0] = max(prev[g, 0], v2)
                    prev[g, 1] = max(prev[g, 1], v1)
            dst_row = a[g]
            off = factor * s0
            if c == 0 or not linked:
                for i in range(first, factor * run):
                    dst_row[off + i] = abs(src[i])
            else:
                for i in range(first, factor * run):
                    v = abs(src[i])
                    dst_row[off + i] = v if v > dst_row[off + i] else dst_row[off + i]
    # the last keep + 1 input samples are the next call's context
    _keep_tail(x_hist, x)
    return computed


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gain_kernel(
    a: npt.NDArray[np.float32],
    factor: int,
    ceiling: float,
    window: int,
    a_slow: float,
    a_fast: float,
    a_adapt: float,
    prev: Float64Array,
    qacc: Float64Array,
    qring: Float64Array,
    dq_val: Float64Array,
    dq_idx: npt.NDArray[np.int64],
    dq_head: npt.NDArray[np.int64],
    dq_size: npt.NDArray[np.int64],
    env: Float64Array,
    adapt: Float64Array,
    box1: Float64Array,
    box1_sum: Float64Array,
    box2: Float64Array,
    box2_sum: Float64Array,
    counters: npt.NDArray[np.int64],
    ones: npt.NDArray[np.int64],
    hot: npt.NDArray[np.uint8],
    last_hot: npt.NDArray[np.uint8],
    cold_peak: float,
    gain: Float64Array,
    peak: Float64Array,
) -> None:
    """Gain per base sample from the high-rate magnitudes ``a`` (gain channels, n * factor).

    The refinement runs only on intervals ``i`` with ``hot[g, i]`` or ``hot[g, i - 1]`` (``hot``
    has one row per gain channel, or one row for all); every other interval's magnitudes are
    known to be at most ``cold_peak`` (< ceiling / 1.13: the main stage's cascade bound, 0 for
    the safety stage's skipped intervals) and are not read: ``1.125 * cold_peak`` stands in for
    their refined peaks (``r = 1`` either way). ``last_hot[g]`` carries ``hot[g, -1]`` between
    calls; ``a`` must hold exact magnitudes in every interval next to a hot one.

    ``peak[g, i]`` receives ``p`` (the detected peak the required gain was computed from; above
    the ceiling exact, below it an upper bound). State arrays are per gain channel (first axis)
    and updated in place. ``counters`` holds [r-stream index, box1 position, box2 position,
    qring position]; ``ones[g]`` counts the samples since the envelope last left 1.0 exactly.
    Once it reaches ``W1 + W2`` both moving averages hold only ones: their sums are set to the
    exact window lengths (dropping rounding residue) and, while ``r`` stays 1, a short path
    gives gain 1 (most of the time for the safety stage).
    """
    num_gain = gain.shape[0]
    n = gain.shape[1]
    w1 = box1.shape[1]
    w2 = box2.shape[1]
    cap = dq_val.shape[1]
    for g in range(num_gain):
        row = a[g]
        r_index = counters[0]
        p1 = counters[1]
        p2 = counters[2]
        pq = counters[3]
        a2 = prev[g, 0]
        a1 = prev[g, 1]
        acc = qacc[g]
        # per-channel scalars in registers for the loop (stored back below)
        z_s = adapt[g]
        e_s = env[g]
        ones_s = ones[g]
        head_s = dq_head[g]
        size_s = dq_size[g]
        s1_s = box1_sum[g]
        s2_s = box2_sum[g]
        hg = min(g, hot.shape[0] - 1)
        was_hot = last_hot[g]
        cold_q = 1.125 * cold_peak
        i = -1
        while i + 1 < n:
            i += 1
            base = i * factor
            h = hot[hg, i]
            if (
                (h | was_hot) == 0
                and ones_s >= w1 + w2
                and acc == cold_q
                and qring[g, 0] == cold_q
                and qring[g, 1] == cold_q
                and qring[g, 2] == cold_q
                and qring[g, 3] == cold_q
            ):
                # a run of cold intervals at rest: every push is cold_q, so p = cold_q < ceiling,
                # r = 1 and the at-rest path below would give gain 1; the same updates, with the
                # deque entry and the ring positions written once for the run
                j = i
                while j < n and hot[hg, j] == 0:
                    peak[g, j] = cold_q
                    gain[g, j] = 1.0
                    z_s = a_adapt * z_s
                    j += 1
                run = j - i
                i = j - 1
                r_index += run
                dq_val[g, head_s] = 1.0
                dq_idx[g, head_s] = r_index - 1
                size_s = 1
                p1 = (p1 + run) % w1
                p2 = (p2 + run) % w2
                pq = (pq + run) & 3
                was_hot = 0
                base = i * factor
                if i == n - 1 or hot[hg, i + 1]:
                    a2 = float(row[base + factor - 2])
                    a1 = float(row[base + factor - 1])
                else:
                    a2 = 0.0
                    a1 = 0.0
                continue
            refine = (h | was_hot) != 0
            was_hot = h
            if refine:
                for k in range(factor):
                    a0 = float(row[base + k])
                    # evaluate the previous high-rate sample a1 (neighbours a2, a0)
                    den = 2.0 * a1 - a2 - a0
                    ok = (a1 >= a2) & (a1 >= a0) & (den > 0.0)  # branch-free select
                    pk = a1 + (a2 - a0) * (a2 - a0) / (8.0 * den) if ok else a1
                    if k == 0:
                        if pk > acc:
                            acc = pk
                        qring[g, pq] = acc
                        pq = (pq + 1) & 3
                        acc = 0.0
                    elif pk > acc:
                        acc = pk
                    a2 = a1
                    a1 = a0
            else:
                # every refined peak of samples base-1 .. base+factor-2 is <= 1.125 * cold_peak,
                # below the ceiling: an upper bound stands in for them (r is 1 either way)
                bound = cold_q
                qring[g, pq] = bound if bound > acc else acc
                pq = (pq + 1) & 3
                acc = bound
                # the neighbours matter only if the next interval refines (then this one is
                # exact) or for the next call (the last interval)
                if i == n - 1 or hot[hg, i + 1]:
                    a2 = float(row[base + factor - 2]) if factor > 1 else a1
                    a1 = float(row[base + factor - 1])
                else:
                    a2 = 0.0
                    a1 = 0.0
            # a new q value arrived: p = max over the last four
            p = qring[g, 0]
            for j in range(1, 4):
                if qring[g, j] > p:
                    p = qring[g, j]
            peak[g, i] = p
            r = 1.0
            if p > ceiling:
                r = ceiling / p
            elif ones_s >= w1 + w2:
                # at rest: the deque holds one entry (1.0), the envelope and both averages are 1
                dq_val[g, head_s] = 1.0
                dq_idx[g, head_s] = r_index
                size_s = 1
                r_index += 1
                z_s = a_adapt * z_s
                gain[g, i] = 1.0
                p1 += 1
                if p1 == w1:
                    p1 = 0
                p2 += 1
                if p2 == w2:
                    p2 = 0
                continue
            # sliding minimum over the look-ahead window (monotonic deque in a ring)
            head = head_s
            size = size_s
            # (ring indices wrap by one subtraction: head, size < cap)
            tail = head + size - 1
            if tail >= cap:
                tail -= cap
            while size > 0 and dq_val[g, tail] >= r:
                size -= 1
                tail -= 1
                if tail < 0:
                    tail += cap
            tail += 1
            if tail >= cap:
                tail -= cap
            dq_val[g, tail] = r
            dq_idx[g, tail] = r_index
            size += 1
            while dq_idx[g, head] <= r_index - window:
                head += 1
                if head == cap:
                    head = 0
                size -= 1
            m = dq_val[g, head]
            head_s = head
            size_s = size
            r_index += 1
            # release
            e = e_s
            z = z_s
            if m <= e:
                e = m
            else:
                aa = a_fast + z * (a_slow - a_fast)
                e = m + aa * (e - m)
            e_s = e
            reducing = 1.0 if e < 0.9999 else 0.0
            z_s = reducing + a_adapt * (z - reducing)
            if e == 1.0:
                ones_s += 1
                if ones_s == w1:
                    s1_s = float(w1)  # box1 holds w1 exact ones
                elif ones_s == w1 + w2:
                    s2_s = float(w2)  # box2 holds w2 exact ones (b1 was exactly 1)
            else:
                ones_s = 0
            # two moving averages
            s1 = s1_s + e - box1[g, p1]
            box1[g, p1] = e
            s1_s = s1
            b1 = s1 / w1
            s2 = s2_s + b1 - box2[g, p2]
            box2[g, p2] = b1
            s2_s = s2
            gain[g, i] = min(s2 / w2, 1.0)
            p1 += 1
            if p1 == w1:
                p1 = 0
            p2 += 1
            if p2 == w2:
                p2 = 0
        prev[g, 0] = a2
        prev[g, 1] = a1
        qacc[g] = acc
        adapt[g] = z_s
        env[g] = e_s
        ones[g] = ones_s
        dq_head[g] = head_s
        dq_size[g] = size_s
        box1_sum[g] = s1_s
        box2_sum[g] = s2_s
        last_hot[g] = was_hot
        if g == num_gain - 1:
            counters[0] = r_index
            counters[1] = p1
            counters[2] = p2
            counters[3] = pq


@numba.njit(cache=True, nogil=True)
def _delay_apply_kernel(
    x: Float64Array, history: Float64Array, gain: Float64Array, out: Float64Array
) -> None:
    """``out = x delayed by history.shape[1] samples * gain`` (gain rows: 1 = linked, else per
    channel); ``history`` holds the last delayed samples (oldest first) and is updated."""
    num_channels = x.shape[0]
    n = x.shape[1]
    d = history.shape[1]
    linked = gain.shape[0] == 1
    for c in range(num_channels):
        gr = gain[0] if linked else gain[c]
        hist = history[c]
        src = x[c]
        dst = out[c]
        head = min(d, n)
        for i in range(head):
            dst[i] = hist[i] * gr[i]
        for i in range(head, n):
            dst[i] = src[i - d] * gr[i]
        if n >= d:
            for i in range(d):
                hist[i] = src[n - d + i]
        else:
            for i in range(d - n):
                hist[i] = hist[i + n]
            for i in range(n):
                hist[d - n + i] = src[i]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _sparse_detect_kernel(
    y: Float64Array,
    y_hist: npt.NDArray[np.float32],
    est: Float64Array,
    est_hist: Float64Array,
    folded: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]],
    halves: tuple[int, int, int],
    latency: int,
    half_width: int,
    threshold: float,
    linked: bool,
    a: npt.NDArray[np.float32],
    flags: npt.NDArray[np.uint8],
) -> int:
    """8x magnitudes of ``y`` (float64, cast to float32) where the estimate ``est`` says they
    may matter; zero next to them, the other entries of ``a`` are not written.

    ``flags[0, j]`` is set for the intervals computed (for the gain kernel: the others are 0).

    The 8x signal is the three-stage half-band cascade of :mod:`burnish.dsp.oversample`
    (``folded``: each stage's odd taps, doubled; ``halves``: each stage's half length), run on
    each run of wanted intervals with just enough context before it, so every value is the
    one the streaming cascade gives (same taps, same order) wherever the run starts. High-rate
    sample ``8 j + phi`` stands for time ``j + phi / 8 - latency``. Interval ``j`` is wanted when
    ``est`` exceeds ``threshold`` anywhere in ``[j - latency - half_width, j - latency +
    half_width]``. ``y_hist`` (channels, context) and ``est_hist`` (latency + half_width) hold
    the previous samples and are updated. Returns the number of intervals computed.
    """
    num_channels = y.shape[0]
    n = y.shape[1]
    h1, h2, h3 = halves
    f1, f2, f3 = folded
    keep = y_hist.shape[1]  # h1 + h2 // 2 + h3 // 4 base samples of context
    e_len = est_hist.shape[0]
    ebuf = np.empty(e_len + n)
    for j in range(e_len):
        ebuf[j] = est_hist[j]
    for j in range(n):
        ebuf[e_len + j] = est[j]
    # est index of time t (relative to this block's first y sample) is e_len + t
    last_hot = -(1 << 40)
    first_hi = e_len - latency + half_width
    for e in range(first_hi):
        if ebuf[e] > threshold:
            last_hot = e
    hot = np.empty(n + 1, dtype=np.bool_)
    for j in range(n):
        e_hi = first_hi + j
        if ebuf[e_hi] > threshold:
            last_hot = e_hi
        hot[j] = last_hot >= e_hi - 2 * half_width
        flags[0, j] = 1 if hot[j] else 0
    hot[n] = False
    num_gain = a.shape[0]
    # computed intervals (a maximum over channels below) and the skipped ones the gain kernel
    # may read (next to a computed one, the first and the last) start at 0
    for j in range(n):
        if hot[j] or j == 0 or j == n - 1 or hot[j + 1] or hot[j - 1]:
            for g in range(num_gain):
                for h in range(8 * j, 8 * j + 8):
                    a[g, h] = 0.0
    for j in range(e_len):
        est_hist[j] = ebuf[n + j]
    any_hot = False
    for j in range(n):
        if hot[j]:
            any_hot = True
            break
    if not any_hot:  # nothing to compute (most blocks): only the context moves on
        _keep_tail(y_hist, y)
        return 0
    buf = np.empty((num_channels, keep + n), dtype=np.float32)
    for c in range(num_channels):
        for j in range(keep):
            buf[c, j] = y_hist[c, j]
        for j in range(n):
            buf[c, keep + j] = np.float32(y[c, j])
    seg = np.empty((1, keep + n), dtype=np.float32)
    u1 = np.empty((1, 2 * (keep - h1 + n)), dtype=np.float32)
    u2 = np.empty((1, 2 * u1.shape[1]), dtype=np.float32)
    u3 = np.empty((1, 8 * n), dtype=np.float32)
    computed = 0
    j = 0
    while j < n:
        if not hot[j]:
            j += 1
            continue
        j0 = j
        while hot[j]:
            j += 1
        run = j - j0
        computed += run
        n1 = keep - h1 + run  # stage-1 outputs (base positions j0 - keep + h1 .. j - 1)
        n2 = 2 * n1 - h2
        n3 = 2 * n2 - h3  # = 4 * run
        for c in range(num_channels):
            g = 0 if linked else c
            src = buf[c]
            for i in range(keep + run):
                seg[0, i] = src[j0 + i]  # y[j0 - keep + i]
            _up2_kernel(seg[:, : keep + run], h1, h1 // 2, f1, u1[:, : 2 * n1])
            _up2_kernel(u1[:, : 2 * n1], h2, h2 // 2, f2, u2[:, : 2 * n2])
            _up2_kernel(u2[:, : 2 * n2], h3, h3 // 2, f3, u3[:, : 2 * n3])
            dst = a[g]
            top = u3[0]
            for i in range(8 * run):
                v = abs(top[i])
                h = 8 * j0 + i
                if v > dst[h]:
                    dst[h] = v
    for c in range(num_channels):
        for j in range(keep):
            y_hist[c, j] = buf[c, n + j]
    return computed


#: The gain kernel's state arrays (15, see :func:`_gain_state`).
_GainState = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]


def _gain_state(d: LimiterDesign, g: int) -> _GainState:
    return (
        np.zeros((g, 2)), np.zeros(g), np.zeros((g, 4)),
        np.ones((g, d.window_samples + 1)), np.zeros((g, d.window_samples + 1), dtype=np.int64),
        np.zeros(g, dtype=np.int64), np.zeros(g, dtype=np.int64), np.ones(g), np.zeros(g),
        np.ones((g, d.box1_samples)), np.full(g, float(d.box1_samples)),
        np.ones((g, d.box2_samples)), np.full(g, float(d.box2_samples)),
        np.zeros(4, dtype=np.int64), np.full(g, d.box1_samples + d.box2_samples, dtype=np.int64),
    )  # fmt: skip


def cascade_bound(oversampler: Oversampler) -> tuple[float, int]:
    """``(G, span)`` of an upsampling cascade: every high-rate output of base interval ``i`` is a
    weighted sum of ``x[i - span .. i]`` whose absolute weights sum to at most ``G`` (the largest
    over the ``factor`` phases; measured from the float64 impulse response)."""
    factor = oversampler.factor
    probe = Oversampler(factor, 1, quality=oversampler.quality)
    length = 2 * (oversampler.upsample_latency_samples + 8)
    impulse = np.zeros((1, length))
    impulse[0, 0] = 1.0
    h = probe.upsample(impulse)[0]
    nonzero = np.flatnonzero(h)
    span = int(nonzero[-1]) // factor
    gain = max(float(np.abs(h[phase::factor]).sum()) for phase in range(factor))
    return gain, span


#: Headroom on the cascade bound for float32 rounding in the cascade (relative ~1e-6).
_BOUND_MARGIN = 1.001


class _MainStage:
    """The main look-ahead gain computer: float32 4x/8x detection of the input, computed only
    where it can matter (see :func:`_main_detect_kernel`)."""

    def __init__(
        self,
        design: LimiterDesign,
        factor: int,
        num_channels: int,
        num_gain: int,
        *,
        estimate_threshold: float,
    ) -> None:
        self.design = design
        self.factor = factor
        self.num_channels = num_channels
        self.num_gain = num_gain
        self.oversampler = Oversampler(
            factor, num_channels, quality="standard", compute_dtype=np.float32
        )
        self.folded = tuple(_up_taps32(st) for st in self.oversampler.stages)
        self.halves = np.array([st.half_length for st in self.oversampler.stages], dtype=np.int64)
        self.context = sum(int(h) >> s for s, h in enumerate(self.halves))
        gain, self.span = cascade_bound(self.oversampler)
        # below this bound an interval can't reach the ceiling (refined peaks <= 9/8 of it) and
        # its estimate (9/8 of it) stays below the safety stage's screen threshold
        self.cold_peak = min(design.ceiling_gain, estimate_threshold) / _REFINE_BOUND
        self.level = self.cold_peak / (gain * _BOUND_MARGIN)
        self.latency = self.oversampler.upsample_latency_samples + design.window_samples + 1
        self.computed_intervals = 0
        self.reset()

    def reset(self) -> None:
        self.state = _gain_state(self.design, self.num_gain)
        self.x_hist = np.zeros((self.num_channels, self.context + 1), dtype=np.float32)
        self.since = np.full(self.num_gain, self.span + 1, dtype=np.int64)
        self.last_hot = np.zeros(self.num_gain, dtype=np.uint8)
        self.delay = np.zeros((self.num_channels, self.latency))
        # the detected peak, delayed to line up with the output (see ``run``)
        self.peak_delay = np.zeros((self.num_gain, max(1, self.design.window_samples - 1)))
        self.computed_intervals = 0

    def run(self, xs: Float64Array) -> tuple[Float64Array, Float64Array, Float64Array]:
        """Limited block (delayed by ``latency``), its gain, and an estimate of its true peak.

        The estimate is ``g[t] * p[t - W + 1]``: the gain times the detected input peak around the
        same signal time (max over gain channels).
        """
        d = self.design
        n = xs.shape[1]
        a = np.empty((self.num_gain, n * self.factor), dtype=np.float32)
        hot = np.empty((self.num_gain, n), dtype=np.uint8)
        prev = self.state[0]
        self.computed_intervals += _main_detect_kernel(
            xs, self.x_hist, self.since, self.folded, self.halves, self.span,
            self.level, self.num_gain == 1, a, hot, prev,
        )  # fmt: skip
        g = np.empty((self.num_gain, n))
        p = np.empty((self.num_gain, n))
        _gain_kernel(
            a, self.factor, d.ceiling_gain, d.window_samples,
            d.release_coef_slow, d.release_coef_fast, d.adapt_coef, *self.state,
            hot, self.last_hot, self.cold_peak, g, p,
        )  # fmt: skip
        y = np.empty_like(xs)
        _delay_apply_kernel(xs, self.delay, g, y)
        est = np.empty_like(p)
        _delay_apply_kernel(p, self.peak_delay, g, est)
        return y, g, est.max(axis=0) if self.num_gain > 1 else est[0]


def _up_taps32(stage: HalfbandStage) -> npt.NDArray[np.float32]:
    """The folded up-sampling taps of ``stage`` (doubled: zero-stuffing gain), float32."""
    return np.ascontiguousarray(2.0 * stage.folded, dtype=np.float32)


class _SafetyStage:
    """The safety gain computer: 8x ``high`` detection of the main stage's output, computed only
    where the main stage's estimate comes within :data:`SCREEN_DB` of this stage's ceiling."""

    def __init__(self, design: LimiterDesign, num_channels: int, num_gain: int) -> None:
        self.design = design
        self.num_channels = num_channels
        self.num_gain = num_gain
        osm = Oversampler(8, num_channels, quality="high")
        self.up_latency = osm.upsample_latency_samples
        s1, s2, s3 = osm.stages  # the 8x "high" cascade: three half-band stages
        self.folded = (_up_taps32(s1), _up_taps32(s2), _up_taps32(s3))
        self.halves = (s1.half_length, s2.half_length, s3.half_length)
        h1, h2, h3 = self.halves
        self.context = h1 + h2 // 2 + h3 // 4
        self.latency = self.up_latency + design.window_samples + 1
        self.threshold = design.ceiling_gain * db_to_gain(-SCREEN_DB)
        self.computed_intervals = 0
        self.reset()

    def reset(self) -> None:
        self.state = _gain_state(self.design, self.num_gain)
        self.last_hot = np.zeros(self.num_gain, dtype=np.uint8)
        self.y_hist = np.zeros((self.num_channels, self.context), dtype=np.float32)
        self.est_hist = np.zeros(self.up_latency + _SCREEN_HALF_WIDTH)
        self.delay = np.zeros((self.num_channels, self.latency))
        self.computed_intervals = 0

    def run(self, y1: Float64Array, est: Float64Array) -> tuple[Float64Array, Float64Array]:
        d = self.design
        n = y1.shape[1]
        a = np.empty((self.num_gain, 8 * n), dtype=np.float32)
        flags = np.empty((1, n), dtype=np.uint8)
        self.computed_intervals += _sparse_detect_kernel(
            y1, self.y_hist, np.ascontiguousarray(est), self.est_hist,
            self.folded, self.halves, self.up_latency, _SCREEN_HALF_WIDTH, self.threshold,
            self.num_gain == 1, a, flags,
        )  # fmt: skip
        g = np.empty((self.num_gain, n))
        p = np.empty((self.num_gain, n))
        _gain_kernel(
            a, 8, d.ceiling_gain, d.window_samples,
            d.release_coef_slow, d.release_coef_fast, d.adapt_coef, *self.state,
            flags, self.last_hot, 0.0, g, p,
        )  # fmt: skip
        y = np.empty_like(y1)
        _delay_apply_kernel(y1, self.delay, g, y)
        return y, g


@register_processor
class TruePeakLimiter(Processor):
    """Look-ahead brick-wall limiter whose output true peak stays at or below ``ceiling_dbtp``.

    Two stages: the main limiter (look-ahead ``lookahead_ms``, ceiling minus
    :data:`SAFETY_MARGIN_DB`) and a safety stage that measures the true peak of the main stage's
    *output* (so it sees the overshoot the gain curve itself makes) and removes what is left above
    ``ceiling_dbtp - FINAL_MARGIN_DB`` with a 1 ms look-ahead (typically < 0.1 dB, rarely active).
    :meth:`gain_reduction_db` gives the per-sample gain reduction of the last :meth:`process`.
    """

    kind: ClassVar[str] = "limiter"
    params_type: ClassVar[type] = LimiterParams
    params: LimiterParams

    def __init__(self, params: LimiterParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self.design = design_limiter(params, sample_rate=self.sample_rate)
        num_gain = 1 if (params.stereo_link or self.num_channels == 1) else self.num_channels
        self.safety_design = design_safety_stage(params, sample_rate=self.sample_rate)
        self._safety = _SafetyStage(self.safety_design, self.num_channels, num_gain)
        self._main = _MainStage(
            self.design, params.oversample, self.num_channels, num_gain,
            estimate_threshold=self._safety.threshold,
        )  # fmt: skip
        self._latency = self._main.latency + self._safety.latency
        self._last_gain: Float64Array = np.ones((self.num_channels, 0))
        self.reset()

    @property
    def latency_samples(self) -> int:
        return self._latency

    def reset(self) -> None:
        self._main.reset()
        self._safety.reset()
        self._gain_delay = np.ones((self._main.num_gain, self._safety.latency))
        self._last_gain = np.ones((self.num_channels, 0))

    def process(self, block: AudioArray) -> AudioArray:
        return self._process_unchecked(check_audio(block, num_channels=self.num_channels))

    def _process_unchecked(self, x: AudioArray) -> AudioArray:
        """:meth:`process` for a block that already meets the contract (from a chain)."""
        n = x.shape[1]
        if n == 0:
            self._last_gain = np.ones((self.num_channels, 0))
            return x.copy()
        if n <= _CHUNK_SAMPLES:  # one chunk: no copies into the outputs
            y2, g = self._run_chunk(x)
            self._last_gain = np.broadcast_to(g, (self.num_channels, n))
            return y2 if y2.dtype == x.dtype else y2.astype(x.dtype)
        out = np.empty_like(x)
        gains = np.empty((self._main.num_gain, n))
        for start in range(0, n, _CHUNK_SAMPLES):
            stop = min(n, start + _CHUNK_SAMPLES)
            out[:, start:stop], gains[:, start:stop] = self._run_chunk(x[:, start:stop])
        self._last_gain = np.broadcast_to(gains, (self.num_channels, n))
        return out

    def _run_chunk(self, x: AudioArray) -> tuple[Float64Array, Float64Array]:
        """Both stages on one chunk: the output (float64) and the combined gain."""
        xs = np.ascontiguousarray(x, dtype=np.float64)  # the stages only read it
        if self.design.input_gain != 1.0:
            xs = xs * self.design.input_gain
        y1, g1, est = self._main.run(xs)
        y2, g2 = self._safety.run(y1, est)
        g = np.empty_like(g2)
        _delay_apply_kernel(g1, self._gain_delay, g2, g)
        return y2, g

    def gain_reduction_db(self) -> Float64Array:
        """Gain reduction (positive dB) per channel and output sample of the last ``process``."""
        return -gain_to_db_array(self._last_gain)

    def min_gain(self) -> Float64Array:
        """The lowest linear gain over channels per output sample of the last ``process``: what
        a gain-reduction trace needs, without a logarithm per sample."""
        g = self._last_gain
        return g[0] if g.strides[0] == 0 else g.min(axis=0)


#: ``apply_limiter(audio, params, *, sample_rate)``: whole buffer, latency removed.
apply_limiter = offline(TruePeakLimiter)


def warmup() -> None:
    """Compile the kernels (numba caches them on disk)."""
    lim = TruePeakLimiter(LimiterParams(), sample_rate=44100, num_channels=2)
    lim.process(np.zeros((2, 64)))
