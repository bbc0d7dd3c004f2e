"""Dynamics of a mix: PLR, crest factor, PSR, loudness range, and signs of over-compression.

:class:`DynamicsAccumulator` streams what the loudness meter does not keep: the mean square per
channel, the sample peak of every 100 ms hop (aligned with the meter's hops) and a min/max
waveform envelope for plots. :func:`dynamics_from` combines it with a
:class:`~burnish.analysis.loudness.LoudnessResult`.

Definitions
-----------
* PLR (peak to loudness ratio): true peak (dBTP) minus integrated loudness (LUFS).
* crest factor: sample peak minus RMS level (dB), overall and per channel.
* PSR (peak to short-term loudness ratio): for each 3 s short-term window, the highest sample
  peak inside the window minus its short-term loudness; reported as the minimum and median
  over windows louder than the LRA gate. Sample peak, not true peak, per window.
* peak density: the share of loud 100 ms hops (within 20 dB of the loudest hop) whose peak is
  within 1 dB of the file's sample peak. A limited master hits its ceiling in most hops; a
  dynamic mix only in a few.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from burnish.analysis.issues import Issue, Severity
from burnish.audio import check_audio, check_sample_rate
from burnish.errors import ParameterError
from burnish.units import SILENCE_DB

if TYPE_CHECKING:
    from burnish.analysis.loudness import LoudnessResult

FloatArray = npt.NDArray[np.float64]

#: Hop of the per-hop peaks; equals the loudness meter's 100 ms hop.
HOP_S = 0.1

#: PLR below which a mix counts as limited (dB); below the second value, heavily limited.
PLR_LIMITED_DB = 8.0
PLR_HEAVY_DB = 6.0
#: Peak density above which peaks are "everywhere at the ceiling".
PEAK_DENSITY_LIMITED = 0.3
#: Columns of the waveform envelope kept for plots.
ENVELOPE_COLUMNS = 1200


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0.0 else -math.inf


@dataclass(frozen=True, slots=True)
class Envelope:
    """Min/max waveform envelope: ``minimum[c, i]``, ``maximum[c, i]`` over column ``i``."""

    column_s: float
    minimum: FloatArray
    maximum: FloatArray

    def to_dict(self) -> dict[str, Any]:
        return {
            "column_s": self.column_s,
            "min": np.round(self.minimum, 4).tolist(),
            "max": np.round(self.maximum, 4).tolist(),
        }


class DynamicsAccumulator:
    """Streams per-channel mean square, 100 ms hop peaks and the waveform envelope.

    ``expected_frames`` (when the length is known, e.g. from a file header) only sets the
    envelope's resolution; results are the same for any block split.
    """

    def __init__(
        self, *, sample_rate: int, num_channels: int, expected_frames: int | None = None
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if num_channels not in (1, 2):
            raise ParameterError(f"num_channels={num_channels} must be 1 or 2")
        self.num_channels = num_channels
        self.hop_samples = int(round(self.sample_rate * HOP_S))
        # envelope bins: a divisor of the hop, about 10 ms, so hop peaks come from the bins
        divisor = max(d for d in range(1, 11) if self.hop_samples % d == 0)
        if expected_frames is not None and expected_frames > 0:
            hops_total = expected_frames / self.hop_samples
            if hops_total > ENVELOPE_COLUMNS:  # long file: one bin per hop is plenty
                divisor = 1
        self._bins_per_hop = divisor
        self.bin_samples = self.hop_samples // divisor
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        self._sumsq = np.zeros(self.num_channels)
        self._mins: list[FloatArray] = []
        self._maxs: list[FloatArray] = []
        self._carry = np.zeros((self.num_channels, 0))
        self._samples = 0

    def update(self, block: npt.ArrayLike) -> None:
        """Add a ``(channels, samples)`` block."""
        x = check_audio(block, num_channels=self.num_channels, name="block")
        if x.shape[1] == 0:
            return
        self._samples += x.shape[1]
        self._sumsq += np.einsum("ij,ij->i", x, x)
        buf = np.concatenate([self._carry, x], axis=1) if self._carry.shape[1] else x
        b = self.bin_samples
        full = (buf.shape[1] // b) * b
        if full:
            rows = [buf[c, :full].reshape(-1, b) for c in range(self.num_channels)]
            self._mins.append(np.stack([r.min(axis=1) for r in rows]).astype(np.float64))
            self._maxs.append(np.stack([r.max(axis=1) for r in rows]).astype(np.float64))
        self._carry = np.array(buf[:, full:], dtype=np.float64, copy=True)

    def _bins(self) -> tuple[FloatArray, FloatArray]:
        mins = np.concatenate(self._mins, axis=1) if self._mins else np.zeros((self.num_channels, 0))
        maxs = np.concatenate(self._maxs, axis=1) if self._maxs else np.zeros((self.num_channels, 0))
        if self._carry.shape[1]:
            mins = np.concatenate([mins, self._carry.min(axis=1, keepdims=True)], axis=1)
            maxs = np.concatenate([maxs, self._carry.max(axis=1, keepdims=True)], axis=1)
        return mins, maxs

    def hop_peaks(self) -> FloatArray:
        """Sample peak (linear, all channels) of every 100 ms hop, the last one partial."""
        mins, maxs = self._bins()
        peak = np.max(np.maximum(-mins, maxs), axis=0) if mins.size else np.zeros(0)
        d = self._bins_per_hop
        n = int(math.ceil(peak.size / d))
        padded = np.zeros(n * d)
        padded[: peak.size] = peak
        return padded.reshape(n, d).max(axis=1) if n else np.zeros(0)

    def envelope(self, columns: int = ENVELOPE_COLUMNS) -> Envelope:
        """The envelope reduced to at most ``columns`` columns."""
        mins, maxs = self._bins()
        n = mins.shape[1]
        group = max(1, int(math.ceil(n / columns)))
        m = int(math.ceil(n / group)) if n else 0
        pad = m * group - n
        if pad:
            mins = np.concatenate([mins, np.repeat(mins[:, -1:], pad, axis=1)], axis=1)
            maxs = np.concatenate([maxs, np.repeat(maxs[:, -1:], pad, axis=1)], axis=1)
        return Envelope(
            column_s=group * self.bin_samples / self.sample_rate,
            minimum=mins.reshape(self.num_channels, m, group).min(axis=2),
            maximum=maxs.reshape(self.num_channels, m, group).max(axis=2),
        )

    def mean_square(self) -> float:
        """Mean square over all channels and samples so far (0.0 before any sample)."""
        return float(np.mean(self._sumsq)) / self._samples if self._samples else 0.0

    def rms_dbfs_per_channel(self) -> tuple[float, ...]:
        """RMS level of each channel (dBFS; ``-inf`` for silence)."""
        if self._samples == 0:
            return tuple(-math.inf for _ in range(self.num_channels))
        return tuple(0.5 * _db(float(v) / self._samples) for v in self._sumsq)


@dataclass(frozen=True, slots=True)
class DynamicsResult:
    """Dynamics measurements. Levels are ``-inf``/``None`` where they don't exist (silence)."""

    plr_db: float | None
    crest_db: float | None
    crest_db_per_channel: tuple[float | None, ...]
    rms_dbfs: float
    rms_dbfs_per_channel: tuple[float, ...]
    psr_min_db: float | None
    psr_median_db: float | None
    lra_lu: float
    peak_density: float | None
    hop_s: float

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else round(float(v), 2)

        return {
            "plr_db": r(self.plr_db),
            "crest_db": r(self.crest_db),
            "crest_db_per_channel": [r(v) for v in self.crest_db_per_channel],
            "rms_dbfs": r(self.rms_dbfs) if math.isfinite(self.rms_dbfs) else SILENCE_DB,
            "rms_dbfs_per_channel": [
                r(v) if math.isfinite(v) else SILENCE_DB for v in self.rms_dbfs_per_channel
            ],
            "psr_min_db": r(self.psr_min_db),
            "psr_median_db": r(self.psr_median_db),
            "lra_lu": r(self.lra_lu),
            "peak_density": None if self.peak_density is None else round(self.peak_density, 3),
        }


