"""The calibration file: what is fitted, with which priors, against which figures.

Why a schema: like scenarios, a calibration file is checked by pydantic before anything
runs, and every problem is one line naming the file and the field.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator
from scipy import special

from sim.citizenship import CODE
from sim.errors import InputError
from sim.schema import Strict, first_error, read_yaml_mapping

FAMILIES = ("enc_total", "enc_citizenship", "enc_citizenship_relative", "enc_month", "enc_area",
            "enc_component", "darien_total", "darien_month", "darien_nationality",
            "rank_citizenship", "rank_darien")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


