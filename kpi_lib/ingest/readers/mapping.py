"""The generic export reader, driven by a mapping (YAML in parameters/mappings/ or built in).

A mapping names its target ``table``: ``orders`` (below; fees and refunds may come from order
columns), or ``fees``, ``refunds``, ``ads``, ``traffic``, ``inventory`` (see :func:`convert_table`:
``columns`` maps that table's canonical fields, validated against ``kpi_lib/schemas.py`` (unknown
fields and missing required ones are ConfigErrors naming the key); a fee export is long (``amount`` +
``fee_type`` with a value map) or wide (``fees:`` one fee row per listed column); ``amount_sign`` says
how the file signs costs; ``reconcile`` names the file's own total columns the loaded money must
equal, else the money column's cells (or the file's totals row) are the expected money). The native
fee/ads/traffic exports of Shopee, Lazada, TikTok Shop, Shopify, Walmart and Meta are built-in
mappings of this kind.

A mapping says how to recognise the file (its header holds ``detect.required_columns``), how it is
written (encoding, delimiter, header row after a preamble, date format, decimal mark, thousands
separator), which source column feeds which canonical ``orders`` field, which amounts are given per
order (repeated on every line, or on the first line only: counted once), which columns are fees,
where refunds are, and what a totals row looks like. The Shopee, TikTok Shop and Shopify readers
are built-in mappings (see their modules); a user adds a new export with a YAML file, no code.
Every key is checked (unknown keys, fields, fee types and statuses are ConfigErrors naming their
path in the file)::

    name: erp_mabang_orders            # reader name (lower_snake_case)
    description: 马帮ERP 订单导出
    platforms: [lazada, walmart]       # store platforms whose files it may read (empty = any)
    table: orders
    encoding: gb18030                  # auto (BOM / UTF-8 / UTF-16 / GB18030) or a codec name
    delimiter: ","                     # auto, ",", ";", "\t", "|"
    header_row: 1                      # 1-based; lines before it are a preamble (xlsx: 1 = find it)
    description_row: false             # a line of column descriptions under the header (TikTok)
    detect: {required_columns: [订单编号, 平台订单号, 商品SKU, 付款时间]}
    date_format: "%Y/%m/%d %H:%M:%S"   # or omit for common formats (dayfirst: true for 05/03 = 5 March)
    decimal: "."                       # ".", "," or auto; thousands: "'" removes a separator
    currency_column: 币种              # or currency: USD (default: the store's currency)
    columns:                           # canonical field: source column, or a spec
      order_id: 平台订单号
      line_id: 商品SKU                 # default: the line's index within its order
      sku: {column: 商品SKU, fallback: 商品名称}
      order_date: 付款时间              # offsets (+0500) are converted to the store's time zone
      quantity: 数量
      gross_sales: 商品总额            # or unit_price: {column: 单价, multiply_by: 数量}
      discounts: 优惠金额
      shipping_charged: 运费
      status: {column: 订单状态, map: {已发货: shipped, 已完成: delivered, 已取消: cancelled}}
      fulfillment_channel: {column: 物流方式, default: merchant}
    order_level: [shipping_charged]    # money fields given once per order
    status_overrides: [{column: 退款状态, map: {退款成功: returned}, level: line}]
    cancelled_if: 取消时间             # a non-empty cell marks the line cancelled
    skip_cancelled_fees: true          # fees shown on cancelled lines were never charged
    fees:                              # → fees rows (cost as a positive amount)
      - {column: 平台佣金, fee_type: referral, level: line}
    refunds: {amount: 退款金额, level: line, date: 退款时间, quantity: 退货数量, reason: 退款原因}
    totals_row: {column: 订单编号, values: [合计, Total]}

Each data row lands in ``orders`` (with its ``source_row``: physical line or sheet row) or in the
quarantine with a reason naming the column and the expected format (unparseable date, amount or
quantity, negative quantity, empty order id, unmapped status, totals row). Money reconciliation:
``expected`` is computed from the source cells of every non-totals row (line amounts summed,
order-level amounts once per order id); ``loaded`` is what lands in orders (gross sales), fees and
refunds. They differ only by the money of quarantined rows.

Size (≈860 lines): the one generic reader — mapping resolution, six target tables' conversion and
its quarantine share the column/format helpers; the built-in mappings' data are in their own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ... import paths
from ...config import load_model
from ...errors import ConfigError, IngestError
from ...schemas import FEE_TYPES, ORDER_STATUSES, TABLES, conform
from ...spec import mappings as mappings_spec
from ...spec.mappings import (  # noqa: F401 - re-exported
    CONTEXT_FIELDS,
    MAPPABLE_TABLES,
    Column,
    Detect,
    Fee,
    Mapping,
    Reconcile,
    Refunds,
    StatusOverride,
    TotalsRow,
    required_fields,
    table_fields,
)
from .. import arrowcols
from ..base import (
    FileHead,
    QuarantineRow,
    Reader,
    ReadResult,
    Store,
    csv_frame,
    normalize_header,
    unique_names,
)
from ..frames import read_utf8_table
from ..parse import all_text, parse_datetime, parse_number
from ..registry import REGISTRY, register_instance, unregister
from ..textio import TextLocale, decode_bytes, text_locale

LINE = "__line"

#: the Arrow/per-distinct column work (False: the pandas path cell by cell, the reference in the tests)
FAST = True


def load_mapping(path: Path) -> Mapping:
    """Validate a mapping YAML (unknown keys and fields are errors naming their path)."""
    return mappings_spec.load(path)


# ------------------------------------------------------------------------------------------------
def _sep(text: str, delimiter: str) -> str:
    if delimiter != "auto":
        return {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    first = text.split("\n", 1)[0]
    return max([",", "\t", ";", "|"], key=first.count)


def load_frame(path: Path, m: Mapping, marketplace: str | None = None) -> pd.DataFrame:
    """The file as text columns (normalised headers) plus ``__line`` (physical line / sheet row).

    ``attrs["headers"]`` maps each normalised header back to the file's own spelling (quarantined
    rows show their raw values under the original headers); ``attrs["locale"]`` is the file's
    ``textio.TextLocale`` (encoding, delimiter, decimal mark), decided once for the whole file
    (``None`` for xlsx, whose numbers are typed cells).
    """
    raw = path.read_bytes()
    loc: TextLocale | None = None
    if raw[:4] == b"PK\x03\x04":
        df = _xlsx_frame(path, m)
    else:
        text, enc, bom = _decode_text(path, raw, m, marketplace)
        fixed = None if m.delimiter == "auto" else _sep("", m.delimiter)
        loc = text_locale(text, enc, bom, fixed, m.header_row - 1)
        df = _text_frame(text, m, loc.delimiter)
    headers = {normalize_header(c): str(c) for c in df.columns if c != LINE}
    df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
    if m.description_row and len(df) and _is_description_row(df, m):
        df = df.iloc[1:]
    df = df.reset_index(drop=True)
    df.attrs["headers"] = _Shared(headers)
    df.attrs["locale"] = loc
    return df


def file_mapping(m: Mapping, df: pd.DataFrame) -> Mapping:
    """The mapping as it applies to this file: the decimal mark the file shows (decided once, by
    ``textio``) replaces ``auto``, and also an explicit mark the file contradicts (an export re-saved
    by Excel in a decimal-comma locale: ``92430,04`` is 92430.04, never 9,243,004)."""
    loc = df.attrs.get("locale")
    dec = getattr(loc, "decimal", None)
    if dec and dec != m.decimal:
        return m.model_copy(update={"decimal": dec})
    if m.decimal == "auto" and loc is not None:
        return m.model_copy(update={"decimal": "."})  # no decimal evidence in the file: plain numbers
    return m


def _is_description_row(df: pd.DataFrame, m: Mapping) -> bool:
    """The first row describes the columns (``Platform unique order ID.``) rather than holding an
    order: its order-id cell is a phrase. An export without the description line loses no row."""
    oc = m.col("order_id")
    key = normalize_header(oc.column) if oc and oc.column else ""
    if key not in df.columns:
        return True
    cell = _cell_text(df[key].iloc[0]).strip()
    return any(ch.isspace() for ch in cell)


def _decode_text(path: Path, raw: bytes, m: Mapping, marketplace: str | None = None) -> tuple[str, str, bool]:
    """(text, encoding, had BOM): ``auto`` detects the encoding once (``textio``), else the mapping's."""
    if m.encoding in ("auto", ""):
        return decode_bytes(raw, marketplace)
    enc = m.encoding.lower().replace("_", "-")
    if enc in ("utf-16", "utf16") and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16-le"  # no BOM: Windows exports are little-endian
    try:
        text = raw.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise IngestError(f"{path}: cannot decode as {m.encoding} ({exc}); fix `encoding` in the mapping") from None
    return text.lstrip("\ufeff"), enc, text.startswith("\ufeff")


