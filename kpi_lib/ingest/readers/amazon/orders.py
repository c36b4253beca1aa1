"""Amazon All Orders Report flat file → orders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...base import (
    FileHead,
    Reader,
    ReadResult,
    Store,
    normalize_header,
)
from ...frames import LINE, read_delimited
from ...independent import column_total
from ...parse import col_datetime, col_int, col_number, col_text
from ...registry import register
from .common import (
    BadRows,
    check_currency,
    header_keys,
    quarantine_rows,
    store_columns,
    table_frame,
)

ORDERS_REQUIRED = {"amazon-order-id", "purchase-date", "order-status", "sku", "quantity", "item-price"}
_ORDER_STATUS = {
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "pending": "pending",
    "shipped": "shipped",
    "shipped - delivered to buyer": "delivered",
    "delivered": "delivered",
    "unshipped": "pending",
    "partiallyshipped": "pending",
    "partially shipped": "pending",
    "shipping": "pending",
    "pending - waiting for pick up": "pending",
    "shipped - returned to seller": "returned",
    "shipped - returning to seller": "returned",
    "shipped - rejected by buyer": "returned",
    "shipped - out for delivery": "shipped",
    "shipped - picked up": "shipped",
    "shipped - damaged": "returned",
    "shipped - lost in transit": "shipped",
    "complete": "delivered",
}


@register
class AmazonOrders(Reader):
    name = "amazon_orders"
    description = "Amazon All Orders Report (flat file, tab-separated)"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return ORDERS_REQUIRED <= set(header_keys(head, "\t"))

    def read(self, path: Path, store: Store) -> ReadResult:
        df = read_delimited(path, "\t", quoted=False)
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        raw_cols = [c for c in df.columns if c != LINE]
        bad = BadRows(df.index)
        oid = col_text(df, "amazon-order-id")
        bad.add(oid == "", "amazon-order-id", "amazon-order-id is empty (expected an order id)")
        ts_raw = col_text(df, "purchase-date")
        ts, tb = col_datetime(ts_raw, store.timezone)
        bad.cannot_parse(tb, "purchase-date", ts_raw, "a timestamp like 2025-06-01T12:34:56+00:00")
        bad.add(ts_raw == "", "purchase-date", "purchase-date is empty (expected a timestamp)")
        q_raw = col_text(df, "quantity")
        qty, qb = col_int(q_raw)
        bad.cannot_parse(qb, "quantity", q_raw, "a whole number")
        bad.add(
            (qty < 0).fillna(False),
            "quantity",
            "quantity: negative value '",
            q_raw,
            "' (expected a whole number >= 0)",
        )
        bad.add(q_raw == "", "quantity", "quantity is empty (expected a whole number)")
        money = {}
        for col in ("item-price", "item-promotion-discount", "item-tax", "shipping-price"):
            raw = col_text(df, col)
            v, b = col_number(raw)
            bad.cannot_parse(b, col, raw, "a number")
            money[col] = v
        st_raw = col_text(df, "order-status")
        status = st_raw.str.lower().map(_ORDER_STATUS)
        bad.add(
            status.isna(),
            "order-status",
            "unknown order-status '",
            st_raw,
            "' (expected Shipped, Pending, Cancelled, …)",
        )
        status = status.where(col_text(df, "item-status").str.lower() != "cancelled", "cancelled")
        cur = col_text(df, "currency")
        check_currency(path, "currency", cur.unique().tolist(), store)

        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, raw_cols)
        d = df[ok]
        sku = col_text(d, "sku")
        # Amazon has no order line id: the sku, suffixed #2, #3… when an order repeats a sku
        keys = pd.DataFrame({"o": oid[ok], "s": sku})
        line_id = sku.copy()
        rep = keys.duplicated(keep=False)
        if rep.any():
            nth = keys[rep].groupby(["o", "s"], sort=False).cumcount() + 1
            line_id[rep] = sku[rep].where(nth == 1, sku[rep] + "#" + nth.astype(str))
        fc = col_text(d, "fulfillment-channel")
        fc = fc.replace({"Amazon": "FBA", "Merchant": "FBM", "AFN": "FBA", "MFN": "FBM"})
        orders = table_frame(
            "orders",
            {
                **store_columns(store),
                "order_id": oid[ok],
                "line_id": line_id,
                "sku": sku,
                "order_date": ts[ok].dt.floor("D"),
                "order_ts": ts[ok],
                "status": status[ok],
                "quantity": qty[ok],
                "gross_sales": money["item-price"][ok].fillna(0.0),
                "discounts": money["item-promotion-discount"][ok].abs().fillna(0.0),
                "tax": money["item-tax"][ok].fillna(0.0),
                "shipping_charged": money["shipping-price"][ok].fillna(0.0),
                "fulfillment_channel": fc,
                "source_row": d[LINE],
            },
            d.index,
        )
        return ReadResult(
            tables={"orders": orders},
            rows_read=len(df),
            quarantine=quarantine,
            # independent parse of the raw item-price column (csv module + Decimal), not the rows above
            expected_money=float(column_total(path, "item-price", sep="\t", quoted=False).total),
            money_columns=[("orders", "gross_sales", 1.0)],
        )
