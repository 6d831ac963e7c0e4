"""``migsim sweep``: the command line of sweeps."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from sim.cli_types import positive_int as _positive
from sim.studies.sweep.run import run_sweep


def cmd_sweep(a) -> int:
    t0 = time.perf_counter()
    stats = run_sweep(a.sweep, a.out, workers=a.workers, scheduler=a.scheduler, retry_failed=a.retry_failed,
                      progress=not a.quiet, posterior_draws=a.posterior_draws)
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
    p.add_argument("--posterior-draws", nargs="?", const=True, default=False, type=_positive, metavar="K",
                   help="replicate i of every design point also takes posterior draw i of the base scenario "
                        "(as posterior_draws: true in the sweep file); with K, K such replicates (seeds from "
                        "the file's first replicate seed on)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

