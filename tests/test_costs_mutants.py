"""Costs worked by hand for code the cost tests never ran (issue 11): the order → posted basis bridge,
the default month, custom periods and their errors, entity scopes. Numbers: ``tests/cost_fixtures.py``
(``ORDER_NOV`` and ``POSTED_NOV`` are the two November waterfalls worked in its docstring).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import ORDER_NOV, POSTED_NOV, build_tables, make_project, make_warehouse

from kpi_lib.costs import basis_bridge, engine_figures, last_month, period_range, waterfall
from kpi_lib.errors import KpiError
from kpi_lib.warehouse import Warehouse


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_basis_bridge_company_november(wh) -> None:
    br = basis_bridge(period="2026-11", warehouse=wh)
    assert list(br.columns) == ["item", "label_zh", "label_en", "amount_rc", "kind"]
    got = dict(zip(br["item"], br["amount_rc"]))
    assert list(got) == ["net_profit_order", "sales_timing", "refund_timing", "fee_timing", "ads_invoicing",
                         "overheads", "net_profit_posted"]
    assert list(br["kind"]) == ["start"] + ["timing"] * 5 + ["end"]
    # a timing difference = posted step − order step, signed like the waterfall (a cost is negative):
    # GMV, COGS, first leg and duties are the same on both bases in November -> 0
    assert got["net_profit_order"] == pytest.approx(ORDER_NOV["net_profit"])          # 52.40
    assert got["sales_timing"] == pytest.approx(0.0)
    # refunds: 40 by order date (O1 10, O4 30) vs 10 posted in November -> −10 − (−40) = +30
    assert got["refund_timing"] == pytest.approx(ORDER_NOV["refunds"] - POSTED_NOV["refunds"])  # +30
    assert got["refund_timing"] == pytest.approx(30.0)
    # referral fees: 15 by order vs 27 posted (O6's 12 dated 11-02) -> −12; other fee lines equal
    assert got["fee_timing"] == pytest.approx(-12.0)
    # advertising: 25 spent vs 14 invoiced -> +11
    assert got["ads_invoicing"] == pytest.approx(ORDER_NOV["advertising"] - POSTED_NOV["advertising"])
    assert got["overheads"] == pytest.approx(0.0)
    assert got["net_profit_posted"] == pytest.approx(POSTED_NOV["net_profit"])        # 81.40 = 52.4 + 30 − 12 + 11
    assert sum(list(got.values())[:-1]) == pytest.approx(got["net_profit_posted"], abs=1e-9)
    assert br["label_en"].iloc[0] == "Net profit (order basis)" and br["label_zh"].iloc[-1] == "净利润(按入账日)"


def test_basis_bridge_store_and_default_month(wh) -> None:
    # S2 in November: O4's refund of 30 is dated 12-02 -> +30 refund timing; S2 has no fee posted
    # on another date than its order (−0); the default month is the last month with orders
    br = basis_bridge("store", "S2", warehouse=wh)
    got = dict(zip(br["item"], br["amount_rc"]))
    assert got["refund_timing"] == pytest.approx(30.0) and got["fee_timing"] == pytest.approx(0.0)
    s1 = dict(zip(*basis_bridge("store", "S1", "2026-11", wh)[["item", "amount_rc"]].T.values))
    # S1: refunds 10 on both bases; referral −12 (O6)
    assert s1["refund_timing"] == pytest.approx(0.0) and s1["fee_timing"] == pytest.approx(-12.0)
    assert got["net_profit_posted"] - got["net_profit_order"] == pytest.approx(sum(
        got[k] for k in ("sales_timing", "refund_timing", "fee_timing", "ads_invoicing", "overheads")))


def test_basis_bridge_sales_timing_october(wh) -> None:
    # October: O6 (B-1, 80, ordered 10-30) posts on 11-03, so posted GMV is 80 lower and its landed
    # cost 20 + 3 = 23 lower too: sales timing = −80 + 23 = −57
    br = basis_bridge(period="2026-10", warehouse=wh)
    got = dict(zip(br["item"], br["amount_rc"]))
    assert got["sales_timing"] == pytest.approx(-57.0)


def test_last_month(wh, tmp_path: Path) -> None:
    assert last_month(wh) == "2026-11"  # the last order is dated 2026-11-25
    t = build_tables()
    late = Warehouse(tmp_path / "late")
    orders = t["orders"].copy()
    orders.loc[0, ["order_date", "order_ts"]] = pd.Timestamp("2027-01-31 23:00")
    with late.transaction("late") as w:
        w.write("orders", orders)
    assert last_month(late) == "2027-01"
    empty = Warehouse(tmp_path / "empty")
    with empty.transaction("empty") as w:
        w.write("orders", orders.iloc[0:0])
    # no orders: the month before today's
    assert last_month(empty) == (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def test_period_range_custom_and_errors() -> None:
    assert period_range("2026-11") == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert period_range("2026-Q4") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert period_range(" 2026-11-03 .. 2026-11-09 ") == (dt.date(2026, 11, 3), dt.date(2026, 11, 9))
    assert period_range("2026-11-03..2026-11-03") == (dt.date(2026, 11, 3), dt.date(2026, 11, 3))
    with pytest.raises(KpiError, match=r"custom period '2026-11-09..2026-11-03': end is before start"):
        period_range("2026-11-09..2026-11-03")
    with pytest.raises(KpiError, match=r"custom period '2026-11..2026-12': expected YYYY-MM-DD..YYYY-MM-DD"):
        period_range("2026-11..2026-12")


def test_engine_figures_scope_basis_and_custom_range(wh) -> None:
    vals, info = engine_figures(["gmv", "refunds"], "store", "S1", "2026-11", warehouse=wh)
    # S1 November by order date: O1 100 + O2 80 (O3 cancelled); refund 10
    assert vals == {"gmv": 180.0, "refunds": 10.0}
    assert info["basis"] == "order" and info["stores_total"] == 1
    # a custom range sums the days: 2026-11-01..2026-11-10 holds O1 (100) and O4 (60)
    vals, _ = engine_figures(["gmv"], period="2026-11-01..2026-11-10", warehouse=wh)
    assert vals == {"gmv": 160.0}
    # posted: S1 November = O1 100 (posted 11-08) + O6 80 (posted 11-03)
    vals, info = engine_figures(["gmv"], "store", "S1", "2026-11", basis="posted", warehouse=wh)
    assert vals == {"gmv": 180.0} and info["basis"] == "posted"
    vals, _ = engine_figures(["gmv"], "store", "S1", "2026-10", basis="posted", warehouse=wh)
    assert vals == {"gmv": 150.0}  # O7 only; O6 posts in November
    # the default period is the last month with data
    assert engine_figures(["gmv"], warehouse=wh)[0] == {"gmv": 280.0}
    with pytest.raises(KpiError, match="basis must be 'order' or 'posted', not 'cash'"):
        engine_figures(["gmv"], period="2026-11", basis="cash", warehouse=wh)  # type: ignore[arg-type]
    with pytest.raises(KpiError, match="unknown entity kind 'planet'"):
        waterfall("planet", "X", "2026-11", warehouse=wh)
    with pytest.raises(KpiError, match="entity kind 'store' needs an entity id"):
        waterfall("store", None, "2026-11", warehouse=wh)
