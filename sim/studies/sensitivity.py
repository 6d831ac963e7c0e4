"""Global sensitivity indices of a sweep outcome (SALib): Sobol or Morris.

Why from the stored sweep: the design (SALib's sample matrix, in its order) is kept in
``design.parquet`` and the outcomes in ``runs.parquet``, so indices can be computed
for any declared outcome after the fact, without rerunning anything. Replicate seeds
are averaged per design point before the analysis (the indices describe the mean
response); the share of the outcome's variance that is seed noise is reported next to
them, because a factor whose index is below that noise cannot be told from zero.
With switches crossed (``sampler.switches: cross``) the indices are computed once per
combination of switch levels; sampled switches are factors like the parameters.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.errors import InputError
from sim.studies.storage import atomic_write

DPI = 120


def _load(sweep_dir: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    meta_p, runs_p, design_p = sweep_dir / "sweep.json", sweep_dir / "runs.parquet", sweep_dir / "design.parquet"
    for p in (meta_p, runs_p, design_p):
        if not p.is_file():
            raise InputError(sweep_dir, p.name, "not a sweep folder (made by migsim sweep)")
    return json.loads(meta_p.read_text()), pd.read_parquet(runs_p), pd.read_parquet(design_p)


def analyse(sweep_dir: str | Path, outcome: str, conf_level: float = 0.95, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Indices per factor (and per switch combination when switches are crossed).

    Returns the table and an info dict (method, noise shares, counts)."""
    sweep_dir = Path(sweep_dir)
    meta, runs, design = _load(sweep_dir)
    method = meta["sampler"]["method"]
    if method not in ("sobol", "morris"):
        raise InputError(sweep_dir / "sweep.json", "sampler.method",
                         f"sensitivity needs a sweep made with the sobol or morris sampler, this one used {method}")
    if outcome not in meta["outcomes"]:
        raise InputError(sweep_dir / "sweep.json", "outcomes",
                         f"no outcome {outcome!r} in this sweep (it has {', '.join(meta['outcomes'])})")
    problem = {k: meta["problem"][k] for k in ("num_vars", "names", "bounds")}
    ok = runs[runs["status"] == "ok"]
    y_point = ok.groupby("point")[outcome].mean()
    n_seeds = ok.groupby("point")[outcome].count()
    var_seed = ok.groupby("point")[outcome].var(ddof=1)
    points = design.drop_duplicates("point").set_index("point").sort_index()
    missing = points.index.difference(y_point.index)
    if len(missing):
        raise InputError(sweep_dir / "runs.parquet", outcome, (
            f"{len(missing)} of {len(points)} design points have no finished run (first: point {missing[0]}); "
            "finish the sweep (rerun it, with --retry-failed for failed runs) before the analysis"))
    crossed = meta["sampler"].get("switches", "cross") == "cross" and meta["switches"]
    group_cols = list(meta["switches"]) if crossed else []
    xcols = [f"x_{n}" for n in problem["names"]]
    frames, info = [], {"method": method, "outcome": outcome, "groups": {}}
    groups = points.groupby(group_cols, sort=False) if group_cols else [((), points)]
    for key, pts in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={v}" for c, v in zip(group_cols, key)) or "all"
        Y = y_point.reindex(pts.index).to_numpy(dtype=float)
        X = pts[xcols].to_numpy(dtype=float)
        noise = float(np.nanmean(var_seed.reindex(pts.index) / n_seeds.reindex(pts.index))) if (n_seeds > 1).any() else float("nan")
        total = float(np.var(Y, ddof=1)) if len(Y) > 1 else float("nan")
        info["groups"][label] = {"points": len(Y), "seeds_per_point": float(n_seeds.reindex(pts.index).mean()),
                                 "var_outcome": total, "seed_noise_share": noise / total if total > 0 else float("nan")}
        if method == "sobol":
            from SALib.analyze import sobol

            so = bool(meta["sampler"].get("calc_second_order", False))
            res = sobol.analyze(problem, Y, calc_second_order=so, conf_level=conf_level, seed=seed,
                                print_to_console=False)
            df = pd.DataFrame({"factor": problem["names"], "S1": res["S1"], "S1_conf": res["S1_conf"],
                               "ST": res["ST"], "ST_conf": res["ST_conf"]})
        else:
            from SALib.analyze import morris

            res = morris.analyze(problem, X, Y, conf_level=conf_level, num_levels=int(meta["sampler"]["levels"]),
                                 seed=seed, print_to_console=False)
            df = pd.DataFrame({"factor": problem["names"], "mu": res["mu"], "mu_star": res["mu_star"],
                               "sigma": res["sigma"], "mu_star_conf": res["mu_star_conf"]})
        df.insert(0, "group", label)
        frames.append(df)
    return pd.concat(frames, ignore_index=True), info


