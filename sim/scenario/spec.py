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

from sim.citizenship import REGION_OF
from sim.levers import LeverSpec
from sim.scenario.behaviour import Behaviour
from sim.schema import REGION_KEYS, NonNeg, Positive, Share, Strict, check_citizenships, check_regions


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
    """A citizenship's potential departures and where they start (origin shares sum to 1)."""

    level: NonNeg = Field(description=(
        "potential departures a day at departures.reference_date, before responses and seasonality (persons); "
        "estimated by the calibration"))
    trend: float | None = Field(None, ge=-3.0, le=3.0, description=(
        "log growth per year of this citizenship's potential departures, in place of its region's "
        "(departures.trend): for a citizenship whose emigration moved apart from its region's; none = the region's"))
    since: dt.date | None = Field(None, description=(
        "no potential departures before this date: a flow that a dated event started (Russia's invasion of "
        "Ukraine, 2022-02-24); level and trend apply from it. A fact, never estimated; none = always"))
    origins: dict[str, Share]
    money: Money | None = None
    group_size: GroupSize | None = None
    visa_holders: float | None = Field(None, ge=0.0, lt=1.0, description=(
        "this citizenship's share of visa holders, in place of departures.visa_holders: how many hold a US "
        "visa differs by country (the US embassy in Caracas, for one, has offered no visa services since "
        "March 2019); none = the shared share"))

    @field_validator("origins")
    @classmethod
    def _sum_one(cls, v):
        if not v:
            raise ValueError("needs at least one origin")
        s = sum(v.values())
        if abs(s - 1.0) > 1e-6:
            raise ValueError(f"origin shares sum to {s:.6g}, not 1")
        return v


class RegionSeason(Strict):
    """A region's own amplitude and peak, in place of the shared ones (the cycles stay
    shared). Why: the regions' years need not peak together, and one season for all made
    the Darién's months and the Mexicans' pull apart: a season that fitted the first cost
    the second (calibration/diagnostics/README.md, "One seasonality for all regions")."""

    amplitude: float | None = Field(None, ge=0.0, le=1.5, description="log amplitude (none = the shared one)")
    peak_month: float | None = Field(None, ge=1.0, lt=13.0, description="month of the (first) peak (none = the shared one)")


class Seasonality(Strict):
    """Shared seasonality of potential departures:
    exp(amplitude * cos(2 pi cycles (month - peak_month) / 12)). One cycle a year (the
    default) has one peak and its trough six months later; two have a peak in spring and
    another in autumn, with troughs in winter and summer (CBP's FY2022 months dip in
    January and in summer and rise again in autumn; one cycle put its trough in
    October-November: calibration/diagnostics/README.md). A region of origin named in
    ``by_region`` has its own amplitude and peak."""

    amplitude: float = Field(0.0, ge=0.0, le=1.5, description="log amplitude (0 = none)")
    peak_month: float = Field(4.0, ge=1.0, lt=13.0, description="month of the (first) peak (1 = January; fractions allowed)")
    cycles: Literal[1, 2] = Field(1, description="cycles a year: 1 (one peak) or 2 (two peaks, six months apart)")
    by_region: Annotated[dict[str, RegionSeason], REGION_KEYS] = Field(default_factory=dict, description=(
        "a region of origin's own amplitude and peak (sim.citizenship.REGIONS), in place of the shared ones; "
        "missing = the shared seasonality"))

    def of_region(self, region: str) -> tuple[float, float]:
        """The amplitude and peak month a region's potential departures follow."""
        own = self.by_region.get(region) or RegionSeason()
        return (self.amplitude if own.amplitude is None else own.amplitude,
                self.peak_month if own.peak_month is None else own.peak_month)


