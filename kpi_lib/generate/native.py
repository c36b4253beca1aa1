"""Native fee, ads and traffic exports of the non-Amazon demo stores.

Each writer produces a platform's own report layout (column names as the platform's export writes
them; the built-in mappings in ``kpi_lib/ingest/readers/native_mappings/`` name their sources) from
the store's simulated order lines, so that fees, ad spend and sessions follow the store's sales:

One file per calendar quarter (``YYYY-Qn.csv``: sellers export these reports over a date range):

- ``ads/YYYY-Qn.csv``: Shopee Ads product-ad report (SHP-*), Lazada Sponsored Discovery campaign
  report (LZD-TH-01), TikTok Ads Manager custom report by day (TTS-US-01), Meta Ads Manager export
  with a daily breakdown (SFY-US-01: a Shopify store's ads run on Meta). WMT-US-01 has **no** ads
  export on purpose (the demo's one deliberate gap: its ads-based figures are incomplete).
- ``traffic/YYYY-Qn.csv``: Shopee Business Insights key metrics, Lazada Business Advisor, TikTok
  Shop analytics (shop, by day), Shopify "Sessions over time", Walmart Seller Center sales & traffic.
- ``statements/YYYY-Qn.csv`` (TTS-US-01): TikTok Shop finance statement export, one row per settled
  order, fees as negative numbers, ``Total fees`` = the sum of the fee columns.
- ``payments/YYYY-Qn.csv`` (SFY-US-01): Shopify Payments transactions export (charges and refunds;
  ``Fee`` 2.9% + 0.30 per charge, ``Net`` = Amount − Fee).

Cost levels (documented in docs/contracts.md): ads ≈ 8–16% of a store's sales (ACoS by platform),
TikTok referral 6% + transaction 2.9% + seller shipping labels + affiliate commissions, Shopify
Payments 2.9% + 0.30.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import textio as tx
from .common import perm_ids, utc_offset_str, zpad
from .core import STORE_IDS, STORES, World, rng_for

# platform: share of sales attributed to ads, ACoS, cost per click (local currency), CTR
ADS_SHAPE = {
    "shopee": (0.36, 0.26, {"MYR": 0.32, "SGD": 0.14}, 0.028),
    "lazada": (0.30, 0.30, {"THB": 4.2}, 0.022),
    "tiktok": (0.40, 0.28, {"USD": 0.85}, 0.012),
    "shopify": (0.45, 0.42, {"USD": 1.25}, 0.011),
}
# platform: conversion rate (orders / sessions), page views per session
TRAFFIC_SHAPE = {"shopee": (0.026, 2.4), "lazada": (0.021, 2.2), "tiktok": (0.017, 1.6), "shopify": (0.022, 3.1),
                 "walmart": (0.045, 2.0)}

SHOPEE_ADS_HEADER = ["Sequence", "Date", "Ad Name", "Status", "Ads Type", "Product ID", "Bidding Method", "Placement",
                     "Impression", "Clicks", "CTR", "Conversions", "Direct Conversions", "Conversion Rate",
                     "Cost per Conversion", "Items Sold", "Direct Items Sold", "GMV", "Direct GMV", "Expense", "ROAS",
                     "ACOS"]
LAZADA_ADS_HEADER = ["Date", "Campaign Name", "Campaign ID", "Campaign Type", "Impression", "Clicks", "CTR", "Spend",
                     "Avg. CPC", "Revenue", "Orders", "Unit Sold", "ROI"]
TIKTOK_ADS_HEADER = ["Campaign name", "Campaign ID", "Ad group name", "Ad group ID", "By Day", "Currency", "Cost",
                     "Impressions", "Clicks (destination)", "CTR (destination)", "CPC (destination)", "Conversions",
                     "Cost per conversion", "Total purchase value", "Purchase ROAS"]
META_ADS_HEADER = ["Campaign name", "Ad set name", "Day", "Amount spent (USD)", "Impressions", "Link clicks",
                   "CPC (cost per link click) (USD)", "Purchases", "Purchases conversion value", "Reporting starts",
                   "Reporting ends"]
SHOPEE_TRAFFIC_HEADER = ["Date", "Sales", "Orders", "Sales per Order", "Product Clicks", "Visitors",
                         "Order Conversion Rate", "Cancelled Orders", "Buyers"]
LAZADA_TRAFFIC_HEADER = ["Date", "Visitors", "Page Views", "Buyers", "Orders", "Units Sold", "Revenue",
                         "Conversion Rate"]
TIKTOK_TRAFFIC_HEADER = ["Date", "GMV", "Orders", "Items sold", "Visitors", "Page views", "Conversion rate", "Customers"]
SHOPIFY_TRAFFIC_HEADER = ["Day", "Online store visitors", "Sessions", "Sessions with cart additions",
                          "Sessions that reached checkout", "Sessions that completed checkout", "Conversion rate"]
WALMART_TRAFFIC_HEADER = ["Date", "GMV", "Orders", "Units Sold", "Page Views", "Unique Visitors", "Conversion Rate"]
TIKTOK_STATEMENT_HEADER = [
    "Order/adjustment ID", "Type", "Order created time", "Order settled time", "Currency", "Total settlement amount",
    "Total revenue", "Subtotal after seller discounts", "Subtotal before discounts", "Seller discounts",
    "Refund subtotal after seller discounts", "Total fees", "Transaction fee", "TikTok Shop commission fee",
    "Seller shipping fee", "Affiliate commission", "Affiliate Shop Ads commission", "SFP service fee",
    "Customer payment", "Customer refund", "Platform discounts", "Sales tax payment", "Related order ID"]
TIKTOK_FEE_COLUMNS = ["Transaction fee", "TikTok Shop commission fee", "Seller shipping fee", "Affiliate commission",
                      "Affiliate Shop Ads commission", "SFP service fee"]
SHOPIFY_PAYMENTS_HEADER = ["Transaction Date", "Type", "Order", "Card Brand", "Card Source", "Payout Status",
                           "Payout Date", "Available On", "Amount", "Fee", "Net", "Currency"]


def _store(store_id: str) -> tuple[int, tuple]:
    si = STORE_IDS.index(store_id)
    return si, STORES[si]


def _daily(world: World, lines: pd.DataFrame) -> pd.DataFrame:
    """Per day of the period: net item sales, orders, units and buyers of non-cancelled lines."""
    days = world.period.days
    ok = lines["status"].to_numpy() != "cancelled"
    d = lines["day"].to_numpy().astype("datetime64[D]")
    idx = ((d - days[0]).astype(np.int64))[ok]
    n = len(days)
    sales = np.bincount(idx, weights=(lines["item_price"].to_numpy() - lines["promo"].to_numpy())[ok], minlength=n)
    units = np.bincount(idx, weights=lines["qty"].to_numpy()[ok], minlength=n)
    first = (lines["line_no"].to_numpy() == 1)[ok]
    orders = np.bincount(idx[first], minlength=n)
    cancelled = np.bincount(((d - days[0]).astype(np.int64))[(~ok) & (lines["line_no"].to_numpy() == 1)], minlength=n)
    return pd.DataFrame({"day": days, "sales": np.round(sales, 2), "units": units.astype(np.int64),
                         "orders": orders.astype(np.int64), "cancelled": cancelled.astype(np.int64)})


def _active(world: World, store_id: str, daily: pd.DataFrame) -> pd.DataFrame:
    return daily[daily["day"].to_numpy() >= world.launch[store_id]].reset_index(drop=True)


def quarter_of(day: np.ndarray) -> np.ndarray:
    """Calendar quarter labels ('2026-Q3') of days: the native exports cover one quarter per file."""
    m = np.asarray(day).astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return np.char.add(np.char.add((1970 + m // 12).astype(str), "-Q"), (m % 12 // 3 + 1).astype(str))


def quarter_bounds(day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last day of each day's calendar quarter."""
    m = np.asarray(day).astype("datetime64[M]").astype(np.int64)
    q0 = (m - m % 3).astype("datetime64[M]")
    return q0.astype("datetime64[D]"), (q0 + 3).astype("datetime64[D]") - np.timedelta64(1, "D")


