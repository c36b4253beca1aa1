"""The KPI engine's source row sets (``metrics._base_*``, ``_source_sql``, ``cost_join``), the posted basis
of fees, refunds and ads, and ``compute_long_grains``' contract grain: issue 11, code that the engine's
own tests ran without checking a number. Data: ``tests/cost_fixtures.py`` (its table of orders), changed
per test as its docstring says; every expected number is worked by hand in the docstring.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from cost_fixtures import build_tables, make_project, make_warehouse, overheads_frame

from kpi_lib import coverage
from kpi_lib.definitions import load_catalog
from kpi_lib.metrics import (
    LONG_COLUMNS,
    compute,
    compute_long,
    compute_long_grains,
    cost_join,
    coverage_matrix,
)

Row = dict[tuple[str, str], tuple[float | None, ...]]


@pytest.fixture()
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_project(tmp_path / "proj", contracts="contracts:\n  - id: C-1\n    stores: [S2]\n")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return tmp_path


def _rows(df: pd.DataFrame, cols: list[str], key: str = "store_id") -> Row:
    """(key, period) -> the columns' values, NaN as None (so dicts compare)."""
    return {(getattr(r, key), r.period): tuple(None if pd.isna(getattr(r, c)) else round(float(getattr(r, c)), 6)
                                              for c in cols) for r in df.itertuples()}


def _fee(store: str, day: str, order: str | None, sku: str | None, kind: str, amount: float) -> dict:
    return {"platform": "amazon" if store == "S1" else "shopee", "store_id": store, "date": pd.Timestamp(day),
            "order_id": order, "sku": sku, "fee_type": kind, "description": f"{kind}-x", "amount": amount,
            "currency": "CNY", "fx_rate": 1.0, "amount_rc": amount}


def test_fees_refunds_and_ads_on_each_basis(proj: Path) -> None:
    """Referral fees, refunds, ad spend, ad sales and clicks per store × month, October to December.

    Added to the fixture: an S2 referral fee of 4 dated 11-25 carrying order id O6, which is an S1 order
    (order ids are per store): S2 has no O6, so the fee stays on its own date on both bases.

    Order basis (a fee or refund with an order id on its order's date):
    - referral: S1 October O7 22.5 + O6's 12 (dated 11-02, order 10-30) = 34.5; S1 November O1 15; S2 November 4.
    - refunds: S1 O1's 10 -> November (order 11-05); S2 O4's 30 (dated 12-02) -> November (order 11-10).
    - ad spend from the ads rows: S1 October 10, November 20; S2 November 5.
    Posted basis (own dates; S1 is invoiced for ads by a fee row, so its spend is that fee's, by fee date):
    - referral: S1 October 22.5, November 15 + 12 = 27; S2 November 4.
    - refunds: S1 November 10, S2 December 30.
    - ad spend: S1 October 0 (its ads row's spend is replaced), November 9 (the advertising fee of 11-15);
      S2 (not invoiced) November 5.
    Ad sales (S1 October 30, November 60; S2 November 20) and clicks (10 each) come from the ads rows on
    both bases. S2's October has an order but no fee and no ad row: its fee and ad figures are unknown;
    S2's December (posted) has only the refund: no order there, so nothing is missing and the rest is 0.
    """
    t = build_tables()
    t["fees"] = pd.concat([t["fees"], pd.DataFrame([_fee("S2", "2026-11-25", "O6", "B-1", "referral", 4.0)])],
                          ignore_index=True)
    wh = make_warehouse(proj / "wh", tables=t)
    cols = ["refunds", "referral_fees", "ad_spend", "ad_sales", "clicks"]
    q = {"by": ["store_id"], "start": "2026-10-01", "end": "2026-12-31", "warehouse": wh}
    assert _rows(compute(cols, **q), cols) == {
        ("S1", "2026-10"): (0.0, 34.5, 10.0, 30.0, 10.0),
        ("S1", "2026-11"): (10.0, 15.0, 20.0, 60.0, 10.0),
        ("S2", "2026-10"): (0.0, None, None, None, None),
        ("S2", "2026-11"): (30.0, 4.0, 5.0, 20.0, 10.0),
    }
    assert _rows(compute(cols, basis="posted", **q), cols) == {
        ("S1", "2026-10"): (0.0, 22.5, 0.0, 30.0, 10.0),
        ("S1", "2026-11"): (10.0, 27.0, 9.0, 60.0, 10.0),
        ("S2", "2026-10"): (0.0, None, None, None, None),
        ("S2", "2026-11"): (0.0, 4.0, 5.0, 20.0, 10.0),
        ("S2", "2026-12"): (30.0, 0.0, 0.0, 0.0, 0.0),
    }
    # ad orders (a measure no built-in KPI reads): one per ads row, S1 October and November, S2 November
    (proj / "kpis.yaml").write_text("kpis:\n  - {id: ad_orders, zh: 广告订单, en: Ad orders, unit: count, direction: up,"
                                    " formula: ad_orders_sum}\n", encoding="utf-8")
    got = compute_long("ad_orders", catalog=load_catalog(proj / "kpis.yaml"), **q)
    assert _rows(got, ["value"]) == {("S1", "2026-10"): (1.0,), ("S1", "2026-11"): (1.0,), ("S2", "2026-10"): (None,),
                                     ("S2", "2026-11"): (1.0,)}


def _order(store: str, oid: str, sku: str, day: str, qty: int, gross: float, status: str = "delivered",
           ship: str | None = None, promised: str | None = None, discount: float = 0.0) -> dict:
    return {"platform": "amazon" if store == "S1" else "shopee", "store_id": store,
            "marketplace": "US" if store == "S1" else "MY", "order_id": oid, "line_id": "L1", "sku": sku,
            "order_date": pd.Timestamp(day), "order_ts": pd.Timestamp(day), "status": status, "quantity": qty,
            "currency": "CNY", "gross_sales": gross, "discounts": discount, "tax": 0.0, "shipping_charged": 0.0,
            "fulfillment_channel": "AFN", "ship_date": pd.Timestamp(ship) if ship else pd.NaT,
            "promised_ship_date": pd.Timestamp(promised or ship) if (promised or ship) else pd.NaT, "fx_rate": 1.0,
            "gross_sales_rc": gross, "discounts_rc": discount, "tax_rc": 0.0, "shipping_charged_rc": 0.0}


