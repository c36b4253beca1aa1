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
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_lib import costs
from kpi_lib.money import cents

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


def test_the_waterfall_ends_on_the_engines_cent_and_its_steps_still_add_up() -> None:
    """Three costs of 0.004 under net sales 100: each rounds to 0.00, but gross profit is 99.988 → 99.99.
    Summing the rounded steps showed 100.00, a cent away from the gross profit (and so the net profit)
    every other report shows. Now the subtotal is the engine's cent and the first of the three (a tie)
    carries it: −0.01, −0.00, −0.00. Net profit 99.988 − 0.333 − 0.333 − 0.333 = 98.989 → 98.99: the
    three fees of 0.333 round to 0.33 each (0.99) and the cent left over goes to the first."""
    t = {"gmv": 100.0, "net_sales": 100.0, "cogs": 0.004, "first_leg": 0.004, "duties": 0.004,
         "gross_profit": 99.988, "referral_fees": 0.333, "payment_fees": 0.333, "other_platform_fees": 0.333,
         "contribution": 98.989, "net_profit": 98.989}
    wf = costs._waterfall_from_totals(t).set_index("step")["amount_rc"]
    assert (wf["cogs"], wf["first_leg"], wf["duties"], wf["gross_profit"]) == (-0.01, 0.0, 0.0, 99.99)
    assert (wf["referral_fees"], wf["payment_fees"], wf["other_platform_fees"]) == (-0.34, -0.33, -0.33)
    assert (wf["contribution"], wf["net_profit"]) == (98.99, 98.99)
    # the cent left goes to the largest fraction: 0.4, 0.6, 0.1 tenths of a cent → only the 0.006 takes it
    t2 = {"gmv": 100.0, "net_sales": 100.0, "cogs": 0.004, "first_leg": 0.006, "duties": 0.001, "gross_profit": 99.989}
    wf2 = costs._waterfall_from_totals(t2).set_index("step")["amount_rc"]
    assert (wf2["cogs"], wf2["first_leg"], wf2["duties"], wf2["gross_profit"]) == (0.0, -0.01, 0.0, 99.99)
    # two subtotals rounding apart (found by the property below): contribution 2 − 1.875 = 0.125 → 0.13, net
    # profit 0.125 − 1 = −0.875 → −0.88, so overheads of exactly 1.00 show 1.01 for the two figures to hold
    t3 = {"gmv": 2.0, "net_sales": 2.0, "gross_profit": 2.0, "promotions": 1.875, "contribution": 0.125,
          "overheads": 1.0, "net_profit": -0.875}
    wf3 = costs._waterfall_from_totals(t3).set_index("step")["amount_rc"]
    assert (wf3["promotions"], wf3["contribution"], wf3["overheads"], wf3["net_profit"]) == (-1.87, 0.13, -1.01, -0.88)
    # found by the property below: contribution −0.105 → −0.11 and net profit 249,998.895 → 249,998.90 (halves away
    # from zero on opposite signs) need overheads of exactly −249,999.00 (a credit) to show −249,999.01
    t4 = {"gmv": 124999.0, "net_sales": 124999.0, "gross_profit": 124999.0, "promotions": 124999.105,
          "contribution": -0.105, "overheads": -249999.0, "net_profit": 249998.895}
    wf4 = costs._waterfall_from_totals(t4).set_index("step")["amount_rc"]
    assert (wf4["contribution"], wf4["overheads"], wf4["net_profit"]) == (-0.11, 249999.01, 249998.9)
    # the same between two subtotals with several whole-cent rows: gross profit −0.005 → −0.01 and contribution
    # 2.995 → 3.00; of the two credits (1.00 and 2.00) the larger shows 2.01, the zeros stay 0
    t5 = {"gmv": 0.0, "net_sales": 0.0, "cogs": 0.005, "gross_profit": -0.005, "referral_fees": -1.0,
          "payment_fees": -2.0, "contribution": 2.995, "net_profit": 2.995}
    wf5 = costs._waterfall_from_totals(t5).set_index("step")["amount_rc"]
    assert (wf5["cogs"], wf5["gross_profit"], wf5["referral_fees"], wf5["payment_fees"]) == (-0.01, -0.01, 1.0, 2.01)
    assert (wf5["other_platform_fees"], wf5["promotions"], wf5["contribution"]) == (0.0, 0.0, 3.0)
    # a cost the engine could not give (NaN) counts 0 beside known subtotals, as without them
    t6 = {"gmv": 100.0, "net_sales": 100.0, "cogs": float("nan"), "first_leg": 0.004, "gross_profit": 99.996}
    wf6 = costs._waterfall_from_totals(t6).set_index("step")["amount_rc"]
    assert (wf6["cogs"], wf6["first_leg"], wf6["gross_profit"]) == (0.0, 0.0, 100.0)
    # a subtotal that its steps cannot reach within a cent each is not theirs: the steps' own sum is kept
    off = costs._waterfall_from_totals({"gmv": 100.0, "refunds": 10.0, "net_sales": 50.0}).set_index("step")
    assert off.loc["net_sales", "amount_rc"] == 90.0 and off.loc["refunds", "amount_rc"] == -10.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-5e5, 5e5, allow_nan=False).map(lambda x: round(x, 3)), min_size=len(costs.COST_STEPS),
                max_size=len(costs.COST_STEPS)), st.floats(0, 1e7).map(lambda x: round(x, 3)))
