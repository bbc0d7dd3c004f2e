"""Long-term average spectrum of a mix, streamed block by block.

Welch's method: Hann-windowed frames (about 0.37 s, 50 % overlap) are Fourier-transformed and
their power averaged. The accumulator keeps three per-bin sums for a stereo signal (``|L|^2``,
``|R|^2`` and ``Re(L R*)``), from which the mid ``(L+R)/2`` and side ``(L-R)/2`` spectra, the
per-band L/R correlation (:mod:`burnish.analysis.stereo`) and K-weighted energies all follow
without a second transform.

Levels are reported on a **1/3-octave band-power view**: each ISO 266 band's level is the
total power (mean square, dBFS) of the signal inside that band. On this view pink noise is flat
(0 dB per band, 0 dB/octave) and white noise rises 1 dB per band (+3 dB/octave); a per-Hz power
spectral density view is 3 dB/octave lower (pink noise at -3 dB/octave). The spectral tilt is the
slope of a least-squares line through the band levels between 100 Hz and 10 kHz against
``log2(frequency)``, in dB/octave on the band-power view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from burnish.audio import check_audio, check_sample_rate
from burnish.errors import ParameterError
from burnish.units import SILENCE_DB, power_to_db_array

FloatArray = npt.NDArray[np.float64]

#: ISO 266 nominal 1/3-octave centre frequencies from 20 Hz to 20 kHz.
THIRD_OCTAVE_NOMINAL_HZ: tuple[float, ...] = (
    20.0, 25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0,
    400.0, 500.0, 630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0,
    5000.0, 6300.0, 8000.0, 10000.0, 12500.0, 16000.0, 20000.0,
)

#: Frequency range over which the spectral tilt is fitted.
TILT_RANGE_HZ = (100.0, 10000.0)

#: Points per octave of the smoothed "fine" spectrum kept for plots.
FINE_POINTS_PER_OCTAVE = 12


def third_octave_bands(sample_rate: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Nominal centres, lower and upper edges (Hz) of the ISO bands that fit below Nyquist.

    Exact centres are ``1000 * 10 ** (k / 10)`` (base-10 ISO series), edges a twentieth of a
    decade either side; a band is kept only when its upper edge is at or below Nyquist.
    """
    nominal = np.asarray(THIRD_OCTAVE_NOMINAL_HZ)
    k = np.round(10.0 * np.log10(nominal / 1000.0))
    exact = 1000.0 * 10.0 ** (k / 10.0)
    lower = exact * 10.0 ** (-1.0 / 20.0)
    upper = exact * 10.0 ** (1.0 / 20.0)
    keep = upper <= sample_rate / 2.0
    return nominal[keep], lower[keep], upper[keep]


def frame_length_for(sample_rate: int) -> int:
    """FFT frame length: the power of two nearest 0.37 s (16384 at 44.1/48 kHz, 32768 at 96 kHz).

    About 2.7 Hz resolution at 44.1 kHz, enough to resolve the 20 Hz band (4.6 Hz wide).
    """
    return int(2 ** round(np.log2(sample_rate * 0.37)))


def band_weights(
    freqs_hz: FloatArray, lower_hz: FloatArray, upper_hz: FloatArray
) -> FloatArray:
    """Matrix ``(bands, bins)``: the fraction of each FFT bin's width that lies in each band.

    Each bin stands for ``[f - df/2, f + df/2]``; summing ``weights @ power_per_bin`` conserves
    total power, and bands narrower than a bin still get their share.
    """
    df = freqs_hz[1] - freqs_hz[0] if freqs_hz.size > 1 else 1.0
    lo = freqs_hz - df / 2.0
    hi = freqs_hz + df / 2.0
    overlap = np.minimum(hi[None, :], upper_hz[:, None]) - np.maximum(lo[None, :], lower_hz[:, None])
    return np.clip(overlap, 0.0, None) / df


@dataclass(frozen=True, slots=True)
class SpectrumResult:
    """Long-term spectrum on the 1/3-octave band-power view (dBFS per band).

    ``side_db`` is ``None`` for mono. ``fine_*`` hold a 1/12-octave-smoothed spectrum expressed
    as the power a 1/3-octave band centred there would hold, so it plots on the band axis.
    """

    sample_rate: int
    band_centers_hz: FloatArray
    mid_db: FloatArray
    side_db: FloatArray | None
    tilt_db_per_octave: float
    side_tilt_db_per_octave: float | None
    fine_freqs_hz: FloatArray
    fine_mid_db: FloatArray
    fine_side_db: FloatArray | None
    frame_length: int
    num_frames: int

    def to_dict(self, *, include_fine: bool = True) -> dict[str, Any]:
        """JSON-ready dictionary (levels rounded to 0.01 dB)."""

        def r(a: FloatArray | None) -> list[float] | None:
            return None if a is None else [round(float(v), 2) for v in a]

        out: dict[str, Any] = {
            "view": "1/3-octave band power, dBFS per band (pink noise is flat)",
            "band_centers_hz": [float(v) for v in self.band_centers_hz],
            "mid_db": r(self.mid_db),
            "side_db": r(self.side_db),
            "tilt_db_per_octave": round(self.tilt_db_per_octave, 3),
            "side_tilt_db_per_octave": None
            if self.side_tilt_db_per_octave is None
            else round(self.side_tilt_db_per_octave, 3),
            "tilt_range_hz": list(TILT_RANGE_HZ),
            "frame_length": self.frame_length,
            "num_frames": self.num_frames,
        }
        if include_fine:
            out["fine_freqs_hz"] = [round(float(v), 2) for v in self.fine_freqs_hz]
            out["fine_mid_db"] = r(self.fine_mid_db)
            out["fine_side_db"] = r(self.fine_side_db)
        return out


