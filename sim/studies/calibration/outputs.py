"""The estimate written as a scenario fragment: levels and shared parameters.

Why a fragment: the history scenario (and every scenario that extends it) reads the
estimate through ``extends``, so re-estimating changes one generated file and nothing
a person wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sim.citizenship import CITIZENSHIPS
from sim.scenario.variation import set_path
from sim.studies.calibration.spec import Spec
from sim.studies.calibration.targets import TREND_BOUND
from sim.studies.storage import atomic_text


def params_fragment(spec: Spec, params: dict, levels: np.ndarray, citizenships: list[str],
                    attractiveness: dict[str, float] | None = None, trends: np.ndarray | None = None) -> dict:
    """The estimated values in scenario structure (4 significant digits), with the levels
    (and solved trends) of the scenario's ``citizenships`` and the border areas'
    attractiveness."""
    frag: dict = {}
    for p in spec.parameters:
        set_path(frag, p.path, float(f"{float(params[p.name]):.4g}"))
    for i, (c, v) in enumerate(zip(CITIZENSHIPS, levels)):
        if c in citizenships:
            if trends is not None:
                set_path(frag, f"departures.by_citizenship.{c}.trend", float(f"{float(trends[i]):.4g}"))
            set_path(frag, f"departures.by_citizenship.{c}.level", float(f"{float(v):.5g}"))
    if attractiveness:
        frag.setdefault("crossing", {})["attractiveness"] = {k: float(f"{float(v):.4g}")
                                                             for k, v in sorted(attractiveness.items())}
    return frag


def write_params(spec: Spec, params: dict, levels: np.ndarray, citizenships: list[str], dest: Path, header: str,
                 attractiveness: dict[str, float] | None = None, trends: np.ndarray | None = None) -> None:
    frag = params_fragment(spec, params, levels, citizenships, attractiveness, trends)
    text = header + yaml.safe_dump(frag, sort_keys=False, allow_unicode=True, width=110)
    atomic_text(dest, text)


def draws_table(spec: Spec, post, levels: np.ndarray, citizenships: list[str], trends: np.ndarray | None = None):
    """The posterior as parameter sets a run can draw from: one row per particle, a column
    per dotted scenario path (the shared parameters and each citizenship's level and
    solved trend) and its weight. A particle's levels are the refined levels times its own
    level factors relative to the weighted median factor (its run asked for that much
    more or less); its trends likewise the refined trends plus its own trend change less
    the weighted median change, kept within the scenario's bound (``TREND_BOUND``): a
    draw beyond it would be refused by the scenario it is written into."""
    import pandas as pd

    from sim.studies.calibration.abc import weighted_quantile

    w = post["weight"].to_numpy()
    out = pd.DataFrame({"weight": w / w.sum()})
    for p in spec.parameters:
        out[p.path] = post[p.name].to_numpy()
    for c, lv in zip(CITIZENSHIPS, levels):
        col = f"level_factor.{c}"
        if c not in citizenships:
            continue
        if col in post:
            f = post[col].to_numpy()
            med = weighted_quantile(f, w, 0.5)
            out[f"departures.by_citizenship.{c}.level"] = lv * f / med if med > 0 else lv
        else:
            out[f"departures.by_citizenship.{c}.level"] = lv
    if trends is not None:
        for c, tr in zip(CITIZENSHIPS, trends):
            col = f"trend_shift.{c}"
            if c not in citizenships:
                continue
            d = post[col].to_numpy() - weighted_quantile(post[col].to_numpy(), w, 0.5) if col in post else 0.0
            out[f"departures.by_citizenship.{c}.trend"] = np.clip(tr + d, -TREND_BOUND, TREND_BOUND)
    return out
