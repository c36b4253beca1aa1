"""``targets.evaluate`` against numbers worked by hand: seasonal pacing, excluded days, thresholds per KPI,
an entity without data, a quarter in progress, a catalog passed in, the as-of rules, warnings and an
empty target list (issue 11: the survivors of ``evaluate``, ``_seasonal_curve``, ``all_targets``).

Data: ``tests/worked_fixtures.py`` with three order changes (all delivered, fx 1):

- M1's March 2025 order of 300 on the 10th is split into 150 on 2025-03-05 and 150 on 2025-03-31;
- M1 sells 70 on 2026-03-12 and M2 40 on 2026-03-20: after the as-of date 2026-03-10 used below.

Last March by day (the seasonal curve of March 2026, day 10 = 10 of 31 days elapsed):
M1 150 (5th) + 150 (31st) → 150 / 300 = 0.5 by the 10th; M2 100 (10th) → 1.0 by the 10th (M2's units: the one
unit of that order, all of last March's); the company 150 + 100 of 400 → 0.625 by the 10th. Calendar share:
10 / 31. Last Q1 by its 69th day (2025-03-10): 400 + 800 + 250 = 1450 of 1600; last year by then: 1450 of 3500
(M1 2100 + M2 1400).

March 2026 up to the 10th: M1 50 (5th), M2 100 (5th); company 150. January 2026: M1 900, M2 500 (15th).
Q1 2026 to the 10th of March has 31 + 28 + 10 = 69 of 90 days.

The warehouse lives outside the project (``KPI_WAREHOUSE`` unset), so every query must use the warehouse
passed in; a catalog with one extra KPI (``gmv_b``, a copy of GMV) is passed in, so every step must use it.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from worked_fixtures import build_tables, catalog_plus, order_lines_like, project_elsewhere
from worked_fixtures import one_row as row

from kpi_lib.definitions import Catalog
from kpi_lib.targets import STATUS_COLUMNS, evaluate

AS_OF = dt.date(2026, 3, 10)

TARGETS = """
thresholds: {aov: {green: 1.2, amber: 1.1}}
targets:
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-01, value: 1000}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: 2026-01, value: 600}
  - {kpi: gmv, entity_kind: company, period: 2026-01, value: 1400}
  - {kpi: aov, entity_kind: store, entity_id: M1, period: 2026-01, value: 800}
  - {kpi: aov, entity_kind: store, entity_id: M2, period: 2026-01, value: 400}
  - {kpi: gmv, entity_kind: store, entity_id: N1, period: 2026-01, value: 50}
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-03, value: 310, pacing: seasonal}
  - {kpi: gmv, entity_kind: company, period: 2026-03, value: 400, pacing: seasonal}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: 2026-03, value: 310}
  - {kpi: gmv_b, entity_kind: store, entity_id: M2, period: 2026-Q1, value: 900}
  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-Q1, value: 2000}
  - {kpi: gmv, entity_kind: store, entity_id: N1, period: 2026-04, value: 1}
  - {kpi: gmv, entity_kind: store, entity_id: N1, period: 2026-02, growth: 0.1}
  - {kpi: units, entity_kind: store, entity_id: M2, period: 2026-03, value: 4, pacing: seasonal}
  - {kpi: gmv, entity_kind: company, period: 2026-Q1, value: 1600, pacing: seasonal}
  - {kpi: gmv, entity_kind: company, period: "2026", value: 7000, pacing: seasonal}
"""

ADJUSTMENTS = """
adjustments:
  - {id: X1, who: me, when: 2026-02-01, why: stock-out, kind: exclude_days, kpi: gmv, entity_kind: store,
     entity_id: M2, start: 2026-01-01, end: 2026-01-10}
  - {id: X2, who: me, when: 2026-02-01, why: listing down, kind: exclude_days, kpi: aov, entity_kind: store,
     entity_id: M1, start: 2026-01-01, end: 2026-01-03}
  - {id: X3, who: me, when: 2026-02-01, why: store suspended, kind: exclude_days, kpi: aov, entity_kind: store,
     entity_id: M2, start: 2026-01-01, end: 2026-01-31}
  - {id: X4, who: me, when: 2026-02-01, why: warehouse move, kind: exclude_days, kpi: gmv, entity_kind: company,
     start: 2026-01-20, end: 2026-01-31}
  - {id: X5, who: me, when: 2026-02-01, why: stock-out, kind: exclude_days, kpi: gmv_b, entity_kind: store,
     entity_id: M2, start: 2026-01-01, end: 2026-01-10}
