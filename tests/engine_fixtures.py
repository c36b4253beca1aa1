"""A small deterministic canonical warehouse for the KPI engine tests.

Three stores (two mature, one launched 2026-01-15), 12 SKUs in 3 categories, daily facts from
2025-01-01 to 2026-03-31, an SKU cost change on 2025-07-01, and person P3 who moves from team T1
(store A-US-01) to team T2 (store S-MY-01) on 2025-06-16 (mid-month).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kpi_lib.warehouse import Warehouse

START = pd.Timestamp("2025-01-01")
END = pd.Timestamp("2026-03-31")
STORES = pd.DataFrame({
    "store_id": ["A-US-01", "S-MY-01", "N-US-02"],
    "store_name": ["Amazon US 1", "Shopee MY 1", "Amazon US 2"],
    "platform": ["amazon", "shopee", "amazon"],
    "marketplace": ["US", "MY", "US"],
    "currency": ["USD", "MYR", "USD"],
    "timezone": ["America/Los_Angeles", "Asia/Kuala_Lumpur", "America/Los_Angeles"],
    "launch_date": pd.to_datetime(["2023-01-01", "2023-06-01", "2026-01-15"]),
    "team_id": ["T1", "T2", "T2"],
})
CATS = ["HK", "TL", "PT"]
SKUS = [f"{c}-{1000 + i}" for c in CATS for i in range(4)]
FX = {"USD": 7.1, "MYR": 1.6}


def _dates(store: str) -> pd.DatetimeIndex:
    launch = STORES.set_index("store_id").loc[store, "launch_date"]
    return pd.date_range(max(START, launch), END, freq="D")


def build_tables(seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    price = {s: float(10 + 5 * i) for i, s in enumerate(SKUS)}
    skus = pd.DataFrame({
        "sku": SKUS, "name": [f"Item {s}" for s in SKUS], "category": [s[:2] for s in SKUS],
        "unit_cogs": [price[s] * 2.0 for s in SKUS], "first_leg_cost": [3.0 + i % 3 for i in range(len(SKUS))],
        "duty_rate": [0.05 if s.startswith("HK") else 0.0 for s in SKUS], "cost_currency": "CNY",
    })
    sku_costs = pd.concat([
        pd.DataFrame({"sku": SKUS, "valid_from": pd.Timestamp("2024-01-01"),
                      "unit_cogs": [price[s] * 2.2 for s in SKUS], "first_leg_cost": 4.0}),
        pd.DataFrame({"sku": SKUS[:6], "valid_from": pd.Timestamp("2025-07-01"),
                      "unit_cogs": [price[s] * 2.5 for s in SKUS[:6]], "first_leg_cost": 5.0}),
    ], ignore_index=True)
    months = pd.period_range(START - pd.offsets.MonthBegin(1), END, freq="M").strftime("%Y-%m")
    fx = pd.DataFrame([(m, c, r) for m in months for c, r in [("USD", 7.1), ("MYR", 1.6), ("CNY", 1.0)]],
                      columns=["month", "currency", "rate"])
    orders, fees, refunds, ads, traffic, inv, tickets, acts = [], [], [], [], [], [], [], []
    statuses = np.array(["delivered", "shipped", "pending", "cancelled", "returned"])
    for st in STORES.itertuples():
        days = _dates(st.store_id)
        n = len(days)
        cur, rate = st.currency, FX[st.currency]
        season = 1 + 0.3 * np.sin(np.arange(n) / 365 * 2 * np.pi) + (days.month == 11) * 0.5
        k = rng.poisson(4 * season)
        od = np.repeat(days.values, k)
        m = len(od)
        sku = rng.choice(SKUS, m)
        qty = rng.integers(1, 4, m)
        gs = np.array([price[s] for s in sku]) * qty
        status = statuses[rng.choice(5, m, p=[0.55, 0.25, 0.05, 0.08, 0.07])]
        oid = [f"{st.store_id}-O{i:06d}" for i in range(m)]
        # two-line orders: every 5th line joins the previous order
        for i in range(1, m, 5):
            if od[i] == od[i - 1]:
                oid[i] = oid[i - 1]
        line = [f"L{i}" for i in range(m)]
        ship_delay = rng.integers(0, 4, m)
        shipped = np.isin(status, ["delivered", "shipped", "returned"])
        ship_date = np.where(shipped, od + ship_delay.astype("timedelta64[D]"), np.datetime64("NaT"))
        prom = od + np.timedelta64(2, "D")
        prom = np.where(rng.random(m) < 0.1, np.datetime64("NaT"), prom)
        o = pd.DataFrame({
            "platform": st.platform, "store_id": st.store_id, "marketplace": st.marketplace, "order_id": oid,
            "line_id": line, "sku": sku, "order_date": od, "order_ts": od, "status": status, "quantity": qty,
            "currency": cur, "gross_sales": gs, "discounts": 0.0, "tax": 0.0, "shipping_charged": 0.0,
            "fulfillment_channel": "AFN", "ship_date": pd.to_datetime(ship_date), "promised_ship_date": pd.to_datetime(prom),
            "fx_rate": rate, "gross_sales_rc": gs * rate, "discounts_rc": 0.0, "tax_rc": 0.0, "shipping_charged_rc": 0.0,
        })
        orders.append(o)
        ret = o[o["status"] == "returned"]
        refunds.append(pd.DataFrame({
            "platform": st.platform, "store_id": st.store_id, "date": ret["order_date"] + pd.Timedelta(days=5),
            "order_id": ret["order_id"], "sku": ret["sku"], "quantity": ret["quantity"], "amount": ret["gross_sales"],
            "currency": cur, "reason": "return", "fx_rate": rate, "amount_rc": ret["gross_sales"] * rate,
        }))
        live = o[o["status"] != "cancelled"]
        ftypes = ["referral", "fulfillment", "payment", "shipping_label", "promotion"]
        for j, ft in enumerate(ftypes):
            amt = live["gross_sales"] * (0.15 if ft == "referral" else 0.03) + j * 0.1
            fees.append(pd.DataFrame({
                "platform": st.platform, "store_id": st.store_id, "date": live["order_date"], "order_id": live["order_id"],
                "sku": live["sku"], "fee_type": ft, "description": ft + "-" + live["line_id"], "amount": amt,
                "currency": cur, "fx_rate": rate, "amount_rc": amt * rate,
            }))
        mstarts = pd.date_range(days[0], days[-1], freq="MS")
        for ft, base in [("storage", 40.0), ("long_term_storage", 5.0), ("advertising", 99.0), ("other", 2.0)]:
            fees.append(pd.DataFrame({
                "platform": st.platform, "store_id": st.store_id, "date": mstarts, "order_id": None, "sku": None,
                "fee_type": ft, "description": ft, "amount": base, "currency": cur, "fx_rate": rate, "amount_rc": base * rate,
            }))
        ad_sku = np.tile(SKUS[:3], n)
        ad_day = np.repeat(days.values, 3)
        imp = rng.integers(100, 1000, 3 * n)
        clk = rng.binomial(imp, 0.03)
        spend = clk * 0.5
        sales = spend * rng.uniform(2, 6, 3 * n)
        ads.append(pd.DataFrame({
            "platform": st.platform, "store_id": st.store_id, "date": ad_day, "campaign": "C1", "ad_group": ad_sku,
            "sku": ad_sku, "impressions": imp, "clicks": clk, "spend": spend, "ad_sales": sales, "ad_orders": clk // 10,
            "ad_units": clk // 10, "currency": cur, "fx_rate": rate, "spend_rc": spend * rate, "ad_sales_rc": sales * rate,
        }))
        tr_sku = np.tile(SKUS, n)
        tr_day = np.repeat(days.values, len(SKUS))
        traffic.append(pd.DataFrame({
            "platform": st.platform, "store_id": st.store_id, "date": tr_day, "sku": tr_sku,
            "sessions": rng.integers(0, 30, len(tr_sku)), "page_views": rng.integers(0, 60, len(tr_sku)),
        }))
        sellable = rng.integers(0, 200, len(tr_sku))
        sellable[rng.random(len(tr_sku)) < 0.05] = 0
        inv.append(pd.DataFrame({
            "platform": st.platform, "store_id": st.store_id, "date": tr_day, "sku": tr_sku, "sellable": sellable,
            "inbound": 0, "reserved": 0, "unfulfillable": 0, "age_0_90": sellable // 2, "age_91_180": sellable // 4,
            "age_181_365": sellable // 8, "age_365_plus": sellable // 16,
        }))
        nt = n // 3
        opened = pd.to_datetime(rng.choice(days.values, nt)) + pd.to_timedelta(rng.integers(0, 86400, nt), unit="s")
        resp = opened + pd.to_timedelta(rng.exponential(15, nt) * 3600, unit="s")
        resp = resp.where(rng.random(nt) > 0.1)
        resolved = opened + pd.to_timedelta(rng.exponential(72, nt) * 3600, unit="s")
        kinds = rng.choice(["message", "dispute", "return", "negative_review"], nt)
        tickets.append(pd.DataFrame({
            "store_id": st.store_id, "ticket_id": [f"{st.store_id}-T{i}" for i in range(nt)], "kind": kinds,
            "opened_at": opened, "first_response_at": resp, "resolved_at": resolved, "assignee": "P1",
        }))
        na = n // 2
        acts.append(pd.DataFrame({
            "store_id": st.store_id, "activity_id": [f"{st.store_id}-A{i}" for i in range(na)],
            "date": pd.to_datetime(rng.choice(days.values, na)), "person_id": "P1",
            "kind": rng.choice(["new_listing", "ad_group_optimization", "price_change"], na), "sku": rng.choice(SKUS, na),
        }))
    listings = pd.DataFrame([
        (s.store_id, sku, s.launch_date if s.launch_date > START else pd.Timestamp("2024-06-01"),
         pd.Timestamp("2025-09-30") if sku == SKUS[-1] else pd.NaT)
        for s in STORES.itertuples() for sku in SKUS
    ], columns=["store_id", "sku", "listed_on", "delisted_on"])
    teams = pd.DataFrame({"team_id": ["T1", "T2"], "team_name": ["Team 1", "Team 2"], "team_name_zh": ["一组", "二组"],
                          "lead_person_id": ["P1", "P2"]})
    people = pd.DataFrame({"person_id": ["P1", "P2", "P3", "P4"], "name": ["Ann", "Bo", "Cy", "Di"],
                           "name_zh": ["安", "博", "赛", "迪"], "role": ["manager", "manager", "operator", "ads"],
                           "email": ["a@x", "b@x", "c@x", "d@x"]})
    assignments = pd.DataFrame({
        "person_id": ["P1", "P2", "P2", "P3", "P3", "P4"],
        "team_id": ["T1", "T2", "T2", "T1", "T2", "T1"],
        "store_id": ["A-US-01", "S-MY-01", "N-US-02", "A-US-01", "S-MY-01", "A-US-01"],
        "valid_from": pd.to_datetime(["2024-01-01", "2024-01-01", "2026-01-15", "2024-01-01", "2025-06-16", "2025-03-01"]),
        "valid_to": pd.to_datetime([None, None, None, "2025-06-15", None, None]),
    })
    return {
        "orders": pd.concat(orders, ignore_index=True), "fees": pd.concat(fees, ignore_index=True),
        "refunds": pd.concat(refunds, ignore_index=True), "ads": pd.concat(ads, ignore_index=True),
        "traffic": pd.concat(traffic, ignore_index=True), "inventory": pd.concat(inv, ignore_index=True),
        "tickets": pd.concat(tickets, ignore_index=True), "activities": pd.concat(acts, ignore_index=True),
        "stores": STORES.copy(), "skus": skus, "sku_costs": sku_costs, "fx_rates": fx, "teams": teams,
        "people": people, "assignments": assignments, "listings": listings,
    }


REFERENCE = ("stores", "skus", "sku_costs", "fx_rates", "teams", "people", "assignments", "listings")


def make_warehouse(path: Path, seed: int = 11, overheads: bool = True) -> tuple[Warehouse, dict[str, pd.DataFrame]]:
    """Write the fixture warehouse at ``path``; returns it and the source frames."""
    tables = build_tables(seed)
    wh = Warehouse(path)
    with wh.transaction("engine fixture") as w:
        for name, df in tables.items():
            w.write(name, df, partition_by=() if name in REFERENCE else None)
        if overheads:
            oh = pd.DataFrame([(s, m.strftime("%Y-%m"), 500.0 + 100 * i)
                               for i, s in enumerate(STORES["store_id"])
                               for m in pd.date_range(_dates(s)[0].replace(day=1), END, freq="MS")],
                              columns=["store_id", "month", "amount_rc"])
            tables["overhead_allocations"] = oh
            w.write("overhead_allocations", oh, partition_by=())
    return wh, tables


def make_project(root: Path) -> Path:
    """A project root with parameters/ (workbench.yaml, contracts.yaml) for KPI_ROOT."""
    p = root / "parameters"
    (p / "targets").mkdir(parents=True, exist_ok=True)
    (p / "workbench.yaml").write_text("reporting_currency: CNY\n", encoding="utf-8")
    (p / "contracts.yaml").write_text(
        "contracts:\n  - id: C-1\n    stores: [A-US-01, N-US-02]\n", encoding="utf-8")
    return root
