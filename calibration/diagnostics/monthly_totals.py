"""Which citizenships make the monthly totals' Pearson miss? Each month's error, and the correlation with one citizenship put right.

The criterion correlates the 24 simulated monthly totals with CBP's. A low value does not
say whose months are wrong: errors of different citizenships may cancel or add. This
probe runs the calibration's statistics at the parameters in force (levels and trends
solved as in the estimation) and prints each month's simulated and observed total with
the largest citizenships' errors, then the Pearson correlation the totals would have if
one citizenship's (or group's) months were CBP's and the rest as simulated: the
citizenships whose correction raises it most are where a mechanism is missing.

    PYTHONPATH=. python calibration/diagnostics/monthly_totals.py [--scale 0.2 --seeds 1 2]
        # about a minute at scale 0.2 with two seeds

Nothing is estimated here, and nothing it prints is written into any estimate.
"""

from __future__ import annotations

import pandas as pd
from in_force import stats_in_force

SHOWN = ["VENEZUELA", "MEXICO", "CUBA", "HONDURAS", "GUATEMALA", "NICARAGUA", "COLOMBIA", "UKRAINE"]
GROUPS = [["HONDURAS", "GUATEMALA", "EL SALVADOR"], ["CUBA", "HAITI", "NICARAGUA"]]


def main() -> None:
    from sim.citizenship import CITIZENSHIPS
    from sim.studies.calibration.targets import pearson

    t, stats = stats_in_force(__doc__)
    sim = pd.DataFrame(stats["cells"] * t.weight, index=t.months, columns=CITIZENSHIPS)
    obs = pd.DataFrame(t.cells * t.weight, index=t.months, columns=CITIZENSHIPS)
    err = sim - obs
    rows = pd.DataFrame({"simulated": sim.sum(axis=1), "CBP": obs.sum(axis=1), "error": err.sum(axis=1)})
    for c in SHOWN:
        rows[c[:3]] = err[c]
    rows["others"] = rows["error"] - err[SHOWN].sum(axis=1)
    print("thousands of encounters; a citizenship's column is its error (simulated - CBP)")
    print((rows / 1000).round(1).to_string())
    print(f"\nPearson of the monthly totals: {pearson(sim.sum(axis=1).to_numpy(), obs.sum(axis=1).to_numpy()):.3f}")
    fixes = [[c] for c in CITIZENSHIPS if obs[c].sum() > 0] + GROUPS
    out = []
    for group in fixes:
        fixed = sim.sum(axis=1) - sim[group].sum(axis=1) + obs[group].sum(axis=1)
        out.append((pearson(fixed.to_numpy(), obs.sum(axis=1).to_numpy()), ", ".join(group)))
    print("with one citizenship's (or group's) months as CBP's:")
    for r, name in sorted(out, reverse=True)[:8]:
        print(f"  {r:.3f}  {name}")


if __name__ == "__main__":
    main()
