"""ABC-SMC with pyabc: the sampler, the proposal, the run, the posterior."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.studies.calibration.simulate import CalibrationModel, LatentModel
from sim.studies.calibration.spec import Spec
from sim.studies.calibration.targets import FitDistance


def _sampler(scheduler: str | None, processes: int | None):
    import pyabc

    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
        return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), client
    n = processes or os.cpu_count() or 1
    if n <= 1:
        return pyabc.sampler.SingleCoreSampler(), None
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=n), None


def gaussian_transition(scaling: float = 2.0, defensive: float = 0.2):
    """A pyabc transition for the latent (standard-normal) space: a defensive mixture of
    ONE multivariate normal fitted to the weighted population (its mean, its covariance
    times ``scaling``) and, with probability ``defensive``, the prior itself.

    Why not pyabc's default kernel density: in 16 dimensions a few hundred particles are
    separate blobs for it, so the importance weights prior/proposal spread over orders
    of magnitude (trial fits kept effective sample sizes of 7 and 9 of 200 after one
    generation). Why the prior in the mix: a Gaussian fitted to a population of low
    effective size can be narrower than the posterior in directions the data do not
    pin down, and particles in its tails then carry huge weights (a trial without it fell
    to 12 of 200 in generation 2); with the prior mixed in, no weight exceeds
    1/defensive times the typical one (Hesterberg's defensive importance sampling). The
    price: about ``defensive`` of the proposals are prior draws, mostly rejected, and a
    posterior with several separate modes is explored poorly (the report's ESS shows it).
    """
    import pyabc
    import scipy.stats as st
    from pyabc.transition.util import smart_cov

    class GaussianTransition(pyabc.transition.Transition):
        def __init__(self, scaling: float = 2.0, defensive: float = 0.2):
            self.scaling, self.defensive = scaling, defensive

        def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
            x = X.to_numpy(dtype=float)
            mean = np.average(x, axis=0, weights=w)
            cov = np.atleast_2d(smart_cov(x, w)) * self.scaling
            self.normal = st.multivariate_normal(mean=mean, cov=cov, allow_singular=True)
            self.prior = st.multivariate_normal(mean=np.zeros(len(mean)), cov=np.eye(len(mean)))

        def rvs_single(self):
            dist = self.prior if np.random.uniform() < self.defensive else self.normal
            return pyabc.Parameter(dict(zip(self.X.columns, np.atleast_1d(dist.rvs()))))

        def _pdf(self, x: np.ndarray):
            return (1.0 - self.defensive) * self.normal.pdf(x) + self.defensive * self.prior.pdf(x)

        def pdf(self, x):
            if isinstance(x, (pyabc.Parameter, pd.Series, dict)):
                return float(self._pdf(np.array([x[k] for k in self.X.columns], dtype=float)))
            return np.atleast_1d(self._pdf(x[self.X.columns].to_numpy(dtype=float)))

    return GaussianTransition(scaling, defensive)


_WORKER_MODEL: LatentModel | None = None


def _set_worker_model(model: LatentModel) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model


def _worker_call(z: dict) -> dict:
    return _WORKER_MODEL(z)


class OrderedMap:
    """Simulations of a list of latent parameter sets, in order: one process, a pool of
    forked processes that each hold the model once, or a Dask cluster (``--scheduler``)."""

    def __init__(self, model: LatentModel, scheduler: str | None, processes: int | None):
        self.model, self.pool, self.client, self.remote = model, None, None, None
        if scheduler:
            from dask.distributed import Client

            self.client = Client(scheduler)
            self.remote = self.client.scatter(model, broadcast=True)
            return
        n = processes or os.cpu_count() or 1
        if n > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(n, mp_context=mp.get_context("fork"), initializer=_set_worker_model,
                                            initargs=(model,))

    def __call__(self, zs: list[dict]) -> list[dict]:
        if self.client is not None:
            return self.client.gather(self.client.map(lambda m, z: m(z), [self.remote] * len(zs), zs, pure=False))
        if self.pool is not None:
            return list(self.pool.map(_worker_call, zs, chunksize=1))
        return [self.model(z) for z in zs]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        if self.client is not None:
            self.client.close()


def _budget(spec: Spec, quick: bool, max_minutes: float | None) -> tuple[int, int, float]:
    a = spec.abc
    pop, gens, wall = a.population_size, a.max_generations, a.max_walltime_minutes
    if quick:
        q = spec.quick
        pop, gens, wall = q.population_size, q.max_generations, q.max_walltime_minutes
    if max_minutes is not None:
        wall = max_minutes
    return pop, gens, wall


def run_abc(model: CalibrationModel, out: Path, scheduler: str | None, quick: bool, log=print,
            max_minutes: float | None = None, db_name: str = "abc.db", resume: bool = False):
    """ABC-SMC by the spec's method; returns (pyabc history, elapsed seconds)."""
    if model.spec.abc.method == "mcmc":
        return run_abc_mcmc(model, out, scheduler, quick, log, max_minutes, db_name, resume)
    if resume:
        raise InputError(model.spec_path, "abc.method", "--resume needs method: mcmc (an importance run "
                         "cannot go on from its database)")
    return run_abc_importance(model, out, scheduler, quick, log, max_minutes, db_name)


def _resumable(db: Path, model: CalibrationModel, names: list[str], pop: int):
    """The stored run in ``db`` to go on from, after checking it was made for this
    estimation (same parameters, population and observed figures); None if ``db`` is absent."""
    import pyabc

    from sim.studies.calibration.smc import stored_run

    if not db.is_file():
        return None
    h = pyabc.History(f"sqlite:///{db}", create=False)
    try:
        start = stored_run(h, names)
        seen = h.observed_sum_stat().get("cells")
    except ValueError as exc:
        raise InputError(db, "", f"cannot resume: {exc}") from None
    if seen is None or not np.array_equal(np.asarray(seen), model.targets.cells):
        raise InputError(db, "", "cannot resume: its run was fitted to other observed figures")
    if len(start.last.z) != pop:
        raise InputError(db, "", f"cannot resume: its population is {len(start.last.z)}, the spec's {pop}")
    return start


def run_abc_mcmc(model: CalibrationModel, out: Path, scheduler: str | None, quick: bool, log=print,
                 max_minutes: float | None = None, db_name: str = "abc.db", resume: bool = False):
    """ABC-SMC with MCMC moves (:mod:`smc`), its generations stored as a pyabc history.
    With ``resume``, the run stored in ``db_name`` goes on (a new one starts if there is none)."""
    from sim.studies.calibration.smc import HistoryWriter, run_smc_mcmc

    spec, a = model.spec, model.spec.abc
    pop, gens, wall = _budget(spec, quick, max_minutes)
    names = [p.name for p in spec.parameters]
    db = out / db_name
    start = _resumable(db, model, names, pop) if resume else None
    if start is not None:
        log(f"{db}: resuming after generation {start.generations - 1} ({start.simulations} simulations, "
            f"threshold {start.last.epsilon:.4g})")
    else:
        if resume:
            log(f"{db}: no stored run to resume; starting one")
        if db.exists():
            db.unlink()
    writer = HistoryWriter(db, names, {"cells": model.targets.cells}, dt.datetime.now(), resume=start is not None)
    sims = OrderedMap(LatentModel(model), scheduler, a.processes)
    t0 = time.perf_counter()
    try:
        run_smc_mcmc(lambda rows: sims([dict(zip(names, map(float, r))) for r in rows]), FitDistance(model.targets),
                     len(names), population=pop, keep_fraction=a.keep_fraction, mcmc_steps=a.mcmc_steps,
                     max_generations=gens, max_seconds=wall * 60.0, min_acceptance=a.min_acceptance,
                     min_epsilon=a.min_epsilon, seed=a.seed, on_generation=writer,
                     max_simulations=None if quick else a.max_simulations, log=log, start=start,
                     final_moves=a.final_moves, final_ess=spec.acceptance.min_ess)
        writer.done()
    finally:
        sims.close()
    return load_history(db)[0], time.perf_counter() - t0


def run_abc_importance(model: CalibrationModel, out: Path, scheduler: str | None, quick: bool, log=print,
                       max_minutes: float | None = None, db_name: str = "abc.db"):
    """pyabc's importance-weighted ABC-SMC with :func:`gaussian_transition`."""
    import pyabc

    spec = model.spec
    a = spec.abc
    pop, gens, wall = _budget(spec, quick, max_minutes)
    prior = pyabc.Distribution(**{p.name: pyabc.RV("norm", 0.0, 1.0) for p in spec.parameters})
    sampler, client = _sampler(scheduler, a.processes)
    distance = FitDistance(model.targets)
    # generation 0 is a plain prior sample (no separate calibration sample), then median thresholds
    eps = pyabc.QuantileEpsilon(initial_epsilon=1e12, alpha=0.5)
    abc = pyabc.ABCSMC(LatentModel(model), prior, distance, population_size=pop, sampler=sampler, eps=eps,
                       transitions=gaussian_transition(a.proposal_scaling, a.proposal_defensive))
    db = out / db_name
    if db.exists():
        db.unlink()
    abc.new(f"sqlite:///{db}", {"cells": model.targets.cells})  # the distance reads the targets itself
    t0 = time.perf_counter()
    kw = dict(minimum_epsilon=a.min_epsilon, max_nr_populations=gens, max_walltime=dt.timedelta(minutes=wall))
    if a.max_simulations and not quick:
        kw["max_total_nr_simulations"] = a.max_simulations
    try:
        history = abc.run(**kw)
    finally:
        if client is not None:
            client.close()
    return history, time.perf_counter() - t0


def posterior_frame(history, spec: "Spec") -> pd.DataFrame:
    """The last generation in the parameters' own units: one row per particle with its
    weight, distance and level factors (``level_factor.<CITIZENSHIP>``: the change of each
    citizenship's level its run asked for) and trend changes (``trend_shift.<CITIZENSHIP>``,
    with ``fit.solve_trends``)."""
    from sim.citizenship import CITIZENSHIPS

    pop = history.get_population(t=history.max_t)
    rows = []
    for part in pop.particles:
        row = {p.name: float(p.prior.from_latent(part.parameter[p.name])) for p in spec.parameters}
        row["weight"], row["distance"] = float(part.weight), float(part.distance)
        f = part.sum_stat.get("level_factors")
        if f is not None:
            row.update({f"level_factor.{c}": float(v) for c, v in zip(CITIZENSHIPS, np.ravel(f))})
        d = part.sum_stat.get("trend_shifts")
        if d is not None and np.any(d):
            row.update({f"trend_shift.{c}": float(v) for c, v in zip(CITIZENSHIPS, np.ravel(d))})
        rows.append(row)
    return pd.DataFrame(rows)


def effective_sample_size(post: pd.DataFrame) -> float:
    """Kish's effective sample size of the weighted particles, 1 / sum of squared normalised
    weights, with copies of one particle (the MCMC method's rejected moves) counted once
    with their weights summed: ten copies are one particle, not ten."""
    cols = [c for c in post.columns if c != "weight"]
    w = post.groupby(cols, sort=False, dropna=False)["weight"].sum().to_numpy(dtype=float) if cols else \
        post["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    return float(1.0 / (w ** 2).sum())


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    o = np.argsort(x)
    x, w = np.asarray(x)[o], np.asarray(w)[o]
    c = np.cumsum(w) - 0.5 * w
    c /= w.sum()
    return float(np.interp(q, c, x))


def point_estimates(spec: Spec, post: pd.DataFrame) -> dict[str, dict]:
    names = [p.name for p in spec.parameters]
    w = post["weight"].to_numpy()
    out = {}
    out["median"] = {n: weighted_quantile(post[n].to_numpy(), w, 0.5) for n in names}
    out["mean"] = {n: float(np.average(post[n].to_numpy(), weights=w)) for n in names}
    if "distance" in post:
        best = post.loc[post["distance"].idxmin()]
        out["best"] = {n: float(best[n]) for n in names}
    return out


def load_history(db: Path):
    """The latest ABC-SMC run stored in a pyabc database, and its wall seconds."""
    import pyabc

    if not db.is_file():
        raise InputError(db, "", "no pyabc database here: run the calibration first")
    h = pyabc.History(f"sqlite:///{db}")
    runs = h.all_runs()
    h.id = max(r.id for r in runs)
    r = [r for r in runs if r.id == h.id][0]
    end = r.end_time
    if end is None:  # a run stopped before it ended: its time is that of its last whole generation
        end = pd.to_datetime(h.get_all_populations()["population_end_time"]).max().to_pydatetime()
    return h, (end - r.start_time).total_seconds()


