"""Everything a run reads from disk, checked against everything else.

Why separate from the schema: pydantic checks each field on its own; whether an
origin is a node of the network, a citizenship is one CBP reports, or a departure row
falls in a real month needs the data files. Errors name the scenario file and the
field path (or the data file, row and column).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.citizenship import CITIZENSHIPS, CODE
from sim.engine.network import Network
from sim.errors import InputError
from sim.scenario.files import load, sha256
from sim.scenario.footprint import check_fits
from sim.scenario.spec import Scenario


@dataclass
class Inputs:
    """A validated scenario with its network and daily departure schedule."""

    scenario: Scenario
    path: str
    network: Network
    dates: pd.DatetimeIndex  # one per simulated day, spin-up included
    departures: np.ndarray  # persons per day (float, before Poisson draws): [day, citizenship]
    scenario_sha256: str

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def day_of(self, d: dt.date) -> int:
        """Index of a date in the run (may be outside [0, n_days))."""
        return (pd.Timestamp(d) - self.dates[0]).days

    @classmethod
    def load(cls, path: str | Path, scenario: Scenario | None = None) -> "Inputs":
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
        for i, lever in enumerate(sc.policies):
            for field, node in lever.nodes_used():
                if node not in net.index:
                    raise InputError(path, f"policies.{i}.{field}", f"unknown node {node!r}")
            for field, leg in lever.legs_used():
                if leg not in net.edge_index:
                    raise InputError(path, f"policies.{i}.{field}", f"no leg from {leg[0]!r} to {leg[1]!r} in the network")
        dates = pd.date_range(sc.spinup_start, sc.period.end, freq="D")
        sched = read_schedule(sc.departures.file, dates, sc.departures.by_citizenship, path)
        sched *= sc.departures.scale
        digest = sha256(sc, [sc.network.nodes, sc.network.edges, sc.departures.file])
        inputs = cls(sc, path, net, dates, sched, digest)
        check_fits(inputs)
        return inputs


def read_schedule(file: str, dates: pd.DatetimeIndex, by_cit: dict, scenario_path: str) -> np.ndarray:
    """Monthly persons per citizenship spread evenly over the month's days."""
    f = Path(file)
    if not f.is_file():
        raise InputError(scenario_path, "departures.file", f"file not found: {file}")
    try:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise InputError(f, "departures", f"cannot read CSV ({str(exc).splitlines()[0]})") from None
    for col in ("month", "citizenship", "persons"):
        if col not in df.columns:
            raise InputError(f, col, "required column missing")
    out = np.zeros((len(dates), len(CITIZENSHIPS)))
    month_of_day = dates.to_period("M")
    days_in = dates.days_in_month.to_numpy()
    for i, row in enumerate(df.itertuples(index=False)):
        where = f"row {i + 2}"
        c = row.citizenship.strip().upper()
        if c not in CODE:
            raise InputError(f, f"{where}: citizenship", f"unknown citizenship {row.citizenship!r}")
        try:
            m = pd.Period(row.month.strip(), freq="M")
        except Exception:
            raise InputError(f, f"{where}: month", f"not a month (YYYY-MM): {row.month!r}") from None
        try:
            n = float(row.persons)
        except ValueError:
            raise InputError(f, f"{where}: persons", f"not a number: {row.persons!r}") from None
        if not np.isfinite(n) or n < 0:
            raise InputError(f, f"{where}: persons", f"{n} is negative or not finite")
        if n > 0 and c not in by_cit:
            raise InputError(scenario_path, f"departures.by_citizenship.{c}",
                             f"departures of {c} in {f.name} but no origins given")
        sel = month_of_day == m
        out[sel, CODE[c]] += n / days_in[sel]
    return out
