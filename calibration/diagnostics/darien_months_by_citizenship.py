"""One citizenship's Darién crossings and US encounters, month by month over the whole history.

Panama's counts held here are monthly only for 2023 (``targets/darien_monthly.csv``); for
2022 they are the year's and its nationalities'. A citizenship's 2022 excess at the
Darién therefore does not say when it crosses. This probe widens the calibration's
Darién months to every month of the history (for printing only: the distance is not
used) and prints, at the parameters in force (levels and trends solved as in the
estimation), the citizenship's simulated crossings beside its simulated and CBP's
encounters of the same month, and everyone's crossings.

    PYTHONPATH=. python calibration/diagnostics/darien_months_by_citizenship.py \
        [--citizenship VENEZUELA] [--scale 0.2] [--seeds 1 2]   # about a minute

Nothing is estimated here, and nothing it prints is written into any estimate.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from in_force import SPEC


def main() -> None:
    from sim.citizenship import CITIZENSHIPS
    from sim.studies.calibration.simulate import CalibrationModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--citizenship", default="VENEZUELA", choices=list(CITIZENSHIPS))
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    model = CalibrationModel(SPEC, scale=a.scale, seeds=a.seeds)
    t = model.targets
    t.darien_months = list(t.months)           # every month of the history, for printing
    t.darien_monthly = np.ones(len(t.months))  # (the distance is not computed)
    s = model(model.params_in_force())
    c = list(CITIZENSHIPS).index(a.citizenship)
    rows = pd.DataFrame({"Darién (sim)": s["darien_months"][:, c], "encounters (sim)": s["cells"][:, c],
                         "encounters (CBP)": t.cells[:, c], "Darién, all (sim)": s["darien_months"].sum(axis=1)},
                        index=t.months)
    print(rows.round(0).astype(int).to_string())
    for y in sorted({m[:4] for m in t.months}):
        year = rows[rows.index.str.startswith(y)]
        print(f"{y} ({len(year)} months): {a.citizenship} crossed {year['Darién (sim)'].sum():,.0f}, "
              f"everyone {year['Darién, all (sim)'].sum():,.0f}")


if __name__ == "__main__":
    main()
