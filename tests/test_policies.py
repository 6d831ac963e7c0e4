"""Each lever moves what it should, from its start, and leaves the rest alone.

The tiny network (tests/conftest.py): VENEZUELA leaves o_a, forks at n_fork between a
jungle leg (exit n_jungle_exit, a Darién-like station) and a boat detour, and reaches
n_city; MEXICO goes o_b -> n_city; n_city leads to El Paso Sector (Border Patrol) and
El Paso Field Office. Period 2023-01-15..2023-03-31, Title 42 until 2023-02-15.
With common random numbers, series a lever cannot reach are compared for equality, not
within noise.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_scenario, write_yaml

from sim.citizenship import CODE
from sim.cli import main
from sim.engine.model import RouteModel
from sim.levers.processing import AnnouncedRule
from sim.scenario.inputs import Inputs

START = "2023-02-10"
D0 = dt.date(2023, 2, 10)


def run_ts(tmp_path, policies, name="s", seed=1, title42_ends=True, **over):
    """Run the tiny scenario (Title 42 ends 2023-02-16, a lever of its own) with more levers."""
    sc = tiny_scenario(tmp_path, **over)
    sc["policies"] = (sc["policies"] if title42_ends else []) + policies
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), seed).run()
    assert m.people_ledger()["balanced"]
    return m.timeseries(), m


def series(ts, metric, nat=None, place=None, before=None, after=None):
    d = ts[ts["metric"] == metric]
    if nat:
        d = d[d["nationality"] == nat]
    if place:
        d = d[d["place"] == place]
    if before:
        d = d[d["date"] < before]
    if after:
        d = d[d["date"] >= after]
    return d.reset_index(drop=True)


@pytest.fixture
def base(tmp_path):
    return run_ts(tmp_path, [], "base")[0]


def same(a, b):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_panama_flights_remove_at_the_station_from_their_start(tmp_path, base):
    lever = {"type": "panama_removal_flights", "start": START, "nodes": ["n_jungle_exit"],
             "seats_per_week": 700, "citizenships": ["VENEZUELA"], "selected_share": 0.8}
    ts, _ = run_ts(tmp_path, [lever])
    rem = series(ts, "removals", place="n_jungle_exit")
    assert rem["value"].sum() > 0 and (rem["date"] >= D0).all()
    assert rem.groupby("date")["value"].sum().max() <= 700  # never beyond a week's seats in a day
    same(series(ts, "encounters", before=D0), series(base, "encounters", before=D0))
    same(series(ts, "encounters", "MEXICO"), series(base, "encounters", "MEXICO"))
    assert series(ts, "encounters", "VENEZUELA", after=D0)["value"].sum() < \
        series(base, "encounters", "VENEZUELA", after=D0)["value"].sum()


def test_charters_remove_only_their_citizenship_under_title8(tmp_path, base):
    lever = {"type": "deportation_charters", "start": START, "citizenship": "MEXICO",
             "flights_per_month": 30, "seats_per_flight": 100}
    ts, _ = run_ts(tmp_path, [lever])
    extra = series(ts, "removals", "MEXICO", after=D0)["value"].sum() - series(base, "removals", "MEXICO", after=D0)["value"].sum()
    assert extra > 0
    assert series(ts, "released_us", "MEXICO", after=D0)["value"].sum() < series(base, "released_us", "MEXICO", after=D0)["value"].sum()
    same(series(ts, "removals", before=D0), series(base, "removals", before=D0))
    same(series(ts, "encounters", "VENEZUELA"), series(base, "encounters", "VENEZUELA"))


def test_visa_closing_the_only_leg_stops_departures(tmp_path, base):
    lever = {"type": "visa_regime", "start": START, "citizenship": "MEXICO", "legs": [["o_b", "n_city"]], "open": False}
    ts, _ = run_ts(tmp_path, [lever])
    assert series(ts, "departures", "MEXICO", after=D0)["value"].sum() == 0
    same(series(ts, "departures", "MEXICO", before=D0), series(base, "departures", "MEXICO", before=D0))
    same(series(ts, "encounters", "VENEZUELA"), series(base, "encounters", "VENEZUELA"))


def test_visa_opening_a_restricted_leg(tmp_path):
    import pandas as pd
    from conftest import write_network

    sc_ts, m0 = run_ts(tmp_path, [])
    e = pd.read_csv(tmp_path / "net" / "edges.csv", dtype=str, keep_default_na=False)
    e.loc[len(e)] = ["o_a", "n_city", "air", "4000", "1.0", "300", "0", "CUBA", "test"]
    e.to_csv(tmp_path / "net" / "edges.csv", index=False)
    sc = tiny_scenario(tmp_path)
    write_network  # the network files were written by tiny_scenario; edges edited above
    e.to_csv(tmp_path / "net" / "edges.csv", index=False)
    sc["policies"] = []
    closed = RouteModel(Inputs.load(write_yaml(tmp_path / "c.yaml", sc)), 1).run().timeseries()
    sc["policies"] = [{"type": "visa_regime", "start": START, "citizenship": "VENEZUELA",
                       "legs": [["o_a", "n_city"]], "open": True}]
    opened = RouteModel(Inputs.load(write_yaml(tmp_path / "o.yaml", sc)), 1).run().timeseries()
    # flying straight to the border city skips the jungle: fewer crossings after the opening
    assert series(opened, "darien_crossings", after=D0)["value"].sum() < series(closed, "darien_crossings", after=D0)["value"].sum()
    same(series(opened, "darien_crossings", before=D0), series(closed, "darien_crossings", before=D0))


def holders_scenario(tmp_path, share):
    """The tiny scenario with MEXICO's leg o_b -> n_city a flight open to MEXICO only (so
    o_b gets a visa holders' twin) and a share ``share`` of visa holders."""
    sc = tiny_scenario(tmp_path)
    e = pd.read_csv(tmp_path / "net" / "edges.csv", dtype=str, keep_default_na=False)
    e.loc[(e["from"] == "o_b") & (e["to"] == "n_city"), "access"] = "MEXICO"
    e.to_csv(tmp_path / "net" / "edges.csv", index=False)
    sc["departures"]["visa_holders"] = share
    return sc


