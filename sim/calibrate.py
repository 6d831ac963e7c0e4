"""Calibration of a scenario against observed figures by ABC-SMC (pyabc).

Why this shape: the simulator has no likelihood, only draws, so parameters are fitted
by approximate Bayesian computation: draw parameters from priors, simulate, keep what
lands close to the observations, and tighten the threshold generation by generation
(sequential Monte Carlo). What is fitted, with which priors and against which figures,
lives in a calibration file (``calibration/fy2023.yaml``) checked by a pydantic schema
like the scenarios are; this module turns it into a run:

* parameters are applied to the raw scenario dict: ``set`` a dotted path
  (``route_choice.km_weight``), ``origin_weight`` (the weight of one origin of a
  citizenship; that citizenship's origin shares are renormalised to sum 1), or
  ``departures`` (a multiplier on the departure schedule for some citizenships and an
  optional range of months);
* every particle is simulated with the same fixed seeds (common random numbers), at a
  reduced ``departures.scale`` whose counts are scaled back by 1/scale;
* the distance is a weighted sum of target families, each the relative difference in
  Flee's convention (sum |sim - obs| / sum obs), plus rank terms (1 - Spearman);
* the output: the pyabc database (sqlite) and the posterior (Parquet) in ``--out``,
  the point estimate as a scenario fragment (YAML plus the adjusted departure CSV),
  and a report (Markdown plus plots) that verifies the point estimate with several
  seeds at full scale against the acceptance criteria and shows one held-out check
  (a table not used in the fit).

Errors in the calibration file raise ``InputError(file, field, message)``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from scipy import special

from sim.citizenship import CITIZENSHIPS, CODE
from sim.errors import InputError
from sim.schema import Strict, first_error, read_yaml_mapping

FAMILIES = ("enc_total", "enc_citizenship", "enc_citizenship_relative", "enc_month", "enc_area",
            "enc_component", "darien_total", "darien_month", "darien_nationality",
            "rank_citizenship", "rank_darien")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ====================================================================== the spec
class Prior(Strict):
    """A prior: uniform or log-uniform between ``low`` and ``high``."""

    dist: Literal["uniform", "loguniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high <= self.low:
            raise ValueError("high must be greater than low")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a log-uniform prior needs low > 0")
        return self

    def from_latent(self, z: float | np.ndarray):
        """Map a standard-normal variable to this prior: exactly uniform (or log-uniform) on
        [low, high]. ABC runs in this unbounded space so that its perturbation kernel never
        proposes outside the prior, and in a Gaussian one because pyabc's Gaussian kernel
        density of a Gaussian sample is itself Gaussian: with a logistic latent prior the
        importance weights prior/proposal of 16 parameters multiplied up and the first
        generation kept an effective sample size of 9 of 200."""
        u = special.ndtr(np.asarray(z, float))
        if self.dist == "uniform":
            return self.low + (self.high - self.low) * u
        return np.exp(np.log(self.low) + (np.log(self.high) - np.log(self.low)) * u)

    def centre(self) -> float:
        return math.sqrt(self.low * self.high) if self.dist == "loguniform" else 0.5 * (self.low + self.high)


class Parameter(Strict):
    """One free parameter and how it enters the scenario."""

    name: str = Field(description="identifier (letters, digits, _)")
    kind: Literal["set", "origin_weight", "departures"] = "set"
    path: str | None = Field(None, description="dotted path in the scenario (set, origin_weight)")
    citizenships: list[str] | str | None = Field(None, description="departures: labels or a group name")
    months: tuple[str, str] | None = Field(None, description="departures: first and last month (YYYY-MM), inclusive")
    prior: Prior
    note: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not NAME_RE.match(v):
            raise ValueError(f"{v!r} is not an identifier (letters, digits, _)")
        return v

    @field_validator("months")
    @classmethod
    def _months(cls, v):
        if v is None:
            return v
        try:
            a, b = pd.Period(v[0], freq="M"), pd.Period(v[1], freq="M")
        except Exception:
            raise ValueError("months must be two YYYY-MM strings") from None
        if b < a:
            raise ValueError("the last month is before the first")
        return v

    @model_validator(mode="after")
    def _fields(self):
        if self.kind in ("set", "origin_weight") and not self.path:
            raise ValueError(f"a {self.kind!r} parameter needs a path")
        if self.kind == "departures":
            if not self.citizenships:
                raise ValueError("a 'departures' parameter needs citizenships")
            if self.path:
                raise ValueError("a 'departures' parameter takes citizenships/months, not a path")
        if self.kind == "origin_weight":
            parts = self.path.split(".")
            if len(parts) != 5 or parts[:2] != ["departures", "by_citizenship"] or parts[3] != "origins":
                raise ValueError("an origin_weight path is departures.by_citizenship.<CITIZENSHIP>.origins.<node>")
        return self


class Windows(Strict):
    """Date windows of the targets (inclusive)."""

    encounters: tuple[dt.date, dt.date] = (dt.date(2022, 10, 1), dt.date(2023, 9, 30))
    darien: tuple[dt.date, dt.date] = (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    darien_partial: tuple[dt.date, dt.date] = (dt.date(2023, 1, 1), dt.date(2023, 8, 31))


class TargetFiles(Strict):
    """Observed tables (relative to ``targets``); the formats of calibration/targets/."""

    by_citizenship: str = "cbp_fy2023_by_citizenship.csv"
    by_month: str = "cbp_fy2023_by_month.csv"
    by_area: str = "cbp_fy2023_by_area.csv"
    darien_monthly: str = "darien_2023_monthly.csv"
    darien_by_nationality: str = "darien_2023_by_nationality.csv"
    holdout_citizenship_area: str | None = Field("cbp_fy2023_by_citizenship_area.csv",
                                                 description="held out: not used in the fit, predicted in the report")


class Simulation(Strict):
    """How each particle is simulated."""

    scale: Annotated[float, Field(gt=0, le=1)] = 0.1
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [1000], min_length=1)


class ABC(Strict):
    population_size: Annotated[int, Field(ge=2)] = 200
    max_generations: Annotated[int, Field(ge=1)] = 12
    max_walltime_minutes: Annotated[float, Field(gt=0)] = 45.0
    max_simulations: Annotated[int, Field(ge=1)] | None = None
    min_epsilon: Annotated[float, Field(ge=0)] = 0.0
    proposal_scaling: Annotated[float, Field(gt=0)] = Field(
        2.0, description="covariance of the Gaussian proposal = this x the weighted population's covariance")
    proposal_defensive: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.2, description="share of proposals drawn from the prior (defensive mixture)")
    processes: Annotated[int, Field(ge=1)] | None = Field(None, description="worker processes (default: all cores)")


class Verify(Strict):
    """Check of the point estimate and posterior-predictive bands in the report."""

    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: list(range(1, 11)), min_length=1)
    scale: Annotated[float, Field(gt=0, le=1)] = 1.0
    predictive_draws: Annotated[int, Field(ge=0)] = 30
    predictive_scale: Annotated[float, Field(gt=0, le=1)] = 0.1
    candidates: list[Literal["median", "mean", "best"]] = Field(
        default_factory=lambda: ["median", "best"],
        description="point estimates tried; the one meeting most criteria (then lowest distance) is written")


class Quick(Strict):
    """Overrides for --quick (a smoke run)."""

    population_size: Annotated[int, Field(ge=2)] = 12
    max_generations: Annotated[int, Field(ge=1)] = 2
    max_walltime_minutes: Annotated[float, Field(gt=0)] = 2.0
    scale: Annotated[float, Field(gt=0, le=1)] = 0.02
    verify_seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [1, 2], min_length=1)
    verify_scale: Annotated[float, Field(gt=0, le=1)] = 0.1
    predictive_draws: Annotated[int, Field(ge=0)] = 4


class Acceptance(Strict):
    """Criteria the calibrated baseline must meet (mean over the verify seeds)."""

    total_rel: float = 0.03
    named_rel: dict[str, float] = Field(default_factory=lambda: {"CHINA": 0.10})
    citizenship_l1: float = 0.10
    citizenship_spearman: float = 0.95
    month_pearson: float = 0.8
    month_l1: float = 0.15
    darien_total_rel: float = 0.05
    darien_month_pearson: float = 0.8
    darien_top: list[str] = Field(default_factory=lambda: ["VENEZUELA", "ECUADOR", "HAITI", "CHINA"])


class Outputs(Strict):
    """Files written next to the calibration file (in --out with --quick)."""

    params: str = "fy2023_params.yaml"
    departures: str = "fy2023_departures.csv"
    report: str = "REPORT.md"
    plots: str = "plots"


class Spec(Strict):
    """A calibration: base scenario, targets, free parameters, distance, ABC settings."""

    name: str
    description: str = ""
    scenario: str = Field(description="base scenario (hand-set values; the priors are centred on them)")
    departures_file: str = Field(description="prior departure schedule that 'departures' parameters multiply")
    targets: str = Field(description="folder of observed tables")
    target_files: TargetFiles = TargetFiles()
    windows: Windows = Windows()
    darien_nationality_map: dict[str, str] = Field(
        default_factory=dict, description="model citizenship -> label it has in Panama's Darién figures")
    fixed: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value, applied before the parameters")
    groups: dict[str, list[str]] = Field(default_factory=dict)
    parameters: list[Parameter] = Field(min_length=1)
    weights: dict[str, Annotated[float, Field(ge=0)]]
    simulation: Simulation = Simulation()
    abc: ABC = ABC()
    verify: Verify = Verify()
    quick: Quick = Quick()
    acceptance: Acceptance = Acceptance()
    outputs: Outputs = Outputs()
    notes: list[str] = Field(default_factory=list, description="known weaknesses, copied into the report")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        for k in v:
            if k not in FAMILIES:
                raise ValueError(f"unknown target family {k!r} (known: {', '.join(FAMILIES)})")
        if not any(x > 0 for x in v.values()):
            raise ValueError("at least one weight must be positive")
        return v

    @field_validator("groups")
    @classmethod
    def _groups(cls, v):
        for g, labels in v.items():
            for c in labels:
                if c not in CODE:
                    raise ValueError(f"{g}: unknown citizenship {c!r}")
        return v

    @model_validator(mode="after")
    def _cross(self):
        seen = set()
        for i, p in enumerate(self.parameters):
            if p.name in seen:
                raise ValueError(f"parameters.{i}: duplicate name {p.name!r}")
            seen.add(p.name)
            if p.kind == "departures":
                cits = p.citizenships
                if isinstance(cits, str):
                    if cits not in self.groups:
                        raise ValueError(f"parameters.{i}.citizenships: unknown group {cits!r}")
                else:
                    for c in cits:
                        if c not in CODE:
                            raise ValueError(f"parameters.{i}.citizenships: unknown citizenship {c!r}")
        return self

    def labels(self, p: Parameter) -> list[str]:
        return list(self.groups[p.citizenships]) if isinstance(p.citizenships, str) else list(p.citizenships)


def load_spec(path: str | Path) -> tuple[Spec, Path]:
    """Read and check a calibration file; paths in it are resolved against its folder."""
    path = Path(path)
    raw = read_yaml_mapping(path, "calibration file")
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        error = first_error(exc, path, "calibration")
        # cross-parameter checks name the parameter in their message: move it into the field
        m = re.match(r"(parameters\.\d+)(?:\.(\w+))?: (.*)", error.message)
        if m and error.field == "calibration":
            error = InputError(path, m.group(1) + (f".{m.group(2)}" if m.group(2) else ""), m.group(3))
        raise error from None
    base = path.parent.resolve()
    for field, value in (("scenario", spec.scenario), ("departures_file", spec.departures_file)):
        if not (base / value).is_file():
            raise InputError(path, field, f"file not found: {value}")
    tdir = base / spec.targets
    if not tdir.is_dir():
        raise InputError(path, "targets", f"folder not found: {spec.targets}")
    for field, value in spec.target_files.model_dump().items():
        if value is not None and not (tdir / value).is_file():
            raise InputError(path, f"target_files.{field}", f"file not found: {tdir / value}")
    return spec, base


# ====================================================================== observations
class Observed:
    """The observed tables as the summary statistics the model is compared with."""

    def __init__(self, spec: Spec, base: Path, spec_path: Path):
        t = base / spec.targets
        f = spec.target_files
        self.spec = spec

        def read(name, cols):
            d = pd.read_csv(t / name)
            for c in cols:
                if c not in d.columns:
                    raise InputError(t / name, c, "required column missing")
            return d

        cit = read(f.by_citizenship, ["citizenship", "encounters"])
        for c in cit["citizenship"]:
            if c not in CODE:
                raise InputError(t / f.by_citizenship, "citizenship", f"unknown citizenship {c!r}")
        self.citizenships = list(cit["citizenship"])
        mon = read(f.by_month, ["month", "encounters"])
        self.months = [str(pd.Period(m, freq="M")) for m in mon["month"]]
        area = read(f.by_area, ["area", "component", "encounters"])
        self.areas = list(area["area"])
        self.area_component = dict(zip(area["area"], area["component"]))
        self.components = sorted(set(area["component"]))
        comp = area.groupby("component")["encounters"].sum().reindex(self.components)
        dm = read(f.darien_monthly, ["month", "crossings"])
        self.darien_months = [str(pd.Period(m, freq="M")) for m in dm["month"]]
        dn = read(f.darien_by_nationality, ["nationality", "period", "crossings"])
        periods = list(dict.fromkeys(dn["period"]))
        full = [p for p in periods if "full" in p.lower()]
        part = [p for p in periods if p not in full]
        self.full_period = full[0] if full else None
        self.part_period = part[0] if part else None
        nmap = spec.darien_nationality_map

        def block(period):
            if period is None:
                return [], np.zeros(0), None
            d = dn[dn["period"] == period]
            tot = d.loc[d["nationality"] == "TOTAL", "crossings"]
            d = d[d["nationality"] != "TOTAL"]
            groups: dict[str, float] = {}
            for n, v in zip(d["nationality"], d["crossings"]):
                g = self.darien_group(n, nmap, observed=True)
                groups[g] = groups.get(g, 0.0) + float(v)
            return list(groups), np.array(list(groups.values())), (float(tot.iloc[0]) if len(tot) else None)

        self.dar_full_labels, dar_full, full_total = block(self.full_period)
        self.dar_part_labels, dar_part, _ = block(self.part_period)
        self.darien_total = full_total if full_total is not None else float(dm["crossings"].sum())
        self.stats = {
            "enc_citizenship": cit["encounters"].to_numpy(float),
            "enc_month": mon["encounters"].to_numpy(float),
            "enc_area": area["encounters"].to_numpy(float),
            "enc_component": comp.to_numpy(float),
            "darien_month": dm["crossings"].to_numpy(float),
            "darien_full": dar_full.astype(float),
            "darien_part": dar_part.astype(float),
            "darien_total": np.array([self.darien_total]),
        }
        self.holdout = None
        if f.holdout_citizenship_area:
            self.holdout = read(f.holdout_citizenship_area, ["citizenship", "area", "encounters"])

    def darien_group(self, label: str, nmap: dict, observed: bool = False) -> str:
        """Panama's label for a model citizenship (or a Panama label itself)."""
        if not observed:
            label = nmap.get(label, label)
        return label if (label in CODE or not observed) else "OTHER"

    # ------------------------------------------------------------------ from a run
    def summarize(self, ts: pd.DataFrame, scale: float) -> dict[str, np.ndarray]:
        """Summary statistics of one run's timeseries (counts scaled by 1/scale)."""
        w = self.spec.windows
        ts = ts[["date", "metric", "nationality", "place", "value"]]
        d = pd.to_datetime(ts["date"])
        enc = ts[(ts["metric"] == "encounters") & (d >= pd.Timestamp(w.encounters[0])) & (d <= pd.Timestamp(w.encounters[1]))]
        encd = d[enc.index]
        k = 1.0 / scale
        by_cit = enc.groupby("nationality")["value"].sum()
        by_mon = enc.groupby(encd.dt.to_period("M").astype(str))["value"].sum()
        by_area = enc.groupby("place")["value"].sum()
        comp = pd.Series(self.area_component).reindex(by_area.index)
        by_comp = by_area.groupby(comp).sum().reindex(self.components, fill_value=0)
        dar = ts[ts["metric"] == "darien_crossings"]
        dd = d[dar.index]
        dm = dar.groupby(dd.dt.to_period("M").astype(str))["value"].sum()
        full = dar[(dd >= pd.Timestamp(w.darien[0])) & (dd <= pd.Timestamp(w.darien[1]))]
        part = dar[(dd >= pd.Timestamp(w.darien_partial[0])) & (dd <= pd.Timestamp(w.darien_partial[1]))]
        nmap = self.spec.darien_nationality_map
        out = {
            "enc_citizenship": by_cit.reindex(self.citizenships, fill_value=0).to_numpy(float) * k,
            "enc_month": by_mon.reindex(self.months, fill_value=0).to_numpy(float) * k,
            "enc_area": by_area.reindex(self.areas, fill_value=0).to_numpy(float) * k,
            "enc_component": by_comp.to_numpy(float) * k,
            "darien_month": dm.reindex(self.darien_months, fill_value=0).to_numpy(float) * k,
            "darien_total": np.array([full["value"].sum() * k], float),
        }
        fg = full.groupby(full["nationality"].map(lambda c: nmap.get(c, c)))["value"].sum() * k
        pg = part.groupby(part["nationality"].map(lambda c: nmap.get(c, c)))["value"].sum() * k
        # model labels not named in Panama's Jan-Aug table fall into its OTHER
        pg_named = pg.reindex([l for l in self.dar_part_labels if l != "OTHER"], fill_value=0)
        other = pg.sum() - pg_named.sum()
        part_vals = [other if l == "OTHER" else pg_named.get(l, 0.0) for l in self.dar_part_labels]
        out["darien_full"] = fg.reindex(self.dar_full_labels, fill_value=0).to_numpy(float)
        out["darien_part"] = np.array(part_vals, float)
        # every named model group, for the top-four check (OTHER is not a nationality)
        named = fg.drop("OTHER", errors="ignore").sort_values(ascending=False)
        out["darien_ranked"] = np.array([CODE.get(l, -1) for l in named.index[:8]] + [-1] * (8 - min(8, len(named))), float)
        out["darien_ranked_values"] = np.r_[named.to_numpy(float)[:8], np.zeros(8 - min(8, len(named)))]
        if self.holdout is not None:
            ca = enc.groupby(["nationality", "place"])["value"].sum() * k
            idx = pd.MultiIndex.from_frame(self.holdout[["citizenship", "area"]])
            out["holdout_cit_area"] = ca.reindex(idx, fill_value=0).to_numpy(float)
        return out


