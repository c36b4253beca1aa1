"""The mapping reader's fast column work (``mapping.FAST``: stripped text from Arrow's dictionary, numbers
parsed once per distinct text, dates read from the texts' bytes) gives exactly what its pandas path
(``FAST = False``: ``parse_number`` / ``parse_datetime`` cell by cell, the reader before issue 15.2's
sixth round) gives: every table (values, dtypes, row order, ``source_row``), the quarantined rows
(reason, row, column, raw cells), rows read, the reconciliation total, the same ``IngestError``. On
the TikTok fixtures, the real Shopee and Shopify exports, the demo company's order exports (Shopee,
TikTok, Shopify, ERP) and seeded random files in every layout a mapping allows (encodings, delimiters,
preambles, decimal marks, thousands separators, date formats, xlsx; orders and the other tables) with
missing, blank, unparseable, negative, thousands-separated, comma-decimal and repeated cells and bad
dates. The date helpers (``arrowcols.fixed_datetimes`` / ``offset_datetimes``) are compared with
``parse_datetime`` directly.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_EXPORTS
from ingest_helpers import FastSwitch

from kpi_lib.ingest import arrowcols
from kpi_lib.ingest.base import Store
from kpi_lib.ingest.parse import parse_datetime
from kpi_lib.ingest.readers import mapping, shopee, tiktok
from kpi_lib.ingest.readers.mapping import MappingReader, reader_from_mapping
from kpi_lib.ingest.registry import REGISTRY

FIX = Path(__file__).parent / "fixtures" / "exports"
US = Store("TTS-US-01", "tiktok", "US", "USD", "America/Los_Angeles")
MY = Store("SHP-MY-01", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur")
BD = Store("SFY-BD-01", "shopify", "BD", "BDT", "Asia/Dhaka")
DE = Store("GEN-DE-01", "generic", "DE", "EUR", "Europe/Berlin")
NY = Store("GEN-US-01", "generic", "US", "EUR", "America/New_York")


_SWITCH = FastSwitch(mapping)
fast, read, assert_same = _SWITCH.fast, _SWITCH.read, _SWITCH.assert_same


# ----------------------------------------------------------------------------- files that exist

def test_fixtures_and_real_exports_read_the_same() -> None:
    for p in sorted((FIX / "tiktok").glob("*.csv")):
        assert len(assert_same(tiktok.READER, p, US).tables["orders"]) > 0  # type: ignore[union-attr]
    res = assert_same(shopee.READER, REAL_EXPORTS / "shopee" / "orderSalesReport.xlsx", MY)
    assert len(res.tables["orders"]) > 0  # type: ignore[union-attr]
    res = assert_same(REGISTRY.get("shopify_orders"), REAL_EXPORTS / "shopify" / "orders_export (9).csv", BD)
    assert len(res.tables["orders"]) > 0  # type: ignore[union-attr]


def _demo_stores(project: Path) -> dict[str, Store]:
    with open(project / "data" / "reference" / "stores.csv", newline="") as fh:
        return {r["store_id"]: Store(r["store_id"], r["platform"], r["marketplace"], r["currency"], r["timezone"])
                for r in csv.DictReader(fh)}


def test_demo_order_exports_read_the_same(demo_project: Path) -> None:
    """Every fifth order export of the demo stores read by a mapping (Shopee, TikTok, Shopify, ERP), and the
    first of each reader (all of them take ~25 CPU s: ``bench/ingest_same.py`` compares whole trees)."""
    stores = _demo_stores(demo_project)
    raw = demo_project / "data" / "raw"
    files = sorted([*raw.glob("*/orders/*.csv"), *raw.glob("*/orders/*.xlsx"), *raw.glob("*/erp-orders/*.csv")])
    seen = set()
    for i, path in enumerate(files):
        store = stores[path.parent.parent.name]
        reader = REGISTRY.detect(path, store)
        if not isinstance(reader, MappingReader) or (i % 5 and reader.name in seen):
            continue
        assert_same(reader, path, store)
        seen.add(reader.name)
    assert {"shopee_orders", "tiktok_orders", "shopify_orders", "erp_mabang_orders"} <= seen


def test_the_fast_path_is_taken_on_a_demo_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """TikTok's dates (``%m/%d/%Y %I:%M:%S %p``) never reach ``parse_datetime`` on clean files."""
    def refuse(*a, **k):
        raise AssertionError("parse_datetime was called")

    monkeypatch.setattr(mapping, "parse_datetime", refuse)
    rng = random.Random(3)
    rows = [[f"O{i // 2}", f"S{i % 5}", _date(rng, "%m/%d/%Y %I:%M:%S %p"), "1", "2.50"] for i in range(100)]
    m = _orders_mapping("%m/%d/%Y %I:%M:%S %p", ",", ".")
    path = Path("/tmp") / "unused"  # the frame is built in memory
    df = _frame(rows)
    with fast(True):
        res = mapping.convert(df, mapping.Mapping.model_validate(m), US, path)
    assert len(res.tables["orders"]) == 100


