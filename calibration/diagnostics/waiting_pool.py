"""Would a pool of people held back at home (behaviour.waiting) make the rebounds?

The estimated model is a flow: of each day's potential departures the response lets a
share go and the rest never go. The rebounds of the data (Venezuelans over the Darién
after Mexico's visa, E1; encounters after Title 42's end, E5) and the Cubans' rise once
Nicaragua dropped its visa (E2) look like a held-back population leaving once the way
opens. This probe runs the history at its estimate as written and with a pool at the
rates given, and prints the natural experiments' ratios, the monthly Pearson and the
fiscal-year totals. The levels are not re-solved (a pool adds departures, so the totals
move; the ratios and the Pearson do not depend on the scale), and nothing is
re-estimated: it says whether the next estimation should carry the two rates.

    PYTHONPATH=. python calibration/diagnostics/waiting_pool.py [--pools 0.02,0.01 0.05,0.005] [--scale 0.05]

The history as written carries the estimated rates; the row "leave 0.0, settle 0.0" is
the same history without a pool.

The observed row (calibration/targets, the figures the estimation is judged on) is
printed for comparison only; nothing here is fitted to it.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import pandas as pd
from in_force import inputs_of, scenario_at

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "history_fy2022_fy2023.yaml"
OBSERVED = ROOT / "calibration" / "targets" / "cbp_encounters_by_month_citizenship.csv"
CHNV = ["CUBA", "HAITI", "NICARAGUA"]


def observed() -> pd.DataFrame:
    obs = pd.read_csv(OBSERVED)
    return obs.pivot_table(index=pd.PeriodIndex(obs["month"], freq="M"), columns="citizenship",
                           values="encounters", aggfunc="sum").fillna(0.0)


def simulated(raw: dict, seed: int, scale: float) -> pd.DataFrame:
    from sim.studies.runner import simulate

    ts = simulate(inputs_of(raw, SCENARIO), seed).timeseries
    e = ts[ts["metric"] == "encounters"]
    month = pd.to_datetime(e["date"]).dt.to_period("M")
    return e.pivot_table(index=month, columns="nationality", values="value", aggfunc="sum").fillna(0.0) / scale


def summary(t: pd.DataFrame, obs_total: pd.Series) -> dict:
    def at(series, month):
        return float(series.loc[pd.Period(month, "M")])

    v, c, chnv = t["VENEZUELA"], t["CUBA"], t[CHNV].sum(axis=1)
    total = t.sum(axis=1).loc["2021-10":"2023-09"]
    return {
        "E1 fall": at(v, "2022-02") / at(v, "2022-01"), "E1 rebound": at(v, "2022-09") / at(v, "2022-02"),
        "E2 rise": at(c, "2022-04") / at(c, "2021-11"), "E3 fall": at(v, "2022-11") / at(v, "2022-09"),
        "E4 fall": at(chnv, "2023-02") / at(chnv, "2022-12"), "E5 fall": at(total, "2023-06") / at(total, "2023-04"),
        "E5 rebound": at(total, "2023-09") / at(total, "2023-06"),
        "Pearson": float(np.corrcoef(total.to_numpy(), obs_total.to_numpy())[0, 1]),
        "FY2022 M": total.loc["2021-10":"2022-09"].sum() / 1e6, "FY2023 M": total.loc["2022-10":"2023-09"].sum() / 1e6,
    }


def history_at(scale: float) -> tuple[dict, pd.DataFrame, pd.Series]:
    """The history (estimate merged in) at ``scale``, the observed encounters by month and
    citizenship, and their monthly totals over the 24 months."""
    raw = scenario_at(scale, SCENARIO)
    obs = observed()
    return raw, obs, obs.sum(axis=1).loc["2021-10":"2023-09"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pools", nargs="+", default=["0.02,0.01", "0.05,0.005"],
                    help="leave_rate,settle_rate pairs (a day's shares)")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    raw, obs, obs_total = history_at(a.scale)
    pool = raw.get("behaviour", {}).get("waiting", {})
    written = f"as written (leave {pool.get('leave_rate', 0.0):.3g}, settle {pool.get('settle_rate', 0.0):.3g})"
    rows = {"observed": summary(obs, obs_total), written: summary(simulated(copy.deepcopy(raw), a.seed, a.scale), obs_total)}
    for pair in ["0,0", *a.pools]:
        leave, settle = (float(x) for x in pair.split(","))
        r = copy.deepcopy(raw)
        r.setdefault("behaviour", {})["waiting"] = {"leave_rate": leave, "settle_rate": settle}
        rows[f"leave {leave}, settle {settle}"] = summary(simulated(r, a.seed, a.scale), obs_total)
    print(f"history at its estimate, scale {a.scale}, seed {a.seed}; levels not re-solved")
    print(pd.DataFrame(rows).T.round(3).to_string())


if __name__ == "__main__":
    main()
