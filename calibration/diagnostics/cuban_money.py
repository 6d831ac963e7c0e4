"""Why do so many Cubans cross the Darién? The cash they set out with, or the way's cost?

Panama counted 5,961 Cubans in the Darién in 2022 and about a thousand in January-August
2023, while the history at its estimate sends tens of thousands: Cubans fly to Managua
(visa-free from 2021-11-22) or to Guyana and go on overland through the Darién. The router
lets a party take only a leg it can pay for (sim/engine/routing.py), and a Cuban party's
cash is an assumption (lognormal, median USD 4,500, sigma 0.5: the history's
``departures.by_citizenship.CUBA.money``) against a Managua fare of USD 3,000 - so about
27% cannot pay the flight, and they take the Guyana way whatever its cost. This probe runs
the history with the Cubans' median cash multiplied by the factors given and prints, per
row, the share of Cubans leaving Cuba who fly to Guyana, their Darién crossings in 2022 and
January-August 2023, Cuban encounters in each fiscal year (levels not re-solved) and
China's rank at the Darién in January-August 2023. Nothing is re-estimated: it says
whether the next estimation should carry cash as a parameter (or the departure decision
should weigh whether the way one prefers is affordable).

    PYTHONPATH=. python calibration/diagnostics/cuban_money.py [--factors 1 1.5 2] [--scale 0.05]

The observed row (calibration/targets, the figures the estimation is judged on) is
printed for comparison only; nothing here is fitted to it.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import pandas as pd
from in_force import inputs_of, scenario_at

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "history_fy2022_fy2023.yaml"
TARGETS = ROOT / "calibration" / "targets"


def observed() -> dict:
    d = pd.read_csv(TARGETS / "darien_by_nationality.csv")
    e = pd.read_csv(TARGETS / "cbp_encounters_by_month_citizenship.csv")
    e = e[e["citizenship"] == "CUBA"]
    e = e.set_index(pd.PeriodIndex(e["month"], freq="M"))
    jan_aug = d[d["period"] == "2023 Jan-Aug"].set_index("nationality")["crossings"].drop("TOTAL", errors="ignore")
    return {
        "via Guyana": float("nan"),
        "Darién 2022": float(d.query("nationality == 'CUBA' and period == '2022 full year'")["crossings"].sum()),
        "Darién 2023 Jan-Aug": float(jan_aug.get("CUBA", 0)),
        "FY2022 encounters": float(e.loc["2021-10":"2022-09", "encounters"].sum()),
        "FY2023 encounters": float(e.loc["2022-10":"2023-09", "encounters"].sum()),
        "China's rank 2023": float(jan_aug.drop("OTHER", errors="ignore").rank(ascending=False)["CHINA"]),
    }


def simulated(raw: dict, seed: int, scale: float) -> dict:
    from sim.studies.runner import simulate

    res = simulate(inputs_of(raw, SCENARIO), seed)
    ts, legs = res.timeseries, res.legs
    ts = ts.assign(date=pd.to_datetime(ts["date"]))
    out = legs[(legs["nationality"] == "CUBA") & (legs["from"] == "o_cuba")].groupby("to")["persons"].sum()
    dar = ts[ts["metric"] == "darien_crossings"]
    jan_aug = dar[(dar["date"] >= "2023-01-01") & (dar["date"] <= "2023-08-31")].groupby("nationality")["value"].sum()
    enc = ts[(ts["metric"] == "encounters") & (ts["nationality"] == "CUBA")]
    fy = lambda a, b: float(enc.loc[(enc["date"] >= a) & (enc["date"] <= b), "value"].sum()) / scale  # noqa: E731
    return {
        "via Guyana": float(out.get("a_geo", 0) / out.sum()),
        "Darién 2022": float(dar[(dar["nationality"] == "CUBA") & (dar["date"].dt.year == 2022)]["value"].sum()) / scale,
        "Darién 2023 Jan-Aug": float(jan_aug.get("CUBA", 0)) / scale,
        "FY2022 encounters": fy("2021-10-01", "2022-09-30"),
        "FY2023 encounters": fy("2022-10-01", "2023-09-30"),
        "China's rank 2023": float(jan_aug.drop("OTHER", errors="ignore").rank(ascending=False).get("CHINA", float("nan"))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--factors", type=float, nargs="+", default=[1.0, 1.5, 2.0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    raw = scenario_at(a.scale, SCENARIO)
    money = raw["departures"]["by_citizenship"]["CUBA"]["money"]
    rows = {"observed": observed()}
    for f in a.factors:
        r = copy.deepcopy(raw)
        r["departures"]["by_citizenship"]["CUBA"]["money"] = {**money, "median_usd": money["median_usd"] * f}
        rows[f"median USD {money['median_usd'] * f:,.0f}"] = simulated(r, a.seed, a.scale)
    print(f"history at its estimate, scale {a.scale}, seed {a.seed}; levels not re-solved")
    print(pd.DataFrame(rows).T.round(3).to_string())


if __name__ == "__main__":
    main()