def _text_frame(text: str, m: Mapping, sep: str | None = None) -> pd.DataFrame:
    """Delimited text → frame; preamble lines before ``header_row`` skipped, line numbers physical."""
    skip = m.header_row - 1
    offset = 0
    for _ in range(skip):  # physical lines end at "\n" only (a quoted field may hold other breaks)
        nl = text.find("\n", offset)
        if nl < 0:
            return pd.DataFrame({LINE: pd.Series([], dtype="int64")})
        offset = nl + 1
    body = text[offset:]
    sep = sep or _sep(body, m.delimiter)
    df = None
    if sep in (",", "\t", ";", "|"):
        if '"' not in body:
            df = _fast_split(body, sep)
        else:
            # pyarrow with exact physical line numbers (falls back to the csv module itself)
            # Arrow-backed text: ``_get`` makes Python text of the columns the mapping reads only
            df = read_utf8_table(body.encode("utf-8"), sep, True)
    if df is None:
        df = csv_frame(body, sep)
    if skip and LINE in df.columns:
        df[LINE] = df[LINE].astype("int64") + skip
    return df


def _xlsx_frame(path: Path, m: Mapping) -> pd.DataFrame:
    """First sheet → frame (vectorised): header row per the mapping (or the first row holding the
    detection columns), rows of empty cells skipped, ``__line`` = sheet row number."""
    try:
        import python_calamine

        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        values = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable workbook
        raise IngestError(f"{path}: cannot open the xlsx workbook ({exc})") from None
    want = {normalize_header(c) for c in m.detect.required_columns}
    h = m.header_row - 1
    if m.header_row == 1:
        h = next((i for i, r in enumerate(values[:30]) if want <= {normalize_header(v) for v in r}), 0)
    if len(values) <= h:
        return pd.DataFrame({LINE: pd.Series([], dtype="int64")})
    header = unique_names(["" if v is None else str(v) for v in values[h]])
    n = len(header)
    body = values[h + 1:]
    df = pd.DataFrame(body, dtype="object") if body else pd.DataFrame(columns=range(n), dtype="object")
    df = df.reindex(columns=range(n))
    df.columns = header
    blank = np.ones(len(df), dtype=bool)
    for c in header:
        col = df[c]
        blank &= (col.isna() | col.eq("")).to_numpy(dtype=bool)
    df[LINE] = np.arange(h + 2, h + 2 + len(df), dtype="int64")
    df = df[~blank]
    used = {normalize_header(c) for c in m.source_columns()}
    comma = m.decimal == ","
    for c in header:  # cells → text as shown (only the columns the mapping reads)
        if normalize_header(c) in used:
            df[c] = df[c].map(_cell_text_comma if comma else _cell_text)
    return df


