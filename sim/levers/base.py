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
from pydantic import Field, PrivateAttr, model_validator

from sim.schema import Prior, Strict, check_citizenships

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
    uncertain: dict[str, Prior] = Field(default_factory=dict, description=(
        "a stated prior for a numeric field whose size is not known (e.g. seats_per_flight: {low: 20, high: 60}; "
        "an entry of a field by citizenship as removal_share.default): "
        "runs with --posterior-draws draw it; others use the field's value"))
    _origin: list | None = PrivateAttr(None)  # [file, index] where the lever was written (error messages)

    def field_error(self, path, index: int, field: str, message: str):
        """An InputError naming this lever's field where the lever was written."""
        from sim.errors import InputError

        file, i = self._origin if self._origin else (path, index)
        return InputError(file, f"policies.{i}.{field}", message)

    @model_validator(mode="after")
    def _order(self):
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        for name in self.uncertain:
            # a field, or one entry of a field by citizenship (``removal_share.default``)
            head, _, key = name.partition(".")
            value = getattr(self, head, None) if head in type(self).model_fields else None
            if key:
                value = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
            if head in ("start", "end", "label", "type", "uncertain") or isinstance(value, bool) \
                    or not isinstance(value, (int, float)):
                raise ValueError(f"uncertain: {name!r} is not a numeric field of this lever that has a value")
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

    def departure_factor(self, ctx: "LeverContext", t: int, expected: np.ndarray) -> np.ndarray | None:
        """A factor per citizenship on today's departures (``expected``: today's expected
        departures per citizenship before the levers' factors)."""
        return None

    def on_arrive(self, ctx: "LeverContext", rows: np.ndarray, t: int, p: int) -> None:
        pass

    def on_encounter(self, ctx: "LeverContext", batch, t: int) -> None:
        pass

    def on_end(self, ctx: "LeverContext") -> None:
        pass
