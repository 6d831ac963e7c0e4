"""Posterior draws: reproducible, paired between a scenario and its counterfactual, and
carrying the stated priors of uncertain lever sizes."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import tiny_scenario, write_yaml

from sim.cli import main
from sim.errors import InputError
from sim.scenario.files import read_raw, validate_raw
from sim.studies import draws as dr


def _posterior(path):
    pd.DataFrame({"behaviour.response.release_weight": [0.5, 2.0, 4.0],
                  "departures.by_citizenship.VENEZUELA.level": [80.0, 100.0, 130.0],
                  "weight": [0.2, 0.5, 0.3]}).to_parquet(path)
    return path


def _scenarios(tmp_path):
    sc = tiny_scenario(tmp_path)
    sc["posterior"] = str(_posterior(tmp_path / "post.parquet"))
    sc["policies"] = sc["policies"] + [{"type": "deportation_charters", "label": "charters", "start": "2023-02-01",
                                        "citizenship": "VENEZUELA", "flights_per_month": 4, "seats_per_flight": 100,
                                        "uncertain": {"seats_per_flight": {"low": 50, "high": 150}}}]
    base = write_yaml(tmp_path / "base.yaml", sc)
    alt = write_yaml(tmp_path / "alt.yaml", {"extends": "base.yaml", "name": "alt", "policies": [
        {"type": "panama_removal_flights", "label": "flights", "start": "2023-02-01", "nodes": ["n_jungle_exit"],
         "seats_per_week": 100, "uncertain": {"seats_per_week": {"dist": "loguniform", "low": 20, "high": 500}}}]})
    return base, alt


def test_same_seed_and_draw_give_identical_outputs(tmp_path):
    base, _ = _scenarios(tmp_path)
    outs = []
    for name in ("a", "b"):
        assert main(["run", str(base), "--out", str(tmp_path / name), "--posterior-draws", "3", "--quiet",
                     "--no-plots"]) == 0
        outs.append((tmp_path / name / "timeseries.parquet").read_bytes())
    assert outs[0] == outs[1]
    ts = pd.read_parquet(tmp_path / "a" / "timeseries.parquet")
    assert sorted(ts["draw"].unique()) == [0, 1, 2] and sorted(ts["seed"].unique()) == [1, 2, 3]
    # the draws change the run: different parameter sets give different departures
    dep = ts[ts["metric"] == "departures"].groupby("draw")["value"].sum()
    assert dep.nunique() > 1


def test_draws_are_paired_between_a_scenario_and_its_counterfactual(tmp_path):
    base, alt = _scenarios(tmp_path)
    raw_b, raw_a = read_raw(base), read_raw(alt)
    db, da = dr.draws(raw_b, base, 5, list(range(1, 6))), dr.draws(raw_a, alt, 5, list(range(1, 6)))
    assert [(d.row, d.seed, d.edits) for d in db] == [(d.row, d.seed, d.edits) for d in da]
    for j in range(5):
        vb, va = dr.lever_values(raw_b, j), dr.lever_values(raw_a, j)
        charter = [k for k in vb if k.endswith("seats_per_flight")]
        assert charter and all(vb[k] == va[k] for k in charter)  # the shared lever gets the same size
        flights = [k for k in va if k.endswith("seats_per_week")]
        assert flights and all(20 <= va[k] <= 500 for k in flights)
        sc = validate_raw(dr.apply(raw_a, da[j]), alt)
        assert sc.behaviour.response.release_weight == da[j].edits["behaviour.response.release_weight"]
    rows = {d.row for d in dr.draws(raw_b, base, 200, list(range(200)))}
    assert rows == {0, 1, 2}  # weighted draws reach every row


def test_effects_with_draws_split_the_interval(tmp_path):
    base, alt = _scenarios(tmp_path)
    out = tmp_path / "eff"
    assert main(["effects", str(alt), "--baseline", str(base), "--posterior-draws", "3", "--replicates", "2",
                 "--out", str(out), "--quiet"]) == 0
    t = pd.read_csv(out / "effects.csv").set_index("outcome")
    assert "parameter_share" in t.columns and (t["replicates"] == 3).all()
    assert t.at["removals", "difference_mean"] > 0
    assert "share of variance from parameters" in (out / "effects.md").read_text()
    assert (out / "effects.png").stat().st_size > 10_000  # the table as a figure, next to it


def test_draws_without_a_posterior_are_refused(tmp_path, capsys):
    path = write_yaml(tmp_path / "s.yaml", tiny_scenario(tmp_path))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--posterior-draws", "2", "--quiet"]) == 2
    assert "posterior: no posterior to draw from" in capsys.readouterr().err
    with pytest.raises(InputError, match="uncertain"):
        validate_raw({**tiny_scenario(tmp_path), "policies": [
            {"type": "closure", "start": "2023-02-01", "node": "n_detour", "uncertain": {"node": {"low": 0, "high": 1}}}]},
            path)


def test_compare_pairs_draws_only_with_draws(tmp_path):
    """Fan charts and differences of runs with posterior draws: members are draws, paired
    draw by draw with another run of draws, never with seeds at the estimate."""
    from sim.studies.compare import compare
    from sim.studies.compare.figures import differences
    from sim.studies.compare.read import load

    base, alt = _scenarios(tmp_path)
    for name, path, k in (("b", base, "3"), ("a", alt, "3"), ("e", alt, "0")):
        args = ["run", str(path), "--out", str(tmp_path / name), "--quiet", "--no-plots"]
        assert main(args + (["--posterior-draws", k] if k != "0" else ["--replicates", "3"])) == 0
    scs, heads = load([tmp_path / "b", tmp_path / "a", tmp_path / "e"])
    assert [s.members_are for s in scs] == ["posterior draws", "posterior draws", "seeds"]
    d = differences(scs, scs[0], heads)
    assert set(d.loc[d["scenario"] == scs[1].label, "method"]) == {"paired by seed and posterior draw (5-95%)"}
    assert set(d.loc[d["scenario"] == scs[2].label, "method"]) == {"difference of means (bootstrap 5-95%)"}
    res = compare([tmp_path / "b", tmp_path / "a"], tmp_path / "cmp", baseline=str(tmp_path / "b"))
    assert (tmp_path / "cmp" / "differences.png").is_file() and len(res["scenarios"]) == 2


def test_the_committed_draws_centre_on_the_estimate_in_force():
    """The posterior draws carry each citizenship's level and trend as deviations around
    the estimate's (``draws_table``): their median must be the parameter file's. When
    levels are re-solved without a new estimate the draws must be rebased
    (calibration/diagnostics/rebase_draws.py), or every --posterior-draws run mixes the
    new rules with the old levels."""
    import numpy as np
    import yaml
    from conftest import ROOT

    params = yaml.safe_load((ROOT / "calibration" / "fy2022_fy2023_params.yaml").read_text())
    by = params["departures"]["by_citizenship"]
    draws = pd.read_parquet(ROOT / "calibration" / "fy2022_fy2023_posterior.parquet")
    checked = 0
    for cit, v in by.items():
        col = f"departures.by_citizenship.{cit}.level"
        if col in draws:
            assert np.median(draws[col]) == pytest.approx(v["level"], rel=1e-3), cit
            checked += 1
    assert checked >= 10
