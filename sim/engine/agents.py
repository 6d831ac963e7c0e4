"""MigrantGroup: the Mesa agent of a group of people travelling together.

Why so thin: the model updates every group at once in arrays (``sim.groups``); the
agent is the group's identity and the way to inspect it (``group.size``,
``group.position``...), reading its row of the table as Mesa's own continuous-space
agents read their position from a shared array. A group that splits (members who
choose different legs, are removed, or die) gives rise to new agents whose ``parent``
is this one.
"""

from __future__ import annotations

import mesa

from sim.citizenship import CITIZENSHIPS
from sim.engine.groups import FATES, STATUS_NAMES


class MigrantGroup(mesa.Agent):
    """A family or travelling party: a size, a citizenship, money and a position."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = int(row)

    @property
    def _t(self):
        return self.model.groups

    @property
    def size(self) -> int:
        return int(self._t.size[self.row])

    @property
    def citizenship(self) -> str:
        return CITIZENSHIPS[self._t.cit[self.row]]

    @property
    def money(self) -> float:
        """USD per person."""
        return float(self._t.money[self.row])

    @property
    def status(self) -> str:
        return STATUS_NAMES[int(self._t.status[self.row])]

    @property
    def held(self) -> bool:
        """Held in a town by a fall of its citizenship's belief (``behaviour.on_the_way``)."""
        return bool(self._t.held[self.row])

    @property
    def fate(self) -> str:
        return FATES[int(self._t.fate[self.row])]

    @property
    def days_travelling(self) -> int:
        return int(self._t.days_travelling[self.row])

    @property
    def parent(self) -> "MigrantGroup | None":
        p = int(self._t.parent[self.row])
        return self.model.group_agent(p) if p >= 0 else None

    @property
    def position(self) -> dict:
        """Node id, or the leg (from, to) and the share of it already covered."""
        net = self.model.network
        e = int(self._t.edge[self.row])
        if e < 0:  # a visa holders' twin of an origin is that origin (Network.public_node)
            return {"node": net.ids[net.public_node[self._t.node[self.row]]]}
        days = net.days[e]
        done = 1.0 - self._t.remaining[self.row] / days if days > 0 else 1.0
        return {"edge": (net.ids[net.src[e]], net.ids[net.dst[e]]), "covered": round(float(done), 3)}

    def __repr__(self) -> str:
        return (f"MigrantGroup(id={self.unique_id}, {self.citizenship}, size={self.size}, "
                f"{self.status}, {self.position})")
