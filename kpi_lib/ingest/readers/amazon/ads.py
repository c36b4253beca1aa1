"""Amazon Ads console reports: every report kind into its own grain table.

A seller downloads several reports from the Amazon Ads console (Reports → Sponsored ads); each
carries the same money cut a different way. Each kind is recognised by its header (never the file
name) and loads into its own table (``kpi_lib.schemas.ADS_KINDS``), keeping the dimensions of its
grain, so keyword, search-term and placement analysis is possible:

==========================  ============================  =============================================
reader                      table                         grain (besides store, day or range, campaign)
==========================  ============================  =============================================
amazon_sp_advertised_product ads_advertised_product       ad group, advertised SKU / ASIN
amazon_sp_targeting         ads_targeting                 ad group, targeting (keyword), match type
amazon_sp_search_term       ads_search_term               ad group, targeting, match type, search term
amazon_sp_campaign          ads_campaign                  campaign (type, status)
amazon_sp_performance_over_time ads_performance_over_time the whole account per day (no campaign column)
amazon_sp_placement         ads_placement                 placement, bidding strategy
amazon_sb_campaign          ads_sb_campaign               Sponsored Brands campaign
amazon_sd_campaign          ads_sd_campaign               Sponsored Display campaign (cost type)
==========================  ============================  =============================================

A performance-over-time download that does carry ``Campaign Name`` has the campaign report's grain
and is read as one. None of them writes the canonical ``ads`` table: the spend of record (one report kind per store ×
day × campaign) is chosen after ingest by :mod:`kpi_lib.ingest.ads_record`.

Variants handled: daily layout (``Date``) and summary layout (``Start Date`` / ``End Date``
without a daily date: the row keeps its range, ``date`` stays empty); the newer ``Retailer`` /
``Country`` columns; 7-, 14- or 30-day attribution (``attribution_days`` from the sales header);
currency symbols in headers (``$ / £ / € / ₹``) or money cells (``Rs.15.5``, ``$3.02``), checked
against the store's currency; CSV (comma, semicolon or tab; a title line above the header) and xlsx.

Reconciliation: ``expected_money`` (spend + ad sales the file says it holds) comes from an
independent parse of the raw file — the standard ``csv`` module or openpyxl, exact decimals — and
is the file's own totals row when it has one, so a totals row that disagrees with its rows shows
as a difference in the manifest.

Size (≈570 lines): one reader class for every report kind, sharing the header logic, its two column paths
(Arrow, pandas: the reference of ``common.FAST``) and the independent reconciliation parse.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ....errors import IngestError
from ....schemas import ADS_KINDS, TABLES, conform
from ... import arrowcols
from ...base import FileHead, Reader, ReadResult, Store, csv_frame, decode, exported_at_from, normalize_header
from ...frames import LINE, read_delimited, read_xlsx
from ...parse import col_dates, col_int, col_number, col_text
from ...registry import register
from . import common
from .common import (
    CURRENCY_SYMBOLS,
    BadRows,
    check_currency,
    find_column,
    first_bad_rows,
    quarantine_rows,
    store_columns,
)

_SALES = r"(\d+) day total sales(?: - \(click\))?(?: \(.*\))?"
_ORDERS = r"(\d+) day total orders(?: \(#\))?"
_UNITS = r"(\d+) day total units(?: \(#\))?"
_SALES_ONLY = r"(\d+) day total sales(?: \(.*\))?"

# header markers of the Sponsored Display / Sponsored Brands campaign reports: SD splits its
# conversions into views and clicks ("14 Day Total Sales - (Click)"); SB has new-to-brand, branded
# search and video columns (newer SB layouts also have "Cost type", so that marks SB only after SD)
_SD_MARKERS = {"bid optimization", "tactic"}
_SB_MARKERS = ("new-to-brand", "branded searches", "detail page views", "ad format", "video", "cost type")
_DOLLAR = {"USD", "CAD", "AUD", "MXN", "SGD", "NZD", "HKD", "BRL"}  # "$" in a header: any of these


def classify(keys: list[str]) -> str | None:
    """The report kind (an ``ADS_KINDS`` key) a normalised header row belongs to, or None.

    Decided by the columns only: a search term report is the one with ``Customer Search Term``; an
    advertised product report has ``Advertised SKU/ASIN``; a placement report ``Placement``; a
    targeting report ``Targeting`` + ``Match Type``; without ``Campaign Name`` it is the account's
    performance over time; otherwise a campaign report (SD by its ``… - (Click)`` columns or
    ``Bid Optimization`` / ``Tactic``, SB by its new-to-brand / branded-search / detail-page-view /
    ``Cost type`` columns, else SP). A ``Campaign Type`` column's values override the guess.
    """
    has = set(keys)
    dated = bool(has & {"date", "day"}) or {"start date", "end date"} <= has
    if not dated or "spend" not in has or not has & {"clicks", "impressions"}:
        return None
    if "purchased asin" in has:  # purchased product report: other-SKU sales, no spend of its own
        return None
    if "customer search term" in has:
        return "sp_search_term"
    if has & {"advertised sku", "advertised asin"}:
        return "sp_advertised_product"
    if "placement" in has:
        return "sp_placement"
    if "match type" in has and has & {"targeting", "keyword"}:
        if any("new-to-brand" in k for k in keys):
            return None  # a Sponsored Brands keyword report: SB spend is read from the SB campaign report
        return "sp_targeting"
    if "campaign name" not in has:
        return None if "ad group name" in has else "sp_performance_over_time"
    if "ad group name" in has:
        return None  # an ad group report: not one of the report kinds read here
    if has & _SD_MARKERS or any(k.endswith("- (click)") for k in keys):
        return "sd_campaign"
    if any(m in k for k in keys for m in _SB_MARKERS):
        return "sb_campaign"
    return "sp_campaign"


def _kind_from_values(kind: str, header: list[str], rows: list[list[object]]) -> str:
    """A ``Campaign Type`` column saying Sponsored Brands / Display overrides the header guess."""
    if "campaign type" not in header or kind not in ("sp_campaign", "sb_campaign", "sd_campaign"):
        return kind
    i = header.index("campaign type")
    vals = {normalize_header(r[i]) for r in rows if i < len(r) and r[i] not in (None, "")}
    if vals == {"sponsored brands"}:
        return "sb_campaign"
    if vals == {"sponsored display"}:
        return "sd_campaign"
    if vals == {"sponsored products"}:
        return "sp_campaign"
    return kind


def _sep(line: str) -> str:
    counts = {s: line.count(s) for s in (",", ";", "\t")}
    return max(counts, key=lambda s: counts[s])


def _head_rows(head: FileHead) -> list[list[object]]:
    """The first rows of the file as cells (xlsx rows, or CSV lines split by their delimiter)."""
    if head.xlsx_rows is not None:
        return [list(r) for r in head.xlsx_rows[:40]]
    out: list[list[object]] = []
    lines = head.lines[:40]
    if not lines:
        return out
    sep = _sep(next((ln for ln in lines if ln.strip()), lines[0]))
    for line in lines:
        try:
            out.append(list(next(csv.reader([line], delimiter=sep))))
        except (csv.Error, StopIteration):
            out.append([])
    return out


def detect_kind(head: FileHead) -> str | None:
    """The report kind of a file from its head (header among the first 10 rows)."""
    rows = _head_rows(head)
    for i, row in enumerate(rows[:10]):
        keys = [normalize_header(c) for c in row]
        kind = classify(keys)
        if kind:
            return _kind_from_values(kind, keys, rows[i + 1 : i + 30])
    return None


# ------------------------------------------------------------------------------- independent totals


def _dec(v: object) -> Decimal | None:
    """A money cell as an exact decimal, parsed independently of the loader's number parsing."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return None if np.isnan(v) else Decimal(repr(float(v)))
    s = str(v).replace("\xa0", "").replace("\u202f", "").replace(" ", "").strip()
    if not s:
        return None
    neg = s.startswith("-") or (s.startswith("(") and s.endswith(")"))
    s = re.sub(r"^[^\d]*?(?=\d)", "", s)  # currency prefix: Rs. $ £ € ₹ AED, sign
    s = re.sub(r"[^\d]+$", "", s)  # currency suffix: € / " EUR"
    if not s:
        return None
    if "," in s and "." in s:
        s = s.replace(",", "") if s.rfind(".") > s.rfind(",") else s.replace(".", "").replace(",", ".")
    elif "," in s:
        s = s.replace(",", ".") if re.search(r",\d{1,2}$", s) else s.replace(",", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    return -d if neg else d


def _raw_totals(
    path: Path, header_row: int, sep: str, cols: list[str]
) -> tuple[list[Decimal], list[Decimal | None]]:
    """Column sums over the data rows, and the file's own totals row (None where it has none).

    ``header_row`` is the 1-based line / sheet row of the header; ``cols`` the header cells to sum
    (the first one decides what a totals row is: its row starts with "Total").
    """
    if path.open("rb").read(4) == b"PK\x03\x04":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            ws.reset_dimensions()  # some exports declare a wrong sheet size (A1:A1)
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    else:
        text = decode(path.read_bytes())[0]
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    header = [normalize_header(c) for c in rows[header_row - 1]]
    idx = [header.index(normalize_header(c)) if c and normalize_header(c) in header else None for c in cols]
    sums = [Decimal(0) for _ in cols]
    totals: list[Decimal | None] = [None for _ in cols]
    for row in rows[header_row:]:
        cells = [c for c in row if c is not None and str(c).strip()]
        if not cells:
            continue
        if str(cells[0]).strip().lower().startswith("total"):
            totals = [_dec(row[i]) if i is not None and i < len(row) else None for i in idx]
            continue
        for j, i in enumerate(idx):
            if i is not None and i < len(row):
                sums[j] += _dec(row[i]) or Decimal(0)
    return sums, totals


# ------------------------------------------------------------------------------------------ reader

# canonical dimension → header patterns (normalised, full match)
_DIMS: dict[str, tuple[str, ...]] = {
    "portfolio": ("portfolio name", "portfolio"),
    "campaign": ("campaign name", "campaign"),
    "ad_group": ("ad group name", "ad group"),
    "sku": ("advertised sku",),
    "asin": ("advertised asin",),
    "targeting": ("targeting", "keyword"),
    "match_type": ("match type",),
    "customer_search_term": ("customer search term",),
    "placement": ("placement",),
    "bidding_strategy": ("bidding strategy", "campaign bidding strategy"),
    "campaign_type": ("campaign type",),
    "status": ("status", "campaign status"),
    "cost_type": ("cost type",),
    "retailer": ("retailer",),
    "country": ("country",),
}


#: a currency before a money cell's number (the pandas path's ``str.extract`` pattern)
_PREFIX = re.compile(r"^(Rs\.?|₹|€|£|[A-Z]{3})")


@dataclass(frozen=True)
class _Columns:
    """What ``read`` found in the header: the columns it reads, the attribution window, where the
    header is and how the file is delimited; ``col`` finds a column by pattern."""

    date: str | None
    start: str | None
    end: str | None
    campaign: str | None
    impressions: str | None
    clicks: str | None
    spend: str | None
    sales: str | None
    orders: str | None
    units: str | None
    attribution: int | None
    header_row: int
    sep: str
    sep_file: bool
    col: Callable[..., str | None]


class _AdsReportReader(Reader):
    platforms = ("amazon",)
    kind: str = ""

    @property
    def table(self) -> str:
        return ADS_KINDS[self.kind]

    def sniff(self, head: FileHead) -> bool:
        return detect_kind(head) == self.kind

    def _load(self, path: Path) -> tuple[pd.DataFrame, int, str]:
        """Rows as a frame plus ``__line``; the header's row number; the CSV delimiter."""
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"PK\x03\x04":
            df, header_row = read_xlsx(path, lambda keys: classify(keys) is not None)
            return df, header_row, ","
        text = decode(path.read_bytes())[0]
        lines = text.splitlines()[:20]
        for i, line in enumerate(lines):
            sep = _sep(line)
            try:
                cells = next(csv.reader([line], delimiter=sep))
            except (csv.Error, StopIteration):
                continue
            if classify([normalize_header(c) for c in cells]) is None:
                continue
            if i == 0:
                return read_delimited(path, sep, quoted=True), 1, sep
            df = csv_frame(text, sep, header_line=i)
            for c in df.columns:
                if c != LINE:
                    df[c] = df[c].fillna("").astype("string[pyarrow]")
            return df, i + 1, sep
        raise IngestError(f"{path}: no Amazon Ads report header in the first 20 lines")

    def read(self, path: Path, store: Store) -> ReadResult:
        df, header_row, sep = self._load(path)
        with path.open("rb") as fh:
            sep_file = fh.read(4) != b"PK\x03\x04"
        names = [c for c in df.columns if c != LINE]
        keys = [normalize_header(c) for c in names]
        kind = classify(keys)
        if kind is not None:
            kind = _kind_from_values(kind, keys, df[names].head(30).astype(object).values.tolist())
        if kind != self.kind:
            raise IngestError(f"{path}: header is a {kind or 'non-ads'} report, not {self.kind}")

        def col(*patterns: str) -> str | None:
            i = find_column(keys, *patterns)
            return names[i] if i is not None else None

        c_date = col("date", "day")
        c_start, c_end = col("start date"), col("end date")
        c_spend, c_sales = col("spend"), col(_SALES_ONLY, _SALES)
        c_imp, c_clk = col("impressions"), col("clicks")
        c_ord, c_units = col(_ORDERS), col(_UNITS)
        c_camp = col(*_DIMS["campaign"])
        attribution = None
        for c in (c_sales, c_ord, c_units):
            m = re.match(r"(\d+) day", normalize_header(c)) if c else None
            if m:
                attribution = int(m.group(1))
                break
        money_cols = [c for c in (c_spend, c_sales) if c]
        cols = _Columns(c_date, c_start, c_end, c_camp, c_imp, c_clk, c_spend, c_sales, c_ord, c_units,
                        attribution, header_row, sep, sep_file, col)
        if common.FAST and len(df) and arrowcols.arrow_text_frame(df):
            return self._read_arrow(path, store, df, names, cols)
        self.check_currency(path, df, store, col("currency"), money_cols)

        bad = BadRows(df.index)
        first = col_text(df, c_date or c_start)
        dims_empty = pd.Series(True, index=df.index)
        for c in (c_camp, col(*_DIMS["ad_group"]), col(*_DIMS["placement"]), col(*_DIMS["targeting"])):
            if c:
                dims_empty &= col_text(df, c) == ""
        total = first.str.lower().str.startswith("total") | ((first == "") & dims_empty)
        bad.add(total, c_date or c_start or "", "totals row")
        if c_date is not None:  # daily layout (a campaign report's Start/End Date are the campaign's)
            day, db = col_dates(df[c_date])
            bad.cannot_parse(
                db | (day.isna() & ~total), c_date, first, "a date like 2020-02-01 or Feb 1, 2020"
            )
            start = end = day
        else:  # summary layout: the row's range
            start, sb = col_dates(df[c_start])
            end, eb = col_dates(df[c_end])
            bad.cannot_parse(sb | (start.isna() & ~total), str(c_start), first, "a start date")
            bad.cannot_parse(eb | (end.isna() & ~total), str(c_end), col_text(df, c_end), "an end date")
            bad.add((end < start).fillna(False), str(c_end), "end date before start date")
            day = start.where(start == end)  # a one-day range is a daily row
        vals: dict[str, pd.Series] = {}
        for name, c, kind_ in (
            ("impressions", c_imp, "int"),
            ("clicks", c_clk, "int"),
            ("spend", c_spend, "num"),
            ("ad_sales", c_sales, "num"),
            ("ad_orders", c_ord, "int"),
            ("ad_units", c_units, "int"),
        ):
            if c is None:  # the report has no such column: missing, not zero
                vals[name] = pd.Series(np.nan, index=df.index, dtype="float64")
                continue
            v, b = (col_int if kind_ == "int" else col_number)(df[c])
            bad.cannot_parse(b, c, col_text(df, c), "a whole number" if kind_ == "int" else "a number")
            bad.add((v < 0).fillna(False), c, f"{c}: negative value (expected >= 0)")
            vals[name] = v.fillna(0)  # an empty cell in a present column is none
        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, names)
        table = TABLES[self.table]
        data: dict[str, object] = {
            **store_columns(store),
            "date": day[ok].dt.floor("D"),
            "start_date": start[ok].dt.floor("D"),
            "end_date": end[ok].dt.floor("D"),
            "attribution_days": attribution,
            **{k: v[ok] for k, v in vals.items()},
            "source_row": df.loc[ok, LINE],
        }
        for dim in table.columns:
            if dim in _DIMS and dim not in data:
                v = col_text(df, col(*_DIMS[dim]))[ok]
                # Amazon's CSV campaign report escapes a quote in a name as \"" ("31\"" x 19\"" mat"):
                # the name must read as in the xlsx reports, or the precedence sees two campaigns
                data[dim] = v.str.replace('\\"', '"', regex=False) if sep_file else v
        if self.kind == "sp_campaign" and "campaign_type" in data:
            data["campaign_type"] = data["campaign_type"].where(
                data["campaign_type"] != "", "Sponsored Products"
            )
        out = conform(pd.DataFrame(data, index=df.index[ok]), dict(table.columns) | {"source_row": "int64"})
        return self._result(path, store, df, out, quarantine, cols, end[ok])

    def _result(self, path: Path, store: Store, df: pd.DataFrame, out: pd.DataFrame, quarantine: list,
                cols: _Columns, end: pd.Series) -> ReadResult:
        """The read's result: ``out`` on a RangeIndex, the reconciliation (the file's own money, parsed
        independently of the rows) and the export time (the end of the rows' last range)."""
        out = out.reset_index(drop=True)
        sums, totals = _raw_totals(path, cols.header_row, cols.sep, [cols.spend or "", cols.sales or ""])
        expected = sum((t if t is not None else s) for s, t in zip(sums, totals))
        money = [(self.table, "spend", 1.0)] + ([(self.table, "ad_sales", 1.0)] if cols.sales else [])
        return ReadResult(
            tables={self.table: out},
            rows_read=len(df),
            quarantine=quarantine,
            expected_money=float(expected),
            money_columns=money,
            exported_at=exported_at_from(end, store.timezone, end_of_day=True),  # the range's end
        )

    def _read_arrow(self, path: Path, store: Store, df: pd.DataFrame, names: list[str], cols: _Columns) -> ReadResult:
        """The rows of ``read``'s pandas path over Arrow columns (``ingest.arrowcols``): the same table,
        quarantine, reconciliation and export time (``tests/test_ingest_amazon_fast.py``); dates parsed
        once per distinct text, currency prefixes looked for in the distinct cells, checks as numpy masks."""
        n = len(df)
        txt: dict[str | None, pa.ChunkedArray] = {}

        def text(c: str | None) -> pa.ChunkedArray:
            if c not in txt:
                txt[c] = arrowcols.text(df, c)
            return txt[c]

        money_cols = [c for c in (cols.spend, cols.sales) if c]
        self.check_currency(path, df, store, cols.col("currency"), money_cols,
                            lambda c: arrowcols.distinct(text(c))[1])
        bad = arrowcols.FirstBad(n)
        first_col = cols.date or cols.start
        first = text(first_col)
        dims_empty = np.ones(n, dtype=bool)
        for c in (cols.campaign, cols.col(*_DIMS["ad_group"]), cols.col(*_DIMS["placement"]),
                  cols.col(*_DIMS["targeting"])):
            if c:
                dims_empty &= ~arrowcols.filled(text(c))
        total = np.asarray(pc.starts_with(pc.utf8_lower(first), "total")) | (~arrowcols.filled(first) & dims_empty)
        bad.add(total, first_col or "", "totals row")
        if cols.date is not None:  # daily layout (a campaign report's Start/End Date are the campaign's)
            day, db = arrowcols.datetimes(first, None)
            bad.cannot_parse(db | (np.isnat(day) & ~total), cols.date, first, "a date like 2020-02-01 or Feb 1, 2020")
            start = end = day
        else:  # summary layout: the row's range
            start, sb = arrowcols.datetimes(text(cols.start), None)
            end_raw = text(cols.end)
            end, eb = arrowcols.datetimes(end_raw, None)
            bad.cannot_parse(sb | (np.isnat(start) & ~total), str(cols.start), first, "a start date")
            bad.cannot_parse(eb | (np.isnat(end) & ~total), str(cols.end), end_raw, "an end date")
            bad.add(end < start, str(cols.end), "end date before start date")  # (NaT compares False)
            day = np.where(start == end, start, np.datetime64("NaT", "ns"))
        vals: dict[str, np.ndarray | pd.Series] = {}
        for name, c, kind_ in (
            ("impressions", cols.impressions, "int"),
            ("clicks", cols.clicks, "int"),
            ("spend", cols.spend, "num"),
            ("ad_sales", cols.sales, "num"),
            ("ad_orders", cols.orders, "int"),
            ("ad_units", cols.units, "int"),
        ):
            if c is None:  # the report has no such column: missing, not zero
                vals[name] = np.full(n, np.nan)
                continue
            raw = text(c)
            v, b = (arrowcols.whole_numbers if kind_ == "int" else arrowcols.numbers)(raw)
            bad.cannot_parse(b, c, raw, "a whole number" if kind_ == "int" else "a number")
            with np.errstate(invalid="ignore"):
                bad.add(v < 0, c, f"{c}: negative value (expected >= 0)")
            v = np.nan_to_num(v, nan=0.0)  # an empty cell in a present column is none
            vals[name] = pd.array(v, dtype="Int64") if kind_ == "int" else v
        ok, quarantine = first_bad_rows(df, bad, names)
        keep = np.flatnonzero(ok)
        index = pd.RangeIndex(len(keep))
        table = TABLES[self.table]
        data: dict[str, object] = {
            **store_columns(store),
            "date": pd.Series(arrowcols.floor_day(day[ok]), index=index),
            "start_date": pd.Series(arrowcols.floor_day(start[ok]), index=index),
            "end_date": pd.Series(arrowcols.floor_day(end[ok]), index=index),
            "attribution_days": cols.attribution,
            **{k: pd.Series(v[ok], index=index) for k, v in vals.items()},
            "source_row": pd.Series(df[LINE].to_numpy()[ok], index=index),
        }
        take = pa.array(keep)
        for dim in table.columns:
            if dim in _DIMS and dim not in data:
                v = text(cols.col(*_DIMS[dim])).take(take)
                # Amazon's CSV campaign report escapes a quote in a name as \"" ("31\"" x 19\"" mat"):
                # the name must read as in the xlsx reports, or the precedence sees two campaigns
                if cols.sep_file:
                    v = pc.replace_substring(v, '\\"', '"')
                if dim == "campaign_type" and self.kind == "sp_campaign":
                    v = pc.if_else(pc.equal(v, ""), pa.scalar("Sponsored Products", pa.large_string()), v)
                data[dim] = arrowcols.series(v)
        out = conform(pd.DataFrame(data, index=index), dict(table.columns) | {"source_row": "int64"})
        return self._result(path, store, df, out, quarantine, cols, pd.Series(end[ok]))

    @staticmethod
    def check_currency(
        path: Path, df: pd.DataFrame, store: Store, c_cur: str | None, money: list[str],
        distinct: Callable[[str], list[str]] | None = None,
    ) -> None:
        """Currency stated by a header symbol, a Currency column or money prefixes must be the store's.
        ``distinct``: a column's distinct stripped cells (the Arrow path), looked at instead of every cell."""
        for c in money:
            m = re.search(r"\(([^()#%]+)\)\s*$", c.strip())
            sym = m.group(1).strip() if m else ""
            if sym == "$":
                if store.currency.upper() not in _DOLLAR:
                    check_currency(path, c, ["USD"], store)
            elif sym and sym.lower() in CURRENCY_SYMBOLS:
                check_currency(path, c, [CURRENCY_SYMBOLS[sym.lower()]], store)
        if distinct is not None:
            if c_cur:
                check_currency(path, c_cur, [v for v in distinct(c_cur) if v], store)
            for c in money:
                pre = {m.group(1) for m in map(_PREFIX.match, distinct(c)) if m}
                check_currency(path, c, [CURRENCY_SYMBOLS.get(x.lower(), x) for x in pre], store)
            return
        if c_cur:
            check_currency(path, c_cur, [v for v in col_text(df, c_cur).unique().tolist() if v], store)
        for c in money:
            pre = col_text(df, c).str.extract(r"^(Rs\.?|₹|€|£|[A-Z]{3})", expand=False).dropna().unique().tolist()
            check_currency(path, c, [CURRENCY_SYMBOLS.get(x.lower(), x) for x in pre], store)


def _reader(kind: str, label: str) -> type[_AdsReportReader]:
    cls = type(
        f"Amazon{''.join(p.title() for p in kind.split('_'))}",
        (_AdsReportReader,),
        {
            "name": f"amazon_{kind}",
            "kind": kind,
            "description": f"Amazon Ads, {label} (xlsx or CSV) → {ADS_KINDS[kind]}",
        },
    )
    return register(cls)


AmazonSpAdvertisedProduct = _reader("sp_advertised_product", "Sponsored Products advertised product report")
AmazonSpTargeting = _reader("sp_targeting", "Sponsored Products targeting (keyword) report")
AmazonSpSearchTerm = _reader("sp_search_term", "Sponsored Products search term report")
AmazonSpCampaign = _reader("sp_campaign", "Sponsored Products campaign report")
AmazonSpPerformanceOverTime = _reader(
    "sp_performance_over_time", "Sponsored Products performance over time report"
)
AmazonSpPlacement = _reader("sp_placement", "Sponsored Products placement report")
AmazonSbCampaign = _reader("sb_campaign", "Sponsored Brands campaign report")
AmazonSdCampaign = _reader("sd_campaign", "Sponsored Display campaign report")
