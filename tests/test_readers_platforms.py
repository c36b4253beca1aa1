"""Shopee, Shopify, TikTok Shop and the generic mapping reader (Chinese ERP export in GB18030)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import in_ci, needs

from kpi_lib.errors import ConfigError, IngestError
from kpi_lib.ingest.base import Store, file_head
from kpi_lib.ingest.pipeline import detect
from kpi_lib.ingest.readers.mapping import load_mapping, preview, reader_from_mapping
from kpi_lib.ingest.registry import readers

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "real-exports"
FIX = HERE / "fixtures" / "exports"
ROOT = HERE.parent


def _money(res) -> float:
    return sum(sign * float(res.tables[t][c].sum()) for t, c, sign in res.money_columns if t in res.tables)


def _accounted(res) -> set[int]:
    rows = {int(x) for df in res.tables.values() for x in df["source_row"]}
    return rows | {q.source_row for q in res.quarantine}


@pytest.fixture(autouse=True)
def _root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_ROOT", str(ROOT))


needs_real = needs(REAL.is_dir(), "shared/real-exports not present")


@needs_real
def test_real_shopee_order_report() -> None:
    f = REAL / "shopee" / "orderSalesReport.xlsx"
    store = Store("SHP", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur")
    r = detect(f, store)
    assert r.name == "shopee_orders"
    res = r.read(f, store)
    assert res.rows_read == 9 and len(_accounted(res)) == 9 and not res.quarantine
    o = res.tables["orders"]
    assert len(o) == 9 and o["gross_sales"].sum() == pytest.approx(242.0)
    # order-level fees repeated on 4 lines of order 0CEXA are taken once
    fees = res.tables["fees"]
    comm = fees[(fees["order_id"] == "0CEXA") & (fees["fee_type"] == "referral")]
    assert comm["amount"].tolist() == [pytest.approx(4.965)]
    assert res.expected_money == pytest.approx(_money(res))
    # the cancelled order has no creation date: dated by its estimated ship-out date
    assert (o.loc[o["order_id"] == "32DKM", "status"] == "cancelled").all()
    assert str(o.loc[o["order_id"] == "32DKM", "order_date"].iloc[0])[:10] == "2024-12-10"


@needs_real
def test_real_shopee_exact_values() -> None:
    f = REAL / "shopee" / "orderSalesReport.xlsx"
    store = Store("SHP", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur")
    res = detect(f, store).read(f, store)
    o = res.tables["orders"].set_index("source_row")
    assert list(o.index) == list(range(2, 11))  # sheet rows 2..10
    assert o["status"].tolist() == ["shipped"] * 4 + ["delivered"] * 3 + ["cancelled", "returned"]
    # gross = Product Subtotal = Deal Price x qty (Spoon: 6.00 x 2)
    assert o.loc[4, ["sku", "quantity", "gross_sales"]].tolist() == ["125", 2, 12.0]
    assert o.loc[10, "discounts"] == 8.0 and o.loc[10, "shipping_charged"] == 11.0
    assert o["shipping_charged"].sum() == pytest.approx(6.3 + 9 + 0 + 11)  # once per order
    assert str(o.loc[2, "order_ts"]) == "2024-12-09 00:12:00"
    fees = res.tables["fees"]
    # 3 charged orders x 3 fees + the seller voucher of Q750V; the cancelled order's estimates are not charged
    assert len(fees) == 10 and "32DKM" not in set(fees["order_id"])
    by = fees.groupby("fee_type")["amount"].sum()
    assert by["referral"] == pytest.approx(4.965 + 4.5 + 1.65)
    assert by["payment"] == pytest.approx(2.979 + 2.7 + 0.99)
    assert by["other"] == pytest.approx(2.4825 + 2.25 + 0.825)
    assert by["promotion"] == pytest.approx(3.0)
    assert set(fees.loc[fees["order_id"] == "Q750V", "source_row"]) == {6}  # the order's first line
    ref = res.tables["refunds"]
    assert ref[["order_id", "sku", "quantity", "amount"]].values.tolist() == [["EWWXR", "126", 1, 33.0]]
    assert res.expected_money == pytest.approx(242.0 + by.sum() + 33.0)


@needs_real
def test_real_shopee_as_csv_gives_the_same_rows(tmp_path: Path) -> None:
    """Seller Centre also exports the report as CSV with the same header."""
    src = REAL / "shopee" / "orderSalesReport.xlsx"
    df = pd.read_excel(src, dtype=str).fillna("")
    p = tmp_path / "report.csv"
    df.to_csv(p, index=False)
    store = Store("SHP", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur")
    r = detect(p, store)
    assert r.name == "shopee_orders"
    a, b = r.read(src, store), r.read(p, store)
    assert b.rows_read == 9 and not b.quarantine
    cols = ["order_id", "sku", "status", "quantity", "gross_sales", "discounts", "shipping_charged", "source_row"]
    pd.testing.assert_frame_equal(a.tables["orders"][cols].reset_index(drop=True), b.tables["orders"][cols].reset_index(drop=True))
    assert a.expected_money == pytest.approx(b.expected_money)


@needs_real
def test_real_shopify_export() -> None:
    f = REAL / "shopify" / "orders_export (9).csv"
    store = Store("SFY", "shopify", "BD", "BDT", "Asia/Dhaka")
    r = detect(f, store)
    assert r.name == "shopify_orders"
    res = r.read(f, store)
    assert res.rows_read == 55 and len(_accounted(res)) == 55 and not res.quarantine
    o = res.tables["orders"]
    first = o.iloc[0]
    assert first["order_id"] == "2518787" and first["gross_sales"] == 1500.0 and first["shipping_charged"] == 50.0
    # +0500 converted to Asia/Dhaka (+0600)
    assert str(first["order_ts"]) == "2026-04-04 15:49:57"
    assert res.expected_money == pytest.approx(_money(res))
    # physical line numbers: the first order's note spans lines 2..12, the next order starts on line 13
    assert o["source_row"].tolist()[:2] == [2, 13]
    assert o["order_id"].nunique() == 50 and o["currency"].eq("BDT").all()
    assert o["status"].value_counts().to_dict() == {"pending": 35, "shipped": 20}
    # order totals are on the first line only: a 3-line order carries its discount and shipping once
    o3 = o[o["order_id"] == "2518811"]
    assert o3["line_id"].tolist() == ["1", "2", "3"] and o3["gross_sales"].tolist() == [1350.0, 1350.0, 1400.0]
    assert o3["discounts"].tolist() == [1024.92, 0.0, 0.0] and o3["shipping_charged"].tolist() == [50.0, 0.0, 0.0]
    # price x quantity (order 2518829: 2 x 2300.01); cross-check with the file's own order totals:
    # sum of line gross = sum over orders of Subtotal + Discount Amount
    assert o.loc[o["order_id"] == "2518829", "gross_sales"].tolist() == [4600.02]
    raw = pd.read_csv(f, dtype=str)
    stated = pd.to_numeric(raw["Subtotal"]).sum() + pd.to_numeric(raw["Discount Amount"]).sum()
    assert o["gross_sales"].sum() == pytest.approx(stated) == pytest.approx(92430.04)
    assert o["shipping_charged"].sum() == pytest.approx(pd.to_numeric(raw["Shipping"]).sum())
    assert o["discounts"].sum() == pytest.approx(pd.to_numeric(raw["Discount Amount"]).sum())
    assert "refunds" not in res.tables and "fees" not in res.tables  # nothing refunded; the export has no fees


def test_tiktok_description_row_totals_row_and_order_level_amounts() -> None:
    f = FIX / "tiktok" / "orders.csv"
    store = Store("TTS", "tiktok", "US", "USD", "America/Los_Angeles")
    r = detect(f, store)
    assert r.name == "tiktok_orders"
    res = r.read(f, store)
    assert res.rows_read == 5  # the description line is not a data row
    reasons = {q.source_row: q.reason for q in res.quarantine}
    assert reasons[7] == "totals row" and "Created Time" in reasons[6]
    o = res.tables["orders"].sort_values("source_row")
    assert list(o["source_row"]) == [3, 4, 5]
    assert list(o["status"]) == ["delivered", "delivered", "cancelled"]
    assert list(o["shipping_charged"]) == [5.99, 0.0, 0.0]  # once per order
    assert list(o["tax"]) == [1.40, 0.0, 0.0]
    assert list(o["discounts"]) == [1.0, 0.0, 0.0]
    # the cancelled order's money back is a cancellation (it never was GMV), not a refund: none loaded or expected
    assert "refunds" not in res.tables
    assert res.expected_money == pytest.approx(20 + 10 + 10 + 7.5)
    assert str(o.iloc[0]["order_ts"]) == "2026-07-16 10:23:45"


def test_tiktok_full_header_exact_rows() -> None:
    """The real 53-column layout: BOM, description line, tab-suffixed ids, quoted names, CRLF, totals row."""
    f = FIX / "tiktok" / "orders_full_header.csv"
    store = Store("TTS", "tiktok", "US", "USD", "America/Los_Angeles")
    r = detect(f, store)
    assert r.name == "tiktok_orders"
    res = r.read(f, store)
    assert res.rows_read == 6
    q = sorted(res.quarantine, key=lambda x: x.source_row)
    assert [(x.source_row, x.column) for x in q] == [(7, "Quantity"), (8, "Order ID")]
    assert q[0].reason == "cannot parse Quantity: 'two' (expected a whole number)"
    assert q[0].raw["Quantity"] == "two" and q[0].raw["Seller SKU"] == "HK-1003"  # the file's own headers
    assert q[1].reason == "totals row"
    cols = ["order_id", "line_id", "sku", "order_date", "order_ts", "status", "quantity", "currency", "gross_sales",
            "discounts", "tax", "shipping_charged", "fulfillment_channel", "ship_date", "source_row"]
    got = res.tables["orders"][cols].astype(object).where(res.tables["orders"][cols].notna(), None).values.tolist()
    ts = pd.Timestamp
    assert got == [
        ["576100000000000001", "1729000000000000001", "HK-1001", ts("2026-07-16"), ts("2026-07-16 22:23:45"), "delivered", 2,
         "USD", 24.0, 2.0, 2.10, 5.99, "merchant", ts("2026-07-17"), 3],
        ["576100000000000001", "1729000000000000002", "HK-1002", ts("2026-07-16"), ts("2026-07-16 22:23:45"), "delivered", 1,
         "USD", 8.0, 0.0, 0.0, 0.0, "merchant", ts("2026-07-17"), 4],
        ["576100000000000002", "1729000000000000001", "HK-1001", ts("2026-07-18"), ts("2026-07-18 08:00:00"), "returned", 1,
         "USD", 15.0, 0.0, 1.05, 0.0, "platform", None, 5],
        ["576100000000000003", "1729000000000000003", "HK-1003", ts("2026-07-19"), ts("2026-07-19 23:59:59"), "cancelled", 3,
         "USD", 10.5, 0.0, 0.0, 0.0, "merchant", None, 6],
    ]
    ref = res.tables["refunds"]
    assert ref[["order_id", "amount", "reason", "source_row"]].values.tolist() == [["576100000000000002", 16.05, "Return/Refund", 5]]
    assert "fees" not in res.tables
    # expected = gross of every non-total row (the quarantined one's 7.00 included) + the refund once
    assert res.expected_money == pytest.approx(24 + 8 + 15 + 10.5 + 7 + 16.05)
    assert res.expected_money - _money(res) == pytest.approx(7.0)
    assert len(_accounted(res)) == res.rows_read


def test_tiktok_without_description_line_loses_no_row(tmp_path: Path) -> None:
    lines = (FIX / "tiktok" / "orders_full_header.csv").read_text(encoding="utf-8-sig").splitlines()
    p = tmp_path / "t.csv"
    p.write_text("\n".join([lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    store = Store("TTS", "tiktok", "US", "USD", "America/Los_Angeles")
    res = detect(p, store).read(p, store)
    assert res.rows_read == 6 and sorted(res.tables["orders"]["source_row"]) == [2, 3, 4, 5]


SHOPIFY_HEADER = ("Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,"
                  "Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,"
                  "Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,"
                  "Lineitem taxable,Lineitem fulfillment status,Cancelled at,Refunded Amount")


def test_shopify_statuses_refunds_and_currency(tmp_path: Path) -> None:
    rows = [
        # refunded order of 2 lines: totals on the first line only
        ("#1001,a@x,refunded,2026-03-01 10:00:05 -0500,fulfilled,2026-03-02 09:00:00 -0500,no,USD,30.00,5.95,2.40,38.35,,0.00,"
         "Standard,2026-03-01 10:00:00 -0500,1,Cup,10.00,,HK-1001,true,true,fulfilled,,38.35"),
        "#1001,,,,,,,,,,,,,,,2026-03-01 10:00:00 -0500,2,Lid,10.00,,HK-1002,true,true,fulfilled,,",
        # cancelled (Cancelled at) and voided
        ("#1002,b@x,refunded,,unfulfilled,,no,USD,20.00,0.00,0.00,20.00,,0.00,Standard,2026-03-01 23:30:00 -0500,"
         "1,Cup,20.00,,HK-1001,true,true,pending,2026-03-02 08:00:00 -0500,20.00"),
        ("#1003,c@x,voided,,unfulfilled,,no,USD,7.00,0.00,0.00,7.00,,0.00,Standard,2026-03-03 10:00:00 -0500,"
         "1,Straw,7.00,,,true,true,pending,,0.00"),
        # partially refunded, no sku: the line name is the sku
        ("#1004,d@x,partially_refunded,2026-03-04 10:00:00 -0500,fulfilled,,no,USD,50.00,0.00,4.00,49.00,SAVE5,5.00,"
         "Standard,2026-03-04 10:00:00 -0500,5,Straw,10.00,,,true,true,fulfilled,,12.00"),
    ]
    p = tmp_path / "orders_export.csv"
    p.write_text("\n".join([SHOPIFY_HEADER, *rows]) + "\n", encoding="utf-8")
    store = Store("SFY", "shopify", "US", "USD", "America/New_York")
    r = detect(p, store)
    assert r.name == "shopify_orders"
    res = r.read(p, store)
    o = res.tables["orders"]
    assert o["status"].tolist() == ["returned", "returned", "cancelled", "cancelled", "shipped"]
    assert o["sku"].tolist() == ["HK-1001", "HK-1002", "HK-1001", "Straw", "Straw"]
    assert o["gross_sales"].tolist() == [10.0, 20.0, 20.0, 7.0, 50.0]
    assert o["tax"].tolist() == [2.4, 0.0, 0.0, 0.0, 4.0] and o["discounts"].tolist() == [0.0, 0.0, 0.0, 0.0, 5.0]
    ref = res.tables["refunds"].sort_values("source_row")
    # the cancelled order #1002 got its 20.00 back: a cancellation, not a refund
    assert ref[["order_id", "amount", "source_row"]].values.tolist() == [["#1001", 38.35, 2], ["#1004", 12.0, 6]]
    # refund dated by Paid at (store time)
    assert [str(d)[:10] for d in ref["date"]] == ["2026-03-01", "2026-03-04"]
    assert res.expected_money == pytest.approx(_money(res)) == pytest.approx(107.0 + 38.35 + 12)
    # a currency contradicting the store
    p.write_text(p.read_text().replace(",USD,", ",EUR,", 1), encoding="utf-8")
    with pytest.raises(IngestError, match=r"orders_export\.csv.*Currency.*EUR.*USD"):
        r.read(p, store)


ERP_HEADER = "订单编号,平台订单号,店铺名称,平台,站点,付款时间,订单状态,商品SKU,商品名称,数量,单价,商品总额,优惠金额,运费,平台佣金,交易手续费,退款金额,币种,发货时间,物流方式"


def _erp(tmp: Path, rows: list[str]) -> Path:
    p = tmp / "erp.csv"
    p.write_bytes(("\n".join([ERP_HEADER, *rows]) + "\n").encode("gb18030"))
    return p


def test_erp_mapping_reads_gb18030(tmp_path: Path) -> None:
    p = _erp(tmp_path, [
        "XS1,9001,泰国店,Lazada,TH,2026/01/15 10:23:45,已发货,HK-1001,保温杯,2,100.00,200.00,10.00,39.00,10.00,4.00,0.00,THB,2026/01/16 09:00:00,LEX TH",
        "XS1,9001,泰国店,Lazada,TH,2026/01/15 10:23:45,已发货,HK-1002,杯盖,1,50.00,50.00,0.00,0.00,2.50,1.00,0.00,THB,,LEX TH",
        "XS2,9002,泰国店,Lazada,TH,2026/02/30 10:00:00,已退款,HK-1002,杯盖,1,50.00,50.00,0.00,0.00,2.50,1.00,50.00,THB,,LEX TH",
        "合计,,,,,,,,,4,,300.00,10.00,39.00,15.00,6.00,50.00,,,",
    ])
    store = Store("LZD", "lazada", "TH", "THB", "Asia/Bangkok")
    r = detect(p, store)
    assert r.name == "erp_mabang_orders"
    res = r.read(p, store)
    assert res.rows_read == 4
    reasons = {q.source_row: q.reason for q in res.quarantine}
    assert reasons[5] == "totals row" and "付款时间" in reasons[4]
    o = res.tables["orders"]
    assert o["gross_sales"].tolist() == [200.0, 50.0] and o["status"].tolist() == ["shipped", "shipped"]
    f = res.tables["fees"].sort_values(["source_row", "fee_type"])
    assert f[["fee_type", "amount"]].values.tolist() == [["payment", 4.0], ["referral", 10.0], ["payment", 1.0], ["referral", 2.5]]
    # the quarantined row's money is what the reconciliation shows as missing
    assert res.expected_money - _money(res) == pytest.approx(50 + 2.5 + 1 + 50)


def test_erp_currency_contradicting_store(tmp_path: Path) -> None:
    p = _erp(tmp_path, ["XS1,9001,店,Lazada,TH,2026/01/15 10:23:45,已发货,HK-1001,杯,1,1.00,1.00,0,0,0,0,0,USD,,"])
    with pytest.raises(IngestError, match="USD.*THB"):
        detect(p, Store("LZD", "lazada", "TH", "THB", "Asia/Bangkok")).read(p, Store("LZD", "lazada", "TH", "THB", "Asia/Bangkok"))


def test_sniffing_is_exclusive(tmp_path: Path) -> None:
    """Each export is recognised by its own reader and by no other registered reader (Amazon's included)."""
    files = {
        FIX / "tiktok" / "orders.csv": "tiktok_orders",
        FIX / "tiktok" / "orders_full_header.csv": "tiktok_orders",
        _erp(tmp_path, ["XS1,9001,店,Lazada,TH,2026/01/15 10:23:45,已发货,HK-1001,杯,1,1.00,1.00,0,0,0,0,0,THB,,"]): "erp_mabang_orders",
    }
    if REAL.is_dir():
        files[REAL / "shopee" / "orderSalesReport.xlsx"] = "shopee_orders"
        files[REAL / "shopify" / "orders_export (9).csv"] = "shopify_orders"
        for f in sorted(REAL.rglob("*")):  # the other platforms' files: none of these readers takes them
            if f.is_file() and f.parent.name not in ("shopee", "shopify") and f.suffix != ".md":
                files[f] = None
    else:
        assert not in_ci(), "../shared/real-exports missing in CI"
    mine = {"shopee_orders", "shopify_orders", "tiktok_orders", "erp_mabang_orders"}
    for f, want in files.items():
        head = file_head(f)
        hits = [r.name for r in readers() if r.sniff(head) and (want is not None or r.name in mine)]
        assert hits == ([want] if want else []), (f, hits)


def test_mapping_unknown_key_names_its_path(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    text = (ROOT / "parameters" / "mappings" / "erp_mabang_orders.yaml").read_text(encoding="utf-8")
    p.write_text(text.replace("decimal:", "decimals:"), encoding="utf-8")
    with pytest.raises(ConfigError, match="decimals"):
        load_mapping(p)
    p.write_text(text.replace("  quantity: 数量\n", "  quantity: 数量\n  colour: 颜色\n"), encoding="utf-8")
    with pytest.raises(ConfigError, match="colour"):
        load_mapping(p)


def test_mapping_missing_required_column_is_clear(tmp_path: Path) -> None:
    p = tmp_path / "erp.csv"
    p.write_bytes("订单编号,平台订单号,商品SKU,付款时间,商品总额\nXS1,9001,A,2026/01/15 10:23:45,1\n".encode("gb18030"))
    reader = reader_from_mapping(ROOT / "parameters" / "mappings" / "erp_mabang_orders.yaml")
    with pytest.raises(IngestError, match="数量"):
        reader.read(p, Store("LZD", "lazada", "TH", "THB", "Asia/Bangkok"))


def test_preview_shows_rows_and_issues(tmp_path: Path) -> None:
    p = _erp(tmp_path, [
        "XS1,9001,店,Lazada,TH,2026/01/15 10:23:45,已发货,HK-1001,杯,2,100.00,200.00,0,0,0,0,0,THB,,",
        "XS2,9002,店,Lazada,TH,not a date,已发货,HK-1001,杯,2,100.00,200.00,0,0,0,0,0,THB,,",
    ])
    m = load_mapping(ROOT / "parameters" / "mappings" / "erp_mabang_orders.yaml").model_dump()
    rows, issues = preview(p, m)
    assert len(rows) == 1 and rows.iloc[0]["order_id"] == "9001"
    assert len(issues) == 1 and "row 3" in issues[0] and "付款时间" in issues[0]
    m["columns"]["quantity"] = "件数"  # a column that is not in the file
    rows, issues = preview(p, m)
    assert rows.empty and issues == ["column '件数' is not in the file (mapped in the mapping)"]


def test_shopify_payments_public_sample_reconciles_to_its_own_totals() -> None:
    """A public Shopify Payments export (AED): fees 188.75 and net 2,975.92 as the file's source states."""
    from kpi_lib.ingest.pipeline import detect

    p = Path(__file__).parent / "fixtures" / "exports" / "shopify" / "payment_transactions_export_sample.csv"
    store = Store("SFY-AE", "shopify", "AE", "AED", "Asia/Dubai")
    reader = detect(p, store)
    assert reader.name == "shopify_payments"
    res = reader.read(p, store)
    fees = res.tables["fees"]
    assert res.rows_read == 6 and not res.quarantine and sorted(fees["source_row"]) == [2, 3, 4, 5, 6, 7]
    assert round(float(fees["amount"].sum()), 2) == 188.75 and round(res.expected_money, 2) == 188.75
    assert set(fees["fee_type"]) == {"payment"} and set(fees["currency"]) == {"AED"}
    # dated in the store's zone (+0400 = Asia/Dubai): the refund of 30 Aug carries no fee (a zero row)
    first = fees[fees["order_id"] == "#3426"].iloc[0]
    assert str(first["date"])[:10] == "2026-08-30" and first["amount"] == 0.0
    net = pd.read_csv(p)["Net"].sum()
    assert round(net, 2) == 2975.92  # the file's own net, as its source states