def dynamics_from(acc: DynamicsAccumulator, loudness: LoudnessResult) -> DynamicsResult:
    """Combine the accumulator with the loudness measurement of the same audio."""
    rms_ch = acc.rms_dbfs_per_channel()
    rms = 0.5 * _db(acc.mean_square())
    sp = loudness.sample_peak_dbfs
    crest = sp - rms if math.isfinite(sp) and math.isfinite(rms) else None
    crest_ch = tuple(
        (p - q) if math.isfinite(p) and math.isfinite(q) else None
        for p, q in zip(loudness.sample_peak_dbfs_per_channel, rms_ch)
    )
    integ = loudness.integrated_lufs
    plr = (
        loudness.true_peak_dbtp - integ
        if math.isfinite(integ) and math.isfinite(loudness.true_peak_dbtp)
        else None
    )
    peaks = acc.hop_peaks()
    psr_min, psr_median = _psr(peaks, loudness)
    density = _peak_density(peaks)
    return DynamicsResult(
        plr_db=plr,
        crest_db=crest,
        crest_db_per_channel=crest_ch,
        rms_dbfs=rms,
        rms_dbfs_per_channel=rms_ch,
        psr_min_db=psr_min,
        psr_median_db=psr_median,
        lra_lu=float(loudness.lra_lu),
        peak_density=density,
        hop_s=HOP_S,
    )


