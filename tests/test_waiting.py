"""Would-be migrants held back wait and go later (behaviour.waiting): the pool's
bookkeeping, its steady start, and the rebound when a shut way opens."""

from __future__ import annotations

import datetime as dt

import numpy as np
from conftest import tiny_scenario, write_yaml

from sim.citizenship import CODE
from sim.engine.model import RouteModel
from sim.scenario.inputs import Inputs

SHUT = {"type": "closure", "label": "shut", "start": "2023-01-20", "end": "2023-02-09", "leg": ["o_b", "n_city"]}


def mexican_departures(tmp_path, name, waiting=None, policies=(SHUT,), **over):
    sc = tiny_scenario(tmp_path, **over)
    sc["policies"] = list(policies)
    if waiting is not None:
        sc.setdefault("behaviour", {})["waiting"] = waiting
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), 1).run()
    ts = m.timeseries()
    d = ts[(ts["metric"] == "departures") & (ts["nationality"] == "MEXICO")]
    return d.groupby("date")["value"].sum(), m


def between(s, a, b):
    return s[(s.index >= dt.date.fromisoformat(a)) & (s.index <= dt.date.fromisoformat(b))].sum()


def test_no_pool_by_default_and_none_while_nobody_is_held_back(tmp_path):
    flow, _ = mexican_departures(tmp_path, "flow")
    pool, m = mexican_departures(tmp_path, "pool", waiting={"leave_rate": 0.1, "settle_rate": 0.01}, policies=())
    free, _ = mexican_departures(tmp_path, "free", policies=())
    # a response of 1 (no release or cost weight) holds nobody back: the pool stays empty
    assert (pool == free).all() and np.all(m.departures.waiting == 0)
    assert between(flow, "2023-01-21", "2023-02-09") == 0


def test_the_held_back_go_once_the_way_opens(tmp_path):
    """Three weeks shut: the pool takes in the potential departures; once open it drains
    at leave_rate a day (no one settles), so the excess over the run without a pool is
    the shut weeks' departures times 1 - (1 - leave_rate)^days."""
    flow, _ = mexican_departures(tmp_path, "flow")
    pool, m = mexican_departures(tmp_path, "pool", waiting={"leave_rate": 0.1, "settle_rate": 0.0})
    free, _ = mexican_departures(tmp_path, "free", policies=())
    same_before = between(pool, "2023-01-01", "2023-01-19") == between(flow, "2023-01-01", "2023-01-19")
    assert same_before and between(pool, "2023-01-21", "2023-02-09") == 0
    missed = between(free, "2023-01-21", "2023-02-09")
    excess = between(pool, "2023-02-10", "2023-03-31") - between(flow, "2023-02-10", "2023-03-31")
    expect = missed * (1 - 0.9 ** 50)
    assert abs(excess - expect) < 0.15 * expect
    # those who settle for good never come: a faster settling makes a smaller rebound
    settled, _ = mexican_departures(tmp_path, "settled", waiting={"leave_rate": 0.1, "settle_rate": 0.1})
    assert between(flow, "2023-02-10", "2023-03-31") < between(settled, "2023-02-10", "2023-03-31") < \
        between(pool, "2023-02-10", "2023-03-31")


def test_the_pool_starts_at_its_steady_state(tmp_path):
    """With a response below 1 that does not move (beliefs fixed, Title 42 kept), the
    pool of every pair stays where it started: no run-in from an empty pool."""
    over = {"behaviour": {"response": {"release_weight": 2.0}, "beliefs": {"learning_rate": 0.0},
                          "waiting": {"leave_rate": 0.05, "settle_rate": 0.02}}}
    sc = tiny_scenario(tmp_path, **over)
    sc["policies"] = []
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "s.yaml", sc)), 1)
    m.step()
    first = m.departures.waiting.copy()
    assert (first > 0).all()
    for _ in range(20):
        m.step()
    np.testing.assert_allclose(m.departures.waiting, first, rtol=1e-9)
    assert m.behaviour.belief[CODE["MEXICO"]] < 1


def test_the_waiting_go_before_a_worse_rule_announced_for_a_later_date(tmp_path):
    """A rule announced on 2023-02-01 to apply from 2023-03-10 (removal for all, no retry):
    until a citizenship's decisions take it into account (a journey ahead of its day),
    those who heard and wait at home go sooner, so departures rise above the run without
    the news and the pool empties; without a pool, or with ``hurry`` off, nothing changes
    before that day. After it, the news holds people back in every run."""
    news = {"type": "announced_rule", "label": "harsher rule to come", "start": "2023-02-01",
            "effective": "2023-03-10", "title42": False, "removal_share": {"default": 1.0}, "removed_retry": 0.0}
    behaviour = {"response": {"release_weight": 2.0}, "beliefs": {"learning_rate": 0.0, "heard_share": 0.8}}
    runs = {}
    for name, waiting, policies in (("plain", {"leave_rate": 0.05, "settle_rate": 0.02}, ()),
                                    ("news", {"leave_rate": 0.05, "settle_rate": 0.02}, (news,)),
                                    ("calm", {"leave_rate": 0.05, "settle_rate": 0.02, "hurry": False}, (news,)),
                                    ("nopool_plain", None, ()), ("nopool_news", None, (news,))):
        runs[name] = mexican_departures(tmp_path, name, waiting=waiting, policies=policies, behaviour=behaviour)
    flow = {k: v[0] for k, v in runs.items()}
    ahead = ("2023-02-01", "2023-02-25")  # Mexicans, days from the border, take it into account near 03-10
    before = ("2023-01-01", "2023-01-31")
    assert between(flow["news"], *before) == between(flow["plain"], *before)
    assert between(flow["news"], *ahead) > 1.3 * between(flow["plain"], *ahead)
    assert between(flow["calm"], *ahead) == between(flow["plain"], *ahead)
    assert between(flow["nopool_news"], *ahead) == between(flow["nopool_plain"], *ahead)
    after = ("2023-03-12", "2023-04-10")
    for a, b in (("news", "plain"), ("calm", "plain"), ("nopool_news", "nopool_plain")):
        assert between(flow[a], *after) < 0.8 * between(flow[b], *after)
    # the pool went before the rule: after it, the hurried run's pool is the smaller
    mex = runs["news"][1].departures.cit == CODE["MEXICO"]
    assert runs["news"][1].departures.waiting[mex].sum() < runs["calm"][1].departures.waiting[mex].sum()


