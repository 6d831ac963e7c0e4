"""Scenario files: YAML validated by a pydantic v2 schema.

Why: a scenario is the researcher's whole experiment in one readable file, so the
schema forbids unknown keys (a typo must not silently fall back to a default), checks
types, ranges and cross-references (nodes, citizenships, dates), and reports the first
problem as one line naming the file and the field path. ``extends: other.yaml`` (or a
list of files) makes a policy variant a small diff of the baseline: mappings merge key by key, everything
else (lists, numbers) is replaced. Relative paths are resolved against the file that
wrote them, so a variant in another folder still finds the baseline's network.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.citizenship import CITIZENSHIPS
from sim.errors import InputError
from sim.policies import LEVER_TYPES, LeverSpec
from sim.schema import NonNeg, Positive, Share, Strict, check_citizenships, field_path, first_error, read_yaml_mapping
# keys whose values are file paths, resolved against the YAML file that sets them
PATH_KEYS = {("network", "nodes"), ("network", "edges"), ("departures", "file"), ("observed",)}


def _check_labels(d: dict[str, Any], allow_default: bool = True) -> dict[str, Any]:
    check_citizenships(d, allow_default)
    return d


class ByCitizenship(Strict):
    """A value per citizenship with a ``default`` for the others."""

    default: float = 0.0
    values: dict[str, float] = Field(default_factory=dict)

    def get(self, label: str) -> float:
        return self.values.get(label, self.default)


def _by_cit(low: float, high: float | None):
    """Validator turning ``{default: x, MEXICO: y}`` into ByCitizenship with range checks."""

    def conv(v: Any) -> ByCitizenship:
        if isinstance(v, ByCitizenship):
            return v
        if isinstance(v, dict) and "values" in v and set(v) <= {"default", "values"}:
            v = {**v["values"], "default": v.get("default", 0.0)}
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = {"default": v}
        if not isinstance(v, dict):
            raise ValueError("must be a number or a mapping of citizenship to number")
        _check_labels(v)
        out = {}
        for k, x in v.items():
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise ValueError(f"{k}: must be a number")
            if x < low or (high is not None and x > high):
                raise ValueError(f"{k}: {x} is outside [{low}, {high if high is not None else 'inf'}]")
            out[k] = float(x)
        return ByCitizenship(default=out.pop("default", 0.0), values=out)

    return conv


class Period(Strict):
    """Reporting window (inclusive dates). Outputs cover these days only."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self):
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class NetworkFiles(Strict):
    """The node and edge tables (CSV) of the route network."""

    nodes: str
    edges: str


class GroupSize(Strict):
    """Sizes of the parties that leave together: lognormal, rounded, clipped to [1, max]."""

    mean: float = Field(8.0, ge=1.0, description="mean persons per party")
    sigma: float = Field(0.8, ge=0.0, description="log-scale spread")
    max: int = Field(60, ge=1, description="largest party")


class Money(Strict):
    """Cash per person at departure (USD): lognormal with this median and log spread."""

    median_usd: float = Field(2500.0, gt=0)
    sigma: float = Field(0.7, ge=0)


class CitizenshipDepartures(Strict):
    """Where a citizenship's migrants start, as shares of its departures (sum to 1)."""

    origins: dict[str, Share]
    money: Money | None = None
    group_size: GroupSize | None = None

    @field_validator("origins")
    @classmethod
    def _sum_one(cls, v):
        if not v:
            raise ValueError("needs at least one origin")
        s = sum(v.values())
        if abs(s - 1.0) > 1e-6:
            raise ValueError(f"origin shares sum to {s:.6g}, not 1")
        return v


class Departures(Strict):
    """Who leaves when: persons per month and citizenship (CSV), scaled, from origins."""

    file: str = Field(description="CSV with columns month (YYYY-MM), citizenship, persons")
    scale: NonNeg = Field(1.0, description="multiplies every monthly figure (0.01 = a 1% sample)")
    group_size: GroupSize = GroupSize()
    money: Money = Money()
    by_citizenship: dict[str, CitizenshipDepartures]

    @field_validator("by_citizenship")
    @classmethod
    def _labels(cls, v):
        return _check_labels(v, allow_default=False)


class RouteChoice(Strict):
    """Multinomial-logit weights of a leg at a fork: exp(-(km*a + usd*b + risk*c))."""

    km_weight: NonNeg = Field(1.0, description="per 1000 km; every weight applies to the leg plus the cheapest way on to the border")
    cost_weight: NonNeg = Field(0.5, description="per 1000 USD fare")
    risk_weight: NonNeg = Field(20.0, description="per unit probability of dying on the leg")
    split_at_forks: bool = Field(False, description=(
        "true: every member chooses the next leg independently and a group splits by a multinomial "
        "draw (exact statistics of independent people, many more groups); false: a party chooses "
        "together, as parties led by one guide do"))
    ofo_share: Annotated[ByCitizenship, Field(description="share who present at a port (Field Operations) rather than cross between ports")] = ByCitizenship(default=0.15)

    @field_validator("ofo_share", mode="before")
    @classmethod
    def _ofo(cls, v):
        return _by_cit(0.0, 1.0)(v)


