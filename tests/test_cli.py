"""The command line end to end on a tiny scenario: the output contract."""

import json
import os
import subprocess
import sys

import pandas as pd

from sim.cli import main


def test_run_writes_the_output_contract(tiny, tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", str(tiny), "--out", str(out), "--replicates", "2", "--seed", "3", "--quiet"]) == 0
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert list(ts.columns) == ["date", "metric", "nationality", "place", "seed", "value"]
    assert set(ts["seed"]) == {3, 4}
    assert pd.api.types.is_integer_dtype(ts["value"]) and pd.api.types.is_integer_dtype(ts["seed"])
    assert (pd.to_datetime(ts["date"]) >= "2023-01-15").all()
    legs = pd.read_parquet(out / "legs.parquet")
    assert list(legs.columns) == ["seed", "nationality", "from", "to", "mode", "persons"]
    assert set(legs["seed"]) == {3, 4} and (legs["persons"] > 0).all()
    # everyone who set out during the period left its origin by some leg
    dep = ts[ts["metric"] == "departures"].groupby("seed")["value"].sum()
    from_origins = legs[legs["from"].str.startswith("o_")].groupby("seed")["persons"].sum()
    assert (from_origins >= dep).all()
    summ = json.loads((out / "summary.json").read_text())
    assert summ["seeds"] == [3, 4] and summ["scenario"] == "tiny"
    for led in summ["ledger"].values():
        ends = led["dead"] + led["released_us"] + led["expelled_home"] + led["removed_home"]
        assert led["spawned"] == ends + led["travelling"] + led["waiting_to_retry"]
    man = json.loads((out / "manifest.json").read_text())
    assert len(man["scenario_sha256"]) == 64 and man["seeds"] == [3, 4] and man["version"]
    assert man["packages"]["mesa"].startswith("3.")
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "darien_by_month.png", "encounters_by_citizenship.png", "encounters_by_month.png"]


def test_processes_give_the_same_numbers(tiny, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(tiny), "--out", str(a), "--replicates", "2", "--quiet", "--no-plots"]) == 0
    assert main(["run", str(tiny), "--out", str(b), "--replicates", "2", "--processes", "2", "--quiet", "--no-plots"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(a / "timeseries.parquet"), pd.read_parquet(b / "timeseries.parquet"))


def test_schema_and_help(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False and "departures" in schema["properties"]
    for cmd in ("run", "validate", "schema"):
        try:
            main([cmd, "--help"])
        except SystemExit as e:
            assert e.code == 0
        assert "usage: migsim" in capsys.readouterr().out


def test_the_command_line_keeps_blas_to_one_thread_unless_told():
    """The model's solves are small: a second BLAS thread only spins beside the ABC's
    worker processes. The command line sets one before numpy loads, and keeps a
    setting the user made."""
    probe = "import sim.cli, os; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]
    out = subprocess.run([sys.executable, "-c", probe], env={**env, "OPENBLAS_NUM_THREADS": "3"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "1"]
