"""Batch sweeps: many runs of one base scenario over parameters, policy switches and seeds.

Why this shape (after the EMA Workbench): a sweep file declares *factors* -- parameters
named by a dotted path into the scenario (``border.removed_retry``), given as a list of
values (grid) or as bounds for a SALib sampler (latin, sobol, morris) -- and policy
*switches*, categorical factors whose levels set keys or add/replace entries of the
scenario's ``policies`` list. Every design point runs once per replicate seed; a run is
(design point, seed) with a deterministic id (hash of the point, its index and the seed),
so rerunning the same command skips what is already stored.

Execution uses dask.distributed (``Client.submit`` + ``as_completed``): a LocalCluster
by default, or any existing scheduler (``--scheduler tcp://...``, e.g. a SLURM cluster
through dask-jobqueue). Workers receive the merged base scenario once (scattered) plus
each run's overrides, validate, simulate, summarise the declared outcomes over their
windows and return one small row plus the run's daily series already encoded as Parquet
bytes; the client only moves bytes to disk, so it neither competes for CPU nor grows.

Store (``DIR``), crash-consistent at every instant:

- ``sweep.json``: the spec, its hash (spec + base scenario + data files), the SALib
  problem, provenance. A resume with a different spec is refused.
- ``design.parquet``: the plan, one row per run (run_id, point, seed, factor values),
  and the raw sampler matrix columns (``x_<factor>``) the sensitivity analysis needs.
- ``journal.jsonl``: the commit log, one JSON line per finished run (ok or failed).
  A run exists iff its line is complete. A torn last line is dropped on resume.
- ``series/run_id=<id>/part.parquet``: the run's daily rows (hive-partitioned).
  Written first to ``.staging/<id>.parquet`` (tmp + rename), then the journal line is
  appended (the commit point), then moved into ``series/``. On resume a staged file
  with a journal line is moved into place (roll forward), one without is deleted (roll
  back), so ``series/`` only ever shows committed runs and no run is duplicated.
- ``runs.parquet``: the journal compacted to a table (one row per run, the last entry
  per id wins), rewritten atomically every few seconds, at the end, on Ctrl-C and on
  resume.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import itertools
import json
import math
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.cli_types import positive_int as _positive
from sim.errors import InputError
from sim.schema import Strict, field_path, first_error, read_yaml_mapping

from sim.model import METRICS  # noqa: E402  (the model's metric names are the contract)

Metric = Literal["departures", "darien_crossings", "encounters", "deaths", "removals",
                 "released_us", "expulsions", "retries", "interdictions"]
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = {"run_id", "point", "seed", "status", "error", "wall_seconds", "cpu_seconds", "worker", "finished_utc",
            "ledger_balanced", "attempt"}
SAMPLERS = ("grid", "latin", "sobol", "morris")


# ---------------------------------------------------------------- the sweep file

def _name(v: str) -> str:
    if not NAME_RE.match(v):
        raise ValueError(f"{v!r} is not a name (letters, digits, underscore; not starting with a digit)")
    if v in RESERVED:
        raise ValueError(f"{v!r} is reserved for a runs.parquet column")
    return v


class Parameter(Strict):
    """A numeric or categorical scenario value: ``values`` for a grid, ``bounds`` for a sampler."""

    name: str = Field(description="column name in runs.parquet")
    path: str = Field(description="dotted path into the scenario, e.g. border.removed_retry or "
                                  "border.removal_share.MEXICO; list items by index (policies.0.start)")
    values: list[Any] | None = Field(None, min_length=1, description="grid values")
    bounds: tuple[float, float] | None = Field(None, description="[low, high] for latin/sobol/morris")
    integer: bool = Field(False, description="round sampled values to integers")

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))

    @model_validator(mode="after")
    def _one_of(self):
        if (self.values is None) == (self.bounds is None):
            raise ValueError("give exactly one of values (grid) or bounds (sampler)")
        if self.bounds is not None and not (math.isfinite(self.bounds[0]) and math.isfinite(self.bounds[1])
                                            and self.bounds[0] < self.bounds[1]):
            raise ValueError("bounds must be finite with low < high")
        if not self.path or any(p == "" for p in self.path.split(".")):
            raise ValueError("path must be dotted keys like border.removed_retry")
        return self


class Level(Strict):
    """One level of a policy switch: keys to set and policies to add, replace or remove."""

    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value")
    policies: list[dict[str, Any]] = Field(default_factory=list, description=(
        "entries for the scenario's policies list; an entry replaces the existing ones of the same type "
        "and label, otherwise it is appended"))
    remove_policies: list[str] = Field(default_factory=list, description="policy types to drop")

    @field_validator("policies")
    @classmethod
    def _typed(cls, v):
        for i, p in enumerate(v):
            if "type" not in p:
                raise ValueError(f"entry {i} has no type")
        return v


class Switch(Strict):
    """A categorical factor (a policy on or off, or one of several variants)."""

    name: str
    levels: dict[str, Level | None] = Field(min_length=1, description="level name -> changes (null: none)")

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))


class Outcome(Strict):
    """A summary of one metric over a window: the sum (persons) or a daily mean/max."""

    name: str
    metric: Metric
    start: dt.date | None = Field(None, description="first day (default: period start)")
    end: dt.date | None = Field(None, description="last day (default: period end)")
    nationality: list[str] | None = Field(None, description="only these citizenships")
    place: list[str] | None = Field(None, description="only these places (node id; CBP area name for encounters)")
    stat: Literal["sum", "mean_daily", "max_daily"] = "sum"

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))

    @field_validator("nationality", "place", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _order(self):
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class Sampler(Strict):
    """How design points are made. grid: every combination of the parameters' values."""

    method: Literal["grid", "latin", "sobol", "morris"] = "grid"
    n: int | None = Field(None, ge=1, description=(
        "latin: points; sobol: base samples N (N*(D+2) points, N*(2D+2) with second order; a power of 2); "
        "morris: trajectories (N*(D+1) points)"))
    seed: int = Field(0, ge=0, description="seed of the sampler")
    calc_second_order: bool = Field(False, description="sobol: second-order indices")
    levels: int = Field(4, ge=2, description="morris: grid levels")
    switches: Literal["cross", "sample"] = Field("cross", description=(
        "cross: every sampled point runs under every combination of switch levels (indices per combination); "
        "sample: switches are sampled factors too (a uniform on [0, levels) floored), so they get indices"))

    @model_validator(mode="after")
    def _n_needed(self):
        if self.method != "grid" and self.n is None:
            raise ValueError(f"{self.method} needs n")
        return self


