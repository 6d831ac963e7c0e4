"""Run plots: the three PNGs are written, with and without observed data, and a run
that lacks a metric still gets its plots (with a note) instead of crashing."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sim.studies.plots import make_run_plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = {"encounters_by_month.png", "encounters_by_citizenship.png", "darien_by_month.png"}


def _ts(metrics: tuple[str, ...] = ("encounters", "darien_crossings")) -> pd.DataFrame:
    """A few dates across 2022-10..2023-12, two seeds, python date objects as in a run."""
    dates = [dt.date(2022, 10, 3), dt.date(2023, 1, 15), dt.date(2023, 5, 2),
             dt.date(2023, 9, 30), dt.date(2023, 12, 1)]
    rows = []
    for seed in (1, 2):
        for i, d in enumerate(dates):
            for nat, place in (("MEXICO", "San Diego Sector"), ("VENEZUELA", "El Paso Sector")):
                if "encounters" in metrics:
                    rows.append((d, "encounters", nat, place, seed, 100 * (i + 1) + seed))
            if "darien_crossings" in metrics and d.year == 2023:
                rows.append((d, "darien_crossings", "VENEZUELA", "darien", seed, 50 + 10 * i + seed))
    return pd.DataFrame(rows, columns=["date", "metric", "nationality", "place", "seed", "value"])


@pytest.fixture
def observed_dir(tmp_path):
    d = tmp_path / "observed"
    d.mkdir()
    src = "US CBP Nationwide Encounters (test), FY2023 Southwest Land Border"
    (d / "cbp_fy2023_by_month.csv").write_text(
        "month,encounters,source\n" + "".join(
            f"{m},{200 + 10 * i},\"{src}\"\n"
            for i, m in enumerate(pd.period_range("2022-10", "2023-09", freq="M").astype(str))))
    (d / "cbp_fy2023_by_citizenship.csv").write_text(
        f"citizenship,encounters,source\nMEXICO,1500,\"{src}\"\nVENEZUELA,900,\"{src}\"\nMYANMAR,7,\"{src}\"\n")
    (d / "darien_2023_monthly.csv").write_text(
        "month,crossings,source_kind,source\n2023-01,60,reported,Panama SNM\n"
        "2023-05,80,reported,Panama SNM\n2023-09,95,derived,annual total minus other months\n")
    return d


def _assert_pngs(paths, out_dir):
    assert {p.name for p in paths} == NAMES
    for p in paths:
        assert p.parent == out_dir
        data = p.read_bytes()
        assert len(data) > 1000
        assert data[:8] == PNG_SIGNATURE


def test_plots_with_observed(tmp_path, observed_dir):
    out = tmp_path / "plots"
    paths = make_run_plots(_ts(), observed_dir, out, "test run")
    _assert_pngs(paths, out)


def test_plots_without_observed(tmp_path):
    out = tmp_path / "plots"
    paths = make_run_plots(_ts(), None, out, "test run")
    _assert_pngs(paths, out)


def test_missing_files_and_metric_do_not_crash(tmp_path):
    """An empty observed folder and a run with no Darién crossings still give plots."""
    empty = tmp_path / "empty_observed"
    empty.mkdir()
    out = tmp_path / "nested" / "plots"
    paths = make_run_plots(_ts(metrics=("encounters",)), empty, out, "tiny")
    _assert_pngs(paths, out)


def test_single_seed_and_no_rows(tmp_path, observed_dir):
    ts = _ts()
    _assert_pngs(make_run_plots(ts[ts["seed"] == 1], observed_dir, tmp_path / "a", "one seed"),
                 tmp_path / "a")
    _assert_pngs(make_run_plots(ts.iloc[0:0], observed_dir, tmp_path / "b", "no rows"),
                 tmp_path / "b")
    _assert_pngs(make_run_plots(ts.iloc[0:0], None, tmp_path / "c", "nothing"), tmp_path / "c")
