"""Has the ABC converged? The distance at the estimate against the distance at other points.

An ABC posterior is the prior cut down to the parameters whose simulations lie within
the last threshold. If the run stops while points well under that threshold exist, the
posterior is as wide as the threshold, not as the data allow, and its median can sit
between regions that fit very differently. This probe evaluates the calibration's own
distance (``FitDistance`` of the spec's weights, each particle's levels and trends solved
as in the estimation) at the estimate in force and at points given as changes to it,
for several seeds, so that a gap between them can be told from simulation noise: with
common random numbers each seed compares the points on the same draws.

    PYTHONPATH=. python calibration/diagnostics/abc_convergence.py \
        --point heard_share=0.9,removal_scale=0.42,belief_rate=0.015 [--seeds 1000 1001]

It prints, per seed and point, the weighted distance, each family and the natural
experiments' ratios. The ABC's thresholds are in ``calibration/REPORT.md``. Nothing is
estimated here, and no point it reports is written into any estimate.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "calibration" / "fy2022_fy2023.yaml"


def parse_point(text: str) -> dict[str, float]:
    """``name=value,name=value`` (names of the spec's parameters)."""
    out = {}
    for item in text.split(","):
        name, value = item.split("=")
        out[name.strip()] = float(value)
    return out


def main() -> None:
    from sim.studies.calibration.simulate import CalibrationModel
    from sim.studies.calibration.targets import FitDistance

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--point", action="append", default=[], help="name=value,... changes to the estimate")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001])
    a = ap.parse_args()
    points = [("estimate", {})] + [(t, parse_point(t)) for t in a.point]
    for seed in a.seeds:
        model = CalibrationModel(SPEC, seeds=[seed])
        targets, distance = model.targets, FitDistance(model.targets)
        base = model.params_in_force()
        unknown = {n for _, change in points for n in change} - set(base)
        if unknown:
            raise SystemExit(f"abc_convergence: --point: no parameter {sorted(unknown)} in {SPEC.name}")
        for label, change in points:
            stats = model({**base, **change})
            fam, total = targets.families(stats), distance(stats)
            ratios = " ".join(f"{e.name.split()[0]}{'r' if 'rebound' in e.name else ''} "
                              f"{targets.ratio(stats['cells'], e):.3f}" for e in targets.events)
            families = " ".join(f"{k} {v:.3f}" for k, v in fam.items())
            print(f"seed {seed} {label}: distance {total:.3f} | {families} | {ratios}", flush=True)


if __name__ == "__main__":
    main()
