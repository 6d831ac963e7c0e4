"""The observed figures as summary statistics, the same statistics of a run, and distances.

Why together: a target and the reduction of a run that is compared with it must agree
on windows, labels and units; both are defined here, from the observed tables (read by
``sim.outcomes.observed``) and a run's table (reduced by ``sim.outcomes.table``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.citizenship import CITIZENSHIPS, CODE
from sim.errors import InputError
from sim.outcomes.observed import Observed
from sim.outcomes.table import RunTable
from sim.outcomes.windows import Window
from sim.studies.calibration.spec import Spec


class Targets:
    """The observed tables as the summary statistics the model is compared with."""

    def __init__(self, spec: Spec, base: Path, spec_path: Path):
        t = base / spec.targets
        f = spec.target_files
        self.spec = spec
        observed = Observed(t)

        def read(name, cols):
            d = observed.read(name, tuple(cols))
            if d is None:
                raise InputError(t / name, "", "file not found")
            return d

        cit = read(f.by_citizenship, ["citizenship", "encounters"])
        for c in cit["citizenship"]:
            if c not in CODE:
                raise InputError(t / f.by_citizenship, "citizenship", f"unknown citizenship {c!r}")
        self.citizenships = list(cit["citizenship"])
        mon = read(f.by_month, ["month", "encounters"])
        self.months = [str(pd.Period(m, freq="M")) for m in mon["month"]]
        area = read(f.by_area, ["area", "component", "encounters"])
        self.areas = list(area["area"])
        self.area_component = dict(zip(area["area"], area["component"]))
        self.components = sorted(set(area["component"]))
        comp = area.groupby("component")["encounters"].sum().reindex(self.components)
        dm = read(f.darien_monthly, ["month", "crossings"])
        self.darien_months = [str(pd.Period(m, freq="M")) for m in dm["month"]]
        dn = read(f.darien_by_nationality, ["nationality", "period", "crossings"])
        periods = list(dict.fromkeys(dn["period"]))
        full = [p for p in periods if "full" in p.lower()]
        part = [p for p in periods if p not in full]
        self.full_period = full[0] if full else None
        self.part_period = part[0] if part else None
        nmap = spec.darien_nationality_map

        def block(period):
            if period is None:
                return [], np.zeros(0), None
            d = dn[dn["period"] == period]
            tot = d.loc[d["nationality"] == "TOTAL", "crossings"]
            d = d[d["nationality"] != "TOTAL"]
            groups: dict[str, float] = {}
            for n, v in zip(d["nationality"], d["crossings"]):
                g = self.darien_group(n, nmap, observed=True)
                groups[g] = groups.get(g, 0.0) + float(v)
            return list(groups), np.array(list(groups.values())), (float(tot.iloc[0]) if len(tot) else None)

        self.dar_full_labels, dar_full, full_total = block(self.full_period)
        self.dar_part_labels, dar_part, _ = block(self.part_period)
        self.darien_total = full_total if full_total is not None else float(dm["crossings"].sum())
        self.stats = {
            "enc_citizenship": cit["encounters"].to_numpy(float),
            "enc_month": mon["encounters"].to_numpy(float),
            "enc_area": area["encounters"].to_numpy(float),
            "enc_component": comp.to_numpy(float),
            "darien_month": dm["crossings"].to_numpy(float),
            "darien_full": dar_full.astype(float),
            "darien_part": dar_part.astype(float),
            "darien_total": np.array([self.darien_total]),
        }
        self.holdout = None
        if f.holdout_citizenship_area:
            self.holdout = read(f.holdout_citizenship_area, ["citizenship", "area", "encounters"])

    def darien_group(self, label: str, nmap: dict, observed: bool = False) -> str:
        """Panama's label for a model citizenship (or a Panama label itself)."""
        if not observed:
            label = nmap.get(label, label)
        return label if (label in CODE or not observed) else "OTHER"

    # ------------------------------------------------------------------ from a run
    def summarize(self, ts: pd.DataFrame, scale: float) -> dict[str, np.ndarray]:
        """Summary statistics of one run's timeseries (counts scaled by 1/scale)."""
        w = self.spec.windows
        table = RunTable(ts)
        enc_w = Window(*w.encounters, "encounters")
        k = 1.0 / scale
        by_cit = table.sum(("nationality",), metric="encounters", window=enc_w)
        by_mon = table.sum(("month",), metric="encounters", window=enc_w)
        by_mon.index = by_mon.index.astype(str)
        by_area = table.sum(("place",), metric="encounters", window=enc_w)
        comp = pd.Series(self.area_component).reindex(by_area.index)
        by_comp = by_area.groupby(comp).sum().reindex(self.components, fill_value=0)
        dm = table.sum(("month",), metric="darien_crossings")
        dm.index = dm.index.astype(str)
        full_w, part_w = Window(*w.darien, "darien"), Window(*w.darien_partial, "darien partial")
        full = table.sum(("nationality",), metric="darien_crossings", window=full_w)
        part = table.sum(("nationality",), metric="darien_crossings", window=part_w)
        nmap = self.spec.darien_nationality_map
        out = {
            "enc_citizenship": by_cit.reindex(self.citizenships, fill_value=0).to_numpy(float) * k,
            "enc_month": by_mon.reindex(self.months, fill_value=0).to_numpy(float) * k,
            "enc_area": by_area.reindex(self.areas, fill_value=0).to_numpy(float) * k,
            "enc_component": by_comp.to_numpy(float) * k,
            "darien_month": dm.reindex(self.darien_months, fill_value=0).to_numpy(float) * k,
            "darien_total": np.array([full.sum() * k], float),
        }
        fg = full.groupby(full.index.map(lambda c: nmap.get(c, c))).sum() * k
        pg = part.groupby(part.index.map(lambda c: nmap.get(c, c))).sum() * k
        # model labels not named in Panama's Jan-Aug table fall into its OTHER
        pg_named = pg.reindex([l for l in self.dar_part_labels if l != "OTHER"], fill_value=0)
        other = pg.sum() - pg_named.sum()
        part_vals = [other if l == "OTHER" else pg_named.get(l, 0.0) for l in self.dar_part_labels]
        out["darien_full"] = fg.reindex(self.dar_full_labels, fill_value=0).to_numpy(float)
        out["darien_part"] = np.array(part_vals, float)
        # every named model group, for the top-four check (OTHER is not a nationality)
        named = fg.drop("OTHER", errors="ignore").sort_values(ascending=False)
        out["darien_ranked"] = np.array([CODE.get(l, -1) for l in named.index[:8]] + [-1] * (8 - min(8, len(named))), float)
        out["darien_ranked_values"] = np.r_[named.to_numpy(float)[:8], np.zeros(8 - min(8, len(named)))]
        if self.holdout is not None:
            ca = table.sum(("nationality", "place"), metric="encounters", window=enc_w) * k
            idx = pd.MultiIndex.from_frame(self.holdout[["citizenship", "area"]])
            out["holdout_cit_area"] = ca.reindex(idx, fill_value=0).to_numpy(float)
        return out


