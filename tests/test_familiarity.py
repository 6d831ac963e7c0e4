"""Route knowledge that starts settled and can be lost, and the estimated factor on
removal shares: what each does, and that neither creates nor loses anyone."""

import numpy as np
import pytest
from conftest import tiny_scenario, write_network, write_yaml
from hypothesis import HealthCheck, given, settings
from test_model import random_network

from sim.citizenship import CODE
from sim.engine.model import RouteModel
from sim.scenario.inputs import Inputs

VEN, MEX = CODE["VENEZUELA"], CODE["MEXICO"]


def model(tmp_path, familiarity=None, name="s", run=False, seed=1, **over):
    sc = tiny_scenario(tmp_path, **over)
    sc["behaviour"] = {"familiarity": {"penalty": 1.0, "learning_rate": 0.1, **(familiarity or {})}}
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), seed)
    return m.run() if run else m


def leg(m, a, b):
    return m.network.edge_index[(a, b)]


# ---- the expected share of departures on each leg: what settling reads ----
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=random_network())
def test_leg_shares_carry_every_departure_to_a_border_area(tmp_path_factory, net):
    tmp = tmp_path_factory.mktemp("shares")
    sc = tiny_scenario(tmp)
    write_network(tmp / "net", *net)
    sc["darien_exit_nodes"] = []
    sc["crossing"] = {}
    sc["departures"]["by_citizenship"] = {"CUBA": {"level": 10.0, "origins": {"o_0": 1.0}}}
    m = RouteModel(Inputs.load(write_yaml(tmp / "s.yaml", sc)), 1)
    n = m.network
    s = m.router.leg_shares(m.departures.origin_shares())[CODE["CUBA"]]
    into_border = s[n.is_border[n.dst]].sum()
    out_of_origin = s[n.src == n.index["o_0"]].sum()
    # every leg open to them leads on to a border area, so what sets out arrives
    assert out_of_origin == pytest.approx(1.0)
    assert into_border == pytest.approx(1.0)
    for i in np.flatnonzero(~n.is_border & (n.kind != "origin")):
        assert s[n.dst == i].sum() == pytest.approx(s[n.src == i].sum())   # what comes in goes on
    assert (s >= 0).all()


def test_settled_familiarity_is_the_steady_state_of_the_first_days_routes(tmp_path):
    d, f0 = 0.25, 0.2
    m = model(tmp_path / "a", {"settle": True, "decay": d, "initial": f0})
    s = m.router.leg_shares(m.departures.origin_shares())
    fam = m.behaviour.familiarity
    first = leg(m, "o_a", "n_fork")
    assert s[VEN, first] == pytest.approx(1.0)
    assert fam[VEN, first] == pytest.approx((1 + d * f0) / (1 + d), abs=1e-3)
    # the fork's two ways: each known as much as it is taken (the fixed point holds)
    for e in (leg(m, "n_fork", "n_jungle_exit"), leg(m, "n_fork", "n_detour")):
        assert 0 < s[VEN, e] < 1
        assert fam[VEN, e] == pytest.approx((s[VEN, e] + d * f0) / (s[VEN, e] + d), abs=1e-3)
    # a way no Venezuelan takes stays at the floor, and Mexicans know only their own
    assert fam[VEN, leg(m, "o_b", "n_city")] == pytest.approx(f0)
    assert fam[MEX, first] == pytest.approx(f0)
    assert fam[MEX, leg(m, "o_b", "n_city")] > 0.8
    # unsettled, every leg starts at the floor
    assert (model(tmp_path / "b", {"decay": d, "initial": f0}).behaviour.familiarity == f0).all()


@pytest.mark.parametrize("among", ["passers", "departures"])
def test_a_minority_origin_knows_its_own_way_among_passers(tmp_path, among):
    """A tenth of the Venezuelans set out from o_b, whose only leg goes to the border city.
    Among passers they know it as well as the majority knows its first leg (all who pass
    o_b take it); among all departures it stays as unknown as a tenth's share makes it."""
    d, f0 = 0.25, 0.2
    sc = tiny_scenario(tmp_path)
    sc["behaviour"] = {"familiarity": {"penalty": 1.0, "learning_rate": 0.1, "settle": True, "decay": d,
                                       "initial": f0, "among": among}}
    sc["departures"]["by_citizenship"]["VENEZUELA"]["origins"] = {"o_a": 0.9, "o_b": 0.1}
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{among}.yaml", sc)), 1)
    fam = m.behaviour.familiarity[VEN]
    share = m.router.leg_shares(m.departures.origin_shares())[VEN, leg(m, "o_b", "n_city")]
    assert share == pytest.approx(0.1, abs=1e-6)
    mine, majority = (1.0, 1.0) if among == "passers" else (share, 1.0 - share)
    assert fam[leg(m, "o_b", "n_city")] == pytest.approx((mine + d * f0) / (mine + d), abs=1e-3)
    assert fam[leg(m, "o_a", "n_fork")] == pytest.approx((majority + d * f0) / (majority + d), abs=1e-3)


