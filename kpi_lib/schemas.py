"""The canonical tables: column names and types (the contract), natural keys, validation rules.

Readers produce frames with these columns in source currency; the ingest pipeline adds the FX
columns (``fx_rate`` and ``*_rc``), validates with pandera (every failure of a file at once) and
writes Parquet. Column names are the contract with metrics, costs and reports; add columns freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow

if TYPE_CHECKING:
    import pandera.pandas as pa

STR = "string"
INT = "int64"
FLT = "float64"
DATE = "date"  # stored as datetime64[ms] at midnight, marketplace local
TS = "timestamp"  # datetime64 local, no tz

LINEAGE = {"source_file": STR, "source_row": INT}


@dataclass(frozen=True)
class Table:
    """One canonical table."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    money: tuple[str, ...] = ()  # source-currency money columns; each gets a `<col>_rc`
    required: tuple[str, ...] = ()  # must be non-null
    non_negative: tuple[str, ...] = ()
    date_column: str | None = None
    partition_by: tuple[str, ...] = ("store_id",)
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def all_columns(self) -> dict[str, str]:
        cols = dict(self.columns)
        if self.money:
            cols["fx_rate"] = FLT
            for m in self.money:
                cols[f"{m}_rc"] = FLT
        cols.update(LINEAGE)
        return cols


ORDER_STATUSES = ("shipped", "delivered", "pending", "cancelled", "returned")
FEE_TYPES = (
    "referral",
    "fulfillment",
    "storage",
    "long_term_storage",
    "advertising",
    "refund",
    "return_processing",
    "shipping_label",
    "promotion",
    "payment",
    "subscription",
    "duty",
    "other",
)
TICKET_KINDS = ("message", "dispute", "return", "negative_review")

# ---- Amazon Ads report family: one table per report kind, each at its own grain ----------------
# Daily rows carry ``date`` = start_date = end_date; summary rows (a report over a range without a
# daily date) carry ``date`` NULL and the range in start_date/end_date (money converted with the
# FX rate of start_date's month). ``attribution_days`` is the report's attribution window (7, 14).
_ADS_METRICS = {
    "impressions": INT, "clicks": INT, "spend": FLT, "ad_sales": FLT, "ad_orders": INT, "ad_units": INT,
    "attribution_days": INT, "currency": STR,
}
_ADS_COMMON = {
    "platform": STR, "store_id": STR, "marketplace": STR, "date": DATE, "start_date": DATE, "end_date": DATE,
    "portfolio": STR, "campaign": STR,
}
_ADS_LOCALE = {"retailer": STR, "country": STR}  # newer console layouts


def _ads_table(name: str, dims: dict[str, str]) -> Table:
    cols = _ADS_COMMON | dims | _ADS_LOCALE | _ADS_METRICS
    return Table(
        name,
        cols,
        key=("store_id", "start_date", "end_date", "campaign", *dims, "retailer", "country"),
        money=("spend", "ad_sales"),
        required=("store_id", "start_date", "end_date", "spend"),
        non_negative=("impressions", "clicks", "spend", "ad_sales"),
        date_column="start_date",
    )


