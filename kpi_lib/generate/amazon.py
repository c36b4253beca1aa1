"""Amazon exports: All Orders Report, settlement flat file V1, SP advertised product report,
Business Report (Sales and Traffic by Date) and FBA inventory planning report.

Size (≈550 lines): five Amazon export writers for the demo, each a short function; kept together
because they share the order stream and fee schedule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import textio as tx
from .common import DirtyLog, local_to_utc, month_slices, perm_ids, zpad
from .core import STORE_IDS, STORES, World, rng_for, stockout_windows

ORDER_HEADER = ["amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status", "fulfillment-channel", "sales-channel", "order-channel", "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order", "purchase-order-number", "price-designation"]
SETTLEMENT_HEADER = ["settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name", "shipment-fee-type", "shipment-fee-amount", "order-fee-type", "order-fee-amount", "fulfillment-id", "posted-date", "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased", "price-type", "price-amount", "item-related-fee-type", "item-related-fee-amount", "misc-fee-amount", "other-fee-amount", "other-fee-reason-description", "promotion-id", "promotion-type", "promotion-amount", "direct-payment-type", "direct-payment-amount", "other-amount"]
INVENTORY_HEADER = ["snapshot-date", "sku", "fnsku", "asin", "product-name", "condition", "available", "pending-removal-quantity", "inv-age-0-to-90-days", "inv-age-91-to-180-days", "inv-age-181-to-270-days", "inv-age-271-to-365-days", "inv-age-365-plus-days", "currency", "units-shipped-t30", "inbound-quantity", "inbound-working", "inbound-shipped", "inbound-received", "reserved-quantity", "unfulfillable-quantity"]
BUSINESS_HEADER = ["Date", "Ordered Product Sales", "Units Ordered", "Total Order Items", "Page Views - Total",
                   "Sessions - Total", "Featured Offer (Buy Box) Percentage", "Unit Session Percentage",
                   "Average Offer Count", "Average Parent Items"]

US_PLACES = [("LOS ANGELES", "CA", "90012", 0.095), ("NEW YORK", "NY", "10001", 0.08875), ("HOUSTON", "TX", "77002", 0.0825),
             ("CHICAGO", "IL", "60601", 0.1025), ("SEATTLE", "WA", "98101", 0.1025), ("MIAMI", "FL", "33101", 0.07),
             ("DENVER", "CO", "80202", 0.0881), ("ATLANTA", "GA", "30303", 0.089), ("PHOENIX", "AZ", "85004", 0.086),
             ("PORTLAND", "OR", "97201", 0.0), ("BOSTON", "MA", "02108", 0.0625), ("COLUMBUS", "OH", "43215", 0.0775)]
DE_PLACES = [("Berlin", "Berlin", "10115"), ("München", "Bayern", "80331"), ("Hamburg", "Hamburg", "20095"),
             ("Köln", "Nordrhein-Westfalen", "50667"), ("Frankfurt am Main", "Hessen", "60311"),
             ("Stuttgart", "Baden-Württemberg", "70173"), ("Leipzig", "Sachsen", "04109")]
SETTLEMENT_ANCHOR = "22:07:18"


def prepare(world: World, store_id: str, lines: pd.DataFrame) -> pd.DataFrame:
    """Add the Amazon-specific per-line columns (ids, UTC times, channel, tax, shipping, places)."""
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    de = s[3] == "DE"
    r = rng_for(world.seed, 30, si)
    oi = lines["order_idx"].to_numpy()
    no = int(oi.max()) + 1 if len(oi) else 0
    v = perm_ids(np.arange(no), 14, 6364136223 + 2 * si, 31415926535897 + 104729 * (si + 3))
    pre = np.array(["302", "303", "304", "305"] if de else ["111", "112", "113", "114"])[np.arange(no) % 4]
    hi = zpad(v // 10**7, 7)
    lo = zpad(v % 10**7, 7)
    oid = np.char.add(np.char.add(np.char.add(np.char.add(pre, "-"), hi), "-"), lo)
    lines = lines.copy()
    lines["order_id"] = oid[oi]
    afn = r.random(no) < 0.85
    lines["afn"] = afn[oi]
    place = r.integers(0, len(DE_PLACES) if de else len(US_PLACES), no)[oi]
    lines["place"] = place
    item = lines["item_price"].to_numpy()
    if de:
        tax = np.round(item * 19 / 119, 2)
    else:
        rate = np.array([p[3] for p in US_PLACES])[place]
        tax = np.round(item * rate, 2)
    lines["tax"] = tax
    first = lines["line_no"].to_numpy() == 1
    lines["ship_fee"] = np.where(first & ~lines["afn"].to_numpy(), 4.99 if not de else 3.99, 0.0)
    tz = s[5]
    lines["ts_utc"] = local_to_utc(lines["ts"].to_numpy(), tz)
    off = lines["ts_utc"].to_numpy() - lines["ts"].to_numpy().astype("datetime64[s]")
    for c in ("ship_ts", "deliv_ts", "ret_ts"):
        lines[c + "_utc"] = lines[c].to_numpy().astype("datetime64[s]") + off
    lines["item_code"] = zpad(perm_ids(np.arange(len(lines)), 14, 2862933555777941, 17 + si), 14)
    return lines


def write_orders(world: World, store_id: str, lines: pd.DataFrame, out: Path, dirty: DirtyLog,
                 inject: bool, overlap: bool) -> list[Path]:
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    de = s[3] == "DE"
    r = rng_for(world.seed, 31, si)
    files = []
    st = lines["status"].to_numpy()
    afn = lines["afn"].to_numpy()
    ostat = np.select([st == "cancelled", st == "pending", (~afn) & (st == "delivered")],
                      ["Cancelled", "Pending", "Shipped - Delivered to Buyer"], "Shipped").astype(object)
    istat = np.select([st == "cancelled", st == "pending"], ["Cancelled", "Unshipped"], "Shipped").astype(object)
    upd = np.where(np.isnat(lines["deliv_ts_utc"].to_numpy()),
                   np.where(np.isnat(lines["ship_ts_utc"].to_numpy()), lines["ts_utc"].to_numpy() + np.timedelta64(1800, "s"),
                            lines["ship_ts_utc"].to_numpy()), lines["deliv_ts_utc"].to_numpy())
    place = lines["place"].to_numpy()
    places = DE_PLACES if de else US_PLACES
    promo = lines["promo"].to_numpy()
    n = len(lines)
    skus = world.skus.set_index("sku")
    asin = skus.loc[lines["sku"], "asin"].to_numpy()
    level = np.where(r.random(n) < 0.2, "Expedited", "Standard").astype(object)
    qty = lines["qty"].to_numpy().astype(np.int64)
    cols = [
        lines["order_id"].to_numpy(), np.where(afn, "", lines["order_id"].to_numpy()).astype(object),
        tx.join(tx.fmt_dt(lines["ts_utc"].to_numpy(), "%Y-%m-%dT%H:%M:%S"), "+00:00"),
        tx.join(tx.fmt_dt(upd, "%Y-%m-%dT%H:%M:%S"), "+00:00"),
        ostat, np.where(afn, "Amazon", "Merchant").astype(object), "Amazon.de" if de else "Amazon.com", "",
        level, lines["name"].to_numpy(), lines["sku"].to_numpy(), asin, istat, qty,
        "EUR" if de else "USD", tx.money(lines["item_price"]), tx.money(lines["tax"]), tx.money(lines["ship_fee"]),
        tx.money(np.zeros(n)), "", "", tx.money(promo, mask=promo == 0), "",
        np.array([p[0] for p in places], dtype=object)[place], np.array([p[1] for p in places], dtype=object)[place],
        np.array([p[2] for p in places], dtype=object)[place], "DE" if de else "US",
        np.where(promo > 0, "PLM-" + np.char.zfill((lines["k"].to_numpy() * 37 % 9973).astype(str), 4), "").astype(object),
        np.where(r.random(n) < 0.04, "true", "false").astype(object), "", "",
    ]
    rendered = tx.render_lines(None, cols, "\t", quote=False)[0]
    day = lines["day"].to_numpy().astype("datetime64[D]")
    slices = month_slices(day, world.period.months)
    prev_tail = None
    for mi, (m, mask) in enumerate(slices):
        idx = np.flatnonzero(mask)
        body = rendered.take(pa.array(idx))
        path = out / store_id / "orders" / f"{m}.txt"
        pre_lines: list[pa.Array] = []
        if overlap and prev_tail is not None and mi == len(slices) - 1:
            pre_lines.append(prev_tail)
            for j in range(len(prev_tail)):
                dirty.add(path, 2 + j, "duplicate", "repeated from the previous month's export (overlapping window)")
        if inject and mi == min(5, len(slices) - 2):
            body = _inject_orders(body, idx, lines, path, dirty, len(pre_lines[0]) if pre_lines else 0, r)
        last3 = day[idx] >= (np.datetime64(m) + 1).astype("datetime64[D]") - np.timedelta64(3, "D")
        prev_tail = body.filter(pa.array(last3)) if mi < len(slices) - 1 else None
        if inject and mi == min(5, len(slices) - 2) and prev_tail is not None:
            pass
        full = pa.concat_arrays([*pre_lines, body]) if pre_lines else body
        _write_lines(path, "\t".join(ORDER_HEADER), full)
        files.append(path)
    return files


def _inject_orders(body: pa.Array, idx: np.ndarray, lines: pd.DataFrame, path: Path, dirty: DirtyLog,
                   offset: int, r: np.random.Generator) -> pa.Array:
    """Bad date, negative quantity and unknown SKU rows in the middle of a month (not in the last 3 days)."""
    d = lines["day"].to_numpy().astype("datetime64[D]")[idx]
    single = (lines["n_lines"].to_numpy()[idx] == 1) & (lines["status"].to_numpy()[idx] != "cancelled")
    dom = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    cand = np.flatnonzero(single & (dom >= 5) & (dom <= 20))
    if len(cand) < 3:
        return body
    pick = np.sort(r.choice(cand, size=3, replace=False))
    vals = body.to_pylist()
    for j, kind in zip(pick, ("bad_date", "negative_quantity", "unknown_sku")):
        f = vals[j].split("\t")
        if kind == "bad_date":
            f[2] = f[2][:8] + "32T25:61:00+00:00"
            detail = f"purchase-date {f[2]!r}"
        elif kind == "negative_quantity":
            f[13] = "-" + f[13]
            detail = f"quantity {f[13]}"
        else:
            f[10] = "ZZ-9" + f[10][-3:]
            detail = f"sku {f[10]!r} not in skus.csv"
        vals[j] = "\t".join(f)
        dirty.add(path, 2 + offset + int(j), kind, detail)
    return pa.array(vals, type=tx.LS)


def _write_lines(path: Path, header: str, body: pa.Array, bom: bool = False, final_newline: bool = True,
                 encoding: str = "utf-8") -> None:
    tx.write_pieces(path, [header, body], bom=bom, final_newline=final_newline, encoding=encoding)
    tx.ROWS[str(path)] = len(body)


# ---- ads -----------------------------------------------------------------------------------------

ADS_BASE = ["Date", "Portfolio name", "Currency", "Campaign Name", "Ad Group Name", "Advertised SKU", "Advertised ASIN",
            "Impressions", "Clicks", "Click-Thru Rate (CTR)", "Cost Per Click (CPC)", "Spend"]


def ads_header(store_id: str) -> list[str]:
    de = store_id.startswith("AMZ-DE")
    d = "14" if de else "7"
    sym = {"AMZ-US-01": " ($)"}.get(store_id, "")
    return ADS_BASE + [f"{d} Day Total Sales{sym}", "Total Advertising Cost of Sales (ACoS)",
                       "Total Return on Advertising Spend (RoAS)", f"{d} Day Total Orders (#)",
                       f"{d} Day Total Units (#)", f"{d} Day Conversion Rate"]


ACOS = {"AMZ-US-01": 0.16, "AMZ-US-02": 0.24, "AMZ-DE-01": 0.20, "AMZ-US-03": 0.29}


def write_ads(world: World, store_id: str, lines: pd.DataFrame, out: Path) -> tuple[list[Path], dict[str, int]]:
    """Daily rows per campaign / ad group / advertised SKU; returns files and spend cents per month."""
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    r = rng_for(world.seed, 40, si)
    ss = world.store_skus[store_id]
    per = world.period
    k_ad = np.flatnonzero(ss["pop"].to_numpy() >= np.quantile(ss["pop"].to_numpy(), 0.62))
    days = per.days[per.days >= world.launch[store_id]]
    nd, na = len(days), len(k_ad)
    D = np.repeat(np.arange(nd), na)
    K = np.tile(k_ad, nd)
    day = days[D]
    listed = ss["listed_on"].to_numpy()[K]
    dl = ss["delisted_on"].to_numpy()[K]
    ok = (day >= listed) & (np.isnat(dl) | (day < dl))
    for sk, a, b in stockout_windows(world, store_id):
        ok &= ~((K == sk) & (day >= a) & (day <= b))
    D, K, day = D[ok], K[ok], day[ok]
    live = lines[lines["status"] != "cancelled"]
    sales = live.groupby([live["day"].to_numpy(), live["k"].to_numpy()])["item_price"].sum()
    key = pd.MultiIndex.from_arrays([day, K])
    actual = sales.reindex(key).fillna(0.0).to_numpy()
    # smooth expected sales: 7-day rolling by SKU via monthly mean
    mon = day.astype("datetime64[M]")
    mean = pd.Series(actual).groupby([mon, K]).transform("mean").to_numpy()
    acos = ACOS[store_id] * np.exp(r.normal(0, 0.25, len(D)))
    share = r.uniform(0.25, 0.45, len(D))
    # a small fixed spend per SKU-day (bids that win a few clicks), sized for scale 1: a small demo does
    # not get a scale-1 floor of ad spend on a fraction of the sales
    floor = r.uniform(0.05, 0.6, len(D)) * min(1.0, world.scale)
    spend = np.maximum(np.round(mean * share * acos * np.exp(r.normal(0, 0.2, len(D))) + floor, 2), 0.01)
    cpc_base = r.uniform(0.55, 1.6, len(ss))[K]
    clicks = np.maximum(1, np.round(spend / cpc_base)).astype(np.int64)
    ctr = r.uniform(0.0025, 0.009, len(D))
    impressions = np.maximum(clicks, np.round(clicks / ctr)).astype(np.int64)
    ad_sales = np.round(actual * share, 2)
    price = ss["price"].to_numpy()[K]
    orders = np.maximum(np.round(ad_sales / price), ad_sales > 0).astype(np.int64)
    clicks = np.maximum(clicks, orders)
    impressions = np.maximum(impressions, clicks)
    units = orders + (r.random(len(D)) < 0.1) * (orders > 0)
    cat = ss["category"].to_numpy()[K]
    auto = (K % 3 == 0)
    camp = np.char.add(np.char.add("SP | ", pd.Series(cat).str.title().to_numpy().astype(str)),
                       np.where(auto, " | Auto", " | Manual - Exact"))
    group = np.char.add(pd.Series(cat).str.replace(" & ", "-").str.replace(" ", "-").to_numpy().astype(str),
                        np.where(auto, " auto", " exact"))
    sku = ss["sku"].to_numpy()[K]
    asin = ss["asin"].to_numpy()[K]
    cur = s[4]
    zero = ad_sales == 0
    cols_all = {
        "Date": None, "Portfolio name": "Not grouped", "Currency": cur, "Campaign Name": camp.astype(object),
        "Ad Group Name": group.astype(object), "Advertised SKU": sku, "Advertised ASIN": asin,
        "Impressions": impressions, "Clicks": clicks, "CTR": tx.pct(clicks / impressions),
        "CPC": tx.money(spend / clicks), "Spend": tx.money(spend), "Sales": tx.money(ad_sales),
        "ACoS": tx.pct(np.divide(spend, ad_sales, out=np.zeros_like(spend), where=~zero), mask=zero),
        "RoAS": tx.num(ad_sales / spend, 2), "Orders": orders, "Units": units,
        "CVR": tx.pct(orders / clicks),
    }
    files = []
    spend_c = tx.cents(spend)
    month_spend: dict[str, int] = {}
    order = np.lexsort((K, day))
    for m, mask in month_slices(day, per.months):
        idx = order[mask[order]]
        sel = pa.array(idx)
        cols = [tx.fmt_dt(day[idx], "%b %-d, %Y")]
        for name, v in list(cols_all.items())[1:]:
            cols.append(v if isinstance(v, str) else (v.take(sel) if isinstance(v, pa.Array) else np.asarray(v)[idx]))
        path = out / store_id / "ads" / f"{m}.csv"
        tx.write_delimited(path, ads_header(store_id), cols, ",")
        files.append(path)
        month_spend[m] = int(spend_c[idx].sum())
    return files, month_spend


# ---- business report -----------------------------------------------------------------------------


def write_business(world: World, store_id: str, lines: pd.DataFrame, out: Path) -> list[Path]:
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    de = s[3] == "DE"
    r = rng_for(world.seed, 50, si)
    per = world.period
    days = per.days[per.days >= world.launch[store_id]]
    live = lines[lines["status"] != "cancelled"]
    g = live.groupby("day")
    sales = g["item_price"].sum().reindex(days).fillna(0.0).to_numpy()
    units = g["qty"].sum().reindex(days).fillna(0).to_numpy().astype(np.int64)
    items = g.size().reindex(days).fillna(0).to_numpy().astype(np.int64)
    orders = live.groupby("day")["order_idx"].nunique().reindex(days).fillna(0).to_numpy()
    cvr = np.clip({"AMZ-US-01": 0.13, "AMZ-US-02": 0.11, "AMZ-DE-01": 0.10, "AMZ-US-03": 0.085}[store_id]
                  * np.exp(r.normal(0, 0.08, len(days))), 0.08, 0.15)
    sessions = np.maximum(np.round(orders / cvr), orders).astype(np.int64)
    sessions = np.where(sessions == 0, r.integers(3, 30, len(days)), sessions)
    pv = np.round(sessions * r.uniform(1.35, 1.75, len(days))).astype(np.int64)
    ss = world.store_skus[store_id]
    nl = ((ss["listed_on"].to_numpy()[None, :] <= days[:, None])
          & (np.isnat(ss["delisted_on"].to_numpy())[None, :] | (days[:, None] < ss["delisted_on"].to_numpy()[None, :]))).sum(1)
    sym = "€" if de else "$"
    files = []
    for m, mask in month_slices(days, per.months):
        idx = np.flatnonzero(mask)
        cols = [tx.fmt_dt(days[idx], "%d/%m/%Y" if de else "%m/%d/%Y"),
                tx.join(sym, tx.money(sales[idx], thousands=",")), tx.money_c(units[idx] * 100, decimals=0, thousands=","),
                tx.money_c(items[idx] * 100, decimals=0, thousands=","), tx.money_c(pv[idx] * 100, decimals=0, thousands=","),
                tx.money_c(sessions[idx] * 100, decimals=0, thousands=","), tx.pct(r.uniform(0.92, 0.995, len(idx))),
                tx.pct(units[idx] / sessions[idx]), tx.money_c(nl[idx] * 100, decimals=0, thousands=","),
                tx.money_c(np.round(nl[idx] * 0.93).astype(np.int64) * 100, decimals=0, thousands=",")]
        path = out / store_id / "business-report" / f"BusinessReport-{m}.csv"
        tx.write_delimited(path, BUSINESS_HEADER, cols, ",", bom=True, final_newline=False)
        files.append(path)
    return files


# ---- inventory -----------------------------------------------------------------------------------


def write_inventory(world: World, store_id: str, lines: pd.DataFrame, out: Path) -> list[Path]:
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    r = rng_for(world.seed, 60, si)
    per = world.period
    ss = world.store_skus[store_id]
    days = per.days[per.days >= world.launch[store_id]]
    nd, nk = len(days), len(ss)
    U = np.zeros((nd, nk))
    live = lines[(lines["status"] != "cancelled") & (lines["day"].to_numpy() >= days[0])]
    np.add.at(U, ((live["day"].to_numpy().astype("datetime64[D]") - days[0]).astype(int), live["k"].to_numpy()), live["qty"].to_numpy())
    cs = np.vstack([np.zeros((1, nk)), np.cumsum(U, axis=0)])
    t30 = cs[1:] - cs[np.maximum(np.arange(1, nd + 1) - 30, 0)]
    avg = np.maximum(U.mean(axis=0), 0.05)
    cycle = r.integers(28, 56, nk)
    phase = r.integers(0, 56, nk)
    t = np.arange(nd)[:, None]
    pos = (t + phase[None, :]) % cycle[None, :]
    avail = np.round(avg[None, :] * (cycle[None, :] - pos + 10) * np.exp(r.normal(0, 0.05, (nd, nk)))).astype(np.int64)
    slow = r.random(nk) < 0.2
    avail = avail + (slow * r.integers(20, 200, nk))[None, :]
    active = ((ss["listed_on"].to_numpy()[None, :] <= days[:, None])
              & (np.isnat(ss["delisted_on"].to_numpy())[None, :] | (days[:, None] < ss["delisted_on"].to_numpy()[None, :])))
    for sk, a, b in stockout_windows(world, store_id):
        rows = (days >= a) & (days <= b)
        avail[rows, sk] = 0
    inbound = np.where(pos > cycle[None, :] * 0.6, np.round(avg[None, :] * cycle[None, :]), 0).astype(np.int64)
    di, ki = np.nonzero(active)
    a = avail[di, ki]
    age_old = np.where(slow[ki], np.round(a * r.uniform(0.2, 0.5, len(a))), np.round(a * r.uniform(0.0, 0.08, len(a)))).astype(np.int64)
    b91 = np.round(age_old * 0.5).astype(np.int64)
    b181 = np.round(age_old * 0.25).astype(np.int64)
    b271 = np.round(age_old * 0.15).astype(np.int64)
    b365 = age_old - b91 - b181 - b271
    b0 = a - age_old
    inb = inbound[di, ki]
    working = np.round(inb * 0.3).astype(np.int64)
    shipped = np.round(inb * 0.5).astype(np.int64)
    received = inb - working - shipped
    reserved = np.round(a * r.uniform(0.0, 0.04, len(a))).astype(np.int64)
    unful = (r.random(len(a)) < 0.05) * r.integers(1, 4, len(a))
    files = []
    dsel = days[di]
    for m, mask in month_slices(dsel, per.months):
        idx = np.flatnonzero(mask)
        kk = ki[idx]
        cols = [tx.fmt_dt(dsel[idx], "%Y-%m-%d"), ss["sku"].to_numpy()[kk], ss["fnsku"].to_numpy()[kk],
                ss["asin"].to_numpy()[kk], ss["name"].to_numpy()[kk], "New", a[idx], np.zeros(len(idx), dtype=np.int64),
                b0[idx], b91[idx], b181[idx], b271[idx], b365[idx], s[4], t30[di[idx], kk].astype(np.int64),
                inb[idx], working[idx], shipped[idx], received[idx], reserved[idx], unful[idx]]
        path = out / store_id / "inventory" / f"{m}.txt"
        tx.write_delimited(path, INVENTORY_HEADER, cols, "\t", quote=False)
        files.append(path)
    return files


# ---- settlements ---------------------------------------------------------------------------------


class _Rows:
    """Settlement transaction rows collected as rendered lines plus sort keys and amounts in cents."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array, np.ndarray]] = []

    def add(self, posted: np.ndarray, block: int, seq: np.ndarray, amount_c: np.ndarray | None,
            amount_col: str | None, **fields: object) -> None:
        n = len(posted)
        if n == 0:
            return
        vals = dict(fields)
        if amount_col:
            vals[amount_col] = tx.money_c(amount_c)
        if "posted-date" not in vals:
            vals["posted-date"] = tx.join(tx.fmt_dt(posted, "%Y-%m-%dT%H:%M:%S"), "+00:00")
        # merge runs of constant columns into literal separators: few, large vectorised joins
        parts: list[object] = []
        lit = self.sid
        for c in SETTLEMENT_HEADER[1:]:
            v = vals.get(c, "")
            if isinstance(v, str):
                lit += "\t" + v
            else:
                parts.append(pa.scalar(lit + "\t", tx.LS))
                parts.append(tx.to_str(v, n))
                lit = ""
        parts.append(pa.scalar(lit, tx.LS))
        line = pc.binary_join_element_wise(*parts, pa.scalar("", tx.LS))
        amt = np.zeros(n, dtype=np.int64) if amount_c is None else np.asarray(amount_c, dtype=np.int64)
        self.parts.append((np.asarray(posted).astype("datetime64[s]").astype(np.int64), np.full(n, block),
                           np.broadcast_to(seq, (n,)).astype(np.int64), line, amt))

    def finish(self) -> tuple[pa.Array, int]:
        if not self.parts:
            return pa.array([], tx.LS), 0
        posted = np.concatenate([p[0] for p in self.parts])
        block = np.concatenate([p[1] for p in self.parts])
        seq = np.concatenate([p[2] for p in self.parts])
        lines = pa.concat_arrays([p[3] for p in self.parts])
        total = int(sum(int(p[4].sum()) for p in self.parts))
        order = np.lexsort((seq, posted, block))
        return lines.take(pa.array(order)), total