def with_and_without_mexico_s_visa(tmp_path, sc, exempt):
    """Timeseries of ``sc`` without and with Mexico's visa on MEXICO's flight o_b -> n_city
    from START (sparing holders if ``exempt``); both keep every person and give o_b alone
    a holders' twin."""
    lever = {"type": "visa_regime", "start": START, "citizenship": "MEXICO", "legs": [["o_b", "n_city"]],
             "open": False, "holders_exempt": exempt}
    runs = {}
    for name, pol in (("none", []), ("visa", [lever])):
        sc["policies"] = pol
        inp = Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc))
        assert "o_b+holders" in inp.network.index and "o_a+holders" not in inp.network.index
        m = RouteModel(inp, 1).run()
        assert m.people_ledger()["balanced"]
        runs[name] = m.timeseries()
    return runs


@pytest.mark.parametrize("exempt", [True, False])
def test_visa_holders_keep_a_leg_only_where_the_visa_spares_them(tmp_path, exempt):
    runs = with_and_without_mexico_s_visa(tmp_path, holders_scenario(tmp_path, 0.3), exempt)
    after = {k: series(ts, "departures", "MEXICO", after=D0)["value"].sum() for k, ts in runs.items()}
    same(series(runs["visa"], "departures", "MEXICO", before=D0), series(runs["none"], "departures", "MEXICO", before=D0))
    same(series(runs["visa"], "encounters", "VENEZUELA"), series(runs["none"], "encounters", "VENEZUELA"))
    if exempt:  # the holders (0.3 of those setting out) keep flying; the rest stay home
        assert 0.2 < after["visa"] / after["none"] < 0.4
    else:       # a visa that spares nobody closes the holders' copy of the leg too
        assert after["visa"] == 0 and after["none"] > 0


def test_outputs_report_visa_holders_at_their_origin(tmp_path):
    """The twin is how holders keep a leg, not a place: the rows and leg flows name the
    origin, whose counts are those of the whole run (twin included), and nothing is lost."""
    inp = Inputs.load(write_yaml(tmp_path / "h.yaml", holders_scenario(tmp_path, 0.3)))
    m = RouteModel(inp, 1).run()
    ts, legs = m.timeseries(), m.leg_flows()
    assert not ts["place"].str.endswith("+holders").any()
    assert not legs["from"].str.endswith("+holders").any() and not legs["to"].str.endswith("+holders").any()
    assert not ts.duplicated(["date", "metric", "nationality", "place", "seed"]).any()
    assert not legs.duplicated(["nationality", "from", "to", "mode"]).any()
    # what the twin counted is in its origin's rows
    dep = ts[ts["metric"] == "departures"]
    twin, origin = inp.network.index["o_b+holders"], inp.network.index["o_b"]
    raw = m.books.recorder.frame()
    assert raw["node"].isin([twin]).sum() == 0 and raw["node"].isin([origin]).any()
    held = m.books.legs[:, list(inp.network.holder_edges.values())].sum()
    assert held > 0  # the holders did fly, and their persons are in the origin's leg rows
    assert legs["persons"].sum() == m.books.legs.sum()
    assert dep[dep["place"] == "o_b"]["value"].sum() > 0
    assert not any(str(a.position.get("node", "")).endswith("+holders") for a in m.group_agents())


