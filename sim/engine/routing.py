"""Route choice: the weight of every leg for every citizenship, and the choice at a town.

Why a module: route choice is the model's behavioural core and changes with levers
(visas, closures, perceived risk at a place) but never per day, so the weights are
recomputed only when something changes and the daily choice is one vectorised draw.
"""

from __future__ import annotations

import numpy as np

from sim.citizenship import CITIZENSHIPS, CODE
from sim.engine.services import Access
from sim.engine.streams import derive_keys, multinomial_from_uniforms, name_id

ROUTE = name_id("route")
MAX_WAIT = 365.0  # days: the wait counted at a place nobody leaves (move chance 0)


def day_weights(spec) -> np.ndarray:
    """The weight of a day on the way for each citizenship, a column (citizenships x 1; one
    row when every citizenship weighs a day alike): ``route_choice.days_weight`` x (its
    median cash / the reference) ** ``time_value_elasticity``. Why by cash: a day away costs
    more to who earns and holds more, so the same fare that buys Cubans out of weeks on the
    way is not worth paying to Venezuelans with a third of their cash; one shared weight
    cannot make both choices (calibration/diagnostics/README.md)."""
    rc = spec.route_choice
    if not rc.time_value_elasticity or not rc.days_weight:
        return np.full((1, 1), rc.days_weight)
    cash = np.array([spec.departures.cash_law(c).median_usd for c in CITIZENSHIPS])
    return (rc.days_weight * (cash / rc.time_value_reference_usd) ** rc.time_value_elasticity)[:, None]


def expected_wait(move_chance: np.ndarray) -> np.ndarray:
    """Days a party expects to wait at a place with a daily chance p of moving on,
    (1 - p)/p (geometric), at most ``MAX_WAIT``."""
    return np.minimum((1.0 - move_chance) / np.maximum(move_chance, 1e-300), MAX_WAIT)