def _cell_text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[union-attr]
    return str(v)


def _cell_text_comma(v: object) -> str:
    """A number cell written with the decimal comma the mapping expects (12.5 → ``12,5``)."""
    if isinstance(v, float) and not v.is_integer() and not np.isnan(v):
        return repr(v).replace(".", ",")
    return _cell_text(v)


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


class _Shared(dict):
    """Read-only metadata in ``attrs``, shared (not deep-copied) by frames derived from the file's frame."""

    def __deepcopy__(self, memo: dict) -> _Shared:
        return self


class _TextCache(dict):
    """Per-frame cache of stripped text columns; never copied into derived frames (pandas deep-copies
    ``attrs`` on every slice, which would copy every cached column)."""

    def __deepcopy__(self, memo: dict) -> _TextCache:
        return _TextCache()


def _get(df: pd.DataFrame, name: str | None) -> pd.Series:
    """A source column as stripped text ('' when empty or absent); cached per frame and column."""
    if not name:
        return pd.Series("", index=df.index, dtype="object")
    key = normalize_header(name)
    if key not in df.columns:
        return pd.Series("", index=df.index, dtype="object")
    cache = df.attrs.get("_text")
    if not isinstance(cache, _TextCache):
        cache = df.attrs["_text"] = _TextCache()
    if key not in cache:
        cache[key] = _stripped_text(df[key])
    return cache[key]


