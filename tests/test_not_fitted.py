"""Figures no estimation reads (sim/studies/calibration/not_fitted.py): what a check sums
in a run, and the errors a bad row gets."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import ROOT, tiny_scenario, write_yaml

from sim.engine.model import RouteModel
from sim.errors import InputError
from sim.scenario.inputs import Inputs
from sim.studies.calibration.not_fitted import FILE, FITTED, measure_all, read_checks

HEADER = "fact,start,end,value,metrics,places,exclude,source\n"


def test_the_project_s_checks_and_counts_fitted_read():
    """The project's figures from outside CBP's and Panama's tables, checks or made targets,
    all read and all within the history (none from the forecast's period)."""
    folder = ROOT / "calibration" / "targets"
    checks, fitted = read_checks(folder), read_checks(folder, FITTED)
    assert len(checks) + len(fitted) >= 3 and all(c.end <= pd.Timestamp("2023-09-30") for c in checks + fitted)
    assert not {(c.fact, c.start) for c in checks} & {(c.fact, c.start) for c in fitted}  # a target is no check


def test_a_check_sums_its_metrics_places_and_period_only(tmp_path):
    sc = tiny_scenario(tmp_path)
    inp = Inputs.load(write_yaml(tmp_path / "s.yaml", sc))
    ts = RouteModel(inp, 1).run().timeseries()
    (tmp_path / FILE).write_text(
        HEADER + "all,2023-01-15,2023-03-31,100,encounters,border areas,,test\n"
        "no Mexicans,2023-01-15,2023-03-31,100,encounters,border areas,MEXICO,test\n"
        "February,2023-02-01,2023-02-28,100,encounters;removals,border areas,,test\n"
        "before the run,2022-01-01,2022-01-31,100,encounters,border areas,,test\n")
    got = measure_all(read_checks(tmp_path), [ts], inp.network, 1.0).set_index("fact")["simulated"]
    enc = ts[ts["metric"] == "encounters"]
    assert got["all"] == enc["value"].sum() > 0
    assert got["no Mexicans"] == enc.loc[enc["nationality"] != "MEXICO", "value"].sum() < got["all"]
    feb = ts[ts["metric"].isin(["encounters", "removals"]) & pd.to_datetime(ts["date"]).dt.month.eq(2)]
    assert got["February"] == feb["value"].sum()
    assert pd.isna(got["before the run"])    # a period the run does not cover is not a zero


@pytest.mark.parametrize("row, field", [
    ("x,2023-01-01,2023-01-31,1,arrivals,border areas,,s", "metrics"),
    ("x,2023-01-01,2023-01-31,1,encounters,Honduras,,s", "places"),
    ("x,2023-01-01,2023-01-31,1,encounters,border areas,ATLANTIS,s", "exclude"),
])
def test_a_bad_row_names_the_file_and_field(tmp_path, row, field):
    (tmp_path / FILE).write_text(HEADER + row + "\n")
    with pytest.raises(InputError) as e:
        read_checks(tmp_path)
    assert FILE in str(e.value) and field in str(e.value)


def test_an_observation_after_the_cutoff_is_refused(tmp_path):
    shutil.copy(ROOT / "calibration" / "targets" / FILE, tmp_path / FILE)
    with open(tmp_path / FILE, "a") as f:
        f.write("later,2023-10-01,2023-10-31,5,encounters,border areas,,s\n")
    with pytest.raises(InputError):
        read_checks(tmp_path)
