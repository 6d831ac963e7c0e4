"""Effects of policy scenarios against a baseline, on paired seeds and paired posterior draws.

Why paired: every scenario and its counterfactual run on the same seeds, and with
common random numbers (``random_numbers: common``) the two runs of a seed differ only
where the levers act. The effect of a replicate is the difference of its two totals.
Seeds alone give an interval of the dice (a few dozen people for a lever's effect);
posterior draws (``sim.studies.draws``) add the uncertainty of the parameters behind
it: with K draws, each replicate pairs one parameter set and one seed for the scenario
and its counterfactual, the interval is over the K draws, and the share of its variance
that is seed noise is measured on ``replicates`` seeds at the estimate.

The counterfactual of a scenario is the baseline run over the scenario's own period
(and spin-up), so a 2024 scenario is compared with the baseline behaviour carried to
2024, not with a shorter run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.citizenship import CITIZENSHIPS
from sim.outcomes.metrics import POLICY_OUTCOMES as OUTCOMES

DEFAULT_DRAWS = 4  # enough to show the parameters' uncertainty, few enough to stay quick
from sim.outcomes.table import RunTable
from sim.scenario.files import read_raw, validate_raw
from sim.scenario.inputs import Inputs
from sim.scenario.variation import on_period_of
from sim.studies.storage import atomic_dir, provenance, write_json


def counterfactual(baseline: str | Path, scenario: Inputs) -> Inputs:
    """The baseline over the scenario's period and spin-up."""
    return Inputs.load(baseline, validate_raw(on_period_of(read_raw(baseline), scenario.scenario), baseline))


def totals(ts: pd.DataFrame) -> pd.DataFrame:
    """Per seed: each outcome in total, and encounters by citizenship."""
    table = RunTable(ts)
    tot = table.sum(("seed", "metric"), metric=OUTCOMES).unstack(fill_value=0)
    tot = tot.reindex(columns=list(OUTCOMES), fill_value=0)
    enc = table.sum(("seed", "nationality"), metric="encounters").unstack(fill_value=0)
    enc = enc.reindex(columns=list(CITIZENSHIPS), fill_value=0)
    enc.columns = [f"encounters {c}" for c in enc.columns]
    return tot.join(enc, how="outer").fillna(0)


