"""The estimate's checks: the criteria the estimation issue states, computed once.

Why one module: the report, the command's summary and the tests read the same rows
(criterion, value, target, met), so a criterion means the same everywhere.
"""

from __future__ import annotations

import numpy as np

from sim.citizenship import CITIZENSHIPS
from sim.studies.calibration.spec import Event, Spec
from sim.studies.calibration.targets import Targets, pearson, rel_l1


def event_ok(spec: Spec, e: Event, sim: float, obs: float) -> bool:
    acc = spec.acceptance
    if e.kind == "fall":
        return abs(sim - obs) <= acc.fall_tolerance
    return obs / acc.rise_factor <= sim <= obs * acc.rise_factor


def counterfactual_ok(spec: Spec, cf: float, obs: float) -> bool:
    """Without its levers, the ratio lies at least ``counterfactual_share`` of the way from
    the observed ratio to 1 (no change)."""
    need = obs + spec.acceptance.counterfactual_share * (1.0 - obs)
    return cf >= need if obs < 1 else cf <= need


def criteria(spec: Spec, t: Targets, stats: dict, events: dict[str, dict], widths: dict[str, float],
             ess: float = float("inf")) -> list[dict]:
    """Rows (criterion, value, target, met) for statistics at their levels (mean of seeds)."""
    acc, rows = spec.acceptance, []

    def add(name, value, target, ok):
        rows.append({"criterion": name, "value": value, "target": target, "ok": bool(ok)})

    cells = stats["cells"]
    sim_fy, obs_fy = t.fiscal_totals(cells), t.fiscal_totals(t.cells)
    for y in t.fiscal_years:
        r = sim_fy[y] / obs_fy[y] - 1
        add(f"FY{y} encounters", f"{sim_fy[y]:,.0f} ({r:+.1%})", f"{obs_fy[y]:,.0f} ± {acc.fy_total_rel:.0%}",
            abs(r) <= acc.fy_total_rel)
    l1 = rel_l1(cells, t.cells)
    add(f"month x citizenship: sum|sim-obs|/sum obs ({len(t.months)} months)", f"{l1:.3f}", f"≤ {acc.cells_l1}",
        l1 <= acc.cells_l1)
    pm = pearson(cells.sum(axis=1), t.cells.sum(axis=1))
    add("monthly totals: Pearson", f"{pm:.3f}", f"≥ {acc.month_pearson}", pm >= acc.month_pearson)
    for i, p in enumerate(t.darien):
        by = t.darien_by_label(stats, i)
        r = by.sum() / p.total - 1
        add(f"Darién {p.name}", f"{by.sum():,.0f} ({r:+.1%})", f"{p.total:,.0f} ± {acc.darien_total_rel:.0%}",
            abs(r) <= acc.darien_total_rel)
        if len(p.labels) > 1:
            named = [lab for lab in p.labels if lab != "OTHER"]
            idx = [p.labels.index(lab) for lab in named]
            top_obs = [named[j] for j in np.argsort(-p.counts[idx])][: acc.darien_top]
            top_sim = [named[j] for j in np.argsort(-by[idx])][: acc.darien_top]
            add(f"Darién {p.name}: top {acc.darien_top} in order", ", ".join(top_sim), ", ".join(top_obs), top_sim == top_obs)
            order_sim = [named[j] for j in np.argsort(-by[idx])]
            for lab, rank in acc.darien_rank.items():
                if lab in named and p.window.start.year == max(q.window.start.year for q in t.darien):
                    got = order_sim.index(lab) + 1
                    add(f"Darién {p.name}: {lab} rank", str(got), str(rank), got == rank)
    for y, o in t.area_cells.items():
        sim = stats.get(f"areas_{y}")
        if sim is None:
            continue
        l1, naive = rel_l1(sim, o), rel_l1(t.margins_only(y), o)
        bound = acc.area_l1.get(y)
        add(f"FY{y} citizenship x area: sum|sim-obs|/sum obs", f"{l1:.3f}",
            (f"≤ {bound} and < margins-only {naive:.3f}" if bound is not None else f"< margins-only {naive:.3f}"),
            (bound is None or l1 <= bound) and l1 < naive)
    if t.area_cells:
        y = max(t.area_cells)
        sim, o = stats.get(f"areas_{y}"), t.area_cells[y]
        if sim is not None:
            ratio = sim.sum(axis=0) / np.maximum(o.sum(axis=0), 1)
            worst = int(np.argmax(np.abs(np.log(np.maximum(ratio, 1e-9)))))
            add(f"FY{y} every area within x{acc.area_factor} of its total",
                f"worst {t.areas[worst]} x{ratio[worst]:.2f}", f"all in [{1 / acc.area_factor:.2f}, {acc.area_factor}]",
                bool(np.all((ratio >= 1 / acc.area_factor) & (ratio <= acc.area_factor))))
            ps, po = t.port_share(sim), t.port_share(o)
            add(f"FY{y} Field Operations share", f"{ps:.1%}", f"{po:.1%} ± {acc.port_share_points * 100:.0f} points",
                abs(ps - po) <= acc.port_share_points)
    for e in spec.events:
        ev = events.get(e.name)
        if not ev:
            continue
        add(f"{e.name}: ratio {e.after}/{e.before}", f"{ev['sim']:.3f}", f"{ev['obs']:.3f} "
            + (f"± {acc.fall_tolerance}" if e.kind == "fall" else f"within x{acc.rise_factor}"),
            event_ok(spec, e, ev["sim"], ev["obs"]))
        if "without" in ev:
            need = ev["obs"] + acc.counterfactual_share * (1.0 - ev["obs"])
            add(f"{e.name}: without its levers", f"{ev['without']:.3f}", f"{'≥' if ev['obs'] < 1 else '≤'} {need:.3f}",
                counterfactual_ok(spec, ev["without"], ev["obs"]))
    for name, w in widths.items():
        enough = ess >= acc.min_ess
        add(f"{name}: posterior width / prior width", f"{w:.2f}" + ("" if enough else f" (ESS {ess:.0f})"),
            f"≤ {acc.response_width}, ESS ≥ {acc.min_ess:.0f}", w <= acc.response_width and enough)
    return rows


def by_citizenship(stats: dict, t: Targets) -> list[tuple[str, float, float]]:
    """(citizenship, simulated, observed) totals over the fitted months."""
    return [(c, float(stats["cells"][:, i].sum()), float(t.cells[:, i].sum())) for i, c in enumerate(CITIZENSHIPS)]
