"""The history at the estimate in force against figures the estimation never saw
(calibration/targets/checks_not_fitted.csv): DHS's count of people repatriated under Title
8 in the three weeks after Title 42 ended, and Honduras's count of irregular entries from
Nicaragua in June and July 2023. Neither is a target, so agreement is evidence the
mechanisms (who is removed; which way people go through Central America) hold outside
what was fitted, and disagreement says where they do not.

    PYTHONPATH=. python calibration/diagnostics/not_fitted.py [--scale 0.2] [--seeds 1 2]

What is counted in the model:
- repatriations: the ``removals`` and ``expulsions`` metrics at the US border areas (not
  Panama's flights or Mexico's interdictions) between the fact's start and end;
- irregular entries into Honduras: the ``country_entries`` metric at places in Honduras
  (every leg into Honduras starts in Nicaragua), without Nicaraguans, Hondurans, Guatemalans and Salvadorans, who move
  freely within the CA-4 area and whom Honduras does not count as irregular.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "history_fy2022_fy2023.yaml"
FACTS = ROOT / "calibration" / "targets" / "checks_not_fitted.csv"
CA4 = ("NICARAGUA", "HONDURAS", "GUATEMALA", "EL SALVADOR")


def run_one(scale: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run of the history: its timeseries, and people entering Honduras (by day and
    citizenship, CA-4 citizens left out; every leg into Honduras starts in Nicaragua)."""
    from sim.scenario.files import read_raw, validate_raw
    from sim.scenario.inputs import Inputs
    from sim.studies.runner import simulate

    raw = read_raw(SCENARIO)
    raw["departures"]["scale"] = scale
    inputs = Inputs.load(SCENARIO, validate_raw(raw, SCENARIO))
    net = inputs.network
    country = dict(zip(net.ids, net.nodes["country"]))
    into = {net.ids[net.dst[e]] for e in range(net.n_edges)
            if country[net.ids[net.dst[e]]] == "Honduras" != country[net.ids[net.src[e]]]}
    assert all(country[net.ids[net.src[e]]] == "Nicaragua" for e in range(net.n_edges)
               if net.ids[net.dst[e]] in into and country[net.ids[net.src[e]]] != "Honduras")
    ts = simulate(inputs, seed).timeseries
    hon = ts[(ts["metric"] == "country_entries") & ts["place"].isin(into) & ~ts["nationality"].isin(CA4)]
    hon = hon.pivot_table(index=pd.to_datetime(hon["date"]), columns="nationality", values="value",
                          aggfunc="sum").fillna(0.0) / scale
    return ts, hon


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    facts = pd.read_csv(FACTS, parse_dates=["start", "end"])
    sims = [run_one(a.scale, s) for s in a.seeds]
    out = []
    for _, f in facts.iterrows():
        vals = []
        for ts, hon in sims:
            if f["fact"].startswith("DHS repatriations"):
                d = pd.to_datetime(ts["date"])
                areas = ts["place"].isin(set(ts.loc[ts["metric"] == "encounters", "place"]))
                sel = ts["metric"].isin(["removals", "expulsions"]) & areas & d.between(f["start"], f["end"])
                vals.append(ts.loc[sel, "value"].sum() / a.scale)
            else:
                vals.append(hon.loc[f["start"]:f["end"]].to_numpy().sum())
        sim = float(np.mean(vals))
        out.append({"fact": f["fact"], "period": f"{f['start']:%Y-%m-%d}..{f['end']:%Y-%m-%d}",
                    "observed": int(f["value"]), "simulated": round(sim), "sim/obs": round(sim / f["value"], 2)})
    print(f"history at the estimate in force ({SCENARIO.relative_to(ROOT)}), scale {a.scale}, seeds {a.seeds}")
    print(pd.DataFrame(out).to_string(index=False))
    hon = sum(h for _, h in sims) / len(sims)
    by_month = hon.groupby(hon.index.to_period("M")).sum().loc["2023-01":"2023-09"] / 1000
    by_month = by_month.loc[:, by_month.sum() > 0.5]
    print("\nsimulated entries into Honduras from Nicaragua by citizenship, thousands")
    print(by_month.round(1).to_string())


if __name__ == "__main__":
    main()