@pytest.mark.parametrize("shared, own", [(0.0, 0.3), (0.3, 0.0)])
def test_a_citizenship_s_own_share_of_visa_holders_replaces_the_shared_one(tmp_path, shared, own):
    """MEXICO's own share decides how many of its people keep the flight Mexico's visa
    (sparing holders) closes, whatever the shared share."""
    sc = holders_scenario(tmp_path, shared)
    sc["departures"]["by_citizenship"]["MEXICO"]["visa_holders"] = own
    runs = with_and_without_mexico_s_visa(tmp_path, sc, exempt=True)
    after = {k: series(ts, "departures", "MEXICO", after=D0)["value"].sum() for k, ts in runs.items()}
    assert after["none"] > 0
    if own > 0:  # a share own of those setting out keep flying
        assert 0.2 < after["visa"] / after["none"] < 0.4
    else:        # no MEXICO holders: the visa keeps every one of them home
        assert after["visa"] == 0


def test_no_visa_holders_no_twins(tmp_path):
    inp = Inputs.load(write_yaml(tmp_path / "s.yaml", holders_scenario(tmp_path, 0.0)))
    assert not any(str(i).endswith("+holders") for i in inp.network.ids)


def test_bad_visa_holders_share_exits_2_naming_the_field(tmp_path, capsys):
    sc = holders_scenario(tmp_path, 1.5)
    assert main(["validate", str(write_yaml(tmp_path / "bad.yaml", sc))]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: departures.visa_holders" in err and err.count("\n") == 1


def test_closure_of_a_place_diverts_flows(tmp_path, base):
    ts, _ = run_ts(tmp_path, [{"type": "closure", "start": START, "node": "n_detour"}])
    after = dt.date(2023, 2, 12)
    assert series(ts, "darien_crossings", after=after)["value"].sum() > series(base, "darien_crossings", after=after)["value"].sum()
    same(series(ts, "darien_crossings", before=D0), series(base, "darien_crossings", before=D0))


def test_closure_with_an_end_reopens(tmp_path):
    lever = {"type": "closure", "start": "2023-01-01", "end": "2023-01-31", "leg": ["o_b", "n_city"]}
    ts, _ = run_ts(tmp_path, [lever])
    dep = series(ts, "departures", "MEXICO")
    assert dep[dep["date"] <= dt.date(2023, 1, 31)]["value"].sum() == 0
    assert dep[dep["date"] > dt.date(2023, 1, 31)]["value"].sum() > 0


@pytest.mark.parametrize("action", ["return_to", "remove"])
def test_enforcement_catches_people_at_the_place(tmp_path, base, action):
    lever = {"type": "enforcement", "start": START, "node": "n_city", "interdiction_share": 0.3,
             "action": action, "citizenships": ["MEXICO"]}
    if action == "return_to":
        lever["return_to"] = "o_b"
    ts, _ = run_ts(tmp_path, [lever])
    metric = "interdictions" if action == "return_to" else "removals"
    caught = series(ts, metric, "MEXICO", place="n_city")
    assert caught["value"].sum() > 0 and (caught["date"] >= D0).all()
    same(series(ts, "encounters", "VENEZUELA"), series(base, "encounters", "VENEZUELA"))
    same(series(ts, "encounters", before=D0), series(base, "encounters", before=D0))


def test_enforcement_throttle_slows_the_place(tmp_path, base):
    ts, _ = run_ts(tmp_path, [{"type": "enforcement", "start": START, "node": "n_city", "move_chance": 0.05}])
    assert series(ts, "encounters", after=D0)["value"].sum() < 0.7 * series(base, "encounters", after=D0)["value"].sum()


@pytest.mark.parametrize("count_waits", [True, False])
def test_a_throttled_place_is_avoided_while_its_waits_count(tmp_path, count_waits):
    """Holding people at the detour town (move chance 0.1: nine days' expected wait) makes
    the detour a longer way, so the fork's choice shifts to the jungle from the lever's
    first day and back at its end; with waits not counted only travel days weigh."""
    lever = {"type": "enforcement", "start": START, "end": "2023-03-01", "node": "n_detour", "move_chance": 0.1}
    sc = tiny_scenario(tmp_path, route_choice={"days_weight": 0.2, "count_waits": count_waits})
    sc["policies"] = [lever]
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "w.yaml", sc)), 1)
    net, r = m.network, m.router
    fork, detour = net.index["n_fork"], net.index["n_detour"]
    leg = int(np.flatnonzero((net.src == fork) & (net.dst == detour))[0])
    ven = CODE["VENEZUELA"]
    share = lambda: r.weights[:, leg] / r.out_weight[:, fork]  # noqa: E731
    before = share().copy()
    while m.day <= m.inputs.day_of(D0):
        m.step()
    during = share().copy()
    while m.day <= m.inputs.day_of(dt.date(2023, 3, 2)):
        m.step()
    if count_waits:
        assert during[ven] < 0.5 * before[ven]    # 9 days x 0.2 = 1.8 units: a factor ~6 on its weight
    else:
        np.testing.assert_allclose(during, before)
    np.testing.assert_allclose(share(), before)  # the lever's end restores the weights


