"""The levers' lifecycle: every hook is called at its point of the day, only while the
lever is in force, and acts only through what it is given; the typed services compose."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pytest
from conftest import tiny_scenario, write_yaml

from sim.citizenship import CITIZENSHIPS, CODE
from sim.engine.model import RouteModel
from sim.engine.services import Access, IndexedRegime, Regime, SeatPool
from sim.levers.base import Lever
from sim.scenario.inputs import Inputs


class Probe(Lever):
    """Records every hook call; halves departures while in force."""

    type: Literal["probe"] = "probe"
    node: str = "n_city"

    def init(self, ctx):
        ctx.state.calls = []
        ctx.state.arrivals = []
        ctx.state.encountered = 0
        ctx.watch([ctx.network.index[self.node]])
        return True

    def on_start(self, ctx):
        ctx.state.calls.append(("start", ctx.model.day))

    def on_day(self, ctx, t):
        ctx.state.calls.append(("day", t))

    def departure_factor(self, ctx, t, expected):
        ctx.state.calls.append(("departures", t))
        return np.full(len(CITIZENSHIPS), 0.5)

    def on_arrive(self, ctx, rows, t, p):
        ctx.state.calls.append(("arrive", t))
        ctx.state.arrivals.append(ctx.groups.node[rows].copy())

    def on_encounter(self, ctx, batch, t):
        ctx.state.calls.append(("encounter", t))
        ctx.state.encountered += int(batch.size.sum())

    def on_end(self, ctx):
        ctx.state.calls.append(("end", ctx.model.day))


def _model(tmp_path, seed=1):
    return RouteModel(Inputs.load(write_yaml(tmp_path / "t.yaml", tiny_scenario(tmp_path))), seed)


def test_each_hook_runs_at_its_point_and_only_while_in_force(tmp_path):
    m = _model(tmp_path)
    start, end = dt.date(2023, 2, 1), dt.date(2023, 2, 28)
    ctx = m.levers.install(Probe(start=start, end=end), 0)
    s, e = m.inputs.day_of(start), m.inputs.day_of(end)
    m.run()
    calls = ctx.state.calls
    assert calls[0] == ("start", s) and calls[-1] == ("end", e + 1)  # between days: before the first, after the last
    days = [c[1] for c in calls if c[0] == "day"]
    assert days == list(range(s, e + 1))
    assert [c[1] for c in calls if c[0] == "departures"] == days
    # within a day: on_day, then departures, then arrivals, then encounters
    order = {k: i for i, k in enumerate(("day", "departures", "arrive", "encounter"))}
    for d in days:
        kinds = [order[c[0]] for c in calls if c[0] in order and c[1] == d]
        assert kinds == sorted(kinds)
    assert all(s <= c[1] <= e for c in calls if c[0] in ("arrive", "encounter"))
    assert ctx.state.arrivals and all((a == m.network.index["n_city"]).all() for a in ctx.state.arrivals)
    # every encounter on the lever's days passed through on_encounter
    ts = m.timeseries()
    enc = ts[(ts["metric"] == "encounters") & (ts["date"] >= start) & (ts["date"] <= end)]["value"].sum()
    assert ctx.state.encountered == enc > 0


def test_departure_factor_scales_departures_only_while_in_force(tmp_path):
    def departures(model):
        ts = model.run().timeseries()
        d = ts[ts["metric"] == "departures"]
        return d[d["date"] < dt.date(2023, 2, 1)]["value"].sum(), d[d["date"] >= dt.date(2023, 2, 1)]["value"].sum()

    base = departures(_model(tmp_path))
    m = _model(tmp_path)
    m.levers.install(Probe(start=dt.date(2023, 2, 1)), 0)
    halved = departures(m)
    assert halved[0] == base[0]  # before the lever: the same dice, the same departures
    assert halved[1] == pytest.approx(base[1] / 2, rel=0.1)


def test_a_lever_outside_the_run_is_never_installed(tmp_path):
    m = _model(tmp_path)
    assert m.levers.install(Probe(start=dt.date(2030, 1, 1)), 0) is None
    assert m.levers.install(Probe(start=dt.date(2020, 1, 1), end=dt.date(2020, 2, 1)), 1) is None


def test_regimes_compose_latest_started_wins():
    r = Regime("x", 0.1)
    r.push("a", 0.5)
    r.push("b", 0.9)
    assert r.current == 0.9
    r.pop("b")
    assert r.current == 0.5
    r.push("c", 0.7)
    r.pop("a")
    assert r.current == 0.7
    r.pop("c")
    assert r.current == 0.1
    n = IndexedRegime(np.array([1.0, 0.5]))
    n.push(1, "a", 0.2)
    n.push(1, "b", 0.0)
    assert n.values.tolist() == [1.0, 0.0]
    n.pop(1, "b")
    assert n.values.tolist() == [1.0, 0.2]
    n.pop(1, "a")
    assert n.values.tolist() == [1.0, 0.5] and n.base.tolist() == [1.0, 0.5]


def test_seat_pool_serves_in_key_order_and_refills_to_its_cap():
    pool = SeatPool(per_day=3.0, cap=5.0)
    for _ in range(3):
        pool.refill()
    assert pool.seats == 5.0
    keys = np.array([30, 10, 20], np.uint64)
    got = pool.take(keys, np.array([2, 2, 2]))
    assert got.tolist() == [1, 2, 2] and pool.seats == 0.0  # keys 10 and 20 first, 30 gets what is left


def test_access_opens_closes_and_recomputes_once_per_change():
    base = np.ones((2, 3), bool)
    base[0, 2] = False
    changes = []
    acc = Access(base, lambda: changes.append(1))
    acc.set("visa", 0, [2], True)
    assert acc.open[0, 2]
    acc.close("wall", [0, 1], [1])
    assert not acc.open[:, 1].any() and acc.open[0, 2]
    acc.clear("visa")
    assert not acc.open[0, 2] and not acc.open[:, 1].any()
    acc.clear("wall")
    assert (acc.open == base).all() and len(changes) == 4


def test_lever_types_come_from_the_union():
    from sim.levers import LEVER_TYPES, LEVERS

    assert len(LEVER_TYPES) == len(LEVERS) == len(set(LEVER_TYPES))
    for cls, name in zip(LEVERS, LEVER_TYPES):
        assert cls.model_fields["type"].annotation.__args__ == (name,)


def test_charter_diverts_released_people_into_removal(tmp_path):
    """The charter lever acts only through the encounter batch it is given."""
    sc = tiny_scenario(tmp_path)
    sc["policies"] = sc["policies"] + [{"type": "deportation_charters", "start": "2023-01-01", "citizenship": "VENEZUELA",
                                        "flights_per_month": 30, "seats_per_flight": 200, "retry_share": 0.0}]
    m = RouteModel(Inputs.load(write_yaml(tmp_path / "c.yaml", sc)), 1).run()
    base = RouteModel(Inputs.load(write_yaml(tmp_path / "b.yaml", tiny_scenario(tmp_path))), 1).run()
    ts, tb = m.timeseries(), base.timeseries()

    def total(t, metric):
        return t[(t["metric"] == metric) & (t["nationality"] == "VENEZUELA")]["value"].sum()

    assert total(ts, "released_us") < total(tb, "released_us")
    assert total(ts, "removals") - total(tb, "removals") == total(tb, "released_us") - total(ts, "released_us")
    assert m.people_ledger()["balanced"]
    assert CODE["VENEZUELA"] in set(m.groups.cit[: m.groups.n])
