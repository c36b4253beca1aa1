"""Costs worked by hand for code the cost tests never ran (issue 11): the order → posted basis bridge,
the default month, custom periods and their errors, entity scopes. Numbers: ``tests/cost_fixtures.py``
(``ORDER_NOV`` and ``POSTED_NOV`` are the two November waterfalls worked in its docstring).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import ORDER_NOV, POSTED_NOV, build_tables, make_project, make_warehouse

from kpi_lib import costs
from kpi_lib.costs import basis_bridge, engine_figures, last_month, period_range, waterfall
from kpi_lib.errors import KpiError
from kpi_lib.warehouse import Warehouse

D = Decimal


@pytest.fixture()
def wh(cost_wh):
    return cost_wh


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


def test_unit_economics_worked_for_every_sku_scope_and_period(wh) -> None:
    """Hand numbers from cost_fixtures (order basis, November 2026):
    X-9: O5, 4 units, gross 40, landed 4 × (5 + 1) = 24, fees 3.00, no ads -> contribution 13, margin 13/40;
    A-1: net 160 − 40 = 120, contribution 36.9 (test_costs), margin 36.9/120, ACoS 25/80;
    B-1: net 80, landed 23, contribution 57, margin 57/80, no ads (ACoS unknown, not 0)."""
    ue = costs.unit_economics(period="2026-11", warehouse=wh)
    assert ue["sku"].tolist() == ["X-9", "A-1", "B-1"]  # worst contribution first
    assert ue["category"].tolist() == ["X", "A", "B"]
    assert list(ue.index) == [0, 1, 2] and "index" not in ue.columns
    x = ue.set_index("sku").loc["X-9"]
    assert (x["units"], x["net_sales"], x["landed_cost_per_unit"], x["fees_per_unit"]) == (4.0, 40.0, 6.0, 0.75)
    assert x["contribution"] == pytest.approx(13.0) and x["margin"] == pytest.approx(13 / 40)
    assert math.isnan(x["acos"]) and x["break_even_acos"] == pytest.approx(13 / 40)
    a, b = ue.set_index("sku").loc["A-1"], ue.set_index("sku").loc["B-1"]
    assert a["margin"] == pytest.approx(36.9 / 120) and a["acos"] == pytest.approx(25 / 80)
    assert b["margin"] == pytest.approx(57 / 80) and math.isnan(b["acos"])
    assert not ue["cost_missing"].any() and not ue["loss_making"].any()
    # one store: S2 holds O4 (A-1: 60 − refund 30 = 30; landed 10.8; fees 3.20; ads 5 -> 11.0) and O5
    s2 = costs.unit_economics("store", "S2", period="2026-11", warehouse=wh).set_index("sku")
    assert sorted(s2.index) == ["A-1", "X-9"]
    assert (s2.loc["A-1", "units"], s2.loc["A-1", "net_sales"], s2.loc["A-1", "contribution"]) == \
        pytest.approx((1.0, 30.0, 11.0))
    assert s2.loc["A-1", "acos"] == pytest.approx(0.25) and s2.loc["A-1", "margin"] == pytest.approx(11 / 30)
    # a custom date range over the same month gives the same figures as the month
    rng = costs.unit_economics(period="2026-11-01..2026-11-30", warehouse=wh)
    assert rng[["sku", "contribution"]].values.tolist() == ue[["sku", "contribution"]].values.tolist()
    # a quarter: only stores complete for contribution in every month of it (S2 lacks October's data):
    # S1's A-1 = O7 (3) + O1 (2) units, B-1 = O6 + O2
    q = costs.unit_economics(period="2026-Q4", warehouse=wh).set_index("sku")
    assert q["units"].to_dict() == {"B-1": 2.0, "A-1": 5.0}
    # the default period is the last month with orders (here 2026-11)
    assert costs.unit_economics(warehouse=wh)[["sku", "contribution"]].values.tolist() == \
        ue[["sku", "contribution"]].values.tolist()


def test_allocated_overheads_reads_the_stored_allocation(wh, tmp_path: Path) -> None:
    """cost_fixtures stores item x: S1 30 and S2 15 in 2026-11, S1 30 in 2026-10 (by hand, not recomputed)."""
    got = costs.allocated_overheads(["2026-11"], warehouse=wh)
    assert list(got.columns) == ["store_id", "month", "item", "amount_rc"]
    assert got.sort_values("store_id").values.tolist() == [["S1", "2026-11", "x", 30.0], ["S2", "2026-11", "x", 15.0]]
    assert list(got.index) == [0, 1]
    both = costs.allocated_overheads(["2026-10", "2026-11"], stores=["S1"], warehouse=wh)
    assert sorted(both["month"]) == ["2026-10", "2026-11"] and set(both["store_id"]) == {"S1"}
    assert both["amount_rc"].sum() == 60.0
    assert costs.allocated_overheads(["2026-09"], warehouse=wh).empty
    # before `kpi compute` has written the table: empty, same columns (never an error, never zeros)
    bare = make_warehouse(tmp_path / "bare", overheads=False)
    none = costs.allocated_overheads(["2026-11"], warehouse=bare)
    assert none.empty and list(none.columns) == ["store_id", "month", "item", "amount_rc"]
    # a table written without item detail reads as one "overheads" line per store and month
    with bare.transaction("no items") as w:
        w.write("overhead_allocations", pd.DataFrame({"store_id": ["S1"], "month": ["2026-11-01"],
                                                      "amount_rc": [12.5]}), partition_by=())
    flat = costs.allocated_overheads(["2026-11"], warehouse=bare)
    assert flat.values.tolist() == [["S1", "2026-11", "overheads", 12.5]]


def test_overhead_allocations_every_data_month_and_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One rent of 300 a month split by order count: October S1 O6 + O7, S2 O8 → 200 / 100; November
    S1 O1 + O2 (O3 cancelled), S2 O4 + O5 → 150 / 150."""
    root = make_project(tmp_path / "p", overheads=(
        "rent:\n  - {id: office, monthly_cost: 300, currency: CNY, basis: orders}\n"))
    monkeypatch.setenv("KPI_ROOT", str(root))
    wh = make_warehouse(tmp_path / "wh", overheads=False)
    got = costs.overhead_allocations(warehouse=wh)  # months=None: every month with order data
    assert list(got.columns) == ["store_id", "month", "item", "amount_rc"] and list(got.index) == list(range(len(got)))
    by = got.groupby(["month", "store_id"])["amount_rc"].sum().round(2).to_dict()
    assert by == {("2026-10", "S1"): 200.0, ("2026-10", "S2"): 100.0,
                  ("2026-11", "S1"): 150.0, ("2026-11", "S2"): 150.0}
    written = costs.write_overhead_allocations(wh, months=["2026-11"])
    assert wh.read("overhead_allocations")["amount_rc"].sum() == pytest.approx(300.0) == written["amount_rc"].sum()
    none = costs.overhead_allocations(months=[], warehouse=wh)
    assert none.empty and dict(none.dtypes.astype(str)) == {"store_id": "string", "month": "string",
                                                           "item": "string", "amount_rc": "float64"}


