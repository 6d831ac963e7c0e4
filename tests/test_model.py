"""The model's invariants: nobody created or lost, determinism, Mesa agents."""

import gc
import weakref

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_scenario, write_network, write_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.groups import ACTIVE, DONE, WAITING
from sim.engine.model import RouteModel
from sim.scenario.inputs import Inputs


def run(path, seed=1):
    return RouteModel(Inputs.load(path), seed).run()


def test_ledger_balances_and_matches_rows(tiny):
    m = run(tiny)
    led = m.people_ledger()
    assert led["balanced"]
    g = m.groups
    live = g.size[: g.n][(g.status[: g.n] == ACTIVE) | (g.status[: g.n] == WAITING)].sum()
    assert live == led["travelling"] + led["waiting_to_retry"]
    assert (g.size[: g.n][g.status[: g.n] == DONE] == 0).all()
    assert (g.size[: g.n] >= 0).all()
    # every metric the contract names shows up in this scenario
    ts = m.timeseries()
    assert {"departures", "darien_crossings", "encounters", "deaths", "removals", "released_us"} <= set(ts["metric"])


def test_departures_match_the_schedule_in_expectation(tiny):
    inp = Inputs.load(tiny)
    m = RouteModel(inp, 3).run()
    assert abs(m.people_ledger()["spawned"] - inp.departures.sum()) < 4 * np.sqrt(inp.departures.sum() * 10)


def test_same_seed_same_output_other_seed_different(tiny):
    a, b, c = run(tiny, 5).timeseries(), run(tiny, 5).timeseries(), run(tiny, 6).timeseries()
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_encounters_are_at_border_areas_with_cbp_names(tiny):
    ts = run(tiny).timeseries()
    assert set(ts.loc[ts["metric"] == "encounters", "place"]) <= {"El Paso Sector", "El Paso Field Office"}


def test_journey_days_give_each_citizenship_its_mean_journey(tiny):
    """journey_days / encounters is the mean time on the way: never below the fastest way
    (tiny network: Mexicans 1.1 days from o_b, Venezuelans 6.6 from o_a over the detour),
    longer for the far origin, and recorded where the encounters are."""
    ts = run(tiny).timeseries()
    by = ts[ts["metric"].isin(["encounters", "journey_days"])].groupby(["nationality", "metric"])["value"].sum().unstack()
    mean = by["journey_days"] / by["encounters"]
    assert mean["MEXICO"] >= 1.0 and mean["VENEZUELA"] >= 6.0
    assert mean["VENEZUELA"] > 2 * mean["MEXICO"]
    places = ts.groupby("metric")["place"].agg(set)
    assert places["journey_days"] == places["encounters"]


def test_title42_expels_only_while_in_force(tiny):
    ts = run(tiny).timeseries()
    ex = ts[ts["metric"] == "expulsions"]
    assert len(ex) and (pd.to_datetime(ex["date"]) <= "2023-02-15").all()


def test_agents_read_their_rows(tiny):
    m = run(tiny)
    assert len(m.agents) == 0  # made when first asked for
    agents = m.group_agents()
    assert len(agents) == m.groups.n == len(m.agents)
    assert [a.unique_id for a in agents] == list(range(1, m.groups.n + 1))
    a = m.group_agent(0)
    assert a.size == m.groups.size[0] and a.citizenship in ("VENEZUELA", "MEXICO")
    kids = [x for x in agents if x.parent is not None]
    assert kids and all(k.parent.unique_id != k.unique_id for k in kids)
    assert "node" in a.position or "edge" in a.position


def test_model_is_garbage_collected(tiny):
    m = run(tiny)
    ref = weakref.ref(m)
    m.remove_all_agents()
    del m
    gc.collect()
    assert ref() is None


def test_split_at_forks_gives_independent_choices(tmp_path):
    sc = tiny_scenario(tmp_path, route_choice={"split_at_forks": True})
    m = run(write_yaml(tmp_path / "s.yaml", sc))
    assert m.people_ledger()["balanced"]
    # members of one party went different ways at the fork
    assert (m.groups.parent[: m.groups.n] >= 0).sum() > 0


