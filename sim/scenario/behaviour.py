"""The behaviour block of a scenario (``behaviour:``): beliefs, the response, route
knowledge, waiting, those held on the way, prevalence and parole.

Why a module of its own: these are the estimated mechanisms (sim/engine/behaviour.py),
documented field by field for the researcher who sets or estimates them; the rest of
the schema (sim.scenario.spec) only embeds ``Behaviour``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.schema import REGION_KEYS, NonNeg, Share, Strict


class RegionBeliefs(Strict):
    """A region of origin's own belief parameters (none: the shared ones)."""

    learning_rate: Share | None = Field(None, description="a day's move toward co-nationals' outcomes (none = the shared rate)")


class Beliefs(Strict):
    """What prospective migrants believe their chance of being released in the US is.

    Each citizenship's belief moves toward the release share of its co-nationals'
    simulated outcomes (released against sent home) over ``window_days`` ending
    ``delay_days`` ago, by ``learning_rate`` a day (news through family and contacts);
    on the day a lever announces a new rule, the share ``heard_share`` who hear of it
    move to the outcome the rule implies at once.

    A region of origin named in ``by_region`` learns at its own rate: news travels
    through different networks (the Cubans', Haitians' and Nicaraguans' diasporas in the
    US against the Venezuelans' on the way in South America), and the behaviour issue
    allows one response set per region of origin, not per event or citizenship.
    """

    delay_days: Annotated[int, Field(ge=0, le=365)] = 21
    window_days: Annotated[int, Field(ge=1, le=365)] = 30
    learning_rate: Share = 0.05
    heard_share: Share = 0.5
    by_region: Annotated[dict[str, RegionBeliefs], REGION_KEYS] = Field(default_factory=dict, description=(
        "a region of origin's own learning rate (sim.citizenship.REGIONS), in place of the shared one; "
        "missing = the shared rate"))

    def rate_of(self, region: str) -> float:
        """The learning rate of a region of origin's citizenships."""
        own = self.by_region.get(region)
        return self.learning_rate if own is None or own.learning_rate is None else own.learning_rate


class Response(Strict):
    """How departures respond: exp(release_weight * belief - cost_weight * the cost to the border above its open cost).

    ``release_weight``: per unit of believed release chance; ``cost_weight``: per unit of
    the generalised cost of the cheapest way from the origin to the border (route_choice
    units) above its open cost, the cost with every leg of the network open to the
    citizenship and known: a visa, a closure or a way not known yet lowers departures,
    while the origin shares (``departures.by_citizenship.*.origins``) hold however far
    each origin is. The same response decides whether people already on their way go on when
    their citizenship's belief falls (``give_up``)."""

    release_weight: NonNeg = 0.0
    cost_weight: NonNeg = 0.0
    give_up: bool = Field(True, description="people on the way reconsider when their citizenship's belief falls")


class Familiarity(Strict):
    """Route knowledge: a leg its citizenship does not know costs ``penalty`` x (1 - familiarity)
    more. Each week familiarity grows with the share s of co-nationals who took the leg,
    among those who set out from its start (``among``), and falls back toward ``initial``
    as they stop taking it:
    f += learning_rate x (s x (1 - f) - decay x (f - initial)), so a leg's steady state is
    (s + decay x initial) / (s + decay). With ``settle`` a run starts at that steady state
    on the routes chosen on its first day, so the spin-up fills the route and a result
    does not hang on how long the run had to learn it (without decay, or without
    settling, familiarity only grew: an earlier start meant more Darién crossings). Counted
    among all who set out (``among: departures``, before 2026-11-29), the way of a
    minority origin stayed unknown to the very people who take it: Haitians from Chile and
    Brazil were held back three times as much as those flying from Haiti, and Panama's
    Haitians came out at a quarter of its count."""

    penalty: NonNeg = 0.0
    learning_rate: Share = 0.1
    initial: Share = Field(0.2, description="familiarity of a leg no co-national takes")
    decay: NonNeg = Field(0.0, description=(
        "pull back toward initial, per unit of learning_rate and week (0: knowledge is never lost)"))
    settle: bool = Field(False, description=(
        "start at the steady state of the routes chosen on the first day (false: every leg at initial)"))
    among: Literal["passers", "departures"] = Field("passers", description=(
        "s is the share of the co-nationals passing the leg's start who took it (passers: Haitians leaving "
        "Chile know the way Haitians from Chile take, however few of all Haitians they are), or of all "
        "co-nationals who set out (departures: a way taken from a minority origin stays unknown to it)"))


