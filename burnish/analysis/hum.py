"""Whole-file mains hum detection: is there 50 or 60 Hz hum, and which?

:class:`HumDetector` streams blocks of any size in bounded memory; :func:`detect_mains_hum` runs
it on a file path (read block by block) or an in-memory ``(channels, samples)`` array.

How it works. The channels are averaged to mono, low-passed (elliptic, 8th order, 380 Hz) and
decimated by an integer factor to about 1 kHz, block by block. Hann-windowed segments of up to
``HUM_LONG_SEGMENT_S`` (half overlap, zero-padded 4x; a shorter input is one segment) are
averaged into one power spectrum, fine enough (1/16 Hz) that a steady line stands far above the
music around it. Only that spectrum up to ~340 Hz is kept, so memory does not grow with length.

Each harmonic ``k * f0`` (k = 1..``HUM_HARMONICS``) of a candidate fundamental ``f0`` gets two
measurements from that spectrum:

* ``line_db``: the line's power over the median of the spectrum within +-6 Hz (narrow compared
  with the surrounding spectrum);
* ``isolation_db``: the line's power over the strongest bin 2.5 segment-lengths^-1 to 1.5 Hz
  beside it. Music with a strict loop (MIDI renders) makes a comb of lines every 1/loop Hz, some
  of which sit exactly on 60 Hz multiples; hum stands above its neighbours, a comb tooth doesn't.

A harmonic's evidence is ``clip(line_db, 0, 25) + 2 clip(isolation_db, -10, 10)`` (0 unless the
line is 3 dB above the background), summed over the harmonics at the best common ``f0`` within
``HUM_MAX_DRIFT_HZ`` of 50 and of 60 Hz: the lines must sit on exact multiples of one fundamental
and be there across the harmonics. A family is hum when its score reaches ``HUM_MIN_SCORE`` and
leads the other family by ``HUM_MIN_LEAD``, and its lines are there all the time: a family
whose lines vanish together in some 1-s window (``HUM_VANISH_DB``) is musical and out of the
running (hum never leaves; a held or looped synthesised note does). The thresholds were set on the corpus (see
docs/defects.md): the clean files score up to 69 (a 5-s excerpt of electronic music with lines on 180 and
240 Hz), hum at -40 dBFS mostly 70-130.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from burnish.audio import check_audio, check_sample_rate
from burnish.errors import ParameterError

Array = npt.NDArray[np.float64]

#: Mains families searched.
HUM_FAMILIES_HZ = (50.0, 60.0)
#: Harmonics scored per family (the fundamental counts as the first).
HUM_HARMONICS = 5
#: How far the fundamental may sit from nominal (Hz), searched in ``HUM_DRIFT_STEP_HZ`` steps.
HUM_MAX_DRIFT_HZ = 0.3
HUM_DRIFT_STEP_HZ = 0.02
#: Rate the mono mix is decimated to (about: an integer factor of the input's rate).
HUM_ANALYSIS_RATE_HZ = 1000.0
#: Anti-alias low-pass before decimation (Hz).
HUM_LOWPASS_HZ = 380.0
#: Segments of the averaged spectrum (s; a shorter input is one segment).
HUM_LONG_SEGMENT_S = 16.0
#: Background: the median of the spectrum within this many Hz of the line.
HUM_BACKGROUND_HZ = 6.0
#: Isolation: the strongest bin up to this far beside the line (Hz), beyond the main lobe.
HUM_ISOLATION_HZ = 1.5
#: Weight of the isolation (dB per dB) in a harmonic's evidence.
HUM_ISOLATION_WEIGHT = 2.0
#: A family is hum when its score (summed evidence of its harmonics) reaches this...
HUM_MIN_SCORE = 70.0
#: ...and exceeds the other family's by this much.
HUM_MIN_LEAD = 10.0
#: Score above which the finding is certain enough for ``burnish repair --auto`` (confidence 0.75).
HUM_AUTO_SCORE = 80.0
#: Persistence: each line is also measured in windows of this length (s), at every candidate
#: fundamental. Hum is there all the time; a musical line on the same frequencies (a held or
#: looped synthesised note) vanishes when the music leaves it.
HUM_WINDOW_S = 1.0
#: Windows whose level (the mono mix below ``HUM_LOWPASS_HZ``, less the tested lines) is more
#: than this far under the median window's are left out (fades, silence, quiet intros: hum recorded before a fade-out
#: fades with the music).
HUM_WINDOW_GATE_DB = 10.0
#: A line vanishes in a window where it is this much further under that window's level than
#: it is in the median window (a line relative to the music around it). Music leaving its lines
#: takes them all at once (the bundled example's break: 4 of 4 lines 14-33 dB down in one
#: window); music beside hum makes single lines dip as deep, but one or two at a time. So the
#: lines are musical when, in some window, at least 3/4 of the evidence lines (and 2 or more)
#: vanish together.
HUM_VANISH_DB = 12.0
#: Fewest windows the persistence test needs (shorter input: no veto).
HUM_MIN_WINDOWS = 5
#: Windows kept for the persistence test; past this, every second one is dropped (and then
#: only every second one kept), so memory stays bounded on hours of audio.
HUM_MAX_WINDOWS = 4096


@dataclass(frozen=True, slots=True)
class HumResult:
    """What :func:`detect_mains_hum` found.

    ``mains_hz``: 50.0, 60.0 or 0.0 (no hum). ``fundamental_hz``: the best fundamental of the
    found family (0.0 when none). ``line_db``: per family, the line-to-background ratios (dB) of
    harmonics 1..5 at that family's best fundamental. ``score``: per family, the summed evidence
    the decision is made on. ``confidence`` in [0, 1] (0.5 at the detection threshold, 0.75 at
    ``HUM_AUTO_SCORE``); ``reason``: one line saying why.
    """

    mains_hz: float
    fundamental_hz: float
    line_db: dict[float, tuple[float, ...]]
    score: dict[float, float]
    confidence: float
    reason: str

    @property
    def found(self) -> bool:
        return self.mains_hz > 0.0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "mains_hz": self.mains_hz,
            "fundamental_hz": round(self.fundamental_hz, 3),
            "line_db": {str(int(k)): [round(v, 2) for v in vals] for k, vals in self.line_db.items()},
            "score": {str(int(k)): round(v, 2) for k, v in self.score.items()},
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
        }


class HumDetector:
    """Streaming mains hum detector: ``update(block)`` any number of times, then ``result()``.

    Memory is bounded: one long segment of the ~1 kHz decimated mono mix, at most
    ``HUM_MAX_WINDOWS`` windows of line powers (1.2 kB each) and one averaged
    spectrum up to ~340 Hz, whatever the input's length.
    """

    def __init__(self, *, sample_rate: int, num_channels: int) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if num_channels not in (1, 2):
            raise ParameterError(f"num_channels={num_channels} must be 1 or 2")
        self.num_channels = num_channels
        self._factor = max(1, int(round(self.sample_rate / HUM_ANALYSIS_RATE_HZ)))
        self.analysis_rate = self.sample_rate / self._factor
        self._sos = signal.ellip(8, 0.1, 90.0, HUM_LOWPASS_HZ, output="sos", fs=self.sample_rate)
        self._seg_n = int(round(HUM_LONG_SEGMENT_S * self.analysis_rate))
        self._nfft = 1 << int(math.ceil(math.log2(4 * self._seg_n)))
        top_hz = max(HUM_FAMILIES_HZ) * HUM_HARMONICS + HUM_HARMONICS * HUM_MAX_DRIFT_HZ + 2 * HUM_BACKGROUND_HZ
        self._top_bin = int(math.ceil(top_hz * self._nfft / self.analysis_rate)) + 1
        # persistence: the DFT of each window at every harmonic of every candidate fundamental
        self._win_n = int(round(HUM_WINDOW_S * self.analysis_rate))
        freqs = (np.array(HUM_FAMILIES_HZ)[:, None, None] + _drifts()[None, :, None]) \
            * np.arange(1, HUM_HARMONICS + 1)[None, None, :]
        self._line_shape = freqs.shape
        t = np.arange(self._win_n) / self.analysis_rate
        win = np.hanning(self._win_n + 2)[1:-1]
        self._dft = (win[:, None] * np.exp(-2j * np.pi * t[:, None] * freqs.reshape(1, -1))
                     * (2.0 / np.sum(win)))
        self.reset()

    def reset(self) -> None:
        """Forget everything fed so far."""
        self._zi = np.zeros((self._sos.shape[0], 2))
        self._skip = 0  # input samples to skip before the next kept one
        self._buf = np.zeros(0)
        self._next = 0  # start of the next segment in _buf
        self._frames = 0
        self._sum = np.zeros(self._top_bin)
        self._count = 0
        self._segment_s = 0.0
        self._win_next = 0  # start of the next persistence window in _buf
        self._win_level: list[float] = []  # mean square of each window
        self._win_lines: list[npt.NDArray[np.float32]] = []  # line powers of each window
        self._win_stride = 1  # every this many windows are kept (doubles past HUM_MAX_WINDOWS)
        self._win_seen = 0

    def update(self, block: npt.ArrayLike) -> None:
        """Feed a ``(channels, n)`` block."""
        x = check_audio(block, num_channels=self.num_channels, name="block")
        if x.shape[1] == 0:
            return
        self._frames += x.shape[1]
        mono = np.mean(x, axis=0, dtype=np.float64)
        y, self._zi = signal.sosfilt(self._sos, mono, zi=self._zi)
        kept = y[self._skip :: self._factor]
        self._skip = (self._skip - len(y)) % self._factor
        self._buf = np.concatenate([self._buf, kept])
        hop = self._seg_n // 2
        while len(self._buf) - self._next >= self._seg_n:
            self._add_segment(self._buf[self._next : self._next + self._seg_n])
            self._next += hop
        while len(self._buf) - self._win_next >= self._win_n:
            self._add_window(self._buf[self._win_next : self._win_next + self._win_n])
            self._win_next += self._win_n
        # keep one segment's worth of history (for the tail segment at the end)
        drop = max(0, min(self._next, self._win_next, len(self._buf) - self._seg_n))
        self._buf = self._buf[drop:]
        self._next -= drop
        self._win_next -= drop

    def _add_window(self, seg: Array) -> None:
        self._win_seen += 1
        if (self._win_seen - 1) % self._win_stride:
            return
        self._win_level.append(float(np.mean(seg**2)))
        # einsum, not a BLAS product: 240 small products per 4 minutes made OpenBLAS spin its
        # threads and doubled the detector's CPU time
        self._win_lines.append((np.abs(np.einsum("n,nf->f", seg, self._dft)) ** 2).astype(np.float32))
        if len(self._win_lines) > HUM_MAX_WINDOWS:
            self._win_level = self._win_level[::2]
            self._win_lines = self._win_lines[::2]
            self._win_stride *= 2

    def _add_segment(self, seg: Array) -> None:
        win = np.hanning(len(seg) + 2)[1:-1]
        spec = np.fft.rfft(seg * win, self._nfft)[: self._top_bin]
        self._sum += np.abs(spec) ** 2 / np.sum(win**2)
        self._count += 1
        self._segment_s = len(seg) / self.analysis_rate

    def _finish(self) -> None:
        if self._count == 0:
            if len(self._buf) >= 64:
                self._add_segment(self._buf)
        elif len(self._buf) - self._next > self._seg_n // 2:
            # more than half a segment after the last one: one more, ending with the input
            self._add_segment(self._buf[-self._seg_n :])
        self._buf = np.zeros(0)
        self._next = 0
        self._win_next = 0

    def _vanished(self, family: int, drift: int, harmonics: npt.NDArray[np.bool_]) -> tuple[int, int]:
        """(the most lines among ``harmonics`` that vanish together in one window, lines
        tested); (0, 0) when there are too few windows to tell."""
        if len(self._win_level) < HUM_MIN_WINDOWS:
            return 0, 0
        power = np.array(self._win_level)
        lines = np.stack(self._win_lines).reshape((-1, *self._line_shape))[:, family, drift, :]
        lines = lines.astype(np.float64)
        # each line against the rest of its window (the window's power less these lines'): a
        # quieter passage lowers what the music puts on those frequencies with everything
        # else, a musical line leaving lowers that line alone
        rest = np.maximum(power - 0.5 * np.sum(lines * harmonics, axis=1), 0.01 * power)
        rest_db = 10 * np.log10(np.maximum(rest, 1e-30))
        voiced = power > 1e-20  # digital silence is no window at all
        if np.count_nonzero(voiced) < HUM_MIN_WINDOWS:
            return 0, 0
        # fades and silence are gated by that rest too (the lines may be most of the power)
        keep = voiced & (rest_db >= np.median(rest_db[voiced]) - HUM_WINDOW_GATE_DB)
        if np.count_nonzero(keep) < HUM_MIN_WINDOWS:
            return 0, 0
        lines_db = 10 * np.log10(np.maximum(lines[keep], 1e-30)) - rest_db[keep, None]
        low = (lines_db < np.median(lines_db, axis=0) - HUM_VANISH_DB) & harmonics
        return int(np.max(np.count_nonzero(low, axis=1))), int(np.count_nonzero(harmonics))

    def result(self) -> HumResult:
        """Decide (the detector can keep being fed afterwards only after :meth:`reset`)."""
        self._finish()
        zero = {m: (0.0,) * HUM_HARMONICS for m in HUM_FAMILIES_HZ}
        if self._count == 0:
            return HumResult(0.0, 0.0, zero, {m: 0.0 for m in HUM_FAMILIES_HZ}, 0.0,
                             "too short to look for hum (under 0.1 s)")
        power = self._sum / self._count
        df = self.analysis_rate / self._nfft
        line_db, iso_db = _line_spectra(power, df, self._segment_s)
        scores: dict[float, float] = {}
        lines: dict[float, tuple[float, ...]] = {}
        fundamentals: dict[float, float] = {}
        drift_at: dict[float, int] = {}
        for m in HUM_FAMILIES_HZ:
            scores[m], lines[m], fundamentals[m], drift_at[m] = _family_score(line_db, iso_db, df, m)
        # a family whose evidence lines leave together in some window is musical: it is out
        # of the running, and does not count against the other family either
        musical: dict[float, tuple[int, int]] = {}
        for m in HUM_FAMILIES_HZ:
            if scores[m] >= HUM_MIN_SCORE:
                v, n = self._vanished(HUM_FAMILIES_HZ.index(m), drift_at[m], np.array(lines[m]) > 3.0)
                if v >= 2 and 4 * v >= 3 * n:
                    musical[m] = (v, n)
        live = {m: (0.0 if m in musical else scores[m]) for m in HUM_FAMILIES_HZ}
        best = max(HUM_FAMILIES_HZ, key=lambda m: live[m])
        other = [m for m in HUM_FAMILIES_HZ if m != best][0]
        s, lead = live[best], live[best] - live[other]
        found = s >= HUM_MIN_SCORE and lead >= HUM_MIN_LEAD
        above = sum(v >= 6.0 for v in lines[best])
        if found:
            conf = float(np.clip(0.5 + 0.25 * (s - HUM_MIN_SCORE) / (HUM_AUTO_SCORE - HUM_MIN_SCORE), 0.5, 1.0))
            reason = (f"{best:g} Hz hum at {fundamentals[best]:.2f} Hz: {above} of {HUM_HARMONICS}"
                      f" harmonics stand >= 6 dB above the music (score {s:.0f}, threshold"
                      f" {HUM_MIN_SCORE:.0f}; {other:g} Hz scores {scores[other]:.0f}"
                      f"{', lines that come and go with the music' if other in musical else ''})")
        else:
            conf = float(np.clip(0.5 * s / HUM_MIN_SCORE, 0.0, 0.49))
            if musical and s < HUM_MIN_SCORE:
                m, (v, n) = max(musical.items(), key=lambda kv: scores[kv[0]])
                s = scores[m]
                why = (f"lines on {m:g} Hz multiples (score {s:.0f}) come and go with the"
                       f" music: {v} of {n} fall {HUM_VANISH_DB:g}+ dB below their usual"
                       " level together, which mains hum never does: musical, not mains")
            elif s >= HUM_MIN_SCORE:
                why = (f"50 and 60 Hz lines both present (scores {scores[50.0]:.0f} and"
                       f" {scores[60.0]:.0f}): musical, not mains")
            else:
                why = (f"no steady lines on 50 or 60 Hz multiples (best: {best:g} Hz, score"
                       f" {s:.0f} < {HUM_MIN_SCORE:.0f})")
            reason = why
        return HumResult(
            mains_hz=best if found else 0.0,
            fundamental_hz=fundamentals[best] if found else 0.0,
            line_db=lines,
            score=scores,
            confidence=conf,
            reason=reason,
        )


def _line_spectra(power: Array, df: float, segment_s: float) -> tuple[Array, Array]:
    """Line-to-background and isolation (dB) at every bin of the averaged spectrum."""
    tiny = 1e-30
    half = max(1, int(round(HUM_BACKGROUND_HZ / df)))
    background = ndimage.median_filter(power, size=2 * half + 1, mode="nearest")
    # the line's power: the peak within +-0.02 Hz (grid scalloping, a slight drift)
    reach = max(1, int(round(0.02 / df)))
    peak = ndimage.maximum_filter1d(power, 2 * reach + 1)
    line_db = 10 * np.log10(np.maximum(peak, tiny) / np.maximum(background, tiny))
    # the strongest bin beside the line: from beyond the Hann main lobe (2 / segment_s) to 1.5 Hz
    a = int(math.ceil(2.5 / segment_s / df))
    b = max(a + 1, int(round(HUM_ISOLATION_HZ / df)))
    centre, width = a + (b - a) // 2, b - a + 1
    ring = np.maximum(
        ndimage.maximum_filter1d(np.roll(power, centre), width),
        ndimage.maximum_filter1d(np.roll(power, -centre), width),
    )
    iso_db = 10 * np.log10(np.maximum(peak, tiny) / np.maximum(ring, tiny))
    return line_db, iso_db


def _drifts() -> Array:
    """The candidate fundamentals' offsets from nominal (Hz)."""
    return np.arange(-HUM_MAX_DRIFT_HZ, HUM_MAX_DRIFT_HZ + 1e-9, HUM_DRIFT_STEP_HZ)