# ====================================================================== distance
def rel_l1(sim: np.ndarray, obs: np.ndarray) -> float:
    """Flee's relative difference: sum |sim - obs| / sum obs."""
    sim, obs = np.asarray(sim, float), np.asarray(obs, float)
    s = np.abs(obs).sum()
    return float(np.abs(sim - obs).sum() / s) if s > 0 else float(np.abs(sim).sum() > 0)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return 0.0
    return float(spearmanr(a, b).statistic)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


class FitDistance:
    """Weighted sum of target-family distances (picklable; pyabc calls it as d(x, x0))."""

    def __init__(self, weights: dict[str, float], relative_min: float = 10_000.0):
        self.weights = {k: float(v) for k, v in weights.items() if v > 0}
        self.relative_min = relative_min

    def families(self, x: dict, x0: dict) -> dict[str, float]:
        f = {}
        ce, co = x["enc_citizenship"], x0["enc_citizenship"]
        f["enc_total"] = abs(ce.sum() - co.sum()) / co.sum()
        f["enc_citizenship"] = rel_l1(ce, co)
        big = co >= self.relative_min
        f["enc_citizenship_relative"] = float(np.mean(np.abs(ce[big] - co[big]) / co[big])) if big.any() else 0.0
        f["enc_month"] = rel_l1(x["enc_month"], x0["enc_month"])
        f["enc_area"] = rel_l1(x["enc_area"], x0["enc_area"])
        f["enc_component"] = rel_l1(x["enc_component"], x0["enc_component"])
        f["darien_total"] = abs(x["darien_total"][0] - x0["darien_total"][0]) / x0["darien_total"][0]
        f["darien_month"] = rel_l1(x["darien_month"], x0["darien_month"])
        parts = [rel_l1(x[k], x0[k]) for k in ("darien_full", "darien_part") if len(x0[k])]
        f["darien_nationality"] = float(np.mean(parts)) if parts else 0.0
        f["rank_citizenship"] = 1.0 - spearman(ce, co)
        ranks = [1.0 - spearman(x[k], x0[k]) for k in ("darien_full", "darien_part") if len(x0[k]) >= 2]
        f["rank_darien"] = float(np.mean(ranks)) if ranks else 0.0
        return f

    def __call__(self, x: dict, x0: dict, *args, **kwargs) -> float:
        f = self.families(x, x0)
        return float(sum(w * f[k] for k, w in self.weights.items()))


