"""``burnish analyze FILE...``: loudness, dynamics, stereo, tonal balance and defects of a mix.

Text by default (one summary per file); ``--json`` prints one JSON object per file (one line
each, so several files make JSON Lines); ``--report PATH`` writes a self-contained HTML report.
With several files and ``--report``, each file gets its own report named after the file:
``--report out/report.html`` writes ``out/report-<file stem>.html``; a ``--report`` ending in
``/`` (or naming an existing folder) writes ``<folder>/<file stem>.html``.

A file that can't be analysed prints a one-line error; the others are still analysed and the
exit status is non-zero at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``analyze`` subcommand."""
    p = subparsers.add_parser(
        "analyze",
        help="measure a mix: loudness, dynamics, stereo, tonal balance, defects",
        description="Measure a mix and say, in plain words, what to fix before mastering.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio file(s) to analyse")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.add_argument(
        "--report",
        metavar="PATH",
        help="write a self-contained HTML report (several files: one report per file)",
    )
    p.add_argument(
        "--target-curve",
        default="neutral",
        metavar="NAME",
        help="tonal target: neutral, bright, warm, orchestral, hiphop_edm, or a curve JSON path"
        " (default: neutral)",
    )
    p.add_argument(
        "--no-series",
        action="store_true",
        help="leave the time series and fine spectrum out of the JSON",
    )
    p.set_defaults(run=run)


def report_path_for(report: str, source: str, *, several: bool) -> Path:
    """Where the HTML report of ``source`` goes (see the module docstring)."""
    target = Path(report)
    stem = Path(source).stem
    if report.endswith(("/", "\\")) or target.is_dir():
        return target / f"{stem}.html"
    if not several:
        return target
    suffix = target.suffix or ".html"
    return target.with_name(f"{target.stem}-{stem}{suffix}")


def run(args: argparse.Namespace) -> int:
    """Analyse every file; return 0 when all succeeded, else the last error's exit code."""
    import json

    from burnish.analysis.curves import load_curve
    from burnish.errors import BurnishError

    curve = load_curve(args.target_curve)  # a bad curve is an error for every file: fail now

    from burnish.analysis.analyzer import analyze_file
    from burnish.analysis.feedback import render_text

    status = 0
    several = len(args.files) > 1
    for index, path in enumerate(args.files):
        try:
            analysis = analyze_file(path, target_curve=curve)
            if args.report:
                from burnish.report.html import write_analysis_report

                out = report_path_for(args.report, path, several=several)
                write_analysis_report(analysis, out)
            if args.json:
                data = analysis.to_dict(include_series=not args.no_series)
                if args.report:
                    data["report"] = str(out)
                print(json.dumps(data, allow_nan=False, separators=(",", ":")), flush=True)
            else:
                if index:
                    print()
                print(render_text(analysis))
                if args.report:
                    print(f"  Report: {out}")
                sys.stdout.flush()
        except BurnishError as exc:
            print(f"burnish: error: {exc}", file=sys.stderr, flush=True)
            status = exc.exit_code
        except BrokenPipeError:
            raise  # the reader (e.g. `head`) closed the pipe: main() ends quietly
        except OSError as exc:
            print(f"burnish: error: {path}: {exc.strerror or exc}", file=sys.stderr, flush=True)
            status = 1
    return status
