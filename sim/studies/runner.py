"""Running a scenario for one or more seeds and writing the output contract.

Why apart from the model: the model knows one run; this module knows replicates,
processes, progress bars and files. Output contract (other tools read these names):
``timeseries.parquet`` (tidy daily rows), ``legs.parquet`` (people per leg),
``summary.json`` (ledger per seed and headline figures), ``manifest.json``
(provenance) and ``plots/``.

Replicates in worker processes receive the ``Inputs`` object itself (the validated
scenario, its network and schedule), never a path to read again: whatever a caller
changed in memory (a counterfactual's period, a calibration's parameters) is what runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.engine.model import RouteModel
from sim.outcomes.observed import Observed
from sim.outcomes.table import RunTable, per_seed
from sim.outcomes.windows import calendar_years_to_date_in, fiscal_years_in
from sim.scenario.inputs import Inputs
from sim.studies.storage import atomic_dir, provenance, write_json

# headline figures: what CBP reports by fiscal year, what Panama reports by calendar year
HEADLINES = (("encounters", fiscal_years_in), ("darien_crossings", calendar_years_to_date_in))


@dataclass
class RunResult:
    """One replicate: its daily table, people ledger, leg flows and wall seconds."""

    seed: int
    timeseries: pd.DataFrame
    ledger: dict
    legs: pd.DataFrame
    seconds: float


def simulate(inputs: Inputs, seed: int, on_day=None) -> RunResult:
    """One replicate of ``inputs`` with ``seed``."""
    t0 = time.perf_counter()
    model = RouteModel(inputs, seed)
    model.run(on_day)
    return RunResult(int(seed), model.timeseries(), model.people_ledger(), model.leg_flows(),
                     time.perf_counter() - t0)


def resolve_seeds(inputs: Inputs, seed: int | None, replicates: int | None) -> list[int]:
    """--seed N picks the first seed, --replicates K how many consecutive seeds."""
    if seed is None and replicates is None:
        return list(inputs.scenario.seeds)
    base = seed if seed is not None else inputs.scenario.seeds[0]
    return list(range(base, base + (replicates or 1)))


def run_jobs(jobs: list[tuple[Inputs, int]], processes: int = 1, progress: bool = True) -> list[RunResult]:
    """Run (inputs, seed) pairs (in worker processes when asked); results in job order."""
    from tqdm import tqdm

    if not jobs:
        return []
    name = jobs[0][0].scenario.name
    results: dict[int, RunResult] = {}
    if processes <= 1 or len(jobs) == 1:
        bar = tqdm(total=sum(inp.n_days for inp, _ in jobs), unit="day", disable=not progress, desc=name,
                   file=sys.stderr, mininterval=0.5)
        for i, (inp, s) in enumerate(jobs):
            done = [0]

            def tick(day, done=done):
                bar.update(day - done[0])
                done[0] = day

            results[i] = simulate(inp, s, tick)
        bar.close()
    else:
        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
            futs = {pool.submit(simulate, inp, s): i for i, (inp, s) in enumerate(jobs)}
            for f in tqdm(as_completed(futs), total=len(futs), unit="run", disable=not progress, desc=name,
                          file=sys.stderr):
                results[futs[f]] = f.result()
    return [results[i] for i in range(len(jobs))]


def run_replicates(inputs: Inputs, seeds: list[int], processes: int = 1, progress: bool = True) -> list[RunResult]:
    """Run every seed of one ``Inputs``; results in seed order."""
    return run_jobs([(inputs, s) for s in seeds], processes, progress)


def draw_inputs(inputs: Inputs, k: int, seeds: list[int]) -> tuple[list, list[Inputs]]:
    """``k`` posterior draws of a scenario (``sim.studies.draws``) and their Inputs."""
    from sim.scenario.files import validate_raw
    from sim.studies import draws as dr

    raw = inputs.scenario.model_dump(mode="json")
    ds = dr.draws(raw, inputs.path, k, seeds)
    # the scale was checked on the scenario itself; a draw's levels are potential departures
    # before a response the footprint cannot bound (a particle whose sample held few people
    # has a large level and a strong response), so its estimate would refuse runs that fit
    return ds, [Inputs.load(inputs.path, validate_raw(dr.apply(raw, d), inputs.path), check_memory=False)
                for d in ds]


def headline(table: RunTable, inputs: Inputs, seeds: list[int]) -> dict:
    """Totals per metric over the period, and each headline metric over every fiscal
    (encounters) or calendar (Darién) year the period covers, with the observed figure
    where the scenario's observed data hold it."""
    per = table.sum(("metric", "seed"))
    metrics = sorted(per.index.get_level_values(0).unique()) if len(per) else []
    out = {"period_totals": {m: {str(s): int(per.get((m, s), 0)) for s in seeds} for m in metrics}, "windows": {}}
    p = inputs.scenario.period
    observed = Observed(inputs.scenario.observed)
    for metric, windows in HEADLINES:
        for w in windows(p.start, p.end):
            v = per_seed(table.sum(("seed",), metric=metric, window=w), seeds)
            out["windows"].setdefault(w.label, {})[metric] = {
                "per_seed": {str(s): int(x) for s, x in v.items()}, "mean": float(v.mean()),
                "observed": observed.total(metric, w)}
    return out