def test_news_of_title42_ending_moves_beliefs_and_departures_not_processing(tmp_path):
    """A court's ruling that Title 42 will end (announced_rule, title42: false), while
    Title 42 stays in force: the share who hear believe in release, so Mexicans (half of
    whom Title 42 expels) set out more while the news lasts; expulsions go on as before
    per encounter; at its end beliefs move back for the share who hear."""
    behaviour = {"response": {"release_weight": 3.0}, "beliefs": {"heard_share": 0.8, "learning_rate": 0.02}}
    news = {"type": "announced_rule", "label": "court vacatur", "start": "2023-01-25", "end": "2023-02-20",
            "title42": False}
    base, mb = run_ts(tmp_path, [], "nb", title42_ends=False, behaviour=behaviour)
    ts, m = run_ts(tmp_path, [news], "nn", title42_ends=False, behaviour=behaviour)
    mex = CODE["MEXICO"]
    d0, d1 = dt.date(2023, 1, 25), dt.date(2023, 2, 21)
    same(series(ts, "departures", before=d0), series(base, "departures", before=d0))   # nothing before the news
    during = lambda t: series(t, "departures", "MEXICO", after=d0, before=d1)["value"].sum()  # noqa: E731
    assert during(ts) > 1.3 * during(base)
    enc = lambda t, k: series(t, k, "MEXICO", after=d0)["value"].sum()  # noqa: E731
    # still processed under Title 42: about half expelled, with or without the news
    assert abs(enc(ts, "expulsions") / enc(ts, "encounters") - enc(base, "expulsions") / enc(base, "encounters")) < 0.05
    assert m.behaviour.belief[mex] < 0.5 * (1 + mb.behaviour.belief[mex])  # back toward the rules in force


def test_news_composes_and_the_latest_announced_wins(tmp_path):
    sc = tiny_scenario(tmp_path, behaviour={"beliefs": {"heard_share": 1.0, "learning_rate": 0.0}})
    sc["policies"] = [
        {"type": "announced_rule", "label": "a", "start": "2023-01-20", "end": "2023-02-10", "title42": False},
        {"type": "announced_rule", "label": "b", "start": "2023-01-25", "end": "2023-02-05",
         "removal_share": {"default": 1.0}, "removed_retry": 0.0},
        {"type": "announced_rule", "label": "c", "start": "2023-02-07", "title42": True},  # denies a
    ]
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "n.yaml", sc)), 1)
    b = m.border
    in_force = b.expected_release().copy()
    at = {}
    for day in ("2023-01-19", "2023-01-21", "2023-01-26", "2023-02-06", "2023-02-08", "2023-02-11"):
        while m.day <= m.inputs.day_of(dt.date.fromisoformat(day)):
            m.step()
        at[day] = m.behaviour.belief.copy()
    np.testing.assert_allclose(b.expected_release(), in_force)         # processing never changed
    np.testing.assert_allclose(at["2023-01-19"], in_force)
    assert (at["2023-01-21"] > in_force + 0.1).all()                   # no expulsions: release more likely
    np.testing.assert_allclose(at["2023-01-26"], 0.0, atol=1e-12)      # a and b together: everyone removed
    np.testing.assert_allclose(at["2023-02-06"], at["2023-01-21"])     # b ended, a still believed
    np.testing.assert_allclose(at["2023-02-08"], in_force)             # c, announced last, wins over a
    np.testing.assert_allclose(at["2023-02-11"], in_force)             # a ended: nothing changes


