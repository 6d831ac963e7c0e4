"""Sweep throughput: does a sweep keep every worker busy?

Measures (1) single-run throughput: the same runs done one after another in this
process (validate + load + simulate, after one warm-up run), and (2) a sweep of
N runs of the FY2023 baseline on a local Dask cluster of W workers, wall time from
the call to the end (cluster start-up, resume checks and writing included). Reports

    efficiency = sweep runs per second / (W x single runs per second)

which the sweep should keep at 0.9 or more. ``departures.scale`` keeps it to a few
minutes (0.05: about 2 s a run here).

    PYTHONPATH=. python benchmarks/sweep_throughput.py [--runs 200] [--workers W] [--scale 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.inputs import Inputs  # noqa: E402
from sim.runner import simulate  # noqa: E402
from sim.scenario import read_raw, validate_raw  # noqa: E402
from sim.sweep import run_sweep  # noqa: E402


def single_run_seconds(scale: float, seeds: list[int]) -> tuple[list[float], list[float]]:
    base = ROOT / "scenarios" / "baseline_fy2023.yaml"
    out, cpu = [], []
    for i, s in enumerate([seeds[0], *seeds]):
        t0, c0 = time.perf_counter(), time.process_time()
        raw = read_raw(base)
        raw["departures"]["scale"] = scale
        inputs = Inputs.load(base, scenario=validate_raw(raw, base))
        simulate(inputs, s)
        if i > 0:  # the first is a warm-up (imports, caches)
            out.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return out, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--scale", type=float, default=0.05, help="departures.scale of the baseline")
    ap.add_argument("--single", type=int, default=5, help="runs to time one after another")
    ap.add_argument("--keep", type=Path, help="keep the sweep folder here")
    a = ap.parse_args()

    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"WARNING: load average {load:.2f} before the benchmark: other processes share the CPUs "
              "and the efficiency will read low", file=sys.stderr)
    t_single, c_single = single_run_seconds(a.scale, list(range(1001, 1001 + a.single)))
    t1 = statistics.mean(t_single)
    c1 = statistics.mean(c_single)
    print(f"single run: {t1:.3f} s mean of {len(t_single)} (min {min(t_single):.3f}, max {max(t_single):.3f})")

    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        sweep = {
            "name": "throughput", "base": str(ROOT / "scenarios" / "baseline_fy2023.yaml"),
            "fixed": {"departures.scale": a.scale},
            "parameters": [{"name": "removed_retry", "path": "border.removed_retry", "values": [0.2, 0.4]}],
            "replicates": list(range(1, a.runs // 2 + 1)),
            "outcomes": [{"name": "fy2023_encounters", "metric": "encounters", "start": "2022-10-01",
                          "end": "2023-09-30"},
                         {"name": "darien_2023", "metric": "darien_crossings", "start": "2023-01-01",
                          "end": "2023-12-31"}],
        }
        path = tmp / "sweep.yaml"
        path.write_text(yaml.safe_dump(sweep, sort_keys=False))
        out = a.keep or tmp / "out"
        import resource

        t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        stats = run_sweep(path, out, workers=a.workers, progress=True)
        wall = time.perf_counter() - t0
        c_end = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (c_end.ru_utime - c0.ru_utime) + (c_end.ru_stime - c0.ru_stime)
        import pandas as pd

        runs = pd.read_parquet(Path(out) / "runs.parquet")
        n = len(runs)
        ideal = a.workers / t1
        got = n / wall
        eff = got / ideal
        busy = runs["wall_seconds"].sum() / (a.workers * wall)
        # robust to other processes on the machine: the share of the workers' time spent in runs,
        # times how much CPU a run costs alone over what it costs inside the sweep
        cpu_ratio = c1 / float(runs["cpu_seconds"].mean())
        robust = busy * cpu_ratio
        result = {"runs": n, "ok": int((runs["status"] == "ok").sum()), "workers": a.workers, "scale": a.scale,
                  "single_run_s": round(t1, 3), "sweep_wall_s": round(wall, 1),
                  "sweep_runs_per_s": round(got, 3), "ideal_runs_per_s": round(ideal, 3),
                  "efficiency": round(eff, 3), "worker_busy_share": round(busy, 3),
                  "mean_run_s_in_sweep": round(float(runs["wall_seconds"].mean()), 3),
                  "single_run_cpu_s": round(c1, 3), "mean_run_cpu_s_in_sweep": round(float(runs["cpu_seconds"].mean()), 3),
                  "client_and_scheduler_cpu_share": round(client_cpu / (a.workers * wall), 3),
                  "efficiency_contention_robust": round(robust, 3),
                  "load_average_before": round(load, 2), "load_average_after": round(os.getloadavg()[0], 2),
                  "stats": stats}
        print(json.dumps(result, indent=2))
        print(f"efficiency {eff:.1%} of {a.workers} x single-run throughput "
              f"({'meets' if eff >= 0.9 else 'BELOW'} the 90% target); "
              f"contention-robust estimate {robust:.1%} (worker busy share x CPU per run alone / in the sweep)")
        return 0 if eff >= 0.9 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
