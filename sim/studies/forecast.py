"""``migsim forecast``: a forecast written down before it can be judged.

Why a command of its own: an out-of-sample test means something only if the forecast
is fixed, with its uncertainty, its command and the code's commit, before anyone
compares it with the figures. This runs a scenario with K posterior draws (parameters
from the estimate's posterior, uncertain lever sizes from their stated priors, one seed
each: ``sim.studies.draws``) and writes a Markdown file with monthly encounters, the
largest citizenships of the period, the Darién crossings of its calendar months and
China's monthly encounters, each as a median and a 90% band over the draws, plus a CSV
of every draw's figures so the scoring can be done from outside. It reads no observed
figure of the forecast period (the project holds none).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

import pandas as pd

from sim.outcomes.table import RunTable
from sim.outcomes.windows import Window
from sim.scenario.files import read_raw, validate_raw
from sim.scenario.inputs import Inputs
from sim.studies.storage import atomic_text, git_commit

BAND = (0.05, 0.95)


def figures(ts: pd.DataFrame, start: dt.date, end: dt.date) -> dict[str, pd.Series]:
    """One draw's forecast figures: encounters by month and by citizenship over the period,
    Darién crossings of the period's last calendar year by nationality, China by month."""
    t = RunTable(ts)
    w = Window(start, end, "period")
    month = t.sum(("month",), metric="encounters", window=w)
    month.index = [str(pd.Period(m, freq="M")) for m in month.index]
    cit = t.sum(("nationality",), metric="encounters", window=w)
    dw = Window(max(start, dt.date(end.year, 1, 1)), end, "darien")
    darien = t.sum(("nationality",), metric="darien_crossings", window=dw)
    china = t.sum(("month", "nationality"), metric="encounters", window=w)
    china = china.xs("CHINA", level="nationality") if "CHINA" in china.index.get_level_values(1) else pd.Series(dtype=float)
    china.index = [str(pd.Period(m, freq="M")) for m in china.index]
    return {"month": month, "citizenship": cit, "darien": darien, "china_month": china}


def band(values: pd.DataFrame) -> pd.DataFrame:
    """Median and 90% band over the draws (rows: draws)."""
    q = values.quantile([BAND[0], 0.5, BAND[1]]).T
    q.columns = ["low", "median", "high"]
    return q


def _n(x: float) -> str:
    return f"{x:,.0f}"


def write_markdown(path: Path, name: str, cmd: str, draws: int, scale: float, start, end,
                   per: dict[str, pd.DataFrame], seconds: float) -> None:
    m, c, d, ch = (band(per[k].fillna(0.0)) for k in ("month", "citizenship", "darien", "china_month"))
    total = band(per["month"].fillna(0.0).sum(axis=1).to_frame("total")).iloc[0]
    dt_ = band(per["darien"].fillna(0.0).sum(axis=1).to_frame("total")).iloc[0]
    L = [f"# Forecast: {name}, {start} to {end}\n",
         "Written before any comparison with the figures of the period, none of which the project holds. "
         "Each figure is the median and the 90% band over posterior draws: every draw takes a parameter set "
         "from the estimate's posterior (calibration/fy2022_fy2023_posterior.parquet), a value for every "
         "lever size the scenario states as uncertain, and its own seed.\n",
         f"- Command: `{cmd}`",
         f"- Code: git {git_commit() or 'unknown'}; written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; "
         f"{draws} draws at departures.scale {scale} (counts read at full scale), {seconds / 60:.1f} min.",
         f"- Every draw's figures: `{path.with_suffix('.csv').name}` (one row per draw and figure), for scoring "
         "from outside.\n",
         f"## Encounters at the southwest border: {_n(total['median'])} [{_n(total['low'])}, {_n(total['high'])}]\n",
         "| month | median | 90% band |\n|---|---|---|"]
    L += [f"| {k} | {_n(r['median'])} | {_n(r['low'])} - {_n(r['high'])} |" for k, r in m.iterrows()]
    L += ["\n## The 10 largest citizenships of the period\n", "| citizenship | median | 90% band |\n|---|---|---|"]
    L += [f"| {k} | {_n(r['median'])} | {_n(r['low'])} - {_n(r['high'])} |"
          for k, r in c.sort_values("median", ascending=False).head(10).iterrows()]
    L += [f"\n## Darién crossings, {max(start, dt.date(end.year, 1, 1))} to {end}: "
          f"{_n(dt_['median'])} [{_n(dt_['low'])}, {_n(dt_['high'])}]\n",
          "| nationality | median | 90% band |\n|---|---|---|"]
    L += [f"| {k} | {_n(r['median'])} | {_n(r['low'])} - {_n(r['high'])} |"
          for k, r in d.sort_values("median", ascending=False).head(6).iterrows()]
    L += ["\n## China by month (the charters from 2024-06-29, Ecuador's visa from 2024-07-01)\n",
          "| month | median | 90% band |\n|---|---|---|"]
    L += [f"| {k} | {_n(r['median'])} | {_n(r['low'])} - {_n(r['high'])} |" for k, r in ch.iterrows()]
    atomic_text(path, "\n".join(L) + "\n")


