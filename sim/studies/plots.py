"""Run plots: simulated series against the observed figures they were set from.

Why these three: they are the checks a reader makes first on a run of the FY2023
baseline -- does the monthly shape of Southwest-border encounters follow CBP's, is
the mix of citizenships right, and does the Darién flow (the main upstream driver)
follow Panama's monthly counts. Each plot shows the spread across seeds, so a gap
between model and data can be told apart from replicate noise, and names the
source of the observed series, so a figure copied out of the run folder still
says where its numbers come from.

Only ``matplotlib.figure.Figure`` objects are used (no pyplot): the runner may call
this from worker processes or a headless server, and pyplot's global figure
registry would leak memory and state between runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.citizenship import CITIZENSHIPS
from sim.outcomes.observed import CBP_SOURCE, DARIEN_SOURCE, NO_OBSERVED, Observed
from sim.outcomes.table import RunTable
from sim.outcomes.windows import Window, fiscal_years_in

DPI = 120
# below this many seeds a percentile band is meaningless, so the band is min-max
PERCENTILE_MIN_SEEDS = 20
FOOTNOTE_PT = 7

SIM_COLOR = "tab:blue"
OBS_COLOR = "black"


def make_run_plots(ts: pd.DataFrame, observed_dir: str | Path | None, out_dir: str | Path,
                   title: str) -> list[Path]:
    """Write the three run plots as PNGs into ``out_dir`` and return their paths.

    ``ts`` is the tidy run table (date, metric, nationality, place, seed, value),
    possibly holding several seeds. ``observed_dir`` is the scenario's ``observed``
    folder; when it is None or a file is missing, the plot shows the simulation
    alone and says so. Missing metrics give an empty plot with a note, not an error,
    because a small test scenario may have no Darién crossings at all.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = Run(ts, Observed(observed_dir))
    figures = {
        "encounters_by_month.png": _encounters_by_month(run, title),
        "encounters_by_citizenship.png": _encounters_by_citizenship(run, title),
        "darien_by_month.png": _darien_by_month(run, title),
    }
    paths = []
    for name, fig in figures.items():
        path = out / name
        fig.savefig(path, dpi=DPI)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- data helpers

class Run:
    """A run's table, its seeds and days, and its observed data."""

    def __init__(self, ts: pd.DataFrame, observed: Observed):
        self.table = RunTable(ts)
        self.observed = observed
        # all seeds of the run (not only those with rows for a metric): a seed with no
        # Darién crossings is a replicate whose count is zero, not a missing replicate
        self.seeds = self.table.seeds
        # replicates run with --posterior-draws are draws (a parameter set and a seed each):
        # their spread holds the parameters' uncertainty, not only the dice's
        self.members = ("posterior draws" if "draw" in ts.columns and ts["draw"].notna().any() else "seeds")
        days = self.table.day
        self.span = (Window(pd.Timestamp(days.min()).date(), pd.Timestamp(days.max()).date(), "run")
                     if len(days) else None)

    def years(self) -> range:
        return range(self.span.start.year, self.span.end.year + 2) if self.span else range(0)

    def monthly_by_seed(self, metric: str) -> pd.DataFrame:
        """Month x seed totals of ``metric``, zero-filled over the months the run covers."""
        if self.span is None or not self.seeds:
            return pd.DataFrame()
        months = pd.date_range(pd.Timestamp(self.span.start).to_period("M").to_timestamp(),
                               pd.Timestamp(self.span.end).to_period("M").to_timestamp(), freq="MS")
        s = self.table.sum(("month", "seed"), metric=metric)
        if not len(s):
            return pd.DataFrame(0.0, index=months, columns=self.seeds)
        t = s.unstack("seed")
        t.index = pd.DatetimeIndex(t.index)
        return t.reindex(index=months, columns=self.seeds).fillna(0)

    def observed_encounters_by_month(self) -> pd.DataFrame | None:
        parts = [d for y in self.years() if (d := self.observed.encounters(y, "month")) is not None]
        return pd.concat(parts, ignore_index=True) if parts else None

    def observed_darien_by_month(self) -> pd.DataFrame | None:
        parts = [d for y in self.years() if (d := self.observed.darien_monthly(y)) is not None]
        return pd.concat(parts, ignore_index=True) if parts else None

    def last_fiscal_year(self) -> Window | None:
        return fiscal_years_in(self.span.start, self.span.end)[-1] if self.span and fiscal_years_in(
            self.span.start, self.span.end) else None


