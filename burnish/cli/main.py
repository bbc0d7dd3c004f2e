"""Entry point of the ``burnish`` command.

Each subcommand lives in ``burnish/cli/<name>.py`` and defines ``add_parser(subparsers)`` and
``run(args) -> int``. Those modules import only argparse-level things at the top, so that
``burnish --help`` stays instant; heavy modules are imported inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from burnish import __version__

#: Subcommands in the order ``--help`` lists them; a module not written yet is skipped.
COMMANDS = ("info", "analyze", "process", "master", "revise", "deliver", "repair", "album", "ddp")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="burnish",
        description="Audio mastering in software: analyse a mix, master it, deliver it.",
    )
    parser.add_argument("--version", action="version", version=f"burnish {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"burnish.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"burnish.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    from burnish.errors import BurnishError

    try:
        return int(args.run(args) or 0)
    except BurnishError as exc:
        print(f"burnish: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("burnish: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("burnish: error: out of memory", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"burnish: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
