"""Does one retry rate after a Title 42 expulsion pull the natural experiments apart?

``border.expelled_retry`` is one share for everyone expelled under Title 42: Mexicans
and northern Central Americans put back across the border, and, once Mexico accepted
them (``title42_returns``), Venezuelans (E3) and Cubans, Haitians and Nicaraguans (E4)
returned to Mexico. It does two things. Those who retry cross again, so the encounters
of a high rate are partly repeat crossings, and these end with Title 42 (E5). And the
release chance people expect counts a retry as not sent home, so a high rate makes a
return to Mexico look mild to those deciding (E3, E4). An estimation that carried the
rate (commit 9185192) left it wide. This probe runs the history at its estimate with the
rates given and prints the experiments' ratios, the monthly Pearson and the fiscal-year
totals. The levels are not re-solved, so the totals move with the rate; the ratios and
the Pearson do not depend on the scale. Nothing is re-estimated.

    PYTHONPATH=. python calibration/diagnostics/retry_rates.py [--rates 0.5 0.2 0.8] [--split 0.8,0.2] [--scale 0.05]

``--split`` rows give those returned to Mexico (``border.returned_retry``) a rate of
their own.

The observed row (calibration/targets, the figures the estimation is judged on) is
printed for comparison only; nothing here is fitted to it.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from waiting_pool import history_at, simulated, summary  # noqa: E402  (the same runs and ratios)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", type=float, nargs="+", default=[0.5, 0.2, 0.8])
    ap.add_argument("--split", nargs="*", default=["0.8,0.2", "0.8,0.0"],
                    help="expelled,returned pairs: border.expelled_retry and border.returned_retry")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    raw, obs, obs_total = history_at(a.scale)
    rows = {"observed": summary(obs, obs_total)}
    for rate in a.rates:
        r = copy.deepcopy(raw)
        r["border"]["expelled_retry"] = rate
        rows[f"retry {rate}"] = summary(simulated(r, a.seed, a.scale), obs_total)
    for pair in a.split:
        expelled, returned = (float(x) for x in pair.split(","))
        r = copy.deepcopy(raw)
        r["border"].update(expelled_retry=expelled, returned_retry=returned)
        rows[f"expelled {expelled}, returned {returned}"] = summary(simulated(r, a.seed, a.scale), obs_total)
    print(f"history at its estimate (retry as written {raw['border'].get('expelled_retry')}), scale {a.scale}, "
          f"seed {a.seed}; levels not re-solved")
    print(pd.DataFrame(rows).T.round(3).to_string())


if __name__ == "__main__":
    main()