# ---- hypothesis: random networks and schedules never create or lose anyone ----
@st.composite
def random_network(draw):
    n_mid = draw(st.integers(1, 6))
    mids = [f"n_{i}" for i in range(n_mid)]
    nodes = [("o_0", "Origin", "origin", 0.0, 0.0, 1.0)]
    nodes += [(m, m, "transit", 1.0 + i, 0.0, draw(st.floats(0.05, 1.0))) for i, m in enumerate(mids)]
    nodes += [("b_0", "Yuma Sector", "border_area", 30.0, 0.0, 0.0), ("b_1", "Tucson Field Office", "border_area", 30.0, 1.0, 0.0)]
    edges = []
    order = ["o_0", *mids]
    for i, a in enumerate(order):
        later = order[i + 1:] + ["b_0", "b_1"]
        targets = draw(st.lists(st.sampled_from(later), min_size=1, max_size=3, unique=True))
        for b in targets:
            edges.append((a, b, draw(st.sampled_from(["foot", "bus", "boat"])), draw(st.floats(1, 2000)),
                          draw(st.floats(0.05, 4.0)), draw(st.floats(0, 600)), draw(st.sampled_from([0.0, 0.001, 0.05]))))
    return nodes, edges


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=random_network(), levels=st.lists(st.floats(0, 100), min_size=2, max_size=2),
       split=st.booleans(), mode=st.sampled_from(["common", "single"]), seed=st.integers(0, 10_000),
       save=st.booleans(), hold=st.sampled_from([1.0, 0.05, 0.0]), prevalence=st.sampled_from([0.0, 0.5, 0.9]),
       time_value=st.sampled_from([0.0, 1.0]), later=st.sampled_from([None, "worse", "better"]))
def test_people_ledger_holds_on_random_networks(tmp_path_factory, net, levels, split, mode, seed, save, hold,
                                                prevalence, time_value, later):
    tmp = tmp_path_factory.mktemp("rand")
    sc = tiny_scenario(tmp)
    write_network(tmp / "net", *net)
    sc["darien_exit_nodes"] = []
    sc["crossing"] = {"follow_share": 0.5}          # the tiny network's areas are not these
    sc["random_numbers"] = mode
    sc["departures"]["by_citizenship"] = {"CUBA": {"level": levels[0], "origins": {"o_0": 1.0},
                                                   "money": {"median_usd": 4000, "sigma": 0.7}},
                                          "OTHER": {"level": levels[1], "origins": {"o_0": 1.0}}}
    # beliefs, route knowledge, giving up (or being held on the way) and prevalence all
    # on: they must not create or lose anyone either
    sc["behaviour"] = {"response": {"release_weight": 3.0, "cost_weight": 0.1}, "familiarity": {"penalty": 1.0},
                       "beliefs": {"delay_days": 3, "window_days": 5, "learning_rate": 0.3},
                       "on_the_way": {"settle_rate": hold, "leave_rate": 0.2},
                       "prevalence": {"elasticity": prevalence, "memory_days": 10},
                       "waiting": {"leave_rate": 0.05, "settle_rate": 0.01}}
    if later == "worse":  # a harsher rule announced for a later date: the waiting and the held hurry before it
        sc["policies"].append({"type": "announced_rule", "label": "removal to come", "start": "2023-01-25",
                               "effective": "2023-02-20", "removal_share": {"default": 1.0}})
    elif later == "better":  # a better one: some set out now and wait in the border town for its day
        sc["policies"].append({"type": "announced_rule", "label": "release to come", "start": "2023-01-25",
                               "effective": "2023-02-20", "title42": False, "removal_share": {"default": 0.0}})
    sc["route_choice"] = {"split_at_forks": split, "save_for_fare": save, "days_weight": 0.05,
                          "time_value_elasticity": time_value}   # Cubans' day dearer than the others
    m = run(write_yaml(tmp / "s.yaml", sc), seed)
    led = m.people_ledger()
    assert led["balanced"], led
    g = m.groups
    st_ = g.status[: g.n]
    assert g.size[: g.n][st_ != DONE].sum() == led["travelling"] + led["waiting_to_retry"]
    ts = m.timeseries()
    assert (ts["value"] > 0).all()


# ---- route choice weighs the whole way to the border, not only the next leg ----
def _fork_shares(tmp_path, edges):
    sc = tiny_scenario(tmp_path)
    write_network(tmp_path / "net", edges=edges)  # over the default tiny network
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "s.yaml", sc)), 1)
    net, rc = m.network, m.spec.route_choice
    fork = net.out_edges[net.index["n_fork"]]
    w = m.router.weights[0, fork]
    to = [net.ids[net.dst[e]] for e in fork]
    return dict(zip(to, w / w.sum())), net, rc, m


