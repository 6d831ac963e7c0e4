"""Sweeps: design sizes, a 2-worker run with an injected failure, resume after an
interruption or a kill (no run lost, none duplicated), sensitivity and compare.

All on the tiny scenario (about 0.3 s a run); one LocalCluster of 2 workers is shared
by the module, plus one sweep that starts its own (the default path of the command).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, tiny_scenario, write_yaml

from sim.cli import build_parser
from sim.errors import InputError
from sim.scenario.variation import get_path, set_path
from sim.studies import sweep as sw
from sim.studies.sweep import cluster as scluster, command, design as sdesign, spec as sspec

OUTCOMES = [{"name": "encounters", "metric": "encounters"},
            {"name": "darien", "metric": "darien_crossings", "start": "2023-02-01", "end": "2023-03-31"}]


@pytest.fixture(scope="module")
def cluster():
    import logging

    from dask.distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                     silence_logs=logging.ERROR)
    yield c
    c.close()


def write_sweep(tmp: Path, **over) -> Path:
    base = tmp / "tiny.yaml"
    if not base.exists():
        write_yaml(base, tiny_scenario(tmp))
    spec = {"name": "t", "base": "tiny.yaml", "parameters": [
        {"name": "removed_retry", "path": "border.removed_retry", "values": [0.2, 0.4]}],
        "replicates": [1, 2], "outcomes": OUTCOMES}
    spec.update(over)
    return write_yaml(tmp / "sweep.yaml", spec)


def check_store(out: Path, n_expected: int | None = None) -> pd.DataFrame:
    """runs.parquet has one row per id, and series/ and legs/ hold exactly the ok runs, each readable."""
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["run_id"].is_unique
    journal = [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines() if x.strip()]
    assert sorted({r["run_id"] for r in journal}) == sorted(runs["run_id"])
    ok = set(runs.loc[runs["status"] == "ok", "run_id"])
    for kind in ("series", "legs"):
        on_disk = {p.name.split("=", 1)[1] for p in (out / kind).glob("run_id=*")}
        assert on_disk == ok, kind
        for rid in ok:
            assert len(pd.read_parquet(out / kind / f"run_id={rid}" / "part.parquet")) > 0
    assert not list((out / ".staging").glob("*"))
    if n_expected is not None:
        assert len(runs) == n_expected
    return runs


# ---------------------------------------------------------------- design

def test_design_sizes(tmp_path):
    def spec(**kw):
        return sspec.SweepSpec.model_validate({"name": "x", "base": "b.yaml", "replicates": [1, 2],
                                            "outcomes": OUTCOMES, **kw})

    bounds = [{"name": n, "path": p, "bounds": [0.0, 1.0]} for n, p in
              (("a", "border.removed_retry"), ("b", "border.expelled_retry"), ("c", "hazards.robbery_daily"))]
    switch = [{"name": "s", "levels": {"off": None, "on": {"remove_policies": ["processing_regime"]}}}]
    cases = [
        (spec(parameters=[{"name": "a", "path": "x.a", "values": [1, 2]},
                          {"name": "b", "path": "x.b", "values": [1, 2, 3]}], switches=switch), 12),
        (spec(sampler={"method": "latin", "n": 10}, parameters=bounds), 10),
        (spec(sampler={"method": "sobol", "n": 8}, parameters=bounds), 8 * (3 + 2)),
        (spec(sampler={"method": "sobol", "n": 8, "calc_second_order": True}, parameters=bounds), 8 * (2 * 3 + 2)),
        (spec(sampler={"method": "morris", "n": 4}, parameters=bounds), 4 * (3 + 1)),
        (spec(sampler={"method": "morris", "n": 4}, parameters=bounds, switches=switch), 2 * 4 * (3 + 1)),
        (spec(sampler={"method": "sobol", "n": 4, "switches": "sample"}, parameters=bounds, switches=switch),
         4 * (4 + 2)),
    ]
    for s, points in cases:
        design, pts = sdesign.make_design(s)
        assert sdesign.design_size(s) == points == len(pts)
        assert len(design) == points * 2 and design["run_id"].is_unique
        again, _ = sdesign.make_design(s)
        assert again["run_id"].tolist() == design["run_id"].tolist()  # deterministic: resume finds them
        for p in s.parameters:
            if p.bounds:
                assert design[p.name].between(*p.bounds).all()


def test_invalid_sweep_files(tmp_path):
    cases = [
        ({"replicatez": [1]}, "replicatez", "unknown key"),
        ({"parameters": [{"name": "r", "path": "border.nope", "values": [1]}]}, "parameters.0.path", "no key"),
        ({"parameters": [{"name": "r", "path": "border.removed_retry", "bounds": [0, 1]}]}, "sweep", "needs values"),
        ({"sampler": {"method": "sobol"}}, "sampler", "needs n"),
        ({"outcomes": [{"name": "x", "metric": "arrivals"}]}, "outcomes.0.metric", ""),
        ({"switches": [{"name": "s", "levels": {"a": {"set": {"border.bogus": 1}}}}]}, "switches.0.levels.a", "no key"),
        ({"base": "missing.yaml"}, "base", "file not found"),
    ]
    for over, field, msg in cases:
        path = write_sweep(tmp_path, **over)
        with pytest.raises(InputError) as e:
            sw.prepare(path)
        assert str(path) in str(e.value) and field in e.value.field and msg in e.value.message, str(e.value)
        assert "\n" not in str(e.value)


def test_set_path_and_policy_levels():
    raw = {"border": {"removal_share": 0.1}, "policies": [{"type": "a", "start": "2023-01-01"}]}
    set_path(raw, "border.removal_share.MEXICO", 0.5)
    assert raw["border"]["removal_share"] == {"default": 0.1, "MEXICO": 0.5}
    sspec.Level(policies=[{"type": "a", "start": "2023-02-01"}, {"type": "b", "start": "2023-03-01"}]).apply(raw)
    assert raw["policies"] == [{"type": "a", "start": "2023-02-01"}, {"type": "b", "start": "2023-03-01"}]
    sspec.Level(remove_policies=["a"]).apply(raw)
    assert [p["type"] for p in raw["policies"]] == ["b"]


def test_a_path_names_a_lever_by_its_label():
    raw = {"policies": [{"type": "a", "label": "first", "seats": 1}, {"type": "a", "label": "x.y [2]", "seats": 2},
                        {"type": "b", "label": "twice"}, {"type": "b", "label": "twice"}]}
    set_path(raw, "policies[x.y [2]].seats", 20)  # a label with dots and brackets of its own
    set_path(raw, "policies[first].share.MEXICO", 0.5)
    assert raw["policies"][1]["seats"] == 20 and raw["policies"][0]["share"] == {"MEXICO": 0.5}
    assert get_path(raw, "policies[x.y [2]].seats") == 20 and get_path(raw, "policies.1.seats") == 20
    assert get_path(raw, "policies[none].seats", "absent") == "absent"
    for bad, msg in (("policies[none].seats", "no item"), ("policies[twice].seats", "2 item"),
                     ("border[first].x", "no list"), ("policies[first.seats", "not a path")):
        with pytest.raises((KeyError, ValueError), match=msg):
            set_path(raw, bad, 1)


def test_a_sweep_parameter_may_name_a_lever(tmp_path, cluster):
    path = write_sweep(tmp_path, parameters=[
        {"name": "t42_end", "path": "policies[Title 42 ends].start", "values": ["2023-02-17", "2023-03-20"]}])
    prep = sw.prepare(path)
    assert sorted(set(prep["design"]["t42_end"])) == ["2023-02-17", "2023-03-20"]
    sw.run_sweep(path, tmp_path / "out", scheduler=cluster.scheduler_address, progress=False)
    runs = check_store(tmp_path / "out", 4)
    assert (runs["status"] == "ok").all()
    # the lever named moved: Title 42 ending a month later changes what the border does
    assert runs.groupby("t42_end")["encounters"].sum().nunique() == 2
    bad = write_sweep(tmp_path, parameters=[{"name": "s", "path": "policies[no such lever].start",
                                             "values": ["2023-02-20"]}])
    with pytest.raises(InputError, match="no item.*labelled 'no such lever'") as err:
        sw.prepare(bad)
    assert err.value.field == "parameters.0.path"


# ---------------------------------------------------------------- running

def test_sweep_two_workers_records_a_failed_run(tmp_path):
    # removed_retry = 1.5 is outside [0, 1]: those runs fail validation on the worker
    path = write_sweep(tmp_path, parameters=[
        {"name": "removed_retry", "path": "border.removed_retry", "values": [0.2, 1.5]}], replicates=[1, 2, 3])
    out = tmp_path / "out"
    timings = {}
    stats = sw.run_sweep(path, out, workers=2, progress=False, timings=timings)  # its own 2-worker LocalCluster
    assert stats == {"total": 6, "skipped": 0, "ok": 3, "failed": 3, "interrupted": False}
    assert 0 < timings["cluster_ready_s"] <= timings["first_result_s"] <= timings["last_result_s"] <= timings["closed_s"]
    runs = check_store(out, 6)
    bad = runs[runs["removed_retry"] == 1.5]
    assert (bad["status"] == "failed").all() and bad["error"].str.contains("removed_retry").all()
    good = runs[runs["removed_retry"] == 0.2]
    assert (good["status"] == "ok").all() and (good["encounters"] > 0).all() and good["ledger_balanced"].all()
    assert sorted(good["seed"]) == [1, 2, 3]
    # the stored series is the run's: its encounters add up to the summary outcome
    r = good.iloc[0]
    ts = pd.read_parquet(out / "series" / f"run_id={r['run_id']}" / "part.parquet")
    assert ts[ts["metric"] == "encounters"]["value"].sum() == r["encounters"]
    assert set(ts["seed"]) == {r["seed"]}


def test_resume_after_interrupt_and_crash_states(tmp_path, cluster):
    path = write_sweep(tmp_path, replicates=[1, 2, 3, 4, 5])  # 2 x 5 = 10 runs
    out = tmp_path / "out"
    addr = cluster.scheduler_address
    stats = sw.run_sweep(path, out, scheduler=addr, progress=False, stop_after=2)  # as if Ctrl-C
    assert stats["interrupted"]
    first = check_store(out)
    assert 2 <= len(first) <= 8  # runs in flight at the interrupt may still land
    # leave what a kill at the worst instants would: a staged series without its journal line,
    # a committed run whose series was not moved into place yet, and a torn journal line
    design = pd.read_parquet(out / "design.parquet")
    todo = sorted(set(design["run_id"]) - set(first["run_id"]))
    (out / ".staging" / f"{todo[0]}.series.parquet").write_bytes(b"partial")
    done = first["run_id"].iloc[0]
    series = out / "series" / f"run_id={done}" / "part.parquet"
    os.replace(series, out / ".staging" / f"{done}.series.parquet")
    series.parent.rmdir()
    with open(out / "journal.jsonl", "ab") as f:
        f.write(b'{"run_id": "' + todo[1].encode() + b'", "stat')
    stats = sw.run_sweep(path, out, scheduler=addr, progress=False)
    assert stats["failed"] == 0 and not stats["interrupted"], stats
    assert stats["skipped"] == len(first) and stats["ok"] == 10 - len(first)
    runs = check_store(out, 10)
    assert (runs["status"] == "ok").all()
    assert sorted(runs["run_id"]) == sorted(design["run_id"])
    # resumed rows equal a clean sweep's (same ids, same outcomes: runs depend only on point and seed)
    clean = tmp_path / "clean"
    sw.run_sweep(path, clean, scheduler=addr, progress=False)
    a = runs.set_index("run_id").sort_index()[["encounters", "darien"]]
    b = pd.read_parquet(clean / "runs.parquet").set_index("run_id").sort_index()[["encounters", "darien"]]
    pd.testing.assert_frame_equal(a, b)
    # a third call finds nothing to do
    n_lines = len((out / "journal.jsonl").read_text().splitlines())
    stats = sw.run_sweep(path, out, scheduler=addr, progress=False)
    assert stats["skipped"] == 10 and stats["ok"] == 0
    assert len((out / "journal.jsonl").read_text().splitlines()) == n_lines


def test_base_scenario_scattered_under_a_key_of_its_own(cluster):
    # a dict given to scatter is read as {key: value}: the scenario's top-level keys became
    # Dask keys shared by successive sweeps, and a resumed sweep's runs failed with
    # "lost dependencies" when the previous client's release of them came through
    from dask.distributed import Client

    with Client(cluster.scheduler_address) as client:
        a = scluster.scatter_base(client, {"name": "t", "period": {"start": "2023-01-01"}})
        b = scluster.scatter_base(client, {"name": "t", "period": {"start": "2023-01-01"}})
        assert a.key != b.key and not {a.key, b.key} & {"name", "period"}
        assert client.submit(lambda raw: raw["period"]["start"], b).result() == "2023-01-01"


def test_local_cluster_workers():
    # workers without Dask's MALLOC_TRIM_THRESHOLD_ (the model ran 40-65% slower) and with
    # its housekeeping made rarer (QUIET_CLUSTER): no profiler thread sampling the runs
    def probe(dask_worker):
        import threading

        import dask
        return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
                dask.config.get("distributed.worker.profile.enabled"),
                sorted(t.name for t in threading.enumerate()))

    client, cluster = scluster.open_client(1, None)
    try:
        [(trim, omp, profile, threads)] = client.run(probe).values()
        assert list(client.nthreads().values()) == [1]
    finally:
        client.close()
        cluster.close()
    assert trim is None and omp == "1" and profile is False and "Profile" not in threads


def test_killed_client_resumes(tmp_path, cluster):
    path = write_sweep(tmp_path, replicates=[1, 2, 3, 4])  # 8 runs
    out = tmp_path / "out"
    code = ("import sys; from sim.studies.sweep import run_sweep; "
            f"run_sweep({str(path)!r}, {str(out)!r}, scheduler={cluster.scheduler_address!r}, progress=False)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (journal.exists() and journal.read_text().count("\n") >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stats = sw.run_sweep(path, out, scheduler=cluster.scheduler_address, progress=False)
    assert stats["skipped"] >= 2
    runs = check_store(out, 8)
    assert (runs["status"] == "ok").all()


def test_retry_failed_and_changed_spec_refused(tmp_path, cluster):
    path = write_sweep(tmp_path, parameters=[
        {"name": "removed_retry", "path": "border.removed_retry", "values": [1.5]}], replicates=[1])
    out = tmp_path / "out"
    addr = cluster.scheduler_address
    assert sw.run_sweep(path, out, scheduler=addr, progress=False)["failed"] == 1
    assert sw.run_sweep(path, out, scheduler=addr, progress=False)["skipped"] == 1
    assert sw.run_sweep(path, out, scheduler=addr, progress=False, retry_failed=True)["failed"] == 1
    check_store(out, 1)
    write_sweep(tmp_path, replicates=[1])
    with pytest.raises(InputError, match="different sweep"):
        sw.run_sweep(path, out, scheduler=addr, progress=False)


# ---------------------------------------------------------------- analysis and plots

@pytest.mark.parametrize("method,n,expected", [("sobol", 2, ["S1", "ST"]), ("morris", 2, ["mu_star", "sigma"])])
def test_sensitivity(tmp_path, cluster, method, n, expected):
    from sim.studies.sensitivity import run as sens

    path = write_sweep(tmp_path, sampler={"method": method, "n": n}, replicates=[1], parameters=[
        {"name": "robbery", "path": "hazards.robbery_daily", "bounds": [0.0, 0.05]},
        {"name": "removed_retry", "path": "border.removed_retry", "bounds": [0.0, 0.8]}])
    out = tmp_path / "out"
    sw.run_sweep(path, out, scheduler=cluster.scheduler_address, progress=False)
    table, csv, png = sens(out, "encounters")
    assert list(table["factor"]) == ["robbery", "removed_retry"]
    assert all(c in table.columns for c in expected) and csv.is_file() and png.stat().st_size > 10_000
    with pytest.raises(InputError, match="no outcome"):
        sens(out, "nope")


def test_compare_sweep_and_run(tmp_path, cluster):
    from sim.studies.compare import compare
    from sim.studies.runner import run_scenario

    path = write_sweep(tmp_path, switches=[{"name": "t42", "levels": {
        "base": None, "none": {"remove_policies": ["processing_regime"]}}}])
    out = tmp_path / "sw"
    sw.run_sweep(path, out, scheduler=cluster.scheduler_address, progress=False)
    run_dir = tmp_path / "run"
    run_scenario(tmp_path / "tiny.yaml", run_dir, replicates=2, progress=False, plots=False)
    res = compare([run_dir, out], tmp_path / "cmp", group_by=["t42"])
    # sweep members carry their leg flows to the flow map, as runs do
    from sim.studies.compare.read import load

    scs, _ = load([run_dir, out], group_by=["t42"])
    for s in scs:
        places = s.frame("places")
        assert (places.loc[places["metric"] == "leg_entries", "value"] > 0).any(), s.label
    assert len(res["scenarios"]) == 3
    for f in ("time_series.png", "encounters_by_citizenship.png", "differences.png", "flow_map.png",
              "differences.csv", "summary.csv"):
        assert (tmp_path / "cmp" / f).stat().st_size > 100
    diff = pd.read_csv(tmp_path / "cmp" / "differences.csv")
    assert set(diff["scenario"]) == set(res["scenarios"][1:])


def test_parsers(tmp_path):
    from sim.studies import compare, sensitivity

    root = argparse.ArgumentParser(prog="migsim")
    sub = root.add_subparsers(dest="command", required=True)
    for m in (sw, sensitivity, compare):
        m.add_parser(sub)
    a = root.parse_args(["sweep", "s.yaml", "--out", "o", "--workers", "2"])
    assert a.func is command.cmd_sweep and a.workers == 2 and a.scheduler is None
    a = root.parse_args(["sweep", "s.yaml", "--out", "o", "--scheduler", "tcp://h:8786"])
    assert a.scheduler == "tcp://h:8786"
    with pytest.raises(SystemExit):
        root.parse_args(["sweep", "s.yaml", "--out", "o", "--workers", "2", "--scheduler", "tcp://h:1"])
    a = root.parse_args(["sensitivity", "d", "--outcome", "x"])
    assert a.func is sensitivity.cmd_sensitivity
    a = root.parse_args(["compare", "a", "b", "--out", "c", "--baseline", "a"])
    assert a.func is compare.command.cmd_compare and len(a.folders) == 2
    bad = write_sweep(tmp_path, bogus=1)
    a = root.parse_args(["sweep", str(bad), "--out", str(tmp_path / "o")])
    with pytest.raises(InputError):
        a.func(a)
    assert not (tmp_path / "o").exists()  # bad input: no output folder


def test_sweep_with_posterior_draws(tmp_path, cluster):
    sc = tiny_scenario(tmp_path)
    sc["posterior"] = str(tmp_path / "post.parquet")
    pd.DataFrame({"departures.by_citizenship.VENEZUELA.level": [50.0, 150.0], "weight": [0.5, 0.5]}).to_parquet(
        tmp_path / "post.parquet")
    write_yaml(tmp_path / "tiny.yaml", sc)
    path = write_sweep(tmp_path, replicates=[1, 2, 3], posterior_draws=True)
    out = tmp_path / "out"
    sw.run_sweep(path, out, scheduler=cluster.scheduler_address, progress=False)
    runs = check_store(out, 6)
    assert sorted(runs["draw"].unique()) == [0, 1, 2] and (runs["status"] == "ok").all()
    # each replicate carries its own draw: the point and the seed alone do not fix a run
    from sim.studies import draws as dr
    from sim.scenario.files import read_raw

    rows = [d.row for d in dr.draws(read_raw(tmp_path / "tiny.yaml"), path, 3, [1, 2, 3])]
    enc = runs[runs["removed_retry"] == 0.2].set_index("draw")["encounters"]
    if len(set(rows)) > 1:
        assert enc.nunique() > 1
    # --posterior-draws K: K replicates (seeds from the file's first), each with its draw
    a = build_parser().parse_args(["sweep", str(path), "--out", str(tmp_path / "k"), "--posterior-draws", "2"])
    assert a.posterior_draws == 2
    prep = sw.prepare(path, a.posterior_draws)
    assert prep["spec"].replicates == [1, 2] and prep["spec"].posterior_draws
    assert build_parser().parse_args(["sweep", str(path), "--out", "o", "--posterior-draws"]).posterior_draws is True
    # asking for draws of a scenario without a posterior fails before any output
    write_yaml(tmp_path / "plain.yaml", tiny_scenario(tmp_path))
    bad = write_sweep(tmp_path, base="plain.yaml", posterior_draws=True)
    with pytest.raises(InputError, match="posterior"):
        sw.run_sweep(bad, tmp_path / "bad", scheduler=cluster.scheduler_address, progress=False)
    assert not (tmp_path / "bad").exists()
