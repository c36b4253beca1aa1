"""Amazon Seller Central reports.

One reader per report, each recognised by its header (never the file name):

- ``amazon_settlement_v1``: settlement flat file, V1 layout (typed column pairs) → payouts,
  settlement_lines, and the fees / refunds derived from them;
- ``amazon_orders``: All Orders Report flat file → orders;
- ``amazon_business_report``: Business Report, Sales and Traffic by Date → traffic (store level);
- ``amazon_fba_inventory``: FBA inventory planning report → inventory.

Amazon Ads reports are read by ``amazon_ads`` (one grain table per report kind; the spend of
record is chosen by ``kpi_lib.ingest.ads_record``); they use the io and parsing helpers below.

Parsing is vectorised: delimited text goes through pyarrow's CSV reader (string columns) with
physical line numbers computed from the newline positions; files whose quoting spans lines fall
back to ``csv_frame``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import IngestError
from ...schemas import TABLES, conform
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
from ..registry import register
from ..independent import column_total
from ..parse import parse_datetime, parse_number
from ..textio import TextLocale, decode_bytes, detect_delimiter, detect_encoding, text_locale

PLATFORM = "amazon"
LINE = "__line"

# --------------------------------------------------------------------------------------------- io


def _utf8_bytes(path: Path, marketplace: str | None = None) -> bytes:
    """The file as UTF-8 bytes (BOM removed): the encoding is detected once (``textio``) and any
    other encoding (UTF-16, cp1252, GB18030, Shift-JIS) is re-encoded."""
    return _utf8_from_raw(path.read_bytes(), marketplace)[0]


def _utf8_from_raw(raw: bytes, marketplace: str | None = None) -> tuple[bytes, str]:
    """(UTF-8 bytes, detected encoding) of a file's bytes."""
    enc, skip = detect_encoding(raw, marketplace)
    if enc == "utf-8":
        return raw, enc
    if enc == "utf-8-sig":
        return raw[skip:], enc
    return decode_bytes(raw, marketplace)[0].encode("utf-8"), enc


def _utf8_text(raw: bytes) -> tuple[bytes, str]:
    """Valid UTF-8 bytes and text (other encodings, detected by ``textio``, are re-encoded)."""
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError:
        text = decode_bytes(raw)[0]
        return text.encode("utf-8"), text


def read_delimited(path: Path, sep: str, quoted: bool) -> pd.DataFrame:
    """The file as string columns (header = first line) plus ``__line`` (physical 1-based line).

    Blank lines and rows whose cells are all empty are not rows. ``quoted=False`` reads ``"`` as an
    ordinary character (Amazon's tab-separated flat files do not quote: a title may hold ``12"``).
    """
    return _read_utf8(_utf8_bytes(path), sep, quoted)


def read_delimited_locale(
    path: Path, quoted: bool, marketplace: str | None = None, sep: str | None = None
) -> tuple[pd.DataFrame, TextLocale]:
    """Like ``read_delimited``, with the file's locale (encoding, delimiter, header line after a
    preamble, decimal mark) decided once by ``textio`` and returned for the reconciliation too.
    ``__line`` stays the physical line number of the original file."""
    raw = path.read_bytes()
    data, enc = _utf8_from_raw(raw, marketplace)
    head = data[: 1 << 20].decode("utf-8", errors="ignore")
    loc = text_locale(head, enc, enc.endswith("-sig") or raw[:2] in (b"\xff\xfe", b"\xfe\xff"), sep)
    body = data
    for _ in range(loc.header_line):
        nl = body.find(b"\n")
        body = body[nl + 1:] if nl >= 0 else b""
    df = _read_utf8(body, loc.delimiter, quoted)
    if loc.header_line:
        df[LINE] = df[LINE] + loc.header_line
    return df, loc


def _empty_lines(raw: bytes) -> tuple[int, np.ndarray]:
    """Number of lines, and the 1-based numbers of empty lines (a lone ``\r`` is empty too)."""
    n_lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") or not raw else 1)
    hits: list[int] = []  # index of the newline that ends the line before an empty line
    for pat in (b"\n\n", b"\n\r\n"):
        i = raw.find(pat)
        while i != -1:
            hits.append(i)
            if len(hits) > 100_000:  # many blank lines: one vectorised pass instead
                buf = np.frombuffer(raw, dtype=np.uint8)
                nl = np.flatnonzero(buf == 10)
                starts = np.concatenate(([0], nl + 1))[:n_lines]
                ends = np.concatenate((nl, [len(raw)]))[:n_lines]
                length = ends - starts
                cr = np.zeros(len(ends), dtype=bool)
                cr[length > 0] = buf[ends[length > 0] - 1] == 13
                return n_lines, np.flatnonzero(length - cr == 0) + 1
            i = raw.find(pat, i + 1)
    if raw.endswith(b"\n\r"):
        hits.append(len(raw) - 2)
    if raw.startswith((b"\n", b"\r\n")):
        hits.append(-1)
    hits.sort()
    lines = []
    before, prev = 0, 0  # newlines in raw[:prev]
    for h in hits:
        if h < 0:
            lines.append(1)
            continue
        before += raw.count(b"\n", prev, h)
        prev = h
        lines.append(before + 2)  # the newline at h ends line before+1; the empty line follows
    return n_lines, np.array(lines, dtype="int64")


def _read_utf8(raw: bytes, sep: str, quoted: bool) -> pd.DataFrame:
    n_lines, empty = _empty_lines(raw)
    if n_lines == 0:
        return pd.DataFrame({LINE: pd.Series([], dtype="int64")})
    first_nl = raw.find(b"\n")
    header_text = (raw if first_nl < 0 else raw[:first_nl]).decode("utf-8", errors="replace").rstrip("\r")
    header = next(csv.reader([header_text], delimiter=sep)) if quoted else header_text.split(sep)
    names = unique_names([h.replace("\ufeff", "") for h in header])
    lines = np.arange(2, n_lines + 1, dtype="int64")
    data_lines = lines[~np.isin(lines, empty)] if len(empty) else lines
    df: pd.DataFrame | None = None
    if len(data_lines) == 0:
        df = pd.DataFrame({n: pd.Series([], dtype="string[pyarrow]") for n in names})
        df[LINE] = pd.Series([], dtype="int64")
        return df
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        tbl = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=sep,
                quote_char='"' if quoted else False,
                newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},  # what pandas' arrow strings hold
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if tbl.num_rows == len(data_lines):
            # rows of empty cells only (e.g. a line of tabs) are blank lines too
            total = None
            for col in tbl.columns:
                n = pc.binary_length(col)
                total = n if total is None else pc.add(total, n)
            short = np.flatnonzero(np.asarray(pc.less_equal(total, 8)))  # a few spaces at most
            keep = np.ones(tbl.num_rows, dtype=bool)
            if len(short):
                sub = tbl.take(pa.array(short))
                blank = np.ones(len(short), dtype=bool)
                for col in sub.columns:
                    blank &= np.asarray(pc.equal(pc.utf8_trim_whitespace(col), ""))
                keep[short[blank]] = False
            if not keep.all():
                tbl = tbl.filter(pa.array(keep))
                data_lines = data_lines[keep]
            df = tbl.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow")}.get)
            df[LINE] = data_lines
    except Exception:  # noqa: BLE001 - ragged rows, quoted newlines, not UTF-8: the exact slow path handles them
        df = None
    if df is None:
        raw2, text = _utf8_text(raw)
        if raw2 is not raw:  # not UTF-8: start again on the re-encoded bytes
            return _read_utf8(raw2, sep, quoted)
        df = csv_frame(text, sep) if quoted else _split_unquoted(text, sep, names)
        for c in df.columns:
            if c != LINE:
                df[c] = df[c].fillna("").astype("string[pyarrow]")
        df[LINE] = df[LINE].astype("int64")
    return df.reset_index(drop=True)


