"""One run of a sweep, on a worker: apply the run's changes, validate, simulate, summarise.

Why it never raises: a bad run (a value out of range, a crash) is that run's result,
recorded with its error while the others go on. Workers receive the merged base
scenario once (scattered) plus each run's changes, and return one small row plus the
run's daily series already encoded as Parquet bytes, so the client only moves bytes.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import os
import time
import traceback
from pathlib import Path

import pandas as pd

from sim.errors import InputError
from sim.outcomes.table import RunTable
from sim.outcomes.windows import Window
from sim.scenario.variation import set_path
from sim.studies.sweep.spec import Level


def summarise(ts: pd.DataFrame, outcomes: list[dict], period: tuple[dt.date, dt.date]) -> dict[str, float]:
    """Each outcome over its window (dates inclusive; default the scenario period)."""
    table = RunTable(ts)
    out = {}
    for o in outcomes:
        w = Window(o["start"] or period[0], o["end"] or period[1], o["name"])
        sel = {"metric": o["metric"], "nationality": o["nationality"] or None, "place": o["place"] or None}
        if o["stat"] == "sum":
            out[o["name"]] = float(table.sum(window=w, **sel))
            continue
        days = max((min(w.end, period[1]) - max(w.start, period[0])).days + 1, 1)
        daily = table.daily(w, **sel)
        out[o["name"]] = float(daily.sum() / days) if o["stat"] == "mean_daily" else float(daily.max())
    return out

def parquet_bytes(ts: pd.DataFrame) -> bytes:
    """A run's table as Parquet bytes, converted on the calling thread.

    ``from_pandas`` would otherwise start a pool of ``pyarrow.cpu_count()`` threads for
    each run of more than a few hundred rows: one in a local-cluster worker (Dask sets
    OMP_NUM_THREADS=1, which pyarrow follows), every CPU in a worker started otherwise or
    in a serial loop, where they only compete with the other workers.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(ts, preserve_index=False, nthreads=1), buf)
    return buf.getvalue()


def execute_run(base_raw: dict, scenario_path: str, task: dict, outcomes: list[dict],
                series_metrics: list[str] | None, store_series: bool) -> dict:
    """Validate, simulate, summarise one run. Never raises for a bad run: the error is the result.

    Returns the run's row with ``files``: its daily series and its leg flows as Parquet
    bytes (None when not stored or failed)."""
    import socket

    from sim.scenario.files import validate_raw
    from sim.scenario.inputs import Inputs
    from sim.studies.runner import simulate

    t0, c0 = time.perf_counter(), time.process_time()
    res = {"run_id": task["run_id"], "status": "ok", "error": None, "ledger_balanced": None,
           "worker": f"{socket.gethostname()}:{os.getpid()}", "files": None}
    try:
        raw = copy.deepcopy(base_raw)
        if task.get("draw") is not None:  # the posterior draw first: the sweep's own changes go over it
            from sim.studies import draws as dr

            d = dr.draws(raw, scenario_path, task["draws"], [task["seed"]] * task["draws"])[task["draw"]]
            raw = dr.apply(raw, d)
        for p, v in task["set"]:
            set_path(raw, p, v)
        for lv in task["levels"]:
            if lv is not None:
                Level.model_validate(lv).apply(raw)
        sc = validate_raw(raw, scenario_path)
        run = simulate(Inputs.load(scenario_path, scenario=sc), int(task["seed"]))
        res.update(summarise(run.timeseries, outcomes, (sc.period.start, sc.period.end)))
        res["ledger_balanced"] = bool(run.ledger.get("balanced", True))
        if store_series:
            ts = run.timeseries
            if series_metrics:
                ts = ts[ts["metric"].isin(series_metrics)]
            res["files"] = {"series": parquet_bytes(ts), "legs": parquet_bytes(run.legs)}
    except Exception as exc:  # recorded, never fatal to the sweep
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" [{Path(tb[-1].filename).name}:{tb[-1].lineno}]" if tb and not isinstance(exc, InputError) else ""
        res["status"] = "failed"
        res["error"] = f"{type(exc).__name__}: {exc}{where}"
        res["files"] = None
    res["wall_seconds"] = round(time.perf_counter() - t0, 3)
    res["cpu_seconds"] = round(time.process_time() - c0, 3)
    return res
