"""``burnish deliver``: the right file for every destination, from a stored master."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

#: Flags that set one metadata field each: (flag, field, type, help).
_TAG_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--title", "title", str, "track title"),
    ("--artist", "artist", str, "track artist"),
    ("--album", "album", str, "album (release) title"),
    ("--album-artist", "album_artist", str, "album artist"),
    ("--track", "track_number", int, "track number"),
    ("--tracks", "track_total", int, "number of tracks"),
    ("--disc", "disc_number", int, "disc number"),
    ("--discs", "disc_total", int, "number of discs"),
    ("--date", "date", str, "release date: YYYY, YYYY-MM or YYYY-MM-DD"),
    ("--genre", "genre", str, "genre"),
    ("--composer", "composer", str, "composer"),
    ("--publisher", "publisher", str, "publisher / label"),
    ("--copyright", "copyright", str, "copyright line"),
    ("--isrc", "isrc", str, "ISRC (CC-XXX-YY-NNNNN)"),
    ("--upc", "barcode", str, "UPC-A or EAN-13 barcode of the release"),
    ("--iswc", "iswc", str, "ISWC of the work (T-123.456.789-C)"),
    ("--comment", "comment", str, "comment"),
    ("--artwork", "artwork_path", str, "front cover, JPEG or PNG"),
)


def add_parser(sub: Any) -> None:
    from burnish.delivery.destinations import DEFAULT_DESTINATIONS, DESTINATIONS

    p = sub.add_parser(
        "deliver",
        help="make the files each destination wants (CD, streaming, MP3, AAC, Opus, hi-res)",
        description="Derive deliverables from a stored master without mastering again:"
        " resample (soxr), dither to 16 bits where needed (seeded TPDF, once, last), encode,"
        " decode and check the true peak of every lossy file against its ceiling (lowering the"
        " gain and encoding again if needed), and tag every file.",
        epilog="destinations:\n" + "\n".join(f"  {d.name:14s} {d.title}" for d in
                                              DESTINATIONS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("master", metavar="MASTER",
                   help="a master record (NAME.master.json) or a finished master audio file")
    p.add_argument("--deliver", default=",".join(DEFAULT_DESTINATIONS), metavar="LIST",
                   help=f"comma-separated destinations (default: {','.join(DEFAULT_DESTINATIONS)})")
    p.add_argument("--version", dest="master_version", metavar="NAME",
                   help="version of the master record (default: the first 24-bit one)")
    p.add_argument("-o", "--out-dir",
                   help="output folder (default: a 'delivery' folder beside the master)")
    p.add_argument("--release", metavar="TOML", help="release metadata file (examples/release.toml)")
    p.add_argument("--ceiling", type=float, metavar="DBTP",
                   help="true-peak ceiling of every deliverable (default: the master's; lossy:"
                   " the version's target)")
    p.add_argument("--independent-meter", action="store_true",
                   help="also measure every lossy file with libavfilter's ebur128 and keep the"
                   " worse true peak (slower; burnish's own meter, tested against ffmpeg, decides"
                   " by default)")
    for flag, field, kind, text in _TAG_FLAGS:
        p.add_argument(flag, dest=f"tag_{field}", type=kind, metavar="VALUE" if kind is str else "N",
                       help=text + " (overrides --release)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(run=run)


def _fmt(x: float | None, digits: int = 2) -> str:
    import math

    if x is None:
        return "-"
    if not math.isfinite(x):
        return "-inf"
    return f"{x:.{digits}f}"


def print_table(results: list[Any], out: Any) -> None:
    """One line per deliverable: file, format, rate/bits, decoded true peak, loudness, result."""
    rows = [("file", "format", "rate/bits", "TP dBTP", "ceiling", "LUFS", "gain dB", "result")]
    for r in results:
        if r.bit_depth is not None:
            fmt = r.container
            depth = f"{r.sample_rate / 1000:g} kHz/{r.bit_depth}"
        else:
            rate = f"{r.bitrate_kbps} kbps" if r.bitrate_kbps else f"V{r.vbr_quality}"
            fmt = f"{r.container} {rate}"
            depth = f"{r.sample_rate / 1000:g} kHz"
        rows.append((os.path.basename(r.path), fmt, depth, _fmt(r.true_peak_dbtp),
                     _fmt(r.ceiling_dbtp), _fmt(r.integrated_lufs), _fmt(r.gain_db),
                     "pass" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [c.ljust(w) if i < 3 or i == 7 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip(), file=out)
    for r in results:
        for note in r.notes:
            print(f"  {os.path.basename(r.path)}: {note}", file=out)


def run(args: argparse.Namespace) -> int:
    from burnish.delivery.deliver import deliver
    from burnish.delivery.release import load_release, merge_metadata

    base = load_release(args.release) if args.release else None
    flags = {field: getattr(args, f"tag_{field}") for _flag, field, _k, _t in _TAG_FLAGS}
    metadata = merge_metadata(base, flags)
    out_dir = args.out_dir or os.fspath(Path(args.master).resolve().parent / "delivery")
    show = sys.stderr.isatty() and not args.json

    def progress(stage: str, frac: float) -> None:
        if show:
            print(f"\r\033[Kdeliver: {stage}", end="", file=sys.stderr, flush=True)

    try:
        results = deliver(args.master, args.deliver, out_dir=out_dir, metadata=metadata,
                          version=args.master_version, ceiling_dbtp=args.ceiling,
                          progress=progress, independent_meter=args.independent_meter)
    finally:
        if show:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print_table(results, sys.stdout)
        print(f"  folder: {out_dir}")
    return 0 if all(r.passed for r in results) else 5
