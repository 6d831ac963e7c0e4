"""What a run counts: daily metrics, the people ledger, tallies levers learn from, leg flows.

Why apart from the model: the model moves people; this module only counts them, in
the shapes the outputs need. Daily counts are kept sparse (only non-zero cells of
metric x citizenship x place) and turned into the tidy table of the output contract at
the end (``timeseries``). The ledger proves that nobody is created or lost: everyone
who set out is dead, released in the US, back home (expelled or removed), still
travelling or waiting to try again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.citizenship import CITIZENSHIPS
from sim.outcomes.metrics import NAMES as METRICS

END_STATES = ("dead", "released_us", "expelled_home", "removed_home", "gave_up")


def accumulate(target: np.ndarray, index, values) -> None:
    """``target[index] += values`` with repeated indices summed (``index`` a tuple for a 2-D
    target): np.bincount, many times faster than np.add.at on the model's hot paths."""
    if isinstance(index, tuple):
        flat = np.ravel_multi_index(index, target.shape)
        add = np.bincount(flat, weights=values, minlength=target.size).reshape(target.shape)
    else:
        add = np.bincount(index, weights=values, minlength=target.shape[0])
    if target.dtype == add.dtype:  # float64: no conversion to make
        target += add
    else:
        target += add.astype(target.dtype)


class Recorder:
    """Daily counts per metric, citizenship and place, kept sparse.

    A bin is (day, metric, citizenship, place). What is recorded is kept as it comes and
    summed into bins later, each bin's values added in the order they came (as one
    ``np.bincount`` per metric and day would): a day with many values at the end of that
    day, over all of the day's bins; quiet days (a sampled run) together, over the bins in
    use, once enough have gathered (``PENDING``) or when the counts are read. Bins summing
    to 0 are dropped. (Why: a day records a dozen small batches; placing and summing them
    once costs a few array operations instead of a few per batch.)"""

    BUSY = 2000  # values in a day summed over all its bins at once
    PENDING = 20000  # values of quiet days gathered before they are summed

    def __init__(self, n_cit: int, n_nodes: int):
        self.n_nodes = n_nodes
        self.size = n_cit * n_nodes
        self.span = len(METRICS) * self.size  # bins a day
        self._offset = {m: i * self.size for i, m in enumerate(METRICS)}
        self._parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # (offset, cit, node, value)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # (bins, values) of quiet days
        self._n_pending = 0
        self._rows: list[tuple[np.ndarray, np.ndarray]] = []  # (bins, sums) in bin order

    def add(self, metric: str, cit: np.ndarray, node: np.ndarray, value: np.ndarray) -> None:
        if len(value):
            if getattr(node, "shape", None) != value.shape:  # one place for all
                node = np.broadcast_to(node, value.shape)
            self._parts.append((self._offset[metric], cit, node, value))

    def flush(self, day: int) -> None:
        """The end of ``day``: what was recorded since the last flush belongs to it."""
        parts = self._parts
        if not parts:
            return
        idx = np.concatenate([p[1] for p in parts]).astype(np.int64)  # the bin: citizenship,
        idx *= self.n_nodes
        idx += np.concatenate([p[2] for p in parts])  # place
        idx += np.repeat([p[0] for p in parts], [len(p[3]) for p in parts])  # and metric
        val = np.concatenate([p[3] for p in parts])
        parts.clear()
        if len(idx) >= self.BUSY:
            self._sum_pending()
            tot = np.bincount(idx, weights=val, minlength=self.span)
            nz = tot.nonzero()[0]
            self._rows.append((nz + day * self.span, tot[nz]))
        else:
            self._pending.append((idx + day * self.span, val))
            self._n_pending += len(idx)
            if self._n_pending >= self.PENDING:
                self._sum_pending()

    def _sum_pending(self) -> None:
        if not self._pending:
            return
        bins = np.concatenate([p[0] for p in self._pending])
        val = np.concatenate([p[1] for p in self._pending])
        self._pending.clear()
        self._n_pending = 0
        order = np.argsort(bins, kind="stable")
        sorted_bins = bins[order]
        first = np.empty(len(bins), bool)
        first[0] = True
        np.not_equal(sorted_bins[1:], sorted_bins[:-1], out=first[1:])
        at = np.empty(len(bins), np.int64)
        at[order] = np.cumsum(first) - 1  # each value's bin, numbered in bin order
        tot = np.bincount(at, weights=val)  # in the order the values came
        nz = tot != 0
        self._rows.append((sorted_bins[first][nz], tot[nz]))

    def frame(self) -> pd.DataFrame:
        self._sum_pending()
        if not self._rows:
            return pd.DataFrame({k: np.zeros(0, np.int64) for k in ("day", "metric", "cit", "node", "value")})
        bins = np.concatenate([r[0] for r in self._rows])
        val = np.concatenate([r[1] for r in self._rows])
        day, bins = np.divmod(bins, self.span)
        metric, idx = np.divmod(bins, self.size)
        return pd.DataFrame({"day": day, "metric": metric, "cit": idx // self.n_nodes,
                             "node": idx % self.n_nodes, "value": np.rint(val).astype(np.int64)})


