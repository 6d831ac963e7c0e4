"""The statistics of the history at the parameters in force, for the probes that ask where
the estimate misses (``darien_breakdown.py``, ``monthly_totals.py``): the calibration's own
statistics (levels and trends solved as in the estimation) at a larger scale and more
seeds than the ABC's, with ``--scale`` and ``--seeds`` on the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "calibration" / "fy2022_fy2023.yaml"
HISTORY = ROOT / "scenarios" / "history_fy2022_fy2023.yaml"


def scenario_at(scale: float, scenario: Path = HISTORY) -> dict:
    """A scenario as a mapping (what it extends merged in: the estimate in force) at a
    ``departures.scale``, for a probe to vary before ``inputs_of``."""
    from sim.scenario.files import read_raw

    raw = read_raw(scenario)
    raw.setdefault("departures", {})["scale"] = scale
    return raw


def inputs_of(raw: dict, scenario: Path = HISTORY):
    """A probe's varied scenario validated and loaded (errors name ``scenario``)."""
    from sim.scenario.files import validate_raw
    from sim.scenario.inputs import Inputs

    return Inputs.load(scenario, validate_raw(raw, scenario))


def stats_in_force(doc: str, scale: float = 0.2, seeds: tuple[int, ...] = (1, 2)):
    """Parse ``--scale`` and ``--seeds`` (the probe's first docstring paragraph as help);
    return the calibration's targets and its statistics at the parameters in force."""
    from sim.studies.calibration.simulate import CalibrationModel

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=scale)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(seeds))
    a = ap.parse_args()
    model = CalibrationModel(SPEC, scale=a.scale, seeds=a.seeds)
    return model.targets, model(model.params_in_force())
