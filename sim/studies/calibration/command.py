"""``migsim calibrate``: run the whole calibration and write its report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

import numpy as np

from sim.studies.calibration.abc import (
    load_history,
    point_estimates,
    posterior_frame,
    run_abc,
)
from sim.studies.calibration.outputs import load_params_fragment, write_params
from sim.studies.calibration.report import write_report
from sim.studies.calibration.simulate import (
    CalibrationModel,
    check_spec_against_scenario,
    simulate_many,
)
from sim.studies.calibration.spec import load_spec
from sim.studies.calibration.targets import FitDistance, criteria, mean_stats


def calibrate(spec_path: str | Path, out: str | Path | None = None, scheduler: str | None = None,
              quick: bool = False, log=print, report_only: bool = False,
              max_minutes: float | None = None) -> dict:
    """Run the whole calibration; returns a dict of what was written and measured."""
    spec_path = Path(spec_path).resolve()
    spec, base = load_spec(spec_path)
    out = Path(out) if out else Path("results") / ("calibrate_" + spec_path.stem + ("_quick" if quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    q = spec.quick
    scale = q.scale if quick else spec.simulation.scale
    model = CalibrationModel(spec_path, scale=scale)
    check_spec_against_scenario(model)
    dest = out if quick else base  # a quick run never overwrites the committed calibration
    params_path = dest / spec.outputs.params
    dep_path = dest / spec.outputs.departures
    report_path = dest / spec.outputs.report
    plots_dir = dest / spec.outputs.plots
    t_all = time.perf_counter()
    log(f"calibrate: {spec.name}: {len(spec.parameters)} parameters, scale {scale}, seeds {model.seeds}, "
        f"{'quick' if quick else 'full'} run, out {out}")
    if report_only:
        history, abc_secs = load_history(out / "abc.db")
    else:
        history, abc_secs = run_abc(model, out, scheduler, quick, log, max_minutes)
    post = posterior_frame(history, spec)
    post.to_parquet(out / "posterior.parquet", index=False)
    pops = history.get_all_populations()
    pops.to_csv(out / "populations.csv", index=False)
    n_sims = int(history.total_nr_simulations)
    log(f"ABC-SMC: {history.max_t + 1} generations, {n_sims} simulations, {abc_secs:.0f} s")
    # candidates for the point estimate, each checked with the verify seeds at full scale
    seeds = q.verify_seeds if quick else spec.verify.seeds
    vscale = q.verify_scale if quick else spec.verify.scale
    procs = spec.abc.processes or os.cpu_count() or 1
    cands = point_estimates(spec, post)
    results = {}
    for name in spec.verify.candidates:
        if name not in cands:
            continue
        runs = simulate_many(str(spec_path), [(cands[name], s, vscale) for s in seeds], procs)
        m = mean_stats(runs)
        crit = criteria(spec, model.observed, m)
        dist = FitDistance(spec.weights)(m, model.observed.stats)
        results[name] = {"params": cands[name], "runs": runs, "mean": m, "criteria": crit, "distance": dist}
        log(f"candidate {name}: {sum(c['ok'] for c in crit)}/{len(crit)} criteria met, distance {dist:.3f}")
    chosen = max(results, key=lambda k: (sum(c["ok"] for c in results[k]["criteria"]), -results[k]["distance"]))
    best = results[chosen]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"# Point estimate ({chosen}) of the ABC-SMC posterior, written by\n"
              f"# `migsim calibrate {spec_path.name}{' --quick' if quick else ''}` on {stamp}.\n"
              f"# A scenario fragment: merge it over the hand-set scenario {spec.scenario}.\n"
              f"# departures.file is the prior schedule times the fitted multipliers (same folder).\n")
    write_params(model, best["params"], params_path, dep_path, header)
    # verify the written artefact itself (not just the in-memory parameters)
    sc = load_params_fragment(base / spec.scenario, params_path, vscale)
    from sim.studies.runner import simulate
    from sim.scenario.inputs import Inputs

    inp = Inputs.load(params_path, scenario=sc)
    ts = simulate(inp, seeds[0]).timeseries
    art = model.observed.summarize(ts, vscale)
    art_gap = abs(art["enc_citizenship"].sum() / best["runs"][0]["enc_citizenship"].sum() - 1)
    # posterior predictive bands
    ndraw = q.predictive_draws if quick else spec.verify.predictive_draws
    pscale = q.scale if quick else spec.verify.predictive_scale
    rng = np.random.default_rng(12345)
    draws = []
    if ndraw and len(post):
        idx = rng.choice(len(post), size=ndraw, p=post["weight"].to_numpy() / post["weight"].sum())
        names = [p.name for p in spec.parameters]
        jobs = [({n: float(post.iloc[i][n]) for n in names}, 2000 + j, pscale) for j, i in enumerate(idx)]
        draws = simulate_many(str(spec_path), jobs, procs)
    total_secs = time.perf_counter() - t_all + (abc_secs if report_only else 0.0)
    write_report(spec=spec, spec_path=spec_path, model=model, history=history, post=post, results=results,
                 chosen=chosen, draws=draws, report_path=report_path, plots_dir=plots_dir, quick=quick,
                 abc_secs=abc_secs, total_secs=total_secs, n_sims=n_sims, seeds=seeds, vscale=vscale,
                 params_path=params_path, artefact_gap=art_gap, out=out, scheduler=scheduler,
                 max_minutes=max_minutes)
    summary = {"params": str(params_path), "departures": str(dep_path), "report": str(report_path),
               "posterior": str(out / "posterior.parquet"), "database": str(out / "abc.db"),
               "chosen": chosen, "criteria": best["criteria"], "abc_seconds": round(abc_secs, 1),
               "total_seconds": round(time.perf_counter() - t_all, 1), "simulations": n_sims}
    (out / "calibration_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def handler(args) -> int:
    s = calibrate(args.spec, out=args.out, scheduler=args.scheduler, quick=args.quick,
                  report_only=args.report_only, max_minutes=args.max_minutes)
    ok = sum(c["ok"] for c in s["criteria"])
    print(f"wrote {s['params']}, {s['report']}, {s['posterior']}")
    print(f"point estimate ({s['chosen']}): {ok}/{len(s['criteria'])} acceptance criteria met; "
          f"{s['simulations']} simulations, {s['total_seconds']:.0f} s")
    for c in s["criteria"]:
        print(f"  [{'ok' if c['ok'] else 'MISS'}] {c['criterion']}: {c['value']} (target {c['target']})")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``migsim calibrate`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "calibrate", help="fit scenario parameters to observed figures (ABC-SMC with pyabc)",
        description=("Fit the free parameters named in a calibration file by ABC-SMC (pyabc): writes the "
                     "pyabc database and the posterior (Parquet) into --out, the point estimate as a "
                     "scenario fragment and a fit report (Markdown and plots) next to the calibration file "
                     "(into --out with --quick)."))
    p.add_argument("spec", help="calibration file, e.g. calibration/fy2023.yaml")
    p.add_argument("--out", help="folder for the pyabc database and posterior (default results/calibrate_<name>)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786): evaluate particles on that cluster "
                        "instead of this machine's cores")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny population, two generations, small scale; writes its report "
                        "and point estimate into --out only")
    p.add_argument("--max-minutes", type=float, metavar="M",
                   help="cap on the ABC-SMC wall time in minutes (overrides abc.max_walltime_minutes; "
                        "the generation under way finishes first)")
    p.add_argument("--report-only", action="store_true",
                   help="skip the ABC run: redo the point estimate, verification and report from the "
                        "pyabc database already in --out")
    p.set_defaults(func=handler)
    return p


