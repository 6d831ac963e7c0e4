"""The comparison figures: scenarios side by side, against observed figures and a baseline.

Why these plots: a policy question is answered by the difference between scenarios,
read against replicate noise and against what was observed. So every scenario gets
the same panels on shared axes (small multiples), the spread across members is drawn
as fan charts (50% and 90% bands), differences are taken against a chosen baseline
(paired by seed when both share seeds: common random numbers make paired
differences far sharper than the spread of either), and observed series are overlaid
with their source named on the figure.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.outcomes.observed import CBP_SOURCE, DARIEN_SOURCE, Observed
from sim.studies.compare.read import Headline, Scenario

DPI = 120
COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
          "tab:cyan", "tab:gray"]


def _observed(scs: list[Scenario]) -> Observed:
    return Observed(next((s.observed for s in scs if s.observed), None))


def _observed_months(obs: Observed, scs: list[Scenario]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Observed encounters and Darién crossings by month over the years the scenarios show."""
    months = pd.concat([s.frame("monthly")["month"] for s in scs if s.monthly], ignore_index=True)
    if months.empty:
        return None, None
    years = range(months.min().year, months.max().year + 2)
    enc = [d for y in years if (d := obs.encounters(y, "month")) is not None]
    dar = [d for y in years if (d := obs.darien_monthly(y)) is not None]
    return (pd.concat(enc, ignore_index=True) if enc else None, pd.concat(dar, ignore_index=True) if dar else None)


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
    note = "Members per scenario: " + "; ".join(f"{s.label}: {len(s.members)} {s.members_are}" for s in scs) + "."
    if any(s.members_are == "posterior draws" for s in scs):
        note += (" A posterior draw is a parameter set from the estimation's posterior (and the stated priors of "
                 "uncertain lever sizes) with its own seed: its bands hold the parameters' uncertainty as well as "
                 "the seeds'.")
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
    observed = _observed(scs)
    obs_enc, obs_dar = _observed_months(observed, scs)
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
        f"Observed encounters: {Observed.source(obs_enc, CBP_SOURCE) if obs_enc is not None else 'not available'}. "
        f"Observed Darién: {Observed.source(obs_dar, DARIEN_SOURCE) if obs_dar is not None else 'not available'}.",
        "Members: the replicates of a run folder (seeds, or posterior draws), or the runs of a sweep group "
        "(replicates and any factors not grouped by). "
        + _members_note(scs) + " Values placed mid-month.",
    ])
    return fig


def plot_citizenship(scs: list[Scenario], heads: list[Headline]) -> Figure:
    fy = next((h.window for h in heads if h.metric == "encounters" and h.window is not None), None)
    obs = _observed(scs).encounters(int(fy.label[2:]), "citizenship") if fy is not None else None
    period = fy.label if fy is not None else "the period"
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
    ax.set_xlabel(f"encounters, {period} (events, log scale)")
    ax.set_ylabel("citizenship (CBP label), ranked by " + ("observed total" if obs is not None else f"median of {scs[0].label}"))
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Southwest border encounters by citizenship, {period}, per scenario\n"
                 "dot = median across members, bar = 90% interval (5th-95th percentile)", fontsize=11)
    _footnote(fig, [f"Observed: {Observed.source(obs, CBP_SOURCE) if obs is not None else 'not available'}. "
                    + _members_note(scs) + " Zero values drawn at 0.5."], 120)
    return fig


def differences(scs: list[Scenario], base: Scenario, heads: list[Headline]) -> pd.DataFrame:
    """Difference of each headline outcome from the baseline: paired by member when the
    members match (same seeds), else difference of means with independent quantiles."""
    bt = base.frame("totals").pivot_table(index="member", columns="name", values="value")
    rows = []
    for s in scs:
        if s is base:
            continue
        st = s.frame("totals").pivot_table(index="member", columns="name", values="value")
        common = bt.index.intersection(st.index)
        # paired only like with like: draw j of both runs is the same parameter set with the same seed
        paired = (len(common) >= 2 and len(common) == len(st.index) == len(bt.index)
                  and s.members_are == base.members_are)
        how = "paired by seed and posterior draw (5-95%)" if base.members_are == "posterior draws" \
            else "paired by seed (5-95%)"
        for h in heads:
            name, label = h.name, h.label
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
                         "method": how if paired else "difference of means (bootstrap 5-95%)"})
    return pd.DataFrame(rows)


def plot_differences(scs: list[Scenario], base: Scenario, diff: pd.DataFrame, heads: list[Headline]) -> Figure:
    others = [s for s in scs if s is not base]
    fig = Figure(figsize=(13, 6))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    names = [h.name for h in heads]
    labels = [h.label for h in heads]
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
    ax.set_xlabel("difference from baseline (% of the baseline mean)")
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
