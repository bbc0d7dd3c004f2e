"""The mix analysis: one streaming pass over a file feeding every meter, then findings.

:func:`analyze_file` reads the file block by block (bounded memory: the meters keep state and
short per-hop series only) and feeds the loudness meter, the defect detector, the spectrum,
stereo and dynamics accumulators. :func:`analyze_audio` does the same for an array.
:class:`Analysis` holds the results and serialises to a JSON-ready dict.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from burnish.analysis.curves import (
    DEFAULT_CURVE,
    CurveComparison,
    TargetCurve,
    compare_to_curve,
    load_curve,
)
from burnish.analysis.defects import DefectDetector, intersample_peak_issues
from burnish.analysis.dynamics import (
    DynamicsAccumulator,
    DynamicsResult,
    Envelope,
    dynamics_from,
    over_compression_issues,
)
from burnish.analysis.issues import Issue
from burnish.analysis.loudness import LoudnessMeter, LoudnessResult
from burnish.analysis.spectrum import SpectrumAccumulator, SpectrumResult
from burnish.analysis.stereo import StereoAccumulator, StereoResult
from burnish.audio import check_audio, check_sample_rate
from burnish.errors import AnalysisError, ParameterError
from burnish.units import SILENCE_DB

#: Longest series written to JSON (points); longer ones are decimated.
MAX_SERIES_POINTS = 1500


@dataclass(frozen=True)
class Analysis:
    """Everything the analysis measured about one mix."""

    path: str | None
    sample_rate: int
    num_channels: int
    num_frames: int
    bit_depth: int | None
    format: str | None
    subtype: str | None
    loudness: LoudnessResult
    spectrum: SpectrumResult
    curve: TargetCurve
    tonal: CurveComparison
    stereo: StereoResult
    dynamics: DynamicsResult
    envelope: Envelope = field(repr=False)
    issues: list[Issue]
    elapsed_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.sample_rate

    def to_dict(self, *, include_series: bool = True) -> dict[str, Any]:
        """JSON-ready dict: file, loudness, dynamics, stereo, spectrum, tonal, issues.

        Levels that don't exist (silence) are ``-200.0``; series are decimated to at most
        :data:`MAX_SERIES_POINTS` points (``*_step_s`` gives their spacing).
        """
        loud = self.loudness.to_dict(include_series=False)
        out: dict[str, Any] = {
            "file": {
                "path": self.path,
                "sample_rate": self.sample_rate,
                "num_channels": self.num_channels,
                "num_frames": self.num_frames,
                "duration_s": round(self.duration_s, 6),
                "bit_depth": self.bit_depth,
                "format": self.format,
                "subtype": self.subtype,
            },
            "loudness": loud,
            "dynamics": self.dynamics.to_dict(),
            "stereo": self.stereo.to_dict(include_series=False),
            "spectrum": self.spectrum.to_dict(include_fine=include_series),
            "tonal": {**self.tonal.to_dict(), "curve_description": self.curve.description},
            "issues": [i.to_dict() for i in self.issues],
            "elapsed_s": round(self.elapsed_s, 3),
        }
        if include_series:
            hop = self.loudness.hop_s
            st, st_step = decimate(self.loudness.short_term_lufs, hop, how="first")
            mo, mo_step = decimate(self.loudness.momentary_lufs, hop, how="max")
            out["series"] = {
                "short_term_lufs": _levels(st),
                "short_term_step_s": st_step,
                "momentary_lufs": _levels(mo),
                "momentary_step_s": mo_step,
            }
            if self.stereo.correlation_series is not None:
                corr, corr_step = decimate(
                    self.stereo.correlation_series, self.stereo.window_s, how="mean"
                )
                out["series"]["correlation"] = [
                    None if not math.isfinite(v) else round(float(v), 3) for v in corr
                ]
                out["series"]["correlation_step_s"] = corr_step
            out["series"]["envelope"] = self.envelope.to_dict()
        return out


def _levels(values: npt.NDArray[np.float64]) -> list[float]:
    return [round(float(v), 2) if math.isfinite(v) else SILENCE_DB for v in values]


def decimate(
    series: npt.ArrayLike, step_s: float, *, how: str, max_points: int = MAX_SERIES_POINTS
) -> tuple[npt.NDArray[np.float64], float]:
    """Reduce a series to at most ``max_points`` by groups: ``first``, ``max`` or ``mean``.

    Returns the reduced series and its new step in seconds. NaN values are ignored by ``mean``
    and ``max`` (a group of only NaN stays NaN).
    """
    x = np.asarray(series, dtype=np.float64)
    if x.size <= max_points:
        return x, step_s
    group = int(math.ceil(x.size / max_points))
    n = int(math.ceil(x.size / group))
    padded = np.full(n * group, np.nan)
    padded[: x.size] = x
    g = padded.reshape(n, group)
    if how == "first":
        out = g[:, 0]
    else:
        finite = np.isfinite(g)
        count = finite.sum(axis=1)
        if how == "max":
            out = np.where(finite, g, -np.inf).max(axis=1)
        elif how == "mean":
            out = np.where(finite, g, 0.0).sum(axis=1) / np.maximum(count, 1)
        else:
            raise ParameterError(f"how={how!r} must be 'first', 'max' or 'mean'")
        out = np.where(count > 0, out, np.nan)
    return out, step_s * group


class _Pass:
    """The meters of one analysis pass."""

    def __init__(
        self, *, sample_rate: int, num_channels: int, bit_depth: int | None, num_frames: int | None
    ) -> None:
        self.loudness = LoudnessMeter(sample_rate=sample_rate, num_channels=num_channels)
        self.defects = DefectDetector(
            sample_rate=sample_rate, num_channels=num_channels, bit_depth=bit_depth
        )
        self.spectrum = SpectrumAccumulator(sample_rate=sample_rate, num_channels=num_channels)
        self.stereo = StereoAccumulator(
            sample_rate=sample_rate, num_channels=num_channels, spectrum=self.spectrum
        )
        self.dynamics = DynamicsAccumulator(
            sample_rate=sample_rate, num_channels=num_channels, expected_frames=num_frames
        )
        self.frames = 0

    def update(self, block: npt.NDArray[np.floating]) -> None:
        self.update_a(block)
        self.update_b(block)

    # Two independent groups of meters of about equal cost: one runs on a second core while
    # the other runs here (the stereo meter reads the spectrum's, so they stay together).
    def update_a(self, block: npt.NDArray[np.floating]) -> None:
        self.loudness.update(block)
        self.spectrum.update(block)
        self.stereo.update(block)
        self.frames += block.shape[1]

    def update_b(self, block: npt.NDArray[np.floating]) -> None:
        self.defects.update(block)
        self.dynamics.update(block)


def _run(
    blocks: Iterable[npt.NDArray[np.floating]],
    *,
    path: str | None,
    sample_rate: int,
    num_channels: int,
    num_frames: int | None,
    bit_depth: int | None,
    format: str | None,
    subtype: str | None,
    curve: TargetCurve,
    progress: Callable[[float], None] | None,
) -> Analysis:
    from burnish.analysis.feedback import stereo_issues, tonal_issues
    from burnish.io.overlap import OrderedWorker, prefetch

    start = time.perf_counter()
    meters = _Pass(
        sample_rate=sample_rate, num_channels=num_channels, bit_depth=bit_depth,
        num_frames=num_frames,
    )
    with OrderedWorker() as beside:
        for block in prefetch(blocks):
            beside.submit(meters.update_b, block)
            meters.update_a(block)
            if progress is not None and num_frames:
                progress(min(1.0, meters.frames / num_frames))
    if meters.frames == 0:
        raise AnalysisError(f"{path or 'audio'}: holds no samples to analyse")
    loudness = meters.loudness.result()
    spectrum = meters.spectrum.result()
    stereo = meters.stereo.result()
    dynamics = dynamics_from(meters.dynamics, loudness)
    tonal = compare_to_curve(spectrum, curve)
    duration_s = meters.frames / sample_rate

    issues = list(meters.defects.result())
    issues += intersample_peak_issues(
        loudness.true_peak_dbtp_per_channel,
        loudness.sample_peak_dbfs_per_channel,
        duration_s=duration_s,
    )
    issues += over_compression_issues(dynamics, duration_s=duration_s)
    if math.isfinite(loudness.integrated_lufs):
        issues += tonal_issues(tonal, curve=curve, duration_s=duration_s)
    issues += stereo_issues(stereo, existing=issues, duration_s=duration_s)
    issues.sort(key=lambda i: (-i.rank, i.start_s))
    if progress is not None:
        progress(1.0)
    return Analysis(
        path=path,
        sample_rate=sample_rate,
        num_channels=num_channels,
        num_frames=meters.frames,
        bit_depth=bit_depth,
        format=format,
        subtype=subtype,
        loudness=loudness,
        spectrum=spectrum,
        curve=curve,
        tonal=tonal,
        stereo=stereo,
        dynamics=dynamics,
        envelope=meters.dynamics.envelope(),
        issues=issues,
        elapsed_s=time.perf_counter() - start,
    )


def _resolve_curve(target_curve: str | os.PathLike[str] | TargetCurve) -> TargetCurve:
    return target_curve if isinstance(target_curve, TargetCurve) else load_curve(target_curve)


def analyze_file(
    path: str | os.PathLike[str],
    *,
    target_curve: str | os.PathLike[str] | TargetCurve = DEFAULT_CURVE,
    block_frames: int = 65536,
    progress: Callable[[float], None] | None = None,
) -> Analysis:
    """Analyse an audio file in one streaming pass.

    ``target_curve`` is a shipped curve name, a curve JSON path or a :class:`TargetCurve`;
    ``progress`` is called with the fraction read (0..1) after each block.
    Raises :class:`~burnish.errors.AudioFileError` for unreadable files.
    """
    from burnish.io.files import AudioReader

    if block_frames < 1024:
        raise ParameterError(f"block_frames={block_frames} must be >= 1024")
    curve = _resolve_curve(target_curve)
    with AudioReader(path) as reader:
        info = reader.info
        return _run(
            reader.blocks(block_frames),
            path=os.fspath(path),
            sample_rate=info.sample_rate,
            num_channels=info.num_channels,
            num_frames=info.num_frames,
            bit_depth=info.bit_depth,
            format=info.format,
            subtype=info.subtype,
            curve=curve,
            progress=progress,
        )


def analyze_audio(
    audio: npt.ArrayLike,
    *,
    sample_rate: int,
    bit_depth: int | None = None,
    target_curve: str | os.PathLike[str] | TargetCurve = DEFAULT_CURVE,
    block_frames: int = 65536,
) -> Analysis:
    """Analyse a ``(channels, samples)`` array; the same measurements as :func:`analyze_file`."""
    x = check_audio(audio)
    sr = check_sample_rate(sample_rate)
    curve = _resolve_curve(target_curve)
    blocks = (x[:, i : i + block_frames] for i in range(0, x.shape[1], block_frames))
    return _run(
        blocks,
        path=None,
        sample_rate=sr,
        num_channels=x.shape[0],
        num_frames=x.shape[1],
        bit_depth=bit_depth,
        format=None,
        subtype=None,
        curve=curve,
        progress=None,
    )
