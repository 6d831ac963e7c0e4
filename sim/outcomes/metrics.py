"""The metrics a run records, declared once.

Why one declaration: the model records them, the output contract names them, sweeps
accept them as outcome names, plots and effects tables label them. Each is a count of
people (or of events, for encounters) per day, citizenship and place; ``place`` says
what the place column holds for that metric. The order is the order of the rows in
``timeseries.parquet`` within a day, so appending a metric keeps earlier outputs
byte-identical; adding one is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """A daily count the model records. ``label`` names it on figures; ``policy_outcome``
    marks the metrics an effects table and a comparison report by default."""

    name: str
    unit: str
    place: str
    description: str
    label: str
    policy_outcome: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("departures", "persons", "origin node id", "people setting out from their origin", "departures"),
    Metric("darien_crossings", "persons", "jungle-exit node id", "people coming out of the Darién jungle into Panama",
           "Darién crossings"),
    Metric("encounters", "events", "CBP area name",
           "encounters at the US Southwest border (a person encountered twice counts twice)", "SWB encounters"),
    Metric("deaths", "persons", "node id at the start of the leg", "people dying on a leg", "deaths on the route"),
    Metric("removals", "persons", "where from (CBP area name or node id)",
           "people removed to their country (Title 8, charters, removal flights, enforcement)", "removals"),
    Metric("released_us", "persons", "CBP area name", "people released into the US after an encounter",
           "released into the US"),
    Metric("expulsions", "persons", "CBP area name", "people expelled under Title 42", "Title 42 expulsions"),
    Metric("retries", "persons", "node id where they set out again", "expelled or removed people setting out again",
           "retries", policy_outcome=False),
    Metric("waited_near_border", "persons", "node id of the border town",
           "people who set out before a better rule announced for a later date and stopped in a Mexican border "
           "town to wait for its day (behaviour.waiting.near_border)", "waited near the border for a rule",
           policy_outcome=False),
    Metric("interdictions", "persons", "node id", "people caught on the way and sent back by an enforcement lever",
           "interdictions", policy_outcome=False),
    Metric("paroled", "persons", "origin node id", "people who came in by a parole pathway (flown in, not encountered)",
           "paroled"),
    Metric("gave_up", "persons", "node id where they stopped",
           "people who stopped on their way when their chance at the border looked worse", "gave up on the way"),
    # a sum, not a count: divided by encounters it is the mean journey, which a researcher
    # reads to see how long a way takes and how a closure lengthens it (and which tells how
    # far ahead of their arrival people decide, for news of a rule announced for a later date)
    Metric("journey_days", "person-days", "CBP area name",
           "days on the way of those encountered, summed over people (from setting out at their origin, without "
           "days waiting to set out again after an expulsion or removal); / encounters = mean journey",
           "journey days of those encountered", policy_outcome=False),
    # what countries on the way count (Panama at the Darién, Honduras's irregular entries
    # from Nicaragua, Mexico's at Tapachula): the one way to compare the route with them
    Metric("country_entries", "persons", "node id the leg into the country ends at",
           "people setting out on a leg into another country (by land, sea or air), counted at its end node on "
           "the day they set out", "entries into a country", policy_outcome=False),
)
NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
POLICY_OUTCOMES: tuple[str, ...] = tuple(m.name for m in METRICS if m.policy_outcome)
