"""The acceptance criteria of the parameter file in force, without an estimation.

When a change of the model's rules is committed with levels re-solved at the parameters
in force (rather than a new estimate), ``calibration/REPORT.md`` still describes the
estimate made under the old rules. This probe runs the calibration's own verification
on the scenario as it is now: the verify seeds at the verify scale, each natural
experiment without its levers at the counterfactual scale, and the criteria of
``sim.studies.calibration.checks.criteria`` (the posterior widths excepted: there is no
new posterior). Nothing is fitted or written.

    PYTHONPATH=. python calibration/diagnostics/criteria_in_force.py [--processes 2] [--seeds 11 12 ...]
"""

from __future__ import annotations

import argparse


def main() -> None:
    from sim.studies.calibration.checks import criteria
    from sim.studies.calibration.command import _mean, event_ratios
    from sim.studies.calibration.simulate import CalibrationModel, Solved, simulate_many

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="calibration/fy2022_fy2023.yaml")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="seeds other than the spec's verify seeds: how far a criterion moves with the draws")
    args = ap.parse_args()
    model = CalibrationModel(args.spec)
    spec = model.spec
    params = model.params_in_force()
    levels = Solved(model.base_levels(), model.base_attractiveness(), model.trends())
    seeds = spec.verify.seeds if args.seeds is None else args.seeds
    mean = _mean(simulate_many(model.spec_path, [(params, levels, s, spec.verify.scale, ()) for s in seeds],
                               args.processes))
    events = event_ratios(model, params, levels, seeds, spec.verify.counterfactual_scale, args.processes,
                          mean["cells"], print)
    rows = criteria(spec, model.targets, mean, events, {})
    for r in rows:
        print(f"  [{'ok' if r['ok'] else 'MISS'}] {r['criterion']}: {r['value']} (target {r['target']})")
    print(f"{sum(r['ok'] for r in rows)} of {len(rows)} criteria met (posterior widths not counted)")


if __name__ == "__main__":
    main()
