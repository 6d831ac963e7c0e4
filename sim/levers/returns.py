"""Title 42 returns to Mexico of citizenships Mexico agrees to take back."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.citizenship import CITIZENSHIPS
from sim.engine.border import EXPELLED_HOME, EXPELLED_RETRY
from sim.levers.base import Lever, citizenships
from sim.schema import NonNeg, Share


class Title42Returns(Lever):
    """While Title 42 is in force, encounters of these citizenships may be expelled to
    Mexico (Mexico accepting their return: Venezuelans from 2022-10-12; Cubans, Haitians
    and Nicaraguans from 2023-01-05).

    Facts only: the citizenships, the start, Mexico's ``monthly_cap`` on such returns,
    and, where CBP's authority split shows it, the share of each citizenship's encounters
    returned while the lever lasted (``returns_share``: Mexico took back about 0.7 of the
    Venezuelans' encounters in November-December 2022 but 0.27 of theirs and 0.01 of the
    Haitians', who came to the ports, in February-April 2023). A citizenship it does not
    name has the scenario's ``border.returns_share``. The share of the returned who try
    again is ``border.returned_retry`` (shared by every such lever; a return to Mexico,
    far from home, need not be retried like a Mexican's expulsion across the border). The
    rule is announced on its first day: people of these citizenships hear what it means
    for them (``behaviour.beliefs``).
    """

    type: Literal["title42_returns"]
    citizenships: list[str] = Field(min_length=1)
    monthly_cap: NonNeg | None = Field(None, description="returns Mexico accepts a month, across these citizenships")
    returns_share: dict[str, Share] | None = Field(None, description=(
        "share of each citizenship's encounters returned (CBP's authority split over the lever's months); "
        "a citizenship not named has border.returns_share"))

    _c = field_validator("citizenships")(classmethod(lambda cls, v: citizenships(v)))

    @model_validator(mode="after")
    def _shares_of_its_citizenships(self):
        if self.returns_share:
            citizenships(list(self.returns_share))
            other = sorted(set(self.returns_share) - set(self.citizenships))
            if other:
                raise ValueError(f"returns_share names {', '.join(other)}, not among the lever's citizenships")
        return self

    def init(self, ctx):
        st = ctx.state
        st.cits = np.flatnonzero(ctx.eligible(self.citizenships))
        st.pool = ctx.seat_pool(self.monthly_cap * 12 / 365.25, self.monthly_cap) if self.monthly_cap is not None else None
        return True

    def on_start(self, ctx):
        b = ctx.model.spec.border
        by = self.returns_share or {}
        for c in ctx.state.cits:
            share = by.get(CITIZENSHIPS[c], b.returns_share)
            ctx.regimes.expel_share.push(int(c), ctx.tag, max(share, float(ctx.regimes.expel_share.base[c])))
            if b.returned_retry is not None:
                ctx.regimes.returned_retry.push(int(c), ctx.tag, b.returned_retry)
        ctx.border.announce()

    def on_end(self, ctx):
        for c in ctx.state.cits:
            ctx.regimes.expel_share.pop(int(c), ctx.tag)
            ctx.regimes.returned_retry.pop(int(c), ctx.tag)
        ctx.border.announce()

    def on_encounter(self, ctx, batch, t):
        """Beyond Mexico's cap, those who would be returned are released instead."""
        pool = ctx.state.pool
        if pool is None:
            return
        sel = np.flatnonzero(np.isin(batch.cit, ctx.state.cits))
        if not len(sel):
            return
        expelled = batch.counts[sel, EXPELLED_RETRY] + batch.counts[sel, EXPELLED_HOME]
        got = pool.take(batch.keys[sel], expelled)
        batch.release_instead(sel, expelled - got)
