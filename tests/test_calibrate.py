"""Calibration: distance properties, calibration-file errors, and a tiny end-to-end smoke run."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, tiny_scenario, write_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.citizenship import CITIZENSHIPS
from sim.cli import main
from sim.studies.calibration import abc, command, outputs, simulate, spec as cspec, targets

pytest.importorskip("pyabc")


# ---------------------------------------------------------------- distance
def _stats(rng, n=22):
    return {
        "enc_citizenship": rng.uniform(10, 1e5, n),
        "enc_month": rng.uniform(1e4, 2e5, 12),
        "enc_area": rng.uniform(1e3, 1e5, 13),
        "enc_component": rng.uniform(1e4, 1e6, 2),
        "darien_month": rng.uniform(1e4, 8e4, 12),
        "darien_total": np.array([5e5]),
        "darien_full": np.array([3e5, 6e4, 4e4, 2e4]),
        "darien_part": np.array([2e5, 4e4, 4e4, 1e4, 1e4, 3e3, 700, 1.5e4]),
    }


W = {k: 1.0 for k in cspec.FAMILIES}


def test_rel_l1_convention():
    assert targets.rel_l1([1, 2, 3], [1, 2, 3]) == 0
    assert targets.rel_l1([2, 2], [1, 3]) == pytest.approx(2 / 4)
    # Flee's convention: relative to the observed sum, so it scales with neither unit nor size
    assert targets.rel_l1(np.array([2, 2]) * 1000, np.array([1, 3]) * 1000) == pytest.approx(0.5)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 0.5))
def test_distance_zero_at_observed_and_grows(seed, eps):
    rng = np.random.default_rng(seed)
    obs = _stats(rng)
    d = targets.FitDistance(W)
    assert d(obs, obs) == pytest.approx(0.0, abs=1e-12)
    small = {k: v * (1 + eps) for k, v in obs.items()}
    big = {k: v * (1 + 2 * eps) for k, v in obs.items()}
    assert 0 < d(small, obs) < d(big, obs)
    fam = d.families(small, obs)
    # a uniform scale-up leaves ranks alone and moves every count family by exactly eps
    assert fam["rank_citizenship"] == pytest.approx(0.0, abs=1e-12)
    assert fam["rank_darien"] == pytest.approx(0.0, abs=1e-12)
    for k in ("enc_total", "enc_citizenship", "enc_month", "darien_total", "darien_month"):
        assert fam[k] == pytest.approx(eps)


def test_distance_weights_and_rank_term():
    rng = np.random.default_rng(3)
    obs = _stats(rng)
    sim = dict(obs)
    sim["enc_citizenship"] = obs["enc_citizenship"][::-1].copy()  # same total, ranks scrambled
    only_rank = targets.FitDistance({"rank_citizenship": 2.0})
    only_total = targets.FitDistance({"enc_total": 1.0})
    assert only_total(sim, obs) == pytest.approx(0.0, abs=1e-12)
    f = only_rank.families(sim, obs)
    assert only_rank(sim, obs) == pytest.approx(2.0 * f["rank_citizenship"])
    assert f["rank_citizenship"] > 0.5


def test_weighted_quantile():
    x = np.array([1.0, 2.0, 3.0])
    assert abc.weighted_quantile(x, np.array([1, 1, 1]), 0.5) == pytest.approx(2.0)
    assert abc.weighted_quantile(x, np.array([0.0, 0.0, 1.0]), 0.5) == pytest.approx(3.0)


# ---------------------------------------------------------------- the tiny calibration
def _targets(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    src = "test"
    pd.DataFrame({"citizenship": ["VENEZUELA", "MEXICO"], "encounters": [6500, 4500], "source": src}).to_csv(
        folder / "cit.csv", index=False)
    pd.DataFrame({"month": ["2023-01", "2023-02", "2023-03"], "encounters": [1500, 4500, 5000],
                  "source": src}).to_csv(folder / "month.csv", index=False)
    pd.DataFrame({"area": ["El Paso Sector", "El Paso Field Office"],
                  "component": ["U.S. Border Patrol", "Office of Field Operations"],
                  "encounters": [8800, 2200], "source": src}).to_csv(folder / "area.csv", index=False)
    pd.DataFrame({"month": ["2023-01", "2023-02", "2023-03"], "crossings": [1500, 2500, 2600],
                  "source_kind": "reported", "source": src}).to_csv(folder / "dm.csv", index=False)
    pd.DataFrame({"nationality": ["VENEZUELA", "TOTAL", "VENEZUELA", "OTHER", "TOTAL"],
                  "period": ["2023 full", "2023 full", "2023 Jan-Feb", "2023 Jan-Feb", "2023 Jan-Feb"],
                  "crossings": [6600, 6600, 4000, 10, 4010], "source": src}).to_csv(folder / "dn.csv", index=False)
    pd.DataFrame({"citizenship": ["VENEZUELA", "VENEZUELA", "MEXICO", "MEXICO"],
                  "area": ["El Paso Sector", "El Paso Field Office"] * 2,
                  "encounters": [5200, 1300, 3600, 900], "source": src}).to_csv(folder / "ca.csv", index=False)
    return folder


def tiny_spec(tmp: Path, **over) -> dict:
    write_yaml(tmp / "tiny.yaml", tiny_scenario(tmp))
    _targets(tmp / "targets")
    spec = {
        "name": "tiny_cal",
        "scenario": "tiny.yaml",
        "departures_file": "dep.csv",
        "targets": "targets",
        "target_files": {"by_citizenship": "cit.csv", "by_month": "month.csv", "by_area": "area.csv",
                         "darien_monthly": "dm.csv", "darien_by_nationality": "dn.csv",
                         "holdout_citizenship_area": "ca.csv"},
        "windows": {"encounters": ["2023-01-15", "2023-03-31"], "darien": ["2023-01-15", "2023-03-31"],
                    "darien_partial": ["2023-01-15", "2023-02-28"]},
        "groups": {"all": ["VENEZUELA", "MEXICO"]},
        "parameters": [
            {"name": "dep_ven", "kind": "departures", "citizenships": ["VENEZUELA"], "prior": {"low": 0.5, "high": 1.5}},
            {"name": "season_mar", "kind": "departures", "citizenships": "all", "months": ["2023-03", "2023-03"],
             "prior": {"low": 0.7, "high": 1.3}},
            {"name": "km_weight", "path": "route_choice.km_weight", "prior": {"dist": "loguniform", "low": 0.3, "high": 3}},
        ],
        "weights": {"enc_total": 1, "enc_citizenship": 1, "enc_month": 1, "darien_total": 1, "rank_darien": 0.5},
        "simulation": {"scale": 1.0, "seeds": [7]},
        "abc": {"processes": 1},
        "verify": {"candidates": ["best"]},
        "quick": {"population_size": 4, "max_generations": 1, "max_walltime_minutes": 1, "scale": 1.0,
                  "verify_seeds": [1], "verify_scale": 1.0, "predictive_draws": 2},
        "acceptance": {"named_rel": {"MEXICO": 0.2}, "darien_top": ["VENEZUELA"]},
    }
    spec.update(over)
    return spec


def test_quick_smoke_run(tmp_path):
    path = write_yaml(tmp_path / "cal.yaml", tiny_spec(tmp_path))
    out = tmp_path / "out"
    s = command.calibrate(path, out=out, quick=True, log=lambda *a: None)
    for name in ("posterior.parquet", "abc.db", "REPORT.md", "fy2023_params.yaml", "fy2023_departures.csv"):
        assert (out / name).is_file(), name
    assert (out / "plots" / "encounters_by_month.png").is_file()
    post = pd.read_parquet(out / "posterior.parquet")
    assert {"dep_ven", "season_mar", "km_weight", "weight"} <= set(post.columns)
    assert post["weight"].sum() == pytest.approx(1.0)
    assert not (tmp_path / "fy2023_params.yaml").exists()  # --quick never writes next to the spec
    frag = yaml.safe_load((out / "fy2023_params.yaml").read_text())
    assert set(frag) == {"route_choice", "departures"}
    assert frag["departures"]["file"] == "fy2023_departures.csv"
    # the fragment merged over the scenario is a valid scenario whose schedule carries the multipliers
    sc = outputs.load_params_fragment(tmp_path / "tiny.yaml", out / "fy2023_params.yaml", 1.0)
    chosen = s["chosen"]
    pe = abc.point_estimates(cspec.load_spec(path)[0], post)[chosen]
    dep = pd.read_csv(sc.departures.file)
    ven = dep[(dep.citizenship == "VENEZUELA") & (dep.month == "2023-03")]["persons"].iloc[0]
    assert ven == pytest.approx(3000 * pe["dep_ven"] * pe["season_mar"], abs=0.06)
    assert sc.route_choice.km_weight == pytest.approx(pe["km_weight"], rel=1e-3)
    report = (out / "REPORT.md").read_text()
    assert "Acceptance criteria" in report and "Held-out check" in report
    assert len(s["criteria"]) == 9
    # the report can be redone from the stored pyabc database without a new ABC run
    (out / "REPORT.md").unlink()
    again = command.calibrate(path, out=out, quick=True, log=lambda *a: None, report_only=True)
    assert (out / "REPORT.md").is_file() and again["simulations"] == s["simulations"]


def test_model_applies_parameters(tmp_path):
    path = write_yaml(tmp_path / "cal.yaml", tiny_spec(tmp_path))
    m = simulate.CalibrationModel(path, scale=1.0, seeds=[3])
    base = m.inputs({"dep_ven": 1.0, "season_mar": 1.0, "km_weight": 1.0})
    twice = m.inputs({"dep_ven": 2.0, "season_mar": 1.0, "km_weight": 1.0})
    ven, mex = 20, 11  # CODE of VENEZUELA, MEXICO
    assert twice.departures[:, ven].sum() == pytest.approx(2 * base.departures[:, ven].sum())
    assert twice.departures[:, mex].sum() == pytest.approx(base.departures[:, mex].sum())
    march = m.inputs({"dep_ven": 1.0, "season_mar": 1.2, "km_weight": 1.0})
    months = base.dates.to_period("M").astype(str)
    assert march.departures[months == "2023-03"].sum() == pytest.approx(1.2 * base.departures[months == "2023-03"].sum())
    assert march.departures[months == "2023-02"].sum() == pytest.approx(base.departures[months == "2023-02"].sum())
    # common random numbers: same parameters, same seed, same statistics
    a, b = m({"dep_ven": 1.0, "season_mar": 1.0, "km_weight": 1.0}), m({"dep_ven": 1.0, "season_mar": 1.0, "km_weight": 1.0})
    assert all(np.array_equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- errors in the calibration file
@pytest.mark.parametrize("edit, field, msg", [
    (lambda s: s.update(colour="red"), "colour", "unknown key"),
    (lambda s: s["parameters"][0]["prior"].update(low=2.0), "parameters.0.prior", "high must be greater than low"),
    (lambda s: s["parameters"][1].update(citizenships="nobody"), "parameters.1.citizenships", "unknown group"),
    (lambda s: s["parameters"][0].update(citizenships=["ATLANTIS"]), "parameters.0.citizenships", "unknown citizenship"),
    (lambda s: s["parameters"][2].update(name="km weight"), "parameters.2.name", "not an identifier"),
    (lambda s: s["parameters"][2].pop("path"), "parameters.2", "needs a path"),
    (lambda s: s["weights"].update(enc_colour=1), "weights", "unknown target family"),
    (lambda s: s["parameters"][1].update(months=["2023-03", "2023-01"]), "parameters.1.months", "before the first"),
    (lambda s: s.update(scenario="nope.yaml"), "scenario", "file not found"),
    (lambda s: s["target_files"].update(by_month="nope.csv"), "target_files.by_month", "file not found"),
    (lambda s: s["parameters"][2].update(path="route_choice.km_weigth"), "parameters.2.path", "unknown key"),
    (lambda s: s["parameters"][2].update(path="border.expelled_retry", prior={"low": 0.5, "high": 3.0}),
     "parameters.2.path", "less than or equal to 1"),
    (lambda s: s["parameters"].append({"name": "w", "kind": "origin_weight", "prior": {"low": 0, "high": 1},
                                       "path": "departures.by_citizenship.MEXICO.origins.o_zz"}),
     "parameters.3.path", "not an origin of MEXICO"),
])
def test_spec_errors_name_file_and_field(tmp_path, edit, field, msg):
    spec = tiny_spec(tmp_path)
    edit(spec)
    path = write_yaml(tmp_path / "cal.yaml", spec)
    with pytest.raises(InputError) as ei:
        simulate.check_spec_against_scenario(simulate.CalibrationModel(path))
    e = ei.value
    assert e.file == str(path)
    assert e.field.startswith(field), (e.field, e.message)
    assert msg in e.message


def test_spec_bad_yaml_and_missing(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="bad YAML"):
        cspec.load_spec(p)
    with pytest.raises(InputError, match="file not found"):
        cspec.load_spec(tmp_path / "none.yaml")


def test_project_calibration_file_is_valid():
    spec, base = cspec.load_spec(ROOT / "calibration" / "fy2023.yaml")
    # every citizenship's departure volume is free through exactly one volume multiplier
    vol = [c for p in spec.parameters if p.kind == "departures" and p.months is None for c in spec.labels(p)]
    assert sorted(vol) == sorted(CITIZENSHIPS)
    m = simulate.CalibrationModel(ROOT / "calibration" / "fy2023.yaml")
    simulate.check_spec_against_scenario(m)
    obs = m.observed
    assert obs.stats["enc_citizenship"].sum() == 2_475_669
    assert obs.stats["darien_total"][0] == 520_085
    assert obs.dar_full_labels == ["VENEZUELA", "ECUADOR", "HAITI", "CHINA"]


def test_cli_subcommand(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="migsim")
    sub = parser.add_subparsers(dest="command")
    command.add_parser(sub)
    a = parser.parse_args(["calibrate", "x.yaml", "--quick", "--scheduler", "tcp://127.0.0.1:8786"])
    assert a.quick and a.scheduler == "tcp://127.0.0.1:8786" and a.func is command.handler
    assert main(["calibrate", str(tmp_path / "missing.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err
