"""Policy levers: dated scenario building blocks, one class each, acting through hooks.

A researcher reads here what each lever means (each class's docstring) and adds one as
one class at an existing hook (``sim.engine.hooks``), its test and one README row. The
scenario schema accepts exactly the classes listed in ``LEVERS``; their ``type`` names
are read from the classes, never typed twice.
"""

from __future__ import annotations

from typing import Annotated, Union, get_args

from pydantic import Field

from sim.levers.access import Closure, VisaRegime
from sim.levers.base import Lever
from sim.levers.enforcement import Enforcement
from sim.levers.pathways import ParolePathway
from sim.levers.processing import AnnouncedRule, ProcessingRegime
from sim.levers.removals import DeportationCharters, PanamaRemovalFlights
from sim.levers.returns import Title42Returns

LEVERS: tuple[type[Lever], ...] = (PanamaRemovalFlights, DeportationCharters, VisaRegime, Closure, Enforcement,
                                   ProcessingRegime, Title42Returns, ParolePathway, AnnouncedRule)
LeverSpec = Annotated[Union[LEVERS], Field(discriminator="type")]
LEVER_TYPES: tuple[str, ...] = tuple(get_args(cls.model_fields["type"].annotation)[0] for cls in LEVERS)
