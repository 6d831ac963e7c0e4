"""The calibration report: fit criteria, distances, a held-out check, the posterior, plots."""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from sim.studies.calibration.abc import weighted_quantile
from sim.studies.calibration.spec import FAMILIES
from sim.studies.calibration.targets import FitDistance, Targets, rel_l1, spearman


def _fig(w=8, h=4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110)


def _band(ax, x, draws, color="tab:blue", label="posterior predictive 5-95%"):
    if len(draws) >= 2:
        a = np.asarray(draws)
        ax.fill_between(x, np.percentile(a, 5, axis=0), np.percentile(a, 95, axis=0), color=color, alpha=0.25,
                        label=label, step=None)


def make_plots(spec, obs: Targets, mean: dict, runs: list[dict], draws: list[dict], post: pd.DataFrame,
               history, plots_dir: Path, holdout: dict | None) -> list[str]:
    plots_dir.mkdir(parents=True, exist_ok=True)
    o = obs.stats
    files = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(plots_dir / name)
        files.append(name)

    def series(key, labels, title, fname, ylabel, rotate=False, log=False):
        fig = _fig()
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        _band(ax, x, [d[key] for d in draws])
        seeds = np.asarray([r[key] for r in runs])
        ax.plot(x, o[key], "ko-", label="observed", lw=1.5, ms=4)
        ax.plot(x, mean[key], "s-", color="tab:red", label=f"point estimate, mean of {len(runs)} seeds", lw=1.2, ms=3)
        if len(runs) > 1:
            ax.vlines(x, seeds.min(axis=0), seeds.max(axis=0), color="tab:red", lw=3, alpha=0.4)
        ax.set_xticks(x, labels, rotation=60 if rotate else 0, ha="right" if rotate else "center", fontsize=7)
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        save(fig, fname)

    short = [m[2:] if m.startswith("20") else m for m in obs.months]
    series("enc_month", short, "SW border encounters by month, FY2023", "encounters_by_month.png", "encounters")
    series("enc_citizenship", obs.citizenships, "SW border encounters by citizenship, FY2023 (log scale)",
           "encounters_by_citizenship.png", "encounters", rotate=True, log=True)
    series("enc_area", obs.areas, "SW border encounters by area, FY2023", "encounters_by_area.png",
           "encounters", rotate=True)
    series("darien_month", [m[2:] for m in obs.darien_months], "Darién crossings by month, 2023",
           "darien_by_month.png", "crossings")
    if len(o["darien_part"]):
        series("darien_part", obs.dar_part_labels, f"Darién crossings by nationality, {obs.part_period}",
               "darien_by_nationality.png", "crossings", rotate=True, log=True)
    # posterior marginals against the prior range
    params = spec.parameters
    n = len(params)
    cols = 6
    rows = math.ceil(n / cols)
    fig = _fig(14, 1.9 * rows)
    w = post["weight"].to_numpy()
    for i, p in enumerate(params):
        ax = fig.add_subplot(rows, cols, i + 1)
        bins = np.linspace(p.prior.low, p.prior.high, 21)
        ax.hist(post[p.name], bins=bins, weights=w, color="tab:blue", alpha=0.7)
        ax.set_xlim(p.prior.low, p.prior.high)
        ax.set_title(p.name, fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    fig.suptitle("Posterior marginals (final generation, weighted); x axis = prior range", fontsize=9)
    save(fig, "posterior_marginals.png")
    # epsilon by generation
    try:
        pops = history.get_all_populations()
        pops = pops[pops["t"] >= 0]
        fig = _fig(6, 3.5)
        ax = fig.add_subplot()
        ax.plot(pops["t"], pops["epsilon"], "o-")
        ax.set_xlabel("generation")
        ax.set_ylabel("epsilon (distance threshold)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        save(fig, "epsilon.png")
    except Exception:
        pass
    if holdout is not None:
        fig = _fig(5.5, 5)
        ax = fig.add_subplot()
        ob, sm = holdout["obs"], holdout["sim"]
        lim = max(ob.max(), sm.max()) * 1.5
        ax.loglog(np.maximum(ob, 1), np.maximum(sm, 1), ".", alpha=0.6)
        ax.plot([1, lim], [1, lim], "k--", lw=0.8)
        ax.set_xlabel("observed encounters (citizenship x area)")
        ax.set_ylabel("simulated (point estimate)")
        ax.set_title("Held out: encounters by citizenship and area", fontsize=9)
        ax.grid(alpha=0.3)
        save(fig, "holdout_citizenship_area.png")
    return files


def holdout_check(obs: Targets, mean: dict) -> dict | None:
    """Citizenship x area: not in the fit (only its margins are); compare with independence."""
    if obs.holdout is None or "holdout_cit_area" not in mean:
        return None
    h = obs.holdout
    ob = h["encounters"].to_numpy(float)
    sim = mean["holdout_cit_area"]
    # naive prediction from the two fitted margins (each citizenship spread like all encounters)
    cit_tot = h.groupby("citizenship")["encounters"].sum()
    area_share = h.groupby("area")["encounters"].sum() / ob.sum()
    naive = cit_tot.reindex(h["citizenship"]).to_numpy() * area_share.reindex(h["area"]).to_numpy()
    # the model's own margins put through independence (separates routing skill from margins)
    return {"obs": ob, "sim": sim, "l1": rel_l1(sim, ob), "naive_l1": rel_l1(naive, ob),
            "cells": len(ob), "spearman": spearman(sim, ob)}


def _fmt(v: float) -> str:
    a = abs(v)
    return f"{v:,.0f}" if a >= 100 else (f"{v:.3g}" if a >= 0.01 else f"{v:.2e}")


def write_report(*, spec, spec_path, model, history, post, results, chosen, draws, report_path, plots_dir,
                 quick, abc_secs, total_secs, n_sims, seeds, vscale, params_path, artefact_gap, out, scheduler,
                 max_minutes=None):
    obs = model.observed
    best = results[chosen]
    hold = holdout_check(obs, best["mean"])
    files = make_plots(spec, obs, best["mean"], best["runs"], draws, post, history, plots_dir, hold)
    rel = os.path.relpath(plots_dir, report_path.parent)
    try:
        import subprocess

        pkg = Path(__file__).resolve().parent  # the sim/ package that ran, wherever it is called from
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=pkg,
                                capture_output=True, text=True).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=pkg,
                               capture_output=True, text=True).stdout.strip()
    except Exception:
        commit, dirty = "unknown", ""
    L = []
    add = L.append
    cmd = f"migsim calibrate {os.path.relpath(spec_path)}{' --quick' if quick else ''} --out {out}" + (
        f" --max-minutes {max_minutes:g}" if max_minutes else "")
    add(f"# Calibration report: {spec.name}{' (QUICK SMOKE RUN: not a calibration)' if quick else ''}\n")
    add(f"{spec.description.strip()}\n")
    add(f"- Command: `{cmd}`" + (f" (Dask scheduler {scheduler})" if scheduler else ""))
    add(f"- Written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; code at git {commit}"
        f"{' with uncommitted changes in sim/' if dirty else ''}.")
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    add(f"- ABC-SMC (pyabc): {len(spec.parameters)} free parameters, population "
        f"{int(pops['particles'].iloc[-1]) if len(pops) else '?'}, {history.max_t + 1} generations, "
        f"{n_sims:,} simulations at departures.scale {model.scale} (seeds {model.seeds}, common random numbers), "
        f"{abc_secs / 60:.1f} min; whole command {total_secs / 60:.1f} min.")
    add(f"- Final threshold epsilon {pops['epsilon'].iloc[-1]:.3f} (generation thresholds: "
        + ", ".join(f"{e:.3f}" for e in pops["epsilon"]) + ").")
    add(f"- Point estimate: posterior **{chosen}** (candidates tried: "
        + ", ".join(f"{k}: {sum(c['ok'] for c in r['criteria'])}/{len(r['criteria'])} criteria, distance {r['distance']:.3f}"
                    for k, r in results.items()) + f"), written to `{os.path.relpath(params_path, report_path.parent)}`.")
    add(f"- Posterior (final generation, weighted): `{out}/posterior.parquet`; pyabc database `{out}/abc.db`.\n")
    add(f"## Acceptance criteria (point estimate, mean of {len(seeds)} seeds {list(seeds)} at scale {vscale})\n")
    add("| criterion | simulated | target | met |\n|---|---|---|---|")
    for c in best["criteria"]:
        add(f"| {c['criterion']} | {c['value']} | {c['target']} | {'yes' if c['ok'] else '**no**'} |")
    tots = [r["enc_citizenship"].sum() for r in best["runs"]]
    dts = [r["darien_total"][0] for r in best["runs"]]
    add(f"\nSpread over seeds: encounters {min(tots):,.0f} to {max(tots):,.0f}; Darién 2023 "
        f"{min(dts):,.0f} to {max(dts):,.0f}. The written parameter file, re-read and run for seed {seeds[0]}, "
        f"gives total encounters within {artefact_gap:.2%} of the in-memory run (rounding of the CSV).")
    named = sorted(best["mean"]["darien_named"].items(), key=lambda kv: -kv[1])[:6]
    add("Darién 2023 by nationality (simulated, labels as Panama counts them"
        + (f"; {', '.join(f'{k} counted as {v}' for k, v in spec.darien_nationality_map.items())}" if spec.darien_nationality_map else "")
        + "): " + ", ".join(f"{k} {v:,.0f}" for k, v in named) + "; observed: "
        + ", ".join(f"{l} {v:,.0f}" for l, v in zip(obs.dar_full_labels, obs.stats["darien_full"])) + ".\n")
    add("## Distance by target family (point estimate, mean of seeds)\n")
    fam = FitDistance(spec.weights).families(best["mean"], obs.stats)
    add("| family | weight | distance |\n|---|---|---|")
    for k in FAMILIES:
        add(f"| {k} | {spec.weights.get(k, 0)} | {fam[k]:.3f} |")
    add("\nFamilies are sum |sim - obs| / sum obs (Flee's convention) except `enc_total`/`darien_total` "
        "(|sim - obs| / obs), `enc_citizenship_relative` (mean relative error of citizenships with at least "
        "10,000 encounters) and the rank terms (1 - Spearman).\n")
    add("## Held-out check\n")
    if hold is not None:
        add(f"Encounters by citizenship **and** area ({hold['cells']} cells of "
            f"`{spec.target_files.holdout_citizenship_area}`) were not used in the fit (only the two margins were). "
            f"Point estimate: sum |sim - obs| / sum obs = **{hold['l1']:.3f}** (Spearman {hold['spearman']:.3f}); "
            f"a naive prediction from the observed margins alone (every citizenship spread over areas like all "
            f"encounters) scores {hold['naive_l1']:.3f}. "
            + ("The model's routing beats the margins-only prediction." if hold["l1"] < hold["naive_l1"]
               else "The model's routing does **not** beat the margins-only prediction: where citizenships "
                    "cross is a weak point of the network and route choice."))
        add(f"\n![held out]({rel}/holdout_citizenship_area.png)\n")
    else:
        add("No held-out table configured.\n")
    add("## Posterior\n")
    wn = post["weight"].to_numpy() / post["weight"].sum()
    ess = 1.0 / float((wn ** 2).sum())
    add("Width = 90% credible interval / prior range; parameters the targets do not pin down keep wide "
        f"posteriors (width near 0.9 = prior). Effective sample size of the final population: {ess:.0f} of "
        f"{len(post)}" + (" -- too few for the widths to mean much." if ess < 50 else ".") + "\n")
    add("| parameter | prior | posterior median | 90% interval | width | point estimate |\n|---|---|---|---|---|---|")
    w = post["weight"].to_numpy()
    for p in spec.parameters:
        x = post[p.name].to_numpy()
        lo, me, hi = (weighted_quantile(x, w, q) for q in (0.05, 0.5, 0.95))
        if p.prior.dist == "loguniform":  # widths in the prior's own (log) units
            width = math.log(hi / lo) / math.log(p.prior.high / p.prior.low)
        else:
            width = (hi - lo) / (p.prior.high - p.prior.low)
        flag = " (not pinned down)" if width > 0.6 else ""
        add(f"| {p.name} | {p.prior.dist} [{_fmt(p.prior.low)}, {_fmt(p.prior.high)}] | {_fmt(me)} | "
            f"[{_fmt(lo)}, {_fmt(hi)}] | {width:.2f}{flag} | {_fmt(best['params'][p.name])} |")
    add("\n## Plots\n")
    add("Targets (black), point estimate (red: mean of seeds, bars = seed range), posterior predictive "
        f"5-95% band (blue: {len(draws)} draws from the final population, one seed each at scale "
        f"{spec.quick.scale if quick else spec.verify.predictive_scale}).\n")
    for f in files:
        if f != "holdout_citizenship_area.png":
            add(f"![{f}]({rel}/{f})")
    if spec.notes:
        add("\n## Known weaknesses\n")
        for n in spec.notes:
            add(f"- {n.strip()}")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("\n".join(L) + "\n", encoding="utf-8")