def _write_months(world: World, path_of: callable, frame: pd.DataFrame, day_col: str, header: list[str],
                  cols: dict, pre: callable | None = None) -> list[Path]:
    """One file per calendar quarter of ``frame`` (rows already in file order), named ``YYYY-Qn.csv``:
    sellers export these reports over a date range, and fewer, larger files keep the ingest fast."""
    files = []
    cols = {c: (v if isinstance(v, str) else _text(v)) for c, v in cols.items()}
    day = frame[day_col].to_numpy().astype("datetime64[D]")
    q = quarter_of(day)
    for label in dict.fromkeys(q.tolist()):
        idx = np.flatnonzero(q == label)
        colv = [np.full(len(idx), cols[c], dtype=object) if isinstance(cols[c], str)
                else np.asarray(cols[c], dtype=object)[idx] for c in header]
        path = path_of(label)
        if pre:  # report lines before the header (the header itself is the preamble's last line)
            a = max(quarter_bounds(day[idx[:1]])[0][0], world.period.start_date)
            b = min(quarter_bounds(day[idx[:1]])[1][0], world.period.end_date)
            tx.write_delimited(path, None, colv, ",", pre=[*pre(a, b), ",".join(header)])
        else:
            tx.write_delimited(path, header, colv, ",")
        files.append(path)
    return files


