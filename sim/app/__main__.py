"""``python -m sim.app [--port N] [--host H]``: the same as ``migsim app``, for
checkouts where the command line does not register the subcommand (and for tests)."""

from __future__ import annotations

import argparse
import sys

from sim.app.command import add_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.app")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["app", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
