"""CPU time of a run of the model, in total and by phase of the day.

    python benchmarks/engine_phases.py [--scenario scenarios/history_fy2022_fy2023.yaml]
        [--scales 0.05 1.0] [--repeats 3] [--seed 1] [--phases] [--profile 30]

For each scale (``departures.scale``), the CPU time (``time.process_time``: the machine
is shared, so wall time says more about the other jobs than about this one) of
``RouteModel.run()`` alone, ``--repeats`` times, in this process; the median counts.
Building the inputs and the model is not timed.

``--phases``: one more run per scale with the phases of the day timed by wrapping the
model's methods (levers, beliefs, familiarity and route refreshes, wake, departures,
travel and what it calls, encounters, end of day). Nested phases (route choice and
``_advance`` inside travel) are shown indented and are included in their parent's time.
Wrapping costs a little, so the phases add up to a bit more than the untimed run.

``--profile N``: one more run per scale under cProfile, the N costliest functions by
own time.
"""

from __future__ import annotations

import argparse
import cProfile
import collections
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scipy.special  # noqa: E402,F401  (imported before timing: the first Poisson draw would pay it)

from sim.engine import behaviour, bookkeeping, border, departures, hooks, model, routing  # noqa: E402
from sim.scenario.files import read_raw, validate_raw  # noqa: E402
from sim.scenario.inputs import Inputs  # noqa: E402

# (class, method, parent phase or None): the phases of a day, in their order
PHASES = [
    (hooks.LeverHost, "day", None),
    (behaviour.Behaviour, "learn", None),
    (behaviour.Behaviour, "update_familiarity", None),
    (routing.Router, "refresh", None),
    (model.RouteModel, "_wake", None),
    (departures.Departures, "draw", None),
    (model.RouteModel, "_travel", None),
    (model.RouteModel, "_reconsider", "_travel"),
    (routing.Router, "choose", "_travel"),
    (routing.Router, "_choose_per_leg", "choose"),
    (model.RouteModel, "_advance", "_travel"),
    (hooks.LeverHost, "arrive", "_advance"),
    (border.Border, "encounter", None),
    (model.RouteModel, "_end_day", None),
    (bookkeeping.Recorder, "flush", "_end_day"),
]


def build(scenario: str, scale: float, seed: int) -> model.RouteModel:
    raw = read_raw(scenario)
    raw["departures"]["scale"] = scale
    return model.RouteModel(Inputs.load(scenario, validate_raw(raw, scenario)), seed)


def cpu_of_run(scenario: str, scale: float, seed: int) -> float:
    m = build(scenario, scale, seed)
    t0 = time.process_time()
    m.run()
    return time.process_time() - t0


def phases(scenario: str, scale: float, seed: int) -> tuple[float, dict[str, float]]:
    spent: collections.Counter = collections.Counter()
    originals = []
    for cls, name, _ in PHASES:
        f = getattr(cls, name)
        originals.append((cls, name, f))

        def timed(*a, _f=f, _key=name, **k):
            t0 = time.process_time()
            try:
                return _f(*a, **k)
            finally:
                spent[_key] += time.process_time() - t0

        setattr(cls, name, timed)
    try:
        total = cpu_of_run(scenario, scale, seed)
    finally:
        for cls, name, f in originals:
            setattr(cls, name, f)
    return total, dict(spent)


def depth(name: str) -> int:
    parent = {n: p for _, n, p in PHASES}
    d, p = 0, parent.get(name)
    while p is not None:
        d, p = d + 1, parent.get(p)
    return d


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "history_fy2022_fy2023.yaml"))
    ap.add_argument("--scales", type=float, nargs="+", default=[0.05, 1.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phases", action="store_true", help="also time the phases of the day (one more run per scale)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="also cProfile one run per scale, top N")
    a = ap.parse_args(argv)
    for scale in a.scales:
        times = [cpu_of_run(a.scenario, scale, a.seed) for _ in range(a.repeats)]
        n_days = build(a.scenario, scale, a.seed).n_days
        med = statistics.median(times)
        print(f"scale {scale:g}: run() CPU median {med:.2f} s over {a.repeats} "
              f"({', '.join(f'{t:.2f}' for t in times)}); {1000 * med / n_days:.2f} ms a day over {n_days} days")
        if a.phases:
            total, spent = phases(a.scenario, scale, a.seed)
            print(f"  phases (one run, {total:.2f} s CPU with the wrappers):")
            for _, name, _ in PHASES:
                if name in spent:
                    print(f"    {'  ' * depth(name)}{name:<{24 - 2 * depth(name)}} {spent[name]:7.2f} s "
                          f"{100 * spent[name] / total:5.1f}%")
        if a.profile:
            m = build(a.scenario, scale, a.seed)
            pr = cProfile.Profile()
            pr.enable()
            m.run()
            pr.disable()
            pstats.Stats(pr).sort_stats("tottime").print_stats(a.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