# ----------------------------------------------------------------------------- seeded random files

HEADER = ["Order No", "Item", "Date", "Qty", "Price", "Discount", "Shipping", "Fee", "Status", "Refund", "Refund date",
          "Cancelled", "Currency", "Financial"]
FORMATS = ["%Y-%m-%d %H:%M", "%m/%d/%Y %I:%M:%S %p", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d", "%d/%m/%Y",
           None]


def _orders_mapping(date_format: str | None, delimiter: str, decimal: str, **kw: object) -> dict:
    m = {
        "name": "rand_orders", "detect": {"required_columns": ["Order No", "Item", "Date"]},
        "delimiter": delimiter, "decimal": decimal, "date_format": date_format,
        "columns": {
            "order_id": "Order No", "sku": {"column": "Item", "fallback": "Status"}, "order_date": "Date", "quantity": "Qty",
            "unit_price": "Price", "discounts": "Discount", "shipping_charged": "Shipping",
            "status": {"column": "Status", "map": {"Done": "delivered", "Sent": "shipped", "Open": "pending",
                                                   "Gone": "cancelled"}, "default": "pending"},
            "ship_date": "Refund date",
        },
        "order_level": ["shipping_charged"],
        "status_overrides": [{"column": "Financial", "map": {"refunded": "returned"}, "level": "order"}],
        "cancelled_if": "Cancelled",
        "skip_cancelled_fees": True,
        "fees": [{"column": "Fee", "fee_type": "referral", "level": "order"},
                 {"column": "Discount", "fee_type": "promotion"}],
        "refunds": {"amount": "Refund", "level": "order", "date": "Refund date", "quantity": "Qty"},
        "totals_row": {"column": "Order No", "values": ["Total"]},
    }
    m.update(kw)
    return m


def _date(rng: random.Random, fmt: str | None) -> str:
    ts = pd.Timestamp("2025-01-01") + pd.Timedelta(seconds=rng.randrange(0, 700 * 86_400))
    if fmt is None:
        return ts.strftime("%Y-%m-%d %H:%M:%S ") + rng.choice(["+0500", "-0800", "+0000", "+0530", "-1000"])
    return ts.strftime(fmt)


BAD_DATES = ["2025-13-01 10:00", "31/02/2025", "13/31/2025 01:02:03 PM", "not a date", "2025-02-30 10:00:00 +0100",
             "07/16/2026 13:23:45 PM", "07/16/2026 00:23:45 AM", "7/6/2026 1:02:03 pm", "2025-01-05", "2025-01-05 10:00:00",
             "05.07.2025 22:07:18 UTC", "2026-04-04T14:49:57Z", "2026-04-04 14:49:57 +1500", "2026-04-04 24:00:00 +0100",
             "1850-01-01 10:00", "2025/12/01  00:04:00", "１２/01/2025", "25-12-2025 10:00"]


def _number(rng: random.Random, decimal: str, thousands: str | None, whole: bool = False) -> str:
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.12:
        return rng.choice(["  ", "abc", "--", "N/A", "1e3", "inf", "(3.00)", "$4.50", "12%", "1,2,3", "0x10"])
    v = rng.choice([0, 1, 2, 3, 5, 12, 99]) if whole else round(rng.choice([0, 1.5, 2.25, 19.99, 1234.5, 0.1, 7]) * rng.choice([1, 1, -1, 3]), 2)
    if whole and rng.random() < 0.05:
        return rng.choice(["-2", "1.5", "2,0"])
    text = f"{v:,.2f}" if (thousands and abs(v) >= 1000) else (str(v) if whole else f"{v:.2f}")
    if thousands and abs(v) >= 1000:
        text = text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)
    elif decimal == ",":
        text = text.replace(".", ",")
    return text if rng.random() < 0.9 else f" {text} "


