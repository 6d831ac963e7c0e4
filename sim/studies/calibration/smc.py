"""ABC-SMC that moves particles by MCMC instead of weighting them: the replenishment
algorithm of Drovandi & Pettitt (2011, Biometrics 67:225), with the early rejection of
Picchini (2014).

Why not importance weights (pyabc's ABC-SMC, ``abc.method: importance``): in the latent
space of ~20 parameters, with populations of tens of particles (what a two-core machine
affords), the weights prior/proposal of a Gaussian or kernel proposal spread over
orders of magnitude; the effective sample size fell 60 -> 18 -> 8 -> 2 in four
generations of the FY2022-FY2023 estimate, and on a 19-dimensional toy problem it
collapsed the same way with every pyabc transition tried (a posterior width that is
two particles says nothing). Here the weights stay equal: each generation keeps the
``keep_fraction`` of particles nearest the data (the new threshold is the worst kept
distance), copies kept particles at random into the places of the dropped ones, and
moves every particle by ``mcmc_steps`` Metropolis-Hastings steps that leave the ABC
posterior at that threshold invariant (a random-walk proposal with the kept particles'
covariance times ``2.38**2 / dimension``; accepted if the prior ratio allows it -
checked before simulating - and the new simulation is within the threshold). With a
noisy simulator this is a pseudo-marginal chain: it targets the ABC posterior exactly.

What the population can still lack is diversity: a particle whose moves are all
rejected stays a copy. :func:`distinct_share` and the effective sample size of
:mod:`abc` count copies once. The run stops at ``max_generations``, the wall-time
budget, or when fewer than ``min_acceptance`` of the moves are accepted (the
threshold is then too tight for the moves to mix). That is when copies are commonest:
at 8% acceptance a third of a population of 60 can still be copies, and the effective
sample size (copies counted once) falls below what a posterior width needs. So a run
that stops for any reason but its budget can finish with up to ``final_moves`` sweeps
at its last threshold, not lowered: each sweep proposes a move for every copy but one
of each set of identical particles, by the same Metropolis-Hastings kernel, until the
effective sample size reaches ``final_ess``. Each moved particle's chain keeps the ABC
posterior at that threshold as its target, so the sweeps undo copies without changing
what is estimated; they cost a sweep's simulations only for the copies. (Drovandi &
Pettitt's adaptive number of moves, log 0.01 / log(1 - acceptance), would be ~55 moves
of every particle a generation at 8%.) The sweeps are stored as one more generation
with the same threshold.

Every draw comes from one seeded generator and simulations are mapped in order, so a
run is reproducible; the generations are written into a pyabc database so that the
report, ``--report-only`` and the posterior tools read both methods the same way.

A stopped run can go on (``migsim calibrate --resume``): the stored last generation is
all the algorithm needs, so :func:`stored_run` reads it back and ``run_smc_mcmc(...,
start=...)`` continues from it. Why: on a two-core machine the estimation needs more
hours than one sitting. A resumed run draws from a generator seeded by the run's seed
and the generation it resumes at, so resuming the same database twice gives the same
generations, though not the draws an unbroken run would have made.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Generation:
    """One population: latent parameters (rows), their statistics and distances."""

    z: np.ndarray
    stats: list[dict]
    distance: np.ndarray
    epsilon: float
    simulations: int
    acceptance: float = float("nan")


@dataclass
class Stored:
    """Where a stored run stopped: its last generation, the number of generations
    (generation 0 included) and of simulations so far."""

    last: Generation
    generations: int
    simulations: int


def _log_prior(z: np.ndarray) -> np.ndarray:
    return -0.5 * np.sum(z * z, axis=-1)


def run_smc_mcmc(simulate: Callable[[Sequence[np.ndarray]], list[dict]], distance: Callable[[dict], float],
                 dim: int, *, population: int, keep_fraction: float, mcmc_steps: int, max_generations: int,
                 max_seconds: float, min_acceptance: float, min_epsilon: float = 0.0, seed: int = 0,
                 max_simulations: int | None = None, on_generation: Callable[[Generation], None] | None = None,
                 log: Callable[[str], None] = print, start: Stored | None = None, final_moves: int = 0,
                 final_ess: float = 0.0) -> list[Generation]:
    """The generations (generation 0 is a prior sample). ``simulate`` maps latent rows to
    statistics in order (in parallel if it likes); the prior is standard normal.

    With ``start``, the run goes on from a stored one: the list begins with its last
    generation (not passed to ``on_generation`` again), and ``max_generations`` and
    ``max_simulations`` count the stored ones too; ``max_seconds`` is this sitting's.
    A stored run at its generation budget only gets its finishing sweeps (if its
    effective sample is short of ``final_ess``)."""
    t0 = time.perf_counter()
    if start is None:
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((population, dim))
        stats = list(simulate(list(z)))
        d = np.array([distance(s) for s in stats], dtype=float)
        d[~np.isfinite(d)] = np.inf
        gens = [Generation(z, stats, d, float("inf"), population)]
        if on_generation:
            on_generation(gens[-1])
        total, done = population, 1
    else:
        if start.last.z.shape != (population, dim):
            raise ValueError(f"the stored population is {start.last.z.shape[0]} x {start.last.z.shape[1]}, "
                             f"not {population} x {dim}")
        rng = np.random.default_rng([seed, start.generations])
        gens, total, done = [start.last], start.simulations, start.generations
    keep = max(2, int(round(keep_fraction * population)))

    def out_of_budget() -> bool:
        return (time.perf_counter() - t0 > max_seconds
                or (max_simulations is not None and total >= max_simulations))

    while done < max_generations and not out_of_budget():
        prev = gens[-1]
        order = np.argsort(prev.distance, kind="stable")
        kept = order[:keep]
        eps = float(prev.distance[kept[-1]])
        if not np.isfinite(eps):
            log("ABC-SMC-MCMC: fewer finite distances than particles to keep; stopping")
            break
        idx = np.concatenate([kept, rng.choice(kept, population - keep, replace=True)])
        z, d = prev.z[idx].copy(), prev.distance[idx].copy()
        stats = [prev.stats[i] for i in idx]
        cov = np.atleast_2d(np.cov(prev.z[kept].T)) + 1e-9 * np.eye(dim)
        chol = np.linalg.cholesky(cov * (2.38 ** 2 / dim))
        sims, accepted, proposed = 0, 0, 0
        for _ in range(mcmc_steps):
            if out_of_budget():
                break
            n_sims, n_acc = _move(simulate, distance, z, d, stats, np.arange(population), chol, eps, rng)
            proposed, sims, accepted = proposed + population, sims + n_sims, accepted + n_acc
        total += sims
        rate = accepted / proposed if proposed else 0.0
        gens.append(Generation(z, stats, d, eps, sims, rate))
        done += 1
        if on_generation:
            on_generation(gens[-1])
        log(f"ABC-SMC-MCMC generation {done - 1}: threshold {eps:.4g}, {sims} simulations, "
            f"moves accepted {rate:.1%}, distinct {distinct_share(z):.0%}, {(time.perf_counter() - t0) / 60:.1f} min")
        if eps <= min_epsilon:
            break
        if proposed and rate < min_acceptance:
            log(f"ABC-SMC-MCMC: moves accepted {rate:.1%} < {min_acceptance:.1%}; stopping")
            break
    if final_moves and not out_of_budget():
        last = gens[-1]
        if np.isfinite(last.epsilon) and copies_ess(last.z) < final_ess:
            g = _finish(simulate, distance, last, rng, final_moves, final_ess, out_of_budget, log)
            gens.append(g)
            if on_generation:
                on_generation(g)
            log(f"ABC-SMC-MCMC finishing sweeps at threshold {g.epsilon:.4g}: {g.simulations} simulations, "
                f"moves accepted {g.acceptance:.1%}, effective sample {copies_ess(last.z):.1f} -> "
                f"{copies_ess(g.z):.1f}, {(time.perf_counter() - t0) / 60:.1f} min")
    return gens


def _finish(simulate, distance, last: Generation, rng: np.random.Generator, sweeps: int, target: float,
            out_of_budget: Callable[[], bool], log: Callable[[str], None] = print) -> Generation:
    """Up to ``sweeps`` Metropolis-Hastings moves of the copies in ``last`` at its own
    threshold (one of each set of identical particles stays), stopping once the
    effective sample size reaches ``target``.

    The step shrinks (x0.6, to a tenth at most) after a sweep that accepts fewer than 5%
    of its moves: copies can sit where a long step rarely lands within the threshold,
    and a shorter one is accepted more often. (The 1.4% that prompted it, in the first
    finish of the FY2022-FY2023 estimate, came from a resumed run simulating a changed
    model: calibration/diagnostics/README.md.) Each sweep's kernel still leaves the
    target invariant; its step depends only on earlier sweeps' acceptances."""
    z, d, stats = last.z.copy(), last.distance.copy(), list(last.stats)
    n, dim = z.shape
    eps = last.epsilon
    sims, accepted, proposed, step = 0, 0, 0, 1.0
    for k in range(sweeps):
        if copies_ess(z) >= target or out_of_budget():
            break
        if k:
            log(f"ABC-SMC-MCMC finishing sweep {k}: effective sample {copies_ess(z):.1f}, {sims} simulations, "
                f"step x{step:.2f}")
        uniq, first, inverse = np.unique(z, axis=0, return_index=True, return_inverse=True)
        movers = np.flatnonzero(first[np.ravel(inverse)] != np.arange(n))
        base = uniq if len(uniq) > dim else z
        cov = np.atleast_2d(np.cov(base.T)) + 1e-9 * np.eye(dim)
        chol = np.linalg.cholesky(cov * (2.38 ** 2 / dim)) * step
        n_sims, moved = _move(simulate, distance, z, d, stats, movers, chol, eps, rng)
        proposed, sims, accepted = proposed + len(movers), sims + n_sims, accepted + moved
        if moved < 0.05 * len(movers):
            step = max(0.1, step * 0.6)
    return Generation(z, stats, d, eps, sims, accepted / proposed if proposed else 0.0)


