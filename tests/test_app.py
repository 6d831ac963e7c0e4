"""`migsim app` without a browser: the path guard, the YAML diff a saved variant holds,
the upload limits, the forms built from the schema, the lazy imports, and a failing
run's one-line error. (tests/test_app_browser.py drives the pages in Chromium.)"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.app.paths import Folders, PathRefused, inside
from sim.app.yamlfiles import UPLOAD_LIMIT, UploadRefused, diff, merge, parse_upload, variant_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def project(tmp_path) -> Path:
    """A project folder: the real scenarios/ and calibration/ (the baseline reads both)."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    shutil.copytree(ROOT / "calibration", tmp_path / "calibration")
    (tmp_path / "secret.yaml").write_text("name: secret\n")
    return tmp_path


# ---------------------------------------------------------------- the path guard

def test_inside_accepts_names_inside_the_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    assert inside(tmp_path, "a.yaml") == (tmp_path / "a.yaml").resolve()
    assert inside(tmp_path, "sub/b.yaml") == (tmp_path / "sub" / "b.yaml").resolve()


@pytest.mark.parametrize("name, why", [
    ("../pyproject.toml", "'..'"), ("sub/../../x.yaml", "'..'"), ("/etc/passwd", "absolute"),
    ("~/x.yaml", "absolute"), ("", "no file name"), ("  ", "no file name"), ("a\x00b", "not a file name"),
])
def test_inside_refuses_names_that_leave_the_folder(tmp_path, name, why):
    with pytest.raises(PathRefused, match=why):
        inside(tmp_path, name)


def test_inside_refuses_symlinks_that_lead_out(tmp_path):
    base = tmp_path / "scenarios"
    base.mkdir()
    (tmp_path / "secret.yaml").write_text("x: 1\n")
    (base / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    (base / "linkdir").symlink_to(tmp_path)
    (base / "ok.yaml").write_text("x: 1\n")
    (base / "inner.yaml").symlink_to(base / "ok.yaml")  # a link that stays inside is fine
    for name in ("link.yaml", "linkdir/secret.yaml"):
        with pytest.raises(PathRefused, match="outside"):
            inside(base, name)
    assert inside(base, "inner.yaml") == (base / "ok.yaml").resolve()


def test_folders_pick_list_and_new_names(project):
    f = Folders(project)
    (f.scenarios / "link_out.yaml").symlink_to(project / "secret.yaml")
    (f.scenarios / ".upload-x.yaml").write_text("name: x\n")
    names = f.scenario_names()
    assert "baseline_fy2023.yaml" in names and "link_out.yaml" not in names and ".upload-x.yaml" not in names
    with pytest.raises(PathRefused, match="outside"):
        f.scenario("link_out.yaml")
    with pytest.raises(PathRefused, match="not a YAML file"):
        f.scenario("network/nodes.csv")
    with pytest.raises(PathRefused, match="no such file"):
        f.scenario("missing.yaml")
    for bad in ("../escaped", "a/b", ".hidden", "", "x" * 81, "new name"):
        with pytest.raises(PathRefused):
            f.new_scenario(bad)
    with pytest.raises(PathRefused, match="exists already"):
        f.new_scenario("baseline_fy2023")
    assert f.new_scenario("flights_in_march.yaml") == f.scenarios / "flights_in_march.yaml"
    with pytest.raises(PathRefused):
        f.result("../../pyproject.toml")


# ---------------------------------------------------------------- diff on save

def test_diff_holds_only_what_changed():
    base = {"name": "b", "period": {"start": dt.date(2022, 10, 1), "end": dt.date(2023, 12, 31)},
            "departures": {"scale": 1.0, "file": "/abs/departures.csv"},
            "policies": [{"type": "t", "label": "a", "start": 1}, {"type": "t", "label": "b", "start": 1}],
            "seeds": [1]}
    new = merge(base, {"name": "v", "departures": {"scale": 0.05}})
    new["policies"] = [{"type": "t", "label": "a", "start": 2}, {"type": "t", "label": "b", "start": 1}]
    d = diff(base, new)  # levers add up under extends: only the changed one is written
    assert d == {"name": "v", "departures": {"scale": 0.05}, "policies": [{"type": "t", "label": "a", "start": 2}]}
    assert merge(base, d) == new
    removed = {**base, "policies": base["policies"][1:] + [{"type": "u", "start": 3}]}
    d = diff(base, removed)  # an inherited lever removed is dropped by its label
    assert d == {"drop_policies": ["a"], "policies": [{"type": "u", "start": 3}]}
    assert merge(base, d) == removed
    with pytest.raises(ValueError, match="without a label"):
        diff({"policies": [{"type": "t"}]}, {"policies": []})
    assert diff(base, base) == {}
    assert diff({"x": 1.0}, {"x": 1}) == {}  # the same number, as YAML reads it
    assert diff({"x": 1}, {"x": True}) == {"x": True}
    with pytest.raises(ValueError, match="cannot remove"):
        diff(base, {k: v for k, v in base.items() if k != "seeds"})


values = st.recursive(st.one_of(st.integers(-5, 5), st.booleans(), st.text(max_size=3), st.none(),
                                st.dates(dt.date(2020, 1, 1), dt.date(2025, 1, 1))),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner,
                                                                                    max_size=3), max_leaves=8)
