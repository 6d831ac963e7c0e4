"""The point estimate written as a scenario fragment (YAML) and a departure schedule (CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.scenario.variation import set_path
from sim.studies.calibration.simulate import CalibrationModel


def departures_csv(model: CalibrationModel, params: dict, dest: Path) -> None:
    spec, base, _, _ = model._state()
    d = pd.read_csv(base / spec.departures_file)
    month = pd.PeriodIndex(d["month"].astype(str), freq="M")
    f = np.ones(len(d))
    for labels, months, v in model.factors(params):
        sel = d["citizenship"].isin(labels).to_numpy().copy()
        if months is not None:
            sel &= (month >= months[0]) & (month <= months[1])
        f[sel] *= v
    d["persons"] = np.round(d["persons"].to_numpy(float) * f, 1)
    d.to_csv(dest, index=False)


def params_fragment(model: CalibrationModel, params: dict, departures_name: str) -> dict:
    """The overridden keys, in scenario structure."""
    spec = model.spec
    raw = model.raw_scenario(params)
    frag: dict = {}
    paths = [p for p in spec.fixed] + [p.path for p in spec.parameters if p.kind == "set"]
    paths += sorted({p.path.rsplit(".", 1)[0] for p in spec.parameters if p.kind == "origin_weight"})
    for path in paths:
        d = raw
        for k in path.split("."):
            d = d[k]
        if isinstance(d, dict):  # origin shares: rounded, and still summing to 1 exactly
            val = {k: round(float(v), 6) for k, v in d.items()}
            last = max(val, key=val.get)
            val[last] = round(1.0 - sum(v for k, v in val.items() if k != last), 6)
        else:
            val = d
        if isinstance(val, float):
            val = float(f"{val:.4g}")
        set_path(frag, path, val)
    if any(p.kind == "departures" for p in spec.parameters):
        set_path(frag, "departures.file", departures_name)
    return frag


def write_params(model: CalibrationModel, params: dict, dest: Path, dep_dest: Path, header: str) -> None:
    departures_csv(model, params, dep_dest)
    frag = params_fragment(model, params, dep_dest.name)
    dest.write_text(header + yaml.safe_dump(frag, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")


def load_params_fragment(base_scenario: Path, params_path: Path, scale: float) -> Any:
    """Base scenario merged with a params fragment (as a scenario that includes it would be)."""
    from sim.scenario.files import merge, read_raw, validate_raw

    raw = merge(read_raw(base_scenario), read_raw(params_path))
    raw["departures"]["scale"] = scale
    return validate_raw(raw, params_path)