def lured() -> dict:
    """A behaviour block with a strong response and no learning (a fresh dict: helpers add to it)."""
    return {"response": {"release_weight": 3.0}, "beliefs": {"learning_rate": 0.0, "heard_share": 0.8}}


def better_rule_to_come(announced: str, effective: str) -> tuple[dict, dict]:
    """News on ``announced`` of a rule ending Title 42 with no removals from ``effective``,
    and the rule itself from that day."""
    rule = {"title42": False, "removal_share": {"default": 0.0}}
    return ({"type": "announced_rule", "label": "better rule to come", "start": announced, "effective": effective,
             **rule}, {"type": "processing_regime", "label": "the rule", "start": effective, **rule})


def test_those_who_hear_of_a_better_rule_ahead_set_out_and_wait_near_the_border(tmp_path):
    """Title 42 in force; a rule announced on 2023-02-01 to apply from 2023-03-10 ends it
    with no removals (and does so on that day). Until decisions at home take it into
    account, those who heard and would go under it set out now and stop in the border
    town until its day: more departures than without the news, the same encounters
    before the day (they wait; everyone else's dice are the same), more just after it.
    With ``near_border`` off the news changes nothing before decisions take it in."""
    news, rule = better_rule_to_come("2023-02-01", "2023-03-10")
    runs = {}
    for name, waiting, policies in (("plain", None, (rule,)), ("near", None, (news, rule)),
                                    ("home", {"near_border": False}, (news, rule))):
        # a fresh behaviour block per run: mexican_departures adds the waiting block to it
        runs[name] = mexican_departures(tmp_path, name, waiting=waiting, policies=policies, behaviour=lured())
    flow = {k: v[0] for k, v in runs.items()}
    before, ahead = ("2023-01-01", "2023-01-31"), ("2023-02-01", "2023-02-25")
    assert between(flow["near"], *before) == between(flow["plain"], *before)
    assert between(flow["home"], *ahead) == between(flow["plain"], *ahead)
    assert between(flow["near"], *ahead) > 1.2 * between(flow["plain"], *ahead)

    def mexican(m, metric):
        ts = m.timeseries()
        return ts[(ts["metric"] == metric) & (ts["nationality"] == "MEXICO")].groupby("date")["value"].sum()

    near, home = runs["near"][1], runs["home"][1]
    assert between(mexican(near, "encounters"), "2023-01-15", "2023-03-09") == \
        between(mexican(home, "encounters"), "2023-01-15", "2023-03-09")
    assert between(mexican(near, "encounters"), "2023-03-10", "2023-03-16") > \
        1.2 * between(mexican(home, "encounters"), "2023-03-10", "2023-03-16")
    assert mexican(near, "waited_near_border").sum() > 0
    assert mexican(home, "waited_near_border").sum() == 0
    for _, m in runs.values():
        assert m.people_ledger()["balanced"]


def test_they_wait_in_the_town_the_border_is_reached_from_not_at_an_earlier_crossing(tmp_path):
    """Venezuelans lured by a better rule ahead cross the jungle now and wait in the border
    city, not at a crossing on the way (here the fork town is a crossing, as Cúcuta and
    Acandí are in the history's network): more Darién crossings before the day than
    without the news, and every wait in the town a border area is reached from."""
    from conftest import TINY_EDGES, TINY_NODES, write_network

    nodes = [(i, n, "crossing" if i == "n_fork" else k, *rest) for i, n, k, *rest in TINY_NODES]
    news, rule = better_rule_to_come("2023-01-20", "2023-03-20")
    out = {}
    for name, policies in (("plain", (rule,)), ("near", (news, rule))):
        sc = tiny_scenario(tmp_path, behaviour=lured())
        write_network(tmp_path / "net", nodes, TINY_EDGES)
        sc["policies"] = list(policies)
        m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), 1).run()
        ts = m.timeseries()
        out[name] = ts[ts["nationality"] == "VENEZUELA"]
    dar = {k: v[v["metric"] == "darien_crossings"].groupby("date")["value"].sum() for k, v in out.items()}
    assert between(dar["near"], "2023-01-25", "2023-03-10") > 1.2 * between(dar["plain"], "2023-01-25", "2023-03-10")
    waited = out["near"][out["near"]["metric"] == "waited_near_border"]
    assert waited["value"].sum() > 0
    assert set(waited.loc[waited["value"] > 0, "place"]) == {"n_city"}
