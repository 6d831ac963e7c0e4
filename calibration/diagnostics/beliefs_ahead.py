"""What each citizenship believes, expects now and expects under the rules to come, day by day.

A rule announced for a later date (``announced_rule`` with ``effective``) acts through the
gap between what people believe (``Behaviour.belief``, learnt from co-nationals' outcomes
and news) and the release expected once the rules to come are in force (``Border``
combines every rule still to come): a worse one makes those waiting hurry, a better one
lures people to wait near the border for its day (``behaviour.waiting``). Which way a
citizenship goes is not visible in the monthly figures, only its consequence (a wave
before or after the day). This probe runs the history as written (its estimate merged in)
and prints, on the dates given, per citizenship: the belief, the release expected under
the rules in force, the release expected under the rules to come (blank: none coming)
and whether decisions at home do not take those rules in yet (``home``: they would
arrive before the day, so the hurry and the lure act at home).

    PYTHONPATH=. python calibration/diagnostics/beliefs_ahead.py \\
        [--dates 2023-02-15 2023-04-01 2023-05-05 2023-05-20] [--citizenships MEXICO VENEZUELA] [--scale 0.05]

About a minute at scale 0.05. Nothing is estimated here, and nothing it prints is written
into any estimate.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pandas as pd
from in_force import inputs_of, scenario_at

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "history_fy2022_fy2023.yaml"


def beliefs_on(dates: list[dt.date], citizenships: list[str], scale: float, seed: int) -> pd.DataFrame:
    """One row per date and citizenship: belief, expected now, expected ahead, home."""
    from sim.citizenship import CITIZENSHIPS
    from sim.engine.model import RouteModel
    inputs = inputs_of(scenario_at(scale, SCENARIO), SCENARIO)
    model = RouteModel(inputs, seed)
    wanted = {inputs.day_of(d): d for d in dates}
    rows = []

    def on_day(t: int) -> None:
        if t not in wanted:
            return
        b, now = model.behaviour, model.border.expected_release()
        for c in citizenships:
            i = CITIZENSHIPS.index(c)
            coming = b._ahead is not None
            rows.append({"date": wanted[t], "citizenship": c, "belief": b.belief[i], "expected now": now[i],
                         "expected under rules to come": b._ahead[i] if coming else None,
                         "home": bool(b._ahead_home[i]) if coming else None})

    model.run(on_day=on_day)
    return pd.DataFrame(rows)


def main() -> None:
    from sim.citizenship import CITIZENSHIPS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dates", nargs="+", type=dt.date.fromisoformat,
                    default=[dt.date(2023, 2, 15), dt.date(2023, 4, 1), dt.date(2023, 5, 5), dt.date(2023, 5, 20)])
    ap.add_argument("--citizenships", nargs="+", default=["MEXICO", "VENEZUELA", "GUATEMALA", "NICARAGUA"],
                    choices=CITIZENSHIPS, metavar="CITIZENSHIP")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    out = beliefs_on(a.dates, a.citizenships, a.scale, a.seed)
    print(f"history as written ({SCENARIO.relative_to(ROOT)}), scale {a.scale}, seed {a.seed}")
    print(out.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
