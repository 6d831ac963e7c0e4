"""Reading run and sweep folders into the small tables the comparison figures need.

Inputs: a run folder (``migsim run``: timeseries.parquet, summary.json, legs.parquet) is
one scenario whose members are its seeds; a sweep folder (``migsim sweep``) gives one
scenario per combination of the factors that vary (or of ``--group-by`` columns), whose
members are its runs. Series are read one run at a time and reduced at once
(``sim.outcomes.table``), so memory does not grow with the size of a sweep. The
headline windows (a fiscal year for encounters, a calendar year for Darién crossings)
are the latest ones every scenario's period covers, so scenarios are compared over the
same days.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.errors import InputError
from sim.outcomes.metrics import BY_NAME
from sim.outcomes.table import RunTable
from sim.outcomes.windows import Window, calendar_years_in, fiscal_years_in

PERIOD_TOTALS = ("deaths", "removals", "expulsions", "released_us")
MAX_SCENARIOS = 8


@dataclass(frozen=True)
class Headline:
    """A headline outcome: a metric over a window (None: the whole period)."""

    name: str
    metric: str
    window: Window | None
    label: str


def headlines(periods: list[tuple[dt.date, dt.date]]) -> list[Headline]:
    """Encounters over the latest fiscal year and Darién crossings over the latest
    calendar year that every period covers, then period totals."""
    start, end = max(p[0] for p in periods), min(p[1] for p in periods)
    out = []
    fys = fiscal_years_in(start, end)
    if fys:
        out.append(Headline(f"encounters_{fys[-1].label.lower()}", "encounters", fys[-1],
                            f"{BY_NAME['encounters'].label}, {fys[-1].label}"))
    cys = calendar_years_in(start, end)
    if cys:
        out.append(Headline(f"darien_{cys[-1].label}", "darien_crossings", cys[-1],
                            f"{BY_NAME['darien_crossings'].label}, {cys[-1].label}"))
    return out + [Headline(m, m, None, f"{BY_NAME[m].label}, period") for m in PERIOD_TOTALS]


@dataclass
class Scenario:
    label: str
    source: str  # folder
    observed: Path | None
    nodes: Path | None
    edges: Path | None
    monthly: list = field(default_factory=list)  # frames member, metric, month, value
    by_cit: list = field(default_factory=list)  # member, nationality, value (encounters, headline fiscal year)
    places: list = field(default_factory=list)  # member, metric, place, value (period totals)
    totals: list = field(default_factory=list)  # member, name, value
    members: list = field(default_factory=list)  # member keys (seed for pairing)
    # what a member is: "seeds" at the estimate, or "posterior draws" (each with its own
    # seed: the bands then hold the parameters' uncertainty, not only the dice's)
    members_are: str = "seeds"
    scales: set = field(default_factory=set)  # departures.scale of the members (counts are divided by it)

    def frame(self, name: str) -> pd.DataFrame:
        parts = getattr(self, name)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _with_member(s: pd.Series, member, names: list[str]) -> pd.DataFrame:
    df = s.rename_axis(names).reset_index()
    df.insert(0, "member", member)
    return df


def reduce_member(sc: Scenario, ts: pd.DataFrame, member, heads: list[Headline], scale: float = 1.0) -> None:
    """Fold one member's daily rows into the small tables the plots need. Counts are
    divided by ``departures.scale`` so a 5% sample is drawn at full scale, next to the
    observed figures."""
    table = RunTable(ts)
    scale = scale or 1.0
    sc.scales.add(float(scale))
    mon = table.sum(("metric", "month"), metric=["encounters", "darien_crossings"], scale=scale)
    mon = _with_member(mon, member, ["metric", "month"])
    mon["month"] = pd.to_datetime(mon["month"])
    sc.monthly.append(mon)
    fy = next((h.window for h in heads if h.metric == "encounters" and h.window is not None), None)
    sc.by_cit.append(_with_member(table.sum(("nationality",), metric="encounters", window=fy, scale=scale),
                                  member, ["nationality"]))
    sc.places.append(_with_member(table.sum(("metric", "place"), scale=scale), member, ["metric", "place"]))
    rows = [(member, h.name, table.sum(metric=h.metric, window=h.window, scale=scale)) for h in heads]
    sc.totals.append(pd.DataFrame(rows, columns=["member", "name", "value"]))
    sc.members.append(member)


def _legs_rows(legs: pd.DataFrame, member, scale: float) -> pd.DataFrame:
    flows = legs.groupby(["from", "to"])["persons"].sum().reset_index()
    return pd.DataFrame({"member": member, "metric": "leg_entries", "place": flows["from"] + ">" + flows["to"],
                         "value": flows["persons"] / (scale or 1.0)})


def _scenario_files(scenario_file: str | None) -> tuple[Path | None, Path | None, Path | None, float]:
    if not scenario_file:
        return None, None, None, 1.0
    try:
        from sim.scenario.files import read_raw

        raw = read_raw(scenario_file)
        net = raw.get("network", {})
        obs = raw.get("observed")
        return (Path(obs) if obs else None, Path(net["nodes"]) if net.get("nodes") else None,
                Path(net["edges"]) if net.get("edges") else None,
                float((raw.get("departures") or {}).get("scale", 1.0)))
    except Exception:
        return None, None, None, 1.0


def _period(d: dict) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(d["start"]), dt.date.fromisoformat(d["end"])


class RunSource:
    """A run folder: one scenario, one member per seed."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").is_file() else {}
        if "period" in self.summary:
            self.period = _period(self.summary["period"])
        else:
            dates = pd.read_parquet(folder / "timeseries.parquet", columns=["date"])["date"]
            self.period = (min(dates), max(dates)) if len(dates) else (dt.date.min, dt.date.max)

    def scenarios(self, heads: list[Headline]) -> list[Scenario]:
        folder = self.folder
        obs, nodes, edges, scale = _scenario_files(self.summary.get("scenario_file"))
        sc = Scenario(self.summary.get("scenario", folder.name), str(folder), obs, nodes, edges)
        if self.summary.get("posterior_draws"):
            sc.members_are = "posterior draws"
        ts = pd.read_parquet(folder / "timeseries.parquet", columns=["date", "metric", "nationality", "place", "seed", "value"])
        for seed, part in ts.groupby("seed"):
            reduce_member(sc, part, int(seed), heads, scale)
        if (folder / "legs.parquet").is_file():  # people who started each leg (written by migsim run)
            legs = pd.read_parquet(folder / "legs.parquet")
            for seed, part in legs.groupby("seed"):
                sc.places.append(_legs_rows(part, int(seed), scale))
        return [sc]


