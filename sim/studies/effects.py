"""Effects of policy scenarios against a baseline, on paired seeds.

Why paired: every scenario and its counterfactual run on the same seeds, and with
common random numbers (``random_numbers: common``) the two runs of a seed differ only
where the levers act. The effect of a seed is the difference of its two totals; the
table reports the mean difference and its spread across seeds (5th and 95th
percentiles, a 90% interval), which is far narrower than comparing two independent
sets of runs.

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
from sim.outcomes.table import RunTable
from sim.scenario.files import read_raw, validate_raw
from sim.scenario.inputs import Inputs
from sim.scenario.variation import on_period_of
from sim.studies.runner import run_replicates
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


def paired_table(name: str, base: pd.DataFrame, alt: pd.DataFrame) -> pd.DataFrame:
    """One row per outcome: means, mean difference, 90% interval of the paired differences."""
    base, alt = base.align(alt, join="inner", axis=0)
    d = alt - base
    rows = []
    for col in base.columns:
        x = d[col].to_numpy(dtype=float)
        b = base[col].mean()
        rows.append({
            "scenario": name, "outcome": col, "seeds": len(x),
            "baseline_mean": b, "scenario_mean": alt[col].mean(),
            "difference_mean": x.mean(), "difference_p05": np.percentile(x, 5),
            "difference_p95": np.percentile(x, 95), "difference_sd": x.std(ddof=1) if len(x) > 1 else 0.0,
            "relative_change": x.mean() / b if b else np.nan,
        })
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    lines = ["| scenario | outcome | baseline | scenario | difference (mean) | 90% interval | change |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in table.itertuples(index=False):
        change = f"{r.relative_change:+.1%}" if np.isfinite(r.relative_change) else ""
        lines.append(f"| {r.scenario} | {r.outcome} | {r.baseline_mean:,.0f} | {r.scenario_mean:,.0f} | "
                     f"{r.difference_mean:+,.0f} | [{r.difference_p05:+,.0f}, {r.difference_p95:+,.0f}] | {change} |")
    return "\n".join(lines)


def run_effects(scenarios: list[str], baseline: str, out: str | Path, replicates: int = 10, seed: int = 1,
                processes: int = 1, progress: bool = True, keep_zero: bool = False) -> pd.DataFrame:
    """Run each scenario and its counterfactual on seeds seed..seed+replicates-1."""
    seeds = list(range(seed, seed + replicates))
    tables = []
    hashes = {}
    for path in scenarios:
        alt = Inputs.load(path)
        base = counterfactual(baseline, alt)
        hashes[path] = {"scenario_sha256": alt.scenario_sha256, "counterfactual_sha256": base.scenario_sha256}
        ts_b = pd.concat([r.timeseries for r in run_replicates(base, seeds, processes, progress)])
        ts_a = pd.concat([r.timeseries for r in run_replicates(alt, seeds, processes, progress)])
        t = paired_table(alt.scenario.name, totals(ts_b), totals(ts_a))
        if not keep_zero:
            t = t[(t["baseline_mean"] != 0) | (t["scenario_mean"] != 0)]
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    with atomic_dir(out) as tmp:
        table.to_csv(tmp / "effects.csv", index=False)
        write_json(tmp / "manifest.json", {**provenance(), "seeds": seeds, "baseline": str(baseline),
                                           "scenarios": {str(p): h for p, h in hashes.items()}})
        (tmp / "effects.md").write_text(
            f"# Effects against {Path(baseline).name}\n\nPaired seeds {seeds[0]}..{seeds[-1]}; totals over each "
            f"scenario's period; 90% interval = 5th to 95th percentile of the per-seed differences.\n\n"
            + to_markdown(table) + "\n")
    return table
