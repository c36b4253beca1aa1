"""Every catalog KPI against an independent pandas computation, at two grains; org and contract grains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_fixtures import END, START, make_project, make_warehouse

from kpi_lib.definitions import BUILTIN_KPIS
from kpi_lib.errors import DefinitionError
from kpi_lib.metrics import compute, compute_long, period_bounds, period_label, shift_period

SHIPPED = ["shipped", "delivered", "returned"]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("proj"))
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    w, tables = make_warehouse(root / "data" / "warehouse")
    mp.setenv("KPI_WAREHOUSE", str(w.path))
    yield w, tables
    mp.undo()


def _label(s: pd.Series, period: str) -> pd.Series:
    return pd.to_datetime(s).map(lambda d: period_label(d, period))


def _cost(df: pd.DataFrame, date_col: str, t: dict) -> pd.DataFrame:
    """unit_cogs / first_leg_cost valid on the date (sku_costs history, fallback skus) and duty_rate."""
    hist = t["sku_costs"].sort_values("valid_from")
    d = df.reset_index().rename(columns={"index": "_i"})
    d["_d"] = pd.to_datetime(d[date_col]).astype("datetime64[ns]")
    hist = hist.assign(valid_from=hist["valid_from"].astype("datetime64[ns]"))
    m = pd.merge_asof(d.sort_values("_d"), hist[["sku", "valid_from", "unit_cogs", "first_leg_cost"]],
                      left_on="_d", right_on="valid_from", by="sku", direction="backward")
    skus = t["skus"].set_index("sku")
    m["unit_cogs"] = m["unit_cogs"].fillna(m["sku"].map(skus["unit_cogs"]))
    m["first_leg_cost"] = m["first_leg_cost"].fillna(m["sku"].map(skus["first_leg_cost"]))
    m["duty_rate"] = m["sku"].map(skus["duty_rate"]).fillna(0)
    return m.set_index("_i").sort_index()


def expected(t: dict, dim: str, period: str) -> pd.DataFrame:
    """All catalog KPIs by ``dim`` (store_id or platform) × period, computed with plain pandas."""
    stores = t["stores"].set_index("store_id")

    def prep(df: pd.DataFrame, date_col: str) -> pd.DataFrame:
        df = df.copy()
        df["period"] = _label(df[date_col], period)
        df["platform"] = df["store_id"].map(stores["platform"])
        return df

    keys = [dim, "period"]
    o = prep(t["orders"], "order_date")
    o = pd.concat([o, _cost(o, "order_date", t)[["unit_cogs", "first_leg_cost", "duty_rate"]]], axis=1)
    nc = o[o["status"] != "cancelled"].copy()
    nc["cogs"] = nc["quantity"] * nc["unit_cogs"]
    nc["fl"] = nc["quantity"] * nc["first_leg_cost"]
    nc["duty"] = nc["cogs"] * nc["duty_rate"]
    nc["okey"] = nc["store_id"] + "|" + nc["order_id"]
    nc["skey"] = nc["store_id"] + "|" + nc["sku"]
    g = nc.groupby(keys)
    r = {"gmv": g["gross_sales_rc"].sum(), "orders": g["okey"].nunique(), "units": g["quantity"].sum(),
         "cogs": g["cogs"].sum(), "first_leg": g["fl"].sum(), "duties": g["duty"].sum(),
         "skus_sold": nc[nc["quantity"] > 0].groupby(keys)["skey"].nunique()}
    sh = o[o["status"].isin(SHIPPED)]
    r["shipped_units"] = sh.groupby(keys)["quantity"].sum()
    r["shipped_lines"] = sh.groupby(keys).size()
    r["returned_units"] = o[o["status"] == "returned"].groupby(keys)["quantity"].sum()
    late = sh[(sh["ship_date"] > sh["promised_ship_date"]).fillna(False)]
    r["late_lines"] = late.groupby(keys).size()
    # order basis: refunds and fees that carry an order id take their order's date
    odate = t["orders"].groupby(["store_id", "order_id"])["order_date"].min()

    def on_order_date(df: pd.DataFrame) -> pd.DataFrame:
        od = pd.MultiIndex.from_arrays([df["store_id"], df["order_id"]]).map(odate.to_dict())
        return df.assign(date=pd.Series(od, index=df.index).fillna(df["date"]))

    rf = prep(on_order_date(t["refunds"]), "date")
    r["refunds"] = rf.groupby(keys)["amount_rc"].sum()
    r["refund_units"] = rf.groupby(keys)["quantity"].sum()
    fe = prep(on_order_date(t["fees"]), "date")
    fsum = fe.pivot_table(index=keys, columns="fee_type", values="amount_rc", aggfunc="sum")
    for ft in ["referral", "payment", "promotion", "subscription", "return_processing", "refund", "other",
               "fulfillment", "shipping_label", "storage", "long_term_storage"]:
        r["fee_" + ft] = fsum[ft] if ft in fsum.columns else pd.Series(np.nan, index=fsum.index)
    ad = prep(t["ads"], "date").groupby(keys)
    r["ad_spend"], r["ad_sales"] = ad["spend_rc"].sum(), ad["ad_sales_rc"].sum()
    r["clicks"], r["impressions"] = ad["clicks"].sum(), ad["impressions"].sum()
    r["sessions"] = prep(t["traffic"], "date").groupby(keys)["sessions"].sum()
    inv = prep(t["inventory"], "date")
    inv = pd.concat([inv, _cost(inv, "date", t)[["unit_cogs"]]], axis=1)
    inv["value"] = inv["sellable"] * inv["unit_cogs"]
    inv["aged"] = inv["age_181_365"] + inv["age_365_plus"]
    inv["is_last"] = inv["date"] == inv.groupby(["store_id", "sku", "period"])["date"].transform("max")
    gi = inv.groupby(keys)
    r["sellable"], r["inv_dates"], r["inv_value"] = gi["sellable"].sum(), gi["date"].nunique(), gi["value"].sum()
    r["ending"] = inv[inv["is_last"]].groupby(keys)["sellable"].sum()
    r["sku_days"] = gi.size()
    r["stockout"] = inv[inv["sellable"] == 0].groupby(keys).size()
    r["aged"] = gi["aged"].sum()
    # listings: listed at any time in the period (within the data range)
    li = t["listings"]
    lrows = []
    all_periods = set()
    for v in r.values():
        all_periods |= set(v.index.get_level_values("period"))
    for lbl in sorted(all_periods):
        ps, pe = (pd.Timestamp(x) for x in period_bounds(lbl))
        ps, pe = max(ps, START), min(pe, END)
        if ps > pe:
            continue
        act = li[(li["listed_on"] <= pe) & (li["delisted_on"].isna() | (li["delisted_on"] >= ps))]
        for x in act.itertuples():
            lrows.append((x.store_id, stores.loc[x.store_id, "platform"], lbl, f"{x.store_id}|{x.sku}"))
    ld = pd.DataFrame(lrows, columns=["store_id", "platform", "period", "skey"])
    r["skus_listed"] = ld.groupby(keys)["skey"].nunique()
    tk = t["tickets"].copy()
    tk["period"] = _label(tk["opened_at"].dt.normalize(), period)
    tk["platform"] = tk["store_id"].map(stores["platform"])
    tk["resp"] = (tk["first_response_at"] - tk["opened_at"]).dt.total_seconds() / 3600
    tk["res"] = (tk["resolved_at"] - tk["opened_at"]).dt.total_seconds() / 3600
    gt = tk.groupby(keys)
    r["tickets"], r["resp_med"] = gt.size(), gt["resp"].median()
    r["answered"] = tk[tk["resp"] <= 24].groupby(keys).size()
    r["dispute_med"] = tk[tk["kind"] == "dispute"].groupby(keys)["res"].median() / 24
    r["negrev_med"] = tk[tk["kind"] == "negative_review"].groupby(keys)["res"].median()
    ac = prep(t["activities"], "date")
    r["new_listings"] = ac[ac["kind"] == "new_listing"].groupby(keys).size()
    r["ad_opt"] = ac[ac["kind"] == "ad_group_optimization"].groupby(keys).size()
    oh = t["overhead_allocations"].copy()  # spread over the days of the month
    oh = oh.assign(day=[pd.date_range(m + "-01", periods=pd.Period(m).days_in_month) for m in oh["month"]])
    oh = oh.explode("day")
    oh["amount_rc"] = oh["amount_rc"] / oh["day"].dt.days_in_month
    oh = oh[(oh["day"] >= START) & (oh["day"] <= END)]
    oh["period"] = _label(oh["day"], period)
    oh["platform"] = oh["store_id"].map(stores["platform"])
    r["overheads"] = oh.groupby(keys)["amount_rc"].sum()
    r = pd.DataFrame(r)
    medians = ["resp_med", "dispute_med", "negrev_med"]
    for c in r.columns:
        if c not in medians:
            r[c] = r[c].fillna(0.0)
    r = r.reset_index()
    days = r["period"].map(lambda p: (min(pd.Timestamp(period_bounds(p)[1]), END)
                                      - max(pd.Timestamp(period_bounds(p)[0]), START)).days + 1)

    def div(a, b):
        b = b.astype(float)
        return a / b.where(b != 0)

    k = pd.DataFrame({dim: r[dim], "period": r["period"]})
    k["gmv"], k["refunds"] = r["gmv"], r["refunds"]
    k["net_sales"] = r["gmv"] - r["refunds"]
    k["orders"], k["units"] = r["orders"], r["units"]
    k["aov"] = div(r["gmv"], r["orders"])
    k["sessions"] = r["sessions"]
    k["cvr"] = div(r["orders"], r["sessions"])
    k["ad_spend"], k["ad_sales"] = r["ad_spend"], r["ad_sales"]
    k["acos"], k["roas"] = div(r["ad_spend"], r["ad_sales"]), div(r["ad_sales"], r["ad_spend"])
    k["tacos"] = div(r["ad_spend"], r["gmv"])
    k["clicks"], k["impressions"] = r["clicks"], r["impressions"]
    k["cpc"], k["ctr"] = div(r["ad_spend"], r["clicks"]), div(r["clicks"], r["impressions"])
    k["cogs"], k["first_leg"], k["duties"] = r["cogs"], r["first_leg"], r["duties"]
    k["referral_fees"], k["payment_fees"] = r["fee_referral"], r["fee_payment"]
    k["other_platform_fees"] = r[["fee_subscription", "fee_refund", "fee_other"]].sum(axis=1)
    k["platform_fees"] = k["referral_fees"] + k["payment_fees"] + k["other_platform_fees"]
    k["fulfillment_fees"] = r["fee_fulfillment"] + r["fee_shipping_label"]
    k["monthly_storage_fees"], k["long_term_storage_fees"] = r["fee_storage"], r["fee_long_term_storage"]
    k["storage_fees"] = r["fee_storage"] + r["fee_long_term_storage"]
    k["return_processing"], k["discounts"] = r["fee_return_processing"], 0.0 * r["gmv"]
    k["promotions"] = r["fee_promotion"] + k["discounts"]
    k["gross_profit"] = k["net_sales"] - k["cogs"] - k["first_leg"] - k["duties"]
    k["contribution"] = (k["gross_profit"] - k["platform_fees"] - k["fulfillment_fees"] - k["storage_fees"]
                         - k["ad_spend"] - k["return_processing"] - k["promotions"])
    k["contribution_margin"] = div(k["contribution"], k["net_sales"])
    k["uncosted_share"] = 0.0 * div(r["gmv"], r["gmv"])
    k["overheads"] = r["overheads"]
    k["net_profit"] = k["contribution"] - k["overheads"]
    k["gross_margin"] = div(k["net_sales"] - k["cogs"] - k["first_leg"] - k["duties"], k["net_sales"])
    k["net_margin"] = div(k["net_profit"], k["net_sales"])
    k["return_rate"] = div(r["refund_units"], r["shipped_units"])
    k["inventory_days"] = div(div(r["sellable"], r["inv_dates"]), div(r["units"], days))
    k["inventory_turnover"] = div(r["cogs"], div(r["inv_value"], r["inv_dates"]))
    k["sell_through"] = div(r["units"], r["units"] + r["ending"])
    k["stockout_rate"] = div(r["stockout"], r["sku_days"])
    k["aged_inventory_share"] = div(r["aged"], r["sellable"])
    k["active_sku_rate"] = div(r["skus_sold"], r["skus_listed"])
    k["first_response_hours"] = r["resp_med"]
    k["response_24h_rate"] = div(r["answered"], r["tickets"])
    k["dispute_days"], k["negative_review_hours"] = r["dispute_med"], r["negrev_med"]
    k["new_listings"], k["ad_optimizations"] = r["new_listings"], r["ad_opt"]
    k["late_shipment_rate"] = div(r["late_lines"], r["shipped_lines"])
    return k


CATALOG_IDS = [k.id for k in BUILTIN_KPIS]


@pytest.mark.parametrize("dim,period", [("store_id", "month"), ("platform", "quarter")])
def test_every_kpi_matches_independent_computation(wh, dim, period):
    w, t = wh
    got = compute(CATALOG_IDS, by=[dim], period=period, warehouse=w)
    exp = expected(t, dim, period)
    m = got.merge(exp, on=[dim, "period"], how="outer", suffixes=("", "_exp"), indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", [dim, "period", "_merge"]]
    assert len(m) > 5
    for k in CATALOG_IDS:
        a, b = m[k].astype(float).to_numpy(), m[k + "_exp"].astype(float).to_numpy()
        assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), (k, m.loc[~np.isclose(a, b, equal_nan=True),
                                                                            [dim, "period", k, k + "_exp"]])


def test_company_grain_is_ratio_of_sums_and_true_median(wh):
    w, t = wh
    c = compute(["gmv", "acos", "first_response_hours", "orders"], by=[], period="year", warehouse=w)
    s = compute(["ad_spend", "ad_sales"], by=["store_id"], period="year", warehouse=w)
    y25 = c[c["period"] == "2025"].iloc[0]
    s25 = s[s["period"] == "2025"]
    assert y25["acos"] == pytest.approx(s25["ad_spend"].sum() / s25["ad_sales"].sum())
    tk = t["tickets"]
    tk = tk[tk["opened_at"].dt.year == 2025]
    assert y25["first_response_hours"] == pytest.approx(
        ((tk["first_response_at"] - tk["opened_at"]).dt.total_seconds() / 3600).median())
    assert list(c.columns) == ["period", "gmv", "acos", "first_response_hours", "orders"]


def _gmv_between(t, store, lo, hi):
    o = t["orders"]
    m = (o["store_id"] == store) & (o["status"] != "cancelled") & (o["order_date"] >= lo) & (o["order_date"] <= hi)
    return float(o.loc[m, "gross_sales_rc"].sum())


def test_person_who_changed_team_counts_in_each_team_only_for_their_time(wh):
    w, t = wh
    p = compute(["gmv"], by=["person_id"], period="month", warehouse=w)
    june = p[(p["person_id"] == "P3") & (p["period"] == "2025-06")]["gmv"].iloc[0]
    exp = _gmv_between(t, "A-US-01", "2025-06-01", "2025-06-15") + _gmv_between(t, "S-MY-01", "2025-06-16", "2025-06-30")
    assert june == pytest.approx(exp)
    tp = compute(["gmv"], by=["team_id", "person_id"], period="month", start="2025-06", end="2025-06", warehouse=w)
    p3 = tp[tp["person_id"] == "P3"].set_index("team_id")["gmv"]
    assert p3["T1"] == pytest.approx(_gmv_between(t, "A-US-01", "2025-06-01", "2025-06-15"))
    assert p3["T2"] == pytest.approx(_gmv_between(t, "S-MY-01", "2025-06-16", "2025-06-30"))
    # teams: A-US-01 has three T1 members in June but is counted once
    tm = compute(["gmv", "orders"], by=["team_id"], period="month", start="2025-06", end="2025-06", warehouse=w)
    s = compute(["gmv"], by=["store_id"], period="month", start="2025-06", end="2025-06", warehouse=w).set_index("store_id")
    tm = tm.set_index("team_id")
    assert tm.loc["T1", "gmv"] == pytest.approx(s.loc["A-US-01", "gmv"])
    assert tm.loc["T2", "gmv"] == pytest.approx(s.loc["S-MY-01", "gmv"])
    # filters work without grouping
    f = compute(["gmv"], by=[], period="month", start="2025-06", end="2025-06", filters={"team_id": "T1"}, warehouse=w)
    assert f["gmv"].iloc[0] == pytest.approx(s.loc["A-US-01", "gmv"])


def test_contract_and_category_grains(wh):
    w, t = wh
    c = compute(["gmv", "units"], by=["contract_id"], period="year", warehouse=w)
    s = compute(["gmv", "units"], by=["store_id"], period="year", warehouse=w)
    exp = s[s["store_id"].isin(["A-US-01", "N-US-02"])].groupby("period")["gmv"].sum()
    assert c.set_index("period")["gmv"].to_dict() == pytest.approx(exp.to_dict())
    cat = compute(["gmv"], by=["category"], period="year", warehouse=w)
    o = t["orders"]
    o = o[o["status"] != "cancelled"]
    exp = o.groupby([o["sku"].str[:2], o["order_date"].dt.year.astype(str)])["gross_sales_rc"].sum()
    for r in cat.itertuples():
        assert r.gmv == pytest.approx(exp[(r.category, r.period)])


def test_filters_periods_and_long_form(wh):
    w, _ = wh
    d = compute(["gmv", "aov"], by=["store_id"], period="week", start="2025-03-01", end="2025-03-31",
                filters={"store_id": ["A-US-01"]}, warehouse=w)
    assert set(d["store_id"]) == {"A-US-01"}
    assert d["period"].str.match(r"^\d{4}-W\d{2}$").all()
    long = compute_long(["gmv", "aov"], by=["store_id"], period="month", warehouse=w)
    a = long[long["kpi"] == "aov"]
    assert np.allclose(a["value"], a["numerator"] / a["denominator"])
    assert set(long.columns) == {"store_id", "period", "kpi", "value", "numerator", "denominator", "complete",
                                 "missing", "stores_covered", "stores_total"}


def test_bad_arguments(wh):
    w, _ = wh
    with pytest.raises(DefinitionError, match="unknown dimension"):
        compute(["gmv"], by=["country"], warehouse=w)
    with pytest.raises(DefinitionError, match="unknown period"):
        compute(["gmv"], period="fortnight", warehouse=w)
    with pytest.raises(DefinitionError, match="unknown KPI"):
        compute(["gmvv"], warehouse=w)


def test_period_helpers():
    assert period_bounds("2026-Q4")[0].isoformat() == "2026-10-01"
    assert period_bounds("2026-02")[1].isoformat() == "2026-02-28"
    assert period_bounds("2026-W01")[0].isoformat() == "2025-12-29"
    assert shift_period("2026-01", -12) == "2025-01"
    assert shift_period("2026-Q1", -4) == "2025-Q1"
    assert period_label("2026-11-07", "quarter") == "2026-Q4"


def test_excluded_days_leave_the_company_median_too(wh):
    """Excluded days (an adjustment's store × days) take the store's rows out of every measure, the company's
    true median too (it is computed at the company grain, not from store rows): 2025's first-response median
    is the median over the other stores' tickets, and differs from the median with the store."""
    w, t = wh
    tk = t["tickets"][t["tickets"]["opened_at"].dt.year == 2025]
    hours = (tk["first_response_at"] - tk["opened_at"]).dt.total_seconds() / 3600
    store = hours.groupby(tk["store_id"]).median().idxmax()  # the slowest store: its exclusion lowers the median
    got = compute(["first_response_hours"], by=[], period="year", warehouse=w,
                  exclude=[(store, "2025-01-01", "2025-12-31")])
    want = hours[tk["store_id"] != store].median()
    assert want != pytest.approx(hours.median())
    assert got[got["period"] == "2025"].iloc[0]["first_response_hours"] == pytest.approx(want)


def test_kpis_without_a_coverage_source_are_complete_with_their_store_counts(wh):
    """Tickets and activities have no coverage source (a month without tickets has none to miss): their rows are
    complete (True, not unknown), with every store of the row counted as covered, as integers."""
    w, _ = wh
    got = compute_long(["first_response_hours", "new_listings"], by=["store_id"], period="month", warehouse=w)
    assert len(got) > 10 and got["complete"].map(lambda x: x is True or x is np.True_).all()
    assert (got["stores_covered"] == got["stores_total"]).all() and (got["stores_total"] == 1).all()
    assert str(got["stores_covered"].dtype) == "int64" and str(got["stores_total"].dtype) == "int64"
