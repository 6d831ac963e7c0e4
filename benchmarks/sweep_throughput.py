"""Sweep throughput: does a sweep keep every worker busy?

Measures, on the sweep's own runs (the FY2023 baseline, ``border.removed_retry`` 0.2 or
0.4, seeds 1..N/2):

1. single-run throughput: runs one after another in this process, no Dask, after one
   warm-up run, half before the sweep and half after it (so that a drift in the
   machine's speed weighs on both sides), timed two ways on the same runs:

   - *simulate only*: apply the run's changes, validate, load the inputs, simulate;
   - *full per-run work*: ``sim.sweep.execute_run``, the very call a worker makes (the
     above plus the outcome summaries and the daily series encoded as Parquet bytes).

2. plain parallel (diagnostic, ``--no-plain`` skips it): W plain processes doing the
   full per-run work at the same time, no Dask: what running W at once costs on this
   machine by itself (shared caches and memory bandwidth, the hypervisor).

3. the sweep: N runs on a local Dask cluster of W workers, wall time from the call to
   its return (cluster start-up, resume checks, writing to disk and shut-down included).

Reports ``efficiency = sweep runs per second / (W x single runs per second)`` against
both single-run figures. The 90% target is judged against the full per-run work: that
is the work a sweep run is, so the ratio measures only the sweep machinery and the
parallel execution. Against simulate only it also charges the summaries and the series
encoding, which a serial loop that kept the results would do too.

``departures.scale`` keeps it to a few minutes (0.05: about 1.4 s a run here). Other
processes on the machine make the efficiency read low: the script prints the load
before and the CPU share other processes took during the sweep.

    PYTHONPATH=. python benchmarks/sweep_throughput.py [--runs 200] [--workers W] [--scale 0.05]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.scenario.variation import set_path  # noqa: E402
from sim.studies.sweep.execute import execute_run  # noqa: E402
from sim.studies.sweep.run import prepare, run_args, run_sweep, task_of  # noqa: E402


def write_sweep(folder: Path, runs: int, scale: float) -> Path:
    sweep = {
        "name": "throughput", "base": str(ROOT / "scenarios" / "baseline_fy2023.yaml"),
        "fixed": {"departures.scale": scale},
        "parameters": [{"name": "removed_retry", "path": "border.removed_retry", "values": [0.2, 0.4]}],
        "replicates": list(range(1, runs // 2 + 1)),
        "outcomes": [{"name": "fy2023_encounters", "metric": "encounters", "start": "2022-10-01",
                      "end": "2023-09-30"},
                     {"name": "darien_2023", "metric": "darien_crossings", "start": "2023-01-01",
                      "end": "2023-12-31"}],
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False))
    return path


def sample_tasks(prep: dict, k: int) -> list[dict]:
    """k + 1 runs of the sweep spread over its design (both parameter values); the first is
    the warm-up."""
    design = prep["design"]
    rows = design.iloc[np.linspace(0, len(design) - 1, k + 1).round().astype(int)]
    return [task_of(prep, r) for r in rows.itertuples(index=False)]


def simulate_only(prep: dict, task: dict) -> None:
    """The run's scenario validated, loaded and simulated; nothing kept."""
    from sim.scenario import validate_raw
    from sim.scenario.inputs import Inputs
    from sim.studies.runner import simulate

    raw = copy.deepcopy(prep["base_raw"])
    for p, v in task["set"]:
        set_path(raw, p, v)
    inputs = Inputs.load(prep["base_path"], scenario=validate_raw(raw, prep["base_path"]))
    simulate(inputs, task["seed"])


def full_run(prep: dict, task: dict) -> None:
    res = execute_run(prep["base_raw"], str(prep["base_path"]), task, *run_args(prep))
    if res["status"] != "ok":
        raise RuntimeError(res["error"])


def timed(fn, *args) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - t0, time.process_time() - c0