"""


def _orders(t: pd.DataFrame) -> pd.DataFrame:
    o = t.copy()
    m1_march = o[(o["store_id"] == "M1") & (o["order_date"] == pd.Timestamp("2025-03-10"))]
    assert len(m1_march) == 1 and m1_march["gross_sales"].iloc[0] == 300.0
    o = o.drop(index=m1_march.index)
    extra = order_lines_like(m1_march.iloc[0], [("M1", "2025-03-05", 150.0), ("M1", "2025-03-31", 150.0),
                                                ("M1", "2026-03-12", 70.0), ("M2", "2026-03-20", 40.0)])
    return pd.concat([o, extra], ignore_index=True)


def catalog_b() -> Catalog:
    """The project's catalog plus ``gmv_b``: GMV under another name (the project's own catalog lacks it)."""
    return catalog_plus("gmv_b", "gmv")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tables = build_tables()
    tables["orders"] = _orders(tables["orders"])
    with project_elsewhere(tmp_path_factory.mktemp("evaluate"), TARGETS, ADJUSTMENTS, tables) as got:
        yield got


@pytest.fixture()
def ev(project):
    """Evaluated in each test: mutmut credits a module fixture's calls to its first test only."""
    _, wh = project
    res = evaluate(as_of=AS_OF, warehouse=wh, catalog=catalog_b())
    return res


def test_complete_months_excluded_days_and_thresholds(ev):
    # M1 January: 900 of 1000 → 0.9 → amber; X2 excludes days of M1's *aov*, not its GMV: not adjusted
    r = row(ev, "gmv", "store", "M1", "2026-01")
    assert (r["target"], r["actual"], r["status"]) == (1000.0, 900.0, "amber")
    assert r["achievement"] == pytest.approx(0.9) and not r["adjusted"] and r["adjustment_ids"] == ""
    # M2 January: X1 excludes 10 of 31 days → target 600 × 21/31 = 406.45; the order of the 15th stays: 500
    # → 500 / 406.45 = 1.2302 → green (without the exclusion 500/600 = 0.83 would be red)
    r = row(ev, "gmv", "store", "M2", "2026-01")
    assert r["target"] == pytest.approx(600 * 21 / 31) and r["actual"] == 500.0
    assert r["achievement"] == pytest.approx(500 / (600 * 21 / 31)) and r["status"] == "green"
    assert r["adjusted"] and r["adjustment_ids"] == "X1" and r["complete"] and r["missing"] == ""
    # company January: its own X4 (20th-31st, 12 days) → 1400 × 19/31 = 858.06; actual 900 + 500 = 1400;
    # M2's X1 rolls up: listed, not applied
    r = row(ev, "gmv", "company", "", "2026-01")
    assert r["target"] == pytest.approx(1400 * 19 / 31) and r["actual"] == 1400.0 and r["status"] == "green"
    assert r["achievement"] == pytest.approx(1400 / (1400 * 19 / 31)) and r["adjustment_ids"] == "X1,X4"
    # aov (a ratio) with 3 excluded days: the target stays 800 (only additive targets shrink); the one order
    # (15th) is kept: 900 / 1 = 900 → 1.125: amber by aov's own thresholds (green 1.2, amber 1.1), not green
    r = row(ev, "aov", "store", "M1", "2026-01")
    assert (r["target"], r["actual"], r["status"], r["adjustment_ids"]) == (800.0, 900.0, "amber", "X2")
    assert r["achievement"] == pytest.approx(1.125) and r["expected_to_date"] == 800.0
    # aov of M2 with the whole month excluded: nothing left to judge → none
    r = row(ev, "aov", "store", "M2", "2026-01")
    assert r["target"] == 400.0 and math.isnan(r["actual"]) and r["status"] == "none"
    # N1 (launched in February) has no January row: unknown actual, not incomplete, judged none
    r = row(ev, "gmv", "store", "N1", "2026-01")
    assert math.isnan(r["actual"]) and math.isnan(r["achievement"]) and r["status"] == "none"
    assert r["complete"] and r["missing"] == "" and not r["adjusted"]


