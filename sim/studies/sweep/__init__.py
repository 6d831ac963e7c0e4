"""Batch sweeps: many runs of one base scenario over parameters, policy switches and seeds.

The sweep file is declared in ``spec``, planned in ``design``, run on Dask by ``run``
(one run on a worker: ``execute``; the cluster: ``cluster``) and stored by ``store``.
"""

from sim.studies.sweep.cluster import worker_environ
from sim.studies.sweep.command import add_parser
from sim.studies.sweep.run import prepare, run_sweep

__all__ = ["add_parser", "prepare", "run_sweep", "worker_environ"]