def _rows(rng: random.Random, n: int, fmt: str | None, decimal: str, thousands: str | None) -> list[list[str]]:
    rows = []
    order = 0
    for i in range(n):
        if rng.random() < 0.6:
            order += 1
        date = _date(rng, fmt) if rng.random() < 0.9 else rng.choice(BAD_DATES + [""])
        rows.append([
            rng.choice([f"A-{order}", f"A-{order}", f"A-{order}", "", "  ", f" A-{order} "]),
            rng.choice(["HK-1", "HK-2", " HK-3 ", "", "商品-4", "x"]),
            date, _number(rng, decimal, thousands, whole=True), _number(rng, decimal, thousands),
            _number(rng, decimal, thousands), _number(rng, decimal, thousands), _number(rng, decimal, thousands),
            rng.choice(["Done", "Sent", "Open", "Gone", "done ", "SENT", "weird", ""]),
            _number(rng, decimal, thousands),
            _date(rng, fmt) if rng.random() < 0.5 else rng.choice(["", "bad", *BAD_DATES]),
            rng.choice(["", "", "", "", "2025-01-01"]), "", rng.choice(["", "", "refunded", "paid"]),
        ])
    if rng.random() < 0.5:
        rows.append(["Total"] + [""] * (len(HEADER) - 1))
    return rows


def _frame(rows: list[list[str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[mapping.normalize_header(h) for h in HEADER[: len(rows[0])]]).astype("string[pyarrow]")
    df["__line"] = np.arange(2, len(df) + 2)
    return df


def _write(path: Path, rows: list[list[str]], sep: str, encoding: str, preamble: int, quote_all: bool) -> None:
    lines = [f"Report line {i}" for i in range(preamble)]
    body = [HEADER, *rows]
    for k, r in enumerate(body):
        cells = [f'"{c}"' if (quote_all or sep in c or '"' in c) else c for c in r]
        lines.append(sep.join(cells))
        if k % 37 == 5:
            lines.append("")  # a blank line is no row
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding, errors="replace"))


CASES = [  # (delimiter, decimal, thousands, encoding, preamble, quoted)
    (",", ".", None, "utf-8", 0, False), (";", ",", ".", "utf-8-sig", 2, True), ("\t", ".", "'", "utf-16", 0, False),
    ("|", ",", None, "cp1252", 1, False), (",", ".", ",", "gb18030", 0, True), (";", "auto", None, "utf-8", 0, False),
    (",", ",", " ", "utf-8", 3, True), ("\t", "auto", ".", "utf-8", 0, True),
]