class Tallies:
    """Daily totals that beliefs and levers learn from: encounters (and their days on the
    way), removals, releases and people sent home by citizenship, encounters between
    ports, arrivals and removals by place (read-only for levers)."""

    def __init__(self, n_days: int, n_cit: int, n_nodes: int):
        self.encounters = np.zeros((n_days, n_cit))
        self.journey_days = np.zeros((n_days, n_cit))  # days on the way of those encountered, summed
        self.between_ports = np.zeros(n_days)  # encounters between ports (Border Patrol), sampled people
        self.removals = np.zeros((n_days, n_cit))
        self.released = np.zeros((n_days, n_cit))
        self.sent_home = np.zeros((n_days, n_cit))
        self.arrivals_at = np.zeros((n_days, n_nodes))
        self.removals_at = np.zeros((n_days, n_nodes))


class Ledger(dict):
    """Persons by end state since the start; ``spawned`` counts everyone who set out."""

    def __init__(self):
        super().__init__(spawned=0, **{k: 0 for k in END_STATES})

    def balance(self, travelling: int, waiting: int) -> dict:
        """The ledger with the living, and whether it balances exactly."""
        out = dict(self)
        out["travelling"] = travelling
        out["waiting_to_retry"] = waiting
        out["balanced"] = out["spawned"] == sum(out[k] for k in (*END_STATES, "travelling", "waiting_to_retry"))
        return out


class Books:
    """Everything a run counts, for the model and for levers that learn from it."""

    def __init__(self, n_days: int, n_cit: int, network, first_day: int):
        self.network = network
        self.recorder = Recorder(n_cit, network.n_nodes)
        self.tallies = Tallies(n_days, n_cit, network.n_nodes)
        self.ledger = Ledger()
        # people starting each leg during the period, by citizenship (for flow maps; totals,
        # not daily rows, which would triple the time series)
        self.legs = np.zeros((n_cit, network.n_edges), dtype=np.int64)
        self.first_day = first_day
        self._legs_today: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (cit, edges, persons)
        # the rows report a visa holders' twin as its origin (``Network.public_node``)
        self._public = network.public_node if network.holders_of else None
        # legs into another country: their starts are the ``country_entries`` metric
        country = network.nodes["country"].to_numpy()
        self._entry = np.flatnonzero(country[network.src] != country[network.dst])

    def record(self, metric: str, cit: np.ndarray, node: np.ndarray, value: np.ndarray) -> None:
        self.recorder.add(metric, cit, node if self._public is None else self._public[node], value)

    def start_legs(self, cit: np.ndarray, edges: np.ndarray, size: np.ndarray) -> None:
        """People setting out on legs now; summed once at the end of the day (``legs_of_day``)."""
        self._legs_today.append((cit, edges, size))

    def legs_of_day(self, day: int) -> np.ndarray | None:
        """People who set out on each leg today (citizenships x edges; None: nobody), added
        to the leg flows from the first reported day."""
        parts = self._legs_today
        if not parts:
            return None
        idx = np.concatenate([p[0] for p in parts]).astype(np.int64)  # the cell: citizenship,
        idx *= self.network.n_edges
        idx += np.concatenate([p[1] for p in parts])  # leg
        size = np.concatenate([p[2] for p in parts])
        parts.clear()
        add = np.bincount(idx, weights=size, minlength=self.legs.size).reshape(self.legs.shape)
        if day >= self.first_day:
            self.legs += add.astype(np.int64)
        # those on a leg into another country enter it at the leg's end, counted on the day
        # they set out (legs across a border take a day or less; a flight's passengers
        # count on the day they board); before the day's flush of the recorder
        into = add[:, self._entry]
        c, k = np.nonzero(into)
        if len(c):
            self.record("country_entries", c, self.network.dst[self._entry[k]], into[c, k])
        return add

    def timeseries(self, dates: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
        """Tidy daily rows (date, metric, nationality, place, seed, value) of the reported period."""
        net = self.network
        f = self.recorder.frame()
        f = f[f["day"] >= self.first_day]
        return pd.DataFrame({
            "date": np.asarray(dates.date, dtype=object)[f["day"].to_numpy()],
            "metric": np.asarray(METRICS, dtype=object)[f["metric"].to_numpy()],
            "nationality": np.asarray(CITIZENSHIPS, dtype=object)[f["cit"].to_numpy()],
            "place": net.place[f["node"].to_numpy()],
            "seed": np.full(len(f), seed, dtype=np.int64),
            "value": f["value"].to_numpy(dtype=np.int64),
        })

    def leg_flows(self, seed: int) -> pd.DataFrame:
        """People who started each leg during the period: seed, nationality, from, to, mode,
        persons (visa holders' legs out of their origin's twin counted with the origin's)."""
        net = self.network
        legs = self.legs.copy()
        for e, copy in net.holder_edges.items():  # a twin's copy of a leg is reported as the leg
            legs[:, e] += legs[:, copy]
            legs[:, copy] = 0
        c, e = np.nonzero(legs)
        return pd.DataFrame({
            "seed": np.full(len(c), seed, dtype=np.int64),
            "nationality": np.asarray(CITIZENSHIPS, dtype=object)[c],
            "from": net.ids[net.src[e]].astype(object), "to": net.ids[net.dst[e]].astype(object),
            "mode": net.mode[e].astype(object), "persons": legs[c, e],
        })
