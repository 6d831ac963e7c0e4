"""Encounters at the US border and what follows: expulsion, removal or release.

Why a module: everyone who reaches a border area is encountered the same day, and
the outcome is one multinomial split per group over five fates (expelled and retrying,
expelled home, removed and retrying, removed home, released), under the regimes in
force (Title 42, Title 8 removal shares, retry rates, Field Operations' daily capacity).
Levers see each day's encounters through ``EncounterBatch`` (the ``on_encounter`` hook)
and may divert released people into removal (deportation charters) without touching
the groups themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.citizenship import CITIZENSHIPS
from sim.engine.custody import F_EXPELLED_HOME, F_RELEASED, F_REMOVED_HOME
from sim.engine.groups import ACTIVE, DONE
from sim.engine.services import Regimes
from sim.engine.streams import derive_keys, multinomial_from_uniforms, name_id

# columns of the outcome counts
EXPELLED_RETRY, EXPELLED_HOME, REMOVED_RETRY, REMOVED_HOME, RELEASED = range(5)


@dataclass
class EncounterBatch:
    """The day's encounters: one row per group, with its outcome counts (5 columns).

    A lever may move people from ``counts[:, RELEASED]`` into removal with ``divert``;
    they are then removed by the border as the lever says (its retry share and delay)."""

    rows: np.ndarray
    cit: np.ndarray
    area: np.ndarray
    size: np.ndarray
    keys: np.ndarray
    counts: np.ndarray
    diversions: list = field(default_factory=list)

    def divert(self, sel: np.ndarray, got: np.ndarray, tag: str, retry_share: float, retry_days: float) -> None:
        """Take ``got`` released people of rows ``sel`` (indices into the batch) into removal."""
        self.counts[sel, RELEASED] -= got
        self.diversions.append((sel, got, tag, retry_share, retry_days))


def _per_cit(by) -> np.ndarray:
    return np.array([by.get(c) for c in CITIZENSHIPS], dtype=np.float64)


class Border:
    """The 13 CBP areas: encounter, sort, and send the ones who will retry to wait."""

    def __init__(self, model):
        self.model = model
        b = model.spec.border
        self.expel_share = _per_cit(b.title42_expel_share)
        self.removal_share_base = _per_cit(b.removal_share)
        title42 = b.title42_end is not None and model.inputs.day_of(b.title42_end) >= 0
        self.regimes = Regimes(title42, self.removal_share_base, b.expelled_retry, b.removed_retry)
        if title42:
            model.at_day(model.inputs.day_of(b.title42_end) + 1, self._end_title42)  # first day under Title 8

    def _end_title42(self) -> None:
        self.regimes.title42.base = False

    def _arrivals(self, t: int) -> np.ndarray:
        """Groups at a border area today; at ports with an appointment capacity, only those
        served (in key order); the rest wait at the port."""
        m = self.model
        g, net = m.groups, m.network
        act = m.active
        rows = act[(g.status[act] == ACTIVE) & (g.edge[act] < 0) & net.is_border[g.node[act]]]
        cap = self.regimes.cbp_one_per_day.current
        if cap is None or not len(rows):
            return rows
        fo = net.is_field_office[g.node[rows]]
        if not fo.any():
            return rows
        fo_rows = rows[fo]
        order = np.argsort(g.key[fo_rows], kind="stable")
        seen = np.zeros(len(fo_rows), bool)
        seen[order] = np.cumsum(g.size[fo_rows][order]) <= cap
        return np.concatenate([rows[~fo], fo_rows[seen]])

    def encounter(self, t: int) -> None:
        """Everyone who reached a border area today is encountered, then sorted."""
        m = self.model
        g, net, books, reg = m.groups, m.network, m.books, self.regimes
        rows = self._arrivals(t)
        if not len(rows):
            return
        b = m.spec.border
        cit, area, size = g.cit[rows], g.node[rows], g.size[rows]
        keys = g.key[rows].copy()  # before retries re-key the rows
        books.record("encounters", cit, area, size)
        np.add.at(books.tallies.encounters[t], cit, size)
        ex = self.expel_share[cit] if reg.title42.current else np.zeros(len(rows))
        rm = reg.removal_share.current[cit]
        er, rr = reg.expelled_retry.current, reg.removed_retry.current
        probs = np.stack([ex * er, ex * (1 - er), (1 - ex) * rm * rr, (1 - ex) * rm * (1 - rr),
                          (1 - ex) * (1 - rm)], axis=1)
        u = m.streams.uniform("outcome", t, g.key[rows][:, None], np.arange(5)[None, :])
        c = multinomial_from_uniforms(size, probs, u)
        np.add.at(books.tallies.removals[t], cit, c[:, REMOVED_RETRY] + c[:, REMOVED_HOME])
        batch = EncounterBatch(rows, cit, area, size, keys, c)
        m.levers.encounter(batch, t)
        books.record("expulsions", cit, area, c[:, EXPELLED_RETRY] + c[:, EXPELLED_HOME])
        books.record("removals", cit, area, c[:, REMOVED_RETRY] + c[:, REMOVED_HOME])
        books.record("released_us", cit, area, c[:, RELEASED])
        books.ledger["expelled_home"] += int(c[:, EXPELLED_HOME].sum())
        books.ledger["removed_home"] += int(c[:, REMOVED_HOME].sum())
        books.ledger["released_us"] += int(c[:, RELEASED].sum())
        # the row itself: empty unless someone tries again; a second retry kind splits off
        retry_e, retry_r = c[:, EXPELLED_RETRY] > 0, c[:, REMOVED_RETRY] > 0
        both = np.flatnonzero(retry_e & retry_r)
        g.status[rows] = DONE
        g.fate[rows] = np.select([c[:, RELEASED] > 0, c[:, REMOVED_HOME] > 0, c[:, EXPELLED_HOME] > 0],
                                 [F_RELEASED, F_REMOVED_HOME, F_EXPELLED_HOME], 0)
        g.size[rows] = 0
        custody = m.custody
        if len(both):
            kids = g.copy_rows(rows[both], size=c[both, REMOVED_RETRY], parent=rows[both], born=np.full(len(both), t))
            m.register(kids)
            custody.wait(kids, g.origin[kids], rows[both], 2, b.removed_retry_days, t)
        e_only = np.flatnonzero(retry_e)
        if len(e_only):
            r = rows[e_only]
            g.size[r] = c[e_only, EXPELLED_RETRY]
            custody.wait(r, net.src[g.last_edge[r]], r, 0, b.expelled_retry_days, t)
        r_only = np.flatnonzero(retry_r & ~retry_e)
        if len(r_only):
            r = rows[r_only]
            g.size[r] = c[r_only, REMOVED_RETRY]
            custody.wait(r, g.origin[r], r, 2, b.removed_retry_days, t)
        for sel, got, tag, retry_share, retry_days in batch.diversions:
            # diverted removals leave from the row: size it back up, then remove
            keep = got > 0
            if not keep.any():
                continue
            src = rows[sel[keep]]
            # removals are taken from a fresh row so the retry rows above keep their state
            kids = g.copy_rows(src, size=got[keep], parent=src, born=np.full(len(src), t),
                               status=np.full(len(src), ACTIVE), key=derive_keys(keys[sel[keep]], t, name_id(tag)))
            m.register(kids)
            custody.remove(kids, got[keep], area[sel[keep]], t, retry_share, retry_days, tag)
            emptied = src[(g.status[src] == DONE) & (g.fate[src] == 0)]
            g.fate[emptied] = F_REMOVED_HOME
