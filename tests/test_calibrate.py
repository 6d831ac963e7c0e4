"""Estimation: statistics, levels, distance, calibration-file errors, and a tiny end-to-end run."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, tiny_scenario, write_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.citizenship import CODE
from sim.cli import main
from sim.errors import InputError
from sim.outcomes.windows import Window
from sim.studies.calibration import abc, base, checks, command, simulate, targets
from sim.studies.calibration import spec as cspec

pytest.importorskip("pyabc")

SRC = "test"
MONTHS = ["2023-01", "2023-02", "2023-03"]


def _targets(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [(2023, m, c, "U.S. Border Patrol", "Title 8", v, SRC)
            for m, vv in zip(MONTHS, [(900, 600), (2400, 2100), (2700, 2300)]) for c, v in zip(("VENEZUELA", "MEXICO"), vv)]
    pd.DataFrame(rows, columns=["fiscal_year", "month", "citizenship", "component", "authority", "encounters", "source"]
                 ).to_csv(folder / "cbp_encounters_by_month_citizenship.csv", index=False)
    pd.DataFrame([(2023, "VENEZUELA", "El Paso Sector", "U.S. Border Patrol", 5200, SRC),
                  (2023, "VENEZUELA", "El Paso Field Office", "Office of Field Operations", 800, SRC),
                  (2023, "MEXICO", "El Paso Sector", "U.S. Border Patrol", 4000, SRC),
                  (2023, "MEXICO", "El Paso Field Office", "Office of Field Operations", 1000, SRC)],
                 columns=["fiscal_year", "citizenship", "area", "component", "encounters", "source"]
                 ).to_csv(folder / "cbp_encounters_by_citizenship_area.csv", index=False)
    pd.DataFrame({"month": MONTHS, "crossings": [1500, 2500, 2600], "source_kind": "reported", "source": SRC}
                 ).to_csv(folder / "darien_monthly.csv", index=False)
    pd.DataFrame([("VENEZUELA", "2023 Jan-Feb", "2023-01-01", "2023-02-28", 3990, SRC),
                  ("OTHER", "2023 Jan-Feb", "2023-01-01", "2023-02-28", 10, SRC),
                  ("TOTAL", "2023 Jan-Feb", "2023-01-01", "2023-02-28", 4000, SRC),
                  ("TOTAL", "2023 Jan-Mar", "2023-01-01", "2023-03-31", 6600, SRC)],
                 columns=["nationality", "period", "start", "end", "crossings", "source"]
                 ).to_csv(folder / "darien_by_nationality.csv", index=False)
    pd.DataFrame([("removed in February", "2023-02-01", "2023-02-28", 300, "removals", "border areas", "", SRC)],
                 columns=["fact", "start", "end", "value", "metrics", "places", "exclude", "source"]
                 ).to_csv(folder / "checks_not_fitted.csv", index=False)
    return folder


def tiny_spec(tmp: Path, **over) -> dict:
    write_yaml(tmp / "tiny.yaml", tiny_scenario(tmp))
    _targets(tmp / "targets")
    spec = {
        "name": "tiny_cal",
        "scenario": "tiny.yaml",
        "targets": "targets",
        "fit": {"first_month": "2023-01", "last_month": "2023-03"},
        "parameters": [
            {"name": "release_weight", "path": "behaviour.response.release_weight", "response": True,
             "prior": {"low": 0.0, "high": 5.0}},
            {"name": "days_weight", "path": "route_choice.days_weight", "prior": {"dist": "loguniform", "low": 0.01, "high": 1}},
        ],
        "weights": {"cells": 1, "months": 1, "events": 1, "darien_total": 1, "areas": 0.5},
        "events": [{"name": "title 42 ends", "citizenships": ["ALL"], "before": "2023-02", "after": "2023-03",
                    "kind": "rise", "labels": ["Title 42 ends"]}],
        "simulation": {"scale": 1.0, "seeds": [7]},
        "abc": {"processes": 1},
        "verify": {"level_iterations": 1, "seeds": [1], "counterfactual_scale": 1.0},
        "quick": {"population_size": 4, "max_generations": 2, "max_walltime_minutes": 1, "scale": 1.0,
                  "verify_seeds": [1], "verify_scale": 1.0, "predictive_draws": 2},
    }
    spec.update(over)
    return spec


def _model(tmp_path, **over):
    path = write_yaml(tmp_path / "cal.yaml", tiny_spec(tmp_path, **over))
    return simulate.CalibrationModel(path), path


def _observed_stats(t: targets.Targets) -> dict:
    """Statistics that equal the observed ones exactly."""
    stats = {"cells": t.cells.copy()}
    for i, p in enumerate(t.darien):
        per_cit = np.zeros(len(t.cells[0]))
        for lab, v in zip(p.labels, p.counts):
            cit = CODE.get(lab, CODE["OTHER"]) if lab != "TOTAL" else CODE["VENEZUELA"]
            per_cit[cit] += v
        stats[f"darien_{i}"] = per_cit
    for y, o in t.area_cells.items():
        stats[f"areas_{y}"] = o.copy()
    if len(t.darien_monthly):  # Panama's monthly totals, all on one citizenship
        dm = np.zeros((len(t.darien_months), len(t.cells[0])))
        dm[:, CODE["VENEZUELA"]] = t.darien_monthly
        stats["darien_months"] = dm
    return stats


# ---------------------------------------------------------------- statistics and distance
def test_rel_l1_convention():
    assert targets.rel_l1([1, 2, 3], [1, 2, 3]) == 0
    assert targets.rel_l1([2, 2], [1, 3]) == pytest.approx(2 / 4)
    assert targets.rel_l1(np.array([2, 2]) * 1000, np.array([1, 3]) * 1000) == pytest.approx(0.5)


@settings(max_examples=20, deadline=None)
@given(eps=st.floats(0.01, 0.5))
def test_distance_zero_at_observed_and_grows(tmp_path_factory, eps):
    m, _ = _model(tmp_path_factory.mktemp("d"))
    t = m.targets
    obs = _observed_stats(t)
    d = targets.FitDistance(t)
    assert d(obs) == pytest.approx(0.0, abs=1e-12)
    small = {k: v * (1 + eps) for k, v in obs.items()}
    big = {k: v * (1 + 2 * eps) for k, v in obs.items()}
    assert 0 < d(small) < d(big)
    fam = t.families(small)
    assert fam["events"] == pytest.approx(0.0, abs=1e-12)  # ratios do not move with a uniform scale
    assert fam["cells"] == pytest.approx(eps) and fam["areas"] == pytest.approx(eps)
    assert fam["darien_months"] == pytest.approx(np.log1p(eps))


def test_darien_months_family_judges_the_timing_the_totals_cannot(tmp_path):
    """Two of Panama's months swapped keep every period's total and the family sees it."""
    m, _ = _model(tmp_path)
    t = m.targets
    assert len(t.darien_monthly) >= 2  # the targets hold Panama's monthly counts
    obs = _observed_stats(t)
    swapped = dict(obs, darien_months=obs["darien_months"][::-1].copy())
    fam0, fam1 = t.families(obs), t.families(swapped)
    assert fam0["darien_months"] == pytest.approx(0.0, abs=1e-12)
    assert fam1["darien_months"] > 0.05 and fam1["darien_total"] == fam0["darien_total"]


def test_darien_total_weighs_each_year_the_same(tmp_path):
    """A year's table and the next year's two overlapping tables (as Panama's 2022 and
    its January-August and January-September 2023): the same miss in the one year as in
    all of the other costs the Darién total the same (two tables do not outvote one)."""
    m, _ = _model(tmp_path)
    t = m.targets
    p0, p1 = t.darien[:2]  # the tiny targets' two 2023 tables
    w = p0.window
    earlier = dataclasses.replace(p0, window=Window(w.start.replace(year=2022), w.end.replace(year=2022), "2022"))
    t.darien = [earlier, p0, p1]
    obs = _observed_stats(t)
    assert t.families(obs)["darien_total"] == pytest.approx(0.0, abs=1e-12)

    def missed(tables):
        return dict(obs, **{f"darien_{i}": obs[f"darien_{i}"] * 1.2 for i in tables})

    f22, f23 = t.families(missed([0]))["darien_total"], t.families(missed([1, 2]))["darien_total"]
    assert f22 == pytest.approx(np.log(1.2) / 2) and f23 == pytest.approx(f22)


def test_months_shape_judges_the_season_not_the_level(tmp_path):
    """A uniform scale keeps the monthly totals' shape (0); the months reversed keep
    every month's set of counts and the total, and the shape family sees it."""
    m, _ = _model(tmp_path)
    t = m.targets
    obs = _observed_stats(t)
    scaled = dict(obs, cells=obs["cells"] * 1.3)
    reversed_ = dict(obs, cells=obs["cells"][::-1].copy())
    fam0, fam_s, fam_r = t.families(obs), t.families(scaled), t.families(reversed_)
    assert fam0["months_shape"] == pytest.approx(0.0, abs=1e-12)
    assert fam_s["months_shape"] == pytest.approx(0.0, abs=1e-12) and fam_s["months"] > 0.2
    assert fam_r["months_shape"] > 0.1
    assert fam_r["cells"] > 0 and reversed_["cells"].sum() == pytest.approx(obs["cells"].sum())


