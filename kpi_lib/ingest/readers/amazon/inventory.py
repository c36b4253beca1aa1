"""Amazon FBA inventory planning report → inventory."""

from __future__ import annotations

from pathlib import Path

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
from .common import (
    PLATFORM,
    BadRows,
    check_currency,
    header_keys,
    quarantine_rows,
    table_frame,
)

INVENTORY_REQUIRED = {"snapshot-date", "sku", "available", "inv-age-0-to-90-days", "inv-age-365-plus-days"}


@register
class AmazonFbaInventory(Reader):
    name = "amazon_fba_inventory"
    description = "Amazon FBA inventory planning report (tab-separated) → inventory"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return INVENTORY_REQUIRED <= set(header_keys(head, "\t"))

    def read(self, path: Path, store: Store) -> ReadResult:
        df = read_delimited(path, "\t", quoted=False)
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
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
        for c in (
            "available",
            "inbound-quantity",
            "reserved-quantity",
            "unfulfillable-quantity",
            "inv-age-0-to-90-days",
            "inv-age-91-to-180-days",
            "inv-age-181-to-270-days",
            "inv-age-271-to-365-days",
            "inv-age-365-plus-days",
        ):
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
