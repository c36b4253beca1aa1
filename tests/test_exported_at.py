"""Readers take ``ReadResult.exported_at`` from the file's own dates (issue 12.4 / latest version
wins without file mtimes): settlement deposit date, business report range end, ads report range end."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import REAL_EXPORTS, ROOT, needs
from ingest_helpers import reader

from kpi_lib.ingest.base import Store, exported_at_from

FIX = ROOT / "tests" / "fixtures" / "exports" / "amazon"
DE = Store("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin")
AE = Store("AMZ-AE-01", "amazon", "AE", "AED", "Asia/Dubai")
IN = Store("AMZ-IN-01", "amazon", "IN", "INR", "Asia/Kolkata")
BUSINESS = REAL_EXPORTS / "amazon-business-report" / "BusinessReport-9-25-24-SalesTraffic.csv"
ADS = REAL_EXPORTS / "amazon-ads"

pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")


def test_settlement_version_is_its_deposit_date(tmp_path: Path) -> None:
    src = FIX / "settlement_v1_de.txt"
    # the summary row says deposit-date 17.07.2025 08:12:33 UTC
    res = reader("amazon_settlement_v1").read(src, DE)
    assert res.exported_at == dt.datetime(2025, 7, 17, 8, 12, 33)
    # a copy touched years later is still the same version: mtime plays no part
    copy = tmp_path / "s.txt"
    copy.write_bytes(src.read_bytes())
    os.utime(copy, (2_000_000_000, 2_000_000_000))
    assert reader("amazon_settlement_v1").read(copy, DE).exported_at == res.exported_at


@needs(BUSINESS.is_file(), "real business report not present")
def test_business_report_version_is_the_end_of_its_range() -> None:
    res = reader("amazon_business_report").read(BUSINESS, AE)
    # rows end 2024-09-23 (Dubai); the report cannot predate midnight after it: 20:00 UTC
    assert res.tables["traffic"]["date"].max() == pd.Timestamp("2024-09-23")
    assert res.exported_at == dt.datetime(2024, 9, 23, 20, 0)


@needs(ADS.is_dir(), "real Amazon Ads exports not present")
@pytest.mark.parametrize("name,kind", [
    ("Sponsored Products Advertised product report.xlsx", "amazon_sp_advertised_product"),
    ("Sponsored Products Campaign report.csv", "amazon_sp_campaign"),
])
def test_ads_report_version_is_the_end_of_its_range(name: str, kind: str) -> None:
    res = reader(kind).read(ADS / name, IN)
    table = next(iter(res.tables.values()))
    assert table["end_date"].max() == pd.Timestamp("2020-02-29")
    assert res.exported_at == dt.datetime(2020, 2, 29, 18, 30)  # midnight in Kolkata, in UTC


def test_exported_at_from_rules() -> None:
    assert exported_at_from(None, "UTC") is None
    assert exported_at_from(pd.Series([pd.NaT]), "UTC") is None
    s = pd.Series(pd.to_datetime(["2025-03-01 10:00", "2025-03-02 09:00"]))
    assert exported_at_from(s, "America/Los_Angeles") == dt.datetime(2025, 3, 2, 17, 0)
    assert exported_at_from(s, "Europe/Berlin", end_of_day=True) == dt.datetime(2025, 3, 2, 23, 0)
