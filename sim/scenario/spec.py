"""The scenario schema: what a scenario file may say, checked by pydantic v2.

Why: a scenario is the researcher's whole experiment in one readable file, so the
schema forbids unknown keys (a typo must not silently fall back to a default), checks
types and ranges, and names the field of the first problem. Reading files, ``extends``
and cross-checks against the data files live in ``sim.scenario.files`` and
``sim.scenario.inputs``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.levers import LeverSpec
from sim.schema import NonNeg, Positive, Share, Strict, check_citizenships


def _check_labels(d: dict[str, Any], allow_default: bool = True) -> dict[str, Any]:
    check_citizenships(d, allow_default)
    return d


class ByCitizenship(Strict):
    """A value per citizenship with a ``default`` for the others."""

    default: float = 0.0
    values: dict[str, float] = Field(default_factory=dict)

    def get(self, label: str) -> float:
        return self.values.get(label, self.default)


def _by_cit(low: float, high: float | None):
    """Validator turning ``{default: x, MEXICO: y}`` into ByCitizenship with range checks."""

    def conv(v: Any) -> ByCitizenship:
        if isinstance(v, ByCitizenship):
            return v
        if isinstance(v, dict) and "values" in v and set(v) <= {"default", "values"}:
            v = {**v["values"], "default": v.get("default", 0.0)}
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = {"default": v}
        if not isinstance(v, dict):
            raise ValueError("must be a number or a mapping of citizenship to number")
        _check_labels(v)
        out = {}
        for k, x in v.items():
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise ValueError(f"{k}: must be a number")
            if x < low or (high is not None and x > high):
                raise ValueError(f"{k}: {x} is outside [{low}, {high if high is not None else 'inf'}]")
            out[k] = float(x)
        return ByCitizenship(default=out.pop("default", 0.0), values=out)

    return conv


class Period(Strict):
    """Reporting window (inclusive dates). Outputs cover these days only."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self):
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class NetworkFiles(Strict):
    """The node and edge tables (CSV) of the route network."""

    nodes: str
    edges: str


class GroupSize(Strict):
    """Sizes of the parties that leave together: lognormal, rounded, clipped to [1, max]."""

    mean: float = Field(8.0, ge=1.0, description="mean persons per party")
    sigma: float = Field(0.8, ge=0.0, description="log-scale spread")
    max: int = Field(60, ge=1, description="largest party")


class Money(Strict):
    """Cash per person at departure (USD): lognormal with this median and log spread."""

    median_usd: float = Field(2500.0, gt=0)
    sigma: float = Field(0.7, ge=0)


class CitizenshipDepartures(Strict):
    """Where a citizenship's migrants start, as shares of its departures (sum to 1)."""

    origins: dict[str, Share]
    money: Money | None = None
    group_size: GroupSize | None = None

    @field_validator("origins")
    @classmethod
    def _sum_one(cls, v):
        if not v:
            raise ValueError("needs at least one origin")
        s = sum(v.values())
        if abs(s - 1.0) > 1e-6:
            raise ValueError(f"origin shares sum to {s:.6g}, not 1")
        return v


class Departures(Strict):
    """Who leaves when: persons per month and citizenship (CSV), scaled, from origins."""

    file: str = Field(description="CSV with columns month (YYYY-MM), citizenship, persons")
    scale: NonNeg = Field(1.0, description="multiplies every monthly figure (0.01 = a 1% sample)")
    group_size: GroupSize = GroupSize()
    money: Money = Money()
    by_citizenship: dict[str, CitizenshipDepartures]

    @field_validator("by_citizenship")
    @classmethod
    def _labels(cls, v):
        return _check_labels(v, allow_default=False)


class RouteChoice(Strict):
    """Multinomial-logit weights of a leg at a fork: exp(-(km*a + usd*b + risk*c))."""

    km_weight: NonNeg = Field(1.0, description="per 1000 km; every weight applies to the leg plus the cheapest way on to the border")
    cost_weight: NonNeg = Field(0.5, description="per 1000 USD fare")
    risk_weight: NonNeg = Field(20.0, description="per unit probability of dying on the leg")
    split_at_forks: bool = Field(False, description=(
        "true: every member chooses the next leg independently and a group splits by a multinomial "
        "draw (exact statistics of independent people, many more groups); false: a party chooses "
        "together, as parties led by one guide do"))
    ofo_share: Annotated[ByCitizenship, Field(description="share who present at a port (Field Operations) rather than cross between ports")] = ByCitizenship(default=0.15)

    @field_validator("ofo_share", mode="before")
    @classmethod
    def _ofo(cls, v):
        return _by_cit(0.0, 1.0)(v)


class Hazards(Strict):
    """Dangers on the way beyond the legs' own death hazards."""

    hazard_scale: NonNeg = Field(1.0, description="multiplies every leg's daily death hazard")
    robbery_daily: Share = Field(0.002, description="daily chance a party on a foot or bus leg is robbed")
    robbery_loss: Share = Field(0.5, description="share of its cash a robbed party loses")
    earn_usd_per_day: NonNeg = Field(15.0, description="what a person stuck for lack of money earns a day")


class Border(Strict):
    """What an encounter leads to, by authority (Title 42 until its end, Title 8 after)."""

    title42_end: dt.date | None = Field(dt.date(2023, 5, 11), description="last day of Title 42; null = never in force")
    title42_expel_share: ByCitizenship = ByCitizenship(default=0.0)
    expelled_retry: Share = Field(0.5, description="share of the expelled who try again")
    expelled_retry_days: Positive = Field(10.0, description="mean days before an expelled person tries again")
    removal_share: ByCitizenship = ByCitizenship(default=0.1)
    removed_retry: Share = Field(0.2, description="share of the removed who set out again")
    removed_retry_days: Positive = Field(90.0, description="mean days at home before setting out again")

    @field_validator("title42_expel_share", "removal_share", mode="before")
    @classmethod
    def _shares(cls, v):
        return _by_cit(0.0, 1.0)(v)


class Scenario(Strict):
    """A whole experiment: period, network, departures, behaviour, seeds."""

    name: str
    description: str = ""
    period: Period
    spinup_start: dt.date = Field(description="first simulated day, before period.start, so the route fills up")
    network: NetworkFiles
    speeds_km_per_day: dict[Literal["foot", "boat", "bus", "air"], Positive] = Field(
        default_factory=lambda: {"foot": 25.0, "boat": 150.0, "bus": 600.0, "air": 5000.0},
        description="used for legs whose days are not given")
    departures: Departures
    route_choice: RouteChoice = RouteChoice()
    hazards: Hazards = Hazards()
    border: Border = Border()
    darien_exit_nodes: list[str] = Field(default_factory=list, description="nodes where people come out of the jungle into Panama")
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [1], min_length=1)
    random_numbers: Literal["common", "single"] = "common"
    observed: str | None = Field(None, description="folder of observed figures for the plots")
    policies: list[LeverSpec] = Field(default_factory=list, description="dated policy levers (see sim/levers/)")

    @model_validator(mode="after")
    def _dates(self):
        if self.spinup_start > self.period.start:
            raise ValueError("spinup_start is after period.start")
        return self
