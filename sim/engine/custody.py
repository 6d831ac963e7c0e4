"""People taken off the route: removed to their country, sent back along it, or waiting
to try again.

Why a service: the border (Title 8 removals, expulsions), deportation charters,
Panama's removal flights and enforcement checks all take some members of some groups
off their way; they differ in who and how many, not in what happens next. Members are
split off by binomial draws, so the statistics are those of independent people, and
every split keeps a lineage-derived key (common random numbers).
"""

from __future__ import annotations

import numpy as np

from sim.engine.bookkeeping import accumulate
from sim.engine.groups import DONE, FATES, WAITING
from sim.engine.streams import binomial_from_uniform, derive_keys, name_id

F_DEAD, F_RELEASED, F_EXPELLED_HOME, F_REMOVED_HOME, F_GAVE_UP = (
    FATES.index(f) for f in ("dead", "released_us", "expelled_home", "removed_home", "gave_up"))


def binomial(n, p, u) -> np.ndarray:
    return binomial_from_uniform(n, np.broadcast_to(p, np.shape(n)), u)


class Custody:
    """Removals, returns along the route and waits before trying again."""

    def __init__(self, model):
        self.model = model

    def remove(self, rows, counts, place, t: int, retry_share: float, retry_days: float, tag: str) -> None:
        """``counts`` members of each row are removed to their origin; some set out again."""
        m = self.model
        g, books = m.groups, m.books
        keep = counts > 0
        if not keep.any():
            return
        rows, counts, place = rows[keep], counts[keep], np.broadcast_to(place, keep.shape)[keep]
        u = m.streams.uniform(tag + "/retry", t, g.key[rows])
        again = binomial(counts, retry_share, u)
        home = counts - again
        g.size[rows] -= counts
        books.ledger["removed_home"] += int(home.sum())
        books.record("removals", g.cit[rows], place, counts)
        accumulate(books.tallies.removals_at[t], place, counts)
        accumulate(books.tallies.removals[t], g.cit[rows], counts)
        accumulate(books.tallies.sent_home[t], g.cit[rows], home)
        r = np.flatnonzero(again > 0)
        if len(r):
            kids = g.copy_rows(rows[r], size=again[r], parent=rows[r], born=np.full(len(r), t))
            self.wait(kids, g.origin[kids], rows[r], name_id(tag), retry_days, t)
        gone = rows[g.size[rows] == 0]
        g.status[gone] = DONE
        g.fate[gone] = F_REMOVED_HOME

    def send_back(self, rows, counts, node: int, t: int, tag: str) -> None:
        """``counts`` members of each row are taken to ``node`` and go on from there."""
        m = self.model
        g = m.groups
        keep = counts > 0
        if not keep.any():
            return
        rows, counts = rows[keep], counts[keep]
        m.books.record("interdictions", g.cit[rows], g.node[rows], counts)
        whole = counts == g.size[rows]
        part = rows[~whole]
        if len(part):
            kids = g.copy_rows(part, size=counts[~whole], parent=part, born=np.full(len(part), t),
                               key=derive_keys(g.key[part], t, name_id(tag)))
            g.size[part] -= counts[~whole]
            m.activate(kids)
            moved = np.concatenate([rows[whole], kids])
        else:
            moved = rows[whole]
        g.node[moved] = node
        g.edge[moved] = -1
        g.budget[moved] = 0.0

    def wait(self, rows, node, parent_rows, cat, mean_days, t: int) -> None:
        """Members who will try again: they wait at ``node`` for a geometric delay
        (``cat``, the kind of wait in their key, and ``mean_days`` may be given per row)."""
        m = self.model
        g = m.groups
        g.key[rows] = derive_keys(g.key[parent_rows], t, name_id("outcome"), cat)
        g.node[rows] = node
        g.edge[rows] = -1
        g.status[rows] = WAITING
        g.attempts[rows] += 1
        u = m.streams.uniform("retry_wait", t, g.key[rows])
        q = 1.0 / mean_days
        if not isinstance(q, np.ndarray):
            delay = np.ceil(np.log(u) / np.log1p(-q)) if q < 1 else np.ones(len(rows))
        else:  # a mean per row (several kinds of wait at once)
            lo = q < 1
            if lo.all():
                delay = np.ceil(np.log(u) / np.log1p(-q))
            else:
                delay = np.ones(len(rows))
                delay[lo] = np.ceil(np.log(u[lo]) / np.log1p(-q[lo]))
        delay = np.maximum(delay, 1).astype(np.int64)
        g.wait_until[rows] = t + delay
        g.money[rows] += m.spec.hazards.earn_usd_per_day * delay
        g.fate[rows] = 0
        m.park(rows)