#: report kind → grain table (the kind names are the ``ads.ads_source`` values)
ADS_KINDS: dict[str, str] = {
    "sp_advertised_product": "ads_advertised_product",
    "sp_targeting": "ads_targeting",
    "sp_search_term": "ads_search_term",
    "sp_campaign": "ads_campaign",
    "sp_performance_over_time": "ads_performance_over_time",
    "sp_placement": "ads_placement",
    "sb_campaign": "ads_sb_campaign",
    "sd_campaign": "ads_sd_campaign",
}
ADS_GRAIN_TABLES: tuple[Table, ...] = (
    _ads_table("ads_advertised_product", {"ad_group": STR, "sku": STR, "asin": STR}),
    _ads_table("ads_targeting", {"ad_group": STR, "targeting": STR, "match_type": STR}),
    _ads_table("ads_search_term", {"ad_group": STR, "targeting": STR, "match_type": STR,
                                   "customer_search_term": STR}),
    _ads_table("ads_campaign", {"campaign_type": STR, "status": STR}),
    _ads_table("ads_performance_over_time", {}),
    _ads_table("ads_placement", {"placement": STR, "bidding_strategy": STR}),
    _ads_table("ads_sb_campaign", {"status": STR}),
    _ads_table("ads_sd_campaign", {"status": STR, "cost_type": STR}),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "orders",
            {
                "platform": STR, "store_id": STR, "marketplace": STR, "order_id": STR, "line_id": STR,
                "sku": STR, "order_date": DATE, "order_ts": TS, "status": STR, "quantity": INT,
                "currency": STR, "gross_sales": FLT, "discounts": FLT, "tax": FLT,
                "shipping_charged": FLT, "fulfillment_channel": STR, "ship_date": DATE,
                "promised_ship_date": DATE,
            },
            key=("store_id", "order_id", "line_id"),
            money=("gross_sales", "discounts", "tax", "shipping_charged"),
            required=("store_id", "order_id", "line_id", "sku", "order_date", "status", "quantity", "gross_sales"),
            non_negative=("quantity",),
            date_column="order_date",
        ),
        Table(
            "fees",
            {
                "platform": STR, "store_id": STR, "date": DATE, "order_id": STR, "sku": STR,
                "fee_type": STR, "description": STR, "amount": FLT, "currency": STR,
            },
            key=("store_id", "date", "order_id", "sku", "fee_type", "description", "amount"),
            money=("amount",),
            required=("store_id", "date", "fee_type", "amount"),
            date_column="date",
        ),
        Table(
            "refunds",
            {
                "platform": STR, "store_id": STR, "date": DATE, "order_id": STR, "sku": STR,
                "quantity": INT, "amount": FLT, "currency": STR, "reason": STR,
            },
            key=("store_id", "date", "order_id", "sku", "amount"),
            money=("amount",),
            required=("store_id", "date", "amount"),
            non_negative=("quantity",),
            date_column="date",
        ),
        Table(
            "settlement_lines",
            {
                "platform": STR, "store_id": STR, "settlement_id": STR, "posted_date": DATE,
                "transaction_type": STR, "order_id": STR, "sku": STR, "quantity": INT,
                "amount_type": STR, "amount_description": STR, "category": STR, "amount": FLT,
                "currency": STR,
            },
            key=("store_id", "settlement_id", "transaction_type", "order_id", "sku", "amount_type",
                 "amount_description", "posted_date", "amount", "quantity"),
            money=("amount",),
            required=("store_id", "settlement_id", "amount"),
            date_column="posted_date",
        ),
        Table(
            "payouts",
            {
                "platform": STR, "store_id": STR, "settlement_id": STR, "start_date": DATE, "end_date": DATE,
                "deposit_date": DATE, "total_amount": FLT, "currency": STR,
            },
            key=("store_id", "settlement_id"),
            money=("total_amount",),
            required=("store_id", "settlement_id", "total_amount"),
            date_column="deposit_date",
        ),
        Table(
            # the spend of record: per store × day × campaign the rows of ONE report kind
            # (``ads_source``), chosen by kpi_lib.ingest.ads_record from the ads_* grain tables
            "ads",
            {
                "platform": STR, "store_id": STR, "date": DATE, "campaign": STR, "ad_group": STR,
                "sku": STR, "asin": STR, "impressions": INT, "clicks": INT, "spend": FLT,
                "ad_sales": FLT, "ad_orders": INT, "ad_units": INT, "currency": STR,
                "ads_source": STR, "range_start": DATE, "range_end": DATE, "attribution_days": INT,
            },
            key=("store_id", "date", "campaign", "ad_group", "sku"),
            money=("spend", "ad_sales"),
            required=("store_id", "date", "spend"),
            non_negative=("impressions", "clicks", "spend", "ad_sales"),
            date_column="date",
        ),
        *ADS_GRAIN_TABLES,
        Table(
            "traffic",
            {
                "platform": STR, "store_id": STR, "date": DATE, "sku": STR, "sessions": INT,
                "page_views": INT, "units_ordered": INT, "ordered_sales": FLT, "currency": STR,
            },
            key=("store_id", "date", "sku"),
            money=("ordered_sales",),
            required=("store_id", "date", "sessions"),
            non_negative=("sessions", "page_views"),
            date_column="date",
        ),
        Table(
            # Business Report "Detail Page Sales and Traffic By Child Item": totals per child ASIN/SKU
            # over a date range the file does not state (start_date..end_date, both inclusive, from
            # the file/folder name or a _report_ranges.csv rule). Not daily: never summed into
            # `traffic` (whose rows are days).
            "traffic_by_sku",
            {
                "platform": STR, "store_id": STR, "start_date": DATE, "end_date": DATE, "parent_asin": STR,
                "asin": STR, "sku": STR, "title": STR, "sessions": INT, "page_views": INT,
                "units_ordered": INT, "total_order_items": INT, "ordered_sales": FLT, "buy_box_pct": FLT,
                "currency": STR,
            },
            key=("store_id", "start_date", "end_date", "asin", "sku"),
            money=("ordered_sales",),
            required=("store_id", "start_date", "end_date", "asin", "sessions"),
            non_negative=("sessions", "page_views", "units_ordered", "total_order_items"),
            date_column="start_date",
        ),
        Table(
            "inventory",
            {
                "platform": STR, "store_id": STR, "date": DATE, "sku": STR, "sellable": INT,
                "inbound": INT, "reserved": INT, "unfulfillable": INT, "age_0_90": INT,
                "age_91_180": INT, "age_181_365": INT, "age_365_plus": INT,
            },
            key=("store_id", "date", "sku"),
            required=("store_id", "date", "sku", "sellable"),
            non_negative=("sellable", "inbound", "reserved", "unfulfillable"),
            date_column="date",
        ),
        Table(
            "tickets",
            {
                "store_id": STR, "ticket_id": STR, "kind": STR, "opened_at": TS,
                "first_response_at": TS, "resolved_at": TS, "assignee": STR,
            },
            key=("store_id", "ticket_id"),
            required=("store_id", "ticket_id", "kind", "opened_at"),
            date_column="opened_at",
        ),
        Table(
            "activities",
            {"store_id": STR, "activity_id": STR, "date": DATE, "person_id": STR, "kind": STR, "sku": STR},
            key=("store_id", "activity_id"),
            required=("store_id", "date", "kind"),
            date_column="date",
        ),
    ]
}

