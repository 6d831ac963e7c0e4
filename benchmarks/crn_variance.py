"""How much common random numbers sharpen a policy comparison.

Runs scenarios/panama_removal_flights.yaml and the same scenario without its removal
flights lever on the same seeds, with ``random_numbers: common`` and with ``single``, and
compares the standard deviation across seeds of the paired difference in total
encounters over the scenario's period. Target (CRN issue): at least 5 times smaller with
common random numbers.

    python benchmarks/crn_variance.py [--seeds 20] [--processes 2] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "panama_removal_flights.yaml"


def total_encounters(args) -> float:
    with_lever, mode, seed, scale = args
    sys.path.insert(0, str(ROOT))
    from sim.engine.model import RouteModel
    from sim.scenario import read_raw, validate_raw
    from sim.scenario.inputs import Inputs

    raw = read_raw(SCENARIO)
    raw["random_numbers"] = mode
    raw["departures"]["scale"] = scale
    if not with_lever:
        raw["policies"] = [p for p in raw["policies"] if p.get("type") != "panama_removal_flights"]
    m = RouteModel(Inputs.load(SCENARIO, validate_raw(raw, SCENARIO)), seed).run()
    ts = m.timeseries()
    return float(ts.loc[ts["metric"] == "encounters", "value"].sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="departures.scale (1.0 = full scale)")
    a = ap.parse_args()
    seeds = list(range(1, a.seeds + 1))
    jobs = [(lever, mode, s, a.scale) for mode in ("common", "single") for lever in (True, False) for s in seeds]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.processes, mp_context=get_context("spawn")) as pool:
        res = dict(zip(jobs, pool.map(total_encounters, jobs)))
    print(f"{len(jobs)} runs in {time.perf_counter() - t0:.0f} s; scenario {SCENARIO.name}, scale {a.scale}")
    sd = {}
    for mode in ("common", "single"):
        d = np.array([res[(True, mode, s, a.scale)] - res[(False, mode, s, a.scale)] for s in seeds])
        sd[mode] = d.std(ddof=1)
        print(f"{mode:>7}: paired difference in encounters: mean {d.mean():+,.0f}, sd {sd[mode]:,.0f} "
              f"over {len(seeds)} seeds")
    print(f"sd(single) / sd(common) = {sd['single'] / sd['common']:.1f} (target >= 5)")


if __name__ == "__main__":
    main()
