"""Locale once per file (kpi_lib.ingest.textio) and re-saves that must load like the original.

The re-saves are generated here (tmp_path) from the real Shopify export, the way Excel writes them:
German "CSV (Trennzeichen-getrennt)" = cp1252 + semicolons + decimal commas; "Unicode text" =
UTF-16 LE with BOM, tab-separated; plain "CSV" = cp1252, commas.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import needs
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi_lib.ingest.base import Store, file_head
from kpi_lib.ingest.pipeline import detect
from kpi_lib.ingest.textio import detect_decimal, detect_delimiter, detect_encoding, sniff_text

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-exports"
SHOPIFY = REAL / "shopify" / "orders_export (9).csv"
SFY = Store("SFY-BD-01", "shopify", "BD", "BDT", "Asia/Dhaka")
needs_real = needs(SHOPIFY.is_file(), "../shared/real-exports not present")


# ------------------------------------------------------------------------------------- detection
@pytest.mark.parametrize(
    "text, enc, market, want",
    [
        ("Datum;Umsätze;Gebühren\n01.01.2024;12,50;-1,20\n", "cp1252", None, "cp1252"),
        ("订单编号,商品名称,金额\n一,玩具,12.50\n", "gb18030", None, "gb18030"),
        ("注文番号,商品名,金額\nテスト,ぬいぐるみ,1200\n", "cp932", None, "cp932"),
        ("注文番号,商品名\n東京,大阪\n", "cp932", "JP", "cp932"),  # no kana: the marketplace decides
        ("a,b\nx,y\n", "utf-16", None, "utf-16-le"),
        ("a,b\nx,y\n", "utf-16-be", None, "utf-16-be"),
        ("a,b\nx,y\n", "utf-16-le", None, "utf-16-le"),
        ("a,é\n", "utf-8-sig", None, "utf-8-sig"),
        ("a,é\n", "utf-8", None, "utf-8"),
    ],
)
def test_encoding(text: str, enc: str, market: str | None, want: str) -> None:
    raw = text.encode(enc)
    assert detect_encoding(raw, market)[0] == want
    decoded, _locale = sniff_text(raw, market)
    assert decoded.replace("\r\n", "\n") == text


def test_delimiter_and_header_after_preamble() -> None:
    text = (
        '"Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webservices transactions"\n'
        '"All amounts in USD, unless specified"\n'
        '"date/time","settlement id","type","total"\n'
        '"Jan 1, 2024 12:04:11 AM PST","1","Order","1,234.50"\n'
    )
    assert detect_delimiter(text) == (",", 2)
    _, loc = sniff_text(text.encode())
    assert (loc.delimiter, loc.header_line, loc.decimal) == (",", 2, ".")
    for sep in ("\t", ";", "|"):
        assert detect_delimiter(f"a{sep}b{sep}c\n1{sep}2{sep}3\n")[0] == sep


@pytest.mark.parametrize(
    "cells, want",
    [
        (["12,50", "1.234,56", "-0,99"], ","),
        (["12.50", "1,234.56", "(3.00)"], "."),
        (["1,234", "1.234", "7"], None),  # three digits after the mark: thousands or decimals? no evidence
        (["€ 12,50", "EUR 3,10", "9,22%"], ","),
        (["Rs.15.5138462", "$1.50"], "."),
        (["01.01.2024 00:04:11 UTC", "702-1101758-6751437", "SKU-1.5"], None),
    ],
)
def test_decimal(cells: list[str], want: str | None) -> None:
    assert detect_decimal(cells) == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.decimals(min_value=-99999, max_value=99999, places=2), min_size=1, max_size=30))
def test_decimal_property(values: list) -> None:
    """Written with a decimal comma, any list with one non-zero cent digit is comma; with a point, point."""
    point = [f"{v:.2f}" for v in values]
    comma = [p.replace(".", ",") for p in point]
    assert detect_decimal(point) in (".",)
    assert detect_decimal(comma) == ","


# ------------------------------------------------------------------------------------- re-saves
def _rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(SHOPIFY.read_text("utf-8"), newline="")))


def _write(rows: list[list[str]], sep: str, enc: str, decimal_comma: bool = False) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    for r in rows:
        if decimal_comma:
            r = [re.sub(r"^(-?\d+)\.(\d+)$", r"\1,\2", c) for c in r]
        w.writerow(r)
    return buf.getvalue().encode(enc)


def _load(path: Path) -> tuple[str, object]:
    r = detect(path, SFY)
    return r.name, r.read(path, SFY)


def _summary(res) -> dict:
    o = res.tables["orders"]
    loaded = sum(sign * res.tables[t][c].fillna(0).sum() for t, c, sign in res.money_columns if t in res.tables)
    return {
        "rows_read": res.rows_read,
        "quarantined": len(res.quarantine),
        "orders": sorted(zip(o["order_id"], o["line_id"], o["sku"], o["status"], o["quantity"].astype(int),
                             o["gross_sales"].round(2), o["discounts"].round(2), o["shipping_charged"].round(2),
                             o["tax"].round(2), o["source_row"])),
        "refunds": round(float(res.tables["refunds"]["amount"].sum()), 2) if "refunds" in res.tables else 0.0,
        "expected": round(res.expected_money, 2),
        "difference": round(res.expected_money - loaded, 2),
    }


@needs_real
@pytest.mark.parametrize(
    "variant, sep, enc, comma",
    [
        ("excel_de_semicolon_decimal_comma", ";", "cp1252", True),
        ("excel_unicode_text_utf16", "\t", "utf-16", False),
        ("excel_csv_cp1252", ",", "cp1252", False),
    ],
)
def test_shopify_resaves_load_like_the_original(tmp_path: Path, variant: str, sep: str, enc: str, comma: bool) -> None:
    rows = _rows()
    # a non-ASCII product name, so that the cp1252 / UTF-16 encodings are really exercised
    name_col = rows[0].index("Lineitem name")
    rows[1][name_col] = "Crème brûlée – 15 Days Supply"
    orig = tmp_path / "orig.csv"
    orig.write_bytes(_write(rows, ",", "utf-8"))
    resave = tmp_path / f"{variant}.csv"
    resave.write_bytes(_write(rows, sep, enc, comma))
    name0, res0 = _load(orig)
    name1, res1 = _load(resave)
    assert name0 == name1 == "shopify_orders"
    s0, s1 = _summary(res0), _summary(res1)
    assert s1 == s0
    assert s0["rows_read"] == 55 and s0["quarantined"] == 0
    assert s0["difference"] == 0.0
    # the file's own money, independently: Lineitem price × quantity over all lines
    hdr = rows[0]
    qi, pi = hdr.index("Lineitem quantity"), hdr.index("Lineitem price")
    gross = round(sum(int(r[qi]) * float(r[pi]) for r in rows[1:] if len(r) > pi and r[pi]), 2)
    assert round(float(res1.tables["orders"]["gross_sales"].sum()), 2) == gross == 92430.04
    if comma:
        assert b"1500,00" in resave.read_bytes()  # the re-save really holds decimal commas


@needs_real
def test_real_shopify_file_head_and_locale() -> None:
    _, loc = sniff_text(SHOPIFY.read_bytes())
    assert (loc.encoding, loc.delimiter, loc.decimal, loc.header_line) == ("utf-8", ",", ".", 0)
    assert file_head(SHOPIFY).lines[0].startswith("Name,Email")


_text_cell = st.one_of(
    st.text(alphabet=st.sampled_from(list("abc, .;|-")), min_size=0, max_size=12),
    st.sampled_from(["Größe", "Crème brûlée", "Plüschbär, 30 cm", "niño; niña", "Maße|Gewicht", "café"]),
)


@settings(max_examples=80, deadline=None)
# found by hypothesis: text cells made only of commas in a semicolon file read as a wider comma table
@example(rows=[(",,,", Decimal("0.00")), (",,,", Decimal("0.00"))], sep=";", comma=False, enc="utf-8", preamble=False)
@given(
    rows=st.lists(st.tuples(_text_cell, st.decimals(min_value=-99999, max_value=99999, places=2)), min_size=1, max_size=15),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    comma=st.booleans(),
    enc=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    preamble=st.booleans(),
)
def test_locale_roundtrip(rows: list, sep: str, comma: bool, enc: str, preamble: bool) -> None:
    """Any table written with any delimiter, decimal mark and encoding is read back as written."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    if preamble:
        w.writerow(["All amounts in EUR, unless specified"])
    w.writerow(["name", "amount", "note"])
    for name, amount in rows:
        cell = f"{amount:.2f}".replace(".", ",") if comma else f"{amount:.2f}"
        w.writerow([name, cell, "x"])
    text, loc = sniff_text(buf.getvalue().encode(enc))
    assert loc.delimiter == sep
    assert loc.header_line == (1 if preamble else 0)
    assert loc.decimal == ("," if comma else ".")
    recs = list(csv.reader(io.StringIO(text), delimiter=sep))[loc.header_line + 1:]
    assert [r[0] for r in recs] == [n for n, _ in rows]
