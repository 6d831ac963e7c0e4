"""RouteModel: the Mesa model of migrant groups moving day by day to the US border.

One step is one day, in a fixed order that any reader can follow:

1. groups whose wait has ended (after an expulsion or a removal) set out again;
2. new departures leave their origins (per citizenship and month, from the scenario);
3. travel: each group has one day of travel time; on a leg it spends it (facing the
   leg's death hazard and robbery); at a town it may wait (the town's daily chance of
   leaving) or choose its next leg. Members of a group choose independently, so a
   group that reaches a fork splits by a multinomial draw; passing through towns
   without a wait, a group may cover several short legs in one day;
4. groups that reach a border area are encountered: expelled (Title 42), removed or
   released (Title 8), and the expelled and removed may try again later.

Policies with dates (the end of Title 42, ...) are Mesa events scheduled on the model's
clock at half days, so they act between two days, never in the middle of one.
Every random draw reads the model's ``Streams`` at the group's stable key (see
``sim.streams``), so a lever changes the dice only of the groups it touches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from mesa import Model
from mesa.time import Schedule
from scipy.special import ndtri

from sim.agents import MigrantGroup
from sim.citizenship import CITIZENSHIPS, CODE
from sim.groups import ACTIVE, DONE, FATES, WAITING, GroupTable
from sim.inputs import Inputs
from sim.streams import Streams, binomial_from_uniform, derive_keys, multinomial_from_uniforms, name_id, poisson_from_uniform

METRICS = ("departures", "darien_crossings", "encounters", "deaths", "removals",
           "released_us", "expulsions", "retries", "interdictions")
MAX_PASSES = 8
# decision ids folded into derived keys (names hashed once, stable across versions)
ROUTE, OUTCOME, SPAWN = name_id("route"), name_id("outcome"), name_id("spawn")
F_DEAD, F_RELEASED, F_EXPELLED_HOME, F_REMOVED_HOME = (FATES.index(f) for f in
                                                         ("dead", "released_us", "expelled_home", "removed_home"))
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


class RouteModel(Model):
    """Migrant groups on the route network, one step a day, from ``Inputs``."""

    def __init__(self, inputs: Inputs, seed: int):
        super().__init__(rng=seed)
        self.inputs = inputs
        sc = inputs.scenario
        self.scenario_spec = sc
        self.seed = int(seed)
        self.network = net = inputs.network
        self.streams = Streams(seed, sc.random_numbers, rng=self.rng)
        self.groups = GroupTable(4096)
        self.recorder = Recorder(len(CITIZENSHIPS), net.n_nodes)
        # people starting each leg during the period, by citizenship (for flow maps; totals,
        # not daily rows, which would triple the time series)
        self.leg_flow = np.zeros((len(CITIZENSHIPS), net.n_edges), dtype=np.int64)
        self._first_reported_day = inputs.day_of(sc.period.start)
        self.day = 0
        self.n_days = inputs.n_days
        self.ledger = {"spawned": 0, **{k: 0 for k in END_STATES}}
        self._agents: list[MigrantGroup] = []
        self._active = np.zeros(0, np.int64)
        self._waiting = np.zeros(0, np.int64)
        self._new_rows: list[np.ndarray] = []
        self._callbacks: list[Callable] = []  # Mesa holds events weakly; levers' closures live here
        self.node_checks: dict[int, dict[str, Callable]] = {}
        self.charters: dict[str, tuple] = {}
        self._stack: dict[str, list[tuple[str, object]]] = {}
        nd, nc = self.n_days, len(CITIZENSHIPS)
        self.tally_enc = np.zeros((nd, nc))
        self.tally_rem = np.zeros((nd, nc))
        self.tally_node_arr = np.zeros((nd, net.n_nodes))
        self.tally_node_rem = np.zeros((nd, net.n_nodes))
        self._setup_behaviour()
        self._setup_departures()
        self._schedule_policies()

    # ------------------------------------------------------------------ set-up
    def _per_cit(self, by) -> np.ndarray:
        return np.array([by.get(c) for c in CITIZENSHIPS], dtype=np.float64)

    def _setup_behaviour(self) -> None:
        sc, net = self.scenario_spec, self.network
        nc = len(CITIZENSHIPS)
        self.hazard = net.hazard * sc.hazards.hazard_scale
        self.move_chance = net.move_chance.copy()
        self.access_base = np.ones((nc, net.n_edges), dtype=bool)
        for e, acc in enumerate(net.access):
            if acc:
                self.access_base[:, e] = False
                self.access_base[[CODE[a] for a in acc], e] = True
        self.edge_open = self.access_base.copy()
        self._access: dict[str, tuple[int, list[int], bool | None]] = {}
        self._closed: dict[str, tuple[list[int], list[int]]] = {}
        self.node_penalty = np.ones(net.n_nodes)
        self.robbable = np.isin(net.mode, ("foot", "bus"))
        self.darien_exit = np.zeros(net.n_nodes, bool)
        self.darien_exit[[net.index[n] for n in sc.darien_exit_nodes]] = True
        self.ofo_share = self._per_cit(sc.route_choice.ofo_share)
        self.split_at_forks = sc.route_choice.split_at_forks
        b = sc.border
        self.expel_share = self._per_cit(b.title42_expel_share)
        self.removal_share_base = self._per_cit(b.removal_share)
        self._base = {
            "title42": b.title42_end is not None and self.inputs.day_of(b.title42_end) >= 0,
            "removal_share": self.removal_share_base,
            "expelled_retry": b.expelled_retry,
            "removed_retry": b.removed_retry,
            "cbp_one_per_day": None,
        }
        # padded out-edges per node for vectorised choice
        K = max(net.max_out, 1)
        self.outpad = np.full((net.n_nodes, K), -1, dtype=np.int64)
        for i, o in enumerate(net.out_edges):
            self.outpad[i, : len(o)] = o
        self.refresh_route_weights()

    def refresh_route_weights(self) -> None:
        """Recompute the weight of every leg for every citizenship.

        Called at start and by any lever that opens, closes or re-prices legs. Travellers
        weigh a whole route, not only the next leg: a leg's generalised cost is
        a*km/1000 + b*fare/1000 + c*death_risk, and its utility adds the least such cost
        from its end to the border over the legs that citizenship may use (so the
        Darién's boat fare and risk count for a Colombian still in Medellín, against a
        flight to Mexico). The weight is exp(-(utility - best utility out of the same
        place)), times access (visas, closures) and, for the last step into a border
        area, the share who present at a port (Field Operations) rather than between
        ports.
        """
        sc, net = self.scenario_spec, self.network
        rc = sc.route_choice
        risk = 1.0 - (1.0 - np.clip(self.hazard, 0, 1)) ** net.days
        leg = rc.km_weight * net.km / 1000.0 + rc.cost_weight * net.cost / 1000.0 + rc.risk_weight * risk
        to_go = net.cost_to_border(leg, self.edge_open)          # citizenships x nodes
        with np.errstate(invalid="ignore"):
            util = leg[None, :] + to_go[:, net.dst]
        util = np.where(np.isfinite(util) & self.edge_open, util, np.inf)
        best = np.full((len(CITIZENSHIPS), net.n_nodes), np.inf)
        np.minimum.at(best.T, net.src, util.T)
        with np.errstate(invalid="ignore"):
            w = np.exp(-(util - best[:, net.src]))
        w = np.where(np.isfinite(util), w, 0.0)
        to_fo = net.is_field_office[net.dst]
        to_bp = net.is_border[net.dst] & ~to_fo
        pref = np.ones((len(CITIZENSHIPS), net.n_edges))
        pref[:, to_fo] = self.ofo_share[:, None]
        pref[:, to_bp] = 1.0 - self.ofo_share[:, None]
        w = w * self.node_penalty[net.dst]
        self.weights = pref * w * self.edge_open
        # an origin with no leg a citizenship may use: its people do not set out
        out_w = np.zeros((len(CITIZENSHIPS), net.n_nodes))
        np.add.at(out_w.T, net.src, self.weights.T)
        self.can_leave = out_w > 0

    def _setup_departures(self) -> None:
        """Pairs (citizenship, origin) with their share, key and party/money laws."""
        sc, net = self.scenario_spec, self.network
        dep = sc.departures
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
        self.pair_cit = np.array(cits, np.int64)
        self.pair_origin = np.array(origins, np.int64)
        self.pair_share = np.array(shares)
        self.pair_key = np.array(keys, np.uint64)
        self.pair_gsig = np.array(gsig)
        self.pair_gmu = np.log(np.array(gmean)) - 0.5 * self.pair_gsig**2
        self.pair_gmean = np.array(gmean)
        self.pair_gmax = np.array(gmax, np.int64)
        self.pair_mmu = np.log(np.array(mmed))
        self.pair_msig = np.array(msig)
        # multiplier on departures per citizenship (deterrence and other levers)
        self.departure_factor = np.ones(len(CITIZENSHIPS))

    def _schedule_policies(self) -> None:
        b = self.scenario_spec.border
        if self._base["title42"]:
            end = self.inputs.day_of(b.title42_end) + 1  # first day under Title 8
            self.at_day(end, self._end_title42)
        for i, lever in enumerate(self.scenario_spec.policies):
            lever.install(self, i)

    def at_day(self, day: int, fn: Callable[[], None]) -> None:
        """Run ``fn`` between day-1 and ``day`` (at once if ``day`` <= today)."""
        if day <= self.day:
            fn()
        elif day < self.n_days:
            def event(fn=fn):  # a named function: Mesa refuses lambdas and holds events weakly
                fn()

            self._callbacks.append(event)
            self.schedule_event(event, at=day + 0.5)

    def every_day(self, fn: Callable[[], None], start: int, end: int, tag: str = "") -> None:
        """Run ``fn`` before each day in [start, end) (a Mesa recurring event)."""
        start = max(start, self.day)
        if start >= min(end, self.n_days):
            return
        def event(fn=fn):
            fn()

        self._callbacks.append(event)
        self.schedule_recurring(event, Schedule(interval=1.0, start=start + 0.5, end=min(end, self.n_days) - 0.5))

    def _end_title42(self) -> None:
        self._base["title42"] = False

    # ------------------------------------------------------------------ regimes
    def push(self, attr: str, tag: str, value) -> None:
        """A lever sets ``attr`` while it lasts; the latest started wins."""
        self._stack.setdefault(attr, []).append((tag, value))
        self._changed(attr)

    def pop(self, attr: str, tag: str) -> None:
        st = self._stack.get(attr, [])
        self._stack[attr] = [x for x in st if x[0] != tag]
        self._changed(attr)

    def current(self, attr: str):
        st = self._stack.get(attr)
        return st[-1][1] if st else self._base[attr]

    def _changed(self, attr: str) -> None:
        if attr.startswith("move_chance:"):
            n = int(attr.split(":")[1])
            st = self._stack.get(attr)
            self.move_chance[n] = st[-1][1] if st else self.network.move_chance[n]

    @property
    def title42(self) -> bool:
        return bool(self.current("title42"))

    def set_access(self, tag: str, cit: int, edges: list[int], open_: bool | None) -> None:
        """A visa lever opens (True) or closes (False) legs for a citizenship; None ends it."""
        if open_ is None:
            self._access.pop(tag, None)
        else:
            self._access[tag] = (cit, edges, open_)
        self._recompute_access()

    def set_closed(self, tag: str, cits: list[int], edges: list[int], closed: bool) -> None:
        if closed:
            self._closed[tag] = (cits, edges)
        else:
            self._closed.pop(tag, None)
        self._recompute_access()

    def _recompute_access(self) -> None:
        eo = self.access_base.copy()
        for cit, edges, open_ in self._access.values():  # in start order: later wins
            eo[cit, edges] = open_
        for cits, edges in self._closed.values():
            eo[np.ix_(cits, edges)] = False
        self.edge_open = eo
        self.refresh_route_weights()

    # ------------------------------------------------------------------ lever actions
    @staticmethod
    def binomial(n, p, u) -> np.ndarray:
        return binomial_from_uniform(n, np.broadcast_to(p, np.shape(n)), u)

    def take_capacity(self, rows: np.ndarray, want: np.ndarray, state: dict, key: str) -> np.ndarray:
        """Serve ``want`` per row from a shared capacity, in key order (not row order),
        so the same groups are served whatever other groups exist."""
        order = np.argsort(self.groups.key[rows], kind="stable")
        w = want[order]
        cap = int(state[key])
        before = np.cumsum(w) - w
        got_sorted = np.clip(cap - before, 0, w)
        got = np.empty_like(got_sorted)
        got[order] = got_sorted
        state[key] -= float(got.sum())
        return got

    def remove_people(self, rows, counts, place, t: int, retry_share: float, retry_days: float, tag: str) -> None:
        """``counts`` members of each row are removed to their origin; some set out again."""
        g = self.groups
        m = counts > 0
        if not m.any():
            return
        rows, counts, place = rows[m], counts[m], np.broadcast_to(place, m.shape)[m]
        u = self.streams.uniform(tag + "/retry", t, g.key[rows])
        again = self.binomial(counts, retry_share, u)
        home = counts - again
        g.size[rows] -= counts
        self.ledger["removed_home"] += int(home.sum())
        self.recorder.add("removals", g.cit[rows], place, counts)
        np.add.at(self.tally_node_rem[t], place, counts)
        np.add.at(self.tally_rem[t], g.cit[rows], counts)
        r = np.flatnonzero(again > 0)
        if len(r):
            kids = g.copy_rows(rows[r], size=again[r], parent=rows[r], born=np.full(len(r), t))
            self._new_rows.append(kids)
            self._wait(kids, g.origin[kids], rows[r], name_id(tag), retry_days, t)
        gone = rows[g.size[rows] == 0]
        g.status[gone] = DONE
        g.fate[gone] = F_REMOVED_HOME

    def send_back(self, rows, counts, node: int, t: int, tag: str) -> None:
        """``counts`` members of each row are taken to ``node`` and go on from there."""
        g = self.groups
        m = counts > 0
        if not m.any():
            return
        rows, counts = rows[m], counts[m]
        self.recorder.add("interdictions", g.cit[rows], g.node[rows], counts)
        whole = counts == g.size[rows]
        part = rows[~whole]
        if len(part):
            kids = g.copy_rows(part, size=counts[~whole], parent=part, born=np.full(len(part), t),
                               key=derive_keys(g.key[part], t, name_id(tag)))
            g.size[part] -= counts[~whole]
            self._new_rows.append(kids)
            self._active = np.concatenate([self._active, kids])
            moved = np.concatenate([rows[whole], kids])
        else:
            moved = rows[whole]
        g.node[moved] = node
        g.edge[moved] = -1
        g.budget[moved] = 0.0

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        t = self.day
        self._wake(t)
        self._spawn(t)
        self._travel(t)
        self._encounter(t)
        self._end_day(t)
        self.day += 1
        if self.day >= self.n_days:
            self.running = False

    def run(self, on_day: Callable[[int], None] | None = None) -> "RouteModel":
        """Simulate every day of the scenario; ``on_day`` is told each finished day."""
        while self.day < self.n_days:
            self.run_until(self.time + 1)
            if on_day is not None:
                on_day(self.day)
        return self

    def _wake(self, t: int) -> None:
        g = self.groups
        w = self._waiting
        if not len(w):
            return
        due = g.wait_until[w] <= t
        rows = w[due]
        self._waiting = w[~due]
        rows = rows[g.status[rows] == WAITING]
        if len(rows):
            g.status[rows] = ACTIVE
            self.recorder.add("retries", g.cit[rows], g.node[rows], g.size[rows])
            self._active = np.concatenate([self._active, rows])

    def _spawn(self, t: int) -> None:
        lam = (self.inputs.departures[t, self.pair_cit] * self.departure_factor[self.pair_cit] * self.pair_share
               * self.can_leave[self.pair_cit, self.pair_origin])
        u = self.streams.uniform("departures", t, self.pair_key)
        n = poisson_from_uniform(lam, u)
        pos = np.flatnonzero(n > 0)
        if not len(pos):
            return
        n = n[pos]
        k = np.ceil(n / self.pair_gmean[pos] * 1.5).astype(np.int64) + 4
        pair = np.repeat(pos, k)
        j = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
        keys = derive_keys(self.pair_key[pair], t, SPAWN, j)
        z = ndtri(self.streams.uniform("party_size", t, keys))
        size = np.clip(np.rint(np.exp(self.pair_gmu[pair] + self.pair_gsig[pair] * z)), 1, self.pair_gmax[pair]).astype(np.int64)
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
        zm = ndtri(self.streams.uniform("money", t, keys))
        money = np.exp(self.pair_mmu[pair] + self.pair_msig[pair] * zm)
        cit = self.pair_cit[pair]
        origin = self.pair_origin[pair]
        rows = self.groups.add(size=size, cit=cit, node=origin, origin=origin, money=money,
                               status=np.full(len(sel), ACTIVE), key=keys, born=np.full(len(sel), t))
        self.ledger["spawned"] += int(size.sum())
        self.recorder.add("departures", cit, origin, size)
        self._new_rows.append(rows)
        self._active = np.concatenate([self._active, rows])

    def _travel(self, t: int) -> None:
        g, net = self.groups, self.network
        act = self._active
        g.budget[act] = 1.0
        g.days_travelling[act] += 1
        # who starts the day in a town decides (as a party) whether to move on today
        here = act[(g.edge[act] < 0) & ~net.is_border[g.node[act]]]
        mc = self.move_chance[g.node[here]]
        waits = here[mc < 1.0]
        if len(waits):
            u = self.streams.uniform("leave", t, g.key[waits])
            g.budget[waits[u >= self.move_chance[g.node[waits]]]] = 0.0
        for p in range(MAX_PASSES):
            act = self._active
            live = act[(g.status[act] == ACTIVE) & (g.budget[act] > 1e-9)]
            on_edge = live[g.edge[live] >= 0]
            at_node = live[(g.edge[live] < 0) & ~net.is_border[g.node[live]]]
            if not len(on_edge) and not len(at_node):
                break
            if len(at_node):
                self._choose(at_node, t, p)
                on_edge = np.concatenate([on_edge, at_node])
                on_edge = on_edge[(g.edge[on_edge] >= 0) & (g.budget[on_edge] > 1e-9)]
                if self._split_rows:
                    on_edge = np.concatenate([on_edge] + self._split_rows)
                    self._split_rows = []
            if len(on_edge):
                self._advance(on_edge, t, p)

    _split_rows: list = []

    def _advance(self, rows: np.ndarray, t: int, p: int) -> None:
        g, net = self.groups, self.network
        e = g.edge[rows]
        dt = np.minimum(g.remaining[rows], g.budget[rows])
        h = self.hazard[e]
        hz = np.flatnonzero(h > 0)
        if len(hz):
            r = rows[hz]
            prob = 1.0 - (1.0 - h[hz]) ** dt[hz]
            u = self.streams.uniform("hazard", t, g.key[r], p)
            dead = binomial_from_uniform(g.size[r], prob, u)
            d = dead > 0
            if d.any():
                r, dead = r[d], dead[d]
                g.size[r] -= dead
                self.ledger["dead"] += int(dead.sum())
                self.recorder.add("deaths", g.cit[r], net.src[g.edge[r]], dead)
                gone = r[g.size[r] == 0]
                g.status[gone] = DONE
                g.fate[gone] = F_DEAD
        rob = np.flatnonzero(self.robbable[e])
        rd = self.scenario_spec.hazards.robbery_daily
        if len(rob) and rd > 0:
            r = rows[rob]
            u = self.streams.uniform("robbery", t, g.key[r], p)
            hit = u < 1.0 - (1.0 - rd) ** dt[rob]
            g.money[r[hit]] *= 1.0 - self.scenario_spec.hazards.robbery_loss
        g.remaining[rows] -= dt
        g.budget[rows] -= dt
        arrived = rows[(g.remaining[rows] <= 1e-9) & (g.status[rows] == ACTIVE)]
        if len(arrived):
            g.last_edge[arrived] = g.edge[arrived]
            g.edge[arrived] = -1
            nodes = g.node[arrived]
            ex = self.darien_exit[nodes]
            if ex.any():
                self.recorder.add("darien_crossings", g.cit[arrived[ex]], nodes[ex], g.size[arrived[ex]])
            np.add.at(self.tally_node_arr[t], nodes, g.size[arrived])
            if self.node_checks:
                for n, checks in list(self.node_checks.items()):
                    if checks:
                        here = arrived[nodes == n]
                        for check in list(checks.values()):
                            if len(here):
                                check(here, t, p)
                                here = here[(g.status[here] == ACTIVE) & (g.node[here] == n)]
                arrived = arrived[g.status[arrived] == ACTIVE]
                nodes = g.node[arrived]
            stop = (self.move_chance[nodes] < 1.0) | net.is_border[nodes]
            g.budget[arrived[stop]] = 0.0

    def _choose(self, rows: np.ndarray, t: int, p: int) -> None:
        """Members at a town pick their next leg; a group whose members differ splits."""
        g, net = self.groups, self.network
        out = self.outpad[g.node[rows]]
        valid = out >= 0
        oc = np.where(valid, out, 0)
        w = self.weights[g.cit[rows][:, None], oc] * valid
        w *= g.money[rows][:, None] >= net.cost[oc]
        tot = w.sum(axis=1)
        stuck = tot <= 0
        if stuck.any():
            s = rows[stuck]
            g.money[s] += self.scenario_spec.hazards.earn_usd_per_day * g.budget[s]
            g.budget[s] = 0.0
        ok = np.flatnonzero(~stuck)
        if not len(ok):
            return
        rows, w, out, tot = rows[ok], w[ok], out[ok], tot[ok]
        probs = w / tot[:, None]
        npos = (probs > 0).sum(axis=1)
        choice = np.argmax(probs > 0, axis=1)
        multi = np.flatnonzero((npos > 1) & (g.size[rows] > 0))
        new_rows = []
        if len(multi) and not self.split_at_forks:
            # the party moves as one: one categorical draw per group
            r = rows[multi]
            u = self.streams.uniform("route", t, g.key[r], p)
            cdf = np.cumsum(probs[multi], axis=1)
            pick = (u[:, None] > cdf).sum(axis=1)
            last = probs.shape[1] - 1 - np.argmax(probs[multi][:, ::-1] > 0, axis=1)
            choice[multi] = np.minimum(pick, last)
        elif len(multi):
            r = rows[multi]
            K = probs.shape[1]
            u = self.streams.uniform("route", t, g.key[r][:, None], (p * K + np.arange(K))[None, :])
            counts = multinomial_from_uniforms(g.size[r], probs[multi], u)
            nb = (counts > 0).sum(axis=1)
            choice[multi] = np.argmax(counts > 0, axis=1)
            sp = np.flatnonzero(nb > 1)
            if len(sp):
                gi, ki = np.nonzero(counts[sp] > 0)
                parent = r[sp][gi]
                keys = derive_keys(g.key[parent], t, ROUTE, p * K + ki)
                first = np.r_[True, gi[1:] != gi[:-1]]
                # the first branch keeps the parent's row; the others get new rows
                keep_rows = parent[first]
                g.size[keep_rows] = counts[sp][gi[first], ki[first]]
                g.key[keep_rows] = keys[first]
                choice[multi[sp]] = ki[first]
                src, kk = parent[~first], ki[~first]
                kids = g.copy_rows(src, size=counts[sp][gi[~first], kk], key=keys[~first],
                                   parent=src, born=np.full(len(src), t))
                self._start_legs(kids, out[multi[sp]][gi[~first], kk])
                self._new_rows.append(kids)
                self._active = np.concatenate([self._active, kids])
                new_rows.append(kids)
        self._start_legs(rows, out[np.arange(len(rows)), choice])
        self._split_rows = new_rows

    def _start_legs(self, rows: np.ndarray, edges: np.ndarray) -> None:
        g, net = self.groups, self.network
        if self.day >= self._first_reported_day:
            np.add.at(self.leg_flow, (g.cit[rows], edges), g.size[rows])
        g.edge[rows] = edges
        g.node[rows] = net.dst[edges]
        g.remaining[rows] = net.days[edges]
        g.money[rows] -= net.cost[edges]

    def _encounter(self, t: int) -> None:
        """Everyone who reached a border area today is encountered, then sorted."""
        g, net = self.groups, self.network
        act = self._active
        rows = act[(g.status[act] == ACTIVE) & (g.edge[act] < 0) & net.is_border[g.node[act]]]
        if not len(rows):
            return
        cap = self.current("cbp_one_per_day")
        if cap is not None:
            # Field Operations sees people by appointment: the rest wait at the port
            fo = net.is_field_office[g.node[rows]]
            if fo.any():
                fo_rows = rows[fo]
                order = np.argsort(g.key[fo_rows], kind="stable")
                seen = np.zeros(len(fo_rows), bool)
                seen[order] = np.cumsum(g.size[fo_rows][order]) <= cap
                rows = np.concatenate([rows[~fo], fo_rows[seen]])
                if not len(rows):
                    return
        b = self.scenario_spec.border
        cit, area, size = g.cit[rows], g.node[rows], g.size[rows]
        keys = g.key[rows].copy()  # before retries re-key the rows
        self.recorder.add("encounters", cit, area, size)
        np.add.at(self.tally_enc[t], cit, size)
        ex = self.expel_share[cit] if self.title42 else np.zeros(len(rows))
        rm = self.current("removal_share")[cit]
        er, rr = self.current("expelled_retry"), self.current("removed_retry")
        probs = np.stack([ex * er, ex * (1 - er), (1 - ex) * rm * rr, (1 - ex) * rm * (1 - rr),
                          (1 - ex) * (1 - rm)], axis=1)
        u = self.streams.uniform("outcome", t, g.key[rows][:, None], np.arange(5)[None, :])
        c = multinomial_from_uniforms(size, probs, u)
        np.add.at(self.tally_rem[t], cit, c[:, 2] + c[:, 3])
        charter_rows = []
        for tag, (cc, state, retry_share, retry_days) in self.charters.items():
            # people of that citizenship held under Title 8 fill the charter's seats
            sel = np.flatnonzero((cit == cc) & (c[:, 4] > 0))
            if len(sel) and state["seats"] >= 1:
                got = self.take_capacity(rows[sel], c[sel, 4], state, "seats")
                c[sel, 4] -= got
                charter_rows.append((sel, got, tag, retry_share, retry_days))
        self.recorder.add("expulsions", cit, area, c[:, 0] + c[:, 1])
        self.recorder.add("removals", cit, area, c[:, 2] + c[:, 3])
        self.recorder.add("released_us", cit, area, c[:, 4])
        self.ledger["expelled_home"] += int(c[:, 1].sum())
        self.ledger["removed_home"] += int(c[:, 3].sum())
        self.ledger["released_us"] += int(c[:, 4].sum())
        # the row itself: empty unless someone tries again; a second retry kind splits off
        retry_e, retry_r = c[:, 0] > 0, c[:, 2] > 0
        both = np.flatnonzero(retry_e & retry_r)
        g.status[rows] = DONE
        g.fate[rows] = np.select([c[:, 4] > 0, c[:, 3] > 0, c[:, 1] > 0], [F_RELEASED, F_REMOVED_HOME, F_EXPELLED_HOME], 0)
        g.size[rows] = 0
        if len(both):
            kids = g.copy_rows(rows[both], size=c[both, 2], parent=rows[both], born=np.full(len(both), t))
            self._new_rows.append(kids)
            self._wait(kids, g.origin[kids], rows[both], 2, b.removed_retry_days, t)
        e_only = np.flatnonzero(retry_e)
        if len(e_only):
            r = rows[e_only]
            g.size[r] = c[e_only, 0]
            self._wait(r, net.src[g.last_edge[r]], r, 0, b.expelled_retry_days, t)
        r_only = np.flatnonzero(retry_r & ~retry_e)
        if len(r_only):
            r = rows[r_only]
            g.size[r] = c[r_only, 2]
            self._wait(r, g.origin[r], r, 2, b.removed_retry_days, t)
        for sel, got, tag, retry_share, retry_days in charter_rows:
            # charter removals leave from the row: size it back up, then remove
            m = got > 0
            if not m.any():
                continue
            src = rows[sel[m]]
            # removals are taken from a fresh row so the retry rows above keep their state
            kids = g.copy_rows(src, size=got[m], parent=src, born=np.full(len(src), t), status=np.full(len(src), ACTIVE),
                               key=derive_keys(keys[sel[m]], t, name_id(tag)))
            self._new_rows.append(kids)
            self.remove_people(kids, got[m], area[sel[m]], t, retry_share, retry_days, tag)
            emptied = src[(g.status[src] == DONE) & (g.fate[src] == 0)]
            g.fate[emptied] = F_REMOVED_HOME

    def _wait(self, rows, node, parent_rows, cat: int, mean_days: float, t: int) -> None:
        """Members who will try again: they wait at ``node`` for a geometric delay."""
        g = self.groups
        g.key[rows] = derive_keys(self.groups.key[parent_rows], t, OUTCOME, cat)
        g.node[rows] = node
        g.edge[rows] = -1
        g.status[rows] = WAITING
        g.attempts[rows] += 1
        u = self.streams.uniform("retry_wait", t, g.key[rows])
        q = 1.0 / mean_days
        delay = np.ceil(np.log(u) / np.log1p(-q)) if q < 1 else np.ones(len(rows))
        delay = np.maximum(delay, 1).astype(np.int64)
        g.wait_until[rows] = t + delay
        g.money[rows] += self.scenario_spec.hazards.earn_usd_per_day * delay
        g.fate[rows] = 0
        self._waiting = np.concatenate([self._waiting, rows])

    def _end_day(self, t: int) -> None:
        g = self.groups
        self.recorder.flush(t)
        self._active = self._active[g.status[self._active] == ACTIVE]
        if self._new_rows:
            rows = np.concatenate(self._new_rows)
            self._new_rows = []
            self._agents.extend(MigrantGroup.create_agents(self, len(rows), row=rows))

    # ------------------------------------------------------------------ reading
    def group_agent(self, row: int) -> MigrantGroup:
        return self._agents[row]

    def people_ledger(self) -> dict:
        """Persons by state; ``spawned`` equals the sum of the others exactly."""
        g = self.groups
        out = dict(self.ledger)
        out["travelling"] = g.persons(ACTIVE)
        out["waiting_to_retry"] = g.persons(WAITING)
        out["balanced"] = out["spawned"] == sum(out[k] for k in (*END_STATES, "travelling", "waiting_to_retry"))
        return out

    def leg_flows(self) -> pd.DataFrame:
        """People who started each leg during the period: seed, nationality, from, to, mode, persons."""
        net = self.network
        c, e = np.nonzero(self.leg_flow)
        return pd.DataFrame({
            "seed": np.full(len(c), self.seed, dtype=np.int64),
            "nationality": np.asarray(CITIZENSHIPS, dtype=object)[c],
            "from": net.ids[net.src[e]].astype(object), "to": net.ids[net.dst[e]].astype(object),
            "mode": net.mode[e].astype(object), "persons": self.leg_flow[c, e],
        })

    def timeseries(self) -> pd.DataFrame:
        """Tidy daily rows (date, metric, nationality, place, seed, value) for the period."""
        f = self.recorder.frame()
        sc, net = self.scenario_spec, self.network
        first = self.inputs.day_of(sc.period.start)
        f = f[f["day"] >= first]
        place = np.where(net.is_border, net.names, net.ids)
        return pd.DataFrame({
            "date": np.asarray(self.inputs.dates.date, dtype=object)[f["day"].to_numpy()],
            "metric": np.asarray(METRICS, dtype=object)[f["metric"].to_numpy()],
            "nationality": np.asarray(CITIZENSHIPS, dtype=object)[f["cit"].to_numpy()],
            "place": place[f["node"].to_numpy()].astype(object),
            "seed": np.full(len(f), self.seed, dtype=np.int64),
            "value": f["value"].to_numpy(dtype=np.int64),
        })