def _refund(store: str, day: str, order: str | None, sku: str | None, qty: int | None, amount: float) -> dict:
    return {"platform": "amazon" if store == "S1" else "shopee", "store_id": store, "date": pd.Timestamp(day),
            "order_id": order, "sku": sku, "quantity": qty, "amount": amount, "currency": "CNY", "reason": "return",
            "fx_rate": 1.0, "amount_rc": amount}


def test_order_lines_discounts_late_lines_uncosted_and_refunds_without_quantity(proj: Path) -> None:
    """November per store, with these changes to the fixture:

    - O1 carries a seller discount of 5 and the cancelled O3 one of 7 (a cancelled line counts nothing):
      discounts S1 5, S2 0; promotions = promotion fees + discounts: S1 0 + 5 = 5, S2 3 + 0 = 3.
    - A new S2 order O10 of SKU Z-0, which has no unit cost anywhere: 1 unit, 20, delivered 11-22 (promised
      11-23). Uncosted share S2 = 20 / (60 + 40 + 20) = 1/6; S1 0 / 180.
    - O5 was promised for 11-20 and shipped 11-21: late. Late shipment rate S2 = 1 late of 3 shipped lines
      (O4, O5, O10) = 1/3; S1 0 of 2 (O1, O2).
    - Refunds without a quantity count one unit per (store, order, SKU, refund date): S2 O5 X-9 twice on
      11-25 (2 and 3: one unit) and once on 11-26 (1: one more); S1 A-1 on 11-28 once without an order id
      (4) and once for O1 (1): two orders, two units. Return rate = refunded units / shipped units:
      S1 (O1's 1 + 2) / (O1 2 + O2 1) = 1; S2 (O4's 1 + 2) / (O4 1 + O5 4 + O10 1) = 3/6 = 0.5.
      Refunds S1 10 + 4 + 1 = 15; S2 30 + 2 + 3 + 1 = 36.
    """
    t = build_tables()
    o = t["orders"]
    o.loc[o["order_id"] == "O1", ["discounts", "discounts_rc"]] = 5.0
    o.loc[o["order_id"] == "O3", ["discounts", "discounts_rc"]] = 7.0
    o.loc[o["order_id"] == "O5", "promised_ship_date"] = pd.Timestamp("2026-11-20")
    t["orders"] = pd.concat([o, pd.DataFrame([_order("S2", "O10", "Z-0", "2026-11-22", 1, 20.0, ship="2026-11-22",
                                                     promised="2026-11-23")])], ignore_index=True)
    t["refunds"] = pd.concat([t["refunds"], pd.DataFrame([
        _refund("S2", "2026-11-25", "O5", "X-9", None, 2.0), _refund("S2", "2026-11-25", "O5", "X-9", None, 3.0),
        _refund("S2", "2026-11-26", "O5", "X-9", None, 1.0), _refund("S1", "2026-11-28", None, "A-1", None, 4.0),
        _refund("S1", "2026-11-28", "O1", "A-1", None, 1.0),
    ])], ignore_index=True)
    wh = make_warehouse(proj / "wh", tables=t)
    cols = ["discounts", "promotions", "late_shipment_rate", "uncosted_share", "return_rate", "refunds"]
    got = _rows(compute(cols, by=["store_id"], start="2026-11", end="2026-11", warehouse=wh), cols)
    assert got == {("S1", "2026-11"): (5.0, 5.0, 0.0, 0.0, 1.0, 15.0),
                   ("S2", "2026-11"): (0.0, 3.0, round(1 / 3, 6), round(1 / 6, 6), 0.5, 36.0)}


def test_overheads_spread_over_the_days_of_their_month(proj: Path) -> None:
    """Overhead allocations (S1 November 30, S2 November 15, S1 October 30) are spread evenly over their
    month's days: 1.00 and 0.50 a day in November (30 days), 30 / 31 a day in October. By day from 11-01
    to 11-02: S1 1.0, S2 0.5 each day; the first half of November: S1 15, S2 7.5; October 10 to 12:
    S1 3 × 30 / 31. A month written as its first day (a date, a timestamp or the text 2026-11-01) is the
    same month."""
    q = {"by": ["store_id"], "warehouse": None}
    first_days = {"date": lambda m: dt.date.fromisoformat(m + "-01"), "timestamp": lambda m: pd.Timestamp(m + "-01"),
                  "day text": lambda m: m + "-01"}
    for name in ("month text", *first_days):
        t = build_tables()
        wh = make_warehouse(proj / name.replace(" ", "_"), tables=t, overheads=False)
        oh = overheads_frame()
        if name in first_days:
            oh["month"] = [first_days[name](m) for m in oh["month"]]
        with wh.transaction("overheads") as w:
            w.write("overhead_allocations", oh, partition_by=())
        q["warehouse"] = wh
        days = compute("overheads", period="day", start="2026-11-01", end="2026-11-02", **q)
        assert _rows(days, ["overheads"]) == {("S1", "2026-11-01"): (1.0,), ("S1", "2026-11-02"): (1.0,),
                                              ("S2", "2026-11-01"): (0.5,), ("S2", "2026-11-02"): (0.5,)}, name
        half = compute("overheads", start="2026-11-01", end="2026-11-15", **q)
        assert _rows(half, ["overheads"]) == {("S1", "2026-11"): (15.0,), ("S2", "2026-11"): (7.5,)}, name
        octo = compute("overheads", start="2026-10-10", end="2026-10-12", **q)
        assert _rows(octo, ["overheads"]) == {("S1", "2026-10"): (round(90 / 31, 6),)}, name