def test_route_choice_counts_fares_and_risks_further_on(tmp_path):
    from conftest import TINY_EDGES

    dear = [e if (e[0], e[1]) != ("n_jungle_exit", "n_city") else (*e[:5], 5000, e[6]) for e in TINY_EDGES]
    cheap, net, rc, m = _fork_shares(tmp_path / "a", TINY_EDGES)
    costly, net, rc, m = _fork_shares(tmp_path / "b", dear)
    # a fare two legs on, beyond the fork, makes the jungle leg less attractive at the fork
    assert costly["n_jungle_exit"] < cheap["n_jungle_exit"] / 5

    # and the odds are exactly those of the two routes' generalised costs (logit)
    def leg(a, b):
        e = net.edge_index[(a, b)]
        risk = 1 - (1 - m.router.hazard[e]) ** net.days[e]
        return rc.km_weight * net.km[e] / 1000 + rc.cost_weight * net.cost[e] / 1000 + rc.risk_weight * risk

    du = (leg("n_fork", "n_jungle_exit") + leg("n_jungle_exit", "n_city")) - (leg("n_fork", "n_detour") + leg("n_detour", "n_city"))
    assert costly["n_jungle_exit"] / costly["n_detour"] == pytest.approx(np.exp(-du), rel=1e-9)


def test_cost_to_border_is_per_citizenship(tmp_path):
    _, net, _, _ = _fork_shares(tmp_path, __import__("conftest").TINY_EDGES)
    usable = np.ones((2, net.n_edges), bool)
    usable[1, net.edge_index[("n_fork", "n_detour")]] = False
    usable[1, net.edge_index[("n_fork", "n_jungle_exit")]] = False
    cost = net.cost_to_border(net.km, usable)
    fork, city = net.index["n_fork"], net.index["n_city"]
    assert cost[0, city] == cost[1, city] == 2.0          # the Field Office, 2 km away
    assert cost[0, fork] == 100 + 3500 + 2
    assert np.isinf(cost[1, fork])                         # no usable way on for the second row


# ---- the cost response counts what visas, closures and unknown ways add, so origin shares hold ----
def test_origin_shares_hold_whatever_each_origin_is_far(tmp_path):
    """A citizenship set out half from a near origin and half from a far one sets out
    about half from each: the response to cost counts a way's cost above its open cost
    (every leg open and known), not its cost (an absolute cost would cut the far origin
    by exp(-weight x gap))."""
    sc = tiny_scenario(tmp_path)
    sc["departures"]["by_citizenship"] = {"VENEZUELA": {"level": 400.0, "origins": {"o_a": 0.5, "o_b": 0.5}}}
    sc["behaviour"] = {"response": {"cost_weight": 1.0}}
    sc["policies"] = []
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "s.yaml", sc)), 1)
    net, cit = m.network, m.departures.cit[0]
    gap = m.router.to_go[cit, net.index["o_a"]] - m.router.to_go[cit, net.index["o_b"]]
    assert gap > 1.0                     # the old rule would leave the far origin under a third
    m.run()
    dep = m.timeseries().query("metric == 'departures'").groupby("place")["value"].sum()
    share = dep["o_a"] / dep.sum()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / dep.sum()) + 0.02, (share, dep.to_dict())


def test_a_closure_that_lengthens_the_way_holds_back_exp_minus_weight_times_what_it_adds(tmp_path):
    """Closing the jungle leg leaves the dearer boat detour: departures fall by
    exp(-cost_weight x the cost the closure adds to the way), and only after it starts."""
    def departures(policies, name):
        sc = tiny_scenario(tmp_path / name)
        sc["departures"]["by_citizenship"] = {"VENEZUELA": {"level": 400.0, "origins": {"o_a": 1.0}}}
        sc["behaviour"] = {"response": {"cost_weight": 1.0}}
        sc["policies"] = policies
        m = RouteModel(Inputs.load(write_yaml(tmp_path / name / "s.yaml", sc)), 1).run()
        dep = m.timeseries().query("metric == 'departures'")
        after = pd.to_datetime(dep["date"]) >= pd.Timestamp("2023-02-01")
        o = m.network.index["o_a"]
        added = m.router.to_go[m.departures.cit[0], o] - m.behaviour._cost_ref[m.departures.cit[0], o]
        return dep[~after]["value"].sum(), dep[after]["value"].sum(), added

    before0, after0, none = departures([], "open")
    before1, after1, added = departures([{"type": "closure", "start": "2023-02-01",
                                          "leg": ["n_fork", "n_jungle_exit"]}], "closed")
    assert none == pytest.approx(0.0, abs=1e-9) and added > 0.1
    assert before1 == before0                                   # common random numbers before it acts
    ratio = after1 / after0
    assert abs(ratio - np.exp(-added)) < 4 * np.sqrt(1 / after1 + 1 / after0) + 0.02, (ratio, np.exp(-added))