def _fx_warehouse(path: Path) -> Warehouse:
    """The cost fixture with four stores (S3 opens on 2026-12-05, S4 has no launch date) and FX rates
    for USD (October 7.1, November 7.2345) and EUR (November 7.25); none for CNY, the reporting currency."""
    t = build_tables()
    t["stores"] = pd.DataFrame({
        "store_id": ["S1", "S2", "S3", "S4"], "store_name": ["1", "2", "3", "4"],
        "platform": ["amazon", "shopee", "amazon", "lazada"], "marketplace": ["US", "MY", "DE", "PH"],
        "currency": ["CNY"] * 4, "timezone": ["UTC"] * 4,
        "launch_date": pd.to_datetime(["2025-01-01", "2026-11-30", "2026-12-05", None]), "team_id": ["T1"] * 4,
    })
    t["fx_rates"] = pd.DataFrame({"month": ["2026-10", "2026-11", "2026-11", "2026-10"],
                                  "currency": ["USD", "USD", "EUR", "EUR"], "rate": [7.1, 7.2345, 7.25, 9.99]})
    return make_warehouse(path, overheads=False, tables=t)


FX_OVERHEADS = """\
default_basis: orders
staff:
  - {id: ops, name: Ops lead, monthly_cost: 1000, currency: USD, stores: [S1], basis: units}
rent:
  - {id: office, monthly_cost: 300, start: 2026-11, label_zh: 办公室, label_en: Office}
  - {id: old, monthly_cost: 50, end: 2026-10}
subscriptions:
  - id: erp
    vendor: ERP vendor
    base_fee: 0.50
    currency: EUR
    addons: [{name: connector, per: store, price: 10}]
  - id: tool
    base_fee: 20
    addons: [{name: conn, per: store, price: 10}]
    stores: [S2, S3]
"""