mappings = st.dictionaries(st.sampled_from("abcde"), values, max_size=5)


# Nested recursive data is slow to generate on a starved CPU (tests run beside a
# calibration): the one failure seen there, its output not kept, was most likely that timing
# check, while the property held in 20,000 examples; so only that check is waived.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mappings, mappings)
def test_a_variant_merged_on_its_base_gives_the_edited_scenario(base, over):
    new = merge(base, over)  # every edit the app makes keeps the base's keys
    d = diff(base, new)
    assert merge(base, d) == new
    # and the file text says the same once read back
    text = variant_text("base.yaml", d)
    assert yaml.safe_load(text) == {"extends": "base.yaml", **d}


def _panama(draft) -> int:
    return next(i for i, lv in enumerate(draft.levers) if lv["type"] == "panama_removal_flights")


def test_save_as_writes_extends_and_the_diff_and_reads_back(project):
    from sim.app import drafts

    f = Folders(project)
    d = drafts.open_draft(f, "panama_removal_flights.yaml")
    i = _panama(d)  # after the levers it inherits
    lever = dict(d.levers[i], seats_per_flight=120, start=dt.date(2024, 3, 1))
    d2 = d.set_lever(i, lever)
    path = drafts.save_as(f, d2, "flights_in_march")
    saved = yaml.safe_load(path.read_text())
    assert saved["extends"] == "panama_removal_flights.yaml"
    assert set(saved) == {"extends", "name", "policies"}
    assert saved["name"] == "flights_in_march"
    assert saved["policies"][0]["seats_per_flight"] == 120 and saved["policies"][0]["start"] == dt.date(2024, 3, 1)
    from sim.app import backend

    again = backend.read_scenario(path)
    assert again == {**d2.raw(), "name": "flights_in_march"}
    backend.check_scenario(again, path)
    with pytest.raises(PathRefused, match="exists already"):
        drafts.save_as(f, d2, "flights_in_march")


def test_save_as_refuses_an_invalid_draft(project):
    from sim.app import drafts

    f = Folders(project)
    d = drafts.open_draft(f, "panama_removal_flights.yaml")
    i = _panama(d)
    bad = d.set_lever(i, dict(d.levers[i], seats_per_flight=-5))
    problem = drafts.check(f, bad)
    # named where the lever is written, as `migsim validate` names it in that file
    assert str(problem) == ("scenarios/panama_removal_flights.yaml: policies.0.seats_per_flight: "
                            "Input should be greater than or equal to 0")
    assert bad.lever_at("scenarios/panama_removal_flights.yaml", problem) == (i, "seats_per_flight")
    with pytest.raises(PathRefused, match="not saved: .*seats_per_flight"):
        drafts.save_as(f, bad, "broken")
    assert not (f.scenarios / "broken.yaml").exists()


# ---------------------------------------------------------------- uploads

def test_upload_size_limit(tmp_path):
    ok = b"name: x\n" + b"#" * (UPLOAD_LIMIT - 9) + b"\n"
    assert len(ok) == UPLOAD_LIMIT
    assert parse_upload("ok.yaml", ok, tmp_path) == {"name": "x"}
    with pytest.raises(UploadRefused, match="over the 256 kB limit"):
        parse_upload("big.yaml", ok + b"#", tmp_path)


