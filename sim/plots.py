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

from pathlib import Path

import textwrap

import numpy as np
import pandas as pd
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.citizenship import CITIZENSHIPS

DPI = 120
FY_START = pd.Timestamp("2022-10-01")
FY_END = pd.Timestamp("2023-09-30")
CAL_START = pd.Timestamp("2023-01-01")
CAL_END = pd.Timestamp("2023-12-31")
# below this many seeds a percentile band is meaningless, so the band is min-max
PERCENTILE_MIN_SEEDS = 20
FOOTNOTE_PT = 7

CBP_SOURCE = "US CBP Nationwide Encounters, FY2023, Southwest Land Border"
DARIEN_SOURCE = "Panama Servicio Nacional de Migración (SNM) / Ministerio de Seguridad (MINSEG)"
NO_OBSERVED = "observed data not available"

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
    ts = _normalise(ts)
    obs = Path(observed_dir) if observed_dir is not None else None
    figures = {
        "encounters_by_month.png": _encounters_by_month(ts, obs, title),
        "encounters_by_citizenship.png": _encounters_by_citizenship(ts, obs, title),
        "darien_by_month.png": _darien_by_month(ts, obs, title),
    }
    paths = []
    for name, fig in figures.items():
        path = out / name
        fig.savefig(path, dpi=DPI)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- data helpers

def _normalise(ts: pd.DataFrame) -> pd.DataFrame:
    """Parse dates once and add a month column, so every plot bins the same way."""
    ts = ts.copy()
    ts["date"] = pd.to_datetime(ts["date"])
    ts["month"] = ts["date"].dt.to_period("M").dt.to_timestamp()
    return ts


def _seeds(ts: pd.DataFrame) -> list[int]:
    """All seeds in the run (not only those with rows for a metric): a seed with no
    Darién crossings is a replicate whose count is zero, not a missing replicate."""
    return sorted(ts["seed"].unique().tolist())


def _monthly_by_seed(ts: pd.DataFrame, metric: str, start: pd.Timestamp,
                     end: pd.Timestamp) -> pd.DataFrame:
    """Month x seed totals of ``metric``, zero-filled over the months the run covers."""
    seeds = _seeds(ts)
    in_run = ts[(ts["date"] >= start) & (ts["date"] <= end)]
    if in_run.empty or not seeds:
        return pd.DataFrame()
    months = pd.date_range(in_run["month"].min(), in_run["month"].max(), freq="MS")
    sub = in_run[in_run["metric"] == metric]
    table = sub.pivot_table(index="month", columns="seed", values="value", aggfunc="sum")
    return table.reindex(index=months, columns=seeds).fillna(0)


def _band(by_seed: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series, str]:
    """Median and spread across seeds (columns), with a label for the legend."""
    n = by_seed.shape[1]
    med = by_seed.median(axis=1)
    if n >= PERCENTILE_MIN_SEEDS:
        lo, hi = by_seed.quantile(0.05, axis=1), by_seed.quantile(0.95, axis=1)
        return med, lo, hi, "5-95% across seeds"
    return med, by_seed.min(axis=1), by_seed.max(axis=1), "min-max across seeds"


def _read_observed(observed_dir: Path | None, name: str) -> pd.DataFrame | None:
    """Read one observed CSV, or None when the folder or file is absent."""
    if observed_dir is None:
        return None
    path = observed_dir / name
    if not path.is_file():
        return None
    return pd.read_csv(path)


def _source_of(obs: pd.DataFrame | None, default: str) -> str:
    """The file's own ``source`` text when it has a single one, so the plot quotes the
    vintage actually used; otherwise the publisher name."""
    if obs is not None and "source" in obs.columns:
        values = obs["source"].dropna().unique()
        if len(values) == 1:
            return str(values[0])
    return default


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


def _seed_note(ts: pd.DataFrame, band_label: str | None, centre: str = "line = median",
               spread: str = "band") -> str:
    """How many replicates the simulated series summarises, and what the spread means."""
    n = len(_seeds(ts))
    if n > 1 and band_label:
        return f"Simulated: {n} seeds; {centre}, {spread} = {band_label}."
    return f"Simulated: {n} seed{'s' if n != 1 else ''}."


def _draw_sim_band(ax: Axes, x, by_seed: pd.DataFrame, label: str) -> str | None:
    """Median line plus, for several seeds, the shaded spread; returns the band label."""
    med, lo, hi, band_label = _band(by_seed)
    ax.plot(x, med.to_numpy(), color=SIM_COLOR, marker="o", ms=4, lw=1.8,
            label=f"{label} (median)" if by_seed.shape[1] > 1 else label)
    if by_seed.shape[1] > 1:
        ax.fill_between(x, lo.to_numpy(), hi.to_numpy(), color=SIM_COLOR, alpha=0.25, lw=0,
                        label=f"simulated, {band_label}")
        return band_label
    return None


def _month_axis(ax: Axes) -> None:
    """Month ticks labelled 'Oct\\n2022'; the year only where it matters."""
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.MonthLocator()))


# ---------------------------------------------------------------- plot 1