class SweepSource:
    """A sweep folder: one scenario per combination of the factors that vary."""

    def __init__(self, folder: Path, group_by: list[str] | None):
        self.folder = folder
        self.meta = meta = json.loads((folder / "sweep.json").read_text())
        self.period = _period(meta["period"])
        runs = pd.read_parquet(folder / "runs.parquet")
        self.runs = runs[runs["status"] == "ok"]
        if self.runs.empty:
            raise InputError(folder / "runs.parquet", "status", "no finished run in this sweep")
        factors = list(meta["parameters"]) + list(meta["switches"])
        if group_by:
            bad = [c for c in group_by if c not in factors]
            if bad:
                raise InputError(folder / "sweep.json", "--group-by", f"not a factor of this sweep: {bad} (factors: {factors})")
            self.cols = group_by
        else:
            self.cols = [c for c in factors if self.runs[c].nunique(dropna=False) > 1]

    def scenarios(self, heads: list[Headline]) -> list[Scenario]:
        folder, meta, cols = self.folder, self.meta, self.cols
        obs = Path(meta["observed"]) if meta.get("observed") else None
        nodes = Path(meta["network"]["nodes"]) if meta.get("network") else None
        edges = Path(meta["network"]["edges"]) if meta.get("network") else None
        groups = self.runs.groupby(cols, sort=False, dropna=False) if cols else [((), self.runs)]
        scale_col = next((p["name"] for p in meta["spec"]["parameters"] if p["path"] == "departures.scale"), None)
        base_scale = float(meta.get("departures_scale") or meta["spec"].get("fixed", {}).get("departures.scale", 1.0))
        out = []
        for key, g in groups:
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{c}={_fmt(v)}" for c, v in zip(cols, key)) or meta["name"]
            sc = Scenario(label if not cols else f"{meta['name']}: {label}", str(folder), obs, nodes, edges)
            if meta["spec"].get("posterior_draws"):
                sc.members_are = "posterior draws"
            one_per_seed = g["seed"].is_unique
            for r in g.itertuples(index=False):
                f = folder / "series" / f"run_id={r.run_id}" / "part.parquet"
                if not f.is_file():
                    continue
                member = int(r.seed) if one_per_seed else r.run_id
                ts = pd.read_parquet(f, columns=["date", "metric", "nationality", "place", "value"])
                scale = float(getattr(r, scale_col)) if scale_col else base_scale
                reduce_member(sc, ts, member, heads, scale)
                legs = folder / "legs" / f"run_id={r.run_id}" / "part.parquet"
                if legs.is_file():  # sweeps store leg flows too (older sweeps did not)
                    sc.places.append(_legs_rows(pd.read_parquet(legs), member, scale))
            if sc.members:
                out.append(sc)
        if not out:
            raise InputError(folder / "series", "", "no stored series in this sweep (series.store: false?)")
        return out


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def load(paths: list[Path], group_by: list[str] | None = None) -> tuple[list[Scenario], list[Headline]]:
    """The scenarios of run and sweep folders, and the headline outcomes they share."""
    sources = []
    for p in paths:
        p = Path(p)
        if (p / "sweep.json").is_file():
            sources.append(SweepSource(p, group_by))
        elif (p / "timeseries.parquet").is_file():
            sources.append(RunSource(p))
        else:
            raise InputError(p, "", "neither a run folder (timeseries.parquet) nor a sweep folder (sweep.json)")
    heads = headlines([s.period for s in sources])
    scs: list[Scenario] = [sc for s in sources for sc in s.scenarios(heads)]
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
    return scs, heads