# ====================================================================== distance
def rel_l1(sim: np.ndarray, obs: np.ndarray) -> float:
    """Flee's relative difference: sum |sim - obs| / sum obs."""
    sim, obs = np.asarray(sim, float), np.asarray(obs, float)
    s = np.abs(obs).sum()
    return float(np.abs(sim - obs).sum() / s) if s > 0 else float(np.abs(sim).sum() > 0)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return 0.0
    return float(spearmanr(a, b).statistic)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


class FitDistance:
    """Weighted sum of target-family distances (picklable; pyabc calls it as d(x, x0))."""

    def __init__(self, weights: dict[str, float], relative_min: float = 10_000.0):
        self.weights = {k: float(v) for k, v in weights.items() if v > 0}
        self.relative_min = relative_min

    def families(self, x: dict, x0: dict) -> dict[str, float]:
        f = {}
        ce, co = x["enc_citizenship"], x0["enc_citizenship"]
        f["enc_total"] = abs(ce.sum() - co.sum()) / co.sum()
        f["enc_citizenship"] = rel_l1(ce, co)
        big = co >= self.relative_min
        f["enc_citizenship_relative"] = float(np.mean(np.abs(ce[big] - co[big]) / co[big])) if big.any() else 0.0
        f["enc_month"] = rel_l1(x["enc_month"], x0["enc_month"])
        f["enc_area"] = rel_l1(x["enc_area"], x0["enc_area"])
        f["enc_component"] = rel_l1(x["enc_component"], x0["enc_component"])
        f["darien_total"] = abs(x["darien_total"][0] - x0["darien_total"][0]) / x0["darien_total"][0]
        f["darien_month"] = rel_l1(x["darien_month"], x0["darien_month"])
        parts = [rel_l1(x[k], x0[k]) for k in ("darien_full", "darien_part") if len(x0[k])]
        f["darien_nationality"] = float(np.mean(parts)) if parts else 0.0
        f["rank_citizenship"] = 1.0 - spearman(ce, co)
        ranks = [1.0 - spearman(x[k], x0[k]) for k in ("darien_full", "darien_part") if len(x0[k]) >= 2]
        f["rank_darien"] = float(np.mean(ranks)) if ranks else 0.0
        return f

    def __call__(self, x: dict, x0: dict, *args, **kwargs) -> float:
        f = self.families(x, x0)
        return float(sum(w * f[k] for k, w in self.weights.items()))