def test_levels_rescale_each_citizenship_to_its_total(tmp_path):
    m, _ = _model(tmp_path)
    t = m.targets
    stats = _observed_stats(t)
    k = np.ones(len(t.cells[0]))
    k[CODE["VENEZUELA"]], k[CODE["MEXICO"]] = 0.5, 3.0
    off = {key: (v * k[:, None] if key.startswith("areas_") else v * k) for key, v in stats.items()}
    f = t.solve_levels(off)
    assert f.factor[CODE["VENEZUELA"]] == pytest.approx(2.0) and f.factor[CODE["MEXICO"]] == pytest.approx(1 / 3)
    assert not f.trend.any()  # one fiscal year, no trend solved
    back = t.apply_levels(off, f)
    for key in stats:
        np.testing.assert_allclose(back[key], stats[key])


TREND_MONTHS = ["2022-07", "2022-08", "2022-09", "2022-10", "2022-11", "2022-12"]  # FY2022 and FY2023


@pytest.fixture(scope="module")
def two_year_targets(tmp_path_factory) -> targets.Targets:
    """A tiny calibration over two fiscal years with ``fit.solve_trends``: its targets."""
    tmp = tmp_path_factory.mktemp("trend")
    spec = tiny_spec(tmp, fit={"first_month": TREND_MONTHS[0], "last_month": TREND_MONTHS[-1], "solve_trends": True})
    folder = tmp / "targets"
    rng = np.random.default_rng(5)
    rows = [(2022 + (m >= "2022-10"), m, c, "U.S. Border Patrol", "Title 8", int(v), SRC)
            for m in TREND_MONTHS for c, v in zip(("VENEZUELA", "MEXICO", "CUBA"), rng.integers(500, 3000, 3))]
    pd.DataFrame(rows, columns=["fiscal_year", "month", "citizenship", "component", "authority", "encounters",
                                "source"]).to_csv(folder / "cbp_encounters_by_month_citizenship.csv", index=False)
    pd.DataFrame({"month": TREND_MONTHS, "crossings": 1000, "source_kind": "reported", "source": SRC}
                 ).to_csv(folder / "darien_monthly.csv", index=False)
    pd.DataFrame([("VENEZUELA", "2022 Aug-Nov", "2022-08-01", "2022-11-30", 3990, SRC),
                  ("TOTAL", "2022 Aug-Nov", "2022-08-01", "2022-11-30", 4000, SRC)],
                 columns=["nationality", "period", "start", "end", "crossings", "source"]
                 ).to_csv(folder / "darien_by_nationality.csv", index=False)
    return simulate.CalibrationModel(write_yaml(tmp / "cal.yaml", spec)).targets