def test_news_announced_later_wins_though_heard_sooner(tmp_path):
    """Two rules for later dates: the one announced first (a removal share for Mexicans
    only; the others keep theirs) is heard by Venezuelans a journey ahead of its far day,
    after the one announced later (everyone removed) with a near day. The later
    announcement still wins for them: what they believe is read in the order announced,
    not in the order heard."""
    sc = tiny_scenario(tmp_path, behaviour={"beliefs": {"heard_share": 1.0, "learning_rate": 0.0}})
    sc["policies"] = [
        {"type": "announced_rule", "label": "first", "start": "2023-01-20", "effective": "2023-03-31",
         "removal_share": {"MEXICO": 0.9}},
        {"type": "announced_rule", "label": "second", "start": "2023-02-05", "effective": "2023-02-12",
         "removal_share": {"default": 1.0}, "removed_retry": 0.0},
    ]
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "two.yaml", sc)), 1)
    ven = CODE["VENEZUELA"]
    state = {ctx.lever.label: ctx.state for ctx in m.levers.contexts}
    last = m.inputs.day_of(dt.date(2023, 3, 30))
    belief = {}
    while m.day <= last:
        m.step()
        belief[m.day - 1] = m.behaviour.belief[ven]
    heard_first, heard_second = int(state["first"].hear_day[ven]), int(state["second"].hear_day[ven])
    assert heard_second < heard_first <= last                     # heard in the other order
    assert belief[heard_second - 1] > 0.1                         # before: release expected
    assert max(belief[t] for t in range(heard_second, last + 1)) < 1e-12  # from the second on: removed


def test_news_for_a_later_date_reaches_each_citizenship_a_journey_ahead(tmp_path):
    """Title 42's end announced for a later date (announced_rule with effective): the far
    citizenship (Venezuelans, the long way) takes it into account before the near one
    (Mexicans), each about its co-nationals' mean journey ahead of the date and not before
    the announcement; nothing changes for either before its day."""
    sc = tiny_scenario(tmp_path, behaviour={"beliefs": {"heard_share": 1.0, "learning_rate": 0.0}})
    sc["policies"] = [{"type": "announced_rule", "label": "end announced", "start": "2023-02-01",
                       "effective": "2023-03-10", "title42": False}]
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "later.yaml", sc)), 1)
    in_force = m.border.expected_release().copy()
    ven, mex, t0 = CODE["VENEZUELA"], CODE["MEXICO"], m.inputs.day_of(dt.date(2023, 2, 1))
    eff = m.inputs.day_of(dt.date(2023, 3, 10))
    beliefs = {}
    while m.day <= eff:
        m.step()
        beliefs[m.day - 1] = m.behaviour.belief.copy()
    tal = m.books.tallies
    lo = max(t0 - AnnouncedRule.JOURNEY_WINDOW, 0)
    journey = tal.journey_days[lo:t0, [ven, mex]].sum(axis=0) / tal.encounters[lo:t0, [ven, mex]].sum(axis=0)
    assert journey[0] > journey[1] + 3
    for c, days in zip((ven, mex), journey):
        day = max(t0, eff - round(days))
        np.testing.assert_allclose(beliefs[day - 1][c], in_force[c])   # not yet
        assert beliefs[day][c] > in_force[c] + 0.1                       # heard: no expulsions
    assert beliefs[eff][ven] > in_force[ven] + 0.1 and beliefs[eff][mex] > in_force[mex] + 0.1


def test_news_of_a_rule_harsher_than_applied_lowers_departures_then_fades(tmp_path):
    """A rule announced as harsher than it is applied (the Circumvention rule's presumption
    of removal, heard as news with no end, over the rule as processed): on its day the
    share who hear expect removal and fewer set out; nothing is processed under the news;
    beliefs then learn co-nationals' actual outcomes, so the gap the news opened shrinks."""
    behaviour = {"response": {"release_weight": 3.0}, "beliefs": {"heard_share": 0.8, "learning_rate": 0.05}}
    news = {"type": "announced_rule", "label": "rule as announced", "start": "2023-02-16",
            "removal_share": {"default": 1.0}, "removed_retry": 0.0}
    day = lambda d: dt.date.fromisoformat(d)  # noqa: E731
    runs = {}
    for name, levers in (("plain", []), ("news", [news])):
        sc = tiny_scenario(tmp_path, behaviour=behaviour)
        sc["policies"] = sc["policies"] + levers
        m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), 1)
        beliefs = {}
        for d in ("2023-02-15", "2023-02-17", "2023-03-31"):
            while m.day <= m.inputs.day_of(day(d)):
                m.step()
            beliefs[d] = m.behaviour.belief.copy()
        assert m.people_ledger()["balanced"]
        runs[name] = (m, beliefs, m.timeseries())
    (mp, bp, tp), (mn, bn, tn) = runs["plain"], runs["news"]
    ven = CODE["VENEZUELA"]
    np.testing.assert_allclose(bn["2023-02-15"], bp["2023-02-15"])            # nothing before the news
    np.testing.assert_allclose(mn.border.expected_release(), mp.border.expected_release())  # not processed
    gap0 = bp["2023-02-17"][ven] - bn["2023-02-17"][ven]
    gap1 = bp["2023-03-31"][ven] - bn["2023-03-31"][ven]
    assert gap0 > 0.3                       # 0.8 hear: most expect removal
    assert 0 <= gap1 < 0.5 * gap0           # learnt from outcomes: the news fades
    first = lambda t: series(t, "departures", "VENEZUELA", after=day("2023-02-16"),  # noqa: E731
                             before=day("2023-03-02"))["value"].sum()
    assert first(tn) < 0.7 * first(tp)


