"""Amazon transaction report, settlement V2 and Business Report by child item.

Fixtures: tests/fixtures/exports/amazon-payments/ (built from the documented column lists, see the
README there). Every money figure asserted here was worked out by hand from the fixture and is also
re-computed with a plain ``csv``-module parse, independent of the readers.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import needs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_lib.errors import IngestError
from kpi_lib.ingest.base import ReadResult, Store, file_head
from kpi_lib.ingest.pipeline import detect, ingest
from kpi_lib.ingest.readers.amazon import report_range
from kpi_lib.ingest.readers.amazon.transactions import parse_report_datetimes
from kpi_lib.ingest.registry import readers
from kpi_lib.warehouse import Warehouse

FIX = Path(__file__).resolve().parent / "fixtures" / "exports" / "amazon-payments"
TX_US = FIX / "transaction_report_us.csv"
TX_DE = FIX / "transaction_report_de.csv"
V2_UK = FIX / "settlement_v2_uk.txt"
CHILD = FIX / "BusinessReport-ChildItem-2024-09-01_2024-09-30.csv"
REAL_SETTLEMENTS = Path(__file__).resolve().parents[2] / "shared" / "real-exports" / "amazon-settlement"

US = Store("AMZ-US-01", "amazon", "US", "USD", "America/Los_Angeles")
DE = Store("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin")
UK = Store("AMZ-UK-01", "amazon", "UK", "GBP", "Europe/London")
JP = Store("AMZ-JP-01", "amazon", "JP", "JPY", "Asia/Tokyo")


def load(path: Path, store: Store, expect_reader: str) -> ReadResult:
    r = detect(path, store)
    assert r.name == expect_reader
    return r.read(path, store)


def accounting(res: ReadResult) -> float:
    """Every data row is loaded or quarantined (never both); returns expected − loaded money."""
    rows: set[int] = set()
    for df in res.tables.values():
        rows |= {int(x) for x in df["source_row"]}
    q = {x.source_row for x in res.quarantine}
    assert not rows & q
    assert len(rows | q) == res.rows_read
    loaded = sum(sign * res.tables[t][c].fillna(0).sum() for t, c, sign in res.money_columns if t in res.tables)
    return round((res.expected_money or 0.0) - loaded, 2)


def csv_column_sum(path: Path, column: str, skip: int = 0, decimal: str = ".", sep: str = ",") -> float:
    """Independent parse: the csv module, a fixed preamble length, a plain number cleanup."""
    text = path.read_text("utf-8-sig")
    recs = list(csv.reader(io.StringIO(text), delimiter=sep))[skip:]
    i = recs[0].index(column)
    total = 0.0
    for r in recs[1:]:
        v = r[i].replace("$", "").replace("€", "").strip()
        v = v.replace(".", "").replace(",", ".") if decimal == "," else v.replace(",", "")
        total += float(v or 0)
    return round(total, 2)


def only_amazon_reader(path: Path) -> list[str]:
    head = file_head(path)
    return sorted(r.name for r in readers() if r.name.startswith("amazon") and r.sniff(head))


# ------------------------------------------------------------------------------ transaction report
def test_sniffing_picks_exactly_one_reader() -> None:
    assert only_amazon_reader(TX_US) == ["amazon_transaction_report"]
    assert only_amazon_reader(TX_DE) == ["amazon_transaction_report"]
    assert only_amazon_reader(V2_UK) == ["amazon_settlement_v2"]
    assert only_amazon_reader(CHILD) == ["amazon_business_report_child"]
    if REAL_SETTLEMENTS.is_dir():  # the real V1 files are not mistaken for V2
        for f in REAL_SETTLEMENTS.glob("*.txt"):
            assert only_amazon_reader(f) == ["amazon_settlement_v1"]


def test_transaction_report_us() -> None:
    res = load(TX_US, US, "amazon_transaction_report")
    assert res.rows_read == 12 and not res.quarantine and not res.notes
    assert accounting(res) == 0.0
    assert res.expected_money == 372.85 == csv_column_sum(TX_US, "total", skip=7)
    lines, fees, refunds = res.tables["settlement_lines"], res.tables["fees"], res.tables["refunds"]
    # fees by type, cost sign (hand-worked from the file)
    by = fees.groupby("fee_type")["amount"].sum().round(2).to_dict()
    assert by == {"advertising": 152.37, "fulfillment": 31.58, "other": 0.35, "referral": 194.10,
                  "storage": 12.44, "subscription": 39.99}
    assert round(fees["amount"].sum(), 2) == 430.83
    assert refunds[["order_id", "sku", "quantity", "amount"]].astype(object).values.tolist() == [
        ["113-1234567-1234567", "HK-1001", 1, 24.99]]
    cat = lines.groupby("category")["amount"].sum().round(2).to_dict()
    assert cat["sales"] == round(24.99 + 39.98 + 1204.99 + 15.00 + 29.97, 2)
    assert cat["transfer"] == -500.0 and cat["reimbursement"] == 8.75 and cat["refund"] == -24.99
    # quantity once per row; the zero-money adjustment row is kept as one zero line
    assert int(lines["quantity"].sum()) == 1 + 2 + 1 + 1 + 1 + 1 + 1 + 3
    zero = lines[lines["source_row"] == 19]
    assert len(zero) == 1 and zero["amount"].iloc[0] == 0.0
    # dates: PST / PDT converted to the store's zone
    first = lines[lines["source_row"] == 9]["posted_date"].iloc[0]
    last = lines[lines["source_row"] == 20]["posted_date"].iloc[0]
    assert str(first.date()) == "2024-01-01" and str(last.date()) == "2024-03-10"
    assert set(lines["settlement_id"]) == {"17692371511", "17710233401"}


def test_transaction_report_german_headers_and_decimal_commas() -> None:
    res = load(TX_DE, DE, "amazon_transaction_report")
    assert res.rows_read == 5 and not res.quarantine and not res.notes
    assert accounting(res) == 0.0
    assert res.expected_money == -559.80 == csv_column_sum(TX_DE, "Gesamt", skip=5, decimal=",")
    lines, fees = res.tables["settlement_lines"], res.tables["fees"]
    assert set(lines["transaction_type"]) == {"Order", "Refund", "Service Fee", "Transfer"}
    by = fees.groupby("fee_type")["amount"].sum().round(2).to_dict()
    assert by == {"advertising": 1152.37, "fulfillment": 11.66, "referral": 195.75}
    assert lines.loc[lines["category"] == "sales", "amount"].round(2).tolist() == [24.99, 1299.98]
    assert round(res.tables["refunds"]["amount"].sum(), 2) == 24.99
    assert str(lines["posted_date"].min().date()) == "2024-01-01"


def test_transaction_report_wrong_currency_is_refused() -> None:
    with pytest.raises(IngestError, match="USD.*AMZ-DE-01"):
        load(TX_US, DE, "amazon_transaction_report")


def _tamper(src: Path, dst: Path, line_no: int, old: str, new: str) -> Path:
    lines = src.read_text("utf-8").split("\n")
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    dst.write_text("\n".join(lines), encoding="utf-8")
    return dst


def test_tampered_transaction_report_reports_the_exact_difference(tmp_path: Path) -> None:
    # line 10: product sales 39.98 → 41.98; its total still says 25.08
    f = _tamper(TX_US, tmp_path / "tx.csv", 10, '"39.98"', '"41.98"')
    res = load(f, US, "amazon_transaction_report")
    assert accounting(res) == -2.0  # expected (file totals) − loaded (amount cells)
    assert len(res.notes) == 1
    assert "row 10" in res.notes[0] and "add up to 27.08" in res.notes[0] and "says 25.08" in res.notes[0]
    assert "difference -2.00" in res.notes[0]


def test_transaction_report_excel_resave_loads_identically(tmp_path: Path) -> None:
    """Semicolons + decimal commas (cp1252) and UTF-16 tab re-saves of the US report."""
    recs = list(csv.reader(io.StringIO(TX_US.read_text("utf-8"))))

    def german(c: str) -> str:  # 1,204.99 → 1.204,99 ; 24.99 → 24,99
        m = re.fullmatch(r"(-?)([\d,]+)\.(\d+)", c)
        if not m:
            return c
        return f"{m[1]}{int(m[2].replace(',', '')):,}".replace(",", ".") + "," + m[3]

    def write(sep: str, enc: str, comma: bool) -> Path:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
        for r in recs:
            w.writerow([german(c) for c in r] if comma else r)
        p = tmp_path / f"tx_{enc}.csv"
        p.write_bytes(buf.getvalue().encode(enc))
        return p

    def summary(res: ReadResult) -> tuple:
        L = res.tables["settlement_lines"]
        return (res.rows_read, len(res.quarantine), res.expected_money,
                sorted(zip(L["source_row"], L["amount_type"], L["amount_description"], L["amount"].round(2))))

    base = summary(load(TX_US, US, "amazon_transaction_report"))
    for p in (write(";", "cp1252", True), write("\t", "utf-16", False)):
        assert summary(load(p, US, "amazon_transaction_report")) == base


@pytest.mark.parametrize(
    "text, tz, want",
    [
        ("Jan 1, 2024 12:04:11 AM PST", "America/Los_Angeles", "2024-01-01 00:04:11"),
        ("Mar 10, 2024 3:30:00 AM PDT", "America/Los_Angeles", "2024-03-10 03:30:00"),
        ("Dec 31, 2023 11:59:59 PM PST", "America/New_York", "2024-01-01 02:59:59"),
        ("01.01.2024 00:04:11 UTC", "Europe/Berlin", "2024-01-01 01:04:11"),
        ("1 janv. 2024 00:04:11 UTC", "Europe/Paris", "2024-01-01 01:04:11"),
        ("1 gen 2024 00:04:11 UTC", "Europe/Rome", "2024-01-01 01:04:11"),
        ("1 ene 2024 00:04:11 UTC", "Europe/Madrid", "2024-01-01 01:04:11"),
        ("1 Jan 2024 00:04:11 GMT", "Europe/London", "2024-01-01 00:04:11"),
        ("2024/01/01 0:04:11JST", "Asia/Tokyo", "2024-01-01 00:04:11"),
        ("2024-01-01 00:04:11 +05:30", "Asia/Kolkata", "2024-01-01 00:04:11"),
    ],
)
def test_report_datetimes(text: str, tz: str, want: str) -> None:
    v, bad = parse_report_datetimes(pd.Series([text, "not a date"]), tz)
    assert str(v.iloc[0]) == want
    assert list(bad) == [False, True]


_amount = st.decimals(min_value=-500, max_value=500, places=2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["Order", "Refund", "Service Fee", "Transfer"]),
                               st.lists(_amount, min_size=5, max_size=5)), min_size=1, max_size=12),
       tamper=st.one_of(st.none(), st.decimals(min_value=-50, max_value=50, places=2).filter(lambda d: d != 0)))
def test_transaction_report_property(tmp_path_factory: pytest.TempPathFactory, rows: list, tamper) -> None:
    """Any report: loaded money = Σ total; changing one amount cell by d makes the difference exactly −d."""
    d = tmp_path_factory.mktemp("tx")
    head = ["date/time", "settlement id", "type", "order id", "sku", "description", "quantity", "product sales",
            "selling fees", "fba fees", "other transaction fees", "other", "total"]
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(["Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webservices transactions"])
    w.writerow(["All amounts in USD, unless specified"])
    w.writerow(head)
    for i, (typ, amts) in enumerate(rows):
        total = sum(amts)
        cells = [f"{a:.2f}" for a in amts]
        if tamper is not None and i == 0:
            cells[0] = f"{amts[0] + tamper:.2f}"
        w.writerow([f"Jan {1 + i % 28}, 2024 1:00:00 PM PST", "1", typ, f"o{i}", "S", "x", "1", *cells, f"{total:.2f}"])
    p = d / "tx.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    res = load(p, US, "amazon_transaction_report")
    want = float(sum(sum(a) for _, a in rows))
    assert res.expected_money == round(want, 2)
    assert accounting(res) == (0.0 if tamper is None else -float(tamper))
    assert len(res.notes) == (0 if tamper is None else 1)


# ------------------------------------------------------------------------------------ settlement V2
def test_settlement_v2() -> None:
    res = load(V2_UK, UK, "amazon_settlement_v2")
    assert res.rows_read == 22 and not res.quarantine
    assert accounting(res) == 0.0
    # the file's own total-amount, and an independent sum of its amount column
    assert res.expected_money == 23.24 == csv_column_sum(V2_UK, "amount", sep="\t")
    p = res.tables["payouts"]
    assert p[["settlement_id", "total_amount"]].values.tolist() == [["18906543210", 23.24]]
    assert str(p["start_date"].iloc[0].date()) == "2026-03-01" and str(p["deposit_date"].iloc[0].date()) == "2026-03-17"
    fees = res.tables["fees"]
    by = fees.groupby("fee_type")["amount"].sum().round(2).to_dict()
    assert by == {"advertising": 85.2, "fulfillment": 12.96, "referral": 29.4, "shipping_label": 3.99,
                  "storage": 12.44, "subscription": 25.0}
    assert round(fees["amount"].sum(), 2) == 168.99
    assert round(res.tables["refunds"]["amount"].sum(), 2) == 29.99
    lines = res.tables["settlement_lines"]
    # quantity-purchased repeated on each amount row of an item, counted once per item: 1 + 2 + 1 (+1 reimbursed)
    assert int(lines.loc[lines["transaction_type"] == "Order", "quantity"].sum()) == 4
    cat = lines.groupby("category")["amount"].sum().round(2).to_dict()
    assert cat["transfer"] == -5.0 and cat["reimbursement"] == 7.25 and cat["promotion"] == -3.99


def test_tampered_settlement_v2(tmp_path: Path) -> None:
    text = V2_UK.read_text("utf-8").replace("\t-22.50\t", "\t-25.00\t")
    f = tmp_path / "v2.txt"
    f.write_text(text, encoding="utf-8")
    res = load(f, UK, "amazon_settlement_v2")
    assert accounting(res) == 2.5


# ------------------------------------------------------------------------------- business by child
def test_business_report_child_item() -> None:
    res = load(CHILD, US, "amazon_business_report_child")
    assert res.rows_read == 6 and not res.quarantine
    assert accounting(res) == 0.0
    t = res.tables["traffic_by_sku"]
    assert res.expected_money == 16403.89 == csv_column_sum(CHILD, "Ordered Product Sales")
    assert int(t["sessions"].sum()) == 6253 == int(csv_column_sum(CHILD, "Sessions – Total"))
    assert int(t["page_views"].sum()) == 1203 + 902 + 2788 + 455 + 80 + 1790
    assert set(t["start_date"].astype(str)) == {"2024-09-01"} and set(t["end_date"].astype(str)) == {"2024-09-30"}
    row = t[t["asin"] == "B0CCHILD03"].iloc[0]
    assert (row["sku"], row["parent_asin"], row["ordered_sales"], row["units_ordered"]) == (
        "HK-1004", "B0CPARENT2", 14459.88, 12)


OLD_DE = (
    '"(Parent) ASIN","(Child) ASIN","Title","SKU","Sessions","Session Percentage","Page Views",'
    '"Page Views Percentage","Buy Box Percentage","Units Ordered","Unit Session Percentage",'
    '"Ordered Product Sales","Total Order Items"\n'
    '"B0P1","B0C1","Plüschbär","DE-1001","1.204","1,50%","1.390","1,40%","99,00%","12","1,00%","299,88 €","12"\n'
    '"B0P1","B0C2","Plüschhase","DE-1002","57","0,10%","60","0,10%","100,00%","1","1,75%","1.024,50 €","1"\n'
)


def test_business_report_child_old_layout_month_folder_and_decimal_commas(tmp_path: Path) -> None:
    f = tmp_path / "AMZ-DE-01" / "2024-09" / "BusinessReport-9-25-24.csv"
    f.parent.mkdir(parents=True)
    f.write_bytes(OLD_DE.encode("cp1252"))
    res = load(f, DE, "amazon_business_report_child")
    assert accounting(res) == 0.0 and not res.quarantine
    t = res.tables["traffic_by_sku"]
    assert round(res.expected_money, 2) == 1324.38
    assert t["sessions"].tolist() == [1204, 57] and t["title"].tolist() == ["Plüschbär", "Plüschhase"]
    assert str(t["end_date"].iloc[0].date()) == "2024-09-30"


def test_business_report_child_range_rule_and_missing_range(tmp_path: Path) -> None:
    d = tmp_path / "AMZ-DE-01" / "reports"
    d.mkdir(parents=True)
    f = d / "BusinessReport-9-25-24.csv"
    f.write_text(OLD_DE, encoding="utf-8")
    with pytest.raises(IngestError) as e:  # a single date in the name is the download date: not a range
        load(f, DE, "amazon_business_report_child")
    assert "_report_ranges.csv" in str(e.value) and str(f) in str(e.value)
    (tmp_path / "AMZ-DE-01" / "_report_ranges.csv").write_text(
        "file,start_date,end_date\nBusinessReport-9-25-24*.csv,2024-09-18,2024-09-24\n")
    res = load(f, DE, "amazon_business_report_child")
    t = res.tables["traffic_by_sku"]
    assert (str(t["start_date"].iloc[0].date()), str(t["end_date"].iloc[0].date())) == ("2024-09-18", "2024-09-24")
    assert report_range(Path("x/BusinessReport-9-1-24-9-30-24.csv"))[:2] == (
        pd.Timestamp("2024-09-01"), pd.Timestamp("2024-09-30"))


def test_tampered_child_report(tmp_path: Path) -> None:
    f = tmp_path / "BusinessReport-ChildItem-2024-09-01_2024-09-30.csv"
    f.write_text(CHILD.read_text("utf-8-sig").replace("$474.81", "$474.8X"), encoding="utf-8")
    res = load(f, US, "amazon_business_report_child")
    assert [q.source_row for q in res.quarantine] == [3] and "Ordered Product Sales" in res.quarantine[0].reason
    assert accounting(res) == 0.0  # the unparseable cell is neither expected nor loaded
    assert round(res.tables["traffic_by_sku"]["ordered_sales"].sum(), 2) == round(16403.89 - 474.81, 2)


# ---------------------------------------------------------------------------------------- pipeline
def test_pipeline_loads_all_three_and_reconciles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_ROOT", str(tmp_path))
    ref = tmp_path / "ref"
    ref.mkdir()
    pd.DataFrame([
        {"store_id": s.store_id, "store_name": s.store_id, "platform": "amazon", "marketplace": s.marketplace,
         "currency": s.currency, "timezone": s.timezone, "launch_date": "2023-01-01", "team_id": "T1"}
        for s in (US, DE, UK)
    ]).to_csv(ref / "stores.csv", index=False)
    months = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)]
    pd.DataFrame([{"month": m, "currency": c, "rate": r} for m in months
                  for c, r in (("USD", 7.0), ("EUR", 8.0), ("GBP", 9.0), ("CNY", 1.0))]).to_csv(
        ref / "fx_rates.csv", index=False)
    skus = [f"HK-100{i}" for i in range(1, 8)] + ["DE-1001", "DE-1002"] + [f"UK-100{i}" for i in range(1, 5)]
    pd.DataFrame({"sku": skus, "category": "c", "unit_cogs": 1.0, "first_leg_cost": 0.1, "duty_rate": 0.0}).to_csv(
        ref / "skus.csv", index=False)
    raw = tmp_path / "raw"
    for store, f in ((US, TX_US), (DE, TX_DE), (UK, V2_UK), (US, CHILD)):
        (raw / store.store_id).mkdir(parents=True, exist_ok=True)
        (raw / store.store_id / f.name).write_bytes(f.read_bytes())
    wh = Warehouse(tmp_path / "wh")
    s = ingest(raw, wh, reference=ref)
    got = {Path(f.path).name: f for f in s.files}
    for name in (TX_US.name, TX_DE.name, V2_UK.name, CHILD.name):
        f = got[name]
        assert f.error is None, f.error
        assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_duplicate
        assert f.reconciliation and f.reconciliation["difference"] == 0.0, (name, f.reconciliation)
    assert got[TX_US.name].reconciliation["expected"] == 372.85
    assert got[V2_UK.name].reconciliation["expected"] == 23.24
    t = wh.read("traffic_by_sku")
    assert int(t["sessions"].sum()) == 6253 and round(float(t["ordered_sales_rc"].sum()), 2) == round(16403.89 * 7, 2)


def test_transaction_report_japanese_shift_jis(tmp_path: Path) -> None:
    """amazon.co.jp: Shift-JIS (cp932), Japanese headers and types, `2024/01/01 0:04:11JST`, yen amounts."""
    head = ["日付/時間", "決済番号", "トランザクションの種類", "注文番号", "SKU", "説明", "数量", "Amazon 出品サービス",
            "フルフィルメント", "市町村", "都道府県", "郵便番号", "商品売上", "商品の売上税", "配送料", "配送料の税金",
            "ギフト包装手数料", "ギフト包装クレジットの税金", "Amazonポイントの費用", "プロモーション割引額",
            "プロモーション割引の税金", "源泉徴収税を伴うマーケットプレイス", "手数料", "FBA 手数料",
            "トランザクションに関するその他の手数料", "その他", "合計"]
    rows = [
        ["2024/01/01 0:04:11JST", "1", "注文", "250-1", "JP-1", "ぬいぐるみ クマ", "1", "amazon.co.jp", "Amazon", "", "",
         "", "2,980", "0", "0", "0", "0", "0", "-30", "0", "0", "0", "-298", "-434", "0", "0", "2,218"],
        ["2024/01/03 10:00:00JST", "1", "返金", "250-1", "JP-1", "ぬいぐるみ クマ", "1", "amazon.co.jp", "Amazon", "", "",
         "", "-2,980", "0", "0", "0", "0", "0", "30", "0", "0", "0", "238", "0", "0", "0", "-2,712"],
        ["2024/01/05 9:00:00JST", "1", "サービス料", "", "", "広告費用", "", "", "", "", "", "", "0", "0", "0", "0", "0",
         "0", "0", "0", "0", "0", "0", "0", "0", "-5,500", "-5,500"],
    ]
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(["Amazonマーケットプレイス、フルフィルメント by Amazon（FBA）、Amazon Webサービスのトランザクションを含む"])
    w.writerow(head)
    w.writerows(rows)
    p = tmp_path / "jp.csv"
    p.write_bytes(buf.getvalue().encode("cp932"))
    res = load(p, JP, "amazon_transaction_report")
    assert not res.quarantine and not res.notes
    assert accounting(res) == 0.0
    assert res.expected_money == 2218 - 2712 - 5500
    lines = res.tables["settlement_lines"]
    assert set(lines["transaction_type"]) == {"Order", "Refund", "Service Fee"}
    fees = res.tables["fees"].groupby("fee_type")["amount"].sum().to_dict()
    assert fees == {"advertising": 5500.0, "fulfillment": 434.0, "referral": 298.0 - 238.0}
    assert res.tables["refunds"]["amount"].tolist() == [2980.0]
    assert str(lines["posted_date"].min().date()) == "2024-01-01"


REAL_BUSINESS = Path(__file__).resolve().parents[2] / "shared" / "real-exports" / "amazon-business-report" / (
    "BusinessReport-9-25-24-SalesTraffic.csv")


@needs(REAL_BUSINESS.is_file(), "../shared/real-exports not present")
def test_real_business_report_decimal_comma_resave_loads_identically(tmp_path: Path) -> None:
    """The real by-date Business Report (AED) re-saved with semicolons and decimal commas (cp1252)."""
    AE = Store("AMZ-AE-01", "amazon", "AE", "AED", "Asia/Dubai")
    recs = list(csv.reader(io.StringIO(REAL_BUSINESS.read_text("utf-8-sig"))))

    def german(c: str) -> str:  # "AED 4,426.00" → "AED 4.426,00"; "6,930" → "6.930"; "9.22%" → "9,22%"
        return c.replace(",", "\x00").replace(".", ",").replace("\x00", ".")

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(recs[0])
    w.writerows([[r[0]] + [german(c) for c in r[1:]] for r in recs[1:]])
    p = tmp_path / "br.csv"
    p.write_bytes(buf.getvalue().encode("cp1252", errors="replace"))

    def summary(res: ReadResult) -> tuple:
        t = res.tables["traffic"]
        return (res.rows_read, len(res.quarantine), round(res.expected_money, 2), accounting(res),
                t["date"].astype(str).tolist(), t["sessions"].tolist(), t["ordered_sales"].round(2).tolist())

    a = summary(load(REAL_BUSINESS, AE, "amazon_business_report"))
    b = summary(load(p, AE, "amazon_business_report"))
    assert a == b and a[3] == 0.0 and a[0] == 731