def _stripped_text(s: pd.Series) -> pd.Series:
    """``s.astype("object").fillna("").astype(str).str.strip()``; a column of text (Arrow-backed, or
    objects that are all text or missing) is stripped once per distinct value (prices, dates,
    statuses and SKUs repeat): an Arrow column is factorized in C, without a Python string per cell."""
    if FAST and len(s) >= 64 and arrowcols.arrow_text_column(s):
        return _stripped_arrow(s)
    text = isinstance(s.dtype, pd.StringDtype) or (
        s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"))
    if len(s) >= 64 and text:
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        if len(uniq) <= 0.75 * len(s):
            stripped = np.array([str(u).strip() for u in uniq] + [""], dtype=object)  # code -1 (missing) → ""
            return pd.Series(stripped[codes], index=s.index, dtype="object")
    return s.astype("object").fillna("").astype(str).str.strip()


def _stripped_arrow(s: pd.Series) -> pd.Series:
    """``_stripped_text`` of an Arrow-backed text column: dictionary-encoded by Arrow, the distinct
    texts made Python strings in one ``to_pylist`` and stripped by ``str.strip`` (the same rule),
    spread back to the rows; missing cells are ''. The result is named like the pandas path's."""
    codes, uniq = arrowcols.distinct(arrowcols.as_arrow(s))
    stripped = np.array([u.strip() for u in uniq] + [""], dtype=object)  # code -1 (missing) → ""
    name = None if len(uniq) <= 0.75 * len(s) else s.name
    return pd.Series(stripped[codes], index=s.index, dtype="object", name=name)


def _per_distinct(s: pd.Series, parse: Callable[[pd.Series], tuple[pd.Series, pd.Series]],
                  missing: object) -> tuple[pd.Series, pd.Series]:
    """``parse`` (a per-cell rule returning values and a bad-cell mask) run on the distinct texts of
    a text column only and spread back to its rows; a missing cell takes ``missing`` and is not bad.
    Columns of fewer than 64 cells, with no repeated text or holding other than text go to ``parse``
    whole."""
    if len(s) < 64 or not all_text(s):
        return parse(s)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if len(uniq) == len(s):
        return parse(s)
    v, b = parse(pd.Series(np.asarray(uniq, dtype=object), dtype="object"))
    vals = np.append(v.to_numpy(), np.array([missing], dtype=v.dtype))
    bads = np.append(b.to_numpy(dtype=bool), False)
    return pd.Series(vals[codes], index=s.index, dtype=v.dtype, name=s.name), pd.Series(bads[codes], index=s.index)


class MappingReader(Reader):
    """A reader defined by a ``Mapping``."""

    #: True in a subclass that puts its own (independent) expected money on the result: the
    #: mapping's own sum is then not computed (it would be replaced)
    own_expected: bool = False

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
        df = load_frame(path, self.mapping, store.marketplace)
        m = file_mapping(self.mapping, df)
        missing = [c for c in m.required_source_columns() if normalize_header(c) not in df.columns]
        if missing:
            have = [str(c) for c in (df.attrs.get("headers") or {}).values()]
            raise IngestError(f"{path}: missing column(s) {', '.join(missing)} required by mapping {m.name} "
                              f"(the file's header has: {', '.join(have[:30])}{' …' if len(have) > 30 else ''})")
        if m.table == "orders":
            return convert(df, m, store, path, expected=not self.own_expected)
        return convert_table(df, m, store, path)


def _quarantiner(df: pd.DataFrame, q: list[QuarantineRow]) -> Callable[[pd.Series, pd.Series | str, str], None]:
    """``quarantine(mask, reason, column)``: appends the masked source rows, with their original
    non-empty cells under the file's own header names, to ``q``; ``reason`` is a text, a text per row,
    or a function making the texts per row (called only when a row is masked)."""
    raw_cols = [c for c in df.columns if c != LINE]
    original = df.attrs.get("headers") or {}
    raw_names = [original.get(c, c) for c in raw_cols]

    def quarantine(mask: pd.Series, reason: pd.Series | str | Callable[[], pd.Series], column: str) -> None:
        if not mask.any():
            return
        if callable(reason):  # a reason per row, built only when a row is hit
            reason = reason()
        sub = df.loc[mask]
        reasons = reason[mask] if isinstance(reason, pd.Series) else pd.Series(reason, index=sub.index)
        recs = sub[raw_cols].to_numpy(dtype=object).tolist()
        for line, why, rec in zip(sub[LINE].tolist(), reasons.tolist(), recs):
            q.append(QuarantineRow(int(line), str(why), column,
                                   {k: v for k, v in zip(raw_names, rec) if not _empty_cell(v)}))

    return quarantine


def mapped_field(df: pd.DataFrame, m: Any, name: str) -> pd.Series:
    """The text of canonical field ``name`` under mapping ``m``: its column (else its fallback column where
    empty), values mapped, empty cells given the default; empty strings when the mapping lacks the field."""
    c = m.col(name)
    if c is None:
        return pd.Series("", index=df.index, dtype="object")
    s = _get(df, c.column)
    if c.fallback:
        s = s.where(s != "", _get(df, c.fallback))
    if c.map:
        s = _map_values(s, c.map)
    if c.default is not None:
        s = s.where(s != "", str(c.default))
    return s


def convert(df: pd.DataFrame, m: Mapping, store: Store, path: Path | str = "", expected: bool = True) -> ReadResult:
    """Source frame (normalised headers + ``__line``) → canonical orders/fees/refunds + quarantine."""
    q: list[QuarantineRow] = []
    rows_read = len(df)
    quarantine = _quarantiner(df, q)

    bad = pd.Series(False, index=df.index)
    if m.totals_row:
        tot = _get(df, m.totals_row.column).isin(m.totals_row.values)
        quarantine(tot, "totals row", m.totals_row.column)
        bad |= tot

    def field(name: str) -> pd.Series:
        return mapped_field(df, m, name)

    def number(name: str, what: str) -> pd.Series:
        c = m.col(name)
        if c is None:
            return pd.Series(0.0, index=df.index)
        v, b = _num(field(name), m)
        if c.multiply_by:
            f, b2 = _num(_get(df, c.multiply_by), m)
            v, b = v * f, b | b2
        hit = b & ~bad
        quarantine(hit, lambda: "cannot parse " + (c.column or name) + ": '" + field(name) + f"' (expected {what})", c.column or name)
        bad.loc[hit] = True
        return v.fillna(0.0)

    order_id = field("order_id")
    noid = (order_id == "") & ~bad
    quarantine(noid, "order id is empty", m.col("order_id").column or "order_id")  # type: ignore[union-attr]
    bad |= noid

    # dates: marketplace local (offsets converted to the store's zone)
    dcol = m.col("order_date")
    # the mapping's format first; ISO as well (a workbook saved by Excel holds real dates)
    fmt = [m.date_format, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"] if m.date_format else None
    ts, bad_d = _dates(field("order_date"), fmt, store.timezone, m.dayfirst)
    hit = (bad_d | ts.isna()) & ~bad
    quarantine(hit, lambda: "cannot parse " + (dcol.column or "") + ": '" + field("order_date") + "' (expected a date"
               + (f" like {m.date_format}" if m.date_format else "") + ")", dcol.column or "order_date")  # type: ignore[union-attr]
    bad |= hit

    qcol = m.col("quantity")
    qty, bad_q = _num(field("quantity"), m, decimal=".")
    hit = (bad_q | qty.isna() | (qty.round() != qty)) & ~bad
    quarantine(hit, lambda: "cannot parse " + (qcol.column or "") + ": '" + field("quantity") + "' (expected a whole number)",
               qcol.column or "quantity")  # type: ignore[union-attr]
    bad |= hit
    hit = (qty < 0).fillna(False) & ~bad
    quarantine(hit, lambda: (qcol.column or "quantity") + ": negative value '" + field("quantity") + "' (expected a whole number >= 0)",
               qcol.column or "quantity")  # type: ignore[union-attr]
    bad |= hit

    if "gross_sales" in m.columns:
        gross = number("gross_sales", "an amount")
    else:
        unit = number("unit_price", "an amount")
        uc = m.col("unit_price")
        # unit price × quantity (once: a `multiply_by` on unit_price already did it)
        gross = unit if (uc and uc.multiply_by) else unit * qty.fillna(0)
    money = {f: number(f, "an amount") for f in ("discounts", "tax", "shipping_charged") if f in m.columns}

    # order-level amounts: once per order (first line of the order in this file)
    first = ~order_id.duplicated(keep="first")
    for f in m.order_level:
        if f in money:
            money[f] = money[f].where(first, 0.0)

    status = field("status").str.lower() if "status" in m.columns else pd.Series("shipped", index=df.index)
    for o in m.status_overrides:
        src_v = _get(df, o.column)
        if o.level == "order":  # on the order's first line only: spread over the order
            src_v = src_v.where(src_v != "").groupby(order_id).transform("first").fillna("")
        over = _map_values(src_v, o.map, keep=False)
        status = status.where(over.isna() | (status == "cancelled"), over.str.lower())
    if m.cancelled_if:
        status = status.where(_get(df, m.cancelled_if) == "", "cancelled")
    unknown = ~status.isin(ORDER_STATUSES) & ~bad
    scol = m.col("status")
    quarantine(unknown, lambda: "unknown order status '" + status + "' (map it to one of " + ", ".join(ORDER_STATUSES) + ")",
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
        v, _ = _dates(field(name), fmt, store.timezone, m.dayfirst)
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
    charged = status != "cancelled" if m.skip_cancelled_fees else pd.Series(True, index=df.index)
    refundable = status != "cancelled" if m.skip_cancelled_refunds else pd.Series(True, index=df.index)
    expected_money = _expected(df, m, gross, order_id, charged, refundable) if expected else None
    fee_ok = good & charged
    first_fee = fee_ok & ~order_id.where(fee_ok).duplicated(keep="first")
    for f in m.fees:
        amt, _ = _num(_get(df, f.column), m)
        amt = amt.fillna(0.0)
        take = (first_fee if f.level == "order" else fee_ok) & (amt != 0)
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
        ref_ok = good & refundable
        first_ref = ref_ok & ~order_id.where(ref_ok).duplicated(keep="first")
        take = (first_ref if r.level == "order" else ref_ok) & (amt > 0)
        rdate = ts
        if r.date:
            d2, _ = _dates(_get(df, r.date), fmt, store.timezone, m.dayfirst)
            rdate = d2.where(d2.notna(), ts)
        rq = pd.Series(np.nan, index=df.index)
        if r.quantity:
            rq, _ = _num(_get(df, r.quantity), m, decimal=".")
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
    return ReadResult(tables, rows_read=rows_read, quarantine=q, expected_money=expected_money,
                      money_columns=[("orders", "gross_sales", 1.0), ("fees", "amount", 1.0), ("refunds", "amount", 1.0)])


# ------------------------------------------------------------------------------------------------
# every table but orders: fees (long or wide), refunds, ads, traffic, inventory

#: the money column(s) whose loaded sum reconciles against the file, per table
MONEY_FIELDS: dict[str, tuple[str, ...]] = {"fees": ("amount",), "refunds": ("amount",), "ads": ("spend",),
                                            "traffic": ("ordered_sales",), "inventory": ()}


def convert_table(df: pd.DataFrame, m: Mapping, store: Store, path: Path | str = "") -> ReadResult:
    """Source frame → rows of ``m.table`` (fees, refunds, ads, traffic, inventory) + quarantine.

    Each row yields one canonical row (a wide fee export: one row per non-zero fee column, a row
    whose fee columns are all zero one zero-amount row of the first fee column, so it is counted as
    loaded) or is quarantined with a reason naming the column and what was expected (unparseable or
    empty required value, negative count, unknown fee type, totals row). Reconciliation:
    ``expected`` is the file's own totals: the ``reconcile`` columns, else the money column's cells
    (both over the data rows, or taken from the file's totals row when it has one)."""
    t = TABLES[m.table]
    q: list[QuarantineRow] = []
    quarantine = _quarantiner(df, q)

    tot = _tot_mask(df, m)
    quarantine(tot, "totals row", m.totals_row.column if m.totals_row else "")
    bad = tot.copy()

    def field(name: str) -> pd.Series:
        return mapped_field(df, m, name)

    def src_name(name: str) -> str:
        c = m.col(name)
        return (c.column if c and c.column else "") or name

    out: dict[str, Any] = {"platform": store.platform, "store_id": store.store_id}
    fmt = [m.date_format, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"] if m.date_format else None
    dcol = t.date_column or "date"
    when, bad_d = _dates(field(dcol), fmt, store.timezone, m.dayfirst)
    hit = (bad_d | when.isna()) & ~bad
    quarantine(hit, lambda: "cannot parse " + src_name(dcol) + ": '" + field(dcol) + "' (expected a date"
               + (f" like {m.date_format}" if m.date_format else "") + ")", src_name(dcol))
    bad |= hit
    out[dcol] = when.dt.floor("D")

    for name, kind in t.columns.items():
        if name in CONTEXT_FIELDS or name == dcol or name == "currency" or name not in m.columns:
            continue
        if kind == "string":
            out[name] = field(name)
            continue
        what = "a whole number" if kind == "int64" else "an amount"
        raw = field(name)
        v, b = _num(raw, m)
        c = m.col(name)
        if c is not None and c.multiply_by:
            f2, b2 = _num(_get(df, c.multiply_by), m)
            v, b = v * f2, b | b2
        if kind == "int64":
            b = b | (v.notna() & (v.round() != v))
        hit = b & ~bad
        quarantine(hit, "cannot parse " + src_name(name) + ": '" + raw + f"' (expected {what})", src_name(name))
        bad |= hit
        if name in t.required:
            hit = v.isna() & ~bad
            quarantine(hit, f"{src_name(name)} is empty (expected {what})", src_name(name))
            bad |= hit
        if name in t.non_negative:
            hit = (v < 0).fillna(False) & ~bad
            quarantine(hit, src_name(name) + ": negative value '" + raw + f"' (expected {what} >= 0)", src_name(name))
            bad |= hit
        out[name] = v

    if m.table == "fees" and "fee_type" in m.columns:
        ft = field("fee_type")
        hit = ~ft.isin(FEE_TYPES) & ~bad
        quarantine(hit, lambda: "unknown fee type '" + ft + "' (map it to one of " + ", ".join(FEE_TYPES) + ")",
                   src_name("fee_type"))
        bad |= hit
        out["fee_type"] = ft

    currency = field("currency") if m.currency_column is None else _get(df, m.currency_column)
    if m.currency:
        currency = currency.where(currency != "", m.currency)
    currency = currency.where(currency != "", store.currency).str.upper()
    if "currency" in t.columns:
        wrong = (currency != store.currency) & ~bad
        if wrong.any():
            i = wrong.idxmax()
            raise IngestError(f"{path}: row {int(df.at[i, LINE])}, column {m.currency_column or 'currency'}: "
                              f"{currency[i]!r} contradicts store {store.store_id} whose currency is {store.currency}")
        out["currency"] = currency
    out["source_row"] = df[LINE].astype("int64")

    if m.table == "fees" and m.fees:  # wide: one fee row per fee column
        parts = []
        amounts = []
        for f in m.fees:
            raw = _get(df, f.column)
            v, b = _num(raw, m)
            hit = b & ~bad
            quarantine(hit, "cannot parse " + f.column + ": '" + raw + "' (expected an amount)", f.column)
            bad |= hit
            amounts.append(_fee_sign(v.fillna(0.0), m))
        good = ~bad
        none = pd.Series(True, index=df.index)
        for a in amounts:
            none &= a == 0
        base = pd.DataFrame(out, index=df.index)
        for i, (f, a) in enumerate(zip(m.fees, amounts)):
            take = good & ((a != 0) | (none if i == 0 else False))
            part = base[take].copy()
            part["fee_type"], part["description"], part["amount"] = f.fee_type, f.column, a[take]
            parts.append(part)
        rows = pd.concat(parts).sort_values("source_row", kind="stable").reset_index(drop=True)
    else:
        if m.table == "fees":
            out["amount"] = _fee_sign(out["amount"], m)
            if "description" not in m.columns:
                out["description"] = src_name("fee_type")
        rows = pd.DataFrame(out, index=df.index)[~bad]
    money = [f for f in MONEY_FIELDS[m.table] if f in m.columns or (f == "amount" and m.fees)]
    expected = _expected_table(df, m, tot) if money else None
    return ReadResult({m.table: rows} if len(rows) else {}, rows_read=len(df), quarantine=q, expected_money=expected,
                      money_columns=[(m.table, c, 1.0) for c in money])


def _fee_sign(v: pd.Series, m: Mapping) -> pd.Series:
    """A fee cell → cost as a positive amount (credits negative), per ``amount_sign``."""
    if m.amount_sign == "negate":
        return -v
    if m.amount_sign == "as_is":
        return v
    return v.abs()


def _expected_table(df: pd.DataFrame, m: Mapping, tot: pd.Series) -> float:
    """The file's own money: the ``reconcile`` columns (sign × cell), else the money column(s) as the
    file writes them; summed over the data rows, or read from the totals row when the file has one."""
    if m.reconcile:
        cols = list(m.reconcile.columns.items())
        transform = None
    elif m.table == "fees" and m.fees:
        cols = [(f.column, 1.0) for f in m.fees]
        transform = m
    else:
        cols = []
        for f in MONEY_FIELDS[m.table]:
            c = m.col(f)
            if c is not None and c.column:
                cols.append((c.column, 1.0))
        transform = m if m.table == "fees" else None
    rows = tot if tot.any() else ~tot
    total = 0.0
    for col, sign in cols:
        v, _ = _num(_get(df, col), m)
        v = v.fillna(0.0)
        if transform is not None:
            v = _fee_sign(v, transform)
        total += sign * float(v[rows].sum())
    return total


def _empty_cell(v: object) -> bool:
    return v is None or (isinstance(v, str) and v == "") or (isinstance(v, float) and np.isnan(v))


def _map_values(s: pd.Series, mapping: dict[str, str], keep: bool = True) -> pd.Series:
    """Map source texts (exact, then case- and space-insensitive); unmapped values kept (or NaN)."""
    exact = s.map(mapping)
    miss = exact.isna()
    if miss.any():  # per distinct value, not per row
        loose = {normalize_header(k): v for k, v in mapping.items()}
        lookup = {u: loose.get(normalize_header(u)) for u in pd.unique(s[miss])}
        exact = exact.where(~miss, s.map(lookup))
    return exact.where(exact.notna(), s) if keep else exact


def _num(s: pd.Series, m: Mapping, decimal: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Numbers of a text column by the mapping's thousands separator and decimal mark (NaN where
    empty) and the mask of cells that are not numbers; ``parse_number`` is per cell, so with
    ``FAST`` it runs on the distinct texts only (amounts and quantities repeat)."""
    if FAST:
        return _per_distinct(s, lambda u: _num_cells(u, m, decimal), np.nan)
    return _num_cells(s, m, decimal)


def _num_cells(s: pd.Series, m: Mapping, decimal: str | None = None) -> tuple[pd.Series, pd.Series]:
    """``_num`` cell by cell (the reference)."""
    if m.thousands:
        s = s.str.replace(m.thousands, "", regex=False)
    return parse_number(s, decimal=decimal or m.decimal)


def _dates(s: pd.Series, formats: list[str] | None, tz: str | None, dayfirst: bool) -> tuple[pd.Series, pd.Series]:
    """``parse_datetime`` of a text column. With ``FAST``, per distinct text: those in the fixed-width
    layout of the first format (``arrowcols.fixed_datetimes``), or — without formats — written
    ``YYYY-MM-DD HH:MM:SS +HHMM`` (``arrowcols.offset_datetimes``, Shopify), are read from their
    bytes; ``parse_datetime`` reads the others (its rules are per text: with formats each text is
    tried alone; without, the texts read here are zone-suffixed ones, which its day-first test
    never sees)."""
    if not (FAST and len(s) and all_text(s)):
        return parse_datetime(s, formats=formats, tz=tz, dayfirst=dayfirst)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    texts = np.asarray(uniq, dtype=object)
    fast = arrowcols.fixed_datetimes(texts, formats[0]) if formats else arrowcols.offset_datetimes(texts, tz)
    if fast is None:
        return parse_datetime(s, formats=formats, tz=tz, dayfirst=dayfirst)
    vals, read = fast
    bads = np.zeros(len(texts) + 1, dtype=bool)
    if not read.all():
        rest = np.flatnonzero(~read)
        v, b = parse_datetime(pd.Series(texts[rest], dtype="object"), formats=formats, tz=tz, dayfirst=dayfirst)
        vals[rest] = v.to_numpy(dtype="datetime64[ns]")
        bads[rest] = b.to_numpy(dtype=bool)
    vals = np.append(vals, np.datetime64("NaT", "ns"))  # code -1 (missing): NaT, not bad
    return pd.Series(vals[codes], index=s.index, dtype="datetime64[ns]"), pd.Series(bads[codes], index=s.index)


def _tot_mask(df: pd.DataFrame, m: Mapping) -> pd.Series:
    if not m.totals_row:
        return pd.Series(False, index=df.index)
    return _get(df, m.totals_row.column).isin(m.totals_row.values)


def _refund_amount(df: pd.DataFrame, m: Mapping) -> pd.Series:
    r = m.refunds
    assert r is not None
    amt, _ = _num(_get(df, r.amount), m)
    if r.multiply_by:
        f, _ = _num(_get(df, r.multiply_by), m)
        amt = amt * f
    return amt.fillna(0.0).abs()


def _expected(df: pd.DataFrame, m: Mapping, gross: pd.Series, order_id: pd.Series, charged: pd.Series,
              refundable: pd.Series) -> float:
    """Money the file holds: line amounts over all rows, order amounts once per order id (totals excluded;
    with ``skip_cancelled_fees`` the fees of cancelled lines are not money the seller was charged)."""
    rows = ~_tot_mask(df, m)
    total = float(gross[rows].sum())
    frows = rows & charged
    for f in m.fees:
        v, _ = _num(_get(df, f.column), m)
        v = v.abs()
        if f.level == "order":
            total += float(v[frows].groupby(order_id[frows]).first().sum())
        else:
            total += float(v[frows].sum())
    if m.refunds:
        v = _refund_amount(df, m)
        rrows = rows & refundable
        if m.refunds.level == "order":
            total += float(v[rrows].groupby(order_id[rrows]).first().sum())
        else:
            total += float(v[rrows].sum())
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
        m = file_mapping(reader.mapping, df)  # the file's decimal mark, decided once
        res = convert(df, m, store, path) if m.table == "orders" else convert_table(df, m, store, path)
    except IngestError as exc:
        return pd.DataFrame(), [str(exc)]
    t = reader.mapping.table
    frame = res.tables.get(t, pd.DataFrame())
    rows = conform(frame, dict(TABLES[t].columns) | {"source_row": "int64"}).head(n)
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

    Run by the registry before every lookup (a refresh hook), so a mapping saved by the onboarding notebook is
    used by the next ingest without a restart, and a project switch (KPI_ROOT) is honoured.
    """
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


REGISTRY.add_refresh_hook(register_user_mappings)