def _num_den(df: pd.DataFrame, key: str) -> dict[tuple[str, str], tuple[float, float]]:
    return {(getattr(r, key), r.period): (r.numerator, r.denominator) for r in df.itertuples()}


def test_listed_skus_by_team_person_week_and_day(proj: Path) -> None:
    """Active SKU rate = SKUs sold / SKUs listed (numerator and denominator of ``compute_long``).

    Listings changed: S1's X-9 delisted on 10-31, S1's B-1 listed only from 11-20; S2 lists A-1, B-1, X-9
    all along. Sold in November (not cancelled): S1 A-1 (O1, 11-05), B-1 (O2, 11-20); S2 A-1 (O4, 11-10),
    X-9 (O5, 11-20). P2 works S2 in team T1 until 11-15 and in T2 from 11-16, so a listing counts for
    the team of each day it was listed:
    - T1 = S1 (A-1, B-1) + S2 until 11-15 (3 SKUs): 5 listed, sold S1's 2 + S2's A-1 = 3 -> (3, 5);
      T2 = S2 from 11-16: 3 listed, sold X-9 -> (1, 3).
    - P1 (S1): (2, 2); P2 (S2 all month): (2, 3).
    - weeks 47 (11-16..11-22) and 48 (11-23..11-29) by store: S1 lists A-1 and B-1 in both (B-1 from the
      20th), sells B-1 in week 47 and nothing in 48 (O3 is cancelled): (1, 2), (0, 2); S2 (1, 3), (0, 3).
    - days: S1 on 11-19 lists A-1 only and sells nothing (0, 1); on 11-20 B-1 is listed and sold (1, 2).
    """
    t = build_tables()
    li = t["listings"]
    li.loc[(li["store_id"] == "S1") & (li["sku"] == "X-9"), "delisted_on"] = pd.Timestamp("2026-10-31")
    li.loc[(li["store_id"] == "S1") & (li["sku"] == "B-1"), "listed_on"] = pd.Timestamp("2026-11-20")
    wh = make_warehouse(proj / "wh", tables=t)

    nov = {"start": "2026-11-01", "end": "2026-11-30", "warehouse": wh}
    assert _num_den(compute_long("active_sku_rate", by=["team_id"], **nov), "team_id") == {
        ("T1", "2026-11"): (3.0, 5.0), ("T2", "2026-11"): (1.0, 3.0)}
    assert _num_den(compute_long("active_sku_rate", by=["person_id"], **nov), "person_id") == {
        ("P1", "2026-11"): (2.0, 2.0), ("P2", "2026-11"): (2.0, 3.0)}
    weeks = compute_long("active_sku_rate", by=["store_id"], period="week", start="2026-11-16", end="2026-11-29",
                         warehouse=wh)
    assert _num_den(weeks, "store_id") == {("S1", "2026-W47"): (1.0, 2.0), ("S1", "2026-W48"): (0.0, 2.0),
                                           ("S2", "2026-W47"): (1.0, 3.0), ("S2", "2026-W48"): (0.0, 3.0)}
    days = compute_long("active_sku_rate", by=["store_id"], period="day", start="2026-11-19", end="2026-11-20",
                        filters={"store_id": "S1"}, warehouse=wh)
    assert _num_den(days, "store_id") == {("S1", "2026-11-19"): (0.0, 1.0), ("S1", "2026-11-20"): (1.0, 2.0)}


INVENTORY_KPIS = (
    "kpis:\n"
    "  - {id: ending, zh: 期末, en: Ending, unit: count, direction: up, formula: ending_sellable}\n"
    "  - {id: inv_value, zh: 库存额, en: Value, unit: money, direction: up, formula: inventory_value_days_rc}\n"
    "  - {id: aged, zh: 库龄, en: Aged, unit: count, direction: down, formula: aged_unit_days}\n"
)