# ====================================================================== the model
_CACHE: dict = {}


def set_path(raw: dict, path: str, value: Any) -> None:
    """Set a dotted path in a nested dict, creating mappings on the way."""
    keys = path.split(".")
    d = raw
    for k in keys[:-1]:
        nxt = d.get(k)
        if nxt is None:
            nxt = d[k] = {}
        if not isinstance(nxt, dict):
            raise KeyError(f"{k} is not a mapping")
        d = nxt
    d[keys[-1]] = value


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
            from sim.scenario import read_raw

            spec, base = load_spec(self.spec_path)
            raw = read_raw(base / spec.scenario)
            raw["departures"]["file"] = str((base / spec.departures_file).resolve())
            for path, value in spec.fixed.items():
                set_path(raw, path, copy.deepcopy(value))
            _CACHE[key] = (spec, base, raw, Observed(spec, base, Path(self.spec_path)))
        return _CACHE[key]

    @property
    def spec(self) -> Spec:
        return self._state()[0]

    @property
    def observed(self) -> Observed:
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
        from sim.inputs import Inputs
        from sim.scenario import validate_raw

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
        from sim.model import RouteModel

        sc = self.scale if scale is None else scale
        inp = self.inputs(params, sc)
        out = []
        for s in (self.seeds if seeds is None else seeds):
            ts = RouteModel(inp, s).run().timeseries()
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
    from sim.scenario import validate_raw

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
    except KeyError as exc:
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


