"""What is solved at a point estimate: levels of potential departures and the border
areas' attractiveness, refined by runs.

Why iterate: inside the ABC a particle's levels are solved from one run by
proportionality (departures scale with levels for fixed shared parameters). Caps
(parole slots, Mexico's returns, CBP One appointments) and beliefs learnt from
outcomes make that proportionality only approximate, so at the point estimate the
levels are refined by a few rounds of run, compare, rescale, with several seeds.

The attractiveness of the 13 border areas (``crossing.attractiveness``, one number per
area shared by every citizenship) is refined in the same rounds, from the areas'
encounter totals of the fitted fiscal years: a + damping x log(observed / simulated),
relative to a reference area. Route knowledge makes an area's share react more than
one for one to its value (people follow the ways co-nationals took), so the step is
damped. Only area totals are matched: how each citizenship spreads over the areas is
left to the model, and is what it is judged on.
"""

from __future__ import annotations

import numpy as np

from sim.citizenship import CITIZENSHIPS
from sim.studies.calibration.simulate import CalibrationModel, Solved, simulate_many

AREA_DAMPING = 0.3
AREA_BOUND = 8.0  # |attractiveness| at most: an area the model cannot fill does not run off


def area_step(model: CalibrationModel, solved: Solved, mean: dict, node_of: dict[str, str],
              reference: str) -> dict[str, float]:
    """The attractiveness after one round (``node_of``: CBP area name -> node id)."""
    t = model.targets
    obs = sum(o.sum(axis=0) for o in t.area_cells.values())
    sim = sum(mean[f"areas_{y}"].sum(axis=0) for y in t.area_cells)
    a = dict(solved.attractiveness)
    for i, name in enumerate(t.areas):
        node = node_of[name]
        a[node] = a.get(node, 0.0) + AREA_DAMPING * float(np.log(max(obs[i], 1.0) / max(sim[i], 1.0)))
    ref = a.get(reference, 0.0)
    return {k: float(np.clip(v - ref, -AREA_BOUND, AREA_BOUND)) for k, v in sorted(a.items())}


def refine_levels(model: CalibrationModel, params: dict, solved: Solved, seeds: list[int], scale: float,
                  iterations: int, processes: int, areas: bool = True, log=print) -> Solved:
    """``solved`` after ``iterations`` rounds of level <- level x observed/simulated total
    (and trend <- trend + the change matching the fiscal years' totals, with
    ``fit.solve_trends``) and (``areas``) the areas' attractiveness stepped toward their
    totals."""
    t = model.targets
    node_of = model.area_nodes() if areas and t.area_cells else {}
    for i in range(iterations):
        runs = simulate_many(model.spec_path, [(params, solved, s, scale, ()) for s in seeds], processes, model.mask)
        mean = {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0]}
        trends = solved.trends if solved.trends is not None else model.trends(params)
        shift = t.solve_levels(mean, trends)
        attr = area_step(model, solved, t.apply_levels(mean, shift), node_of, model.reference_area()) \
            if node_of else solved.attractiveness
        # trends are written only where they are solved: elsewhere the scenario's (regional
        # trend parameters of the ABC would otherwise be overridden by citizenships' own)
        solved = solved.shifted(shift, attr, trends if t.spec.fit.solve_trends else None)
        f = shift.factor
        log(f"levels round {i + 1}: factors {np.round(f.min(), 3)}..{np.round(f.max(), 3)}, "
            f"total change {np.abs(np.log(f[f > 0])).mean():.3f} (mean |log|)"
            + (f", trend change up to {np.abs(shift.trend).max():.3f} "
               f"({CITIZENSHIPS[int(np.abs(shift.trend).argmax())]})" if shift.trend.any() else ""))
    return solved
