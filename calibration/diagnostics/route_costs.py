"""Why does a citizenship take the way it takes? The generalised cost of each leg out of
a place, as the router weighs it on a given day of a run.

For each leg out of ``--place``: its share of the citizenship's choice there, its own
cost (fare, days, death risk and unfamiliarity, in generalised-cost units: one unit is a
factor e in a leg's weight), the cost of the way on from its end (the logsum over the
border areas), and the least-cost path from its end to a border area with its days,
fares and wait at places on the way (the router counts the waits with the travel days
unless ``route_choice.count_waits`` is false).

    PYTHONPATH=. python calibration/diagnostics/route_costs.py --citizenship CUBA --place o_cuba \
        --date 2022-03-01   # the history at scale 0.05, seed 1: about a minute
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
from pathlib import Path

import numpy as np
from in_force import inputs_of, scenario_at


def least_cost_path(net, legs: np.ndarray, edge_open: np.ndarray, start: int) -> list[int]:
    """Edges of the cheapest way from ``start`` to any border area (Dijkstra on ``legs``)."""
    best, heap, done = {start: 0.0}, [(0.0, start, [])], set()
    while heap:
        d, n, path = heapq.heappop(heap)
        if n in done:
            continue
        done.add(n)
        if net.is_border[n]:
            return path
        for e in np.flatnonzero((net.src == n) & edge_open):
            nd = d + float(legs[e])
            if np.isfinite(nd) and nd < best.get(int(net.dst[e]), np.inf):
                best[int(net.dst[e])] = nd
                heapq.heappush(heap, (nd, int(net.dst[e]), path + [int(e)]))
    return []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="scenarios/history_fy2022_fy2023.yaml")
    ap.add_argument("--citizenship", default="CUBA")
    ap.add_argument("--place", default="o_cuba")
    ap.add_argument("--date", default="2022-03-01")
    ap.add_argument("--scale", type=float, default=0.05)
    args = ap.parse_args()

    from sim.citizenship import CODE
    from sim.engine.model import RouteModel
    from sim.engine.routing import expected_wait

    path = Path(args.scenario)
    inp = inputs_of(scenario_at(args.scale, path), path)
    m = RouteModel(inp, 1)
    day = inp.day_of(dt.date.fromisoformat(args.date))
    while m.day < min(day, m.n_days):
        m.step()
    net, r, c = m.network, m.router, CODE[args.citizenship]
    rc = m.spec.route_choice
    risk = 1.0 - (1.0 - np.clip(r.hazard, 0, 1)) ** net.days
    unfam = m.behaviour.unfamiliarity_cost()
    unfam = np.zeros(net.n_edges) if unfam is None else np.broadcast_to(unfam, (len(CODE), net.n_edges))[c]
    legs = np.broadcast_to(r.leg_costs(), (len(CODE), net.n_edges))[c]  # what the router weighs
    days = r.leg_days()  # travel days, and the expected wait at each leg's end if counted
    opened = np.broadcast_to(r.access.open, (len(CODE), net.n_edges))[c]
    place = net.index[args.place]
    out = np.flatnonzero(net.src == place)
    total = r.weights[c, out].sum()
    print(f"{args.citizenship} at {args.place} on {args.date} (day {m.day}); weights: fare {rc.cost_weight}/USD 1000, "
          f"day {rc.days_weight}, death risk {rc.risk_weight}")
    for e in out:
        share = r.weights[c, e] / total if total > 0 else 0.0
        dst = int(net.dst[e])
        print(f"\n  -> {net.ids[dst]} ({net.mode[e]}): share {share:.1%}, open {bool(opened[e])}; leg "
              f"{legs[e]:.3f} = fare {rc.cost_weight * net.cost[e] / 1000:.3f} + days "
              f"{rc.days_weight * days[e]:.3f} + risk {rc.risk_weight * risk[e]:.3f} + unfamiliar "
              f"{unfam[e]:.3f}; way on {r.to_go[c, dst]:.3f}")
        way = least_cost_path(net, legs, opened, dst)
        if way:
            ends = net.dst[way][~net.is_border[net.dst[way]]]
            wait = float(expected_wait(m.move_chance.values[ends]).sum())
            print(f"     cheapest way on: {' > '.join(net.ids[net.dst[w]] for w in way)}")
            counted = "in the cost" if rc.count_waits else "not in the cost"
            print(f"     {net.days[way].sum():.1f} travel days, USD {net.cost[way].sum():,.0f}, expected waits "
                  f"{wait:.1f} days ({counted})")


if __name__ == "__main__":
    main()
