"""Amazon Business Reports: Sales and Traffic by Date (store-level ``traffic``) and by Child
Item (``traffic_by_sku`` over a stated date range)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ....errors import IngestError
from ...base import (
    FileHead,
    Reader,
    ReadResult,
    Store,
    exported_at_from,
    normalize_header,
)
from ...frames import LINE, read_delimited_locale
from ...independent import column_total
from ...parse import col_datetime, col_int, col_number, col_text, parse_number
from ...registry import register
from ...textio import TextLocale, detect_delimiter
from .common import (
    CURRENCY_SYMBOLS,
    PLATFORM,
    BadRows,
    check_currency,
    find_column,
    quarantine_rows,
    table_frame,
)

_BR_SESSIONS = (r"sessions - total", r"sessions")
_BR_VIEWS = (r"page views - total", r"page views")


def first_cells(head: FileHead) -> list[str]:
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
        and find_column(keys, *_BR_SESSIONS) is not None
        and find_column(keys, *_BR_VIEWS) is not None
    )


@register
class AmazonBusinessReport(Reader):
    name = "amazon_business_report"
    description = "Amazon Business Report, Sales and Traffic by Date (CSV) → store-level traffic"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        return _business_keys([normalize_header(c) for c in first_cells(head)])

    def read(self, path: Path, store: Store) -> ReadResult:
        df, loc = read_delimited_locale(path, quoted=True, marketplace=store.marketplace)
        decimal = loc.decimal_or(".")  # decided once per file: "4.426,00" in a decimal-comma re-save
        names = [c for c in df.columns if c != LINE]
        keys = [normalize_header(c) for c in names]

        def col(*patterns: str) -> str | None:
            i = find_column(keys, *patterns)
            return names[i] if i is not None else None

        c_date, c_sales, c_units = col("date"), col("ordered product sales"), col("units ordered")
        c_sess, c_views = col(*_BR_SESSIONS), col(*_BR_VIEWS)
        sales_raw = col_text(df, c_sales)
        codes = sales_raw.str.extract(r"^\s*([A-Z]{3})(?![A-Za-z])", expand=False).dropna().unique().tolist()
        syms = sales_raw.str.extract(r"^\s*([€£₹])", expand=False).dropna().unique().tolist()
        check_currency(path, c_sales, codes + [CURRENCY_SYMBOLS[s] for s in syms], store)

        bad = BadRows(df.index)
        dtxt = col_text(df, c_date)
        total = dtxt.str.lower().str.startswith("total")
        bad.add(total, c_date, "totals row")
        dv, db = self._dates(dtxt[~total], store)
        dv, db = dv.reindex(df.index), db.reindex(df.index, fill_value=False)
        bad.cannot_parse(db, c_date, dtxt, "a date like 24/09/2022")
        sales, sb = col_number(sales_raw, decimal)
        bad.cannot_parse(sb, c_sales, sales_raw, "a number like AED 4,426.00")
        vals = {}
        for name, c in (("sessions", c_sess), ("page_views", c_views), ("units_ordered", c_units)):
            v, b = col_int(col_text(df, c), decimal)
            bad.cannot_parse(b, c, col_text(df, c), "a whole number")
            vals[name] = v
        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, names)
        traffic = table_frame(
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
            exported_at=exported_at_from(dv[ok], store.timezone, end_of_day=True),  # the range's end
        )

    @staticmethod
    def _dates(s: pd.Series, store: Store) -> tuple[pd.Series, pd.Series]:
        """Day-first or month-first, decided by the data: a value > 12, else consecutive days."""
        slash = s.str.match(r"^\d{1,2}/\d{1,2}/\d{2,4}$").fillna(False)
        if not slash.any():
            return col_datetime(s, None)
        first = s[slash].str.extract(r"^(\d{1,2})/(\d{1,2})/")
        a, b = first[0].astype(int), first[1].astype(int)
        if (a > 12).any() and not (b > 12).any():
            return col_datetime(s, None, dayfirst=True)
        if (b > 12).any() and not (a > 12).any():
            return col_datetime(s, None, formats=("%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d"))
        cand = {}
        for name, fmts in (("d", ("%d/%m/%Y", "%d/%m/%y")), ("m", ("%m/%d/%Y", "%m/%d/%y"))):
            v, bd = col_datetime(s, None, formats=fmts)
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
        and find_column(keys, *_CHILD_SALES) is not None
        and find_column(keys, *_CHILD_SESSIONS) is not None
        and find_column(keys, *_CHILD_UNITS) is not None
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
        return _child_keys([_child_key(c) for c in first_cells(head)])

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
            i = find_column(keys, *patterns)
            return names[i] if i is not None else None

        c_parent, c_child, c_title, c_sku = col(r"\(parent\) asin"), col(r"\(child\) asin"), col("title"), col("sku")
        c_sales, c_sess, c_views = col(*_CHILD_SALES), col(*_CHILD_SESSIONS), col(*_CHILD_VIEWS)
        c_units, c_items, c_bb = col(*_CHILD_UNITS), col(*_CHILD_ITEMS), col(*_CHILD_BUYBOX)
        sales_raw = col_text(df, c_sales)
        codes = sales_raw.str.extract(r"^\s*([A-Z]{3})(?![A-Za-z])", expand=False).dropna().unique().tolist()
        syms = sales_raw.str.extract(r"([€£₹])", expand=False).dropna().unique().tolist()
        check_currency(path, str(c_sales), codes + [CURRENCY_SYMBOLS[x] for x in syms], store)
        decimal = loc.decimal_or(".")

        bad = BadRows(df.index)
        asin = col_text(df, c_child)
        total = (asin == "") & col_text(df, c_title).str.lower().str.startswith("total")
        bad.add(total, str(c_child), "totals row")
        bad.add((asin == "") & ~total, str(c_child), "(Child) ASIN is empty (expected an ASIN like B07H1HW13V)")
        sales, sb = parse_number(sales_raw.astype(object).astype("string"), decimal=decimal)
        bad.cannot_parse(sb, str(c_sales), sales_raw, "an amount like $1,234.56")
        vals = {}
        for name, c in (("sessions", c_sess), ("page_views", c_views), ("units_ordered", c_units),
                        ("total_order_items", c_items)):
            raw = col_text(df, c)
            v, b = parse_number(raw.astype(object).astype("string"), decimal=decimal)
            frac = v.notna() & (v.round() != v)
            bad.cannot_parse(b | frac, str(c), raw, "a whole number")
            vals[name] = v.round().astype("Int64")
        bb_raw = col_text(df, c_bb)
        bb, _ = parse_number(bb_raw.astype(object).astype("string"), decimal=decimal)
        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, names)
        out = table_frame(
            "traffic_by_sku",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "start_date": start,
                "end_date": end,
                "parent_asin": col_text(df, c_parent)[ok],
                "asin": asin[ok],
                "sku": col_text(df, c_sku)[ok],
                "title": col_text(df, c_title)[ok],
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
            exported_at=exported_at_from(pd.Timestamp(end), store.timezone, end_of_day=True),
        )
