"""The effects table as a figure: each outcome's change against the baseline, with its
90% interval and, with posterior draws, how much of that interval is the parameters'.

Why relative changes on one axis: the outcomes differ by orders of magnitude (deaths
against encounters), and a lever acts on a few of them; percent of the baseline puts
them side by side, and each row is labelled with its change in people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.outcomes.metrics import POLICY_OUTCOMES

MAX_CITIZENSHIPS = 6  # the citizenships whose encounters change most, after the outcomes


def _rows(t: pd.DataFrame) -> pd.DataFrame:
    """The policy outcomes, then the citizenships whose encounters change most."""
    main = t[t["outcome"].isin(POLICY_OUTCOMES)].set_index("outcome").reindex(
        [o for o in POLICY_OUTCOMES if o in set(t["outcome"])])
    cit = t[t["outcome"].str.startswith("encounters ")].copy()
    cit = cit.loc[cit["difference_mean"].abs().sort_values(ascending=False).index[:MAX_CITIZENSHIPS]]
    cit = cit[cit["difference_mean"].abs() > 0].set_index("outcome")
    return pd.concat([main, cit])


def effects_figure(table: pd.DataFrame, baseline: str, how: str) -> Figure:
    """One panel per scenario: the mean change in percent of the baseline (dot) and the
    90% interval (bar), each row labelled with the change in people and, with draws,
    the share of the interval's variance from the parameters."""
    names = list(dict.fromkeys(table["scenario"]))
    panels = [(n, _rows(table[table["scenario"] == n])) for n in names]
    height = max(len(r) for _, r in panels) * 0.42 + 2.2
    fig = Figure(figsize=(7.5 * len(panels), height))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, r) in zip(axes, panels):
        base = r["baseline_mean"].replace(0, np.nan).to_numpy(float)
        mid = 100 * r["difference_mean"].to_numpy(float) / base
        lo = 100 * r["difference_p05"].to_numpy(float) / base
        hi = 100 * r["difference_p95"].to_numpy(float) / base
        y = np.arange(len(r))[::-1]
        ax.errorbar(np.nan_to_num(mid), y, xerr=[np.nan_to_num(mid - lo), np.nan_to_num(hi - mid)], fmt="o",
                    color="tab:blue", ecolor="tab:blue", capsize=3, ms=5)
        ax.axvline(0, color="black", lw=0.8)
        labels = []
        for (outcome, row) in r.iterrows():
            share = row.get("parameter_share", np.nan)
            extra = f", {share:.0%} param." if pd.notna(share) else ""
            labels.append(f"{outcome}\n{row['difference_mean']:+,.0f} people{extra}")
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_xlabel("change, % of the baseline (dot: mean; bar: 90% interval)")
        ax.set_title(name, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Effects against {baseline}", fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    fig.text(0.01, 0.01, how if len(how) < 400 else how[:397] + "...", fontsize=6, color="dimgray", wrap=True)
    return fig
