"""Re-solve the levels, trends and areas of the parameter file in force, without an estimation.

When a rule of the model changes (a mechanism added or corrected) and no new estimate is
made, the parameters the ABC estimated stay as they are, but what they set out must
again match the fiscal years' totals: each citizenship's level of potential departures
and its trend (``fit.solve_trends``), and the border areas' attractiveness, are solved
by the estimation's own rounds (``sim.studies.calibration.levels.refine_levels``,
level <- level x observed/simulated total), starting from the file's values. The file is
rewritten with its estimated parameters unchanged, its header kept and one line added
saying why; then rebase the posterior draws on it (``rebase_draws.py``) and measure the
criteria (``criteria_in_force.py``).

    PYTHONPATH=. python calibration/diagnostics/resolve_levels.py --why "the rule that ..." \
        [--rounds 6] [--seeds 1 2] [--scale 0.5] [--processes 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


def main() -> None:
    from sim.studies.calibration.levels import refine_levels
    from sim.studies.calibration.outputs import write_params
    from sim.studies.calibration.simulate import CalibrationModel, Solved

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="calibration/fy2022_fy2023.yaml")
    ap.add_argument("--why", required=True, help="the rule change the levels are re-solved for (into the header)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    model = CalibrationModel(args.spec)
    spec = model.spec
    path = Path(model.spec_path).parent / spec.outputs.params
    text = path.read_text()
    params = model.params_in_force()
    start = Solved(model.base_levels(), model.base_attractiveness(), model.trends())
    solved = refine_levels(model, params, start, args.seeds, args.scale, args.rounds, args.processes)
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    header += (f"# Levels, trends and areas re-solved on {stamp} ({args.rounds} rounds, seeds "
               f"{'-'.join(map(str, args.seeds))}, scale {args.scale}) for {args.why}.\n")
    write_params(spec, params, solved.levels, model.citizenships(), path, header, solved.attractiveness,
                 solved.trends)
    print(f"rewrote {path}")


if __name__ == "__main__":
    main()
