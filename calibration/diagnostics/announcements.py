"""Would news of Title 42's end, heard before it came, make the months the model misses?

The history announces a rule on the day it starts. Three pieces of news of a rule not in
force came earlier: a court vacated Title 42 on 2022-11-15 with effect on 2022-12-21,
until the Supreme Court kept it in force (administrative stay 2022-12-19, stay granted
2022-12-27; Huisha-Huisha v. Mayorkas, D.D.C.; Arizona v. Mayorkas, S. Ct.); on
2023-01-30 the administration announced that the COVID-19 emergencies, and with them
Title 42, would end on 2023-05-11; and the Circumvention of Lawful Pathways rule that
would follow was proposed on 2023-02-21 (88 FR 11704). This probe runs the history at its
estimate without and with the vacatur news (whichever the history carries is marked "as
written"), then with the two later pieces added one by one as ``announced_rule`` levers
(the rule's removal shares read from the history's own E5 lever), and prints the
monthly encounters of October 2022 - September 2023, the monthly Pearson over the 24
months, the E5 fall (June / April 2023) and the E3 and E4 falls (Venezuelans November /
September 2022; Cubans, Haitians and Nicaraguans February 2023 / December 2022). No parameter is re-estimated: it says
whether the next estimation should carry the news.

    PYTHONPATH=. python calibration/diagnostics/announcements.py [--scale 0.1] [--seeds 1 2]

The observed row (calibration/targets, the figures the estimation is judged on) is
printed for comparison only; nothing here is fitted to it.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import pandas as pd
from in_force import inputs_of, scenario_at

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "history_fy2022_fy2023.yaml"
RULE = "E5 Circumvention of Lawful Pathways rule"
OBSERVED = ROOT / "calibration" / "targets" / "cbp_encounters_by_month_citizenship.csv"


VACATUR = "Title 42 vacated by the court (news)"
VACATUR_LEVER = {"type": "announced_rule", "label": VACATUR, "start": "2022-11-15", "end": "2022-12-27",
                 "title42": False}
CHN = ["CUBA", "HAITI", "NICARAGUA"]


def news(raw: dict) -> list[dict]:
    """The two later pieces of news, dated and sourced (module docstring)."""
    rule = next(p for p in raw["policies"] if p.get("label") == RULE)
    return [
        {"type": "announced_rule", "label": "E5 Title 42's end announced", "start": "2023-01-30",
         "end": "2023-05-11", "title42": False},
        {"type": "announced_rule", "label": "E5 Circumvention rule proposed", "start": "2023-02-21",
         "end": "2023-05-11", "removal_share": rule["removal_share"], "removed_retry": rule["removed_retry"]},
    ]


def observed_monthly() -> pd.DataFrame:
    """Encounters by month (rows) and citizenship (columns), thousands."""
    obs = pd.read_csv(OBSERVED)
    return obs.pivot_table(index=pd.PeriodIndex(obs["month"], freq="M"), columns="citizenship",
                           values="encounters", aggfunc="sum").fillna(0.0) / 1000


def monthly_encounters(raw: dict, seeds: list[int], scale: float) -> pd.DataFrame:
    """Simulated encounters by month and citizenship at full scale, thousands (mean over seeds)."""
    from sim.studies.runner import simulate

    inp = inputs_of(raw, SCENARIO)
    out = []
    for seed in seeds:
        e = simulate(inp, seed).timeseries
        e = e[e["metric"] == "encounters"]
        out.append(e.pivot_table(index=pd.to_datetime(e["date"]).dt.to_period("M"), columns="nationality",
                                 values="value", aggfunc="sum").fillna(0.0) / scale / 1000)
    return (sum(out) / len(out)).loc["2021-10":"2023-09"]


def probe_setup(doc: str) -> tuple[argparse.Namespace, dict]:
    """A news probe's command line (--scale, --seeds) and the history at that scale."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    return a, scenario_at(a.scale, SCENARIO)


def toggled(raw: dict, label: str, lever: dict) -> tuple[bool, dict, dict]:
    """Whether the history carries the lever labelled ``label``, and the history without
    it and with ``lever`` (so a probe reads the same whichever the history holds)."""
    has = any(p.get("label") == label for p in raw["policies"])
    without = copy.deepcopy(raw)
    without["policies"] = [p for p in raw["policies"] if p.get("label") != label]
    with_it = copy.deepcopy(without)
    with_it["policies"].append(dict(lever))
    return has, without, with_it


def main() -> None:
    a, raw = probe_setup(__doc__)
    obs_by = observed_monthly().loc["2021-10":"2023-09"]
    obs = obs_by.sum(axis=1)
    has, without, with_v = toggled(raw, VACATUR, VACATUR_LEVER)
    by = {"observed": obs_by,
          "no vacatur news" + ("" if has else " (as written)"): monthly_encounters(without, a.seeds, a.scale),
          "+ vacatur news" + (" (as written)" if has else ""): monthly_encounters(with_v, a.seeds, a.scale)}
    items = news(raw)
    for k, name in enumerate(("+ end announced", "+ rule proposed"), start=1):
        r = copy.deepcopy(with_v)
        r["policies"] = list(with_v["policies"]) + items[:k]   # each row adds one more piece of news
        by[name] = monthly_encounters(r, a.seeds, a.scale)
    rows = {name: t.sum(axis=1) for name, t in by.items()}
    table = pd.DataFrame(rows).T
    print(f"encounters, thousands a month at full scale (scale {a.scale}, seeds {a.seeds}), October 2022 on:")
    print(table.loc[:, "2022-10":].round().astype(int).to_string())
    for name, s in rows.items():
        pearson = np.corrcoef(s.to_numpy(), obs.to_numpy())[0, 1]
        e5 = s.loc["2023-06"] / s.loc["2023-04"]
        dec = s.loc["2022-12"] / s.loc["2022-10"]
        v = by[name]["VENEZUELA"]
        chn = by[name][CHN].sum(axis=1)
        print(f"  {name:28s} Pearson of the 24 months {pearson:.3f}; E5 fall Jun/Apr 2023 {e5:.3f}; "
              f"Dec/Oct 2022 {dec:.3f}; E3 Nov/Sep 2022 {v.loc['2022-11'] / v.loc['2022-09']:.3f}; "
              f"E4 Feb 2023/Dec 2022 {chn.loc['2023-02'] / chn.loc['2022-12']:.3f}")


if __name__ == "__main__":
    main()