def test_news_that_leaves_a_citizenship_out_keeps_its_rules_in_force(tmp_path):
    """A null share in news (a rule that does not cover Mexicans) leaves that citizenship's
    belief at what holds, later news included: the in-force rule's own share, not the
    scenario's base."""
    sc = tiny_scenario(tmp_path, behaviour={"beliefs": {"heard_share": 1.0, "learning_rate": 0.0}})
    sc["policies"] = [
        {"type": "processing_regime", "label": "rule", "start": "2023-01-20", "removal_share": {"default": 0.3, "MEXICO": 0.9},
         "removed_retry": 0.0},
        {"type": "announced_rule", "label": "news", "start": "2023-01-25", "removal_share": {"default": 1.0, "MEXICO": None}},
    ]
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "null.yaml", sc)), 1)
    at = {}
    for d in ("2023-01-21", "2023-01-26"):
        while m.day <= m.inputs.day_of(dt.date.fromisoformat(d)):
            m.step()
        at[d] = m.behaviour.belief.copy()
    mex, ven = CODE["MEXICO"], CODE["VENEZUELA"]
    assert at["2023-01-26"][mex] == pytest.approx(at["2023-01-21"][mex])   # nothing new for Mexicans
    assert at["2023-01-21"][mex] < 0.2                                      # the rule's 0.9, not the base
    assert at["2023-01-26"][ven] == pytest.approx(0.0, abs=1e-12)          # the covered: removal expected
    assert m.border.expected_release()[ven] > 0.3                           # processed as before, not removed


def test_news_of_returns_moves_only_the_citizenships_it_names(tmp_path):
    """Returns to Mexico announced for every Venezuelan who crosses (announced_rule,
    expel_share; DHS 2022-10-12) while Title 42 is in force: Venezuelans who hear expect
    no release, Mexicans' beliefs do not move, nobody is processed under the news, and at
    its end the share who hear believe the rules in force again."""
    sc = tiny_scenario(tmp_path, behaviour={"beliefs": {"heard_share": 1.0, "learning_rate": 0.0}})
    sc["policies"] = [{"type": "announced_rule", "label": "returns as announced", "start": "2023-01-25",
                       "end": "2023-02-10", "expel_share": {"VENEZUELA": 1.0}}]
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "ret.yaml", sc)), 1)
    in_force = m.border.expected_release().copy()
    at = {}
    for d in ("2023-01-24", "2023-01-26", "2023-02-11"):
        while m.day <= m.inputs.day_of(dt.date.fromisoformat(d)):
            m.step()
        at[d] = m.behaviour.belief.copy()
    mex, ven = CODE["MEXICO"], CODE["VENEZUELA"]
    assert 0.2 < in_force[ven] < 0.9                                        # half expelled, some retry
    np.testing.assert_allclose(at["2023-01-24"], in_force)
    assert at["2023-01-26"][ven] == pytest.approx(0.0, abs=1e-12)          # all returned: no release
    assert at["2023-01-26"][mex] == pytest.approx(in_force[mex])           # not named: nothing new
    np.testing.assert_allclose(m.border.expected_release(), in_force)      # never processed under it
    np.testing.assert_allclose(at["2023-02-11"], in_force)                 # its end: the rules in force


def test_title42_kept_expels_after_its_end(tmp_path, base):
    ts, _ = run_ts(tmp_path, [], title42_ends=False)
    late = dt.date(2023, 2, 16)
    assert series(base, "expulsions", after=late)["value"].sum() == 0
    assert series(ts, "expulsions", after=late)["value"].sum() > 0
    same(series(ts, "encounters", before=late), series(base, "encounters", before=late))


