"""``burnish revise``: a new revision from the original mix, with a musician's requests."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "revise",
        help="render a new revision of a master with requested changes",
        description="Render a new revision from the ORIGINAL mix (never from the previous"
        " master), with the latest revision's settings plus the requested changes. Every"
        " revision is kept. Amounts: dB for tone, LU for loudness, steps of 1 for the rest.",
    )
    p.add_argument("record", metavar="MASTER_JSON", help="OUTDIR/<name>.master.json")
    p.add_argument("--brighter", type=float, default=0.0, metavar="DB",
                   help="more (or, negative, less) top end, in dB")
    p.add_argument("--more-bass", type=float, default=0.0, metavar="DB", help="more low end, dB")
    p.add_argument("--warmer", type=float, default=0.0, metavar="DB", help="more low-mid body, dB")
    p.add_argument("--louder", type=float, default=0.0, metavar="LU", help="louder by LU")
    p.add_argument("--wider", type=float, default=0.0, metavar="STEPS", help="wider (+) / narrower (-)")
    p.add_argument("--less-compression", action="store_const", const=-0.5, default=0.0,
                   help="less compression (less squashed)")
    p.add_argument("--more-compression", action="store_const", const=0.5, default=0.0,
                   help="more compression (denser)")
    p.add_argument("--request", default="", help='plain words, e.g. "a bit brighter and less squashed"')
    p.add_argument("--report", action="store_true", default=None, help="write HTML reports")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from burnish.assistant.decide import Adjustments
    from burnish.assistant.master import revise
    from burnish.assistant.requests import parse_request
    from burnish.cli.master import _print_record
    from burnish.cli.progress import ProgressLine

    adj = Adjustments(
        brightness_db=args.brighter, bass_db=args.more_bass, warmth_db=args.warmer,
        loudness_lu=args.louder, width=args.wider,
        compression=args.less_compression + args.more_compression,
    )
    if args.request:
        adj = adj.plus(parse_request(args.request))
    if adj.is_zero():
        from burnish.errors import ParameterError

        raise ParameterError("nothing to revise: give a change such as --brighter 1 or --request")
    bar = ProgressLine("revise: ")
    try:
        record = revise(args.record, adj, request_text=args.request, report=args.report,
                        progress=bar)
    finally:
        bar.done()
    rev = record["revisions"][-1]
    print(f"revision {rev['revision']}: {rev['request']}")
    _print_record(record, sys.stdout, os.path.dirname(args.record))
    return 0 if all(v["verification"]["passed"] for v in rev["versions"]) else 5
