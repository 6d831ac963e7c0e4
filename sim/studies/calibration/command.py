"""``migsim calibrate``: estimate, verify, check the natural experiments, write the report.

The steps, each a function of its own module: ABC-SMC over the shared parameters
(``abc``), levels refined at the posterior median (``levels``), verification with
several seeds (``simulate``), each event's ratio with and without its levers, the masked
estimate's prediction of the masked event, posterior predictive bands, then the
estimate as a scenario fragment (``outputs``) and the report (``report``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.studies.calibration.abc import (effective_sample_size, load_history, point_estimates, posterior_frame, run_abc,
                                        weighted_quantile)
from sim.studies.calibration.base import keep_base
from sim.studies.calibration.checks import criteria
from sim.studies.calibration.levels import refine_levels
from sim.studies.calibration.not_fitted import from_statistics
from sim.studies.calibration.outputs import draws_table, write_params
from sim.studies.calibration.report import git_state, write_report
from sim.studies.calibration.simulate import CalibrationModel, Solved, check_spec_against_scenario, simulate_many
from sim.studies.calibration.spec import Spec, load_spec


def _mean(runs: list[dict]) -> dict:
    return {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0]}


def widths(spec: Spec, post) -> dict[str, dict]:
    """Per parameter: median, 90% credible interval and its width as a share of the prior's."""
    w = post["weight"].to_numpy()
    out = {}
    for p in spec.parameters:
        x = post[p.name].to_numpy()
        lo, me, hi = (weighted_quantile(x, w, q) for q in (0.05, 0.5, 0.95))
        out[p.name] = {"median": me, "lo": lo, "hi": hi, "width": p.prior.width(lo, hi), "response": p.response}
    return out


def estimate(model: CalibrationModel, out: Path, scheduler, quick: bool, log, report_only: bool,
             max_minutes: float | None, db_name: str, resume: bool = False):
    """ABC (or its stored run, as it is or continued), the posterior in natural units, and its median."""
    spec = model.spec
    if report_only:
        history, secs = load_history(out / db_name)
    else:
        history, secs = run_abc(model, out, scheduler, quick, log, max_minutes, db_name=db_name, resume=resume)
    post = posterior_frame(history, spec)
    return history, secs, post, point_estimates(spec, post)["median"]


def event_ratios(model: CalibrationModel, params: dict, levels, seeds, scale: float, procs: int,
                 mean_cells: np.ndarray, log) -> dict[str, dict]:
    """Each event's observed and simulated ratio, and its ratio without its levers."""
    t = model.targets
    events = {}
    for e in model.spec.events:
        runs = simulate_many(model.spec_path, [(params, levels, s, scale, tuple(e.labels)) for s in seeds], procs)
        cf = _mean(runs)["cells"] * 1.0
        events[e.name] = {"obs": t.observed_ratio(e), "sim": t.ratio(mean_cells, e), "without": t.ratio(cf, e),
                          "cells_without": cf}
        log(f"{e.name}: observed {events[e.name]['obs']:.3f}, simulated {events[e.name]['sim']:.3f}, "
            f"without its levers {events[e.name]['without']:.3f}")
    return events


def masked_prediction(spec_path: str, spec: Spec, scale: float, out: Path, scheduler, quick: bool, log,
                      report_only: bool, max_minutes, procs: int, seeds, draws: int, levels,
                      resume: bool = False) -> dict | None:
    """Estimate with the masked months left out; the masked event's ratio it predicts
    (posterior predictive over draws of that posterior)."""
    if spec.mask is None:
        return None
    m = CalibrationModel(spec_path, scale=scale, mask=True)
    _, secs, post, params = estimate(m, out, scheduler, quick, log, report_only, max_minutes, "abc_masked.db", resume)
    e = next(e for e in spec.events if e.name == spec.mask.event)
    rng = np.random.default_rng(4321)
    idx = rng.choice(len(post), size=max(draws, 1), p=post["weight"].to_numpy() / post["weight"].sum())
    jobs = [({p.name: float(post.iloc[i][p.name]) for p in spec.parameters}, levels, 3000 + j, scale, ())
            for j, i in enumerate(idx)]
    runs = simulate_many(spec_path, jobs, procs, mask=True)
    ratios = []
    for r in runs:  # each draw at its own levels (the masked months left out of them)
        ratios.append(m.targets.ratio(m.targets.apply_levels(r, m.targets.solve_levels(r, levels.trends))["cells"], e))
    ratios = np.array(ratios)
    pred = {"event": e.name, "observed": m.targets.observed_ratio(e), "median": float(np.median(ratios)),
            "lo": float(np.percentile(ratios, 5)), "hi": float(np.percentile(ratios, 95)), "draws": len(ratios),
            "abc_seconds": secs, "widths": widths(spec, post), "params": params}
    log(f"masked estimate predicts {e.name} ratio {pred['median']:.3f} [{pred['lo']:.3f}, {pred['hi']:.3f}] "
        f"(observed {pred['observed']:.3f})")
    return pred