class SeriesSpec(Strict):
    store: bool = Field(True, description="write each run's daily rows under series/")
    metrics: list[Metric] | None = Field(None, description="only these metrics (default all)")


class SweepSpec(Strict):
    """A sweep: base scenario, fixed changes, factors, replicates, outcomes."""

    name: str
    description: str = ""
    base: str = Field(description="scenario YAML, relative to the sweep file")
    fixed: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value, applied to every run")
    sampler: Sampler = Sampler()
    parameters: list[Parameter] = Field(default_factory=list)
    switches: list[Switch] = Field(default_factory=list)
    replicates: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, description="seeds, each design point runs once per seed")
    outcomes: list[Outcome] = Field(min_length=1)
    series: SeriesSpec = SeriesSpec()

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.replicates)) != len(self.replicates):
            raise ValueError("replicates: seeds repeat")
        names = [p.name for p in self.parameters] + [s.name for s in self.switches] + [o.name for o in self.outcomes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"names used twice: {sorted(dup)}")
        grid = self.sampler.method == "grid"
        for p in self.parameters:
            if grid and p.values is None:
                raise ValueError(f"parameter {p.name}: the grid sampler needs values, not bounds")
            if not grid and p.bounds is None:
                raise ValueError(f"parameter {p.name}: the {self.sampler.method} sampler needs bounds, not values")
        if not grid and not self.parameters and not (self.sampler.switches == "sample" and self.switches):
            raise ValueError(f"the {self.sampler.method} sampler needs parameters with bounds")
        return self


def read_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """Parse and validate a sweep file; returns the spec and the resolved base scenario path."""
    path = Path(path)
    raw = read_yaml_mapping(path, "sweep file")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise first_error(exc, path, "sweep") from None
    base = Path(spec.base)
    base = base if base.is_absolute() else (path.parent / base).resolve()
    if not base.is_file():
        raise InputError(path, "base", f"file not found: {spec.base}")
    return spec, base


# ---------------------------------------------------------------- changing a raw scenario