def test_month_in_progress_seasonal_and_calendar_pacing(ev):
    # M1 (seasonal): last March's curve at day 10 = 0.5 → expected 310 × 0.5 = 155; actual 50 (the 70 of the
    # 12th is after the as-of date) → pace 50/155 → red; projection 50 / 0.5 = 100
    r = row(ev, "gmv", "store", "M1", "2026-03")
    assert r["expected_to_date"] == pytest.approx(155.0) and r["actual"] == 50.0
    assert r["pace_achievement"] == pytest.approx(50 / 155) and r["projection"] == pytest.approx(100.0)
    assert r["achievement"] == pytest.approx(50 / 310) and r["status"] == "red"
    # company (seasonal): curve 250/400 = 0.625 → expected 250; actual 150 → pace 0.6 → red; projection 240
    r = row(ev, "gmv", "company", "", "2026-03")
    assert r["expected_to_date"] == pytest.approx(250.0) and r["actual"] == 150.0
    assert r["pace_achievement"] == pytest.approx(0.6) and r["projection"] == pytest.approx(240.0)
    assert r["status"] == "red"
    # M2 (calendar): expected 310 × 10/31 = 100; actual 100 (the 40 of the 20th comes later) → 1.0 → green
    r = row(ev, "gmv", "store", "M2", "2026-03")
    assert r["expected_to_date"] == pytest.approx(100.0) and r["actual"] == 100.0
    assert r["pace_achievement"] == pytest.approx(1.0) and r["projection"] == pytest.approx(310.0)
    assert r["status"] == "green"
    # M2's units (seasonal): last March had one unit, by the 10th → expected 4 × 1.0 = 4; actual 1 → 0.25 → red
    r = row(ev, "units", "store", "M2", "2026-03")
    assert r["expected_to_date"] == pytest.approx(4.0) and r["actual"] == 1.0 and r["projection"] == pytest.approx(1.0)
    assert r["status"] == "red"


def test_quarter_and_year_seasonal(ev):
    """The company's Q1 and 2026 targets are seasonal, and its own X4 takes 12 days (January 20th-31st, no orders)
    out of each. Actual to March 10th: January 1400 + February 80 (N1) + March 150 = 1630."""
    q = row(ev, "gmv", "company", "", "2026-Q1")
    # target 1600 × 78/90 = 1386.67; expected × 1450/1600 = 1256.67 → pace 1.297 → green; projection 1630 × 1600/1450
    assert q["target"] == pytest.approx(1600 * 78 / 90) and q["actual"] == 1630.0
    assert q["expected_to_date"] == pytest.approx(1600 * 78 / 90 * 1450 / 1600)
    assert q["projection"] == pytest.approx(1630 * 1600 / 1450) and q["status"] == "green"
    assert q["adjustment_ids"] == "X1,X4"
    y = row(ev, "gmv", "company", "", "2026")
    # target 7000 × 353/365; expected × 1450/3500 → pace 0.58 → red; projection 1630 × 3500/1450 = 3934.48
    assert y["target"] == pytest.approx(7000 * 353 / 365) and y["actual"] == 1630.0
    assert y["expected_to_date"] == pytest.approx(7000 * 353 / 365 * 1450 / 3500)
    assert y["projection"] == pytest.approx(1630 * 3500 / 1450) and y["status"] == "red"