@pytest.mark.parametrize("seed", range(28))
def test_random_order_files_read_the_same(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    sep, dec, thousands, enc, preamble, quoted = CASES[seed % len(CASES)]
    fmt = FORMATS[seed % len(FORMATS)]
    num_dec = "," if dec == "," else "."
    rows = _rows(rng, rng.choice([40, 150, 300]), fmt, num_dec, thousands)
    if enc == "cp1252":
        rows = [[c.replace("商品", "Ware") for c in r] for r in rows]
    path = tmp_path / f"r{seed}.csv"
    _write(path, rows, sep, enc, preamble, quoted)
    extra: dict = {"encoding": enc if seed % 2 else "auto", "header_row": preamble + 1, "thousands": thousands}
    if seed % 5 == 4:
        extra["currency_column"] = "Currency"
    m = _orders_mapping(fmt, sep if seed % 3 else "auto", dec, **extra)
    if seed % 4 == 3:
        m["columns"]["gross_sales"] = m["columns"].pop("unit_price")
    if seed % 6 == 1:
        m["dayfirst"] = True
    reader = reader_from_mapping(m)
    for store in (DE, NY):
        assert_same(reader, path, store)


@pytest.mark.parametrize("seed", range(6))
def test_random_xlsx_read_the_same(tmp_path: Path, seed: int) -> None:
    import datetime as dt

    import openpyxl

    rng = random.Random(100 + seed)
    fmt = FORMATS[seed % len(FORMATS)]
    rows = _rows(rng, 120, fmt, "," if seed % 2 else ".", None)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Title"])
    ws.append(HEADER)
    for r in rows:
        cells: list[object] = list(r)
        if rng.random() < 0.3:
            cells[2] = dt.datetime(2025, 3, rng.randint(1, 28), rng.randint(0, 23), 5)  # a real date cell
        if rng.random() < 0.3 and r[4]:
            cells[4] = rng.choice([12.5, 7, 1234.25, -3])
        ws.append(cells)
    path = tmp_path / f"x{seed}.xlsx"
    wb.save(path)
    m = _orders_mapping(fmt, "auto", "," if seed % 2 else ".")
    for store in (DE, NY):
        assert_same(reader_from_mapping(m), path, store)


TABLE_MAPPINGS = [
    {"name": "rand_fees", "table": "fees", "detect": {"required_columns": ["Order No", "Fee"]},
     "columns": {"date": "Date", "order_id": "Order No", "amount": "Fee", "fee_type": {"column": "Status", "map": {
         "Done": "referral", "Sent": "payment", "Open": "other"}}}},
    {"name": "rand_wide_fees", "table": "fees", "detect": {"required_columns": ["Order No", "Fee"]}, "amount_sign": "negate",
     "columns": {"date": "Date", "order_id": "Order No"},
     "fees": [{"column": "Fee", "fee_type": "referral"}, {"column": "Discount", "fee_type": "promotion"}],
     "reconcile": {"columns": {"Price": -1}}},
    {"name": "rand_ads", "table": "ads", "detect": {"required_columns": ["Order No", "Fee"]},
     "columns": {"date": "Date", "campaign": "Item", "spend": "Fee", "clicks": "Qty", "impressions": "Qty",
                 "ad_sales": "Price"}},
    {"name": "rand_traffic", "table": "traffic", "detect": {"required_columns": ["Order No", "Fee"]},
     "columns": {"date": "Date", "sessions": "Qty", "ordered_sales": "Price"}},
]


@pytest.mark.parametrize("seed", range(16))
def test_random_table_files_read_the_same(tmp_path: Path, seed: int) -> None:
    rng = random.Random(200 + seed)
    sep, dec, thousands, enc, preamble, quoted = CASES[seed % len(CASES)]
    fmt = FORMATS[(seed // 2) % len(FORMATS)]
    rows = _rows(rng, 200, fmt, "," if dec == "," else ".", thousands)
    if enc == "cp1252":
        rows = [[c.replace("商品", "Ware") for c in r] for r in rows]
    path = tmp_path / f"t{seed}.csv"
    _write(path, rows, sep, enc, preamble, quoted)
    m = dict(TABLE_MAPPINGS[seed % len(TABLE_MAPPINGS)], delimiter=sep, decimal=dec, date_format=fmt,
             header_row=preamble + 1, thousands=thousands)
    for store in (DE, NY):
        assert_same(reader_from_mapping(m), path, store)


def test_random_files_reach_the_checks(tmp_path: Path) -> None:
    """The random files quarantine for every reason the orders conversion has (so the comparisons above
    compare the reasons, rows and columns of each check, not only loaded rows)."""
    reasons = set()
    for seed in range(0, 28, 4):
        rng = random.Random(seed)
        sep, dec, thousands, _enc, _preamble, quoted = CASES[seed % len(CASES)]
        fmt = FORMATS[seed % len(FORMATS)]
        path = tmp_path / f"r{seed}.csv"
        _write(path, _rows(rng, 300, fmt, "," if dec == "," else ".", thousands), sep, "utf-8", 0, quoted)
        res = read(reader_from_mapping(_orders_mapping(fmt, sep, dec, thousands=thousands)), path, DE, True)
        assert not isinstance(res, str)
        reasons |= {q.reason.split(":")[0].split(" '")[0] for q in res.quarantine}
    assert {"totals row", "order id is empty", "cannot parse Date", "cannot parse Qty", "Qty",
            "cannot parse Price", "unknown order status"} <= reasons


# ----------------------------------------------------------------------------- the date helpers

DATE_CASES = [(fmt, tz) for fmt in FORMATS for tz in ("Asia/Kuala_Lumpur", "America/Los_Angeles", "Europe/Berlin", None)]


@pytest.mark.parametrize(("fmt", "tz"), DATE_CASES)
def test_date_helpers_equal_parse_datetime(fmt: str | None, tz: str | None) -> None:
    rng = random.Random(hash((fmt, tz)) % 1000)
    texts = [_date(rng, fmt) for _ in range(300)] + BAD_DATES + ["", "2026-03-29 02:30:00 +0000", "2026-11-01 01:30:00 -0400"]
    if fmt is None:  # DST edges around the zone changes
        texts += [f"2026-03-{d:02d} {h:02d}:30:00 +0{o}00" for d in (8, 28, 29) for h in range(24) for o in (0, 1, 5)]
    s = pd.Series(texts, dtype="object")
    formats = [fmt, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"] if fmt else None
    want_v, want_b = parse_datetime(s, formats=formats, tz=tz)
    with fast(True):
        got_v, got_b = mapping._dates(s, formats, tz, False)
    pd.testing.assert_series_equal(got_v, want_v, check_names=False)
    pd.testing.assert_series_equal(got_b, want_b, check_names=False)
    u = np.asarray(pd.unique(s[:300]), dtype=object)  # the well-formed texts: every one read from its bytes
    fast_ = arrowcols.fixed_datetimes(u, fmt) if fmt else arrowcols.offset_datetimes(u, tz)
    assert fast_ is not None and fast_[1].all()


@pytest.mark.parametrize("fmt", ["%b %d, %Y", "%Y%m%d", "%d %B %Y", "%H:%M:%S-%Y %m %d", "%Y-%m-%d %H:%M:%S %z"])
def test_other_formats_are_left_to_parse_datetime(fmt: str) -> None:
    if fmt != "%Y%m%d":  # (a fixed layout: read from the bytes, compared below)
        assert arrowcols.fixed_datetimes(np.array(["2025-01-01"], dtype=object), fmt) is None
    s = pd.Series([pd.Timestamp("2025-01-01") + pd.Timedelta(hours=7 * i) for i in range(100)]).dt.strftime(fmt)
    s = s.astype(object)
    formats = [fmt, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]
    want = parse_datetime(s, formats=formats, tz="Europe/Berlin")
    with fast(True):
        got = mapping._dates(s, formats, "Europe/Berlin", False)
    pd.testing.assert_series_equal(got[0], want[0], check_names=False)
    pd.testing.assert_series_equal(got[1], want[1], check_names=False)


@pytest.mark.parametrize("decimal", [".", ",", "auto"])
@pytest.mark.parametrize("thousands", [None, ".", ",", "'", " "])
def test_numbers_equal_per_cell(decimal: str, thousands: str | None) -> None:
    rng = random.Random(7)
    cells = [_number(rng, "," if decimal == "," else ".", thousands) for _ in range(400)] + [None, np.nan]
    s = pd.Series(cells, dtype="object")
    m = mapping.Mapping.model_validate(_orders_mapping(None, ",", decimal, thousands=thousands))
    with fast(False):
        want = mapping._num(s, m)
    with fast(True):
        got = mapping._num(s, m)
    pd.testing.assert_series_equal(got[0], want[0])
    pd.testing.assert_series_equal(got[1], want[1], check_names=False)


def test_stripped_text_of_a_many_chunk_arrow_column() -> None:
    """A column of several Arrow chunks (pyarrow reads a large file in blocks) with different texts per
    chunk and missing cells: the same as the pandas path."""
    import pyarrow as pa

    chunks = [pa.array([" a", "b ", None, "c"] * 20, pa.large_string()), pa.array(["c", " d ", "a", ""] * 20, pa.large_string()),
              pa.array(["\u00a0e\u2003", None, "b "] * 30, pa.large_string())]
    s = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)), index=pd.RangeIndex(5, 255))
    with fast(False):
        want = mapping._stripped_text(s)
    with fast(True):
        got = mapping._stripped_text(s)
    pd.testing.assert_series_equal(got, want)
    codes, uniq = arrowcols.distinct(pa.chunked_array(chunks))
    assert [uniq[c] if c >= 0 else None for c in codes] == pa.chunked_array(chunks).to_pylist()
