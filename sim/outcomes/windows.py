"""Time windows over which outcomes are summed: fiscal years, calendar years, month ranges.

Why generic: CBP reports encounters by US fiscal year (October to September), Panama
reports Darién crossings by calendar year and month, and a forecast or a backcast
looks at other years than the baseline's. A window is a pair of inclusive dates with a
label; the windows a run reports are the ones its period covers in full.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Window:
    """Inclusive dates and a label (``FY2023``, ``2023``, ``2023-01..2023-08``)."""

    start: dt.date
    end: dt.date
    label: str

    def inside(self, start: dt.date, end: dt.date) -> bool:
        """Whether this window lies entirely within [start, end]."""
        return start <= self.start and self.end <= end

    @property
    def months(self) -> list[str]:
        """The months of the window as YYYY-MM strings."""
        return [str(p) for p in pd.period_range(self.start, self.end, freq="M")]


def fiscal_year(year: int) -> Window:
    """US fiscal year ``year``: October of the year before to September."""
    return Window(dt.date(year - 1, 10, 1), dt.date(year, 9, 30), f"FY{year}")


def calendar_year(year: int) -> Window:
    return Window(dt.date(year, 1, 1), dt.date(year, 12, 31), str(year))


def month_range(first: str, last: str) -> Window:
    """From the first day of ``first`` to the last day of ``last`` (both YYYY-MM)."""
    a, b = pd.Period(first, freq="M"), pd.Period(last, freq="M")
    if b < a:
        raise ValueError(f"month range {first}..{last} ends before it starts")
    return Window(a.start_time.date(), b.end_time.date(), f"{a}..{b}")


def fiscal_years_in(start: dt.date, end: dt.date) -> list[Window]:
    """Every fiscal year that [start, end] covers in full."""
    return [w for y in range(start.year, end.year + 2) if (w := fiscal_year(y)).inside(start, end)]


def calendar_years_in(start: dt.date, end: dt.date) -> list[Window]:
    """Every calendar year that [start, end] covers in full."""
    return [w for y in range(start.year, end.year + 1) if (w := calendar_year(y)).inside(start, end)]


def calendar_years_to_date_in(start: dt.date, end: dt.date) -> list[Window]:
    """Every calendar year [start, end] covers in full, then the part of the last year
    from its 1 January to ``end`` when the period stops before December (Panama's
    counts of a year so far, e.g. 2023-01..2023-09)."""
    out = calendar_years_in(start, end)
    first = dt.date(end.year, 1, 1)
    if end != dt.date(end.year, 12, 31) and start <= first:
        out.append(month_range(f"{end.year}-01", f"{end:%Y-%m}") if end == (pd.Period(end, freq="M").end_time.date())
                   else Window(first, end, f"{end.year}-01-01..{end}"))
    return out
