"""Everything a run reads from disk, checked against everything else.

Why separate from the schema: pydantic checks each field on its own; whether an
origin is a node of the network, a citizenship is one CBP reports, or a lever's leg
exists needs the data files. Errors name the scenario file and the field path (or the
data file, row and column). Potential departures are computed here once per scenario,
so the footprint of a run is known before it starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.citizenship import CITIZENSHIPS, CODE, REGION_OF, REGIONS
from sim.engine.network import Network
from sim.errors import InputError
from sim.scenario.files import load, sha256
from sim.scenario.footprint import check_fits
from sim.scenario.spec import Scenario


@dataclass
class Inputs:
    """A validated scenario with its network and potential departures a day."""

    scenario: Scenario
    path: str
    network: Network
    dates: pd.DatetimeIndex  # one per simulated day, spin-up included
    departures: np.ndarray  # potential departures a day (persons, before responses): [day, citizenship]
    scenario_sha256: str

    @property
    def n_days(self) -> int:
        return len(self.dates)

    @property
    def reference_level(self) -> np.ndarray:
        """Each citizenship's potential departures a day at ``departures.reference_date``
        before seasonality (its level, sample persons): what prevalence is measured against."""
        dep = self.scenario.departures
        out = np.zeros(len(CITIZENSHIPS))
        for c, spec in dep.by_citizenship.items():
            out[CODE[c]] = spec.level * dep.scale
        return out

    def day_of(self, d: dt.date) -> int:
        """Index of a date in the run (may be outside [0, n_days))."""
        return (pd.Timestamp(d) - self.dates[0]).days

    @classmethod
    def load(cls, path: str | Path, scenario: Scenario | None = None, check_memory: bool = True) -> "Inputs":
        """Read and cross-check a scenario's inputs; ``check_memory``: refuse a
        ``departures.scale`` whose run cannot fit in memory (``sim.scenario.footprint``)."""
        path = str(path)
        sc = scenario if scenario is not None else load(path)
        net = Network.from_csv(sc.network.nodes, sc.network.edges, dict(sc.speeds_km_per_day))
        net.check_citizenships(set(CITIZENSHIPS), sc.network.edges)
        for c, spec in sc.departures.by_citizenship.items():
            for o in spec.origins:
                if o not in net.index:
                    raise InputError(path, f"departures.by_citizenship.{c}.origins.{o}", "unknown node")
        for i, n in enumerate(sc.darien_exit_nodes):
            if n not in net.index:
                raise InputError(path, f"darien_exit_nodes.{i}", f"unknown node {n!r}")
        for n in sc.crossing.attractiveness:
            if n not in net.index or not net.is_border[net.index[n]]:
                raise InputError(path, f"crossing.attractiveness.{n}", "not a border area of the network")
        for i, lever in enumerate(sc.policies):
            for field, node in lever.nodes_used():
                if node not in net.index:
                    raise lever.field_error(path, i, field, f"unknown node {node!r}")
            for field, leg in lever.legs_used():
                if leg not in net.edge_index:
                    raise lever.field_error(path, i, field, f"no leg from {leg[0]!r} to {leg[1]!r} in the network")
        if sc.departures.has_holders:
            net = net.with_holders(flight_origins(sc.departures, net))
        dates = pd.date_range(sc.spinup_start, sc.period.end, freq="D")
        digest = sha256(sc, [sc.network.nodes, sc.network.edges])
        inputs = cls(sc, path, net, dates, potential_departures(sc.departures, dates), digest)
        if check_memory:
            check_fits(inputs)
        return inputs


def flight_origins(departures, net: Network) -> list[str]:
    """The origins people set out from (a positive share) with a leg open only to some
    citizenships (a flight a visa may close): those whose visa holders get a twin
    (``Network.with_holders``). Read from the network, not the levers, so a run without
    a lever keeps the same origins (and random numbers)."""
    used = {o for spec in departures.by_citizenship.values() for o, s in spec.origins.items() if s > 0}
    return [o for o in net.ids if o in used and any(net.access[e] for e in net.out_edges[net.index[o]])]


def potential_departures(departures, dates: pd.DatetimeIndex) -> np.ndarray:
    """Potential departures per day and citizenship (persons, before responses): each
    citizenship's level, times its region's trend (or its own) since the reference date (to
    ``trend_until`` and ``trend_years`` after it at most), times the seasonality (shared,
    or its region's own), times the sample scale; nothing before a citizenship's ``since``."""
    out = np.zeros((len(dates), len(CITIZENSHIPS)))
    until = dates if departures.trend_until is None else dates.where(
        dates <= pd.Timestamp(departures.trend_until), pd.Timestamp(departures.trend_until))
    years = ((until - pd.Timestamp(departures.reference_date)).days.to_numpy() / 365.25)
    if departures.trend_years is not None:
        years = np.minimum(years, departures.trend_years)
    month = dates.month.to_numpy() + (dates.day.to_numpy() - 0.5) / dates.days_in_month.to_numpy()
    s = departures.seasonality
    season = {}  # region -> its factor by day, once per region
    for r in REGIONS:
        amplitude, peak = s.of_region(r)
        season[r] = np.exp(amplitude * np.cos(2 * np.pi * s.cycles * (month - peak) / 12.0))
    for c, spec in departures.by_citizenship.items():
        trend = departures.trend.get(REGION_OF[c], 0.0) if spec.trend is None else spec.trend
        out[:, CODE[c]] = spec.level * np.exp(trend * years) * season[REGION_OF[c]]
        if spec.since is not None:  # a flow a dated event started: nobody before it
            out[dates < pd.Timestamp(spec.since), CODE[c]] = 0.0
    return out * departures.scale
