"""Route choice: the weight of every leg for every citizenship, and the choice at a town.

Why a module: route choice is the model's behavioural core and changes with levers
(visas, closures, perceived risk at a place) but never per day, so the weights are
recomputed only when something changes and the daily choice is one vectorised draw.
"""

from __future__ import annotations

import numpy as np

from sim.citizenship import CITIZENSHIPS, CODE
from sim.engine.services import Access
from sim.engine.streams import derive_keys, multinomial_from_uniforms, name_id

ROUTE = name_id("route")


class Router:
    """Leg weights (citizenships x edges) and the choice of the next leg."""

    def __init__(self, model):
        self.model = model
        net, sc = model.network, model.spec
        nc = len(CITIZENSHIPS)
        self.hazard = net.hazard * sc.hazards.hazard_scale
        base = np.ones((nc, net.n_edges), dtype=bool)
        for e, acc in enumerate(net.access):
            if acc:
                base[:, e] = False
                base[[CODE[a] for a in acc], e] = True
        self.ofo_share = np.array([sc.route_choice.ofo_share.get(c) for c in CITIZENSHIPS], dtype=np.float64)
        self.split_at_forks = sc.route_choice.split_at_forks
        self._penalties: dict[str, np.ndarray] = {}
        self.penalty = np.ones(net.n_nodes)
        # padded out-edges per node for vectorised choice
        K = max(net.max_out, 1)
        self.outpad = np.full((net.n_nodes, K), -1, dtype=np.int64)
        for i, o in enumerate(net.out_edges):
            self.outpad[i, : len(o)] = o
        self.access = Access(base, self.refresh)
        self.refresh()

    def set_penalty(self, tag: str, penalty: np.ndarray | None) -> None:
        """A lever weighs legs into places by ``penalty`` (per node) while it lasts; None ends it."""
        if penalty is None:
            self._penalties.pop(tag, None)
        else:
            self._penalties[tag] = penalty
        total = np.ones(self.model.network.n_nodes)
        for p in self._penalties.values():
            total = total * p
        self.penalty = total
        self.refresh()

    def refresh(self) -> None:
        """Recompute the weight of every leg for every citizenship.

        Travellers weigh a whole route, not only the next leg: a leg's generalised cost is
        a*km/1000 + b*fare/1000 + c*death_risk, and its utility adds the least such cost
        from its end to the border over the legs that citizenship may use (so the
        Darién's boat fare and risk count for a Colombian still in Medellín, against a
        flight to Mexico). The weight is exp(-(utility - best utility out of the same
        place)), times access (visas, closures), a lever's penalty on the place it leads
        to and, for the last step into a border area, the share who present at a port
        (Field Operations) rather than between ports.
        """
        net, rc = self.model.network, self.model.spec.route_choice
        edge_open = self.access.open
        nc = len(CITIZENSHIPS)
        risk = 1.0 - (1.0 - np.clip(self.hazard, 0, 1)) ** net.days
        leg = rc.km_weight * net.km / 1000.0 + rc.cost_weight * net.cost / 1000.0 + rc.risk_weight * risk
        to_go = net.cost_to_border(leg, edge_open)          # citizenships x nodes
        with np.errstate(invalid="ignore"):
            util = leg[None, :] + to_go[:, net.dst]
        util = np.where(np.isfinite(util) & edge_open, util, np.inf)
        best = np.full((nc, net.n_nodes), np.inf)
        np.minimum.at(best.T, net.src, util.T)
        with np.errstate(invalid="ignore"):
            w = np.exp(-(util - best[:, net.src]))
        w = np.where(np.isfinite(util), w, 0.0)
        to_fo = net.is_field_office[net.dst]
        to_bp = net.is_border[net.dst] & ~to_fo
        pref = np.ones((nc, net.n_edges))
        pref[:, to_fo] = self.ofo_share[:, None]
        pref[:, to_bp] = 1.0 - self.ofo_share[:, None]
        w = w * self.penalty[net.dst]
        self.weights = pref * w * edge_open
        # an origin with no leg a citizenship may use: its people do not set out
        out_w = np.zeros((nc, net.n_nodes))
        np.add.at(out_w.T, net.src, self.weights.T)
        self.can_leave = out_w > 0

    def choose(self, rows: np.ndarray, t: int, p: int) -> list[np.ndarray]:
        """Parties at a town pick their next leg and set out on it; returns the rows split
        off (members who chose differently), already on their legs."""
        m = self.model
        g, net = m.groups, m.network
        out = self.outpad[g.node[rows]]
        valid = out >= 0
        oc = np.where(valid, out, 0)
        w = self.weights[g.cit[rows][:, None], oc] * valid
        w *= g.money[rows][:, None] >= net.cost[oc]
        tot = w.sum(axis=1)
        stuck = tot <= 0
        if stuck.any():
            s = rows[stuck]
            g.money[s] += m.spec.hazards.earn_usd_per_day * g.budget[s]
            g.budget[s] = 0.0
        ok = np.flatnonzero(~stuck)
        if not len(ok):
            return []
        rows, w, out, tot = rows[ok], w[ok], out[ok], tot[ok]
        probs = w / tot[:, None]
        npos = (probs > 0).sum(axis=1)
        choice = np.argmax(probs > 0, axis=1)
        multi = np.flatnonzero((npos > 1) & (g.size[rows] > 0))
        new_rows = []
        if len(multi) and not self.split_at_forks:
            # the party moves as one: one categorical draw per group
            r = rows[multi]
            u = m.streams.uniform("route", t, g.key[r], p)
            cdf = np.cumsum(probs[multi], axis=1)
            pick = (u[:, None] > cdf).sum(axis=1)
            last = probs.shape[1] - 1 - np.argmax(probs[multi][:, ::-1] > 0, axis=1)
            choice[multi] = np.minimum(pick, last)
        elif len(multi):
            r = rows[multi]
            K = probs.shape[1]
            u = m.streams.uniform("route", t, g.key[r][:, None], (p * K + np.arange(K))[None, :])
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
                self.start_legs(kids, out[multi[sp]][gi[~first], kk])
                m.register(kids, active=True)
                new_rows.append(kids)
        self.start_legs(rows, out[np.arange(len(rows)), choice])
        return new_rows

    def start_legs(self, rows: np.ndarray, edges: np.ndarray) -> None:
        m = self.model
        g, net = m.groups, m.network
        m.books.count_legs(g.cit[rows], edges, g.size[rows], m.day)
        g.edge[rows] = edges
        g.node[rows] = net.dst[edges]
        g.remaining[rows] = net.days[edges]
        g.money[rows] -= net.cost[edges]
