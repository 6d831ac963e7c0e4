"""Where people cross: per-area route costs, the areas' values, ports outside Title 42,
the proclamation's threshold, held trends, and the forecast command."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from conftest import tiny_scenario, write_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.citizenship import CODE
from sim.cli import main
from sim.engine.model import RouteModel
from sim.scenario.inputs import Inputs, potential_departures


def _run(tmp_path, name="s", seed=1, **over):
    sc = tiny_scenario(tmp_path, **over)
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), seed).run()
    assert m.people_ledger()["balanced"]
    return m


def _port_share(m) -> float:
    ts = m.timeseries()
    enc = ts[ts["metric"] == "encounters"]
    return float(enc.loc[enc["place"] == "El Paso Field Office", "value"].sum() / enc["value"].sum())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 5), min_size=1, max_size=1), st.integers(0, 3))
def test_per_area_costs_agree_with_the_cost_to_the_border(tmp_path_factory, _, seed):
    """The least cost to the border is the least over the areas of the cost to each."""
    tmp = tmp_path_factory.mktemp("areas")
    m = RouteModel(Inputs.load(write_yaml(tmp / "s.yaml", tiny_scenario(tmp))), seed)
    net = m.network
    rng = np.random.default_rng(seed)
    leg = rng.uniform(0, 3, net.n_edges)
    usable = rng.uniform(size=(3, net.n_edges)) > 0.2
    per_area = net.cost_to_areas(leg, usable, m.crossing.areas)
    np.testing.assert_allclose(per_area.min(axis=2), net.cost_to_border(leg, usable))
    for b, a in enumerate(m.crossing.areas):  # each area alone as the only border
        target = np.zeros(net.n_nodes, bool)
        target[a] = True
        np.testing.assert_allclose(per_area[:, :, b], net.cost_to_border(leg, usable, target))


def test_an_areas_attractiveness_draws_people_to_it(tmp_path):
    low = _port_share(_run(tmp_path, "low", crossing={"attractiveness": {"b_epfo": -2.0}}))
    high = _port_share(_run(tmp_path, "high", crossing={"attractiveness": {"b_epfo": 1.0}}))
    assert 0 < low < 0.3 < high


def test_title42_expels_between_ports_only(tmp_path):
    m = _run(tmp_path, crossing={"attractiveness": {"b_epfo": 0.0}}, policies=[])  # Title 42 throughout
    ts = m.timeseries()
    ex = ts[ts["metric"] == "expulsions"].groupby("place")["value"].sum()
    assert ex.get("El Paso Sector", 0) > 0 and ex.get("El Paso Field Office", 0) == 0


def test_ports_are_valued_for_their_release_chance(tmp_path):
    """With Title 42 in force between ports, a port weight draws people to the port."""
    flat = _port_share(_run(tmp_path, "a", policies=[], crossing={"attractiveness": {"b_epfo": -1.0}}))
    keen = _port_share(_run(tmp_path, "b", policies=[], crossing={"attractiveness": {"b_epfo": -1.0},
                                                                  "port_weight": 4.0}))
    assert keen > flat + 0.1


def test_following_co_nationals_keeps_the_ledger_and_shifts_areas(tmp_path):
    alone = _port_share(_run(tmp_path, "a"))
    follow = _port_share(_run(tmp_path, "b", crossing={"attractiveness": {"b_epfo": -1.4}, "follow_share": 0.9}))
    assert follow != alone  # the memory of where co-nationals crossed enters the choice


def test_proclamation_threshold_lifts_and_reapplies(tmp_path):
    """A regime with a suspension threshold lifts once encounters between ports stay below
    it, and applies again above the other threshold."""
    hi = {"type": "processing_regime", "label": "proclamation", "start": "2023-02-20",
          "removal_share": {"default": 0.95}}
    kept = _run(tmp_path, "kept", policies=[hi])
    lifted = _run(tmp_path, "lifted", policies=[{**hi, "lifted_below": 1e9, "lift_delay_days": 3}])
    again = _run(tmp_path, "again", policies=[{**hi, "lifted_below": 1e9, "in_force_above": 1e9,
                                               "lift_delay_days": 3}])

    def removals_after(m, day):
        ts = m.timeseries()
        d = ts[(ts["metric"] == "removals") & (ts["place"] == "El Paso Sector") & (ts["date"] >= day)]
        return d["value"].sum()

    late = dt.date(2023, 3, 10)
    assert removals_after(kept, late) > 2 * removals_after(lifted, late)
    assert removals_after(again, late) == removals_after(lifted, late)  # a mean above 1e9 never comes


def test_trends_stop_at_trend_until():
    from sim.scenario.spec import Departures

    dep = Departures.model_validate({"trend": {"south_america": 1.0}, "reference_date": "2023-01-01",
                                     "trend_until": "2023-03-01",
                                     "by_citizenship": {"VENEZUELA": {"level": 10.0, "origins": {"o_a": 1.0}}}})
    dates = pd.date_range("2023-01-01", "2023-06-30")
    p = potential_departures(dep, dates)[:, CODE["VENEZUELA"]]
    at = dates.get_loc(pd.Timestamp("2023-03-01"))
    assert p[at] > p[0] and np.all(p[at:] == p[at])
    free = potential_departures(dep.model_copy(update={"trend_until": None}), dates)[:, CODE["VENEZUELA"]]
    assert free[-1] > p[-1]
    # trend_years: growth for that many years after the reference date; with trend_until, the earlier stops
    half = potential_departures(dep.model_copy(update={"trend_until": None, "trend_years": 0.25}), dates)[:, CODE["VENEZUELA"]]
    cut = int(np.ceil(0.25 * 365.25))  # 2023-04-02: the first day past a quarter of a year
    assert half[cut - 1] > half[0] and np.all(half[cut:] == half[cut]) and half[-1] < free[-1]
    np.testing.assert_allclose(half[cut], 10.0 * np.exp(0.25), rtol=1e-12)
    both = potential_departures(dep.model_copy(update={"trend_years": 0.25}), dates)[:, CODE["VENEZUELA"]]
    np.testing.assert_array_equal(both, p)  # 2023-03-01 comes first


def test_a_flow_started_by_a_dated_event_has_no_departures_before_it():
    from sim.scenario.spec import Departures

    dep = Departures.model_validate({"trend": {"outside_americas": -1.0}, "reference_date": "2022-10-01",
                                     "by_citizenship": {"UKRAINE": {"level": 10.0, "since": "2022-02-24",
                                                                    "origins": {"o_a": 1.0}},
                                                        "RUSSIA": {"level": 10.0, "origins": {"o_a": 1.0}}}})
    dates = pd.date_range("2021-10-01", "2023-09-30")
    p = potential_departures(dep, dates)
    without = potential_departures(dep.model_copy(update={"by_citizenship": {
        c: s.model_copy(update={"since": None}) for c, s in dep.by_citizenship.items()}}), dates)
    war = dates.get_loc(pd.Timestamp("2022-02-24"))
    assert np.all(p[:war, CODE["UKRAINE"]] == 0) and np.all(without[:war, CODE["UKRAINE"]] > 0)
    np.testing.assert_array_equal(p[war:], without[war:])   # from the date, level and trend as without it
    np.testing.assert_array_equal(p[:, CODE["RUSSIA"]], without[:, CODE["RUSSIA"]])  # others untouched


def test_a_citizenships_own_trend_replaces_its_regions():
    from sim.scenario.spec import Departures

    dep = Departures.model_validate({"trend": {"south_america": 1.0}, "reference_date": "2023-01-01",
                                     "by_citizenship": {"VENEZUELA": {"level": 10.0, "origins": {"o_a": 1.0}},
                                                        "COLOMBIA": {"level": 10.0, "trend": -0.5, "origins": {"o_a": 1.0}}}})
    dates = pd.date_range("2023-01-01", "2024-12-31")
    p = potential_departures(dep, dates)
    years = (dates - dates[0]).days.to_numpy() / 365.25
    np.testing.assert_allclose(p[:, CODE["VENEZUELA"]], 10.0 * np.exp(1.0 * years))   # the region's
    np.testing.assert_allclose(p[:, CODE["COLOMBIA"]], 10.0 * np.exp(-0.5 * years))   # its own


def test_forecast_writes_bands_and_every_draw(tmp_path):
    sc = tiny_scenario(tmp_path)
    pd.DataFrame({"behaviour.response.release_weight": [0.5, 2.0], "weight": [0.5, 0.5]}).to_parquet(tmp_path / "p.parquet")
    sc["posterior"] = str(tmp_path / "p.parquet")
    path = write_yaml(tmp_path / "f.yaml", sc)
    out = tmp_path / "FORECAST.md"
    assert main(["forecast", str(path), "--posterior-draws", "3", "--out", str(out), "--quiet"]) == 0
    text = out.read_text()
    assert "90% band" in text and "Darién crossings" in text and "git " in text
    draws = pd.read_csv(out.with_suffix(".csv"))
    assert sorted(draws["draw"].unique()) == [0, 1, 2]
    assert set(draws["figure"]) >= {"month", "citizenship", "darien"}
