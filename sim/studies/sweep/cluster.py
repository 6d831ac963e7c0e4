"""The Dask side of a sweep: a local cluster tuned for CPU-bound runs, or an existing one.

Why its own module: everything here is about Dask's processes and settings, not about
the model. The local cluster binds its scheduler and dashboard to 127.0.0.1 only.
"""

from __future__ import annotations

import os

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


def open_client(workers: int | None, scheduler: str | None):
    import logging

    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n = workers or os.cpu_count() or 1
    try:
        import bokeh  # noqa: F401
        dash = "127.0.0.1:0"
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




def scatter_base(client, base_raw: dict):
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


def dash_ok() -> bool:
    try:
        import bokeh  # noqa: F401
        return True
    except ImportError:
        return False
