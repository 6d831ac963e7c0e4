"""Behaviour: what prospective migrants believe, what routes they know, and how
departures respond.

Why these three, each with few shared parameters (``behaviour:`` in a scenario):

- **Beliefs** (Routes & Rumours, reduced to one belief per citizenship): the chance of
  being released in the US rather than sent home, learnt from the simulated outcomes
  of co-nationals with a delay (news through family and contacts), and moved at once,
  for the share who hear, by a lever that announces a new rule. A rule that changes
  nothing for a citizenship moves nothing for it: the China charters move Chinese
  beliefs, not Hondurans'.
- **Familiarity**: a leg a citizenship does not know costs more; it becomes known as
  co-nationals take it. When a visa closes the usual way, people face a way they do
  not know yet, and its cost falls as their co-nationals open it (the drop and the
  rebound of one mechanism).
- **Response**: potential departures times exp(release_weight x (belief - 1)
  - cost_weight x the cost of the cheapest way to the border above its open cost), the
  open cost being the way's with every leg of the network open to the citizenship (no
  lever's visa or closure) and known (``Router.open_to_go``). Above it, not the cost
  itself: a scenario's origin shares say where a citizenship's people set out from (a
  third of Haitians from Brazil and Chile), and an absolute cost would cut the far
  origins by their distance (about ten times for Haitians in Chile against Haiti) and
  make the shares a fiction; what a visa, a closure or an unknown way adds is what
  holds people back. It is two-way (a better
  expected outcome raises departures) and reaches only the citizenships and origins
  whose belief or way changed. People already on their way who see their belief fall
  go on with the same probability, exp(-release_weight x fall), the others give up.
- **Prevalence** (``behaviour.prevalence``, off by default): Massey's cumulative
  causation, departures grow with a citizenship's recent departures against its level,
  or (a negative elasticity) depletion, they slow as recent departures drain the pool of
  those ready to go.
- **Waiting** (``behaviour.waiting``, off by default): those the response holds back
  wait at home and go later, at a rate that grows with the response, unless they settle
  for good (``engine/departures.py``): a way that opens after being shut drains the pool.
  A rule announced for a later date that will make the outcome worse (the Circumvention
  rule, proposed on 2023-02-23 to apply at Title 42's end) empties it before: waiting
  costs what the rule will take, so those who hear of it (``beliefs.heard_share``) and
  would arrive before its day go sooner, by exp(release_weight x (belief - the release
  expected under it)), the same weight by which the rule will hold them back once it
  applies to them; so do those held on the way (``on_the_way``), until its day
  (``hurry``; ``waiting.hurry`` false: no hurry). A rule announced for a later date that
  will make it better (Title 42's end for those it expelled or returned to Mexico) does
  the opposite: those who hear of it and would go under it set out now and wait in a
  Mexican border town for its day (``lure``; ``waiting.near_border``), where the
  response alone would keep them home until news of it reached decisions there. No
  parameter of its own: the same heard_share and release_weight.

Nothing here belongs to one event: levers carry only their facts (dates, eligible
citizenships, caps), and every event's effect comes from these shared parameters.
"""

from __future__ import annotations

import numpy as np

from sim.citizenship import CITIZENSHIPS, REGION_OF
from sim.engine.bookkeeping import accumulate

FAMILIARITY_EVERY_DAYS = 7


