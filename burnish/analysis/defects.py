"""Defect detection for mix analysis, in one streaming pass.

:class:`DefectDetector` takes blocks of any size (``update``) and returns a list of
:class:`~burnish.analysis.issues.Issue` (``result``). Memory is bounded: per-channel counters,
a long-term spectrum, per-band level histograms and short lists of events; no whole-file buffer.

Detectors (see ``docs/defects.md`` for thresholds and measured accuracy):

- ``clipping``: samples at full scale (``|x| >= 0.999``), counted per channel with run lengths;
  also flat-topped peaks (runs of 3+ equal samples at the channel's peak) below full scale.
- ``click``: 1-3 sample impulses. The 4th difference of the signal (a steep high-pass,
  ``(2 sin(w/2))**4``) is compared with a robust local level (the largest of the medians of the
  256-sample sub-block and its two neighbours); a click must stand out on both channels of a
  stereo file (or far out on one), and detections closer than 2 ms are merged.
- ``dc_offset``: the mean per channel.
- ``noise``: per-band minimum statistics (a low percentile of short-time band powers, corrected
  for its bias on noise) give the stationary floor; SNR = (total - floor) / floor.
- ``polarity``: the correlation of left and right below 150 Hz, from the cross-spectrum.
- ``silence``: digital silence (all-zero frames) at the head and tail, exact to the sample, and
  long all-zero gaps inside.
- ``upsampled`` / ``bandwidth``: the highest frequency of the long-term spectrum that stands
  clear of the floor above it.
- ``bit_depth``: the effective bit depth from the integer codes on the file's grid.
- ``intersample_peak``: from the loudness meter's true peak, :func:`intersample_peak_issues`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.analysis.issues import Issue, Severity
from burnish.audio import check_audio, check_sample_rate
from burnish.errors import ParameterError
from burnish.units import gain_to_db, power_to_db

Array = npt.NDArray[np.float64]

#: A sample at or above this magnitude counts as clipped (-0.0087 dBFS).
CLIP_LEVEL = 0.999
#: Click detection: sub-block of the robust local level, in samples.
CLICK_SUB_SAMPLES = 256
#: Samples of the 4th-difference score processed at a time (a multiple of the sub-block).
CLICK_FRAME_SAMPLES = 4096
#: Score (4th-difference peak over the local robust level) each channel must reach (stereo).
CLICK_SCORE_BOTH = 60.0
#: Score one channel alone must reach (mono files, or a click on one channel of a stereo file).
CLICK_SCORE_ONE = 150.0
#: Detections closer than this are one click.
CLICK_MERGE_S = 0.002
#: At most this many clicks are listed one by one; more are summarised.
MAX_CLICKS_LISTED = 50
#: Histogram of band levels for the noise floor: range and resolution in dB.
HIST_MIN_DB = -160.0
HIST_MAX_DB = 20.0
HIST_STEP_DB = 0.25
#: Number of equal-width bands for the noise floor.
NOISE_BANDS = 32
#: Percentile of the short-time band powers taken as the noise floor.
NOISE_PERCENTILE = 10.0
#: The floor density is taken from the band of this rank, quietest first (0 = quietest).
NOISE_RANK = 2
#: Polarity: the low band is below this frequency (and above POLARITY_LOW_HZ, to skip DC).
POLARITY_CUTOFF_HZ = 150.0
POLARITY_LOW_HZ = 25.0
#: Digital silence inside the programme is reported from this length on.
SILENT_GAP_S = 1.0
#: A low-pass cliff: the kHz below stands this far above everything above it.
BANDWIDTH_CLIFF_DB = 25.0
#: ...over this transition band (a resampler's or encoder's filter slope).
BANDWIDTH_TRANSITION_HZ = 1500.0
#: Digital silence at the head or tail is reported from this length on.
EDGE_SILENCE_S = 0.05
#: Music sample rates, for naming the likely original rate of upsampled audio.
STANDARD_RATES = (
    44100,
    48000,
    88200,
    96000,
    176400,
    192000,
)

# Integer state per channel for the sample kernel.
_I_CLIP, _I_RUNS, _I_RUNS3, _I_LONGEST, _I_RUN, _I_FIRST, _I_LAST = 0, 1, 2, 3, 4, 5, 6
_I_PEAKCOUNT, _I_PEAKRUN, _I_PEAKRUNS3, _I_CODES, _I_OFFGRID, _I_PEAKFIRST, _I_PEAKLAST = (
    7,
    8,
    9,
    10,
    11,
    12,
    13,
)
_N_ISTATE = 14
# Float state per channel.
_F_SUM, _F_SUMSQ, _F_PEAK, _F_PREV = 0, 1, 2, 3
_N_FSTATE = 4


@njit(cache=True, nogil=True)
def _sample_stats_kernel(
    block: npt.NDArray[np.float64],
    offset: int,
    code_scale: float,
    istate: npt.NDArray[np.int64],
    fstate: npt.NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """Update per-channel counters with one block (runs continue across blocks)."""
    num_channels, n = block.shape
    for c in range(num_channels):
        s = 0.0
        sq = 0.0
        peak = fstate[c, _F_PEAK]
        prev = fstate[c, _F_PREV]
        run = istate[c, _I_RUN]
        peak_run = istate[c, _I_PEAKRUN]
        codes = istate[c, _I_CODES]
        for i in range(n):
            x = block[c, i]
            s += x
            sq += x * x
            a = abs(x)
            # full-scale clipping
            if a >= CLIP_LEVEL:
                istate[c, _I_CLIP] += 1
                if run == 0:
                    istate[c, _I_RUNS] += 1
                    if istate[c, _I_FIRST] < 0:
                        istate[c, _I_FIRST] = offset + i
                run += 1
                if run == 3:
                    istate[c, _I_RUNS3] += 1
                if run > istate[c, _I_LONGEST]:
                    istate[c, _I_LONGEST] = run
                istate[c, _I_LAST] = offset + i
            else:
                run = 0
            # flat tops at the running peak
            if a > peak:
                peak = a
                istate[c, _I_PEAKCOUNT] = 1
                istate[c, _I_PEAKRUNS3] = 0
                istate[c, _I_PEAKFIRST] = offset + i
                istate[c, _I_PEAKLAST] = offset + i
                peak_run = 1
            elif a == peak and a > 0.0:
                istate[c, _I_PEAKCOUNT] += 1
                istate[c, _I_PEAKLAST] = offset + i
                if x == prev:
                    peak_run += 1
                    if peak_run == 3:
                        istate[c, _I_PEAKRUNS3] += 1
                else:
                    peak_run = 1
            else:
                peak_run = 0
            prev = x
            # integer codes on the file's grid
            if code_scale > 0.0:
                v = x * code_scale
                r = np.rint(v)
                if r != v:
                    istate[c, _I_OFFGRID] += 1
                else:
                    codes |= np.int64(abs(r))
        fstate[c, _F_SUM] += s
        fstate[c, _F_SUMSQ] += sq
        fstate[c, _F_PEAK] = peak
        fstate[c, _F_PREV] = prev
        istate[c, _I_RUN] = run
        istate[c, _I_PEAKRUN] = peak_run
        istate[c, _I_CODES] = codes


@njit(cache=True, nogil=True)
def _silence_kernel(
    block: npt.NDArray[np.float64],
    offset: int,
    min_gap: int,
    state: npt.NDArray[np.int64],
    gaps: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """Track the first and last non-zero frame and all-zero gaps longer than ``min_gap``.

    ``state`` = [first non-zero frame, last non-zero frame, number of gaps]; gaps beyond the
    capacity of ``gaps`` are counted but not stored.
    """
    num_channels, n = block.shape
    for i in range(n):
        nonzero = False
        for c in range(num_channels):
            if block[c, i] != 0.0:
                nonzero = True
                break
        if not nonzero:
            continue
        p = offset + i
        if state[0] < 0:
            state[0] = p
        elif p - state[1] > min_gap:
            g = state[2]
            if g < gaps.shape[0]:
                gaps[g, 0] = state[1] + 1
                gaps[g, 1] = p
            state[2] = g + 1
        state[1] = p


@njit(cache=True, nogil=True)
def _d4(seg: npt.NDArray[np.float64], c: int, j: int) -> float:  # pragma: no cover - compiled
    """4th difference (1, -4, 6, -4, 1) centred on ``seg[c, j]``."""
    return (
        seg[c, j - 2] - 4.0 * seg[c, j - 1] + 6.0 * seg[c, j] - 4.0 * seg[c, j + 1] + seg[c, j + 2]
    )


@njit(cache=True, nogil=True)
def _click_scan_kernel(
    seg: npt.NDArray[np.float64],
    seg_start: int,
    start: int,
    length: int,
    sub: int,
    threshold_both: float,
    threshold_one: float,
    merge_samples: int,
    events: npt.NDArray[np.float64],
    num_events: int,
    open_event: npt.NDArray[np.float64],
) -> int:  # pragma: no cover - compiled
    """Score samples ``[start, start + length)`` and merge detections into click events.

    ``seg`` holds the samples from absolute index ``seg_start`` on, with at least ``sub + 2``
    samples of context on each side where the file has them. The score of a sample is
    ``|d4| / level`` where ``level`` is the largest robust level (median |d4| / 0.6745) of its
    ``sub``-sample block (blocks sit on absolute multiples of ``sub``) and the two neighbours.
    ``open_event`` = [start, end, peak position, peak score, channel mask, active]; closed events
    are appended to ``events`` and the new count is returned (counting past the capacity).
    """
    num_channels, seg_len = seg.shape
    valid_lo = seg_start + 2  # d4 needs two samples on each side
    valid_hi = seg_start + seg_len - 2
    b0 = start // sub - 1
    b1 = (start + length + sub - 1) // sub + 1
    nb = b1 - b0
    med = np.full((num_channels, nb), np.nan)
    scratch = np.empty(sub)
    for c in range(num_channels):
        for k in range(nb):
            p0 = max((b0 + k) * sub, valid_lo)
            p1 = min((b0 + k + 1) * sub, valid_hi)
            if p1 - p0 < 16:
                continue
            step = 4 if p1 - p0 == sub else 1  # every 4th sample of whole blocks is plenty
            m = 0
            for p in range(p0, p1, step):
                scratch[m] = abs(_d4(seg, c, p - seg_start))
                m += 1
            med[c, k] = np.median(scratch[:m])
    level = np.empty((num_channels, nb))
    for c in range(num_channels):
        for k in range(nb):
            v = med[c, k]
            if k > 0 and not (med[c, k - 1] <= v):
                if med[c, k - 1] == med[c, k - 1]:
                    v = med[c, k - 1] if v != v else max(v, med[c, k - 1])
            if k + 1 < nb and med[c, k + 1] == med[c, k + 1]:
                v = med[c, k + 1] if v != v else max(v, med[c, k + 1])
            level[c, k] = 1.0 if v != v else max(v / 0.6745, 1e-5)
    lo = max(start, valid_lo)
    hi = min(start + length, valid_hi)
    two = num_channels == 2
    for p in range(lo, hi):
        j = p - seg_start
        k = p // sub - b0
        hit = False
        mask = 0.0
        peak = 0.0
        a = abs(_d4(seg, 0, j)) / level[0, k]
        if two:
            b = abs(_d4(seg, 1, j)) / level[1, k]
            if a >= threshold_both:
                # the other channel may peak one sample off
                b_near = b
                if p - 1 >= valid_lo:
                    b_near = max(b_near, abs(_d4(seg, 1, j - 1)) / level[1, (p - 1) // sub - b0])
                if p + 1 < valid_hi:
                    b_near = max(b_near, abs(_d4(seg, 1, j + 1)) / level[1, (p + 1) // sub - b0])
                if b_near >= threshold_both:
                    hit = True
                    mask = 3.0
                    peak = min(a, b_near)
            if not hit and max(a, b) >= threshold_one:
                hit = True
                mask = 1.0 if a >= b else 2.0
                peak = max(a, b)
        elif a >= threshold_one:
            hit = True
            mask = 1.0
            peak = a
        if open_event[5] > 0.0 and p - open_event[1] > merge_samples:
            if num_events < events.shape[0]:
                events[num_events, :] = open_event
            num_events += 1
            open_event[5] = 0.0
        if hit:
            if open_event[5] > 0.0:
                open_event[1] = p
                if peak > open_event[3]:
                    open_event[3] = peak
                    open_event[2] = p
                if open_event[4] != mask:
                    open_event[4] = 3.0
            else:
                open_event[0] = p
                open_event[1] = p
                open_event[2] = p
                open_event[3] = peak
                open_event[4] = mask
                open_event[5] = 1.0
    return num_events


def warmup() -> None:
    """Compile the numba kernels on tiny inputs (numba caches them on disk)."""
    block = np.zeros((2, 8))
    _sample_stats_kernel(
        block, 0, 32768.0, np.zeros((2, _N_ISTATE), np.int64), np.zeros((2, _N_FSTATE))
    )
    _silence_kernel(block, 0, 4, np.array([-1, -1, 0], np.int64), np.zeros((2, 2), np.int64))
    _click_scan_kernel(
        np.zeros((2, 64)), 0, 0, 64, 16, 1.0, 1.0, 4, np.zeros((2, 6)), 0, np.zeros(6)
    )


def _fmt_time(t_s: float) -> str:
    minutes, seconds = divmod(max(t_s, 0.0), 60.0)
    return f"{int(minutes)}:{seconds:06.3f}"


def _channel_name(channel: int | None, num_channels: int) -> str:
    if channel is None:
        return "Both channels" if num_channels == 2 else "The audio"
    if num_channels == 1:
        return "The mono channel"
    return ("Left", "Right")[channel] + " channel"


class DefectDetector:
    """Streaming defect detector: ``update(block)`` for every block, then ``result()``.

    Parameters
    ----------
    sample_rate
        Sample rate in Hz.
    num_channels
        1 or 2.
    bit_depth
        Bits per sample of the file (16, 24, 32...), if known: enables the effective bit-depth
        check (integer codes on the ``2**(bit_depth - 1)`` grid) and names the file's max code.
    sensitivity
        Scales the detection thresholds: 2.0 reports defects half as strong, 0.5 only defects
        twice as strong. In (0.1, 10].
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        num_channels: int,
        bit_depth: int | None = None,
        sensitivity: float = 1.0,
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if num_channels not in (1, 2):
            raise ParameterError(f"num_channels={num_channels} must be 1 or 2")
        if bit_depth is not None and not 8 <= int(bit_depth) <= 64:
            raise ParameterError(f"bit_depth={bit_depth} must be in [8, 64] or None")
        if not 0.1 < float(sensitivity) <= 10.0:
            raise ParameterError(f"sensitivity={sensitivity} must be in (0.1, 10]")
        self.num_channels = int(num_channels)
        self.bit_depth = None if bit_depth is None else int(bit_depth)
        self.sensitivity = float(sensitivity)
        # Integer grids only make sense for PCM up to 24 bits (32-bit files are usually float).
        grid_bits = self.bit_depth if self.bit_depth is not None and self.bit_depth <= 24 else 0
        self._grid_bits = grid_bits
        self._code_scale = float(2 ** (grid_bits - 1)) if grid_bits else 0.0
        # Spectrum frame about 85 ms, a power of two.
        self._fft_size = 1 << int(math.ceil(math.log2(0.085 * self.sample_rate)))
        self._window = np.hanning(self._fft_size)
        self._win_power = float(np.sum(self._window**2))
        self._merge_samples = max(1, int(round(CLICK_MERGE_S * self.sample_rate)))
        self._min_gap_samples = int(round(SILENT_GAP_S * self.sample_rate))
        self._min_edge_silence = max(1, int(round(EDGE_SILENCE_S * self.sample_rate)))
        num_bins = self._fft_size // 2 + 1
        freqs = np.arange(num_bins) * self.sample_rate / self._fft_size
        self._freqs_hz = freqs
        edges = np.linspace(0, num_bins, NOISE_BANDS + 1).astype(int)
        self._band_edges = edges
        self._low_bins = np.flatnonzero((freqs >= POLARITY_LOW_HZ) & (freqs <= POLARITY_CUTOFF_HZ))
        self._num_hist = int(round((HIST_MAX_DB - HIST_MIN_DB) / HIST_STEP_DB))
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        c = self.num_channels
        self._pos = 0
        self._istate = np.zeros((c, _N_ISTATE), np.int64)
        self._istate[:, _I_FIRST] = -1
        self._istate[:, _I_LAST] = -1
        self._istate[:, _I_PEAKFIRST] = -1
        self._istate[:, _I_PEAKLAST] = -1
        self._fstate = np.zeros((c, _N_FSTATE))
        self._silence = np.array([-1, -1, 0], np.int64)  # first, last non-zero; gap count
        self._gap_array = np.zeros((100, 2), np.int64)
        # frame FIFO shared by the spectrum and the click detector
        self._fifo = np.zeros((c, 0))
        self._fifo_start = 0  # absolute index of self._fifo[:, 0]
        self._spec_next = 0  # next spectrum frame starts here
        self._click_next = 0  # next click frame starts here
        # spectrum accumulators
        nb = self._fft_size // 2 + 1
        self._psd_sum = np.zeros(nb)
        self._spec_frames = 0
        self._band_hist = np.zeros((NOISE_BANDS, self._num_hist), np.int64)
        self._low_cross = 0.0
        self._low_power = np.zeros(c)
        # clicks
        self._click_events = np.zeros((4096, 6))
        self._num_click_events = 0
        self._open_click = np.zeros(6)
        self._finished = False

    # streaming -------------------------------------------------------------------------------
    def update(self, block: npt.ArrayLike) -> None:
        """Feed the next block ``(channels, samples)``; any length, including zero."""
        if self._finished:
            raise ParameterError("result() was already called: call reset() to start again")
        x = check_audio(block, num_channels=self.num_channels, name="block")
        n = x.shape[1]
        if n == 0:
            return
        x64 = np.ascontiguousarray(x, dtype=np.float64)
        _sample_stats_kernel(x64, self._pos, self._code_scale, self._istate, self._fstate)
        self._track_silence(x64)
        self._fifo = np.concatenate([self._fifo, x64], axis=1) if self._fifo.size else x64
        self._pos += n
        self._process_frames(final=False)

    def _track_silence(self, x: Array) -> None:
        _silence_kernel(x, self._pos, self._min_gap_samples, self._silence, self._gap_array)

    def _process_frames(self, *, final: bool) -> None:
        end = self._fifo_start + self._fifo.shape[1]
        n_fft = self._fft_size
        num_frames = (end - self._spec_next) // n_fft
        if num_frames > 0:
            a = self._spec_next - self._fifo_start
            seg = self._fifo[:, a : a + num_frames * n_fft]
            frames = seg.reshape(self.num_channels, num_frames, n_fft)
            # every other frame (even absolute frame numbers): the statistics need no more, and
            # it halves the cost of the FFTs
            first = (self._spec_next // n_fft) % 2
            self._spectrum_frames(frames[:, first::2, :])
            self._spec_next += num_frames * n_fft
        # all whole click frames at once (their sub-blocks sit on absolute positions, so the
        # grouping doesn't change the result)
        lookahead = CLICK_SUB_SAMPLES + 2
        num_frames = (end - lookahead - self._click_next) // CLICK_FRAME_SAMPLES
        if num_frames > 0:
            self._click_frame(self._click_next, num_frames * CLICK_FRAME_SAMPLES, end)
            self._click_next += num_frames * CLICK_FRAME_SAMPLES
        if final and self._click_next < end:
            self._click_frame(self._click_next, end - self._click_next, end)
            self._click_next = end
        keep_from = min(self._spec_next, self._click_next - lookahead)
        drop = keep_from - self._fifo_start
        if drop > 0:
            self._fifo = self._fifo[:, drop:]
            self._fifo_start = keep_from

    def _spectrum_frames(self, frames: Array) -> None:
        """Accumulate the spectrum of frames shaped ``(channels, num_frames, fft_size)``."""
        active = np.any(frames != 0.0, axis=(0, 2))  # digital silence carries no spectrum
        if not np.all(active):
            frames = frames[:, active, :]
        num = frames.shape[1]
        if num == 0:
            return
        spec = np.fft.rfft(frames * self._window, axis=2)
        power = spec.real**2 + spec.imag**2
        # one-sided power scaled so that the bins sum to the frame's mean square
        scale = 2.0 / (self._fft_size * self._win_power)
        mean_power = power.mean(axis=0) * scale  # (num_frames, bins)
        for row in mean_power:  # frame by frame: the same sums whatever the block size
            self._psd_sum += row
        self._spec_frames += num
        band_power = np.add.reduceat(mean_power, self._band_edges[:-1], axis=1)
        levels_db = 10.0 * np.log10(np.maximum(band_power, 1e-30))
        bins = np.clip(
            ((levels_db - HIST_MIN_DB) / HIST_STEP_DB).astype(np.int64), 0, self._num_hist - 1
        )
        np.add.at(self._band_hist, (np.broadcast_to(np.arange(NOISE_BANDS), bins.shape), bins), 1)
        if self.num_channels == 2:
            low = spec[:, :, self._low_bins]
            cross = np.sum(low[0].real * low[1].real + low[0].imag * low[1].imag, axis=1)
            lp = np.sum(low.real**2 + low.imag**2, axis=2)  # (channels, num_frames)
            for j in range(num):
                self._low_cross += float(cross[j])
                self._low_power += lp[:, j]

    def _click_frame(self, start: int, length: int, end: int) -> None:
        """Score samples [start, start + length) and collect click events."""
        sub = CLICK_SUB_SAMPLES
        lo = max(start - sub - 2, 0)
        hi = min(start + length + sub + 2, end)
        seg = self._fifo[:, lo - self._fifo_start : hi - self._fifo_start]
        self._num_click_events = _click_scan_kernel(
            np.ascontiguousarray(seg),
            lo,
            start,
            length,
            sub,
            CLICK_SCORE_BOTH / self.sensitivity,
            CLICK_SCORE_ONE / self.sensitivity,
            self._merge_samples,
            self._click_events,
            self._num_click_events,
            self._open_click,
        )

    # results ---------------------------------------------------------------------------------
    def result(self) -> list[Issue]:
        """All findings, most serious first. Call once, after the last ``update``."""
        if not self._finished:
            self._process_frames(final=True)
            if self._open_click[5] > 0.0:
                if self._num_click_events < self._click_events.shape[0]:
                    self._click_events[self._num_click_events] = self._open_click
                self._num_click_events += 1
                self._open_click[5] = 0.0
            self._finished = True
            self._fifo = np.zeros((self.num_channels, 0))
        issues: list[Issue] = []
        if self._pos == 0:
            return issues
        issues += self._silence_issues()
        issues += self._clipping_issues()
        issues += self._click_issues()
        issues += self._dc_issues()
        issues += self._spectrum_issues()
        issues += self._bit_depth_issues()
        issues.sort(key=lambda i: (-i.rank, i.start_s, i.kind))
        return issues

    @property
    def duration_s(self) -> float:
        return self._pos / self.sample_rate

    def _silence_issues(self) -> list[Issue]:
        sr = self.sample_rate
        total = self._pos
        first_nonzero, last_nonzero, num_gaps = (int(v) for v in self._silence)
        if first_nonzero < 0:
            return [
                Issue(
                    "silence",
                    0.0,
                    total / sr,
                    None,
                    total / sr,
                    "s",
                    "high",
                    "The file is completely silent (every sample is zero): check the export.",
                    {"samples": total},
                )
            ]
        out: list[Issue] = []
        head = first_nonzero
        tail = total - 1 - last_nonzero
        for where, count, start in (("start", head, 0), ("end", tail, total - tail)):
            if count < self._min_edge_silence:
                continue
            dur = count / sr
            severity: Severity = "low" if dur >= 2.0 else "info"
            out.append(
                Issue(
                    "silence",
                    start / sr,
                    (start + count) / sr,
                    None,
                    dur,
                    "s",
                    severity,
                    f"{dur:.3f} s of digital silence ({count} samples) at the {where}:"
                    + (
                        " trim it if it isn't meant to be there."
                        if dur >= 2.0
                        else " fine for most uses."
                    ),
                    {"samples": count, "position": where},
                )
            )
        for a, b in self._gap_array[: min(num_gaps, len(self._gap_array))].tolist():
            dur = (b - a) / sr
            out.append(
                Issue(
                    "silence",
                    a / sr,
                    b / sr,
                    None,
                    dur,
                    "s",
                    "info",
                    f"{dur:.2f} s of digital silence inside the track at {_fmt_time(a / sr)}:"
                    " check that the gap is intended (a dropout would sound like this).",
                    {"samples": b - a, "position": "inside"},
                )
            )
        return out

    def _clipping_issues(self) -> list[Issue]:
        sr = self.sample_rate
        out: list[Issue] = []
        total = max(self._pos, 1)
        for c in range(self.num_channels):
            st = self._istate[c]
            name = _channel_name(c, self.num_channels)
            count = int(st[_I_CLIP])
            if count > 0:
                fraction = count / total
                runs3 = int(st[_I_RUNS3])
                if fraction >= 1e-4 or runs3 >= 10:
                    severity: Severity = "high"
                elif runs3 > 0 or count >= 10:
                    severity = "medium"
                else:
                    severity = "low"
                out.append(
                    Issue(
                        "clipping",
                        st[_I_FIRST] / sr,
                        (st[_I_LAST] + 1) / sr,
                        c,
                        float(count),
                        "samples",
                        severity,
                        f"{name} clips: {count} samples at full scale in {int(st[_I_RUNS])} runs"
                        f" (longest {int(st[_I_LONGEST])}) between {_fmt_time(st[_I_FIRST] / sr)}"
                        f" and {_fmt_time(st[_I_LAST] / sr)}. Lower the level before the"
                        " converter or limiter and re-export; clipped peaks can't be undone cleanly.",
                        {
                            "clipped_samples": count,
                            "clipped_fraction": fraction,
                            "runs": int(st[_I_RUNS]),
                            "runs_of_3_or_more": runs3,
                            "longest_run_samples": int(st[_I_LONGEST]),
                        },
                    )
                )
                continue
            # flat tops below full scale: many runs of 3+ identical samples at the channel's peak
            peak = float(self._fstate[c, _F_PEAK])
            flat_runs = int(st[_I_PEAKRUNS3])
            if peak > 0.0 and flat_runs >= 3:
                severity = "medium" if flat_runs >= 20 else "low"
                out.append(
                    Issue(
                        "clipping",
                        st[_I_PEAKFIRST] / sr,
                        (st[_I_PEAKLAST] + 1) / sr,
                        c,
                        float(st[_I_PEAKCOUNT]),
                        "samples",
                        severity,
                        f"{name} has {flat_runs} flat-topped peaks at {gain_to_db(peak):.2f} dBFS"
                        f" ({int(st[_I_PEAKCOUNT])} samples at exactly the peak): it was probably"
                        " clipped and then turned down. Use an unclipped source if you have one.",
                        {"peak_dbfs": gain_to_db(peak), "flat_runs": flat_runs},
                    )
                )
        return out

    def _click_issues(self) -> list[Issue]:
        sr = self.sample_rate
        n = self._num_click_events
        events = self._click_events[: min(n, self._click_events.shape[0])]
        out: list[Issue] = []
        severity: Severity = "high" if n >= 5 else "medium"
        for row in events[:MAX_CLICKS_LISTED]:
            start, stop, peak_pos, peak, mask = (
                int(row[0]),
                int(row[1]),
                row[2],
                row[3],
                int(row[4]),
            )
            channel = None if mask == 3 else mask - 1
            if self.num_channels == 1:
                channel = 0
            where = (
                "on both channels"
                if channel is None and self.num_channels == 2
                else (
                    ""
                    if self.num_channels == 1
                    else f"on the {('left', 'right')[channel or 0]} channel"
                )
            )
            level_db = 20.0 * math.log10(max(peak, 1e-12))
            t = peak_pos / sr
            out.append(
                Issue(
                    "click",
                    start / sr,
                    (stop + 1) / sr,
                    channel,
                    level_db,
                    "dB",
                    severity,
                    f"Click at {_fmt_time(t)} {where}".rstrip() + f" ({level_db:.0f} dB above the"
                    " local level): repair it with a de-click tool or edit it out.",
                    {"time_s": t, "sample": int(peak_pos)},
                )
            )
        if n > MAX_CLICKS_LISTED:
            out.append(
                Issue(
                    "click",
                    events[MAX_CLICKS_LISTED, 0] / sr,
                    self.duration_s,
                    None,
                    float(n),
                    "clicks",
                    "high",
                    f"{n} clicks in all ({n - MAX_CLICKS_LISTED} more than listed): the file"
                    " needs de-clicking (or the export or transfer has a fault).",
                    {"count": n},
                )
            )
        return out

    def _dc_issues(self) -> list[Issue]:
        out: list[Issue] = []
        dur = self.duration_s
        for c in range(self.num_channels):
            mean = float(self._fstate[c, _F_SUM] / self._pos)
            level_db = gain_to_db(abs(mean))
            threshold = 0.001 / self.sensitivity  # -60 dBFS
            if abs(mean) < threshold:
                continue
            if abs(mean) >= 0.02:
                severity: Severity = "high"
            elif abs(mean) >= 0.005:
                severity = "medium"
            else:
                severity = "low"
            name = _channel_name(c, self.num_channels)
            out.append(
                Issue(
                    "dc_offset",
                    0.0,
                    dur,
                    c,
                    mean,
                    "linear",
                    severity,
                    f"{name} has a DC offset of {mean:+.4f} ({level_db:.0f} dBFS): remove it"
                    " (a DC-blocking high-pass around 10-20 Hz) before mastering; it wastes"
                    " headroom and can thump at edits.",
                    {"dc_dbfs": level_db},
                )
            )
        return out

    def _bit_depth_issues(self) -> list[Issue]:
        if not self._grid_bits or self.bit_depth is None:
            return []
        if int(np.sum(self._istate[:, _I_OFFGRID])) > 0:
            return []
        codes = 0
        for c in range(self.num_channels):
            codes |= int(self._istate[c, _I_CODES])
        if codes == 0:
            return []
        trailing = (codes & -codes).bit_length() - 1
        effective = self.bit_depth - trailing
        if trailing == 0:
            return []
        severity: Severity = "low" if effective >= 16 else "medium"
        return [
            Issue(
                "bit_depth",
                0.0,
                self.duration_s,
                None,
                float(effective),
                "bits",
                severity,
                f"The file is {self.bit_depth}-bit but holds only {effective}-bit audio (the"
                f" lowest {trailing} bits are always zero): the extra bits add size, not"
                " resolution. Master from the real source resolution if you can.",
                {"container_bits": self.bit_depth, "zero_low_bits": trailing},
            )
        ]

    # spectrum-based findings -----------------------------------------------------------------
    def _spectrum_issues(self) -> list[Issue]:
        if self._spec_frames == 0:
            return []
        out: list[Issue] = []
        out += self._noise_issues()
        out += self._polarity_issues()
        out += self._bandwidth_issues()
        return out

    def noise_floor(self) -> tuple[float, float]:
        """Estimated stationary noise power (mean square) and the total power of non-silent audio.

        Returns ``(noise_power, total_power)``; ``result()`` turns them into an SNR in dB.
        """
        hist = self._band_hist
        frames = self._spec_frames
        cum = np.cumsum(hist, axis=1)
        target = NOISE_PERCENTILE / 100.0 * frames
        idx = np.argmax(cum >= target, axis=1)
        band_db = HIST_MIN_DB + (idx + 0.5) * HIST_STEP_DB
        band_power = 10.0 ** (band_db / 10.0)
        # The 10th percentile of a noise band's power lies below its mean; the bands hold about
        # fft_size / (2 * NOISE_BANDS) bins each; with Hann windows the effective degrees of
        # freedom are about the bin count (per channel, times channels).
        dof = max(self._fft_size / (2 * NOISE_BANDS) * self.num_channels, 2.0)
        bias = max(1.0 - 1.2816 * math.sqrt(2.0 / dof), 0.3)
        band_power = band_power / bias
        # Broadband (white) floor: the music rests in some bands but never in all of them, so the
        # floor's density is that of the third-quietest band (band 0, with DC and rumble, is
        # left out), spread over the whole band.
        widths = np.diff(self._band_edges).astype(np.float64)
        density = np.sort(band_power[1:] / widths[1:])
        noise = float(density[min(NOISE_RANK, density.size - 1)] * np.sum(widths))
        total = float(np.sum(self._fstate[:, _F_SUMSQ]) / (self._pos * self.num_channels))
        return noise, total

    def _noise_issues(self) -> list[Issue]:
        noise, total = self.noise_floor()
        if total <= 0.0:
            return []
        noise = min(noise, total)
        signal = max(total - noise, 1e-30)
        snr_db = power_to_db(signal) - power_to_db(noise)
        floor_db = power_to_db(noise)
        s = self.sensitivity
        if snr_db < 20.0 * s:
            severity: Severity = "high"
        elif snr_db < 36.0 * s:
            severity = "medium"
        elif snr_db < 46.0 * s:
            severity = "low"
        else:
            severity = "info"
        if severity == "info":
            msg = (
                f"Noise floor about {floor_db:.0f} dBFS, {snr_db:.0f} dB below the music:"
                " clean enough."
            )
        else:
            msg = (
                f"Steady background noise (hiss) at about {floor_db:.0f} dBFS, only"
                f" {snr_db:.0f} dB below the music: mastering (compression, limiting) will bring"
                " it up. Use a de-noiser or quieter source tracks."
            )
        return [
            Issue(
                "noise",
                0.0,
                self.duration_s,
                None,
                snr_db,
                "dB",
                severity,
                msg,
                {"noise_floor_dbfs": floor_db, "snr_db": snr_db},
            )
        ]

    def low_band_correlation(self) -> float | None:
        """Correlation of left and right below 150 Hz (``None`` for mono or no low end)."""
        if self.num_channels != 2:
            return None
        denom = math.sqrt(float(self._low_power[0] * self._low_power[1]))
        if denom <= 0.0:
            return None
        return self._low_cross / denom

    def _polarity_issues(self) -> list[Issue]:
        corr = self.low_band_correlation()
        if corr is None:
            return []
        # only meaningful when the low band holds some energy (not just noise)
        low_power = (
            float(np.sum(self._low_power))
            * 2.0
            / (self._fft_size * self._win_power * self._spec_frames * 2)
        )
        if power_to_db(low_power) < -70.0:
            return []
        if corr < -0.5:
            severity: Severity = "high"
        elif corr < -0.2:
            severity = "medium"
        else:
            return []
        return [
            Issue(
                "polarity",
                0.0,
                self.duration_s,
                None,
                corr,
                "correlation",
                severity,
                f"The low end (below {POLARITY_CUTOFF_HZ:.0f} Hz) of left and right is out of"
                f" phase (correlation {corr:+.2f}): it cancels in mono. One channel is probably"
                " polarity-inverted: flip the polarity of one channel (often the right).",
                {"cutoff_hz": POLARITY_CUTOFF_HZ},
            )
        ]

    def bandwidth_hz(self) -> float | None:
        """Frequency of a low-pass cliff in the long-term spectrum, or ``None`` if there is none.

        A cliff is where the average level over a kilohertz, ``BANDWIDTH_TRANSITION_HZ`` below a
        frequency, stands at least ``BANDWIDTH_CLIFF_DB`` above the highest level anywhere above
        it: the sign of a lossy
        encoder's low-pass or of upsampling. A natural roll-off, or hiss over the whole band, has
        no cliff.
        """
        if self._spec_frames == 0:
            return None
        psd = self._psd_sum / self._spec_frames
        per_hz = self._fft_size / self.sample_rate  # bins per Hz
        width = max(1, int(round(200.0 * per_hz)))
        level_db = 10.0 * np.log10(
            np.maximum(np.convolve(psd, np.ones(width) / width, mode="same"), 1e-30)
        )
        n = level_db.size
        edge = width // 2 + 1  # the smoothing runs off the ends there
        level_db = level_db[: n - edge]
        max_above = np.maximum.accumulate(level_db[::-1])[::-1]
        span = max(2, int(round(1000.0 * per_hz)))
        guard = int(round(BANDWIDTH_TRANSITION_HZ * per_hz))  # room for a gentle filter slope
        csum = np.concatenate(([0.0], np.cumsum(level_db)))
        k = np.arange(span + guard, level_db.size)
        mean_below = (csum[k - guard] - csum[k - guard - span]) / span
        cliff = np.flatnonzero(mean_below - max_above[k] >= BANDWIDTH_CLIFF_DB)
        if cliff.size == 0:
            return None
        # the cliff's top: the highest bin still within 10 dB of the level below it
        top = int(k[cliff[-1]])
        ref = mean_below[cliff[-1]]
        while top > 0 and level_db[top] < ref - 10.0:
            top -= 1
        return float(self._freqs_hz[top])

    def _bandwidth_issues(self) -> list[Issue]:
        bw = self.bandwidth_hz()
        nyquist = self.sample_rate / 2
        if bw is None or bw <= 0.0:
            return []
        dur = self.duration_s
        if bw >= 0.9 * nyquist:
            return []
        # the cliff's top includes the filter's transition band, hence the 0.85
        likely = [r for r in STANDARD_RATES if r / 2 >= bw * 0.85 and r < self.sample_rate]
        if self.sample_rate > 48000 and bw < 0.55 * nyquist and likely:
            original = likely[0]
            return [
                Issue(
                    "upsampled",
                    0.0,
                    dur,
                    None,
                    bw,
                    "Hz",
                    "medium",
                    f"The file runs at {self.sample_rate / 1000:g} kHz but holds nothing above"
                    f" {bw / 1000:.1f} kHz: it was probably upsampled from"
                    f" {original / 1000:g} kHz{' (or 48 kHz)' if original == 44100 else ''}."
                    " Master at the original rate, or just know the extra bandwidth is empty.",
                    {"bandwidth_hz": bw, "likely_original_rate": original},
                )
            ]
        severity: Severity = "low" if bw < 0.6 * nyquist else "info"
        return [
            Issue(
                "bandwidth",
                0.0,
                dur,
                None,
                bw,
                "Hz",
                severity,
                f"Content stops at about {bw / 1000:.1f} kHz (of {nyquist / 1000:g} kHz"
                " possible): typical of a lossy (MP3/AAC/Ogg) source or a low-pass; use a"
                " lossless source if you have one.",
                {"bandwidth_hz": bw},
            )
        ]


def intersample_peak_issues(
    true_peak_dbtp_per_channel: list[float] | tuple[float, ...] | npt.ArrayLike,
    sample_peak_dbfs_per_channel: list[float] | tuple[float, ...] | npt.ArrayLike,
    *,
    duration_s: float,
) -> list[Issue]:
    """Issues for inter-sample peaks above 0 dBTP, from the loudness meter's measurements.

    One issue per channel whose true peak exceeds 0 dBTP: ``low`` up to +0.5 dBTP, ``medium`` up
    to +1.5 dBTP, ``high`` above.
    """
    tp = np.atleast_1d(np.asarray(true_peak_dbtp_per_channel, dtype=np.float64))
    sp = np.atleast_1d(np.asarray(sample_peak_dbfs_per_channel, dtype=np.float64))
    if tp.shape != sp.shape:
        raise ParameterError(
            f"true peaks ({tp.size}) and sample peaks ({sp.size}) must have one value per channel"
        )
    if duration_s < 0:
        raise ParameterError(f"duration_s={duration_s} must be >= 0")
    out: list[Issue] = []
    for c, (t, s) in enumerate(zip(tp, sp, strict=True)):
        if not t > 0.0:
            continue
        severity: Severity = "low" if t <= 0.5 else "medium" if t <= 1.5 else "high"
        name = _channel_name(c, tp.size)
        out.append(
            Issue(
                "intersample_peak",
                0.0,
                float(duration_s),
                c,
                float(t),
                "dBTP",
                severity,
                f"{name} peaks at {t:+.2f} dBTP between samples ({t - s:.2f} dB above its"
                " highest sample): it will clip in converters and lossy encoders. Use a true-peak"
                " limiter with a ceiling of -1 dBTP.",
                {"sample_peak_dbfs": float(s)},
            )
        )
    return out


def detect_defects(
    audio: npt.ArrayLike,
    *,
    sample_rate: int,
    bit_depth: int | None = None,
    sensitivity: float = 1.0,
) -> list[Issue]:
    """Offline convenience: run a :class:`DefectDetector` over a whole ``(channels, samples)``."""
    x = check_audio(audio)
    detector = DefectDetector(
        sample_rate=sample_rate,
        num_channels=x.shape[0],
        bit_depth=bit_depth,
        sensitivity=sensitivity,
    )
    step = 1 << 16
    for i in range(0, x.shape[1], step):
        detector.update(x[:, i : i + step])
    return detector.result()
