"""Encounters at the US border and what follows: expulsion, removal or release.

Why a module: everyone who reaches a border area is encountered the same day, and
the outcome is one multinomial split per group over five fates (expelled and retrying,
expelled home, removed and retrying, removed home, released), under the regimes in
force (Title 42 between ports, Title 8 removal shares between ports and at ports,
retry rates, Field Operations' daily capacity).
Levers see each day's encounters through ``EncounterBatch`` (the ``on_encounter`` hook)
and may divert released people into removal (deportation charters) without touching
the groups themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.citizenship import CITIZENSHIPS
from sim.engine.bookkeeping import accumulate
from sim.engine.custody import F_EXPELLED_HOME, F_RELEASED, F_REMOVED_HOME
from sim.engine.groups import ACTIVE, DONE
from sim.engine.services import IndexedRegime, Regimes
from sim.engine.streams import MultinomialByClass, derive_keys, name_id

# columns of the outcome counts
EXPELLED_RETRY, EXPELLED_HOME, REMOVED_RETRY, REMOVED_HOME, RELEASED = range(5)
_OUTCOMES = np.arange(5)[None, :]  # one uniform per outcome and group
QUEUE_MEMORY = 0.9  # the ports' wait as people hear of it: a mean over the last ten days or so


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

    def release_instead(self, sel: np.ndarray, n: np.ndarray) -> None:
        """``n`` people of rows ``sel`` who would be expelled are released instead (a
        receiving country's cap is full): taken from those expelled home first."""
        home = np.minimum(n, self.counts[sel, EXPELLED_HOME])
        self.counts[sel, EXPELLED_HOME] -= home
        self.counts[sel, EXPELLED_RETRY] -= n - home
        self.counts[sel, RELEASED] += n


def _per_cit(by) -> np.ndarray:
    return np.array([by.get(c) for c in CITIZENSHIPS], dtype=np.float64)


class Border:
    """The 13 CBP areas: encounter, sort, and send the ones who will retry to wait."""

    def __init__(self, model):
        self.model = model
        b = model.spec.border
        self.regimes = Regimes(b.title42, _per_cit(b.title42_expel_share), _per_cit(b.removal_share),
                               _per_cit(b.port_removal_share), b.expelled_retry, b.removed_retry,
                               b.port_capacity_per_day)
        self._expected = self.expected_release()
        # rules announced and not in force (AnnouncedRule), by tag: what each sets, and the
        # citizenships that take it into account by now (None: every one)
        self._news: dict[str, tuple[dict, np.ndarray | None]] = {}
        # the order in which the news was announced (its first hear_news or expect_news):
        # news is read in this order, the latest winning, whatever the order in which the
        # citizenships come to hear it (a rule announced later can be heard sooner)
        self._announced: dict[str, int] = {}
        # rules announced for a later date and still to come, by tag: what each sets, the
        # citizenships whose decisions at home do not take it into account yet (they would
        # arrive before its day), and its day: what it will mean is what those waiting hurry
        # before, or set out to wait near the border for
        self._coming: dict[str, tuple[dict, np.ndarray, int]] = {}
        # largest party the outcome tables cover (larger ones take the long way)
        dep = model.spec.departures
        self._nmax = min(max([dep.group_size.max] + [s.group_size.max for s in dep.by_citizenship.values()
                                                       if s.group_size]), 128)
        self._split: tuple[tuple, MultinomialByClass] | None = None
        self._credit = 0.0  # port appointments accrued and not yet used (sampled people)

    def expected_release(self, port: bool = False) -> np.ndarray:
        """Per citizenship, the chance that an encounter ends in release rather than in
        being sent home, under the regimes in force (those who retry try again), between
        ports (the default: what beliefs are about) or at a port of entry, where Title 42
        did not apply and Title 8 removals are fewer."""
        ex, rm = self._shares(port)
        er, rr = self._expelled_retry(), self.regimes.removed_retry.current
        released = (1 - ex) * (1 - rm)
        home = ex * (1 - er) + (1 - ex) * rm * (1 - rr)
        return released / np.maximum(released + home, 1e-12)

    def _expelled_retry(self) -> np.ndarray:
        """Per citizenship, the share of the expelled who try again: ``expelled_retry``,
        or ``returned_retry`` for citizenships Mexico takes back while a returns lever lasts."""
        ret = self.regimes.returned_retry.values
        return np.where(np.isnan(ret), self.regimes.expelled_retry.current, ret)

    def _shares(self, port: bool) -> tuple[np.ndarray, np.ndarray]:
        """Expulsion and removal shares per citizenship, between ports or at a port."""
        reg, k = self.regimes, self.model.spec.border.removal_scale
        if port:
            return np.zeros(len(CITIZENSHIPS)), np.minimum(k * np.asarray(reg.port_removal_share.current, np.float64), 1.0)
        ex = reg.expel_share.current if reg.title42.current else np.zeros(len(CITIZENSHIPS))
        return ex, np.minimum(k * np.asarray(reg.removal_share.current, dtype=np.float64), 1.0)

    def announce(self) -> None:
        """A lever changed the regimes: people hear of the outcomes the new rules imply."""
        expected = self.expected_release()
        changed = np.abs(expected - self._expected) > 1e-12
        self._expected = expected
        if changed.any():
            self.model.behaviour.announce(changed, expected)
        if self._coming:
            self._expect_coming()

    def hear_news(self, tag: str, sets: dict | None, heard: np.ndarray | None = None) -> None:
        """News of a rule not in force (``AnnouncedRule``) starts (``sets``: the regime
        values it announces) or ends (None). People believe the outcomes of the rules in
        force with every piece of news not yet ended applied, in the order announced;
        where that changes, the share who hear move their belief to it (as for a rule
        that starts). A rule that does start later is announced as usual, and news it
        supersedes is forgotten for the citizenships it changes. ``heard``: the
        citizenships whose decisions take the news into account by now (None: every one;
        news of a rule announced for a later date reaches each a journey ahead of it)."""
        before = self._believed()
        self._announced.setdefault(tag, len(self._announced))
        if sets is None:
            self._news.pop(tag, None)
        else:
            self._news[tag] = (sets, None if heard is None else np.array(heard, dtype=bool))
        after = self._believed()
        changed = np.abs(after - before) > 1e-12
        if changed.any():
            self.model.behaviour.announce(changed, after)
        if self._coming:
            self._expect_coming()

    def expect_news(self, tag: str, sets: dict | None, home: np.ndarray | None = None, day: int = -1) -> None:
        """News of a rule announced for a later date (``AnnouncedRule.effective``), known to
        every citizenship from its announcement to its day (``sets`` None: the day came):
        what it will mean once in force is what those waiting weigh against going now
        (``Behaviour.hurry``, ``Behaviour.lure``). ``home``: the citizenships whose
        decisions at home do not take it into account yet (``hear_news`` does from a
        journey ahead of its day); those held on the way, days from the border, weigh it
        until its day. ``day``: the day it takes effect (what those who set out to wait
        for it wait until)."""
        self._announced.setdefault(tag, len(self._announced))
        if sets is None:
            self._coming.pop(tag, None)
        else:
            self._coming[tag] = (sets, np.ones(len(CITIZENSHIPS), bool) if home is None else np.array(home, bool),
                                 day)
        self._expect_coming()

    def _expect_coming(self) -> None:
        """Tell behaviour the expected release, per citizenship, with the news heard and
        every rule still to come (the news of ``_coming`` pushed with the rest, read, and
        taken off again), which citizenships weigh it at home, and the day the last of
        them takes effect (what is expected holds from then)."""
        if not self._coming:
            self.model.behaviour.expect(None, None)
            return
        saved = dict(self._news)
        home = np.zeros(len(CITIZENSHIPS), bool)
        try:
            for tag, (sets, h, _) in self._coming.items():
                self._news[tag] = (sets, None)
                home |= h
            ahead = self._believed()
        finally:
            self._news = saved
        self.model.behaviour.expect(ahead, home, max(day for _, _, day in self._coming.values()))

    def _believed(self) -> np.ndarray:
        """Expected release under the rules in force and the news heard of, per
        citizenship: each citizenship with the news it has heard, in the order announced
        (citizenships that have heard the same pieces are computed together)."""
        if not self._news:
            return self.expected_release()
        tags = sorted(self._news, key=self._announced.__getitem__)
        n = len(CITIZENSHIPS)
        heard = np.stack([np.ones(n, bool) if (h := self._news[tag][1]) is None else h for tag in tags], axis=1)
        out = np.empty(n)
        for pattern in np.unique(heard, axis=0):
            rows = (heard == pattern).all(axis=1)
            out[rows] = self._release_with([tag for tag, on in zip(tags, pattern) if on])[rows]
        return out

    def _release_with(self, tags: list[str]) -> np.ndarray:
        """Expected release with the news of ``tags`` pushed onto the regimes, read and
        popped at once (nothing is processed under it)."""
        if not tags:
            return self.expected_release()
        entries = list(self._news_entries(tags))
        for key, reg, i, value in entries:
            if i is not None:
                reg.push(i, key, value)
                continue
            if isinstance(value, np.ndarray) and np.isnan(value).any():  # not covered: what holds now
                value = np.where(np.isnan(value), reg.current, value)
            reg.push(key, value)
        try:
            return self.expected_release()
        finally:
            for key, reg, i, _ in entries:
                if i is None:
                    reg.pop(key)
                else:
                    reg.pop(i, key)

    def _news_entries(self, tags: list[str]):
        """What the news of ``tags`` sets, in the order announced: (its tag on the regime,
        the regime, the citizenship for a per-citizenship regime such as ``expel_share``
        (None: the whole value), the value). A per-citizenship share is set only for the
        citizenships the news names."""
        for tag in tags:
            for name, value in self._news[tag][0].items():
                reg = self.regimes[name]
                if isinstance(reg, IndexedRegime):
                    for i in np.flatnonzero(~np.isnan(value)):
                        yield f"news:{tag}", reg, int(i), float(value[i])
                else:
                    yield f"news:{tag}", reg, None, value

    def _arrivals(self, t: int) -> np.ndarray:
        """Groups at a border area today. At ports with a daily capacity (CBP One
        appointments) only those served are encountered, in order of setting out (then
        key); the others are turned back to the town they came from, where they choose
        again (the port, or a crossing between ports). The day's excess over capacity, in
        days of capacity, is the wait the ports' value carries for those still on the
        way (``Crossing.queue_days``)."""
        m = self.model
        g, net = m.groups, m.network
        act = m.active
        rows = act[(g.status[act] == ACTIVE) & (g.edge[act] < 0) & net.is_border[g.node[act]]]
        cap = self.regimes.cbp_one_per_day.current
        cross = m.crossing
        fo = net.is_field_office[g.node[rows]] if cap is not None and len(rows) else None
        if fo is None or not fo.any():
            cross.queue_days[cross.is_port] *= QUEUE_MEMORY
            return rows
        fo_rows = rows[fo]
        order = np.lexsort((g.key[fo_rows], g.born[fo_rows]))
        size = g.size[fo_rows][order]
        # the day's appointments add to what is left; a party is seen whole once enough
        # have accrued for it (so a sampled run keeps the daily rate, whatever the sizes)
        today = cap * m.scale
        self._credit = min(self._credit + today, max(today, float(size[0])))
        take = np.cumsum(size) <= self._credit
        self._credit -= float(size[take].sum())
        seen = np.zeros(len(fo_rows), bool)
        seen[order] = take
        back = fo_rows[~seen]
        if len(back):
            g.node[back] = net.src[g.last_edge[back]]
        excess = float(size[~take].sum()) / m.scale / max(cap, 1e-9)
        q = cross.queue_days[cross.is_port]
        cross.queue_days[cross.is_port] = QUEUE_MEMORY * q + (1 - QUEUE_MEMORY) * excess
        return np.concatenate([rows[~fo], fo_rows[seen]])

    def _outcome_split(self) -> MultinomialByClass:
        """The outcome chances of each citizenship under the regimes in force, between
        ports (classes 0..C-1) and at ports (C..2C-1), as a split whose tables are built
        once and kept while the regimes last."""
        reg = self.regimes
        ex, rm = self._shares(False)
        prm = self._shares(True)[1]
        er, rr = self._expelled_retry(), reg.removed_retry.current
        key = (ex.tobytes(), rm.tobytes(), prm.tobytes(), er.tobytes(), rr)
        if self._split is None or self._split[0] != key:
            ex2, rm2, er2 = np.concatenate([ex, np.zeros_like(ex)]), np.concatenate([rm, prm]), np.concatenate([er, er])
            probs = np.stack([ex2 * er2, ex2 * (1 - er2), (1 - ex2) * rm2 * rr, (1 - ex2) * rm2 * (1 - rr),
                              (1 - ex2) * (1 - rm2)], axis=1)
            self._split = (key, MultinomialByClass(probs, self._nmax))
        return self._split[1]

    def encounter(self, t: int) -> None:
        """Everyone who reached a border area today is encountered, then sorted."""
        m = self.model
        g, net, books = m.groups, m.network, m.books
        rows = self._arrivals(t)
        if not len(rows):
            return
        b = m.spec.border
        cit, area, size = g.cit[rows], g.node[rows], g.size[rows]
        keys = g.key[rows]  # a copy: before retries re-key the rows
        books.record("encounters", cit, area, size)
        days = size.astype(np.int64) * g.days_travelling[rows]
        books.record("journey_days", cit, area, days)
        accumulate(books.tallies.encounters[t], cit, size)
        accumulate(books.tallies.journey_days[t], cit, days)
        # the chances are those of the row's citizenship (the same arithmetic, done per
        # citizenship); uniforms only for the branches that draw (a single stream draws
        # them all, in its order)
        split = self._outcome_split()
        u = m.streams.uniform("outcome", t, keys[:, None], _OUTCOMES if m.streams.mode == "single" else split.draws[None, :])
        port = net.is_field_office[area]
        books.tallies.between_ports[t] += float(size[~port].sum())
        c = split.split(size, cit.astype(np.int64) + len(CITIZENSHIPS) * port, u)
        m.crossing.remember(cit, area, size)
        accumulate(books.tallies.removals[t], cit, c[:, REMOVED_RETRY] + c[:, REMOVED_HOME])
        batch = EncounterBatch(rows, cit, area, size, keys, c)
        m.levers.encounter(batch, t)
        books.record("expulsions", cit, area, c[:, EXPELLED_RETRY] + c[:, EXPELLED_HOME])
        books.record("removals", cit, area, c[:, REMOVED_RETRY] + c[:, REMOVED_HOME])
        books.record("released_us", cit, area, c[:, RELEASED])
        total = c.sum(axis=0)
        books.ledger["expelled_home"] += int(total[EXPELLED_HOME])
        books.ledger["removed_home"] += int(total[REMOVED_HOME])
        books.ledger["released_us"] += int(total[RELEASED])
        accumulate(books.tallies.released[t], cit, c[:, RELEASED])
        accumulate(books.tallies.sent_home[t], cit, c[:, EXPELLED_HOME] + c[:, REMOVED_HOME])
        # the row itself: empty unless someone tries again; a second retry kind splits off
        retry_e, retry_r = c[:, EXPELLED_RETRY] > 0, c[:, REMOVED_RETRY] > 0
        g.status[rows] = DONE
        g.fate[rows] = np.where(c[:, RELEASED] > 0, F_RELEASED, np.where(
            c[:, REMOVED_HOME] > 0, F_REMOVED_HOME, np.where(c[:, EXPELLED_HOME] > 0, F_EXPELLED_HOME, 0)))
        g.size[rows] = 0
        # who tries again waits (one call for all: each row's draws are its own)
        wait = []  # (rows, where they wait, rows whose keys they derive from, kind, mean delay)
        both = (retry_e & retry_r).nonzero()[0]
        if len(both):
            kids = g.copy_rows(rows[both], size=c[both, REMOVED_RETRY], parent=rows[both], born=t)
            wait.append((kids, g.origin[kids], rows[both], 2, b.removed_retry_days))
        e_only = retry_e.nonzero()[0]
        if len(e_only):
            r = rows[e_only]
            g.size[r] = c[e_only, EXPELLED_RETRY]
            wait.append((r, net.src[g.last_edge[r]], r, 0, b.expelled_retry_days))
        r_only = (retry_r & ~retry_e).nonzero()[0]
        if len(r_only):
            r = rows[r_only]
            g.size[r] = c[r_only, REMOVED_RETRY]
            wait.append((r, g.origin[r], r, 2, b.removed_retry_days))
        if len(wait) == 1:
            m.custody.wait(*wait[0], t)
        elif wait:
            n = [len(w[0]) for w in wait]
            m.custody.wait(*(np.concatenate([w[i] for w in wait]) for i in range(3)),
                           np.repeat([w[3] for w in wait], n), np.repeat(np.array([w[4] for w in wait], float), n), t)
        for sel, got, tag, retry_share, retry_days in batch.diversions:
            # diverted removals leave from the row: size it back up, then remove
            keep = got > 0
            if not keep.any():
                continue
            src = rows[sel[keep]]
            # removals are taken from a fresh row so the retry rows above keep their state
            kids = g.copy_rows(src, size=got[keep], parent=src, born=np.full(len(src), t),
                               status=np.full(len(src), ACTIVE), key=derive_keys(keys[sel[keep]], t, name_id(tag)))
            m.custody.remove(kids, got[keep], area[sel[keep]], t, retry_share, retry_days, tag)
            emptied = src[(g.status[src] == DONE) & (g.fate[src] == 0)]
            g.fate[emptied] = F_REMOVED_HOME