def test_cbp_one_capacity_caps_field_office_encounters(tmp_path, base):
    ts, _ = run_ts(tmp_path, [{"type": "processing_regime", "start": START, "cbp_one_per_day": 20}],
                   crossing={"attractiveness": {"b_epfo": 0.4}})
    fo = series(ts, "encounters", place="El Paso Field Office", after=D0).groupby("date")["value"].sum()
    # parties are seen whole once the appointments accrued since the last one cover them:
    # never more than the day's 20 unless one party is larger, and the rate holds
    days = np.array([(pd.Timestamp(d) - pd.Timestamp(D0)).days + 1 for d in fo.index])
    assert (fo.cumsum().to_numpy() <= 20 * days + 40).all()   # 40: the largest party (group_size.max)
    assert len(fo) > 5 and fo.sum() > 10 * days.max()          # and the ports work near capacity


def test_removal_share_regime_and_overlap_composition(tmp_path, base):
    hi = {"type": "processing_regime", "start": "2023-02-20", "end": "2023-03-10", "removal_share": {"default": 0.9}}
    lo = {"type": "processing_regime", "start": "2023-03-01", "end": "2023-03-05", "removal_share": {"default": 0.0}}
    ts, _ = run_ts(tmp_path, [hi, lo])
    # removal_share is the share between ports (the port's own is port_removal_share)
    rem = series(ts, "removals", place="El Paso Sector").groupby("date")["value"].sum()
    enc = series(ts, "encounters", place="El Paso Sector").groupby("date")["value"].sum()
    share = (rem / enc).fillna(0)
    inside_lo = share[(share.index >= dt.date(2023, 3, 1)) & (share.index <= dt.date(2023, 3, 5))]
    inside_hi = share[(share.index >= dt.date(2023, 2, 20)) & (share.index < dt.date(2023, 3, 1))]
    assert (inside_lo == 0).all()  # the later lever wins while both last
    assert inside_hi.mean() > 0.7




def test_ledger_holds_with_every_lever_on(tmp_path):
    levers = [
        {"type": "panama_removal_flights", "start": "2023-01-20", "nodes": ["n_jungle_exit"], "flights_per_week": 2, "seats_per_flight": 50},
        {"type": "deportation_charters", "start": "2023-01-25", "citizenship": "VENEZUELA", "flights_per_month": 4, "seats_per_flight": 100},
        {"type": "visa_regime", "start": "2023-03-01", "citizenship": "MEXICO", "legs": [["o_b", "n_city"]], "open": False},
        {"type": "closure", "start": "2023-02-01", "end": "2023-02-20", "node": "n_detour"},
        {"type": "enforcement", "start": "2023-01-15", "node": "n_city", "interdiction_share": 0.1, "action": "return_to", "return_to": "n_fork"},
        {"type": "enforcement", "start": "2023-01-15", "node": "n_fork", "interdiction_share": 0.05, "move_chance": 0.4},
        {"type": "processing_regime", "start": "2023-02-01", "title42": True, "cbp_one_per_day": 50, "expelled_retry": 0.9},
        {"type": "title42_returns", "start": "2023-01-20", "citizenships": ["VENEZUELA"], "monthly_cap": 300},
        {"type": "parole_pathway", "start": "2023-01-20", "citizenships": ["VENEZUELA"], "monthly_cap": 500},
        {"type": "announced_rule", "start": "2023-01-18", "end": "2023-02-12", "title42": False},
    ]
    for seed in (1, 2, 3):
        ts, m = run_ts(tmp_path, levers, f"all{seed}", seed=seed)
        assert (ts["value"] > 0).all()


