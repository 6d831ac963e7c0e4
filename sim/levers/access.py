"""Access levers: which legs a citizenship may use (visas) and which are shut (closures).

Both act only through the model's ``Access`` service; every change recomputes the
route weights once (the cost to the border of every place changes with it), so people
choose another way when a leg closes.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.citizenship import CITIZENSHIPS, CODE
from sim.levers.base import Lever, citizenships


class VisaRegime(Lever):
    """Opens or closes legs (usually air legs) for one citizenship."""

    type: Literal["visa_regime"]
    citizenship: str
    legs: list[tuple[str, str]] = Field(min_length=1, description="[from, to] node ids of the legs")
    open: bool = Field(description="true: the citizenship may use the legs; false: it may not")
    holders_exempt: bool = Field(False, description=(
        "true: the citizenship's visa holders (a share departures.visa_holders of those setting out) keep the "
        "legs, as Mexico admits holders of a valid US visa without its own; false: the lever binds them too "
        "(a cancelled charter, a visa no other document replaces)"))

    _c = field_validator("citizenship")(classmethod(lambda cls, v: citizenships([v])[0]))

    def legs_used(self):
        return [(f"legs.{i}", tuple(leg)) for i, leg in enumerate(self.legs)]

    def init(self, ctx):
        net = ctx.network
        ctx.state.edges = [e for leg in self.legs for e in net.leg_edges(tuple(leg), holders=not self.holders_exempt)]
        return True

    def on_start(self, ctx):
        ctx.access.set(ctx.tag, CODE[self.citizenship], ctx.state.edges, self.open)

    def on_end(self, ctx):
        ctx.access.clear(ctx.tag)


class Closure(Lever):
    """Closes a place (every leg into it) or one leg, for some or all citizenships."""

    type: Literal["closure"]
    node: str | None = None
    leg: tuple[str, str] | None = None
    citizenships: list[str] = Field(default_factory=list)

    _c = field_validator("citizenships")(classmethod(lambda cls, v: citizenships(v)))

    @model_validator(mode="after")
    def _one(self):
        if (self.node is None) == (self.leg is None):
            raise ValueError("give exactly one of node or leg")
        return self

    def nodes_used(self):
        return [("node", self.node)] if self.node else []

    def legs_used(self):
        return [("leg", tuple(self.leg))] if self.leg else []

    def init(self, ctx):
        net = ctx.network
        ctx.state.edges = (list(np.flatnonzero(net.dst == net.index[self.node])) if self.node
                           else net.leg_edges(tuple(self.leg)))
        ctx.state.cits = [CODE[c] for c in self.citizenships] or list(range(len(CITIZENSHIPS)))
        return True

    def on_start(self, ctx):
        ctx.access.close(ctx.tag, ctx.state.cits, ctx.state.edges)

    def on_end(self, ctx):
        ctx.access.clear(ctx.tag)