# ====================================================================== running
def _sampler(scheduler: str | None, processes: int | None):
    import pyabc

    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
        return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), client
    n = processes or os.cpu_count() or 1
    if n <= 1:
        return pyabc.sampler.SingleCoreSampler(), None
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=n), None


def gaussian_transition(scaling: float = 2.0, defensive: float = 0.2):
    """A pyabc transition for the latent (standard-normal) space: a defensive mixture of
    ONE multivariate normal fitted to the weighted population (its mean, its covariance
    times ``scaling``) and, with probability ``defensive``, the prior itself.

    Why not pyabc's default kernel density: in 16 dimensions a few hundred particles are
    separate blobs for it, so the importance weights prior/proposal spread over orders
    of magnitude (trial fits kept effective sample sizes of 7 and 9 of 200 after one
    generation). Why the prior in the mix: a Gaussian fitted to a population of low
    effective size can be narrower than the posterior in directions the data do not
    pin down, and particles in its tails then carry huge weights (a trial without it fell
    to 12 of 200 in generation 2); with the prior mixed in, no weight exceeds
    1/defensive times the typical one (Hesterberg's defensive importance sampling). The
    price: about ``defensive`` of the proposals are prior draws, mostly rejected, and a
    posterior with several separate modes is explored poorly (the report's ESS shows it).
    """
    import pyabc
    import scipy.stats as st
    from pyabc.transition.util import smart_cov

    class GaussianTransition(pyabc.transition.Transition):
        def __init__(self, scaling: float = 2.0, defensive: float = 0.2):
            self.scaling, self.defensive = scaling, defensive

        def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
            x = X.to_numpy(dtype=float)
            mean = np.average(x, axis=0, weights=w)
            cov = np.atleast_2d(smart_cov(x, w)) * self.scaling
            self.normal = st.multivariate_normal(mean=mean, cov=cov, allow_singular=True)
            self.prior = st.multivariate_normal(mean=np.zeros(len(mean)), cov=np.eye(len(mean)))

        def rvs_single(self):
            dist = self.prior if np.random.uniform() < self.defensive else self.normal
            return pyabc.Parameter(dict(zip(self.X.columns, np.atleast_1d(dist.rvs()))))

        def _pdf(self, x: np.ndarray):
            return (1.0 - self.defensive) * self.normal.pdf(x) + self.defensive * self.prior.pdf(x)

        def pdf(self, x):
            if isinstance(x, (pyabc.Parameter, pd.Series, dict)):
                return float(self._pdf(np.array([x[k] for k in self.X.columns], dtype=float)))
            return np.atleast_1d(self._pdf(x[self.X.columns].to_numpy(dtype=float)))

    return GaussianTransition(scaling, defensive)


def run_abc(model: CalibrationModel, out: Path, scheduler: str | None, quick: bool, log=print,
            max_minutes: float | None = None):
    """ABC-SMC; returns (history, elapsed seconds)."""
    import pyabc

    spec = model.spec
    a = spec.abc
    pop, gens, wall = a.population_size, a.max_generations, a.max_walltime_minutes
    if quick:
        q = spec.quick
        pop, gens, wall = q.population_size, q.max_generations, q.max_walltime_minutes
    if max_minutes is not None:
        wall = max_minutes
    prior = pyabc.Distribution(**{p.name: pyabc.RV("norm", 0.0, 1.0) for p in spec.parameters})
    sampler, client = _sampler(scheduler, a.processes)
    distance = FitDistance(spec.weights)
    # generation 0 is a plain prior sample (no separate calibration sample), then median thresholds
    eps = pyabc.QuantileEpsilon(initial_epsilon=1e12, alpha=0.5)
    abc = pyabc.ABCSMC(LatentModel(model), prior, distance, population_size=pop, sampler=sampler, eps=eps,
                       transitions=gaussian_transition(a.proposal_scaling, a.proposal_defensive))
    db = out / "abc.db"
    if db.exists():
        db.unlink()
    abc.new(f"sqlite:///{db}", model.observed.stats)
    t0 = time.perf_counter()
    kw = dict(minimum_epsilon=a.min_epsilon, max_nr_populations=gens, max_walltime=dt.timedelta(minutes=wall))
    if a.max_simulations and not quick:
        kw["max_total_nr_simulations"] = a.max_simulations
    try:
        history = abc.run(**kw)
    finally:
        if client is not None:
            client.close()
    return history, time.perf_counter() - t0


