"""Amazon Ads reports: every report kind into its own grain table, and the spend of record counted once.

Real exports are read in place (../shared/real-exports/amazon-ads: one Amazon.in seller, February
2020, each report totalling ₹47,108.12 of spend); trimmed real SP reports of a US seller and files
written from Amazon's documented column lists are in tests/fixtures/exports/amazon-ads (README there).
Expected numbers are hand-worked or come from pandas.read_excel / hand-written SQL, never from the
loader's own arithmetic.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import needs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import amazon_readers_accepting, check_accounting, reader

from kpi_lib.errors import IngestError
from kpi_lib.ingest.ads_record import PRECEDENCE, rebuild_ads, select_ads_of_record
from kpi_lib.ingest.base import FileHead, ReadResult, Store
from kpi_lib.ingest.pipeline import ingest
from kpi_lib.ingest.readers.amazon.ads import classify, detect_kind
from kpi_lib.ingest.registry import readers
from kpi_lib.schemas import ADS_KINDS, TABLES, conform
from kpi_lib.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real-exports" / "amazon-ads"
ADV = REAL / "Sponsored Products Advertised product report.xlsx"
CAMPAIGN = REAL / "Sponsored Products Campaign report.csv"
SEARCH_TERM = REAL / "Sponsored Products Search term report.xlsx"
FIX = ROOT / "tests" / "fixtures" / "exports" / "amazon-ads"

IN = Store("AMZ-IN-01", "amazon", "IN", "INR", "Asia/Kolkata")
US = Store("AMZ-US-01", "amazon", "US", "USD", "America/Los_Angeles")
UK = Store("AMZ-UK-01", "amazon", "UK", "GBP", "Europe/London")
DE = Store("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin")

needs_real = needs(REAL.is_dir(), "../shared/real-exports not present")
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")








def only(res: ReadResult) -> pd.DataFrame:
    assert len(res.tables) == 1
    return next(iter(res.tables.values()))


STORES = [
    ("AMZ-IN-01", "amazon", "IN", "INR", "Asia/Kolkata"),
    ("AMZ-IN-02", "amazon", "IN", "INR", "Asia/Kolkata"),
    ("AMZ-US-01", "amazon", "US", "USD", "America/Los_Angeles"),
    ("AMZ-UK-01", "amazon", "UK", "GBP", "Europe/London"),
    ("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin"),
]
RATES = {"INR": 0.1, "USD": 7.0, "GBP": 9.0, "EUR": 8.0, "CNY": 1.0}


def make_env(tmp: Path, files: dict[str, list[Path]]) -> tuple[Path, Path, Warehouse]:
    """raw/<store>/ with symlinks to the files (read in place), a reference dir, a warehouse."""
    ref = tmp / "ref"
    ref.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        [
            {
                "store_id": s,
                "store_name": s,
                "platform": p,
                "marketplace": m,
                "currency": c,
                "timezone": tz,
                "launch_date": "2019-01-01",
                "team_id": "T1",
            }
            for s, p, m, c, tz in STORES
        ]
    ).to_csv(ref / "stores.csv", index=False)
    months = [f"{y}-{m:02d}" for y in (2019, 2020, 2024) for m in range(1, 13)]
    pd.DataFrame([{"month": m, "currency": c, "rate": r} for m in months for c, r in RATES.items()]).to_csv(
        ref / "fx_rates.csv", index=False
    )
    raw = tmp / "raw"
    for store, paths in files.items():
        (raw / store).mkdir(parents=True, exist_ok=True)
        for p in paths:
            os.symlink(p, raw / store / p.name)
    return raw, ref, Warehouse(tmp / "wh")


@pytest.fixture()
def kpi_root(project: Path) -> Path:
    return project


# ------------------------------------------------------------------------------------ recognising


def _head(rows: list[list[object]]) -> FileHead:
    return FileHead(Path("x.xlsx"), b"", "", None, [], rows)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (
            ["Date", "Campaign Name", "Ad Group Name", "Advertised SKU", "Impressions", "Clicks", "Spend"],
            "sp_advertised_product",
        ),
        (
            [
                "Start Date",
                "End Date",
                "Campaign Name",
                "Ad Group Name",
                "Retailer",
                "Country",
                "Targeting",
                "Match Type",
                "Customer Search Term",
                "Impressions",
                "Clicks",
                "Spend",
            ],
            "sp_search_term",
        ),
        (
            [
                "Date",
                "Campaign Name",
                "Ad Group Name",
                "Targeting",
                "Match Type",
                "Impressions",
                "Clicks",
                "Spend",
            ],
            "sp_targeting",
        ),
        (
            ["Date", "Campaign Name", "Bidding strategy", "Placement", "Impressions", "Clicks", "Spend"],
            "sp_placement",
        ),
        (["Date", "Clicks", "Cost Per Click (CPC)", "Spend"], "sp_performance_over_time"),
        (
            ["Date", "Campaign Name", "Status", "Impressions", "Clicks", "Spend", "7 Day Total Sales"],
            "sp_campaign",
        ),
        (
            ["Date", "Campaign Name", "Impressions", "Clicks", "Spend", "14 Day New-to-brand Orders (#)"],
            "sb_campaign",
        ),
        (["Date", "Campaign Name", "Cost type", "Impressions", "Clicks", "Spend"], "sb_campaign"),
        (
            [
                "Date",
                "Campaign Name",
                "Cost type",
                "Impressions",
                "Clicks",
                "Spend",
                "14 Day Total Orders (#) - (Click)",
            ],
            "sd_campaign",
        ),
        (["Date", "Campaign Name", "Bid Optimization", "Impressions", "Clicks", "Spend"], "sd_campaign"),
        # not read: no spend of its own / an SB keyword report / an ad group report / no spend column
        (["Date", "Campaign Name", "Advertised ASIN", "Purchased ASIN", "Spend", "Clicks"], None),
        (
            [
                "Date",
                "Campaign Name",
                "Targeting",
                "Match Type",
                "Impressions",
                "Clicks",
                "Spend",
                "14 Day New-to-brand Orders (#)",
            ],
            None,
        ),
        (["Date", "Campaign Name", "Ad Group Name", "Impressions", "Clicks", "Spend"], None),
        (["Date", "Campaign Name", "Impressions", "Clicks"], None),
    ],
)
def test_classify(header: list[str], kind: str | None) -> None:
    assert classify([h.lower() for h in header]) == kind
    names = [r.name for r in readers() if r.name.startswith("amazon") and r.sniff(_head([header, []]))]
    assert names == ([f"amazon_{kind}"] if kind else [])


def test_campaign_type_column_decides() -> None:
    header = ["Date", "Campaign Type", "Campaign Name", "Impressions", "Clicks", "Spend"]
    assert detect_kind(_head([header, ["2024-09-01", "Sponsored Brands", "C", 1, 1, 1.0]])) == "sb_campaign"
    assert detect_kind(_head([header, ["2024-09-01", "Sponsored Products", "C", 1, 1, 1.0]])) == "sp_campaign"


@needs_real
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (ADV, "amazon_sp_advertised_product"),
        (CAMPAIGN, "amazon_sp_campaign"),
        (SEARCH_TERM, "amazon_sp_search_term"),
    ],
    ids=lambda x: x.name if isinstance(x, Path) else None,
)
def test_sniff_real_exports(path: Path, expected: str) -> None:
    assert amazon_readers_accepting(path) == [expected]


# ----------------------------------------------------------------------------- real shared exports


@needs_real
def test_advertised_product_real() -> None:
    res = reader("amazon_sp_advertised_product").read(ADV, IN)
    assert res.rows_read == 265 and res.quarantine == []
    assert check_accounting(res) == 0
    ads = res.tables["ads_advertised_product"]
    assert len(ads) == 265 and set(ads["currency"]) == {"INR"} and set(ads["attribution_days"]) == {14}
    assert round(ads["spend"].sum(), 2) == 47108.12 and round(ads["ad_sales"].sum(), 2) == 71129.81
    assert int(ads["ad_units"].sum()) == 224
    first = ads.iloc[0]
    assert (str(first["date"].date()), first["campaign"], first["ad_group"], first["sku"], first["asin"]) == (
        "2020-02-01",
        "Pain relief Oil || SP || Generic || 22nd Nov'19",
        "Pain Relief Oil -SP-Generic",
        "",
        "B07B7NSLLP",
    )
    assert (
        first["impressions"],
        first["clicks"],
        first["spend"],
        first["ad_sales"],
        first["source_row"],
    ) == (1336, 3, 112.97, 0.0, 2)
    assert (ads["start_date"] == ads["date"]).all() and (ads["end_date"] == ads["date"]).all()


@needs_real
def test_campaign_report_real() -> None:
    res = reader("amazon_sp_campaign").read(CAMPAIGN, IN)
    assert res.rows_read == 182 and res.quarantine == []
    assert check_accounting(res) == 0
    ads = res.tables["ads_campaign"]
    assert round(ads["spend"].sum(), 2) == 47108.12 and round(ads["ad_sales"].sum(), 2) == 71129.81
    first = ads.iloc[0]
    # the day is "Date"; the report's Start Date (Jan 18) is the campaign's start, not a range
    assert (
        str(first["date"].date()),
        first["spend"],
        first["ad_sales"],
        first["clicks"],
        first["status"],
    ) == ("2020-02-01", 201.68, 961.62, 13, "ENABLED")
    assert set(ads["campaign_type"]) == {"Sponsored Products"}


@needs_real
def test_search_term_report_real() -> None:
    res = reader("amazon_sp_search_term").read(SEARCH_TERM, IN)
    assert res.rows_read == 923 and res.quarantine == []
    assert check_accounting(res) == 0
    st_ = res.tables["ads_search_term"]
    assert round(st_["spend"].sum(), 2) == 47108.12
    # total sales, not the "Advertised ASIN" / "Brand Halo" split columns
    assert round(st_["ad_sales"].sum(), 2) == 70853.92
    first = st_.iloc[0]
    assert (first["targeting"], first["match_type"], first["customer_search_term"], first["spend"]) == (
        "knee pain oil",
        "EXACT",
        "knee pain oil",
        31.35,
    )
    assert ((st_["match_type"] == "-") & (st_["targeting"] == "*")).any()  # automatic targeting rows


@needs_real
def test_currency_mismatch() -> None:
    with pytest.raises(IngestError, match="INR.*USD|USD.*INR"):
        reader("amazon_sp_campaign").read(CAMPAIGN, US)
    with pytest.raises(IngestError, match="INR.*USD|USD.*INR"):
        reader("amazon_sp_search_term").read(SEARCH_TERM, US)


@needs_real
def test_three_shared_files_under_one_store(kpi_root: Path, tmp_path: Path) -> None:
    raw, ref, wh = make_env(tmp_path, {"AMZ-IN-01": [ADV, CAMPAIGN, SEARCH_TERM]})
    s = ingest(raw, wh, reference=ref)
    by_reader = {f.reader: f for f in s.files}
    assert set(by_reader) == {"amazon_sp_advertised_product", "amazon_sp_campaign", "amazon_sp_search_term"}
    for f in s.files:
        assert f.error is None and f.rows_quarantined == 0 and f.rows_duplicate == 0
        assert f.rows_read == f.rows_loaded and f.reconciliation["difference"] == 0.0
    con = wh.connect()
    # each file in its own grain table, each with its own Spend sum
    for table, rows in (("ads_advertised_product", 265), ("ads_campaign", 182), ("ads_search_term", 923)):
        n, spend = con.execute(f"SELECT count(*), round(sum(spend), 2) FROM {table}").fetchone()
        assert (n, spend) == (rows, 47108.12)
    # the store's spend of record: once, from the finest grain (advertised product)
    assert con.execute("SELECT round(sum(spend), 2), round(sum(spend_rc), 2) FROM ads").fetchone() == (
        47108.12,
        4710.81,
    )
    assert con.execute("SELECT DISTINCT ads_source FROM ads").fetchall() == [("sp_advertised_product",)]
    # re-ingesting is a no-op
    s2 = ingest(raw, wh, reference=ref)
    assert all(f.unchanged for f in s2.files)
    assert wh.connect().execute("SELECT round(sum(spend), 2) FROM ads").fetchone() == (47108.12,)


@needs_real
def test_store_with_only_search_terms_gets_spend_sales_and_acos(kpi_root: Path, tmp_path: Path) -> None:
    from kpi_lib.metrics import compute

    raw, ref, wh = make_env(
        tmp_path,
        {"AMZ-IN-02": [SEARCH_TERM], "AMZ-UK-01": [FIX / "uk-sp-search-term-summary.csv"]},
    )
    s = ingest(raw, wh, reference=ref)
    assert all(f.error is None for f in s.files)
    k = compute(["ad_spend", "ad_sales", "acos"], by=["store_id"], period="month", warehouse=wh)
    k = k.set_index(["store_id", "period"])
    inr = k.loc[("AMZ-IN-02", "2020-02")]
    assert inr["ad_spend"] == pytest.approx(47108.12 * 0.1)
    assert inr["ad_sales"] == pytest.approx(70853.92 * 0.1)
    assert inr["acos"] == pytest.approx(47108.12 / 70853.92)
    # summary layout: hand-worked sums of the file's Spend / 7 Day Total Sales (£) columns
    gbp = k.loc[("AMZ-UK-01", "2024-08")]
    assert gbp["ad_spend"] == pytest.approx((24.80 + 6.66 + 1.65 + 1.22 + 3.60) * 9.0)
    assert gbp["ad_sales"] == pytest.approx((1049.65 + 59.97 + 0 + 19.99 + 29.99) * 9.0)
    assert gbp["acos"] == pytest.approx(37.93 / 1159.60)


# --------------------------------------------------------------------------- per reader, fixtures

# (file, store, reader, rows, spend, ad_sales): spend / sales summed with pandas.read_excel on the
# untrimmed-then-trimmed rows (see the README) or by hand for the hand-written files
FIXTURES = [
    ("us-2019-10-sp-advertised-product.xlsx", US, "amazon_sp_advertised_product", 181, 128.90, 50.99),
    ("us-2019-10-sp-campaign.csv", US, "amazon_sp_campaign", 37, 128.90, 50.99),
    ("us-2019-10-sp-targeting.xlsx", US, "amazon_sp_targeting", 135, 128.90, 50.99),
    ("us-2019-10-sp-search-term.xlsx", US, "amazon_sp_search_term", 102, 128.90, 50.99),
    ("us-2019-10-sp-placement.xlsx", US, "amazon_sp_placement", 97, 128.90, 50.99),
    ("us-2019-10-sp-performance-over-time.xlsx", US, "amazon_sp_performance_over_time", 31, 712.99, None),
    ("uk-sp-search-term-summary.csv", UK, "amazon_sp_search_term", 5, 37.93, 1159.60),
    (
        "us-sb-campaign.xlsx",
        US,
        "amazon_sb_campaign",
        4,
        31.05 + 40.12 + 25.74 + 37.43,
        119.94 + 79.98 + 39.99,
    ),
    (
        "de-sd-campaign.csv",
        DE,
        "amazon_sd_campaign",
        4,
        18.62 + 9.90 + 17.74 + 8.25,
        150.10 + 29.99 + 1199.92,
    ),
]


@pytest.mark.parametrize(
    ("name", "store", "reader_name", "rows", "spend", "sales"), FIXTURES, ids=[f[0] for f in FIXTURES]
)
def test_fixture(
    name: str, store: Store, reader_name: str, rows: int, spend: float, sales: float | None
) -> None:
    path = FIX / name
    assert amazon_readers_accepting(path) == [reader_name]
    res = reader(reader_name).read(path, store)
    df = only(res)
    assert res.rows_read == rows and len(df) == rows and res.quarantine == []
    assert check_accounting(res) == 0  # reconciliation 0.00 against the independent parse
    assert round(df["spend"].sum(), 2) == round(spend, 2)
    assert res.expected_money == pytest.approx(spend + (sales or 0.0))
    if sales is None:
        assert df["ad_sales"].isna().all()  # the report has no sales column: missing, not zero
    else:
        assert round(df["ad_sales"].sum(), 2) == round(sales, 2)
    assert set(df["currency"]) == {store.currency}


def test_real_us_fixture_dimensions() -> None:
    camp = only(reader("amazon_sp_campaign").read(FIX / "us-2019-10-sp-campaign.csv", US))
    adv = only(reader("amazon_sp_advertised_product").read(FIX / "us-2019-10-sp-advertised-product.xlsx", US))
    # the CSV writes 63\"" x 27.5\"" …: it must be the same campaign as in the xlsx reports
    assert set(camp["campaign"]) == set(adv["campaign"])
    assert '63" x 27.5" -key words 3 manual' in set(camp["campaign"])
    pl = only(reader("amazon_sp_placement").read(FIX / "us-2019-10-sp-placement.xlsx", US))
    assert {"Top of Search on-Amazon", "Detail Page on-Amazon", "Other on-Amazon"} & set(pl["placement"]) or (
        set(pl["placement"]) >= {"Product pages on Amazon"}
    )
    assert set(pl["bidding_strategy"]) <= {
        "Dynamic bids - down only",
        "Dynamic bids - up and down",
        "Fixed bids",
    }
    tg = only(reader("amazon_sp_targeting").read(FIX / "us-2019-10-sp-targeting.xlsx", US))
    assert {"EXACT", "PHRASE", "BROAD", "-"} & set(tg["match_type"]) and (tg["targeting"] != "").all()
    assert set(tg["attribution_days"]) == {7}
    pot = only(
        reader("amazon_sp_performance_over_time").read(FIX / "us-2019-10-sp-performance-over-time.xlsx", US)
    )
    assert (pot["campaign"] == "").all() and pot["date"].is_unique and pot["impressions"].isna().all()


def test_summary_layout_keeps_its_range() -> None:
    df = only(reader("amazon_sp_search_term").read(FIX / "uk-sp-search-term-summary.csv", UK))
    summary = df[df["date"].isna()]
    assert len(summary) == 4
    assert set(summary["start_date"].dt.strftime("%Y-%m-%d")) == {"2024-08-01"}
    assert set(summary["end_date"].dt.strftime("%Y-%m-%d")) == {"2024-08-31"}
    one_day = df[df["date"].notna()]  # Aug 15 .. Aug 15 is a daily row
    assert one_day["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-08-15"]
    assert set(df["retailer"]) == {"Amazon"} and set(df["country"]) == {"United Kingdom"}
    assert df.loc[0, "impressions"] == 1204 and df.loc[0, "ad_sales"] == 1049.65


def test_totals_row_that_disagrees_reports_the_difference(kpi_root: Path, tmp_path: Path) -> None:
    p = tmp_path / "files" / "campaigns.csv"
    p.parent.mkdir()
    p.write_text(
        "Sponsored Products Campaign report\n"  # a title line above the header
        "Date,Campaign Name,Status,Impressions,Clicks,Spend,7 Day Total Sales ($),7 Day Total Orders (#)\n"
        '2024-09-01,C1,ENABLED,"1,000",10,$5.00,$20.00,1\n'
        "2024-09-01,C2,ENABLED,500,4,$2.50,$0.00,0\n"
        "Total,,,1500,14,$8.50,$20.00,1\n"  # says 8.50 of spend; the rows hold 7.50
    )
    res = reader("amazon_sp_campaign").read(p, US)
    assert res.rows_read == 3 and [(q.source_row, q.reason) for q in res.quarantine] == [(5, "totals row")]
    assert res.expected_money == pytest.approx(28.50)
    assert check_accounting(res) == -1.0
    raw, ref, wh = make_env(tmp_path / "env", {"AMZ-US-01": [p]})
    f = ingest(raw, wh, reference=ref).files[0]
    assert f.reconciliation == {"expected": 28.5, "loaded": 27.5, "difference": 1.0}
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)


def test_csv_variants_and_bad_rows(tmp_path: Path) -> None:
    """7-day attribution, trailing spaces, an empty and an added column, a totals row, bad cells."""
    text = (
        "Date ,Campaign Name,Ad Group Name,Advertised SKU,Advertised ASIN,,Impressions,Clicks,Spend,"
        "7 Day Total Sales ($) ,Total Advertising Cost of Sales (ACOS) ,7 Day Total Orders (#),7 Day Total Units (#),My note\n"
        '2025-07-01,C1,G1,HK-1001,B0TEST1001,,"1,200",30,$15.00,$60.00,25.00%,2,3,x\n'
        "2025-07-01,C1,G1,HK-1002,B0TEST1002,,800,0,$0.00,$0.00,,0,0,\n"
        "2025-07-02,C1,G1,HK-1002,B0TEST1002,,-5,1,$1.00,$0.00,,0,0,\n"
        "not a date,C1,G1,HK-1002,B0TEST1002,,5,1,$2.00,$0.00,,0,0,\n"
        "\n"
        "Total,,,,,,2000,30,$18.00,$60.00,,2,3,\n"
    )
    p = tmp_path / "ads.csv"
    p.write_text(text)
    assert amazon_readers_accepting(p) == ["amazon_sp_advertised_product"]
    res = reader("amazon_sp_advertised_product").read(p, US)
    assert res.rows_read == 5
    assert [(q.source_row, q.column) for q in res.quarantine] == [
        (4, "Impressions"),
        (5, "Date "),
        (7, "Date "),
    ]
    assert res.quarantine[-1].reason == "totals row"
    df = only(res)
    assert df[["sku", "impressions", "spend", "ad_sales", "ad_units", "source_row"]].values.tolist() == [
        ["HK-1001", 1200, 15.0, 60.0, 3, 2],
        ["HK-1002", 800, 0.0, 0.0, 0, 3],
    ]
    # the file's total says 18.00 + 60.00; the quarantined rows' 3.00 is the difference
    assert check_accounting(res) == -3.0


def test_xlsx_preamble_and_serial_dates(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Sponsored Products advertised product report"])
    ws.append([])
    ws.append(
        [
            "Date",
            "Campaign Name",
            "Ad Group Name",
            "Advertised SKU",
            "Advertised ASIN",
            "Impressions",
            "Clicks",
            "Spend",
            "7 Day Total Sales ",
            "7 Day Total Orders (#)",
            "7 Day Total Units (#)",
        ]
    )
    ws.append([dt.datetime(2025, 7, 1), "C", "G", "S1", "A1", 10, 1, 1.5, 3.0, 1, 1])
    ws.append([])
    ws.append([45839, "C", "G", "S2", "A2", 10, 1, "2.5", None, 0, 0])  # a serial date, spend typed as text
    p = tmp_path / "report.xlsx"
    wb.save(p)
    res = reader("amazon_sp_advertised_product").read(p, US)
    assert res.rows_read == 2 and res.quarantine == [] and check_accounting(res) == 0
    df = only(res)
    assert df["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-07-01", "2025-07-01"]
    assert df["source_row"].tolist() == [4, 6] and df["spend"].tolist() == [1.5, 2.5]


def test_currency_symbols_checked(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="GBP"):
        reader("amazon_sp_search_term").read(FIX / "uk-sp-search-term-summary.csv", US)
    with pytest.raises(IngestError, match="EUR"):
        reader("amazon_sd_campaign").read(FIX / "de-sd-campaign.csv", US)
    # "$" is any dollar: a CAD store's "($)" header is fine, a Currency column saying USD is not
    ca = Store("AMZ-CA-01", "amazon", "CA", "CAD", "America/Toronto")
    p = tmp_path / "ca.csv"
    p.write_text(
        "Date,Campaign Name,Impressions,Clicks,Spend,14 Day Total Sales ($),14 Day New-to-brand Orders (#)\n"
        "2024-09-01,SB1,100,3,$4.50,$20.00,1\n"
    )
    assert only(reader("amazon_sb_campaign").read(p, ca))["spend"].tolist() == [4.5]
    with pytest.raises(IngestError, match="USD"):
        reader("amazon_sb_campaign").read(FIX / "us-sb-campaign.xlsx", ca)
    with pytest.raises(IngestError, match=r"\$|USD"):
        reader("amazon_sb_campaign").read(FIX / "us-sb-campaign.xlsx", DE)


# ------------------------------------------------------------------------------ spend of record


def test_precedence_on_real_us_reports(kpi_root: Path, tmp_path: Path) -> None:
    files = sorted(FIX.glob("us-*"))
    raw, ref, wh = make_env(tmp_path, {"AMZ-US-01": files})
    s = ingest(raw, wh, reference=ref)
    assert all(f.error is None and f.reconciliation["difference"] == 0.0 for f in s.files)
    con = wh.connect()
    # Oct 1-6: advertised product rows of record; other kinds keep their grain only
    got = con.execute(
        "SELECT ads_source, min(date)::VARCHAR, max(date)::VARCHAR, round(sum(spend), 2) FROM ads "
        "WHERE date < '2024-01-01' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    # Oct 7-31 no campaign-grain report: the account-level performance over time fills the days
    pot_rest = con.execute(
        "SELECT round(sum(spend), 2) FROM ads_performance_over_time WHERE date > '2019-10-06'"
    ).fetchone()[0]
    assert got == [
        ("sp_advertised_product", "2019-10-01", "2019-10-06", 128.90),
        ("sp_performance_over_time", "2019-10-07", "2019-10-31", pot_rest),
    ]
    # never two kinds for one store × day × campaign
    assert (
        con.execute(
            "SELECT count(*) FROM (SELECT store_id, date, campaign FROM ads GROUP BY ALL "
            "HAVING count(DISTINCT ads_source) > 1)"
        ).fetchone()[0]
        == 0
    )
    # Sponsored Brands campaigns add to the SP ones
    sb = con.execute("SELECT round(sum(spend), 2) FROM ads WHERE ads_source = 'sb_campaign'").fetchone()[0]
    assert sb == 134.34


def test_summary_rows_only_where_no_daily_source(kpi_root: Path, tmp_path: Path) -> None:
    daily = tmp_path / "files" / "adv.csv"
    daily.parent.mkdir()
    daily.write_text(
        "Date,Campaign Name,Ad Group Name,Advertised SKU,Impressions,Clicks,Spend,7 Day Total Sales (£)\n"
        "2024-08-10,SP | Board | Exact,Core,BOARD-1,100,5,£4.00,£30.00\n"
    )
    raw, ref, wh = make_env(tmp_path, {"AMZ-UK-01": [FIX / "uk-sp-search-term-summary.csv", daily]})
    ingest(raw, wh, reference=ref)
    ads = wh.read("ads")
    by = ads.groupby(["campaign", "ads_source"])["spend"].agg(["sum", "count"]).round(2)
    # "Exact" has a daily advertised product row inside Aug 1-31: its summary rows are not used
    assert by.loc[("SP | Board | Exact", "sp_advertised_product")].tolist() == [4.00, 1]
    assert ("SP | Board | Exact", "sp_search_term") not in by.index
    # "Auto" has only the summary: 1.65 + 1.22 spread over 31 days, adding up to the cent
    auto = ads[ads["campaign"] == "SP | Board | Auto"]
    assert (
        len(auto) == 62
        and round(auto["spend"].sum(), 2) == 2.87
        and round(auto["ad_sales"].sum(), 2) == 19.99
    )
    assert auto["date"].min() == pd.Timestamp("2024-08-01") and auto["date"].max() == pd.Timestamp(
        "2024-08-31"
    )
    assert (auto["range_start"] == pd.Timestamp("2024-08-01")).all() and (
        auto["range_end"] == pd.Timestamp("2024-08-31")
    ).all()
    assert int(auto["impressions"].sum()) == 96 + 58 and int(auto["clicks"].sum()) == 5
    assert (auto["spend"] * 100).round(6).mod(1).eq(0).all()  # whole cents every day
    # "Phrase" is a one-day range: a daily row
    phrase = ads[ads["campaign"] == "SP | Board | Phrase"]
    assert phrase[["spend", "range_start", "range_end"]].values.tolist() == [
        [3.60, pd.Timestamp("2024-08-15"), pd.Timestamp("2024-08-15")]
    ]


def test_rows_written_by_other_readers_are_kept(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    (snap / "ads" / "store_id=X").mkdir(parents=True)
    (snap / "ads_campaign" / "store_id=X").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'shopee' AS platform, DATE '2024-09-01' AS date, 'M' AS campaign, 3.0 AS spend, "
        f"NULL::VARCHAR AS ads_source) TO '{snap}/ads/store_id=X/a.parquet' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT 'amazon' AS platform, DATE '2024-09-01' AS date, DATE '2024-09-01' AS start_date, "
        f"DATE '2024-09-01' AS end_date, 'C' AS campaign, 5.0 AS spend, 1.0 AS fx_rate) "
        f"TO '{snap}/ads_campaign/store_id=X/a.parquet' (FORMAT parquet)"
    )
    assert rebuild_ads(snap) == 2
    got = con.execute(
        f"SELECT campaign, spend, ads_source FROM read_parquet('{snap}/ads/**/*.parquet', "
        "hive_partitioning=true) ORDER BY 1"
    ).fetchall()
    assert got == [("C", 5.0, "sp_campaign"), ("M", 3.0, None)]


# hypothesis: whatever mix of reports a store has, ads = the chosen single source per store × day × campaign

_CAMPAIGNS = ["C1", "C2", "C3", "SB1"]
_DAYS = pd.date_range("2024-09-01", periods=4).tolist()


def _grain_frames(rows: list[tuple[str, str, int, str, int]]) -> dict[str, pd.DataFrame]:
    """(kind, store, day index, campaign, cents) rows → grain table frames with the canonical columns."""
    frames: dict[str, list[dict]] = {}
    for i, (kind, store, d, camp, cents) in enumerate(rows):
        if kind == "sp_performance_over_time":
            camp = ""  # the usual account-level layout
        day = _DAYS[d]
        frames.setdefault(ADS_KINDS[kind], []).append(
            {
                "platform": "amazon",
                "store_id": store,
                "date": day,
                "start_date": day,
                "end_date": day,
                "campaign": camp,
                "spend": cents / 100,
                "ad_sales": 2 * cents / 100,
                "clicks": 1,
                "impressions": 10,
                "currency": "USD",
                "fx_rate": 7.0,
                "source_file": kind,
                "source_row": i + 2,
                "row_key": i,
            }
        )
    out = {}
    for table, recs in frames.items():
        cols = TABLES[table].all_columns | {"row_key": "int64"}
        out[table] = conform(pd.DataFrame(recs), cols)
    return out


def _expected(rows: list[tuple[str, str, int, str, int]]) -> dict[tuple[str, int, str], tuple[str, int]]:
    """Hand-written rule: per store × day × campaign the first kind of the precedence present; account
    level rows only on store-days without any SP campaign row."""
    present: dict[tuple[str, int, str], dict[str, int]] = {}
    for kind, store, d, camp, cents in rows:
        if kind == "sp_performance_over_time":
            camp = ""
        present.setdefault((store, d, camp), {}).setdefault(kind, 0)
        present[(store, d, camp)][kind] += cents
    sp_days = {
        (s, d) for (s, d, c), kinds in present.items() if c and any(k.startswith("sp_") for k in kinds)
    }
    out = {}
    for (store, d, camp), kinds in present.items():
        if not camp and (store, d) in sp_days:
            continue
        kind = min(kinds, key=PRECEDENCE.index)
        out[(store, d, camp)] = (kind, kinds[kind])
    return out


_row = st.tuples(
    st.sampled_from(PRECEDENCE),
    st.sampled_from(["S1", "S2"]),
    st.integers(0, len(_DAYS) - 1),
    st.sampled_from(_CAMPAIGNS),
    st.integers(0, 5000),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=0, max_size=30))
def test_spend_of_record_is_one_source_per_store_day_campaign(rows: list) -> None:
    con = duckdb.connect()
    for table, df in _grain_frames(rows).items():
        con.register(f"_{table}", df)
        con.execute(f'CREATE VIEW "{table}" AS SELECT * FROM "_{table}"')
    ads = select_ads_of_record(con)
    expected = _expected(rows)
    got: dict[tuple[str, int, str], tuple[str, int]] = {}
    for (store, day, camp), g in ads.groupby(["store_id", "date", "campaign"]):
        assert g["ads_source"].nunique() == 1
        got[(store, _DAYS.index(pd.Timestamp(day)), camp)] = (
            g["ads_source"].iloc[0],
            round(g["spend"].sum() * 100),
        )
    assert got == expected
    assert np.allclose(ads["spend_rc"], ads["spend"] * 7.0)
    total = sum(c for _, c in expected.values()) / 100
    assert round(float(ads["spend"].sum()), 2) == round(total, 2)
