"""``migsim app``: the subcommand that starts the browser front end.

Why this module is tiny: ``sim/cli.py`` registers the subcommand at start-up, so
this file imports nothing but argparse; Solara, Mesa's visualisation and the pages are
imported only when the subcommand runs (``sim.app.server``).
"""

from __future__ import annotations

import argparse
import sys


def _port(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535 (0 = any free port), not {v}")
    return v


def cmd_app(a) -> int:
    from sim.app.paths import PathRefused

    try:
        from sim.app.server import serve
    except ImportError as exc:
        print(f"migsim: error: the app needs the 'app' extra (pip install -e '.[app]'): {exc}", file=sys.stderr)
        return 2
    try:
        return serve(a.host, a.port)
    except PathRefused as exc:
        print(f"migsim: error: {exc}", file=sys.stderr)
        return 2


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "app", help="open scenarios, runs and results in a browser (a local Solara server)",
        description=("Start a local web app (Solara) to edit a scenario's levers, run it in the background, "
                     "watch the model step day by day on a map, and read its plots and effects against a "
                     "baseline. Reads and writes only scenarios/ and results/ of the project folder (the "
                     "working folder). Works without internet. Listens on 127.0.0.1 unless --host says "
                     "otherwise: there is no login, so only open it to a network you trust."))
    p.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 = every network)")
    p.set_defaults(func=cmd_app)
