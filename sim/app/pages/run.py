"""Run page: seeds and scale, one button, a progress bar.

The run goes to the server's worker processes (``sim.app.jobs``); this page only
polls the job a few times a second, so it stays responsive, and another page can be
opened meanwhile. A failing run shows its one-line error here.
"""

from __future__ import annotations

import time

import solara

from sim.app import drafts, jobs, state
from sim.app.pages.widgets import Heading, Note, shown_while_open
from sim.app.yamlfiles import dump

SCALES = {"5% sample (seconds)": 0.05, "full scale (minutes)": 1.0}


def request_for(d: drafts.Draft) -> jobs.RunRequest:
    seeds = tuple(range(int(state.first_seed.value), int(state.first_seed.value) + int(state.n_seeds.value)))
    edits = d.edits()
    return jobs.RunRequest(name=d.raw().get("name", ""), base_file=d.file, edits_yaml=dump(edits),
                           scale=float(state.scale.value), seeds=seeds, baseline=state.baseline.value or None)


@solara.component
def JobStatus(job_id: str):
    """Progress of one job, polled every 0.3 s until it ends."""
    tick, set_tick = solara.use_state(0)
    job = jobs.manager().get(job_id)

    def poll():
        shown = False
        while True:
            j = jobs.manager().get(job_id)
            if j is not None and j.status == "done" and not shown:
                state.view.set(j.view)  # the Results page opens on this run (once: a person may pick another)
                shown = True
            if j is None or j.status == "failed" or (j.status == "done" and not j.plotting):
                set_tick(lambda t: t + 1)
                return
            time.sleep(0.3)
            set_tick(lambda t: t + 1)

    solara.use_thread(poll, dependencies=[job_id])
    if job is None:
        return
    r = job.request
    solara.Text(f"{r.name}: {r.scale:.0%} scale, seeds {', '.join(map(str, r.seeds))}"
                + (f", against {r.baseline}" if r.baseline else ""))
    solara.ProgressLinear(value=100 * job.progress(), classes=["migsim-progress"])
    solara.Text(f"{job.stage} ({job.seconds:.1f} s)", classes=["migsim-stage"])
    if job.status == "failed":
        solara.Error(f"run failed: {job.error}", classes=["migsim-run-error"])
    elif job.status == "done":
        with solara.Row(style={"align-items": "center"}):
            solara.Success(f"Results ready in {job.ready_after:.1f} s"
                           + (" (drawing the plots)" if job.plotting else "") + ".", classes=["migsim-run-done"])
            with solara.Link("/results"):
                solara.Button("Open the results", color="primary", classes=["migsim-open-results"])
        if job.plot_error:
            solara.Error(f"plots failed: {job.plot_error}")


@solara.component
def Page(active: bool = True, visit: int = 0):
    d = shown_while_open(state.current_draft(), active)
    if d is None:
        solara.Error("no scenario to run")
    else:
        RunForm(d, visit)


@solara.component
def RunForm(d: drafts.Draft, visit: int = 0):
    """``visit``: a new opening of the page lists the server's other runs again."""
    f = state.folders()
    problem = solara.use_memo(lambda: drafts.check(f, d), [d])
    names = f.scenario_names()
    with solara.Columns([1, 1.4]):
        with solara.Column():
            with solara.Card("Scenario"):
                Heading(d.raw().get("name", ""), 4)
                Note(f"from scenarios/{d.file}" + (", with edits not saved (they are run as they are)"
                                                   if d.changed else ""))
                if problem is not None:
                    solara.Error(f"cannot run: {problem}")
            with solara.Card("Options"):
                label = next((k for k, v in SCALES.items() if v == state.scale.value), None)
                solara.ToggleButtonsSingle(value=label, values=list(SCALES),
                                           on_value=lambda k: state.scale.set(SCALES[k]),
                                           classes=["migsim-scale"])
                Note("departures.scale: a 5% sample runs in seconds; full scale gives the real figures. "
                     "Counts of a sample are shown multiplied up to full size.")
                with solara.Row():
                    solara.InputInt("first seed", value=state.first_seed, classes=["migsim-first-seed"])
                    solara.InputInt("number of seeds", value=state.n_seeds, classes=["migsim-n-seeds"])
                bad_seeds = not (0 <= state.first_seed.value and 1 <= state.n_seeds.value <= 20)
                if bad_seeds:
                    solara.Error("seeds: the first seed must be 0 or more, and 1 to 20 seeds")
                solara.Select("baseline for the effects table", values=names,
                              value=state.baseline.value if state.baseline.value in names else None,
                              on_value=state.baseline.set, classes=["migsim-baseline"])
                Note("Effects are paired by seed: the scenario and the baseline (over the scenario's "
                     "period) run on the same seeds; 2 seeds or more give an interval.")

            def start():
                job = jobs.manager().submit(request_for(d))
                state.job_id.set(job.id)
                state.view.set(None)  # the Results page follows this run

            solara.Button("Run", on_click=start, color="primary", disabled=problem is not None or bad_seeds,
                          classes=["migsim-run-button"])
        with solara.Column():
            with solara.Card("Progress"):
                if state.job_id.value:
                    JobStatus(state.job_id.value)
                else:
                    solara.Text("No run started in this session yet.")
            recent = [j for j in jobs.manager().jobs() if j.id != state.job_id.value][:5]
            if recent:
                with solara.Card("Other runs on this server"):
                    for j in recent:
                        solara.Text(f"{j.request.name}, {j.request.scale:.0%}, seeds {list(j.request.seeds)}: "
                                    f"{j.status}" + (f" ({j.error})" if j.error else ""))
