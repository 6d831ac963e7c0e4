"""Rebase the posterior draws on levels re-solved after the estimate.

``migsim run/forecast --posterior-draws`` samples ``calibration/fy2022_fy2023_posterior.parquet``,
whose rows carry each citizenship's level and trend as the estimation solved them. When
a rule changes and the levels and trends of the parameter file are re-solved at the
parameters in force (without a new estimate), the draws must follow, or every draw runs
the new rules at the old levels (after 7eee12a: the Venezuelans' level 14,439 against
8,332 re-solved, and a forecast of 7.5 million FY2024 encounters). Each draw keeps its
own deviation from the estimate: level x new/old, trend + (new - old), as
``sim.studies.calibration.outputs.draws_table`` builds them from the refined levels.

    PYTHONPATH=. python calibration/diagnostics/rebase_draws.py \
        --old-params <(git show d2a75c2:calibration/fy2022_fy2023_params.yaml)
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import yaml

PREFIX = "departures.by_citizenship."


def main() -> None:
    from sim.studies.calibration.targets import TREND_BOUND
    from sim.studies.storage import atomic_write

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-params", required=True, help="the parameter file the draws were written with")
    ap.add_argument("--params", default="calibration/fy2022_fy2023_params.yaml")
    ap.add_argument("--draws", default="calibration/fy2022_fy2023_posterior.parquet")
    args = ap.parse_args()
    with open(args.old_params) as f:
        old = yaml.safe_load(f)["departures"]["by_citizenship"]
    with open(args.params) as f:
        new = yaml.safe_load(f)["departures"]["by_citizenship"]
    draws = pd.read_parquet(args.draws)
    for col in draws.columns:
        if not col.startswith(PREFIX):
            continue
        cit, what = col[len(PREFIX):].rsplit(".", 1)
        a, b = float(old[cit][what]), float(new[cit][what])
        if what == "level":
            draws[col] = draws[col] * (b / a) if a > 0 else b
        elif what == "trend":
            draws[col] = np.clip(draws[col] + (b - a), -TREND_BOUND, TREND_BOUND)
    atomic_write(args.draws, lambda p: draws.to_parquet(p, index=False))
    print(f"rebased {args.draws} on {args.params}")


if __name__ == "__main__":
    main()
