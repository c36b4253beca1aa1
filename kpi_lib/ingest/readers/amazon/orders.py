"""Amazon All Orders Report flat file → orders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ... import arrowcols
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
from . import common
from .common import (
    BadRows,
    check_currency,
    first_bad_rows,
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


_FULFILMENT = {"Amazon": "FBA", "Merchant": "FBM", "AFN": "FBA", "MFN": "FBM"}


def _per_distinct(arr: pa.ChunkedArray, f: Callable[[list], list]) -> pa.Array:
    """``f`` of the distinct values of ``arr`` (a list → a list of text or None), spread back to the rows."""
    codes, uniq = arrowcols.distinct(arr)
    return pa.array(f(uniq), pa.large_string()).take(pa.array(codes))


def _line_ids(oid: pa.ChunkedArray, sku: pa.ChunkedArray) -> pa.Array:
    """The sku, suffixed #2, #3… on the second, third… row of an order repeating a sku (row order)."""
    o, _ = arrowcols.distinct(oid)
    k, ks = arrowcols.distinct(sku)
    key = o.astype(np.int64) * max(len(ks), 1) + k
    order = np.argsort(key, kind="stable")
    sk = key[order]
    start = np.ones(len(sk), dtype=bool)
    start[1:] = sk[1:] != sk[:-1]
    run0 = np.maximum.accumulate(np.where(start, np.arange(len(sk)), 0))
    nth = np.empty(len(sk), dtype=np.int64)
    nth[order] = np.arange(len(sk)) - run0 + 1
    out = sku.combine_chunks() if isinstance(sku, pa.ChunkedArray) else sku
    again = np.flatnonzero(nth > 1)
    if len(again):
        vals = [f"{v}#{n}" for v, n in zip(out.take(pa.array(again)).to_pylist(), nth[again].tolist())]
        mask = np.zeros(len(out), dtype=bool)
        mask[again] = True
        out = pc.replace_with_mask(out, pa.array(mask), pa.array(vals, out.type))
    return out


def _read_arrow(df: pd.DataFrame, path: Path, store: Store) -> ReadResult:
    """``AmazonOrders._read_pandas`` over Arrow columns (``ingest.arrowcols``): the same table,
    quarantine and reconciliation (``tests/test_ingest_amazon_fast.py``). Timestamps, statuses and
    fulfilment channels are read once per distinct text; the checks are numpy masks."""
    raw_cols = [c for c in df.columns if c != LINE]
    n = len(df)
    bad = arrowcols.FirstBad(n)
    oid = arrowcols.text(df, "amazon-order-id")
    bad.add(~arrowcols.filled(oid), "amazon-order-id", "amazon-order-id is empty (expected an order id)")
    ts_raw = arrowcols.text(df, "purchase-date")
    ts, tb = arrowcols.datetimes(ts_raw, store.timezone)
    bad.cannot_parse(tb, "purchase-date", ts_raw, "a timestamp like 2025-06-01T12:34:56+00:00")
    bad.add(~arrowcols.filled(ts_raw), "purchase-date", "purchase-date is empty (expected a timestamp)")
    q_raw = arrowcols.text(df, "quantity")
    qty, qb = arrowcols.whole_numbers(q_raw)
    bad.cannot_parse(qb, "quantity", q_raw, "a whole number")
    with np.errstate(invalid="ignore"):
        bad.add(qty < 0, "quantity", "quantity: negative value '", q_raw, "' (expected a whole number >= 0)")
    bad.add(~arrowcols.filled(q_raw), "quantity", "quantity is empty (expected a whole number)")
    money = {}
    for col in ("item-price", "item-promotion-discount", "item-tax", "shipping-price"):
        raw = arrowcols.text(df, col)
        v, b = arrowcols.numbers(raw, ".")
        bad.cannot_parse(b, col, raw, "a number")
        money[col] = v
    st_raw = arrowcols.text(df, "order-status")
    status = _per_distinct(pc.utf8_lower(st_raw), lambda u: [_ORDER_STATUS.get(v) for v in u])
    bad.add(np.asarray(status.is_null()), "order-status", "unknown order-status '", st_raw,
            "' (expected Shipped, Pending, Cancelled, …)")
    item_cancelled = pc.equal(pc.utf8_lower(arrowcols.text(df, "item-status")), "cancelled")
    status = pc.if_else(item_cancelled, pa.scalar("cancelled", pa.large_string()), status)
    check_currency(path, "currency", pc.unique(arrowcols.text(df, "currency")).to_pylist(), store)

    ok, quarantine = first_bad_rows(df, bad, raw_cols)
    keep = pa.array(np.flatnonzero(ok))
    oid_ok = oid.take(keep)
    sku = arrowcols.text_at(df, "sku", np.flatnonzero(ok))
    fc = _per_distinct(arrowcols.text_at(df, "fulfillment-channel", np.flatnonzero(ok)),
                       lambda u: [_FULFILMENT.get(v, v) for v in u])
    index = pd.RangeIndex(int(ok.sum()))
    ts_ok = ts[ok]
    with np.errstate(invalid="ignore"):
        orders = table_frame(
            "orders",
            {
                **store_columns(store),
                "order_id": arrowcols.series(oid_ok),
                "line_id": arrowcols.series(_line_ids(oid_ok, sku)),
                "sku": arrowcols.series(sku),
                "order_date": pd.Series(arrowcols.floor_day(ts_ok), index=index),
                "order_ts": pd.Series(ts_ok, index=index),
                "status": arrowcols.series(status.take(keep)),
                "quantity": pd.Series(pd.array(qty[ok], dtype="Int64"), index=index),
                "gross_sales": pd.Series(np.nan_to_num(money["item-price"][ok], nan=0.0), index=index),
                "discounts": pd.Series(np.nan_to_num(np.abs(money["item-promotion-discount"][ok]), nan=0.0),
                                       index=index),
                "tax": pd.Series(np.nan_to_num(money["item-tax"][ok], nan=0.0), index=index),
                "shipping_charged": pd.Series(np.nan_to_num(money["shipping-price"][ok], nan=0.0), index=index),
                "fulfillment_channel": arrowcols.series(fc),
                "source_row": pd.Series(df[LINE].to_numpy()[ok], index=index),
            },
            index,
        )
    return ReadResult(
        tables={"orders": orders},
        rows_read=n,
        quarantine=quarantine,
        # independent parse of the raw item-price column (csv module + Decimal), not the rows above
        expected_money=float(column_total(path, "item-price", sep="\t", quoted=False).total),
        money_columns=[("orders", "gross_sales", 1.0)],
    )


@register
class AmazonOrders(Reader):
    name = "amazon_orders"
    description = "Amazon All Orders Report (flat file, tab-separated)"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return ORDERS_REQUIRED <= set(header_keys(head, "\t"))

    def read(self, path: Path, store: Store) -> ReadResult:
        """The file's order lines: over Arrow columns (``_read_arrow``) when ``common.FAST`` and the
        frame is Arrow text, else the pandas path (the reference the Arrow path is tested against)."""
        df = read_delimited(path, "\t", quoted=False)
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        if common.FAST and len(df) and arrowcols.arrow_text_frame(df):
            return _read_arrow(df, path, store)
        return self._read_pandas(path, store, df)

    def _read_pandas(self, path: Path, store: Store, df: pd.DataFrame) -> ReadResult:
        """The reader's pandas path (``df``: the file's frame, headers normalised)."""
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