def test_overhead_items_fx_month_rate_rounding_and_active_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worked by hand. November: ops 1 000 USD × 7.2345 = 7 234.50 on S1; office 300 CNY (no FX row
    needed for the reporting currency) on every store open by 30 November (S1, S2 launched on the
    30th, S4 without a launch date; not S3, opening 5 December); erp (0.50 + 3 stores × 10) EUR × 7.25
    = 30.50 × 7.25 = 221.125 → 221.13 (half up); tool 20 + 1 open store of its two (S2) × 10 = 30 CNY.
    October: ops at October's 7.1 = 7 100.00; old 50; S2 not open yet."""
    root = make_project(tmp_path / "p", overheads=FX_OVERHEADS)
    monkeypatch.setenv("KPI_ROOT", str(root))
    wh = _fx_warehouse(tmp_path / "wh")
    nov = costs.overhead_items("2026-11", warehouse=wh).set_index("item")
    assert list(nov.index) == ["ops", "office", "erp", "tool"]
    assert list(nov.columns) == ["kind", "basis", "stores", "amount_rc", "label_zh", "label_en"]
    assert nov["amount_rc"].to_dict() == {"ops": D("7234.50"), "office": D("300.00"), "erp": D("221.13"),
                                          "tool": D("30.00")}
    assert nov["stores"].to_dict() == {"ops": ["S1"], "office": ["S1", "S2", "S4"], "erp": ["S1", "S2", "S4"],
                                       "tool": ["S2"]}
    assert nov["kind"].to_dict() == {"ops": "staff", "office": "rent", "erp": "subscription", "tool": "subscription"}
    assert nov["basis"].to_dict() == {"ops": "units", "office": "orders", "erp": "orders", "tool": "orders"}
    assert nov.loc["office", ["label_zh", "label_en"]].tolist() == ["办公室", "Office"]
    assert nov.loc["ops", ["label_zh", "label_en"]].tolist() == ["Ops lead", "Ops lead"]
    assert nov.loc["erp", ["label_zh", "label_en"]].tolist() == ["ERP vendor", "ERP vendor"]
    oct_ = costs.overhead_items("2026-10", warehouse=wh).set_index("item")
    # erp in October: (0.50 + 2 open stores × 10) × 9.99 = 204.795 → 204.80; tool: neither store open → 20
    assert oct_["amount_rc"].to_dict() == {"ops": D("7100.00"), "old": D("50.00"), "erp": D("204.80"),
                                           "tool": D("20.00")}
    assert oct_["stores"].to_dict() == {"ops": ["S1"], "old": ["S1", "S4"], "erp": ["S1", "S4"], "tool": []}
    # a month without a rate for the item's currency names both, and what to do
    with pytest.raises(KpiError, match=r"USD.*2026-09.*fx_rates"):
        costs.overhead_items("2026-09", warehouse=wh)
    # allocation of the FX-converted item: ops is S1's alone, so S1 carries all 7 234.50
    al = costs.allocate_overheads("2026-11", warehouse=wh)
    assert al[al["item"] == "ops"][["store_id", "amount_rc"]].values.tolist() == [["S1", 7234.5]]
    assert sum(D(str(x)) for x in al["amount_rc"]) == D("7234.50") + D("300.00") + D("221.13") + D("30.00")


