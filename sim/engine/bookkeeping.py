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

END_STATES = ("dead", "released_us", "expelled_home", "removed_home")


class Recorder:
    """Daily counts per metric, citizenship and place, kept sparse."""

    def __init__(self, n_cit: int, n_nodes: int):
        self.n_nodes = n_nodes
        self.size = n_cit * n_nodes
        self._buf: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {m: [] for m in METRICS}
        self._rows: list[tuple[int, int, np.ndarray, np.ndarray]] = []

    def add(self, metric: str, cit: np.ndarray, node: np.ndarray, value: np.ndarray) -> None:
        if len(value):
            self._buf[metric].append((cit.astype(np.int64) * self.n_nodes + node, value))

    def flush(self, day: int) -> None:
        for mi, m in enumerate(METRICS):
            parts = self._buf[m]
            if not parts:
                continue
            idx = np.concatenate([p[0] for p in parts])
            val = np.concatenate([p[1] for p in parts])
            tot = np.bincount(idx, weights=val, minlength=self.size)
            nz = np.flatnonzero(tot)
            self._rows.append((day, mi, nz, tot[nz]))
            parts.clear()

    def frame(self) -> pd.DataFrame:
        if not self._rows:
            return pd.DataFrame({k: np.zeros(0, np.int64) for k in ("day", "metric", "cit", "node", "value")})
        day = np.concatenate([np.full(len(r[2]), r[0]) for r in self._rows])
        met = np.concatenate([np.full(len(r[2]), r[1]) for r in self._rows])
        idx = np.concatenate([r[2] for r in self._rows])
        val = np.concatenate([r[3] for r in self._rows])
        return pd.DataFrame({"day": day, "metric": met, "cit": idx // self.n_nodes,
                             "node": idx % self.n_nodes, "value": np.rint(val).astype(np.int64)})


class Tallies:
    """Daily totals that levers learn from: encounters and removals by citizenship,
    arrivals and removals by place (read-only for levers)."""

    def __init__(self, n_days: int, n_cit: int, n_nodes: int):
        self.encounters = np.zeros((n_days, n_cit))
        self.removals = np.zeros((n_days, n_cit))
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

    def record(self, metric: str, cit: np.ndarray, node: np.ndarray, value: np.ndarray) -> None:
        self.recorder.add(metric, cit, node, value)

    def count_legs(self, cit: np.ndarray, edges: np.ndarray, size: np.ndarray, day: int) -> None:
        if day >= self.first_day:
            np.add.at(self.legs, (cit, edges), size)

    def timeseries(self, dates: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
        """Tidy daily rows (date, metric, nationality, place, seed, value) of the reported period."""
        net = self.network
        f = self.recorder.frame()
        f = f[f["day"] >= self.first_day]
        place = np.where(net.is_border, net.names, net.ids)
        return pd.DataFrame({
            "date": np.asarray(dates.date, dtype=object)[f["day"].to_numpy()],
            "metric": np.asarray(METRICS, dtype=object)[f["metric"].to_numpy()],
            "nationality": np.asarray(CITIZENSHIPS, dtype=object)[f["cit"].to_numpy()],
            "place": place[f["node"].to_numpy()].astype(object),
            "seed": np.full(len(f), seed, dtype=np.int64),
            "value": f["value"].to_numpy(dtype=np.int64),
        })

    def leg_flows(self, seed: int) -> pd.DataFrame:
        """People who started each leg during the period: seed, nationality, from, to, mode, persons."""
        net = self.network
        c, e = np.nonzero(self.legs)
        return pd.DataFrame({
            "seed": np.full(len(c), seed, dtype=np.int64),
            "nationality": np.asarray(CITIZENSHIPS, dtype=object)[c],
            "from": net.ids[net.src[e]].astype(object), "to": net.ids[net.dst[e]].astype(object),
            "mode": net.mode[e].astype(object), "persons": self.legs[c, e],
        })
