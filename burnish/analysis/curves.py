"""Target curves (tonal balance) as data, and the comparison of a mix's spectrum with one.

A curve is a JSON file of 1/3-octave band levels in dB relative to the 1 kHz band, on the same
band-power view as :class:`~burnish.analysis.spectrum.SpectrumResult` (pink noise is flat).
The shipped curves live in ``burnish/data/curves/*.json``; a user passes the path of their own
file instead of a name. File format::

    {"name": "mine", "description": "...", "source": "where the numbers come from",
     "band_centers_hz": [20, 25, ...], "level_db": [-3.0, -1.0, ...]}

:func:`compare_to_curve` removes the overall level (the median difference over the bands from
63 Hz to 12.5 kHz, so the comparison is loudness-independent) and reports the per-band
deviation plus averages over five regions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from burnish.analysis.spectrum import SpectrumResult
from burnish.errors import TargetError

FloatArray = npt.NDArray[np.float64]

#: Regions of the summary: name -> (low Hz, high Hz), band centres in ``[low, high)``.
REGIONS_HZ: dict[str, tuple[float, float]] = {
    "low": (20.0, 125.0),
    "low_mid": (125.0, 500.0),
    "mid": (500.0, 2000.0),
    "high_mid": (2000.0, 6300.0),
    "high": (6300.0, 20001.0),
}

#: Bands used to align the overall level before comparing.
ALIGN_RANGE_HZ = (63.0, 12500.0)

#: The curve used when none is named.
DEFAULT_CURVE = "neutral"


@dataclass(frozen=True, slots=True)
class TargetCurve:
    """A tonal-balance target: band levels (dB, 1/3-octave band power) relative to 1 kHz."""

    name: str
    description: str
    source: str
    band_centers_hz: FloatArray
    level_db: FloatArray

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "band_centers_hz": [float(v) for v in self.band_centers_hz],
            "level_db": [round(float(v), 2) for v in self.level_db],
        }


@dataclass(frozen=True, slots=True)
class CurveComparison:
    """How a spectrum departs from a target, level-aligned.

    ``deviation_db[i]`` is measured minus target at ``band_centers_hz[i]`` (positive: the mix has
    more energy there than the target); ``regions_db`` averages it per region of
    :data:`REGIONS_HZ`; ``offset_db`` is the overall level difference that was removed.
    """

    curve_name: str
    band_centers_hz: FloatArray
    deviation_db: FloatArray
    target_db: FloatArray  # the target aligned to the measured level, dBFS per band
    offset_db: float
    regions_db: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "curve": self.curve_name,
            "band_centers_hz": [float(v) for v in self.band_centers_hz],
            "deviation_db": [
                round(float(v), 2) if np.isfinite(v) else None for v in self.deviation_db
            ],
            "target_db": [round(float(v), 2) for v in self.target_db],
            "offset_db": round(self.offset_db, 2),
            "regions_db": {
                k: (None if v is None else round(v, 2)) for k, v in self.regions_db.items()
            },
            "regions_hz": {k: [lo, min(hi, 20000.0)] for k, (lo, hi) in REGIONS_HZ.items()},
        }


def _curves_dir() -> Path:
    return Path(str(resources.files("burnish"))) / "data" / "curves"


def available_curves() -> list[str]:
    """Names of the shipped curves."""
    return sorted(p.stem for p in _curves_dir().glob("*.json"))


def load_curve(name_or_path: str | os.PathLike[str]) -> TargetCurve:
    """A shipped curve by name (``"neutral"``), or a curve JSON file by path.

    Raises :class:`TargetError` naming the available curves, or what is wrong with the file.
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    if not (path.suffix == ".json" or os.sep in text or path.is_file()):
        path = _curves_dir() / f"{text}.json"
        if not path.is_file():
            raise TargetError(
                f"unknown target curve {text!r}; use one of {', '.join(available_curves())}"
                " or the path of a curve JSON file"
            )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(f"{path}: no such curve file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TargetError(f"{path}: not a readable curve JSON file ({exc})") from None
    return curve_from_dict(data, where=str(path))


def curve_from_dict(data: Any, *, where: str = "curve") -> TargetCurve:
    """Build and check a :class:`TargetCurve` from its JSON form."""
    if not isinstance(data, dict):
        raise TargetError(f"{where}: a curve must be a JSON object")
    for key in ("band_centers_hz", "level_db"):
        if key not in data:
            raise TargetError(f"{where}: missing key {key!r}")
    try:
        centers = np.asarray(data["band_centers_hz"], dtype=np.float64)
        levels = np.asarray(data["level_db"], dtype=np.float64)
    except (TypeError, ValueError):
        raise TargetError(f"{where}: band_centers_hz and level_db must be lists of numbers") from None
    if centers.ndim != 1 or centers.shape != levels.shape or centers.size < 3:
        raise TargetError(
            f"{where}: band_centers_hz and level_db must be lists of the same length (>= 3);"
            f" got {centers.size} and {levels.size}"
        )
    if not (np.all(np.isfinite(centers)) and np.all(np.isfinite(levels))):
        raise TargetError(f"{where}: the curve holds non-finite numbers")
    if np.any(centers <= 0) or np.any(np.diff(centers) <= 0):
        raise TargetError(f"{where}: band_centers_hz must be positive and increasing")
    return TargetCurve(
        name=str(data.get("name", Path(where).stem)),
        description=str(data.get("description", "")),
        source=str(data.get("source", "")),
        band_centers_hz=centers,
        level_db=levels,
    )


def curve_at(curve: TargetCurve, freqs_hz: npt.ArrayLike) -> FloatArray:
    """The curve interpolated (linearly in log frequency) at ``freqs_hz``; flat beyond its ends."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    return np.interp(np.log2(f), np.log2(curve.band_centers_hz), curve.level_db)


def compare_to_curve(spectrum: SpectrumResult, curve: TargetCurve) -> CurveComparison:
    """Per-band deviation of the mid spectrum from ``curve`` after aligning the overall level."""
    centers = spectrum.band_centers_hz
    measured = spectrum.mid_db
    target = curve_at(curve, centers)
    inside = (centers >= curve.band_centers_hz[0] * 0.99) & (
        centers <= curve.band_centers_hz[-1] * 1.01
    )
    align = inside & (centers >= ALIGN_RANGE_HZ[0]) & (centers <= ALIGN_RANGE_HZ[1])
    audible = measured > -150.0
    use = align & audible
    offset = float(np.median(measured[use] - target[use])) if np.any(use) else 0.0
    aligned_target = target + offset
    deviation = np.where(inside & audible, measured - aligned_target, np.nan)
    regions: dict[str, float | None] = {}
    for name, (lo, hi) in REGIONS_HZ.items():
        sel = (centers >= lo) & (centers < hi) & np.isfinite(deviation)
        # below 30 Hz the content of real mixes varies wildly; it is shown but not summarised
        sel &= centers >= 30.0
        regions[name] = float(np.mean(deviation[sel])) if np.any(sel) else None
    return CurveComparison(
        curve_name=curve.name,
        band_centers_hz=centers,
        deviation_db=deviation,
        target_db=aligned_target,
        offset_db=offset,
        regions_db=regions,
    )
