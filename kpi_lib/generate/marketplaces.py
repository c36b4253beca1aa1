"""Order exports of Shopee (xlsx, Malaysia layout), TikTok Shop (CSV with a description line),
Shopify (orders_export CSV) and the Chinese ERP (GB18030 CSV, for Lazada and Walmart)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import textio as tx
from .common import DirtyLog, month_slices, perm_ids, utc_offset_str, zpad
from .core import STORE_IDS, STORES, World, rng_for
from .native import tiktok_order_ids

SHOPEE_HEADER = ['Order ID', 'Order Status', 'Cancel reason', 'Return / Refund Status', 'Tracking Number*', 'Shipping Option',
                 'Shipment Method', 'Estimated Ship Out Date', 'Ship Time', 'Order Creation Date', 'Order Paid Time',
                 'Parent SKU Reference No.', 'Product Name', 'SKU Reference No.', 'Variation Name', 'Original Price',
                 'Deal Price', 'Quantity', 'Returned quantity', 'Product Subtotal', 'Seller Rebate', 'Seller Discount',
                 'Shopee Rebate', 'SKU Total Weight', 'No of product in order', 'Order Total Weight',
                 'Voucher Code From Seller', 'Seller Voucher', 'Seller Absorbed Coin Cashback', 'Shopee Voucher',
                 'Bundle Deal Indicator', 'Shopee Bundle Discount', 'Seller Bundle Discount', 'Shopee Coins Offset',
                 'Credit Card Discount Total', 'Total Amount', 'Buyer Paid Shipping Fee', 'Shipping Rebate Estimate',
                 'Reverse Shipping Fee', 'Transaction Fee', 'Commission Fee', 'Service Fee', 'Grand Total',
                 'Estimated Shipping Fee', 'Username (Buyer)', 'Receiver Name', 'Phone Number', 'Delivery Address', 'Town',
                 'District', 'City', 'Province', 'Country', 'Zip Code', 'Remark from buyer', 'Order Complete Time', 'Note']
# columns written as numbers in the xlsx (the real report mixes numbers and '0.00' text)
SHOPEE_NUMERIC = {'Original Price', 'Deal Price', 'Quantity', 'Returned quantity', 'Product Subtotal',
                  'No of product in order', 'Shopee Voucher', 'Total Amount', 'Buyer Paid Shipping Fee',
                  'Shipping Rebate Estimate', 'Transaction Fee', 'Commission Fee', 'Service Fee', 'Grand Total',
                  'Estimated Shipping Fee'}
TIKTOK_HEADER = ["Order ID", "Order Status", "Order Substatus", "Cancelation/Return Type", "Normal or Pre-order", "SKU ID", "Seller SKU", "Product Name", "Variation", "Quantity", "Sku Quantity of return", "SKU Unit Original Price", "SKU Subtotal Before Discount", "SKU Platform Discount", "SKU Seller Discount", "SKU Subtotal After Discount", "Shipping Fee After Discount", "Original Shipping Fee", "Shipping Fee Seller Discount", "Shipping Fee Platform Discount", "Payment platform discount", "Taxes", "Small Order Fee", "Order Amount", "Order Refund Amount", "Created Time", "Paid Time", "RTS Time", "Shipped Time", "Delivered Time", "Cancelled Time", "Cancel By", "Cancel Reason", "Fulfillment Type", "Warehouse Name", "Tracking ID", "Delivery Option", "Shipping Provider Name", "Buyer Message", "Buyer Username", "Recipient", "Phone #", "Zipcode", "Country", "State", "City", "Payment Method", "Weight(kg)", "Product Category", "Package ID", "Seller Note", "Checked Status", "Checked Marked by"]
TIKTOK_DESC = [
    "Platform unique order ID.", "Current order status.", "Order substatus.", "Cancellation or return type.",
    "Normal or pre-order.", "Platform unique SKU ID.", "SKU ID set by the seller.", "Product name.", "SKU variation.",
    "SKU quantity.", "Returned SKU quantity.", "SKU unit original price.", "SKU subtotal before discount.",
    "Platform discount on the SKU.", "Seller discount on the SKU.", "SKU subtotal after discount.",
    "Shipping fee after discount.", "Original shipping fee.", "Seller discount on shipping.",
    "Platform discount on shipping.", "Payment platform discount.", "Taxes.", "Small order fee.",
    "Total order amount.", "Total refund amount of the order.", "Order creation time.", "Order payment time.",
    "Ready to ship time.", "Shipped time.", "Delivered time.", "Cancelled time.", "Who cancelled the order.",
    "Reason for cancellation.", "Fulfillment type.", "Warehouse name.", "Tracking ID.", "Delivery option.",
    "Shipping provider name.", "Buyer message.", "Buyer username.", "Recipient name.", "Recipient phone number.",
    "Zipcode.", "Country.", "State.", "City.", "Payment method.", "Package weight in kg.", "Product category.",
    "Package ID.", "Seller note.", "Checked status.", "Checked marked by."]
SHOPIFY_HEADER = ['Name', 'Email', 'Financial Status', 'Paid at', 'Fulfillment Status', 'Fulfilled at', 'Accepts Marketing',
                  'Currency', 'Subtotal', 'Shipping', 'Taxes', 'Total', 'Discount Code', 'Discount Amount', 'Shipping Method',
                  'Created at', 'Lineitem quantity', 'Lineitem name', 'Lineitem price', 'Lineitem compare at price',
                  'Lineitem sku', 'Lineitem requires shipping', 'Lineitem taxable', 'Lineitem fulfillment status',
                  'Billing Name', 'Billing Street', 'Billing Address1', 'Billing Address2', 'Billing Company', 'Billing City',
                  'Billing Zip', 'Billing Province', 'Billing Country', 'Billing Phone', 'Shipping Name', 'Shipping Street',
                  'Shipping Address1', 'Shipping Address2', 'Shipping Company', 'Shipping City', 'Shipping Zip',
                  'Shipping Province', 'Shipping Country', 'Shipping Phone', 'Notes', 'Note Attributes', 'Cancelled at',
                  'Payment Method', 'Payment Reference', 'Refunded Amount', 'Vendor', 'Outstanding Balance', 'Employee',
                  'Location', 'Device ID', 'Id', 'Tags', 'Risk Level', 'Source', 'Lineitem discount', 'Tax 1 Name',
                  'Tax 1 Value', 'Tax 2 Name', 'Tax 2 Value', 'Tax 3 Name', 'Tax 3 Value', 'Tax 4 Name', 'Tax 4 Value',
                  'Tax 5 Name', 'Tax 5 Value', 'Phone', 'Receipt Number', 'Duties', 'Billing Province Name',
                  'Shipping Province Name', 'Payment ID', 'Payment Terms Name', 'Next Payment Due At', 'Payment References']
ERP_HEADER = ["订单编号", "平台订单号", "店铺名称", "平台", "站点", "付款时间", "订单状态", "商品SKU", "商品名称", "数量", "单价", "商品总额", "优惠金额", "运费", "平台佣金", "交易手续费", "平台履约费", "退款金额", "币种", "发货时间", "物流方式"]

MY_PLACES = [("Setapak", "W.P. Kuala Lumpur", "W.P. Kuala Lumpur", "53000"), ("Bukit Besar", "Kuala Terengganu", "Terengganu", "21100"),
             ("Bandaraya Georgetown", "Timur Laut", "Pulau Pinang", "11600"), ("Kuala Kuantan", "Kuantan", "Pahang", "25150"),
             ("Petaling Jaya", "Petaling", "Selangor", "46000"), ("Johor Bahru", "Johor Bahru", "Johor", "80000")]
SG_PLACES = [("Tampines", "Tampines", "Singapore", "520201"), ("Jurong West", "Jurong West", "Singapore", "640638"),
             ("Bedok", "Bedok", "Singapore", "460105"), ("Woodlands", "Woodlands", "Singapore", "730888")]
US_PLACES = [("90012", "California", "Los Angeles"), ("10001", "New York", "New York"), ("77002", "Texas", "Houston"),
             ("60601", "Illinois", "Chicago"), ("98101", "Washington", "Seattle"), ("33101", "Florida", "Miami"),
             ("30303", "Georgia", "Atlanta"), ("85004", "Arizona", "Phoenix")]


def _order_agg(lines: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """Order-level sum broadcast back to every line of the order."""
    oi = lines["order_idx"].to_numpy()
    return np.bincount(oi, weights=values, minlength=int(oi.max()) + 1 if len(oi) else 0)[oi]


def _b36(v: np.ndarray, width: int) -> np.ndarray:
    chars = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    v = np.asarray(v, dtype=np.int64).copy()
    out = np.empty((len(v), width), dtype="U1")
    for i in range(width - 1, -1, -1):
        out[:, i] = chars[v % 36]
        v //= 36
    return np.ascontiguousarray(out).view(f"U{width}").ravel() if len(v) else np.array([], dtype=f"U{width}")


def _first_mask(lines: pd.DataFrame) -> np.ndarray:
    return lines["line_no"].to_numpy() == 1


def _pick_rows(lines: pd.DataFrame, idx: np.ndarray, r: np.random.Generator, n: int) -> np.ndarray:
    """Single-line, non-cancelled orders between day 5 and 20 of the month (never in the overlap window)."""
    d = lines["day"].to_numpy().astype("datetime64[D]")[idx]
    dom = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    ok = (lines["n_lines"].to_numpy()[idx] == 1) & (lines["status"].to_numpy()[idx] != "cancelled") & (dom >= 5) & (dom <= 20)
    cand = np.flatnonzero(ok)
    if len(cand) < n:
        return np.array([], dtype=int)
    return np.sort(r.choice(cand, size=n, replace=False))


Injector = tuple[str, str, Callable[[str], str], str]  # kind, column, transform, detail prefix


def write_monthly(world: World, store_id: str, lines: pd.DataFrame, out: Path, dirty: DirtyLog, *, header: list[str],
                  cols: dict[str, Any], subdir: str, ext: str, kind: str, inject: list[Injector] = (),
                  overlap: bool = False, totals: Callable[[dict[str, np.ndarray]], list[str]] | None = None,
                  desc: list[str] | None = None, numeric: set[str] = frozenset()) -> list[Path]:
    si = STORE_IDS.index(store_id)
    r = rng_for(world.seed, 80, si)
    n = len(lines)
    arrs = {c: tx.to_str(v, n) if not isinstance(v, (str, np.ndarray)) or (isinstance(v, np.ndarray) and v.dtype.kind in "iuU")
            else v for c, v in cols.items()}
    day = lines["day"].to_numpy().astype("datetime64[D]")
    slices = month_slices(day, world.period.months)
    first_line = 3 if desc else 2
    files = []
    prev_tail: dict[str, np.ndarray] | None = None
    inj_month = min(5, len(slices) - 2)
    for mi, (m, mask) in enumerate(slices):
        idx = np.flatnonzero(mask)
        month = {}
        for c in header:
            v = arrs[c]
            if isinstance(v, str):
                month[c] = np.full(len(idx), v, dtype=object)
            elif isinstance(v, pa.Array):
                month[c] = v.take(pa.array(idx)).to_numpy(zero_copy_only=False).astype(object)
            else:
                month[c] = np.asarray(v)[idx].astype(object)
        path = out / store_id / subdir / f"{m}.{ext}"
        if inject and mi == inj_month and len(slices) > 2:
            pick = _pick_rows(lines, idx, r, len(inject))
            for j, (k, col, fn, what) in zip(pick, inject):
                old = month[col][j]
                month[col][j] = fn(str(old))
                dirty.add(path, first_line + int(j), k, f"{what}: {month[col][j]!r}")
        n_pre = 0
        if overlap and prev_tail is not None and mi == len(slices) - 1:
            n_pre = len(prev_tail[header[0]])
            for j in range(n_pre):
                dirty.add(path, first_line + j, "duplicate", "repeated from the previous month's export (overlapping window)")
            month = {c: np.concatenate([prev_tail[c], month[c]]) for c in header}
            # shift injected rows? (injection never happens in the last month)
        last3 = np.r_[np.zeros(n_pre, dtype=bool), day[idx] >= (np.datetime64(m) + 1).astype("datetime64[D]") - np.timedelta64(3, "D")]
        prev_tail = {c: month[c][last3] for c in header}
        post: list[str] = []
        nrows = len(month[header[0]])
        if totals is not None and mi == inj_month + 1:
            tot = totals(month)
            if kind != "xlsx":
                post = [",".join(tot)]
            dirty.add(path, first_line + nrows, "totals_row", "the export's own totals line")
        if kind == "xlsx":
            _write_xlsx(path, header, month, numeric)
        else:
            enc = "gb18030" if kind == "csv-gb18030" else "utf-8"
            tx.write_delimited(path, header, [month[c] for c in header], ",", encoding=enc,
                               pre=[",".join(f'"{d}"' if "," in d else d for d in desc)] if desc else (), post=post)
        files.append(path)
    return files


def _write_xlsx(path: Path, header: list[str], month: dict[str, np.ndarray], numeric: set[str]) -> None:
    from .xlsx import write_xlsx

    write_xlsx(path, header, [month[c] for c in header], [c in numeric for c in header], sheet="orders")


# ---- Shopee --------------------------------------------------------------------------------------


def write_shopee(world: World, store_id: str, lines: pd.DataFrame, out: Path, dirty: DirtyLog, inject: bool,
                 use_xlsx: bool) -> list[Path]:
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    r = rng_for(world.seed, 90, si)
    n = len(lines)
    oi = lines["order_idx"].to_numpy()
    no = int(oi.max()) + 1 if n else 0
    st = lines["status"].to_numpy()
    ts = lines["ts"].to_numpy().astype("datetime64[s]")
    oid = tx.join(tx.fmt_dt(ts, "%Y%m%d"), _b36(perm_ids(oi, 12, 2654435761, 12345 + si), 8).astype(object))
    from pyarrow import compute as pc
    oid = pc.utf8_slice_codeunits(oid, 2)
    places = SG_PLACES if s[3] == "SG" else MY_PLACES
    pl = r.integers(0, len(places), no)[oi]
    ostat = np.select([st == "cancelled", st == "pending", st == "shipped"], ["Cancelled", "To ship", "Shipping"], "Completed").astype(object)
    retq = np.where(st == "returned", lines["qty"].to_numpy(), 0)
    item = lines["item_price"].to_numpy()
    promo = lines["promo"].to_numpy()
    w = world.skus.set_index("sku").loc[lines["sku"], "weight"].to_numpy() * lines["qty"].to_numpy()
    voucher_o = np.where(r.random(no) < 0.2, np.round(r.uniform(1, 5, no)), 0.0)[oi]
    ship_o = np.where(r.random(no) < 0.6, 0.0, np.round(r.choice([4.9, 6.3, 9.0], no), 2))[oi]
    subtotal = item - promo
    total = np.round(_order_agg(lines, subtotal) - voucher_o + ship_o, 2)
    txn = total * 0.03
    comm = total * 0.05
    svc = total * 0.025
    created = tx.fmt_dt(ts, "%Y-%m-%d %H:%M")
    paid = tx.fmt_dt(np.where(st == "cancelled", np.datetime64("NaT"), ts + np.timedelta64(300, "s")), "%Y-%m-%d %H:%M")
    complete = np.where(np.isin(st, ["delivered", "returned"]), lines["deliv_ts"].to_numpy().astype("datetime64[s]") + np.timedelta64(2, "D"),
                        np.datetime64("NaT"))
    track = np.char.add(np.char.add(s[3], zpad(perm_ids(oi, 8, 40503, 77 + si), 8)), "C")
    track = np.where(np.isin(st, ["cancelled", "pending"]), "", track).astype(object)
    user = np.char.add("buyer", zpad(perm_ids(oi, 6, 7919, 3 + si), 6)).astype(object)
    cols = {
        "Order ID": oid, "Order Status": ostat,
        "Cancel reason": np.where(st == "cancelled", "Buyer: Need to change delivery address", "").astype(object),
        "Return / Refund Status": np.where(st == "returned", "Request Approved", "").astype(object),
        "Tracking Number*": track, "Shipping Option": "Standard Delivery", "Shipment Method": "Drop-off",
        "Estimated Ship Out Date": tx.fmt_dt(ts + np.timedelta64(2, "D"), "%Y-%m-%d 23:59"),
        "Ship Time": tx.fmt_dt(lines["ship_ts"].to_numpy(), "%Y-%m-%d %H:%M"), "Order Creation Date": created,
        "Order Paid Time": paid, "Parent SKU Reference No.": lines["sku"].to_numpy().astype(object),
        "Product Name": lines["name"].to_numpy().astype(object), "SKU Reference No.": lines["sku"].to_numpy().astype(object),
        "Variation Name": "", "Original Price": tx.money(np.round(lines["unit_price"].to_numpy() * 1.25, 1)),
        "Deal Price": tx.money(lines["unit_price"]), "Quantity": lines["qty"].to_numpy(), "Returned quantity": retq,
        "Product Subtotal": tx.money(item), "Seller Rebate": "0.00", "Seller Discount": tx.money(promo), "Shopee Rebate": "0.00",
        "SKU Total Weight": tx.num(w, 3), "No of product in order": _order_agg(lines, lines["qty"].to_numpy().astype(float)).astype(np.int64),
        "Order Total Weight": tx.num(_order_agg(lines, w), 3), "Voucher Code From Seller": np.where(voucher_o > 0, "HOMEHUB5", "").astype(object),
        "Seller Voucher": tx.money(voucher_o), "Seller Absorbed Coin Cashback": "0.00", "Shopee Voucher": "0",
        "Bundle Deal Indicator": "N", "Shopee Bundle Discount": "0.00", "Seller Bundle Discount": "0.00",
        "Shopee Coins Offset": "0", "Credit Card Discount Total": "0.00", "Total Amount": tx.money(total),
        "Buyer Paid Shipping Fee": tx.money(ship_o), "Shipping Rebate Estimate": "0", "Reverse Shipping Fee": "0.00",
        "Transaction Fee": tx.num(txn, 4), "Commission Fee": tx.num(comm, 4), "Service Fee": tx.num(svc, 4),
        "Grand Total": tx.money(total), "Estimated Shipping Fee": tx.money(np.where(ship_o > 0, ship_o, 4.9)),
        "Username (Buyer)": user, "Receiver Name": "K****i", "Phone Number": "******" + "15",
        "Delivery Address": "Po******", "Town": "",
        "District": np.array([p[0] for p in places], dtype=object)[pl], "City": np.array([p[1] for p in places], dtype=object)[pl],
        "Province": np.array([p[2] for p in places], dtype=object)[pl], "Country": s[3],
        "Zip Code": np.array([p[3] for p in places], dtype=object)[pl], "Remark from buyer": "",
        "Order Complete Time": tx.fmt_dt(complete, "%Y-%m-%d %H:%M"), "Note": "",
    }
    inj = []
    if inject:
        inj = [("bad_date", "Order Creation Date", lambda v: v[:5] + "13-45" + v[10:], "Order Creation Date"),
               ("negative_quantity", "Quantity", lambda v: "-" + v, "Quantity")]
    return write_monthly(world, store_id, lines, out, dirty, header=SHOPEE_HEADER, cols=cols, subdir="orders",
                         ext="xlsx" if use_xlsx else "csv", kind="xlsx" if use_xlsx else "csv", inject=inj,
                         numeric=SHOPEE_NUMERIC)


# ---- TikTok Shop ---------------------------------------------------------------------------------


def write_tiktok(world: World, store_id: str, lines: pd.DataFrame, out: Path, dirty: DirtyLog, inject: bool,
                 overlap: bool) -> list[Path]:
    si = STORE_IDS.index(store_id)
    r = rng_for(world.seed, 100, si)
    n = len(lines)
    oi = lines["order_idx"].to_numpy()
    no = int(oi.max()) + 1 if n else 0
    st = lines["status"].to_numpy()
    ts = lines["ts"].to_numpy().astype("datetime64[s]")
    oid = tiktok_order_ids(oi, si)
    fmt = "%m/%d/%Y %I:%M:%S %p"
    item = lines["item_price"].to_numpy()
    promo = lines["promo"].to_numpy()
    plat = np.where(r.random(n) < 0.15, np.round(item * 0.1, 2), 0.0)
    after = np.round(item - promo - plat, 2)
    ship_orig = np.where(r.random(no) < 0.5, 5.99, 0.0)[oi]
    ship_plat = np.where(r.random(no)[oi] < 0.3, ship_orig, 0.0)
    ship_after = ship_orig - ship_plat
    pl = r.integers(0, len(US_PLACES), no)[oi]
    tax = np.round(_order_agg(lines, after) * 0.07, 2)
    amount = np.round(_order_agg(lines, after) + ship_after + tax, 2)
    refund = np.round(_order_agg(lines, np.where(st == "returned", after, 0.0)), 2)
    refund = np.where(refund > 0, refund + 0.0, 0.0)
    sku_id = zpad(perm_ids(lines["k"].to_numpy() + 1000 * si, 17, 9007199254740881, 12345678901 + si), 17)
    ostat = np.select([st == "cancelled", st == "pending", st == "shipped"], ["Cancelled", "To ship", "Shipped"], "Completed").astype(object)
    sub = np.select([st == "cancelled", st == "pending", st == "shipped"], ["Cancelled", "Awaiting shipment", "In transit"], "Completed").astype(object)
    cat = pd.Series(lines["category"].to_numpy()).str.title().to_numpy().astype(object)
    cols = {
        "Order ID": oid, "Order Status": ostat, "Order Substatus": sub,
        "Cancelation/Return Type": np.select([st == "cancelled", st == "returned"], ["Cancel", "Return/Refund"], "").astype(object),
        "Normal or Pre-order": "Normal", "SKU ID": np.char.add("17", sku_id).astype(object),
        "Seller SKU": lines["sku"].to_numpy().astype(object), "Product Name": lines["name"].to_numpy().astype(object),
        "Variation": "Default", "Quantity": lines["qty"].to_numpy(),
        "Sku Quantity of return": np.where(st == "returned", lines["qty"].to_numpy(), 0),
        "SKU Unit Original Price": tx.money(lines["unit_price"]), "SKU Subtotal Before Discount": tx.money(item),
        "SKU Platform Discount": tx.money(plat), "SKU Seller Discount": tx.money(promo), "SKU Subtotal After Discount": tx.money(after),
        "Shipping Fee After Discount": tx.money(ship_after), "Original Shipping Fee": tx.money(ship_orig),
        "Shipping Fee Seller Discount": "0", "Shipping Fee Platform Discount": tx.money(ship_plat),
        "Payment platform discount": "0", "Taxes": tx.money(tax), "Small Order Fee": "0", "Order Amount": tx.money(amount),
        "Order Refund Amount": tx.money(refund), "Created Time": tx.fmt_dt(ts, fmt),
        "Paid Time": tx.fmt_dt(ts + np.timedelta64(40, "s"), fmt),
        "RTS Time": tx.fmt_dt(lines["ship_ts"].to_numpy().astype("datetime64[s]") - np.timedelta64(3 * 3600, "s"), fmt),
        "Shipped Time": tx.fmt_dt(lines["ship_ts"].to_numpy(), fmt), "Delivered Time": tx.fmt_dt(lines["deliv_ts"].to_numpy(), fmt),
        "Cancelled Time": tx.fmt_dt(np.where(st == "cancelled", ts + np.timedelta64(5400, "s"), np.datetime64("NaT")), fmt),
        "Cancel By": np.where(st == "cancelled", "Buyer", "").astype(object),
        "Cancel Reason": np.where(st == "cancelled", "No longer needed", "").astype(object),
        "Fulfillment Type": "Fulfillment by seller", "Warehouse Name": "Ontario CA Warehouse",
        "Tracking ID": np.where(np.isin(st, ["cancelled", "pending"]), "", np.char.add("9400", zpad(perm_ids(oi, 18, 7777777, 1 + si), 18))).astype(object),
        "Delivery Option": "Standard shipping", "Shipping Provider Name": "USPS", "Buyer Message": "",
        "Buyer Username": np.char.add("user", zpad(perm_ids(oi, 8, 104723, 11 + si), 8)).astype(object),
        "Recipient": "J***n D***", "Phone #": "(+1)213*****89",
        "Zipcode": np.array([p[0] for p in US_PLACES], dtype=object)[pl], "Country": "United States",
        "State": np.array([p[1] for p in US_PLACES], dtype=object)[pl], "City": np.array([p[2] for p in US_PLACES], dtype=object)[pl],
        "Payment Method": np.where(r.random(no) < 0.7, "Credit card", "PayPal")[oi].astype(object),
        "Weight(kg)": tx.num(world.skus.set_index("sku").loc[lines["sku"], "weight"].to_numpy() * lines["qty"].to_numpy(), 2),
        "Product Category": cat, "Package ID": np.char.add("11", zpad(perm_ids(oi, 16, 3037000493, 5 + si), 16)).astype(object),
        "Seller Note": "", "Checked Status": "unchecked", "Checked Marked by": "",
    }
    inj = []
    if inject:
        inj = [("unknown_sku", "Seller SKU", lambda v: "ZZ-8" + v[-3:], "Seller SKU not in skus.csv"),
               ("bad_date", "Created Time", lambda v: "13/45/" + v[6:], "Created Time")]
    return write_monthly(world, store_id, lines, out, dirty, header=TIKTOK_HEADER, cols=cols, subdir="orders", ext="csv",
                         kind="csv", inject=inj, overlap=overlap, desc=TIKTOK_DESC)


# ---- Shopify -------------------------------------------------------------------------------------


def write_shopify(world: World, store_id: str, lines: pd.DataFrame, out: Path, dirty: DirtyLog, inject: bool) -> list[Path]:
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    r = rng_for(world.seed, 110, si)
    n = len(lines)
    oi = lines["order_idx"].to_numpy()
    no = int(oi.max()) + 1 if n else 0
    st = lines["status"].to_numpy()
    ts = lines["ts"].to_numpy().astype("datetime64[s]")
    first = _first_mask(lines)
    off = utc_offset_str(ts, s[5])
    fmt = "%Y-%m-%d %H:%M:%S"

    def ts_off(a: np.ndarray) -> pa.Array:
        a = np.asarray(a).astype("datetime64[s]")
        return pa.compute.if_else(pa.array(np.isnat(a)), "", tx.join(tx.fmt_dt(a, fmt), " ", off.astype(object)))

    import pyarrow.compute  # noqa: F401

    item = lines["item_price"].to_numpy()
    promo = lines["promo"].to_numpy()
    subtotal = np.round(_order_agg(lines, item - promo), 2)
    ship = np.where(subtotal >= 50, 0.0, 5.95)
    pl = r.integers(0, len(US_PLACES), no)[oi]
    rate = np.array([0.095, 0.08875, 0.0825, 0.1025, 0.1025, 0.07, 0.089, 0.086])[pl]
    taxes = np.round(subtotal * rate, 2)
    total = np.round(subtotal + ship + taxes, 2)
    ret_val = np.round(_order_agg(lines, np.where(st == "returned", (item - promo) * (1 + rate), 0.0)), 2)
    all_ret = _order_agg(lines, (st == "returned").astype(float)) == lines["n_lines"].to_numpy()
    cancelled = st == "cancelled"
    refunded = np.where(cancelled, total, np.where(all_ret, total, ret_val))
    fin = np.select([cancelled | all_ret, ret_val > 0], ["refunded", "partially_refunded"], "paid").astype(object)
    fulfilled = np.isin(st, ["shipped", "delivered", "returned"])
    name = np.char.add("#", (1001 + oi).astype(str)).astype(object)
    disc_code = np.where(promo > 0, "WELCOME10", "").astype(object)

    def fo(v: Any, empty: str = "") -> Any:  # only on an order's first line
        if isinstance(v, pa.Array):
            return pa.compute.if_else(pa.array(first), v, empty)
        return np.where(first, v, empty).astype(object)

    city = np.array([p[2] for p in US_PLACES], dtype=object)[pl]
    zipc = np.array([p[0] for p in US_PLACES], dtype=object)[pl]
    prov = np.array(["CA", "NY", "TX", "IL", "WA", "FL", "GA", "AZ"], dtype=object)[pl]
    email = np.char.add(np.char.add("customer", zpad(perm_ids(oi, 6, 7919, 5 + si), 6)), "@example.com").astype(object)
    cols: dict[str, Any] = {c: "" for c in SHOPIFY_HEADER}
    cols.update({
        "Name": name, "Email": fo(email), "Financial Status": fo(fin), "Paid at": fo(ts_off(ts + np.timedelta64(2, "s"))),
        "Fulfillment Status": fo(np.where(fulfilled, "fulfilled", "unfulfilled").astype(object)),
        "Fulfilled at": fo(ts_off(lines["ship_ts"].to_numpy())), "Accepts Marketing": fo(np.where(oi % 3 == 0, "yes", "no").astype(object)),
        "Currency": fo(np.full(n, "USD", dtype=object)), "Subtotal": fo(tx.money(subtotal)), "Shipping": fo(tx.money(ship)),
        "Taxes": fo(tx.money(taxes)), "Total": fo(tx.money(total)), "Discount Code": fo(disc_code),
        "Discount Amount": fo(tx.money(_order_agg(lines, promo))), "Shipping Method": fo(np.full(n, "Standard", dtype=object)),
        "Created at": ts_off(ts), "Lineitem quantity": lines["qty"].to_numpy(), "Lineitem name": lines["name"].to_numpy().astype(object),
        "Lineitem price": tx.money(lines["unit_price"]), "Lineitem compare at price": "",
        "Lineitem sku": lines["sku"].to_numpy().astype(object), "Lineitem requires shipping": "true", "Lineitem taxable": "true",
        "Lineitem fulfillment status": np.where(fulfilled, "fulfilled", "pending").astype(object),
        "Billing Name": fo(np.full(n, "masked-customer", dtype=object)), "Billing City": fo(city), "Billing Zip": fo(zipc),
        "Billing Province": fo(prov), "Billing Country": fo(np.full(n, "US", dtype=object)),
        "Shipping Name": fo(np.full(n, "masked-customer", dtype=object)), "Shipping City": fo(city), "Shipping Zip": fo(zipc),
        "Shipping Province": fo(prov), "Shipping Country": fo(np.full(n, "US", dtype=object)),
        "Cancelled at": fo(ts_off(np.where(cancelled, ts + np.timedelta64(7200, "s"), np.datetime64("NaT")))),
        "Payment Method": fo(np.full(n, "Shopify Payments", dtype=object)), "Refunded Amount": fo(tx.money(refunded)),
        "Vendor": "Homeware Hub", "Outstanding Balance": fo(np.full(n, "0.00", dtype=object)),
        "Id": fo(zpad(perm_ids(oi, 13, 2862933555777, 5000000000000 + si), 13).astype(object)),
        "Risk Level": fo(np.full(n, "Low", dtype=object)), "Source": fo(np.full(n, "web", dtype=object)),
        "Lineitem discount": tx.money(promo), "Tax 1 Name": fo(np.char.add(np.char.add(prov.astype(str), " State Tax "),
                                                                         np.char.mod("%.3g%%", rate * 100)).astype(object)),
        "Tax 1 Value": fo(tx.money(taxes)),
    })
    inj = []
    if inject:
        inj = [("negative_quantity", "Lineitem quantity", lambda v: "-" + v, "Lineitem quantity"),
               ("bad_date", "Created at", lambda v: v[:8] + "32" + v[10:], "Created at")]
    return write_monthly(world, store_id, lines, out, dirty, header=SHOPIFY_HEADER, cols=cols, subdir="orders", ext="csv",
                         kind="csv", inject=inj)


# ---- Chinese ERP (Lazada TH, Walmart US) ----------------------------------------------------------


def write_erp(world: World, store_id: str, lines: pd.DataFrame, out: Path, dirty: DirtyLog, inject: bool,
              totals: bool) -> list[Path]:
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    r = rng_for(world.seed, 120, si)
    n = len(lines)
    oi = lines["order_idx"].to_numpy()
    no = int(oi.max()) + 1 if n else 0
    st = lines["status"].to_numpy()
    ts = lines["ts"].to_numpy().astype("datetime64[s]")
    lzd = s[2] == "lazada"
    first = _first_mask(lines)
    item = lines["item_price"].to_numpy()
    promo = lines["promo"].to_numpy()
    ship = np.where(first, np.where(r.random(no) < 0.5, 0.0, 39.0 if lzd else 5.99)[oi], 0.0)
    # Lazada TH: commission ≈7% + payment fee 2% (incl. VAT); Walmart: referral 15%, no payment fee
    comm = np.round((item - promo) * (0.07 if lzd else 0.15), 2)
    fee = np.round((item - promo + ship) * 0.02, 2) if lzd else np.zeros(n)
    logi_o = r.random(no) < 0.6  # LEX TH / WFS (platform logistics) for 60% of orders
    weight = world.skus.set_index("sku").loc[lines["sku"], "weight"].to_numpy()
    if lzd:  # Lazada's shipping fee charged to the seller, once per order
        fulfil = np.where(first & logi_o[oi], np.round(r.uniform(28, 46, no)[oi], 2), 0.0)
    else:  # WFS fulfilment fee per unit, by weight
        fulfil = np.where(logi_o[oi], np.round(lines["qty"].to_numpy() * (3.45 + 1.1 * weight), 2), 0.0)
    refund = np.where(st == "returned", np.round(item - promo, 2), 0.0)
    erp_id = tx.join("XS", tx.fmt_dt(ts, "%Y%m%d"), zpad(perm_ids(oi, 6, 7919, 100 + si), 6).astype(object))
    plat_id = zpad(perm_ids(oi, 15 if lzd else 13, 6364136223 + si, 10**14 if lzd else 10**12), 15 if lzd else 13).astype(object)
    stat = np.select([st == "cancelled", st == "pending", st == "shipped", st == "returned"],
                     ["已取消", "待发货", "已发货", "已退款"], "已完成").astype(object)
    fmt = "%Y/%m/%d %H:%M:%S"
    logi = np.where(logi_o, "LEX TH" if lzd else "WFS", "Flash Express" if lzd else "USPS")[oi].astype(object)
    cols = {
        "订单编号": erp_id, "平台订单号": plat_id, "店铺名称": s[1], "平台": "Lazada" if lzd else "Walmart", "站点": s[3],
        "付款时间": tx.fmt_dt(ts + np.timedelta64(90, "s"), fmt), "订单状态": stat, "商品SKU": lines["sku"].to_numpy().astype(object),
        "商品名称": lines["name"].to_numpy().astype(object), "数量": lines["qty"].to_numpy(), "单价": tx.money(lines["unit_price"]),
        "商品总额": tx.money(item), "优惠金额": tx.money(promo), "运费": tx.money(ship), "平台佣金": tx.money(comm),
        "交易手续费": tx.money(fee), "平台履约费": tx.money(fulfil), "退款金额": tx.money(refund), "币种": s[4],
        "发货时间": tx.fmt_dt(lines["ship_ts"].to_numpy(), fmt), "物流方式": logi,
    }
    inj = []
    if inject:
        if lzd:
            inj = [("bad_date", "付款时间", lambda v: v[:5] + "02/30" + v[10:], "付款时间"),
                   ("negative_quantity", "数量", lambda v: "-" + v, "数量")]
        else:
            inj = [("unknown_sku", "商品SKU", lambda v: "ZZ-7" + v[-3:], "商品SKU not in skus.csv")]

    def tot(month: dict[str, np.ndarray]) -> list[str]:
        def sm(c: str) -> str:
            v = pd.to_numeric(pd.Series(month[c]), errors="coerce").fillna(0).sum()
            return f"{v:.2f}" if c != "数量" else str(int(v))
        row = {c: "" for c in ERP_HEADER}
        row["订单编号"] = "合计"
        for c in ("数量", "商品总额", "优惠金额", "运费", "平台佣金", "交易手续费", "平台履约费", "退款金额"):
            row[c] = sm(c)
        return [row[c] for c in ERP_HEADER]

    return write_monthly(world, store_id, lines, out, dirty, header=ERP_HEADER, cols=cols, subdir="erp-orders", ext="csv",
                         kind="csv-gb18030", inject=inj, totals=tot if totals else None)