def set_path(raw: dict, path: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts (creating mappings), list items by integer index."""
    keys = path.split(".")
    d: Any = raw
    for i, k in enumerate(keys[:-1]):
        if isinstance(d, list):
            d = d[int(k)]
            continue
        nxt = d.get(k)
        if nxt is None:
            nxt = d[k] = {}
        elif not isinstance(nxt, (dict, list)):
            # a scalar shorthand (ofo_share: 0.15) becomes {default: 0.15} before keying into it
            nxt = d[k] = {"default": nxt}
        d = nxt
    last = keys[-1]
    if isinstance(d, list):
        d[int(last)] = value
    else:
        d[last] = copy.deepcopy(value)


def apply_level(raw: dict, level: Level | None) -> None:
    if level is None:
        return
    for p, v in level.set.items():
        set_path(raw, p, v)
    if level.policies or level.remove_policies:
        pol = [dict(p) for p in (raw.get("policies") or [])]
        pol = [p for p in pol if p.get("type") not in set(level.remove_policies)]
        for new in level.policies:
            same = [i for i, p in enumerate(pol)
                    if p.get("type") == new["type"] and p.get("label", "") == new.get("label", "")]
            if same:
                pol = [p for i, p in enumerate(pol) if i not in same[1:]]
                pol[same[0]] = copy.deepcopy(new)
            else:
                pol.append(copy.deepcopy(new))
        raw["policies"] = pol


def apply_overrides(base: dict, params: dict[str, Any], spec: SweepSpec, levels: dict[str, str]) -> dict:
    """The raw scenario of one design point (base already carries ``fixed``)."""
    raw = copy.deepcopy(base)
    for s in spec.switches:
        apply_level(raw, s.levels[levels[s.name]])
    for p in spec.parameters:
        set_path(raw, p.path, params[p.name])
    return raw


# ---------------------------------------------------------------- design

def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def problem_of(spec: SweepSpec) -> dict:
    """The SALib problem: sampled parameters, plus switches when they are sampled."""
    names, bounds = [], []
    if spec.sampler.method == "grid":
        return {"num_vars": 0, "names": [], "bounds": []}
    for p in spec.parameters:
        names.append(p.name)
        bounds.append([float(p.bounds[0]), float(p.bounds[1])])
    if spec.sampler.switches == "sample":
        for s in spec.switches:
            names.append(s.name)
            bounds.append([0.0, float(len(s.levels))])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sample_matrix(spec: SweepSpec) -> np.ndarray:
    s = spec.sampler
    problem = problem_of(spec)
    if s.method == "latin":
        from SALib.sample import latin
        return latin.sample(problem, s.n, seed=s.seed)
    if s.method == "sobol":
        import warnings

        from SALib.sample import sobol
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sobol.sample(problem, s.n, calc_second_order=s.calc_second_order, seed=s.seed)
    if s.method == "morris":
        from SALib.sample import morris
        return morris.sample(problem, s.n, num_levels=s.levels, seed=s.seed)
    raise ValueError(s.method)


def design_size(spec: SweepSpec) -> int:
    """Number of design points (before replicates) the sampler makes."""
    s = spec.sampler
    n_cross = math.prod(len(sw.levels) for sw in spec.switches) if (s.method == "grid" or s.switches == "cross") else 1
    if s.method == "grid":
        return math.prod(len(p.values) for p in spec.parameters) * n_cross
    d = problem_of(spec)["num_vars"]
    per = {"latin": s.n, "sobol": s.n * (2 * d + 2 if s.calc_second_order else d + 2),
           "morris": s.n * (d + 1)}[s.method]
    return per * n_cross


def run_id(point: int, values: dict[str, Any], seed: int) -> str:
    blob = json.dumps({"point": point, "values": values, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_design(spec: SweepSpec) -> tuple[pd.DataFrame, list[dict]]:
    """The plan: one row per run (run_id, point, seed, factor values, x_ columns) and, per
    design point, its parameter values and switch levels."""
    s = spec.sampler
    sw_names = [sw.name for sw in spec.switches]
    combos = list(itertools.product(*[list(sw.levels) for sw in spec.switches]))
    points: list[dict] = []
    if s.method == "grid":
        for vals in itertools.product(*[p.values for p in spec.parameters]):
            for combo in combos:
                points.append({"params": dict(zip([p.name for p in spec.parameters], vals)),
                               "levels": dict(zip(sw_names, combo)), "x": {}})
    else:
        X = sample_matrix(spec)
        names = problem_of(spec)["names"]
        for row in X:
            x = dict(zip(names, map(float, row)))
            params = {p.name: (int(round(x[p.name])) if p.integer else x[p.name]) for p in spec.parameters}
            if s.switches == "sample":
                levels = {sw.name: list(sw.levels)[min(int(math.floor(x[sw.name])), len(sw.levels) - 1)]
                          for sw in spec.switches}
                points.append({"params": params, "levels": levels, "x": x})
            else:
                for combo in combos:
                    points.append({"params": params, "levels": dict(zip(sw_names, combo)), "x": x})
    rows = []
    for i, pt in enumerate(points):
        values = {**{k: _plain(v) for k, v in pt["params"].items()}, **pt["levels"]}
        for seed in spec.replicates:
            rows.append({"run_id": run_id(i, values, seed), "point": i, "seed": seed,
                         **{k: _cell(v) for k, v in values.items()},
                         **{f"x_{k}": v for k, v in pt["x"].items()}})
    design = pd.DataFrame(rows)
    if design["run_id"].duplicated().any():  # pragma: no cover - sha256 collision
        raise RuntimeError("duplicate run ids in the design")
    return design, points


def _cell(v: Any) -> Any:
    """A value fit for a Parquet column: scalars stay, anything else becomes JSON text."""
    v = _plain(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return json.dumps(v, sort_keys=True, default=str)


# ---------------------------------------------------------------- one run (on a worker)

def summarise(ts: pd.DataFrame, outcomes: list[dict], period: tuple[dt.date, dt.date]) -> dict[str, float]:
    """Each outcome over its window (dates inclusive; default the scenario period)."""
    codes, uniq = pd.factorize(ts["date"])
    day = np.array([pd.Timestamp(d).toordinal() for d in uniq], dtype=np.int64)[codes] if len(uniq) else np.zeros(0, np.int64)
    metric = ts["metric"].to_numpy(dtype=object)
    value = ts["value"].to_numpy(dtype=np.float64)
    by_metric = {m: metric == m for m in {o["metric"] for o in outcomes}}
    out = {}
    for o in outcomes:
        start = o["start"] or period[0]
        end = o["end"] or period[1]
        m = by_metric[o["metric"]] & (day >= start.toordinal()) & (day <= end.toordinal())
        if o["nationality"]:
            m &= ts["nationality"].isin(o["nationality"]).to_numpy()
        if o["place"]:
            m &= ts["place"].isin(o["place"]).to_numpy()
        if o["stat"] == "sum":
            out[o["name"]] = float(value[m].sum())
        else:
            days = max((min(end, period[1]) - max(start, period[0])).days + 1, 1)
            daily = np.bincount(day[m] - start.toordinal(), weights=value[m]) if m.any() else np.zeros(1)
            out[o["name"]] = float(daily.sum() / days) if o["stat"] == "mean_daily" else float(daily.max())
    return out


def series_bytes(ts: pd.DataFrame) -> bytes:
    """A run's daily rows as Parquet bytes, converted on the calling thread.

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
    """Validate, simulate, summarise one run. Never raises for a bad run: the error is the result."""
    import socket

    from sim.inputs import Inputs
    from sim.runner import simulate
    from sim.scenario import validate_raw

    t0, c0 = time.perf_counter(), time.process_time()
    res = {"run_id": task["run_id"], "status": "ok", "error": None, "ledger_balanced": None,
           "worker": f"{socket.gethostname()}:{os.getpid()}", "series": None}
    try:
        raw = copy.deepcopy(base_raw)
        for p, v in task["set"]:
            set_path(raw, p, v)
        for lv in task["levels"]:
            apply_level(raw, Level.model_validate(lv) if lv is not None else None)
        sc = validate_raw(raw, scenario_path)
        inputs = Inputs.load(scenario_path, scenario=sc)
        ts, ledger, _ = simulate(inputs, int(task["seed"]))
        res.update(summarise(ts, outcomes, (sc.period.start, sc.period.end)))
        res["ledger_balanced"] = bool(ledger.get("balanced", True))
        if store_series:
            if series_metrics:
                ts = ts[ts["metric"].isin(series_metrics)]
            res["series"] = series_bytes(ts)
    except Exception as exc:  # recorded, never fatal to the sweep
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" [{Path(tb[-1].filename).name}:{tb[-1].lineno}]" if tb and not isinstance(exc, InputError) else ""
        res["status"] = "failed"
        res["error"] = f"{type(exc).__name__}: {exc}{where}"
        res["series"] = None
    res["wall_seconds"] = round(time.perf_counter() - t0, 3)
    res["cpu_seconds"] = round(time.process_time() - c0, 3)
    return res


# ---------------------------------------------------------------- the store

class Store:
    """The sweep folder and its commit protocol (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.journal = self.root / "journal.jsonl"
        self.staging = self.root / ".staging"
        self.series = self.root / "series"
        self.runs = self.root / "runs.parquet"
        self.meta_path = self.root / "sweep.json"
        self.design_path = self.root / "design.parquet"
        self._fd: int | None = None
        self.columns: list[str] | None = None

    # -- set up / check
    def open(self, meta: dict, design: pd.DataFrame, columns: list[str]) -> None:
        self.columns = columns
        if self.meta_path.exists():
            old = json.loads(self.meta_path.read_text())
            if old.get("spec_sha256") != meta["spec_sha256"]:
                raise InputError(self.root, "sweep.json", (
                    "this folder holds a different sweep (spec, base scenario or data files changed); "
                    "use another --out, or the original files to resume"))
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.design_path, lambda p: design.to_parquet(p, index=False))
            _atomic_write(self.meta_path, lambda p: p.write_text(json.dumps(meta, indent=2, default=str) + "\n"))
        if not self.design_path.exists():
            _atomic_write(self.design_path, lambda p: design.to_parquet(p, index=False))
        self.staging.mkdir(exist_ok=True)
        self.series.mkdir(exist_ok=True)
        self.recover()
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- journal
    def read_journal(self) -> dict[str, dict]:
        """Committed runs by id (the last line per id wins); a torn last line is cut off."""
        if not self.journal.exists():
            return {}
        data = self.journal.read_bytes()
        good_end = data.rfind(b"\n") + 1
        rows: dict[str, dict] = {}
        for line in data[:good_end].splitlines():
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[r["run_id"]] = r
        if good_end < len(data) and self._fd is None:  # torn write from a kill: drop it
            with open(self.journal, "r+b") as f:
                f.truncate(good_end)
        return rows

    def recover(self) -> dict[str, dict]:
        """Roll staged series forward (committed) or back (not), drop orphans, compact."""
        rows = self.read_journal()
        ok = {k for k, r in rows.items() if r.get("status") == "ok"}
        for f in self.staging.glob("*"):
            rid = f.name.split(".")[0]
            if f.name.endswith(".parquet") and rid in ok and not self._series_file(rid).exists():
                self._series_file(rid).parent.mkdir(exist_ok=True)
                os.replace(f, self._series_file(rid))
            else:
                f.unlink(missing_ok=True)
        for d in self.series.glob("run_id=*"):
            rid = d.name.split("=", 1)[1]
            if rid not in ok or not (d / "part.parquet").exists():
                for f in d.glob("*"):
                    f.unlink()
                d.rmdir()
        self.compact(rows)
        return rows

    def _series_file(self, rid: str) -> Path:
        return self.series / f"run_id={rid}" / "part.parquet"

    def commit(self, row: dict, series: bytes | None) -> None:
        rid = row["run_id"]
        staged = None
        if series is not None:
            staged = self.staging / f"{rid}.parquet"
            tmp = self.staging / f"{rid}.tmp-{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(series)
            os.replace(tmp, staged)
        line = (json.dumps(row, default=str, allow_nan=True) + "\n").encode()
        os.write(self._fd, line)  # the commit point (O_APPEND: one write, one line)
        os.fsync(self._fd)
        if staged is not None:
            dest = self._series_file(rid)
            dest.parent.mkdir(exist_ok=True)
            os.replace(staged, dest)
        elif self._series_file(rid).exists():  # a retried run that now failed: no stale series
            self._series_file(rid).unlink()
            self._series_file(rid).parent.rmdir()

    def compact(self, rows: dict[str, dict] | None = None) -> pd.DataFrame:
        rows = self.read_journal() if rows is None else rows
        df = pd.DataFrame(list(rows.values()))
        if self.columns is not None:
            df = df.reindex(columns=self.columns)
        if "point" in df.columns and len(df):
            df = df.sort_values(["point", "seed"], kind="stable").reset_index(drop=True)
        _atomic_write(self.runs, lambda p: df.to_parquet(p, index=False))
        return df


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- running a sweep

def _spec_hash(spec: SweepSpec, base_raw: dict, data_sha: str) -> str:
    blob = json.dumps({"spec": spec.model_dump(mode="json"), "base": base_raw, "data": data_sha},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _check_paths(spec: SweepSpec, sweep_path: Path, base_raw: dict, base_path: Path) -> None:
    """A parameter or switch key the scenario schema does not know is an error in the sweep
    file (every run would fail); a value out of range is only that run's failure."""
    from sim.scenario import Scenario

    def probe(raw: dict, field: str) -> None:
        try:
            Scenario.model_validate(raw)
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
                apply_level(raw, lv)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise InputError(sweep_path, f"switches.{i}.levels.{name}", f"cannot apply: {exc}") from None
            probe(raw, f"switches.{i}.levels.{name}")


def prepare(sweep_path: str | Path) -> dict:
    """Read and check everything before any output exists: spec, base scenario, design."""
    from sim.inputs import Inputs
    from sim.scenario import read_raw, validate_raw

    sweep_path = Path(sweep_path)
    spec, base_path = read_spec(sweep_path)
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
    inputs = Inputs.load(base_path, scenario=sc)
    _check_paths(spec, sweep_path, base_raw, base_path)
    design, points = make_design(spec)
    param_names = [p.name for p in spec.parameters]
    switch_names = [s.name for s in spec.switches]
    columns = (["run_id", "point", "seed", "status", "error"] + param_names + switch_names
               + [o.name for o in spec.outcomes] + ["ledger_balanced", "wall_seconds", "cpu_seconds", "worker", "finished_utc"])
    from sim.storage import provenance

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


# Dask's housekeeping, made rarer in the local cluster (workers, nannies, scheduler): with a
# worker per core, every CPU second it takes is a second some run waits. With the defaults
# (over 150 wake-ups a second) a run took 7-12% more CPU in a 2-worker cluster than alone:
# the worker's event loop and profiler about 4%, the rest in the run's own thread, slowed by
# the interruptions. With these, the run's thread takes as much CPU as alone, and the
# sweep reaches 93-95% of the serial throughput x workers (benchmarks/README.md, "Sweep
# throughput"). Workers of an existing cluster (--scheduler) keep their own settings.
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,  # samples the running task's stack every 10 ms (dashboard)
    "distributed.admin.tick.interval": "500ms",  # event-loop liveness check, every 20 ms by default
    "distributed.worker.memory.monitor-interval": "1s",  # memory limits still enforced, checked every 1 s
    "distributed.admin.system-monitor.interval": "2s",  # the dashboard's CPU, memory and network graphs
}


