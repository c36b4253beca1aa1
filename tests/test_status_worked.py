"""The exact status of fixture entities from their computed value and target (tests/worked_fixtures.py).

Achievement: up = 1 + (actual − target)/|target|, down = 1 − (actual − target)/|target|; green ≥ 1.0,
amber ≥ 0.9, red below. In-progress periods are judged on pace (expected-to-date = target × elapsed
days / days in period).
"""

from __future__ import annotations

import datetime as dt

import pytest
from worked_fixtures import make_project, make_warehouse

from kpi_lib.targets import evaluate

TARGETS = """
targets:
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-01, value: 1000}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: 2026-01, value: 600}
  - {kpi: gmv, entity_kind: company, period: 2026-01, value: 1400}
  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-01, value: 1250}
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-03, value: 310}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: 2026-03, value: 155}
  - {kpi: cogs, entity_kind: store, entity_id: M1, period: 2026-01, value: 0.8}
  - {kpi: cogs, entity_kind: store, entity_id: M2, period: 2026-01, value: 1.25}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("status"), targets_yaml=TARGETS)
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    wh = make_warehouse(root / "data" / "warehouse")
    mp.setenv("KPI_WAREHOUSE", str(wh.path))
    try:
        yield wh
    finally:
        mp.undo()


@pytest.fixture()
def status(project):
    """Evaluated in each test (not once per module): mutmut credits a module fixture's calls to the first
    test only, so the other tests would never run against a mutant of ``evaluate``."""
    ev = evaluate(as_of=dt.date(2026, 3, 10), warehouse=project)
    return ev.set_index(["entity_kind", "entity_id", "period", "kpi"])


@pytest.mark.parametrize("key,actual,achievement,want", [
    # M1 January: 900 of 1000 → 0.9 → amber (exactly on the amber threshold)
    (("store", "M1", "2026-01", "gmv"), 900.0, 0.9, "amber"),
    # M2 January: 500 of 600 → 0.8333 → red
    (("store", "M2", "2026-01", "gmv"), 500.0, 500 / 600, "red"),
    # company January: 900 + 500 = 1400 of 1400 → 1.0 → green (exactly on the green threshold)
    (("company", "", "2026-01", "gmv"), 1400.0, 1.0, "green"),
    # team T1 (M1 + M2) January: 1400 of 1250 → 1.12 → green
    (("team", "T1", "2026-01", "gmv"), 1400.0, 1.12, "green"),
    # COGS is lower-is-better: 1 unit × cost 1 = 1 against 0.8 → 1 − 0.2/0.8 = 0.75 → red
    (("store", "M1", "2026-01", "cogs"), 1.0, 0.75, "red"),
    # against 1.25 → 1 + 0.25/1.25 = 1.2 → green
    (("store", "M2", "2026-01", "cogs"), 1.0, 1.2, "green"),
])
def test_complete_period_status(status, key, actual, achievement, want):
    r = status.loc[key]
    assert r["actual"] == pytest.approx(actual)
    assert r["achievement"] == pytest.approx(achievement)
    assert r["status"] == want


def test_in_progress_period_is_judged_on_pace(status):
    # as of 2026-03-10, 10 of 31 days elapsed
    m1 = status.loc[("store", "M1", "2026-03", "gmv")]
    # expected 310 × 10/31 = 100, actual 50 → pace 0.5 → red; projection 50 × 31/10 = 155
    assert m1["expected_to_date"] == pytest.approx(100.0)
    assert m1["actual"] == pytest.approx(50.0)
    assert m1["pace_achievement"] == pytest.approx(0.5)
    assert m1["projection"] == pytest.approx(155.0)
    assert m1["achievement"] == pytest.approx(50 / 310)
    assert m1["status"] == "red"
    # M2: expected 155 × 10/31 = 50, actual 100 → pace 2.0 → green (though only 65 % of the month target)
    m2 = status.loc[("store", "M2", "2026-03", "gmv")]
    assert m2["expected_to_date"] == pytest.approx(50.0)
    assert m2["pace_achievement"] == pytest.approx(2.0) and m2["status"] == "green"


def test_every_status_color_occurs(status):
    assert set(status["status"]) == {"green", "amber", "red"}