@pytest.mark.parametrize("data, why", [
    (b"\xff\xfe name: x", "not UTF-8"),
    (b"- a\n- b\n", "must be a YAML mapping"),
    (b"name: [unclosed\n", "bad YAML"),
    (b"a: &x [1, 2]\nb: *x\n", "anchors and aliases"),
    (b"name: !!python/object/apply:os.system ['true']\n", "bad YAML"),
    (b"extends: ../pyproject.toml\n", "extends: .*'..' is refused"),
    (b"extends: [baseline_fy2023.yaml, /etc/passwd]\n", "extends.1: .*absolute"),
    (b"network: {nodes: ../../etc/nodes.csv, edges: network/edges.csv}\n", "network.nodes"),
    (b"observed: /tmp\n", "observed: .*absolute"),
])
def test_upload_refusals(tmp_path, data, why):
    with pytest.raises(UploadRefused, match=why):
        parse_upload("up.yaml", data, tmp_path)


def test_an_upload_becomes_a_scenario_only_if_valid(project):
    from sim.app import drafts

    f = Folders(project)
    good = b"extends: baseline_fy2023.yaml\nname: sample\ndepartures: {scale: 0.05}\n"
    assert drafts.save_upload(f, "sample.yaml", good) == f.scenarios / "sample.yaml"
    bad = b"extends: baseline_fy2023.yaml\nname: bad\nseeds: [-1]\n"
    from sim.app import backend

    with pytest.raises(backend.InputError, match="seeds.0"):
        drafts.save_upload(f, "bad.yaml", bad)
    assert not (f.scenarios / "bad.yaml").exists()
    assert not list(f.scenarios.glob(".upload-*"))
    with pytest.raises(PathRefused, match="exists already"):
        drafts.save_upload(f, "sample.yaml", good)


# ---------------------------------------------------------------- forms

def test_lever_forms_come_from_the_schema():
    from sim.app import drafts, forms

    specs = {s.name: s for s in forms.lever_fields(drafts.schema(), "panama_removal_flights")}
    assert specs["type"].kind == "const"
    assert specs["start"].kind == "date" and specs["start"].required
    assert specs["end"].kind == "date" and not specs["end"].required
    assert specs["nodes"].kind == "choices" and specs["nodes"].source == "nodes"
    assert specs["citizenships"].kind == "choices" and specs["citizenships"].source == "citizenships"
    assert specs["seats_per_flight"].kind == "number"
    assert "range 0 to 1" in specs["selected_share"].help
    enf = {s.name: s for s in forms.lever_fields(drafts.schema(), "enforcement")}
    assert enf["action"].kind == "choice" and set(enf["action"].options) == {"return_to", "remove"}
    assert enf["node"].kind == "choice" and enf["node"].source == "nodes"
    visa = {s.name: s for s in forms.lever_fields(drafts.schema(), "visa_regime")}
    assert visa["legs"].kind == "yaml" and visa["open"].kind == "bool"
    assert set(forms.lever_schemas(drafts.schema())) == set(__import__("sim.app.backend").app.backend.lever_types())


@pytest.mark.parametrize("text, kind, value", [
    ("40", "number", 40), ("1.5", "number", 1.5), ("2024-03-01", "date", dt.date(2024, 3, 1)),
    ("abc", "number", "abc"), ("", "number", None), ("2024", "text", "2024"),
    ("[[a, b], [c, d]]", "yaml", [["a", "b"], ["c", "d"]]), ("[unclosed", "yaml", "[unclosed"),
])
def test_field_text_is_read_as_yaml(text, kind, value):
    from sim.app import forms

    got = forms.from_text(text, kind)
    assert (got is forms.MISSING) if value is None else got == value
    if value is not None and kind != "text" and not isinstance(value, str):
        assert forms.from_text(forms.to_text(value), kind) == value


def _cli_error(path: Path) -> str:
    from sim.errors import InputError
    from sim.scenario.inputs import Inputs

    with pytest.raises(InputError) as err:
        Inputs.load(str(path))
    return str(err.value)


