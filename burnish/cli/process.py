"""``burnish process IN OUT --chain chain.json``: stream a file through a processor chain.

The chain (docs/chain.md) is built at the input file's sample rate and channel count; the output
is latency compensated, as long as the input (times the rate ratio when the chain resamples),
and written atomically. ``--block-size`` only trades memory for speed: it never changes a bit.
Exit codes: 0 done, 2 bad chain or option, 3 unreadable input or unwritable output.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``process`` subcommand."""
    p = subparsers.add_parser(
        "process",
        help="run an audio file through a chain of processors described in JSON",
        description="Stream IN through the processors of a chain file into OUT"
        " (latency compensated, written atomically).",
    )
    p.add_argument("input", metavar="IN", help="input audio file")
    p.add_argument("output", metavar="OUT", help="output file (.wav, .flac, .aiff)")
    p.add_argument("--chain", required=True, metavar="CHAIN.json", help="chain description (JSON)")
    p.add_argument(
        "--block-size", type=int, default=65536, metavar="N",
        help="frames per block (default 65536); never changes the output",
    )
    p.add_argument(
        "--bit-depth", type=int, choices=(16, 24, 32), default=24,
        help="output word length: 16/24-bit PCM or 32-bit float (default 24)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; BurnishError is turned into a one-line message by cli.main."""
    from burnish.chain import load_chain_data, process_file
    from burnish.errors import ChainError, ParameterError

    if args.block_size < 1:
        raise ParameterError(f"--block-size={args.block_size} must be at least 1")
    data = load_chain_data(args.chain)
    show = not args.quiet and not args.json and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\rburnish: processing {100 * done / max(total, 1):5.1f} %", end="", file=sys.stderr)

    try:
        summary = process_file(
            args.input, args.output, data, block_frames=args.block_size,
            bit_depth=args.bit_depth, progress=progress,
        )
    except ChainError as exc:
        raise ChainError(f"{args.chain}: {exc}") from None
    if show:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        print(
            f"{summary['output']}: {summary['output_frames']} frames at"
            f" {summary['output_sample_rate']} Hz, {len(summary['chain']['processors'])} processors"
        )
    return 0
