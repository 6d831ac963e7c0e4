"""The app's pages and their navigation (the module Solara serves: ``routes``).

Scenario -> Run -> Watch -> Results, in the order a question is answered: change a
lever, run it, watch it move, read the figures against the observed ones. The tabs
are drawn here (not by Solara's AppLayout, which names the first page "Home").

A page once opened stays in the browser, hidden while another tab is shown. Why:
Solara builds every widget of a newly mounted page on the server and sends it to the
browser one message at a time (the Run page is some 200 messages), which took most of
the time of a tab click (0.5-1.2 s on two cores). Coming back to a kept page sends
only what changed since. A hidden page shows what it showed when left: it does not
follow the Scenario page's edits until it is opened again (``shown_while_open``), so
editing there never rebuilds the Run or Watch page behind it.
"""

from __future__ import annotations

import threading

import solara

from sim.app import state
from sim.app.pages import results, run, scenario, watch

TITLE = "migsim: routes through the Darién to the US border"


@solara.component
def NavTabs(route, routes):
    """The four pages as tabs at the top of the content."""
    router = solara.use_router()
    index = next((i for i, r in enumerate(routes) if r.path == route.path), 0)

    def go(i: int) -> None:
        router.push("/" if routes[i].path == "/" else f"/{routes[i].path}")

    with solara.Row(style={"align-items": "center", "margin-bottom": "8px"}):
        solara.Text(TITLE, style={"font-weight": "bold", "color": "#1976d2", "white-space": "nowrap"})
        with solara.v.Tabs(v_model=index, on_v_model=go):
            for r in routes:
                solara.v.Tab(children=[r.label], class_=f"migsim-tab-{r.label.lower()}")


def _prepare_watch() -> None:
    """When a session opens the app, build the Watch page's first model in the
    background, so that page opens at once."""
    f, d = state.folders(), state.current_draft()
    if d is not None:
        key = watch.model_key(d, "1%", 1)
        threading.Thread(target=watch.prepare, args=(key, f, d), daemon=True).start()


@solara.component
def KeptPage(component, active: bool, visit: int):
    """One page, mounted on its first visit and hidden (not unmounted) when another
    tab is shown. ``visit`` counts its openings: a new one re-renders the page, so it
    reads its files and the shared state again."""
    # a plain div: solara.Column carries Vuetify's d-flex, whose display wins over a style
    solara.v.Html(tag="div", style_="" if active else "display: none",
                  children=[component(active=active, visit=visit)])


@solara.component
def Layout(children=[]):  # noqa: B006 - Solara's layout signature
    """The tabs and every page opened so far (Solara's ``children``, the current
    route's page newly mounted, is not used: the kept pages stand for it)."""
    solara.use_effect(_prepare_watch, [])
    route, routes = solara.use_route(peek=True)  # here: inside AppLayout the level is one down
    visits = solara.use_ref({})  # path -> how many times it was opened
    last = solara.use_ref(None)
    if last.current != route.path:
        visits.current[route.path] = visits.current.get(route.path, 0) + 1
        last.current = route.path
    kept = [KeptPage(r.component, r.path == route.path, visits.current[r.path]).key(f"page-{r.path}")
            for r in routes if r.path in visits.current]
    # one child: AppLayout would put the first of several children in a sidebar
    page = solara.Column(children=[NavTabs(route, routes), *kept], gap="0px")
    return solara.AppLayout(children=[page], title="migsim", navigation=False)


routes = [
    solara.Route(path="/", component=scenario.Page, label="Scenario", layout=Layout),
    solara.Route(path="run", component=run.Page, label="Run"),
    solara.Route(path="watch", component=watch.Page, label="Watch"),
    solara.Route(path="results", component=results.Page, label="Results"),
]