class Departures(Strict):
    """Who would leave when: a propensity per citizenship (level x regional trend, or the
    citizenship's own, x seasonality, shared or its region's), which the behaviour block turns into departures (``sim.engine.behaviour``)."""

    scale: NonNeg = Field(1.0, description="a sample of the population: 0.05 = one simulated person for 20 (capacities scale with it)")
    reference_date: dt.date = Field(dt.date(2022, 10, 1), description="date at which levels are given (trends count from it)")
    trend: dict[str, float] = Field(default_factory=dict, description=(
        "log growth of potential departures per year, by region of origin (sim.citizenship.REGIONS); missing = 0"))
    trend_until: dt.date | None = Field(None, description=(
        "trends stop here and potential departures keep their level of that day (times seasonality) after it: "
        "a forecast that does not extrapolate growth estimated on earlier years; none = trends go on"))
    trend_years: float | None = Field(None, gt=0, description=(
        "years after reference_date that the trends keep growing, then potential departures keep their level "
        "of that day (times seasonality); with trend_until, the earlier of the two stops them. A number, so an "
        "estimation can carry it (calibration/fy2022_fy2023.yaml); none = no such stop"))
    seasonality: Seasonality = Seasonality()
    group_size: GroupSize = GroupSize()
    money: Money = Money()
    money_scale: float = Field(1.0, gt=0, description=(
        "multiplies every citizenship's median cash: the cash laws are assumptions, and cash decides which legs "
        "a party can pay for (who cannot pay a flight takes the cheaper way): one factor shared by all, for an "
        "estimation to carry (1: the cash laws as written)"))
    money_scale_by_region: Annotated[dict[str, Positive], REGION_KEYS] = Field(default_factory=dict, description=(
        "a region of origin's own factor on its citizenships' median cash (sim.citizenship.REGIONS), in place of "
        "money_scale: what a journey is paid with differs by network (the Cubans' relatives in the US against "
        "the Venezuelans' savings on the way), and the behaviour issue allows one set per region of origin; "
        "missing = money_scale"))
    visa_holders: float = Field(0.0, ge=0.0, lt=1.0, description=(
        "share of those setting out from an origin with a flight (a leg open only to some citizenships) who hold "
        "a visa that spares them a visa_regime lever with holders_exempt (a valid US visa exempts from Mexico's "
        "visa): they set out from the origin's twin '<origin>+holders', whose copies of the legs such a lever "
        "leaves open; one share for every citizenship unless its by_citizenship entry names its own, for an "
        "estimation to carry (0 and none of its own: no twins)"))
    by_citizenship: dict[str, CitizenshipDepartures]

    def cash_law(self, citizenship: str) -> Money:
        """A citizenship's cash law as written: its own, else the shared one (``money_scale`` aside)."""
        spec = self.by_citizenship.get(citizenship)
        return (spec.money if spec is not None else None) or self.money

    def cash_scale(self, citizenship: str) -> float:
        """The factor on ``citizenship``'s median cash: its region's own, else ``money_scale``."""
        return self.money_scale_by_region.get(REGION_OF[citizenship], self.money_scale)

    def holders_share(self, citizenship: str) -> float:
        """The share of ``citizenship``'s people setting out who hold a visa (its own, or the shared one)."""
        own = self.by_citizenship[citizenship].visa_holders
        return self.visa_holders if own is None else own

    @property
    def has_holders(self) -> bool:
        """Whether any citizenship has visa holders (and so the network its origins' twins)."""
        return any(self.holders_share(c) > 0 for c in self.by_citizenship)

    @field_validator("by_citizenship")
    @classmethod
    def _labels(cls, v):
        return _check_labels(v, allow_default=False)

    @field_validator("trend")
    @classmethod
    def _regions(cls, v):
        for r, g in check_regions(v).items():
            if not -3.0 <= g <= 3.0:
                raise ValueError(f"{r}: {g} is outside [-3, 3] (log growth per year)")
        return v


class RouteChoice(Strict):
    """Multinomial-logit weights of a leg at a fork: exp(-generalised cost), where a leg's
    generalised cost is km*a + usd*b + days*d + risk*c (days: travel and the wait expected
    at the place a leg leads to; plus, with behaviour.familiarity,
    a penalty on legs its citizenship does not know) and every weight applies to the leg
    plus the value of the way on from it (the logsum over the border areas it leads to of
    the cheapest way there and the area's own value, ``crossing``)."""

    km_weight: NonNeg = Field(1.0, description="per 1000 km")
    cost_weight: NonNeg = Field(0.5, description="per 1000 USD fare")
    days_weight: NonNeg = Field(0.0, description=(
        "per day of travel (with time_value_elasticity: for a citizenship whose median cash is "
        "time_value_reference_usd)"))
    time_value_elasticity: NonNeg = Field(0.0, description=(
        "a day on the way weighs days_weight x (the citizenship's median cash per person / "
        "time_value_reference_usd) ** this: time is dearer to who has more (what a day away costs "
        "grows with what one earns and holds), so a richer party pays a fare to save days that a "
        "poorer one would walk; 0: every citizenship weighs a day alike"))
    time_value_reference_usd: Positive = Field(2500.0, description=(
        "the median cash per person at which a day weighs days_weight (the shared cash law's median)"))
    count_waits: bool = Field(True, description=(
        "true: a leg's days include the wait expected at the place it leads to, (1 - move_chance)/move_chance "
        "(levers that hold people at a place lengthen the ways through it); false: travel days only"))
    risk_weight: NonNeg = Field(20.0, description="per unit probability of dying on the leg")
    save_for_fare: bool = Field(False, description=(
        "true: a leg a party cannot yet pay for stays in its choice, its wait to earn the shortfall "
        "(hazards.earn_usd_per_day) counted as days; a party that picks it stays and saves that long, then "
        "takes it (the way one prefers is waited for, not given up for the cheapest); false: a party "
        "chooses only among the legs it can pay for, and earns where it can pay for none"))
    split_at_forks: bool = Field(False, description=(
        "true: every member chooses the next leg independently and a group splits by a multinomial "
        "draw (exact statistics of independent people, many more groups); false: a party chooses "
        "together, as parties led by one guide do"))


