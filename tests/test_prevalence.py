"""Departures' drivers beyond a level and a trend: the seasonality's cycles and regions, and
the prevalence of recent departures (behaviour.prevalence: cumulative causation, or depletion)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import tiny_scenario, write_yaml
from test_waiting import SHUT, between, mexican_departures

from sim.citizenship import CODE
from sim.engine.model import RouteModel
from sim.scenario.inputs import Inputs, potential_departures
from sim.scenario.spec import Departures


def season(cycles: int) -> pd.Series:
    dep = Departures.model_validate({"reference_date": "2023-01-01",
                                     "seasonality": {"amplitude": 0.2, "peak_month": 4.5, "cycles": cycles},
                                     "by_citizenship": {"MEXICO": {"level": 10.0, "origins": {"o_b": 1.0}}}})
    dates = pd.date_range("2023-01-01", "2023-12-31")
    return pd.Series(potential_departures(dep, dates)[:, CODE["MEXICO"]], index=dates).groupby(dates.month).mean()


def test_two_cycles_a_year_peak_in_spring_and_autumn_and_dip_in_winter_and_summer():
    one, two = season(1), season(2)
    assert one.idxmax() == 4 and one.idxmin() == 10          # one peak, its trough six months on
    assert two[[4, 10]].min() > two[[1, 7]].max()           # peaks in April and October
    assert abs(two[4] - two[10]) < 0.01 * two[4] and abs(two[1] - two[7]) < 0.01 * two[1]
    # the same log amplitude either way: the highest month to the lowest
    assert abs(np.log(one.max() / one.min()) - np.log(two.max() / two.min())) < 0.05


def test_a_region_with_its_own_seasonality_moves_only_its_own_citizenships():
    """South America peaking in August while the shared season peaks in April: the
    Venezuelans' months follow August's peak, the Mexicans' stay those of the shared
    season, and an amplitude left out is the shared one."""
    by = {"MEXICO": {"level": 10.0, "origins": {"o_b": 1.0}}, "VENEZUELA": {"level": 10.0, "origins": {"o_a": 1.0}}}
    seasonality = {"amplitude": 0.2, "peak_month": 4.5, "cycles": 1}
    dates = pd.date_range("2023-01-01", "2023-12-31")

    def months(**own):
        dep = Departures.model_validate({"reference_date": "2023-01-01", "by_citizenship": by,
                                         "seasonality": {**seasonality, **own}})
        pot = pd.DataFrame(potential_departures(dep, dates)[:, [CODE["MEXICO"], CODE["VENEZUELA"]]],
                           index=dates, columns=["MEXICO", "VENEZUELA"])
        return pot.groupby(dates.month).mean()

    shared, own = months(), months(by_region={"south_america": {"peak_month": 8.5}})
    pd.testing.assert_series_equal(own["MEXICO"], shared["MEXICO"])
    assert shared["VENEZUELA"].idxmax() == 4 and own["VENEZUELA"].idxmax() == 8
    # the same amplitude (the shared one): the highest month to the lowest
    assert abs(np.log(own["VENEZUELA"].max() / own["VENEZUELA"].min())
               - np.log(shared["VENEZUELA"].max() / shared["VENEZUELA"].min())) < 0.05
    flat = months(by_region={"south_america": {"amplitude": 0.0}})
    assert flat["VENEZUELA"].max() / flat["VENEZUELA"].min() < 1.000001
    pd.testing.assert_series_equal(flat["MEXICO"], shared["MEXICO"])


def prevalence_run(tmp_path, name, elasticity, levels=(100.0, 66.0), policies=()):
    sc = tiny_scenario(tmp_path)
    sc["policies"] = list(policies)
    sc["behaviour"] = {"prevalence": {"elasticity": elasticity, "memory_days": 30}}
    for c, level in zip(("VENEZUELA", "MEXICO"), levels):
        sc["departures"]["by_citizenship"][c]["level"] = level
    return RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), 1).run()


def test_a_citizenship_leaving_at_its_level_is_not_moved_by_prevalence(tmp_path):
    """Nothing changes (no lever, a response of 1): departures stay at the level, the
    prevalence at 1, and the factor at 1, so the run is the run without it."""
    off = prevalence_run(tmp_path, "off", 0.0)
    on = prevalence_run(tmp_path, "on", 0.6)
    assert off.books.ledger == on.books.ledger
    known = on.inputs.reference_level > 0
    np.testing.assert_allclose(on.behaviour._recent[known] / on.inputs.reference_level[known], 1.0, rtol=1e-9)


def test_a_shut_way_lowers_departures_after_it_opens_and_they_recover(tmp_path):
    """Three weeks with the Mexicans' only leg shut: with prevalence their recent
    departures fall, so fewer leave once it opens than without it, and the gap closes as
    departures rebuild the prevalence."""
    flow, _ = mexican_departures(tmp_path, "flow", policies=(SHUT,))
    net, m = mexican_departures(tmp_path, "net", policies=(SHUT,),
                                behaviour={"prevalence": {"elasticity": 0.5, "memory_days": 30}})
    assert between(net, "2023-01-01", "2023-01-19") == between(flow, "2023-01-01", "2023-01-19")
    early = between(net, "2023-02-10", "2023-02-24") / between(flow, "2023-02-10", "2023-02-24")
    late = between(net, "2023-03-15", "2023-03-31") / between(flow, "2023-03-15", "2023-03-31")
    # recent departures after 20 shut days: (29/30)^20 = 0.51 of the level, a factor of 0.71
    assert 0.6 < early < 0.85 and early < late


def test_prevalence_is_the_same_at_any_level(tmp_path):
    """Measured against the level, the factor does not depend on it: departures stay
    proportional to the level (what the calibration's linear level solve relies on)."""
    a = prevalence_run(tmp_path, "a", 0.5, policies=(SHUT,))
    b = prevalence_run(tmp_path, "b", 0.5, levels=(300.0, 198.0), policies=(SHUT,))
    mex = CODE["MEXICO"]
    pa = a.behaviour._recent[mex] / a.inputs.reference_level[mex]
    pb = b.behaviour._recent[mex] / b.inputs.reference_level[mex]
    assert pa < 0.99 and abs(pa - pb) < 1e-9 * pa


def test_depletion_raises_departures_after_a_shut_way_opens(tmp_path):
    """A negative elasticity is depletion: three weeks with the Mexicans' only way shut
    leave more ready to go, so more leave once it opens than without it (the opposite of
    cumulative causation above), and the excess fades as departures drain the pool."""
    flow, _ = mexican_departures(tmp_path, "flow", policies=(SHUT,))
    pool, _ = mexican_departures(tmp_path, "pool", policies=(SHUT,),
                                 behaviour={"prevalence": {"elasticity": -0.5, "memory_days": 30}})
    assert between(pool, "2023-01-01", "2023-01-19") == between(flow, "2023-01-01", "2023-01-19")
    early = between(pool, "2023-02-10", "2023-02-24") / between(flow, "2023-02-10", "2023-02-24")
    late = between(pool, "2023-03-15", "2023-03-31") / between(flow, "2023-03-15", "2023-03-31")
    # recent departures after 20 shut days: 0.51 of the level, a factor of 0.51^-0.5 = 1.4
    assert 1.2 < early < 1.6 and late < early


def test_depletion_slows_a_growing_citizenship(tmp_path):
    """With a trend, recent departures run above the level and depletion holds growth back:
    the last month over the first is lower than with no prevalence, and higher with
    cumulative causation."""
    def growth(elasticity, name):
        sc = tiny_scenario(tmp_path)
        sc["departures"]["by_citizenship"]["MEXICO"]["trend"] = 2.0
        sc["behaviour"] = {"prevalence": {"elasticity": elasticity, "memory_days": 30}}
        m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), 1).run()
        ts = m.timeseries()
        d = ts[(ts["metric"] == "departures") & (ts["nationality"] == "MEXICO")]
        d = d.assign(date=pd.to_datetime(d["date"]))
        first = d[d["date"] < "2023-02-01"]["value"].sum()
        last = d[d["date"] >= "2023-03-01"]["value"].sum()
        return last / first

    off, depleted, causation = growth(0.0, "g0"), growth(-0.5, "gm"), growth(0.5, "gp")
    assert depleted < off < causation