def test_headcount_basis_counts_each_person_once_in_the_month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rent of 600 CNY split by headcount in November, worked by hand from the assignments:
    P1 S1 (open); P2 S2 until 15 November and S2 again in another team from the 16th (one head, not two);
    P3 on S1 and S2 from 30 November (half a head each); P4 S1 until 1 November (counts); P5 S2 from
    1 December (not yet); P6 and P7 S2 from 1 November; a vacancy row without a person on S1 (no head).
    S1 = P1 + P3/2 + P4 = 2.5, S2 = P2 + P3/2 + P6 + P7 = 3.5: 600 × 2.5 / 6 = 250, 600 × 3.5 / 6 = 350.
    October: P1, P4 on S1 and P2 on S2 → 2 : 1 → 400.00 / 200.00."""
    root = make_project(tmp_path / "p", overheads="rent:\n  - {id: office, monthly_cost: 600, basis: headcount}\n")
    monkeypatch.setenv("KPI_ROOT", str(root))
    t = build_tables()
    rows = [("P1", "T1", "S1", "2025-01-01", None), ("P2", "T1", "S2", "2025-01-01", "2026-11-15"),
            ("P2", "T2", "S2", "2026-11-16", None), ("P3", "T1", "S1", "2026-11-30", None),
            ("P3", "T1", "S2", "2026-11-30", None), ("P4", "T1", "S1", "2025-01-01", "2026-11-01"),
            ("P5", "T1", "S2", "2026-12-01", None), ("P6", "T1", "S2", "2026-11-01", None),
            ("P7", "T1", "S2", "2026-11-01", None), (None, "T1", "S1", "2025-01-01", None)]
    t["assignments"] = pd.DataFrame(rows, columns=["person_id", "team_id", "store_id", "valid_from", "valid_to"]).assign(
        valid_from=lambda d: pd.to_datetime(d["valid_from"]), valid_to=lambda d: pd.to_datetime(d["valid_to"]))
    wh = make_warehouse(tmp_path / "wh", overheads=False, tables=t)
    got = costs.allocate_overheads("2026-11", warehouse=wh)
    assert got[["store_id", "month", "item", "amount_rc"]].values.tolist() == [
        ["S1", "2026-11", "office", 250.0], ["S2", "2026-11", "office", 350.0]]
    assert costs.allocate_overheads("2026-10", warehouse=wh)["amount_rc"].tolist() == [400.0, 200.0]
    # headcount overrides every item's basis when asked; nobody assigned at all → equal split
    with wh.transaction("nobody") as w:
        w.write("assignments", t["assignments"].iloc[:0], partition_by=())
    assert costs.allocate_overheads("2026-11", basis="headcount", warehouse=wh)["amount_rc"].tolist() == [300.0, 300.0]


def test_explain_margin_change_defaults_scope_rows_and_labels(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults: the last month with orders (2026-11) against the month before. Store S1, worked by hand:
    October S1 = the company's October (S2 is incomplete then): net sales 230, COGS 44; November S1:
    GMV O1 100 + O2 80 = 180, refund 10 → net sales 170, COGS 2 × 8 + 20 = 36 →
    COGS points −(36 / 170 − 44 / 230) × 100 = −2.0460."""
    from kpi_lib.metrics import compute_long

    explicit = costs.explain_margin_change(period="2026-11", prior="2026-10", warehouse=wh)
    pd.testing.assert_frame_equal(costs.explain_margin_change(warehouse=wh), explicit)
    pd.testing.assert_frame_equal(costs.explain_margin_change(period="2026-11", warehouse=wh), explicit)
    assert list(explicit.columns) == ["step", "label_zh", "label_en", "share_prior", "share_current", "margin_points"]
    last = explicit.iloc[-1]
    assert (last["step"], last["label_zh"], last["label_en"]) == ("net_margin", "净利润率", "Net profit margin")
    assert explicit.set_index("step").loc["cogs", ["label_zh", "label_en"]].tolist() == ["商品成本", "COGS"]
    s1 = costs.explain_margin_change("store", "S1", "2026-11", "2026-10", warehouse=wh).set_index("step")
    assert s1.loc["cogs", "margin_points"] == pytest.approx(-(36 / 170 - 44 / 230) * 100, abs=1e-9)
    assert s1.loc["cogs", "margin_points"] == pytest.approx(-2.0460, abs=1e-4)
    assert s1.loc["cogs", "share_current"] == pytest.approx(36 / 170)
    assert s1.drop("net_margin")["margin_points"].sum() == pytest.approx(s1.loc["net_margin", "margin_points"])
    # precomputed rows (the report batch's slice) give the same frame without asking the engine
    rows = compute_long(costs.WATERFALL_KPIS, by=[], period="month", start=dt.date(2026, 10, 1),
                        end=dt.date(2026, 11, 30), filters={"store_id": ["S1"]}, warehouse=wh, complete_for="net_profit")

    def no_engine(*a, **k):
        raise AssertionError("the engine was asked although rows were given")

    monkeypatch.setattr(costs, "compute_long", no_engine)
    got = costs.explain_margin_change("store", "S1", "2026-11", "2026-10", warehouse=wh, rows=rows).set_index("step")
    pd.testing.assert_frame_equal(got, s1)


