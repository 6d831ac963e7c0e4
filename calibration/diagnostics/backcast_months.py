"""Where does the backcast miss FY2022? Its months split by citizenship.

The backcast (``migsim calibrate calibration/backcast_fy2023.yaml --no-mask``) estimates
on FY2023 alone and simulates FY2022 with its own levers; its report gives the monthly
totals only. This probe reads the backcast's estimate run (written by that command under
``results/calibrate_backcast_fy2023/estimate_run``), puts it on CBP's scale by the ratio
of simulated to observed FY2023 encounters (the fitted year), and prints, for each month
of FY2022, the simulated and observed encounters of the citizenships given and of all
others. Reading only: nothing is run or fitted.

    PYTHONPATH=. python calibration/diagnostics/backcast_months.py [--citizenships VENEZUELA CUBA]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "results" / "calibrate_backcast_fy2023" / "estimate_run" / "timeseries.parquet"
OBSERVED = ROOT / "calibration" / "targets" / "cbp_encounters_by_month_citizenship.csv"


def by_month(frame: pd.DataFrame, month: str, nationality: str, value: str) -> pd.DataFrame:
    index = pd.PeriodIndex(frame[month], freq="M")
    return frame.pivot_table(index=index, columns=nationality, values=value, aggfunc="sum").fillna(0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--citizenships", nargs="+", default=["VENEZUELA"])
    ap.add_argument("--run", type=Path, default=RUN, help="timeseries.parquet of the backcast's estimate run")
    a = ap.parse_args()
    if not a.run.exists():
        raise SystemExit(f"{a.run}: not found; run `migsim calibrate calibration/backcast_fy2023.yaml --no-mask` first")
    ts = pd.read_parquet(a.run)
    ts = ts[ts["metric"] == "encounters"].assign(month=lambda d: pd.to_datetime(d["date"]).dt.to_period("M"))
    sim = by_month(ts.assign(month=ts["month"].astype(str)), "month", "nationality", "value")
    obs = by_month(pd.read_csv(OBSERVED), "month", "citizenship", "encounters")
    ratio = sim.loc["2022-10":"2023-09"].to_numpy().sum() / obs.loc["2022-10":"2023-09"].to_numpy().sum()
    sim = sim / ratio
    rows = {}
    for m in obs.loc["2021-10":"2022-09"].index:
        row = {}
        for c in a.citizenships:
            row[f"{c} sim"], row[f"{c} obs"] = sim.loc[m].get(c, 0.0), obs.loc[m].get(c, 0.0)
        row["others sim"] = sim.loc[m].sum() - sum(sim.loc[m].get(c, 0.0) for c in a.citizenships)
        row["others obs"] = obs.loc[m].sum() - sum(obs.loc[m].get(c, 0.0) for c in a.citizenships)
        rows[str(m)] = row
    print(f"backcast estimate run put on CBP's scale by FY2023 (simulated / observed = {ratio:.3f}); thousands:")
    print((pd.DataFrame(rows).T / 1000).round(1).to_string())


if __name__ == "__main__":
    main()