def _move(simulate, distance, z: np.ndarray, d: np.ndarray, stats: list, rows: np.ndarray, chol: np.ndarray,
          eps: float, rng: np.random.Generator) -> tuple[int, int]:
    """One Metropolis-Hastings move of the particles ``rows``, in place: a random walk
    with Cholesky factor ``chol``, rejected early if the prior ratio says so (before any
    simulation), accepted if the new simulation is within ``eps``. Returns the number of
    simulations and of accepted moves."""
    prop = z[rows] + rng.standard_normal((len(rows), z.shape[1])) @ chol.T
    u = rng.uniform(size=len(rows))
    ok = np.log(u) < _log_prior(prop) - _log_prior(z[rows])  # early rejection
    new = list(simulate(list(prop[ok]))) if ok.any() else []
    accepted = 0
    for i, p, s in zip(rows[ok], prop[ok], new):
        di = float(distance(s))
        if np.isfinite(di) and di <= eps:
            z[i], d[i], stats[i] = p, di, s
            accepted += 1
    return int(ok.sum()), accepted


def copies_ess(z: np.ndarray) -> float:
    """Effective sample size of equally weighted particles with copies counted once
    (n^2 / sum of squared copy counts): the same number as :func:`abc.effective_sample_size`."""
    _, counts = np.unique(np.asarray(z), axis=0, return_counts=True)
    return float(len(z) ** 2 / np.sum(counts.astype(float) ** 2)) if len(z) else 0.0


