"""RouteModel: the Mesa model of migrant groups moving day by day to the US border.

One step is one day, in a fixed order that any reader can follow:

1. levers act before the day (``on_day``; seat pools refill); beliefs learn from
   co-nationals' outcomes, and once a week route familiarity from their journeys
   (``sim.engine.behaviour``) and the value of each border area from where
   co-nationals crossed and the ports' queues (``sim.engine.crossing``);
2. groups whose wait has ended (after an expulsion or a removal) set out again;
3. new departures leave their origins (``sim.engine.departures``): potential departures
   times the response to beliefs and route costs, times the levers' factors;
4. travel: each group has one day of travel time; on a leg it spends it (facing the
   leg's death hazard and robbery); at a town, people whose citizenship's belief fell
   since they set out may give up, the others may wait (the town's daily chance of
   leaving) or choose their next leg (``sim.engine.routing``); passing through towns
   without a wait, a group may cover several short legs in one day; levers watching a
   place see the people arriving there;
5. groups that reach a border area are encountered (``sim.engine.border``): expelled
   (Title 42), removed or released (Title 8); the expelled and removed may try again.

Policies with dates are Mesa events scheduled on the model's clock at half days, so
they act between two days, never in the middle of one (``sim.engine.hooks``). Every
random draw reads the model's ``Streams`` at the group's stable key (``sim.engine.streams``),
so a lever changes the dice only of the groups it touches. The groups' state lives in
numpy columns (``sim.engine.groups``) owned by the model; ``MigrantGroup`` agents are
their identity and inspection API (made when first asked for: ``group_agent``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mesa import Model

from sim.citizenship import CITIZENSHIPS
from sim.engine.agents import MigrantGroup
from sim.engine.behaviour import Behaviour
from sim.engine.bookkeeping import Books, accumulate
from sim.engine.border import Border
from sim.engine.crossing import Crossing
from sim.engine.custody import F_DEAD, F_GAVE_UP, Custody
from sim.engine.departures import Departures
from sim.engine.groups import ACTIVE, DONE, WAITING, GroupTable
from sim.engine.hooks import LeverHost
from sim.engine.routing import Router
from sim.engine.services import IndexedRegime
from sim.engine.streams import Streams, binomial_from_uniform, derive_keys, name_id

if TYPE_CHECKING:
    from sim.scenario.inputs import Inputs

MAX_PASSES = 8
HOLD, HELD_GO = name_id("hold"), name_id("held_go")  # key tags of members split off to be held / to go on
_NONE = np.zeros(0, np.int64)


class RouteModel(Model):
    """Migrant groups on the route network, one step a day, from ``Inputs``."""

    def __init__(self, inputs: "Inputs", seed: int):
        super().__init__(rng=seed)
        self.inputs = inputs
        self.spec = sc = inputs.scenario
        self.scale = sc.departures.scale
        self.seed = int(seed)
        self.network = net = inputs.network
        self.day = 0
        self.n_days = inputs.n_days
        self.streams = Streams(seed, sc.random_numbers, rng=self.rng)
        self.groups = GroupTable(4096)
        self.books = Books(self.n_days, len(CITIZENSHIPS), net, inputs.day_of(sc.period.start))
        self.active = np.zeros(0, np.int64)
        self._waiting = np.zeros(0, np.int64)
        self.lured = False  # whether any party has set out to wait near the border (Departures.draw)
        self._split_rows: list[np.ndarray] = []
        self._agents: dict[int, MigrantGroup] = {}
        self._callbacks: list[Callable] = []  # Mesa holds events weakly; their functions live here
        self.move_chance = IndexedRegime(net.move_chance.copy())
        self.robbable = np.isin(net.mode, ("foot", "bus"))
        self.darien_exit = np.zeros(net.n_nodes, bool)
        self.darien_exit[[net.index[n] for n in sc.darien_exit_nodes]] = True
        self._town = ~net.is_border  # places where a party may move on (not a border area)
        # the towns a US border area is reached from (Mexico's border cities), where parties
        # wait for a better rule (not every crossing: Cúcuta and Acandí are crossings too)
        self._near_border = np.zeros(net.n_nodes, bool)
        self._near_border[net.src[net.is_border[net.dst]]] = True
        self.behaviour = Behaviour(self)
        self.crossing = Crossing(self)
        self.border = Border(self)
        self.router = Router(self)
        self.behaviour.fix_cost_reference()  # the ways' open costs, before any lever acts
        self.custody = Custody(self)
        self.behaviour.start()
        self.departures = Departures(self)
        self.levers = LeverHost(self, sc.policies)
        self.behaviour.settle_familiarity()  # after the levers in force on the first day

    # ------------------------------------------------------------------ the clock
    def at_day(self, day: int, fn: Callable[[], None]) -> None:
        """Run ``fn`` between day-1 and ``day`` (at once if ``day`` <= today)."""
        if day <= self.day:
            fn()
        elif day < self.n_days:
            def event(fn=fn):  # a named function: Mesa refuses lambdas and holds events weakly
                fn()

            self._callbacks.append(event)
            self.schedule_event(event, at=day + 0.5)

    # ------------------------------------------------------------------ group state
    def activate(self, rows: np.ndarray) -> None:
        """New rows that travel on today (departures, members who split off on the way)."""
        self.active = np.concatenate([self.active, rows])

    def park(self, rows: np.ndarray) -> None:
        """Rows now waiting to set out again (``wait_until``)."""
        self._waiting = np.concatenate([self._waiting, rows])

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        t = self.day
        self.levers.day(t)
        self.behaviour.learn(t)
        if self.behaviour.update_familiarity(t) | self.crossing.update(t):
            self.router.refresh()
        self._wake(t)
        rows = self.departures.draw(t)
        if len(rows):
            self.activate(rows)
        self._travel(t)
        self.border.encounter(t)
        self._end_day(t)
        self.day += 1
        if self.day >= self.n_days:
            self.running = False

    def run(self, on_day: Callable[[int], None] | None = None) -> "RouteModel":
        """Simulate every day of the scenario; ``on_day`` is told each finished day."""
        while self.day < self.n_days:
            self.run_until(self.time + 1)
            if on_day is not None:
                on_day(self.day)
        return self

    def _wake(self, t: int) -> None:
        g = self.groups
        w = self._waiting
        if not len(w):
            return
        due = g.wait_until[w] <= t
        rows = w[due]
        self._waiting = w[~due]
        rows = rows[g.status[rows] == WAITING]
        if len(rows):
            g.status[rows] = ACTIVE
            g.belief[rows] = self.behaviour.belief[g.cit[rows]]  # they decide again
            ruled = g.wait_for[rows] >= 0  # waited near the border for a rule's day: not a retry
            if ruled.any():
                g.wait_for[rows[ruled]] = -1
                r = rows[~ruled]
            else:
                r = rows
            self.books.record("retries", g.cit[r], g.node[r], g.size[r])
            self.active = np.concatenate([self.active, rows])

    def _travel(self, t: int) -> None:
        g = self.groups
        act = self.active
        g.budget[act] = 1.0
        g.days_travelling[act] += 1
        ok = g.status[act] == ACTIVE
        # who starts the day in a town decides (as a party) whether to move on today
        edge = g.edge[act]
        node = g.node[act]
        town = (edge < 0) & self._town[node]
        here = in_town = act[town]
        if self.lured:
            here = self._wait_near_border(here, t)
        if self.spec.behaviour.response.give_up:
            if self.spec.behaviour.on_the_way.settle_rate < 1.0:
                # a held party a lever moved out of its town decides again at the next one
                g.held[act[~town & g.held[act]]] = False
            here = self._reconsider(here, t)
        if self.router.save_for_fare:
            # parties saving for a fare stay until they have earned it (Router._save)
            saving = g.wait_until[here] > t
            if saving.any():
                g.budget[here[saving]] = 0.0
                here = here[~saving]
        chance = self.move_chance.values[node[town] if here is in_town else g.node[here]]
        may_wait = chance < 1.0
        at_node = here
        if may_wait.any():
            waits = here[may_wait]
            u = self.streams.uniform("leave", t, g.key[waits])
            stay = u >= chance[may_wait]
            g.budget[waits[stay]] = 0.0
            stays = np.zeros(len(here), bool)
            stays[may_wait.nonzero()[0][stay]] = True
            at_node = here[~stays]
        # the first pass: everyone on a leg, and those in a town who move on today
        if ok.all():
            on_edge = act[edge >= 0]
        else:
            on_edge = act[ok & (edge >= 0)]
            at_node = at_node[g.status[at_node] == ACTIVE]
        for p in range(MAX_PASSES):
            if not len(on_edge) and not len(at_node):
                break
            if len(at_node) and p and self.lured:  # arrived at a border town with time left today
                at_node = self._wait_near_border(at_node, t)
            if len(at_node):
                went, split = self.router.choose(at_node, t, p)
                on_edge = np.concatenate([on_edge, at_node if went is None else at_node[went]] + split)
            if not len(on_edge):
                break
            on_edge, at_node = self._advance(on_edge, t, p)

    def _wait_near_border(self, rows: np.ndarray, t: int) -> np.ndarray:
        """Parties that set out to wait for a better rule announced for a later date
        (``Behaviour.lure``) stop in the first town a US border area is reached from
        (Mexico's border cities) until its day, then decide again as those who wait to
        retry do (``_wake``, not counted as retries). Returns the rows that go on."""
        g = self.groups
        wf = g.wait_for[rows]
        if not (wf >= 0).any():
            return rows
        came = (wf >= 0) & (wf <= t)  # the day came on the way: they no longer wait for it (nor count as such)
        if came.any():
            g.wait_for[rows[came]] = -1
        stop = (wf > t) & self._near_border[g.node[rows]]
        if not stop.any():
            return rows
        r = rows[stop]
        g.status[r] = WAITING
        g.wait_until[r] = wf[stop]
        g.budget[r] = 0.0
        self.books.record("waited_near_border", g.cit[r], g.node[r], g.size[r])
        self.park(r)
        return rows[~stop]

    def _reconsider(self, rows: np.ndarray, t: int) -> np.ndarray:
        """People in a town whose citizenship's belief fell since they set out go on with
        the departures' own response to that fall; the others give up, or are held there
        (``behaviour.on_the_way``), and held parties decide again each day
        (``_held_day``). Returns the rows that may travel today."""
        g = self.groups
        holding = self.spec.behaviour.on_the_way.settle_rate < 1.0
        if holding:
            held = g.held[rows]
            if held.any():
                rows = np.concatenate([rows[~held], self._held_day(rows[held], t)])
        now = self.behaviour.belief
        worse = rows[g.belief[rows] > (now + 1e-9)[g.cit[rows]]]
        if not len(worse):
            return rows
        cit, size, then = g.cit[worse], g.size[worse], g.belief[worse]
        go_on = self.behaviour.go_on_share(then, cit)
        stop = size - binomial_from_uniform(size, go_on, self.streams.uniform("give_up", t, g.key[worse]))
        g.belief[worse] = now[cit]  # the rest go on, with today's belief
        hit = stop > 0
        if not hit.any():
            return rows
        r, n = worse[hit], stop[hit]
        if holding:
            self._hold(r, n, then[hit], t)
            return rows[~g.held[rows]]
        self._give_up(r, n)
        return rows[g.status[rows] == ACTIVE]

    def _give_up(self, rows: np.ndarray, n: np.ndarray) -> None:
        """``n`` people of each row give up for good where they are."""
        g = self.groups
        g.size[rows] -= n
        self.books.ledger["gave_up"] += int(n.sum())
        self.books.record("gave_up", g.cit[rows], g.node[rows], n)
        gone = rows[g.size[rows] == 0]
        g.status[gone] = DONE
        g.fate[gone] = F_GAVE_UP
        g.held[gone] = False

    def _split_off(self, rows: np.ndarray, n: np.ndarray, t: int, tag: int, **cols: np.ndarray) -> np.ndarray:
        """``n`` members of each row become a party of their own with ``cols`` set (a
        whole row simply takes ``cols``); returns the rows of those members, new rows
        (keys derived from the parent's with ``tag``) travelling from today."""
        g = self.groups
        whole = n == g.size[rows]
        w = rows[whole]
        for name, v in cols.items():
            getattr(g, name)[w] = v[whole]
        part = rows[~whole]
        if not len(part):
            return w
        kids = g.copy_rows(part, size=n[~whole], key=derive_keys(g.key[part], t, tag), parent=part,
                           born=np.full(len(part), t), **{name: v[~whole] for name, v in cols.items()})
        g.size[part] -= n[~whole]
        self.activate(kids)
        return np.concatenate([w, kids])

    def _hold(self, rows: np.ndarray, n: np.ndarray, then: np.ndarray, t: int) -> None:
        """``n`` people of each row stop in its town, held with the belief they set out
        with (``then``) as the mark their citizenship's belief must come back to: a whole
        party is held as it is, the held members of a party split from those who go on."""
        self._split_off(rows, n, t, HOLD, held=np.ones(len(rows), bool), belief=then)

    def _held_day(self, rows: np.ndarray, t: int) -> np.ndarray:
        """A day of the parties held on the way: ``leave_rate`` times the response to the
        fall of their belief go on (``Behaviour.go_on_share``, 1 once it is back), then
        ``settle_rate`` of the rest give up for good. Returns the rows that go on today."""
        g, ow = self.groups, self.spec.behaviour.on_the_way
        cit, size = g.cit[rows], g.size[rows]
        chance = ow.leave_rate * self.behaviour.go_on_share(g.belief[rows], cit)
        hurry = self.behaviour.hurry(held=True)
        if hurry is not None:  # a worse rule is to come: going before it (``Behaviour.hurry``)
            chance = chance * hurry[cit]
        chance = np.minimum(chance, 1.0)
        go = binomial_from_uniform(size, chance, self.streams.uniform("held_go", t, g.key[rows]))
        settle = binomial_from_uniform(size - go, ow.settle_rate, self.streams.uniform("held_settle", t, g.key[rows]))
        if settle.any():
            s = settle > 0
            self._give_up(rows[s], settle[s])
        going = go > 0
        return self._split_off(rows[going], go[going], t, HELD_GO, held=np.zeros(int(going.sum()), bool),
                               belief=self.behaviour.belief[cit[going]])

    def _advance(self, rows: np.ndarray, t: int, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Spend today's travel time on the leg: its hazard, robbery, and arrival. Returns
        who may move on in the next pass, on a leg and in a town: only those who arrived
        somewhere with time left (the others have spent their day: a party still on its
        leg has spent all its time on it)."""
        g, net, books = self.groups, self.network, self.books
        e = g.edge[rows]
        remaining, budget = g.remaining[rows], g.budget[rows]
        dt = np.minimum(remaining, budget)
        h = self.router.hazard[e]
        hz = (h > 0).nonzero()[0]
        rd = self.spec.hazards.robbery_daily
        rob = self.robbable[e].nonzero()[0] if rd > 0 else _NONE
        if len(hz) and len(rob):  # both decisions' uniforms at once
            u_hazard, u_robbery = self.streams.uniforms(("hazard", "robbery"), t, (g.key[rows[hz]], g.key[rows[rob]]), p)
        else:
            u_hazard = self.streams.uniform("hazard", t, g.key[rows[hz]], p) if len(hz) else None
            u_robbery = self.streams.uniform("robbery", t, g.key[rows[rob]], p) if len(rob) else None
        died = False
        if len(hz):
            r = rows[hz]
            prob = 1.0 - (1.0 - h[hz]) ** dt[hz]
            dead = binomial_from_uniform(g.size[r], prob, u_hazard)
            d = dead > 0
            if d.any():
                died = True
                r, dead = r[d], dead[d]
                g.size[r] -= dead
                books.ledger["dead"] += int(dead.sum())
                books.record("deaths", g.cit[r], net.src[g.edge[r]], dead)
                gone = r[g.size[r] == 0]
                g.status[gone] = DONE
                g.fate[gone] = F_DEAD
        if len(rob):
            hit = u_robbery < 1.0 - (1.0 - rd) ** dt[rob]
            r = rows[rob]
            g.money[r[hit]] *= 1.0 - self.spec.hazards.robbery_loss
        remaining -= dt
        budget -= dt
        g.remaining[rows] = remaining
        g.budget[rows] = budget
        there = remaining <= 1e-9
        if died:
            there &= g.status[rows] == ACTIVE
        arrived = rows[there]
        if not len(arrived):
            return _NONE, _NONE
        g.last_edge[arrived] = e[there]
        g.edge[arrived] = -1
        nodes = g.node[arrived]
        ex = self.darien_exit[nodes]
        if ex.any():
            books.record("darien_crossings", g.cit[arrived[ex]], nodes[ex], g.size[arrived[ex]])
        accumulate(books.tallies.arrivals_at[t], nodes, g.size[arrived])
        seen, (arrived, nodes) = arrived, self.levers.arrive(arrived, nodes, t, p)
        stop = (self.move_chance.values[nodes] < 1.0) | net.is_border[nodes]
        g.budget[arrived[stop]] = 0.0
        if arrived is seen:  # no lever saw them: in towns, travelling, with what is left of today
            return _NONE, arrived[~stop & (budget[there] > 1e-9)]
        live = arrived[~stop]
        live = live[(g.status[live] == ACTIVE) & (g.budget[live] > 1e-9)]
        e = g.edge[live]
        return live[e >= 0], live[(e < 0) & self._town[g.node[live]]]

    def _end_day(self, t: int) -> None:
        g = self.groups
        legs = self.books.legs_of_day(t)  # records the day's entries into a country: before the flush
        self.books.recorder.flush(t)
        if legs is not None:
            self.behaviour.add_legs(legs)
        self.active = self.active[g.status[self.active] == ACTIVE]

    # ------------------------------------------------------------------ reading
    def group_agent(self, row: int) -> MigrantGroup:
        """The Mesa agent of a group (its row of the table), created when first asked for.

        Why on demand: a full-scale run makes about half a million groups; creating and
        registering a Mesa agent for each took a third of the run time, and the agents
        only read their rows. Every group has one, with ``unique_id`` = row + 1."""
        agent = self._agents.get(row)
        if agent is None:
            if not 0 <= row < self.groups.n:
                raise IndexError(f"no group row {row}")
            agent = self._agents[row] = MigrantGroup(self, row)
            agent.unique_id = row + 1
        return agent

    def group_agents(self, rows=None) -> list[MigrantGroup]:
        """The Mesa agents of these rows (default: every group so far); they join ``model.agents``."""
        rows = range(self.groups.n) if rows is None else rows
        return [self.group_agent(int(r)) for r in rows]

    def people_ledger(self) -> dict:
        """Persons by state; ``spawned`` equals the sum of the others exactly."""
        return self.books.ledger.balance(self.groups.persons(ACTIVE), self.groups.persons(WAITING))

    def leg_flows(self) -> pd.DataFrame:
        """People who started each leg during the period: seed, nationality, from, to, mode, persons."""
        return self.books.leg_flows(self.seed)

    def timeseries(self) -> pd.DataFrame:
        """Tidy daily rows (date, metric, nationality, place, seed, value) for the period."""
        return self.books.timeseries(self.inputs.dates, self.seed)
