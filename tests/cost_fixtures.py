"""A tiny hand-computable warehouse for costs, scorecards and settlements.

Amounts are already in the reporting currency (fx_rate 1). November 2026 by order date:

| order | store | sku | date | qty | gross | status | note |
|---|---|---|---|---|---|---|---|
| O1 | S1 | A-1 | 11-05 | 2 | 100 | delivered | refund 10 on 11-15, settled 11-08 |
| O2 | S1 | B-1 | 11-20 | 1 | 80 | shipped | settled 12-01 |
| O3 | S1 | A-1 | 11-25 | 1 | 50 | cancelled | |
| O4 | S2 | A-1 | 11-10 | 1 | 60 | delivered | ship 11-11, refund 30 on 12-02 |
| O5 | S2 | X-9 | 11-20 | 4 | 40 | delivered | ship 11-21 |
| O6 | S1 | B-1 | 10-30 | 1 | 80 | delivered | settled 11-03, referral fee 12 dated 11-02 |
| O7 | S1 | A-1 | 10-10 | 3 | 150 | delivered | |
| O8 | S2 | B-1 | 10-12 | 2 | 160 | delivered | |

SKU costs: A-1 from sku_costs (8 + 2 first-leg from 2026-01-01; 12 from 2026-11-16), duty 10 %;
B-1 from skus (20 + 3); X-9 from skus (5 + 1). Org: P1 (T1, S1, always); P2 on S2 in team T1 until
2026-11-15 and in team T2 from 2026-11-16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from kpi_lib.warehouse import Warehouse

REFERENCE = ("stores", "skus", "sku_costs", "fx_rates", "teams", "people", "assignments", "listings")

# expected waterfall steps for company, 2026-11 (positive amounts = costs)
ORDER_NOV = {
    "gmv": 280.0, "refunds": 40.0, "cogs": 64.0, "first_leg": 13.0, "duties": 2.4, "referral_fees": 15.0,
    "payment_fees": 1.2, "other_platform_fees": 0.5, "fulfillment": 8.0, "storage": 7.0, "long_term_storage": 2.0,
    "advertising": 25.0, "return_processing": 1.5, "promotions": 3.0, "overheads": 45.0, "net_profit": 52.4,
}
POSTED_NOV = {
    "gmv": 280.0, "refunds": 10.0, "cogs": 64.0, "first_leg": 13.0, "duties": 2.4, "referral_fees": 27.0,
    "payment_fees": 1.2, "other_platform_fees": 0.5, "fulfillment": 8.0, "storage": 7.0, "long_term_storage": 2.0,
    "advertising": 14.0, "return_processing": 1.5, "promotions": 3.0, "overheads": 45.0, "net_profit": 81.4,
}


def _d(s: str | None) -> pd.Timestamp:
    return pd.Timestamp(s) if s else pd.NaT


def build_tables() -> dict[str, pd.DataFrame]:
    stores = pd.DataFrame({
        "store_id": ["S1", "S2"], "store_name": ["Store 1", "Store 2"], "platform": ["amazon", "shopee"],
        "marketplace": ["US", "MY"], "currency": ["CNY", "CNY"], "timezone": ["America/Los_Angeles", "Asia/Kuala_Lumpur"],
        "launch_date": pd.to_datetime(["2025-01-01", "2025-01-01"]), "team_id": ["T1", "T1"],
    })
    skus = pd.DataFrame({
        "sku": ["A-1", "B-1", "X-9"], "name": ["a", "b", "x"], "category": ["A", "B", "X"],
        "unit_cogs": [10.0, 20.0, 5.0], "first_leg_cost": [2.0, 3.0, 1.0], "duty_rate": [0.1, 0.0, 0.0],
        "cost_currency": "CNY",
    })
    sku_costs = pd.DataFrame({"sku": ["A-1", "A-1"], "valid_from": pd.to_datetime(["2026-01-01", "2026-11-16"]),
                              "unit_cogs": [8.0, 12.0], "first_leg_cost": [2.0, 2.0]})
    fx = pd.DataFrame({"month": ["2026-09", "2026-10", "2026-11", "2026-12"] * 1, "currency": "CNY", "rate": 1.0})
    o = [
        ("S1", "O1", "A-1", "2026-11-05", 2, 100.0, "delivered", "2026-11-06"),
        ("S1", "O2", "B-1", "2026-11-20", 1, 80.0, "shipped", "2026-11-22"),
        ("S1", "O3", "A-1", "2026-11-25", 1, 50.0, "cancelled", None),
        ("S2", "O4", "A-1", "2026-11-10", 1, 60.0, "delivered", "2026-11-11"),
        ("S2", "O5", "X-9", "2026-11-20", 4, 40.0, "delivered", "2026-11-21"),
        ("S1", "O6", "B-1", "2026-10-30", 1, 80.0, "delivered", "2026-10-31"),
        ("S1", "O7", "A-1", "2026-10-10", 3, 150.0, "delivered", "2026-10-11"),
        ("S2", "O8", "B-1", "2026-10-12", 2, 160.0, "delivered", "2026-10-13"),
    ]
    orders = pd.DataFrame([{
        "platform": "amazon" if s == "S1" else "shopee", "store_id": s, "marketplace": "US" if s == "S1" else "MY",
        "order_id": oid, "line_id": "L1", "sku": sku, "order_date": _d(d), "order_ts": _d(d), "status": st,
        "quantity": q, "currency": "CNY", "gross_sales": g, "discounts": 0.0, "tax": 0.0, "shipping_charged": 0.0,
        "fulfillment_channel": "AFN", "ship_date": _d(sh), "promised_ship_date": _d(sh), "fx_rate": 1.0,
        "gross_sales_rc": g, "discounts_rc": 0.0, "tax_rc": 0.0, "shipping_charged_rc": 0.0,
    } for s, oid, sku, d, q, g, st, sh in o])
    f = [
        ("S1", "2026-11-05", "O1", "A-1", "referral", 15.0),
        ("S1", "2026-11-05", "O1", "A-1", "fulfillment", 6.0),
        ("S1", "2026-11-02", "O6", "B-1", "referral", 12.0),
        ("S2", "2026-11-10", "O4", "A-1", "payment", 1.2),
        ("S2", "2026-11-21", "O5", "X-9", "promotion", 3.0),
        ("S1", "2026-11-30", None, None, "storage", 7.0),
        ("S1", "2026-11-30", None, None, "long_term_storage", 2.0),
        ("S1", "2026-11-15", None, None, "advertising", 9.0),
        ("S1", "2026-11-16", "O1", "A-1", "return_processing", 1.5),
        ("S2", "2026-11-10", "O4", "A-1", "shipping_label", 2.0),
        ("S1", "2026-11-30", None, None, "other", 0.5),
        ("S1", "2026-11-30", None, None, "duty", 4.0),
        ("S1", "2026-10-10", "O7", "A-1", "referral", 22.5),
    ]
    fees = pd.DataFrame([{
        "platform": "amazon" if s == "S1" else "shopee", "store_id": s, "date": _d(d), "order_id": oid, "sku": sku,
        "fee_type": t, "description": f"{t}-{i}", "amount": a, "currency": "CNY", "fx_rate": 1.0, "amount_rc": a,
    } for i, (s, d, oid, sku, t, a) in enumerate(f)])
    refunds = pd.DataFrame([{
        "platform": "amazon" if s == "S1" else "shopee", "store_id": s, "date": _d(d), "order_id": oid, "sku": sku,
        "quantity": 1, "amount": a, "currency": "CNY", "reason": "return", "fx_rate": 1.0, "amount_rc": a,
    } for s, d, oid, sku, a in [("S1", "2026-11-15", "O1", "A-1", 10.0), ("S2", "2026-12-02", "O4", "A-1", 30.0)]])
    ads = pd.DataFrame([{
        "platform": "amazon" if s == "S1" else "shopee", "store_id": s, "date": _d(d), "campaign": "C", "ad_group": "G",
        "sku": sku, "asin": None, "impressions": 1000, "clicks": 10, "spend": sp, "ad_sales": sa, "ad_orders": 1,
        "ad_units": 1, "currency": "CNY", "fx_rate": 1.0, "spend_rc": sp, "ad_sales_rc": sa,
    } for s, d, sku, sp, sa in [("S1", "2026-11-05", "A-1", 20.0, 60.0), ("S2", "2026-11-07", "A-1", 5.0, 20.0),
                                ("S1", "2026-10-05", "A-1", 10.0, 30.0)]])
    sl = [
        ("ST1", "2026-11-08", "Order", "O1", "A-1", 2, "ItemPrice", "Principal", "sales", 100.0),
        ("ST1", "2026-11-08", "Order", "O1", "A-1", None, "ItemFees", "Commission", "fee", -15.0),
        ("ST1", "2026-11-03", "Order", "O6", "B-1", 1, "ItemPrice", "Principal", "sales", 80.0),
        ("ST2", "2026-12-01", "Order", "O2", "B-1", 1, "ItemPrice", "Principal", "sales", 80.0),
        ("ST0", "2026-10-12", "Order", "O7", "A-1", 3, "ItemPrice", "Principal", "sales", 150.0),
    ]
    settlement_lines = pd.DataFrame([{
        "platform": "amazon", "store_id": "S1", "settlement_id": sid, "posted_date": _d(d), "transaction_type": tt,
        "order_id": oid, "sku": sku, "quantity": q, "amount_type": at, "amount_description": ad, "category": cat,
        "amount": a, "currency": "CNY", "fx_rate": 1.0, "amount_rc": a,
    } for sid, d, tt, oid, sku, q, at, ad, cat, a in sl])
    teams = pd.DataFrame({"team_id": ["T1", "T2"], "team_name": ["Team 1", "Team 2"], "team_name_zh": ["一组", "二组"],
                          "lead_person_id": ["P1", "P2"]})
    people = pd.DataFrame({"person_id": ["P1", "P2"], "name": ["Ann", "Bo"], "name_zh": ["安", "博"],
                           "role": ["manager", "operator"], "email": ["a@x", "b@x"]})
    assignments = pd.DataFrame({
        "person_id": ["P1", "P2", "P2"], "team_id": ["T1", "T1", "T2"], "store_id": ["S1", "S2", "S2"],
        "valid_from": pd.to_datetime(["2025-01-01", "2025-01-01", "2026-11-16"]),
        "valid_to": pd.to_datetime([None, "2026-11-15", None]),
    })
    listings = pd.DataFrame([(s, k, pd.Timestamp("2025-01-01"), pd.NaT) for s in ("S1", "S2") for k in ("A-1", "B-1", "X-9")],
                            columns=["store_id", "sku", "listed_on", "delisted_on"])
    return {"orders": orders, "fees": fees, "refunds": refunds, "ads": ads, "settlement_lines": settlement_lines,
            "stores": stores, "skus": skus, "sku_costs": sku_costs, "fx_rates": fx, "teams": teams, "people": people,
            "assignments": assignments, "listings": listings}


def overheads_frame() -> pd.DataFrame:
    return pd.DataFrame({"store_id": ["S1", "S2", "S1"], "month": ["2026-11", "2026-11", "2026-10"],
                         "item": ["x", "x", "x"], "amount_rc": [30.0, 15.0, 30.0]})


def make_warehouse(path: Path, overheads: bool = True, tables: dict[str, pd.DataFrame] | None = None) -> Warehouse:
    """The fixture's warehouse (``tables``: a changed copy of :func:`build_tables`)."""
    wh = Warehouse(path)
    with wh.transaction("cost fixture") as w:
        for name, df in (tables if tables is not None else build_tables()).items():
            w.write(name, df, partition_by=() if name in REFERENCE else None)
        if overheads:
            w.write("overhead_allocations", overheads_frame(), partition_by=())
    return wh


def contract_project(tmp: Path, monkeypatch: Any, contracts: str, targets: str = "") -> Warehouse:
    """A project of ``contracts`` (and a targets file) as ``KPI_ROOT``, without a warehouse of its own, and
    the fixture warehouse beside it: a step that loses its ``warehouse`` argument fails or finds nothing."""
    root = make_project(tmp / "proj", contracts=contracts)
    if targets:
        (root / "parameters" / "targets" / "t.yaml").write_text(targets, encoding="utf-8")
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp / "wh")


def make_project(root: Path, contracts: str = "", scorecards: str = "", overheads: str = "") -> Path:
    """A project root (parameters/ with workbench.yaml and the given YAML texts) for KPI_ROOT."""
    p = root / "parameters"
    (p / "targets").mkdir(parents=True, exist_ok=True)
    (p / "workbench.yaml").write_text("reporting_currency: CNY\n", encoding="utf-8")
    for name, text in (("contracts.yaml", contracts), ("scorecards.yaml", scorecards), ("overheads.yaml", overheads)):
        if text:
            (p / name).write_text(text, encoding="utf-8")
    return root
