"""The observed figures a run is compared with, read from a scenario's ``observed`` folder.

Why one reader: the plots, the comparison figures, the command line's headline and the
calibration all read the same tables (CBP encounters by fiscal year, Panama's Darién
counts) and must quote the same source. The folder holds long tables (see
calibration/targets/SOURCES.md), each with a ``source`` column:

- ``cbp_encounters_by_month_citizenship.csv``: fiscal_year, month, citizenship, component, authority, encounters
- ``cbp_encounters_by_citizenship_area.csv``: fiscal_year, citizenship, area, component, encounters
- ``cbp_encounters_by_month_area.csv``: fiscal_year, month, area, component, encounters
- ``darien_monthly.csv``: month, crossings, source_kind
- ``darien_by_nationality.csv``: nationality, period, start, end, crossings

A missing folder or file is ``None`` (a test scenario has no observed data), a
malformed one an ``InputError``. The reader refuses any observation dated after
``CUTOFF``: the forecast period (FY2024 on) is scored from outside and its figures must
never reach a model input.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from sim.errors import InputError

CBP_SOURCE = "US CBP Nationwide Encounters, Southwest Land Border"
DARIEN_SOURCE = "Panama Servicio Nacional de Migración (SNM) / Ministerio de Seguridad (MINSEG)"
NO_OBSERVED = "observed data not available"
CUTOFF = dt.date(2023, 9, 30)
CBP_TABLES = {  # the keys a table can be grouped by -> its file
    ("month", "citizenship", "component", "authority"): "cbp_encounters_by_month_citizenship.csv",
    ("citizenship", "area", "component"): "cbp_encounters_by_citizenship_area.csv",
    ("month", "area", "component"): "cbp_encounters_by_month_area.csv",
}


class Observed:
    """Observed tables in a folder (``None`` folder: nothing observed)."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder) if folder else None
        self._cache: dict[str, pd.DataFrame | None] = {}

    def read(self, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame | None:
        """A table by file name, or None when absent; required columns and the cut-off are checked."""
        if name in self._cache:
            return self._cache[name]
        path = self.folder / name if self.folder else None
        df = None
        if path is not None and path.is_file():
            try:
                df = pd.read_csv(path)
            except Exception as exc:
                raise InputError(path, "", f"cannot read CSV ({str(exc).splitlines()[0]})") from None
            for c in columns:
                if c not in df.columns:
                    raise InputError(path, c, "required column missing")
            _check_cutoff(df, path)
        self._cache[name] = df
        return df

    @staticmethod
    def source(df: pd.DataFrame | None, default: str) -> str:
        """The table's own ``source`` text when it has a single one, else ``default``."""
        if df is not None and "source" in df.columns:
            values = df["source"].dropna().unique()
            if len(values) == 1:
                return str(values[0])
        return default

    # ------------------------------------------------------------------ CBP encounters
    def encounters(self, fiscal_year: int, *keys: str) -> pd.DataFrame | None:
        """CBP encounters of a fiscal year summed by ``keys`` (e.g. "month", "citizenship",
        "area"), with ``encounters`` and ``source`` columns; None when no table holds them."""
        for cols, name in CBP_TABLES.items():
            if set(keys) <= set(cols):
                df = self.read(name, ("fiscal_year", *cols, "encounters"))
                if df is None:
                    continue
                df = df[df["fiscal_year"] == fiscal_year]
                if df.empty:
                    return None
                out = df.groupby(list(keys), sort=True)["encounters"].sum().reset_index()
                out["source"] = self.source(df, CBP_SOURCE)
                return out
        return None

    def encounters_series(self, fiscal_year: int, key: str) -> pd.Series | None:
        """Encounters of a fiscal year as a Series indexed by one key."""
        df = self.encounters(fiscal_year, key)
        return None if df is None else df.set_index(key)["encounters"]

    # ------------------------------------------------------------------ Darién
    def darien_monthly(self, year: int | None = None) -> pd.DataFrame | None:
        """Darién crossings by month (``month``, ``crossings``, ``source_kind``), of one year or all."""
        df = self.read("darien_monthly.csv", ("month", "crossings"))
        if df is None or year is None:
            return df
        df = df[df["month"].astype(str).str.startswith(f"{year}-")]
        return df if len(df) else None

    def darien_by_nationality(self) -> pd.DataFrame | None:
        """Darién crossings by nationality and period (``nationality``, ``period``, ``start``, ``end``, ``crossings``)."""
        return self.read("darien_by_nationality.csv", ("nationality", "period", "start", "end", "crossings"))

    # ------------------------------------------------------------------ headline
    def total(self, metric: str, window) -> float | None:
        """The observed total of ``metric`` over a window, when the tables cover it exactly
        (every month of it, or a published total for those dates)."""
        if metric == "encounters":
            df = self.read(CBP_TABLES[("month", "citizenship", "component", "authority")], ("month", "encounters"))
            col, months = "encounters", df
        elif metric == "darien_crossings":
            nat = self.darien_by_nationality()
            if nat is not None:
                row = nat[(nat["nationality"] == "TOTAL") & (nat["start"] == window.start.isoformat())
                          & (nat["end"] == window.end.isoformat())]
                if len(row):
                    return float(row["crossings"].iloc[0])
            col, months = "crossings", self.darien_monthly()
        else:
            return None
        if months is None:
            return None
        by_month = months.groupby(months["month"].astype(str))[col].sum()
        wanted = window.months
        if not set(wanted) <= set(by_month.index):
            return None
        return float(by_month.reindex(wanted).sum())


def _check_cutoff(df: pd.DataFrame, path: Path) -> None:
    """No observation dated after the cut-off (a month, or a period's end)."""
    late = pd.Series(False, index=df.index)
    if "month" in df.columns:
        late |= pd.PeriodIndex(df["month"].astype(str), freq="M").end_time.date > CUTOFF
    if "end" in df.columns:
        late |= pd.to_datetime(df["end"]).dt.date > CUTOFF
    if late.any():
        i = int(late.to_numpy().argmax())
        raise InputError(path, f"row {i + 2}", f"an observation after {CUTOFF} (the forecast period is scored "
                                                f"from outside; the project holds no such figure)")
