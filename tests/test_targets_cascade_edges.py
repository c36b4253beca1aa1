"""The historical cascade at its store edges (targets._cascade_historical through ``cascade``), worked by hand
on the fixture of tests/worked_fixtures.py changed one store at a time: a store launched on the period's last
day, a store without a launch date, and another team's store whose last year has another shape.

Unchanged fixture numbers: M1 / M2 trailing shares 0.6 / 0.4 (median 0.5), last year's Q1 seasonality
1/4, 1/2, 1/4; ramp 3 months.
"""

from __future__ import annotations

import pandas as pd
import pytest
from worked_fixtures import build_tables, order_lines_like, project_elsewhere

from kpi_lib.targets import cascade

Q1 = ("2026-01", "2026-02", "2026-03")


def _cascade(tmp_path, tables, entity_kind="company", entity_id=None):
    with project_elsewhere(tmp_path, tables=tables) as (_, wh):
        t = {"kpi": "gmv", "entity_kind": entity_kind, "period": "2026-Q1", "value": 12000.0}
        if entity_id:
            t["entity_id"] = entity_id
        c = cascade(t, wh, ramp_months=3)
    return {(r.entity_id, r.period): r.value for r in c.itertuples()}, c.set_index(["entity_id", "period"])["method"]


def test_a_store_launched_on_the_periods_last_day_ramps_in_that_month(tmp_path):
    """N1 launched 2026-03-31: in the quarter (launch ≤ its last day), not launched in January and February,
    ramp 1/3 in March: 0.5 × 1/3 × 1/4 = 1/24. Σ weights 1 + 1/24 = 25/24, so each value is
    weight × 12,000 × 24/25: N1 March 480, M1 February 0.3 × 11,520 = 3,456."""
    tables = build_tables()
    tables["stores"].loc[tables["stores"]["store_id"] == "N1", "launch_date"] = pd.Timestamp("2026-03-31")
    got, method = _cascade(tmp_path, tables)
    assert got[("N1", "2026-01")] == 0.0 and got[("N1", "2026-02")] == 0.0
    assert method[("N1", "2026-02")] == "not launched"
    assert got[("N1", "2026-03")] == pytest.approx(480.0, rel=1e-12)
    assert got[("M1", "2026-02")] == pytest.approx(3456.0, rel=1e-12)
    assert sum(got.values()) == pytest.approx(12000.0, rel=1e-12)


def test_a_store_without_a_launch_date_is_in_at_full_ramp(tmp_path):
    """N1 with no launch date and no history before the quarter: in every month (an unknown launch is not
    "not launched"), at the median mature share with no ramp (factor 1): 0.5 × (1/4, 1/2, 1/4). Σ weights
    1 + 0.5 = 1.5, so values are weight × 8,000: N1 1,000 / 2,000 / 1,000, M1 February 0.3 × 8,000 = 2,400."""
    tables = build_tables()
    tables["stores"].loc[tables["stores"]["store_id"] == "N1", "launch_date"] = pd.NaT
    got, method = _cascade(tmp_path, tables)
    assert [got[("N1", m)] for m in Q1] == pytest.approx([1000.0, 2000.0, 1000.0], rel=1e-12)
    assert got[("M1", "2026-02")] == pytest.approx(2400.0, rel=1e-12)
    assert method[("N1", "2026-01")].startswith("cold-start ramp 3/3")


def test_another_teams_store_does_not_shape_a_teams_seasonality(tmp_path):
    """M3 (team T2, launched 2024) sold 1,000 / 100 / 100 in 2025-Q1, another shape than T1's 400 / 800 / 400.
    T1's cascade of 12,000 still follows its own stores' last year, 1/4, 1/2, 1/4 × shares 0.6 / 0.4:
    M1 1,800 / 3,600 / 1,800, M2 1,200 / 2,400 / 1,200; M3 gets no row."""
    tables = build_tables()
    stores = tables["stores"]
    m3 = stores[stores["store_id"] == "M2"].assign(store_id="M3", store_name="Mature 3", team_id="T2")
    tables["stores"] = pd.concat([stores, m3], ignore_index=True)
    orders = tables["orders"]
    extra = []
    for month, g in (("2025-01", 1000.0), ("2025-02", 100.0), ("2025-03", 100.0)):
        row = orders.iloc[0].copy()
        d = pd.Timestamp(f"{month}-10")
        row[["store_id", "order_id", "order_date", "order_ts", "ship_date", "promised_ship_date"]] = [
            "M3", f"M3-{month}", d, d, d, d]
        row[["gross_sales", "gross_sales_rc"]] = [g, g]
        extra.append(row)
    tables["orders"] = pd.concat([orders, pd.DataFrame(extra)], ignore_index=True)
    got, _ = _cascade(tmp_path, tables, "team", "T1")
    assert set(got) == {(s, m) for s in ("M1", "M2") for m in Q1}
    assert [got[("M1", m)] for m in Q1] == pytest.approx([1800.0, 3600.0, 1800.0], rel=1e-12)
    assert [got[("M2", m)] for m in Q1] == pytest.approx([1200.0, 2400.0, 1200.0], rel=1e-12)


