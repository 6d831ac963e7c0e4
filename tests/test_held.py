"""Those on the way whose belief falls are held where they are (behaviour.on_the_way):
they go on once the belief is back, settle for good at their rate, and nobody is lost."""

from __future__ import annotations

import datetime as dt

import numpy as np
from conftest import tiny_scenario, write_yaml

from sim.cli import main
from sim.engine.model import RouteModel
from sim.scenario.inputs import Inputs

D0, D1 = dt.date(2023, 1, 25), dt.date(2023, 2, 24)
# news that every Mexican who crosses will be removed, heard by all, for a month; beliefs
# learn nothing else (learning_rate 0), so the belief falls on D0 and is back on D1
NEWS = {"type": "announced_rule", "label": "removal as announced", "start": D0.isoformat(), "end": D1.isoformat(),
        "removal_share": {"MEXICO": 1.0}}
BEHAVIOUR = {"response": {"release_weight": 3.0}, "beliefs": {"heard_share": 1.0, "learning_rate": 0.0}}


def run(tmp_path, name, on_the_way=None, policies=(NEWS,), mexico_level=None, **behaviour):
    sc = tiny_scenario(tmp_path, behaviour={**BEHAVIOUR, **({"on_the_way": on_the_way} if on_the_way else {}),
                                            **behaviour})
    if mexico_level is not None:
        sc["departures"]["by_citizenship"]["MEXICO"]["level"] = mexico_level
    sc["policies"] = list(policies)
    m = RouteModel(Inputs.load(write_yaml(tmp_path / f"{name}.yaml", sc)), 1)
    held = []
    while m.day < m.n_days:
        m.step()
        g = m.groups
        held.append(int(g.size[: g.n][g.held[: g.n] & (g.status[: g.n] == 1)].sum()))
    assert m.people_ledger()["balanced"]
    return m, m.timeseries(), np.array(held)


def total(ts, metric, after=None, before=None):
    d = ts[(ts["metric"] == metric) & (ts["nationality"] == "MEXICO")]
    if after:
        d = d[d["date"] >= after]
    if before:
        d = d[d["date"] < before]
    return int(d["value"].sum())


def test_nobody_is_held_by_default(tmp_path):
    m, ts, held = run(tmp_path, "default")
    assert held.max() == 0 and total(ts, "gave_up", D0, D1) > 0


def test_the_held_go_on_once_the_belief_is_back(tmp_path):
    """Given up at once (settle_rate 1) or held (0: nobody settles): the same until the
    news; while it lasts the held are not lost, and after it they go on (more encounters
    after the news, as many fewer given up)."""
    mg, gave, _ = run(tmp_path, "gave")
    mh, held_ts, held = run(tmp_path, "held", {"settle_rate": 0.0, "leave_rate": 0.2})
    day0, day1 = mh.inputs.day_of(D0), mh.inputs.day_of(D1)
    np.testing.assert_array_equal(held[:day0], 0)
    assert total(held_ts, "encounters", before=D0) == total(gave, "encounters", before=D0)
    assert held[day1 - 1] > 0 and total(held_ts, "gave_up") == 0 < total(gave, "gave_up")
    # once the belief is back they leave at leave_rate a day: 0.8^30 of them are left a month on
    assert held[day1 + 30] < 0.01 * held[day1 - 1] + 1
    extra = total(held_ts, "encounters", after=D1) - total(gave, "encounters", after=D1)
    assert extra > 0.5 * total(gave, "gave_up")


def test_the_held_who_settle_give_up_at_their_rate(tmp_path):
    """With a settle rate s and a belief that stays down (news without end), a held
    party shrinks by about (1 - leave x response)(1 - s) a day: those who give up while
    held are the held times s, day by day."""
    news = {k: v for k, v in NEWS.items() if k != "end"}
    m, ts, held = run(tmp_path, "settle", {"settle_rate": 0.05, "leave_rate": 0.0}, policies=(news,))
    gave = total(ts, "gave_up", after=D0 + dt.timedelta(days=1))
    day0 = m.inputs.day_of(D0)
    expect = 0.05 * held[day0:-1].sum()
    assert abs(gave - expect) < 0.1 * expect + 20
    # the agents say so: held parties are travelling (in the ledger's count), and held
    held_agents = [a for a in m.group_agents() if a.held]
    assert held_agents and all(a.status == "travelling" and "node" in a.position for a in held_agents)
    assert sum(a.size for a in held_agents) == held[-1]


def test_bad_on_the_way_rate_exits_2_naming_the_field(tmp_path, capsys):
    sc = tiny_scenario(tmp_path, behaviour={"on_the_way": {"settle_rate": 1.5}})
    assert main(["validate", str(write_yaml(tmp_path / "bad.yaml", sc))]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: behaviour.on_the_way.settle_rate" in err and err.count("\n") == 1


def test_the_held_go_sooner_before_a_worse_rule_announced_for_a_later_date(tmp_path):
    """While news of removal for some holds Mexicans on the way, a rule announced on
    2023-01-30 for 2023-03-20 that will remove all of them makes waiting cost more: the
    held go on sooner (fewer held through February, more encounters), as many as without
    it before the announcement; ``waiting.hurry`` off, no difference."""
    news = {**NEWS, "removal_share": {"MEXICO": 0.6}}
    later = {"type": "announced_rule", "label": "harsher rule to come", "start": "2023-01-30",
             "effective": "2023-03-20", "removal_share": {"MEXICO": 1.0}}
    ow = {"settle_rate": 0.0, "leave_rate": 0.05}

    m, ts, held = run(tmp_path, "held", ow, (news,), mexico_level=1000.0)  # enough held to count
    _, ts_later, held_later = run(tmp_path, "later", ow, (news, later), mexico_level=1000.0)
    _, calm_ts, held_calm = run(tmp_path, "calm", ow, (news, later), mexico_level=1000.0, waiting={"hurry": False})
    day = m.inputs.day_of(dt.date(2023, 1, 30))
    np.testing.assert_array_equal(held_later[:day], held[:day])
    heard = m.inputs.day_of(dt.date(2023, 3, 10))  # Mexicans, days away, take the rule into account later
    np.testing.assert_array_equal(held_calm[:heard], held[:heard])
    assert held[day] > 100 and held_later[day + 14] < 0.8 * held[day + 14]
    feb = dt.date(2023, 1, 30), dt.date(2023, 2, 24)
    assert total(ts_later, "encounters", *feb) > total(ts, "encounters", *feb) == total(calm_ts, "encounters", *feb)