def paired_table(name: str, base: pd.DataFrame, alt: pd.DataFrame, seed_base: pd.DataFrame | None = None,
                 seed_alt: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per outcome: means, mean difference, 90% interval of the paired differences
    (over draws when ``seed_base``/``seed_alt`` give the estimate's seed replicates, whose
    spread measures the seed part of the variance)."""
    base, alt = base.align(alt, join="inner", axis=0)
    d = alt - base
    ds = None
    if seed_base is not None:
        sb, sa = seed_base.align(seed_alt, join="inner", axis=0)
        ds = sa - sb
    rows = []
    for col in base.columns:
        x = d[col].to_numpy(dtype=float)
        b = base[col].mean()
        sd = x.std(ddof=1) if len(x) > 1 else 0.0
        row = {
            "scenario": name, "outcome": col, "replicates": len(x),
            "baseline_mean": b, "scenario_mean": alt[col].mean(),
            "difference_mean": x.mean(), "difference_p05": np.percentile(x, 5),
            "difference_p95": np.percentile(x, 95), "difference_sd": sd,
            "relative_change": x.mean() / b if b else np.nan,
        }
        if ds is not None:
            y = ds[col].to_numpy(dtype=float) if col in ds else np.zeros(0)
            seed_sd = y.std(ddof=1) if len(y) > 1 else np.nan
            row["seed_sd"] = seed_sd
            row["parameter_share"] = (float(np.clip(1 - seed_sd**2 / sd**2, 0, 1)) if sd > 0 and np.isfinite(seed_sd)
                                      else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    shares = "parameter_share" in table.columns
    lines = ["| scenario | outcome | baseline | scenario | difference (mean) | 90% interval | change |"
             + (" share of variance from parameters |" if shares else ""),
             "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if shares else "")]
    for r in table.itertuples(index=False):
        change = f"{r.relative_change:+.1%}" if np.isfinite(r.relative_change) else ""
        line = (f"| {r.scenario} | {r.outcome} | {r.baseline_mean:,.0f} | {r.scenario_mean:,.0f} | "
                f"{r.difference_mean:+,.0f} | [{r.difference_p05:+,.0f}, {r.difference_p95:+,.0f}] | {change} |")
        if shares:
            line += f" {r.parameter_share:.0%} |" if np.isfinite(r.parameter_share) else " |"
        lines.append(line)
    return "\n".join(lines)


def run_effects(scenarios: list[str], baseline: str, out: str | Path, replicates: int | None = None, seed: int = 1,
                processes: int = 1, progress: bool = True, keep_zero: bool = False,
                posterior_draws: int | None = None) -> pd.DataFrame:
    """Each scenario against its counterfactual: on seeds seed..seed+replicates-1 at the
    estimate and, with ``posterior_draws`` K, on K paired draws (seeds seed..seed+K-1).
    ``None``: DEFAULT_DRAWS when the first scenario names a posterior, else none."""
    from sim.studies.runner import draw_inputs, run_jobs

    if posterior_draws is None:
        posterior_draws = DEFAULT_DRAWS if scenarios and Inputs.load(scenarios[0]).scenario.posterior else 0
    replicates = replicates if replicates is not None else (4 if posterior_draws else 10)
    seeds = list(range(seed, seed + replicates))
    draw_seeds = list(range(seed, seed + posterior_draws))
    tables, hashes = [], {}
    for path in scenarios:
        alt = Inputs.load(path)
        base = counterfactual(baseline, alt)
        hashes[path] = {"scenario_sha256": alt.scenario_sha256, "counterfactual_sha256": base.scenario_sha256}
        jobs = [(base, s) for s in seeds] + [(alt, s) for s in seeds]
        if posterior_draws:
            ds, alts = draw_inputs(alt, posterior_draws, draw_seeds)
            _, bases = draw_inputs(base, posterior_draws, draw_seeds)
            jobs += list(zip(bases, draw_seeds)) + list(zip(alts, draw_seeds))
        res = [totals(r.timeseries) for r in run_jobs(jobs, processes, progress)]
        n = len(seeds)
        sb, sa = pd.concat(res[:n]), pd.concat(res[n:2 * n])
        if posterior_draws:
            k = posterior_draws
            db, da = pd.concat(res[2 * n:2 * n + k]), pd.concat(res[2 * n + k:])
            db.index = da.index = range(k)  # paired by draw (each with its own seed)
            t = paired_table(alt.scenario.name, db, da, sb, sa)
        else:
            t = paired_table(alt.scenario.name, sb, sa)
        if not keep_zero:
            t = t[(t["baseline_mean"] != 0) | (t["scenario_mean"] != 0)]
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    how = (f"{posterior_draws} paired posterior draws (seeds {draw_seeds[0]}..{draw_seeds[-1]}, one each); 90% interval "
           f"= 5th to 95th percentile of the per-draw differences; share of variance from parameters = 1 - (sd of "
           f"the differences on seeds {seeds[0]}..{seeds[-1]} at the estimate / sd over draws)^2"
           if posterior_draws else
           f"Paired seeds {seeds[0]}..{seeds[-1]} at the estimate; 90% interval = 5th to 95th percentile of the "
           f"per-seed differences (seed noise only: add --posterior-draws for the parameters' uncertainty)")
    with atomic_dir(out) as tmp:
        table.to_csv(tmp / "effects.csv", index=False)
        write_json(tmp / "manifest.json", {**provenance(), "seeds": seeds, "posterior_draws": posterior_draws,
                                           "draw_seeds": draw_seeds, "baseline": str(baseline),
                                           "scenarios": {str(p): h for p, h in hashes.items()}})
        (tmp / "effects.md").write_text(
            f"# Effects against {Path(baseline).name}\n\nTotals over each scenario's period. {how}.\n\n"
            + to_markdown(table) + "\n\n![effects](effects.png)\n")
        from sim.studies.effects_plot import effects_figure

        effects_figure(table, Path(baseline).name, how + ".").savefig(tmp / "effects.png", dpi=110)
    return table