def test_a_teams_cascade_takes_the_stores_it_has_in_the_period(tmp_path):
    """M2 left T1 for T2 on 2026-01-01 and N1 joins T1 on 2026-04-01: T1's 2026-Q1 target goes to M1 alone
    (not to M2, T1's in 2025, nor N1, T1's from April), by M1's last-year Q1 300 / 600 / 300: 3,000 / 6,000 /
    3,000 of 12,000."""
    tables = build_tables()
    tables["assignments"] = pd.DataFrame({
        "person_id": ["P1", "P1", "P2", "P2", "P1"], "team_id": ["T1", "T1", "T2", "T2", "T1"],
        "store_id": ["M1", "M2", "M2", "N1", "N1"],
        "valid_from": pd.to_datetime(["2024-01-01", "2024-01-01", "2026-01-01", "2026-02-10", "2026-04-01"]),
        "valid_to": pd.to_datetime([None, "2025-12-31", None, "2026-03-31", None])})
    got, _ = _cascade(tmp_path, tables, "team", "T1")
    assert set(got) == {("M1", m) for m in Q1}
    assert [got[("M1", m)] for m in Q1] == pytest.approx([3000.0, 6000.0, 3000.0], rel=1e-12)


def _with_orders(tables, rows):
    """``tables`` with one delivered order per (store, day, GMV) added."""
    orders = tables["orders"]
    tables["orders"] = pd.concat([orders, order_lines_like(orders.iloc[0], rows)], ignore_index=True)
    return tables


def test_a_store_exactly_ramp_months_old_takes_its_trailing_share(tmp_path):
    """N1 launched 2025-10-01 and sold 100 in each of October, November, December: 3 months old in January
    (= the ramp), so mature, with trailing share 300 / 3,800 (M1 2,100, M2 1,400). Every row is share ×
    last year's month weight × 12,000: N1 February 300/3800 × 1/2 × 12,000 = 9,000 / 19, M1 February
    63,000 / 19."""
    tables = build_tables()
    tables["stores"].loc[tables["stores"]["store_id"] == "N1", "launch_date"] = pd.Timestamp("2025-10-01")
    tables = _with_orders(tables, [("N1", "2025-10-10", 100.0), ("N1", "2025-11-10", 100.0), ("N1", "2025-12-10", 100.0)])
    got, method = _cascade(tmp_path, tables)
    assert got[("N1", "2026-02")] == pytest.approx(9000 / 19, rel=1e-12)
    assert got[("M1", "2026-02")] == pytest.approx(63000 / 19, rel=1e-12)
    assert method[("N1", "2026-01")].startswith("share 0.079")


def test_a_young_store_with_sales_still_ramps(tmp_path):
    """N1 launched 2025-12-01 and sold 100 in December: 1 month old in January, so not mature although it has a
    trailing share. Trailing M1 2,100, M2 1,400, N1 100 (total 3,600): mature shares 7/12 and 7/18, median
    35/72; N1 ramps 2/3 in January, then 1: weights 35/72 × (1/6, 1/2, 1/4) = 385/864 against the mature
    stores' 840/864, so each value is its weight × 12,000 × 864 / 1,225."""
    tables = build_tables()
    tables["stores"].loc[tables["stores"]["store_id"] == "N1", "launch_date"] = pd.Timestamp("2025-12-01")
    tables = _with_orders(tables, [("N1", "2025-12-10", 100.0)])
    got, method = _cascade(tmp_path, tables)
    scale = 12000 * 864 / 1225
    assert got[("N1", "2026-01")] == pytest.approx(35 / 72 * 1 / 6 * scale, rel=1e-12)
    assert got[("N1", "2026-02")] == pytest.approx(35 / 72 * 1 / 2 * scale, rel=1e-12)
    assert got[("M1", "2026-02")] == pytest.approx(7 / 12 * 1 / 2 * scale, rel=1e-12)
    assert method[("N1", "2026-01")].startswith("cold-start ramp 2/3")


def test_the_trailing_year_is_the_twelve_months_before_the_period(tmp_path):
    """2026-Q2, with M1 selling 150 more on 2026-03-31 (the last day before the period). Trailing 2025-04 ..
    2026-03: M1 800 + 100 + 900 + 50 + 150 = 2,000, M2 800 + 200 + 500 + 100 = 1,600 (2025-03's 300 / 100 are
    the 13th month back: out); N1 (launched 2026-02-10, 80 in February) is young: median share 1,800. Last
    year's Q2 is flat (200 a month), so with 16,200 every month is M1 2,000, M2 1,600, N1 1,800."""
    tables = _with_orders(build_tables(), [("M1", "2026-03-31", 150.0)])
    with project_elsewhere(tmp_path, tables=tables) as (_, wh):
        c = cascade({"kpi": "gmv", "entity_kind": "company", "period": "2026-Q2", "value": 16200.0}, wh,
                    ramp_months=3)
    got = {(r.entity_id, r.period): r.value for r in c.itertuples()}
    for m in ("2026-04", "2026-05", "2026-06"):
        assert [got[(s, m)] for s in ("M1", "M2", "N1")] == pytest.approx([2000.0, 1600.0, 1800.0], rel=1e-12)