class Router:
    """Leg weights (citizenships x edges) and the choice of the next leg."""

    def __init__(self, model):
        self.model = model
        net, sc = model.network, model.spec
        nc = len(CITIZENSHIPS)
        self.hazard = net.hazard * sc.hazards.hazard_scale
        base = np.ones((nc, net.n_edges), dtype=bool)
        for e, acc in enumerate(net.access):
            if acc:
                base[:, e] = False
                base[[CODE[a] for a in acc], e] = True
        self.split_at_forks = sc.route_choice.split_at_forks
        # saving for a fare (route_choice.save_for_fare): a day of waiting weighs as a day
        # of travel; without earnings no fare can be saved for
        earn = sc.hazards.earn_usd_per_day
        self.save_for_fare = bool(sc.route_choice.save_for_fare and earn > 0)
        self._earn = earn
        self.day_weight = day_weights(sc)  # citizenships (or 1) x 1
        self._penalties: dict[str, np.ndarray] = {}
        self.penalty = np.ones(net.n_nodes)
        # padded out-edges per node for vectorised choice
        K = max(net.max_out, 1)
        self.outpad = np.full((net.n_nodes, K), -1, dtype=np.int64)
        for i, o in enumerate(net.out_edges):
            self.outpad[i, : len(o)] = o
        valid = self.outpad >= 0
        # the legs out of each place, a missing leg as edge n_edges: a zero weight (see refresh)
        self._legs_out = np.where(valid, self.outpad, net.n_edges)
        self._cost_out = np.append(net.cost, 0.0)  # fares by ``_legs_out`` entry
        self._outpad_flat = self.outpad.reshape(-1)
        # the table of choices (see _tabulate): places with a choice (two legs or more),
        # and those with one leg, whose blocks are 1 throughout
        outdeg = valid.sum(axis=1)
        self._forks = forks = np.flatnonzero(outdeg >= 2)
        self._one, self._one_leg = np.flatnonzero(outdeg == 1), self.outpad[outdeg == 1, 0]
        self._fork_legs = self._legs_out[forks]
        fares = self._cost_out[self._fork_legs]
        in_forks = np.arange(len(forks))[:, None] * K  # positions in forks x K
        self._dear_first = (in_forks + np.argsort(-fares, axis=1, kind="stable")).reshape(-1)
        self._cheap_first = (in_forks + np.argsort(fares, axis=1, kind="stable")).reshape(-1)
        self._fares = fares.reshape(-1)
        self._k = np.arange(K)[None, None, :]
        block = np.arange(nc * net.n_nodes, dtype=np.float64).reshape(nc, net.n_nodes, 1)
        self._fork_block = block[:, forks]
        self._full = np.ones((nc, net.n_nodes, K)) + block  # the table; the forks' blocks change
        self._table = self._full.reshape(-1)
        # the table with a column above all after each block, for ``_pick``
        self._blocks = np.concatenate([self._full, np.full((nc, net.n_nodes, 1), np.inf)], axis=2)
        # each block ends at b + 1 exactly (its last column is 1): before block b, b
        self._before = np.concatenate([[-np.inf], np.arange(1, nc * net.n_nodes, dtype=np.float64)])
        self._after = np.full(nc * net.n_nodes, np.inf)  # the first entry of the next block
        self.access = Access(base, self.refresh)
        self.refresh()
        if model.spec.route_choice.count_waits and model.spec.route_choice.days_weight:
            model.move_chance.on_change = self.refresh  # a lever holding people at a place lengthens its ways

    def set_penalty(self, tag: str, penalty: np.ndarray | None) -> None:
        """A lever weighs legs into places by ``penalty`` (per node) while it lasts; None ends it."""
        if penalty is None:
            self._penalties.pop(tag, None)
        else:
            self._penalties[tag] = penalty
        total = np.ones(self.model.network.n_nodes)
        for p in self._penalties.values():
            total = total * p
        self.penalty = total
        self.refresh()

    def refresh(self) -> None:
        """Recompute the weight of every leg for every citizenship.

        Travellers weigh a whole route, not only the next leg: a leg's generalised cost is
        a*km/1000 + b*fare/1000 + c*death_risk, and its utility adds the least such cost
        from its end to the border over the legs that citizenship may use (so the
        Darién's boat fare and risk count for a Colombian still in Medellín, against a
        flight to Mexico). The weight is exp(-(utility - best utility out of the same
        place)), times access (visas, closures) and a lever's penalty on the place it leads
        to. The cost of the way on is the logsum over the border areas (``_to_go``), so
        where people cross (between ports or at a port, which area) is chosen with the way.
        """
        net = self.model.network
        edge_open = self.access.open
        nc = len(CITIZENSHIPS)
        legs = self.leg_costs()                                           # (1 or citizenships) x edges
        self.to_go = to_go = self._to_go(legs, edge_open)                 # citizenships x nodes
        with np.errstate(invalid="ignore"):
            util = legs + to_go[:, net.dst]
        usable = np.isfinite(util) & edge_open
        util = np.where(usable, util, np.inf)
        best = net.over_legs_out(np.minimum, util, np.inf)
        with np.errstate(invalid="ignore"):
            w = np.exp(-(util - best[:, net.src]))
        w = np.where(usable, w, 0.0)  # util is finite exactly where usable
        w = w * self.penalty[net.dst]
        padded = np.zeros((nc, net.n_edges + 1))  # a last column of zeros: no leg
        np.multiply(w, edge_open, out=padded[:, :-1])
        self._padded = padded.reshape(-1)
        self.weights = padded[:, :-1]
        self._no_negative = bool((padded >= 0).all())  # (levers' penalties are not negative)
        # an origin with no leg a citizenship may use: its people do not set out
        self.out_weight = net.over_legs_out(np.add, self.weights, 0.0)      # citizenships x nodes
        self.can_leave = self.out_weight > 0
        self._tabulate()

    def open_to_go(self) -> np.ndarray:
        """The cost of the way on from every place (citizenships x nodes) with the
        network's own access (no lever's visa or closure) and every leg known: what a
        place's way costs by its geography alone. The response to cost
        (``Behaviour.departure_factor``) counts the cost above it, so a run measures the
        same cost whatever day it starts on."""
        return self._to_go(self.leg_costs(known=True), self.access.base)

    def leg_costs(self, known: bool = False) -> np.ndarray:
        """Each leg's own generalised cost, (1 or citizenships) x edges: a*km/1000 +
        b*fare/1000 + c*death risk + d*days, plus each citizenship's unfamiliarity
        (none with ``known``); d is the citizenship's (``day_weights``). The
        days are the leg's travel days and, with ``route_choice.count_waits``, the wait
        expected at the place it leads to ((1 - p)/p days for a daily chance p of moving
        on): a way through Necocli and Tapachula takes longer than its buses and boats."""
        m = self.model
        net, rc = m.network, m.spec.route_choice
        risk = 1.0 - (1.0 - np.clip(self.hazard, 0, 1)) ** net.days
        leg = (rc.km_weight * net.km / 1000.0 + rc.cost_weight * net.cost / 1000.0 + rc.risk_weight * risk)[None, :]
        if rc.days_weight:
            leg = leg + self.day_weight * self.leg_days()[None, :]
        extra = None if known else m.behaviour.unfamiliarity_cost()
        return leg if extra is None else leg + extra

    def leg_days(self) -> np.ndarray:
        """Days of each leg as a traveller counts them: travel days plus, with
        ``route_choice.count_waits``, the expected wait at its end (none at a border area;
        a place nobody leaves counts as ``MAX_WAIT`` days, which no way survives)."""
        net = self.model.network
        if not self.model.spec.route_choice.count_waits:
            return net.days
        wait = expected_wait(self.model.move_chance.values)
        wait[net.is_border] = 0.0
        return net.days + wait[net.dst]

    def leg_shares(self, origin_share: np.ndarray) -> np.ndarray:
        """Citizenships x edges: the expected share of a citizenship's departures that sets
        out on each leg, from its origins' shares (citizenships x nodes), if each party chose
        every leg by today's weights (cash aside). Parties flow from place to place until a
        border area or a place with no leg open: visits v = origins + P'v, one linear solve
        per citizenship."""
        net = self.model.network
        nc, n = len(CITIZENSHIPS), net.n_nodes
        w, tot = self.weights, self.out_weight
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(tot[:, net.src] > 0, w / tot[:, net.src], 0.0)  # chance of each leg at its place
        p[:, net.is_border[net.src]] = 0.0                            # a border area ends the way
        out = np.zeros((nc, net.n_edges))
        eye = np.eye(n)
        for c in np.flatnonzero(origin_share.sum(axis=1) > 0):
            move = np.zeros((n, n))
            np.add.at(move, (net.dst, net.src), p[c])                  # move[j, i]: from i to j
            visits = np.linalg.solve(eye - move, origin_share[c])
            out[c] = visits[net.src] * p[c]
        return np.clip(out, 0.0, 1.0)

    def _to_go(self, legs: np.ndarray, edge_open: np.ndarray) -> np.ndarray:
        """The cost of the way on from every place (citizenships x nodes): the logsum over
        the border areas of the least cost to each plus the area's own cost (its value,
        ``Crossing.values``): -log sum_b exp(-(d_b + T_b)). At a border area it is that
        area's own cost, so the last leg weighs the areas against each other; far away
        it weighs the ways to all of them, as a traveller who has not yet settled on a
        crossing does. inf where no area can be reached."""
        cross = self.model.crossing
        d = self.model.network.cost_to_areas(legs, edge_open, cross.areas)   # rows x nodes x areas
        z = -(d + cross.values()[:, None, :])
        top = z.max(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            lse = top + np.log(np.exp(z - np.where(np.isfinite(top), top, 0.0)[:, :, None]).sum(axis=2))
        return np.where(np.isfinite(top), -lse, np.inf)

    def _tabulate(self) -> None:
        """The choice at every (citizenship, place) as one sorted table: block b = the pair,
        entry b*K + k = b + the cumulative probability of the place's first k+1 legs. A
        party that can pay for every leg open to it draws its leg by one search in this
        table (no work per leg); the others go through the per-leg path in ``choose``.

        Only places with two legs or more are worked out leg by leg (with all K columns,
        so the sums are the same): at a place with one leg every entry is 1 (its weight
        over itself, or no leg open), and so at a place with none."""
        net = self.model.network
        nc, K = len(CITIZENSHIPS), self.outpad.shape[1]
        w = self._padded.reshape(nc, -1).take(self._fork_legs, axis=1)  # citizenships x forks x K
        pos = w > 0
        cdf = w.cumsum(axis=2)
        # the total weight as a running sum, leg after leg (the order in which the sum of the
        # legs' weights was taken when it was worked out for every place, legs not innermost)
        tot = cdf[:, :, -1].copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            cdf /= tot[:, :, None]
        last = K - 1 - pos[:, :, ::-1].argmax(axis=2)                   # last leg with a positive weight
        none = ~(tot > 0)
        np.copyto(cdf, 1.0, where=(self._k >= last[:, :, None]) | none[:, :, None])
        cdf += self._fork_block
        self._full[:, self._forks] = cdf
        self._blocks[:, self._forks, :K] = cdf
        self._after[:-1] = self._table[K::K]
        # where every entry of the earlier blocks is <= b + u and every later one above it
        # (the table sorted), a party's count of its own block's entries <= b + u is what
        # the search gives: ``_pick``. The other blocks are b + 1 throughout and every
        # block ends at b + 1, so the table is sorted when the forks' blocks are.
        self._sorted = bool((cdf[:, :, 1:] >= cdf[:, :, :-1]).all())
        # cash a party needs to be sure it can take any leg open to it, and to take one at
        # all: the fares of the dearest and of the cheapest leg with a weight (inf: none)
        nf = len(self._forks)
        pos = pos.reshape(nc, nf * K)
        one = self.weights[:, self._one_leg]
        one_fare = np.where(one > 0, net.cost[self._one_leg][None, :], np.inf)
        for name, order in (("_cash_needed", self._dear_first), ("_cash_for_any", self._cheap_first)):
            first = pos.take(order, axis=1).reshape(nc, nf, K).argmax(axis=2)
            cash = np.full((nc, net.n_nodes), np.inf)
            cash[:, self._forks] = np.where(none, np.inf, self._fares.take(order.reshape(nf, K)[np.arange(nf), first]))
            cash[:, self._one] = one_fare
            setattr(self, name, cash.reshape(-1))

    def _pick(self, block: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The leg (column of ``outpad``) drawn at ``u`` in each (citizenship, place) block:
        ``searchsorted(table, block + u, "right") - block*K``. Many parties: counted in
        their own blocks (the same where the table is sorted and the neighbour blocks lie
        below and above, which is checked); few: the search."""
        K = self.outpad.shape[1]
        v = block + u
        if len(block) < 64 or not self._sorted:
            return np.searchsorted(self._table, v, side="right") - block * K
        # sorted, so the entries <= v come first: their count is where the first one above is
        k = (self._blocks.reshape(-1, K + 1).take(block, axis=0) > v[:, None]).argmax(axis=1)
        odd = ~((self._before[block] <= v) & (self._after[block] > v))
        if odd.any():
            k[odd] = np.searchsorted(self._table, v[odd], side="right") - block[odd] * K
        return k

    def choose(self, rows: np.ndarray, t: int, p: int) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """Parties at a town pick their next leg and set out on it. Returns which of them
        set out (a mask over ``rows``; None: all) and the rows split off (members who
        chose differently), already on their legs. Parties that have saved for a leg
        take it (if it is still open to them) without choosing again."""
        if self.save_for_fare:
            saved = self._take_saved_legs(rows)
            if saved is not None:
                rest = (~saved).nonzero()[0]
                if not len(rest):
                    return None, []
                went, split = self._choose(rows[rest], t, p)
                saved[rest] = True if went is None else went
                return saved, split
        return self._choose(rows, t, p)

    def _take_saved_legs(self, rows: np.ndarray) -> np.ndarray | None:
        """Parties whose saving is over set out on the leg they saved for, where it is still
        open to their citizenship and paid for (robbery may have taken the savings) and
        they are still where they saved; the others choose again. Returns the mask of
        those who set out (None: nobody had saved)."""
        g = self.model.groups
        legs = g.saving_for[rows]
        had = legs >= 0
        if not had.any():
            return None
        idx = had.nonzero()[0]
        r, e = rows[idx], legs[idx].astype(np.int64)
        g.saving_for[r] = -1
        net = self.model.network
        # (a party moved while it saved, by a lever's arrest or removal, chooses afresh)
        ok = ((net.src[e] == g.node[r]) & (self.weights[g.cit[r].astype(np.int64), e] > 0)
              & (g.money[r] >= net.cost[e]))
        out = np.zeros(len(rows), bool)
        if ok.any():
            self.start_legs(r[ok], e[ok])
            out[idx[ok]] = True
        return out

    def _choose(self, rows: np.ndarray, t: int, p: int) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """``choose`` for parties with no saved leg."""
        m = self.model
        g = m.groups
        if self.split_at_forks:
            return self._choose_per_leg(rows, t, p)
        node = g.node[rows]
        cit = g.cit[rows]
        block = cit.astype(np.int64) * m.network.n_nodes + node
        money = g.money[rows]
        easy = money >= self._cash_needed[block]
        if easy.all():
            r, hard = rows, None
        else:
            hard = (~easy).nonzero()[0]
            if self._no_negative and not self.save_for_fare:
                # who can pay for no leg open to them stays, and earns: as _choose_per_leg
                # would find (its sum of weights of the legs they can pay for is 0)
                stuck = money[hard] < self._cash_for_any[block[hard]]
                if stuck.any():
                    s = rows[hard[stuck]]
                    g.money[s] += m.spec.hazards.earn_usd_per_day * g.budget[s]
                    g.budget[s] = 0.0
                    hard = hard[~stuck]
            r = rows[easy] if easy.any() else None
            if r is not None:
                cit, block, node = cit[easy], block[easy], node[easy]
        if r is not None:
            u = m.streams.uniform("route", t, g.key[r], p)
            k = self._pick(block, u)
            self.start_legs(r, self._outpad_flat[node * self.outpad.shape[1] + k], cit)
        if hard is None:
            return None, []
        if len(hard):
            went, split = self._choose_per_leg(rows[hard], t, p)
            easy[hard] = True if went is None else went
        else:
            split = []
        return easy, split

    def _choose_per_leg(self, rows: np.ndarray, t: int, p: int) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """The choice weighing each leg for each party (parties short of cash for some
        legs, or members choosing independently: ``split_at_forks``). Parties that can
        pay for no leg stay, and earn; with ``save_for_fare`` a leg they cannot yet pay
        for weighs as if its wait to earn the shortfall were days of travel, and who
        picks it stays and saves (``_save``). Returns as ``choose``."""
        m = self.model
        g, net = m.groups, m.network
        out = self._legs_out.take(g.node[rows], axis=0)  # a missing leg: n_edges, weight 0
        cit = g.cit[rows]
        w = self._padded.take(cit.astype(np.int64)[:, None] * (net.n_edges + 1) + out)
        if self.save_for_fare:
            dw = self.day_weight[cit.astype(np.int64) if len(self.day_weight) > 1 else 0]
            w *= np.exp(-dw * self._days_to_save(g.money[rows][:, None], self._cost_out.take(out)))
        else:
            w *= g.money[rows][:, None] >= self._cost_out.take(out)
        tot = w.sum(axis=1)
        stuck = tot <= 0
        went = None
        if stuck.any():
            s = rows[stuck]
            g.money[s] += m.spec.hazards.earn_usd_per_day * g.budget[s]
            g.budget[s] = 0.0
            went = ~stuck
            ok = went.nonzero()[0]
            if not len(ok):
                return went, []
            rows, w, out, tot, cit = rows[ok], w[ok], out[ok], tot[ok], cit[ok]
        probs = w / tot[:, None]
        pos = probs > 0
        choice = pos.argmax(axis=1)
        multi = ((np.add.reduce(pos, axis=1) > 1) & (g.size[rows] > 0)).nonzero()[0]
        new_rows = []
        if len(multi) and not self.split_at_forks:
            # the party moves as one: one categorical draw per group
            r = rows[multi]
            u = m.streams.uniform("route", t, g.key[r], p)
            cdf = probs[multi].cumsum(axis=1)
            pick = np.add.reduce(u[:, None] > cdf, axis=1)
            last = probs.shape[1] - 1 - pos[multi][:, ::-1].argmax(axis=1)
            choice[multi] = np.minimum(pick, last)
        elif len(multi):
            r = rows[multi]
            K = probs.shape[1]
            u = m.streams.uniform("route", t, g.key[r][:, None], (p * K + np.arange(K))[None, :])
            counts = multinomial_from_uniforms(g.size[r], probs[multi], u)
            nb = (counts > 0).sum(axis=1)
            choice[multi] = np.argmax(counts > 0, axis=1)
            sp = np.flatnonzero(nb > 1)
            if len(sp):
                gi, ki = np.nonzero(counts[sp] > 0)
                parent = r[sp][gi]
                keys = derive_keys(g.key[parent], t, ROUTE, p * K + ki)
                first = np.r_[True, gi[1:] != gi[:-1]]
                # the first branch keeps the parent's row; the others get new rows
                keep_rows = parent[first]
                g.size[keep_rows] = counts[sp][gi[first], ki[first]]
                g.key[keep_rows] = keys[first]
                choice[multi[sp]] = ki[first]
                src, kk = parent[~first], ki[~first]
                kids = g.copy_rows(src, size=counts[sp][gi[~first], kk], key=keys[~first],
                                   parent=src, born=np.full(len(src), t))
                m.activate(kids)
                kid_legs = out[multi[sp]][gi[~first], kk]
                if self.save_for_fare:
                    off = self._save(kids, kid_legs, t)
                    kids, kid_legs = kids[off], kid_legs[off]
                self.start_legs(kids, kid_legs)
                new_rows.append(kids)
        legs = out[np.arange(len(rows)), choice]
        if self.save_for_fare:
            off = self._save(rows, legs, t)
            if not off.all():
                went = off if went is None else _within(went, off)
                rows, legs, cit = rows[off], legs[off], cit[off]
        self.start_legs(rows, legs, cit)
        return went, new_rows

    def _days_to_save(self, money: np.ndarray, fare: np.ndarray) -> np.ndarray:
        """Whole days a person with ``money`` needs to earn ``fare`` (0 if paid already)."""
        return np.ceil(np.maximum(fare - money, 0.0) / self._earn)

    def _save(self, rows: np.ndarray, legs: np.ndarray, t: int) -> np.ndarray:
        """Parties that picked a leg they cannot yet pay for stay where they are until they
        have earned its fare (``wait_until``; the earnings are credited now, as a wait in
        custody's are), then take it (``_take_saved_legs``). Returns the mask of those who
        set out now."""
        g = self.model.groups
        days = self._days_to_save(g.money[rows], self._cost_out[legs])
        short = days > 0
        if short.any():
            s = rows[short]
            g.wait_until[s] = t + days[short].astype(np.int64)
            g.saving_for[s] = legs[short]
            g.money[s] += self._earn * days[short]
            g.budget[s] = 0.0
        return ~short

    def start_legs(self, rows: np.ndarray, edges: np.ndarray, cit: np.ndarray | None = None) -> None:
        """The parties set out on these legs (``cit``: their citizenships, if known)."""
        m = self.model
        g, net = m.groups, m.network
        m.books.start_legs(g.cit[rows] if cit is None else cit, edges, g.size[rows])
        g.edge[rows] = edges
        g.node[rows] = net.dst[edges]
        g.remaining[rows] = net.days[edges]
        g.money[rows] -= net.cost[edges]


def _within(went: np.ndarray, off: np.ndarray) -> np.ndarray:
    """``went`` (a mask over all rows) with those of its set-out rows that ``off`` (a mask
    over them) holds back cleared."""
    went = went.copy()
    went[went.nonzero()[0][~off]] = False
    return went