QUARANTINE_COLUMNS = {
    "table": STR, "store_id": STR, "reader": STR, "source_file": STR, "source_row": INT,
    "column": STR, "reason": STR, "raw": STR,
}

MANIFEST_COLUMNS = {
    "path": STR, "sha256": STR, "store_id": STR, "reader": STR, "rows_read": INT, "rows_loaded": INT,
    "rows_quarantined": INT, "rows_duplicate": INT, "expected": FLT, "loaded": FLT, "difference": FLT,
    "ingested_at": STR, "min_date": STR, "max_date": STR,
    # latest version wins: rows of this file replaced by a newer version of the same natural key
    # (rows_read = rows_loaded + rows_quarantined + rows_duplicate + rows_superseded), and the
    # version the file's rows carry (microseconds since 1970 UTC of exported_at, else of the mtime)
    "rows_superseded": INT, "exported_at": STR, "version": INT, "version_basis": STR,
}

#: Derived tables written by every ingest (kpi_lib.ingest.pipeline._derived_tables).
CHANGE_HISTORY_COLUMNS = {
    "table": STR, "store_id": STR, "natural_key": STR, "column": STR, "old_value": STR, "new_value": STR,
    "old_file": STR, "new_file": STR, "old_version": TS, "changed_at": TS, "ingested_at": STR,
}
SKU_REGISTRY_COLUMNS = {
    "store_id": STR, "sku": STR, "asin": STR, "first_seen": DATE, "last_seen": DATE, "first_file": STR,
    "tables": STR, "in_master": "bool", "has_cost": "bool",
}
DATA_GAPS_COLUMNS = {
    "store_id": STR, "month": STR, "sku": STR, "gap": STR, "order_lines": INT, "units": INT,
    "sales_rc": FLT, "month_sales_rc": FLT, "share": FLT,
}


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns (source-currency form, with lineage)."""
    cols = dict(TABLES[table].columns) | LINEAGE
    df = conform(pd.DataFrame({c: [] for c in cols}), cols)
    # readers of the warehouse get the Python-backed "string" they always had (Arrow text is the
    # ingest's in-memory form only)
    return df.astype({c: "string" for c, k in cols.items() if k == STR})


_PANDAS = {STR: "string", INT: "Int64", FLT: "float64"}
#: the in-memory string type of canonical text columns: Arrow-backed (the readers' text is Arrow
#: already, so nothing is boxed into Python objects; isna, comparisons, hashing and the Parquet
#: write read the Arrow buffers). Same values and NA semantics as the Python-backed "string".
ARROW_STR = pd.StringDtype("pyarrow")
_DAY_MS = 86_400_000


def conform(df: pd.DataFrame, columns: dict[str, str], copy: bool = True,
            extra: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Select and cast ``columns`` (missing ones are added as nulls) in the canonical order.

    A column already of its canonical type is taken as it is (no re-parse): readers conform their
    frames and the pipeline conforms them again. ``copy=False``: such columns share their memory with
    ``df`` instead of being copied into the new frame (for a caller that writes into neither).
    ``extra``: columns (on ``df``'s index) taken instead of ``df``'s of the same name, as if set into
    ``df`` first (without the cost of setting them).
    """
    out = {}
    n = len(df)
    for col, kind in columns.items():
        if extra is not None and col in extra:
            s = extra[col]
        else:
            s = df[col] if col in df.columns else pd.Series([None] * n, index=df.index, dtype="object")
        if kind in (DATE, TS):
            if s.dtype == "datetime64[ms]" and (kind == TS or _at_midnight(s)):
                pass  # already canonical
            else:
                if not pd.api.types.is_datetime64_any_dtype(s.dtype):
                    # (a datetime column skips this: to_datetime would box every value to decide on a cache)
                    s = pd.to_datetime(s, errors="coerce")
                if getattr(s.dt, "tz", None) is not None:
                    s = s.dt.tz_localize(None)
                s = s.astype("datetime64[ms]")
                if kind == DATE:
                    s = s.dt.floor("D")
        elif kind == INT:
            if s.dtype != "Int64":
                s = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        elif kind == FLT:
            if s.dtype != "float64":
                s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif s.dtype != ARROW_STR:
            s = s.astype(ARROW_STR)
        out[col] = s
    return pd.DataFrame(out, index=df.index, copy=copy)


