"""Amazon readers: real exports (read in place from ../shared/real-exports) and hand-written fixtures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import needs
from ingest_helpers import amazon_readers_accepting, check_accounting, reader

from kpi_lib.errors import IngestError
from kpi_lib.ingest.base import Store
from kpi_lib.ingest.readers import amazon

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-exports"
FIX = Path(__file__).resolve().parent / "fixtures" / "exports" / "amazon"

CA = Store("AMZ-CA-01", "amazon", "CA", "CAD", "America/Toronto")
IN = Store("AMZ-IN-01", "amazon", "IN", "INR", "Asia/Kolkata")
AE = Store("AMZ-AE-01", "amazon", "AE", "AED", "Asia/Dubai")
US = Store("AMZ-US-01", "amazon", "US", "USD", "America/Los_Angeles")
DE = Store("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin")

SETTLEMENTS = REAL / "amazon-settlement"
BUSINESS = REAL / "amazon-business-report" / "BusinessReport-9-25-24-SalesTraffic.csv"

needs_real = needs(REAL.is_dir(), "../shared/real-exports not present")

pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")








def records(df: pd.DataFrame, cols: list[str]) -> list[dict]:
    out = []
    for rec in df[cols].astype(object).to_dict("records"):
        out.append(
            {
                k: (
                    None
                    if v is pd.NA or v is pd.NaT or (isinstance(v, float) and pd.isna(v))
                    else (v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, pd.Timestamp) else v)
                )
                for k, v in rec.items()
            }
        )
    return out


# ------------------------------------------------------------------------------------------ sniffing


@needs_real
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (SETTLEMENTS / "50011020300.txt", ["amazon_settlement_v1"]),
        (SETTLEMENTS / "50018020314.txt", ["amazon_settlement_v1"]),
        (SETTLEMENTS / "50034020328.txt", ["amazon_settlement_v1"]),
        (BUSINESS, ["amazon_business_report"]),
    ],
    ids=lambda x: x.name if isinstance(x, Path) else None,
)
def test_sniff_real_exports(path: Path, expected: list[str]) -> None:
    assert amazon_readers_accepting(path) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("all_orders_report.txt", "amazon_orders"),
        ("all_orders_report_bad_rows.txt", "amazon_orders"),
        ("fba_inventory_planning.txt", "amazon_fba_inventory"),
        ("settlement_v1_de.txt", "amazon_settlement_v1"),
    ],
)
def test_sniff_fixtures(name: str, expected: str) -> None:
    assert amazon_readers_accepting(FIX / name) == [expected]


def test_sniff_ignores_file_name(tmp_path: Path) -> None:
    p = tmp_path / "settlement.txt"
    p.write_bytes((FIX / "fba_inventory_planning.txt").read_bytes())
    assert amazon_readers_accepting(p) == ["amazon_fba_inventory"]


# --------------------------------------------------------------------------------------- settlement


@needs_real
@pytest.mark.parametrize(
    ("name", "total", "lines", "fees", "refunds", "rows"),
    [
        ("50011020300.txt", -321.69, 3, 2, 0, 4),
        ("50018020314.txt", -62.31, 16, 8, 1, 16),
        ("50034020328.txt", 1016.08, 192, 94, 1, 190),
    ],
)
def test_settlement_real(name: str, total: float, lines: int, fees: int, refunds: int, rows: int) -> None:
    res = reader("amazon_settlement_v1").read(SETTLEMENTS / name, CA)
    assert res.rows_read == rows
    assert res.quarantine == []
    assert res.expected_money == total
    assert check_accounting(res) == 0
    t = res.tables
    assert len(t["payouts"]) == 1 and t["payouts"]["total_amount"].iloc[0] == total
    assert len(t["settlement_lines"]) == lines
    assert len(t["fees"]) == fees
    assert len(t["refunds"]) == refunds
    assert set(t["settlement_lines"]["category"]) <= {
        "sales",
        "tax",
        "shipping",
        "fee",
        "refund",
        "promotion",
        "advertising",
        "storage",
        "reimbursement",
        "transfer",
        "other",
    }
    assert (t["settlement_lines"]["currency"] == "CAD").all()


@needs_real
def test_settlement_real_exact_rows() -> None:
    res = reader("amazon_settlement_v1").read(SETTLEMENTS / "50018020314.txt", CA)
    p = res.tables["payouts"].iloc[0]
    assert p["settlement_id"] == "23874397121"
    # 2025-07-31T22:07:18+00:00 is 18:07 in Toronto; deposit 2025-08-16T22:07:18+00:00
    assert (str(p["start_date"].date()), str(p["end_date"].date()), str(p["deposit_date"].date())) == (
        "2025-07-31",
        "2025-08-14",
        "2025-08-16",
    )
    fees = res.tables["fees"]
    ad = fees[fees["description"] == "Cost of Advertising"]
    assert records(ad, ["date", "fee_type", "amount", "source_row"]) == [
        {"date": "2025-08-13 00:00:00", "fee_type": "advertising", "amount": 1.16, "source_row": 16}
    ]
    # the commission given back on a refund is a negative cost
    credit = fees[(fees["order_id"] == "702-1278184-4976266") & (fees["description"] == "Commission")]
    assert credit[["fee_type", "amount"]].values.tolist() == [["referral", -9.63]]
    assert records(res.tables["refunds"], ["date", "order_id", "sku", "amount", "source_row"]) == [
        {
            "date": "2025-08-14 00:00:00",
            "order_id": "702-1278184-4976266",
            "sku": "SALTT30-MELN",
            "amount": 60.0,
            "source_row": 10,
        }
    ]
    sl = res.tables["settlement_lines"]
    tax = sl[sl["amount_description"] == "TaxAmount"]
    assert tax[["transaction_type", "amount_type", "category", "amount"]].values.tolist() == [
        ["ServiceFee", "OtherFee", "tax", -0.14]
    ]
    # the quantity-only row loads with amount 0 and carries the quantity
    q = sl[sl["amount_type"] == "Quantity"]
    assert q[["order_id", "quantity", "amount", "source_row"]].values.tolist() == [
        ["702-1101758-6751437", 1, 0.0, 3]
    ]


@needs_real
def test_settlement_real_quirks() -> None:
    # an empty line inside the data (line 99) is not a row; trailing spaces in "321.69    "
    res = reader("amazon_settlement_v1").read(SETTLEMENTS / "50034020328.txt", CA)
    sl = res.tables["settlement_lines"]
    assert 99 not in set(sl["source_row"])
    assert sl["source_row"].max() == 192
    charge = sl[sl["transaction_type"] == "Successful charge"]
    assert charge[["category", "amount"]].values.tolist() == [["transfer", 62.31]]
    dmg = sl[sl["transaction_type"] == "WAREHOUSE_DAMAGE"]
    assert dmg["category"].tolist() == ["reimbursement"]
    fees = res.tables["fees"].groupby("fee_type")["amount"].sum().round(2).to_dict()
    assert fees == {"advertising": 410.23, "fulfillment": 314.89, "other": 2.61, "referral": 342.2}
    # 50011 is the 33-column layout (no promotion columns)
    res = reader("amazon_settlement_v1").read(SETTLEMENTS / "50011020300.txt", CA)
    f = res.tables["fees"]
    assert sorted(f[["fee_type", "amount"]].values.tolist()) == [
        ["fulfillment", 321.69],
        ["subscription", 32.09],
    ]


def test_settlement_dotted_dates_and_comma_decimals() -> None:
    res = reader("amazon_settlement_v1").read(FIX / "settlement_v1_de.txt", DE)
    assert res.rows_read == 15 and res.quarantine == []
    assert check_accounting(res) == 0
    assert res.expected_money == 3.75
    assert records(
        res.tables["payouts"], ["settlement_id", "start_date", "end_date", "deposit_date", "total_amount"]
    ) == [
        {
            "settlement_id": "9876543210",
            "start_date": "2025-07-01 00:00:00",
            "end_date": "2025-07-15 00:00:00",
            "deposit_date": "2025-07-17 00:00:00",
            "total_amount": 3.75,
        }
    ]
    sl = res.tables["settlement_lines"]
    assert records(
        sl,
        [
            "source_row",
            "posted_date",
            "transaction_type",
            "amount_description",
            "category",
            "amount",
            "quantity",
        ],
    ) == [
        {
            "source_row": 3,
            "posted_date": "2025-07-05 00:00:00",
            "transaction_type": "Order",
            "amount_description": "quantity-purchased",
            "category": "sales",
            "amount": 0.0,
            "quantity": 1,
        },
        {
            "source_row": 4,
            "posted_date": "2025-07-05 00:00:00",
            "transaction_type": "Order",
            "amount_description": "Principal",
            "category": "sales",
            "amount": 19.99,
            "quantity": None,
        },
        {
            "source_row": 5,
            "posted_date": "2025-07-05 00:00:00",
            "transaction_type": "Order",
            "amount_description": "Tax",
            "category": "tax",
            "amount": 3.8,
            "quantity": None,
        },
        {
            "source_row": 6,
            "posted_date": "2025-07-05 00:00:00",
            "transaction_type": "Order",
            "amount_description": "Commission",
            "category": "fee",
            "amount": -3.0,
            "quantity": None,
        },
        {
            "source_row": 7,
            "posted_date": "2025-07-05 00:00:00",
            "transaction_type": "Order",
            "amount_description": "FBAPerUnitFulfillmentFee",
            "category": "fee",
            "amount": -2.7,
            "quantity": None,
        },
        {
            "source_row": 8,
            "posted_date": "2025-07-12 00:00:00",
            "transaction_type": "Refund",
            "amount_description": "Principal",
            "category": "refund",
            "amount": -19.99,
            "quantity": None,
        },
        {
            "source_row": 9,
            "posted_date": "2025-07-12 00:00:00",
            "transaction_type": "Refund",
            "amount_description": "quantity-purchased",
            "category": "refund",
            "amount": 0.0,
            "quantity": 1,
        },
        {
            "source_row": 10,
            "posted_date": "2025-07-12 00:00:00",
            "transaction_type": "Refund",
            "amount_description": "Commission",
            "category": "fee",
            "amount": 3.0,
            "quantity": None,
        },
        {
            "source_row": 11,
            "posted_date": "2025-07-12 00:00:00",
            "transaction_type": "Refund",
            "amount_description": "RefundCommission",
            "category": "fee",
            "amount": -0.6,
            "quantity": None,
        },
        {
            "source_row": 12,
            "posted_date": "2025-07-07 00:00:00",
            "transaction_type": "Storage Fee",
            "amount_description": "Storage Fee",
            "category": "storage",
            "amount": -1.25,
            "quantity": None,
        },
        {
            "source_row": 13,
            "posted_date": "2025-07-07 00:00:00",
            "transaction_type": "StorageRenewalBilling",
            "amount_description": "StorageRenewalBilling",
            "category": "storage",
            "amount": -0.5,
            "quantity": None,
        },
        {
            "source_row": 14,
            "posted_date": "2025-07-15 00:00:00",
            "transaction_type": "Previous Reserve Amount Balance",
            "amount_description": "Previous Reserve Amount Balance",
            "category": "transfer",
            "amount": 10.0,
            "quantity": None,
        },
        {
            "source_row": 15,
            "posted_date": "2025-07-15 00:00:00",
            "transaction_type": "Current Reserve Amount",
            "amount_description": "Current Reserve Amount",
            "category": "transfer",
            "amount": -10.0,
            "quantity": None,
        },
        {
            "source_row": 17,
            "posted_date": "2025-07-14 00:00:00",
            "transaction_type": "REVERSAL_REIMBURSEMENT",
            "amount_description": "REVERSAL_REIMBURSEMENT",
            "category": "reimbursement",
            "amount": 5.0,
            "quantity": None,
        },
    ]
    assert records(res.tables["fees"], ["source_row", "date", "order_id", "sku", "fee_type", "amount"]) == [
        {
            "source_row": 6,
            "date": "2025-07-05 00:00:00",
            "order_id": "302-1111111-2222222",
            "sku": "DE-1001",
            "fee_type": "referral",
            "amount": 3.0,
        },
        {
            "source_row": 7,
            "date": "2025-07-05 00:00:00",
            "order_id": "302-1111111-2222222",
            "sku": "DE-1001",
            "fee_type": "fulfillment",
            "amount": 2.7,
        },
        {
            "source_row": 10,
            "date": "2025-07-12 00:00:00",
            "order_id": "302-3333333-4444444",
            "sku": "DE-1002",
            "fee_type": "referral",
            "amount": -3.0,
        },
        {
            "source_row": 11,
            "date": "2025-07-12 00:00:00",
            "order_id": "302-3333333-4444444",
            "sku": "DE-1002",
            "fee_type": "referral",
            "amount": 0.6,
        },
        {
            "source_row": 12,
            "date": "2025-07-07 00:00:00",
            "order_id": "",
            "sku": "",
            "fee_type": "storage",
            "amount": 1.25,
        },
        {
            "source_row": 13,
            "date": "2025-07-07 00:00:00",
            "order_id": "",
            "sku": "",
            "fee_type": "long_term_storage",
            "amount": 0.5,
        },
    ]
    assert records(
        res.tables["refunds"], ["source_row", "date", "order_id", "sku", "quantity", "amount"]
    ) == [
        {
            "source_row": 8,
            "date": "2025-07-12 00:00:00",
            "order_id": "302-3333333-4444444",
            "sku": "DE-1002",
            "quantity": 1,
            "amount": 19.99,
        }
    ]


def test_settlement_currency_mismatch_names_file_column_and_currencies() -> None:
    with pytest.raises(IngestError) as e:
        reader("amazon_settlement_v1").read(FIX / "settlement_v1_de.txt", US)
    msg = str(e.value)
    assert "settlement_v1_de.txt" in msg and "'currency'" in msg and "EUR" in msg and "USD" in msg


def test_settlement_bad_cells_quarantined(tmp_path: Path) -> None:
    lines = (FIX / "settlement_v1_de.txt").read_text().split("\n")
    lines[4] = lines[4].replace("3,80 ", "drei")  # Tax amount (line 5)
    lines[11] = lines[11].replace("07.07.2025", "31.02.2025")  # Storage Fee posted date (line 12)
    p = tmp_path / "s.txt"
    p.write_text("\n".join(lines))
    res = reader("amazon_settlement_v1").read(p, DE)
    got = sorted((q.source_row, q.column) for q in res.quarantine)
    assert got == [(5, "price-amount"), (12, "posted-date")]
    assert "drei" in next(q.reason for q in res.quarantine if q.source_row == 5)
    assert check_accounting(res) == round(-(3.80 - 1.25), 6)  # exactly the quarantined money is missing


# ------------------------------------------------------------------------------------------- orders

ORDER_COLS = [
    "order_id",
    "line_id",
    "sku",
    "order_date",
    "order_ts",
    "status",
    "quantity",
    "gross_sales",
    "discounts",
    "tax",
    "shipping_charged",
    "fulfillment_channel",
    "source_row",
]


def test_orders_fixture_exact_rows() -> None:
    res = reader("amazon_orders").read(FIX / "all_orders_report.txt", US)
    assert res.rows_read == 6 and res.quarantine == []
    assert res.expected_money == pytest.approx(170.97)
    assert check_accounting(res) == 0
    o = res.tables["orders"]
    assert set(o["platform"]) == {"amazon"} and set(o["store_id"]) == {"AMZ-US-01"}
    assert set(o["marketplace"]) == {"US"} and set(o["currency"]) == {"USD"}
    assert records(o, ORDER_COLS) == [
        # 06:30 UTC is 23:30 the day before in Los Angeles
        {
            "order_id": "111-0000001-0000001",
            "line_id": "HK-1001",
            "sku": "HK-1001",
            "order_date": "2025-06-30 00:00:00",
            "order_ts": "2025-06-30 23:30:00",
            "status": "shipped",
            "quantity": 2,
            "gross_sales": 59.98,
            "discounts": 6.0,
            "tax": 5.4,
            "shipping_charged": 0.0,
            "fulfillment_channel": "FBA",
            "source_row": 2,
        },
        {
            "order_id": "111-0000001-0000001",
            "line_id": "HK-1001#2",
            "sku": "HK-1001",
            "order_date": "2025-06-30 00:00:00",
            "order_ts": "2025-06-30 23:30:00",
            "status": "shipped",
            "quantity": 1,
            "gross_sales": 29.99,
            "discounts": 0.0,
            "tax": 2.7,
            "shipping_charged": 0.0,
            "fulfillment_channel": "FBA",
            "source_row": 3,
        },
        {
            "order_id": "111-0000002-0000002",
            "line_id": "KT-2001",
            "sku": "KT-2001",
            "order_date": "2025-07-01 00:00:00",
            "order_ts": "2025-07-01 01:15:00",
            "status": "delivered",
            "quantity": 1,
            "gross_sales": 45.0,
            "discounts": 0.0,
            "tax": 4.05,
            "shipping_charged": 4.99,
            "fulfillment_channel": "FBM",
            "source_row": 4,
        },
        {
            "order_id": "111-0000003-0000003",
            "line_id": "KT-2002",
            "sku": "KT-2002",
            "order_date": "2025-07-02 00:00:00",
            "order_ts": "2025-07-02 17:00:00",
            "status": "pending",
            "quantity": 3,
            "gross_sales": 36.0,
            "discounts": 0.0,
            "tax": 0.0,
            "shipping_charged": 0.0,
            "fulfillment_channel": "FBA",
            "source_row": 5,
        },
        {
            "order_id": "111-0000004-0000004",
            "line_id": "KT-2002",
            "sku": "KT-2002",
            "order_date": "2025-07-02 00:00:00",
            "order_ts": "2025-07-02 16:59:00",
            "status": "cancelled",
            "quantity": 1,
            "gross_sales": 0.0,
            "discounts": 0.0,
            "tax": 0.0,
            "shipping_charged": 0.0,
            "fulfillment_channel": "FBA",
            "source_row": 6,
        },
        # order shipped but this item cancelled
        {
            "order_id": "111-0000005-0000005",
            "line_id": "KT-2001",
            "sku": "KT-2001",
            "order_date": "2025-07-03 00:00:00",
            "order_ts": "2025-07-03 05:00:00",
            "status": "cancelled",
            "quantity": 1,
            "gross_sales": 0.0,
            "discounts": 0.0,
            "tax": 0.0,
            "shipping_charged": 0.0,
            "fulfillment_channel": "FBA",
            "source_row": 7,
        },
    ]


def test_orders_negative_quantity_and_bad_date_quarantined() -> None:
    res = reader("amazon_orders").read(FIX / "all_orders_report_bad_rows.txt", US)
    assert res.rows_read == 4  # the blank line 4 is not a row
    assert sorted(int(x) for x in res.tables["orders"]["source_row"]) == [2, 6]
    q = sorted(res.quarantine, key=lambda r: r.source_row)
    assert [(r.source_row, r.column) for r in q] == [(3, "quantity"), (5, "purchase-date")]
    assert "negative" in q[0].reason and "-1" in q[0].reason
    assert "2025-13-45T99:00:00+00:00" in q[1].reason and "expected" in q[1].reason
    assert q[0].raw["amazon-order-id"] == "112-0000002-0000002" and q[0].raw["quantity"] == "-1"
    assert check_accounting(res) == -(45.0 + 24.0)


def test_orders_currency_mismatch(tmp_path: Path) -> None:
    p = tmp_path / "o.txt"
    p.write_text((FIX / "all_orders_report.txt").read_text().replace("\tUSD\t", "\tCAD\t"))
    with pytest.raises(IngestError, match="CAD.*USD"):
        reader("amazon_orders").read(p, US)


# ---------------------------------------------------------------------------------------- inventory


def test_inventory_fixture_exact_rows() -> None:
    res = reader("amazon_fba_inventory").read(FIX / "fba_inventory_planning.txt", US)
    assert res.rows_read == 3 and res.quarantine == [] and res.money_columns == []
    assert check_accounting(res) == 0
    cols = [
        "date",
        "sku",
        "sellable",
        "inbound",
        "reserved",
        "unfulfillable",
        "age_0_90",
        "age_91_180",
        "age_181_365",
        "age_365_plus",
        "source_row",
    ]
    assert records(res.tables["inventory"], cols) == [
        {
            "date": "2025-07-31 00:00:00",
            "sku": "HK-1001",
            "sellable": 120,
            "inbound": 50,
            "reserved": 7,
            "unfulfillable": 2,
            "age_0_90": 80,
            "age_91_180": 30,
            "age_181_365": 10,
            "age_365_plus": 0,
            "source_row": 2,
        },
        {
            "date": "2025-07-31 00:00:00",
            "sku": "KT-2001",
            "sellable": 0,
            "inbound": 200,
            "reserved": 0,
            "unfulfillable": 0,
            "age_0_90": 0,
            "age_91_180": 0,
            "age_181_365": 0,
            "age_365_plus": 0,
            "source_row": 3,
        },
        {
            "date": "2025-07-31 00:00:00",
            "sku": "KT-2002",
            "sellable": 15,
            "inbound": 0,
            "reserved": 1,
            "unfulfillable": 3,
            "age_0_90": 0,
            "age_91_180": 5,
            "age_181_365": 0,
            "age_365_plus": 10,
            "source_row": 4,
        },
    ]


# ---------------------------------------------------------------------------------- business report


@needs_real
def test_business_report_real() -> None:
    res = reader("amazon_business_report").read(BUSINESS, AE)
    assert res.rows_read == 731 and res.quarantine == []
    assert check_accounting(res) == 0
    assert res.expected_money == pytest.approx(2331739.63)
    t = res.tables["traffic"]
    assert (t["sku"] == "").all() and set(t["currency"]) == {"AED"}
    # day-first: 24/09/2022 .. 23/09/2024, one row per day
    assert str(t["date"].min().date()) == "2022-09-24" and str(t["date"].max().date()) == "2024-09-23"
    assert t["date"].is_unique
    assert records(
        t.head(1), ["date", "sessions", "page_views", "units_ordered", "ordered_sales", "source_row"]
    ) == [
        {
            "date": "2022-09-24 00:00:00",
            "sessions": 4731,
            "page_views": 6930,
            "units_ordered": 38,
            "ordered_sales": 4426.0,
            "source_row": 2,
        }
    ]
    assert int(t["source_row"].max()) == 732  # no final newline


def test_business_report_month_first_decided_by_data(tmp_path: Path) -> None:
    # every day and month <= 12: only the consecutive days tell 01/03/2025 is January 3rd; a DE store
    # would otherwise be read day-first
    rows = [f'01/{d:02d}/2025,"$1,000.00",10,9,200,100' for d in range(1, 6)]
    p = tmp_path / "br.csv"
    p.write_text(
        "\ufeffDate,Ordered Product Sales,Units Ordered,Total Order Items,Page Views - Total,Sessions - Total\n"
        + "\n".join(rows)
        + '\nTotal,"$5,000.00",50,45,1000,500'
    )
    assert amazon_readers_accepting(p) == ["amazon_business_report"]
    res = reader("amazon_business_report").read(p, Store("AMZ-DE-09", "amazon", "DE", "USD", "Europe/Berlin"))
    t = res.tables["traffic"]
    assert [str(d.date()) for d in t["date"]] == [
        "2025-01-01",
        "2025-01-02",
        "2025-01-03",
        "2025-01-04",
        "2025-01-05",
    ]
    assert [(q.source_row, q.reason) for q in res.quarantine] == [(7, "totals row")]
    assert check_accounting(res) == 0


# ------------------------------------------------------------------------------------ text parsing


def test_read_delimited_line_numbers_fast_and_slow_paths(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    # CRLF, a blank line, a row of empty cells, then a quoted newline (slow path): numbers stay physical
    p.write_bytes(b'a,b\r\n1,x\r\n\r\n,\r\n2,"multi\r\nline"\r\n3,y\r\n')
    df = amazon.read_delimited(p, ",", quoted=True)
    assert df["__line"].tolist() == [2, 5, 7] and df["a"].tolist() == ["1", "2", "3"]
    p.write_bytes(b"a,b\r\n1,x\r\n\r\n,\r\n2,z\r\n")  # fast path
    df = amazon.read_delimited(p, ",", quoted=True)
    assert df["__line"].tolist() == [2, 5] and df["b"].tolist() == ["x", "z"]


def test_read_delimited_ragged_and_legacy_encoding(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_bytes('sku\tname\tqty\nA-1\tCaf\u00e9 12" mug\t3\n\nB-2\tshort\n'.encode("latin-1"))
    df = amazon.read_delimited(p, "\t", quoted=False)
    assert df["__line"].tolist() == [2, 4]
    assert df["name"].tolist() == ['Caf\u00e9 12" mug', "short"] and df["qty"].tolist() == ["3", ""]


def test_child_item_business_report_is_not_daily_traffic(tmp_path: Path) -> None:
    # "Detail Page Sales and Traffic by Child Item" has no date: it never becomes daily traffic; its
    # own reader loads it into traffic_by_sku over a stated range (tests/test_readers_amazon_payments.py)
    p = tmp_path / "child.csv"
    p.write_text(
        "(Parent) ASIN,(Child) ASIN,Title,SKU,Sessions - Total,Page Views - Total,Units Ordered,"
        'Ordered Product Sales\nB0P,B0C,Mug,KT-2002,"1,200","1,900",12,"$144.00"\n'
    )
    assert amazon_readers_accepting(p) == ["amazon_business_report_child"]
    with pytest.raises(IngestError, match="date range"):
        reader("amazon_business_report_child").read(p, US)


def test_settlement_without_summary_row_is_an_error(tmp_path: Path) -> None:
    lines = (FIX / "settlement_v1_de.txt").read_text().split("\n")
    p = tmp_path / "s.txt"
    p.write_text("\n".join([lines[0], *lines[2:]]))
    with pytest.raises(IngestError, match="no settlement summary row"):
        reader("amazon_settlement_v1").read(p, DE)
