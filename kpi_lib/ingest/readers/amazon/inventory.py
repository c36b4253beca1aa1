"""Amazon FBA inventory planning report → inventory."""

from __future__ import annotations

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
from ...parse import col_datetime, col_int, col_text
from ...registry import register
from . import common
from .common import (
    PLATFORM,
    BadRows,
    check_currency,
    first_bad_rows,
    header_keys,
    quarantine_rows,
    table_frame,
)

INVENTORY_REQUIRED = {"snapshot-date", "sku", "available", "inv-age-0-to-90-days", "inv-age-365-plus-days"}


_INTS = (
    "available",
    "inbound-quantity",
    "reserved-quantity",
    "unfulfillable-quantity",
    "inv-age-0-to-90-days",
    "inv-age-91-to-180-days",
    "inv-age-181-to-270-days",
    "inv-age-271-to-365-days",
    "inv-age-365-plus-days",
)


def _read_arrow(df: pd.DataFrame, path: Path, store: Store) -> ReadResult:
    """``AmazonFbaInventory._read_pandas`` over Arrow columns (``ingest.arrowcols``): the same table
    and quarantine (``tests/test_ingest_amazon_fast.py``); snapshot dates parsed once per distinct
    text, the checks kept as numpy masks."""
    raw_cols = [c for c in df.columns if c != LINE]
    if "currency" in df.columns:
        check_currency(path, "currency", pc.unique(arrowcols.text(df, "currency")).to_pylist(), store)
    bad = arrowcols.FirstBad(len(df))
    sku = arrowcols.text(df, "sku")
    bad.add(~arrowcols.filled(sku), "sku", "sku is empty (expected a seller SKU)")
    d_raw = arrowcols.text(df, "snapshot-date")
    dv, db = arrowcols.datetimes(d_raw, store.timezone)
    bad.cannot_parse(db | ~arrowcols.filled(d_raw), "snapshot-date", d_raw, "a date like 2025-06-01")
    ints = {}
    for c in _INTS:
        raw = arrowcols.text(df, c)
        v, b = arrowcols.whole_numbers(raw)
        bad.cannot_parse(b, c, raw, "a whole number")
        with np.errstate(invalid="ignore"):
            bad.add(v < 0, c, c + ": negative value '", raw, "' (expected a whole number >= 0)")
        ints[c] = v
    ok, quarantine = first_bad_rows(df, bad, raw_cols)
    a, b = ints["inv-age-181-to-270-days"], ints["inv-age-271-to-365-days"]
    a181 = np.where(np.isnan(a) & np.isnan(b), np.nan, np.nan_to_num(a, nan=0.0) + np.nan_to_num(b, nan=0.0))
    index = pd.RangeIndex(int(ok.sum()))

    def whole(v: np.ndarray) -> pd.Series:
        return pd.Series(pd.array(v[ok], dtype="Int64"), index=index)

    inv = table_frame(
        "inventory",
        {
            "platform": PLATFORM,
            "store_id": store.store_id,
            "date": pd.Series(arrowcols.floor_day(dv[ok]), index=index),
            "sku": arrowcols.series(sku.take(pa.array(np.flatnonzero(ok)))),
            "sellable": whole(ints["available"]),
            "inbound": whole(ints["inbound-quantity"]),
            "reserved": whole(ints["reserved-quantity"]),
            "unfulfillable": whole(ints["unfulfillable-quantity"]),
            "age_0_90": whole(ints["inv-age-0-to-90-days"]),
            "age_91_180": whole(ints["inv-age-91-to-180-days"]),
            "age_181_365": whole(a181),
            "age_365_plus": whole(ints["inv-age-365-plus-days"]),
            "source_row": pd.Series(df[LINE].to_numpy()[ok], index=index),
        },
        index,
    )
    return ReadResult(tables={"inventory": inv}, rows_read=len(df), quarantine=quarantine)


@register
class AmazonFbaInventory(Reader):
    name = "amazon_fba_inventory"
    description = "Amazon FBA inventory planning report (tab-separated) → inventory"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return INVENTORY_REQUIRED <= set(header_keys(head, "\t"))

    def read(self, path: Path, store: Store) -> ReadResult:
        """The file's inventory rows: over Arrow columns (``_read_arrow``) when ``common.FAST`` and
        the frame is Arrow text, else the pandas path (the reference the Arrow path is tested against)."""
        df = read_delimited(path, "\t", quoted=False)
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        if common.FAST and len(df) and arrowcols.arrow_text_frame(df):
            return _read_arrow(df, path, store)
        return self._read_pandas(path, store, df)

    def _read_pandas(self, path: Path, store: Store, df: pd.DataFrame) -> ReadResult:
        """The reader's pandas path (``df``: the file's frame, headers normalised)."""
        raw_cols = [c for c in df.columns if c != LINE]
        if "currency" in df.columns:
            check_currency(path, "currency", col_text(df, "currency").unique().tolist(), store)
        bad = BadRows(df.index)
        sku = col_text(df, "sku")
        bad.add(sku == "", "sku", "sku is empty (expected a seller SKU)")
        d_raw = col_text(df, "snapshot-date")
        dv, db = col_datetime(d_raw, store.timezone)
        bad.cannot_parse(db | (d_raw == ""), "snapshot-date", d_raw, "a date like 2025-06-01")
        ints = {}
        for c in _INTS:
            raw = col_text(df, c)
            v, b = col_int(raw)
            bad.cannot_parse(b, c, raw, "a whole number")
            bad.add(
                (v < 0).fillna(False), c, c + ": negative value '", raw, "' (expected a whole number >= 0)"
            )
            ints[c] = v
        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, raw_cols)
        a181 = ints["inv-age-181-to-270-days"].fillna(0) + ints["inv-age-271-to-365-days"].fillna(0)
        a181 = a181.where(ints["inv-age-181-to-270-days"].notna() | ints["inv-age-271-to-365-days"].notna())
        inv = table_frame(
            "inventory",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "date": dv[ok].dt.floor("D"),
                "sku": sku[ok],
                "sellable": ints["available"][ok],
                "inbound": ints["inbound-quantity"][ok],
                "reserved": ints["reserved-quantity"][ok],
                "unfulfillable": ints["unfulfillable-quantity"][ok],
                "age_0_90": ints["inv-age-0-to-90-days"][ok],
                "age_91_180": ints["inv-age-91-to-180-days"][ok],
                "age_181_365": a181[ok],
                "age_365_plus": ints["inv-age-365-plus-days"][ok],
                "source_row": df.loc[ok, LINE],
            },
            df.index[ok],
        )
        return ReadResult(tables={"inventory": inv}, rows_read=len(df), quarantine=quarantine)
