"""How many people and groups a scenario will create, and whether that fits in memory.

Why before the run: a typo in ``departures.scale`` (``1e9`` for ``1e-1``) otherwise ends
in a numpy traceback about a multi-terabyte array, or runs for minutes and gigabytes
without a word. The estimate is cheap (the expected departures are known before the
first day) and errs on the large side; it is shown by ``migsim validate`` and a
scenario that cannot fit in this machine's memory is refused with one line naming the
file and the field.

Per-group cost, measured on the full-scale FY2023 baseline (benchmarks/baseline.py):
448k groups and 3.3 M people peaked at 560 MB, about 1 kB per group (its Mesa agent,
its row of the group table, the index arrays) over a base of about 150 MB. Groups
number about 1.1 per party set out (retries and splits add rows); with
``route_choice.split_at_forks`` about six times as many (every fork splits parties).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from sim.citizenship import CITIZENSHIPS
from sim.errors import InputError

BASE_BYTES = 150e6
BYTES_PER_GROUP = 1_000.0
GROUPS_PER_PARTY = 1.1
SPLIT_FACTOR = 6.0
USABLE_SHARE = 0.8  # of physical memory


@dataclass(frozen=True)
class Footprint:
    """Expected people and groups of one run, and the memory they need."""

    people: float
    groups: float
    bytes: float

    def __str__(self) -> str:
        return (f"about {self.people:,.0f} people in {self.groups:,.0f} groups, "
                f"{self.bytes / 1e6:,.0f} MB per run")


def response_bound(scenario) -> np.ndarray:
    """Per citizenship, the largest share of potential departures that sets out at the
    start: the response to the believed chance of release, exp(release_weight x
    (release - 1)), with release the chance under Title 8 without Title 42 (the higher
    one, so the estimate errs large). Levels are potential departures before this
    response, and for citizenships most of whom are removed they are many times the
    people who leave."""
    b, w = scenario.border, scenario.behaviour.response.release_weight
    rm = np.array([b.removal_share.get(c) for c in CITIZENSHIPS])
    released, home = 1.0 - rm, rm * (1.0 - b.removed_retry)
    return np.exp(w * (released / np.maximum(released + home, 1e-12) - 1.0))


def estimate(inputs) -> Footprint:
    """The footprint of a run of ``inputs`` (expected departures, party sizes)."""
    dep = inputs.scenario.departures
    people = float((inputs.departures * response_bound(inputs.scenario)[None, :]).sum())
    sizes = [spec.group_size.mean if spec.group_size else dep.group_size.mean for spec in dep.by_citizenship.values()]
    mean_size = min(sizes) if sizes else dep.group_size.mean
    groups = people / max(mean_size, 1.0) * GROUPS_PER_PARTY
    if inputs.scenario.route_choice.split_at_forks:
        groups *= SPLIT_FACTOR
    return Footprint(people, groups, BASE_BYTES + groups * BYTES_PER_GROUP)


def physical_memory() -> float:
    """Bytes of physical memory of this machine (inf when the system does not say)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return float("inf")


def check_fits(inputs) -> Footprint:
    """Raise ``InputError`` on ``departures.scale`` when a run cannot fit in memory."""
    fp = estimate(inputs)
    limit = USABLE_SHARE * physical_memory()
    if fp.bytes > limit:
        raise InputError(inputs.path, "departures.scale", (
            f"{inputs.scenario.departures.scale:g} would create {fp}; this machine has "
            f"{physical_memory() / 1e9:,.1f} GB (lower the scale: 1.0 is one simulated person per real person)"))
    return fp