def plot(table: pd.DataFrame, info: dict, title: str, conf_level: float) -> Figure:
    groups = list(dict.fromkeys(table["group"]))
    method = info["method"]
    n = len(groups)
    fig = Figure(figsize=(8 if method == "sobol" else 11, 1.2 + 0.45 * table["factor"].nunique() * n + 1.2 * n))
    for i, g in enumerate(groups):
        t = table[table["group"] == g].reset_index(drop=True)
        y = np.arange(len(t))[::-1]
        noise = info["groups"][g]["seed_noise_share"]
        if method == "sobol":
            ax = fig.add_subplot(n, 1, i + 1)
            ax.barh(y + 0.2, t["S1"], height=0.38, xerr=t["S1_conf"], color="tab:blue", capsize=2,
                    label="first order S1 (effect alone)")
            ax.barh(y - 0.2, t["ST"], height=0.38, xerr=t["ST_conf"], color="tab:orange", capsize=2,
                    label="total order ST (with interactions)")
            if np.isfinite(noise):
                ax.axvline(noise, color="gray", ls=":", label=f"seed-noise share of variance ({noise:.2f})")
            ax.set_xlabel("share of the outcome's variance across design points")
            ax.set_xlim(min(0, float((t["S1"] - t["S1_conf"]).min())) - 0.02, max(1.0, float((t["ST"] + t["ST_conf"]).max())) + 0.02)
            ax.set_yticks(y, t["factor"])
            ax.axvline(0, color="black", lw=0.6)
            ax.legend(fontsize=8, loc="lower right")
            ax.set_title(g if n > 1 else "", fontsize=10)
            ax.grid(axis="x", alpha=0.3)
        else:
            ax = fig.add_subplot(n, 2, 2 * i + 1)
            ax.barh(y, t["mu_star"], xerr=t["mu_star_conf"], color="tab:blue", capsize=2)
            ax.set_yticks(y, t["factor"])
            ax.set_xlabel(f"mu* = mean |elementary effect| ({info['outcome']} units, persons)")
            ax.set_title(f"{g}: importance" if n > 1 else "importance", fontsize=10)
            ax.grid(axis="x", alpha=0.3)
            ax2 = fig.add_subplot(n, 2, 2 * i + 2)
            ax2.scatter(t["mu_star"], t["sigma"], color="tab:blue")
            for _, r in t.iterrows():
                ax2.annotate(r["factor"], (r["mu_star"], r["sigma"]), fontsize=8, xytext=(3, 3),
                             textcoords="offset points")
            ax2.set_xlabel("mu* (persons)")
            ax2.set_ylabel("sigma: spread of effects\n(non-linearity or interactions)")
            ax2.set_title(f"{g}: linear or not" if n > 1 else "linear or not", fontsize=10)
            ax2.grid(alpha=0.3)
    name = "Sobol" if method == "sobol" else "Morris"
    fig.suptitle(f"{title}\n{name} sensitivity of {info['outcome']}", fontsize=11)
    notes = [f"Bars: {conf_level:.0%} bootstrap confidence intervals (SALib). Outcome averaged over replicate seeds "
             f"per design point; points per group: {', '.join(str(v['points']) for v in info['groups'].values())}."]
    if method == "morris":
        notes.append("Seed-noise share of the outcome variance: " + ", ".join(
            f"{k}: {v['seed_noise_share']:.2f}" for k, v in info["groups"].items()) + ".")
    lines = [w for line in notes for w in textwrap.wrap(line, 150)]
    fig.tight_layout(rect=(0, 0.02 + 0.02 * len(lines), 1, 1))
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, color="dimgray", ha="left", va="bottom")
    return fig


def run(sweep_dir: str | Path, outcome: str, out: str | Path | None = None, conf_level: float = 0.95,
        seed: int = 0) -> tuple[pd.DataFrame, Path, Path]:
    sweep_dir = Path(sweep_dir)
    table, info = analyse(sweep_dir, outcome, conf_level, seed)
    out = Path(out) if out else sweep_dir / "sensitivity"
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{info['method']}_{outcome}.csv"
    atomic_write(csv, lambda p: table.to_csv(p, index=False))
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    png = out / f"{info['method']}_{outcome}.png"
    fig = plot(table, info, f"sweep {meta['name']} ({meta['n_runs']} runs)", conf_level)
    fig.savefig(png, dpi=DPI)
    return table, csv, png


def cmd_sensitivity(a) -> int:
    table, csv, png = run(a.sweep_dir, a.outcome, a.out, a.conf_level, a.seed)
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    print(f"wrote {csv} and {png}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sensitivity", help="Sobol or Morris sensitivity indices of a sweep outcome",
        description=("Compute SALib Sobol (S1, ST) or Morris (mu, mu*, sigma) indices of OUTCOME for a sweep made "
                     "with the matching sampler (sampler.method: sobol or morris). Prints the table and writes "
                     "<method>_<outcome>.csv and .png to --out (default DIR/sensitivity/)."))
    p.add_argument("sweep_dir", metavar="DIR", type=Path, help="sweep results folder (migsim sweep --out)")
    p.add_argument("--outcome", required=True, help="an outcome name declared in the sweep file")
    p.add_argument("--out", type=Path, help="folder for the table and plot (default DIR/sensitivity)")
    p.add_argument("--conf-level", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    p.set_defaults(func=cmd_sensitivity)

