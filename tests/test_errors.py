"""Bad input: one line naming the file and the field, exit 2, no traceback, no output."""

import copy

import pytest
from conftest import tiny_scenario, write_yaml

from sim.cli import main


def _break(sc: dict, path: str, value):
    d = sc
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[k]
    if value is KeyError:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value
    return sc


CASES = [
    # (field path to change, new value, text expected in the message)
    ("flavour", "x", "flavour: unknown key"),
    ("departures.scale", -1, "departures.scale"),
    ("departures.scale", "lots", "departures.scale"),
    ("period.end", "2022-01-01", "period"),
    ("spinup_start", "2024-01-01", "spinup_start"),
    ("seeds", [-3], "seeds.0"),
    ("departures.by_citizenship.VENEZUELA.origins", {"o_nowhere": 1.0}, "departures.by_citizenship.VENEZUELA.origins.o_nowhere: unknown node"),
    ("departures.by_citizenship.VENEZUELA.origins", {"o_a": 0.4}, "origins"),
    ("departures.by_citizenship.ATLANTIS", {"level": 5, "origins": {"o_a": 1.0}}, "unknown citizenship 'ATLANTIS'"),
    ("departures.by_citizenship.VENEZUELA.level", -1, "departures.by_citizenship.VENEZUELA.level"),
    ("departures.trend", {"atlantis": 0.1}, "unknown region 'atlantis'"),
    ("departures.trend", {"south_america": 9}, "departures.trend"),
    ("departures.by_citizenship.VENEZUELA.trend", 5, "departures.by_citizenship.VENEZUELA.trend"),
    ("departures.by_citizenship.VENEZUELA.trend", "fast", "departures.by_citizenship.VENEZUELA.trend"),
    ("departures.by_citizenship.VENEZUELA.since", "when the war began", "departures.by_citizenship.VENEZUELA.since"),
    ("departures.by_citizenship.VENEZUELA.since", "2022-02-30", "departures.by_citizenship.VENEZUELA.since"),
    ("departures.by_citizenship.VENEZUELA.visa_holders", 1.0, "departures.by_citizenship.VENEZUELA.visa_holders"),
    ("departures.by_citizenship.VENEZUELA.visa_holders", "few", "departures.by_citizenship.VENEZUELA.visa_holders"),
    ("departures.money_scale", 0, "departures.money_scale"),
    ("departures.money_scale", "rich", "departures.money_scale"),
    ("departures.money_scale_by_region", {"atlantis": 2.0}, "unknown region 'atlantis'"),
    ("departures.money_scale_by_region", {"south_america": 0}, "departures.money_scale_by_region.south_america"),
    ("route_choice", {"count_waits": "sometimes"}, "route_choice.count_waits"),
    ("route_choice", {"save_for_fare": "if need be"}, "route_choice.save_for_fare"),
    ("departures.seasonality", {"amplitude": 0.1, "peak_month": 14}, "departures.seasonality.peak_month"),
    ("departures.seasonality", {"amplitude": 0.1, "cycles": 3}, "departures.seasonality.cycles"),
    ("departures.seasonality", {"by_region": {"atlantis": {"peak_month": 5}}}, "unknown region 'atlantis'"),
    ("departures.seasonality", {"by_region": {"south_america": {"peak_month": 14}}},
     "departures.seasonality.by_region.south_america.peak_month"),
    ("departures.seasonality", {"by_region": {"south_america": {"amplitude": -0.1}}},
     "departures.seasonality.by_region.south_america.amplitude"),
    ("behaviour", {"prevalence": {"elasticity": 1.2}}, "behaviour.prevalence.elasticity"),
    ("behaviour", {"prevalence": {"memory_days": 0}}, "behaviour.prevalence.memory_days"),
    ("behaviour", {"prevalence": {"floor": 0}}, "behaviour.prevalence.floor"),
    ("behaviour", {"response": {"release_weight": -1}}, "behaviour.response.release_weight"),
    ("behaviour", {"beliefs": {"heard_share": 1.5}}, "behaviour.beliefs.heard_share"),
    ("behaviour", {"beliefs": {"delay_days": -2}}, "behaviour.beliefs.delay_days"),
    ("behaviour", {"familiarity": {"penalty": -0.1}}, "behaviour.familiarity.penalty"),
    ("behaviour", {"familiarity": {"decay": -0.5}}, "behaviour.familiarity.decay"),
    ("behaviour", {"familiarity": {"settle": "sometimes"}}, "behaviour.familiarity.settle"),
    ("behaviour", {"parole": {"sponsor_shares": 0.3}}, "behaviour.parole.sponsor_shares: unknown key"),
    ("behaviour", {"waiting": {"leave_rate": 1.5}}, "behaviour.waiting.leave_rate"),
    ("behaviour", {"waiting": {"settle_rate": -0.1}}, "behaviour.waiting.settle_rate"),
    ("border.returns_share", 2, "border.returns_share"),
    ("border.returned_retry", 1.5, "border.returned_retry"),
    ("policies", [{"type": "parole_pathway", "start": "2023-02-01", "citizenships": ["CUBA"]}],
     "policies.0: give monthly_cap, total_cap or both"),
    ("policies", [{"type": "parole_pathway", "start": "2023-02-01", "citizenships": [], "monthly_cap": 5}],
     "policies.0.citizenships"),
    ("policies", [{"type": "title42_returns", "start": "2023-02-01", "citizenships": ["NARNIA"]}],
     "unknown citizenship 'NARNIA'"),
    ("policies", [{"type": "title42_returns", "start": "2023-02-01", "citizenships": ["CUBA"], "monthly_cap": -3}],
     "policies.0.monthly_cap"),
    ("policies", [{"type": "announced_rule", "start": "2023-02-01", "title42": False, "effective": "2023-01-20"}],
     "policies.0.effective"),
    ("policies", [{"type": "announced_rule", "start": "2023-02-01", "title42": False, "effective": "soon"}],
     "policies.0.effective"),
    ("border.removal_share", {"default": 1.5}, "border.removal_share"),
    ("border.removal_scale", -1, "border.removal_scale"),
    ("border.removal_share", {"NARNIA": 0.5}, "unknown citizenship 'NARNIA'"),
    ("darien_exit_nodes", ["n_nowhere"], "darien_exit_nodes.0"),
    ("network.nodes", "net/missing.csv", "missing.csv"),
    ("random_numbers", "sometimes", "random_numbers"),
    ("period", KeyError, "period"),
]