def spectral_tilt(
    band_centers_hz: npt.ArrayLike,
    level_db: npt.ArrayLike,
    *,
    range_hz: tuple[float, float] = TILT_RANGE_HZ,
) -> float:
    """Slope in dB/octave of a least-squares line through ``level_db`` against log2 frequency.

    Only bands with centres inside ``range_hz`` and a level above silence take part; returns
    0.0 when fewer than three bands qualify.
    """
    f = np.asarray(band_centers_hz, dtype=np.float64)
    y = np.asarray(level_db, dtype=np.float64)
    sel = (f >= range_hz[0]) & (f <= range_hz[1]) & (y > SILENCE_DB + 1.0)
    if np.count_nonzero(sel) < 3:
        return 0.0
    slope, _ = np.polyfit(np.log2(f[sel]), y[sel], 1)
    return float(slope)


class SpectrumAccumulator:
    """Streaming Welch spectrum of mid and side (mono: the one channel as mid).

    >>> acc = SpectrumAccumulator(sample_rate=44100, num_channels=2)   # doctest: +SKIP
    >>> for block in reader.blocks(65536):
    ...     acc.update(block)
    >>> acc.result().mid_db

    The result depends only on the samples, not on how they were split into blocks.
    """

    def __init__(self, *, sample_rate: int, num_channels: int, frame_length: int | None = None) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if num_channels not in (1, 2):
            raise ParameterError(f"num_channels={num_channels} must be 1 or 2")
        self.num_channels = num_channels
        n = frame_length_for(self.sample_rate) if frame_length is None else int(frame_length)
        if n < 256 or n & (n - 1):
            raise ParameterError(f"frame_length={frame_length} must be a power of two >= 256")
        self.frame_length = n
        self.hop = n // 2
        self._window = np.hanning(n + 1)[:-1]  # periodic Hann: overlap-adds to a constant
        self._window32 = self._window.astype(np.float32)
        self._window_power = float(np.sum(self._window**2))
        self.freqs_hz: FloatArray = np.asarray(np.fft.rfftfreq(n, 1.0 / self.sample_rate), dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        bins = self.frame_length // 2 + 1
        self._pll = np.zeros(bins)
        self._prr = np.zeros(bins)
        self._plr = np.zeros(bins)
        self._frames = 0
        self._carry = np.zeros((self.num_channels, 0), dtype=np.float32)
        self._samples = 0

    # streaming -------------------------------------------------------------------------------
    def update(self, block: npt.ArrayLike) -> None:
        """Add a ``(channels, samples)`` block."""
        x = check_audio(block, num_channels=self.num_channels, name="block")
        if x.shape[1] == 0:
            return
        self._samples += x.shape[1]
        x32 = x.astype(np.float32)
        buf = np.concatenate([self._carry, x32], axis=1) if self._carry.shape[1] else x32
        n, hop = self.frame_length, self.hop
        count = 0 if buf.shape[1] < n else 1 + (buf.shape[1] - n) // hop
        if count:
            self._add_frames(buf, count)
        start = count * hop
        self._carry = np.array(buf[:, start:], dtype=np.float32, copy=True)

    def _add_frames(self, buf: npt.NDArray[np.float32], count: int) -> None:
        n, hop = self.frame_length, self.hop
        import scipy.fft

        view = np.lib.stride_tricks.sliding_window_view(buf, n, axis=1)[:, : count * hop : hop]
        # float32 transforms are three times faster than float64 here; the per-bin sums are
        # kept in float64, so a long-term average loses nothing that a level in dB shows.
        frames = view * self._window32
        spec = scipy.fft.rfft(frames, axis=-1)  # (channels, frames, bins), complex64
        left = spec[0]
        self._pll += np.sum(left.real**2 + left.imag**2, axis=0, dtype=np.float64)
        if self.num_channels == 2:
            right = spec[1]
            self._prr += np.sum(right.real**2 + right.imag**2, axis=0, dtype=np.float64)
            self._plr += np.sum(
                left.real * right.real + left.imag * right.imag, axis=0, dtype=np.float64
            )
        self._frames += count

    # results ---------------------------------------------------------------------------------
    def power_spectra(self) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray | None]:
        """Per-bin mean power per bin ``(freqs_hz, p_ll, p_rr, re_p_lr)`` in mean-square units.

        Summed over all bins, ``p_ll`` gives the mean square of the left channel. A file shorter
        than one frame is analysed as one zero-padded frame, scaled to its real length.
        """
        pll, prr, plr, frames = self._pll, self._prr, self._plr, self._frames
        scale_samples = float(self._window_power)
        if frames == 0 and self._carry.shape[1] > 0:
            m = self._carry.shape[1]
            pad = np.zeros((self.num_channels, self.frame_length))
            pad[:, :m] = self._carry.astype(np.float64)
            w = np.hanning(m + 1)[:-1] if m > 1 else np.ones(1)
            pad[:, :m] *= w
            spec = np.fft.rfft(pad, axis=-1)
            pll = np.abs(spec[0]) ** 2
            if self.num_channels == 2:
                prr = np.abs(spec[1]) ** 2
                plr = (spec[0] * np.conj(spec[1])).real
            frames = 1
            scale_samples = float(np.sum(w**2))
        if frames == 0:
            zeros = np.zeros_like(self._pll)
            return self.freqs_hz, zeros, (zeros if self.num_channels == 2 else None), (
                zeros if self.num_channels == 2 else None
            )
        # |X|^2 / (N * sum w^2) summed over bins = mean square (Parseval); one-sided doubling.
        norm = 1.0 / (frames * scale_samples * self.frame_length)
        fold = np.full(pll.shape, 2.0)
        fold[0] = 1.0
        if self.frame_length % 2 == 0:
            fold[-1] = 1.0
        pll_n = pll * norm * fold
        if self.num_channels == 1:
            return self.freqs_hz, pll_n, None, None
        return self.freqs_hz, pll_n, prr * norm * fold, plr * norm * fold

    def result(self) -> SpectrumResult:
        """Band levels, tilt and the smoothed fine spectrum of everything seen so far."""
        freqs, pll, prr, plr = self.power_spectra()
        if prr is None or plr is None:
            mid = pll
            side = None
        else:
            mid = (pll + prr + 2.0 * plr) / 4.0
            side = np.clip((pll + prr - 2.0 * plr) / 4.0, 0.0, None)
        centers, lower, upper = third_octave_bands(self.sample_rate)
        weights = band_weights(freqs, lower, upper)
        mid_db = power_to_db_array(weights @ mid)
        side_db = None if side is None else power_to_db_array(weights @ side)
        fine_f, fine_mid = _fine_spectrum(freqs, mid, self.sample_rate)
        fine_side = None if side is None else _fine_spectrum(freqs, side, self.sample_rate)[1]
        return SpectrumResult(
            sample_rate=self.sample_rate,
            band_centers_hz=centers,
            mid_db=mid_db,
            side_db=side_db,
            tilt_db_per_octave=spectral_tilt(centers, mid_db),
            side_tilt_db_per_octave=None if side_db is None else spectral_tilt(centers, side_db),
            fine_freqs_hz=fine_f,
            fine_mid_db=fine_mid,
            fine_side_db=fine_side,
            frame_length=self.frame_length,
            num_frames=self._frames,
        )