def const_text(value: object, index: pd.Index) -> pd.Series | object:
    """One text value on every row of ``index`` as an Arrow-backed column: what ``conform`` makes of
    the scalar, without converting one Python string per row. Other values are returned as they are."""
    if not isinstance(value, str):
        return value
    arr = pyarrow.repeat(pyarrow.scalar(value, pyarrow.large_string()), len(index))
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index)


def _at_midnight(s: pd.Series) -> bool:
    """True when every non-null value of a ``datetime64[ms]`` column is a midnight (a day)."""
    v = s.to_numpy(dtype="int64", na_value=0) if s.hasnans else s.to_numpy().view("int64")
    return not bool((v % _DAY_MS).any())


def pandera_schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema a table's rows must satisfy before they are loaded."""
    # imported here, on first validation: everything else reads only the tables' contracts above, and pandera
    # (with typeguard, unittest and difflib) is ≈ 0.25 s of every report worker's and widget's start
    import pandera.pandas as pa

    t = TABLES[table]
    cols: dict[str, pa.Column] = {}
    for col in t.columns:
        checks = []
        if col in t.non_negative:
            checks.append(pa.Check.ge(0, error=f"{col} must be >= 0"))
        if table == "orders" and col == "status":
            checks.append(pa.Check.isin(ORDER_STATUSES, error=f"status must be one of {', '.join(ORDER_STATUSES)}"))
        if table == "fees" and col == "fee_type":
            checks.append(pa.Check.isin(FEE_TYPES, error=f"fee_type must be one of {', '.join(FEE_TYPES)}"))
        if table == "tickets" and col == "kind":
            checks.append(pa.Check.isin(TICKET_KINDS, error=f"kind must be one of {', '.join(TICKET_KINDS)}"))
        if table == "orders" and col == "quantity":
            checks.append(pa.Check.le(100000, error="quantity must be <= 100000"))
        cols[col] = pa.Column(nullable=col not in t.required, checks=checks, required=False)
    return pa.DataFrameSchema(cols, strict=False, coerce=False)