class Hazards(Strict):
    """Dangers on the way beyond the legs' own death hazards."""

    hazard_scale: NonNeg = Field(1.0, description="multiplies every leg's daily death hazard")
    robbery_daily: Share = Field(0.002, description="daily chance a party on a foot or bus leg is robbed")
    robbery_loss: Share = Field(0.5, description="share of its cash a robbed party loses")
    earn_usd_per_day: NonNeg = Field(15.0, description="what a person stuck for lack of money earns a day")


class Border(Strict):
    """What an encounter leads to, by authority (Title 42 until its end, Title 8 after)."""

    title42_end: dt.date | None = Field(dt.date(2023, 5, 11), description="last day of Title 42; null = never in force")
    title42_expel_share: ByCitizenship = ByCitizenship(default=0.0)
    expelled_retry: Share = Field(0.5, description="share of the expelled who try again")
    expelled_retry_days: Positive = Field(10.0, description="mean days before an expelled person tries again")
    removal_share: ByCitizenship = ByCitizenship(default=0.1)
    removed_retry: Share = Field(0.2, description="share of the removed who set out again")
    removed_retry_days: Positive = Field(90.0, description="mean days at home before setting out again")

    @field_validator("title42_expel_share", "removal_share", mode="before")
    @classmethod
    def _shares(cls, v):
        return _by_cit(0.0, 1.0)(v)


class Scenario(Strict):
    """A whole experiment: period, network, departures, behaviour, seeds."""

    name: str
    description: str = ""
    period: Period
    spinup_start: dt.date = Field(description="first simulated day, before period.start, so the route fills up")
    network: NetworkFiles
    speeds_km_per_day: dict[Literal["foot", "boat", "bus", "air"], Positive] = Field(
        default_factory=lambda: {"foot": 25.0, "boat": 150.0, "bus": 600.0, "air": 5000.0},
        description="used for legs whose days are not given")
    departures: Departures
    route_choice: RouteChoice = RouteChoice()
    hazards: Hazards = Hazards()
    border: Border = Border()
    darien_exit_nodes: list[str] = Field(default_factory=list, description="nodes where people come out of the jungle into Panama")
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [1], min_length=1)
    random_numbers: Literal["common", "single"] = "common"
    observed: str | None = Field(None, description="folder of observed figures for the plots")
    policies: list[LeverSpec] = Field(default_factory=list, description="dated policy levers (see sim/policies.py)")

    @model_validator(mode="after")
    def _dates(self):
        if self.spinup_start > self.period.start:
            raise ValueError("spinup_start is after period.start")
        return self


def _resolve_paths(raw: dict, base: Path) -> dict:
    for keys in PATH_KEYS:
        d = raw
        for k in keys[:-1]:
            d = d.get(k) if isinstance(d, dict) else None
            if d is None:
                break
        if isinstance(d, dict) and isinstance(d.get(keys[-1]), str):
            p = Path(d[keys[-1]])
            d[keys[-1]] = str(p if p.is_absolute() else (base / p).resolve())
    return raw


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def read_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The scenario as a plain dict, with ``extends`` applied and paths resolved.

    ``extends`` names one file or a list of files; they merge left to right and the
    file's own keys come last, so ``extends: [handset.yaml, fitted_params.yaml]`` lets
    fitted values override hand-set ones without editing either.
    """
    path = Path(path)
    raw = read_yaml_mapping(path, "scenario")
    raw = _resolve_paths(raw, path.parent)
    parents = raw.pop("extends", None)
    if parents is None:
        return raw
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not parents or not all(isinstance(p, str) for p in parents):
        raise InputError(path, "extends", "must be a file name or a list of file names")
    merged: dict = {}
    for i, parent in enumerate(parents):
        field = "extends" if len(parents) == 1 else f"extends.{i}"
        ppath = (path.parent / parent).resolve()
        if ppath in _seen or ppath == path.resolve():
            raise InputError(path, field, "scenarios extend each other in a circle")
        if not ppath.is_file():
            raise InputError(path, field, f"file not found: {parent}")
        merged = _merge(merged, read_raw(ppath, _seen + (path.resolve(),)))
    return _merge(merged, raw)


def validate_raw(raw: dict, path: str | Path) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "union_tag_invalid":
            raise InputError(path, field_path(err, LEVER_TYPES) + ".type", f"unknown lever type {err['input'].get('type')!r} "
                             f"(one of {', '.join(LEVER_TYPES)})") from None
        if err["type"] == "union_tag_not_found":
            raise InputError(path, field_path(err, LEVER_TYPES) + ".type", f"missing (one of {', '.join(LEVER_TYPES)})") from None
        raise first_error(exc, path, "scenario", LEVER_TYPES) from None


def load(path: str | Path) -> Scenario:
    """Read, merge, validate. Cross-checks against data files happen in ``Inputs``."""
    return validate_raw(read_raw(path), path)


def sha256(scenario: Scenario, files: list[str] = ()) -> str:
    """Hash of the validated scenario plus the bytes of every data file it reads."""
    h = hashlib.sha256(json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode())
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def json_schema() -> dict:
    return Scenario.model_json_schema()