def criteria(spec: Spec, obs: Targets, mean: dict) -> list[dict]:
    """Acceptance checks on the mean summary statistics of several seeds."""
    acc, o = spec.acceptance, obs.stats
    rows = []

    def add(name, value, target, ok, fmt="{:.3f}"):
        rows.append({"criterion": name, "value": fmt.format(value) if isinstance(value, float) else str(value),
                     "target": target, "ok": bool(ok)})

    tot, tobs = mean["enc_citizenship"].sum(), o["enc_citizenship"].sum()
    add("Encounters, total", f"{tot:,.0f} ({tot / tobs - 1:+.1%})", f"{tobs:,.0f} ± {acc.total_rel:.0%}",
        abs(tot / tobs - 1) <= acc.total_rel)
    for c, r in acc.named_rel.items():
        if c in obs.citizenships:
            i = obs.citizenships.index(c)
            v, ob = mean["enc_citizenship"][i], o["enc_citizenship"][i]
            add(f"Encounters, {c}", f"{v:,.0f} ({v / ob - 1:+.1%})", f"{ob:,.0f} ± {r:.0%}", abs(v / ob - 1) <= r)
    l1 = rel_l1(mean["enc_citizenship"], o["enc_citizenship"])
    add("By citizenship: sum|sim-obs|/sum obs", l1, f"≤ {acc.citizenship_l1}", l1 <= acc.citizenship_l1)
    sp = spearman(mean["enc_citizenship"], o["enc_citizenship"])
    add(f"By citizenship: Spearman ({len(obs.citizenships)})", sp, f"≥ {acc.citizenship_spearman}", sp >= acc.citizenship_spearman)
    pm = pearson(mean["enc_month"], o["enc_month"])
    add("By month: Pearson", pm, f"≥ {acc.month_pearson}", pm >= acc.month_pearson)
    lm = rel_l1(mean["enc_month"], o["enc_month"])
    add("By month: sum|sim-obs|/sum obs", lm, f"≤ {acc.month_l1}", lm <= acc.month_l1)
    dtot, dobs = mean["darien_total"][0], o["darien_total"][0]
    add("Darién 2023 total", f"{dtot:,.0f} ({dtot / dobs - 1:+.1%})", f"{dobs:,.0f} ± {acc.darien_total_rel:.0%}",
        abs(dtot / dobs - 1) <= acc.darien_total_rel)
    dp = pearson(mean["darien_month"], o["darien_month"])
    add("Darién by month: Pearson", dp, f"≥ {acc.darien_month_pearson}", dp >= acc.darien_month_pearson)
    ranked = sorted(((v, c) for c, v in mean["darien_named"].items()), reverse=True)
    top = [c for _, c in ranked[: len(acc.darien_top)]]
    add("Darién top nationalities (order)", ", ".join(top), ", ".join(acc.darien_top), top == list(acc.darien_top))
    return rows


def mean_stats(runs: list[dict]) -> dict:
    keys = [k for k in runs[0] if k not in ("darien_ranked", "darien_ranked_values")]
    m = {k: np.mean([r[k] for r in runs], axis=0) for k in keys}
    named: dict[str, float] = {}
    for r in runs:
        for code, v in zip(r["darien_ranked"], r["darien_ranked_values"]):
            if code >= 0:
                c = CITIZENSHIPS[int(code)]
                named[c] = named.get(c, 0.0) + v / len(runs)
    m["darien_named"] = named
    return m


