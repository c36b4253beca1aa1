"""The generic order-export reader, driven by a mapping (YAML in parameters/mappings/ or built in).

A mapping says which source column feeds which canonical field, how dates and numbers are
written, which amounts are per order (repeated on every line or given on the first line only, and
so counted once), which columns are fees, where refunds are, and how to recognise the file (its
header must hold ``detect.required_columns``). The Shopee, TikTok Shop and Shopify readers are
built-in mappings (see their modules); a user adds a new export by writing a YAML file, no code::

    name: erp_mabang_orders
    table: orders
    encoding: gb18030
    detect: {required_columns: [订单编号, 平台订单号, 商品SKU, 付款时间]}
    date_format: "%Y/%m/%d %H:%M:%S"
    currency_column: 币种
    columns:
      order_id: 平台订单号
      sku: 商品SKU
      order_date: 付款时间
      quantity: 数量
      gross_sales: 商品总额
      status: {column: 订单状态, map: {已发货: shipped, 已取消: cancelled}}
    fees: [{column: 平台佣金, fee_type: referral}]
    refunds: {amount: 退款金额}
    totals_row: {column: 订单编号, values: [合计]}

Money reconciliation: ``expected`` is computed from the source cells (line amounts summed over
rows, order amounts taken once per order id); ``loaded`` is the sum of what lands in orders
(gross sales), fees and refunds. They differ only if rows were quarantined.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from ... import paths
from ...config import StrictModel, load_model
from ...errors import ConfigError, IngestError
from ...schemas import ORDER_STATUSES, TABLES, conform
from ..base import (FileHead, QuarantineRow, ReadResult, Reader, Store, csv_frame, decode, normalize_header,
                    register_instance, unique_names)
from ..parse import parse_datetime, parse_number

LINE = "__line"


class Column(StrictModel):
    """A canonical field read from a source column."""

    column: str | None = Field(None, description="source column header")
    fallback: str | None = Field(None, description="source column used where `column` is empty")
    map: dict[str, str] | None = Field(None, description="value map (e.g. status texts → canonical statuses)")
    default: str | float | None = Field(None, description="value when the column is absent or empty")
    multiply_by: str | None = Field(None, description="multiply by this source column (unit price × quantity)")


class Fee(StrictModel):
    column: str
    fee_type: str
    level: Literal["line", "order"] = "line"


class Refunds(StrictModel):
    amount: str = Field(description="source column with the refunded amount")
    level: Literal["line", "order"] = "line"
    date: str | None = Field(None, description="source column with the refund date (default: order date)")
    multiply_by: str | None = Field(None, description="multiply the amount by this column (unit price × returned qty)")
    quantity: str | None = None
    reason: str | None = None


class Detect(StrictModel):
    required_columns: list[str] = Field(min_length=1)


class TotalsRow(StrictModel):
    column: str
    values: list[str]


class Mapping(StrictModel):
    """A column mapping for an order export (parameters/mappings/*.yaml)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    platforms: list[str] = Field(default_factory=list, description="store platforms this export comes from (empty = any)")
    table: Literal["orders"] = "orders"
    encoding: str = "auto"
    delimiter: str = "auto"
    header_row: int = Field(1, ge=1, description="1-based line of the header (preamble lines before it are skipped)")
    description_row: bool = Field(False, description="the line after the header describes the columns (not data)")
    detect: Detect
    date_format: str | None = None
    dayfirst: bool = False
    decimal: Literal[".", ",", "auto"] = "auto"
    currency: str | None = None
    currency_column: str | None = None
    columns: dict[str, str | Column]
    order_level: list[str] = Field(default_factory=list, description="canonical money fields given once per order")
    cancelled_if: str | None = Field(None, description="source column whose non-empty value marks the order cancelled")
    fees: list[Fee] = Field(default_factory=list)
    refunds: Refunds | None = None
    totals_row: TotalsRow | None = None
    priority: int = 60

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, v: dict[str, Any]) -> dict[str, Any]:
        known = set(TABLES["orders"].columns) | {"unit_price"}
        bad = sorted(set(v) - known)
        if bad:
            raise ValueError(f"unknown canonical field(s) {', '.join(bad)}; expected some of {', '.join(sorted(known))}")
        for need in ("order_id", "order_date", "quantity"):
            if need not in v:
                raise ValueError(f"a mapping must map {need!r}")
        if "gross_sales" not in v and "unit_price" not in v:
            raise ValueError("a mapping must map gross_sales or unit_price")
        return v

    def col(self, field: str) -> Column | None:
        c = self.columns.get(field)
        if c is None:
            return None
        return Column(column=c) if isinstance(c, str) else c

    def required_source_columns(self) -> list[str]:
        """Columns the file must have: detection columns and every mapped column without a default."""
        out = list(self.detect.required_columns)
        for f in self.columns:
            c = self.col(f)
            if c.column and c.default is None:
                out.append(c.column)
            if c.multiply_by:
                out.append(c.multiply_by)
        out += [f.column for f in self.fees]
        if self.refunds:
            out += [x for x in (self.refunds.amount, self.refunds.multiply_by) if x]
        return list(dict.fromkeys(out))

    def source_columns(self) -> list[str]:
        out = list(self.detect.required_columns)
        for f in self.columns:
            c = self.col(f)
            out += [x for x in (c.column, c.fallback, c.multiply_by) if x]
        out += [f.column for f in self.fees]
        if self.refunds:
            out += [x for x in (self.refunds.amount, self.refunds.multiply_by, self.refunds.date, self.refunds.quantity, self.refunds.reason) if x]
        return out


def load_mapping(path: Path) -> Mapping:
    """Validate a mapping YAML (unknown keys and fields are errors naming their path)."""
    return load_model(path, Mapping)


# ------------------------------------------------------------------------------------------------
def _sep(text: str, delimiter: str) -> str:
    if delimiter != "auto":
        return {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    first = text.split("\n", 1)[0]
    return max([",", "\t", ";", "|"], key=first.count)


def load_frame(path: Path, m: Mapping) -> pd.DataFrame:
    """The file as string columns (header per the mapping) plus ``__line`` (physical line/sheet row)."""
    raw = path.read_bytes()
    if raw[:4] == b"PK\x03\x04":
        from .amazon import read_xlsx

        want = {normalize_header(c) for c in m.detect.required_columns}
        df, _ = read_xlsx(path, lambda keys: want <= set(keys))
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        for c in df.columns:
            if c != LINE:
                df[c] = df[c].map(_cell_text)
        if m.description_row and len(df):
            df = df.iloc[1:]
        return df.reset_index(drop=True)
    if m.encoding in ("auto", ""):
        text, _ = decode(raw)
    else:
        try:
            text = raw.decode(m.encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise IngestError(f"{path}: cannot decode as {m.encoding} ({exc}); fix `encoding` in the mapping") from None
        text = text.lstrip("\ufeff")
    sep = _sep(text.splitlines()[m.header_row - 1] if text else "", m.delimiter)
    df = None
    if m.header_row == 1 and sep in (",", "\t", ";", "|"):
        if '"' not in text:
            df = _fast_split(text, sep)
        else:
            from .amazon import read_delimited  # pyarrow with exact physical line numbers

            df = read_delimited(path, sep, quoted=True).astype("object")
    if df is None:
        df = csv_frame(text, sep, header_line=m.header_row - 1)
    df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
    if m.description_row and len(df):
        df = df.iloc[1:]
    return df.reset_index(drop=True)


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[union-attr]
    return str(v)


def _fast_split(text: str, sep: str) -> pd.DataFrame | None:
    """Unquoted delimited text → frame with physical line numbers (blank lines skipped)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = lines[0].rstrip("\r").split(sep)
    body = pd.Series(lines[1:], dtype="object").str.rstrip("\r")
    numbers = np.arange(2, len(lines) + 1)
    keep = body.str.strip(sep + " ").str.len() > 0
    body, numbers = body[keep], numbers[keep.to_numpy()]
    parts = body.str.split(sep, expand=True, regex=False) if len(body) else pd.DataFrame(columns=range(len(header)))
    if parts.shape[1] > len(header):
        return None  # ragged: let the careful parser handle it
    parts = parts.reindex(columns=range(len(header))).fillna("")
    names = unique_names(header)
    parts.columns = names
    parts[LINE] = numbers
    return parts.reset_index(drop=True)


def _get(df: pd.DataFrame, name: str | None) -> pd.Series:
    """A source column as stripped text ('' when empty or absent)."""
    if not name:
        return pd.Series("", index=df.index, dtype="object")
    key = normalize_header(name)
    if key not in df.columns:
        return pd.Series("", index=df.index, dtype="object")
    return df[key].astype("object").fillna("").astype(str).str.strip()


class MappingReader(Reader):
    """A reader defined by a ``Mapping``."""

    def __init__(self, mapping: Mapping, source: str = "") -> None:
        self.mapping = mapping
        self.name = mapping.name
        self.description = mapping.description or f"mapping {source}"
        self.platforms = tuple(mapping.platforms)
        self.priority = mapping.priority
        self.source = source

    def sniff(self, head: FileHead) -> bool:
        want = [normalize_header(c) for c in self.mapping.detect.required_columns]
        if head.xlsx_rows is not None:
            rows = head.xlsx_rows
            return any(set(want) <= {normalize_header(v) for v in r} for r in rows[:10])
        if not head.lines:
            return False
        i = self.mapping.header_row - 1
        if len(head.lines) <= i:
            return False
        line = head.lines[i]
        sep = _sep(line, self.mapping.delimiter)
        import csv

        cells = next(csv.reader([line], delimiter=sep), [])
        return set(want) <= {normalize_header(c) for c in cells}

    # --------------------------------------------------------------------------------------------
    def read(self, path: Path, store: Store) -> ReadResult:
        m = self.mapping
        df = load_frame(path, m)
        missing = [c for c in m.required_source_columns() if normalize_header(c) not in df.columns]
        if missing:
            raise IngestError(f"{path}: missing column(s) {', '.join(missing)} required by mapping {m.name}")
        return convert(df, m, store, path)


def convert(df: pd.DataFrame, m: Mapping, store: Store, path: Path | str = "") -> ReadResult:
    """Source frame (normalised headers + ``__line``) → canonical orders/fees/refunds + quarantine."""
    q: list[QuarantineRow] = []
    rows_read = len(df)
    raw_cols = [c for c in df.columns if c != LINE]

    def quarantine(mask: pd.Series, reason: pd.Series | str, column: str) -> None:
        if not mask.any():
            return
        sub = df.loc[mask]
        reasons = reason[mask] if isinstance(reason, pd.Series) else pd.Series(reason, index=sub.index)
        recs = sub[raw_cols].to_dict("records")
        for line, why, rec in zip(sub[LINE].tolist(), reasons.tolist(), recs):
            q.append(QuarantineRow(int(line), str(why), column, {k: v for k, v in rec.items() if v not in ("", None)}))

    bad = pd.Series(False, index=df.index)
    if m.totals_row:
        tot = _get(df, m.totals_row.column).isin(m.totals_row.values)
        quarantine(tot, "totals row", m.totals_row.column)
        bad |= tot

    def field(name: str) -> pd.Series:
        c = m.col(name)
        if c is None:
            return pd.Series("", index=df.index, dtype="object")
        s = _get(df, c.column)
        if c.fallback:
            s = s.where(s != "", _get(df, c.fallback))
        if c.map:
            mapped = s.map(c.map)
            s = mapped.where(mapped.notna(), s)
        if c.default is not None:
            s = s.where(s != "", str(c.default))
        return s

    def number(name: str, what: str) -> pd.Series:
        c = m.col(name)
        if c is None:
            return pd.Series(0.0, index=df.index)
        v, b = parse_number(field(name), decimal=m.decimal)
        if c.multiply_by:
            f, b2 = parse_number(_get(df, c.multiply_by), decimal=m.decimal)
            v, b = v * f, b | b2
        hit = b & ~bad
        quarantine(hit, "cannot parse " + (c.column or name) + ": '" + field(name) + f"' (expected {what})", c.column or name)
        bad.loc[hit] = True
        return v.fillna(0.0)

    order_id = field("order_id")
    noid = (order_id == "") & ~bad
    quarantine(noid, "order id is empty", m.col("order_id").column or "order_id")  # type: ignore[union-attr]
    bad |= noid

    # dates: marketplace local (offsets converted to the store's zone)
    dcol = m.col("order_date")
    fmt = [m.date_format] if m.date_format else None
    ts, bad_d = parse_datetime(field("order_date"), formats=fmt, tz=store.timezone, dayfirst=m.dayfirst)
    hit = (bad_d | ts.isna()) & ~bad
    quarantine(hit, "cannot parse " + (dcol.column or "") + ": '" + field("order_date") + "' (expected a date"
               + (f" like {m.date_format}" if m.date_format else "") + ")", dcol.column or "order_date")  # type: ignore[union-attr]
    bad |= hit

    qcol = m.col("quantity")
    qty, bad_q = parse_number(field("quantity"), decimal=".")
    hit = (bad_q | qty.isna() | (qty.round() != qty)) & ~bad
    quarantine(hit, "cannot parse " + (qcol.column or "") + ": '" + field("quantity") + "' (expected a whole number)",
               qcol.column or "quantity")  # type: ignore[union-attr]
    bad |= hit

    if "gross_sales" in m.columns:
        gross = number("gross_sales", "an amount")
    else:
        unit = number("unit_price", "an amount")
        gross = unit * qty.fillna(0)
    money = {f: number(f, "an amount") for f in ("discounts", "tax", "shipping_charged") if f in m.columns}

    # order-level amounts: once per order (first line of the order in this file)
    first = ~order_id.duplicated(keep="first")
    first_good = ~(order_id.where(~bad).duplicated(keep="first")) & ~bad
    for f in m.order_level:
        if f in money:
            money[f] = money[f].where(first, 0.0)

    status = field("status").str.lower() if "status" in m.columns else pd.Series("shipped", index=df.index)
    if m.cancelled_if:
        status = status.where(_get(df, m.cancelled_if) == "", "cancelled")
    unknown = ~status.isin(ORDER_STATUSES) & ~bad
    scol = m.col("status")
    quarantine(unknown, "unknown order status '" + status + "' (map it to one of " + ", ".join(ORDER_STATUSES) + ")",
               (scol.column if scol else "") or "status")
    bad |= unknown

    line_id = field("line_id") if "line_id" in m.columns else pd.Series("", index=df.index)
    seq = order_id.groupby(order_id).cumcount() + 1
    line_id = line_id.where(line_id != "", seq.astype(str))
    dup = pd.DataFrame({"o": order_id, "l": line_id}).duplicated(keep=False)
    if dup.any():
        line_id = line_id.where(~dup, line_id + "#" + seq.astype(str))

    currency = field("currency") if m.currency_column is None else _get(df, m.currency_column)
    if m.currency:
        currency = currency.where(currency != "", m.currency)
    if m.currency_column and m.order_level:
        # currency given on an order's first line only (Shopify): spread to the order
        cur = currency.where(currency != "")
        currency = cur.groupby(order_id).transform("first").fillna("")
    currency = currency.where(currency != "", store.currency).str.upper()
    wrong = (currency != store.currency) & ~bad
    if wrong.any():
        i = wrong.idxmax()
        raise IngestError(f"{path}: row {int(df.at[i, LINE])}, column {m.currency_column or 'currency'}: "
                          f"{currency[i]!r} contradicts store {store.store_id} whose currency is {store.currency}")

    good = ~bad
    src = df[LINE].astype("int64")

    def optional_ts(name: str) -> pd.Series:
        if name not in m.columns:
            return pd.Series(pd.NaT, index=df.index)
        v, _ = parse_datetime(field(name), formats=fmt, tz=store.timezone, dayfirst=m.dayfirst)
        return v

    orders = pd.DataFrame({
        "platform": store.platform, "store_id": store.store_id, "marketplace": store.marketplace,
        "order_id": order_id, "line_id": line_id, "sku": field("sku"), "order_date": ts.dt.floor("D"), "order_ts": ts,
        "status": status, "quantity": qty, "currency": currency, "gross_sales": gross,
        "discounts": money.get("discounts", 0.0), "tax": money.get("tax", 0.0),
        "shipping_charged": money.get("shipping_charged", 0.0),
        "fulfillment_channel": field("fulfillment_channel") if "fulfillment_channel" in m.columns else "merchant",
        "ship_date": optional_ts("ship_date").dt.floor("D"), "promised_ship_date": optional_ts("promised_ship_date").dt.floor("D"),
        "source_row": src,
    })[good]

    fee_frames = []
    expected = _expected(df, m, gross, order_id, bad)
    for f in m.fees:
        amt, b = parse_number(_get(df, f.column), decimal=m.decimal)
        amt = amt.fillna(0.0)
        lvl_first = first_good if f.level == "order" else good
        take = good & lvl_first & (amt != 0)
        fee_frames.append(pd.DataFrame({
            "platform": store.platform, "store_id": store.store_id, "date": ts.dt.floor("D"), "order_id": order_id,
            "sku": field("sku"), "fee_type": f.fee_type, "description": f.column, "amount": amt.abs(),
            "currency": currency, "source_row": src,
        })[take])
    fees = pd.concat(fee_frames, ignore_index=True) if fee_frames else None

    refunds = None
    if m.refunds:
        r = m.refunds
        amt = _refund_amount(df, m)
        lvl_first = first_good if r.level == "order" else good
        take = good & lvl_first & (amt > 0)
        rdate = ts
        if r.date:
            d2, _ = parse_datetime(_get(df, r.date), formats=fmt, tz=store.timezone, dayfirst=m.dayfirst)
            rdate = d2.where(d2.notna(), ts)
        rq = pd.Series(np.nan, index=df.index)
        if r.quantity:
            rq, _ = parse_number(_get(df, r.quantity), decimal=".")
        refunds = pd.DataFrame({
            "platform": store.platform, "store_id": store.store_id, "date": rdate.dt.floor("D"), "order_id": order_id,
            "sku": field("sku") if r.level == "line" else "", "quantity": rq, "amount": amt, "currency": currency,
            "reason": _get(df, r.reason) if r.reason else "", "source_row": src,
        })[take]

    tables = {"orders": orders}
    if fees is not None and len(fees):
        tables["fees"] = fees
    if refunds is not None and len(refunds):
        tables["refunds"] = refunds
    return ReadResult(tables, rows_read=rows_read, quarantine=q, expected_money=expected,
                      money_columns=[("orders", "gross_sales", 1.0), ("fees", "amount", 1.0), ("refunds", "amount", 1.0)])


def _tot_mask(df: pd.DataFrame, m: Mapping) -> pd.Series:
    if not m.totals_row:
        return pd.Series(False, index=df.index)
    return _get(df, m.totals_row.column).isin(m.totals_row.values)


def _refund_amount(df: pd.DataFrame, m: Mapping) -> pd.Series:
    r = m.refunds
    assert r is not None
    amt, _ = parse_number(_get(df, r.amount), decimal=m.decimal)
    if r.multiply_by:
        f, _ = parse_number(_get(df, r.multiply_by), decimal=m.decimal)
        amt = amt * f
    return amt.fillna(0.0).abs()


def _expected(df: pd.DataFrame, m: Mapping, gross: pd.Series, order_id: pd.Series, bad: pd.Series) -> float:
    """Money the file holds: line amounts over all rows, order amounts once per order id (totals excluded)."""
    rows = ~_tot_mask(df, m)
    total = float(gross[rows].sum())
    for f in m.fees:
        v, _ = parse_number(_get(df, f.column), decimal=m.decimal)
        v = v.abs()
        if f.level == "order":
            total += float(v[rows].groupby(order_id[rows]).first().sum())
        else:
            total += float(v[rows].sum())
    if m.refunds:
        v = _refund_amount(df, m)
        if m.refunds.level == "order":
            total += float(v[rows].groupby(order_id[rows]).first().sum())
        else:
            total += float(v[rows].sum())
    return total


def reader_from_mapping(mapping: Mapping | dict | Path | str) -> MappingReader:
    """A reader from a Mapping, a dict or a YAML path (for the onboarding widget and tests)."""
    if isinstance(mapping, (str, Path)):
        return MappingReader(load_mapping(Path(mapping)), str(mapping))
    if isinstance(mapping, dict):
        return MappingReader(load_model(Path("<mapping>"), Mapping, data=mapping))
    return MappingReader(mapping)


def preview(path: Path, mapping: Mapping | dict, store: Store | None = None, n: int = 20) -> tuple[pd.DataFrame, list[str]]:
    """Parsed canonical rows (first ``n``) and the issues found (quarantine reasons or a file error)."""
    try:
        reader = reader_from_mapping(mapping)
    except ConfigError as exc:
        return pd.DataFrame(), list(exc.issues) or [str(exc)]
    store = store or Store("PREVIEW", "", "", reader.mapping.currency or "", "UTC")
    try:
        df = load_frame(Path(path), reader.mapping)
        if not store.currency:
            cur = _get(df, reader.mapping.currency_column)
            store.currency = (cur[cur != ""].iloc[0] if (cur != "").any() else "USD").upper()
        missing = [c for c in reader.mapping.required_source_columns() if normalize_header(c) not in df.columns]
        if missing:
            return pd.DataFrame(), [f"column {c!r} is not in the file (mapped in the mapping)" for c in missing]
        res = convert(df, reader.mapping, store, path)
    except IngestError as exc:
        return pd.DataFrame(), [str(exc)]
    orders = res.tables["orders"]
    rows = conform(orders, dict(TABLES["orders"].columns) | {"source_row": "int64"}).head(n)
    issues = [f"row {x.source_row}: {x.reason}" for x in res.quarantine]
    return rows, issues


def register_builtin(mapping: dict) -> MappingReader:
    """Register a built-in mapping (platform readers are mappings too)."""
    reader = MappingReader(Mapping.model_validate(mapping), "built-in")
    register_instance(reader)
    return reader


_USER: set[str] = set()
_STATE: dict[str, tuple] = {}


def register_user_mappings(directory: Path | None = None) -> list[str]:
    """(Re-)register one reader per parameters/mappings/*.yaml; an invalid file raises ConfigError.

    Called by ``base.readers()`` on every lookup, so a mapping saved by the onboarding notebook is
    used by the next ingest without a restart, and a project switch (KPI_ROOT) is honoured.
    """
    from ..base import unregister

    d = directory or (paths.parameters_dir() / "mappings")
    files = sorted(d.glob("*.y*ml")) if d.is_dir() else []
    state = tuple((str(p), p.stat().st_mtime_ns) for p in files)
    if state == _STATE.get("files"):
        return sorted(_USER)
    for name in list(_USER):
        unregister(name)
    _USER.clear()
    names = []
    for p in files:
        reader = MappingReader(load_mapping(p), str(p))
        register_instance(reader)
        _USER.add(reader.name)
        names.append(reader.name)
    _STATE["files"] = state
    return names
