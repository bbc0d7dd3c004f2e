"""``burnish ddp``: verify, list and extract DDP 2.00 images."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ddp", help="verify, list or extract a DDP 2.00 image",
                       description="Work with a DDP 2.00 image folder (as written by burnish album).")
    cmds = p.add_subparsers(dest="ddp_command", metavar="ACTION", required=True)
    v = cmds.add_parser("verify", help="checksums, structure and PQ sanity")
    v.add_argument("folder", metavar="DIR")
    v.set_defaults(run=_verify)
    ls = cmds.add_parser("list", help="tracks with index times, ISRCs and CD-TEXT titles")
    ls.add_argument("folder", metavar="DIR")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    ls.set_defaults(run=_list)
    x = cmds.add_parser("extract", help="the whole image or one track as a 16-bit WAV")
    x.add_argument("folder", metavar="DIR")
    x.add_argument("out", metavar="OUT.wav")
    x.add_argument("--track", type=int, help="only this track (INDEX 01 to the next track)")
    x.set_defaults(run=_extract)


def _verify(args: argparse.Namespace) -> int:
    from burnish.delivery.ddp import verify_ddp

    for note in verify_ddp(args.folder):
        print(note)
    print(f"{args.folder}: OK")
    return 0


def _list(args: argparse.Namespace) -> int:
    import json

    from burnish.delivery.ddp import read_ddp
    from burnish.delivery.redbook import msf_text

    image = read_ddp(args.folder)
    tracks = image.tracks()
    if args.json:
        print(json.dumps({"level": image.level, "catalog": image.catalog, "tracks": tracks}, indent=2))
        return 0
    title = image.cdtext.get("title", {}).get(0, "")
    performer = image.cdtext.get("performer", {}).get(0, "")
    print(f"{image.level}  UPC/EAN {image.catalog or '-'}  {title} / {performer}")
    for t in tracks:
        i0 = "--:--:--" if t["index00_frames"] is None else msf_text(t["index00_frames"])
        print(f"  {t['number']:02d}  INDEX 00 {i0}  INDEX 01 {msf_text(t['index01_frames'])}"
              f"  {t['isrc'] or '-':12s}  {t.get('title', '')}")
    lead = [p for p in image.pq if p.track == "AA"]
    if lead:
        print(f"  lead-out {lead[0].time}")
    return 0


def _extract(args: argparse.Namespace) -> int:
    from burnish.delivery.ddp import extract_wav

    start, end = extract_wav(args.folder, args.out, track=args.track)
    print(f"{args.out}: samples {start}-{end} ({(end - start) / 44100:.2f} s)")
    return 0