def _split_unquoted(text: str, sep: str, names: list[str]) -> pd.DataFrame:
    """Tab-separated text without quoting, tolerant of short/long rows (extra cells dropped)."""
    rows, lines = [], []
    for i, line in enumerate(text.split("\n")[1:], start=2):  # str.splitlines also splits on \x0c, \x85…
        line = line.rstrip("\r")
        cells = line.split(sep)
        if not "".join(cells).strip():
            continue
        cells = (cells + [""] * len(names))[: len(names)]
        rows.append(cells)
        lines.append(i)
    df = pd.DataFrame(rows, columns=names, dtype="object")
    df[LINE] = lines
    return df


def read_xlsx(path: Path, header_pred) -> tuple[pd.DataFrame, int]:
    """First sheet as object columns plus ``__line`` (sheet row number); header = first row matching.

    Read with calamine (Rust), about 30× faster than openpyxl on order exports; it also ignores a
    wrong ``<dimension>`` record (the real Amazon ads workbook declares ``A1:A1``).
    """
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        values = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable file
        raise IngestError(f"{path}: cannot open the xlsx workbook ({exc})") from None
    header: list[str] | None = None
    header_row = 0
    rows: list[list[object]] = []
    lines: list[int] = []
    for r, row in enumerate(values, start=1):
        row = [None if (isinstance(v, str) and v == "") else v for v in row]
        if header is None:
            if header_pred([normalize_header(v) for v in row]):
                header = ["" if v is None else str(v) for v in row]
                header_row = r
            continue
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        rows.append(row)
        lines.append(r)
    if header is None:
        raise IngestError(f"{path}: no header row found in the first sheet")
    n = len(header)
    rows = [(list(r) + [None] * n)[:n] for r in rows]
    df = pd.DataFrame(rows, columns=unique_names(header), dtype="object")
    df[LINE] = pd.Series(lines, dtype="int64")
    return df, header_row


# ---------------------------------------------------------------------------------------- helpers


def _s(df: pd.DataFrame, col: str | None) -> pd.Series:
    """A column as stripped strings ('' when missing)."""
    if col is None or col not in df.columns:
        return pd.Series("", index=df.index, dtype="string")
    s = df[col]
    if s.dtype == object:
        s = s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        s = s.astype("string[pyarrow]")  # arrow-backed: .str and comparisons run vectorised in C++
    return s.fillna("").str.strip()


def _num(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Numbers: a vectorised plain-number fast path, ``parse_number`` for the rest."""
    if s.dtype == object:
        if s.map(lambda v: v is None or isinstance(v, (int, float))).all():
            return parse_number(pd.to_numeric(s, errors="coerce"))
        s = s.map(lambda v: "" if v is None else str(v))
    st = _s(pd.DataFrame({"x": s}), "x")
    if decimal == ",":
        return parse_number(st, decimal=",")
    vals = _arrow_float(st)
    if vals is not None:
        return pd.Series(vals, index=s.index, dtype="float64"), pd.Series(False, index=s.index)
    v = pd.to_numeric(st.where(st != "", None), errors="coerce").astype("float64")
    rest = v.isna() & (st != "")
    bad = pd.Series(False, index=s.index)
    if rest.any():
        v2, b2 = parse_number(st[rest].astype(object).astype("string"), decimal=decimal)
        v[rest] = np.asarray(v2, dtype="float64")
        bad[rest] = np.asarray(b2, dtype=bool)
    return v, bad


def _arrow_float(st: pd.Series) -> np.ndarray | None:
    """Plain numbers in one arrow cast; None when any cell is other text (symbols, separators…)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(st.array)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    try:
        vals = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        return None
    return vals if np.isfinite(vals[~np.isnan(vals)]).all() else None


def _int(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    v, bad = _num(s, decimal)
    frac = v.notna() & (v.round() != v)
    return v.round().astype("Int64"), (bad | frac)


_ISO_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$"


def _ts(s: pd.Series, tz: str | None, **kw) -> tuple[pd.Series, pd.Series]:
    """Timestamps, parsed once per distinct value when values repeat (settlement dates do, order
    timestamps hardly); ISO 8601 with an offset takes a vectorised fast path, everything else goes
    through ``parse_datetime``."""
    if s.dtype != object and not isinstance(s.dtype, pd.StringDtype):
        return parse_datetime(s, tz=tz, **kw)
    st = _s(pd.DataFrame({"x": s}), "x")
    if len(st) > 50_000 and st.iloc[:10_000].nunique() > 5_000:  # mostly distinct: skip the dedup
        v, b = _ts_values(st.reset_index(drop=True), tz, **kw)
        return pd.Series(v.to_numpy(), index=s.index), pd.Series(b.to_numpy(), index=s.index)
    codes, uniq = pd.factorize(st)
    if not len(uniq):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), pd.Series(False, index=s.index)
    v, b = _ts_values(pd.Series(np.asarray(uniq, dtype=object), dtype="string[pyarrow]"), tz, **kw)
    return pd.Series(v.to_numpy()[codes], index=s.index), pd.Series(b.to_numpy()[codes], index=s.index)


def _ts_values(u: pd.Series, tz: str | None, **kw) -> tuple[pd.Series, pd.Series]:
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=u.index)
    iso = u.str.contains(_ISO_OFFSET, regex=True).fillna(False).astype(bool)
    if iso.any():
        conv = pd.to_datetime(u[iso].astype(object), format="ISO8601", utc=True, errors="coerce")
        if tz:
            conv = conv.dt.tz_convert(tz)
        out[iso] = conv.dt.tz_localize(None).astype("datetime64[ns]")
    rest = (~iso | out.isna()) & (u != "")
    if rest.any():
        v, b = parse_datetime(u[rest].astype(object).astype("string"), tz=tz, **kw)
        out[rest] = np.asarray(v, dtype="datetime64[ns]")
        bad[rest] = np.asarray(b, dtype=bool)
    return out, bad