def write_settlements(world: World, store_id: str, lines: pd.DataFrame, out: Path, ad_spend: dict[str, int],
                      dirty: DirtyLog, duplicate: bool) -> list[Path]:
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    de = s[3] == "DE"
    r = rng_for(world.seed, 70, si)
    per = world.period
    mk = "Amazon.de" if de else "Amazon.com"
    anchor = (per.start_date - np.timedelta64(1, "D")).astype("datetime64[s]") + np.timedelta64(22 * 3600 + 7 * 60 + 18, "s")
    stop = per.end_date.astype("datetime64[s]") + np.timedelta64(86399, "s")
    launch = world.launch[store_id].astype("datetime64[s]")
    starts = []
    t = anchor
    while t < stop:
        if t + np.timedelta64(14, "D") > launch:
            starts.append(t)
        t = t + np.timedelta64(14, "D")
    ends = [min(a + np.timedelta64(14, "D"), stop) for a in starts]
    # line-level amounts (cents)
    st = lines["status"].to_numpy()
    afn = lines["afn"].to_numpy()
    item_c = tx.cents(lines["item_price"])
    tax_c = np.zeros(len(lines), dtype=np.int64) if de else tx.cents(lines["tax"])
    ship_c = tx.cents(lines["ship_fee"])
    promo_c = tx.cents(lines["promo"])
    ss = world.store_skus[store_id].set_index("sku")
    rate = ss.loc[lines["sku"], "commission"].to_numpy()
    comm_c = np.maximum(np.round((item_c - promo_c + ship_c) * rate).astype(np.int64), 30)
    fba_c = np.where(afn, np.round(ss.loc[lines["sku"], "fba_fee"].to_numpy() * lines["qty"].to_numpy() * (0.95 if de else 1.0) * 100), 0).astype(np.int64)
    refund_comm_c = np.minimum(np.round(comm_c * 0.2).astype(np.int64), 500)
    ship_ts = lines["ship_ts_utc"].to_numpy()
    ret_ts = lines["ret_ts_utc"].to_numpy()
    posted_o = np.where(np.isin(st, ["shipped", "delivered", "returned"]), ship_ts, np.datetime64("NaT"))
    shipment = np.char.add("B", zpad(perm_ids(lines["order_idx"].to_numpy(), 9, 982451653, 7 + si), 9))
    adj = np.char.add("amzn1:crow:", zpad(perm_ids(np.arange(len(lines)), 18, 1000000007, 99 + si), 18))
    adj_item = zpad(perm_ids(np.arange(len(lines)), 18, 998244353, 5 + si), 19)
    # monthly other transactions
    months = per.months
    live = lines[st != "cancelled"]
    msales = live.groupby(live["day"].to_numpy().astype("datetime64[M]"))["item_price"].sum()
    others = []  # (posted, block, ttype, fields, amount_col, cents)
    for mi, m in enumerate(months):
        mstart = np.datetime64(m + "-01")
        if np.datetime64(m) < world.launch[store_id].astype("datetime64[M]"):
            continue
        nxt = (np.datetime64(m) + 1).astype("datetime64[D]")
        if ad_spend.get(m):
            others.append((nxt.astype("datetime64[s]") - np.timedelta64(4 * 3600 - si * 60, "s"), 3, "ServiceFee",
                           {"item-related-fee-type": "Cost of Advertising"}, "item-related-fee-amount", -ad_spend[m]))
        sales_m = float(msales.get(np.datetime64(m), 0.0))
        q4 = 2.5 if m[5:] in ("10", "11", "12") else 1.0
        others.append((nxt.astype("datetime64[s]") + np.timedelta64(6 * 86400 + 3 * 3600 + 14 * 60 + 15, "s"), 3,
                       "Storage Fee", {}, "other-amount", -round(float(sales_m * r.uniform(0.006, 0.011) * q4 * 100))))
        if m[5:] in ("02", "05", "08", "11"):
            others.append((mstart.astype("datetime64[s]") + np.timedelta64(14 * 86400 + 5 * 3600, "s"), 3,
                           "StorageRenewalBilling", {}, "other-amount", -round(float(sales_m * r.uniform(0.001, 0.003) * 100))))
        sub_day = min(int(str(world.launch[store_id])[8:10]), 28) - 1
        others.append((mstart.astype("datetime64[s]") + np.timedelta64(sub_day * 86400 + 4 * 3600 + 9 * 60 + 26, "s"), 3,
                       "Subscription Fee", {}, "other-amount", -3900 if de else -3999))
        ssk = world.store_skus[store_id]
        for j in range(int(r.integers(0, 3))):
            k = int(r.integers(0, len(ssk)))
            q = int(r.integers(1, 4))
            kind = ["WAREHOUSE_DAMAGE", "WAREHOUSE_LOST", "REVERSAL_REIMBURSEMENT"][int(r.integers(0, 3))]
            others.append((mstart.astype("datetime64[s]") + np.timedelta64(int(r.integers(0, 27 * 86400)), "s"), 3, kind,
                           {"sku": ssk["sku"].iat[k], "quantity-purchased": str(q)}, "other-amount",
                           round(float(ssk["price"].iat[k] * 0.62 * q * 100))))
    files = []
    for wi, (a, b) in enumerate(zip(starts, ends)):
        sid = str(20_000_000_000 + si * 700_000_000 + wi * 14_350_117 + 7_001)
        rows = _Rows(sid)
        o = np.flatnonzero((posted_o >= a) & (posted_o < b))
        com = {"transaction-type": "Order", "order-id": lines["order_id"].to_numpy()[o],
               "merchant-order-id": lines["order_id"].to_numpy()[o], "shipment-id": shipment[o], "marketplace-name": mk,
               "fulfillment-id": np.where(afn[o], "AFN", "MFN").astype(object), "order-item-code": lines["item_code"].to_numpy()[o],
               "sku": lines["sku"].to_numpy()[o]}
        po = posted_o[o]
        com = {k: (v if isinstance(v, str) else tx.to_str(v)) for k, v in com.items()}
        com["posted-date"] = tx.join(tx.fmt_dt(po, "%Y-%m-%dT%H:%M:%S"), "+00:00")
        oidx = o.astype(np.int64) * 10
        rows.add(po, 1, oidx + 0, None, None, **com, **{"quantity-purchased": lines["qty"].to_numpy()[o].astype(np.int64)})
        rows.add(po, 1, oidx + 1, item_c[o], "price-amount", **com, **{"price-type": "Principal"})
        if not de:
            rows.add(po, 1, oidx + 2, tax_c[o], "price-amount", **com, **{"price-type": "Tax"})
        sp = ship_c[o] > 0
        rows.add(po[sp], 1, oidx[sp] + 3, ship_c[o][sp], "price-amount", **_sub(com, sp), **{"price-type": "Shipping"})
        rows.add(po, 1, oidx + 4, -comm_c[o], "item-related-fee-amount", **com, **{"item-related-fee-type": "Commission"})
        fa = afn[o]
        rows.add(po[fa], 1, oidx[fa] + 5, -fba_c[o][fa], "item-related-fee-amount", **_sub(com, fa),
                 **{"item-related-fee-type": "FBAPerUnitFulfillmentFee"})
        if not de:
            rows.add(po, 1, oidx + 6, -tax_c[o], "item-related-fee-amount", **com,
                     **{"item-related-fee-type": "MarketplaceFacilitatorTax-Principal"})
        pm = promo_c[o] > 0
        rows.add(po[pm], 1, oidx[pm] + 7, -promo_c[o][pm], "promotion-amount", **_sub(com, pm),
                 **{"promotion-id": "PLM-" + str(si), "promotion-type": "Principal"})
        # refunds
        f = np.flatnonzero((ret_ts >= a) & (ret_ts < b))
        rc = {"transaction-type": "Refund", "order-id": lines["order_id"].to_numpy()[f],
              "merchant-order-id": lines["order_id"].to_numpy()[f], "adjustment-id": adj[f], "marketplace-name": mk,
              "fulfillment-id": np.where(afn[f], "AFN", "MFN").astype(object),
              "order-item-code": lines["item_code"].to_numpy()[f], "merchant-adjustment-item-id": adj_item[f],
              "sku": lines["sku"].to_numpy()[f]}
        pf = ret_ts[f]
        rc = {k: (v if isinstance(v, str) else tx.to_str(v)) for k, v in rc.items()}
        rc["posted-date"] = tx.join(tx.fmt_dt(pf, "%Y-%m-%dT%H:%M:%S"), "+00:00")
        fidx = f.astype(np.int64) * 10
        rows.add(pf, 2, fidx + 1, -item_c[f], "price-amount", **rc, **{"price-type": "Principal"})
        if not de:
            rows.add(pf, 2, fidx + 2, -tax_c[f], "price-amount", **rc, **{"price-type": "Tax"})
        rows.add(pf, 2, fidx + 4, comm_c[f], "item-related-fee-amount", **rc, **{"item-related-fee-type": "Commission"})
        rows.add(pf, 2, fidx + 5, -refund_comm_c[f], "item-related-fee-amount", **rc,
                 **{"item-related-fee-type": "RefundCommission"})
        if not de:
            rows.add(pf, 2, fidx + 6, tax_c[f], "item-related-fee-amount", **rc,
                     **{"item-related-fee-type": "MarketplaceFacilitatorTax-Principal"})
        pm = promo_c[f] > 0
        rows.add(pf[pm], 2, fidx[pm] + 7, promo_c[f][pm], "promotion-amount", **_sub(rc, pm),
                 **{"promotion-id": "PLM-" + str(si), "promotion-type": "Principal"})
        for j, (pt, blk, ttype, flds, col, amt) in enumerate(others):
            if a <= pt < b:
                rows.add(np.array([pt]), blk, np.array([j]), np.array([amt]), col, **{"transaction-type": ttype}, **flds)
        body, total = rows.finish()
        iso = lambda x: str(x.astype("datetime64[s]")) + "+00:00"
        summary = "\t".join([sid, iso(a), iso(b), iso(b + np.timedelta64(2, "D")), tx.money_c(np.array([total]))[0].as_py(),
                             s[4]] + [""] * (len(SETTLEMENT_HEADER) - 6))
        path = out / store_id / "settlements" / f"{sid}.txt"
        _write_lines(path, "\t".join(SETTLEMENT_HEADER), pa.concat_arrays([pa.array([summary], tx.LS), body]))
        files.append(path)
        if duplicate and wi == 1:
            copy = out / store_id / "settlements" / f"re-export_{sid}.txt"
            copy.write_bytes(path.read_bytes())
            tx.ROWS[str(copy)] = tx.ROWS[str(path)]
            files.append(copy)
            for ln in range(2, len(body) + 3):
                dirty.add(copy, ln, "duplicate_file", f"same settlement {sid} exported twice", duplicate_of=path.relative_to(out).as_posix())
    return files


def _sub(d: dict, mask: np.ndarray) -> dict:
    m = pa.array(np.asarray(mask, dtype=bool))
    return {k: (v.filter(m) if isinstance(v, pa.Array) else (v[mask] if isinstance(v, np.ndarray) else v))
            for k, v in d.items()}