def test_basis_bridge_with_seller_discounts_and_precomputed_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """O6 (ordered 30 October, posted 3 November) carries a seller discount of 5. Order basis: October
    net profit 100.1 + 30 (no overhead table here) − 5 = 125.1. Posted basis moves O6 out of October with its landed cost and its
    discount: sales timing −80 + 23 + 5 = −52, and the discount is not counted again in the fee lines
    (promotions +5 − 5 = 0): fee timing stays +12 (O6's referral)."""
    make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    t = build_tables()
    o6 = t["orders"]["order_id"] == "O6"
    t["orders"].loc[o6, ["discounts", "discounts_rc"]] = 5.0
    wh = make_warehouse(tmp_path / "wh", overheads=False, tables=t)
    br = basis_bridge(period="2026-10", warehouse=wh)
    got = dict(zip(br["item"], br["amount_rc"]))
    assert got["net_profit_order"] == pytest.approx(125.1)
    assert got["sales_timing"] == pytest.approx(-52.0)
    assert got["fee_timing"] == pytest.approx(12.0)
    posted = waterfall(period="2026-10", basis="posted", warehouse=wh).set_index("step")["amount_rc"]
    assert got["net_profit_posted"] == pytest.approx(posted["net_profit"])
    assert sum(list(got.values())[:-1]) == pytest.approx(got["net_profit_posted"], abs=1e-9)
    # the report batch's precomputed rows give the same bridge without asking the engine
    from kpi_lib.metrics import compute_long

    span = {"by": [], "period": "month", "start": dt.date(2026, 10, 1), "end": dt.date(2026, 11, 30), "filters": None,
                "warehouse": wh, "complete_for": "net_profit"}
    rows = {"order": compute_long(costs.WATERFALL_KPIS, basis="order", **span),
            "posted": compute_long(costs.WATERFALL_KPIS, basis="posted", **span),
            "discounts_order": compute_long(["discounts"], basis="order", **span),
            "discounts_posted": compute_long(["discounts"], basis="posted", **span)}

    def no_engine(*a, **k):
        raise AssertionError("the engine was asked although rows were given")

    monkeypatch.setattr(costs, "compute_long", no_engine)
    pd.testing.assert_frame_equal(basis_bridge(period="2026-10", warehouse=wh, rows=rows), br)


def test_subscription_half_cents_flat_addons_and_no_store_list() -> None:
    """Vendors' prices round half up at the cent: 10.125 + a flat add-on 5 = 15.125 → 15.13 (half-even
    would give 15.12). Without a store list, per-store and per-platform add-ons count nothing; a flat
    add-on counts once. Annual billing without discount: base 1.005 → 12.06 a year → 1.005 → 1.01."""
    sub = costs.Subscription(id="s", base_fee=D("10.125"), addons=[
        costs.Addon(name="flat", per="flat", price=D(5)),
        costs.Addon(name="amz", per="store", price=D(7), platforms=["amazon"]),
        costs.Addon(name="plat", per="platform", price=D(3))])
    assert costs.subscription_monthly_cost(sub) == D("15.13")
    stores = pd.DataFrame({"store_id": ["S1", "S2"], "platform": ["amazon", "shopee"]})
    # with stores: + 1 amazon store × 7 + 2 platforms × 3 = 15.125 + 13 = 28.125 → 28.13
    assert costs.subscription_monthly_cost(sub, stores) == D("28.13")
    annual = costs.Subscription(id="a", base_fee=D("1.005"), billing="annual")
    assert costs.subscription_monthly_cost(annual) == D("1.01")


