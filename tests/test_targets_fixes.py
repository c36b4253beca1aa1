"""Two target bugs found while reading mutation survivors (issue 11, seventh session), against hand numbers.

1. ``evaluate`` looked a target's pacing up by KPI × entity only, so another target of the same KPI and entity
   (here M1's April target, calendar by default) decided the pacing of M1's seasonal March target.
2. An ``equal`` or ``manual`` cascade of a zero target raised "all store weights are zero".

Data: ``test_targets_evaluate.py``'s warehouse (M1 sold 150 on 2025-03-05 and 150 on 2025-03-20: half of last
March by day 10).
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_targets_evaluate import _orders
from worked_fixtures import build_tables, project_elsewhere

from kpi_lib.targets import cascade, evaluate

TARGETS = """
targets:
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-03, value: 310, pacing: seasonal}
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-04, value: 1}
  - {kpi: gmv, entity_kind: company, period: 2026-Q1, value: 1000, cascade: true, pacing: seasonal}
"""


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    tables = build_tables()
    tables["orders"] = _orders(tables["orders"])
    with project_elsewhere(tmp_path_factory.mktemp("fixes"), TARGETS, tables=tables) as (_, w):
        yield w


def test_pacing_is_the_targets_own(wh):
    ev = evaluate(as_of=dt.date(2026, 3, 10), warehouse=wh).set_index(["entity_kind", "entity_id", "period", "kpi"])
    # M1 March: seasonal (half of last March by the 10th) → 310 × 0.5 = 155, not the calendar 100
    assert ev.loc[("store", "M1", "2026-03", "gmv"), "expected_to_date"] == pytest.approx(155.0)
    # the company's March row of its seasonal Q1 target: last March's company curve at day 10 = 250/400
    r = ev.loc[("company", "", "2026-03", "gmv")]
    assert r["expected_to_date"] == pytest.approx(r["target"] * 0.625)
    # the Q1 row itself: seasonal over last Q1's days (the curve of 2025-Q1 by 2026-03-10)
    q = ev.loc[("company", "", "2026-Q1", "gmv")]
    # last Q1 to day 69 (2025-03-10): January 400 + February 800 + March 5th 150 and 10th 100 = 1450 of 1600
    assert q["expected_to_date"] == pytest.approx(1000 * 1450 / 1600)


def test_zero_target_cascades_to_zeros(wh):
    q1 = {"kpi": "gmv", "entity_kind": "company", "period": "2026-Q1", "value": 0.0}
    for method, weights in (("equal", None), ("manual", {"M1": 1.0, "M2": 1.0})):
        c = cascade(q1, wh, ramp_months=3, method=method, store_weights=weights)
        assert len(c) == 9 and (c["value"] == 0.0).all(), method



def test_pacing_comes_from_the_target_whose_period_holds_the_row(tmp_path):
    """The company's seasonal Q1 target listed after a calendar target of 2025-Q4 (which ends before March
    starts): the March row of Q1 paces seasonally (last March's company curve at day 10: 250 / 400), not by
    the calendar (10 / 31) of the earlier quarter's target."""
    targets = ("targets:\n"
               "  - {kpi: gmv, entity_kind: company, period: 2025-Q4, value: 1}\n"
               "  - {kpi: gmv, entity_kind: company, period: 2026-Q1, value: 1000, cascade: true, pacing: seasonal}\n")
    tables = build_tables()
    tables["orders"] = _orders(tables["orders"])
    with project_elsewhere(tmp_path, targets, tables=tables) as (_, w):
        ev = evaluate(as_of=dt.date(2026, 3, 10), warehouse=w).set_index(["entity_kind", "entity_id", "period", "kpi"])
    r = ev.loc[("company", "", "2026-03", "gmv")]
    assert r["expected_to_date"] == pytest.approx(r["target"] * 0.625)
