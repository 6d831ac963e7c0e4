"""Building blocks shared by the scenario and lever schemas.

Why a module of its own: scenarios (``sim.scenario``), policy levers (``sim.levers``),
sweep and calibration files all need the same strict base model, bounded number types,
YAML reader and one-line error, and the scenario schema includes the levers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sim.citizenship import CITIZENSHIPS, REGIONS
from sim.errors import InputError

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class Strict(BaseModel):
    """Unknown keys are errors; validated objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
        [low, high]. ABC runs in this unbounded space so that its proposals never leave the
        prior, and in a Gaussian one so that a Gaussian proposal fits it."""
        from scipy import special

        u = special.ndtr(np.asarray(z, float))
        if self.dist == "uniform":
            return self.low + (self.high - self.low) * u
        return np.exp(np.log(self.low) + (np.log(self.high) - np.log(self.low)) * u)

    def centre(self) -> float:
        return math.sqrt(self.low * self.high) if self.dist == "loguniform" else 0.5 * (self.low + self.high)

    def width(self, lo: float, hi: float) -> float:
        """An interval's width as a share of the prior's (in log units for a log-uniform prior)."""
        if self.dist == "loguniform":
            return math.log(hi / lo) / math.log(self.high / self.low)
        return (hi - lo) / (self.high - self.low)


def check_citizenships(labels, allow_default: bool = False):
    """Raise ValueError on a label CBP does not use."""
    for k in labels:
        if k == "default" and allow_default:
            continue
        if k not in CITIZENSHIPS:
            raise ValueError(f"unknown citizenship {k!r}")
    return labels


def check_regions(v: dict) -> dict:
    """``v`` if every key is a region of origin (sim.citizenship.REGIONS); ValueError otherwise."""
    for r in v:
        if r not in REGIONS:
            raise ValueError(f"unknown region {r!r} (one of {', '.join(REGIONS)})")
    return v


# a mapping keyed by region of origin (its values' type given where it is used):
# ``Annotated[dict[str, X], REGION_KEYS]``
REGION_KEYS = AfterValidator(check_regions)


def read_yaml_mapping(path, what: str) -> dict:
    """Read a YAML file that must hold a mapping; errors name the file (and line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "", "file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise InputError(path, where, f"bad YAML ({getattr(exc, 'problem', None) or exc})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(path, "", f"a {what} must be a YAML mapping")
    return raw


def field_path(err: dict, drop: tuple[str, ...] = ()) -> str:
    """A pydantic error's location as the user wrote it: no validator names or union tags."""
    return ".".join(str(p) for p in err["loc"]
                    if not (isinstance(p, str) and (p.startswith("function-") or p in drop)))


def first_error(exc, path, what: str, drop: tuple[str, ...] = ()):
    """The first problem of a pydantic ValidationError as an InputError (one line)."""
    err = exc.errors()[0]
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
    return InputError(path, field_path(err, drop) or what, msg)