def test_overheads_without_store_or_fx_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse without a stores table: every item has no store (nothing allocated, no error); without
    an fx_rates table a foreign-currency item says which rate to add instead of failing on a column."""
    root = make_project(tmp_path / "p", overheads=(
        "rent:\n  - {id: office, monthly_cost: 300}\nstaff:\n  - {id: ops, monthly_cost: 10, currency: USD}\n"))
    monkeypatch.setenv("KPI_ROOT", str(root))
    t = {k: v for k, v in build_tables().items() if k not in ("stores", "fx_rates")}
    wh = make_warehouse(tmp_path / "wh", overheads=False, tables=t)
    cfg = costs.load_overheads(root / "parameters" / "overheads.yaml")
    only_cny = cfg.model_copy(update={"staff": []})
    items = costs.overhead_items("2026-11", warehouse=wh, config=only_cny)
    assert items[["item", "amount_rc"]].values.tolist() == [["office", D("300.00")]] and items["stores"].iloc[0] == []
    assert costs.allocate_overheads("2026-11", warehouse=wh, config=only_cny).empty
    with pytest.raises(KpiError, match=r"no FX rate for USD in 2026-11; add it to fx_rates.csv"):
        costs.overhead_items("2026-11", warehouse=wh)


def test_allocation_uses_the_config_given_skips_items_without_stores_and_names_a_bad_basis(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's file says rent 999 by orders; the config passed says: an item for store S9 (not
    open: skipped, and the next item still allocated), then 300 by orders (November S1 O1 + O2,
    S2 O4 + O5 → 150 / 150). A basis the engine does not know is refused by name."""
    root = make_project(tmp_path / "p", overheads="rent:\n  - {id: file, monthly_cost: 999, basis: orders}\n")
    monkeypatch.setenv("KPI_ROOT", str(root))
    wh = make_warehouse(tmp_path / "wh", overheads=False)
    cfg = costs.Overheads.model_validate({"rent": [{"id": "ghost", "monthly_cost": 50, "stores": ["S9"]},
                                                   {"id": "given", "monthly_cost": 300, "basis": "orders"}]})
    got = costs.allocate_overheads("2026-11", warehouse=wh, config=cfg)
    assert got[["store_id", "item", "amount_rc"]].values.tolist() == [["S1", "given", 150.0], ["S2", "given", 150.0]]
    every = costs.overhead_allocations(["2026-10", "2026-11"], warehouse=wh, config=cfg)
    assert every.groupby("month")["amount_rc"].sum().to_dict() == {"2026-10": 300.0, "2026-11": 300.0}
    # October by orders: S1 O6 + O7, S2 O8 → 200 / 100 (the basis of each month, from one query over both)
    assert every[every["month"] == "2026-10"]["amount_rc"].tolist() == [200.0, 100.0]
    # without config=, the project's file
    assert costs.overhead_allocations(["2026-11"], warehouse=wh)["item"].unique().tolist() == ["file"]
    bad = costs.Overheads.model_validate({"rent": [{"id": "given", "monthly_cost": 300}]})
    with pytest.raises(KpiError, match=r"unknown allocation basis 'revenue'; expected net_sales, orders, units or headcount"):
        costs.allocate_overheads("2026-11", basis="revenue", warehouse=wh, config=bad)
    # a store without anyone on it in the month weighs nothing by headcount
    assert costs._basis_weights("2026-11", ["S1", "S2", "S9"], "headcount", wh) == [1.0, 1.0, 0.0]


def _ue_rows(rows: list[dict]) -> pd.DataFrame:
    base = {k: 0.0 for k in costs.UE_KPIS}
    return pd.DataFrame([{"period": "2026-11", **base, **r} for r in rows])