def _cell_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates from text or from xlsx cells (datetimes, or Excel serial numbers when a cell lost its format)."""
    if s.dtype != object:
        return _ts(s, None) if isinstance(s.dtype, pd.StringDtype) else parse_datetime(s)
    is_dt = s.map(lambda v: hasattr(v, "year") and hasattr(v, "month"))
    is_num = s.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and not pd.isna(v))
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=s.index)
    if is_dt.any():
        out[is_dt] = pd.to_datetime(
            s[is_dt].map(
                lambda v: pd.Timestamp(v).tz_localize(None) if getattr(v, "tzinfo", None) else pd.Timestamp(v)
            )
        )
    if is_num.any():
        out[is_num] = pd.to_datetime(s[is_num].astype("float64"), unit="D", origin="1899-12-30")
    rest = ~is_dt & ~is_num
    if rest.any():
        v, b = _ts(s[rest].map(lambda x: "" if x is None else str(x)).astype("string"), None)
        out[rest] = np.asarray(v, dtype="datetime64[ns]")
        bad[rest] = np.asarray(b, dtype=bool)
    return out, bad


def _cols(table: str) -> dict[str, str]:
    return dict(TABLES[table].columns) | {"source_row": "int64"}


def _frame(table: str, data: dict[str, object], index: pd.Index) -> pd.DataFrame:
    return conform(pd.DataFrame(data, index=index), _cols(table)).reset_index(drop=True)


def _quarantine(
    df: pd.DataFrame, mask: pd.Series, reason: pd.Series, column: pd.Series, raw_cols: list[str]
) -> list[QuarantineRow]:
    out = []
    if not mask.any():
        return out
    sub = df.loc[mask]
    recs = sub[[c for c in raw_cols if c in sub.columns]].astype(object).to_dict("records")
    for line, why, col, rec in zip(sub[LINE].tolist(), reason[mask].tolist(), column[mask].tolist(), recs):
        clean = {
            k: (
                None
                if v is None or (isinstance(v, float) and np.isnan(v))
                else (v if isinstance(v, (int, float, str)) else str(v))
            )
            for k, v in rec.items()
        }
        out.append(QuarantineRow(source_row=int(line), reason=str(why), column=str(col or ""), raw=clean))
    return out


class _Bad:
    """Collects the first failing column and reason per row."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(pd.NA, index=index, dtype="object")
        self.column = pd.Series(pd.NA, index=index, dtype="object")

    def add(
        self, mask: pd.Series, column: str, reason: str, raw: pd.Series | None = None, suffix: str = ""
    ) -> None:
        """Mark rows of ``mask`` (unless already bad); the reason is ``reason + raw value + suffix``."""
        hit = mask.fillna(False).astype(bool) & self.reason.isna()
        if hit.any():
            if raw is None:
                self.reason[hit] = reason
            else:
                self.reason[hit] = [
                    f"{reason}{v}{suffix}" for v in raw[hit].astype(object).fillna("").tolist()
                ]
            self.column[hit] = column

    def cannot_parse(self, mask: pd.Series, column: str, raw: pd.Series, expected: str) -> None:
        self.add(mask, column, f"cannot parse {column}: '", raw, f"' (expected {expected})")

    @property
    def mask(self) -> pd.Series:
        return self.reason.notna()


def _header_keys(head: FileHead, sep: str) -> list[str]:
    if not head.lines:
        return []
    return [normalize_header(h).strip('"') for h in head.lines[0].split(sep)]


def _check_currency(path: Path, column: str, found: pd.Series | list[str], store: Store) -> None:
    vals = sorted({str(v).strip().upper() for v in found if str(v).strip()})
    other = [v for v in vals if v != store.currency.upper()]
    if other:
        raise IngestError(
            f"{path}: column {column!r} says currency {', '.join(other)} but store {store.store_id} is "
            f"in {store.currency}; put the file under the right store or fix stores.csv"
        )


_SYMBOLS = {
    "₹": "INR",
    "€": "EUR",
    "£": "GBP",
    "rs.": "INR",
    "rs": "INR",
    "aed": "AED",
    "inr": "INR",
    "cad": "CAD",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
    "sar": "SAR",
    "jpy": "JPY",
    "mxn": "MXN",
    "sgd": "SGD",
    "aud": "AUD",
}


def _header_currency(header: str) -> str | None:
    m = re.search(r"\(([^()#%]+)\)\s*$", header.strip())
    return _SYMBOLS.get(m.group(1).strip().lower()) if m else None


def _base(store: Store) -> dict[str, object]:
    return {
        "platform": PLATFORM,
        "store_id": store.store_id,
        "marketplace": store.marketplace,
        "currency": store.currency,
    }


# ------------------------------------------------------------------------------------- settlement

_PAIRS = (  # (type column, amount column, amount_type)
    ("price-type", "price-amount", "ItemPrice"),
    ("item-related-fee-type", "item-related-fee-amount", "ItemFees"),
    ("shipment-fee-type", "shipment-fee-amount", "ShipmentFees"),
    ("order-fee-type", "order-fee-amount", "OrderFees"),
    ("promotion-type", "promotion-amount", "Promotion"),
    (None, "misc-fee-amount", "MiscFee"),
    ("other-fee-reason-description", "other-fee-amount", "OtherFee"),
    ("direct-payment-type", "direct-payment-amount", "DirectPayment"),
    (None, "other-amount", "Other"),
)
_REFUND_TX = ("refund", "chargeback refund", "a-to-z guarantee claim", "guarantee claim")
_TRANSFER = (
    "previous reserve",
    "current reserve",
    "reserve",
    "transfer",
    "payable to amazon",
    "successful charge",
    "micro deposit",
    "failed disbursement",
    "disbursement",
    "unavailable balance",
)
_REIMBURSE = (
    "reimburs",
    "warehouse_",
    "warehouse ",
    "missing_from_inbound",
    "clawback",
    "free_replacement",
    "incorrect_fees",
    "compensated",
    "safe-t",
    "safet",
)


def settlement_category(transaction_type: str, amount_type: str, description: str) -> str:
    """Category of one settlement amount (see docs/contracts.md)."""
    t, d = transaction_type.strip().lower(), description.strip().lower()
    what = d or t
    if amount_type == "Quantity":
        return "refund" if t in _REFUND_TX else "sales"
    if "advertis" in what:
        return "advertising"
    if "tax" in d:
        return "tax"
    if "storage" in what:
        return "storage"
    if amount_type == "ItemPrice":
        if d == "principal":
            return "refund" if t in _REFUND_TX else "sales"
        if "shipping" in d or "giftwrap" in d or "gift wrap" in d:
            return "shipping"
        return "refund" if t in _REFUND_TX else "sales"
    if amount_type == "Promotion":
        return "promotion"
    if amount_type in ("ItemFees", "ShipmentFees", "OrderFees", "MiscFee"):
        return "fee"
    if any(k in what for k in _REIMBURSE):
        return "reimbursement"
    if any(t.startswith(k) or d.startswith(k) for k in _TRANSFER):
        return "transfer"
    if "fee" in what or "fba" in what or "subscription" in what or "chargeback" in what or "label" in what:
        return "fee"
    return "other"


def fee_type(transaction_type: str, description: str) -> str:
    """Fee type of a settlement fee amount (see schemas.FEE_TYPES)."""
    d = (description or transaction_type).strip().lower().replace("_", "").replace(" ", "").replace("-", "")
    if d in (
        "commission",
        "refundcommission",
        "variableclosingfee",
        "fixedclosingfee",
        "salestaxcollectionfee",
    ):
        return "referral" if "commission" in d else "other"
    if "storagerenewal" in d or "longterm" in d:
        return "long_term_storage"
    if "storage" in d:
        return "storage"
    if "advertis" in d:
        return "advertising"
    if "subscription" in d:
        return "subscription"
    if "shippingchargeback" in d or "shippinglabel" in d or "shippinghb" in d:
        return "shipping_label"
    if "refundadministration" in d or "returnprocessing" in d or "customerreturn" in d:
        return "return_processing"
    if "fba" in d or "fulfil" in d or "inbound" in d or "weightbased" in d or "pickpack" in d:
        return "fulfillment"
    return "other"