def _open_client(workers: int | None, scheduler: str | None):
    import logging

    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n = workers or os.cpu_count() or 1
    try:
        import bokeh  # noqa: F401
        dash = ":0"
    except ImportError:
        dash = None
    # a Nanny writes its pre-spawn environment into this process's os.environ, which the
    # workers it spawns inherit: after a cluster with Dask's defaults (an earlier one in a
    # test session or a notebook), ours and any worker its nanny restarts would get it too
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ(), **QUIET_CLUSTER}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=dash,
                               silence_logs=logging.ERROR)
    return Client(cluster), cluster


def worker_environ() -> dict:
    """Dask's worker environment without MALLOC_TRIM_THRESHOLD_.

    Dask sets it (65536) so workers hand memory back to the system; setting it also turns
    off glibc's adaptive mmap threshold, so every large numpy temporary is a fresh mmap
    with page faults: the model ran 40-65% slower inside a worker than in a plain
    process. Without it, a worker runs as fast as a plain process. Workers of an
    existing cluster (--scheduler) should be started the same way.
    """
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return env


def task_of(prep: dict, r) -> dict:
    """What a worker needs to know of one run (a row of the design): its id, seed and changes."""
    pt = prep["points"][int(r.point)]
    params_by = {p.name: p for p in prep["spec"].parameters}
    levels_by = {s.name: s.levels for s in prep["spec"].switches}
    return {"run_id": r.run_id, "seed": int(r.seed), "point": int(r.point),
            "set": [(params_by[k].path, _plain(v)) for k, v in pt["params"].items()],
            "levels": [(lv.model_dump() if (lv := levels_by[s][pt["levels"][s]]) is not None else None)
                       for s in levels_by]}


