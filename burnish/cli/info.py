"""``burnish info FILE...``: what an audio file holds (format, rate, channels, bits, length).

By default every sample is decoded once, so a damaged file, or NaN/Inf samples in a float file,
is reported here rather than half-way through a master; ``--header-only`` skips that pass.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="show an audio file's format, sample rate, channels, bit depth and duration",
        description="Show what an audio file holds. Put -- before a file name that starts"
        " with a dash.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio file(s) to describe")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--header-only",
        action="store_true",
        help="read only the header (don't decode the samples to check them and find the peak)",
    )
    p.set_defaults(run=run)


def describe(path: str, *, scan: bool = True) -> dict[str, Any]:
    """A JSON-ready description of one file; raises AudioFileError for a bad one."""
    import numpy as np

    from burnish.io.files import AudioReader
    from burnish.units import gain_to_db

    with AudioReader(path, dtype=np.float32) as reader:
        info = reader.info
        result: dict[str, Any] = {
            "path": info.path,
            "format": info.format,
            "subtype": info.subtype,
            "sample_rate": info.sample_rate,
            "num_channels": info.num_channels,
            "bit_depth": info.bit_depth,
            "lossy": info.lossy,
            "num_frames": info.num_frames,
            "duration_s": round(info.duration_s, 6),
            "backend": info.backend,
        }
        if scan:
            peak = 0.0
            for block in reader.blocks():
                peak = max(peak, float(np.max(np.abs(block))))
            result["sample_peak_dbfs"] = round(gain_to_db(peak), 2)
    return result


def _duration_text(duration_s: float) -> str:
    minutes, seconds = divmod(duration_s, 60.0)
    return f"{int(minutes)}:{seconds:06.3f}"


def format_text(d: dict[str, Any]) -> str:
    """Human-readable lines for one :func:`describe` result."""
    from burnish.io.files import display_name

    channels = {1: "mono", 2: "stereo"}.get(d["num_channels"], "")
    bits = f"{d['bit_depth']}-bit" if d["bit_depth"] else "lossy (no fixed bit depth)"
    lines = [
        display_name(d["path"]),
        f"  format       {d['format']} ({d['subtype']})",
        f"  sample rate  {d['sample_rate']} Hz",
        f"  channels     {d['num_channels']} ({channels})",
        f"  bit depth    {bits}",
        f"  duration     {_duration_text(d['duration_s'])} ({d['duration_s']:.3f} s,"
        f" {d['num_frames']} frames)",
    ]
    if "sample_peak_dbfs" in d:
        lines.append(f"  sample peak  {d['sample_peak_dbfs']:.2f} dBFS")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Describe each file; the first bad one raises AudioFileError (one line, non-zero exit)."""
    results = [describe(path, scan=not args.header_only) for path in args.files]
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    else:
        print("\n\n".join(format_text(d) for d in results))
    return 0
