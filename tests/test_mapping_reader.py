"""The generic mapping reader: the YAML format, file formats (xlsx, UTF-16, GB18030, preamble, decimal
commas, thousands separators), exact canonical rows, registration of user mappings and the errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kpi_lib.errors import ConfigError, IngestError
from kpi_lib.ingest.base import Store, file_head, get_reader, readers
from kpi_lib.ingest.pipeline import detect
from kpi_lib.ingest.readers.mapping import load_mapping, preview, reader_from_mapping, register_user_mappings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ERP_YAML = ROOT / "parameters" / "mappings" / "erp_mabang_orders.yaml"
TH = Store("LZD", "lazada", "TH", "THB", "Asia/Bangkok")
DE = Store("OTTO", "otto", "DE", "EUR", "Europe/Berlin")

ERP_HEADER = "订单编号,平台订单号,店铺名称,平台,站点,付款时间,订单状态,商品SKU,商品名称,数量,单价,商品总额,优惠金额,运费,平台佣金,交易手续费,退款金额,币种,发货时间,物流方式"


@pytest.fixture(autouse=True)
def _root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_ROOT", str(ROOT))


def _money(res) -> float:
    return sum(sign * float(res.tables[t][c].sum()) for t, c, sign in res.money_columns if t in res.tables)


def _rows(df: pd.DataFrame, cols: list[str]) -> list[list[object]]:
    sub = df[cols].astype(object)
    return sub.where(sub.notna(), None).values.tolist()


# a small mapping for a European marketplace export: semicolons, decimal commas, a preamble
EU = {
    "name": "test_eu_orders",
    "detect": {"required_columns": ["Bestellnummer", "Artikelnummer", "Bestelldatum"]},
    "encoding": "auto",
    "delimiter": ";",
    "header_row": 3,
    "date_format": "%d.%m.%Y %H:%M",
    "decimal": ",",
    "currency": "EUR",
    "columns": {
        "order_id": "Bestellnummer",
        "sku": "Artikelnummer",
        "order_date": "Bestelldatum",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "discounts": "Rabatt",
        "shipping_charged": "Versand",
        "status": {"column": "Status", "map": {"Versendet": "shipped", "Storniert": "cancelled", "Offen": "pending"}},
    },
    "order_level": ["shipping_charged"],
    "fees": [{"column": "Provision", "fee_type": "referral"}],
    "totals_row": {"column": "Bestellnummer", "values": ["Summe"]},
}

EU_TEXT = (
    "Bestellexport Shop XY\n"
    "Zeitraum: 01.03.2026 - 31.03.2026\n"
    "Bestellnummer;Artikelnummer;Bestelldatum;Menge;Einzelpreis;Rabatt;Versand;Provision;Status\n"
    "A-1;HK-1001;05.03.2026 14:30;2;1.234,50;10,00;4,90;123,45;Versendet\n"
    "A-1;HK-1002;05.03.2026 14:30;1;9,99;0;4,90;1,00;versendet\n"
    "\n"
    "A-2;HK-1001;06.03.2026 09:00;-1;19,99;0;0;2,00;Storniert\n"
    "A-3;HK-1003;31.03.2026 23:59;3;5,00;0;0;0,75;Offen\n"
    "Summe;;;5;1.269,48;10,00;9,80;127,20;\n"
)

ORDER_COLS = ["order_id", "line_id", "sku", "order_date", "status", "quantity", "currency", "gross_sales", "discounts",
              "shipping_charged", "source_row"]


def test_preamble_semicolons_decimal_commas_exact_rows(tmp_path: Path) -> None:
    p = tmp_path / "eu.csv"
    p.write_text(EU_TEXT, encoding="utf-8")
    reader = reader_from_mapping(EU)
    assert reader.sniff(file_head(p))
    res = reader.read(p, DE)
    assert res.rows_read == 5  # the preamble, header and blank line are not rows
    ts = pd.Timestamp
    assert _rows(res.tables["orders"], ORDER_COLS) == [
        ["A-1", "1", "HK-1001", ts("2026-03-05"), "shipped", 2, "EUR", 2469.0, 10.0, 4.9, 4],
        ["A-1", "2", "HK-1002", ts("2026-03-05"), "shipped", 1, "EUR", 9.99, 0.0, 0.0, 5],  # case-insensitive map
        ["A-3", "1", "HK-1003", ts("2026-03-31"), "pending", 3, "EUR", 15.0, 0.0, 0.0, 8],
    ]
    q = sorted(res.quarantine, key=lambda x: x.source_row)
    assert [(x.source_row, x.column) for x in q] == [(7, "Menge"), (9, "Bestellnummer")]
    assert q[0].reason == "Menge: negative value '-1' (expected a whole number >= 0)"
    assert q[0].raw == {"Bestellnummer": "A-2", "Artikelnummer": "HK-1001", "Bestelldatum": "06.03.2026 09:00", "Menge": "-1",
                        "Einzelpreis": "19,99", "Rabatt": "0", "Versand": "0", "Provision": "2,00", "Status": "Storniert"}
    assert q[1].reason == "totals row"
    fees = res.tables["fees"]
    assert _rows(fees, ["order_id", "fee_type", "amount", "source_row"]) == [
        ["A-1", "referral", 123.45, 4], ["A-1", "referral", 1.0, 5], ["A-3", "referral", 0.75, 8]]
    # expected: every non-total row; the quarantined row's money is the difference
    assert res.expected_money - _money(res) == pytest.approx(-19.99 + 2.0)


def test_thousands_separator_and_utf16_tab_export(tmp_path: Path) -> None:
    m = dict(EU, name="test_ch_orders", delimiter="auto", header_row=1, decimal=".", thousands="'", currency=None,
             currency_column="Währung", date_format=None, dayfirst=True)
    text = ("Bestellnummer\tArtikelnummer\tBestelldatum\tMenge\tEinzelpreis\tRabatt\tVersand\tProvision\tStatus\tWährung\n"
            "B-1\tHK-1001\t05.03.2026\t1\t1'234.50\t0\t0\t12.35\tVersendet\tEUR\n"
            "B-2\tHK-1002\t13/03/2026\t2\t10\t0\t0\t0\tOffen\t\n")
    p = tmp_path / "ch.txt"
    p.write_bytes(text.encode("utf-16"))  # with BOM, as Excel's "Unicode text"
    res = reader_from_mapping(m).read(p, DE)
    o = res.tables["orders"]
    assert o["gross_sales"].tolist() == [1234.5, 20.0] and o["currency"].tolist() == ["EUR", "EUR"]
    assert [str(d)[:10] for d in o["order_date"]] == ["2026-03-05", "2026-03-13"]
    assert res.expected_money == pytest.approx(_money(res))


def test_xlsx_with_title_rows(tmp_path: Path) -> None:
    import openpyxl  # a dependency of the project: never a skip
    import datetime as dt

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Order report"])
    ws.append([])
    ws.append(["Bestellnummer", "Artikelnummer", "Bestelldatum", "Menge", "Einzelpreis", "Rabatt", "Versand", "Provision", "Status"])
    ws.append([1001, "HK-1001", dt.datetime(2026, 3, 5, 14, 30), 2, 12.5, 0, 4.9, 1.25, "Versendet"])  # real date cell
    ws.append([1002, "HK-1002", "06.03.2026 09:00", 1, "7,50", None, None, None, "Offen"])
    ws.append([])
    ws.append([1003, "HK-1002", "not a date", 1, 1, 0, 0, 0, "Offen"])
    p = tmp_path / "eu.xlsx"
    wb.save(p)
    m = dict(EU, name="test_eu_xlsx", header_row=1, totals_row=None)  # header found by its columns
    reader = reader_from_mapping(m)
    assert reader.sniff(file_head(p))
    res = reader.read(p, DE)
    assert res.rows_read == 3
    o = res.tables["orders"]
    assert o["order_id"].tolist() == ["1001", "1002"]  # integral numbers are ids, not "1001.0"
    assert o["source_row"].tolist() == [4, 5] and o["gross_sales"].tolist() == [25.0, 7.5]
    assert [str(t) for t in o["order_ts"]] == ["2026-03-05 14:30:00", "2026-03-06 09:00:00"]
    (q,) = res.quarantine
    assert q.source_row == 7 and "Bestelldatum" in q.reason and "not a date" in q.reason and "%d.%m.%Y %H:%M" in q.reason


def test_erp_mapping_exact_rows_and_cancelled_fees(tmp_path: Path) -> None:
    p = tmp_path / "erp.csv"
    rows = [
        "XS1,9001,泰国店,Lazada,TH,2026/01/15 10:23:45,已完成,HK-1001,\"保温杯, 500ml\",2,100.00,200.00,10.00,39.00,10.00,4.00,0.00,THB,2026/01/16 09:00:00,LEX TH",
        "XS2,9002,泰国店,Lazada,TH,2026/01/31 23:59:59,已取消,HK-1002,杯盖,1,50.00,50.00,0.00,0.00,2.50,1.00,0.00,THB,,LEX TH",
        "XS3,9003,泰国店,Lazada,TH,2026/02/01 00:00:01,已退款,HK-1002,杯盖,1,50.00,50.00,0.00,0.00,2.50,1.00,50.00,THB,,",
        "合计,,,,,,,,,4,,300.00,10.00,39.00,15.00,6.00,50.00,,,",
    ]
    p.write_bytes(("\r\n".join([ERP_HEADER, *rows]) + "\r\n").encode("gb18030"))
    r = detect(p, TH)
    assert r.name == "erp_mabang_orders" and r.priority > 50
    res = r.read(p, TH)
    assert res.rows_read == 4
    ts = pd.Timestamp
    assert _rows(res.tables["orders"], ORDER_COLS) == [
        ["9001", "HK-1001", "HK-1001", ts("2026-01-15"), "delivered", 2, "THB", 200.0, 10.0, 39.0, 2],
        ["9002", "HK-1002", "HK-1002", ts("2026-01-31"), "cancelled", 1, "THB", 50.0, 0.0, 0.0, 3],
        ["9003", "HK-1002", "HK-1002", ts("2026-02-01"), "returned", 1, "THB", 50.0, 0.0, 0.0, 4],
    ]
    # fees of the cancelled order are estimates never charged: none loaded, none expected
    assert _rows(res.tables["fees"].sort_values(["source_row", "fee_type"]), ["order_id", "fee_type", "amount", "source_row"]) == [
        ["9001", "payment", 4.0, 2], ["9001", "referral", 10.0, 2], ["9003", "payment", 1.0, 4], ["9003", "referral", 2.5, 4]]
    assert _rows(res.tables["refunds"], ["order_id", "sku", "amount", "source_row"]) == [["9003", "HK-1002", 50.0, 4]]
    assert [(q.source_row, q.reason) for q in res.quarantine] == [(5, "totals row")]
    assert res.expected_money == pytest.approx(_money(res)) == pytest.approx(300 + 17.5 + 50)


def test_unknown_keys_and_values_name_their_path(tmp_path: Path) -> None:
    text = ERP_YAML.read_text(encoding="utf-8")
    p = tmp_path / "m.yaml"
    p.write_text(text.replace("    map: {", "    mapp: {"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(p)
    assert any("m.yaml: columns.status.Column.mapp" in i or "columns.status" in i and "mapp" in i for i in e.value.issues)
    p.write_text(text.replace("fee_type: payment", "fee_typ: payment"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(p)
    assert any(i.startswith("m.yaml: fees[1].fee_typ") for i in e.value.issues), e.value.issues
    p.write_text(text.replace("fee_type: referral", "fee_type: comission"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(p)
    assert any("fees[0].fee_type" in i and "comission" in i for i in e.value.issues), e.value.issues
    p.write_text(text.replace("已取消: cancelled", "已取消: canceled"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(p)
    assert any("columns" in i and "canceled" in i for i in e.value.issues), e.value.issues


def test_missing_column_error_names_file_and_column(tmp_path: Path) -> None:
    p = tmp_path / "erp_export.csv"
    p.write_bytes(ERP_HEADER.replace(",运费", "").encode("gb18030") + b"\n")
    reader = reader_from_mapping(ERP_YAML)
    with pytest.raises(IngestError) as e:
        reader.read(p, TH)
    assert "erp_export.csv" in str(e.value) and "运费" in str(e.value) and "erp_mabang_orders" in str(e.value)


def test_wrong_encoding_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "erp.csv"
    p.write_bytes(ERP_HEADER.encode("utf-16"))
    with pytest.raises(IngestError, match="gb18030"):
        reader_from_mapping(ERP_YAML).read(p, TH)


def test_user_mappings_register_after_builtins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    (root / "parameters" / "mappings").mkdir(parents=True)
    (root / "parameters" / "workbench.yaml").write_text("reporting_currency: CNY\n", encoding="utf-8")
    (root / "parameters" / "mappings" / "eu.yaml").write_text(
        __import__("yaml").safe_dump(dict(EU, name="user_eu_orders", platforms=["otto"]), allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("KPI_ROOT", str(root))
    try:
        names = [r.name for r in readers()]
        assert "user_eu_orders" in names and "erp_mabang_orders" not in names  # this project's mappings only
        assert names.index("user_eu_orders") > names.index("shopee_orders")
        assert get_reader("user_eu_orders").priority > 50
        p = tmp_path / "eu.csv"
        p.write_text(EU_TEXT, encoding="utf-8")
        assert detect(p, DE).name == "user_eu_orders"
    finally:
        monkeypatch.setenv("KPI_ROOT", str(ROOT))
        register_user_mappings()


def test_preview_reports_rows_and_issues(tmp_path: Path) -> None:
    p = tmp_path / "eu.csv"
    p.write_text(EU_TEXT, encoding="utf-8")
    rows, issues = preview(p, EU, DE)
    assert rows["order_id"].tolist() == ["A-1", "A-1", "A-3"]
    assert issues == ["row 9: totals row", "row 7: Menge: negative value '-1' (expected a whole number >= 0)"]
    bad = dict(EU, columns=dict(EU["columns"], colour="Farbe"))
    rows, issues = preview(p, bad, DE)
    assert rows.empty and any("colour" in i for i in issues)
