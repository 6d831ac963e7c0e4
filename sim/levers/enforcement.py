"""Enforcement on the way: checks at a place, and throttles on leaving it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.engine.custody import binomial
from sim.levers.base import Lever, citizenships
from sim.schema import Positive, Share


class Enforcement(Lever):
    """Checks at a place, or at several (``nodes``: one country's checkpoints on the routes
    north, with one interdiction share): people caught there are sent back (e.g. bused
    south) or removed; a throttle on the places' daily chance of leaving (e.g. Panama's
    controlled flow)."""

    type: Literal["enforcement"]
    node: str | None = Field(None, description="the place (or give nodes)")
    nodes: list[str] = Field(default_factory=list, description="the places, instead of node")
    interdiction_share: Share = Field(0.0, description="chance that each person arriving is caught")
    action: Literal["return_to", "remove"] = "remove"
    return_to: str | None = Field(None, description="where the caught are taken, with action return_to")
    citizenships: list[str] = Field(default_factory=list)
    move_chance: Share | None = Field(None, description="the place's daily chance of leaving while in force")
    retry_share: Share = 0.3
    retry_days: Positive = 60.0

    _c = field_validator("citizenships")(classmethod(lambda cls, v: citizenships(v)))

    @model_validator(mode="after")
    def _target(self):
        if (self.node is None) == (not self.nodes):
            raise ValueError("give node (one place) or nodes (a list), not both")
        if self.action == "return_to" and not self.return_to:
            raise ValueError("action return_to needs return_to: a node")
        return self

    def places(self) -> list[str]:
        return [self.node] if self.node is not None else list(self.nodes)

    def nodes_used(self):
        out = [("node", self.node)] if self.node is not None else [(f"nodes.{i}", n) for i, n in enumerate(self.nodes)]
        if self.return_to:
            out.append(("return_to", self.return_to))
        return out

    def init(self, ctx):
        net = ctx.network
        st = ctx.state
        st.nodes = [net.index[n] for n in self.places()]
        st.eligible = ctx.eligible(self.citizenships)
        st.back = net.index[self.return_to] if self.return_to else -1
        if self.interdiction_share > 0:
            ctx.watch(st.nodes)
        return True

    def on_start(self, ctx):
        if self.move_chance is not None:
            for node in ctx.state.nodes:
                ctx.node_regime.push(node, ctx.tag, self.move_chance)

    def on_end(self, ctx):
        for node in ctx.state.nodes:
            ctx.node_regime.pop(node, ctx.tag)

    def on_arrive(self, ctx, rows, t, p):
        g, st = ctx.groups, ctx.state
        rows = rows[st.eligible[g.cit[rows]]]
        if not len(rows):
            return
        caught = binomial(g.size[rows], self.interdiction_share, ctx.uniform(t, g.key[rows], p))
        if self.action == "remove":
            ctx.custody.remove(rows, caught, g.node[rows], t, self.retry_share, self.retry_days, ctx.tag)
        else:
            ctx.custody.send_back(rows, caught, st.back, t, ctx.tag)
