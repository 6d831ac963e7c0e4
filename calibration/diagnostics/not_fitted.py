"""The history at the estimate in force against figures the estimation never saw
(calibration/targets/checks_not_fitted.csv, read by sim/studies/calibration/not_fitted.py,
which `migsim calibrate` also reports): DHS's count of people repatriated under Title 8
in the three weeks after Title 42 ended, and Honduras's count of irregular entries from
Nicaragua in June and July 2023; and the simulated entries into Honduras by month and
citizenship, to see who makes a gap.

    PYTHONPATH=. python calibration/diagnostics/not_fitted.py [--scale 0.2] [--seeds 1 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from in_force import inputs_of, scenario_at

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "history_fy2022_fy2023.yaml"
TARGETS = ROOT / "calibration" / "targets"


def main() -> None:
    from sim.studies.calibration.not_fitted import measure_all, read_checks
    from sim.studies.runner import simulate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    inputs = inputs_of(scenario_at(a.scale, SCENARIO), SCENARIO)
    runs = [simulate(inputs, s).timeseries for s in a.seeds]
    checks = read_checks(TARGETS)
    table = measure_all(checks, runs, inputs.network, a.scale)
    print(f"history at the estimate in force ({SCENARIO.relative_to(ROOT)}), scale {a.scale}, seeds {a.seeds}")
    print(table.drop(columns="source").round({"simulated": 0, "sim/obs": 2}).to_string(index=False))

    hon = next(c for c in checks if c.places == "country Honduras")
    where = hon.where(inputs.network)
    ts = pd.concat(runs)
    ts = ts[(ts["metric"] == "country_entries") & ts["place"].isin(where) & ~ts["nationality"].isin(hon.exclude)]
    by = ts.pivot_table(index=pd.to_datetime(ts["date"]).dt.to_period("M"), columns="nationality", values="value",
                        aggfunc="sum").fillna(0.0) / a.scale / len(runs) / 1000
    by = by.loc["2023-01":"2023-09"]
    print("\nsimulated entries into Honduras (CA-4 citizens left out) by citizenship, thousands")
    print(by.loc[:, by.sum() > 0.5].round(1).to_string())


if __name__ == "__main__":
    main()
