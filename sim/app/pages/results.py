"""Results page: the command line's plots and the effects table of a finished run,
and downloads of its scenario, summary and time series.

Counts of a sample run (``departures.scale`` below 1) are shown divided by the scale,
so they read at full size next to the observed figures; the note says so.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import solara

from sim.app import backend, jobs, state
from sim.app.pages.widgets import Heading, Note, Table, shown_while_open
from sim.app.paths import PathRefused
from sim.app.yamlfiles import variant_text

PLOTS = [("plots/encounters_by_month.png", "Encounters at the US southwest border by month, against CBP's"),
         ("plots/darien_by_month.png", "Darién crossings by month, against Panama's"),
         ("plots/encounters_by_citizenship.png", "Encounters by citizenship, ranked"),
         ("flow_map.png", "Flow map: people on each leg and where they were counted")]


def _label(meta: dict) -> str:
    seeds = ",".join(str(s) for s in meta.get("seeds", []))
    return f"{meta.get('name')} · {meta.get('scale', 1):.0%} · seeds {seeds} · {meta.get('created', '')}"


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


def effects_rows(csv_path: Path, scale: float, main_only: bool) -> list[list[str]]:
    """Rows of the effects table (``migsim effects``' columns), counts divided by the scale."""
    import pandas as pd

    t = pd.read_csv(csv_path)
    t = t[t["outcome"].isin(backend.policy_outcomes()) == main_only]
    k = 1.0 / scale
    rows = []
    for r in t.itertuples(index=False):
        ch = f"{r.relative_change:+.1%}" if pd.notna(r.relative_change) else ""
        rows.append([r.outcome, _fmt(r.baseline_mean * k), _fmt(r.scenario_mean * k), f"{r.difference_mean * k:+,.0f}",
                     f"[{r.difference_p05 * k:+,.0f}, {r.difference_p95 * k:+,.0f}]", ch])
    return rows


EFFECT_COLUMNS = ["outcome", "baseline", "scenario", "difference (mean)", "90% interval", "change"]


@solara.component
def Downloads(view: Path, meta: dict):
    import yaml

    edits = yaml.safe_load(meta.get("edits_yaml") or "{}") or {}
    edits["departures"] = {**(edits.get("departures") or {}), "scale": meta.get("scale", 1.0)}
    edits["seeds"] = list(meta.get("seeds", []))
    scenario_text = variant_text(meta["base_file"], edits, f"{meta.get('name')}: the scenario of this run")

    def csv_bytes():
        import pandas as pd

        buf = io.StringIO()
        pd.read_parquet(view / "timeseries.parquet").to_csv(buf, index=False)
        return buf.getvalue().encode()

    stem = meta.get("name") or "run"
    with solara.Row(classes=["migsim-downloads"], style={"flex-wrap": "wrap"}):
        solara.FileDownload(scenario_text, filename=f"{stem}.yaml", label="scenario (YAML)")
        solara.FileDownload(lambda: (view / "summary.json").read_bytes(), filename=f"{stem}-summary.json",
                            label="summary (JSON)")
        solara.FileDownload(lambda: (view / "timeseries.parquet").read_bytes(),
                            filename=f"{stem}-timeseries.parquet", label="time series (Parquet)")
        solara.FileDownload(csv_bytes, filename=f"{stem}-timeseries.csv", label="time series (CSV)")


@solara.component
def Headline(view: Path, meta: dict):
    summ = json.loads((view / "summary.json").read_text())
    k = 1.0 / (summ.get("departures_scale") or 1.0)
    n = len(summ.get("seeds", []))
    note = "" if k == 1 else f", sample counts x{k:g}"
    rows = []
    for label, by_metric in summ.get("windows", {}).items():  # observed figures from the scenario's data
        for metric, v in by_metric.items():
            obs = v.get("observed")
            rows.append([f"{backend.metric_label(metric)}, {label}", _fmt(v["mean"] * k),
                         _fmt(obs) if obs is not None else ""])
    p = summ["period"]
    for m in ("encounters", "removals", "deaths"):
        per = summ.get("period_totals", {}).get(m)
        if per:
            rows.append([f"{m}, {p['start']} to {p['end']}", _fmt(sum(per.values()) / len(per) * k), ""])
    Table(["", f"simulated (mean of {n} seed(s){note})", "observed"], rows, right={1, 2},
          classes=["migsim-headline"])


@solara.component
def Page(active: bool = True, visit: int = 0):
    chosen, job_id = shown_while_open((state.view.value, state.job_id.value), active)
    Results(chosen, job_id, visit)


@solara.component
def Results(chosen_view, job_id, visit: int):
    """The run ``chosen_view`` (else the job's, else the newest). Every opening of the page
    (``visit``) reads the results folders again: runs end while it is hidden."""
    f = state.folders()
    all_views = jobs.views(f)
    if not all_views:
        solara.Info("No results yet: start a run on the Run page.", classes=["migsim-no-results"])
        return
    names = [v["view"] for v in all_views]
    labels = {v["view"]: _label(v) for v in all_views}
    job = jobs.manager().get(job_id)
    latest = job.view if job is not None and job.view in names else names[0]
    chosen = chosen_view if chosen_view in names else latest
    try:
        view = f.result(f"views/{chosen}")
    except PathRefused as exc:
        solara.Error(str(exc))
        return
    meta = next(v for v in all_views if v["view"] == chosen)
    scale = float(meta.get("scale", 1.0)) or 1.0
    solara.Select("results", values=[labels[n] for n in names], value=labels[chosen],
                  on_value=lambda lab: state.view.set(next(n for n in names if labels[n] == lab)),
                  classes=["migsim-view-select"])
    edits = (meta.get("edits_yaml") or "").strip()
    with solara.Columns([1, 1]):
        with solara.Column():
            Heading(meta.get("name"))
            Note(f"from scenarios/{meta['base_file']}" + (", edited:" if edits not in ("", "{}") else ", unchanged"))
            if edits not in ("", "{}"):
                with solara.Column(classes=["migsim-run-edits"]):
                    solara.Preformatted(edits)
            Headline(view, meta)
            Downloads(view, meta)
        with solara.Column(classes=["migsim-effects"]):
            eff = view / "effects.csv"
            if eff.is_file():
                Heading(f"Effects against {meta.get('baseline')}")
                Note(f"Paired seeds {', '.join(map(str, meta.get('seeds', [])))}; the baseline runs over this "
                     "scenario's period; 90% interval = 5th to 95th percentile of the per-seed differences"
                     + ("" if scale == 1 else f"; sample counts x{1 / scale:g}") + ".")
                Table(EFFECT_COLUMNS, effects_rows(eff, scale, True), right={1, 2, 3, 4, 5},
                      classes=["migsim-effects-table"])
                with solara.Details("encounters by citizenship"):
                    Table(EFFECT_COLUMNS, effects_rows(eff, scale, False), right={1, 2, 3, 4, 5})
            elif meta.get("baseline"):
                solara.Info(f"This run is its baseline ({meta.get('baseline')}): no effects to show.")
    Plots(view)


@solara.component
def Plots(view: Path):
    """The run's plots; while a job still draws them, look again every half second."""
    tick, set_tick = solara.use_state(0)
    drawing = jobs.manager().plotting(view.name)

    def poll():
        while jobs.manager().plotting(view.name):
            time.sleep(0.5)
            set_tick(lambda t: t + 1)
        set_tick(lambda t: t + 1)

    solara.use_thread(poll, dependencies=[view.name, drawing])
    with solara.Row(style={"flex-wrap": "wrap"}):
        for name, caption in PLOTS:
            p = view / name
            with solara.Column(style={"width": "48%", "min-width": "420px"}, classes=["migsim-plot"]):
                solara.Text(caption, style={"font-weight": "bold"})
                if p.is_file():
                    solara.Image(p.read_bytes(), width="100%")
                elif drawing:
                    Note("drawing...")
                else:
                    Note("(not drawn: run it again to draw it)")