def derive_fees_refunds(
    store: Store, lines: pd.DataFrame, when: pd.Series, refund_quantity: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``fees`` and ``refunds`` derived from canonical ``settlement_lines`` (as V1 does).

    Fees: lines of category fee / storage / advertising, cost sign (``-amount``), fee type by
    ``fee_type``. Refunds: ItemPrice Principal lines of refund transactions, ``-amount``, with
    ``refund_quantity`` (aligned with ``lines``) when given. ``when`` dates each line (posted date,
    else the settlement's end date).
    """
    keys = lines["transaction_type"].fillna("").astype(str) + "\x1f" + lines["amount_description"].fillna("").astype(str)
    uniq = {k: fee_type(*k.split("\x1f", 1)) for k in pd.unique(keys)}
    ftype = keys.map(uniq)
    fm = lines["category"].isin(["fee", "storage", "advertising"]) & (lines["amount_type"] != "Quantity")
    fees = _frame(
        "fees",
        {
            "platform": PLATFORM,
            "store_id": store.store_id,
            "date": when[fm],
            "order_id": lines["order_id"][fm],
            "sku": lines["sku"][fm],
            "fee_type": ftype[fm],
            "description": lines["amount_description"][fm],
            "amount": -lines["amount"][fm],
            "currency": store.currency,
            "source_row": lines["source_row"][fm],
        },
        lines.index[fm],
    )
    rm = (
        (lines["category"] == "refund")
        & (lines["amount_type"] == "ItemPrice")
        & (lines["amount_description"].fillna("").str.lower() == "principal")
    )
    qty = refund_quantity if refund_quantity is not None else pd.Series(pd.NA, index=lines.index)
    refunds = _frame(
        "refunds",
        {
            "platform": PLATFORM,
            "store_id": store.store_id,
            "date": when[rm],
            "order_id": lines["order_id"][rm],
            "sku": lines["sku"][rm],
            "quantity": qty[rm].abs() if len(qty[rm]) else qty[rm],
            "amount": -lines["amount"][rm],
            "currency": store.currency,
            "reason": "",
            "source_row": lines["source_row"][rm],
        },
        lines.index[rm],
    )
    return fees, refunds


def _payouts(df: pd.DataFrame, store: Store, sid: pd.Series, dates: dict[str, pd.Series], total: pd.Series,
             pm: pd.Series) -> pd.DataFrame:
    """The payout rows of a settlement flat file (V1 or V2): its summary rows ``pm``."""
    return _frame(
        "payouts",
        {
            **_base(store),
            "settlement_id": sid[pm],
            "start_date": dates["settlement-start-date"][pm],
            "end_date": dates["settlement-end-date"][pm],
            "deposit_date": dates["deposit-date"][pm],
            "total_amount": total[pm],
            "source_row": df.loc[pm, LINE],
        },
        df.index[pm],
    )


@register
class AmazonSettlementV1(Reader):
    name = "amazon_settlement_v1"
    description = "Amazon Seller Central settlement flat file (V1, typed column pairs)"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        keys = set(_header_keys(head, "\t"))
        return {
            "settlement-id",
            "total-amount",
            "transaction-type",
            "price-type",
            "item-related-fee-type",
        } <= keys

    def read(self, path: Path, store: Store) -> ReadResult:
        df = read_delimited(path, "\t", quoted=False)
        tz = store.timezone
        n = len(df)
        total_raw = _s(df, "total-amount")
        is_summary = total_raw != ""
        summ = df[is_summary]
        if summ.empty:
            raise IngestError(
                f"{path}: no settlement summary row (a row with total-amount) — is this a complete settlement file?"
            )
        _check_currency(path, "currency", _s(summ, "currency"), store)
        # decimal mark decided per file: "-5,62" style amounts mean comma decimals
        amount_cols = [a for _, a, _ in _PAIRS if a in df.columns] + ["total-amount"]
        parts = [df[a].iloc[:20_000].str.strip() for a in amount_cols if a in df.columns]
        sample = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype="string")
        sample = sample[sample.fillna("") != ""]
        comma = (
            sample.str.contains(r",\d{1,2}$", regex=True).fillna(False).any()
            and not sample.str.contains(r"\.\d{1,2}$", regex=True).fillna(False).any()
        )
        decimal = "," if comma else "."

        bad = _Bad(df.index)
        total, tb = _num(total_raw, decimal)
        bad.cannot_parse(tb, "total-amount", total_raw, "a number")
        dates = {}
        for c in ("settlement-start-date", "settlement-end-date", "deposit-date"):
            v, b = _ts(_s(df, c), tz)
            bad.cannot_parse(
                b & is_summary, c, _s(df, c), "a date like 2025-07-31T22:07:18+00:00 or 31.07.2025"
            )
            dates[c] = v.dt.floor("D")
        pcol = "posted-date-time" if "posted-date-time" in df.columns else "posted-date"
        posted_raw = _s(df, pcol)
        posted, pb = _ts(posted_raw, tz)
        bad.cannot_parse(
            pb & ~is_summary, pcol, posted_raw, "a date like 2025-07-31T20:13:08+00:00 or 31.07.2025"
        )
        qty_raw = _s(df, "quantity-purchased")
        qty, qb = _int(qty_raw)
        bad.cannot_parse(qb, "quantity-purchased", qty_raw, "a whole number")
        bad.add(
            (qty < 0).fillna(False),
            "quantity-purchased",
            "quantity-purchased: negative value (expected a whole number >= 0)",
        )

        amounts = {}
        for tcol, acol, atype in _PAIRS:
            if acol not in df.columns:
                continue
            raw = _s(df, acol)
            v, b = _num(raw, decimal)
            bad.cannot_parse(b, acol, raw, "a number")
            amounts[atype] = (tcol, acol, v, raw != "")
        any_amount = pd.Series(False, index=df.index)
        for _, _, _, has in amounts.values():
            any_amount |= has
        tx = ~is_summary
        bad.add(
            tx & ~any_amount & (qty_raw == ""),
            "",
            "no amount and no quantity in the row (expected one amount column filled)",
        )
        ok = ~bad.mask
        quarantine = _quarantine(df, bad.mask, bad.reason, bad.column, [c for c in df.columns if c != LINE])

        sid = _s(df, "settlement-id")
        ttype = _s(df, "transaction-type")
        order_id = _s(df, "order-id")
        sku = _s(df, "sku")

        # payouts: the summary row(s)
        pm = is_summary & ok
        payouts = _payouts(df, store, sid, dates, total, pm)
        # settlement lines: one per filled amount cell (long format), quantity-only rows with amount 0
        parts = []
        for order, (atype, (tcol, acol, v, has)) in enumerate(amounts.items()):
            m = has & tx & ok
            if not m.any():
                continue
            desc = _s(df, tcol)[m] if tcol else pd.Series("", index=df.index[m], dtype="string")
            desc = desc.where(desc != "", ttype[m])
            parts.append(
                pd.DataFrame(
                    {
                        "row": df.index[m],
                        "order": order,
                        "amount_type": atype,
                        "amount_description": desc.astype("string[pyarrow]"),
                        "amount": v[m],
                    }
                )
            )
        qonly = tx & ok & ~any_amount & (qty_raw != "")
        if qonly.any():
            parts.append(
                pd.DataFrame(
                    {
                        "row": df.index[qonly],
                        "order": 99,
                        "amount_type": "Quantity",
                        "amount_description": pd.Series(
                            "quantity-purchased", index=df.index[qonly], dtype="string[pyarrow]"
                        ),
                        "amount": 0.0,
                    }
                )
            )
        if parts:
            long = pd.concat(parts, ignore_index=True)
            order = np.lexsort((long["order"].to_numpy(), long["row"].to_numpy()))  # file order
            long = long.take(order).reset_index(drop=True)
        else:
            long = pd.DataFrame(
                {
                    "row": pd.Series([], dtype="int64"),
                    "order": [],
                    "amount_type": [],
                    "amount_description": [],
                    "amount": [],
                }
            )
        r = long["row"].to_numpy()
        first = ~long["row"].duplicated()

        def take(col: pd.Series) -> pd.Series:  # df's index is a RangeIndex: labels are positions
            return col.take(r).reset_index(drop=True)

        l_tt = take(ttype)
        # category / fee type per distinct (transaction type, amount type, description)
        codes, uniqs = [], []
        for col in (l_tt, long["amount_type"], long["amount_description"]):
            c, u = pd.factorize(col)
            codes.append(c.astype(np.int64))
            uniqs.append(np.asarray(u, dtype=object))
        n1, n2 = max(len(uniqs[1]), 1), max(len(uniqs[2]), 1)
        combo = (codes[0] * n1 + codes[1]) * n2 + codes[2]
        ukeys, inv = np.unique(combo, return_inverse=True)
        cats, fts = [], []
        for k in ukeys.tolist():
            i0, rem = divmod(k, n1 * n2)
            i1, i2 = divmod(rem, n2)
            t, a, d = str(uniqs[0][i0]), str(uniqs[1][i1]), str(uniqs[2][i2])
            cats.append(settlement_category(t, a, d))
            fts.append(fee_type(t, d))
        category = np.array(cats, dtype=object)[inv] if len(r) else np.array([], dtype=object)
        l_fee_type = np.array(fts, dtype=object)[inv] if len(r) else np.array([], dtype=object)
        l_qty = take(qty).where(first.to_numpy(), pd.NA)
        lines = _frame(
            "settlement_lines",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "settlement_id": take(sid),
                "posted_date": take(posted.dt.floor("D")),
                "transaction_type": l_tt,
                "order_id": take(order_id),
                "sku": take(sku),
                "quantity": l_qty,
                "amount_type": long["amount_type"],
                "amount_description": long["amount_description"],
                "category": category,
                "amount": long["amount"],
                "currency": store.currency,
                "source_row": take(df[LINE]),
            },
            long.index,
        )
        # dates for derived rows: posted date, else the settlement's end date
        end_by_sid = payouts.set_index("settlement_id")["end_date"]
        end_by_sid = end_by_sid[~end_by_sid.index.duplicated()]
        when = lines["posted_date"].fillna(lines["settlement_id"].map(end_by_sid))

        fm = lines["category"].isin(["fee", "storage", "advertising"]) & (lines["amount_type"] != "Quantity")
        fees = _frame(
            "fees",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "date": when[fm],
                "order_id": lines["order_id"][fm],
                "sku": lines["sku"][fm],
                "fee_type": pd.Series(l_fee_type, index=lines.index)[fm],
                "description": lines["amount_description"][fm],
                "amount": -lines["amount"][fm],
                "currency": store.currency,
                "source_row": lines["source_row"][fm],
            },
            lines.index[fm],
        )
        # refunds: Principal of refund transactions; quantity from the refund's quantity row if any
        rm = (
            (lines["category"] == "refund")
            & (lines["amount_type"] == "ItemPrice")
            & (lines["amount_description"].str.lower() == "principal")
        )
        # only refund principal lines and the quantity rows of refund transactions take part
        qm = (lines["amount_type"] == "Quantity") & (lines["category"] == "refund")
        sel = (rm | qm).to_numpy()
        rsel = r[sel]
        qk = pd.DataFrame(
            {
                "sid": lines["settlement_id"][sel],
                "t": lines["transaction_type"][sel],
                "o": lines["order_id"][sel],
                "s": lines["sku"][sel],
                "oi": _s(df, "order-item-code").to_numpy()[rsel],
                "ai": _s(df, "merchant-adjustment-item-id").to_numpy()[rsel],
                "q": lines["quantity"][sel],
            }
        )
        keys = ["sid", "t", "o", "s", "oi", "ai"]
        qrows = qk[qm.to_numpy()[sel]].drop_duplicates(keys)
        ref = qk[rm.to_numpy()[sel]].merge(qrows, on=keys, how="left", suffixes=("", "_q"))
        refunds = _frame(
            "refunds",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "date": when[rm].to_numpy(),
                "order_id": lines["order_id"][rm].to_numpy(),
                "sku": lines["sku"][rm].to_numpy(),
                "quantity": ref["q_q"].to_numpy(),
                "amount": (-lines["amount"][rm]).to_numpy(),
                "currency": store.currency,
                "reason": "",
                "source_row": lines["source_row"][rm].to_numpy(),
            },
            pd.RangeIndex(int(rm.sum())),
        )
        expected = float(total[is_summary].sum())
        return ReadResult(
            tables={"payouts": payouts, "settlement_lines": lines, "fees": fees, "refunds": refunds},
            rows_read=n,
            quarantine=quarantine,
            expected_money=round(expected, 2),
            money_columns=[("settlement_lines", "amount", 1.0)],
        )


@register
class AmazonSettlementV2(Reader):
    """Settlement flat file V2: one amount per row (``amount-type``, ``amount-description``, ``amount``).

    The summary row (``total-amount`` filled, transaction columns empty) gives the payout; every
    other row is one ``settlement_lines`` row, categorised with V1's ``settlement_category`` and
    ``fee_type``; fees and refunds are derived as for V1. ``quantity-purchased`` is repeated on each
    amount row of an item: it is kept on the first line of each (transaction type, order, item,
    posted date) so quantities are not counted once per fee. Reconciliation: total-amount.
    """

    name = "amazon_settlement_v2"
    description = "Amazon Seller Central settlement flat file V2 (amount-type / amount-description / amount)"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        keys = set(_header_keys(head, "\t"))
        return {"settlement-id", "total-amount", "transaction-type", "amount-type", "amount-description",
                "amount"} <= keys

    def read(self, path: Path, store: Store) -> ReadResult:
        df, loc = read_delimited_locale(path, quoted=False, marketplace=store.marketplace, sep="\t")
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        tz = store.timezone
        raw_cols = [c for c in df.columns if c != LINE]
        total_raw = _s(df, "total-amount")
        is_summary = total_raw != ""
        if not is_summary.any():
            raise IngestError(
                f"{path}: no settlement summary row (a row with total-amount) — is this a complete settlement file?"
            )
        _check_currency(path, "currency", _s(df[is_summary], "currency"), store)
        decimal = loc.decimal_or(".")
        bad = _Bad(df.index)
        total, tb = _num(total_raw, decimal)
        bad.cannot_parse(tb, "total-amount", total_raw, "a number")
        dates = {}
        for c in ("settlement-start-date", "settlement-end-date", "deposit-date"):
            v, b = _ts(_s(df, c), tz)
            bad.cannot_parse(b & is_summary, c, _s(df, c), "a date like 2025-07-31T22:07:18+00:00")
            dates[c] = v.dt.floor("D")
        pcol = "posted-date-time" if "posted-date-time" in df.columns else "posted-date"
        posted_raw = _s(df, pcol)
        if pcol == "posted-date-time" and "posted-date" in df.columns:
            posted_raw = posted_raw.where(posted_raw != "", _s(df, "posted-date"))
        posted, pb = _ts(posted_raw, tz)
        tx = ~is_summary
        bad.cannot_parse(pb & tx, pcol, posted_raw, "a date like 2025-07-31T20:13:08+00:00")
        amt_raw = _s(df, "amount")
        amount, ab = _num(amt_raw, decimal)
        bad.cannot_parse(ab, "amount", amt_raw, "a number")
        qty_raw = _s(df, "quantity-purchased")
        qty, qb = _int(qty_raw)
        bad.cannot_parse(qb, "quantity-purchased", qty_raw, "a whole number")
        atype = _s(df, "amount-type")
        bad.add(tx & (amt_raw == "") & (qty_raw == ""), "amount",
                "no amount and no quantity in the row (expected amount filled)")
        ok = ~bad.mask
        quarantine = _quarantine(df, bad.mask, bad.reason, bad.column, raw_cols)

        sid = _s(df, "settlement-id")
        pm = is_summary & ok
        payouts = _payouts(df, store, sid, dates, total, pm)
        lm = tx & ok
        d = df[lm]
        ttype = _s(d, "transaction-type")
        desc = _s(d, "amount-description")
        # "TransactionTotalAmount" says nothing: the amount type names the money (Cost of Advertising…)
        desc = desc.where(~desc.str.lower().isin(["transactiontotalamount", ""]), atype[lm])
        at = atype[lm].where(atype[lm] != "", "Quantity").where(amt_raw[lm] != "", "Quantity")
        item = _s(d, "order-item-code").where(_s(d, "order-item-code") != "", _s(d, "merchant-adjustment-item-id"))
        grp = pd.DataFrame({"s": sid[lm], "t": ttype, "o": _s(d, "order-id"), "i": item, "k": _s(d, "sku"),
                            "p": posted_raw[lm]})
        first_of_item = ~grp.duplicated()
        q_item = qty[lm].groupby([grp[c] for c in grp.columns], dropna=False, sort=False).transform("first")
        cats = {k: settlement_category(*k) for k in set(zip(ttype.tolist(), at.tolist(), desc.tolist()))}
        lines = _frame(
            "settlement_lines",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "settlement_id": sid[lm],
                "posted_date": posted[lm].dt.floor("D"),
                "transaction_type": ttype,
                "order_id": _s(d, "order-id"),
                "sku": _s(d, "sku"),
                "quantity": qty[lm].where(first_of_item, pd.NA),
                "amount_type": at,
                "amount_description": desc,
                "category": [cats[k] for k in zip(ttype.tolist(), at.tolist(), desc.tolist())],
                "amount": amount[lm].fillna(0.0),
                "currency": store.currency,
                "source_row": d[LINE],
            },
            d.index,
        )
        end_by_sid = payouts.drop_duplicates("settlement_id").set_index("settlement_id")["end_date"]
        when = lines["posted_date"].fillna(lines["settlement_id"].map(end_by_sid))
        fees, refunds = derive_fees_refunds(store, lines, when, q_item.reset_index(drop=True).astype("Float64"))
        return ReadResult(
            tables={"payouts": payouts, "settlement_lines": lines, "fees": fees, "refunds": refunds},
            rows_read=len(df),
            quarantine=quarantine,
            expected_money=round(float(total[is_summary].sum()), 2),
            money_columns=[("settlement_lines", "amount", 1.0)],
        )


# ------------------------------------------------------------------------------------------ orders

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
        return ORDERS_REQUIRED <= set(_header_keys(head, "\t"))

    def read(self, path: Path, store: Store) -> ReadResult:
        df = read_delimited(path, "\t", quoted=False)
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        raw_cols = [c for c in df.columns if c != LINE]
        bad = _Bad(df.index)
        oid = _s(df, "amazon-order-id")
        bad.add(oid == "", "amazon-order-id", "amazon-order-id is empty (expected an order id)")
        ts_raw = _s(df, "purchase-date")
        ts, tb = _ts(ts_raw, store.timezone)
        bad.cannot_parse(tb, "purchase-date", ts_raw, "a timestamp like 2025-06-01T12:34:56+00:00")
        bad.add(ts_raw == "", "purchase-date", "purchase-date is empty (expected a timestamp)")
        q_raw = _s(df, "quantity")
        qty, qb = _int(q_raw)
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
            raw = _s(df, col)
            v, b = _num(raw)
            bad.cannot_parse(b, col, raw, "a number")
            money[col] = v
        st_raw = _s(df, "order-status")
        status = st_raw.str.lower().map(_ORDER_STATUS)
        bad.add(
            status.isna(),
            "order-status",
            "unknown order-status '",
            st_raw,
            "' (expected Shipped, Pending, Cancelled, …)",
        )
        status = status.where(_s(df, "item-status").str.lower() != "cancelled", "cancelled")
        cur = _s(df, "currency")
        _check_currency(path, "currency", cur.unique().tolist(), store)

        ok = ~bad.mask
        quarantine = _quarantine(df, bad.mask, bad.reason, bad.column, raw_cols)
        d = df[ok]
        sku = _s(d, "sku")
        # Amazon has no order line id: the sku, suffixed #2, #3… when an order repeats a sku
        keys = pd.DataFrame({"o": oid[ok], "s": sku})
        line_id = sku.copy()
        rep = keys.duplicated(keep=False)
        if rep.any():
            nth = keys[rep].groupby(["o", "s"], sort=False).cumcount() + 1
            line_id[rep] = sku[rep].where(nth == 1, sku[rep] + "#" + nth.astype(str))
        fc = _s(d, "fulfillment-channel")
        fc = fc.replace({"Amazon": "FBA", "Merchant": "FBM", "AFN": "FBA", "MFN": "FBM"})
        orders = _frame(
            "orders",
            {
                **_base(store),
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


# ------------------------------------------------------------------------------- header matching


def _find(keys: list[str], *patterns: str) -> int | None:
    for p in patterns:
        rx = re.compile(p)
        for i, k in enumerate(keys):
            if rx.fullmatch(k):
                return i
    return None


# --------------------------------------------------------------------------------- business report

_BR_SESSIONS = (r"sessions - total", r"sessions")
_BR_VIEWS = (r"page views - total", r"page views")


def _first_cells(head: FileHead) -> list[str]:
    """The header cells of a delimited file, whatever its delimiter (a re-save may use ; or tab)."""
    if not head.lines:
        return []
    sep, _ = detect_delimiter(head.lines[0], 0)
    try:
        return next(csv.reader([head.lines[0]], delimiter=sep))
    except (csv.Error, StopIteration):
        return []


def _business_keys(keys: list[str]) -> bool:
    return (
        "date" in keys
        and "ordered product sales" in keys
        and "units ordered" in keys
        and _find(keys, *_BR_SESSIONS) is not None
        and _find(keys, *_BR_VIEWS) is not None
    )


@register
class AmazonBusinessReport(Reader):
    name = "amazon_business_report"
    description = "Amazon Business Report, Sales and Traffic by Date (CSV) → store-level traffic"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return _business_keys([normalize_header(c) for c in _first_cells(head)])

    def read(self, path: Path, store: Store) -> ReadResult:
        df, loc = read_delimited_locale(path, quoted=True, marketplace=store.marketplace)
        decimal = loc.decimal_or(".")  # decided once per file: "4.426,00" in a decimal-comma re-save
        names = [c for c in df.columns if c != LINE]
        keys = [normalize_header(c) for c in names]

        def col(*patterns: str) -> str | None:
            i = _find(keys, *patterns)
            return names[i] if i is not None else None

        c_date, c_sales, c_units = col("date"), col("ordered product sales"), col("units ordered")
        c_sess, c_views = col(*_BR_SESSIONS), col(*_BR_VIEWS)
        sales_raw = _s(df, c_sales)
        codes = sales_raw.str.extract(r"^\s*([A-Z]{3})(?![A-Za-z])", expand=False).dropna().unique().tolist()
        syms = sales_raw.str.extract(r"^\s*([€£₹])", expand=False).dropna().unique().tolist()
        _check_currency(path, c_sales, codes + [_SYMBOLS[s] for s in syms], store)

        bad = _Bad(df.index)
        dtxt = _s(df, c_date)
        total = dtxt.str.lower().str.startswith("total")
        bad.add(total, c_date, "totals row")
        dv, db = self._dates(dtxt[~total], store)
        dv, db = dv.reindex(df.index), db.reindex(df.index, fill_value=False)
        bad.cannot_parse(db, c_date, dtxt, "a date like 24/09/2022")
        sales, sb = _num(sales_raw, decimal)
        bad.cannot_parse(sb, c_sales, sales_raw, "a number like AED 4,426.00")
        vals = {}
        for name, c in (("sessions", c_sess), ("page_views", c_views), ("units_ordered", c_units)):
            v, b = _int(_s(df, c), decimal)
            bad.cannot_parse(b, c, _s(df, c), "a whole number")
            vals[name] = v
        ok = ~bad.mask
        quarantine = _quarantine(df, bad.mask, bad.reason, bad.column, names)
        traffic = _frame(
            "traffic",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "date": dv[ok].dt.floor("D"),
                "sku": "",
                **{k: v[ok] for k, v in vals.items()},
                "ordered_sales": sales[ok].fillna(0.0),
                "currency": store.currency,
                "source_row": df.loc[ok, LINE],
            },
            df.index[ok],
        )
        return ReadResult(
            tables={"traffic": traffic},
            rows_read=len(df),
            quarantine=quarantine,
            expected_money=_business_expected(path, c_date, c_sales, loc),
            money_columns=[("traffic", "ordered_sales", 1.0)],
        )

    @staticmethod
    def _dates(s: pd.Series, store: Store) -> tuple[pd.Series, pd.Series]:
        """Day-first or month-first, decided by the data: a value > 12, else consecutive days."""
        slash = s.str.match(r"^\d{1,2}/\d{1,2}/\d{2,4}$").fillna(False)
        if not slash.any():
            return _ts(s, None)
        first = s[slash].str.extract(r"^(\d{1,2})/(\d{1,2})/")
        a, b = first[0].astype(int), first[1].astype(int)
        if (a > 12).any() and not (b > 12).any():
            return _ts(s, None, dayfirst=True)
        if (b > 12).any() and not (a > 12).any():
            return _ts(s, None, formats=("%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d"))
        cand = {}
        for name, fmts in (("d", ("%d/%m/%Y", "%d/%m/%y")), ("m", ("%m/%d/%Y", "%m/%d/%y"))):
            v, bd = _ts(s, None, formats=fmts)
            steps = v.dropna().sort_values().diff().dropna()
            cand[name] = ((steps == pd.Timedelta(days=1)).sum(), v, bd)
        pick = "m" if store.marketplace.upper() == "US" else "d"
        if cand["d"][0] != cand["m"][0]:
            pick = max(cand, key=lambda k: cand[k][0])
        return cand[pick][1], cand[pick][2]


def _business_expected(path: Path, c_date: str | None, c_sales: str | None, loc: TextLocale) -> float | None:
    """The file's own Total row when it has one, else an independent sum of the sales column."""
    if c_sales is None:
        return None
    date_key = (c_date or "").strip()

    def is_total(r: dict[str, object]) -> bool:
        return str(r.get(date_key, "")).strip().lower().startswith("total")

    read = {"sep": loc.delimiter, "quoted": True, "decimal": loc.decimal_or(".")}  # the file's locale, decided once
    own = column_total(path, c_sales, keep=is_total, **read)
    if own.rows and not own.unreadable:
        return float(own.total)
    return float(column_total(path, c_sales, keep=lambda r: not is_total(r), **read).total)
# ------------------------------------------------------------------ business report by child item

RANGES_FILE = "_report_ranges.csv"
_CHILD_SESSIONS = (r"sessions - total", r"sessions")
_CHILD_VIEWS = (r"page views - total", r"page views")
_CHILD_SALES = (r"ordered product sales", r"gross product sales")
_CHILD_UNITS = (r"units ordered",)
_CHILD_ITEMS = (r"total order items", r"orders placed")
_CHILD_BUYBOX = (r"featured offer \(buy box\) percentage", r"buy box percentage")


def _child_key(h: object) -> str:
    return normalize_header(h).replace("\u2013", "-").replace("\u2014", "-")


def _child_keys(keys: list[str]) -> bool:
    return (
        "(child) asin" in keys
        and "date" not in keys
        and _find(keys, *_CHILD_SALES) is not None
        and _find(keys, *_CHILD_SESSIONS) is not None
        and _find(keys, *_CHILD_UNITS) is not None
    )


_D_ISO = r"(\d{4})-(\d{2})-(\d{2})"
_D_US = r"(\d{1,2})-(\d{1,2})-(\d{2}|\d{4})"


def _ymd(y: str, m: str, d: str) -> pd.Timestamp | None:
    yy = int(y) + (2000 if len(y) == 2 else 0)
    try:
        return pd.Timestamp(year=yy, month=int(m), day=int(d))
    except ValueError:
        return None


def report_range(path: Path) -> tuple[pd.Timestamp, pd.Timestamp, str] | None:
    """(start, end, how) of a report that does not state its dates, from (in order):

    1. a ``_report_ranges.csv`` (columns ``file,start_date,end_date``; ``file`` a name or a glob) in
       the file's folder or a parent folder up to the store folder;
    2. two dates in the file name: ``…2024-09-01_2024-09-30…`` or ``…-9-1-24-9-30-24…`` (M-D-YY);
    3. a month in the file name or a parent folder name: ``2024-09`` (the whole month).

    A single date in the name (``BusinessReport-9-25-24``) is the day Amazon generated the file, not
    its range (the real by-date report so named covers 2022-09-24..2024-09-23), so it is not used.
    """
    import fnmatch

    folder = path.parent
    for _ in range(4):
        f = folder / RANGES_FILE
        if f.is_file():
            rules = pd.read_csv(f, dtype=str, keep_default_na=False)
            missing = {"file", "start_date", "end_date"} - set(rules.columns)
            if missing:
                raise IngestError(f"{f}: missing column(s) {', '.join(sorted(missing))} (expected file,start_date,end_date)")
            for i, rule in rules.iterrows():
                if fnmatch.fnmatch(path.name, rule["file"].strip()):
                    try:
                        a, b = pd.Timestamp(rule["start_date"].strip()), pd.Timestamp(rule["end_date"].strip())
                    except ValueError:
                        raise IngestError(
                            f"{f}: row {i + 2}: start_date/end_date must be dates like 2024-09-01 "
                            f"(got {rule['start_date']!r}, {rule['end_date']!r})"
                        ) from None
                    if b < a:
                        raise IngestError(f"{f}: row {i + 2}: end_date {b.date()} is before start_date {a.date()}")
                    return a, b, f"{f.name} row {i + 2}"
        if folder.parent == folder:
            break
        folder = folder.parent
    stem = path.stem
    m = re.search(_D_ISO + r"\D{1,3}" + _D_ISO, stem)
    if m:
        a, b = _ymd(*m.groups()[:3]), _ymd(*m.groups()[3:])
        if a is not None and b is not None and a <= b:
            return a, b, "file name"
    m = re.search(r"(?<!\d)" + _D_US + r"\D{1,3}" + _D_US + r"(?!\d)", stem)
    if m:
        g = m.groups()
        a, b = _ymd(g[2], g[0], g[1]), _ymd(g[5], g[3], g[4])
        if a is not None and b is not None and a <= b:
            return a, b, "file name"
    for part in [stem] + [p.name for p in path.parents][:3]:
        m = re.fullmatch(r"(?:.*\D)?(\d{4})-(\d{2})(?:\D.*)?", part)
        if m and not re.search(_D_ISO, part):
            a = _ymd(m[1], m[2], "1")
            if a is not None:
                return a, a + pd.offsets.MonthEnd(0), f"month {m[1]}-{m[2]} in {'file' if part == stem else 'folder'} name"
    return None


@register
class AmazonBusinessReportChild(Reader):
    """Business Report "Detail Page Sales and Traffic By Child Item" → ``traffic_by_sku``.

    One row per child ASIN / SKU with totals over a date range the file does not state; the range
    comes from ``report_range`` (file name, folder, or ``_report_ranges.csv``), and a file without a
    determinable range is refused with an error saying how to give it. Money: Ordered Product
    Sales (decimal mark decided once per file), reconciled against the file's own column sum.
    """

    name = "amazon_business_report_child"
    description = "Amazon Business Report, Detail Page Sales and Traffic by Child Item (CSV) → traffic_by_sku"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return _child_keys([_child_key(c) for c in _first_cells(head)])

    def read(self, path: Path, store: Store) -> ReadResult:
        rng = report_range(path)
        if rng is None:
            raise IngestError(
                f"{path}: a Sales and Traffic by Child Item report does not state its date range; give it "
                f"in the file name (e.g. BusinessReport-ChildItem-2024-09-01_2024-09-30.csv), put the file in "
                f"a month folder (e.g. 2024-09/), or add a row 'file,start_date,end_date' for it to "
                f"{RANGES_FILE} in its folder"
            )
        start, end, _how = rng
        df, loc = read_delimited_locale(path, quoted=True, marketplace=store.marketplace)
        names = [c for c in df.columns if c != LINE]
        keys = [_child_key(c) for c in names]

        def col(*patterns: str) -> str | None:
            i = _find(keys, *patterns)
            return names[i] if i is not None else None

        c_parent, c_child, c_title, c_sku = col(r"\(parent\) asin"), col(r"\(child\) asin"), col("title"), col("sku")
        c_sales, c_sess, c_views = col(*_CHILD_SALES), col(*_CHILD_SESSIONS), col(*_CHILD_VIEWS)
        c_units, c_items, c_bb = col(*_CHILD_UNITS), col(*_CHILD_ITEMS), col(*_CHILD_BUYBOX)
        sales_raw = _s(df, c_sales)
        codes = sales_raw.str.extract(r"^\s*([A-Z]{3})(?![A-Za-z])", expand=False).dropna().unique().tolist()
        syms = sales_raw.str.extract(r"([€£₹])", expand=False).dropna().unique().tolist()
        _check_currency(path, str(c_sales), codes + [_SYMBOLS[x] for x in syms], store)
        decimal = loc.decimal_or(".")

        bad = _Bad(df.index)
        asin = _s(df, c_child)
        total = (asin == "") & _s(df, c_title).str.lower().str.startswith("total")
        bad.add(total, str(c_child), "totals row")
        bad.add((asin == "") & ~total, str(c_child), "(Child) ASIN is empty (expected an ASIN like B07H1HW13V)")
        sales, sb = parse_number(sales_raw.astype(object).astype("string"), decimal=decimal)
        bad.cannot_parse(sb, str(c_sales), sales_raw, "an amount like $1,234.56")
        vals = {}
        for name, c in (("sessions", c_sess), ("page_views", c_views), ("units_ordered", c_units),
                        ("total_order_items", c_items)):
            raw = _s(df, c)
            v, b = parse_number(raw.astype(object).astype("string"), decimal=decimal)
            frac = v.notna() & (v.round() != v)
            bad.cannot_parse(b | frac, str(c), raw, "a whole number")
            vals[name] = v.round().astype("Int64")
        bb_raw = _s(df, c_bb)
        bb, _ = parse_number(bb_raw.astype(object).astype("string"), decimal=decimal)
        ok = ~bad.mask
        quarantine = _quarantine(df, bad.mask, bad.reason, bad.column, names)
        out = _frame(
            "traffic_by_sku",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "start_date": start,
                "end_date": end,
                "parent_asin": _s(df, c_parent)[ok],
                "asin": asin[ok],
                "sku": _s(df, c_sku)[ok],
                "title": _s(df, c_title)[ok],
                **{k: v[ok] for k, v in vals.items()},
                "ordered_sales": sales[ok].fillna(0.0),
                "buy_box_pct": bb[ok],
                "currency": store.currency,
                "source_row": df.loc[ok, LINE],
            },
            df.index[ok],
        )
        return ReadResult(
            tables={"traffic_by_sku": out},
            rows_read=len(df),
            quarantine=quarantine,
            expected_money=round(float(sales[~total].fillna(0.0).sum()), 2),
            money_columns=[("traffic_by_sku", "ordered_sales", 1.0)],
        )


# --------------------------------------------------------------------------------------- inventory

INVENTORY_REQUIRED = {"snapshot-date", "sku", "available", "inv-age-0-to-90-days", "inv-age-365-plus-days"}


@register
class AmazonFbaInventory(Reader):
    name = "amazon_fba_inventory"
    description = "Amazon FBA inventory planning report (tab-separated) → inventory"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return INVENTORY_REQUIRED <= set(_header_keys(head, "\t"))

    def read(self, path: Path, store: Store) -> ReadResult:
        df = read_delimited(path, "\t", quoted=False)
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        raw_cols = [c for c in df.columns if c != LINE]
        if "currency" in df.columns:
            _check_currency(path, "currency", _s(df, "currency").unique().tolist(), store)
        bad = _Bad(df.index)
        sku = _s(df, "sku")
        bad.add(sku == "", "sku", "sku is empty (expected a seller SKU)")
        d_raw = _s(df, "snapshot-date")
        dv, db = _ts(d_raw, store.timezone)
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
            raw = _s(df, c)
            v, b = _int(raw)
            bad.cannot_parse(b, c, raw, "a whole number")
            bad.add(
                (v < 0).fillna(False), c, c + ": negative value '", raw, "' (expected a whole number >= 0)"
            )
            ints[c] = v
        ok = ~bad.mask
        quarantine = _quarantine(df, bad.mask, bad.reason, bad.column, raw_cols)
        a181 = ints["inv-age-181-to-270-days"].fillna(0) + ints["inv-age-271-to-365-days"].fillna(0)
        a181 = a181.where(ints["inv-age-181-to-270-days"].notna() | ints["inv-age-271-to-365-days"].notna())
        inv = _frame(
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
