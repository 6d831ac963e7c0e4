"""The observed figures as summary statistics, the same statistics of a run, and distances.

Why together: a target and the reduction of a run compared with it must agree on
months, labels and units; both are built here, from the observed tables (read by
``sim.outcomes.observed``) and a run's table (reduced by ``sim.outcomes.table``).

Statistics are kept by citizenship, so that levels can be applied after the run: a
citizenship's encounters and Darién crossings are proportional to its level for fixed
shared parameters (``solve_levels``, ``apply_levels``), and, with ``fit.solve_trends``,
a change of its trend multiplies each month's counts by exp(trend change x years)
(``LevelShift``). The distance is a weighted sum
of families: month x citizenship cells (Flee's sum |sim - obs| / sum obs), monthly
totals and event ratios on a log scale, the monthly totals' shape (1 - Pearson), Darién
totals and nationalities, and other counts made targets (``counts_fitted.csv``: e.g. DHS's
repatriations; log ratio each).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.citizenship import CITIZENSHIPS, CODE
from sim.errors import InputError
from sim.outcomes.observed import Observed
from sim.outcomes.table import RunTable
from sim.outcomes.windows import Window, fiscal_year
from sim.scenario.spec import Departures
from sim.studies.calibration.not_fitted import FITTED, read_checks
from sim.studies.calibration.spec import Event, Spec, fiscal_year_of

NC = len(CITIZENSHIPS)


@dataclass
class LevelShift:
    """What a run asks of each citizenship's potential departures to match its totals: a
    factor on its level and an amount added to its trend (0 unless ``fit.solve_trends``).
    Counts of a month m are multiplied by ``factor x exp(trend x years(m))``."""

    factor: np.ndarray
    trend: np.ndarray

    @classmethod
    def level_only(cls, factor: np.ndarray) -> "LevelShift":
        return cls(np.asarray(factor, float), np.zeros(len(factor)))


TREND_BOUND = 3.0  # |a citizenship's trend| at most (the scenario's bound, departures.by_citizenship.*.trend)
LAG_YEARS = 1.0 / 12.0  # encounters of a month come from departures about a month earlier


@dataclass
class DarienPeriod:
    """One of Panama's tables: a period, its total, and its nationalities (if given)."""

    name: str
    window: Window
    total: float
    labels: list[str]           # Panama's labels, model citizenships or OTHER
    counts: np.ndarray          # observed by label
    to_label: np.ndarray        # model citizenship -> index in labels


def rel_l1(sim: np.ndarray, obs: np.ndarray) -> float:
    """Flee's relative difference: sum |sim - obs| / sum obs."""
    sim, obs = np.asarray(sim, float), np.asarray(obs, float)
    s = np.abs(obs).sum()
    return float(np.abs(sim - obs).sum() / s) if s > 0 else float(np.abs(sim).sum() > 0)