class Behaviour:
    """Beliefs (per citizenship), familiarity (per citizenship and leg), and the response."""

    def __init__(self, model):
        self.model = model
        b = model.spec.behaviour
        self.spec = b
        nc = len(CITIZENSHIPS)
        self.belief = np.full(nc, np.nan)
        self._belief_rate = np.array([b.beliefs.rate_of(REGION_OF[c]) for c in CITIZENSHIPS])
        self.familiarity = np.full((nc, model.network.n_edges), b.familiarity.initial)
        self._legs_since = np.zeros((nc, model.network.n_edges))
        self._departed_since = np.zeros(nc)
        self._cost_key: tuple | None = None  # (router.to_go, cit, origin) of ``_cost_term``
        self._cost_ref: np.ndarray | None = None  # the open cost of the way on from each place
        self._recent: np.ndarray | None = None  # average departures a day of the past (prevalence)
        self._level: np.ndarray | None = None  # each citizenship's level, what prevalence is measured against
        self._ahead: np.ndarray | None = None  # expected release once rules announced for a later date are in force
        self._ahead_home: np.ndarray | None = None  # citizenships that weigh them at home (not yet heard there)
        self.ahead_day = -1  # the day the last of them takes effect (-1: none coming)

    # ------------------------------------------------------------------ beliefs
    def start(self) -> None:
        """Beliefs start at the outcomes the rules in force at the start imply."""
        self.belief = self.model.border.expected_release().copy()

    def announce(self, changed: np.ndarray, expected: np.ndarray) -> None:
        """A lever announces a rule: the share who hear move their belief to the outcome
        it implies, for the citizenships whose expected outcome it changed."""
        h = self.spec.beliefs.heard_share
        self.belief[changed] += h * (expected[changed] - self.belief[changed])

    def learn(self, t: int) -> None:
        """Beliefs move toward co-nationals' outcomes of ``window_days`` ending ``delay_days`` ago,
        each citizenship at its region's rate (``beliefs.by_region``) or the shared one."""
        bs = self.spec.beliefs
        tal = self.model.books.tallies
        hi = t - bs.delay_days
        lo = max(hi - bs.window_days, 0)
        if hi <= 0 or not self._belief_rate.any():
            return
        rel = tal.released[lo:hi].sum(axis=0)
        home = tal.sent_home[lo:hi].sum(axis=0)
        seen = rel + home > 0
        p = np.where(seen, rel / np.maximum(rel + home, 1e-12), self.belief)
        self.belief = self.belief + self._belief_rate * (p - self.belief)

    def expect(self, ahead: np.ndarray | None, home: np.ndarray | None, day: int = -1) -> None:
        """The release each citizenship expects once the rules announced for a later date
        are in force (``Border.expect_news``; None: none is coming), the citizenships
        whose decisions at home do not take them into account yet, and the day the last
        of them takes effect."""
        self._ahead, self._ahead_home = ahead, home
        self.ahead_day = -1 if ahead is None else day

    def hurry(self, held: bool = False) -> np.ndarray | None:
        """Per citizenship, the factor on the rate at which those waiting set out (at home,
        or ``held`` on the way) while a worse rule is to come: the share who heard
        (``heard_share``) go sooner by exp(release_weight x (belief - release expected
        under it)), the fall of the response the rule will bring; the others as before.
        At home only until decisions there take the rule into account (a journey ahead of
        its day); on the way until its day. None: nothing is coming."""
        if self._ahead is None or not self.spec.waiting.hurry:
            return None
        gap = np.maximum(self.belief - self._ahead, 0.0)
        if not held:
            gap = np.where(self._ahead_home, gap, 0.0)
        return 1.0 + self.spec.beliefs.heard_share * np.expm1(self.spec.response.release_weight * gap)

    def lure(self) -> np.ndarray | None:
        """Per citizenship, those who set out to wait near the border for a better rule to
        come, per person the response lets go today, while decisions at home do not take
        the rule into account yet (they would arrive before its day): heard_share x
        (exp(release_weight x (release expected under it - belief)) - 1), the people the
        response holds back now who would go under the rule, for the share who heard
        (``Departures`` caps them at those held back). None: nothing better is coming, or
        ``waiting.near_border`` off."""
        if self._ahead is None or not self.spec.waiting.near_border:
            return None
        gain = np.where(self._ahead_home, np.maximum(self._ahead - self.belief, 0.0), 0.0)
        if not gain.any():
            return None
        return self.spec.beliefs.heard_share * np.expm1(self.spec.response.release_weight * gain)

    # ------------------------------------------------------------------ familiarity
    def add_legs(self, legs: np.ndarray) -> None:
        """People of each citizenship who set out on each leg (a day's ``Books.legs_of_day``)."""
        self._legs_since += legs

    def count_departures(self, cit: np.ndarray, size: np.ndarray) -> None:
        accumulate(self._departed_since, cit, size)

    def update_familiarity(self, t: int) -> bool:
        """Every week: familiarity grows with the share of co-nationals who set out that
        week and took the leg. Returns whether it changed (route costs then change)."""
        f = self.spec.familiarity
        if t % FAMILIARITY_EVERY_DAYS or f.penalty <= 0 or f.learning_rate <= 0:
            return False
        dep = self._departed_since
        seen = dep > 0  # a citizenship nobody of which set out this week: nothing learnt, nothing lost
        share = np.minimum(self.taken_share(self._legs_since, dep)[seen], 1.0)
        fam = self.familiarity[seen]
        fam += f.learning_rate * (share * (1.0 - fam) - f.decay * (fam - f.initial))
        self.familiarity[seen] = fam
        self._legs_since[:] = 0.0
        self._departed_since[:] = 0.0
        return bool(share.any()) or (f.decay > 0 and bool(seen.any()))

    def taken_share(self, legs: np.ndarray, departed: np.ndarray) -> np.ndarray:
        """Citizenships x edges: the share s familiarity learns from, of the people of each
        citizenship who set out on each leg (``legs``), among those who set out from its
        start (``familiarity.among: passers``) or among all who set out (``departures``;
        ``departed`` per citizenship)."""
        if self.spec.familiarity.among == "departures":
            return np.divide(legs, departed[:, None], out=np.zeros_like(legs), where=departed[:, None] > 0)
        net = self.model.network
        passed = net.over_legs_out(np.add, legs, 0.0)[:, net.src]
        return np.divide(legs, passed, out=np.zeros_like(legs), where=passed > 0)

    def settle_familiarity(self, rounds: int = 12) -> None:
        """Start familiarity at its steady state on the routes chosen today (``settle``):
        the expected share of each citizenship's departures that takes each leg, from its
        origins' shares and the route weights (``Router.leg_shares``), gives the steady
        state (s + decay x initial) / (s + decay) (1 on a leg taken at all, without
        decay); the route weights depend on familiarity, so it is iterated, damped."""
        f = self.spec.familiarity
        if not f.settle or f.penalty <= 0:
            return
        router = self.model.router
        origin_share = self.model.departures.origin_shares()
        for _ in range(rounds):
            s = self.taken_share(router.leg_shares(origin_share), np.ones(len(origin_share)))
            with np.errstate(invalid="ignore", divide="ignore"):
                target = np.where(s > 0, (s + f.decay * f.initial) / (s + f.decay), f.initial)
            self.familiarity = 0.5 * (self.familiarity + target)
            router.refresh()

    def unfamiliarity_cost(self) -> np.ndarray | None:
        """Extra generalised cost of each leg for each citizenship (None when off)."""
        f = self.spec.familiarity
        return f.penalty * (1.0 - self.familiarity) if f.penalty > 0 else None

    # ------------------------------------------------------------------ response
    def fix_cost_reference(self) -> None:
        """Keep the open cost of the way on from every place (``Router.open_to_go``): the
        response measures the cost above it."""
        self._cost_ref = self.model.router.open_to_go()
        self._cost_key = None

    def departure_factor(self, cit: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """The response of departures of each (citizenship, origin) pair to the belief and
        to the cost of the cheapest way from the origin to the border above its open cost
        (``fix_cost_reference``). A pair with no way even with every leg open has no cost
        to compare with: only its belief moves it (it cannot leave anyway)."""
        r = self.spec.response
        to_go = self.model.router.to_go
        key = self._cost_key
        if key is None or key[0] is not to_go or key[1] is not cit or key[2] is not origin:
            # the cost term changes only when the route weights do: kept until then
            cost = to_go[cit, origin]
            self._cost_key = (to_go, cit, origin)
            with np.errstate(invalid="ignore"):
                change = cost - self._cost_ref[cit, origin]
            self._cost_term = r.cost_weight * np.where(np.isfinite(change), change, 0.0)
        x = r.release_weight * (self.belief[cit] - 1.0) - self._cost_term
        return np.exp(x)

    def prevalence_factor(self, expected: np.ndarray) -> np.ndarray:
        """Each citizenship's factor on today's departures from its recent departures
        (``behaviour.prevalence``), given today's ``expected`` departures before it. The
        first day starts the average where it stays if nothing changes: recent = level x
        (expected / level)^(1 / (1 - elasticity))."""
        p = self.spec.prevalence
        if p.elasticity == 0:
            return np.ones(len(expected))
        if self._level is None:
            self._level = self.model.inputs.reference_level
        level = self._level
        known = level > 0
        if self._recent is None:
            x = np.divide(expected, level, out=np.zeros_like(expected), where=known)
            self._recent = level * np.maximum(x, p.floor) ** (1.0 / (1.0 - p.elasticity))
        prev = np.divide(self._recent, level, out=np.ones_like(expected), where=known)
        return np.where(known, np.maximum(prev, p.floor) ** p.elasticity, 1.0)

    def remember_departures(self, cit: np.ndarray, expected: np.ndarray) -> None:
        """Today's expected departures of each (citizenship, origin) pair join their
        citizenship's average of the past (nothing to do with prevalence off)."""
        if self._recent is not None:
            today = np.bincount(cit, weights=expected, minlength=len(self._recent))
            self._recent += (today - self._recent) / self.spec.prevalence.memory_days

    def go_on_share(self, belief_then: np.ndarray, cit: np.ndarray) -> np.ndarray:
        """Chance that people who set out believing ``belief_then`` go on now."""
        fall = np.maximum(belief_then - self.belief[cit], 0.0)
        return np.exp(-self.spec.response.release_weight * fall)
