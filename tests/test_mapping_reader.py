"""The generic mapping reader: the YAML format, file formats (xlsx, UTF-16, GB18030, preamble, decimal
commas, thousands separators), exact canonical rows, registration of user mappings and the errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    import datetime as dt

    import openpyxl  # a dependency of the project: never a skip

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


# ---- mappings for tables other than orders (fees, ads, traffic) -------------------------------
US = Store("SFY", "shopify", "US", "USD", "America/New_York")

FEES_YAML = """\
# a long-form fee export: one row per amount, the fee type named in a column
name: test_long_fees
table: fees
detect: {required_columns: [Posted, Fee Name, Amount]}
date_format: "%m/%d/%Y"
amount_sign: negate          # the export shows costs as negative numbers
columns:
  date: Posted
  order_id: Order No.
  sku: Seller SKU
  description: Fee Name
  amount: Amount
  fee_type: {column: Fee Name, map: {Commission: referral, Payment Fee: payment, Shipping Fee: shipping_label,
                                      Storage Fee: storage, Reimbursement: other}}
totals_row: {column: Posted, values: [Total]}
"""
FEES_TEXT = (
    "Posted,Order No.,Seller SKU,Fee Name,Amount\n"
    "03/05/2026,A-1,HK-1001,Commission,-12.50\n"
    "03/05/2026,A-1,HK-1001,Payment Fee,-2.19\n"
    "03/06/2026,,,Storage Fee,\"-1,234.00\"\n"
    "03/07/2026,A-2,HK-1002,Reimbursement,5.00\n"       # a credit: negative cost
    "03/07/2026,A-2,HK-1002,Lottery,-1.00\n"            # unmapped fee type: quarantined
    "03/32/2026,A-3,HK-1003,Commission,-3.00\n"         # bad date: quarantined
    "Total,,,,\"-1,247.69\"\n"
)


def test_fees_mapping_from_yaml_long_form(tmp_path: Path) -> None:
    y = tmp_path / "fees.yaml"
    y.write_text(FEES_YAML, encoding="utf-8")
    p = tmp_path / "fees.csv"
    p.write_text(FEES_TEXT, encoding="utf-8")
    reader = reader_from_mapping(y)
    assert reader.sniff(file_head(p))
    res = reader.read(p, US)
    assert res.rows_read == 7
    fees = res.tables["fees"]
    assert _rows(fees, ["date", "order_id", "fee_type", "description", "amount", "currency", "source_row"]) == [
        [pd.Timestamp("2026-03-05"), "A-1", "referral", "Commission", 12.5, "USD", 2],
        [pd.Timestamp("2026-03-05"), "A-1", "payment", "Payment Fee", 2.19, "USD", 3],
        [pd.Timestamp("2026-03-06"), "", "storage", "Storage Fee", 1234.0, "USD", 4],
        [pd.Timestamp("2026-03-07"), "A-2", "other", "Reimbursement", -5.0, "USD", 5],
    ]
    q = {x.source_row: x for x in res.quarantine}
    assert sorted(q) == [6, 7, 8]
    assert q[6].reason.startswith("unknown fee type 'Lottery'") and q[6].column == "Fee Name"
    assert q[7].reason == "cannot parse Posted: '03/32/2026' (expected a date like %m/%d/%Y)"
    assert q[8].reason == "totals row"
    # expected = the file's own totals row (1,247.69 of costs); loaded 1,243.69: the difference is the
    # money of the two quarantined rows (1.00 + 3.00), never silently lost
    assert res.expected_money == pytest.approx(1247.69)
    assert res.expected_money - _money(res) == pytest.approx(4.0)
    # a truncated export (a line lost, its totals row intact): the file's own total shows the loss
    cut = tmp_path / "fees_cut.csv"
    cut.write_text(FEES_TEXT.replace('03/06/2026,,,Storage Fee,"-1,234.00"\n', ""), encoding="utf-8")
    res = reader.read(cut, US)
    assert res.expected_money - _money(res) == pytest.approx(1234.0 + 4.0)


ADS_YAML = """\
name: test_ads_daily
table: ads
detect: {required_columns: [Day, Campaign, Cost]}
columns:
  date: Day
  campaign: Campaign
  ad_group: Ad set
  impressions: Impressions
  clicks: Clicks
  spend: Cost
  ad_sales: Purchase value
  ad_orders: Purchases
