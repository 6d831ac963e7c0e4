"""The ``migsim`` command line.

Why thin: each subcommand parses its arguments and calls one library function. User
errors (``InputError``) become one line on stderr and exit code 2, with no traceback;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# One BLAS thread per process, set before numpy loads. The model's linear algebra is
# small (a solve over the route network's places per citizenship), so a second BLAS
# thread buys nothing and spins: with one, a calibration simulation took 9% less time
# alone on a two-core machine and 24% less beside a second worker process (the ABC's,
# `run --processes`). Dask's workers set the same. An explicit setting is kept.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from sim import __version__  # noqa: E402
from sim.cli_types import non_negative_int as _seed  # noqa: E402
from sim.cli_types import positive_int as _positive  # noqa: E402
from sim.cli_types import usable_cores  # noqa: E402
from sim.errors import InputError  # noqa: E402


def cmd_run(a) -> int:
    from sim.studies.runner import run_scenario

    out = a.out or Path("results") / Path(a.scenario).stem
    summ = run_scenario(a.scenario, out, seed=a.seed, replicates=a.replicates, processes=a.processes,
                        progress=not a.quiet, plots=not a.no_plots, posterior_draws=a.posterior_draws)
    print(f"wrote {out}/ (timeseries.parquet, legs.parquet, summary.json, manifest.json{'' if a.no_plots else ', plots/'})")
    names = {"encounters": "SW border encounters", "darien_crossings": "Darién crossings"}
    for label, by_metric in summ["windows"].items():
        for metric, v in by_metric.items():
            obs = f" (observed {v['observed']:,.0f})" if v["observed"] is not None else ""
            print(f"{names.get(metric, metric)} {label}, mean of {len(summ['seeds'])} seed(s): {v['mean']:,.0f}{obs}")
    bad = [s for s, led in summ["ledger"].items() if not led["balanced"]]
    if bad:
        print(f"WARNING: people ledger does not balance for seeds {bad}", file=sys.stderr)
        return 1
    return 0


def cmd_validate(a) -> int:
    from sim.scenario.footprint import estimate
    from sim.scenario.inputs import Inputs

    inp = Inputs.load(a.scenario)
    sc = inp.scenario
    print(f"{a.scenario}: valid scenario {sc.name!r}: {inp.n_days} days from {sc.spinup_start} "
          f"(period {sc.period.start} to {sc.period.end}), {inp.network.n_nodes} nodes, "
          f"{inp.network.n_edges} legs, {len(sc.policies)} levers, seeds {sc.seeds}; "
          f"expected departures: {estimate(inp)}")
    return 0


def cmd_schema(a) -> int:
    from sim.scenario.files import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_effects(a) -> int:
    from sim.studies.effects import run_effects, to_markdown

    out = a.out or Path("results") / "effects"
    table = run_effects(a.scenarios, a.baseline, out, replicates=a.replicates, seed=a.seed,
                        processes=a.processes, progress=not a.quiet, posterior_draws=a.posterior_draws)
    print(to_markdown(table))
    print(f"\nwrote {out}/effects.csv and {out}/effects.md")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="migsim", description=(
        "Agent-based simulator of migration routes through the Darién Gap, Central America and "
        "Mexico to the US southern border."))
    p.add_argument("--version", action="version", version=f"migsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a scenario and write its results folder",
                       description="Run SCENARIO for its seeds (or --seed/--replicates) and write "
                                   "timeseries.parquet, summary.json, manifest.json and plots/ to --out.")
    r.add_argument("scenario", help="scenario YAML file")
    r.add_argument("--out", type=Path, help="results folder (default results/<scenario name>)")
    r.add_argument("--seed", type=_seed, help="first seed (default: the scenario's seeds)")
    r.add_argument("--replicates", type=_positive, help="number of consecutive seeds from --seed")
    r.add_argument("--processes", type=_positive, default=usable_cores(),
                   help="worker processes for replicates (default: the usable cores)")
    r.add_argument("--posterior-draws", type=_seed, default=0, metavar="K",
                   help="K replicates, each with a parameter set drawn from the scenario's posterior (and the stated "
                        "priors of uncertain lever sizes) and its own seed (default 0: the estimate, --replicates seeds)")
    r.add_argument("--no-plots", action="store_true", help="skip the plots")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check a scenario and its data files without running it",
                       description="Validate SCENARIO (schema, network, departures); exit 2 on the first problem.")
    v.add_argument("scenario")
    v.set_defaults(func=cmd_validate)

    e = sub.add_parser("effects", help="each scenario's change against a baseline, on paired seeds",
                       description="Run each SCENARIO and the baseline (over the scenario's period) on the same "
                                   "seeds; print and write (CSV, Markdown) the paired differences in encounters by "
                                   "citizenship, Darién crossings, deaths and removals with 90% intervals.")
    e.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    e.add_argument("--baseline", required=True, help="baseline scenario YAML")
    e.add_argument("--replicates", type=_positive, help="paired seeds at the estimate (default 10, or 4 with draws)")
    e.add_argument("--seed", type=_seed, default=1, help="first seed (default 1)")
    e.add_argument("--processes", type=_positive, default=usable_cores(),
                   help="worker processes (default: the usable cores; results do not depend on it)")
    e.add_argument("--posterior-draws", type=_seed, metavar="K",
                   help="K paired replicates, each a posterior draw and a seed shared by a scenario and its "
                        "counterfactual (default 4 when the scenario names a posterior; 0: the estimate on "
                        "--replicates seeds only)")
    e.add_argument("--out", type=Path, help="folder for effects.csv and effects.md (default results/effects)")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_effects)

    from sim.app import command as app
    from sim.studies import calibration, compare, forecast, sensitivity, sweep

    for mod in (sweep, sensitivity, compare, calibration, forecast, app):
        mod.add_parser(sub)

    s = sub.add_parser("schema", help="print the scenario JSON schema (for editors)",
                       description="Print the JSON schema of scenario files.")
    s.set_defaults(func=cmd_schema)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"migsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("migsim: interrupted; no output written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