def test_errors_name_a_lever_where_it_is_written_as_the_command_line_does(project, monkeypatch):
    """An inherited lever's error names its own file and place; a lever added in the app
    is numbered after the levers of the file the draft opened, as if appended there."""
    from sim.app import drafts

    monkeypatch.chdir(project)
    f = Folders(project)
    d = drafts.open_draft(f, "panama_removal_flights.yaml")
    here = "scenarios/panama_removal_flights.yaml"
    history = yaml.safe_load((f.scenarios / "history_fy2022_fy2023.yaml").read_text())
    k = next(j for j, lv in enumerate(history["policies"]) if "cbp_one_per_day" in lv)
    field = "cbp_one_per_day"
    i = next(j for j, lv in enumerate(d.levers) if lv.get("label") == history["policies"][k].get("label"))
    bad = d.set_lever(i, dict(d.levers[i], **{field: -1}))
    problem = drafts.check(f, bad)
    history["policies"][k][field] = -1
    broken = f.scenarios / "history_broken.yaml"
    broken.write_text(yaml.safe_dump(history))
    try:
        want = _cli_error(Path("scenarios/history_broken.yaml")).replace("history_broken", "history_fy2022_fy2023")
    finally:
        broken.unlink()
    assert str(problem) == want and f"policies.{k}.{field}" in want
    assert bad.lever_at(here, problem) == (i, field)
    # an added lever: after the file's own (one lever in panama_removal_flights.yaml)
    new = d.add_lever({"type": "panama_removal_flights", "start": "2024-09-01", "nodes": ["n_lajas_blancas"],
                       "seats_per_week": -5})
    problem = drafts.check(f, new)
    assert str(problem).startswith(f"{here}: policies.1.seats_per_week: ")
    assert new.lever_at(here, problem) == (len(new.levers) - 1, "seats_per_week")
    # the page folds the inherited, unchanged levers: not the file's own, an edited or an added one
    folded = new.inherited(here)
    assert folded[:i] == [True] * i and not folded[_panama(d)] and not folded[-1]
    assert not bad.inherited(here)[i] and sum(bad.inherited(here)) == sum(folded[:-1]) - 1
    # removing a lever keeps the others' places
    assert new.remove_lever(0).lever_at(here, problem) == (len(new.levers) - 2, "seats_per_week")


# ---------------------------------------------------------------- start-up cost and the command

def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return set(out.stdout.split())


def test_the_command_imports_nothing_heavy():
    mods = _modules_after("import argparse, sim.app.command as c; c.add_parser(argparse.ArgumentParser()"
                          ".add_subparsers())")
    heavy = {"solara", "mesa", "pandas", "numpy", "matplotlib", "uvicorn", "sim.app.backend", "sim.app.server"}
    assert not heavy & mods, heavy & mods


def test_the_backend_imports_the_simulator_only_when_asked():
    mods = _modules_after("import sim.app.backend")
    assert not {m for m in mods if m.startswith("sim.") and not m.startswith("sim.app")}


def test_add_parser_registers_app_with_safe_defaults():
    from sim.app.command import add_parser

    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="command"))
    a = p.parse_args(["app"])
    assert (a.host, a.port) == ("127.0.0.1", 8765) and callable(a.func)
    assert p.parse_args(["app", "--port", "0", "--host", "0.0.0.0"]).port == 0
    with pytest.raises(SystemExit):
        p.parse_args(["app", "--port", "70000"])


def test_only_backend_imports_the_simulator():
    """The package's internals are moving: one module to re-point."""
    app = ROOT / "sim" / "app"
    offenders = []
    for py in app.rglob("*.py"):
        if py.name == "backend.py":
            continue
        for line in py.read_text().splitlines():
            s = line.strip()
            if (s.startswith(("import sim", "from sim")) and not s.startswith(("from sim.app", "import sim.app"))):
                offenders.append(f"{py.relative_to(ROOT)}: {s}")
    assert not offenders, offenders


# ---------------------------------------------------------------- a failing run

def test_a_failing_run_gives_one_line(project):
    from sim.app import backend
    from sim.app.jobs import JobManager, RunRequest

    res = backend.run_seed(str(project / "scenarios" / "missing.yaml"), 1, str(project / "results"), "x")
    assert res["error"].endswith("file not found") and "\n" not in res["error"]
    m = JobManager(Folders(project), workers=1)
    job = m.submit(RunRequest("x", "../pyproject.toml", "{}\n", 0.05, (1,), None))
    for _ in range(100):
        if job.status == "failed":
            break
        __import__("time").sleep(0.05)
    assert job.status == "failed" and job.error.startswith("../pyproject.toml: '..' is refused")
    m.shutdown()
