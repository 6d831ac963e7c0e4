"""Running a scenario for one or more seeds and writing the output contract.

Why apart from the model: the model knows one run; this module knows replicates,
processes, progress bars and files. Output contract (other tools read these names):
``timeseries.parquet`` (tidy daily rows), ``summary.json`` (ledger per seed and
headline figures), ``manifest.json`` (provenance) and ``plots/``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from sim.inputs import Inputs
from sim.model import RouteModel
from sim.storage import atomic_dir, provenance, write_json

FY2023 = (dt.date(2022, 10, 1), dt.date(2023, 9, 30))
CAL2023 = (dt.date(2023, 1, 1), dt.date(2023, 12, 31))


def simulate(inputs: Inputs, seed: int, on_day=None, legs: bool = False):
    """One replicate: its timeseries, its people ledger and its wall seconds (and, with
    ``legs``, the people who started each leg)."""
    t0 = time.perf_counter()
    model = RouteModel(inputs, seed)
    model.run(on_day)
    ts = model.timeseries()
    out = (ts, model.people_ledger(), time.perf_counter() - t0)
    return (*out, model.leg_flows()) if legs else out


def _simulate_path(path: str, seed: int):
    return simulate(Inputs.load(path), seed, legs=True)


def resolve_seeds(inputs: Inputs, seed: int | None, replicates: int | None) -> list[int]:
    """--seed N picks the first seed, --replicates K how many consecutive seeds."""
    if seed is None and replicates is None:
        return list(inputs.scenario.seeds)
    base = seed if seed is not None else inputs.scenario.seeds[0]
    return list(range(base, base + (replicates or 1)))


def run_replicates(inputs: Inputs, seeds: list[int], processes: int = 1, progress: bool = True):
    """Run every seed (in worker processes when asked); results in seed order."""
    from tqdm import tqdm

    results: dict[int, tuple] = {}
    if processes <= 1 or len(seeds) == 1:
        bar = tqdm(total=inputs.n_days * len(seeds), unit="day", disable=not progress,
                   desc=inputs.scenario.name, file=sys.stderr, mininterval=0.5)
        for s in seeds:
            done = [0]

            def tick(day, done=done):
                bar.update(day - done[0])
                done[0] = day

            results[s] = simulate(inputs, s, tick, legs=True)
        bar.close()
    else:
        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
            futs = {pool.submit(_simulate_path, inputs.path, s): s for s in seeds}
            for f in tqdm(as_completed(futs), total=len(futs), unit="run", disable=not progress,
                          desc=inputs.scenario.name, file=sys.stderr):
                results[futs[f]] = f.result()
    return [results[s] for s in seeds]


def _window(ts: pd.DataFrame, metric: str, window: tuple[dt.date, dt.date]) -> pd.Series:
    d = ts[(ts["metric"] == metric) & (ts["date"] >= window[0]) & (ts["date"] <= window[1])]
    return d.groupby("seed")["value"].sum()


def headline(ts: pd.DataFrame, inputs: Inputs, seeds: list[int]) -> dict:
    """Totals per metric over the period, and the FY2023 / calendar-2023 windows when covered."""
    per = ts.groupby(["metric", "seed"])["value"].sum().unstack(fill_value=0)
    out = {"period_totals": {m: {str(s): int(per.at[m, s]) if s in per.columns else 0 for s in seeds}
                             for m in per.index}}
    p = inputs.scenario.period
    if p.start <= FY2023[0] and p.end >= FY2023[1]:
        enc = _window(ts, "encounters", FY2023).reindex(seeds, fill_value=0)
        out["fy2023_encounters"] = {"per_seed": {str(s): int(v) for s, v in enc.items()}, "mean": float(enc.mean())}
    if p.start <= CAL2023[0] and p.end >= CAL2023[1]:
        dar = _window(ts, "darien_crossings", CAL2023).reindex(seeds, fill_value=0)
        out["darien_2023"] = {"per_seed": {str(s): int(v) for s, v in dar.items()}, "mean": float(dar.mean())}
    return out


def run_scenario(path: str | Path, out: str | Path, seed: int | None = None, replicates: int | None = None,
                 processes: int = 1, progress: bool = True, plots: bool = True,
                 inputs: Inputs | None = None) -> Path:
    """Run a scenario and write its results folder atomically. Returns the folder."""
    t0 = time.perf_counter()
    inputs = inputs or Inputs.load(path)
    seeds = resolve_seeds(inputs, seed, replicates)
    results = run_replicates(inputs, seeds, processes, progress)
    ts = pd.concat([r[0] for r in results], ignore_index=True)
    sc = inputs.scenario
    summary = {
        "scenario": sc.name,
        "scenario_file": str(path),
        "seeds": seeds,
        "random_numbers": sc.random_numbers,
        "period": {"start": sc.period.start.isoformat(), "end": sc.period.end.isoformat()},
        "spinup_start": sc.spinup_start.isoformat(),
        "ledger": {str(s): r[1] for s, r in zip(seeds, results)},
        **headline(ts, inputs, seeds),
    }
    with atomic_dir(out) as tmp:
        ts.to_parquet(tmp / "timeseries.parquet", index=False)
        pd.concat([r[3] for r in results], ignore_index=True).to_parquet(tmp / "legs.parquet", index=False)
        write_json(tmp / "summary.json", summary)
        if plots:
            from sim.plots import make_run_plots

            make_run_plots(ts, sc.observed, tmp / "plots", sc.name)
        manifest = {**provenance(), "scenario": sc.name, "scenario_file": str(path),
                    "scenario_sha256": inputs.scenario_sha256, "seeds": seeds,
                    "random_numbers": sc.random_numbers, "processes": processes,
                    "wall_seconds": round(time.perf_counter() - t0, 3),
                    "run_seconds_per_seed": {str(s): round(r[2], 3) for s, r in zip(seeds, results)},
                    "command": sys.argv, "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        write_json(tmp / "manifest.json", manifest)
    return Path(out)