def _family_score(
    line_db: Array, iso_db: Array, df: float, mains_hz: float
) -> tuple[float, tuple[float, ...], float, int]:
    """(score, line_db per harmonic, fundamental, offset index) at the best fundamental near
    ``mains_hz``."""
    drifts = _drifts()
    k = np.arange(1, HUM_HARMONICS + 1)
    f = (mains_hz + drifts[:, None]) * k[None, :]
    grid = np.arange(len(line_db)) * df
    r = np.interp(f, grid, line_db)
    iso = np.interp(f, grid, iso_db)
    evidence = np.clip(r, 0.0, 25.0) + HUM_ISOLATION_WEIGHT * np.clip(iso, -10.0, 10.0)
    evidence = np.where(r > 3.0, evidence, 0.0)
    total = evidence.sum(axis=1)
    i = int(np.argmax(total))
    return float(total[i]), tuple(float(v) for v in r[i]), float(mains_hz + drifts[i]), i


def detect_mains_hum(
    source: str | os.PathLike[str] | npt.ArrayLike,
    *,
    sample_rate: int | None = None,
    block_frames: int = 65536,
) -> HumResult:
    """Is there 50 or 60 Hz mains hum in ``source``, and which?

    ``source`` is a file path (read block by block, in bounded memory) or a ``(channels,
    samples)`` array with ``sample_rate``. See :class:`HumResult` and the module docstring.
    """
    if isinstance(source, (str, os.PathLike)):
        from burnish.io.files import AudioReader

        with AudioReader(source) as reader:
            det = HumDetector(sample_rate=reader.info.sample_rate, num_channels=reader.info.num_channels)
            for block in reader.blocks(block_frames):
                det.update(block)
        return det.result()
    if sample_rate is None:
        raise ParameterError("sample_rate is required when source is an array")
    audio = check_audio(source)
    det = HumDetector(sample_rate=sample_rate, num_channels=audio.shape[0])
    for start in range(0, audio.shape[1], block_frames):
        det.update(audio[:, start : start + block_frames])
    return det.result()