def _encounters_by_month(ts: pd.DataFrame, observed_dir: Path | None, title: str) -> Figure:
    """Monthly Southwest-border encounters: the headline calibration check.

    Every simulated encounter happens at a CBP Southwest-border area (the ``place``
    of an encounter row is a sector or field office), so the sum over places is the
    SWB total CBP publishes. Months after FY2023 are shaded: the model runs on, but
    the observed table stops in September 2023.
    """
    fig, ax = _new_figure((10, 5.6))
    by_seed = _monthly_by_seed(ts, "encounters", FY_START, CAL_END)
    obs = _read_observed(observed_dir, "cbp_fy2023_by_month.csv")
    band_label = None
    has_sim = not by_seed.empty and by_seed.to_numpy().sum() > 0
    if has_sim:
        band_label = _draw_sim_band(ax, _mid_month(by_seed.index), by_seed, "simulated")
    else:
        _note(ax, "no simulated encounters in this run", y=0.6)
    if obs is not None:
        months = pd.to_datetime(obs["month"], format="%Y-%m")
        ax.plot(_mid_month(months), obs["encounters"], color=OBS_COLOR, marker="D", ms=5,
                lw=1, ls="--", label="observed, CBP")
    else:
        _note(ax, NO_OBSERVED, y=0.4)
    last = by_seed.index.max() if has_sim else FY_END
    if last > FY_END:
        ax.axvspan(FY_END + pd.Timedelta(days=1), last + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1),
                   color="gray", alpha=0.12, lw=0, label="beyond FY2023 (no observed data)")
    _month_axis(ax)
    _thousands(ax)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("month (simulated and observed values placed mid-month)")
    ax.set_ylabel("encounters per month\n(events: a person can be encountered more than once)")
    ax.grid(alpha=0.3)
    src = _source_of(obs, CBP_SOURCE) if obs is not None else NO_OBSERVED
    return _finish(fig, ax, title, "Southwest Land Border encounters per month, FY2023 (Oct 2022 - Sep 2023)", [
        f"Observed: {src}." if obs is not None else f"Observed: {NO_OBSERVED} ({CBP_SOURCE}).",
        _seed_note(ts, band_label) + " Simulated = encounters summed over all CBP sectors and field offices.",
    ])


# ---------------------------------------------------------------- plot 2

def _encounters_by_citizenship(ts: pd.DataFrame, observed_dir: Path | None, title: str) -> Figure:
    """FY2023 encounter totals by citizenship on a log axis.

    Why a log dot plot: the labels span five orders of magnitude (MEXICO ~717k,
    MYANMAR single digits), and a bar chart on a linear axis would hide every small
    group. Ranked by the observed total so the eye reads down CBP's own ordering.
    """
    fig, ax = _new_figure((9, 8.5))
    fy = ts[(ts["date"] >= FY_START) & (ts["date"] <= FY_END)]
    seeds = _seeds(ts)
    enc = fy[fy["metric"] == "encounters"]
    sim = (enc.pivot_table(index="nationality", columns="seed", values="value", aggfunc="sum")
           .reindex(columns=seeds).fillna(0))
    obs = _read_observed(observed_dir, "cbp_fy2023_by_citizenship.csv")
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
                    capsize=2, lw=1, label="simulated, mean (bar: min-max across seeds)"
                    if len(seeds) > 1 else "simulated")
        zero = m <= 0
        if zero.any():
            ax.plot(np.full(zero.sum(), floor), y[zero] + 0.15, "o", mfc="white", mec=SIM_COLOR,
                    ms=5, label="simulated zero (drawn at axis edge)")
    else:
        _note(ax, "no simulated encounters in FY2023 in this run", y=0.6)
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
    ax.set_xlabel("encounters, Oct 2022 - Sep 2023 (events, log scale)")
    ax.set_ylabel("citizenship (CBP label; ranked by observed total)" if obs is not None
                  else "citizenship (CBP label; ranked by simulated mean)")
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.grid(axis="y", alpha=0.15)
    days = fy["date"].dt.normalize().nunique()
    src = _source_of(obs, CBP_SOURCE) if obs is not None else NO_OBSERVED
    return _finish(fig, ax, title, "Southwest Land Border encounters by citizenship, FY2023 total", [
        f"Observed: {src}." if obs is not None else f"Observed: {NO_OBSERVED} ({CBP_SOURCE}).",
        _seed_note(ts, "min-max across seeds" if len(seeds) > 1 else None,
                   centre="dot = mean", spread="error bar")
        + f" Simulated days inside FY2023: {days} of 365.",
    ], legend_loc="lower right")


# ---------------------------------------------------------------- plot 3

def _darien_by_month(ts: pd.DataFrame, observed_dir: Path | None, title: str) -> Figure:
    """Monthly Darién crossings in calendar 2023 against Panama's counts.

    September 2023 was not published as a month; the observed file derives it as
    the annual total minus the other eleven months, so it is drawn as a hollow
    marker to show it carries every other month's reporting error.
    """
    fig, ax = _new_figure((10, 5.6))
    by_seed = _monthly_by_seed(ts, "darien_crossings", CAL_START, CAL_END)
    obs = _read_observed(observed_dir, "darien_2023_monthly.csv")
    band_label = None
    if not by_seed.empty and by_seed.to_numpy().sum() > 0:
        band_label = _draw_sim_band(ax, _mid_month(by_seed.index), by_seed, "simulated")
    else:
        _note(ax, "no simulated Darién crossings in 2023 in this run", y=0.6)
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
    ax.set_xlim(CAL_START, CAL_END + pd.Timedelta(days=1))
    _month_axis(ax)
    _thousands(ax)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("month of 2023 (values placed mid-month)")
    ax.set_ylabel("Darién crossings per month (persons)")
    ax.grid(alpha=0.3)
    src = NO_OBSERVED
    if obs is not None:
        src = f"{DARIEN_SOURCE}, monthly irregular transits as reported in the press"
        if derived.any():
            names = ", ".join(pd.to_datetime(obs["month"][derived], format="%Y-%m").dt.strftime("%B %Y"))
            src += f"; {names} derived as the annual total {int(obs['crossings'].sum()):,} minus the other months"
    return _finish(fig, ax, title, "Darién Gap crossings (Colombia to Panama) per month, 2023", [
        f"Observed: {src}." if obs is not None else f"Observed: {NO_OBSERVED} ({DARIEN_SOURCE}).",
        _seed_note(ts, band_label),
    ])
