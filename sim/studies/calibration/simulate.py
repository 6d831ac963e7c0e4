"""Parameters -> scenario -> simulation(s) -> summary statistics.

Why picklable classes: pyabc evaluates particles in worker processes (or on a Dask
cluster); each process builds its base scenario and targets once and caches them.
Every particle is simulated with the same fixed seeds (common random numbers), at a
reduced ``departures.scale`` whose counts are read at full scale, and its levels are
solved from its own run (``Targets.solve_levels``): a particle is judged on the shape
of what it produces, not on volumes a level would fix. With ``fit.solve_trends`` each
citizenship's trend is solved the same way, from its fiscal years' totals.
"""

from __future__ import annotations

import copy
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.citizenship import CITIZENSHIPS, REGION_OF
from sim.errors import InputError
from sim.scenario.variation import get_path, set_path
from sim.studies.calibration.spec import Spec, load_spec
from sim.studies.calibration.targets import LevelShift, Targets

_CACHE: dict = {}
MAX_VOLUME_UP = 30.0  # ``volume_levels`` raises a citizenship's levels at most this much


@dataclass
class Solved:
    """What is solved rather than sampled: each citizenship's level of potential
    departures (and trend, with ``fit.solve_trends``; None: the scenario's own), and each
    border area's attractiveness (node id -> value; empty: the scenario's own). All are
    set by matching totals (``levels.refine``), not by ABC."""

    levels: np.ndarray
    attractiveness: dict[str, float] = field(default_factory=dict)
    trends: np.ndarray | None = None

    def shifted(self, shift: LevelShift, attractiveness: dict[str, float] | None = None,
                base_trends: np.ndarray | None = None) -> "Solved":
        """These levels (and trends) changed as a run asked."""
        trends = self.trends if self.trends is not None else base_trends
        if shift.trend.any():
            trends = (np.zeros(len(self.levels)) if trends is None else trends) + shift.trend
        return Solved(self.levels * shift.factor,
                      self.attractiveness if attractiveness is None else attractiveness, trends)


