"""Posterior draws: runs that carry the uncertainty of the estimate, not only of the dice.

Why: with common random numbers a lever's effect has a 90% interval of a few dozen
people, while the parameters behind it are uncertain by far more. A replicate with a
posterior draw takes one parameter set from the estimate's posterior (the Parquet a
scenario names in ``posterior:``, written by ``migsim calibrate``: a column per dotted
scenario path and a weight) and, for every lever with an ``uncertain:`` field, a value
from its stated prior; plus a seed. Draws are keyed, not sequential: draw ``j`` of a
given draws seed is the same parameter set for a scenario and its counterfactual, and a
lever's uncertain size depends only on the draw and the lever's label, so the levers the
two scenarios share get the same values (paired draws).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from sim.engine.streams import derive_keys, name_id, to_uniform
from sim.errors import InputError
from sim.scenario.variation import set_path
from sim.schema import Prior

DRAWS_SEED = 20231001  # fixed: the draws are part of the method, like the seeds


@dataclass
class Draw:
    """One replicate's parameter set: its number, the posterior row, the seed."""

    index: int
    row: int | None
    seed: int
    edits: dict = field(default_factory=dict)


def read_posterior(raw: dict, scenario_path) -> pd.DataFrame:
    path = raw.get("posterior")
    if not path:
        raise InputError(scenario_path, "posterior", "no posterior to draw from (--posterior-draws needs one)")
    if not Path(path).is_file():
        raise InputError(scenario_path, "posterior", f"file not found: {path}")
    post = pd.read_parquet(path)
    if "weight" not in post.columns or len(post) == 0:
        raise InputError(path, "weight", "a posterior table needs rows and a weight column")
    return post


def draws(raw: dict, scenario_path, k: int, seeds: list[int]) -> list[Draw]:
    """``k`` posterior rows (weighted, with replacement) paired with ``seeds`` (one each)."""
    post = read_posterior(raw, scenario_path)
    w = post["weight"].to_numpy(float)
    u = to_uniform(derive_keys(np.uint64(DRAWS_SEED), np.arange(k, dtype=np.uint64)))
    rows = np.searchsorted(np.cumsum(w / w.sum()), u, side="right").clip(0, len(post) - 1)
    cols = [c for c in post.columns if c not in ("weight", "distance") and not c.startswith("level_factor.")]
    return [Draw(j, int(r), int(seeds[j]), {c: float(post.iloc[r][c]) for c in cols}) for j, r in enumerate(rows)]


def lever_values(raw: dict, j: int) -> dict[str, float]:
    """Dotted-path values for the uncertain lever fields of draw ``j`` (by lever label)."""
    out = {}
    for i, lever in enumerate(raw.get("policies") or []):
        for name, prior in (lever.get("uncertain") or {}).items():
            key = name_id(f"{lever.get('label') or lever.get('type')}|{name}")
            z = ndtri(to_uniform(derive_keys(np.uint64(DRAWS_SEED), j, key)))
            out[f"policies.{i}.{name}"] = float(Prior.model_validate(prior).from_latent(z))
    return out


def apply(raw: dict, d: Draw) -> dict:
    """The raw scenario with the draw's parameter set and uncertain lever sizes."""
    out = copy.deepcopy(raw)
    for path, value in d.edits.items():
        set_path(out, path, value)
    for path, value in lever_values(out, d.index).items():
        set_path(out, path, value)
    return out

