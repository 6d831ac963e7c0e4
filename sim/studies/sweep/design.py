"""The design of a sweep: its points (factor values) times its seeds, as a table of runs.

Why deterministic ids: a run is (design point, seed) with an id hashed from the point,
its index and the seed, so rerunning the same command finds what is already stored.
Samplers come from SALib; the raw sampler matrix is kept (``x_<factor>`` columns) for
the sensitivity analysis.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.studies.sweep.spec import SweepSpec


def plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def problem_of(spec: SweepSpec) -> dict:
    """The SALib problem: sampled parameters, plus switches when they are sampled."""
    names, bounds = [], []
    if spec.sampler.method == "grid":
        return {"num_vars": 0, "names": [], "bounds": []}
    for p in spec.parameters:
        names.append(p.name)
        bounds.append([float(p.bounds[0]), float(p.bounds[1])])
    if spec.sampler.switches == "sample":
        for s in spec.switches:
            names.append(s.name)
            bounds.append([0.0, float(len(s.levels))])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sample_matrix(spec: SweepSpec) -> np.ndarray:
    s = spec.sampler
    problem = problem_of(spec)
    if s.method == "latin":
        from SALib.sample import latin
        return latin.sample(problem, s.n, seed=s.seed)
    if s.method == "sobol":
        import warnings

        from SALib.sample import sobol
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sobol.sample(problem, s.n, calc_second_order=s.calc_second_order, seed=s.seed)
    if s.method == "morris":
        from SALib.sample import morris
        return morris.sample(problem, s.n, num_levels=s.levels, seed=s.seed)
    raise ValueError(s.method)


def design_size(spec: SweepSpec) -> int:
    """Number of design points (before replicates) the sampler makes."""
    s = spec.sampler
    n_cross = math.prod(len(sw.levels) for sw in spec.switches) if (s.method == "grid" or s.switches == "cross") else 1
    if s.method == "grid":
        return math.prod(len(p.values) for p in spec.parameters) * n_cross
    d = problem_of(spec)["num_vars"]
    per = {"latin": s.n, "sobol": s.n * (2 * d + 2 if s.calc_second_order else d + 2),
           "morris": s.n * (d + 1)}[s.method]
    return per * n_cross


def run_id(point: int, values: dict[str, Any], seed: int, draw: int | None = None) -> str:
    key = {"point": point, "values": values, "seed": seed}
    if draw is not None:
        key["draw"] = draw
    blob = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_design(spec: SweepSpec) -> tuple[pd.DataFrame, list[dict]]:
    """The plan: one row per run (run_id, point, seed, factor values, x_ columns) and, per
    design point, its parameter values and switch levels."""
    s = spec.sampler
    sw_names = [sw.name for sw in spec.switches]
    combos = list(itertools.product(*[list(sw.levels) for sw in spec.switches]))
    points: list[dict] = []
    if s.method == "grid":
        for vals in itertools.product(*[p.values for p in spec.parameters]):
            for combo in combos:
                points.append({"params": dict(zip([p.name for p in spec.parameters], vals)),
                               "levels": dict(zip(sw_names, combo)), "x": {}})
    else:
        X = sample_matrix(spec)
        names = problem_of(spec)["names"]
        for row in X:
            x = dict(zip(names, map(float, row)))
            params = {p.name: (int(round(x[p.name])) if p.integer else x[p.name]) for p in spec.parameters}
            if s.switches == "sample":
                levels = {sw.name: list(sw.levels)[min(int(math.floor(x[sw.name])), len(sw.levels) - 1)]
                          for sw in spec.switches}
                points.append({"params": params, "levels": levels, "x": x})
            else:
                for combo in combos:
                    points.append({"params": params, "levels": dict(zip(sw_names, combo)), "x": x})
    rows = []
    for i, pt in enumerate(points):
        values = {**{k: plain(v) for k, v in pt["params"].items()}, **pt["levels"]}
        for j, seed in enumerate(spec.replicates):
            draw = j if spec.posterior_draws else None
            rows.append({"run_id": run_id(i, values, seed, draw), "point": i, "seed": seed,
                         **({"draw": draw} if draw is not None else {}),
                         **{k: cell(v) for k, v in values.items()},
                         **{f"x_{k}": v for k, v in pt["x"].items()}})
    design = pd.DataFrame(rows)
    if design["run_id"].duplicated().any():  # pragma: no cover - sha256 collision
        raise RuntimeError("duplicate run ids in the design")
    return design, points


def cell(v: Any) -> Any:
    """A value fit for a Parquet column: scalars stay, anything else becomes JSON text."""
    v = plain(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return json.dumps(v, sort_keys=True, default=str)


