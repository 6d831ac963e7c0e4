"""The app's one door into the simulator: every ``import sim.*`` of the app is here.

Why one module: the simulator's package is being reorganised; the pages, forms and
jobs call only the small functions below, so moving ``sim.scenario`` or
``sim.runner`` means re-pointing the imports of this file and nothing else. The
imports sit inside the functions: the command line imports ``sim.app.command`` at
start-up, and this module must cost it nothing.

Functions marked "worker" run in the background processes of ``sim.app.jobs``: they
take and return only plain values (paths, numbers, dicts) and never raise across the
process boundary; a failure comes back as ``{"error": "one line"}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def _input_error():
    from sim.errors import InputError

    return InputError


def __getattr__(name):  # ``backend.InputError`` without importing the simulator at start-up
    if name == "InputError":
        return _input_error()
    raise AttributeError(name)


# ------------------------------------------------------------------ scenarios

def read_scenario(path: str | Path) -> dict:
    """The scenario as a plain dict with ``extends`` merged and paths resolved (without
    the reader's notes of where each lever was written)."""
    return read_scenario_and_origins(path)[0]


def read_scenario_and_origins(path: str | Path) -> tuple[dict, list]:
    """``read_scenario`` and, per lever, where it was written: [file, index in that
    file's own list] (so errors name a lever as the command line does)."""
    from sim.scenario import read_raw
    from sim.scenario.files import without_origins

    return without_origins(read_raw(path))


def with_origins(raw: dict, origins: list) -> dict:
    """``raw`` with each lever tagged with where it was written (``validate_raw`` names a
    lever's errors by that place)."""
    from sim.scenario.files import ORIGIN

    return {**raw, "policies": [{**lv, ORIGIN: o} if isinstance(lv, dict) and o else lv
                                for lv, o in zip(raw.get("policies") or [], origins)]}


def policy_outcomes() -> tuple[str, ...]:
    """The metrics an effects table shows first (declared in sim.outcomes.metrics)."""
    from sim.outcomes.metrics import POLICY_OUTCOMES

    return POLICY_OUTCOMES


def metric_label(name: str) -> str:
    from sim.outcomes.metrics import BY_NAME

    return BY_NAME[name].label if name in BY_NAME else name


def merge_scenarios(base: dict, over: dict) -> dict:
    """``over`` on top of ``base`` as ``extends`` merges them (levers add up)."""
    from sim.scenario.files import merge

    return merge(base, over)


def check_scenario(raw: dict, path: str | Path) -> None:
    """Raise InputError (the command line's one-line message) if ``raw`` is not a valid
    scenario: the schema first, then the cross-checks against the network and data files."""
    from sim.scenario.inputs import Inputs
    from sim.scenario import validate_raw

    Inputs.load(str(path), validate_raw(raw, str(path)))


def scenario_schema() -> dict:
    """The JSON schema of scenario files (levers included), which the forms are built from."""
    from sim.scenario.files import json_schema

    return json_schema()


def lever_types() -> tuple[str, ...]:
    from sim.levers import LEVER_TYPES

    return tuple(LEVER_TYPES)


def citizenships() -> list[str]:
    from sim.citizenship import CITIZENSHIPS

    return list(CITIZENSHIPS)


@dataclass(frozen=True)
class RouteNetwork:
    """The route network as plain arrays, for forms (node choices) and maps."""

    ids: np.ndarray
    names: np.ndarray
    kind: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    src: np.ndarray
    dst: np.ndarray


def _network_arrays(net) -> RouteNetwork:
    return RouteNetwork(net.ids, net.names, net.kind, net.lat, net.lon, net.src, net.dst)


def route_network(raw: dict) -> RouteNetwork:
    """The network a (merged) scenario names. Raises InputError on bad files."""
    from sim.engine.network import Network

    net = raw.get("network") or {}
    return _network_arrays(Network.from_csv(net.get("nodes", ""), net.get("edges", ""),
                                            raw.get("speeds_km_per_day")))


def model_digest() -> str:
    """Hash of the simulator's source files, part of the cache key: results made by an
    older version of the model are not shown as if the current one had made them."""
    import sim

    root = Path(sim.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        if p.relative_to(root).parts[0] == "app":
            continue
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


# ------------------------------------------------------------------ runs (workers)

def warm_up() -> None:
    """Import what a run needs, once per worker process, before the first run asks."""
    import sim.studies.compare  # noqa: F401
    import sim.studies.effects  # noqa: F401
    import sim.studies.plots  # noqa: F401
    import sim.studies.runner  # noqa: F401


@contextlib.contextmanager
def _progress_to(file: Path | None):
    """Report a run's days done into ``file`` (JSON), for the page's progress bar.

    ``run_scenario`` reports progress only through a tqdm bar; inside a worker process
    we swap tqdm's class for one that writes its count to a file instead of the
    terminal. (When the runner takes a per-day callback, this goes.)
    """
    if file is None:
        yield
        return
    import os

    import tqdm as tqdm_module

    original = tqdm_module.tqdm

    class FileProgress(original):
        def __init__(self, *args, **kwargs):
            kwargs["file"] = open(os.devnull, "w")  # noqa: SIM115 - closed with the bar
            kwargs["disable"] = False
            super().__init__(*args, **kwargs)
            self._last = 0.0
            self._write(force=True)

        def _write(self, force=False):
            now = time.monotonic()
            if force or now - self._last > 0.2:
                self._last = now
                tmp = file.with_suffix(".tmp")
                tmp.write_text(json.dumps({"done": self.n, "total": self.total or 0}))
                tmp.replace(file)

        def update(self, n=1):
            out = super().update(n)
            self._write()
            return out

        def close(self):
            if not self.disable:
                self._write(force=True)
            fp = self.fp
            super().close()
            with contextlib.suppress(Exception):
                fp.close()

    tqdm_module.tqdm = FileProgress
    try:
        yield
    finally:
        tqdm_module.tqdm = original


def _one_line(exc: BaseException) -> str:
    InputError = _input_error()
    if isinstance(exc, InputError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def run_seed(path: str, seed: int, runs: str, code: str, progress_file: str | None = None,
             counterfactual_of: str | None = None) -> dict:
    """Worker: one seed of a scenario, unless the cache has it. Returns its folder
    (the runner's output folder), ``runs/<code>-<scenario hash>/seed-<seed>``.

    The hash is that of the inputs the run reads, taken here where they are built,
    so the cache key is exactly what ran. With ``counterfactual_of``, ``path`` is a
    baseline, run over that scenario's period and spin-up (what the effects compare)."""
    try:
        from sim.scenario.inputs import Inputs
        from sim.studies.runner import run_scenario

        if counterfactual_of:
            from sim.studies.effects import counterfactual

            inputs = counterfactual(path, Inputs.load(counterfactual_of))
        else:
            inputs = Inputs.load(path)
        out = Path(runs) / f"{code}-{inputs.scenario_sha256[:16]}" / f"seed-{seed}"
        if (out / "summary.json").is_file():
            if progress_file:
                Path(progress_file).write_text(json.dumps({"done": inputs.n_days, "total": inputs.n_days}))
            return {"out": str(out), "cached": True}
        with _progress_to(Path(progress_file) if progress_file else None):
            run_scenario(path, out, seed=seed, replicates=1, processes=1, progress=True, plots=False,
                         inputs=inputs)
        return {"out": str(out)}
    except BaseException as exc:  # noqa: BLE001 - reported as one line, the pool stays usable
        return {"error": _one_line(exc)}


def _scale_of(scenario_file: str) -> float:
    return float((read_scenario(scenario_file).get("departures") or {}).get("scale", 1.0)) or 1.0


def combine_seeds(run_dirs: list[str], view: str, scenario_file: str, name: str) -> dict:
    """Worker: one folder for a set of seeds of one scenario, in the runner's layout
    (timeseries.parquet, legs.parquet, summary.json), which the plots and
    ``migsim compare`` read."""
    try:
        import pandas as pd

        view_p = Path(view)
        view_p.mkdir(parents=True, exist_ok=True)
        ts = pd.concat([pd.read_parquet(Path(d) / "timeseries.parquet") for d in run_dirs], ignore_index=True)
        legs = pd.concat([pd.read_parquet(Path(d) / "legs.parquet") for d in run_dirs], ignore_index=True)
        summaries = [json.loads((Path(d) / "summary.json").read_text()) for d in run_dirs]
        scale = _scale_of(scenario_file)
        seeds = [s for sm in summaries for s in sm["seeds"]]
        summary = {"scenario": name, "scenario_file": scenario_file, "seeds": seeds,
                   "departures_scale": scale, "period": summaries[0]["period"],
                   "ledger": {k: v for sm in summaries for k, v in sm["ledger"].items()},
                   "period_totals": {}}
        for sm in summaries:
            for metric, per_seed in sm.get("period_totals", {}).items():
                summary["period_totals"].setdefault(metric, {}).update(per_seed)
        windows: dict = {}
        for sm in summaries:  # the runner's headline windows, every seed's figure together
            for label, by_metric in sm.get("windows", {}).items():
                for metric, v in by_metric.items():
                    w = windows.setdefault(label, {}).setdefault(metric, {"per_seed": {}, "observed": v.get("observed")})
                    w["per_seed"].update(v["per_seed"])
        for by_metric in windows.values():
            for v in by_metric.values():
                v["mean"] = float(np.mean(list(v["per_seed"].values())))
        summary["windows"] = windows
        ts.to_parquet(view_p / "timeseries.parquet", index=False)
        legs.to_parquet(view_p / "legs.parquet", index=False)
        (view_p / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        return {"out": view}
    except BaseException as exc:  # noqa: BLE001
        return {"error": _one_line(exc)}


def draw_run_plots(view: str, name: str) -> dict:
    """Worker: the command line's run plots (encounters and Darién by month against the
    observed figures, citizenship ranks) for the seeds of a view, counts divided by
    ``departures.scale`` so a sample is read at full size next to the observed."""
    try:
        import pandas as pd
        from sim.studies.plots import make_run_plots

        view_p = Path(view)
        summary = json.loads((view_p / "summary.json").read_text())
        scale = summary["departures_scale"]
        ts = pd.read_parquet(view_p / "timeseries.parquet")
        if scale != 1.0:
            ts = ts.assign(value=ts["value"] / scale)
        title = name if scale == 1.0 else f"{name} ({scale:.0%} sample, counts x{1 / scale:g})"
        observed = read_scenario(summary["scenario_file"]).get("observed")
        make_run_plots(ts, observed, view_p / "plots", title)
        return {"out": view}
    except BaseException as exc:  # noqa: BLE001
        return {"error": _one_line(exc)}


def draw_flow_map(view: str) -> dict:
    """Worker: the flow map of ``migsim compare`` for a view (one panel, its seeds):
    only that figure of ``compare``, whose other figures the app does not show."""
    try:
        from sim.studies.compare.figures import DPI, plot_flow_map
        from sim.studies.compare.read import load

        view_p = Path(view)
        tmp = view_p / "flow_map.tmp.png"
        plot_flow_map(load([view_p])[0]).savefig(tmp, dpi=DPI)
        tmp.replace(view_p / "flow_map.png")
        return {"out": view}
    except BaseException as exc:  # noqa: BLE001
        return {"error": _one_line(exc)}


def effects_table(view: str, scenario_dirs: list[str], baseline_dirs: list[str], name: str) -> dict:
    """Worker: the paired effects of the scenario against its baseline runs, seed by
    seed (``migsim effects``' table), written to ``view/effects.csv``."""
    try:
        import pandas as pd
        from sim.studies.effects import paired_table, totals

        alt = pd.concat([pd.read_parquet(Path(d) / "timeseries.parquet") for d in scenario_dirs])
        base = pd.concat([pd.read_parquet(Path(d) / "timeseries.parquet") for d in baseline_dirs])
        t = paired_table(name, totals(base), totals(alt))
        t = t[(t["baseline_mean"] != 0) | (t["scenario_mean"] != 0)]
        t.to_csv(Path(view) / "effects.csv", index=False)
        return {"out": view}
    except BaseException as exc:  # noqa: BLE001
        return {"error": _one_line(exc)}


# ------------------------------------------------------------------ watching a run

OUTCOMES_WATCHED = {"travelling": "#1f77b4", "in the Darién": "#2ca02c", "encountered (total)": "#d62728"}


def watch_model(raw: dict, path: str | Path, scale: float, seed: int, start_at_period: bool = False):
    """A model of the (edited) scenario at a small scale, to step day by day on a map.

    Returns a ``WatchModel``: the simulator's ``RouteModel`` (a ``mesa.Model``) that also
    keeps, for every day it has stepped, where its travelling groups were (to go back
    with the day slider without re-running) and a Mesa DataCollector. Raises InputError."""
    raw = {**raw, "departures": {**(raw.get("departures") or {}), "scale": scale}}
    inputs = _watch_inputs(json.dumps(raw, sort_keys=True, default=str), raw, str(path))
    model = _watch_class()(inputs=inputs, seed=seed)
    if start_at_period:  # the spin-up starts empty; open where the route has filled up
        while model.day < model.first_day:
            model.step()
    return model


_INPUTS: dict = {}


def _watch_inputs(key: str, raw: dict, path: str):
    """Inputs of a scenario, kept for the next model of the same scenario (reading the
    departure schedule takes a few tenths of a second; models only read their inputs)."""
    from sim.scenario.inputs import Inputs
    from sim.scenario import validate_raw

    if key not in _INPUTS:
        if len(_INPUTS) > 8:
            _INPUTS.clear()
        _INPUTS[key] = Inputs.load(path, validate_raw(raw, path))
    return _INPUTS[key]


_WATCH_CLASS = None


def _watch_class():
    """Built on first use, so importing this module does not import the model."""
    global _WATCH_CLASS
    if _WATCH_CLASS is not None:
        return _WATCH_CLASS
    from mesa import DataCollector
    from sim.engine.groups import ACTIVE
    from sim.engine.model import RouteModel

    class WatchModel(RouteModel):
        """RouteModel plus the record the Watch page draws from."""

        def __init__(self, inputs, seed):
            import threading

            super().__init__(inputs, seed)
            self.first_day = max(inputs.day_of(inputs.scenario.period.start), 0)
            self.max_group = float(inputs.scenario.departures.group_size.max)
            # Mesa's play loop and the page's day slider step from different threads
            lock, mesa_step = threading.Lock(), self.step

            def locked_step():
                with lock:
                    mesa_step()

            self.step = locked_step
            net = self.network
            # legs through the jungle: those that come out at a Darién exit
            self.darien_edges = np.isin(net.ids[net.dst], list(inputs.scenario.darien_exit_nodes))
            self.frames: list[dict] = []
            self.encountered = 0
            self.datacollector = DataCollector(model_reporters={
                "travelling": lambda m: m.frames[-1]["people"],
                "in the Darién": lambda m: m.frames[-1]["darien"],
                "encountered (total)": lambda m: m.encountered,
            })
            self._record()

        shown = True  # the Watch page is open (set by the page)

        @property
        def running(self) -> bool:
            """What Mesa's play loop reads after each step: False while the Watch page is
            hidden, which ends the loop (unmounting its controls does not stop it)."""
            return self._running and self.shown

        @running.setter
        def running(self, value: bool) -> None:
            self._running = value

        @property
        def finished(self) -> bool:
            """The period is over (whether or not the page is shown)."""
            return not self._running

        def step(self):
            super().step()
            self._record()

        def date(self, day: int | None = None) -> str:
            d = self.day if day is None else day
            dates = self.inputs.dates
            return str(dates[min(d, len(dates) - 1)].date())

        def _record(self):
            g, net = self.groups, self.network
            n = g.n
            rows = np.flatnonzero((g.status[:n] == ACTIVE) & (g.size[:n] > 0))
            edge = g.edge[rows]
            on_leg = edge >= 0
            node = g.node[rows]
            lon = net.lon[node].astype(float)
            lat = net.lat[node].astype(float)
            e = edge[on_leg]
            days = np.maximum(net.days[e], 1e-9)
            frac = np.clip(1.0 - g.remaining[rows][on_leg] / days, 0.0, 1.0)
            lon[on_leg] = net.lon[net.src[e]] + frac * (net.lon[net.dst[e]] - net.lon[net.src[e]])
            lat[on_leg] = net.lat[net.src[e]] + frac * (net.lat[net.dst[e]] - net.lat[net.src[e]])
            mode = np.full(len(rows), "waiting in a town", dtype=object)
            mode[on_leg] = net.mode[e]
            size = g.size[rows].astype(float)
            in_darien = np.zeros(len(rows), bool)
            in_darien[on_leg] = self.darien_edges[e]
            self.encountered = int(self.books.tallies.encounters[: self.day].sum())
            self.frames.append({"day": self.day, "lon": lon, "lat": lat, "size": size, "mode": mode,
                                "people": int(size.sum()), "darien": int(size[in_darien].sum())})
            self.datacollector.collect(self)

    _WATCH_CLASS = WatchModel
    return WatchModel


def watch_network(model) -> RouteNetwork:
    """The network of a watched model, for drawing."""
    return _network_arrays(model.network)
