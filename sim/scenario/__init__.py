"""The scenario layer: the schema, reading files, checking them against the data, variations.

``load``, ``read_raw`` and ``validate_raw`` are the entry points most callers need.
"""

from sim.scenario.files import load, read_raw, validate_raw

__all__ = ["load", "read_raw", "validate_raw"]
