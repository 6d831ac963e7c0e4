"""The estimation report: criteria, natural experiments, fit, posterior, masked check, plots.

Why these sections: a referee asks, in this order, whether the model meets what was
promised, whether each policy's effect comes from its lever (with and without it),
how the fit looks where it is worst, whether the data pin the parameters down, and
whether an event left out of the estimate is predicted by the others.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.citizenship import CITIZENSHIPS, CODE, REGIONS
from sim.studies.calibration.abc import effective_sample_size
from sim.studies.calibration.checks import by_citizenship
from sim.studies.calibration.not_fitted import from_statistics, report_lines
from sim.studies.calibration.spec import FAMILIES
from sim.studies.storage import atomic_text


def _fig(w=8.0, h=4.2) -> Figure:
    return Figure(figsize=(w, h), dpi=110)


def _save(fig: Figure, folder: Path, name: str, files: list[str]) -> None:
    fig.tight_layout()
    fig.savefig(folder / name)
    files.append(name)


def _fmt(v: float) -> str:
    a = abs(v)
    return f"{v:,.0f}" if a >= 100 else (f"{v:.3g}" if a >= 0.01 else f"{v:.2e}")


def _months_x(months: list[str]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Period(m, freq="M").start_time + pd.Timedelta(days=14) for m in months])


def make_plots(spec, t, mean, runs, draws, events, post, mask, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    x = _months_x(t.months)
    # monthly totals
    fig = _fig(9, 4.2)
    ax = fig.add_subplot()
    if len(draws) >= 2:
        a = np.array([d["cells"].sum(axis=1) for d in draws])
        ax.fill_between(x, np.percentile(a, 5, axis=0), np.percentile(a, 95, axis=0), color="tab:blue", alpha=0.2,
                        label=f"posterior predictive 5-95% ({len(draws)} draws)")
    seeds = np.array([r["cells"].sum(axis=1) for r in runs])
    ax.plot(x, t.cells.sum(axis=1), "ko-", ms=4, lw=1.4, label="observed (CBP)")
    ax.plot(x, mean["cells"].sum(axis=1), "s-", color="tab:red", ms=3, label=f"estimate, mean of {len(runs)} seeds")
    ax.vlines(x, seeds.min(axis=0), seeds.max(axis=0), color="tab:red", alpha=0.4, lw=3)
    ax.set_ylabel("SW border encounters a month")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title("Encounters by month, FY2022-FY2023", fontsize=10)
    _save(fig, folder, "encounters_by_month.png", files)
    # the largest citizenships month by month
    order = np.argsort(-t.cells.sum(axis=0))[:12]
    fig = _fig(13, 8)
    for k, c in enumerate(order):
        ax = fig.add_subplot(3, 4, k + 1)
        ax.plot(x, t.cells[:, c], "k.-", lw=1, ms=3, label="observed")
        ax.plot(x, mean["cells"][:, c], "-", color="tab:red", lw=1.2, label="estimate")
        ax.set_title(CITIZENSHIPS[c], fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_ylim(bottom=0)
        if k == 0:
            ax.legend(fontsize=6)
    fig.suptitle("Encounters by month, the twelve largest citizenships", fontsize=10)
    _save(fig, folder, "encounters_by_citizenship_month.png", files)
    # the natural experiments
    fig = _fig(13, 3.2 * math.ceil(len(events) / 3))
    for k, e in enumerate(spec.events):
        ev = events.get(e.name)
        if ev is None:
            continue
        cols = list(range(len(CITIZENSHIPS))) if e.citizenships == ["ALL"] else [CODE[c] for c in e.citizenships]
        i0 = max(t.months.index(e.before) - 3, 0)
        i1 = min(t.months.index(e.after) + 4, len(t.months))
        xs = x[i0:i1]
        ax = fig.add_subplot(math.ceil(len(events) / 3), 3, k + 1)
        ax.plot(xs, t.cells[i0:i1, cols].sum(axis=1), "ko-", ms=3, lw=1.2, label="observed")
        ax.plot(xs, mean["cells"][i0:i1, cols].sum(axis=1), "s-", color="tab:red", ms=3, label="simulated")
        ax.plot(xs, ev["cells_without"][i0:i1, cols].sum(axis=1), "^--", color="tab:gray", ms=3,
                label="simulated without its levers")
        for m in (e.before, e.after):
            ax.axvline(_months_x([m])[0], color="tab:blue", lw=0.6, ls=":")
        ax.set_title(f"{e.name}\nratio obs {ev['obs']:.2f}, sim {ev['sim']:.2f}, without {ev['without']:.2f}", fontsize=8)
        ax.tick_params(labelsize=6, axis="both")
        ax.set_ylim(bottom=0)
        if k == 0:
            ax.legend(fontsize=6)
    _save(fig, folder, "natural_experiments.png", files)
    # Darién by nationality
    if t.darien:
        fig = _fig(5.5 * len(t.darien), 4)
        for i, p in enumerate(t.darien):
            ax = fig.add_subplot(1, len(t.darien), i + 1)
            by = t.darien_by_label(mean, i)
            xi = np.arange(len(p.labels))
            ax.bar(xi - 0.2, p.counts if len(p.labels) > 1 else [p.total], 0.4, color="0.3", label="observed")
            ax.bar(xi + 0.2, by if len(p.labels) > 1 else [by.sum()], 0.4, color="tab:red", label="estimate")
            ax.set_xticks(xi, p.labels if len(p.labels) > 1 else ["TOTAL"], rotation=60, fontsize=7, ha="right")
            ax.set_title(f"Darién, {p.name} (total obs {p.total:,.0f}, sim {by.sum():,.0f})", fontsize=9)
            ax.legend(fontsize=7)
        _save(fig, folder, "darien_by_nationality.png", files)
    # border areas: citizenship x area, and the change of each area's share
    if t.area_cells:
        years = sorted(t.area_cells)
        fig = _fig(12, 4.4)
        for k, y in enumerate(years):
            ax = fig.add_subplot(1, len(years) + 1, k + 1)
            o, sm = t.area_cells[y].ravel(), mean.get(f"areas_{y}", np.zeros_like(t.area_cells[y])).ravel()
            nv = t.margins_only(y).ravel()
            lim = max(o.max(), sm.max()) * 1.5
            ax.loglog(np.maximum(o, 1), np.maximum(nv, 1), ".", color="0.7", ms=3, label="margins only")
            ax.loglog(np.maximum(o, 1), np.maximum(sm, 1), ".", color="tab:red", ms=4, label="estimate")
            ax.plot([1, lim], [1, lim], "k--", lw=0.8)
            ax.set_title(f"FY{y}: citizenship x area", fontsize=9)
            ax.set_xlabel("observed", fontsize=8)
            ax.legend(fontsize=6)
        ax = fig.add_subplot(1, len(years) + 1, len(years) + 1)
        if len(years) >= 2:
            a, b = years[0], years[-1]
            obs_share = [t.area_cells[y].sum(axis=0) / t.area_cells[y].sum() for y in (a, b)]
            sim_share = [mean[f"areas_{y}"].sum(axis=0) / max(mean[f"areas_{y}"].sum(), 1) for y in (a, b)]
            d_obs, d_sim = 100 * (obs_share[1] - obs_share[0]), 100 * (sim_share[1] - sim_share[0])
            yi = np.arange(len(t.areas))
            ax.barh(yi - 0.2, d_obs, 0.4, color="0.3", label="observed")
            ax.barh(yi + 0.2, d_sim, 0.4, color="tab:red", label="estimate")
            ax.set_yticks(yi, [x.replace(" Sector", "").replace(" Field Office", " FO") for x in t.areas], fontsize=6)
            ax.axvline(0, color="k", lw=0.6)
            ax.set_title(f"change of each area's share, FY{a} to FY{b} (points)", fontsize=8)
            ax.legend(fontsize=6)
        _save(fig, folder, "border_areas.png", files)
    # posterior marginals
    n = len(spec.parameters)
    cols = 4
    rows = math.ceil(n / cols)
    fig = _fig(12, 2.2 * rows)
    wts = post["weight"].to_numpy()
    for i, p in enumerate(spec.parameters):
        ax = fig.add_subplot(rows, cols, i + 1)
        if p.prior.dist == "loguniform":
            bins = np.geomspace(p.prior.low, p.prior.high, 21)
            ax.set_xscale("log")
        else:
            bins = np.linspace(p.prior.low, p.prior.high, 21)
        ax.hist(post[p.name], bins=bins, weights=wts, color="tab:red" if p.response else "tab:blue", alpha=0.7)
        ax.set_xlim(p.prior.low, p.prior.high)
        ax.set_title(p.name + (" (response)" if p.response else ""), fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    fig.suptitle("Posterior marginals (last generation, weighted); x axis = prior range", fontsize=9)
    _save(fig, folder, "posterior_marginals.png", files)
    return files


def git_state() -> tuple[str, bool]:
    """The commit and whether sim/ has uncommitted changes. ``migsim calibrate`` reads it
    when it starts: a commit made during a 90-minute run is not the code that ran."""
    pkg = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=pkg, capture_output=True,
                                text=True).stdout.strip() or "unknown"
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=pkg, capture_output=True,
                                    text=True).stdout.strip())
    except Exception:
        return "unknown", False
    return commit, dirty


BACKCAST_HEADING = "## Backcast ("


def backcast_sections(report_path: Path) -> list[str]:
    """The out-of-sample sections of the backcast reports next to this one (BACKCAST_*.md,
    written by their own calibration files), so the main report shows them too. A report
    never quotes itself (a backcast rewritten would otherwise carry its previous run)."""
    out = []
    for other in sorted(report_path.parent.glob("BACKCAST_*.md")):
        if other.resolve() == Path(report_path).resolve():
            continue
        text = other.read_text(encoding="utf-8")
        if "## Out of sample" not in text:
            continue
        part = text.split("## Out of sample", 1)[1].split("\n## ", 1)[0].split("\nDistance by family", 1)[0]
        written = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("- Written ")), "")
        out += [f"{BACKCAST_HEADING}{other.name}): the months before its fit, predicted\n",
                part.split("\n", 1)[1].strip() + "\n",
                f"The backcast's estimate and its criteria: [{other.name}]({other.name}) ({written.rstrip('.')}).\n"]
    return out


def refresh_backcast_sections(folder: Path, written: Path) -> list[Path]:
    """After a backcast report is written, the reports beside it that show backcast
    sections show the new ones (their other sections stay as they were). Returns the
    reports changed."""
    changed = []
    for report in sorted(folder.glob("*.md")):
        if report == written or report.name.startswith("BACKCAST_"):
            continue
        text = report.read_text(encoding="utf-8")
        if BACKCAST_HEADING not in text:
            continue
        head, rest = text.split(BACKCAST_HEADING, 1)
        tail = rest[rest.index("\nDistance by family"):] if "\nDistance by family" in rest else ""
        atomic_text(report, head + "\n".join(backcast_sections(report)) + tail)
        changed.append(report)
    return changed


def _threshold(eps: float) -> str:
    """A generation's threshold; the first generation's prior draws have none (pyabc
    stores a placeholder of 1e12 or infinity for it)."""
    return "none (prior draws)" if not np.isfinite(eps) or eps >= 1e11 else f"{eps:.3f}"


def write_report(*, spec, spec_path, model, history, post, params, levels, trends=None, runs, mean, events, crit, widths, mask,
                 draws, attractiveness=None, report_path: Path, plots_dir: Path, quick, abc_secs, total_secs, out, vseeds, vscale,
                 cf_scale, scheduler, code: tuple[str, bool] | None = None, not_fitted=None):
    t = model.targets
    files = make_plots(spec, t, mean, runs, draws, events, post, mask, plots_dir)
    if (plots_dir / "flow_map.png").is_file():
        files.append("flow_map.png")
    rel = os.path.relpath(plots_dir, report_path.parent)
    commit, dirty = code if code is not None else git_state()
    L: list[str] = []
    add = L.append
    cmd = f"migsim calibrate {os.path.relpath(spec_path)}{' --quick' if quick else ''} --out {out}"
    add(f"# Estimation report: {spec.name}{' (QUICK SMOKE RUN: not an estimate)' if quick else ''}\n")
    add(f"{spec.description.strip()}\n")
    add(f"- Command: `{cmd}`" + (f" (Dask scheduler {scheduler})" if scheduler else ""))
    add(f"- Written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; code at git {commit}"
        f"{' with uncommitted changes in sim/' if dirty else ''} when the command started; whole command {total_secs / 60:.1f} min.")
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    a = spec.abc
    method = (f"ABC-SMC with MCMC moves (Drovandi & Pettitt 2011: each generation keeps {a.keep_fraction:.0%} "
              f"of the particles, copies them into the dropped places and moves each {a.mcmc_steps} times by "
              f"Metropolis-Hastings; equal weights"
              + (f"; up to {a.final_moves} finishing sweeps that move copies at the last threshold"
                 if a.final_moves else "")
              + f"; sim/studies/calibration/smc.py; seed {a.seed})"
              if a.method == "mcmc" else "ABC-SMC with importance weights (pyabc)")
    add(f"- {method}: {len(spec.parameters)} parameters, population "
        f"{int(pops['particles'].iloc[-1]) if len(pops) else '?'}, {history.max_t + 1} generations, "
        f"{int(history.total_nr_simulations):,} simulations of the whole history at departures.scale "
        f"{model.scale} (seeds {model.seeds}, common random numbers), {abc_secs / 60:.1f} min; thresholds "
        + ", ".join(_threshold(e) for e in pops["epsilon"]) + ".")
    ess = effective_sample_size(post)
    add(f"- Effective sample size of the last generation (copies of a particle counted once): {ess:.0f} of "
        f"{len(post)}"
        + ("." if ess >= spec.acceptance.min_ess else
           f": too few for its intervals to say what the data identify (widths count only from "
           f"{spec.acceptance.min_ess:.0f}; a few particles, or copies of a few, carry the weight)."))
    add(f"- Levels (each citizenship's potential departures{' and trends' if spec.fit.solve_trends else ''}) "
        f"solved for every particle from its totals, then "
        f"refined at the posterior median ({spec.verify.level_iterations} rounds); verification: seeds "
        f"{vseeds[0]}..{vseeds[-1]} at scale {vscale}; runs without an event's levers at scale {cf_scale}.\n")
    add("## Parameters: how many, and what the data say of them\n")
    n_shared = len(spec.parameters)
    region_trends = [p for p in spec.parameters if p.path.startswith("departures.trend.")]
    own_cits = [c for c, f in _citizenship_fields(spec.parameters).items() if "trend" in f]
    season = [p for p in spec.parameters if p.path.startswith("departures.seasonality.")]
    n_season = _season_per_citizenship(season)
    regional = n_season != len(season)  # some region's own replace shared ones
    season_text = "seasonality, shared or its region's" if regional else "shared seasonality"
    at_most = "at most " if regional else ""
    cash = [p for p in spec.parameters if p.path.startswith("departures.money_scale")]
    shared_cash = any(p.path == "departures.money_scale" for p in cash)
    cash_parts = (["one factor on every citizenship's median (money_scale)"] if shared_cash else []) + [
        f"{p.path.split('.')[2]}'s own in its place" for p in cash if p.path != "departures.money_scale"]
    cash_text = f" Cash: {', '.join(cash_parts)}." if cash_parts else ""
    alone = _own_fields(spec.parameters)  # a citizenship's own trend replaces its region's: not counted twice
    alone_text = "".join(f" Estimated for {c} alone: {', '.join(f)} ({at_most}{2 + n_season + len(f)} parameters "
                         "of its departures)." for c, f in alone.items())
    n_rest = n_shared - len(region_trends) - len(own_cits) - len(season) - len(cash) - sum(map(len, alone.values()))
    shared_text = (f"{alone_text} Response and behaviour: {n_rest} shared by every citizenship and event; no lever "
                   "carries a fitted effect size (levers hold dates, eligible citizenships and caps).\n")
    if spec.fit.solve_trends:
        add(f"Departures: one level and one trend per citizenship ({2 * len(CITIZENSHIPS)}), both solved for every "
            f"particle from its fiscal years' totals (`fit.solve_trends`), and {season_text} ({len(season)}): "
            f"a citizenship's departures have {at_most}{2 + n_season} parameters of which two are its own."
            + cash_text + shared_text)
    else:
        add(f"Departures: one level per citizenship ({len(CITIZENSHIPS)}), one trend per region of origin "
            f"({len(region_trends)}: {', '.join(REGIONS)})"
            + (f" and a trend of its own for {', '.join(own_cits)} (in place of its region's)" if own_cits else "")
            + f", {season_text} ({len(season)}): a citizenship's departures have {at_most}{1 + 1 + n_season} "
            f"parameters of which one is its own{' (two for ' + ', '.join(own_cits) + ')' if own_cits else ''}."
            + cash_text + shared_text)
    add("| parameter | path | prior | median | 90% interval | width / prior | response |\n|---|---|---|---|---|---|---|")
    for p in spec.parameters:
        w = widths[p.name]
        add(f"| {p.name} | `{p.path}` | {p.prior.dist} [{_fmt(p.prior.low)}, {_fmt(p.prior.high)}] | {_fmt(w['median'])} "
            f"| [{_fmt(w['lo'])}, {_fmt(w['hi'])}] | {w['width']:.2f}{' **(wide)**' if w['width'] > spec.acceptance.response_width else ''} "
            f"| {'yes' if p.response else ''} |")
    add(f"\n![posterior]({rel}/posterior_marginals.png)\n")
    add("## Criteria (estimate: mean of the verify seeds)\n")
    add("| criterion | simulated | target | met |\n|---|---|---|---|")
    for c in crit:
        add(f"| {c['criterion']} | {c['value']} | {c['target']} | {'yes' if c['ok'] else '**no**'} |")
    add(f"\n{sum(c['ok'] for c in crit)} of {len(crit)} met.\n")
    add("## The natural experiments\n")
    add("Each event is made by its levers (labels in the history scenario); the same scenario without them "
        "must not reproduce the event. Ratio = encounters of the event's citizenships in the month after over "
        "the month before.\n")
    add("| event | citizenships | months | observed | simulated | without its levers |\n|---|---|---|---|---|---|")
    for e in spec.events:
        ev = events.get(e.name)
        if ev:
            add(f"| {e.name} | {', '.join(e.citizenships)} | {e.after} / {e.before} | {ev['obs']:.3f} | "
                f"{ev['sim']:.3f} | {ev['without']:.3f} |")
    add(f"\n![natural experiments]({rel}/natural_experiments.png)\n")
    if mask is not None:
        add("## Masked estimate: does one event predict another?\n")
        mk = spec.mask
        add(f"Estimated again with {', '.join(mk.citizenships)} left out from {mk.first} to {mk.last} (and their "
            f"ratio out of the distance): the estimate predicts the {mask['event']} ratio **{mask['median']:.3f}** "
            f"(90% of {mask['draws']} posterior draws in [{mask['lo']:.3f}, {mask['hi']:.3f}]) against the "
            f"observed {mask['observed']:.3f}; {'inside' if mask['lo'] <= mask['observed'] <= mask['hi'] else 'outside'} "
            f"the interval. ABC {mask['abc_seconds'] / 60:.1f} min.\n")
        add("| parameter | masked estimate: median [90%] |\n|---|---|")
        for p in spec.parameters:
            w = mask["widths"][p.name]
            add(f"| {p.name} | {_fmt(w['median'])} [{_fmt(w['lo'])}, {_fmt(w['hi'])}] |")
        add("")
    add("## Fit\n")
    add(f"![encounters by month]({rel}/encounters_by_month.png)\n")
    add(f"![by citizenship]({rel}/encounters_by_citizenship_month.png)\n")
    if "darien_by_nationality.png" in files:
        add(f"![Darién]({rel}/darien_by_nationality.png)\n")
    if t.area_cells:
        add("### Where people cross: the 13 border areas\n")
        add("| fiscal year | citizenship x area error | margins-only prediction | Field Operations share (sim / obs) |\n|---|---|---|---|")
        from sim.studies.calibration.targets import rel_l1

        for y, o in sorted(t.area_cells.items()):
            sm = mean.get(f"areas_{y}")
            if sm is not None:
                add(f"| FY{y} | {rel_l1(sm, o):.3f} | {rel_l1(t.margins_only(y), o):.3f} | "
                    f"{t.port_share(sm):.1%} / {t.port_share(o):.1%} |")
        y = max(t.area_cells)
        add(f"\n| area (FY{y}) | simulated | observed | ratio |\n|---|---|---|---|")
        sm, o = mean[f"areas_{y}"].sum(axis=0), t.area_cells[y].sum(axis=0)
        for a, x, z in zip(t.areas, sm, o):
            add(f"| {a} | {x:,.0f} | {z:,.0f} | {x / max(z, 1):.2f} |")
        if attractiveness:
            add(f"\nAttractiveness of each area ({len(attractiveness)} numbers shared by every citizenship, solved "
                "from the areas' totals of the fitted years with the levels; `crossing.attractiveness`): "
                + ", ".join(f"{k} {v:+.2f}" for k, v in sorted(attractiveness.items(), key=lambda kv: -kv[1])) + ".")
        add(f"\n![border areas]({rel}/border_areas.png)\n")
        if "flow_map.png" in files:
            add(f"![flows]({rel}/flow_map.png)\n")
    if t.holdout_months and "holdout" in mean:
        add("## Out of sample: the months before the fit (backcast)\n")
        add(f"Observed months {t.holdout_months[0]} to {t.holdout_months[-1]} are simulated by the estimate (with "
            "their own levers) but enter neither the distance nor the levels: a prediction backwards in time.\n")
        from sim.studies.calibration.targets import pearson, rel_l1

        hs, ho = mean["holdout"], t.holdout
        add("| figure | simulated | observed |\n|---|---|---|")
        add(f"| encounters, all months | {hs.sum():,.0f} | {ho.sum():,.0f} ({hs.sum() / max(ho.sum(), 1) - 1:+.1%}) |")
        add(f"| month x citizenship error sum|sim-obs|/sum obs | {rel_l1(hs, ho):.3f} | |")
        add(f"| Pearson of monthly totals | {pearson(hs.sum(axis=1), ho.sum(axis=1)):.3f} | |")
        add("\n| month | simulated | observed |\n|---|---|---|")
        for m_, a_, b_ in zip(t.holdout_months, hs.sum(axis=1), ho.sum(axis=1)):
            add(f"| {m_} | {a_:,.0f} | {b_:,.0f} |")
        add("")
    L.extend(backcast_sections(report_path))
    fam = model.targets.families(mean)
    add("Distance by family (estimate): " + ", ".join(f"{k} {fam[k]:.3f} (weight {spec.weights.get(k, 0)})"
                                                       for k in FAMILIES) + ".\n")
    if trends is None:
        add("| citizenship | simulated | observed | level (potential a day) |\n|---|---|---|---|")
        for (c, s, o), lv in zip(by_citizenship(mean, t), levels):
            add(f"| {c} | {s:,.0f} | {o:,.0f} | {_fmt(lv)} |")
    else:
        add("| citizenship | simulated | observed | level (potential a day on the reference date) | trend (a year) |"
            "\n|---|---|---|---|---|")
        for (c, s, o), lv, tr in zip(by_citizenship(mean, t), levels, trends):
            add(f"| {c} | {s:,.0f} | {o:,.0f} | {_fmt(lv)} | {tr:+.3f} |")
    L.extend(report_lines(from_statistics(t.counts, mean, vseeds, vscale, key="count"),
                          fitted_weight=spec.weights.get("counts", 0)))
    L.extend(report_lines(not_fitted))
    if spec.notes:
        add("\n## Known weaknesses\n")
        for n in spec.notes:
            add(f"- {n.strip()}")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_text(report_path, "\n".join(L) + "\n")
    if report_path.name.startswith("BACKCAST_"):
        refresh_backcast_sections(report_path.parent, report_path)


def _citizenship_fields(parameters: list) -> dict[str, list[str]]:
    """The fields estimated for one citizenship alone (``departures.by_citizenship.<C>.<field>``:
    its own trend, its own share of visa holders...), by citizenship."""
    own: dict[str, list[str]] = {}
    for p in parameters:
        if p.path.startswith("departures.by_citizenship."):
            _, _, cit, field = p.path.split(".", 3)
            own.setdefault(cit, []).append(field)
    return own


def _own_fields(parameters: list) -> dict[str, list[str]]:
    """The fields estimated for one citizenship alone besides its trend, by citizenship:
    each adds to that citizenship's count of departure parameters (an own trend replaces
    its region's, so it adds none)."""
    own = {c: [f for f in fs if f != "trend"] for c, fs in _citizenship_fields(parameters).items()}
    return {c: fs for c, fs in own.items() if fs}


def _season_per_citizenship(season: list) -> int:
    """The most seasonal parameters one citizenship's departures follow: its region's own
    (``departures.seasonality.by_region.<region>.<field>``) and the shared ones of the
    fields its region does not replace."""
    shared, own = set(), {}
    for p in season:
        keys = p.path.split(".")  # departures.seasonality.<field> or ...by_region.<region>.<field>
        if keys[2] == "by_region":
            own.setdefault(keys[3], set()).add(keys[4])
        else:
            shared.add(keys[2])
    return max([len(shared)] + [len(o | shared) for o in own.values()])
