"""Running (or resuming) a sweep: check everything, plan, submit to Dask, commit results.

Why this order: every error in the sweep file or its base scenario is found before any
output exists (``prepare``); then runs are submitted in a bounded window (flat memory
for any sweep size) and each result is committed as it arrives (``Store``), so Ctrl-C
or a killed worker loses nothing finished and rerunning the same command resumes.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from sim.errors import InputError
from sim.scenario.variation import set_path
from sim.schema import field_path
from sim.studies.sweep.cluster import dash_ok, open_client, scatter_base
from sim.studies.sweep.design import cell, make_design, plain, problem_of
from sim.studies.sweep.execute import execute_run
from sim.studies.sweep.spec import SweepSpec, read_spec
from sim.studies.sweep.store import Store


def _spec_hash(spec: SweepSpec, base_raw: dict, data_sha: str) -> str:
    blob = json.dumps({"spec": spec.model_dump(mode="json"), "base": base_raw, "data": data_sha},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _check_paths(spec: SweepSpec, sweep_path: Path, base_raw: dict, base_path: Path) -> None:
    """A parameter or switch key the scenario schema does not know is an error in the sweep
    file (every run would fail); a value out of range is only that run's failure."""
    from sim.scenario.files import without_origins
    from sim.scenario.spec import Scenario

    def probe(raw: dict, field: str) -> None:
        try:
            Scenario.model_validate(without_origins(raw)[0])
        except ValidationError as exc:
            for err in exc.errors():
                if err["type"] == "extra_forbidden":
                    raise InputError(sweep_path, field, f"the scenario has no key {field_path(err)}") from None

    for i, p in enumerate(spec.parameters):
        raw = copy.deepcopy(base_raw)
        try:
            set_path(raw, p.path, p.values[0] if p.values is not None else p.bounds[0])
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise InputError(sweep_path, f"parameters.{i}.path", f"cannot set {p.path}: {exc}") from None
        probe(raw, f"parameters.{i}.path")
    for i, s in enumerate(spec.switches):
        for name, lv in s.levels.items():
            raw = copy.deepcopy(base_raw)
            try:
                if lv is not None:
                    lv.apply(raw)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise InputError(sweep_path, f"switches.{i}.levels.{name}", f"cannot apply: {exc}") from None
            probe(raw, f"switches.{i}.levels.{name}")


def prepare(sweep_path: str | Path, posterior_draws: bool | int = False) -> dict:
    """Read and check everything before any output exists: spec, base scenario, design.

    ``posterior_draws``: True, replicate i of every point takes posterior draw i (as
    ``posterior_draws: true`` in the file); an int K >= 1, the same with K replicates,
    seeds counted on from the file's first replicate seed."""
    from sim.scenario.files import read_raw, validate_raw
    from sim.scenario.inputs import Inputs

    sweep_path = Path(sweep_path)
    spec, base_path = read_spec(sweep_path)
    if posterior_draws:
        update = {"posterior_draws": True}
        if posterior_draws is not True:  # K
            first = spec.replicates[0]
            update["replicates"] = list(range(first, first + int(posterior_draws)))
        spec = spec.model_copy(update=update)
    base_raw = read_raw(base_path)
    for i, (p, v) in enumerate(spec.fixed.items()):
        try:
            set_path(base_raw, p, v)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise InputError(sweep_path, f"fixed.{p}", f"cannot set: {exc}") from None
    try:
        sc = validate_raw(base_raw, base_path)
    except InputError as exc:
        raise InputError(sweep_path, f"fixed (base {base_path.name}: {exc.field})", exc.message) from None
    if spec.posterior_draws:
        from sim.studies.draws import read_posterior

        read_posterior(base_raw, sweep_path)  # a posterior to draw from, before any output
    inputs = Inputs.load(base_path, scenario=sc)
    _check_paths(spec, sweep_path, base_raw, base_path)
    design, points = make_design(spec)
    param_names = [p.name for p in spec.parameters]
    switch_names = [s.name for s in spec.switches]
    columns = (["run_id", "point", "seed"] + (["draw"] if spec.posterior_draws else []) + ["status", "error"]
               + param_names + switch_names
               + [o.name for o in spec.outcomes] + ["ledger_balanced", "wall_seconds", "cpu_seconds", "worker", "finished_utc"])
    from sim.studies.storage import provenance

    meta = {
        "name": spec.name, "description": spec.description, "sweep_file": str(sweep_path.resolve()),
        "base_scenario": str(base_path), "spec": spec.model_dump(mode="json"),
        "spec_sha256": _spec_hash(spec, base_raw, inputs.scenario_sha256),
        "sampler": spec.sampler.model_dump(mode="json"), "problem": problem_of(spec),
        "parameters": param_names, "switches": switch_names, "outcomes": [o.name for o in spec.outcomes],
        "replicates": list(spec.replicates), "n_points": len(points), "n_runs": len(design),
        "observed": sc.observed, "departures_scale": sc.departures.scale, "network": {"nodes": sc.network.nodes, "edges": sc.network.edges},
        "period": {"start": sc.period.start.isoformat(), "end": sc.period.end.isoformat()},
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **provenance(),
    }
    return {"spec": spec, "path": sweep_path, "base_path": base_path, "base_raw": base_raw, "design": design,
            "points": points, "meta": meta, "columns": columns}