def test_quarter_in_progress_team_and_excluded_days(ev):
    # T1 = M1 + M2: January 1400 + March 150 to the 10th = 1550; expected 2000 × 69/90 = 1533.33
    r = row(ev, "gmv", "team", "T1", "2026-Q1")
    assert r["actual"] == 1550.0 and r["expected_to_date"] == pytest.approx(2000 * 69 / 90)
    assert r["pace_achievement"] == pytest.approx(1550 / (2000 * 69 / 90)) and r["status"] == "green"
    assert r["projection"] == pytest.approx(1550 * 90 / 69) and r["achievement"] == pytest.approx(0.775)
    assert r["adjustment_ids"] == "X1"
    # gmv_b of M2 (a KPI of the catalog passed in only): X5 takes 10 of 90 days → target 900 × 80/90 = 800;
    # actual without January 1-10 and up to March 10: 500 + 100 = 600; expected 800 × 69/90 = 613.33
    # → pace 0.978 → amber; projection 600 × 90/69 = 782.61
    r = row(ev, "gmv_b", "store", "M2", "2026-Q1")
    assert r["target"] == pytest.approx(800.0) and r["actual"] == 600.0
    assert r["expected_to_date"] == pytest.approx(800 * 69 / 90) and r["status"] == "amber"
    assert r["projection"] == pytest.approx(600 * 90 / 69) and r["achievement"] == pytest.approx(0.75)


def test_rows_columns_and_warnings(ev):
    assert list(ev.columns) == STATUS_COLUMNS
    assert set(ev["as_of"]) == {"2026-03-10"}
    # N1's April target starts after the as-of date: not evaluated
    assert not (ev["period"] == "2026-04").any()
    keys = list(zip(ev["entity_kind"], ev["entity_id"], ev["period"], ev["kpi"]))
    assert keys == sorted(keys) and len(keys) == 14 and list(ev.index) == list(range(14))
    # N1's growth target for February has no February 2025 to grow from: skipped and said
    assert len(ev.attrs["warnings"]) == 1 and "N1" in ev.attrs["warnings"][0] and "2025-02" in ev.attrs["warnings"][0]


def test_as_of_defaults_to_the_last_order_and_periods_filter(project):
    _, wh = project
    ev = evaluate(warehouse=wh, catalog=catalog_b())
    # the last order is M2's 40 on 2026-03-20: M2 March = 100 + 40 = 140 of 310 × 20/31 = 200
    assert set(ev["as_of"]) == {"2026-03-20"}
    r = row(ev, "gmv", "store", "M2", "2026-03")
    assert r["actual"] == 140.0 and r["expected_to_date"] == pytest.approx(200.0)
    # a month that starts on the as-of date is evaluated; periods= keeps only the months asked for
    first = evaluate(periods=["2026-03"], as_of=dt.date(2026, 3, 1), warehouse=wh, catalog=catalog_b())
    assert sorted(zip(first["entity_kind"], first["entity_id"], first["kpi"])) == [
        ("company", "", "gmv"), ("store", "M1", "gmv"), ("store", "M2", "gmv"), ("store", "M2", "units")]
    assert set(first["period"]) == {"2026-03"}
    # one day of 31 elapsed: M2 expected 310 / 31 = 10
    assert row(first, "gmv", "store", "M2", "2026-03")["expected_to_date"] == pytest.approx(10.0)


def test_targets_passed_in_and_none(project):
    from kpi_lib.targets import TARGET_COLUMNS

    _, wh = project
    tg = pd.DataFrame([["gmv", "store", "M1", "2026-01", 450.0, False, "mine", "file", ""]], columns=TARGET_COLUMNS)
    ev = evaluate(as_of=AS_OF, warehouse=wh, targets=tg, catalog=catalog_b())
    # only the target passed in (not the files'): 900 / 450 = 2.0
    assert len(ev) == 1 and ev["achievement"].iloc[0] == pytest.approx(2.0) and ev["status"].iloc[0] == "green"
    empty = pd.DataFrame(columns=TARGET_COLUMNS)
    empty.attrs["warnings"] = ["a.yaml: skipped: no data"]
    none = evaluate(as_of=AS_OF, warehouse=wh, targets=empty, catalog=catalog_b())
    assert len(none) == 0 and list(none.columns) == STATUS_COLUMNS
    assert none.attrs["warnings"] == ["a.yaml: skipped: no data"]
    bare = evaluate(as_of=AS_OF, warehouse=wh, targets=pd.DataFrame(columns=TARGET_COLUMNS), catalog=catalog_b())
    assert bare.empty and bare.attrs["warnings"] == []