@settings(max_examples=25, deadline=None)
@given(log_level=st.floats(-2.0, 2.0), trend=st.floats(-1.5, 1.5))
def test_levels_and_trends_solved_from_the_fiscal_years(two_year_targets, log_level, trend):
    """A run whose counts are off the observed ones by a level and a trend (each month's
    count times exp(-(level + trend x years))) gets both back, within the trend bound, and
    with them every statistic: each month, Panama's period (the mean over its months) and
    the fiscal year's area table (the year's weighted mean)."""
    t = two_year_targets
    assert t.fiscal_years == [2022, 2023]
    tau = t.years(t.months)
    assert np.all(np.diff(tau) > 0) and tau[3] == pytest.approx((15 - 30.4) / 365.25, abs=0.01)
    c = CODE["VENEZUELA"]
    true = targets.LevelShift(np.ones(len(CODE)), np.zeros(len(CODE)))
    true.factor[c], true.trend[c] = np.exp(log_level), trend
    g = t.month_factors(true, t.months)
    stats = {"cells": t.cells / g, "darien_months": np.ones((len(t.darien_months), len(CODE))),
             "darien_0": np.full(len(CODE), 10.0), "areas_2023": np.ones((len(CODE), 2))}
    shift = t.solve_levels(stats, trends=np.zeros(len(CODE)))
    assert shift.trend[c] == pytest.approx(trend, abs=1e-4)
    assert shift.factor[c] == pytest.approx(np.exp(log_level), rel=1e-4)
    back = t.apply_levels(stats, shift)
    np.testing.assert_allclose(back["cells"], t.cells, rtol=1e-4)
    np.testing.assert_allclose(back["darien_months"][:, c], g[:, c], rtol=1e-4)
    assert back["darien_0"][c] == pytest.approx(10.0 * g[1:5, c].mean(), rel=1e-4)  # August to November
    fy23 = slice(3, 6)
    want = (stats["cells"][fy23, c] * g[fy23, c]).sum() / stats["cells"][fy23, c].sum()
    np.testing.assert_allclose(back["areas_2023"][c], want, rtol=1e-4)
    # the solved trend keeps within the bound: a run that already has trend 2.9 gets at most +0.1
    capped = t.solve_levels(stats, trends=np.full(len(CODE), 2.9))
    assert capped.trend[c] <= 0.1 + 1e-9
    if trend > 0.2:
        assert capped.trend[c] == pytest.approx(0.1)
    # the level still matches the two-year total when the trend is capped
    tot = (t.apply_levels(stats, capped)["cells"][:, c]).sum()
    assert tot == pytest.approx(t.cells[:, c].sum(), rel=1e-6)


