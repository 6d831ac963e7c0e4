"""The calibration file: what is estimated, with which priors, against which figures.

Why a schema: like scenarios, a calibration file is checked by pydantic before anything
runs, and every problem is one line naming the file and the field. It declares:

- the scenario (the history of the estimation period) and the observed targets;
- the shared parameters, each a dotted path into the scenario with a prior (ABC-SMC);
  which of them are *response* parameters (they must be identified by the data);
- the natural experiments: the citizenships, the months before and after, the observed
  ratio, and the labels of the scenario's levers that make them (their counterfactual);
- the masked estimate (an event's months left out, to see whether the others predict it);
- how particles are simulated, the ABC budget, the verification and its criteria.

Levels (each citizenship's potential departures) are not parameters of the ABC: for any
shared parameters, departures scale linearly with the levels, so the level that matches
a citizenship's total is solved for each particle (``Targets.solve_levels``); with
``fit.solve_trends`` so is its trend, from its fiscal years' totals (departures scale by
exp(trend change x years) month by month, to the same approximation).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.citizenship import CODE
from sim.errors import InputError
from sim.schema import Prior, Strict, first_error, read_yaml_mapping

FAMILIES = ("cells", "months", "months_shape", "events", "darien_total", "darien_months", "darien_nationality",
            "areas", "component", "counts")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _month(v: str) -> str:
    try:
        return str(pd.Period(str(v), freq="M"))
    except Exception:
        raise ValueError(f"{v!r} is not a month (YYYY-MM)") from None


class Parameter(Strict):
    """One shared parameter: a dotted path into the scenario and its prior."""

    name: str = Field(description="identifier (letters, digits, _)")
    path: str = Field(description="dotted path in the scenario, e.g. behaviour.response.release_weight")
    prior: Prior
    response: bool = Field(False, description="a response parameter: it must be identified (posterior width <= 0.5)")
    note: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not NAME_RE.match(v):
            raise ValueError(f"{v!r} is not an identifier (letters, digits, _)")
        return v


class Event(Strict):
    """A natural experiment: the ratio after/before of its citizenships' encounters."""

    name: str
    citizenships: list[str] = Field(min_length=1, description="labels, or [ALL]")
    before: str = Field(description="month before the event (YYYY-MM)")
    after: str = Field(description="month after the event (YYYY-MM)")
    kind: Literal["fall", "rise"] = Field(description="fall: within tolerance (absolute); rise: within a factor")
    labels: list[str] = Field(min_length=1, description="label prefixes of the scenario's levers that make the event")

    _m = field_validator("before", "after")(classmethod(lambda cls, v: _month(v)))

    @field_validator("citizenships")
    @classmethod
    def _labels(cls, v):
        for c in v:
            if c != "ALL" and c not in CODE:
                raise ValueError(f"unknown citizenship {c!r}")
        return v


class Mask(Strict):
    """An event's months left out of an estimate (a prediction check)."""

    event: str = Field(description="name of the event whose ratio the masked estimate predicts")
    citizenships: list[str] = Field(min_length=1)
    first: str
    last: str

    _m = field_validator("first", "last")(classmethod(lambda cls, v: _month(v)))


def fiscal_year_of(month: str) -> int:
    """The US fiscal year of a month 'YYYY-MM' (October starts the next year's)."""
    return int(month[:4]) + (int(month[5:]) >= 10)


class Fit(Strict):
    """Which observed figures the distance uses."""

    first_month: str = "2021-10"
    last_month: str = "2023-09"
    darien_nationality_map: dict[str, dict[str, str]] = Field(default_factory=dict, description=(
        "by period of Panama's table: model citizenship -> the label Panama counts it under "
        "(e.g. '2023 Jan-Aug': {BRAZIL: HAITI}: Brazil-born children of Haitians counted as Haitian)"))
    solve_trends: bool = Field(False, description=(
        "solve each citizenship's trend with its level, for every particle, from its fiscal years' totals "
        "(needs two fiscal years or more): the years' split is then matched by construction and the ABC "
        "judges only the shape within them; false = levels only, trends as the scenario and parameters set"))

    _m = field_validator("first_month", "last_month")(classmethod(lambda cls, v: _month(v)))

    @field_validator("solve_trends")
    @classmethod
    def _two_years(cls, v: bool, info) -> bool:
        first, last = info.data.get("first_month"), info.data.get("last_month")
        if v and first and last:
            if fiscal_year_of(last) - fiscal_year_of(first) < 1:
                raise ValueError("a trend needs two fiscal years or more in first_month..last_month")
        return v


class Simulation(Strict):
    """How each particle is simulated."""

    scale: Annotated[float, Field(gt=0, le=1)] = 0.05
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [1000], min_length=1)


