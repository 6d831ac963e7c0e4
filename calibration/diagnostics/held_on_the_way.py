"""Would holding people on the way (behaviour.on_the_way) fit better than giving up at once?

The estimate in force was made with everyone who stops on the way giving up for good.
This probe adds the two rates of ``behaviour.on_the_way`` (settle_rate, leave_rate) to a
copy of the calibration spec (written next to it for the run and removed after), and
scores points at the parameters in force, with levels and trends solved as in the
estimation: the calibration's distance, the monthly Pearson, Panama's periods and the
natural experiments' ratios. ``--months`` prints the monthly totals and the Venezuelans'
for the estimate and the first point given, against CBP's (for comparison only).

    PYTHONPATH=. python calibration/diagnostics/held_on_the_way.py \
        --point hold_settle=0.05,hold_leave=0.05 --point hold_settle=0.02,hold_leave=0.05 [--seeds 1000] [--months]

A point may change other parameters too (``release_weight=2.6,heard_share=0.75``). The
row "as estimated" is settle_rate 1 (the old give-up). Nothing is estimated here, and no
point it reports is written into any estimate.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from abc_convergence import parse_point

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "calibration" / "fy2022_fy2023.yaml"
RATES = [{"name": "hold_settle", "path": "behaviour.on_the_way.settle_rate",
          "prior": {"dist": "uniform", "low": 0.0, "high": 1.0}},
         {"name": "hold_leave", "path": "behaviour.on_the_way.leave_rate",
          "prior": {"dist": "uniform", "low": 0.0, "high": 1.0}}]


def main() -> None:
    from sim.citizenship import CITIZENSHIPS
    from sim.studies.calibration.simulate import CalibrationModel
    from sim.studies.calibration.targets import FitDistance, pearson

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--point", action="append", default=[], help="name=value,... (hold_settle, hold_leave, others)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1000])
    ap.add_argument("--months", action="store_true")
    a = ap.parse_args()
    spec = yaml.safe_load(SPEC.read_text())
    spec["parameters"] += RATES
    fd, name = tempfile.mkstemp(suffix=".yaml", prefix="_held_probe_", dir=SPEC.parent)
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        base = {**CalibrationModel(SPEC).params_in_force(), "hold_settle": 1.0, "hold_leave": 0.1}
        points = [("as estimated", {})] + [(p, parse_point(p)) for p in a.point]
        unknown = {k for _, ch in points for k in ch} - set(base)
        if unknown:
            raise SystemExit(f"held_on_the_way: --point: no parameter {sorted(unknown)}")
        months = {}
        for seed in a.seeds:
            m = CalibrationModel(name, seeds=[seed])
            t, dist = m.targets, FitDistance(m.targets)
            for label, change in points:
                st = m({**base, **change})
                pm = pearson((st["cells"] * t.weight).sum(axis=1), (t.cells * t.weight).sum(axis=1))
                dar = " ".join(f"{t.darien_by_label(st, i).sum() / p.total - 1:+.3f}" for i, p in enumerate(t.darien))
                ev = " ".join(f"{e.name.split()[0]}{'r' if 'rebound' in e.name else ''} {t.ratio(st['cells'], e):.3f}"
                              for e in t.events)
                print(f"seed {seed} {label}: distance {dist(st):.3f} Pearson {pm:.3f} | Darién {dar} | {ev}", flush=True)
                if a.months and seed == a.seeds[0] and len(months) < 4:
                    s = pd.DataFrame(st["cells"] * t.weight, index=t.months, columns=CITIZENSHIPS)
                    months[label[:20]], months[label[:20] + " VEN"] = s.sum(axis=1), s["VENEZUELA"]
            if months and "CBP" not in months:
                o = pd.DataFrame(t.cells * t.weight, index=t.months, columns=CITIZENSHIPS)
                months["CBP"], months["CBP VEN"] = o.sum(axis=1), o["VENEZUELA"]
        if months:
            print("\nthousands of encounters (the first seed)")
            print((pd.DataFrame(months) / 1000).round(1).to_string())
    finally:
        Path(name).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