# ---- cash decides which legs a party can pay for, not whether it leaves ----
def test_money_scale_moves_the_way_not_the_departures(tmp_path):
    def run_at(scale):
        sc = tiny_scenario(tmp_path / str(scale))
        sc["departures"]["money"] = {"median_usd": 300, "sigma": 0.6}   # the boat (USD 400) is dear
        sc["departures"]["money_scale"] = scale
        m = RouteModel(Inputs.load(write_yaml(tmp_path / str(scale) / "s.yaml", sc)), 1).run()
        legs = m.leg_flows().groupby("to")["persons"].sum()
        dep = m.timeseries().query("metric == 'departures'")["value"].sum()
        return legs.get("n_detour", 0) / (legs.get("n_detour", 0) + legs["n_jungle_exit"]), dep

    poor, dep_poor = run_at(1.0)
    rich, dep_rich = run_at(3.0)
    assert dep_poor == dep_rich          # same seed, same departures: cash does not enter the decision
    assert rich > poor + 0.1             # who could not pay the boat can now


def test_a_regions_own_cash_factor_replaces_the_shared_one_for_it_alone(tmp_path):
    """``money_scale_by_region``: the tiny scenario's Venezuelans and Mexicans with their
    regions' own factor 3 run as with the shared factor 3; their own factor 1 undoes a shared 3;
    a third region's factor leaves them as they were."""
    def legs_at(name, **cash):
        sc = tiny_scenario(tmp_path / name)
        sc["departures"]["money"] = {"median_usd": 300, "sigma": 0.6}   # the boat (USD 400) is dear
        sc["departures"].update(cash)
        m = RouteModel(Inputs.load(write_yaml(tmp_path / name / "s.yaml", sc)), 1).run()
        return m.leg_flows().groupby("to")["persons"].sum().to_dict()

    base, shared = legs_at("base"), legs_at("shared", money_scale=3.0)
    both = ("south_america", "mexico_central_america")
    own = legs_at("own", money_scale_by_region=dict.fromkeys(both, 3.0))
    undone = legs_at("undone", money_scale=3.0, money_scale_by_region=dict.fromkeys(both, 1.0))
    other = legs_at("other", money_scale_by_region={"caribbean_nicaragua": 3.0})
    assert shared != base                # the factor matters here
    assert own == shared and undone == base and other == base


# ---- a party short of a fare may wait and save for it (route_choice.save_for_fare) ----
def _detour_share(tmp_path, name, *, median, save, days_weight):
    sc = tiny_scenario(tmp_path / name)
    sc["departures"]["money"] = {"median_usd": median, "sigma": 0.6}  # the boat (USD 400) is dear at 300
    sc["route_choice"] = {"save_for_fare": save, "days_weight": days_weight}
    m = RouteModel(Inputs.load(write_yaml(tmp_path / name / "s.yaml", sc)), 1).run()
    legs = m.leg_flows().query("`from` == 'n_fork'").groupby("to")["persons"].sum()
    dep = m.timeseries().query("metric == 'departures'")["value"].sum()
    g = m.groups
    return legs.get("n_detour", 0) / legs.sum(), legs.sum(), dep, g.money[: g.n].min(), m


def test_saving_for_a_fare_keeps_the_preferred_way_when_waiting_costs_nothing(tmp_path):
    """With waiting free (days weigh nothing), parties short of the boat's fare wait for it
    as often as parties who can pay choose it: the detour's share is the logit's, not the
    share left to the poor. Departures are the same throughout (cash does not
    enter the decision to leave), and nobody pays a fare with money it has not earned.
    When a day weighs (0.3), saving is worth it for small shortfalls only: the share lies
    between the poor's without saving and the rich's at that weight."""
    rich, n_rich, dep_rich, _, _ = _detour_share(tmp_path, "rich", median=30000, save=False, days_weight=0.0)
    poor, n_poor, dep_poor, low, _ = _detour_share(tmp_path, "poor", median=300, save=False, days_weight=0.0)
    saves, n_save, dep_save, low_save, m = _detour_share(tmp_path, "save", median=300, save=True, days_weight=0.0)
    assert dep_rich == dep_poor == dep_save
    assert poor < rich - 0.1                                   # cash binds without saving
    tol = 4 * np.sqrt(rich * (1 - rich) * (1 / n_rich + 1 / n_save) * 8) + 0.02   # parties of about 8
    assert abs(saves - rich) < tol, (saves, rich, poor)
    assert low >= 0.0 and low_save >= -1e-9
    assert m.people_ledger()["balanced"]
    rich_d = _detour_share(tmp_path, "rich_d", median=30000, save=False, days_weight=0.3)[0]
    poor_d = _detour_share(tmp_path, "poor_d", median=300, save=False, days_weight=0.3)[0]
    save_d = _detour_share(tmp_path, "save_d", median=300, save=True, days_weight=0.3)[0]
    assert poor_d + 0.03 < save_d < rich_d - 0.03, (poor_d, save_d, rich_d)


