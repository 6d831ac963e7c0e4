"""The route network: places (nodes) and legs (directed edges), read from CSV.

Why a data file and not code: every place and leg carries its own source or stated
assumption, researchers edit them without touching Python, and a scenario can point
to its own network. The class turns the tables into the arrays the model indexes
every day (edge endpoints, days, cost, hazard, access by citizenship) and into the
costs to the border that route choice weighs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError

NODE_KINDS = ("origin", "transit", "crossing", "station", "airport", "border_area")
MODES = ("foot", "boat", "bus", "train", "air")
NODE_COLUMNS = ("id", "name", "country", "kind", "lat", "lon")
EDGE_COLUMNS = ("from", "to", "mode", "km")
FIELD_OFFICE_SUFFIX = "Field Office"
COMPONENT_OFO = "Office of Field Operations"
COMPONENT_BP = "U.S. Border Patrol"


def _read_csv(path: Path, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, what, "file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except Exception as exc:  # pandas' parser errors have many types
        raise InputError(path, what, f"cannot read CSV ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(path, missing[0], "required column missing")
    return df


def _floats(df: pd.DataFrame, col: str, path: Path, default: float | None = None,
            low: float | None = None, high: float | None = None) -> np.ndarray:
    if col not in df.columns:
        if default is None:
            raise InputError(path, col, "required column missing")
        return np.full(len(df), default, dtype=np.float64)
    out = np.empty(len(df), dtype=np.float64)
    for i, v in enumerate(df[col]):
        v = v.strip()
        if v == "" and default is not None:
            out[i] = default
            continue
        try:
            x = float(v)
        except ValueError:
            raise InputError(path, f"row {i + 2}: {col}", f"not a number: {v!r}") from None
        if not np.isfinite(x) or (low is not None and x < low) or (high is not None and x > high):
            rng = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise InputError(path, f"row {i + 2}: {col}", f"{x} is outside {rng}")
        out[i] = x
    return out


@dataclass
class Network:
    """Nodes and directed edges as arrays; ids map to indices through ``index``."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    node_files: tuple[str, str] = ("", "")
    index: dict[str, int] = field(init=False)
    # origin node -> its visa holders' twin (``with_holders``); an edge -> its twin's copy
    holders_of: dict[int, int] = field(default_factory=dict)
    holder_edges: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {nid: i for i, nid in enumerate(self.nodes["id"])}
        n = len(self.nodes)
        self.n_nodes = n
        self.n_edges = len(self.edges)
        self.ids = self.nodes["id"].to_numpy()
        self.names = self.nodes["name"].to_numpy()
        self.kind = self.nodes["kind"].to_numpy()
        self.lat = self.nodes["lat"].to_numpy(dtype=np.float64)
        self.lon = self.nodes["lon"].to_numpy(dtype=np.float64)
        self.move_chance = self.nodes["move_chance"].to_numpy(dtype=np.float64)
        self.is_border = self.kind == "border_area"
        # what the outputs' ``place`` column calls each node: a border area by its CBP name
        # (as CBP reports encounters), any other node by its id
        self.place = np.where(self.is_border, self.names, self.ids).astype(object)
        self.is_field_office = np.array([k == "border_area" and str(nm).endswith(FIELD_OFFICE_SUFFIX)
                                         for k, nm in zip(self.kind, self.names)])
        self.src = self.edges["from"].map(self.index).to_numpy(dtype=np.int64)
        self.dst = self.edges["to"].map(self.index).to_numpy(dtype=np.int64)
        self.mode = self.edges["mode"].to_numpy()
        self.km = self.edges["km"].to_numpy(dtype=np.float64)
        self.days = self.edges["days"].to_numpy(dtype=np.float64)
        self.cost = self.edges["cost_usd"].to_numpy(dtype=np.float64)
        self.hazard = self.edges["hazard"].to_numpy(dtype=np.float64)
        self.access = [tuple(a.split(";")) if a else () for a in self.edges["access"]]
        self.edge_index = {(self.ids[a], self.ids[b]): e for e, (a, b) in enumerate(zip(self.src, self.dst))}
        order = np.argsort(self.src, kind="stable")
        self.out_edges: list[np.ndarray] = [order[self.src[order] == i] for i in range(n)]
        # edges grouped by their start, for the minimum over each place's legs
        self._src_order = order
        self._src_nodes, self._src_starts = np.unique(self.src[order], return_index=True)
        self.max_out = max((len(o) for o in self.out_edges), default=0)
        self._levels = self._levels_to_border()

    def _levels_to_border(self) -> list[tuple] | None:
        """The places by height (the most legs from them to a dead end; border areas have
        none), with their legs grouped by place: (places, their legs' slice of
        ``_level_legs``, the legs' ends, group starts or None if one leg each, whether a
        border area is among them) per height from 1 up. None when the legs make a cycle.

        Why: legs run towards the border, so the network is usually acyclic, and the costs
        to the border are then final one height at a time, in one pass (``cost_to_border``)."""
        n = self.n_nodes
        height = np.zeros(n, dtype=np.int64)
        left = np.bincount(self.src, minlength=n)  # legs out of each place not yet settled
        into: list[list[int]] = [[] for _ in range(n)]
        for e, d in enumerate(self.dst):
            into[d].append(e)
        ready = [v for v in range(n) if left[v] == 0]
        done = 0
        while ready:
            v = ready.pop()
            done += 1
            for e in into[v]:
                s = self.src[e]
                height[s] = max(height[s], height[v] + 1)
                left[s] -= 1
                if left[s] == 0:
                    ready.append(s)
        if done < n:
            return None
        levels, first = [], 0
        for h in range(1, int(height.max(initial=0)) + 1):
            nodes = np.flatnonzero(height == h)
            legs = np.concatenate([self.out_edges[v] for v in nodes])
            starts = np.cumsum([0] + [len(self.out_edges[v]) for v in nodes[:-1]])
            single = len(legs) == len(nodes)  # one leg each: no minimum over legs to take
            levels.append((nodes, slice(first, first + len(legs)), self.dst[legs], None if single else starts,
                           bool(self.is_border[nodes].any())))
            first += len(legs)
        self._level_legs = np.concatenate([self.out_edges[v] for lv in levels for v in lv[0]]) if levels else None
        return levels

    @classmethod
    def from_csv(cls, nodes_path: str | Path, edges_path: str | Path,
                 speeds: dict[str, float] | None = None) -> "Network":
        """Read and check the two tables; errors name the file, row and column."""
        nodes_path, edges_path = Path(nodes_path), Path(edges_path)
        nodes = _read_csv(nodes_path, "nodes", NODE_COLUMNS)
        edges = _read_csv(edges_path, "edges", EDGE_COLUMNS)
        for col in ("id", "kind"):
            nodes[col] = nodes[col].str.strip()
        dup = nodes["id"][nodes["id"].duplicated()]
        if len(dup):
            raise InputError(nodes_path, "id", f"duplicate node id {dup.iloc[0]!r}")
        bad = nodes.index[~nodes["kind"].isin(NODE_KINDS)]
        if len(bad):
            i = bad[0]
            raise InputError(nodes_path, f"row {i + 2}: kind",
                             f"unknown kind {nodes.at[i, 'kind']!r} (one of {', '.join(NODE_KINDS)})")
        nodes["lat"] = _floats(nodes, "lat", nodes_path, low=-90, high=90)
        nodes["lon"] = _floats(nodes, "lon", nodes_path, low=-180, high=180)
        nodes["move_chance"] = _floats(nodes, "move_chance", nodes_path, default=1.0, low=0.0, high=1.0)
        ids = set(nodes["id"])
        for col in ("from", "to", "mode"):
            edges[col] = edges[col].str.strip()
        for col in ("from", "to"):
            unknown = edges.index[~edges[col].isin(ids)]
            if len(unknown):
                i = unknown[0]
                raise InputError(edges_path, f"row {i + 2}: {col}", f"unknown node {edges.at[i, col]!r}")
        bad = edges.index[~edges["mode"].isin(MODES)]
        if len(bad):
            i = bad[0]
            raise InputError(edges_path, f"row {i + 2}: mode", f"unknown mode {edges.at[i, 'mode']!r} (one of {', '.join(MODES)})")
        edges["km"] = _floats(edges, "km", edges_path, low=0.0)
        speeds = speeds or {}
        days = _floats(edges, "days", edges_path, default=-1.0, low=-1.0)
        for i in np.flatnonzero(days < 0):
            sp = speeds.get(edges.at[i, "mode"])
            if not sp:
                raise InputError(edges_path, f"row {i + 2}: days", "missing, and no speed for its mode")
            days[i] = edges.at[i, "km"] / sp
        edges["days"] = days
        edges["cost_usd"] = _floats(edges, "cost_usd", edges_path, default=0.0, low=0.0)
        edges["hazard"] = _floats(edges, "hazard", edges_path, default=0.0, low=0.0, high=1.0)
        if "access" not in edges.columns:
            edges["access"] = ""
        edges["access"] = edges["access"].str.replace(" ", "").str.upper()
        border_src = edges["from"].map(dict(zip(nodes["id"], nodes["kind"]))) == "border_area"
        if border_src.any():
            i = edges.index[border_src][0]
            raise InputError(edges_path, f"row {i + 2}: from", "a border area is an end point and cannot have outgoing legs")
        net = cls(nodes.reset_index(drop=True), edges.reset_index(drop=True), (str(nodes_path), str(edges_path)))
        return net

    def with_holders(self, origins: list[str]) -> "Network":
        """This network with a twin of each origin given: the place its visa holders set
        out from (id ``<origin>+holders``), with a copy of every leg out of it. A visa lever
        may spare the copies (``visa_regime.holders_exempt``: Mexico admits holders of a
        valid US visa without its own), so a share of a citizenship keeps a way a visa
        closes for the rest; every other lever acts on the copies as on the legs. Twins and
        copies come after the network's own nodes and edges, so their indices stay."""
        if not origins:
            return self
        twins = self.nodes[self.nodes["id"].isin(origins)].copy()
        twin_id = {o: f"{o}+holders" for o in twins["id"]}
        twins["id"] = twins["id"].map(twin_id)
        twins["name"] = twins["name"].astype(str) + " (visa holders)"
        copies = self.edges[self.edges["from"].isin(list(twin_id))].copy()
        copies["from"] = copies["from"].map(twin_id)
        net = Network(pd.concat([self.nodes, twins], ignore_index=True),
                      pd.concat([self.edges, copies], ignore_index=True), self.node_files)
        net.holders_of = {self.index[o]: net.index[t] for o, t in twin_id.items()}
        net.holder_edges = {int(e): self.n_edges + k for k, e in enumerate(copies.index)}
        return net

    @property
    def public_node(self) -> np.ndarray:
        """Per node, the node it is reported as: a visa holders' twin is its origin (holding
        a visa is a trait of those setting out, not a place), every other node itself."""
        out = np.arange(self.n_nodes)
        for origin, twin in self.holders_of.items():
            out[twin] = origin
        return out

    def leg_edges(self, leg: tuple[str, str], holders: bool = True) -> list[int]:
        """The edges of a leg named by its [from, to] ids: the leg, and (``holders``) its
        copy out of the origin's visa holders' twin, if there is one."""
        e = self.edge_index[tuple(leg)]
        return [e, self.holder_edges[e]] if holders and e in self.holder_edges else [e]

    def check_citizenships(self, labels: set[str], edges_path: str) -> None:
        """Every label in an edge's ``access`` list must be a known citizenship."""
        for i, acc in enumerate(self.access):
            for a in acc:
                if a not in labels:
                    raise InputError(edges_path, f"row {i + 2}: access", f"unknown citizenship {a!r}")

    def over_legs_out(self, ufunc: np.ufunc, values: np.ndarray, empty: float) -> np.ndarray:
        """``ufunc`` reduced over each place's legs out (``values``: rows x edges; the
        result rows x nodes, ``empty`` where a place has none)."""
        out = np.full((values.shape[0], self.n_nodes), empty)
        if len(self._src_nodes):
            out[:, self._src_nodes] = ufunc.reduceat(values.take(self._src_order, axis=1), self._src_starts, axis=1)
        return out

    def cost_to_border(self, leg_cost: np.ndarray, usable: np.ndarray,
                       target: np.ndarray | None = None) -> np.ndarray:
        """Least total cost from every node to the nearest border area, per row of ``usable``.

        ``leg_cost`` (edges, or rows x edges) is what one leg costs a traveller; ``usable``
        (rows x edges) says which legs each row (a citizenship) may take, so a visa that
        closes one air leg changes the cost to go of that citizenship only. One pass by height
        when the legs make no cycle, else Bellman-Ford (at most one pass per node), both
        vectorised over rows; run when levers or familiarity change the costs, never per
        day. Unreachable nodes get inf. ``target``: the places that count as the border
        (default every border area).
        """
        usable = np.atleast_2d(usable)
        target = self.is_border if target is None else target
        if self._levels:
            # acyclic: a place's legs all lead to lower places, whose costs are final, so
            # one pass by height gives the same least costs as the passes below (worked
            # out nodes x rows, where a height's places and legs are whole rows of memory)
            cost = np.full((self.n_nodes, usable.shape[0]), np.inf)
            cost[target] = 0.0
            c_edge = np.where(usable, np.atleast_2d(leg_cost), np.inf).T.take(self._level_legs, axis=0)
            for nodes, legs, dst, starts, border in self._levels:
                best = c_edge[legs] + cost.take(dst, axis=0)
                if starts is not None:
                    best = np.minimum.reduceat(best, starts, axis=0)
                # a place that is not a border area starts at inf: the minimum is ``best``
                cost[nodes] = np.minimum(cost[nodes], best) if border else best
            return np.ascontiguousarray(cost.T)
        cost = np.full((usable.shape[0], self.n_nodes), np.inf)
        cost[:, target] = 0.0
        if self._levels is not None:  # no legs at all
            return cost
        c_edge = np.where(usable, np.atleast_2d(leg_cost), np.inf)[:, self._src_order]
        dst, srcs, starts = self.dst[self._src_order], self._src_nodes, self._src_starts
        if not len(srcs):
            return cost
        for _ in range(self.n_nodes):
            best = np.minimum.reduceat(c_edge + cost[:, dst], starts, axis=1)
            new = cost.copy()
            new[:, srcs] = np.minimum(cost[:, srcs], best)
            if np.array_equal(new, cost):
                break
            cost = new
        return cost

    def cost_to_areas(self, leg_cost: np.ndarray, usable: np.ndarray, areas: np.ndarray) -> np.ndarray:
        """Least total cost from every node to each of ``areas`` (rows x nodes x areas).

        As ``cost_to_border``, but to every border area apart: route choice weighs the ways
        to all areas (their logsum with each area's own value, ``sim.engine.crossing``),
        not only the cheapest. On an acyclic network one pass by height, vectorised over
        rows and areas; else one Bellman-Ford per area."""
        usable = np.atleast_2d(usable)
        rows, n_areas = usable.shape[0], len(areas)
        if not self._levels:
            out = np.empty((rows, self.n_nodes, n_areas))
            for b, a in enumerate(areas):
                target = np.zeros(self.n_nodes, bool)
                target[a] = True
                out[:, :, b] = self.cost_to_border(leg_cost, usable, target)
            return out
        cost = np.full((self.n_nodes, rows, n_areas), np.inf)
        cost[areas, :, np.arange(n_areas)] = 0.0
        c_edge = np.where(usable, np.atleast_2d(leg_cost), np.inf).T.take(self._level_legs, axis=0)
        for nodes, legs, dst, starts, border in self._levels:
            best = c_edge[legs][:, :, None] + cost.take(dst, axis=0)
            if starts is not None:
                best = np.minimum.reduceat(best, starts, axis=0)
            cost[nodes] = np.minimum(cost[nodes], best) if border else best
        return np.ascontiguousarray(cost.transpose(1, 0, 2))

    def component(self, node: int) -> str:
        """CBP component that counts encounters at a border area."""
        return COMPONENT_OFO if self.is_field_office[node] else COMPONENT_BP