"""


def test_ads_mapping_from_yaml(tmp_path: Path) -> None:
    y = tmp_path / "ads.yaml"
    y.write_text(ADS_YAML, encoding="utf-8")
    p = tmp_path / "ads.csv"
    p.write_text("Day,Campaign,Ad set,Impressions,Clicks,Cost,Purchases,Purchase value\n"
                 "2026-03-01,Prospecting,Broad,\"12,000\",150,$45.10,3,$120.00\n"
                 "2026-03-01,Retargeting,Visitors 30d,3000,60,12.40,2,80.5\n"
                 "2026-03-02,Prospecting,Broad,11000,-4,40.00,1,30\n"        # negative clicks
                 "2026-03-02,Retargeting,Visitors 30d,2900,58,,1,25\n", encoding="utf-8")  # no spend
    res = reader_from_mapping(y).read(p, US)
    ads = res.tables["ads"]
    assert _rows(ads, ["date", "campaign", "ad_group", "impressions", "clicks", "spend", "ad_sales", "ad_orders"]) == [
        [pd.Timestamp("2026-03-01"), "Prospecting", "Broad", 12000, 150, 45.1, 120.0, 3],
        [pd.Timestamp("2026-03-01"), "Retargeting", "Visitors 30d", 3000, 60, 12.4, 80.5, 2],
    ]
    reasons = sorted((x.source_row, x.reason) for x in res.quarantine)
    assert reasons == [(4, "Clicks: negative value '-4' (expected a whole number >= 0)"),
                       (5, "Cost is empty (expected an amount)")]
    assert res.money_columns == [("ads", "spend", 1.0)]
    assert res.expected_money == pytest.approx(45.1 + 12.4 + 40.0)  # the file's Cost cells
    assert res.expected_money - _money(res) == pytest.approx(40.0)   # the quarantined row's spend


def test_wide_fee_columns_and_reconcile_columns(tmp_path: Path) -> None:
    m = {"name": "test_wide_fees", "table": "fees", "detect": {"required_columns": ["Order", "Fee", "Net"]},
         "amount_sign": "as_is", "columns": {"date": "Transaction Date", "order_id": "Order"},
         "fees": [{"column": "Fee", "fee_type": "payment"}],
         "reconcile": {"columns": {"Amount": 1, "Net": -1}}}
    p = tmp_path / "payments.csv"
    p.write_text("Transaction Date,Type,Order,Amount,Fee,Net,Currency\n"
                 "2026-03-01 10:00:00 -0500,charge,#1001,100.00,3.20,96.80,USD\n"
                 "2026-03-02 11:00:00 -0500,refund,#1001,-20.00,0.00,-20.00,USD\n"
                 "2026-03-02 12:00:00 -0500,charge,#1002,50.00,1.75,48.25,USD\n", encoding="utf-8")
    res = reader_from_mapping(m).read(p, US)
    fees = res.tables["fees"]
    # the refund row has no fee: it loads as a zero-amount row (read, counted, no money)
    assert _rows(fees, ["order_id", "fee_type", "amount", "source_row"]) == [
        ["#1001", "payment", 3.2, 2], ["#1001", "payment", 0.0, 3], ["#1002", "payment", 1.75, 4]]
    assert res.expected_money == pytest.approx(4.95) and _money(res) == pytest.approx(4.95)


def test_unknown_target_column_names_file_and_key(tmp_path: Path) -> None:
    y = tmp_path / "ads_typo.yaml"
    y.write_text(ADS_YAML.replace("  spend: Cost", "  spent: Cost"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(y)
    issues = " | ".join(e.value.issues)
    assert "ads_typo.yaml" in issues and "columns" in issues and "'spent'" in issues and "table ads" in issues, issues
    y.write_text(ADS_YAML.replace("  spend: Cost\n", ""), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(y)
    assert any("a mapping for table ads must map 'spend'" in i for i in e.value.issues), e.value.issues
    y.write_text(ADS_YAML.replace("table: ads", "table: adverts"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(y)
    assert any("ads_typo.yaml: table" in i for i in e.value.issues), e.value.issues
    y.write_text(FEES_YAML.replace("Storage Fee: storage", "Storage Fee: warehousing"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(y)
    assert any("warehousing" in i and "fee_type" in i for i in e.value.issues), e.value.issues
    y.write_text(ADS_YAML + "order_level: [tax]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_mapping(y)
    assert any("order_level: only for table orders" in i for i in e.value.issues), e.value.issues


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(st.integers(-50000, 50000), st.integers(-50000, 0), st.sampled_from(["", "x"])),
                      min_size=1, max_size=25))
def test_wide_fees_every_row_accounted_and_money_reconciles(tmp_path: Path, cells: list) -> None:
    """Whatever the amounts (zeros, credits, unparseable cells): every row is loaded or quarantined,
    the loaded fees equal minus the file's fee cells of loaded rows, and expected − loaded is exactly
    the money of the quarantined rows."""
    m = {"name": "test_wide_prop", "table": "fees", "detect": {"required_columns": ["Settled", "Fee A", "Fee B"]},
         "amount_sign": "negate", "columns": {"date": "Settled", "order_id": "Order"},
         "fees": [{"column": "Fee A", "fee_type": "referral"}, {"column": "Fee B", "fee_type": "payment"}]}
    lines = ["Settled,Order,Fee A,Fee B"]
    for i, (a, b, bad) in enumerate(cells):
        lines.append(f"2026-03-{1 + i % 28:02d},O{i},{a / 100:.2f}{bad},{b / 100:.2f}")
    p = tmp_path / f"wide_{len(cells)}_{abs(hash(tuple(cells))) % 10**8}.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = reader_from_mapping(m).read(p, US)
    loaded_rows = {int(x) for df in res.tables.values() for x in df["source_row"]}
    quarantined = {x.source_row for x in res.quarantine}
    assert loaded_rows.isdisjoint(quarantined) and loaded_rows | quarantined == set(range(2, len(cells) + 2))
    good = [(a, b) for a, b, bad in cells if not bad]
    assert _money(res) == pytest.approx(-sum(a + b for a, b in good) / 100, abs=1e-6)
    bad_money = sum(b for a, b, bad in cells if bad) / 100  # Fee B of a row whose Fee A is unparseable
    assert res.expected_money - _money(res) == pytest.approx(-bad_money, abs=1e-6)


def test_traffic_mapping_day_first_dates(tmp_path: Path) -> None:
    """A day-first date (Shopee Business Insights, 13/07/2025) lands on its own day and month."""
    from kpi_lib.ingest.readers.shopee import SHOPEE_TRAFFIC

    p = tmp_path / "bi.csv"
    p.write_text("Date,Sales,Orders,Sales per Order,Product Clicks,Visitors,Order Conversion Rate,Cancelled Orders,Buyers\n"
                 "01/07/2025,847.10,7,121.01,708,289,2.42%,0,7\n13/07/2025,347.70,3,115.90,382,159,1.89%,0,3\n",
                 encoding="utf-8")
    res = reader_from_mapping(SHOPEE_TRAFFIC).read(p, Store("SHP", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur"))
    t = res.tables["traffic"]
    assert [str(d)[:10] for d in t["date"]] == ["2025-07-01", "2025-07-13"]
    assert t["sessions"].tolist() == [289, 159] and t["page_views"].tolist() == [708, 382]
    assert res.expected_money == pytest.approx(847.10 + 347.70) == _money(res)
