"""Reconciliation that can disagree: a file whose rows do not add up to its own totals, or a parse
that goes wrong, is reported with the exact difference (expected − loaded, as the manifest shows it).

Expected money comes from the file's own totals (settlement total-amount, a business report's Total
row, a TikTok Total row) or from ``kpi_lib.ingest.independent`` (csv module / openpyxl + Decimal),
never from the rows the reader parsed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from kpi_lib.ingest import arrowcols, independent, parse
from kpi_lib.ingest.base import ReadResult, Store
from kpi_lib.ingest.readers import amazon
from kpi_lib.ingest.registry import readers

FIX = Path(__file__).resolve().parent / "fixtures" / "exports"
US = Store("AMZ-US-01", "amazon", "US", "USD", "America/Los_Angeles")
DE = Store("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin")
TT = Store("TTS-US-01", "tiktok", "US", "USD", "America/Los_Angeles")


def reader(name: str):
    return next(r for r in readers() if r.name == name)


def difference(res: ReadResult) -> float:
    """expected − loaded, as the ingest manifest reports it (kpi_lib.ingest.pipeline)."""
    loaded = sum(sign * float(res.tables[t][c].fillna(0).sum()) for t, c, sign in res.money_columns if t in res.tables)
    assert res.expected_money is not None
    return round(float(res.expected_money) - loaded, 2)


# ---------------------------------------------------------------------------------- the file's totals


def test_settlement_total_amount_off_by_1_23(tmp_path: Path) -> None:
    lines = (FIX / "amazon" / "settlement_v1_de.txt").read_text(encoding="utf-8").split("\n")
    assert "\t3,75\t" in lines[1]
    assert difference(reader("amazon_settlement_v1").read(FIX / "amazon" / "settlement_v1_de.txt", DE)) == 0.0
    lines[1] = lines[1].replace("\t3,75\t", "\t4,98\t")  # the file claims 1.23 more than its lines
    p = tmp_path / "settlement.txt"
    p.write_text("\n".join(lines), encoding="utf-8")
    res = reader("amazon_settlement_v1").read(p, DE)
    assert res.expected_money == pytest.approx(4.98)
    assert difference(res) == 1.23


BR_HEADER = "\ufeffDate,Ordered Product Sales,Units Ordered,Total Order Items,Page Views - Total,Sessions - Total\n"


def _business(tmp_path: Path, total: str | None) -> Path:
    rows = [f'0{d}/03/2025,"$1,000.00",10,9,200,100' for d in range(1, 6)]
    p = tmp_path / "br.csv"
    p.write_text(BR_HEADER + "\n".join(rows) + (f'\nTotal,"{total}",50,45,1000,500' if total else ""), encoding="utf-8")
    return p


def test_business_report_total_row_disagrees(tmp_path: Path) -> None:
    r = reader("amazon_business_report")
    assert difference(r.read(_business(tmp_path, "$5,000.00"), US)) == 0.0
    res = r.read(_business(tmp_path, "$5,001.23"), US)  # five days of 1,000.00 but the total says 5,001.23
    assert res.expected_money == pytest.approx(5001.23)
    assert difference(res) == 1.23
    assert [q.reason for q in res.quarantine] == ["totals row"]


def test_tiktok_total_row_disagrees(tmp_path: Path) -> None:
    src = (FIX / "tiktok" / "orders.csv").read_text(encoding="utf-8-sig")
    assert "\nTotal,,,,5,47.50," in src
    r = reader("tiktok_orders")
    base = r.read(FIX / "tiktok" / "orders.csv", TT)
    p = tmp_path / "tt.csv"
    p.write_text(src.replace("\nTotal,,,,5,47.50,", "\nTotal,,,,5,46.27,"), encoding="utf-8")
    res = r.read(p, TT)
    # the lines did not change; the file's own total is 1.23 lower: reported as −1.23 against the base
    assert difference(res) == round(difference(base) - 1.23, 2)


# ---------------------------------------------------------------------- a parse that goes wrong


def _misparse(monkeypatch: pytest.MonkeyPatch, column: str, delta: float) -> None:
    """Simulate a reader bug: the pandas parse adds ``delta`` to the first cell of ``column``."""
    real = parse.col_number

    def wrong(s: pd.Series, decimal: str = "."):
        v, bad = real(s, decimal)
        if getattr(s, "name", None) == column and len(v):
            v = v.copy()
            v.iloc[0] += delta
        return v, bad

    # every module of the Amazon readers that parses numbers, and col_int's own use of it
    for mod in (parse, amazon.settlement, amazon.orders, amazon.business, amazon.inventory):
        if hasattr(mod, "col_number"):
            monkeypatch.setattr(mod, "col_number", wrong)


def test_amazon_orders_misparse_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    f = FIX / "amazon" / "all_orders_report.txt"
    assert difference(reader("amazon_orders").read(f, US)) == 0.0
    monkeypatch.setattr(amazon.common, "FAST", False)  # the pandas path
    _misparse(monkeypatch, "item-price", 1.23)
    assert difference(reader("amazon_orders").read(f, US)) == -1.23


def test_amazon_orders_arrow_misparse_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same on the readers' Arrow path: its number parse adds 1.23 to the first cell of every money
    column (one whose first cell has a decimal point; the quantities have none)."""
    f = FIX / "amazon" / "all_orders_report.txt"
    real = arrowcols.numbers

    def wrong(arr, decimal: str = "."):
        v, bad = real(arr, decimal)
        if len(v) and "." in str(arr[0]):
            v = v.copy()
            v[0] += 1.23
        return v, bad

    monkeypatch.setattr(arrowcols, "numbers", wrong)
    assert difference(reader("amazon_orders").read(f, US)) == -1.23


