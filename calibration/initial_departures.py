"""Hand-set departure schedule for the baseline, derived from the observed figures.

Why this exists: until the ABC calibration (calibration/fy2023.yaml) fits departure
volumes, the baseline needs a defensible first guess. The rule is simple and stated:
people who leave in a month are those CBP encountered for the first time a typical
travel time later (one month for the overland routes through the Darién and Central
America, the same month for Mexicans and air arrivals); under Title 42 a share of
encounters are repeat crossings by the expelled, so first attempts are
encounters - expelled_retry * Title-42 expulsions. Months after September 2023
(beyond the CBP table) hold the July-September 2023 level, scaled for the Darién
nationalities by the observed Darién monthly trend (Panama SNM). Spin-up months
before October 2022 repeat October 2022. 2024 runs the 2023 behaviour forward: each
month of 2024 repeats the same month of 2023 (no defensible driver of 2024 departures
is in the data; policy scenarios change flows only through their levers).

Run:  python calibration/initial_departures.py  (writes scenarios/data/departures_fy2023.csv)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
TARGETS = HERE / "targets"
OUT = HERE.parent / "scenarios" / "data" / "departures_fy2023.csv"
EXPELLED_RETRY = 0.5  # must match border.expelled_retry in the baseline
# months between leaving home and reaching the US border, by route
LAG_MONTHS = {c: 1 for c in ("VENEZUELA", "ECUADOR", "COLOMBIA", "HAITI", "CHINA", "INDIA", "OTHER",
                             "PERU", "BRAZIL", "CUBA", "NICARAGUA", "HONDURAS")}
DARIEN_TREND = {"VENEZUELA", "ECUADOR", "HAITI", "CHINA", "INDIA", "OTHER"}
FIRST, LAST = pd.Period("2022-06", "M"), pd.Period("2023-12", "M")
FORWARD_TO = pd.Period("2025-06", "M")


def main() -> None:
    d = pd.read_csv(TARGETS / "cbp_fy2023_by_month_citizenship_component_authority.csv")
    d["month"] = pd.PeriodIndex(d["month"], freq="M")
    enc = d.pivot_table(index="month", columns="citizenship", values="encounters", aggfunc="sum").fillna(0)
    t42 = d[d["authority"] == "Title 42"].pivot_table(index="month", columns="citizenship",
                                                      values="encounters", aggfunc="sum")
    t42 = t42.reindex(index=enc.index, columns=enc.columns).fillna(0)
    first = (enc - EXPELLED_RETRY * t42).clip(lower=0)
    dar = pd.read_csv(TARGETS / "darien_2023_monthly.csv")
    dar = pd.Series(dar["crossings"].to_numpy(), index=pd.PeriodIndex(dar["month"], freq="M"))
    months = pd.period_range(FIRST, LAST, freq="M")
    rows = []
    for c in first.columns:
        lag = LAG_MONTHS.get(c, 0)
        tail = first.loc[pd.Period("2023-07", "M"):pd.Period("2023-09", "M"), c].mean()
        for m in months:
            target = m + lag
            if target < first.index[0]:
                v = first[c].iloc[0]
            elif target <= first.index[-1]:
                v = first.at[target, c]
            else:
                v = tail
                if c in DARIEN_TREND:
                    ref = dar.loc[pd.Period("2023-07", "M"):pd.Period("2023-09", "M")].mean()
                    v = tail * dar.get(min(m + 0, dar.index[-1]), ref) / ref
            rows.append({"month": str(m), "citizenship": c, "persons": round(float(v))})
    out = pd.DataFrame(rows)
    for m in pd.period_range(LAST + 1, FORWARD_TO, freq="M"):
        same = out[out["month"] == str(pd.Period(year=2023, month=m.month, freq="M"))].copy()
        same["month"] = str(m)
        out = pd.concat([out, same], ignore_index=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(OUT, index=False)
    print(f"wrote {OUT} ({len(out)} rows, {out['persons'].sum():,} persons)")


if __name__ == "__main__":
    main()