def test_unit_economics_edges_from_precomputed_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows given (the report batch's slice), worked at each boundary; the engine is never asked:
    ZERO contributes exactly 0 (not loss-making), HALF 0.5, LOSS −0.5; ONE has net sales exactly 1;
    ads with ad sales of exactly 1 give an ACoS, ad sales of 0 give none; no units → no per-unit figures;
    uncosted sales flag a missing cost (UNC: 0.5 of 4), a share without GMV or a share unknown do not;
    rows without a SKU and rows of another month are not SKUs of this month; no skus table → no category."""
    make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    t = {k: v for k, v in build_tables().items() if k != "skus"}
    wh = make_warehouse(tmp_path / "wh", overheads=False, tables=t)
    rows = _ue_rows([
        {"sku": "ZERO", "units": 2, "gmv": 10, "cogs": 10},
        {"sku": "HALF", "units": 1, "gmv": 10, "cogs": 9.5},
        {"sku": "LOSS", "units": 1, "gmv": 10, "cogs": 10.5},
        {"sku": "ONE", "units": 1, "gmv": 1, "ad_spend": 0.25, "ad_sales": 1},
        {"sku": "ADS0", "units": 1, "gmv": 20, "ad_spend": 2, "ad_sales": 0},
        {"sku": "NOUNITS", "units": 0, "gmv": 0, "referral_fees": 3},
        {"sku": "UNC", "units": 1, "gmv": 4, "uncosted_share": 0.5},
        {"sku": "NOGMV", "units": 1, "gmv": 0, "uncosted_share": 0.5, "referral_fees": 1},
        {"sku": "NOSHARE", "units": 1, "gmv": 3, "uncosted_share": float("nan")},
        {"sku": None, "units": 9, "gmv": 99},
        {"sku": " ", "units": 9, "gmv": 99},
        {"sku": "OLD", "units": 9, "gmv": 99, "period": "2026-10"},
    ])

    def no_engine(*a, **k):
        raise AssertionError("the engine was asked although rows were given")

    monkeypatch.setattr(costs, "compute", no_engine)
    ue = costs.unit_economics(period="2026-11", warehouse=wh, rows=rows).set_index("sku")
    assert sorted(ue.index) == ["ADS0", "HALF", "LOSS", "NOGMV", "NOSHARE", "NOUNITS", "ONE", "UNC", "ZERO"]
    assert ue["loss_making"].to_dict() == {"LOSS": True, "NOUNITS": True, "NOGMV": True, "ZERO": False,
                                           "HALF": False, "NOSHARE": False, "UNC": False, "ONE": False,
                                           "ADS0": False}
    assert ue.loc["ZERO", "contribution"] == 0.0 and ue.loc["HALF", "contribution"] == pytest.approx(0.5)
    assert ue.loc["ONE", "margin"] == pytest.approx(0.75) and ue.loc["ONE", "break_even_acos"] == pytest.approx(1.0)
    assert ue.loc["ONE", "acos"] == pytest.approx(0.25) and math.isnan(ue.loc["ADS0", "acos"])
    assert ue.loc["ADS0", "ads_per_unit"] == 2.0
    nu = ue.loc["NOUNITS"]
    assert all(math.isnan(nu[c]) for c in ("landed_cost_per_unit", "fees_per_unit", "ads_per_unit",
                                           "return_loss_per_unit", "contribution_per_unit"))
    assert math.isnan(nu["margin"]) and nu["contribution"] == -3.0
    assert ue["cost_missing"].to_dict() == {"UNC": True, "NOGMV": False, "NOSHARE": False, "ZERO": False,
                                            "HALF": False, "LOSS": False, "ONE": False, "ADS0": False,
                                            "NOUNITS": False}
    assert ue["category"].isna().all()  # no skus table: unknown, never a made-up category
    worst = costs.loss_makers(period="2026-11", warehouse=wh, rows=rows)
    assert worst["sku"].tolist() == ["NOUNITS", "NOGMV", "LOSS"] and list(worst.index) == [0, 1, 2]
    assert costs.loss_makers(period="2026-11", n=1, warehouse=wh, rows=rows)["sku"].tolist() == ["NOUNITS"]
    assert costs.unit_economics(period="2026-09", warehouse=wh, rows=rows).empty


def test_waterfall_unknown_missing_steps_and_zero_net_sales(wh) -> None:
    """S2 in October has no fee or ads export: no store is covered, so every amount is unknown (NaN), never 0.
    From totals: a step the engine did not return is 0 and the subtotals still add up (GMV 1 − refunds 1 =
    net sales 0, so no share of net sales); no negative zero."""
    s2 = waterfall("store", "S2", "2026-10", warehouse=wh)
    assert s2["amount_rc"].isna().all() and s2["pct_of_net_sales"].isna().all()
    assert (s2["stores_covered"] == 0).all() and (s2["stores_total"] == 1).all()
    wf = costs._waterfall_from_totals({"gmv": 1.0, "refunds": 1.0, "cogs": 2.5}).set_index("step")
    assert wf.loc["gmv", "amount_rc"] == 1.0 and wf.loc["net_sales", "amount_rc"] == 0.0
    assert wf.loc["duties", "amount_rc"] == 0.0 and str(wf.loc["duties", "amount_rc"]) == "0.0"  # not −0.0
    assert wf.loc["net_profit", "amount_rc"] == -2.5 and wf["pct_of_net_sales"].isna().all()
    none = costs._waterfall_from_totals({}).set_index("step")
    assert (none["amount_rc"] == 0.0).all()
    ok = costs._waterfall_from_totals({"gmv": 200.0, "refunds": 40.0, "cogs": 60.0}).set_index("step")
    assert ok.loc["cogs", "pct_of_net_sales"] == pytest.approx(-60 / 160) and ok.loc["net_profit", "amount_rc"] == 100.0