def test_business_report_without_total_misparse_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _business(tmp_path, None)
    assert reader("amazon_business_report").read(p, US).expected_money == pytest.approx(5000.0)
    _misparse(monkeypatch, "Ordered Product Sales", 1.23)
    assert difference(reader("amazon_business_report").read(p, US)) == -1.23


# ------------------------------------------------------------------------------ the second parse


@pytest.mark.parametrize("cell,value", [
    ("1,234.56", Decimal("1234.56")), ("$1,000.00", Decimal("1000.00")), ("AED 4,426.00", Decimal("4426.00")),
    ("(12.50)", Decimal("-12.50")), ("-6.00", Decimal("-6.00")), ("", None), ("RM 12.30", Decimal("12.30")),
])
def test_independent_money(cell: str, value: Decimal | None) -> None:
    assert independent.money(cell) == value


def test_independent_money_comma_decimal_and_garbage() -> None:
    assert independent.money("1.234,56", decimal=",") == Decimal("1234.56")
    with pytest.raises(ValueError, match="not a number"):
        independent.money("12 apples")


def test_independent_column_total_counts_unreadable(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("sku\titem-price\nA\t10.00\n\nB\tabc\nC\t2.50\n", encoding="utf-8")
    col = independent.column_total(p, "Item-Price", sep="\t", quoted=False)
    assert col.total == Decimal("12.50") and col.rows == 3 and col.unreadable == [(4, "abc")]
    q = tmp_path / "q.csv"
    q.write_text('a,b\n1,"x\ny"\n2,"3"\n', encoding="utf-8")
    assert [line for line, _ in independent.rows(q)] == [2, 4]


SHOPEE_HEADER = ("Order ID,Order Status,Return / Refund Status,Order Creation Date,SKU Reference No.,"
                 "Parent SKU Reference No.,Deal Price,Quantity,Returned quantity,Product Subtotal,Seller Discount,"
                 "Buyer Paid Shipping Fee,Ship Time,Estimated Ship Out Date,Commission Fee,Transaction Fee,Service Fee,"
                 "Seller Voucher")
SHOPEE_ROWS = [
    # two lines of one order: order-level fees repeated on both lines, taken once (3.00 + 1.00 + 0.50)
    "A1,Completed,,2026-01-05 10:00,S-1,,10.00,2,0,20.00,0,0,2026-01-06 10:00,2026-01-07 10:00,3.00,1.00,0.50,0",
    "A1,Completed,,2026-01-05 10:00,S-2,,5.00,1,0,5.00,0,0,2026-01-06 10:00,2026-01-07 10:00,3.00,1.00,0.50,0",
    # one unit of two returned: refund 7.00
    ("B2,Completed,Request Approved,2026-01-06 11:00,S-1,,7.00,2,1,14.00,0,0,2026-01-07 10:00,2026-01-08 10:00,"
    "1.40,0.30,0,2.00"),
    # cancelled: its fees are estimates never charged
    "C3,Cancelled,,2026-01-07 12:00,S-3,,9.00,1,0,9.00,0,0,,2026-01-09 10:00,0.90,0.20,0,0",
]
SHOPEE = Store("SHP-MY-01", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur")


def test_shopee_expected_by_hand_and_misparse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kpi_lib.ingest.readers import mapping

    p = tmp_path / "shopee.csv"
    p.write_text(SHOPEE_HEADER + "\n" + "\n".join(SHOPEE_ROWS) + "\n", encoding="utf-8")
    res = reader("shopee_orders").read(p, SHOPEE)
    # lines 20 + 5 + 14 + 9 = 48; fees A1 4.50, B2 1.40 + 0.30 + 2.00 = 3.70; refund 7.00 → 63.20
    assert res.expected_money == pytest.approx(63.20)
    assert difference(res) == 0.0
    real = mapping._num

    def wrong(s: pd.Series, m, decimal=None):  # a parse that bends the first Product Subtotal by 1.23
        v, bad = real(s, m, decimal)
        if len(v) and str(getattr(s, "name", "")).lower().replace(" ", "") == "productsubtotal":
            v = v.copy()
            v.iloc[0] += 1.23
        return v, bad

    monkeypatch.setattr(mapping, "_num", wrong)
    assert difference(reader("shopee_orders").read(p, SHOPEE)) == -1.23