# ---- a day on the way weighs by a citizenship's cash (route_choice.time_value_elasticity) ----
def _two_cash_laws(tmp_path, name, elasticity):
    """Venezuelans (median USD 5,000) and Mexicans (USD 20,000) set out from the same origin;
    both can pay every fare, so cash binds no choice and only the weight of a day differs."""
    sc = tiny_scenario(tmp_path / name)
    sc["departures"]["by_citizenship"] = {
        "VENEZUELA": {"level": 150.0, "origins": {"o_a": 1.0}, "money": {"median_usd": 5000, "sigma": 0.1}},
        "MEXICO": {"level": 150.0, "origins": {"o_a": 1.0}, "money": {"median_usd": 20000, "sigma": 0.1}}}
    sc["route_choice"] = {"days_weight": 0.3, "time_value_elasticity": elasticity,
                          "time_value_reference_usd": 5000}
    return RouteModel(Inputs.load(write_yaml(tmp_path / name / "s.yaml", sc)), 1)


def test_a_day_weighs_more_for_a_richer_citizenship(tmp_path):
    """With time valued by cash (elasticity 1), the Mexicans' day weighs 0.3 x 20000/5000 =
    1.2 and the Venezuelans' 0.3: at the fork the fast dear boat (1 day, USD 400) against
    the slow foot leg (3.5 days, USD 200) gains exactly (1.2 - 0.3) x their difference in
    days in the Mexicans' log odds, and more of them take it. At elasticity 0 both weigh a
    day alike: the same odds."""
    from sim.citizenship import CODE
    flat, rich = _two_cash_laws(tmp_path, "flat", 0.0), _two_cash_laws(tmp_path, "rich", 1.0)
    for m in (flat, rich):
        net = m.network
        fork = net.index["n_fork"]
        boat = next(e for e in net.out_edges[fork] if net.ids[net.dst[e]] == "n_detour")
        foot = next(e for e in net.out_edges[fork] if net.ids[net.dst[e]] == "n_jungle_exit")
        days = m.router.leg_days()
        w = m.router.weights
        odds = {c: np.log(w[CODE[c], boat] / w[CODE[c], foot]) for c in ("VENEZUELA", "MEXICO")}
        gap = odds["MEXICO"] - odds["VENEZUELA"]
        expected = (1.2 - 0.3) * (days[foot] - days[boat]) if m is rich else 0.0
        assert gap == pytest.approx(expected, abs=1e-9), (gap, expected)
    assert rich.router.day_weight[CODE["VENEZUELA"], 0] == pytest.approx(0.3)

    def boat_share(m):
        f = m.run().leg_flows().query("`from` == 'n_fork'")
        f = f.groupby(["nationality", "to"])["persons"].sum()
        return {c: f[c].get("n_detour", 0) / f[c].sum() for c in ("VENEZUELA", "MEXICO")}

    s_flat, s_rich = boat_share(flat), boat_share(rich)
    assert abs(s_flat["MEXICO"] - s_flat["VENEZUELA"]) < 0.08, s_flat
    assert s_rich["MEXICO"] > s_rich["VENEZUELA"] + 0.15, s_rich
    assert rich.people_ledger()["balanced"]


