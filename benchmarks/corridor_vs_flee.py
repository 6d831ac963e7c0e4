"""Speed benchmark: our RouteModel against Flee 3.1 on the same corridor workload.

Workload (benchmarks/corridor.yaml, and benchmarks/flee_corridor_driver.py for Flee):
a chain of 30 towns 150 km apart with a side branch every 5 towns (80 km + 120 km),
PER_DAY people leaving the first town each day for DAYS days, a 0.3 daily chance of
leaving a town, 200 km a day, the end of the chain a sink (a border area for us).

Measured, for each engine: wall time of the simulation loop only (set-up, reading
inputs and building the network are outside), and person-steps = the sum over the
simulated days of the persons in the model at the end of that day who have left and
not yet arrived. The rate person_steps / wall_s is the figure compared.

Ours: one untimed warm-up run first (the first run in a process also pays one-off
imports, e.g. scipy.stats on the first Poisson draw), then --repeats timed runs of
``RouteModel.run()`` with nothing added to the loop; the median is reported, and the
first (cold) run separately. Person-steps come from one more run with the same seed
(identical, checked) that counts after each day, so counting costs the timed runs
nothing.

Flee: run in its own virtual environment (default benchmarks/.venv-flee, created and
``pip install flee==3.1`` into it on first use), as a subprocess running our driver.

Usage:
  PYTHONPATH=. python benchmarks/corridor_vs_flee.py [--per-day 500] [--days 100]
      [--repeats 5] [--no-flee] [--flee-python PATH] [--profile N] [--json FILE]
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCENARIO = HERE / "corridor.yaml"
DRIVER = HERE / "flee_corridor_driver.py"
DEFAULT_PER_DAY, DEFAULT_DAYS = 500, 100
FLEE_VERSION = "3.1"
DEFAULT_VENV = HERE / ".venv-flee"
BASE_PYTHONS = ("/root/.pyenv/versions/3.12.1/bin/python",)


# ---------------------------------------------------------------------------- ours
def load_inputs(per_day: int, days: int, tmp: Path):
    """The corridor scenario; for other sizes a departures CSV is written into ``tmp``."""
    from sim.scenario import read_raw, validate_raw
    from sim.scenario.inputs import Inputs

    if per_day == DEFAULT_PER_DAY and days == DEFAULT_DAYS:
        return Inputs.load(SCENARIO)
    raw = read_raw(SCENARIO)
    start = dt.date.fromisoformat(str(raw["period"]["start"]))
    end = start + dt.timedelta(days=days - 1)
    raw["period"]["end"] = end.isoformat()
    csv = tmp / "departures.csv"
    lines = ["month,citizenship,persons"]
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        lines.append(f"{y:04d}-{m:02d},OTHER,{per_day * calendar.monthrange(y, m)[1]}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    csv.write_text("\n".join(lines) + "\n")
    raw["departures"]["file"] = str(csv)
    sc = validate_raw(raw, SCENARIO)
    return Inputs.load(SCENARIO, scenario=sc)


def town_index(node_id: str) -> float:
    """Position along the chain: N_i -> i, side town S_i -> i + 0.5."""
    return int(node_id[1:]) + (0.5 if node_id[0] == "S" else 0.0)


def run_ours(per_day: int, days: int, seed: int, repeats: int, profile: int) -> dict:
    import numpy as np

    from sim.engine.groups import ACTIVE, WAITING
    from sim.engine.model import RouteModel

    with tempfile.TemporaryDirectory() as tmp:
        inp = load_inputs(per_day, days, Path(tmp))
    assert inp.n_days == days, (inp.n_days, days)

    def timed() -> tuple[float, "RouteModel"]:
        m = RouteModel(inp, seed)
        t0 = time.perf_counter()
        m.run()
        return time.perf_counter() - t0, m

    cold, _ = timed()  # first run in this process: includes one-off lazy imports
    walls = []
    for _ in range(repeats):
        w, m = timed()
        walls.append(w)
    ledger = m.people_ledger()

    # the counting run: same seed, same results, persons in the model after each day
    mc = RouteModel(inp, seed)
    steps = 0

    def count(_day: int) -> None:
        nonlocal steps
        steps += mc.groups.persons(ACTIVE) + mc.groups.persons(WAITING)

    mc.run(on_day=count)
    if mc.people_ledger() != ledger:
        raise SystemExit("ours: the counting run differs from the timed run (not reproducible?)")

    g, net = mc.groups, mc.network
    rows = np.flatnonzero(g.status[: g.n] == ACTIVE)
    sizes = g.size[rows]
    pos = np.array([town_index(net.ids[n]) for n in g.node[rows]]) if len(rows) else np.zeros(0)
    arrived = int(ledger["released_us"] + ledger["expelled_home"] + ledger["removed_home"])
    out = {
        "engine": "ours", "per_day": per_day, "days": days,
        "people": int(ledger["spawned"]), "person_steps": int(steps),
        "wall_s": statistics.median(walls), "wall_s_min": min(walls), "wall_s_cold": cold,
        "repeats": repeats, "at_border": arrived, "groups": int(g.n),
        "mean_town_en_route": float(np.average(pos, weights=sizes)) if sizes.sum() else None,
        "max_town_en_route": float(pos.max()) if len(pos) else None,
    }
    if profile:
        import cProfile
        import pstats

        m = RouteModel(inp, seed)
        pr = cProfile.Profile()
        pr.enable()
        m.run()
        pr.disable()
        print(f"\n--- cProfile of one warm run of ours (top {profile} by own time) ---")
        pstats.Stats(pr).sort_stats("tottime").print_stats(profile)
        pstats.Stats(pr).sort_stats("cumulative").print_stats(profile)
    return out


# ---------------------------------------------------------------------------- flee
def _has_flee(python: str) -> bool:
    code = f"import importlib.metadata as m, flee.flee; assert m.version('flee') == '{FLEE_VERSION}'"
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def flee_python(venv: Path, explicit: str | None) -> str:
    """A Python that can import flee 3.1; builds ``venv`` if needed."""
    if explicit:
        if not _has_flee(explicit):
            raise SystemExit(f"--flee-python {explicit}: cannot import flee {FLEE_VERSION}")
        return explicit
    py = venv / "bin" / "python"
    if py.exists() and _has_flee(str(py)):
        return str(py)
    base = next((p for p in BASE_PYTHONS if os.access(p, os.X_OK)), sys.executable)
    print(f"setting up Flee {FLEE_VERSION} in {venv} (once) ...", file=sys.stderr, flush=True)
    if not py.exists():
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", f"flee=={FLEE_VERSION}"], check=True)
    if not _has_flee(str(py)):
        raise SystemExit(f"installed flee=={FLEE_VERSION} into {venv} but cannot import it")
    return str(py)


def run_flee(python: str, per_day: int, days: int, seed: int, repeats: int) -> dict:
    results = []
    for _ in range(repeats):
        p = subprocess.run([python, str(DRIVER), str(per_day), str(days), str(seed)],
                           capture_output=True, text=True, cwd=tempfile.gettempdir())
        line = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("FLEE_RESULT ")), None)
        if p.returncode != 0 or line is None:
            sys.stderr.write(p.stderr[-3000:])
            raise SystemExit(f"the Flee driver failed (exit {p.returncode})")
        results.append(json.loads(line.removeprefix("FLEE_RESULT ")))
    walls = [r["wall_s"] for r in results]
    out = dict(results[0])
    out["wall_s"] = statistics.median(walls)
    out["wall_s_min"] = min(walls)
    out["repeats"] = repeats
    out["person_steps_all"] = out.pop("person_steps")          # the reference script's count
    out["person_steps"] = out.pop("person_steps_en_route")    # same definition as ours
    return out


# ---------------------------------------------------------------------------- report
def table(rows: list[dict]) -> str:
    cols = [("engine", "engine", "{}"), ("per_day", "people/day", "{}"), ("days", "days", "{}"),
            ("person_steps", "person_steps", "{:,}"), ("wall_s", "wall_s", "{:.3f}"),
            ("rate", "person_steps_per_s", "{:,.0f}"), ("at_border", "arrived_at_border", "{:,}"),
            ("mean_town_en_route", "mean_town_en_route", "{:.1f}")]
    cells = [[h for _, h, _ in cols]]
    for r in rows:
        cells.append([("-" if r.get(k) is None else f.format(r[k])) for k, _, f in cols])
    width = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    lines = ["  ".join(c[i].rjust(width[i]) if i else c[i].ljust(width[i]) for i in range(len(cols))) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in width))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-day", type=int, default=DEFAULT_PER_DAY, help="people leaving the first town each day")
    ap.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days simulated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of ours (median reported)")
    ap.add_argument("--flee-repeats", type=int, default=1, help="timed runs of Flee (median reported)")
    ap.add_argument("--no-flee", action="store_true", help="run ours only")
    ap.add_argument("--flee-python", help="a Python that already has flee 3.1 (skips the venv)")
    ap.add_argument("--flee-venv", type=Path, default=DEFAULT_VENV, help="where to make Flee's venv")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="also cProfile ours, show top N")
    ap.add_argument("--json", type=Path, help="write the results here")
    a = ap.parse_args(argv)
    if a.per_day < 1 or a.days < 1 or a.repeats < 1 or a.flee_repeats < 1:
        ap.error("--per-day, --days and the repeats must be at least 1")

    ours = run_ours(a.per_day, a.days, a.seed, a.repeats, a.profile)
    rows = [ours]
    flee = None
    if not a.no_flee:
        flee = run_flee(flee_python(a.flee_venv, a.flee_python), a.per_day, a.days, a.seed, a.flee_repeats)
        rows.append(flee)
    for r in rows:
        r["rate"] = r["person_steps"] / r["wall_s"] if r["wall_s"] > 0 else float("inf")

    print(f"\ncorridor benchmark: {a.per_day} people/day for {a.days} days, seed {a.seed}")
    print(table(rows))
    print(f"ours: median of {ours['repeats']} warm runs (min {ours['wall_s_min']:.3f} s); "
          f"cold first run {ours['wall_s_cold']:.3f} s = {ours['person_steps'] / ours['wall_s_cold']:,.0f} person-steps/s; "
          f"{ours['groups']:,} groups")
    if flee is not None:
        ratio = ours["rate"] / flee["rate"]
        cold = (ours["person_steps"] / ours["wall_s_cold"]) / flee["rate"]
        print(f"flee: person-steps counting every agent, arrived or not (the reference script's figure): "
              f"{flee['person_steps_all']:,} -> {flee['person_steps_all'] / flee['wall_s']:,.0f}/s")
        print(f"ratio ours/flee (person-steps per second): {ratio:,.1f}x  (cold first run: {cold:,.1f}x)")
        out = {"ours": ours, "flee": flee, "ratio": ratio, "ratio_cold": cold}
    else:
        out = {"ours": ours}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