def test_a_settled_run_does_not_hang_on_its_spinup(tmp_path):
    """The same last day from a spin-up of two weeks and of six months: settled, the route
    knowledge on that day is about the same; unsettled, the short run has not learnt yet."""
    fam = {}
    for settle in (True, False):
        for spin in ("2023-01-01", "2022-07-01"):
            m = model(tmp_path / f"{settle}{spin}", {"settle": settle, "decay": 0.3}, run=True, spinup_start=spin)
            e = [leg(m, "n_fork", "n_jungle_exit"), leg(m, "n_fork", "n_detour"), leg(m, "o_a", "n_fork")]
            fam[settle, spin] = m.behaviour.familiarity[VEN, e]
    settled = np.abs(fam[True, "2023-01-01"] - fam[True, "2022-07-01"]).max()
    unsettled = np.abs(fam[False, "2023-01-01"] - fam[False, "2022-07-01"]).max()
    assert settled < 0.05
    assert unsettled > 3 * settled


def test_route_knowledge_is_lost_when_nobody_takes_the_way(tmp_path):
    """The detour closes on 2023-01-20: nobody takes it for ten weeks. Each week its
    familiarity moves learning_rate x decay of the way back to the floor."""
    closure = {"type": "closure", "start": "2023-01-20", "node": "n_detour"}
    start, end = {}, {}
    for d in (0.0, 0.5):
        sc = tiny_scenario(tmp_path)
        m = model(tmp_path / f"d{d}", {"settle": True, "decay": d}, policies=sc["policies"] + [closure])
        e = leg(m, "n_fork", "n_detour")
        start[d] = m.behaviour.familiarity[VEN, e]
        end[d] = m.run().behaviour.familiarity[VEN, e]
    assert start[0.0] == pytest.approx(1.0, abs=1e-3) and end[0.0] >= start[0.0]  # without decay, known for ever
    # with it: nine whole weeks closed, each keeps 1 - 0.1 x 0.5 of the distance to the floor 0.2
    assert end[0.5] == pytest.approx(0.2 + (start[0.5] - 0.2) * 0.95 ** 9, abs=0.03)


# ---- one estimated factor on every Title 8 removal share ----
def _removed_share(tmp_path, scale, policies=()):
    sc = tiny_scenario(tmp_path)
    sc["border"] = {**sc["border"], "removal_scale": scale}
    sc["policies"] = sc["policies"] + list(policies)
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"r{scale}{len(policies)}.yaml", sc)), 1).run()
    assert m.people_ledger()["balanced"]
    ts = m.timeseries()
    after = ts[(ts["place"] == "El Paso Sector") & (ts["date"] >= __import__("datetime").date(2023, 2, 20))]
    by = after.groupby("metric")["value"].sum()
    return by.get("removals", 0) / by["encounters"], m


@pytest.mark.parametrize("scale,lever,expected", [(1.0, None, 0.3), (2.0, None, 0.6), (0.0, None, 0.0),
                                                  (2.0, 0.4, 0.8), (4.0, 0.4, 1.0)])
def test_removal_scale_multiplies_the_scenarios_and_the_levers_shares(tmp_path, scale, lever, expected):
    pol = [] if lever is None else [{"type": "processing_regime", "start": "2023-02-16",
                                    "removal_share": {"default": lever}}]
    share, m = _removed_share(tmp_path, scale, pol)
    assert share == pytest.approx(expected, abs=0.08)
    # what people expect moves with it (a removed person tries again with chance 0.4)
    rm = min(expected, 1.0)
    assert m.border.expected_release()[VEN] == pytest.approx((1 - rm) / ((1 - rm) + rm * 0.6))
