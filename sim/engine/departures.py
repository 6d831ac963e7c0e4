"""Departures: who sets out each day, from where, in which parties, with how much money.

Why a module: departures are drawn per (citizenship, origin) pair, not per person:
the day's count is a Poisson draw around the expected number (the potential departures
of the citizenship, ``Inputs.departures``, times the behavioural response of the pair,
``sim.engine.behaviour``, times the levers' factors), cut into parties of lognormal
size, each with lognormal cash. Every draw reads a stream at a key derived from the
pair, the day and the party's number, so a lever that changes one citizenship's
departures leaves the others' dice alone.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from sim.citizenship import CITIZENSHIPS, CODE
from sim.engine.groups import ACTIVE
from sim.engine.streams import derive_keys, name_id, poisson_from_uniform

SPAWN = name_id("spawn")
NEAR_BORDER = name_id("near_border")  # parties setting out to wait near the border for a better rule


class Departures:
    """The (citizenship, origin) pairs, with their shares, keys and party/money laws."""

    def __init__(self, model):
        self.model = model
        net, dep = model.network, model.spec.departures
        cits, origins, shares, keys, gmean, gsig, gmax, mmed, msig = ([] for _ in range(9))
        for c, spec in dep.by_citizenship.items():
            gs = spec.group_size or dep.group_size
            mo = dep.cash_law(c)
            for o, s in spec.origins.items():
                if s <= 0:
                    continue
                # an origin with visa holders' twin: the citizenship's share of holders
                # set out from the twin (independent choices: Poisson thinning)
                twin, h = net.holders_of.get(net.index[o]), dep.holders_share(c)
                places = [(net.index[o], s, o)] if twin is None else [
                    (net.index[o], s * (1.0 - h), o), (twin, s * h, net.ids[twin])]
                for node, share, name in places:
                    cits.append(CODE[c])
                    origins.append(node)
                    shares.append(share)
                    keys.append(name_id(f"{c}|{name}"))
                    gmean.append(gs.mean)
                    gsig.append(gs.sigma)
                    gmax.append(gs.max)
                    mmed.append(mo.median_usd * dep.cash_scale(c))
                    msig.append(mo.sigma)
        self.cit = np.array(cits, np.int64)
        self.origin = np.array(origins, np.int64)
        self.share = np.array(shares)
        self.key = np.array(keys, np.uint64)
        self.gsig = np.array(gsig)
        self.gmu = np.log(np.array(gmean)) - 0.5 * self.gsig**2
        self.gmean = np.array(gmean)
        self.gmax = np.array(gmax, np.int64)
        self.mmu = np.log(np.array(mmed))
        self.msig = np.array(msig)
        self._can_leave: tuple = (None, None)  # (the router's can_leave, its entries of the pairs)
        # each pair's key of each day, (pair key, day, SPAWN): its parties' keys derive from it
        self._day_keys = derive_keys(self.key[None, :], np.arange(model.n_days)[:, None], SPAWN)
        # the uniforms of the day's counts, every day's at once (None: drawn day by day)
        self._count_u = model.streams.uniform_days("departures", model.n_days, self.key)
        self.waiting: np.ndarray | None = None  # each pair's pool of people held back (expected persons)

    def origin_shares(self) -> np.ndarray:
        """Citizenships x nodes: each citizenship's share of departures from each origin."""
        out = np.zeros((len(CITIZENSHIPS), self.model.network.n_nodes))
        np.add.at(out, (self.cit, self.origin), self.share)
        tot = out.sum(axis=1, keepdims=True)
        return np.divide(out, tot, out=np.zeros_like(out), where=tot > 0)

    def main_origin(self) -> np.ndarray:
        """Per citizenship, its origin with the largest share (-1: none)."""
        out = np.full(len(CITIZENSHIPS), -1, np.int64)
        best = np.zeros(len(CITIZENSHIPS))
        for c, o, s in zip(self.cit, self.origin, self.share):
            if s > best[c]:
                best[c], out[c] = s, o
        return out

    def _from_home(self, potential: np.ndarray, response: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Expected departures of each pair today: its potential times the response, plus
        those of its pool who go today (``behaviour.waiting``); the pool takes in those
        the response holds back, and empties faster before a worse rule announced for a
        later date (``Behaviour.hurry``). The pool is an expectation (no draw), so it moves only
        where the response does; it starts at its steady state on the first day. Second,
        those the response holds back who set out to wait near the border for a better
        rule announced for a later date (``Behaviour.lure``; None: nobody): they do not
        join the pool."""
        w = self.model.spec.behaviour.waiting
        lure = self.model.behaviour.lure()
        back = np.maximum(1.0 - response, 0.0)
        lured = None if lure is None else potential * np.minimum(response * lure[self.cit], back)
        if w.leave_rate <= 0:
            return potential * response, lured
        held = potential * back if lured is None else potential * back - lured
        out = w.leave_rate * np.minimum(response, 1.0)
        hurry = self.model.behaviour.hurry()
        if hurry is not None:  # a worse rule is coming: waiting costs more (``Behaviour.hurry``)
            out = np.minimum(out * hurry[self.cit], 1.0 - w.settle_rate)
        if self.waiting is None:
            rate = out + w.settle_rate
            self.waiting = np.divide(held, rate, out=np.zeros_like(held), where=rate > 0)
        going = out * self.waiting
        self.waiting = self.waiting + held - going - w.settle_rate * self.waiting
        return potential * response + going, lured

    def draw(self, t: int) -> np.ndarray:
        """Today's parties as new group rows (already counted as departures)."""
        m = self.model
        if self._can_leave[0] is not m.router.can_leave:  # the route weights changed
            self._can_leave = (m.router.can_leave, m.router.can_leave[self.cit, self.origin])
        response = m.behaviour.departure_factor(self.cit, self.origin) * self._can_leave[1]
        base, lured = self._from_home(m.inputs.departures[t, self.cit] * self.share, response)
        both = base if lured is None else base + lured
        expected = np.bincount(self.cit, weights=both, minlength=len(CITIZENSHIPS))
        factor = m.levers.departure_factor(t, expected) * m.behaviour.prevalence_factor(expected)
        m.behaviour.remember_departures(self.cit, both * factor[self.cit])
        u = m.streams.uniform("departures", t, self.key) if self._count_u is None else self._count_u[t]
        rows = self._parties(t, poisson_from_uniform(base * factor[self.cit], u), self._day_keys[t])
        if lured is None:
            return rows
        # those who set out to wait near the border: their own count's draw and parties' keys,
        # so that the others' dice are the same with or without a better rule to come
        u = m.streams.uniform("departures_near_border", t, self.key)
        near = self._parties(t, poisson_from_uniform(lured * factor[self.cit], u), derive_keys(self.key, t, NEAR_BORDER))
        m.groups.wait_for[near] = m.behaviour.ahead_day
        m.lured = m.lured or bool(len(near))
        return np.concatenate([rows, near])

    def _parties(self, t: int, n: np.ndarray, day_keys: np.ndarray) -> np.ndarray:
        """``n`` people of each pair set out today in parties (new group rows, counted as
        departures), each party's key derived from its pair's key of the day (``day_keys``)."""
        m = self.model
        pos = (n > 0).nonzero()[0]
        if not len(pos):
            return np.zeros(0, np.int64)
        n = n[pos]
        k = np.ceil(n / self.gmean[pos] * 1.5).astype(np.int64) + 4
        first = k.cumsum() - k  # each pair's first candidate
        pair = pos.repeat(k)
        pair_first = first.repeat(k)
        j = np.arange(len(pair)) - pair_first
        # the candidates' keys: the pair's key of the day, then the candidate's number
        keys = derive_keys(day_keys[pos].repeat(k), j)
        z = ndtri(m.streams.uniform("party_size", t, keys))
        size = np.minimum(np.maximum(np.rint(np.exp(self.gmu[pair] + self.gsig[pair] * z)), 1),
                          self.gmax[pair]).astype(np.int64)
        cum = size.cumsum()
        start = cum - size  # cumulative before this candidate (global)
        before = start - start[pair_first]  # within-pair persons before
        total = n.repeat(k)
        keep = before < total
        last_of_pair = np.zeros(len(pair), bool)
        last_of_pair[first + k - 1] = True
        size = np.where(keep, np.minimum(size, total - before), 0)
        # a pair whose candidates ran out gives the rest to its last candidate
        short = last_of_pair & keep & (before + size < total)
        size[short] = total[short] - before[short]
        sel = (size > 0).nonzero()[0]
        pair, keys, size = pair[sel], keys[sel], size[sel]
        zm = ndtri(m.streams.uniform("money", t, keys))
        money = np.exp(self.mmu[pair] + self.msig[pair] * zm)
        cit = self.cit[pair]
        origin = self.origin[pair]
        rows = m.groups.add(size=size, cit=cit, node=origin, origin=origin, money=money,
                            status=ACTIVE, key=keys, born=t, belief=m.behaviour.belief[cit])
        m.books.ledger["spawned"] += int(size.sum())
        m.books.record("departures", cit, origin, size)
        m.behaviour.count_departures(cit, size)
        return rows
