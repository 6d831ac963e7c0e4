"""Small typed services through which levers change the model.

Why: a lever must not reach into the model's arrays. It acts through what its hook is
given, or through one of these:

- ``Regime``: a setting that levers override while they last (Title 42 in force, the
  Title 8 removal shares, retry rates, the daily capacity of Field Operations). Levers
  that overlap compose: the one started last wins while both last; when it ends the
  one before it (or the base value) holds again.
- ``IndexedRegime``: the same for one entry of an array (a town's daily chance of
  leaving, a citizenship's Title 42 expulsion share).
- ``SeatPool``: seats that refill each day a lever is in force, up to a cap, served
  in group-key order so the same groups get seats whatever other groups exist (common
  random numbers).
- ``Access``: which legs each citizenship may use: visas open or close legs, closures
  shut them; every change recomputes route weights once, never per day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


class Regime(Generic[T]):
    """A value with a base and a stack of lever overrides (latest started wins)."""

    def __init__(self, name: str, base: T):
        self.name = name
        self.base = base
        self._stack: list[tuple[str, T]] = []

    def push(self, tag: str, value: T) -> None:
        self._stack.append((tag, value))

    def pop(self, tag: str) -> None:
        self._stack = [x for x in self._stack if x[0] != tag]

    @property
    def current(self) -> T:
        return self._stack[-1][1] if self._stack else self.base


class Regimes:
    """The border regimes levers may override."""

    def __init__(self, title42: bool, expel_share: np.ndarray, removal_share: np.ndarray,
                 port_removal_share: np.ndarray, expelled_retry: float, removed_retry: float,
                 port_capacity: float | None = None):
        self.title42: Regime[bool] = Regime("title42", title42)
        self.expel_share = IndexedRegime(expel_share)  # per citizenship, while Title 42 is in force
        self.removal_share: Regime[np.ndarray] = Regime("removal_share", removal_share)
        self.port_removal_share: Regime[np.ndarray] = Regime("port_removal_share", port_removal_share)
        self.expelled_retry: Regime[float] = Regime("expelled_retry", expelled_retry)
        # per citizenship, for those returned to Mexico (title42_returns); NaN: expelled_retry
        self.returned_retry = IndexedRegime(np.full(len(expel_share), np.nan))
        self.removed_retry: Regime[float] = Regime("removed_retry", removed_retry)
        self.cbp_one_per_day: Regime[float | None] = Regime("cbp_one_per_day", port_capacity)

    def __getitem__(self, name: str) -> Regime:
        reg = getattr(self, name, None)
        if not isinstance(reg, (Regime, IndexedRegime)):
            raise KeyError(name)
        return reg


class IndexedRegime:
    """An array (``values``) whose entries levers override while they last, each entry
    composing like a ``Regime``. ``on_change`` is called after every change (the router
    counts a place's expected wait in the time of a way, so it recomputes its weights)."""

    def __init__(self, base: np.ndarray):
        self.base = base
        self.values = base.copy()
        self._stacks: dict[int, Regime[float]] = {}
        self.on_change: Callable[[], None] | None = None

    def push(self, index: int, tag: str, value: float) -> None:
        reg = self._stacks.setdefault(index, Regime(f"entry {index}", float(self.base[index])))
        reg.push(tag, value)
        self._set(index, reg.current)

    def pop(self, index: int, tag: str) -> None:
        reg = self._stacks.get(index)
        if reg is not None:
            reg.pop(tag)
            self._set(index, reg.current)

    def _set(self, index: int, value: float) -> None:
        if self.values[index] != value:
            self.values[index] = value
            if self.on_change is not None:
                self.on_change()

    @property
    def current(self) -> np.ndarray:
        return self.values


class SeatPool:
    """Seats refilled by ``per_day`` before each day in force, never above ``cap``."""

    def __init__(self, per_day: float, cap: float):
        self.per_day = per_day
        self.cap = cap
        self.seats = 0.0

    def refill(self) -> None:
        self.seats = min(self.seats + self.per_day, self.cap)

    def take(self, keys: np.ndarray, want: np.ndarray) -> np.ndarray:
        """Serve ``want`` per row in key order (not row order) while seats last."""
        order = keys.argsort(kind="stable")
        w = want[order]
        before = w.cumsum() - w
        got_sorted = np.minimum(np.maximum(int(self.seats) - before, 0), w)  # np.clip(., 0, w)
        got = np.empty_like(got_sorted)
        got[order] = got_sorted
        self.seats -= float(got.sum())
        return got


class Access:
    """Which legs each citizenship may use (citizenships x edges), under levers."""

    def __init__(self, base: np.ndarray, on_change: Callable[[], None]):
        self.base = base
        self.open = base.copy()
        self._set: dict[str, tuple[int, list[int], bool]] = {}
        self._closed: dict[str, tuple[list[int], list[int]]] = {}
        self._on_change = on_change

    def set(self, tag: str, cit: int, edges: list[int], open_: bool) -> None:
        """A visa opens (True) or closes (False) legs for one citizenship."""
        self._set[tag] = (cit, edges, open_)
        self._recompute()

    def close(self, tag: str, cits: list[int], edges: list[int]) -> None:
        """A closure shuts legs for some citizenships."""
        self._closed[tag] = (cits, edges)
        self._recompute()

    def clear(self, tag: str) -> None:
        """The lever ``tag`` no longer acts on access."""
        self._set.pop(tag, None)
        self._closed.pop(tag, None)
        self._recompute()

    def _recompute(self) -> None:
        eo = self.base.copy()
        for cit, edges, open_ in self._set.values():  # in start order: later wins
            eo[cit, edges] = open_
        for cits, edges in self._closed.values():
            eo[np.ix_(cits, edges)] = False
        self.open = eo
        self._on_change()
