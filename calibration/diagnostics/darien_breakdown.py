"""Where does the Darién total go wrong? Panama's counts by nationality and month against the estimate's.

The criteria judge Panama's totals (2022; January-August and January-September 2023) and
their top three. A total can be right by errors that cancel, and a miss does not say
which citizenship makes it. This probe runs the calibration's own statistics at the
parameters in force (levels and trends solved as in the estimation, Panama's labels as
the spec maps them: BRAZIL counts as HAITI in 2023) and prints, for each of Panama's
periods, each label's simulated and observed crossings, and for 2023 each month's.

It also prints, per citizenship, the simulated share of its US encounters that crossed
the Darién (its crossings in a period over its encounters one month later, the usual
time from the jungle to the border) beside Panama's count over CBP's encounters of the
same months: a citizenship whose simulated share is far above the observed one reaches
the US over the Darién in the model but mostly some other way in fact (a flight the
model closes, or prices too high).

    PYTHONPATH=. python calibration/diagnostics/darien_breakdown.py [--scale 0.2 --seeds 1 2]
        # about a minute at scale 0.2 with two seeds

Nothing is estimated here, and nothing it prints is written into any estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from in_force import stats_in_force


def main() -> None:
    from sim.citizenship import CITIZENSHIPS

    t, stats = stats_in_force(__doc__)
    months = pd.PeriodIndex(t.months, freq="M")
    cits = np.array(CITIZENSHIPS)

    for i, p in enumerate(t.darien):
        sim = t.darien_by_label(stats, i)
        print(f"\n{p.name}: simulated {sim.sum():,.0f} against Panama's {p.total:,.0f} "
              f"({sim.sum() / p.total - 1:+.1%})")
        if len(p.labels) > 1:
            rows = pd.DataFrame({"simulated": sim, "Panama": p.counts}, index=p.labels)
            rows["difference"] = rows["simulated"] - rows["Panama"]
            print(rows.sort_values("Panama", ascending=False).round(0).astype(int).to_string())
        # the share of each citizenship's encounters (one month later) that crossed the jungle
        w = p.window
        after = (months >= pd.Period(w.start, "M") + 1) & (months <= pd.Period(w.end, "M") + 1)
        if len(p.labels) > 1 and after.sum() == len(pd.period_range(w.start, w.end, freq="M")):
            enc_sim, enc_obs = stats["cells"][after].sum(axis=0), t.cells[after].sum(axis=0)
            by_cit = stats[f"darien_{i}"]
            obs = np.array([p.counts[p.to_label[c]] if p.labels[p.to_label[c]] == cits[c] else np.nan
                            for c in range(len(cits))])
            share = pd.DataFrame({"crossed (sim)": by_cit, "encounters a month later (sim)": enc_sim,
                                  "share (sim)": by_cit / np.maximum(enc_sim, 1e-9),
                                  "share (Panama / CBP)": obs / np.maximum(enc_obs, 1e-9)}, index=cits)
            share = share[share["crossed (sim)"] >= 0.01 * by_cit.sum()]
            print("share of encounters that crossed the Darién (a label Panama shares with others: no observed share)")
            print(share.sort_values("crossed (sim)", ascending=False).round(
                {"crossed (sim)": 0, "encounters a month later (sim)": 0, "share (sim)": 2, "share (Panama / CBP)": 2}
            ).to_string())

    dm = stats.get("darien_months")
    if dm is not None and len(t.darien_monthly):
        rows = pd.DataFrame({"simulated": dm.sum(axis=1), "Panama": t.darien_monthly}, index=t.darien_months)
        rows["ratio"] = rows["simulated"] / rows["Panama"]
        print("\nDarién by month")
        print(rows.round({"simulated": 0, "Panama": 0, "ratio": 2}).to_string())


if __name__ == "__main__":
    main()
