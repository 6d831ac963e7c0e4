"""Deterrence: departures and route choices respond to the removal risk people perceive."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from sim.levers.base import Lever
from sim.schema import NonNeg


class Deterrence(Lever):
    """Departures and route choices respond to the removal risk people perceive.

    Perceived risk is learnt with a delay: the share of a citizenship's encounters that
    ended in removal (and, for a place, the share of people arriving there who were
    removed) over ``window_days`` ending ``delay_days`` ago. Departures of a citizenship
    are multiplied by exp(-strength * rise in its perceived risk since the lever
    started); legs into a place are weighted by exp(-strength * its perceived risk).
    So a removal programme changes future flows, not only the people it removes.
    ``strength: 0`` switches it off.
    """

    type: Literal["deterrence"]
    strength: NonNeg = 5.0
    delay_days: Annotated[int, Field(ge=0)] = 30
    window_days: Annotated[int, Field(ge=1)] = 60

    def init(self, ctx):
        if self.strength <= 0:
            return False
        ctx.state.ref = None
        ctx.state.factor = None
        return True

    def _perceived(self, ctx, t):
        tal = ctx.tallies
        hi = max(t - self.delay_days, 0)
        lo = max(hi - self.window_days, 0)
        enc = tal.encounters[lo:hi].sum(axis=0)
        rem = tal.removals[lo:hi].sum(axis=0)
        arr = tal.arrivals_at[lo:hi].sum(axis=0)
        nrem = tal.removals_at[lo:hi].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.where(enc > 0, rem / np.maximum(enc, 1), 0.0),
                    np.where(arr > 0, nrem / np.maximum(arr, 1), 0.0))

    def on_day(self, ctx, t):
        st = ctx.state
        r_cit, r_node = self._perceived(ctx, t)
        if st.ref is None:
            st.ref = (r_cit, r_node)
        st.factor = np.exp(-self.strength * np.maximum(r_cit - st.ref[0], 0.0))
        pen = np.exp(-self.strength * np.maximum(r_node - st.ref[1], 0.0))
        if not np.allclose(pen, ctx.router.penalty):
            ctx.router.set_penalty(ctx.tag, pen)

    def departure_factor(self, ctx, t):
        return ctx.state.factor

    def on_end(self, ctx):
        ctx.router.set_penalty(ctx.tag, None)
