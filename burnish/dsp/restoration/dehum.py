"""Dehum: mains hum as tracked sinusoids at the harmonics of 50 or 60 Hz, subtracted (docs/restoration.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from burnish.dsp.base import check_range, register_processor
from burnish.dsp.restoration.common import Array, _HopProcessor
from burnish.errors import ParameterError

# --------------------------------------------------------------------------------------------
# dehum


#: A given mains frequency must lie in this range (Hz).
MIN_MAINS_HZ, MAX_MAINS_HZ = 40.0, 70.0


@dataclass(frozen=True, slots=True)
class DehumParams:
    """Mains hum removal.

    ``mains_hz``: 0 detects 50 or 60 Hz (from the first hum that stands out; until then nothing
    is removed), or the mains frequency to use, in [40, 70] (50 / 60, or a measured off-nominal
    one such as 49.8: the tracker then starts from it). ``harmonics`` in [1, 20]: how many harmonics (the
    fundamental counts as the first). ``window_s`` in [0.2, 4]: the estimation window; the
    removed band around each harmonic is about ``2 / window_s`` Hz wide (the notch width).
    ``max_drift_hz`` in [0, 2]: how far the fundamental may sit from nominal.
    """

    mains_hz: float = 0.0
    harmonics: int = 5
    window_s: float = 0.75
    max_drift_hz: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.mains_hz, bool) or not isinstance(self.mains_hz, (int, float)) or not (
            self.mains_hz == 0 or MIN_MAINS_HZ <= self.mains_hz <= MAX_MAINS_HZ
        ):
            raise ParameterError(
                f"mains_hz={self.mains_hz!r} must be 0 (auto) or in [{MIN_MAINS_HZ:g},"
                f" {MAX_MAINS_HZ:g}] (50 or 60, or a measured mains frequency)"
            )
        check_range("harmonics", self.harmonics, 1, 20)
        check_range("window_s", self.window_s, 0.2, 4.0)
        check_range("max_drift_hz", self.max_drift_hz, 0.0, 2.0)


#: Fraction of the estimation window before its centre (the rest is look-ahead).
DEHUM_BACK_FRACTION = 2.0 / 3.0
#: Frequency tracking: the lines of the last this many hops (~3 s), demodulated at the nominal
#: harmonics twice per hop (at each hop boundary and half a hop before it), are added coherently
#: at each candidate fundamental offset, searched in ``DEHUM_TRACK_STEP_HZ`` steps over the
#: allowed drift. (Sampling the lines once per hop, 2.7 Hz, aliased music up to 2.7 Hz beside a
#: harmonic, inside the 0.75-s window's main lobe, onto offsets near nominal.)
DEHUM_TRACK_HOPS = 8
#: ...with fewer hops than this (of complete windows) the fundamental stays where it was.
DEHUM_TRACK_MIN_HOPS = 3
DEHUM_TRACK_STEP_HZ = 0.01
#: The fundamental stays exactly at nominal (or the detected offset) unless the lines agree on
#: another one. The evidence for the best offset is its gain in steady share over nominal,
#: harmonic by harmonic, each gain clipped to +-``DEHUM_TRACK_GAIN_CAP`` (one line that a steady
#: note near it pulls cannot decide alone: mains off nominal moves *every* harmonic by h x the
#: offset, a note moves one) and summed. The track leaves nominal when the sum reaches
#: ``DEHUM_TRACK_ENTER`` at ``DEHUM_TRACK_CONFIRM`` consecutive decisions (hops) at offsets within
#: ``DEHUM_TRACK_TOLERANCE_HZ``, and holds the offset while the best offset stays within that
#: tolerance of it and the sum above ``DEHUM_TRACK_HOLD``; offsets under
#: ``DEHUM_TRACK_MIN_OFFSET_HZ`` are nominal (a 0.02 Hz error costs little: 35 dB left).
DEHUM_TRACK_GAIN_CAP = 0.5
DEHUM_TRACK_ENTER = 1.4
DEHUM_TRACK_HOLD = 0.6
DEHUM_TRACK_CONFIRM = 3
DEHUM_TRACK_TOLERANCE_HZ = 0.05
DEHUM_TRACK_MIN_OFFSET_HZ = 0.02
#: Auto detection: the evidence of the last this many hops (about 3 s) is weighed at each hop.
DEHUM_DETECT_HOPS = 8
#: A line counts as hum when its steady part (the coherent mean of its phasors over those
#: hops, at the best frequency within ``DEHUM_DETECT_DRIFT_HZ`` of the nominal harmonic) has this
#: many times the power of the steady part 1.2 Hz beside it and at +-``DEHUM_REFERENCE_OFFSET_HZ``
#: (a narrow line, not music around it)...
DEHUM_PEAK_RATIO = 3.0
#: ...and at least this share of the line's mean power (its level and phase are steady).
DEHUM_STEADY_SHARE = 0.1
DEHUM_DETECT_DRIFT_HZ = 0.5
#: Step of the detection's search over the fundamental's offset (Hz; 0.125 Hz at the fifth line).
DEHUM_DETECT_GRID_HZ = 0.025
#: A family (50 or 60 Hz) is hum when at least this many of its first five lines are, and more
#: than of the other family; otherwise there is no hum and the audio passes unchanged.
DEHUM_MIN_LINES = 2
#: Exact zeros in every channel for at least this many samples are digital silence: left out of
#: the hum fit and left silent.
DEHUM_SILENT_RUN = 32
#: Offset of the reference bins used for detection (Hz).
DEHUM_REFERENCE_OFFSET_HZ = 4.0


@njit(cache=True, nogil=True)
def _demod_channels(
    x: Array, centre: int, win: Array, back: int, f_norm: Array, harmonics: int, valid: Array
) -> npt.NDArray[np.complex128]:  # pragma: no cover - compiled
    """Windowed least-squares amplitude ``c_k`` of each harmonic ``k * f0`` around ``centre``,
    for every channel of ``x`` (c, n) and every fundamental ``f0`` in ``f_norm`` (cycles per
    sample), one rotation shared by the channels: (candidates, channels, harmonics).

    ``hum(n) ~ Re(c_k exp(j w_k (n - centre)))``; ``valid`` (one weight per sample of ``x``,
    0 or 1) leaves out samples before the stream and digital silence (the weights are
    renormalised).
    """
    c_n = x.shape[0]
    out = np.zeros((f_norm.shape[0], c_n, harmonics), dtype=np.complex128)
    n0 = centre - back
    lo = max(0, -n0)
    hi = min(win.shape[0], x.shape[1] - n0)
    wsum = 0.0
    for i in range(lo, hi):
        wsum += win[i] * valid[n0 + i]
    if wsum <= 0.0:
        return out
    wx = np.empty((c_n, max(hi - lo, 0)))
    for c in range(c_n):
        for i in range(lo, hi):
            wx[c, i - lo] = win[i] * valid[n0 + i] * x[c, n0 + i]
    for f in range(f_norm.shape[0]):
        for k in range(harmonics):
            w = 2.0 * math.pi * f_norm[f] * (k + 1)
            ph = -w * (lo - back)
            z = complex(math.cos(ph), math.sin(ph))
            rot = complex(math.cos(-w), math.sin(-w))
            acc = np.zeros(c_n, dtype=np.complex128)
            for i in range(hi - lo):
                for c in range(c_n):
                    acc[c] += wx[c, i] * z
                z *= rot
            for c in range(c_n):
                out[f, c, k] = 2.0 * acc[c] / wsum
    return out


def _demod_list(
    x: Array, centre: int, win: Array, back: int, f_norm: Array, valid: Array
) -> npt.NDArray[np.complex128]:
    """The amplitude of the mono signal ``x`` at each frequency of ``f_norm`` (cycles per
    sample), as :func:`_demod_channels` fits the fundamental."""
    mono = np.ascontiguousarray(x.reshape(1, -1))
    return np.asarray(_demod_channels(mono, centre, win, back, f_norm, 1, valid)[:, 0, 0])


@njit(cache=True, nogil=True)
def _synth_hum(
    out: Array, start: int, length: int, c0: npt.NDArray[np.complex128], f0a: float,
    c1: npt.NDArray[np.complex128], f1a: float,
) -> None:  # pragma: no cover - compiled
    """Subtract the hum crossfaded from estimate ``c0`` (centre 0) to ``c1`` (centre ``length``).

    ``out[start + i]`` gets ``-= (1 - t) Re(c0 e^{j w0 i}) + t Re(c1 e^{j w1 (i - length)})``.
    """
    for k in range(c0.shape[0]):
        w0 = 2.0 * math.pi * f0a * (k + 1)
        w1 = 2.0 * math.pi * f1a * (k + 1)
        z0 = c0[k]
        r0 = complex(math.cos(w0), math.sin(w0))
        z1 = c1[k] * complex(math.cos(-w1 * length), math.sin(-w1 * length))
        r1 = complex(math.cos(w1), math.sin(w1))
        for i in range(length):
            t = i / length
            out[start + i] -= (1.0 - t) * z0.real + t * z1.real
            z0 *= r0
            z1 *= r1


def _valid_samples(x: Array, first_valid: int, *, silence: bool = True) -> Array:
    """1 for each sample of ``x`` (channels, n) the hum fit may use, 0 before the stream's start
    (``first_valid``) and in digital silence: runs of at least :data:`DEHUM_SILENT_RUN` samples
    that are exactly 0 in every channel (hum never leaves a run of exact zeros; the zeros that
    flush the stream's end are such a run, so the last windows fit the audio they have)."""
    n = x.shape[1]
    valid = np.ones(n)
    valid[: max(0, min(first_valid, n))] = 0.0
    if not silence:
        return valid
    zero = np.all(x == 0.0, axis=0)
    if zero.any():
        edges = np.diff(np.concatenate(([0], zero.view(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        for a, b in zip(starts, ends):
            if b - a >= DEHUM_SILENT_RUN:
                valid[a:b] = 0.0
    return valid


def _hum_power(c: npt.NDArray[np.complex128]) -> float:
    return float(np.sum(np.abs(c) ** 2))


@register_processor
class Dehummer(_HopProcessor):
    """Remove mains hum lines (see :class:`DehumParams`).

    Latency: one hop (about 0.37 s) plus the window's look-ahead (``window_s / 3``).
    ``mains_hz_detected`` and ``fundamental_hz`` report what was found.
    """

    kind: ClassVar[str] = "dehum"
    params_type: ClassVar[type] = DehumParams
    params: DehumParams

    HOP_S = 0.372

    def __init__(self, params: DehumParams, *, sample_rate: int, num_channels: int) -> None:
        super().__init__(params, sample_rate=sample_rate, num_channels=num_channels)
        top_hz = 60.0 * params.harmonics + 2 * params.max_drift_hz * params.harmonics
        if top_hz >= self.sample_rate / 2:
            raise ParameterError(
                f"harmonics={params.harmonics} reaches {top_hz:g} Hz, above the Nyquist"
                f" frequency {self.sample_rate / 2:g} Hz"
            )
        win_len = int(round(params.window_s * self.sample_rate))
        self._back = int(round(win_len * DEHUM_BACK_FRACTION))
        self._ahead = win_len - self._back
        rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(self._back) / self._back)
        fall = 0.5 + 0.5 * np.cos(np.pi * np.arange(self._ahead) / self._ahead)
        self._win = np.concatenate([rise, fall])
        hop = int(round(self.HOP_S * self.sample_rate))
        drift = params.max_drift_hz
        steps = int(math.ceil(drift / DEHUM_TRACK_STEP_HZ - 1e-9))
        self._track_grid = np.clip(np.arange(-steps, steps + 1) * DEHUM_TRACK_STEP_HZ, -drift, drift)
        self._track_zero = steps  # index of offset 0 (nominal)
        self._setup_framing(history=self._back, hop=hop, lookahead=self._ahead)

    def _reset_state(self) -> None:
        self.mains_hz_detected = float(self.params.mains_hz)
        self.fundamental_hz = float(self.params.mains_hz)
        self._c_prev: npt.NDArray[np.complex128] | None = None
        #: (global sample index of the window centre, lines (channels, harmonics)), complete
        #: windows only
        self._track_hist: list[tuple[int, npt.NDArray[np.complex128]]] = []
        self._track_lock: float | None = None  # offset held (Hz) or None (nominal)
        self._track_candidate: float | None = None
        self._track_streak = 0
        self._detect_hist: list[npt.NDArray[np.complex128]] = []
        #: lines of each family that passed the hum tests at the last detection
        self.hum_lines: dict[float, int] = {50.0: 0, 60.0: 0}
        self._f_prev = 0.0
        self._track_valid: Array = np.ones(0)

    def _estimate(self, x: Array, centre: int, valid: Array) -> tuple[npt.NDArray[np.complex128], float]:
        """Per-channel complex amplitudes (channels, harmonics) and the fundamental (Hz).

        The fundamental is nominal (or where detection put it) unless the lines of the last
        ``DEHUM_TRACK_HOPS`` hops, demodulated at the nominal harmonics twice per hop, agree on
        an offset within ``max_drift_hz`` (:meth:`_track_offset`): a DFT over ~3 s, where steady
        hum keeps its power and music, which changes in level and phase, averages down, and an
        offset must be carried by more than one harmonic. (Taking the best offset whatever its
        support let steady notes near one harmonic pull the track: hum exactly at 50 Hz was
        reduced by only 17 dB under an organ's 49 / 98 Hz, though 76 dB at a fixed frequency.)
        The amplitudes are then demodulated at that fundamental in the current window.
        """
        sr = self.sample_rate
        nominal = self.mains_hz_detected
        k = self.params.harmonics
        drift = self.params.max_drift_hz
        xc = np.ascontiguousarray(x)
        if drift <= 0.0:
            c = _demod_channels(xc, centre, self._win, self._back, np.array([nominal / sr]), k,
                                valid)[0]
            return c, nominal
        f_nom = np.array([nominal / sr])
        # the tracker's lines leave out only what lies before the stream (digital silence counts
        # as lines of zero: its thresholds were set so); the amplitudes leave silence out too
        track_valid = self._track_valid
        z = _demod_channels(xc, centre, self._win, self._back, f_nom, k, track_valid)[0]
        base = self._hop_index * self._hop - self._history  # global index of buffer sample 0
        half = self._hop // 2
        for pos in (centre - half, centre):
            if track_valid[max(pos - self._back, 0)] < 1.0:
                continue  # the window reaches before the stream: its phase is biased
            line = z if pos == centre else _demod_channels(
                xc, pos, self._win, self._back, f_nom, k, track_valid)[0]
            if not self._track_hist or self._track_hist[-1][0] < base + pos:
                self._track_hist.append((base + pos, line))
        del self._track_hist[: max(0, len(self._track_hist) - 2 * DEHUM_TRACK_HOPS)]
        if len(self._track_hist) < 2 * DEHUM_TRACK_MIN_HOPS:
            f_hat = self.fundamental_hz
        else:
            df = self._track_offset(nominal, base + centre)
            f_hat = float(np.clip(nominal + df, nominal - drift, nominal + drift))
        if f_hat == nominal:
            if valid is track_valid or np.array_equal(valid, track_valid):
                return z, f_hat
            return _demod_channels(xc, centre, self._win, self._back, f_nom, k, valid)[0], f_hat
        c_hat = _demod_channels(xc, centre, self._win, self._back, np.array([f_hat / sr]), k,
                                valid)[0]
        return c_hat, f_hat

    def _offset_scores(self, nominal: float, now: int) -> Array:
        """Steady share of each harmonic at each offset of ``_track_grid``: (grid, harmonics).

        The history holds lines demodulated at the nominal harmonics; harmonic h of a
        fundamental ``nominal + df`` advances by ``2 pi h (nominal + df) t`` between windows
        ``t`` seconds apart (``now`` is t = 0). A line's steady share is the power of its
        coherent mean over the history divided by its mean power: near 1 for a steady line at
        that frequency, low for music however loud; the channels' shares are averaged.
        """
        hist = np.stack([line for _, line in self._track_hist])  # (lines, channels, harmonics)
        t = np.array([pos - now for pos, _ in self._track_hist], dtype=np.float64) / self.sample_rate
        h = np.arange(1.0, hist.shape[2] + 1.0)
        phase = np.mod((nominal + self._track_grid)[:, np.newaxis, np.newaxis] * h * t[:, np.newaxis], 1.0)
        rot = np.exp(-2j * np.pi * phase)  # (grid, lines, harmonics)
        coherent = np.einsum("gth,tch->gch", rot, hist) / hist.shape[0]
        mean_power = np.maximum(np.mean(np.abs(hist) ** 2, axis=0), 1e-300)
        return np.asarray(np.mean(np.abs(coherent) ** 2 / mean_power, axis=1), dtype=np.float64)

    def _track_offset(self, nominal: float, now: int) -> float:
        """The fundamental's offset from nominal (Hz): 0 unless the harmonics agree on another
        one (see ``DEHUM_TRACK_ENTER`` and the constants beside it)."""
        scores = self._offset_scores(nominal, now)
        total = np.sum(scores, axis=1)
        grid = self._track_grid
        i = int(np.argmax(total))
        df = float(grid[i])
        if 0 < i < grid.shape[0] - 1:
            a, b, c3 = total[i - 1], total[i], total[i + 1]
            denom = a - 2 * b + c3
            if denom < 0.0:
                df += float(np.clip(0.5 * (a - c3) / denom, -1.0, 1.0)) * (grid[1] - grid[0])
        gain = np.clip(scores[i] - scores[self._track_zero], -DEHUM_TRACK_GAIN_CAP, DEHUM_TRACK_GAIN_CAP)
        evidence = float(np.sum(gain))
        tol = DEHUM_TRACK_TOLERANCE_HZ
        off = abs(df) >= DEHUM_TRACK_MIN_OFFSET_HZ
        lock = self._track_lock
        if lock is not None and not (off and abs(df - lock) <= tol and evidence >= DEHUM_TRACK_HOLD):
            lock = None
        if lock is None:
            cand = self._track_candidate
            if off and evidence >= DEHUM_TRACK_ENTER:
                same = cand is not None and abs(df - cand) <= tol
                self._track_streak = self._track_streak + 1 if same else 1
                self._track_candidate = df
            else:
                self._track_streak = 0
                self._track_candidate = None
            if self._track_streak >= DEHUM_TRACK_CONFIRM:
                lock = df
                self._track_streak = 0
                self._track_candidate = None
        else:
            lock = df
        self._track_lock = lock
        return 0.0 if lock is None else lock

    def _detect(self, x: Array, centre: int, valid: Array) -> None:
        """Weigh the hum evidence of the last ``DEHUM_DETECT_HOPS`` hops (see the ``DEHUM_*``
        thresholds): hum is a set of narrow lines at exact multiples of 50 or 60 Hz whose
        frequencies and levels stay put, while musical partials that happen to sit near them
        are off the exact multiple (their phase increment gives them away), change level, or
        come with broadband energy around them."""
        sr = self.sample_rate
        lines = min(self.params.harmonics, 5)
        mono = np.mean(x, axis=0)
        off = DEHUM_REFERENCE_OFFSET_HZ
        freqs = np.array([[m * h + d for h in range(1, lines + 1) for d in (0.0, -off, off)]
                          for m in (50.0, 60.0)]).ravel()
        c = _demod_list(mono, centre, self._win, self._back, freqs / sr, valid)
        self._detect_hist.append(c.reshape(2, lines, 3))
        if len(self._detect_hist) > DEHUM_DETECT_HOPS:
            self._detect_hist.pop(0)
        if len(self._detect_hist) < DEHUM_DETECT_HOPS:
            return
        z = np.stack(self._detect_hist)  # (hops, family, line, [line, below, above])
        n_h = z.shape[0]
        nominal = freqs.reshape(2, lines, 3)
        # phasors are referred to each window's centre: a steady line at f advances by
        # 2 pi f hop / sr per hop. The coherent mean over the hops (a DFT over ~3 s, 0.34 Hz
        # resolution) is the line's steady part; music that wanders in level, phase or
        # frequency averages down. Mains that is off nominal by df puts harmonic h at h df
        # (60.3 Hz: the fifth line 1.5 Hz above 300 Hz), so the lines are tested at a common
        # fundamental offset (a grid over the allowed drift), each against references beside
        # its own frequency; a family's offset is the one that makes the most lines hum.
        hop_s = self._hop / sr
        grid = np.arange(-DEHUM_DETECT_DRIFT_HZ, DEHUM_DETECT_DRIFT_HZ + 1e-9, DEHUM_DETECT_GRID_HZ)
        g = grid[:, np.newaxis, np.newaxis, np.newaxis, np.newaxis]
        t = np.arange(n_h)[np.newaxis, :, np.newaxis, np.newaxis, np.newaxis]
        harm = np.arange(1.0, lines + 1.0)[:, np.newaxis]
        zg = z[np.newaxis]

        def steady(extra_hz: float, scale: Array = harm) -> Array:
            """(grid, family, line, [line, below, above]) steady power at offset ``grid``."""
            f = nominal + g * scale + extra_hz
            rot = np.exp(-2j * np.pi * np.mod(f * hop_s * t, 1.0))
            return np.asarray(np.abs(np.mean(zg * rot, axis=1)) ** 2, dtype=np.float64)

        at = steady(0.0)
        aside = np.maximum(steady(1.2)[..., 0], steady(-1.2)[..., 0])
        p_line = at[..., 0]
        # the +-4 Hz references at their own best offset within the drift (conservative), the
        # +-1.2 Hz ones beside the line at the offset tested
        far = steady(0.0, np.ones_like(harm))
        far_ref = np.max(np.maximum(far[..., 1], far[..., 2]), axis=0)
        p_ref = np.maximum(far_ref[np.newaxis], aside)
        share = p_line / np.maximum(np.mean(np.abs(z[..., 0]) ** 2, axis=0), 1e-300)
        hum = (p_line > DEHUM_PEAK_RATIO * p_ref) & (p_line > 0.0) & (share >= DEHUM_STEADY_SHARE)
        counts = np.sum(hum, axis=2)  # (grid, family)
        # the offset with the most hum lines; among those, the strongest steady lines
        strength = np.sum(np.where(hum, p_line, 0.0), axis=2)
        pick = np.lexsort((strength, counts), axis=0)[-1]  # (family,)
        count = counts[pick, [0, 1]]
        # Each line alone at its best offset (not scaled with the harmonic) against the lines
        # +-1.2 Hz beside nominal: the test that finds mains near nominal with 2 lines. The
        # common-offset test above adds more hypotheses (41 offsets), so on its own it needs a
        # line more: with 2 it took steady synth lines at 180 and 240 Hz for 60 Hz hum.
        near = np.max(far[..., 0], axis=0)
        beside = np.maximum(steady(1.2, 0 * harm)[0, ..., 0], steady(-1.2, 0 * harm)[0, ..., 0])
        share_near = near / np.maximum(np.mean(np.abs(z[..., 0]) ** 2, axis=0), 1e-300)
        hum_near = ((near > DEHUM_PEAK_RATIO * np.maximum(far_ref, beside)) & (near > 0.0)
                    & (share_near >= DEHUM_STEADY_SHARE))
        count_near = np.sum(hum_near, axis=1)
        need = min(DEHUM_MIN_LINES, lines)
        by_offset = count >= need + 1
        count = np.where(by_offset, count, np.where(count_near >= need, count_near, 0))
        # the offset is the common-offset test's, and only where it found more lines than
        # nominal itself (otherwise music tips the strength between equal counts)
        zero = int(np.argmin(np.abs(grid)))
        offset_hz = np.where(by_offset & (counts[pick, [0, 1]] > counts[zero]), grid[pick], 0.0)
        self.hum_lines = {50.0: int(count[0]), 60.0: int(count[1])}
        family = -1
        if count[0] >= need and count[0] > count[1]:
            family = 0
        elif count[1] >= need and count[1] > count[0]:
            family = 1
        if family >= 0:
            self.mains_hz_detected = (50.0, 60.0)[family]
            drift = self.params.max_drift_hz
            offset = float(np.clip(offset_hz[family], -drift, drift))
            self.fundamental_hz = self.mains_hz_detected + offset
            # the common-offset test is evidence from 3+ lines: the tracker starts there
            if abs(offset) >= DEHUM_TRACK_MIN_OFFSET_HZ:
                self._track_lock = offset

    def _process_hop(self, x_in: Array, x_out: Array) -> Array:
        h0, hop = self._history, self._hop
        first_valid = self._history - self._hop_index * hop
        valid = _valid_samples(x_in, first_valid)
        self._track_valid = _valid_samples(x_in, first_valid, silence=False)
        out = x_in[:, h0 : h0 + hop].copy()
        if not self.mains_hz_detected:
            self._detect(x_in, h0 + hop, self._track_valid)
            if not self.mains_hz_detected:
                return out
        if self._c_prev is None:
            self._c_prev, self._f_prev = self._estimate(x_in, h0, valid)
            self.fundamental_hz = self._f_prev
        c_next, f_next = self._estimate(x_in, h0 + hop, valid)
        self.fundamental_hz = f_next
        sr = self.sample_rate
        for c in range(self.num_channels):
            _synth_hum(out[c], 0, hop, self._c_prev[c], self._f_prev / sr, c_next[c], f_next / sr)
        silent = valid[h0 : h0 + hop] == 0.0
        if silent.any():
            out[:, silent] = x_in[:, h0 : h0 + hop][:, silent]  # digital silence has no hum
        self._c_prev, self._f_prev = c_next, f_next
        return out
