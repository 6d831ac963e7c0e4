"""Pathways around the border: parole by air for eligible citizenships."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.levers.base import Lever, citizenships
from sim.schema import NonNeg


class ParolePathway(Lever):
    """A parole process (US CBP/DHS): people of eligible citizenships with a sponsor fly in
    instead of crossing the land border (crossing forfeits eligibility).

    Facts only: the eligible citizenships, the start, and the caps (``monthly_cap`` travel
    authorisations a month shared by the citizenships, refilled day by day, and/or
    ``total_cap`` over the lever's life, all open from its first day). Who has a sponsor is the shared ``behaviour.parole.sponsor_share``: that share
    of the day's would-be migrants of an eligible citizenship joins the queue for a slot
    instead of setting out; slots (refilled at the monthly rate) are given to the queues
    in proportion to their length and counted as ``paroled``.
    """

    type: Literal["parole_pathway"]
    citizenships: list[str] = Field(min_length=1, description="eligible citizenships")
    monthly_cap: NonNeg | None = Field(None, description="travel authorisations a month, shared by the citizenships")
    total_cap: NonNeg | None = Field(None, description="travel authorisations over the lever's life")

    _c = field_validator("citizenships")(classmethod(lambda cls, v: citizenships(v)))

    @model_validator(mode="after")
    def _caps(self):
        if self.monthly_cap is None and self.total_cap is None:
            raise ValueError("give monthly_cap, total_cap or both")
        return self

    def init(self, ctx):
        st = ctx.state
        st.eligible = ctx.eligible(self.citizenships)
        st.queue = np.zeros(len(st.eligible))
        if self.monthly_cap is not None:
            st.pool = ctx.seat_pool(self.monthly_cap * 12 / 365.25, self.monthly_cap)
        else:  # a total only: every slot there will ever be, from the first day
            st.pool = ctx.seat_pool(0.0, self.total_cap)
            st.pool.seats = st.pool.cap
        st.left = np.inf if self.total_cap is None else self.total_cap * ctx.scale
        st.origin = ctx.model.departures.main_origin()
        return True

    def departure_factor(self, ctx, t, expected):
        st = ctx.state
        share = ctx.behaviour.spec.parole.sponsor_share
        st.queue += np.where(st.eligible, share * expected, 0.0)
        waiting = st.queue.sum()
        if waiting > 0 and st.pool.seats > 0 and st.left > 0:
            slots = min(st.pool.seats, waiting, st.left)
            paroled = st.queue * (slots / waiting)
            st.queue -= paroled
            st.pool.seats -= slots
            st.left -= slots
            cit = np.flatnonzero(paroled > 0)
            ctx.model.books.record("paroled", cit, st.origin[cit], paroled[cit])
        return np.where(st.eligible, 1.0 - share, 1.0)
