"""Declip: clip-level detection and consistent A-SPADE restoration (docs/restoration.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy import fft as sp_fft

from burnish.dsp.base import check_range, register_processor
from burnish.dsp.restoration.common import Array, _HopProcessor, frame_46ms_samples
from burnish.units import db_to_gain

# --------------------------------------------------------------------------------------------
# declip


@dataclass(frozen=True, slots=True)
class DeclipParams:
    """Clipping repair.

    ``threshold`` in [0.5, 1]: samples at or above this fraction of the clip level count as
    clipped. ``clip_level`` in [0, 2]: the clip level (linear full scale); 0 detects it as the
    level of flat runs (3+ equal samples at the stream's peak). ``headroom_db`` in [0, 24]: the
    output is scaled by ``-headroom_db`` so restored peaks have room. ``max_iterations`` in
    [5, 500]: A-SPADE iterations per frame (frames with 5 % or more of their samples clipped
    run 5/4 of them, 10 % or more 3/2). The sparsity (in conjugate pairs) at iteration ``i``
    (1-based) is ``round(sparsity_step * i + sparsity_growth * i ** 2)``: ``sparsity_step`` in
    [1, 64], ``sparsity_growth`` in [0, 16] (0: the linear growth of Kitić et al.).
    """

    threshold: float = 0.99
    clip_level: float = 0.0
    headroom_db: float = 6.0
    max_iterations: int = 20
    sparsity_step: int = 4
    sparsity_growth: float = 1.2

    def __post_init__(self) -> None:
        check_range("threshold", self.threshold, 0.5, 1.0)
        check_range("clip_level", self.clip_level, 0.0, 2.0)
        check_range("headroom_db", self.headroom_db, 0.0, 24.0)
        check_range("max_iterations", self.max_iterations, 5, 500)
        check_range("sparsity_step", self.sparsity_step, 1, 64)
        check_range("sparsity_growth", self.sparsity_growth, 0.0, 16.0)


#: A run of this many equal samples (|x|) at the peak reveals the clip level.
DECLIP_FLAT_RUN = 3
#: A pair of equal samples at or above this magnitude (16- and 24-bit full scale included) is
#: clipping by itself.
DECLIP_FULL_SCALE = 0.9999
#: Lowest clip level the detector accepts (linear).
DECLIP_MIN_LEVEL = 0.1
#: Redundancy of the oversampled DFT frame of A-SPADE.
DECLIP_REDUNDANCY = 2
#: Frames per hop (the frame step is a quarter frame: 75 % overlap).
DECLIP_FRAMES_PER_HOP = 32
#: Frames are restored only when a clipped sample lies in this centred fraction of the frame.
DECLIP_CENTRE_FRACTION = 0.5
#: Convergence: stop a frame when ``||A x - z|| <= DECLIP_EPSILON * clip level``.
DECLIP_EPSILON = 0.1
#: Frames with at least this fraction of their samples clipped run ``DECLIP_DENSE_SHARE`` x
#: ``max_iterations`` (fewer iterations for frames with under 1 % clipped saved only 3-5 % of the
#: time and cost up to 1 dB at 3 dB over).
DECLIP_DENSE_FRACTION = 0.05
DECLIP_DENSE_SHARE = 1.25
#: Frames with at least this fraction clipped run ``DECLIP_VERY_DENSE_SHARE`` x
#: ``max_iterations`` (at 10 dB over: mix01 +0.75, defect_e +0.72, dull01 +0.38 dB; 1.6 % more
#: frame-iterations on the bench).
DECLIP_VERY_DENSE_FRACTION = 0.1
DECLIP_VERY_DENSE_SHARE = 1.5
#: A hop whose share of clipped samples (both channels) reaches this is restored with frames
#: of twice the length, unless its spectrum is denser than ``DECLIP_DENSE_CLIP_SPARSITY``
#: (distorted guitars, dense loud mixes), which keeps the base frame.
DECLIP_LONG_FRACTION = 0.1
DECLIP_DENSE_CLIP_SPARSITY = 0.35
#: Spectral sparsity (l1 / l2 of the hop's DFT frames up to ``DECLIP_PROBE_MAX_HZ``) below
#: which a hop gets long frames and above which it gets short ones.
DECLIP_LONG_SPARSITY = 0.175
DECLIP_SHORT_SPARSITY = 0.29
DECLIP_PROBE_MAX_HZ = 16000.0
#: Restored samples at the clip level are lifted by this relative amount, alternating between
#: one and two units from sample to sample, so that no two neighbours are equal (no flat run).
DECLIP_BOUND_RISE = 1e-5


def declip_frame_samples(sample_rate: int) -> int:
    """A-SPADE frame: the power of two nearest 46 ms (2048 at 44.1/48 kHz)."""
    return frame_46ms_samples(sample_rate)


def declip_frame_iterations(
    clipped_fraction: Array, max_iterations: int
) -> npt.NDArray[np.int64]:
    """A-SPADE iterations of each frame from the fraction of its samples that are clipped."""
    iterations = np.full(clipped_fraction.shape, max_iterations, dtype=np.int64)
    iterations[clipped_fraction >= DECLIP_DENSE_FRACTION] = int(
        round(max_iterations * DECLIP_DENSE_SHARE)
    )
    iterations[clipped_fraction >= DECLIP_VERY_DENSE_FRACTION] = int(
        round(max_iterations * DECLIP_VERY_DENSE_SHARE)
    )
    return iterations


@njit(cache=True, nogil=True)
def _detect_clip_level(x: Array, level: float, first_valid: int) -> float:  # pragma: no cover
    """Raise ``level`` to the magnitude of any run of 3+ equal samples at the buffer's peak, or
    of two runs of 2 at the same magnitude or one at digital full scale (mild clipping makes only pairs: at 3 dB over, a
    hop could pass with its pairs unrepaired before the first run of 3 revealed the level)."""
    c_n, n = x.shape
    peak = 0.0
    for c in range(c_n):
        for i in range(max(first_valid, 0), n):
            peak = max(peak, abs(x[c, i]))
    pairs = np.zeros(64)
    n_pairs = 0
    for c in range(c_n):
        run = 1
        for i in range(max(first_valid, 0) + 1, n):
            v = abs(x[c, i])
            if v == abs(x[c, i - 1]) and v > 0.0:
                run += 1
                if v >= 0.9 * peak and v >= DECLIP_MIN_LEVEL:
                    if run >= DECLIP_FLAT_RUN:
                        level = max(level, v)
                    elif run == 2:
                        if v >= DECLIP_FULL_SCALE:
                            level = max(level, v)  # a pair at digital full scale is clipping
                        for k in range(n_pairs):
                            if pairs[k] == v:
                                level = max(level, v)
                        if n_pairs < pairs.shape[0]:
                            pairs[n_pairs] = v
                            n_pairs += 1
            else:
                run = 1
    return level


@njit(cache=True, nogil=True)
def _select_kth_largest(a: npt.NDArray[np.float32], k: int) -> float:  # pragma: no cover
    """The ``k``-th largest value of ``a`` (1-based; ``a`` is reordered). Quickselect with a
    median-of-three pivot (Hoare partition): expected linear time."""
    lo, hi = 0, a.shape[0] - 1
    target = k - 1  # index in descending order
    while lo < hi:
        mid = (lo + hi) // 2
        p0, p1, p2 = a[lo], a[mid], a[hi]
        if p0 < p1:
            p0, p1 = p1, p0
        if p1 < p2:
            p1, p2 = p2, p1
            if p0 < p1:
                p0, p1 = p1, p0
        pivot = p1
        i, j = lo, hi
        while i <= j:
            while a[i] > pivot:
                i += 1
            while a[j] < pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            break
    return float(a[target])


#: Buckets of the radix pre-selection: the top 12 bits of a non-negative float32 (exponent and
#: 3 mantissa bits: values within a factor 1.125 share a bucket).
_RADIX_SHIFT = 20
_RADIX_BUCKETS = 1 << 11  # the sign bit of a non-negative float is 0


@njit(cache=True, nogil=True)
def _kth_largest_nonneg(
    mag: npt.NDArray[np.float32], k: int, hist: npt.NDArray[np.int32],
    cand: npt.NDArray[np.float32],
) -> float:  # pragma: no cover - compiled
    """The exact ``k``-th largest of the non-negative ``mag`` (1-based). A histogram of the
    float bits' top 12 (ordered like the values) finds the bucket holding it; a quickselect among
    that bucket's values finishes (a plain quickselect over all bins costs 3-5x more: its
    comparisons are unpredictable branches)."""
    bits = mag.view(np.uint32)
    n = mag.shape[0]
    hist[:] = 0
    for b in range(n):
        hist[bits[b] >> _RADIX_SHIFT] += 1
    above = 0
    top = _RADIX_BUCKETS - 1
    while above + hist[top] < k:
        above += hist[top]
        top -= 1
    count = 0
    for b in range(n):
        if (bits[b] >> _RADIX_SHIFT) == top:
            cand[count] = mag[b]
            count += 1
    return _select_kth_largest(cand[:count], k - above)


@njit(cache=True, nogil=True)
def _aspade_threshold(
    v: npt.NDArray[np.complex64], u: npt.NDArray[np.complex64], rows: npt.NDArray[np.int64],
    k: int, z: npt.NDArray[np.complex64], w: npt.NDArray[np.complex64], group: int,
    pos: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """Hard thresholding of ``v = A x + u`` for the rows ``rows``, keeping the ``k`` largest
    coefficients: ``z[r] = H_k(v[r])`` and ``w[pos[i]] = z[r] - u[r]`` (the input of the
    synthesis; not written where ``pos[i] < 0``, a row without clipped samples). Consecutive
    runs of ``group`` rows (the channels of one frame) share their support: the ``k`` bins of
    largest summed power ``sum_r |v[r, b]|^2``."""
    bins = v.shape[1]
    mag = np.empty(bins, dtype=np.float32)
    cand = np.empty(bins, dtype=np.float32)
    hist = np.zeros(_RADIX_BUCKETS, dtype=np.int32)
    for g in range(rows.shape[0] // group):
        mag[:] = 0.0
        for q in range(group):
            r = rows[g * group + q]
            for b in range(bins):
                c = v[r, b]
                mag[b] += c.real * c.real + c.imag * c.imag
        kth = _kth_largest_nonneg(mag, k, hist, cand)
        for q in range(group):
            r = rows[g * group + q]
            p = pos[g * group + q]
            if p < 0:
                for b in range(bins):
                    z[r, b] = 0.0 if mag[b] < kth else v[r, b]
                continue
            for b in range(bins):
                if mag[b] < kth:
                    z[r, b] = 0.0
                    w[p, b] = -u[r, b]
                else:
                    z[r, b] = v[r, b]
                    w[p, b] = v[r, b] - u[r, b]


@njit(cache=True, nogil=True)
def _aspade_project(
    xs: npt.NDArray[np.float32], lo: npt.NDArray[np.float32], hi: npt.NDArray[np.float32],
    rows: npt.NDArray[np.int64], x: npt.NDArray[np.float32], out: npt.NDArray[np.float32],
) -> None:  # pragma: no cover - compiled
    """Consistency step: the first ``n`` samples of each synthesised row projected onto the box
    ``[lo, hi]`` of frame ``rows[i]``; stored in ``x[r]`` and in the first ``n`` samples of
    ``out[i]`` (the zero-padded input of the next analysis)."""
    n = x.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(n):
            v = xs[i, j]
            if v < lo[r, j]:
                v = lo[r, j]
            elif v > hi[r, j]:
                v = hi[r, j]
            x[r, j] = v
            out[i, j] = v


@njit(cache=True, nogil=True)
def _aspade_update(
    v: npt.NDArray[np.complex64], u: npt.NDArray[np.complex64], z: npt.NDArray[np.complex64],
    rows: npt.NDArray[np.int64], axa: npt.NDArray[np.complex64], pos: npt.NDArray[np.int64],
    fixed: npt.NDArray[np.complex64],
) -> npt.NDArray[np.float64]:  # pragma: no cover - compiled
    """Dual update ``u += A x - z`` and the next thresholding's input ``v = A x + u``; returns
    the squared residual norm ``||A x - z||^2`` of each row (full conjugate-symmetric
    spectrum). ``A x`` of row ``rows[i]`` is ``axa[pos[i]]``, or ``fixed[rows[i]]`` (the
    analysis of the input) where ``pos[i] < 0``: a row without clipped samples."""
    bins = v.shape[1]
    r2 = np.zeros(rows.shape[0])
    for i in range(rows.shape[0]):
        r = rows[i]
        src = axa[pos[i]] if pos[i] >= 0 else fixed[r]
        acc = 0.0
        for b in range(bins):
            a = src[b]
            res = a - z[r, b]
            nu = u[r, b] + res
            u[r, b] = nu
            v[r, b] = a + nu
            acc += res.real * res.real + res.imag * res.imag
        r2[i] = 2.0 * acc
    return r2


def aspade(
    frames: Array, lower: Array, upper: Array, *, sparsity_step: int, sparsity_growth: float,
    iterations: npt.NDArray[np.int64], epsilon: float, redundancy: int = DECLIP_REDUNDANCY,
    group: int = 1,
) -> Array:
    """A-SPADE (Kitić, Bertin & Gribonval 2015, Algorithm 2) on a batch of frames.

    ``frames`` is ``(count, n)``; a solution must lie in ``[lower, upper]`` (equal bounds for the
    reliable samples, one infinite bound for the clipped ones). The analysis operator is the
    DFT of the zero-padded frame (``redundancy`` x n points, unitary scaling: a Parseval tight
    frame, so the consistency step is a plain projection onto the box). At iteration ``i``
    (1-based) the sparsity is ``round(sparsity_step * i + sparsity_growth * i ** 2)`` conjugate
    pairs. Consecutive runs of ``group`` rows (``count`` a multiple of it: the channels of one
    frame) share their support, the bins of largest power summed over the group (joint
    sparsity); a group runs the largest of its rows' ``iterations`` and stops when
    ``||A x - z||_2 <= epsilon`` on every row. Each group is computed independently of the
    others; rows without a clipped sample stay equal to the input, so their analysis is not
    recomputed. The iteration runs in float32 (half the FFT cost; the restored samples differ
    from a float64 run by about 1e-6 of the clip level); reliable samples are returned exactly
    as given.
    """
    count, n = frames.shape
    m = n * redundancy
    # unnormalised DFT units throughout: with A = rfft / sqrt(m) and D = sqrt(m) irfft, the
    # thresholding is scale-free, so rfft and irfft serve directly and only the residual norm
    # is rescaled (by 1 / m)
    padded = np.zeros((count, m), dtype=np.float32)
    padded[:, :n] = frames
    x = padded[:, :n].copy()
    lo, hi = lower.astype(np.float32), upper.astype(np.float32)
    # v = A x + u, the thresholding's input: the analysis of the projected estimate serves both
    # the dual update and the next v, so two FFTs per iteration
    v = sp_fft.rfft(padded, axis=1)
    bins = v.shape[1]
    u = np.zeros_like(v)
    z = np.zeros_like(v)
    free = np.any(lower != upper, axis=1)
    # a row without clipped samples keeps A x = the input's analysis (it still votes for the
    # group's support)
    fixed = v if free.all() else v.copy()
    w_buf = np.empty((count, bins), dtype=np.complex64)
    xa_buf = np.zeros((count, m), dtype=np.float32)  # the padding stays zero
    limit = np.asarray(iterations, dtype=np.int64)
    if group > 1:
        limit = np.repeat(limit.reshape(-1, group).max(axis=1), group)
    active = np.arange(count, dtype=np.int64)
    it = 0
    size = -1
    pos = rows = active
    while True:
        active = active[limit[active] > it]
        if active.size == 0:
            break
        if active.size != size:  # active only shrinks: the free rows' positions change then
            size = active.size
            on = free[active]
            pos = np.cumsum(on) - 1
            pos[~on] = -1
            rows = active[on]
        it += 1
        k = int(round(sparsity_step * it + sparsity_growth * it * it))
        w = w_buf[: rows.size]
        _aspade_threshold(v, u, active, min(max(k, 1), bins), z, w, group, pos)
        if rows.size:
            xs = sp_fft.irfft(w, n=m, axis=1)
            xa = xa_buf[: rows.size]
            _aspade_project(xs, lo, hi, rows, x, xa)
            axa = sp_fft.rfft(xa, axis=1)
        else:
            axa = fixed[:1]  # unused
        r2 = _aspade_update(v, u, z, active, axa, pos, fixed) / m
        going = r2 > epsilon * epsilon
        if group > 1:
            going = np.repeat(going.reshape(-1, group).any(axis=1), group)
        active = active[going]
    # reliable samples are the input exactly (the float32 iterate is only close to it)
    return np.where(lower == upper, frames, x.astype(np.float64))


@register_processor
class Declipper(_HopProcessor):
    """Reconstruct clipped peaks by consistent A-SPADE (see :class:`DeclipParams`).

    Overlapping frames (75 % overlap, Hann-weighted overlap-add) are restored only where they
    hold clipped samples; the rest of the signal passes bit for bit (apart from the headroom
    gain). The frame is a power of two near 46 ms (2048 at 44.1/48 kHz), chosen per hop of 32
    frame steps: twice as long where the clipping is dense (unless the spectrum is very dense)
    or the spectrum sparse, half as long where the spectrum is dense. In stereo both channels
    of a frame are restored together with a common support (joint sparsity). Latency: one hop plus 3/4 of a long frame (8 + 1.5 frames:
    19456 samples at 44.1/48 kHz). ``clip_level_detected`` and ``frames_repaired`` report what
    was found; ``hops_by_frame`` counts the hops restored with each frame length.
    """

    kind: ClassVar[str] = "declip"
    params_type: ClassVar[type] = DeclipParams
    params: DeclipParams

    def __init__(self, params: DeclipParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        self._gain = db_to_gain(-params.headroom_db)
        self._frame = declip_frame_samples(self.sample_rate)
        self._step = self._frame // 4
        # two framings, short (the frame) and long (twice the frame, twice the step), each with
        # its synthesis window (Hann) and the centre part that selects a frame for restoration
        self._framings: dict[int, tuple[int, int, Array, tuple[int, int]]] = {}
        for size in (-1, 0, 1):
            frame = int(self._frame * 2.0**size)
            edge = int(round(frame * (1.0 - DECLIP_CENTRE_FRACTION) / 2))
            synth = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)
            self._framings[size] = (frame, frame // 4, synth, (edge, frame - edge))
        self._probe_window = np.hanning(self._frame + 2)[1:-1]
        # frames of a hop start at (hop start - frame + step) + j * step: the history holds the
        # part before the hop (for the long frames), and the overlap-add completes one hop
        # ending 3/4 of a long frame before the hop's end (hence the output delay)
        lag = 2 * self._frame - self._frame // 2
        self._setup_framing(
            history=lag, hop=DECLIP_FRAMES_PER_HOP * self._step, lookahead=0, output_delay=lag
        )

    @property
    def headroom_gain(self) -> float:
        """The linear output gain (``10 ** (-headroom_db / 20)``)."""
        return self._gain

    def _reset_state(self) -> None:
        self.clip_level_detected = float(self.params.clip_level)
        self.frames_repaired = 0
        #: hops restored with each frame length (samples)
        self.hops_by_frame = {f[0]: 0 for f in self._framings.values()}
        self._acc = np.zeros((2, self.num_channels, self._history))

    def _frame_size(self, x: Array, clipped_fraction: float) -> int:
        """The hop's frame: 1 (twice the frame) for dense clipping or a sparse spectrum, -1 (half)
        for a dense spectrum, else 0; dense clipping on a very dense spectrum (above
        ``DECLIP_DENSE_CLIP_SPARSITY``) keeps 0. Sparsity is ``||c||_1 / (||c||_2 sqrt(count))`` of the
        Hann-windowed DFTs of the frames of the hop (50 % overlap, both channels) below
        ``DECLIP_PROBE_MAX_HZ`` (the same music at 96 kHz would look sparser by its empty top
        octave)."""
        dense_clipping = clipped_fraction >= DECLIP_LONG_FRACTION
        n = self._frame
        if x.shape[1] < n:
            return 1 if dense_clipping else 0
        starts = np.arange(0, x.shape[1] - n + 1, n // 2)
        frames = x[:, starts[:, np.newaxis] + np.arange(n)] * self._probe_window
        top = min(int(DECLIP_PROBE_MAX_HZ / self.sample_rate * n), n // 2 + 1)
        mag = np.abs(sp_fft.rfft(frames, axis=-1)[..., :top])
        energy = float(np.sum(mag * mag))
        if energy <= 0.0:
            return 1 if dense_clipping else 0
        sparsity = float(np.sum(mag)) / math.sqrt(energy * mag.size)
        if dense_clipping:
            return 0 if sparsity > DECLIP_DENSE_CLIP_SPARSITY else 1
        if sparsity < DECLIP_LONG_SPARSITY:
            return 1
        if sparsity > DECLIP_SHORT_SPARSITY:
            return -1
        return 0

    def _process_hop(self, x_in: Array, x_out: Array) -> Array:
        hop = self._hop
        first_valid = self._history - self._hop_index * hop
        if self.params.clip_level <= 0.0:
            self.clip_level_detected = float(
                _detect_clip_level(np.ascontiguousarray(x_in), self.clip_level_detected, first_valid)
            )
        level = self.clip_level_detected
        span = x_in.shape[1]
        # weighted sum of the frames' corrections and the sum of their weights (Hann), per sample
        acc = np.zeros((2, self.num_channels, span))
        acc[:, :, : self._history] = self._acc
        clipped = np.zeros_like(x_in, dtype=bool)
        if level > 0.0:
            clipped = np.abs(x_in) >= self.params.threshold * level
            clipped[:, : max(first_valid, 0)] = False
        if clipped.any():
            size = self._frame_size(x_in[:, max(first_valid, 0) :], float(clipped.mean()))
            self.hops_by_frame[self._framings[size][0]] += 1
            frame, step, synth, (c0, c1) = self._framings[size]
            # the first frame starts where the previous hop's frames end (a frame's last step)
            starts = np.arange(self._history - frame + step, span - frame + 1, step)
            idx = starts[:, np.newaxis] + np.arange(frame)
            # a frame is restored when a clipped sample lies in its centre part (where the
            # synthesis weight is high); every sample lies in the centre of some frames
            sel = clipped[:, idx[:, c0:c1]].any(axis=2)  # (channels, frames)
            group = 1
            if self.num_channels == 2:
                # stereo: both channels of a frame are restored together, with a common support
                # (joint sparsity); a channel without clipped samples there only votes
                group = 2
                both = np.repeat(np.any(sel, axis=0, keepdims=True), 2, axis=0)
                fi, chan = np.nonzero(both.T)  # frame-major: a frame's channels are adjacent
            else:
                chan, fi = np.nonzero(sel)
            if chan.size:
                frames = x_in[chan[:, np.newaxis], idx[fi]]
                mask = clipped[chan[:, np.newaxis], idx[fi]]
                mag = np.maximum(np.abs(frames), level)
                lower = np.where(mask & (frames > 0), mag, np.where(mask, -np.inf, frames))
                upper = np.where(mask & (frames < 0), -mag, np.where(mask, np.inf, frames))
                iterations = declip_frame_iterations(mask.mean(axis=1), self.params.max_iterations)
                restored = aspade(
                    frames, lower, upper, sparsity_step=self.params.sparsity_step,
                    sparsity_growth=self.params.sparsity_growth, iterations=iterations,
                    epsilon=DECLIP_EPSILON * level, group=group,
                )
                weight = mask * synth
                delta = (restored - frames) * weight
                for r in range(chan.size):
                    s0 = starts[fi[r]]
                    acc[0, chan[r], s0 : s0 + frame] += delta[r]
                    acc[1, chan[r], s0 : s0 + frame] += weight[r]
                self.frames_repaired += int(np.count_nonzero(mask.any(axis=1)))
        self._acc = acc[:, :, hop:].copy()
        wsum = acc[1, :, :hop]
        out = x_in[:, :hop] + acc[0, :, :hop] / np.where(wsum > 0.0, wsum, 1.0)
        out[:, : max(first_valid, 0)] = 0.0  # before the stream: silence
        cl = clipped[:, :hop]
        if cl.any():
            # no flat run: restored samples stay beyond the clip level by alternating amounts
            parity = (np.arange(hop) + self._hop_index * hop) % 2
            bound = level * (1.0 + DECLIP_BOUND_RISE * (1.0 + parity))
            bound = np.maximum(bound, np.abs(x_in[:, :hop]))
            fix = cl & (np.abs(out) <= bound)
            out[fix] = (np.sign(x_in[:, :hop]) * bound)[fix]
        return out * self._gain