def distinct_share(z: np.ndarray) -> float:
    """Share of particles that are not copies of another."""
    return len(np.unique(np.asarray(z), axis=0)) / max(1, len(z))


def stored_run(history, names: list[str]) -> Stored:
    """The last generation of the run in a pyabc ``history`` (written by
    :class:`HistoryWriter`), its latent parameters in the order of ``names``.
    Raises ValueError if the run's parameters are not ``names``."""
    t = history.max_t
    if t is None or t < 0:
        raise ValueError("it holds no generation")
    parts = history.get_population(t).particles
    have = list(parts[0].parameter)
    if sorted(have) != sorted(names):
        gone, new = sorted(set(have) - set(names)), sorted(set(names) - set(have))
        raise ValueError(f"its run estimated other parameters (not in the spec: {', '.join(gone) or 'none'}; "
                         f"not in the run: {', '.join(new) or 'none'})")
    pops = history.get_all_populations().set_index("t")
    eps = float(pops.loc[t, "epsilon"])
    last = Generation(z=np.array([[float(p.parameter[n]) for n in names] for p in parts]),
                      stats=[p.sum_stat for p in parts], distance=np.array([float(p.distance) for p in parts]),
                      epsilon=float("inf") if t == 0 else eps, simulations=int(pops.loc[t, "samples"]))
    return Stored(last, t + 1, int(history.total_nr_simulations))


class HistoryWriter:
    """Writes each generation into a pyabc database as it is made (a stopped run keeps
    its whole generations), with equal weights and the latent parameters by name."""

    def __init__(self, db_path, names: list[str], observed: dict, start: dt.datetime, resume: bool = False):
        """A new run in ``db_path``; with ``resume``, the latest run there, appended to."""
        import pyabc

        self.pyabc, self.names = pyabc, names
        self.history = pyabc.History(f"sqlite:///{db_path}", create=not resume)
        if not resume:
            self.history.store_initial_data(None, {}, observed, {}, ["history"], "{}", "{}", "{}", start)

    def __call__(self, g: Generation) -> None:
        pa = self.pyabc
        w = 1.0 / len(g.z)
        parts = [pa.Particle(m=0, parameter=pa.Parameter(dict(zip(self.names, map(float, row)))), weight=w,
                             sum_stat=s, distance=float(dd)) for row, s, dd in zip(g.z, g.stats, g.distance)]
        t = self.history.max_t + 1 if self.history.max_t is not None and self.history.max_t >= 0 else 0
        self.history.append_population(t, g.epsilon if np.isfinite(g.epsilon) else 1e12,
                                       pa.Population(parts), g.simulations, ["history"])

    def done(self) -> None:
        self.history.done(dt.datetime.now())