def _band(by_seed: pd.DataFrame, members: str = "seeds") -> tuple[pd.Series, pd.Series, pd.Series, str]:
    """Median and spread across replicates (columns), with a label for the legend."""
    n = by_seed.shape[1]
    med = by_seed.median(axis=1)
    if n >= PERCENTILE_MIN_SEEDS:
        lo, hi = by_seed.quantile(0.05, axis=1), by_seed.quantile(0.95, axis=1)
        return med, lo, hi, f"5-95% across {members}"
    return med, by_seed.min(axis=1), by_seed.max(axis=1), f"min-max across {members}"


def _mid_month(months: pd.Index) -> pd.DatetimeIndex:
    """Mid-month x positions, so a monthly value sits inside its month on a date axis."""
    return pd.DatetimeIndex(months) + pd.Timedelta(days=14)


# ---------------------------------------------------------------- drawing helpers

def _new_figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    fig = Figure(figsize=size)
    return fig, fig.add_subplot(1, 1, 1)


def _thousands(ax: Axes, axis: str = "y") -> None:
    """Readable counts: 250,000 rather than 2.5e5."""
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _note(ax: Axes, text: str, y: float = 0.5) -> None:
    """A message in the plot area (empty data, missing observed file)."""
    ax.text(0.5, y, text, transform=ax.transAxes, ha="center", va="center", fontsize=11,
            color="dimgray", bbox={"facecolor": "white", "edgecolor": "lightgray"})


def _finish(fig: Figure, ax: Axes, title: str, subtitle: str, footnote: list[str],
            legend_loc: str = "best") -> Figure:
    """Title, legend and small-print footnote; the footnote is wrapped to the figure
    width and the axes are shrunk to make room, so long source names stay legible."""
    ax.set_title(f"{title}\n{subtitle}", fontsize=11)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8, loc=legend_loc, framealpha=0.9)
    if not ax.lines and not ax.collections:
        ax.set_yticks([])  # nothing drawn: ticks on an arbitrary 0-1 scale would mislead
    width_in, height_in = fig.get_size_inches()
    chars = int(width_in * 72 / FOOTNOTE_PT / 0.58)  # ~0.58 em per character
    lines = [w for line in footnote for w in textwrap.wrap(line, chars)]
    line_frac = FOOTNOTE_PT * 1.3 / (height_in * 72)
    fig.tight_layout(rect=(0, 0.015 + line_frac * len(lines), 1, 1))
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=FOOTNOTE_PT, color="dimgray",
             ha="left", va="bottom")
    return fig


def _seed_note(run: Run, band_label: str | None, centre: str = "line = median",
               spread: str = "band") -> str:
    """How many replicates the simulated series summarises, and what the spread means."""
    n = len(run.seeds)
    if n > 1 and band_label:
        what = f"{n} {run.members}" + (" (each a parameter set from the posterior and its own seed)"
                                        if run.members != "seeds" else "")
        return f"Simulated: {what}; {centre}, {spread} = {band_label}."
    return f"Simulated: {n} seed{'s' if n != 1 else ''}."


def _draw_sim_band(ax: Axes, x, by_seed: pd.DataFrame, label: str, members: str = "seeds") -> str | None:
    """Median line plus, for several replicates, the shaded spread; returns the band label."""
    med, lo, hi, band_label = _band(by_seed, members)
    ax.plot(x, med.to_numpy(), color=SIM_COLOR, marker="o", ms=4, lw=1.8,
            label=f"{label} (median)" if by_seed.shape[1] > 1 else label)
    if by_seed.shape[1] > 1:
        ax.fill_between(x, lo.to_numpy(), hi.to_numpy(), color=SIM_COLOR, alpha=0.25, lw=0,
                        label=f"simulated, {band_label}")
        return band_label
    return None


def _monthly_axes(ax: Axes, xlabel: str, ylabel: str) -> None:
    """Month ticks, counts with thousands separators from zero, labels and a light grid."""
    _month_axis(ax)
    _thousands(ax)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def _month_axis(ax: Axes) -> None:
    """Month ticks labelled 'Oct\\n2022'; the year only where it matters."""
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.MonthLocator()))


