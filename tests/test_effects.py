"""migsim effects: paired seeds against the baseline over the scenario's period."""

import json

import pandas as pd
from conftest import tiny_scenario, write_yaml

from sim.cli import main


def test_effects_table_on_paired_seeds(tmp_path, capsys):
    base = write_yaml(tmp_path / "base.yaml", tiny_scenario(tmp_path))
    write_yaml(tmp_path / "flights.yaml", {
        "extends": "base.yaml", "name": "flights",
        "period": {"start": "2023-01-15", "end": "2023-04-15"},  # a longer period than the baseline's
        "policies": [{"type": "panama_removal_flights", "start": "2023-02-01", "nodes": ["n_jungle_exit"],
                      "seats_per_week": 200, "citizenships": ["VENEZUELA"]}]})
    out = tmp_path / "eff"
    assert main(["effects", str(tmp_path / "flights.yaml"), "--baseline", str(base), "--replicates", "3",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "| flights | removals |" in printed
    t = pd.read_csv(out / "effects.csv").set_index("outcome")
    assert (t["replicates"] == 3).all()
    assert t.at["removals", "difference_mean"] > 0
    assert t.at["removals", "difference_p05"] <= t.at["removals", "difference_mean"] <= t.at["removals", "difference_p95"]
    # the lever does not touch departures or Mexicans: paired differences are exactly zero
    assert t.at["departures", "difference_mean"] == 0 and t.at["departures", "difference_sd"] == 0
    assert t.at["encounters MEXICO", "difference_sd"] == 0
    assert (out / "effects.md").read_text().startswith("# Effects against base.yaml")
    man = json.loads((out / "manifest.json").read_text())
    assert man["seeds"] == [1, 2, 3] and man["version"]


def test_effects_bad_scenario_exit_2(tmp_path, capsys):
    base = write_yaml(tmp_path / "base.yaml", tiny_scenario(tmp_path))
    write_yaml(tmp_path / "bad.yaml", {"extends": "base.yaml", "policies": [{"type": "closure", "start": "2023-02-01"}]})
    assert main(["effects", str(tmp_path / "bad.yaml"), "--baseline", str(base), "--out", str(tmp_path / "e")]) == 2
    assert "bad.yaml: policies.0" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_effects_identical_with_one_or_two_processes(tmp_path):
    """Workers run the counterfactual built in memory (the baseline moved onto the
    scenario's period), not the baseline file read again."""
    base = write_yaml(tmp_path / "base.yaml", tiny_scenario(tmp_path))
    write_yaml(tmp_path / "later.yaml", {
        "extends": "base.yaml", "name": "later",
        "period": {"start": "2023-02-15", "end": "2023-04-30"}, "spinup_start": "2023-02-01",
        "policies": [{"type": "deportation_charters", "start": "2023-03-01", "citizenship": "VENEZUELA",
                      "flights_per_month": 4, "seats_per_flight": 100}]})
    outs = []
    for processes in ("1", "2"):
        out = tmp_path / f"eff{processes}"
        assert main(["effects", str(tmp_path / "later.yaml"), "--baseline", str(base), "--replicates", "2",
                     "--processes", processes, "--out", str(out), "--quiet"]) == 0
        outs.append((out / "effects.csv").read_bytes())
    assert outs[0] == outs[1]
    t = pd.read_csv(tmp_path / "eff1" / "effects.csv").set_index("outcome")
    # the counterfactual ran over the scenario's period: departures, untouched by the charters,
    # are equal only when both count the same days (the baseline's own period starts a month earlier)
    assert t.at["departures", "difference_mean"] == 0
