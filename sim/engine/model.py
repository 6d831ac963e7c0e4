"""RouteModel: the Mesa model of migrant groups moving day by day to the US border.

One step is one day, in a fixed order that any reader can follow:

1. levers act before the day (``on_day``; seat pools refill);
2. groups whose wait has ended (after an expulsion or a removal) set out again;
3. new departures leave their origins (``sim.engine.departures``; levers may scale them);
4. travel: each group has one day of travel time; on a leg it spends it (facing the
   leg's death hazard and robbery); at a town it may wait (the town's daily chance of
   leaving) or choose its next leg (``sim.engine.routing``); passing through towns
   without a wait, a group may cover several short legs in one day; levers watching a
   place see the people arriving there;
5. groups that reach a border area are encountered (``sim.engine.border``): expelled
   (Title 42), removed or released (Title 8); the expelled and removed may try again.

Policies with dates are Mesa events scheduled on the model's clock at half days, so
they act between two days, never in the middle of one (``sim.engine.hooks``). Every
random draw reads the model's ``Streams`` at the group's stable key (``sim.engine.streams``),
so a lever changes the dice only of the groups it touches. The groups' state lives in
numpy columns (``sim.engine.groups``) owned by the model; ``MigrantGroup`` agents are
their identity and inspection API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mesa import Model

from sim.citizenship import CITIZENSHIPS
from sim.engine.agents import MigrantGroup
from sim.engine.bookkeeping import Books
from sim.engine.border import Border
from sim.engine.custody import F_DEAD, Custody
from sim.engine.departures import Departures
from sim.engine.groups import ACTIVE, DONE, WAITING, GroupTable
from sim.engine.hooks import LeverHost
from sim.engine.routing import Router
from sim.engine.services import NodeRegime
from sim.engine.streams import Streams, binomial_from_uniform

if TYPE_CHECKING:
    from sim.scenario.inputs import Inputs

MAX_PASSES = 8


class RouteModel(Model):
    """Migrant groups on the route network, one step a day, from ``Inputs``."""

    def __init__(self, inputs: "Inputs", seed: int):
        super().__init__(rng=seed)
        self.inputs = inputs
        self.spec = sc = inputs.scenario
        self.seed = int(seed)
        self.network = net = inputs.network
        self.day = 0
        self.n_days = inputs.n_days
        self.streams = Streams(seed, sc.random_numbers, rng=self.rng)
        self.groups = GroupTable(4096)
        self.books = Books(self.n_days, len(CITIZENSHIPS), net, inputs.day_of(sc.period.start))
        self.active = np.zeros(0, np.int64)
        self._waiting = np.zeros(0, np.int64)
        self._new_rows: list[np.ndarray] = []
        self._split_rows: list[np.ndarray] = []
        self._agents: list[MigrantGroup] = []
        self._callbacks: list[Callable] = []  # Mesa holds events weakly; their functions live here
        self.move_chance = NodeRegime(net.move_chance.copy())
        self.robbable = np.isin(net.mode, ("foot", "bus"))
        self.darien_exit = np.zeros(net.n_nodes, bool)
        self.darien_exit[[net.index[n] for n in sc.darien_exit_nodes]] = True
        self.router = Router(self)
        self.custody = Custody(self)
        self.border = Border(self)
        self.departures = Departures(self)
        self.levers = LeverHost(self, sc.policies)

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
    def register(self, rows: np.ndarray, active: bool = False) -> None:
        """New rows (a split): they get Mesa agents at the end of the day; ``active``
        ones travel on today."""
        self._new_rows.append(rows)
        if active:
            self.active = np.concatenate([self.active, rows])

    def park(self, rows: np.ndarray) -> None:
        """Rows now waiting to set out again (``wait_until``)."""
        self._waiting = np.concatenate([self._waiting, rows])

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        t = self.day
        self.levers.day(t)
        self._wake(t)
        rows = self.departures.draw(t, self.levers.departure_factor(t))
        if len(rows):
            self.register(rows, active=True)
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
            self.books.record("retries", g.cit[rows], g.node[rows], g.size[rows])
            self.active = np.concatenate([self.active, rows])

    def _travel(self, t: int) -> None:
        g, net = self.groups, self.network
        move_chance = self.move_chance.values
        act = self.active
        g.budget[act] = 1.0
        g.days_travelling[act] += 1
        # who starts the day in a town decides (as a party) whether to move on today
        here = act[(g.edge[act] < 0) & ~net.is_border[g.node[act]]]
        waits = here[move_chance[g.node[here]] < 1.0]
        if len(waits):
            u = self.streams.uniform("leave", t, g.key[waits])
            g.budget[waits[u >= move_chance[g.node[waits]]]] = 0.0
        for p in range(MAX_PASSES):
            act = self.active
            live = act[(g.status[act] == ACTIVE) & (g.budget[act] > 1e-9)]
            on_edge = live[g.edge[live] >= 0]
            at_node = live[(g.edge[live] < 0) & ~net.is_border[g.node[live]]]
            if not len(on_edge) and not len(at_node):
                break
            if len(at_node):
                split = self.router.choose(at_node, t, p)
                on_edge = np.concatenate([on_edge, at_node])
                on_edge = on_edge[(g.edge[on_edge] >= 0) & (g.budget[on_edge] > 1e-9)]
                if split:
                    on_edge = np.concatenate([on_edge] + split)
            if len(on_edge):
                self._advance(on_edge, t, p)

    def _advance(self, rows: np.ndarray, t: int, p: int) -> None:
        """Spend today's travel time on the leg: its hazard, robbery, and arrival."""
        g, net, books = self.groups, self.network, self.books
        e = g.edge[rows]
        dt = np.minimum(g.remaining[rows], g.budget[rows])
        h = self.router.hazard[e]
        hz = np.flatnonzero(h > 0)
        if len(hz):
            r = rows[hz]
            prob = 1.0 - (1.0 - h[hz]) ** dt[hz]
            u = self.streams.uniform("hazard", t, g.key[r], p)
            dead = binomial_from_uniform(g.size[r], prob, u)
            d = dead > 0
            if d.any():
                r, dead = r[d], dead[d]
                g.size[r] -= dead
                books.ledger["dead"] += int(dead.sum())
                books.record("deaths", g.cit[r], net.src[g.edge[r]], dead)
                gone = r[g.size[r] == 0]
                g.status[gone] = DONE
                g.fate[gone] = F_DEAD
        rob = np.flatnonzero(self.robbable[e])
        rd = self.spec.hazards.robbery_daily
        if len(rob) and rd > 0:
            r = rows[rob]
            u = self.streams.uniform("robbery", t, g.key[r], p)
            hit = u < 1.0 - (1.0 - rd) ** dt[rob]
            g.money[r[hit]] *= 1.0 - self.spec.hazards.robbery_loss
        g.remaining[rows] -= dt
        g.budget[rows] -= dt
        arrived = rows[(g.remaining[rows] <= 1e-9) & (g.status[rows] == ACTIVE)]
        if len(arrived):
            g.last_edge[arrived] = g.edge[arrived]
            g.edge[arrived] = -1
            nodes = g.node[arrived]
            ex = self.darien_exit[nodes]
            if ex.any():
                books.record("darien_crossings", g.cit[arrived[ex]], nodes[ex], g.size[arrived[ex]])
            np.add.at(books.tallies.arrivals_at[t], nodes, g.size[arrived])
            arrived, nodes = self.levers.arrive(arrived, nodes, t, p)
            stop = (self.move_chance.values[nodes] < 1.0) | net.is_border[nodes]
            g.budget[arrived[stop]] = 0.0

    def _end_day(self, t: int) -> None:
        g = self.groups
        self.books.recorder.flush(t)
        self.active = self.active[g.status[self.active] == ACTIVE]
        if self._new_rows:
            rows = np.concatenate(self._new_rows)
            self._new_rows = []
            self._agents.extend(MigrantGroup.create_agents(self, len(rows), row=rows))

    # ------------------------------------------------------------------ reading
    def group_agent(self, row: int) -> MigrantGroup:
        return self._agents[row]

    def people_ledger(self) -> dict:
        """Persons by state; ``spawned`` equals the sum of the others exactly."""
        return self.books.ledger.balance(self.groups.persons(ACTIVE), self.groups.persons(WAITING))

    def leg_flows(self) -> pd.DataFrame:
        """People who started each leg during the period: seed, nationality, from, to, mode, persons."""
        return self.books.leg_flows(self.seed)

    def timeseries(self) -> pd.DataFrame:
        """Tidy daily rows (date, metric, nationality, place, seed, value) for the period."""
        return self.books.timeseries(self.inputs.dates, self.seed)