# ---- ads -----------------------------------------------------------------------------------------


def _ads_rows(world: World, store_id: str, lines: pd.DataFrame, units: list[tuple[str, float]]) -> pd.DataFrame:
    """Daily rows per ad unit (campaign or product): spend, ad sales, clicks, impressions, orders, units."""
    si, s = _store(store_id)
    platform, cur = s[2], s[4]
    share, acos, cpc_map, ctr = ADS_SHAPE[platform]
    cpc = cpc_map[cur]
    r = rng_for(world.seed, 200, si)
    daily = _active(world, store_id, _daily(world, lines))
    nd, nu = len(daily), len(units)
    w = np.array([u[1] for u in units])[None, :] * np.exp(r.normal(0, 0.25, (nd, nu)))
    w = w / w.sum(axis=1, keepdims=True)
    attributed = daily["sales"].to_numpy()[:, None] * share * w * np.exp(r.normal(0, 0.15, (nd, nu)))
    acos_u = acos * np.exp(r.normal(0, 0.22, (nd, nu)))
    spend = np.round(attributed * acos_u, 2)
    ad_sales = np.round(attributed, 2)
    clicks = np.maximum(np.round(spend / (cpc * np.exp(r.normal(0, 0.15, (nd, nu))))), 0).astype(np.int64)
    impressions = np.round(clicks / (ctr * np.exp(r.normal(0, 0.2, (nd, nu))))).astype(np.int64) + clicks
    aov = np.where(daily["orders"].to_numpy() > 0, daily["sales"].to_numpy() / np.maximum(daily["orders"].to_numpy(), 1), 0.0)
    ad_orders = np.where(aov[:, None] > 0, np.round(ad_sales / np.maximum(aov[:, None], 0.01)), 0).astype(np.int64)
    ad_units = np.round(ad_orders * r.uniform(1.0, 1.25, (nd, nu))).astype(np.int64)
    out = pd.DataFrame({
        "day": np.repeat(daily["day"].to_numpy(), nu), "unit": np.tile(np.arange(nu), nd),
        "spend": spend.ravel(), "ad_sales": ad_sales.ravel(), "clicks": clicks.ravel(),
        "impressions": impressions.ravel(), "ad_orders": ad_orders.ravel(), "ad_units": ad_units.ravel(),
    })
    return out[out["spend"] > 0].reset_index(drop=True)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def write_ads(world: World, store_id: str, lines: pd.DataFrame, out: Path) -> list[Path]:
    """The store's native ads report, monthly (none for WMT-US-01: the deliberate gap)."""
    si, s = _store(store_id)
    platform, cur = s[2], s[4]
    path_of = (lambda m: out / store_id / "ads" / f"{m}.csv")
    if platform == "shopee":
        ss = world.store_skus[store_id]
        top = ss.sort_values("pop", ascending=False).head(8)
        units = [(str(k), float(p)) for k, p in zip(top["sku"], top["pop"])]
        names = top["name"].tolist()
        pids = [str(20000000000 + int(perm_ids(np.array([i + 100 * si]), 10, 7919, 17)[0])) for i in range(len(units))]
        rows = _ads_rows(world, store_id, lines, units)
        u = rows["unit"].to_numpy()
        rows = rows.sort_values(["day", "unit"], kind="stable").reset_index(drop=True)
        u = rows["unit"].to_numpy()
        day = rows["day"].to_numpy().astype("datetime64[D]")
        seq = rows.groupby(quarter_of(day)).cumcount().to_numpy() + 1
        cols = {
            "Sequence": seq, "Date": np.asarray(tx.fmt_dt(day, "%d/%m/%Y").to_pylist(), dtype=object),
            "Ad Name": np.array(names, dtype=object)[u], "Status": "Ongoing", "Ads Type": "Product Search Ad",
            "Product ID": np.array(pids, dtype=object)[u], "Bidding Method": "Auto Bidding", "Placement": "All",
            "Impression": rows["impressions"].to_numpy(), "Clicks": rows["clicks"].to_numpy(),
            "CTR": _pcts(_ratio(rows["clicks"].to_numpy(), rows["impressions"].to_numpy())),
            "Conversions": rows["ad_orders"].to_numpy(), "Direct Conversions": np.round(rows["ad_orders"].to_numpy() * 0.8).astype(np.int64),
            "Conversion Rate": _pcts(_ratio(rows["ad_orders"].to_numpy(), rows["clicks"].to_numpy())),
            "Cost per Conversion": _fix(_ratio(rows["spend"].to_numpy(), rows["ad_orders"].to_numpy())),
            "Items Sold": rows["ad_units"].to_numpy(), "Direct Items Sold": np.round(rows["ad_units"].to_numpy() * 0.8).astype(np.int64),
            "GMV": _fix(rows["ad_sales"].to_numpy()), "Direct GMV": _fix(rows["ad_sales"].to_numpy() * 0.8),
            "Expense": _fix(rows["spend"].to_numpy()), "ROAS": _fix(_ratio(rows["ad_sales"].to_numpy(), rows["spend"].to_numpy())),
            "ACOS": _pcts(_ratio(rows["spend"].to_numpy(), rows["ad_sales"].to_numpy())),
        }
        shop = s[1]

        def pre(a: np.datetime64, b: np.datetime64) -> list[str]:
            return ["Shopee Ads Report", f"User Name,{shop.lower().replace(' ', '')}", f"Shop Name,{shop}",
                    f"Shop ID,{10000000 + si * 7919}", f"Report Creation Time,{b.item():%d/%m/%Y} 23:59",
                    f"Time Period,{a.item():%d/%m/%Y} - {b.item():%d/%m/%Y}", ""]

        return _write_months(world, path_of, rows.assign(day=day), "day", SHOPEE_ADS_HEADER, cols, pre=pre)
    if platform == "lazada":
        units = [("Sponsored Discovery - Bestsellers", 0.5), ("Sponsored Discovery - New Arrivals", 0.2),
                 ("Sponsored Affiliate - Always On", 0.3)]
        rows = _ads_rows(world, store_id, lines, units).sort_values(["day", "unit"], kind="stable").reset_index(drop=True)
        u = rows["unit"].to_numpy()
        day = rows["day"].to_numpy().astype("datetime64[D]")
        cols = {
            "Date": np.asarray(tx.fmt_dt(day, "%Y-%m-%d").to_pylist(), dtype=object),
            "Campaign Name": np.array([x[0] for x in units], dtype=object)[u],
            "Campaign ID": np.array([str(510000 + 37 * i + si) for i in range(len(units))], dtype=object)[u],
            "Campaign Type": np.array(["Manual", "Smart", "Affiliate"], dtype=object)[u],
            "Impression": rows["impressions"].to_numpy(), "Clicks": rows["clicks"].to_numpy(),
            "CTR": _pcts(_ratio(rows["clicks"].to_numpy(), rows["impressions"].to_numpy())),
            "Spend": _fix(rows["spend"].to_numpy()), "Avg. CPC": _fix(_ratio(rows["spend"].to_numpy(), rows["clicks"].to_numpy())),
            "Revenue": _fix(rows["ad_sales"].to_numpy()), "Orders": rows["ad_orders"].to_numpy(),
            "Unit Sold": rows["ad_units"].to_numpy(), "ROI": _fix(_ratio(rows["ad_sales"].to_numpy(), rows["spend"].to_numpy())),
        }
        return _write_months(world, path_of, rows.assign(day=day), "day", LAZADA_ADS_HEADER, cols)
    if platform == "tiktok":
        units = [("GMV Max - Shop", "Shop GMV Max", 0.55), ("Product GMV Max - Bestsellers", "Bestsellers", 0.3),
                 ("LIVE GMV Max", "LIVE sessions", 0.15)]
        rows = _ads_rows(world, store_id, lines, [(u[0], u[2]) for u in units]).sort_values(["day", "unit"], kind="stable")
        rows = rows.reset_index(drop=True)
        u = rows["unit"].to_numpy()
        day = rows["day"].to_numpy().astype("datetime64[D]")
        cid = np.array([str(1790000000000000000 + 1000003 * (i + 1) + si) for i in range(len(units))], dtype=object)
        gid = np.array([str(1790000000000500000 + 7000003 * (i + 1) + si) for i in range(len(units))], dtype=object)
        cols = {
            "Campaign name": np.array([x[0] for x in units], dtype=object)[u], "Campaign ID": cid[u],
            "Ad group name": np.array([x[1] for x in units], dtype=object)[u], "Ad group ID": gid[u],
            "By Day": np.asarray(tx.fmt_dt(day, "%Y-%m-%d").to_pylist(), dtype=object), "Currency": cur,
            "Cost": _fix(rows["spend"].to_numpy()), "Impressions": rows["impressions"].to_numpy(),
            "Clicks (destination)": rows["clicks"].to_numpy(),
            "CTR (destination)": _pcts(_ratio(rows["clicks"].to_numpy(), rows["impressions"].to_numpy())),
            "CPC (destination)": _fix(_ratio(rows["spend"].to_numpy(), rows["clicks"].to_numpy())),
            "Conversions": rows["ad_orders"].to_numpy(),
            "Cost per conversion": _fix(_ratio(rows["spend"].to_numpy(), rows["ad_orders"].to_numpy())),
            "Total purchase value": _fix(rows["ad_sales"].to_numpy()),
            "Purchase ROAS": _fix(_ratio(rows["ad_sales"].to_numpy(), rows["spend"].to_numpy())),
        }
        return _write_months(world, path_of, rows.assign(day=day), "day", TIKTOK_ADS_HEADER, cols)
    if platform == "shopify":
        units = [("Prospecting | Advantage+ Shopping", "Broad US 18-65", 0.55), ("Retargeting | DPA", "Viewed or added 30d", 0.3),
                 ("Brand | Search partners", "Lookalike 1% purchasers", 0.15)]
        rows = _ads_rows(world, store_id, lines, [(u[0], u[2]) for u in units]).sort_values(["day", "unit"], kind="stable")
        rows = rows.reset_index(drop=True)
        u = rows["unit"].to_numpy()
        day = rows["day"].to_numpy().astype("datetime64[D]")
        start, end = quarter_bounds(day)
        start = np.maximum(start, world.period.start_date)
        end = np.minimum(end, world.period.end_date)
        cols = {
            "Campaign name": np.array([x[0] for x in units], dtype=object)[u],
            "Ad set name": np.array([x[1] for x in units], dtype=object)[u],
            "Day": np.asarray(tx.fmt_dt(day, "%Y-%m-%d").to_pylist(), dtype=object),
            "Amount spent (USD)": _fix(rows["spend"].to_numpy()), "Impressions": rows["impressions"].to_numpy(),
            "Link clicks": rows["clicks"].to_numpy(),
            "CPC (cost per link click) (USD)": _fix(_ratio(rows["spend"].to_numpy(), rows["clicks"].to_numpy())),
            "Purchases": rows["ad_orders"].to_numpy(), "Purchases conversion value": _fix(rows["ad_sales"].to_numpy()),
            "Reporting starts": np.asarray(tx.fmt_dt(start, "%Y-%m-%d").to_pylist(), dtype=object),
            "Reporting ends": np.asarray(tx.fmt_dt(end, "%Y-%m-%d").to_pylist(), dtype=object),
        }
        return _write_months(world, path_of, rows.assign(day=day), "day", META_ADS_HEADER, cols)
    return []  # walmart: no ads export (the deliberate gap)