# ---------------------------------------------------------------- plot 1

def _encounters_by_month(run: Run, title: str) -> Figure:
    """Monthly Southwest-border encounters: the headline calibration check.

    Every simulated encounter happens at a CBP Southwest-border area (the ``place``
    of an encounter row is a sector or field office), so the sum over places is the
    SWB total CBP publishes. Months without observed figures are shaded.
    """
    fig, ax = _new_figure((10, 5.6))
    by_seed = run.monthly_by_seed("encounters")
    obs = run.observed_encounters_by_month()
    band_label = None
    has_sim = not by_seed.empty and by_seed.to_numpy().sum() > 0
    if has_sim:
        band_label = _draw_sim_band(ax, _mid_month(by_seed.index), by_seed, "simulated", run.members)
    else:
        _note(ax, "no simulated encounters in this run", y=0.6)
    if obs is not None:
        months = pd.to_datetime(obs["month"], format="%Y-%m")
        ax.plot(_mid_month(months), obs["encounters"], color=OBS_COLOR, marker="D", ms=5,
                lw=1, ls="--", label="observed, CBP")
        if has_sim:
            unobserved = by_seed.index[~by_seed.index.isin(months)]
            for i, m in enumerate(unobserved):
                ax.axvspan(m, m + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1), color="gray", alpha=0.12, lw=0,
                           label="no observed figure" if i == 0 else None)
    else:
        _note(ax, NO_OBSERVED, y=0.4)
    _monthly_axes(ax, "month (simulated and observed values placed mid-month)",
                  "encounters per month\n(events: a person can be encountered more than once)")
    src = Observed.source(obs, CBP_SOURCE) if obs is not None else NO_OBSERVED
    span = f"{run.span.start:%b %Y} - {run.span.end:%b %Y}" if run.span else "no days"
    return _finish(fig, ax, title, f"Southwest Land Border encounters per month, {span}", [
        f"Observed: {src}." if obs is not None else f"Observed: {NO_OBSERVED} ({CBP_SOURCE}).",
        _seed_note(run, band_label) + " Simulated = encounters summed over all CBP sectors and field offices.",
    ])


# ---------------------------------------------------------------- plot 2

