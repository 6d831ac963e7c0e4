"""How encounters are processed while a lever lasts (the border regimes), and news of
a rule that is not in force (what people believe without anything processed under it)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.citizenship import CITIZENSHIPS
from sim.levers.base import Lever, citizenships
from sim.schema import NonNeg, Share


def _known_keys(by: dict | None) -> dict | None:
    """Validator: a share by citizenship names known citizenships (or ``default``)."""
    if by is not None:
        citizenships([k for k in by if k != "default"])
    return by


def regime_values(lever, regimes) -> dict:
    """The regime values a lever's fields set (``title42``, removal shares per citizenship,
    retry rates, ``cbp_one_per_day``), for ``Regimes.push`` under the lever's tag. A share
    by citizenship without ``default`` keeps the base for the citizenships it omits. A
    null share (news only: ``AnnouncedRule``) is NaN: nothing announced for that
    citizenship, whose rules in force hold (``Border`` fills it when it reads the news)."""
    sets = {}
    if getattr(lever, "title42", None) is not None:
        sets["title42"] = lever.title42
    for name in ("removal_share", "port_removal_share"):
        by = getattr(lever, name, None)
        if by is not None:
            base = regimes[name].base
            vals = [by[c] if c in by else by["default"] if "default" in by else base[i]
                    for i, c in enumerate(CITIZENSHIPS)]
            sets[name] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    by = getattr(lever, "expel_share", None)  # news only: a citizenship it omits hears nothing new
    if by is not None:
        vals = [by.get(c, by.get("default")) for c in CITIZENSHIPS]
        sets["expel_share"] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    for name in ("expelled_retry", "removed_retry", "cbp_one_per_day"):
        if getattr(lever, name, None) is not None:
            sets[name] = getattr(lever, name)
    return sets


class ProcessingRegime(Lever):
    """How encounters are processed: Title 42 or Title 8, removal and retry rates, and
    the daily capacity of Field Operations (CBP One appointments, for the whole
    population: a sampled run gets its share). The rule is announced on its first day
    and on its last: people hear what it means for them (``behaviour.beliefs``)."""

    type: Literal["processing_regime"]
    title42: bool | None = Field(None, description="Title 42 in force (true) or not (false) while the lever lasts")
    removal_share: dict[str, Share] | None = Field(None, description=(
        "Title 8 removal share between ports, by citizenship (default key allowed)"))
    port_removal_share: dict[str, Share] | None = Field(None, description=(
        "Title 8 removal share at ports of entry, by citizenship (default key allowed)"))
    expelled_retry: Share | None = None
    removed_retry: Share | None = None
    cbp_one_per_day: NonNeg | None = Field(None, description=(
        "people the ports of entry process a day (CBP One appointments and walk-ups); the rest wait at the port"))
    lifted_below: NonNeg | None = Field(None, description=(
        "suspension threshold: the regime lifts once the mean of encounters between ports over the last "
        "window_days falls below this (people a day, whole population); none = in force throughout"))
    in_force_above: NonNeg | None = Field(None, description=(
        "once lifted, the regime applies again when that mean rises above this (people a day)"))
    window_days: Annotated[int, Field(ge=1, le=60)] = Field(7, description="days of the mean the thresholds read")
    lift_delay_days: Annotated[int, Field(ge=0, le=90)] = Field(14, description=(
        "days between the mean falling below lifted_below and the regime lifting"))

    @model_validator(mode="after")
    def _thresholds(self):
        if self.in_force_above is not None and self.lifted_below is None:
            raise ValueError("in_force_above needs lifted_below (the threshold that lifts the regime)")
        if self.lifted_below is not None and self.in_force_above is not None and self.in_force_above < self.lifted_below:
            raise ValueError("in_force_above must not be below lifted_below")
        return self

    _rs = field_validator("removal_share", "port_removal_share")(classmethod(lambda cls, v: _known_keys(v)))

    def init(self, ctx):
        ctx.state.sets = regime_values(self, ctx.regimes)
        return True

    def on_start(self, ctx):
        ctx.state.applied, ctx.state.below_since = False, None
        self._apply(ctx)

    def on_day(self, ctx, t):
        """The suspension threshold (a proclamation's): the mean of encounters between ports
        over the last window_days, whole population, against lifted_below and in_force_above."""
        if self.lifted_below is None or t < self.window_days:
            return
        st = ctx.state
        mean = float(ctx.tallies.between_ports[t - self.window_days:t].mean()) / ctx.model.scale
        if st.applied:
            st.below_since = (st.below_since if st.below_since is not None else t) if mean < self.lifted_below else None
            if st.below_since is not None and t - st.below_since >= self.lift_delay_days:
                self._remove(ctx)
        elif self.in_force_above is not None and mean > self.in_force_above:
            self._apply(ctx)

    def on_end(self, ctx):
        self._remove(ctx)

    def _apply(self, ctx):
        for name, value in ctx.state.sets.items():
            ctx.regimes[name].push(ctx.tag, value)
        ctx.state.applied, ctx.state.below_since = True, None
        ctx.border.announce()

    def _remove(self, ctx):
        if not ctx.state.applied:
            return
        for name in ctx.state.sets:
            ctx.regimes[name].pop(ctx.tag)
        ctx.state.applied = False
        ctx.border.announce()


class AnnouncedRule(Lever):
    """News of a rule that is not in force: from ``start`` to ``end`` the share who hear
    (``behaviour.beliefs.heard_share``) believe the outcomes the rule would bring, while
    encounters are processed as before. For a court ruling that a policy will end
    (Title 42's vacatur of 2022-11-15, stayed on 2022-12-27) or an end date announced
    months ahead (Title 42's end, announced 2023-01-30 for 2023-05-11). At its end people
    hear the rules in force again. Meanwhile beliefs keep learning from co-nationals'
    outcomes (``behaviour.beliefs.learning_rate``), so news the outcomes do not bear out
    fades. News composes: rules announced and not yet ended are believed together, the
    latest announced winning where they overlap. Facts only: dates and the rule.

    A rule announced for a later date (``effective``) matters to those who will arrive
    after it: a citizenship's decisions take the news into account from that date minus
    its journey (the mean days on the way of its co-nationals encountered in the
    ``JOURNEY_WINDOW`` days before the announcement, from the run itself), and never
    before ``start``. Mexicans, days from the border, hear Title 42's end near its day;
    Venezuelans, a month or more away over the Darién, weeks earlier. Until then those
    waiting at home who heard of it weigh it against going now, and until its day so do
    those held on the way, days from the border (``behaviour.waiting.hurry``): a worse
    rule to come makes them go before it."""

    JOURNEY_WINDOW: ClassVar[int] = 91  # days of encounters a citizenship's journey is measured over

    type: Literal["announced_rule"]
    title42: bool | None = Field(None, description="Title 42 announced to be in force (true) or ended (false)")
    removal_share: dict[str, Share | None] | None = Field(None, description=(
        "announced Title 8 removal share between ports, by citizenship (default key allowed); "
        "null: the rule says nothing new for that citizenship (a rule that does not cover it)"))
    expel_share: dict[str, Share | None] | None = Field(None, description=(
        "announced share of encounters between ports expelled while Title 42 is in force (to Mexico or home), "
        "by citizenship (default key allowed); a citizenship it omits, or null, hears nothing new"))
    expelled_retry: Share | None = None
    removed_retry: Share | None = None
    effective: dt.date | None = Field(None, description=(
        "the day the announced rule is to take effect: each citizenship hears it a journey ahead of that day "
        "(its co-nationals' mean days on the way), not before start; none: every citizenship from start"))

    _rs = field_validator("removal_share", "expel_share")(classmethod(lambda cls, v: _known_keys(v)))

    @field_validator("effective")
    @classmethod
    def _after_start(cls, v, info: ValidationInfo):
        start = info.data.get("start")
        if v is not None and start is not None and v <= start:
            raise ValueError(f"must be after start ({start}): the day the announced rule takes effect")
        return v

    @model_validator(mode="after")
    def _something(self):
        if self.title42 is None and self.removal_share is None and self.expel_share is None \
                and self.expelled_retry is None and self.removed_retry is None:
            raise ValueError("announces nothing: give title42, removal_share, expel_share, expelled_retry or "
                             "removed_retry")
        return self

    def init(self, ctx):
        ctx.state.sets = regime_values(self, ctx.regimes)
        return True

    def on_start(self, ctx):
        if self.effective is None:
            ctx.border.hear_news(ctx.tag, ctx.state.sets)
            return
        st, tal, t0 = ctx.state, ctx.tallies, ctx.start
        lo = max(t0 - self.JOURNEY_WINDOW, 0)
        enc, days = tal.encounters[lo:t0].sum(axis=0), tal.journey_days[lo:t0].sum(axis=0)
        journey = np.where(enc > 0, days / np.maximum(enc, 1e-12), 0.0)
        st.effective_day = ctx.model.inputs.day_of(self.effective)
        st.hear_day = np.maximum(st.effective_day - np.rint(journey), t0)
        st.heard = np.zeros(len(CITIZENSHIPS), bool)
        st.ahead = True  # the rule is still to come (until its day)
        ctx.border.expect_news(ctx.tag, st.sets, home=~st.heard, day=st.effective_day)
        self.on_day(ctx, t0)

    def on_day(self, ctx, t):
        st = ctx.state
        if self.effective is None or not st.ahead:
            return
        due = st.hear_day <= t
        if (due & ~st.heard).any():
            st.heard = due
            ctx.border.hear_news(ctx.tag, st.sets, heard=due)
            ctx.border.expect_news(ctx.tag, st.sets, home=~due, day=st.effective_day)
        if t >= st.effective_day:
            st.ahead = False
            ctx.border.expect_news(ctx.tag, None)

    def on_end(self, ctx):
        ctx.border.hear_news(ctx.tag, None)
        ctx.border.expect_news(ctx.tag, None)
