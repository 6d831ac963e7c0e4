"""Runs in background processes, and the cache of their results under ``results/app/``.

Why processes: a run is seconds to minutes of numpy work; in the server process it
would hold the interpreter and every page would freeze. Two worker processes (this
machine has two cores) are started with the server, import the simulator once, and
run the seeds of a scenario and of its baseline side by side. A thread of the server
per job only waits for them, so the pages stay responsive.

Why this cache layout: a run of one seed is fully determined by its inputs (their
hash, taken in the worker from the inputs it builds, covers the validated scenario
and the data files it reads), the seed, and the model's code. So each seed is run
once into ``results/app/runs/<code>-<inputs hash>/seed-<n>/`` (the runner's own
output folder) and reused by every later request that needs it: changing the seats
of a lever re-runs the scenario but not its baseline. The seeds of a request are then
combined into ``results/app/views/<...>/``: summary and effects table first (the
page shows them at once, ``view.json`` is written then), the plots and flow map
after (``view.json`` says when they are drawn).

A failure anywhere gives the job one line of error (the command line's message for
bad input) and leaves the pool working; a worker that dies is replaced.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from sim.app import backend
from sim.app.paths import Folders, PathRefused
from sim.app.yamlfiles import dump

WORKERS = max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class RunRequest:
    """What the Run page asks for."""

    name: str  # the scenario's name (titles, effects table)
    base_file: str  # file in scenarios/ the scenario extends
    edits_yaml: str  # the edits on top of it (YAML text; '{}\n' for none)
    scale: float  # departures.scale
    seeds: tuple[int, ...]
    baseline: str | None  # file in scenarios/ to compare with, or None


@dataclass
class Job:
    id: str
    request: RunRequest
    status: str = "queued"  # queued | running | done | failed
    stage: str = "waiting for a worker"
    error: str | None = None
    view: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    progress_files: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # stage -> seconds, for the log
    plotting: bool = False  # results shown, plots still being drawn
    ready_after: float | None = None  # seconds from start to results
    plot_error: str | None = None

    def mark(self, stage: str) -> None:
        """Enter a stage (shown on the Run page); time the one it leaves."""
        now = time.time()
        if self.timings.get("_stage"):
            self.timings[self.timings["_stage"]] = round(now - self.timings["_since"], 2)
        self.timings["_stage"], self.timings["_since"] = stage, now
        self.stage = stage

    def progress(self) -> float:
        """Fraction done: simulated days over all runs (90%), then the tables."""
        if self.status == "done":
            return 1.0
        done = total = 0.0
        for f in self.progress_files:
            try:
                d = json.loads(Path(f).read_text())
                done += d["done"]
                total += d["total"]
            except (OSError, ValueError, KeyError):
                total += 1
        return 0.95 * (done / total if total else 0.0)

    @property
    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started


def _worker_start(server_pid: int) -> None:
    """In each worker process: leave when the server is gone (even killed outright,
    when no one tells the workers to stop), then import the simulator."""
    def watch():
        while os.getppid() == server_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    backend.warm_up()


def _digest(text: str, n: int = 12) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class JobManager:
    def __init__(self, folders: Folders, workers: int = WORKERS):
        self.folders = folders
        self.workers = workers
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._code: str | None = None

    # ---------------------------------------------------------------- pool
    def pool(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
                self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_start,
                                                    initargs=(os.getpid(),))
            return self._pool

    def _reset_pool(self) -> None:
        with self._lock:
            old, self._pool = self._pool, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def warm_up(self) -> None:
        """Start the workers now, so the first run does not wait for their imports."""
        try:
            for f in [self.pool().submit(time.sleep, 0.05) for _ in range(self.workers)]:
                f.result()
            self.code()
        except Exception:  # noqa: BLE001 - the first run reports it
            traceback.print_exc()

    def shutdown(self) -> None:
        """Stop the workers now, runs in progress included (their output folders are
        written atomically, so nothing half-done stays in the cache)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        if not any(j.status == "running" for j in self._jobs.values()):
            pool.shutdown(wait=True, cancel_futures=True)  # idle workers leave at once
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()

    def code(self) -> str:
        if self._code is None:
            self._code = backend.model_digest()[:8]
        return self._code

    # ---------------------------------------------------------------- jobs
    def submit(self, request: RunRequest) -> Job:
        """Start a job, or return the one already running for the same request."""
        with self._lock:
            for j in self._jobs.values():
                if j.request == request and j.status in ("queued", "running"):
                    return j
            job = Job(uuid.uuid4().hex[:12], request)
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), daemon=True, name=f"job-{job.id}").start()
        return job

    def get(self, job_id: str | None) -> Job | None:
        return self._jobs.get(job_id) if job_id else None

    def jobs(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.started, reverse=True)

    # ---------------------------------------------------------------- one job
    def _scenario_file(self, req: RunRequest) -> Path:
        """The requested scenario as a file under results/app/scenarios/ (content-addressed):
        ``extends:`` the file in scenarios/, plus the edits and the scale."""
        base = self.folders.scenario(req.base_file)
        edits = yaml.safe_load(req.edits_yaml) or {}
        edits["departures"] = {**(edits.get("departures") or {}), "scale": req.scale}
        folder = self.folders.result("scenarios")
        folder.mkdir(parents=True, exist_ok=True)
        doc = {"extends": os.path.relpath(base, folder), **edits}
        text = f"# {req.name}: {req.base_file} with the edits made in `migsim app`\n" + dump(doc)
        path = self.folders.result(f"scenarios/{Path(req.base_file).stem}-{_digest(text)}.yaml")
        if not path.exists():
            tmp = path.with_suffix(f".tmp-{uuid.uuid4().hex[:6]}")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        return path

    def _baseline_file(self, req: RunRequest) -> Path | None:
        if not req.baseline:
            return None
        return self._scenario_file(RunRequest(Path(req.baseline).stem, req.baseline, "{}\n", req.scale, req.seeds, None))

    @staticmethod
    def _result(future: cf.Future) -> dict:
        res = future.result()
        if "error" in res:
            raise RuntimeError(res["error"])
        return res

    def _run(self, job: Job) -> None:
        """Runs (cached ones are only looked up), then the combined view: the page can
        show the numbers as soon as they exist, and the plots when they are drawn."""
        req = job.request
        job.status = "running"
        try:
            job.mark("starting")
            scen = self._scenario_file(req)
            base = self._baseline_file(req)
            if base is not None and req.baseline == req.base_file and not yaml.safe_load(req.edits_yaml):
                base = None  # the scenario is its own baseline: no effects to show
            seeds = list(req.seeds)
            runs = self.folders.result("runs")
            jobdir = self.folders.result(f"jobs/{job.id}")
            jobdir.mkdir(parents=True, exist_ok=True)
            pool, code = self.pool(), self.code()
            futures = {}
            for kind, path, of in [("scenario", scen, None)] + ([("baseline", base, scen)] if base else []):
                for s in seeds:
                    pf = jobdir / f"{kind}-{s}.json"
                    job.progress_files.append(pf)
                    futures[kind, s] = pool.submit(backend.run_seed, str(path), s, str(runs), code, str(pf),
                                                   str(of) if of else None)
            job.mark(f"simulating {len(seeds)} seed(s)" + (" of the scenario and of its baseline" if base else ""))
            try:  # the first failure ends the job at once
                for f in cf.as_completed(futures.values()):
                    self._result(f)
            except RuntimeError:
                for f in futures.values():
                    f.cancel()
                raise
            out = {k: f.result()["out"] for k, f in futures.items()}
            alt_dirs = [out["scenario", s] for s in seeds]
            cf_dirs = [out["baseline", s] for s in seeds] if base else []
            seeds_tag = "-".join(str(s) for s in seeds) if len(seeds) <= 6 else f"{seeds[0]}-{len(seeds)}"
            name = Path(alt_dirs[0]).parent.name + f"-s{seeds_tag}" + (f"-vs-{Path(cf_dirs[0]).parent.name}"
                                                                     if base else "")
            view = self.folders.result(f"views/{name}")
            meta_file = view / "view.json"
            meta = json.loads(meta_file.read_text()) if meta_file.is_file() else None
            plots: list[cf.Future] = []
            if meta is None:
                job.mark("combining the seeds")
                self._result(pool.submit(backend.combine_seeds, alt_dirs, str(view), str(scen), req.name))
                effects = (pool.submit(backend.effects_table, str(view), alt_dirs, cf_dirs, req.name)
                           if base else None)  # first in the queue: the page waits for it
                plots = self._draw(pool, view, req.name)
                if effects is not None:
                    job.mark("computing the effects")
                    self._result(effects)
                meta = {**asdict(req), "scenario_file": str(scen), "baseline_file": str(base) if base else None,
                        "runs": alt_dirs, "baseline_runs": cf_dirs, "plots": "drawing",
                        "created": time.strftime("%Y-%m-%d %H:%M:%S")}
                meta_file.write_text(json.dumps(meta, indent=2) + "\n")
            elif meta.get("plots") != "done":
                plots = self._draw(pool, view, req.name)  # a server stopped while drawing them
            job.view = view.name
            job.plotting = bool(plots)
            job.ready_after = round(job.seconds, 1)
            job.status = "done"
            job.mark("drawing the plots" if plots else "done")
            self._log(job, "results")
            if plots:
                try:
                    for f in plots:
                        self._result(f)
                    meta["plots"] = "done"
                    meta_file.write_text(json.dumps(meta, indent=2) + "\n")
                except RuntimeError as exc:
                    job.plot_error = str(exc)
                job.plotting = False
                job.mark("done")
                self._log(job, "plots")
        except cf.process.BrokenProcessPool:
            self._reset_pool()
            self._fail(job, "the run's worker process stopped unexpectedly (out of memory?); try again")
        except (PathRefused, RuntimeError) as exc:
            self._fail(job, str(exc))
        except Exception as exc:  # noqa: BLE001 - InputError and the unexpected alike: one line
            if not isinstance(exc, backend.InputError):
                traceback.print_exc()
            self._fail(job, backend._one_line(exc))
        finally:
            job.finished = time.time()

    @staticmethod
    def _draw(pool, view: Path, name: str) -> list[cf.Future]:
        return [pool.submit(backend.draw_run_plots, str(view), name), pool.submit(backend.draw_flow_map, str(view))]

    @staticmethod
    def _log(job: Job, what: str) -> None:
        r = job.request
        times = {k: v for k, v in job.timings.items() if not k.startswith("_")}
        print(f"migsim app: {r.name} at {r.scale:.0%}, seeds {list(r.seeds)}: {what} after {job.seconds:.1f} s "
              f"{times}", file=sys.stderr, flush=True)

    def plotting(self, view: str) -> bool:
        """Whether a job of this server is still drawing the plots of ``view``."""
        return any(j.view == view and j.plotting for j in list(self._jobs.values()))

    @staticmethod
    def _fail(job: Job, message: str) -> None:
        job.error = message.strip().splitlines()[0] if message.strip() else "failed"
        job.status = "failed"
        job.stage = "failed"


def views(folders: Folders) -> list[dict]:
    """Results that can be shown (newest first): the ``view.json`` of every view."""
    root = folders.app_results / "views"
    out = []
    for v in root.glob("*/view.json") if root.is_dir() else []:
        try:
            meta = json.loads(v.read_text())
        except (OSError, ValueError):
            continue
        out.append({**meta, "view": v.parent.name})
    return sorted(out, key=lambda m: m.get("created", ""), reverse=True)


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def manager() -> JobManager:
    """The server's one job manager (jobs and workers are shared by all sessions)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager(Folders())
        return _MANAGER