@pytest.mark.parametrize("field,value,expect", CASES)
def test_bad_field_is_one_line_exit_2(tmp_path, capsys, field, value, expect):
    sc = _break(copy.deepcopy(tiny_scenario(tmp_path)), field, value)
    path = write_yaml(tmp_path / "bad.yaml", sc)
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expect in err, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_validate_reports_the_same(tmp_path, capsys):
    sc = _break(tiny_scenario(tmp_path), "departures.scale", -1)
    code = main(["validate", str(write_yaml(tmp_path / "bad.yaml", sc))])
    assert code == 2 and "bad.yaml: departures.scale" in capsys.readouterr().err


def test_missing_file_and_bad_yaml(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: line" in err and err.count("\n") == 1


@pytest.mark.parametrize("col,value,expect", [
    ("to", "n_void", "row 2: to: unknown node"),
    ("mode", "teleport", "row 2: mode"),
    ("km", "-4", "row 2: km"),
    ("hazard", "2", "row 2: hazard"),
    ("access", "ATLANTIS", "row 2: access"),
])
def test_bad_edges(tmp_path, capsys, col, value, expect):
    import pandas as pd

    sc = tiny_scenario(tmp_path)
    e = pd.read_csv(tmp_path / "net" / "edges.csv", dtype=str, keep_default_na=False)
    e.loc[0, col] = value
    e.to_csv(tmp_path / "net" / "edges.csv", index=False)
    assert main(["validate", str(write_yaml(tmp_path / "s.yaml", sc))]) == 2
    assert "edges.csv: " + expect in capsys.readouterr().err


def test_extends_merges_and_rejects_cycles(tmp_path, capsys):
    base = write_yaml(tmp_path / "base.yaml", tiny_scenario(tmp_path))
    sub = tmp_path / "variants"
    sub.mkdir()
    write_yaml(sub / "v.yaml", {"extends": "../base.yaml", "name": "v", "departures": {"scale": 0.5}})
    assert main(["validate", str(sub / "v.yaml")]) == 0
    assert "'v'" in capsys.readouterr().out
    write_yaml(tmp_path / "a.yaml", {"extends": "b.yaml"})
    write_yaml(tmp_path / "b.yaml", {"extends": "a.yaml"})
    assert main(["validate", str(tmp_path / "a.yaml")]) == 2
    assert "circle" in capsys.readouterr().err
    assert base.exists()


def test_bad_cli_arguments_exit_2(tiny, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", str(tiny), "--replicates", "0"])
    assert e.value.code == 2


def test_extends_a_list_merges_left_to_right(tmp_path, capsys):
    from sim.scenario import load

    write_yaml(tmp_path / "base.yaml", tiny_scenario(tmp_path))
    write_yaml(tmp_path / "fit.yaml", {"route_choice": {"km_weight": 2.5}, "departures": {"scale": 0.25}})
    write_yaml(tmp_path / "v.yaml", {"extends": ["base.yaml", "fit.yaml"], "name": "v", "departures": {"scale": 0.5}})
    sc = load(tmp_path / "v.yaml")
    assert (sc.name, sc.route_choice.km_weight, sc.departures.scale) == ("v", 2.5, 0.5)
    assert sc.crossing.attractiveness == {"b_epfo": -1.4}      # from base, untouched by fit.yaml
    write_yaml(tmp_path / "w.yaml", {"extends": ["base.yaml", "missing.yaml"]})
    assert main(["validate", str(tmp_path / "w.yaml")]) == 2
    err = capsys.readouterr().err
    assert "w.yaml: extends.1: file not found: missing.yaml" in err and "Traceback" not in err
    write_yaml(tmp_path / "x.yaml", {"extends": ["base.yaml", 3]})
    assert main(["validate", str(tmp_path / "x.yaml")]) == 2
    assert "x.yaml: extends: must be a file name or a list of file names" in capsys.readouterr().err


def test_a_scale_that_cannot_fit_is_refused_before_running(tmp_path, capsys):
    sc = tiny_scenario(tmp_path)
    sc["departures"]["scale"] = 1e9
    path = write_yaml(tmp_path / "huge.yaml", sc)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "huge.yaml: departures.scale:" in err and "GB" in err
    assert not (tmp_path / "out").exists()
    assert main(["validate", str(path)]) == 2


def test_validate_shows_the_expected_people_and_groups(tiny, capsys):
    assert main(["validate", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "people in" in out and "groups" in out and "MB per run" in out


def test_drop_policies_must_name_inherited_levers(tmp_path, capsys):
    base = write_yaml(tmp_path / "base.yaml", tiny_scenario(tmp_path))
    write_yaml(tmp_path / "v.yaml", {"extends": base.name, "drop_policies": ["No such lever"]})
    assert main(["validate", str(tmp_path / "v.yaml")]) == 2
    assert "v.yaml: drop_policies: no inherited lever" in capsys.readouterr().err
    write_yaml(tmp_path / "w.yaml", {"extends": base.name, "drop_policies": "Title 42 ends"})
    assert main(["validate", str(tmp_path / "w.yaml")]) == 2
    assert "w.yaml: drop_policies: must be a list" in capsys.readouterr().err
