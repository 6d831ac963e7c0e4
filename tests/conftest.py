"""Shared fixtures: a tiny network written to a temporary folder, and helpers.

Why generated, not stored: tests vary the network and the schedule (hypothesis), and
error-path tests break one field at a time; a builder keeps each test to its point.
"""

from __future__ import annotations

from pathlib import Path

import datetime as dt
from typing import Literal

import pandas as pd
import pytest
import yaml

from sim.levers.base import Lever

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline_fy2023.yaml"

TINY_NODES = [
    # id, name, kind, lat, lon, move_chance
    ("o_a", "Origin A", "origin", 8.0, -66.0, 1.0),
    ("o_b", "Origin B", "origin", 19.0, -99.0, 1.0),
    ("n_fork", "Fork town", "transit", 9.0, -76.0, 0.6),
    ("n_jungle_exit", "Jungle exit", "station", 8.5, -77.5, 0.8),
    ("n_detour", "Detour town", "transit", 12.0, -86.0, 1.0),
    ("n_city", "Border city", "crossing", 31.7, -106.4, 0.5),
    ("b_elp", "El Paso Sector", "border_area", 31.8, -106.4, 0.0),
    ("b_epfo", "El Paso Field Office", "border_area", 31.76, -106.45, 0.0),
]
TINY_EDGES = [
    # from, to, mode, km, days, cost, hazard
    ("o_a", "n_fork", "bus", 900, 1.5, 50, 0.0),
    ("n_fork", "n_jungle_exit", "foot", 100, 3.5, 200, 0.002),
    ("n_fork", "n_detour", "boat", 400, 1.0, 400, 0.0),
    ("n_jungle_exit", "n_city", "bus", 3500, 4.0, 300, 0.0),
    ("n_detour", "n_city", "bus", 3400, 4.0, 300, 0.0),
    ("o_b", "n_city", "bus", 1500, 1.0, 100, 0.0),
    ("n_city", "b_elp", "foot", 10, 0.5, 0, 0.001),
    ("n_city", "b_epfo", "foot", 2, 0.1, 0, 0.0),
]


def write_network(folder: Path, nodes=TINY_NODES, edges=TINY_EDGES) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    n = pd.DataFrame(nodes, columns=["id", "name", "kind", "lat", "lon", "move_chance"])
    n.insert(2, "country", "X")
    n["source"] = "test"
    e = pd.DataFrame(edges, columns=["from", "to", "mode", "km", "days", "cost_usd", "hazard"])
    e["access"] = ""
    e["source"] = "test"
    n.to_csv(folder / "nodes.csv", index=False)
    e.to_csv(folder / "edges.csv", index=False)
    return folder / "nodes.csv", folder / "edges.csv"


def tiny_scenario(tmp: Path, **over) -> dict:
    write_network(tmp / "net")
    sc = {
        "name": "tiny",
        "period": {"start": "2023-01-15", "end": "2023-03-31"},
        "spinup_start": "2023-01-01",
        "network": {"nodes": "net/nodes.csv", "edges": "net/edges.csv"},
        "darien_exit_nodes": ["n_jungle_exit"],
        "seeds": [1],
        "departures": {
            "group_size": {"mean": 6, "sigma": 0.7, "max": 40},
            "money": {"median_usd": 900, "sigma": 0.6},
            "by_citizenship": {"VENEZUELA": {"level": 100.0, "origins": {"o_a": 1.0}},
                               "MEXICO": {"level": 66.0, "origins": {"o_b": 1.0}}},
        },
        "crossing": {"attractiveness": {"b_epfo": -1.4}},   # about a fifth present at the port
        "hazards": {"robbery_daily": 0.01},
        "border": {"title42_expel_share": {"default": 0.5},
                   "removal_share": {"default": 0.3}, "expelled_retry": 0.6, "expelled_retry_days": 5,
                   "removed_retry": 0.4, "removed_retry_days": 20},
        "policies": [{"type": "processing_regime", "label": "Title 42 ends", "start": "2023-02-16", "title42": False}],
    }
    for k, v in over.items():
        sc[k] = v
    return sc


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def tiny(tmp_path) -> Path:
    """Path of a valid tiny scenario file."""
    return write_yaml(tmp_path / "tiny.yaml", tiny_scenario(tmp_path))


class Spy(Lever):
    """A test lever at the arrival hook: records the rows arriving at ``node``, draws nothing."""

    type: Literal["spy"] = "spy"
    start: dt.date = dt.date(1900, 1, 1)
    node: str

    def init(self, ctx):
        ctx.watch([ctx.network.index[self.node]])
        ctx.state.seen = []
        return True

    def on_arrive(self, ctx, rows, t, p):
        ctx.state.seen.append(rows.copy())