class CalibrationModel:
    """Shared parameters (and levels) -> statistics of the history. Picklable."""

    def __init__(self, spec_path: str | Path, scale: float | None = None, seeds: list[int] | None = None,
                 mask: bool = False):
        self.spec_path = str(Path(spec_path).resolve())
        spec, _ = load_spec(self.spec_path)
        self.scale = scale if scale is not None else spec.simulation.scale
        self.seeds = list(seeds if seeds is not None else spec.simulation.seeds)
        self.mask = mask

    def _state(self):
        key = (self.spec_path, self.mask)
        if key not in _CACHE:
            from sim.scenario.files import read_raw

            spec, base = load_spec(self.spec_path)
            raw = read_raw(base / spec.scenario)
            ref = (raw.get("departures") or {}).get("reference_date")
            ref = None if ref is None else pd.Timestamp(str(ref)).date()
            _CACHE[key] = (spec, base, raw, Targets(spec, base, mask=self.mask, reference_date=ref))
        return _CACHE[key]

    @property
    def spec(self) -> Spec:
        return self._state()[0]

    @property
    def targets(self) -> Targets:
        return self._state()[3]

    def area_nodes(self) -> dict[str, str]:
        """CBP's border area names (as in the targets) -> the network's node ids."""
        net = self.inputs({p.name: p.prior.centre() for p in self.spec.parameters}).network
        border = np.flatnonzero(net.is_border)
        return {str(net.names[i]): str(net.ids[i]) for i in border}

    def reference_area(self) -> str:
        """The area whose attractiveness is 0: the one with the most observed encounters."""
        t = self.targets
        obs = sum(o.sum(axis=0) for o in t.area_cells.values())
        return self.area_nodes()[t.areas[int(np.argmax(obs))]]

    def citizenships(self) -> list[str]:
        """The citizenships the scenario sets out (those with origins)."""
        return list(self._state()[2]["departures"]["by_citizenship"])

    def base_levels(self) -> np.ndarray:
        """The levels the scenario has now (its fitted parameter file)."""
        raw = self._state()[2]
        by = raw["departures"]["by_citizenship"]
        return np.array([float(by.get(c, {}).get("level", 0.0)) for c in CITIZENSHIPS])

    def trends(self, params: dict | None = None) -> np.ndarray:
        """Each citizenship's trend in the scenario with these parameters (None: as it is
        now): its own, or its region's."""
        raw = self._state()[2] if params is None else self.raw_scenario(params)
        dep = raw["departures"]
        by, region = dep.get("by_citizenship") or {}, dep.get("trend") or {}
        own = [(by.get(c) or {}).get("trend") for c in CITIZENSHIPS]
        return np.array([float(region.get(REGION_OF[c], 0.0)) if t is None else float(t)
                         for c, t in zip(CITIZENSHIPS, own)])

    def params_in_force(self) -> dict[str, float]:
        """The estimated parameters (by name) of the parameter file in force, the
        calibration's ``outputs.params`` that the scenario extends: the point the
        diagnostics score, re-solve levels at, or check the criteria of."""
        with open(Path(self.spec_path).parent / self.spec.outputs.params) as f:
            in_force = yaml.safe_load(f)
        return {p.name: float(get_path(in_force, p.path)) for p in self.spec.parameters}

    def base_attractiveness(self) -> dict[str, float]:
        """The border areas' attractiveness the scenario has now."""
        return dict((self._state()[2].get("crossing") or {}).get("attractiveness") or {})

    def raw_scenario(self, params: dict, scale: float | None = None, levels: "np.ndarray | Solved | None" = None,
                     drop_labels: tuple[str, ...] = ()) -> dict:
        """The history with the parameters (and levels, or ``Solved`` levels and areas) set;
        levers whose label starts with one of ``drop_labels`` removed (an event's
        counterfactual)."""
        spec, _, raw0, _ = self._state()
        raw = copy.deepcopy(raw0)
        for p in spec.parameters:
            set_path(raw, p.path, float(params[p.name]))
        if isinstance(levels, Solved):
            if levels.trends is not None:
                for c, v in zip(CITIZENSHIPS, levels.trends):
                    if c in raw["departures"]["by_citizenship"]:
                        raw["departures"]["by_citizenship"][c]["trend"] = float(v)
            if levels.attractiveness:
                raw.setdefault("crossing", {})["attractiveness"] = {k: float(v) for k, v in levels.attractiveness.items()}
            levels = levels.levels
        if levels is not None:
            for c, v in zip(CITIZENSHIPS, levels):
                if c in raw["departures"]["by_citizenship"]:
                    raw["departures"]["by_citizenship"][c]["level"] = float(v)
        if drop_labels:
            raw["policies"] = [p for p in raw.get("policies", [])
                               if not str(p.get("label", "")).startswith(tuple(drop_labels))]
        raw["departures"]["scale"] = self.scale if scale is None else scale
        return raw

    def inputs(self, params: dict, scale: float | None = None, levels: np.ndarray | None = None,
               drop_labels: tuple[str, ...] = ()):
        from sim.scenario.files import validate_raw
        from sim.scenario.inputs import Inputs

        raw = self.raw_scenario(params, scale, levels, drop_labels)
        return Inputs.load(self.spec_path, scenario=validate_raw(raw, self.spec_path))

    def simulate(self, params: dict, seeds: list[int] | None = None, scale: float | None = None,
                 levels: np.ndarray | None = None, drop_labels: tuple[str, ...] = ()) -> list[dict]:
        """Statistics of each seed's run (at the levels given, not solved)."""
        from sim.studies.runner import simulate

        sc = self.scale if scale is None else scale
        inp = self.inputs(params, sc, levels, drop_labels)
        return [self.targets.summarize(simulate(inp, s).timeseries, sc, inp.network)
                for s in (self.seeds if seeds is None else seeds)]

    def start_response(self, params: dict | None) -> np.ndarray:
        """Per citizenship, the response of its departures on the first day (the mean over
        its origins of ``Behaviour.departure_factor``, weighted by their shares; 0 where it
        cannot leave) at these parameters (None: the scenario's own)."""
        from sim.engine.model import RouteModel
        from sim.scenario.files import validate_raw
        from sim.scenario.inputs import Inputs

        raw = copy.deepcopy(self._state()[2]) if params is None else self.raw_scenario(params)
        raw["departures"]["scale"] = self.scale
        m = RouteModel(Inputs.load(self.spec_path, scenario=validate_raw(raw, self.spec_path)), self.seeds[0])
        d = m.departures
        f = d.share * m.behaviour.departure_factor(d.cit, d.origin) * m.router.can_leave[d.cit, d.origin]
        n = len(CITIZENSHIPS)
        return np.bincount(d.cit, f, minlength=n) / np.maximum(np.bincount(d.cit, d.share, minlength=n), 1e-300)

    def volume_factors(self, params: dict) -> np.ndarray:
        """Per citizenship, the change of the scenario's levels at which a particle sets out
        as many people on the first day as the scenario's own parameters do: its levels are
        solved from its run anyway (departures scale with levels), but a particle with a
        strong response would otherwise be simulated at many times the volume (slow, and
        with caps such as Mexico's monthly returns binding at the wrong volume)."""
        key = ("start", self.spec_path, self.mask, self.scale)
        if key not in _CACHE:
            _CACHE[key] = self.start_response(None)
        base, mine = _CACHE[key], self.start_response(params)
        ok = (base > 0) & (mine > 0)
        # at most MAX_VOLUME_UP times the scenario's levels: a citizenship that hardly sets out
        # on the first day may set out in numbers later (its response rises as it learns)
        up = np.clip(base / np.where(ok, mine, 1.0), 0.0, MAX_VOLUME_UP)
        return np.where(ok, up, 1.0)

    def volume_levels(self, params: dict) -> np.ndarray:
        """The levels ``volume_factors`` asks for."""
        return self.base_levels() * self.volume_factors(params)

    def __call__(self, params: dict) -> dict:
        """Mean statistics over the seeds with each citizenship's level (and trend) solved
        (run at ``volume_levels``); the level factors, relative to the scenario's levels,
        are returned as ``level_factors``, the trend changes as ``trend_shifts``."""
        k = self.volume_factors(dict(params))
        runs = self.simulate(dict(params), levels=self.base_levels() * k)
        mean = {key: np.mean([r[key] for r in runs], axis=0) for key in runs[0]}
        f = self.targets.solve_levels(mean, self.trends(dict(params)))
        return {**self.targets.apply_levels(mean, f), "level_factors": f.factor * k, "trend_shifts": f.trend}