BAD = [
    ({"type": "teleport", "start": START}, "policies.0.type: unknown lever type 'teleport'"),
    ({"start": START}, "policies.0.type: missing"),
    ({"type": "panama_removal_flights", "start": START, "nodes": ["n_nowhere"], "seats_per_week": 5}, "policies.0.nodes.0: unknown node"),
    ({"type": "panama_removal_flights", "start": START, "nodes": ["n_jungle_exit"], "seats_per_week": -5}, "policies.0.seats_per_week: Input should be greater than or equal to 0"),
    ({"type": "panama_removal_flights", "start": START, "nodes": ["n_jungle_exit"], "seats_per_week": 5, "selected_share": 1.5}, "policies.0.selected_share"),
    ({"type": "deportation_charters", "start": START, "citizenship": "NARNIA", "flights_per_month": 1, "seats_per_flight": 1}, "unknown citizenship 'NARNIA'"),
    ({"type": "deportation_charters", "start": START, "end": "2023-01-01", "citizenship": "CUBA", "flights_per_month": 1, "seats_per_flight": 1}, "end is before start"),
    ({"type": "visa_regime", "start": START, "citizenship": "CUBA", "legs": [["o_a", "b_elp"]], "open": True}, "policies.0.legs.0: no leg"),
    ({"type": "visa_regime", "start": START, "citizenship": "MEXICO", "legs": [["o_b", "n_city"]], "open": False,
      "holders_exempt": "sometimes"}, "policies.0.holders_exempt"),
    ({"type": "processing_regime", "start": START, "cbp_one_per_day": -1}, "policies.0.cbp_one_per_day"),
    ({"type": "enforcement", "start": START, "node": "n_city", "action": "return_to"}, "return_to"),
    ({"type": "title42_returns", "start": START, "citizenships": ["VENEZUELA"], "returns_share": {"MEXICO": 0.5}},
     "returns_share names MEXICO, not among the lever's citizenships"),
    ({"type": "title42_returns", "start": START, "citizenships": ["VENEZUELA"], "returns_share": {"VENEZUELA": 1.5}},
     "policies.0.returns_share.VENEZUELA"),
    ({"type": "announced_rule", "start": START}, "announces nothing"),
    ({"type": "announced_rule", "start": START, "removal_share": {"NARNIA": 0.5}}, "unknown citizenship 'NARNIA'"),
    ({"type": "announced_rule", "start": START, "expel_share": {"VENEZUELA": 1.5}}, "policies.0.expel_share.VENEZUELA"),
    ({"type": "announced_rule", "start": START, "expel_share": {"NARNIA": 1.0}}, "unknown citizenship 'NARNIA'"),
    ({"type": "announced_rule", "start": START, "title42": False, "cbp_one_per_day": 5}, "policies.0.cbp_one_per_day"),
    # only news may leave a citizenship out with null: a rule in force sets a share for everyone
    ({"type": "processing_regime", "start": START, "removal_share": {"default": 0.5, "MEXICO": None}},
     "policies.0.removal_share.MEXICO"),
]


@pytest.mark.parametrize("lever,expect", BAD)
def test_bad_levers_exit_2_naming_the_field(tmp_path, capsys, lever, expect):
    sc = tiny_scenario(tmp_path)
    sc["policies"] = [lever]
    assert main(["validate", str(write_yaml(tmp_path / "bad.yaml", sc))]) == 2
    err = capsys.readouterr().err
    assert expect in err and err.count("\n") == 1 and "bad.yaml: policies.0" in err


# ---- those returned to Mexico may retry at a rate of their own ----
def test_returned_retry_applies_to_the_returned_only(tmp_path):
    from sim.citizenship import CODE

    returns = [{"type": "title42_returns", "start": "2023-01-20", "citizenships": ["VENEZUELA"]}]

    def run(retry, name):
        border = tiny_scenario(tmp_path)["border"] | {"returns_share": 0.9, "expelled_retry": 0.6}
        if retry is not None:
            border["returned_retry"] = retry
        ts, m = run_ts(tmp_path, returns, name, title42_ends=False, border=border)
        tries = lambda nat: series(ts, "retries", nat, after=dt.date(2023, 2, 15))["value"].sum()  # noqa: E731
        return tries("VENEZUELA"), tries("MEXICO"), m.behaviour.belief[CODE["VENEZUELA"]]

    ven_shared, mex_shared, belief_shared = run(None, "shared")
    ven_own, mex_own, belief_own = run(0.0, "own")
    assert ven_shared > 20 and ven_own <= 0.02 * ven_shared   # the returned stop trying again
    assert mex_own > 20 and mex_shared > 20                   # the others still do
    assert belief_own < belief_shared - 0.05                  # and a return looks worse to Venezuelans


# ---- each citizenship's share returned: a fact of the lever, the scenario's share otherwise ----
def test_returns_share_by_citizenship(tmp_path):
    after = dt.date(2023, 1, 25)

    def expelled(shares, name):
        lever = {"type": "title42_returns", "start": "2023-01-20", "citizenships": ["VENEZUELA", "MEXICO"],
                 "returns_share": shares}
        border = tiny_scenario(tmp_path)["border"] | {"title42_expel_share": {"default": 0.0}, "returns_share": 0.2}
        ts, _ = run_ts(tmp_path, [lever], name, title42_ends=False, border=border)
        return {nat: series(ts, "expulsions", nat, after=after)["value"].sum()
                / series(ts, "encounters", nat, after=after)["value"].sum() for nat in ("VENEZUELA", "MEXICO")}

    ven_named = expelled({"VENEZUELA": 0.9}, "ven")
    mex_named = expelled({"MEXICO": 0.9}, "mex")
    # the named citizenship is returned at its share, the other at border.returns_share
    assert ven_named["VENEZUELA"] > 3 * ven_named["MEXICO"] > 0
    assert mex_named["MEXICO"] > 3 * mex_named["VENEZUELA"] > 0
    assert abs(ven_named["MEXICO"] - mex_named["VENEZUELA"]) < 0.1
