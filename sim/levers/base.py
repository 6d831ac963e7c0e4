"""What every policy lever has: when it acts, how it is named, and its hooks.

A lever is a pydantic model (its YAML form: ``type``, ``start``, an optional ``end``, a
``label``, and its own fields) whose methods are the hooks of ``sim.engine.hooks``.
The validated lever holds only the scenario's facts; what it needs while a model runs
(its seat pool, the places it watches, what it has learnt) lives in its context
``ctx.state``, one per model, so the same scenario can run many models at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from sim.schema import Strict, check_citizenships

if TYPE_CHECKING:
    from sim.engine.hooks import LeverContext


def citizenships(v: list[str]) -> list[str]:
    """Validator: every label one CBP uses."""
    return check_citizenships(v)


class Lever(Strict):
    """Common to every lever: when it acts, and hooks that do nothing until overridden."""

    start: dt.date
    end: dt.date | None = Field(None, description="last day in force (inclusive); none = to the end")
    label: str = ""

    @model_validator(mode="after")
    def _order(self):
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self

    def tag(self, index: int) -> str:
        """Name of the lever's random stream and overrides: its type and label (or its
        place in the list), so adding another lever does not reshuffle this one's dice."""
        return f"{self.type}:{self.label}" if self.label else f"{self.type}/{index}"

    def nodes_used(self) -> list[tuple[str, str]]:
        """(field, node id) pairs to check against the network."""
        return []

    def legs_used(self) -> list[tuple[str, tuple[str, str]]]:
        """(field, (from, to)) pairs to check against the network."""
        return []

    # -- hooks (see sim.engine.hooks for when each runs)
    def init(self, ctx: "LeverContext") -> bool:
        """Prepare (resolve places, create seat pools, ``ctx.watch``); False = nothing to do."""
        return True

    def on_start(self, ctx: "LeverContext") -> None:
        pass

    def on_day(self, ctx: "LeverContext", t: int) -> None:
        pass

    def departure_factor(self, ctx: "LeverContext", t: int) -> np.ndarray | None:
        return None

    def on_arrive(self, ctx: "LeverContext", rows: np.ndarray, t: int, p: int) -> None:
        pass

    def on_encounter(self, ctx: "LeverContext", batch, t: int) -> None:
        pass

    def on_end(self, ctx: "LeverContext") -> None:
        pass
