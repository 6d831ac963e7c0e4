"""Would a parameter the estimate in force was made without fit better? Points scored with it added.

The shared machinery of the probes of a new mechanism (``held_on_the_way.py``,
``prevalence.py``): the new parameters are added to a copy of the calibration spec
(written next to it for the run and removed after), and points are scored at the
parameters in force, with levels and trends solved as in the estimation: the
calibration's distance, the monthly Pearson, Panama's periods and the natural
experiments' ratios. ``--terms`` splits the distance into its weighted terms (which
term prefers which point); ``--months`` prints the monthly totals and the Venezuelans'
for the first points given, against CBP's (for comparison only). Nothing is estimated here,
and no point it reports is written into any estimate.
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


def probe(doc: str, tag: str, added: list[dict], off: dict[str, float | str], scenario: dict | None = None) -> None:
    """Score ``--point``s with the spec's parameters plus ``added`` (spec entries); the
    row "as estimated" takes the added ones at ``off`` (the mechanism switched off; a
    value that is a parameter's name takes that parameter's value in force).
    ``scenario``: settings for every row (the history scenario extended by them, written
    next to it for the run and removed after)."""
    from sim.citizenship import CITIZENSHIPS
    from sim.studies.calibration.simulate import CalibrationModel
    from sim.studies.calibration.targets import FitDistance

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--point", action="append", default=[], help=f"name=value,... ({', '.join(off)}, others)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1000])
    ap.add_argument("--months", action="store_true")
    ap.add_argument("--terms", action="store_true", help="print each weighted term of the distance")
    a = ap.parse_args()
    spec = yaml.safe_load(SPEC.read_text())
    spec["parameters"] += [p for p in added if p["name"] not in {q["name"] for q in spec["parameters"]}]
    fd, name = tempfile.mkstemp(suffix=".yaml", prefix=f"_{tag}_probe_", dir=SPEC.parent)
    history = (SPEC.parent / spec["scenario"]).resolve()
    sfd, sname = tempfile.mkstemp(suffix=".yaml", prefix=f"_{tag}_probe_", dir=history.parent)
    try:
        with os.fdopen(sfd, "w") as f:
            yaml.safe_dump({"extends": history.name, **(scenario or {})}, f, sort_keys=False)
        spec["scenario"] = os.path.relpath(sname, SPEC.parent)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        in_force = CalibrationModel(SPEC).params_in_force()
        base = {**{k: in_force[v] if isinstance(v, str) else v for k, v in off.items()}, **in_force}
        points = [("as estimated", {})] + [(p, parse_point(p)) for p in a.point]
        unknown = {k for _, ch in points for k in ch} - set(base)
        if unknown:
            raise SystemExit(f"{tag}: --point: no parameter {sorted(unknown)}")
        months = {}
        for seed in a.seeds:
            m = CalibrationModel(name, seeds=[seed])
            t, dist = m.targets, FitDistance(m.targets)
            for label, change in points:
                st = m({**base, **change})
                dar = " ".join(f"{t.darien_by_label(st, i).sum() / p.total - 1:+.3f}" for i, p in enumerate(t.darien))
                ev = " ".join(f"{e.name.split()[0]}{'r' if 'rebound' in e.name else ''} {t.ratio(st['cells'], e):.3f}"
                              for e in t.events)
                fam = t.families(st)
                pm = 1.0 - fam["months_shape"]  # the Pearson of the monthly totals
                print(f"seed {seed} {label}: distance {dist(st):.3f} cells {fam['cells']:.3f} Pearson {pm:.3f} "
                      f"| Darién {dar} | {ev}", flush=True)
                if a.terms:
                    terms = " ".join(f"{k} {w * fam[k]:.3f}" for k, w in dist.weights.items())
                    print(f"    weighted terms: {terms}", flush=True)
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
        Path(sname).unlink(missing_ok=True)
