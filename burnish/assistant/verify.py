"""Verification: the rendered master measured again, requirement by requirement.

Two meters measure the output: burnish's own and libavfilter's ebur128 (through PyAV), which
share no code. The true-peak check must pass on both; loudness is reported from both.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from burnish.io.files import AudioReader


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    measured: float | str | None
    required: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        m = self.measured
        if isinstance(m, float):
            m = round(m, 3) if math.isfinite(m) else None
        return {"name": self.name, "passed": self.passed, "measured": m,
                "required": self.required, "note": self.note}


@dataclass(frozen=True)
class Verification:
    checks: tuple[Check, ...]
    integrated_lufs: float
    true_peak_dbtp: float
    independent_integrated_lufs: float | None
    independent_true_peak_dbtp: float | None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(x, 3)

        return {
            "passed": self.passed,
            "integrated_lufs": r(self.integrated_lufs),
            "true_peak_dbtp": r(self.true_peak_dbtp),
            "independent_meter": "libavfilter ebur128 (peak=true)",
            "independent_integrated_lufs": r(self.independent_integrated_lufs),
            "independent_true_peak_dbtp": r(self.independent_true_peak_dbtp),
            "checks": [c.to_dict() for c in self.checks],
        }


def _scan(path: str) -> tuple[int, float, list[float], int, int, float]:
    """Clipped-sample runs, sample peak, per-channel mean, frames, rate, true peak (dBTP)."""
    from burnish.analysis.true_peak import TruePeakMeter

    runs = 0
    peak = 0.0
    total = None
    frames = 0
    with AudioReader(path) as reader:
        rate = reader.info.sample_rate
        tp_meter = TruePeakMeter(sample_rate=rate, num_channels=reader.info.num_channels)
        prev_at_fs = None
        for block in reader.blocks(1 << 18):
            tp_meter.update(block)
            a = np.abs(block)
            peak = max(peak, float(a.max(initial=0.0)))
            s = block.sum(axis=1)
            total = s if total is None else total + s
            frames += block.shape[1]
            at_fs = a >= 0.99999
            if prev_at_fs is not None:
                at_fs_ext = np.concatenate([prev_at_fs[:, None], at_fs], axis=1)
            else:
                at_fs_ext = at_fs
            # a clipped run: two or more consecutive samples at full scale
            runs += int(np.count_nonzero(at_fs_ext[:, 1:] & at_fs_ext[:, :-1]))
            prev_at_fs = at_fs[:, -1]
    means = [] if total is None else (total / max(frames, 1)).tolist()
    sample_peak = 20 * math.log10(peak) if peak > 0 else -math.inf
    return runs, sample_peak, means, frames, rate, tp_meter.peak_dbtp()


def verify_master(
    path: str | os.PathLike[str],
    *,
    target_lufs: float,
    ceiling_dbtp: float,
    own_integrated_lufs: float,
    reachable: bool,
    shortfall_lu: float,
    sample_rate: int,
    bit_depth: int,
    tolerance_lu: float = 0.2,
) -> Verification:
    """Check the master at ``path`` against what was asked.

    True peak is measured here on the written file, by burnish's meter and by libavfilter's;
    the loudness is burnish's measurement of the render, cross-checked by libavfilter's.
    """
    from burnish.io.ffmeter import ffmpeg_ebur128
    from burnish.io.overlap import run_beside

    path = os.fspath(path)
    independent = run_beside(lambda: ffmpeg_ebur128(path))  # libavfilter runs without the GIL
    runs, sample_peak, means, frames, rate, own_true_peak_dbtp = _scan(path)
    ind = independent()
    with AudioReader(path) as reader:
        depth = reader.info.bit_depth
    checks: list[Check] = []
    err = own_integrated_lufs - target_lufs
    if reachable:
        checks.append(Check(
            "integrated loudness", abs(err) <= tolerance_lu, own_integrated_lufs,
            f"{target_lufs:.1f} LUFS ±{tolerance_lu:g} LU",
            f"independent meter: {ind.integrated_lufs:.2f} LUFS"))
    else:
        checks.append(Check(
            "integrated loudness", True, own_integrated_lufs,
            f"{target_lufs:.1f} LUFS ±{tolerance_lu:g} LU",
            f"not reachable without harm: {shortfall_lu:.1f} LU short; mastered to the best"
            " honest compromise (use --force-loudness to insist)"))
    tp_worst = max(own_true_peak_dbtp, ind.true_peak_dbtp)
    checks.append(Check(
        "true peak", tp_worst <= ceiling_dbtp + 1e-6, tp_worst, f"<= {ceiling_dbtp:.1f} dBTP",
        f"burnish {own_true_peak_dbtp:.2f} dBTP, independent {ind.true_peak_dbtp:.2f} dBTP"))
    checks.append(Check("no clipping", runs == 0 and sample_peak < 0.0, float(runs),
                        "no consecutive full-scale samples", f"sample peak {sample_peak:.2f} dBFS"))
    worst_dc = max((abs(m) for m in means), default=0.0)
    checks.append(Check("no DC offset", worst_dc < 1e-3, worst_dc, "|mean| < 0.001"))
    checks.append(Check("sample rate", rate == sample_rate, float(rate), f"{sample_rate} Hz"))
    checks.append(Check("bit depth", depth == bit_depth, float(depth or 0), f"{bit_depth} bits"))
    return Verification(
        checks=tuple(checks),
        integrated_lufs=own_integrated_lufs,
        true_peak_dbtp=own_true_peak_dbtp,
        independent_integrated_lufs=ind.integrated_lufs,
        independent_true_peak_dbtp=ind.true_peak_dbtp,
    )
