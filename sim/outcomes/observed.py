"""The observed figures a run is compared with, read from a scenario's ``observed`` folder.

Why one reader: the plots, the comparison figures, the command line's headline and the
calibration all read the same tables (CBP encounters by fiscal year, Panama's Darién
counts) and must quote the same source. Files follow one naming rule
(``cbp_fy{YEAR}_by_{keys}.csv``, ``darien_{YEAR}_monthly.csv``,
``darien_{YEAR}_by_nationality.csv``), each with a ``source`` column; a missing file is
``None`` (a test scenario has no observed data), a malformed one an ``InputError``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.errors import InputError

CBP_SOURCE = "US CBP Nationwide Encounters, Southwest Land Border"
DARIEN_SOURCE = "Panama Servicio Nacional de Migración (SNM) / Ministerio de Seguridad (MINSEG)"
NO_OBSERVED = "observed data not available"


class Observed:
    """Observed tables in a folder (``None`` folder: nothing observed)."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder) if folder else None
        self._cache: dict[str, pd.DataFrame | None] = {}

    def read(self, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame | None:
        """A table by file name, or None when absent; required columns are checked."""
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
        """CBP encounters of a fiscal year by ``keys`` (e.g. "month", "citizenship"),
        with an ``encounters`` column."""
        return self.read(f"cbp_fy{fiscal_year}_by_{'_'.join(keys)}.csv", (*keys, "encounters"))

    def encounters_series(self, fiscal_year: int, key: str) -> pd.Series | None:
        """Encounters of a fiscal year as a Series indexed by one key."""
        df = self.encounters(fiscal_year, key)
        return None if df is None else df.groupby(key)["encounters"].sum()

    # ------------------------------------------------------------------ Darién
    def darien_monthly(self, year: int) -> pd.DataFrame | None:
        """Darién crossings by month (``month``, ``crossings``, ``source_kind`` where some are derived)."""
        return self.read(f"darien_{year}_monthly.csv", ("month", "crossings"))

    def darien_by_nationality(self, year: int) -> pd.DataFrame | None:
        """Darién crossings by nationality and period (``nationality``, ``period``, ``crossings``)."""
        return self.read(f"darien_{year}_by_nationality.csv", ("nationality", "period", "crossings"))

    # ------------------------------------------------------------------ headline
    def total(self, metric: str, window) -> float | None:
        """The observed total of ``metric`` over a fiscal (``FY2023``) or calendar
        (``2023``) year window, when a table holds it."""
        label = window.label
        if metric == "encounters" and label.startswith("FY"):
            s = self.encounters_series(int(label[2:]), "month")
            return None if s is None else float(s.sum())
        if metric == "darien_crossings" and label.isdigit():
            d = self.darien_monthly(int(label))
            return None if d is None else float(d["crossings"].sum())
        return None