def pearson(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def log_ratio(a: float, b: float) -> float:
    """|log(a / b)|; a ratio a run cannot form (nothing in its month before: nan) counts
    as a miss by a factor of 1,000 rather than making the whole distance nan."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return float(np.log(1e3))
    return float(abs(np.log(max(a, 1e-9) / max(b, 1e-9))))


class Targets:
    """Observed statistics, and the same statistics of a run."""

    def __init__(self, spec: Spec, base: Path, mask: bool = False, reference_date: dt.date | None = None):
        self.spec = spec
        # the scenario's trends count from it (its default when the scenario does not say)
        self.reference_date = reference_date or Departures.model_fields["reference_date"].default
        self.folder = base / spec.targets
        obs = Observed(self.folder)
        f = spec.fit
        self.months = [str(p) for p in pd.period_range(f.first_month, f.last_month, freq="M")]
        table = obs.read("cbp_encounters_by_month_citizenship.csv", ("month", "citizenship", "encounters"))
        if table is None:
            raise InputError(self.folder, "cbp_encounters_by_month_citizenship.csv", "file not found")
        cells = table.groupby(["month", "citizenship"])["encounters"].sum().unstack(fill_value=0)
        missing = [m for m in self.months if m not in cells.index]
        if missing:
            raise InputError(self.folder / "cbp_encounters_by_month_citizenship.csv", "month",
                             f"no observed encounters for {missing[0]} (fit.first_month..fit.last_month)")
        self.cells = cells.reindex(index=self.months, columns=list(CITIZENSHIPS), fill_value=0).to_numpy(float)
        # observed months before the fit (a backcast): simulated and reported, never fitted
        self.holdout_months = [m for m in cells.index if m < f.first_month]
        self.holdout = cells.reindex(index=self.holdout_months, columns=list(CITIZENSHIPS),
                                     fill_value=0).to_numpy(float)
        self.window = Window(pd.Period(f.first_month, freq="M").start_time.date(),
                             pd.Period(f.last_month, freq="M").end_time.date(), "fit")
        self.fiscal_years = sorted({fiscal_year_of(m) for m in self.months})
        self.weight = np.ones_like(self.cells)  # 0 for masked cells
        self.masked_event = None
        if mask and spec.mask is not None:
            mk = spec.mask
            rows = [i for i, m in enumerate(self.months) if mk.first <= m <= mk.last]
            cols = [CODE[c] for c in mk.citizenships]
            self.weight[np.ix_(rows, cols)] = 0.0
            self.masked_event = mk.event
        self.darien = self._darien_periods(obs)
        self.areas, self.area_cells, self.area_is_port = self._areas(obs)
        dm = obs.darien_monthly()
        self.darien_months = [] if dm is None else [str(m) for m in dm["month"]]
        self.darien_monthly = np.zeros(0) if dm is None else dm["crossings"].to_numpy(float)
        self.events = list(spec.events)
        self.counts = read_checks(self.folder, FITTED)
        if spec.weights.get("counts", 0) > 0 and not self.counts:
            raise InputError(self.folder / FITTED, "rows", "the calibration file weighs `counts` but this file is "
                                                           "missing or has no rows")
        # the checks not fitted ride along in every run's statistics (never in the distance),
        # so a verification's runs measure them without running again
        self.checks = read_checks(self.folder)
        self.fy_rows = [[i for i, m in enumerate(self.months) if fiscal_year_of(m) == y] for y in self.fiscal_years]

    def _areas(self, obs: Observed):
        """Encounters by citizenship and border area, per fiscal year of the fit."""
        df = obs.read("cbp_encounters_by_citizenship_area.csv", ("fiscal_year", "citizenship", "area", "component",
                                                                  "encounters"))
        if df is None:
            return [], {}, np.zeros(0, bool)
        areas = sorted(df["area"].unique())
        is_port = np.array([df.loc[df["area"] == a, "component"].iloc[0] == "Office of Field Operations" for a in areas])
        cells = {}
        for y in self.fiscal_years:
            d = df[df["fiscal_year"] == y]
            if len(d):
                cells[y] = (d.groupby(["citizenship", "area"])["encounters"].sum().unstack(fill_value=0)
                            .reindex(index=list(CITIZENSHIPS), columns=areas, fill_value=0).to_numpy(float))
        return areas, cells, is_port

    def margins_only(self, year: int) -> np.ndarray:
        """The citizenship x area table a prediction from the observed margins alone makes
        (every citizenship spread over the areas like all encounters)."""
        o = self.area_cells[year]
        return np.outer(o.sum(axis=1), o.sum(axis=0) / o.sum())

    def _darien_periods(self, obs: Observed) -> list[DarienPeriod]:
        nat = obs.darien_by_nationality()
        out = []
        if nat is None:
            return out
        for name, d in nat.groupby("period", sort=False):
            start, end = dt.date.fromisoformat(d["start"].iloc[0]), dt.date.fromisoformat(d["end"].iloc[0])
            if start < self.window.start or end > self.window.end:
                continue  # outside the fitted period (e.g. 2021)
            total = d.loc[d["nationality"] == "TOTAL", "crossings"]
            named = d[d["nationality"] != "TOTAL"]
            labels, counts = [], []
            for lab, v in zip(named["nationality"], named["crossings"]):
                lab = lab if lab in CODE else "OTHER"  # Bangladesh, Nepal...: the model's OTHER
                if lab in labels:
                    counts[labels.index(lab)] += float(v)
                else:
                    labels.append(lab)
                    counts.append(float(v))
            if not labels:  # a total only: one label for everyone
                labels, counts = ["TOTAL"], [float(total.iloc[0])]
            elif "OTHER" not in labels:
                labels.append("OTHER")
                counts.append(0.0)
            cmap = self.spec.fit.darien_nationality_map.get(name, {})
            other = labels.index("OTHER") if "OTHER" in labels else 0
            to_label = np.array([labels.index(cmap.get(c, c)) if cmap.get(c, c) in labels else other
                                 for c in CITIZENSHIPS])
            out.append(DarienPeriod(name, Window(start, end, name),
                                    float(total.iloc[0]) if len(total) else float(sum(counts)),
                                    labels, np.array(counts), to_label))
        return out

    # ------------------------------------------------------------------ a run
    def summarize(self, ts: pd.DataFrame, scale: float, network=None) -> dict[str, np.ndarray]:
        """A run's statistics by citizenship, counts read at full scale (divided by ``scale``);
        ``network`` (the run's): where the counts fitted and the checks are summed."""
        table = RunTable(ts)
        enc = table.sum(("month", "nationality"), metric="encounters", window=None if self.holdout_months else self.window, scale=scale)
        enc = enc.unstack(fill_value=0.0) if len(enc) else pd.DataFrame()
        enc.index = [str(pd.Period(m, freq="M")) for m in enc.index]
        out = {"cells": enc.reindex(index=self.months, columns=list(CITIZENSHIPS), fill_value=0.0).to_numpy(float)}
        if self.holdout_months:
            out["holdout"] = enc.reindex(index=self.holdout_months, columns=list(CITIZENSHIPS),
                                         fill_value=0.0).to_numpy(float)
        for i, p in enumerate(self.darien):
            s = table.sum(("nationality",), metric="darien_crossings", window=p.window, scale=scale)
            out[f"darien_{i}"] = s.reindex(list(CITIZENSHIPS), fill_value=0.0).to_numpy(float)
        for y in self.area_cells:
            s = table.sum(("nationality", "place"), metric="encounters", window=fiscal_year(y), scale=scale)
            s = s.unstack(fill_value=0.0) if len(s) else pd.DataFrame()
            out[f"areas_{y}"] = s.reindex(index=list(CITIZENSHIPS), columns=self.areas, fill_value=0.0).to_numpy(float)
        if self.darien_months:
            w = Window(pd.Period(self.darien_months[0], freq="M").start_time.date(),
                       pd.Period(self.darien_months[-1], freq="M").end_time.date(), "darien months")
            dm = table.sum(("month", "nationality"), metric="darien_crossings", window=w, scale=scale)
            dm = dm.unstack(fill_value=0.0) if len(dm) else pd.DataFrame()
            dm.index = [str(pd.Period(m, freq="M")) for m in dm.index]
            out["darien_months"] = dm.reindex(index=self.darien_months, columns=list(CITIZENSHIPS),
                                              fill_value=0.0).to_numpy(float)
        for prefix, rows in (("count", self.counts), ("check", self.checks)):
            if rows and network is None:
                raise ValueError("summarize: the counts fitted and the checks need the run's network")
            for i, c in enumerate(rows):
                out[f"{prefix}_{i}"] = c.by_citizenship(ts, network, scale)
        return out

    def years(self, months: list[str]) -> np.ndarray:
        """Years from the scenario's reference date to the departures behind each month's
        counts (the month's middle less ``LAG_YEARS``): where a trend change acts."""
        ref = pd.Timestamp(self.reference_date)
        mid = np.array([(pd.Period(m, freq="M").start_time + pd.Timedelta(days=15) - ref).days for m in months])
        return mid / 365.25 - LAG_YEARS

    def solve_levels(self, stats: dict, trends: np.ndarray | None = None) -> LevelShift:
        """Per citizenship, the change of level (and, with ``fit.solve_trends``, of trend)
        that matches its observed encounters of the fitted months (masked cells left out):
        its total over all of them, and with a trend its fiscal years' totals too (Poisson
        likelihood of the years' totals, the level profiled out: exact for two years).
        ``trends``: the citizenships' trends the run had, so the solved ones keep within
        +-TREND_BOUND."""
        obs = (self.cells * self.weight).sum(axis=0)
        sim = (stats["cells"] * self.weight).sum(axis=0)
        # a citizenship the run did not sample at all grows tenfold a round until it shows
        factor = np.where((sim > 0) & (obs > 0), obs / np.maximum(sim, 1e-12), np.where(obs > 0, 10.0, 1.0))
        shift = np.zeros(NC)
        if not self.spec.fit.solve_trends:
            return LevelShift(factor, shift)
        tau = self.years(self.months)
        base = np.zeros(NC) if trends is None else np.asarray(trends, float)
        for c in range(NC):
            s_y = [(stats["cells"][r, c] * self.weight[r, c]) for r in self.fy_rows]
            o_y = np.array([(self.cells[r, c] * self.weight[r, c]).sum() for r in self.fy_rows])
            if (o_y <= 0).any() or any(s.sum() <= 0 for s in s_y):
                continue  # a year with nothing observed or simulated: its level alone
            d, f = _solve_trend(s_y, [tau[r] for r in self.fy_rows], o_y,
                                -TREND_BOUND - base[c], TREND_BOUND - base[c])
            shift[c], factor[c] = d, f
        return LevelShift(factor, shift)

    def month_factors(self, shift: LevelShift, months: list[str]) -> np.ndarray:
        """Months x citizenships: what the shift multiplies each month's counts by."""
        return shift.factor[None, :] * np.exp(np.outer(self.years(months), shift.trend))

    def apply_levels(self, stats: dict, shift: "LevelShift | np.ndarray") -> dict:
        """The statistics with every citizenship's counts multiplied as the shift asks:
        monthly tables month by month; Panama's periods by the mean over their months; the
        area tables (citizenships first) by each fiscal year's simulated-weighted mean."""
        if not isinstance(shift, LevelShift):
            shift = LevelShift.level_only(shift)
        if not shift.trend.any():
            return {k: (v * shift.factor[:, None] if k.startswith("areas_") else v * shift.factor)
                    for k, v in stats.items()}
        out = {}
        for k, v in stats.items():
            if k == "cells":
                out[k] = v * self.month_factors(shift, self.months)
            elif k == "holdout":
                out[k] = v * self.month_factors(shift, self.holdout_months)
            elif k == "darien_months":
                out[k] = v * self.month_factors(shift, self.darien_months)
            elif k.startswith("darien_"):
                w = self.darien[int(k.split("_")[1])].window
                ms = [str(p) for p in pd.period_range(w.start, w.end, freq="M")]
                out[k] = v * self.month_factors(shift, ms).mean(axis=0)
            elif k.startswith(("count_", "check_")):
                c = (self.counts if k.startswith("count_") else self.checks)[int(k.split("_")[1])]
                out[k] = v * self.month_factors(shift, c.months()).mean(axis=0)
            elif k.startswith("areas_"):
                rows = self.fy_rows[self.fiscal_years.index(int(k.split("_")[1]))]
                s = stats["cells"][rows]
                g = self.month_factors(shift, [self.months[r] for r in rows])
                tot = s.sum(axis=0)
                f = np.where(tot > 0, (s * g).sum(axis=0) / np.maximum(tot, 1e-300), g.mean(axis=0))
                out[k] = v * f[:, None]
            else:
                out[k] = v * shift.factor
        return out

    # ------------------------------------------------------------------ derived figures
    def ratio(self, cells: np.ndarray, e: Event) -> float:
        cols = list(range(NC)) if e.citizenships == ["ALL"] else [CODE[c] for c in e.citizenships]
        b, a = cells[self.months.index(e.before), cols].sum(), cells[self.months.index(e.after), cols].sum()
        return float(a / b) if b > 0 else float("nan")

    def observed_ratio(self, e: Event) -> float:
        return self.ratio(self.cells, e)

    def darien_by_label(self, stats: dict, i: int) -> np.ndarray:
        p = self.darien[i]
        out = np.zeros(len(p.labels))
        np.add.at(out, p.to_label, stats[f"darien_{i}"])
        return out

    def fiscal_totals(self, cells: np.ndarray) -> dict[int, float]:
        return {y: float(cells[rows].sum()) for y, rows in zip(self.fiscal_years, self.fy_rows)}

    # ------------------------------------------------------------------ distance
    def families(self, stats: dict) -> dict[str, float]:
        """Distance per family for statistics already at their levels. ``darien_months``
        (mean |log ratio| of Panama's monthly totals) judges when people cross, which the
        periods' totals cannot: a run can match January-September 2023 with a September
        twice Panama's count."""
        s, o, w = stats["cells"], self.cells, self.weight
        f = {"cells": rel_l1(s * w, o * w)}
        sm, om = (s * w).sum(axis=1), (o * w).sum(axis=1)
        f["months"] = float(np.mean([log_ratio(a, b) for a, b in zip(sm, om)]))
        # the shape of the 24 months, which "months" judges only month by month: a season
        # a month late costs each month ~10% there, and the Darién's terms can outweigh it
        f["months_shape"] = 1.0 - pearson(sm, om)
        ev = [log_ratio(self.ratio(s, e), self.observed_ratio(e)) for e in self.events if e.name != self.masked_event]
        f["events"] = float(np.mean(ev)) if ev else 0.0
        tot, nat = {}, []
        for i, p in enumerate(self.darien):
            by = self.darien_by_label(stats, i)
            tot.setdefault(p.window.start.year, []).append(log_ratio(by.sum(), p.total))
            if len(p.labels) > 1:
                nat.append(rel_l1(by, p.counts))
        # each calendar year weighs the same: Panama's two overlapping tables of 2023
        # (January-August, January-September) share one year's weight instead of
        # outvoting 2022 two to one (calibration/diagnostics/README.md, "Each Darién year")
        f["darien_total"] = float(np.mean([np.mean(v) for v in tot.values()])) if tot else 0.0
        f["darien_nationality"] = float(np.mean(nat)) if nat else 0.0
        dm = stats.get("darien_months")
        f["darien_months"] = (float(np.mean([log_ratio(a, b) for a, b in zip(dm.sum(axis=1), self.darien_monthly)]))
                              if dm is not None and len(self.darien_monthly) else 0.0)
        area, port = [], []
        for y, o in self.area_cells.items():
            sim = stats.get(f"areas_{y}")
            if sim is None:
                continue
            area.append(rel_l1(sim, o))
            port.append(abs(self.port_share(sim) - self.port_share(o)))
        f["areas"] = float(np.mean(area)) if area else 0.0
        f["component"] = float(np.mean(port)) if port else 0.0
        cn = [log_ratio(float(np.sum(stats[f"count_{i}"])), c.value) for i, c in enumerate(self.counts)
              if f"count_{i}" in stats]
        f["counts"] = float(np.mean(cn)) if cn else 0.0
        return f

    def port_share(self, area_table: np.ndarray) -> float:
        """Share of encounters at ports (Field Operations) in a citizenship x area table."""
        tot = area_table.sum()
        return float(area_table[:, self.area_is_port].sum() / tot) if tot > 0 else 0.0


class FitDistance:
    """Weighted sum of family distances (picklable; pyabc calls it as d(x, x0))."""

    def __init__(self, targets: Targets):
        self.targets = targets
        self.weights = {k: float(v) for k, v in targets.spec.weights.items() if v > 0}

    def __call__(self, x: dict, x0: dict | None = None, *args, **kwargs) -> float:
        f = self.targets.families(x)
        return float(sum(w * f[k] for k, w in self.weights.items()))


def _solve_trend(sims: list[np.ndarray], taus: list[np.ndarray], obs: np.ndarray, lo: float, hi: float):
    """The trend change d (within [lo, hi]) and level factor k with which the years'
    simulated counts, each month's times k exp(d tau), best match the years' observed
    totals (Poisson likelihood): k matches the total, d the spread over the years."""
    from scipy.optimize import brentq

    def sums(d):  # each year's tilted total and tilted sum of tau
        w = [s * np.exp(d * t) for s, t in zip(sims, taus)]
        return np.array([x.sum() for x in w]), np.array([(x * t).sum() for x, t in zip(w, taus)])

    def score(d):  # d/dd of the profiled log-likelihood
        tot, tau_sum = sums(d)
        return float((obs * tau_sum / np.maximum(tot, 1e-300)).sum() - obs.sum() * tau_sum.sum() / tot.sum())

    a, b = score(lo), score(hi)
    d = lo if a <= 0 else hi if b >= 0 else brentq(score, lo, hi, xtol=1e-6)
    return float(d), float(obs.sum() / sums(d)[0].sum())
