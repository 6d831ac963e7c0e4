"""The MCMC-moved ABC-SMC (sim/studies/calibration/smc.py) on a problem whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from sim.studies.calibration import abc
from sim.studies.calibration.smc import distinct_share, run_smc_mcmc

TRUTH = np.array([0.5, -0.5, 0.0, 0.0])
NOISE = np.array([0.1, 0.1, 50.0, 50.0])  # two parameters the data pin down, two they say nothing of


def _toy():
    """The problem as (simulate, distance). The simulator's own noise is drawn in call
    order from a generator made afresh here, so a run repeats."""
    rng = np.random.default_rng(99)

    def simulate(rows):
        return [{"x": np.asarray(z) + rng.normal(0.0, NOISE)} for z in rows]

    return simulate, (lambda s: float(np.sqrt(np.sum(((s["x"] - TRUTH) / NOISE) ** 2))))


def _run(seed=3, **kw):
    args = dict(population=60, keep_fraction=0.7, mcmc_steps=2, max_generations=12, max_seconds=120,
                min_acceptance=0.0, seed=seed, log=lambda *a: None)
    args.update(kw)
    return run_smc_mcmc(*_toy(), len(TRUTH), **args)


def test_it_finds_what_the_data_say_and_only_that():
    gens = _run()
    z = gens[-1].z
    mean, sd = z.mean(axis=0), z.std(axis=0)
    # informed: centred on the truth (shrunk a little toward the prior's 0) and far narrower than the prior
    assert np.all(np.abs(mean[:2] - TRUTH[:2] * 0.9) < 0.2), mean
    assert np.all(sd[:2] < 0.35), sd
    # uninformed: the particles keep (most of) the prior's spread rather than collapsing on a few copies
    assert np.all(sd[2:] > 0.6), sd
    assert distinct_share(z) > 0.5


def test_thresholds_fall_and_every_particle_is_within_its_threshold():
    gens = _run(max_generations=6)
    eps = [g.epsilon for g in gens[1:]]
    assert all(a >= b for a, b in zip(eps, eps[1:]))
    for g in gens[1:]:
        assert np.all(g.distance <= g.epsilon + 1e-12)
    assert gens[0].simulations == 60 and all(0 < g.simulations <= 2 * 60 for g in gens[1:])


def test_same_seed_same_run_other_seed_other_run():
    a, b, c = _run(max_generations=3), _run(max_generations=3), _run(seed=4, max_generations=3)
    assert np.array_equal(a[-1].z, b[-1].z)
    assert not np.array_equal(a[-1].z, c[-1].z)


def test_it_stops_when_moves_are_no_longer_accepted():
    gens = _run(max_generations=40, min_acceptance=0.3, keep_fraction=0.3)
    assert len(gens) < 40 and gens[-1].acceptance < 0.3


def test_copies_count_once_in_the_effective_sample_size():
    post = pd.DataFrame({"a": [1.0, 1.0, 1.0, 2.0], "weight": [0.25] * 4})
    assert abc.effective_sample_size(post) == pytest.approx(1 / (0.75 ** 2 + 0.25 ** 2))


class _Square:
    """A stand-in for the calibration model: picklable, deterministic."""

    def __call__(self, z: dict) -> dict:
        return {"x": z["a"] ** 2}


@pytest.mark.parametrize("where", ["one process", "two processes", "dask"])
def test_simulations_come_back_in_order_wherever_they_run(where):
    zs = [{"a": float(i)} for i in range(7)]
    if where == "dask":
        from dask.distributed import LocalCluster

        with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
            m = abc.OrderedMap(_Square(), cluster.scheduler_address, None)
            try:
                out = m(zs)
            finally:
                m.close()
    else:
        m = abc.OrderedMap(_Square(), None, 1 if where == "one process" else 2)
        try:
            out = m(zs)
        finally:
            m.close()
    assert [o["x"] for o in out] == [i ** 2 for i in range(7)]


ARGS = dict(population=30, keep_fraction=0.5, mcmc_steps=2, max_seconds=120, min_acceptance=0.0, seed=3,
            log=lambda *a: None)
NAMES = ["a", "b", "c", "d"]


def _stored(tmp_path, generations=3):
    import datetime as dt

    from sim.studies.calibration.smc import HistoryWriter

    db = tmp_path / "abc.db"
    w = HistoryWriter(db, NAMES, {"cells": np.arange(3.0)}, dt.datetime.now())
    gens = run_smc_mcmc(*_toy(), len(NAMES), max_generations=generations, on_generation=w, **ARGS)
    w.done()
    return db, gens


def _resume(db, generations, **kw):
    import datetime as dt

    import pyabc

    from sim.studies.calibration.smc import HistoryWriter, stored_run

    start = stored_run(pyabc.History(f"sqlite:///{db}", create=False), NAMES)
    w = HistoryWriter(db, NAMES, {}, dt.datetime.now(), resume=True)
    gens = run_smc_mcmc(*_toy(), len(NAMES), max_generations=generations, on_generation=w, start=start, **ARGS,
                        **kw)
    w.done()
    return start, gens, w.history


def test_a_stopped_run_goes_on_from_its_database(tmp_path):
    db, first = _stored(tmp_path)
    start, more, h = _resume(db, 5)
    # what is read back is what was written: the last generation, its threshold and the counts
    assert np.array_equal(start.last.z, first[-1].z) and np.array_equal(start.last.distance, first[-1].distance)
    assert start.last.epsilon == first[-1].epsilon and start.generations == 3
    assert start.simulations == sum(g.simulations for g in first)
    # it goes on where it stopped: two more generations appended, thresholds still falling
    assert h.max_t == 4 and len(more) == 3 and more[0] is start.last
    eps = [g.epsilon for g in first[1:] + more[1:]]
    assert all(a >= b for a, b in zip(eps, eps[1:])) and eps[-1] < eps[1]
    assert all(np.all(g.distance <= g.epsilon + 1e-12) for g in more[1:])
    assert h.total_nr_simulations == start.simulations + sum(g.simulations for g in more[1:])
    pop = h.get_population(4).particles
    assert np.allclose([[p.parameter[n] for n in NAMES] for p in pop], more[-1].z)


def test_resuming_the_same_database_twice_gives_the_same_generations(tmp_path):
    import shutil

    db, _ = _stored(tmp_path)
    other = tmp_path / "copy"
    other.mkdir()
    shutil.copy(db, other / "abc.db")
    _, a, _ = _resume(db, 5)
    _, b, _ = _resume(other / "abc.db", 5)
    assert np.array_equal(a[-1].z, b[-1].z)


def test_a_run_at_its_generation_budget_does_not_go_on(tmp_path):
    db, _ = _stored(tmp_path)
    _, more, h = _resume(db, 3)
    assert len(more) == 1 and h.max_t == 2


def test_resume_refuses_a_database_made_for_another_estimation(tmp_path):
    from types import SimpleNamespace

    from sim.errors import InputError

    db, _ = _stored(tmp_path)
    model = SimpleNamespace(targets=SimpleNamespace(cells=np.arange(3.0)))
    assert abc._resumable(db, model, NAMES, 30).generations == 3
    assert abc._resumable(tmp_path / "none.db", model, NAMES, 30) is None
    with pytest.raises(InputError, match=r"abc.db: cannot resume: .*not in the spec: d; not in the run: e"):
        abc._resumable(db, model, ["a", "b", "c", "e"], 30)
    with pytest.raises(InputError, match="other observed figures"):
        abc._resumable(db, SimpleNamespace(targets=SimpleNamespace(cells=np.arange(4.0))), NAMES, 30)
    with pytest.raises(InputError, match="its population is 30, the spec's 40"):
        abc._resumable(db, model, NAMES, 40)
    importance = SimpleNamespace(spec=SimpleNamespace(abc=SimpleNamespace(method="importance")), spec_path="c.yaml")
    with pytest.raises(InputError, match=r"c.yaml: abc.method: --resume needs method: mcmc"):
        abc.run_abc(importance, tmp_path, None, False, resume=True)


def test_finishing_sweeps_undo_copies_at_the_last_threshold_without_lowering_it():
    from sim.studies.calibration.smc import copies_ess

    # a tight end (few moves accepted) leaves copies; the sweeps move only those
    plain = _run(max_generations=40, min_acceptance=0.3, keep_fraction=0.3)
    done = _run(max_generations=40, min_acceptance=0.3, keep_fraction=0.3, final_moves=30, final_ess=40)
    before, after = done[-2], done[-1]
    assert np.array_equal(before.z, plain[-1].z)  # the run itself is unchanged up to its stop
    assert copies_ess(before.z) < 40 <= copies_ess(after.z)
    assert after.epsilon == before.epsilon and np.all(after.distance <= after.epsilon + 1e-12)
    # one of each set of copies stays where it was, and no distinct particle moves
    _, first = np.unique(before.z, axis=0, return_index=True)
    assert np.array_equal(after.z[first], before.z[first])
    assert 0 < after.simulations <= 30 * (len(before.z) - len(first))
    # the same number as the report's effective sample size
    post = pd.DataFrame(after.z, columns=NAMES).assign(weight=1 / len(after.z))
    assert copies_ess(after.z) == pytest.approx(abc.effective_sample_size(post))


def test_finishing_sweeps_leave_a_distinct_population_alone_and_a_stored_one_can_be_finished(tmp_path):
    gens = _run(max_generations=3, final_moves=5, final_ess=1.0)
    assert len(gens) == 3  # nothing appended: the effective sample is already above 1
    db, first = _stored(tmp_path)
    start, more, h = _resume(db, 3, final_moves=5, final_ess=30.0)
    assert len(more) == 2 and h.max_t == 3 and more[1].epsilon == first[-1].epsilon


def test_finishing_steps_shrink_where_long_moves_are_never_accepted():
    from sim.studies.calibration.smc import Generation, _finish, copies_ess

    # 30 copies at the mode among 6 distinct particles spread wide (the covariance the
    # steps take); only a simulation within 0.3 of the mode is within the threshold
    z = np.vstack([np.zeros((30, 2)), [[2, 0], [-2, 0], [0, 2], [0, -2], [1.5, 1.5], [-1.5, -1.5]]])
    last = Generation(z, [{"x": r} for r in z], np.zeros(len(z)), 0.3, 0)
    lines = []
    g = _finish(lambda rows: [{"x": np.asarray(r)} for r in rows], lambda s: float(np.linalg.norm(s["x"])), last,
                np.random.default_rng(1), 40, 20.0, lambda: False, lines.append)
    steps = [float(line.rsplit("x", 1)[1]) for line in lines]
    assert steps[0] < 1.0 and steps == sorted(steps, reverse=True)  # shrunk after the first sweep, never grown
    assert copies_ess(g.z) >= 20.0 and np.all(g.distance <= 0.3)