def flow_map(model: CalibrationModel, params: dict, levels, seed: int, scale: float, out: Path, plots: Path) -> None:
    """One run of the estimate written as a run folder, and its route flow map."""
    from sim.scenario.files import validate_raw
    from sim.scenario.inputs import Inputs
    from sim.studies.compare.figures import DPI, plot_flow_map
    from sim.studies.compare.read import load
    from sim.studies.runner import run_scenario

    scenario = model._state()[1] / model.spec.scenario
    raw = model.raw_scenario(params, scale, levels)
    inp = Inputs.load(scenario, validate_raw(raw, scenario))
    run_dir = out / "estimate_run"
    run_scenario(scenario, run_dir, seed=seed, replicates=1, progress=False, plots=False, inputs=inp)
    scs, _ = load([run_dir])
    plots.mkdir(parents=True, exist_ok=True)
    plot_flow_map(scs).savefig(plots / "flow_map.png", dpi=DPI)


def calibrate(spec_path: str | Path, out: str | Path | None = None, scheduler: str | None = None,
              quick: bool = False, log=print, report_only: bool = False, max_minutes: float | None = None,
              masked: bool = True, resume: bool = False) -> dict:
    """Run the whole estimation; returns what was written and measured."""
    t_all = time.perf_counter()
    code = git_state()
    spec_path = Path(spec_path).resolve()
    spec, base = load_spec(spec_path)
    out = Path(out) if out else Path("results") / ("calibrate_" + spec_path.stem + ("_quick" if quick else ""))
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    q = spec.quick
    scale = q.scale if quick else spec.simulation.scale
    try:
        keep_base(base / spec.outputs.params, out, (resume or report_only) and (out / "abc.db").is_file(), quick, log)
        model = CalibrationModel(spec_path, scale=scale)
        check_spec_against_scenario(model)
    except InputError:
        if created:  # bad input found before any simulation: leave no folder behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    dest = out if quick else base  # a quick run never overwrites the committed estimate
    procs = spec.abc.processes or os.cpu_count() or 1
    log(f"calibrate: {spec.name}: {len(spec.parameters)} parameters by ABC and {len(model.base_levels())} levels, "
        f"scale {scale}, seeds {model.seeds}, {'quick' if quick else 'full'} run, out {out}")
    history, abc_secs, post, params = estimate(model, out, scheduler, quick, log, report_only, max_minutes, "abc.db",
                                               resume)
    post.to_parquet(out / "posterior.parquet", index=False)
    log(f"ABC-SMC: {history.max_t + 1} generations, {history.total_nr_simulations} simulations, {abc_secs:.0f} s"
        + (" in this sitting" if resume else ""))
    vseeds = q.verify_seeds if quick else spec.verify.seeds
    vscale = q.verify_scale if quick else spec.verify.scale
    start = Solved(model.base_levels(), model.base_attractiveness(),
                   model.trends(params) if spec.fit.solve_trends else None)
    levels = refine_levels(model, params, start, vseeds[:4],
                           vscale, 1 if quick else spec.verify.level_iterations, procs, log=log)
    runs = simulate_many(str(spec_path), [(params, levels, s, vscale, ()) for s in vseeds], procs)
    mean = _mean(runs)
    flow_map(model, params, levels, vseeds[0], vscale, out, dest / spec.outputs.plots)
    not_fitted = from_statistics(model.targets.checks, mean, vseeds, vscale)
    cf_scale = q.verify_scale if quick else spec.verify.counterfactual_scale
    events = event_ratios(model, params, levels, vseeds, cf_scale, procs, mean["cells"], log)
    w = widths(spec, post)
    crit = criteria(spec, model.targets, mean, events, {k: v["width"] for k, v in w.items() if v["response"]},
                    effective_sample_size(post))
    ndraw = q.predictive_draws if quick else spec.verify.predictive_draws
    pscale = q.scale if quick else spec.verify.predictive_scale
    mask = masked_prediction(str(spec_path), spec, scale, out, scheduler, quick, log, report_only, max_minutes,
                             procs, vseeds, ndraw, levels, resume) if masked else None
    rng = np.random.default_rng(12345)
    draws = []
    if ndraw and len(post):
        idx = rng.choice(len(post), size=ndraw, p=post["weight"].to_numpy() / post["weight"].sum())
        jobs = [({p.name: float(post.iloc[i][p.name]) for p in spec.parameters}, levels, 2000 + j, pscale, ())
                for j, i in enumerate(idx)]
        draws = [model.targets.apply_levels(r, model.targets.solve_levels(r, levels.trends))
                 for r in simulate_many(str(spec_path), jobs, procs)]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"# Estimate (posterior median, levels refined at it) written by\n"
              f"# `migsim calibrate {spec_path.name}{' --quick' if quick else ''}` on {stamp}.\n"
              f"# A scenario fragment: {spec.scenario} extends it. Report: {spec.outputs.report}.\n")
    params_path = dest / spec.outputs.params
    write_params(spec, params, levels.levels, model.citizenships(), params_path, header, levels.attractiveness,
                 levels.trends)
    draws_path = dest / spec.outputs.posterior  # what --posterior-draws samples
    draws_table(spec, post, levels.levels, model.citizenships(), levels.trends).to_parquet(draws_path, index=False)
    report_path = dest / spec.outputs.report
    write_report(spec=spec, spec_path=spec_path, model=model, history=history, post=post, params=params,
                 levels=levels.levels, trends=levels.trends, attractiveness=levels.attractiveness, runs=runs, mean=mean, events=events, crit=crit, widths=w, mask=mask, draws=draws,
                 report_path=report_path, plots_dir=dest / spec.outputs.plots, quick=quick, abc_secs=abc_secs,
                 total_secs=time.perf_counter() - t_all, out=out, vseeds=vseeds, vscale=vscale, cf_scale=cf_scale,
                 scheduler=scheduler, code=code, not_fitted=not_fitted)
    summary = {"params": str(params_path), "report": str(report_path), "posterior": str(out / "posterior.parquet"),
               "draws": str(draws_path),
               "criteria": crit, "abc_seconds": round(abc_secs, 1), "simulations": int(history.total_nr_simulations),
               "total_seconds": round(time.perf_counter() - t_all, 1),
               "masked": None if mask is None else {k: v for k, v in mask.items() if k in ("event", "observed", "median", "lo", "hi")}}
    (out / "calibration_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _progress(message: str) -> None:
    """A progress line, flushed: an estimation runs for an hour or more, usually with its
    output sent to a file (``nohup ... > log``), where unflushed lines appear only at the end."""
    print(message, flush=True)


def handler(args) -> int:
    s = calibrate(args.spec, out=args.out, scheduler=args.scheduler, quick=args.quick,
                  report_only=args.report_only, max_minutes=args.max_minutes, masked=not args.no_mask,
                  resume=args.resume, log=_progress)
    ok = sum(c["ok"] for c in s["criteria"])
    print(f"wrote {s['params']}, {s['report']}, {s['posterior']}")
    print(f"estimate: {ok}/{len(s['criteria'])} criteria met; {s['simulations']} simulations, {s['total_seconds']:.0f} s")
    for c in s["criteria"]:
        print(f"  [{'ok' if c['ok'] else 'MISS'}] {c['criterion']}: {c['value']} (target {c['target']})")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``migsim calibrate`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "calibrate", help="estimate scenario parameters on observed figures (ABC-SMC with pyabc)",
        description=("Estimate the shared parameters named in a calibration file by ABC-SMC (pyabc) with each "
                     "citizenship's level solved from its totals; verify the estimate with several seeds, "
                     "check each natural experiment with and without its levers and the masked estimate's "
                     "prediction; write the estimate as a scenario fragment, the posterior (Parquet) and a "
                     "report (Markdown and plots) next to the calibration file (into --out with --quick)."))
    p.add_argument("spec", help="calibration file, e.g. calibration/fy2022_fy2023.yaml")
    p.add_argument("--out", help="folder for the pyabc databases and posteriors (default results/calibrate_<name>)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786): evaluate particles on that cluster")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny population, two generations, small scale; writes into --out only")
    p.add_argument("--max-minutes", type=float, metavar="M",
                   help="cap on each ABC-SMC's wall time in minutes (the generation under way finishes first)")
    stored = p.add_mutually_exclusive_group()
    stored.add_argument("--report-only", action="store_true",
                        help="skip the ABC runs: redo levels, checks and report from the databases in --out")
    stored.add_argument("--resume", action="store_true",
                        help=("go on with the ABC runs stored in --out (abc.method mcmc) for --max-minutes more, "
                              "up to max_generations in all, then check and report; starts a run where none is stored"))
    p.add_argument("--no-mask", action="store_true", help="skip the masked estimate")
    p.set_defaults(func=handler)
    return p