class ABC(Strict):
    population_size: Annotated[int, Field(ge=2)] = 200
    max_generations: Annotated[int, Field(ge=1)] = 8
    max_walltime_minutes: Annotated[float, Field(gt=0)] = 120.0
    max_simulations: Annotated[int, Field(ge=1)] | None = None
    min_epsilon: Annotated[float, Field(ge=0)] = 0.0
    method: Literal["mcmc", "importance"] = Field(
        "mcmc", description="mcmc: particles moved by Metropolis-Hastings with equal weights "
        "(sim/studies/calibration/smc.py); importance: pyabc's importance-weighted ABC-SMC")
    keep_fraction: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.7, description="mcmc: share of particles kept each generation (the threshold is the worst kept distance)")
    mcmc_steps: Annotated[int, Field(ge=1)] = Field(2, description="mcmc: moves per particle and generation")
    min_acceptance: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.1, description="mcmc: stop when fewer moves than this are accepted (the threshold is then too tight)")
    final_moves: Annotated[int, Field(ge=0)] = Field(
        0, description="mcmc: when the run stops (not on its budget), up to this many sweeps at its last threshold "
        "that move only copies, until the effective sample size reaches acceptance.min_ess")
    seed: Annotated[int, Field(ge=0)] = Field(0, description="mcmc: seed of every draw of the sampler")
    proposal_scaling: Annotated[float, Field(gt=0)] = Field(
        2.0, description="importance: covariance of the Gaussian proposal = this x the weighted population's")
    proposal_defensive: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.2, description="importance: share of proposals drawn from the prior (defensive mixture)")
    processes: Annotated[int, Field(ge=1)] | None = Field(None, description="worker processes (default: all cores)")


class Verify(Strict):
    """Check of the point estimate: levels refined, then several seeds at full scale."""

    level_iterations: Annotated[int, Field(ge=0)] = 3
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: list(range(1, 11)), min_length=1)
    scale: Annotated[float, Field(gt=0, le=1)] = 1.0
    counterfactual_scale: Annotated[float, Field(gt=0, le=1)] = 0.2
    predictive_draws: Annotated[int, Field(ge=0)] = 30
    predictive_scale: Annotated[float, Field(gt=0, le=1)] = 0.05


class Quick(Strict):
    """Overrides for --quick (a smoke run)."""

    population_size: Annotated[int, Field(ge=2)] = 8
    max_generations: Annotated[int, Field(ge=1)] = 2
    max_walltime_minutes: Annotated[float, Field(gt=0)] = 3.0
    scale: Annotated[float, Field(gt=0, le=1)] = 0.02
    verify_seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [1], min_length=1)
    verify_scale: Annotated[float, Field(gt=0, le=1)] = 0.05
    predictive_draws: Annotated[int, Field(ge=0)] = 2


class Acceptance(Strict):
    """Criteria the estimate must meet (mean over the verify seeds)."""

    fy_total_rel: float = 0.05
    cells_l1: float = 0.30
    month_pearson: float = 0.85
    darien_total_rel: float = 0.10
    darien_top: int = 3
    darien_rank: dict[str, int] = Field(default_factory=lambda: {"CHINA": 4}, description="nationality -> rank in 2023")
    fall_tolerance: float = 0.15
    rise_factor: float = 1.5
    counterfactual_share: float = Field(0.5, description="without its levers an event's ratio lies at least this share "
                                                         "of the way from the observed one to 1")
    response_width: float = 0.5
    min_ess: float = Field(20.0, description=(
        "a posterior width counts as identification only if the last generation's effective sample size is at "
        "least this: a few particles carrying all the weight make any interval look narrow"))
    area_l1: dict[int, float] = Field(default_factory=lambda: {2022: 0.40, 2023: 0.35},
                                      description="fiscal year -> bound on citizenship x area sum|sim-obs|/sum obs")
    area_factor: float = Field(1.5, description="every area within this factor of its observed total (last fiscal year)")
    port_share_points: float = Field(0.03, description="Field Operations share within this (last fiscal year)")


class Outputs(Strict):
    """Files written next to the calibration file (into --out with --quick)."""

    params: str = "fy2022_fy2023_params.yaml"
    report: str = "REPORT.md"
    plots: str = "plots"
    posterior: str = "fy2022_fy2023_posterior.parquet"


class Spec(Strict):
    """A calibration: scenario, targets, shared parameters, events, ABC settings."""

    name: str
    description: str = ""
    scenario: str = Field(description="the history scenario (its levels and estimated values are overwritten)")
    targets: str = Field(description="folder of observed tables")
    fit: Fit = Fit()
    parameters: list[Parameter] = Field(min_length=1)
    weights: dict[str, Annotated[float, Field(ge=0)]]
    events: list[Event] = Field(default_factory=list)
    mask: Mask | None = None
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

    @model_validator(mode="after")
    def _cross(self):
        names = [p.name for p in self.parameters]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"parameters: duplicate names {sorted(dup)}")
        events = [e.name for e in self.events]
        if self.mask is not None and self.mask.event not in events:
            raise ValueError(f"mask.event: no event named {self.mask.event!r}")
        return self

    @property
    def response_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters if p.response]


def load_spec(path: str | Path) -> tuple[Spec, Path]:
    """Read and check a calibration file; paths in it are resolved against its folder."""
    path = Path(path)
    raw = read_yaml_mapping(path, "calibration file")
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        raise first_error(exc, path, "calibration") from None
    base = path.parent.resolve()
    if not (base / spec.scenario).is_file():
        raise InputError(path, "scenario", f"file not found: {spec.scenario}")
    if not (base / spec.targets).is_dir():
        raise InputError(path, "targets", f"folder not found: {spec.targets}")
    return spec, base
