"""Comparing scenarios: run folders and sweeps side by side, against the observed figures.

Why these plots: a policy question is answered by the difference between scenarios,
read against replicate noise and against what was observed. So every scenario gets
the same panels on shared axes (small multiples), the spread across seeds is drawn
as fan charts (50% and 90% bands), differences are taken against a chosen baseline
(paired by seed when both share seeds: common random numbers make paired
differences far sharper than the spread of either), and observed series are overlaid
with their source named on the figure.

Inputs: a run folder (``migsim run``: timeseries.parquet, summary.json) is one
scenario whose members are its seeds; a sweep folder (``migsim sweep``) gives one
scenario per combination of the factors that vary (or of ``--group-by`` columns),
whose members are its runs. Series are read one run at a time and reduced at once,
so memory does not grow with the size of a sweep.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.errors import InputError

DPI = 120
FY = (pd.Timestamp("2022-10-01"), pd.Timestamp("2023-09-30"))
CAL = (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31"))
CBP_SOURCE = "US CBP Nationwide Encounters, FY2023, Southwest Land Border"
DARIEN_SOURCE = "Panama SNM / MINSEG monthly irregular transits"
COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
          "tab:cyan", "tab:gray"]
HEADLINES = [  # name, metric, window, label
    ("fy2023_encounters", "encounters", FY, "SWB encounters, FY2023"),
    ("darien_2023", "darien_crossings", CAL, "Darién crossings, 2023"),
    ("deaths", "deaths", None, "deaths on the route, period"),
    ("removals", "removals", None, "removals, period"),
    ("expulsions", "expulsions", None, "Title 42 expulsions, period"),
    ("released_us", "released_us", None, "released into the US, period"),
]
METRICS_NEEDED = ["encounters", "darien_crossings", "departures", "deaths", "removals", "expulsions", "released_us"]
MAX_SCENARIOS = 8


@dataclass
class Scenario:
    label: str
    source: str  # folder
    observed: Path | None
    nodes: Path | None
    edges: Path | None
    monthly: list = field(default_factory=list)  # frames member, metric, month, value
    by_cit: list = field(default_factory=list)  # member, nationality, value (encounters, FY2023)
    places: list = field(default_factory=list)  # member, metric, place, value (period totals)
    totals: list = field(default_factory=list)  # member, name, value
    members: list = field(default_factory=list)  # member keys (seed for pairing)
    scales: set = field(default_factory=set)  # departures.scale of the members (counts are divided by it)

    def frame(self, name: str) -> pd.DataFrame:
        parts = getattr(self, name)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# ---------------------------------------------------------------- reading

def _reduce(sc: Scenario, ts: pd.DataFrame, member, scale: float = 1.0) -> None:
    """Fold one member's daily rows into the small tables the plots need. Counts are
    divided by ``departures.scale`` so a 5% sample is drawn at full scale, next to the
    observed figures."""
    ts = ts[ts["metric"].isin(METRICS_NEEDED)]
    if scale and scale != 1.0:
        ts = ts.assign(value=ts["value"] / scale)
    sc.scales.add(float(scale))
    d = pd.to_datetime(ts["date"])
    month = d.dt.to_period("M").dt.to_timestamp()
    m = ts[ts["metric"].isin(["encounters", "darien_crossings"])]
    mon = m.groupby([m["metric"], month[m.index]])["value"].sum().rename_axis(["metric", "month"]).reset_index()
    mon.insert(0, "member", member)
    sc.monthly.append(mon)
    fy = ts[(ts["metric"] == "encounters") & (d >= FY[0]) & (d <= FY[1])]
    bc = fy.groupby("nationality")["value"].sum().reset_index()
    bc.insert(0, "member", member)
    sc.by_cit.append(bc)
    pl = ts.groupby(["metric", "place"])["value"].sum().reset_index()
    pl.insert(0, "member", member)
    sc.places.append(pl)
    rows = []
    for name, metric, win, _ in HEADLINES:
        sel = ts["metric"] == metric
        if win is not None:
            sel &= (d >= win[0]) & (d <= win[1])
        rows.append((member, name, float(ts.loc[sel, "value"].sum())))
    sc.totals.append(pd.DataFrame(rows, columns=["member", "name", "value"]))
    sc.members.append(member)


def _scenario_files(scenario_file: str | None) -> tuple[Path | None, Path | None, Path | None, float]:
    if not scenario_file:
        return None, None, None, 1.0
    try:
        from sim.scenario import read_raw

        raw = read_raw(scenario_file)
        net = raw.get("network", {})
        obs = raw.get("observed")
        return (Path(obs) if obs else None, Path(net["nodes"]) if net.get("nodes") else None,
                Path(net["edges"]) if net.get("edges") else None,
                float((raw.get("departures") or {}).get("scale", 1.0)))
    except Exception:
        return None, None, None, 1.0


def load_run(folder: Path) -> list[Scenario]:
    summ = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").is_file() else {}
    obs, nodes, edges, scale = _scenario_files(summ.get("scenario_file"))
    sc = Scenario(summ.get("scenario", folder.name), str(folder), obs, nodes, edges)
    ts = pd.read_parquet(folder / "timeseries.parquet", columns=["date", "metric", "nationality", "place", "seed", "value"])
    for seed, part in ts.groupby("seed"):
        _reduce(sc, part, int(seed), scale)
    if (folder / "legs.parquet").is_file():  # people who started each leg (written by migsim run)
        legs = pd.read_parquet(folder / "legs.parquet")
        flows = legs.groupby(["seed", "from", "to"])["persons"].sum().reset_index()
        sc.places.append(pd.DataFrame({"member": flows["seed"].astype(int), "metric": "leg_entries",
                                       "place": flows["from"] + ">" + flows["to"],
                                       "value": flows["persons"] / (scale or 1.0)}))
    return [sc]


def load_sweep(folder: Path, group_by: list[str] | None) -> list[Scenario]:
    meta = json.loads((folder / "sweep.json").read_text())
    runs = pd.read_parquet(folder / "runs.parquet")
    runs = runs[runs["status"] == "ok"]
    if runs.empty:
        raise InputError(folder / "runs.parquet", "status", "no finished run in this sweep")
    factors = list(meta["parameters"]) + list(meta["switches"])
    if group_by:
        bad = [c for c in group_by if c not in factors]
        if bad:
            raise InputError(folder / "sweep.json", "--group-by", f"not a factor of this sweep: {bad} (factors: {factors})")
        cols = group_by
    else:
        cols = [c for c in factors if runs[c].nunique(dropna=False) > 1]
    obs = Path(meta["observed"]) if meta.get("observed") else None
    nodes = Path(meta["network"]["nodes"]) if meta.get("network") else None
    edges = Path(meta["network"]["edges"]) if meta.get("network") else None
    groups = runs.groupby(cols, sort=False, dropna=False) if cols else [((), runs)]
    scale_col = next((p["name"] for p in meta["spec"]["parameters"] if p["path"] == "departures.scale"), None)
    base_scale = float(meta.get("departures_scale") or meta["spec"].get("fixed", {}).get("departures.scale", 1.0))
    out = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={_fmt(v)}" for c, v in zip(cols, key)) or meta["name"]
        sc = Scenario(label if not cols else f"{meta['name']}: {label}", str(folder), obs, nodes, edges)
        one_per_seed = g["seed"].is_unique
        for r in g.itertuples(index=False):
            f = folder / "series" / f"run_id={r.run_id}" / "part.parquet"
            if not f.is_file():
                continue
            ts = pd.read_parquet(f, columns=["date", "metric", "nationality", "place", "value"])
            scale = float(getattr(r, scale_col)) if scale_col else base_scale
            _reduce(sc, ts, int(r.seed) if one_per_seed else r.run_id, scale)
        if sc.members:
            out.append(sc)
    if not out:
        raise InputError(folder / "series", "", "no stored series in this sweep (series.store: false?)")
    return out


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def load(paths: list[Path], group_by: list[str] | None = None) -> list[Scenario]:
    scs: list[Scenario] = []
    for p in paths:
        p = Path(p)
        if (p / "sweep.json").is_file():
            scs += load_sweep(p, group_by)
        elif (p / "timeseries.parquet").is_file():
            scs += load_run(p)
        else:
            raise InputError(p, "", "neither a run folder (timeseries.parquet) nor a sweep folder (sweep.json)")
    seen: dict[str, int] = {}
    for s in scs:  # unique labels
        if s.label in seen:
            seen[s.label] += 1
            s.label = f"{s.label} ({Path(s.source).name})" if seen[s.label] == 1 else f"{s.label} #{seen[s.label]}"
        else:
            seen[s.label] = 0
    if len(scs) > MAX_SCENARIOS:
        raise InputError(paths[0], "--group-by", (
            f"{len(scs)} scenarios are too many to draw side by side (at most {MAX_SCENARIOS}); "
            "group a sweep by fewer factors with --group-by"))
    return scs


# ---------------------------------------------------------------- helpers

def _obs(folder: Path | None, name: str) -> pd.DataFrame | None:
    if folder is None or not (folder / name).is_file():
        return None
    return pd.read_csv(folder / name)


def _source(df: pd.DataFrame | None, default: str) -> str:
    if df is not None and "source" in df.columns:
        v = df["source"].dropna().unique()
        if len(v) == 1:
            return str(v[0])
    return default


def _fan(ax, x, table: pd.DataFrame, color: str, label: str) -> None:
    """Median line with 50% and 90% bands across the columns (members)."""
    q = table.quantile([0.05, 0.25, 0.5, 0.75, 0.95], axis=1).T
    if table.shape[1] > 1:
        ax.fill_between(x, q[0.05], q[0.95], color=color, alpha=0.18, lw=0)
        ax.fill_between(x, q[0.25], q[0.75], color=color, alpha=0.38, lw=0)
    ax.plot(x, q[0.5], color=color, lw=1.8, label=label)


def _thousands(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _footnote(fig: Figure, lines: list[str], width_chars: int = 170) -> None:
    wrapped = [w for line in lines for w in textwrap.wrap(line, width_chars)]
    h = fig.get_size_inches()[1]
    frac = 7 * 1.3 / (h * 72)
    fig.tight_layout(rect=(0, 0.015 + frac * len(wrapped), 1, 0.95))
    fig.text(0.01, 0.01, "\n".join(wrapped), fontsize=7, color="dimgray", ha="left", va="bottom")


def _members_note(scs: list[Scenario]) -> str:
    note = "Members per scenario: " + "; ".join(f"{s.label}: {len(s.members)}" for s in scs) + "."
    scales = sorted(set().union(*[s.scales for s in scs]))
    if scales and scales != [1.0]:
        note += (" Simulated counts are divided by the departures.scale of each run ("
                 + ", ".join(f"{v:g}" for v in scales) + ") to read at full scale.")
    return note


# ---------------------------------------------------------------- plots

def plot_time(scs: list[Scenario]) -> Figure:
    n = len(scs)
    fig = Figure(figsize=(3.4 * n + 1.5, 7.5))
    axes = fig.subplots(2, n, sharey="row", squeeze=False)
    obs_dir = next((s.observed for s in scs if s.observed), None)
    obs_enc = _obs(obs_dir, "cbp_fy2023_by_month.csv")
    obs_dar = _obs(obs_dir, "darien_2023_monthly.csv")
    for j, s in enumerate(scs):
        mon = s.frame("monthly")
        for i, (metric, obs, col, unit) in enumerate([
                ("encounters", obs_enc, "encounters", "SWB encounters per month\n(events)"),
                ("darien_crossings", obs_dar, "crossings", "Darién crossings per month\n(persons)")]):
            ax = axes[i, j]
            t = mon[mon["metric"] == metric].pivot_table(index="month", columns="member", values="value", aggfunc="sum")
            t = t.reindex(columns=s.members).fillna(0)
            if len(t):
                x = pd.DatetimeIndex(t.index) + pd.Timedelta(days=14)
                _fan(ax, x, t, COLORS[j % len(COLORS)], "simulated, median")
            if obs is not None:
                ax.plot(pd.to_datetime(obs["month"], format="%Y-%m") + pd.Timedelta(days=14), obs[col], "k--",
                        marker="D", ms=3, lw=1, label="observed")
            ax.set_ylim(bottom=0)
            _thousands(ax.yaxis)
            ax.grid(alpha=0.3)
            ax.tick_params(axis="x", labelrotation=45, labelsize=7)
            if j == 0:
                ax.set_ylabel(unit)
            if i == 0:
                ax.set_title(textwrap.fill(s.label, 40), fontsize=9)
            if i == 1 and j == 0:
                ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Encounters at the US Southwest border and Darién Gap crossings by month, per scenario\n"
                 "line = median across members, dark band = 50%, light band = 90% of members", fontsize=11)
    _footnote(fig, [
        f"Observed encounters: {_source(obs_enc, CBP_SOURCE) if obs_enc is not None else 'not available'}. "
        f"Observed Darién: {_source(obs_dar, DARIEN_SOURCE) if obs_dar is not None else 'not available'}.",
        "Members: seeds of a run folder, or the runs of a sweep group (seeds and any factors not grouped by). "
        + _members_note(scs) + " Values placed mid-month.",
    ])
    return fig


def plot_citizenship(scs: list[Scenario]) -> Figure:
    obs = _obs(next((s.observed for s in scs if s.observed), None), "cbp_fy2023_by_citizenship.csv")
    tabs = []
    for s in scs:
        bc = s.frame("by_cit")
        t = bc.pivot_table(index="nationality", columns="member", values="value", aggfunc="sum").reindex(columns=s.members).fillna(0)
        tabs.append(t)
    labels = sorted(set().union(*[t.index for t in tabs]) | (set(obs["citizenship"]) if obs is not None else set()))
    if obs is not None:
        rank = obs.set_index("citizenship")["encounters"].reindex(labels).fillna(-1)
    else:
        rank = tabs[0].reindex(labels).fillna(0).median(axis=1)
    order = list(rank.sort_values().index)
    y = np.arange(len(order))
    fig = Figure(figsize=(10, 0.38 * len(order) + 2.5))
    ax = fig.add_subplot(1, 1, 1)
    n = len(scs)
    floor = 0.5
    for j, (s, t) in enumerate(zip(scs, tabs)):
        t = t.reindex(order).fillna(0)
        q = t.quantile([0.05, 0.5, 0.95], axis=1).T.clip(lower=floor)
        off = (j - (n - 1) / 2) * 0.6 / max(n, 1)
        ax.errorbar(q[0.5], y + off, xerr=[q[0.5] - q[0.05], q[0.95] - q[0.5]], fmt="o", ms=4, capsize=2, lw=1,
                    color=COLORS[j % len(COLORS)], label=s.label)
    if obs is not None:
        o = obs.set_index("citizenship")["encounters"].reindex(order)
        ax.plot(o.where(o > 0), y, "kD", ms=5, mfc="none", label="observed, CBP")
    ax.set_xscale("log")
    _thousands(ax.xaxis)
    ax.set_yticks(y, order, fontsize=8)
    ax.set_xlabel("encounters, Oct 2022 - Sep 2023 (events, log scale)")
    ax.set_ylabel("citizenship (CBP label), ranked by " + ("observed total" if obs is not None else f"median of {scs[0].label}"))
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Southwest border encounters by citizenship, FY2023, per scenario\n"
                 "dot = median across members, bar = 90% interval (5th-95th percentile)", fontsize=11)
    _footnote(fig, [f"Observed: {_source(obs, CBP_SOURCE) if obs is not None else 'not available'}. "
                    + _members_note(scs) + " Zero values drawn at 0.5."], 120)
    return fig


def differences(scs: list[Scenario], base: Scenario) -> pd.DataFrame:
    """Difference of each headline outcome from the baseline: paired by member when the
    members match (same seeds), else difference of means with independent quantiles."""
    bt = base.frame("totals").pivot_table(index="member", columns="name", values="value")
    rows = []
    for s in scs:
        if s is base:
            continue
        st = s.frame("totals").pivot_table(index="member", columns="name", values="value")
        common = bt.index.intersection(st.index)
        paired = len(common) >= 2 and len(common) == len(st.index) == len(bt.index)
        for name, _, _, label in HEADLINES:
            b_mean = float(bt[name].mean())
            if paired:
                d = st.loc[common, name] - bt.loc[common, name]
                lo, hi = d.quantile(0.05), d.quantile(0.95)
                mean = float(d.mean())
            else:
                mean = float(st[name].mean() - b_mean)
                rng = np.random.default_rng(0)
                boot = [rng.choice(st[name].to_numpy(), len(st)).mean() - rng.choice(bt[name].to_numpy(), len(bt)).mean()
                        for _ in range(500)]
                lo, hi = np.quantile(boot, [0.05, 0.95])
            rows.append({"scenario": s.label, "baseline": base.label, "outcome": name, "label": label,
                         "baseline_mean": b_mean, "difference": mean, "lo90": float(lo), "hi90": float(hi),
                         "percent": 100 * mean / b_mean if b_mean else np.nan,
                         "method": "paired by seed (5-95%)" if paired else "difference of means (bootstrap 5-95%)"})
    return pd.DataFrame(rows)


def plot_differences(scs: list[Scenario], base: Scenario, diff: pd.DataFrame) -> Figure:
    others = [s for s in scs if s is not base]
    fig = Figure(figsize=(13, 6))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    names = [h[0] for h in HEADLINES]
    labels = [h[3] for h in HEADLINES]
    y = np.arange(len(names))[::-1]
    n = max(len(others), 1)
    for j, s in enumerate(others):
        d = diff[diff["scenario"] == s.label].set_index("outcome").reindex(names)
        base_m = d["baseline_mean"].replace(0, np.nan)
        pct, lo, hi = 100 * d["difference"] / base_m, 100 * d["lo90"] / base_m, 100 * d["hi90"] / base_m
        off = (j - (n - 1) / 2) * 0.6 / n
        c = COLORS[(scs.index(s)) % len(COLORS)]
        ax.errorbar(pct, y + off, xerr=[(pct - lo).clip(lower=0), (hi - pct).clip(lower=0)], fmt="o", color=c,
                    capsize=2, ms=5, label=s.label)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(f"difference from baseline (% of the baseline mean)")
    ax.set_title("headline outcomes (dot = mean difference, bar = 90% interval)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    bm = base.frame("monthly")
    bt = bm[bm["metric"] == "encounters"].pivot_table(index="month", columns="member", values="value", aggfunc="sum").fillna(0)
    for s in others:
        m = s.frame("monthly")
        st = m[m["metric"] == "encounters"].pivot_table(index="month", columns="member", values="value", aggfunc="sum").fillna(0)
        idx = bt.index.union(st.index)
        common = bt.columns.intersection(st.columns)
        c = COLORS[(scs.index(s)) % len(COLORS)]
        if len(common) >= 2 and len(common) == len(st.columns) == len(bt.columns):
            d = st.reindex(idx).fillna(0)[common] - bt.reindex(idx).fillna(0)[common]
        else:  # unpaired: every member against the baseline median
            d = st.reindex(idx).fillna(0).sub(bt.reindex(idx).fillna(0).median(axis=1), axis=0)
        _fan(ax2, pd.DatetimeIndex(idx) + pd.Timedelta(days=14), d, c, s.label)
    ax2.axhline(0, color="black", lw=0.8)
    _thousands(ax2.yaxis)
    ax2.set_ylabel("difference in SWB encounters per month (events)")
    ax2.set_title("monthly encounters minus baseline (median, 50% and 90% bands)", fontsize=9)
    ax2.grid(alpha=0.3)
    ax2.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax2.legend(fontsize=7, loc="best")
    fig.suptitle(f"Differences against the baseline scenario: {base.label}", fontsize=11)
    method = ", ".join(sorted(set(diff["method"]))) if len(diff) else "none"
    _footnote(fig, [f"Intervals: {method}. With common random numbers, pairing by seed removes most replicate "
                    "noise shared by the two scenarios. " + _members_note(scs)], 170)
    return fig


def plot_flow_map(scs: list[Scenario]) -> Figure:
    """Route network on longitude/latitude; circle area = persons counted at a node."""
    s0 = next((s for s in scs if s.nodes is not None and s.nodes.is_file()), None)
    n = len(scs)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    width = max(4.6 * cols + 0.5, 9.0)  # room for the title and footnote with one panel
    fig = Figure(figsize=(width, 5.2 * rows + 1.6))
    if s0 is None:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "network files not found: no map", ha="center", transform=ax.transAxes)
        return fig
    nodes = pd.read_csv(s0.nodes)
    edges = pd.read_csv(s0.edges) if s0.edges is not None and s0.edges.is_file() else pd.DataFrame(columns=["from", "to"])
    pos = nodes.set_index("id")[["lon", "lat"]]
    name_to_id = dict(zip(nodes["name"], nodes["id"]))
    kinds = {"departures": ("departures at origins", "tab:green"),
             "darien_crossings": ("Darién crossings at jungle exits", "tab:orange"),
             "encounters": ("encounters at CBP areas", "tab:red")}
    totals = {}
    for s in scs:
        pl = s.frame("places")
        pl = pl[pl["metric"].isin(list(kinds))]
        mean = pl.groupby(["metric", "place"])["value"].sum() / max(len(s.members), 1)
        totals[s.label] = mean
    vmax = max((float(t.max()) for t in totals.values() if len(t)), default=1.0) or 1.0
    box = (-125.0, -30.0, -40.0, 40.0)  # lon min, max, lat min, max: the Americas
    inside = pos[(pos["lon"].between(box[0], box[1])) & (pos["lat"].between(box[2], box[3]))]
    off_map = len(pos) - len(inside)
    lat0 = float(inside["lat"].mean()) if len(inside) else 0.0
    legs = {}
    for s in scs:
        pl = s.frame("places")
        if len(pl) and "leg_entries" in set(pl["metric"]):
            legs[s.label] = pl[pl["metric"] == "leg_entries"].groupby("place")["value"].sum() / max(len(s.members), 1)
    lmax = max((float(v.max()) for v in legs.values() if len(v)), default=0.0)
    for k, s in enumerate(scs):
        ax = fig.add_subplot(rows, cols, k + 1)
        flow = legs.get(s.label)
        for f, t in zip(edges["from"], edges["to"]):
            if f in pos.index and t in pos.index:
                v = float(flow.get(f"{f}>{t}", 0.0)) if flow is not None else 0.0
                lw = 0.4 + 9.0 * v / lmax if lmax > 0 else 0.6
                ax.plot([pos.at[f, "lon"], pos.at[t, "lon"]], [pos.at[f, "lat"], pos.at[t, "lat"]],
                        color="tab:blue" if v > 0 else "0.8", alpha=0.6 if v > 0 else 1.0, lw=lw, zorder=1,
                        solid_capstyle="round")
        ax.scatter(pos["lon"], pos["lat"], s=4, color="0.55", zorder=2)
        for metric, (label, color) in kinds.items():
            t = totals[s.label]
            if metric not in t.index.get_level_values(0):
                continue
            v = t.loc[metric]
            ids = [p if p in pos.index else name_to_id.get(p) for p in v.index]
            keep = [(i, val) for i, val in zip(ids, v.to_numpy()) if i is not None and i in pos.index and val > 0]
            if not keep:
                continue
            xy = pos.loc[[i for i, _ in keep]]
            vals = np.array([val for _, val in keep], dtype=float)
            ax.scatter(xy["lon"], xy["lat"], s=900 * vals / vmax, color=color, alpha=0.55, edgecolor="black",
                       lw=0.4, zorder=3, label=label if k == 0 else None)
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_aspect(1 / np.cos(np.radians(lat0)))
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.set_title(textwrap.fill(s.label, 45), fontsize=9)
        ax.grid(alpha=0.2)
    h, lab = fig.axes[0].get_legend_handles_labels()
    if h:
        fig.axes[0].legend(h, lab, fontsize=7, loc="lower left", markerscale=0.4)
    fig.suptitle("Route network, flows on each leg and where people were counted\n(mean over members; "
                 f"circle area proportional to persons over the period; largest circle = {vmax:,.0f} persons)", fontsize=11)
    legs_note = (f"Blue line width is proportional to the people who started each leg over the period "
                 f"(legs.parquet of the run; widest = {lmax:,.0f} persons); grey legs carried nobody. " if lmax > 0 else
                 "These results hold no per-leg flows (legs.parquet, written by migsim run), so legs are drawn in grey. ")
    _footnote(fig, [
        legs_note + "Legs are drawn straight. Circles size the flows recorded per node: "
        "departures at origins, Darién crossings at the jungle exits, encounters at CBP sectors and field offices "
        f"(placed at their node). {off_map} nodes outside the Americas (origins of air routes) lie off the map. "
        f"Network: {s0.nodes.parent}."], int(width * 15))
    return fig


# ---------------------------------------------------------------- entry points

def compare(paths: list[Path], out: Path, baseline: str | None = None, group_by: list[str] | None = None) -> dict:
    scs = load(paths, group_by)
    if baseline is None:
        base = scs[0]
    else:
        match = [s for s in scs if s.label == baseline] or [s for s in scs if baseline in s.label] \
            or [s for s in scs if Path(s.source).resolve() == Path(baseline).resolve()]
        if not match:
            raise InputError(out, "--baseline", f"no scenario {baseline!r}; scenarios: {[s.label for s in scs]}")
        base = match[0]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    figs = {"time_series.png": plot_time(scs), "encounters_by_citizenship.png": plot_citizenship(scs),
            "flow_map.png": plot_flow_map(scs)}
    diff = differences(scs, base)
    if len(scs) > 1:
        figs["differences.png"] = plot_differences(scs, base, diff)
        diff.to_csv(out / "differences.csv", index=False)
        written["differences.csv"] = out / "differences.csv"
    summ = []
    for s in scs:
        t = s.frame("totals").pivot_table(index="member", columns="name", values="value")
        for name, _, _, label in HEADLINES:
            v = t[name]
            summ.append({"scenario": s.label, "source": s.source, "outcome": name, "label": label,
                         "members": len(v), "mean": v.mean(), "q05": v.quantile(0.05), "median": v.median(),
                         "q95": v.quantile(0.95)})
    pd.DataFrame(summ).to_csv(out / "summary.csv", index=False)
    written["summary.csv"] = out / "summary.csv"
    for name, fig in figs.items():
        fig.savefig(out / name, dpi=DPI)
        written[name] = out / name
    return {"scenarios": [s.label for s in scs], "baseline": base.label, "files": written}


def cmd_compare(a) -> int:
    res = compare(a.folders, a.out, a.baseline, a.group_by)
    print(f"compared {len(res['scenarios'])} scenario(s) against baseline {res['baseline']!r}: "
          + "; ".join(res["scenarios"]))
    print(f"wrote {a.out}/ ({', '.join(res['files'])})")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="plot scenarios side by side (run or sweep folders) against observed data",
        description=("Compare run folders (migsim run) and sweep folders (migsim sweep): monthly encounters and "
                     "Darién crossings per scenario with 50%%/90%% fan charts across seeds and observed series, "
                     "encounters by citizenship, differences against a baseline (paired by seed) and a map of the "
                     "route network. Writes PNGs, summary.csv and differences.csv to --out."))
    p.add_argument("folders", nargs="+", type=Path, metavar="RUN_OR_SWEEP_DIR")
    p.add_argument("--out", type=Path, required=True, help="folder for the plots and tables")
    p.add_argument("--baseline", help="label (or folder) of the baseline scenario (default: the first)")
    p.add_argument("--group-by", nargs="+", metavar="FACTOR",
                   help="for sweeps: one scenario per combination of these factors (default: all that vary)")
    p.set_defaults(func=cmd_compare)