class Crossing(Strict):
    """Where people cross (sim/engine/crossing.py): the value of each border area at the
    end of the way, from its attractiveness, the recent crossings of co-nationals there
    and, at ports of entry, the advantage in release chance against the queue's wait."""

    attractiveness: dict[str, float] = Field(default_factory=dict, description=(
        "per border area (node id), the value of crossing there, the same for every citizenship (0 if absent)"))
    follow_share: Share = Field(0.0, description=(
        "weight of following co-nationals: the share of the choice that goes by where recent crossings of the "
        "same citizenship were"))
    follow_window_days: Positive = Field(60.0, description="time constant of the memory of recent crossings")
    follow_prior_people: Positive = Field(1000.0, description=(
        "people the memory starts with, spread evenly over the areas (it keeps a thin record from "
        "deciding alone)"))
    port_weight: NonNeg = Field(0.0, description=(
        "value of the advantage in the chance of release at a port of entry over crossing between ports"))


class Hazards(Strict):
    """Dangers on the way beyond the legs' own death hazards."""

    hazard_scale: NonNeg = Field(1.0, description="multiplies every leg's daily death hazard")
    robbery_daily: Share = Field(0.002, description="daily chance a party on a foot or bus leg is robbed")
    robbery_loss: Share = Field(0.5, description="share of its cash a robbed party loses")
    earn_usd_per_day: NonNeg = Field(15.0, description="what a person stuck for lack of money earns a day")


class Border(Strict):
    """What an encounter leads to: expulsion under Title 42 while it is in force, for the
    citizenships it applies to, otherwise removal or release under Title 8."""

    title42: bool = Field(True, description="Title 42 in force at the start, between ports (a processing_regime lever ends it)")
    title42_expel_share: ByCitizenship = Field(ByCitizenship(default=0.0), description=(
        "share of a citizenship's encounters expelled while Title 42 applies to it (0 = it does not)"))
    returns_share: Share = Field(0.5, description=(
        "share of the encounters of citizenships a title42_returns lever makes returnable to Mexico that are "
        "returned, within Mexico's monthly cap"))
    expelled_retry: Share = Field(0.5, description="share of the expelled who try again")
    returned_retry: Share | None = Field(None, description=(
        "share of those a title42_returns lever returns to Mexico (Venezuelans, Cubans, Haitians, Nicaraguans) "
        "who try again, shared by every such lever; none: expelled_retry, as for everyone expelled"))
    expelled_retry_days: Positive = Field(10.0, description="mean days before an expelled person tries again")
    removal_share: ByCitizenship = ByCitizenship(default=0.1)
    removal_scale: NonNeg = Field(1.0, description=(
        "multiplies every Title 8 removal share, between ports and at ports, the scenario's and its levers' "
        "(capped at 1): the assumed shares' uncertainty as one number, shared by every citizenship and rule"))
    port_removal_share: ByCitizenship = Field(ByCitizenship(default=0.05), description=(
        "Title 8 removal share at ports of entry (Field Operations), where Title 42 did not apply"))
    port_capacity_per_day: NonNeg | None = Field(None, description=(
        "people the ports of entry process a day without an appointment (for the whole population; none: "
        "unlimited); a processing_regime lever's cbp_one_per_day replaces it"))
    removed_retry: Share = Field(0.2, description="share of the removed who set out again")
    removed_retry_days: Positive = Field(90.0, description="mean days at home before setting out again")

    @field_validator("title42_expel_share", "removal_share", "port_removal_share", mode="before")
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
    speeds_km_per_day: dict[Literal["foot", "boat", "bus", "train", "air"], Positive] = Field(
        default_factory=lambda: {"foot": 25.0, "boat": 150.0, "bus": 600.0, "train": 300.0, "air": 5000.0},
        description="used for legs whose days are not given")
    departures: Departures
    behaviour: Behaviour = Behaviour()
    route_choice: RouteChoice = RouteChoice()
    crossing: Crossing = Crossing()
    hazards: Hazards = Hazards()
    border: Border = Border()
    darien_exit_nodes: list[str] = Field(default_factory=list, description="nodes where people come out of the jungle into Panama")
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [1], min_length=1)
    random_numbers: Literal["common", "single"] = "common"
    observed: str | None = Field(None, description="folder of observed figures for the plots")
    posterior: str | None = Field(None, description=(
        "Parquet of parameter sets to draw from with --posterior-draws (a column per dotted path, and weight): "
        "the estimate's posterior, written by migsim calibrate"))
    policies: list[LeverSpec] = Field(default_factory=list, description="dated policy levers (see sim/levers/)")

    @model_validator(mode="after")
    def _dates(self):
        if self.spinup_start > self.period.start:
            raise ValueError("spinup_start is after period.start")
        return self
