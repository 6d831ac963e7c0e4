"""``migsim compare``: the comparison figures and tables of run and sweep folders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.errors import InputError
from sim.studies.compare.figures import (
    DPI,
    differences,
    plot_citizenship,
    plot_differences,
    plot_flow_map,
    plot_time,
)
from sim.studies.compare.read import load


def compare(paths: list[Path], out: Path, baseline: str | None = None, group_by: list[str] | None = None) -> dict:
    scs, heads = load(paths, group_by)
    if baseline is None:
        base = scs[0]
    else:
        match = [s for s in scs if s.label == baseline] or [s for s in scs if baseline in s.label] \
            or [s for s in scs if Path(s.source).resolve() == Path(baseline).resolve()]
        if not match:
            raise InputError(out, "--baseline", f"no scenario {baseline!r}; scenarios: {[s.label for s in scs]}")
        base = match[0]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    figs = {"time_series.png": plot_time(scs), "encounters_by_citizenship.png": plot_citizenship(scs, heads),
            "flow_map.png": plot_flow_map(scs)}
    diff = differences(scs, base, heads)
    if len(scs) > 1:
        figs["differences.png"] = plot_differences(scs, base, diff, heads)
        diff.to_csv(out / "differences.csv", index=False)
        written["differences.csv"] = out / "differences.csv"
    summ = []
    for s in scs:
        t = s.frame("totals").pivot_table(index="member", columns="name", values="value")
        for h in heads:
            v = t[h.name]
            summ.append({"scenario": s.label, "source": s.source, "outcome": h.name, "label": h.label,
                         "members": len(v), "mean": v.mean(), "q05": v.quantile(0.05), "median": v.median(),
                         "q95": v.quantile(0.95)})
    pd.DataFrame(summ).to_csv(out / "summary.csv", index=False)
    written["summary.csv"] = out / "summary.csv"
    for name, fig in figs.items():
        fig.savefig(out / name, dpi=DPI)
        written[name] = out / name
    return {"scenarios": [s.label for s in scs], "baseline": base.label, "files": written}


def cmd_compare(a) -> int:
    res = compare(a.folders, a.out, a.baseline, a.group_by)
    print(f"compared {len(res['scenarios'])} scenario(s) against baseline {res['baseline']!r}: "
          + "; ".join(res["scenarios"]))
    print(f"wrote {a.out}/ ({', '.join(res['files'])})")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="plot scenarios side by side (run or sweep folders) against observed data",
        description=("Compare run folders (migsim run) and sweep folders (migsim sweep): monthly encounters and "
                     "Darién crossings per scenario with 50%%/90%% fan charts across seeds and observed series, "
                     "encounters by citizenship, differences against a baseline (paired by seed) and a map of the "
                     "route network. Writes PNGs, summary.csv and differences.csv to --out."))
    p.add_argument("folders", nargs="+", type=Path, metavar="RUN_OR_SWEEP_DIR")
    p.add_argument("--out", type=Path, required=True, help="folder for the plots and tables")
    p.add_argument("--baseline", help="label (or folder) of the baseline scenario (default: the first)")
    p.add_argument("--group-by", nargs="+", metavar="FACTOR",
                   help="for sweeps: one scenario per combination of these factors (default: all that vary)")
    p.set_defaults(func=cmd_compare)
