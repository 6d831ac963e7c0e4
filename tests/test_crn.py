"""Common random numbers: a lever changes outcomes only where it acts.

(The issue's benchmark figure, the ratio of paired-difference spreads on the full
panama_removal_flights scenario over 20 seeds, is measured by benchmarks/crn_variance.py.)
"""

import numpy as np
import pandas as pd
import pytest
from conftest import Spy, tiny_scenario, write_yaml

from sim.cli import main
from sim.engine.model import RouteModel
from sim.scenario.inputs import Inputs

FLIGHTS = {"type": "panama_removal_flights", "start": "2023-02-10", "nodes": ["n_jungle_exit"],
           "seats_per_week": 350, "citizenships": ["VENEZUELA"], "selected_share": 0.6}


def scenario(tmp_path, name, policies, mode="common"):
    sc = tiny_scenario(tmp_path)
    sc["name"] = "crn"
    sc["policies"] = policies
    sc["random_numbers"] = mode
    return write_yaml(tmp_path / f"{name}.yaml", sc)


def test_a_lever_that_does_nothing_is_byte_identical(tmp_path):
    base = scenario(tmp_path, "base", [])
    idle = scenario(tmp_path, "idle", [{**FLIGHTS, "seats_per_week": 0}])
    for name, path in (("a", base), ("b", idle)):
        assert main(["run", str(path), "--out", str(tmp_path / name), "--quiet", "--no-plots", "--replicates", "2"]) == 0
    assert (tmp_path / "a" / "timeseries.parquet").read_bytes() == (tmp_path / "b" / "timeseries.parquet").read_bytes()
    assert (tmp_path / "a" / "summary.json").read_text().replace("idle.yaml", "base.yaml") == \
        (tmp_path / "b" / "summary.json").read_text().replace("idle.yaml", "base.yaml")


def _run_with_spy(path, place, seed=1):
    """Run, marking every group that arrives at ``place`` (the spy draws no random numbers)."""
    m = RouteModel(Inputs.load(path), seed)
    seen = m.levers.install(Spy(node=place), 99).state.seen
    m.run()
    g = m.groups
    tainted = np.zeros(g.n, bool)
    if seen:
        tainted[np.concatenate(seen)] = True
    for r in range(g.n):  # descendants of a marked group are marked (parents precede children)
        if g.parent[r] >= 0 and tainted[g.parent[r]]:
            tainted[r] = True
    cols = ("size", "cit", "node", "edge", "status", "fate", "remaining", "money", "days_travelling", "born", "attempts")
    rows = np.flatnonzero(~tainted)
    frame = pd.DataFrame({c: getattr(g, c)[: g.n][rows] for c in cols}, index=g.key[: g.n][rows])
    return m, frame.sort_index()


@pytest.mark.parametrize("seed", [1, 2])
def test_groups_that_never_pass_the_lever_place_keep_their_trajectories(tmp_path, seed):
    _, a = _run_with_spy(scenario(tmp_path, "base", []), "n_jungle_exit", seed)
    m, b = _run_with_spy(scenario(tmp_path, "flights", [FLIGHTS]), "n_jungle_exit", seed)
    assert m.timeseries().query("metric == 'removals' and place == 'n_jungle_exit'")["value"].sum() > 0
    assert len(a) > 100
    pd.testing.assert_frame_equal(a, b)


def test_single_stream_mode_diverges_everywhere(tmp_path):
    a = RouteModel(Inputs.load(scenario(tmp_path, "a", [], "single")), 1).run().timeseries()
    b = RouteModel(Inputs.load(scenario(tmp_path, "b", [FLIGHTS], "single")), 1).run().timeseries()
    mex = lambda ts: ts[(ts["metric"] == "encounters") & (ts["nationality"] == "MEXICO")].reset_index(drop=True)
    assert not mex(a).equals(mex(b))  # one extra draw shifts every later draw


def test_common_numbers_shrink_the_spread_of_paired_differences(tmp_path):
    def diffs(mode):
        a_in = Inputs.load(scenario(tmp_path, f"a{mode}", [], mode))
        b_in = Inputs.load(scenario(tmp_path, f"b{mode}", [{**FLIGHTS, "seats_per_week": 70}], mode))
        out = []
        for seed in range(1, 13):
            ta = RouteModel(a_in, seed).run().timeseries()
            tb = RouteModel(b_in, seed).run().timeseries()
            enc = lambda ts: ts.loc[ts["metric"] == "encounters", "value"].sum()
            out.append(enc(tb) - enc(ta))
        return np.array(out, dtype=float)

    common, single = diffs("common"), diffs("single")
    assert common.mean() < 0 and single.mean() < 0
    assert common.std(ddof=1) * 5 <= single.std(ddof=1)
