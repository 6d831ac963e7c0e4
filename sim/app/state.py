"""What one browser session works on, shared by the four pages.

Why module-level reactive values: Solara gives each browser session (each tab) its
own copy of a module-level ``solara.reactive``, so the scenario being edited on the
Scenario page is the one the Run and Watch pages use, without one person's edits
reaching another's page. Jobs and cached results are shared by everyone, in
``sim.app.jobs``.
"""

from __future__ import annotations

from functools import lru_cache

import solara

from sim.app.paths import Folders

DEFAULT_FILE = "baseline_fy2023.yaml"

draft = solara.reactive(None)  # sim.app.drafts.Draft being edited
message = solara.reactive("")  # last refusal or confirmation on the Scenario page
job_id = solara.reactive(None)  # the Run page's current job
view = solara.reactive(None)  # the results folder shown on the Results page
scale = solara.reactive(0.05)  # departures.scale of the next run
first_seed = solara.reactive(1)
n_seeds = solara.reactive(2)
baseline = solara.reactive(DEFAULT_FILE)


@lru_cache(maxsize=1)
def folders() -> Folders:
    return Folders()


def current_draft():
    """The session's draft, or (until it edits or opens one) the default scenario. The
    default is shared by the sessions: a Draft is never modified in place."""
    if draft.value is not None:
        return draft.value
    names = folders().scenario_names()
    name = DEFAULT_FILE if DEFAULT_FILE in names else (names[0] if names else None)
    if name is None:
        return None
    return _default_draft(name, (folders().scenarios / name).stat().st_mtime)


@lru_cache(maxsize=4)
def _default_draft(name: str, mtime: float):
    from sim.app.drafts import open_draft

    return open_draft(folders(), name)
