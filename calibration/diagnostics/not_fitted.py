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
- irregular entries into Honduras: people starting a leg from a place in Nicaragua to one
  in Honduras, without Nicaraguans, Hondurans, Guatemalans and Salvadorans, who move
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
    """One run of the history: its timeseries, and people entering Honduras from
    Nicaragua by day (CA-4 citizens left out)."""
    from sim.citizenship import CITIZENSHIPS, CODE
    from sim.engine.model import RouteModel
    from sim.scenario.files import read_raw, validate_raw
    from sim.scenario.inputs import Inputs

    raw = read_raw(SCENARIO)
    raw["departures"]["scale"] = scale
    inputs = Inputs.load(SCENARIO, validate_raw(raw, SCENARIO))
    model = RouteModel(inputs, seed)
    net = model.network
    country = net.nodes["country"].to_numpy()
    legs = np.flatnonzero((country[net.src] == "Nicaragua") & (country[net.dst] == "Honduras"))
    legs = np.concatenate([legs] + [[c] for e, c in net.holder_edges.items() if e in set(legs)])
    keep = np.ones(model.books.legs.shape[0], bool)
    keep[[CODE[c] for c in CA4]] = False
    rows, last = [], np.zeros(len(CITIZENSHIPS))

    def on_day(t: int) -> None:
        nonlocal last
        now = np.where(keep, model.books.legs[:, legs].sum(axis=1), 0)
        rows.append(pd.Series((now - last) / scale, index=CITIZENSHIPS, name=inputs.dates[t - 1]))
        last = now

    model.run(on_day=on_day)
    return model.timeseries(), pd.DataFrame(rows)


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
                vals.append(hon.loc[pd.to_datetime(hon.index).to_series().between(f["start"], f["end"]).to_numpy()]
                            .to_numpy().sum())
        sim = float(np.mean(vals))
        out.append({"fact": f["fact"], "period": f"{f['start']:%Y-%m-%d}..{f['end']:%Y-%m-%d}",
                    "observed": int(f["value"]), "simulated": round(sim), "sim/obs": round(sim / f["value"], 2)})
    print(f"history at the estimate in force ({SCENARIO.relative_to(ROOT)}), scale {a.scale}, seeds {a.seeds}")
    print(pd.DataFrame(out).to_string(index=False))
    hon = sum(h for _, h in sims) / len(sims)
    by_month = hon.groupby(pd.to_datetime(hon.index).to_period("M")).sum().loc["2023-01":"2023-09"] / 1000
    by_month = by_month.loc[:, by_month.sum() > 0.5]
    print("\nsimulated entries into Honduras from Nicaragua by citizenship, thousands")
    print(by_month.round(1).to_string())


if __name__ == "__main__":
    main()
