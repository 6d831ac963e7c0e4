"""Figures no estimation reads, and the same figures of a run: evidence from outside the fit.

Why apart from the targets: a target pulls the estimate toward it, so agreeing with it
says little; a count the estimation never saw (calibration/targets/checks_not_fitted.csv:
DHS's repatriations after Title 42, Honduras's irregular entries from Nicaragua) tests
the mechanisms themselves. Each row names what to sum in a run's time series: its
``metrics`` (";"-separated), its ``places`` ("border areas": the CBP areas; "country
NAME": the network's places in that country), the citizenships it leaves out
(``exclude``, ";"-separated: e.g. the CA-4 citizens Honduras does not count as
irregular) and its period (``start``..``end``). An estimation that decides to fit one
moves its row to ``counts_fitted.csv`` (same columns; the targets' ``counts`` family),
which leaves it no longer a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.citizenship import CITIZENSHIPS
from sim.errors import InputError
from sim.outcomes.metrics import BY_NAME
from sim.outcomes.observed import Observed

FILE = "checks_not_fitted.csv"
FITTED = "counts_fitted.csv"  # the same kind of row, made a target (the calibration's ``counts`` family)
COLUMNS = ("fact", "start", "end", "value", "metrics", "places", "exclude")


def _items(cell) -> list[str]:
    return [] if pd.isna(cell) else [x.strip() for x in str(cell).split(";") if x.strip()]


@dataclass(frozen=True)
class Check:
    """One figure not fitted and what of a run it is compared with."""

    fact: str
    start: pd.Timestamp
    end: pd.Timestamp
    value: float
    metrics: tuple[str, ...]
    places: str
    exclude: tuple[str, ...]
    source: str

    def where(self, network) -> set[str]:
        """The run's ``place`` values the check sums over."""
        if self.places == "border areas":
            chosen = network.is_border
        else:
            chosen = network.nodes["country"].to_numpy() == self.places.removeprefix("country ").strip()
        return {str(p) for p in network.place[chosen]}

    def _rows(self, ts: pd.DataFrame, network) -> "pd.Series | None":
        """The run's rows the figure sums (None when the run's period does not cover it)."""
        d = pd.to_datetime(ts["date"])
        if not len(d) or d.min() > self.start or d.max() < self.end:
            return None
        return (ts["metric"].isin(self.metrics) & ts["place"].isin(self.where(network))
                & ~ts["nationality"].isin(self.exclude) & d.between(self.start, self.end))

    def measure(self, ts: pd.DataFrame, network, scale: float) -> float:
        """The run's figure at full scale (NaN when the run's period does not cover the check's)."""
        sel = self._rows(ts, network)
        return float("nan") if sel is None else float(ts.loc[sel, "value"].sum()) / scale

    def by_citizenship(self, ts: pd.DataFrame, network, scale: float) -> np.ndarray:
        """The run's figure at full scale by citizenship (``CITIZENSHIPS`` order; NaN when
        the run does not cover the period): a target's statistic, which levels multiply."""
        sel = self._rows(ts, network)
        if sel is None:
            return np.full(len(CITIZENSHIPS), np.nan)
        s = ts.loc[sel].groupby("nationality")["value"].sum() / scale
        return s.reindex(list(CITIZENSHIPS), fill_value=0.0).to_numpy(float)

    def months(self) -> list[str]:
        """The months the period touches (for the levels' month factors)."""
        return [str(p) for p in pd.period_range(self.start, self.end, freq="M")]


def read_checks(folder: str | Path, file: str = FILE) -> list[Check]:
    """The checks in a targets folder (none when it has no such file; ``file``: FITTED for
    the counts made targets); a bad row is an input error naming the file and the field."""
    path = Path(folder) / file
    df = Observed(folder).read(file, COLUMNS)
    if df is None:
        return []
    out = []
    for i, r in df.iterrows():
        metrics = tuple(_items(r["metrics"]))
        for m in metrics:
            if m not in BY_NAME:
                raise InputError(path, f"row {i + 2}: metrics", f"unknown metric {m!r}")
        places = str(r["places"]).strip()
        if places != "border areas" and not places.startswith("country "):
            raise InputError(path, f"row {i + 2}: places", "'border areas' or 'country NAME'")
        exclude = tuple(_items(r["exclude"]))
        for c in exclude:
            if c not in CITIZENSHIPS:
                raise InputError(path, f"row {i + 2}: exclude", f"unknown citizenship {c!r}")
        out.append(Check(str(r["fact"]), pd.Timestamp(r["start"]), pd.Timestamp(r["end"]), float(r["value"]),
                         metrics, places, exclude, str(r.get("source", ""))))
    return out


def _table(checks: list[Check], simulated: list[float]) -> pd.DataFrame:
    """Observed against simulated, one row per check."""
    return pd.DataFrame([{"fact": c.fact, "period": f"{c.start:%Y-%m-%d}..{c.end:%Y-%m-%d}", "observed": c.value,
                          "simulated": v, "sim/obs": v / c.value if c.value else float("nan"), "source": c.source}
                         for c, v in zip(checks, simulated)])


def measure_all(checks: list[Check], runs: list[pd.DataFrame], network, scale: float) -> pd.DataFrame:
    """Observed against simulated (mean over the runs' time series), one row per check."""
    return _table(checks, [float(np.mean([c.measure(ts, network, scale) for ts in runs])) if runs else float("nan")
                           for c in checks])


def from_statistics(checks: list[Check], stats: dict, seeds: list[int], scale: float,
                    key: str = "check") -> pd.DataFrame | None:
    """The checks at an estimate, read from its runs' statistics (``Targets.summarize``
    keeps each by citizenship as ``<key>_<i>``: "check" for the checks, "count" for the
    counts fitted; ``stats``: their mean over ``seeds`` at ``scale``, at the estimate's
    levels): no run of its own; None without checks."""
    if not checks:
        return None
    table = _table(checks, [float(np.sum(stats.get(f"{key}_{i}", np.nan))) for i in range(len(checks))])
    table.attrs.update(seeds=list(seeds), scale=scale)
    return table


def report_lines(table: pd.DataFrame | None, fitted_weight: float | None = None) -> list[str]:
    """The report's section on the checks, or with ``fitted_weight`` on the counts fitted
    (nothing without them)."""
    if table is None or not len(table):
        return []
    where = f"(seeds {table.attrs.get('seeds')}, scale {table.attrs.get('scale')})"
    if fitted_weight is None:
        head = ["\n## Checks not fitted\n",
                f"Counts no estimation reads (`calibration/targets/{FILE}`), against the history at the estimate "
                f"{where}: evidence from outside the fit, not criteria.\n"]
    else:
        head = [f"\n## Counts fitted (`calibration/targets/{FITTED}`, family `counts`, weight {fitted_weight})\n",
                f"Counts the estimation fits, against the history at the estimate {where}.\n"]
    out = head + ["| fact | period | observed | simulated | sim / obs | source |", "|---|---|---:|---:|---:|---|"]
    for _, r in table.iterrows():
        out.append(f"| {r['fact']} | {r['period']} | {r['observed']:,.0f} | {r['simulated']:,.0f} | "
                   f"{r['sim/obs']:.2f} | {r['source']} |")
    return out
