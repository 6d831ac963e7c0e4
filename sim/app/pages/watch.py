"""Watch page: the model stepping day by day at a small scale, on a map of the routes.

Built from Mesa's SolaraViz parts: Mesa's ``ModelController`` (reset, play/pause,
step) drives the model, a Mesa ``DataCollector`` records it, and the map and chart
redraw through Mesa's ``update_counter`` like any SolaraViz component. Not used:
SolaraViz whole (it brings its own app bar, sidebar and model-parameter forms, while
here the model is the scenario of the Scenario page) and Mesa's matplotlib plot
component (a few tenths of a second per redraw on this kind of machine, and the page
redraws every simulated day: the chart is an SVG of the same DataCollector instead).

A new model starts empty on its first day (the spin-up) and steps by itself, in the
background, to the first day of the period, so the route fills up on screen while the
page is already usable. The day slider goes back to any day already stepped (the
model keeps where its groups were each day) and forward by stepping in the background.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict

import solara
import solara.lab
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import force_update, update_counter

from sim.app import backend, figures, state
from sim.app.pages.widgets import LineChart, Note, shown_while_open

SCALES = {"1%": 0.01, "2%": 0.02, "5%": 0.05}
REDRAW_EVERY = 30  # days stepped in the background between two redraws (day slider)


_KEPT: OrderedDict = OrderedDict()  # (session, scenario, scale, seed) -> model, newest last
_KEPT_LOCK = threading.Lock()
KEEP = 12


def keep(key: tuple, model) -> None:
    with _KEPT_LOCK:
        _KEPT[key] = model
        _KEPT.move_to_end(key)
        while len(_KEPT) > KEEP:
            _KEPT.popitem(last=False)


def kept(key: tuple, build):
    """The model this session watched last for the same scenario, scale and seed (so
    leaving the page and coming back finds it on the same day), or a new one."""
    with _KEPT_LOCK:
        if key in _KEPT:
            _KEPT.move_to_end(key)
            return _KEPT[key]
    model = build()
    keep(key, model)
    return model


def model_key(d, scale_label: str, seed: int) -> tuple:
    return (solara.get_session_id(), hash(json.dumps(d.raw(), sort_keys=True, default=str)), scale_label, seed)


def build(f, d, scale_label: str, seed: int):
    """A new model of the draft, or the one-line reason it cannot be built."""
    try:
        return backend.watch_model(d.raw(), f.rel(f.scenarios / d.file), SCALES[scale_label], seed)
    except backend.InputError as exc:
        return str(exc)


def prepare(key: tuple, f, d) -> None:
    """Build and fill (to the period's first day) the model the Watch page will show
    first, in the background when a session opens the app: the page is then ready."""
    m = kept(key, lambda: build(f, d, "1%", 1))
    if not isinstance(m, str):
        while m.day < m.first_day and not m.finished:
            m.step()


def step_to(model, day: int, delay: float = 0.0, redraw_every: int | None = REDRAW_EVERY) -> None:
    """Step ``model`` to ``day`` (after ``delay`` seconds, so that a page being opened
    is sent to the browser first), redrawing every ``redraw_every`` days and at the end.
    Each redraw takes a tenth of a second or so: fewer redraws, sooner there."""
    time.sleep(delay)
    while model.day < day and not model.finished:
        model.step()
        if redraw_every and model.day % redraw_every == 0:
            redraw()
    redraw()


def redraw() -> None:
    """Mesa's ``force_update``, from a background thread. Solara stops a render loop that
    another thread keeps changing (Mesa's play loop redraws every day): then this
    redraw is dropped, as that loop draws the same model a moment later."""
    try:
        force_update()
    except RuntimeError:
        pass


@solara.component
def RouteMap(model, shown_day: solara.Reactive, box: str):
    update_counter.get()
    last = len(model.frames) - 1  # another thread may be stepping: its day may not be recorded yet
    day = last if shown_day.value is None else min(shown_day.value, last)
    frame = model.frames[day]
    drawn = model.__dict__.setdefault("drawn_maps", {})  # coming back to the page redraws nothing
    if (day, box) not in drawn:
        the_map = figures.route_map(backend.watch_network(model), box)
        title = (f"{model.date(day)} (day {day} of {model.n_days - 1}): {frame['people']:,} people travelling "
                 f"in {len(frame['size']):,} groups, {frame['darien']:,} in the Darién ({model.scale:.0%} sample)")
        drawn.clear()
        drawn[day, box] = the_map.image(frame, title, model.max_group)
    solara.Image(drawn[day, box], format="jpeg", width="100%")


@solara.component
def Collected(model):
    """The model's DataCollector, day by day."""
    update_counter.get()
    df = model.datacollector.get_model_vars_dataframe()
    LineChart({k: (df[k].tolist(), c) for k, c in backend.OUTCOMES_WATCHED.items()}, xlabel="day of the run",
              ylabel="people (sample)", classes=["migsim-watch-chart"])


@solara.component
def DaySlider(model, shown_day: solara.Reactive, advance, busy: bool):
    update_counter.get()

    def jump(d: int):
        if d <= model.day:
            shown_day.set(None if d == model.day else d)
            force_update()
        else:
            shown_day.set(None)
            advance(model, d)

    value = model.day if shown_day.value is None else min(shown_day.value, model.day)
    solara.SliderInt(f"day: {model.date(value)}", value=value, min=0, max=model.n_days - 1, on_value=jump,
                     thumb_label=True)
    if busy:
        Note("stepping the model forward...")
    elif shown_day.value is not None:
        Note(f"showing day {value} again; the model is at day {model.day} (press play or step to go on)")


@solara.component
def Page(active: bool = True, visit: int = 0):
    d = shown_while_open(state.current_draft(), active)
    if d is None:
        solara.Error("no scenario to watch")
    else:
        Watch(d, active)


@solara.component
def Watch(d, active: bool = True):
    """``active``: the page is shown. Hidden, the model tells Mesa's play loop it is not
    running (the loop ends after its step) and the controls are dropped; shown again,
    they start paused. The page's own stepping (spin-up, day slider) goes on."""
    f = state.folders()
    scale_label, set_scale_label = solara.use_state("1%")
    seed, set_seed = solara.use_state(1)
    box, set_box = solara.use_state(next(iter(figures.BOXES)))
    shown_day = solara.use_reactive(None)

    key = model_key(d, scale_label, seed)
    built = solara.use_memo(lambda: kept(key, lambda: build(f, d, scale_label, seed)), [key])
    # follows ``built``; Mesa's Reset button replaces it (and the kept one) too
    model = solara.use_reactive(built, on_change=lambda new: keep(key, new))
    play_interval = solara.use_reactive(250)  # ms between days while playing (a redraw takes ~0.2 s)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    m = model.value
    advance = solara.lab.use_task(step_to, dependencies=None)  # in a thread when called
    # a new model fills the route: through the spin-up to the period's first day
    solara.lab.use_task(lambda: step_to(m, m.first_day, delay=0.3, redraw_every=None) if not isinstance(m, str)
                        and m.day < m.first_day else None, dependencies=[id(m)])
    if isinstance(m, str):
        solara.Error(f"cannot watch this scenario: {m}")
        return
    m.shown = active
    with solara.Columns([1.3, 3]):
        with solara.Column():
            with solara.Card("Watch"):
                Note(f"{d.raw().get('name')} ({'with the edits of the Scenario page' if d.changed else 'as saved'}),"
                     " one seed, a small sample: counts are of the sample")
                solara.ToggleButtonsSingle(value=scale_label, values=list(SCALES), on_value=set_scale_label)
                solara.InputInt("seed", value=seed, on_value=lambda v: set_seed(max(int(v or 0), 0)))
                solara.Select("map", values=list(figures.BOXES), value=box, on_value=set_box)
            with solara.Card("Controls", classes=["migsim-watch-controls"]):
                if active:
                    ModelController(model, model_parameters={"inputs": m.inputs, "seed": seed},
                                    play_interval=play_interval, render_interval=render_interval,
                                    use_threads=use_threads)
                DaySlider(m, shown_day, advance, bool(advance.pending))
        with solara.Column(classes=["migsim-watch-map"]):
            RouteMap(m, shown_day, box)
            Collected(m)