def posterior_frame(history, spec: "Spec") -> pd.DataFrame:
    """Final generation in the parameters' own units, with weights and distances."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    df = df.copy()
    for p in spec.parameters:
        df[p.name] = p.prior.from_latent(df[p.name].to_numpy())
    df["weight"] = w
    try:
        dist = history.get_weighted_distances(t=history.max_t)
        if len(dist) == len(df):
            df["distance"] = dist["distance"].to_numpy()
    except Exception:
        pass
    return df.reset_index(drop=True)


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    o = np.argsort(x)
    x, w = np.asarray(x)[o], np.asarray(w)[o]
    c = np.cumsum(w) - 0.5 * w
    c /= w.sum()
    return float(np.interp(q, c, x))


def point_estimates(spec: Spec, post: pd.DataFrame) -> dict[str, dict]:
    names = [p.name for p in spec.parameters]
    w = post["weight"].to_numpy()
    out = {}
    out["median"] = {n: weighted_quantile(post[n].to_numpy(), w, 0.5) for n in names}
    out["mean"] = {n: float(np.average(post[n].to_numpy(), weights=w)) for n in names}
    if "distance" in post:
        best = post.loc[post["distance"].idxmin()]
        out["best"] = {n: float(best[n]) for n in names}
    return out


# ====================================================================== verification
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


def criteria(spec: Spec, obs: Observed, mean: dict) -> list[dict]:
    """Acceptance checks on the mean summary statistics of several seeds."""
    acc, o = spec.acceptance, obs.stats
    rows = []

    def add(name, value, target, ok, fmt="{:.3f}"):
        rows.append({"criterion": name, "value": fmt.format(value) if isinstance(value, float) else str(value),
                     "target": target, "ok": bool(ok)})

    tot, tobs = mean["enc_citizenship"].sum(), o["enc_citizenship"].sum()
    add("Encounters, total", f"{tot:,.0f} ({tot / tobs - 1:+.1%})", f"{tobs:,.0f} ± {acc.total_rel:.0%}",
        abs(tot / tobs - 1) <= acc.total_rel)
    for c, r in acc.named_rel.items():
        if c in obs.citizenships:
            i = obs.citizenships.index(c)
            v, ob = mean["enc_citizenship"][i], o["enc_citizenship"][i]
            add(f"Encounters, {c}", f"{v:,.0f} ({v / ob - 1:+.1%})", f"{ob:,.0f} ± {r:.0%}", abs(v / ob - 1) <= r)
    l1 = rel_l1(mean["enc_citizenship"], o["enc_citizenship"])
    add("By citizenship: sum|sim-obs|/sum obs", l1, f"≤ {acc.citizenship_l1}", l1 <= acc.citizenship_l1)
    sp = spearman(mean["enc_citizenship"], o["enc_citizenship"])
    add(f"By citizenship: Spearman ({len(obs.citizenships)})", sp, f"≥ {acc.citizenship_spearman}", sp >= acc.citizenship_spearman)
    pm = pearson(mean["enc_month"], o["enc_month"])
    add("By month: Pearson", pm, f"≥ {acc.month_pearson}", pm >= acc.month_pearson)
    lm = rel_l1(mean["enc_month"], o["enc_month"])
    add("By month: sum|sim-obs|/sum obs", lm, f"≤ {acc.month_l1}", lm <= acc.month_l1)
    dtot, dobs = mean["darien_total"][0], o["darien_total"][0]
    add("Darién 2023 total", f"{dtot:,.0f} ({dtot / dobs - 1:+.1%})", f"{dobs:,.0f} ± {acc.darien_total_rel:.0%}",
        abs(dtot / dobs - 1) <= acc.darien_total_rel)
    dp = pearson(mean["darien_month"], o["darien_month"])
    add("Darién by month: Pearson", dp, f"≥ {acc.darien_month_pearson}", dp >= acc.darien_month_pearson)
    ranked = sorted(((v, c) for c, v in mean["darien_named"].items()), reverse=True)
    top = [c for _, c in ranked[: len(acc.darien_top)]]
    add("Darién top nationalities (order)", ", ".join(top), ", ".join(acc.darien_top), top == list(acc.darien_top))
    return rows


def mean_stats(runs: list[dict]) -> dict:
    keys = [k for k in runs[0] if k not in ("darien_ranked", "darien_ranked_values")]
    m = {k: np.mean([r[k] for r in runs], axis=0) for k in keys}
    named: dict[str, float] = {}
    for r in runs:
        for code, v in zip(r["darien_ranked"], r["darien_ranked_values"]):
            if code >= 0:
                c = CITIZENSHIPS[int(code)]
                named[c] = named.get(c, 0.0) + v / len(runs)
    m["darien_named"] = named
    return m


# ====================================================================== outputs
def departures_csv(model: CalibrationModel, params: dict, dest: Path) -> None:
    spec, base, _, _ = model._state()
    d = pd.read_csv(base / spec.departures_file)
    month = pd.PeriodIndex(d["month"].astype(str), freq="M")
    f = np.ones(len(d))
    for labels, months, v in model.factors(params):
        sel = d["citizenship"].isin(labels).to_numpy().copy()
        if months is not None:
            sel &= (month >= months[0]) & (month <= months[1])
        f[sel] *= v
    d["persons"] = np.round(d["persons"].to_numpy(float) * f, 1)
    d.to_csv(dest, index=False)


def params_fragment(model: CalibrationModel, params: dict, departures_name: str) -> dict:
    """The overridden keys, in scenario structure."""
    spec = model.spec
    raw = model.raw_scenario(params)
    frag: dict = {}
    paths = [p for p in spec.fixed] + [p.path for p in spec.parameters if p.kind == "set"]
    paths += sorted({p.path.rsplit(".", 1)[0] for p in spec.parameters if p.kind == "origin_weight"})
    for path in paths:
        d = raw
        for k in path.split("."):
            d = d[k]
        if isinstance(d, dict):  # origin shares: rounded, and still summing to 1 exactly
            val = {k: round(float(v), 6) for k, v in d.items()}
            last = max(val, key=val.get)
            val[last] = round(1.0 - sum(v for k, v in val.items() if k != last), 6)
        else:
            val = d
        if isinstance(val, float):
            val = float(f"{val:.4g}")
        set_path(frag, path, val)
    if any(p.kind == "departures" for p in spec.parameters):
        set_path(frag, "departures.file", departures_name)
    return frag


def write_params(model: CalibrationModel, params: dict, dest: Path, dep_dest: Path, header: str) -> None:
    departures_csv(model, params, dep_dest)
    frag = params_fragment(model, params, dep_dest.name)
    dest.write_text(header + yaml.safe_dump(frag, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")


def load_params_fragment(base_scenario: Path, params_path: Path, scale: float) -> Any:
    """Base scenario merged with a params fragment (as a scenario that includes it would be)."""
    from sim.scenario import _merge, read_raw, validate_raw

    raw = _merge(read_raw(base_scenario), read_raw(params_path))
    raw["departures"]["scale"] = scale
    return validate_raw(raw, params_path)


# ====================================================================== report
def _fig(w=8, h=4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110)


def _band(ax, x, draws, color="tab:blue", label="posterior predictive 5-95%"):
    if len(draws) >= 2:
        a = np.asarray(draws)
        ax.fill_between(x, np.percentile(a, 5, axis=0), np.percentile(a, 95, axis=0), color=color, alpha=0.25,
                        label=label, step=None)


def make_plots(spec, obs: Observed, mean: dict, runs: list[dict], draws: list[dict], post: pd.DataFrame,
               history, plots_dir: Path, holdout: dict | None) -> list[str]:
    plots_dir.mkdir(parents=True, exist_ok=True)
    o = obs.stats
    files = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(plots_dir / name)
        files.append(name)

    def series(key, labels, title, fname, ylabel, rotate=False, log=False):
        fig = _fig()
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        _band(ax, x, [d[key] for d in draws])
        seeds = np.asarray([r[key] for r in runs])
        ax.plot(x, o[key], "ko-", label="observed", lw=1.5, ms=4)
        ax.plot(x, mean[key], "s-", color="tab:red", label=f"point estimate, mean of {len(runs)} seeds", lw=1.2, ms=3)
        if len(runs) > 1:
            ax.vlines(x, seeds.min(axis=0), seeds.max(axis=0), color="tab:red", lw=3, alpha=0.4)
        ax.set_xticks(x, labels, rotation=60 if rotate else 0, ha="right" if rotate else "center", fontsize=7)
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        save(fig, fname)

    short = [m[2:] if m.startswith("20") else m for m in obs.months]
    series("enc_month", short, "SW border encounters by month, FY2023", "encounters_by_month.png", "encounters")
    series("enc_citizenship", obs.citizenships, "SW border encounters by citizenship, FY2023 (log scale)",
           "encounters_by_citizenship.png", "encounters", rotate=True, log=True)
    series("enc_area", obs.areas, "SW border encounters by area, FY2023", "encounters_by_area.png",
           "encounters", rotate=True)
    series("darien_month", [m[2:] for m in obs.darien_months], "Darién crossings by month, 2023",
           "darien_by_month.png", "crossings")
    if len(o["darien_part"]):
        series("darien_part", obs.dar_part_labels, f"Darién crossings by nationality, {obs.part_period}",
               "darien_by_nationality.png", "crossings", rotate=True, log=True)
    # posterior marginals against the prior range
    params = spec.parameters
    n = len(params)
    cols = 6
    rows = math.ceil(n / cols)
    fig = _fig(14, 1.9 * rows)
    w = post["weight"].to_numpy()
    for i, p in enumerate(params):
        ax = fig.add_subplot(rows, cols, i + 1)
        bins = np.linspace(p.prior.low, p.prior.high, 21)
        ax.hist(post[p.name], bins=bins, weights=w, color="tab:blue", alpha=0.7)
        ax.set_xlim(p.prior.low, p.prior.high)
        ax.set_title(p.name, fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    fig.suptitle("Posterior marginals (final generation, weighted); x axis = prior range", fontsize=9)
    save(fig, "posterior_marginals.png")
    # epsilon by generation
    try:
        pops = history.get_all_populations()
        pops = pops[pops["t"] >= 0]
        fig = _fig(6, 3.5)
        ax = fig.add_subplot()
        ax.plot(pops["t"], pops["epsilon"], "o-")
        ax.set_xlabel("generation")
        ax.set_ylabel("epsilon (distance threshold)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        save(fig, "epsilon.png")
    except Exception:
        pass
    if holdout is not None:
        fig = _fig(5.5, 5)
        ax = fig.add_subplot()
        ob, sm = holdout["obs"], holdout["sim"]
        lim = max(ob.max(), sm.max()) * 1.5
        ax.loglog(np.maximum(ob, 1), np.maximum(sm, 1), ".", alpha=0.6)
        ax.plot([1, lim], [1, lim], "k--", lw=0.8)
        ax.set_xlabel("observed encounters (citizenship x area)")
        ax.set_ylabel("simulated (point estimate)")
        ax.set_title("Held out: encounters by citizenship and area", fontsize=9)
        ax.grid(alpha=0.3)
        save(fig, "holdout_citizenship_area.png")
    return files


def holdout_check(obs: Observed, mean: dict) -> dict | None:
    """Citizenship x area: not in the fit (only its margins are); compare with independence."""
    if obs.holdout is None or "holdout_cit_area" not in mean:
        return None
    h = obs.holdout
    ob = h["encounters"].to_numpy(float)
    sim = mean["holdout_cit_area"]
    # naive prediction from the two fitted margins (each citizenship spread like all encounters)
    cit_tot = h.groupby("citizenship")["encounters"].sum()
    area_share = h.groupby("area")["encounters"].sum() / ob.sum()
    naive = cit_tot.reindex(h["citizenship"]).to_numpy() * area_share.reindex(h["area"]).to_numpy()
    # the model's own margins put through independence (separates routing skill from margins)
    return {"obs": ob, "sim": sim, "l1": rel_l1(sim, ob), "naive_l1": rel_l1(naive, ob),
            "cells": len(ob), "spearman": spearman(sim, ob)}


def _fmt(v: float) -> str:
    a = abs(v)
    return f"{v:,.0f}" if a >= 100 else (f"{v:.3g}" if a >= 0.01 else f"{v:.2e}")


def write_report(*, spec, spec_path, model, history, post, results, chosen, draws, report_path, plots_dir,
                 quick, abc_secs, total_secs, n_sims, seeds, vscale, params_path, artefact_gap, out, scheduler,
                 max_minutes=None):
    obs = model.observed
    best = results[chosen]
    hold = holdout_check(obs, best["mean"])
    files = make_plots(spec, obs, best["mean"], best["runs"], draws, post, history, plots_dir, hold)
    rel = os.path.relpath(plots_dir, report_path.parent)
    try:
        import subprocess

        pkg = Path(__file__).resolve().parent  # the sim/ package that ran, wherever it is called from
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=pkg,
                                capture_output=True, text=True).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=pkg,
                               capture_output=True, text=True).stdout.strip()
    except Exception:
        commit, dirty = "unknown", ""
    L = []
    add = L.append
    cmd = f"migsim calibrate {os.path.relpath(spec_path)}{' --quick' if quick else ''} --out {out}" + (
        f" --max-minutes {max_minutes:g}" if max_minutes else "")
    add(f"# Calibration report: {spec.name}{' (QUICK SMOKE RUN: not a calibration)' if quick else ''}\n")
    add(f"{spec.description.strip()}\n")
    add(f"- Command: `{cmd}`" + (f" (Dask scheduler {scheduler})" if scheduler else ""))
    add(f"- Written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; code at git {commit}"
        f"{' with uncommitted changes in sim/' if dirty else ''}.")
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    add(f"- ABC-SMC (pyabc): {len(spec.parameters)} free parameters, population "
        f"{int(pops['particles'].iloc[-1]) if len(pops) else '?'}, {history.max_t + 1} generations, "
        f"{n_sims:,} simulations at departures.scale {model.scale} (seeds {model.seeds}, common random numbers), "
        f"{abc_secs / 60:.1f} min; whole command {total_secs / 60:.1f} min.")
    add(f"- Final threshold epsilon {pops['epsilon'].iloc[-1]:.3f} (generation thresholds: "
        + ", ".join(f"{e:.3f}" for e in pops["epsilon"]) + ").")
    add(f"- Point estimate: posterior **{chosen}** (candidates tried: "
        + ", ".join(f"{k}: {sum(c['ok'] for c in r['criteria'])}/{len(r['criteria'])} criteria, distance {r['distance']:.3f}"
                    for k, r in results.items()) + f"), written to `{os.path.relpath(params_path, report_path.parent)}`.")
    add(f"- Posterior (final generation, weighted): `{out}/posterior.parquet`; pyabc database `{out}/abc.db`.\n")
    add(f"## Acceptance criteria (point estimate, mean of {len(seeds)} seeds {list(seeds)} at scale {vscale})\n")
    add("| criterion | simulated | target | met |\n|---|---|---|---|")
    for c in best["criteria"]:
        add(f"| {c['criterion']} | {c['value']} | {c['target']} | {'yes' if c['ok'] else '**no**'} |")
    tots = [r["enc_citizenship"].sum() for r in best["runs"]]
    dts = [r["darien_total"][0] for r in best["runs"]]
    add(f"\nSpread over seeds: encounters {min(tots):,.0f} to {max(tots):,.0f}; Darién 2023 "
        f"{min(dts):,.0f} to {max(dts):,.0f}. The written parameter file, re-read and run for seed {seeds[0]}, "
        f"gives total encounters within {artefact_gap:.2%} of the in-memory run (rounding of the CSV).")
    named = sorted(best["mean"]["darien_named"].items(), key=lambda kv: -kv[1])[:6]
    add("Darién 2023 by nationality (simulated, labels as Panama counts them"
        + (f"; {', '.join(f'{k} counted as {v}' for k, v in spec.darien_nationality_map.items())}" if spec.darien_nationality_map else "")
        + "): " + ", ".join(f"{k} {v:,.0f}" for k, v in named) + "; observed: "
        + ", ".join(f"{l} {v:,.0f}" for l, v in zip(obs.dar_full_labels, obs.stats["darien_full"])) + ".\n")
    add("## Distance by target family (point estimate, mean of seeds)\n")
    fam = FitDistance(spec.weights).families(best["mean"], obs.stats)
    add("| family | weight | distance |\n|---|---|---|")
    for k in FAMILIES:
        add(f"| {k} | {spec.weights.get(k, 0)} | {fam[k]:.3f} |")
    add("\nFamilies are sum |sim - obs| / sum obs (Flee's convention) except `enc_total`/`darien_total` "
        "(|sim - obs| / obs), `enc_citizenship_relative` (mean relative error of citizenships with at least "
        "10,000 encounters) and the rank terms (1 - Spearman).\n")
    add("## Held-out check\n")
    if hold is not None:
        add(f"Encounters by citizenship **and** area ({hold['cells']} cells of "
            f"`{spec.target_files.holdout_citizenship_area}`) were not used in the fit (only the two margins were). "
            f"Point estimate: sum |sim - obs| / sum obs = **{hold['l1']:.3f}** (Spearman {hold['spearman']:.3f}); "
            f"a naive prediction from the observed margins alone (every citizenship spread over areas like all "
            f"encounters) scores {hold['naive_l1']:.3f}. "
            + ("The model's routing beats the margins-only prediction." if hold["l1"] < hold["naive_l1"]
               else "The model's routing does **not** beat the margins-only prediction: where citizenships "
                    "cross is a weak point of the network and route choice."))
        add(f"\n![held out]({rel}/holdout_citizenship_area.png)\n")
    else:
        add("No held-out table configured.\n")
    add("## Posterior\n")
    wn = post["weight"].to_numpy() / post["weight"].sum()
    ess = 1.0 / float((wn ** 2).sum())
    add("Width = 90% credible interval / prior range; parameters the targets do not pin down keep wide "
        f"posteriors (width near 0.9 = prior). Effective sample size of the final population: {ess:.0f} of "
        f"{len(post)}" + (" -- too few for the widths to mean much." if ess < 50 else ".") + "\n")
    add("| parameter | prior | posterior median | 90% interval | width | point estimate |\n|---|---|---|---|---|---|")
    w = post["weight"].to_numpy()
    for p in spec.parameters:
        x = post[p.name].to_numpy()
        lo, me, hi = (weighted_quantile(x, w, q) for q in (0.05, 0.5, 0.95))
        if p.prior.dist == "loguniform":  # widths in the prior's own (log) units
            width = math.log(hi / lo) / math.log(p.prior.high / p.prior.low)
        else:
            width = (hi - lo) / (p.prior.high - p.prior.low)
        flag = " (not pinned down)" if width > 0.6 else ""
        add(f"| {p.name} | {p.prior.dist} [{_fmt(p.prior.low)}, {_fmt(p.prior.high)}] | {_fmt(me)} | "
            f"[{_fmt(lo)}, {_fmt(hi)}] | {width:.2f}{flag} | {_fmt(best['params'][p.name])} |")
    add("\n## Plots\n")
    add("Observed (black), point estimate (red: mean of seeds, bars = seed range), posterior predictive "
        f"5-95% band (blue: {len(draws)} draws from the final population, one seed each at scale "
        f"{spec.quick.scale if quick else spec.verify.predictive_scale}).\n")
    for f in files:
        if f != "holdout_citizenship_area.png":
            add(f"![{f}]({rel}/{f})")
    if spec.notes:
        add("\n## Known weaknesses\n")
        for n in spec.notes:
            add(f"- {n.strip()}")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("\n".join(L) + "\n", encoding="utf-8")


# ====================================================================== the command
def load_history(db: Path):
    """The latest ABC-SMC run stored in a pyabc database, and its wall seconds."""
    import pyabc

    if not db.is_file():
        raise InputError(db, "", "no pyabc database here: run the calibration first")
    h = pyabc.History(f"sqlite:///{db}")
    runs = h.all_runs()
    h.id = max(r.id for r in runs)
    r = [r for r in runs if r.id == h.id][0]
    secs = ((r.end_time or dt.datetime.now()) - r.start_time).total_seconds()
    return h, secs


def calibrate(spec_path: str | Path, out: str | Path | None = None, scheduler: str | None = None,
              quick: bool = False, log=print, report_only: bool = False,
              max_minutes: float | None = None) -> dict:
    """Run the whole calibration; returns a dict of what was written and measured."""
    spec_path = Path(spec_path).resolve()
    spec, base = load_spec(spec_path)
    out = Path(out) if out else Path("results") / ("calibrate_" + spec_path.stem + ("_quick" if quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    q = spec.quick
    scale = q.scale if quick else spec.simulation.scale
    model = CalibrationModel(spec_path, scale=scale)
    check_spec_against_scenario(model)
    dest = out if quick else base  # a quick run never overwrites the committed calibration
    params_path = dest / spec.outputs.params
    dep_path = dest / spec.outputs.departures
    report_path = dest / spec.outputs.report
    plots_dir = dest / spec.outputs.plots
    t_all = time.perf_counter()
    log(f"calibrate: {spec.name}: {len(spec.parameters)} parameters, scale {scale}, seeds {model.seeds}, "
        f"{'quick' if quick else 'full'} run, out {out}")
    if report_only:
        history, abc_secs = load_history(out / "abc.db")
    else:
        history, abc_secs = run_abc(model, out, scheduler, quick, log, max_minutes)
    post = posterior_frame(history, spec)
    post.to_parquet(out / "posterior.parquet", index=False)
    pops = history.get_all_populations()
    pops.to_csv(out / "populations.csv", index=False)
    n_sims = int(history.total_nr_simulations)
    log(f"ABC-SMC: {history.max_t + 1} generations, {n_sims} simulations, {abc_secs:.0f} s")
    # candidates for the point estimate, each checked with the verify seeds at full scale
    seeds = q.verify_seeds if quick else spec.verify.seeds
    vscale = q.verify_scale if quick else spec.verify.scale
    procs = spec.abc.processes or os.cpu_count() or 1
    cands = point_estimates(spec, post)
    results = {}
    for name in spec.verify.candidates:
        if name not in cands:
            continue
        runs = simulate_many(str(spec_path), [(cands[name], s, vscale) for s in seeds], procs)
        m = mean_stats(runs)
        crit = criteria(spec, model.observed, m)
        dist = FitDistance(spec.weights)(m, model.observed.stats)
        results[name] = {"params": cands[name], "runs": runs, "mean": m, "criteria": crit, "distance": dist}
        log(f"candidate {name}: {sum(c['ok'] for c in crit)}/{len(crit)} criteria met, distance {dist:.3f}")
    chosen = max(results, key=lambda k: (sum(c["ok"] for c in results[k]["criteria"]), -results[k]["distance"]))
    best = results[chosen]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"# Point estimate ({chosen}) of the ABC-SMC posterior, written by\n"
              f"# `migsim calibrate {spec_path.name}{' --quick' if quick else ''}` on {stamp}.\n"
              f"# A scenario fragment: merge it over the hand-set scenario {spec.scenario}.\n"
              f"# departures.file is the prior schedule times the fitted multipliers (same folder).\n")
    write_params(model, best["params"], params_path, dep_path, header)
    # verify the written artefact itself (not just the in-memory parameters)
    sc = load_params_fragment(base / spec.scenario, params_path, vscale)
    from sim.inputs import Inputs
    from sim.model import RouteModel

    inp = Inputs.load(params_path, scenario=sc)
    ts = RouteModel(inp, seeds[0]).run().timeseries()
    art = model.observed.summarize(ts, vscale)
    art_gap = abs(art["enc_citizenship"].sum() / best["runs"][0]["enc_citizenship"].sum() - 1)
    # posterior predictive bands
    ndraw = q.predictive_draws if quick else spec.verify.predictive_draws
    pscale = q.scale if quick else spec.verify.predictive_scale
    rng = np.random.default_rng(12345)
    draws = []
    if ndraw and len(post):
        idx = rng.choice(len(post), size=ndraw, p=post["weight"].to_numpy() / post["weight"].sum())
        names = [p.name for p in spec.parameters]
        jobs = [({n: float(post.iloc[i][n]) for n in names}, 2000 + j, pscale) for j, i in enumerate(idx)]
        draws = simulate_many(str(spec_path), jobs, procs)
    total_secs = time.perf_counter() - t_all + (abc_secs if report_only else 0.0)
    write_report(spec=spec, spec_path=spec_path, model=model, history=history, post=post, results=results,
                 chosen=chosen, draws=draws, report_path=report_path, plots_dir=plots_dir, quick=quick,
                 abc_secs=abc_secs, total_secs=total_secs, n_sims=n_sims, seeds=seeds, vscale=vscale,
                 params_path=params_path, artefact_gap=art_gap, out=out, scheduler=scheduler,
                 max_minutes=max_minutes)
    summary = {"params": str(params_path), "departures": str(dep_path), "report": str(report_path),
               "posterior": str(out / "posterior.parquet"), "database": str(out / "abc.db"),
               "chosen": chosen, "criteria": best["criteria"], "abc_seconds": round(abc_secs, 1),
               "total_seconds": round(time.perf_counter() - t_all, 1), "simulations": n_sims}
    (out / "calibration_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def handler(args) -> int:
    s = calibrate(args.spec, out=args.out, scheduler=args.scheduler, quick=args.quick,
                  report_only=args.report_only, max_minutes=args.max_minutes)
    ok = sum(c["ok"] for c in s["criteria"])
    print(f"wrote {s['params']}, {s['report']}, {s['posterior']}")
    print(f"point estimate ({s['chosen']}): {ok}/{len(s['criteria'])} acceptance criteria met; "
          f"{s['simulations']} simulations, {s['total_seconds']:.0f} s")
    for c in s["criteria"]:
        print(f"  [{'ok' if c['ok'] else 'MISS'}] {c['criterion']}: {c['value']} (target {c['target']})")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``migsim calibrate`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "calibrate", help="fit scenario parameters to observed figures (ABC-SMC with pyabc)",
        description=("Fit the free parameters named in a calibration file by ABC-SMC (pyabc): writes the "
                     "pyabc database and the posterior (Parquet) into --out, the point estimate as a "
                     "scenario fragment and a fit report (Markdown and plots) next to the calibration file "
                     "(into --out with --quick)."))
    p.add_argument("spec", help="calibration file, e.g. calibration/fy2023.yaml")
    p.add_argument("--out", help="folder for the pyabc database and posterior (default results/calibrate_<name>)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786): evaluate particles on that cluster "
                        "instead of this machine's cores")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny population, two generations, small scale; writes its report "
                        "and point estimate into --out only")
    p.add_argument("--max-minutes", type=float, metavar="M",
                   help="cap on the ABC-SMC wall time in minutes (overrides abc.max_walltime_minutes; "
                        "the generation under way finishes first)")
    p.add_argument("--report-only", action="store_true",
                   help="skip the ABC run: redo the point estimate, verification and report from the "
                        "pyabc database already in --out")
    p.set_defaults(func=handler)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.calibrate ...``: the same as ``migsim calibrate ...``."""
    from sim.cli import main as cli_main

    argv = sys.argv[1:] if argv is None else list(argv)
    return cli_main(argv if argv[:1] == ["calibrate"] else ["calibrate", *argv])


if __name__ == "__main__":
    sys.exit(main())
