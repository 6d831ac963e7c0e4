"""Policy levers: dated scenario building blocks and what they do to the model.

Why one module: a researcher reads here what each lever means. Each lever is a
pydantic model (its YAML form, with ``type``, ``start`` and an optional ``end``) and an
``install(model)`` that schedules its start and end as Mesa events on the model's clock
(``RouteModel.at_day``), never ``if date ==`` checks in the daily step. Levers that set
a regime (Title 42, removal shares, a leg's access, a town's throttle) push an override
at their start and pop it at their end, so levers that overlap in time compose (the one
that started last wins while both last); levers with capacities (seats, appointments)
add up.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal, Union

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.citizenship import CITIZENSHIPS, CODE
from sim.schema import NonNeg, Positive, Share, Strict, check_citizenships

if TYPE_CHECKING:
    from sim.model import RouteModel

def _cits(v: list[str]) -> list[str]:
    return check_citizenships(v)


def _seat_pool(model: "RouteModel", per_day: float, cap: float, start: int, end: int, tag: str) -> dict:
    """Seats that refill by ``per_day`` before each day of [start, end), never above ``cap``."""
    pool = {"seats": 0.0}

    def refill():
        pool["seats"] = min(pool["seats"] + per_day, cap)

    model.every_day(refill, start, end, tag)
    return pool


class Lever(Strict):
    """Common to every lever: when it acts."""

    start: dt.date
    end: dt.date | None = Field(None, description="last day in force (inclusive); none = to the end")
    label: str = ""

    @model_validator(mode="after")
    def _order(self):
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self

    def nodes_used(self) -> list[tuple[str, str]]:
        """(field, node id) pairs to check against the network."""
        return []

    def tag(self, index: int) -> str:
        """Name of the lever's random stream and overrides: its type and label (or its
        place in the list), so adding another lever does not reshuffle this one's dice."""
        return f"{self.type}:{self.label}" if self.label else f"{self.type}/{index}"

    def legs_used(self) -> list[tuple[str, tuple[str, str]]]:
        return []

    def install(self, model: "RouteModel", index: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _span(self, model: "RouteModel") -> tuple[int, int]:
        """First and one-past-last day index of the lever in the run."""
        s = model.inputs.day_of(self.start)
        e = model.n_days if self.end is None else model.inputs.day_of(self.end) + 1
        return max(s, 0), min(e, model.n_days)


class PanamaRemovalFlights(Lever):
    """Removal flights from Panama: people passing a station are selected, up to the seats."""

    type: Literal["panama_removal_flights"]
    nodes: list[str] = Field(min_length=1, description="Panama stations or airports where people are selected")
    seats_per_week: NonNeg | None = None
    flights_per_week: NonNeg | None = None
    seats_per_flight: NonNeg | None = None
    citizenships: list[str] = Field(default_factory=list, description="eligible citizenships (empty = all)")
    selected_share: Share = Field(1.0, description="share of eligible people passing who are selected, seats permitting")
    retry_share: Share = Field(0.2, description="share of the removed who set out again")
    retry_days: Positive = Field(120.0, description="mean days at home before they do")

    _c = field_validator("citizenships")(classmethod(lambda cls, v: _cits(v)))

    @model_validator(mode="after")
    def _seats(self):
        per_flight = self.flights_per_week is not None or self.seats_per_flight is not None
        if (self.seats_per_week is None) == (not per_flight):
            raise ValueError("give seats_per_week, or flights_per_week and seats_per_flight")
        if per_flight and (self.flights_per_week is None or self.seats_per_flight is None):
            raise ValueError("flights_per_week and seats_per_flight go together")
        return self

    @property
    def weekly_seats(self) -> float:
        if self.seats_per_week is not None:
            return self.seats_per_week
        return self.flights_per_week * self.seats_per_flight

    def nodes_used(self):
        return [(f"nodes.{i}", n) for i, n in enumerate(self.nodes)]

    def install(self, model, index):
        s, e = self._span(model)
        if s >= e or self.weekly_seats <= 0 or self.selected_share <= 0:
            return  # a lever with nothing to act on draws no random numbers at all
        net = model.network
        nodes = [net.index[n] for n in self.nodes]
        eligible = np.zeros(len(CITIZENSHIPS), bool)
        eligible[[CODE[c] for c in self.citizenships] if self.citizenships else slice(None)] = True
        tag = self.tag(index)
        state = _seat_pool(model, self.weekly_seats / 7.0, self.weekly_seats, s, e, tag)

        def check(rows, t, p):
            g = model.groups
            rows = rows[eligible[g.cit[rows]]]
            if not len(rows) or state["seats"] < 1:
                return
            u = model.streams.uniform(tag, t, g.key[rows], p)
            want = model.binomial(g.size[rows], self.selected_share, u)
            got = model.take_capacity(rows, want, state, "seats")
            model.remove_people(rows, got, g.node[rows], t, self.retry_share, self.retry_days, tag)

        def on():
            for n in nodes:
                model.node_checks.setdefault(n, {})[tag] = check

        def off():
            for n in nodes:
                model.node_checks.get(n, {}).pop(tag, None)

        model.at_day(s, on)
        model.at_day(e, off)


class DeportationCharters(Lever):
    """US charter removals to one country of people held under Title 8."""

    type: Literal["deportation_charters"]
    citizenship: str
    flights_per_month: NonNeg
    seats_per_flight: NonNeg
    retry_share: Share = 0.1
    retry_days: Positive = 180.0

    _c = field_validator("citizenship")(classmethod(lambda cls, v: _cits([v])[0]))

    def install(self, model, index):
        s, e = self._span(model)
        seats = self.flights_per_month * self.seats_per_flight
        if s >= e or seats <= 0:
            return
        c = CODE[self.citizenship]
        tag = self.tag(index)
        state = _seat_pool(model, seats * 12 / 365.25, max(seats, self.seats_per_flight), s, e, tag)

        def on():
            model.charters[tag] = (c, state, self.retry_share, self.retry_days)

        def off():
            model.charters.pop(tag, None)

        model.at_day(s, on)
        model.at_day(e, off)


class VisaRegime(Lever):
    """Opens or closes legs (usually air legs) for one citizenship."""

    type: Literal["visa_regime"]
    citizenship: str
    legs: list[tuple[str, str]] = Field(min_length=1, description="[from, to] node ids of the legs")
    open: bool = Field(description="true: the citizenship may use the legs; false: it may not")

    _c = field_validator("citizenship")(classmethod(lambda cls, v: _cits([v])[0]))

    def legs_used(self):
        return [(f"legs.{i}", tuple(leg)) for i, leg in enumerate(self.legs)]

    def install(self, model, index):
        s, e = self._span(model)
        if s >= e:
            return
        edges = [model.network.edge_index[tuple(leg)] for leg in self.legs]
        c = CODE[self.citizenship]
        tag = self.tag(index)
        model.at_day(s, lambda: model.set_access(tag, c, edges, self.open))
        model.at_day(e, lambda: model.set_access(tag, c, edges, None))


class Closure(Lever):
    """Closes a place (every leg into it) or one leg, for some or all citizenships."""

    type: Literal["closure"]
    node: str | None = None
    leg: tuple[str, str] | None = None
    citizenships: list[str] = Field(default_factory=list)

    _c = field_validator("citizenships")(classmethod(lambda cls, v: _cits(v)))

    @model_validator(mode="after")
    def _one(self):
        if (self.node is None) == (self.leg is None):
            raise ValueError("give exactly one of node or leg")
        return self

    def nodes_used(self):
        return [("node", self.node)] if self.node else []

    def legs_used(self):
        return [("leg", tuple(self.leg))] if self.leg else []

    def install(self, model, index):
        s, e = self._span(model)
        if s >= e:
            return
        net = model.network
        edges = (list(np.flatnonzero(net.dst == net.index[self.node])) if self.node
                 else [net.edge_index[tuple(self.leg)]])
        cits = [CODE[c] for c in self.citizenships] or list(range(len(CITIZENSHIPS)))
        tag = self.tag(index)
        model.at_day(s, lambda: model.set_closed(tag, cits, edges, True))
        model.at_day(e, lambda: model.set_closed(tag, cits, edges, False))


class Enforcement(Lever):
    """Checks at a place: people caught there are sent back (e.g. bused south) or removed;
    a throttle on the place's daily chance of leaving (e.g. Panama's controlled flow)."""

    type: Literal["enforcement"]
    node: str
    interdiction_share: Share = Field(0.0, description="chance that each person arriving is caught")
    action: Literal["return_to", "remove"] = "remove"
    return_to: str | None = Field(None, description="where the caught are taken, with action return_to")
    citizenships: list[str] = Field(default_factory=list)
    move_chance: Share | None = Field(None, description="the place's daily chance of leaving while in force")
    retry_share: Share = 0.3
    retry_days: Positive = 60.0

    _c = field_validator("citizenships")(classmethod(lambda cls, v: _cits(v)))

    @model_validator(mode="after")
    def _target(self):
        if self.action == "return_to" and not self.return_to:
            raise ValueError("action return_to needs return_to: a node")
        return self

    def nodes_used(self):
        out = [("node", self.node)]
        if self.return_to:
            out.append(("return_to", self.return_to))
        return out

    def install(self, model, index):
        s, e = self._span(model)
        if s >= e:
            return
        net = model.network
        node = net.index[self.node]
        tag = self.tag(index)
        eligible = np.zeros(len(CITIZENSHIPS), bool)
        eligible[[CODE[c] for c in self.citizenships] if self.citizenships else slice(None)] = True
        back = net.index[self.return_to] if self.return_to else -1

        def check(rows, t, p):
            g = model.groups
            rows = rows[eligible[g.cit[rows]]]
            if not len(rows):
                return
            u = model.streams.uniform(tag, t, g.key[rows], p)
            caught = model.binomial(g.size[rows], self.interdiction_share, u)
            if self.action == "remove":
                model.remove_people(rows, caught, g.node[rows], t, self.retry_share, self.retry_days, tag)
            else:
                model.send_back(rows, caught, back, t, tag)

        def on():
            if self.interdiction_share > 0:
                model.node_checks.setdefault(node, {})[tag] = check
            if self.move_chance is not None:
                model.push(f"move_chance:{node}", tag, self.move_chance)

        def off():
            model.node_checks.get(node, {}).pop(tag, None)
            model.pop(f"move_chance:{node}", tag)

        model.at_day(s, on)
        model.at_day(e, off)


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
            _cits([k for k in v if k != "default"])
        return v

    def install(self, model, index):
        s, e = self._span(model)
        if s >= e:
            return
        tag = self.tag(index)
        sets = {}
        if self.title42 is not None:
            sets["title42"] = self.title42
        if self.removal_share is not None:
            base = model.removal_share_base.copy()
            d = self.removal_share.get("default")
            arr = np.array([self.removal_share.get(c, d if d is not None else base[i])
                            for i, c in enumerate(CITIZENSHIPS)])
            sets["removal_share"] = arr
        if self.expelled_retry is not None:
            sets["expelled_retry"] = self.expelled_retry
        if self.removed_retry is not None:
            sets["removed_retry"] = self.removed_retry
        if self.cbp_one_per_day is not None:
            sets["cbp_one_per_day"] = self.cbp_one_per_day

        def on():
            for k, v in sets.items():
                model.push(k, tag, v)

        def off():
            for k in sets:
                model.pop(k, tag)

        model.at_day(s, on)
        model.at_day(e, off)


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

    def install(self, model, index):
        s, e = self._span(model)
        if s >= e or self.strength <= 0:
            return
        tag = self.tag(index)
        ref = {}

        def perceived(t):
            hi = max(t - self.delay_days, 0)
            lo = max(hi - self.window_days, 0)
            enc = model.tally_enc[lo:hi].sum(axis=0)
            rem = model.tally_rem[lo:hi].sum(axis=0)
            arr = model.tally_node_arr[lo:hi].sum(axis=0)
            nrem = model.tally_node_rem[lo:hi].sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                return (np.where(enc > 0, rem / np.maximum(enc, 1), 0.0),
                        np.where(arr > 0, nrem / np.maximum(arr, 1), 0.0))

        def update():
            t = model.day
            r_cit, r_node = perceived(t)
            if "cit" not in ref:
                ref["cit"], ref["node"] = r_cit, r_node
            model.departure_factor = np.exp(-self.strength * np.maximum(r_cit - ref["cit"], 0.0))
            pen = np.exp(-self.strength * np.maximum(r_node - ref["node"], 0.0))
            if not np.allclose(pen, model.node_penalty):
                model.node_penalty = pen
                model.refresh_route_weights()

        def off():
            model.departure_factor = np.ones(len(CITIZENSHIPS))
            model.node_penalty = np.ones(model.network.n_nodes)
            model.refresh_route_weights()

        model.every_day(update, s, e, tag)
        model.at_day(e, off)


LeverSpec = Annotated[
    Union[PanamaRemovalFlights, DeportationCharters, VisaRegime, Closure, Enforcement, ProcessingRegime, Deterrence],
    Field(discriminator="type"),
]
LEVER_TYPES = ("panama_removal_flights", "deportation_charters", "visa_regime", "closure",
               "enforcement", "processing_regime", "deterrence")
