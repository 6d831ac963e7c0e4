"""How encounters are processed while a lever lasts: the border regimes."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.citizenship import CITIZENSHIPS
from sim.levers.base import Lever, citizenships
from sim.schema import NonNeg, Share


class ProcessingRegime(Lever):
    """How encounters are processed: Title 42 or Title 8, removal and retry rates, and
    the daily capacity of Field Operations (CBP One appointments)."""

    type: Literal["processing_regime"]
    title42: bool | None = Field(None, description="Title 42 in force (true) or not (false) while the lever lasts")
    removal_share: dict[str, Share] | None = Field(None, description="Title 8 removal share by citizenship (default key allowed)")
    expelled_retry: Share | None = None
    removed_retry: Share | None = None
    cbp_one_per_day: NonNeg | None = Field(None, description="people Field Operations processes a day; the rest wait at the port")

    @field_validator("removal_share")
    @classmethod
    def _rs(cls, v):
        if v is not None:
            citizenships([k for k in v if k != "default"])
        return v

    def init(self, ctx):
        sets = {}
        if self.title42 is not None:
            sets["title42"] = self.title42
        if self.removal_share is not None:
            base = ctx.regimes.removal_share.base
            d = self.removal_share.get("default")
            sets["removal_share"] = np.array([self.removal_share.get(c, d if d is not None else base[i])
                                              for i, c in enumerate(CITIZENSHIPS)])
        for name in ("expelled_retry", "removed_retry", "cbp_one_per_day"):
            if getattr(self, name) is not None:
                sets[name] = getattr(self, name)
        ctx.state.sets = sets
        return True

    def on_start(self, ctx):
        for name, value in ctx.state.sets.items():
            ctx.regimes[name].push(ctx.tag, value)

    def on_end(self, ctx):
        for name in ctx.state.sets:
            ctx.regimes[name].pop(ctx.tag)
