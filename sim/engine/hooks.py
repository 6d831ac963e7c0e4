"""The levers' lifecycle: fixed points of the model's day where levers act.

Why fixed hooks (after Starsim's interventions): a lever is one class that says what it
does at named points, and the model calls those points in a fixed order every day, so
a new lever touches nothing else. The points, in the order of a day:

====================  ==========================================================  ======================
hook                  when                                                          a lever gets / returns
====================  ==========================================================  ======================
``init(ctx)``         once, when the model is built (the lever is in its span)      its context ``ctx``
``on_start(ctx)``     between the day before its start and its first day            -
``on_day(ctx, t)``    before each day it is in force                                -
``departure_factor``  while the day's departures are drawn                          expected departures / a factor
``on_arrive``         people arriving at a place it watches (``ctx.watch(nodes)``)  the arriving rows
``on_encounter``      people encountered at the border, after their outcomes        an ``EncounterBatch``
``on_end(ctx)``       after its last day                                            -
====================  ==========================================================  ======================

Starts and ends are Mesa events on the model's clock (half days, so between two days).
A lever acts through its context: its random stream (``ctx.uniform``), its seat pools
(``ctx.seat_pool``, refilled before each day in force), and the model's typed services
(``ctx.regimes``, ``ctx.node_regime``, ``ctx.access``, ``ctx.router``, ``ctx.custody``,
``ctx.tallies``). Hooks of several levers run in the order the levers started.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.citizenship import CITIZENSHIPS, CODE
from sim.engine.groups import ACTIVE
from sim.engine.services import SeatPool


class LeverContext:
    """One lever in one model: its tag, its days, its state, and the model's services."""

    def __init__(self, model, lever, index: int):
        self.model = model
        self.lever = lever
        self.tag = lever.tag(index)
        s = model.inputs.day_of(lever.start)
        e = model.n_days if lever.end is None else model.inputs.day_of(lever.end) + 1
        self.start, self.end = max(s, 0), min(e, model.n_days)
        self.state = SimpleNamespace()
        self.pools: list[SeatPool] = []
        self.watched: list[int] = []
        self.active = False

    # -- what a lever may use
    @property
    def network(self):
        return self.model.network

    @property
    def groups(self):
        return self.model.groups

    @property
    def regimes(self):
        return self.model.border.regimes

    @property
    def node_regime(self):
        return self.model.move_chance

    @property
    def access(self):
        return self.model.router.access

    @property
    def router(self):
        return self.model.router

    @property
    def behaviour(self):
        return self.model.behaviour

    @property
    def border(self):
        return self.model.border

    @property
    def scale(self) -> float:
        """The sample the run simulates (departures.scale): capacities are multiplied by it."""
        return self.model.scale

    @property
    def custody(self):
        return self.model.custody

    @property
    def tallies(self):
        return self.model.books.tallies

    def uniform(self, t: int, keys: np.ndarray, draw=0) -> np.ndarray:
        """Uniforms from this lever's own stream (named by its tag) at the groups' keys."""
        return self.model.streams.uniform(self.tag, t, keys, draw)

    def seat_pool(self, per_day: float, cap: float) -> SeatPool:
        """Seats refilled by ``per_day`` before each day the lever is in force (both given
        for the whole population; a sampled run gets its share)."""
        pool = SeatPool(per_day * self.scale, cap * self.scale)
        self.pools.append(pool)
        return pool

    def watch(self, nodes: list[int]) -> None:
        """Have ``on_arrive`` called for people arriving at these places while in force."""
        self.watched = list(nodes)

    def eligible(self, citizenships: list[str]) -> np.ndarray:
        """A mask over citizenship codes (an empty list means everyone)."""
        mask = np.zeros(len(CITIZENSHIPS), bool)
        mask[[CODE[c] for c in citizenships] if citizenships else slice(None)] = True
        return mask


class LeverHost:
    """Builds each lever's context and calls the hooks at their points of the day."""

    def __init__(self, model, levers):
        self.model = model
        self.contexts: list[LeverContext] = []
        self.active: dict[str, LeverContext] = {}
        self.watch: dict[int, dict[str, LeverContext]] = {}
        self._ones = np.ones(len(CITIZENSHIPS))
        for i, lever in enumerate(levers):
            self.install(lever, i)

    def install(self, lever, index: int) -> LeverContext | None:
        """Prepare a lever and schedule its start and end (the scenario's levers are
        installed when the model is built; tests and notebooks may add one)."""
        ctx = LeverContext(self.model, lever, index)
        if ctx.start >= ctx.end or not lever.init(ctx):
            return None  # a lever with nothing to act on draws no random numbers at all
        self.contexts.append(ctx)
        self.model.at_day(ctx.start, lambda ctx=ctx: self._start(ctx))
        self.model.at_day(ctx.end, lambda ctx=ctx: self._end(ctx))
        return ctx

    def _start(self, ctx: LeverContext) -> None:
        ctx.active = True
        self.active[ctx.tag] = ctx
        for n in ctx.watched:
            self.watch.setdefault(n, {})[ctx.tag] = ctx
        ctx.lever.on_start(ctx)

    def _end(self, ctx: LeverContext) -> None:
        ctx.active = False
        self.active.pop(ctx.tag, None)
        for n in ctx.watched:
            self.watch.get(n, {}).pop(ctx.tag, None)
        ctx.lever.on_end(ctx)

    def day(self, t: int) -> None:
        """Before the day: pools refill, then each lever's ``on_day``."""
        for ctx in list(self.active.values()):
            for pool in ctx.pools:
                pool.refill()
            ctx.lever.on_day(ctx, t)

    def departure_factor(self, t: int, expected: np.ndarray) -> np.ndarray:
        """The product of the active levers' factors on departures, per citizenship, given
        today's expected departures per citizenship before them."""
        factor = self._ones  # never changed in place
        for ctx in self.active.values():
            f = ctx.lever.departure_factor(ctx, t, expected)
            if f is not None:
                factor = factor * f
        return factor

    def arrive(self, arrived: np.ndarray, nodes: np.ndarray, t: int, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Levers watching a place see the people arriving there (while still there and
        travelling); returns the arrivals still travelling and their places."""
        if not self.watch:
            return arrived, nodes
        g = self.model.groups
        for n, ctxs in list(self.watch.items()):
            if ctxs:
                here = arrived[nodes == n]
                for ctx in list(ctxs.values()):
                    if len(here):
                        ctx.lever.on_arrive(ctx, here, t, p)
                        here = here[(g.status[here] == ACTIVE) & (g.node[here] == n)]
        arrived = arrived[g.status[arrived] == ACTIVE]
        return arrived, g.node[arrived]

    def encounter(self, batch, t: int) -> None:
        for ctx in self.active.values():
            ctx.lever.on_encounter(ctx, batch, t)