def task_of(prep: dict, r) -> dict:
    """What a worker needs to know of one run (a row of the design): its id, seed and changes."""
    pt = prep["points"][int(r.point)]
    params_by = {p.name: p for p in prep["spec"].parameters}
    levels_by = {s.name: s.levels for s in prep["spec"].switches}
    draw = getattr(r, "draw", None)
    return {"run_id": r.run_id, "seed": int(r.seed), "point": int(r.point),
            "draw": None if draw is None or pd.isna(draw) else int(draw),
            "draws": len(prep["spec"].replicates),
            "set": [(params_by[k].path, plain(v)) for k, v in pt["params"].items()],
            "levels": [(lv.model_dump() if (lv := levels_by[s][pt["levels"][s]]) is not None else None)
                       for s in levels_by]}


def run_args(prep: dict) -> tuple:
    """The arguments every run of the sweep shares after (base, path, task): outcomes,
    series metrics, whether series are stored."""
    spec: SweepSpec = prep["spec"]
    return ([o.model_dump() for o in spec.outcomes],
            list(spec.series.metrics) if spec.series.metrics else None, spec.series.store)


def run_sweep(sweep_path: str | Path, out: str | Path, workers: int | None = None, scheduler: str | None = None,
              posterior_draws: bool | int = False,
              retry_failed: bool = False, progress: bool = True, compact_every: float = 5.0,
              stop_after: int | None = None, timings: dict | None = None) -> dict:
    """Run (or resume) a sweep into ``out``. Returns counts {total, skipped, ok, failed, interrupted}.

    ``stop_after`` stops as if interrupted after that many commits (for tests). ``timings``,
    if given, receives seconds from the call to: the cluster ready, the first and the last
    result committed, the cluster closed (where a sweep's wall time goes, for the benchmark)."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    t_start = time.perf_counter()

    def mark(event: str) -> None:
        if timings is not None:
            timings[event] = round(time.perf_counter() - t_start, 3)

    prep = prepare(sweep_path, posterior_draws)
    spec: SweepSpec = prep["spec"]
    design: pd.DataFrame = prep["design"]
    store = Store(out)
    store.open(prep["meta"], design, prep["columns"])
    done = store.read_journal()
    redo = {k for k, r in done.items() if r.get("status") != "ok"} if retry_failed else set()
    todo = design[~design["run_id"].isin(set(done) - redo)]
    stats = {"total": len(design), "skipped": len(design) - len(todo), "ok": 0, "failed": 0, "interrupted": False}
    if todo.empty:
        store.compact()
        store.close()
        return stats

    points = prep["points"]
    common = run_args(prep)
    client = cluster = bar = None
    pending = iter(todo.itertuples(index=False))
    last_compact = time.monotonic()
    try:
        client, cluster = open_client(workers, scheduler)
        base_f = scatter_base(client, prep["base_raw"])
        mark("cluster_ready_s")
        nthreads = max(sum(client.nthreads().values()), 1)
        window = max(4 * nthreads, 32)  # bounded in-flight tasks: flat memory for any sweep size
        info = {}

        def submit(r):
            f = client.submit(execute_run, base_f, str(prep["base_path"]), task_of(prep, r), *common,
                              pure=False, key=f"migsim-run-{r.run_id}-{os.urandom(3).hex()}")
            info[f.key] = r
            return f

        ac = as_completed([submit(r) for r in itertools.islice(pending, window)])
        bar = tqdm(total=len(design), initial=stats["skipped"], unit="run", desc=spec.name, disable=not progress,
                   file=sys.stderr, mininterval=0.5, smoothing=0.05, dynamic_ncols=True)
        if progress and cluster is not None and dash_ok():
            print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr)
        for fut in ac:
            r = info.pop(fut.key)
            try:
                res = fut.result()
            except Exception as exc:  # KilledWorker (the run crashed its worker repeatedly), lost data...
                res = {"run_id": r.run_id, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                       "files": None, "wall_seconds": None, "cpu_seconds": None, "worker": None,
                       "ledger_balanced": None}
            fut.release()
            files = res.pop("files", None)
            pt = points[int(r.point)]
            row = {"run_id": r.run_id, "point": int(r.point), "seed": int(r.seed),
                   **({"draw": int(r.draw)} if spec.posterior_draws else {}),
                   **{k: cell(v) for k, v in pt["params"].items()}, **pt["levels"], **res,
                   "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            store.commit(row, files)
            mark("last_result_s")
            if stats["ok"] + stats["failed"] == 0:
                mark("first_result_s")
            stats["ok" if row["status"] == "ok" else "failed"] += 1
            bar.update(1)
            bar.set_postfix(failed=stats["failed"], refresh=False)
            if time.monotonic() - last_compact > compact_every:
                t_c = time.monotonic()
                store.compact()
                last_compact = time.monotonic()
                # a long sweep's journal grows: keep compaction under ~5% of the client's time
                compact_every = max(compact_every, 20 * (last_compact - t_c))
            nxt = next(pending, None)
            if nxt is not None:
                ac.add(submit(nxt))
            if stop_after is not None and stats["ok"] + stats["failed"] >= stop_after:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        stats["interrupted"] = True
    finally:
        if bar is not None:
            bar.close()
        try:
            if client is not None:
                client.close(timeout=10)
        except Exception:
            pass
        if cluster is not None:
            try:
                cluster.close(timeout=10)
            except Exception:
                pass
        store.close()
        store.recover()
        mark("closed_s")
    return stats