def _fine_spectrum(
    freqs_hz: FloatArray, power: FloatArray, sample_rate: int
) -> tuple[FloatArray, FloatArray]:
    """1/12-octave smoothed spectrum as 1/3-octave-equivalent band levels (dB)."""
    top = min(20000.0, sample_rate / 2.0 * 0.98)
    octaves = np.log2(top / 20.0)
    count = int(np.floor(octaves * FINE_POINTS_PER_OCTAVE)) + 1
    centers = 20.0 * 2.0 ** (np.arange(count) / FINE_POINTS_PER_OCTAVE)
    half = 2.0 ** (0.5 / FINE_POINTS_PER_OCTAVE)
    weights = band_weights(freqs_hz, centers / half, centers * half)
    # power in each narrow band, rescaled to the width of a 1/3-octave band at the same centre
    narrow = weights @ power
    widen = (2.0 ** (1.0 / 6.0) - 2.0 ** (-1.0 / 6.0)) / (half - 1.0 / half)
    return centers, power_to_db_array(narrow * widen)


def long_term_spectrum(audio: npt.ArrayLike, *, sample_rate: int) -> SpectrumResult:
    """Spectrum of a whole buffer (one-line wrapper around :class:`SpectrumAccumulator`)."""
    x = check_audio(audio)
    acc = SpectrumAccumulator(sample_rate=sample_rate, num_channels=x.shape[0])
    acc.update(x)
    return acc.result()