def test_refined_levels_leave_trends_alone_unless_solved(tmp_path, monkeypatch):
    """Without ``fit.solve_trends`` the refined estimate carries no trends of its own (a
    citizenship's own trend would override the regional trend parameters); with it, the
    trends are the scenario's plus the solved change."""
    from sim.studies.calibration import levels

    m, _ = _model(tmp_path)
    stats = {k: v * 2.0 for k, v in _observed_stats(m.targets).items()}
    monkeypatch.setattr(levels, "simulate_many", lambda *a, **k: [stats])
    params = {p.name: p.prior.centre() for p in m.spec.parameters}
    out = levels.refine_levels(m, params, simulate.Solved(m.base_levels()), [1], 1.0, 1, 1, areas=False,
                               log=lambda *a: None)
    assert out.trends is None
    np.testing.assert_allclose(out.levels[m.base_levels() > 0], 0.5 * m.base_levels()[m.base_levels() > 0])
    shift = targets.LevelShift(np.full(len(CODE), 0.5), np.full(len(CODE), 0.25))
    both = simulate.Solved(m.base_levels()).shifted(shift, None, np.full(len(CODE), 0.1))
    np.testing.assert_allclose(both.trends, 0.35)


def test_posterior_draws_keep_trends_within_the_scenarios_bound(tmp_path):
    """A particle whose trend change lies far from the median's, on a refined trend near
    the bound, is drawn at the bound: a scenario refuses a trend beyond it (found when a
    notebook's run drew Venezuela at +3.13)."""
    from sim.studies.calibration.outputs import draws_table

    m, _ = _model(tmp_path)
    post = pd.DataFrame({p.name: [1.0, 1.0, 1.0] for p in m.spec.parameters})
    post["weight"] = 1.0
    post["trend_shift.VENEZUELA"] = [0.0, 0.1, 0.8]
    post["trend_shift.MEXICO"] = [0.0, -0.1, -0.8]
    trends = np.zeros(len(CODE))
    trends[CODE["VENEZUELA"]], trends[CODE["MEXICO"]] = 2.9, -2.9
    levels = np.ones(len(CODE))
    out = draws_table(m.spec, post, levels, list(CODE), trends)
    ven, mex = (out[f"departures.by_citizenship.{c}.trend"].to_numpy() for c in ("VENEZUELA", "MEXICO"))
    np.testing.assert_allclose(ven, [2.8, 2.9, targets.TREND_BOUND])
    np.testing.assert_allclose(mex, [-2.8, -2.9, -targets.TREND_BOUND])