def _text(v: object) -> np.ndarray:
    a = np.asarray(v)
    return a.astype(str).astype(object) if a.dtype.kind in "iuf" else a.astype(object)


def _fix(v: np.ndarray, d: int = 2) -> np.ndarray:
    return np.char.mod(f"%.{d}f", np.round(np.asarray(v, dtype=float), d) + 0.0).astype(object)  # no '-0.00'


def _pcts(v: np.ndarray) -> np.ndarray:
    return np.char.add(np.char.mod("%.2f", np.round(np.asarray(v, dtype=float) * 100, 2)), "%").astype(object)


# ---- traffic -------------------------------------------------------------------------------------


def write_traffic(world: World, store_id: str, lines: pd.DataFrame, out: Path) -> list[Path]:
    """The store's native daily traffic export, monthly."""
    si, s = _store(store_id)
    platform = s[2]
    cvr, pvs = TRAFFIC_SHAPE[platform]
    r = rng_for(world.seed, 210, si)
    d = _active(world, store_id, _daily(world, lines))
    n = len(d)
    orders = d["orders"].to_numpy()
    sessions = np.maximum(np.round((orders + 0.5) / (cvr * np.exp(r.normal(0, 0.1, n)))), orders).astype(np.int64)
    visitors = np.round(sessions * r.uniform(0.78, 0.9, n)).astype(np.int64)
    views = np.round(sessions * pvs * np.exp(r.normal(0, 0.08, n))).astype(np.int64)
    buyers = np.round(orders * r.uniform(0.93, 0.99, n)).astype(np.int64)
    day = d["day"].to_numpy().astype("datetime64[D]")
    sales, units = d["sales"].to_numpy(), d["units"].to_numpy()
    path_of = (lambda m: out / store_id / "traffic" / f"{m}.csv")
    if platform == "shopee":
        cols = {"Date": _dates(day, "%d/%m/%Y"), "Sales": _fix(sales), "Orders": orders,
                "Sales per Order": _fix(_ratio(sales, orders)), "Product Clicks": views, "Visitors": sessions,
                "Order Conversion Rate": _pcts(_ratio(orders, sessions)), "Cancelled Orders": d["cancelled"].to_numpy(),
                "Buyers": buyers}
        header = SHOPEE_TRAFFIC_HEADER
    elif platform == "lazada":
        cols = {"Date": _dates(day, "%d %b %Y"), "Visitors": sessions, "Page Views": views, "Buyers": buyers,
                "Orders": orders, "Units Sold": units, "Revenue": _fix(sales), "Conversion Rate": _pcts(_ratio(buyers, sessions))}
        header = LAZADA_TRAFFIC_HEADER
    elif platform == "tiktok":
        cols = {"Date": _dates(day, "%m/%d/%Y"), "GMV": _fix(sales), "Orders": orders, "Items sold": units,
                "Visitors": sessions, "Page views": views, "Conversion rate": _pcts(_ratio(buyers, sessions)),
                "Customers": buyers}
        header = TIKTOK_TRAFFIC_HEADER
    elif platform == "shopify":
        carts = np.round(sessions * r.uniform(0.055, 0.075, n)).astype(np.int64)
        checkout = np.maximum(np.round(sessions * r.uniform(0.03, 0.04, n)).astype(np.int64), orders)
        carts = np.maximum(carts, checkout)
        cols = {"Day": _dates(day, "%Y-%m-%d"), "Online store visitors": visitors, "Sessions": sessions,
                "Sessions with cart additions": carts, "Sessions that reached checkout": checkout,
                "Sessions that completed checkout": orders, "Conversion rate": _fix(_ratio(orders, sessions), 4)}
        header = SHOPIFY_TRAFFIC_HEADER
    else:  # walmart
        cols = {"Date": _dates(day, "%m/%d/%Y"), "GMV": _fix(sales), "Orders": orders, "Units Sold": units,
                "Page Views": views, "Unique Visitors": sessions, "Conversion Rate": _pcts(_ratio(orders, sessions))}
        header = WALMART_TRAFFIC_HEADER
    return _write_months(world, path_of, pd.DataFrame({"day": day}), "day", header, cols)


