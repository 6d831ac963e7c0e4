"""The sweep file: base scenario, factors (parameters and policy switches), seeds, outcomes.

Why declared objects (after the EMA Workbench): a sweep file names its *factors* --
parameters by a dotted path into the scenario (``border.removed_retry``), as a list of
values (grid) or as bounds for a SALib sampler (latin, sobol, morris) -- and policy
*switches*, categorical factors whose levels set keys or add, replace or drop levers;
the outcomes are named summaries of the declared metrics (``sim.outcomes.metrics``)
over windows. Nothing here runs anything.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.errors import InputError
from sim.outcomes.metrics import NAMES
from sim.scenario.variation import apply_changes
from sim.schema import Strict, first_error, read_yaml_mapping

Metric = Literal[NAMES]
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = {"run_id", "point", "seed", "status", "error", "wall_seconds", "cpu_seconds", "worker", "finished_utc",
            "ledger_balanced", "attempt"}


def _name(v: str) -> str:
    if not NAME_RE.match(v):
        raise ValueError(f"{v!r} is not a name (letters, digits, underscore; not starting with a digit)")
    if v in RESERVED:
        raise ValueError(f"{v!r} is reserved for a runs.parquet column")
    return v


class Parameter(Strict):
    """A numeric or categorical scenario value: ``values`` for a grid, ``bounds`` for a sampler."""

    name: str = Field(description="column name in runs.parquet")
    path: str = Field(description="dotted path into the scenario, e.g. border.removed_retry or "
                                  "border.removal_share.MEXICO; list items by index (policies.0.start) or a lever by its label "
                                  "(policies[US-Panama memorandum flights].seats_per_flight)")
    values: list[Any] | None = Field(None, min_length=1, description="grid values")
    bounds: tuple[float, float] | None = Field(None, description="[low, high] for latin/sobol/morris")
    integer: bool = Field(False, description="round sampled values to integers")

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))

    @model_validator(mode="after")
    def _one_of(self):
        if (self.values is None) == (self.bounds is None):
            raise ValueError("give exactly one of values (grid) or bounds (sampler)")
        if self.bounds is not None and not (math.isfinite(self.bounds[0]) and math.isfinite(self.bounds[1])
                                            and self.bounds[0] < self.bounds[1]):
            raise ValueError("bounds must be finite with low < high")
        if not self.path or any(p == "" for p in self.path.split(".")):
            raise ValueError("path must be dotted keys like border.removed_retry")
        return self


class Level(Strict):
    """One level of a policy switch: keys to set and policies to add, replace or remove."""

    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value")
    policies: list[dict[str, Any]] = Field(default_factory=list, description=(
        "entries for the scenario's policies list; an entry replaces the existing ones of the same type "
        "and label, otherwise it is appended"))
    remove_policies: list[str] = Field(default_factory=list, description="policy types to drop")

    @field_validator("policies")
    @classmethod
    def _typed(cls, v):
        for i, p in enumerate(v):
            if "type" not in p:
                raise ValueError(f"entry {i} has no type")
        return v

    def apply(self, raw: dict) -> None:
        """Make this level's changes to a raw scenario."""
        apply_changes(raw, keys=self.set, policies=self.policies, remove_policies=self.remove_policies)


class Switch(Strict):
    """A categorical factor (a policy on or off, or one of several variants)."""

    name: str
    levels: dict[str, Level | None] = Field(min_length=1, description="level name -> changes (null: none)")

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))


class Outcome(Strict):
    """A summary of one metric over a window: the sum (persons) or a daily mean/max."""

    name: str
    metric: Metric = Field(description="one of the metrics the model records (sim.outcomes.metrics)")
    start: dt.date | None = Field(None, description="first day (default: period start)")
    end: dt.date | None = Field(None, description="last day (default: period end)")
    nationality: list[str] | None = Field(None, description="only these citizenships")
    place: list[str] | None = Field(None, description="only these places (node id; CBP area name for encounters)")
    stat: Literal["sum", "mean_daily", "max_daily"] = "sum"

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))

    @field_validator("nationality", "place", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _order(self):
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class Sampler(Strict):
    """How design points are made. grid: every combination of the parameters' values."""

    method: Literal["grid", "latin", "sobol", "morris"] = "grid"
    n: int | None = Field(None, ge=1, description=(
        "latin: points; sobol: base samples N (N*(D+2) points, N*(2D+2) with second order; a power of 2); "
        "morris: trajectories (N*(D+1) points)"))
    seed: int = Field(0, ge=0, description="seed of the sampler")
    calc_second_order: bool = Field(False, description="sobol: second-order indices")
    levels: int = Field(4, ge=2, description="morris: grid levels")
    switches: Literal["cross", "sample"] = Field("cross", description=(
        "cross: every sampled point runs under every combination of switch levels (indices per combination); "
        "sample: switches are sampled factors too (a uniform on [0, levels) floored), so they get indices"))

    @model_validator(mode="after")
    def _n_needed(self):
        if self.method != "grid" and self.n is None:
            raise ValueError(f"{self.method} needs n")
        return self


class SeriesSpec(Strict):
    store: bool = Field(True, description="write each run's daily rows under series/")
    metrics: list[Metric] | None = Field(None, description="only these metrics (default all)")


class SweepSpec(Strict):
    """A sweep: base scenario, fixed changes, factors, replicates, outcomes."""

    name: str
    description: str = ""
    base: str = Field(description="scenario YAML, relative to the sweep file")
    fixed: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value, applied to every run")
    sampler: Sampler = Sampler()
    parameters: list[Parameter] = Field(default_factory=list)
    switches: list[Switch] = Field(default_factory=list)
    replicates: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, description="seeds, each design point runs once per seed")
    posterior_draws: bool = Field(False, description=(
        "replicate i also takes posterior draw i of the base scenario's posterior (sim/studies/draws.py); "
        "the sweep's own parameters and switches are applied over the draw"))
    outcomes: list[Outcome] = Field(min_length=1)
    series: SeriesSpec = SeriesSpec()

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.replicates)) != len(self.replicates):
            raise ValueError("replicates: seeds repeat")
        names = [p.name for p in self.parameters] + [s.name for s in self.switches] + [o.name for o in self.outcomes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"names used twice: {sorted(dup)}")
        grid = self.sampler.method == "grid"
        for p in self.parameters:
            if grid and p.values is None:
                raise ValueError(f"parameter {p.name}: the grid sampler needs values, not bounds")
            if not grid and p.bounds is None:
                raise ValueError(f"parameter {p.name}: the {self.sampler.method} sampler needs bounds, not values")
        if not grid and not self.parameters and not (self.sampler.switches == "sample" and self.switches):
            raise ValueError(f"the {self.sampler.method} sampler needs parameters with bounds")
        return self


def read_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """Parse and validate a sweep file; returns the spec and the resolved base scenario path."""
    path = Path(path)
    raw = read_yaml_mapping(path, "sweep file")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise first_error(exc, path, "sweep") from None
    base = Path(spec.base)
    base = base if base.is_absolute() else (path.parent / base).resolve()
    if not base.is_file():
        raise InputError(path, "base", f"file not found: {spec.base}")
    return spec, base
