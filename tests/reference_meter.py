"""The independent meter: ffmpeg's ebur128 filter, run as a real process."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass(frozen=True)
class FfmpegLoudness:
    integrated_lufs: float
    lra_lu: float
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None


def require_ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.fail("ffmpeg is not installed; `make test` installs it (Debian package ffmpeg)")
    return exe


def ffmpeg_loudness(path: str | Path, *, true_peak: bool = True, sample_peak: bool = False) -> FfmpegLoudness:
    """Integrated loudness, LRA and true peak of a file as ffmpeg's ebur128 filter measures them."""
    exe = require_ffmpeg()
    peak = "+".join(p for p, on in (("true", true_peak), ("sample", sample_peak)) if on) or "none"
    proc = subprocess.run(
        [exe, "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
         "-af", f"ebur128=peak={peak}", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    text = proc.stderr[proc.stderr.rfind("Summary:"):]

    def grab(label: str) -> float | None:
        m = re.search(label + r":\s+(-?inf|-?[\d.]+)", text)
        if not m:
            return None
        return -np.inf if "inf" in m.group(1) else float(m.group(1))

    i = grab(r"\bI")
    lra = grab("LRA")
    tp = None
    sp = None
    if true_peak:
        m = re.search(r"True peak:\s+Peak:\s+(-?inf|-?[\d.]+)", text)
        tp = (-np.inf if "inf" in m.group(1) else float(m.group(1))) if m else None
    if sample_peak:
        m = re.search(r"Sample peak:\s+Peak:\s+(-?inf|-?[\d.]+)", text)
        sp = (-np.inf if "inf" in m.group(1) else float(m.group(1))) if m else None
    assert i is not None and lra is not None, text
    return FfmpegLoudness(i, lra, tp, sp)


def ffmpeg_loudnorm_measure(path: str | Path) -> dict[str, float]:
    """ffmpeg's loudnorm first-pass measurement (libebur128 inside ffmpeg), to 0.01 dB.

    Keys: ``input_i`` (LUFS), ``input_tp`` (dBTP), ``input_lra`` (LU). More precise than the
    ebur128 filter's summary, which prints one decimal.
    """
    import json

    exe = require_ffmpeg()
    proc = subprocess.run(
        [exe, "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
         "-af", "loudnorm=print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    blob = proc.stderr[proc.stderr.rfind("{"): proc.stderr.rfind("}") + 1]
    data = json.loads(blob)
    return {k: float(data[k]) for k in ("input_i", "input_tp", "input_lra")}


def ffmpeg_ebur128_precise(path: str | Path) -> FfmpegLoudness:
    """The ffmpeg binary's ebur128 filter, read from its per-frame metadata (three decimals).

    The filter's printed summary has one decimal; its frame metadata (``lavfi.r128.*``) carries
    the same measurement to 0.001. True peak is linear there; returned in dBTP.
    """
    exe = require_ffmpeg()
    proc = subprocess.run(
        [exe, "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true+sample:metadata=1,ametadata=mode=print:file=-",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    values: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("lavfi.r128."):
            key, _, value = line.partition("=")
            values[key] = value

    def db(linear: str) -> float:
        v = float(linear)
        return 20 * float(np.log10(v)) if v > 0 else -np.inf

    return FfmpegLoudness(
        integrated_lufs=float(values["lavfi.r128.I"]),
        lra_lu=float(values["lavfi.r128.LRA"]),
        true_peak_dbtp=db(values["lavfi.r128.true_peak"]),
        sample_peak_dbfs=db(values["lavfi.r128.sample_peak"]),
    )
