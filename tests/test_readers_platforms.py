"""Shopee, Shopify, TikTok Shop and the generic mapping reader (Chinese ERP export in GB18030)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kpi_lib.errors import ConfigError, IngestError
from kpi_lib.ingest.base import Store, file_head, readers
from kpi_lib.ingest.pipeline import detect
from kpi_lib.ingest.readers.mapping import load_mapping, preview, reader_from_mapping

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


needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="shared/real-exports not present")


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
    ref = res.tables["refunds"]
    assert ref["order_id"].tolist() == ["576000000000000002"] and ref["amount"].tolist() == [10.70]
    assert str(o.iloc[0]["order_ts"]) == "2026-07-16 10:23:45"


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


def test_sniffing_is_exclusive() -> None:
    files = [FIX / "tiktok" / "orders.csv"]
    if REAL.is_dir():
        files += [REAL / "shopee" / "orderSalesReport.xlsx", REAL / "shopify" / "orders_export (9).csv"]
    mine = {"shopee_orders", "shopify_orders", "tiktok_orders", "erp_mabang_orders"}
    for f in files:
        head = file_head(f)
        hits = [r.name for r in readers() if r.name in mine and r.sniff(head)]
        assert len(hits) == 1, (f, hits)


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