def test_solve_trends_needs_two_fiscal_years(tmp_path, capsys):
    path = write_yaml(tmp_path / "cal.yaml", tiny_spec(tmp_path, fit={"first_month": "2023-01",
                                                                       "last_month": "2023-03", "solve_trends": True}))
    assert main(["calibrate", str(path), "--quick", "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cal.yaml" in err and "fit.solve_trends" in err and "two fiscal" in err


def test_a_particle_sets_out_as_many_people_on_day_one_as_the_scenario(tmp_path):
    """Whatever its response, a particle runs at levels that set out the scenario's volume on
    the first day (its levels are solved afterwards); the factors it reports are relative to
    the scenario's levels, so the solved levels do not depend on where it ran."""
    m, _ = _model(tmp_path, parameters=[
        {"name": "release_weight", "path": "behaviour.response.release_weight", "response": True,
         "prior": {"low": 0.0, "high": 5.0}},
        {"name": "cost_weight", "path": "behaviour.response.cost_weight", "prior": {"low": 0.0, "high": 2.0}}])
    base = m.base_levels() * m.start_response(None)
    # the cost response counts the cost above the open one: with every leg open and known
    # on day one, it leaves day one alone
    np.testing.assert_allclose(m.start_response({"release_weight": 2.0, "cost_weight": 1.5}),
                               m.start_response({"release_weight": 2.0, "cost_weight": 0.0}), rtol=1e-12)
    for p in ({"release_weight": 3.0, "cost_weight": 0.2}, {"release_weight": 2.5, "cost_weight": 0.5}):
        lv = m.volume_levels(p)
        assert (m.start_response(p)[m.base_levels() > 0] < 0.5).all()   # a strong response...
        np.testing.assert_allclose(lv * m.start_response(p), base, rtol=1e-9)  # ...run at the same volume
        assert not np.allclose(lv, m.base_levels())
        out = m(p)
        used = np.divide(lv, m.base_levels(), out=np.ones_like(lv), where=m.base_levels() > 0)
        np.testing.assert_allclose(out["level_factors"] / used, m.targets.solve_levels(
            {"cells": m.simulate(p, levels=lv)[0]["cells"]}).factor, rtol=1e-9)
    # a citizenship that hardly sets out on day one is raised at most MAX_VOLUME_UP-fold
    lv = m.volume_levels({"release_weight": 1e3, "cost_weight": 0.5})
    assert (lv <= simulate.MAX_VOLUME_UP * m.base_levels() + 1e-9).all()


def test_event_ratio_and_checks(tmp_path):
    m, _ = _model(tmp_path)
    t = m.targets
    e = t.events[0]
    assert t.observed_ratio(e) == pytest.approx(5000 / 4500)
    assert checks.event_ok(m.spec, e, 5000 / 4500 * 1.4, 5000 / 4500)
    assert not checks.event_ok(m.spec, e, 5000 / 4500 * 1.6, 5000 / 4500)
    # without its levers a fall must lie at least half-way from the observed ratio to 1
    assert checks.counterfactual_ok(m.spec, 0.61, 0.2) and not checks.counterfactual_ok(m.spec, 0.59, 0.2)
    assert checks.counterfactual_ok(m.spec, 2.0, 4.0) and not checks.counterfactual_ok(m.spec, 3.0, 4.0)


def test_a_narrow_interval_on_a_few_particles_is_not_identification(tmp_path):
    m, _ = _model(tmp_path)
    stats = _observed_stats(m.targets)

    def width_rows(ess):
        rows = checks.criteria(m.spec, m.targets, stats, {}, {"release_weight": 0.2}, ess)
        return [r for r in rows if r["criterion"].startswith("release_weight")]

    assert width_rows(60.0)[0]["ok"] and width_rows(20.0)[0]["ok"]
    few = width_rows(2.0)[0]
    assert not few["ok"] and "ESS 2" in few["value"]
    post = pd.DataFrame({"weight": [1.0, 1.0, 1.0, 1.0]})
    assert abc.effective_sample_size(post) == pytest.approx(4.0)
    assert abc.effective_sample_size(pd.DataFrame({"weight": [1.0, 1e-9, 1e-9]})) == pytest.approx(1.0, abs=1e-6)


def test_weighted_quantile():
    x = np.array([1.0, 2.0, 3.0])
    assert abc.weighted_quantile(x, np.array([1, 1, 1]), 0.5) == pytest.approx(2.0)
    assert abc.weighted_quantile(x, np.array([0.0, 0.0, 1.0]), 0.5) == pytest.approx(3.0)


# ---------------------------------------------------------------- calibration-file errors
BAD = [
    ({"weights": {"nope": 1}}, "weights", "unknown target family"),
    ({"parameters": [{"name": "x y", "path": "a.b", "prior": {"low": 0, "high": 1}}]}, "parameters.0.name", "identifier"),
    ({"parameters": [{"name": "x", "path": "a.b", "prior": {"low": 1, "high": 0}}]}, "parameters.0.prior", "greater"),
    ({"events": [{"name": "e", "citizenships": ["NARNIA"], "before": "2023-01", "after": "2023-02", "kind": "fall",
                  "labels": ["x"]}]}, "events.0.citizenships", "unknown citizenship"),
    ({"events": [{"name": "e", "citizenships": ["ALL"], "before": "2023-13", "after": "2023-02", "kind": "fall",
                  "labels": ["x"]}]}, "events.0.before", "not a month"),
    ({"scenario": "missing.yaml"}, "scenario", "file not found"),
    ({"abc": {"method": "gibbs"}}, "abc.method", "mcmc"),
    ({"abc": {"keep_fraction": 1.0}}, "abc.keep_fraction", "less than 1"),
    ({"abc": {"mcmc_steps": 0}}, "abc.mcmc_steps", "greater than or equal to 1"),
]


@pytest.mark.parametrize("over,field,msg", BAD)
def test_bad_calibration_file(tmp_path, over, field, msg):
    path = write_yaml(tmp_path / "cal.yaml", tiny_spec(tmp_path, **over))
    with pytest.raises(InputError) as e:
        cspec.load_spec(path)
    assert e.value.field.startswith(field) and msg in e.value.message


def test_bad_path_or_label_is_found_before_any_simulation(tmp_path):
    m, path = _model(tmp_path, parameters=[{"name": "x", "path": "behaviour.response.nope", "prior": {"low": 0, "high": 1}}])
    with pytest.raises(InputError, match="parameters.0.path"):
        simulate.check_spec_against_scenario(m)
    sp = tiny_spec(tmp_path)
    sp["events"][0]["labels"] = ["no such lever"]
    m2 = simulate.CalibrationModel(write_yaml(tmp_path / "cal2.yaml", sp))
    with pytest.raises(InputError, match="events.0.labels.0"):
        simulate.check_spec_against_scenario(m2)
    assert main(["calibrate", str(tmp_path / "missing.yaml")]) == 2
    # found before any simulation, by the command too: exit 2 and no results folder left
    out = tmp_path / "out"
    assert main(["calibrate", str(tmp_path / "cal2.yaml"), "--out", str(out), "--quick"]) == 2
    assert not out.exists()


def test_cli_subcommand():
    parser = argparse.ArgumentParser(prog="migsim")
    sub = parser.add_subparsers(dest="command")
    command.add_parser(sub)
    a = parser.parse_args(["calibrate", "x.yaml", "--quick", "--no-mask", "--scheduler", "tcp://127.0.0.1:8786"])
    assert a.quick and a.no_mask and a.scheduler == "tcp://127.0.0.1:8786" and a.func is command.handler


def test_the_command_flushes_its_progress_lines(monkeypatch):
    """An estimation's output usually goes to a file; its progress must reach it as it goes."""
    import io

    class Out(io.StringIO):
        flushed = 0

        def flush(self):
            Out.flushed += 1

    seen = {}

    def fake(spec, log, **kw):
        out = Out()
        monkeypatch.setattr("sys.stdout", out)
        log("generation 1")
        seen["text"], seen["flushed"] = out.getvalue(), Out.flushed
        monkeypatch.undo()
        return {"params": "p", "report": "r", "posterior": "q", "criteria": [], "simulations": 0, "total_seconds": 0}

    monkeypatch.setattr(command, "calibrate", fake)
    args = argparse.Namespace(spec="x.yaml", out=None, scheduler=None, quick=True, report_only=False, max_minutes=None,
                              no_mask=True, resume=False)
    assert command.handler(args) == 0
    assert seen == {"text": "generation 1\n", "flushed": 1}


# ---------------------------------------------------------------- end to end
@pytest.mark.parametrize("method", ["mcmc", "importance"])
def test_quick_smoke_run(tmp_path, method):
    spec = tiny_spec(tmp_path, abc={"processes": 1, "method": method})
    if method == "importance":  # and a count made a target
        spec["weights"]["counts"] = 1.0
        (tmp_path / "targets" / "counts_fitted.csv").write_text(
            "fact,start,end,value,metrics,places,exclude,source\nremoved in March,2023-03-01,2023-03-31,200,"
            "removals,border areas,,test\n")
    path = write_yaml(tmp_path / "cal.yaml", spec)
    out = tmp_path / "out"
    s = command.calibrate(path, out=out, quick=True, log=lambda *a: None)
    assert Path(s["params"]).parent == out  # a quick run never touches the calibration folder
    frag = yaml.safe_load(Path(s["params"]).read_text())
    assert set(frag) >= {"behaviour", "route_choice", "departures"}
    assert frag["departures"]["by_citizenship"]["VENEZUELA"]["level"] > 0
    report = (out / "REPORT.md").read_text()
    assert "QUICK SMOKE RUN" in report and "title 42 ends" in report and "posterior width / prior width" in report
    assert "Response and behaviour: " in report and "alone:" not in report  # nothing estimated for one citizenship
    checked = report.split("## Checks not fitted", 1)[1]  # the figure not fitted, against the estimate
    assert "| removed in February | 2023-02-01..2023-02-28 | 300 |" in checked
    if method == "importance":
        fitted = report.split("## Counts fitted", 1)[1].split("##", 1)[0]
        assert "| removed in March | 2023-03-01..2023-03-31 | 200 |" in fitted and "counts " in report
    names = {c["criterion"] for c in s["criteria"]}
    assert any("title 42 ends" in n for n in names) and any("release_weight" in n for n in names)
    post = pd.read_parquet(out / "posterior.parquet")
    assert {"release_weight", "days_weight", "weight"} <= set(post.columns)
    assert len(post) == 4 and s["simulations"] >= 4  # the last generation, whole
    if method == "mcmc":  # equal weights, and the same particles when run again (one seeded generator)
        assert np.allclose(post["weight"], post["weight"].iloc[0])
        again = command.calibrate(path, out=tmp_path / "again", quick=True, log=lambda *a: None)
        assert again["simulations"] == s["simulations"]
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again" / "posterior.parquet"), post)
    # the written fragment, merged over the scenario, validates
    from sim.scenario.files import merge, read_raw, validate_raw

    validate_raw(merge(read_raw(tmp_path / "tiny.yaml"), frag), path)


def _stored_particles(db: Path, names: list[str]):
    import pyabc

    from sim.studies.calibration.smc import stored_run

    return stored_run(pyabc.History(f"sqlite:///{db}", create=False), names).last


def _distance_again(path: Path, names: list[str], z: np.ndarray) -> float:
    """A stored particle simulated again at its own parameters, as a fresh process would
    (the cache holds one base per calibration file and process)."""
    simulate._CACHE.clear()
    model = simulate.CalibrationModel(path)
    return targets.FitDistance(model.targets)(simulate.LatentModel(model)(dict(zip(names, z))))


def test_a_resumed_run_simulates_on_the_base_it_started_from(tmp_path):
    """Every full run rewrites the parameter file its scenario extends; a run carried on
    later must simulate on the file as it was when it started, or its stored particles
    are no longer at their stored distances."""
    spec = tiny_spec(tmp_path, abc={"processes": 1, "population_size": 4, "max_generations": 1},
                     outputs={"params": "tiny_params.yaml", "posterior": "tiny_posterior.parquet"},
                     verify={"level_iterations": 1, "seeds": [1], "counterfactual_scale": 1.0, "predictive_draws": 0})
    write_yaml(tmp_path / "tiny.yaml", {**tiny_scenario(tmp_path), "extends": "tiny_params.yaml"})
    params = write_yaml(tmp_path / "tiny_params.yaml", {"behaviour": {"response": {"release_weight": 1.0}},
                                                       "route_choice": {"days_weight": 0.5}})
    started = params.read_bytes()
    path, out, names = write_yaml(tmp_path / "cal.yaml", spec), tmp_path / "out", ["release_weight", "days_weight"]
    logs: list[str] = []
    command.calibrate(path, out=out, masked=False, log=logs.append)
    assert params.read_bytes() != started  # the run ended by writing its estimate over its base
    last = _stored_particles(out / "abc.db", names)
    i = int(np.argmin(last.distance))
    assert _distance_again(path, names, last.z[i]) != pytest.approx(last.distance[i])  # the fault, shown

    simulate._CACHE.clear()
    command.calibrate(write_yaml(path, {**spec, "abc": {**spec["abc"], "max_generations": 2}}), out=out, masked=False,
                      resume=True, log=logs.append)
    assert any("put back as it was when the run" in m for m in logs)
    resumed = _stored_particles(out / "abc.db", names)
    assert params.read_bytes() != started and (out / base.BASE_NAME).read_bytes() == started
    # the resumed generation's particles were judged on the run's own base: with it put back, each one
    # re-simulates to its stored distance
    params.write_bytes(started)
    for z, d in zip(resumed.z, resumed.distance):
        assert _distance_again(path, names, z) == pytest.approx(d)


def test_the_base_is_copied_at_a_start_put_back_on_carrying_on_and_left_when_unknown(tmp_path):
    params, out, logs = tmp_path / "p.yaml", tmp_path / "out", []
    out.mkdir()
    base.keep_base(params, out, carry_on=False, quick=False, log=logs.append)
    assert not (out / base.BASE_NAME).exists()  # no estimate to extend yet: nothing to keep
    params.write_text("a: 1\n")
    base.keep_base(params, out, carry_on=False, quick=False, log=logs.append)
    assert (out / base.BASE_NAME).read_text() == "a: 1\n" and not logs
    params.write_text("a: 2\n")  # the run's end wrote its estimate
    base.keep_base(params, out, carry_on=False, quick=False, log=logs.append)  # a new run starts from it
    assert (out / base.BASE_NAME).read_text() == "a: 2\n"
    params.write_text("a: 3\n")
    base.keep_base(params, out, carry_on=True, quick=False, log=logs.append)
    assert params.read_text() == "a: 2\n" and "put back" in logs[-1]
    (out / base.BASE_NAME).unlink()  # a run stored before copies were kept: carried on over the file as it is
    base.keep_base(params, out, carry_on=True, quick=False, log=logs.append)
    assert params.read_text() == "a: 2\n" and "absent" in logs[-1] and (out / base.BASE_NAME).read_text() == "a: 2\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_quick_run_refuses_to_carry_on_over_a_changed_base(tmp_path, capsys):
    path = write_yaml(tmp_path / "cal.yaml", tiny_spec(tmp_path, outputs={"params": "tiny_params.yaml"}))
    write_yaml(tmp_path / "tiny.yaml", {**tiny_scenario(tmp_path), "extends": "tiny_params.yaml"})
    params = write_yaml(tmp_path / "tiny_params.yaml", {"route_choice": {"days_weight": 0.5}})
    out = tmp_path / "out"
    out.mkdir()
    (out / "abc.db").write_bytes(b"")  # a run to carry on
    (out / base.BASE_NAME).write_text("route_choice: {days_weight: 0.2}\n")
    assert main(["calibrate", str(path), "--quick", "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"migsim: error: {params}: changed since the quick run in {out} started") and "\n" not in err
    assert params.read_text() == "route_choice:\n  days_weight: 0.5\n"  # left as it was


def test_project_calibration_file_is_valid():
    spec, base = cspec.load_spec(ROOT / "calibration" / "fy2022_fy2023.yaml")
    m = simulate.CalibrationModel(ROOT / "calibration" / "fy2022_fy2023.yaml")
    simulate.check_spec_against_scenario(m)
    t = m.targets
    fy = t.fiscal_totals(t.cells)
    assert fy == {2022: 2_378_944, 2023: 2_475_669}
    assert {p.name: p.total for p in t.darien} == {"2022 full year": 248_284, "2023 Jan-Aug": 333_704,
                                                    "2023 Jan-Sep": 408_972}
    assert len(spec.events) >= 5 and spec.mask is not None
    # every response parameter is shared: no event owns one (levers carry no fitted size)
    assert all(not p.path.startswith("policies") for p in spec.parameters)


def test_a_new_backcast_refreshes_the_main_reports_backcast_section(tmp_path):
    from sim.studies.calibration.report import refresh_backcast_sections

    def backcast(total):
        return ("# Estimation report: backcast\n\n- Written 2026-01-01 00:00 UTC; code at git abc1234; whole command 1 min.\n\n"
                "## Out of sample: the months before the fit (backcast)\n\nObserved months...\n\n"
                f"| figure | simulated | observed |\n|---|---|---|\n| encounters, all months | {total} | 9 |\n\n"
                "Distance by family (estimate): cells 0.1.\n")

    bc = tmp_path / "BACKCAST_FY2022.md"
    bc.write_text(backcast("111"))
    from sim.studies.calibration.report import backcast_sections
    main = tmp_path / "REPORT.md"
    main.write_text("# Main\n\n## Fit\n\nfit text\n" + "\n".join(backcast_sections(main))
                    + "\nDistance by family (estimate): cells 0.3.\n\n## Known weaknesses\n\n- one\n")
    before = main.read_text()
    assert "| 111 |" in before and "abc1234" in before
    bc.write_text(backcast("222").replace("abc1234", "def5678"))
    assert refresh_backcast_sections(tmp_path, bc) == [main]
    after = main.read_text()
    assert "| 222 |" in after and "def5678" in after and "| 111 |" not in after
    # everything outside the backcast section is as it was
    assert after.split("## Backcast (")[0] == before.split("## Backcast (")[0]
    assert after.split("\nDistance by family")[1] == before.split("\nDistance by family")[1]
    # a backcast report rewritten does not quote its own previous run
    assert backcast_sections(bc) == []


def test_the_report_counts_a_citizenships_seasonal_parameters_shared_or_its_regions():
    """A region's own amplitude and peak replace the shared ones for its citizenships: four
    seasonal parameters estimated, two per citizenship; a region's own peak beside a shared
    amplitude alone makes two for its citizenships and one for the rest."""
    from types import SimpleNamespace

    from sim.studies.calibration.report import _season_per_citizenship

    def count(*paths):
        return _season_per_citizenship([SimpleNamespace(path=f"departures.seasonality.{p}") for p in paths])

    assert count("amplitude", "peak_month") == 2
    assert count("amplitude", "peak_month", "by_region.south_america.amplitude",
                 "by_region.south_america.peak_month") == 2
    assert count("amplitude", "by_region.south_america.peak_month") == 2
    assert count("amplitude") == 1


def test_the_report_counts_a_parameter_estimated_for_one_citizenship_alone():
    """A citizenship's own share of visa holders, estimated, is one more parameter of its
    departures (and not a shared one); its own trend is not counted twice."""
    from types import SimpleNamespace

    from sim.studies.calibration.report import _own_fields

    def fields(*paths):
        return _own_fields([SimpleNamespace(path=p) for p in paths])

    assert fields("departures.by_citizenship.VENEZUELA.visa_holders", "departures.by_citizenship.CUBA.trend",
                  "departures.visa_holders", "behaviour.beliefs.heard_share") == {"VENEZUELA": ["visa_holders"]}
    assert fields("departures.by_citizenship.CUBA.trend", "departures.seasonality.amplitude") == {}


def test_a_count_made_a_target_is_summed_levelled_and_judged(tmp_path):
    """A row of counts_fitted.csv: the run's figure by citizenship (its sum the check's
    measure), multiplied by the citizenships' level factors, and a log-ratio family."""
    from sim.engine.model import RouteModel
    from sim.scenario.inputs import Inputs
    from sim.studies.calibration.not_fitted import FITTED, read_checks

    folder = _targets(tmp_path / "targets")
    (folder / FITTED).write_text("fact,start,end,value,metrics,places,exclude,source\n"
                                 "removed,2023-02-01,2023-02-28,300,removals,border areas,,test\n")
    m, _ = _model(tmp_path, weights={"cells": 1, "counts": 1})
    t = m.targets
    assert [c.fact for c in t.counts] == ["removed"]
    inp = Inputs.load(tmp_path / "tiny.yaml")
    ts = RouteModel(inp, 3).run().timeseries()
    stats = t.summarize(ts, 1.0, inp.network)
    by = stats["count_0"]
    assert by.sum() == pytest.approx(read_checks(folder, FITTED)[0].measure(ts, inp.network, 1.0)) and by.sum() > 0
    f = np.linspace(0.5, 2.0, len(by))
    assert t.apply_levels(stats, f)["count_0"] == pytest.approx(by * f)
    assert t.families(stats)["counts"] == pytest.approx(abs(np.log(by.sum() / 300)))
    # the check not fitted rides along (so a verification measures it without running
    # again) and stays out of the distance
    assert stats["check_0"].sum() == pytest.approx(read_checks(folder)[0].measure(ts, inp.network, 1.0))
    assert t.families({**stats, "check_0": stats["check_0"] * 10}) == t.families(stats)
    with pytest.raises(ValueError):
        t.summarize(ts, 1.0)  # without the network it cannot say where the count is


def test_weighing_counts_without_a_file_of_counts_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as e:
        _model(tmp_path, weights={"cells": 1, "counts": 1})[0].targets
    assert "counts_fitted.csv" in str(e.value) and "counts" in e.value.message
