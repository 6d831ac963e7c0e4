"""Removal levers: people taken off the route and flown to their country.

Panama's removal flights select people passing its stations; US deportation charters
fill their seats with people held under Title 8 at the border. Both are capacities
(seats), not shares: when the seats run out, nobody else is removed that day.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.citizenship import CODE
from sim.engine.border import RELEASED
from sim.engine.custody import binomial
from sim.levers.base import Lever, citizenships
from sim.schema import NonNeg, Positive, Share


class PanamaRemovalFlights(Lever):
    """Removal flights from Panama: people passing a station are selected, up to the seats."""

    type: Literal["panama_removal_flights"]
    nodes: list[str] = Field(min_length=1, description="Panama stations or airports where people are selected")
    seats_per_week: NonNeg | None = None
    flights_per_week: NonNeg | None = None
    seats_per_flight: NonNeg | None = None
    citizenships: list[str] = Field(default_factory=list, description="eligible citizenships (empty = all)")
    selected_share: Share = Field(1.0, description="share of eligible people passing who are selected, seats permitting")
    retry_share: Share = Field(0.2, description="share of the removed who set out again")
    retry_days: Positive = Field(120.0, description="mean days at home before they do")

    _c = field_validator("citizenships")(classmethod(lambda cls, v: citizenships(v)))

    @model_validator(mode="after")
    def _seats(self):
        per_flight = self.flights_per_week is not None or self.seats_per_flight is not None
        if (self.seats_per_week is None) == (not per_flight):
            raise ValueError("give seats_per_week, or flights_per_week and seats_per_flight")
        if per_flight and (self.flights_per_week is None or self.seats_per_flight is None):
            raise ValueError("flights_per_week and seats_per_flight go together")
        return self

    @property
    def weekly_seats(self) -> float:
        if self.seats_per_week is not None:
            return self.seats_per_week
        return self.flights_per_week * self.seats_per_flight

    def nodes_used(self):
        return [(f"nodes.{i}", n) for i, n in enumerate(self.nodes)]

    def init(self, ctx):
        if self.weekly_seats <= 0 or self.selected_share <= 0:
            return False
        ctx.state.eligible = ctx.eligible(self.citizenships)
        ctx.state.pool = ctx.seat_pool(self.weekly_seats / 7.0, self.weekly_seats)
        ctx.watch([ctx.network.index[n] for n in self.nodes])
        return True

    def on_arrive(self, ctx, rows, t, p):
        g, st = ctx.groups, ctx.state
        rows = rows[st.eligible[g.cit[rows]]]
        if not len(rows) or st.pool.seats < 1:
            return
        want = binomial(g.size[rows], self.selected_share, ctx.uniform(t, g.key[rows], p))
        got = st.pool.take(g.key[rows], want)
        ctx.custody.remove(rows, got, g.node[rows], t, self.retry_share, self.retry_days, ctx.tag)


class DeportationCharters(Lever):
    """US charter removals to one country of people held under Title 8."""

    type: Literal["deportation_charters"]
    citizenship: str
    flights_per_month: NonNeg
    seats_per_flight: NonNeg
    retry_share: Share = 0.1
    retry_days: Positive = 180.0

    _c = field_validator("citizenship")(classmethod(lambda cls, v: citizenships([v])[0]))

    def init(self, ctx):
        seats = self.flights_per_month * self.seats_per_flight
        if seats <= 0:
            return False
        ctx.state.cit = CODE[self.citizenship]
        ctx.state.pool = ctx.seat_pool(seats * 12 / 365.25, max(seats, self.seats_per_flight))
        return True

    def on_encounter(self, ctx, batch, t):
        """People of this citizenship who would be released fill the charter's seats."""
        st = ctx.state
        sel = np.flatnonzero((batch.cit == st.cit) & (batch.counts[:, RELEASED] > 0))
        if len(sel) and st.pool.seats >= 1:
            got = st.pool.take(batch.keys[sel], batch.counts[sel, RELEASED])
            batch.divert(sel, got, ctx.tag, self.retry_share, self.retry_days)
