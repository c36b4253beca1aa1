"""Cost paths the survivors of the fourth-session mutation run showed untested (issue 11): a set of
stores taken as one entity, a period without data, the missing-source text, the largest-remainder
split of odd weights, allocation weights per basis and two overhead items in one month. Numbers from
``tests/cost_fixtures.py`` (its docstring), worked by hand below.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from kpi_lib import costs

D = Decimal


@pytest.fixture()
def wh(cost_wh):
    return cost_wh


def test_engine_figures_store_set_empty_period_and_missing_sources(wh) -> None:
    """November GMV: S1 O1 100 + O2 80 = 180, S2 O4 60 + O5 40 = 100. ``stores=`` overrides the entity.
    October net profit: S2 has no fee and no ads row, so only S1 counts (1 of 2 stores) and the row
    names both missing sources, sorted: "ads, fees". A month without data: GMV 0 over 0 stores."""
    nov = {"period": "2026-11", "warehouse": wh}
    assert costs.engine_figures(["gmv"], stores=["S2"], **nov)[0] == {"gmv": 100.0}
    assert costs.engine_figures(["gmv"], "store", "S1", stores=["S2"], **nov)[0] == {"gmv": 100.0}
    vals, info = costs.engine_figures(["gmv"], stores={"S1", "S2"}, **nov)
    assert vals == {"gmv": 280.0} and (info["stores_covered"], info["stores_total"]) == (2, 2)
    # October: GMV needs orders only (160 + 230 = 390); net profit is S1's 100.1 (worked in
    # test_metrics_evaluate: 230 − 44 − 9 − 2.4 − 34.5 − 10 − 30)
    vals, info = costs.engine_figures(["gmv", "net_profit"], period="2026-10", warehouse=wh)
    assert vals["gmv"] == 390.0 and vals["net_profit"] == pytest.approx(100.1)
    assert info == {"complete": False, "missing": "ads, fees", "stores_covered": 1, "stores_total": 2,
                    "basis": "order"}
    # the completeness of complete_for's KPI, not of the last one
    _, info = costs.engine_figures(["net_profit", "gmv"], period="2026-10", warehouse=wh)
    assert (info["complete"], info["missing"], info["stores_covered"]) == (True, "", 2)
    # a quarter is one row of the engine by quarter: October 390 + November 280
    assert costs.engine_figures(["gmv"], period="2026-Q4", warehouse=wh)[0] == {"gmv": 670.0}
    # a month without data: unknown, not 0 (missing is not zero), and the waterfall says so
    vals, info = costs.engine_figures(["gmv", "net_profit"], period="2027-03", warehouse=wh)
    assert set(vals) == {"gmv", "net_profit"} and all(math.isnan(v) for v in vals.values())
    assert info == {"complete": True, "missing": "", "stores_covered": 0, "stores_total": 0, "basis": "order"}
    wf = costs.waterfall(period="2027-03", warehouse=wh)
    assert len(wf) and wf["amount_rc"].isna().all() and wf["pct_of_net_sales"].isna().all()
    assert costs.waterfall(period="2026-11", warehouse=wh)["amount_rc"].notna().all()


def _by_rule(total_cents: int, weights: list[int]) -> list[Decimal]:
    """The rule, exactly (fractions): floor of each share, then one cent each to the largest
    remainders, ties to the earlier entry."""
    raw = [Fraction(total_cents * w, sum(weights)) for w in weights]
    base = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:total_cents - sum(base)]:
        base[i] += 1
    return [D(c) / 100 for c in base]


def test_largest_remainder_odd_weights_half_cents_and_ties() -> None:
    # a negative or unknown weight counts as 0: everything to the first
    assert costs.largest_remainder(D("1.00"), [1.0, -5.0, float("nan")]) == [D("1.00"), D("0.00"), D("0.00")]
    # weights summing to 1 or less are still proportions: 0.25 / 0.75
    assert costs.largest_remainder(D("1.00"), [0.25, 0.75]) == [D("0.25"), D("0.75")]
    assert costs.largest_remainder(D("1.00"), [0.1, 0.3]) == [D("0.25"), D("0.75")]
    # a total with half a cent rounds half up: 12.5 -> 13 cents, 7 + 6
    assert costs.largest_remainder(D("0.125"), [1, 1]) == [D("0.07"), D("0.06")]
    # ties of the remainder go to the earlier entries (27 parts, 25 cents; found by search: numpy's
    # default sort would give one cent to another part)
    w = [2, 3, 3, 1, 1, 3, 3, 1, 1, 3, 2, 1, 3, 1, 2, 2, 2, 1, 1, 3, 3, 3, 2, 3, 1, 2, 3]
    got = costs.largest_remainder(D("0.25"), [float(x) for x in w])
    assert got == _by_rule(25, w) and sum(got) == D("0.25")


def test_basis_weights_per_basis_and_a_given_table(wh) -> None:
    """November by order date: net sales S1 180 − 10 = 170, S2 100 − 30 = 70 (O4's December refund on
    its order); orders S1 O1, O2 = 2, S2 O4, O5 = 2 (O3 cancelled); units S1 2 + 1 = 3, S2 1 + 4 = 5;
    a store without sales (S9) weighs 0. A table passed in is used as given (NaN weighs 0)."""
    stores = ["S1", "S2", "S9"]
    assert costs._basis_weights("2026-11", stores, "net_sales", wh) == [170.0, 70.0, 0.0]
    assert costs._basis_weights("2026-11", stores, "orders", wh) == [2.0, 2.0, 0.0]
    assert costs._basis_weights("2026-11", stores, "units", wh) == [3.0, 5.0, 0.0]
    given = pd.DataFrame({"store_id": ["S1", "S2"], "period": ["2026-11", "2026-11"], "net_sales": [50.0, float("nan")],
                          "orders": [1.0, 1.0], "units": [1.0, 1.0]})
    assert costs._basis_weights("2026-11", stores, "net_sales", wh, given) == [50.0, 0.0, 0.0]


def test_two_overhead_items_in_one_month_keep_their_own_weights(wh) -> None:
    """Staff 1 000 by net sales (170 : 70 -> 708.33 / 291.67) and rent 300 by orders (2 : 2 -> 150 / 150)
    in the same month: each item is split by its own basis."""
    cfg = costs.Overheads.model_validate({"rent": [{"id": "staff", "monthly_cost": 1000, "basis": "net_sales"},
                                                   {"id": "rent", "monthly_cost": 300, "basis": "orders"}]})
    got = costs.allocate_overheads("2026-11", warehouse=wh, config=cfg)
    assert got[["item", "store_id", "amount_rc"]].values.tolist() == [
        ["staff", "S1", 708.33], ["staff", "S2", 291.67], ["rent", "S1", 150.0], ["rent", "S2", 150.0]]


def test_unit_economics_small_uncosted_sales_top_twenty_and_columns(wh) -> None:
    """Rows given (no engine): TINY has 10 % of its 5.00 GMV without a unit cost (0.50 uncosted: the cost
    is missing however small). Twenty-one SKUs lose money, L01 by 1.01 … L21 by 1.21: the default list
    is the worst twenty, L21 first, with the columns of ``unit_economics``; a month without rows has
    those columns too."""
    base = {k: 0.0 for k in costs.UE_KPIS}
    rows = [{"period": "2026-11", **base, "sku": "TINY", "units": 1, "gmv": 5.0, "uncosted_share": 0.1}]
    rows += [{"period": "2026-11", **base, "sku": f"L{i:02d}", "units": 1, "gmv": 10.0, "cogs": 11.0 + i / 100}
             for i in range(1, 22)]
    df = pd.DataFrame(rows)
    ue = costs.unit_economics(period="2026-11", warehouse=wh, rows=df).set_index("sku")
    assert bool(ue.loc["TINY", "cost_missing"]) and not ue.loc["L01", "cost_missing"]
    assert ue.loc["L21", "contribution"] == pytest.approx(-1.21)
    worst = costs.loss_makers(period="2026-11", warehouse=wh, rows=df)
    assert worst["sku"].tolist() == [f"L{i:02d}" for i in range(21, 1, -1)]
    assert list(worst.columns) == ["sku", *ue.columns] and list(worst.index) == list(range(20))
    none = costs.unit_economics(period="2026-09", warehouse=wh, rows=df)
    assert none.empty and list(none.columns) == list(worst.columns)


def test_waterfall_of_a_store_set_its_kpi_column_and_half_cents(wh) -> None:
    """S2 November by order date: GMV 100 (O4 60 + O5 40), refunds 30 (O4's December refund on its order),
    COGS O4 1 × 8 + O5 4 × 5 = 28, first leg 2 + 4 × 1 = 6, duties 1 × 8 × 10 % = 0.8, payment fee 1.2,
    shipping label 2 (fulfillment), promotion 3, ads 5, overheads 15 -> net profit
    100 − 30 − 28 − 6 − 0.8 − 1.2 − 2 − 3 − 5 − 15 = 9.0. ``stores=["S2"]`` is that store, whatever the
    entity; each row names the catalog KPI it comes from. Amounts round half up to the cent: 100.125 ->
    100.13, a cost of 0.375 -> −0.38."""
    wf = costs.waterfall(stores=["S2"], period="2026-11", warehouse=wh).set_index("step")
    assert wf.loc["gmv", "amount_rc"] == 100.0 and wf.loc["net_profit", "amount_rc"] == pytest.approx(9.0)
    assert wf.loc["fulfillment", "amount_rc"] == -2.0 and wf.loc["overheads", "amount_rc"] == -15.0
    assert (wf["stores_covered"] == 1).all() and (wf["stores_total"] == 1).all()
    assert wf.loc[["gmv", "fulfillment", "advertising", "net_sales", "net_profit"], "kpi"].tolist() == [
        "gmv", "fulfillment_fees", "ad_spend", "net_sales", "net_profit"]
    half = costs._waterfall_from_totals({"gmv": 100.125, "cogs": 0.375}).set_index("step")["amount_rc"]
    assert (half["gmv"], half["cogs"], half["net_profit"]) == (100.13, -0.38, 99.75)


def test_a_range_with_two_separators_is_a_user_error() -> None:
    from kpi_lib.errors import KpiError

    with pytest.raises(KpiError, match=r"custom period '2026-11-01..2026-11-03..2026-11-05': expected "
                                       r"YYYY-MM-DD..YYYY-MM-DD"):
        costs.period_range("2026-11-01..2026-11-03..2026-11-05")


@pytest.mark.parametrize("basis", ["order", "posted"])
def test_grain_rows_give_each_entity_its_own_waterfall(wh, basis) -> None:
    """``waterfall_grain_rows`` is one store-level query for every grain and month; each store's slice and the
    company's rows must give, month by month, the waterfall that entity's own engine query gives (what the
    report batches and the cost explorer rely on), with the grain's dimension and the period as text."""
    g = costs.waterfall_grain_rows("month", basis=basis, warehouse=wh)
    assert set(g) == set(costs.WATERFALL_GRAINS)
    assert g["store"]["store_id"].map(type).eq(str).all() and g["store"]["period"].map(type).eq(str).all()
    assert set(g["store"]["period"]) >= {"2026-10", "2026-11"}
    for period in ("2026-10", "2026-11"):
        for sid in ("S1", "S2"):
            rows = g["store"][g["store"]["store_id"] == sid].drop(columns="store_id")
            pd.testing.assert_frame_equal(costs.waterfall("store", sid, period, basis=basis, warehouse=wh, rows=rows),
                                          costs.waterfall("store", sid, period, basis=basis, warehouse=wh))
        pd.testing.assert_frame_equal(costs.waterfall("company", None, period, basis=basis, warehouse=wh,
                                                      rows=g["company"]),
                                      costs.waterfall("company", None, period, basis=basis, warehouse=wh))


def test_unit_rows_give_each_entity_its_own_unit_economics(wh) -> None:
    """``unit_rows``: store × SKU rows of one query; a store's rows, and all of them for the company, give the
    unit economics of that entity's own engine query, with store ids and periods as text."""
    ue = costs.unit_rows("month", "2026-11", "2026-11", wh)
    assert ue["store_id"].map(type).eq(str).all() and set(ue["period"]) == {"2026-11"}
    for sid in ("S1", "S2"):
        rows = ue[ue["store_id"] == sid].drop(columns="store_id")
        pd.testing.assert_frame_equal(costs.unit_economics("store", sid, "2026-11", wh, rows=rows),
                                      costs.unit_economics("store", sid, "2026-11", wh))
    pd.testing.assert_frame_equal(costs.unit_economics("company", None, "2026-11", wh, rows=ue.drop(columns="store_id")),
                                  costs.unit_economics("company", None, "2026-11", wh))