class LatentModel:
    """What pyabc calls: latent (standard-normal) parameters -> CalibrationModel."""

    def __init__(self, model: CalibrationModel):
        self.model = model

    def __call__(self, z: dict) -> dict:
        return self.model(to_natural(self.model.spec, dict(z)))


def to_natural(spec: Spec, z: dict) -> dict:
    return {p.name: float(p.prior.from_latent(z[p.name])) for p in spec.parameters}


def check_spec_against_scenario(model: CalibrationModel) -> None:
    """Apply prior centres and validate, so a bad path fails before any simulation."""
    from sim.scenario.files import validate_raw

    spec = model.spec
    centre = {p.name: p.prior.centre() for p in spec.parameters}
    for i, p in enumerate(spec.parameters):
        try:
            raw = model.raw_scenario({**centre})
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise InputError(model.spec_path, f"parameters.{i}.path", f"cannot set {p.path} ({exc})") from None
    try:
        validate_raw(raw, model.spec_path)
    except InputError as exc:
        field = exc.field
        for i, p in enumerate(spec.parameters):
            if p.path == field or p.path.startswith(field + ".") or field.startswith(p.path):
                raise InputError(model.spec_path, f"parameters.{i}.path ({p.path})", exc.message) from None
        raise InputError(model.spec_path, f"scenario field {field}", exc.message) from None
    labels = {str(p.get("label", "")) for p in raw.get("policies", [])}
    for i, e in enumerate(spec.events):
        for j, pref in enumerate(e.labels):
            if not any(lab.startswith(pref) for lab in labels):
                raise InputError(model.spec_path, f"events.{i}.labels.{j}", f"no lever of the scenario has a label "
                                                                             f"starting with {pref!r}")
    model.inputs(centre)  # network and cross-checks


def _one(args):
    spec_path, mask, params, levels, seed, scale, drop = args
    m = CalibrationModel(spec_path, scale=scale, seeds=[seed], mask=mask)
    return m.simulate(params, levels=levels, drop_labels=drop)[0]


def simulate_many(spec_path: str, jobs: list[tuple], processes: int, mask: bool = False) -> list[dict]:
    """Run jobs (params, levels, seed, scale, drop_labels) on ``processes`` worker processes."""
    args = [(spec_path, mask, *j) for j in jobs]
    if processes <= 1 or len(args) == 1:
        return [_one(a) for a in args]
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_one, args))
