"""Building blocks shared by the scenario and lever schemas.

Why a module of its own: scenarios (``sim.scenario``) and policy levers
(``sim.policies``) both need the same strict base model and bounded number types, and
the scenario schema includes the levers.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sim.citizenship import CITIZENSHIPS

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class Strict(BaseModel):
    """Unknown keys are errors; validated objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_citizenships(labels, allow_default: bool = False):
    """Raise ValueError on a label CBP does not use."""
    for k in labels:
        if k == "default" and allow_default:
            continue
        if k not in CITIZENSHIPS:
            raise ValueError(f"unknown citizenship {k!r}")
    return labels
