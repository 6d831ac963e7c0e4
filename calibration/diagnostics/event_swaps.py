"""The natural experiments' ratios of the parameter file in force, with some estimated
parameters set to other values: which parameters an event's ratio hangs on.

Why: two estimations can meet the same number of criteria with different misses (one the
E1 rebound over the Darién, the other the Darién's 2023 total); setting a group of one
estimate's parameters to the other's values shows which group moves which event. The
levels stay as the file has them: a ratio (after / before, one citizenship's months) is
little moved by its level, and re-solving them for every group would cost far more. For
the same reason the Darién is shown as a shape, its last month against the mean of the
earlier ones (September 2023 against January-August), not as totals. Nothing is written.

    PYTHONPATH=. python calibration/diagnostics/event_swaps.py \
        --swap "route weights: route_days_weight=0.133 route_risk_weight=95.2" \
        [--seeds 1 2] [--scale 0.2] [--processes 2]
"""

from __future__ import annotations

import argparse


def parse_swap(text: str) -> tuple[str, dict[str, float]]:
    """``"label: name=value name=value"`` -> (label, {name: value}); ValueError naming the
    pair that is not ``name=number``."""
    label, _, pairs = text.partition(":")
    values = {}
    for pair in pairs.split():
        name, _, value = pair.partition("=")
        try:
            values[name] = float(value)
        except ValueError:
            raise ValueError(f"--swap {text!r}: {pair!r} is not name=number") from None
    return label.strip(), values


def main() -> int:
    import sys

    from sim.studies.calibration.command import _mean
    from sim.studies.calibration.simulate import CalibrationModel, simulate_many

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="calibration/fy2022_fy2023.yaml")
    ap.add_argument("--swap", action="append", default=[], help='"label: name=value ..." (repeatable)')
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    try:
        groups = [("as in force", {})] + [parse_swap(s) for s in args.swap]
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    m = CalibrationModel(args.spec)
    unknown = {n for _, v in groups for n in v} - {p.name for p in m.spec.parameters}
    if unknown:
        print(f"{args.spec}: parameters: not estimated: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    params = m.params_in_force()
    jobs = [({**params, **values}, None, seed, args.scale, ()) for _, values in groups for seed in args.seeds]
    runs = simulate_many(m.spec_path, jobs, args.processes)  # levels None: the file's own
    k = len(args.seeds)
    months, obs = m.targets.darien_months, m.targets.darien_monthly
    for g, (label, values) in enumerate(groups):
        mean = _mean(runs[g * k:(g + 1) * k])
        print(f"{label} {values or ''}")
        for e in m.spec.events:
            print(f"  {e.name}: {m.targets.ratio(mean['cells'], e):.3f} (observed {m.targets.observed_ratio(e):.3f})")
        if len(months) > 1:  # the Darién's last month against the mean of the others
            dm = mean["darien_months"].sum(axis=1)
            print(f"  Darién {months[-1]} / mean {months[0]}..{months[-2]}: {dm[-1] / dm[:-1].mean():.3f} "
                  f"(observed {obs[-1] / obs[:-1].mean():.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
