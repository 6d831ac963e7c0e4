"""The MCMC-moved ABC-SMC (sim/studies/calibration/smc.py) on a problem whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from sim.studies.calibration import abc
from sim.studies.calibration.smc import distinct_share, run_smc_mcmc

TRUTH = np.array([0.5, -0.5, 0.0, 0.0])
NOISE = np.array([0.1, 0.1, 50.0, 50.0])  # two parameters the data pin down, two they say nothing of


def _run(seed=3, **kw):
    rng = np.random.default_rng(99)  # the simulator's own noise: drawn in call order, so a run repeats

    def simulate(rows):
        return [{"x": np.asarray(z) + rng.normal(0.0, NOISE)} for z in rows]

    def distance(s):
        return float(np.sqrt(np.sum(((s["x"] - TRUTH) / NOISE) ** 2)))

    args = dict(population=60, keep_fraction=0.7, mcmc_steps=2, max_generations=12, max_seconds=120,
                min_acceptance=0.0, seed=seed, log=lambda *a: None)
    args.update(kw)
    return run_smc_mcmc(simulate, distance, len(TRUTH), **args)


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
