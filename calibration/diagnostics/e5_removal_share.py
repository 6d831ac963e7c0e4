"""Which assumption holds the simulated encounters down after Title 42 ends (the E5 miss)?

The history scenario's Circumvention of Lawful Pathways lever (2023-05-12) sets Title 8
removal shares by citizenship: stated assumptions ("six times the earlier ones"), not
estimated and with no data in the project. This probe runs the FY2023 baseline with
those shares as written, and with every entry but Mexico's multiplied by a factor, and
prints the simulated encounters of March-September 2023 (thousands, at full scale). It
changes nothing in the model; it says where the next estimation should look.

    PYTHONPATH=. python calibration/diagnostics/e5_removal_share.py [--scale 0.2] [--seed 1] [--factors 0.5 0.2]

The observed row (calibration/targets, the figures the estimation is judged on) is
printed for the shape only; nothing here is fitted to it.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import pandas as pd
from in_force import inputs_of, scenario_at

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "baseline_fy2023.yaml"
RULE = "E5 Circumvention of Lawful Pathways rule"
OBSERVED = ROOT / "calibration" / "targets" / "cbp_encounters_by_month_citizenship.csv"


def observed_monthly() -> pd.Series:
    obs = pd.read_csv(OBSERVED)
    m = obs.groupby(pd.PeriodIndex(obs["month"], freq="M"))["encounters"].sum()
    return (m / 1000).round().loc["2023-03":"2023-09"]


def monthly_encounters(raw: dict, seed: int, scale: float) -> pd.Series:
    from sim.studies.runner import simulate

    inp = inputs_of(raw, SCENARIO)
    ts = simulate(inp, seed).timeseries
    e = ts[ts["metric"] == "encounters"]
    month = pd.to_datetime(e["date"]).dt.to_period("M")
    return (e.groupby(month)["value"].sum() / scale / 1000).round().loc["2023-03":"2023-09"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--factors", type=float, nargs="+", default=[0.5, 0.2])
    a = ap.parse_args()
    raw = scenario_at(a.scale, SCENARIO)
    rows = {"observed": observed_monthly(), "as written": monthly_encounters(copy.deepcopy(raw), a.seed, a.scale)}
    for f in a.factors:
        r = copy.deepcopy(raw)
        rule = next(lv for lv in r["policies"] if lv.get("label") == RULE)
        rule["removal_share"] = {k: v if k == "MEXICO" else v * f for k, v in rule["removal_share"].items()}
        rows[f"shares x{f:g} (not Mexico)"] = monthly_encounters(r, a.seed, a.scale)
    table = pd.DataFrame(rows).T
    table.columns = [str(c) for c in table.columns]
    print(f"Simulated encounters (thousands, full scale; scale {a.scale:g}, seed {a.seed}):")
    print(table.to_string())


if __name__ == "__main__":
    main()
