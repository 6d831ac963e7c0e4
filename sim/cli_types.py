"""Argument types shared by the ``migsim`` subcommands (argparse turns their errors into
a usage message and exit code 2)."""

from __future__ import annotations

import argparse
import os


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def positive_int(text: str) -> int:
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {v}")
    return v


def non_negative_int(text: str) -> int:
    v = _int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {v}")
    return v


def usable_cores() -> int:
    """The cores this process may use (a cluster job's allotment, not the node's count):
    the default number of worker processes, since replicates are independent and their
    results do not depend on how many processes run them."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