def run_scenario(path: str | Path, out: str | Path, seed: int | None = None, replicates: int | None = None,
                 processes: int = 1, progress: bool = True, plots: bool = True,
                 inputs: Inputs | None = None, posterior_draws: int = 0) -> dict:
    """Run a scenario and write its results folder atomically. Returns the summary written.

    With ``posterior_draws`` K, the replicates are K posterior draws, each with its own
    seed (the first seed and the next K-1); the tables get a ``draw`` column."""
    t0 = time.perf_counter()
    inputs = inputs or Inputs.load(path)
    seeds = resolve_seeds(inputs, seed, posterior_draws or replicates)
    if posterior_draws:
        ds, inps = draw_inputs(inputs, posterior_draws, seeds)
        results = run_jobs(list(zip(inps, seeds)), processes, progress)
        for d, r in zip(ds, results):
            r.timeseries.insert(r.timeseries.columns.get_loc("seed") + 1, "draw", d.index)
            r.legs.insert(r.legs.columns.get_loc("seed") + 1, "draw", d.index)
    else:
        ds, results = [], run_replicates(inputs, seeds, processes, progress)
    ts = pd.concat([r.timeseries for r in results], ignore_index=True)
    sc = inputs.scenario
    summary = {
        "scenario": sc.name,
        "scenario_file": str(path),
        "seeds": seeds,
        "random_numbers": sc.random_numbers,
        "period": {"start": sc.period.start.isoformat(), "end": sc.period.end.isoformat()},
        "spinup_start": sc.spinup_start.isoformat(),
        "ledger": {str(r.seed): r.ledger for r in results},
        **headline(RunTable(ts), inputs, seeds),
    }
    if ds:
        summary["posterior_draws"] = [{"draw": d.index, "posterior_row": d.row, "seed": d.seed} for d in ds]
    with atomic_dir(out) as tmp:
        ts.to_parquet(tmp / "timeseries.parquet", index=False)
        pd.concat([r.legs for r in results], ignore_index=True).to_parquet(tmp / "legs.parquet", index=False)
        write_json(tmp / "summary.json", summary)
        if plots:
            from sim.studies.plots import make_run_plots

            make_run_plots(ts, sc.observed, tmp / "plots", sc.name)
        manifest = {**provenance(), "scenario": sc.name, "scenario_file": str(path),
                    "scenario_sha256": inputs.scenario_sha256, "seeds": seeds,
                    "random_numbers": sc.random_numbers, "processes": processes,
                    "wall_seconds": round(time.perf_counter() - t0, 3),
                    "run_seconds_per_seed": {str(r.seed): round(r.seconds, 3) for r in results},
                    "posterior_draws": posterior_draws,
                    "posterior_sha256": (hashlib.sha256(Path(sc.posterior).read_bytes()).hexdigest()
                                         if posterior_draws and sc.posterior else None),
                    "command": sys.argv, "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        write_json(tmp / "manifest.json", manifest)
    return summary