def _encounters_by_citizenship(run: Run, title: str) -> Figure:
    """Encounter totals by citizenship over the last fiscal year of the run, on a log axis.

    Why a log dot plot: the labels span five orders of magnitude (MEXICO ~717k,
    MYANMAR single digits), and a bar chart on a linear axis would hide every small
    group. Ranked by the observed total so the eye reads down CBP's own ordering.
    """
    fig, ax = _new_figure((9, 8.5))
    fy = run.last_fiscal_year() or run.span
    label = fy.label if fy is not None and fy.label != "run" else "the run's period"
    seeds = run.seeds
    s = run.table.sum(("nationality", "seed"), metric="encounters", window=fy) if fy is not None else pd.Series(dtype=float)
    sim = (s.unstack("seed") if len(s) else pd.DataFrame()).reindex(columns=seeds).fillna(0)
    obs = run.observed.encounters(int(fy.label[2:]), "citizenship") if fy is not None and fy.label.startswith("FY") else None
    obs_tot = obs.set_index("citizenship")["encounters"] if obs is not None else pd.Series(dtype=float)

    labels = list(dict.fromkeys([*CITIZENSHIPS, *sim.index, *obs_tot.index]))
    sim = sim.reindex(labels).fillna(0)
    mean, lo, hi = sim.mean(axis=1), sim.min(axis=1), sim.max(axis=1)
    rank_key = obs_tot.reindex(labels).fillna(-1) if obs is not None else mean
    order = rank_key.sort_values(ascending=True).index  # largest at the top
    y = np.arange(len(order))

    positive = pd.concat([mean[mean > 0], lo[lo > 0], obs_tot[obs_tot > 0]])
    floor = max(float(positive.min()) / 2, 0.5) if len(positive) else 0.5
    has_sim = bool(len(seeds)) and float(mean.sum()) > 0

    if has_sim:
        m = mean.reindex(order).to_numpy()
        lo_o, hi_o = lo.reindex(order).to_numpy(), hi.reindex(order).to_numpy()
        shown = np.where(m > 0, m, floor)
        err = np.vstack([shown - np.maximum(lo_o, floor), np.maximum(hi_o, floor) - shown])
        ax.errorbar(shown, y + 0.15, xerr=np.clip(err, 0, None), fmt="o", color=SIM_COLOR, ms=5,
                    capsize=2, lw=1, label=f"simulated, mean (bar: min-max across {run.members})"
                    if len(seeds) > 1 else "simulated")
        zero = m <= 0
        if zero.any():
            ax.plot(np.full(zero.sum(), floor), y[zero] + 0.15, "o", mfc="white", mec=SIM_COLOR,
                    ms=5, label="simulated zero (drawn at axis edge)")
    else:
        _note(ax, f"no simulated encounters in {label} in this run", y=0.6)
    if obs is not None:
        o = obs_tot.reindex(order).to_numpy(dtype=float)
        ax.plot(np.where(o > 0, o, np.nan), y - 0.15, "D", color=OBS_COLOR, ms=5, label="observed, CBP")
    else:
        _note(ax, NO_OBSERVED, y=0.4)

    ax.set_yticks(y, list(order), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(left=floor / 1.5)
    _thousands(ax, "x")
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_xlabel(f"encounters, {label} (events, log scale)")
    ax.set_ylabel("citizenship (CBP label; ranked by observed total)" if obs is not None
                  else "citizenship (CBP label; ranked by simulated mean)")
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.grid(axis="y", alpha=0.15)
    src = Observed.source(obs, CBP_SOURCE) if obs is not None else NO_OBSERVED
    return _finish(fig, ax, title, f"Southwest Land Border encounters by citizenship, {label} total", [
        f"Observed: {src}." if obs is not None else f"Observed: {NO_OBSERVED} ({CBP_SOURCE}).",
        _seed_note(run, f"min-max across {run.members}" if len(seeds) > 1 else None,
                   centre="dot = mean", spread="error bar"),
    ], legend_loc="lower right")


# ---------------------------------------------------------------- plot 3

def _darien_by_month(run: Run, title: str) -> Figure:
    """Monthly Darién crossings against Panama's counts.

    A month Panama did not publish on its own (September 2023) is derived in the
    observed file as the annual total minus the other months, and drawn as a hollow
    marker to show it carries every other month's reporting error.
    """
    fig, ax = _new_figure((10, 5.6))
    by_seed = run.monthly_by_seed("darien_crossings")
    obs = run.observed_darien_by_month()
    band_label = None
    if not by_seed.empty and by_seed.to_numpy().sum() > 0:
        band_label = _draw_sim_band(ax, _mid_month(by_seed.index), by_seed, "simulated", run.members)
    else:
        _note(ax, "no simulated Darién crossings in this run", y=0.6)
    derived = np.zeros(0, bool)
    if obs is not None:
        months = _mid_month(pd.to_datetime(obs["month"], format="%Y-%m"))
        derived = (obs.get("source_kind", pd.Series("reported", index=obs.index)) == "derived").to_numpy()
        ax.plot(months, obs["crossings"], color=OBS_COLOR, lw=1, ls="--", zorder=2)
        ax.plot(months[~derived], obs["crossings"][~derived], "D", color=OBS_COLOR, ms=5,
                label="observed, Panama SNM/MINSEG", zorder=3)
        if derived.any():
            ax.plot(months[derived], obs["crossings"][derived], "D", mfc="white", mec=OBS_COLOR, mew=1.5,
                    ms=7, label="observed, derived (annual total minus other months)", zorder=3)
    else:
        _note(ax, NO_OBSERVED, y=0.4)
    _monthly_axes(ax, "month (values placed mid-month)", "Darién crossings per month (persons)")
    src = NO_OBSERVED
    if obs is not None:
        src = f"{DARIEN_SOURCE}, monthly irregular transits as reported in the press"
        if derived.any():
            names = ", ".join(pd.to_datetime(obs["month"][derived], format="%Y-%m").dt.strftime("%B %Y"))
            src += f"; {names} derived as an annual total minus the other months"
    span = f"{run.span.start:%b %Y} - {run.span.end:%b %Y}" if run.span else "no days"
    return _finish(fig, ax, title, f"Darién Gap crossings (Colombia to Panama) per month, {span}", [
        f"Observed: {src}." if obs is not None else f"Observed: {NO_OBSERVED} ({DARIEN_SOURCE}).",
        _seed_note(run, band_label),
    ])