def _psr(peaks: FloatArray, loudness: LoudnessResult) -> tuple[float | None, float | None]:
    st = np.asarray(loudness.short_term_lufs, dtype=np.float64)
    n = min(st.size, peaks.size)
    if n < 30:
        return None, None
    # short_term[k] covers hops k-29..k; the running max of the hop peaks over the same hops
    from numpy.lib.stride_tricks import sliding_window_view

    window_peak = sliding_window_view(peaks[:n], 30).max(axis=1)  # ends at hops 29..n-1
    st_full = st[29:n]
    gate = max(-70.0, loudness.integrated_lufs - 20.0) if math.isfinite(loudness.integrated_lufs) else -70.0
    ok = np.isfinite(st_full) & (st_full > gate) & (window_peak > 0)
    if not np.any(ok):
        return None, None
    psr = 20.0 * np.log10(window_peak[ok]) - st_full[ok]
    return float(psr.min()), float(np.median(psr))


def _peak_density(peaks: FloatArray) -> float | None:
    if peaks.size == 0 or peaks.max() <= 0.0:
        return None
    top = peaks.max()
    loud = peaks >= top * 10.0 ** (-20.0 / 20.0)
    near = peaks >= top * 10.0 ** (-1.0 / 20.0)
    return float(np.count_nonzero(near & loud)) / float(max(1, int(np.count_nonzero(loud))))


def over_compression_issues(dyn: DynamicsResult, *, duration_s: float) -> list[Issue]:
    """Signs of over-compression or limiting as issues of kind ``over_compression``.

    * PLR below :data:`PLR_LIMITED_DB` together with dense peaks (peak density above
      :data:`PEAK_DENSITY_LIMITED`) or a crest factor under 10 dB: limited (medium), heavily
      limited when PLR is also below :data:`PLR_HEAVY_DB` (high);
    * PLR below the limit alone, or dense peaks with a crest factor under 12 dB: low.

    A mix for mastering should leave the mastering stage its dynamics; a finished master at
    streaming loudness usually has PLR 8-12 dB.
    """
    if dyn.plr_db is None or dyn.crest_db is None:
        return []
    plr, crest = dyn.plr_db, dyn.crest_db
    dense = dyn.peak_density is not None and dyn.peak_density > PEAK_DENSITY_LIMITED
    severity: Severity | None = None
    if plr < PLR_LIMITED_DB and (dense or crest < 10.0):
        severity = "high" if plr < PLR_HEAVY_DB else "medium"
    elif plr < PLR_LIMITED_DB or (dense and crest < 12.0):
        severity = "low"
    if severity is None:
        return []
    density_pct = 100.0 * (dyn.peak_density or 0.0)
    if severity == "low":
        message = (
            f"The mix is already fairly dense (PLR {plr:.1f} dB, crest factor {crest:.1f} dB):"
            " avoid more limiting on the mix bus and leave the loudness to mastering."
        )
    else:
        message = (
            f"The mix is already heavily limited (PLR {plr:.1f} dB, crest factor {crest:.1f} dB,"
            f" {density_pct:.0f}% of loud passages hit the peak level): take the limiter or"
            " clipper off the mix bus and leave headroom, or mastering can only make it louder"
            " by squashing it further."
        )
    return [
        Issue(
            kind="over_compression",
            start_s=0.0,
            end_s=float(duration_s),
            channel=None,
            value=float(plr),
            unit="dB",
            severity=severity,
            message=message,
            details={
                "plr_db": round(plr, 2),
                "crest_db": round(crest, 2),
                "peak_density": None if dyn.peak_density is None else round(dyn.peak_density, 3),
                "psr_min_db": None if dyn.psr_min_db is None else round(dyn.psr_min_db, 2),
                "lra_lu": round(dyn.lra_lu, 2),
            },
        )
    ]
