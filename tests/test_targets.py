"""The observed tables in calibration/targets: official totals, internal consistency, the cut-off.

Fast (reads small CSVs only) and self-contained: only the project's own files are read.

Why: the model is re-estimated on FY2022-FY2023 and scored from outside on FY2024, so the
project must hold no observation dated after 2023-09-30, and every target must be an
observed figure with its source. The official figures below are CBP's and Panama's
published totals; the tables were aggregated from the row-level releases (see
calibration/targets/SOURCES.md), so any re-aggregation that loses or duplicates rows fails.

The cut-off rule, as checked here:
- structured dates: every `month` is at most 2023-09, every `end` at most 2023-09-30, every
  CBP `fiscal_year` is 2022 or 2023 and matches its month; `date` columns (policy events,
  which may be later: lever facts are allowed after the cut-off) are checked by their text;
- free text (every text cell of every CSV; for route_facts the `fact` label counts as
  context for its `value`), split into clauses at ";": a clause that refers to a time after
  2023-09 (Oct/Nov/Dec 2023, "late 2023", a bare calendar "2023", which includes
  October-December, or any year 2024 or later, ISO dates included) must hold no count;
- policy events dated 2023-10-01 or later: neither `event` nor `detail` may hold a count.
A count is a percentage (any "percent" or "%"), or a number of 3 or more digits (ranges
such as 2000-2600 are one number; thousands separators allowed) that is neither a year
(2010-2030) nor a date nor a lever quantity: preceded by USD/$ or followed by flight(s),
charter flight(s), seat(s), km, miles, hours, days or buses. Any number, whatever its
digits, followed within three words by a people or flow word (people, migrants, nationals,
encounters, entries, crossings, arrivals, ...) is also a count.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import ROOT

from sim.citizenship import CITIZENSHIPS

TARGETS = ROOT / "calibration" / "targets"
CUTOFF_MONTH = "2023-09"
CUTOFF_DAY = "2023-09-30"

CBP = {
    "month_citizenship": "cbp_encounters_by_month_citizenship.csv",
    "citizenship_area": "cbp_encounters_by_citizenship_area.csv",
    "month_area": "cbp_encounters_by_month_area.csv",
}
BP, OFO = "U.S. Border Patrol", "Office of Field Operations"
TOTAL = {2022: 2_378_944, 2023: 2_475_669}
COMPONENT = {(2022, BP): 2_206_436, (2022, OFO): 172_508, (2023, BP): 2_045_838, (2023, OFO): 429_831}
AUTHORITY_FY2022 = {"Title 42": 1_079_507, "Title 8": 1_299_437}
CITIZENSHIP = {
    (2023, "CHINA"): 24_314, (2023, "VENEZUELA"): 266_071, (2023, "MEXICO"): 717_333,
    (2022, "CHINA"): 2_176, (2022, "VENEZUELA"): 187_716, (2022, "CUBA"): 220_908,
    (2022, "MEXICO"): 808_339,
}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(TARGETS / name, dtype={"month": str, "date": str, "start": str, "end": str})


@pytest.fixture(scope="module")
def cbp() -> dict[str, pd.DataFrame]:
    return {k: _read(v) for k, v in CBP.items()}


def _all_csv() -> list:
    files = sorted(TARGETS.glob("*.csv"))
    assert files
    return files


# ---------------------------------------------------------------- CBP encounters

def test_cbp_columns(cbp):
    assert list(cbp["month_citizenship"].columns) == [
        "fiscal_year", "month", "citizenship", "component", "authority", "encounters", "source"]
    assert list(cbp["citizenship_area"].columns) == [
        "fiscal_year", "citizenship", "area", "component", "encounters", "source"]
    assert list(cbp["month_area"].columns) == [
        "fiscal_year", "month", "area", "component", "encounters", "source"]


@pytest.mark.parametrize("table", list(CBP))
def test_cbp_totals_by_fiscal_year_and_component(cbp, table):
    t = cbp[table]
    assert t["encounters"].gt(0).all()
    assert not t.drop(columns=["encounters", "source"]).duplicated().any()
    assert t.groupby("fiscal_year")["encounters"].sum().to_dict() == TOTAL
    assert t.groupby(["fiscal_year", "component"])["encounters"].sum().to_dict() == COMPONENT


def test_cbp_tables_agree_on_shared_margins(cbp):
    mc, ca, ma = cbp["month_citizenship"], cbp["citizenship_area"], cbp["month_area"]
    by_cit = [t.groupby(["fiscal_year", "citizenship", "component"])["encounters"].sum() for t in (mc, ca)]
    pd.testing.assert_series_equal(*by_cit)
    by_month = [t.groupby(["fiscal_year", "month", "component"])["encounters"].sum() for t in (mc, ma)]
    pd.testing.assert_series_equal(*by_month)
    by_area = [t.groupby(["fiscal_year", "area", "component"])["encounters"].sum() for t in (ca, ma)]
    pd.testing.assert_series_equal(*by_area)


def test_cbp_official_citizenship_and_authority(cbp):
    for t in (cbp["month_citizenship"], cbp["citizenship_area"]):
        s = t.groupby(["fiscal_year", "citizenship"])["encounters"].sum()
        for key, want in CITIZENSHIP.items():
            assert s[key] == want, key
    mc = cbp["month_citizenship"]
    auth = mc[mc["fiscal_year"] == 2022].groupby("authority")["encounters"].sum().to_dict()
    assert auth == AUTHORITY_FY2022
    assert set(mc["authority"]) == {"Title 8", "Title 42"}
    assert mc.loc[mc["authority"] == "Title 42", "month"].max() <= "2023-05"  # Title 42 ended 2023-05-11


def test_cbp_labels(cbp):
    for t in (cbp["month_citizenship"], cbp["citizenship_area"]):
        assert set(t["citizenship"]) <= set(CITIZENSHIPS)
    for t in (cbp["citizenship_area"], cbp["month_area"]):
        assert set(t["component"]) == {BP, OFO}
        assert t.loc[t["component"] == BP, "area"].str.endswith(" Sector").all()
        assert t.loc[t["component"] == OFO, "area"].str.endswith(" Field Office").all()
        assert t["area"].nunique() == 13


def test_cbp_months_belong_to_their_fiscal_year(cbp):
    for table in ("month_citizenship", "month_area"):
        t = cbp[table]
        assert t["month"].str.fullmatch(r"\d{4}-\d{2}").all()
        p = pd.PeriodIndex(t["month"], freq="M")
        assert ((p.year + (p.month >= 10)) == t["fiscal_year"]).all()
        assert set(t["fiscal_year"]) == {2022, 2023}
        assert t.groupby("fiscal_year")["month"].nunique().to_dict() == {2022: 12, 2023: 12}
        assert t["month"].min() == "2021-10" and t["month"].max() == CUTOFF_MONTH


# ---------------------------------------------------------------- Darién

def test_darien_monthly():
    m = _read("darien_monthly.csv")
    assert list(m.columns) == ["month", "crossings", "source_kind", "source"]
    assert m["month"].str.fullmatch(r"202[123]-\d{2}").all() and m["month"].is_unique
    assert set(m["source_kind"]) <= {"reported", "derived"}
    assert m.loc[m["month"] == "2023-09", "source_kind"].tolist() == ["derived"]
    s = m.set_index("month")["crossings"]
    assert s.loc["2023-01":"2023-09"].sum() == 408_972
    assert s.loc["2023-01":"2023-08"].sum() == 333_704


def test_darien_by_nationality():
    n = _read("darien_by_nationality.csv")
    assert list(n.columns) == ["nationality", "period", "start", "end", "crossings", "source"]
    for c in ("start", "end"):
        assert n[c].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
        pd.to_datetime(n[c], format="%Y-%m-%d")
    assert (n["start"] <= n["end"]).all()
    assert not n.duplicated(["nationality", "start", "end"]).any()

    def window(start, end):
        w = n[(n["start"] == start) & (n["end"] == end)].set_index("nationality")["crossings"]
        assert len(w), (start, end)
        return w

    assert window("2021-01-01", "2021-12-31").to_dict() == {"TOTAL": 133_726}
    y22 = window("2022-01-01", "2022-12-31")
    assert y22["TOTAL"] == 248_284 == y22.drop("TOTAL").sum()
    ja = window("2023-01-01", "2023-08-31")
    assert ja["TOTAL"] == 333_704 == ja.drop("TOTAL").sum()
    m = _read("darien_monthly.csv").set_index("month")["crossings"]
    assert ja["TOTAL"] == m.loc["2023-01":"2023-08"].sum()
    js = window("2023-01-01", "2023-09-30")
    assert js.to_dict() == {"TOTAL": 408_972} and js["TOTAL"] == m.loc["2023-01":"2023-09"].sum()


# ---------------------------------------------------------------- every file

@pytest.mark.parametrize("path", _all_csv(), ids=lambda p: p.name)
def test_source_column(path):
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert t.columns[-1] == "source"
    assert len(t) and t["source"].str.strip().ne("").all()


@pytest.mark.parametrize("path", _all_csv(), ids=lambda p: p.name)
def test_cutoff_structured_dates(path):
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "month" in t:
        assert t["month"].str.fullmatch(r"\d{4}-\d{2}").all()
        assert (t["month"] <= CUTOFF_MONTH).all(), t.loc[t["month"] > CUTOFF_MONTH, "month"].tolist()
    if "end" in t:
        assert (t["end"] <= CUTOFF_DAY).all(), t.loc[t["end"] > CUTOFF_DAY, "end"].tolist()
    if "fiscal_year" in t:
        assert set(t["fiscal_year"]) <= {"2022", "2023"}
    if "period" in t:
        assert not t["period"].str.contains(r"20(?:2[4-9]|[3-9]\d)").any()
        assert not t["period"].str.contains("2023 full year").any()
    if "date" in t:
        assert path.name == "policy_events.csv"  # the only table allowed dates after the cut-off


# ---- the text rule (see the module docstring)

_MONTHS_TO_SEP = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep)[a-z]*\.?"
_ISO = re.compile(r"\b\d{4}-\d{2}(?:-\d{2})?\b(?!-?\d)")
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_NUMBER = re.compile(rf"(?<![\w.,]){_NUM}(?:\s*-\s*{_NUM})?(?![\w]|[.,]\d)")
_LEVER_AFTER = re.compile(r"\s*(?:charter\s+|removal\s+)?(?:flights?|seats?|km|miles|hours|days|buses)\b", re.I)
_LEVER_BEFORE = re.compile(r"(?:USD|US\$|\$)\s*$", re.I)
_PEOPLE_AFTER = re.compile(
    r"\s*(?:\S+\s+){0,2}?(?:people|persons|migrants|nationals|encounters|entries|exits|crossings|"
    r"arrivals|transits|apprehensions|expulsions|removals|deportees|dead|deaths|missing)\b", re.I)
_LATER = [
    re.compile(r"\b(?:oct|nov|dec)[a-z]*\.?\s+2023\b", re.I),
    re.compile(r"\b2023-1[0-2]\b"),
    re.compile(r"\b20(?:2[4-9]|[3-9]\d)\b"),
]
_BARE_2023 = re.compile(r"(?<![\w-])2023(?!-\d)(?!\w)")
_BEFORE_OK = re.compile(_MONTHS_TO_SEP + r"\s+$", re.I)


def _refers_after_cutoff(text: str) -> bool:
    if any(p.search(text) for p in _LATER):
        return True
    return any(not _BEFORE_OK.search(text[: m.start()]) for m in _BARE_2023.finditer(text))


def _counts(text: str) -> list[str]:
    """The counts in a piece of text (see the module docstring)."""
    if re.search(r"percent|%", text, re.I):
        return ["a percentage"]
    found = []
    for m in _NUMBER.finditer(_ISO.sub(" ", text)):
        tok, s = m.group(), m.string
        before, after = s[: m.start()], s[m.end():]
        if _PEOPLE_AFTER.match(after):
            found.append(tok)
            continue
        digits = max(len(part.split(".")[0].replace(",", "")) for part in re.split(r"\s*-\s*", tok))
        if digits < 3:
            continue
        if re.fullmatch(r"20[1-2]\d|2030", tok):
            continue  # a year
        if _LEVER_BEFORE.search(before) or _LEVER_AFTER.match(after):
            continue
        found.append(tok)
    return found


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r";", text) if c.strip()]


def test_count_detector():
    """The rule catches the kinds of rows the audit removed and lets lever facts through.

    The examples are synthetic (made-up numbers in the shape of the removed rows), so the
    test itself holds no observation after the cut-off.
    """
    for t in ("officials say encounters of group X fell 40 percent since June 2024",
              "entries into country Y fell from 111111 (Oct 2023) to 22222 (Nov 2023)",
              "announced 2024-01-01; in 2023 country Z recorded 33,333 entries against 4444 exits",
              "123 nationals of X on the weekend of 1-2 June 2024",
              "12 people removed"):
        assert _counts(t), t
    for t in ("about 555555 people entered irregularly from then to late 2023",
              "a project counts 666 from 2014 to Nov 2023",
              "7777 (888 on the border) in 2023",
              "a cumulative 999,999 up to 2023-12-15"):
        assert any(_refers_after_cutoff(c) and _counts(c) for c in _clauses(t)), t
    for t in ("more than 500 charter flights counted by a think tank",
              "US funds about USD 6 million of removal flights", "12 plus 15 flights on 20-21 Oct",
              "one charter flight with 123 seats filled by removed nationals of X (1-2 June 2024)",
              "announced 2024-06-18", "about 350 km; about 9 hours; about 50 buses a day; USD 30 a person",
              "boat fare USD 200-400"):
        assert not _counts(t), t
    for t in ("about 84 percent of Sep 2023 port encounters", "at least 37 by late Sep 2023",
              "Jan-Sep 2023", "FY2023", "2023-09-30"):
        assert not _refers_after_cutoff(t), t
    for t in ("late 2023", "in 2023", "Oct 2023", "2023-10", "2024-06-18", "December 2023"):
        assert _refers_after_cutoff(t), t


@pytest.mark.parametrize("path", _all_csv(), ids=lambda p: p.name)
def test_cutoff_free_text(path):
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    numeric = {"fiscal_year", "encounters", "crossings"}
    context = t["fact"] if "fact" in t else pd.Series("", index=t.index)
    bad = []
    for col in [c for c in t.columns if c not in numeric]:
        for i, cell in t[col].items():
            later_label = col != "fact" and _refers_after_cutoff(context[i])
            for clause in _clauses(cell):
                if (later_label or _refers_after_cutoff(clause)) and _counts(clause):
                    bad.append((i, col, clause))
    assert not bad, bad


def test_cutoff_policy_events_after_cutoff_hold_no_counts():
    p = pd.read_csv(TARGETS / "policy_events.csv", dtype=str, keep_default_na=False)
    assert list(p.columns) == ["date", "event", "detail", "source"]
    assert p["date"].str.fullmatch(r"\d{4}-\d{2}(?:-\d{2})?").all()
    day = p["date"].where(p["date"].str.len() == 10, p["date"] + "-01")
    later = p[day > CUTOFF_DAY]
    assert len(later)  # lever facts after the cut-off are kept
    bad = [(r.date, r.event, _counts(r.event) + _counts(r.detail))
           for r in later.itertuples() if _counts(r.event) or _counts(r.detail)]
    assert not bad, bad
