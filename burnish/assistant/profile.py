"""What the assistant needs to know about a mix or a reference, in one small record.

A :class:`MixProfile` is distilled from a full :class:`burnish.analysis.analyzer.Analysis`
(the same pass that feeds the report), so the assistant never reads a file twice to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MixProfile:
    """Loudness, peaks, spectrum and stereo of one file."""

    path: str
    sample_rate: int
    num_channels: int
    duration_s: float
    bit_depth: int | None
    integrated_lufs: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    lra_lu: float
    max_short_term_lufs: float
    band_centers_hz: Array
    mid_db: Array  # band power of the mid signal, dB
    side_db: Array  # band power of the side signal, dB (-inf-ish floor for mono)
    low_band_correlation: float | None  # L/R correlation below ~150 Hz
    issues: tuple[Any, ...] = field(default=())  # burnish.analysis.issues.Issue

    @property
    def plr_db(self) -> float:
        """Peak-to-loudness ratio: true peak minus integrated loudness."""
        return self.true_peak_dbtp - self.integrated_lufs

    def issues_of(self, kind: str) -> list[Any]:
        return [i for i in self.issues if i.kind == kind]

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sample_rate": self.sample_rate,
            "num_channels": self.num_channels,
            "duration_s": round(self.duration_s, 3),
            "bit_depth": self.bit_depth,
            "integrated_lufs": _r(self.integrated_lufs),
            "true_peak_dbtp": _r(self.true_peak_dbtp),
            "sample_peak_dbfs": _r(self.sample_peak_dbfs),
            "lra_lu": _r(self.lra_lu),
            "plr_db": _r(self.plr_db),
            "low_band_correlation": None
            if self.low_band_correlation is None
            else round(self.low_band_correlation, 3),
            "issues": [i.to_dict() for i in self.issues],
        }


def _r(x: float) -> float | None:
    return round(float(x), 2) if np.isfinite(x) else None


def profile_from_analysis(analysis: Any) -> MixProfile:
    """Distil an :class:`~burnish.analysis.analyzer.Analysis` into a :class:`MixProfile`."""
    loud = analysis.loudness
    spec = analysis.spectrum
    stereo = analysis.stereo
    centers = np.asarray(spec.band_centers_hz, dtype=np.float64)
    mid = np.asarray(spec.mid_db, dtype=np.float64)
    side_raw = getattr(spec, "side_db", None)
    side = (
        np.asarray(side_raw, dtype=np.float64)
        if side_raw is not None and len(side_raw) == len(mid)
        else np.full_like(mid, -200.0)
    )
    low_corr = None
    if stereo is not None and analysis.num_channels == 2:
        low_corr = _low_band_correlation(stereo)
    return MixProfile(
        path=str(analysis.path),
        sample_rate=int(analysis.sample_rate),
        num_channels=int(analysis.num_channels),
        duration_s=float(analysis.num_frames) / float(analysis.sample_rate),
        bit_depth=analysis.bit_depth,
        integrated_lufs=float(loud.integrated_lufs),
        true_peak_dbtp=float(loud.true_peak_dbtp),
        sample_peak_dbfs=float(loud.sample_peak_dbfs),
        lra_lu=float(loud.lra_lu),
        max_short_term_lufs=float(loud.max_short_term_lufs),
        band_centers_hz=centers,
        mid_db=mid,
        side_db=side,
        low_band_correlation=low_corr,
        issues=tuple(analysis.issues),
    )


def _low_band_correlation(stereo: Any) -> float | None:
    for name in ("low_band_correlation", "correlation_low", "low_correlation"):
        value = getattr(stereo, name, None)
        if value is not None:
            return float(value)
    bands = getattr(stereo, "correlation_by_band", None)
    if isinstance(bands, dict) and bands.get("low") is not None:
        return float(bands["low"])
    return None


def average_profiles(profiles: list[MixProfile]) -> MixProfile:
    """Several references as one: spectra averaged in power after matching their loudness."""
    if len(profiles) == 1:
        return profiles[0]
    base = profiles[0]
    mids, sides = [], []
    for p in profiles:
        if len(p.mid_db) != len(base.mid_db):
            n = min(len(p.mid_db), len(base.mid_db))
            base = base if len(base.mid_db) == n else p
    n = len(base.mid_db)
    for p in profiles:
        offset = p.integrated_lufs
        mids.append(10 ** ((p.mid_db[:n] - offset) / 10))
        sides.append(10 ** ((p.side_db[:n] - offset) / 10))
    energies = [10 ** (p.integrated_lufs / 10) for p in profiles]
    loud = float(10 * np.log10(np.mean(energies)))
    mid = 10 * np.log10(np.mean(mids, axis=0) + 1e-30) + loud
    side = 10 * np.log10(np.mean(sides, axis=0) + 1e-30) + loud
    corrs = [p.low_band_correlation for p in profiles if p.low_band_correlation is not None]
    return MixProfile(
        path=" + ".join(p.path for p in profiles),
        sample_rate=base.sample_rate,
        num_channels=max(p.num_channels for p in profiles),
        duration_s=sum(p.duration_s for p in profiles),
        bit_depth=base.bit_depth,
        integrated_lufs=loud,
        true_peak_dbtp=max(p.true_peak_dbtp for p in profiles),
        sample_peak_dbfs=max(p.sample_peak_dbfs for p in profiles),
        lra_lu=float(np.mean([p.lra_lu for p in profiles])),
        max_short_term_lufs=float(np.mean([p.max_short_term_lufs for p in profiles])),
        band_centers_hz=base.band_centers_hz[:n],
        mid_db=mid,
        side_db=side,
        low_band_correlation=float(np.mean(corrs)) if corrs else None,
        issues=(),
    )