class Waiting(Strict):
    """Would-be migrants held back wait at home and go later (after the A3 design of
    ../BEHAVIOUR-NOTES: the pool builds up while the way is shut or the outcome looks
    bad, and drains once it opens): of each day's potential departures of a pair
    (citizenship, origin) the share 1 - r that the response r keeps home joins its
    pool; each day the pool loses ``leave_rate`` x r of itself to departures and
    ``settle_rate`` to people who stay for good. With a response that stays the same the
    pool sits at a steady state (a run starts there); when the response rises after a
    fall, the pool drains: a rebound above the potential flow; before a worse rule
    announced for a later date, it drains too (``hurry``). ``leave_rate`` 0 (the
    default) is no pool: those held back never go. Before a better rule announced for a
    later date, those who heard of it and would go under it set out now and wait near
    the border for its day (``near_border``), whether or not there is a pool."""

    leave_rate: Share = Field(0.0, description="a day's share of the pool that sets out, at a response of 1")
    settle_rate: Share = Field(0.0, description="a day's share of the pool that gives up leaving for good")
    hurry: bool = Field(True, description=(
        "those who heard of a worse rule announced for a later date (announced_rule with effective) go "
        "before it: the pool's rate, and that of those held on the way (on_the_way), times "
        "exp(release_weight x the fall of the release they expect)"))
    near_border: bool = Field(True, description=(
        "those who heard of a better rule announced for a later date (announced_rule with effective) and would "
        "go under it set out now and wait in a town a US border area is reached from (a Mexican border city) for its day: of a "
        "day's potential departures held back by the response r, heard_share x r x "
        "(exp(release_weight x the rise of the release they expect) - 1) go; false: they wait at home"))


class ParoleBehaviour(Strict):
    """Who takes a parole pathway: the share of would-be migrants of an eligible citizenship
    who have a sponsor and fly in (or wait for a slot) instead of going overland."""

    sponsor_share: Share = 0.3


class OnTheWay(Strict):
    """Those on the way whose citizenship's belief has fallen since they set out
    (``response.give_up``): the share the departures' response keeps goes on at once; the
    others are held where they are, in a town of Central America or Mexico (as Venezuelans
    were stranded in Mexico once Title 42 returned them, 2022-10-12), instead of all giving
    up at once. Each day a held party loses ``leave_rate`` times the response to its fall
    (1 once the belief is back where it was) to people who go on, then ``settle_rate`` of
    the rest to people who give up for good. ``settle_rate`` 1 (the default): whoever does
    not go on gives up on the day (nobody is held)."""

    settle_rate: Share = Field(1.0, description=(
        "a day's share of those held on the way who give up for good (1: they give up at once, nobody is held)"))
    leave_rate: Share = Field(0.1, description=(
        "a day's share of those held on the way who go on, times the response to the fall of their belief"))


class Prevalence(Strict):
    """Cumulative causation (Massey 1990; ../BEHAVIOUR-NOTES A): each departure makes the
    next easier for co-nationals (contacts on the way and in the US, money sent back,
    smugglers who know the citizenship), so a citizenship's departures grow with its
    recent migration. Its prevalence is the departures of the past (an exponential
    average over ``memory_days``) against its potential departures a day at
    ``departures.reference_date`` (its level); departures are multiplied by
    max(prevalence, ``floor``) ^ ``elasticity``. Against the level, not in persons, so the
    factor is the same at any level or sample scale (levels are solved linearly), and a
    run starts at the prevalence its first day's departures would keep up. An event that
    moves departures (a visa, a parole) moves them again, slowly, through it: a way shut
    for weeks leaves fewer to follow once it opens (tests/test_prevalence.py).
    ``elasticity`` 0 (the default) is no network effect. A negative elasticity is the
    opposite force, depletion: those ready to go are a pool that recent departures drain
    (the earliest movers of a diaspora go first; the rest need longer to sell up, save or
    find a sponsor), so a citizenship whose departures run far above its level slows down
    and one held back for months has more ready to go. The history does not estimate it:
    an estimation with its sign free chose depletion (-0.31) but met fewer criteria
    (calibration/diagnostics/README.md, "Returned shares by citizenship, and depletion")."""

    elasticity: Annotated[float, Field(ge=-0.9, le=0.9)] = Field(0.0, description=(
        "elasticity of departures with respect to their recent prevalence (0: none; above 0 cumulative "
        "causation, below 0 depletion; -0.9 to 0.9)"))
    memory_days: Annotated[int, Field(ge=1, le=3650)] = Field(365, description=(
        "mean age of the departures the prevalence remembers (days)"))
    floor: Annotated[float, Field(gt=0.0, le=1.0)] = Field(0.05, description=(
        "lowest prevalence the factor uses: a citizenship nobody of which has left lately still has first movers"))


class Behaviour(Strict):
    """Departures and responses from what people learn (sim/engine/behaviour.py)."""

    beliefs: Beliefs = Beliefs()
    response: Response = Response()
    familiarity: Familiarity = Familiarity()
    waiting: Waiting = Waiting()
    on_the_way: OnTheWay = OnTheWay()
    prevalence: Prevalence = Prevalence()
    parole: ParoleBehaviour = ParoleBehaviour()
