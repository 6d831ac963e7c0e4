"""Would the Circumvention rule as announced, then learnt as applied, make both halves of E5?

The E5 probe (e5_removal_share.py) found one removal share cannot make the fall after
Title 42's end and the rebound to September: high shares make the fall and no rebound,
low shares the rebound and no fall. The two halves fit one story. What was announced on
2023-05-10/12 was the rule's text: whoever crossed between ports without a CBP One
appointment after passing through another country is presumed ineligible for asylum
and, if the presumption is not rebutted, removed with a five-year bar (88 FR 31314;
DHS fact sheet of 2023-05-10). What followed was the rule as applied: few removal
flights to Venezuela (none until 2023-10-05), Cuba or Nicaragua, and most encounters
released to pursue their cases. People who heard the announcement expected removal;
then they learnt their co-nationals' outcomes.

This probe runs the history at its estimate without and with an ``announced_rule``
from 2023-05-12, with no end since the rule stays in force (the history carries it since
this probe; the row it matches is marked "as written"). Its removal share is the
presumption as written, 1 for every citizenship the rule covers (all but Mexicans,
who cross without passing through a third country: null, nothing new for them); the
retry rate believed is the rule's own. Nothing is processed under the news; the share who hear
(``behaviour.beliefs.heard_share``) and how fast beliefs follow outcomes
(``behaviour.beliefs.learning_rate``) are the estimate's, and the news, like every
removal share, is multiplied by ``border.removal_scale``. It prints monthly encounters of
March - September 2023, the E5 fall (June / April) and rebound (September / June), and the
Pearson of the 24 monthly totals. No parameter is re-estimated.

    PYTHONPATH=. python calibration/diagnostics/e5_rule_news.py [--scale 0.1] [--seeds 1 2]

The observed row (calibration/targets, the figures the estimation is judged on) is
printed for comparison only; nothing here is fitted to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from announcements import RULE, monthly_encounters, observed_monthly, probe_setup, toggled

NEWS_LABEL = "E5 Circumvention rule as announced (news)"


def rule_news(raw: dict) -> dict:
    """The rule's text as news: presumed ineligible, removed (1 for every covered
    citizenship; Mexicans, whom it does not cover, hear nothing new). It starts with the
    rule (``RULE``), whose retry rate is the one believed."""
    rule = next(p for p in raw["policies"] if p.get("label") == RULE)
    return {"type": "announced_rule", "label": NEWS_LABEL, "start": rule["start"],
            "removal_share": {"default": 1.0, "MEXICO": None}}


def main() -> None:
    a, raw = probe_setup(__doc__)
    obs = observed_monthly().loc["2021-10":"2023-09"].sum(axis=1)
    has, without, with_news = toggled(raw, NEWS_LABEL, rule_news(raw))
    rows = {"observed": obs,
            "no news of the rule" + ("" if has else " (as written)"):
                monthly_encounters(without, a.seeds, a.scale).sum(axis=1),
            "+ the rule as announced" + (" (as written)" if has else ""):
                monthly_encounters(with_news, a.seeds, a.scale).sum(axis=1)}
    table = pd.DataFrame(rows).T
    print(f"encounters, thousands a month at full scale (scale {a.scale}, seeds {a.seeds}):")
    print(table.loc[:, "2023-03":].round().astype(int).to_string())
    for name, s in rows.items():
        pearson = np.corrcoef(s.to_numpy(), obs.to_numpy())[0, 1]
        print(f"  {name:38s} E5 fall Jun/Apr {s.loc['2023-06'] / s.loc['2023-04']:.3f}; "
              f"rebound Sep/Jun {s.loc['2023-09'] / s.loc['2023-06']:.3f}; Pearson of the 24 months {pearson:.3f}")


if __name__ == "__main__":
    main()