def run_forecast(scenario: str | Path, out: Path, draws: int, scale: float | None, seed: int, processes: int,
                 progress: bool = True) -> Path:
    """Run the draws and write ``out`` (Markdown) and its CSV of draws."""
    import time

    from sim.studies.runner import draw_inputs, run_jobs

    t0 = time.perf_counter()
    raw = read_raw(scenario)
    if scale is not None:
        raw["departures"]["scale"] = scale
    inputs = Inputs.load(scenario, validate_raw(raw, scenario))
    sc = inputs.scenario
    seeds = list(range(seed, seed + draws))
    _, inps = draw_inputs(inputs, draws, seeds)
    results = run_jobs(list(zip(inps, seeds)), processes, progress)
    per: dict[str, dict[int, pd.Series]] = {}
    for j, r in enumerate(results):
        for k, s in figures(r.timeseries, sc.period.start, sc.period.end).items():
            per.setdefault(k, {})[j] = s / sc.departures.scale
    frames = {k: pd.DataFrame(v).T for k, v in per.items()}
    long = pd.concat([f.stack().rename("value").rename_axis(["draw", "key"]).reset_index().assign(figure=k)
                      for k, f in frames.items()], ignore_index=True)[["figure", "key", "draw", "value"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    csv = out.with_suffix(".csv")
    tmp = csv.with_name(f".{csv.name}.tmp")
    long.to_csv(tmp, index=False)
    tmp.replace(csv)
    cmd = "migsim forecast " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 and sys.argv[1] == "forecast" \
        else f"migsim forecast {os.path.relpath(scenario)} --posterior-draws {draws}"
    write_markdown(out, sc.name, cmd, draws, sc.departures.scale, sc.period.start, sc.period.end, frames,
                   time.perf_counter() - t0)
    return out


def handler(a) -> int:
    out = run_forecast(a.scenario, a.out, a.posterior_draws, a.scale, a.seed, a.processes, progress=not a.quiet)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    from sim.cli_types import non_negative_int as _seed
    from sim.cli_types import positive_int as _positive
    from sim.cli_types import usable_cores

    p = subparsers.add_parser(
        "forecast", help="run a scenario with posterior draws and write its forecast (Markdown and CSV)",
        description=("Run SCENARIO with K posterior draws (parameters and uncertain lever sizes) and write the "
                     "forecast: monthly encounters, the 10 largest citizenships, Darién crossings of the period's "
                     "last calendar year and China by month, each with a 90%% band, the command and the commit."))
    p.add_argument("scenario")
    p.add_argument("--posterior-draws", type=_positive, default=20, metavar="K", help="draws (default 20)")
    p.add_argument("--scale", type=float, help="departures.scale for the runs (default: the scenario's)")
    p.add_argument("--seed", type=_seed, default=1, help="first seed (default 1)")
    p.add_argument("--processes", type=_positive, default=usable_cores(),
                   help="worker processes (default: the usable cores; results do not depend on it)")
    p.add_argument("--out", type=Path, default=Path("calibration/FORECAST_FY2024.md"),
                   help="Markdown file to write (a CSV of the draws goes next to it)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=handler)
    return p
