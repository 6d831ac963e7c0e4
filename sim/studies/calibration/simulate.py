"""Parameters -> scenario -> simulation(s) -> summary statistics.

Why picklable classes: pyabc evaluates particles in worker processes (or on a Dask
cluster); each process builds its base scenario and targets once and caches them.
"""

from __future__ import annotations

import copy
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from sim.citizenship import CODE
from sim.errors import InputError
from sim.scenario.variation import set_path
from sim.studies.calibration.spec import Parameter, Spec, load_spec
from sim.studies.calibration.targets import Targets

_CACHE: dict = {}


def months_of(spec: Spec, p: Parameter) -> tuple[pd.Period, pd.Period] | None:
    return (pd.Period(p.months[0], freq="M"), pd.Period(p.months[1], freq="M")) if p.months else None


class CalibrationModel:
    """Parameters -> scenario -> simulation(s) -> summary statistics. Picklable (Dask)."""

    def __init__(self, spec_path: str | Path, scale: float | None = None, seeds: list[int] | None = None):
        self.spec_path = str(Path(spec_path).resolve())
        spec, base = load_spec(self.spec_path)
        self.scale = scale if scale is not None else spec.simulation.scale
        self.seeds = list(seeds if seeds is not None else spec.simulation.seeds)

    # lazily built per process
    def _state(self):
        key = (self.spec_path, self.scale)
        if key not in _CACHE:
            from sim.scenario.files import read_raw

            spec, base = load_spec(self.spec_path)
            raw = read_raw(base / spec.scenario)
            raw["departures"]["file"] = str((base / spec.departures_file).resolve())
            for path, value in spec.fixed.items():
                set_path(raw, path, copy.deepcopy(value))
            _CACHE[key] = (spec, base, raw, Targets(spec, base, Path(self.spec_path)))
        return _CACHE[key]

    @property
    def spec(self) -> Spec:
        return self._state()[0]

    @property
    def observed(self) -> Targets:
        return self._state()[3]

    def raw_scenario(self, params: dict, scale: float | None = None) -> dict:
        """The base scenario with the parameters applied (departure multipliers excluded)."""
        spec, base, raw0, _ = self._state()
        raw = copy.deepcopy(raw0)
        touched = set()
        for p in spec.parameters:
            v = float(params[p.name])
            if p.kind == "set":
                set_path(raw, p.path, v)
            elif p.kind == "origin_weight":
                set_path(raw, p.path, v)
                touched.add(p.path.rsplit(".", 1)[0])
        for path in touched:
            d = raw
            for k in path.split("."):
                d = d[k]
            s = sum(d.values())
            for k in d:
                d[k] = d[k] / s
        raw["departures"]["scale"] = self.scale if scale is None else scale
        return raw

    def factors(self, params: dict) -> list[tuple[list[str], tuple | None, float]]:
        spec = self.spec
        return [(spec.labels(p), months_of(spec, p), float(params[p.name]))
                for p in spec.parameters if p.kind == "departures"]

    def inputs(self, params: dict, scale: float | None = None):
        from sim.scenario.files import validate_raw
        from sim.scenario.inputs import Inputs

        raw = self.raw_scenario(params, scale)
        sc = validate_raw(raw, self.spec_path)
        inp = Inputs.load(self.spec_path, scenario=sc)
        month = inp.dates.to_period("M")
        for labels, months, f in self.factors(params):
            rows = np.ones(len(month), bool) if months is None else (month >= months[0]) & (month <= months[1])
            cols = [CODE[c] for c in labels]
            inp.departures[np.ix_(rows, cols)] *= f
        return inp

    def simulate(self, params: dict, seeds: list[int] | None = None, scale: float | None = None) -> list[dict]:
        from sim.studies.runner import simulate

        sc = self.scale if scale is None else scale
        inp = self.inputs(params, sc)
        out = []
        for s in (self.seeds if seeds is None else seeds):
            ts = simulate(inp, s).timeseries
            out.append(self.observed.summarize(ts, sc))
        return out

    def __call__(self, params: dict) -> dict:
        runs = self.simulate(dict(params))
        return {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0]}


class LatentModel:
    """What pyabc calls: latent (standard-normal) parameters -> CalibrationModel."""

    def __init__(self, model: CalibrationModel):
        self.model = model

    def __call__(self, z: dict) -> dict:
        return self.model(to_natural(self.model.spec, dict(z)))


def to_natural(spec: "Spec", z: dict) -> dict:
    return {p.name: float(p.prior.from_latent(z[p.name])) for p in spec.parameters}


def check_spec_against_scenario(model: CalibrationModel) -> None:
    """Apply prior centres and validate, so a bad path fails before any simulation."""
    spec = model.spec
    from sim.scenario.files import validate_raw

    for i, p in enumerate(spec.parameters):
        if p.kind == "origin_weight":
            c, node = p.path.split(".")[2], p.path.split(".")[4]
            raw = model._state()[2]
            origins = raw.get("departures", {}).get("by_citizenship", {}).get(c, {}).get("origins")
            if origins is None:
                raise InputError(model.spec_path, f"parameters.{i}.path", f"the scenario gives no origins for {c}")
            if node not in origins:
                raise InputError(model.spec_path, f"parameters.{i}.path", f"{node} is not an origin of {c} in the scenario")
    centre = {p.name: p.prior.centre() for p in spec.parameters}
    try:
        raw = model.raw_scenario(centre)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise InputError(model.spec_path, "parameters", f"bad path ({exc})") from None
    try:
        validate_raw(raw, model.spec_path)
    except InputError as exc:
        field = exc.field
        for i, p in enumerate(spec.parameters):
            if p.path and (p.path == field or p.path.startswith(field + ".") or field.startswith(p.path)):
                raise InputError(model.spec_path, f"parameters.{i}.path ({p.path})", exc.message) from None
        raise InputError(model.spec_path, f"scenario field {field}", exc.message) from None
    model.inputs(centre)  # network and schedule cross-checks


def _verify_one(args):
    spec_path, params, seed, scale = args
    m = CalibrationModel(spec_path, scale=scale, seeds=[seed])
    return m.simulate(params)[0]


def simulate_many(spec_path: str, jobs: list[tuple[dict, int, float]], processes: int) -> list[dict]:
    args = [(spec_path, p, s, sc) for p, s, sc in jobs]
    if processes <= 1 or len(args) == 1:
        return [_verify_one(a) for a in args]
    import multiprocessing

    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_verify_one, args))