def test_every_subtotal_is_the_engines_cent_and_every_step_within_a_cent(values, gmv) -> None:
    """Any signed step values: each subtotal and the net profit are their engine value (the running float
    difference, as the engine's formulas compute it) rounded to the cent, each step is within a cent of
    its value (a whole cent when two subtotals round apart: see the worked overheads case), and the
    signed steps add up from GMV to every subtotal exactly."""
    t: dict[str, float] = {"gmv": gmv}
    it = iter(values)
    running = gmv
    for s in costs.STEPS[1:]:
        if s.kind == "cost":
            t[s.step] = next(it)
            running -= t[s.step]
        else:
            t[s.step] = running
    wf = costs._waterfall_from_totals(t).set_index("step")
    shown = {k: Decimal(repr(float(v))) for k, v in wf["amount_rc"].items()}
    acc = shown["gmv"]
    for s in costs.STEPS[1:]:
        if s.kind == "cost":
            assert abs(-shown[s.step] - Decimal(repr(t[s.step]))) <= D("0.01")
            acc += shown[s.step]
        else:
            assert shown[s.step] == cents(t[s.step]) == acc


def test_each_store_waterfall_ends_on_the_engines_net_profit(wh) -> None:
    """Against ``metrics.compute`` itself: every store and month of the fixture, on both bases, the waterfall's
    GMV, subtotals and net profit are the engine's figures rounded to the cent."""
    import datetime as dt

    from kpi_lib.metrics import compute

    for basis in ("order", "posted"):
        eng = compute(["gmv", "net_sales", "gross_profit", "contribution", "net_profit"], by=["store_id"],
                      period="month", start=dt.date(2026, 10, 1), end=dt.date(2026, 11, 30), warehouse=wh,
                      basis=basis, complete_for="net_profit")
        checked = 0
        for _, r in eng.iterrows():
            wf = costs.waterfall("store", r["store_id"], str(r["period"])[:7], basis=basis, warehouse=wh)
            wf = wf.set_index("step")["amount_rc"]
            for k in ("gmv", "net_sales", "gross_profit", "contribution", "net_profit"):
                if pd.isna(r[k]):
                    assert pd.isna(wf[k])
                else:
                    assert wf[k] == float(cents(r[k])), (basis, r["store_id"], r["period"], k)
                    checked += 1
        assert checked >= 10