def _dates(day: np.ndarray, fmt: str) -> np.ndarray:
    return np.asarray(tx.fmt_dt(day, fmt).to_pylist(), dtype=object)


# ---- TikTok Shop statement -------------------------------------------------------------------------


def tiktok_order_ids(oi: np.ndarray, si: int) -> np.ndarray:
    """TikTok order ids exactly as the order export writes them."""
    return np.char.add("57", zpad(perm_ids(oi, 16, 6364136223846793, 1442695040888963 + si), 16)).astype(object)


def write_tiktok_statement(world: World, store_id: str, lines: pd.DataFrame, out: Path) -> list[Path]:
    """Finance → Statements export: one row per order settled in the month (delivered + 8 days)."""
    si, _s = _store(store_id)
    r = rng_for(world.seed, 220, si)
    st = lines["status"].to_numpy()
    oi = lines["order_idx"].to_numpy()
    no = int(oi.max()) + 1 if len(oi) else 0
    item, promo = lines["item_price"].to_numpy(), lines["promo"].to_numpy()
    before = np.bincount(oi, weights=item, minlength=no)
    disc = np.bincount(oi, weights=promo, minlength=no)
    refund = np.bincount(oi, weights=np.where(st == "returned", item - promo, 0.0), minlength=no)
    first = lines["line_no"].to_numpy() == 1
    o_status = np.empty(no, dtype=object)
    o_status[oi[first]] = st[first]
    created = np.empty(no, dtype="datetime64[s]")
    created[oi[first]] = lines["ts"].to_numpy().astype("datetime64[s]")[first]
    deliv = np.full(no, np.datetime64("NaT"), dtype="datetime64[s]")
    deliv[oi] = lines["deliv_ts"].to_numpy().astype("datetime64[s]")
    settle = deliv + np.timedelta64(8 * 86400, "s") + (r.uniform(0, 86400, no)).astype("timedelta64[s]")
    end = world.period.end_date.astype("datetime64[s]") + np.timedelta64(86399, "s")
    ok = (o_status != "cancelled") & ~np.isnat(settle) & (settle <= end)
    after = np.round(before - disc, 2)
    refund = np.round(refund, 2)
    revenue = np.round(after - refund, 2)
    commission = -np.round(after * 0.06, 2)
    txn = -np.round((after * 1.07) * 0.029 + 0.30, 2)
    label = -np.where(r.random(no) < 0.72, np.round(r.uniform(4.2, 6.8, no), 2), 0.0)
    aff = -np.where(r.random(no) < 0.28, np.round(after * r.uniform(0.10, 0.15, no), 2), 0.0)
    aff_ads = -np.where(r.random(no) < 0.05, np.round(after * 0.04, 2), 0.0)
    sfp = -np.where(label < 0, np.round(after * 0.01, 2), 0.0)
    total_fees = np.round(txn + commission + label + aff + aff_ads + sfp, 2)
    settle_amt = np.round(revenue + total_fees, 2)
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(settle[idx], kind="stable")]
    oid = tiktok_order_ids(idx, si)
    sday = settle[idx].astype("datetime64[D]")
    cols = {
        "Order/adjustment ID": oid, "Type": "Order", "Order created time": _dates(created[idx], "%Y/%m/%d"),
        "Order settled time": _dates(sday, "%Y/%m/%d"), "Currency": "USD", "Total settlement amount": _fix(settle_amt[idx]),
        "Total revenue": _fix(revenue[idx]), "Subtotal after seller discounts": _fix(after[idx]),
        "Subtotal before discounts": _fix(before[idx]), "Seller discounts": _fix(-disc[idx]),
        "Refund subtotal after seller discounts": _fix(-refund[idx]), "Total fees": _fix(total_fees[idx]),
        "Transaction fee": _fix(txn[idx]), "TikTok Shop commission fee": _fix(commission[idx]),
        "Seller shipping fee": _fix(label[idx]), "Affiliate commission": _fix(aff[idx]),
        "Affiliate Shop Ads commission": _fix(aff_ads[idx]), "SFP service fee": _fix(sfp[idx]),
        "Customer payment": _fix(after[idx] * 1.07), "Customer refund": _fix(-refund[idx]), "Platform discounts": "0.00",
        "Sales tax payment": _fix(-np.round(after[idx] * 0.07, 2)), "Related order ID": "",
    }
    path_of = (lambda m: out / store_id / "statements" / f"{m}.csv")
    return _write_months(world, path_of, pd.DataFrame({"day": sday}), "day", TIKTOK_STATEMENT_HEADER, cols)


