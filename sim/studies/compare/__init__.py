"""Comparing scenarios: run folders and sweeps side by side, against the observed figures.

``read`` turns run and sweep folders into small tables, ``figures`` draws them, and
``command`` is ``migsim compare``.
"""

from sim.studies.compare.command import add_parser, compare

__all__ = ["add_parser", "compare"]
