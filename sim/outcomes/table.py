"""Reducing a run's daily table: one function for every summary of a run.

Why one: the runner's headline figures, the effects tables, the sweep outcomes, the
comparison plots, the run plots and the calibration's summary statistics are all sums
of ``value`` over a selection of rows (metrics, a window, citizenships, places),
grouped by some of the keys. ``RunTable.sum`` is that sum; the dates are parsed once
per table, so many summaries of the same run cost little.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.outcomes.windows import Window

KEYS = ("seed", "metric", "nationality", "place", "date", "month")


def _listed(v) -> list | None:
    if v is None:
        return None
    return [v] if isinstance(v, str) else list(v)


class RunTable:
    """A run's tidy rows (date, metric, nationality, place, seed, value), ready to sum."""

    def __init__(self, ts: pd.DataFrame):
        self.ts = ts
        codes, uniq = pd.factorize(ts["date"]) if len(ts) else (np.zeros(0, np.int64), [])
        days = pd.to_datetime(pd.Index(uniq)).to_numpy().astype("datetime64[D]") if len(uniq) else np.zeros(0, "datetime64[D]")
        self.day = days[codes] if len(codes) else np.zeros(0, "datetime64[D]")
        self.value = ts["value"].to_numpy(dtype=np.float64)

    @property
    def seeds(self) -> list[int]:
        """Every seed in the table (a seed with no rows of a metric still counts zero)."""
        return sorted(int(s) for s in pd.unique(self.ts["seed"])) if "seed" in self.ts else []

    def mask(self, metric=None, window: Window | None = None, nationality=None, place=None) -> np.ndarray:
        m = np.ones(len(self.ts), bool)
        for col, sel in (("metric", metric), ("nationality", nationality), ("place", place)):
            sel = _listed(sel)
            if sel is not None:
                m &= self.ts[col].isin(sel).to_numpy()
        if window is not None:
            m &= (self.day >= np.datetime64(window.start, "D")) & (self.day <= np.datetime64(window.end, "D"))
        return m

    def sum(self, by: Sequence[str] = (), *, metric=None, window: Window | None = None, nationality=None,
            place=None, scale: float = 1.0) -> pd.Series | float:
        """Sum of ``value`` over the selected rows, grouped by ``by`` (any of ``KEYS``);
        a float when ``by`` is empty. ``scale`` divides the sums (a 5% sample read at full
        scale)."""
        bad = [k for k in by if k not in KEYS]
        if bad:
            raise ValueError(f"cannot group by {bad} (keys: {KEYS})")
        m = self.mask(metric, window, nationality, place)
        if not by:
            return float(self.value[m].sum()) / scale
        cols = {}
        for k in by:
            if k == "date":
                cols[k] = self.day[m]
            elif k == "month":
                cols[k] = self.day[m].astype("datetime64[M]")
            else:
                cols[k] = self.ts[k].to_numpy()[m]
        frame = pd.DataFrame({**cols, "value": self.value[m] / scale})
        return frame.groupby(list(by), sort=True)["value"].sum()

    def daily(self, window: Window, **select) -> np.ndarray:
        """Totals of each day of ``window`` (zeros on days without rows)."""
        m = self.mask(window=window, **select)
        n = (window.end - window.start).days + 1
        idx = (self.day[m] - np.datetime64(window.start, "D")).astype(np.int64)
        return np.bincount(idx, weights=self.value[m], minlength=n)[:n]


def per_seed(s: pd.Series | float, seeds: Iterable[int]) -> pd.Series:
    """A by-seed sum with every seed present (zero where it had no rows)."""
    seeds = list(seeds)
    if not isinstance(s, pd.Series):
        return pd.Series(float(s), index=seeds)
    return s.reindex(seeds, fill_value=0.0)
