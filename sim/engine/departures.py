"""Departures: who sets out each day, from where, in which parties, with how much money.

Why a module: departures are drawn per (citizenship, origin) pair, not per person:
the day's count is a Poisson draw around the expected number (the schedule times the
levers' factors), cut into parties of lognormal size, each with lognormal cash. Every
draw reads a stream at a key derived from the pair, the day and the party's number,
so a lever that changes one citizenship's departures leaves the others' dice alone.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from sim.citizenship import CODE
from sim.engine.groups import ACTIVE
from sim.engine.streams import derive_keys, name_id, poisson_from_uniform

SPAWN = name_id("spawn")


class Departures:
    """The (citizenship, origin) pairs, with their shares, keys and party/money laws."""

    def __init__(self, model):
        self.model = model
        net, dep = model.network, model.spec.departures
        cits, origins, shares, keys, gmean, gsig, gmax, mmed, msig = ([] for _ in range(9))
        for c, spec in dep.by_citizenship.items():
            gs = spec.group_size or dep.group_size
            mo = spec.money or dep.money
            for o, s in spec.origins.items():
                if s <= 0:
                    continue
                cits.append(CODE[c])
                origins.append(net.index[o])
                shares.append(s)
                keys.append(name_id(f"{c}|{o}"))
                gmean.append(gs.mean)
                gsig.append(gs.sigma)
                gmax.append(gs.max)
                mmed.append(mo.median_usd)
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

    def draw(self, t: int, factor: np.ndarray) -> np.ndarray:
        """Today's parties as new group rows (already counted as departures)."""
        m = self.model
        lam = (m.inputs.departures[t, self.cit] * factor[self.cit] * self.share
               * m.router.can_leave[self.cit, self.origin])
        u = m.streams.uniform("departures", t, self.key)
        n = poisson_from_uniform(lam, u)
        pos = np.flatnonzero(n > 0)
        if not len(pos):
            return np.zeros(0, np.int64)
        n = n[pos]
        k = np.ceil(n / self.gmean[pos] * 1.5).astype(np.int64) + 4
        pair = np.repeat(pos, k)
        j = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
        keys = derive_keys(self.key[pair], t, SPAWN, j)
        z = ndtri(m.streams.uniform("party_size", t, keys))
        size = np.clip(np.rint(np.exp(self.gmu[pair] + self.gsig[pair] * z)), 1, self.gmax[pair]).astype(np.int64)
        cum = np.cumsum(size)
        start = np.repeat(cum - size, 1)  # cumulative before this candidate (global)
        pair_first = np.repeat(np.cumsum(k) - k, k)
        before = start - (cum[pair_first] - size[pair_first])  # within-pair persons before
        total = np.repeat(n, k)
        keep = before < total
        last_of_pair = np.r_[pair[1:] != pair[:-1], True]
        size = np.where(keep, np.minimum(size, total - before), 0)
        # a pair whose candidates ran out gives the rest to its last candidate
        short = last_of_pair & keep & (before + size < total)
        size[short] = total[short] - before[short]
        sel = np.flatnonzero(size > 0)
        pair, keys, size = pair[sel], keys[sel], size[sel]
        zm = ndtri(m.streams.uniform("money", t, keys))
        money = np.exp(self.mmu[pair] + self.msig[pair] * zm)
        cit = self.cit[pair]
        origin = self.origin[pair]
        rows = m.groups.add(size=size, cit=cit, node=origin, origin=origin, money=money,
                            status=np.full(len(sel), ACTIVE), key=keys, born=np.full(len(sel), t))
        m.books.ledger["spawned"] += int(size.sum())
        m.books.record("departures", cit, origin, size)
        return rows