def test_a_saving_party_stays_until_it_has_earned_the_fare(tmp_path):
    """Who picks a leg it cannot pay for stays where it is (the fork, or its origin) for the
    days its shortfall takes to earn (hazards.earn_usd_per_day), then sets out on that leg
    with its fare paid; some save at the fork."""
    sc = tiny_scenario(tmp_path)
    sc["departures"]["money"] = {"median_usd": 300, "sigma": 0.6}
    sc["hazards"] = {"robbery_daily": 0.0}
    sc["route_choice"] = {"save_for_fare": True, "days_weight": 0.0}
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "s.yaml", sc)), 1)
    net, g = m.network, m.groups
    fork = net.index["n_fork"]
    places = set()
    saving = {}                          # row -> (day it began, day it ends, its leg)
    for _ in range(60):
        t = m.day
        m.step()
        n = g.n
        new = np.flatnonzero((g.saving_for[:n] >= 0) & (g.wait_until[:n] > t))
        for r in new:
            if int(r) not in saving:
                e = int(g.saving_for[r])
                assert net.src[e] == g.node[r] and g.edge[r] < 0
                assert g.money[r] >= net.cost[e] - 1e-9          # its earnings are credited as it starts
                saving[int(r)] = (t, int(g.wait_until[r]), e)
                places.add(int(net.src[e]))
        for r, (t0, until, e) in list(saving.items()):
            if g.edge[r] >= 0 or g.node[r] != net.src[e]:    # it set out: on its leg, on its day
                assert m.day - 1 >= until and (g.edge[r] == e or g.last_edge[r] == e), (r, t0, until, e)
                del saving[r]
            else:
                assert m.day - 1 < until or g.saving_for[r] == e
    assert fork in places and m.people_ledger()["balanced"]


# ---- a region of origin may learn at its own rate (behaviour.beliefs.by_region) ----
def _beliefs(tmp_path, name, beliefs):
    sc = tiny_scenario(tmp_path, behaviour={"response": {"release_weight": 3.0}, "beliefs": beliefs})
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), 1).run()
    return m.behaviour.belief.copy()


def test_a_region_s_own_learning_rate_moves_only_its_citizenships(tmp_path):
    from sim.citizenship import CODE
    ven, mex = CODE["VENEZUELA"], CODE["MEXICO"]   # South America, Mexico and Central America
    still = _beliefs(tmp_path, "still", {"learning_rate": 0.0, "delay_days": 3, "window_days": 5})
    own = _beliefs(tmp_path, "own", {"learning_rate": 0.0, "delay_days": 3, "window_days": 5,
                                     "by_region": {"south_america": {"learning_rate": 0.3}}})
    shared = _beliefs(tmp_path, "shared", {"learning_rate": 0.3, "delay_days": 3, "window_days": 5})
    assert abs(own[ven] - still[ven]) > 0.01            # Venezuelans learn from their outcomes
    assert own[mex] == still[mex]                       # Mexicans keep the belief the rules imply
    assert own[ven] == pytest.approx(shared[ven], abs=0.05) and shared[mex] != still[mex]


def test_an_unknown_region_exits_2_naming_the_field(tmp_path, capsys):
    from sim.cli import main
    sc = tiny_scenario(tmp_path, behaviour={"beliefs": {"by_region": {"andes": {"learning_rate": 0.1}}}})
    assert main(["validate", str(write_yaml(tmp_path / "bad.yaml", sc))]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: behaviour.beliefs.by_region" in err and "andes" in err and err.count("\n") == 1


# ---- entries into a country: what the countries on the way count ----
def test_country_entries_are_the_legs_across_a_border(tmp_path):
    import pandas as pd
    sc = tiny_scenario(tmp_path)
    nodes = pd.read_csv(tmp_path / "net" / "nodes.csv")
    country = {"o_a": "A", "n_fork": "A", "n_jungle_exit": "P", "n_detour": "P", "o_b": "M", "n_city": "M"}
    nodes["country"] = nodes["id"].map(country).fillna("US")
    nodes.to_csv(tmp_path / "net" / "nodes.csv", index=False)
    m = run(write_yaml(tmp_path / "s.yaml", sc))
    ts = m.timeseries()
    got = ts[ts["metric"] == "country_entries"].groupby(["nationality", "place"])["value"].sum()
    legs = m.leg_flows()
    across = legs[legs["from"].map(country).fillna("US") != legs["to"].map(country).fillna("US")]
    want = across.groupby(["nationality", "to"])["persons"].sum()
    place = dict(zip(m.network.ids, m.network.place))   # border areas are reported by their CBP name
    want.index = pd.MultiIndex.from_tuples([(c, place[t]) for c, t in want.index], names=["nationality", "place"])
    assert len(want) >= 3 and set(want.index.get_level_values("place")) >= {"n_jungle_exit", "n_city"}
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False, check_dtype=False)