# ---- Shopify Payments ----------------------------------------------------------------------------


def write_shopify_payments(world: World, store_id: str, lines: pd.DataFrame, out: Path) -> list[Path]:
    """Payments → Transactions export: a charge per paid order (2.9% + 0.30), a refund per returned order."""
    si, s = _store(store_id)
    r = rng_for(world.seed, 230, si)
    st = lines["status"].to_numpy()
    oi = lines["order_idx"].to_numpy()
    no = int(oi.max()) + 1 if len(oi) else 0
    first = lines["line_no"].to_numpy() == 1
    item, promo = lines["item_price"].to_numpy(), lines["promo"].to_numpy()
    sub = np.round(np.bincount(oi, weights=item - promo, minlength=no), 2)
    ret = np.bincount(oi, weights=np.where(st == "returned", item - promo, 0.0), minlength=no)
    o_status = np.empty(no, dtype=object)
    o_status[oi[first]] = st[first]
    ts = np.empty(no, dtype="datetime64[s]")
    ts[oi[first]] = lines["ts"].to_numpy().astype("datetime64[s]")[first]
    ret_ts = np.full(no, np.datetime64("NaT"), dtype="datetime64[s]")
    ret_ts[oi] = np.where(st == "returned", lines["ret_ts"].to_numpy().astype("datetime64[s]"), ret_ts[oi])
    ship = np.where(sub >= 50, 0.0, 5.95)
    total = np.round(sub + ship + np.round(sub * 0.085, 2), 2)  # tax at a typical 8.5%
    paid = o_status != "cancelled"
    fee = np.round(total * 0.029 + 0.30, 2)
    ch = np.flatnonzero(paid)
    rf = np.flatnonzero(paid & (ret > 0) & ~np.isnat(ret_ts))
    kind = np.r_[np.zeros(len(ch), dtype=np.int64), np.ones(len(rf), dtype=np.int64)]
    o = np.r_[ch, rf]
    when = np.r_[ts[ch] + np.timedelta64(2, "s"), ret_ts[rf]]
    amount = np.r_[total[ch], -np.round(ret[rf] * 1.085, 2)]
    fees = np.r_[fee[ch], np.zeros(len(rf))]
    order = np.lexsort((kind, when))
    o, kind, when, amount, fees = o[order], kind[order], when[order], amount[order], fees[order]
    off = utc_offset_str(when, s[5])
    payout = (when.astype("datetime64[D]") + np.timedelta64(2, "D"))
    brand = np.array(["visa", "master", "american_express", "discover"], dtype=object)[r.integers(0, 4, len(o))]
    cols = {
        "Transaction Date": np.char.add(np.char.add(_dates(when, "%Y-%m-%d %H:%M:%S").astype(str), " "), off).astype(object),
        "Type": np.where(kind == 0, "charge", "refund").astype(object), "Order": np.char.add("#", (1001 + o).astype(str)).astype(object),
        "Card Brand": brand, "Card Source": "online", "Payout Status": "paid", "Payout Date": _dates(payout, "%Y-%m-%d"),
        "Available On": _dates(payout, "%Y-%m-%d"), "Amount": _fix(amount), "Fee": _fix(fees), "Net": _fix(amount - fees),
        "Currency": "USD",
    }
    day = when.astype("datetime64[D]")
    # a transaction of a month's last hours may fall after the period (returns): keep those inside it
    inside = day <= world.period.end_date
    cols = {k: (v[inside] if isinstance(v, np.ndarray) else v) for k, v in cols.items()}
    path_of = (lambda m: out / store_id / "payments" / f"{m}.csv")
    return _write_months(world, path_of, pd.DataFrame({"day": day[inside]}), "day", SHOPIFY_PAYMENTS_HEADER, cols)
