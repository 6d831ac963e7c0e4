"""The state of every migrant group, one numpy column per attribute.

Why columns and not Python objects: a full-scale run moves hundreds of thousands of
groups over 550 days; updating them all at once with array operations is what makes
it take seconds instead of minutes (Starsim's people arrays follow the same idea).
Rows are never reused: a group that has ended keeps its row with size 0 and its fate,
so its history stays readable. Capacity grows by half again when full.
"""

from __future__ import annotations

import numpy as np

# status of a row
DONE, ACTIVE, WAITING = 0, 1, 2
STATUS_NAMES = {DONE: "done", ACTIVE: "travelling", WAITING: "waiting"}
# fates: what happened to a row's last members when it emptied ("none" while it has members)
FATES = ("none", "dead", "released_us", "expelled_home", "removed_home", "gave_up")

COLUMNS: dict[str, tuple[type, object]] = {
    "size": (np.int64, 0),            # persons in the group
    "cit": (np.int16, 0),             # citizenship code (sim.citizenship.CODE)
    "node": (np.int32, -1),           # current node, or the node the current edge leads to
    "edge": (np.int32, -1),           # current edge, -1 when at a node
    "last_edge": (np.int32, -1),      # the edge that brought the group to its node
    "remaining": (np.float64, 0.0),   # days left on the current edge
    "budget": (np.float64, 0.0),      # travel time left today (days)
    "money": (np.float64, 0.0),       # USD per person
    "status": (np.int8, DONE),
    "fate": (np.int8, 0),
    "key": (np.uint64, 0),            # stable random-number key (lineage-derived)
    "born": (np.int32, 0),            # day of departure (or split)
    "origin": (np.int32, -1),         # origin node (where removals return)
    "wait_until": (np.int32, 0),      # day a waiting group sets out again (or a saving one, below)
    "saving_for": (np.int32, -1),     # the leg a party in a town saves for (route_choice.save_for_fare)
    "attempts": (np.int16, 1),        # attempts to reach the US so far
    "parent": (np.int64, -1),         # row this group split from
    "days_travelling": (np.int32, 0),
    "belief": (np.float64, 0.0),      # believed release chance when the group (last) decided to go
    "held": (np.bool_, False),        # held in a town by a fall of that belief (behaviour.on_the_way)
    "wait_for": (np.int32, -1),       # day of a better rule the party set out to wait for near the border (-1: none)
}


class GroupTable:
    """Growable struct-of-arrays; ``n`` rows in use."""

    def __init__(self, capacity: int = 1024):
        self.n = 0
        self._cap = max(16, capacity)
        for name, (dtype, fill) in COLUMNS.items():
            setattr(self, name, np.full(self._cap, fill, dtype=dtype))

    def _grow(self, need: int) -> None:
        cap = self._cap
        while cap < need:
            cap = int(cap * 1.5) + 16
        for name, (dtype, fill) in COLUMNS.items():
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._cap = cap

    def add(self, **cols: np.ndarray) -> np.ndarray:
        """Append rows; every column not given takes its default, a scalar is every new
        row's value (the first column given must be an array). Returns new row ids."""
        k = len(next(iter(cols.values())))
        if self.n + k > self._cap:
            self._grow(self.n + k)
        new = slice(self.n, self.n + k)
        for name, val in cols.items():
            getattr(self, name)[new] = val
        self.n += k
        return np.arange(new.start, new.stop)

    def copy_rows(self, src: np.ndarray, **override: np.ndarray) -> np.ndarray:
        """New rows copying ``src`` rows (a split), with some columns replaced."""
        k = len(src)
        if self.n + k > self._cap:
            self._grow(self.n + k)
        new = slice(self.n, self.n + k)
        for name in COLUMNS:
            col = getattr(self, name)
            col[new] = override[name] if name in override else col[src]
        self.n += k
        return np.arange(new.start, new.stop)

    def persons(self, status: int) -> int:
        s = self.status[: self.n] == status
        return int(self.size[: self.n][s].sum())
