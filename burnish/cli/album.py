"""``burnish album``: master a set of mixes as one album, sequenced into a CD programme."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "album",
        help="master an album project (TOML): shared tonal target, album loudness, CD image",
        description="Master every track of an album project together (one analysis each, a"
        " shared tonal target, album loudness logic), sequence them into a 44.1 kHz/16-bit"
        " album with gaps, crossfades and fades, and write album.wav, album.cue, a DDP 2.00"
        " image, per-track streaming files and album.json. Red Book rules are checked first.",
        epilog="The project file format is described in docs/album.md (example: examples/album.toml).",
    )
    p.add_argument("project", metavar="PROJECT.toml", help="album project file")
    p.add_argument("-o", "--out-dir", required=True, help="output folder")
    p.add_argument("--no-ddp", action="store_true", help="don't write the DDP image")
    p.add_argument("--check", action="store_true",
                   help="only check the project against the Red Book (from file headers)")
    p.add_argument("--json", action="store_true", help="print album.json")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from burnish.cli.progress import ProgressLine
    from burnish.delivery.album import load_project, master_album, preflight

    project = load_project(args.project)
    if args.check:
        layout, _ = preflight(project)
        print(f"{len(layout.tracks)} tracks, {layout.duration_s / 60:.2f} min: Red Book OK")
        for w in layout.warnings:
            print(f"  warning: {w}")
        return 0
    bar = ProgressLine("album: ")
    try:
        record = master_album(project, args.out_dir, progress=bar, ddp=not args.no_ddp)
    finally:
        bar.done()
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    a = record["album"]
    print(f"album: {a['duration_s'] / 60:.2f} min, {a['integrated_lufs']} LUFS,"
          f" {a['true_peak_dbtp']} dBTP (independent {a['independent_true_peak_dbtp']})")
    for t in record["tracks"]:
        status = "PASS" if t["verification"]["passed"] else "FAIL"
        print(f"  {t['number']:2d} {status} {t['title'][:30]:30s} mix {t['mix_lufs']} ->"
              f" {t['mastered_lufs']} LUFS (target {t['target_lufs']})")
    for w in record["warnings"]:
        print(f"  warning: {w}", file=sys.stderr)
    ok = a["true_peak_passed"] and all(t["verification"]["passed"] for t in record["tracks"])
    return 0 if ok else 5