def time_serial(prep: dict, tasks: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """(wall, cpu) of each task, simulate only and full, interleaved so that a change in
    the machine's speed hits both alike."""
    out = {"simulate": [], "full": []}
    for t in tasks:
        out["simulate"].append(timed(simulate_only, prep, t))
        out["full"].append(timed(full_run, prep, t))
    return out


def _serial_in_child(sweep_path: str, tasks: list[dict]) -> list[tuple[float, float]]:
    prep = prepare(sweep_path)
    full_run(prep, tasks[0])
    return [timed(full_run, prep, t) for t in tasks[1:]]


def plain_parallel(sweep_path: Path, tasks: list[dict], workers: int) -> list[tuple[float, float]]:
    """The full per-run work in ``workers`` plain processes at once (each the same runs)."""
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as ex:
        futs = [ex.submit(_serial_in_child, str(sweep_path), tasks) for _ in range(workers)]
        return [x for f in futs for x in f.result()]


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (user, system, irq; not idle)."""
    f = open("/proc/stat").readline().split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, f[:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (the sweep's workers once closed)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def mean_of(pairs: list[tuple[float, float]], i: int) -> float:
    return statistics.mean(p[i] for p in pairs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--scale", type=float, default=0.05, help="departures.scale of the baseline")
    ap.add_argument("--single", type=int, default=12,
                    help="runs to time one after another (each way), half before and half after the sweep")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain-processes diagnostic")
    ap.add_argument("--keep", type=Path, help="keep the sweep folder here")
    ap.add_argument("--json", type=Path, help="also write the result here")
    a = ap.parse_args()

    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"WARNING: load average {load:.2f} before the benchmark: other processes share the CPUs "
              "and the efficiency will read low", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        path = write_sweep(tmp, a.runs, a.scale)
        prep = prepare(path)
        tasks = sample_tasks(prep, a.single)
        full_run(prep, tasks[0])  # warm-up: imports, caches
        before = time_serial(prep, tasks[1::2])
        print(f"single run before the sweep: simulate only {mean_of(before['simulate'], 0):.3f} s, "
              f"full per-run work {mean_of(before['full'], 0):.3f} s", file=sys.stderr)
        plain = None if a.no_plain else plain_parallel(path, tasks, a.workers)

        out = a.keep or tmp / "out"
        timings: dict = {}
        t0, own0, busy0 = time.perf_counter(), own_cpu_seconds(), machine_busy_seconds()
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        stats = run_sweep(path, out, workers=a.workers, progress=True, timings=timings)
        wall = time.perf_counter() - t0
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        others = (machine_busy_seconds() - busy0) - (own_cpu_seconds() - own0)
        client_cpu = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)

        after = time_serial(prep, tasks[2::2])
        serial = {k: before[k] + after[k] for k in before}
        t_sim, t_full = mean_of(serial["simulate"], 0), mean_of(serial["full"], 0)
        c_full = mean_of(serial["full"], 1)

        runs = pd.read_parquet(Path(out) / "runs.parquet")
        n = len(runs)
        got = n / wall
        eff_full = got / (a.workers / t_full)
        eff_sim = got / (a.workers / t_sim)
        busy = runs["wall_seconds"].sum() / (a.workers * wall)
        cpu_in_sweep = float(runs["cpu_seconds"].mean())
        result = {
            "runs": n, "ok": int((runs["status"] == "ok").sum()), "workers": a.workers, "scale": a.scale,
            "single_simulate_only_s": round(t_sim, 3), "single_full_s": round(t_full, 3),
            "single_full_cpu_s": round(c_full, 3),
            "single_runs_timed": len(serial["full"]),
            "single_full_s_before_after": [round(mean_of(before["full"], 0), 3), round(mean_of(after["full"], 0), 3)],
            "plain_parallel_full_s": round(mean_of(plain, 0), 3) if plain else None,
            "plain_parallel_efficiency": round(t_full / mean_of(plain, 0), 3) if plain else None,
            "sweep_wall_s": round(wall, 1), "sweep_runs_per_s": round(got, 3),
            "efficiency_vs_full": round(eff_full, 3), "efficiency_vs_simulate_only": round(eff_sim, 3),
            "worker_busy_share": round(busy, 3),
            "mean_run_s_in_sweep": round(float(runs["wall_seconds"].mean()), 3),
            "mean_run_cpu_s_in_sweep": round(cpu_in_sweep, 3),
            "timings_s": timings,
            "client_scheduler_nanny_cpu_share": round(client_cpu / (a.workers * wall), 3),
            "other_processes_cpu_share": round(max(others, 0.0) / ((os.cpu_count() or 1) * wall), 3),
            "efficiency_contention_robust": round(busy * c_full / cpu_in_sweep, 3),
            "load_average_before": round(load, 2), "load_average_after": round(os.getloadavg()[0], 2),
            "stats": stats,
        }
        print(json.dumps(result, indent=2))
        if a.json:
            a.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"efficiency {eff_full:.1%} of {a.workers} x single-run throughput with the full per-run work "
              f"({'meets' if eff_full >= 0.9 else 'BELOW'} the 90% target); {eff_sim:.1%} against simulate only")
        return 0 if eff_full >= 0.9 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