def _inventory(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame([{"platform": "amazon", "store_id": "S1", "date": pd.Timestamp(d), "sku": s, "sellable": n,
                          "inbound": 0, "reserved": 0, "unfulfillable": 0, "age_0_90": n, "age_91_180": 0,
                          "age_181_365": 1, "age_365_plus": 1} for s, d, n in rows])


def test_inventory_ending_and_value_per_period_kind(proj: Path) -> None:
    """S1's snapshots: A-1 10 (11-02), 7 (11-03), 5 (11-09), 4 (11-30), 3 (12-01); B-1 2 (11-03). Ending
    sellable = each store-SKU's last snapshot in the period; value = sellable × the unit cost valid on the
    snapshot's date (A-1 8 until 11-15, 12 from 11-16; B-1 20 from skus); aged = 1 + 1 per snapshot.

    | period | ending | value | aged |
    |---|---|---|---|
    | day 11-02 | 10 | 80 | 2 |
    | day 11-03 | 7 + 2 = 9 | 56 + 40 = 96 | 4 |
    | week 45 (11-02..08) | 7 + 2 = 9 | 176 | 6 |
    | week 46 | 5 | 40 | 2 |
    | weeks 47, 48 (no snapshot) | unknown | unknown | unknown |
    | week 49 (11-30..12-06) | 3 | 48 + 36 = 84 | 4 |
    | month 11 | 4 + 2 = 6 | 80 + 96 + 40 + 48 = 264 | 10 |
    | month 12 | 3 | 36 | 2 |
    | quarter, year | 3 + 2 = 5 | 300 | 12 |

    Asked without the value (no cost measure: no cost join), the ending is the same. Weeks 47 and 48 have
    orders and no snapshot of their own: their stock is unknown (missing inventory), not 0 — a 0 would read
    as a sell-through of 100 %. Coverage is per month, so this is the week's own check.
    """

    t = build_tables()
    t["inventory"] = _inventory([("A-1", "2026-11-02", 10), ("A-1", "2026-11-03", 7), ("A-1", "2026-11-09", 5),
                                 ("A-1", "2026-11-30", 4), ("A-1", "2026-12-01", 3), ("B-1", "2026-11-03", 2)])
    wh = make_warehouse(proj / "wh", tables=t)
    (proj / "kpis.yaml").write_text(INVENTORY_KPIS, encoding="utf-8")
    cat = load_catalog(proj / "kpis.yaml")
    q = {"start": "2026-11-01", "end": "2026-12-31", "filters": {"store_id": "S1"}, "warehouse": wh}

    def wide(period: str, kpis: list[str] | None = None) -> dict[str, tuple[float, ...]]:
        lg = compute_long(kpis or ["ending", "inv_value", "aged"], period=period, catalog=cat, **q)
        w = lg.pivot(index="period", columns="kpi", values="value")
        return {p: tuple(round(float(x), 6) for x in r) for p, r in zip(w.index, w[kpis or ["ending", "inv_value",
                                                                                                   "aged"]].values)}

    days = wide("day")
    assert (days["2026-11-02"], days["2026-11-03"]) == ((10.0, 80.0, 2.0), (9.0, 96.0, 4.0))
    weeks = wide("week")
    assert {w: v for w, v in weeks.items() if w not in ("2026-W47", "2026-W48")} == {
        "2026-W45": (9.0, 176.0, 6.0), "2026-W46": (5.0, 40.0, 2.0), "2026-W49": (3.0, 84.0, 4.0)}
    assert all(math.isnan(x) for w in ("2026-W47", "2026-W48") for x in weeks[w])
    lw = compute_long(["ending"], period="week", catalog=cat, **q).set_index("period")
    assert lw.loc["2026-W47", "missing"] == "inventory" and not lw.loc["2026-W47", "complete"]
    assert lw.loc["2026-W46", "missing"] == "" and lw.loc["2026-W46", "complete"]
    days = wide("day", ["ending"])  # a day with orders but no snapshot: unknown too
    snapped = {"2026-11-02", "2026-11-03", "2026-11-09", "2026-11-30", "2026-12-01"}
    assert days["2026-11-02"] == (10.0,) and len(days) > len(snapped)
    assert all(math.isnan(v[0]) for d, v in days.items() if d not in snapped)
    assert wide("month") == {"2026-11": (6.0, 264.0, 10.0), "2026-12": (3.0, 36.0, 2.0)}
    assert wide("quarter") == {"2026-Q4": (5.0, 300.0, 12.0)}
    assert wide("year") == {"2026": (5.0, 300.0, 12.0)}
    assert wide("month", ["ending"]) == {"2026-11": (6.0,), "2026-12": (3.0,)}


def test_tables_without_their_optional_columns(proj: Path) -> None:
    """A warehouse written without optional columns (orders without ship, promised-ship and discount columns;
    refunds and fees without order id and SKU; ads without SKU and ad orders; inventory without age
    columns): each figure falls back instead of failing.

    - Refunds and fees without an order id stay on their own dates on the order basis: S1's refund 10
      (11-15) in November, S2's 30 (12-02) in December; referral S1 October 22.5, November 15 + 12 = 27.
      When only the fees lack it, the refunds still take their order's date: November S1 10, S2 30.
    - No ship date: no line is late (S1 October 0 of 2 shipped lines, November 0 of 2; S2 0 of 1, 0 of 2);
      no discount column: discounts 0. S2's December has only the refund: GMV 0, lateness 0 of 0 unknown.
    - Posted GMV without ship dates: S1 on its settlement postings (October O7 150, November O1 100 + O6 80
      = 180, December O2 80), S2 on the order date (October 160, November 60 + 40 = 100).
    - Ads without SKU: S1 spend October 10, November 20; S2 November 5 (S2 October: no ads, unknown).
    - Inventory without ages: S1's aged units are 0 on its one snapshot (sellable 10 on 11-02).
    """

    t = build_tables()
    t["orders"] = t["orders"].drop(columns=["ship_date", "promised_ship_date", "discounts", "discounts_rc"])
    t["refunds"] = t["refunds"].drop(columns=["order_id", "sku"])
    t["fees"] = t["fees"].drop(columns=["order_id", "sku"])
    t["ads"] = t["ads"].drop(columns=["sku", "asin", "ad_orders"])
    t["inventory"] = _inventory([("A-1", "2026-11-02", 10)]).drop(columns=["age_181_365", "age_365_plus"])
    wh = make_warehouse(proj / "wh", tables=t)
    q = {"by": ["store_id"], "start": "2026-10-01", "end": "2026-12-31", "warehouse": wh}
    cols = ["gmv", "refunds", "referral_fees", "late_shipment_rate", "discounts", "ad_spend"]
    assert _rows(compute(cols, **q), cols) == {
        ("S1", "2026-10"): (230.0, 0.0, 22.5, 0.0, 0.0, 10.0),
        ("S1", "2026-11"): (180.0, 10.0, 27.0, 0.0, 0.0, 20.0),
        ("S2", "2026-10"): (160.0, 0.0, None, 0.0, 0.0, None),
        ("S2", "2026-11"): (100.0, 0.0, 0.0, 0.0, 0.0, 5.0),
        ("S2", "2026-12"): (0.0, 30.0, 0.0, None, 0.0, 0.0),
    }
    posted = compute(["gmv", "ad_spend"], basis="posted", **q)
    assert _rows(posted, ["gmv", "ad_spend"]) == {
        ("S1", "2026-10"): (150.0, 0.0), ("S1", "2026-11"): (180.0, 9.0), ("S1", "2026-12"): (80.0, 0.0),
        ("S2", "2026-10"): (160.0, None), ("S2", "2026-11"): (100.0, 5.0)}
    # only the fees lack order ids: refunds still move to their order's date (S2's 30 to November)
    t2 = build_tables()
    t2["fees"] = t2["fees"].drop(columns=["order_id"])
    wh2 = make_warehouse(proj / "wh2", tables=t2)
    nov = compute(["refunds", "referral_fees"], by=["store_id"], start="2026-11", end="2026-11", warehouse=wh2)
    assert _rows(nov, ["refunds", "referral_fees"]) == {("S1", "2026-11"): (10.0, 27.0), ("S2", "2026-11"): (30.0, 0.0)}
    (proj / "kpis.yaml").write_text(INVENTORY_KPIS, encoding="utf-8")
    aged = compute_long(["aged", "ending"], catalog=load_catalog(proj / "kpis.yaml"), start="2026-11-01",
                        end="2026-11-30", filters={"store_id": "S1"}, warehouse=wh)
    assert dict(zip(aged["kpi"], aged["value"])) == {"aged": 0.0, "ending": 10.0}


def test_grains_in_one_query_with_contracts_defaults_and_one_store_set(proj: Path) -> None:
    """``compute_long_grains`` on its defaults (order basis, monthly) with a contract grain and a catalog
    passed in: the same rows as separate ``compute_long`` calls. Contract C-1 covers S2 only.

    November, asked as month labels (from the first of the start month to the last of the end month):
    GMV S1 180, S2 100; SKUs sold S1 A-1, B-1, S2 A-1, X-9 of 3 listed per store; ``gmv_twice`` = 2 × GMV;
    inventory snapshot dates (distinct at the grain, not summed over stores): S1 11-02 and 11-03, S2 11-03.
    - company: GMV 280, 560, active SKUs (4, 6), 2 dates; C-1: 100, 200, (2, 3), 1 date; team T1 (S1, and
      S2 until 11-15: O4 60): 240, 480, sold S1's 2 + S2's A-1 of 3 + 3 listed: (3, 6), 2 dates.
    - T1 by quarter from November: 240 in 2026-Q4. A month without data: no rows, the columns.
    - calendar days of November up to the 20th: 20 (the range's end, not the data's last order, 11-25).
    October (S1 230, S2 160): every store: company 390, C-1 160, T1 390; ``complete_for="net_profit"``
    (S2 has no fee or ad row in October): company 230 (1 of 2 stores), C-1 unknown (0 of 1), T1 230 (1 of 2).
    """

    t = build_tables()
    t["inventory"] = pd.concat([_inventory([("A-1", "2026-11-02", 5), ("A-1", "2026-11-03", 4)]),
                                _inventory([("A-1", "2026-11-03", 9)]).assign(store_id="S2")], ignore_index=True)
    wh = make_warehouse(proj / "wh", tables=t)
    (proj / "kpis.yaml").write_text(
        "kpis:\n  - {id: gmv_twice, zh: 两倍, en: Twice, unit: money, direction: up, formula: gmv * 2}\n"
        "  - {id: snapshot_days, zh: 盘点日, en: Snapshot days, unit: count, direction: up, formula: inventory_dates}\n"
        "  - {id: days_in, zh: 天数, en: Days, unit: count, direction: up, formula: calendar_days}\n",
        encoding="utf-8")
    cat = load_catalog(proj / "kpis.yaml")
    grains = {"company": None, "contract": "contract_id", "team": "team_id"}
    kpis = ["gmv", "gmv_twice", "active_sku_rate", "snapshot_days"]
    nov = {"start": "2026-11", "end": "2026-11", "warehouse": wh, "catalog": cat}
    got = compute_long_grains(kpis, grains, **nov)
    want = {"company": [280.0, 560.0, 4.0, 6.0, 2.0], "contract": [100.0, 200.0, 2.0, 3.0, 1.0],
            "team": [240.0, 480.0, 3.0, 6.0, 2.0]}
    for name, d in grains.items():
        g = got[name]
        if d:
            g = g[g[d] == ("C-1" if d == "contract_id" else "T1")]
        assert g["period"].unique().tolist() == ["2026-11"], name
        v = g.set_index("kpi")
        assert [v.loc["gmv", "value"], v.loc["gmv_twice", "value"], v.loc["active_sku_rate", "numerator"],
                v.loc["active_sku_rate", "denominator"], v.loc["snapshot_days", "value"]] == want[name], name
        alone = compute_long(kpis, by=[d] if d else [], **nov)
        pd.testing.assert_frame_equal(got[name].reset_index(drop=True), alone, check_dtype=False, obj=name)
    days = compute_long_grains(["gmv", "days_in"], {"company": None}, start="2026-11-01", end="2026-11-20",
                               warehouse=wh, catalog=cat)["company"]
    assert days.loc[days["kpi"] == "days_in", "value"].tolist() == [20.0]
    q4 = compute_long_grains(["gmv"], {"team": "team_id"}, period="quarter", **nov)["team"]
    assert q4.loc[q4["team_id"] == "T1", ["period", "value"]].values.tolist() == [["2026-Q4", 240.0]]
    empty = compute_long_grains(["gmv"], {"company": None, "store": "store_id"}, start="2027-03", end="2027-03",
                                warehouse=wh)
    assert empty["company"].empty and list(empty["company"].columns) == LONG_COLUMNS
    assert empty["store"].empty and list(empty["store"].columns) == ["store_id", *LONG_COLUMNS]
    octo = {"start": "2026-10-01", "end": "2026-10-31", "warehouse": wh}
    expect = {None: {"company": (390.0, 2, 2), "contract": (160.0, 1, 1), "team": (390.0, 2, 2)},
              "net_profit": {"company": (230.0, 1, 2), "contract": (None, 0, 1), "team": (230.0, 1, 2)}}
    for cf, want_o in expect.items():
        got = compute_long_grains(["gmv"], grains, complete_for=cf, **octo) if cf else \
            compute_long_grains(["gmv"], grains, **octo)
        for name, d in grains.items():
            row = got[name].iloc[0]
            value = None if pd.isna(row["value"]) else float(row["value"])
            assert (value, int(row["stores_covered"]), int(row["stores_total"])) == want_o[name], (cf, name)
            alone = compute_long(["gmv"], by=[d] if d else [], complete_for=cf, **octo)
            pd.testing.assert_frame_equal(got[name].reset_index(drop=True), alone, check_dtype=False, obj=name)
        assert got["contract"]["contract_id"].tolist() == ["C-1"]
    # an additive KPI has no denominator: a float column of NaN (as the ratios' denominators), not objects
    assert str(got["company"]["denominator"].dtype) == "float64" and got["company"]["denominator"].isna().all()


def test_a_warehouse_without_reference_tables(proj: Path) -> None:
    """No stores, SKUs, SKU costs or listings (only facts were loaded). October sold 390 (S1 230, S2 160),
    6 units (O7 3, O6 1, O8 2):
    - by platform or category every row has no platform / category: one row of 390 and 6 units; a
      platform filter matches nothing;
    - no SKU has a unit cost: every line is uncosted (share 1.0) and COGS is unknown (no store has costs),
      never 0;
    - the grains query reads no store table: its platform row equals the separate call's.
    """

    t = build_tables()
    for name in ("stores", "skus", "sku_costs", "listings"):
        del t[name]
    wh = make_warehouse(proj / "wh", tables=t)
    octo = {"start": "2026-10-01", "end": "2026-10-31", "warehouse": wh}
    for dim in ("platform", "category"):
        got = compute(["gmv", "units"], by=[dim], **octo)
        assert got[dim].isna().all() and got[["gmv", "units"]].values.tolist() == [[390.0, 6.0]], dim
    assert compute("gmv", by=["platform"], filters={"platform": "amazon"}, **octo).empty
    costs = compute(["uncosted_share", "cogs"], **octo).iloc[0]
    assert costs["uncosted_share"] == 1.0 and math.isnan(costs["cogs"])
    both = compute_long_grains(["gmv"], {"platform": "platform", "marketplace": "marketplace"}, **octo)
    assert both["marketplace"]["marketplace"].isna().all() and both["marketplace"]["value"].tolist() == [390.0]
    grains = both["platform"]
    alone = compute_long(["gmv"], by=["platform"], **octo)
    # no platform is NaN in the grains query and None in the separate one: both missing
    assert grains["platform"].isna().all() and alone["platform"].isna().all()
    pd.testing.assert_frame_equal(grains.drop(columns="platform").reset_index(drop=True),
                                  alone.drop(columns="platform"), check_dtype=False)
    assert grains["value"].tolist() == [390.0]


def test_a_warehouse_without_orders_lists_this_month(proj: Path) -> None:
    """No orders at all: with no range asked the data range is this month up to today, so the listed SKUs
    (2 stores × 3, all listed since 2025) are counted in this month's row: 0 sold of 6 listed."""
    t = build_tables()
    del t["orders"]
    wh = make_warehouse(proj / "wh", tables=t)
    got = compute_long("active_sku_rate", warehouse=wh)
    today = dt.date.today()
    assert got[["period", "numerator", "denominator", "value"]].values.tolist() == [
        [today.strftime("%Y-%m"), 0.0, 6.0, 0.0]]
    # the range itself: from the month's first day (a listing counted on the 1st is in it) to today
    from kpi_lib import metrics

    con = duckdb.connect()
    con.execute("CREATE TABLE orders (order_date DATE)")
    assert metrics._data_range(con) == (today.replace(day=1), today)


def test_a_stored_coverage_table_decides_completeness(proj: Path) -> None:
    """When ingest wrote a ``coverage`` table the engine reads it instead of rebuilding it. The stored table
    here says S1 had no ads in November (its ads row is there, but the coverage of record lacks it) and
    writes its months as dates: S1's November ACoS is unknown, missing ads, 0 of 1 store; S2's is
    5 / 20 = 0.25; the company's is S2's alone (1 of 2 stores). The same warehouse before the table was
    written (another snapshot): S1's ACoS 20 / 60 (coverage is cached per snapshot, not per process).

    ``coverage_matrix`` on its own (no connection given), from the fixture's tables: S1 has orders, fees
    and ads in October and November, S2 orders only in October and all three in November; nobody has
    traffic or inventory; every sold line has a unit cost (A-1 from sku_costs, B-1 and X-9 from skus)."""
    wh = make_warehouse(proj / "wh")
    m = coverage_matrix(wh)
    got = {(r.store_id, r.month): tuple(bool(getattr(r, x)) for x in coverage.SOURCES) for r in m.itertuples()}
    assert coverage.SOURCES == ("orders", "fees", "ads", "traffic", "inventory", "costs")
    assert got == {("S1", "2026-10"): (True, True, True, False, False, True),
                   ("S1", "2026-11"): (True, True, True, False, False, True),
                   ("S2", "2026-10"): (True, False, False, False, False, True),
                   ("S2", "2026-11"): (True, True, True, False, False, True)}
    nov = {"start": "2026-11-01", "end": "2026-11-30", "warehouse": wh}
    before = compute_long_grains("acos", {"store": "store_id"}, **nov)["store"].set_index("store_id")
    assert before.loc["S1", "value"] == pytest.approx(20 / 60) and before.loc["S1", "complete"]
    assert compute_long("acos", by=["store_id"], **nov).set_index("store_id").loc["S1", "value"] \
        == pytest.approx(20 / 60)
    con = wh.connect()
    try:
        cov = coverage.build_coverage(con)
    finally:
        con.close()
    cov = cov[~((cov["store_id"] == "S1") & (cov["month"] == "2026-11") & (cov["source"] == "ads"))].copy()
    cov["month"] = pd.to_datetime(cov["month"] + "-01")
    with wh.transaction("coverage") as w:
        w.write("coverage", cov, partition_by=())
    grains = compute_long_grains("acos", {"store": "store_id"}, **nov)["store"].set_index("store_id")
    assert math.isnan(grains.loc["S1", "value"]) and grains.loc["S1", "missing"] == "ads"
    st = compute_long("acos", by=["store_id"], **nov).set_index("store_id")
    assert math.isnan(st.loc["S1", "value"]) and (st.loc["S1", "missing"], st.loc["S1", "stores_covered"]) == ("ads", 0)
    assert (st.loc["S2", "value"], st.loc["S2", "missing"], st.loc["S2", "stores_covered"]) == (0.25, "", 1)
    co = compute_long("acos", **nov).iloc[0]
    assert (co["value"], co["stores_covered"], co["stores_total"]) == (0.25, 1, 2)


def test_skus_without_ad_rows_and_a_store_missing_from_the_stores_table(proj: Path) -> None:
    """By SKU, ad spend in November: A-1 has ads (S1 20 + S2 5 = 25); B-1 (O2, S1) and X-9 (O5, S2) sold
    without any ad row, so they show with 0 spend (their stores have ads that month), not as one row
    without a SKU. Referral fees by SKU on the posted basis: A-1 15 (O1), B-1 12 (O6's fee of 11-02), X-9 0;
    the fees without a SKU (storage, advertising, other, duty) make a row without a SKU: 0 referral.
    Refunds by SKU (order basis; refunds need no coverage source, so only SKUs with refund rows): A-1 S1's
    10 + S2's 30 = 40.
    Posted ad spend by SKU, with one more S1 advertising fee of 2 for B-1 on 11-16: S1 is invoiced, so its
    ads rows count 0 and its fees count by their SKU: A-1 0 + S2's 5 = 5, B-1 2, X-9 0, no SKU 9.

    A store S3 that sold 10 on 11-12 but is missing from the stores table has no platform or marketplace:
    its row stays (amazon 180, shopee 100, none 10), in the grains query as in the separate call.
    """
    t = build_tables()
    t["orders"] = pd.concat([t["orders"], pd.DataFrame([_order("S1", "O11", "A-1", "2026-11-12", 1, 10.0,
                                                               ship="2026-11-12")]).assign(store_id="S3")],
                            ignore_index=True)
    t["fees"] = pd.concat([t["fees"], pd.DataFrame([_fee("S1", "2026-11-16", None, "B-1", "advertising", 2.0)])],
                          ignore_index=True)
    wh = make_warehouse(proj / "wh", tables=t)
    nov = {"start": "2026-11-01", "end": "2026-11-30", "warehouse": wh}
    by_sku = compute("ad_spend", by=["sku"], filters={"store_id": ["S1", "S2"]}, **nov)
    assert dict(zip(by_sku["sku"], by_sku["ad_spend"])) == {"A-1": 25.0, "B-1": 0.0, "X-9": 0.0}
    fees = compute("referral_fees", by=["sku"], basis="posted", filters={"store_id": ["S1", "S2"]}, **nov)
    assert {(None if pd.isna(k) else k): v for k, v in zip(fees["sku"], fees["referral_fees"])} == {
        "A-1": 15.0, "B-1": 12.0, "X-9": 0.0, None: 0.0}
    refunds = compute("refunds", by=["sku"], filters={"store_id": ["S1", "S2"]}, **nov)
    assert dict(zip(refunds["sku"], refunds["refunds"])) == {"A-1": 40.0}
    ads = compute("ad_spend", by=["sku"], basis="posted", filters={"store_id": ["S1", "S2"]}, **nov)
    assert {(None if pd.isna(k) else k): v for k, v in zip(ads["sku"], ads["ad_spend"])} == {
        "A-1": 5.0, "B-1": 2.0, "X-9": 0.0, None: 9.0}
    got = compute_long_grains(["gmv"], {"platform": "platform", "marketplace": "marketplace"}, **nov)
    for d, want in (("platform", {"amazon": 180.0, "shopee": 100.0, None: 10.0}),
                    ("marketplace", {"US": 180.0, "MY": 100.0, None: 10.0})):
        g = got[d]
        assert {(None if pd.isna(k) else k): v for k, v in zip(g[d], g["value"])} == want, d
        alone = compute_long(["gmv"], by=[d], **nov)
        assert {(None if pd.isna(k) else k): v for k, v in zip(alone[d], alone["value"])} == want, d


def test_cost_join_on_its_own_connection() -> None:
    """``cost_join`` as the costs module calls it (no table list: it reads the connection's tables).

    sku_costs: A-1 8 (first leg 2) from 2026-01-01, 12 (first leg 2) from 11-16. skus: A-1 10, B-1 20; a
    first-leg column (B-1 3) and a duty column (A-1 10 %, B-1 unknown) only in the second case. Z-0 has no
    cost anywhere: NULL, never 0.
    - without first-leg and duty columns in skus: A-1 on 11-15 (8, 2, 0), on 11-16 (12, 2, 0); B-1 (20, NULL,
      0); Z-0 (NULL, NULL, 0);
    - with them: A-1 (8, 2, 0.1), (12, 2, 0.1); B-1 (20, 3, 0: an unknown duty rate is 0); Z-0 (NULL, NULL, 0).
    - with no cost table at all: NULL cost and first leg, duty 0.
    """
    con = duckdb.connect()
    con.execute("CREATE TABLE f AS SELECT * FROM (VALUES ('A-1', DATE '2026-11-15', 1), ('A-1', DATE '2026-11-16', 2), "
                "('B-1', DATE '2026-11-15', 3), ('Z-0', DATE '2026-11-15', 4)) t(sku, d, n)")

    def rows() -> list[tuple]:
        join, c, fl, duty = cost_join(con, "f", "f.d")
        return [tuple(r) for r in con.execute(f"SELECT {c}, {fl}, {duty} FROM f {join} ORDER BY f.n").fetchall()]

    assert rows() == [(None, None, 0.0)] * 4
    con.execute("CREATE TABLE sku_costs AS SELECT * FROM (VALUES ('A-1', DATE '2026-01-01', 8.0, 2.0), "
                "('A-1', DATE '2026-11-16', 12.0, 2.0)) t(sku, valid_from, unit_cogs, first_leg_cost)")
    con.execute("CREATE TABLE skus AS SELECT * FROM (VALUES ('A-1', 10.0), ('B-1', 20.0)) t(sku, unit_cogs)")
    assert rows() == [(8.0, 2.0, 0.0), (12.0, 2.0, 0.0), (20.0, None, 0.0), (None, None, 0.0)]
    con.execute("CREATE OR REPLACE TABLE skus AS SELECT * FROM (VALUES ('A-1', 10.0, 1.0, 0.1), "
                "('B-1', 20.0, 3.0, NULL)) t(sku, unit_cogs, first_leg_cost, duty_rate)")
    assert rows() == [(8.0, 2.0, 0.1), (12.0, 2.0, 0.1), (20.0, 3.0, 0.0), (None, None, 0.0)]


def test_quotes_in_filter_values_and_excluded_stores(proj: Path) -> None:
    """A value with a quote is a value, not SQL. A store ``S'3`` sold 10 on 11-12 (November: 280 + 10 = 290):
    filtering on it gives its 10, excluding its days leaves 280; a store named ``S1' OR 'x'='x`` matches no
    store (no rows) and excluding it excludes nothing."""
    t = build_tables()
    t["orders"] = pd.concat([t["orders"], pd.DataFrame([_order("S1", "O12", "A-1", "2026-11-12", 1, 10.0,
                                                               ship="2026-11-12")]).assign(store_id="S'3")],
                            ignore_index=True)
    wh = make_warehouse(proj / "wh", tables=t)
    nov = {"start": "2026-11", "end": "2026-11", "warehouse": wh}
    assert compute("gmv", **nov)["gmv"].tolist() == [290.0]
    assert compute("gmv", filters={"store_id": "S'3"}, **nov)["gmv"].tolist() == [10.0]
    assert compute("gmv", exclude=[("S'3", "2026-11-01", "2026-11-30")], **nov)["gmv"].tolist() == [280.0]
    odd = "S1' OR 'x'='x"
    assert compute("gmv", filters={"store_id": odd}, **nov).empty
    assert compute("gmv", exclude=[(odd, "2026-11-01", "2026-11-30")], **nov)["gmv"].tolist() == [290.0]


def test_inventory_weeks_without_a_snapshot_or_without_the_table(proj: Path) -> None:
    """A week or day needs a snapshot of its own (coverage is per month). S1's snapshots: A-1 on 11-02 (10
    units) and 11-30 (4). Weeks 45 (11-02..08) and 49 (11-30..12-06) read 10 and 4; weeks 47 and 48 have
    orders (11-20, 11-25) and no snapshot: unknown, missing "inventory" (week 46 has neither: no row). The grains query (store and company rows in one) gives
    the same rows as the separate calls. A warehouse whose inventory was never loaded (an empty view):
    every week unknown."""

    t = build_tables()
    t["inventory"] = _inventory([("A-1", "2026-11-02", 10), ("A-1", "2026-11-30", 4)])
    wh = make_warehouse(proj / "wh", tables=t)
    (proj / "kpis.yaml").write_text(INVENTORY_KPIS, encoding="utf-8")
    cat = load_catalog(proj / "kpis.yaml")
    q = {"period": "week", "start": "2026-11-02", "end": "2026-12-06", "catalog": cat, "warehouse": wh}
    alone = compute_long(["ending"], by=["store_id"], filters={"store_id": "S1"}, **q).set_index("period")
    assert alone.loc["2026-W45", "value"] == 10.0 and alone.loc["2026-W49", "value"] == 4.0
    assert "2026-W46" not in alone.index
    for w in ("2026-W47", "2026-W48"):
        assert math.isnan(alone.loc[w, "value"]) and alone.loc[w, "missing"] == "inventory", w
    grains = compute_long_grains(["ending"], {"store": "store_id"}, **q)["store"]
    g1 = grains[grains["store_id"] == "S1"].set_index("period")
    pd.testing.assert_series_equal(g1["value"], alone["value"], check_names=False)
    assert g1["missing"].tolist() == alone["missing"].tolist()

    del t["inventory"]
    bare = make_warehouse(proj / "wh2", tables=t)
    for got in (compute_long(["ending"], by=["store_id"], **{**q, "warehouse": bare}),
                compute_long_grains(["ending"], {"store": "store_id"}, **{**q, "warehouse": bare})["store"]):
        assert len(got) and got["value"].isna().all() and (got["missing"] == "inventory").all()


def test_two_dimensions_and_two_filters_in_one_statement(proj: Path) -> None:
    """By platform × category (two joins: stores and SKUs) and filtered on both (two conditions). November GMV:
    amazon A 100 (O1), amazon B 80 (O2), shopee A 60 (O4), shopee X 40 (O5; O3 is cancelled); shopee × A alone 60."""
    wh = make_warehouse(proj / "wh", tables=build_tables())
    nov = {"start": "2026-11", "end": "2026-11", "warehouse": wh}
    got = compute("gmv", by=["platform", "category"], **nov)
    assert got[["platform", "category", "gmv"]].values.tolist() == [
        ["amazon", "A", 100.0], ["amazon", "B", 80.0], ["shopee", "A", 60.0], ["shopee", "X", 40.0]]
    assert compute("gmv", filters={"platform": "shopee", "category": "A"}, **nov)["gmv"].tolist() == [60.0]