def run_args(prep: dict) -> tuple:
    """The arguments every run of the sweep shares after (base, path, task): outcomes,
    series metrics, whether series are stored."""
    spec: SweepSpec = prep["spec"]
    return ([o.model_dump() for o in spec.outcomes],
            list(spec.series.metrics) if spec.series.metrics else None, spec.series.store)


def _scatter_base(client, base_raw: dict):
    """The base scenario on every worker, under a key of this sweep alone.

    Wrapped in a list: ``scatter`` reads a dict as ``{key: value}``, so the scenario's
    top-level keys (``name``, ``period``, ...) became Dask keys shared by every sweep on
    the scheduler. When an interrupted sweep's client left, the scheduler forgot them
    while the resuming sweep's tasks already named them, and each resumed run failed
    with "lost dependencies". ``hash=False`` gives a random key: even the same scenario
    scattered again is a new key.
    """
    [fut] = client.scatter([base_raw], broadcast=True, hash=False)
    return fut


def run_sweep(sweep_path: str | Path, out: str | Path, workers: int | None = None, scheduler: str | None = None,
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

    prep = prepare(sweep_path)
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
        client, cluster = _open_client(workers, scheduler)
        base_f = _scatter_base(client, prep["base_raw"])
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
                       "series": None, "wall_seconds": None, "cpu_seconds": None, "worker": None,
                       "ledger_balanced": None}
            fut.release()
            series = res.pop("series", None)
            pt = points[int(r.point)]
            row = {"run_id": r.run_id, "point": int(r.point), "seed": int(r.seed),
                   **{k: _cell(v) for k, v in pt["params"].items()}, **pt["levels"], **res,
                   "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            store.commit(row, series)
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


# ---------------------------------------------------------------- command line

def cmd_sweep(a) -> int:
    t0 = time.perf_counter()
    stats = run_sweep(a.sweep, a.out, workers=a.workers, scheduler=a.scheduler, retry_failed=a.retry_failed,
                      progress=not a.quiet)
    runs = pd.read_parquet(Path(a.out) / "runs.parquet")
    n_ok = int((runs["status"] == "ok").sum()) if len(runs) else 0
    n_failed = int((runs["status"] != "ok").sum()) if len(runs) else 0
    if stats["interrupted"]:
        print(f"migsim: interrupted; {len(runs)} of {stats['total']} runs stored in {a.out}/ "
              f"(rerun the same command to resume)", file=sys.stderr)
        return 130
    print(f"wrote {a.out}/ (runs.parquet, series/): {stats['total']} runs, {stats['skipped']} already done, "
          f"{stats['ok'] + stats['failed']} run now in {time.perf_counter() - t0:.1f} s; "
          f"{n_ok} ok, {n_failed} failed")
    if n_failed:
        first = runs[runs["status"] != "ok"].iloc[0]
        print(f"WARNING: {n_failed} run(s) failed (error column of runs.parquet), e.g. run {first['run_id']}: "
              f"{first['error']}. Rerun with --retry-failed to try them again.", file=sys.stderr)
        return 1
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run a batch of scenario variants (grid, LHS, Sobol, Morris) x seeds",
        description=("Run the sweep file SWEEP (base scenario, parameters, policy switches, replicate seeds, "
                     "outcomes) on a Dask cluster and write DIR/runs.parquet (one row per run) and "
                     "DIR/series/run_id=<id>/part.parquet (daily rows). Results stream to disk as runs finish; "
                     "rerunning the same command resumes and skips finished runs; a failed run is recorded "
                     "with its error. Exit code 1 if some runs failed, 130 if interrupted."))
    p.add_argument("sweep", help="sweep YAML file (see scenarios/sweeps/demo.yaml)")
    p.add_argument("--out", type=Path, required=True, help="sweep results folder (created or resumed)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=_positive, help="worker processes of a local Dask cluster (default: CPU count)")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="address of an existing Dask scheduler (e.g. a dask-jobqueue SLURMCluster)")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)


def dash_ok() -> bool:
    try:
        import bokeh  # noqa: F401
        return True
    except ImportError:
        return False
