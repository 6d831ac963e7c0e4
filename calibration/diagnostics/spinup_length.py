"""How much do a scenario's results depend on where its run starts (its spin-up)?

Until route familiarity could start settled, it started at
``behaviour.familiarity.initial`` on every leg and only grew (by ``learning_rate`` x the
share of co-nationals taking the leg, each week), so a run that started earlier reached
a later day knowing its routes better, with cheaper routes and more departures. Now a
scenario with ``behaviour.familiarity.settle`` (the history, and all that extend it)
starts at the steady state of the first day's routes. This probe runs the same
scenario with several ``spinup_start`` dates, as written and (``--unsettled``) with
settling off, and prints its headline totals over the reported period, with the mean
familiarity of the legs people use at the end.

    PYTHONPATH=. python calibration/diagnostics/spinup_length.py [SCENARIO] [--starts 2022-04-01 2023-07-01] [--scale 0.25] [--unsettled]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from in_force import inputs_of, scenario_at

ROOT = Path(__file__).resolve().parents[2]


def one(scenario: Path, start: str, scale: float, seed: int, settle: bool | None = None) -> dict:
    from sim.citizenship import CODE
    from sim.engine.model import RouteModel

    raw = scenario_at(scale, scenario)
    raw["spinup_start"] = start
    if settle is not None:
        raw.setdefault("behaviour", {}).setdefault("familiarity", {})["settle"] = settle
    inp = inputs_of(raw, scenario)
    m = RouteModel(inp, seed).run()
    tot = m.timeseries().groupby("metric")["value"].sum() / scale  # over the reported period
    # familiarity at the end of the run of the legs people took in the period, weighted by them
    legs = m.leg_flows()
    edge = m.network.edge_index
    fam = [m.behaviour.familiarity[CODE[c], edge[(a, b)]] for c, a, b in zip(legs["nationality"], legs["from"], legs["to"])]
    known = float(np.average(fam, weights=legs["persons"])) if len(legs) else float("nan")
    return {"spinup_start": start, "settled": inp.scenario.behaviour.familiarity.settle, "days": inp.n_days, "departures": tot.get("departures", 0.0),
            "darien_crossings": tot.get("darien_crossings", 0.0), "encounters": tot.get("encounters", 0.0),
            "familiarity of the legs taken": known}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "panama_removal_flights.yaml"))
    ap.add_argument("--starts", nargs="+", default=["2022-04-01", "2023-07-01"])
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--unsettled", action="store_true", help="also run each start with settling off")
    a = ap.parse_args()
    for settle in (None, False) if a.unsettled else (None,):
        for s in a.starts:
            r = one(Path(a.scenario), s, a.scale, a.seed, settle)
            print("  ".join(f"{k}: {v:,.3f}" if isinstance(v, float) and v < 10 else
                            f"{k}: {v:,.0f}" if isinstance(v, float) else f"{k}: {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
